"""The benchmark scripts run and print their tables (timings are theirs to report, not ours)."""

import importlib
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lstm_core as lc
from lstm_core import experiments as ex

# Each test runs a whole benchmark script: end-to-end work, not the fast tier.
pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def from_benchmarks(module: str):
    """A module of benchmarks/ (the scripts import each other by name, as when run)."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(BENCH))


def finished(script, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-W", "error", str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run(script, *args):
    out = finished(script, *args)
    assert out.returncode == 0, out.stderr
    return out.stdout


FLOAT = r"(\d+\.\d+|nan|inf)"


def table(out: str, dtypes, names):
    """Check bench_lstm's two tables; return {(dtype, label): (median, low, high)}."""
    rows = {}
    for dt in dtypes:
        for name in names:
            row = re.search(rf"^{dt}\s+{name}\s+{FLOAT}\s+{FLOAT} -\s+{FLOAT}$", out, re.M)
            assert row, f"no {dt} {name} time row in:\n{out}"
            rows[dt, name] = tuple(float(v) for v in row.groups())
        for name in names[1:]:
            label = f"lstm_core / {name}"
            row = re.search(rf"^{dt}\s+{label}\s+{FLOAT}\s+{FLOAT} -\s+{FLOAT}$", out, re.M)
            assert row, f"no {dt} {label} ratio row in:\n{out}"
            rows[dt, label] = tuple(float(v) for v in row.groups())
    for key, (med, lo, hi) in rows.items():
        # a smoke test: the numbers are finite and consistent, never compared with a speed
        assert all(math.isfinite(v) and v >= 0 for v in (med, lo, hi)), (key, med, lo, hi)
        assert lo <= med <= hi, (key, med, lo, hi)
    return rows


def test_bench_lstm_reports_median_and_range_per_contender_and_ratio():
    args = ["--N", "3", "--T", "12", "--D", "2", "--H", "4", "--repeats", "1", "--rounds", "2"]
    out = run("bench_lstm.py", *args, "--contenders", "per-gate", "products", "squashing")
    assert "2 rounds, each contender in its own process" in out
    table(out, ("float64", "float32"), ("lstm_core", "per-gate", "products", "squashing"))
    for dt in ("float64", "float32"):
        label = r"\(products \+ squashing\) / products"
        line = re.search(rf"^{dt}\s+{label}\s+{FLOAT}\s+{FLOAT} -\s+{FLOAT}$", out, re.M)
        assert line, f"no {dt} line of the floor with the squashing in:\n{out}"
        med, lo, hi = (float(v) for v in line.groups())
        # (p + s) / p with times p, s >= 0: at least 1 whatever the machine did meanwhile (a
        # stall while the products were timed can print 1.00; a speed is never asserted)
        assert 1 <= lo <= med <= hi, (dt, med, lo, hi)


def test_bench_lstm_times_torch_in_its_own_process(torch):
    args = ["--N", "3", "--T", "3", "--D", "2", "--H", "4", "--repeats", "1", "--rounds", "1"]
    out = run("bench_lstm.py", *args, "--dtypes", "float32", "--contenders", "torch")
    table(out, ("float32",), ("lstm_core", "torch"))


def test_bench_training_reports_every_seed_and_both_cells():
    out = run("bench_training.py", "--company-seeds", "3", "--memory-seeds", "2")
    assert "two companies, 1 unit, Adam(lr=0.1), until MSE < 1e-3; each seed in its own" in out
    companies = re.findall(
        r"^\s+(\d+)\s+(\d+)\s+\d+\.\d{3}\s+([+-]\d\.\d{3}) ([+-]\d\.\d{3})$", out, re.M
    )
    assert [int(seed) for seed, *_ in companies] == [0, 1, 2]
    assert all(1 <= int(epochs) <= 2000 for _, epochs, *_ in companies)
    assert re.search(r"^median \d+\.\d{3} s, worst \d+\.\d{3} s$", out, re.M)
    memory = re.findall(r"^\s+(\d+)" + r"\s+(\d+\.\d+)" * 5 + "$", out, re.M)
    assert [int(seed) for seed, *_ in memory] == [0, 1]
    # Seed 0 is the training of ``memory_test_mse("lstm", 20, seed=0)``, run here as well.
    mse, _ = ex.memory_test_mse("lstm", 20, seed=0)
    assert float(memory[0][1]) == pytest.approx(mse, abs=5e-5)
    for cell in ("lstm", "rnn"):
        for what in ("test MSE", "seconds"):
            assert re.search(
                rf"^  {cell}: {what} median [\d.]+, range [\d.]+ to [\d.]+$", out, re.M
            )
    assert re.search(r"^  ratio lstm / rnn time: median [\d.]+, range [\d.]+ to [\d.]+$", out, re.M)


def test_bench_choices_reports_median_and_range_per_variant_and_ratio():
    args = ["--N", "3", "--T", "4", "--H", "2", "--repeats", "1", "--rounds", "2"]
    out = run("bench_choices.py", *args)
    assert "2 rounds, each variant in its own process per round and dtype (best of 1 runs)" in out
    for dt in ("float64", "float32"):
        for choice in from_benchmarks("bench_choices").CHOICES:
            rows = [
                re.search(rf"^{dt}\s+{choice}\s+{label}{FLOAT}\s+{FLOAT} -\s+{FLOAT}$", out, re.M)
                for label in (r"chosen\s+", r"alternative\s+", "")  # "": the ratio's row
            ]
            assert all(rows), f"no {dt} {choice} rows in:\n{out}"
            for row in rows:
                med, lo, hi = (float(v) for v in row.groups())
                # a smoke test: finite and consistent numbers, never compared with a speed
                assert all(math.isfinite(v) and v >= 0 for v in (med, lo, hi)), row.group(0)
                assert lo <= med <= hi, row.group(0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_each_choice_and_its_alternative_compute_the_same(dtype):
    """bench_choices only compares like with like: on the same inputs (the same seed), the two
    variants of every choice give the same array, to rounding in the dtype (the squashing
    routes and the cell's tanh differ in how they round, not in what they compute)."""
    bench = from_benchmarks("bench_choices")
    tol = {np.float64: 1e-13, np.float32: 1e-6}[dtype]
    for choice in bench.CHOICES:
        got = {}
        for which in bench.VARIANTS:
            setup, run_it = bench.variant(choice, which, 5, 6, 3, np.dtype(dtype))
            got[which] = np.asarray(run_it(setup()))
        chosen, other = got["chosen"], got["alternative"]
        assert chosen.dtype == other.dtype == dtype, choice
        assert chosen.shape == other.shape, choice
        np.testing.assert_allclose(chosen, other, rtol=0, atol=tol, err_msg=choice)
        assert np.ptp(chosen) > 0, choice  # not two arrays of zeros


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("bench_lstm.py", ["--N", "0"], "--N must be at least 1, got 0"),
        ("bench_lstm.py", ["--H", "-4"], "--H must be at least 1, got -4"),
        ("bench_lstm.py", ["--rounds", "0"], "--rounds must be at least 1, got 0"),
        ("bench_lstm.py", ["--repeats", "0"], "--repeats must be at least 1, got 0"),
        ("bench_lstm.py", ["--dtypes", "float16"], "invalid choice: 'float16'"),
        ("bench_training.py", ["--memory-seeds", "0"], "--memory-seeds must be at least 1, got 0"),
        ("bench_training.py", ["--company-seeds", "-1"], "--company-seeds must be at least 1"),
        ("bench_training.py", ["--seeds", "3"], "unrecognized arguments: --seeds 3"),
        ("bench_choices.py", ["--T", "0"], "--T must be at least 1, got 0"),
        ("bench_choices.py", ["--rounds", "-2"], "--rounds must be at least 1, got -2"),
        ("bench_choices.py", ["--choices", "fusion"], "invalid choice: 'fusion'"),
    ],
)
def test_bad_arguments_get_one_line_and_status_2(script, args, message):
    out = finished(script, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_the_per_gate_contender_computes_the_same_gradients(rng):
    """bench_lstm's per-gate loop is only a fair contender if it does the same work right."""
    per_gate_forward_backward = from_benchmarks("bench_lstm").per_gate_forward_backward
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


def test_every_round_has_each_contender_once_and_each_goes_first_once():
    """Both benchmarks take their turns from benchmarks/rounds.py."""
    rotated = from_benchmarks("rounds").rotated
    names = ["plain", "pool", "dask1", "dask2"]
    orders = [rotated(names, r) for r in range(len(names))]
    assert all(sorted(order) == sorted(names) for order in orders)
    assert [order[0] for order in orders] == names  # each first in one round of four
    assert [order[-1] for order in orders] == ["dask2", "plain", "pool", "dask1"]
    assert rotated(names, len(names)) == names  # round 5 starts the cycle again
    for script in ("bench_lstm.py", "bench_grading.py"):
        assert "in rotated(names, r)" in (BENCH / script).read_text(), script
    with pytest.raises(ValueError, match="names: got an empty list"):
        rotated([], 0)


def test_why_pytorch_is_faster_in_float32_as_the_readme_says(torch, tmp_path, monkeypatch):
    """README, Performance: in float32 torch.nn.LSTM (the benchmark's contender) runs oneDNN's
    fused layer, forward and backward; in float64, separate products, sigmoid and tanh calls."""
    from torch.profiler import ProfilerActivity, profile

    # The profiler creates torch's compiler cache folder, by default /tmp/torchinductor_<user>
    # on the host (seen 2026-12-01); here it goes to this test's own folder.
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))

    def ops(dtype) -> set[str]:
        m = torch.nn.LSTM(3, 4, batch_first=True).to(dtype)
        x = torch.randn(2, 5, 3, dtype=dtype, requires_grad=True)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            out, _ = m(x)
            out.backward(torch.ones_like(out))
        return {event.key for event in prof.key_averages()}

    fused = {"aten::mkldnn_rnn_layer", "aten::mkldnn_rnn_layer_backward"}
    separate = {"aten::addmm", "aten::sigmoid_", "aten::tanh"}
    float32, float64 = ops(torch.float32), ops(torch.float64)
    assert fused <= float32 and not separate & float32, sorted(float32)
    assert separate <= float64 and not fused & float64, sorted(float64)
    assert (tmp_path / "inductor").is_dir()  # where the profiler put its folder
