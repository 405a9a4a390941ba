"""Training from random weights: the two companies, and long-range memory (LSTM vs RNN).

Wall-clock speed is reported by benchmarks/bench_training.py; these tests assert
correctness and a bounded amount of work (epochs), never seconds.
"""

import numpy as np
import pytest

import lstm_core as lc


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


def test_char_model_learns_and_samples():
    text = lc.char_corpus()
    ids, vocab = lc.encode_text(text)
    x, y = lc.char_batches(ids, 25, len(vocab))
    p = lc.init_model("lstm", len(vocab), 32, len(vocab), rng=0)
    history = lc.fit(x, y, p, readout="all", loss="softmax", epochs=30, batch_size=8, rng=0)
    assert history["loss"][-1] < 0.75 * history["loss"][0]
    sample = lc.sample_text("Beautiful", vocab, p, 40, rng=0)
    assert sample.startswith("Beautiful") and len(sample) == 49 and set(sample) <= set(vocab)
