"""Forward + backward time of lstm_core against torch.nn.LSTM and a per-gate NumPy loop.

All three run in the same process on the same weights and inputs, timed alternately, and
the script prints ratios (smaller is faster for lstm_core). A fourth line times only the
matrix products lstm_core makes, with the same shapes and dtype: its ratios are the best
lstm_core could reach if every elementwise operation were free. Run: ``make bench``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lstm_core as lc
from lstm_core.lstm import CHUNK


def per_gate_forward_backward(x, params, dhs):
    """The loop most courses write: one matrix product per gate and step, on ``[x, h]``.

    Forward and backward with zero initial states; returns ``dx`` and the gradients as
    ``{gate: [dWx, dWh, db]}``.
    """
    N, T, D = x.shape
    H = params["Wh"].shape[0]
    w = {}
    for k in lc.GATES:
        Wx, Wh, b = lc.gate_params(params, k)
        w[k] = (np.vstack([Wx, Wh]), b)  # (D + H, H): the gate's weights on [x, h]
    h, c = np.zeros((N, H), x.dtype), np.zeros((N, H), x.dtype)
    steps = []
    for t in range(T):
        xh = np.concatenate([x[:, t], h], axis=1)
        a = {k: xh @ w[k][0] + w[k][1] for k in lc.GATES}
        i, f, o = (1 / (1 + np.exp(-a[k])) for k in "ifo")
        g = np.tanh(a["g"])
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        steps.append((xh, c, i, f, o, g, c_new))
        h, c = h_new, c_new
    dW = {k: np.zeros_like(w[k][0]) for k in lc.GATES}
    db = {k: np.zeros_like(w[k][1]) for k in lc.GATES}
    dh_next, dc_next = np.zeros((N, H), x.dtype), np.zeros((N, H), x.dtype)
    dx = np.empty_like(x)
    for t in reversed(range(T)):
        xh, c_prev, i, f, o, g, c_new = steps[t]
        dh = dhs[:, t] + dh_next
        tc = np.tanh(c_new)
        dc = dc_next + dh * o * (1 - tc**2)
        da = {
            "i": dc * g * i * (1 - i),
            "f": dc * c_prev * f * (1 - f),
            "o": dh * tc * o * (1 - o),
            "g": dc * i * (1 - g**2),
        }
        dxh = sum(da[k] @ w[k][0].T for k in lc.GATES)
        dx[:, t], dh_next = dxh[:, :D], dxh[:, D:]
        dc_next = dc * f
        for k in lc.GATES:
            dW[k] += xh.T @ da[k]
            db[k] += da[k].sum(0)
    return dx, {k: [dW[k][:D], dW[k][D:], db[k]] for k in lc.GATES}


def products_only(N, T, D, H, dtype):
    """The matrix products of one lstm_core forward + backward, and nothing else.

    The same shapes as in ``lstm_core/lstm.py``: keep the two in step.
    """
    K = H + D + 1
    rng = np.random.default_rng(1)
    W, Wh, Wx = (rng.standard_normal(s).astype(dtype) for s in ((4 * H, K), (H, 4 * H), (D, 4 * H)))
    z, da = rng.standard_normal((K, N)).astype(dtype), rng.standard_normal((4 * H, N)).astype(dtype)
    a, dh = np.empty((4 * H, N), dtype), np.empty((H, N), dtype)
    z2 = rng.standard_normal((K, CHUNK * N)).astype(dtype)
    da2 = rng.standard_normal((4 * H, CHUNK * N)).astype(dtype)
    dx2 = np.empty((D, CHUNK * N), dtype)

    def run():
        for _ in range(T):  # forward: one product per step
            np.matmul(W, z, out=a)
        for _ in range(T):  # backward: the gradient on h, per step
            np.matmul(Wh, da, out=dh)
        for t0 in range(0, T, CHUNK):  # the weight gradients and dx, per chunk of steps
            n = min(CHUNK, T - t0) * N
            z2[:, :n] @ da2[:, :n].T
            np.matmul(Wx, da2[:, :n], out=dx2[:, :n])

    return run


def best_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--N", type=int, default=64)
    ap.add_argument("--T", type=int, default=50)
    ap.add_argument("--D", type=int, default=32)
    ap.add_argument("--H", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: only the per-gate comparison runs")
    else:
        torch.set_num_threads(max(1, torch.get_num_threads()))

    print(
        f"N={args.N} T={args.T} D={args.D} H={args.H}, best of {args.repeats}, forward + backward"
    )
    header = ("dtype", "", "ms", "torch ms", "per-gate ms", "/torch", "/per-gate")
    print("{:8} {:15} {:>7} {:>9} {:>12} {:>7} {:>10}".format(*header))
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        params = lc.init_params(args.D, args.H, rng=rng, dtype=dtype)
        x = rng.standard_normal((args.N, args.T, args.D)).astype(dtype)
        dhs = rng.standard_normal((args.N, args.T, args.H)).astype(dtype)

        def core(x=x, params=params, dhs=dhs):
            _, cache = lc.lstm_forward(x, params)
            lc.lstm_backward(dhs, cache)

        def per_gate(x=x, params=params, dhs=dhs):
            per_gate_forward_backward(x, params, dhs)

        products = products_only(args.N, args.T, args.D, args.H, dtype)
        t_core = best_time(core, 2)  # warm up
        t_pg = best_time(per_gate, 1)
        t_prod = best_time(products, 2)
        t_torch = None
        if torch is not None:
            tdtype = torch.float64 if dtype == np.float64 else torch.float32
            m = torch.nn.LSTM(args.D, args.H, batch_first=True).to(tdtype)
            m.load_state_dict({k: torch.from_numpy(v) for k, v in lc.to_torch(params).items()})
            xt = torch.from_numpy(x).requires_grad_(True)
            dt = torch.from_numpy(dhs)

            def run_torch(m=m, xt=xt, dt=dt):
                m.zero_grad()
                xt.grad = None
                out, _ = m(xt)
                out.backward(dt)

            run_torch()
            t_torch = best_time(run_torch, 2)
        # alternate the contenders so that machine noise hits all of them alike
        r_core, r_torch, r_pg = [t_core], [t_torch] if t_torch else [], [t_pg]
        r_prod = [t_prod]
        for _ in range(args.repeats):
            r_core.append(best_time(core, 1))
            if t_torch is not None:
                r_torch.append(best_time(run_torch, 1))
            r_pg.append(best_time(per_gate, 1))
            r_prod.append(best_time(products, 1))
        pg = min(r_pg)
        tt = min(r_torch) if r_torch else float("nan")
        for label, t in (("lstm_core", min(r_core)), ("its products", min(r_prod))):
            print(
                f"{np.dtype(dtype).name:8} {label:15} {t * 1e3:7.2f} {tt * 1e3:9.2f} "
                f"{pg * 1e3:12.2f} {t / tt:7.2f} {t / pg:10.2f}"
            )


if __name__ == "__main__":
    main()
