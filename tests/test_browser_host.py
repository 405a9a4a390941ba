"""The test browser leaves nothing on the host: no file in the home folder, no process.

Chromium with only a fresh ``--user-data-dir`` still wrote GLib's settings cache
(``~/.cache/dconf/user``) and ``~/.config/chromium/Crash Reports/settings.dat`` on every run
(seen 2026-11-30); ``tests/chromium.py`` now points its per-user folders into the profile,
which is removed on close.
"""

from __future__ import annotations

import psutil
import pytest
from book_browser import load
from chromium import Chromium, unavailable

pytestmark = pytest.mark.slow


def test_a_browser_session_leaves_the_home_folder_untouched(tmp_path, monkeypatch):
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    home, site = tmp_path / "home", tmp_path / "site"
    home.mkdir()
    site.mkdir()
    (site / "index.html").write_text(
        "<!doctype html><html lang='en'><title>t</title><p>A page with <b>text</b>.</p></html>"
    )
    monkeypatch.setenv("HOME", str(home))  # the environment the browser is started with
    browser = Chromium(site, tmp_path / "chromium.log")
    try:
        started = psutil.Process(browser.proc.pid)
        session = browser.new_tab()
        load(browser, session, "http://127.0.0.1:8765/index.html")
        assert browser.evaluate(session, "document.body.innerText") == "A page with text."
        tree = [started, *started.children(recursive=True)]
        assert any("chrom" in p.name() for p in tree), "no Chromium process was started"
    finally:
        browser.close()
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []
    _, alive = psutil.wait_procs(tree, timeout=30)
    assert alive == [], f"left running: {alive}"
