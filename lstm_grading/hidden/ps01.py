"""Hidden tests of problem set 1: sigmoid, tanh and their derivatives."""

from __future__ import annotations

import cmath
import math

import numpy as np

from ..checks import call_isolated, check_activation, graders_own, reaches, reference, refusing
from .common import call, close, in_place_of_the_students

# Around float32's overflow point of exp (about 88.72) and beyond: a float32 formula that
# exponentiates a positive number overflows here.
FLOAT32_INPUTS = [
    -1000.0,
    -200.0,
    -100.0,
    -89.0,
    -88.0,
    -50.0,
    -5.0,
    -1.0,
    0.0,
    1.0,
    5.0,
    50.0,
    88.0,
    89.0,
    100.0,
    200.0,
    1000.0,
]


# Wrong derivatives that a usual slip gives, with what to say: the function of x it computed.
_GRAD_MISTAKES = {
    "sigmoid_grad": [
        (
            lambda x: x * (1.0 - x),
            "that is x * (1 - x); it takes the pre-activation x, not sigmoid(x)",
        ),
    ],
    "tanh_grad": [
        (lambda x: 1.0 - x * x, "that is 1 - x ** 2; it takes the pre-activation x, not tanh(x)"),
        (
            lambda x: 1.0 - np.tanh(x),
            "that is 1 - tanh(x); the derivative is 1 - tanh(x) ** 2, square tanh(x)",
        ),
    ],
}


def _check(fn, name: str) -> None:
    __tracebackhide__ = True
    x = np.linspace(-3.0, 3.0, 13)
    try:
        got = call_isolated(fn, x.copy(), name=name)
    except Exception:  # check_activation below says what went wrong
        got = None
    if type(got) is np.ndarray and got.shape == x.shape and got.dtype != np.float64:
        raise AssertionError(
            f"{name} should return float64 for float64 inputs, got {got.dtype}"
            + (
                ": float32 keeps only about 7 digits"
                if got.dtype == np.float32
                else ": an integer array drops every fraction"
                if got.dtype.kind in "iub"
                else ""
            )
        )
    try:
        check_activation(fn, name)
    except AssertionError as err:
        for wrong, hint in _GRAD_MISTAKES.get(name, []):
            if type(got) is np.ndarray and got.shape == x.shape and np.allclose(got, wrong(x)):
                raise AssertionError(f"{err}; {hint}") from None
        raise
    x = np.array(FLOAT32_INPUTS, dtype=np.float32).reshape(1, -1)
    got = call(fn, x, name=name, names=("x",))
    if type(got) is not np.ndarray or got.shape != x.shape:
        raise AssertionError(f"{name} should return an array of the shape of its float32 input")
    want = reference(name)(x.astype(np.float64))
    close(
        got.astype(np.float64), want, f"{name} on float32 inputs", np.float32, rtol=1e-5, atol=1e-6
    )


def check_sigmoid(fn) -> None:
    """sigmoid against the reference: random and extreme inputs, float64 and float32."""
    __tracebackhide__ = True
    _check(fn, "sigmoid")


NUMPY_TANH_CALLED = (
    "tanh called np.tanh (or math.tanh): the exercise is to build tanh from np.exp (np.tanh "
    "may only check your answers)"
)


READY_MADE_TANH = (np.tanh, math.tanh, cmath.tanh)


def _refuse_numpy_tanh(*args, **kwargs):
    raise AssertionError(NUMPY_TANH_CALLED)


def _without_numpy_tanh(fn):
    """``fn`` as a function during whose calls NumPy's and Python's ready-made tanh raise,
    wherever ``fn`` would find them: as ``np.tanh``, ``math.tanh``, ``cmath.tanh`` or any other
    module's attribute (``np._core.umath.tanh``), a name the notebook imported one as, a
    default argument, a closure's variable, in a dict or list, wrapped in a
    ``functools.partial`` or ``np.vectorize`` (:func:`lstm_grading.checks.refusing`); all put
    back afterwards."""

    def run(*args):
        with refusing(fn, READY_MADE_TANH, _refuse_numpy_tanh) as call:
            return call(*args)

    return run


def check_tanh(fn) -> None:
    """tanh against the reference, built without NumPy's own tanh: random and extreme inputs,
    float64 and float32."""
    __tracebackhide__ = True
    rule = "the exercise is to build tanh from np.exp"
    if type(fn) is np.ufunc and fn.__name__ == "tanh":  # NumPy's, under any name
        raise AssertionError(f"tanh is NumPy's own np.tanh: {rule}")
    if fn is math.tanh:
        raise AssertionError(f"tanh is Python's own math.tanh: {rule}")
    if not callable(fn):
        raise AssertionError(f"tanh should be a function, got {type(fn).__name__}")
    _check(_without_numpy_tanh(fn), "tanh")
    # What the calls above may have run unseen: a ready-made tanh where nothing can stand in
    # for it (inside a ufunc the notebook made with np.frompyfunc, say).
    with refusing(fn, READY_MADE_TANH, _refuse_numpy_tanh):
        held = reaches(fn, READY_MADE_TANH)
    if held is not None:
        raise AssertionError(f"tanh holds a ready-made tanh, {held}: {rule}")


@graders_own("sigmoid (the hidden tests' own)")
def _sigmoid(x):
    """A correct sigmoid in plain NumPy (the reference package may not run inside a student's
    call): no overflow, float32 kept."""
    x = np.asarray(x)
    x = x if x.dtype.kind == "f" else x.astype(np.float64)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def check_sigmoid_grad(fn, namespace: dict) -> None:
    """sigmoid_grad against the reference, with a correct ``sigmoid`` in place of the
    student's (``namespace`` is the notebook's globals): a wrong sigmoid costs test_sigmoid."""
    __tracebackhide__ = True
    with in_place_of_the_students(namespace, "sigmoid", _sigmoid):
        _check(fn, "sigmoid_grad")


def check_tanh_grad(fn, namespace: dict) -> None:
    """tanh_grad against the reference, with NumPy's tanh in place of the student's tanh."""
    __tracebackhide__ = True
    with in_place_of_the_students(namespace, "tanh", np.tanh):
        _check(fn, "tanh_grad")
