"""Accessibility fixes for the theme's and myst-nb's HTML that templates cannot reach (#14).

A local Sphinx extension (``_config.yml``: ``sphinx.local_extensions``). The theme's own
templates are overridden in ``book/_templates``; what is generated in Python is fixed here:

- myst-nb wraps ``hide-input`` cells in ``<summary aria-label="Toggle hidden content">``, a name
  that differs from the text the reader sees ("Show code cell source"), which a voice-control
  user would say (WCAG 2.5.3 Label in Name). The summary here is named by its visible text.
- pydata-sphinx-theme's sidebar gives the ``<summary>`` that expands a chapter's sections only
  an icon (WCAG 4.1.2 Name, Role, Value). Here it is named after the chapter it expands.
- sphinx-external-toc writes the site's root ``index.html`` as a bare ``<meta>`` redirect, with
  no language and no title (WCAG 3.1.1, 2.4.2). Here it is a small page with both, written
  before sphinx-external-toc looks (it leaves an existing ``index.html`` alone).
- A figure's text alternative must give a screen-reader user the numbers a sighted reader
  sees (WCAG 1.1.1), and every number the book states is computed when the page runs. myst-nb's
  ``glue:figure`` takes its ``:alt:`` as fixed text; here the ``:alt:`` may paste glued values
  with the prose's syntax, the ``{glue:text}`` role with ``key`` or ``key:format``, resolved
  when the page is read, right after it ran. A missing key is a build warning (an error in
  ``make book``).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from bs4 import BeautifulSoup
from myst_nb.core.variables import RetrievalError, format_plain_text
from myst_nb.ext.glue.directives import PasteFigureDirective
from myst_nb.ext.glue.utils import glue_warning, retrieve_glue_data
from myst_nb.sphinx_ import HideCodeCellNode
from sphinx.application import Sphinx

ROOT_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Refresh" content="0; url={url}">
<title>{title}</title>
</head>
<body>
<main>
<h1>{title}</h1>
<p>The book starts at <a href="{url}">{start}</a>.</p>
</main>
</body>
</html>
"""


# {glue:text}`key` or {glue:text}`key:format`, as in the prose (no other document's keys).
GLUE_TEXT = re.compile(r"\{glue:text\}`([^`:]+)(?::([^`]*))?`")


def paste_glued_text(text: str, document) -> str:
    """``text`` with every ``{glue:text}`` reference replaced by its glued value, formatted."""

    def value(match: re.Match) -> str:
        data = retrieve_glue_data(document, match.group(1))  # RetrievalError if missing
        if "text/plain" not in data.data:
            raise RetrievalError(f"No text/plain found in {match.group(1)!r} data")
        return format_plain_text(data.data["text/plain"], match.group(2) or "")

    return GLUE_TEXT.sub(value, text)


class GluedFigure(PasteFigureDirective):
    """myst-nb's ``glue:figure`` whose ``:alt:`` may paste glued values (``{glue:text}``)."""

    def run(self):
        if "alt" in self.options:
            try:
                self.options["alt"] = paste_glued_text(self.options["alt"], self.document)
            except (RetrievalError, ValueError) as exc:
                return [glue_warning(f"figure's alt text: {exc}", self.document, self.line)]
        return super().run()


def visit_hide_cell(self, node: HideCodeCellNode) -> None:
    """myst-nb's ``visit_HideCellInput`` without the ``aria-label`` that hides the text."""
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    # Only one of the two is displayed (theme CSS, by the <details>'s open state), so the
    # summary's name is always the text on screen.
    for state, prompt in (("collapsed", "prompt_show"), ("expanded", "prompt_hide")):
        self.body.append(f'<p class="{state} admonition-title">{html.escape(node[prompt])}</p>\n')
    self.body.append("</summary>\n")


def depart_hide_cell(self, node: HideCodeCellNode) -> None:
    self.body.append("</details>\n")


def name_sidebar_toggles(soup: BeautifulSoup) -> None:
    """Give each sidebar ``<summary>`` a name: "Sections of" and the entry it expands."""
    for summary in soup.select("li > details > summary"):
        if summary.get("aria-label") or summary.get_text(strip=True):
            continue  # already named, or holds a visible caption
        link = summary.find_parent("li").find("a", recursive=False)
        if link is not None:
            summary["aria-label"] = f"Sections of {link.get_text(' ', strip=True)}"


def wrap_toctree(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Post-process the sidebar that pydata-sphinx-theme's ``generate_toctree_html`` builds."""
    generate = context.get("generate_toctree_html")
    if generate is None or getattr(generate, "names_toggles", False):
        return

    def generate_named(kind: str, *args, **kwargs):
        out = generate(kind, *args, **kwargs)
        if isinstance(out, str):  # the theme returns a string when the tree is empty
            if "<summary" not in out:
                return out
            out = BeautifulSoup(out, "html.parser")
        name_sidebar_toggles(out)
        return out

    generate_named.names_toggles = True
    context["generate_toctree_html"] = generate_named


def write_root_page(app: Sphinx, exception: Exception | None) -> None:
    """A titled, language-tagged ``index.html`` that sends the reader to the book's root page."""
    if exception is not None or app.builder.format != "html" or app.config.root_doc == "index":
        return
    url = f"{app.config.root_doc}.html"
    title = app.config.html_title or app.config.project
    start = app.env.titles[app.config.root_doc].astext() if app.env else title
    page = ROOT_PAGE.format(
        lang=html.escape(app.config.language or "en"),
        url=html.escape(url),
        title=html.escape(title),
        start=html.escape(start),
    )
    Path(app.outdir, "index.html").write_text(page, encoding="utf-8")


def setup(app: Sphinx) -> dict:
    # Loaded after myst_nb (local extensions come last), so this replaces its visitor.
    app.add_node(HideCodeCellNode, override=True, html=(visit_hide_cell, depart_hide_cell))
    # After pydata-sphinx-theme's own handler (priority 500) has put the function in context.
    app.connect("html-page-context", wrap_toctree, priority=900)
    # myst-nb registers glue:figure in its "glue" domain at its own setup, before this one.
    app.add_directive_to_domain("glue", "figure", GluedFigure, override=True)
    # Before sphinx-external-toc's ensure_index_file (priority 500).
    app.connect("build-finished", write_root_page, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
