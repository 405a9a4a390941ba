"""One tour of the built book in the shared Chromium, measuring everything the browser tests check.

Each page is loaded once per viewport of ``book_axe.VIEWPORTS`` in the light colour scheme, and
on that one load, in this order (measurements before interactions):

1. what a reader's browser requested, logged and rendered (``book_browser.load``);
2. what overflows the screen (``book_widgets_browser.LAYOUT_JS``), and a screenshot of the
   whole page;
3. axe-core's audit with every rule (``book_axe``); then the dark colour scheme switched on
   live, axe-core's colour rules, and, on pages with widgets, back to the light scheme;
4. on pages with widgets: the Tab key from the top of the page (``book_axe.tab_through``),
   then, at the desktop width, every slider moved with an arrow key.

Three more loads per page serve the reader checks of ``test_book.py``: opened in the dark
scheme from the start, and opened as a ``file://`` page (both at the desktop width), and, for
a page that redirects (the site's root), the load that follows the redirect while the audit
stays on the page itself. ``aspects`` leaves out what no selected test reads.

A failure on one page (the browser stops answering, a script never ends) costs that page's
tests, not the whole tour: the page's reports are left out and looking one up fails with what
went wrong (``TourReports``), and the tour goes on in a new tab.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from book_axe import AXE_TAGS, COLOUR_RULES, VIEWPORTS, redirect_target, run_axe, set_scheme
from book_axe import tab_through as tab_through_page
from book_browser import load, screenshot
from book_browser import set_view as set_emulation
from book_widgets_browser import LAYOUT_JS, move_every_slider
from chromium import ORIGIN, Chromium

ASPECTS = ("reader", "widgets", "axe", "keyboard")
DESKTOP = VIEWPORTS[0][0]

# Hides the document the tab holds, which the next load replaces. A new viewport lays out the
# document in the tab at once: a chapter of typeset maths at a new width cost Chromium up to
# 0.3 CPU-seconds (chapter 9, 2026-12-04), for a document no one measures again. Hidden, it
# is laid out as nothing.
HIDE_JS = """document.documentElement
    && document.documentElement.style.setProperty("display", "none", "important"); 0"""


def set_view(browser: Chromium, session: str, width: int, height: int, scheme: str) -> None:
    """The viewport and colour scheme of the next load (``book_browser.set_view``), set with
    the tab's document, which the load replaces, hidden."""
    browser.evaluate(session, HIDE_JS)
    set_emulation(browser, session, width, height, scheme)


class TourReports(dict):
    """One aspect's reports, keyed by (page, ...); looking up a page the tour could not measure
    fails with what went wrong there, so only that page's tests fail."""

    def __init__(self, errors: dict[str, str]):
        super().__init__()
        self.errors = errors

    def __missing__(self, key):
        page = key[0] if isinstance(key, tuple) else key
        why = self.errors.get(page, "the tour has no such report")
        raise AssertionError(f"the tour did not measure {key}: {why}")


# After this many pages in a row on which the browser failed, the tour stops: a browser that no
# longer answers would otherwise cost a timeout on every command of every page left.
MOST_FAILURES_IN_A_ROW = 2


def tour(
    browser: Chromium,
    html: Path,
    out: Path,
    pages: list[str],
    aspects: set[str],
    axe_js: str = "",
    log=None,
) -> dict[str, dict]:
    """Visit ``pages`` (paths under ``html``); one dict of reports per aspect, keyed by page.

    A page on which something fails (the browser stops answering, a script of the page never
    ends) has no reports; ``reports["errors"]`` says what happened, the tab is replaced by a
    new one, and the tour goes on with the next page.
    """
    unknown = set(aspects) - set(ASPECTS)
    if unknown:
        raise ValueError(f"aspects: got {sorted(unknown)}, expected some of {ASPECTS}")
    if "axe" in aspects and not axe_js:
        raise ValueError("axe_js: got no script, expected axe-core's source to audit with")
    out.mkdir(parents=True, exist_ok=True)
    session = browser.new_tab()
    errors: dict[str, str] = {}
    reports: dict[str, dict] = {aspect: TourReports(errors) for aspect in ASPECTS}
    reports["errors"] = errors
    start = time.monotonic()
    failures_in_a_row = 0

    def note(message: str) -> None:
        if log is not None:
            print(f"[{time.monotonic() - start:7.1f}s] {message}", file=log, flush=True)

    for page in pages:
        if failures_in_a_row >= MOST_FAILURES_IN_A_ROW:
            errors[page] = f"not visited: the browser failed on {failures_in_a_row} pages in a row"
            note(f"{page} not visited")
            continue
        found: dict[str, dict] = {aspect: {} for aspect in ASPECTS}
        try:
            visit(browser, session, html, out, page, aspects, axe_js, found, note)
        except Exception as exc:  # reported with the page, the tour goes on
            errors[page] = f"{type(exc).__name__}: {exc} ({tab_state(browser, session)})"
            note(f"{page} FAILED: {errors[page]}\n{traceback.format_exc()}")
            failures_in_a_row += 1
            session = replace_tab(browser, session, note)
            continue
        failures_in_a_row = 0
        for aspect in ASPECTS:
            reports[aspect].update(found[aspect])
    return reports


def tab_state(browser: Chromium, session: str) -> str:
    """What the tab says of itself after a failure, for the report (it may not answer).

    With the browser's own generous timeout: a tab that answers is reported as it is however
    busy the machine; one that does not costs one timeout, and the tour stops after
    ``MOST_FAILURES_IN_A_ROW`` such pages.
    """
    try:
        state = browser.evaluate(session, "[document.visibilityState, location.href]")
    except Exception as exc:  # a description, whatever the tab does
        return f"the tab does not answer either: {exc}"
    return f"the tab is {state[0]}, at {state[1]}"


def replace_tab(browser: Chromium, session: str, note) -> str:
    """A new tab for the next page; the old one, whatever state it is in, is closed."""
    try:
        browser.close_tab(session)
    except Exception as exc:  # the next page gets a new tab all the same
        note(f"the failed tab did not close: {exc}")
    browser.events.clear()
    return browser.new_tab()


def visit(
    browser: Chromium,
    session: str,
    html: Path,
    out: Path,
    page: str,
    aspects: set[str],
    axe_js: str,
    reports: dict[str, dict],
    note,
) -> None:
    """Measure one page in every viewport (the module's docstring lists what), into ``reports``."""
    stem = page.removesuffix(".html").replace("/", "__")
    url = f"{ORIGIN}/{page}"
    stay = redirect_target(html / page)
    for view, width, height in VIEWPORTS:
        set_view(browser, session, width, height, "light")
        if stay:  # a reader follows the redirect; the audit stays on the page itself
            if "reader" in aspects and view == DESKTOP:
                report = load(browser, session, url)
                report["screenshot"] = screenshot(browser, session, out / f"{stem}.png")
                reports["reader"][(page, "light")] = {**report, "origin": ORIGIN}
            if "axe" in aspects:
                load(browser, session, url, stay=stay)
                reports["axe"].update(audit(browser, session, page, view, out, axe_js))
            note(f"{page} {view} (redirects to {stay})")
            continue
        if not aspects & {"widgets", "axe", "keyboard"} and view != DESKTOP:
            continue
        report = load(browser, session, url)
        layout = browser.evaluate(session, LAYOUT_JS) if "widgets" in aspects else None
        shot = screenshot(browser, session, out / f"{stem}-{view}.png")
        walk = report["widget_views"] and "keyboard" in aspects
        slide = report["widget_views"] and "widgets" in aspects and view == DESKTOP
        if "axe" in aspects:
            reports["axe"].update(audit(browser, session, page, view, out, axe_js))
            if walk or slide:  # back for the keyboard's focus rings and the sliders' colours
                set_scheme(browser, session, "light")
        if "reader" in aspects and view == DESKTOP:
            reports["reader"][(page, "light")] = {**report, "origin": ORIGIN, "screenshot": shot}
        if "widgets" in aspects:
            reports["widgets"][(page, view)] = {
                "page": page,
                "viewport": view,
                "console_errors": report["console_errors"],
                "widget_views": report["widget_views"],
                "widgets_rendered": report["widgets_rendered"],
                "layout": layout,
                "screenshot": shot,
            }
        if walk:
            stops = tab_through_page(browser, session, out / f"{stem}-{view}-focus.png")
            reports["keyboard"][(page, view)] = {"page": page, "viewport": view, **stops}
        if slide:
            reports["widgets"][(page, view)]["sliders"] = move_every_slider(browser, session)
        note(f"{page} {view}")
    if "reader" in aspects:
        set_view(browser, session, *VIEWPORTS[0][1:], "dark")
        report = load(browser, session, url)
        shot = out / f"{stem}-dark.png"  # the viewport: the light one has the whole page
        report["screenshot"] = screenshot(browser, session, shot, full_page=False)
        reports["reader"][(page, "dark")] = {**report, "origin": ORIGIN}
        set_view(browser, session, *VIEWPORTS[0][1:], "light")
        origin = html.resolve().as_uri()
        report = load(browser, session, f"{origin}/{page}")
        report["screenshot"] = screenshot(browser, session, out / f"{stem}-file.png", False)
        reports["reader"][(page, "file")] = {**report, "origin": origin}
        note(f"{page} dark, file")


def audit(
    browser: Chromium,
    session: str,
    page: str,
    view: str,
    out: Path,
    axe_js: str,
) -> dict:
    """axe-core on the loaded page: every rule in the light scheme, the colour rules in the dark.

    The dark scheme changes colours only (same document, same layout), so it is audited after
    switching the emulated scheme, without reloading.
    """
    width, height = next((w, h) for name, w, h in VIEWPORTS if name == view)
    facts = {
        "page": page,
        "viewport": view,
        "width": width,
        "height": height,
        "url": browser.evaluate(session, "location.href"),
        "lang": browser.evaluate(session, "document.documentElement.lang"),
        "title": browser.evaluate(session, "document.title"),
    }
    browser.evaluate(session, axe_js + "\n;0")
    results = {}
    for name, kind, values in (("light", "tag", AXE_TAGS), ("dark", "rule", COLOUR_RULES)):
        if name == "dark":
            set_scheme(browser, session, "dark")
        report = run_axe(browser, session, kind, values)
        report.update(facts, scheme=name, rules=values)
        if name == "dark":  # the light scheme's is the whole page's, taken after the audit
            stem = page.removesuffix(".html").replace("/", "__")
            shot = out / f"{stem}-{view}-dark-viewport.png"
            report["screenshot"] = screenshot(browser, session, shot, full_page=False)
        results[(page, view, name)] = report
    return results
