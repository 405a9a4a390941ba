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


def numerical_gradient(f, x: np.ndarray, df=None, h: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of ``f`` with respect to the array ``x``.

    ``x`` is perturbed in place, one element at a time, and restored; ``f`` must read it.

    Parameters
    ----------
    f : callable
        ``f(x)`` returning a scalar, or an array when ``df`` is given.
    x : float64 array, any shape
    df : array, optional
        Upstream gradient on ``f(x)``: the result is then the gradient of ``sum(df * f(x))``.
    h : float
        Step size.

    Returns
    -------
    array, shape of ``x``
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError("x must be a floating-point NumPy array (it is perturbed in place)")
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + h
        plus = np.asarray(f(x), dtype=np.float64)
        flat[k] = old - h
        minus = np.asarray(f(x), dtype=np.float64)
        flat[k] = old
        diff = plus - minus if df is None else np.sum((plus - minus) * df)
        grad.reshape(-1)[k] = float(np.sum(diff)) / (2 * h)
    return grad


def gradcheck(f, inputs: dict, analytic: dict, h: float = 1e-6) -> dict:
    """Relative error between ``analytic`` gradients and numerical ones, per name.

    ``f()`` computes a scalar loss from the arrays in ``inputs`` (read by closure);
    every key of ``analytic`` must name an array in ``inputs``.
    """
    return {
        name: rel_error(analytic[name], numerical_gradient(lambda _: f(), inputs[name], h=h))
        for name in analytic
    }
