"""Forward + backward time of lstm_core against torch.nn.LSTM, a per-gate NumPy loop, and
lstm_core's own matrix products.

Every measurement runs in its own process: a fresh interpreter imports one contender, warms
it up, and reports its best time over ``--repeats`` runs. (In one process, OpenBLAS threads
still spinning after NumPy's products slow PyTorch's threads, which flatters NumPy.) The
contenders take turns, in a rotated order every round, for ``--rounds`` rounds; the script
reports the median and the range over the rounds of each time and of each ratio.

The contenders, on the same weights and inputs:

- ``lstm_core``: :func:`lstm_core.lstm_forward` then :func:`lstm_core.lstm_backward`;
- ``torch``: ``torch.nn.LSTM`` forward, then ``backward`` with the same upstream gradient;
- ``per-gate``: the loop most courses write, one product per gate and step;
- ``products``: only the matrix products lstm_core makes, with the same shapes and dtype:
  the time lstm_core would take if every elementwise operation were free (its floor);
- ``squashing``: only lstm_core's squashing, the gates' sigmoid and tanh and the cell's tanh
  of every step (its own ``_squash`` and ``_tanh``), with no product: how much of the time
  above the floor the transcendental functions take by themselves.

Run: ``make bench`` or ``python benchmarks/bench_lstm.py --help``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np
from rounds import refuse_below_one, rotated, seconds_in_own_process, summary

import lstm_core as lc
from lstm_core.lstm import CHUNK, _squash, _tanh

CONTENDERS = ("lstm_core", "torch", "per-gate", "products", "squashing")
DTYPES = ("float64", "float32")


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


def squashing_only(N, T, H, dtype):
    """lstm_core's squashing of one forward pass, and nothing else.

    Per step, as in ``lstm_core.lstm.lstm_forward``: ``_squash`` on that step's ``(4H, N)``
    block of pre-activations, in place, and ``_tanh`` of an ``(H, N)`` cell state into that
    step's block. (A second run squashes values already squashed: the time of these NumPy
    functions does not depend on the values, short of overflow, which they are kept from.)
    """
    rng = np.random.default_rng(1)
    gates = rng.standard_normal((T, 4 * H, N)).astype(dtype)
    c = rng.standard_normal((T, H, N)).astype(dtype)
    tanh_c = np.empty((T, H, N), dtype)

    def run():
        with np.errstate(over="ignore", under="ignore"):
            for t in range(T):
                _squash(gates[t], H)
                _tanh(c[t], out=tanh_c[t])

    return run


def best_time(fn, repeats: int) -> float:
    """Best wall-clock time of ``repeats`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def contender(name: str, N: int, T: int, D: int, H: int, dtype):
    """A function running one forward + backward of contender ``name`` (all set up)."""
    rng = np.random.default_rng(0)
    params = lc.init_params(D, H, rng=rng, dtype=dtype)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    dhs = rng.standard_normal((N, T, H)).astype(dtype)
    if name == "lstm_core":

        def run():
            _, cache = lc.lstm_forward(x, params)
            lc.lstm_backward(dhs, cache)

        return run
    if name == "per-gate":
        return lambda: per_gate_forward_backward(x, params, dhs)
    if name == "products":
        return products_only(N, T, D, H, dtype)
    if name == "squashing":
        return squashing_only(N, T, H, dtype)
    import torch

    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    m = torch.nn.LSTM(D, H, batch_first=True).to(tdtype)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in lc.to_torch(params).items()})
    xt, dt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(dhs)

    def run_torch():
        m.zero_grad()
        xt.grad = None
        out, _ = m(xt)
        out.backward(dt)

    return run_torch


def worker(args) -> None:
    """Time one contender in this process and print ``{"seconds": ...}`` as JSON."""
    fn = contender(args.worker, args.N, args.T, args.D, args.H, np.dtype(args.dtype))
    fn()  # warm up: first-touch page faults, lazy initialisation, the buffer pool
    print(json.dumps({"seconds": best_time(fn, args.repeats)}))


def measure(name: str, dtype: str, args) -> float:
    """Run :func:`worker` for one contender in a fresh interpreter; its best time in seconds."""
    cmd = [sys.executable, __file__, "--worker", name, "--dtype", dtype, "--repeats"]
    cmd += [str(args.repeats)] + [f"--{k}={getattr(args, k)}" for k in "NTDH"]
    return seconds_in_own_process(cmd, f"{name} {dtype}")


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--N", type=int, default=64)
    ap.add_argument("--T", type=int, default=50)
    ap.add_argument("--D", type=int, default=32)
    ap.add_argument("--H", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5, help="processes per contender and dtype")
    ap.add_argument("--repeats", type=int, default=10, help="timed runs in each process")
    ap.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    ap.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    ap.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    ap.add_argument("--dtype", choices=DTYPES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    refuse_below_one(ap, args, ["N", "T", "D", "H", "rounds", "repeats"])
    if args.worker:
        worker(args)
        return
    names = list(dict.fromkeys(["lstm_core", *args.contenders]))  # lstm_core is always timed
    if "torch" in names:
        try:
            import torch  # noqa: F401  (only to know whether the workers can)
        except ImportError:
            print("torch is not installed: its contender is left out")
            names.remove("torch")

    print(
        f"N={args.N} T={args.T} D={args.D} H={args.H}, forward + backward; {args.rounds} rounds, "
        f"each contender in its own process per round and dtype (best of {args.repeats} runs)"
    )
    times = {(dt, n): [] for dt in args.dtypes for n in names}
    for r in range(args.rounds):
        for dt in args.dtypes:
            for name in rotated(names, r):
                times[dt, name].append(measure(name, dt, args))

    print(f"\n{'dtype':8} {'contender':10} {'median ms':>10} {'range ms':>21}")
    for (dt, name), ts in times.items():
        med, lo, hi = summary([t * 1e3 for t in ts])
        print(f"{dt:8} {name:10} {med:10.3f} {lo:10.3f} - {hi:8.3f}")
    print(f"\n{'dtype':8} {'ratio (per round)':24} {'median':>7} {'range':>15}")
    for dt in args.dtypes:
        for name in names[1:]:
            rs = [ratio(a, b) for a, b in zip(times[dt, "lstm_core"], times[dt, name], strict=True)]
            med, lo, hi = summary(rs)
            print(f"{dt:8} {'lstm_core / ' + name:24} {med:7.2f} {lo:7.2f} - {hi:5.2f}")
    if {"products", "squashing"} <= set(names):
        # The floor with the squashing added: how close to its products any loop that squashes
        # through these NumPy functions could come.
        for dt in args.dtypes:
            pairs = zip(times[dt, "products"], times[dt, "squashing"], strict=True)
            med, lo, hi = summary([ratio(p + s, p) for p, s in pairs])
            print(
                f"{dt:8} {'(products + squashing) / products':24} {med:7.2f} {lo:7.2f} - {hi:5.2f}"
            )


if __name__ == "__main__":
    main()
