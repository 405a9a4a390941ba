"""The benchmark scripts run and print their tables (timings are theirs to report, not ours)."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lstm_core as lc

# Each test runs a whole benchmark script: end-to-end work, not the fast tier.
pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def run(script, *args):
    out = subprocess.run(
        [sys.executable, "-W", "error", str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_bench_lstm_prints_both_dtypes_and_the_products_floor(torch):
    out = run("bench_lstm.py", "--N", "3", "--T", "12", "--D", "2", "--H", "4", "--repeats", "1")
    number = r"\s+(\d+\.\d\d)"
    for dtype in ("float64", "float32"):
        for label in ("lstm_core", "its products"):
            row = re.search(rf"^{dtype}\s+{label}" + number * 5 + "$", out, re.M)
            assert row, f"no {dtype} {label} row in:\n{out}"
            assert all(float(v) > 0 for v in row.groups()), row.group(0)


def test_bench_training_reports_every_seed_and_both_cells():
    out = run("bench_training.py")
    assert len(re.findall(r"^\s+\d+\s+\d+\s+\d+\.\d{3}\s+[+-]", out, re.M)) == 10
    assert re.search(r"^median \d+\.\d{3} s, worst \d+\.\d{3} s$", out, re.M)
    assert re.search(r"^  lstm: test MSE \d\.\d{4} in", out, re.M)
    assert re.search(r"^  rnn: test MSE \d\.\d{4} in", out, re.M)


def test_the_per_gate_contender_computes_the_same_gradients(rng):
    """bench_lstm's per-gate loop is only a fair contender if it does the same work right."""
    sys.path.insert(0, str(BENCH))
    try:
        from bench_lstm import per_gate_forward_backward
    finally:
        sys.path.remove(str(BENCH))
    N, T, D, H = 3, 7, 4, 5
    p = lc.init_params(D, H, rng=rng)
    p["b"] = rng.standard_normal(4 * H)
    x, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    dx, per_gate = per_gate_forward_backward(x, p, dhs)
    _, cache = lc.lstm_forward(x, p)
    dx_ref, _, _, grads = lc.lstm_backward(dhs, cache)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-14)
    mine = lc.params_from_gates({k: tuple(v) for k, v in per_gate.items()})
    for name in ("Wx", "Wh", "b"):
        np.testing.assert_allclose(mine[name], grads[name], rtol=1e-12, atol=1e-14)
