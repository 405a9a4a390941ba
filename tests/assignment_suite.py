"""The grading suite every problem set's test file builds on (tests/test_ps01_activations.py ...).

A problem set's file defines its one-bug submissions (edits of the solution notebook, each with
the grade cells it must lose) and a class::

    class TestGrading(GradedAssignment):
        assignment = "ps01_activations"
        submissions = SUBMISSIONS

which collects, for that set: fast checks of the committed notebooks (no outputs, no solutions
or hidden tests in the release, docstrings in grade cells, the edits still apply, the book's
points table); and, slow, nbgrader runs in temporary course copies (two side by side) that
grade the solution (full marks), the untouched release (zero) and every submission, asserting
each submission's exact score per grade cell, the feedback pages (offline, hidden tests
hidden, the reason shown), the reported failures and the CSV export.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from course import (
    EXERCISES,
    LOOP_CELL_TIMEOUT,
    REPO,
    SOLUTIONS,
    Course,
    delete_cell,
    edit,
    notebooks,
    read_notebook,
)

# Every problem set is tested with at least this many submissions that each carry one bug.
MIN_ONE_BUG_SUBMISSIONS = 15


def solution_namespace(notebook, *replace: tuple[str, str]) -> dict:
    """The globals of a solution ``notebook`` after its setup and solution cells (its code cells
    that are not grade cells), run in this process with the (old, new) edits ``replace`` of
    that code, each ``old`` found exactly once: the hidden checks' unit tests call its functions
    without a kernel."""
    return _run_code_cells(notebook, json.loads(notebook.read_text())["cells"], replace)


def _run_code_cells(notebook, cells: list[dict], replace) -> dict:
    """The globals after the setup and solution cells among ``cells`` (code cells that are not
    grade cells), run in this process with the (old, new) edits ``replace``, each ``old`` found
    exactly once in their code."""
    source = "\n\n".join(
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "code" and not c["metadata"]["nbgrader"]["grade"]
    )
    for old, new in replace:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    namespace: dict = {}
    exec(compile(source, str(notebook), "exec"), namespace)
    return namespace


def visible_failure(notebook, grade_id: str, *replace: tuple[str, str]) -> str | None:
    """The message of the first failing visible check of grade cell ``grade_id`` (its hidden
    tests left out), or None if they all pass: what a student sees under the cell after running
    the notebook down to it. Its setup and solution cells above it (not the demos below, which
    may run the edited code) run first in this process, with the edits ``replace`` as in
    :func:`solution_namespace`."""
    cells = json.loads(notebook.read_text())["cells"]
    (at,) = [
        n for n, c in enumerate(cells) if c["metadata"]["nbgrader"].get("grade_id") == grade_id
    ]
    namespace = _run_code_cells(notebook, cells[:at], replace)
    test = "".join(cells[at]["source"]).split("### BEGIN HIDDEN TESTS")[0]
    try:
        exec(compile(test, grade_id, "exec"), namespace)
    except AssertionError as err:
        return str(err)
    return None


@dataclass(frozen=True)
class Submission:
    """A student's submission, written as edits of the solution notebook, and its expected grade.

    ``edits`` are (old, new) text replacements, each ``old`` found exactly once in the notebook
    (the solution, or the student notebook if ``released``);
    ``delete`` removes the cell with that grade_id; ``raw`` replaces the whole file with text.
    ``broken`` lists the grade cells that must score 0 (all others must get full points), and
    ``reason`` a phrase the feedback page must show. ``fails``: autograding this submission
    cannot work (nbgrader reports it and grades the other students). ``loops``: the submission
    runs forever somewhere, so it is graded in a course copy of its own, beside the rest of the
    class, with a short cell timeout (course.LOOP_CELL_TIMEOUT) while everyone else gets the
    course's generous default.
    ``hostile``: an attack on the grader rather than a bug (not counted as a one-bug submission).
    ``files``: (path, text) pairs submitted beside the notebook.
    """

    student: str
    description: str
    edits: tuple[tuple[str, str], ...] = ()
    delete: str | None = None
    raw: str | None = None
    broken: tuple[str, ...] = ()
    reason: str | None = None
    fails: bool = False
    released: bool = False
    hostile: bool = False
    loops: bool = False
    files: tuple[tuple[str, str], ...] = ()

    def notebook(self, course: Course, assignment: str):
        if self.raw is not None:
            return self.raw
        if self.released:
            nb = course.release_notebook(assignment)
        else:
            nb = course.solution_notebook(assignment)
        for old, new in self.edits:
            nb = edit(nb, old, new)
        return delete_cell(nb, self.delete) if self.delete else nb


def max_points(assignment: str) -> dict[str, float]:
    """Points of every grade cell, in notebook order, from the solutions' nbgrader metadata."""
    points = {}
    for name in notebooks(assignment):
        for cell in read_notebook(SOLUTIONS / assignment / f"{name}.ipynb").cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                points[meta["grade_id"]] = float(meta["points"])
    return points


def expected_scores(assignment: str, case: Submission) -> dict[str, float]:
    return {cell: 0.0 if cell in case.broken else p for cell, p in max_points(assignment).items()}


def solution_and_release(assignment: str) -> list[Submission]:
    """The two submissions every assignment gets: the solution itself, the untouched release."""
    return [
        Submission("solution", "the instructor's solution"),
        Submission(
            "untouched",
            "the student notebook as released",
            broken=tuple(max_points(assignment)),
            reason="NotImplementedError",
            released=True,
        ),
    ]


def book_points(assignment: str) -> list[float]:
    """The points column of the problem set's page in the book, top to bottom."""
    page = REPO / "book" / "assignments" / f"{assignment.replace('_', '-')}.md"
    rows = [line for line in page.read_text().splitlines() if line.startswith("|")]
    return [float(row.strip("|").split("|")[-1]) for row in rows[2:]]


@dataclass
class GradedRun:
    """One assignment, every case submitted and autograded, feedback and CSV made.

    The class is graded in :data:`SHARDS` course copies at once (one nbgrader per core, each
    with its own gradebook), so ``courses`` maps every student to the copy that graded them.
    """

    release: dict[str, bytes]  # what nbgrader generated from solutions/, by file name
    courses: dict[str, Course]
    log: str
    returncode: int
    feedback_log: str
    csv: list[dict[str, str]]
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)


# nbgrader grades one submission at a time; in a serial run of the suite the class is split
# between two course copies graded side by side (the machine has 2 cores). Every copy is a
# complete course (its own gradebook, autograded/ and feedback/), so what each run proves is
# what one nbgrader run proves; only the wall clock changes. Under pytest-xdist (`make test`)
# the other worker keeps the second core busy, and a second copy would only add the fixed cost
# of three more nbgrader commands. Each looping submission gets a copy of its own besides, graded
# at the same time: its run is mostly waiting for its cell limits.
SHARDS = 1 if os.environ.get("PYTEST_XDIST_WORKER") else 2


def shares_of(cases: list[Submission], shards: int = SHARDS) -> list[list[Submission]]:
    """The course copies' shares of the class: the others split in ``shards``, each looping
    submission alone."""
    rest = [c for c in cases if not c.loops]
    return [rest[k::shards] for k in range(shards)] + [[c] for c in cases if c.loops]


def grade_shard(course: Course, assignment: str, cases: list[Submission]):
    """Submit, autograde, make feedback and export one course copy's share."""
    for case in cases:
        notebook = course.submit(case.student, assignment, case.notebook(course, assignment))
        for name, text in case.files:
            (notebook.parent / name).parent.mkdir(parents=True, exist_ok=True)
            (notebook.parent / name).write_text(text)
    # Everyone with the course's own cell timeout; each looping submission alone with a short
    # one (its loops cost that much per cell).
    loopers = tuple(c.student for c in cases if c.loops)
    results = [course.autograde(assignment, exclude=loopers)] if len(loopers) < len(cases) else []
    for student in loopers:
        results.append(course.autograde(assignment, only=student, cell_timeout=LOOP_CELL_TIMEOUT))
    feedback = course.generate_feedback(assignment)
    return results, feedback, course.export_csv(), course.scores(assignment)


def log_of_students(log: str, students: set[str], limit: int = 12_000) -> str:
    """What nbgrader logged for ``students`` (from the line that starts each one's grading to
    the next student's), so that an unexpected failure shows its own traceback, not the end of
    the class's log."""
    parts, current = [], None
    for line in log.splitlines():
        start = re.search(r"Creating/updating student with ID '(\S+)'", line)
        if start:
            current = start.group(1)
        if current in students:
            parts.append(line)
    return f"students {sorted(students)}:\n" + "\n".join(parts)[-limit:]


class GradedAssignment:
    """Tests of one problem set (subclass with ``assignment`` and ``submissions``)."""

    assignment: str
    submissions: list[Submission]

    @classmethod
    def cases(cls) -> list[Submission]:
        return solution_and_release(cls.assignment) + list(cls.submissions)

    def pytest_generate_tests(self, metafunc):
        if "case" in metafunc.fixturenames:
            cases = [
                c for c in self.cases() if not (c.fails and "nofail" in metafunc.function.__name__)
            ]
            metafunc.parametrize("case", cases, ids=[c.student for c in cases])

    @pytest.fixture(scope="class")
    @classmethod
    def graded(cls, tmp_path_factory) -> GradedRun:
        shares = shares_of(cls.cases())
        first = Course.copy_of_repo(tmp_path_factory.mktemp(cls.assignment))
        released = first.root / "exercises" / cls.assignment
        for path in released.iterdir():  # generate into an empty folder, not over the copy
            path.unlink()
        first.generate(cls.assignment)  # the release and the gradebook, copied to the others
        release = {path.name: path.read_bytes() for path in released.iterdir()}
        courses = [first] + [
            Course(shutil.copytree(first.root, tmp_path_factory.mktemp(cls.assignment) / "c"))
            for _ in range(len(shares) - 1)
        ]
        with ThreadPoolExecutor(len(shares)) as pool:  # each waits on its nbgrader processes
            done = list(pool.map(grade_shard, courses, [cls.assignment] * len(shares), shares))
        results = [r for runs, *_ in done for r in runs]
        scores = {}
        for *_, share_scores in done:
            assert not set(scores) & set(share_scores), "a student graded in two copies"
            scores.update(share_scores)
        return GradedRun(
            release,
            {
                case.student: course
                for course, share in zip(courses, shares, strict=True)
                for case in share
            },
            "".join(r.stdout for r in results),
            max(r.returncode for r in results),
            "".join(feedback.stdout for _, feedback, _, _ in done),
            [row for _, _, rows, _ in done for row in rows],
            scores,
        )

    # -- fast checks of the committed notebooks -----------------------------------------------
    def test_committed_notebooks_have_no_outputs(self):
        for folder in (SOLUTIONS, EXERCISES):
            found = sorted((folder / self.assignment).glob("*.ipynb"))
            assert found, f"no notebooks in {folder / self.assignment}"
            for path in found:
                for cell in read_notebook(path).cells:
                    if cell.cell_type == "code":
                        assert not cell.outputs and cell.execution_count is None, f"{path}: outputs"

    def test_exercises_hold_no_solutions_or_hidden_tests(self):
        for name in notebooks(self.assignment):
            text = (EXERCISES / self.assignment / f"{name}.ipynb").read_text()
            for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "lstm_grading"):
                assert marker not in text, f"{name}: {marker!r} in the student notebook"

    def test_grade_cells_say_what_they_check(self):
        for name in notebooks(self.assignment):
            for cell in read_notebook(SOLUTIONS / self.assignment / f"{name}.ipynb").cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("grade") and not meta.get("solution"):
                    assert cell.source.startswith('"""Checks '), f"{meta['grade_id']}: docstring"
                    assert meta["points"] > 0

    def test_book_points_table_matches_the_notebook(self):
        book, notebook = book_points(self.assignment), list(max_points(self.assignment).values())
        assert book == notebook, f"book page {book} != notebook {notebook}"

    def test_every_submission_edit_applies(self):
        """The edits still match the solution notebook (without running anything)."""
        course = Course(SOLUTIONS.parent)
        names = [c.student for c in self.cases()]
        assert len(names) == len(set(names)), "student names must be unique"
        for case in self.submissions:
            case.notebook(course, self.assignment)
            assert set(case.broken) <= set(max_points(self.assignment)), case.student

    def test_enough_one_bug_submissions(self):
        one_bug = [c for c in self.submissions if not (c.hostile or c.fails) and c.broken]
        assert len(one_bug) >= MIN_ONE_BUG_SUBMISSIONS, len(one_bug)

    # -- nbgrader end to end --------------------------------------------------------------------
    @pytest.mark.slow
    def test_exercises_are_what_nbgrader_generates(self, graded):
        """The committed exercises/ are what generate_assignment makes of solutions/ (the
        class's own release, generated into an empty folder, so a stale extra file shows)."""
        committed = sorted(p.name for p in (EXERCISES / self.assignment).iterdir())
        assert sorted(graded.release) == committed
        for name in committed:
            new, old = graded.release[name], (EXERCISES / self.assignment / name).read_bytes()
            if name.endswith(".ipynb"):
                assert json.loads(new) == json.loads(old), (
                    f"exercises/{self.assignment}/{name} is stale: run `make exercises`"
                )
            else:
                assert new == old, f"{name} is stale"

    @pytest.mark.slow
    def test_submission_gets_exactly_its_grade(self, graded, case):
        got = graded.scores[case.student]
        if case.fails:
            assert all(v is None for v in got.values()), f"{case.student}: {got}"
        else:
            assert got == expected_scores(self.assignment, case), case.description

    @pytest.mark.slow
    def test_failures_are_reported_and_spare_the_others(self, graded):
        failing = {c.student for c in self.cases() if c.fails}
        pattern = rf"error processing assignment '{self.assignment}' for student '(\S+)'"
        reported = set(re.findall(pattern, graded.log))
        assert reported == failing, log_of_students(graded.log, reported ^ failing)
        assert (graded.returncode != 0) == bool(failing)
        for student in failing:
            assert not (
                graded.courses[student].root / "autograded" / student / self.assignment
            ).exists()

    def tampered_cells(self) -> int:
        """How many locked cells the submissions edit: each is reported once, rightly."""
        course = Course(SOLUTIONS.parent)
        count = 0
        for case in self.submissions:
            if case.raw is not None or case.released:
                continue
            cells = course.solution_notebook(self.assignment).cells
            for old, _ in case.edits:
                hits = [c for c in cells if old in c.source]
                count += any(c.metadata.get("nbgrader", {}).get("locked") for c in hits)
        return count

    @pytest.mark.slow
    def test_log_is_clean(self, graded):
        """No checksum warning for test cells that only lack their hidden tests (only for
        test cells a submission edited), no SQLAlchemy warning, no kernel warning."""
        assert graded.log.count("has changed!") == self.tampered_cells(), graded.log[-3000:]
        for noise in ("SAWarning", "without encryption"):
            assert noise not in graded.log, noise

    @pytest.mark.slow
    def test_feedback_page_nofail(self, graded, case):
        # nbgrader's error records and tracebacks (student names such as rel_error_mean are fine)
        for failure in ("| ERROR]", "| CRITICAL]", "Traceback"):
            assert failure not in graded.feedback_log, graded.feedback_log[-3000:]
        for name in notebooks(self.assignment):
            page = graded.courses[case.student].feedback_html(case.student, self.assignment, name)
            tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page)
            assert not [t for t in tags if re.search(r"""(src|href)=["']?(https?:)?//""", t)]
            assert "mathjax.org" not in page and "cdnjs" not in page and "jsdelivr" not in page
            # MathJax from the book's vendored copy, relative to feedback/<student>/<assignment>/
            assert 'src="../../../book/_vendor/mathjax/tex-mml-chtml.js"' in page
            text = html.unescape(
                re.sub(r"<[^>]+>", "", re.sub(r"<style.*?</style>", "", page, flags=re.S))
            )
            # Neither the hidden block nor a traceback (whose context lines would quote it).
            for secret in ("HIDDEN TESTS", "lstm_grading", "most recent call"):
                assert secret not in text, f"{secret!r} in the feedback of {case.student}"
            total = sum(expected_scores(self.assignment, case).values())
            assert f"Score: {total} / {sum(max_points(self.assignment).values())}" in text
            if case.reason:
                assert case.reason in text, f"feedback of {case.student} does not say why"

    @pytest.mark.slow
    def test_csv_export(self, graded):
        rows = {r["student_id"]: r for r in graded.csv if r["assignment"] == self.assignment}
        assert set(rows) == {c.student for c in self.cases()}
        for case in self.cases():
            row = rows[case.student]
            assert float(row["max_score"]) == sum(max_points(self.assignment).values())
            if case.fails:
                assert row["status"] == "needs grading", row
            else:
                assert row["status"] == "graded", row
                assert float(row["score"]) == sum(expected_scores(self.assignment, case).values())
