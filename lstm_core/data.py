"""The course's data sets, all generated or shipped locally: nothing is downloaded."""

from __future__ import annotations

import ast
import codecs
import csv
import importlib.util
from pathlib import Path

import numpy as np

from ._checks import check_dtype
from .params import _positive_int

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
    n = _positive_int(n, "n")
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0:
        raise ValueError(f"lag must be a non-negative integer, got {lag!r}")
    T = lag + 1 if length is None else _positive_int(length, "length")
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
    n, T = _positive_int(n, "n"), _positive_int(length, "length")
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
    n_steps = _positive_int(n_steps, "n_steps")
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
    window = _positive_int(window, "window")
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


def python_docs_corpus(held_out: float = 0.1):
    """Python's own reference documentation as a character corpus, split into two contiguous parts.

    The text is ``pydoc_data.topics.topics``, the pages that ``help("if")`` and friends show,
    which ships with every CPython (about 465,000 characters in Python 3.11; the exact text
    depends on the Python version). The topics are joined in their stored (alphabetical)
    order and the split falls on a topic boundary: the last topics, together at least
    ``held_out`` of the characters, are held out, so no held-out page was seen, even in part,
    in training.

    Parameters
    ----------
    held_out : float
        Fraction of characters to hold out at least, in (0, 0.5]; the split takes the last
        topic boundary at or before ``1 - held_out`` of the text.

    Returns
    -------
    train, held : str
        ``train + held`` is the whole corpus; ``held`` starts at the beginning of a topic.
    """
    if isinstance(held_out, bool) or not isinstance(held_out, (float, int)):
        raise ValueError(f"held_out must be a number in (0, 0.5], got {held_out!r}")
    if not 0 < held_out <= 0.5:
        raise ValueError(f"held_out must be a number in (0, 0.5], got {held_out!r}")
    from pydoc_data.topics import topics  # standard library, plain data; imported when needed

    pages = list(topics.values())
    ends = np.cumsum([len(p) for p in pages])
    last = np.searchsorted(ends, (1 - held_out) * ends[-1], side="right") - 1
    cut = int(ends[last]) if last >= 0 else 0
    text = "".join(pages)
    return text[:cut], text[cut:]


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
    seq_len = _positive_int(seq_len, "seq_len")
    N = (ids.size - 1) // seq_len
    if N < 1:
        raise ValueError(f"need more than seq_len={seq_len} characters, got {ids.size}")
    inputs = ids[: N * seq_len].reshape(N, seq_len)
    targets = ids[1 : N * seq_len + 1].reshape(N, seq_len)
    return one_hot(inputs, vocab_size, dtype), targets


#: The columns of :func:`goog_daily`'s source, in its order.
GOOG_FIELDS = ("open", "high", "low", "close", "volume", "adj_close")


def _sample_data(name: str) -> Path:
    """Path of a file in matplotlib's ``mpl-data/sample_data``, found without importing it."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            f"the share prices come from the sample data shipped with matplotlib ({name}); "
            "install matplotlib (pip install matplotlib) to use them"
        )
    path = Path(spec.origin).parent / "mpl-data" / "sample_data" / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: this matplotlib was installed without its sample data"
        )
    return path


def stock_prices(tickers=None):
    """Monthly share prices and indices, 1990 to 2022, from matplotlib's ``Stocks.csv``.

    Yahoo Finance's monthly adjusted closing prices (in dollars, or index points for ``^GSPC``,
    the S&P 500, and ``^IXIC``, the Nasdaq Composite), one row per month dated the first of the
    month. A company's column is NaN before it was listed. The file's other rows are dropped:
    those it leaves empty for every ticker, and a second June 2022 row dated the 28th.

    Parameters
    ----------
    tickers : sequence of str, optional
        Columns to return, in this order; all ten (``IBM, AAPL, MSFT, XRX, AMZN, DELL, GOOGL,
        ADBE, ^GSPC, ^IXIC``) by default.

    Returns
    -------
    dates : datetime64[D] array (M,)
        Increasing.
    prices : float64 array (M, K)
    tickers : tuple of str (K,)
    """
    with open(_sample_data("Stocks.csv"), newline="") as f:
        rows = list(csv.reader(line for line in f if not line.startswith("#")))
    header, rows = rows[0][1:], [r for r in rows[1:] if r[0].endswith("-01") and any(r[1:])]
    chosen = tuple(header) if tickers is None else tickers
    if not isinstance(chosen, str) and hasattr(chosen, "__iter__"):
        chosen = tuple(chosen)  # a generator is read once, here
    if not isinstance(chosen, tuple) or not chosen or not all(t in header for t in chosen):
        raise ValueError(
            f"tickers must be a non-empty sequence drawn from {header}, got {tickers!r}"
        )
    tickers = chosen
    cols = [header.index(t) + 1 for t in tickers]
    dates = np.array([r[0] for r in rows], dtype="datetime64[D]")
    prices = np.array([[float(r[c]) if r[c] else np.nan for c in cols] for r in rows])
    order = np.argsort(dates, kind="stable")
    return dates[order], prices[order], tuple(tickers)


def goog_daily(field: str = "adj_close"):
    """Daily prices of Google's shares, 19 August 2004 (its listing) to 14 October 2008.

    From matplotlib's ``goog.npz`` (one row per trading day).

    Parameters
    ----------
    field : {"open", "high", "low", "close", "volume", "adj_close"}

    Returns
    -------
    dates : datetime64[D] array (S,)
    values : float64 array (S,)
        Dollars per share (``volume``: shares traded, as floats).
    """
    if field not in GOOG_FIELDS:
        raise ValueError(f"field must be one of {GOOG_FIELDS}, got {field!r}")
    with np.load(_sample_data("goog.npz")) as npz:
        data = npz["price_data"]
    return data["date"].astype("datetime64[D]"), data[field].astype(np.float64)


def log_returns(prices):
    """Log returns ``log(p[t+1] / p[t])`` along the last axis.

    Parameters
    ----------
    prices : array (..., S)
        Positive prices (NaN allowed: it propagates).

    Returns
    -------
    array (..., S - 1)
    """
    prices = np.asarray(prices, dtype=np.float64)
    if prices.ndim < 1 or prices.shape[-1] < 2:
        raise ValueError(
            f"prices must have at least 2 values along the last axis, got {prices.shape}"
        )
    if np.any(prices <= 0):  # NaN compares False, so it passes through
        raise ValueError("prices must be positive")
    return np.diff(np.log(prices), axis=-1)


def chronological_split(n: int, val_fraction: float = 0.15, test_fraction: float = 0.15):
    """Cut ``range(n)`` into contiguous train, validation and test slices, in time order.

    Nothing is shuffled: every validation index comes after every training index and every
    test index after every validation index, so a model is always judged on a later period
    than the one it learned from.

    Returns
    -------
    train, val, test : slice
    """
    n = _positive_int(n, "n")
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
            raise ValueError(f"{name} must be a number in (0, 1), got {frac!r}")
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)
    n_train = n - n_val - n_test
    if min(n_train, n_val, n_test) < 1:
        raise ValueError(
            f"n={n} with val_fraction={val_fraction} and test_fraction={test_fraction} "
            "leaves a part empty"
        )
    return slice(0, n_train), slice(n_train, n_train + n_val), slice(n_train + n_val, n)
