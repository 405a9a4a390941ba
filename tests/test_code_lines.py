"""book/_ext/code_lines.py: each line of highlighted code in a box of its own, text unchanged.

Fast: Pygments (Sphinx's highlighter) writes the blocks here as it does in the build. How the
lines wrap and copy in a browser is checked on the built pages (tests/test_book_widgets.py).
"""

from __future__ import annotations

import html
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import code_lines  # noqa: E402

CODE = '''def fit(x, y, params):
    """Two lines
    of docstring."""
    for epoch in range(1, epochs + 1):

        if a >= b and c < d:  # & and > escaped
            grads, _ = clip_grad_norm(grads, clip_norm)
    return {"loss": history}
'''


def block(code: str, **options) -> str:
    """A page's body holding one block, as Sphinx writes it (Pygments' HtmlFormatter)."""
    code_block = highlight(code, PythonLexer(), HtmlFormatter(**options))
    return f"<p>before</p>\n{code_block}<p>after</p>"


class Lines(HTMLParser):
    """The code-line spans of a body: each one's --indent and text; fails on bad nesting."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.lines: list[dict] = []
        self.eols = 0
        self.in_indent = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.stack.append(tag)
        if attrs.get("class") == "code-line":
            indent = re.fullmatch(r"--indent: (\d+)ch", attrs["style"])
            assert self.stack.count("span") == 1, "a code line inside another span"
            self.lines.append({"indent": int(indent.group(1)), "text": "", "spaces": ""})
        if attrs.get("class") == "code-eol":
            self.eols += 1
        self.in_indent = attrs.get("class") == "code-indent"

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()
        self.in_indent = False

    def handle_data(self, data):
        if self.lines and "span" in self.stack:
            self.lines[-1]["text"] += data
            if self.in_indent:
                assert not self.lines[-1]["text"].strip(), "an indentation span after the text"
                self.lines[-1]["spaces"] += data


def hang(body: str) -> str:
    context = {"body": body}
    code_lines.hang_code(None, "page", "page.html", context, None)
    return context["body"]


def text_of(body: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", body))


@pytest.mark.parametrize(
    "options", [{}, {"hl_lines": [2, 3, 6]}], ids=["plain", "emphasised lines"]
)
def test_every_line_is_a_box_with_its_indentation_and_the_text_is_unchanged(options):
    before = block(CODE, **options)
    after = hang(before)
    assert text_of(after) == text_of(before)  # what is copied, character for character
    assert after.startswith("<p>before</p>\n") and after.endswith("</pre></div>\n<p>after</p>")
    parser = Lines()
    parser.feed(after)
    parser.close()
    assert not parser.stack
    lines = CODE.splitlines()
    assert [line["text"] for line in parser.lines] == [line + "\n" for line in lines]
    # each line's indentation: its leading spaces, all of them in code-indent spans
    spaces = [len(line) - len(line.lstrip(" ")) for line in lines]
    assert [line["indent"] for line in parser.lines] == spaces
    assert [len(line["spaces"]) for line in parser.lines] == spaces
    # every newline but the empty line's is hidden in a code-eol span
    assert parser.eols == sum(1 for line in lines if line.strip())


def test_a_last_line_without_its_newline_and_blocks_elsewhere():
    code = "x = 1\n  y"
    body = '<div class="highlight"><pre><span></span>x = 1\n  y</pre></div>'
    after = hang(body + body)
    assert text_of(after) == text_of(body + body)
    parser = Lines()
    parser.feed(after)
    assert [line["text"] for line in parser.lines] == ["x = 1\n", "  y"] * 2
    assert [line["indent"] for line in parser.lines] == [0, 2] * 2
    assert [line["spaces"] for line in parser.lines] == ["", "  "] * 2
    assert code_lines.hang_lines("") == ""
    other = '<div class="output"><pre>not highlighted\n</pre></div>'
    assert hang(other) == other  # only Pygments' blocks
    assert text_of(hang(block(code))) == text_of(block(code))


def test_the_extension_runs_on_every_page_of_the_build():
    connected = []
    app = SimpleNamespace(connect=lambda event, fn: connected.append((event, fn)))
    assert code_lines.setup(app)["parallel_write_safe"]
    assert connected == [("html-page-context", code_lines.hang_code)]
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert re.search(r"^    code_lines: book/_ext\b", config, re.M)
    assert re.search(r"^      - code_lines\b", config, re.M)
    css = (ROOT / "book" / "assets" / "layout.css").read_text(encoding="utf-8")
    assert "span.code-line {" in css and "span.code-eol {" in css
    context = {"title": "no body"}
    code_lines.hang_code(None, "genindex", "genindex.html", context, None)
    assert context == {"title": "no body"}


def test_names_in_tables_may_break_after_an_underscore_or_a_dot_and_nowhere_else():
    """Inline code in a table gets ``<wbr>`` after each ``_`` and ``.`` inside a name (not in a
    number, not in ``__init__``'s leading or trailing underscores) and each ``/`` inside a path,
    in its text only; inline code outside tables and highlighted blocks are left alone."""
    table = (
        '<table class="table"><tr><td><code class="docutils literal notranslate">'
        '<span class="pre">rel_error(a,</span> <span class="pre">b)</span></code></td>'
        '<td><code class="docutils literal notranslate"><span class="pre">lc.HAND_WORKED</span>'
        ' <span class="pre">0.5</span> <span class="pre">__init__</span></code></td>'
        '<td><code class="docutils literal notranslate"><span class="pre">feedback/&lt;id&gt;/'
        "</span></code></td></tr></table>"
    )
    outside = (
        '<p><code class="docutils literal notranslate"><span class="pre">a_b</span></code></p>'
    )
    got = code_lines.break_table_names(outside + table)
    assert got == outside + table.replace("rel_", "rel_<wbr>").replace(
        "lc.HAND_", "lc.<wbr>HAND_<wbr>"
    ).replace("feedback/", "feedback/<wbr>")
    assert re.sub(r"<[^>]*>", "", got) == re.sub(r"<[^>]*>", "", outside + table)  # same text
    context = {"body": table}
    code_lines.hang_code(None, "page", "page.html", context, None)
    assert context["body"] == code_lines.break_table_names(table)
