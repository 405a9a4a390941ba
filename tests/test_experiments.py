"""The chapters' experiments (lstm_core.experiments), each against an independent oracle."""

import numpy as np
import pytest

import lstm_core as lc
from lstm_core import experiments as ex


def test_rnn_gradient_norms_are_powers_of_the_weight():
    """Scalar tanh RNN at the zero state: tanh'(0) = 1, so d h_L / d x_0 = Wx * w**L exactly."""
    w = 0.5
    p = {"Wx": np.array([[1.0]]), "Wh": np.array([[w]]), "b": np.zeros(1)}
    norms = ex.input_gradient_norms(np.zeros((3, 30, 1)), p, [0, 1, 10, 29])
    np.testing.assert_array_equal(norms, [1.0, w, w**10, w**29])


def test_lstm_gradient_norms_match_a_numerical_gradient(rng):
    p = lc.init_params(3, 4, rng=rng)
    x = rng.standard_normal((2, 6, 3))
    lags = [0, 2, 5]
    norms = ex.input_gradient_norms(x, p, lags)
    for L, got in zip(lags, norms, strict=True):
        xs = x[:, : L + 1].copy()
        num = lc.numerical_gradient(lambda v: lc.lstm_forward(v, p)[0][:, -1].sum(), xs)
        assert got == pytest.approx(np.linalg.norm(num[:, 0], axis=-1).mean(), rel=1e-7)


def test_gradient_norms_reject_a_lag_beyond_the_sequence(rng):
    p = lc.init_rnn_params(2, 3, rng=rng)
    with pytest.raises(ValueError, match="lag"):
        ex.input_gradient_norms(np.zeros((1, 5, 2)), p, [5])


def test_unroll_trace_agrees_with_lstm_forward(rng):
    p = lc.init_params(3, 4, rng=rng)
    x = rng.standard_normal((2, 7, 3))
    trace = ex.unroll_trace(x, p)
    hs, cache = lc.lstm_forward(x, p)
    np.testing.assert_allclose(trace["h"], hs, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(trace["c"], cache.cs, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(trace["h_prev"][:, 1:], trace["h"][:, :-1])
    np.testing.assert_array_equal(trace["c_prev"][:, 0], 0.0)
    assert trace["f"].shape == (2, 7, 4)


def test_unroll_trace_reproduces_the_two_companies():
    """Day-1 memories and day-5 predictions: the source's numbers (see test_hand_worked.py)."""
    x, _ = lc.two_companies()
    trace = ex.unroll_trace(x, lc.HAND_WORKED_PARAMS)
    np.testing.assert_array_equal(np.round(trace["c"][:, 0, 0], 2), [-0.20, 0.50])
    np.testing.assert_array_equal(np.round(trace["h"][:, 0, 0], 2), [-0.13, 0.28])
    np.testing.assert_array_equal(np.round(trace["h"][:, -1, 0], 3), [0.006, 0.969])


def test_memory_sweep_is_memory_test_mse_for_every_cell_and_lag():
    """The sweep's table holds, for each cell and lag, the test error of its own training."""
    settings = {"epochs": 1, "n_train": 32, "n_test": 32, "batch_size": 32}
    out = ex.memory_sweep([1, 3], **settings)
    assert set(out) == {"lags", "lstm", "rnn", "seconds"}
    np.testing.assert_array_equal(out["lags"], [1, 3])
    for cell in ("lstm", "rnn"):
        want = [ex.memory_test_mse(cell, lag, **settings)[0] for lag in (1, 3)]
        np.testing.assert_array_equal(out[cell], want)
    assert out["seconds"] > 0


def test_memory_task_is_learnt_at_a_short_lag():
    mse, history = ex.memory_test_mse("lstm", 1, n_train=256, epochs=20)
    assert mse < 0.05, f"LSTM test MSE {mse:.4f} at lag 1; predicting 0 scores 1/3"
    assert history["loss"][-1] < history["loss"][0]


def test_free_run_starts_with_the_one_step_forecast(rng):
    p = lc.init_model("lstm", 1, 5, 1, rng=rng)
    context = rng.standard_normal(8)
    out = ex.forecast_free_run(context, p, 4)
    first, _ = lc.model_forward(context[None, :, None], p)
    assert out.shape == (4,)
    assert out[0] == first[0, 0]
    second, _ = lc.model_forward(np.append(context[1:], out[0])[None, :, None], p)
    assert out[1] == second[0, 0]


def test_gru_update_gate_closed_keeps_the_memory(rng):
    p = ex.init_gru_params(3, 4, rng=rng)
    p["bx"][4:8] = 50.0  # z = sigmoid(50 + ...) = 1 to float64 precision: h = h_prev
    h_prev = rng.standard_normal((2, 4))
    np.testing.assert_allclose(ex.gru_step_forward(rng.standard_normal((2, 3)), h_prev, p), h_prev)


def test_gru_step_matches_nn_grucell(torch, rng):
    D, H = 3, 5
    p = ex.init_gru_params(D, H, rng=rng)
    x, h = rng.standard_normal((4, D)), rng.standard_normal((4, H))
    cell = torch.nn.GRUCell(D, H).to(torch.float64)
    cell.load_state_dict(
        {
            "weight_ih": torch.from_numpy(p["Wx"].T.copy()),
            "weight_hh": torch.from_numpy(p["Wh"].T.copy()),
            "bias_ih": torch.from_numpy(p["bx"]),
            "bias_hh": torch.from_numpy(p["bh"]),
        }
    )
    expected = cell(torch.from_numpy(x), torch.from_numpy(h)).detach().numpy()
    np.testing.assert_allclose(ex.gru_step_forward(x, h, p), expected, rtol=1e-12, atol=1e-14)


def test_memory_sweep_seeds_runs_each_seed():
    """Row k of each cell's table is the test error of memory_test_mse with seed seeds[k]."""
    settings = {"epochs": 1, "n_train": 16, "n_test": 16, "batch_size": 16}
    out = ex.memory_sweep_seeds([2], [0, 5], cells=("rnn",), **settings)
    np.testing.assert_array_equal(out["seeds"], [0, 5])
    for k, seed in enumerate((0, 5)):
        mse, history = ex.memory_test_mse("rnn", 2, seed=seed, **settings)
        assert out["rnn"][k, 0] == mse
        np.testing.assert_array_equal(out["curves"]["rnn"][k, 0], history["loss"])
    assert out["rnn"][0, 0] != out["rnn"][1, 0]
