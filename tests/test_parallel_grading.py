"""The parallel grader end to end (lstm_grading.parallel), in temporary copies of the course.

One batch holds the ordinary submissions of tests/grading_corpus.py, every attack of the
hostile corpus (tests/hostile/*.json) and a "victim" whose notebook carries a secret. Checked:
each attack is contained and reported as its spec expects; every ordinary submission gets,
cell by cell, exactly the score plain sequential ``nbgrader autograde`` gives it alone; the
course (other submissions, the gradebook) is intact and the secret appears nowhere else;
the export marks failures "needs grading". Further: a re-run regrades only what changed or
failed, and the reduced (unsandboxed) mode still grades with timeouts, and grades the class
when a student's code replaces its own job's log by a FIFO.

The limits are short enough that the looping attacks cost little (each looping cell waits out
the cell limit, the unkillable loop the notebook limit) and long enough that no ordinary cell
comes near them on a busy machine: ps01's checks take well under 0.1 s each, a whole job about
2 s on a quiet machine.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import grading_corpus as corpus
import pytest
from assignment_suite import max_points
from course import Course

from lstm_grading import linux
from lstm_grading.job import local_reduced_gaps, user_name
from lstm_grading.parallel import grade_assignment
from lstm_grading.sandbox import Limits

pytestmark = pytest.mark.slow
A = corpus.ASSIGNMENT
LIMITS = Limits(cell_timeout=10, notebook_timeout=60)
SECRET = "VICTIM-SECRET-4242"
FULL = linux.probe()[0] == "full"
needs_sandbox = pytest.mark.skipif(not FULL, reason="the full sandbox needs Linux and root")
# ps01's points per grade cell and its full marks, from the solution's nbgrader metadata.
POINTS = max_points(A)
FULL_MARKS = sum(POINTS.values())


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def batch(ps01_course, tmp_path_factory):
    """Ordinary + hostile + victim submissions, graded in one parallel run.

    In a folder whose name holds "#" and "%", which a ``file:`` URI built from the path
    would misread, and a space.
    """
    folder = tmp_path_factory.mktemp("batch") / "course #1 %41"
    course = Course.copy_of(ps01_course, folder)
    for name in corpus.ORDINARY:
        course.submit(name, A, corpus.ordinary(course.root, name))
    specs = corpus.hostile_specs() if FULL else {}
    for name, spec in specs.items():
        corpus.submit_hostile(course, f"h_{name}", spec)
    victim = corpus.student_notebook(course.root, append={"sigmoid": f"# {SECRET}\n"})
    course.submit("victim", A, victim)
    before = tree_digest(course.root / "submitted")
    summary = grade_assignment(course.root, A, jobs=2, limits=LIMITS, progress=False)
    return course, summary, before, specs


def outcome(summary, student) -> dict:
    (row,) = [r for r in summary["students"] if r["student"] == student]
    return row


def test_ordinary_submissions_get_exactly_their_grade_alone(batch, ps01_alone):
    course, summary, _, _ = batch
    scores = course.scores(A)
    for name in corpus.ORDINARY:
        assert scores[name] == ps01_alone[name], name
        assert outcome(summary, name)["status"] == "graded"
    assert scores["victim"] == ps01_alone["correct"]


@needs_sandbox
@pytest.mark.parametrize("name", sorted(corpus.hostile_specs()))
def test_hostile_submission_is_contained_and_reported(batch, name):
    course, summary, _, specs = batch
    expect = specs[name]["expect"]
    row = outcome(summary, f"h_{name}")
    assert row["status"] == expect["status"], row
    if "score" in expect:
        assert row["score"] == expect["score"], row
        assert course.total(A, f"h_{name}") == expect["score"]
    if expect["status"] == "failed":
        assert course.total(A, f"h_{name}") is None  # in the gradebook: needs grading
        assert not (course.root / "autograded" / f"h_{name}" / A).exists()
    for key, column in [
        ("reason", "reason"),
        ("note", "notes"),
        ("cell", "cell"),
        ("flag", "flags"),
    ]:
        if key in expect:
            assert expect[key] in row[column], row
    if "output" in expect or "output_lacks" in expect:
        text = corpus.outputs_text(course.autograded_notebook(f"h_{name}", A))
        assert expect.get("output", "") in text
        if "output_lacks" in expect:
            assert expect["output_lacks"] not in text
    assert (course.root / "reports" / A / "logs" / f"h_{name}.log").exists()
    if "csv_cell" in expect:  # what a spreadsheet opening summary.csv shows as text
        with open(course.root / "reports" / A / "summary.csv", newline="") as f:
            (line,) = [r for r in csv.DictReader(f) if r["student"] == f"h_{name}"]
        assert line["cell"].startswith(expect["csv_cell"]), line


def test_course_is_intact_and_secrets_stay_private(batch):
    course, summary, before, _ = batch
    assert tree_digest(course.root / "submitted") == before
    con = sqlite3.connect(course.root / "gradebook.db")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (students,) = con.execute("SELECT count(*) FROM submitted_assignment").fetchone()
    finally:
        con.close()
    assert students == len(summary["students"])
    for folder in ("autograded", "feedback"):
        for path in (course.root / folder).rglob("*"):
            if path.is_file() and "victim" not in path.parts:
                assert SECRET not in path.read_text(errors="replace"), path


def test_summary_files_and_export(batch):
    course, summary, _, _ = batch
    reports = course.root / "reports" / A
    with open(reports / "summary.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == {r["student"] for r in summary["students"]}
    assert summary["graded"] + summary["failed"] == len(rows)
    with open(course.root / "grades.csv", newline="") as f:
        status = {r["student_id"]: r["status"] for r in csv.DictReader(f)}
    for student, row in rows.items():
        assert status[student] == ("graded" if row["status"] == "graded" else "needs grading")
    html = course.feedback_html("correct", A)
    assert "check_activation" not in html  # hidden tests stay hidden in the feedback


@needs_sandbox
def test_summary_says_the_sandbox_was_full(batch):
    _, summary, _, _ = batch
    assert summary["sandbox"] == "full"
    assert {r["sandbox"] for r in summary["students"]} == {""}  # nothing uncontained to name


def test_rerun_regrades_only_changed_or_failed(ps01_course, tmp_path):
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("alice", A, corpus.ordinary(course.root, "correct"))
    course.submit("bob", A, corpus.ordinary(course.root, "naive_sigmoid"))
    course.submit("carol", A, "not a notebook")
    run = lambda: grade_assignment(  # noqa: E731
        course.root, A, limits=LIMITS, progress=False, feedback=False, export=False
    )
    first = run()
    assert (first["graded"], first["failed"], first["unchanged"]) == (2, 1, 0)
    second = run()
    assert (second["graded"], second["failed"], second["unchanged"]) == (0, 1, 2)
    course.submit("bob", A, corpus.ordinary(course.root, "correct"))
    third = run()
    assert (third["graded"], third["failed"], third["unchanged"]) == (1, 1, 1)
    assert course.total(A, "bob") == FULL_MARKS
    assert course.total(A, "alice") == FULL_MARKS


def test_feedback_skipped_once_is_written_by_the_next_run(ps01_course, tmp_path):
    """``--no-feedback`` (or a deleted ``feedback/``) once: the next run writes the missing
    pages of unchanged students, without regrading them; pages that exist are left alone."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("alice", A, corpus.ordinary(course.root, "correct"))
    course.submit("bob", A, corpus.ordinary(course.root, "naive_sigmoid"))
    run = lambda **kw: grade_assignment(  # noqa: E731
        course.root, A, limits=LIMITS, progress=False, export=False, **kw
    )
    page = lambda student: course.root / "feedback" / student / A / f"{A}.html"  # noqa: E731
    first = run(feedback=False)
    assert first["graded"] == 2 and not page("alice").exists() and not page("bob").exists()
    second = run()
    assert (second["graded"], second["unchanged"], second["feedback_failed"]) == (0, 2, 0)
    assert page("alice").is_file() and page("bob").is_file()
    kept = page("alice").stat().st_mtime_ns
    page("bob").unlink()
    third = run()
    assert (third["graded"], third["unchanged"]) == (0, 2)
    assert page("bob").is_file() and page("alice").stat().st_mtime_ns == kept
    # Bob fixes his notebook, graded with --no-feedback: his page with the old score goes (it
    # would disagree with the gradebook), and the next run writes the new one.
    course.submit("bob", A, corpus.ordinary(course.root, "correct"))
    fourth = run(feedback=False)
    assert fourth["graded"] == 1 and course.total(A, "bob") == FULL_MARKS
    assert not page("bob").exists() and page("alice").stat().st_mtime_ns == kept
    fifth = run()
    assert (fifth["graded"], fifth["unchanged"]) == (0, 2) and page("bob").is_file()
    # Alice resubmits a file that is not a notebook: it fails, and her page goes with her grade.
    course.submit("alice", A, "not a notebook")
    sixth = run()
    assert sixth["failed"] == 1 and not page("alice").exists() and page("bob").is_file()


def test_reduced_mode_still_grades_with_timeouts(ps01_course, tmp_path):
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("alice", A, corpus.ordinary(course.root, "grad_of_output"))
    loop = corpus.hostile_specs()["infinite_loop"]
    course.submit("bob", A, corpus.hostile(course.root, loop))
    summary = grade_assignment(
        course.root, A, limits=LIMITS, progress=False, sandbox_mode="reduced", export=False
    )
    assert summary["sandbox"].startswith("reduced")
    # grad_of_output loses test_sigmoid_grad only (grading_corpus.ORDINARY)
    assert course.total(A, "alice") == FULL_MARKS - POINTS["test_sigmoid_grad"]
    assert course.total(A, "bob") == loop["expect"]["score"]
    assert "cell timeout in tanh" in outcome(summary, "bob")["notes"]
    assert outcome(summary, "alice")["sandbox"] == local_reduced_gaps()
    # The user the kernel ran as: this process's (it said "the instructor", on a worker too).
    assert f"ran as {user_name()}, the user running lstm-autograde" in local_reduced_gaps()


# Appended to the sigmoid cell: the kernel's folder is the job's home/<assignment> in reduced
# mode, so the job's results folder is ../../out. nbgrader keeps writing to the log it opened;
# the coordinator finds a FIFO under its name, and a chain of folders deeper than Python's
# recursion limit (where shutil.rmtree raises) in the job's folder.
PLANTS_A_FIFO = """
import os as _os
_log = _os.path.join("..", "..", "out", "nbgrader.log")
_os.unlink(_log)
_os.mkfifo(_log)
_fd = _os.open(".", _os.O_RDONLY)
for _ in range(1100):
    _os.mkdir("deep", dir_fd=_fd)
    _next = _os.open("deep", _os.O_RDONLY, dir_fd=_fd)
    _os.close(_fd)
    _fd = _next
_os.close(_fd)
"""


def test_reduced_mode_a_fifo_in_place_of_the_log_stops_no_one(ps01_course, tmp_path):
    """A student's code that can reach its own job's folder (reduced mode) and leaves a FIFO
    there, and folders too deep for a recursive removal, is graded with a note on the log;
    the run neither waits on the FIFO nor stops, and the rest of the class is graded."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("alice", A, corpus.ordinary(course.root, "correct"))
    course.submit(
        "mallory", A, corpus.student_notebook(course.root, append={"sigmoid": PLANTS_A_FIFO})
    )
    done = {}

    def run():
        try:
            done["summary"] = grade_assignment(
                course.root,
                A,
                limits=LIMITS,
                progress=False,
                sandbox_mode="reduced",
                feedback=False,
                export=False,
            )
        except BaseException as exc:
            done["error"] = exc

    thread = threading.Thread(target=run, daemon=True)  # a regression waits on the FIFO
    thread.start()
    thread.join(600)
    assert not thread.is_alive(), "the run still waits after 600 s (on the FIFO?)"
    if "error" in done:
        raise done["error"]
    summary = done["summary"]
    assert course.total(A, "alice") == FULL_MARKS
    assert course.total(A, "mallory") == FULL_MARKS
    mallory = outcome(summary, "mallory")
    assert mallory["status"] == "graded", mallory
    assert "the job's nbgrader.log is a FIFO, not a regular file: not read" in mallory["notes"]


def test_the_kernel_is_the_graders_whatever_kernel_the_notebook_names(ps01_course, tmp_path):
    """nbgrader puts the gradebook's kernelspec into each submission, unless the gradebook has
    none (a source notebook without one): then the notebook's own, which the student wrote,
    would name the kernel, looked for in other folders too. The grader always starts its
    python3 launcher (the slot's uid, the limits); a kernel the student names is never used."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    con = sqlite3.connect(course.root / "gradebook.db")
    try:
        with con:
            con.execute("UPDATE notebook SET kernelspec = '{}'")
    finally:
        con.close()
    nb = corpus.ordinary(course.root, "correct")
    nb.metadata["kernelspec"] = {
        "name": "students-own",
        "display_name": "Mine",
        "language": "python",
    }
    course.submit("bob", A, nb)
    summary = grade_assignment(course.root, A, jobs=1, limits=LIMITS, progress=False, export=False)
    assert outcome(summary, "bob")["status"] == "graded", outcome(summary, "bob")
    assert course.total(A, "bob") == FULL_MARKS


# An honest ps01 whose functions find, in the notebook's own namespace, names that are also
# builtins: NumPy's ``any`` and ``where`` from ``from numpy import *`` (its ``any`` reads a 2-D
# array whole, the builtin row by row), and a variable of the student's called ``input``.
HONEST_NAMES = {
    "sigmoid": (
        "from numpy import *  # asarray, exp, abs, where, isinf, any ... without the np. prefix\n"
        "\n"
        "\n"
        "def sigmoid(x):\n"
        "    x = asarray(x, dtype=float)\n"
        "    z = exp(-abs(x))\n"
        "    s = where(x >= 0, 1 / (1 + z), z / (1 + z))\n"
        "    if any(isinf(x)):  # exactly 0 and 1 there, without a 0 * inf\n"
        "        s = where(isinf(x), (x > 0).astype(float), s)\n"
        "    return s\n"
        "\n"
        "\n"
        "input = linspace(-5.0, 5.0, 11)  # to try the functions on\n"
    ),
    "sigmoid_grad": (
        "def sigmoid_grad(x):\n"
        "    s = sigmoid(x)\n"
        "    return s * (1 - s)\n"
        "\n"
        "\n"
        "print(sigmoid_grad(input))\n"
    ),
}


def test_an_honest_notebooks_own_names_over_builtins_stay_its_own(ps01_course, tmp_path):
    """The output guard puts back, before every cell, what the hidden tests rely on; the
    notebook's own namespace is the student's. Before (found in review), a name there that is
    also a builtin was taken away before each next cell: NumPy's ``any`` became the builtin's,
    which fails on the visible test's 2-D array, and this sigmoid lost test_sigmoid's 3 points
    (7 of 10); ``input`` became the builtin function, and sigmoid_grad's cell failed. (With
    the names kept, test_tanh's own ``any`` found NumPy's: see test_ps01_activations.)"""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("ada", A, corpus.student_notebook(course.root, replace=HONEST_NAMES))
    summary = grade_assignment(course.root, A, jobs=1, limits=LIMITS, progress=False, export=False)
    assert outcome(summary, "ada")["status"] == "graded", outcome(summary, "ada")
    assert course.total(A, "ada") == FULL_MARKS
    text = corpus.outputs_text(course.autograded_notebook("ada", A))
    assert "built-in function input" not in text and "Error" not in text, text


# What the grading environment below leaves out of this one's site-packages: this checkout's
# editable install (the wheel replaces it) and PyTorch with the packages only it needs (no
# grading job imports them; they are most of the environment's size).
NOT_IN_THE_GRADERS_ENV = ("__editable__", "lstm_core-", "torch", "functorch", "nvidia", "sympy")


@needs_sandbox
def test_a_class_graded_by_the_grader_installed_from_its_wheel(ps01_course, tmp_path, ps01_alone):
    """The grader as ``pip install ".[grader]"`` (no ``-e``) leaves it: lstm_core and
    lstm_grading in the environment's site-packages beside nbgrader, none in the course
    folder, no PYTHONPATH. The jobs' kernels find the packages through the environment the
    sandbox binds (``private_course.package_path`` adds no folder for site-packages), and the
    class gets its grades, feedback pages and grades.csv as from the checkout.

    The environment is a new virtual environment whose site-packages holds hard links to this
    one's (its data files, share/, too: nbconvert's templates) and the wheel built from this
    checkout, unpacked as pip installs it."""
    import subprocess
    import sys
    import sysconfig
    import zipfile

    from test_packaging import build, source_copy

    (wheel,) = build(source_copy(tmp_path / "src"), tmp_path / "dist", "wheel")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    layout = {"base": str(env), "platbase": str(env)}
    site = Path(sysconfig.get_path("purelib", vars=layout))
    here = Path(sysconfig.get_path("purelib"))
    kept = [p for p in sorted(here.iterdir()) if not p.name.startswith(NOT_IN_THE_GRADERS_ENV)]
    subprocess.run(["cp", "-al", *map(str, kept), str(site)], check=True)
    subprocess.run(["cp", "-al", str(Path(sys.prefix) / "share"), str(env)], check=True)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    python = env / "bin" / "python"
    course = Course.copy_of(ps01_course, tmp_path / "course")
    assert not any((course.root / p).exists() for p in ("lstm_core", "lstm_grading"))
    course.submit("alice", A, corpus.ordinary(course.root, "correct"))
    course.submit("bob", A, corpus.ordinary(course.root, "naive_sigmoid"))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    clean["PATH"] = f"{env / 'bin'}{os.pathsep}{clean['PATH']}"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(python), *args],
            cwd=course.root,
            env=clean,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    where = run(
        "-c", "import lstm_core, lstm_grading; print(lstm_core.__file__, lstm_grading.__file__)"
    )
    assert where.stdout.split() == [
        str(site / p / "__init__.py") for p in ("lstm_core", "lstm_grading")
    ]
    graded = run("-m", "lstm_grading", A, "--jobs", "2")
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    assert "2 graded, 0 failed, 0 refused" in graded.stdout and "sandbox: full" in graded.stdout
    scores = course.scores(A)
    assert scores["alice"] == ps01_alone["correct"]
    assert scores["bob"] == ps01_alone["naive_sigmoid"]
    for student in ("alice", "bob"):
        page = course.root / "feedback" / student / A / f"{A}.html"
        assert f"Score: {course.total(A, student)} / {FULL_MARKS}" in page.read_text()
    with open(course.root / "grades.csv", newline="") as f:
        rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert rows == {"alice": course.total(A, "alice"), "bob": course.total(A, "bob")}


# An honest ps01 that uses, across cells, libraries that change their own functions and
# objects while they run: pyplot's figures (and IPython's inline backend, which matplotlib
# loads on the first import of pyplot in a kernel), lstm_core's plots and widgets (ipywidgets),
# a functools.lru_cache'd and a functools.singledispatch helper, np.vectorize, np.errstate as
# a decorator. Each is set up in one cell and used again in the next.
HONEST_LIBRARIES = {
    "sigmoid": (
        "import functools\n"
        "\n"
        "import matplotlib.pyplot as plt\n"
        "from lstm_core import plots, widgets\n"
        "\n"
        "\n"
        "def sigmoid(x):\n"
        "    x = np.asarray(x, dtype=float)\n"
        "    z = np.exp(-np.abs(x))\n"
        "    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))\n"
        "\n"
        "\n"
        "@functools.lru_cache(maxsize=None)\n"
        "def grid(n):\n"
        "    return tuple(np.linspace(-5.0, 5.0, n))\n"
        "\n"
        "\n"
        "@functools.singledispatch\n"
        "def describe(x):\n"
        "    return f'number {x}'\n"
        "\n"
        "\n"
        "@describe.register\n"
        "def _(x: np.ndarray):\n"
        "    return f'array of {x.size}'\n"
        "\n"
        "\n"
        "@np.errstate(over='ignore')\n"
        "def naive_sigmoid(x):\n"
        "    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))\n"
        "\n"
        "\n"
        "one_by_one = np.vectorize(lambda v: float(sigmoid(v)))\n"
        "fig, ax = plt.subplots()\n"
        "ax.plot(grid(11), sigmoid(grid(11)), label='sigmoid')\n"
        "plt.show()\n"
        "explorer = widgets.activation_explorer()\n"
        "explorer.sliders['x'].value = -5.0\n"
    ),
    "tanh": (
        "ax.plot(grid(11), tanh(grid(11)), label='tanh')  # the figure of the cell before\n"
        "ax.legend()\n"
        "display(fig)\n"
        "plt.plot(grid(5), one_by_one(grid(5)))\n"
        "plt.show()\n"
        "display(plots.activation_figure(points=[('sigmoid', -5.0)]))\n"
        "explorer.sliders['x'].value = 2.0\n"
        "assert explorer.values['sigmoid'] == float(sigmoid(2.0)), explorer.values\n"
        "assert grid(11) is grid(11) and grid.cache_info().hits >= 3, grid.cache_info()\n"
        "assert describe(np.zeros(3)) == 'array of 3' and describe(1.0) == 'number 1.0'\n"
        "assert naive_sigmoid(-1000.0) == 0.0\n"
        "print('all used again')\n"
    ),
}


def test_an_honest_notebook_using_plots_widgets_and_caches_across_cells(ps01_course, tmp_path):
    """The output guard puts back, before every cell, the functions of every module loaded
    when the kernel started; what libraries change of their own while a notebook uses them
    must keep working from one cell to the next, and the notebook gets full marks."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    sigmoid, tanh = HONEST_LIBRARIES["sigmoid"], HONEST_LIBRARIES["tanh"]  # tanh: the solution's
    nb = corpus.student_notebook(course.root, replace={"sigmoid": sigmoid}, append={"tanh": tanh})
    course.submit("ada", A, nb)
    summary = grade_assignment(course.root, A, jobs=1, limits=LIMITS, progress=False, export=False)
    assert outcome(summary, "ada")["status"] == "graded", outcome(summary, "ada")
    text = corpus.outputs_text(course.autograded_notebook("ada", A))
    assert course.total(A, "ada") == FULL_MARKS, text
    assert "all used again" in text and "Error" not in text, text
