"""What the book's pages share: numbers stated as bounds, rounded so they stay true, and
figures laid out for a phone.

The pages import this in a hidden cell (their kernel runs in book/). A number shown with
fewer digits than it has is rounded the usual way, which can turn a true bound false: 0.99698
shown as "at least 1.00". :func:`bound` rounds outwards instead, down for a lower bound and up
for an upper one; :func:`glue_bound` glues that number for the prose and the exact value beside
it as ``<name>-exact``, which tests/test_book_claims.py compares with what the built page shows.
:func:`stacked` puts a figure's panels one above the other at a width a phone shows whole.
(The Makefile's hash of what every page depends on includes this file.)
"""

from __future__ import annotations


def bound(value: float, spec: str, side: str) -> float:
    """``value`` as the prose shows it (format ``spec``, such as ``".2f"`` or ``".0e"``),
    rounded outwards: down if ``side`` is ``"lower"`` ("at least", "above", "between *this*
    and"), up if it is ``"upper"`` ("at most", "below", "within")."""
    if side not in ("lower", "upper"):
        raise ValueError(f"side must be 'lower' or 'upper', got {side!r}")
    text = format(value, spec)
    shown = float(text)
    if (shown > value) if side == "lower" else (shown < value):
        mantissa, _, exponent = text.partition("e")
        step = 10.0 ** (int(exponent or 0) - len(mantissa.partition(".")[2]))
        shown = float(format(shown - step if side == "lower" else shown + step, spec))
    assert (shown <= value) if side == "lower" else (shown >= value), (value, spec, side)
    return shown


def glue_bound(name: str, value: float, spec: str, side: str) -> None:
    """Glue ``value`` rounded outwards (:func:`bound`) as ``name``, and as it is under
    ``name``-exact."""
    from myst_nb import glue

    glue(name, bound(float(value), spec, side), display=False)
    glue(f"{name}-exact", float(value), display=False)


def stacked(fig, width: float = 4.4, panel_height: float = 2.9, fontsize: float = 10):
    """``fig`` with its panels one above the other, ``width`` inches wide, and no text smaller
    than ``fontsize`` points: a phone shows a figure about 340 pixels wide, which would shrink
    the labels of panels drawn side by side below what a reader can make out."""
    from matplotlib.text import Text

    grid = fig.add_gridspec(len(fig.axes), 1)
    for k, ax in enumerate(fig.axes):
        ax.set_subplotspec(grid[k])
    fig.set_size_inches(width, panel_height * len(fig.axes))
    for text in fig.findobj(Text):
        if text.get_text() and text.get_fontsize() < fontsize:
            text.set_fontsize(fontsize)
    return fig
