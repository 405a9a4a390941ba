"""nbgrader preprocessor for feedback pages: keep the hidden tests hidden (nbgrader #917, #1363).

Autograding puts the hidden tests back into the grade cells, and nbgrader's feedback shows
grade cells with their full source and the full traceback of any failure. This preprocessor,
run by ``nbgrader generate_feedback`` (see nbgrader_config.py), removes the
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` blocks again and reduces the error
output of every cell the course wrote (grade cells and read-only cells) to its last line,
``ErrorName: message``: the message says which check failed and why, the code that raised it
stays private. A student's own cells keep their whole traceback.
"""

import re

from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, GetGrades


class HideHiddenTests(ClearHiddenTests):
    """Strip hidden-test blocks from grade cells, error tracebacks from the course's cells."""

    # HTMLExporter configures this for every NbConvertBase; declared like GetGrades does so
    # that traitlets does not warn that the option is unrecognised.
    display_data_priority = GetGrades.display_data_priority

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "code" and utils.is_locked(cell):  # grade or read-only
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


# HTMLExporter.from_notebook_node ends by parsing the whole page with BeautifulSoup's
# html.parser (nbconvert 7.17), to give images without an alt text one and to make the cells'
# inputs and outputs inside a `.jp-Notebook` focusable (tabindex="0"), then writes the page out
# again: about 0.37 of the 0.8 CPU-seconds a problem set's feedback page took here. The
# feedback template (nbgrader's, on nbconvert's classic one) makes no `.jp-Notebook`, so on a
# page without that name FeedbackExporter only adds the alt texts, in one pass over the tags
# outside the scripts, styles and comments that html.parser does not read as markup; a page
# that names it anywhere (a student's own HTML may) gets HTMLExporter's own pass.
# tests/test_feedback_pages.py compares the two exporters on the course's notebooks and on
# hostile markup.
_OPAQUE = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_ATTRS = r"""(?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*"""
_IMG = re.compile(rf"<(img)\b({_ATTRS})\s*(/?)>", re.I)
_ALT = re.compile(r"\salt(?:\s*=|\s|$)", re.I)
MISSING_ALT = "No description has been provided for this image"


def _with_alt_texts(html: str) -> tuple[str, int]:
    """``html`` with ``alt`` added to every ``<img>`` tag without one, as HTMLExporter's
    BeautifulSoup pass adds it; and the number of images given one."""
    missing = 0

    def img(match: re.Match) -> str:
        nonlocal missing
        name, attrs, close = match.groups()
        if _ALT.search(attrs):
            return match.group(0)
        missing += 1
        return f'<{name}{attrs} alt="{MISSING_ALT}"{close}>'

    out, at = [], 0
    for opaque in _OPAQUE.finditer(html):
        out.append(_IMG.sub(img, html[at : opaque.start()]))
        out.append(opaque.group(0))
        at = opaque.end()
    out.append(_IMG.sub(img, html[at:]))
    return "".join(out), missing


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter, the same page, without its pass over the whole page where the
    page has nothing for its `.jp-Notebook` rules (see above)."""

    def from_notebook_node(self, nb, resources=None, **kw):
        # HTMLExporter.from_notebook_node's set-up (nbconvert 7.17), then the template.
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
        )
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources
        )
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        if "jp-Notebook" in html:
            return _soup_pass(self, html), resources
        html, missing = _with_alt_texts(html)
        if missing:
            self.log.warning("Alternative text is missing on %s image(s).", missing)
        return html, resources


def _soup_pass(exporter: HTMLExporter, html: str) -> str:
    """HTMLExporter.from_notebook_node's own pass over the page (nbconvert 7.17)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, features="html.parser")
    missing_alt = 0
    for elem in soup.select("img:not([alt])"):
        elem.attrs["alt"] = MISSING_ALT
        missing_alt += 1
    if missing_alt:
        exporter.log.warning("Alternative text is missing on %s image(s).", missing_alt)
    for elem in soup.select(".jp-Notebook div.jp-Cell-inputWrapper"):
        elem.attrs["tabindex"] = "0"
    for elem in soup.select(".jp-Notebook div.jp-OutputArea-output"):
        elem.attrs["tabindex"] = "0"
    return str(soup)
