"""One headless Chromium for every browser test, in a network namespace that has only loopback.

``Chromium(html_dir, log_path)`` starts, inside ``unshare --map-root-user --net``, a small
launcher (this file run as a script) that brings up the loopback interface, serves the built
book with ``python -m http.server`` on 127.0.0.1, and starts Chromium with the DevTools
protocol on a pipe (``--remote-debugging-pipe``: no port, no extra package). The test process
drives Chromium over that pipe; the browser can reach the book's server and nothing else.
``tests/conftest.py`` starts one per test session (the ``chromium`` fixture) and closes it at
the end; ``close()`` leaves no process behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST, PORT = "127.0.0.1", 8765  # the namespace is new and empty, so a fixed port is free
ORIGIN = f"http://{HOST}:{PORT}"
PAGE_TIMEOUT = 60.0  # seconds for one page to load and settle, or one command to answer
# A new network namespace holding only a loopback interface. --map-root-user adds a user
# namespace, so this works for a developer who is not root as well as for CI's root.
NETNS = ["unshare", "--map-root-user", "--net"]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # as root (in the user namespace, too), Chromium refuses its sandbox
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


def executable() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if executable() is None:
        return "Debian chromium is not installed (`make chromium` installs it)"
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (util-linux, iproute2) is not installed"
    trial = subprocess.run(
        [*NETNS, "sh", "-c", "ip link set lo up"], capture_output=True, text=True, check=False
    )
    if trial.returncode != 0:
        return f"cannot create a network namespace here: {trial.stderr.strip()}"
    return None


class Chromium:
    """A headless Chromium driven over the DevTools protocol on a pipe, with the book served."""

    def __init__(self, html_dir: Path, log_path: Path, timeout: float = PAGE_TIMEOUT):
        self.timeout = timeout  # for any command or page of this browser (a test may shorten it)
        self._log = open(log_path, "wb")  # closed in close()
        self._profile = tempfile.mkdtemp(prefix="book-chromium-")  # a fresh --user-data-dir
        cmd_r, self._cmd_w = os.pipe()  # we write commands, Chromium reads them on fd 3
        self._evt_r, evt_w = os.pipe()  # Chromium writes replies and events on fd 4
        self.proc = subprocess.Popen(
            [*NETNS, sys.executable, __file__, str(html_dir), self._profile],
            pass_fds=(cmd_r, evt_w),
            env={
                **os.environ,
                "CDP_IN": str(cmd_r),
                "CDP_OUT": str(evt_w),
                # GLib's settings cache (dconf) and any other per-user file: in the profile,
                # removed with it, not in the home folder.
                "XDG_CACHE_HOME": os.path.join(self._profile, "cache"),
                "XDG_CONFIG_HOME": os.path.join(self._profile, "config"),
            },
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,  # one process group: close() can end all of it
        )
        os.close(cmd_r)
        os.close(evt_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []
        self._targets: dict[str, str] = {}  # session: target, of the tabs new_tab opened

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
        timeout: float | None = None,
    ) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def poll(self, timeout: float) -> dict | None:
        """The next message within ``timeout`` seconds (also kept in ``events``), or None."""
        try:
            event = self._read_message(time.monotonic() + timeout)
        except TimeoutError:
            return None
        self.events.append(event)
        return event

    def wait_for(self, method: str, timeout: float | None = None) -> dict:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read_message(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def new_tab(self) -> str:
        """Open a tab and return its session, with the domains the tests read enabled."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self._targets[session] = target
        # The tab in front: Chromium draws no frame for a hidden tab, so nothing that waits for
        # one (requestAnimationFrame, a CSS transition, a change of prefers-color-scheme) ends.
        self.send("Page.bringToFront", {}, session)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", {}, session)
        # Every load fetches every file, so the test sees every request a reader's browser makes.
        self.send("Network.setCacheDisabled", {"cacheDisabled": True}, session)
        return session

    def close_tab(self, session: str) -> None:
        """Close a tab that new_tab opened, even one whose page no longer answers."""
        target = self._targets.pop(session)
        self.send("Target.closeTarget", {"targetId": target}, timeout=min(self.timeout, 10))

    def evaluate(self, session: str, expression: str, timeout: float | None = None):
        """Evaluate ``expression`` in the page (awaiting a promise) and return its value."""
        reply = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session,
            timeout=timeout,
        )
        if "exceptionDetails" in reply:
            raise RuntimeError(f"page script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def close(self) -> None:
        """Close the browser, stop the server, and make sure nothing of either is left."""
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group this process started
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._evt_r)
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)


# --- The launcher, run inside the network namespace -------------------------------------------


def _wait_for_port(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, PORT), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _launch(html_dir: str, profile: str) -> int:
    """Loopback up, the book served, then Chromium on the inherited pipes until it exits."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # Chromium reads commands on fd 3 and writes on fd 4: move the inherited pipe ends there
    # (through fds above 9 first, in case either already sits on 3 or 4).
    high = [fcntl.fcntl(int(os.environ[name]), fcntl.F_DUPFD, 10) for name in ("CDP_IN", "CDP_OUT")]
    for name in ("CDP_IN", "CDP_OUT"):
        os.close(int(os.environ[name]))
    for target, fd in zip((3, 4), high, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    server = subprocess.Popen(  # close_fds: the server holds no end of the pipes
        [sys.executable, "-m", "http.server", str(PORT), "--bind", HOST, "--directory", html_dir],
        stdin=subprocess.DEVNULL,
    )
    try:
        _wait_for_port()
        browser = subprocess.Popen(
            [executable(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4),
            stdin=subprocess.DEVNULL,
        )
        for fd in (3, 4):
            os.close(fd)  # Chromium's copies only: the pipe closes when Chromium exits
        return browser.wait()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(_launch(*sys.argv[1:]))
