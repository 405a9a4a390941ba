"""A vanilla (tanh) RNN with the LSTM's interface, for the vanishing/exploding comparisons.

``h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)`` with ``params = {"Wx": (D, H), "Wh": (H, H),
"b": (H,)}``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import (
    ArgumentTypeError,
    as_rng,
    check_array,
    check_dtype,
    check_sequence,
    check_state,
    describe,
    positive_int,
)
from .params import check_params


def rnn_sizes(params, name: str = "params"):
    """Return ``(D, H, dtype)`` of a validated RNN parameter dict."""
    D, G, dtype = check_params(params, name)
    if params["Wh"].shape != (G, G):
        raise ValueError(
            f"{name}['Wh'] must have shape (H, H) for an RNN, got {params['Wh'].shape}"
        )
    return D, G, dtype


def init_rnn_params(input_size: int, hidden_size: int, rng=None, dtype=np.float64):
    """Random RNN parameters, uniform in ``[-1/sqrt(H), 1/sqrt(H)]`` like ``nn.RNN``.

    Parameters
    ----------
    input_size : int
        ``D``, the number of input features.
    hidden_size : int
        ``H``, the number of hidden units.
    rng : numpy.random.Generator or int or None
        Source of randomness (an int is used as a seed).
    dtype : float32 or float64

    Returns
    -------
    dict
        ``{"Wx": (D, H), "Wh": (H, H), "b": (H,)}``

    Raises
    ------
    ValueError
        For sizes that are not positive integers, or an ``rng`` or ``dtype`` of the wrong
        kind (an ``ArgumentTypeError``, also a ``ValueError``).
    """
    D, H = positive_int(input_size, "input_size"), positive_int(hidden_size, "hidden_size")
    dtype = check_dtype(dtype)
    rng = as_rng(rng)
    bound = 1.0 / np.sqrt(H)
    return {
        "Wx": rng.uniform(-bound, bound, (D, H)).astype(dtype),
        "Wh": rng.uniform(-bound, bound, (H, H)).astype(dtype),
        "b": rng.uniform(-bound, bound, H).astype(dtype),
    }


class RNNStepCache(NamedTuple):
    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    h: np.ndarray  # (N, H)
    params: dict


def rnn_step_forward(x, h_prev, params):
    """One step ``h = tanh(x @ Wx + h_prev @ Wh + b)``.

    Parameters
    ----------
    x : array (N, D)
    h_prev : array (N, H)
    params : dict

    Returns
    -------
    h : array (N, H)
    cache : RNNStepCache

    Raises
    ------
    ValueError
        If ``params`` is not an RNN's, or an array is not finite or of the shape above.
    """
    D, H, dtype = rnn_sizes(params)
    x = check_array(x, "x", (None, D), "(N, D)", dtype)
    h_prev = check_state(h_prev, "h_prev", x.shape[0], H, dtype)
    h = np.tanh(x @ params["Wx"] + h_prev @ params["Wh"] + params["b"])
    return h, RNNStepCache(x, h_prev, h, params)


def rnn_step_backward(dh, cache: RNNStepCache):
    """Backward pass of :func:`rnn_step_forward`.

    Parameters
    ----------
    dh : array (N, H)
        Gradient of the loss on this step's ``h``.
    cache : RNNStepCache
        From :func:`rnn_step_forward`.

    Returns
    -------
    dx : array (N, D)
    dh_prev : array (N, H)
    grads : dict
        ``{"Wx": (D, H), "Wh": (H, H), "b": (H,)}``

    Raises
    ------
    ValueError
        If ``cache`` is not the one of :func:`rnn_step_forward` (an ``ArgumentTypeError``)
        or ``dh`` is not a finite ``(N, H)`` array.
    """
    if not isinstance(cache, RNNStepCache):
        raise ArgumentTypeError(
            f"cache must be the RNNStepCache from rnn_step_forward, got {describe(cache)}"
        )
    dh = check_array(dh, "dh", cache.h.shape, "(N, H)", cache.h.dtype)
    da = dh * (1.0 - cache.h * cache.h)
    p = cache.params
    grads = {"Wx": cache.x.T @ da, "Wh": cache.h_prev.T @ da, "b": da.sum(axis=0)}
    return da @ p["Wx"].T, da @ p["Wh"].T, grads


class RNNCache(NamedTuple):
    x: np.ndarray  # (T, N, D)
    h: np.ndarray  # (T + 1, N, H): h0 then every step's h
    params: dict

    @property
    def h_last(self) -> np.ndarray:
        return self.h[-1]


def rnn_forward(x, params, h0=None):
    """Run the RNN over ``x (N, T, D)``; returns ``hs (N, T, H)`` and a cache.

    Parameters
    ----------
    x : array (N, T, D)
        Input sequences.
    params : dict
        ``{"Wx": (D, H), "Wh": (H, H), "b": (H,)}``.
    h0 : array (N, H), optional
        Initial hidden state; zeros if omitted.

    Returns
    -------
    hs : array (N, T, H)
        Hidden state at every step.
    cache : RNNCache
        For :func:`rnn_backward`: the inputs, every hidden state and ``params``.

    Raises
    ------
    ValueError
        If ``params`` is not an RNN's, or ``x`` or ``h0`` is not finite or of the shape
        ``(N, T, D)`` or ``(N, H)``.
    """
    D, H, dtype = rnn_sizes(params)
    x = check_sequence(x, D, dtype)
    N, T, _ = x.shape
    xt = np.ascontiguousarray(x.transpose(1, 0, 2))
    h = np.empty((T + 1, N, H), dtype)
    h[0] = check_state(h0, "h0", N, H, dtype)
    h[1:] = (xt.reshape(T * N, D) @ params["Wx"]).reshape(T, N, H) + params["b"]
    for t in range(T):
        a = h[t + 1]
        a += h[t] @ params["Wh"]
        np.tanh(a, out=a)
    return np.ascontiguousarray(h[1:].transpose(1, 0, 2)), RNNCache(xt, h, params)


def rnn_backward(dhs, cache: RNNCache, dh_last=None):
    """Backpropagation through time for :func:`rnn_forward`.

    Parameters
    ----------
    dhs : array (N, T, H)
        Gradient of the loss on every hidden state.
    cache : RNNCache
        From :func:`rnn_forward`.
    dh_last : array (N, H), optional
        Extra gradient on the final hidden state (added to ``dhs[:, -1]``).

    Returns
    -------
    dx : array (N, T, D)
    dh0 : array (N, H)
        Gradient on the initial hidden state ``h0``.
    grads : dict
        ``{"Wx": (D, H), "Wh": (H, H), "b": (H,)}``, summed over the steps.

    Raises
    ------
    ValueError
        If ``cache`` is not the one of :func:`rnn_forward` (an ``ArgumentTypeError``) or a
        gradient is not a finite array of the shape ``(N, T, H)`` or ``(N, H)``.
    """
    if not isinstance(cache, RNNCache):
        raise ArgumentTypeError(
            f"cache must be the RNNCache from rnn_forward, got {describe(cache)}"
        )
    T, N, D = cache.x.shape
    H = cache.h.shape[2]
    dtype = cache.h.dtype
    dhs = check_array(dhs, "dhs", (N, T, H), "(N, T, H)", dtype)
    dh = check_state(dh_last, "dh_last", N, H, dtype).copy()
    Wh_T = np.ascontiguousarray(cache.params["Wh"].T)
    da = np.empty((T, N, H), dtype)
    for t in range(T - 1, -1, -1):
        dh += dhs[:, t]
        h = cache.h[t + 1]
        np.multiply(h, h, out=da[t])
        np.subtract(1.0, da[t], out=da[t])
        da[t] *= dh
        np.matmul(da[t], Wh_T, out=dh)
    da2 = da.reshape(T * N, H)
    grads = {
        "Wx": cache.x.reshape(T * N, D).T @ da2,
        "Wh": cache.h[:-1].reshape(T * N, H).T @ da2,
        "b": da2.sum(axis=0),
    }
    dx = (da2 @ cache.params["Wx"].T).reshape(T, N, D).transpose(1, 0, 2)
    return np.ascontiguousarray(dx), dh, grads
