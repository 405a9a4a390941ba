"""Real data shipped with installed packages (matplotlib's share prices, Python's own
documentation) and the baselines chapter 11 measures the LSTM against. Fast: no kernel, no book."""

import importlib.util
import math
import subprocess
import sys

import numpy as np
import pytest

import lstm_core as lc
from lstm_core import evaluation as ev

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
needs_mpl = pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib (the sample data) missing")


@pytest.mark.processes
def test_importing_lstm_core_does_not_import_matplotlib():
    code = "import sys, lstm_core; lstm_core.goog_daily(); print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- share prices


@needs_mpl
def test_goog_daily_dates_and_prices():
    dates, close = lc.goog_daily("close")
    _, adj = lc.goog_daily()
    # matplotlib's goog.npz: 1047 trading days from Google's listing day, 2004-08-19, to
    # 2008-10-14; its first close was $100.34 (numbers read from the file with numpy.load)
    assert dates.shape == close.shape == (1047,)
    assert str(dates[0]) == "2004-08-19" and str(dates[-1]) == "2008-10-14"
    assert np.all(np.diff(dates) > np.timedelta64(0, "D")), "dates must increase"
    assert close[0] == pytest.approx(100.34) and np.all(close > 0)
    np.testing.assert_array_equal(adj, close)  # no split or dividend in this period
    assert np.isin(dates.astype("datetime64[D]").view("int64") % 7, [0, 1, 4, 5, 6]).all()
    with pytest.raises(ValueError, match="field must be one of"):
        lc.goog_daily("price")


@needs_mpl
def test_stock_prices_monthly_with_gaps_before_listing():
    dates, prices, tickers = lc.stock_prices()
    assert tickers == (
        "IBM",
        "AAPL",
        "MSFT",
        "XRX",
        "AMZN",
        "DELL",
        "GOOGL",
        "ADBE",
        "^GSPC",
        "^IXIC",
    )
    assert prices.shape == (dates.size, 10) and np.all(np.diff(dates) > np.timedelta64(0, "D"))
    assert str(dates[0]) == "1990-01-01"
    months = dates.astype("datetime64[M]")
    assert np.all(np.diff(months) == np.timedelta64(1, "M")), "one row per month, none missing"
    assert np.all(dates == months.astype("datetime64[D]")), "dated the 1st of the month"
    assert str(dates[-1]) == "2022-06-01"  # the file's last month
    for k in range(10):  # NaN only before the listing, then a price every month
        listed = np.flatnonzero(~np.isnan(prices[:, k]))
        assert listed.size and np.all(np.diff(listed) == 1) and listed[-1] == dates.size - 1
        assert np.all(prices[listed, k] > 0)
    first = {
        t: str(dates[np.flatnonzero(~np.isnan(prices[:, k]))[0]]) for k, t in enumerate(tickers)
    }
    # listing dates (Amazon: May 1997, Google: August 2004) fall in the months the file starts them
    assert first["AMZN"] <= "1997-06-01" and "2004-08-01" <= first["GOOGL"] <= "2004-09-01"
    # Stocks.csv: the S&P 500 closed January 1990 at 329.08 (Yahoo's monthly close of that month)
    assert prices[0, tickers.index("^GSPC")] == pytest.approx(329.08, abs=0.01)
    d2, p2, t2 = lc.stock_prices(["^GSPC", "IBM"])
    np.testing.assert_array_equal(p2, prices[:, [8, 0]])
    assert t2 == ("^GSPC", "IBM") and np.array_equal(d2, dates)
    assert lc.stock_prices(t for t in ("IBM",))[2] == ("IBM",)  # any iterable, read once
    for bad in ("IBM", [], ["IBM", "TSLA"], 3):
        with pytest.raises(ValueError, match="tickers must be"):
            lc.stock_prices(bad)


def test_log_returns():
    np.testing.assert_allclose(lc.log_returns([1.0, 2.0, 1.0]), [math.log(2), -math.log(2)])
    np.testing.assert_allclose(lc.log_returns([[1.0, np.e]]), [[1.0]])
    with pytest.raises(ValueError, match="positive"):
        lc.log_returns([1.0, 0.0])
    with pytest.raises(ValueError, match="at least 2"):
        lc.log_returns([1.0])


def test_chronological_split_is_contiguous_and_ordered():
    tr, va, te = lc.chronological_split(100, val_fraction=0.15, test_fraction=0.15)
    assert (tr, va, te) == (slice(0, 70), slice(70, 85), slice(85, 100))
    # unequal shares, by hand: 10 % of 100 for validation, then 20 % for test
    assert lc.chronological_split(100, val_fraction=0.1, test_fraction=0.2) == (
        slice(0, 70),
        slice(70, 80),
        slice(80, 100),
    )
    idx = np.arange(100)
    assert idx[tr].max() < idx[va].min() and idx[va].max() < idx[te].min()
    assert np.array_equal(np.concatenate([idx[tr], idx[va], idx[te]]), idx)
    for kwargs in ({"val_fraction": 0}, {"test_fraction": 1.2}, {"val_fraction": "0.1"}):
        with pytest.raises(ValueError, match="fraction must be a number"):
            lc.chronological_split(100, **kwargs)
    with pytest.raises(ValueError, match="leaves a part empty"):
        lc.chronological_split(3, val_fraction=0.1, test_fraction=0.1)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        lc.chronological_split(0)


def test_windows_on_returns_leave_no_future_in_the_inputs():
    """Chapter 11's pipeline: windows of past returns, split by the target's position."""
    r = np.arange(1.0, 41.0)  # r[t] = t + 1, so a value names its own position
    window = 5
    x, y = lc.windows(r, window)
    tr, va, te = lc.chronological_split(len(y))
    for part in (tr, va, te):  # every input is strictly earlier than its target
        assert np.all(x[part, :, 0].max(axis=1) < y[part, 0])
    assert y[tr].max() < y[va].min() and y[va].max() < y[te].min()
    # the stretch the chapter standardises with: exactly what the training windows read
    # (inputs and targets), and no validation or test target
    span = r[lc.series_span(tr, window)]
    assert set(span) == set(x[tr].ravel()) | set(y[tr].ravel())
    assert not set(span) & (set(y[va].ravel()) | set(y[te].ravel()))
    # a later part's span starts at its own first window, wherever that part starts
    assert set(r[lc.series_span(va, window)]) == set(x[va].ravel()) | set(y[va].ravel())
    assert lc.series_span(slice(None, 3), 2) == slice(0, 5)


# -- forecasting baselines


def test_autocorrelation():
    x = np.array([1.0, -1.0] * 50)
    r = ev.autocorrelation(x, 3)
    # alternating series: hand-computed, sum over 99 (99 products of -1) / 100, then +98/100 ...
    np.testing.assert_allclose(r, [-0.99, 0.98, -0.97])
    rng = np.random.default_rng(0)
    white = rng.standard_normal(10_000)
    assert np.all(np.abs(ev.autocorrelation(white, 5)) < 4 / 100)  # 4 standard errors, 1/sqrt(S)
    with pytest.raises(ValueError, match="max_lag must be in"):
        ev.autocorrelation(x, 100)
    with pytest.raises(ValueError, match="constant"):
        ev.autocorrelation(np.ones(5), 1)


def test_autoregression_recovers_a_known_process_and_copies_a_line():
    rng = np.random.default_rng(1)
    s = np.zeros(3000)
    for t in range(2, s.size):  # AR(2) with intercept 0.1, weights 0.5 (lag 1), -0.3 (lag 2)
        s[t] = 0.1 + 0.5 * s[t - 1] - 0.3 * s[t - 2] + 0.1 * rng.standard_normal()
    x, y = lc.windows(s, 2)
    w = ev.fit_autoregression(x, y)
    np.testing.assert_allclose(w, [0.1, -0.3, 0.5], atol=0.03)  # oldest first
    line = np.arange(10.0)  # exact on a noise-free line: next = 2 * last - previous
    xl, yl = lc.windows(line, 2)
    np.testing.assert_allclose(ev.predict_autoregression(ev.fit_autoregression(xl, yl), xl), yl)
    with pytest.raises(ValueError, match="one target per window"):
        ev.fit_autoregression(xl, yl[:-1])
    with pytest.raises(ValueError, match="w must have shape"):
        ev.predict_autoregression(np.zeros(2), xl)


# -- text


def test_python_docs_corpus_split_on_a_topic_boundary():
    from pydoc_data.topics import topics

    train, held = lc.python_docs_corpus(held_out=0.1)
    pages = list(topics.values())
    assert train + held == "".join(pages)
    assert len(train) + len(held) > 300_000  # ~465,000 characters in CPython 3.11
    assert 0.1 <= len(held) / (len(train) + len(held)) < 0.2  # whole topics, at least 10 %
    assert any(held.startswith(p) for p in pages), "the held-out part starts a topic"
    assert not any(p in train for p in pages if held.startswith(p)), "held-out page not in train"
    for bad in (0, 0.6, "0.1", True):
        with pytest.raises(ValueError, match="held_out must be a number"):
            lc.python_docs_corpus(held_out=bad)


def test_ngram_baselines_on_a_tiny_text():
    ids = np.array([0, 1, 0, 1, 0, 2])  # "abab ac": counts a 3, b 2, c 1; V = 3
    uni = ev.ngram_log_probs(ids, 3, order=1, alpha=1.0)
    np.testing.assert_allclose(np.exp(uni), [4 / 9, 3 / 9, 2 / 9])  # (n_c + 1) / (6 + 3)
    bi = ev.ngram_log_probs(ids, 3, order=2, alpha=1.0)
    # pairs: a->b twice, b->a twice, a->c once; row a: (1, 3, 2) / 6, row b: (3, 1, 1) / 5,
    # row c (never followed): uniform
    np.testing.assert_allclose(
        np.exp(bi), [[1 / 6, 3 / 6, 2 / 6], [3 / 5, 1 / 5, 1 / 5], [1 / 3] * 3]
    )
    held = np.array([1, 0, 2])
    assert ev.ngram_cross_entropy(uni, held) == pytest.approx(-np.log([3 / 9, 4 / 9, 2 / 9]).mean())
    # with previous = 0 ("a"): score a->b, b->a, a->c
    expected = -np.log([3 / 6, 3 / 5, 2 / 6]).mean()
    assert ev.ngram_cross_entropy(bi, held, previous=0) == pytest.approx(expected)
    assert ev.ngram_cross_entropy(bi, held) == pytest.approx(-np.log([3 / 5, 2 / 6]).mean())
    with pytest.raises(ValueError, match="order must be 1"):
        ev.ngram_log_probs(ids, 3, order=3)
    with pytest.raises(ValueError, match="alpha must be a positive"):
        ev.ngram_log_probs(ids, 3, order=1, alpha=0)
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 2\)"):
        ev.ngram_log_probs(ids, 2, order=1)


@pytest.mark.parametrize(
    ("window", "warmup", "context"), [(8, 3, 5), (5, 0, 0), (6, 5, 2), (5, 0, 3)]
)
def test_char_cross_entropy_scores_every_character_once(window, warmup, context):
    for n in range(2, 40):
        first = min(context, max(warmup, 1)) or 1  # the context characters kept, or ids[0]
        _, targets, scored = ev._scored_windows(n, first, window, warmup)
        hits = np.bincount(targets[scored], minlength=n)
        assert np.all(hits[first:] == 1) and np.all(hits[:first] == 0), (n, hits)


def windowed_by_hand(params, full, first, window, warmup) -> float:
    """The windowed score one character at a time, from char_cross_entropy's docstring: windows
    of ``window`` characters start every ``window - warmup``, each from a zero state; a window
    scores the characters it predicts after its first ``warmup`` reads (the first window from
    ``first``), so position p is predicted by a run over ``full[s:p]``, s its window's start."""
    V = params["Wy"].shape[1]
    step, nll = window - warmup, []
    for p in range(first, len(full)):
        s = max(0, (p - warmup - 1) // step) * step
        h = c = np.zeros((1, params["Wh"].shape[0]))
        for t in range(s, p):
            h, c, _ = lc.lstm_step_forward(lc.one_hot(full[t : t + 1], V), h, c, params)
        z = (h @ params["Wy"] + params["by"])[0]
        nll.append(np.log(np.exp(z).sum()) - z[full[p]])
    return float(np.mean(nll))


def test_char_cross_entropy_matches_a_step_by_step_run():
    V, H = 5, 4
    params = lc.init_model("lstm", V, H, V, rng=0)
    rng = np.random.default_rng(1)
    ctx, ids = rng.integers(0, V, 3), rng.integers(0, V, 20)
    full = np.concatenate([ctx, ids])
    h = c = np.zeros((1, H))
    nll = []
    for t in range(len(full) - 1):  # one unbroken run from a zero state
        h, c, _ = lc.lstm_step_forward(lc.one_hot(full[t : t + 1], V), h, c, params)
        z = (h @ params["Wy"] + params["by"])[0]
        if t + 1 >= len(ctx):
            nll.append(np.log(np.exp(z).sum()) - z[full[t + 1]])
    # a window longer than the text is one unbroken run too
    got = ev.char_cross_entropy(params, ids, context=ctx, window=50, warmup=3)
    assert got == pytest.approx(np.mean(nll), rel=1e-12)
    # Short windows lose some context but still score the same characters, each as the
    # docstring's windows predict it. (Near-uniform predictions score about log V = 1.61 on
    # any text, a shuffled one included, so only a tolerance far below 1 % can tell.)
    short = ev.char_cross_entropy(params, ids, context=ctx, window=6, warmup=3)
    assert short == pytest.approx(windowed_by_hand(params, full, len(ctx), 6, 3), rel=1e-12)
    assert short != pytest.approx(np.mean(nll), rel=1e-6)  # the lost context shows
    # warmup=0 with a context still scores ids[0], after ctx[-1]: it read no context at all,
    # and scored 19 of the 20 characters
    no_warmup = ev.char_cross_entropy(params, ids, context=ctx, window=50, warmup=0)
    assert no_warmup == pytest.approx(windowed_by_hand(params, full[2:], 1, 50, 0), rel=1e-12)
    zero = {k: np.zeros_like(v) for k, v in params.items()}  # uniform prediction: log V
    assert ev.char_cross_entropy(zero, ids) == pytest.approx(np.log(V))
    with pytest.raises(ValueError, match="warmup must be in"):
        ev.char_cross_entropy(params, ids, window=5, warmup=5)
    with pytest.raises(ValueError, match="read-out"):
        ev.char_cross_entropy(lc.init_model("lstm", V, H, rng=0), ids)


def test_ngram_edge_cases_worked_by_hand():
    ids = np.array([0, 1, 0, 1, 0, 1])  # class 2 never seen: counts 3, 3, 0; V = 3
    # the unigram still has V entries when the last class is missing: (3 + 1, 3 + 1, 1) / 9
    np.testing.assert_allclose(np.exp(ev.ngram_log_probs(ids, 3, 1)), [4 / 9, 4 / 9, 1 / 9])
    # a subnormal alpha: p(2) = alpha / (6 + 3 alpha) is a subnormal of a few bits (1e-320) or
    # underflows to 0 (1e-323), but its log is log(alpha) - log(6), finite; p(0) = p(1) = 1/2
    for alpha in (1e-320, 1e-323):
        tiny = ev.ngram_log_probs(ids, 3, 1, alpha=alpha)
        expected = [math.log(0.5), math.log(0.5), math.log(alpha) - math.log(6)]
        np.testing.assert_allclose(tiny, expected, rtol=1e-12)
    # a bigram without previous scores ids[1] first: the message names ids[1], not ids[0]
    bi = ev.ngram_log_probs(ids, 3, 2)
    bi[0, 1] = -np.inf
    with pytest.raises(ValueError, match=r"got ids\[1\] = 1, of log-probability -inf"):
        ev.ngram_cross_entropy(bi, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"got ids\[0\] = 1, of log-probability -inf"):
        ev.ngram_cross_entropy(bi, np.array([1]), previous=0)


def test_autoregression_needs_one_window_per_weight():
    x, y = lc.windows(np.arange(4.0), 2)  # 2 windows of 2 values: 3 weights underdetermined
    with pytest.raises(ValueError, match=r"^x must hold at least p \+ 1 = 3 windows"):
        ev.fit_autoregression(x, y)
