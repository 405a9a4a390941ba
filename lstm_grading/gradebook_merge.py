"""The single writer of the course's gradebook: merge one job's results into the course."""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from . import safe_copy

# The rows a private gradebook may hold in the tables of one submission, given the course's
# counts: one student and one submitted assignment; a submitted notebook per notebook; a grade
# and a comment per cell at most. Every other table holds what the template took
# from the course's (``course_prep.make_template``), so at most the course's count.
PER_SUBMISSION = {
    "student": lambda counts: 1,
    "submitted_assignment": lambda counts: 1,
    "submitted_notebook": lambda counts: counts.get("notebook", 0),
    "grade": lambda counts: counts.get("base_cell", 0),
    "comment": lambda counts: counts.get("base_cell", 0),
}


@dataclass(frozen=True)
class Shape:
    """What a private gradebook must look like: the course gradebook's ``sqlite_master``
    entries (type, name, table, SQL), and the most rows each table may hold."""

    schema: frozenset
    most_rows: dict


def _read(gradebook: Path) -> tuple[frozenset, dict[str, int]]:
    """The ``sqlite_master`` entries of ``gradebook`` and each table's row count, read-only.

    Reading them runs nothing the file defines (no view, no trigger). Raises ``sqlite3.Error``
    for a file that is not an SQLite database.
    """
    from .course_prep import read_only

    con = read_only(gradebook)
    try:
        entries = frozenset(con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        tables = sorted(name for kind, name, _, _ in entries if kind == "table")
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        return entries, counts
    finally:
        con.close()


def shape(course_db: Path) -> Shape:
    """The :class:`Shape` a job's private gradebook must have, from the course's gradebook."""
    entries, counts = _read(course_db)
    most = {t: PER_SUBMISSION.get(t, lambda c, t=t: c[t])(counts) for t in counts}
    return Shape(entries, most)


def schema_problem(private_db: Path, expected: Shape) -> str:
    """What keeps a job's private gradebook from being merged, by its shape, or "".

    The private gradebook is a copy of the course's (``course_prep.make_template``) that the
    job's nbgrader filled with one submission's rows: its tables, indexes and their SQL are
    the course's, and its rows few. In reduced mode a student's code could replace it with any
    SQLite file: views or triggers would run when nbgrader's queries read it (a recursive view
    never returns), and hundreds of thousands of rows in the right tables make those queries
    take hours (each notebook's grades are read by a scan of the grade table). So it is
    compared with the course's (:func:`shape`) before anything opens it for queries.
    """
    try:
        found, counts = _read(private_db)
    except sqlite3.Error as exc:
        return f"is not an SQLite database ({exc})"
    if found != expected.schema:
        extra = sorted(f"{kind} {name}" for kind, name, _, _ in found - expected.schema)
        missing = sorted(f"{kind} {name}" for kind, name, _, _ in expected.schema - found)
        parts = [
            f"{what}: {safe_copy.shown(', '.join(names), 200)}"
            for what, names in (("not in the course's", extra), ("missing", missing))
            if names
        ]
        return "does not have the course's gradebook schema (" + "; ".join(parts) + ")"
    over = [
        f"{table} {n} (at most {expected.most_rows[table]})"
        for table, n in sorted(counts.items())
        if n > expected.most_rows.get(table, 0)
    ]
    if over:
        return "holds more rows than one submission makes: " + safe_copy.shown(", ".join(over), 200)
    return ""


def merge(gb, assignment: str, student: str, private_db: Path | None, timestamp) -> float | None:
    """Copy one student's autograded scores and comments into the course gradebook ``gb``.

    ``private_db`` None (or holding no scores) records a failed submission: empty scores,
    flagged for manual grading, as nbgrader leaves a submission whose autograding failed.
    The same fields nbgrader's ``SaveAutoGrades`` writes; manual grades are kept.
    Returns the autograded total, or None for a failure.
    """
    from nbgrader.api import Gradebook, MissingEntry

    priv_scores: dict = {}
    if private_db and private_db.exists():
        try:
            with Gradebook(f"sqlite:///{private_db}") as priv:
                try:
                    sub = priv.find_submission(assignment, student)
                except MissingEntry:
                    sub = None
                if sub is not None:
                    timestamp = sub.timestamp or timestamp
                    for nb in sub.notebooks:
                        priv_scores[nb.name] = (
                            nb.late_submission_penalty,
                            {g.name: g.auto_score for g in nb.grades},
                            {c.name: c.auto_comment for c in nb.comments},
                        )
        except Exception:  # a private gradebook the job broke: a failed submission
            priv_scores = {}
    failed = not priv_scores or any(
        v is None for _, grades, _ in priv_scores.values() for v in grades.values()
    )
    try:
        gb.find_student(student)
    except MissingEntry:
        gb.add_student(student)
    kwargs = {"timestamp": timestamp} if timestamp else {}
    # Without autoflush: nbgrader's add_submission builds the submission through backrefs,
    # which SQLAlchemy 2.0 warns about ("SubmittedAssignment not in session") when it flushes
    # half-way; the commit at the end of add_submission stores the same rows.
    with gb.db.no_autoflush:
        sub = gb.update_or_create_submission(assignment, student, **kwargs)
    total = 0.0
    for nb in sub.notebooks:
        penalty, grades, comments = priv_scores.get(nb.name, (None, {}, {}))
        nb.late_submission_penalty = None if failed else penalty
        for grade in nb.grades:
            grade.auto_score = None if failed else grades.get(grade.name)
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            total += grade.auto_score or 0.0
        for comment in nb.comments:
            comment.auto_comment = None if failed else comments.get(comment.name)
    gb.db.commit()
    return None if failed else total


HAND_GRADE_KEPT = "hand grade kept from an earlier grading"


def hand_grades_kept(gb, assignment: str, student: str) -> str:
    """The note for a submission graded again whose gradebook keeps what was given by hand, or
    "".

    nbgrader's rule, which :func:`merge` follows: a manual score outlives a new autograde, and
    flags its cell for review. The row's score is the autograded total, ``grades.csv`` the
    total with the hand scores (``needs grading``), so the row says which cells differ and what
    to do, as the table alone showed a full score and the CSV a lower one, without a word.
    Extra credit and a comment written by hand outlive it too, and nbgrader flags neither:
    ``grades.csv`` counts the extra credit (not ``needs grading``), the new feedback page shows
    both, written for the earlier notebook; the note names them as well.
    The note is the regrading run's: an unchanged row of a later run leaves it out, as the
    instructor may have reviewed the cell since.
    """
    from nbgrader.api import MissingEntry

    try:
        sub = gb.find_submission(assignment, student)
    except MissingEntry:
        return ""
    scores, others = [], []
    for nb in sub.notebooks:
        for g in nb.grades:
            if g.manual_score is not None:
                auto = "not autograded" if g.auto_score is None else f"autograded {g.auto_score:g}"
                scores.append(f"{g.name} {g.manual_score:g} of {g.max_score:g} ({auto})")
            if g.extra_credit:
                others.append(f"extra credit {g.extra_credit:g} on {g.name}")
        others += [f"a comment on {c.name}" for c in nb.comments if c.manual_comment]
    if not scores and not others:
        return ""
    if scores:
        then = "grades.csv counts it and says needs grading until you review it in the formgrader"
    else:
        then = (
            "grades.csv counts extra credit and the feedback shows both, but nothing is flagged "
            "for grading: check them in the formgrader"
        )
    return f"{HAND_GRADE_KEPT}: {', '.join(scores + others)}; {then}"


def max_score(course: Path, assignment: str) -> float | None:
    """The assignment's maximum score, or None if it is not in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            return gb.find_assignment(assignment).max_score
        except MissingEntry:
            return None


def install_autograded(
    src_fd: int, dest: Path, budget: int, first: tuple[str, ...] = ()
) -> list[str]:
    """Replace ``dest`` (autograded/<student>/<assignment>) with the folder ``src_fd``, files
    read-only; return notes on what was left out.

    ``src_fd`` is the job's autograded folder, opened once without following links
    (``parallel._Results``). In full mode the job's root wrote it and student code could not
    reach it; in reduced mode a process the student's code left running could still add to
    it. So it is copied as the job copied it: no link followed, within ``budget`` bytes (the
    job's own, ``Limits.return_mb``), the files named in ``first`` (the assignment's
    notebooks) first.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = incoming(dest)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(mode=0o700)
    tmp_fd = safe_copy.open_dir(str(tmp))
    try:
        report = safe_copy.copy_tree(src_fd, tmp_fd, safe_copy.CopyReport(budget), first=first)
    finally:
        os.close(tmp_fd)
    for folder, _, files in os.walk(tmp):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return report.notes()


def incoming(dest: Path) -> Path:
    """The folder :func:`install_autograded` fills before renaming it to ``dest``."""
    return dest.parent / f".{dest.name}.incoming"


def remove_autograded(dest: Path) -> None:
    """As nbgrader does for a failed submission: no autograded folder.

    Nor the folder an install killed part-way left (:func:`incoming`): only a later install
    would remove it, and a submission that fails from then on has none.
    """
    shutil.rmtree(dest, ignore_errors=True)
    shutil.rmtree(incoming(dest), ignore_errors=True)
