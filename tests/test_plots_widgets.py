"""The chapters' plot and widget helpers: right artists, and the numbers of lstm_core itself."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display, no GUI warnings

import html
import itertools
import json
import re

import numpy as np
import pytest
from matplotlib.colors import same_color
from matplotlib.lines import Line2D
from matplotlib.patches import ArrowStyle, Circle, Ellipse, FancyArrowPatch, FancyBboxPatch

import lstm_core as lc
from lstm_core import plots, widgets

P = lc.HAND_WORKED_PARAMS


def by_gid(fig):
    return {a.get_gid(): a for a in fig.axes[0].patches if a.get_gid()}


@pytest.mark.processes
def test_import_lstm_core_stays_numpy_only():
    import subprocess
    import sys

    code = "import sys, lstm_core; print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_activation_figure_lines_and_labels():
    fig = plots.activation_figure(points=[("sigmoid", -5.0), ("tanh", 2.0)])
    left, right = fig.axes
    assert [t.get_text() for t in left.get_legend().get_texts()] == [
        r"sigmoid $\sigma(x)$",
        r"$\tanh(x)$",
    ]
    assert len(right.get_legend().get_texts()) == 2
    assert len(left.texts) == 2  # one annotation per marked point
    x, y = left.lines[0].get_data()
    np.testing.assert_allclose(y, lc.sigmoid(x))


@pytest.mark.parametrize("highlight", [None, "f", "i", "c", "o", ("f", "c")])
def test_cell_diagram_parts(highlight):
    fig = plots.cell_diagram(highlight=highlight)
    parts = by_gid(fig)
    boxes = {g for g, a in parts.items() if g.startswith("box-")}
    assert boxes == {f"box-{gate}" for gate in lc.GATES}
    assert all(isinstance(parts[g], FancyBboxPatch) for g in boxes)
    ops = {g for g in parts if g.startswith("op-")}
    assert ops == {"op-forget", "op-input", "op-add", "op-tanh", "op-output"}
    assert isinstance(parts["op-tanh"], Ellipse) and isinstance(parts["op-add"], Circle)
    assert "cell" in parts


def test_cell_diagram_highlight_fades_the_rest():
    parts = by_gid(plots.cell_diagram(highlight="f"))
    assert parts["box-f"].get_alpha() == 1.0
    assert parts["box-o"].get_alpha() < 1.0
    with pytest.raises(ValueError, match="highlight"):
        plots.cell_diagram(highlight="z")


def test_cell_diagram_writes_the_values():
    trace = lc.lstm_step_trace([[1.0]], [[1.0]], [[2.0]], P)
    fig = plots.cell_diagram(values={**trace, "x": 1.0, "h_prev": 1.0, "c_prev": 2.0})
    texts = [t.get_text() for t in fig.axes[0].texts]
    # 0.997 and 2.95: sigmoid(5.95) and the new cell state, to 3 significant digits
    assert "$f_t$\n0.997" in texts
    assert r"$c_t$ = 2.95" in texts
    assert r"$x_t$ = 1" in texts


def test_response_figure_matches_the_trace():
    fig = plots.response_figure(("f", "c_kept"), h_values=(-1.0, 1.0), c_prev=2.0, mark=1.0)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(ax.get_legend().get_texts()) == 2
    x, f = fig.axes[0].get_lines()[1].get_data()  # the h_prev = 1 line
    expected = lc.forget_gate(x[:, None], np.ones((x.size, 1)), P)[:, 0]
    np.testing.assert_allclose(f, expected)
    _, kept = fig.axes[1].get_lines()[1].get_data()
    np.testing.assert_allclose(kept, 2.0 * expected)


def test_activation_explorer_values():
    ex = widgets.activation_explorer()
    ex.sliders["x"].value = -5.0  # observers call update() themselves
    assert ex.values["sigmoid"] == lc.sigmoid(-5.0)
    assert ex.values["tanh_grad"] == lc.tanh_grad(-5.0)
    assert "0.00669" in ex.readout.value


GATE_FUNCS = {
    "f": lc.forget_gate,
    "i": lc.input_gate,
    "g": lc.candidate_memory,
    "o": lc.output_gate,
}


def options(slider):
    return [value for _, value in slider.options]


@pytest.mark.parametrize("gate", lc.GATES)
def test_gate_explorer_equals_lstm_core(gate):
    ex = widgets.gate_explorer(gate)
    assert list(ex.sliders) == ["x", "h_prev", "c_prev", "weights"]
    values = {"x": -2.5, "h_prev": 0.5, "c_prev": -1.0}
    for key, v in values.items():
        ex.sliders[key].value = v
    for setting in options(ex.sliders["weights"]):
        ex.sliders["weights"].value = setting
        out = ex.values
        p = lc.copy_params(P)
        k = lc.gate_slice(gate, 1)
        p["Wx"][0, k], p["Wh"][0, k], p["b"][k] = setting
        x, h, c = [[values["x"]]], [[values["h_prev"]]], [[values["c_prev"]]]
        assert out[gate] == GATE_FUNCS[gate](x, h, p)[0, 0]
        h_new, c_new, _ = lc.lstm_step_forward(x, h, c, p)
        assert out["c"] == pytest.approx(c_new[0, 0], rel=1e-12)
        assert out["h"] == pytest.approx(h_new[0, 0], rel=1e-12)
        assert f"{out[gate]:.3f}" in ex.readout.value


def test_gate_explorer_weight_settings():
    k = lc.gate_slice("f", 1).start
    given = (float(P["Wx"][0, k]), float(P["Wh"][0, k]), float(P["b"][k]))
    settings = widgets.gate_explorer("f").sliders["weights"].options
    assert [v for _, v in settings] == [given, (-given[0], *given[1:]), (*given[:2], -5.0)]


def test_gate_explorer_starts_at_the_hand_worked_example():
    ex = widgets.gate_explorer("f")
    # the source's forget gate: 1*2.70 + 1*1.63 + 1.62 = 5.95 -> 0.997, and 2 * 0.997 = 1.99
    assert ex.values["a_f"] == pytest.approx(5.95)
    assert "0.997" in ex.readout.value and "+1.995" in ex.readout.value
    # issue #11: at x = 2 the pre-activation is 2*1.63 + 2.70 + 1.62 = 7.58
    ex.sliders["x"].value = 2.0
    assert "+7.580" in ex.readout.value
    with pytest.raises(ValueError, match="gate"):
        widgets.gate_explorer("z")


def test_cell_state_explorer_values():
    ex = widgets.cell_state_explorer(c_prev=2.0, f=0.5, i=1.0, g=-1.0, steps=2)
    assert ex.values["c"] == lc.cell_update(2.0, 0.5, 1.0, -1.0)
    # c: 2 -> 0 -> -1, by hand; the gradient along the belt is 0.5**2
    assert ex.values["c_n"] == -1.0
    assert ex.values["dc_n"] == 0.25
    ex.sliders["f"].value = 1.0
    assert ex.values["dc_n"] == 1.0
    assert "after 2 steps with these gates" in ex.readout.value
    ex.sliders["steps"].value = 1
    assert "after 1 step with these gates" in ex.readout.value


@pytest.mark.parametrize("name", ["activation", "gate-f", "gate-g", "cell-state"])
def test_no_read_out_shows_a_negative_zero(name):
    """A product that is 0 (a closed gate times a negative memory) or rounds to 0 reads
    "+0.000", not "-0.000": over every position each static page stores."""
    ex = EXPLORERS[name]()
    table = ex.table
    shown = [str(v) for field in table["fields"] for v in field["values"]]
    assert shown  # or the check below checks nothing
    assert not any(re.search(r"-0\.0+(?![0-9])", v) for v in shown), name
    if name == "cell-state":  # the case that showed it: f = 0 with c_prev < 0
        ex.sliders["c_prev"].value = min(options(ex.sliders["c_prev"]))
        ex.sliders["f"].value = 0.0
        assert "+0.000" in ex.readout.value and "-0.000" not in ex.readout.value


EXPLORERS = {
    "activation": lambda: widgets.activation_explorer(x=2.0),
    "gate-f": lambda: widgets.gate_explorer("f"),
    "gate-g": lambda: widgets.gate_explorer("g"),
    "cell-state": lambda: widgets.cell_state_explorer(),
}


@pytest.mark.parametrize("name", EXPLORERS)
def test_the_table_a_static_page_shows_equals_the_live_read_out(name):
    """widgets-offline.js shows table entries; each must be what update() computes there."""
    ex = EXPLORERS[name]()
    assert f"lstm-explorer-{name}" in ex._dom_classes
    rng = np.random.default_rng(0)
    for _ in range(25):
        position = {k: options(s)[rng.integers(len(s.options))] for k, s in ex.sliders.items()}
        for key, value in position.items():
            ex.sliders[key].value = value
        assert ex.lookup(**position) == ex.readout.value, position
    table = ex.table
    assert table["sizes"] == [len(s.options) for s in ex.sliders.values()]
    assert table["fields"] and len(table["fields"]) % 3 == 0  # or the loop below checks nothing
    for field in table["fields"]:  # each part is stored over the sliders it depends on only
        assert len(field["values"]) == int(np.prod([table["sizes"][a] for a in field["axes"]]))


def test_the_table_travels_in_a_hidden_child():
    ex = widgets.activation_explorer()
    data = ex.children[-1]
    assert data.layout.display == "none"
    body = data.value.removeprefix(
        "<script type='application/json' class='lstm-explorer-table'>"
    ).removesuffix("</script>")
    assert "</" not in body  # nothing in the JSON can close the script element early
    assert json.loads(body) == ex.table


def test_explorers_reject_bad_grids():
    with pytest.raises(ValueError, match="start value"):
        widgets.gate_explorer("f", x=1.25)
    with pytest.raises(ValueError, match="step"):
        widgets.grid(0.0, 1.0, 0.3)
    sliders = {k: widgets._slider(k, widgets.grid(0.0, 1.0, 0.01), 0.0) for k in ("a", "b", "c")}
    with pytest.raises(ValueError, match="at most"):
        widgets.Explorer(sliders, lambda a, b, c: ({}, []), "too-big")


def test_figures_display_as_png_without_pyplot():
    png = plots.activation_figure()._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_rnn_lstm_figure_one_path_against_two():
    """The RNN has one layer on its only path; the LSTM's belt crosses no layer box."""
    fig = plots.rnn_lstm_figure()
    rnn_ax, lstm_ax = fig.axes

    def boxes(ax):
        return {
            p.get_gid(): p
            for p in ax.patches
            if isinstance(p, FancyBboxPatch) and (p.get_gid() or "").startswith("box-")
        }

    def lines(ax):
        return {line.get_gid(): line for line in ax.lines if line.get_gid()}

    assert set(boxes(rnn_ax)) == {"box-rnn"}
    assert set(boxes(lstm_ax)) == {"box-f", "box-i", "box-g", "box-o"}
    assert set(lines(rnn_ax)) == {"rnn-hidden"}
    assert set(lines(lstm_ax)) == {"lstm-belt", "lstm-hidden"}
    _, belt_y = lines(lstm_ax)["lstm-belt"].get_data()
    assert np.ptp(belt_y) == 0.0  # a straight line
    for gid, box in boxes(lstm_ax).items():
        lo, hi = box.get_y(), box.get_y() + box.get_height()
        assert not lo <= belt_y[0] <= hi, f"{gid} sits on the belt"
    ops_on_belt = {
        p.get_gid() for p in lstm_ax.patches if isinstance(p, Circle) and p.center[1] == belt_y[0]
    }
    assert ops_on_belt == {"op-forget", "op-add"}  # one multiply, one add, nothing else


def test_the_cell_diagram_is_an_svg_the_same_on_every_build():
    svg = plots.cell_diagram(highlight="f")._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "<text" not in svg  # glyphs drawn as paths: no font needed on the reader's side
    assert svg == plots.cell_diagram(highlight="f")._repr_svg_()


def test_cell_diagram_labels_are_legible_on_a_phone():
    """At 340 px wide (the book's figures on a 390 px screen) labels are >= 9 px high."""
    fig = plots.cell_diagram(values={"f": 0.5})
    smallest = min(t.get_fontsize() for t in fig.axes[0].texts)
    assert smallest >= plots.LABEL_SIZE
    width_px = fig.get_figwidth() * 96  # SVG sizes are in points, 96 px per inch on screen
    assert smallest * 96 / 72 * 340 / width_px >= 9.0


@pytest.mark.parametrize(
    ("value", "signed", "left", "width"),
    [
        # by hand: [0, 1] fills from the left, [-1, 1] from the middle (50%) either way
        (0.25, False, "0.0", "25.0"),
        (-0.3, False, "0.0", "0.0"),  # below the range: drawn at its end, not a negative width
        (2.0, False, "0.0", "100.0"),
        (0.5, True, "50.0", "25.0"),
        (-0.5, True, "25.0", "25.0"),  # from 25% to the middle
        (-3.0, True, "0.0", "50.0"),
    ],
)
def test_bar_is_drawn_from_the_left_or_from_the_middle(value, signed, left, width):
    assert widgets.bar(value, signed) == widgets.BAR_TEMPLATE.format(left=left, width=width)


def test_crossing_is_the_first_one_interpolated():
    from matplotlib.lines import Line2D

    # by hand: y - 1 goes -1, +1, -1, +1: crossings at x = 0.5, 1.5, 2.5, the first is kept
    assert plots.crossing(Line2D([0.0, 1.0, 2.0, 3.0], [0.0, 2.0, 0.0, 2.0]), 1.0) == 0.5
    # falling from 3 to 1 over [0, 4]: 2, half-way down, at x = 2; from 3 to 0: a third, 4/3
    assert plots.crossing(Line2D([0.0, 4.0], [3.0, 1.0]), 2.0) == 2.0
    assert plots.crossing(Line2D([0.0, 4.0], [3.0, 0.0]), 2.0) == pytest.approx(4 / 3)
    assert plots.crossing(Line2D([3.0], [1.0]), 1.0) == 3.0  # a single point at the level


def test_grid_positions_are_the_decimals_a_reader_types():
    # by hand: 0.1 * 3 is 0.30000000000000004 in binary; the slider must offer 0.3 itself
    assert widgets.grid(0.0, 1.0, 0.1) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    # digits=1: 0.25 and 0.75 rounded to one decimal, half to even (Python's round)
    assert widgets.grid(0.0, 1.0, 0.25, digits=1) == [0.0, 0.2, 0.5, 0.8, 1.0]


def test_crossing_skips_the_points_matplotlib_leaves_out():
    """matplotlib draws a None in a line's data as a gap, like NaN: so does crossing."""
    # by hand: the drawn part is (1, 0) to (2, 2); it reaches 1 half-way, at x = 1.5
    line = Line2D([0.0, 1.0, 2.0, 3.0], [None, 0.0, 2.0, None])
    assert plots.crossing(line, 1.0) == 1.5
    assert plots.crossing(Line2D([None, 1.0, 2.0], [5.0, 0.0, 2.0]), 1.0) == 1.5


# What each stage is (cell_diagram's docstring): "f" the forget gate, which scales the belt;
# "i" the input gate and the candidate, multiplied and added to the belt; "c" the cell-state
# line, on which the forget gate's product and the addition sit; "o" the output gate, tanh of
# the new cell state and their product, the new hidden state.
STAGE_PARTS = {
    "f": {"box-f", "op-forget"},
    "i": {"box-i", "box-g", "op-input", "op-add"},
    "c": {"op-forget", "op-add"},
    "o": {"box-o", "op-tanh", "op-output"},
}


@pytest.mark.parametrize("highlight", [*plots.STAGES, ("f", "o"), None])
def test_cell_diagram_highlights_the_parts_of_the_stage_and_fades_the_rest(highlight):
    parts = by_gid(plots.cell_diagram(highlight=highlight))
    drawn = {g: p for g, p in parts.items() if g.startswith(("box-", "op-"))}
    stages = plots.STAGES if highlight is None else tuple(highlight)
    expected = set().union(*(STAGE_PARTS[s] for s in stages))
    assert {g for g, p in drawn.items() if p.get_alpha() == 1.0} == expected
    assert all(p.get_alpha() < 0.5 for g, p in drawn.items() if g not in expected)
    colour = plots.LINE if highlight is None else plots.HIGHLIGHT
    for g in expected:  # edged in the highlight colour, or all alike with nothing highlighted
        assert same_color(drawn[g].get_edgecolor()[:3], colour), g


@pytest.mark.parametrize("highlight", plots.STAGES)
def test_cell_diagram_writes_each_value_next_to_its_symbol(highlight):
    """Every number of the hand-worked step, each with its symbol, faded with its stage."""
    inputs = {
        "x": 1.0,
        "h_prev": 1.0,
        "c_prev": 2.0,
    }  # the hand-worked step (tests/test_hand_worked.py)
    trace = lc.lstm_step_trace([[inputs["x"]]], [[inputs["h_prev"]]], [[inputs["c_prev"]]], P)
    values = {**{k: float(v[0, 0]) for k, v in trace.items()}, **inputs}
    symbols = {**plots.SYMBOLS, "x": r"$x_t$", "h_prev": r"$h_{t-1}$", "c_prev": r"$c_{t-1}$"}
    # the stages that use each value: the inputs go to every gate; the old cell state is
    # scaled by the forget gate, the new one goes on to the output stage's tanh
    stages = {
        "x": "fio",
        "h_prev": "fio",
        "c_prev": "fc",
        "f": "f",
        "c_kept": "fc",
        "i": "i",
        "g": "i",
        "c_added": "i",
        "c": "co",
        "o": "o",
        "tanh_c": "o",
        "h": "o",
    }
    fig = plots.cell_diagram(highlight=highlight, values=values)
    texts = {}
    for t in fig.axes[0].texts:
        texts.setdefault(t.get_text(), []).append(t)
    shown = [k for k in values if k not in ("a_f", "a_i", "a_g", "a_o")]  # sums are not drawn
    for key in shown:
        number = f"{values[key]:.3g}"
        found = [
            t
            for text, ts in texts.items()
            for t in ts
            if text in (f"{symbols[key]}\n{number}", f"{symbols[key]} = {number}")
        ]
        assert found, f"{key}: {symbols[key]} with {number} not among {list(texts)}"
        on = highlight in stages[key]
        assert all((t.get_alpha() == 1.0) == on for t in found), key


def _segments(ax):
    """Every drawn straight segment of ``ax`` as ``(start, end, arrowhead)``, in data units."""
    out = []
    for line in ax.lines:
        xy = line.get_xydata()
        out += [(tuple(a), tuple(b), False) for a, b in itertools.pairwise(xy)]
    for p in ax.patches:
        if isinstance(p, FancyArrowPatch):
            a, b = p._posA_posB  # no public getter; set by the constructor
            out.append(
                (tuple(a), tuple(b), isinstance(p.get_arrowstyle(), ArrowStyle.CurveFilledB))
            )
    return out


def _distance(point, a, b):
    """From ``point`` to the segment ``a``-``b``."""
    p, a, b = (np.asarray(v, dtype=float) for v in (point, a, b))
    t = np.clip(np.dot(p - a, b - a) / np.dot(b - a, b - a), 0.0, 1.0)
    return float(np.hypot(*(p - (a + t * (b - a)))))


def _part_reach(patch):
    """``(touches(point), crossed(a, b))`` for a layer box or an operation: whether a point is
    on its edge (within the line's width), and whether a segment goes through its middle."""
    if isinstance(patch, FancyBboxPatch):
        pad = 0.04 + 0.06  # the box style's pad, and a line's width
        x0, y0 = patch.get_x() - pad, patch.get_y() - pad
        x1, y1 = x0 + patch.get_width() + 2 * pad, y0 + patch.get_height() + 2 * pad
        centre = ((x0 + x1) / 2, (y0 + y1) / 2)

        def touches(p):
            return x0 <= p[0] <= x1 and y0 <= p[1] <= y1
    else:
        centre = patch.center
        rx, ry = (
            (patch.radius,) * 2
            if isinstance(patch, Circle)
            else (patch.width / 2, patch.height / 2)
        )

        def touches(p):
            return abs(np.hypot((p[0] - centre[0]) / rx, (p[1] - centre[1]) / ry) - 1) < 0.15

    def crossed(a, b):
        return _distance(centre, a, b) < 1e-9

    return touches, crossed


@pytest.mark.parametrize(
    ("figure", "panel"),
    [(lambda: plots.cell_diagram(), 0), (plots.rnn_lstm_figure, 0), (plots.rnn_lstm_figure, 1)],
    ids=["cell_diagram", "rnn_lstm_figure-rnn", "rnn_lstm_figure-lstm"],
)
def test_diagram_lines_connect_its_parts(figure, panel):
    """No line ends in mid-air, arrowheads point at a part or out of the cell, and every layer
    box and operation has a line in and a line out (a line through an operation is both)."""
    ax = figure().axes[panel]
    parts = {p.get_gid(): p for p in ax.patches if (p.get_gid() or "").startswith(("box-", "op-"))}
    assert parts  # or nothing below is checked
    reach = {gid: _part_reach(p) for gid, p in parts.items()}
    cell = next(p for p in ax.patches if p.get_gid() == "cell")
    x0, y0 = cell.get_x() - 0.1, cell.get_y() - 0.1  # the cell's box style pad
    x1, y1 = x0 + cell.get_width() + 0.2, y0 + cell.get_height() + 0.2
    segments = _segments(ax)

    def outside(p):
        return not (x0 <= p[0] <= x1 and y0 <= p[1] <= y1)

    def at_part(p):
        return [gid for gid, (touches, _) in reach.items() if touches(p)]

    for a, b, head in segments:
        for end in (a, b):
            others = [s for s in segments if {s[0], s[1]} != {a, b}]
            on_line = any(_distance(end, s[0], s[1]) < 1e-9 for s in others)
            assert outside(end) or at_part(end) or on_line, f"{a}-{b} ends in mid-air at {end}"
        if head:
            assert outside(b) or at_part(b), f"the arrow {a}-{b} points at nothing"
        for gid in at_part(b):  # an arrow into an operation stops at its near edge
            assert not reach[gid][1](a, b), f"{a}-{b} runs through {gid}"
    for gid, (touches, crossed) in reach.items():
        through = any(crossed(a, b) and not touches(a) and not touches(b) for a, b, _ in segments)
        into = any(touches(b) and not touches(a) for a, b, _ in segments)
        out = any(touches(a) and not touches(b) for a, b, _ in segments)
        assert through or (into and out), f"{gid}: in {into}, out {out}"
    # each of the cell's inputs and outputs is named next to the end of its line
    ends = [end for a, b, _ in segments for end in (a, b) if outside(end)]
    names = [
        t
        for t in ax.texts
        if t.get_text() in (r"$x_t$", r"$h_{t-1}$", r"$c_{t-1}$", r"$h_t$", r"$c_t$")
    ]
    assert len(names) >= 4  # x and h in, h out; and the cell state in and out on an LSTM
    for t in names:
        x, y = t.get_position()
        near = min(np.hypot(x - e[0], y - e[1]) for e in ends)
        assert near < 1.5, f"{t.get_text()} at {(x, y)} is {near:.2f} from a line's end"


# The pointwise operations of the classic diagram: the forget gate, the input gate and the
# output gate each multiply, the two products are added, and tanh squashes the new memory.
OPERATIONS = {"op-forget": "×", "op-input": "×", "op-add": "+", "op-tanh": "tanh", "op-output": "×"}


@pytest.mark.parametrize(
    ("figure", "panel"),
    [(lambda: plots.cell_diagram(), 0), (plots.rnn_lstm_figure, 1)],
    ids=["cell_diagram", "rnn_lstm_figure"],
)
def test_each_operation_shows_its_symbol(figure, panel):
    ax = figure().axes[panel]
    ops = {p.get_gid(): p for p in ax.patches if (p.get_gid() or "").startswith("op-")}
    assert set(ops) == set(OPERATIONS)
    for gid, patch in ops.items():
        inside = [t.get_text() for t in ax.texts if tuple(t.get_position()) == tuple(patch.center)]
        assert inside == [OPERATIONS[gid]], gid


def test_rnn_lstm_figure_draws_h_in_blue_and_c_in_red():
    """As its docstring says: the short-term memory's path and labels blue, the belt's red."""
    fig = plots.rnn_lstm_figure()
    colour = {
        r"$h_{t-1}$": plots.HIDDEN_PATH,
        r"$h_t$": plots.HIDDEN_PATH,
        r"$c_{t-1}$": plots.HIGHLIGHT,
        r"$c_t$": plots.HIGHLIGHT,
        r"$x_t$": "black",
    }
    for ax, memories in zip(fig.axes, ([r"$h_{t-1}$", r"$h_t$"], list(colour)), strict=True):
        labels = [t for t in ax.texts if t.get_text() in colour]
        assert {t.get_text() for t in labels} == {*memories, r"$x_t$"}
        for t in labels:
            assert same_color(t.get_color(), colour[t.get_text()]), t.get_text()
    lines = {line.get_gid(): line.get_color() for ax in fig.axes for line in ax.lines}
    assert same_color(lines["rnn-hidden"], plots.HIDDEN_PATH)
    assert same_color(lines["lstm-hidden"], plots.HIDDEN_PATH)
    assert same_color(lines["lstm-belt"], plots.HIGHLIGHT)


def test_response_figure_title_gives_c_prev_and_names_the_unit_drawn():
    """The hand-worked unit is named only when it is the one drawn (it was named for any)."""
    title = plots.response_figure(("f",), c_prev=-0.5).get_suptitle()
    assert "hand-worked" in title and title.endswith(r"$c_{t-1} = -0.5$")
    other = lc.init_params(1, 1, rng=np.random.default_rng(0))
    title = plots.response_figure(("f",), params=other).get_suptitle()
    assert "hand-worked" not in title and title.endswith(r"$c_{t-1} = 2$")


def readout_rows(markup):
    """The read-out's rows as ``(label, number, bar)``: ``bar`` is ``(left, width)`` in
    percent of the track, or None for a row without one."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", markup):
        label, text, bar = re.findall(r"<td[^>]*>(.*?)</td>", row)
        geometry = re.search(r"left:([-0-9.]+)%;width:([-0-9.]+)%", bar)
        rows.append(
            (
                html.unescape(label),
                float(text),
                tuple(map(float, geometry.groups())) if geometry else None,
            )
        )
    return rows


@pytest.mark.parametrize("gate", lc.GATES)
def test_gate_explorer_read_out_is_the_step_computed_gate_by_gate(gate):
    """Each row, recomputed with lstm_core's gate functions on the weights the sliders set."""
    gate_fn = {
        "f": lc.forget_gate,
        "i": lc.input_gate,
        "g": lc.candidate_memory,
        "o": lc.output_gate,
    }
    ex = widgets.gate_explorer(gate)
    x, h_prev, c_prev = -2.5, 0.5, -1.0
    ex.sliders["x"].value, ex.sliders["h_prev"].value, ex.sliders["c_prev"].value = (
        x,
        h_prev,
        c_prev,
    )
    for setting in options(ex.sliders["weights"]):
        ex.sliders["weights"].value = setting
        p = lc.copy_params(P)
        k = lc.gate_slice(gate, 1)
        p["Wx"][0, k], p["Wh"][0, k], p["b"][k] = setting
        v = {g: float(fn([[x]], [[h_prev]], p)[0, 0]) for g, fn in gate_fn.items()}
        c = float(lc.cell_update(c_prev, v["f"], v["i"], v["g"]))
        w_x, w_h, b = setting
        squash = "tanh" if gate == "g" else "sigmoid"  # the candidate's squashing, [-1, 1]
        expected = [
            (f"pre-activation {w_x:.2f}·x {w_h:+.2f}·h {b:+.2f}", w_x * x + w_h * h_prev + b, None),
            (f"{lc.GATE_NAMES[gate]} = {squash}(pre-activation)", v[gate], gate == "g"),
        ]
        expected += {
            "f": [
                (f"long-term memory kept = f × {c_prev:.2f}", v["f"] * c_prev, None),
                ("new long-term memory c", c, None),
            ],
            "i": [
                ("candidate (fixed weights)", v["g"], True),
                ("written to memory = i × candidate", v["i"] * v["g"], None),
                ("new long-term memory c", c, None),
            ],
            "g": [
                ("input gate i (fixed weights)", v["i"], False),
                ("written to memory = i × candidate", v["i"] * v["g"], None),
                ("new long-term memory c", c, None),
            ],
            "o": [
                ("new long-term memory c", c, None),
                ("tanh(c)", np.tanh(c), True),
                ("new short-term memory h = o × tanh(c)", v["o"] * np.tanh(c), True),
            ],
        }[gate]
        rows = readout_rows(ex.readout.value)
        assert [r[0] for r in rows] == [e[0] for e in expected], setting
        for (label, number, bar), (_, value, signed) in zip(rows, expected, strict=True):
            assert number == pytest.approx(value, abs=5e-4), label  # shown to 3 decimals
            if signed is None:
                assert bar is None, label
            else:  # from the left over [0, 1], or from the middle over [-1, 1]
                width = 50 * abs(value) if signed else 100 * value
                left = (50 if value >= 0 else 50 - width) if signed else 0
                assert bar == pytest.approx((left, width), abs=0.051), label


def test_an_explorer_with_a_one_position_slider_tabulates_its_read_out():
    """A slider with a single position (a setting held fixed) is a valid axis of the table."""

    def compute(a, b):
        return {"sum": a + b}, [("a + b", f"{a + b:.2f}", a + b, False), ("a", f"{a:.2f}")]

    sliders = {"a": widgets._slider("a", [0.25], 0.25), "b": widgets._slider("b", [0.0, 0.5], 0.0)}
    ex = widgets.Explorer(sliders, compute, "one-position")
    assert ex.table["sizes"] == [1, 2]
    for b in (0.0, 0.5):
        ex.sliders["b"].value = b
        assert ex.values == {"sum": 0.25 + b}
        assert ex.lookup(a=0.25, b=b) == ex.readout.value


def test_activation_figure_marks_each_point_on_its_curve():
    """Each marked point: a dot on its function's curve, in its colour, labelled with its value."""
    points = [("sigmoid", -5.0), ("tanh", 2.0), ("tanh", -0.5)]
    left, right = plots.activation_figure(points=points).axes
    curves = {"sigmoid": (left.lines[0], lc.sigmoid), "tanh": (left.lines[1], lc.tanh)}
    dots = [line for line in left.lines if line.get_marker() == "o"]
    assert len(dots) == len(left.texts) == len(points)
    for (name, at), dot, note in zip(points, dots, left.texts, strict=True):
        curve, fn = curves[name]
        y = float(fn(at))
        assert dot.get_xydata().tolist() == [[at, y]] and note.xy == (at, y)
        assert note.get_text() == f"{name}({at:g}) = {y:.3g}"
        assert dot.get_color() == note.get_color() == curve.get_color()
    # the right axes: the derivatives, named as such in its legend
    legend = [t.get_text() for t in right.get_legend().get_texts()]
    assert [text.split(" = ")[0] for text in legend] == [r"$\sigma'(x)", r"$\tanh'(x)"]


def test_explorers_sliders_move_over_the_positions_their_docstrings_give():
    """And the gates' sliders stay within what a sigmoid (f, i) or a tanh (g, h) can give."""
    cell = widgets.cell_state_explorer().sliders
    assert options(cell["c_prev"]) == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
    assert options(cell["f"]) == widgets.FORGET_POSITIONS
    assert options(cell["i"]) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert options(cell["g"]) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert options(cell["steps"]) == widgets.STEP_POSITIONS
    assert all(0.0 <= v <= 1.0 for k in ("f", "i") for v in options(cell[k]))
    gate = widgets.gate_explorer("f").sliders
    assert options(gate["x"]) == [k / 2 for k in range(-20, 21)]
    assert options(gate["h_prev"]) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert options(gate["c_prev"]) == options(cell["c_prev"])
    assert options(widgets.activation_explorer().sliders["x"]) == [k / 10 for k in range(-100, 101)]


@pytest.mark.parametrize(
    ("c_prev", "f", "i", "g", "steps"),
    [(2.0, 0.9, 0.5, 0.5, 10), (-3.0, 0.5, 0.25, -1.0, 1), (1.0, 1.0, 1.0, 0.5, 5)],
)
def test_cell_state_explorer_read_out_is_the_update_and_its_repeats(c_prev, f, i, g, steps):
    ex = widgets.cell_state_explorer(c_prev=c_prev, f=f, i=i, g=g, steps=steps)
    c = float(lc.cell_update(c_prev, f, i, g))
    # n repeats of c <- f c + i g, summed as a geometric series (by hand), or n additions at f = 1
    c_n = c_prev + steps * i * g if f == 1 else f**steps * c_prev + i * g * (1 - f**steps) / (1 - f)
    expected = [
        ("kept: f × c_prev", f * c_prev),
        ("written: i × candidate", i * g),
        ("new long-term memory c", c),
        (f"after {steps} step{'' if steps == 1 else 's'} with these gates", c_n),
        (f"gradient along the belt f^{steps}", f**steps),
    ]
    rows = readout_rows(ex.readout.value)
    assert [r[0] for r in rows] == [e[0] for e in expected]
    for (label, number, _), (_, value) in zip(rows, expected, strict=True):
        assert number == pytest.approx(value, rel=5e-3, abs=5e-4), label  # 3 decimals, 3 digits
    assert rows[-1][2] == pytest.approx((0.0, 100 * f**steps), abs=0.051)  # a bar from the left
    assert ex.values["c_n"] == pytest.approx(c_n, rel=1e-12)


def test_activation_explorer_read_out_is_the_functions_and_their_slopes():
    ex = widgets.activation_explorer(x=-1.5)
    x = -1.5
    expected = [
        ("sigmoid(x)", lc.sigmoid(x), False),
        ("tanh(x)", lc.tanh(x), True),
        ("slope of sigmoid", lc.sigmoid_grad(x), False),
        ("slope of tanh", lc.tanh_grad(x), False),
    ]
    rows = readout_rows(ex.readout.value)
    assert [r[0] for r in rows] == [e[0] for e in expected]
    for (label, number, bar), (_, value, signed) in zip(rows, expected, strict=True):
        assert number == pytest.approx(value, abs=5e-6), label  # shown to 5 decimals
        width = 50 * abs(value) if signed else 100 * value
        left = (50 if value >= 0 else 50 - width) if signed else 0
        assert bar == pytest.approx((left, width), abs=0.051), label


def test_grid_ends_at_zero_and_takes_up_to_max_positions_steps():
    # by hand: 3 * 0.1 is 0.30000000000000004, so -0.3 + 3 * 0.1 is 5.6e-17, not 0: still hi
    assert widgets.grid(-0.3, 0.0, 0.1) == [-0.3, -0.2, -0.1, 0.0]
    # MAX_POSITIONS steps are allowed, one more is not
    assert len(widgets.grid(0.0, float(widgets.MAX_POSITIONS), 1.0)) == widgets.MAX_POSITIONS + 1
    with pytest.raises(ValueError, match="at most"):
        widgets.grid(0.0, widgets.MAX_POSITIONS + 1.0, 1.0)


def test_grid_refuses_digits_that_merge_positions():
    """Rounded to the default 2 digits, steps of 0.001 would give 0.0 ten times: refused."""
    with pytest.raises(ValueError, match=r"^digits must keep the positions apart"):
        widgets.grid(0.0, 0.01, 0.001)
    assert widgets.grid(0.0, 0.01, 0.001, digits=3)[:3] == [0.0, 0.001, 0.002]
