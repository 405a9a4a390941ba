"""Benchmark: one class graded by the local pool and by Dask clusters of 1 and 2 workers.

Builds one class of N submissions of ps01_activations (default 100), the solution and the
one-bug variants of tests/grading_corpus.py in turn (correct, naive_sigmoid, grad_of_output,
numpy_tanh, unanswered), and grades a fresh copy of it with each contender, each in its own
process (``--contender``, so no contender inherits another's warm imports or threads):

* ``pool``: ``lstm-autograde`` on this machine (:mod:`lstm_grading.parallel`, its default
  number of workers);
* ``dask1``, ``dask2``: ``lstm-autograde --cluster local:1`` / ``local:2``
  (:mod:`lstm_grading.cluster`), the cluster's start and stop included.

Without feedback and export (grading only). Prints each contender's wall time and throughput
(submissions per minute, the median over ``--rounds``, the order of the contenders rotating
from round to round), the ratios, and whether every student got the same total from all three.

    .venv/bin/python benchmarks/bench_cluster.py [--submissions 100] [--rounds 1]

Not a test: timings depend on the machine and its load (tests/test_cluster_bench.py runs it on
a small class and checks the output's structure and the totals line, never the speed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import grading_corpus as corpus
from course import Course

A = corpus.ASSIGNMENT
CONTENDERS = {"pool": "local pool", "dask1": "Dask local:1", "dask2": "Dask local:2"}


def build_class(root: Path, n: int) -> None:
    """A course at ``root`` with ``n`` submissions: the ordinary variants in turn."""
    course = Course.copy_of_repo(root)
    course.generate(A)
    variants = list(corpus.ORDINARY)
    for i in range(n):
        name = variants[i % len(variants)]
        course.submit(f"s{i:03d}_{name}", A, corpus.ordinary(course.root, name))


def contender(name: str, course: Path, cell_timeout: int) -> dict:
    """Grade ``course`` as ``name``; the wall time and every student's total."""
    from lstm_grading.cluster import connect, coordinator
    from lstm_grading.parallel import grade_assignment
    from lstm_grading.sandbox import Limits

    limits = Limits(cell_timeout=cell_timeout, notebook_timeout=120)
    options = {"limits": limits, "feedback": False, "export": False, "progress": False}
    start = time.perf_counter()
    if name == "pool":
        summary = grade_assignment(course, A, **options)
    else:
        target = connect.target(cluster=f"local:{name[-1]}")
        summary = coordinator.grade_assignment(course, A, target, **options)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "jobs": summary["jobs"],
        "sandbox": summary["sandbox"],
        "totals": {r["student"]: r["score"] for r in summary["students"]},
    }


def run_contender(name: str, template: Path, workdir: Path, cell_timeout: int) -> dict:
    """A fresh copy of the class, graded by ``name`` in a process of its own."""
    course = workdir / f"{name}-{time.monotonic_ns()}"
    shutil.copytree(template, course)
    try:
        warn = [f"-W{w}" for w in sys.warnoptions]  # -W error reaches the contenders too
        argv = [sys.executable, *warn, __file__, "--contender", name, "--course", str(course)]
        out = subprocess.run(
            [*argv, "--cell-timeout", str(cell_timeout)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"contender {name} failed:\n{out.stdout}\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(course, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100, help="size of the class")
    parser.add_argument("--rounds", type=int, default=1, help="each contender this many times")
    parser.add_argument("--cell-timeout", type=int, default=3, help="seconds per cell")
    parser.add_argument("--contender", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--course", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        print(json.dumps(contender(args.contender, args.course, args.cell_timeout)))
        return
    for name in ("submissions", "rounds"):
        if getattr(args, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(args, name)}")

    seconds: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    totals: dict[str, dict] = {}
    info: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        template = Path(tmp) / "class"
        build_class(template, args.submissions)
        order = list(CONTENDERS)
        for r in range(args.rounds):
            for name in order[r % 3 :] + order[: r % 3]:
                result = run_contender(name, template, Path(tmp), args.cell_timeout)
                seconds[name].append(result["seconds"])
                if name in totals and totals[name] != result["totals"]:
                    raise SystemExit(f"contender {name} gave different totals in round {r + 1}")
                totals[name], info[name] = result["totals"], result

    n = args.submissions
    rate = {name: n / statistics.median(s) * 60 for name, s in seconds.items()}
    print(
        f"{n} submissions of {A} ({len(corpus.ORDINARY)} variants), cell timeout "
        f"{args.cell_timeout} s, {args.rounds} round(s), each contender in its own process, "
        f"on {os.cpu_count()} cores"
    )
    rows = []
    for name, label in CONTENDERS.items():
        workers = f"{info[name]['jobs']} workers" if name == "pool" else "cluster start included"
        low, high = min(seconds[name]), max(seconds[name])
        rows.append((f"{label} ({workers})", statistics.median(seconds[name]), low, high, name))
    width = max(len(row[0]) for row in rows)
    print(f"{'contender':<{width}} {'seconds':>9} {'range':>15} {'per minute':>11}")
    for label, median, low, high, name in rows:
        span = f"{low:.1f} to {high:.1f}"
        print(f"{label:<{width}} {median:9.1f} {span:>15} {rate[name]:11.1f}")
    # Throughput ratios round by round (the contenders of one round ran back to back).
    for top, bottom, text in [  # throughput of top / throughput of bottom
        ("dask1", "pool", "Dask local:1 / local pool"),
        ("dask2", "pool", "Dask local:2 / local pool"),
        ("dask2", "dask1", "Dask local:2 / Dask local:1"),
    ]:
        ratios = [b / t for t, b in zip(seconds[top], seconds[bottom], strict=True)]
        print(
            f"ratio {text}: {statistics.median(ratios):.2f} "
            f"(range {min(ratios):.2f} to {max(ratios):.2f} over {len(ratios)} rounds)"
        )
    print(f"sandbox: {', '.join(sorted({i['sandbox'] for i in info.values()}))}")
    same = totals["pool"] == totals["dask1"] == totals["dask2"] and len(totals["pool"]) == n
    print(f"identical totals for every student across the three: {same}")


if __name__ == "__main__":
    main()
