"""Building blocks of the hidden tests: random cases, calls that check their arguments."""

from __future__ import annotations

import contextlib
import dis
import functools
import types

import numpy as np

from ..checks import assert_close, call_isolated, lent
from .contract import hand_worked_params

F64 = {"rtol": 1e-9, "atol": 1e-12}  # float64 against the reference: round-off only
F32 = {"rtol": 2e-5, "atol": 2e-6}  # float32 (eps 1.2e-7) after a few dozen operations


@contextlib.contextmanager
def in_place_of_the_students(namespace: dict, name: str, correct):
    """``namespace[name]`` (a function of the notebook's globals) is ``correct`` for the block,
    then the student's again, or absent if the student's never got defined: a function that
    calls another one the student writes is graded on its own, a mistake in the other one
    costs that one's cells only."""
    missing = object()
    yours = namespace.get(name, missing)
    namespace[name] = correct
    try:
        with lent(correct):  # a correct one of the grader's own (checks.graders_own)
            yield
    finally:
        if yours is missing:
            namespace.pop(name, None)
        else:
            namespace[name] = yours


def tol(dtype) -> dict:
    return F32 if np.dtype(dtype) == np.float32 else F64


def copy_arg(value):
    """A deep copy of an argument: arrays, and dicts, lists and tuples of them."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: copy_arg(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(copy_arg(v) for v in value)
    return value


def same(a, b) -> bool:
    """Exactly equal values, shapes and types (arrays compared as lists, NaN-free inputs)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            type(a) is type(b)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and a.tolist() == b.tolist()
        )
    if isinstance(a, dict) or isinstance(b, dict):
        return type(a) is type(b) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return a is b or a == b


def described_call(name: str, args: tuple, names: tuple[str, ...] = ()) -> str:
    """The call in words, ``lstm_forward(x, params, h0, c0=None)``: names, and values of
    ``None`` and numbers (the arguments whose value is the point of a case)."""
    shown = []
    for k, value in enumerate(args):
        what = names[k] if k < len(names) else f"argument {k + 1}"
        if value is None or isinstance(value, (bool, int, float)):
            shown.append(f"{what}={value!r}")
        else:
            shown.append(what)
    return f"{name}({', '.join(shown)})"


# NumPy's words when `if a:`, `a or b`, `not a` or `a == None` asks an array for one truth value:
# most often a test for a missing argument.
TRUTH_VALUE_HINT = (
    "; an array has no single truth value: test for a missing argument with `is None` "
    "(`if h0 is None:`), not with `== None`, `not` or `or`"
)


def call(fn, *args, name: str, names: tuple[str, ...] = (), case: str | None = None):
    """``fn(*args)`` isolated (:func:`call_isolated`) on the arguments themselves.

    An exception the call raises (other than the ``AssertionError`` of a failed check) comes
    back as an ``AssertionError`` that names the call and ``case``, the original as its
    cause: the feedback shows only the last exception's text, and a bare ``TypeError`` raised
    somewhere inside would not say which call, on which input, went wrong.

    Fails if the call changed an argument (a NumPy array in place, or a dict's arrays or
    keys); ``names`` names the arguments in that message.
    """
    __tracebackhide__ = True
    before = [copy_arg(a) for a in args]
    try:
        result = call_isolated(fn, *args, name=name)
    except AssertionError:
        raise
    except Exception as exc:
        where = f" ({case})" if case else ""
        hint = TRUTH_VALUE_HINT if "truth value of an array" in str(exc) else ""
        raise AssertionError(
            f"{described_call(name, args, names)} raised {type(exc).__name__}: {exc}{where}{hint}"
        ) from exc
    for k, (old, new) in enumerate(zip(before, args, strict=True)):
        if not same(old, new):
            what = names[k] if k < len(names) else f"argument {k + 1}"
            raise AssertionError(
                f"{name} changed its argument {what} in place; compute new arrays instead"
            )
    return result


def global_data(fn) -> list[str]:
    """The data (arrays, dicts, lists, numbers) that ``fn`` reads from its module's globals, by
    name: in a notebook, variables of other cells, such as a test cell's ``params`` or ``H``.
    Functions, modules and tuples (the notebook's ``GATES``) are not counted."""
    code, namespace = getattr(fn, "__code__", None), getattr(fn, "__globals__", None)
    if code is None or not isinstance(namespace, dict):
        return []
    names, todo = set(), [code]
    while todo:  # the function and the code nested in it (comprehensions, lambdas)
        current = todo.pop()
        names.update(
            ins.argval for ins in dis.get_instructions(current) if ins.opname == "LOAD_GLOBAL"
        )
        todo.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    data = (np.ndarray, dict, list, int, float, np.generic)
    return sorted(n for n in names if isinstance(namespace.get(n), data))


def names_global_data(check):
    """Decorate a hidden check of a student's function (its first argument): when the check
    fails and the function reads data from the notebook's globals, the message says which.
    A function that reads a test cell's ``params`` or ``H`` passes that cell's visible checks
    and fails the hidden ones, on other sizes, with a message about a shape or a value."""

    @functools.wraps(check)
    def checked(fn, *args, **kwargs):
        __tracebackhide__ = True
        try:
            return check(fn, *args, **kwargs)
        except AssertionError as err:
            names = global_data(fn)
            if names and err.args and isinstance(err.args[0], str):
                err.args = (
                    f"{err.args[0]}; {getattr(fn, '__name__', 'the function')} reads "
                    f"{', '.join(names)} from the notebook's globals (a variable of another "
                    "cell, a test cell's perhaps), not from its arguments: the hidden tests "
                    "call it on other sizes and values",
                    *err.args[1:],
                )
            raise

    return checked


def close(actual, expected, what: str, dtype=np.float64, **tolerances) -> None:
    """``assert_close`` with the tolerance of ``dtype`` (float32 or float64). Values that
    differ because ``actual`` was computed in float32 where float64 was wanted are told so:
    the gap is float32's rounding, not a wrong formula."""
    __tracebackhide__ = True
    try:
        assert_close(actual, expected, what=what, **{**tol(dtype), **tolerances})
    except AssertionError as err:
        if (
            np.dtype(dtype) == np.float64
            and isinstance(actual, np.ndarray)
            and actual.dtype == np.float32
            and np.shape(actual) == np.shape(expected)
            and bool(np.allclose(actual, expected, **F32))
        ):
            raise AssertionError(
                f"{err}; {what} is float32, right to only about 7 digits: float64 inputs must "
                "give a float64 result (was it computed in float32, or cast with "
                ".astype(np.float32)?)"
            ) from None
        raise


def close_or_named(
    actual, expected, what: str, mistakes, dtype=np.float64, match=None, **tolerances
) -> None:
    """:func:`close`; when the values differ and ``actual`` is what a usual mistake gives, the
    message names it. ``mistakes()`` yields ``(hint, value)`` pairs (computed only on failure):
    the first value ``actual`` matches adds its hint; ``match``: the tolerances of that match
    (by default those of the comparison). A mistake that leaves this value right (dWh taken
    from h leaves dx as it is) is no explanation of a wrong one, nor named."""
    __tracebackhide__ = True
    try:
        close(actual, expected, what, dtype, **tolerances)
    except AssertionError as err:
        within = match if match is not None else {**tol(dtype), **tolerances}

        def near(a, b) -> bool:
            return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, **within))

        for hint, wrong in mistakes():
            if near(actual, wrong) and not near(wrong, expected):
                raise AssertionError(f"{err}; {hint}") from None
        raise


def array_of(value, what: str, shape, dtype=None) -> np.ndarray:
    """Check that ``value`` is an ndarray of ``shape`` (and ``dtype``) and return it."""
    __tracebackhide__ = True
    if type(value) is not np.ndarray:
        raise AssertionError(f"{what} should be a NumPy array, got {type(value).__name__}")
    if tuple(value.shape) != tuple(shape):
        hint = " (transposed?)" if tuple(value.shape) == tuple(shape)[::-1] else ""
        raise AssertionError(f"{what} should have shape {tuple(shape)}, got {value.shape}{hint}")
    if dtype is not None and value.dtype != dtype:
        mixed = (
            "a float64 array (np.zeros without dtype, np.array of Python floats)"
            if np.dtype(dtype) == np.float32
            else f"a {value.dtype} array (dtype=np.{value.dtype}, .astype(np.{value.dtype}))"
        )
        raise AssertionError(
            f"{what} should be {np.dtype(dtype)} like the inputs, got {value.dtype}: "
            f"{mixed} was mixed in?"
        )
    return value


def random_params(rng, D: int, H: int, scale: float = 1.0, dtype=np.float64) -> dict:
    return {
        "Wx": rng.normal(0.0, scale, (D, 4 * H)).astype(dtype),
        "Wh": rng.normal(0.0, scale, (H, 4 * H)).astype(dtype),
        "b": rng.normal(0.0, scale, 4 * H).astype(dtype),
    }


def saturating_params(rng, D: int, H: int, dtype=np.float64) -> dict:
    """Params whose every block has units with pre-activations near +1000 and near -1000.

    ``1 / (1 + exp(-a))`` overflows for a below about -709.78 in float64 (about -88.72 in
    float32) and ``exp(a) / (1 + exp(a))`` for a above about 709.78, as do textbook formulas
    of tanh.
    """
    sign = np.where(np.arange(H) % 2 == 0, 1.0, -1.0)
    params = random_params(rng, D, H, 0.5)
    params["b"] = np.tile(1000.0 * sign, 4) + params["b"]
    return {k: v.astype(dtype) for k, v in params.items()}


def step_cases(seed: int, dtype=np.float64, extreme: bool = False) -> list[tuple]:
    """Steps ``(label, x, h_prev, c_prev, params)``: random sizes, N = 1, D != H, hand-worked.

    With ``extreme``: also saturated gates and a long-term memory of +-1000.
    """
    rng = np.random.default_rng(seed)
    cases = []
    for N, D, H, scale in [
        (1, 1, 1, 1.0),
        (5, 3, 2, 1.0),
        (1, 4, 6, 0.5),
        (3, 7, 2, 1.0),
        (6, 2, 5, 5.0),
    ]:
        params = random_params(rng, D, H, scale, dtype)
        x = rng.normal(0.0, 2.0, (N, D)).astype(dtype)
        h_prev = rng.uniform(-1.0, 1.0, (N, H)).astype(dtype)
        c_prev = rng.normal(0.0, 2.0, (N, H)).astype(dtype)
        cases.append((f"N, D, H = {N}, {D}, {H}", x, h_prev, c_prev, params))
    hand = {k: v.astype(dtype) for k, v in hand_worked_params().items()}
    one = [np.array([[v]], dtype) for v in (-10.0, 1.0, 2.0)]
    cases.append(("the hand-worked unit at x = -10", *one, hand))
    if extreme:
        N, D, H = 3, 2, 4
        params = saturating_params(rng, D, H, dtype)
        x = rng.normal(0.0, 1.0, (N, D)).astype(dtype)
        h_prev = rng.uniform(-1.0, 1.0, (N, H)).astype(dtype)
        c_prev = (1000.0 * np.where(rng.random((N, H)) < 0.5, 1.0, -1.0)).astype(dtype)
        cases.append(
            (
                f"saturated gates, |c_prev| = 1000 (N, D, H = {N}, {D}, {H})",
                x,
                h_prev,
                c_prev,
                params,
            )
        )
    return cases
