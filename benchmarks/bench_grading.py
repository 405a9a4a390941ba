"""Benchmark: plain sequential ``nbgrader autograde`` against ``lstm-autograde``, same run.

Generates N submissions of ps01_activations (default 100: the ordinary variants of
tests/grading_corpus.py in turn, every tenth one an attack from the hostile corpus that is
harmless enough to run under plain nbgrader: infinite loop, os._exit, sys.exit, invalid
file, deleted cell), places them in two identical temporary courses and grades one with
``nbgrader autograde <assignment>`` (one process, one notebook after the other) and the
other with the parallel grader (one worker per core, sandboxed when possible; without
feedback and export, which plain autograde does not do either). Prints submissions per
minute for both, their ratio, the grader's median wall time per correct submission, and
checks that both give every non-hostile submission the same total.

    .venv/bin/python benchmarks/bench_grading.py [--n 100] [--jobs 3] [--cell-timeout 3]

Not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import grading_corpus as corpus
from course import Course

from lstm_grading.parallel import default_jobs, grade_assignment
from lstm_grading.sandbox import Limits

A = corpus.ASSIGNMENT


def submissions(root: Path, n: int) -> dict[str, object]:
    specs = {k: v for k, v in corpus.hostile_specs().items() if v["safe_unsandboxed"]}
    hostile, ordinary = sorted(specs), list(corpus.ORDINARY)
    out = {}
    for i in range(n):
        if i % 10 == 9:
            name = hostile[(i // 10) % len(hostile)]
            out[f"s{i:03d}_h_{name}"] = corpus.hostile(root, specs[name])
        else:
            name = ordinary[i % len(ordinary)]
            out[f"s{i:03d}_{name}"] = corpus.ordinary(root, name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--cell-timeout", type=int, default=3)
    args = parser.parse_args()
    os.environ["LSTM_GRADING_CELL_TIMEOUT"] = str(args.cell_timeout)

    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        plain = Course.copy_of_repo(Path(tmp) / "plain")
        plain.generate(A)
        subs = submissions(plain.root, args.n)
        for student, nb in subs.items():
            plain.submit(student, A, nb)
        parallel = Course(Path(tmp) / "parallel")
        shutil.copytree(plain.root, parallel.root)

        t0 = time.perf_counter()
        plain.autograde(A)
        t_plain = time.perf_counter() - t0

        t0 = time.perf_counter()
        summary = grade_assignment(
            parallel.root,
            A,
            jobs=args.jobs,
            limits=Limits(cell_timeout=args.cell_timeout, notebook_timeout=120),
            feedback=False,
            export=False,
        )
        t_par = time.perf_counter() - t0

        a, b = plain.scores(A), parallel.scores(A)
        same = all(a[s] == b[s] for s in subs if "_h_" not in s)
        correct = [r["seconds"] for r in summary["students"] if r["student"].endswith("_correct")]

    n = len(subs)
    rate_plain, rate_par = n / t_plain * 60, n / t_par * 60
    print(f"{n} submissions of {A} ({n // 10} hostile), cell timeout {args.cell_timeout} s")
    print(f"plain nbgrader autograde (sequential): {t_plain:7.1f} s  {rate_plain:6.1f} /min")
    print(
        f"lstm-autograde, {args.jobs} workers, sandbox {summary['sandbox']}: "
        f"{t_par:7.1f} s  {rate_par:6.1f} /min"
    )
    print(f"ratio: {rate_par / rate_plain:.2f}x")
    print(
        f"lstm-autograde wall time per submission: {t_par / n:.2f} s overall; "
        f"per correct submission (job time, median of {len(correct)}): "
        f"{statistics.median(correct):.2f} s"
    )
    print(f"same totals for every non-hostile submission: {same}")


if __name__ == "__main__":
    main()
