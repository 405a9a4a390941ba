"""The problem sets write the LSTM step in the book's notation: time subscripts.

ps02 and ps03 wrote ``c = f ⊙ c_prev + i ⊙ g`` (and ``h_{\\text{prev}}``) where the book, ps04
and ps05 write ``c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t``; a student reading both saw two notations
for one step. The arguments keep their names (``h_prev``, ``c_prev``, ``g``), which ps02 maps
to the symbols once.
"""

from __future__ import annotations

import json
import re

import pytest
from course import REPO, SOLUTIONS

CELL_UPDATE = r"c_t &?= f_t \odot c_{t-1} + i_t \odot \tilde c_t"


def markdown(notebook: str) -> str:
    (path,) = SOLUTIONS.glob(f"{notebook}/*.ipynb")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def test_the_book_writes_the_cell_update_with_time_subscripts():
    """The origin of the notation the notebooks are held to."""
    text = (REPO / "book" / "05-cell-state.md").read_text(encoding="utf-8")
    assert re.search(re.escape(CELL_UPDATE).replace("\\&\\?", "&?"), text)


@pytest.mark.parametrize("notebook", ["ps02_gates", "ps03_cell", "ps04_unrolling"])
def test_the_notebooks_write_the_cell_update_as_the_book_does(notebook):
    text = markdown(notebook)
    pattern = re.escape(CELL_UPDATE).replace("\\&\\?", "&?")
    assert re.search(pattern, text), f"{notebook}: no {CELL_UPDATE}"
    assert r"\text{prev}" not in text, f"{notebook}: h_{{t-1}}, c_{{t-1}}, not _prev in equations"


def test_ps02_maps_the_symbols_to_the_argument_names():
    text = " ".join(markdown("ps02_gates").split())
    assert "$h_{t-1}$ and $c_{t-1}$ are `h_prev` and `c_prev`" in text
    assert r"$\tilde c_t$ (`g`)" in text
