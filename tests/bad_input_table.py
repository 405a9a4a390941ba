"""The runner of the bad-input tables of ``test_bad_input.py`` and ``test_bad_input_more.py``.

A row is ``(target, argument, bad value, expected exception type, message pattern)``: the
function ``target`` is called with valid arguments except ``argument``, and must raise exactly
the expected type (a ``ValueError``, or an ``ArgumentTypeError`` for a wrong type) with a
message matching the pattern, without changing any array it was given.
"""

from __future__ import annotations

import re

import numpy as np
import pytest


class Derived:
    """A bad value made from the valid arguments (``make(kwargs)``)."""

    def __init__(self, make):
        self.make = make


def case_id(case) -> str:
    """A readable test id for a row (no object addresses)."""
    target, arg, bad, _, _ = case
    simple = (type(None), bool, int, float, str)
    shown = repr(bad) if isinstance(bad, simple) else type(bad).__name__
    return f"{target}-{arg}-{shown[:20]}"


def _copy(arr: np.ndarray) -> np.ndarray:
    """A copy to compare with after the call; a read-only broadcast view (such as a huge
    ``np.broadcast_to(0.0, (2**40,))``, which no call can make writeable) is kept as it is."""
    broadcast = not arr.flags.writeable and 0 in arr.strides and arr.size > 1
    return arr if broadcast else arr.copy()


def snapshot(value):
    """Copies of the arrays in ``value`` (an array or a dict of arrays), to compare after."""
    if isinstance(value, np.ndarray):
        return _copy(value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items() if isinstance(v, np.ndarray)}
    return None


def _same_array(before, after) -> bool:
    return before is after or np.array_equal(before, after, equal_nan=True)


def same(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return _same_array(before, after)
    return all(_same_array(v, after[k]) for k, v in before.items())


def check_refused(case, function, valid: dict) -> None:
    """Call ``function`` as the row ``case`` says, on ``valid`` (its valid keyword arguments)."""
    __tracebackhide__ = True
    target, arg, bad, kind, pattern = case
    assert arg in valid, f"{target} has no argument {arg!r} in VALID"
    valid[arg] = bad.make(valid) if isinstance(bad, Derived) else bad
    before = {k: snapshot(v) for k, v in valid.items()}
    with pytest.raises(ValueError) as caught:
        function(**valid)
    assert type(caught.value) is kind, f"{type(caught.value).__name__}: {caught.value}"
    assert re.search(pattern, str(caught.value)), f"{pattern!r} not in {str(caught.value)!r}"
    for k, copy in before.items():  # the refusal lost nothing
        if copy is not None:
            assert same(copy, valid[k]), f"{target} changed {k} while refusing {arg}"
