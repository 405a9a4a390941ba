"""Shared fixtures: a seeded generator, the PyTorch oracle (skipped only if absent), and one
headless Chromium with one tour of the built book for every browser test (``tests/chromium.py``,
``tests/book_tour.py``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

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
