"""benchmarks/bench_grading.py on a small class: its table and its totals (never a speed check)."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import grading_corpus as corpus
import pytest

# Every test here starts processes (tests/unit_tier.py).
pytestmark = pytest.mark.processes

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_grading.py"


def bench(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-W", "error", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contenders", "pool,torch"], "expected two or more different names among plain"),
        (["--contenders", "pool"], "got 'pool'"),
        (["--contenders", "pool,pool"], "got 'pool,pool'"),
        (["--submissions", "0"], "--submissions must be at least 1, got 0"),
        (["--rounds", "-1"], "--rounds must be at least 1, got -1"),
        (
            ["--hostile", "--submissions", "4"],
            "--hostile needs --submissions of at least 5 (the first attack is submission 5), got 4",
        ),
    ],
)
def test_bad_arguments_are_refused_before_any_grading(args, message):
    out = bench(*args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr


def bench_module():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        return importlib.import_module("bench_grading")
    finally:
        sys.path.remove(str(SCRIPT.parent))


def test_attacks_come_in_turn_and_those_that_wait_out_a_limit_last():
    script = bench_module()
    specs = {k: v for k, v in corpus.hostile_specs().items() if v["safe_unsandboxed"]}
    order = script.attack_order(specs)
    assert sorted(order) == sorted(specs)
    waits = [script.waits_out_a_limit(specs[name]) for name in order]
    assert waits == sorted(waits) and any(waits) and not waits[0], order
    # What the corpus says of each attack decides it: the loops wait, a dying kernel does not.
    every = corpus.hostile_specs()
    assert script.waits_out_a_limit(every["infinite_loop"])
    assert script.waits_out_a_limit(every["unkillable_loop"])
    assert not script.waits_out_a_limit(every["os_exit"])
    assert not script.waits_out_a_limit(every["huge_allocation"])


@pytest.mark.slow  # it grades the class four times, starting two Dask clusters
def test_every_contender_in_its_own_process_with_ratios_and_identical_totals():
    # 6 submissions: every variant of the corpus once, and the fifth one hostile (the first
    # kind of attack, one that costs no contender a wait: an invalid notebook file). 10 s per
    # cell, as the other grading tests: ps01's cells take well under 0.1 s on a quiet
    # machine, so a busy one keeps every ordinary total the same for all four contenders.
    args = ("--submissions", "6", "--rounds", "1", "--hostile", "--cell-timeout", "10")
    out = bench(*args, timeout=1800)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert text.startswith(
        "6 submissions of ps01_activations (5 variants, 1 hostile), cell timeout 10 s"
    )
    for label in (
        r"plain nbgrader \(sequential\)",
        r"local pool \(\d+ workers\)",
        r"Dask local:1 \(cluster start included\)",
        r"Dask local:2 \(cluster start included\)",
    ):
        row = rf"^{label}\s+\d+\.\d\s+\d+\.\d to \d+\.\d\s+\d+\.\d$"
        assert re.search(row, text, re.M), (label, text)
    for ratio in (
        "local pool / plain nbgrader",
        "Dask local:1 / local pool",
        "Dask local:2 / local pool",
        "Dask local:2 / Dask local:1",
    ):
        line = rf"^ratio {ratio}: \d+\.\d\d \(range \d+\.\d\d to \d+\.\d\d over 1 rounds\)$"
        assert re.search(line, text, re.M), (ratio, text)
    assert re.search(r"^local pool: a correct submission's job took \d+\.\d\d s", text, re.M)
    assert "identical totals for every non-hostile student across all contenders: True" in text
