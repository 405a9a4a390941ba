"""lstm_core: the reference LSTM of the course, in NumPy.

Shapes everywhere: ``N`` batch, ``T`` time, ``D`` input features, ``H`` hidden units.
Parameters: ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}`` with the gates in
:data:`GATES` order. Float64 by default; float32 is kept end to end.

:mod:`lstm_core.reference` is the plain statement of the LSTM's forward and backward
passes; :func:`lstm_forward` and :func:`lstm_backward` are the fused versions, tested equal.

Arguments come in one order: the data a function acts on first, then ``params``, then
options. A sequence function takes ``(x, params, h0=None, c0=None)`` (:func:`lstm_forward`,
:func:`reference.lstm_forward`; :func:`rnn_forward` has no ``c0``), its initial states
optional. A step function takes the previous states as part of its data, before
``params``: ``(x, h_prev, c_prev, params)`` (:func:`lstm_step_forward`,
:func:`reference.lstm_step_forward`, :func:`lstm_step_trace`), ``(x, h_prev, params)``
(:func:`rnn_step_forward`, :func:`forget_gate` and the other gates;
:func:`gate_preactivation` adds ``gate`` after ``params``); the step forward functions
(not the trace or the gates) read a state of ``None`` as zeros.
A backward function takes the upstream gradients, then the cache, then optional extra
gradients: ``(dhs, cache, dh_last=None, dc_last=None)`` (:func:`lstm_backward`;
:func:`rnn_backward` has no ``dc_last``), ``(dh, dc, cache)`` for one LSTM step,
``(dh, cache)`` for one RNN step, ``(dy, cache)`` for :func:`model_backward`. The models
take ``(x, params, ...)`` or, with targets, ``(x, y, params, ...)`` (:func:`model_loss`,
:func:`fit`).

Bad input gets a clear error and loses nothing: every public function checks its arguments
before it computes or changes anything, and raises a ``ValueError`` whose message starts
with the argument's name and says what it got and what it expects. An argument of the
wrong type raises :class:`ArgumentTypeError`, which is both a ``ValueError`` and a
``TypeError``, so either ``except`` catches it.
"""

from . import reference
from ._checks import ArgumentTypeError
from ._workspace import set_limit as set_workspace_limit
from .activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from .cell import StepCache, lstm_step_backward, lstm_step_forward
from .data import (
    COMPANIES,
    adding_problem,
    char_batches,
    char_corpus,
    chronological_split,
    encode_text,
    goog_daily,
    log_returns,
    memory_task,
    noisy_sine,
    one_hot,
    python_docs_corpus,
    series_span,
    stock_prices,
    two_companies,
    windows,
)
from .gates import (
    candidate_memory,
    cell_update,
    forget_gate,
    gate_preactivation,
    hidden_update,
    input_gate,
    lstm_step_trace,
    output_gate,
)
from .gradcheck import gradcheck, numerical_gradient, rel_error
from .losses import mse_loss, softmax, softmax_cross_entropy
from .lstm import SequenceCache, lstm_backward, lstm_forward
from .model import cell_of, init_model, model_backward, model_forward, model_loss, sample_text
from .optim import SGD, Adam, clip_grad_norm, global_norm
from .params import (
    GATE_NAMES,
    GATES,
    HAND_WORKED_PARAMS,
    SIGMOID_GATES,
    TORCH_GATES,
    copy_params,
    from_torch,
    gate_params,
    gate_slice,
    grads_from_torch,
    init_params,
    params_from_gates,
    to_torch,
)
from .rnn import (
    init_rnn_params,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)
from .train import fit

__version__ = "0.1.0"

__all__ = [
    "COMPANIES",
    "GATES",
    "GATE_NAMES",
    "HAND_WORKED_PARAMS",
    "SGD",
    "SIGMOID_GATES",
    "TORCH_GATES",
    "Adam",
    "ArgumentTypeError",
    "SequenceCache",
    "StepCache",
    "adding_problem",
    "candidate_memory",
    "cell_of",
    "cell_update",
    "char_batches",
    "char_corpus",
    "chronological_split",
    "clip_grad_norm",
    "copy_params",
    "encode_text",
    "fit",
    "forget_gate",
    "from_torch",
    "gate_params",
    "gate_preactivation",
    "gate_slice",
    "global_norm",
    "goog_daily",
    "gradcheck",
    "grads_from_torch",
    "hidden_update",
    "init_model",
    "init_params",
    "init_rnn_params",
    "input_gate",
    "log_returns",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "lstm_step_trace",
    "memory_task",
    "model_backward",
    "model_forward",
    "model_loss",
    "mse_loss",
    "noisy_sine",
    "numerical_gradient",
    "one_hot",
    "output_gate",
    "params_from_gates",
    "python_docs_corpus",
    "reference",
    "rel_error",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sample_text",
    "series_span",
    "set_workspace_limit",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softmax_cross_entropy",
    "stock_prices",
    "tanh",
    "tanh_grad",
    "to_torch",
    "two_companies",
    "windows",
]
