"""The design choices of lstm_core/lstm.py, each timed against the alternative it replaced.

Each choice is a pair of variants computing the same array (tests/test_benchmarks.py checks
that they do), at the sizes of ``bench_lstm.py`` (N sequences of T steps, D inputs, H hidden
units):

- ``reorder``: ``_reorder``'s four block slices concatenated, against fancy indexing with
  an index array, on the ``(H, 4H)`` recurrent weights (done on every call of
  ``lstm_forward`` and ``lstm_backward``);
- ``contiguous``: a sigmoid computed in place (``exp``, add, ``reciprocal``) on a gate's
  contiguous ``(H, N)`` block of a feature-major ``(4H, N)`` array, against the same on the
  gate's strided column slice of a batch-major ``(N, 4H)`` array, for each of the T steps;
- ``squash``: ``_squash`` (one transcendental call for the four gates: ``exp`` in float64,
  ``tanh`` in float32) against the other route (``tanh`` in float64, ``exp`` in float32), on
  the T steps' ``(4H, N)`` pre-activations;
- ``cell-tanh``: ``_tanh`` for the cell's ``tanh(c)`` (``exp``-based in float64, NumPy's
  ``tanh`` in float32) against NumPy's ``tanh`` (in float32 the two are the same call);
- ``hs-copy``: each step's ``h`` copied into the batch-major output ``hs (N, T, H)`` right
  after it is computed, against one transposing copy of all T steps at the end.

Every measurement runs in its own process (a fresh interpreter, one variant, a warm-up, the
best of ``--repeats`` runs); the variants take turns in a rotated order for ``--rounds``
rounds, and the script reports the median and range of each time and of each ratio
(alternative / chosen: above 1 when the choice is the faster).

Run: ``python benchmarks/bench_choices.py --help``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from rounds import refuse_below_one, rotated, seconds_in_own_process, summary

from lstm_core.lstm import _FROM_PUBLIC, _reorder, _squash, _tanh

CHOICES = ("reorder", "contiguous", "squash", "cell-tanh", "hs-copy")
VARIANTS = ("chosen", "alternative")
DTYPES = ("float64", "float32")


def _sigmoid_in_place(a: np.ndarray) -> None:
    np.exp(a, out=a)
    a += 1.0
    np.reciprocal(a, out=a)


def _exp_route(a: np.ndarray, H: int) -> None:
    """Gate values from ``a (4H, N)`` pre-scaled for ``exp`` (sigmoid rows by -1, g's by -2)."""
    _sigmoid_in_place(a)
    g = a[3 * H :]
    g *= 2.0
    g -= 1.0


def _tanh_route(a: np.ndarray, H: int) -> None:
    """Gate values from ``a (4H, N)`` pre-scaled for ``tanh`` (sigmoid rows by 1/2)."""
    np.tanh(a, out=a)
    sig = a[: 3 * H]
    sig *= 0.5
    sig += 0.5


def variant(choice: str, which: str, N: int, T: int, H: int, dtype):
    """``(setup, run)``: ``setup()`` makes fresh inputs, ``run(inputs)`` returns the result.

    Only ``run`` is timed; it may change its inputs in place (each timed run gets new ones).
    """
    rng = np.random.default_rng(0)
    chosen = which == "chosen"
    if choice == "reorder":
        index = np.concatenate([np.arange(k * H, (k + 1) * H) for k in _FROM_PUBLIC])

        def setup():
            return rng.standard_normal((H, 4 * H)).astype(dtype)

        if chosen:
            return setup, lambda w: _reorder(w, _FROM_PUBLIC)
        return setup, lambda w: w[:, index]
    if choice == "contiguous":

        def setup():
            return rng.standard_normal((T, 4 * H, N)).astype(dtype)

        if chosen:

            def feature_major(a):  # (T, 4H, N): each step's gate is a contiguous (H, N) block
                for t in range(T):
                    _sigmoid_in_place(a[t, :H])
                return a[:, :H].transpose(0, 2, 1)

            return setup, feature_major

        def batch_major(a):  # (T, N, 4H): each step's gate is a strided (N, H) column slice
            for t in range(T):
                _sigmoid_in_place(a[t, :, :H])
            return a[:, :, :H]

        return lambda: np.ascontiguousarray(setup().transpose(0, 2, 1)), batch_major
    if choice == "squash":
        exp_first = dtype == np.float64  # _squash's route in this dtype

        def setup():
            return rng.standard_normal((T, 4 * H, N)).astype(dtype)

        def routed(z, route):
            # The pre-scaling lstm_core folds into the weights, done here outside the timing.
            scale = np.ones((4 * H, 1), dtype)
            if route is _exp_route:
                scale[: 3 * H], scale[3 * H :] = -1.0, -2.0
            else:
                scale[: 3 * H] = 0.5
            return z * scale

        own = _exp_route if exp_first else _tanh_route
        other = _tanh_route if exp_first else _exp_route
        if chosen:
            return lambda: routed(setup(), own), lambda a: _squash_steps(a, H, _squash)
        return lambda: routed(setup(), other), lambda a: _squash_steps(a, H, other)
    if choice == "cell-tanh":

        def setup():
            return rng.standard_normal((T, H, N)).astype(dtype)

        def run(c):
            out = np.empty_like(c)
            for t in range(T):
                if chosen:
                    _tanh(c[t], out=out[t])
                else:
                    np.tanh(c[t], out=out[t])
            return out

        return setup, run
    if choice == "hs-copy":

        def setup():
            return rng.standard_normal((T, 2, H, N)).astype(dtype)  # o and tanh(c) per step

        def run(oc):
            hbuf = np.empty((T, H, N), dtype)
            hs = np.empty((N, T, H), dtype)
            for t in range(T):
                h = np.multiply(oc[t, 0], oc[t, 1], out=hbuf[t])
                if chosen:
                    hs[:, t] = h.T
            if not chosen:
                hs[:] = hbuf.transpose(2, 0, 1)
            return hs

        return setup, run
    raise ValueError(f"choice: got {choice!r}, expected one of {', '.join(CHOICES)}")


def _squash_steps(a: np.ndarray, H: int, squash) -> np.ndarray:
    for t in range(a.shape[0]):
        squash(a[t], H)
    return a


def best_time(setup, run, repeats: int) -> float:
    """Best wall-clock time of ``repeats`` calls of ``run``, each on fresh ``setup()`` inputs."""
    times = []
    for _ in range(repeats):
        inputs = setup()
        t0 = time.perf_counter()
        run(inputs)
        times.append(time.perf_counter() - t0)
    return min(times)


def worker(args) -> None:
    """Time one variant in this process and print ``{"seconds": ...}`` as JSON."""
    choice, which = args.worker.split(":")
    setup, run = variant(choice, which, args.N, args.T, args.H, np.dtype(args.dtype))
    run(setup())  # warm up: first-touch page faults, lazy initialisation
    print(json.dumps({"seconds": best_time(setup, run, args.repeats)}))


def measure(choice: str, which: str, dtype: str, args) -> float:
    """Run :func:`worker` for one variant in a fresh interpreter; its best time in seconds."""
    cmd = [sys.executable, __file__, "--worker", f"{choice}:{which}", "--dtype", dtype]
    cmd += ["--repeats", str(args.repeats)] + [f"--{k}={getattr(args, k)}" for k in "NTH"]
    return seconds_in_own_process(cmd, f"{choice} {which} {dtype}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--N", type=int, default=64)
    ap.add_argument("--T", type=int, default=50)
    ap.add_argument("--H", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5, help="processes per variant and dtype")
    ap.add_argument("--repeats", type=int, default=20, help="timed runs in each process")
    ap.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    ap.add_argument("--choices", nargs="+", choices=CHOICES, default=list(CHOICES))
    workers = [f"{c}:{v}" for c in CHOICES for v in VARIANTS]
    ap.add_argument("--worker", choices=workers, help=argparse.SUPPRESS)
    ap.add_argument("--dtype", choices=DTYPES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    refuse_below_one(ap, args, ["N", "T", "H", "rounds", "repeats"])
    if args.worker:
        worker(args)
        return
    print(
        f"N={args.N} T={args.T} H={args.H}; {args.rounds} rounds, each variant in its own "
        f"process per round and dtype (best of {args.repeats} runs)"
    )
    turns = [(c, v) for c in args.choices for v in VARIANTS]
    times = {(dt, c, v): [] for dt in args.dtypes for c, v in turns}
    for r in range(args.rounds):
        for dt in args.dtypes:
            for c, v in rotated(turns, r):
                times[dt, c, v].append(measure(c, v, dt, args))

    print(f"\n{'dtype':8} {'choice':11} {'variant':12} {'median ms':>10} {'range ms':>21}")
    for (dt, c, v), ts in times.items():
        med, lo, hi = summary([t * 1e3 for t in ts])
        print(f"{dt:8} {c:11} {v:12} {med:10.4f} {lo:10.4f} - {hi:8.4f}")
    print(f"\n{'dtype':8} {'choice':11} {'alternative / chosen':>20} {'range':>15}")
    for dt in args.dtypes:
        for c in args.choices:
            pairs = zip(times[dt, c, "alternative"], times[dt, c, "chosen"], strict=True)
            med, lo, hi = summary([a / b for a, b in pairs])
            print(f"{dt:8} {c:11} {med:20.2f} {lo:7.2f} - {hi:5.2f}")


if __name__ == "__main__":
    main()
