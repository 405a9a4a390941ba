"""Optimizers that update a ``params`` dict in place from a ``grads`` dict, and clipping."""

from __future__ import annotations

import numpy as np


def _check_keys(params, grads):
    for k, g in grads.items():
        if k not in params:
            raise ValueError(
                f"grads has key {k!r} that params lacks; params keys: {sorted(params)}"
            )
        if np.shape(g) != params[k].shape:
            raise ValueError(f"grads[{k!r}] must have shape {params[k].shape}, got {np.shape(g)}")


class SGD:
    """Stochastic gradient descent with optional (heavy-ball) momentum.

    ``v = momentum * v - lr * grad``; ``param += v``.
    """

    def __init__(self, lr: float = 0.1, momentum: float = 0.0):
        if lr <= 0 or not 0 <= momentum < 1:
            raise ValueError(f"need lr > 0 and 0 <= momentum < 1, got lr={lr}, momentum={momentum}")
        self.lr, self.momentum, self.velocity = lr, momentum, {}

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place."""
        _check_keys(params, grads)
        for k, g in grads.items():
            v = self.velocity.get(k)
            v = -self.lr * g if v is None else self.momentum * v - self.lr * g
            self.velocity[k] = v
            params[k] += v.astype(params[k].dtype, copy=False)


class Adam:
    """Adam (Kingma and Ba, 2015) with bias correction."""

    def __init__(
        self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ):
        if lr <= 0 or not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"need lr > 0 and betas in [0, 1), got {lr}, {beta1}, {beta2}")
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place."""
        _check_keys(params, grads)
        self.t += 1
        c1, c2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t
        for k, g in grads.items():
            m = self.m.get(k, 0.0) * self.beta1 + (1 - self.beta1) * g
            v = self.v.get(k, 0.0) * self.beta2 + (1 - self.beta2) * g * g
            self.m[k], self.v[k] = m, v
            update = self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
            params[k] -= update.astype(params[k].dtype, copy=False)


def global_norm(grads: dict) -> float:
    """Euclidean norm of all gradients taken together."""
    return float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values())))


def clip_grad_norm(grads: dict, max_norm: float):
    """Scale all gradients together so that their global norm is at most ``max_norm``.

    Returns a new dict (the input is not modified) and the norm before clipping.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    norm = global_norm(grads)
    if norm <= max_norm or not np.isfinite(norm):
        return dict(grads), norm
    scale = max_norm / norm
    return {k: g * scale for k, g in grads.items()}, norm
