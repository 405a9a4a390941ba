"""One LSTM time step, fused: all four gates from a single matrix product.

Gate pre-activations ``a = x @ Wx + h_prev @ Wh + b`` have shape ``(N, 4H)`` with the
blocks in :data:`lstm_core.GATES` order (i, f, o, g): the three sigmoid gates first.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import as_float_array, check_shape
from .params import lstm_sizes


def activate_gates(a: np.ndarray, H: int) -> np.ndarray:
    """Squash pre-activations ``a (..., 4H)`` into gate values, in place, and return ``a``.

    The three sigmoid blocks come first (see :data:`lstm_core.GATES`). In float32 one
    ``tanh`` call covers all four blocks, with ``sigmoid(z) = (1 + tanh(z / 2)) / 2``; in
    float64 NumPy's ``exp`` is about twice as fast as its ``tanh``, so the sigmoid blocks
    use ``1 / (1 + exp(-z))``. Both are exact in the limits (``exp`` overflowing to
    infinity gives exactly 0, which is why overflow and underflow are silenced here).
    """
    sig, cand = a[..., : 3 * H], a[..., 3 * H :]
    if a.dtype == np.float64:
        np.negative(sig, out=sig)
        with np.errstate(over="ignore", under="ignore"):
            np.exp(sig, out=sig)
        sig += 1.0
        np.reciprocal(sig, out=sig)
        np.tanh(cand, out=cand)
    else:
        sig *= 0.5
        np.tanh(a, out=a)
        sig *= 0.5
        sig += 0.5
    return a


def check_state(value, name: str, N: int, H: int, dtype) -> np.ndarray:
    """A state ``h`` or ``c`` as an ``(N, H)`` array of ``dtype``; ``None`` means zeros."""
    if value is None:
        return np.zeros((N, H), dtype)
    arr = as_float_array(value, name, dtype)
    check_shape(arr, name, (N, H), "(N, H)")
    return arr


class StepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs from the forward step."""

    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    c_prev: np.ndarray  # (N, H)
    gates: np.ndarray  # (N, 4H): i, f, o after sigmoid, g after tanh
    tanh_c: np.ndarray  # (N, H)
    params: dict


def lstm_step_forward(x, h_prev, c_prev, params):
    """Forward pass of one LSTM step.

    Parameters
    ----------
    x : array (N, D)
        Inputs at this step.
    h_prev : array (N, H)
        Previous short-term memory (hidden state).
    c_prev : array (N, H)
        Previous long-term memory (cell state).
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.

    Returns
    -------
    h : array (N, H)
        New hidden state ``o * tanh(c)``.
    c : array (N, H)
        New cell state ``f * c_prev + i * g``.
    cache : StepCache
    """
    D, H, dtype = lstm_sizes(params)
    x = as_float_array(x, "x", dtype)
    check_shape(x, "x", (None, D), "(N, D)")
    N = x.shape[0]
    h_prev = check_state(h_prev, "h_prev", N, H, dtype)
    c_prev = check_state(c_prev, "c_prev", N, H, dtype)

    gates = activate_gates(x @ params["Wx"] + h_prev @ params["Wh"] + params["b"], H)
    i, f, o, g = (gates[:, k * H : (k + 1) * H] for k in range(4))
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, StepCache(x, h_prev, c_prev, gates, tanh_c, params)


def gate_grads(dh, dc, gates, c_prev, tanh_c, H: int, out: np.ndarray):
    """Gradient on the pre-activations of one step, written into ``out (N, 4H)``.

    ``dh`` and ``dc`` are the upstream gradients on the step's ``h`` and ``c``; returns
    ``dc_prev = (dc + dh * o * (1 - tanh(c)**2)) * f`` as a new array. No temporaries:
    every product is accumulated in place in its block of ``out``.
    """
    i, f, o, g = (gates[:, k * H : (k + 1) * H] for k in range(4))
    da_i, da_f, da_o, da_g = (out[:, k * H : (k + 1) * H] for k in range(4))
    # dc_total: gradient reaching c from both the next step and this step's output
    dc_total = np.multiply(tanh_c, tanh_c)
    np.subtract(1.0, dc_total, out=dc_total)
    dc_total *= o
    dc_total *= dh
    dc_total += dc
    # the sigmoid gates' slopes s(1 - s), for i, f and o at once
    sig, da_sig = gates[:, : 3 * H], out[:, : 3 * H]
    np.subtract(1.0, sig, out=da_sig)
    da_sig *= sig
    da_o *= tanh_c  # h = o * tanh(c)
    da_o *= dh
    da_i *= g  # c = f * c_prev + i * g
    da_i *= dc_total
    da_f *= c_prev
    da_f *= dc_total
    np.multiply(g, g, out=da_g)  # tanh's slope 1 - g^2
    np.subtract(1.0, da_g, out=da_g)
    da_g *= i
    da_g *= dc_total
    dc_total *= f
    return dc_total


def lstm_step_backward(dh, dc, cache: StepCache):
    """Backward pass of one LSTM step.

    Parameters
    ----------
    dh : array (N, H)
        Gradient of the loss on this step's ``h``.
    dc : array (N, H)
        Gradient of the loss on this step's ``c`` (from the next step; zeros if none).
    cache : StepCache
        From :func:`lstm_step_forward`.

    Returns
    -------
    dx : array (N, D)
    dh_prev : array (N, H)
    dc_prev : array (N, H)
    grads : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``
    """
    if not isinstance(cache, StepCache):
        raise TypeError(f"cache must be the StepCache from lstm_step_forward, got {type(cache)}")
    N, H = cache.h_prev.shape
    dtype = cache.gates.dtype
    dh = as_float_array(dh, "dh", dtype)
    check_shape(dh, "dh", (N, H), "(N, H)")
    dc = as_float_array(dc, "dc", dtype)
    check_shape(dc, "dc", (N, H), "(N, H)")

    da = np.empty_like(cache.gates)
    dc_prev = gate_grads(dh, dc, cache.gates, cache.c_prev, cache.tanh_c, H, da)
    p = cache.params
    grads = {"Wx": cache.x.T @ da, "Wh": cache.h_prev.T @ da, "b": da.sum(axis=0)}
    return da @ p["Wx"].T, da @ p["Wh"].T, dc_prev, grads
