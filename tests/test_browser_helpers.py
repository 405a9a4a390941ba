"""The browser tests' own helpers, without a browser: how ``tests/book_browser.py`` waits.

The tour once failed as a whole (272 errors, 2026-11-30) because the site's root, a
``<meta http-equiv="refresh">`` page, navigated away while the check of its document was being
evaluated; DevTools answered "Inspected target navigated or closed". These tests replay the
answers Chromium gave. The later ones replay a page's events to ``settle_events``, which once
slept a fixed 0.3 s: on a slow machine a request still loading then, and the console error
that followed its failure, went unread.
"""

from __future__ import annotations

import pytest
from book_browser import NAVIGATED_AWAY, in_flight, read_events, settle_document, settle_events


class Answers:
    """A stand-in for :class:`chromium.Chromium` whose ``evaluate`` replays ``answers``."""

    timeout = 60.0

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


# --- settle_events: reading a page's late requests and console messages ----------------------


class Events:
    """A stand-in for :class:`chromium.Chromium`'s event stream, on a clock of its own.

    ``poll`` replays ``script``: an event comes ``gap`` seconds into the poll, ``None`` is a
    silence that lasts the whole poll; once the script is over, the stream is silent. The time
    is ``clock``'s, which only ``poll`` advances (``settle_events(..., clock=browser.clock)``):
    the replay is the same however slow the machine, where real sleeps of a few milliseconds
    could stretch past the quiet period on a busy one and end the wait early.
    More than ``most`` polls is an error: a wait that ran on to its deadline.
    """

    def __init__(self, events, script, gap=0.0, most=1000):
        self.events, self.script, self.gap, self.most = list(events), list(script), gap, most
        self.polls = 0
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def poll(self, timeout):
        self.polls += 1
        if self.polls > self.most:
            raise AssertionError(f"still polling after {self.most} polls")
        assert timeout > 0, timeout  # a poll that let no time pass would wait for ever
        item = self.script.pop(0) if self.script else None
        if item is None:
            self.now += timeout
            return None
        self.now += self.gap
        self.events.append(item)
        return item


def settle(browser: Events, quiet: float, timeout: float) -> list[str]:
    """``settle_events`` on the stand-in's clock."""
    return settle_events(browser, quiet=quiet, timeout=timeout, clock=browser.clock)


def sent(rid, url, loader="L1"):
    return {
        "method": "Network.requestWillBeSent",
        "params": {"requestId": rid, "request": {"url": url}, "loaderId": loader},
    }


def navigated(loader, frame="F1"):
    return {"method": "Page.frameNavigated", "params": {"frame": {"id": frame, "loaderId": loader}}}


def ended(rid, method="Network.loadingFinished"):
    return {
        "method": method,
        "params": {"requestId": rid, "type": "Script", "errorText": "net::ERR_FAILED"},
    }


CONSOLE_ERROR = {
    "method": "Runtime.consoleAPICalled",
    "params": {"type": "error", "args": [{"value": "late failure"}]},
}


def test_a_request_slower_than_the_quiet_period_is_waited_for_and_what_follows_it_read():
    """Silences longer than the quiet period while a request is in flight: a slow machine."""
    url = "http://127.0.0.1:8765/_static/late.js"
    browser = Events(
        [sent("7", url)], [None] * 5 + [ended("7", "Network.loadingFailed"), CONSOLE_ERROR]
    )
    assert settle(browser, quiet=0.02, timeout=30) == []
    seen = read_events(browser.events)
    assert seen["failed"] == ["Script: net::ERR_FAILED"]
    assert seen["console_errors"] == ["late failure"]


def test_a_request_that_never_ends_is_reported_at_the_deadline():
    url = "http://127.0.0.1:8765/_static/never.js"
    browser = Events([sent("1", url), sent("2", "http://127.0.0.1:8765/ok.css"), ended("2")], [])
    assert settle(browser, quiet=0.01, timeout=0.2) == [url]


def test_a_quiet_page_is_left_after_the_quiet_period_not_at_the_deadline():
    browser = Events([sent("1", "http://127.0.0.1:8765/a.js"), ended("1")], [], most=20)
    assert settle(browser, quiet=0.02, timeout=30) == []


def test_events_that_are_not_the_pages_do_not_keep_it_waiting():
    """Chromium's own events (a frame stopped loading, a target changed) are not the page's."""
    other = {"method": "Page.frameStoppedLoading", "params": {}}
    browser = Events([], [other] * 5000, gap=0.005, most=1000)
    assert settle(browser, quiet=0.05, timeout=30) == []


def test_a_console_message_restarts_the_quiet_period():
    browser = Events([], [CONSOLE_ERROR] * 3, gap=0.01)
    assert settle(browser, quiet=0.05, timeout=30) == []
    assert len(browser.events) == 3  # all three read before the page counted as quiet


def test_in_flight_follows_each_request_by_its_id():
    events = [
        sent("1", "a"),
        sent("2", "b"),
        ended("1"),
        sent("3", "c"),
        ended("3", "Network.loadingFailed"),
    ]
    assert in_flight(events) == {"2": "b"}
    assert in_flight([ended("9")]) == {}  # the end of a request of the previous page


def test_a_request_of_a_document_the_frame_has_left_is_not_waited_for():
    """The site's root asks for /favicon.ico and redirects at once; Chromium dropped that request
    without a loadingFailed (seen 2026-12-01 on a busy machine), and the tour waited a minute
    and reported it as unfinished."""
    root, intro = "http://127.0.0.1:8765/index.html", "http://127.0.0.1:8765/book/intro.html"
    favicon = "http://127.0.0.1:8765/favicon.ico"
    events = [sent("1", root, "L1"), navigated("L1"), sent("2", favicon, "L1"), ended("1")]
    assert in_flight(events) == {"2": favicon}  # the root still shown: its request counts
    events += [sent("3", intro, "L2"), navigated("L2"), ended("3")]
    assert in_flight(events) == {}
    # A frame of its own (an iframe) that loads again leaves the main document's requests be.
    events += [sent("4", "http://127.0.0.1:8765/a.js", "L2"), navigated("L3", "F2")]
    events += [navigated("L4", "F2")]
    assert in_flight(events) == {"4": "http://127.0.0.1:8765/a.js"}


def test_a_redirected_page_is_left_after_the_quiet_period():
    root, intro = "http://127.0.0.1:8765/index.html", "http://127.0.0.1:8765/book/intro.html"
    events = [
        sent("1", root, "L1"),
        navigated("L1"),
        sent("2", "http://127.0.0.1:8765/favicon.ico"),
    ]
    events += [ended("1"), sent("3", intro, "L2"), navigated("L2"), ended("3")]
    browser = Events(events, [], most=20)  # 20 polls: far fewer than a wait to the deadline
    assert settle(browser, quiet=0.02, timeout=30) == []
