"""A full disk under the course, provoked for real: a tmpfs with little room, in a private
mount namespace (``unshare -m``), so the host's mounts never change.

- The course's disk fills while results are merged: ``lstm-autograde`` stops with one line
  (exit status 2, no traceback); the gradebook is intact; with room again, the same command
  grades the rest, and every student ends with exactly the grade plain nbgrader gives, counted
  once.
- The disk fills while feedback is written: each student's note says why; exit status 1.
- ``nbgrader export`` fails: the previous ``grades.csv`` is kept, and the run says so.

Kernel-starting tests: slow. No timing assertions.
"""

from __future__ import annotations

import csv
import json
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import cluster_processes as cp
import grading_corpus as corpus
import pytest
from course import Course

from lstm_grading import linux, report

pytestmark = pytest.mark.slow
A = corpus.ASSIGNMENT
MODE, WHY = linux.probe()
needs_sandbox = pytest.mark.skipif(MODE != "full", reason=f"full sandbox unavailable here: {WHY}")
EXTRA = ("extra0", "extra1", "extra2")  # three more correct submissions: more to merge


def cli(course: str, *args: str) -> str:
    argv = [sys.executable, "-m", "lstm_grading.cli", A, "--course", course]
    argv += ["--cell-timeout", "30", "--notebook-timeout", "300", *args]
    return shlex.join(argv)


def grade(course: Course) -> subprocess.CompletedProcess:
    """``lstm-autograde`` without feedback on ``course``, where it is."""
    argv = shlex.split(cli(str(course.root), "--no-feedback"))
    return subprocess.run(argv, capture_output=True, text=True, timeout=cp.WAIT, check=False)


def on_small_disk(course: Course, tmp: Path, free_kib: int, steps: list[str]) -> list[dict]:
    """Copy ``course`` onto a tmpfs with ``free_kib`` KiB left, in a private mount namespace;
    run ``steps`` (shell lines, ``{c}`` the course there; ``grow`` gives the tmpfs 64 MiB);
    copy the course back to ``tmp / "after"``. Each step's exit status and output."""
    mnt, out = tmp / "mnt", tmp / "out"
    mnt.mkdir()
    out.mkdir()
    lines = [
        "set -u",
        f"mount -t tmpfs -o size=64m tmpfs {mnt}",
        f"cp -a {shlex.quote(str(course.root))} {mnt}/c",
        # the space used now, plus what the test leaves free
        f"used=$(df -k --output=used {mnt} | tail -1 | tr -d ' ')",
        f"mount -o remount,size=$((used + {free_kib}))k {mnt}",
    ]
    for i, step in enumerate(steps):
        if step == "grow":
            lines.append(f"mount -o remount,size=64m {mnt}")
            continue
        command = step.format(c=f"{mnt}/c")
        lines.append(f"{command} > {out}/{i}.out 2> {out}/{i}.err; echo $? > {out}/{i}.rc")
    lines.append(f"cp -a {mnt}/c {tmp}/after")
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", "\n".join(lines)],
        capture_output=True,
        text=True,
        timeout=cp.WAIT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [
        {
            "rc": int((out / f"{i}.rc").read_text()),
            "out": (out / f"{i}.out").read_text(),
            "err": (out / f"{i}.err").read_text(),
        }
        for i, step in enumerate(steps)
        if step != "grow"
    ]


def a_class(ps01_course: Path, dest: Path) -> Course:
    course = Course.copy_of(ps01_course, dest)
    corpus.submit_ordinary(course)
    for name in EXTRA:
        course.submit(name, A, corpus.ordinary(course.root, "correct"))
    return course


def intact(gradebook: Path) -> None:
    con = sqlite3.connect(f"file:{gradebook}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


@needs_sandbox
def test_a_disk_full_while_merging_stops_the_run_and_the_same_command_finishes_it(
    ps01_course, ps01_alone, tmp_path
):
    before = cp.host_state()
    course = a_class(ps01_course, tmp_path / "course")
    # 128 KiB: not room for the whole class's results (they took 290 to 320 KiB here).
    first, second = on_small_disk(
        course, tmp_path, 128, [cli("{c}", "--no-feedback"), "grow", cli("{c}", "--no-feedback")]
    )
    assert first["rc"] == 2, first
    (line,) = first["err"].strip().splitlines()[-1:]
    assert line.startswith("lstm-autograde: the disk is full ("), first["err"]
    assert "free some space and run the same command again" in line
    assert "Traceback" not in first["err"] and "Rolling back" not in first["err"], first["err"]
    assert second["rc"] == 0, second
    after = Course(tmp_path / "after")
    intact(after.root / "gradebook.db")
    summary = json.loads((after.root / "reports" / A / "summary.json").read_text())
    assert summary["graded"] + summary["unchanged"] == len(corpus.ORDINARY) + len(EXTRA)
    assert summary["graded"] > 0, "the first run merged everything: the disk was not full"
    scores = after.scores(A)
    assert {s: scores[s] for s in corpus.ORDINARY} == ps01_alone
    assert all(scores[s] == ps01_alone["correct"] for s in EXTRA)
    assert after.submissions_in_gradebook() == len(corpus.ORDINARY) + len(EXTRA)
    assert not list(after.root.rglob("*.tmp")), "a temporary file was left in the course"
    cp.assert_clean(before)


@needs_sandbox
def test_a_disk_full_while_writing_feedback_is_noted_with_its_reason(ps01_course, tmp_path):
    before = cp.host_state()
    course = a_class(ps01_course, tmp_path / "course")
    # Room to grade, merge and export (290 to 320 KiB here), not for the feedback pages: with
    # 320 to 520 KiB free, 7 or 8 of the 8 students' feedback failed.
    (run,) = on_small_disk(course, tmp_path, 400, [cli("{c}")])
    assert run["rc"] == 1, run
    summary = json.loads((tmp_path / "after" / "reports" / A / "summary.json").read_text())
    assert summary["failed"] == 0 and summary["feedback_failed"] > 0, summary
    notes = [r["notes"] for r in summary["students"] if "feedback" in r["notes"]]
    assert notes, summary["students"]  # or the line below checks nothing
    assert all("No space left on device" in n for n in notes), notes
    assert f"feedback generation failed for {summary['feedback_failed']} student(s)" in run["err"]
    intact(tmp_path / "after" / "gradebook.db")
    cp.assert_clean(before)


@needs_sandbox
def test_a_failed_export_keeps_the_previous_grades_csv(ps01_course, tmp_path):
    course = a_class(ps01_course, tmp_path / "course")
    old = "assignment,student_id,score\nps01_activations,someone,1.0\n"
    (course.root / "grades.csv").write_text(old)
    (course.root / "grades.csv.tmp").mkdir()  # where the export is written first: it fails
    run = grade(course)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "lstm-autograde: nbgrader export failed (" in run.stderr
    assert "grades.csv was not changed" in run.stderr
    assert (course.root / "grades.csv").read_text() == old
    summary = json.loads((course.root / "reports" / A / "summary.json").read_text())
    assert summary["export_error"].startswith("nbgrader export failed (")
    assert summary["graded"] == len(corpus.ORDINARY) + len(EXTRA)
    shutil.rmtree(course.root / "grades.csv.tmp")
    again = grade(course)
    assert again.returncode == 0, again.stdout + again.stderr
    with open(course.root / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(corpus.ORDINARY) | set(EXTRA)


def test_last_error_finds_the_exception_in_nbgraders_output():
    """The output of ``nbgrader generate_feedback`` on a full disk (2026-11-30), abridged."""
    output = (
        "[GenerateFeedbackApp | ERROR] There was an error processing assignment: /c/autograded\n"
        "[GenerateFeedbackApp | ERROR] Traceback (most recent call last):\n"
        '      File "nbconvert/writers/files.py", line 153, in write\n'
        "        f.write(output)\n"
        "    OSError: [Errno 28] No space left on device\n"
        "    \n"
        "[GenerateFeedbackApp | WARNING] Removing failed assignment: /c/feedback/a/ps01\n"
        "[GenerateFeedbackApp | ERROR] Please see the the above traceback for details\n"
    )
    assert report.last_error(output) == "OSError: [Errno 28] No space left on device"
    chained = "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database or disk is full"
    assert report.last_error(chained).startswith("OperationalError: (sqlite3.OperationalError)")
    assert report.last_error("    raise OSError(28)\nall good\n") == ""
