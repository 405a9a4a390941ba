"""Wall-clock time of the course's training runs, from random weights.

Prints the seconds and epochs each run took: the two companies (goal: under a second)
and the long-range memory task, LSTM and RNN side by side. Run: ``make bench``.
"""

from __future__ import annotations

import numpy as np

import lstm_core as lc


def two_companies(seeds=range(10)):
    x, y = lc.two_companies()
    print("two companies, 1 unit, Adam(lr=0.1), until MSE < 1e-3")
    print(f"{'seed':>4} {'epochs':>7} {'seconds':>8}  day-5 predictions (targets 0, 1)")
    times = []
    for seed in seeds:
        p = lc.init_model("lstm", 1, 1, rng=seed)
        h = lc.fit(
            x, y, p, optimizer=lc.Adam(lr=0.1), epochs=2000, target_loss=1e-3, clip_norm=None
        )
        pred = lc.model_forward(x, p)[0].ravel()
        times.append(h["seconds"])
        print(f"{seed:4d} {h['epochs']:7d} {h['seconds']:8.3f}  {pred[0]:+.3f} {pred[1]:+.3f}")
    print(f"median {np.median(times):.3f} s, worst {max(times):.3f} s\n")


def memory(lag=20):
    x, y = lc.memory_task(512, lag, rng=0)
    xt, yt = lc.memory_task(512, lag, rng=1)
    print(f"memory task, lag {lag}, H=8, 40 epochs of 8 batches (guessing scores 0.333)")
    for cell in ("lstm", "rnn"):
        p = lc.init_model(cell, 2, 8, 1, rng=0)
        h = lc.fit(
            x, y, p, optimizer=lc.Adam(lr=0.01), epochs=40, batch_size=64, rng=0, clip_norm=1.0
        )
        mse = float(np.mean((lc.model_forward(xt, p)[0] - yt) ** 2))
        print(f"  {cell}: test MSE {mse:.4f} in {h['seconds']:.2f} s")


if __name__ == "__main__":
    two_companies()
    memory()
