import numpy as np
import pytest

import lstm_core as lc


def test_two_companies_match_the_source():
    x, y = lc.two_companies()
    assert x.shape == (2, 4, 1) and y.shape == (2, 1)
    np.testing.assert_array_equal(x[:, :, 0], [[0, 0.5, 0.25, 1], [1, 0.5, 0.25, 1]])
    np.testing.assert_array_equal(y, [[0], [1]])
    assert lc.two_companies(np.float32)[0].dtype == np.float32


@pytest.mark.parametrize("lag", [0, 1, 7])
def test_memory_task_marks_the_value_to_recall(lag):
    x, y = lc.memory_task(16, lag, rng=3, length=lag + 5)
    T = lag + 5
    assert x.shape == (16, T, 2) and y.shape == (16, 1)
    assert np.all(x[:, :, 1].sum(axis=1) == 1) and np.all(x[:, T - 1 - lag, 1] == 1)
    np.testing.assert_array_equal(y[:, 0], x[:, T - 1 - lag, 0])
    np.testing.assert_array_equal(x, lc.memory_task(16, lag, rng=3, length=lag + 5)[0])
    with pytest.raises(ValueError, match="length must exceed lag"):
        lc.memory_task(4, 5, length=5)


def test_adding_problem():
    x, y = lc.adding_problem(32, 10, rng=0)
    assert x.shape == (32, 10, 2)
    assert np.all((x[:, :, 0] >= 0) & (x[:, :, 0] <= 1))  # [0, 1], not the original's [-1, 1]
    assert np.all(x[:, :5, 1].sum(1) == 1) and np.all(x[:, 5:, 1].sum(1) == 1)
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(1))


def test_noisy_sine_and_windows():
    s = lc.noisy_sine(100, period=20, noise=0.0)
    np.testing.assert_allclose(s[:80], s[20:], atol=1e-12)  # periodic when noise-free
    x, y = lc.windows(s, 10)
    assert x.shape == (90, 10, 1) and y.shape == (90, 1)
    np.testing.assert_array_equal(x[3, :, 0], s[3:13])
    assert y[3, 0] == s[13]
    with pytest.raises(ValueError, match="S > window"):
        lc.windows(s[:5], 10)


def test_char_corpus_ships_with_python():
    text = lc.char_corpus()
    assert text.startswith("The Zen of Python, by Tim Peters")
    assert "Beautiful is better than ugly." in text and len(text) > 800
    ids, vocab = lc.encode_text(text)
    assert "".join(vocab[i] for i in ids) == text
    x, y = lc.char_batches(ids, 25, len(vocab))
    assert x.shape[1:] == (25, len(vocab)) and y.shape == x.shape[:2]
    np.testing.assert_array_equal(x[0].argmax(1)[1:], y[0][:-1])


def test_noisy_sine_values_and_noise_scale_by_hand():
    # noise-free, period 8: sin(2 pi t / 8) + 0.5 sin(4 pi t / 8) at t = 0, 1, 2, 4:
    # 0; sin(pi/4) + 0.5 sin(pi/2) = sqrt(2)/2 + 1/2; sin(pi/2) + 0.5 sin(pi) = 1; 0
    clean = lc.noisy_sine(5, period=8, noise=0.0)
    np.testing.assert_allclose(clean[[0, 1, 2, 4]], [0, np.sqrt(2) / 2 + 0.5, 1, 0], atol=1e-15)
    # the noise's standard deviation is `noise`: 20,000 draws estimate it within 10 standard
    # errors (0.5 / sqrt(2 * 20000) = 0.0025 each)
    n = 20_000
    noise = lc.noisy_sine(n, period=8, noise=0.5, rng=0) - lc.noisy_sine(n, period=8, noise=0.0)
    assert abs(noise.std() - 0.5) < 0.025 and abs(noise.mean()) < 0.025


def test_task_values_are_drawn_from_the_documented_ranges():
    """memory_task's noise is uniform in [-1, 1], adding_problem's values uniform in [0, 1]:
    each of 800 draws lands below 0.1 of the range's lower end with probability 0.05 (or
    0.1), so missing both ends has probability below 2 * 0.95^800 ~ 1e-17."""
    x, _ = lc.memory_task(100, 3, rng=0, length=8)
    values = x[:, :, 0]
    assert -1 <= values.min() < -0.9 and 0.9 < values.max() <= 1
    x, _ = lc.adding_problem(100, 8, rng=0)
    values = x[:, :, 0]
    assert 0 <= values.min() < 0.1 and 0.9 < values.max() <= 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_hot_rows_take_the_requested_dtype(dtype):
    rows = lc.one_hot(np.array([[0, 2], [1, 1]]), 3, dtype)
    assert rows.dtype == dtype
    np.testing.assert_array_equal(rows, [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]]])
    x, y = lc.char_batches(np.array([0, 1, 2, 0, 1]), 2, 3, dtype)
    assert x.dtype == dtype and y.dtype == np.int64


def test_encode_text_sorts_the_alphabet():
    ids, vocab = lc.encode_text("cabca")
    assert vocab == "abc"  # sorted, not in order of appearance ("cab")
    np.testing.assert_array_equal(ids, [2, 0, 1, 2, 0])
    ids, vocab = lc.encode_text("cab", vocab="cba")  # a given vocab is kept as given
    assert vocab == "cba"
    np.testing.assert_array_equal(ids, [0, 2, 1])
