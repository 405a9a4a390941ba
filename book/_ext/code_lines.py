"""Code that wraps on a narrow screen keeps its indentation (a local Sphinx extension).

The book wraps long lines of code instead of cutting them off (``book/assets/layout.css``,
issue #11). A wrapped line of Python then went on at the left edge of the box, below the
enclosing ``for`` or ``def``, where a reader takes it for a line of its own: on a phone the
listing of ``lc.fit`` in chapter 10 lost its block structure. Here every line of a highlighted
block (``<div class="highlight"><pre>``: listings, code cells and their text outputs) becomes
a ``<span class="code-line">`` whose wrapped parts hang four columns right of the line's own
indentation (the ``--indent`` the stylesheet reads).

The text is unchanged: each line keeps its newline, in a ``<span class="code-eol">`` the
stylesheet hides (the line's box already ends the line; an empty line keeps its newline
visible, which gives it its height). The copy button copies the block's text content, and a
reader who selects the block and copies it gets the same lines (``tests/test_book_widgets.py``
checks both in Chromium, and that wrapped parts hang).

Inline code in a table gets a break opportunity (``<wbr>``, no text) after each ``_`` and
``.`` inside a name, and after each ``/`` inside a path: on a phone a table squeezed
``rel_error(a, b)`` into "rel_erro" above "r(a, b)"; now such a name breaks as "rel_" above
"error(a, b)", and the stylesheet breaks a name elsewhere only if one of its parts cannot fit
at all.
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx

BLOCK = re.compile(r'(<div class="highlight"><pre>)(.*?)(</pre></div>)', re.DOTALL)
# Pygments writes flat <span class="..."> tokens (nested only for emphasised lines) and text.
PIECE = re.compile(r"(<span[^>]*>|</span>)")


def hang_lines(block: str) -> str:
    """The inner HTML of a ``<pre>`` with every line in a ``code-line`` span of its own.

    Spans open at a line's end are closed there and opened again on the next line, so every
    line is well nested. A line's leading spaces go into ``code-indent`` spans (the stylesheet
    takes them out of the line's flow, and the line's padding shows the indentation instead):
    a line could otherwise break right after them and start its text on a row of its own.
    Text and entities are left as they are.
    """
    lines: list[str] = []
    current: list[str] = []
    indent = 0  # the line's leading spaces, until its first other character (then -1 - count)
    open_tags: list[str] = []
    for piece in PIECE.split(block):
        if piece.startswith("<span"):
            open_tags.append(piece)
            current.append(piece)
        elif piece == "</span>":
            if open_tags:
                open_tags.pop()
            current.append(piece)
        else:
            parts = piece.split("\n")
            for number, part in enumerate(parts):
                if indent >= 0 and part:
                    spaces = len(part) - len(part.lstrip(" "))
                    if spaces:
                        current.append(f'<span class="code-indent">{part[:spaces]}</span>')
                    indent += spaces
                    part = part[spaces:]
                    if part:
                        indent = -1 - indent
                current.append(part)
                if number < len(parts) - 1:  # the line ends here
                    current.extend("</span>" for _ in open_tags)
                    lines.append(_line("".join(current), indent))
                    current = list(open_tags)
                    indent = 0
    if _has_text(current):  # a last line without its newline (else only emptied spans)
        current.extend("</span>" for _ in open_tags)
        lines.append(_line("".join(current), indent, newline=False))
    return "".join(lines)


def _has_text(pieces: list[str]) -> bool:
    return any(p and not p.startswith("<") for p in pieces)


def _line(inner: str, indent: int, newline: bool = True) -> str:
    """One line's span; ``indent`` is its leading spaces, coded as in ``hang_lines``."""
    blank = indent >= 0  # nothing but spaces, or nothing
    spaces = indent if blank else -1 - indent
    if not newline:
        end = ""
    elif blank:
        end = "\n"  # an empty line: its visible newline gives it its height
    else:
        end = '<span class="code-eol">\n</span>'
    return f'<span class="code-line" style="--indent: {spaces}ch">{inner}{end}</span>'


TABLE = re.compile(r"<table\b.*?</table>", re.DOTALL)
INLINE_CODE = re.compile(r'(<code class="[^"]*\bliteral\b[^"]*">)(.*?)(</code>)', re.DOTALL)
TAG = re.compile(r"(<[^>]*>)")
# Between two characters of a name: after an underscore ("rel_|error"), after a dot between
# words ("lc.|GATES"; not in a number such as 0.5), after a slash inside a path
# ("autograded/|&lt;student&gt;/": the text is HTML, its "<" an entity).
NAME_BREAK = re.compile(
    r"(?<=[A-Za-z0-9])_(?=[A-Za-z0-9])|(?<=[A-Za-z_])\.(?=[A-Za-z_])|(?<=[\w;])/(?=[\w&])"
)


def name_breaks(code: str) -> str:
    """The inner HTML of an inline ``<code>`` with ``<wbr>`` after each ``_`` and ``.`` of a
    name and each ``/`` of a path, in its text only (tags and entities left as they are)."""
    return "".join(
        piece if piece.startswith("<") else NAME_BREAK.sub(lambda m: m.group(0) + "<wbr>", piece)
        for piece in TAG.split(code)
    )


def break_table_names(body: str) -> str:
    """``body`` with :func:`name_breaks` applied to the inline code in its tables."""
    return TABLE.sub(
        lambda t: INLINE_CODE.sub(
            lambda m: m.group(1) + name_breaks(m.group(2)) + m.group(3), t.group(0)
        ),
        body,
    )


def hang_code(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if "body" in context:
        context["body"] = break_table_names(
            BLOCK.sub(lambda m: m.group(1) + hang_lines(m.group(2)) + m.group(3), context["body"])
        )


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", hang_code)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
