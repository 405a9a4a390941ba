"""The shared contract of the problem sets, computed by the reference package.

* ``lstm_step_forward(x, h_prev, c_prev, params) -> (h, c, cache)``, the cache a dict with the
  keys :data:`CACHE_KEYS` (the step's inputs, the gates after squashing, ``c``, ``tanh(c)``);
* ``lstm_forward(x, params, h0=None, c0=None) -> (hs, caches)``, a list of T step caches;
* ``lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, grads)``;
* ``lstm_backward(dhs, caches, dh_last=None, dc_last=None) -> (dx, dh0, dc0, grads)``.

The functions here give those results from the private copy of ``lstm_core``
(:func:`lstm_grading.reference`) whatever form its own caches take, so that the hidden tests
do not depend on how the package stores them.
"""

from __future__ import annotations

import numpy as np

from ..checks import reference

CACHE_KEYS = ("x", "h_prev", "c_prev", "i", "f", "o", "g", "c", "tanh_c", "params")
# The hand-worked unit of the lectures (D = H = 1), per part (weight on x, weight on h, bias):
# the table of the book's worked example, also lstm_core.HAND_WORKED_PARAMS.
HAND_WORKED_TABLE = {
    "f": (1.63, 2.70, 1.62),
    "i": (1.65, 2.00, 0.62),
    "g": (0.94, 1.41, -0.32),
    "o": (-0.19, 4.38, 0.59),
}


def gates() -> tuple[str, ...]:
    """The block order of the reference package (i, f, o, g)."""
    return tuple(reference("GATES"))


def _plain():
    """``lstm_core.reference``, the plain statement of the contract, if the package has it."""
    try:
        return reference("reference")
    except AttributeError:
        return None


def step_forward(x, h_prev, c_prev, params):
    """The reference step: ``(h, c, cache)`` with the contract's dict cache."""
    plain = _plain()
    if plain is not None:
        h, c, cache = plain.lstm_step_forward(x, h_prev, c_prev, params)
        return h, c, {k: cache[k] for k in CACHE_KEYS}
    h, c, cache = reference("lstm_step_forward")(x, h_prev, c_prev, params)
    if isinstance(cache, dict):
        return h, c, {k: cache[k] for k in CACHE_KEYS}
    H = h.shape[1]
    out = {"x": cache.x, "h_prev": cache.h_prev, "c_prev": cache.c_prev}
    for k, gate in enumerate(gates()):
        out[gate] = cache.gates[:, k * H : (k + 1) * H]
    out.update(c=c, tanh_c=cache.tanh_c, params=cache.params)
    return h, c, out


def forward(x, params, h0=None, c0=None):
    """The reference unrolled LSTM: ``(hs, caches)``, one contract cache per step."""
    N, T, _ = x.shape
    H = params["Wh"].shape[0]
    h = np.zeros((N, H), x.dtype) if h0 is None else h0
    c = np.zeros((N, H), x.dtype) if c0 is None else c0
    hs, caches = np.empty((N, T, H), x.dtype), []
    for t in range(T):
        h, c, cache = step_forward(x[:, t], h, c, params)
        hs[:, t] = h
        caches.append(cache)
    return hs, caches


def step_backward(dh, dc, x, h_prev, c_prev, params):
    """The reference backward step for the step with these inputs."""
    plain = _plain()
    if plain is not None:
        cache = plain.lstm_step_forward(x, h_prev, c_prev, params)[2]
        return plain.lstm_step_backward(dh, dc, cache)
    cache = reference("lstm_step_forward")(x, h_prev, c_prev, params)[2]
    return reference("lstm_step_backward")(dh, dc, cache)


def backward(dhs, x, params, h0=None, c0=None, dh_last=None, dc_last=None):
    """The reference backpropagation through time for the sequence with these inputs."""
    plain = _plain()
    if plain is not None:
        cache = plain.lstm_forward(x, params, h0, c0)[1]
        return plain.lstm_backward(dhs, cache, dh_last=dh_last, dc_last=dc_last)
    cache = reference("lstm_forward")(x, params, h0, c0)[1]
    return reference("lstm_backward")(dhs, cache, dh_last=dh_last, dc_last=dc_last)


def hand_worked_params() -> dict:
    """The hand-worked unit's params in GATES order, fresh writeable arrays."""
    return {k: np.array(v, dtype=np.float64) for k, v in reference("HAND_WORKED_PARAMS").items()}
