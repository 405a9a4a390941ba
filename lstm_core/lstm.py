"""A whole sequence through one LSTM layer, and backpropagation through time.

Fast where it matters: the input projection of every time step is one matrix product
before the loop, the loop runs over time-major contiguous buffers with in-place
arithmetic in the parameters' dtype, and the weight gradients are two matrix products
after the backward loop.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _workspace
from ._checks import as_float_array, check_shape
from .cell import activate_gates, check_state, gate_grads
from .params import lstm_sizes


class SequenceCache(NamedTuple):
    """What :func:`lstm_backward` needs; all arrays are time-major ``(T, N, ...)``."""

    x: np.ndarray  # (T, N, D)
    h: np.ndarray  # (T + 1, N, H): h0 then every step's h
    c: np.ndarray  # (T + 1, N, H): c0 then every step's c
    gates: np.ndarray  # (T, N, 4H): i, f, o, g after their squashing
    tanh_c: np.ndarray  # (T, N, H)
    params: dict

    @property
    def cs(self) -> np.ndarray:
        """Cell states of every step, batch-major ``(N, T, H)``."""
        return self.c[1:].transpose(1, 0, 2)

    @property
    def c_last(self) -> np.ndarray:
        """Final cell state ``(N, H)``."""
        return self.c[-1]

    @property
    def h_last(self) -> np.ndarray:
        """Final hidden state ``(N, H)``."""
        return self.h[-1]


def lstm_forward(x, params, h0=None, c0=None):
    """Run an LSTM over a batch of sequences.

    Parameters
    ----------
    x : array (N, T, D)
        Input sequences.
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.
    h0, c0 : array (N, H), optional
        Initial hidden and cell states; zeros if omitted.

    Returns
    -------
    hs : array (N, T, H)
        Hidden state at every step.
    cache : SequenceCache
        For :func:`lstm_backward`; ``cache.cs`` holds the cell states ``(N, T, H)``
        and ``cache.c_last``/``cache.h_last`` the final states ``(N, H)``.
    """
    D, H, dtype = lstm_sizes(params)
    x = as_float_array(x, "x", dtype)
    check_shape(x, "x", (None, None, D), "(N, T, D)")
    N, T, _ = x.shape
    if T == 0 or N == 0:
        raise ValueError(f"x must have at least one sequence and one time step, got {x.shape}")
    Wh = params["Wh"]

    empty = _workspace.empty
    xt = empty((T, N, D), dtype)  # time-major copy: every step's slice is contiguous
    xt[...] = x.transpose(1, 0, 2)
    gates = empty((T, N, 4 * H), dtype)
    np.matmul(xt.reshape(T * N, D), params["Wx"], out=gates.reshape(T * N, 4 * H))
    gates += params["b"]
    h = empty((T + 1, N, H), dtype)
    c = empty((T + 1, N, H), dtype)
    h[0] = check_state(h0, "h0", N, H, dtype)
    c[0] = check_state(c0, "c0", N, H, dtype)
    tanh_c = empty((T, N, H), dtype)
    rec = empty((N, 4 * H), dtype)
    tmp = empty((N, H), dtype)
    for t in range(T):
        a = gates[t]
        np.matmul(h[t], Wh, out=rec)
        a += rec
        activate_gates(a, H)
        i, f, o, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        np.multiply(f, c[t], out=c[t + 1])
        np.multiply(i, g, out=tmp)
        c[t + 1] += tmp
        np.tanh(c[t + 1], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=h[t + 1])
    hs = empty((N, T, H), dtype)
    hs[...] = h[1:].transpose(1, 0, 2)
    return hs, SequenceCache(xt, h, c, gates, tanh_c, params)


def lstm_backward(dhs, cache: SequenceCache, dc_last=None, dh_last=None):
    """Backpropagation through time for :func:`lstm_forward`.

    Parameters
    ----------
    dhs : array (N, T, H)
        Gradient of the loss on every hidden state.
    cache : SequenceCache
        From :func:`lstm_forward`.
    dc_last : array (N, H), optional
        Gradient on the final cell state ``cache.c_last`` (e.g. from a later chunk).
    dh_last : array (N, H), optional
        Extra gradient on the final hidden state, added to ``dhs[:, -1]``.

    Returns
    -------
    dx : array (N, T, D)
    dh0 : array (N, H)
    dc0 : array (N, H)
    grads : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``
    """
    if not isinstance(cache, SequenceCache):
        raise TypeError(f"cache must be the SequenceCache from lstm_forward, got {type(cache)}")
    T, N, D = cache.x.shape
    H = cache.h.shape[2]
    dtype = cache.gates.dtype
    dhs = as_float_array(dhs, "dhs", dtype)
    check_shape(dhs, "dhs", (N, T, H), "(N, T, H)")
    dc = check_state(dc_last, "dc_last", N, H, dtype).copy()
    dh = check_state(dh_last, "dh_last", N, H, dtype).copy()
    Wh_T = np.ascontiguousarray(cache.params["Wh"].T)

    empty = _workspace.empty
    dhs_t = dhs.transpose(1, 0, 2)
    da = empty((T, N, 4 * H), dtype)
    for t in range(T - 1, -1, -1):
        dh += dhs_t[t]
        dc = gate_grads(dh, dc, cache.gates[t], cache.c[t], cache.tanh_c[t], H, da[t])
        np.matmul(da[t], Wh_T, out=dh)

    da2 = da.reshape(T * N, 4 * H)
    grads = {
        "Wx": cache.x.reshape(T * N, D).T @ da2,
        "Wh": cache.h[:-1].reshape(T * N, H).T @ da2,
        "b": da2.sum(axis=0),
    }
    dx_t = empty((T, N, D), dtype)
    np.matmul(da2, cache.params["Wx"].T, out=dx_t.reshape(T * N, D))
    dx = empty((N, T, D), dtype)
    dx[...] = dx_t.transpose(1, 0, 2)
    return dx, dh, dc, grads
