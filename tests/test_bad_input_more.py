"""Bad input gets a clear error and loses nothing: the helper modules, and what one call
cannot show.

:data:`CASES` is :mod:`test_bad_input`'s table for the modules that ``import lstm_core``
does not load (``experiments``, ``evaluation``, ``plots``, ``widgets``): each row calls one
function with valid arguments except one and expects a ``ValueError`` (exactly), or an
``ArgumentTypeError`` for a wrong type, whose message starts with the argument's name and
says what it got. The tests after it check what a row cannot: that ``fit`` refuses bad
targets before its first update, that clipping, the losses and ``rel_error`` give the right
finite numbers where the plain formulas overflowed, and the one rule for overflow (a
``ValueError`` naming the argument to scale down, never a warning, inf or NaN).
"""

# ruff: noqa: E501 (CASES keeps one row per line, as in test_bad_input.py)

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display, no GUI warnings


import re
import warnings

import numpy as np
import pytest
from bad_input_table import Derived, case_id, check_refused
from matplotlib.lines import Line2D

import lstm_core as lc
from lstm_core import evaluation as ev
from lstm_core import experiments as ex
from lstm_core import plots, reference, widgets

TYPE = lc.ArgumentTypeError
VALUE = ValueError
NAN, INF = float("nan"), float("inf")
RAGGED = r", which is not one rectangular array \(nested sequences of different lengths\)$"
RNG = r"a numpy\.random\.Generator, a non-negative integer seed \(or a list of them\) or None"
LAGS = r"lags must be a non-empty sequence of non-negative integers, got "
PARAMS_DICT = r"params must be a dict with keys \('Wx', 'Wh', 'b'\), got "


def _p():
    return lc.init_params(3, 4, rng=0)


def _char_model():
    return lc.init_model("lstm", 5, 4, 5, rng=0)


def _series_model():
    return lc.init_model("lstm", 1, 4, 1, rng=0)


def _line():
    return plots.response_figure(("f",)).axes[0].lines[0]


def _without(params, key):
    return {k: v for k, v in params.items() if k != key}


def _matrix(a):
    """``np.matrix(a)`` (NumPy warns that the class is deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(a)


IDS = np.array([0, 1, 2, 3, 4, 1, 0])

# Valid arguments of every function the rows call, by keyword.
VALID = {
    "ex.input_gradient_norms": lambda: {"x": np.ones((2, 5, 3)), "params": _p(), "lags": [0, 2]},
    "ex.unroll_trace": lambda: {"x": np.ones((2, 5, 3)), "params": _p(), "h0": None, "c0": None},
    "ex.forecast_free_run": lambda: {"context": np.ones(3), "params": _series_model(), "steps": 2},
    "ex.init_gru_params": lambda: {
        "input_size": 2,
        "hidden_size": 3,
        "rng": 0,
        "dtype": np.float64,
    },
    "ex.gru_step_forward": lambda: {
        "x": np.ones((2, 3)),
        "h_prev": np.zeros((2, 4)),
        "params": ex.init_gru_params(3, 4, rng=0),
    },
    "ex.memory_test_mse": lambda: {
        "cell": "lstm",
        "lag": 2,
        "seed": 0,
        "n_train": 8,
        "n_test": 8,
        "epochs": 1,
    },
    "ex.memory_sweep": lambda: {
        "lags": [1],
        "cells": ("lstm",),
        "n_train": 8,
        "n_test": 8,
        "epochs": 1,
    },
    "ex.memory_sweep_seeds": lambda: {
        "lags": [1],
        "seeds": [0],
        "cells": ("lstm",),
        "n_train": 8,
        "n_test": 8,
        "epochs": 1,
    },
    "ev.autocorrelation": lambda: {"series": np.array([1.0, -1.0, 2.0, 0.5, 3.0]), "max_lag": 2},
    "ev.fit_autoregression": lambda: {"x": np.arange(10.0).reshape(5, 2), "y": np.arange(5.0) ** 2},
    "ev.predict_autoregression": lambda: {"w": np.ones(3), "x": np.ones((4, 2))},
    "ev.ngram_log_probs": lambda: {"ids": IDS, "vocab_size": 5, "order": 2, "alpha": 1.0},
    "ev.ngram_cross_entropy": lambda: {
        "log_probs": ev.ngram_log_probs(IDS, 5, 2),
        "ids": np.array([1, 2]),
        "previous": 0,
    },
    "ev.char_cross_entropy": lambda: {
        "params": _char_model(),
        "ids": IDS,
        "context": None,
        "window": 4,
        "warmup": 1,
        "batch": 2,
    },
    "plots.activation_figure": lambda: {"x": None, "points": [("tanh", 1.0)]},
    "plots.cell_diagram": lambda: {"highlight": "f", "values": {"f": 0.5}},
    "plots.response_figure": lambda: {
        "keys": ("f",),
        "h_values": (0.0,),
        "c_prev": 2.0,
        "params": None,
        "x": None,
        "mark": None,
    },
    "plots.crossing": lambda: {"line": _line(), "level": 0.5},
    "widgets.grid": lambda: {"lo": 0.0, "hi": 1.0, "step": 0.25, "digits": 2},
    "widgets.bar": lambda: {"value": 0.5, "signed": False},
    "widgets.activation_explorer": lambda: {"x": 2.0},
    "widgets.gate_explorer": lambda: {
        "gate": "f",
        "params": None,
        "x": 1.0,
        "h_prev": 1.0,
        "c_prev": 2.0,
    },
    "widgets.Explorer": lambda: {
        "sliders": {"a": widgets._slider("a", [0.0, 1.0], 0.0)},
        "compute": lambda a: ({"a": a}, [("a", f"{a:.1f}")]),
        "kind": "test",
    },
    "widgets.cell_state_explorer": lambda: {
        "c_prev": 2.0,
        "f": 0.9,
        "i": 0.5,
        "g": 0.5,
        "steps": 10,
    },
}

# fmt: off
CASES = [
    # --- experiments
    ("ex.input_gradient_norms", "lags", None, TYPE, rf"^{LAGS}None$"),
    ("ex.input_gradient_norms", "lags", 3, TYPE, rf"^{LAGS}3$"),
    ("ex.input_gradient_norms", "lags", "ab", TYPE, rf"^{LAGS}'ab'$"),
    ("ex.input_gradient_norms", "lags", [1.5], TYPE, rf"^{LAGS}list \[1\.5\]$"),
    ("ex.input_gradient_norms", "lags", [True], TYPE, rf"^{LAGS}list \[True\]$"),
    ("ex.input_gradient_norms", "lags", [-1], VALUE, rf"^{LAGS}list \[-1\]$"),
    ("ex.input_gradient_norms", "lags", [5], VALUE, r"^lags must lie in \[0, T=5\), got \[5\]$"),
    ("ex.input_gradient_norms", "params", Derived(lambda kw: _without(kw["params"], "Wx")), VALUE, r"^params is missing \['Wx'\]; expected keys \['Wx', 'Wh', 'b'\], got keys \['Wh', 'b'\]$"),
    ("ex.input_gradient_norms", "params", None, TYPE, rf"^{PARAMS_DICT}None$"),
    ("ex.input_gradient_norms", "x", np.full((2, 5, 3), NAN), VALUE, r"^x contains NaN or infinity \(got nan at index \(0, 0, 0\)\)"),
    ("ex.unroll_trace", "x", np.ones(2), VALUE, r"^x must have shape \(N, T, D\) = \(\?, \?, 3\), got \(2,\)$"),
    ("ex.unroll_trace", "x", np.ones((5, 2)), VALUE, r"^x must have shape \(N, T, D\) = \(\?, \?, 3\), got \(5, 2\)$"),
    ("ex.unroll_trace", "x", np.ones((2, 0, 3)), VALUE, r"^x must have at least one sequence and one time step, got \(2, 0, 3\)$"),
    ("ex.unroll_trace", "params", None, TYPE, rf"^{PARAMS_DICT}None$"),
    ("ex.unroll_trace", "h0", np.ones((2, 5)), VALUE, r"^h0 must have shape \(N, H\) = \(2, 4\), got \(2, 5\)$"),
    ("ex.unroll_trace", "c0", np.full((2, 4), INF), VALUE, r"^c0 contains NaN or infinity \(got inf at index \(0, 0\)\)"),
    ("ex.forecast_free_run", "params", None, TYPE, rf"^{PARAMS_DICT}None$"),
    ("ex.forecast_free_run", "params", Derived(lambda kw: lc.init_model("lstm", 1, 4, rng=0)), VALUE, r"^params must be a model of one input and one output, Wx \(1, G\) and Wy \(H, 1\), got Wx \(1, 16\) and no read-out$"),
    ("ex.forecast_free_run", "params", Derived(lambda kw: lc.init_model("lstm", 1, 4, 2, rng=0)), VALUE, r"^params must be a model of one input and one output, .*, got Wx \(1, 16\) and Wy \(4, 2\)$"),
    ("ex.forecast_free_run", "context", [1.0, NAN], VALUE, r"^context contains NaN or infinity \(got nan at index \(1,\)\); it must be finite$"),
    ("ex.forecast_free_run", "context", [], VALUE, r"^context must hold at least one value, got shape \(0,\)$"),
    ("ex.forecast_free_run", "context", np.ones((3, 1)), VALUE, r"^context must have shape \(W,\) = \(\?,\), got \(3, 1\)$"),
    ("ex.forecast_free_run", "steps", 0, VALUE, r"^steps must be a positive integer, got 0$"),
    ("ex.init_gru_params", "rng", "a", TYPE, rf"^rng must be {RNG}, got 'a'$"),
    ("ex.init_gru_params", "rng", 1.5, TYPE, rf"^rng must be {RNG}, got 1\.5$"),
    ("ex.init_gru_params", "rng", -1, VALUE, rf"^rng must be {RNG}, got -1$"),
    ("ex.init_gru_params", "rng", True, TYPE, rf"^rng must be {RNG}, got True$"),
    ("ex.init_gru_params", "dtype", np.float16, TYPE, r"^dtype must be float32 or float64, got float16$"),
    ("ex.init_gru_params", "hidden_size", 0, VALUE, r"^hidden_size must be a positive integer, got 0$"),
    ("ex.gru_step_forward", "x", np.ones((2, 2)), VALUE, r"^x must have shape \(N, D\) = \(\?, 3\), got \(2, 2\)$"),
    ("ex.gru_step_forward", "x", np.full((2, 3), NAN), VALUE, r"^x contains NaN or infinity \(got nan at index \(0, 0\)\)"),
    ("ex.gru_step_forward", "h_prev", np.zeros((2, 5)), VALUE, r"^h_prev must have shape \(N, H\) = \(2, 4\), got \(2, 5\)$"),
    ("ex.gru_step_forward", "params", Derived(lambda kw: _p()), VALUE, r"^params is missing \['bx', 'bh'\]; a GRU's params have the keys \['Wx', 'Wh', 'bx', 'bh'\] \(from init_gru_params\), got keys \['Wx', 'Wh', 'b'\]$"),
    ("ex.gru_step_forward", "params", None, TYPE, r"^params must be a dict with keys \('Wx', 'Wh', 'bx', 'bh'\) \(from init_gru_params\), got None$"),
    ("ex.gru_step_forward", "params", Derived(lambda kw: {**kw["params"], "Wh": np.zeros((4, 8))}), VALUE, r"^params\['Wh'\] must have shape \(H, 3H\) = \(4, 12\), got \(4, 8\)$"),
    ("ex.memory_test_mse", "seed", None, TYPE, r"^seed must be a non-negative integer, got None$"),
    ("ex.memory_test_mse", "seed", -1, VALUE, r"^seed must be a non-negative integer, got -1$"),
    ("ex.memory_test_mse", "n_train", 0, VALUE, r"^n_train must be a positive integer, got 0$"),
    ("ex.memory_test_mse", "n_test", 1.5, TYPE, r"^n_test must be a positive integer, got 1\.5$"),
    ("ex.memory_test_mse", "cell", "gru", VALUE, r"^cell must be one of \('lstm', 'rnn'\), got 'gru'$"),
    ("ex.memory_sweep", "lags", "ab", TYPE, rf"^{LAGS}'ab'$"),
    ("ex.memory_sweep", "lags", [2.5], TYPE, rf"^{LAGS}list \[2\.5\]$"),
    ("ex.memory_sweep", "cells", "xyz", TYPE, r"^cells must be a non-empty sequence of names from \('lstm', 'rnn'\), got 'xyz'$"),
    ("ex.memory_sweep", "cells", (), VALUE, r"^cells must be a non-empty sequence of names from \('lstm', 'rnn'\), got tuple \(\)$"),
    ("ex.memory_sweep", "cells", ["lstm", "gru"], VALUE, r"^cells must be a non-empty sequence of names .*, got list \['lstm', 'gru'\]$"),
    ("ex.memory_sweep_seeds", "seeds", [1.5], TYPE, r"^seeds must be a non-empty sequence of non-negative integers, got list \[1\.5\]$"),
    ("ex.memory_sweep_seeds", "lags", [], VALUE, rf"^{LAGS}list \[\]$"),
    # --- evaluation
    ("ev.autocorrelation", "series", [1.0, NAN, 2.0], VALUE, r"^series contains NaN or infinity \(got nan at index \(1,\)\); it must be finite$"),
    ("ev.autocorrelation", "series", [1.0, INF, 2.0], VALUE, r"^series contains NaN or infinity \(got inf at index \(1,\)\)"),
    ("ev.fit_autoregression", "x", Derived(lambda kw: np.where(np.eye(5, 2) > 0, NAN, kw["x"])), VALUE, r"^x contains NaN or infinity \(got nan at index \(0, 0\)\); it must be finite$"),
    ("ev.fit_autoregression", "y", np.array([0.0, 1.0, INF, 3.0, 4.0]), VALUE, r"^y contains NaN or infinity \(got inf at index \(2,\)\)"),
    ("ev.predict_autoregression", "w", np.array([1.0, NAN, 1.0]), VALUE, r"^w contains NaN or infinity \(got nan at index \(1,\)\)"),
    ("ev.predict_autoregression", "x", np.full((4, 2), NAN), VALUE, r"^x contains NaN or infinity \(got nan at index \(0, 0\)\)"),
    ("ev.ngram_log_probs", "ids", [[0], [1, 2]], TYPE, r"^ids must be a non-empty 1-D integer array, got list \[\[0\], \[1, 2\]\]" + RAGGED),
    ("ev.ngram_log_probs", "ids", [0, 5], VALUE, r"^ids must lie in \[0, 5\), got values in \[0, 5\]$"),
    ("ev.ngram_log_probs", "order", True, TYPE, r"^order must be 1 \(unigram\) or 2 \(bigram\), got True$"),
    ("ev.ngram_log_probs", "order", 2.0, TYPE, r"^order must be 1 \(unigram\) or 2 \(bigram\), got 2\.0$"),
    ("ev.ngram_log_probs", "order", 3, VALUE, r"^order must be 1 \(unigram\) or 2 \(bigram\), got 3$"),
    ("ev.ngram_log_probs", "alpha", INF, VALUE, r"^alpha must be a positive number \(finite\), got inf$"),
    ("ev.ngram_log_probs", "alpha", 0, VALUE, r"^alpha must be a positive number \(finite\), got 0$"),
    ("ev.ngram_log_probs", "alpha", "1", TYPE, r"^alpha must be a positive number, got '1'$"),
    ("ev.ngram_log_probs", "vocab_size", True, TYPE, r"^vocab_size must be a positive integer, got True$"),
    ("ev.ngram_cross_entropy", "log_probs", np.full((5, 5), NAN), VALUE, r"^log_probs must be log-probabilities \(finite and at most 0, or -inf for probability 0\), got nan at index \(0, 0\)$"),
    ("ev.ngram_cross_entropy", "log_probs", Derived(lambda kw: np.where(np.arange(25).reshape(5, 5) == 1, -INF, kw["log_probs"])), VALUE, r"^ids must have non-zero probability under log_probs, got ids\[0\] = 1, of log-probability -inf \(an infinite cross-entropy\)$"),
    ("ev.ngram_cross_entropy", "previous", True, TYPE, r"^previous must be a non-negative integer, got True$"),
    ("ev.ngram_cross_entropy", "previous", 5, VALUE, r"^previous must lie in \[0, 5\), got values in \[5, 5\]$"),
    ("ev.char_cross_entropy", "params", None, TYPE, rf"^{PARAMS_DICT}None$"),
    ("ev.char_cross_entropy", "params", Derived(lambda kw: {**kw["params"], "Wy": kw["params"]["Wy"].tolist()}), TYPE, r"^params\['Wy'\] must be a float64 array like the layer's, got list "),
    ("ev.char_cross_entropy", "params", Derived(lambda kw: lc.init_model("lstm", 3, 4, 5, rng=0)), VALUE, r"^params must read the alphabet it predicts, Wx \(V, G\) and Wy \(H, V\) with one V, got Wx \(3, 16\) and Wy \(4, 5\)$"),
    ("ev.char_cross_entropy", "params", Derived(lambda kw: lc.init_model("lstm", 5, 4, rng=0)), VALUE, r"^params must have a read-out \(Wy, by\) over the alphabet, got none$"),
    ("ev.char_cross_entropy", "ids", np.array([1]), VALUE, r"^ids must hold at least 2 characters without a context \(the first one is not scored\), got 1$"),
    ("ev.char_cross_entropy", "ids", [[0], [1, 2]], TYPE, r"^ids must be a non-empty 1-D integer array, got list" ),
    ("ev.char_cross_entropy", "context", np.array([7]), VALUE, r"^context must lie in \[0, 5\), got values in \[7, 7\]$"),
    ("ev.char_cross_entropy", "window", 0, VALUE, r"^window must be a positive integer, got 0$"),
    ("ev.char_cross_entropy", "batch", True, TYPE, r"^batch must be a positive integer, got True$"),
    ("ev.char_cross_entropy", "warmup", 4, VALUE, r"^warmup must be in \[0, window=4\), got 4$"),
    # --- plots
    ("plots.activation_figure", "x", "abc", TYPE, r"^x must be a float32 or float64 array \(integers are converted\), got 'abc', dtype <U3$"),
    ("plots.activation_figure", "x", [], VALUE, r"^x must hold at least one point, got shape \(0,\)$"),
    ("plots.activation_figure", "x", [0.0, NAN], VALUE, r"^x contains NaN or infinity \(got nan at index \(1,\)\)"),
    ("plots.activation_figure", "points", [("relu", 1.0)], VALUE, r"^points\[0\] must be a pair \(\"sigmoid\" or \"tanh\", a finite number\), got tuple \('relu', 1\.0\)$"),
    ("plots.activation_figure", "points", 3, TYPE, r"^points must be a sequence of pairs \(\"sigmoid\" or \"tanh\", a finite number\), got 3$"),
    ("plots.activation_figure", "points", [("tanh", NAN)], VALUE, r"^points\[0\]\[1\] must be a finite number, got nan$"),
    ("plots.cell_diagram", "highlight", 5, TYPE, r"^highlight must be a stage or stages among \('f', 'i', 'c', 'o'\), got 5$"),
    ("plots.cell_diagram", "highlight", "z", VALUE, r"^highlight must be among \('f', 'i', 'c', 'o'\), got \['z'\]$"),
    ("plots.cell_diagram", "values", {"f": np.array([])}, VALUE, r"^values\['f'\] must be a number or an array of one entry, got shape \(0,\)$"),
    ("plots.cell_diagram", "values", [1, 2], TYPE, r"^values must be a dict of numbers keyed like lstm_step_trace's output, got list \[1, 2\]$"),
    ("plots.cell_diagram", "values", {"f": "abc"}, TYPE, r"^values\['f'\] must be a float32 or float64 array"),
    ("plots.cell_diagram", "values", {"f": INF}, VALUE, r"^values\['f'\] contains NaN or infinity"),
    ("plots.response_figure", "keys", ["zzz"], VALUE, r"^keys must be a non-empty sequence of keys from \['a_i', .*\], got list \['zzz'\]$"),
    ("plots.response_figure", "keys", [], VALUE, r"^keys must be a non-empty sequence of keys from .*, got list \[\]$"),
    ("plots.response_figure", "keys", None, TYPE, r"^keys must be a non-empty sequence of keys from .*, got None$"),
    ("plots.response_figure", "h_values", (), VALUE, r"^h_values must be a non-empty sequence of finite numbers, got \(\)$"),
    ("plots.response_figure", "h_values", (0.0, NAN), VALUE, r"^h_values\[1\] must be a finite number, got nan$"),
    ("plots.response_figure", "c_prev", "2", TYPE, r"^c_prev must be a finite number, got '2'$"),
    ("plots.response_figure", "params", Derived(lambda kw: _p()), VALUE, r"^params must be a single-unit LSTM \(D = H = 1\), got D = 3, H = 4$"),
    ("plots.response_figure", "x", [[1.0]], VALUE, r"^x must have shape \(M,\) = \(\?,\), got \(1, 1\)$"),
    ("plots.response_figure", "mark", INF, VALUE, r"^mark must be a finite number, got inf$"),
    ("plots.crossing", "line", None, TYPE, r"^line must be a matplotlib\.lines\.Line2D \(e\.g\. fig\.axes\[0\]\.lines\[0\]\), got None$"),
    ("plots.crossing", "line", Line2D([], []), VALUE, r"^line must have at least one point, got an empty line$"),
    ("plots.crossing", "level", "a", TYPE, r"^level must be a finite number, got 'a'$"),
    ("plots.crossing", "level", NAN, VALUE, r"^level must be a finite number, got nan$"),
    ("plots.crossing", "level", 2.0, VALUE, r"^level must be reached by the line: got 2\.0, the line spans"),
    # --- widgets
    ("widgets.grid", "step", 0, VALUE, r"^step must be a finite number > 0, got 0$"),
    ("widgets.grid", "step", NAN, VALUE, r"^step must be a finite number > 0, got nan$"),
    ("widgets.grid", "lo", "a", TYPE, r"^lo must be a finite number, got 'a'$"),
    ("widgets.grid", "hi", INF, VALUE, r"^hi must be a finite number, got inf$"),
    ("widgets.grid", "digits", -1, VALUE, r"^digits must be a non-negative integer, got -1$"),
    # just over the bound (never an unbounded call here): 20,001 steps of 0.25
    ("widgets.grid", "hi", (widgets.MAX_POSITIONS + 1) * 0.25, VALUE, r"^step must cut \[lo, hi\] into at most 20000 steps, got step=0\.25 for lo=0\.0, hi=5000\.25 \(2e\+04 steps\)$"),
    ("widgets.grid", "step", 1e-9, VALUE, r"^step must cut \[lo, hi\] into at most 20000 steps, got step=1e-09 for lo=0\.0, hi=1\.0 \(1e\+09 steps\)$"),
    ("widgets.bar", "value", "a", TYPE, r"^value must be a finite number, got 'a'$"),
    ("widgets.bar", "value", NAN, VALUE, r"^value must be a finite number, got nan$"),
    ("widgets.bar", "signed", 1, TYPE, r"^signed must be True or False, got 1$"),
    ("widgets.activation_explorer", "x", 0.05, VALUE, r"^x must be one of the slider's positions \(its start value\), 201 from -10\.0 to 10\.0, got 0\.05$"),
    ("widgets.activation_explorer", "x", True, TYPE, r"^x must be a finite number, got True$"),
    ("widgets.gate_explorer", "gate", "z", VALUE, r"^gate must be one of \('i', 'f', 'o', 'g'\), got 'z'$"),
    ("widgets.gate_explorer", "params", [], TYPE, rf"^{PARAMS_DICT}list \[\]$"),
    ("widgets.gate_explorer", "params", Derived(lambda kw: _without(lc.HAND_WORKED_PARAMS, "b")), VALUE, r"^params is missing \['b'\]; expected keys \['Wx', 'Wh', 'b'\], got keys \['Wx', 'Wh'\]$"),
    ("widgets.gate_explorer", "params", Derived(lambda kw: _p()), VALUE, r"^params must be a single-unit LSTM \(D = H = 1\): Wx \(1, 4\), Wh \(1, 4\), b \(4,\), got Wx \(3, 16\)$"),
    ("widgets.gate_explorer", "x", 1.25, VALUE, r"^x must be one of the slider's positions \(its start value\), 41 from -10\.0 to 10\.0, got 1\.25$"),
    ("widgets.gate_explorer", "h_prev", "1", TYPE, r"^h_prev must be a finite number, got '1'$"),
    ("widgets.gate_explorer", "c_prev", 0.5, VALUE, r"^c_prev must be one of the slider's positions \(its start value\), \[-3\.0, -2\.0, -1\.0, 0\.0, 1\.0, 2\.0, 3\.0\], got 0\.5$"),
    ("widgets.cell_state_explorer", "steps", True, TYPE, r"^steps must be a positive integer, got True$"),
    ("widgets.cell_state_explorer", "steps", 1.0, TYPE, r"^steps must be a positive integer, got 1\.0$"),
    ("widgets.cell_state_explorer", "steps", 3, VALUE, r"^steps must be one of the slider's positions \(its start value\), \[1, 2, 5, 10, 20, 50, 100\], got 3$"),
    ("widgets.cell_state_explorer", "c_prev", True, TYPE, r"^c_prev must be a finite number, got True$"),
    ("widgets.cell_state_explorer", "f", 0.85, VALUE, r"^f must be one of the slider's positions \(its start value\), "),
    # --- added with the third review
    ("ex.gru_step_forward", "x", np.ones((0, 3)), VALUE, r"^x must have at least one row \(N >= 1\), got \(0, 3\)$"),
    ("ex.gru_step_forward", "params", Derived(lambda kw: {k: v.tolist() for k, v in kw["params"].items()}), TYPE, r"^params\['Wx'\] must be a NumPy array, got list \[\["),
    ("ex.gru_step_forward", "params", Derived(lambda kw: {**kw["params"], "Wx": kw["params"]["Wx"].astype(np.float32)}), TYPE, r"^params arrays must share one dtype, got Wx float32, Wh float64, bx float64, bh float64$"),
    ("ev.autocorrelation", "series", [1.0], VALUE, r"^series must hold at least 2 values \(S >= 2\), got shape \(1,\)$"),
    ("ev.autocorrelation", "series", [], VALUE, r"^series must hold at least 2 values \(S >= 2\), got shape \(0,\)$"),
    ("ev.autocorrelation", "max_lag", 1.5, TYPE, r"^max_lag must be an integer in \[1, S - 1\], got 1\.5$"),
    ("ev.autocorrelation", "max_lag", True, TYPE, r"^max_lag must be an integer in \[1, S - 1\], got True$"),
    ("ev.fit_autoregression", "y", np.arange(5.0).reshape(1, 5), VALUE, r"^y must hold one target per window, shape \(5,\) or \(5, 1\), got \(1, 5\)$"),
    ("ev.fit_autoregression", "x", np.arange(30.0).reshape(5, 6), VALUE, r"^x must hold at least p \+ 1 = 7 windows \(one per weight\), got 5$"),
    ("ev.ngram_log_probs", "alpha", 1e308, VALUE, r"^alpha must be small enough for the smoothed counts' total to stay within float64 \(largest 1\.8e\+308\), got values up to 1e\+308, which overflow it$"),
    ("ev.ngram_cross_entropy", "log_probs", np.full((5, 5), 0.5), VALUE, r"^log_probs must be log-probabilities \(finite and at most 0, or -inf for probability 0\), got 0\.5 at index \(0, 0\)$"),
    ("ev.ngram_cross_entropy", "log_probs", np.zeros((5, 5), bool), TYPE, r"^log_probs must be a float32 or float64 array \(integers are converted, bools are not\), got dtype bool$"),
    ("plots.crossing", "line", Line2D([NAN, NAN], [0.0, 1.0]), VALUE, r"^line must have at least one finite point, got none$"),
    ("plots.crossing", "line", Line2D(["a", "b"], [0.0, 1.0]), TYPE, r"^line must have numeric x and y data, got x list \['a', 'b'\] and y list \[0\.0, 1\.0\]$"),
    ("widgets.grid", "hi", 0.0, VALUE, r"^hi must be greater than lo=0\.0, got 0\.0$"),
    ("widgets.grid", "lo", 2.0, VALUE, r"^hi must be greater than lo=2\.0, got 1\.0$"),
    ("widgets.grid", "step", 0.3, VALUE, r"^step must cut \[lo, hi\] into a whole number of steps, \(hi - lo\) / step a positive integer, got step=0\.3 for lo=0\.0, hi=1\.0 \(3\.33 steps\)$"),
    ("widgets.Explorer", "sliders", [], TYPE, r"^sliders must be a non-empty dict of names to ipywidgets\.SelectionSlider, got list \[\]$"),
    ("widgets.Explorer", "sliders", {"a": 0.5}, TYPE, r"^sliders must be a non-empty dict of names to ipywidgets\.SelectionSlider, got dict \{'a': 0\.5\}$"),
    ("widgets.Explorer", "sliders", {}, VALUE, r"^sliders must be a non-empty dict of names to ipywidgets\.SelectionSlider, got \{\}$"),
    ("widgets.Explorer", "compute", None, TYPE, r"^compute must be a function compute\(\*\*slider_values\) -> \(values, rows\), got None$"),
    ("widgets.Explorer", "kind", 1, TYPE, r"^kind must be a str such as 'activation', got 1$"),
    # --- added with the fourth review: sizes beyond memory, bools, ndarray subclasses
    ("ev.ngram_log_probs", "vocab_size", 2**62, VALUE, r"^vocab_size must be small enough for the counts to fit in memory, got vocab_size=4611686018427387904, which need 1\.7e\+38 bytes$"),
    ("ex.init_gru_params", "hidden_size", 10**30, VALUE, r"^input_size and hidden_size must be small enough for the parameters to fit in memory, got input_size=2 and hidden_size=10{30}, which need 2\.4e\+61 bytes$"),
    ("ex.gru_step_forward", "params", Derived(lambda kw: {**kw["params"], "Wh": _matrix(kw["params"]["Wh"])}), TYPE, r"^params\['Wh'\] must be a NumPy array \(not a subclass: pass np\.asarray\(value\)\), got a matrix of shape \(4, 12\) and dtype float64$"),
    ("ev.autocorrelation", "series", np.array([True, False, True, True, False]), TYPE, r"^series must be a float32 or float64 array \(integers are converted, bools are not\), got dtype bool$"),
    ("ev.fit_autoregression", "x", Derived(lambda kw: np.ma.masked_invalid(kw["x"])), TYPE, r"^x must be a float32 or float64 array \(integers are converted\), got a MaskedArray of shape \(5, 2\) and dtype float64, whose mask cannot be honoured; pass value\.filled\(\.\.\.\) or the unmasked entries instead$"),
]
# fmt: on

MODULES = {"ex": ex, "ev": ev, "plots": plots, "widgets": widgets}


def _callable(target: str):
    module, name = target.split(".")
    return getattr(MODULES[module], name)


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_bad_input_is_refused_by_name(case):
    check_refused(case, _callable(case[0]), VALID[case[0]]())


@pytest.mark.parametrize("target", sorted(VALID))
def test_the_valid_arguments_are_valid(target):
    """Each row changes one argument only: the others, as given here, are accepted."""
    _callable(target)(**VALID[target]())


def test_every_row_names_a_function_with_valid_arguments():
    assert {case[0] for case in CASES} == set(VALID)


# -- fit: every target checked before the first update


@pytest.mark.parametrize(
    ("loss", "output_size", "bad_y", "message"),
    [
        (
            "mse",
            1,
            lambda y: y.__setitem__((3, 0), np.nan),
            r"^y contains NaN or infinity \(got nan at index \(3, 0\)\)",
        ),
        (
            "softmax",
            3,
            lambda y: y.__setitem__(3, 3),
            r"^y must lie in \[0, 3\), got values in \[0, 3\]$",
        ),
    ],
)
def test_fit_checks_all_targets_before_the_first_mini_batch(loss, output_size, bad_y, message):
    """In mini-batch mode the bad target is in the second batch: refused before any update,
    with its index in y itself."""
    params = lc.init_model("lstm", 3, 4, output_size, rng=0)
    y = np.zeros((4, 1)) if loss == "mse" else np.array([0, 1, 2, 0])
    bad_y(y)
    before = lc.copy_params(params)
    with pytest.raises(ValueError, match=message):
        lc.fit(np.ones((4, 5, 3)), y, params, loss=loss, epochs=1, batch_size=2, rng=0)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])


def test_fit_still_trains_in_mini_batches():
    params = lc.init_model("lstm", 3, 4, 3, rng=0)
    history = lc.fit(
        np.ones((4, 5, 3)), [0, 1, 2, 0], params, loss="softmax", epochs=2, batch_size=2, rng=0
    )
    assert history["epochs"] == 2 and np.isfinite(history["loss"]).all()


# -- clipping and the optimizers: the right numbers where the plain formulas overflowed


def test_clip_grad_norm_clips_any_finite_gradients():
    clipped, norm = lc.clip_grad_norm({"a": np.array([1e20], np.float32)}, 1.0)
    assert norm == pytest.approx(1e20, rel=1e-7) and clipped["a"].dtype == np.float32
    assert clipped["a"][0] == pytest.approx(1.0, rel=1e-6)
    clipped, norm = lc.clip_grad_norm({"a": np.array([1e200, 1e200])}, 1.0)
    assert norm == pytest.approx(np.sqrt(2) * 1e200)
    np.testing.assert_allclose(clipped["a"], [2**-0.5, 2**-0.5])
    # a norm beyond float64 (2.1e308): reported as inf, yet the clipping is exact
    clipped, norm = lc.clip_grad_norm({"a": np.array([1.5e308, 1.5e308])}, 1.0)
    assert norm == np.inf
    np.testing.assert_allclose(clipped["a"], [2**-0.5, 2**-0.5])
    # tiny gradients whose squares underflow: still measured, still clipped
    clipped, norm = lc.clip_grad_norm({"a": np.array([3e-200, 4e-200])}, 1e-300)
    assert norm == pytest.approx(5e-200)
    np.testing.assert_allclose(clipped["a"], [0.6e-300, 0.8e-300])
    assert lc.global_norm({"a": np.array([1e20], np.float32)}) == pytest.approx(1e20, rel=1e-7)


@pytest.mark.parametrize("kind", ["Adam", "SGD"])
def test_an_optimizer_step_that_would_overflow_is_refused_whole(kind):
    """Adam: gradients whose squares overflow its second moment; SGD: a step of lr=1e308.
    Refused before anything changes: neither the parameters nor the optimizer's state."""
    if kind == "Adam":
        optimizer, grads = lc.Adam(), {"Wx": np.full((3, 8), 1e200), "b": np.ones(8)}
        message = r"^grads must be small enough for their squares \(the second moment\) to stay within float64"
    else:
        optimizer, grads = lc.SGD(lr=1e308), {"Wx": np.full((3, 8), 10.0), "b": np.ones(8)}
        message = r"^lr must be small enough for the updated parameters to stay within float64 \(largest 1\.8e\+308\), got values up to 1e\+308"
    params = {"Wx": np.ones((3, 8)), "b": np.ones(8)}
    before, state = lc.copy_params(params), repr(vars(optimizer))
    with pytest.raises(ValueError, match=message):
        optimizer.step(params, grads)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    assert repr(vars(optimizer)) == state


# -- the losses, rel_error and numerical_gradient: finite inputs, finite right answers


def test_softmax_and_cross_entropy_of_logits_far_apart():
    np.testing.assert_array_equal(lc.softmax([-1e308, 1e308]), [0.0, 1.0])
    loss, d = lc.softmax_cross_entropy([[-1e308, 1e308]], [1])
    assert loss == 0.0
    np.testing.assert_array_equal(d, [[0.0, 0.0]])
    # one row's loss is 2e308, the mean of ten rows 2e307: representable, and exact
    logits = np.array([[-1e308, 1e308]] + [[0.0, 0.0]] * 9)
    loss, _ = lc.softmax_cross_entropy(logits, [0] + [1] * 9)
    assert loss == pytest.approx(2e307 + 0.9 * np.log(2))


def test_losses_refuse_no_rows_and_one_masked_row_among_others():
    """Zero rows has no mean; one row of -inf only has no softmax, even beside a valid row;
    targets of the right size but the wrong shape (transposed) are refused too."""
    with pytest.raises(
        ValueError, match=r"^targets must have shape \(2, 3\) \(logits without V\), got \(3, 2\)$"
    ):
        lc.softmax_cross_entropy(np.zeros((2, 3, 4)), np.zeros((3, 2), np.int64))
    with pytest.raises(
        ValueError, match=r"^logits must hold at least one row of V scores, got \(0, 3\)$"
    ):
        lc.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, np.int64))
    masked = np.array([[0.0, 1.0], [-np.inf, -np.inf]])
    message = (
        r"^logits must have a finite entry in every slice along axis -1, got a slice of -inf only$"
    )
    with pytest.raises(ValueError, match=message):
        lc.softmax(masked)
    with pytest.raises(ValueError, match=message):
        lc.softmax_cross_entropy(masked, [1, 0])
    # along axis 0 every column has a finite entry: softmax([0, -inf]) = [1, 0] twice (by hand)
    np.testing.assert_array_equal(lc.softmax(masked, axis=0), [[1.0, 1.0], [0.0, 0.0]])


def test_mse_of_differences_whose_squares_overflow():
    """(1e155)^2 = 1e310 overflows, but the mean over 1000 entries is 1e307."""
    pred = np.zeros(1000)
    pred[0] = 1e155
    loss, d = lc.mse_loss(pred, np.zeros(1000))
    assert loss == pytest.approx(1e307)
    assert d[0] == pytest.approx(2e152)


def test_rel_error_of_large_and_opposite_numbers():
    assert lc.rel_error(1e308, -1e308) == 1.0
    assert lc.rel_error([1.0], [3.0]) == pytest.approx(0.5)
    assert lc.rel_error(1e-300, 0.0) == pytest.approx(1e-292)  # below 1e-8: an absolute error


def test_numerical_gradient_refuses_a_step_beyond_the_range_of_x():
    with pytest.raises(
        ValueError,
        match=r"^h must be small enough for x \+- h to stay finite in float64, got 1e\+308$",
    ):
        lc.numerical_gradient(lambda v: float(v.sum()), np.full(3, 1e308), h=1e308)
    with pytest.raises(
        ValueError,
        match=r"^h must be large enough to change every entry of x .* in float32\), got 1e-320$",
    ):
        lc.numerical_gradient(lambda v: float(v.sum()), np.ones(3, np.float32), h=1e-320)


# -- one rule for overflow: a ValueError naming the argument, never a warning, inf or NaN


def _weights_that_overflow(D=3, H=4):
    p = lc.init_params(D, H, rng=0)
    p["Wx"][:] = 1.0
    return p


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_passes_refuse_pre_activations_that_could_overflow(dtype):
    """x = 0.7 of the dtype's range, three inputs of weight 1: the pre-activations could
    reach 2.1 times the range; lstm_forward, one step, the reference and the gates all say so."""
    big = 0.7 * float(np.finfo(dtype).max)
    p = {k: v.astype(dtype) for k, v in _weights_that_overflow().items()}
    x, h = np.full((2, 3), big, dtype), np.zeros((2, 4), dtype)
    message = rf"^x must be small enough for the pre-activations to stay within {np.dtype(dtype)}"
    calls = [
        lambda: lc.lstm_forward(x[:, None], p),
        lambda: lc.lstm_step_forward(x, h, h, p),
        lambda: reference.lstm_forward(x[:, None], p),
        lambda: reference.lstm_step_forward(x, h, h, p),
        lambda: lc.forget_gate(x, h, p),
        lambda: lc.gate_preactivation(x, h, p, "g"),
        lambda: lc.lstm_step_trace(x, h, h, p),
        lambda: lc.rnn_forward(
            x[:, None],
            {"Wx": np.ones((3, 4), dtype), "Wh": np.eye(4, dtype=dtype), "b": np.zeros(4, dtype)},
        ),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_step_names_h_prev_when_it_could_overflow_the_pre_activations(dtype):
    """h_prev = 0.7 of the range times four weights of 1 reaches 2.8 times it: the one-step
    functions name their own argument h_prev, not lstm_forward's h0."""
    big = 0.7 * float(np.finfo(dtype).max)
    p = {k: v.astype(dtype) for k, v in _weights_that_overflow().items()}
    p["Wx"][:], p["Wh"][:] = 0.0, 1.0
    x, h, c = np.zeros((2, 3), dtype), np.full((2, 4), big, dtype), np.zeros((2, 4), dtype)
    rnn = {"Wx": np.zeros((3, 4), dtype), "Wh": np.ones((4, 4), dtype), "b": np.zeros(4, dtype)}
    message = (
        rf"^h_prev must be small enough for the pre-activations to stay within {np.dtype(dtype)}"
    )
    calls = [
        lambda: lc.lstm_step_forward(x, h, c, p),
        lambda: reference.lstm_step_forward(x, h, c, p),
        lambda: lc.forget_gate(x, h, p),
        lambda: lc.lstm_step_trace(x, h, c, p),
        lambda: lc.rnn_step_forward(x, h, rnn),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=message):
            call()


def test_backward_passes_refuse_gradients_that_overflow():
    p = _p()
    x = np.ones((2, 5, 3))
    huge = np.full((2, 5, 4), 1e308)
    message = (
        r"^{} must be small enough for the gradients to stay within float64 \(largest 1\.8e\+308\)"
    )
    _, cache = lc.lstm_forward(x, p)
    with pytest.raises(ValueError, match=message.format("dhs")):
        lc.lstm_backward(huge, cache)
    with pytest.raises(ValueError, match=message.format("dhs")):
        reference.lstm_backward(huge, reference.lstm_forward(x, p)[1])
    rnn = {"Wx": np.ones((3, 4)), "Wh": np.eye(4), "b": np.zeros(4)}
    with pytest.raises(ValueError, match=message.format("dhs")):
        lc.rnn_backward(huge, lc.rnn_forward(x * 0.0, rnn)[1])
    model = {**lc.init_model("lstm", 3, 4, 1, rng=0), "Wy": np.full((4, 1), 10.0)}
    with pytest.raises(ValueError, match=message.format("dy")):
        lc.model_backward(np.full((2, 1), 1e308), lc.model_forward(x, model)[1])
    step = lc.lstm_step_forward(x[:, 0], None, None, p)[2]
    with pytest.raises(ValueError, match=message.format("dc")):
        lc.lstm_step_backward(np.full((2, 4), 1e308), np.full((2, 4), 1.5e308), step)


def test_cell_update_of_finite_numbers_that_overflow():
    with pytest.raises(
        ValueError, match=r"^c_prev must be small enough for the result to stay within float64"
    ):
        lc.cell_update(1e200, 1e200, 0.0, 0.0)
    assert lc.cell_update(np.inf, 1.0, 0.0, 0.0) == np.inf  # infinity in, infinity out: maths


def test_data_sets_refuse_what_would_not_be_finite():
    with pytest.raises(
        ValueError, match=r"^noise must be small enough for the series to stay within float32"
    ):
        lc.noisy_sine(5, noise=1e300, rng=0, dtype=np.float32)
    with pytest.raises(
        ValueError,
        match=r"^forget_bias must be a finite number representable in float32 \(at most 3\.4e\+38 in size\), got 1e\+300$",
    ):
        lc.init_params(3, 2, dtype=np.float32, forget_bias=1e300)
    train, held = lc.python_docs_corpus(1e-17)  # held out: at least one whole page
    assert train and held


def test_the_reviewed_cases_accept_what_they_should():
    """NumPy scalars are numbers; large but representable inputs work."""
    assert ev.ngram_log_probs(IDS, 5, 1, alpha=np.float32(1)).shape == (5,)
    assert ev.ngram_log_probs(IDS, 5, 1, alpha=5e-324).min() > -800  # log of a tiny, not of 0
    r = ev.autocorrelation(np.array([1e200, -1e200, 3e200, 1.0, 2e200]), 2)
    np.testing.assert_allclose(r, ev.autocorrelation(np.array([1.0, -1.0, 3.0, 1e-200, 2.0]), 2))
    assert ex.input_gradient_norms(np.ones((2, 5, 3)), _p(), np.arange(3)).shape == (3,)
    # dc_n is f ** steps: the default forget gate f = 0.9, twice, is 0.81
    assert widgets.cell_state_explorer(steps=np.int64(2)).values["dc_n"] == pytest.approx(0.81)


def test_what_the_third_review_fixed_beyond_one_argument():
    """previous is checked for a unigram too; log-probabilities far below 0 give the right
    finite cross-entropy; a gap (NaN) in a line is no crossing; lookup names the slider."""
    unigram = ev.ngram_log_probs(IDS, 5, 1)
    with pytest.raises(TYPE, match=r"^previous must be a non-negative integer, got 'a'$"):
        ev.ngram_cross_entropy(unigram, np.array([1, 2]), previous="a")
    with pytest.raises(VALUE, match=r"^previous must lie in \[0, 5\), got values in \[7, 7\]$"):
        ev.ngram_cross_entropy(unigram, np.array([1, 2]), previous=7)
    assert ev.ngram_cross_entropy(unigram, np.array([1, 2]), previous=0) == pytest.approx(
        ev.ngram_cross_entropy(unigram, np.array([1, 2]))
    )
    assert ev.ngram_cross_entropy(np.full(3, -1e308), np.array([0, 1, 2])) == 1e308
    assert plots.crossing(Line2D([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, NAN, 2.0]), 0.5) == 0.5
    with pytest.raises(
        VALUE, match=r"^level must be reached by the line: got 0\.5, the line spans \[0, 2\]$"
    ):
        plots.crossing(Line2D([0.0, 1.0, 2.0, 3.0], [0.0, NAN, 1.0, 2.0]), 0.5)
    explorer = widgets.activation_explorer()
    with pytest.raises(
        VALUE,
        match=r"^x must be one of the slider's positions, 201 from -10\.0 to 10\.0, got 0\.05$",
    ):
        explorer.lookup(x=0.05)
    with pytest.raises(
        VALUE,
        match=r"^positions must give a value for each slider \['x'\] and no other, got \['x', 'y'\]$",
    ):
        explorer.lookup(x=2.0, y=1.0)
    with pytest.raises(
        VALUE, match=r"^positions must give a value for each slider \['x'\] and no other, got \[\]$"
    ):
        explorer.lookup()
    assert explorer.lookup(x=2.0) == explorer.readout.value


class LSTM:
    """Stands for a torch.nn.LSTM: only its class name and a ``state_dict`` count."""

    def state_dict(self):
        return {}


def _torch_layout(D: int):
    """LSTM params of H = 4 laid out as PyTorch's: ``Wx (4H, D)``, ``Wh (4H, H)``."""
    p = lc.init_params(D, 4, rng=0)
    return {"Wx": p["Wx"].T.copy(), "Wh": p["Wh"].T.copy(), "b": p["b"].copy()}


FROM_TORCH = r"; lstm_core\.from_torch converts PyTorch's weights$"
TORCH_NAMES = r"\['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'\]"
# PyTorch's weights where lstm_core's are wanted, a mistake of anyone comparing with
# torch.nn.LSTM: each refusal says so and names the conversion (before, the layout's said
# "params['Wh'] must have shape (H, G) = (?, 3), got (16, 4)", the others nothing of PyTorch).
TORCH_MISTAKES = [
    (
        "state dict",
        3,
        lambda: lc.to_torch(lc.init_params(3, 4, rng=0)),
        VALUE,
        rf"^params is missing \['Wx', 'Wh', 'b'\]; expected keys \['Wx', 'Wh', 'b'\], got keys {TORCH_NAMES}, PyTorch's names{FROM_TORCH}",
    ),
    (
        "module",
        3,
        LSTM,
        TYPE,
        rf"^params must be a dict with keys \('Wx', 'Wh', 'b'\), got LSTM .*{FROM_TORCH}",
    ),
    (
        "layout D=3",
        3,
        lambda: _torch_layout(3),
        VALUE,
        rf"^params\['Wx'\] and params\['Wh'\] must have shapes \(D, 4H\) and \(H, 4H\), got \(16, 3\) and \(16, 4\), PyTorch's layout \(weight_ih \(4H, D\), weight_hh \(4H, H\)\){FROM_TORCH}",
    ),
    (
        "layout D=H",
        4,
        lambda: _torch_layout(4),
        VALUE,
        rf"^params\['Wx'\] and params\['Wh'\] must have shapes \(D, 4H\) and \(H, 4H\), got \(16, 4\) and \(16, 4\), PyTorch's layout .*{FROM_TORCH}",
    ),
]
TAKING_PARAMS = {
    "lstm_forward": lambda x, params: lc.lstm_forward(x, params),
    "reference.lstm_forward": lambda x, params: reference.lstm_forward(x, params),
    "lstm_step_forward": lambda x, params: lc.lstm_step_forward(x[:, 0], None, None, params),
    "forget_gate": lambda x, params: lc.forget_gate(x[:, 0], np.zeros((2, 4)), params),
    "model_forward": lambda x, params: lc.model_forward(x, params),
    "to_torch": lambda x, params: lc.to_torch(params),
}


@pytest.mark.parametrize("function", sorted(TAKING_PARAMS))
@pytest.mark.parametrize("mistake", TORCH_MISTAKES, ids=[m[0] for m in TORCH_MISTAKES])
def test_pytorchs_weights_for_lstm_cores_are_refused_with_the_conversion(mistake, function):
    _, D, make, kind, pattern = mistake
    with pytest.raises(ValueError) as caught:
        TAKING_PARAMS[function](np.ones((2, 5, D)), make())
    assert type(caught.value) is kind, f"{type(caught.value).__name__}: {caught.value}"
    assert re.search(pattern, str(caught.value)), f"{pattern!r} not in {str(caught.value)!r}"
