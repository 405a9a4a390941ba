"""The repository itself: lint-clean, formatted, and free of build products."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
