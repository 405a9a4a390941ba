"""Bad input gets a clear error and loses nothing, for every public callable of lstm_core.

One table, :data:`CASES`: each row calls one public callable with valid arguments except
one, and expects a ``ValueError`` (exactly), or an ``ArgumentTypeError`` (a ``ValueError``
and a ``TypeError``) for a wrong type, whose message starts with the argument's name and
shows what it got. After the refusal every array argument must be as it was.
``test_the_table_covers_every_argument_of_every_public_callable`` fails when a public
callable, or an argument of one, has no row.
"""

# ruff: noqa: E501 (CASES keeps one row per line: a callable, an argument, a bad value, the
# exception and the message, which a regex spells out whole)

from __future__ import annotations

import inspect
import types
import warnings

import numpy as np
import pytest
from bad_input_table import Derived, case_id, check_refused, same, snapshot

import lstm_core as lc
from lstm_core import reference

TYPE = lc.ArgumentTypeError  # a wrong type: both a TypeError and a ValueError
VALUE = ValueError  # a wrong value: exactly a ValueError
NAN, INF = float("nan"), float("inf")
RNG = r"a numpy\.random\.Generator, a non-negative integer seed \(or a list of them\) or None"
FLOATS = r"a float32 or float64 array \(integers are converted\)"


def _p():
    return lc.init_params(3, 4, rng=0)


def _with(params, **changes):
    out = lc.copy_params(params)
    out.update(changes)
    return out


def _step_cache():
    return lc.lstm_step_forward(np.ones((2, 3)), None, None, _p())[2]


def _ref_step_cache():
    return reference.lstm_step_forward(np.ones((2, 3)), np.zeros((2, 4)), np.zeros((2, 4)), _p())[2]


def _char_model():
    _, vocab = lc.encode_text("hello world")
    return lc.init_model("lstm", len(vocab), 4, len(vocab), rng=0), vocab


def _fit_model():
    return lc.init_model("lstm", 3, 4, 1, rng=0)


class _FakeModule:
    """Stands for a torch module of the class name given: only the name and attributes count."""

    def state_dict(self):
        return {}


def _fake(kind: str, **attrs):
    return type(kind, (_FakeModule,), attrs)()


def _square(v):
    return float(np.sum(v * v))


def _hidden_size_0(D=3):
    """LSTM params of hidden size 0 (and an RNN's too: Wh (0, 0) fits both)."""
    return {"Wx": np.zeros((D, 0)), "Wh": np.zeros((0, 0)), "b": np.zeros(0)}


def _matrix(a):
    """``np.matrix(a)``, whose ``*`` is a matrix product (NumPy warns that it is deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(a)


def _masked(a):
    """``a`` as a masked array whose mask hides nothing: refused all the same."""
    return np.ma.masked_invalid(a)


class _Parameter:
    def __init__(self, grad):
        self.grad = grad


def _module_without_grads():
    """Stands for an nn.LSTM before backward(): its parameters' .grad are None."""
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    return _fake("LSTM", named_parameters=lambda self: [(k, _Parameter(None)) for k in names])


def _wh_row_of(value):
    """An LSTM's Wh (H = 4) of zeros but for its first row, all ``value``."""
    Wh = np.zeros((4, 16))
    Wh[0] = value
    return Wh


def _ref_caches_of_two_dtypes():
    """Step caches of reference.lstm_forward, float64 for two steps and then float32."""
    first = reference.lstm_forward(np.ones((2, 5, 3)), _p())[1]
    second = reference.lstm_forward(np.ones((2, 5, 3), np.float32), _p32())[1]
    return first[:2] + second[2:]


def _ref_caches_of_two_batches():
    """Step caches of reference.lstm_forward whose N changes after step 2."""
    first = reference.lstm_forward(np.ones((2, 5, 3)), _p())[1]
    second = reference.lstm_forward(np.ones((3, 5, 3)), _p())[1]
    return first[:2] + second[2:]


HIDDEN_0 = r"^params\['Wh'\] must have a hidden size H of at least 1, got shape \(0, 0\) \(H = 0\)$"
RAGGED = r", which is not one rectangular array \(nested sequences of different lengths\)$"
OVERFLOW = r" must be small enough for {} to stay within float64 \(largest 1\.8e\+308\), got values up to {}, which overflow it$"
BOOLS = r" must be a float32 or float64 array \(integers are converted, bools are not\), got "
MASKED = r", whose mask cannot be honoured; pass value\.filled\(\.\.\.\) or the unmasked entries instead$"
SUBCLASS = (
    r" must be a NumPy array \(not a subclass: pass np\.asarray\(value\)\), got a matrix of shape "
)
MEMORY = r" must be small enough for {} to fit in memory, got {}, which need {} bytes$"
BIG = 2**62


# Valid arguments of every callable, every parameter given, by keyword.
VALID = {
    "sigmoid": lambda: {"x": np.zeros(2)},
    "tanh": lambda: {"x": np.zeros(2)},
    "sigmoid_grad": lambda: {"x": np.zeros(2)},
    "tanh_grad": lambda: {"x": np.zeros(2)},
    "softmax": lambda: {"logits": np.array([1.0, 2.0]), "axis": -1},
    "softmax_cross_entropy": lambda: {"logits": np.zeros((2, 3)), "targets": np.array([0, 1])},
    "mse_loss": lambda: {"pred": np.zeros((2, 1)), "target": np.zeros((2, 1))},
    **{
        name: lambda: {"x": np.ones((2, 3)), "h_prev": np.zeros((2, 4)), "params": _p()}
        for name in ("forget_gate", "input_gate", "output_gate", "candidate_memory")
    },
    "gate_preactivation": lambda: {
        "x": np.ones((2, 3)),
        "h_prev": np.zeros((2, 4)),
        "params": _p(),
        "gate": "f",
    },
    **{
        name: lambda: {
            "x": np.ones((2, 3)),
            "h_prev": np.zeros((2, 4)),
            "c_prev": np.zeros((2, 4)),
            "params": _p(),
        }
        for name in ("lstm_step_trace", "lstm_step_forward", "reference.lstm_step_forward")
    },
    "cell_update": lambda: {k: np.full((2, 4), 0.5) for k in ("c_prev", "f", "i", "g")},
    "hidden_update": lambda: {"c": np.ones((2, 4)), "o": np.full((2, 4), 0.5)},
    "lstm_step_backward": lambda: {
        "dh": np.ones((2, 4)),
        "dc": np.zeros((2, 4)),
        "cache": _step_cache(),
    },
    "reference.lstm_step_backward": lambda: {
        "dh": np.ones((2, 4)),
        "dc": np.zeros((2, 4)),
        "cache": _ref_step_cache(),
    },
    **{
        name: lambda: {"x": np.ones((2, 5, 3)), "params": _p(), "h0": None, "c0": None}
        for name in ("lstm_forward", "reference.lstm_forward")
    },
    "lstm_backward": lambda: {
        "dhs": np.ones((2, 5, 4)),
        "cache": lc.lstm_forward(np.ones((2, 5, 3)), _p())[1],
        "dh_last": None,
        "dc_last": None,
    },
    "reference.lstm_backward": lambda: {
        "dhs": np.ones((2, 5, 4)),
        "cache": reference.lstm_forward(np.ones((2, 5, 3)), _p())[1],
        "dh_last": None,
        "dc_last": None,
    },
    "rnn_step_forward": lambda: {
        "x": np.ones((2, 3)),
        "h_prev": np.zeros((2, 4)),
        "params": lc.init_rnn_params(3, 4, rng=0),
    },
    "rnn_step_backward": lambda: {
        "dh": np.ones((2, 4)),
        "cache": lc.rnn_step_forward(np.ones((2, 3)), None, lc.init_rnn_params(3, 4, rng=0))[1],
    },
    "rnn_forward": lambda: {
        "x": np.ones((2, 5, 3)),
        "params": lc.init_rnn_params(3, 4, rng=0),
        "h0": None,
    },
    "rnn_backward": lambda: {
        "dhs": np.ones((2, 5, 4)),
        "cache": lc.rnn_forward(np.ones((2, 5, 3)), lc.init_rnn_params(3, 4, rng=0))[1],
        "dh_last": None,
    },
    "init_params": lambda: {
        "input_size": 3,
        "hidden_size": 4,
        "rng": 0,
        "dtype": np.float64,
        "forget_bias": 1.0,
    },
    "init_rnn_params": lambda: {"input_size": 3, "hidden_size": 4, "rng": 0, "dtype": np.float64},
    "init_model": lambda: {
        "cell": "lstm",
        "input_size": 3,
        "hidden_size": 4,
        "output_size": 1,
        "rng": 0,
        "dtype": np.float64,
    },
    "gate_slice": lambda: {"gate": "f", "hidden_size": 4},
    "gate_params": lambda: {"params": _p(), "gate": "f"},
    "params_from_gates": lambda: {
        "gates": {g: (1.0, 2.0, 0.5) for g in lc.GATES},
        "dtype": np.float64,
    },
    "copy_params": lambda: {"params": _p()},
    "to_torch": lambda: {"params": _p()},
    "from_torch": lambda: {"source": lc.to_torch(_p()), "suffix": None},
    "grads_from_torch": lambda: {"source": lc.to_torch(_p()), "suffix": None},
    "cell_of": lambda: {"params": _p()},
    "model_forward": lambda: {"x": np.ones((2, 5, 3)), "params": _fit_model(), "readout": "last"},
    "model_backward": lambda: {
        "dy": np.ones((2, 1)),
        "cache": lc.model_forward(np.ones((2, 5, 3)), _fit_model())[1],
    },
    "model_loss": lambda: {
        "x": np.ones((2, 5, 3)),
        "y": np.zeros((2, 1)),
        "params": _fit_model(),
        "readout": "last",
        "loss": "mse",
    },
    "sample_text": lambda: dict(
        zip(("params", "vocab"), _char_model(), strict=True),
        start="he",
        length=3,
        rng=0,
        temperature=1.0,
    ),
    "fit": lambda: {
        "x": np.ones((2, 5, 3)),
        "y": np.zeros((2, 1)),
        "params": _fit_model(),
        "readout": "last",
        "loss": "mse",
        "optimizer": None,
        "epochs": 1,
        "batch_size": None,
        "clip_norm": 5.0,
        "rng": 0,
        "log_every": 0,
        "target_loss": None,
        "log": print,
    },
    "global_norm": lambda: {"grads": {"w": np.ones(3)}},
    "clip_grad_norm": lambda: {"grads": {"w": np.ones(3)}, "max_norm": 1.0},
    "SGD": lambda: {"lr": 0.1, "momentum": 0.5},
    "Adam": lambda: {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    **{
        name: lambda: {"params": _p(), "grads": {k: np.ones_like(v) for k, v in _p().items()}}
        for name in ("SGD.step", "Adam.step")
    },
    "numerical_gradient": lambda: {
        "f": _square,
        "x": np.ones(3),
        "df": None,
        "h": 1e-5,
        "order": 2,
    },
    "gradcheck": lambda: {
        "f": lambda: 0.0,
        "inputs": {"w": np.ones(3)},
        "analytic": {"w": np.zeros(3)},
        "df": None,
        "h": 1e-5,
        "order": 2,
    },
    "rel_error": lambda: {"a": np.ones(2), "b": np.ones(2)},
    "two_companies": lambda: {"dtype": np.float64},
    "memory_task": lambda: {"n": 3, "lag": 2, "rng": 0, "length": None, "dtype": np.float64},
    "adding_problem": lambda: {"n": 3, "length": 4, "rng": 0, "dtype": np.float64},
    "noisy_sine": lambda: {
        "n_steps": 10,
        "period": 20.0,
        "noise": 0.1,
        "rng": 0,
        "dtype": np.float64,
    },
    "windows": lambda: {"series": np.arange(5.0), "window": 2},
    "python_docs_corpus": lambda: {"held_out": 0.1},
    "encode_text": lambda: {"text": "hello", "vocab": None},
    "one_hot": lambda: {"ids": np.array([0, 2]), "size": 3, "dtype": np.float64},
    "char_batches": lambda: {
        "ids": np.array([0, 1, 2, 1, 0, 1, 2]),
        "seq_len": 3,
        "vocab_size": 3,
        "dtype": np.float64,
    },
    "stock_prices": lambda: {"tickers": ["IBM"]},
    "goog_daily": lambda: {"field": "close"},
    "log_returns": lambda: {"prices": np.array([1.0, 2.0])},
    "chronological_split": lambda: {"n": 100, "val_fraction": 0.15, "test_fraction": 0.15},
    "series_span": lambda: {"part": slice(0, 70), "window": 5},
    "set_workspace_limit": lambda: {"nbytes": 64 << 20},
}

# Public callables that take no argument, or are results rather than inputs (and so have
# no row), with the reason; ``test_the_exemptions_still_hold`` checks each reason.
EXEMPT = {
    "char_corpus": "takes no argument",
    "SequenceCache": "a result of lstm_forward; lstm_backward refuses anything else (rows)",
    "StepCache": "a result of lstm_step_forward; lstm_step_backward refuses anything else",
    "ArgumentTypeError": "the exception itself",
}

ACTIVATIONS = ("sigmoid", "tanh", "sigmoid_grad", "tanh_grad")
GATE_FUNCTIONS = ("forget_gate", "input_gate", "output_gate", "candidate_memory")
STEPS = ("lstm_step_forward", "reference.lstm_step_forward", "lstm_step_trace")
SEQUENCES = ("lstm_forward", "reference.lstm_forward")
OPTIMIZER_STEPS = ("SGD.step", "Adam.step")
PARAMS_DICT = r"params must be a dict with keys \('Wx', 'Wh', 'b'\), got "

# fmt: off
CASES = [
    # --- activations: any shape, NaN and infinity are maths; non-numbers are refused
    *[
        row
        for name in ACTIVATIONS
        for row in (
            (name, "x", "abc", TYPE, rf"^x must be {FLOATS}, got 'abc', dtype <U3$"),
            (name, "x", None, TYPE, rf"^x must be {FLOATS}, got None, dtype object$"),
            (name, "x", np.zeros(2, complex), TYPE, rf"^x must be {FLOATS}, got dtype complex"),
            (name, "x", [[1.0], [1.0, 2.0]], TYPE, r"^x must be .*, got list \[\[1\.0\], \[1\.0"),
        )
    ],
    # --- losses
    ("softmax", "logits", np.zeros(0), VALUE, r"^logits must have at least one entry along axis -1, got shape \(0,\)$"),
    ("softmax", "logits", [INF, 0.0], VALUE, r"^logits must be finite or -inf \(probability 0\), got inf at index \(0,\)$"),
    ("softmax", "logits", [0.0, NAN], VALUE, r"^logits must be finite or -inf \(probability 0\), got nan at index \(1,\)$"),
    ("softmax", "logits", [-INF, -INF], VALUE, r"^logits must have a finite entry in every slice along axis -1, got a slice of -inf only$"),
    ("softmax", "logits", "abc", TYPE, rf"^logits must be {FLOATS}, got 'abc'"),
    ("softmax", "axis", 1, VALUE, r"^axis must be an integer in \[-1, 1\) or None, got 1$"),
    ("softmax", "axis", 1.5, TYPE, r"^axis must be an integer in \[-1, 1\) or None, got 1\.5$"),
    ("softmax", "axis", True, TYPE, r"^axis must be an integer .* got True$"),
    ("softmax_cross_entropy", "logits", 1.5, VALUE, r"^logits must have shape \(\.\.\., V\), got \(\)$"),
    ("softmax_cross_entropy", "logits", np.full((2, 3), INF), VALUE, r"^logits must be finite or -inf .*, got inf at index \(0, 0\)$"),
    ("softmax_cross_entropy", "logits", np.zeros((2, 0)), VALUE, r"^logits must have at least one entry along axis -1, got shape \(2, 0\)$"),
    ("softmax_cross_entropy", "logits", [["a"] * 3] * 2, TYPE, r"^logits must be .*, got list .*dtype <U1$"),
    ("softmax_cross_entropy", "targets", np.array([0.0, 1.0]), TYPE, r"^targets must be integer class indices, got dtype float64$"),
    ("softmax_cross_entropy", "targets", None, TYPE, r"^targets must be integer class indices, got None$"),
    ("softmax_cross_entropy", "targets", np.array([0, 3]), VALUE, r"^targets must lie in \[0, 3\), got values in \[0, 3\]$"),
    ("softmax_cross_entropy", "targets", np.array([0]), VALUE, r"^targets must have shape \(2,\) \(logits without V\), got \(1,\)$"),
    ("mse_loss", "pred", np.zeros(0), VALUE, r"^pred must have at least one entry, got shape \(0,\)$"),
    ("mse_loss", "pred", np.array([[NAN], [0.0]]), VALUE, r"^pred contains NaN or infinity \(got nan at index \(0, 0\)\); it must be finite$"),
    ("mse_loss", "pred", {}, TYPE, rf"^pred must be {FLOATS}, got dict \{{\}}, dtype object$"),
    ("mse_loss", "target", np.zeros(2), VALUE, r"^target must have the shape of pred \(2, 1\), got \(2,\)$"),
    ("mse_loss", "target", np.array([[0.0], [INF]]), VALUE, r"^target contains NaN or infinity \(got inf at index \(1, 0\)\)"),
    ("mse_loss", "target", "abc", TYPE, r"^target must be a float32 or float64 array .*got 'abc'"),
    # --- the cell, gate by gate
    *[
        row
        for name in (*GATE_FUNCTIONS, "gate_preactivation", *STEPS)
        for row in (
            (name, "x", np.ones((2, 2)), VALUE, r"^x must have shape \(N, D\) = \(\?, 3\), got \(2, 2\)$"),
            (name, "x", np.full((2, 3), NAN), VALUE, r"^x contains NaN or infinity \(got nan at index \(0, 0\)\)"),
            (name, "x", "abc", TYPE, rf"^x must be {FLOATS}, got 'abc', dtype <U3$"),
            (name, "h_prev", np.zeros((3, 4)), VALUE, r"^h_prev must have shape \(N, H\) = \(2, 4\), got \(3, 4\)$"),
            (name, "h_prev", np.full((2, 4), -INF), VALUE, r"^h_prev contains NaN or infinity \(got -inf at index \(0, 0\)\)"),
            (name, "params", [1, 2], TYPE, rf"^{PARAMS_DICT}list \[1, 2\]$"),
            (name, "params", {}, VALUE, r"^params is missing \['Wx', 'Wh', 'b'\]; expected keys \['Wx', 'Wh', 'b'\], got keys \[\]$"),
            (name, "params", Derived(lambda kw: _with(kw["params"], b=np.full(16, NAN))), VALUE, r"^params\['b'\] contains NaN or infinity \(got nan at index \(0,\)\)"),
            (name, "params", Derived(lambda kw: lc.init_rnn_params(3, 4)), VALUE, r"^params\['Wh'\] must have shape \(H, 4H\) for an LSTM, got \(4, 4\)$"),
        )
    ],
    *[
        row
        for name in STEPS
        for row in (
            (name, "c_prev", np.zeros((2, 5)), VALUE, r"^c_prev must have shape \(N, H\) = \(2, 4\), got \(2, 5\)$"),
            (name, "c_prev", np.full((2, 4), NAN), VALUE, r"^c_prev contains NaN or infinity \(got nan"),
            (name, "c_prev", "abc", TYPE, r"^c_prev must be a float32 or float64 array .*got 'abc'"),
        )
    ],
    ("gate_preactivation", "gate", "c", VALUE, r"^gate must be one of \('i', 'f', 'o', 'g'\), got 'c'$"),
    ("gate_preactivation", "gate", 1, TYPE, r"^gate must be one of \('i', 'f', 'o', 'g'\), got 1$"),
    ("cell_update", "c_prev", None, TYPE, rf"^c_prev must be {FLOATS}, got None, dtype object$"),
    ("cell_update", "f", np.ones((3, 4)), VALUE, r"^f must have a shape that broadcasts with \(2, 4\) \(that of c_prev\), got \(3, 4\)$"),
    ("cell_update", "i", np.ones((2, 5)), VALUE, r"^i must have a shape that broadcasts with \(2, 4\) \(that of c_prev, f\), got \(2, 5\)$"),
    ("cell_update", "g", "abc", TYPE, rf"^g must be {FLOATS}, got 'abc', dtype <U3$"),
    ("hidden_update", "c", {}, TYPE, rf"^c must be {FLOATS}, got dict \{{\}}, dtype object$"),
    ("hidden_update", "o", np.ones(3), VALUE, r"^o must have a shape that broadcasts with \(2, 4\) \(that of c\), got \(3,\)$"),
    ("lstm_step_backward", "dh", np.ones((4, 2)), VALUE, r"^dh must have shape \(N, H\) = \(2, 4\), got \(4, 2\)$"),
    ("lstm_step_backward", "dc", None, TYPE, rf"^dc must be {FLOATS}, got None, dtype object$"),
    ("lstm_step_backward", "dc", np.full((2, 4), INF), VALUE, r"^dc contains NaN or infinity \(got inf at index \(0, 0\)\)"),
    ("lstm_step_backward", "cache", {}, TYPE, r"^cache must be the StepCache from lstm_step_forward, got dict \{\}$"),
    ("reference.lstm_step_backward", "dh", np.ones((2, 3)), VALUE, r"^dh must have shape \(N, H\) = \(2, 4\), got \(2, 3\)$"),
    ("reference.lstm_step_backward", "dc", np.full((2, 4), NAN), VALUE, r"^dc contains NaN or infinity \(got nan"),
    ("reference.lstm_step_backward", "cache", [1], TYPE, r"^cache must be the dict cache of lstm_step_forward, got list \[1\]$"),
    ("reference.lstm_step_backward", "cache", {"x": 1}, VALUE, r"^cache must be the dict cache of lstm_step_forward, got one without \['h_prev', 'c_prev', 'i', 'f', 'o', 'g', 'c', 'tanh_c', 'params'\]$"),
    # --- whole sequences
    *[
        row
        for name in SEQUENCES
        for row in (
            (name, "x", np.ones((2, 5, 2)), VALUE, r"^x must have shape \(N, T, D\) = \(\?, \?, 3\), got \(2, 5, 2\)$"),
            (name, "x", np.ones((2, 0, 3)), VALUE, r"^x must have at least one sequence and one time step, got \(2, 0, 3\)$"),
            (name, "x", np.full((2, 5, 3), INF), VALUE, r"^x contains NaN or infinity \(got inf at index \(0, 0, 0\)\)"),
            (name, "x", None, TYPE, rf"^x must be {FLOATS}, got None, dtype object$"),
            (name, "params", None, TYPE, rf"^{PARAMS_DICT}None$"),
            (name, "params", Derived(lambda kw: _with(kw["params"], Wx=kw["params"]["Wx"].astype(np.float32))), TYPE, r"^params arrays must share one dtype, got Wx float32, Wh float64, b float64$"),
            (name, "h0", np.zeros((3, 4)), VALUE, r"^h0 must have shape \(N, H\) = \(2, 4\), got \(3, 4\)$"),
            (name, "h0", "abc", TYPE, rf"^h0 must be {FLOATS}, got 'abc'"),
            (name, "c0", np.full((2, 4), NAN), VALUE, r"^c0 contains NaN or infinity \(got nan at index \(0, 0\)\)"),
        )
    ],
    *[
        row
        for name in ("lstm_backward", "reference.lstm_backward")
        for row in (
            (name, "dhs", np.ones((2, 4, 4)), VALUE, r"^dhs must have shape \(N, T, H\) = \(2, 5, 4\), got \(2, 4, 4\)$"),
            (name, "dhs", np.full((2, 5, 4), NAN), VALUE, r"^dhs contains NaN or infinity \(got nan at index \(0, 0, 0\)\)"),
            (name, "dh_last", np.zeros(4), VALUE, r"^dh_last must have shape \(N, H\) = \(2, 4\), got \(4,\)$"),
            (name, "dc_last", np.full((2, 4), INF), VALUE, r"^dc_last contains NaN or infinity \(got inf"),
        )
    ],
    ("lstm_backward", "cache", [], TYPE, r"^cache must be the SequenceCache from lstm_forward, got list \[\]$"),
    ("reference.lstm_backward", "cache", {}, TYPE, r"^cache must be the list of step caches from lstm_forward, got dict \{\}$"),
    ("reference.lstm_backward", "cache", [], VALUE, r"^cache must be the list of step caches from lstm_forward, got \[\]$"),
    ("reference.lstm_backward", "cache", [{}], VALUE, r"^cache\[0\] must be the dict cache of lstm_step_forward, got one without \['x', "),
    # --- the vanilla RNN
    ("rnn_step_forward", "x", np.ones((2, 4)), VALUE, r"^x must have shape \(N, D\) = \(\?, 3\), got \(2, 4\)$"),
    ("rnn_step_forward", "h_prev", np.full((2, 4), NAN), VALUE, r"^h_prev contains NaN or infinity \(got nan"),
    ("rnn_step_forward", "params", Derived(lambda kw: _p()), VALUE, r"^params\['Wh'\] must have shape \(H, H\) for an RNN, got \(4, 16\)$"),
    ("rnn_step_backward", "dh", np.ones((2, 5)), VALUE, r"^dh must have shape \(N, H\) = \(2, 4\), got \(2, 5\)$"),
    ("rnn_step_backward", "cache", None, TYPE, r"^cache must be the RNNStepCache from rnn_step_forward, got None$"),
    ("rnn_forward", "x", np.ones((2, 5)), VALUE, r"^x must have shape \(N, T, D\) = \(\?, \?, 3\), got \(2, 5\)$"),
    ("rnn_forward", "params", "abc", TYPE, rf"^{PARAMS_DICT}'abc'$"),
    ("rnn_forward", "h0", np.zeros((2, 3)), VALUE, r"^h0 must have shape \(N, H\) = \(2, 4\), got \(2, 3\)$"),
    ("rnn_backward", "dhs", np.ones((2, 5, 3)), VALUE, r"^dhs must have shape \(N, T, H\) = \(2, 5, 4\), got \(2, 5, 3\)$"),
    ("rnn_backward", "cache", Derived(lambda kw: lc.lstm_forward(np.ones((2, 5, 3)), _p())[1]), TYPE, r"^cache must be the RNNCache from rnn_forward, got SequenceCache "),
    ("rnn_backward", "dh_last", np.full((2, 4), INF), VALUE, r"^dh_last contains NaN or infinity \(got inf"),
    # --- parameters
    *[
        row
        for name in ("init_params", "init_rnn_params", "init_model")
        for row in (
            (name, "input_size", 0, VALUE, r"^input_size must be a positive integer, got 0$"),
            (name, "input_size", 2.5, TYPE, r"^input_size must be a positive integer, got 2\.5$"),
            (name, "hidden_size", True, TYPE, r"^hidden_size must be a positive integer, got True$"),
            (name, "hidden_size", -1, VALUE, r"^hidden_size must be a positive integer, got -1$"),
            (name, "rng", -1, VALUE, rf"^rng must be {RNG}, got -1$"),
            (name, "rng", 1.5, TYPE, rf"^rng must be {RNG}, got 1\.5$"),
            (name, "rng", "abc", TYPE, rf"^rng must be {RNG}, got 'abc'$"),
            (name, "rng", True, TYPE, rf"^rng must be {RNG}, got True$"),
            (name, "dtype", np.float16, TYPE, r"^dtype must be float32 or float64, got float16$"),
            (name, "dtype", None, TYPE, r"^dtype must be float32 or float64, got None$"),
            (name, "dtype", "abc", TYPE, r"^dtype must be float32 or float64, got 'abc'$"),
        )
    ],
    ("init_params", "forget_bias", NAN, VALUE, r"^forget_bias must be a finite number, got nan$"),
    ("init_params", "forget_bias", "1", TYPE, r"^forget_bias must be a finite number, got '1'$"),
    ("init_model", "cell", "gru", VALUE, r"^cell must be one of \('lstm', 'rnn'\), got 'gru'$"),
    ("init_model", "cell", np.zeros(2), TYPE, r"^cell must be one of \('lstm', 'rnn'\), got an array of shape \(2,\) and dtype float64$"),
    ("init_model", "output_size", 0, VALUE, r"^output_size must be a positive integer, got 0$"),
    ("init_model", "output_size", 1.0, TYPE, r"^output_size must be a positive integer, got 1\.0$"),
    ("gate_slice", "gate", "c", VALUE, r"^gate must be one of \('i', 'f', 'o', 'g'\), got 'c'$"),
    ("gate_slice", "gate", np.zeros(0), TYPE, r"^gate must be one of .*, got an array of shape \(0,\)"),
    ("gate_slice", "hidden_size", 0, VALUE, r"^hidden_size must be a positive integer, got 0$"),
    ("gate_slice", "hidden_size", "abc", TYPE, r"^hidden_size must be a positive integer, got 'abc'$"),
    ("gate_params", "params", Derived(lambda kw: lc.init_rnn_params(3, 4)), VALUE, r"^params\['Wh'\] must have shape \(H, 4H\) for an LSTM, got \(4, 4\)$"),
    ("gate_params", "gate", "c", VALUE, r"^gate must be one of \('i', 'f', 'o', 'g'\), got 'c'$"),
    ("params_from_gates", "gates", [1], TYPE, r"^gates must be a dict \{gate: \(Wx, Wh, b\)\} with the keys \('i', 'f', 'o', 'g'\), got list \[1\]$"),
    ("params_from_gates", "gates", {"i": (1, 1, 1)}, VALUE, r"^gates must have exactly the keys \('i', 'f', 'o', 'g'\), got \['i'\]$"),
    ("params_from_gates", "gates", Derived(lambda kw: {**kw["gates"], "f": (1.0, 2.0)}), VALUE, r"^gates\['f'\] must be a tuple \(Wx, Wh, b\), got 2 items$"),
    ("params_from_gates", "gates", Derived(lambda kw: {**kw["gates"], "f": "abc"}), TYPE, r"^gates\['f'\] must be a tuple \(Wx, Wh, b\), got 'abc'$"),
    ("params_from_gates", "gates", Derived(lambda kw: {**kw["gates"], "o": (1.0, 2.0, NAN)}), VALUE, r"^gates\['o'\]\[2\] contains NaN or infinity \(got nan at index \(0,\)\)"),
    ("params_from_gates", "gates", Derived(lambda kw: {**kw["gates"], "g": (np.ones((1, 2)), 1.0, 1.0)}), VALUE, r"^gates\['g'\]\[0\] must have shape \(D, H\) = \(1, 1\), got \(1, 2\)$"),
    ("params_from_gates", "dtype", int, TYPE, r"^dtype must be float32 or float64, got int64$"),
    ("copy_params", "params", None, TYPE, r"^params must be a dict of arrays, got None$"),
    ("copy_params", "params", {"Wx": "abc"}, TYPE, rf"^params\['Wx'\] must be {FLOATS}, got 'abc', dtype <U3$"),
    ("to_torch", "params", [], TYPE, rf"^{PARAMS_DICT}list \[\]$"),
    ("to_torch", "params", Derived(lambda kw: lc.init_rnn_params(3, 4)), VALUE, r"^params\['Wh'\] must have shape \(H, 4H\) for an LSTM"),
    ("from_torch", "source", None, TYPE, r"^source must be an nn\.LSTM or nn\.LSTMCell module or its state dict, got NoneType$"),
    ("from_torch", "source", [1, 2], TYPE, r"^source must be an nn\.LSTM or nn\.LSTMCell module or its state dict, got list$"),
    ("from_torch", "source", _fake("GRU"), TYPE, r"^source must be an nn\.LSTM or nn\.LSTMCell module or its state dict, got GRU$"),
    ("from_torch", "source", _fake("LSTM", num_layers=2), VALUE, r"^source must be a one-layer, one-way LSTM \(num_layers=1\), got num_layers=2$"),
    ("from_torch", "source", {}, VALUE, r"^source must hold \['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'\] \(suffix ''\), but its state_dict has no 'weight_ih'; keys are \[\]$"),
    ("from_torch", "source", Derived(lambda kw: {**kw["source"], "bias_ih_l0": np.zeros(15)}), VALUE, r"^source\['bias_ih_l0'\] must have shape \(4H,\) = \(16,\), got \(15,\)$"),
    ("from_torch", "source", Derived(lambda kw: {**kw["source"], "weight_hh_l0": "abc"}), TYPE, rf"^source\['weight_hh_l0'\] must be {FLOATS}, got 'abc', dtype <U3$"),
    ("from_torch", "source", Derived(lambda kw: {**kw["source"], "bias_hh_l0": np.zeros(16, np.float32)}), TYPE, r"^source arrays must share one dtype, got \['float64', 'float64', 'float64', 'float32'\]$"),
    ("from_torch", "suffix", 1, TYPE, r"^suffix must be a str such as '_l0' or '', or None, got 1$"),
    ("from_torch", "suffix", "_l1", VALUE, r"^source must hold \['weight_ih_l1', .*\] \(suffix '_l1'\), but its state_dict has no 'weight_ih_l1'"),
    # --- models
    ("cell_of", "params", None, TYPE, rf"^{PARAMS_DICT}None$"),
    ("cell_of", "params", {}, VALUE, r"^params\['Wh'\] must be an array of shape \(H, 4H\) \(LSTM\) or \(H, H\) \(RNN\), got no Wh$"),
    ("cell_of", "params", {"Wh": np.zeros((2, 3))}, VALUE, r"^params\['Wh'\] must have shape \(H, 4H\) or \(H, H\), got \(2, 3\)$"),
    ("cell_of", "params", {"Wh": [[1.0]]}, VALUE, r"^params\['Wh'\] must be an array of shape .*, got list \[\[1\.0\]\]$"),
    ("model_forward", "x", np.full((2, 5, 3), NAN), VALUE, r"^x contains NaN or infinity \(got nan at index \(0, 0, 0\)\)"),
    ("model_forward", "x", np.ones((5, 3)), VALUE, r"^x must have shape \(N, T, D\) = \(\?, \?, 3\), got \(5, 3\)$"),
    ("model_forward", "params", Derived(lambda kw: {k: v for k, v in kw["params"].items() if k != "by"}), VALUE, r"^params must have both 'Wy' and 'by' \(a read-out\) or neither, got keys \['Wx', 'Wh', 'b', 'Wy'\]$"),
    ("model_forward", "params", Derived(lambda kw: _with(kw["params"], Wy=np.ones((3, 1)))), VALUE, r"^params\['Wy'\] must have shape \(H, O\) = \(4, \?\), got \(3, 1\)$"),
    ("model_forward", "params", Derived(lambda kw: _with(kw["params"], by=np.ones(1, np.float32))), TYPE, r"^params\['by'\] must be a float64 array like the layer's, got an array of shape \(1,\) and dtype float32$"),
    ("model_forward", "params", Derived(lambda kw: _with(kw["params"], Wy=np.full((4, 1), INF))), VALUE, r"^params\['Wy'\] contains NaN or infinity \(got inf at index \(0, 0\)\)"),
    ("model_forward", "readout", "first", VALUE, r"^readout must be one of \('last', 'all'\), got 'first'$"),
    ("model_forward", "readout", None, TYPE, r"^readout must be one of \('last', 'all'\), got None$"),
    ("model_backward", "dy", np.ones(2), VALUE, r"^dy must have shape \(N, O\) = \(2, 1\), got \(2,\)$"),
    ("model_backward", "dy", np.full((2, 1), NAN), VALUE, r"^dy contains NaN or infinity \(got nan at index \(0, 0\)\)"),
    ("model_backward", "cache", ("lstm", "last"), TYPE, r"^cache must be the ModelCache from model_forward, got tuple \('lstm', 'last'\)$"),
    ("model_loss", "x", "abc", TYPE, rf"^x must be {FLOATS}, got 'abc', dtype <U3$"),
    ("model_loss", "y", np.zeros(2), VALUE, r"^y must have the shape of the model's output \(2, 1\), got \(2,\)$"),
    ("model_loss", "y", np.full((2, 1), NAN), VALUE, r"^y contains NaN or infinity \(got nan at index \(0, 0\)\)"),
    ("model_loss", "y", "abc", TYPE, rf"^y must be {FLOATS}, got 'abc', dtype <U3$"),
    ("model_loss", "params", 0, TYPE, rf"^{PARAMS_DICT}0$"),
    ("model_loss", "readout", "every", VALUE, r"^readout must be one of \('last', 'all'\), got 'every'$"),
    ("model_loss", "loss", "mae", VALUE, r"^loss must be one of \('mse', 'softmax'\), got 'mae'$"),
    ("model_loss", "loss", [], TYPE, r"^loss must be one of \('mse', 'softmax'\), got list \[\]$"),
    ("sample_text", "start", "", VALUE, r"^start must be a non-empty string of characters from vocab, got ''$"),
    ("sample_text", "start", "hz", VALUE, r"^start must be a non-empty string of characters from vocab, got 'hz'$"),
    ("sample_text", "start", 5, TYPE, r"^start must be a non-empty string of characters from vocab, got 5$"),
    ("sample_text", "params", Derived(lambda kw: lc.init_model("lstm", 3, 4, 3, rng=0)), VALUE, r"^params must be a character-level LSTM with a read-out for len\(vocab\) = 8: Wx \(8, 4H\) and Wy \(H, 8\), got a lstm with Wx \(3, 16\) and Wy \(4, 3\)$"),
    ("sample_text", "params", Derived(lambda kw: lc.init_model("lstm", 8, 4, rng=0)), VALUE, r"^params must be a character-level LSTM .* got a lstm with Wx \(8, 16\) and no read-out$"),
    ("sample_text", "params", None, TYPE, rf"^{PARAMS_DICT}None$"),
    ("sample_text", "vocab", 5, TYPE, r"^vocab must be a str, got 5$"),
    ("sample_text", "vocab", "ehlo wrdd", VALUE, r"^vocab must be a non-empty str of distinct characters, got 'ehlo wrdd'$"),
    ("sample_text", "length", -1, VALUE, r"^length must be a non-negative integer, got -1$"),
    ("sample_text", "length", 2.0, TYPE, r"^length must be a non-negative integer, got 2\.0$"),
    ("sample_text", "rng", [1.5], TYPE, rf"^rng must be {RNG}, got list \[1\.5\]$"),
    ("sample_text", "temperature", 0, VALUE, r"^temperature must be a finite number > 0, got 0$"),
    ("sample_text", "temperature", INF, VALUE, r"^temperature must be a finite number > 0, got inf$"),
    ("sample_text", "temperature", 5e-324, VALUE, r"^temperature must be large enough for the logits divided by it to stay finite, got 5e-324$"),
    # --- training
    ("fit", "x", None, TYPE, rf"^x must be {FLOATS}, got None, dtype object$"),
    ("fit", "x", np.ones((2, 5, 2)), VALUE, r"^x must have shape \(N, T, D\) = \(\?, \?, 3\), got \(2, 5, 2\)$"),
    ("fit", "x", np.full((2, 5, 3), INF), VALUE, r"^x contains NaN or infinity \(got inf"),
    ("fit", "y", 1.5, VALUE, r"^y must hold one target per sequence of x \(2\), got a single value \(shape \(\)\)$"),
    ("fit", "y", np.zeros((3, 1)), VALUE, r"^y must hold one target per sequence of x \(2\), got 3$"),
    ("fit", "y", np.zeros(2), VALUE, r"^y must have the shape of the model's output \(2, 1\), got \(2,\)$"),
    ("fit", "y", np.array([[0.0], [NAN]]), VALUE, r"^y contains NaN or infinity \(got nan at index \(1, 0\)\)"),
    ("fit", "params", None, TYPE, rf"^{PARAMS_DICT}None$"),
    ("fit", "params", Derived(lambda kw: {k: v for k, v in kw["params"].items() if k != "by"}), VALUE, r"^params must have both 'Wy' and 'by' \(a read-out\) or neither, got keys \['Wx', 'Wh', 'b', 'Wy'\]$"),
    ("fit", "readout", "first", VALUE, r"^readout must be one of \('last', 'all'\), got 'first'$"),
    ("fit", "readout", np.zeros(3), TYPE, r"^readout must be one of .*, got an array of shape \(3,\)"),
    ("fit", "loss", "mae", VALUE, r"^loss must be one of \('mse', 'softmax'\), got 'mae'$"),
    ("fit", "loss", {}, TYPE, r"^loss must be one of \('mse', 'softmax'\), got dict \{\}$"),
    ("fit", "optimizer", 0, TYPE, r"^optimizer must be an optimizer with a step\(params, grads\) method such as lstm_core\.Adam, or None, got 0$"),
    ("fit", "optimizer", "adam", TYPE, r"^optimizer must be .*, got 'adam'$"),
    ("fit", "epochs", 0, VALUE, r"^epochs must be a positive integer, got 0$"),
    ("fit", "epochs", 1.5, TYPE, r"^epochs must be a positive integer, got 1\.5$"),
    ("fit", "batch_size", -1, VALUE, r"^batch_size must be a positive integer, got -1$"),
    ("fit", "batch_size", "all", TYPE, r"^batch_size must be a positive integer, got 'all'$"),
    ("fit", "clip_norm", 0, VALUE, r"^clip_norm must be a finite number > 0, got 0$"),
    ("fit", "clip_norm", INF, VALUE, r"^clip_norm must be a finite number > 0, got inf$"),
    ("fit", "clip_norm", True, TYPE, r"^clip_norm must be a finite number > 0, got True$"),
    ("fit", "clip_norm", np.zeros(2), TYPE, r"^clip_norm must be a finite number > 0, got an array of shape \(2,\)"),
    ("fit", "rng", -3, VALUE, rf"^rng must be {RNG}, got -3$"),
    ("fit", "rng", "seed", TYPE, rf"^rng must be {RNG}, got 'seed'$"),
    ("fit", "log_every", -1, VALUE, r"^log_every must be a non-negative integer, got -1$"),
    ("fit", "log_every", 1.5, TYPE, r"^log_every must be a non-negative integer, got 1\.5$"),
    ("fit", "target_loss", 0, VALUE, r"^target_loss must be a finite number > 0, got 0$"),
    ("fit", "target_loss", NAN, VALUE, r"^target_loss must be a finite number > 0, got nan$"),
    ("fit", "target_loss", "low", TYPE, r"^target_loss must be a finite number > 0, got 'low'$"),
    ("fit", "log", None, TYPE, r"^log must be a function such as print, got None$"),
    ("fit", "log", "stdout", TYPE, r"^log must be a function such as print, got 'stdout'$"),
    # --- optimizers and clipping
    ("global_norm", "grads", [1, 2], TYPE, r"^grads must be a dict of arrays, got list \[1, 2\]$"),
    ("global_norm", "grads", {"w": "abc"}, TYPE, rf"^grads\['w'\] must be {FLOATS}, got 'abc', dtype <U3$"),
    ("clip_grad_norm", "grads", None, TYPE, r"^grads must be a dict of arrays, got None$"),
    ("clip_grad_norm", "max_norm", 0, VALUE, r"^max_norm must be a finite number > 0, got 0$"),
    ("clip_grad_norm", "max_norm", INF, VALUE, r"^max_norm must be a finite number > 0, got inf$"),
    ("clip_grad_norm", "max_norm", NAN, VALUE, r"^max_norm must be a finite number > 0, got nan$"),
    ("clip_grad_norm", "max_norm", "1", TYPE, r"^max_norm must be a finite number > 0, got '1'$"),
    ("clip_grad_norm", "max_norm", True, TYPE, r"^max_norm must be a finite number > 0, got True$"),
    ("clip_grad_norm", "max_norm", np.ones(2), TYPE, r"^max_norm must be a finite number > 0, got an array of shape \(2,\)"),
    *[
        row
        for name in ("SGD", "Adam")
        for row in (
            (name, "lr", INF, VALUE, r"^lr must be a finite number > 0, got inf$"),
            (name, "lr", NAN, VALUE, r"^lr must be a finite number > 0, got nan$"),
            (name, "lr", 0, VALUE, r"^lr must be a finite number > 0, got 0$"),
            (name, "lr", -0.1, VALUE, r"^lr must be a finite number > 0, got -0\.1$"),
            (name, "lr", True, TYPE, r"^lr must be a finite number > 0, got True$"),
            (name, "lr", "abc", TYPE, r"^lr must be a finite number > 0, got 'abc'$"),
            (name, "lr", np.array(0.1), TYPE, r"^lr must be a finite number > 0, got an array of shape \(\)"),
        )
    ],
    ("SGD", "momentum", 1, VALUE, r"^momentum must be a number in \[0, 1\), got 1$"),
    ("SGD", "momentum", -0.5, VALUE, r"^momentum must be a number in \[0, 1\), got -0\.5$"),
    ("SGD", "momentum", None, TYPE, r"^momentum must be a number in \[0, 1\), got None$"),
    ("Adam", "beta1", 1.5, VALUE, r"^beta1 must be a number in \[0, 1\), got 1\.5$"),
    ("Adam", "beta1", "0.9", TYPE, r"^beta1 must be a number in \[0, 1\), got '0\.9'$"),
    ("Adam", "beta2", 1.0, VALUE, r"^beta2 must be a number in \[0, 1\), got 1\.0$"),
    ("Adam", "beta2", -INF, VALUE, r"^beta2 must be a number in \[0, 1\), got -inf$"),
    ("Adam", "eps", -1, VALUE, r"^eps must be a finite number > 0, got -1$"),
    ("Adam", "eps", 0.0, VALUE, r"^eps must be a finite number > 0, got 0\.0$"),
    ("Adam", "eps", "abc", TYPE, r"^eps must be a finite number > 0, got 'abc'$"),
    *[
        row
        for name in OPTIMIZER_STEPS
        for row in (
            (name, "params", None, TYPE, r"^params must be a dict of arrays, got None$"),
            (name, "params", Derived(lambda kw: lc.HAND_WORKED_PARAMS), VALUE, r"^params\['Wx'\] must be writeable \(it is updated in place\), got a read-only array; train a copy \(lstm_core\.copy_params\)$"),
            (name, "params", Derived(lambda kw: _with(kw["params"], b=np.zeros(16, int))), TYPE, r"^params\['b'\] must be a float32 or float64 array \(it is updated in place\), got an array of shape \(16,\) and dtype int64$"),
            (name, "grads", None, TYPE, r"^grads must be a dict of arrays, got None$"),
            (name, "grads", Derived(lambda kw: {**kw["grads"], "Wy": np.ones(1)}), VALUE, r"^grads has key 'Wy' that params lacks; params keys: \['Wx', 'Wh', 'b'\]$"),
            (name, "grads", Derived(lambda kw: {**kw["grads"], "b": np.ones(15)}), VALUE, r"^grads\['b'\] must have shape \(16,\), got \(15,\)$"),
            (name, "grads", Derived(lambda kw: {**kw["grads"], "b": np.full(16, NAN)}), VALUE, r"^grads\['b'\] contains NaN or infinity \(got nan at index \(0,\)\)"),
            (name, "grads", Derived(lambda kw: {**kw["grads"], "b": [1.0] * 16}), TYPE, r"^grads\['b'\] must be a NumPy array, got list \[1\.0, "),
        )
    ],
    # --- gradient checking
    ("numerical_gradient", "f", None, TYPE, r"^f must be a function, got None$"),
    ("numerical_gradient", "f", lambda v: None, TYPE, r"^f must return a number or an array of numbers \(or a tuple of them\), got None$"),
    ("numerical_gradient", "x", [1.0, 2.0], TYPE, r"^x must be a floating-point NumPy array \(it is perturbed in place\), got list \[1\.0, 2\.0\]$"),
    ("numerical_gradient", "x", np.arange(3), TYPE, r"^x must be a floating-point NumPy array .*, got an array of shape \(3,\) and dtype int64$"),
    ("numerical_gradient", "x", Derived(lambda kw: _readonly(3)), VALUE, r"^x must be writeable \(it is perturbed in place\), got a read-only one$"),
    ("numerical_gradient", "x", np.ones((3, 4))[:, :2], VALUE, r"^x must be contiguous so that it can be perturbed in place, got a view with strides \(32, 8\)$"),
    ("numerical_gradient", "df", np.ones(2), VALUE, r"^df must have the shape of f's output \(\), got \(2,\)$"),
    ("numerical_gradient", "df", "abc", TYPE, rf"^df must be {FLOATS}, got 'abc', dtype <U3$"),
    ("numerical_gradient", "df", NAN, VALUE, r"^df contains NaN or infinity \(got nan at index \(\)\)"),
    ("numerical_gradient", "df", (1.0, 2.0), VALUE, r"^df must hold one gradient per output of f \(one array\), got 2$"),
    ("numerical_gradient", "h", 0, VALUE, r"^h must be a finite number > 0, got 0$"),
    ("numerical_gradient", "h", NAN, VALUE, r"^h must be a finite number > 0, got nan$"),
    ("numerical_gradient", "h", "1e-5", TYPE, r"^h must be a finite number > 0, got '1e-5'$"),
    ("numerical_gradient", "order", 3, VALUE, r"^order must be 2 or 4, got 3$"),
    ("numerical_gradient", "order", 2.0, TYPE, r"^order must be 2 or 4, got 2\.0$"),
    ("numerical_gradient", "order", np.zeros(2), TYPE, r"^order must be 2 or 4, got an array of shape \(2,\)"),
    ("gradcheck", "f", "loss", TYPE, r"^f must be a function, got 'loss'$"),
    ("gradcheck", "inputs", [], TYPE, r"^inputs must be a dict of arrays, got list \[\]$"),
    ("gradcheck", "inputs", Derived(lambda kw: {"w": _readonly(3)}), VALUE, r"^inputs\['w'\] must be writeable \(it is perturbed in place\), got a read-only one$"),
    ("gradcheck", "inputs", {"w": [1.0, 2.0, 3.0]}, TYPE, r"^inputs\['w'\] must be a floating-point NumPy array .*, got list \[1\.0, 2\.0, 3\.0\]$"),
    ("gradcheck", "analytic", None, TYPE, r"^analytic must be a dict of arrays, got None$"),
    ("gradcheck", "analytic", {"v": np.zeros(3)}, VALUE, r"^analytic has key 'v' that inputs lacks; inputs keys: \['w'\]$"),
    ("gradcheck", "analytic", {"w": np.zeros(2)}, VALUE, r"^analytic\['w'\] must have the shape of inputs\['w'\] \(3,\), got \(2,\)$"),
    ("gradcheck", "df", np.ones(3), VALUE, r"^df must have the shape of f's output \(\), got \(3,\)$"),
    ("gradcheck", "h", -1e-5, VALUE, r"^h must be a finite number > 0, got -1e-05$"),
    ("gradcheck", "order", 1, VALUE, r"^order must be 2 or 4, got 1$"),
    ("rel_error", "a", "abc", TYPE, rf"^a must be {FLOATS}, got 'abc', dtype <U3$"),
    ("rel_error", "a", np.ones(2, complex), TYPE, rf"^a must be {FLOATS}, got dtype complex128$"),
    ("rel_error", "b", np.ones(3), VALUE, r"^b must have the same shape as a \(2,\), got \(3,\)$"),
    ("rel_error", "b", None, TYPE, rf"^b must be {FLOATS}, got None, dtype object$"),
    # --- data
    ("two_companies", "dtype", "float16", TYPE, r"^dtype must be float32 or float64, got float16$"),
    ("memory_task", "n", 0, VALUE, r"^n must be a positive integer, got 0$"),
    ("memory_task", "lag", -1, VALUE, r"^lag must be a non-negative integer, got -1$"),
    ("memory_task", "lag", 1.5, TYPE, r"^lag must be a non-negative integer, got 1\.5$"),
    ("memory_task", "rng", object, TYPE, rf"^rng must be {RNG}, got type <class 'object'>$"),
    ("memory_task", "length", 2, VALUE, r"^length must exceed lag \(2\), got 2$"),
    ("memory_task", "dtype", np.int32, TYPE, r"^dtype must be float32 or float64, got int32$"),
    ("adding_problem", "n", "3", TYPE, r"^n must be a positive integer, got '3'$"),
    ("adding_problem", "length", 1, VALUE, r"^length must be an integer >= 2, got 1$"),
    ("adding_problem", "rng", -1, VALUE, rf"^rng must be {RNG}, got -1$"),
    ("adding_problem", "dtype", complex, TYPE, r"^dtype must be float32 or float64, got complex128$"),
    ("noisy_sine", "n_steps", 0, VALUE, r"^n_steps must be a positive integer, got 0$"),
    ("noisy_sine", "period", 0, VALUE, r"^period must be a finite number > 0, got 0$"),
    ("noisy_sine", "noise", -0.1, VALUE, r"^noise must be a finite number >= 0, got -0\.1$"),
    ("noisy_sine", "noise", NAN, VALUE, r"^noise must be a finite number >= 0, got nan$"),
    ("noisy_sine", "rng", True, TYPE, rf"^rng must be {RNG}, got True$"),
    ("noisy_sine", "dtype", None, TYPE, r"^dtype must be float32 or float64, got None$"),
    ("windows", "series", np.ones((5, 1)), VALUE, r"^series must have shape \(S,\) with S > window=2, got \(5, 1\)$"),
    ("windows", "series", ["a", "b", "c"], TYPE, rf"^series must be {FLOATS}, got list \['a', 'b', 'c'\], dtype <U1$"),
    ("windows", "window", 0, VALUE, r"^window must be a positive integer, got 0$"),
    ("windows", "window", 5, VALUE, r"^series must have shape \(S,\) with S > window=5, got \(5,\)$"),
    ("python_docs_corpus", "held_out", 0.6, VALUE, r"^held_out must be a number in \(0, 0\.5\], got 0\.6$"),
    ("python_docs_corpus", "held_out", True, TYPE, r"^held_out must be a number in \(0, 0\.5\], got True$"),
    ("python_docs_corpus", "held_out", NAN, VALUE, r"^held_out must be a number in \(0, 0\.5\], got nan$"),
    ("encode_text", "text", 123, TYPE, r"^text must be a str, got 123$"),
    ("encode_text", "text", ["h", "i"], TYPE, r"^text must be a str, got list \['h', 'i'\]$"),
    ("encode_text", "vocab", ["h"], TYPE, r"^vocab must be a str or None, got list \['h'\]$"),
    ("encode_text", "vocab", "hl", VALUE, r"^text must use only the characters of vocab, got \['e', 'o'\]$"),
    ("one_hot", "ids", np.array([0.5]), TYPE, r"^ids must be integers in \[0, 3\), got dtype float64$"),
    ("one_hot", "ids", [0, 3], VALUE, r"^ids must be integers in \[0, 3\), got values in \[0, 3\]$"),
    ("one_hot", "size", 0, VALUE, r"^size must be a positive integer, got 0$"),
    ("one_hot", "size", 1.5, TYPE, r"^size must be a positive integer, got 1\.5$"),
    ("one_hot", "dtype", "int8", TYPE, r"^dtype must be float32 or float64, got int8$"),
    ("char_batches", "ids", np.array([[0, 1], [2, 1]]), VALUE, r"^ids must be a 1-D array of character ids, got shape \(2, 2\)$"),
    ("char_batches", "ids", "hello", TYPE, r"^ids must be integer character ids, got dtype <U5$"),
    ("char_batches", "ids", np.array([0, 1, 2]), VALUE, r"^ids must hold more than seq_len=3 ids, got 3$"),
    ("char_batches", "seq_len", 0, VALUE, r"^seq_len must be a positive integer, got 0$"),
    ("char_batches", "vocab_size", 2, VALUE, r"^ids must be integers in \[0, 2\), got values in \[0, 2\]$"),
    ("char_batches", "vocab_size", None, TYPE, r"^vocab_size must be a positive integer, got None$"),
    ("char_batches", "dtype", np.float16, TYPE, r"^dtype must be float32 or float64, got float16$"),
    ("stock_prices", "tickers", "IBM", VALUE, r"^tickers must be a non-empty sequence drawn from \[.*\], got 'IBM'$"),
    ("stock_prices", "tickers", ["IBM", "TSLA"], VALUE, r"^tickers must be a non-empty sequence drawn from \[.*\], got list \['IBM', 'TSLA'\]$"),
    ("stock_prices", "tickers", np.zeros((2, 2)), VALUE, r"^tickers must be a non-empty sequence drawn from \[.*\], got an array of shape \(2, 2\) and dtype float64$"),
    ("goog_daily", "field", "price", VALUE, r"^field must be one of \('open', 'high', 'low', 'close', 'volume', 'adj_close'\), got 'price'$"),
    ("goog_daily", "field", np.zeros(2), TYPE, r"^field must be one of .*, got an array of shape \(2,\)"),
    ("log_returns", "prices", "abc", TYPE, rf"^prices must be {FLOATS}, got 'abc', dtype <U3$"),
    ("log_returns", "prices", [1.0], VALUE, r"^prices must have at least 2 values along the last axis, got \(1,\)$"),
    ("log_returns", "prices", [1.0, 0.0], VALUE, r"^prices must be positive and finite \(NaN for a missing price\), got 0\.0 at index \(1,\)$"),
    ("log_returns", "prices", [[1.0, INF]], VALUE, r"^prices must be positive and finite .*, got inf at index \(0, 1\)$"),
    ("chronological_split", "n", 0, VALUE, r"^n must be a positive integer, got 0$"),
    ("chronological_split", "n", 3, VALUE, r"^n=3 with val_fraction=0\.15 and test_fraction=0\.15 leaves a part empty$"),
    ("chronological_split", "val_fraction", 0, VALUE, r"^val_fraction must be a number in \(0, 1\), got 0$"),
    ("chronological_split", "val_fraction", "0.1", TYPE, r"^val_fraction must be a number in \(0, 1\), got '0\.1'$"),
    ("chronological_split", "test_fraction", 1.2, VALUE, r"^test_fraction must be a number in \(0, 1\), got 1\.2$"),
    ("series_span", "part", (0, 70), TYPE, r"^part must be a slice\(start, stop\) of window indices with 0 <= start < stop and step 1, got tuple \(0, 70\)$"),
    ("series_span", "part", slice(0, 70, 2), VALUE, r"^part must be a slice\(start, stop\) of window indices with 0 <= start < stop and step 1, got slice\(0, 70, 2\)$"),
    ("series_span", "part", slice(70, 70), VALUE, r"^part must be a slice\(start, stop\) of window indices with 0 <= start < stop and step 1, got slice\(70, 70, None\)$"),
    ("series_span", "part", slice(-5, 70), VALUE, r"^part must be a slice\(start, stop\) of window indices with 0 <= start < stop and step 1, got slice\(-5, 70, None\)$"),
    ("series_span", "part", slice(0, None), VALUE, r"^part must be a slice\(start, stop\) of window indices with 0 <= start < stop and step 1, got slice\(0, None, None\)$"),
    ("series_span", "part", slice(0, 70.0), VALUE, r"^part must be a slice\(start, stop\) of window indices with 0 <= start < stop and step 1, got slice\(0, 70\.0, None\)$"),
    ("series_span", "window", 0, VALUE, r"^window must be a positive integer, got 0$"),
    ("series_span", "window", 5.0, TYPE, r"^window must be a positive integer, got 5\.0$"),
    ("set_workspace_limit", "nbytes", -1, VALUE, r"^nbytes must be a non-negative integer, got -1$"),
    ("set_workspace_limit", "nbytes", 1.5, TYPE, r"^nbytes must be a non-negative integer, got 1\.5$"),
    ("set_workspace_limit", "nbytes", True, TYPE, r"^nbytes must be a non-negative integer, got True$"),
    ("set_workspace_limit", "nbytes", "64M", TYPE, r"^nbytes must be a non-negative integer, got '64M'$"),
    # --- added with the second review: ragged lists, empty sizes, overflow, hand-built caches
    *[(name, "params", Derived(lambda kw: _hidden_size_0()), VALUE, HIDDEN_0) for name in (*GATE_FUNCTIONS, "gate_preactivation", *STEPS, *SEQUENCES, "to_torch", "gate_params", "cell_of")],
    ("rnn_forward", "params", Derived(lambda kw: _hidden_size_0()), VALUE, HIDDEN_0),
    ("rnn_step_forward", "params", Derived(lambda kw: _hidden_size_0()), VALUE, HIDDEN_0),
    ("model_forward", "params", Derived(lambda kw: _hidden_size_0()), VALUE, HIDDEN_0),
    ("lstm_forward", "params", Derived(lambda kw: {"Wx": np.zeros((0, 16)), "Wh": np.zeros((4, 16)), "b": np.zeros(16)}), VALUE, r"^params\['Wx'\] must have an input size D of at least 1, got shape \(0, 16\) \(D = 0\)$"),
    ("model_forward", "params", Derived(lambda kw: _with(kw["params"], Wy=np.zeros((4, 0)), by=np.zeros(0))), VALUE, r"^params\['Wy'\] must have a read-out size O of at least 1, got shape \(4, 0\) \(O = 0\)$"),
    ("params_from_gates", "gates", {g: (np.zeros((3, 0)), np.zeros((0, 0)), np.zeros(0)) for g in lc.GATES}, VALUE, r"^gates\['i'\]\[1\] must have a hidden size H of at least 1, got shape \(0, 0\) \(H = 0\)$"),
    ("from_torch", "source", {"weight_ih_l0": np.zeros((0, 3)), "weight_hh_l0": np.zeros((0, 0)), "bias_ih_l0": np.zeros(0), "bias_hh_l0": np.zeros(0)}, VALUE, r"^source\['weight_hh_l0'\] must have a hidden size H of at least 1, got shape \(0, 0\) \(H = 0\)$"),
    ("from_torch", "source", Derived(lambda kw: {**kw["source"], "weight_ih_l0": np.full((16, 3), NAN)}), VALUE, r"^source\['weight_ih_l0'\] contains NaN or infinity \(got nan at index \(0, 0\)\); it must be finite$"),
    ("from_torch", "source", Derived(lambda kw: {**kw["source"], "bias_ih_l0": np.full(16, 1e308), "bias_hh_l0": np.full(16, 1e308)}), VALUE, r"^source\['bias_ih_l0'\]" + OVERFLOW.format(r"bias_ih_l0 \+ bias_hh_l0", r"1e\+308")),
    ("init_params", "forget_bias", 10**400, VALUE, r"^forget_bias must be a finite number, got 1000000.*0000$"),
    *[(name, "x", np.full((2, 3), 1.7e308), VALUE, r"^x" + OVERFLOW.format("the pre-activations", r"1\.7e\+308")) for name in (*GATE_FUNCTIONS, "gate_preactivation", *STEPS)],
    *[(name, "x", np.full((2, 5, 3), 1.7e308), VALUE, r"^x" + OVERFLOW.format("the pre-activations", r"1\.7e\+308")) for name in (*SEQUENCES, "model_forward")],
    # h0 = None is zeros, but from the second step on |h| can be 1: a Wh of column sums near
    # float64's largest value is refused up front (whatever |h| the loop would have reached)
    *[(name, "params", Derived(lambda kw: _with(kw["params"], Wh=_wh_row_of(1.79e308))), VALUE, r"^params" + OVERFLOW.format("the pre-activations", r"1\.79e\+308")) for name in SEQUENCES],
    *[(name, "x", np.ones((0, 3)), VALUE, r"^x must have at least one row \(N >= 1\), got \(0, 3\)$") for name in ("lstm_step_forward", "reference.lstm_step_forward", "rnn_step_forward")],
    ("cell_update", "c_prev", True, TYPE, r"^c_prev must be a float32 or float64 array \(integers are converted, bools are not\), got True, dtype bool$"),
    ("cell_update", "f", np.ones((2, 4), bool), TYPE, r"^f must be a float32 or float64 array \(integers are converted, bools are not\), got dtype bool$"),
    ("hidden_update", "o", False, TYPE, r"^o must be .*bools are not\), got False, dtype bool$"),
    ("lstm_step_backward", "cache", lc.StepCache(None), TYPE, r"^cache\.sequence must be the SequenceCache from lstm_forward, got None$"),
    ("lstm_step_backward", "cache", Derived(lambda kw: lc.StepCache(lc.lstm_forward(np.ones((2, 5, 3)), _p())[1])), VALUE, r"^cache must be the StepCache from lstm_step_forward, got one of 5 steps$"),
    ("lstm_backward", "cache", Derived(lambda kw: kw["cache"]._replace(params={})), VALUE, r"^cache\.params is missing \['Wx', 'Wh', 'b'\]; expected keys \['Wx', 'Wh', 'b'\], got keys \[\]$"),
    ("lstm_backward", "cache", Derived(lambda kw: kw["cache"]._replace(gates=np.zeros((5, 16, 3)))), VALUE, r"^cache must be the SequenceCache from lstm_forward, got one whose gates is an array of shape \(5, 16, 3\) and dtype float64; its params \(D = 3, H = 4, float64\) and T = 5, N = 2 need shape \(5, 16, 2\)$"),
    ("lstm_backward", "dhs", np.full((2, 5, 4), 1e308), VALUE, r"^dhs" + OVERFLOW.format("the gradients", r"1e\+308")),
    # a hand-built cache of no sequences, and one whose tanh_c is 2-D (T, H, N cannot be read from it)
    ("lstm_backward", "cache", Derived(lambda kw: kw["cache"]._replace(**{f: getattr(kw["cache"], f)[..., :0] for f in ("z", "c", "gates", "tanh_c")})), VALUE, r"^cache must be the SequenceCache from lstm_forward, got one of T = 5 steps and N = 0 sequences$"),
    ("lstm_backward", "cache", Derived(lambda kw: kw["cache"]._replace(tanh_c=np.zeros((5, 4)))), VALUE, r"^cache must be the SequenceCache from lstm_forward, got one whose tanh_c is an array of shape \(5, 4\) and dtype float64$"),
    ("reference.lstm_backward", "dhs", np.full((2, 5, 4), 1e308), VALUE, r"^dhs" + OVERFLOW.format("the gradients", r"1e\+308")),
    ("reference.lstm_backward", "cache", Derived(lambda kw: _ref_caches_of_two_batches()), VALUE, r"^cache\[2\] must be a step of the same batch and shapes as cache\[0\] \(N, D, H\) = \(2, 3, 4\), float64, got \(3, 3, 4\), float64$"),
    ("reference.lstm_backward", "cache", Derived(lambda kw: _ref_caches_of_two_dtypes()), VALUE, r"^cache\[2\] must be a step of the same batch and shapes as cache\[0\] \(N, D, H\) = \(2, 3, 4\), float64, got \(2, 3, 4\), float32$"),
    ("reference.lstm_step_backward", "cache", Derived(lambda kw: {**kw["cache"], "params": None}), TYPE, r"^cache\['params'\] must be a dict with keys \('Wx', 'Wh', 'b'\), got None$"),
    ("reference.lstm_step_backward", "cache", Derived(lambda kw: {**kw["cache"], "i": np.ones((9, 9))}), VALUE, r"^cache\['i'\] must be a float64 array of shape \(N, H\) = \(2, 4\) like its params' and x's, got an array of shape \(9, 9\) and dtype float64$"),
    ("reference.lstm_step_backward", "cache", Derived(lambda kw: {**kw["cache"], "c": "junk"}), VALUE, r"^cache\['c'\] must be a float64 array of shape \(N, H\) = \(2, 4\) .*, got 'junk'$"),
    ("rnn_step_backward", "cache", Derived(lambda kw: kw["cache"]._replace(h=np.ones((3, 4)))), VALUE, r"^cache must be the RNNStepCache from rnn_step_forward, got one whose h is an array of shape \(3, 4\) and dtype float64; its params \(D = 3, H = 4, float64\) need a non-empty \(N, H\)$"),
    ("rnn_backward", "cache", Derived(lambda kw: kw["cache"]._replace(params={})), VALUE, r"^cache\.params is missing \['Wx', 'Wh', 'b'\]"),
    ("rnn_backward", "dhs", np.full((2, 5, 4), 1e308), VALUE, r"^dhs" + OVERFLOW.format("the gradients", r"1e\+308")),
    ("model_backward", "dy", np.full((2, 1), 1e308), VALUE, r"^dy" + OVERFLOW.format("the gradients", r"1e\+308")),
    ("model_backward", "cache", Derived(lambda kw: kw["cache"]._replace(hs=np.ones((2, 4)))), VALUE, r"^cache must be the ModelCache from model_forward, got one whose hs is an array of shape \(2, 4\)"),
    ("model_loss", "y", np.full((2, 1), 1e200), VALUE, r"^y" + OVERFLOW.format("the mean squared error", r"1e\+200")),
    ("mse_loss", "pred", np.array([[1e200], [0.0]]), VALUE, r"^pred" + OVERFLOW.format("the mean squared error", r"1e\+200")),
    ("softmax_cross_entropy", "targets", [[0], [1, 2]], TYPE, r"^targets must be integer class indices, got list \[\[0\], \[1, 2\]\]" + RAGGED),
    ("softmax_cross_entropy", "logits", np.array([[-INF, 0.0, 0.0], [0.0, 0.0, 0.0]]), VALUE, r"^targets must pick classes of non-zero probability, got class 0 at index \(0,\), whose logit is -inf \(an infinite loss\)$"),
    ("softmax_cross_entropy", "logits", np.array([[-1.7e308, 1.7e308, 0.0], [0.0, -1.7e308, 1.7e308]]), VALUE, r"^logits" + OVERFLOW.format("the cross-entropy", r"1\.7e\+308")),
    ("one_hot", "ids", [[0], [1, 0]], TYPE, r"^ids must be integers in \[0, 3\), got list \[\[0\], \[1, 0\]\]" + RAGGED),
    ("one_hot", "ids", [True, False], TYPE, r"^ids must be integers in \[0, 3\), got dtype bool$"),
    ("char_batches", "ids", [[1], [1, 2]], TYPE, r"^ids must be integer character ids, got list \[\[1\], \[1, 2\]\]" + RAGGED),
    ("encode_text", "vocab", "ehhlo", VALUE, r"^vocab must be a str of distinct characters, got 'ehhlo', which repeats \['h'\]$"),
    ("noisy_sine", "period", 1e-310, VALUE, r"^period must be large enough for the phase 4 pi t / period to stay finite up to t = n_steps - 1 = 9, got 1e-310$"),
    ("fit", "y", [[0.0], [1.0, 2.0]], TYPE, r"^y must be one target per sequence of x \(2\), got list \[\[0\.0\], \[1\.0, 2\.0\]\]" + RAGGED),
    ("fit", "optimizer", lc.Adam, TYPE, r"^optimizer must be an optimizer .*, got the class Adam; make one, e\.g\. Adam\(\)$"),
    ("global_norm", "grads", {"w": np.array([1.0, INF])}, VALUE, r"^grads\['w'\] contains NaN or infinity \(got inf at index \(1,\)\); it must be finite$"),
    ("global_norm", "grads", {"w": np.array([1.5e308, 1.5e308])}, VALUE, r"^grads" + OVERFLOW.format("their global norm", r"1\.5e\+308")),
    ("clip_grad_norm", "grads", {"w": np.array([NAN])}, VALUE, r"^grads\['w'\] contains NaN or infinity \(got nan at index \(0,\)\); it must be finite$"),
    ("Adam.step", "grads", Derived(lambda kw: {**kw["grads"], "Wx": np.full((3, 16), 1e200)}), VALUE, r"^grads must be small enough for their squares \(the second moment\) to stay within float64 .*, got values up to 1e\+200, which overflow it$"),
    ("numerical_gradient", "x", np.ones(3, np.float16), TYPE, r"^x must be a float32 or float64 array \(float16 has too few digits for finite differences\), got dtype float16$"),
    ("numerical_gradient", "x", np.ones(0), VALUE, r"^x must have at least one entry to perturb, got shape \(0,\)$"),
    ("numerical_gradient", "h", 1e-320, VALUE, r"^h must be large enough to change every entry of x \(spacing 2\.22e-16 at its largest entry 1 in float64\), got 1e-320$"),
    ("gradcheck", "h", 1e-320, VALUE, r"^h must be large enough to change every entry of inputs\['w'\] .*, got 1e-320$"),
    ("gradcheck", "analytic", {"w": np.array([0.0, NAN, 0.0])}, VALUE, r"^analytic\['w'\] contains NaN or infinity \(got nan at index \(1,\)\)"),
    ("gradcheck", "inputs", {"w": np.ones(3, np.float16)}, TYPE, r"^inputs\['w'\] must be a float32 or float64 array \(float16 has too few digits"),
    ("gradcheck", "order", True, TYPE, r"^order must be 2 or 4, got True$"),
    ("rel_error", "a", [INF, 1.0], VALUE, r"^a contains NaN or infinity \(got inf at index \(0,\)\); it must be finite$"),
    ("rel_error", "b", np.array([1.0, NAN]), VALUE, r"^b contains NaN or infinity \(got nan at index \(1,\)\); it must be finite$"),
    # --- added with the third review: empty batches, NaN where only finite numbers make sense
    *[(name, "x", np.ones((0, 3)), VALUE, r"^x must have at least one row \(N >= 1\), got \(0, 3\)$") for name in (*GATE_FUNCTIONS, "gate_preactivation", "lstm_step_trace")],
    *[
        row
        for name in OPTIMIZER_STEPS
        for row in (
            (name, "params", Derived(lambda kw: _with(kw["params"], b=np.full(16, NAN))), VALUE, r"^params\['b'\] contains NaN or infinity \(got nan at index \(0,\)\); it must be finite$"),
            (name, "params", Derived(lambda kw: _with(kw["params"], Wh=np.full((4, 16), -INF))), VALUE, r"^params\['Wh'\] contains NaN or infinity \(got -inf at index \(0, 0\)\); it must be finite$"),
        )
    ],
    ("numerical_gradient", "f", lambda v: NAN * _square(v), VALUE, r"^f must return finite numbers, got nan for x\[0\] \+ h = 1\.00001$"),
    ("numerical_gradient", "f", lambda v: INF if v[0] < 1.0 else 0.0, VALUE, r"^f must return finite numbers, got inf for x\[0\] - h = 0\.99999$"),
    ("numerical_gradient", "f", lambda v: 1e308 * np.sign(v[0] - 1.0), VALUE, r"^f must return numbers small enough for their finite differences to stay within float64, got a difference quotient of inf for x\[0\]$"),
    ("numerical_gradient", "x", np.array([1.0, NAN, 1.0]), VALUE, r"^x contains NaN or infinity \(got nan at index \(1,\)\); it must be finite$"),
    ("gradcheck", "f", lambda: NAN, VALUE, r"^f must return finite numbers, got nan for inputs\['w'\]\[0\] \+ h = 1\.00001$"),
    ("gradcheck", "inputs", {"w": np.array([1.0, INF, 1.0])}, VALUE, r"^inputs\['w'\] contains NaN or infinity \(got inf at index \(1,\)\); it must be finite$"),
    # --- added with the fourth review: ndarray subclasses, bools, sizes beyond memory, ids
    # beyond the vocabulary, an empty gradient check, and grads_from_torch
    ("lstm_forward", "x", Derived(lambda kw: _masked(kw["x"])), TYPE, rf"^x must be {FLOATS}, got a MaskedArray of shape \(2, 5, 3\) and dtype float64" + MASKED),
    ("sigmoid", "x", Derived(lambda kw: _masked([1.0, NAN])), TYPE, rf"^x must be {FLOATS}, got a MaskedArray of shape \(2,\) and dtype float64" + MASKED),
    ("mse_loss", "target", Derived(lambda kw: _masked(kw["target"])), TYPE, rf"^target must be {FLOATS}, got a MaskedArray of shape \(2, 1\) and dtype float64" + MASKED),
    ("copy_params", "params", Derived(lambda kw: {**kw["params"], "Wx": _masked(kw["params"]["Wx"])}), TYPE, rf"^params\['Wx'\] must be {FLOATS}, got a MaskedArray of shape \(3, 16\) and dtype float64" + MASKED),
    *[(name, "params", Derived(lambda kw: _with(kw["params"], Wx=_matrix(kw["params"]["Wx"]))), TYPE, r"^params\['Wx'\]" + SUBCLASS + r"\(3, 16\) and dtype float64$") for name in (*SEQUENCES, "lstm_step_forward", "reference.lstm_step_forward", "forget_gate")],
    ("model_forward", "params", Derived(lambda kw: _with(kw["params"], Wy=_matrix(kw["params"]["Wy"]))), TYPE, r"^params\['Wy'\] must be a float64 array like the layer's, got a matrix of shape \(4, 1\) and dtype float64$"),
    *[(name, "grads", Derived(lambda kw: {**kw["grads"], "Wh": _matrix(kw["grads"]["Wh"])}), TYPE, r"^grads\['Wh'\]" + SUBCLASS + r"\(4, 16\) and dtype float64$") for name in OPTIMIZER_STEPS],
    *[(name, "params", Derived(lambda kw: {**kw["params"], "b": _masked(kw["params"]["b"])}), TYPE, r"^params\['b'\] must be a float32 or float64 array \(it is updated in place\), got a MaskedArray of shape \(16,\) and dtype float64$") for name in OPTIMIZER_STEPS],
    ("numerical_gradient", "x", Derived(lambda kw: _matrix(kw["x"])), TYPE, r"^x must be a floating-point NumPy array \(it is perturbed in place\) \(not a subclass: pass np\.asarray\(value\)\), got a matrix of shape \(1, 3\) and dtype float64$"),
    ("gradcheck", "inputs", Derived(lambda kw: {"w": _masked(kw["inputs"]["w"])}), TYPE, r"^inputs\['w'\] must be a floating-point NumPy array \(it is perturbed in place\) \(not a subclass: .*\), got a MaskedArray of shape \(3,\)"),
    *[(name, "x", np.array([True, False]), TYPE, r"^x" + BOOLS + r"dtype bool$") for name in ACTIVATIONS],
    ("softmax", "logits", [True, False], TYPE, r"^logits" + BOOLS + r"list \[True, False\], dtype bool$"),
    ("softmax_cross_entropy", "logits", np.ones((2, 3), bool), TYPE, r"^logits" + BOOLS + r"dtype bool$"),
    ("mse_loss", "pred", np.zeros((2, 1), bool), TYPE, r"^pred" + BOOLS + r"dtype bool$"),
    ("lstm_forward", "x", np.ones((2, 5, 3), bool), TYPE, r"^x" + BOOLS + r"dtype bool$"),
    ("lstm_backward", "dhs", np.ones((2, 5, 4), bool), TYPE, r"^dhs" + BOOLS + r"dtype bool$"),
    ("global_norm", "grads", {"w": np.ones(3, bool)}, TYPE, r"^grads\['w'\]" + BOOLS + r"dtype bool$"),
    ("clip_grad_norm", "grads", {"w": np.ones(3, bool)}, TYPE, r"^grads\['w'\]" + BOOLS + r"dtype bool$"),
    ("SGD.step", "grads", Derived(lambda kw: {**kw["grads"], "b": np.ones(16, bool)}), TYPE, r"^grads\['b'\]" + BOOLS + r"dtype bool$"),
    ("windows", "series", np.array([True, False, True, False, True]), TYPE, r"^series" + BOOLS + r"dtype bool$"),
    ("rel_error", "a", [True, False], TYPE, r"^a" + BOOLS + r"list \[True, False\], dtype bool$"),
    ("from_torch", "source", Derived(lambda kw: {**kw["source"], "bias_hh_l0": np.zeros(16, bool)}), TYPE, r"^source\['bias_hh_l0'\]" + BOOLS + r"dtype bool$"),
    ("char_batches", "ids", np.array([0, 1, 2, 1, 0, 1, 5]), VALUE, r"^ids must be integers in \[0, 3\), got values in \[0, 5\]$"),
    ("init_params", "hidden_size", BIG, VALUE, r"^input_size and hidden_size" + MEMORY.format("the parameters", r"input_size=3 and hidden_size=4611686018427387904", r"6\.81e\+38")),
    ("init_params", "hidden_size", 10**30, VALUE, r"^input_size and hidden_size" + MEMORY.format("the parameters", r"input_size=3 and hidden_size=10{30}", r"3\.2e\+61")),
    ("init_params", "input_size", 2**52, VALUE, r"^input_size and hidden_size" + MEMORY.format("the parameters", r"input_size=4503599627370496 and hidden_size=4", r"5\.76e\+17")),
    ("init_rnn_params", "hidden_size", BIG, VALUE, r"^input_size and hidden_size" + MEMORY.format("the parameters", r"input_size=3 and hidden_size=4611686018427387904", r"1\.7e\+38")),
    ("init_rnn_params", "hidden_size", 10**400, VALUE, r"^input_size and hidden_size" + MEMORY.format("the parameters", r"input_size=3 and hidden_size=10{17}\.\.\.0{19}", r"about 1e\+800")),
    ("init_model", "hidden_size", 10**30, VALUE, r"^input_size and hidden_size" + MEMORY.format("the parameters", r"input_size=3 and hidden_size=10{30}", r"3\.2e\+61")),
    ("init_model", "output_size", BIG, VALUE, r"^hidden_size and output_size" + MEMORY.format("the read-out", r"hidden_size=4 and output_size=4611686018427387904", r"1\.84e\+20")),
    ("memory_task", "n", BIG, VALUE, r"^n and lag" + MEMORY.format("the sequences", r"n=4611686018427387904 and lag=2", r"2\.58e\+20")),
    ("memory_task", "lag", BIG, VALUE, r"^n and lag" + MEMORY.format("the sequences", r"n=3 and lag=4611686018427387904", r"2\.21e\+20")),
    ("memory_task", "length", BIG, VALUE, r"^n and length" + MEMORY.format("the sequences", r"n=3 and length=4611686018427387904", r"2\.21e\+20")),
    ("adding_problem", "length", BIG, VALUE, r"^n and length" + MEMORY.format("the sequences", r"n=3 and length=4611686018427387904", r"2\.21e\+20")),
    ("noisy_sine", "n_steps", BIG, VALUE, r"^n_steps" + MEMORY.format("the series", r"n_steps=4611686018427387904", r"3\.69e\+19")),
    ("one_hot", "size", BIG, VALUE, r"^ids and size" + MEMORY.format("the one-hot rows", r"ids of shape \(2,\) and size=4611686018427387904", r"7\.38e\+19")),
    ("char_batches", "vocab_size", BIG, VALUE, r"^ids and vocab_size" + MEMORY.format("the one-hot rows", r"ids of shape \(7,\) and vocab_size=4611686018427387904", r"2\.21e\+20")),
    ("windows", "series", Derived(lambda kw: np.broadcast_to(np.float64(0), (2**58,))), VALUE, r"^series and window" + MEMORY.format("the windows", r"series of shape \(288230376151711744,\) and window=2", r"4\.61e\+18")),
    ("gradcheck", "analytic", {}, VALUE, r"^analytic must hold at least one gradient to check \(a key of inputs: \['w'\]\), got \{\}$"),
    ("grads_from_torch", "source", None, TYPE, r"^source must be an nn\.LSTM or nn\.LSTMCell module or a dict of its gradients, got NoneType$"),
    ("grads_from_torch", "source", _fake("GRU"), TYPE, r"^source must be an nn\.LSTM or nn\.LSTMCell module or a dict of its gradients, got GRU$"),
    ("grads_from_torch", "source", Derived(lambda kw: _module_without_grads()), VALUE, r"^source\['weight_ih_l0'\] must have a gradient, got none \(its \.grad is None\): call backward\(\) on a loss first$"),
    ("grads_from_torch", "source", Derived(lambda kw: {**kw["source"], "bias_hh_l0": None}), TYPE, rf"^source\['bias_hh_l0'\] must be {FLOATS}, got None, dtype object$"),
    ("grads_from_torch", "source", Derived(lambda kw: {**kw["source"], "weight_hh_l0": np.ones((16, 5))}), VALUE, r"^source\['weight_hh_l0'\] must have shape \(4H, H\) = \(20, 5\), got \(16, 5\)$"),
    ("grads_from_torch", "source", Derived(lambda kw: {**kw["source"], "bias_ih_l0": np.full(16, -1.7e308), "bias_hh_l0": np.full(16, 1.7e308)}), VALUE, r"^source\['bias_ih_l0'\]" + OVERFLOW.format("the midpoint of bias_ih_l0 and bias_hh_l0", r"1\.7e\+308")),
    ("grads_from_torch", "suffix", 1, TYPE, r"^suffix must be a str such as '_l0' or '', or None, got 1$"),
    ("grads_from_torch", "suffix", "", VALUE, r"^source must hold \['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'\] \(suffix ''\), but its state_dict has no 'weight_ih'"),
]
# fmt: on


def _wx_bound_1_2_max():
    """float32 Wx (3, 16) whose column sums of |Wx| are 1.2 times float32's largest value."""
    big = np.float32(0.6 * np.finfo(np.float32).max)
    Wx = np.zeros((3, 16), np.float32)
    Wx[0], Wx[1] = big, -big
    return Wx


def _p32():
    return lc.init_params(3, 4, rng=0, dtype=np.float32)


def _model32():
    return lc.init_model("lstm", 3, 4, 1, rng=0, dtype=np.float32)


# Valid float32 arguments of the functions that cast float64 arrays to their parameters'
# float32: a finite float64 beyond float32's range must be refused by name, not turned into
# inf (after NumPy's "overflow encountered in cast" warning) and then called NaN or infinity.
VALID_FLOAT32 = {
    **{
        name: lambda: {
            "x": np.ones((2, 5, 3), np.float32),
            "params": _p32(),
            "h0": None,
            "c0": None,
        }
        for name in SEQUENCES
    },
    "lstm_step_forward": lambda: {
        "x": np.ones((2, 3), np.float32),
        "h_prev": None,
        "c_prev": None,
        "params": _p32(),
    },
    "lstm_backward": lambda: {
        "dhs": np.ones((2, 5, 4), np.float32),
        "cache": lc.lstm_forward(np.ones((2, 5, 3)), _p32())[1],
        "dh_last": None,
        "dc_last": None,
    },
    "reference.lstm_step_backward": lambda: {
        "dh": np.ones((2, 4), np.float32),
        "dc": np.zeros((2, 4), np.float32),
        "cache": reference.lstm_step_forward(np.ones((2, 3)), None, None, _p32())[2],
    },
    "mse_loss": lambda: {"pred": np.zeros((2, 1), np.float32), "target": np.zeros((2, 1))},
    "model_forward": lambda: {"x": np.ones((2, 5, 3)), "params": _model32(), "readout": "last"},
    "model_backward": lambda: {
        "dy": np.ones((2, 1)),
        "cache": lc.model_forward(np.ones((2, 5, 3)), _model32())[1],
    },
    "fit": lambda: {**VALID["fit"](), "params": _model32()},
    "params_from_gates": lambda: {
        "gates": {g: (1.0, 2.0, 0.5) for g in lc.GATES},
        "dtype": np.float32,
    },
}
RANGE = r" must lie within float32's range \(\+-3\.4e\+38\) to be converted to float32, got values up to 1e\+39$"
# fmt: off
FLOAT32_CASES = [
    *[(name, "x", np.full((2, 5, 3), 1e39), VALUE, r"^x" + RANGE) for name in SEQUENCES],
    *[(name, "h0", np.full((2, 4), -1e39), VALUE, r"^h0" + RANGE) for name in SEQUENCES],
    ("lstm_step_forward", "c_prev", np.full((2, 4), 1e39), VALUE, r"^c_prev" + RANGE),
    ("lstm_backward", "dhs", np.full((2, 5, 4), 1e39), VALUE, r"^dhs" + RANGE),
    ("lstm_backward", "dc_last", np.full((2, 4), 1e39), VALUE, r"^dc_last" + RANGE),
    ("reference.lstm_step_backward", "dh", np.full((2, 4), 1e39), VALUE, r"^dh" + RANGE),
    ("mse_loss", "target", np.array([[0.0], [1e39]]), VALUE, r"^target" + RANGE),
    ("model_forward", "x", np.full((2, 5, 3), 1e39), VALUE, r"^x" + RANGE),
    ("model_backward", "dy", np.full((2, 1), 1e39), VALUE, r"^dy" + RANGE),
    ("fit", "x", np.full((2, 5, 3), 1e39), VALUE, r"^x" + RANGE),
    ("fit", "y", np.array([[1e39], [0.0]]), VALUE, r"^y" + RANGE),
    ("params_from_gates", "gates", {g: (1e39, 2.0, 0.5) for g in lc.GATES}, VALUE, r"^gates\['i'\]\[0\]" + RANGE),
    # a bound on the pre-activations of 1.2 times float32's largest value is refused, although
    # these (+-0.6 max on ones: 0) would not overflow: the bound is what is checked
    *[(name, "params", Derived(lambda kw: _with(kw["params"], Wx=_wx_bound_1_2_max())), VALUE, r"^params must be small enough for the pre-activations to stay within float32 \(largest 3\.4e\+38\), got values up to 2\.04e\+38, which overflow it$") for name in SEQUENCES],
]
# fmt: on


@pytest.mark.parametrize("case", FLOAT32_CASES, ids=[case_id(c) for c in FLOAT32_CASES])
def test_float64_beyond_float32_is_refused_by_name(case):
    check_refused(case, _callable(case[0]), VALID_FLOAT32[case[0]]())


@pytest.mark.parametrize("target", sorted(VALID_FLOAT32))
def test_the_valid_float32_arguments_are_valid(target):
    _callable(target)(**VALID_FLOAT32[target]())


def _readonly(n):
    a = np.ones(n)
    a.flags.writeable = False
    return a


def _callable(target: str):
    """The callable a row names: ``SGD.step`` steps a fresh optimizer."""
    if target in OPTIMIZER_STEPS:
        cls = getattr(lc, target.split(".")[0])
        return lambda params, grads: cls().step(params, grads)
    if target.startswith("reference."):
        return getattr(reference, target.split(".", 1)[1])
    return getattr(lc, target)


def _public_object(target: str):
    """The public object (function, class or method) a row's name stands for."""
    obj = lc
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_bad_input_is_refused_by_name(case):
    check_refused(case, _callable(case[0]), VALID[case[0]]())


@pytest.mark.parametrize("target", sorted(VALID))
def test_the_valid_arguments_are_valid(target):
    """Each row changes one argument only: the others, as given here, are accepted."""
    _callable(target)(**VALID[target]())


def _public_callables() -> set[str]:
    """Every public callable: functions and classes of ``lstm_core.__all__``, the public
    methods of its classes, and the functions of ``lstm_core.reference.__all__``."""
    names = set()
    for name in lc.__all__:
        obj = getattr(lc, name)
        if isinstance(obj, types.ModuleType):
            names |= {f"{name}.{fn}" for fn in obj.__all__ if callable(getattr(obj, fn))}
        elif inspect.isclass(obj):
            names.add(name)
            if not issubclass(obj, (tuple, BaseException)):
                names |= {
                    f"{name}.{m}"
                    for m, v in vars(obj).items()
                    if callable(v) and not m.startswith("_")
                }
        elif callable(obj):
            names.add(name)
    return names


def _parameters(target: str) -> list[str]:
    obj = _public_object(target)
    signature = inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)
    return [p for p in signature.parameters if p != "self"]


def test_the_table_covers_every_argument_of_every_public_callable():
    public = _public_callables()
    covered = {case[0] for case in CASES}
    assert public - covered - set(EXEMPT) == set(), "public callables without a row"
    assert covered - public == set(), "rows for names that are not public callables"
    assert set(VALID) == covered
    missing = [
        f"{target}({arg})"
        for target in sorted(covered)
        for arg in _parameters(target)
        if not any(case[0] == target and case[1] == arg for case in CASES)
    ]
    assert missing == [], "arguments without a row"
    for target in covered:
        assert sorted(VALID[target]()) == sorted(_parameters(target)), target


def test_the_exemptions_still_hold():
    assert set(EXEMPT) <= _public_callables()
    assert _parameters("char_corpus") == []
    for name in ("SequenceCache", "StepCache"):
        assert issubclass(getattr(lc, name), tuple)
    with pytest.raises(TYPE, match=r"^cache must be the SequenceCache"):
        lc.lstm_backward(np.ones((1, 1, 4)), VALID["lstm_step_backward"]()["cache"])
    with pytest.raises(TYPE, match=r"^cache must be the StepCache"):
        lc.lstm_step_backward(np.ones((2, 4)), np.ones((2, 4)), VALID["lstm_backward"]()["cache"])


def test_a_wrong_type_is_caught_as_a_value_error_and_as_a_type_error():
    assert "ArgumentTypeError" in lc.__all__ and "ArgumentTypeError" in lc.__doc__
    for caught in (ValueError, TypeError):
        with pytest.raises(caught, match=r"^lr must be a finite number > 0, got 'fast'$"):
            lc.Adam(lr="fast")


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_a_refused_step_changes_neither_the_params_nor_the_optimizer(kind):
    optimizer = lc.SGD(momentum=0.9) if kind == "SGD" else lc.Adam()
    p = _p()
    good = {k: np.ones_like(v) for k, v in p.items()}
    optimizer.step(p, good)
    state = {k: snapshot(v) if isinstance(v, dict) else v for k, v in vars(optimizer).items()}
    before = lc.copy_params(p)
    bad = {**good, "b": np.where(np.arange(16) == 15, np.inf, 1.0)}  # the last key, last entry
    with pytest.raises(ValueError, match=r"^grads\['b'\] contains NaN or infinity"):
        optimizer.step(p, bad)
    for k in p:
        np.testing.assert_array_equal(p[k], before[k])
    for k, v in vars(optimizer).items():
        if isinstance(v, dict):
            assert same(state[k], v) and set(v) == set(state[k])
        else:
            assert v == state[k]
    other = lc.init_params(2, 4, rng=1)  # another model's shapes: refused, not broadcast
    with pytest.raises(ValueError, match=r"^params\['Wx'\] must have shape \(3, 16\), the shape"):
        optimizer.step(other, {k: np.ones_like(v) for k, v in other.items()})


def test_numerical_gradient_restores_x_even_when_f_fails():
    x = np.array([1.0, 2.0, 3.0])

    def f(v):
        if v[0] != 1.0:
            raise RuntimeError("f failed")
        return float(np.sum(v))

    with pytest.raises(RuntimeError, match="f failed"):
        lc.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_softmax_of_a_masked_logit_is_exact_and_silent():
    """-inf is a probability of exactly 0, with no floating-point warning (warnings are
    errors in this suite); +inf and NaN have no softmax and are refused (rows above)."""
    p = lc.softmax(np.array([[-np.inf, 0.0, np.log(3.0)], [0.0, -np.inf, 0.0]]))
    np.testing.assert_allclose(p, [[0.0, 0.25, 0.75], [0.5, 0.0, 0.5]], rtol=1e-15)
    assert p[0, 0] == 0.0 and p[1, 1] == 0.0
    loss, d = lc.softmax_cross_entropy(np.array([[-np.inf, 0.0]]), np.array([1]))
    assert loss == 0.0 and d[0, 0] == 0.0
