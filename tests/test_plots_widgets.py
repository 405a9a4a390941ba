"""The chapters' plot and widget helpers: right artists, and the numbers of lstm_core itself."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display, no GUI warnings

import json
import re

import numpy as np
import pytest
from matplotlib.patches import Circle, Ellipse, FancyBboxPatch

import lstm_core as lc
from lstm_core import plots, widgets

P = lc.HAND_WORKED_PARAMS


def by_gid(fig):
    return {a.get_gid(): a for a in fig.axes[0].patches if a.get_gid()}


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
