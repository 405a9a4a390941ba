"""The job's root (lstm_grading.jail): what a bound host folder looks like from inside.

A course or Python environment installed under /tmp (a clone in /tmp, a CI work folder) is
bound into each job under the same path, and the job has a /tmp of its own. The job's /tmp
must not hide the bind: once it did, and every submission of a class graded from a clone in
/tmp failed with "No module named 'jupyter_core.migrate'" (the job fell back on the base
interpreter's packages).
"""

from __future__ import annotations

import importlib.util
import json
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from lstm_grading import linux

FULL = linux.probe()[0] == "full"


def jail_probe(arguments: str, bound: str, report: str, hide: str = "()") -> str:
    """A script to run with the ``arguments`` it names: in new namespaces, a child enters a job's
    root with ``bound`` (an expression) bound into it and ``hide`` (one too) hidden, runs
    ``report`` there, which prints what it sees, and exits with 0 (3, and the error printed, if
    anything raised)."""
    return textwrap.dedent(
        """
        import os, sys
        from lstm_grading import jail, linux
        {arguments} = sys.argv[1:]
        linux.unshare(linux.NAMESPACES)
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                jail.enter(root, {bound}, 16, {hide})
        {report}
                code = 0
            except BaseException as error:
                print("error", repr(error), flush=True)
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    ).format(
        arguments=arguments,
        bound=bound,
        hide=hide,
        report=textwrap.indent(textwrap.dedent(report).strip("\n"), " " * 8),
    )


# What a bound folder under /tmp looks like from the job: its marker, and whether it is writable;
# then whether the job's root folder (the skeleton holding the binds) is, to root in the job.
PROBE = jail_probe(
    "bound, root",
    "sorted({bound, *jail.allowlist()})",
    """
    def writable(folder):
        try:
            open(os.path.join(folder, "new.txt"), "w").close()
            return "writable"
        except OSError:
            return "read-only"
    seen = open(os.path.join(bound, "marker.txt")).read()
    print(seen, writable(bound), "/", writable("/"), flush=True)
    """,
)


@pytest.mark.skipif(not FULL, reason="the jail needs Linux namespaces and root")
@pytest.mark.processes
def test_a_bind_under_tmp_is_seen_read_only_inside_the_job():
    """And the job's root folder is read-only too, even to root in the job."""
    top = Path(tempfile.mkdtemp(prefix="jail-test-", dir="/tmp"))  # under /tmp, wherever TMPDIR is
    try:
        bound, root = top / "course", top / "root"
        bound.mkdir()
        root.mkdir()
        (bound / "marker.txt").write_text("from the host")
        out = subprocess.run(
            [sys.executable, "-c", PROBE, str(bound), str(root)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.strip() == "from the host read-only / read-only"
        assert not (bound / "new.txt").exists()
    finally:
        shutil.rmtree(top)


# Run by the environment's Python under a linked name: what the job sees of its own interpreter.
LINKED_PROBE = jail_probe(
    "(root,)",
    "jail.allowlist()",
    """
    print(sys.prefix, os.path.exists(sys.executable),
          os.path.exists(os.path.join(sys.prefix, "pyvenv.cfg")), flush=True)
    """,
)


@pytest.mark.skipif(not FULL, reason="the jail needs Linux namespaces and root")
@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs a virtual environment")
@pytest.mark.processes
def test_an_environment_reached_through_a_link_exists_inside_the_job():
    """A course whose .venv is a link to the real environment: the job's Python names its files
    by the link. Bound under their real paths only, they did not exist in the job, and every
    submission of a class failed in the full sandbox (nbgrader: FileNotFoundError for its
    nbgraderformat/v3.json; found grading with a .venv linked to another). This test printed
    "False False" before the fix."""
    top = Path(tempfile.mkdtemp(prefix="jail-test-", dir="/tmp"))
    try:
        link, root = top / "course" / ".venv", top / "root"
        link.parent.mkdir()
        root.mkdir()
        link.symlink_to(Path(sys.prefix).resolve())
        python = link / "bin" / Path(sys.executable).name
        out = subprocess.run(
            [str(python), "-c", LINKED_PROBE, str(root)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.split() == [str(link), "True", "True"]
    finally:
        shutil.rmtree(top)


SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


# What a ps01 job sees of the hidden checks: each module's size, and what ps02 defines.
HIDDEN_PROBE = jail_probe(
    "(root,)",
    "jail.allowlist()",
    """
    import glob, importlib, lstm_grading
    hidden = os.path.join(os.path.dirname(lstm_grading.__file__), "hidden")
    for path in sorted(glob.glob(hidden + "/ps*.py") + glob.glob(hidden + "/__pycache__/ps*")):
        print(os.path.relpath(path, hidden), os.path.getsize(path), flush=True)
    ps02 = importlib.import_module("lstm_grading.hidden.ps02")
    print("ps02 checks", sorted(n for n in vars(ps02) if n.startswith("check_")), flush=True)
    """,
    hide=f"jail.other_checks({str(SOLUTIONS / 'ps01_activations')!r})",
)


@pytest.mark.skipif(not FULL, reason="the jail needs Linux namespaces and root")
@pytest.mark.processes
def test_the_job_sees_the_other_problem_sets_hidden_checks_empty(tmp_path):
    """A ps01 job: its own checks as they are, every other problem set's (and their compiled
    copies) empty, and no check importable from them. Bound whole with lstm_grading, they were
    readable by the student's code, which could print them into its feedback (found in an
    instructor's walk through a class: a ps01 submission printed ps02.py); this test saw every
    module whole before the fix."""
    import lstm_grading

    hidden = Path(lstm_grading.__file__).parent / "hidden"
    others = sorted(p.name for p in hidden.glob("ps*.py") if p.name != "ps01.py")
    assert len(others) == 5
    # A compiled copy, as a checkout's tests or kernels leave them (git-ignored).
    compiled = importlib.util.cache_from_source(str(hidden / "ps02.py"))
    py_compile.compile(str(hidden / "ps02.py"), cfile=compiled, doraise=True)
    root = tmp_path / "root"
    root.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", HIDDEN_PROBE, str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    *lines, last = out.stdout.splitlines()
    sizes = dict(line.rsplit(" ", 1) for line in lines)
    assert sizes["ps01.py"] == str((hidden / "ps01.py").stat().st_size)
    assert {name: sizes[name] for name in others} == dict.fromkeys(others, "0")
    assert sizes[str(Path(compiled).relative_to(hidden))] == "0"
    pycs = {n: size for n, size in sizes.items() if n.startswith("__pycache__/")}
    assert all(size == "0" for n, size in pycs.items() if "/ps01." not in n), pycs
    assert last == "ps02 checks []"
    assert "def check_" in (hidden / "ps02.py").read_text()  # the host's file as it was


def test_what_each_assignment_hides_is_every_check_its_cells_do_not_import(tmp_path):
    """jail.other_checks: for each problem set, the five other modules of lstm_grading/hidden
    (its own stays: its grade cells import it); for an assignment of the instructor's own whose
    cells import ps03's checks (``midterm``), every module but ps03; nothing outside psNN.py."""
    import lstm_grading
    from lstm_grading import jail

    hidden = Path(lstm_grading.__file__).parent / "hidden"
    modules = sorted(p.stem for p in hidden.glob("ps*.py"))
    assert len(modules) == 6
    for module in modules:  # what keeping only the named ones relies on
        code = (hidden / f"{module}.py").read_text()
        assert not re.search(r"from\s+\.(ps\d+)|from\s+\.\s+import\s+ps\d", code), module
    for source in sorted(p for p in SOLUTIONS.iterdir() if p.is_dir()):
        own = source.name.partition("_")[0]
        hide = {Path(p).stem for p in jail.other_checks(str(source)) if p.endswith(".py")}
        assert hide == set(modules) - {own}, source.name
    midterm = tmp_path / "midterm"
    midterm.mkdir()
    (midterm / "midterm.ipynb").write_text(
        json.dumps({"cells": [{"source": ["from lstm_grading.hidden import ps03\n", "ps03.x()"]}]})
    )
    hidden_paths = jail.other_checks(str(midterm))
    assert {Path(p).name.split(".")[0] for p in hidden_paths} == set(modules) - {"ps03"}
    assert all(Path(p).parent in (hidden, hidden / "__pycache__") for p in hidden_paths)


@pytest.mark.parametrize(
    "cells",
    [
        ["from lstm_grading.hidden import ps02, ps03\n", "ps03.check_h(lstm_step_forward)"],
        ["from lstm_grading.hidden import (\n", "    ps02,\n", "    ps03,\n", ")\n"],
        ["from lstm_grading import hidden\n", "hidden.ps02.x()\n", "hidden.ps03.check_h(f)"],
        ["import lstm_grading.hidden.ps02 as a, lstm_grading.hidden.ps03 as b\n", "b.check_h(f)"],
    ],
    ids=["two in one import", "parenthesized", "the package imported", "two modules aliased"],
)
def test_an_assignment_keeps_every_check_module_its_code_names(tmp_path, cells):
    """jail.other_checks keeps each psNN module that the assignment's code cells name, however
    they import it: an instructor's midterm importing ps02's and ps03's checks in one line
    (or from ``lstm_grading.hidden`` imported whole) saw ps03 (or both) empty in every job, so
    every hidden test of every student failed with an AttributeError (found in review: only
    the first name of a ``from ... import`` list was seen, none in parentheses). A word of a
    Markdown cell keeps nothing."""
    import lstm_grading
    from lstm_grading import jail

    hidden = Path(lstm_grading.__file__).parent / "hidden"
    modules = {p.stem for p in hidden.glob("ps*.py")}
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["As in ps05, ps06: ..."]},
            {"cell_type": "code", "metadata": {}, "outputs": [], "source": cells},
        ]
    }
    (tmp_path / "midterm.ipynb").write_text(json.dumps(notebook))
    hidden_paths = jail.other_checks(str(tmp_path))
    assert {Path(p).name.split(".")[0] for p in hidden_paths} == modules - {"ps02", "ps03"}


def test_every_file_of_another_problem_sets_checks_is_hidden(tmp_path):
    """Not only psNN.py and its compiled copies: an editor's backup or swap file (``ps02.py~``,
    ``.ps02.py.swp``, which hold the text), a ``ps02.py.orig`` a patch leaves, a data file and
    a module turned package (``ps02/``) are hidden too; what names no problem set, and what
    names the assignment's own, stays. Before (found in review), only ``psNN.py`` and
    ``psNN.*.pyc`` were hidden: an instructor editing ps02's checks during a ps01 run left its
    text readable."""
    from lstm_grading import jail

    package = tmp_path / "lstm_grading"
    hidden = package / "hidden"
    (hidden / "__pycache__").mkdir(parents=True)
    (hidden / "ps02" / "__pycache__").mkdir(parents=True)
    kept = ["__init__.py", "common.py", "ps01.py", "__pycache__/ps01.cpython-311.pyc"]
    gone = [
        "ps02.py~",
        ".ps02.py.swp",
        "ps02.py.orig",
        "ps02_cases.npz",
        "ps02/__init__.py",
        "ps02/__pycache__/__init__.cpython-311.pyc",
        "__pycache__/ps02.cpython-311.opt-1.pyc",
        "ps02.pyc",
    ]
    for name in kept + gone:
        (hidden / name).write_text("def check_x(): ...")
    (hidden / "ps03.py").symlink_to(hidden / "common.py")  # a link: what it leads to decides
    source = tmp_path / "ps01"
    source.mkdir()
    cell = {"cell_type": "code", "source": "from lstm_grading.hidden import ps01\n"}
    (source / "ps01.ipynb").write_text(json.dumps({"cells": [cell]}))
    got = jail.other_checks(str(source), str(package))
    assert sorted(got) == sorted(str(hidden / name) for name in gone)
