"""The chapters' plot and widget helpers: right artists, and the numbers of lstm_core itself."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display, no GUI warnings

import numpy as np
import pytest
from matplotlib.patches import Circle, Ellipse, FancyBboxPatch

import lstm_core as lc

plots = pytest.importorskip("lstm_core.plots")
widgets = pytest.importorskip("lstm_core.widgets")

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
    assert boxes == {"box-f", "box-i", "box-g", "box-o"}
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
    assert r"$f_t$ = 0.997" in texts
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


@pytest.mark.parametrize("gate", lc.GATES)
def test_gate_explorer_equals_lstm_core(gate):
    ex = widgets.gate_explorer(gate)
    assert len(ex.children) == 7  # six sliders and the read-out
    values = {"x": -2.5, "h_prev": 0.4, "c_prev": -1.5, "w_x": 0.7, "w_h": -1.2, "b": 0.3}
    for key, v in values.items():
        ex.sliders[key].value = v
    out = ex.update()
    p = lc.copy_params(P)
    k = lc.gate_slice(gate, 1)
    p["Wx"][0, k], p["Wh"][0, k], p["b"][k] = values["w_x"], values["w_h"], values["b"]
    x, h, c = [[values["x"]]], [[values["h_prev"]]], [[values["c_prev"]]]
    assert out[gate] == pytest.approx(GATE_FUNCS[gate](x, h, p)[0, 0], rel=1e-15)
    h_new, c_new, _ = lc.lstm_step_forward(x, h, c, p)
    assert out["c"] == pytest.approx(c_new[0, 0], rel=1e-12)
    assert out["h"] == pytest.approx(h_new[0, 0], rel=1e-12)


def test_gate_explorer_starts_at_the_hand_worked_example():
    ex = widgets.gate_explorer("f")
    # the source's forget gate: 1*2.70 + 1*1.63 + 1.62 = 5.95 -> 0.997, and 2 * 0.997 = 1.99
    assert ex.values["a_f"] == pytest.approx(5.95)
    assert "0.997" in ex.readout.value and "+1.995" in ex.readout.value
    with pytest.raises(ValueError, match="gate"):
        widgets.gate_explorer("z")


def test_cell_state_explorer_values():
    ex = widgets.cell_state_explorer(c_prev=2.0, f=0.5, i=1.0, g=-1.0, steps=3)
    assert ex.values["c"] == lc.cell_update(2.0, 0.5, 1.0, -1.0)
    # c: 2 -> 0 -> -1 -> -1.5, by hand; the gradient along the belt is 0.5**3
    assert ex.values["c_n"] == -1.5
    assert ex.values["dc_n"] == 0.125
    ex.sliders["f"].value = 1.0
    assert ex.values["dc_n"] == 1.0


def test_figures_display_as_png_without_pyplot():
    png = plots.cell_diagram()._repr_png_()
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
