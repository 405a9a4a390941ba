"""tests/cpu_profile.py: each test's CPU time with its processes', and the report by module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cpu_profile
import pytest

BURN = 0.5  # CPU seconds a test's child process burns, by its own clock

TESTS = f"""
import subprocess, sys

def test_a_child_burns():
    code = "import time\\nwhile time.process_time() < {BURN}: pass"
    subprocess.run([sys.executable, "-c", code], check=True)

def test_nothing():
    pass
"""


@pytest.mark.processes
@pytest.mark.skipif(
    os.geteuid() != 0 or not (cpu_profile.CPUACCT / "cpuacct.usage").is_file(),
    reason="needs root and the cgroup v1 cpuacct hierarchy (this machine's set-up)",
)
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "two workers"])
def test_a_childs_cpu_counts_in_its_test_and_the_cgroups_go(tmp_path, workers):
    (tmp_path / "test_burn.py").write_text(TESTS)
    out = tmp_path / "cpu.jsonl"
    before = set(cpu_profile.CPUACCT.glob("lstm-tests-cpu-*"))
    pytest_args = ["-q", "-p", "no:cacheprovider", "-p", "cpu_profile", *workers, "test_burn.py"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args],
        cwd=tmp_path,
        env={
            **os.environ,
            cpu_profile.ENV: str(out),
            "PYTHONPATH": str(Path(cpu_profile.__file__).parent),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    records = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(records) == {"test_burn.py::test_a_child_burns", "test_burn.py::test_nothing"}
    assert records["test_burn.py::test_a_child_burns"]["cpu"] >= BURN
    assert records["test_burn.py::test_nothing"]["cpu"] < BURN
    assert {r["worker"] for r in records.values()} <= {"main", "gw0", "gw1"}
    assert set(cpu_profile.CPUACCT.glob("lstm-tests-cpu-*")) == before


def test_without_the_hierarchy_or_a_file_the_error_says_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match=r"cpuacct cgroup hierarchy is not at .*got no"):
        cpu_profile.Profile(tmp_path / "cpu.jsonl", "main", root=tmp_path)


def test_the_report_sums_each_module(tmp_path, capsys):
    rows = [
        {"id": "tests/test_a.py::t1", "cpu": 2.0, "wall": 3.0, "worker": "gw0"},
        {"id": "tests/test_a.py::t2[x]", "cpu": 1.0, "wall": 1.0, "worker": "gw0"},
        {"id": "tests/test_b.py::t", "cpu": 5.0, "wall": 9.0, "worker": "gw1"},
    ]
    assert cpu_profile.by_module(rows) == [
        ("tests/test_b.py", 5.0, 9.0, 1),
        ("tests/test_a.py", 3.0, 4.0, 2),
    ]
    path = tmp_path / "cpu.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert cpu_profile.main([str(path), "--tests", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["5.0", "62.5%", "9.0", "1", "tests/test_b.py"]
    assert lines[2].split() == ["3.0", "37.5%", "4.0", "2", "tests/test_a.py"]
    assert lines[3].split() == ["8.0", "13.0", "3", "in", "all"]
    assert lines[4].split() == ["5.0", "9.0", "tests/test_b.py::t"]
