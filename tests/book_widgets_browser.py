"""Open the built book's pages in headless Chromium at a phone's and a laptop's width, measure
what overflows, and move every slider with the keyboard; print one JSON report.

Run by ``tests/test_book_widgets.py`` inside a network namespace that has only loopback::

    unshare --map-root-user --net sh -c 'ip link set lo up && exec "$0" "$@"' \\
        python tests/book_widgets_browser.py HTML OUT PAGE...

Reuses the Chromium driver of ``book_browser.py`` (DevTools protocol on a pipe) and its
``visit``, which loads a page and waits for MathJax and the widget manager.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from book_browser import HOST, PORT, Chromium, log_time, visit, wait_for_port

VIEWPORTS = {"phone": (390, 844), "laptop": (1280, 900)}
KEY_TIMEOUT = 20.0  # seconds for a slider to answer a key press (generous: a busy machine)

# What overflows: the document, code and output blocks, and the widest culprits.
LAYOUT_JS = r"""
(() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o !== "visible") return true;
    }
    return false;
  };
  const describe = (el) => {
    const cls = typeof el.className === "string" ? el.className.split(/\s+/).slice(0, 3) : [];
    return `${el.tagName.toLowerCase()}.${cls.join(".")}: ${(el.textContent || "")
        .trim().slice(0, 60)}`;
  };
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > width + 1 && !clipped(el)) wide.push(describe(el));
    if (wide.length >= 8) break;
  }
  const hidden = [];
  for (const el of document.querySelectorAll(
      ".bd-article pre, .bd-article div.cell_output, .bd-article div.output")) {
    if (el.closest("mjx-container, .lstm-explorer")) continue;
    if (el.scrollWidth > el.clientWidth + 1)
      hidden.push(`${describe(el)} (${el.scrollWidth} > ${el.clientWidth})`);
  }
  const svgs = [...document.querySelectorAll(".bd-article img")]
      .filter((img) => /\.svg$/i.test(img.currentSrc || img.src))
      .map((img) => ({src: img.currentSrc || img.src, alt: img.alt,
                      width: img.getBoundingClientRect().width}));
  return {width, scroll_width: document.documentElement.scrollWidth, wide, hidden, svgs};
})()
"""

# Every slider on the page, and every explorer's positions and read-out, as a reader sees them.
STATE_JS = r"""
(() => {
  const boxes = [...document.querySelectorAll(".lstm-explorer")];
  const text = (el) => (el ? el.textContent.trim() : null);
  const sliders = [...document.querySelectorAll(".widget-slider")].map((el) => {
    const handle = el.querySelector(".noUi-handle");
    return {explorer: boxes.indexOf(el.closest(".lstm-explorer")),
            label: text(el.querySelector(".widget-readout")),
            now: handle && Number(handle.getAttribute("aria-valuenow")),
            max: handle && Number(handle.getAttribute("aria-valuemax"))};
  });
  const explorers = boxes.map((box) => ({
    kind: [...box.classList].filter((c) => c.startsWith("lstm-explorer-"))
        .map((c) => c.slice("lstm-explorer-".length))[0] || null,
    bound: box.dataset.lstmExplorer === "bound",
    positions: [...box.querySelectorAll(".widget-slider .widget-readout")].map(text),
    rows: [...box.querySelectorAll(".lstm-explorer-readout tr")]
        .map((tr) => [...tr.cells].slice(0, 2).map(text)),
  }));
  return {sliders, explorers};
})()
"""


def evaluate(browser: Chromium, session: str, expression: str):
    result = browser.send(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
    )
    if "exceptionDetails" in result:
        raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
    return result["result"].get("value")


def press(browser: Chromium, session: str, key: str, code: int) -> None:
    for kind in ("rawKeyDown", "keyUp"):
        browser.send(
            "Input.dispatchKeyEvent",
            {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code},
            session,
        )


def move_every_slider(browser: Chromium, session: str) -> dict:
    """Focus each slider's handle in turn and press one arrow key; the states around each."""
    deadline = time.monotonic() + KEY_TIMEOUT
    state = evaluate(browser, session, STATE_JS)
    while not all(e["bound"] for e in state["explorers"]) and time.monotonic() < deadline:
        time.sleep(0.1)
        state = evaluate(browser, session, STATE_JS)
    moves = []
    for n, slider in enumerate(state["sliders"]):
        before = state
        right = slider["now"] < slider["max"]
        evaluate(
            browser,
            session,
            f'document.querySelectorAll(".widget-slider")[{n}]'
            '.querySelector(".noUi-handle").focus()',
        )
        press(browser, session, *(("ArrowRight", 39) if right else ("ArrowLeft", 37)))
        deadline = time.monotonic() + KEY_TIMEOUT
        while True:
            state = evaluate(browser, session, STATE_JS)
            if state["sliders"][n]["now"] != slider["now"] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(0.2)  # the read-out follows the handle in a microtask; let it settle
        state = evaluate(browser, session, STATE_JS)
        moves.append(
            {"slider": n, "key": "right" if right else "left", "before": before, "after": state}
        )
    return {"initial": moves[0]["before"] if moves else state, "moves": moves}


def main(html_dir: str, out_dir: str, *pages: str) -> int:
    html = Path(html_dir).resolve()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise SystemExit("chromium not found")
    log = open(out / "browser.log", "wb")  # closed in finally
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(PORT), "--bind", HOST, "--directory", str(html)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    profile = tempfile.mkdtemp(prefix="book-chromium-")
    browser = None
    try:
        wait_for_port(HOST, PORT)
        browser = Chromium(executable, profile, log)
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", {}, session)
        results = []
        for name, (width, height) in VIEWPORTS.items():
            browser.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session,
            )
            for page in pages:
                stem = page.removesuffix(".html").replace("/", "__")
                url = f"http://{HOST}:{PORT}/{page}"
                report = visit(browser, session, url, out / f"{stem}-{name}.png", dark=False)
                entry = {
                    "page": page,
                    "viewport": name,
                    "console_errors": report["console_errors"],
                    "widget_views": report["widget_views"],
                    "widgets_rendered": report["widgets_rendered"],
                    "layout": evaluate(browser, session, LAYOUT_JS),
                }
                if name == "laptop" and report["widget_views"]:
                    entry["sliders"] = move_every_slider(browser, session)
                results.append(entry)
                log_time(f"{page} at {width}x{height}")
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
