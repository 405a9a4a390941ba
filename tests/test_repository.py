"""The repository itself: lint-clean, formatted, and free of build products."""

import ast
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Every test here starts processes (tests/unit_tier.py).
pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[1]
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff(args):
    if RUFF is None:
        pytest.fail("ruff is not installed: `make install` installs it")
    result = subprocess.run([RUFF, *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_build_products_or_student_data_in_git():
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    banned = (
        "_build/",
        ".ipynb_checkpoints/",
        "__pycache__/",
        "submitted/",
        "autograded/",
        "feedback/",
        "node_modules/",
        "book/_vendor/",
        "reports/",
    )
    bad = [f for f in files if any(f.startswith(b) or f"/{b}" in f for b in banned)]
    bad += [f for f in files if f.endswith(("gradebook.db", ".pyc"))]
    assert not bad, f"build products or student data tracked by git: {bad[:10]}"


def test_lock_keeps_the_slow_importing_iri_checker_out():
    """jsonschema 4.25 added rfc3987-syntax to its ``format-nongpl`` extra, which jupyter-events
    requires; its import builds a Lark grammar (about 3 s of CPU, measured with
    ``python -X importtime -c "import nbformat"``) in every process that imports nbformat, so
    every nbgrader command and grading worker paid it. The lock holds jsonschema below 4.25."""
    lock = (Path(__file__).parent.parent / "requirements.lock").read_text().splitlines()
    pins = dict(line.split("==") for line in lock if "==" in line and not line.startswith("#"))
    version = tuple(int(part) for part in pins["jsonschema"].split(".")[:2])
    assert version < (4, 25), f"jsonschema=={pins['jsonschema']} brings rfc3987-syntax back"
    assert "rfc3987-syntax" not in pins and "lark" not in pins


# What grading writes into the course root (the instructor guide's tables: lstm-autograde,
# nbgrader, the Canvas export), all of it student work or grades.
GRADING_FILES = [
    "gradebook.db",
    "gradebook.db-journal",
    "submitted/alice/ps01_activations/ps01_activations.ipynb",
    "autograded/alice/ps01_activations/ps01_activations.ipynb",
    "feedback/alice/ps01_activations/ps01_activations.html",
    "downloaded/ps01_activations/archive/doejohn_12345_6789012_ps01_activations.ipynb",
    "reports/ps01_activations/summary.csv",
    "grades.csv",
    "grades.csv.tmp",
    "Grades-LSTM.csv",  # Canvas's gradebook export, as the guide names it
    "2026-11-30T1200_Grades-LSTM_101.csv",  # as Canvas names the download
    "canvas-import.csv",  # lstm-autograde export's import file and its report
    "canvas-import.json",
]


@pytest.mark.parametrize("path", GRADING_FILES)
def test_grades_and_student_work_are_kept_out_of_git(path):
    """The guide: "Never commit ... student work and grades (`.gitignore` keeps them out)"."""
    ignored = subprocess.run(
        ["git", "check-ignore", "--quiet", "--no-index", path], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, f"{path} is not git-ignored"


def test_a_venv_that_is_a_link_is_kept_out_of_git():
    """`.venv` is ignored as a folder and as a symbolic link to one (the instructor guide's
    "a `.venv` that is a link"): `.venv/` matched the folder only, and a course whose `.venv`
    linked to a shared environment listed it as untracked, for `git add -A` to commit (found
    in an instructor's walk through the guide). Git checks a path it cannot see as a file."""
    ignored = subprocess.run(
        ["git", "check-ignore", "--quiet", "--no-index", ".venv-link-test/.venv"],
        cwd=ROOT,
        check=False,
    )
    assert ignored.returncode == 0, ".venv (a link) is not git-ignored"


def test_no_module_of_the_packages_keeps_a_top_level_loops_variable():
    """A loop at a module's top level (lstm_core.params makes HAND_WORKED_PARAMS read-only in
    one) leaves its variable as a module attribute unless it is deleted: a name nobody meant to
    publish, which the hidden checks' search of lstm_core's data once reported instead of the
    constant's public name (``lstm_core.params._arr``)."""
    root = Path(__file__).resolve().parents[1]
    loops = 0
    for package in ("lstm_core", "lstm_grading"):
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            targets = [
                node.id
                for statement in tree.body
                if isinstance(statement, (ast.For, ast.With))
                for target in (
                    [statement.target]
                    if isinstance(statement, ast.For)
                    else [item.optional_vars for item in statement.items if item.optional_vars]
                )
                for node in ast.walk(target)
                if isinstance(node, ast.Name)
            ]
            if not targets:
                continue
            loops += 1
            module = ".".join(path.relative_to(root).with_suffix("").parts)
            namespace = vars(importlib.import_module(module.removesuffix(".__init__")))
            kept = [name for name in targets if name in namespace]
            assert not kept, f"{module} keeps its top-level loop's {kept}: del them after it"
    assert loops >= 1  # lstm_core.params's loop at least: the check has something to look at
