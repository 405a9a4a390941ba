"""Open every page of the built book in headless Chromium and report what a reader sees.

Run by ``tests/test_book.py`` inside a network namespace that has only loopback::

    unshare --map-root-user --net sh -c 'ip link set lo up && exec "$0" "$@"' \\
        python tests/book_browser.py HTML OUT [PAGE...]

It serves HTML with ``python -m http.server`` on 127.0.0.1, drives Chromium over the DevTools
protocol on a pipe (``--remote-debugging-pipe``: no port, no extra package), and prints one JSON
report: per page and mode (served in the light and the dark colour scheme, and opened as a
file), the requests it made, console errors, MathJax and widget state, images, and the
screenshot it saved in OUT.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from base64 import b64decode
from pathlib import Path

HOST, PORT = "127.0.0.1", 8765  # the namespace is new and empty, so a fixed port is free
PAGE_TIMEOUT = 60.0  # seconds for one page to load and settle

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # as root, Chromium refuses to start with its sandbox
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--hide-scrollbars",
    "--mute-audio",
    "--window-size=1280,900",
    "--remote-debugging-pipe",
]

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


class Chromium:
    """A headless Chromium driven over the DevTools protocol on a pipe."""

    def __init__(self, executable: str, user_data_dir: str, log):
        cmd_r, self._cmd_w = os.pipe()  # we write commands, Chromium reads them on fd 3
        self._evt_r, evt_w = os.pipe()  # Chromium writes replies and events on fd 4
        # Let a shell put the two pipe ends on fds 3 and 4 (no preexec_fn: the server's
        # subprocess and this one are started from a single thread, but stay safe anyway).
        shell = 'exec "$0" "$@" 3<&"$CDP_IN" 4>&"$CDP_OUT"'
        self.proc = subprocess.Popen(
            [
                "sh",
                "-c",
                shell,
                executable,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={user_data_dir}",
                "about:blank",
            ],
            pass_fds=(cmd_r, evt_w),
            env={**os.environ, "CDP_IN": str(cmd_r), "CDP_OUT": str(evt_w)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        os.close(cmd_r)
        os.close(evt_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._evt_r], [], [], left)
            if ready:
                chunk = os.read(self._evt_r, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the pipe (exit {self.proc.poll()})")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = PAGE_TIMEOUT,
    ) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = PAGE_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read_message(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._evt_r)


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def settle_document(browser: Chromium, session: str, url: str) -> list[str]:
    """Wait until the tab holds a loaded document that does not redirect; return redirects."""
    check = """document.readyState === 'complete' && document.documentElement
        && !document.querySelector('meta[http-equiv="refresh" i]') ? location.href : ''"""
    deadline = time.monotonic() + PAGE_TIMEOUT
    while time.monotonic() < deadline:
        result = browser.send(
            "Runtime.evaluate", {"expression": check, "returnByValue": True}, session
        )
        href = result.get("result", {}).get("value", "")
        if href:
            return [href] if href != url else []
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not finish loading")


def visit(browser: Chromium, session: str, url: str, shot: Path, dark: bool) -> dict:
    """Load one page and return what was requested, logged and rendered."""
    browser.send(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
        session,
    )
    browser.events.clear()
    browser.send("Page.navigate", {"url": url}, session)
    browser.wait_for("Page.loadEventFired")
    redirects = settle_document(browser, session, url)  # follows a <meta> refresh, as a reader
    page = browser.send(
        "Runtime.evaluate",
        {
            "expression": SETTLE_JS % {"budget_ms": int(PAGE_TIMEOUT * 1000 / 2)},
            "awaitPromise": True,
            "returnByValue": True,
        },
        session,
    )
    if "exceptionDetails" in page:
        raise RuntimeError(f"settle script failed on {url}: {page['exceptionDetails']}")
    report = page["result"]["value"]
    report["redirects"] = redirects
    time.sleep(0.3)  # let late console messages and requests arrive before reading events
    browser.send("Runtime.evaluate", {"expression": "1"}, session)

    metrics = browser.send("Page.getLayoutMetrics", {}, session)
    size = metrics["cssContentSize"]
    png = browser.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {
                "x": 0,
                "y": 0,
                "width": size["width"],
                "height": min(size["height"], 16000),  # Chromium's texture limit is 16384
                "scale": 1,
            },
        },
        session,
    )
    shot.write_bytes(b64decode(png["data"]))

    requests, failed, bad_status, errors = [], [], [], []
    for event in browser.events:
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
    report.update(
        requested=requests,
        failed=failed,
        bad_status=bad_status,
        console_errors=errors,
        screenshot=str(shot),
        dark=dark,
    )
    return report


def log_time(message: str, start: float = time.monotonic()) -> None:
    print(f"[{time.monotonic() - start:6.2f}s] {message}", file=sys.stderr, flush=True)


def main(html_dir: str, out_dir: str, *only: str) -> int:
    html = Path(html_dir).resolve()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # The pages named on the command line (the test names the toc's), else every page there.
    pages = list(only) or sorted(
        p.relative_to(html).as_posix()
        for p in html.rglob("*.html")
        if not p.relative_to(html).parts[0].startswith("_")
    )
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
        log_time("server up")
        browser = Chromium(executable, profile, log)
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", {}, session)
        log_time("browser up")
        browser.send("Network.setCacheDisabled", {"cacheDisabled": True}, session)
        results = []
        # Served over HTTP in the light and the dark colour scheme, and opened as a file, the
        # way `make book` tells a reader to open it.
        modes = [
            ("light", f"http://{HOST}:{PORT}", False),
            ("dark", f"http://{HOST}:{PORT}", True),
            ("file", html.as_uri(), False),
        ]
        for page in pages:
            stem = page.removesuffix(".html").replace("/", "__")
            for mode, origin, dark in modes:
                shot = out / f"{stem}{'' if mode == 'light' else '-' + mode}.png"
                report = visit(browser, session, f"{origin}/{page}", shot, dark)
                report.update(page=page, mode=mode, origin=origin)
                results.append(report)
                log_time(f"visited {page} ({mode})")
        json.dump({"pages": results}, sys.stdout, indent=1)
        return 0
    finally:
        if browser is not None:
            browser.close()
        server.terminate()
        server.wait(timeout=10)
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
        log_time("closed")


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
