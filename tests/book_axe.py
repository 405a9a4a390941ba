"""Audit pages of the built book with axe-core, and tab through them, in headless Chromium.

Run by ``tests/test_accessibility.py`` inside a network namespace that has only loopback::

    unshare --map-root-user --net sh -c 'ip link set lo up && exec "$0" "$@"' \\
        python tests/book_axe.py audit HTML OUT AXE_JS PAGE...
    ... python tests/book_axe.py keyboard HTML OUT PAGE...

It reuses ``book_browser.py``'s server, DevTools client and settle script. ``audit`` opens each
page at every viewport of ``VIEWPORTS`` in the light and the dark colour scheme, injects axe-core
through the DevTools protocol (the built pages never carry it), runs the WCAG 2.1 A/AA and
best-practice rules and prints one JSON report of the violations. ``keyboard`` presses Tab
through each page and reports, for every stop, what took the focus and how its focus is drawn.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from base64 import b64decode
from pathlib import Path

from book_browser import (
    HOST,
    PAGE_TIMEOUT,
    PORT,
    SETTLE_JS,
    Chromium,
    log_time,
    settle_document,
    wait_for_port,
)

# (name, width, height): the desktop and phone sizes (#14), in CSS pixels.
VIEWPORTS = [("desktop", 1280, 900), ("phone", 390, 844)]
# WCAG 2.1 level A and AA, and axe's best practices; not AAA, not WCAG 2.2, not experimental.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# The dark scheme: the level-AA colour rules (contrast; links told apart by colour alone).
COLOUR_RULES = ["color-contrast", "link-in-text-block"]

RUN_AXE_JS = r"""
axe.run(document, {runOnly: %(run_only)s, resultTypes: ["violations"]})
  .then((r) => ({
    version: axe.version,
    violations: r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, tags: v.tags,
      nodes: v.nodes.map((n) => ({
        impact: n.impact, target: n.target.map(String).join(" "),
        html: n.html.slice(0, 300), summary: n.failureSummary})),
    })),
  }))
"""

# Describes the focused element and how its focus is drawn (after a Tab key press). The focus
# ring may be drawn on a child (the theme draws a <summary>'s on its chevron), so the element's
# children count too. A ring is drawn by an outline or a box shadow that has a width and a colour
# that is not transparent.
FOCUS_JS = r"""
(() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const transparent = (c) => /^transparent$|rgba\([^)]*,\s*0\)$/.test(c.trim());
  const ring = (e) => {
    const s = getComputedStyle(e);
    const outline = !/^(none|hidden)$/.test(s.outlineStyle) && parseFloat(s.outlineWidth) >= 1
        && !transparent(s.outlineColor);
    const shadow = s.boxShadow !== "none" && /(^|\s)[1-9][\d.]*px/.test(s.boxShadow)
        && !/^rgba\([^)]*,\s*0\)/.test(s.boxShadow);
    return outline || shadow;
  };
  const shown = (e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden";
  };
  const parts = [el, ...el.children];
  const all = [...document.querySelectorAll("*")];
  const s = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const text = (el.getAttribute("aria-label") || el.innerText || el.value || "").trim();
  return {
    tag: el.tagName.toLowerCase(), role: el.getAttribute("role") || "",
    id: el.id, classes: typeof el.className === "string" ? el.className : "",
    text: text.slice(0, 60), index: all.indexOf(el),
    tabindex: el.getAttribute("tabindex"),
    outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, box_shadow: s.boxShadow,
    ring: parts.some((e) => shown(e) && ring(e)),
    focus_visible: el.matches(":focus-visible"),
    visible: parts.some(shown),
    in_viewport: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
  };
})()
"""

SLIDERS_JS = r"""
[...document.querySelectorAll('[role="slider"]')].map((el) => ({
  index: [...document.querySelectorAll("*")].indexOf(el),
  name: el.getAttribute("aria-label") || "",
  labelledby: (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean)
      .map((id) => (document.getElementById(id) || {}).textContent || "").join(" ").trim(),
  valuetext: el.getAttribute("aria-valuetext") || el.getAttribute("aria-valuenow") || "",
  readout: ((el.closest(".widget-slider") || document).querySelector(".widget-readout") || {})
      .textContent || "",
}))
"""


def evaluate(browser: Chromium, session: str, expression: str, timeout: float = PAGE_TIMEOUT):
    """Evaluate ``expression`` in the page (awaiting a promise) and return its value."""
    reply = browser.send(
        "Runtime.evaluate",
        {"expression": expression, "awaitPromise": True, "returnByValue": True},
        session,
        timeout=timeout,
    )
    if "exceptionDetails" in reply:
        raise RuntimeError(f"script failed: {reply['exceptionDetails']}")
    return reply["result"].get("value")


def set_viewport(browser: Chromium, session: str, width: int, height: int, dark: bool) -> None:
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        session,
    )
    browser.send(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
        session,
    )


def open_page(browser: Chromium, session: str, url: str, stay: str | None = None) -> None:
    """Navigate and wait for MathJax, widgets and fonts.

    A page that redirects with ``<meta http-equiv="refresh">`` to ``stay`` (the site's root) is
    audited as itself: the browser's request for ``stay`` is refused, so it stays on the page.
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
    else:
        settle_document(browser, session, url)
    evaluate(browser, session, SETTLE_JS % {"budget_ms": int(PAGE_TIMEOUT * 1000 / 2)})


def redirect_target(path: Path) -> str | None:
    """Where a ``<meta http-equiv="refresh">`` page sends the reader, if it is one."""
    found = re.search(
        r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']\d+;\s*url=([^"']+)""",
        path.read_text(encoding="utf-8"),
        re.IGNORECASE,
    )
    return found.group(1) if found else None


# Buttons fade to their new colours (Bootstrap's .btn has 0.15 s transitions): measured in
# between, their contrast is neither scheme's. Wait two frames for the transitions to start,
# then for every one of them to end.
SETTLE_TRANSITIONS_JS = r"""
new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))
  .then(() => Promise.all(document.getAnimations()
      .filter((a) => a instanceof CSSTransition)
      .map((a) => a.finished.catch(() => null))))
  .then(() => true)
"""


def run_axe(browser: Chromium, session: str, kind: str, values: list[str]) -> dict:
    """Run the axe rules with these tags (``kind="tag"``) or ids (``kind="rule"``)."""
    run_only = json.dumps({"type": kind, "values": values})
    return evaluate(browser, session, RUN_AXE_JS % {"run_only": run_only})


def set_scheme(browser: Chromium, session: str, scheme: str) -> None:
    """Switch the emulated colour scheme; the theme (default mode "auto") follows it live."""
    browser.send(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        session,
    )
    if not evaluate(browser, session, "document.documentElement.hasAttribute('data-theme')"):
        return  # a page without the theme (the root redirect) has no colours of its own
    deadline = time.monotonic() + PAGE_TIMEOUT
    while evaluate(browser, session, "document.documentElement.dataset.theme") != scheme:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page did not switch to the {scheme} scheme")
        time.sleep(0.05)
    evaluate(browser, session, SETTLE_TRANSITIONS_JS)


def audit(browser: Chromium, session: str, html: Path, out: Path, pages, axe_js: str) -> list:
    """Every page at every viewport: all rules in the light scheme, colour rules in the dark.

    The dark scheme changes colours only (same document, same layout), so it is audited with
    the colour rules of WCAG 2.1 AA after switching the emulated scheme, without reloading.
    """
    base = f"http://{HOST}:{PORT}"
    results = []
    for page in pages:
        stay = redirect_target(html / page)
        stem = page.removesuffix(".html").replace("/", "__")
        for view, width, height in VIEWPORTS:
            set_viewport(browser, session, width, height, dark=False)
            open_page(browser, session, f"{base}/{page}", stay)
            evaluate(browser, session, axe_js + "\n;0")
            facts = {
                "page": page,
                "viewport": view,
                "width": width,
                "height": height,
                "url": evaluate(browser, session, "location.href"),
                "lang": evaluate(browser, session, "document.documentElement.lang"),
                "title": evaluate(browser, session, "document.title"),
            }
            for scheme, kind, values in (
                ("light", "tag", AXE_TAGS),
                ("dark", "rule", COLOUR_RULES),
            ):
                if scheme == "dark":
                    set_scheme(browser, session, "dark")
                report = run_axe(browser, session, kind, values)
                shot = out / f"{stem}-{view}-{scheme}.png"
                screenshot_viewport(browser, session, shot)
                report.update(facts, scheme=scheme, rules=values, screenshot=str(shot))
                results.append(report)
                log_time(f"axe {page} {view} {scheme}: {len(report['violations'])} rules")
    return results


def press_tab(browser: Chromium, session: str) -> None:
    for kind in ("rawKeyDown", "keyUp"):
        browser.send(
            "Input.dispatchKeyEvent",
            {"type": kind, "key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9},
            session,
        )


def keyboard(browser: Chromium, session: str, out: Path, pages) -> list:
    """Tab from the top of each page until the focus leaves the document or comes round."""
    base = f"http://{HOST}:{PORT}"
    results = []
    for page in pages:
        stem = page.removesuffix(".html").replace("/", "__")
        for view, width, height in VIEWPORTS:
            set_viewport(browser, session, width, height, dark=False)
            open_page(browser, session, f"{base}/{page}")
            stops = []
            for _ in range(400):  # far more stops than any page has: ends the loop regardless
                press_tab(browser, session)
                stop = evaluate(browser, session, FOCUS_JS)
                if stop is None or (stops and stop["index"] == stops[0]["index"]):
                    break
                stops.append(stop)
                if stop["role"] == "slider" and not any(s["role"] == "slider" for s in stops[:-1]):
                    screenshot_viewport(browser, session, out / f"{stem}-{view}-focus.png")
            results.append(
                {
                    "page": page,
                    "viewport": view,
                    "stops": stops,
                    "sliders": evaluate(browser, session, SLIDERS_JS),
                    "positive_tabindex": evaluate(
                        browser,
                        session,
                        "[...document.querySelectorAll('[tabindex]')]"
                        ".filter((e) => e.tabIndex > 0).map((e) => e.outerHTML.slice(0, 120))",
                    ),
                }
            )
            log_time(f"keyboard {page} {view}: {len(stops)} stops")
    return results


def screenshot_viewport(browser: Chromium, session: str, path: Path) -> None:
    png = browser.send("Page.captureScreenshot", {"format": "png"}, session)
    path.write_bytes(b64decode(png["data"]))


def main(command: str, html_dir: str, out_dir: str, *args: str) -> int:
    html = Path(html_dir).resolve()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if command == "audit":
        axe_js, pages = Path(args[0]).read_text(encoding="utf-8"), args[1:]
    elif command == "keyboard":
        axe_js, pages = "", args
    else:
        raise SystemExit(f"unknown command {command!r}: expected 'audit' or 'keyboard'")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise SystemExit("chromium not found")
    log = open(out / f"{command}-browser.log", "wb")  # closed in finally
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(PORT), "--bind", HOST, "--directory", str(html)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    profile = tempfile.mkdtemp(prefix="book-axe-chromium-")
    browser = None
    try:
        wait_for_port(HOST, PORT)
        browser = Chromium(executable, profile, log)
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime"):
            browser.send(f"{domain}.enable", {}, session)
        if command == "audit":
            results = audit(browser, session, html, out, pages, axe_js)
        else:
            results = keyboard(browser, session, out, pages)
        json.dump({"pages": results}, sys.stdout, indent=1)
        return 0
    finally:
        if browser is not None:
            browser.close()
        server.terminate()
        server.wait(timeout=10)
        log.close()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
