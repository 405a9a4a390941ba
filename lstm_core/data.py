"""The course's data sets, all generated or shipped locally: nothing is downloaded."""

from __future__ import annotations

import ast
import codecs
import importlib.util

import numpy as np

from ._checks import check_dtype, positive_int

#: The two companies of the hand-worked example: prices on days 1-4 (inputs) and day 5
#: (target). They differ only on day 1, and the day-5 price repeats day 1.
COMPANIES = {
    "A": ([0.0, 0.5, 0.25, 1.0], 0.0),
    "B": ([1.0, 0.5, 0.25, 1.0], 1.0),
}


def two_companies(dtype=np.float64):
    """The two companies' series as a batch.

    Returns
    -------
    x : array (2, 4, 1)
        Days 1-4 of company A (row 0) and B (row 1).
    y : array (2, 1)
        Their day-5 prices, 0 and 1.
    """
    dtype = check_dtype(dtype)
    x = np.array([COMPANIES[k][0] for k in "AB"], dtype)[:, :, None]
    y = np.array([[COMPANIES[k][1]] for k in "AB"], dtype)
    return x, y


def memory_task(n: int, lag: int, rng=None, length: int | None = None, dtype=np.float64):
    """Recall the value marked ``lag`` steps before the end of a noisy sequence.

    Channel 0 carries uniform noise in [-1, 1] at every step; channel 1 is a marker that is
    1 at step ``T - 1 - lag`` and 0 elsewhere. The target is channel 0 at the marked step,
    so a model must carry one number across ``lag`` steps of distracting input. Predicting
    0 (knowing nothing) gives a mean squared error of 1/3.

    Parameters
    ----------
    n : int
        Number of sequences.
    lag : int
        Steps between the marked value and the end (0 means the last step).
    length : int, optional
        ``T``; defaults to ``lag + 1`` (the marker comes first).

    Returns
    -------
    x : array (n, T, 2)
    y : array (n, 1)
    """
    n = positive_int(n, "n")
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0:
        raise ValueError(f"lag must be a non-negative integer, got {lag!r}")
    T = lag + 1 if length is None else positive_int(length, "length")
    if T <= lag:
        raise ValueError(f"length must exceed lag ({lag}), got {T}")
    rng = np.random.default_rng(rng)
    dtype = check_dtype(dtype)
    x = np.zeros((n, T, 2), dtype)
    x[:, :, 0] = rng.uniform(-1.0, 1.0, (n, T))
    x[:, T - 1 - lag, 1] = 1.0
    return x, x[:, T - 1 - lag, 0:1].copy()


def adding_problem(n: int, length: int, rng=None, dtype=np.float64):
    """Hochreiter and Schmidhuber's adding problem.

    Channel 0 holds values uniform in [0, 1]; channel 1 marks one step in the first half
    and one in the second. The target is the sum of the two marked values.

    Returns
    -------
    x : array (n, length, 2)
    y : array (n, 1)
    """
    n, T = positive_int(n, "n"), positive_int(length, "length")
    if T < 2:
        raise ValueError(f"length must be at least 2, got {T}")
    rng = np.random.default_rng(rng)
    dtype = check_dtype(dtype)
    x = np.zeros((n, T, 2), dtype)
    x[:, :, 0] = rng.uniform(0.0, 1.0, (n, T))
    rows = np.arange(n)
    first = rng.integers(0, T // 2, n)
    second = rng.integers(T // 2, T, n)
    x[rows, first, 1] = x[rows, second, 1] = 1.0
    return x, (x[rows, first, 0] + x[rows, second, 0])[:, None]


def noisy_sine(n_steps: int, period: float = 20.0, noise: float = 0.1, rng=None, dtype=np.float64):
    """A periodic series ``sin(2 pi t / period) + 0.5 sin(4 pi t / period)`` plus Gaussian noise.

    Returns
    -------
    array (n_steps,)
    """
    n_steps = positive_int(n_steps, "n_steps")
    rng = np.random.default_rng(rng)
    t = np.arange(n_steps)
    clean = np.sin(2 * np.pi * t / period) + 0.5 * np.sin(4 * np.pi * t / period)
    return (clean + noise * rng.standard_normal(n_steps)).astype(check_dtype(dtype))


def windows(series, window: int):
    """Cut a series into (window, next value) pairs for one-step-ahead forecasting.

    Parameters
    ----------
    series : array (S,)
    window : int

    Returns
    -------
    x : array (S - window, window, 1)
    y : array (S - window, 1)
    """
    series = np.asarray(series)
    window = positive_int(window, "window")
    if series.ndim != 1 or series.size <= window:
        raise ValueError(
            f"series must have shape (S,) with S > window={window}, got {series.shape}"
        )
    idx = np.arange(window)[None, :] + np.arange(series.size - window)[:, None]
    return series[idx][:, :, None], series[window:, None]


def char_corpus() -> str:
    """The Zen of Python, which ships with every Python as the ``this`` module.

    It is stored ROT13-encoded and printed on import, so the text is read from the
    module's source instead of importing it.
    """
    spec = importlib.util.find_spec("this")
    source = spec.loader.get_source("this")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "s":
            return codecs.decode(ast.literal_eval(node.value), "rot13")
    raise RuntimeError("the 'this' module no longer holds the Zen of Python in 's'")


def encode_text(text: str, vocab: str | None = None):
    """Characters to integer ids.

    Returns
    -------
    ids : int array (len(text),)
    vocab : str
        The sorted alphabet; ``vocab[ids[k]] == text[k]``.
    """
    vocab = "".join(sorted(set(text))) if vocab is None else vocab
    index = {ch: k for k, ch in enumerate(vocab)}
    missing = sorted(set(text) - set(index))
    if missing:
        raise ValueError(f"text has characters not in vocab: {missing[:10]}")
    return np.array([index[ch] for ch in text], dtype=np.int64), vocab


def one_hot(ids, size: int, dtype=np.float64):
    """One-hot rows: ``ids (...)`` to ``(..., size)``."""
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu" or (ids.size and (ids.min() < 0 or ids.max() >= size)):
        raise ValueError(f"ids must be integers in [0, {size})")
    return np.eye(size, dtype=check_dtype(dtype))[ids]


def char_batches(ids, seq_len: int, vocab_size: int, dtype=np.float64):
    """Non-overlapping training windows for a character model.

    Returns
    -------
    x : array (N, seq_len, V)
        One-hot characters.
    y : int array (N, seq_len)
        The next character at every position.
    """
    ids = np.asarray(ids)
    seq_len = positive_int(seq_len, "seq_len")
    N = (ids.size - 1) // seq_len
    if N < 1:
        raise ValueError(f"need more than seq_len={seq_len} characters, got {ids.size}")
    inputs = ids[: N * seq_len].reshape(N, seq_len)
    targets = ids[1 : N * seq_len + 1].reshape(N, seq_len)
    return one_hot(inputs, vocab_size, dtype), targets
