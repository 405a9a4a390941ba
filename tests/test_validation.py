"""Bad input gets a clear error naming the argument and the expected shape."""

import warnings

import numpy as np
import pytest

import lstm_core as lc
from lstm_core import reference


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


def test_gate_functions_cast_float64_states_to_float32_params(rng):
    """The per-gate functions and the trace, too, cast x, h_prev and c_prev to the params' dtype."""
    p = lc.init_params(3, 4, rng=rng, dtype=np.float32)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    for gate in (lc.forget_gate, lc.input_gate, lc.candidate_memory, lc.output_gate):
        assert gate(x, h, p).dtype == np.float32, gate.__name__
    assert lc.gate_preactivation(x, h, p, "f").dtype == np.float32
    trace = lc.lstm_step_trace(x, h, c, p)
    assert {k: v.dtype for k, v in trace.items()} == {k: np.dtype(np.float32) for k in trace}


def test_a_read_out_that_is_not_finite_is_refused_by_name(rng):
    p = lc.init_model("lstm", 2, 3, 2, rng=rng)
    for key in ("Wy", "by"):
        bad = {**p, key: p[key].copy()}
        bad[key].flat[1] = np.nan
        with pytest.raises(ValueError, match=rf"^params\['{key}'\] contains NaN or infinity"):
            lc.model_forward(np.zeros((1, 2, 2)), bad)


def test_a_model_cache_whose_params_are_another_cells_is_refused(rng):
    """An LSTM's cache given an RNN's params of the same sizes would mix the two silently."""
    p, q = lc.init_model("lstm", 2, 3, 2, rng=rng), lc.init_model("rnn", 2, 3, 2, rng=rng)
    _, cache = lc.model_forward(np.zeros((1, 4, 2)), p)
    with pytest.raises(ValueError, match=r"whose params are not an LSTM's$"):
        lc.model_backward(np.ones((1, 2)), cache._replace(params=q))


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


def test_step_outputs_are_not_views_of_the_cache(rng, p):
    """Resetting h or c in place after a step (h *= 0) must change neither the cache's states
    nor that step's backward."""
    x, h0, c0 = (
        rng.standard_normal((2, 3)),
        rng.standard_normal((2, 4)),
        rng.standard_normal((2, 4)),
    )
    dh, dc = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    want = lc.lstm_step_backward(dh, dc, lc.lstm_step_forward(x, h0, c0, p)[2])
    h, c, cache = lc.lstm_step_forward(x, h0, c0, p)
    h_kept, c_kept = cache.sequence.h_last.copy(), cache.sequence.c_last.copy()
    h *= 0.0
    c *= 0.0
    np.testing.assert_array_equal(cache.sequence.h_last, h_kept)
    np.testing.assert_array_equal(cache.sequence.c_last, c_kept)
    got = lc.lstm_step_backward(dh, dc, cache)
    for w, g in zip((*want[:3], *want[3].values()), (*got[:3], *got[3].values()), strict=True):
        np.testing.assert_array_equal(w, g)


def test_caches_stay_valid_while_other_calls_reuse_buffers(rng, p, monkeypatch):
    """Two forwards, then two backwards in the other order: each cache keeps its own data.

    The arrays here are below the pool's MIN_BYTES, so the test lowers it to 0: every
    scratch array then goes through the pool, which must hold some (or nothing was tested).
    """
    from lstm_core import _workspace

    monkeypatch.setattr(_workspace, "MIN_BYTES", 0)
    _workspace.clear()
    _workspace.set_limit(_workspace.DEFAULT_LIMIT)
    try:
        xa, xb = rng.standard_normal((2, 30, 3)), rng.standard_normal((2, 30, 3))
        dhs = rng.standard_normal((2, 30, 4))
        ref_a = lc.lstm_backward(dhs, lc.lstm_forward(xa, p)[1])
        ref_b = lc.lstm_backward(dhs, lc.lstm_forward(xb, p)[1])
        hs_a, cache_a = lc.lstm_forward(xa, p)
        hs_b, cache_b = lc.lstm_forward(xb, p)
        got_b = lc.lstm_backward(dhs, cache_b)
        got_a = lc.lstm_backward(dhs, cache_a)
        assert _workspace.held_bytes() > 0  # the pool was in play
        for ref, got in ((ref_a, got_a), (ref_b, got_b)):
            for r, g in zip(ref[:3], got[:3], strict=True):
                np.testing.assert_array_equal(r, g)
            for k in ref[3]:
                np.testing.assert_array_equal(ref[3][k], got[3][k])
        assert not np.shares_memory(hs_a, hs_b)
    finally:
        _workspace.clear()


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


def _matrix(a):
    """``np.matrix(a)``, whose ``*`` is a matrix product (NumPy warns that it is deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(a)


def test_an_ndarray_subclass_is_read_as_a_plain_array(rng, p):
    """np.matrix makes * a matrix product: its numbers must be read as a plain array's."""
    x = rng.standard_normal((2, 3))
    want = lc.lstm_step_forward(x, None, None, p)
    for step in (lc.lstm_step_forward, reference.lstm_step_forward):
        h, c, _ = step(_matrix(x), None, None, p)
        assert type(h) is np.ndarray and type(c) is np.ndarray
        np.testing.assert_allclose(h, want[0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(c, want[1], rtol=1e-12, atol=1e-15)
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    c = lc.cell_update(_matrix(a), _matrix(a), _matrix(a), _matrix(a))  # f * c_prev + i * g
    assert type(c) is np.ndarray
    np.testing.assert_array_equal(c, 2 * a * a)
    np.testing.assert_array_equal(lc.sigmoid(_matrix(a)), lc.sigmoid(a))


def test_elementwise_updates_convert_integers_instead_of_wrapping():
    """int64 arrays used to pass through: 4 * 2**62 wrapped around to 0."""
    c = lc.cell_update(np.array([2**62]), np.array([4]), np.array([0]), np.array([0]))
    assert c.dtype == np.float64 and c[0] == 2.0**64
    assert lc.cell_update(np.array([[3]]), np.int64(2), 1, np.array([1])).dtype == np.float64
    h = lc.hidden_update(np.array([0, 100]), np.array([3, 2**62]))
    np.testing.assert_array_equal(h, [0.0, 2.0**62])
    # a Python int stays a weak scalar, as a Python float does: float32 is kept
    c32 = np.ones(2, np.float32)
    assert lc.cell_update(c32, 1, 0, 0).dtype == np.float32
    assert lc.cell_update(c32, 0.5, np.float32(0.5), 2).dtype == np.float32
    # NumPy integer scalars are converted too: np.int64(4) * np.int64(2**62) would wrap to 0
    c = lc.cell_update(np.int64(2**62), np.int64(4), np.int64(0), np.uint8(0))
    assert c == 2.0**64 and isinstance(c, np.float64)
    # and Python ints alone give a float, exactly 3 * 2 + 4 * 5 = 26.0 (by hand)
    c = lc.cell_update(2, 3, 4, 5)
    assert c == 26.0 and isinstance(c, float)
    c = lc.cell_update(2**62, 4, 0, 0)
    assert c == 2.0**64 and isinstance(c, float)


def test_backward_results_take_the_dtype_of_the_cache(rng):
    """A float64 upstream gradient on a float32 cache gives float32 gradients everywhere."""
    p32 = lc.init_params(3, 4, rng=rng, dtype=np.float32)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    dh, dc = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))  # float64
    ref = reference.lstm_step_backward(dh, dc, reference.lstm_step_forward(x, None, None, p32)[2])
    fast = lc.lstm_step_backward(dh, dc, lc.lstm_step_forward(x, None, None, p32)[2])
    assert {a.dtype for a in (*ref[:3], *ref[3].values())} == {np.dtype(np.float32)}
    assert {a.dtype for a in (*fast[:3], *fast[3].values())} == {np.dtype(np.float32)}
    for r, f in zip((*ref[:3], *ref[3].values()), (*fast[:3], *fast[3].values()), strict=True):
        np.testing.assert_allclose(r, f, rtol=1e-5, atol=1e-6)
    for cell in ("lstm", "rnn"):
        model = lc.init_model(cell, 3, 4, 2, rng=rng, dtype=np.float32)
        y, cache = lc.model_forward(rng.standard_normal((2, 5, 3)), model)
        grads = lc.model_backward(rng.standard_normal(y.shape), cache)  # float64 dy
        assert {k: g.dtype for k, g in grads.items()} == {k: np.dtype(np.float32) for k in model}
