"""Every number of the source's hand-worked example, exact value next to the rounded one.

The exact values (7 decimals) were computed from the table of weights with Python's
``math`` module alone, independently of lstm_core (a dozen lines: the four gate sums,
``1 / (1 + exp(-z))``, ``math.tanh``); the rounded ones are what the source shows.
"""

import math

import numpy as np
import pytest

import lstm_core as lc

P = lc.HAND_WORKED_PARAMS


def step(x, h, c):
    t = lc.lstm_step_trace([[x]], [[h]], [[c]], P)
    return {k: float(v[0, 0]) for k, v in t.items()}


def test_one_step_from_c2_h1_x1():
    s = step(1.0, 1.0, 2.0)
    # forget: 1*2.70 + 1*1.63 + 1.62 = 5.95 -> sigmoid 0.9974009 (source: 0.997)
    assert s["a_f"] == pytest.approx(5.95, abs=1e-12)
    assert s["f"] == pytest.approx(0.9974009, abs=1e-7) and round(s["f"], 3) == 0.997
    # long-term memory kept: 2 * 0.9974009 = 1.9948019 (source: 1.99)
    assert s["c_kept"] == pytest.approx(1.9948019, abs=1e-7) and round(s["c_kept"], 2) == 1.99
    # candidate: 1.41 + 0.94 - 0.32 = 2.03 -> tanh 0.9660869 (source: 0.97)
    assert s["a_g"] == pytest.approx(2.03, abs=1e-12)
    assert s["g"] == pytest.approx(0.9660869, abs=1e-7) and round(s["g"], 2) == 0.97
    # input gate: 2.00 + 1.65 + 0.62 = 4.27 -> sigmoid 0.9862110 (source: "about 1.0 (0.986)")
    assert s["a_i"] == pytest.approx(4.27, abs=1e-12)
    assert s["i"] == pytest.approx(0.9862110, abs=1e-7) and round(s["i"], 3) == 0.986
    # new long-term memory: 1.9948019 + 0.9527655 = 2.9475674 (source shows 2.96 = 1.99 + 0.97,
    # adding numbers already rounded and treating the input gate as 1; exact 2.948)
    assert s["c"] == pytest.approx(2.9475674, abs=1e-7) and round(s["c"], 3) == 2.948
    assert round(s["c_kept"], 2) + round(s["g"], 2) == pytest.approx(2.96)
    # output gate: 4.38 - 0.19 + 0.59 = 4.78 -> sigmoid 0.9916739 (source: 0.99)
    assert s["a_o"] == pytest.approx(4.78, abs=1e-12)
    assert s["o"] == pytest.approx(0.9916739, abs=1e-7) and round(s["o"], 2) == 0.99
    # tanh(new c) = 0.9945095 (source: 0.99); new short-term memory 0.9862291 (source: 0.98 / 0.986)
    assert s["tanh_c"] == pytest.approx(0.9945095, abs=1e-7) and round(s["tanh_c"], 2) == 0.99
    assert s["h"] == pytest.approx(0.9862291, abs=1e-7) and round(s["h"], 3) == 0.986


def test_input_minus_ten_forgets_and_adds_nothing():
    s = step(-10.0, 1.0, 2.0)
    # forget: 2.70 - 16.3 + 1.62 = -11.98 -> 6.2682944e-6; input: 2.00 - 16.5 + 0.62 = -13.88
    # -> 9.3754513e-7 (source: both "about 0": everything forgotten, nothing added)
    assert s["f"] == pytest.approx(6.2682944e-6, rel=1e-7, abs=0)
    assert s["i"] == pytest.approx(9.3754513e-7, rel=1e-7, abs=0)
    # candidate: 1.41 - 9.4 - 0.32 = -8.31 -> tanh -0.99999988 (source: about -1)
    assert s["g"] == pytest.approx(-0.99999988, abs=1e-8)
    # new long-term memory: 2 * 6.27e-6 + 9.38e-7 * (-1.0) = 1.1599044e-5, next to nothing
    assert s["c"] == pytest.approx(1.1599044e-5, rel=1e-6)


def test_two_companies_day_by_day():
    x, y = lc.two_companies()
    hs, cache = lc.lstm_forward(x, P)
    cs = cache.cs
    # exact values from the same math-module recomputation as above
    # Company A after day 1: c = 0.650 * tanh(-0.32) = -0.2012 (source -0.20), h = -0.1278 (-0.13)
    assert cs[0, 0, 0] == pytest.approx(-0.2012471, abs=1e-7) and round(cs[0, 0, 0], 2) == -0.20
    assert hs[0, 0, 0] == pytest.approx(-0.1277553, abs=1e-7) and round(hs[0, 0, 0], 2) == -0.13
    # Company B after day 1: c = 0.4995 (source 0.50), h = 0.2764 (source 0.28)
    assert cs[1, 0, 0] == pytest.approx(0.4995214, abs=1e-7) and round(cs[1, 0, 0], 2) == 0.50
    assert hs[1, 0, 0] == pytest.approx(0.2764384, abs=1e-7) and round(hs[1, 0, 0], 2) == 0.28
    # Final short-term memory, the prediction for day 5: A 0.0064 (source "about 0.0",
    # exact 0.006), B 0.9694 (source "about 1.0", exact 0.969); targets 0 and 1
    assert hs[0, -1, 0] == pytest.approx(0.0063932, abs=1e-7) and round(hs[0, -1, 0], 3) == 0.006
    assert hs[1, -1, 0] == pytest.approx(0.9693935, abs=1e-7) and round(hs[1, -1, 0], 3) == 0.969
    np.testing.assert_array_equal(y, [[0.0], [1.0]])


def test_per_gate_functions_agree_with_the_fused_step(rng):
    p = lc.init_params(3, 4, rng=rng)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    f, i = lc.forget_gate(x, h, p), lc.input_gate(x, h, p)
    g, o = lc.candidate_memory(x, h, p), lc.output_gate(x, h, p)
    c_new = lc.cell_update(c, f, i, g)
    h_new = lc.hidden_update(c_new, o)
    h_fused, c_fused, _ = lc.lstm_step_forward(x, h, c, p)
    np.testing.assert_allclose(c_new, c_fused, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(h_new, h_fused, rtol=1e-14, atol=1e-15)


def math_step(x: float, h: float, c: float) -> dict:
    """The scalar cell written out with Python's math module: the independent oracle above."""

    def sig(z):
        return 1 / (1 + math.exp(-z))

    a_f, a_i = 2.70 * h + 1.63 * x + 1.62, 2.00 * h + 1.65 * x + 0.62
    a_g, a_o = 1.41 * h + 0.94 * x - 0.32, 4.38 * h - 0.19 * x + 0.59
    f, i, g, o = sig(a_f), sig(a_i), math.tanh(a_g), sig(a_o)
    c_new = f * c + i * g
    return {"f": f, "i": i, "g": g, "o": o, "c": c_new, "h": o * math.tanh(c_new)}


@pytest.mark.parametrize(("x", "h", "c"), [(1.0, 1.0, 2.0), (-10.0, 1.0, 2.0), (0.5, -0.3, 0.7)])
def test_trace_matches_the_math_module_oracle(x, h, c):
    mine, ref = step(x, h, c), math_step(x, h, c)
    for k, v in ref.items():
        assert mine[k] == pytest.approx(v, rel=1e-13, abs=1e-15), k
