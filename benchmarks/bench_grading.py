"""Benchmark: one class graded by plain nbgrader, the local pool and Dask clusters of 1 and 2.

Builds one class of N submissions of ps01_activations (default 100): the solution and the
one-bug variants of tests/grading_corpus.py in turn (correct, naive_sigmoid, grad_of_output,
numpy_tanh, unanswered); with ``--hostile``, every tenth one from the fifth on (the 5th, 15th,
...) is an attack of the hostile corpus that is harmless enough to run without a sandbox (an
invalid file, a deleted cell, ``os._exit``, ``sys.exit``, an infinite loop, in turn: the one
that waits out a time limit last, see :func:`attack_order`), which measures mostly how each
contender waits out its timeouts. Each contender grades a fresh copy of the
class in a process of its own (``--contender``, so none inherits another's warm imports or
threads), the contenders taking turns in an order that rotates from round to round:

* ``plain``: ``nbgrader autograde`` (one process, one notebook after the other, no sandbox);
* ``pool``: ``lstm-autograde`` on this machine (:mod:`lstm_grading.parallel`, its default
  number of workers, each submission in its sandbox);
* ``dask1``, ``dask2``: ``lstm-autograde --cluster local:1`` / ``local:2``
  (:mod:`lstm_grading.cluster`), the cluster's start and stop included.

Grading only: no feedback and no export (plain ``autograde`` does neither). Prints each
contender's wall time (median and range over ``--rounds``) and throughput, the throughput
ratios round by round (median and range), the pool's median job time for a correct
submission, and whether every non-hostile student got the same total from every contender.

    .venv/bin/python benchmarks/bench_grading.py [--submissions 100] [--rounds 3]
        [--contenders plain,pool,dask1,dask2] [--hostile]

Not a test: timings depend on the machine and its load (tests/test_bench_grading.py runs it on
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
from rounds import refuse_below_one, rotated

A = corpus.ASSIGNMENT
CONTENDERS = {
    "plain": "plain nbgrader",
    "pool": "local pool",
    "dask1": "Dask local:1",
    "dask2": "Dask local:2",
}
RATIOS = [  # (faster candidate, baseline, label): throughput of the first / of the second
    ("pool", "plain", "local pool / plain nbgrader"),
    ("dask1", "pool", "Dask local:1 / local pool"),
    ("dask2", "pool", "Dask local:2 / local pool"),
    ("dask2", "dask1", "Dask local:2 / Dask local:1"),
]


HOSTILE_EVERY, FIRST_HOSTILE = 10, 5  # with --hostile: the 5th, 15th, 25th, ... submission


def is_hostile(i: int) -> bool:
    """Whether submission ``i`` (from 0) is an attack, with ``--hostile``."""
    return i % HOSTILE_EVERY == FIRST_HOSTILE - 1


def waits_out_a_limit(spec: dict) -> bool:
    """Whether grading the attack ``spec`` waits out a time limit: the corpus expects it
    failed for a timeout, or graded with a note of one."""
    expect = spec["expect"]
    return "timeout" in expect.get("reason", "") or "timeout" in expect.get("note", "")


def attack_order(specs: dict[str, dict]) -> list[str]:
    """The kinds of attack in the order they are submitted, cycling: by name, those that wait
    out a time limit last. A class of 100 gets every kind twice whatever the order; a small
    one (the test's class of 6) gets an attack that costs no contender a wait."""
    return sorted(specs, key=lambda name: (waits_out_a_limit(specs[name]), name))


def build_class(root: Path, n: int, with_hostile: bool) -> tuple[list[str], set[str]]:
    """A course at ``root`` with ``n`` submissions; the ids of the hostile ones, and the
    ordinary variants submitted."""
    course = Course.copy_of_repo(root, forked=False)  # nbgrader as an instructor starts it
    course.generate(A)
    specs = {k: v for k, v in corpus.hostile_specs().items() if v["safe_unsandboxed"]}
    hostile, ordinary = attack_order(specs), list(corpus.ORDINARY)
    attackers, variants = [], set()
    for i in range(n):
        if with_hostile and is_hostile(i):
            name = hostile[(i // HOSTILE_EVERY) % len(hostile)]
            student = f"s{i:03d}_h_{name}"
            corpus.submit_hostile(course, student, specs[name])
            attackers.append(student)
        else:
            name = ordinary[(i - len(attackers)) % len(ordinary)]
            course.submit(f"s{i:03d}_{name}", A, corpus.ordinary(course.root, name))
            variants.add(name)
    return attackers, variants


def contender(name: str, course: Path, cell_timeout: int) -> dict:
    """Grade ``course`` as ``name``; the wall time, every student's total, the job times."""
    from lstm_grading.sandbox import Limits

    start = time.perf_counter()
    if name == "plain":
        graded = Course(course, forked=False)  # timed: `nbgrader autograde`, started afresh
        graded.autograde(A, cell_timeout=cell_timeout)
        seconds = time.perf_counter() - start
        return {
            "seconds": seconds,
            "workers": 1,
            "sandbox": "none",
            "totals": {s: graded.total(A, s) for s in graded.scores(A)},
            "correct_jobs": [],
        }
    from lstm_grading.cluster import connect, coordinator
    from lstm_grading.parallel import grade_assignment

    limits = Limits(cell_timeout=cell_timeout, notebook_timeout=120)
    options = {"limits": limits, "feedback": False, "export": False, "progress": False}
    if name == "pool":
        summary = grade_assignment(course, A, **options)
    else:
        target = connect.target(cluster=f"local:{name[-1]}")
        summary = coordinator.grade_assignment(course, A, target, **options)
    seconds = time.perf_counter() - start
    rows = summary["students"]
    return {
        "seconds": seconds,
        "workers": summary["jobs"] if name == "pool" else int(name[-1]),
        "sandbox": summary["sandbox"],
        "totals": {r["student"]: r["score"] for r in rows},
        "correct_jobs": [r["seconds"] for r in rows if r["student"].endswith("_correct")],
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


def contender_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(CONTENDERS))
    if unknown or len(set(names)) != len(names) or len(names) < 2:
        raise argparse.ArgumentTypeError(
            f"expected two or more different names among {', '.join(CONTENDERS)}, got {text!r}"
        )
    return [name for name in CONTENDERS if name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100, help="size of the class")
    parser.add_argument("--rounds", type=int, default=3, help="each contender this many times")
    parser.add_argument("--cell-timeout", type=int, default=3, help="seconds per cell")
    parser.add_argument(
        "--contenders",
        type=contender_list,
        default=list(CONTENDERS),
        help=f"comma-separated, two or more of {','.join(CONTENDERS)} (default: all)",
    )
    parser.add_argument(
        "--hostile",
        action="store_true",
        help=f"every {HOSTILE_EVERY}th submission from the {FIRST_HOSTILE}th on is an attack",
    )
    parser.add_argument("--contender", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--course", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        print(json.dumps(contender(args.contender, args.course, args.cell_timeout)))
        return
    refuse_below_one(parser, args, ["submissions", "rounds", "cell_timeout"])
    if args.hostile and args.submissions < FIRST_HOSTILE:
        parser.error(
            f"--hostile needs --submissions of at least {FIRST_HOSTILE} (the first attack is "
            f"submission {FIRST_HOSTILE}), got {args.submissions}"
        )

    names = args.contenders
    seconds: dict[str, list[float]] = {name: [] for name in names}
    info: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        template = Path(tmp) / "class"
        attackers, variants = build_class(template, args.submissions, args.hostile)
        for r in range(args.rounds):
            for name in rotated(names, r):
                result = run_contender(name, template, Path(tmp), args.cell_timeout)
                seconds[name].append(result["seconds"])
                if name in info and info[name]["totals"] != result["totals"]:
                    raise SystemExit(f"contender {name} gave different totals in round {r + 1}")
                info[name] = result

    n = args.submissions
    rate = {name: n / statistics.median(s) * 60 for name, s in seconds.items()}
    print(
        f"{n} submissions of {A} ({len(variants)} variants, {len(attackers)} hostile), "
        f"cell timeout {args.cell_timeout} s, {args.rounds} round(s), each contender in its own "
        f"process, on {os.cpu_count()} cores"
    )
    rows = []
    for name in names:
        what = {"plain": "sequential", "pool": f"{info[name]['workers']} workers"}
        label = f"{CONTENDERS[name]} ({what.get(name, 'cluster start included')})"
        rows.append((label, statistics.median(seconds[name]), seconds[name], name))
    width = max(len(row[0]) for row in rows)
    print(f"{'contender':<{width}} {'seconds':>9} {'range':>15} {'per minute':>11}")
    for label, median, times, name in rows:
        span = f"{min(times):.1f} to {max(times):.1f}"
        print(f"{label:<{width}} {median:9.1f} {span:>15} {rate[name]:11.1f}")
    # Throughput ratios round by round (the contenders of one round ran back to back).
    for top, bottom, text in RATIOS:
        if top in seconds and bottom in seconds:
            ratios = [b / t for t, b in zip(seconds[top], seconds[bottom], strict=True)]
            print(
                f"ratio {text}: {statistics.median(ratios):.2f} "
                f"(range {min(ratios):.2f} to {max(ratios):.2f} over {len(ratios)} rounds)"
            )
    if "pool" in info and info["pool"]["correct_jobs"]:
        jobs = info["pool"]["correct_jobs"]
        print(
            f"local pool: a correct submission's job took {statistics.median(jobs):.2f} s "
            f"(median of {len(jobs)}, last round)"
        )
    sandboxes = "; ".join(f"{name} {info[name]['sandbox']}" for name in names)
    print(f"sandbox: {sandboxes}")
    students = sorted(set(info[names[0]]["totals"]) - set(attackers))
    same = len(students) == n - len(attackers) and all(
        info[name]["totals"].get(s) == info[names[0]]["totals"][s]
        for name in names
        for s in students
    )
    print(f"identical totals for every non-hostile student across all contenders: {same}")


if __name__ == "__main__":
    main()
