"""Figures' text alternatives state the numbers the page computes (#14, WCAG 1.1.1).

A screen-reader user hears a figure's ``alt`` text where a sighted reader reads the figure, so
every number in it comes from the page's own computation: the chapters write the ``:alt:`` of a
``glue:figure`` with ``{glue:text}`` references (resolved by ``book/_ext/book_a11y.py``), never
with typed digits or number words. The source checks are fast; the built-page checks (slow)
read _build/html.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image  # matplotlib's own dependency

import lstm_core as lc
from lstm_core import plots

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
# book_a11y is the book's Sphinx extension (book/_ext, not a package); its dependency myst-nb
# comes with the test extra, so a failing import is an error here, not a skip.
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import book_a11y  # noqa: E402

# A figure's :alt: option in a chapter's MyST source (the directive's first lines).
ALT_OPTION = re.compile(
    r"^```\{(?:glue:figure|figure)\}[^\n]*\n(?::[a-z-]+:[^\n]*\n)*?:alt: ([^\n]*)$", re.M
)
GLUE_REF = re.compile(r"\{glue:text\}`[^`]*`")
# A digit that is not part of a symbol's name (x_1, h_0), once the spoken forms of symbols
# (c_t minus 1 for c_{t-1}) and of powers of ten (10 to the ...) are set aside.
SPOKEN_NOTATION = re.compile(r"_t minus 1\b|\b10 to the\b")
TYPED_NUMBER = re.compile(r"(?<![_\w])\d")

# A number spelled out is typed by hand just as much ("by about two orders of magnitude",
# "around a thousandth"). The rule, in three parts:
# - Cardinals from two up, dozens, fractions and multiples always state a quantity, unless the
#   cardinal counts the parts the figure is drawn with ("two line charts", "three S-shaped
#   curves", "four identical RNN boxes"): that describes the drawing, not a value it shows, and
#   is allowed when one of FIGURE_PARTS follows within two words.
# - "one" is an article or a pronoun as often as a number ("one line per seed", "the initial
#   one", "merge into one line"), so it counts only where a word of comparison or range puts it
#   on a scale ("slightly above one", "marks one", "lags one to ...").
# - "zero" is not counted: it names the reference the axes are read against, the sign of a
#   value ("below zero", "near zero", "a baseline of predicting zero"), which no computation
#   moves. Nor are the ranges of sigmoid and tanh, (0, 1) and (-1, 1), facts of the functions
#   that the spoken ranges below set aside, like the spoken notation above.
CARDINAL = (
    r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty"
    r"|ninety|hundreds?|thousands?|millions?|billions?"
)
FIGURE_PARTS = (
    r"charts?|diagrams?|panels?|plots?|curves?|lines?|box(?:es)?|bars?|dots?|points?|circles?"
    r"|ellipses?|arrows?|networks?"
)
NUMBER_WORD = re.compile(
    rf"\b(?:{CARDINAL})\b(?!(?:[\s,]+[\w-]+){{0,2}}[\s,]+(?:{FIGURE_PARTS})\b)"
    r"|\bdozens?\b|\bhalf\b|\bhalves\b|\bquarters?\b|\bthirds\b"
    r"|\b(?:tenth|hundredth|thousandth|millionth)s?\b|\btwice\b|\bthrice\b"
    rf"|\b(?:{CARDINAL})fold\b"
    r"|\b(?:above|below|under|over|near|around|about|than|at|to|from|through|marks?|minus"
    r"|plus|exceeds?|reaches|exactly)\s+one\b|\bone\s+to\b",
    re.I,
)
SPOKEN_RANGES = re.compile(r"\bfrom zero to one\b|\bfrom minus one to one\b", re.I)


def typed_numbers(alt: str) -> list[str]:
    """The digits and number words of an alt text's own words (see NUMBER_WORD's rule)."""
    words = SPOKEN_RANGES.sub("", SPOKEN_NOTATION.sub("", GLUE_REF.sub("…", alt)))
    return TYPED_NUMBER.findall(words) + [m.group(0) for m in NUMBER_WORD.finditer(words)]


def figure_alts() -> list[tuple[str, str | int, str]]:
    """(docname, figure name, alt template) of every figure with an :alt: option."""
    found = []
    for path in sorted((ROOT / "book").rglob("*.md")):
        docname = path.relative_to(ROOT).with_suffix("").as_posix()
        text = path.read_text(encoding="utf-8")
        for m in ALT_OPTION.finditer(text):
            options = text[m.start() : text.index("\n\n", m.start())]  # up to the caption
            name = re.search(r"^:name: (\S+)$", options, re.M)
            assert name, f"{docname}: a figure without :name: ({m.group(1)[:40]}...)"
            found.append((docname, name.group(1), m.group(1)))
    return found


def alt_params():
    for docname, figure, alt in figure_alts():
        yield pytest.param(docname, figure, alt, id=f"{docname}:{figure}")


def test_the_chapters_have_figures_with_alt_texts():
    assert len(figure_alts()) >= 20, figure_alts()  # the book's 21 figures at the time of writing


@pytest.mark.parametrize(("docname", "figure", "alt"), list(alt_params()))
def test_alt_text_types_no_number(docname, figure, alt):
    """Every number in an alt text is a {glue:text} reference to a value the page computed."""
    typed = typed_numbers(alt)
    assert not typed, (
        f"{docname} {figure}: typed numbers {typed} in the alt text: {GLUE_REF.sub('…', alt)!r}"
    )


@pytest.mark.parametrize(
    ("alt", "typed"),
    [
        # alt texts the digit check once let through (chapters 5, 9 and 10)
        ("the dots stay slightly above one, ending at {glue:text}`e:.3f`", ["above one"]),
        ("falls steeply and without stopping, by dozens of orders of magnitude", ["dozens"]),
        ("solid lines start at the same height and fall by about two orders of magnitude", ["two"]),
        ("The LSTM's points stay low, around a thousandth, at every lag", ["thousandth"]),
        ("passing one half at x equal to zero", ["half"]),
        ("a grey line marks one.", ["marks one"]),
        ("autocorrelation at lags one to {glue:text}`n:d`", ["one to"]),
        ("three times higher, at 0.5", ["0", "5", "three"]),
        ("a tenfold rise", ["tenfold"]),
        # the words a figure is described with
        ("Two line charts over x, three S-shaped curves each", []),
        ("four identical RNN boxes, three freshly initialised networks", []),
        ("Two stacked time-series charts sharing a date axis", []),
        ("one line per seed, on the initial one, merged into one line", []),
        ("the sigmoid rises from zero to one, tanh from minus one to one", []),
        ("stays near zero, below zero, around zero; the baseline of predicting zero", []),
        ("c_t minus 1, about 10 to the {glue:text}`k:.0f`, often, ten-ish", ["ten"]),
    ],
)
def test_typed_numbers_finds_digits_and_number_words(alt, typed):
    """The check itself, on phrases it must catch and on ordinary words it must let pass."""
    assert typed_numbers(alt) == typed


def test_crossing_reads_the_switching_point_off_the_drawn_line():
    """plots.crossing on the forget gate's curves gives the point where its sum is zero."""
    p = lc.HAND_WORKED_PARAMS
    k = lc.gate_slice("f", 1)
    w_x, w_h, b = p["Wx"][0, k][0], p["Wh"][0, k][0], p["b"][k][0]
    h_values = (-1.0, 0.0, 1.0)
    fig = plots.response_figure(("f",), h_values=h_values)
    for line, h in zip(fig.axes[0].lines, h_values, strict=False):
        # the gate is one half where w_x x + w_h h + b = 0; the line is 401 points 0.05 apart
        assert plots.crossing(line, 0.5) == pytest.approx(-(w_h * h + b) / w_x, abs=1e-3)
    with pytest.raises(ValueError, match="level must be reached by the line: got 2"):
        plots.crossing(fig.axes[0].lines[0], 2.0)


def fake_document(values: dict) -> dict:
    """What ``retrieve_glue_data`` reads: myst-nb's renderer, with glued text/plain outputs."""
    glue_data = {key: {"data": {"text/plain": repr(value)}} for key, value in values.items()}
    client = SimpleNamespace(glue_data=glue_data)
    return {"nb_renderer": SimpleNamespace(renderer=SimpleNamespace(nb_client=client))}


def test_alt_pastes_glued_values_as_the_prose_does():
    f = float(lc.sigmoid(5.95))  # the hand-worked forget gate's sum (tests/test_hand_worked.py)
    doc = fake_document({"cell-f": f, "T": 50, "name": "tanh"})
    text = "f = {glue:text}`cell-f:.3g` after {glue:text}`T:d` steps of {glue:text}`name`"
    assert book_a11y.paste_glued_text(text, doc) == f"f = {f:.3g} after 50 steps of tanh"


def test_alt_with_a_missing_key_is_an_error():
    from myst_nb.core.variables import RetrievalError

    with pytest.raises(RetrievalError, match="nope"):
        book_a11y.paste_glued_text("{glue:text}`nope:.2f`", fake_document({}))


# --- In the built book ---------------------------------------------------------------------


class Figures(HTMLParser):
    """Every <img>'s alt, and which <figure id> holds it."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.images: list[dict] = []
        self._figures: list[str | None] = []
        self.feed(path.read_text(encoding="utf-8"))
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure":
            self._figures.append(a.get("id"))
        elif tag == "img":
            figure = next((f for f in reversed(self._figures) if f), None)
            self.images.append({"src": a.get("src"), "alt": a.get("alt"), "figure": figure})

    def handle_endtag(self, tag):
        if tag == "figure" and self._figures:
            self._figures.pop()


def built(docname: str) -> Figures:
    path = HTML / f"{docname}.html"
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: build the book with `make book`")
    return Figures(path)


def built_pages() -> list[str]:
    return sorted(p.relative_to(HTML).with_suffix("").as_posix() for p in HTML.rglob("*.html"))


@pytest.mark.slow
def test_every_image_in_the_book_has_an_alt_text_with_its_numbers_pasted():
    pages = built_pages()
    assert pages, "_build/html is missing: build the book with `make book`"
    problems = []
    for docname in pages:
        for img in built(docname).images:
            alt = (img["alt"] or "").strip()
            if not alt:
                problems.append(f"{docname}: <img src={img['src']!r}> has no alt text")
            elif "{glue" in alt or "`" in alt:
                problems.append(f"{docname}: an unresolved reference in {alt!r}")
    assert not problems, "\n".join(problems)


# The hand-worked step the chapters draw (x = 1, h_prev = 1, c_prev = 2, as in
# tests/test_hand_worked.py), and the parts each diagram's alt text names, in its order.
HAND_WORKED_STEP = {"x": 1.0, "h_prev": 1.0, "c_prev": 2.0}
DIAGRAMS = {
    ("book/03-forget-gate", "fig-forget-diagram"): ["c_prev", "h_prev", "x", "f", "c_kept"],
    ("book/04-input-gate", "fig-input-diagram"): ["i", "g", "c_added"],
    ("book/05-cell-state", "fig-cell-diagram"): ["c_prev", "c_kept", "c"],
    ("book/06-output-gate", "fig-output-diagram"): ["c", "tanh_c", "o", "h"],
    ("book/07-whole-cell", "fig-whole-cell"): [
        *("c_prev", "h_prev", "x", "f", "i", "g", "o", "c_kept", "c_added", "c", "tanh_c", "h")
    ],
}
NUMBER = re.compile(r"(?<![_\w])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


@pytest.mark.slow
@pytest.mark.parametrize(("docname", "figure"), list(DIAGRAMS))
def test_cell_diagram_alt_states_lstm_cores_numbers(docname, figure):
    """The diagram's alt text gives lstm_core's values of the step, as the diagram draws them."""
    x, h, c = ([[HAND_WORKED_STEP[k]]] for k in ("x", "h_prev", "c_prev"))
    trace = {**lc.lstm_step_trace(x, h, c, lc.HAND_WORKED_PARAMS), **HAND_WORKED_STEP}
    expected = [f"{float(np.asarray(trace[k]).ravel()[0]):.3g}" for k in DIAGRAMS[docname, figure]]
    alts = [img["alt"] for img in built(docname).images if img["figure"] == figure]
    assert len(alts) == 1, f"{docname}: {len(alts)} images in <figure id={figure!r}>"
    assert NUMBER.findall(SPOKEN_NOTATION.sub("", alts[0])) == expected, alts[0]


@pytest.mark.slow
def test_activation_figure_alt_states_lstm_cores_numbers():
    """Chapter 2's dots: sigmoid(-5) and tanh(2), the points its figure call marks."""
    alts = [img["alt"] for img in built("book/02-sigmoid-tanh").images if img["figure"]]
    alt = next(a for a in alts if a.startswith("Two line charts over x"))
    numbers = NUMBER.findall(alt)
    for value in (lc.sigmoid(-5.0), lc.tanh(2.0), lc.sigmoid_grad(0.0), lc.tanh_grad(0.0)):
        assert f"{float(value):.2g}" in numbers or f"{float(value):g}" in numbers, (value, alt)


# --- Figures a phone can read -------------------------------------------------------------

# A phone 390 CSS pixels wide shows a figure about 340 pixels wide. Drawn wider than this, a
# figure is shrunk by more than 340 / 600, and its 10-point labels (13.9 to 15.3 pixels at the
# book's 100 to 110 dpi) fall below about 8 pixels (chapter 4's three panels side by side were
# once 1386 pixels wide: their labels were 3.5 pixels high on a phone).
WIDEST_FIGURE = 600


def natural_width(src: str) -> float:
    """The CSS width a figure's image has when nothing scales it (an SVG's width is in pt)."""
    path = HTML / "book" / src
    if path.suffix == ".svg":
        head = path.read_text(encoding="utf-8")[:3000]
        width = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', head, re.S)
        assert width, f"{src}: an SVG without a width in pt"
        return float(width.group(1)) * 96 / 72
    with Image.open(path) as image:
        return float(image.size[0])


@pytest.mark.slow
def test_no_figure_is_too_wide_for_a_phone_to_read():
    problems = []
    for docname in built_pages():
        for img in built(docname).images:
            if img["figure"] and img["src"].startswith("../_images/"):
                width = natural_width(img["src"])
                if width > WIDEST_FIGURE:
                    problems.append(f"{docname} {img['figure']}: {width:.0f} px wide")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_figures_described_as_stacked_are_taller_than_wide():
    """An alt text that reads a figure's panels "one above the other" (and names them Top and
    Bottom) describes a figure drawn that way: chapters 2 to 4, 6, 8 and 11 stack their panels
    for a phone's width, and their alt texts changed from Left and Right with them."""
    stacked = []
    for docname in built_pages():
        for img in built(docname).images:
            alt = img["alt"] or ""
            if "one above the other" in alt:
                assert "Left," not in alt and "Right," not in alt, (docname, img["figure"])
                path = HTML / "book" / img["src"]
                if path.suffix == ".png":
                    with Image.open(path) as image:
                        width, height = image.size
                    assert height > width, (docname, img["figure"], image.size)
                stacked.append((docname, img["figure"]))
    assert len(stacked) >= 7, stacked
