"""The single writer of the course's gradebook: merge one job's results into the course."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import safe_copy


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


def max_score(course: Path, assignment: str) -> float | None:
    """The assignment's maximum score, or None if it is not in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            return gb.find_assignment(assignment).max_score
        except MissingEntry:
            return None


def install_autograded(out: Path, dest: Path, budget: int, first: tuple[str, ...] = ()) -> None:
    """Replace ``dest`` (autograded/<student>/<assignment>) with ``out``, files read-only.

    ``out`` is the job's autograded folder. In full mode the job's root wrote it and student
    code could not reach it; in reduced mode a process the student's code left running could
    still add to it. So it is copied as the job copied it: without following links, within
    ``budget`` bytes (the job's own, ``Limits.return_mb``), the files named in ``first`` (the
    assignment's notebooks) first.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.incoming"
    shutil.rmtree(tmp, ignore_errors=True)
    safe_copy.copy_path_tree(str(out), str(tmp), budget=budget, first=first)
    for folder, _, files in os.walk(tmp):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


def remove_autograded(dest: Path) -> None:
    """As nbgrader does for a failed submission: no autograded folder."""
    shutil.rmtree(dest, ignore_errors=True)
