"""Bad input gets a clear error naming the argument and the expected shape."""

import numpy as np
import pytest

import lstm_core as lc


@pytest.fixture
def p(rng):
    return lc.init_params(3, 4, rng=rng)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"x": np.zeros((2, 5, 2))},
            ValueError,
            r"x must have shape \(N, T, D\) = \(\?, \?, 3\), got \(2, 5, 2\)",
        ),
        ({"x": np.zeros((2, 3))}, ValueError, r"x must have shape \(N, T, D\)"),
        ({"x": np.zeros((2, 0, 3))}, ValueError, "at least one sequence and one time step"),
        (
            {"h0": np.zeros((3, 4))},
            ValueError,
            r"h0 must have shape \(N, H\) = \(2, 4\), got \(3, 4\)",
        ),
        (
            {"c0": np.zeros((2, 5))},
            ValueError,
            r"c0 must have shape \(N, H\) = \(2, 4\), got \(2, 5\)",
        ),
        ({"x": np.zeros((2, 5, 3), complex)}, TypeError, "x must be a float32 or float64 array"),
        ({"x": np.zeros((2, 5, 3), np.float16)}, TypeError, "x must be a float32 or float64 array"),
    ],
)
def test_lstm_forward_rejects_bad_arguments(p, kwargs, error, message):
    args = {"x": np.zeros((2, 5, 3)), **kwargs}
    with pytest.raises(error, match=message):
        lc.lstm_forward(args.pop("x"), p, **args)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda p: p.pop("Wh"), ValueError, r"params is missing \['Wh'\]"),
        (
            lambda p: p.update(Wh=np.zeros((4, 15))),
            ValueError,
            r"params\['Wh'\] must have shape \(H, G\)",
        ),
        (
            lambda p: p.update(Wh=np.zeros((5, 16))),
            ValueError,
            r"params\['Wh'\] must have shape \(H, 4H\)",
        ),
        (
            lambda p: p.update(b=np.zeros(15)),
            ValueError,
            r"params\['b'\] must have shape \(G,\) = \(16,\)",
        ),
        (
            lambda p: p.update(Wx=np.zeros(16)),
            ValueError,
            r"params\['Wx'\] must have shape \(D, G\)",
        ),
        (
            lambda p: p["Wx"].__setitem__((0, 0), np.nan),
            ValueError,
            r"params\['Wx'\] contains NaN or infinity",
        ),
        (
            lambda p: p["b"].__setitem__(0, np.inf),
            ValueError,
            r"params\['b'\] contains NaN or infinity",
        ),
        (lambda p: p.update(b=p["b"].astype(np.float32)), TypeError, "must share one dtype"),
        (
            lambda p: p.update(Wx=p["Wx"].tolist()),
            TypeError,
            r"params\['Wx'\] must be a NumPy array",
        ),
        (
            lambda p: p.update(Wx=p["Wx"].astype(np.int64)),
            TypeError,
            r"params\['Wx'\] must be float32 or float64",
        ),
    ],
)
def test_bad_params_are_named(p, change, error, message):
    change(p)
    with pytest.raises(error, match=message):
        lc.lstm_forward(np.zeros((2, 5, 3)), p)


def test_params_must_be_a_dict():
    with pytest.raises(TypeError, match="params must be a dict"):
        lc.lstm_step_forward(np.zeros((1, 1)), None, None, [1, 2, 3])


def test_step_and_backward_shapes(p):
    x, h, c = np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((2, 4))
    with pytest.raises(ValueError, match=r"h_prev must have shape \(N, H\) = \(2, 4\)"):
        lc.lstm_step_forward(x, np.zeros((2, 3)), c, p)
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\) = \(\?, 3\)"):
        lc.lstm_step_forward(np.zeros((2, 4)), h, c, p)
    _, _, cache = lc.lstm_step_forward(x, h, c, p)
    with pytest.raises(ValueError, match=r"dh must have shape \(N, H\) = \(2, 4\)"):
        lc.lstm_step_backward(np.zeros((4, 2)), c, cache)
    _, seq = lc.lstm_forward(np.zeros((2, 5, 3)), p)
    with pytest.raises(ValueError, match=r"dhs must have shape \(N, T, H\) = \(2, 5, 4\)"):
        lc.lstm_backward(np.zeros((2, 4, 4)), seq)
    with pytest.raises(ValueError, match=r"dc_last must have shape \(N, H\)"):
        lc.lstm_backward(np.zeros((2, 5, 4)), seq, dc_last=np.zeros(4))
    with pytest.raises(TypeError, match="cache must be the SequenceCache"):
        lc.lstm_backward(np.zeros((2, 5, 4)), cache)


def test_rnn_and_losses_reject_bad_input(rng):
    p = lc.init_rnn_params(3, 4, rng=rng)
    with pytest.raises(ValueError, match=r"params\['Wh'\] must have shape \(H, H\) for an RNN"):
        lc.rnn_forward(np.zeros((1, 2, 3)), lc.init_params(3, 4))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D\)"):
        lc.rnn_forward(np.zeros((1, 2, 2)), p)
    with pytest.raises(ValueError, match="target must have the shape of pred"):
        lc.mse_loss(np.zeros((2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 3\)"):
        lc.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="targets must be integer class indices"):
        lc.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_float32_is_kept_end_to_end(rng):
    p = lc.init_params(3, 4, rng=rng, dtype=np.float32)
    x = rng.standard_normal((2, 5, 3))  # float64 input is cast to the parameters' dtype
    hs, cache = lc.lstm_forward(x, p)
    dx, dh0, dc0, grads = lc.lstm_backward(np.ones((2, 5, 4), np.float32), cache)
    assert {a.dtype for a in (hs, dx, dh0, dc0, *grads.values())} == {np.dtype(np.float32)}


def test_inputs_and_gradients_are_never_modified(rng, p):
    x, dhs, dc = (
        rng.standard_normal((2, 5, 3)),
        rng.standard_normal((2, 5, 4)),
        rng.standard_normal((2, 4)),
    )
    copies = [a.copy() for a in (x, dhs, dc, *p.values())]
    _, cache = lc.lstm_forward(x, p)
    lc.lstm_backward(dhs, cache, dc_last=dc, dh_last=dc)
    for before, after in zip(copies, (x, dhs, dc, *p.values()), strict=True):
        np.testing.assert_array_equal(before, after)


def test_caches_stay_valid_while_other_calls_reuse_buffers(rng, p):
    """Two forwards, then two backwards in the other order: each cache keeps its own data."""
    xa, xb = rng.standard_normal((2, 30, 3)), rng.standard_normal((2, 30, 3))
    dhs = rng.standard_normal((2, 30, 4))
    ref_a = lc.lstm_backward(dhs, lc.lstm_forward(xa, p)[1])
    ref_b = lc.lstm_backward(dhs, lc.lstm_forward(xb, p)[1])
    hs_a, cache_a = lc.lstm_forward(xa, p)
    hs_b, cache_b = lc.lstm_forward(xb, p)
    got_b = lc.lstm_backward(dhs, cache_b)
    got_a = lc.lstm_backward(dhs, cache_a)
    for ref, got in ((ref_a, got_a), (ref_b, got_b)):
        for r, g in zip(ref[:3], got[:3], strict=True):
            np.testing.assert_array_equal(r, g)
    assert not np.shares_memory(hs_a, hs_b)


def test_the_pool_never_hands_out_a_held_array():
    from lstm_core import _workspace

    a = _workspace.empty((64, 1024), np.float64)
    view = a[1:]
    del a
    b = _workspace.empty((64, 1024), np.float64)
    assert not np.shares_memory(b, view)
    del b
    c = _workspace.empty((64, 1024), np.float64)  # b was released: it may come back
    assert not np.shares_memory(c, view)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_saturated_gates_are_exact_and_silent(dtype):
    """Pre-activations of +-1000 give gates of exactly 1 and 0, with no floating-point error."""
    p = lc.init_params(2, 3, rng=0, dtype=dtype)
    p["b"][:] = 1000.0
    p["b"][lc.gate_slice("f", 3)] = -1000.0
    with np.errstate(all="raise"):
        _, cache = lc.lstm_forward(np.zeros((1, 2, 2), dtype), p)
    g = cache.gate_values[0, 0]
    assert np.all(g[lc.gate_slice("i", 3)] == 1.0) and np.all(g[lc.gate_slice("f", 3)] == 0.0)
    assert np.all(g[lc.gate_slice("g", 3)] == 1.0)
