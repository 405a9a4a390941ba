"""The order of the browser tour's steps on a page, without a browser (``tests/book_tour.py``).

The tour's CPU is most of the browser tests' (about 285 CPU-seconds of the slow tier's 1560,
2026-12-04); two of its steps cost Chromium work that nothing measured: the viewport of the next
load set while the tab still held the last page, which Chromium then laid out again at the new
width (up to 0.3 CPU-seconds for chapter 9), and the switch back to the light scheme after the
audit on pages where no keyboard walk or slider follows. Here every step the tour takes is
recorded in its order, with the measurements replaced by stand-ins.
"""

from __future__ import annotations

import book_tour
import pytest
from book_tour import DESKTOP, HIDE_JS, VIEWPORTS, visit
from chromium import ORIGIN

WIDGETS = "book/03-forget-gate.html"
PLAIN = "book/intro.html"


class Steps:
    """A stand-in browser and measurements that only record what the tour asks of them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.log: list[tuple] = []
        self.url = ""
        for name in ("screenshot", "tab_through_page", "move_every_slider"):
            monkeypatch.setattr(book_tour, name, self.recorder(name))
        monkeypatch.setattr(book_tour, "load", self.load)
        monkeypatch.setattr(book_tour, "set_emulation", self.set_emulation)
        monkeypatch.setattr(book_tour, "set_scheme", self.set_scheme)
        monkeypatch.setattr(book_tour, "audit", self.audit)

    def recorder(self, name):
        def record(*args, **kwargs):
            self.log.append((name,))
            return {} if name != "screenshot" else "shot.png"

        return record

    def evaluate(self, session, expression, timeout=None):
        self.log.append(("hide",) if expression == HIDE_JS else ("evaluate",))
        return {}

    def load(self, browser, session, url, stay=None):
        self.log.append(("load", url))
        self.url = url
        views = 2 if url.endswith(WIDGETS) and url.startswith(ORIGIN) else 0
        return {"widget_views": views, "console_errors": [], "widgets_rendered": views}

    def set_emulation(self, browser, session, width, height, scheme):
        self.log.append(("view", width, scheme))

    def set_scheme(self, browser, session, scheme):
        self.log.append(("scheme", scheme))

    def audit(self, browser, session, page, view, out, axe_js):
        self.log.append(("audit", view))
        self.log.append(("scheme", "dark"))  # what audit does last, before the colour rules
        return {}

    def visit(self, tmp_path, page: str) -> list[tuple]:
        html = tmp_path / "html"
        (html / "book").mkdir(parents=True, exist_ok=True)
        (html / page).write_text("<!doctype html><title>t</title>", encoding="utf-8")
        found = {aspect: {} for aspect in book_tour.ASPECTS}
        aspects = set(book_tour.ASPECTS)
        visit(self, "tab", html, tmp_path, page, aspects, "axe", found, lambda message: None)
        return self.log


def test_a_new_viewport_is_set_with_the_last_page_hidden(monkeypatch, tmp_path):
    """Before every change of the viewport or the scheme for a load, the tab's document is
    hidden: Chromium lays out nothing at the new size instead of a page about to be left."""
    log = Steps(monkeypatch).visit(tmp_path, WIDGETS)
    views = [i for i, step in enumerate(log) if step[0] == "view"]
    assert len(views) == len(VIEWPORTS) + 2, log  # each viewport, then the dark and file loads
    assert all(log[i - 1] == ("hide",) for i in views), log
    # Only before a load: nothing is measured on a hidden document.
    assert all(log[i + 1][0] == "load" for i in views), log


@pytest.mark.parametrize("page", [WIDGETS, PLAIN])
def test_the_light_scheme_is_back_before_the_keyboard_and_the_sliders_only(
    monkeypatch, tmp_path, page
):
    """After the audit's dark scheme, the keyboard walk and the sliders run in the light one;
    on a page with neither, the next load sets its own scheme, so the tour does not switch."""
    log = Steps(monkeypatch).visit(tmp_path, page)
    audits = [i for i, step in enumerate(log) if step[0] == "audit"]
    assert len(audits) == len(VIEWPORTS), log
    for at, (view, _, _) in zip(audits, VIEWPORTS, strict=True):
        after = log[at + 2 : next(i for i, s in enumerate(log) if i > at and s[0] == "view")]
        if page == PLAIN:
            assert ("scheme", "light") not in after, (view, after)
            continue
        expected = ["tab_through_page"] + (["move_every_slider"] if view == DESKTOP else [])
        assert after[0] == ("scheme", "light"), (view, after)
        assert [s[0] for s in after[1:] if s[0] not in ("screenshot", "hide")] == expected, after
