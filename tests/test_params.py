import numpy as np
import pytest

import lstm_core as lc


def test_layout_and_init(rng):
    p = lc.init_params(3, 5, rng=rng)
    assert {k: v.shape for k, v in p.items()} == {"Wx": (3, 20), "Wh": (5, 20), "b": (20,)}
    assert all(v.dtype == np.float64 for v in p.values())
    assert np.all(p["b"][lc.gate_slice("f", 5)] == 1.0)
    bound = 1 / np.sqrt(5)
    assert np.abs(p["Wx"]).max() <= bound and np.abs(p["Wh"]).max() <= bound
    p32 = lc.init_params(3, 5, rng=0, dtype=np.float32)
    assert all(v.dtype == np.float32 for v in p32.values())
    # the same seed gives the same weights
    np.testing.assert_array_equal(
        lc.init_params(3, 5, rng=7)["Wh"], lc.init_params(3, 5, rng=7)["Wh"]
    )
    # ... and another seed other weights (the seed is used, not ignored)
    assert not np.array_equal(lc.init_params(3, 5, rng=7)["Wh"], lc.init_params(3, 5, rng=8)["Wh"])


def test_init_weights_fill_the_documented_range():
    """The weights are uniform in [-1/sqrt(H), 1/sqrt(H)] (as PyTorch's), not in a narrower
    range: with H = 64 the 64 x 256 = 16384 entries of Wh all stay within 0.8 of the bound
    with probability 0.8**16384, about 1e-1588, so reaching it is as good as certain."""
    H = 64
    bound = 1 / np.sqrt(H)
    p = lc.init_params(3, H, rng=0)
    for key in ("Wx", "Wh"):
        assert np.abs(p[key]).max() <= bound
    assert np.abs(p["Wh"]).max() > 0.8 * bound
    assert p["Wh"].min() < -0.8 * bound  # both signs


def test_gate_order_is_one_constant():
    assert lc.GATES == ("i", "f", "o", "g")
    assert [lc.gate_slice(g, 3) for g in lc.GATES] == [
        slice(0, 3),
        slice(3, 6),
        slice(6, 9),
        slice(9, 12),
    ]
    with pytest.raises(ValueError, match="gate must be one of"):
        lc.gate_slice("c", 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 3), "input_size must be a positive integer"),
        ((2, -1), "hidden_size must be a positive integer"),
        ((2.5, 3), "input_size must be a positive integer"),
    ],
)
def test_init_rejects_bad_sizes(args, message):
    with pytest.raises(ValueError, match=message):
        lc.init_params(*args)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, "complex128"])
def test_init_rejects_unknown_dtypes(dtype):
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        lc.init_params(2, 3, dtype=dtype)


def test_params_from_gates_and_gate_params_are_inverse(rng):
    D, H = 2, 3
    blocks = {
        g: (rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal(H))
        for g in lc.GATES
    }
    p = lc.params_from_gates(blocks)
    for g in lc.GATES:
        for got, want in zip(lc.gate_params(p, g), blocks[g], strict=True):
            np.testing.assert_array_equal(got, want)


def test_hand_worked_params_table():
    p = lc.HAND_WORKED_PARAMS
    # (w on x, w on h, b) per gate, from the source notes' table
    table = {
        "f": (1.63, 2.70, 1.62),
        "i": (1.65, 2.00, 0.62),
        "g": (0.94, 1.41, -0.32),
        "o": (-0.19, 4.38, 0.59),
    }
    for g, (wx, wh, b) in table.items():
        assert tuple(float(a.item()) for a in lc.gate_params(p, g)) == (wx, wh, b)
    with pytest.raises(ValueError, match="read-only"):
        p["Wx"][0, 0] = 0.0
    copy = lc.copy_params(p)
    copy["Wx"][0, 0] = 0.0  # a copy is writeable and independent
    assert p["Wx"][0, 0] == 1.65


def test_torch_round_trip_is_exact(rng):
    p = lc.init_params(4, 3, rng=rng)
    back = lc.from_torch(lc.to_torch(p))
    for k in p:
        np.testing.assert_array_equal(back[k], p[k])
    t = lc.to_torch(p)
    assert t["weight_ih_l0"].shape == (12, 4) and t["weight_hh_l0"].shape == (12, 3)
    # PyTorch's first block is the input gate, its third the candidate (g)
    np.testing.assert_array_equal(t["weight_ih_l0"][:3], p["Wx"][:, lc.gate_slice("i", 3)].T)
    np.testing.assert_array_equal(t["weight_ih_l0"][6:9], p["Wx"][:, lc.gate_slice("g", 3)].T)
    np.testing.assert_array_equal(t["weight_ih_l0"][9:], p["Wx"][:, lc.gate_slice("o", 3)].T)


def test_from_torch_sums_the_two_biases(rng):
    t = lc.to_torch(lc.init_params(2, 3, rng=rng))
    t["bias_hh_l0"] = np.arange(12.0)
    b_ih = lc.from_torch({**t, "bias_hh_l0": np.zeros(12)})["b"]
    np.testing.assert_array_equal(
        lc.from_torch(t)["b"] - b_ih, lc.from_torch({**t, "bias_ih_l0": np.zeros(12)})["b"]
    )
    with pytest.raises(ValueError, match="state_dict has no 'weight_hh_l0'"):
        lc.from_torch({"weight_ih_l0": t["weight_ih_l0"]})


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_sizes_of_any_integer_type_give_the_same_weights(cell):
    """init_model took 1 / np.sqrt(hidden_size) of the raw argument: np.int8(100) gave a
    float16 bound, and so other weights than hidden_size=100."""
    want = lc.init_model(cell, 2, 100, 3, rng=0)
    for H in (np.int8(100), np.uint8(100), np.int64(100)):
        got = lc.init_model(cell, np.int16(2), H, np.uint8(3), rng=0)
        assert set(got) == set(want)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k])
    init = lc.init_params if cell == "lstm" else lc.init_rnn_params
    for k, v in init(np.int8(2), np.int8(100), rng=0).items():
        np.testing.assert_array_equal(v, want[k])


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_init_model_draws_like_pytorch(cell):
    """Every weight uniform in [-1/sqrt(H), 1/sqrt(H)], as nn.LSTM, nn.RNN and nn.Linear(H, O)
    draw them (bound 1/sqrt(fan_in) = 1/sqrt(H) for the read-out too); the read-out's bias
    starts at 0 (init_model's docstring; the layer's own b is init_params'). Each array has
    48 draws or more, so its largest |value| falls short of 0.9 of the bound with probability
    at most 0.9^48 = 0.6 %, and does not for rng=0; with a 1/sqrt(O) bound, Wy's max would be
    0.1, below 0.9 / sqrt(16) = 0.225."""
    D, H, O = 3, 16, 100
    p = lc.init_model(cell, D, H, O, rng=0)
    bound = 1 / np.sqrt(H)
    for k in ("Wx", "Wh", "Wy"):
        assert np.abs(p[k]).max() <= bound, k
        assert np.abs(p[k]).max() > 0.9 * bound, k
    np.testing.assert_array_equal(p["by"], np.zeros(O))
