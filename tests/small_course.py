"""A course of one small assignment, graded without a kernel: what the merge tests build on.

``ps01`` has one notebook with one grade cell of 10 points; a "graded" job is a results
folder made by hand, as a job that gave the student 7 of them would leave it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

NB = "ps01.ipynb"
NO_CELLS = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def make_course(root: Path, empty_gradebook, notebook: str) -> Path:
    """The course at ``root``: ``notebook`` (text) as source and release, and its gradebook
    (made by the ``empty_gradebook`` fixture of tests/conftest.py)."""
    from nbgrader.api import Gradebook

    for folder in ("solutions", "exercises"):
        (root / folder / "ps01").mkdir(parents=True)
        (root / folder / "ps01" / NB).write_text(notebook)
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    with Gradebook(f"sqlite:///{empty_gradebook(root / 'gradebook.db')}") as gb:
        gb.add_assignment("ps01")
        gb.add_notebook("ps01", "ps01")
        gb.add_grade_cell("test_f", "ps01", "ps01", max_score=10, cell_type="code")
    return root


def graded_result(
    course: Path, out: Path, student: str, autograded: str, log: str | None = None
) -> dict:
    """What a job that graded ``student`` 7/10 returns, its results folder ``out`` holding
    ``autograded`` as the notebook, the private gradebook and, if given, ``log`` as
    nbgrader's log."""
    from nbgrader.api import Gradebook

    (out / "autograded").mkdir(parents=True)
    (out / "autograded" / NB).write_text(autograded)
    shutil.copy(course / "gradebook.db", out / "gradebook.db")
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        gb.update_or_create_student(student)
        with gb.db.no_autoflush:
            sub = gb.update_or_create_submission("ps01", student)
        for nb in sub.notebooks:
            for grade in nb.grades:
                grade.auto_score = 7.0
        gb.db.commit()
    if log is not None:
        (out / "nbgrader.log").write_text(log)
    return {"exit_code": 0, "error": None, "out": str(out), "seconds": 1.0}


def merged_by_a_run(tmp_path: Path, empty_gradebook, student: str = "bob"):
    """A course at ``tmp_path / "course"`` (:data:`NO_CELLS` as the notebook) in which a run
    planned ``student``'s submission and merged a job that graded it 7/10; no feedback yet.

    Returns ``(course, run, manifest, outcomes)``, as :func:`lstm_grading.parallel._plan`
    and ``_merge_result`` left them.
    """
    from lstm_grading import parallel
    from lstm_grading.job import Limits

    course = make_course(tmp_path / "course", empty_gradebook, NO_CELLS)
    (course / "submitted" / student / "ps01").mkdir(parents=True)
    (course / "submitted" / student / "ps01" / NB).write_text(NO_CELLS)
    run, manifest, submissions, _, todo = parallel._plan(course, "ps01", Limits(), False, "")
    result = graded_result(course, tmp_path / "out", student, NO_CELLS)
    outcome = parallel._merge_result(
        run, manifest, student, todo[student], result, submissions[student]
    )
    return course, run, manifest, {student: outcome}
