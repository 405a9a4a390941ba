"""WCAG 2.1 AA for the built book (#14): axe-core on every page, the keyboard, the markup.

``make test`` builds the book first. The static checks read the HTML files. The browser checks
(slow) read the session's one tour of the book in headless Chromium in a network namespace with
loopback only (``tests/book_tour.py``), which injects axe-core from node_modules through the
DevTools protocol (``tests/book_axe.py``) and presses Tab through the pages with widgets.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from book_axe import FAILING_IMPACTS
from test_book import ALL_PAGES, HTML, ROOT, toc_docnames
from test_book_widgets import slider_pages

OUT = ROOT / "_build" / "browser"  # the tour's screenshots, and axe's findings as text

# Every check here reads the built book (`make book`): none belongs to the fast tier.
pytestmark = pytest.mark.slow


def locked_axe_version() -> str:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    return lock["packages"]["node_modules/axe-core"]["version"]


class Markup(HTMLParser):
    """The parts of a page the static checks look at."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.html_lang = None
        self.title = ""
        self.h1 = 0
        self.summaries: list[dict] = []  # {"attrs": ..., "text": ...}
        self.forms: list[dict] = []  # {"attrs": ..., "submit": bool}
        self.widget_views = 0
        self._stack: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "summary":
            self.summaries.append({"attrs": a, "text": ""})
        elif tag == "form":
            self.forms.append({"attrs": a, "submit": False})
        elif tag in ("button", "input") and self.forms and "form" in self._stack:
            if (a.get("type") or ("submit" if tag == "button" else "text")) == "submit":
                self.forms[-1]["submit"] = True
        elif tag == "script" and a.get("type") == "application/vnd.jupyter.widget-view+json":
            self.widget_views += 1
        if tag not in ("meta", "link", "br", "img", "input", "hr", "wbr", "source"):
            self._stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data):
        if self._stack and self._stack[-1] == "title":
            self.title += data
        if "summary" in self._stack and self.summaries:
            self.summaries[-1]["text"] += data


def markup(docname: str) -> Markup:
    path = HTML / f"{docname}.html"
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: build the book with `make book`")
    return Markup(path)


# --- In the HTML ---------------------------------------------------------------------------


def test_root_page_has_a_language_and_a_title():
    """WCAG 3.1.1 and 2.4.2 (axe html-has-lang, document-title) on the redirecting home page."""
    page = markup("index")
    assert page.html_lang == "en", f"<html lang> is {page.html_lang!r}"
    assert page.title.strip(), "index.html has no <title>"


@pytest.mark.parametrize("docname", ALL_PAGES)
def test_page_has_one_first_level_heading(docname):
    """The theme's print-only copy of the title was a second <h1> in every page's markup."""
    assert markup(docname).h1 == 1, f"{docname} has {markup(docname).h1} <h1> elements"


@pytest.mark.parametrize("docname", ALL_PAGES)
def test_every_summary_has_a_name_from_its_text_or_a_label(docname):
    """axe summary-name; and no "Toggle hidden content" label over different visible text."""
    problems = []
    for summary in markup(docname).summaries:
        text, label = summary["text"].strip(), summary["attrs"].get("aria-label")
        if not (text or label):
            problems.append(f"<summary> without a name: {summary['attrs']}")
        if text and label:
            problems.append(f"<summary aria-label={label!r}> hides its text {text[:40]!r}")
    assert not problems, f"{docname}:\n" + "\n".join(problems)


@pytest.mark.parametrize("docname", [d for d in ALL_PAGES if d != "index"])  # index: a redirect
def test_search_forms_have_a_submit_button(docname):
    """The theme's search form could be sent only with Enter (jupyter-book#2135)."""
    forms = [f for f in markup(docname).forms if "bd-search" in f["attrs"].get("class", "")]
    assert forms, f"{docname} has no search form"  # the theme puts one in every page's dialog
    assert all(f["submit"] for f in forms), f"{docname}: a search form without a submit button"


def test_axe_is_not_shipped_in_the_book():
    """axe-core is a test asset, injected by the test: no built page loads it or carries it."""
    found = []
    for path in HTML.rglob("*"):
        if path.suffix == ".js":
            if re.search(r"axe\.run\(|dequelabs", path.read_text("utf-8", "replace")):
                found.append(str(path.relative_to(HTML)))
        elif path.suffix == ".html":
            # (the accessibility statement names axe-core in its prose: only scripts count)
            page = path.read_text("utf-8", "replace")
            if re.search(r"<script[^>]*\bsrc=[\"'][^\"']*axe[^\"']*[\"']|axe\.run\(", page):
                found.append(str(path.relative_to(HTML)))
    assert not found, f"axe-core found in the built book: {found}"


# --- In a browser --------------------------------------------------------------------------


def describe(report: dict) -> list[str]:
    """One line per failing element: page, viewport, scheme, rule, impact, element."""
    where = f"{report['page']} [{report['viewport']} {report['width']}x{report['height']}, "
    where += f"{report['scheme']}]"
    return [
        f"{where} {v['id']} ({node['impact'] or v['impact']}): {node['target']}\n"
        f"    {node['html'][:160]!r}\n    {v['help']}"
        for v in report["violations"]
        for node in v["nodes"]
    ]


@pytest.fixture(scope="module")
def axe_reports(book_tour) -> dict:
    """axe-core's findings on every page (``tests/book_tour.py``), printed and saved."""
    reports = list(book_tour["axe"].values())
    lines = [line for report in reports for line in describe(report)]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "axe-violations.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts = Counter((v["id"], v["impact"]) for report in reports for v in report["violations"])
    print(f"\naxe-core: {len(reports)} page views, violations by (rule, impact): {dict(counts)}")
    print("\n".join(lines))
    return book_tour["axe"]


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("docname", ALL_PAGES)
def test_axe_finds_no_violation(axe_reports, docname, viewport, scheme):
    """Any impact fails: critical, serious, moderate and minor (``book_axe.FAILING_IMPACTS``)."""
    report = axe_reports[(f"{docname}.html", viewport, scheme)]
    assert report["version"] == locked_axe_version(), "axe-core did not run, or another one did"
    print("\n".join(describe(report)) or f"{docname}: no violations")
    failing = [v for v in report["violations"] if v["impact"] in FAILING_IMPACTS]
    assert not failing, "\n".join(describe({**report, "violations": failing}))
    assert {v["impact"] for v in report["violations"]} <= set(FAILING_IMPACTS), report


@pytest.mark.slow
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_axe_audits_the_root_page_itself(axe_reports, viewport):
    """index.html redirects at once; the audit must see it, not the page it leads to."""
    report = axe_reports[("index.html", viewport, "light")]
    assert report["url"].endswith("/index.html"), report["url"]
    assert report["lang"] == "en" and report["title"], (report["lang"], report["title"])


def widget_pages() -> list[str]:
    """The toc's pages whose built HTML has widget views."""
    return [d for d in toc_docnames() if markup(d).widget_views]


def test_the_pages_with_widgets_are_the_slider_pages():
    """The keyboard test runs on the pages named by hand (``slider_pages``), not on those the
    build happens to give widgets: a page losing its widgets, or one gaining some that the
    keyboard test would never visit, fails here."""
    assert sorted(widget_pages()) == slider_pages()


@pytest.fixture(scope="module")
def keyboard_reports(book_tour) -> dict:
    """The Tab key through every page with widgets (``tests/book_tour.py``)."""
    reports = book_tour["keyboard"]
    assert reports, "no page with widgets was found: the keyboard test would check nothing"
    return reports


@pytest.mark.slow
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("docname", slider_pages())
def test_keyboard_reaches_every_slider_with_a_visible_focus(keyboard_reports, docname, viewport):
    """Tab from the top of the page to its end (WCAG 2.1.1, 2.4.3, 2.4.7, 4.1.2).

    Every slider is reached, named, and speaks the value its read-out shows; the focus moves
    down the page in document order; and every stop, as it takes the focus, is drawn with an
    outline or a shadow (its own or its child's) and matches ``:focus-visible``.
    """
    report = keyboard_reports[(f"{docname}.html", viewport)]
    stops, sliders = report["stops"], report["sliders"]
    assert sliders, f"{docname}: no sliders were drawn"
    problems = []
    reached = {s["index"] for s in stops if s["role"] == "slider"}
    missed = [s["name"] or s["labelledby"] for s in sliders if s["index"] not in reached]
    if missed:
        problems.append(f"sliders the Tab key never reaches: {missed}")
    unnamed = [s for s in sliders if not (s["name"] or s["labelledby"])]
    if unnamed:
        problems.append(f"{len(unnamed)} sliders without a name")
    wrong_value = [s for s in sliders if s["readout"] and s["valuetext"] != s["readout"]]
    if wrong_value:
        problems.append(f"sliders whose spoken value is not the one shown: {wrong_value}")
    if report["positive_tabindex"]:
        problems.append(f"tabindex > 0 reorders the focus: {report['positive_tabindex']}")
    backwards = [
        (a["text"] or a["tag"], b["text"] or b["tag"])
        for a, b in itertools.pairwise(stops)
        if b["index"] < a["index"]
    ]
    if backwards:
        problems.append(f"focus moves back up the page: {backwards}")
    unseen = [
        f"<{s['tag']} role={s['role']!r} class={s['classes'][:40]!r}> {s['text'][:30]!r}: "
        f"outline {s['outline']}, box-shadow {s['box_shadow']}"
        for s in stops
        if not (s["visible"] and s["focus_visible"] and s["ring"])
    ]
    if unseen:
        problems.append("focus not drawn:\n  " + "\n  ".join(unseen))
    assert not problems, f"{docname} ({viewport}, {len(stops)} stops):\n" + "\n".join(problems)
