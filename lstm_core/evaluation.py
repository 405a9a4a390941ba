"""Scoring models on held-out data, next to the simple baselines they have to beat.

A result only means something next to a baseline. For a series, the naive forecast repeats
the last value (for log returns: predicts a return of 0) and a linear autoregression is
fitted by least squares; the autocorrelation says how much there is to predict at all. For
text, unigram and bigram character models are counted on the training text with
add-``alpha`` smoothing, and :func:`char_cross_entropy` scores a character LSTM on the same
held-out characters. Everything is computed exactly, in NumPy.

Import it as ``from lstm_core import evaluation``.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_shape
from .data import one_hot
from .model import model_forward


def autocorrelation(series, max_lag: int) -> np.ndarray:
    """Sample autocorrelation of a series at lags ``1 .. max_lag``.

    ``r_k = sum_t (x_t - m)(x_{t+k} - m) / sum_t (x_t - m)^2`` with ``m`` the mean, the usual
    estimator. For a series of independent values, each ``r_k`` lies within
    ``+-1.96 / sqrt(S)`` of 0 about 95 % of the time.

    Parameters
    ----------
    series : array (S,)
    max_lag : int
        Between 1 and ``S - 1``.

    Returns
    -------
    array (max_lag,)
    """
    x = as_float_array(series, "series", np.float64)
    check_shape(x, "series", (None,), "(S,)")
    if isinstance(max_lag, bool) or not isinstance(max_lag, (int, np.integer)):
        raise ValueError(f"max_lag must be an integer in [1, S - 1], got {max_lag!r}")
    if not 1 <= max_lag < x.size:
        raise ValueError(f"max_lag must be in [1, S - 1 = {x.size - 1}], got {max_lag}")
    x = x - x.mean()
    denom = float(x @ x)
    if denom == 0:
        raise ValueError("series is constant: its autocorrelation is undefined")
    return np.array([x[:-k] @ x[k:] / denom for k in range(1, max_lag + 1)])


def fit_autoregression(x, y) -> np.ndarray:
    """Least-squares linear forecast ``y ~ w_0 + sum_k w_k x[:, k]`` from windows of a series.

    Parameters
    ----------
    x : array (N, p, 1) or (N, p)
        Windows of the ``p`` most recent values (as :func:`lstm_core.windows` makes them).
    y : array (N, 1) or (N,)
        The value that follows each window.

    Returns
    -------
    w : array (p + 1,)
        Intercept first, then one weight per position in the window (oldest first).
    """
    X = _design(x)
    y = as_float_array(y, "y", np.float64).reshape(-1)
    if y.size != X.shape[0]:
        raise ValueError(f"y must hold one target per window ({X.shape[0]}), got {y.size}")
    if X.shape[0] < X.shape[1]:
        raise ValueError(f"need at least p + 1 = {X.shape[1]} windows, got {X.shape[0]}")
    return np.linalg.lstsq(X, y, rcond=None)[0]


def predict_autoregression(w, x) -> np.ndarray:
    """Forecasts ``(N, 1)`` of the autoregression ``w`` from :func:`fit_autoregression`."""
    X = _design(x)
    w = as_float_array(w, "w", np.float64)
    check_shape(w, "w", (X.shape[1],), "(p + 1,)")
    return (X @ w)[:, None]


def _design(x) -> np.ndarray:
    x = as_float_array(x, "x", np.float64)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"x must have shape (N, p, 1) or (N, p), got {x.shape}")
    return np.hstack([np.ones((x.shape[0], 1)), x])


def ngram_log_probs(ids, vocab_size: int, order: int, alpha: float = 1.0) -> np.ndarray:
    """Log-probabilities of a character unigram or bigram model counted on ``ids``.

    Add-``alpha`` smoothing: ``p(c) = (n_c + alpha) / (n + alpha V)`` for the unigram and
    ``p(c | b) = (n_bc + alpha) / (n_b + alpha V)`` for the bigram, with ``n_bc`` the number
    of times ``c`` follows ``b`` in ``ids`` and ``n_b`` the number of times ``b`` is followed
    by anything. ``alpha = 1`` is Laplace's rule; it gives unseen characters a small
    probability instead of zero.

    Parameters
    ----------
    ids : int array (S,)
        Training text as ids in ``[0, vocab_size)``.
    vocab_size : int
        ``V``.
    order : {1, 2}
    alpha : float
        Positive.

    Returns
    -------
    array (V,) for order 1, (V, V) for order 2 (row: previous character, column: next)
    """
    ids = _check_ids(ids, vocab_size, "ids")
    if order not in (1, 2):
        raise ValueError(f"order must be 1 (unigram) or 2 (bigram), got {order!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
        raise ValueError(f"alpha must be a positive number, got {alpha!r}")
    if order == 1:
        counts = np.bincount(ids, minlength=vocab_size) + float(alpha)
    else:
        counts = np.zeros((vocab_size, vocab_size))
        np.add.at(counts, (ids[:-1], ids[1:]), 1.0)
        counts += alpha
    return np.log(counts / counts.sum(axis=-1, keepdims=True))


def ngram_cross_entropy(log_probs, ids, previous: int | None = None) -> float:
    """Mean negative log-likelihood, in nats per character, of ``ids`` under an n-gram model.

    Parameters
    ----------
    log_probs : array (V,) or (V, V)
        From :func:`ngram_log_probs`.
    ids : int array (S,)
        The text to score, every character of it.
    previous : int, optional
        For a bigram: the character before ``ids[0]`` (e.g. the last one of the training
        text); without it the first character is not scored.

    Returns
    -------
    float
        ``exp`` of it is the perplexity.
    """
    log_probs = as_float_array(log_probs, "log_probs", np.float64)
    V = log_probs.shape[0] if log_probs.ndim else 0
    if log_probs.ndim not in (1, 2) or log_probs.shape != (V,) * log_probs.ndim:
        raise ValueError(f"log_probs must have shape (V,) or (V, V), got {log_probs.shape}")
    ids = _check_ids(ids, V, "ids")
    if log_probs.ndim == 1:
        return float(-log_probs[ids].mean())
    if previous is not None:
        ids = np.concatenate([_check_ids([previous], V, "previous"), ids])
    if ids.size < 2:
        raise ValueError("a bigram needs at least one character to score after its context")
    return float(-log_probs[ids[:-1], ids[1:]].mean())


def _check_ids(ids, vocab_size, name) -> np.ndarray:
    ids = np.asarray(ids)
    if (
        isinstance(vocab_size, bool)
        or not isinstance(vocab_size, (int, np.integer))
        or vocab_size < 1
    ):
        raise ValueError(f"vocab_size must be a positive integer, got {vocab_size!r}")
    if ids.ndim != 1 or ids.size == 0 or ids.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be a non-empty 1-D integer array, got {ids.dtype} {ids.shape}"
        )
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ValueError(f"{name} must lie in [0, {vocab_size}), got [{ids.min()}, {ids.max()}]")
    return ids


def char_cross_entropy(
    params, ids, context=None, window: int = 200, warmup: int = 50, batch: int = 64
) -> float:
    """Mean negative log-likelihood, in nats per character, of ``ids`` under a character LSTM.

    The model (from :func:`lstm_core.init_model` with a read-out over the alphabet) runs from
    a zero state over windows of ``window`` characters that overlap by ``warmup``, so every
    scored character is predicted after at least ``warmup`` characters of its past (fewer only
    at the very start, when ``context`` is shorter). Each character is scored exactly once, as
    the n-gram baselines score it.

    Parameters
    ----------
    params : dict
        Character LSTM with ``Wy (H, V)``.
    ids : int array (S,)
        The text to score.
    context : int array (C,), optional
        Characters that precede ``ids`` (e.g. the end of the training text): read, never
        scored. Without it, ``ids[0]`` is not scored.
    window, warmup : int
        ``0 <= warmup < window``.
    batch : int
        Windows per forward pass (bounds the memory used).

    Returns
    -------
    float
    """
    if "Wy" not in params:
        raise ValueError("params must have a read-out (Wy, by) over the alphabet")
    V = params["Wy"].shape[1]
    ids = _check_ids(ids, V, "ids")
    ctx = np.zeros(0, np.int64) if context is None else _check_ids(context, V, "context")
    for name, value in (("window", window), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)):
        raise ValueError(f"warmup must be an integer in [0, window), got {warmup!r}")
    if not 0 <= warmup < window:
        raise ValueError(f"warmup must be in [0, window={window}), got {warmup}")
    ctx = ctx[len(ctx) - min(len(ctx), warmup) :]
    full = np.concatenate([ctx, ids])
    starts, targets, scored = _scored_windows(len(full), max(len(ctx), 1), window, warmup)
    total, count = 0.0, 0
    for lo in range(0, len(starts), batch):
        t = targets[lo : lo + batch]  # (B, window) target positions in full
        x = one_hot(full[t - 1], V, params["Wx"].dtype)  # input: the character before each
        logits, _ = model_forward(x, params, readout="all")  # (B, window, V)
        z = logits[scored[lo : lo + batch]].astype(np.float64)  # (scored, V)
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        total -= log_p[np.arange(len(z)), full[t[scored[lo : lo + batch]]]].sum()
        count += len(z)
    return total / count


def _scored_windows(n: int, first: int, window: int, warmup: int):
    """Windows over positions ``0 .. n - 1`` that score every target in ``[first, n)`` once.

    Returns ``starts (K,)``, the target positions ``(K, window)`` of each window (clipped at
    ``n - 1`` past the end) and a boolean mask ``(K, window)`` of the ones it scores.
    """
    step = window - warmup
    starts = np.arange(0, max(n - 1 - warmup, 1), step)
    targets = starts[:, None] + 1 + np.arange(window)  # window s reads s .. s + window - 1
    low = np.where(starts == 0, first, starts + warmup + 1)[:, None]
    scored = (targets >= low) & (targets < n)
    return starts, np.minimum(targets, n - 1), scored
