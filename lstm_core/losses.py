"""Loss functions returning ``(loss, gradient on the prediction)``."""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array


def mse_loss(pred, target):
    """Mean squared error ``mean((pred - target)**2)``.

    Parameters
    ----------
    pred : array, any shape
    target : array, same shape as ``pred``

    Returns
    -------
    loss : float
    dpred : array, shape of ``pred``
    """
    pred = as_float_array(pred, "pred")
    target = as_float_array(target, "target", pred.dtype)
    if pred.shape != target.shape:
        raise ValueError(f"target must have the shape of pred {pred.shape}, got {target.shape}")
    diff = pred - target
    return float(np.mean(diff * diff)), diff * (2.0 / diff.size)


def softmax(logits, axis: int = -1):
    """Softmax along ``axis``, shifted by the maximum so that it never overflows."""
    z = as_float_array(logits, "logits")
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def softmax_cross_entropy(logits, targets):
    """Mean cross-entropy of integer class ``targets`` under ``softmax(logits)``.

    Parameters
    ----------
    logits : array (..., V)
        Unnormalised scores, e.g. ``(N, T, V)`` for a character model.
    targets : int array (...)
        Class indices in ``[0, V)``, the leading shape of ``logits``.

    Returns
    -------
    loss : float
    dlogits : array (..., V)
    """
    logits = as_float_array(logits, "logits")
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise TypeError(f"targets must be integer class indices, got dtype {targets.dtype}")
    V = logits.shape[-1]
    if targets.shape != logits.shape[:-1]:
        raise ValueError(
            f"targets must have shape {logits.shape[:-1]} (logits without V), got {targets.shape}"
        )
    if targets.size and (targets.min() < 0 or targets.max() >= V):
        raise ValueError(
            f"targets must lie in [0, {V}), got values in [{targets.min()}, {targets.max()}]"
        )
    z = logits.reshape(-1, V)
    t = targets.reshape(-1)
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    rows = np.arange(t.size)
    loss = float(np.mean(log_norm - z[rows, t]))
    d = np.exp(z - log_norm[:, None])
    d[rows, t] -= 1.0
    d /= t.size
    return loss, d.reshape(logits.shape)
