"""lstm_core against torch.nn.LSTM and nn.LSTMCell on identical weights."""

import numpy as np
import pytest

import lstm_core as lc
from lstm_core.lstm import CHUNK

SHAPES = [  # (N, T, D, H): N = 1, T = 1, D != H, D == H, larger
    (1, 1, 1, 1),
    (1, 7, 3, 5),
    (4, 1, 6, 2),
    (3, 9, 4, 4),
    (8, 20, 10, 16),
    (2, CHUNK + 1, 3, 4),  # one full and one one-step chunk of the backward pass
    (2, 2 * CHUNK + 3, 5, 3),
]
TOL = {np.float64: 1e-10, np.float32: 1e-5}


def make(rng, shape, dtype):
    N, T, D, H = shape
    p = lc.init_params(D, H, rng=rng, dtype=dtype)
    p["b"] = rng.standard_normal(4 * H).astype(dtype)  # exercise every bias, not only f's
    arrays = {
        "x": rng.standard_normal((N, T, D)),
        "h0": rng.standard_normal((N, H)),
        "c0": rng.standard_normal((N, H)),
        "dhs": rng.standard_normal((N, T, H)),
        "dc_last": rng.standard_normal((N, H)),
    }
    return p, {k: v.astype(dtype) for k, v in arrays.items()}


def torch_lstm(torch, p, dtype):
    D, H = p["Wx"].shape[0], p["Wh"].shape[0]
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    m = torch.nn.LSTM(D, H, batch_first=True).to(tdtype)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in lc.to_torch(p).items()})
    return m


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
def test_sequence_forward_and_backward_match_nn_lstm(torch, rng, shape, dtype):
    p, a = make(rng, shape, dtype)
    m = torch_lstm(torch, p, dtype)
    x = torch.from_numpy(a["x"]).requires_grad_(True)
    h0 = torch.from_numpy(a["h0"][None]).requires_grad_(True)
    c0 = torch.from_numpy(a["c0"][None]).requires_grad_(True)
    out, (hn, cn) = m(x, (h0, c0))
    loss = (out * torch.from_numpy(a["dhs"])).sum() + (cn[0] * torch.from_numpy(a["dc_last"])).sum()
    loss.backward()

    hs, cache = lc.lstm_forward(a["x"], p, a["h0"], a["c0"])
    dx, dh0, dc0, grads = lc.lstm_backward(a["dhs"], cache, dc_last=a["dc_last"])
    tol = TOL[dtype]
    assert hs.dtype == dx.dtype == grads["Wx"].dtype == dtype

    def close(mine, theirs, name):
        theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
        err = np.max(np.abs(mine - theirs)) / max(1.0, np.max(np.abs(theirs)))
        assert err < tol, f"{name}: scaled max error {err:.2e} >= {tol}"

    close(hs, out, "hs")
    close(cache.c_last, cn[0], "c_last")
    close(cache.h_last, hn[0], "h_last")
    close(dx, x.grad, "dx")
    close(dh0, h0.grad[0], "dh0")
    close(dc0, c0.grad[0], "dc0")
    tg = lc.grads_from_torch(m)
    close(grads["Wx"], tg["Wx"], "dWx")
    close(grads["Wh"], tg["Wh"], "dWh")
    close(grads["b"], tg["b"], "db")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("N,D,H", [(1, 1, 1), (5, 3, 7), (2, 6, 6)])
def test_step_matches_nn_lstmcell(torch, rng, N, D, H, dtype):
    p, a = make(rng, (N, 1, D, H), dtype)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    cell = torch.nn.LSTMCell(D, H).to(tdtype)
    sd = {k.removesuffix("_l0"): torch.from_numpy(v) for k, v in lc.to_torch(p).items()}
    cell.load_state_dict(sd)
    x = torch.from_numpy(a["x"][:, 0]).requires_grad_(True)
    h0 = torch.from_numpy(a["h0"]).requires_grad_(True)
    c0 = torch.from_numpy(a["c0"]).requires_grad_(True)
    ht, ct = cell(x, (h0, c0))
    dh, dc = a["dhs"][:, 0], a["dc_last"]
    ((ht * torch.from_numpy(dh)).sum() + (ct * torch.from_numpy(dc)).sum()).backward()

    h, c, cache = lc.lstm_step_forward(a["x"][:, 0], a["h0"], a["c0"], p)
    dx, dh_prev, dc_prev, grads = lc.lstm_step_backward(dh, dc, cache)
    tol = TOL[dtype]
    pairs = [(h, ht), (c, ct), (dx, x.grad), (dh_prev, h0.grad), (dc_prev, c0.grad)]
    tg = lc.grads_from_torch({k: v.grad for k, v in cell.named_parameters()}, suffix="")
    pairs += [(grads["Wx"], tg["Wx"]), (grads["Wh"], tg["Wh"]), (grads["b"], tg["b"])]
    for mine, theirs in pairs:
        theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
        np.testing.assert_allclose(mine, theirs, rtol=tol, atol=tol)


def test_from_torch_reads_a_trained_module(torch, rng):
    """A module with nonzero bias_hh (PyTorch's default init) runs identically here."""
    torch.manual_seed(0)
    m = torch.nn.LSTM(3, 4, batch_first=True).double()
    p = lc.from_torch(m.state_dict())
    x = rng.standard_normal((2, 6, 3))
    out, _ = m(torch.from_numpy(x))
    hs, _ = lc.lstm_forward(x, p)
    np.testing.assert_allclose(hs, out.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["LSTM", "LSTMCell"])
def test_from_torch_takes_the_module_or_its_state_dict(torch, rng, kind):
    """Module and state dict give the same params, and to_torch takes them back exactly."""
    torch.manual_seed(1)
    m = getattr(torch.nn, kind)(3, 5).double()
    from_module, from_dict = lc.from_torch(m), lc.from_torch(m.state_dict())
    for k in ("Wx", "Wh", "b"):
        np.testing.assert_array_equal(from_module[k], from_dict[k])
    suffix = "_l0" if kind == "LSTM" else ""
    back = {k.removesuffix("_l0") + suffix: v for k, v in lc.to_torch(from_module).items()}
    m2 = getattr(torch.nn, kind)(3, 5).double()
    m2.load_state_dict({k: torch.from_numpy(v) for k, v in back.items()})
    x = torch.from_numpy(rng.standard_normal((2, 3)))
    out1, out2 = (mod(x[:, None] if kind == "LSTM" else x)[0] for mod in (m, m2))
    np.testing.assert_allclose(out2.detach().numpy(), out1.detach().numpy(), rtol=1e-13)
    again = lc.from_torch(m2)
    for k in ("Wx", "Wh", "b"):
        np.testing.assert_allclose(again[k], from_module[k], rtol=1e-15, atol=1e-15)


def test_from_torch_rejects_other_things_by_name(torch):
    with pytest.raises(
        ValueError, match=r"nn\.LSTM or nn\.LSTMCell module or its state dict, got GRU"
    ):
        lc.from_torch(torch.nn.GRU(3, 4))
    with pytest.raises(ValueError, match="got Tensor"):
        lc.from_torch(torch.zeros(3))
    with pytest.raises(ValueError, match="got list"):
        lc.from_torch([1, 2])
    with pytest.raises(
        ValueError, match=r"one-layer, one-way LSTM \(num_layers=1\), got num_layers=2"
    ):
        lc.from_torch(torch.nn.LSTM(3, 4, num_layers=2))
    with pytest.raises(ValueError, match=r"\(bidirectional=False\), got bidirectional=True"):
        lc.from_torch(torch.nn.LSTM(3, 4, bidirectional=True))


def test_nn_lstm_draws_the_forget_bias_like_every_other_bias(torch):
    """ch9: "(PyTorch, by contrast, initialises it like every other bias)". nn.LSTM's
    documentation: "All the weights and biases are initialized from U(-sqrt(k), sqrt(k)) where
    k = 1/hidden_size". Each gate's block of bias_ih_l0 and bias_hh_l0 lies within those bounds
    with the mean and spread of that uniform distribution, the forget block included, whereas
    lc.init_params starts it at 1 (tests/test_book_claims.py::test_default_forget_bias_is_one).
    Seeded, so deterministic; the statistical tolerances are 5 standard errors."""
    H = 1024  # a large layer, for the statistics; weight_hh_l0 holds 4H * H numbers
    torch.manual_seed(0)
    m = torch.nn.LSTM(1, H)
    bound = 1 / np.sqrt(H)
    mean_se = bound / np.sqrt(3 * H)  # standard error of the mean of H draws of U(-a, a)
    for name in ("bias_ih_l0", "bias_hh_l0"):
        b = getattr(m, name).detach().double().numpy()
        for gate in lc.TORCH_GATES:
            k = lc.TORCH_GATES.index(gate)
            block = b[k * H : (k + 1) * H]
            assert np.all(np.abs(block) <= bound), (name, gate)
            assert abs(block.mean()) < 5 * mean_se, (name, gate, block.mean())
            # the standard deviation of U(-a, a) is a / sqrt(3); its standard error ~ a / sqrt(15 H)
            assert abs(block.std() - bound / np.sqrt(3)) < 5 * bound / np.sqrt(15 * H), (name, gate)
            assert block.max() > 0.95 * bound and block.min() < -0.95 * bound, (name, gate)
    # so the forget gate's total bias is within 2 / sqrt(H) of 0, where lc's is 1
    f = lc.TORCH_GATES.index("f")
    b_f = (m.bias_ih_l0 + m.bias_hh_l0).detach().double().numpy()[f * H : (f + 1) * H]
    assert np.all(np.abs(b_f) <= 2 * bound)


def test_grads_from_torch_gives_the_gradient_of_the_one_bias(torch, rng):
    """b stands for bias_ih + bias_hh: its gradient is that of either PyTorch bias, which
    from_torch, summing the two, doubles. The module and the dict of its gradients agree."""
    torch.manual_seed(2)
    m = torch.nn.LSTM(3, 4, batch_first=True).double()
    with pytest.raises(ValueError, match=r"^source\['weight_ih_l0'\] must have a gradient"):
        lc.grads_from_torch(m)  # no backward() yet
    x = rng.standard_normal((2, 5, 3))
    m(torch.from_numpy(x))[0].square().sum().backward()
    grads = {k: v.grad for k, v in m.named_parameters()}
    from_module, from_dict = lc.grads_from_torch(m), lc.grads_from_torch(grads)
    for k in ("Wx", "Wh", "b"):
        np.testing.assert_array_equal(from_module[k], from_dict[k])
    np.testing.assert_array_equal(from_module["b"], lc.from_torch(grads)["b"] / 2)
    p = lc.from_torch(m)
    hs, cache = lc.lstm_forward(x, p)
    ours = lc.lstm_backward(2 * hs, cache)[3]
    for k in ("Wx", "Wh", "b"):
        np.testing.assert_allclose(ours[k], from_module[k], rtol=1e-10, atol=1e-12)


def test_from_torch_refuses_half_precision_by_name(torch):
    """bfloat16 has no NumPy dtype: torch's own TypeError came out; float16 is refused too."""
    floats = r"a float32 or float64 {} \(integers are converted\), got "
    for dtype, got in (
        ("bfloat16", floats.format("tensor or array") + r"a Tensor of dtype torch\.bfloat16$"),
        ("float16", floats.format("array") + r"dtype float16$"),
    ):
        m = torch.nn.LSTM(3, 4).to(getattr(torch, dtype))
        for source in (m, m.state_dict()):
            for convert in (lc.from_torch, lc.grads_from_torch):
                if convert is lc.grads_from_torch:
                    source = {k: v.detach() for k, v in m.named_parameters()}
                with pytest.raises(
                    lc.ArgumentTypeError, match=r"^source\['weight_ih_l0'\] must be " + got
                ):
                    convert(source)
