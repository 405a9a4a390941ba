"""Centred-difference numerical gradients to check any backward function."""

from __future__ import annotations

import numpy as np


def rel_error(a, b) -> float:
    """Largest elementwise relative error ``|a - b| / max(1e-8, |a| + |b|)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def _weighted_difference(plus, minus, df) -> float:
    """``sum(df * (plus - minus))``, subtracting before summing to avoid cancellation."""
    if df is None:
        return float(np.sum(np.asarray(plus, np.float64) - np.asarray(minus, np.float64)))
    if isinstance(df, (tuple, list)):
        return sum(_weighted_difference(p, m, d) for p, m, d in zip(plus, minus, df, strict=True))
    return float(np.sum((np.asarray(plus, np.float64) - np.asarray(minus, np.float64)) * df))


def _snapshot(value):
    """A copy of what ``f`` returned: ``f`` may hand back the same buffer on every call."""
    if isinstance(value, (tuple, list)):
        return type(value)(_snapshot(v) for v in value)
    return np.array(value, dtype=np.float64, copy=True)


def numerical_gradient(f, x: np.ndarray, df=None, h: float = 1e-5, order: int = 2) -> np.ndarray:
    """Centred-difference gradient of ``f`` with respect to the array ``x``.

    ``x`` is perturbed in place, one element at a time, and restored; ``f`` must read it.
    What ``f`` returns is copied at once, so an ``f`` that reuses its output buffer is fine.

    Parameters
    ----------
    f : callable
        ``f(x)`` returning a scalar, or an array (or tuple of arrays) when ``df`` is given.
    x : float64 array, any shape
    df : array or tuple of arrays, optional
        Upstream gradient on ``f(x)``: the result is then the gradient of ``sum(df * f(x))``.
        Prefer this to a scalar ``f`` that sums: the outputs are subtracted before they are
        summed, which keeps the round-off of the estimate far smaller.
    h : float
        Step size.
    order : {2, 4}
        2: the classic ``(f(x + h) - f(x - h)) / 2h``, error ~h**2.
        4: the five-point centred stencil ``(8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h``,
        error ~h**4, so a larger ``h`` (less round-off) keeps the same accuracy: it resolves
        gradient entries a thousand times smaller than the typical one to 1e-7.

    Returns
    -------
    array, shape of ``x``
    """
    if order not in (2, 4):
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError("x must be a floating-point NumPy array (it is perturbed in place)")
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")

    def central(k, step):
        old = flat[k]
        flat[k] = old + step
        plus = _snapshot(f(x))
        flat[k] = old - step
        minus = _snapshot(f(x))
        flat[k] = old
        return _weighted_difference(plus, minus, df)

    out = grad.reshape(-1)
    for k in range(flat.size):
        if order == 2:
            out[k] = central(k, h) / (2 * h)
        else:
            out[k] = (8 * central(k, h) - central(k, 2 * h)) / (12 * h)
    return grad


def gradcheck(f, inputs: dict, analytic: dict, df=None, h: float = 1e-5, order: int = 2) -> dict:
    """Relative error between ``analytic`` gradients and numerical ones, per name.

    ``f()`` reads the arrays in ``inputs`` (by closure) and returns a scalar loss, or,
    with ``df``, the outputs whose upstream gradients ``df`` are; every key of
    ``analytic`` must name an array in ``inputs``.
    """
    return {
        name: rel_error(
            analytic[name], numerical_gradient(lambda _: f(), inputs[name], df=df, h=h, order=order)
        )
        for name in analytic
    }
