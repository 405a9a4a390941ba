"""The course's data sets, all generated or shipped locally: nothing is downloaded."""

from __future__ import annotations

import ast
import codecs
import csv
import importlib.util
from pathlib import Path

import numpy as np

from ._checks import (
    ArgumentTypeError,
    allocating,
    as_float_array,
    as_int_array,
    as_rng,
    check_dtype,
    check_index_range,
    check_overflow,
    choice,
    describe,
    finite_number,
    integer,
    number_array,
    positive_int,
)

#: The two companies of the hand-worked example: prices on days 1-4 (inputs) and day 5
#: (target). They differ only on day 1, and the day-5 price repeats day 1.
COMPANIES = {
    "A": ([0.0, 0.5, 0.25, 1.0], 0.0),
    "B": ([1.0, 0.5, 0.25, 1.0], 1.0),
}


def two_companies(dtype=np.float64):
    """The two companies' series as a batch.

    Parameters
    ----------
    dtype : float32 or float64

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
    rng : numpy.random.Generator or int or None
    length : int, optional
        ``T``; defaults to ``lag + 1`` (the marker comes first).
    dtype : float32 or float64

    Returns
    -------
    x : array (n, T, 2)
    y : array (n, 1)

    Raises
    ------
    ValueError
        For sizes that are not integers in range (``length > lag``) or so large that the
        sequences do not fit in memory, or an ``rng`` or ``dtype`` of the wrong kind (an
        ``ArgumentTypeError``, also a ``ValueError``).
    """
    n = positive_int(n, "n")
    lag = integer(lag, "lag", 0)
    T = lag + 1 if length is None else positive_int(length, "length")
    if T <= lag:
        raise ValueError(f"length must exceed lag ({lag}), got {T}")
    rng = as_rng(rng)
    dtype = check_dtype(dtype)
    sizes = {"n": n, "lag": lag} if length is None else {"n": n, "length": T}
    with allocating(sizes, (2 * T + 1) * n * dtype.itemsize, "the sequences"):
        x = np.zeros((n, T, 2), dtype)
        x[:, :, 0] = rng.uniform(-1.0, 1.0, (n, T))
        x[:, T - 1 - lag, 1] = 1.0
        return x, x[:, T - 1 - lag, 0:1].copy()


def adding_problem(n: int, length: int, rng=None, dtype=np.float64):
    """The adding problem, in the simple form of later benchmarks.

    Channel 0 holds values uniform in [0, 1]; channel 1 marks one step in the first half
    and one in the second. The target is the sum of the two marked values. (The original
    task, experiment 4 of Hochreiter and Schmidhuber (1997), differs: values in [-1, 1],
    the first mark among the first ten steps and the second among the first ``T/2 - 1``,
    a length drawn between ``T`` and ``T + T/10``, and the target ``0.5 + (X1 + X2) / 4``.)

    Parameters
    ----------
    n : int
        Number of sequences.
    length : int
        ``T``, at least 2.
    rng : numpy.random.Generator or int or None
    dtype : float32 or float64

    Returns
    -------
    x : array (n, length, 2)
    y : array (n, 1)

    Raises
    ------
    ValueError
        For ``n < 1``, ``length < 2`` or non-integers, sizes so large that the sequences do
        not fit in memory, or an ``rng`` or ``dtype`` of the wrong kind (an
        ``ArgumentTypeError``, also a ``ValueError``).
    """
    n, T = positive_int(n, "n"), integer(length, "length", 2)
    rng = as_rng(rng)
    dtype = check_dtype(dtype)
    with allocating({"n": n, "length": T}, (2 * T + 1) * n * dtype.itemsize, "the sequences"):
        x = np.zeros((n, T, 2), dtype)
        x[:, :, 0] = rng.uniform(0.0, 1.0, (n, T))
        rows = np.arange(n)
        first = rng.integers(0, T // 2, n)
        second = rng.integers(T // 2, T, n)
        x[rows, first, 1] = x[rows, second, 1] = 1.0
        return x, (x[rows, first, 0] + x[rows, second, 0])[:, None]


def noisy_sine(n_steps: int, period: float = 20.0, noise: float = 0.1, rng=None, dtype=np.float64):
    """A periodic series ``sin(2 pi t / period) + 0.5 sin(4 pi t / period)`` plus Gaussian noise.

    Parameters
    ----------
    n_steps : int
        Length of the series.
    period : float
        Steps per period, > 0.
    noise : float
        Standard deviation of the noise, >= 0.
    rng : numpy.random.Generator or int or None
    dtype : float32 or float64

    Returns
    -------
    array (n_steps,)

    Raises
    ------
    ValueError
        For ``n_steps`` not a positive integer (or so large that the series does not fit in
        memory), ``period`` not a finite number > 0 (and large
        enough for the phase ``4 pi t / period`` to stay finite), ``noise`` not a finite
        number >= 0 (and small enough for the series to stay finite in ``dtype``), or an
        ``rng`` or ``dtype`` of the wrong kind.
    """
    n_steps = positive_int(n_steps, "n_steps")
    finite_number(period, "period", low=0, low_open=True)
    finite_number(noise, "noise", low=0)
    with np.errstate(over="ignore"):
        largest_phase = 4 * np.pi * (n_steps - 1) / period
    if not np.isfinite(largest_phase):
        raise ValueError(
            f"period must be large enough for the phase 4 pi t / period to stay finite up to "
            f"t = n_steps - 1 = {n_steps - 1}, got {period!r}"
        )
    rng = as_rng(rng)
    dtype = check_dtype(dtype)
    with allocating({"n_steps": n_steps}, n_steps * dtype.itemsize, "the series"):
        t = np.arange(n_steps)
        clean = np.sin(2 * np.pi * t / period) + 0.5 * np.sin(4 * np.pi * t / period)
        with np.errstate(over="ignore", invalid="ignore"):
            series = (clean + noise * rng.standard_normal(n_steps)).astype(dtype)
    check_overflow({"noise": noise}, dtype, "the series", series)
    return series


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

    Raises
    ------
    ValueError
        If ``series`` is not a 1-D array of numbers (bools are not) longer than ``window``,
        ``window`` not a positive integer, or the windows too many to fit in memory.
    """
    series = number_array(series, "series")  # the series keeps its own dtype: no copy
    window = positive_int(window, "window")
    if series.ndim != 1 or series.size <= window:
        raise ValueError(
            f"series must have shape (S,) with S > window={window}, got {series.shape}"
        )
    S = series.size
    sizes = {"series": f"of shape {series.shape}", "window": window}
    with allocating(sizes, (S - window) * window * series.itemsize, "the windows"):
        x = np.lib.stride_tricks.sliding_window_view(series, window)[: S - window].copy()
    return x[:, :, None], series[window:, None]


def series_span(part, window: int) -> slice:
    """The stretch of the series that a part of its :func:`windows` reads: inputs and targets.

    Window ``i`` reads ``series[i : i + window]`` and predicts ``series[i + window]``, so the
    windows ``part`` (e.g. the training slice of :func:`chronological_split`) read
    ``series[part.start : part.stop + window]``. Statistics for standardising the inputs are
    taken from this stretch of the training part only: a later part's targets lie outside it.

    Parameters
    ----------
    part : slice
        Contiguous window indices, ``slice(start, stop)`` with ``0 <= start < stop`` (a
        start of None is 0).
    window : int
        The window length given to :func:`windows`.

    Returns
    -------
    slice
        ``slice(part.start, part.stop + window)``, to index the series with.

    Raises
    ------
    ValueError
        If ``part`` is not a non-empty slice of integers from 0 up with step 1
        (:class:`ArgumentTypeError` if it is not a slice), or ``window`` not a positive integer.
    """
    window = positive_int(window, "window")
    expect = "a slice(start, stop) of window indices with 0 <= start < stop and step 1"
    if not isinstance(part, slice):
        raise ArgumentTypeError(f"part must be {expect}, got {describe(part)}")
    start, stop, step = 0 if part.start is None else part.start, part.stop, part.step
    ints = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, stop))
    if not ints or step not in (None, 1) or not 0 <= start < stop:
        raise ValueError(f"part must be {expect}, got {part!r}")
    return slice(int(start), int(stop) + window)


def char_corpus() -> str:
    """The Zen of Python, which ships with every Python as the ``this`` module.

    It is stored ROT13-encoded and printed on import, so the text is read from the
    module's source instead of importing it.

    Returns
    -------
    str
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
    finite_number(held_out, "held_out", low=0, high=0.5, low_open=True)
    from pydoc_data.topics import topics  # standard library, plain data; imported when needed

    pages = list(topics.values())
    ends = np.cumsum([len(p) for p in pages])
    last = np.searchsorted(ends, (1 - held_out) * ends[-1], side="right") - 1
    last = min(last, len(pages) - 2)  # a held_out too small to round to a character: one page
    cut = int(ends[last]) if last >= 0 else 0
    text = "".join(pages)
    return text[:cut], text[cut:]


def encode_text(text: str, vocab: str | None = None):
    """Characters to integer ids.

    Parameters
    ----------
    text : str
    vocab : str, optional
        The alphabet (``V`` characters); the sorted characters of ``text`` if omitted.

    Returns
    -------
    ids : int array (len(text),)
    vocab : str
        The sorted alphabet; ``vocab[ids[k]] == text[k]``.

    Raises
    ------
    ValueError
        If ``text`` or ``vocab`` is not a str (an ``ArgumentTypeError``), ``vocab`` repeats a
        character, or ``text`` has characters that ``vocab`` lacks.
    """
    if not isinstance(text, str):
        raise ArgumentTypeError(f"text must be a str, got {describe(text)}")
    if vocab is not None and not isinstance(vocab, str):
        raise ArgumentTypeError(f"vocab must be a str or None, got {describe(vocab)}")
    if vocab is not None and len(set(vocab)) != len(vocab):
        repeated = sorted({ch for ch in vocab if vocab.count(ch) > 1})
        raise ValueError(
            f"vocab must be a str of distinct characters, got {describe(vocab)}, which "
            f"repeats {repeated[:10]}"
        )
    vocab = "".join(sorted(set(text))) if vocab is None else vocab
    index = {ch: k for k, ch in enumerate(vocab)}
    missing = sorted(set(text) - set(index))
    if missing:
        raise ValueError(f"text must use only the characters of vocab, got {missing[:10]}")
    return np.array([index[ch] for ch in text], dtype=np.int64), vocab


def one_hot(ids, size: int, dtype=np.float64):
    """One-hot rows: ``ids (...)`` to ``(..., size)``.

    Parameters
    ----------
    ids : int array (...)
        Integers in ``[0, size)``, any shape.
    size : int
        ``V``, the length of each row.
    dtype : float32 or float64

    Returns
    -------
    array (..., size)

    Raises
    ------
    ValueError
        If ``size`` is not a positive integer, ``ids`` not integers in ``[0, size)``,
        ``dtype`` not float32 or float64, or the rows too large to fit in memory.
    """
    size = positive_int(size, "size")
    dtype = check_dtype(dtype)
    ids = as_int_array(ids, "ids", f"integers in [0, {size})")
    check_index_range(ids, "ids", size, f"be integers in [0, {size})")
    return _one_hot(ids, size, dtype, {"ids": f"of shape {ids.shape}", "size": size})


def _one_hot(ids: np.ndarray, size: int, dtype, sizes: dict) -> np.ndarray:
    """:func:`one_hot` of checked ids; ``sizes`` names the caller's arguments if the rows
    do not fit in memory."""
    with allocating(sizes, ids.size * size * dtype.itemsize, "the one-hot rows"):
        out = np.zeros((*ids.shape, size), dtype)
    np.put_along_axis(out, ids[..., None], 1, axis=-1)
    return out


def char_batches(ids, seq_len: int, vocab_size: int, dtype=np.float64):
    """Non-overlapping training windows for a character model.

    Parameters
    ----------
    ids : int array (S,)
        Character ids in ``[0, vocab_size)``; ``N = (S - 1) // seq_len``.
    seq_len : int
        ``T``, the length of each window.
    vocab_size : int
        ``V``.
    dtype : float32 or float64

    Returns
    -------
    x : array (N, seq_len, V)
        One-hot characters.
    y : int array (N, seq_len)
        The next character at every position.

    Raises
    ------
    ValueError
        If ``ids`` is not a 1-D integer array of more than ``seq_len`` ids, all of them in
        ``[0, vocab_size)`` (the targets as well as the inputs), a size is not a positive
        integer, or the one-hot windows are too large to fit in memory.
    """
    ids = as_int_array(ids, "ids", "integer character ids")
    seq_len = positive_int(seq_len, "seq_len")
    vocab_size = positive_int(vocab_size, "vocab_size")
    if ids.ndim != 1:
        raise ValueError(f"ids must be a 1-D array of character ids, got shape {ids.shape}")
    N = (ids.size - 1) // seq_len
    if N < 1:
        raise ValueError(f"ids must hold more than seq_len={seq_len} ids, got {ids.size}")
    dtype = check_dtype(dtype)
    check_index_range(ids, "ids", vocab_size, f"be integers in [0, {vocab_size})")
    inputs = ids[: N * seq_len].reshape(N, seq_len)
    targets = ids[1 : N * seq_len + 1].reshape(N, seq_len)
    sizes = {"ids": f"of shape {ids.shape}", "vocab_size": vocab_size}
    return _one_hot(inputs, vocab_size, dtype, sizes), targets.copy()


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
    if (
        not isinstance(chosen, tuple)
        or not chosen
        or not all(isinstance(t, str) and t in header for t in chosen)
    ):
        raise ValueError(
            f"tickers must be a non-empty sequence drawn from {header}, got {describe(tickers)}"
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
    choice(field, "field", GOOG_FIELDS)
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

    Raises
    ------
    ValueError
        If ``prices`` is not an array of numbers (an ``ArgumentTypeError``), has fewer than
        2 values along the last axis, or holds a price that is 0, negative or infinite.
    """
    prices = as_float_array(prices, "prices", np.float64)
    if prices.ndim < 1 or prices.shape[-1] < 2:
        raise ValueError(
            f"prices must have at least 2 values along the last axis, got {prices.shape}"
        )
    bad = (prices <= 0) | (prices == np.inf)  # NaN compares False, so it passes through
    if np.any(bad):
        where = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ValueError(
            f"prices must be positive and finite (NaN for a missing price), "
            f"got {float(prices[where])!r} at index {where}"
        )
    return np.diff(np.log(prices), axis=-1)


def chronological_split(n: int, val_fraction: float = 0.15, test_fraction: float = 0.15):
    """Cut ``range(n)`` into contiguous train, validation and test slices, in time order.

    Nothing is shuffled: every validation index comes after every training index and every
    test index after every validation index, so a model is always judged on a later period
    than the one it learned from.

    Parameters
    ----------
    n : int
        Number of time-ordered samples.
    val_fraction, test_fraction : float
        Shares of ``n`` for validation and test, in (0, 1), rounded to whole samples.

    Returns
    -------
    train, val, test : slice
    """
    n = positive_int(n, "n")
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        finite_number(frac, name, low=0, high=1, low_open=True, high_open=True)
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)
    n_train = n - n_val - n_test
    if min(n_train, n_val, n_test) < 1:
        raise ValueError(
            f"n={n} with val_fraction={val_fraction} and test_fraction={test_fraction} "
            "leaves a part empty"
        )
    return slice(0, n_train), slice(n_train, n_train + n_val), slice(n_train + n_val, n)
