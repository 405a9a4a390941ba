"""The LSTM cell one gate at a time: the readable form used by the chapters and exercises.

Every function takes the batch of inputs ``x (N, D)`` and the previous short-term memory
``h_prev (N, H)`` and reads its own block of ``params`` (see :data:`lstm_core.GATES`).
:func:`lstm_core.lstm_step_forward` computes the same numbers with one matrix product.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from ._checks import as_float_array, check_array, check_overflow, check_step_input
from .activations import sigmoid, tanh
from .params import check_preactivations, gate_params, lstm_sizes


def _inputs(x, h_prev, params):
    """``x`` and ``h_prev`` as finite arrays ``(N, D)`` and ``(N, H)`` in ``params``' dtype.

    ``N >= 1``, as for :func:`lstm_core.lstm_step_forward`. Refused too if they are so large
    that the pre-activations could overflow the dtype.
    """
    D, H, dtype = lstm_sizes(params)
    x = check_step_input(x, D, dtype)
    h_prev = check_array(h_prev, "h_prev", (x.shape[0], H), "(N, H)", dtype)
    check_preactivations(x, h_prev, params, 1, names=("x", "h_prev"))
    return x, h_prev


def _operands(**operands):
    """The operands of an elementwise update, checked: numbers whose shapes broadcast.

    Float arrays and float scalars come back as given (so NumPy's promotion is unchanged,
    a Python float staying a "weak" scalar); integers become floats (a Python ``int`` a
    Python ``float``, integer arrays float64 arrays), so that no product can wrap around;
    other array-likes, such as lists, and subclasses such as ``np.matrix`` (whose ``*`` is
    a matrix product) become plain float arrays. Bools are refused. NaN and infinity are
    maths here, not errors.
    """
    out, shape, seen = [], (), []
    for name, value in operands.items():
        arr = as_float_array(value, name)
        try:
            shape = np.broadcast_shapes(shape, arr.shape)
        except ValueError:
            raise ValueError(
                f"{name} must have a shape that broadcasts with {shape} "
                f"(that of {', '.join(seen)}), got {arr.shape}"
            ) from None
        seen.append(name)
        if isinstance(value, float):  # Python floats and np.float64 scalars
            out.append(value)
        elif isinstance(value, int):  # a Python int (bools were refused above)
            out.append(float(value))
        elif isinstance(value, np.generic):  # a NumPy scalar: float32 kept, integers float64
            out.append(arr[()])
        else:
            out.append(arr)
    return out


def _elementwise(update):
    """Check an elementwise update's operands (:func:`_operands`) and its result.

    Finite operands must give a finite result, or a ``ValueError`` naming the largest
    operand (see ``check_overflow``), never a floating-point warning; with NaN or infinity
    among the operands, the result is IEEE arithmetic's.
    """
    signature = inspect.signature(update)

    @functools.wraps(update)
    def checked(*args, **kwargs):
        given = signature.bind(*args, **kwargs).arguments
        operands = dict(zip(given, _operands(**given), strict=True))
        with np.errstate(over="ignore", invalid="ignore"):
            out = update(**operands)
        if all(np.isfinite(v).all() for v in operands.values()):
            check_overflow(operands, np.result_type(out), "the result", out)
        return out

    return checked


def gate_preactivation(x, h_prev, params, gate: str):
    """``x @ Wx_gate + h_prev @ Wh_gate + b_gate``, shape ``(N, H)``, before the squashing.

    Parameters
    ----------
    x : array (N, D)
    h_prev : array (N, H)
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``
    gate : {"i", "f", "o", "g"}

    Returns
    -------
    array (N, H)

    Raises
    ------
    ValueError
        If ``params`` is not an LSTM's, ``x`` or ``h_prev`` is not a finite array of the
        shape above (with ``N >= 1``), ``gate`` is not one of :data:`lstm_core.GATES`, or the
        arguments are so large that the pre-activations could overflow the dtype.
    """
    x, h_prev = _inputs(x, h_prev, params)
    Wx, Wh, b = gate_params(params, gate)
    return x @ Wx + h_prev @ Wh + b


def forget_gate(x, h_prev, params):
    """``f = sigmoid(x Wx_f + h_prev Wh_f + b_f)``, ``(N, H)``: share of long-term memory kept.

    Parameters
    ----------
    x : array (N, D)
        Inputs at this step.
    h_prev : array (N, H)
        Previous short-term memory (hidden state).
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.

    Returns
    -------
    array (N, H)

    Raises
    ------
    ValueError
        As :func:`gate_preactivation`.
    """
    return sigmoid(gate_preactivation(x, h_prev, params, "f"))


def input_gate(x, h_prev, params):
    """``i = sigmoid(x Wx_i + h_prev Wh_i + b_i)``, ``(N, H)``: share of the candidate written.

    Parameters
    ----------
    x : array (N, D)
        Inputs at this step.
    h_prev : array (N, H)
        Previous short-term memory (hidden state).
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.

    Returns
    -------
    array (N, H)

    Raises
    ------
    ValueError
        As :func:`gate_preactivation`.
    """
    return sigmoid(gate_preactivation(x, h_prev, params, "i"))


def candidate_memory(x, h_prev, params):
    """``g = tanh(x Wx_g + h_prev Wh_g + b_g)``, ``(N, H)``: proposed new memory, in (-1, 1).

    Parameters
    ----------
    x : array (N, D)
        Inputs at this step.
    h_prev : array (N, H)
        Previous short-term memory (hidden state).
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.

    Returns
    -------
    array (N, H)

    Raises
    ------
    ValueError
        As :func:`gate_preactivation`.
    """
    return tanh(gate_preactivation(x, h_prev, params, "g"))


def output_gate(x, h_prev, params):
    """``o = sigmoid(x Wx_o + h_prev Wh_o + b_o)``, ``(N, H)``: share of memory shown as output.

    Parameters
    ----------
    x : array (N, D)
        Inputs at this step.
    h_prev : array (N, H)
        Previous short-term memory (hidden state).
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.

    Returns
    -------
    array (N, H)

    Raises
    ------
    ValueError
        As :func:`gate_preactivation`.
    """
    return sigmoid(gate_preactivation(x, h_prev, params, "o"))


@_elementwise
def cell_update(c_prev, f, i, g):
    """New long-term memory ``c = f * c_prev + i * g``; all arrays ``(N, H)``.

    Parameters
    ----------
    c_prev : array (N, H)
        Previous cell state.
    f, i, g : array (N, H)
        Forget gate, input gate and candidate memory (any shapes that broadcast).

    Returns
    -------
    c : array (N, H)

    Raises
    ------
    ValueError
        If an argument is not an array of numbers (bools are not; integers are converted to
        float64) or the shapes do not broadcast together, or if finite arguments give a
        result that overflows the dtype.
    """
    return f * c_prev + i * g


@_elementwise
def hidden_update(c, o):
    """New short-term memory (the output) ``h = o * tanh(c)``; all arrays ``(N, H)``.

    Parameters
    ----------
    c : array (N, H)
        New cell state.
    o : array (N, H)
        Output gate (any shape that broadcasts with ``c``).

    Returns
    -------
    h : array (N, H)

    Raises
    ------
    ValueError
        If an argument is not an array of numbers (bools are not; integers are converted to
        float64) or the shapes do not broadcast together.
    """
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

    Raises
    ------
    ValueError
        As :func:`gate_preactivation`, and for a ``c_prev`` that is not a finite ``(N, H)``
        array.
    """
    x, h_prev = _inputs(x, h_prev, params)
    c_prev = check_array(c_prev, "c_prev", h_prev.shape, "(N, H)", x.dtype)
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
