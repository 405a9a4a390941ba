"""A job's own writes into its folder, and what is read back of it, against what a student's
code can leave there.

In reduced mode (``lstm_grading.job.reduced_gaps``) every job runs as the user grading, so a
student's code, or a process it left running, can reach its own job's folder and the folders of
jobs that start after it: plant a FIFO where the job opens its log, a folder where it writes a
file, hard links to one large file, a chain of folders deeper than Python's recursion limit.
Each case is built here by hand, with a stand-in for nbgrader (no kernel), and run in a forked
child with a memory and a time limit (``contained`` of tests/test_job_output_reads.py), so a
regression fails the test rather than hang it.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from small_course import graded_result, make_course
from test_job_output_reads import CELL, contained, fifo, notebook

from lstm_grading import parallel, private_course, report, safe_copy, sandbox
from lstm_grading.cluster import coordinator
from lstm_grading.job import GRADEBOOK_BYTES, LOG_BYTES, RESULT_FILES, Job, Limits

# Every test here starts processes (tests/unit_tier.py).
pytestmark = pytest.mark.processes

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
        # the first folder past MAX_DEPTH levels (below autograded/), then the FIFO and the link
        "3 link(s) or special file(s) not kept (first: deep/" + "d/" * safe_copy.MAX_DEPTH + ")",
    ),
    "hard links to one large file": (
        hard_links,
        f"{LINKS} file(s), 3.75 GiB, not kept: over the limit of ",
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
    assert [n for n in notes if not n.startswith(f"the job's autograded folder: {note}")] == []
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
    """All reduced-mode jobs run as the same user: another student's process can put a FIFO
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


def fds_around(call) -> tuple[object, int, int]:
    """``call()``'s value and the number of this process's open fds before and after it.

    The garbage collector runs first and stays off meanwhile: otherwise a file object an
    earlier test left in a reference cycle could be collected during ``call`` and close its
    fd, and a leak of one fd would read as none (a combined run once counted one fewer
    after than before). Run in :func:`contained`'s child, whose collector nothing else needs.
    """
    gc.collect()
    gc.disable()
    try:
        before = len(os.listdir("/proc/self/fd"))
        value = call()
        return value, before, len(os.listdir("/proc/self/fd"))
    finally:
        gc.enable()


def copy_out(job: Job, course: Path, home: Path, out: Path) -> tuple[dict, int, int]:
    """:func:`private_course.copy_out`'s result, and the open fds before and after it."""

    def call():
        fd = safe_copy.open_dir(str(out))
        try:
            return private_course.copy_out(job, str(course), str(home), fd)
        finally:
            os.close(fd)

    return fds_around(call)


def test_the_fd_count_is_not_lowered_by_a_file_collected_meanwhile(tmp_path):
    """:func:`fds_around` counts only what ``call`` opens and closes: a file object left in a
    reference cycle (an earlier test's garbage), which a collection during ``call`` would
    close, is collected before the count starts."""

    def measured():
        gc.disable()  # the cycle stays until something collects it, as garbage may
        cycle = {"file": open(tmp_path / "garbage", "w")}  # the cycle owns it
        cycle["self"] = cycle
        del cycle
        # gc.collect inside the call: what any allocation may trigger at any moment
        _, before, after = fds_around(gc.collect)
        return before, after

    before, after = contained(measured)
    assert after == before


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


def test_a_job_whose_submission_cannot_be_opened_leaves_no_folder_open(tmp_path):
    """The template's and the submission's folders were closed only after prepare returned:
    a job whose submission folder is missing (or whose prepare raised) left one open per job,
    in a pool worker that runs hundreds of them."""
    job = reduced_job(tmp_path)
    os.rmdir(Path(job.work, "submission"))

    result, before, after = contained(lambda: fds_around(lambda: sandbox.run_job(job)))
    assert "FileNotFoundError" in result["error"]
    assert after == before


@pytest.mark.parametrize("what", ["a folder of notebooks", "a FIFO"])
def test_an_autograded_folder_made_before_the_job_is_moved_aside_and_the_grade_kept(what, tmp_path):
    """copy_out made ``out/autograded`` with os.mkdir: one that the student's code made first
    (reduced mode) raised a bare FileExistsError, and a graded submission failed."""
    job, course, home, out = copy_out_job(tmp_path)
    (course / "autograded" / "s" / "ps01").mkdir(parents=True)
    (course / "autograded" / "s" / "ps01" / NB).write_text("nbgrader's notebook")
    (course / "gradebook.db").write_bytes(b"the private gradebook")
    if what == "a FIFO":
        fifo(out / "autograded")
    else:
        (out / "autograded").mkdir()
        (out / "autograded" / NB).write_text("the student's notebook")
    result, before, after = contained(lambda: copy_out(job, course, home, out))
    kind = "a FIFO" if what == "a FIFO" else "a folder"
    assert result["return_notes"] == [
        f"the job's results folder held autograded ({kind}) before the job made it: another "
        "process wrote there; not returned"
    ]
    assert after == before
    assert (out / "autograded" / NB).read_text() == "nbgrader's notebook"
    assert (out / "gradebook.db").read_bytes() == b"the private gradebook"


# -- what the helper sends back (sandbox.returned_files) and the coordinator writes ------------
def crowded_out(out: Path, log: bytes) -> None:
    """A results folder whose autograded folder holds 10 folders of 2000 empty files (as many
    as read_tree goes through in all) beside the notebook; a gradebook and ``log``."""
    for n in range(10):
        folder = out / "autograded" / f"a{n}"
        folder.mkdir(parents=True)
        for m in range(safe_copy.MAX_ENTRIES):
            (folder / f"{m:04}").touch()
    (out / "autograded" / NB).write_text('{"cells": []}')
    (out / "gradebook.db").write_bytes(b"a gradebook")
    (out / "nbgrader.log").write_bytes(log)


def test_the_gradebook_and_log_come_back_however_many_files_the_autograded_folder_holds(
    tmp_path,
):
    """read_tree took the results folder in sorted order, autograded/ before gradebook.db: its
    20000 files used up the names read_tree goes through, and a graded student failed with
    "gradebook.db is missing"."""
    crowded_out(tmp_path / "out", b"[AutogradeApp | INFO] done\n")
    files, notes = contained(lambda: sandbox.returned_files(str(tmp_path / "out"), LIMITS, (NB,)))
    assert files["gradebook.db"] == b"a gradebook"
    assert files["nbgrader.log"] == b"[AutogradeApp | INFO] done\n"
    assert files[f"autograded/{NB}"] == b'{"cells": []}'
    # The last of the 20000 names gone through: the notebook, the 10 folders, 19989 files.
    assert notes == [
        f"the job's autograded folder: more than {safe_copy.MAX_TOTAL_ENTRIES} files and "
        "folders: the rest not kept (from: a9/1989)"
    ]


def test_a_log_over_its_allowance_comes_back_as_its_last_part(tmp_path):
    """A log over its allowance was read whole (it fitted the shared budget) or not at all:
    the local mode keeps its last MiB, which holds the traceback, after a line saying so."""
    tail = b"\nnbclient.exceptions.DeadKernelError: Kernel died\n"
    log = b"x" * (3 * safe_copy.MIB - len(tail)) + tail
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "nbgrader.log").write_bytes(log)
    files, notes = sandbox.returned_files(str(tmp_path / "out"), LIMITS, (NB,))
    cut = "the job's nbgrader.log holds 3 MiB: only its last 1 MiB read"
    assert files == {"nbgrader.log": f"[lstm-autograde] {cut}, below\n".encode() + log[-LOG_BYTES:]}
    assert notes == [cut]


def test_the_coordinator_writes_no_result_file_over_what_is_there(tmp_path):
    """write_files made folders with mkdir(parents=True) and wrote with Path.write_bytes: a
    FIFO at nbgrader.log blocked the coordinator for good, with the course lock held, and a
    link was followed. Each is now a note, and so is a path that leaves the folder."""
    dest, elsewhere = tmp_path / "dest", tmp_path / "elsewhere"
    dest.mkdir()
    elsewhere.mkdir()
    (elsewhere / "instructors-file").write_bytes(b"kept")
    (dest / "autograded").symlink_to(elsewhere)
    (dest / "gradebook.db").symlink_to(elsewhere / "instructors-file")
    fifo(dest / "nbgrader.log")
    files = {f"autograded/{NB}": b"nb", "gradebook.db": b"gb", "nbgrader.log": b"log", "x": b"x"}
    fd = safe_copy.open_dir(str(dest))
    try:
        notes = contained(lambda: coordinator.write_files(files, fd), seconds=20)
        for rel in ("/abs", "a//b", "", "./x", "a/../b", "a/"):
            with pytest.raises(ValueError, match="result files must be relative paths"):
                coordinator.write_files({"ok": b"", rel: b""}, fd)
    finally:
        os.close(fd)
    assert notes == [
        f"autograded/{NB} not written: its folder autograded is a symbolic link, not a folder",
        "gradebook.db was there before the coordinator wrote it (a symbolic link): another "
        "process put it",
        "nbgrader.log was there before the coordinator wrote it (a FIFO): another process put it",
    ]
    assert os.listdir(elsewhere) == ["instructors-file"]
    assert (elsewhere / "instructors-file").read_bytes() == b"kept"
    assert (dest / "x").read_bytes() == b"x"
    assert not (dest / "ok").exists()  # a path refused: nothing written


def test_a_result_is_merged_from_a_folder_no_process_could_prepare(tmp_path, empty_gradebook):
    """The coordinator wrote each result to ``<run folder>/results/<student in hex>/out``, in
    /tmp: a process a reduced-mode student's code left running could make that folder first,
    with a FIFO at nbgrader.log (a wait, the course lock held) or a link. Now the folder's name
    cannot be guessed, and nbgrader's log with its header is made in memory."""
    course = make_course(tmp_path / "course", empty_gradebook, notebook(CELL))
    base = tmp_path / "run"
    log = b"y" * (2 * LOG_BYTES) + b"\n[AutogradeApp | INFO] done\n"
    results = {}
    for student in ("long_log", "planted"):
        submitted = course / "submitted" / student / "ps01"
        submitted.mkdir(parents=True)
        (submitted / NB).write_text(notebook(CELL))
        out = tmp_path / student / "out"
        result = graded_result(course, out, student, notebook(CELL))
        (out / "nbgrader.log").write_bytes(log)
        result["files"], result["return_notes"] = sandbox.returned_files(str(out), LIMITS, (NB,))
        results[student] = {**result, "worker": "tcp://w:1", "sandbox_mode": "reduced"}
        old = base / "results" / student.encode("utf-8").hex() / "out"
        old.mkdir(parents=True)
        fifo(old / "nbgrader.log")
        (old / "gradebook.db").symlink_to(tmp_path / "elsewhere.db")

    def merge_class() -> dict:
        run, manifest, submissions, _, todo = parallel._plan(course, "ps01", LIMITS, False, "")
        return {
            s: coordinator._merge(run, manifest, s, todo, submissions, results[s], base, None)
            for s in sorted(todo)
        }

    outcomes = contained(merge_class)
    assert {s: (o.status, o.score) for s, o in outcomes.items()} == {
        "long_log": ("graded", 7.0),
        "planted": ("graded", 7.0),
    }
    cut = "the job's nbgrader.log holds 2 MiB: only its last 1 MiB read"
    assert outcomes["long_log"].notes == [cut]
    written = (course / "reports" / "ps01" / "logs" / "long_log.log").read_bytes()
    header = b"[lstm-autograde] graded on tcp://w:1, sandbox reduced\n"
    assert written.startswith(header + f"[lstm-autograde] {cut}, below\ny".encode())
    assert written.endswith(b"y\n[AutogradeApp | INFO] done\n")
    assert len(written) == LOG_BYTES  # all of it read by the merge: no second cut line
    assert sorted(os.listdir(base)) == ["results"]  # its own folders removed, not the planted
    assert not (tmp_path / "elsewhere.db").exists()


def test_write_file_over_a_folder_raises_and_leaves_no_temporary_file(tmp_path):
    """A rename cannot replace a folder: the error is raised and the new file is removed."""
    (tmp_path / "kernel.log").mkdir()
    fd = safe_copy.open_dir(str(tmp_path))
    try:
        with pytest.raises(IsADirectoryError):
            private_course.write_file(fd, "kernel.log", b"log")
    finally:
        os.close(fd)
    assert os.listdir(tmp_path) == ["kernel.log"]
