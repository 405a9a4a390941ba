"""A pytest plugin that records each test's CPU time, its processes' included; and its report.

What makes the suite slow is CPU work, and much of it is in processes the tests start
(kernels, nbgrader, Dask workers, Chromium), some of which pytest never waits for itself
(the fork server of tests/course.py reaps nbgrader's commands): ``resource.getrusage``
misses them. So each pytest process (each pytest-xdist worker, or the one process of a serial
run) moves itself into a cpuacct cgroup of its own when it starts; every process it starts
from then on is counted there, and the cgroup's total before and after each test (set-up,
call and tear-down) is that test's CPU time. Linux with the cgroup v1 cpuacct hierarchy
mounted, as root (this machine's Debian set-up)::

    LSTM_TESTS_CPU_PROFILE=/tmp/cpu.jsonl .venv/bin/python -m pytest -p cpu_profile -m slow -n 2
    .venv/bin/python tests/cpu_profile.py /tmp/cpu.jsonl      # CPU and wall time per module

Each test adds one JSON line: its id, CPU and wall seconds, and its pytest-xdist worker. A
session-scoped fixture's CPU counts in the test that first needs it; a shared browser's, in
every test that drives it. The cgroups are removed when the session ends.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

CPUACCT = Path("/sys/fs/cgroup/cpuacct")
ENV = "LSTM_TESTS_CPU_PROFILE"


class Profile:
    """The cpuacct cgroup of this pytest process, and the file the records go to."""

    def __init__(self, out: Path, worker: str, root: Path = CPUACCT):
        if not (root / "cpuacct.usage").is_file():
            raise ValueError(
                f"{ENV}: the cpuacct cgroup hierarchy is not at {root} (got no "
                f"{root / 'cpuacct.usage'}), expected cgroup v1 with cpuacct mounted there"
            )
        self.cgroup = root / f"lstm-tests-cpu-{os.getpid()}"
        self.cgroup.mkdir()
        (self.cgroup / "cgroup.procs").write_text(str(os.getpid()))
        self.root, self.worker = root, worker
        self.out = out.open("a")

    def usage(self) -> float:
        return int((self.cgroup / "cpuacct.usage").read_text()) / 1e9

    def record(self, nodeid: str, cpu: float, wall: float) -> None:
        line = {"id": nodeid, "cpu": cpu, "wall": wall, "worker": self.worker}
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()

    def close(self) -> None:
        """Back to the parent cgroup; this one removed once its last process has gone."""
        self.out.close()
        (self.root / "cgroup.procs").write_text(str(os.getpid()))
        with contextlib.suppress(OSError):  # a process started here still runs: it stays
            self.cgroup.rmdir()


_profile: Profile | None = None


def pytest_configure(config):
    global _profile
    out = os.environ.get(ENV)
    if not out:
        raise ValueError(f"{ENV}: got nothing, expected the file to write each test's CPU to")
    if os.environ.get("PYTEST_XDIST_WORKER") or not config.getoption("numprocesses", None):
        _profile = Profile(Path(out), os.environ.get("PYTEST_XDIST_WORKER", "main"))


def pytest_unconfigure(config):
    if _profile is not None:
        _profile.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if _profile is None:
        return (yield)
    cpu, wall = _profile.usage(), time.monotonic()
    try:
        return (yield)
    finally:
        _profile.record(item.nodeid, _profile.usage() - cpu, time.monotonic() - wall)


def by_module(records: list[dict]) -> list[tuple[str, float, float, int]]:
    """(module, CPU seconds, wall seconds, tests) per test module, the most CPU first."""
    totals: dict[str, list] = defaultdict(lambda: [0.0, 0.0, 0])
    for r in records:
        total = totals[r["id"].split("::")[0]]
        total[0] += r["cpu"]
        total[1] += r["wall"]
        total[2] += 1
    return sorted(((m, *t) for m, t in totals.items()), key=lambda row: -row[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU and wall time per test module")
    parser.add_argument("files", nargs="+", type=Path, help=f"what {ENV} named in the runs")
    parser.add_argument("--tests", type=int, default=0, help="also the N costliest tests")
    args = parser.parse_args(argv)
    records = [json.loads(line) for f in args.files for line in f.read_text().splitlines()]
    cpu = sum(r["cpu"] for r in records)
    print(f"{'CPU s':>8} {'share':>6} {'wall s':>8} {'tests':>6}  module")
    for module, module_cpu, wall, count in by_module(records):
        share = module_cpu / cpu if cpu else 0.0
        print(f"{module_cpu:8.1f} {share:6.1%} {wall:8.1f} {count:6d}  {module}")
    print(f"{cpu:8.1f} {'':6} {sum(r['wall'] for r in records):8.1f} {len(records):6d}  in all")
    for r in sorted(records, key=lambda r: -r["cpu"])[: args.tests]:
        print(f"{r['cpu']:8.1f} {'':6} {r['wall']:8.1f} {'':6}  {r['id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
