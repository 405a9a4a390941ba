"""Sigmoid and tanh, and their derivatives, stable for every finite or infinite input.

The derivatives take the *pre-activation* ``x``, not the activation's output.
All four functions work elementwise on arrays of any shape and keep float32 as float32;
integers become float64, and bools (or anything else that is not a number) are refused
with an ``ArgumentTypeError``.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, mapping any number into [0, 1].

    Computed from ``exp(-|x|)``, which never overflows, so inputs such as ±1000 or ±1e308
    give exactly 1.0 and 0.0 with no warning, and tiny outputs keep full relative precision.

    Parameters
    ----------
    x : array_like, any shape
        Pre-activations; integers are converted to float64, bools are refused.

    Returns
    -------
    ndarray, same shape and float dtype as ``x``
    """
    x = as_float_array(x, "x")
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def tanh(x):
    """Hyperbolic tangent, mapping any number into [-1, 1].

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    ndarray, same shape and float dtype as ``x``
    """
    return np.tanh(as_float_array(x, "x"))


def sigmoid_grad(x):
    """Derivative of :func:`sigmoid` at ``x``: ``sigmoid(x) * (1 - sigmoid(x))``.

    Written as ``sigmoid(x) * sigmoid(-x)`` so that ``1 - sigmoid(x)`` never cancels to zero
    for large ``x``; the result is exactly 0 only where it underflows.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    ndarray, same shape and float dtype as ``x``; values in [0, 0.25]
    """
    x = as_float_array(x, "x")
    return sigmoid(x) * sigmoid(-x)


def tanh_grad(x):
    """Derivative of :func:`tanh` at ``x``: ``1 - tanh(x)**2``.

    Written as ``4 e / (1 + e)**2`` with ``e = exp(-|x|)**2 = exp(-2|x|)``, the same quantity
    without the cancellation of ``1 - tanh**2`` near ±1 and without overflow (``2|x|`` itself
    would overflow for ``|x|`` near 1e308).

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    ndarray, same shape and float dtype as ``x``; values in [0, 1]
    """
    x = as_float_array(x, "x")
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(x))
        e *= e
        return (4.0 * e / ((1.0 + e) * (1.0 + e))).astype(x.dtype, copy=False)
