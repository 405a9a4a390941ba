"""The problem sets write the LSTM step in the book's notation: time subscripts.

ps02 and ps03 wrote ``c = f ⊙ c_prev + i ⊙ g`` (and ``h_{\\text{prev}}``), and ps05 ``g_t`` for
the candidate, where the book and ps04 write ``c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t``; a student
reading both saw two notations for one step. The arguments keep their names (``h_prev``,
``c_prev``, ``g``), which ps02 and ps05 map to the symbols once.
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


@pytest.mark.parametrize("notebook", ["ps02_gates", "ps03_cell", "ps04_unrolling", "ps05_backprop"])
def test_the_notebooks_write_the_cell_update_as_the_book_does(notebook):
    text = markdown(notebook)
    pattern = re.escape(CELL_UPDATE).replace("\\&\\?", "&?")
    assert re.search(pattern, text), f"{notebook}: no {CELL_UPDATE}"
    assert r"\text{prev}" not in text, f"{notebook}: h_{{t-1}}, c_{{t-1}}, not _prev in equations"


# The candidate written g: ``g_t``, ``g_{t}``, ``\\delta g_t`` (not the superscript of ``a^g_t``,
# the pre-activation's block, which chapter 9 writes so too).
CANDIDATE_AS_G = re.compile(r"(?<![\^\w\\])g_\{?t")


@pytest.mark.parametrize("notebook", sorted(p.parent.name for p in SOLUTIONS.glob("*/*.ipynb")))
def test_no_equation_writes_the_candidate_as_g(notebook):
    """The candidate is the book's ``\\tilde c_t`` in every equation: ps05 wrote ``g_t`` and
    ``\\delta g_t`` throughout, with a sentence mapping them to chapter 9's symbols, which its
    students read side by side (found in a review). The code keeps the name ``g``."""
    equations = math_of(notebook)
    assert equations, f"{notebook}: no equation read"
    assert [m for m in equations if CANDIDATE_AS_G.search(m)] == [], notebook


def test_the_candidate_pattern_finds_g_and_leaves_the_pre_activations_block():
    found = [bool(CANDIDATE_AS_G.search(m)) for m in (r"$g_t$", r"\delta g_{t}", r"$a^g_t$")]
    assert found == [True, True, False]


def test_ps05_maps_the_candidate_to_its_cache_key():
    text = " ".join(markdown("ps05_backprop").split())
    assert 'where $\\tilde c_t$ is the candidate memory (the cache\'s `"g"`)' in text


def test_ps02_maps_the_symbols_to_the_argument_names():
    text = " ".join(markdown("ps02_gates").split())
    assert "$h_{t-1}$ and $c_{t-1}$ are `h_prev` and `c_prev`" in text
    assert r"$\tilde c_t$ (`g`)" in text


def math_of(notebook: str) -> list[str]:
    """The $...$ and $$...$$ of a notebook's text cells, code in backticks left out."""
    text = re.sub(r"`[^`]*`", "", markdown(notebook))
    return re.findall(r"\$\$.*?\$\$|\$[^$\n]+\$", text, flags=re.S)


@pytest.mark.parametrize("notebook", sorted(p.parent.name for p in SOLUTIONS.glob("*/*.ipynb")))
def test_no_equation_names_a_previous_state_prev(notebook):
    """``h_{t-1}``, not ``h_\\text{prev}``, ``h_{prev}`` or ``c_{\\mathrm{prev}}``: in every
    equation of every problem set (the argument names, in backticks, keep their _prev). The
    check reads equations, or it would pass a notebook whose text it failed to read."""
    equations = math_of(notebook)
    assert equations, f"{notebook}: no equation read"
    assert [m for m in equations if "prev" in m] == [], notebook


def test_the_check_for_prev_finds_the_forms_it_looks_for(monkeypatch):
    """What the check above reads and finds, on text of its own."""
    text = "$c = f \\odot c_{\\mathrm{prev}}$, `c_prev` and $$h_{prev}$$ and $h_{t-1}$"
    monkeypatch.setitem(globals(), "markdown", lambda notebook: text)
    found = [m for m in math_of("any") if "prev" in m]
    assert found == ["$c = f \\odot c_{\\mathrm{prev}}$", "$$h_{prev}$$"]
