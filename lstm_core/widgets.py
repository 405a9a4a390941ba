"""Interactive explorers for the chapters: sliders in, the LSTM's numbers out.

Needs ipywidgets, which ``import lstm_core`` does not load: ``from lstm_core import widgets``.
Every builder returns an :class:`Explorer`, a ``VBox`` of sliders above an HTML read-out.
Its ``values`` dict holds the numbers the read-out shows, and ``update()`` recomputes them
from the sliders (the sliders call it themselves), so the explorers can be tested without a
browser. In a static page the saved state shows the controls and the first read-out only.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from .activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from .gates import lstm_step_trace
from .params import GATE_NAMES, GATES, HAND_WORKED_PARAMS, copy_params, gate_slice

BAR = "#4c8bd6"  # mid-tone: readable on the theme's light and dark backgrounds
TRACK = "#9aa5b1"


def bar(value: float, signed: bool = False) -> str:
    """An HTML bar for ``value`` in [0, 1] (or [-1, 1] when ``signed``, drawn from the middle)."""
    value = float(np.clip(value, -1.0 if signed else 0.0, 1.0))
    if signed:
        left, width = (50.0, 50.0 * value) if value >= 0 else (50.0 * (1 + value), -50.0 * value)
    else:
        left, width = 0.0, 100.0 * value
    return (
        f'<span style="display:inline-block;position:relative;width:12em;height:0.8em;'
        f'background:{TRACK};vertical-align:middle;border-radius:2px">'
        f'<span style="position:absolute;left:{left:.1f}%;width:{width:.1f}%;height:100%;'
        f'background:{BAR};border-radius:2px"></span></span>'
    )


def _rows(rows) -> str:
    """A small HTML table from ``(label, value text, bar html)`` rows."""
    cells = "".join(
        f"<tr><td style='padding:1px 10px 1px 0'>{html.escape(a)}</td>"
        f"<td style='padding:1px 10px;text-align:right;font-family:monospace'>{b}</td>"
        f"<td>{c}</td></tr>"
        for a, b, c in rows
    )
    return f"<table style='border-collapse:collapse'>{cells}</table>"


def _slider(description, value, lo, hi, step):
    return widgets.FloatSlider(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=description,
        continuous_update=True,
        readout_format=".2f",
        style={"description_width": "8em"},
        layout=widgets.Layout(width="32em"),
    )


class Explorer(widgets.VBox):
    """Sliders above an HTML read-out; ``values`` holds the numbers shown.

    Parameters
    ----------
    sliders : dict of str to FloatSlider or IntSlider
    compute : callable
        ``compute(**slider_values) -> (values: dict, html: str)``.
    """

    def __init__(self, sliders: dict, compute, **kwargs):
        self.sliders = sliders
        self.compute = compute
        self.readout = widgets.HTML()
        self.values: dict = {}
        super().__init__([*sliders.values(), self.readout], **kwargs)
        for s in sliders.values():
            s.observe(self.update, names="value")
        self.update()

    def update(self, change=None):
        """Recompute ``values`` and the read-out from the sliders; returns ``values``."""
        self.values, self.readout.value = self.compute(
            **{k: s.value for k, s in self.sliders.items()}
        )
        return self.values


def activation_explorer(x: float = 2.0) -> Explorer:
    """One slider for ``x``; shows sigmoid, tanh and their derivatives at ``x``.

    ``values`` has keys ``sigmoid``, ``tanh``, ``sigmoid_grad``, ``tanh_grad``.
    """

    def compute(x):
        v = {
            "sigmoid": float(sigmoid(x)),
            "tanh": float(tanh(x)),
            "sigmoid_grad": float(sigmoid_grad(x)),
            "tanh_grad": float(tanh_grad(x)),
        }
        rows = [
            ("sigmoid(x)", f"{v['sigmoid']:.5f}", bar(v["sigmoid"])),
            ("tanh(x)", f"{v['tanh']:+.5f}", bar(v["tanh"], signed=True)),
            ("slope of sigmoid", f"{v['sigmoid_grad']:.5f}", bar(v["sigmoid_grad"])),
            ("slope of tanh", f"{v['tanh_grad']:.5f}", bar(v["tanh_grad"])),
        ]
        return v, _rows(rows)

    return Explorer({"x": _slider("input x", x, -10.0, 10.0, 0.1)}, compute)


def gate_explorer(
    gate: str, params=None, x: float = 1.0, h_prev: float = 1.0, c_prev: float = 2.0
) -> Explorer:
    """Sliders for a single-unit LSTM's inputs and one gate's weights; shows that gate at work.

    Parameters
    ----------
    gate : {"f", "i", "g", "o"}
        The part whose weights get sliders (see :data:`lstm_core.GATES`).
    params : dict, optional
        A single-unit LSTM (``D = H = 1``); default :data:`lstm_core.HAND_WORKED_PARAMS`.
        The other parts keep these weights.
    x, h_prev, c_prev : float
        Initial input, previous short-term and previous long-term memory.

    Returns
    -------
    Explorer
        Sliders ``x``, ``h_prev``, ``c_prev``, ``w_x``, ``w_h``, ``b``; ``values`` holds every
        intermediate of :func:`lstm_core.lstm_step_trace` for those values, as floats.
    """
    if gate not in GATES:
        raise ValueError(f"gate must be one of {GATES}, got {gate!r}")
    base = HAND_WORKED_PARAMS if params is None else params
    if base["Wx"].shape != (1, 4) or base["Wh"].shape != (1, 4):
        raise ValueError("gate_explorer needs a single-unit LSTM: Wx (1, 4), Wh (1, 4), b (4,)")
    k = gate_slice(gate, 1).start
    name = GATE_NAMES[gate]
    sliders = {
        "x": _slider("input x", x, -10.0, 10.0, 0.1),
        "h_prev": _slider("prev. short h", h_prev, -1.0, 1.0, 0.05),
        "c_prev": _slider("prev. long c", c_prev, -3.0, 3.0, 0.05),
        "w_x": _slider(f"{gate}: weight on x", float(base["Wx"][0, k]), -5.0, 5.0, 0.01),
        "w_h": _slider(f"{gate}: weight on h", float(base["Wh"][0, k]), -5.0, 5.0, 0.01),
        "b": _slider(f"{gate}: bias", float(base["b"][k]), -5.0, 5.0, 0.01),
    }

    def compute(x, h_prev, c_prev, w_x, w_h, b):
        p = copy_params(base)
        p["Wx"][0, k], p["Wh"][0, k], p["b"][k] = w_x, w_h, b
        t = {
            key: float(v[0, 0])
            for key, v in lstm_step_trace([[x]], [[h_prev]], [[c_prev]], p).items()
        }
        a = t[f"a_{gate}"]
        squash = "tanh" if gate == "g" else "sigmoid"
        rows = [
            (f"pre-activation {w_x:.2f}·x {w_h:+.2f}·h {b:+.2f}", f"{a:+.3f}", ""),
            (
                f"{name} = {squash}(pre-activation)",
                f"{t[gate]:.3f}",
                bar(t[gate], signed=gate == "g"),
            ),
        ]
        if gate == "f":
            rows.append((f"long-term memory kept = f × {c_prev:.2f}", f"{t['c_kept']:+.3f}", ""))
        elif gate in ("i", "g"):
            other = "g" if gate == "i" else "i"  # the part this explorer keeps fixed
            label = "candidate" if other == "g" else "input gate i"
            rows += [
                (f"{label} (fixed weights)", f"{t[other]:+.3f}", bar(t[other], other == "g")),
                ("written to memory = i × candidate", f"{t['c_added']:+.3f}", ""),
            ]
        else:
            rows += [
                ("new long-term memory c", f"{t['c']:+.3f}", ""),
                ("tanh(c)", f"{t['tanh_c']:+.3f}", bar(t["tanh_c"], signed=True)),
                (
                    "new short-term memory h = o × tanh(c)",
                    f"{t['h']:+.3f}",
                    bar(t["h"], signed=True),
                ),
            ]
        if gate != "o":
            rows.append(("new long-term memory c", f"{t['c']:+.3f}", ""))
        return t, _rows(rows)

    return Explorer(sliders, compute)


def cell_state_explorer(
    c_prev: float = 2.0, f: float = 0.9, i: float = 0.5, g: float = 0.5, steps: int = 10
) -> Explorer:
    """Sliders for the gates themselves; shows one cell-state update and ``steps`` repeats.

    Returns
    -------
    Explorer
        Sliders ``c_prev``, ``f``, ``i``, ``g``, ``steps``. ``values`` has ``c`` (one step:
        ``f * c_prev + i * g``), ``c_n`` (after ``steps`` steps with the same gates) and
        ``dc_n`` (the gradient of ``c_n`` on ``c_prev``, ``f ** steps``).
    """
    sliders = {
        "c_prev": _slider("prev. long c", c_prev, -3.0, 3.0, 0.05),
        "f": _slider("forget gate f", f, 0.0, 1.0, 0.01),
        "i": _slider("input gate i", i, 0.0, 1.0, 0.01),
        "g": _slider("candidate", g, -1.0, 1.0, 0.01),
        "steps": widgets.IntSlider(
            value=steps,
            min=1,
            max=100,
            description="steps n",
            style={"description_width": "8em"},
            layout=widgets.Layout(width="32em"),
        ),
    }

    def compute(c_prev, f, i, g, steps):
        c = c_prev
        for _ in range(steps):  # the same update, repeated: what the belt does over time
            c = f * c + i * g
        v = {"c": f * c_prev + i * g, "c_n": c, "dc_n": f**steps}
        rows = [
            ("kept: f × c_prev", f"{f * c_prev:+.3f}", ""),
            ("written: i × candidate", f"{i * g:+.3f}", ""),
            ("new long-term memory c", f"{v['c']:+.3f}", ""),
            (f"after {steps} steps with these gates", f"{c:+.3f}", ""),
            (f"gradient along the belt f^{steps}", f"{v['dc_n']:.3g}", bar(v["dc_n"])),
        ]
        return v, _rows(rows)

    return Explorer(sliders, compute)


__all__ = ["Explorer", "activation_explorer", "bar", "cell_state_explorer", "gate_explorer"]
