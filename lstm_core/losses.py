"""Loss functions returning ``(loss, gradient on the prediction)``, and the softmax."""

from __future__ import annotations

import numpy as np

from ._checks import (
    ArgumentTypeError,
    as_float_array,
    as_int_array,
    check_finite,
    check_index_range,
    check_overflow,
    describe,
)


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
        If ``pred`` is empty, the shapes differ, either holds NaN or infinity, or they are
        so far apart that the mean squared error overflows the dtype.
    """
    pred = as_float_array(pred, "pred")
    if pred.size == 0:
        raise ValueError(f"pred must have at least one entry, got shape {pred.shape}")
    check_finite(pred, "pred")
    target = check_mse_target(target, pred)
    return squared_error(pred, target, {"pred": pred, "target": target})


def squared_error(pred: np.ndarray, target: np.ndarray, inputs: dict):
    """:func:`mse_loss` of checked, finite arrays of one shape and dtype.

    Scaled by the largest difference, so that the mean of squares too large to square one
    by one stays finite; a ``ValueError`` naming the largest of ``inputs`` (the caller's
    arguments) if the mean itself, or its gradient, overflows the dtype.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        diff = pred - target
        dpred = diff * (2.0 / diff.size)
        scale = np.max(np.abs(diff))
        if scale > 0:
            r = diff / scale
            loss = (np.mean(r * r) * scale) * scale  # mean <= 1: only the last product can
        else:
            loss = scale * scale
    check_overflow(inputs, diff.dtype, "the mean squared error", diff, dpred, loss)
    return float(loss), dpred


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
        For logits that are not numbers (bools included: an ``ArgumentTypeError``), NaN or
        ``+inf`` (no softmax: ``+inf`` against another ``+inf`` is undefined), a slice along
        ``axis`` that is empty or all ``-inf``, or an ``axis`` out of range.
    """
    z = _check_logits(logits, axis)
    with np.errstate(over="ignore"):  # a gap beyond the dtype's range: -inf, probability 0
        z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def check_class_targets(targets, logits: np.ndarray, name: str = "targets") -> np.ndarray:
    """``targets`` as an integer array of class indices for ``logits (..., V)``."""
    V = logits.shape[-1]
    arr = as_int_array(targets, name, "integer class indices")
    if arr.shape != logits.shape[:-1]:
        raise ValueError(
            f"{name} must have shape {logits.shape[:-1]} (logits without V), got {arr.shape}"
        )
    check_index_range(arr, name, V)
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
        For logits as :func:`softmax` refuses them, no rows, targets of the wrong shape,
        dtype or range, a target whose logit is ``-inf`` (probability 0: an infinite loss),
        or logits so far apart that the loss overflows the dtype.
    """
    logits = as_float_array(logits, "logits")
    if logits.ndim == 0:
        raise ValueError(f"logits must have shape (..., V), got {logits.shape}")
    logits = _check_logits(logits, -1)
    targets = check_class_targets(targets, logits)
    if targets.size == 0:
        raise ValueError(f"logits must hold at least one row of V scores, got {logits.shape}")
    return cross_entropy(logits, targets, {"logits": logits})


def cross_entropy(logits: np.ndarray, targets: np.ndarray, inputs: dict):
    """:func:`softmax_cross_entropy` of checked logits and targets.

    ``inputs`` names the caller's arguments for the message if the loss overflows.
    """
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    t = targets.reshape(-1)
    rows = np.arange(t.size)
    picked = z[rows, t]
    if np.isneginf(picked).any():
        where = np.unravel_index(int(np.flatnonzero(np.isneginf(picked))[0]), targets.shape)
        where = tuple(int(k) for k in where)
        raise ValueError(
            "targets must pick classes of non-zero probability, got class "
            f"{int(targets[where])} at index {where}, whose logit is -inf (an infinite loss)"
        )
    top = z.max(axis=1, keepdims=True)
    with np.errstate(over="ignore"):  # a gap beyond the dtype's range: -inf, probability 0
        z = z - top
    log_norm = np.log(np.exp(z).sum(axis=1))
    # the loss log_norm - (picked - top), halved so that the gap never overflows, and
    # averaged term by term so that the sum cannot overflow either
    half = (log_norm / 2 - (picked / 2 - top[:, 0] / 2)) / t.size
    with np.errstate(over="ignore"):
        loss = np.sum(half) * 2
    check_overflow(inputs, logits.dtype, "the cross-entropy", loss)
    d = np.exp(z - log_norm[:, None])
    d[rows, t] -= 1.0
    d /= t.size
    return float(loss), d.reshape(logits.shape)
