"""The browser tests' own helpers, without a browser: how ``tests/book_browser.py`` waits.

The tour once failed as a whole (272 errors, 2026-11-30) because the site's root, a
``<meta http-equiv="refresh">`` page, navigated away while the check of its document was being
evaluated; DevTools answered "Inspected target navigated or closed". These tests replay the
answers Chromium gave.
"""

from __future__ import annotations

import pytest
from book_browser import NAVIGATED_AWAY, settle_document


class Answers:
    """A stand-in for :class:`chromium.Chromium` whose ``evaluate`` replays ``answers``."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0

    def evaluate(self, session, expression):
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def devtools_error(message: str) -> RuntimeError:
    """The exception ``Chromium.send`` raises for an error reply (tests/chromium.py)."""
    return RuntimeError(f"Runtime.evaluate: {{'code': -32000, 'message': '{message}'}}")


@pytest.mark.parametrize("message", NAVIGATED_AWAY)
def test_a_document_that_navigates_away_mid_check_is_checked_again(message):
    root, intro = "http://127.0.0.1:8765/index.html", "http://127.0.0.1:8765/book/intro.html"
    browser = Answers("", devtools_error(message), intro)
    assert settle_document(browser, "tab", root) == [intro]
    assert browser.calls == 3


def test_any_other_devtools_error_is_raised():
    browser = Answers(devtools_error("Target closed"))
    with pytest.raises(RuntimeError, match="Target closed"):
        settle_document(browser, "tab", "http://127.0.0.1:8765/index.html")


def test_a_page_that_stays_has_no_redirects():
    url = "http://127.0.0.1:8765/book/intro.html"
    assert settle_document(Answers(url), "tab", url) == []
