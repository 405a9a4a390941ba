"""Helpers to grade assignments end to end in a temporary copy of the course, with nbgrader itself.

Typical use (see tests/assignment_suite.py)::

    course = Course.copy_of_repo(tmp_path)        # nbgrader_config.py, solutions/, exercises/
    course.generate("ps01_activations")           # fills the gradebook from solutions/
    course.submit("alice", "ps01_activations", course.solution_notebook("ps01_activations"))
    result = course.autograde("ps01_activations")  # every submitted student, one nbgrader call
    course.scores("ps01_activations")              # {"alice": {"test_sigmoid": 3.0, ...}}

Every nbgrader command runs in a process of its own, from the course root, so it reads the
course's own nbgrader_config.py: by default a process forked from one that has imported nbgrader
already (``Course.nbgrader``), or, with ``Course(root, forked=False)``, ``python -m nbgrader``
started afresh, as an instructor types it (the grading benchmark times that).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
EXERCISES = REPO / "exercises"
# Seconds a cell may run before lstm_grading.kernel_guard stops it (nbgrader_config.py reads
# LSTM_GRADING_CELL_TIMEOUT). Ordinary submissions are graded with the course's own default
# (nbgrader_config.py: 60 s), so a busy machine never costs a correct cell its points. Only
# submissions that loop forever are graded, in a run of their own, with the short limit below:
# it is what each of their looping cells costs. Their other cells are ps01's checks, which take
# well under 0.1 s on a quiet machine, so even 10 s leaves a margin of about a hundred.
LOOP_CELL_TIMEOUT = 10
# jupyter_client picks a kernel's ports by binding port 0 and closing the socket, and the kernel
# binds them a moment later: any other process of the machine may take one in between
# (jupyter/jupyter_client#487). The kernel then cannot start ("Address already in use") and
# nbgrader fails that submission. lstm-autograde's kernels have a loopback of their own and never
# meet it; plain nbgrader, which the tests run beside hundreds of other kernels, rarely does. An
# autograde run that met it is run again, whole (as an instructor would), at most this many times:
# what the tests check is the grading, and the run that counts is one without the race.
PORT_RACE = "zmq.error.ZMQError: Address already in use"
PORT_RACE_RETRIES = 2
# Seconds any one nbgrader command may take before the test fails (a whole class's autograde
# on a busy machine takes a few minutes).
NBGRADER_TIMEOUT = 900

# An nbgrader command spends about 1.3 CPU-seconds importing nbgrader before it does anything
# (its package imports Jupyter Server for its server extensions), and the slow tier runs about
# fifty of them. Each one here is a fork of a process that has made those imports once
# (multiprocessing's fork server: one per test process, started at the first command, ended
# with it): nbgrader's own entry point, with the command's arguments, working folder and whole
# environment, in a process of its own, as `python -m nbgrader` runs it, less the imports.
FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(["nbgrader.apps.nbgraderapp"])


def _nbgrader_main(args: list[str], cwd: str, env: dict[str, str], log: str) -> None:
    """In a fork of the fork server: ``nbgrader *args`` in ``cwd`` with exactly ``env``,
    its output (fd 1 and 2) written to ``log``; exits with nbgrader's status."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # from the new TMPDIR, if any, not the fork server's
    fd = os.open(log, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.argv = [os.path.join(os.path.dirname(sys.executable), "nbgrader"), *args]
    from nbgrader.apps.nbgraderapp import main

    main()  # a failed command raises SystemExit with its status; multiprocessing exits with it


def run_forked(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``nbgrader *args`` forked from the fork server (see ``FORKS``), as ``subprocess.run``
    would report it: the status and the output (stdout and stderr together, as text)."""
    with tempfile.NamedTemporaryFile(prefix="nbgrader-", suffix=".log") as log:
        child = FORKS.Process(target=_nbgrader_main, args=(args, str(cwd), env, log.name))
        child.start()
        child.join(NBGRADER_TIMEOUT)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(["nbgrader", *args], NBGRADER_TIMEOUT)
        output = log.read().decode(errors="replace")
    return subprocess.CompletedProcess(["nbgrader", *args], child.exitcode, output)


def assignments() -> list[str]:
    """Every assignment id: the folders of solutions/ (ps01_activations, ...)."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and not p.name.startswith("."))


def notebooks(assignment: str) -> list[str]:
    """Notebook names (without .ipynb) of an assignment."""
    return sorted(p.stem for p in (SOLUTIONS / assignment).glob("*.ipynb"))


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def edit(nb: nbformat.NotebookNode, old: str, new: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` with ``old`` replaced by ``new`` in the one cell that contains it."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    hits = [cell for cell in nb.cells if old in cell.source]
    if len(hits) != 1 or hits[0].source.count(old) != 1:
        raise ValueError(
            f"{old!r} must occur exactly once in the notebook, found {len(hits)} cells"
        )
    hits[0].source = hits[0].source.replace(old, new)
    return nb


def delete_cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` without the cell whose nbgrader grade_id is ``grade_id``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    kept = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    if len(kept) != len(nb.cells) - 1:
        raise ValueError(f"no single cell with grade_id {grade_id!r}")
    nb.cells = kept
    return nb


@dataclass
class Course:
    """A course folder (a copy of the repository's grading files) and nbgrader run in it.

    ``forked``: run nbgrader's commands forked from the fork server (``FORKS``), or, if false,
    as new processes (``python -m nbgrader``).
    """

    root: Path
    forked: bool = True

    @classmethod
    def copy_of_repo(cls, dest: Path, forked: bool = True) -> Course:
        """Copy nbgrader_config.py, solutions/ and exercises/ into ``dest`` (nothing else)."""
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
        ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
        shutil.copytree(SOLUTIONS, dest / "solutions", ignore=ignore)
        shutil.copytree(EXERCISES, dest / "exercises", ignore=ignore)
        return cls(dest, forked)

    @classmethod
    def copy_of(cls, course: Path, dest: Path, forked: bool = True) -> Course:
        """A copy of the course folder ``course`` (gradebook, releases, submissions) at ``dest``."""
        shutil.copytree(course, dest)
        return cls(dest, forked)

    # -- running nbgrader --------------------------------------------------------------------
    def nbgrader(
        self, *args: str, check: bool = True, cell_timeout: int | None = None
    ) -> subprocess.CompletedProcess:
        """Run ``nbgrader *args`` from the course root; its log is in ``.stdout``.

        ``cell_timeout`` (seconds) overrides the course's per-cell limit for this run only.
        """
        env = dict(os.environ)
        # nbgrader runs `alembic` (its database migrations) from PATH: use this venv's.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        env.pop("LSTM_GRADING_CELL_TIMEOUT", None)
        if cell_timeout is not None:
            env["LSTM_GRADING_CELL_TIMEOUT"] = str(cell_timeout)
        env.pop("JUPYTER_CONFIG_DIR", None)
        # One BLAS thread per kernel: the notebooks multiply small matrices, and the tests run
        # nbgrader in two course copies at once on a 2-core machine (OpenBLAS's spinning
        # threads would fight over the cores).
        env["OPENBLAS_NUM_THREADS"] = "1"
        if self.forked:
            result = run_forked(list(args), self.root, env)
        else:
            result = subprocess.run(
                [sys.executable, "-m", "nbgrader", *args],
                cwd=self.root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=NBGRADER_TIMEOUT,
            )
        if check and result.returncode != 0:
            raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{result.stdout[-5000:]}")
        return result

    def generate(self, assignment: str) -> None:
        """``nbgrader generate_assignment``: exercises/<id>/ from solutions/<id>/, + gradebook."""
        self.nbgrader("generate_assignment", assignment, "--force")

    def autograde(
        self,
        assignment: str,
        *,
        only: str | None = None,
        exclude: tuple[str, ...] = (),
        cell_timeout: int | None = None,
    ) -> subprocess.CompletedProcess:
        """Autograde submissions of ``assignment`` in one nbgrader call (may fail: see rc).

        Every submitted student by default; ``only`` one student; ``exclude`` leaves students out.
        A run in which a kernel lost its port to another process is run again (``PORT_RACE``).
        """
        args = ["autograde", assignment, "--force"]
        if only is not None:
            args.append(f"--student={only}")
        if exclude:
            args.append(f"--CourseDirectory.student_id_exclude={','.join(exclude)}")
        for _ in range(PORT_RACE_RETRIES + 1):
            result = self.nbgrader(*args, check=False, cell_timeout=cell_timeout)
            if PORT_RACE not in result.stdout:
                break
        return result

    def generate_feedback(self, assignment: str) -> subprocess.CompletedProcess:
        return self.nbgrader("generate_feedback", assignment, "--force", check=False)

    def export_csv(self) -> list[dict[str, str]]:
        """``nbgrader export`` to grades.csv, read back as one dict per (assignment, student)."""
        self.nbgrader("export", "--to", "grades.csv")
        with open(self.root / "grades.csv", newline="") as f:
            return list(csv.DictReader(f))

    # -- files -------------------------------------------------------------------------------
    def solution_notebook(self, assignment: str, notebook: str | None = None):
        notebook = notebook or assignment
        return read_notebook(self.root / "solutions" / assignment / f"{notebook}.ipynb")

    def release_notebook(self, assignment: str, notebook: str | None = None):
        notebook = notebook or assignment
        return read_notebook(self.root / "exercises" / assignment / f"{notebook}.ipynb")

    def submit(self, student: str, assignment: str, nb, notebook: str | None = None) -> Path:
        """Place a submission as nbgrader collects it: submitted/<student>/<assignment>/.

        ``nb`` is a notebook node or, to submit a broken file, the raw text to write.
        """
        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{notebook or assignment}.ipynb"
        if isinstance(nb, str):
            path.write_text(nb)
        else:
            nbformat.write(nb, path)
        (folder / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC")
        return path

    def feedback_html(self, student: str, assignment: str, notebook: str | None = None) -> str:
        path = self.root / "feedback" / student / assignment / f"{notebook or assignment}.html"
        return path.read_text()

    def autograded_notebook(self, student: str, assignment: str, notebook: str | None = None):
        path = self.root / "autograded" / student / assignment / f"{notebook or assignment}.ipynb"
        return read_notebook(path)

    # -- the gradebook -----------------------------------------------------------------------
    def scores(self, assignment: str) -> dict[str, dict[str, float | None]]:
        """Autograded points per student and grade cell, read from gradebook.db.

        A student whose autograding failed has ``None`` for every cell (nbgrader creates the
        grade rows before it runs the notebook and never fills them).
        """
        query = """
            SELECT submitted_assignment.student_id, base_cell.name, grade.auto_score
            FROM grade
            JOIN base_cell ON grade.cell_id = base_cell.id
            JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id
            JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id
            JOIN assignment ON submitted_assignment.assignment_id = assignment.id
            WHERE assignment.name = ?
        """
        con = sqlite3.connect(self.root / "gradebook.db")
        try:
            rows = con.execute(query, (assignment,)).fetchall()
        finally:
            con.close()
        out: dict[str, dict[str, float | None]] = {}
        for student, cell, score in rows:
            assert cell not in out.setdefault(student, {}), f"grade_id {cell!r} is not unique"
            out[student][cell] = score
        return out

    def submissions_in_gradebook(self) -> int:
        """How many submissions (student and assignment) gradebook.db records."""
        con = sqlite3.connect(self.root / "gradebook.db")
        try:
            return con.execute("SELECT count(*) FROM submitted_assignment").fetchone()[0]
        finally:
            con.close()

    def total(self, assignment: str, student: str) -> float | None:
        """The student's autograded total, or None if grading that submission failed."""
        cells = self.scores(assignment)[student]
        if any(v is None for v in cells.values()):
            return None
        return sum(cells.values())
