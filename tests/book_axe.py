"""What the accessibility tests measure on a loaded page: axe-core's audit, and the stops of
the Tab key (used by ``tests/book_tour.py``; checked by ``tests/test_accessibility.py``).

axe-core is injected through the DevTools protocol (the built pages never carry it) and runs the
WCAG 2.1 A/AA and best-practice rules in the light colour scheme, then, after switching the
emulated scheme without reloading, the colour rules in the dark one. ``tab_through`` presses
Tab from the top of a page and reports, for every stop, what took the focus and how its focus
is drawn.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path

from book_browser import screenshot, set_scheme_media
from chromium import Chromium

# The settings live with the book, which shows them (its accessibility page): the viewports, the
# rule tags of the light scheme, the colour rules of the dark one and the impacts that fail.
_SETTINGS = Path(__file__).resolve().parents[1] / "book" / "_axe_settings.py"
_spec = importlib.util.spec_from_file_location("_axe_settings", _SETTINGS)
_axe_settings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_axe_settings)
VIEWPORTS = _axe_settings.VIEWPORTS
AXE_TAGS = _axe_settings.AXE_TAGS
COLOUR_RULES = _axe_settings.COLOUR_RULES
FAILING_IMPACTS = _axe_settings.FAILING_IMPACTS

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


def redirect_target(path: Path) -> str | None:
    """Where a ``<meta http-equiv="refresh">`` page sends the reader, if it is one."""
    found = re.search(
        r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']\d+;\s*url=([^"']+)""",
        path.read_text(encoding="utf-8"),
        re.IGNORECASE,
    )
    return found.group(1) if found else None


# Buttons fade to their new colours (Bootstrap's .btn has 0.15 s transitions, others up to
# 0.3 s): measured in between, their contrast is neither scheme's. With transitions off, a
# switch of the scheme is complete the moment the theme sets its attribute. Waiting for the
# transitions to end instead needs Chromium to draw frames, which it once stopped doing in
# the middle of the tour (a wait for requestAnimationFrame was never answered: 272 errors,
# 2026-12-01). The end colours are the same either way.
NO_TRANSITIONS_JS = r"""
(() => {
  if (!document.getElementById("tour-no-transitions")) {
    const style = document.createElement("style");
    style.id = "tour-no-transitions";
    style.textContent = "*, *::before, *::after { transition: none !important; }";
    document.head.append(style);
  }
  return getComputedStyle(document.body).transitionDuration;
})()
"""


def run_axe(browser: Chromium, session: str, kind: str, values: list[str]) -> dict:
    """Run the axe rules with these tags (``kind="tag"``) or ids (``kind="rule"``)."""
    run_only = json.dumps({"type": kind, "values": values})
    return browser.evaluate(session, RUN_AXE_JS % {"run_only": run_only})


def set_scheme(browser: Chromium, session: str, scheme: str) -> None:
    """Switch the emulated colour scheme; the theme (default mode "auto") follows it live.

    The page's CSS transitions are turned off first (``NO_TRANSITIONS_JS``), so the colours
    are the scheme's own as soon as the theme has switched.
    """
    if not browser.evaluate(session, "document.documentElement.hasAttribute('data-theme')"):
        set_scheme_media(browser, session, scheme)
        return  # a page without the theme (the root redirect) has no colours of its own
    if browser.evaluate(session, NO_TRANSITIONS_JS) != "0s":
        raise RuntimeError("the page's CSS transitions could not be turned off")
    set_scheme_media(browser, session, scheme)
    deadline = time.monotonic() + browser.timeout
    while browser.evaluate(session, "document.documentElement.dataset.theme") != scheme:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page did not switch to the {scheme} scheme")
        time.sleep(0.05)


def press_tab(browser: Chromium, session: str) -> None:
    for kind in ("rawKeyDown", "keyUp"):
        browser.send(
            "Input.dispatchKeyEvent",
            {"type": kind, "key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9},
            session,
        )


def tab_through(browser: Chromium, session: str, focus_shot: Path) -> dict:
    """Tab from the top of the loaded page until the focus leaves the document or comes round.

    When the focus first reaches a slider, the screen is saved as ``focus_shot``.
    """
    stops = []
    for _ in range(400):  # far more stops than any page has: ends the loop regardless
        press_tab(browser, session)
        stop = browser.evaluate(session, FOCUS_JS)
        if stop is None or (stops and stop["index"] == stops[0]["index"]):
            break
        stops.append(stop)
        first = stop["role"] == "slider" and not any(s["role"] == "slider" for s in stops[:-1])
        if first:
            screenshot(browser, session, focus_shot, full_page=False)
    return {
        "stops": stops,
        "sliders": browser.evaluate(session, SLIDERS_JS),
        "positive_tabindex": browser.evaluate(
            session,
            "[...document.querySelectorAll('[tabindex]')]"
            ".filter((e) => e.tabIndex > 0).map((e) => e.outerHTML.slice(0, 120))",
        ),
    }
