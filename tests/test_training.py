"""Training from random weights: the two companies, and long-range memory (LSTM vs RNN).

Wall-clock speed is reported by benchmarks/bench_training.py; these tests assert
correctness and a bounded amount of work (epochs), never seconds.
"""

from pathlib import Path

import numpy as np
import pytest

import lstm_core as lc

BOOK = Path(__file__).resolve().parents[1] / "book"


@pytest.mark.parametrize("seed", range(5))
def test_two_companies_from_random_weights(seed):
    x, y = lc.two_companies()
    p = lc.init_model("lstm", 1, 1, rng=seed)  # one unit, prediction = final h, as in the source
    history = lc.fit(
        x, y, p, optimizer=lc.Adam(lr=0.1), epochs=2000, target_loss=1e-3, clip_norm=None
    )
    pred, _ = lc.model_forward(x, p)
    assert np.abs(pred - y).max() < 0.1, (
        f"day-5 predictions {pred.ravel()} not within 0.1 of {y.ravel()}"
    )
    assert history["epochs"] < 2000
    assert history["loss"][-1] < history["loss"][0]
    # the reported loss is the returned weights' loss, and it is below the target
    returned, _ = lc.model_loss(x, y, p)
    assert history["loss"][-1] == returned < 1e-3


@pytest.mark.parametrize("batch_size", [None, 3])
def test_fit_reports_the_loss_of_the_weights_it_returns(rng, batch_size):
    """Every epoch's entry is the loss on all the data of the weights after that epoch."""
    x, y = rng.standard_normal((7, 4, 2)), rng.standard_normal((7, 1))
    p = lc.init_model("lstm", 2, 3, 1, rng=0)
    snapshots = []

    class Recording(lc.Adam):
        def step(self, params, grads):
            super().step(params, grads)
            snapshots.append(lc.copy_params(params))

    history = lc.fit(x, y, p, optimizer=Recording(lr=0.05), epochs=4, batch_size=batch_size, rng=0)
    steps_per_epoch = 1 if batch_size is None else 3  # 7 sequences: batches of 3, 3 and 1
    assert len(snapshots) == 4 * steps_per_epoch
    for epoch, value in enumerate(history["loss"], start=1):
        weights = snapshots[epoch * steps_per_epoch - 1]
        assert value == lc.model_loss(x, y, weights)[0]
    assert history["loss"][-1] == lc.model_loss(x, y, p)[0]


def test_fit_stops_on_the_weights_that_reach_the_target():
    """The stopping test uses the weights fit returns: never one step past them."""
    x, y = lc.two_companies()
    p = lc.init_model("lstm", 1, 1, rng=3)
    full = lc.fit(x, y, lc.copy_params(p), optimizer=lc.Adam(lr=0.1), epochs=300, clip_norm=None)
    target = full["loss"][150]  # a loss this run reaches after exactly 151 epochs
    first = next(k for k, v in enumerate(full["loss"]) if v < target * 1.0000001)
    history = lc.fit(
        x,
        y,
        p,
        optimizer=lc.Adam(lr=0.1),
        epochs=300,
        clip_norm=None,
        target_loss=target * 1.0000001,
    )
    assert history["epochs"] == first + 1
    assert lc.model_loss(x, y, p)[0] == history["loss"][-1] < target * 1.0000001


def test_fit_rejects_bad_arguments():
    x, y = lc.two_companies()
    p = lc.init_model("lstm", 1, 1, rng=0)
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        lc.fit(x, y, p, epochs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got -1"):
        lc.fit(x, y, p, batch_size=-1)
    with pytest.raises(ValueError, match=r"y must hold one target per sequence of x \(2\), got 1"):
        lc.fit(x, y[:1], p)
    with pytest.raises(ValueError, match="loss must be one of"):
        lc.fit(x, y, p, loss="mae")


def test_fit_reports_loss_per_epoch():
    x, y = lc.two_companies()
    p = lc.init_model("lstm", 1, 1, rng=0)
    lines = []
    history = lc.fit(x, y, p, epochs=30, log_every=10, log=lines.append)
    assert len(history["loss"]) == history["epochs"] == 30
    assert [line.split()[:2] for line in lines] == [
        ["epoch", "10"],
        ["epoch", "20"],
        ["epoch", "30"],
    ]
    assert float(lines[-1].split()[-1]) == pytest.approx(history["loss"][-1], abs=1e-6)


LAG = 20


def train_memory(cell: str, lag: int):
    x, y = lc.memory_task(512, lag, rng=0)
    x_test, y_test = lc.memory_task(512, lag, rng=1)
    p = lc.init_model(cell, 2, 8, 1, rng=0)
    lc.fit(x, y, p, optimizer=lc.Adam(lr=0.01), epochs=40, batch_size=64, rng=0, clip_norm=1.0)
    pred, _ = lc.model_forward(x_test, p)
    return float(np.mean((pred - y_test) ** 2))


def test_lstm_remembers_across_the_lag_where_the_rnn_fails():
    # knowing nothing (predicting 0) scores 1/3, the variance of U(-1, 1)
    lstm, rnn = train_memory("lstm", LAG), train_memory("rnn", LAG)
    assert lstm < 0.02, f"LSTM test MSE {lstm:.4f} at lag {LAG}"
    assert rnn > 0.25, f"RNN test MSE {rnn:.4f} at lag {LAG}: expected no better than guessing"


def test_rnn_solves_the_same_task_at_a_short_lag():
    """So the RNN's failure above is the lag's doing, not the task's or the training's."""
    assert train_memory("rnn", 2) < 0.02


def test_sgd_and_adam_minimise_a_quadratic():
    for opt in (lc.SGD(lr=0.1, momentum=0.9), lc.Adam(lr=0.1)):
        p = {"w": np.array([3.0, -2.0])}
        for _ in range(300):
            opt.step(p, {"w": 2 * p["w"]})
        assert np.abs(p["w"]).max() < 1e-3, type(opt).__name__


def test_clip_grad_norm_scales_all_gradients_together():
    grads = {"a": np.array([3.0]), "b": np.array([4.0])}
    clipped, norm = lc.clip_grad_norm(grads, 1.0)
    assert norm == 5.0
    np.testing.assert_allclose([clipped["a"][0], clipped["b"][0]], [0.6, 0.8])
    assert grads["a"][0] == 3.0  # the input is untouched
    same, _ = lc.clip_grad_norm(grads, 10.0)
    assert same["a"] is grads["a"]
    # a new dict even when nothing is clipped (as documented): changing it leaves grads alone
    assert same is not grads
    same["a"] = np.array([0.0])
    assert grads["a"][0] == 3.0


def test_clip_grad_norm_of_float32_with_a_factor_below_float32s_normal_range():
    """A norm of about 1e31 clipped to 1e-12 needs the factor 1e-43, a float32 subnormal
    with two significant digits: the gradients are then scaled in float64 instead, and come
    out as float32 values as accurate as clipping the same gradients held in float64."""
    g32 = {"a": np.array([3e30, -4e30], np.float32), "b": np.array([[1e31]], np.float32)}
    g64 = {k: v.astype(np.float64) for k, v in g32.items()}
    clipped, norm = lc.clip_grad_norm(g32, 1e-12)
    want, want_norm = lc.clip_grad_norm(g64, 1e-12)  # factor 1e-43 is a normal float64
    assert norm == pytest.approx(want_norm, rel=1e-6)
    assert norm == pytest.approx(np.sqrt(9e60 + 16e60 + 1e62), rel=1e-6)
    for k in g32:
        assert clipped[k].dtype == np.float32
        np.testing.assert_allclose(clipped[k], want[k].astype(np.float32), rtol=1e-6, atol=0)
    assert lc.global_norm(clipped) == pytest.approx(1e-12, rel=1e-6, abs=0)  # abs: 1e-12 default


def test_adam_takes_the_steps_of_kingma_and_bas_algorithm():
    """Two steps against Algorithm 1 of Kingma and Ba (2015), by hand:
    m_t = b1 m_{t-1} + (1 - b1) g_t,  v_t = b2 v_{t-1} + (1 - b2) g_t^2,
    w_t = w_{t-1} - lr (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps).
    With lr = 0.1, b1 = 0.5, b2 = 0.75 and an eps of 0.5 (large, so that where it is added
    shows), from w = 1 and m = v = 0:
    t = 1, g = 2:  m = 0.5 * 2 = 1,  v = 0.25 * 4 = 1,  m^ = 1 / 0.5 = 2,  v^ = 1 / 0.25 = 4,
                   w = 1 - 0.1 * 2 / (2 + 0.5) = 1 - 0.08 = 0.92
    t = 2, g = -2: m = 0.5 * 1 + 0.5 * (-2) = -0.5,  v = 0.75 * 1 + 0.25 * 4 = 1.75,
                   m^ = -0.5 / 0.75 = -2/3,  v^ = 1.75 / 0.4375 = 4,
                   w = 0.92 - 0.1 * (-2/3) / (2 + 0.5) = 0.92 + 0.08 / 3
    (uncorrected moments, eps under the root, or a step count off by one all give other w).
    """
    opt = lc.Adam(lr=0.1, beta1=0.5, beta2=0.75, eps=0.5)
    p = {"w": np.array([1.0])}
    opt.step(p, {"w": np.array([2.0])})
    assert p["w"][0] == pytest.approx(0.92, rel=1e-12)
    opt.step(p, {"w": np.array([-2.0])})
    assert p["w"][0] == pytest.approx(0.92 + 0.08 / 3, rel=1e-12)
    assert opt.t == 2


def test_a_sudden_large_gradient_makes_adams_step_a_few_times_the_learning_rate():
    """The glossary says Adam's step is about the learning rate, "which a sudden large gradient
    can make a few times larger" (chapter 10 gives the bound of Kingma and Ba, 2015, section
    2.1: (1 - beta1) / sqrt(1 - beta2) times the learning rate). Measured with lc.Adam's
    defaults: a weight whose gradients were tiny for 20000 steps, then one gradient of 1.
    After that many steps both bias corrections are 1 to within 1e-8 (0.999 ** 20000 is about
    2e-9), and the moments hold
    (1 - beta1) g and (1 - beta2) g^2, so the step is that bound, here 0.1 / sqrt(0.001) = 3.16
    times the learning rate: a few times, not an order of magnitude."""
    glossary = (BOOK / "glossary.md").read_text()
    assert "which a sudden large gradient can make a few times\n  larger" in glossary
    opt = lc.Adam(lr=1e-3)
    p = {"w": np.zeros(1)}
    tiny = {"w": np.array([1e-12])}
    for _ in range(20000):
        opt.step(p, tiny)
    before = p["w"][0]
    opt.step(p, {"w": np.array([1.0])})
    ratio = abs(p["w"][0] - before) / opt.lr
    bound = (1 - opt.beta1) / np.sqrt(1 - opt.beta2)
    assert ratio == pytest.approx(bound, rel=1e-6)
    assert 2 < ratio < 5  # "a few times larger"


def test_fit_clips_the_gradient_to_clip_norm():
    """One full-batch SGD step of fit moves the weights by lr * clip_norm when the gradient
    is longer than clip_norm: fit clips before it steps."""
    x, y = lc.two_companies()
    p = lc.init_model("lstm", 1, 3, 1, rng=0)
    before = lc.copy_params(p)
    _, grads = lc.model_loss(x, y, p)
    assert lc.global_norm(grads) > 1e-2  # far longer than the clip_norm below
    lc.fit(x, y, p, optimizer=lc.SGD(lr=0.1), epochs=1, clip_norm=1e-4)
    moved = lc.global_norm({k: p[k] - before[k] for k in p})
    assert moved == pytest.approx(0.1 * 1e-4, rel=1e-9)  # SGD: w -= lr * clipped gradient


def test_fit_shuffles_the_mini_batches_with_rng(rng):
    """The batches are drawn in an order rng decides: the same seed gives the same weights,
    another seed (another order of the batches) other weights."""
    x, y = rng.standard_normal((7, 4, 2)), rng.standard_normal((7, 1))
    p = lc.init_model("lstm", 2, 3, 1, rng=0)

    def trained(seed):
        q = lc.copy_params(p)
        lc.fit(x, y, q, optimizer=lc.Adam(lr=0.05), epochs=3, batch_size=2, rng=seed)
        return q

    a, b, c = trained(0), trained(0), trained(1)
    for k in p:
        np.testing.assert_array_equal(a[k], b[k])
    assert any(not np.allclose(a[k], c[k], rtol=1e-6, atol=0) for k in p)


def test_char_model_learns_and_samples():
    text = lc.char_corpus()
    ids, vocab = lc.encode_text(text)
    x, y = lc.char_batches(ids, 25, len(vocab))
    p = lc.init_model("lstm", len(vocab), 32, len(vocab), rng=0)
    history = lc.fit(x, y, p, readout="all", loss="softmax", epochs=30, batch_size=8, rng=0)
    assert history["loss"][-1] < 0.75 * history["loss"][0]
    sample = lc.sample_text("Beautiful", vocab, p, 40, rng=0)
    assert sample.startswith("Beautiful") and len(sample) == 49 and set(sample) <= set(vocab)


def _greedy_by_hand(start, vocab, params, length):
    """Greedy decoding written out with the reference step: read start, then the argmax.

    Also returns the smallest gap between the two largest logits of any sampled step, so a
    test can show its low temperature leaves no doubt about the argmax.
    """
    H, V = params["Wh"].shape[0], len(vocab)
    h = c = np.zeros((1, H))
    text, gaps = start, []
    for k in range(len(start) - 1 + length):
        x = np.zeros((1, V))
        x[0, vocab.index(text[k])] = 1.0
        h, c, _ = lc.reference.lstm_step_forward(x, h, c, params)
        if k >= len(start) - 1:
            logits = (h @ params["Wy"] + params["by"])[0]
            top2 = np.sort(logits)[-2:]
            gaps.append(top2[1] - top2[0])
            text += vocab[int(np.argmax(logits))]
    return text, min(gaps)


def test_sample_text_at_a_low_temperature_is_greedy_decoding():
    vocab = "abcde"
    p = lc.init_model("lstm", 5, 6, 5, rng=6)
    for k in p:
        p[k] *= 3.0  # logits spread out: no near-ties between the two largest
    want, gap = _greedy_by_hand("cabd", vocab, p, 12)
    assert gap > 0.02  # at temperature 1e-4 the runner-up has probability below e^-200
    # every character of start counts: reading "dddd" instead continues differently
    assert _greedy_by_hand("dddd", vocab, p, 12)[0][4:] != want[4:]
    assert lc.sample_text("cabd", vocab, p, 12, rng=0, temperature=1e-4) == want


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_sample_text_draws_from_the_softmax_of_the_logits_over_temperature(temperature):
    """With Wy = 0 every step's logits are by = log(0.5, 0.3, 0.2): the sampled characters'
    frequencies must be those of softmax(by / temperature), within 5 standard deviations."""
    probs = np.array([0.5, 0.3, 0.2])
    p = lc.init_model("lstm", 3, 2, 3, rng=0)
    p["Wy"][:] = 0.0
    p["by"][:] = np.log(probs)
    n = 3000
    text = lc.sample_text("a", "abc", p, n, rng=1, temperature=temperature)
    counts = np.array([text[1:].count(ch) for ch in "abc"])
    want = probs ** (1 / temperature) / np.sum(probs ** (1 / temperature))  # by hand
    assert np.all(np.abs(counts - n * want) < 5 * np.sqrt(n * want * (1 - want))), counts
