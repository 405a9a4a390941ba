"""Reusable scratch arrays, so that repeated forward/backward calls do not page-fault.

Fresh multi-megabyte arrays cost a page fault per 4 KiB on first write, which on this
course's reference machine took as long as the LSTM's arithmetic. The pool keeps the
arrays it hands out and gives one back out only when nothing but the pool refers to it
(no cache, no output, no view: CPython's reference count says so exactly), so reuse can
never overwrite data that anyone can still see.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np

#: Arrays kept per (shape, dtype); more are allocated but not kept.
MAX_PER_KEY = 4
#: Arrays smaller than this are left to NumPy's own allocator.
MIN_BYTES = 1 << 16


class _Pool(threading.local):
    def __init__(self):
        self.buffers: dict[tuple, list[np.ndarray]] = {}


_pool = _Pool()


def _refs(lst: list, k: int) -> int:
    return sys.getrefcount(lst[k])


def _baseline() -> int:
    probe = [np.empty(1)]
    return _refs(probe, 0)


_FREE = _baseline()  # reference count of an array held by the pool's list alone


def empty(shape: tuple, dtype) -> np.ndarray:
    """Like ``np.empty(shape, dtype)``, reusing an array nobody else holds."""
    dtype = np.dtype(dtype)
    if math.prod(shape) * dtype.itemsize < MIN_BYTES:
        return np.empty(shape, dtype)
    key = (tuple(shape), dtype.str)
    lst = _pool.buffers.setdefault(key, [])
    for k in range(len(lst)):
        if _refs(lst, k) == _FREE:
            return lst[k]
    arr = np.empty(shape, dtype)
    if len(lst) < MAX_PER_KEY:
        lst.append(arr)
    return arr


def clear() -> None:
    """Forget every pooled array (memory is freed once no one else holds them)."""
    _pool.buffers.clear()
