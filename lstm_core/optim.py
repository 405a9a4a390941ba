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
    check_overflow,
    describe,
    finite_number,
    plain_array,
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
        if type(p) is not np.ndarray or p.dtype not in FLOAT_DTYPES:
            raise ArgumentTypeError(
                f"params[{k!r}] must be a float32 or float64 array (it is updated in place), "
                f"got {describe(p)}"
            )
        if not p.flags.writeable:
            raise ValueError(
                f"params[{k!r}] must be writeable (it is updated in place), got a read-only "
                "array; train a copy (lstm_core.copy_params)"
            )
        check_finite(p, f"params[{k!r}]")  # else the step's NaN would blame lr or grads
        # a plain array: an np.matrix would make Adam's g * g a matrix product
        plain_array(g, f"grads[{k!r}]", "a NumPy array")
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
            other than its parameter's, or NaN or infinity, if a parameter to update is
            not a writeable finite float array (or not of the shape this optimizer has
            updated), or
            if the step would make a parameter or a velocity overflow its dtype (``lr`` or
            ``grads`` too large).
        """
        _check_step(params, grads, (self.velocity,))
        velocity, new = {}, {}
        with np.errstate(over="ignore", invalid="ignore"):  # checked below, before any update
            for k, g in grads.items():
                v = self.velocity.get(k)
                v = -self.lr * g if v is None else self.momentum * v - self.lr * g
                velocity[k] = v
                new[k] = params[k] + v.astype(params[k].dtype, copy=False)
        given = {"lr": self.lr, "grads": grads, "params": params}
        check_overflow(given, None, "the updated parameters", *velocity.values(), *new.values())
        for k in grads:
            self.velocity[k] = velocity[k]
            params[k][...] = new[k]


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
            Before anything is updated (the step count included), as :meth:`SGD.step`, and
            if a gradient's square overflows its dtype in the second moment (clip the
            gradients first: :func:`clip_grad_norm`).
        """
        _check_step(params, grads, (self.m, self.v))
        t = self.t + 1
        c1, c2 = 1 - self.beta1**t, 1 - self.beta2**t
        moments, new = {}, {}
        with np.errstate(over="ignore", invalid="ignore"):  # checked below, before any update
            for k, g in grads.items():
                m = self.m.get(k, 0.0) * self.beta1 + (1 - self.beta1) * g
                v = self.v.get(k, 0.0) * self.beta2 + (1 - self.beta2) * g * g
                moments[k] = m, v
                update = self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
                new[k] = params[k] - update.astype(params[k].dtype, copy=False)
        squares = [v for _, v in moments.values()]
        check_overflow({"grads": grads}, None, "their squares (the second moment)", *squares)
        given = {"lr": self.lr, "params": params}
        check_overflow(given, None, "the updated parameters", *new.values())
        self.t = t
        for k in grads:
            self.m[k], self.v[k] = moments[k]
            params[k][...] = new[k]


def _norm(grads, name: str = "grads"):
    """``(norm, scale, r, arrays)``: the global norm ``scale * r`` of ``grads``, its parts,
    and ``grads``' values as plain float arrays.

    As the plain sum of squares (each array's in its own dtype, the sums added in float64)
    where that neither overflows nor loses small entries to underflow; otherwise with every
    entry divided by the largest magnitude ``scale`` first, so that ``r`` lies between 1 and
    the square root of the number of entries (``norm`` is ``inf`` only if the norm itself
    exceeds float64). Refuses NaN, infinity and bools.
    """
    array_dict(grads, name)
    arrays = [as_float_array(g, f"{name}[{k!r}]") for k, g in grads.items()]
    for k, a in zip(grads, arrays, strict=True):
        check_finite(a, f"{name}[{k!r}]")
    with np.errstate(over="ignore", under="ignore"):
        plain = float(np.sqrt(sum(float(np.sum(np.square(a))) for a in arrays)))
    # below this, a square that underflowed to 0 could matter (one in eps of the norm)
    small = max(
        (np.sqrt(np.finfo(a.dtype).tiny) / np.finfo(a.dtype).eps for a in arrays), default=0
    )
    if np.isfinite(plain) and plain >= small:
        return plain, plain, 1.0, arrays
    scale = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
    if scale == 0.0:
        return 0.0, 0.0, 0.0, arrays
    r = float(np.sqrt(sum(float(np.sum(np.square(a / scale))) for a in arrays)))
    with np.errstate(over="ignore"):
        return scale * r, scale, r, arrays


def global_norm(grads: dict) -> float:
    """Euclidean norm of all gradients taken together.

    Each array's sum of squares is taken in the array's own dtype (float32 stays float32;
    integers become float64) and the sums are added in float64. If a square overflowed, or
    the norm is so small that squares could have underflowed, the norm is computed again
    with every entry divided by the largest magnitude first, so that any finite gradients
    get their norm (``inf`` only beyond float64's range, which is refused).

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
        If ``grads`` is not a dict of arrays of numbers (an ``ArgumentTypeError``; bools are
        not numbers), holds NaN or infinity, or has a norm beyond float64's range (above
        1.8e308).
    """
    norm = _norm(grads)[0]
    check_overflow({"grads": grads}, np.float64, "their global norm", norm)
    return norm


def clip_grad_norm(grads: dict, max_norm: float):
    """Scale all gradients together so that their global norm is at most ``max_norm``.

    Returns a new dict (the input is not modified) and the norm before clipping. The norm is
    computed as :func:`global_norm` does, without overflow, so that any finite gradients
    are clipped, even those whose norm is beyond float64's range (the norm returned is then
    ``inf``).

    Parameters
    ----------
    grads : dict of arrays
        Any shapes, e.g. ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.
    max_norm : float
        Finite, > 0.

    Returns
    -------
    clipped : dict of arrays
        The same keys, shapes and dtypes as ``grads``.
    norm : float
        Global norm of ``grads`` before clipping (``inf`` if it exceeds float64's range).

    Raises
    ------
    ValueError
        If ``max_norm`` is not a finite number > 0, or ``grads`` not a dict of arrays of
        numbers or holds NaN or infinity.
    """
    finite_number(max_norm, "max_norm", low=0, low_open=True)
    norm, scale, r, arrays = _norm(grads)
    if norm <= max_norm:
        return dict(grads), norm
    factor = max_norm / norm
    if factor >= 1e-30:  # a normal number in float32 too
        return {k: np.multiply(g, factor) for k, g in zip(grads, arrays, strict=True)}, norm
    clipped = {}
    for k, g in zip(grads, arrays, strict=True):  # a factor too small for one number
        out = g.astype(np.float64) / scale / r * max_norm  # in float64: |g| / scale, 1 / r <= 1
        clipped[k] = out.astype(g.dtype, copy=False)
    return clipped, norm
