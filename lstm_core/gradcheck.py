"""Centred-difference numerical gradients to check any backward function."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._checks import (
    ArgumentTypeError,
    as_float_array,
    callable_arg,
    check_finite,
    describe,
    finite_number,
    plain_array,
)


def rel_error(a, b) -> float:
    """Largest elementwise relative error ``|a - b| / max(1e-8, |a| + |b|)``.

    Parameters
    ----------
    a, b : array, any shape (the same for both)

    Returns
    -------
    float
        0.0 for empty arrays; at most 1, for any finite ``a`` and ``b``.

    Raises
    ------
    ValueError
        If ``a`` or ``b`` is not an array of numbers (an ``ArgumentTypeError``), their
        shapes differ, or either holds NaN or infinity (no relative error is defined).
    """
    a = as_float_array(a, "a", np.float64)
    b = as_float_array(b, "b", np.float64)
    if a.shape != b.shape:
        raise ValueError(f"b must have the same shape as a {a.shape}, got {b.shape}")
    check_finite(a, "a")
    check_finite(b, "b")
    if a.size == 0:
        return 0.0
    a, b = a / 2, b / 2  # exact, and |a - b| and |a| + |b| can no longer overflow
    return float(np.max(np.abs(a - b) / np.maximum(0.5e-8, np.abs(a) + np.abs(b))))


def _check_order(order) -> None:
    """``order`` must be the integer 2 or 4 (not a bool)."""
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, (int, np.integer)):
        raise ArgumentTypeError(f"order must be 2 or 4, got {describe(order)}")
    if order not in (2, 4):
        raise ValueError(f"order must be 2 or 4, got {order!r}")


def _check_df(plus, df) -> None:
    """``df`` must match what ``f`` returned (``plus``): the same shapes, tuple for tuple."""
    if df is None:
        return
    if isinstance(df, (tuple, list)):
        if not isinstance(plus, (tuple, list)) or len(plus) != len(df):
            got = f"{len(plus)} outputs" if isinstance(plus, (tuple, list)) else "one array"
            raise ValueError(f"df must hold one gradient per output of f ({got}), got {len(df)}")
        for p, d in zip(plus, df, strict=True):
            _check_df(p, d)
        return
    if isinstance(plus, (tuple, list)):
        raise ValueError(
            f"df must be a tuple of {len(plus)} gradients, one per output of f, got one array"
        )
    if np.shape(df) != np.shape(plus):
        shapes = f"{np.shape(plus)}, got {np.shape(df)}"
        raise ValueError(f"df must have the shape of f's output {shapes}")


def _as_df(df, name: str = "df"):
    """``df`` checked: None, a finite array of numbers, or a tuple (list) of them, one per
    output; returned as plain float arrays (an ``np.matrix`` would make ``*`` a product)."""
    if isinstance(df, (tuple, list)):
        return type(df)(_as_df(d, f"{name}[{k}]") for k, d in enumerate(df))
    if df is None:
        return None
    arr = as_float_array(df, name)
    check_finite(arr, name)
    return arr


def _weighted_difference(plus, minus, df) -> float:
    """``sum(df * (plus - minus))``, subtracting before summing to avoid cancellation.

    Call it under ``np.errstate(over="ignore", invalid="ignore")``: an overflow gives inf,
    which :func:`_estimate` reports.
    """
    if df is None:
        return float(np.sum(np.asarray(plus, np.float64) - np.asarray(minus, np.float64)))
    if isinstance(df, (tuple, list)):
        return sum(_weighted_difference(p, m, d) for p, m, d in zip(plus, minus, df, strict=True))
    return float(np.sum((np.asarray(plus, np.float64) - np.asarray(minus, np.float64)) * df))


def _snapshot(value):
    """A copy of what ``f`` returned: ``f`` may hand back the same buffer on every call."""
    if isinstance(value, (tuple, list)):
        return type(value)(_snapshot(v) for v in value)
    try:
        ok = np.asarray(value).dtype.kind in "biuf"
    except (TypeError, ValueError):  # ragged nested lists
        ok = False
    if not ok:
        raise ArgumentTypeError(
            f"f must return a number or an array of numbers (or a tuple of them), "
            f"got {describe(value)}"
        )
    return np.array(value, dtype=np.float64, copy=True)


def _first_non_finite(value):
    """The first NaN or infinity in a snapshot of ``f``'s output (tuples searched in order),
    or None."""
    if isinstance(value, (tuple, list)):
        return next((v for v in map(_first_non_finite, value) if v is not None), None)
    bad = value[~np.isfinite(value)]
    return float(bad[0]) if bad.size else None


def _check_perturbable(x, name: str) -> None:
    """``x`` must be a float array that can be perturbed in place, element by element."""
    plain_array(x, name, "a floating-point NumPy array (it is perturbed in place)")
    if x.dtype.kind != "f":
        raise ArgumentTypeError(
            f"{name} must be a floating-point NumPy array (it is perturbed in place), "
            f"got {describe(x)}"
        )
    if np.finfo(x.dtype).precision < 6:
        raise ArgumentTypeError(
            f"{name} must be a float32 or float64 array (float16 has too few digits for "
            f"finite differences), got dtype {x.dtype}"
        )
    if x.size == 0:
        raise ValueError(f"{name} must have at least one entry to perturb, got shape {x.shape}")
    if not x.flags.writeable:
        raise ValueError(
            f"{name} must be writeable (it is perturbed in place), got a read-only one"
        )
    if not np.shares_memory(x.reshape(-1), x):
        raise ValueError(
            f"{name} must be contiguous so that it can be perturbed in place, "
            f"got a view with strides {x.strides}"
        )
    check_finite(x, name)  # a gradient at NaN or infinity is not defined


#: How far (as a share of ``h`` or ``2h``) a step of the five-point stencil may be moved by
#: rounding ``x +- h`` and ``x +- 2h`` to the dtype of ``x``.
STEP_TOLERANCE = 0.01


def _check_h(h, order: int, x: np.ndarray, name: str) -> None:
    """``h`` a finite number > 0 whose steps change every entry of ``x`` and stay finite.

    For ``order`` 4, the steps actually taken (``x +- h`` and ``x +- 2h`` rounded to the
    dtype of ``x``) must also stay within :data:`STEP_TOLERANCE` of ``h`` and ``2h``: the
    stencil's points must be nearly evenly spaced.
    """
    finite_number(h, "h", low=0, low_open=True)
    steps = (h,) if order == 2 else (h, 2 * h)
    worst = 0.0
    with np.errstate(over="ignore"):
        for size in steps:
            step = x.dtype.type(size)
            for moved in (x + step, x - step):
                if not np.isfinite(moved).all():
                    raise ValueError(
                        f"h must be small enough for {name} +- h to stay finite in "
                        f"{x.dtype}, got {h!r}"
                    )
                if (moved == x).any():
                    top = float(np.max(np.abs(x)))
                    raise ValueError(
                        f"h must be large enough to change every entry of {name} (spacing "
                        f"{float(np.spacing(x.dtype.type(top))):.3g} at its largest entry "
                        f"{top:.3g} in {x.dtype}), got {h!r}"
                    )
                if order == 4:
                    taken = np.abs(moved.astype(np.float64) - x.astype(np.float64))
                    worst = max(worst, float(np.max(np.abs(taken - size))) / size)
    if worst > STEP_TOLERANCE:
        raise ValueError(
            f"h must be large enough for the steps {name} +- h and {name} +- 2h, rounded to "
            f"{x.dtype}, to stay within {STEP_TOLERANCE:.0%} of h and 2h (order 4 needs evenly "
            f"spaced points), got {h!r}, whose steps are off by up to {worst:.0%}"
        )


def numerical_gradient(f, x: np.ndarray, df=None, h: float = 1e-5, order: int = 2) -> np.ndarray:
    """Centred-difference gradient of ``f`` with respect to the array ``x``.

    ``x`` is perturbed in place, one element at a time, and restored (even if ``f`` raises);
    ``f`` must read it. What ``f`` returns is copied at once, so an ``f`` that reuses its
    output buffer is fine.

    Parameters
    ----------
    f : callable
        ``f(x)`` returning a scalar, or an array (or tuple of arrays) when ``df`` is given.
    x : float32 or float64 array, any shape
        Perturbed in place; a plain ``np.ndarray`` (not a subclass), writeable and contiguous.
    df : array or tuple of arrays, optional
        Upstream gradient on ``f(x)``: the result is then the gradient of ``sum(df * f(x))``.
        Prefer this to a scalar ``f`` that sums: the outputs are subtracted before they are
        summed, which keeps the round-off of the estimate far smaller.
    h : float
        Step size. ``x +- h`` is rounded to the dtype of ``x`` (in float32, a step of 1e-5
        at 100 is 7.6e-6), and every difference is divided by the step actually taken, not
        by ``h``, so the rounding does not bias the estimate.
    order : {2, 4}
        2: the classic ``(f(x + h) - f(x - h)) / 2h``, error ~h**2.
        4: the five-point centred stencil ``(8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h``,
        error ~h**4, so a larger ``h`` (less round-off) keeps the same accuracy: it resolves
        gradient entries a thousand times smaller than the typical one to 1e-7. Computed as
        the Richardson extrapolation ``(q1 - r q2) / (1 - r)`` of the two centred quotients
        ``q1`` (step ``h``) and ``q2`` (step ``2h``), with ``r`` the squared ratio of the
        steps actually taken (1/4 without rounding), which is the formula above.

    Returns
    -------
    array, shape of ``x``
        In float64, whatever the dtype of ``x``.

    Raises
    ------
    ValueError
        If ``f`` is not callable or returns no numbers (or NaN or infinity, or numbers whose
        differences overflow), ``x`` is not a non-empty writeable contiguous finite float32
        or float64 array, ``df`` does not match ``f``'s output, ``h`` is
        not a finite number > 0 that changes every entry of ``x`` (``x + h != x``) with
        ``x +- h`` finite (and, for ``order`` 4, steps ``x +- h`` and ``x +- 2h`` that round
        to within 1% of ``h`` and ``2h``), or ``order`` is not 2 or 4 (an
        ``ArgumentTypeError``, also a ``ValueError``, for wrong types).
    """
    _check_order(order)
    callable_arg(f, "f")
    _check_perturbable(x, "x")
    _check_h(h, order, x, "x")
    df = _as_df(df)
    return _estimate(f, x, df, h, order, "x")


def _estimate(f, x: np.ndarray, df, h: float, order: int, name: str) -> np.ndarray:
    """The loop of :func:`numerical_gradient` on checked arguments; ``name`` is ``x``'s.

    ``f`` must return finite numbers at every perturbed ``x``, and their differences must
    stay finite: else a ``ValueError`` saying where, never a NaN or infinite gradient.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)

    def where(k):
        index = ", ".join(str(int(i)) for i in np.unravel_index(k, x.shape))
        return f"{name}[{index}]" if x.ndim else name

    def evaluate(k, label):
        value = _snapshot(f(x))
        bad = _first_non_finite(value)
        if bad is not None:
            raise ValueError(
                f"f must return finite numbers, got {bad!r} for {where(k)} {label} = "
                f"{float(flat[k])!r}"
            )
        return value

    def central(k, step, label):
        """The centred quotient: the difference of ``f`` over the step actually taken."""
        old = flat[k]
        try:
            flat[k] = old + step
            up = float(flat[k])  # x + step rounded to the dtype of x
            plus = evaluate(k, f"+ {label}")
            flat[k] = old - step
            down = float(flat[k])
            minus = evaluate(k, f"- {label}")
        finally:
            flat[k] = old
        if k == 0:
            _check_df(plus, df)
        with np.errstate(over="ignore", invalid="ignore"):  # inf is reported below
            return _weighted_difference(plus, minus, df) / (up - down), up - down

    out = grad.reshape(-1)
    for k in range(flat.size):
        q1, width1 = central(k, h, "h")
        if order == 2:
            out[k] = q1
        else:  # Richardson's extrapolation of q1 and q2, whose errors go as the step squared
            q2, width2 = central(k, 2 * h, "2h")
            r = (width1 / width2) ** 2  # 1/4 unless rounding moved the steps
            with np.errstate(over="ignore", invalid="ignore"):
                out[k] = (q1 - r * q2) / (1 - r)
        if not np.isfinite(out[k]):
            raise ValueError(
                "f must return numbers small enough for their finite differences to stay "
                f"within float64, got a difference quotient of {float(out[k])!r} for {where(k)}"
            )
    return grad


def gradcheck(f, inputs: dict, analytic: dict, df=None, h: float = 1e-5, order: int = 2) -> dict:
    """Relative error between ``analytic`` gradients and numerical ones, per name.

    ``f()`` reads the arrays in ``inputs`` (by closure) and returns a scalar loss, or,
    with ``df``, the outputs whose upstream gradients ``df`` are; every key of
    ``analytic`` must name an array in ``inputs``.

    Parameters
    ----------
    f : callable
        ``f()`` with no arguments, reading the arrays of ``inputs``.
    inputs : dict of arrays
        Writeable contiguous float32 or float64 arrays (plain ``np.ndarray``), perturbed in
        place one element at a time.
    analytic : dict of arrays
        Gradients to check, at least one, each of the shape of ``inputs`` under the same key.
    df : array or tuple of arrays, optional
        Upstream gradient on ``f()``'s outputs, as for :func:`numerical_gradient`.
    h : float
        Step size, as for :func:`numerical_gradient`.
    order : {2, 4}
        Accuracy of the finite-difference stencil, as for :func:`numerical_gradient`.

    Returns
    -------
    dict of float
        The :func:`rel_error` of each key of ``analytic``.

    Raises
    ------
    ValueError
        Before any perturbation: if ``f`` is not callable, ``inputs`` or ``analytic`` is not
        a dict, ``analytic`` is empty (nothing would be checked) or names an array ``inputs``
        lacks or has another shape or holds
        NaN or infinity, an input is not a non-empty writeable contiguous finite float32 or
        float64 array, or ``h`` or ``order`` is not as :func:`numerical_gradient` needs;
        and as :func:`numerical_gradient` (for ``f`` and ``df``).
    """
    _check_order(order)
    callable_arg(f, "f")
    for name, value in (("inputs", inputs), ("analytic", analytic)):
        if not isinstance(value, Mapping):
            raise ArgumentTypeError(f"{name} must be a dict of arrays, got {describe(value)}")
    if not analytic:
        raise ValueError(
            f"analytic must hold at least one gradient to check (a key of inputs: "
            f"{list(inputs)}), got {{}}"
        )
    for name in analytic:
        if name not in inputs:
            raise ValueError(
                f"analytic has key {name!r} that inputs lacks; inputs keys: {list(inputs)}"
            )
        _check_perturbable(inputs[name], f"inputs[{name!r}]")
        grad = as_float_array(analytic[name], f"analytic[{name!r}]")
        if grad.shape != inputs[name].shape:
            raise ValueError(
                f"analytic[{name!r}] must have the shape of inputs[{name!r}] "
                f"{inputs[name].shape}, got {grad.shape}"
            )
        check_finite(grad, f"analytic[{name!r}]")
        _check_h(h, order, inputs[name], f"inputs[{name!r}]")
    df = _as_df(df)
    numerical = {
        name: _estimate(lambda _: f(), inputs[name], df, h, order, f"inputs[{name!r}]")
        for name in analytic
    }
    return {name: rel_error(analytic[name], numerical[name]) for name in analytic}
