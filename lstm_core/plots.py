"""Figures for the chapters: activations, the LSTM cell diagram, a gate's response to its input.

Needs matplotlib, which ``import lstm_core`` does not load: ``from lstm_core import plots``.
Every function returns a new :class:`matplotlib.figure.Figure` with a white background, so
the figures stay readable in the book's dark mode too. Diagram parts carry a ``gid``
(``"box-f"``, ``"op-add"``, ...) that tests and readers can look them up by.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Ellipse, FancyArrowPatch, FancyBboxPatch

from ._checks import (
    ArgumentTypeError,
    as_float_array,
    check_array,
    check_finite,
    describe,
    finite_number,
)
from .activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from .gates import lstm_step_trace
from .params import GATES, HAND_WORKED_PARAMS, lstm_sizes

YELLOW = "#f6d55c"  # neural-network layers (the classic diagram's yellow boxes)
PINK = "#f4b6c2"  # pointwise operations (circles)
LINE = "#333333"
HIGHLIGHT = "#c0392b"
STAGES = ("f", "i", "c", "o")
#: Size of :func:`cell_diagram` in inches and its labels' font size in points. On a 390 px
#: wide phone the book shows figures about 340 px wide: 340 / (6.0 * 96) of their size, which
#: draws 12 pt (16 px) labels 9.4 px high.
DIAGRAM_SIZE = (6.0, 4.0)
LABEL_SIZE = 12

#: Each gate's symbol (without the time index) and squashing function in the classic diagram.
_GATE_TEX = {"f": "f", "i": "i", "g": r"\tilde c", "o": "o"}
_SQUASH_TEX = {"f": r"$\sigma$", "i": r"$\sigma$", "g": r"$\tanh$", "o": r"$\sigma$"}

#: Symbols of the trace keys of :func:`lstm_core.lstm_step_trace`, for labels and legends.
SYMBOLS = {
    **{f"a_{k}": rf"$a^{k}_t$" for k in GATES},  # the gate's block of a_t, as in chapter 9
    **{k: rf"${_GATE_TEX[k]}_t$" for k in GATES},
    "c_kept": r"$f_t\, c_{t-1}$",
    "c_added": r"$i_t\, \tilde c_t$",
    "c": r"$c_t$",
    "tanh_c": r"$\tanh(c_t)$",
    "h": r"$h_t$",
}


class NotebookFigure(Figure):
    """A figure that displays itself as a PNG in Jupyter (and in myst-nb's ``glue``).

    Made without pyplot, so there is no global state and nothing to close, and the figure
    shows up even where no inline backend has registered a display formatter.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=110, facecolor="white")
        return buffer.getvalue()


class DiagramFigure(NotebookFigure):
    """A figure that also displays itself as SVG, which Jupyter and myst-nb prefer to PNG.

    For diagrams: their labels stay sharp at any zoom, and the text is drawn as paths, so it
    needs no font on the reader's side.
    """

    def _repr_svg_(self) -> str:
        buffer = io.StringIO()
        # no date and a fixed id salt: the same diagram gives the same file on every build
        with rc_context({"svg.hashsalt": "lstm-course"}):
            self.savefig(buffer, format="svg", facecolor="white", metadata={"Date": None})
        return buffer.getvalue()


def _figure(figsize, kind=NotebookFigure) -> NotebookFigure:
    return kind(figsize=figsize, facecolor="white", layout="constrained")


def _inputs(x, default: np.ndarray) -> np.ndarray:
    """``x`` as a finite, non-empty ``(M,)`` float64 array (``default`` if None)."""
    if x is None:
        return default
    x = check_array(x, "x", (None,), "(M,)", np.float64)
    if x.size == 0:
        raise ValueError(f"x must hold at least one point, got shape {x.shape}")
    return x


def activation_figure(x=None, points=()):
    """Sigmoid and tanh (left) and their derivatives (right) on a shared ``x`` axis.

    Parameters
    ----------
    x : array (M,), optional
        Where to evaluate; default 601 points in [-6, 6].
    points : sequence of (str, float)
        ``("sigmoid", -5.0)`` or ``("tanh", 2.0)``: values marked with a dot and labelled.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes; the left one has the lines ``sigmoid`` and ``tanh`` (labels of its legend),
        the right one ``sigmoid'`` and ``tanh'``.

    Raises
    ------
    ValueError
        If ``x`` is not a finite non-empty 1-D array of numbers, or ``points`` not a
        sequence of pairs ``("sigmoid" or "tanh", finite number)``.
    """
    x = _inputs(x, np.linspace(-6.0, 6.0, 601))
    funcs = {"sigmoid": (sigmoid, "C0"), "tanh": (tanh, "C1")}
    expected = 'a sequence of pairs ("sigmoid" or "tanh", a finite number)'
    if isinstance(points, (str, bytes)) or not isinstance(points, (list, tuple)):
        raise ArgumentTypeError(f"points must be {expected}, got {describe(points)}")
    for k, point in enumerate(points):
        if (
            not isinstance(point, (list, tuple))
            or len(point) != 2
            or not isinstance(point[0], str)
            or point[0] not in funcs
        ):
            raise ValueError(
                f'points[{k}] must be a pair ("sigmoid" or "tanh", a finite number), '
                f"got {describe(point)}"
            )
        finite_number(point[1], f"points[{k}][1]")
    fig = _figure((9, 3.6))
    left, right = fig.subplots(1, 2, sharex=True)
    left.plot(x, sigmoid(x), color="C0", label=r"sigmoid $\sigma(x)$")
    left.plot(x, tanh(x), color="C1", ls="--", label=r"$\tanh(x)$")
    right.plot(x, sigmoid_grad(x), color="C0", label=r"$\sigma'(x) = \sigma(x)(1-\sigma(x))$")
    right.plot(x, tanh_grad(x), color="C1", ls="--", label=r"$\tanh'(x) = 1 - \tanh^2(x)$")
    for name, at in points:
        fn, colour = funcs[name]
        y = float(fn(at))
        left.plot([at], [y], "o", color=colour, ms=6)
        left.annotate(
            f"{name}({at:g}) = {y:.3g}",
            (at, y),
            textcoords="offset points",
            xytext=(8, -12 if y > 0 else 6),
            fontsize=8,
            color=colour,
        )
    for ax, title, levels in [
        (left, "the functions", (-1.0, 0.0, 1.0)),
        (right, "their derivatives", (0.0, 0.25, 1.0)),
    ]:
        for level in levels:
            ax.axhline(level, color="grey", lw=0.6, ls=":")
        ax.axvline(0.0, color="grey", lw=0.6, ls=":")
        ax.set_xlabel("$x$")
        ax.set_title(title, fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    return fig


def _highlighted(stages, highlight) -> bool:
    return highlight is None or bool(set(stages) & highlight)


def cell_diagram(highlight=None, values=None):
    """The LSTM cell in the classic diagram vocabulary, optionally highlighting one stage.

    Yellow boxes are layers (a weight matrix, a bias and a squashing function), pink circles
    pointwise operations, merging lines concatenation and forking lines copies. The cell
    state runs along the top, the short-term memory along the bottom.

    Parameters
    ----------
    highlight : str or iterable of str, optional
        Stages to draw in colour, the rest faded: ``"f"`` (forget gate), ``"i"`` (input gate
        and candidate memory), ``"c"`` (the cell-state line), ``"o"`` (output gate and new
        hidden state). ``None`` draws everything alike.
    values : dict, optional
        Scalars (or 1x1 arrays) keyed like :func:`lstm_core.lstm_step_trace`'s output, plus
        ``"x"``, ``"h_prev"`` and ``"c_prev"``: written next to the matching parts.

    Returns
    -------
    matplotlib.figure.Figure
        One axes holding the 4 layer boxes (gids ``box-f``, ``box-i``, ``box-g``, ``box-o``),
        5 pointwise operations (``op-forget``, ``op-input``, ``op-add``, ``op-tanh``,
        ``op-output``) and the cell outline (``cell``).

    Raises
    ------
    ValueError
        If ``highlight`` is not a stage or a collection of stages among :data:`STAGES`, or
        ``values`` not a dict of finite numbers (or one-element arrays) keyed by str.
    """
    if highlight is not None:
        stages = [highlight] if isinstance(highlight, str) else highlight
        if not isinstance(stages, (list, tuple, set, frozenset)) or not all(
            isinstance(s, str) for s in stages
        ):
            raise ArgumentTypeError(
                f"highlight must be a stage or stages among {STAGES}, got {describe(highlight)}"
            )
        highlight = set(stages)
        unknown = highlight - set(STAGES)
        if unknown:
            raise ValueError(f"highlight must be among {STAGES}, got {sorted(unknown)}")
    if values is not None and not isinstance(values, dict):
        raise ArgumentTypeError(
            f"values must be a dict of numbers keyed like lstm_step_trace's output, "
            f"got {describe(values)}"
        )
    vals = {}
    for k, v in (values or {}).items():
        if not isinstance(k, str):
            raise ArgumentTypeError(f"values must have str keys, got {describe(k)}")
        arr = as_float_array(v, f"values[{k!r}]")
        if arr.size != 1:
            raise ValueError(
                f"values[{k!r}] must be a number or an array of one entry, got shape {arr.shape}"
            )
        check_finite(arr, f"values[{k!r}]")
        vals[k] = float(arr.ravel()[0])

    fig = _figure(DIAGRAM_SIZE, DiagramFigure)
    ax = fig.add_subplot()
    ax.set_xlim(-1.6, 12.6)
    ax.set_ylim(-1.4, 8.0)
    ax.set_aspect("equal")
    ax.axis("off")

    def style(stages):
        on = _highlighted(stages, highlight)
        colour = HIGHLIGHT if (on and highlight is not None) else LINE
        return {"color": colour, "alpha": 1.0 if on else 0.25, "lw": 2.2 if on else 1.4}

    def path(points, stages, arrow=True):
        s = style(stages)
        xs, ys = zip(*points, strict=True)
        if len(points) > 2:
            ax.plot(
                xs[:-1],
                ys[:-1],
                color=s["color"],
                alpha=s["alpha"],
                lw=s["lw"],
                solid_capstyle="round",
            )
        ax.add_patch(
            FancyArrowPatch(
                points[-2],
                points[-1],
                arrowstyle="-|>" if arrow else "-",
                mutation_scale=13,
                shrinkA=0,
                shrinkB=0,
                **s,
            )
        )

    def centred_text(cx, cy, text, on, **kw):
        """The symbol inside a layer box or an operation circle, faded when not highlighted."""
        ax.text(
            cx, cy, text, ha="center", va="center", color="black", alpha=1.0 if on else 0.35, **kw
        )

    def layer(cx, cy, text, gid, stages, width=0.9):
        on = _highlighted(stages, highlight)
        patch = FancyBboxPatch(
            (cx - width / 2, cy - 0.35),
            width,
            0.7,
            boxstyle="round,pad=0.04",
            fc=YELLOW,
            ec=style(stages)["color"],
            lw=1.3,
            alpha=1.0 if on else 0.3,
            gid=gid,
        )
        ax.add_patch(patch)
        centred_text(cx, cy, text, on, fontsize=14)

    def op(cx, cy, text, gid, stages, shape="circle"):
        on = _highlighted(stages, highlight)
        kw = {
            "fc": PINK,
            "ec": style(stages)["color"],
            "lw": 1.3,
            "alpha": 1.0 if on else 0.3,
            "gid": gid,
            "zorder": 3,
        }
        patch = (
            Ellipse((cx, cy), 1.1, 0.6, **kw) if shape == "ellipse" else Circle((cx, cy), 0.3, **kw)
        )
        ax.add_patch(patch)
        centred_text(cx, cy, text, on, fontsize=12 if shape == "ellipse" else 16, zorder=4)

    def label(x, y, text, stages, key=None, stacked=False, **kw):
        if key is not None and key in vals:  # inside the cell, the value goes below the symbol
            text = f"{text}\n{vals[key]:.3g}" if stacked else f"{text} = {vals[key]:.3g}"
        on = _highlighted(stages, highlight)
        kw = {"ha": "left", "va": "center", "fontsize": LABEL_SIZE, **kw}
        ax.text(x, y, text, color="black", alpha=1.0 if on else 0.35, **kw)

    ax.add_patch(
        FancyBboxPatch(
            (0.4, 0.3),
            10.2,
            6.0,
            boxstyle="round,pad=0.1",
            fc="#e8eef6",
            ec="#8899aa",
            lw=1.0,
            gid="cell",
            zorder=0,
        )
    )

    fx, ix, gx, ox, tx = 2.0, 3.4, 4.8, 6.3, 8.0  # columns of the parts
    top, mid, low, box_y = 5.5, 4.0, 1.0, 2.5
    # cell state: the conveyor belt along the top
    path([(-0.4, top), (fx - 0.3, top)], "cf", arrow=False)
    path([(fx + 0.3, top), (gx - 0.3, top)], "c", arrow=False)
    path([(gx + 0.3, top), (11.4, top)], "co")
    op(fx, top, "×", "op-forget", "fc")
    op(gx, top, "+", "op-add", "ic")
    # short-term memory and input merge (concatenation), then fork to the four layers
    path([(-0.4, low), (1.2, low)], "fio", arrow=False)
    path([(1.2, -0.8), (1.2, low)], "fio", arrow=False)
    for a, b, stages in [(1.2, fx, "fio"), (fx, gx, "io"), (gx, ox, "o")]:
        path([(a, low), (b, low)], stages, arrow=False)
    # one layer box per gate; the drawing's left-to-right order is the classic one, f i g o
    column = {"f": fx, "i": ix, "g": gx, "o": ox}
    stage = {"f": "f", "i": "i", "g": "i", "o": "o"}  # the candidate belongs to the input stage
    for gate in GATES:
        cx = column[gate]
        path([(cx, low), (cx, box_y - 0.4)], stage[gate])
        width = 1.1 if gate == "g" else 0.9
        layer(cx, box_y, _SQUASH_TEX[gate], f"box-{gate}", stage[gate], width=width)
    # forget gate scales the belt; input gate scales the candidate, which is added to it
    path([(fx, box_y + 0.39), (fx, top - 0.3)], "f")
    path([(ix, box_y + 0.39), (ix, mid), (gx - 0.3, mid)], "i")
    path([(gx, box_y + 0.39), (gx, mid - 0.3)], "i")
    op(gx, mid, "×", "op-input", "i")
    path([(gx, mid + 0.3), (gx, top - 0.3)], "i")
    # output: tanh of the new cell state, scaled by the output gate, is the new h
    path([(tx, top), (tx, 4.3 + 0.3)], "o")
    op(tx, 4.3, "tanh", "op-tanh", "o", shape="ellipse")
    path([(tx, 4.3 - 0.3), (tx, box_y + 0.3)], "o")
    path([(ox + 0.45, box_y), (tx - 0.3, box_y)], "o")
    op(tx, box_y, "×", "op-output", "o")
    path([(tx, box_y - 0.3), (tx, low), (11.4, low)], "o")
    path([(10.0, low), (10.0, 7.3)], "o")

    label(-1.5, top + 0.35, r"$c_{t-1}$", "cf", "c_prev", fontsize=LABEL_SIZE + 1)
    label(-1.5, low + 0.35, r"$h_{t-1}$", "fio", "h_prev", fontsize=LABEL_SIZE + 1)
    label(1.3, -1.0, r"$x_t$", "fio", "x", fontsize=LABEL_SIZE + 1)
    label(10.6, top + 0.35, r"$c_t$", "co", "c", fontsize=LABEL_SIZE + 1)
    label(10.6, low + 0.35, r"$h_t$", "o", "h", fontsize=LABEL_SIZE + 1)
    label(10.15, 7.4, r"$h_t$", "o", "h", fontsize=LABEL_SIZE + 1)
    label(fx + 0.1, 3.9, SYMBOLS["f"], "f", "f", stacked=True)
    label(ix + 0.1, 3.45, SYMBOLS["i"], "i", "i", stacked=True)
    label(gx + 0.1, 3.25, SYMBOLS["g"], "i", "g", stacked=True)
    label(gx + 0.1, 4.75, SYMBOLS["c_added"], "i", "c_added", stacked=True)
    label((fx + gx) / 2 + 0.2, top + 0.45, SYMBOLS["c_kept"], "fc", "c_kept", ha="center")
    label(tx + 0.12, 3.4, SYMBOLS["tanh_c"], "o", "tanh_c", stacked=True)
    label((ox + tx) / 2 - 0.1, box_y - 0.75, SYMBOLS["o"], "o", "o", ha="center", stacked=True)
    return fig


def response_figure(keys, h_values=(-1.0, 0.0, 1.0), c_prev=2.0, params=None, x=None, mark=None):
    """How parts of one single-unit LSTM step depend on the input ``x``, one line per ``h_prev``.

    Parameters
    ----------
    keys : sequence of str
        Keys of :func:`lstm_core.lstm_step_trace`'s output, one axes each (e.g. ``("f",
        "c_kept")``).
    h_values : sequence of float
        Previous short-term memories, one line each.
    c_prev : float
        Previous long-term memory.
    params : dict, optional
        A single-unit LSTM (``D = H = 1``); default :data:`lstm_core.HAND_WORKED_PARAMS`.
    x : array (M,), optional
        Inputs; default 401 points in [-10, 10].
    mark : float, optional
        An input to mark with a dotted vertical line on every axes.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(keys)`` axes, each with ``len(h_values)`` labelled lines, under a title giving
        ``c_prev`` (and naming the hand-worked unit only when ``params`` is the default).

    Raises
    ------
    ValueError
        If ``keys`` is not a non-empty sequence of keys of :data:`SYMBOLS`, ``h_values`` not
        a non-empty sequence of finite numbers, ``c_prev`` or ``mark`` not a finite number,
        ``params`` not a single-unit LSTM, or ``x`` not a finite non-empty 1-D array.
    """
    unit = "the hand-worked unit" if params is None else "a single-unit LSTM"  # for the title
    params = HAND_WORKED_PARAMS if params is None else params
    D, H, _ = lstm_sizes(params)
    if (D, H) != (1, 1):
        raise ValueError(f"params must be a single-unit LSTM (D = H = 1), got D = {D}, H = {H}")
    if isinstance(keys, str) or not isinstance(keys, (list, tuple)):
        raise ArgumentTypeError(
            f"keys must be a non-empty sequence of keys from {list(SYMBOLS)}, got {describe(keys)}"
        )
    unknown = [k for k in keys if k not in SYMBOLS]
    if not keys or unknown:
        raise ValueError(
            f"keys must be a non-empty sequence of keys from {list(SYMBOLS)}, got {describe(keys)}"
        )
    if isinstance(h_values, str) or not isinstance(h_values, (list, tuple, np.ndarray)):
        raise ArgumentTypeError(
            f"h_values must be a non-empty sequence of finite numbers, got {describe(h_values)}"
        )
    if len(h_values) == 0:
        raise ValueError(
            f"h_values must be a non-empty sequence of finite numbers, got {h_values!r}"
        )
    for k, h in enumerate(h_values):
        finite_number(h, f"h_values[{k}]")
    finite_number(c_prev, "c_prev")
    if mark is not None:
        finite_number(mark, "mark")
    x = _inputs(x, np.linspace(-10.0, 10.0, 401))
    fig = _figure((4.2 * len(keys), 3.4))
    axes = np.atleast_1d(fig.subplots(1, len(keys), sharex=True))
    styles = ["-", "--", ":", "-."]
    for n, h in enumerate(h_values):
        trace = lstm_step_trace(
            x[:, None], np.full((x.size, 1), h), np.full((x.size, 1), c_prev), params
        )
        for ax, key in zip(axes, keys, strict=True):
            ax.plot(
                x, trace[key][:, 0], styles[n % 4], color=f"C{n}", label=rf"$h_{{t-1}} = {h:g}$"
            )
    for ax, key in zip(axes, keys, strict=True):
        ax.axhline(0.0, color="grey", lw=0.6, ls=":")
        if mark is not None:
            ax.axvline(mark, color="grey", lw=0.8, ls="--")
        ax.set_xlabel("input $x_t$")
        ax.set_ylabel(SYMBOLS.get(key, key))
        ax.legend(fontsize=8, loc="best")
    fig.suptitle(rf"one step of {unit}, $c_{{t-1}} = {c_prev:g}$", fontsize=10)
    return fig


def crossing(line, level):
    """Where a plotted line first crosses ``level``, interpolated between its two points.

    For the text alternative of a figure: the number a reader reads off the drawn line.

    Parameters
    ----------
    line : matplotlib.lines.Line2D
        A line of a figure (e.g. ``fig.axes[0].lines[0]``), its x increasing.
    level : float
        The height to find.

    Returns
    -------
    float
        The x at which the line first reaches ``level``.

    Raises
    ------
    ValueError
        If ``line`` is not a ``Line2D`` of numeric data with at least one finite point (an
        ``ArgumentTypeError`` for another object), ``level`` is not a finite number, or the
        line never reaches it (points with NaN or infinity are gaps in the line).
    """
    if not isinstance(line, Line2D):
        raise ArgumentTypeError(
            f"line must be a matplotlib.lines.Line2D (e.g. fig.axes[0].lines[0]), "
            f"got {describe(line)}"
        )
    finite_number(level, "level")
    try:
        x = np.asarray(line.get_xdata(), dtype=float)
        y = np.asarray(line.get_ydata(), dtype=float) - level
    except (TypeError, ValueError):  # dates, strings: no number to interpolate
        raise ArgumentTypeError(
            f"line must have numeric x and y data, got x {describe(line.get_xdata())} and "
            f"y {describe(line.get_ydata())}"
        ) from None
    if y.size == 0:
        raise ValueError("line must have at least one point, got an empty line")
    # points with NaN or infinity are gaps (matplotlib draws no segment to them)
    drawn = np.isfinite(x) & np.isfinite(y)
    if not drawn.any():
        raise ValueError("line must have at least one finite point, got none")
    crosses = drawn[:-1] & drawn[1:] & (np.sign(y[:-1]) != np.sign(y[1:]))
    where = np.flatnonzero((drawn & (y == 0)) | np.append(crosses, False))
    if where.size == 0:
        raise ValueError(
            f"level must be reached by the line: got {level!r}, the line spans "
            f"[{y[drawn].min() + level:g}, {y[drawn].max() + level:g}]"
        )
    k = where[0]
    if y[k] == 0:
        return float(x[k])
    return float(x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k]))


__all__ = [
    "SYMBOLS",
    "NotebookFigure",
    "activation_figure",
    "cell_diagram",
    "crossing",
    "response_figure",
]


HIDDEN_PATH = "#1f5fa8"  # the short-term memory's path in :func:`rnn_lstm_figure`


def rnn_lstm_figure():
    """A plain RNN cell next to an LSTM cell: one path through time against two.

    Left, the RNN: the hidden state meets the input and goes through a layer (weights and
    ``tanh``) at every step; that is its only path. Right, the LSTM: the same kind of path for
    the short-term memory ``h`` (in blue), plus the cell state ``c`` along the top (in red),
    touched only by a multiplication and an addition and crossing no layer.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes. Layer boxes carry gids ``box-*`` (one on the left, four on the right),
        pointwise operations ``op-*``; the paths are lines with gids ``rnn-hidden`` (left),
        ``lstm-hidden`` and ``lstm-belt`` (right). The belt is the only line at its height.
    """
    fig = _figure((11, 4.4))
    left, right = fig.subplots(1, 2)
    belt_y, low, box_y, mid = 5.5, 1.0, 2.6, 4.0

    def setup(ax, title):
        ax.set_xlim(-1.7, 12.4)
        ax.set_ylim(-1.6, 7.9)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title, fontsize=11)
        ax.add_patch(
            FancyBboxPatch(
                (0.4, 0.3),
                10.2,
                6.0,
                boxstyle="round,pad=0.1",
                fc="#e8eef6",
                ec="#8899aa",
                lw=1.0,
                gid="cell",
                zorder=0,
            )
        )

    def line(ax, points, colour, gid=None, arrow=True, lw=2.0):
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, color=colour, lw=lw, solid_capstyle="round", gid=gid, zorder=1)
        if arrow:
            ax.add_patch(
                FancyArrowPatch(
                    points[-2],
                    points[-1],
                    arrowstyle="-|>",
                    mutation_scale=13,
                    color=colour,
                    lw=lw,
                    shrinkA=0,
                    shrinkB=0,
                    zorder=1,
                )
            )

    def layer(ax, cx, cy, text, gid, width=0.9):
        ax.add_patch(
            FancyBboxPatch(
                (cx - width / 2, cy - 0.35),
                width,
                0.7,
                boxstyle="round,pad=0.04",
                fc=YELLOW,
                ec=LINE,
                lw=1.3,
                gid=gid,
                zorder=2,
            )
        )
        ax.text(cx, cy, text, ha="center", va="center", fontsize=12, zorder=3)

    def op(ax, cx, cy, text, gid, ellipse=False):
        kw = {"fc": PINK, "ec": LINE, "lw": 1.3, "gid": gid, "zorder": 3}
        ax.add_patch(Ellipse((cx, cy), 1.0, 0.6, **kw) if ellipse else Circle((cx, cy), 0.3, **kw))
        ax.text(cx, cy, text, ha="center", va="center", fontsize=11 if ellipse else 14, zorder=4)

    def label(ax, x, y, text, colour="black", **kw):
        ax.text(x, y, text, ha=kw.pop("ha", "left"), va="center", fontsize=12, color=colour, **kw)

    # the RNN: one path, through a layer at every step
    setup(left, "RNN: one path, through a layer at every step")
    line(left, [(-0.4, low), (5.0, low), (5.0, box_y - 0.4)], HIDDEN_PATH, gid="rnn-hidden")
    line(left, [(1.2, -0.8), (1.2, low)], LINE, arrow=False)
    layer(left, 5.0, box_y, r"$\tanh$", "box-rnn", width=1.0)
    line(left, [(5.0, box_y + 0.4), (5.0, mid), (11.4, mid)], HIDDEN_PATH)
    line(left, [(10.0, mid), (10.0, 7.3)], HIDDEN_PATH)
    label(left, -1.6, low + 0.4, r"$h_{t-1}$", HIDDEN_PATH)
    label(left, 1.3, -1.1, r"$x_t$")
    label(left, 10.6, mid + 0.4, r"$h_t$", HIDDEN_PATH)
    label(left, 10.15, 7.5, r"$h_t$", HIDDEN_PATH)

    # the LSTM: the same kind of path for h, and the cell state along the top
    setup(right, "LSTM: a second path, the cell state, with no layer on it")
    fx, ix, gx, ox, tx = 2.0, 3.4, 4.8, 6.3, 8.0
    line(right, [(-0.4, belt_y), (11.4, belt_y)], HIGHLIGHT, gid="lstm-belt", lw=3.0)
    op(right, fx, belt_y, "×", "op-forget")
    op(right, gx, belt_y, "+", "op-add")
    line(right, [(-0.4, low), (ox, low)], HIDDEN_PATH, gid="lstm-hidden", arrow=False)
    line(right, [(1.2, -0.8), (1.2, low)], LINE, arrow=False)
    for cx, text, gid in [
        (fx, r"$\sigma$", "box-f"),
        (ix, r"$\sigma$", "box-i"),
        (gx, r"$\tanh$", "box-g"),
        (ox, r"$\sigma$", "box-o"),
    ]:
        line(right, [(cx, low), (cx, box_y - 0.4)], HIDDEN_PATH)
        layer(right, cx, box_y, text, gid, width=1.0 if gid == "box-g" else 0.9)
    line(right, [(fx, box_y + 0.4), (fx, belt_y - 0.3)], LINE)
    line(right, [(ix, box_y + 0.4), (ix, mid), (gx - 0.3, mid)], LINE)
    line(right, [(gx, box_y + 0.4), (gx, mid - 0.3)], LINE)
    op(right, gx, mid, "×", "op-input")
    line(right, [(gx, mid + 0.3), (gx, belt_y - 0.3)], LINE)
    line(right, [(tx, belt_y), (tx, 4.3 + 0.3)], LINE)
    op(right, tx, 4.3, "tanh", "op-tanh", ellipse=True)
    line(right, [(tx, 4.3 - 0.3), (tx, box_y + 0.3)], LINE)
    line(right, [(ox + 0.45, box_y), (tx - 0.3, box_y)], LINE)
    op(right, tx, box_y, "×", "op-output")
    line(right, [(tx, box_y - 0.3), (tx, low), (11.4, low)], HIDDEN_PATH)
    line(right, [(10.0, low), (10.0, 7.3)], HIDDEN_PATH)
    label(right, -1.6, belt_y + 0.4, r"$c_{t-1}$", HIGHLIGHT)
    label(right, 10.6, belt_y + 0.4, r"$c_t$", HIGHLIGHT)
    label(right, -1.6, low + 0.4, r"$h_{t-1}$", HIDDEN_PATH)
    label(right, 1.3, -1.1, r"$x_t$")
    label(right, 10.6, low + 0.4, r"$h_t$", HIDDEN_PATH)
    label(right, 10.15, 7.5, r"$h_t$", HIDDEN_PATH)
    return fig


__all__ += ["rnn_lstm_figure"]
