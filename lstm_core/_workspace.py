"""Reusable scratch arrays, so that repeated forward/backward calls do not page-fault.

Fresh multi-megabyte arrays cost a page fault per 4 KiB on first write, which on this
course's reference machine took as long as the LSTM's arithmetic. The pool keeps the
arrays it hands out and gives one back out only when nothing but the pool refers to it
(no cache, no output, no view: CPython's reference count says so exactly), so reuse can
never overwrite data that anyone can still see.

The pool is bounded: it holds at most :func:`limit` bytes (64 MiB unless
:func:`set_limit` says otherwise) per thread, and forgets the least recently used shapes
first. Forgetting an array only drops the pool's reference: whoever still holds it keeps
it, and NumPy frees it when they let go.
"""

from __future__ import annotations

import math
import sys
import threading
from collections import OrderedDict

import numpy as np

from ._checks import integer

#: Arrays kept per (shape, dtype); more are allocated but not kept.
MAX_PER_KEY = 4
#: Arrays smaller than this are left to NumPy's own allocator.
MIN_BYTES = 1 << 16
#: Default bound on the bytes the pool holds, per thread.
DEFAULT_LIMIT = 64 << 20


class _Pool(threading.local):
    def __init__(self):
        # (shape, dtype) -> arrays, least recently used key first
        self.buffers: OrderedDict[tuple, list[np.ndarray]] = OrderedDict()
        self.nbytes = 0
        self.limit = DEFAULT_LIMIT


_pool = _Pool()


def _refs(lst: list, k: int) -> int:
    return sys.getrefcount(lst[k])


def _baseline() -> int:
    probe = [np.empty(1)]
    return _refs(probe, 0)


_FREE = _baseline()  # reference count of an array held by the pool's list alone


def _evict(limit: int) -> None:
    """Forget arrays, least recently used shape first, until the pool holds ``<= limit``."""
    buffers = _pool.buffers
    while _pool.nbytes > limit and buffers:
        key, lst = next(iter(buffers.items()))
        _pool.nbytes -= lst.pop(0).nbytes
        if not lst:
            del buffers[key]


def empty(shape: tuple, dtype) -> np.ndarray:
    """Like ``np.empty(shape, dtype)``, reusing an array nobody else holds."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype)
    key = (tuple(shape), dtype.str)
    buffers = _pool.buffers
    lst = buffers.get(key)
    if lst is not None:
        buffers.move_to_end(key)
        for k in range(len(lst)):
            if _refs(lst, k) == _FREE:
                return lst[k]
    arr = np.empty(shape, dtype)
    if nbytes <= _pool.limit and (lst is None or len(lst) < MAX_PER_KEY):
        if lst is None:
            lst = buffers[key] = []
        lst.append(arr)
        _pool.nbytes += nbytes
        _evict(_pool.limit)
    return arr


def held_bytes() -> int:
    """Bytes of the arrays the pool holds in this thread."""
    return _pool.nbytes


def limit() -> int:
    """The bound on :func:`held_bytes`, in bytes."""
    return _pool.limit


def set_limit(nbytes: int) -> None:
    """Bound the pool of this thread to ``nbytes`` (0 turns reuse off), forgetting the excess.

    Parameters
    ----------
    nbytes : int
        Most bytes of scratch arrays kept for reuse, >= 0.

    Raises
    ------
    ValueError
        If ``nbytes`` is not a non-negative integer (an :class:`~lstm_core.ArgumentTypeError`
        if it is not an integer at all).
    """
    _pool.limit = integer(nbytes, "nbytes", 0)
    _evict(_pool.limit)


def clear() -> None:
    """Forget every pooled array (memory is freed once no one else holds them)."""
    _pool.buffers.clear()
    _pool.nbytes = 0
