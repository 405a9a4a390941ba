"""Autograde a whole class in parallel: the coordinator behind ``lstm-autograde``.

For every collected submission ``submitted/<student>/<assignment>/`` of one assignment:

1. a *job* (:mod:`lstm_grading.sandbox`) runs the real ``nbgrader autograde`` in a private
   course, sandboxed, one job per worker of :mod:`lstm_grading.pool` at a time;
2. this process, the only writer of the course's gradebook, copies each result in as it
   arrives: the autograded folder into ``autograded/<student>/<assignment>/`` and the scores
   and comments into ``gradebook.db`` (:mod:`lstm_grading.gradebook_merge`);
3. feedback (``nbgrader generate_feedback`` per regraded student, and per unchanged student
   whose feedback page is missing, in the workers) and
   ``nbgrader export`` (grades.csv with its status column) follow.

A submission that fails is recorded as nbgrader records its own failures: a submission with
empty scores, which the export marks "needs grading"; one refused before grading (see
:func:`lstm_grading.course_prep.find_submissions`) gets a ``refused`` row in grades.csv. The run
summary (terminal table, ``reports/<assignment>/summary.csv`` and ``summary.json``) says why.
A worker killed mid-job gets its submission retried once, then reported failed.

``reports/<assignment>/manifest.json`` holds a hash of each submission and its outcome; a
re-run grades only submissions that are new, changed or failed (or all with ``force``), and
everything when the assignment's source, the config, the limits or the grading code change.
One run per course at a time (:mod:`lstm_grading.course_lock`).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from . import cgroup as cgroups
from . import (
    course_lock,
    course_prep,
    disk,
    gradebook_merge,
    inputs,
    jail,
    linux,
    report,
    safe_copy,
    sandbox,
)
from .job import GRADEBOOK_BYTES, LAST_CELL_BYTES, LOG_BYTES, local_reduced_gaps
from .pool import Pool
from .progress import Progress
from .report import Outcome
from .safe_copy import MIB, copy_path_tree, shown
from .sandbox import Job, Limits
from .submission_checks import diagnose, read_timestamp, static_checks, unrestored

ATTEMPTS = 2  # a job whose worker died is tried this many times in all
# The status of a student whose submission is in the gradebook but whose submitted folder is
# gone: the gradebook's grade is kept and exported (_plan).
KEPT = "kept"
# The manifest's status of a submission a run set out to grade and has not merged (_plan).
GRADING = "grading"
# Seconds a run that ends waits, at most, for the processes of its killed workers' jobs to
# leave their memory cgroups, which it then removes (a stopped run's: they die with the worker).
JOBS_DYING = 10.0


def nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def default_jobs() -> int:
    """One worker more than there are cores.

    A job spends part of its time waiting (its kernel starting up, files being copied), so
    with exactly one worker per core a core sits idle now and then; one more keeps every core
    busy. Measured here on 2 cores: 1.72x the sequential throughput with 2 workers, 2.13x
    with 3 (benchmarks/bench_grading.py).
    """
    return (os.cpu_count() or 1) + 1


# The files of lstm_core and lstm_grading as this process imported this module (a pool's
# worker: as it started), and which of them it had imported (course_prep.other_code).
LOADED_CODE = course_prep.code_files(course_prep.grading_code())
LOADED = course_prep.imported_files(course_prep.grading_code())
CODE_CHANGED = "code_changed"  # a result's key: the worker's code is not the run's


class GradingCodeChanged(Exception):
    """The files of ``lstm_core`` and ``lstm_grading`` changed during a local run: a job would
    have graded with other code than the run's key names (the reference, the hidden checks)."""


def _grade_task(job: Job) -> dict:
    """In a worker: the job, with the worker's pid as its slot (so its uid is unique). If the
    code on disk (which the job's kernel and hidden checks read), or the code this worker
    imported as it started, is not the run's (``job.code``: an edit, a ``git pull`` or a ``pip
    install`` since the run hashed it), nothing is graded: the result holds this worker's
    files under :data:`CODE_CHANGED` (the results would be recorded under the run's key, and
    the next run take them as graded with that code)."""
    if job.code is not None and (other := course_prep.other_code(job.code, LOADED_CODE, LOADED)):
        return {"reason": "not graded: the grading code changed", CODE_CHANGED: other[0]}
    return sandbox.run_job(replace(job, slot=os.getpid()))


def code_changed(ours: dict[str, str], theirs: dict[str, str]) -> str:
    """What a local run says when a job found other grading code than the run's."""
    differences = safe_copy.shown(course_prep.code_differences(ours, theirs), 1000)
    return (
        "the files of lstm_core and lstm_grading changed during the run (an edit, a git "
        f"pull, a pip install: {differences}); what was graded before is merged; let that "
        "change finish first"
    )


FEEDBACK_TIMED_OUT = "timeout: not done after"  # the start of a feedback's timeout reason
# The most of nbgrader's feedback output kept (its last error line is what is reported).
FEEDBACK_OUTPUT_BYTES = 1 << 20


def _feedback_task(args: tuple[str, str, str, float]) -> tuple[str, int, str]:
    """``nbgrader generate_feedback`` for one student, in a forked child of a worker: the
    student, nbgrader's exit status, and the last error it printed ("" if none).

    Only the notebooks become feedback: ``CourseDirectory.ignore`` = everything keeps the other
    files of the autograded folder from being copied a second time. The child gets ``timeout``
    seconds: it turns the student's markdown into HTML, as the user running ``lstm-autograde``
    (root, for the full sandbox) and outside any sandbox, and a cell of a few MiB of ``[a](`` took
    nbconvert's markdown parser minutes. The child leads a process group of its own; if it has not
    ended by the deadline, the group is killed, status -9 and the reason returned, and the student's
    feedback folder for the assignment removed (a page half written is no page; the next run writes
    it again). Whatever the child leaves running when it ends is killed with its group, and the last
    :data:`FEEDBACK_OUTPUT_BYTES` of its output are kept. The child dies with the worker.
    """
    course, assignment, student, timeout = args
    read_end, write_end = os.pipe()
    worker = os.getpid()
    pid = os.fork()
    if pid == 0:
        rc = 2
        try:
            os.setsid()
            # Killed with the worker (which dies with the coordinator): a run killed during
            # feedback otherwise left this child writing the student's feedback folder after
            # it, without the course lock, over the next run's (a page of the old score).
            linux.die_with_parent(worker)
            os.close(read_end)
            os.chdir(course)
            os.dup2(write_end, 1)
            os.dup2(write_end, 2)
            os.environ["PATH"] = nbgrader_env()["PATH"]
            from nbgrader.apps.nbgraderapp import NbGraderApp

            # --student is a glob pattern to nbgrader: an id like "a[1]" must match itself. Given
            # with "=": as a word of its own, an id that starts with "-" (a folder "-dash")
            # was read as an option, and nbgrader stopped: "expected one argument".
            argv = [
                "generate_feedback",
                assignment,
                f"--student={glob.escape(student)}",
                "--force",
                "--CourseDirectory.ignore=['*']",
            ]
            try:
                NbGraderApp.launch_instance(argv=argv)
                rc = 0
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):  # a message (nbgrader_config.py's): the reason
                    os.write(2, f"{exc.code}\n".encode())
        except BaseException:  # its last line is the reason the student's notes give
            os.write(2, traceback.format_exc().encode())  # fd 2 is the pipe, whatever sys.stderr
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(rc)
    os.close(write_end)
    os.set_blocking(read_end, False)
    deadline = time.monotonic() + timeout
    tail, status, open_pipe = bytearray(), None, True

    def drain() -> bool:
        """Read what the pipe holds now into ``tail``; False at its end."""
        while True:
            try:
                chunk = os.read(read_end, 1 << 16)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            tail.extend(chunk)
            del tail[:-FEEDBACK_OUTPUT_BYTES]

    try:
        while status is None and time.monotonic() < deadline:
            wait = min(max(deadline - time.monotonic(), 0.0), 0.1)
            if open_pipe:
                if select.select([read_end], [], [], wait)[0]:
                    open_pipe = drain()
            else:
                time.sleep(wait)
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = code
                drain()
    finally:
        with contextlib.suppress(OSError):  # the group: the child if late, what it left
            os.killpg(pid, signal.SIGKILL)
        if status is None:
            os.waitpid(pid, 0)
        os.close(read_end)
    if status is None:
        safe_copy.remove_tree(Path(course, "feedback", student, assignment))
        return student, -signal.SIGKILL, f"{FEEDBACK_TIMED_OUT} {timeout:g} s"
    output = bytes(tail).decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    # The last exception line, else (a failure that printed none) the last line printed.
    why = report.last_error(output) or (shown(lines[-1], 300) if code and lines else "")
    return student, code, why


TASKS = {"grade": _grade_task, "feedback": _feedback_task}
FEEDBACK_FAILED = "feedback generation failed"
# A feedback that ran past its time on an earlier run of the same submission, not tried again.
FEEDBACK_NOT_TRIED = "on an earlier run of this submission; not tried again"
CHECKS_FAILED = "the grader could not check this submission's files"
MERGE_FAILED = "the grader could not merge this submission"


@dataclass
class _Run:
    """What the coordinator knows while it runs (one assignment of one course)."""

    course: Path
    assignment: str
    limits: Limits
    max_score: float
    notebooks: tuple[str, ...]
    gaps: str  # what the sandbox does not contain, per submission ("" in full mode)
    # The run's folder (/tmp/lstm-autograde-*, mode 700): the merge's scratch files go there, so
    # that a run killed mid-merge leaves them to the next run's clean-up, never in /tmp itself.
    base: Path | None = None


class _Results:
    """A finished job's results folder (``out``), read by the coordinator.

    In full mode root wrote the folder and the student's code could not reach it. In reduced
    mode the student's code could (:func:`lstm_grading.job.reduced_gaps`), and may have put a
    link, a FIFO, a huge file or JSON that is no notebook in place of any file, or of the
    folder itself. So it is read as a submitted folder is: opened once without following a
    link, each file only if it is a regular file and within the sizes above
    (:func:`lstm_grading.safe_copy.read_capped`). What could not be read is a note in
    ``problems``, never an error and never a wait; ``unusable`` is the first of them that
    leaves no score to merge (the folder, the autograded folder, the gradebook), or "".
    """

    def __init__(self, out: Path | None):
        self.fd: int | None = None  # the results folder
        self.auto_fd: int | None = None  # its autograded folder
        self.problems: list[str] = []
        self.unusable = ""
        if out is None:
            return
        try:
            self.fd = safe_copy.open_dir(str(out))
        except OSError as exc:
            why = safe_copy.not_opened(exc, str(out), want="a folder")
            self._unusable(f"the job's results folder {why}: nothing read from it")
            return
        try:
            self.auto_fd = safe_copy.open_dir("autograded", self.fd)
        except OSError as exc:
            why = safe_copy.not_opened(exc, "autograded", self.fd, want="a folder")
            if why != safe_copy.MISSING:  # a job that failed early made none
                self._unusable(f"the job's autograded folder {why}: not read")

    def _unusable(self, problem: str) -> None:
        self.problems.append(problem)
        self.unusable = self.unusable or problem

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for fd in (self.auto_fd, self.fd):
            if fd is not None:
                os.close(fd)

    def _read(self, name: str, limit: int, *, last=False, needed=False):
        """:func:`lstm_grading.safe_copy.read_capped` of ``name``, or None with a note (missing:
        a note only if ``needed``, as ``unusable`` then)."""
        if self.fd is None:
            return None
        got = safe_copy.read_capped(name, self.fd, limit, last=last)
        if got.problem:
            problem = f"the job's {name} {got.problem}: not read"
            if needed:
                self._unusable(problem)
            elif not got.missing:
                self.problems.append(problem)
            return None
        return got

    def log(self) -> str:
        """nbgrader's log; past :data:`LOG_BYTES`, its last bytes after a line saying so."""
        got = self._read("nbgrader.log", LOG_BYTES, last=True)
        if got is None:
            return ""
        text = got.data.decode("utf-8", "replace")
        if got.cut:
            cut = sandbox.cut_line("nbgrader.log", got.size, LOG_BYTES)
            self.problems.append(cut)
            text = f"[lstm-autograde] {cut}, below\n{text}"
        return text

    def last_cell(self) -> str:
        """The first line of the cell that was running when the job ended, or ""."""
        got = self._read("last-cell.txt", LAST_CELL_BYTES)
        return shown(got.data.decode("utf-8", "replace").strip(), LAST_CELL_BYTES) if got else ""

    def gradebook(self, folder: str, expected: gradebook_merge.Shape) -> Path | None:
        """A copy in ``folder`` (the coordinator's own) of the job's private gradebook, or None.

        A copy, because SQLite opens a path: it would follow a link, and read a file of any size.
        Its schema and row counts must fit ``expected``, the course gradebook's shape
        (:func:`lstm_grading.gradebook_merge.schema_problem`), before nbgrader queries it.
        """
        got = self._read("gradebook.db", GRADEBOOK_BYTES + 1, needed=True)
        if got is None:
            return None
        if len(got.data) > GRADEBOOK_BYTES:
            size = safe_copy.size(GRADEBOOK_BYTES)
            self._unusable(f"the job's gradebook.db is larger than {size}: not read")
            return None
        copy = Path(folder, "gradebook.db")
        copy.write_bytes(got.data)
        problem = gradebook_merge.schema_problem(copy, expected)
        if problem:
            self._unusable(f"the job's gradebook.db {problem}: not read")
            return None
        return copy

    def notebook_notes(self, names: tuple[str, ...]) -> list[str]:
        """:func:`lstm_grading.report.notes_from_notebook` of the autograded notebooks ``names``:
        the assignment's, which nbgrader ran (any other is a file of the student's)."""
        notes = []
        for name in names if self.auto_fd is not None else ():
            notes += report.notes_from_notebook(name, self.auto_fd)
        return notes


# The most bytes of a file name on Linux (NAME_MAX).
NAME_BYTES = 255


def log_name(student: str) -> str:
    """The file name of ``student``'s nbgrader log in ``reports/<assignment>/logs/``:
    ``<student>.log``, or, if that is longer than a file name can be (a folder name of 252 to
    255 bytes, which nbgrader grades), the name cut, ``-``, and 16 hex digits of its SHA-256.
    The ``.log`` added to such a name made writing the log fail, and the failure (an
    ``OSError``, which the merge takes for the course's) stopped the whole class's run."""
    name = f"{student}.log"
    if len(os.fsencode(name)) <= NAME_BYTES:
        return name
    digest = hashlib.sha256(os.fsencode(student)).hexdigest()[:16]
    tail = f"-{digest}.log"
    cut = os.fsencode(student)[: NAME_BYTES - len(tail)]
    return cut.decode("utf-8", "ignore") + tail  # "ignore": a character cut in two is left out


def _record(run: _Run, student: str, result: dict, submission: Path) -> Outcome:
    from nbgrader.api import Gradebook

    course, assignment = run.course, run.assignment
    out = Path(result["out"]) if result.get("out") else None
    with _Results(out) as job:
        log = job.log()
        logs = course / "reports" / assignment / "logs"
        (logs / log_name(student)).write_text(log, encoding="utf-8", errors="replace")
        notes, flags, timestamp, diagnosis = _inspect(run, submission)
        notes += result.get("taken_notes", []) + retry_notes(result.get("retries", []))
        ok = (
            result.get("exit_code") == 0
            and not result.get("timed_out")
            and not result.get("error")
            and job.auto_fd is not None
        )
        # In the run folder: a copy of the job's gradebook holds the hidden tests' source.
        with tempfile.TemporaryDirectory(prefix="merge-", dir=run.base) as tmp:
            private = None
            if ok:
                private = job.gradebook(tmp, gradebook_merge.shape(course / "gradebook.db"))
            with disk.quiet_gradebook(), Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
                total = gradebook_merge.merge(gb, assignment, student, private, timestamp)
                kept = gradebook_merge.hand_grades_kept(gb, assignment, student)
        dest = course / "autograded" / student / assignment
        gaps, seconds = run.gaps, result.get("seconds", 0.0)
        if total is None:
            gradebook_merge.remove_autograded(dest)
            cell = job.last_cell()
            # What kept the results from being read says more than nbgrader's exit status.
            why = result.get("reason") or report.failure_reason(
                result, log, run.limits, diagnosis or job.unusable
            )
            # What the job's copy-out left out may be why (the Dask path's read of it too).
            notes += result.get("return_notes", []) + [p for p in job.problems if p != why]
            notes = [unrestored(n) for n in notes]  # nbgrader failed: it put no cell back
            notes += [kept] if kept else []  # counted in grades.csv beside the failure
            return Outcome(
                student, "failed", None, run.max_score, why, cell, notes, flags, gaps, seconds
            )
        if diagnosis:
            notes.insert(0, diagnosis)
        notes += result.get("return_notes", [])
        budget = int(run.limits.return_mb * MIB)
        notes += gradebook_merge.install_autograded(job.auto_fd, dest, budget, run.notebooks)
        notes += job.notebook_notes(run.notebooks) + job.problems + ([kept] if kept else [])
        return Outcome(student, "graded", total, run.max_score, "", "", notes, flags, gaps, seconds)


RETRIED = "graded again after try "  # how a retry's note starts (retry_notes)


def retry_notes(reasons: list[str]) -> list[str]:
    """One note per earlier try of a submission that ended without a result (its worker died):
    the row says the submission was graded again, and why, which its log alone would not."""
    return [f"{RETRIED}{n} ended: {why}" for n, why in enumerate(reasons, 1)]


def taken_notes(notes: list[str]) -> list[str]:
    """The notes of the copy that gave a job the submitted folder (what it left out: links,
    FIFOs, devices, files over the job's disk allowance), saying whose folder they are about.

    The job sees only what was copied, so a notebook that opens a file left out fails there:
    the note says why, where nbgrader's log would only say the file is missing.
    """
    return [f"submitted folder: {note}" for note in notes]


def _inspect(run: _Run, submission: Path) -> tuple[list[str], list[str], object, str]:
    """What this process reads in the submitted folder itself: (notes, flags, the time of
    ``timestamp.txt`` or None, the diagnosis).

    The folder is the student's: :mod:`lstm_grading.submission_checks` reads it without
    following links or opening special files, within size limits, and type-checks what it
    parses. Should a check still fail, that is a note on this one submission (which is graded
    or failed as nbgrader found), never the end of the run.
    """
    from nbgrader.utils import parse_utc

    try:
        notes, flags = static_checks(submission, run.course / "exercises" / run.assignment)
    except Exception as exc:
        notes, flags = [f"{CHECKS_FAILED} ({_error(exc)})"], []
    timestamp = None
    try:
        text, note = read_timestamp(submission)
        if note:
            notes.append(note)
        timestamp = parse_utc(text) if text else None
    except Exception:  # nbgrader then uses the time of the job's own copy, as plain nbgrader
        timestamp = None
    try:
        diagnosis = diagnose(submission, run.notebooks)
    except Exception as exc:
        diagnosis = f"{CHECKS_FAILED} ({_error(exc)})"
    return notes, flags, timestamp, diagnosis


def _error(exc: BaseException, most: int = 200) -> str:
    """``exc`` in one line for a report: its type and at most ``most`` characters of its
    message."""
    lines = str(exc).strip().splitlines()
    return shown(f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__, most)


def _unmerged(run: _Run, student: str, result: dict, exc: Exception) -> Outcome:
    """A submission :func:`_record` could not merge: failed, with the error as the reason.

    Stored as every failure is (empty scores, "needs grading" in the export, no autograded
    folder) as far as the gradebook allows, so that the rest of the class is graded and a
    re-run grades this one again.
    """
    from nbgrader.api import Gradebook

    course, assignment = run.course, run.assignment
    try:
        with disk.quiet_gradebook(), Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            gradebook_merge.merge(gb, assignment, student, None, None)
    except Exception as again:
        if disk.why_full(again):
            raise
    gradebook_merge.remove_autograded(course / "autograded" / student / assignment)
    reason = f"{MERGE_FAILED} ({_error(exc)})"
    seconds = result.get("seconds", 0.0)
    return Outcome(
        student, "failed", None, run.max_score, reason, sandbox=run.gaps, seconds=seconds
    )


def _refuse(run: _Run, student: str, reason: str) -> Outcome:
    """A submission refused before grading: none of its code ran, so its row names no gap of
    the sandbox (it said, in reduced mode, that the student's code ran as the instructor)."""
    return Outcome(student, "refused", None, run.max_score, reason)


def grade_assignment(
    course: Path,
    assignment: str,
    *,
    jobs: int | None = None,
    limits: Limits | None = None,
    force: bool = False,
    sandbox_mode: str | None = None,
    feedback: bool = True,
    export: bool = True,
    progress: bool = True,
    wait: bool = False,
) -> dict:
    """Autograde every submission of ``assignment`` in ``course``; return the summary dict.

    Raises :class:`lstm_grading.course_lock.CourseBusy` if another run grades the course
    (unless ``wait``), ``ValueError`` naming the argument for a bad argument (a course or
    assignment that does not exist, an assignment without submissions, ``jobs`` out of range:
    :func:`lstm_grading.inputs.check_run`), before anything is written to the course;
    :class:`lstm_grading.disk.DiskFull` if the disk fills up (what was merged is kept).
    """
    course, assignment, jobs, limits = inputs.check_run(
        course, assignment, jobs, limits, sandbox_mode
    )
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else None
    with disk.stop_when_full(), course_lock.locked(course, assignment, wait=wait, say=say):
        return _grade_locked(
            course, assignment, jobs, limits, force, sandbox_mode, feedback, export, progress
        )


def remove_job_cgroups(cgroup: str, base: Path, wait: float = JOBS_DYING) -> None:
    """At a local run's end, in the memory cgroup ``cgroup``: remove its own jobs' cgroups
    (a stopped run's jobs die with their workers a moment later: ``wait`` seconds at most),
    then those of runs that died (their run folder gone).

    A Dask helper's job on this machine names its cgroup after its own job folder
    (``lstm-autograde-one-...-work-<pid>``, which the run folders' prefix matches too): that
    one is gone only once its job folder is, in whichever run folder. Taken for a dead run's,
    a helper's job between making its cgroup and joining it lost it, and failed.
    """
    from .cluster.helper import JOB_PREFIX, job_cgroup_gone

    cgroups.remove_unused(cgroup, base.name, wait=wait)
    tmp = Path(tempfile.gettempdir())

    def gone(name: str) -> bool:
        if name.startswith(JOB_PREFIX):
            return job_cgroup_gone(name)
        return not (tmp / name.split("-job")[0]).exists()

    cgroups.remove_unused(cgroup, course_lock.RUN_PREFIX, only=gone)


def _plan(course: Path, assignment: str, limits: Limits, force: bool, gaps: str):
    """What a run must do: the run, the manifest, the outcomes known already, the work to do.

    Returns ``(run, manifest, submissions, outcomes, todo)``: :func:`_new_run`, then
    :func:`_fill_plan`.
    """
    run = _new_run(course, assignment, limits, gaps)
    submissions: dict[str, Path] = {}
    outcomes: dict[str, Outcome] = {}
    todo: dict[str, str] = {}
    manifest = _fill_plan(run, force, submissions, outcomes, todo)
    return run, manifest, submissions, outcomes, todo


def _new_run(course: Path, assignment: str, limits: Limits, gaps: str) -> _Run:
    """The run of ``assignment`` (its maximum score and notebooks), its reports folder made.
    Raises ``ValueError`` if the assignment is not in the gradebook."""
    max_score = None
    if (course / "gradebook.db").exists():
        max_score = gradebook_merge.max_score(course, assignment)
    if max_score is None:
        raise ValueError(
            f"assignment: {assignment!r} is not in {course / 'gradebook.db'}; run `make "
            "exercises` (nbgrader generate_assignment) first"
        )
    run = _Run(
        course, assignment, limits, max_score, course_prep.notebook_names(course, assignment), gaps
    )
    (course / "reports" / assignment / "logs").mkdir(parents=True, exist_ok=True)
    return run


def _fill_plan(
    run: _Run,
    force: bool,
    submissions: dict[str, Path],
    outcomes: dict[str, Outcome],
    todo: dict[str, str],
    code: dict[str, str] | None = None,
) -> dict:
    """Fill, in place, ``submissions`` (every submitted folder found), ``outcomes`` (the
    refused and the unchanged submissions) and ``todo`` (each student to grade: the hash of
    the submission); return the manifest. In place, so that a run stopped while it hashes a
    class knows how far it got (:func:`summary_when_stopped`).

    Refused: what :func:`lstm_grading.course_prep.find_submissions` refuses, and a submission
    folder :func:`lstm_grading.course_prep.tree_hash` cannot read (unreadable, or more entries
    than it walks through). The manifest's entries of the submissions in ``todo`` are marked
    :data:`GRADING` on disk: until merged, no later run takes them as unchanged.
    """
    from nbgrader.api import Gradebook

    course, assignment, limits, max_score = run.course, run.assignment, run.limits, run.max_score
    gaps = run.gaps
    reports = course / "reports" / assignment
    key = course_prep.run_key(course, assignment, limits, code)  # code: as the caller read it
    manifest = {"key": key, "students": {}}
    if force:
        # Every entry describes a grading this run replaces: forgotten now, not as each
        # student is merged, so that a forced run stopped part-way is finished by the next
        # run, with or without --force, which grades what this one has not merged.
        report.write_json(reports / "manifest.json", manifest)
    with contextlib.suppress(OSError, ValueError):
        old = json.loads((reports / "manifest.json").read_text())
        if old.get("key") == key:
            manifest["students"] = old.get("students", {})

    found, refused = course_prep.find_submissions(course, assignment)
    submissions.update(found)
    outcomes.update({s: _refuse(run, s, r) for s, r in refused.items()})
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        graded_before = {s.student_id: s.score for s in gb.find_assignment(assignment).submissions}
    for student, folder in list(submissions.items()):
        try:
            digest = course_prep.tree_hash(folder, limits.disk_mb << 20)
        except course_prep.Unreadable as exc:
            outcomes[student] = _refuse(run, student, str(exc))
            del submissions[student]
            continue
        entry = manifest["students"].get(student, {})
        if (
            not force
            and entry.get("hash") == digest
            and entry.get("status") == "graded"
            and (course / "autograded" / student / assignment).is_dir()
            and student in graded_before
        ):
            outcomes[student] = Outcome(
                student,
                "unchanged",
                entry.get("score"),
                max_score,
                # Copies: this run's notes stay out of the manifest's record of the grading.
                # A hand grade kept was news for the run that regraded; reviewed since, maybe.
                # So was a retry (its worker died): the submission is not graded again now.
                notes=[
                    n
                    for n in entry.get("notes", [])
                    if not n.startswith((gradebook_merge.HAND_GRADE_KEPT, RETRIED))
                ],
                flags=list(entry.get("flags", [])),
                sandbox=entry.get("sandbox", gaps),
            )
        else:
            todo[student] = digest
    # A student the gradebook has a submission of, whose submitted folder is gone (deleted, or
    # moved, since an earlier run): nbgrader grades the folders it finds and exports what the
    # gradebook holds, so the earlier grade stays in grades.csv, as with plain nbgrader. The run
    # says so with a row of its own rather than say nothing of a grade it exports.
    for student in sorted(set(graded_before) - set(submissions) - set(outcomes)):
        outcomes[student] = Outcome(
            student,
            KEPT,
            graded_before[student],
            max_score,
            reason=f"earlier grade kept: submitted/{student}/{assignment}/ is gone (the "
            "gradebook and grades.csv keep the grade, as with nbgrader); put the folder back "
            "to grade it again",
        )
    # Each submission to grade whose earlier grading the manifest records is marked, on disk,
    # before any result is merged: a run killed mid-merge (the gradebook written, the manifest
    # not yet) left the earlier entry, and if the submission was then the earlier one again
    # (its hash), the next run took it as unchanged, its score the entry's, not the gradebook's.
    marked = [s for s in todo if s in manifest["students"]]
    for student in marked:
        manifest["students"][student] = {**manifest["students"][student], "status": GRADING}
    if marked:
        report.write_json(reports / "manifest.json", manifest)
    return manifest


def _merge_result(
    run: _Run, manifest: dict, student: str, digest: str, result: dict, submission: Path
) -> Outcome:
    """Merge one finished job into the course and record it in the manifest at once.

    Idempotent: merging the same result again changes nothing (the feedback folder is removed
    again, the gradebook entry updated, the autograded folder replaced), so a run killed
    between the steps is safe.
    An error in the merge fails this submission only (:func:`_unmerged`); an ``OSError`` (a
    full disk: :func:`lstm_grading.disk.stop_when_full`) stops the run.

    The student's feedback folder goes first: its pages describe the grading this one
    replaces, and would still show the old score after a run with ``--no-feedback`` or a
    resubmission that fails. Removed before the new result is recorded, so that no run,
    finished or killed, leaves a page that disagrees with the gradebook; the next run with
    feedback writes the missing page (:func:`feedback_due`).
    """
    safe_copy.remove_tree(run.course / "feedback" / student / run.assignment)
    try:
        outcome = _record(run, student, result, submission)
    except Exception as exc:
        # An OSError is the course's or the machine's (a folder another user owns, a read-only
        # course, a full disk): every student would meet it, so it stops the run, with what
        # was merged kept, rather than fail them one by one. What a student's files or job
        # returned can raise anything else, and fails that student only.
        if disk.why_full(exc) or isinstance(exc, OSError):
            raise
        outcome = _unmerged(run, student, result, exc)
    manifest["students"][student] = {
        "hash": digest,
        "status": outcome.status,
        "score": outcome.score,
        "reason": outcome.reason,
        # Copies: the row's notes get this run's news (a feedback that failed), which the
        # record of the grading, saved with the feedback's marks, kept for every later run.
        "notes": list(outcome.notes),
        "flags": list(outcome.flags),
        "sandbox": outcome.sandbox,
    }
    save_manifest(run, manifest)
    return outcome


def save_manifest(run: _Run, manifest: dict) -> None:
    """Write ``manifest`` to ``reports/<assignment>/manifest.json``, whole or not at all."""
    report.write_json(run.course / "reports" / run.assignment / "manifest.json", manifest)


# The manifest's mark of a submission whose feedback ran past its time (the reason): the same
# submission is not given that time again by later runs (--force, or a new submission, is).
FEEDBACK_TIMEOUT = "feedback_timeout"
# The manifest's mark of a submission whose feedback was started and has not ended well: set
# (on disk) before any feedback runs, removed once it has. nbgrader writes each page in place,
# so a run killed meanwhile can leave a page cut short, even empty, that is a file all the same.
FEEDBACK_PENDING = "feedback_pending"
# The manifest's record of the gradebook's marks (every grade and comment of the submission,
# by hand or not: :func:`gradebook_marks`) a student's feedback page was written from. A grade
# or comment given by hand in the formgrader after that leaves the submission unchanged, and
# the page, which shows them, is written again by the next run with feedback.
FEEDBACK_MARKS = "feedback_marks"


def gradebook_marks(course: Path, assignment: str) -> dict[str, str]:
    """A digest, per student with a submission of ``assignment`` in the course's gradebook, of
    what its feedback page shows of the gradebook: each grade's score (the one given by hand if
    there is one) and extra credit, and each comment."""
    from nbgrader.api import Gradebook, MissingEntry

    marks: dict[str, str] = {}
    if not (course / "gradebook.db").is_file():  # none yet: not made (nbgrader would make one)
        return marks
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            submissions = gb.find_assignment(assignment).submissions
        except MissingEntry:
            return marks
        for submission in submissions:
            items = []
            for notebook in submission.notebooks:
                items += [
                    ("grade", notebook.name, g.name, g.score, g.extra_credit)
                    for g in notebook.grades
                ]
                items += [("comment", notebook.name, c.name, c.comment) for c in notebook.comments]
            text = json.dumps(sorted(items, key=repr), default=str)
            marks[submission.student_id] = hashlib.sha256(text.encode()).hexdigest()
    return marks


# The note of an unchanged student whose feedback page a run writes because an earlier run
# ended while writing it (:data:`FEEDBACK_PENDING`), or because it is missing.
FEEDBACK_PENDING_NOTE = (
    "feedback page written again: an earlier run ended (stopped or killed) while writing it"
)
FEEDBACK_MISSING_NOTE = (
    "feedback page written: it was missing (an earlier run stopped before writing it, or run "
    "with --no-feedback, or the page deleted)"
)
FEEDBACK_HAND_NOTE = (
    "feedback written again: a grade or comment changed in the gradebook since its page was "
    "written (given by hand)"
)
# The note of an unchanged student whose page shows marks changed by hand since, and whose
# feedback is not tried again (it ran past its time on an earlier run: FEEDBACK_TIMEOUT).
FEEDBACK_HAND_STALE_NOTE = (
    "feedback page out of date: a grade or comment changed in the gradebook since it was "
    "written (given by hand); not written again: its feedback ran past its time before"
)
# Taken back if the page is not written after all (its feedback failed, or the run stopped):
# the row says so instead.
WRITTEN_NOTES = (FEEDBACK_PENDING_NOTE, FEEDBACK_MISSING_NOTE, FEEDBACK_HAND_NOTE)


def feedback_due(
    run: _Run,
    outcomes: dict[str, Outcome],
    regraded: list[str],
    manifest: dict,
    marks: dict[str, str],
) -> list[str]:
    """Who gets feedback this run: the students graded now, and the unchanged ones whose
    feedback page is missing (a run with ``--no-feedback`` before, or ``feedback/`` deleted),
    or was being written when an earlier run ended (the manifest's :data:`FEEDBACK_PENDING`),
    or shows marks the gradebook no longer holds (a grade or comment given by hand since:
    :data:`FEEDBACK_MARKS`).

    An unchanged student whose feedback for this same submission ran past its time on an earlier
    run (the manifest's :data:`FEEDBACK_TIMEOUT`) is not tried again, which would cost that time
    on every run: the row notes it, with the earlier reason.

    ``marks``: :func:`gradebook_marks`, read once by the run after its last merge and before
    any feedback starts, and given to :func:`_feedback` too (each read a whole gradebook's).
    """
    missing = []
    for s, o in sorted(outcomes.items()):
        if o.status != "unchanged":
            continue
        # A page left by a feedback that never reported back (the run killed as nbgrader wrote
        # it: a page cut short, or empty) is no page: the manifest's mark says so.
        pending = manifest["students"].get(s, {}).get(FEEDBACK_PENDING)
        # Why the page is written (the row's note): it was left pending, it is missing, or it
        # shows marks the gradebook no longer holds.
        why = FEEDBACK_PENDING_NOTE if pending else FEEDBACK_MISSING_NOTE
        if not pending and all(
            (run.course / "feedback" / s / run.assignment / f"{Path(nb).stem}.html").is_file()
            for nb in run.notebooks
        ):
            written_from = manifest["students"].get(s, {}).get(FEEDBACK_MARKS)
            if written_from is None:
                continue
            if marks.get(s) == written_from:
                continue
            why = FEEDBACK_HAND_NOTE
        timed_out = manifest["students"].get(s, {}).get(FEEDBACK_TIMEOUT)
        if timed_out:
            # Not FEEDBACK_HAND_NOTE, which says the page is written again: it is not.
            if why == FEEDBACK_HAND_NOTE:
                o.notes.append(FEEDBACK_HAND_STALE_NOTE)
            o.notes.append(
                f"{FEEDBACK_FAILED} ({timed_out}, {FEEDBACK_NOT_TRIED}: --force tries again)"
            )
        else:
            o.notes.append(why)
            missing.append(s)
    return [*regraded, *missing]


def _feedback(
    pool: Pool,
    run: _Run,
    students: list[str],
    outcomes: dict[str, Outcome],
    manifest: dict,
    marks: dict[str, str],
) -> None:
    """``nbgrader generate_feedback`` for ``students``, in the workers of ``pool``; a student
    whose feedback ran past its time is marked in the manifest (:func:`feedback_due`).

    ``marks``: the gradebook's (:func:`gradebook_marks`), read before any feedback started, as
    :func:`feedback_due` was given them. Each page written well is recorded in the manifest as
    written from these: a grade changed by hand since the read may or may not be on the page,
    and the next run, seeing the gradebook's marks differ from the recorded ones, writes it
    again. Marks read after the pages were written could have recorded a page of the old grade
    as showing the new one, and it would never have been written again.

    Each student is marked :data:`FEEDBACK_PENDING` in the manifest on disk before any
    feedback starts, and the mark removed once the student's feedback has ended well: a run
    killed in between leaves the mark, and the next run writes the page again.
    """
    entries = [manifest["students"][s] for s in students if s in manifest["students"]]
    for entry in entries:
        entry[FEEDBACK_PENDING] = True
    if entries:
        save_manifest(run, manifest)
    for student in students:
        task = (str(run.course), run.assignment, student, float(run.limits.notebook_timeout))
        pool.submit(student, "feedback", task)
    try:
        for student, result, died in pool.results():
            entry = manifest["students"].get(student, {})
            if died or result[1] != 0:
                why = "" if died else result[2]
                notes = outcomes[student].notes  # the page was not written after all
                notes[:] = [n for n in notes if n not in WRITTEN_NOTES]
                notes.append(f"{FEEDBACK_FAILED} ({why})" if why else FEEDBACK_FAILED)
            else:
                entry.pop(FEEDBACK_PENDING, None)
                if student in marks:
                    entry[FEEDBACK_MARKS] = marks[student]
            if not died and result[2].startswith(FEEDBACK_TIMED_OUT):
                entry[FEEDBACK_TIMEOUT] = result[2]
    finally:  # a run stopped part way leaves marked only the pages it has not written
        if entries:
            save_manifest(run, manifest)


# ``python -c DYING_NBGRADER PARENT ARGS...``: ``python -m nbgrader ARGS...`` that gets SIGKILL
# when PARENT (the run) dies (``PR_SET_PDEATHSIG``; set in the child, so no ``preexec_fn``,
# which is unsafe in a process with threads, as the Dask coordinator's). A run killed during
# the export otherwise left nbgrader writing grades.csv.tmp after it, without the course lock,
# while the next run wrote and renamed the same file.
DYING_NBGRADER = (
    "import ctypes, os, runpy, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(1)  # the run died before the prctl\n"
    "sys.argv = ['nbgrader', *sys.argv[2:]]\n"
    "runpy.run_module('nbgrader', run_name='__main__', alter_sys=True)\n"
)


def _finish(
    run: _Run, outcomes: dict[str, Outcome], export: bool, wall: float, details: dict
) -> dict:
    """Export the grades, write the summary files; return the summary (with its table)."""
    course, assignment = run.course, run.assignment
    refused_rows = {s: o.reason for s, o in outcomes.items() if o.status == "refused"}
    export_error = ""
    if export:
        # To a temporary file, then renamed: a failed export (a full disk) leaves the previous
        # grades.csv as it was, never a truncated one.
        tmp = course / "grades.csv.tmp"
        argv = [sys.executable, "-c", DYING_NBGRADER, str(os.getpid()), "export", "--to", tmp.name]
        # Stopped (Ctrl-C) before the rename, during the export (killed) or while the refused
        # rows go in (the stop once left the export's grades.csv.tmp there): no partial file.
        try:
            done = subprocess.run(
                argv,
                cwd=course,
                env=nbgrader_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            exported = done.returncode == 0 and tmp.is_file()
            if exported:
                # The refused rows go in before the rename, not after: a run killed in between
                # left a grades.csv whose refused resubmissions showed their earlier grade as
                # "graded".
                report.add_refused_to_grades(tmp, assignment, refused_rows)
                with open(tmp, "rb") as written:  # on disk before the rename
                    os.fsync(written.fileno())
                report.replace_durably(tmp, course / "grades.csv")
        except BaseException:
            if tmp.is_file() and not tmp.is_symlink():
                tmp.unlink()
            raise
        if not exported:
            if tmp.is_file() and not tmp.is_symlink():
                tmp.unlink()  # a partial export
            why = report.last_error(done.stdout + done.stderr) or f"status {done.returncode}"
            export_error = f"nbgrader export failed ({why}); grades.csv was not changed"
    summary = _summary(run, outcomes, wall, details, export_error)
    report.write_summary(course / "reports" / assignment, summary)
    summary["table"] = report.format_table(list(outcomes.values()))
    return summary


def _summary(
    run: _Run, outcomes: dict[str, Outcome], wall: float, details: dict, export_error: str
) -> dict:
    """What summary.json holds: the run's details and counts, one row per student."""
    rows = [outcomes[s].row() for s in sorted(outcomes)]
    return {
        "assignment": run.assignment,
        **details,
        "limits": asdict(run.limits),
        "graded": sum(o.status == "graded" for o in outcomes.values()),
        "failed": sum(o.status == "failed" for o in outcomes.values()),
        "refused": sum(o.status == "refused" for o in outcomes.values()),
        "unchanged": sum(o.status == "unchanged" for o in outcomes.values()),
        "kept": sum(o.status == KEPT for o in outcomes.values()),
        "wall_seconds": round(wall, 2),
        "feedback_failed": sum(
            any(n.startswith(FEEDBACK_FAILED) for n in o.notes) for o in outcomes.values()
        ),
        # Of those, the ones whose failure was an earlier run's (this run did not try them).
        "feedback_failed_before": sum(
            any(n.startswith(FEEDBACK_FAILED) and FEEDBACK_NOT_TRIED in n for n in o.notes)
            for o in outcomes.values()
        ),
        "export_error": export_error,
        "students": rows,
    }


@dataclass
class Stage:
    """Where a run is, which :func:`summary_when_stopped` yields and the run keeps up to date:
    the summary of a run stopped there says so (``"stopped_in"``), and notes on each row whose
    feedback page the run meant to write and had not."""

    phase: str = "planning"  # then "grading", "feedback", "export"
    feedback: bool = False  # the run writes feedback pages
    export: bool = False  # the run exports grades.csv
    manifest: dict | None = None  # the run's (its marks of feedback still pending)
    force: bool = False  # the run was asked to regrade everyone (--force)
    doing: str = ""  # what the run waits for, if it waits (a worker to join), for its stop line
    # While planning: the submissions hashed so far and found new or changed (the plan's
    # ``todo``, filled in place); one not hashed yet may be unchanged. None: not known.
    changed: dict | None = None


# A stopped run's note on each row whose feedback page it had not written ({by}: the stop).
FEEDBACK_NOT_WRITTEN = (
    "feedback page not written: the run was stopped by {by} before it (run the same command "
    "again to write it)"
)


AGAIN = "run the same command again"


def next_run(
    not_graded: int,
    pages: int,
    export: bool,
    force: bool = False,
    planned: bool = True,
    again: str = AGAIN,
    unchecked: int = 0,
) -> str:
    """What the same command does when run again after a stop: grade the ``not_graded``
    submissions, write the ``pages`` feedback pages the stopped run had not written, export
    grades.csv (``export``: the run exports). Before, the command line said "grade the rest"
    after every stop, also one during the feedback or the export, everyone graded.
    ``planned``: False for a run stopped while it planned, which merged nothing and may not
    have found the submissions yet: "nothing was left to do" is not known, and a forced run's
    manifest may not be cleared yet (run again without --force, it kept every earlier grade).
    ``again``: the next run, where an error asked for another command (``ClusterError.again``).
    ``unchecked``: of ``not_graded``, those a run stopped while it hashed had not compared with
    their last grading yet: the next run grades them only if they are new or changed (the line
    said it would grade them all)."""
    plural = lambda n, word: f"{n} {word}{'s' if n != 1 else ''}"  # noqa: E731
    work = []
    if not_graded - unchecked:
        work.append(f"grade the {plural(not_graded - unchecked, 'submission')} not graded")
    if unchecked:
        its = "their" if unchecked != 1 else "its"
        work.append(
            f"check the {plural(unchecked, 'submission')} not yet compared with {its} last "
            f"grading (grading {'those' if unchecked != 1 else 'it if'} new or changed)"
        )
    if pages:
        work.append(f"write the {plural(pages, 'missing feedback page')}")
    if export:
        work.append("export grades.csv")
    if not work:
        if not planned:
            return f"{again} to grade the assignment"
        return "nothing was left to do"
    last = work.pop()
    # A forced run's same command would grade everyone again, what it merged too; stopped while
    # it planned, it merged nothing, and --force again loses nothing.
    if force and planned:
        again += " without --force"
    return f"{again} to " + (f"{', '.join(work)} and {last}" if work else last)


def feedback_missing(run: _Run, student: str, manifest: dict | None) -> bool:
    """Whether ``student``'s feedback page is not there to trust: a notebook's page missing, or
    the manifest's :data:`FEEDBACK_PENDING` mark (a page a stopped feedback may have cut short)."""
    if (manifest or {}).get("students", {}).get(student, {}).get(FEEDBACK_PENDING):
        return True
    folder = run.course / "feedback" / student / run.assignment
    return not all((folder / f"{Path(nb).stem}.html").is_file() for nb in run.notebooks)


@contextlib.contextmanager
def summary_when_stopped(
    run: _Run, outcomes: dict[str, Outcome], todo: dict, details: Callable[[], dict], start: float
):
    """If the block is stopped (Ctrl-C, or a signal the command line turns into one) or ends in
    an error (a scheduler gone, a worker with other code, the course's folder not writable),
    write the summary files of the run as far as it went before the stop goes on: ``"stopped"``
    names the signal, or is ``"error"`` with the error's line in ``"error"``; the submissions
    merged keep their rows, and each one still to grade is ``stopped``. Left as they were, the
    files described the run before, and said nothing of this one (a cluster run whose scheduler
    was killed left the summary of the earlier run, all its students graded). A summary that
    cannot be written (a full disk) is left out: the stop itself is reported.

    ``details`` is the function that gives the finished run's summary its details (the sandbox,
    the memory cgroup, the cluster...), called at the stop: the stopped summary holds all the
    finished one would, as far as the run knew them. ``start``: the run's start
    (``time.monotonic()``), which the finished run's wall time counts from too (the stopped
    one's counted from this block's start, and a cluster run's summary lacked the sandbox and
    the memory cgroup).

    ``todo``: the submissions without an outcome yet are ``stopped`` rows; the submitted
    folders found (:func:`_fill_plan` fills them in place), so that a run stopped while it
    plans has a row for each. Yields a :class:`Stage`: ``"stopped_in"`` is its phase, and, if
    the run writes feedback, each graded or unchanged row whose page is missing or pending
    (:func:`feedback_missing`) has the note :data:`FEEDBACK_NOT_WRITTEN` (before, the row of a
    student graded by a run stopped during the feedback said "graded", and nothing of the page
    it lacked)."""
    stage = Stage()
    try:
        yield stage
    except (KeyboardInterrupt, Exception) as stop:
        if isinstance(stop, KeyboardInterrupt):
            name = signal.Signals(getattr(stop, "signum", signal.SIGINT)).name
            by, error = name, {}
        else:
            name, by = "error", f"an error ({type(stop).__name__})"
            error = {"error": _error(stop, 2000)}
        # What the next run is: the same command, unless the error asks for another.
        again = getattr(stop, "again", None) or AGAIN
        rows = dict(outcomes)
        # Stopped while it plans, the run has not read its manifest yet: the one on disk has
        # the marks of pages an earlier run left pending, which the next run writes.
        manifest = stage.manifest if stage.manifest is not None else _manifest_on_disk(run)
        for student, o in outcomes.items():
            if (
                stage.feedback
                and o.status in ("graded", "unchanged")
                and not any(n.startswith(FEEDBACK_FAILED) for n in o.notes)
                and not manifest.get("students", {}).get(student, {}).get(FEEDBACK_TIMEOUT)
                and feedback_missing(run, student, manifest)
            ):
                # Not the note of a page this run set out to write: it did not.
                notes = [n for n in o.notes if n not in WRITTEN_NOTES]
                rows[student] = replace(o, notes=[*notes, FEEDBACK_NOT_WRITTEN.format(by=by)])
        planned = stage.phase != "planning"
        # Stopped while it hashed: a submission not hashed yet may be unchanged, and the next
        # run would not grade it (rows and line said "graded" for all).
        changed = stage.changed if not planned and stage.changed is not None else todo
        unchecked = {s for s in todo if s not in outcomes and s not in changed}
        for student in todo:
            reason = (
                f"the run was stopped by {by} before it compared this submission with its last "
                f"grading ({again} to grade it if it is new or changed)"
                if student in unchecked
                else f"the run was stopped by {by} before this submission was graded "
                f"({again} to grade it)"
            )
            rows.setdefault(student, Outcome(student, "stopped", reason=reason))
        summary = _summary(run, rows, time.monotonic() - start, details(), "")
        pages = sum(rows[s] is not outcomes[s] for s in outcomes)  # the rows noted just above
        # What the command line says of the next run (cli.main), on the stop it goes on as.
        stop.next_run = next_run(
            len(rows) - len(outcomes),
            pages,
            stage.export,
            stage.force,
            planned,
            again,
            len(unchecked),
        )
        summary = {
            "stopped": name,
            "stopped_in": stage.phase,
            **error,
            **summary,
            "not_graded": len(rows) - len(outcomes),
            "not_checked": len(unchecked),  # of those: not compared with their last grading
        }
        reports = run.course / "reports" / run.assignment
        try:
            report.write_summary(reports, summary)
            written = f"summary: {reports / 'summary.json'}"
        except OSError as exc:
            written = (
                f"no summary written ({exc.strerror or exc}): the summary files are an "
                "earlier run's"
            )
        # What the command line says the stopped run did (cli.main): only what it did.
        merged = sum(o.status in ("graded", "failed") for o in outcomes.values())
        kept = (
            f"the {merged} result{'s' if merged != 1 else ''} merged "
            f"{'are' if merged != 1 else 'is'} kept"
            if merged
            else "nothing was merged"
        )
        where = f"while {stage.doing}" if stage.doing else f"during {stage.phase}"
        stop.stop_report = f"{where}; {kept}; {written}"
        raise


def _manifest_on_disk(run: _Run) -> dict:
    """``reports/<assignment>/manifest.json`` as it is, or {} if it cannot be read."""
    try:
        manifest = json.loads(
            (run.course / "reports" / run.assignment / "manifest.json").read_text()
        )
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _grade_locked(
    course, assignment, jobs, limits, force, sandbox_mode, feedback, export, progress
) -> dict:
    start = time.monotonic()  # the run's: its planning (every submission hashed) is part of it
    if sandbox_mode is None:
        sandbox_mode, why = linux.probe()
    else:
        why = "requested" if sandbox_mode == "reduced" else ""
    gaps = local_reduced_gaps() if sandbox_mode == "reduced" else ""
    run = _new_run(course, assignment, limits, gaps)
    submissions: dict[str, Path] = {}
    outcomes: dict[str, Outcome] = {}
    todo: dict[str, str] = {}
    stale: list[Path] = []
    cgroup = None
    sandbox_text = sandbox_mode if not why else f"{sandbox_mode} ({why})"

    def details() -> dict:
        """The summary's details, as far as the run knows them (a stopped run's too)."""
        return {
            "sandbox": sandbox_text,
            "memory_cgroup": bool(cgroup),
            "jobs": jobs,
            "stale_run_folders_removed": [str(p) for p in stale],
        }

    # Planning too: a run stopped while it hashed a large class wrote no summary at all.
    with summary_when_stopped(run, outcomes, submissions, details, start) as stage:
        stage.feedback, stage.export, stage.force = feedback, export, force
        stage.changed = todo  # filled as the submissions are hashed
        # The grading code, read once: the run's key names it, and every job checks that it
        # grades with it (_grade_task).
        ours = course_prep.code_files(course_prep.grading_code())
        code = course_prep.files_hash(ours)
        manifest = stage.manifest = _fill_plan(run, force, submissions, outcomes, todo, ours)
        stage.phase = "grading"
        stale = course_lock.remove_stale_run_folders()
        base, owner = course_lock.make_run_folder()
        run = replace(run, base=base)
        bar = Progress(len(todo)) if progress and todo else None
        try:
            template = base / "template"
            course_prep.make_template(course, assignment, template)
            binds = jail.allowlist() if sandbox_mode == "full" else []
            cgroup = cgroups.memory_cgroup_parent() if sandbox_mode == "full" else None
            regraded = []
            attempts = dict.fromkeys(todo, 0)
            disk = limits.disk_mb << 20
            names = {student: f"job{n:05d}" for n, student in enumerate(sorted(todo))}
            taken: dict[str, list[str]] = {}  # what the copy of each submission left out
            deaths: dict[str, list[str]] = {}  # why each earlier try of a submission ended

            def submit(pool, student):
                attempts[student] += 1
                work = base / f"{names[student]}-{attempts[student]}"
                work.mkdir(mode=0o700)
                copied = copy_path_tree(
                    str(submissions[student]),
                    str(work / "submission"),
                    disk,
                    submitted=True,
                    top=str(course),
                )
                taken[student] = taken_notes(copied.notes())
                job = Job(
                    student,
                    assignment,
                    str(work),
                    str(template),
                    limits,
                    sandbox_mode,
                    run.notebooks,
                    binds,
                    cgroup,
                    code=code,
                )
                pool.submit(student, "grade", job)

            # Each submission is copied into the run folder only when a worker is about to be free
            # for it, and its copy removed once merged: at most one copy per worker on disk at once
            # (the Dask path reads them as lazily). Copied all at the start, a class's copies
            # filled the machine's /tmp before the first job ended, and the run stopped with no one
            # graded: a sparse file of 500 MiB costs a submitted folder nothing, its copy 500 MiB.
            waiting = sorted(todo, reverse=True)  # pop() takes them in order

            def submit_next(pool):
                if waiting:
                    submit(pool, waiting.pop())

            with Pool(jobs, TASKS) as pool:
                for _ in range(jobs):
                    submit_next(pool)
                for student, result, died in pool.results():
                    if not died and CODE_CHANGED in result:
                        raise GradingCodeChanged(code_changed(ours, result[CODE_CHANGED]))
                    if died and attempts[student] < ATTEMPTS:
                        deaths.setdefault(student, []).append(died)
                        submit(pool, student)
                        continue
                    tries = deaths.pop(student, [])
                    if died:  # the reason says it: no note of the earlier try
                        result, tries = {"reason": f"{died} twice", "seconds": 0.0}, []
                    result = {**result, "taken_notes": taken.pop(student, []), "retries": tries}
                    outcome = _merge_result(
                        run, manifest, student, todo[student], result, submissions[student]
                    )
                    if result.get("out"):  # what the student's code left there too, however deep
                        safe_copy.remove_tree(Path(result["out"]).parent)
                    submit_next(pool)
                    outcomes[student] = outcome
                    if outcome.status == "graded":
                        regraded.append(student)
                    if bar:
                        bar.update(outcome.status, student)
                if feedback:  # the gradebook read once, after the last merge (feedback_due)
                    stage.phase = "feedback"
                    marks = gradebook_marks(course, assignment)
                    due = feedback_due(run, outcomes, regraded, manifest, marks)
                    if due:
                        _feedback(pool, run, due, outcomes, manifest, marks)
        finally:
            if bar:
                bar.close()
            if cgroup:
                remove_job_cgroups(cgroup, base)
            course_lock.remove_run_folder(base, owner)
        stage.phase = "export"  # a run stopped here has its summary too
        return _finish(run, outcomes, export, time.monotonic() - start, details())
