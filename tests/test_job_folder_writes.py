"""A job's own writes into its folder, and what is read back of it, against what a student's
code can leave there.

In reduced mode (``lstm_grading.job.REDUCED_GAPS``) every job runs as the instructor, so a
student's code, or a process it left running, can reach its own job's folder and the folders of
jobs that start after it: plant a FIFO where the job opens its log, a folder where it writes a
file, hard links to one large file, a chain of folders deeper than Python's recursion limit.
Each case is built here by hand, with a stand-in for nbgrader (no kernel), and run in a forked
child with a memory and a time limit (``contained`` of tests/test_job_output_reads.py), so a
regression fails the test rather than hang it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_job_output_reads import contained, fifo

from lstm_grading import private_course, report, safe_copy, sandbox
from lstm_grading.job import GRADEBOOK_BYTES, RESULT_FILES, Job, Limits

NB = "ps01.ipynb"
DEPTH = 1100  # folders: past Python's recursion limit (1000)
LINKS = 60  # hard links to one file of BIG bytes: 3.75 GiB if each were read
BIG = 64 * safe_copy.MIB  # a sparse file, made with truncate: no disk space
LIMITS = Limits(notebook_timeout=60, return_mb=1.0)


def chain(folder: Path) -> None:
    """A chain of :data:`DEPTH` folders below ``folder``."""
    path = str(folder)
    os.makedirs(path, exist_ok=True)
    for _ in range(DEPTH):
        path += "/d"
        os.mkdir(path)


def deep_in_home(work: Path) -> None:
    chain(work / "home" / "ps01")


def deep_in_out(work: Path) -> None:
    chain(work / "out" / "autograded" / "deep")
    fifo(work / "out" / "autograded" / "fifo")
    (work / "out" / "autograded" / "link").symlink_to("/dev/zero")


def hard_links(work: Path) -> None:
    big = work / "home" / "big.bin"
    big.parent.mkdir(parents=True, exist_ok=True)
    with open(big, "wb") as f:
        f.truncate(BIG)
    for n in range(LINKS):
        os.link(big, work / "out" / "autograded" / f"big-{n:02}.bin")


def graded_by_a_stand_in(plant):
    """A stand-in for :func:`sandbox.run_job`: what a graded job leaves in its results folder,
    then ``plant(work)``, what a student's code left in the job's folder."""

    def run_job(job: Job) -> dict:
        out = Path(job.work, "out")
        (out / "autograded").mkdir(parents=True)
        (out / "autograded" / NB).write_text('{"cells": []}')
        (out / "gradebook.db").write_bytes(b"a gradebook")
        (out / "nbgrader.log").write_text("[AutogradeApp | INFO] done\n")
        plant(Path(job.work))
        return {
            "exit_code": 0,
            "error": None,
            "returned_bytes": 0,
            "return_notes": [],
            "out": str(out),
        }

    return run_job


# -- what grade_files (the Dask path) reads of a job's folder, and its removal ------------------
CASES = {  # what the student's code left -> the note of grade_files on it ("" for none)
    "a chain of folders in the home": (deep_in_home, ""),
    "a chain of folders, a FIFO and a link in the results": (
        deep_in_out,
        # the first folder past MAX_DEPTH levels, then the FIFO and the link
        "3 link(s) or special file(s) not kept (first: autograded/deep/"
        + "d/" * (safe_copy.MAX_DEPTH - 1)
        + ")",
    ),
    "hard links to one large file": (
        hard_links,
        f"{LINKS - 1} file(s), 3.69 GiB, not kept: over the limit of ",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_grade_files_reads_the_results_within_a_budget_and_removes_any_job_folder(
    case, tmp_path, monkeypatch
):
    """``tempfile.TemporaryDirectory`` (``shutil.rmtree``) and ``Path.rglob`` raised
    RecursionError on a chain of folders, failing a graded student with a sandbox error; every
    file of the results folder was read whole: 60 links to 64 MiB, 3.75 GiB for the pickle."""
    plant, note = CASES[case]
    monkeypatch.setattr(sandbox, "run_job", graded_by_a_stand_in(plant))
    parent = tmp_path / "parent"
    parent.mkdir()

    def grade() -> tuple[dict[str, int], list[str], list[str]]:
        result = sandbox.grade_files(
            {}, {}, "s", "ps01", LIMITS, "reduced", (NB,), parent=str(parent)
        )
        sizes = {name: len(data) for name, data in result["files"].items()}
        return sizes, result["return_notes"], os.listdir(parent)

    try:
        sizes, notes, left = contained(grade)
    finally:
        safe_copy.remove_tree(parent)  # what a regression left: a chain, the links
    budget = int(LIMITS.return_mb * safe_copy.MIB) + sum(RESULT_FILES.values())
    assert sum(sizes.values()) <= budget
    assert {f"autograded/{NB}", "gradebook.db", "nbgrader.log"} <= set(sizes)
    assert [n for n in notes if not n.startswith(f"the job's results folder: {note}")] == []
    assert len(notes) == (1 if note else 0)
    assert left == []  # the job's folder is gone, however deep


# -- the job's own writes in reduced mode: sandbox._run_reduced --------------------------------
def reduced_job(tmp_path: Path) -> Job:
    """A reduced-mode job of an empty template and submission, as run_job gets it."""
    (tmp_path / "template").mkdir()
    (tmp_path / "work" / "submission").mkdir(parents=True)
    return Job("s", "ps01", str(tmp_path / "work"), str(tmp_path / "template"), LIMITS, "reduced")


def test_a_folder_in_place_of_result_json_and_kernel_log_is_a_note_not_a_dead_worker(
    tmp_path, monkeypatch
):
    """The job wrote result.json into a folder the student's code can reach, outside its
    ``try``: a folder planted there made run_job raise, which killed the pool worker, twice."""
    job = reduced_job(tmp_path)

    def nbgrader_and_the_students_code(job, course, env, log_fd):
        out = Path(job.work, "out")
        (out / "result.json").mkdir()
        (out / "kernel.log").mkdir()
        Path(course, ".kernel.log").write_text("the kernel launcher's lines\n")
        os._exit(0)

    monkeypatch.setattr(sandbox, "run_nbgrader", nbgrader_and_the_students_code)
    result = contained(lambda: sandbox.run_job(job))
    assert (result["exit_code"], result["error"], result["timed_out"]) == (0, None, False)
    assert result["return_notes"] == [
        "kernel.log not written in the job's results folder (Is a directory)"
    ]


@pytest.mark.parametrize("what", ["nbgrader.log", "out"])
def test_a_fifo_planted_before_the_job_is_that_jobs_error_without_waiting(
    what, tmp_path, monkeypatch
):
    """All reduced-mode jobs run as the instructor: another student's process can put a FIFO
    where a job is about to open its log for writing (that open waited for good, and the pool
    worker with it), or make its results folder before the job does (run_job raised)."""
    job = reduced_job(tmp_path)
    work = Path(job.work)
    real_prepare = sandbox.prepare

    def prepare_then_plant(*args):
        env = real_prepare(*args)
        fifo(work / "out" / "nbgrader.log")
        return env

    def never(*args):
        os._exit(9)  # nbgrader must not run

    if what == "out":
        fifo(work / "out")
    else:
        monkeypatch.setattr(sandbox, "prepare", prepare_then_plant)
    monkeypatch.setattr(sandbox, "run_nbgrader", never)
    result = contained(lambda: sandbox.run_job(job), seconds=20)
    reason = report.failure_reason(result, "", LIMITS)
    assert result["exit_code"] is None
    if what == "out":
        assert reason.startswith("sandbox error: FileExistsError:"), reason
    else:
        assert reason == (
            "sandbox error: the job's nbgrader.log was there before the job made it (a FIFO): "
            "another process wrote in the job's folder, so nbgrader was not run"
        )


# -- copy_out: the gradebook's cap and no folder left open --------------------------------------
def copy_out_job(tmp_path: Path) -> tuple[Job, Path, Path, Path]:
    job = Job("s", "ps01", str(tmp_path), str(tmp_path), LIMITS, "reduced", (NB,))
    course, home, out = tmp_path / "course", tmp_path / "home", tmp_path / "out"
    for folder in (course, home / "ps01", out):
        folder.mkdir(parents=True)
    return job, course, home, out


def copy_out(job: Job, course: Path, home: Path, out: Path) -> tuple[dict, int, int]:
    """:func:`private_course.copy_out`'s result, and the open fds before and after it."""
    before = len(os.listdir("/proc/self/fd"))
    fd = safe_copy.open_dir(str(out))
    try:
        result = private_course.copy_out(job, str(course), str(home), fd)
    finally:
        os.close(fd)
    return result, before, len(os.listdir("/proc/self/fd"))


def test_a_folder_in_place_of_kernel_log_leaves_no_folder_open(tmp_path):
    """A worker grades hundreds of jobs: the private course's folder was left open (one fd per
    job) when a folder planted at kernel.log made the write raise inside a suppress block."""
    job, course, home, out = copy_out_job(tmp_path)
    (course / ".kernel.log").write_text("the kernel launcher's lines\n")
    (home / ".lstm-grading-cell").write_text("x = 1\n")
    (out / "kernel.log").mkdir()
    result, before, after = contained(lambda: copy_out(job, course, home, out))
    assert after == before
    assert result["return_notes"] == [
        "kernel.log not written in the job's results folder (Is a directory)"
    ]
    assert (out / "last-cell.txt").read_text() == "x = 1\n"  # written after the one that failed


def test_the_private_gradebook_is_copied_to_one_byte_over_its_allowance(tmp_path):
    """In reduced mode the private gradebook can be a hard link to a large file of the
    instructor's: it was copied whole, after the job's deadline. One byte over the allowance
    is enough for the coordinator to refuse it as too large."""
    job, course, home, out = copy_out_job(tmp_path)
    huge = tmp_path / "instructors-file.bin"
    with open(huge, "wb") as f:
        f.truncate(GRADEBOOK_BYTES + 8 * safe_copy.MIB)
    os.link(huge, course / "gradebook.db")
    result, _, _ = contained(lambda: copy_out(job, course, home, out))
    assert result["return_notes"] == []
    assert (out / "gradebook.db").stat().st_size == GRADEBOOK_BYTES + 1
