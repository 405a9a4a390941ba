"""The LSTM cell one gate at a time: the readable form used by the chapters and exercises.

Every function takes the batch of inputs ``x (N, D)`` and the previous short-term memory
``h_prev (N, H)`` and reads its own block of ``params`` (see :data:`lstm_core.GATES`).
:func:`lstm_core.lstm_step_forward` computes the same numbers with one matrix product.
"""

from __future__ import annotations

from ._checks import as_float_array, check_shape
from .activations import sigmoid, tanh
from .params import gate_params, lstm_sizes


def _inputs(x, h_prev, params):
    D, H, dtype = lstm_sizes(params)
    x = as_float_array(x, "x", dtype)
    check_shape(x, "x", (None, D), "(N, D)")
    h_prev = as_float_array(h_prev, "h_prev", dtype)
    check_shape(h_prev, "h_prev", (x.shape[0], H), "(N, H)")
    return x, h_prev


def gate_preactivation(x, h_prev, params, gate: str):
    """``x @ Wx_gate + h_prev @ Wh_gate + b_gate``, shape ``(N, H)``, before the squashing.

    Parameters
    ----------
    x : array (N, D)
    h_prev : array (N, H)
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``
    gate : {"i", "f", "o", "g"}
    """
    x, h_prev = _inputs(x, h_prev, params)
    Wx, Wh, b = gate_params(params, gate)
    return x @ Wx + h_prev @ Wh + b


def forget_gate(x, h_prev, params):
    """``f = sigmoid(x Wx_f + h_prev Wh_f + b_f)``, ``(N, H)``: share of long-term memory kept."""
    return sigmoid(gate_preactivation(x, h_prev, params, "f"))


def input_gate(x, h_prev, params):
    """``i = sigmoid(x Wx_i + h_prev Wh_i + b_i)``, ``(N, H)``: share of the candidate written."""
    return sigmoid(gate_preactivation(x, h_prev, params, "i"))


def candidate_memory(x, h_prev, params):
    """``g = tanh(x Wx_g + h_prev Wh_g + b_g)``, ``(N, H)``: proposed new memory, in (-1, 1)."""
    return tanh(gate_preactivation(x, h_prev, params, "g"))


def output_gate(x, h_prev, params):
    """``o = sigmoid(x Wx_o + h_prev Wh_o + b_o)``, ``(N, H)``: share of memory shown as output."""
    return sigmoid(gate_preactivation(x, h_prev, params, "o"))


def cell_update(c_prev, f, i, g):
    """New long-term memory ``c = f * c_prev + i * g``; all arrays ``(N, H)``."""
    return f * c_prev + i * g


def hidden_update(c, o):
    """New short-term memory (the output) ``h = o * tanh(c)``; all arrays ``(N, H)``."""
    return o * tanh(c)


def lstm_step_trace(x, h_prev, c_prev, params) -> dict:
    """Every intermediate of one LSTM step, gate by gate, for teaching and checking.

    Parameters
    ----------
    x : array (N, D)
    h_prev, c_prev : arrays (N, H)
    params : dict

    Returns
    -------
    dict of arrays (N, H)
        ``a_f, a_i, a_g, a_o`` (pre-activations), ``f, i, g, o`` (gates),
        ``c_kept = f * c_prev``, ``c_added = i * g``, ``c``, ``tanh_c`` and ``h``.
    """
    x, h_prev = _inputs(x, h_prev, params)
    c_prev = as_float_array(c_prev, "c_prev", x.dtype)
    check_shape(c_prev, "c_prev", h_prev.shape, "(N, H)")
    out = {f"a_{k}": gate_preactivation(x, h_prev, params, k) for k in ("f", "i", "g", "o")}
    out["f"], out["i"] = sigmoid(out["a_f"]), sigmoid(out["a_i"])
    out["g"], out["o"] = tanh(out["a_g"]), sigmoid(out["a_o"])
    out["c_kept"], out["c_added"] = out["f"] * c_prev, out["i"] * out["g"]
    out["c"] = cell_update(c_prev, out["f"], out["i"], out["g"])
    out["tanh_c"] = tanh(out["c"])
    out["h"] = out["o"] * out["tanh_c"]
    return out


__all__ = [
    "candidate_memory",
    "cell_update",
    "forget_gate",
    "gate_preactivation",
    "hidden_update",
    "input_gate",
    "lstm_step_trace",
    "output_gate",
]
