"""A vanilla (tanh) RNN with the LSTM's interface, for the vanishing/exploding comparisons.

``h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)`` with ``params = {"Wx": (D, H), "Wh": (H, H),
"b": (H,)}``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._checks import (
    ArgumentTypeError,
    allocating,
    as_rng,
    check_array,
    check_dtype,
    check_overflow,
    check_sequence,
    check_state,
    check_step_input,
    describe,
    positive_int,
)
from .params import check_params, check_preactivations


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
        For sizes that are not positive integers or so large that the parameters do not fit
        in memory, or an ``rng`` or ``dtype`` of the wrong kind (an ``ArgumentTypeError``,
        also a ``ValueError``).
    """
    D, H = positive_int(input_size, "input_size"), positive_int(hidden_size, "hidden_size")
    dtype = check_dtype(dtype)
    rng = as_rng(rng)
    nbytes = (D + H + 1) * H * dtype.itemsize
    with allocating({"input_size": D, "hidden_size": H}, nbytes, "the parameters"):
        bound = 1.0 / math.sqrt(H)
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
    h_prev : array (N, H) or None
        Previous hidden state; ``None`` means zeros.
    params : dict
        ``{"Wx": (D, H), "Wh": (H, H), "b": (H,)}``.

    Returns
    -------
    h : array (N, H)
    cache : RNNStepCache

    Raises
    ------
    ValueError
        If ``params`` is not an RNN's, an array is not finite or of the shape above (with
        ``N >= 1``), or they are so large that the pre-activation could overflow the dtype.
    """
    D, H, dtype = rnn_sizes(params)
    x = check_step_input(x, D, dtype)
    h_prev = check_state(h_prev, "h_prev", x.shape[0], H, dtype)
    check_preactivations(x, h_prev, params, 1, names=("x", "h_prev"))
    h = np.tanh(x @ params["Wx"] + h_prev @ params["Wh"] + params["b"])
    return h, RNNStepCache(x, h_prev, h, params)


def check_rnn_cache(cache, kind: type, source: str, name: str = "cache") -> tuple:
    """``(D, H, dtype)`` of a cache of type ``kind`` whose arrays fit its params.

    Cheap (shapes and dtypes), once per call: a hand-built or altered cache gets a clear
    error instead of a ``KeyError`` or a broadcasting error.
    """
    wanted = f"{name} must be the {kind.__name__} from {source}"
    if not isinstance(cache, kind):
        raise ArgumentTypeError(f"{wanted}, got {describe(cache)}")
    D, H, dtype = rnn_sizes(cache.params, f"{name}.params")

    def check(field, expected, labels):
        arr = getattr(cache, field)
        if (
            not isinstance(arr, np.ndarray)
            or arr.dtype != dtype
            or arr.ndim != len(expected)
            or any(e is not None and e != n for e, n in zip(expected, arr.shape, strict=True))
            or 0 in arr.shape
        ):
            raise ValueError(
                f"{wanted}, got one whose {field} is {describe(arr)}; its params (D = {D}, "
                f"H = {H}, {dtype}) need a non-empty {labels}"
            )
        return arr.shape

    if kind is RNNStepCache:
        N, _ = check("x", (None, D), "(N, D)")
        check("h_prev", (N, H), "(N, H)")
        check("h", (N, H), "(N, H)")
    else:
        T, N, _ = check("x", (None, None, D), "(T, N, D)")
        check("h", (T + 1, N, H), "(T + 1, N, H)")
    return D, H, dtype


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
        or its arrays do not fit its params, if ``dh`` is not a finite ``(N, H)`` array, or
        if the gradients overflow the dtype.
    """
    _, _, dtype = check_rnn_cache(cache, RNNStepCache, "rnn_step_forward")
    dh = check_array(dh, "dh", cache.h.shape, "(N, H)", dtype)
    p = cache.params
    with np.errstate(over="ignore", invalid="ignore"):
        da = dh * (1.0 - cache.h * cache.h)
        grads = {"Wx": cache.x.T @ da, "Wh": cache.h_prev.T @ da, "b": da.sum(axis=0)}
        dx, dh_prev = da @ p["Wx"].T, da @ p["Wh"].T
    check_overflow({"dh": dh}, dtype, "the gradients", dx, dh_prev, *grads.values())
    return dx, dh_prev, grads


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
        If ``params`` is not an RNN's, ``x`` or ``h0`` is not finite or of the shape
        ``(N, T, D)`` or ``(N, H)``, or they are so large that the pre-activations could
        overflow the dtype.
    """
    D, H, dtype = rnn_sizes(params)
    x = check_sequence(x, D, dtype)
    N, T, _ = x.shape
    xt = np.ascontiguousarray(x.transpose(1, 0, 2))
    h = np.empty((T + 1, N, H), dtype)
    h[0] = check_state(h0, "h0", N, H, dtype)
    check_preactivations(x, h[0], params, T)
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
        If ``cache`` is not the one of :func:`rnn_forward` (an ``ArgumentTypeError``) or its
        arrays do not fit its params, if a gradient is not a finite array of the shape
        ``(N, T, H)`` or ``(N, H)``, or if the gradients overflow the dtype.
    """
    check_rnn_cache(cache, RNNCache, "rnn_forward")
    T, N, _ = cache.x.shape
    H = cache.h.shape[2]
    dtype = cache.h.dtype
    dhs = check_array(dhs, "dhs", (N, T, H), "(N, T, H)", dtype)
    dh = check_state(dh_last, "dh_last", N, H, dtype)
    return backward_checked(dhs, cache, dh, {"dhs": dhs, "dh_last": dh})


def backward_checked(dhs, cache: RNNCache, dh, given: dict):
    """:func:`rnn_backward` on arguments already checked (``dh (N, H)``, not modified).

    ``given`` maps the caller's gradient arguments to their values, for the message if the
    gradients overflow.
    """
    dtype = cache.h.dtype
    with np.errstate(over="ignore", invalid="ignore"):  # checked once, after the loop
        dx, dh, grads = _backward_loop(dhs, cache, dh.copy())
    check_overflow(given, dtype, "the gradients", dx, dh, *grads.values())
    return dx, dh, grads


def _backward_loop(dhs, cache: RNNCache, dh):
    """The loop of :func:`rnn_backward`, updating ``dh (N, H)`` in place."""
    T, N, D = cache.x.shape
    H = cache.h.shape[2]
    dtype = cache.h.dtype
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
