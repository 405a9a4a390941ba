"""lstm_grading.feedback.FeedbackExporter: the page nbconvert's HTMLExporter makes, without its
BeautifulSoup pass over the whole page (the oracle: HTMLExporter itself, same template)."""

from __future__ import annotations

import logging
import os

import nbformat
import nbgrader
import pytest
from bs4 import BeautifulSoup
from course import SOLUTIONS
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import lstm_grading
from lstm_grading.feedback import MISSING_ALT, FeedbackExporter, _with_alt_texts

PNG = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def configured(cls):
    """An exporter set up as nbgrader_config.py and nbgrader's GenerateFeedback set it up."""
    formgrader = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
    return cls(
        template_name="lstm_feedback",
        extra_template_basedirs=[
            os.path.join(os.path.dirname(lstm_grading.__file__), "templates"),
            os.path.join(formgrader, "templates"),
        ],
        extra_template_paths=[
            os.path.join(formgrader, "static", "node_modules", "bootstrap", "dist", "css")
        ],
    )


def hostile_notebook(wrapper: str = "div"):
    """Markup a student's cells can put on their page: images with and without alt text, a
    '>' inside an attribute, the lab template's cell classes in their own HTML, in a script's
    string and in a comment (neither is markup), upper-case tags, self-closed tags; inside a
    ``wrapper`` element of the lab template's notebook class or of none."""
    html = (
        f'<img src="data:image/png;base64,{PNG}">'
        '<img alt="a > b" src="x.png"/><IMG SRC="y.png">'
        '<div class="jp-OutputArea-output extra" data-x="1">own</div>'
        '<div class="jp-Cell-inputWrapper" tabindex="-1">kept</div>'
        "<div class=jp-OutputArea-output>bare</div>"
        '<script>var s = "<img src=q.png><div class=\\"jp-OutputArea-output\\">";</script>'
        '<!-- <img src="c.png"> --><style>/* <img src="s.png"> */</style>'
    )
    html = f"<{wrapper}>{html}</{wrapper.split()[0]}>"
    return new_notebook(
        cells=[
            new_markdown_cell('Text <img src="m.png"> and ![plot](p.png "title")'),
            new_code_cell(
                "plot()",
                outputs=[
                    new_output("display_data", data={"image/png": PNG, "text/plain": "fig"}),
                    new_output("display_data", data={"text/html": html, "text/plain": "h"}),
                    new_output("stream", name="stdout", text="<img src=text.png>\n"),
                ],
            ),
        ],
        metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}},
    )


def graded(path):
    """The notebook as the feedback template gets it: every grade cell with its score."""
    notebook = nbformat.read(path, 4)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["score"] = meta["points"]
    return notebook


def resources() -> dict:
    """What nbgrader's GetGrades gives the feedback template."""
    return {"nbgrader": {"notebook": "nb", "score": 3.0, "max_score": 10.0, "late_penalty": 0}}


def as_soup_writes_it(html: str) -> str:
    return str(BeautifulSoup(html, features="html.parser"))


@pytest.mark.parametrize(
    "notebook",
    [
        hostile_notebook(),
        hostile_notebook('div class="jp-Notebook"'),
        graded(SOLUTIONS / "ps05_backprop" / "ps05_backprop.ipynb"),
    ],
    ids=["hostile markup", "hostile markup in a .jp-Notebook", "ps05_backprop"],
)
def test_the_page_is_htmlexporters(notebook, caplog):
    """Written out by BeautifulSoup as HTMLExporter writes its page, the page is HTMLExporter's,
    byte for byte: the same alt texts and tabindex attributes, on the same tags, and the same
    warning. (The course's pages have no `.jp-Notebook`: the first and last case take the
    exporter's own pass over the tags, the second HTMLExporter's.)"""
    with caplog.at_level(logging.WARNING):
        theirs, _ = configured(HTMLExporter).from_notebook_node(notebook, resources())
        warned = [r.getMessage() for r in caplog.records]
        caplog.clear()
        ours, _ = configured(FeedbackExporter).from_notebook_node(notebook, resources())
        assert [r.getMessage() for r in caplog.records] == warned
    assert as_soup_writes_it(ours) == theirs


def test_alt_texts_are_added_to_images_without_one_outside_scripts_styles_and_comments():
    html = (
        '<div><img src=x><img ALT="" src=y><IMG\nsrc="z" title="a > b"/><img alt src=w>'
        '<script>"<img src=s>"</script><style>/*<img src=t>*/</style><!-- <img> --></div>'
    )
    out, missing = _with_alt_texts(html)
    assert missing == 2
    assert out == (
        f'<div><img src=x alt="{MISSING_ALT}"><img ALT="" src=y>'
        f'<IMG\nsrc="z" title="a > b" alt="{MISSING_ALT}"/><img alt src=w>'
        '<script>"<img src=s>"</script><style>/*<img src=t>*/</style><!-- <img> --></div>'
    )


def test_the_course_config_makes_nbgraders_feedback_with_it():
    """nbgrader_config.py gives generate_feedback this exporter (HTMLExporter's settings apply
    to it: the template is the course's)."""
    from nbgrader.converters import GenerateFeedback
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(SOLUTIONS.parent)).load_config()
    converter = GenerateFeedback(config=config)
    assert converter.exporter_class is FeedbackExporter
    exporter = converter.exporter_class(parent=converter, config=converter.config)
    assert exporter.template_name == "lstm_feedback"
