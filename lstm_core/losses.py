"""Loss functions returning ``(loss, gradient on the prediction)``, and the softmax."""

from __future__ import annotations

import numpy as np

from ._checks import ArgumentTypeError, as_float_array, check_finite, describe


def check_mse_target(
    target, pred: np.ndarray, name: str = "target", pred_name: str = "pred"
) -> np.ndarray:
    """``target`` as a finite float array of ``pred``'s shape and dtype, or ``ValueError``."""
    target = as_float_array(target, name, pred.dtype)
    if target.shape != pred.shape:
        raise ValueError(
            f"{name} must have the shape of {pred_name} {pred.shape}, got {target.shape}"
        )
    check_finite(target, name)
    return target


def mse_loss(pred, target):
    """Mean squared error ``mean((pred - target)**2)``.

    Parameters
    ----------
    pred : array, any shape
        At least one entry.
    target : array, same shape as ``pred``

    Returns
    -------
    loss : float
    dpred : array, shape of ``pred``

    Raises
    ------
    ValueError
        If ``pred`` is empty, the shapes differ, or either holds NaN or infinity.
    """
    pred = as_float_array(pred, "pred")
    if pred.size == 0:
        raise ValueError(f"pred must have at least one entry, got shape {pred.shape}")
    check_finite(pred, "pred")
    target = check_mse_target(target, pred)
    diff = pred - target
    return float(np.mean(diff * diff)), diff * (2.0 / diff.size)


def _check_logits(logits, axis, name: str = "logits") -> np.ndarray:
    """Logits as a float array whose every slice along ``axis`` has a softmax.

    ``-inf`` is a logit of probability 0 (a mask); NaN and ``+inf`` have no softmax, and
    neither has a slice that is empty or all ``-inf``.
    """
    z = as_float_array(logits, name)
    if axis is not None:
        n = max(z.ndim, 1)
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
            raise ArgumentTypeError(
                f"axis must be an integer in [{-n}, {n}) or None, got {describe(axis)}"
            )
        if not -n <= axis < n:
            raise ValueError(f"axis must be an integer in [{-n}, {n}) or None, got {axis!r}")
    if (z.size if axis is None or z.ndim == 0 else z.shape[axis]) == 0:
        raise ValueError(
            f"{name} must have at least one entry along axis {axis}, got shape {z.shape}"
        )
    if not np.isfinite(z).all():
        bad = np.isnan(z) | (z == np.inf)
        if bad.any():
            where = tuple(int(k) for k in np.argwhere(bad)[0])
            raise ValueError(
                f"{name} must be finite or -inf (probability 0), "
                f"got {float(z[where])!r} at index {where}"
            )
        if np.isneginf(z).all(axis=axis).any():
            raise ValueError(
                f"{name} must have a finite entry in every slice along axis {axis}, "
                "got a slice of -inf only"
            )
    return z


def softmax(logits, axis: int | None = -1):
    """Softmax along ``axis``, shifted by the maximum so that it never overflows.

    Parameters
    ----------
    logits : array_like
        Finite numbers, or ``-inf`` for a probability of exactly 0 (a mask).
    axis : int or None
        The axis of the classes; ``None`` normalises over all entries.

    Returns
    -------
    array, shape of ``logits``

    Raises
    ------
    ValueError
        For NaN or ``+inf`` (no softmax: ``+inf`` against another ``+inf`` is undefined),
        a slice along ``axis`` that is empty or all ``-inf``, or an ``axis`` out of range.
    """
    z = _check_logits(logits, axis)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def check_class_targets(targets, logits: np.ndarray, name: str = "targets") -> np.ndarray:
    """``targets`` as an integer array of class indices for ``logits (..., V)``."""
    V = logits.shape[-1]
    arr = np.asarray(targets) if not isinstance(targets, np.ndarray) else targets
    if arr.dtype.kind not in "iu":
        raise ArgumentTypeError(
            f"{name} must be integer class indices, got {describe(targets)}"
            if arr.dtype == object
            else f"{name} must be integer class indices, got dtype {arr.dtype}"
        )
    if arr.shape != logits.shape[:-1]:
        raise ValueError(
            f"{name} must have shape {logits.shape[:-1]} (logits without V), got {arr.shape}"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= V):
        raise ValueError(f"{name} must lie in [0, {V}), got values in [{arr.min()}, {arr.max()}]")
    return arr


def softmax_cross_entropy(logits, targets):
    """Mean cross-entropy of integer class ``targets`` under ``softmax(logits)``.

    Parameters
    ----------
    logits : array (..., V)
        Unnormalised scores, e.g. ``(N, T, V)`` for a character model; finite, or ``-inf``
        for a class of probability 0. At least one row and one class.
    targets : int array (...)
        Class indices in ``[0, V)``, the leading shape of ``logits``.

    Returns
    -------
    loss : float
    dlogits : array (..., V)

    Raises
    ------
    ValueError
        For logits as :func:`softmax` refuses them, no rows, or targets of the wrong shape,
        dtype or range.
    """
    logits = as_float_array(logits, "logits")
    if logits.ndim == 0:
        raise ValueError(f"logits must have shape (..., V), got {logits.shape}")
    logits = _check_logits(logits, -1)
    targets = check_class_targets(targets, logits)
    if targets.size == 0:
        raise ValueError(f"logits must hold at least one row of V scores, got {logits.shape}")
    V = logits.shape[-1]
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
