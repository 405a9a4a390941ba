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
"""

from __future__ import annotations

import html
from pathlib import Path

from bs4 import BeautifulSoup
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
    # Before sphinx-external-toc's ensure_index_file (priority 500).
    app.connect("build-finished", write_root_page, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
