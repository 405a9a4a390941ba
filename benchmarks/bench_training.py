"""Wall-clock time of the course's trainings from random weights, and what they reach.

- The two companies: one LSTM unit, Adam(lr=0.1), until the loss is below 1e-3 (at most 2000
  epochs), once per seed: epochs, seconds and the day-5 predictions; the median and the worst
  time (the goal: under a second).
- The memory task at lag 20 (``lstm_core.experiments.memory_test_mse``: 512 training
  sequences, H=8, 40 epochs of 8 batches, Adam(lr=0.01), clipping at 1): the LSTM and the
  vanilla RNN, once per seed (the seed sets the weights, the data and the batches): the test
  error of each (guessing scores 1/3) and the time of each training.

Every training runs in a fresh process (after one untimed epoch that warms it up); the two
cells of the memory task take turns, in a rotated order, and their time ratio is given per
seed with its median and range. Run: ``make bench`` or ``python benchmarks/bench_training.py
--help``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from rounds import refuse_below_one, rotated

import lstm_core as lc
from lstm_core import experiments as ex

LAG = 20
CELLS = ("lstm", "rnn")


def companies(seed: int) -> dict:
    """One training on the two companies from ``init_model("lstm", 1, 1, rng=seed)``."""
    x, y = lc.two_companies()
    lc.fit(x, y, lc.init_model("lstm", 1, 1, rng=seed), optimizer=lc.Adam(lr=0.1), epochs=1)
    p = lc.init_model("lstm", 1, 1, rng=seed)
    h = lc.fit(x, y, p, optimizer=lc.Adam(lr=0.1), epochs=2000, target_loss=1e-3, clip_norm=None)
    pred = lc.model_forward(x, p)[0].ravel()
    return {"epochs": h["epochs"], "seconds": h["seconds"], "day5": [float(v) for v in pred]}


def memory(cell: str, seed: int) -> dict:
    """One training of ``cell`` on the memory task at lag 20: its test error and time."""
    ex.memory_test_mse(cell, LAG, epochs=1, seed=seed)  # warm-up, untimed
    mse, h = ex.memory_test_mse(cell, LAG, seed=seed)
    return {"mse": mse, "seconds": h["seconds"]}


def measure(*args: str) -> dict:
    """This script's ``--worker`` in a fresh interpreter; its JSON answer."""
    cmd = [sys.executable, __file__, "--worker", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def spread(values, fmt: str = ".3f") -> str:
    """``median M, range LOW to HIGH`` of ``values``."""
    med, low, high = statistics.median(values), min(values), max(values)
    return f"median {med:{fmt}}, range {low:{fmt}} to {high:{fmt}}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--company-seeds", type=int, default=10, help="trainings on the companies")
    ap.add_argument("--memory-seeds", type=int, default=5, help="trainings of each cell")
    ap.add_argument("--worker", nargs=2, metavar=("TASK", "SEED"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        task, seed = args.worker[0], int(args.worker[1])
        print(json.dumps(companies(seed) if task == "companies" else memory(task, seed)))
        return
    refuse_below_one(ap, args, ["company_seeds", "memory_seeds"])

    print("two companies, 1 unit, Adam(lr=0.1), until MSE < 1e-3; each seed in its own process")
    print(f"{'seed':>4} {'epochs':>7} {'seconds':>8}  day-5 predictions (targets 0, 1)")
    times = []
    for seed in range(args.company_seeds):
        r = measure("companies", str(seed))
        times.append(r["seconds"])
        d0, d1 = r["day5"]
        print(f"{seed:4d} {r['epochs']:7d} {r['seconds']:8.3f}  {d0:+.3f} {d1:+.3f}")
    print(f"median {statistics.median(times):.3f} s, worst {max(times):.3f} s\n")

    print(
        f"memory task, lag {LAG}, H=8, 40 epochs of 8 batches (guessing scores 0.333); "
        "each training in its own process, the cells in turns"
    )
    print(f"{'seed':>4} {'lstm MSE':>9} {'rnn MSE':>9} {'lstm s':>8} {'rnn s':>8} {'lstm/rnn':>9}")
    runs: dict[str, list[dict]] = {cell: [] for cell in CELLS}
    for seed in range(args.memory_seeds):
        got = {cell: measure(cell, str(seed)) for cell in rotated(list(CELLS), seed)}
        for cell in CELLS:
            runs[cell].append(got[cell])
        lstm, rnn = got["lstm"], got["rnn"]
        print(
            f"{seed:4d} {lstm['mse']:9.4f} {rnn['mse']:9.4f} {lstm['seconds']:8.3f} "
            f"{rnn['seconds']:8.3f} {lstm['seconds'] / rnn['seconds']:9.2f}"
        )
    for cell in CELLS:
        print(f"  {cell}: test MSE {spread([r['mse'] for r in runs[cell]], '.4f')}")
        print(f"  {cell}: seconds {spread([r['seconds'] for r in runs[cell]])}")
    ratios = [a["seconds"] / b["seconds"] for a, b in zip(runs["lstm"], runs["rnn"], strict=True)]
    print(f"  ratio lstm / rnn time: {spread(ratios, '.2f')}")


if __name__ == "__main__":
    main()
