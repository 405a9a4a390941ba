"""Interactive explorers for the chapters: sliders in, the LSTM's numbers out.

Needs ipywidgets, which ``import lstm_core`` does not load: ``from lstm_core import widgets``.
Every builder returns an :class:`Explorer`, a ``VBox`` of sliders above an HTML read-out.
Each slider moves over a fixed grid of positions. Its ``values`` dict holds the numbers the
read-out shows, and ``update()`` recomputes them from the sliders (the sliders call it
themselves), so the explorers can be tested without a browser.

The same ``compute`` function also fills a table of the read-out at *every* combination of
slider positions when the explorer is built. The table travels with the widget's saved state,
and the book's ``widgets-offline.js`` shows its entries when a slider moves on a static page,
where no Python kernel runs: the page shows exactly what lstm_core computes, with no second
implementation in JavaScript.
"""

from __future__ import annotations

import html
import itertools
import json
import math

import ipywidgets as widgets
import numpy as np

from ._checks import ArgumentTypeError, callable_arg, choice, describe, finite_number, integer
from .activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from .gates import lstm_step_trace
from .params import GATE_NAMES, GATES, HAND_WORKED_PARAMS, copy_params, gate_slice, lstm_sizes

BAR = "#4c8bd6"  # mid-tone: readable on the theme's light and dark backgrounds
TRACK = "#9aa5b1"

#: Read-out markup, shared by Python (``str.format``) and widgets-offline.js (same names).
TABLE_TEMPLATE = "<table class='lstm-readout' style='border-collapse:collapse'>{rows}</table>"
ROW_TEMPLATE = (
    "<tr><td style='padding:1px 10px 1px 0'>{label}</td>"
    "<td style='padding:1px 10px;text-align:right;font-family:monospace;white-space:nowrap'>"
    "{text}</td><td>{bar}</td></tr>"
)
BAR_TEMPLATE = (
    '<span style="display:inline-block;position:relative;width:8em;max-width:25vw;height:0.8em;'
    f'background:{TRACK};vertical-align:middle;border-radius:2px">'
    '<span style="position:absolute;left:{left}%;width:{width}%;height:100%;'
    f'background:{BAR};border-radius:2px"></span></span>'
)

#: Upper bound on the slider positions an explorer tabulates (the product of the grid sizes):
#: the table is part of the page, and each position costs a call of ``compute`` at build time.
MAX_POSITIONS = 20_000


def _bar_geometry(value: float, signed: bool = False) -> str:
    """``"left width"`` in percent of the track for ``value`` (see :func:`bar`)."""
    value = float(np.clip(value, -1.0 if signed else 0.0, 1.0))
    if signed:
        left, width = (50.0, 50.0 * value) if value >= 0 else (50.0 * (1 + value), -50.0 * value)
    else:
        left, width = 0.0, 100.0 * value
    return f"{left:.1f} {width:.1f}"


def _bar_html(geometry: str) -> str:
    if not geometry:
        return ""
    left, width = geometry.split()
    return BAR_TEMPLATE.format(left=left, width=width)


def bar(value: float, signed: bool = False) -> str:
    """An HTML bar for ``value`` in [0, 1] (or [-1, 1] when ``signed``, drawn from the middle).

    Values beyond the range are drawn at its end.

    Parameters
    ----------
    value : float
        Finite.
    signed : bool

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``value`` is not a finite number or ``signed`` not a bool (an
        ``ArgumentTypeError`` for wrong types).
    """
    finite_number(value, "value")
    if not isinstance(signed, (bool, np.bool_)):
        raise ArgumentTypeError(f"signed must be True or False, got {describe(signed)}")
    return _bar_html(_bar_geometry(value, signed))


def _cells(rows) -> list[tuple[str, str, str]]:
    """``(label, value text, bar)`` rows as strings: escaped label, text, bar geometry or ""."""
    out = []
    for label, text, *rest in rows:
        geometry = _bar_geometry(*rest) if rest and rest[0] is not None else ""
        out.append((html.escape(label), text, geometry))
    return out


def _rows(cells) -> str:
    """The read-out's HTML table from :func:`_cells`' output."""
    body = "".join(ROW_TEMPLATE.format(label=a, text=b, bar=_bar_html(c)) for a, b, c in cells)
    return TABLE_TEMPLATE.format(rows=body)


def grid(lo: float, hi: float, step: float, digits: int = 2) -> list[float]:
    """Slider positions from ``lo`` to ``hi`` (both included) every ``step``, rounded.

    Parameters
    ----------
    lo, hi : float
        Finite, ``lo < hi``.
    step : float
        Finite, > 0; ``(hi - lo) / step`` must be an integer, at most :data:`MAX_POSITIONS`.
    digits : int
        Decimal digits kept, >= 0, enough to keep the positions apart.

    Returns
    -------
    list of float

    Raises
    ------
    ValueError
        For an argument that is not as above (an ``ArgumentTypeError`` for wrong types).
    """
    finite_number(lo, "lo")
    finite_number(hi, "hi")
    finite_number(step, "step", low=0, low_open=True)
    integer(digits, "digits", 0)
    if not hi > lo:
        raise ValueError(f"hi must be greater than lo={lo!r}, got {hi!r}")
    with np.errstate(over="ignore"):
        steps = (hi - lo) / step
    if not math.isfinite(steps) or steps > MAX_POSITIONS + 0.5:
        raise ValueError(
            f"step must cut [lo, hi] into at most {MAX_POSITIONS} steps, got step={step} for "
            f"lo={lo}, hi={hi} ({steps:.3g} steps)"
        )
    n = round(steps)
    if n < 1 or not math.isclose(lo + n * step, hi, abs_tol=1e-9):
        raise ValueError(
            f"step must cut [lo, hi] into a whole number of steps, (hi - lo) / step a positive "
            f"integer, got step={step} for lo={lo}, hi={hi} ({steps:.3g} steps)"
        )
    positions = [round(lo + k * step, digits) for k in range(n + 1)]
    if len(set(positions)) < len(positions):
        raise ValueError(
            f"digits must keep the positions apart (step={step} needs more decimals), got "
            f"digits={digits}, which rounds {n + 1} positions to {len(set(positions))} values"
        )
    return positions


def _position(values: list, value, name: str, what: str = "") -> int:
    """The index of ``value`` among a slider's position ``values``, or a ``ValueError``
    naming ``name`` (``what`` is said of the value, e.g. " (its start value)")."""
    try:
        return values.index(value)
    except ValueError:  # not among them (or an array, which has no single truth value)
        shown = values if len(values) <= 10 else f"{len(values)} from {values[0]} to {values[-1]}"
        raise ValueError(
            f"{name} must be one of the slider's positions{what}, {shown}, got {value!r}"
        ) from None


def _slider(description, positions, value, fmt="{:.2f}", name=None):
    """A slider over ``positions`` (numbers, or ``(label, value)`` pairs) starting at ``value``.

    ``name`` is the argument that gave ``value``, for the message if it is not a position
    (a number, not a bool, for positions that are numbers).
    """
    options = [p if isinstance(p, tuple) else (fmt.format(p), p) for p in positions]
    values = [v for _, v in options]
    name = name or description
    if not isinstance(positions[0], tuple):
        finite_number(value, name)
    _position(values, value, name, " (its start value)")
    return widgets.SelectionSlider(
        options=options,
        value=value,
        description=description,
        continuous_update=True,
        style={"description_width": "7.5em"},
        layout=widgets.Layout(width="100%", max_width="34em"),
    )


class Explorer(widgets.VBox):
    """Sliders above an HTML read-out; ``values`` holds the numbers shown.

    Parameters
    ----------
    sliders : dict of str to SelectionSlider
        The controls, each over a finite grid of positions.
    compute : callable
        ``compute(**slider_values) -> (values, rows)``: ``values`` a dict of the numbers
        shown, ``rows`` a list of ``(label, text)`` or ``(label, text, bar_value, signed)``.
    kind : str
        A name for the read-out's kind, given to the box as the CSS class
        ``lstm-explorer-<kind>`` (tests and styles find the explorer by it).

    Attributes
    ----------
    table : dict
        The read-out at every combination of slider positions (see the module docstring):
        ``controls`` (slider names), ``sizes`` (positions per slider), the three templates, and
        ``fields``, three per row (label, text, bar), each ``{"axes": [...], "values": [...]}``:
        its entries over the sliders it depends on, in C order.

    Raises
    ------
    ValueError
        If ``sliders`` is not a non-empty dict of names to ``SelectionSlider``, ``compute``
        not callable or ``kind`` not a str (an ``ArgumentTypeError`` for wrong types), or
        the sliders have more than :data:`MAX_POSITIONS` combinations of positions.
    """

    def __init__(self, sliders: dict, compute, kind: str, **kwargs):
        expected = "a non-empty dict of names to ipywidgets.SelectionSlider"
        if not isinstance(sliders, dict) or not all(
            isinstance(k, str) and isinstance(v, widgets.SelectionSlider)
            for k, v in sliders.items()
        ):
            raise ArgumentTypeError(f"sliders must be {expected}, got {describe(sliders)}")
        if not sliders:
            raise ValueError(f"sliders must be {expected}, got {{}}")
        callable_arg(compute, "compute", "a function compute(**slider_values) -> (values, rows)")
        if not isinstance(kind, str):
            raise ArgumentTypeError(
                f"kind must be a str such as 'activation', got {describe(kind)}"
            )
        self.sliders = sliders
        self.compute = compute
        self.readout = widgets.HTML()
        self.readout.add_class("lstm-explorer-readout")
        self.values: dict = {}
        self.table = self._tabulate()
        data = widgets.HTML(
            value="<script type='application/json' class='lstm-explorer-table'>"
            + json.dumps(self.table, separators=(",", ":")).replace("</", "<\\/")
            + "</script>",
            layout=widgets.Layout(display="none"),
        )
        super().__init__([*sliders.values(), self.readout, data], **kwargs)
        self.add_class("lstm-explorer")
        self.add_class(f"lstm-explorer-{kind}")
        for s in sliders.values():
            s.observe(self.update, names="value")
        self.update()

    def update(self, change=None):
        """Recompute ``values`` and the read-out from the sliders; returns ``values``."""
        self.values, rows = self.compute(**{k: s.value for k, s in self.sliders.items()})
        self.readout.value = _rows(_cells(rows))
        return self.values

    def _tabulate(self) -> dict:
        names = list(self.sliders)
        options = [[v for _, v in self.sliders[k].options] for k in names]
        sizes = [len(o) for o in options]
        if math.prod(sizes) > MAX_POSITIONS:
            raise ValueError(
                f"sliders: {math.prod(sizes)} combinations of positions {sizes}, expected at "
                f"most {MAX_POSITIONS}: use coarser grids"
            )
        cells = [
            _cells(self.compute(**dict(zip(names, combo, strict=True)))[1])
            for combo in itertools.product(*options)
        ]
        fields = []
        for column in zip(*cells, strict=True):  # one row of the read-out
            for part in zip(*column, strict=True):  # its label, text, bar
                values = np.array(part, dtype=object).reshape(sizes)
                axes = []
                for axis in range(len(sizes)):  # keep the sliders this part depends on
                    if (values == values.take([0], axis=axis)).all():
                        values = values.take([0], axis=axis)
                    else:
                        axes.append(axis)
                fields.append({"axes": axes, "values": values.ravel().tolist()})
        return {
            "controls": names,
            "sizes": sizes,
            "table": TABLE_TEMPLATE,
            "row": ROW_TEMPLATE,
            "bar": BAR_TEMPLATE,
            "fields": fields,
        }

    def lookup(self, **positions) -> str:
        """The read-out's HTML from :attr:`table` at slider ``positions`` (values), as a page
        without a kernel shows it; equals ``readout.value`` after the sliders moved there.

        A ``ValueError`` if ``positions`` does not give exactly one value per slider, each
        one of its slider's positions.
        """
        names = self.table["controls"]
        if sorted(positions) != sorted(names):
            raise ValueError(
                f"positions must give a value for each slider {names} and no other, got "
                f"{sorted(positions)}"
            )
        index = []
        for k in names:
            values = [v for _, v in self.sliders[k].options]
            index.append(_position(values, positions[k], k))
        fields = self.table["fields"]
        parts = []
        for f in fields:
            flat = 0
            for axis in f["axes"]:
                flat = flat * self.table["sizes"][axis] + index[axis]
            parts.append(f["values"][flat])
        cells = [tuple(parts[r : r + 3]) for r in range(0, len(parts), 3)]
        return _rows(cells)


def activation_explorer(x: float = 2.0) -> Explorer:
    """One slider for ``x`` in [-10, 10], every 0.1; shows sigmoid, tanh and their slopes at ``x``.

    ``values`` has keys ``sigmoid``, ``tanh``, ``sigmoid_grad``, ``tanh_grad``.

    Raises
    ------
    ValueError
        If ``x`` is not one of the slider's positions (an ``ArgumentTypeError`` if not a
        number).
    """

    def compute(x):
        v = {
            "sigmoid": float(sigmoid(x)),
            "tanh": float(tanh(x)),
            "sigmoid_grad": float(sigmoid_grad(x)),
            "tanh_grad": float(tanh_grad(x)),
        }
        rows = [
            ("sigmoid(x)", f"{v['sigmoid']:z.5f}", v["sigmoid"], False),
            ("tanh(x)", f"{v['tanh']:+z.5f}", v["tanh"], True),
            ("slope of sigmoid", f"{v['sigmoid_grad']:z.5f}", v["sigmoid_grad"], False),
            ("slope of tanh", f"{v['tanh_grad']:z.5f}", v["tanh_grad"], False),
        ]
        return v, rows

    sliders = {"x": _slider("input x", grid(-10.0, 10.0, 0.1, 1), x, "{:.1f}", name="x")}
    return Explorer(sliders, compute, "activation")


def _weight_options(gate: str, base) -> list[tuple[str, tuple[float, float, float]]]:
    """Named settings of one gate's ``(w_x, w_h, b)``: the given ones and two variations."""
    k = gate_slice(gate, 1).start
    w_x, w_h, b = float(base["Wx"][0, k]), float(base["Wh"][0, k]), float(base["b"][k])
    return [
        ("as given", (w_x, w_h, b)),
        ("x weight × −1", (-w_x, w_h, b)),
        ("bias −5", (w_x, w_h, -5.0)),
    ]


def gate_explorer(
    gate: str, params=None, x: float = 1.0, h_prev: float = 1.0, c_prev: float = 2.0
) -> Explorer:
    """Sliders for a single-unit LSTM's inputs and one gate's weights; shows that gate at work.

    Parameters
    ----------
    gate : {"f", "i", "g", "o"}
        The part whose weights can change (see :data:`lstm_core.GATES`).
    params : dict, optional
        A single-unit LSTM (``D = H = 1``); default :data:`lstm_core.HAND_WORKED_PARAMS`.
        The other parts keep these weights.
    x, h_prev, c_prev : float
        Start positions of the input (a slider over [-10, 10] every 0.5), the previous
        short-term memory ([-1, 1] every 0.5) and the previous long-term memory ([-3, 3]
        every 1).

    Returns
    -------
    Explorer
        Sliders ``x``, ``h_prev``, ``c_prev`` and ``weights``: the gate's ``(w_x, w_h, b)``,
        as given, with the weight on ``x`` negated, or with the bias set to -5. ``values``
        holds every intermediate of :func:`lstm_core.lstm_step_trace` for those values, as
        floats.

    Raises
    ------
    ValueError
        If ``gate`` is not one of :data:`lstm_core.GATES`, ``params`` not a single-unit
        LSTM, or ``x``, ``h_prev`` or ``c_prev`` not one of its slider's positions (an
        ``ArgumentTypeError`` for wrong types).
    """
    choice(gate, "gate", GATES)
    base = HAND_WORKED_PARAMS if params is None else params
    if lstm_sizes(base)[:2] != (1, 1):
        raise ValueError(
            "params must be a single-unit LSTM (D = H = 1): Wx (1, 4), Wh (1, 4), b (4,), "
            f"got Wx {base['Wx'].shape}"
        )
    k = gate_slice(gate, 1).start
    name = GATE_NAMES[gate]
    weight_options = _weight_options(gate, base)
    sliders = {
        "x": _slider("input x", grid(-10.0, 10.0, 0.5), x, name="x"),
        "h_prev": _slider("prev. short h", grid(-1.0, 1.0, 0.5), h_prev, name="h_prev"),
        "c_prev": _slider("prev. long c", grid(-3.0, 3.0, 1.0), c_prev, name="c_prev"),
        "weights": _slider(f"{gate}: weights", weight_options, weight_options[0][1]),
    }

    # One lstm_step_trace per weight setting, over every (x, h_prev, c_prev) position at once:
    # the table needs them all, and one call per position would cost seconds per page.
    axes = [[v for _, v in sliders[key].options] for key in ("x", "h_prev", "c_prev")]
    where = [{v: n for n, v in enumerate(a)} for a in axes]
    inputs = [m.reshape(-1, 1) for m in np.meshgrid(*axes, indexing="ij")]
    traces = {}

    def trace(x, h_prev, c_prev, weights):
        if weights not in traces:
            p = copy_params(base)
            p["Wx"][0, k], p["Wh"][0, k], p["b"][k] = weights
            shape = tuple(len(a) for a in axes)
            traces[weights] = {
                key: v.reshape(shape) for key, v in lstm_step_trace(*inputs, p).items()
            }
        at = tuple(w[v] for w, v in zip(where, (x, h_prev, c_prev), strict=True))
        return {key: float(v[at]) for key, v in traces[weights].items()}

    def compute(x, h_prev, c_prev, weights):
        w_x, w_h, b = weights
        t = trace(x, h_prev, c_prev, weights)
        a = t[f"a_{gate}"]
        squash = "tanh" if gate == "g" else "sigmoid"
        rows = [
            (f"pre-activation {w_x:z.2f}·x {w_h:+z.2f}·h {b:+z.2f}", f"{a:+z.3f}"),
            (f"{name} = {squash}(pre-activation)", f"{t[gate]:z.3f}", t[gate], gate == "g"),
        ]
        if gate == "f":
            rows.append((f"long-term memory kept = f × {c_prev:z.2f}", f"{t['c_kept']:+z.3f}"))
        elif gate in ("i", "g"):
            other = "g" if gate == "i" else "i"  # the part this explorer keeps fixed
            label = "candidate" if other == "g" else "input gate i"
            rows += [
                (f"{label} (fixed weights)", f"{t[other]:+z.3f}", t[other], other == "g"),
                ("written to memory = i × candidate", f"{t['c_added']:+z.3f}"),
            ]
        else:
            rows += [
                ("new long-term memory c", f"{t['c']:+z.3f}"),
                ("tanh(c)", f"{t['tanh_c']:+z.3f}", t["tanh_c"], True),
                ("new short-term memory h = o × tanh(c)", f"{t['h']:+z.3f}", t["h"], True),
            ]
        if gate != "o":
            rows.append(("new long-term memory c", f"{t['c']:+z.3f}"))
        return t, rows

    return Explorer(sliders, compute, f"gate-{gate}")


#: Slider positions of :func:`cell_state_explorer`: forget gates near 1 matter most.
FORGET_POSITIONS = [0.0, 0.25, 0.5, 0.75, 0.8, 0.9, 0.95, 0.99, 1.0]
STEP_POSITIONS = [1, 2, 5, 10, 20, 50, 100]


def cell_state_explorer(
    c_prev: float = 2.0, f: float = 0.9, i: float = 0.5, g: float = 0.5, steps: int = 10
) -> Explorer:
    """Sliders for the gates themselves; shows one cell-state update and ``steps`` repeats.

    The sliders move over ``c_prev`` in [-3, 3] every 1, ``f`` in :data:`FORGET_POSITIONS`,
    ``i`` in [0, 1] every 0.25, ``g`` in [-1, 1] every 0.5, ``steps`` in :data:`STEP_POSITIONS`.

    Returns
    -------
    Explorer
        Sliders ``c_prev``, ``f``, ``i``, ``g``, ``steps``. ``values`` has ``c`` (one step:
        ``f * c_prev + i * g``), ``c_n`` (after ``steps`` steps with the same gates) and
        ``dc_n`` (the gradient of ``c_n`` on ``c_prev``, ``f ** steps``).

    Raises
    ------
    ValueError
        If a start value is not one of its slider's positions (an ``ArgumentTypeError`` if
        it is not a number, or, for ``steps``, not an integer; bools are neither).
    """
    integer(steps, "steps")  # a position of its slider, checked below
    sliders = {
        "c_prev": _slider("prev. long c", grid(-3.0, 3.0, 1.0), c_prev, name="c_prev"),
        "f": _slider("forget gate f", FORGET_POSITIONS, f, name="f"),
        "i": _slider("input gate i", grid(0.0, 1.0, 0.25), i, name="i"),
        "g": _slider("candidate", grid(-1.0, 1.0, 0.5), g, name="g"),
        "steps": _slider("steps n", STEP_POSITIONS, steps, "{:d}", name="steps"),
    }

    def compute(c_prev, f, i, g, steps):
        c = c_prev
        for _ in range(steps):  # the same update, repeated: what the belt does over time
            c = f * c + i * g
        v = {"c": f * c_prev + i * g, "c_n": c, "dc_n": f**steps}
        rows = [
            ("kept: f × c_prev", f"{f * c_prev:+z.3f}"),
            ("written: i × candidate", f"{i * g:+z.3f}"),
            ("new long-term memory c", f"{v['c']:+z.3f}"),
            (f"after {steps} step{'s' if steps != 1 else ''} with these gates", f"{c:+z.3f}"),
            (f"gradient along the belt f^{steps}", f"{v['dc_n']:.3g}", v["dc_n"], False),
        ]
        return v, rows

    return Explorer(sliders, compute, "cell-state")


__all__ = [
    "FORGET_POSITIONS",
    "MAX_POSITIONS",
    "STEP_POSITIONS",
    "Explorer",
    "activation_explorer",
    "bar",
    "cell_state_explorer",
    "gate_explorer",
    "grid",
]
