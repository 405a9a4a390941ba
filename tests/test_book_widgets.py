"""The built book in a browser: every slider answers the keyboard with lstm_core's numbers on a
page without a kernel, and no page is wider than a phone's or a laptop's screen.

Needs the built book (``make book``) and Chromium; the browser tests are slow. They read the
session's one tour of the book (``tests/book_tour.py``, measuring with
``book_widgets_browser.py``), in Chromium with no network but loopback.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from test_book import HTML, ROOT, toc_docnames

import lstm_core as lc
from lstm_core import plots, widgets

PAGES = toc_docnames()

# The explorers each chapter shows, built with the arguments the chapter passes (the pages
# start them at the hand-worked step x = 1, h_prev = 1, c_prev = 2: the builders' defaults).
EXPLORERS = {
    "activation": (lambda: widgets.activation_explorer(x=2.0), "book/02-sigmoid-tanh"),
    "gate-f": (lambda: widgets.gate_explorer("f"), "book/03-forget-gate"),
    "gate-i": (lambda: widgets.gate_explorer("i"), "book/04-input-gate"),
    "gate-g": (lambda: widgets.gate_explorer("g"), "book/04-input-gate"),
    "cell-state": (
        lambda: widgets.cell_state_explorer(c_prev=2.0, f=0.9, i=0.5, g=0.5, steps=10),
        "book/05-cell-state",
    ),
    "gate-o": (lambda: widgets.gate_explorer("o"), "book/06-output-gate"),
}
GATE_FUNCS = {
    "f": lc.forget_gate,
    "i": lc.input_gate,
    "g": lc.candidate_memory,
    "o": lc.output_gate,
}
# Sliders outside the explorers, whose option labels carry their own numbers.
LABELLED_SLIDERS = {"book/01-why-memory": 1, "book/08-unrolling": 1}


@pytest.fixture(scope="module")
def widgets_report(book_tour):
    """Each page at a phone's and a laptop's width (``tests/book_tour.py``)."""
    return book_tour["widgets"]


# --- Small screens ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("docname", PAGES)
def test_page_fits_the_screen(widgets_report, docname, viewport):
    """390x844 and 1280x900: no sideways scrolling, no code, output or previous/next link cut
    off, no display equation wider than its box (which would cut it off at the right edge), no
    glued number broken over two lines, no name in a table broken mid-word (only after a space,
    hyphen, slash, underscore or dot), and no table of up to four columns (every assignment's
    points) wider than the screen: only wider ones scroll sideways in their box, with a line
    below that says so (and none below a table that fits)."""
    page = widgets_report[(f"{docname}.html", viewport)]
    layout = page["layout"]
    assert layout["scroll_width"] <= layout["width"], (
        f"{docname} at {viewport}: page {layout['scroll_width']} px wide in a "
        f"{layout['width']} px screen; too wide: {layout['wide']}"
    )
    assert not layout["hidden"], f"{docname} at {viewport}: cut-off blocks {layout['hidden']}"
    assert not layout["math"], f"{docname} at {viewport}: cut-off equations {layout['math']}"
    assert not layout["split"], (
        f"{docname} at {viewport}: glued numbers broken over two lines {layout['split']}"
    )
    assert not layout["names"], (
        f"{docname} at {viewport}: names in tables broken mid-word {layout['names']}"
    )
    scrolling = [t for t in layout["tables"] if t["width"] > t["box"] + 1]
    narrow = [t for t in scrolling if t["columns"] <= 4]
    assert not narrow, f"{docname} at {viewport}: tables of up to four columns scroll {narrow}"
    # A table that scrolls says so below it, and one that fits does not.
    assert all(t["cue"] for t in scrolling), f"{docname} at {viewport}: no cue {scrolling}"
    assert len([t for t in layout["tables"] if t["cue"]]) == len(scrolling), layout["tables"]
    if (docname, viewport) == ("book/08-unrolling", "phone"):  # its nine columns: the case
        assert scrolling and scrolling[0]["columns"] == 9, layout["tables"]
    assert not layout["code"]["flat"], (
        f"{docname} at {viewport}: wrapped code back at its line's indentation or left of it "
        f"{layout['code']['flat']}"
    )
    assert not layout["code"]["copies"], (
        f"{docname} at {viewport}: code that selects or copies as other text "
        f"{layout['code']['copies']}"
    )
    assert page["widgets_rendered"] >= page["widget_views"]
    assert not page["console_errors"], page["console_errors"]


@pytest.mark.slow
def test_code_wraps_on_a_phone_and_every_line_of_it_is_measured(widgets_report):
    """The checks of wrapped code above are not empty: every block and line of code the built
    page holds was measured, and on a phone chapter 10's listing of lc.fit wraps lines that
    fit on a desktop."""
    for docname in PAGES:
        page = (HTML / f"{docname}.html").read_text(encoding="utf-8")
        blocks = page.count('<div class="highlight"><pre>')
        lines = page.count('<span class="code-line"')
        assert lines >= blocks, f"{docname}: {blocks} blocks of code but {lines} code lines"
        for viewport in ("phone", "desktop"):
            code = widgets_report[(f"{docname}.html", viewport)]["layout"]["code"]
            assert (code["blocks"], code["lines"]) == (blocks, lines), (docname, viewport, code)
    wrapped = {
        viewport: widgets_report[("book/10-training.html", viewport)]["layout"]["code"]["wrapped"]
        for viewport in ("phone", "desktop")
    }
    assert wrapped["phone"] > max(wrapped["desktop"], 0), wrapped
    # most blocks are shown (selected and copied), the rest in closed <details> (copied)
    shown = sum(widgets_report[(f"{d}.html", "phone")]["layout"]["code"]["shown"] for d in PAGES)
    blocks = sum(widgets_report[(f"{d}.html", "phone")]["layout"]["code"]["blocks"] for d in PAGES)
    assert blocks > shown > blocks / 2, (shown, blocks)


@pytest.mark.slow
@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_cell_diagrams_are_svg_and_legible_on_a_phone(widgets_report, viewport):
    """Labels at least 12 px high at both widths. On a phone the diagram keeps a width of its
    own and scrolls sideways in its box (a keyboard stop then), its caption as wide as the box
    and in place when the box is scrolled to its end; on a desktop it fits and is no stop."""
    fig = plots.cell_diagram(values={"f": 0.5})
    smallest_pt = min(t.get_fontsize() for t in fig.axes[0].texts)
    natural_px = fig.get_figwidth() * 96  # an SVG's points at 96 px per inch
    diagrams = {
        docname: svg
        for docname in PAGES
        for svg in widgets_report[(f"{docname}.html", viewport)]["layout"]["svgs"]
        if "cell-diagram" in svg["figure"]
    }
    # chapters 3 to 6 show it with their stage highlighted, chapter 7 whole (glue:figure)
    assert sorted(diagrams) == [
        "book/03-forget-gate",
        "book/04-input-gate",
        "book/05-cell-state",
        "book/06-output-gate",
        "book/07-whole-cell",
    ], sorted(diagrams)
    for docname, svg in diagrams.items():
        assert svg["alt"].startswith(("Diagram of an LSTM cell", "Diagram of the whole LSTM"))
        label_px = smallest_pt * 96 / 72 * svg["width"] / natural_px
        assert label_px >= 12.0, f"{docname}: labels {label_px:.1f} px high at {viewport}"
        assert svg["scrolls"] == (viewport == "phone"), (docname, svg)
        assert svg["tabindex"] == ("0" if svg["scrolls"] else None), (docname, svg)
        # cut off at the screen's edge, the caption says the diagram goes on
        assert ("Scroll sideways" in svg["cue"]) == svg["scrolls"], (docname, svg)
        assert svg["caption_width"] <= svg["box_width"] + 1, (docname, svg)
        assert abs(svg["caption_shift"]) <= 1, (docname, svg)  # scrolled: the caption stays


# --- Sliders ---------------------------------------------------------------------------------


def slider_pages():
    return sorted({page for _, page in EXPLORERS.values()} | set(LABELLED_SLIDERS))


def position(slider, label: str):
    """The value of ``slider``'s option shown as ``label``."""
    labels = {text: value for text, value in slider.options}
    assert label in labels, f"{slider.description}: no position {label!r}"
    return labels[label]


def expected_rows(explorer) -> list[list[str]]:
    """The read-out's (label, value) cells as the live widget renders them."""
    cells = re.findall(r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td>", explorer.readout.value)
    return [[html.unescape(a), html.unescape(b)] for a, b in cells]


@pytest.mark.slow
@pytest.mark.parametrize("docname", slider_pages())
def test_every_slider_answers_the_keyboard_with_lstm_cores_numbers(widgets_report, docname):
    sliders = widgets_report[(f"{docname}.html", "desktop")]["sliders"]
    kinds = [kind for kind, (_, page) in EXPLORERS.items() if page == docname]
    initial = sliders["initial"]
    assert [e["kind"] for e in initial["explorers"]] == kinds
    expected_sliders = LABELLED_SLIDERS.get(docname, 0) + sum(
        len(EXPLORERS[k][0]().sliders) for k in kinds
    )
    assert len(sliders["moves"]) == len(initial["sliders"]) == expected_sliders
    for move in sliders["moves"]:
        n, before, after = move["slider"], move["before"], move["after"]
        slider_before, slider_after = before["sliders"][n], after["sliders"][n]
        step = 1 if move["key"] == "right" else -1
        assert slider_after["now"] == slider_before["now"] + step, f"slider {n} did not move"
        assert slider_after["label"] != slider_before["label"]
        k = slider_after["explorer"]
        if k < 0:
            check_labelled_slider(docname, slider_after["label"])
            continue
        shown = after["explorers"][k]
        explorer = EXPLORERS[shown["kind"]][0]()
        for s, label in zip(explorer.sliders.values(), shown["positions"], strict=True):
            s.value = position(s, label)
        assert shown["rows"] == expected_rows(explorer), (
            f"{docname}: {shown['kind']} at {shown['positions']} shows {shown['rows']}"
        )
        if shown["kind"].startswith("gate-"):
            check_gate_against_lstm_core(shown["kind"][-1], explorer, shown["rows"])


def check_gate_against_lstm_core(gate: str, explorer, rows) -> None:
    """The gate's value on the page equals lstm_core's gate function at those positions."""
    v = {k: s.value for k, s in explorer.sliders.items()}
    p = lc.copy_params(lc.HAND_WORKED_PARAMS)
    k = lc.gate_slice(gate, 1)
    p["Wx"][0, k], p["Wh"][0, k], p["b"][k] = v["weights"]
    value = GATE_FUNCS[gate]([[v["x"]]], [[v["h_prev"]]], p)[0, 0]
    assert rows[1][1] == f"{value:.3f}", (rows, value)
    x, h, c = [[v["x"]]], [[v["h_prev"]]], [[v["c_prev"]]]
    _, c, _ = lc.lstm_step_forward(x=x, h_prev=h, c_prev=c, params=p)
    assert f"{c[0, 0]:+.3f}" in [text for _, text in rows]


def check_labelled_slider(docname: str, label: str) -> None:
    if docname == "book/01-why-memory":
        # the chapter's slider: "w → w**50" for w in 0.50, 0.55, ..., 2.00 (T = 50 steps)
        w = float(label.split("→")[0])
        assert label == f"{w:.2f} → {w**50:.1e}"
    else:
        # the chapter's slider: company A's series with another day-1 price, run by lstm_core
        first = float(re.match(r"day 1 = ([0-9.]+)", label).group(1))
        x, _ = lc.two_companies()
        series = x[:1].copy()
        series[0, 0, 0] = first
        hs = lc.lstm_forward(x=series, params=lc.HAND_WORKED_PARAMS)[0]
        assert label == f"day 1 = {first:.2f}:  prediction for day 5 = {hs[0, -1, 0]:.3f}"


def test_slider_pages_are_in_the_toc():
    """The explorers' pages are named here by hand; they must still exist."""
    assert set(slider_pages()) <= set(PAGES)


# --- Readers see the lesson ------------------------------------------------------------------

BOOKKEEPING = re.compile(r"^\s*(?:from myst_nb import glue|glue\(|keep\(|def keep\()", re.M)


def visible_code_cells(path: Path):
    """(line, source) of every code cell of a MyST page that the reader sees."""
    text = path.read_text(encoding="utf-8")
    for m in re.finditer(r"^```\{code-cell\}[^\n]*\n(.*?)^```", text, re.M | re.S):
        body = m.group(1)
        header = body.split("\n\n", 1)[0] if body.startswith((":", "---")) else ""
        if "remove-cell" not in header and "remove-input" not in header:
            yield text[: m.start()].count("\n") + 1, body


@pytest.mark.parametrize("docname", PAGES)
def test_visible_code_carries_no_bookkeeping(docname):
    """glue()/keep() calls live in remove-cell cells; the code a reader sees is the lesson."""
    found = []
    for line, body in visible_code_cells(ROOT / f"{docname}.md"):
        for m in BOOKKEEPING.finditer(body):
            at = line + 1 + body[: m.start()].count("\n")  # the fence is the cell's first line
            found.append(f"{docname}.md:{at}: {m.group(0).strip()}")
    assert not found, "bookkeeping in visible code cells:\n" + "\n".join(found)
