"""Optimizers that update a ``params`` dict in place from a ``grads`` dict, and clipping."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._checks import (
    FLOAT_DTYPES,
    ArgumentTypeError,
    array_dict,
    as_float_array,
    check_finite,
    describe,
    finite_number,
)


def _check_step(params, grads, states):
    """Refuse a step that could not be taken whole, before anything is updated.

    ``states`` are the optimizer's per-key arrays (velocities, moments), which must have
    the shapes of the parameters they were built for.
    """
    if not isinstance(params, dict):
        raise ArgumentTypeError(f"params must be a dict of arrays, got {describe(params)}")
    if not isinstance(grads, Mapping):
        raise ArgumentTypeError(f"grads must be a dict of arrays, got {describe(grads)}")
    for k, g in grads.items():
        if k not in params:
            raise ValueError(f"grads has key {k!r} that params lacks; params keys: {list(params)}")
        p = params[k]
        if not isinstance(p, np.ndarray) or p.dtype not in FLOAT_DTYPES:
            raise ArgumentTypeError(
                f"params[{k!r}] must be a float32 or float64 array (it is updated in place), "
                f"got {describe(p)}"
            )
        if not p.flags.writeable:
            raise ValueError(
                f"params[{k!r}] must be writeable (it is updated in place), got a read-only "
                "array; train a copy (lstm_core.copy_params)"
            )
        if not isinstance(g, np.ndarray):
            raise ArgumentTypeError(f"grads[{k!r}] must be a NumPy array, got {describe(g)}")
        g = as_float_array(g, f"grads[{k!r}]")
        if g.shape != p.shape:
            raise ValueError(f"grads[{k!r}] must have shape {p.shape}, got {g.shape}")
        check_finite(g, f"grads[{k!r}]")
        for state in states:
            if k in state and np.shape(state[k]) != p.shape:
                raise ValueError(
                    f"params[{k!r}] must have shape {np.shape(state[k])}, the shape this "
                    f"optimizer has been updating, got {p.shape}; use one optimizer per model"
                )


class SGD:
    """Stochastic gradient descent with optional (heavy-ball) momentum.

    ``v = momentum * v - lr * grad``; ``param += v``.

    Parameters
    ----------
    lr : float
        Learning rate, finite and > 0.
    momentum : float
        In [0, 1).

    Raises
    ------
    ValueError
        For a hyper-parameter out of range or not finite (an ``ArgumentTypeError``, also a
        ``ValueError``, for one that is not a number, bools included).
    """

    def __init__(self, lr: float = 0.1, momentum: float = 0.0):
        finite_number(lr, "lr", low=0, low_open=True)
        finite_number(momentum, "momentum", low=0, high=1, high_open=True)
        self.lr, self.momentum, self.velocity = lr, momentum, {}

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place.

        Parameters
        ----------
        params : dict of arrays
            Updated in place, e.g. ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.
        grads : dict of arrays
            Gradients with the same keys (a subset) and shapes as ``params``.

        Raises
        ------
        ValueError
            Before anything is updated, if ``grads`` has a key ``params`` lacks, a shape
            other than its parameter's, or NaN or infinity, or if a parameter to update is
            not a writeable float array (or not of the shape this optimizer has updated).
        """
        _check_step(params, grads, (self.velocity,))
        for k, g in grads.items():
            v = self.velocity.get(k)
            v = -self.lr * g if v is None else self.momentum * v - self.lr * g
            self.velocity[k] = v
            params[k] += v.astype(params[k].dtype, copy=False)


class Adam:
    """Adam (Kingma and Ba, 2015) with bias correction.

    Parameters
    ----------
    lr : float
        Learning rate, finite and > 0.
    beta1, beta2 : float
        Decay rates of the moment estimates, in [0, 1).
    eps : float
        Added to the denominator, finite and > 0.

    Raises
    ------
    ValueError
        For a hyper-parameter out of range or not finite (an ``ArgumentTypeError``, also a
        ``ValueError``, for one that is not a number, bools included).
    """

    def __init__(
        self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ):
        finite_number(lr, "lr", low=0, low_open=True)
        finite_number(beta1, "beta1", low=0, high=1, high_open=True)
        finite_number(beta2, "beta2", low=0, high=1, high_open=True)
        finite_number(eps, "eps", low=0, low_open=True)
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place.

        Parameters
        ----------
        params : dict of arrays
            Updated in place, e.g. ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.
        grads : dict of arrays
            Gradients with the same keys (a subset) and shapes as ``params``.

        Raises
        ------
        ValueError
            Before anything is updated (the step count included), as :meth:`SGD.step`.
        """
        _check_step(params, grads, (self.m, self.v))
        self.t += 1
        c1, c2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t
        for k, g in grads.items():
            m = self.m.get(k, 0.0) * self.beta1 + (1 - self.beta1) * g
            v = self.v.get(k, 0.0) * self.beta2 + (1 - self.beta2) * g * g
            self.m[k], self.v[k] = m, v
            update = self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
            params[k] -= update.astype(params[k].dtype, copy=False)


def global_norm(grads: dict) -> float:
    """Euclidean norm of all gradients taken together.

    Parameters
    ----------
    grads : dict of arrays
        Any shapes, e.g. ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``grads`` is not a dict of arrays of numbers (an ``ArgumentTypeError``).
    """
    array_dict(grads, "grads")
    return float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values())))


def clip_grad_norm(grads: dict, max_norm: float):
    """Scale all gradients together so that their global norm is at most ``max_norm``.

    Returns a new dict (the input is not modified) and the norm before clipping. Gradients
    whose norm is NaN or infinite are returned unscaled.

    Parameters
    ----------
    grads : dict of arrays
        Any shapes, e.g. ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.
    max_norm : float
        Finite, > 0.

    Returns
    -------
    clipped : dict of arrays
        The same keys and shapes as ``grads``.
    norm : float
        Global norm of ``grads`` before clipping.

    Raises
    ------
    ValueError
        If ``max_norm`` is not a finite number > 0, or ``grads`` not a dict of arrays.
    """
    finite_number(max_norm, "max_norm", low=0, low_open=True)
    norm = global_norm(grads)
    if norm <= max_norm or not np.isfinite(norm):
        return dict(grads), norm
    scale = max_norm / norm
    return {k: np.multiply(g, scale) for k, g in grads.items()}, norm
