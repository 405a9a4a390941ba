"""The suite's own pytest-xdist scheduler (tests/conftest.py): groups stay whole, longest first.

`make test` runs two workers with ``--dist loadgroup``. The browser modules share one Chromium
and its tour, and the grading modules check the host for anything a run left behind: if either
group were split between the workers, the tour would run twice and the host checks would see
the other worker's processes. pytest-xdist's own loadgroup stopped grouping silently under
pytest 9.2 (pytest-dev/pytest-xdist#1386); these tests would notice the same of ours.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    BROWSER_MODULES,
    GRADER_MODULES,
    LONGEST_FIRST,
    pytest_collection_modifyitems,
    unit_of,
)

CONFTEST = Path(__file__).with_name("conftest.py")


def test_units_are_the_groups_or_the_module():
    assert unit_of("tests/test_book.py::test_page_fetches_nothing_from_another_host[x]") == (
        "browser"
    )
    assert unit_of("tests/test_grading_attacks.py::test_escape_is_contained[dev_shm]") == "grader"
    assert unit_of("tests/test_ps01_activations.py::TestGrading::test_csv_export") == (
        "tests/test_ps01_activations.py"
    )
    assert LONGEST_FIRST[:2] == ("grader", "browser")


def test_every_grouped_or_ordered_module_exists():
    here = Path(__file__).parent
    missing = sorted(m for m in BROWSER_MODULES | GRADER_MODULES if not (here / f"{m}.py").exists())
    assert not missing, f"tests/conftest.py groups modules that do not exist: {missing}"
    ordered = [u for u in LONGEST_FIRST if u not in ("grader", "browser")]
    missing = [u for u in ordered if not (here.parent / u).is_file()]
    assert not missing, f"tests/conftest.py orders modules that do not exist: {missing}"
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST), LONGEST_FIRST


class _Item:
    def __init__(self, nodeid: str):
        self.nodeid = nodeid


class _Config:
    def __init__(self, loadgroup: bool):
        self.option = type("Options", (), {"loadgroup": loadgroup})()


def test_workers_take_the_longest_units_first_and_the_rest_in_collection_order():
    names = [
        "tests/test_activations.py::test_a",
        "tests/test_ps04_unrolling.py::test_b",
        "tests/test_book.py::test_c",
        "tests/test_ps01_activations.py::TestGrading::test_d",
        "tests/test_data.py::test_e",
        "tests/test_grading_attacks.py::test_f",
        "tests/test_ps01_activations.py::test_g",
        "tests/test_accessibility.py::test_h",
    ]
    items = [_Item(n) for n in names]
    pytest_collection_modifyitems(_Config(loadgroup=True), items)
    assert [i.nodeid for i in items] == [
        "tests/test_grading_attacks.py::test_f",
        "tests/test_book.py::test_c",
        "tests/test_accessibility.py::test_h",
        "tests/test_ps01_activations.py::TestGrading::test_d",
        "tests/test_ps01_activations.py::test_g",
        "tests/test_ps04_unrolling.py::test_b",
        "tests/test_activations.py::test_a",
        "tests/test_data.py::test_e",
    ]
    serial = [_Item(n) for n in names]
    pytest_collection_modifyitems(_Config(loadgroup=False), serial)
    assert [i.nodeid for i in serial] == names  # a run without workers keeps its order


@pytest.mark.processes
def test_two_workers_keep_each_group_on_one_worker(tmp_path):
    """A small suite named like the real groups, run as `make test` runs the suite."""
    pytest.importorskip("xdist", reason="pytest-xdist is not installed: `make install` adds it")
    (tmp_path / "conftest.py").write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('suite_conftest', {str(CONFTEST)!r})\n"
        "suite = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(suite)\n"
        "pytest_xdist_make_scheduler = suite.pytest_xdist_make_scheduler\n"
        "pytest_collection_modifyitems = suite.pytest_collection_modifyitems\n"
    )
    record = tmp_path / "ran.jsonl"
    body = (
        "import json, os, pytest\n"
        "@pytest.mark.parametrize('i', range(4))\n"
        "def test_it(i):\n"
        f"    with open({str(record)!r}, 'a') as f:\n"
        "        f.write(json.dumps([__name__, i, os.environ['PYTEST_XDIST_WORKER']]) + '\\n')\n"
    )
    modules = ["test_bench_grading", "test_grading_attacks", "test_book", "test_accessibility"]
    modules += [f"test_other{k}" for k in range(6)]
    for name in modules:
        (tmp_path / f"{name}.py").write_text(body)
    argv = ["-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", "-o", "addopts="]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", *argv, "-q", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    runs = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(runs) == 4 * len(modules)
    workers = {group: set() for group in ("grader", "browser")}
    for module, _, worker in runs:
        group = unit_of(f"{module}.py::test_it")
        workers.setdefault(group, set()).add(worker)
    assert workers["grader"] and len(workers["grader"]) == 1, workers
    assert workers["browser"] and len(workers["browser"]) == 1, workers
    assert len({worker for *_, worker in runs}) == 2, "one worker did everything"
    # Each worker starts with the first unit it was given: the grader group, then the browser.
    first = {}
    for module, _, worker in runs:
        first.setdefault(worker, unit_of(f"{module}.py::test_it"))
    assert sorted(first.values()) == ["browser", "grader"], first


def test_a_unit_test_that_starts_a_process_is_told_to_mark_it():
    """tests/unit_tier.py: while a unit test runs, every door to a new process raises
    ProcessInUnitTest naming the test and the marker, and the doors are as they were again
    after the block (checked by identity: calling them would start a process; run as a unit
    test, they were the unit tier's own refusals)."""
    import os

    from unit_tier import DOORS, MARKER, ProcessInUnitTest, closed_doors

    before = {(m.__name__, n): getattr(m, n) for m, n in DOORS if hasattr(m, n)}
    # subprocess's own door (Python 3.11 to 3.13) and multiprocessing's
    assert {("Popen", "_execute_child"), ("_posixsubprocess", "fork_exec")} <= before.keys()
    with closed_doors("tests/test_x.py::test_y"):
        for call in (
            lambda: subprocess.run(["true"]),
            lambda: os.system("true"),
            os.fork,
            lambda: os.posix_spawn("/bin/true", ["true"], {}),
        ):
            with pytest.raises(ProcessInUnitTest, match=r"^tests/test_x.py::test_y started") as e:
                call()
            assert f"@pytest.mark.{MARKER}" in str(e.value)
    assert {(m.__name__, n): getattr(m, n) for m, n in DOORS if hasattr(m, n)} == before


def test_make_test_fast_runs_the_unit_tests_and_make_test_every_tier():
    """`make test-fast` leaves out both marked tiers; `make test` runs the unit tests and the
    ``processes`` tier beside the book's build, then the ``slow`` tier."""
    makefile = (CONFTEST.parents[1] / "Makefile").read_text()
    fast = makefile.split("\ntest-fast:", 1)[1].split("\n\n", 1)[0]
    assert '-m "not slow and not processes"' in fast
    full = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert '-m "not slow" -n' in full and "-m slow -n" in full


@pytest.mark.parametrize("marker", ["slow", "processes"])
def test_the_marks_are_registered_with_what_they_mean(marker):
    """pytest runs with --strict-markers: a mark not in pyproject.toml is an error."""
    pyproject = (CONFTEST.parents[1] / "pyproject.toml").read_text()
    assert f'"{marker}: starts ' in pyproject
