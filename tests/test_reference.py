"""The plain reference (lstm_core.reference) against its oracles, and the fast code against it.

Oracles for the reference: PyTorch's nn.LSTM and nn.LSTMCell on identical weights,
centred differences, and the hand-worked example's numbers. Then lstm.py (the fast
sequence functions) and cell.py (the fast step) must equal the reference.
"""

import numpy as np
import pytest

import lstm_core as lc
from lstm_core import reference as ref
from lstm_core.lstm import CHUNK

CACHE_KEYS = {"x", "h_prev", "c_prev", "i", "f", "o", "g", "c", "tanh_c", "params"}
# (N, T, D, H): N = 1, T = 1, D != H, D == H, and T across chunks of the fast backward pass
SHAPES = [
    (1, 1, 1, 1),
    (1, 7, 3, 5),
    (4, 1, 6, 2),
    (3, 9, 4, 4),
    (2, CHUNK + 1, 3, 4),
    (5, 2 * CHUNK + 3, 7, 3),
]


def make(rng, shape, dtype=np.float64):
    """Random params (every bias, not only the forget gate's), inputs, states and gradients."""
    N, T, D, H = shape
    p = lc.init_params(D, H, rng=rng, dtype=dtype)
    p["b"] = rng.standard_normal(4 * H).astype(dtype)
    a = {
        "x": rng.standard_normal((N, T, D)),
        "h0": rng.standard_normal((N, H)),
        "c0": rng.standard_normal((N, H)),
        "dhs": rng.standard_normal((N, T, H)),
        "dh_last": rng.standard_normal((N, H)),
        "dc_last": rng.standard_normal((N, H)),
    }
    return p, {k: v.astype(dtype) for k, v in a.items()}


def run(module, p, a):
    """Forward and backward of ``module`` (reference or the fast package) on ``a``."""
    hs, cache = module.lstm_forward(a["x"], p, a["h0"], a["c0"])
    dx, dh0, dc0, grads = module.lstm_backward(
        a["dhs"], cache, dh_last=a["dh_last"], dc_last=a["dc_last"]
    )
    c_last = cache[-1]["c"] if module is ref else cache.c_last
    return {"hs": hs, "c_last": c_last, "dx": dx, "dh0": dh0, "dc0": dc0, **grads}


# -- the contract ---------------------------------------------------------------------


def test_step_cache_and_sequence_cache_follow_the_contract(rng):
    p, a = make(rng, (2, 3, 3, 4))
    h, c, cache = ref.lstm_step_forward(a["x"][:, 0], a["h0"], a["c0"], p)
    assert set(cache) == CACHE_KEYS
    assert cache["params"] is p
    for k in ("i", "f", "o", "g", "c", "tanh_c"):
        assert cache[k].shape == (2, 4), k
    np.testing.assert_array_equal(cache["c"], c)
    np.testing.assert_array_equal(cache["o"] * cache["tanh_c"], h)
    hs, seq = ref.lstm_forward(a["x"], p)
    assert isinstance(seq, list) and len(seq) == 3
    assert all(set(step) == CACHE_KEYS for step in seq)
    np.testing.assert_array_equal(seq[0]["h_prev"], np.zeros((2, 4)))  # h0 omitted: zeros
    np.testing.assert_array_equal(seq[1]["h_prev"], hs[:, 0])
    out = ref.lstm_backward(a["dhs"], seq)
    assert [np.shape(v) for v in out[:3]] == [(2, 3, 3), (2, 4), (2, 4)]
    assert {k: v.shape for k, v in out[3].items()} == {k: v.shape for k, v in p.items()}


def test_gates_are_read_in_gates_order(rng):
    """Each gate of the cache is its own block of the pre-activation, as GATES lays them out."""
    p, a = make(rng, (3, 1, 2, 5))
    x, h0 = a["x"][:, 0], a["h0"]
    _, _, cache = ref.lstm_step_forward(x, h0, a["c0"], p)
    for gate in lc.GATES:
        pre = lc.gate_preactivation(x, h0, p, gate)
        squash = lc.sigmoid if gate in lc.SIGMOID_GATES else lc.tanh
        np.testing.assert_array_equal(cache[gate], squash(pre), err_msg=gate)


def test_reference_never_modifies_its_inputs(rng):
    p, a = make(rng, (2, 4, 3, 3))
    before = {k: v.copy() for k, v in {**a, **p}.items()}
    run(ref, p, a)
    for k, v in {**a, **p}.items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_reference_rejects_bad_shapes(rng):
    p, a = make(rng, (2, 3, 3, 4))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D\)"):
        ref.lstm_forward(np.zeros((2, 3, 4)), p)
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, H\) = \(2, 4\)"):
        ref.lstm_forward(a["x"], p, h0=np.zeros((2, 3)))
    _, cache = ref.lstm_forward(a["x"], p)
    with pytest.raises(ValueError, match=r"dhs must have shape \(N, T, H\) = \(2, 3, 4\)"):
        ref.lstm_backward(np.zeros((2, 2, 4)), cache)


# -- the reference against its oracles ------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES[:4])
def test_reference_sequence_matches_nn_lstm(torch, rng, shape):
    p, a = make(rng, shape)
    D, H = p["Wx"].shape[0], p["Wh"].shape[0]
    m = torch.nn.LSTM(D, H, batch_first=True).double()
    m.load_state_dict({k: torch.from_numpy(v) for k, v in lc.to_torch(p).items()})
    x = torch.from_numpy(a["x"]).requires_grad_(True)
    h0 = torch.from_numpy(a["h0"][None]).requires_grad_(True)
    c0 = torch.from_numpy(a["c0"][None]).requires_grad_(True)
    out, (hn, cn) = m(x, (h0, c0))
    # the loss whose gradients reference.lstm_backward returns, with dh_last and dc_last
    loss = (
        (out * torch.from_numpy(a["dhs"])).sum()
        + (hn[0] * torch.from_numpy(a["dh_last"])).sum()
        + (cn[0] * torch.from_numpy(a["dc_last"])).sum()
    )
    loss.backward()
    tg = lc.grads_from_torch(m)
    theirs = {
        "hs": out,
        "c_last": cn[0],
        "dx": x.grad,
        "dh0": h0.grad[0],
        "dc0": c0.grad[0],
        "Wx": tg["Wx"],
        "Wh": tg["Wh"],
        "b": tg["b"],
    }
    mine = run(ref, p, a)
    for k, v in theirs.items():
        v = v.detach().numpy() if hasattr(v, "detach") else v
        np.testing.assert_allclose(mine[k], v, rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("N,D,H", [(1, 1, 1), (5, 3, 7)])
def test_reference_step_matches_nn_lstmcell(torch, rng, N, D, H):
    p, a = make(rng, (N, 1, D, H))
    cell = torch.nn.LSTMCell(D, H).double()
    cell.load_state_dict(
        {k.removesuffix("_l0"): torch.from_numpy(v) for k, v in lc.to_torch(p).items()}
    )
    x = torch.from_numpy(a["x"][:, 0]).requires_grad_(True)
    h0 = torch.from_numpy(a["h0"]).requires_grad_(True)
    c0 = torch.from_numpy(a["c0"]).requires_grad_(True)
    ht, ct = cell(x, (h0, c0))
    dh, dc = a["dhs"][:, 0], a["dc_last"]
    ((ht * torch.from_numpy(dh)).sum() + (ct * torch.from_numpy(dc)).sum()).backward()

    h, c, cache = ref.lstm_step_forward(a["x"][:, 0], a["h0"], a["c0"], p)
    dx, dh_prev, dc_prev, grads = ref.lstm_step_backward(dh, dc, cache)
    tg = lc.from_torch(cell)  # the module itself: its weights, which equal p
    np.testing.assert_allclose(tg["Wx"], p["Wx"], rtol=1e-15)
    tg = lc.grads_from_torch(cell)
    pairs = {"h": (h, ht), "c": (c, ct), "dx": (dx, x.grad), "dh_prev": (dh_prev, h0.grad)}
    pairs |= {"dc_prev": (dc_prev, c0.grad), "Wx": (grads["Wx"], tg["Wx"])}
    pairs |= {"Wh": (grads["Wh"], tg["Wh"]), "b": (grads["b"], tg["b"])}
    for k, (mine, theirs) in pairs.items():
        theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12, err_msg=k)


# centred differences: as in test_gradcheck.py, the five-point stencil with h = 1e-3
THRESHOLD, STEP, ORDER = 1e-7, 1e-3, 4


def check(f, inputs, analytic, df):
    errors = lc.gradcheck(f, inputs, analytic, df=df, h=STEP, order=ORDER)
    bad = {k: v for k, v in errors.items() if not v < THRESHOLD}
    assert not bad, f"relative errors above {THRESHOLD}: {bad}"


def test_reference_step_backward_against_centred_differences(rng):
    p, a = make(rng, (3, 1, 3, 4))
    x, h0, c0 = a["x"][:, 0].copy(), a["h0"], a["c0"]
    dh, dc = a["dhs"][:, 0], a["dc_last"]
    _, _, cache = ref.lstm_step_forward(x, h0, c0, p)
    dx, dh_prev, dc_prev, grads = ref.lstm_step_backward(dh, dc, cache)
    check(
        lambda: ref.lstm_step_forward(x, h0, c0, p)[:2],
        {"x": x, "h0": h0, "c0": c0, **p},
        {"x": dx, "h0": dh_prev, "c0": dc_prev, **grads},
        df=(dh, dc),
    )


@pytest.mark.parametrize("shape", [(2, 1, 3, 2), (3, 6, 2, 4)])
def test_reference_backward_through_time_against_centred_differences(rng, shape):
    p, a = make(rng, shape)
    x, h0, c0 = a["x"], a["h0"], a["c0"]

    def outputs():
        hs, cache = ref.lstm_forward(x, p, h0, c0)
        return hs, hs[:, -1], cache[-1]["c"]  # every h, and the final h and c

    got = run(ref, p, a)
    analytic = {"x": got["dx"], "h0": got["dh0"], "c0": got["dc0"]}
    analytic |= {k: got[k] for k in ("Wx", "Wh", "b")}
    check(
        outputs,
        {"x": x, "h0": h0, "c0": c0, **p},
        analytic,
        df=(a["dhs"], a["dh_last"], a["dc_last"]),
    )


def test_reference_reproduces_the_hand_worked_example():
    """The numbers of tests/test_hand_worked.py (Python's math module), through the reference."""
    P = lc.HAND_WORKED_PARAMS
    _, _, s = ref.lstm_step_forward([[1.0]], [[1.0]], [[2.0]], P)
    # exact values from the math-module recomputation documented in test_hand_worked.py
    expected = {"f": 0.9974009, "g": 0.9660869, "i": 0.9862110, "o": 0.9916739, "c": 2.9475674}
    for k, v in expected.items():
        assert float(s[k][0, 0]) == pytest.approx(v, abs=1e-7), k
    assert float((s["o"] * s["tanh_c"])[0, 0]) == pytest.approx(0.9862291, abs=1e-7)
    x, _ = lc.two_companies()
    hs, cache = ref.lstm_forward(x, P)
    # company A after day 1: c -0.2012471, h -0.1277553; B: c 0.4995214, h 0.2764384;
    # day-5 predictions 0.0063932 and 0.9693935 (same origin)
    np.testing.assert_allclose(cache[0]["c"][:, 0], [-0.2012471, 0.4995214], atol=1e-7)
    np.testing.assert_allclose(hs[:, 0, 0], [-0.1277553, 0.2764384], atol=1e-7)
    np.testing.assert_allclose(hs[:, -1, 0], [0.0063932, 0.9693935], atol=1e-7)


# -- the fast code against the reference ----------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_fast_sequence_equals_the_reference_in_float64(rng, shape):
    p, a = make(rng, shape)
    want, got = run(ref, p, a), run(lc, p, a)
    for k, v in want.items():
        scale = max(1.0, float(np.abs(v).max()))
        err = float(np.abs(got[k] - v).max()) / scale
        assert err < 1e-12, f"{k}: scaled max difference {err:.1e}"


def test_fast_sequence_without_initial_or_final_states_equals_the_reference(rng):
    p, a = make(rng, (2, 5, 3, 4))
    hs, cache = ref.lstm_forward(a["x"], p)
    want = ref.lstm_backward(a["dhs"], cache)
    hs_fast, fast_cache = lc.lstm_forward(a["x"], p)
    got = lc.lstm_backward(a["dhs"], fast_cache)
    np.testing.assert_allclose(hs_fast, hs, rtol=0, atol=1e-12)
    for w, g in zip([*want[:3], *want[3].values()], [*got[:3], *got[3].values()], strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fast_sequence_saturates_exactly_like_the_reference(rng, dtype):
    """Huge pre-activations: lstm.py computes float64 sigmoid and tanh from exp, where
    exp(-z) overflows to inf; the gates must still come out exactly 0, 1 or -1 where the
    reference's do, with no NaN and no warning (pytest turns warnings into errors)."""
    p, a = make(rng, (3, 12, 4, 5), dtype)
    for k in p:
        p[k] = (p[k] * 1e3).astype(dtype)  # pre-activations of +-1e3 to 1e4: past exp's range
    want, got = run(ref, p, a), run(lc, p, a)
    for k, v in want.items():
        assert np.isfinite(got[k]).all(), k
        scale = max(1.0, float(np.abs(v).max()))
        tol = 1e-12 if dtype == np.float64 else F32_TOL
        assert float(np.abs(got[k] - v).max()) / scale < tol, k
    got_gates = lc.lstm_forward(a["x"], p, a["h0"], a["c0"])[1].gate_values  # (N, T, 4H)
    steps = ref.lstm_forward(a["x"], p, a["h0"], a["c0"])[1]
    want_gates = np.concatenate(
        [np.stack([step[k] for step in steps], axis=1) for k in lc.GATES], axis=-1
    )
    at_limit = (want_gates == 0) | (np.abs(want_gates) == 1)
    assert at_limit.mean() > 0.5  # the test reaches saturation, for most gates
    if dtype == np.float64:  # exp's route: exactly at the limit, like NumPy's sigmoid and tanh
        np.testing.assert_array_equal(got_gates[at_limit], want_gates[at_limit])
    else:  # (1 + tanh(z/2)) / 2 may round one float32 step below 1
        np.testing.assert_allclose(got_gates[at_limit], want_gates[at_limit], rtol=0, atol=F32_TOL)


# float32: both versions round every operation to float32 (unit roundoff 6e-8), in a
# different order (the fast one sums the products in one matrix product, and in float32
# computes the sigmoid as (1 + tanh(z/2)) / 2). Each is within about 1e-6 of the float64
# result on these shapes, so they can differ by twice that; 1e-5 (scaled by the largest
# magnitude) leaves a margin of five, while a wrong gate or a missing term gives O(0.1).
F32_TOL = 1e-5


@pytest.mark.parametrize("shape", SHAPES)
def test_fast_sequence_equals_the_reference_in_float32(rng, shape):
    p, a = make(rng, shape, np.float32)
    want, got = run(ref, p, a), run(lc, p, a)
    p64 = {k: v.astype(np.float64) for k, v in p.items()}
    exact = run(ref, p64, {k: v.astype(np.float64) for k, v in a.items()})
    for k, v in want.items():
        assert got[k].dtype == v.dtype == np.float32, k
        scale = max(1.0, float(np.abs(exact[k]).max()))
        err = float(np.abs(got[k] - v).max()) / scale
        assert err < F32_TOL, f"{k}: scaled max difference {err:.1e}"
        # and both are as close to the float64 result as float32 allows
        for name, arr in (("fast", got[k]), ("reference", v)):
            err64 = float(np.abs(arr - exact[k]).max()) / scale
            assert err64 < F32_TOL / 2, f"{name} {k}: {err64:.1e} from float64"


@pytest.mark.parametrize("N,D,H", [(1, 1, 1), (4, 3, 5), (2, 6, 6)])
def test_fast_step_equals_the_reference_step(rng, N, D, H):
    p, a = make(rng, (N, 1, D, H))
    x, h0, c0, dh, dc = a["x"][:, 0], a["h0"], a["c0"], a["dhs"][:, 0], a["dc_last"]
    h, c, cache = ref.lstm_step_forward(x, h0, c0, p)
    want = (h, c, *ref.lstm_step_backward(dh, dc, cache))
    h, c, fast_cache = lc.lstm_step_forward(x, h0, c0, p)
    got = (h, c, *lc.lstm_step_backward(dh, dc, fast_cache))
    np.testing.assert_allclose(
        fast_cache.gates, np.concatenate([cache[k] for k in lc.GATES], axis=1), atol=1e-15
    )
    for w, g in zip([*want[:5], *want[5].values()], [*got[:5], *got[5].values()], strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-12)
