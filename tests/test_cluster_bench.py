"""benchmarks/bench_cluster.py runs on a small class and prints its table (never a speed check)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # it grades the class three times, starting two Dask clusters
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_cluster.py"


def test_bench_cluster_prints_throughput_ratios_and_identical_totals():
    out = subprocess.run(
        [sys.executable, "-W", "error", str(SCRIPT), "--submissions", "6", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert text.startswith("6 submissions of ps01_activations (5 variants)")
    for label in (r"local pool \(\d+ workers\)", r"Dask local:1 \(", r"Dask local:2 \("):
        row = rf"^{label}.*\s\d+\.\d\s+\d+\.\d to \d+\.\d\s+\d+\.\d$"
        assert re.search(row, text, re.M), (label, text)
    for ratio in ("local:1 / local pool", "local:2 / local pool", "local:2 / Dask local:1"):
        line = rf"^ratio Dask {ratio}: \d+\.\d\d \(range \d+\.\d\d to \d+\.\d\d over 1 rounds\)$"
        assert re.search(line, text, re.M), (ratio, text)
    assert "identical totals for every student across the three: True" in text
