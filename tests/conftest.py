"""Shared fixtures: a seeded generator, the PyTorch oracle (skipped only if absent), and one
headless Chromium with one tour of the built book for every browser test (``tests/chromium.py``,
``tests/book_tour.py``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

# With LSTM_TESTS_REQUIRE_ALL=1 (`make test`, CI) a skip fails: tests/require_all.py. A unit
# test (marked neither `slow` nor `processes`) that starts a process fails: tests/unit_tier.py.
pytest_plugins = ["require_all", "unit_tier"]

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
BROWSER_OUT = ROOT / "_build" / "browser"  # screenshots, the tour's log, axe's findings
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The fixtures that read the tour, and what each needs measured on the pages.
TOUR_READERS = {
    "browser_report": "reader",  # test_book.py
    "widgets_report": "widgets",  # test_book_widgets.py
    "axe_reports": "axe",  # test_accessibility.py
    "keyboard_reports": "keyboard",  # test_accessibility.py
}


# `make test` runs the suite in two pytest-xdist workers (`-n 2 --dist loadgroup`). Each test
# module is one unit of work, run whole by one worker (so its module- and class-scoped fixtures,
# such as a problem set's graded class, are built once), and two groups of modules are one unit
# each:
# - "browser": the modules whose tests read the one Chromium and its tour of the book;
# - "grader": the modules that grade in the sandbox or on Dask. Each checks the host when it
#   ends (no process of the sandbox's uids, no run folder, no Dask helper left), which another
#   module grading at the same time would disturb, and they share `ps01_course`/`ps01_alone`.
#   test_cluster.py is one of them: it starts a real helper, which on the machine's /tmp and
#   memory cgroups does what any helper starting does (it removes the run folders whose lock
#   is free, among them the one a grading test's killed run leaves for the next run to remove,
#   and the empty cgroups of jobs whose folder is gone) and makes a run folder of its own.
# The groups are the suite's own scheduler's (`pytest_xdist_make_scheduler` below), not
# `xdist_group` marks: pytest-xdist 3.8 marks a group by rewriting test ids, which pytest 9.2
# no longer lets it do (pytest-dev/pytest-xdist#1386), so its loadgroup would split them.
BROWSER_MODULES = {"test_accessibility", "test_book", "test_book_widgets"}
GRADER_MODULES = {
    "test_grading_attacks",
    "test_parallel_grading",
    "test_cluster_grading",
    "test_bench_grading",
    "test_disk_full",
    "test_cluster",
}
# The longest units, longest first; the rest follow in collection order. A worker that finishes
# a unit takes the next one, so the long units started early leave the short ones to fill in at
# the end and both workers end together. The order comes from one run of the slow tier on its
# two workers on this machine (2026-12-01, commit 5f21d8b, a fresh clone's `make test` with a
# pytest plugin logging each test's start and end): grader 467 s, browser 231, ps06 72, ps01
# 49, ps03 47, ps05 42, ps02 36, ps04 36, test_benchmarks 33, test_browser_tour 14; every other
# module took under 7 s. The workers ended 4 s apart; in collection order (an earlier run),
# one ended 64 s after the other. Only the order is at stake, never a result: a wrong guess
# costs time, not a failure.
LONGEST_FIRST = (
    "grader",
    "browser",
    "tests/test_ps06_training.py",
    "tests/test_ps01_activations.py",
    "tests/test_ps03_cell.py",
    "tests/test_ps05_backprop.py",
    "tests/test_ps02_gates.py",
    "tests/test_ps04_unrolling.py",
    "tests/test_benchmarks.py",
    "tests/test_browser_tour.py",
)


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to under pytest-xdist: a group, or its module's path."""
    path = nodeid.split("::", 1)[0]
    module = Path(path).stem
    if module in BROWSER_MODULES:
        return "browser"
    if module in GRADER_MODULES:
        return "grader"
    return path


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which may not be installed
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With ``--dist loadgroup``: pytest-xdist's scope scheduler with the units of ``unit_of``."""
    if config.getvalue("dist") != "loadgroup":
        return None  # pytest-xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class Units(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    config.option.loadscopereorder = False  # the order of the collection, set below
    return Units(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a pytest-xdist worker of ``--dist loadgroup``: the longest units first."""
    if not getattr(config.option, "loadgroup", False):
        return  # a serial run: collection order

    def rank(item: pytest.Item) -> int:
        unit = unit_of(item.nodeid)
        return LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: collection order within a rank


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


@pytest.fixture(scope="session")
def torch():
    """PyTorch, the independent oracle. CI installs torch 2.13.0, so it never skips there."""
    return pytest.importorskip("torch", reason="torch is not installed: `make test` installs it")


@pytest.fixture(scope="session")
def chromium():
    """One Chromium for the session, serving the built book in a loopback-only namespace."""
    from chromium import Chromium, unavailable

    reason = unavailable()
    if reason:
        pytest.skip(reason)
    if not (HTML / "index.html").is_file():
        pytest.fail("_build/html is missing: `make test` builds it, or run `make book` first")
    shutil.rmtree(BROWSER_OUT, ignore_errors=True)  # this run's screenshots only
    BROWSER_OUT.mkdir(parents=True)
    browser = Chromium(HTML, BROWSER_OUT / "chromium.log")
    yield browser
    browser.close()


def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema, as nbgrader's own
    ``get_alembic_version`` reads it from the ``alembic heads`` command, here asked of
    alembic's Python API in this process (tests/test_grader_parts.py checks they agree)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


@pytest.fixture(scope="session")
def empty_gradebook(tmp_path_factory):
    """Makes an empty nbgrader gradebook at a path: a copy of one made once per session.

    nbgrader makes a new gradebook's schema and then asks the ``alembic`` command for its
    version, about 3 seconds of starting Python; here it gets the same answer from
    :func:`alembic_head` without another process (the unit tests that use this start none:
    tests/unit_tier.py). Opening a copy of an existing gradebook asks nothing.
    """
    import nbgrader.api
    from nbgrader.api import Gradebook

    template = tmp_path_factory.mktemp("empty-gradebook") / "gradebook.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nbgrader.api, "get_alembic_version", alembic_head)
        Gradebook(f"sqlite:///{template}").close()

    def make(path: Path) -> Path:
        shutil.copy(template, path)
        return path

    return make


@pytest.fixture(scope="session")
def ps01_course(tmp_path_factory) -> Path:
    """A course copy with ps01 generated (release and gradebook), to copy from."""
    from course import Course
    from grading_corpus import ASSIGNMENT

    course = Course.copy_of_repo(tmp_path_factory.mktemp("ps01") / "course")
    course.generate(ASSIGNMENT)
    return course.root


@pytest.fixture(scope="session")
def ps01_alone(ps01_course, tmp_path_factory) -> dict[str, dict[str, float | None]]:
    """Per-cell scores of each ordinary ps01 submission under plain sequential nbgrader."""
    from assignment_suite import max_points
    from course import Course
    from grading_corpus import ASSIGNMENT, ordinary_scores, submit_ordinary

    course = Course.copy_of(ps01_course, tmp_path_factory.mktemp("plain") / "course")
    submit_ordinary(course)
    course.autograde(ASSIGNMENT)
    scores = course.scores(ASSIGNMENT)
    # The oracle is checked itself: ORDINARY's known grades (grading_corpus.ORDINARY_LOSES).
    assert scores == ordinary_scores(max_points(ASSIGNMENT)), f"plain nbgrader gave {scores}"
    return scores


@pytest.fixture(scope="session")
def book_tour(request, chromium) -> dict[str, dict]:
    """Every page visited once per viewport, measuring what the selected tests read."""
    from book_tour import tour
    from test_book import ALL_PAGES

    items = [
        item
        for item in request.session.items
        if set(getattr(item, "fixturenames", ())) & set(TOUR_READERS)
    ]
    aspects = {
        TOUR_READERS[name] for item in items for name in item.fixturenames if name in TOUR_READERS
    }
    # Only the pages the selected tests name (`-k 03-forget`), unless one of them reads them all.
    named = {
        getattr(item, "callspec", None) and item.callspec.params.get("docname") for item in items
    }
    docnames = [d for d in ALL_PAGES if d in named] if None not in named else ALL_PAGES
    axe_js = ""
    if "axe" in aspects:
        if not AXE_JS.is_file():
            pytest.fail(f"{AXE_JS.relative_to(ROOT)} is missing: `make vendor` runs npm ci")
        axe_js = AXE_JS.read_text(encoding="utf-8")
    pages = [f"{docname}.html" for docname in docnames]
    with open(BROWSER_OUT / "tour.log", "w", encoding="utf-8") as log:
        return tour(chromium, HTML, BROWSER_OUT, pages, aspects, axe_js, log)
