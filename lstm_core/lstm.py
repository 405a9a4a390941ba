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
from ._checks import as_float_array, check_sequence, check_shape
from .cell import activate_gates, check_state, gate_grads
from .params import lstm_sizes


class SequenceCache(NamedTuple):
    """What :func:`lstm_backward` needs.

    Internally feature-major: every step keeps its ``(4H, N)`` gates and ``(H, N)`` states
    as contiguous blocks, so each gate's slice is contiguous too (NumPy's elementwise
    operations run about twice as fast on contiguous blocks as on strided column slices).
    Read the public properties rather than the fields.
    """

    x: np.ndarray  # (T, D, N)
    h: np.ndarray  # (T + 1, H, N): h0 then every step's h
    c: np.ndarray  # (T + 1, H, N): c0 then every step's c
    gates: np.ndarray  # (T, 4H, N): i, f, o, g after their squashing
    tanh_c: np.ndarray  # (T, H, N)
    params: dict

    @property
    def cs(self) -> np.ndarray:
        """Cell states of every step, ``(N, T, H)``."""
        return self.c[1:].transpose(2, 0, 1)

    @property
    def gate_values(self) -> np.ndarray:
        """Gate values of every step, ``(N, T, 4H)`` in :data:`lstm_core.GATES` order."""
        return self.gates.transpose(2, 0, 1)

    @property
    def c_last(self) -> np.ndarray:
        """Final cell state ``(N, H)``."""
        return self.c[-1].T

    @property
    def h_last(self) -> np.ndarray:
        """Final hidden state ``(N, H)``."""
        return self.h[-1].T


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
        For :func:`lstm_backward`; ``cache.cs`` holds the cell states ``(N, T, H)``,
        ``cache.gate_values`` the gates ``(N, T, 4H)`` and ``cache.c_last``/``cache.h_last``
        the final states ``(N, H)``.
    """
    D, H, dtype = lstm_sizes(params)
    x = check_sequence(x, D, dtype)
    N, T, _ = x.shape
    h0 = check_state(h0, "h0", N, H, dtype)
    c0 = check_state(c0, "c0", N, H, dtype)
    WhT = np.ascontiguousarray(params["Wh"].T)  # (4H, H)

    empty = _workspace.empty
    xT = empty((T, D, N), dtype)
    xT[...] = x.transpose(1, 2, 0)
    gates = empty((T, 4 * H, N), dtype)
    # the input projection of every step in one call, before the loop
    np.matmul(np.ascontiguousarray(params["Wx"].T), xT, out=gates)
    gates += params["b"][:, None]
    h = empty((T + 1, H, N), dtype)
    c = empty((T + 1, H, N), dtype)
    h[0], c[0] = h0.T, c0.T
    tanh_c = empty((T, H, N), dtype)
    rec = empty((4 * H, N), dtype)
    tmp = empty((H, N), dtype)
    for t in range(T):
        a = gates[t]
        np.matmul(WhT, h[t], out=rec)
        a += rec
        activate_gates(a.T, H)  # a.T is (N, 4H): its gate blocks are contiguous in memory
        i, f, o, g = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        np.multiply(f, c[t], out=c[t + 1])
        np.multiply(i, g, out=tmp)
        c[t + 1] += tmp
        np.tanh(c[t + 1], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=h[t + 1])
    hs = empty((N, T, H), dtype)
    hs[...] = h[1:].transpose(2, 0, 1)
    return hs, SequenceCache(xT, h, c, gates, tanh_c, params)


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
    T, D, N = cache.x.shape
    H = cache.h.shape[1]
    dtype = cache.gates.dtype
    dhs = as_float_array(dhs, "dhs", dtype)
    check_shape(dhs, "dhs", (N, T, H), "(N, T, H)")
    dc = np.ascontiguousarray(check_state(dc_last, "dc_last", N, H, dtype).T)  # (H, N)
    dh = np.ascontiguousarray(check_state(dh_last, "dh_last", N, H, dtype).T)
    if dc_last is not None:
        dc = dc.copy()  # never modify an incoming gradient
    if dh_last is not None:
        dh = dh.copy()
    Wh = cache.params["Wh"]

    empty = _workspace.empty
    dhsT = empty((T, H, N), dtype)
    dhsT[...] = dhs.transpose(1, 2, 0)
    # da is laid out (4H, T, N) so that after the loop it is one (4H, T*N) matrix
    da = empty((4 * H, T, N), dtype)
    da_t = empty((4 * H, N), dtype)
    for t in range(T - 1, -1, -1):
        dh += dhsT[t]
        dc = gate_grads(dh.T, dc.T, cache.gates[t].T, cache.c[t].T, cache.tanh_c[t].T, H, da_t.T).T
        da[:, t] = da_t
        np.matmul(Wh, da_t, out=dh)

    da2 = da.reshape(4 * H, T * N)
    h_prev = empty((H, T, N), dtype)
    h_prev[...] = cache.h[:-1].transpose(1, 0, 2)
    x2 = empty((D, T, N), dtype)
    x2[...] = cache.x.transpose(1, 0, 2)
    grads = {
        "Wx": x2.reshape(D, T * N) @ da2.T,
        "Wh": h_prev.reshape(H, T * N) @ da2.T,
        "b": da2.sum(axis=1),
    }
    dxT = empty((D, T, N), dtype)
    np.matmul(cache.params["Wx"], da2, out=dxT.reshape(D, T * N))
    dx = empty((N, T, D), dtype)
    dx[...] = dxT.transpose(2, 1, 0)
    return dx, np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T), grads
