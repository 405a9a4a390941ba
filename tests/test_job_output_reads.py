"""The coordinator's reads of a finished job's folder, against what a student's code can put there.

In reduced mode (``lstm_grading.job.reduced_gaps``) the kernel runs as the user grading and can
reach its own job's folder: it can replace ``nbgrader.log``, ``last-cell.txt``, ``result.json``,
``waiter-error.txt``, the private gradebook or an autograded notebook by a FIFO, a link to
``/dev/zero``, a sparse file of 10 GiB or JSON of any shape, and leave a chain of folders deeper
than Python's recursion limit. Each case is built here by hand, without a kernel, and read in a
forked child with a memory limit and a time limit (:func:`contained`): a regression fails the
test, rather than hang it or fill the machine's memory.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import select
import shutil
import signal
import stat
import warnings
from pathlib import Path

import psutil
import pytest
from nbgrader.api import Gradebook
from small_course import NB, graded_result, make_course

from lstm_grading import parallel, report, safe_copy, sandbox
from lstm_grading.sandbox import Limits

# Every test here starts processes (tests/unit_tier.py).
pytestmark = pytest.mark.processes

SPARSE = 10 << 30  # bytes: a 10 GiB file, made with truncate, takes no disk space
HEADROOM = 1 << 30  # the address space a contained call may add to the test process's own
CELL = {"cell_type": "code", "metadata": {}, "source": "x = 1\n", "outputs": []}


def contained(call, seconds: float = 60):
    """``call()``'s value, computed in a forked child that may map at most :data:`HEADROOM`
    bytes more than this process. Fails if the child did not finish within ``seconds`` (it
    waits on a FIFO), ran out of memory (it reads ``/dev/zero`` or a sparse file whole) or
    raised anything."""
    read_end, write_end = os.pipe()
    limit = psutil.Process().memory_info().vms + HEADROOM
    # Python 3.12 warns of a fork in a process with threads (pytest-xdist's): the child here
    # runs only ``call`` and leaves with os._exit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            try:
                answer = ("value", call())
            except BaseException as exc:
                answer = ("raised", f"{type(exc).__name__}: {exc}"[:2000])
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(pickle.dumps(answer))
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        ready, _, _ = select.select([pipe], [], [], seconds)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"still running after {seconds} s (waiting on a FIFO?)")
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert data, f"the child died (status {os.waitstatus_to_exitcode(status)}) without answering"
    kind, value = pickle.loads(data)
    assert kind == "value", f"raised {value}"
    return value


def fifo(path: Path) -> None:
    os.mkfifo(path)


def dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def sparse(path: Path, tail: bytes = b"") -> None:
    """A file of :data:`SPARSE` bytes, zeros but for ``tail`` at its end."""
    with open(path, "wb") as f:
        f.truncate(SPARSE)
        f.seek(SPARSE - len(tail))
        f.write(tail)


HOSTILE = {"a FIFO": fifo, "a link to /dev/zero": dev_zero, "a sparse 10 GiB file": sparse}
REFUSED = {  # what read_capped says of each (the sparse file is read, within its limit)
    "a FIFO": "is a FIFO, not a regular file",
    "a link to /dev/zero": "is a symbolic link, not a regular file",
}


# -- the shared reader: safe_copy.read_capped -----------------------------------------------------
@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("last", [False, True], ids=["first", "last"])
def test_read_capped_never_waits_follows_a_link_or_reads_past_its_limit(case, last, tmp_path):
    HOSTILE[case](tmp_path / "file")
    fd = safe_copy.open_dir(str(tmp_path))
    try:
        got = contained(lambda: safe_copy.read_capped("file", fd, 4096, last=last))
    finally:
        os.close(fd)
    if case in REFUSED:
        assert (got.data, got.problem) == (b"", REFUSED[case])
    else:
        assert (len(got.data), got.size, got.cut, got.problem) == (4096, SPARSE, True, "")


def test_read_capped_keeps_the_last_bytes_and_names_what_is_missing(tmp_path):
    sparse(tmp_path / "log", b"the end\n")
    (tmp_path / "folder").mkdir()
    fd = safe_copy.open_dir(str(tmp_path))
    try:
        assert safe_copy.read_capped("log", fd, 8, last=True).data == b"the end\n"
        assert safe_copy.read_capped("log", fd, 8).data == bytes(8)
        assert safe_copy.read_capped("folder", fd, 8).problem == "is a folder, not a regular file"
        assert safe_copy.read_capped("nothing", fd, 8).missing
    finally:
        os.close(fd)


# -- what the coordinator reads of one job's results folder: parallel._Results ------------------
def results(out: Path, read):
    """``read(job)`` for the results folder ``out``, with the job's notes: (value, problems)."""

    def call():
        with parallel._Results(out) as job:
            return read(job), job.problems

    return contained(call)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_log_or_last_cell_that_is_no_regular_file_is_a_note(case, tmp_path):
    for name in ("nbgrader.log", "last-cell.txt"):
        HOSTILE[case](tmp_path / name)
    value, problems = results(tmp_path, lambda job: (job.log(), job.last_cell()))
    assert value == ("", "")
    assert problems == [
        f"the job's nbgrader.log {REFUSED[case]}: not read",
        f"the job's last-cell.txt {REFUSED[case]}: not read",
    ]


def test_a_huge_log_is_read_from_its_end_and_says_it_was_cut(tmp_path):
    """Only the last :data:`parallel.LOG_BYTES` are read, and what failure_reason looks for is
    at the end of nbgrader's log: a traceback."""
    sparse(tmp_path / "nbgrader.log", b"\nnbclient.exceptions.DeadKernelError: Kernel died\n")
    sparse(tmp_path / "last-cell.txt")
    (log, cell), problems = results(tmp_path, lambda job: (job.log(), job.last_cell()))
    cut = "the job's nbgrader.log holds 10 GiB: only its last 1 MiB read"
    assert problems == [cut]
    header, kept = log.split("\n", 1)
    assert header == f"[lstm-autograde] {cut}, below"
    assert len(kept) == parallel.LOG_BYTES
    assert report.failure_reason({"exit_code": 1}, log, Limits()) == "kernel died"
    assert cell.startswith("\\x00\\x00") and len(cell) == parallel.LAST_CELL_BYTES  # escaped


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_gradebook_that_is_no_regular_file_or_too_large_is_not_opened(case, tmp_path):
    HOSTILE[case](tmp_path / "gradebook.db")
    (tmp_path / "copy").mkdir()
    copy, problems = results(
        tmp_path, lambda job: job.gradebook(str(tmp_path / "copy"), expected=set())
    )
    why = REFUSED.get(case, "is larger than 64 MiB")
    assert copy is None
    assert problems == [f"the job's gradebook.db {why}: not read"]
    assert list((tmp_path / "copy").iterdir()) == []


def test_a_results_folder_that_is_a_link_is_not_followed(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "nbgrader.log").write_text("DeadKernelError")
    (tmp_path / "out").symlink_to(tmp_path / "elsewhere")
    log, problems = results(tmp_path / "out", lambda job: job.log())
    assert log == ""
    assert problems == [
        "the job's results folder is a symbolic link, not a folder: nothing read from it"
    ]


# -- autograded notebooks: report.notes_from_notebook --------------------------------------------
def notebook(*cells) -> str:
    return json.dumps({"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def error(ename: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": "", "traceback": []}


WHAT = f"autograded notebook {NB}"
MALFORMED = {  # the notebook's text -> its notes
    "nested 100000 deep": (
        "[" * 100000,
        [f"{WHAT} is not a notebook: not JSON (nested too deeply)"],
    ),
    "cells a dict": ('{"cells": {"0": {}}}', [f"{WHAT} is not a notebook: no list of cells"]),
    "cells of numbers": (
        '{"cells": [1, 2, 3]}',
        [f"{WHAT}: 3 cell(s) not as nbformat writes them (first: cell 1), not read for notes"],
    ),
    "cells of text": (
        '{"cells": ["a", "b"]}',
        [f"{WHAT}: 2 cell(s) not as nbformat writes them (first: cell 1), not read for notes"],
    ),
    "outputs text": (
        notebook(CELL, {**CELL, "outputs": "CellTimeout"}),
        [f"{WHAT}: 1 cell(s) not as nbformat writes them (first: cell 2), not read for notes"],
    ),
    "outputs of numbers": (
        notebook({**CELL, "outputs": [1, error("SystemExit")]}),
        [
            "sys.exit in x = 1",  # the outputs that are outputs are read
            f"{WHAT}: 1 cell(s) not as nbformat writes them (first: cell 1), not read for notes",
        ],
    ),
    "ename a list, metadata a list, source of numbers": (
        notebook(
            {**CELL, "outputs": [{**error("x"), "ename": ["CellTimeout"]}]},
            {**CELL, "metadata": [1], "source": [1, "y = 2\n"], "outputs": [error("CellTimeout")]},
        ),
        ["cell timeout in y = 2"],
    ),
    "not UTF-8": (b"\xff{}", [f"{WHAT} is not valid UTF-8 at byte 0"]),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_an_autograded_notebook_that_is_no_regular_file_or_too_large_is_a_note(case, tmp_path):
    HOSTILE[case](tmp_path / NB)
    why = REFUSED.get(case, "is larger than 16 MiB")
    assert notes_of(tmp_path) == [f"{WHAT} {why}: not read"]


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_an_autograded_notebook_of_any_shape_is_read_as_far_as_it_can_be(case, tmp_path):
    text, expected = MALFORMED[case]
    (tmp_path / NB).write_bytes(text if isinstance(text, bytes) else text.encode())
    assert notes_of(tmp_path) == expected


def notes_of(folder: Path) -> list[str]:
    fd = safe_copy.open_dir(str(folder))
    try:
        return contained(lambda: report.notes_from_notebook(NB, fd))
    finally:
        os.close(fd)


def test_notes_of_an_ordinary_notebook_and_their_limit(tmp_path):
    graded = {**CELL, "metadata": {"nbgrader": {"grade_id": "test_f"}}}
    (tmp_path / NB).write_text(
        notebook(
            {**graded, "outputs": [error("CellTimeout"), error("OutputLimitExceeded")]},
            {**CELL, "outputs": [error("ValueError"), {"output_type": "stream", "text": "hi"}]},
            {"cell_type": "markdown", "metadata": {}, "source": "# Title"},
        )
    )
    assert notes_of(tmp_path) == ["cell timeout in test_f", "output limit in test_f"]
    many = report.MAX_NOTES_PER_NOTEBOOK + 7
    (tmp_path / NB).write_text(notebook(*[{**CELL, "outputs": [error("SystemExit")]}] * many))
    notes = notes_of(tmp_path)
    assert notes == ["sys.exit in x = 1"] * report.MAX_NOTES_PER_NOTEBOOK + [
        f"7 more such notes in {WHAT}"
    ]


def test_an_answer_cell_that_raised_is_a_note(tmp_path):
    """An error raised by a solution cell itself (a SyntaxError, an import the grading machine
    cannot satisfy) costs every test that uses its function, and the row said nothing of it:
    found grading dave, whose answer cell began with an import of a missing module (4/10, no
    note). Now a note names the cell and the error; the release's NotImplementedError (a
    question not answered), errors of grade cells (what the score counts) and of other cells
    are no notes. Before the fix this test's notes were []."""
    answer = {**CELL, "metadata": {"nbgrader": {"grade_id": "sigmoid", "solution": True}}}
    test = {**CELL, "metadata": {"nbgrader": {"grade_id": "test_f", "grade": True}}}
    missing = {**error("ModuleNotFoundError"), "evalue": "No module named 'scipy'"}
    (tmp_path / NB).write_text(
        notebook(
            {**answer, "outputs": [missing]},
            {**answer, "outputs": [error("NotImplementedError")]},
            {
                **answer,
                "metadata": {"nbgrader": {"grade_id": "tanh", "solution": True}},
                "outputs": [{**error("SyntaxError"), "evalue": "invalid syntax (1, 9)"}],
            },
            {**test, "outputs": [error("AssertionError")]},
            {**CELL, "outputs": [error("ValueError")]},
        )
    )
    assert notes_of(tmp_path) == [
        "error in sigmoid: ModuleNotFoundError: No module named 'scipy'",
        "error in tanh: SyntaxError: invalid syntax (1, 9)",
    ]


# -- what run_job reads: result.json and waiter-error.txt ----------------------------------------
RESULT = '{"exit_code": 0, "error": null, "returned_bytes": 10, "return_notes": ["a note"]}'
BAD_RESULTS = {  # result.json's text -> what kept it from being used
    "nested 100000 deep": ("[" * 100000, "is not JSON (nested too deeply)"),
    "a list": ("[0]", "is not a JSON object"),
    "error a number": ('{"exit_code": 1, "error": 5}', ": error is not text or null"),
    "notes text": ('{"return_notes": "abc"}', ": return_notes is not a list of text"),
    "notes of numbers": ('{"return_notes": [1]}', ": return_notes is not a list of text"),
    "exit code true": ('{"exit_code": true}', ": exit_code is not a whole number or null"),
    "bytes text": ('{"returned_bytes": "10"}', ": returned_bytes is not a whole number"),
}


def job_result(out: Path):
    return contained(lambda: sandbox._job_result(str(out)))


def test_result_json_as_the_job_writes_it_is_read_field_by_field(tmp_path):
    (tmp_path / "result.json").write_text(RESULT[:-1] + ', "reason": "forged", "out": "/"}')
    assert job_result(tmp_path) == (
        {"exit_code": 0, "error": None, "returned_bytes": 10, "return_notes": ["a note"]},
        "",
    )
    (tmp_path / "result.json").unlink()  # a job killed at its time limit writes none
    assert job_result(tmp_path) == ({"exit_code": None, "error": None}, "")


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_result_json_that_is_no_regular_file_or_too_large_is_not_read(case, tmp_path):
    HOSTILE[case](tmp_path / "result.json")
    why = REFUSED.get(case, "is larger than 1 MiB")
    assert job_result(tmp_path) == (
        {"exit_code": None, "error": None},
        f"the job's result.json {why}: not read",
    )


@pytest.mark.parametrize("case", sorted(BAD_RESULTS))
def test_a_result_json_of_the_wrong_shape_is_not_used(case, tmp_path):
    text, why = BAD_RESULTS[case]
    (tmp_path / "result.json").write_text(text)
    sep = "" if why.startswith(":") else " "
    assert job_result(tmp_path) == (
        {"exit_code": None, "error": None},
        f"the job's result.json{sep}{why}",
    )


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_waiters_error_is_read_from_its_end_and_never_waited_on(case, tmp_path):
    (tmp_path / "result.json").write_text(RESULT)
    HOSTILE[case](tmp_path / "waiter-error.txt")
    result, problem = job_result(tmp_path)
    if case in REFUSED:
        assert (result["error"], problem) == (
            None,
            f"the job's waiter-error.txt {REFUSED[case]}: not read",
        )
    else:
        assert (len(result["error"]), problem) == (sandbox.ERROR_BYTES, "")


def test_a_job_whose_error_cannot_be_read_fails_with_that_as_its_reason():
    result = {"exit_code": None, "error": "the job's result.json is a FIFO, not a regular file"}
    assert report.failure_reason(result, "", Limits()) == (
        "sandbox error: the job's result.json is a FIFO, not a regular file"
    )
    assert report.failure_reason({"error": " \n "}, "", Limits()) == "sandbox error: (no message)"


# -- removing a job's folder ----------------------------------------------------------------------
DEPTH = 1100  # folders: past Python's recursion limit (1000), where shutil.rmtree raises


def test_a_job_folder_of_any_depth_is_removed_without_following_a_link(tmp_path):
    work, outside = tmp_path / "job00000-1", tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("the instructor's")
    path = str(work / "home")
    os.makedirs(path)
    for _ in range(DEPTH):
        path += "/a"
        os.mkdir(path)
    os.mkfifo(path + "/fifo")
    os.symlink(outside, path + "/link")
    (work / "out").mkdir()
    (work / "out" / "to-outside").symlink_to(outside)
    try:
        contained(lambda: safe_copy.remove_tree(work))
        assert not work.exists()
        assert (outside / "keep.txt").read_text() == "the instructor's"
    finally:
        for n in range(DEPTH, -1, -1):  # what a regression left, deepest first
            folder = str(work / "home") + "/a" * n
            if os.path.isdir(folder):
                shutil.rmtree(folder)
        shutil.rmtree(work, ignore_errors=True)


# -- the whole merge of a class with hostile results: parallel._merge_result ------------------
@pytest.fixture
def course(tmp_path, empty_gradebook) -> Path:
    """A course with assignment ps01 (one notebook, one grade cell of 10 points), no kernel."""
    return make_course(tmp_path / "course", empty_gradebook, notebook(CELL))


def graded(course: Path, out: Path, student: str) -> dict:
    """What a job that graded ``student`` 7/10 returns, with its results folder ``out``."""
    autograded = notebook({**CELL, "outputs": [error("CellTimeout")]})
    return graded_result(course, out, student, autograded, "[AutogradeApp | INFO] done\n")


def test_a_class_with_hostile_results_is_merged_student_by_student(course, tmp_path):
    """Each student's hostile results folder is that student's outcome, with notes or a reason
    saying what was wrong with which file; every other student is merged, and nothing waits."""
    results = {}
    for student in ("good", "fifos", "bad_gradebook", "huge_log", "linked_out", "bad_notebook"):
        folder = course / "submitted" / student / "ps01"
        folder.mkdir(parents=True)
        (folder / NB).write_text(notebook(CELL))
        results[student] = graded(course, tmp_path / student / "out", student)
    fifos = tmp_path / "fifos" / "out"
    for name in ("nbgrader.log", "last-cell.txt"):
        (fifos / name).unlink(missing_ok=True)
        os.mkfifo(fifos / name)
    (fifos / "autograded" / "extra.ipynb").symlink_to("/dev/zero")  # not the assignment's
    (tmp_path / "bad_gradebook" / "out" / "gradebook.db").unlink()
    os.mkfifo(tmp_path / "bad_gradebook" / "out" / "gradebook.db")
    huge = tmp_path / "huge_log" / "out"
    sparse(huge / "nbgrader.log", b"\nnbclient.exceptions.DeadKernelError: Kernel died\n")
    results["huge_log"]["exit_code"] = 1
    dev_zero(huge / "last-cell.txt")
    shutil.rmtree(tmp_path / "linked_out" / "out")
    (tmp_path / "linked_out" / "out").symlink_to(tmp_path / "good" / "out")
    (tmp_path / "bad_notebook" / "out" / "autograded" / NB).write_text('{"cells": {"0": 1}}')

    def merge_class():
        run, manifest, submissions, _, todo = parallel._plan(course, "ps01", Limits(), False, "")
        return {
            s: parallel._merge_result(run, manifest, s, todo[s], results[s], submissions[s])
            for s in sorted(todo)
        }

    outcomes = contained(merge_class)
    got = {s: (o.status, o.score, o.reason, o.cell, o.notes) for s, o in outcomes.items()}
    timeout = "cell timeout in x = 1"
    assert got == {
        "good": ("graded", 7.0, "", "", [timeout]),
        "fifos": (
            "graded",
            7.0,
            "",
            "",
            [
                # The link in the autograded folder, left out of the course's copy of it.
                "1 link(s) or special file(s) not kept (first: extra.ipynb)",
                timeout,
                "the job's nbgrader.log is a FIFO, not a regular file: not read",
            ],
        ),
        "bad_gradebook": (
            "failed",
            None,
            "the job's gradebook.db is a FIFO, not a regular file: not read",
            "",
            [],
        ),
        "huge_log": (
            "failed",
            None,
            "kernel died",
            "",
            [
                "the job's nbgrader.log holds 10 GiB: only its last 1 MiB read",
                "the job's last-cell.txt is a symbolic link, not a regular file: not read",
            ],
        ),
        "linked_out": (
            "failed",
            None,
            "the job's results folder is a symbolic link, not a folder: nothing read from it",
            "",
            [],
        ),
        "bad_notebook": (
            "graded",
            7.0,
            "",
            "",
            [f"{WHAT} is not a notebook: no list of cells"],
        ),
    }
    log = (course / "reports" / "ps01" / "logs" / "huge_log.log").read_text()
    assert log.startswith("[lstm-autograde] the job's nbgrader.log holds 10 GiB")
    assert len(log) < parallel.LOG_BYTES + 200
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        subs = gb.find_assignment("ps01").submissions
        scores = {s.student_id: s.notebooks[0].grades[0].auto_score for s in subs}
    assert scores == {s: 7.0 if o.status == "graded" else None for s, o in outcomes.items()}
    assert not (course / "autograded" / "fifos" / "ps01" / "extra.ipynb").exists()


@pytest.mark.parametrize("planted", ["fifo", "link"])
def test_the_jobs_own_writes_replace_what_was_planted_without_opening_it(tmp_path, planted):
    """A job writes result.json, last-cell.txt and kernel.log into a folder a reduced-mode
    student's code can reach: a FIFO put there first would block an open for writing forever,
    a link would be followed to a file of the instructor's."""
    from lstm_grading.private_course import write_file

    out, outside = tmp_path / "out", tmp_path / "instructors.txt"
    out.mkdir()
    outside.write_text("the instructor's file")
    if planted == "fifo":
        fifo(out / "result.json")
    else:
        (out / "result.json").symlink_to(outside)

    def write() -> list[str]:
        fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
        try:
            write_file(fd, "result.json", b'{"exit_code": 0}')
        finally:
            os.close(fd)
        return sorted(os.listdir(out))

    assert contained(write) == ["result.json"]  # no temporary name left behind
    assert (out / "result.json").is_file() and not (out / "result.json").is_symlink()
    assert (out / "result.json").read_bytes() == b'{"exit_code": 0}'
    assert outside.read_text() == "the instructor's file"


def test_the_autograded_folder_is_installed_within_the_jobs_budget_notebook_first(tmp_path):
    """What the coordinator copies into the course is held to the job's own budget
    (Limits.return_mb), the assignment's notebook first: in reduced mode a process the
    student's code left running could add files to the job's folder after its copy-out."""
    from lstm_grading import gradebook_merge

    auto, dest = tmp_path / "out" / "autograded", tmp_path / "course" / "autograded" / "s" / "a"
    auto.mkdir(parents=True)
    (auto / NB).write_text(json.dumps({"cells": [CELL]}))
    with open(auto / "a-first-by-name.bin", "wb") as f:
        f.truncate(safe_copy.MIB)  # sorted before the notebook; with it, over the budget
    with open(auto / "large.bin", "wb") as f:
        f.truncate(2 * safe_copy.MIB)
    fd = safe_copy.open_dir(str(auto))
    try:
        notes = gradebook_merge.install_autograded(fd, dest, safe_copy.MIB, (NB,))
    finally:
        os.close(fd)
    assert sorted(os.listdir(dest)) == [NB]
    assert json.loads((dest / NB).read_text()) == {"cells": [CELL]}
    assert notes == [
        "2 file(s), 3 MiB, not kept: over the limit of 1 MiB per submission"
        " (first: a-first-by-name.bin)"
    ]
    # Read-only to everyone, the folder writable by its owner only: no other user of the
    # machine changes what the feedback page and a regrade read.
    assert oct(stat.S_IMODE(dest.stat().st_mode)) == oct(0o755)
    assert oct(stat.S_IMODE((dest / NB).stat().st_mode)) == oct(0o444)


def test_a_fifo_as_a_run_folders_lock_is_left_alone_without_waiting(tmp_path):
    """Every run first removes the folders of dead runs in /tmp; a reduced-mode student's
    code can make one of that name with a FIFO as its lock, which a plain open waits on."""
    from lstm_grading import course_lock

    planted = tmp_path / f"{course_lock.RUN_PREFIX}planted"
    planted.mkdir()
    fifo(planted / course_lock.OWNER)
    dead = tmp_path / f"{course_lock.RUN_PREFIX}dead"
    dead.mkdir()
    (dead / course_lock.OWNER).write_text("")  # a run's lock, free: its run died

    removed = contained(lambda: course_lock.remove_stale_run_folders(tmp_path))
    assert removed == [dead] and planted.is_dir() and not dead.exists()


def test_a_gradebook_with_a_view_of_its_own_is_refused_before_any_query(tmp_path, empty_gradebook):
    """A valid SQLite file in which a table nbgrader queries is a recursive view: any query of
    it never returns. Its schema is not the course's, so nothing queries it."""
    import sqlite3

    from lstm_grading import gradebook_merge

    course = empty_gradebook(tmp_path / "course.db")
    expected = gradebook_merge.shape(course)
    hostile = tmp_path / "gradebook.db"
    shutil.copy(course, hostile)
    con = sqlite3.connect(hostile)
    with con:
        con.execute("DROP TABLE comment")
        con.execute(
            "CREATE VIEW comment AS WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1"
            " FROM r) SELECT x AS id FROM r"
        )
    con.close()
    (tmp_path / "copy").mkdir()
    copy, problems = results(tmp_path, lambda job: job.gradebook(str(tmp_path / "copy"), expected))
    assert copy is None
    assert problems == [
        "the job's gradebook.db does not have the course's gradebook schema (not in the"
        " course's: view comment; missing: index sqlite_autoindex_comment_1, index"
        " sqlite_autoindex_comment_2, table comment): not read"
    ]
    # The course's own schema, copied, is accepted.
    shutil.copy(course, hostile)
    copy, problems = results(tmp_path, lambda job: job.gradebook(str(tmp_path / "copy"), expected))
    assert copy is not None and problems == []


def test_a_crowded_folder_keeps_the_notebooks_named_first_and_says_what_it_cut(tmp_path):
    """A folder holds at most MAX_ENTRIES names in a copy; the notebooks named first are kept
    whatever their place in the sorted names (a student's code can leave 2000 files named
    0000... beside them), and the cut is a note, in the copy and in the Dask path's read."""
    src, dst = tmp_path / "autograded", tmp_path / "copy"
    src.mkdir()
    dst.mkdir()
    for n in range(safe_copy.MAX_ENTRIES):
        (src / f"{n:04d}").write_text("")
    (src / NB).write_text(json.dumps({"cells": [CELL]}))
    note = f"1 folder(s) of more than {safe_copy.MAX_ENTRIES} names: the rest of their names"
    src_fd, dst_fd = safe_copy.open_dir(str(src)), safe_copy.open_dir(str(dst))
    try:
        report = safe_copy.copy_tree(src_fd, dst_fd, safe_copy.CopyReport(1 << 20), first=(NB,))
        files, notes = safe_copy.read_tree(src_fd, 1 << 20, first=(NB,))
    finally:
        os.close(src_fd)
        os.close(dst_fd)
    assert (dst / NB).is_file() and len(os.listdir(dst)) == safe_copy.MAX_ENTRIES
    assert report.notes() == [f"{note} not kept (first: ./)"]
    assert NB in files and len(files) == safe_copy.MAX_ENTRIES
    assert notes == [f"{note} not kept (first: ./)"]


def test_a_gradebook_with_more_rows_than_one_submission_makes_is_refused(tmp_path, course):
    """The course's schema, but rows by the hundred thousand: nbgrader reads each notebook's
    grades by a scan of the grade table, so K notebooks and N grades cost K x N (an hour for a
    64 MiB file). A private gradebook holds one submission's rows; more are refused unread."""
    import sqlite3

    from lstm_grading import gradebook_merge

    expected = gradebook_merge.shape(course / "gradebook.db")
    out = tmp_path / "out"
    graded(course, out, "ada")
    assert gradebook_merge.schema_problem(out / "gradebook.db", expected) == ""  # as graded
    con = sqlite3.connect(out / "gradebook.db")
    with con:  # one student more than the one submission's
        con.execute("INSERT INTO student (id) VALUES ('s0')")
    assert gradebook_merge.schema_problem(out / "gradebook.db", expected) == (
        "holds more rows than one submission makes: student 2 (at most 1)"
    )
    with con:
        con.executemany("INSERT INTO student (id) VALUES (?)", [(f"s{n}",) for n in (1, 2)])
    con.close()
    assert gradebook_merge.schema_problem(out / "gradebook.db", expected) == (
        "holds more rows than one submission makes: student 4 (at most 1)"
    )


@pytest.mark.parametrize(
    "table, column",
    [("grade", "cell_id"), ("submitted_notebook", "notebook_id"), ("comment", "cell_id")],
)
def test_a_gradebook_with_one_grade_row_too_many_is_refused(tmp_path, course, table, column):
    """A submission has one grade and at most one comment per cell of the course (here 1), and
    one submitted notebook per notebook (1): a second row, a copy of the first for another cell
    or notebook, is already more than nbgrader makes."""
    import sqlite3

    from lstm_grading import gradebook_merge

    expected = gradebook_merge.shape(course / "gradebook.db")
    assert expected.most_rows[table] == 1  # the course's one grade cell, test_f; one notebook
    out = tmp_path / "out"
    graded(course, out, "ada")
    con = sqlite3.connect(out / "gradebook.db")
    with con:
        if table == "comment":  # a grade cell has no comment row: two, for two cells
            con.execute("INSERT INTO comment (id, notebook_id, cell_id) VALUES ('c', 'n', 'c')")
        con.execute(f"CREATE TEMP TABLE extra AS SELECT * FROM {table}")
        con.execute(f"UPDATE extra SET id = 'another', {column} = 'another'")
        con.execute(f"INSERT INTO {table} SELECT * FROM extra")
    con.close()
    assert gradebook_merge.schema_problem(out / "gradebook.db", expected) == (
        f"holds more rows than one submission makes: {table} 2 (at most 1)"
    )
