"""Load a page of the built book in the shared Chromium and report what a reader sees.

Used by ``tests/book_tour.py``, which visits every page once per viewport for all the browser
tests. ``load`` navigates, waits for MathJax, the widget manager and the fonts, and returns the
requests the page made, its console errors, MathJax and widget state, and its images.
"""

from __future__ import annotations

import math
import time
from base64 import b64decode
from pathlib import Path

from chromium import Chromium

# Runs in the page once it has loaded: waits for MathJax, the widget manager and fonts, then
# returns what a reader would see. Kept as plain ES2017 for any Chromium.
SETTLE_JS = r"""
(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const deadline = Date.now() + %(budget_ms)d;
  const result = {mathjax: null, math: 0, math_typeset: 0, mjx: 0, raw_tex: [],
                  widget_views: 0, widgets_rendered: 0, images: [], fonts: [], title: "",
                  url: location.href, theme: document.documentElement.dataset.theme || ""};
  if (document.querySelector(".math")) {
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() < deadline)
      await sleep(50);
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
      result.mathjax = MathJax.version;
    }
  }
  const views = document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]');
  result.widget_views = views.length;
  // The widget manager renders each view into a .widget-subarea next to its script.
  const rendered = () => document.querySelectorAll(".widget-subarea > .lm-Widget").length;
  while (views.length && rendered() < views.length && Date.now() < deadline) await sleep(50);
  result.widgets_rendered = rendered();
  for (const img of document.images) img.loading = "eager";
  await Promise.all([...document.images].map((img) => img.decode().catch(() => null)));
  await document.fonts.ready;
  result.title = document.title;
  result.math = document.querySelectorAll(".math").length;
  result.math_typeset = [...document.querySelectorAll(".math")]
      .filter((el) => el.querySelector("mjx-container")).length;
  result.mjx = document.querySelectorAll("mjx-container").length;
  // TeX a reader would see as text: outside code, scripts, styles and typeset maths.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let el = node.parentElement; el; el = el.parentElement)
        if (/^(SCRIPT|STYLE|PRE|CODE|TEXTAREA|MJX-CONTAINER|MJX-ASSISTIVE-MML)$/.test(el.tagName))
          return NodeFilter.FILTER_REJECT;
      return NodeFilter.FILTER_ACCEPT;
    }});
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const m = n.textContent.match(/.{0,30}(\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{).{0,30}/);
    if (m) result.raw_tex.push(m[0]);
  }
  result.images = [...document.images].map((img) => ({
      src: img.currentSrc || img.src, alt: img.alt, complete: img.complete,
      naturalWidth: img.naturalWidth}));
  result.fonts = [...document.fonts].map((f) => ({family: f.family, status: f.status}));
  return result;
})()
"""


def set_view(browser: Chromium, session: str, width: int, height: int, scheme: str) -> None:
    """The viewport (a phone's below 600 CSS pixels) and the emulated colour scheme."""
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        session,
    )
    set_scheme_media(browser, session, scheme)


def set_scheme_media(browser: Chromium, session: str, scheme: str) -> None:
    browser.send(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        session,
    )


# What DevTools answers when the document an evaluation ran in went away mid-evaluation.
NAVIGATED_AWAY = (
    "Inspected target navigated or closed",
    "Execution context was destroyed",
    "Cannot find context with specified id",
)


def settle_document(browser: Chromium, session: str, url: str) -> list[str]:
    """Wait until the tab holds a loaded document that does not redirect; return redirects."""
    check = """document.readyState === 'complete' && document.documentElement
        && !document.querySelector('meta[http-equiv="refresh" i]') ? location.href : ''"""
    deadline = time.monotonic() + browser.timeout
    while time.monotonic() < deadline:
        try:
            href = browser.evaluate(session, check)
        except RuntimeError as exc:
            # A redirect (the site's root: <meta http-equiv="refresh">) may navigate away
            # while the check runs; the next document is then checked in its turn.
            if not any(gone in str(exc) for gone in NAVIGATED_AWAY):
                raise
            href = ""
        if href:
            return [href] if href != url else []
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not finish loading")


def load(browser: Chromium, session: str, url: str, stay: str | None = None) -> dict:
    """Load one page and return what was requested, logged and rendered.

    The page follows a ``<meta http-equiv="refresh">``, as a reader's browser does, unless
    ``stay`` names the page it leads to (the site's root): then that request is refused and
    the redirecting page itself is what the tab holds.
    """
    browser.events.clear()
    if stay:
        pattern = {"urlPattern": f"*/{stay}", "resourceType": "Document"}
        browser.send("Fetch.enable", {"patterns": [pattern]}, session)
    browser.send("Page.navigate", {"url": url}, session)
    browser.wait_for("Page.loadEventFired")
    if stay:
        refresh = browser.wait_for("Fetch.requestPaused")
        browser.send(
            "Fetch.failRequest",
            {"requestId": refresh["params"]["requestId"], "errorReason": "Aborted"},
            session,
        )
        browser.send("Fetch.disable", {}, session)
        redirects = []
    else:
        redirects = settle_document(browser, session, url)
    report = browser.evaluate(session, SETTLE_JS % {"budget_ms": int(browser.timeout * 1000 / 2)})
    report["redirects"] = redirects
    unfinished = settle_events(browser)
    report.update(read_events(browser.events))
    report["unfinished"] = unfinished
    browser.events.clear()
    return report


# The events that a late request, console message or error of the page sends.
PAGE_EVENTS = ("Network.", "Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded")
QUIET = 0.3  # seconds without such an event, and no request in flight, before reading them


def in_flight(events: list[dict]) -> dict[str, str]:
    """The requests (id: URL) sent and neither finished nor failed, among ``events``.

    A request of a document that has since been replaced in its frame (the site's root, which
    redirects, asks for /favicon.ico) is not counted: Chromium drops it with the document,
    sometimes without a word, and no reader waits for it.
    """
    sent: dict[str, tuple[str, str | None]] = {}
    current: dict[str, str] = {}  # frame: the loader of the document it holds
    replaced: set[str] = set()  # the loaders of documents that a frame has left
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            sent[params["requestId"]] = (params["request"]["url"], params.get("loaderId"))
        elif method in ("Network.loadingFinished", "Network.loadingFailed"):
            sent.pop(params["requestId"], None)
        elif method == "Page.frameNavigated":
            frame = params["frame"]
            before = current.get(frame["id"])
            if before is not None and before != frame["loaderId"]:
                replaced.add(before)
            current[frame["id"]] = frame["loaderId"]
    return {rid: url for rid, (url, loader) in sent.items() if loader not in replaced}


def settle_events(
    browser, quiet: float = QUIET, timeout: float | None = None, clock=time.monotonic
) -> list[str]:
    """Read DevTools events until every request has ended and the page has been quiet.

    Quiet: no request, console message or error for ``quiet`` seconds. On a slow machine this
    waits as long as the page's requests take (up to ``timeout``), so a late failure or console
    error is read, not missed. Returns the URLs of the requests still unfinished at ``timeout``.
    ``clock`` (seconds) is what the waits are measured with: a test's stand-in for the browser
    passes the clock its ``poll`` advances, so that its replay does not depend on real time.
    """
    deadline = clock() + (browser.timeout if timeout is None else timeout)
    last = clock()
    while True:
        now = clock()
        pending = in_flight(browser.events)
        if now >= deadline:
            return sorted(pending.values())
        if not pending and now - last >= quiet:
            return []
        wait = min(deadline - now, quiet if pending else quiet - (now - last))
        event = browser.poll(max(wait, 0.01))
        if event is not None and str(event.get("method", "")).startswith(PAGE_EVENTS):
            last = clock()


def read_events(events: list[dict]) -> dict:
    """Requests, failed loads and console errors among the DevTools events of one load."""
    requests, failed, bad_status, errors = [], [], [], []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            requests.append(params["request"]["url"])
        elif method == "Network.loadingFailed":
            failed.append(f"{params.get('type')}: {params.get('errorText')}")
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            bad_status.append(f"{params['response']['status']} {params['response']['url']}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            errors.append(
                " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
                )
            )
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            errors.append(details.get("exception", {}).get("description", details.get("text")))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(f"{params['entry']['text']} {params['entry'].get('url', '')}".strip())
    return {
        "requested": requests,
        "failed": failed,
        "bad_status": bad_status,
        "console_errors": errors,
    }


def screenshot(browser: Chromium, session: str, path: Path, full_page: bool = True) -> str:
    """Save the whole page (or only the viewport) as a PNG; return its path.

    The whole page is taken with the viewport made as tall as the page (up to Chromium's
    texture limit), then put back: ``captureBeyondViewport`` painted some pages' text and
    sidebar only in part (chapter 7 at 1280 px: the left third of the article blank, code
    blocks empty), though their layout was right, which made the screenshots a reader review
    relies on untrue (``test_a_whole_page_screenshot_shows_what_the_viewport_shows``).
    """
    params: dict = {"format": "png", "optimizeForSpeed": True}  # faster zlib, same pixels
    if not full_page:
        png = browser.send("Page.captureScreenshot", params, session)
        path.write_bytes(b64decode(png["data"]))
        return str(path)
    width, height = browser.evaluate(session, "[innerWidth, innerHeight]")
    size = browser.send("Page.getLayoutMetrics", {}, session)["cssContentSize"]
    tall = max(height, min(math.ceil(size["height"]), 16000))  # Chromium's texture limit: 16384
    metrics = {"width": width, "deviceScaleFactor": 1, "mobile": width < 600}
    browser.send("Emulation.setDeviceMetricsOverride", {**metrics, "height": tall}, session)
    try:
        browser.evaluate(  # two frames: laid out and painted at the new size
            session, "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        png = browser.send("Page.captureScreenshot", params, session)
    finally:
        browser.send("Emulation.setDeviceMetricsOverride", {**metrics, "height": height}, session)
    path.write_bytes(b64decode(png["data"]))
    return str(path)
