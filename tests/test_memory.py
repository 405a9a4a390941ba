"""Why the LSTM exists: an RNN's gradient over 50 steps explodes or vanishes.

Along the LSTM's cell state it need not.
"""

import numpy as np
import pytest

import lstm_core as lc

STEPS = 50


def rnn_gradient_through(w: float, steps: int = STEPS) -> float:
    """d h_T / d h_0 of a one-unit tanh RNN with recurrent weight w, at the zero state.

    With zero input, zero bias and h_0 = 0 every pre-activation is 0 and tanh'(0) = 1
    exactly, so the gradient is exactly w ** steps: the unrolled-multiplication story.
    """
    p = {"Wx": np.zeros((1, 1)), "Wh": np.array([[w]]), "b": np.zeros(1)}
    _, cache = lc.rnn_forward(np.zeros((1, steps, 1)), p)
    dhs = np.zeros((1, steps, 1))
    dhs[0, -1, 0] = 1.0
    return float(lc.rnn_backward(dhs, cache)[1][0, 0])


def test_rnn_gradient_explodes_with_weight_two():
    g = rnn_gradient_through(2.0)
    assert g == 2.0**50  # 1125899906842624, about 1.1e15
    assert f"{g:.1e}" == "1.1e+15"


def test_rnn_gradient_vanishes_with_weight_half():
    g = rnn_gradient_through(0.5)
    assert g == 0.5**50  # 8.881784197001252e-16
    assert f"{g:.1e}" == "8.9e-16"


def test_rnn_with_real_inputs_loses_the_gradient_over_the_lag(rng):
    """A random tanh RNN: the gradient reaching step 0 shrinks geometrically with the lag."""
    p = lc.init_rnn_params(4, 16, rng=rng)
    x = rng.standard_normal((8, STEPS, 4))
    _, cache = lc.rnn_forward(x, p)
    dhs = np.zeros((8, STEPS, 16))
    dhs[:, -1] = rng.standard_normal((8, 16))
    dx = lc.rnn_backward(dhs, cache)[0]
    norms = np.linalg.norm(dx, axis=(0, 2))  # gradient on each step's input
    assert norms[0] < 1e-6 * norms[-1]


def test_lstm_cell_state_carries_the_gradient_when_the_forget_gate_is_open(rng):
    """dc_0 = dc_T * f_1 * ... * f_T along the cell state: with f near 1 it stays order 1.

    Wh = 0 isolates the conveyor belt: c_0 then reaches c_T only through the cell state's
    multiply-and-add, not through h and the gates of later steps.
    """
    D, H = 4, 16
    p = lc.init_params(D, H, rng=rng, forget_bias=10.0)  # f = sigmoid(10 + small) ~ 0.99995
    p["Wh"][:] = 0
    x = rng.standard_normal((8, STEPS, D))
    _, cache = lc.lstm_forward(x, p)
    f = cache.gate_values[:, :, lc.gate_slice("f", H)]  # (N, T, H)
    assert f.min() > 0.999
    dc_last = np.ones((8, H))
    _, _, dc0, _ = lc.lstm_backward(np.zeros((8, STEPS, H)), cache, dc_last=dc_last)
    assert 0.5 < dc0.min() <= dc0.max() <= 1.0
    # exactly the product of the forget gates (the only path from c_T back to c_0)
    np.testing.assert_allclose(dc0, np.prod(f, axis=1), rtol=1e-12)


def test_lstm_is_not_a_magic_fix_when_the_forget_gate_closes(rng):
    """The same path with f around 0.5 vanishes like the RNN: the gate decides."""
    p = lc.init_params(4, 16, rng=rng, forget_bias=0.0)
    p["Wx"][:] = 0
    p["Wh"][:] = 0
    _, cache = lc.lstm_forward(rng.standard_normal((2, STEPS, 4)), p)
    _, _, dc0, _ = lc.lstm_backward(np.zeros((2, STEPS, 16)), cache, dc_last=np.ones((2, 16)))
    assert dc0.max() == pytest.approx(0.5**50, rel=1e-12, abs=0)
