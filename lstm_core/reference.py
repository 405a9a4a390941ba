"""The LSTM as plain loops over its equations: the statement of the algorithm.

This module is written to be read. One step of the cell, for a batch of ``N`` inputs
``x (N, D)`` and the previous memories ``h_prev, c_prev (N, H)``::

    a = x @ Wx + h_prev @ Wh + b          pre-activations (N, 4H), blocks in GATES order
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)
    g = tanh(a_g)
    c = f * c_prev + i * g                new long-term memory
    h = o * tanh(c)                       new short-term memory, the output

A sequence ``x (N, T, D)`` is the step in a loop over ``t``; backpropagation through time
is the step's backward pass in the reverse loop, carrying ``dh`` and ``dc`` from each step
to the one before. :func:`lstm_core.lstm_forward` and :func:`lstm_core.lstm_backward`
compute the same numbers with fewer, larger NumPy calls; the tests hold them equal to these
functions; ``benchmarks/bench_lstm.py`` times them, not these.

Import it as ``from lstm_core import reference``; ``params`` is
``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}`` as everywhere in the course.
"""

from __future__ import annotations

import numpy as np

from ._checks import (
    ArgumentTypeError,
    check_array,
    check_overflow,
    check_sequence,
    check_state,
    check_step_input,
    describe,
    overflow_checked,
)
from .activations import sigmoid, tanh
from .params import GATES, SIGMOID_GATES, check_preactivations, gate_slice, lstm_sizes

#: The keys of the cache of one step, as :func:`lstm_step_forward` returns it.
CACHE_KEYS = ("x", "h_prev", "c_prev", "i", "f", "o", "g", "c", "tanh_c", "params")


def _check_step_cache(cache, name: str = "cache") -> tuple:
    """``(N, D, H)`` of a step cache of :func:`lstm_step_forward`.

    A dict of its keys whose arrays have the shapes and dtype its ``params`` give them.
    """
    if not isinstance(cache, dict):
        raise ArgumentTypeError(
            f"{name} must be the dict cache of lstm_step_forward, got {describe(cache)}"
        )
    missing = [k for k in CACHE_KEYS if k not in cache]
    if missing:
        raise ValueError(
            f"{name} must be the dict cache of lstm_step_forward, got one without {missing}"
        )
    D, H, dtype = lstm_sizes(cache["params"], f"{name}['params']")
    N = cache["x"].shape[0] if isinstance(cache["x"], np.ndarray) and cache["x"].ndim else None
    for key in CACHE_KEYS[:-1]:
        arr = cache[key]
        shape, labels = ((N, D), "(N, D)") if key == "x" else ((N, H), "(N, H)")
        if (
            not isinstance(arr, np.ndarray)
            or arr.dtype != dtype
            or arr.ndim != 2
            or arr.shape != shape
        ):
            sizes = ", ".join("?" if n is None else str(n) for n in shape)
            raise ValueError(
                f"{name}[{key!r}] must be a {dtype} array of shape {labels} = ({sizes}) like "
                f"its params' and x's, got {describe(arr)}"
            )
    return N, D, H


def _check_sequence_cache(cache) -> tuple:
    """``(N, T, D, H)`` of a cache of :func:`lstm_forward`.

    A non-empty list of step caches of one batch, one set of shapes and one dtype.
    """
    if not isinstance(cache, (list, tuple)):
        raise ArgumentTypeError(
            f"cache must be the list of step caches from lstm_forward, got {describe(cache)}"
        )
    if not cache:
        raise ValueError("cache must be the list of step caches from lstm_forward, got []")
    sizes = [_check_step_cache(step_cache, f"cache[{t}]") for t, step_cache in enumerate(cache)]
    for t, step_sizes in enumerate(sizes):
        if step_sizes != sizes[0] or cache[t]["x"].dtype != cache[0]["x"].dtype:
            raise ValueError(
                f"cache[{t}] must be a step of the same batch and shapes as cache[0] "
                f"(N, D, H) = {sizes[0]}, {cache[0]['x'].dtype}, got {step_sizes}, "
                f"{cache[t]['x'].dtype}"
            )
    N, D, H = sizes[0]
    return N, len(cache), D, H


def lstm_step_forward(x, h_prev, c_prev, params):
    """Forward pass of one LSTM step.

    Parameters
    ----------
    x : array (N, D)
        Inputs at this step.
    h_prev : array (N, H) or None
        Previous hidden state (short-term memory); ``None`` means zeros.
    c_prev : array (N, H) or None
        Previous cell state (long-term memory); ``None`` means zeros.
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``, gate blocks in :data:`GATES` order.

    Returns
    -------
    h : array (N, H)
        New hidden state ``o * tanh(c)``.
    c : array (N, H)
        New cell state ``f * c_prev + i * g``.
    cache : dict
        ``x (N, D)``, ``h_prev``, ``c_prev``, the gates ``i``, ``f``, ``o``, ``g``, ``c``
        and ``tanh_c`` (all ``(N, H)``), and ``params``: what the backward pass needs.

    Raises
    ------
    ValueError
        If ``params`` is not an LSTM's, an array is not finite or of the shape above (with
        ``N >= 1``), or the arguments are so large that the pre-activations could overflow
        the dtype.
    """
    D, H, dtype = lstm_sizes(params)
    x = check_step_input(x, D, dtype)
    N = x.shape[0]
    h_prev = check_state(h_prev, "h_prev", N, H, dtype)
    c_prev = check_state(c_prev, "c_prev", N, H, dtype)
    check_preactivations(x, h_prev, params, 1, names=("x", "h_prev"))

    a = x @ params["Wx"] + h_prev @ params["Wh"] + params["b"]  # (N, 4H)
    cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "params": params}
    for gate in GATES:
        squash = sigmoid if gate in SIGMOID_GATES else tanh
        cache[gate] = squash(a[:, gate_slice(gate, H)])  # (N, H)
    i, f, o, g = cache["i"], cache["f"], cache["o"], cache["g"]

    c = f * c_prev + i * g
    tanh_c = tanh(c)
    h = o * tanh_c
    cache.update(c=c, tanh_c=tanh_c)
    return h, c, cache


@np.errstate(over="ignore", invalid="ignore")  # check_overflow reports it
def lstm_step_backward(dh, dc, cache):
    """Backward pass of one LSTM step.

    Parameters
    ----------
    dh : array (N, H)
        Gradient of the loss on this step's ``h``; cast to the cache's dtype.
    dc : array (N, H)
        Gradient of the loss on this step's ``c`` from later steps (zeros at the last one);
        cast to the cache's dtype.
    cache : dict
        From :func:`lstm_step_forward`.

    Returns
    -------
    dx : array (N, D)
    dh_prev : array (N, H)
    dc_prev : array (N, H)
    grads : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``. All in the cache's dtype.

    Raises
    ------
    ValueError
        If ``cache`` is not a step cache whose arrays fit its params (an
        ``ArgumentTypeError`` if not a dict at all), if ``dh``, ``dc`` are not finite arrays
        of the shape of the step's ``c``, or if the gradients overflow the dtype.
    """
    N, _, H = _check_step_cache(cache)
    dtype = cache["x"].dtype  # the gradients are cast to the cache's dtype
    dh = check_array(dh, "dh", (N, H), "(N, H)", dtype)
    dc = check_array(dc, "dc", (N, H), "(N, H)", dtype)
    x, h_prev, c_prev = cache["x"], cache["h_prev"], cache["c_prev"]
    i, f, o, g, tanh_c = cache["i"], cache["f"], cache["o"], cache["g"], cache["tanh_c"]
    p = cache["params"]

    # h = o * tanh(c): c's gradient comes from h as well as from the next step
    do = dh * tanh_c
    dc = dc + dh * o * (1 - tanh_c**2)
    # c = f * c_prev + i * g
    df = dc * c_prev
    di = dc * g
    dg = dc * i
    dc_prev = dc * f
    # through the squashing: sigmoid' = s (1 - s), tanh' = 1 - t^2
    da = {
        "i": di * i * (1 - i),
        "f": df * f * (1 - f),
        "o": do * o * (1 - o),
        "g": dg * (1 - g**2),
    }
    da = np.concatenate([da[gate] for gate in GATES], axis=1)  # (N, 4H)

    # a = x @ Wx + h_prev @ Wh + b
    dx = da @ p["Wx"].T
    dh_prev = da @ p["Wh"].T
    grads = {"Wx": x.T @ da, "Wh": h_prev.T @ da, "b": da.sum(axis=0)}
    given = {"dh": dh, "dc": dc}  # to name if a gradient overflows
    check_overflow(given, da.dtype, "the gradients", dx, dh_prev, dc_prev, *grads.values())
    return dx, dh_prev, dc_prev, grads


def lstm_forward(x, params, h0=None, c0=None):
    """Run an LSTM over a batch of sequences, one step at a time.

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
    cache : list of dict
        The ``T`` step caches of :func:`lstm_step_forward`, in time order.

    Raises
    ------
    ValueError
        If ``params`` is not an LSTM's, an array is not finite or of the shape above, or
        the arguments are so large that the pre-activations could overflow the dtype.
    """
    D, H, dtype = lstm_sizes(params)
    x = check_sequence(x, D, dtype)
    N, T, _ = x.shape
    h = check_state(h0, "h0", N, H, dtype)
    c = check_state(c0, "c0", N, H, dtype)
    check_preactivations(x, h, params, T)

    hs = np.empty((N, T, H), dtype)
    cache = []
    for t in range(T):
        h, c, step_cache = lstm_step_forward(x[:, t], h, c, params)
        hs[:, t] = h
        cache.append(step_cache)
    return hs, cache


def lstm_backward(dhs, cache, dh_last=None, dc_last=None):
    """Backpropagation through time for :func:`lstm_forward`.

    Parameters
    ----------
    dhs : array (N, T, H)
        Gradient of the loss on every hidden state.
    cache : list of dict
        From :func:`lstm_forward`.
    dh_last : array (N, H), optional
        Extra gradient on the final hidden state (added to ``dhs[:, -1]``).
    dc_last : array (N, H), optional
        Gradient on the final cell state (e.g. from a later chunk of the sequence).

    Returns
    -------
    dx : array (N, T, D)
    dh0 : array (N, H)
        Gradient on the initial hidden state ``h0``.
    dc0 : array (N, H)
        Gradient on the initial cell state ``c0``.
    grads : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``, summed over the steps.

    Raises
    ------
    ValueError
        If ``cache`` is not a non-empty list of step caches of one batch and one set of
        shapes (an ``ArgumentTypeError`` if not a list), if a gradient is not a finite array
        of the shape above, or if the gradients overflow the dtype.
    """
    N, T, D, H = _check_sequence_cache(cache)
    params, dtype = cache[0]["params"], cache[0]["x"].dtype
    dhs = check_array(dhs, "dhs", (N, T, H), "(N, T, H)", dtype)
    dh = check_state(dh_last, "dh_last", N, H, dtype)
    dc = check_state(dc_last, "dc_last", N, H, dtype)

    dx = np.empty((N, T, D), dtype)
    grads = {name: np.zeros_like(params[name]) for name in ("Wx", "Wh", "b")}
    given = {"dhs": dhs, "dh_last": dh, "dc_last": dc}  # to name if a gradient overflows
    with overflow_checked(given, dtype, "the gradients"):
        for t in reversed(range(T)):
            # h_t feeds the loss at step t and the next step: the two gradients add up
            dx[:, t], dh, dc, step_grads = lstm_step_backward(dhs[:, t] + dh, dc, cache[t])
            for name in grads:
                grads[name] += step_grads[name]
    return dx, dh, dc, grads


__all__ = ["lstm_backward", "lstm_forward", "lstm_step_backward", "lstm_step_forward"]
