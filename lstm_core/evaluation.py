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

from ._checks import (
    ArgumentTypeError,
    allocating,
    as_float_array,
    as_int_array,
    check_finite,
    check_index_range,
    check_overflow,
    check_shape,
    describe,
    integer,
    is_integer,
    positive_int,
)
from .data import one_hot
from .model import check_model, model_forward


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

    Raises
    ------
    ValueError
        If ``series`` is not a finite 1-D array of at least 2 numbers, ``max_lag`` not an
        integer in ``[1, S - 1]`` (an ``ArgumentTypeError`` if not an integer at all), or the
        series is constant.
    """
    x = as_float_array(series, "series", np.float64)
    check_shape(x, "series", (None,), "(S,)")
    if x.size < 2:
        raise ValueError(f"series must hold at least 2 values (S >= 2), got shape {x.shape}")
    check_finite(x, "series")
    if not is_integer(max_lag):
        raise ArgumentTypeError(
            f"max_lag must be an integer in [1, S - 1], got {describe(max_lag)}"
        )
    if not 1 <= max_lag < x.size:
        raise ValueError(f"max_lag must be in [1, S - 1 = {x.size - 1}], got {max_lag}")
    # scaled by a power of two (exact): no sum or product overflows, and r is unchanged
    x = np.ldexp(x, -int(np.frexp(np.max(np.abs(x)))[1]))
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

    Raises
    ------
    ValueError
        If ``x`` or ``y`` is not a finite array of the shape above, there are fewer than
        ``p + 1`` windows, or the values are so large that the fit overflows float64.
    """
    X = _design(x)
    N = X.shape[0]
    y = as_float_array(y, "y", np.float64)
    if y.shape not in ((N,), (N, 1)):
        raise ValueError(
            f"y must hold one target per window, shape ({N},) or ({N}, 1), got {y.shape}"
        )
    y = y.reshape(-1)
    check_finite(y, "y")
    if N < X.shape[1]:
        raise ValueError(
            f"x must hold at least p + 1 = {X.shape[1]} windows (one per weight), got {N}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.linalg.lstsq(X, y, rcond=None)[0]
    check_overflow({"x": X, "y": y}, np.float64, "the fitted weights", w)
    return w


def predict_autoregression(w, x) -> np.ndarray:
    """Forecasts ``(N, 1)`` of the autoregression ``w`` from :func:`fit_autoregression`.

    Parameters
    ----------
    w : array (p + 1,)
        Intercept first, then the weights.
    x : array (N, p, 1) or (N, p)
        Windows, as for :func:`fit_autoregression`.

    Returns
    -------
    array (N, 1)

    Raises
    ------
    ValueError
        If ``w`` or ``x`` is not a finite array of the shape above, or the forecasts
        overflow float64.
    """
    X = _design(x)
    w = as_float_array(w, "w", np.float64)
    check_shape(w, "w", (X.shape[1],), "(p + 1,)")
    check_finite(w, "w")
    with np.errstate(over="ignore", invalid="ignore"):
        pred = (X @ w)[:, None]
    check_overflow({"w": w, "x": X}, np.float64, "the forecasts", pred)
    return pred


def _design(x) -> np.ndarray:
    x = as_float_array(x, "x", np.float64)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"x must have shape (N, p, 1) or (N, p), got {x.shape}")
    check_finite(x, "x")
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

    Raises
    ------
    ValueError
        If ``ids`` is not a non-empty 1-D array of integers in ``[0, vocab_size)``,
        ``vocab_size`` not a positive integer (or so large that the ``(V,)`` or ``(V, V)``
        counts do not fit in memory), ``order`` not the integer 1 or 2, or
        ``alpha`` not a finite number > 0 (NumPy scalars included) small enough for the
        smoothed counts to stay within float64.
    """
    vocab_size = positive_int(vocab_size, "vocab_size")
    ids = _check_ids(ids, vocab_size, "ids")
    expected = "1 (unigram) or 2 (bigram)"
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, (int, np.integer)):
        raise ArgumentTypeError(f"order must be {expected}, got {describe(order)}")
    if order not in (1, 2):
        raise ValueError(f"order must be {expected}, got {order!r}")
    number = isinstance(alpha, (int, float, np.integer, np.floating))
    if isinstance(alpha, (bool, np.bool_)) or not number:
        raise ArgumentTypeError(f"alpha must be a positive number, got {describe(alpha)}")
    if not (np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a positive number (finite), got {alpha!r}")
    with allocating({"vocab_size": vocab_size}, 8 * vocab_size ** int(order), "the counts"):
        if order == 1:
            counts = np.bincount(ids, minlength=vocab_size) + float(alpha)
        else:
            counts = np.zeros((vocab_size, vocab_size))
    if order == 2:
        np.add.at(counts, (ids[:-1], ids[1:]), 1.0)
        counts += float(alpha)
    with np.errstate(over="ignore"):
        totals = counts.sum(axis=-1, keepdims=True)
    check_overflow({"alpha": alpha}, np.float64, "the smoothed counts' total", totals)
    with np.errstate(under="ignore"):
        probs = counts / totals
    if probs.min() >= np.finfo(np.float64).tiny:
        return np.log(probs)
    # a tiny alpha: probabilities that underflow to 0, or to subnormals, which keep only a
    # few bits (1e-320 / 6 is off by 1e-3 of itself)
    return np.log(counts) - np.log(totals)


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

    Raises
    ------
    ValueError
        If ``log_probs`` is not an array of shape ``(V,)`` or ``(V, V)`` of numbers at most
        0 (``-inf`` allowed, NaN not), ``ids`` not a non-empty 1-D array of integers in
        ``[0, V)`` (of at least two for a bigram without ``previous``), ``previous`` (if
        given, for a unigram too) not an integer in ``[0, V)``, or a scored character has
        probability 0 (an infinite cross-entropy).
    """
    log_probs = as_float_array(log_probs, "log_probs", np.float64)
    V = log_probs.shape[0] if log_probs.ndim else 0
    if log_probs.ndim not in (1, 2) or log_probs.shape != (V,) * log_probs.ndim or V == 0:
        raise ValueError(f"log_probs must have shape (V,) or (V, V), got {log_probs.shape}")
    bad = np.isnan(log_probs) | (log_probs > 0)  # +inf too: no probability exceeds 1
    if bad.any():
        where = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ValueError(
            f"log_probs must be log-probabilities (finite and at most 0, or -inf for "
            f"probability 0), got {float(log_probs[where])!r} at index {where}"
        )
    ids = _check_ids(ids, V, "ids")
    if previous is not None:  # checked for a unigram too, which has no use for it
        previous = integer(previous, "previous", 0)
        check_index_range(np.array([previous]), "previous", V)
    if log_probs.ndim == 1:
        scored, first = log_probs[ids], 0  # ids[first + k] is the k-th scored character
    else:
        pairs = ids if previous is None else np.concatenate([[previous], ids])
        if pairs.size < 2:
            raise ValueError(
                "ids must hold at least one character to score after its context (give "
                f"previous, or two ids or more), got {ids.size}"
            )
        scored, first = log_probs[pairs[:-1], pairs[1:]], int(previous is None)
    if np.isneginf(scored).any():
        k = first + int(np.flatnonzero(np.isneginf(scored))[0])
        raise ValueError(
            f"ids must have non-zero probability under log_probs, got ids[{k}] = {ids[k]}, "
            "of log-probability -inf (an infinite cross-entropy)"
        )
    # halved (exactly) so that the sum cannot overflow, however large the log-probabilities
    return float(-(scored / 2).mean() * 2)


def _check_ids(ids, vocab_size, name) -> np.ndarray:
    vocab_size = positive_int(vocab_size, "vocab_size")
    ids = as_int_array(ids, name, "a non-empty 1-D integer array")
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D integer array, got {ids.dtype} {ids.shape}"
        )
    check_index_range(ids, name, vocab_size)
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

    Raises
    ------
    ValueError
        If ``params`` is not a model (as :func:`lstm_core.model_forward` checks it) with a
        read-out over the alphabet it reads (``Wx (V, G)``, ``Wy (H, V)``), ``ids`` or
        ``context`` not 1-D arrays of integers in ``[0, V)``, nothing is left to score
        (``ids`` of one character and no ``context``), ``window`` or ``batch`` not a
        positive integer, or ``warmup`` not an integer in ``[0, window)``.
    """
    _, D, _, O = check_model(params)
    if O is None:
        raise ValueError("params must have a read-out (Wy, by) over the alphabet, got none")
    if D != O:
        raise ValueError(
            f"params must read the alphabet it predicts, Wx (V, G) and Wy (H, V) with one V, "
            f"got Wx {params['Wx'].shape} and Wy {params['Wy'].shape}"
        )
    V = O
    ids = _check_ids(ids, V, "ids")
    ctx = np.zeros(0, np.int64) if context is None else _check_ids(context, V, "context")
    if ctx.size == 0 and ids.size < 2:
        raise ValueError(
            "ids must hold at least 2 characters without a context (the first one is not "
            f"scored), got {ids.size}"
        )
    window, batch = positive_int(window, "window"), positive_int(batch, "batch")
    if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)):
        raise ArgumentTypeError(f"warmup must be an integer in [0, window), got {warmup!r}")
    if not 0 <= warmup < window:
        raise ValueError(f"warmup must be in [0, window={window}), got {warmup}")
    # the last warmup characters of context, and at least the one that ids[0] follows
    ctx = ctx[len(ctx) - min(len(ctx), max(warmup, 1)) :]
    full = np.concatenate([ctx, ids])
    starts, targets, scored = _scored_windows(len(full), max(len(ctx), 1), window, warmup)
    total, count = 0.0, 0
    for lo in range(0, len(starts), batch):
        t = targets[lo : lo + batch]  # (B, window) target positions in full
        x = one_hot(full[t - 1], V, params["Wx"].dtype)  # input: the character before each
        logits, _ = model_forward(x, params, readout="all")  # (B, window, V)
        z = logits[scored[lo : lo + batch]].astype(np.float64)  # (scored, V)
        with np.errstate(over="ignore", invalid="ignore"):  # the total is checked
            z -= z.max(axis=1, keepdims=True)
            log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        total -= log_p[np.arange(len(z)), full[t[scored[lo : lo + batch]]]].sum()
        count += len(z)
    check_overflow({"params": params}, np.float64, "the cross-entropy", total)
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
