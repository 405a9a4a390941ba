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
import importlib.util
import json
import math
import numbers
import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from .course_prep import GLOB_CHARACTERS, read_only
from .safe_copy import shown

DAY = 86_400  # seconds
MIB_PER_TIB = 1 << 20
PID_MAX_LIMIT = 1 << 22  # Linux's largest pid_max: RLIMIT_NPROC above it means nothing
PORTS = range(1, 65536)
WORKERS_PER_CORE = 4  # beyond that, more worker processes only compete for memory
SANDBOX_MODES = (None, "full", "reduced")
CELL_TIMEOUT_ENV = "LSTM_GRADING_CELL_TIMEOUT"
UID_BASE_ENV = "LSTM_GRADING_UID_BASE"
DEFAULT_UID_BASE = 1_999_000_000
COURSE = "an nbgrader course folder (the one holding nbgrader_config.py)"
# What lstm-core[grader] installs (pyproject.toml) and lstm_grading imports: each distribution
# with the module it provides. NumPy comes with lstm-core itself.
GRADER_PACKAGES = {
    "nbgrader": "nbgrader",
    "sqlalchemy": "sqlalchemy",
    "ipykernel": "ipykernel",
    "ipython": "IPython",
    "jupyter_client": "jupyter_client",
    "nbclient": "nbclient",
    "nbconvert": "nbconvert",
    "beautifulsoup4": "bs4",
    "nbformat": "nbformat",
    "pyzmq": "zmq",
    "psutil": "psutil",
}


def require_grader() -> None:
    """``ValueError`` naming the grader's packages that are not installed, and how to install
    them (the ``grader`` extra): lstm-core alone installs only NumPy."""
    missing = [d for d, mod in GRADER_PACKAGES.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise ValueError(
            f"the grader's {'package' if len(missing) == 1 else 'packages'} "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed here "
            "(lstm-core alone installs NumPy only); in the course's checkout: pip install -e "
            '".[grader]"'
        )


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


class Parser(argparse.ArgumentParser):
    """argparse's parser, but a bad command line is one line, as every other bad input is:
    ``PROG: --jobs/-j: got '9'; expected ...; see PROG --help``, exit status 2."""

    def error(self, message: str):
        message = message.removeprefix("argument ")
        self.exit(2, f"{self.prog}: {message}; see {self.prog} --help\n")


def choice(*options: str):
    """An ``argparse`` type: one of ``options``, else an error naming them (argparse's own
    ``choices`` says "invalid choice", not what is expected)."""

    def parse(text: str) -> str:
        if text not in options:
            listed = " or ".join(", ".join(map(repr, options)).rsplit(", ", 1))
            raise argparse.ArgumentTypeError(f"got {text!r}; expected {listed}")
        return text

    return parse


def path_option(text: str) -> Path:
    """An ``argparse`` type for a path: an empty one is an error (``Path("")`` is the cwd)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a path")
    return Path(text)


def cwd() -> Path:
    """The current folder, the default course: ``.`` if it was deleted (the check says so)."""
    try:
        return Path.cwd()
    except OSError:
        return Path(".")


def look(argument: str, path, expected: str) -> os.stat_result | None:
    """``os.stat(path)``, or None if nothing is there (nor a folder on the way).

    A path that cannot be looked at (a loop of symbolic links, a name too long, a folder without
    permission, a NUL byte, a name that is not text) is a ``ValueError`` naming ``argument``.
    """
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        why = exc.strerror or str(exc)
    except ValueError as exc:  # an embedded NUL; UnicodeEncodeError: a lone surrogate
        why = f"not a file name: {exc}"
    raise ValueError(
        f"{argument}: got '{shown(path)}', which cannot be used ({why}); expected {expected}"
    )


def resolved(argument: str, path, expected: str) -> Path:
    """``Path(path).resolve()``, or a ``ValueError`` naming ``argument`` (a loop of symbolic
    links, a relative path in a current folder that was deleted)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
    raise ValueError(
        f"{argument}: got '{shown(path)}', which cannot be resolved ({why}); expected {expected}"
    )


def max_workers() -> int:
    """The most local worker processes a run may start (``jobs``, ``--cluster local:N``)."""
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def jobs_rule() -> Rule:
    n = max_workers()
    what = f"a whole number of worker processes from 1 to {n} ({WORKERS_PER_CORE} per core here)"
    return Rule(1, n, what)


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
    found = look("course", course, COURSE)
    if found is None:
        raise ValueError(f"course: got '{shown(course)}', which does not exist; expected {COURSE}")
    if not stat.S_ISDIR(found.st_mode):
        raise ValueError(f"course: got '{shown(course)}', which is not a folder; expected {COURSE}")
    path = resolved("course", course, COURSE)
    if any(c in str(path) for c in GLOB_CHARACTERS):
        # nbgrader globs for the autograded notebooks under its root and appends the root to
        # "sqlite:///" as its gradebook's URL: neither finds a folder named "course[1]" or "c?"
        raise ValueError(
            f"course: got '{shown(course)}', whose path contains [, ], * or ?, which nbgrader "
            f"reads as a pattern or a URL's query: nbgrader cannot grade there; expected {COURSE} "
            "on a path without them (rename or move it)"
        )
    config = look("course", path / "nbgrader_config.py", COURSE)
    if config is None or not stat.S_ISREG(config.st_mode):
        raise ValueError(
            f"course: got '{shown(course)}', which has no nbgrader_config.py; expected {COURSE}"
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
    """The assignment names of an nbgrader ``gradebook.db``, read without writing it (but for
    the rollback of a transaction a killed writer left half done: ``course_prep.read_only``)."""
    expected = "the gradebook.db nbgrader generate_assignment writes (make exercises)"
    found = look(argument, gradebook, expected)
    if found is None or not stat.S_ISREG(found.st_mode):
        raise ValueError(f"{argument}: {shown(gradebook)} does not exist; expected {expected}")
    try:
        con = read_only(resolved(argument, gradebook, expected))
        try:
            rows = con.execute("SELECT name FROM assignment").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise ValueError(
            f"{argument}: {shown(gradebook)} is not an nbgrader gradebook ({exc}); expected the "
            "gradebook.db nbgrader writes"
        ) from None
    return sorted(str(name) for (name,) in rows)


def check_in_gradebook(gradebook: Path, assignment: str, argument: str = "course") -> None:
    """``ValueError`` naming the gradebook's assignments if ``assignment`` is not one."""
    names = gradebook_assignments(gradebook, argument)
    if assignment not in names:
        raise ValueError(
            f"assignment: no assignment {assignment!r} in {shown(gradebook)}; it has "
            f"{', '.join(repr(n) for n in names) or 'none'} (nbgrader generate_assignment adds "
            "one: make exercises)"
        )


def check_gradable(course: Path, assignment: str) -> None:
    """The assignment is in the gradebook, has its source folder and has submissions."""
    from .course_prep import find_submissions

    check_in_gradebook(course / "gradebook.db", assignment)
    source = course / "solutions" / assignment
    expected = "the instructor's version there (nbgrader's source directory)"
    folder = look("assignment", source, expected)
    if folder is None or not stat.S_ISDIR(folder.st_mode) or source.is_symlink():
        raise ValueError(
            f"assignment: {assignment!r} has no source folder {shown(source)}; expected {expected}"
        )
    check_current(course, assignment)
    found, refused = find_submissions(course, assignment)
    if not found and not refused:
        raise ValueError(
            f"assignment: no submissions of {assignment!r} in {shown(course / 'submitted')}; "
            f"expected folders submitted/<student>/{assignment}/ (nbgrader collect "
            f"{assignment}, or nbgrader zip_collect)"
        )


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _points(meta: dict) -> float | None:
    try:
        return float(meta.get("points") or 0)
    except (TypeError, ValueError):
        return None


def stale_cells(course: Path, assignment: str) -> list[str]:
    """What differs between the assignment's source notebooks and the gradebook's record of
    them, for the cells autograding takes from the gradebook: the locked cells (test cells with
    their hidden tests, read-only code) and the grade cells' points. Empty if they match."""
    con = read_only(course / "gradebook.db")
    try:
        rows = con.execute(
            "SELECT n.name, s.name, s.locked, s.source FROM source_cell s "
            "JOIN notebook n ON s.notebook_id = n.id JOIN assignment a ON n.assignment_id = a.id "
            "WHERE a.name = ?",
            (assignment,),
        ).fetchall()
        points = con.execute(
            "SELECT n.name, b.name, g.max_score FROM grade_cells g JOIN base_cell b ON g.id = b.id "
            "JOIN notebook n ON b.notebook_id = n.id JOIN assignment a ON n.assignment_id = a.id "
            "WHERE a.name = ?",
            (assignment,),
        ).fetchall()
        notebooks = {
            name
            for (name,) in con.execute(
                "SELECT n.name FROM notebook n JOIN assignment a ON n.assignment_id = a.id "
                "WHERE a.name = ?",
                (assignment,),
            )
        }
    finally:
        con.close()
    # Cells as nbgrader generate_assignment records them: every cell with nbgrader's metadata
    # (a notebook without any has nothing autograding could take from the gradebook).
    recorded: dict[str, dict[str, str]] = {}
    for notebook, name, locked, source in rows:
        recorded.setdefault(notebook, {})
        if locked:
            recorded[notebook][name] = source or ""
    max_scores = {(nb, name): float(score or 0) for nb, name, score in points}
    folder = course / "solutions" / assignment
    on_disk = sorted(p.stem for p in folder.glob("*.ipynb"))
    changes = [f"notebook {n}.ipynb is not in the gradebook" for n in on_disk if n not in notebooks]
    for notebook, locked in sorted(recorded.items()):
        path = folder / f"{notebook}.ipynb"
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError, TypeError):
            changes.append(f"{notebook}.ipynb cannot be read as a notebook")
            continue
        seen = set()
        for cell in cells if isinstance(cells, list) else []:
            meta = cell.get("metadata") if isinstance(cell, dict) else None
            meta = meta.get("nbgrader") if isinstance(meta, dict) else None
            name = meta.get("grade_id") if isinstance(meta, dict) else None
            if not isinstance(name, str):
                continue
            if meta.get("locked") and not meta.get("solution"):
                seen.add(name)
                if name not in locked:
                    changes.append(f"cell {name} of {notebook}.ipynb is new")
                elif _cell_source(cell) != locked[name]:
                    changes.append(f"cell {name} of {notebook}.ipynb was edited")
            if meta.get("grade") and (notebook, name) in max_scores:
                if _points(meta) != max_scores[(notebook, name)]:
                    changes.append(f"the points of cell {name} of {notebook}.ipynb changed")
        changes += [
            f"cell {name} of {notebook}.ipynb was deleted" for name in sorted(set(locked) - seen)
        ]
    return changes


def check_current(course: Path, assignment: str) -> None:
    """``ValueError`` if the assignment's source changed since ``nbgrader generate_assignment``
    recorded it in the gradebook: autograding puts the gradebook's test cells back into every
    submission, so a run would grade with the tests as they were, not as the source has them
    (found editing a hidden test of ps01 and grading again: nothing changed)."""
    try:
        changes = stale_cells(course, assignment)
    except sqlite3.Error as exc:
        raise ValueError(
            f"course: {shown(course / 'gradebook.db')} cannot be read ({exc}); expected the "
            "gradebook.db nbgrader writes"
        ) from None
    if changes:
        more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
        raise ValueError(
            f"assignment: solutions/{assignment}/ differs from the gradebook's record of it "
            f"({'; '.join(changes[:3])}{more}); expected them to match, or the tests that grade "
            f"are the old ones: run nbgrader generate_assignment {assignment} --force (or make "
            "exercises) first, and commit the regenerated exercises/"
        )


def env_number(name: str, rule: Rule) -> int | None:
    """The environment variable ``name`` as a whole number that ``rule`` accepts, None if it is
    not set; ``ValueError`` naming the variable, what it holds and the range, if it is not one.

    Read when it is used, not when a module is imported: a bad value is then this one message,
    and ``--help`` still works.
    """
    text = os.environ.get(name)
    if text is None:
        return None
    try:
        return int(rule.check(name, int(text)))
    except ValueError:
        raise ValueError(
            f"{name} (environment variable): got {text!r}; expected {rule.what}"
        ) from None


def env_cell_timeout() -> int | None:
    """``$LSTM_GRADING_CELL_TIMEOUT`` as a number of seconds, None if it is not set.

    nbgrader_config.py reads it with ``int()`` whenever nbgrader runs in the course (feedback,
    export): a value it cannot read would fail those for the whole class.
    """
    from .job import LIMIT_RULES

    return env_number(CELL_TIMEOUT_ENV, LIMIT_RULES["cell_timeout"])


# The kernels' uids are the base + a worker's pid: above the 16-bit range of the system's and
# the login users' uids (and nobody, 65534), and below 2**32 - 1 (uid_t's "no uid") with every
# pid added.
UID_BASE_RULE = Rule(
    1 << 16,
    (1 << 32) - 2 - PID_MAX_LIMIT,
    f"a whole number from {1 << 16} to {(1 << 32) - 2 - PID_MAX_LIMIT} (the first of the "
    f"kernels' uids, to which a pid up to {PID_MAX_LIMIT} is added; default {DEFAULT_UID_BASE})",
)


def env_uid_base() -> int:
    """``$LSTM_GRADING_UID_BASE``, the first of the sandboxed kernels' uids (+ a worker's pid)."""
    base = env_number(UID_BASE_ENV, UID_BASE_RULE)
    return DEFAULT_UID_BASE if base is None else base


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

    The grader's packages first (:func:`require_grader`), then the arguments that need no
    file, then the course, then what the course holds.
    """
    require_grader()
    limits = check_limits(limits)
    env_cell_timeout()
    env_uid_base()
    jobs = check_jobs(jobs)
    check_sandbox_mode(sandbox_mode, modes)
    assignment = check_assignment_id(assignment)
    course = check_course(course)
    check_gradable(course, assignment)
    return course, assignment, jobs, limits
