"""The browser tour survives a page on which the browser fails, and says which page and why.

The whole tour once failed at its first page: Chromium never answered a wait for two animation
frames (``requestAnimationFrame``) after the switch to the dark scheme, and all 272 tests that
read the tour errored (CI, 2026-12-01). The tour no longer waits for frames, and a failure now
costs only the page it happened on. Here a real Chromium tours a small site in which some
pages never finish loading: their script keeps the tour's wait for MathJax open for ever, or
makes it fail.
"""

from __future__ import annotations

import pytest
from book_browser import SETTLE_JS
from book_tour import MOST_FAILURES_IN_A_ROW, tour
from chromium import ORIGIN, Chromium, unavailable

pytestmark = pytest.mark.slow

HEAD = "<!doctype html><html lang='en'><title>{name}</title><link rel='icon' href='data:,'>"
PAGE = HEAD + "<p>{name}</p></html>"
# MathJax's promise, which the tour awaits on a page with maths: one that never settles (the
# browser's answer never comes), and one that fails (the page's script fails at once).
HANG = (
    HEAD + "<p class='math'>x</p>"
    "<script>window.MathJax = {{startup: {{promise: new Promise(() => {{}})}}}};</script></html>"
)
BROKEN = (
    HEAD + "<p class='math'>x</p><script>window.MathJax = "
    "{{startup: {{promise: Promise.reject(new Error('no MathJax'))}}}};</script></html>"
)
# Seconds the tour waits for the hanging pages' MathJax, which never settles: the wait always
# runs out, whatever the machine's speed, so its length only bounds the test's time. Every
# other command keeps the browser's generous default (chromium.PAGE_TIMEOUT), so the pages
# that load fine never depend on answering quickly.
HANG_WAIT = 10.0
# The start of book_browser.load's settle script, whose evaluation awaits MathJax's promise.
SETTLE_START = SETTLE_JS.split("%(budget_ms)d")[0]


class ShortWaitOnHangingPages(Chromium):
    """The tour's browser, but the wait for a hanging page's MathJax lasts ``HANG_WAIT``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.at: dict[str, str] = {}  # session: the URL its tab was last sent to

    def send(self, method, params=None, session=None, timeout=None):
        if method == "Page.navigate":
            self.at[session] = params["url"]
        return super().send(method, params, session, timeout)

    def evaluate(self, session, expression, timeout=None):
        hanging = self.at.get(session, "").rsplit("/", 1)[-1].startswith("hang")
        if hanging and timeout is None and expression.startswith(SETTLE_START):
            timeout = HANG_WAIT
        return super().evaluate(session, expression, timeout)


@pytest.fixture(scope="module")
def toured(tmp_path_factory):
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("tour")
    site = tmp / "site"
    site.mkdir()
    pages = ["ok1", "hang1", "ok2", "broken2", "broken3", "ok3"]
    for name in pages:
        page = {"hang": HANG, "broken": BROKEN}.get(name.rstrip("0123456789"), PAGE)
        (site / f"{name}.html").write_text(page.format(name=name), encoding="utf-8")
    browser = ShortWaitOnHangingPages(site, tmp / "chromium.log")
    try:
        with open(tmp / "tour.log", "w", encoding="utf-8") as log:
            reports = tour(
                browser, site, tmp / "out", [f"{p}.html" for p in pages], {"reader"}, log=log
            )
    finally:
        browser.close()
    return reports


def test_the_pages_around_a_failed_one_are_measured(toured):
    assert MOST_FAILURES_IN_A_ROW == 2  # what this site's order of pages is made for
    for name in ("ok1", "ok2"):
        for mode in ("light", "dark", "file"):
            report = toured["reader"][(f"{name}.html", mode)]
            assert report["title"] == name, report
            assert report["console_errors"] == [] and report["unfinished"] == []
        assert toured["reader"][(f"{name}.html", "light")]["url"] == f"{ORIGIN}/{name}.html"


def test_a_failed_page_fails_its_own_lookups_with_what_went_wrong(toured):
    assert set(toured["errors"]) == {"hang1.html", "broken2.html", "broken3.html", "ok3.html"}
    for name, why in (
        ("hang1", "TimeoutError: no answer from Chromium"),
        ("broken2", "RuntimeError: page script failed"),
        ("broken3", "RuntimeError: page script failed"),
    ):
        assert (f"{name}.html", "light") not in toured["reader"]
        with pytest.raises(AssertionError) as failed:
            toured["reader"][(f"{name}.html", "light")]
        message = str(failed.value)
        assert f"'{name}.html'" in message and why in message, message
        # The page's own script failed; the tab itself still answered, and was in front.
        assert f"the tab is visible, at {ORIGIN}/{name}.html" in message, message
    assert "no MathJax" in toured["errors"]["broken2.html"]


def test_after_failures_in_a_row_the_rest_is_not_visited(toured):
    """A browser that stops answering would cost a timeout per command on every page left."""
    assert toured["errors"]["ok3.html"] == "not visited: the browser failed on 2 pages in a row"
    with pytest.raises(AssertionError, match=r"ok3\.html.*not visited"):
        toured["reader"][("ok3.html", "light")]
