"""The built book in _build/html, as a reader gets it: complete, offline and accessible.

``make test`` builds the book first (``make book``). The static checks read the HTML files; the
browser check (slow) reads the session's tour of every page in headless Chromium with no
network but loopback (``tests/conftest.py``, ``tests/book_tour.py``).
"""

from __future__ import annotations

import itertools
import json
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"

# Every check here reads the built book (`make book`): none belongs to the fast tier.
pytestmark = pytest.mark.slow

# Pages Sphinx writes besides the toc's: the redirecting home page, search and the index.
EXTRA_PAGES = ["index", "search", "genindex"]
# Attributes through which a browser fetches something on its own (an <a href> waits for a click).
FETCHING = {"src", "href", "srcset", "data", "poster", "action", "formaction", "background"}
EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)  # a scheme or //host
HARMLESS_SCHEMES = ("data:", "blob:", "about:", "mailto:", "javascript:void")
URL_IN_TEXT = re.compile(r"""(?:https?:)?//(?!www\.w3\.org/)[a-z0-9.-]+\.[a-z]{2,}[/"')\s]""", re.I)


def toc_docnames() -> list[str]:
    """Every page _toc.yml lists, read by the same parser Jupyter Book uses."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    return list(parse_toc_yaml(ROOT / "_toc.yml").keys())


ALL_PAGES = toc_docnames() + EXTRA_PAGES


class Page(HTMLParser):
    """What the checks need from one HTML page."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.fetches: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.links: list[str] = []  # <a href>
        self.images: list[dict[str, str | None]] = []
        self.headings: list[int] = []  # levels inside the article, in order
        self.scripts: list[tuple[dict[str, str | None], str]] = []  # (attributes, inline body)
        self.styles: list[str] = []
        self._article_depth = 0
        self._in: tuple[str, dict[str, str | None]] | None = None
        self._body: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if value is None:
                continue
            if name == "href" and tag == "a":
                self.links.append(value)
            elif name in FETCHING or name == "style" or name.startswith("data-jupyter-widgets"):
                self.fetches.append((tag, name, value))
        if tag == "img":
            self.images.append(attributes)
        if tag == "article" and "bd-article" in (attributes.get("class") or "").split():
            self._article_depth = 1
        elif tag == "article" and self._article_depth:
            self._article_depth += 1
        if self._article_depth and re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag in ("script", "style"):
            self._in, self._body = (tag, attributes), []

    def handle_endtag(self, tag):
        if tag == "article" and self._article_depth:
            self._article_depth -= 1
        if self._in and tag == self._in[0]:
            body = "".join(self._body)
            if tag == "script":
                self.scripts.append((self._in[1], body))
            else:
                self.styles.append(body)
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._body.append(data)


@cache
def parsed(docname: str) -> Page:
    path = HTML / f"{docname}.html"
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: build the book with `make book`")
    return Page(path)


def resolve(page: Page, url: str) -> Path:
    """The file a page-relative URL points to."""
    return (page.path.parent / unquote(urlsplit(url).path)).resolve()


@pytest.fixture(scope="session", autouse=True)
def built_book():
    if not (HTML / "index.html").is_file():
        pytest.fail("_build/html is missing: `make test` builds it, or run `make book` first")


@pytest.mark.parametrize("docname", toc_docnames())
def test_every_toc_page_is_built(docname):
    assert (HTML / f"{docname}.html").is_file(), f"{docname} is in _toc.yml but was not built"


def test_home_page_redirects_to_the_toc_root():
    root = toc_docnames()[0]
    meta = re.search(
        r'http-equiv="Refresh" content="0; url=([^"]+)"',
        (HTML / "index.html").read_text(encoding="utf-8"),
        re.IGNORECASE,
    )
    assert meta, "index.html does not redirect"
    assert meta.group(1) == f"{root}.html"


@pytest.mark.parametrize("docname", ALL_PAGES)
def test_page_fetches_nothing_from_another_host(docname):
    page = parsed(docname)
    external = [
        f"<{tag} {name}={value!r}>"
        for tag, name, value in page.fetches
        if name != "style"
        and EXTERNAL.match(value)
        and not value.strip().lower().startswith(HARMLESS_SCHEMES)
    ]
    external += [
        f"<{tag} style> loads {value!r}"
        for tag, name, value in page.fetches
        if name == "style" and re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", value)
    ]
    # Inline code and styles must not carry addresses either (sphinx-thebe used to put a CDN's
    # there); an XML namespace such as the SVG one is a name, not a fetch.
    for attributes, body in page.scripts:
        external += [
            f"inline <script type={attributes.get('type')!r}>: {m.group(0)!r}"
            for m in URL_IN_TEXT.finditer(body)
        ]
    for body in page.styles:
        external += [f"inline <style>: {m.group(0)!r}" for m in URL_IN_TEXT.finditer(body)]
    assert not external, f"{docname} refers to other hosts:\n" + "\n".join(external)


def test_stylesheets_load_nothing_from_another_host():
    found = []
    for css in HTML.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        for m in re.finditer(r"(?:url\(|@import)\s*['\"]?\s*((?:https?:)?//[^'\")\s]+)", text):
            found.append(f"{css.relative_to(HTML)}: {m.group(1)}")
    assert not found, "stylesheets fetch from other hosts:\n" + "\n".join(found)


@pytest.mark.parametrize("docname", ALL_PAGES)
def test_local_references_exist(docname):
    page = parsed(docname)
    missing = []
    for tag, name, value in page.fetches:
        if name in ("src", "href") and not EXTERNAL.match(value) and urlsplit(value).path:
            if not resolve(page, value).is_file():
                missing.append(f"<{tag} {name}={value!r}>")
    for value in page.links:
        if not EXTERNAL.match(value) and urlsplit(value).path:
            if not resolve(page, value).exists():
                missing.append(f"<a href={value!r}>")
    assert not missing, f"{docname} points at files that are not in the build:\n" + "\n".join(
        missing
    )


@pytest.mark.parametrize("docname", ALL_PAGES)
def test_only_the_vendored_entry_points_are_loaded(docname):
    """MathJax and the widget manager load their parts themselves; no page lists them.

    Guards against Jupyter Book 1 turning every .js/.css of the static folders into a tag
    (what happens when a folder named _static exists at the book's root).
    """
    srcs = [
        value for tag, name, value in parsed(docname).fetches if tag == "script" and name == "src"
    ]
    vendored = [s for s in srcs if re.search(r"_static/(mathjax|jupyter-widgets|requirejs)/", s)]
    allowed = ("mathjax/tex-mml-chtml.js", "jupyter-widgets/embed-amd.js", "requirejs/require.js")
    assert all(urlsplit(s).path.endswith(allowed) for s in vendored), vendored
    assert len(srcs) < 30, f"{docname} loads {len(srcs)} scripts"


def test_mathjax_fonts_are_vendored():
    fonts = HTML / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert (fonts / "MathJax_Main-Regular.woff").is_file()
    assert (fonts / "MathJax_Math-Italic.woff").is_file()


@pytest.mark.parametrize("docname", ALL_PAGES)
def test_every_image_has_alt_text(docname):
    without = [
        img.get("src") for img in parsed(docname).images if not (img.get("alt") or "").strip()
    ]
    assert not without, f"{docname}: images without alt text: {without}"


@pytest.mark.parametrize("docname", ALL_PAGES)
def test_a_cells_printed_text_is_one_output_box(docname):
    """Text a cell prints in several flushes is merged (nb_merge_streams in _config.yml)."""
    html = parsed(docname).path.read_text(encoding="utf-8")
    # a stream output's box closes and the next output is a stream again: two boxes of text
    split = re.findall(r'</pre></div>\s*</div>\s*<div class="output stream', html)
    assert not split, f"{docname}: {len(split)} cell outputs split into several text boxes"


@pytest.mark.parametrize("docname", toc_docnames())
def test_headings_descend_one_level_at_a_time(docname):
    levels = parsed(docname).headings
    assert levels, f"{docname} has no headings in its article"
    assert levels[0] == 1 and levels.count(1) == 1, f"{docname}: one h1 first, got {levels}"
    skips = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
    assert not skips, f"{docname}: heading levels skip in {levels}: {skips}"


@pytest.mark.parametrize("docname", toc_docnames())
def test_widgets_have_saved_state(docname):
    """A static page can show a widget only from the state saved when the page was executed.

    The pages with sliders are named by hand (``test_book_widgets.slider_pages``): they must
    have widget views, and every other page must have none.
    """
    # imported here: test_book_widgets imports this module at its top
    from test_book_widgets import slider_pages

    page = parsed(docname)
    views = [
        json.loads(body)
        for attributes, body in page.scripts
        if attributes.get("type") == "application/vnd.jupyter.widget-view+json"
    ]
    if docname not in slider_pages():
        assert not views, f"{docname}: {len(views)} widget views on a page without sliders"
        return
    assert views, f"{docname}: no widget views, yet its sliders are named in slider_pages"
    states = [
        json.loads(body)
        for attributes, body in page.scripts
        if attributes.get("type") == "application/vnd.jupyter.widget-state+json"
    ]
    assert len(states) == 1, f"{docname}: {len(states)} widget-state scripts"
    models = states[0]["state"]
    assert all(view["model_id"] in models for view in views), f"{docname}: views without state"
    srcs = [value for tag, name, value in page.fetches if tag == "script" and name == "src"]
    assert any("jupyter-widgets/embed-amd.js" in s for s in srcs), "no widget manager"


# --- In a browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_report(book_tour):
    """Each page as a reader opens it (``tests/book_tour.py``; the session's one Chromium)."""
    return book_tour["reader"]


@pytest.mark.slow
def test_the_tour_measured_every_page(book_tour):
    """A page the tour could not measure fails its own tests too; this lists them all at once."""
    assert book_tour["errors"] == {}, "\n".join(f"{p}: {e}" for p, e in book_tour["errors"].items())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["light", "dark", "file"])
@pytest.mark.parametrize("docname", ALL_PAGES)
def test_reader_sees_the_page(browser_report, docname, mode):
    """Served on 127.0.0.1 (light and dark colour scheme) or opened as a file:// page."""
    page = browser_report[(f"{docname}.html", mode)]
    origin = page["origin"]
    problems = []
    # The checks of requests below read DevTools' network events: the page's own request
    # must be among them, or an empty list would pass them all.
    if f"{origin}/{docname}.html" not in page["requested"]:
        problems.append(f"the page's own request is not among those seen: {page['requested']}")
    elsewhere = [
        u
        for u in page["requested"]
        if not (u.startswith(origin + "/") or u.startswith(HARMLESS_SCHEMES))
    ]
    if elsewhere:
        problems.append(f"requests that would leave the machine: {elsewhere}")
    if page["failed"] or page["bad_status"]:
        problems.append(f"failed loads: {page['failed'] + page['bad_status']}")
    if page["unfinished"]:
        problems.append(f"requests unfinished after a minute: {page['unfinished']}")
    if page["console_errors"]:
        problems.append(f"console errors: {page['console_errors']}")
    if page["math"]:
        if not (page["mathjax"] or "").startswith("3."):
            problems.append(f"MathJax 3 did not start (got {page['mathjax']!r})")
        if page["math_typeset"] != page["math"]:
            problems.append(f"only {page['math_typeset']} of {page['math']} equations typeset")
    if page["raw_tex"]:
        problems.append(f"raw TeX shown as text: {page['raw_tex']}")
    broken = [
        img["src"] for img in page["images"] if not (img["complete"] and img["naturalWidth"] > 0)
    ]
    if broken:
        problems.append(f"images that did not load: {broken}")
    if page["widgets_rendered"] < page["widget_views"]:
        problems.append(f"{page['widgets_rendered']} of {page['widget_views']} widgets shown")
    bad_fonts = sorted({f["family"] for f in page["fonts"] if f["status"] == "error"})
    if bad_fonts:
        problems.append(f"fonts that failed to load: {bad_fonts}")
    scheme = "dark" if mode == "dark" else "light"
    if page["theme"] != scheme:
        problems.append(f"colour scheme {page['theme']!r}, wanted {scheme!r}")
    if not Path(page["screenshot"]).is_file():
        problems.append("no screenshot")
    assert not problems, f"{docname} ({mode}):\n" + "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["light", "file"])
def test_home_page_lands_on_the_introduction(browser_report, mode):
    page = browser_report[("index.html", mode)]
    assert page["url"] == f"{page['origin']}/{toc_docnames()[0]}.html"


@pytest.mark.slow
@pytest.mark.parametrize("view, width, height", [("desktop", 1280, 900), ("phone", 390, 844)])
def test_a_whole_page_screenshot_shows_what_the_viewport_shows(
    chromium, tmp_path, view, width, height
):
    """The whole-page screenshots (the ones looked at in reviews) show the page as its reader
    sees it: the first screenful of the whole page is, over the article, the screenshot of the
    viewport (to a few levels of a pixel's colour). Taken with ``captureBeyondViewport``,
    chapter 7 at 1280 px came out with the left third of its article blank and its code blocks
    empty."""
    from book_browser import load, screenshot, set_view
    from chromium import ORIGIN
    from PIL import Image, ImageChops

    session = chromium.new_tab()
    try:
        set_view(chromium, session, width, height, "light")
        load(chromium, session, f"{ORIGIN}/book/07-whole-cell.html")
        box = chromium.evaluate(
            session,
            "(() => { const r = document.querySelector('.bd-article').getBoundingClientRect();"
            " return [r.left, r.top, r.right, Math.min(r.bottom, innerHeight)]"
            ".map(Math.floor); })()",
        )
        shown = Image.open(screenshot(chromium, session, tmp_path / "view.png", False))
        whole = Image.open(screenshot(chromium, session, tmp_path / "page.png"))
        assert chromium.evaluate(session, "[innerWidth, innerHeight]") == [width, height]
    finally:
        chromium.close_tab(session)
    assert whole.width == width and whole.height > 3 * height, whole.size
    differ = ImageChops.difference(shown.convert("RGB").crop(box), whole.convert("RGB").crop(box))
    # Beyond rounding (a level or two of a few pixels of antialiased text on a phone):
    beyond = differ.point(lambda level: 255 if level > 16 else 0)
    assert beyond.getbbox() is None, f"{view}: the article differs in {beyond.getbbox()}"
