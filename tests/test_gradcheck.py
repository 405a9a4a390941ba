"""Every backward function against centred differences, relative error < 1e-7 in float64."""

import warnings

import numpy as np
import pytest

import lstm_core as lc
from lstm_core.lstm import CHUNK

THRESHOLD = 1e-7
# The five-point centred stencil (error ~h**4) with h = 1e-3: its round-off (~1e-16 / h)
# and truncation (~h**4) both stay near 1e-12, so even gradient entries of 1e-5 are
# resolved to 1e-7. Over 40 random seeds of the BPTT check the worst error was 1.1e-8;
# the two-point stencil cannot reach 1e-7 on such entries at any h.
STEP, ORDER = 1e-3, 4


def check(f, inputs, analytic, df=None):
    errors = lc.gradcheck(f, inputs, analytic, df=df, h=STEP, order=ORDER)
    bad = {k: v for k, v in errors.items() if not v < THRESHOLD}
    assert not bad, f"relative errors above {THRESHOLD}: {bad}"


def lstm_setup(rng, N=2, T=3, D=3, H=4):
    p = lc.init_params(D, H, rng=rng)
    p["b"] = rng.standard_normal(4 * H)
    return (
        p,
        rng.standard_normal((N, T, D)),
        rng.standard_normal((N, H)),
        rng.standard_normal((N, H)),
    )


def test_lstm_step_backward(rng):
    p, x, h0, c0 = lstm_setup(rng)
    x = x[:, 0].copy()
    dh, dc = rng.standard_normal(h0.shape), rng.standard_normal(c0.shape)

    def outputs():
        return lc.lstm_step_forward(x, h0, c0, p)[:2]

    _, _, cache = lc.lstm_step_forward(x, h0, c0, p)
    dx, dh0, dc0, g = lc.lstm_step_backward(dh, dc, cache)
    analytic = {"x": dx, "h0": dh0, "c0": dc0, **g}
    check(outputs, {"x": x, "h0": h0, "c0": c0, **p}, analytic, df=(dh, dc))


@pytest.mark.parametrize("T", [5, CHUNK + 2])  # within one chunk of the backward pass; across two
@pytest.mark.parametrize("with_final", [False, True])
def test_lstm_backward_through_time(rng, with_final, T):
    p, x, h0, c0 = lstm_setup(rng, N=3, T=T)
    dhs = rng.standard_normal((3, T, 4))
    dc_last = rng.standard_normal((3, 4)) if with_final else None
    dh_last = rng.standard_normal((3, 4)) if with_final else None

    def outputs():
        hs, cache = lc.lstm_forward(x, p, h0, c0)
        return (hs, cache.c_last.copy(), cache.h_last.copy()) if with_final else hs

    df = (dhs, dc_last, dh_last) if with_final else dhs
    _, cache = lc.lstm_forward(x, p, h0, c0)
    dx, dh0, dc0, g = lc.lstm_backward(dhs, cache, dc_last=dc_last, dh_last=dh_last)
    check(outputs, {"x": x, "h0": h0, "c0": c0, **p}, {"x": dx, "h0": dh0, "c0": dc0, **g}, df)


def test_rnn_step_and_sequence_backward(rng):
    p = lc.init_rnn_params(3, 4, rng=rng)
    x, h0 = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 4))
    dhs = rng.standard_normal((2, 6, 4))

    _, cache = lc.rnn_forward(x, p, h0)
    dx, dh0, g = lc.rnn_backward(dhs, cache)
    check(
        lambda: lc.rnn_forward(x, p, h0)[0], {"x": x, "h0": h0, **p}, {"x": dx, "h0": dh0, **g}, dhs
    )

    x1 = x[:, 0].copy()

    _, scache = lc.rnn_step_forward(x1, h0, p)
    dx1, dh_prev, g1 = lc.rnn_step_backward(dhs[:, 0], scache)
    analytic = {"x": dx1, "h0": dh_prev, **g1}
    check(lambda: lc.rnn_step_forward(x1, h0, p)[0], {"x": x1, "h0": h0, **p}, analytic, dhs[:, 0])


def test_losses(rng):
    pred, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    _, dpred = lc.mse_loss(pred, target)
    check(lambda: lc.mse_loss(pred, target)[0], {"pred": pred}, {"pred": dpred})
    logits, labels = rng.standard_normal((2, 5, 7)), rng.integers(0, 7, (2, 5))
    _, dlogits = lc.softmax_cross_entropy(logits, labels)
    check(
        lambda: lc.softmax_cross_entropy(logits, labels)[0], {"logits": logits}, {"logits": dlogits}
    )


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize(("readout", "out"), [("last", 2), ("all", 5), ("last", None)])
def test_model_backward(rng, cell, readout, out):
    p = lc.init_model(cell, 3, 4, out, rng=rng)
    x = rng.standard_normal((2, 4, 3))
    y, cache = lc.model_forward(x, p, readout=readout)
    dy = rng.standard_normal(y.shape)
    grads = lc.model_backward(dy, cache)
    assert set(grads) == set(p)
    check(lambda: lc.model_forward(x, p, readout=readout)[0], p, grads, dy)


@pytest.mark.parametrize("loss", ["mse", "softmax"])
def test_model_loss_chains_loss_and_model(rng, loss):
    p = lc.init_model("lstm", 3, 4, 5, rng=rng)
    x = rng.standard_normal((2, 4, 3))
    y = rng.standard_normal((2, 5)) if loss == "mse" else rng.integers(0, 5, 2)
    value, grads = lc.model_loss(x, y, p, loss=loss)
    out, cache = lc.model_forward(x, p)
    expected_value, dout = (
        lc.mse_loss(out, y) if loss == "mse" else lc.softmax_cross_entropy(out, y)
    )
    assert value == expected_value
    for k, g in lc.model_backward(dout, cache).items():
        np.testing.assert_array_equal(grads[k], g)


def test_gradcheck_detects_a_wrong_gradient(rng):
    """The checker itself must fail on a plausible bug: a gradient missing the sigmoid's slope."""
    x = rng.standard_normal(5)
    errors = lc.gradcheck(lambda: np.sum(lc.sigmoid(x)), {"x": x}, {"x": np.ones(5)})
    assert errors["x"] > 0.1


def test_two_point_stencil_is_accurate_on_well_scaled_gradients(rng):
    """The textbook (f(x+h) - f(x-h)) / 2h that the course teaches, on a smooth function."""
    x = rng.uniform(0.5, 2.0, 6)
    num = lc.numerical_gradient(lambda v: np.sum(np.sin(v) * v), x)
    assert lc.rel_error(num, np.cos(x) * x + np.sin(x)) < 1e-8


def test_rel_error():
    assert lc.rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert lc.rel_error([1.0], [3.0]) == pytest.approx(0.5)
    # small values keep their relative error: |a - b| / (|a| + |b|) = 1e-6 / 3e-6; the floor
    # on the denominator (1e-8) only guards against 0 / 0
    assert lc.rel_error([1e-6], [2e-6]) == pytest.approx(1 / 3)
    assert lc.rel_error([0.0], [0.0]) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        lc.rel_error([1.0], [1.0, 2.0])


def test_numerical_gradient_copies_what_f_returns(rng):
    """An f that writes every result into the same buffer still gets the right gradient."""
    x = rng.standard_normal((3, 4))
    W = rng.standard_normal((4, 5))
    buffer = np.empty((3, 5))

    def f(x):
        np.matmul(x, W, out=buffer)  # the same array every call
        return buffer

    df = rng.standard_normal((3, 5))
    # d sum(df * (x @ W)) / dx = df @ W.T, exactly (f is linear)
    got = lc.numerical_gradient(f, x, df=df)
    np.testing.assert_allclose(got, df @ W.T, rtol=1e-7, atol=1e-9)
    tuple_got = lc.numerical_gradient(lambda x: (f(x), f(x)), x, df=(df, df))
    np.testing.assert_allclose(tuple_got, 2 * df @ W.T, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_divides_by_the_step_actually_taken():
    """In float32, 100 +- 1e-5 rounds to 100 +- 7.6e-6: dividing by 2h instead gave 0.76."""
    x = np.array([100.0], np.float32)
    assert lc.numerical_gradient(lambda a: float(a.sum()), x)[0] == 1.0
    x = np.array([100.0, 3.0, -7.5], np.float32)
    exact = 2 * x.astype(np.float64)
    for order, h in ((2, 1e-3), (4, 1e-2)):  # 1e-3 at 100 is 131.07 float32 spacings
        num = lc.numerical_gradient(
            lambda a: float(np.sum(a.astype(np.float64) ** 2)), x, h=h, order=order
        )
        np.testing.assert_allclose(num, exact, rtol=1e-6)
    num = lc.numerical_gradient(
        lambda a: float(np.sum(np.sin(a.astype(np.float64)))), x, h=1e-2, order=4
    )
    np.testing.assert_allclose(num, np.cos(x.astype(np.float64)), rtol=1e-8)


def test_the_five_point_stencil_refuses_steps_that_rounding_moves_too_far():
    """At 100 in float32 a step of 1e-5 becomes one spacing, 7.6e-6, and 2e-5 three: the
    stencil's points are no longer evenly spaced."""
    x = np.full(2, 100.0, np.float32)
    message = (
        r"^h must be large enough for the steps x \+- h and x \+- 2h, rounded to float32, to "
        r"stay within 1% of h and 2h \(order 4 needs evenly spaced points\), got 1e-05, whose "
        r"steps are off by up to 24%$"
    )
    with pytest.raises(ValueError, match=message):
        lc.numerical_gradient(lambda a: float(a.sum()), x, h=1e-5, order=4)
    with pytest.raises(ValueError, match=message.replace("x", r"inputs\['x'\]", 2)):
        lc.gradcheck(lambda: float(x.sum()), {"x": x}, {"x": np.ones(2)}, h=1e-5, order=4)
    np.testing.assert_array_equal(x, 100.0)
    total = lc.numerical_gradient(lambda a: float(a.sum(dtype=np.float64)), x, h=1e-5)
    np.testing.assert_array_equal(total, 1.0)  # order 2 divides by the steps taken


def test_a_matrix_df_is_read_as_an_array_of_upstream_gradients(rng):
    """np.matrix makes * a matrix product: df would have been applied as one."""
    x, df = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        df_matrix = np.asmatrix(df)
    want = lc.numerical_gradient(np.sin, x, df=df)
    np.testing.assert_array_equal(lc.numerical_gradient(np.sin, x, df=df_matrix), want)
    np.testing.assert_allclose(want, df * np.cos(x), rtol=1e-8)


def test_rnn_backward_adds_dh_last_to_the_last_step(rng):
    """dh_last is "added to dhs[:, -1]" (rnn_backward's docstring): the two calls agree."""
    p = lc.init_rnn_params(3, 4, rng=rng)
    _, cache = lc.rnn_forward(rng.standard_normal((2, 5, 3)), p)
    dhs, dh_last = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 4))
    folded = dhs.copy()
    folded[:, -1] += dh_last
    want = lc.rnn_backward(folded, cache)
    kept = dhs.copy(), dh_last.copy()
    got = lc.rnn_backward(dhs, cache, dh_last=dh_last)
    np.testing.assert_array_equal(dhs, kept[0])  # incoming gradients are never modified
    np.testing.assert_array_equal(dh_last, kept[1])
    for w, g in zip((*want[:2], *want[2].values()), (*got[:2], *got[2].values()), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_rnn_caches_whose_arrays_do_not_fit_are_refused(rng):
    """A cache one hidden state short, or of zero sequences, or a step cache whose h_prev
    lost a row, is refused by name instead of broadcasting into wrong gradients."""
    p = lc.init_rnn_params(3, 4, rng=rng)
    _, cache = lc.rnn_forward(rng.standard_normal((2, 5, 3)), p)
    wanted = r"^cache must be the RNNCache from rnn_forward, got one whose "
    with pytest.raises(ValueError, match=wanted + r"h is an array of shape \(5, 2, 4\)"):
        lc.rnn_backward(np.zeros((2, 5, 4)), cache._replace(h=cache.h[:-1]))
    empty = cache._replace(h=cache.h[:, :0], x=cache.x[:, :0])
    with pytest.raises(ValueError, match=wanted + r"x is an array of shape \(5, 0, 3\)"):
        lc.rnn_backward(np.zeros((0, 5, 4)), empty)
    _, step = lc.rnn_step_forward(rng.standard_normal((2, 3)), None, p)
    with pytest.raises(ValueError, match=r"got one whose h_prev is an array of shape \(1, 4\)"):
        lc.rnn_step_backward(np.zeros((2, 4)), step._replace(h_prev=step.h_prev[:1]))


def test_rnn_cache_h_last_is_the_final_hidden_state(rng):
    hs, cache = lc.rnn_forward(rng.standard_normal((2, 5, 3)), lc.init_rnn_params(3, 4, rng=rng))
    np.testing.assert_array_equal(cache.h_last, hs[:, -1])
