"""One LSTM time step: the fused sequence functions of :mod:`lstm_core.lstm` with ``T = 1``.

There is one fused implementation of the cell's arithmetic (its squashing and its local
derivatives), in :mod:`lstm_core.lstm`; one step is a sequence of length one. The plain
statement of the same step is :func:`lstm_core.reference.lstm_step_forward`, and the
tests hold the two equal.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import ArgumentTypeError, check_array, check_state, check_step_input, describe
from .lstm import SequenceCache, backward_checked, check_sequence_cache, lstm_forward
from .params import check_preactivations, lstm_sizes


class StepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs: the one-step cache of :func:`lstm_forward`.

    Attributes
    ----------
    sequence : SequenceCache
        The cache of :func:`lstm_forward` over a sequence of length ``T = 1``.
    gates : array (N, 4H)
        Gate values in :data:`lstm_core.GATES` order, after their squashing.
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.
    """

    sequence: SequenceCache

    @property
    def gates(self) -> np.ndarray:
        """Gate values ``(N, 4H)`` in :data:`lstm_core.GATES` order, after their squashing."""
        return self.sequence.gate_values[:, 0]

    @property
    def params(self) -> dict:
        return self.sequence.params


def lstm_step_forward(x, h_prev, c_prev, params):
    """Forward pass of one LSTM step.

    Parameters
    ----------
    x : array (N, D)
        Inputs at this step.
    h_prev : array (N, H) or None
        Previous short-term memory (hidden state); ``None`` means zeros.
    c_prev : array (N, H) or None
        Previous long-term memory (cell state); ``None`` means zeros.
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.

    Returns
    -------
    h : array (N, H)
        New hidden state ``o * tanh(c)``.
    c : array (N, H)
        New cell state ``f * c_prev + i * g``.
    cache : StepCache

    Raises
    ------
    ValueError
        If ``params`` is not an LSTM's, an array is not finite or of the shape above (with
        ``N >= 1``), or the pre-activations overflow the dtype (as :func:`lstm_forward`).
    """
    D, H, dtype = lstm_sizes(params)
    x = check_step_input(x, D, dtype)
    h_prev = check_state(h_prev, "h_prev", x.shape[0], H, dtype)
    c_prev = check_state(c_prev, "c_prev", x.shape[0], H, dtype)
    check_preactivations(x, h_prev, params, 1, names=("x", "h_prev"))
    hs, sequence = lstm_forward(x[:, None], params, h_prev, c_prev)
    return hs[:, 0].copy(), sequence.c_last.copy(), StepCache(sequence)


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

    Raises
    ------
    ValueError
        If ``cache`` is not a :class:`StepCache` of one step (an ``ArgumentTypeError``) or
        its arrays do not fit its params, if ``dh``, ``dc`` are not finite arrays of the
        shape above, or if the gradients overflow the dtype.
    """
    if not isinstance(cache, StepCache):
        raise ArgumentTypeError(
            f"cache must be the StepCache from lstm_step_forward, got {describe(cache)}"
        )
    N, T, _, H = check_sequence_cache(cache.sequence, "cache.sequence")
    if T != 1:
        raise ValueError(
            f"cache must be the StepCache from lstm_step_forward, got one of {T} steps"
        )
    dtype = cache.sequence.gates.dtype
    dh = check_array(dh, "dh", (N, H), "(N, H)", dtype)
    dc = check_array(dc, "dc", (N, H), "(N, H)", dtype)
    no_dh = np.zeros_like(dh)
    given = {"dh": dh, "dc": dc}
    dx, dh_prev, dc_prev, grads = backward_checked(dh[:, None], cache.sequence, no_dh, dc, given)
    return dx[:, 0].copy(), dh_prev, dc_prev, grads
