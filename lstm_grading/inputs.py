"""Checks of what an instructor gives the grader, shared by the command line and the Python API.

Every check raises ``ValueError("<argument>: got <value>; expected <what>")``, the argument
named as the Python API names it (the command line's option is the same name with dashes:
``cell_timeout`` is ``--cell-timeout``), and runs before the course lock is taken, so a bad
input writes nothing to the course and grades nothing. :class:`Rule` is one numeric option's
range: :class:`lstm_grading.sandbox.Limits` checks its fields with it, and the command line
parses its options with the same rules (:meth:`Rule.parse`).
"""

from __future__ import annotations

import argparse
import math
import numbers
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

DAY = 86_400  # seconds
MIB_PER_TIB = 1 << 20
PID_MAX_LIMIT = 1 << 22  # Linux's largest pid_max: RLIMIT_NPROC above it means nothing
PORTS = range(1, 65536)
WORKERS_PER_CORE = 4  # beyond that, more worker processes only compete for memory
SANDBOX_MODES = (None, "full", "reduced")
CELL_TIMEOUT_ENV = "LSTM_GRADING_CELL_TIMEOUT"
COURSE = "an nbgrader course folder (the one holding nbgrader_config.py)"


@dataclass(frozen=True)
class Rule:
    """A number from ``low`` to ``high``: whole (``integer``) or real, then ``low`` excluded."""

    low: float
    high: float
    what: str  # what is expected, in words, for the messages
    integer: bool = True

    def problem(self, value) -> str | None:
        """None if ``value`` is acceptable, else "got ...; expected ..."."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            ok = False
        elif self.integer:
            ok = isinstance(value, numbers.Integral) and self.low <= value <= self.high
        else:
            ok = math.isfinite(value) and self.low < value <= self.high
        return None if ok else f"got {value!r}; expected {self.what}"

    def check(self, name: str, value):
        """``value`` if acceptable, else ``ValueError`` naming ``name``."""
        problem = self.problem(value)
        if problem:
            raise ValueError(f"{name}: {problem}")
        return value

    def parse(self, text: str):
        """An ``argparse`` type: the number ``text`` stands for, or an argparse error."""
        try:
            value = int(text) if self.integer else float(text)
        except ValueError:
            value = None
        if value is None or self.problem(value):
            raise argparse.ArgumentTypeError(f"got {text!r}; expected {self.what}")
        return value


# Seconds the cluster mode waits for a first worker to join the scheduler.
WORKER_TIMEOUT_RULE = Rule(
    0, DAY, f"a number of seconds above 0, at most {DAY} (a day)", integer=False
)


def path_option(text: str) -> Path:
    """An ``argparse`` type for a path: an empty one is an error (``Path("")`` is the cwd)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a path")
    return Path(text)


def max_workers() -> int:
    """The most local worker processes a run may start (``jobs``, ``--cluster local:N``)."""
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def jobs_rule() -> Rule:
    n = max_workers()
    return Rule(1, n, f"a whole number of worker processes from 1 to {n} (4 per core here)")


def check_jobs(jobs: int | None) -> int:
    """``jobs`` checked; None: the default, one worker more than there are cores."""
    if jobs is None:
        from .parallel import default_jobs

        return default_jobs()
    return int(jobs_rule().check("jobs", jobs))


def check_course(course) -> Path:
    """The course folder, resolved: it exists, is a folder and holds nbgrader_config.py."""
    if not isinstance(course, (str, os.PathLike)) or str(course) == "":
        raise ValueError(f"course: got {course!r}; expected {COURSE}")
    path = Path(course).resolve()
    if not path.exists():
        raise ValueError(f"course: got '{course}', which does not exist; expected {COURSE}")
    if not path.is_dir():
        raise ValueError(f"course: got '{course}', which is not a folder; expected {COURSE}")
    if not (path / "nbgrader_config.py").is_file():
        raise ValueError(
            f"course: got '{course}', which has no nbgrader_config.py; expected {COURSE}"
        )
    return path


def check_assignment_id(assignment) -> str:
    """An assignment id is one folder name that nbgrader takes as it is.

    No path separator, no ``.``/``..``, no hidden name, no surrounding spaces (nbgrader strips
    them), no ``+`` (nbgrader refuses it) and no ``[]*?`` (nbgrader reads them as a pattern).
    """
    bad = (
        not isinstance(assignment, str)
        or assignment in ("", ".", "..")
        or assignment.startswith(".")
        or assignment != assignment.strip()
        or any(c in assignment for c in "/\\\0+[]*?")
    )
    if bad:
        raise ValueError(
            f"assignment: got {assignment!r}; expected an assignment id, the name of its folder "
            "in solutions/ such as 'ps01_activations' (no /, \\, +, [, ], *, ?, no leading dot "
            "or surrounding spaces)"
        )
    return assignment


def gradebook_assignments(gradebook: Path, argument: str = "course") -> list[str]:
    """The assignment names of an nbgrader ``gradebook.db``, read without writing it."""
    if not gradebook.is_file():
        raise ValueError(
            f"{argument}: {gradebook} does not exist; expected the gradebook.db nbgrader "
            "generate_assignment writes (make exercises)"
        )
    try:
        con = sqlite3.connect(f"{gradebook.as_uri()}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT name FROM assignment").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise ValueError(
            f"{argument}: {gradebook} is not an nbgrader gradebook ({exc}); expected the "
            "gradebook.db nbgrader writes"
        ) from None
    return sorted(str(name) for (name,) in rows)


def check_in_gradebook(gradebook: Path, assignment: str, argument: str = "course") -> None:
    """``ValueError`` naming the gradebook's assignments if ``assignment`` is not one."""
    names = gradebook_assignments(gradebook, argument)
    if assignment not in names:
        raise ValueError(
            f"assignment: no assignment {assignment!r} in {gradebook}; it has "
            f"{', '.join(repr(n) for n in names) or 'none'} (nbgrader generate_assignment adds "
            "one: make exercises)"
        )


def check_gradable(course: Path, assignment: str) -> None:
    """The assignment is in the gradebook, has its source folder and has submissions."""
    from .course_prep import find_submissions

    check_in_gradebook(course / "gradebook.db", assignment)
    source = course / "solutions" / assignment
    if not source.is_dir() or source.is_symlink():
        raise ValueError(
            f"assignment: {assignment!r} has no source folder {source}; expected the "
            "instructor's version there (nbgrader's source directory)"
        )
    found, refused = find_submissions(course, assignment)
    if not found and not refused:
        raise ValueError(
            f"assignment: no submissions of {assignment!r} in {course / 'submitted'}; expected "
            f"folders submitted/<student>/{assignment}/ (nbgrader collect {assignment}, or "
            "nbgrader zip_collect)"
        )


def env_cell_timeout() -> int | None:
    """``$LSTM_GRADING_CELL_TIMEOUT`` as a number of seconds, None if it is not set.

    nbgrader_config.py reads it with ``int()`` whenever nbgrader runs in the course (feedback,
    export): a value it cannot read would fail those for the whole class.
    """
    from .job import LIMIT_RULES

    text = os.environ.get(CELL_TIMEOUT_ENV)
    if text is None:
        return None
    rule = LIMIT_RULES["cell_timeout"]
    try:
        return int(rule.check(CELL_TIMEOUT_ENV, int(text)))
    except ValueError:
        raise ValueError(
            f"{CELL_TIMEOUT_ENV} (environment variable): got {text!r}; expected {rule.what}"
        ) from None


def check_limits(limits):
    """``limits`` or the default :class:`Limits` (each field was checked when it was made)."""
    from .job import Limits

    if limits is None:
        return Limits()
    if not isinstance(limits, Limits):
        raise ValueError(f"limits: got {limits!r}; expected a lstm_grading.sandbox.Limits")
    return limits


def check_sandbox_mode(sandbox_mode, modes=SANDBOX_MODES) -> None:
    if sandbox_mode not in modes:
        raise ValueError(
            f"sandbox_mode: got {sandbox_mode!r}; expected one of {', '.join(map(repr, modes))}"
        )


def check_run(course, assignment, jobs, limits, sandbox_mode, modes=SANDBOX_MODES):
    """Every argument of a grading run: ``(course, assignment, jobs, limits)``, checked.

    The arguments that need no file first, then the course, then what the course holds.
    """
    limits = check_limits(limits)
    env_cell_timeout()
    jobs = check_jobs(jobs)
    check_sandbox_mode(sandbox_mode, modes)
    assignment = check_assignment_id(assignment)
    course = check_course(course)
    check_gradable(course, assignment)
    return course, assignment, jobs, limits
