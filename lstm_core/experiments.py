"""The experiments behind the later chapters, so that a chapter is prose plus a few calls.

Everything here is NumPy on top of the rest of :mod:`lstm_core`: how far back a gradient
reaches (chapters 1 and 9), the long-range memory task swept over the lag and the seed
(chapter 10), a step-by-step trace of an unrolled cell (chapter 8), a free-running forecast
(chapter 11) and a GRU step for comparison with the LSTM (chapter 12).

Import it as ``from lstm_core import experiments``; it is not re-exported by the package.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ._checks import (
    ArgumentTypeError,
    allocating,
    as_array,
    as_float_array,
    as_rng,
    check_array,
    check_dtype,
    check_finite,
    check_overflow,
    check_sequence,
    check_shape,
    check_size,
    check_state,
    check_step_input,
    describe,
    integer,
    plain_array,
    positive_int,
)
from .activations import sigmoid
from .data import memory_task
from .gates import lstm_step_trace
from .lstm import lstm_backward, lstm_forward
from .model import CELLS, check_model, init_model, model_forward
from .optim import Adam
from .params import lstm_sizes
from .rnn import rnn_backward, rnn_forward
from .train import fit


def _integers(values, name: str) -> list[int]:
    """``values`` as a list of ints if it is a non-empty sequence of non-negative integers."""
    expected = "a non-empty sequence of non-negative integers"
    if not isinstance(values, (list, tuple, range, np.ndarray)):
        raise ArgumentTypeError(f"{name} must be {expected}, got {describe(values)}")
    if len(values) == 0:
        raise ValueError(f"{name} must be {expected}, got {describe(values)}")
    arr = as_array(values, name, expected)
    if arr.dtype.kind not in "iu":  # bools and floats such as 2.5 too
        raise ArgumentTypeError(f"{name} must be {expected}, got {describe(values)}")
    if arr.ndim != 1 or arr.size == 0 or arr.min() < 0:
        raise ValueError(f"{name} must be {expected}, got {describe(values)}")
    return [int(v) for v in arr]


def _cells(cells) -> tuple:
    """``cells`` as a tuple if it is a non-empty sequence of names in :data:`CELLS`."""
    expected = f"a non-empty sequence of names from {CELLS}"
    if isinstance(cells, str) or not isinstance(cells, (list, tuple)):
        raise ArgumentTypeError(f"cells must be {expected}, got {describe(cells)}")
    if not cells or any(c not in CELLS for c in cells):
        raise ValueError(f"cells must be {expected}, got {describe(cells)}")
    return tuple(cells)


def input_gradient_norms(x, params, lags):
    """How strongly the loss at the last step reaches back to the first input, per lag.

    For every lag ``L`` the model runs over the first ``L + 1`` steps of ``x``; the loss is
    the sum of the hidden state at step ``L`` (an upstream gradient of ones), and the result
    is the norm of its gradient on the input at step 0, averaged over the batch.

    Parameters
    ----------
    x : array (N, T, D)
        Input sequences; every lag must be below ``T``.
    params : dict
        LSTM ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}`` or RNN
        ``{"Wx": (D, H), "Wh": (H, H), "b": (H,)}`` parameters (a read-out is ignored).
    lags : sequence of int
        Steps between the input and the loss (0: the same step).

    Returns
    -------
    array (len(lags),)
        Mean over the batch of ``|d loss_L / d x_0|``.

    Raises
    ------
    ValueError
        If ``params`` is not an LSTM's or an RNN's, ``x`` not a finite ``(N, T, D)``
        array, or ``lags`` not a non-empty sequence of integers in ``[0, T)``.
    """
    cell, D, _, _ = check_model(params)
    x = check_sequence(x, D, params["Wh"].dtype)
    lags = _integers(lags, "lags")
    if max(lags) >= x.shape[1]:
        raise ValueError(f"lags must lie in [0, T={x.shape[1]}), got {lags}")
    forward, backward = (
        (lstm_forward, lstm_backward) if cell == "lstm" else (rnn_forward, rnn_backward)
    )
    norms = np.empty(len(lags))
    for k, L in enumerate(lags):
        hs, cache = forward(x[:, : L + 1], params)
        dhs = np.zeros_like(hs)
        dhs[:, -1] = 1.0  # the loss is the sum of the last hidden state
        dx = backward(dhs, cache)[0]
        norms[k] = np.linalg.norm(dx[:, 0], axis=-1).mean()
    return norms


def unroll_trace(x, params, h0=None, c0=None) -> dict:
    """Run an LSTM one step at a time and keep every intermediate of every step.

    The readable, gate-by-gate twin of :func:`lstm_core.lstm_forward`, for tables and plots.

    Parameters
    ----------
    x : array (N, T, D)
    params : dict
        ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.
    h0, c0 : array (N, H), optional
        Starting memories; zeros if omitted.

    Returns
    -------
    dict of arrays (N, T, H)
        The keys of :func:`lstm_core.lstm_step_trace` (``f``, ``i``, ``g``, ``o``,
        ``c_kept``, ``c_added``, ``c``, ``tanh_c``, ``h``, the pre-activations ``a_*``), plus
        ``h_prev`` and ``c_prev``, the memories each step started from.

    Raises
    ------
    ValueError
        If ``params`` is not an LSTM's, ``x`` not a finite ``(N, T, D)`` array (``N``,
        ``T >= 1``), ``h0`` or ``c0`` not a finite ``(N, H)`` array, or a step overflows
        (as :func:`lstm_core.lstm_step_trace`).
    """
    D, H, dtype = lstm_sizes(params)
    x = check_sequence(x, D, dtype)
    N, T = x.shape[:2]
    h = check_state(h0, "h0", N, H, dtype)
    c = check_state(c0, "c0", N, H, dtype)
    steps = []
    for t in range(T):
        s = lstm_step_trace(x[:, t], h, c, params)
        s["h_prev"], s["c_prev"] = h, c
        steps.append(s)
        h, c = s["h"], s["c"]
    return {k: np.stack([s[k] for s in steps], axis=1) for k in steps[0]}


def memory_test_mse(
    cell: str,
    lag: int,
    *,
    hidden_size: int = 8,
    n_train: int = 512,
    n_test: int = 512,
    epochs: int = 40,
    batch_size: int = 64,
    lr: float = 0.01,
    clip_norm: float | None = 1.0,
    seed: int = 0,
):
    """Train a model on :func:`lstm_core.memory_task` and score it on fresh sequences.

    The model is ``cell`` with ``hidden_size`` units and a linear read-out of the last
    hidden state, trained with Adam. Predicting 0 always scores 1/3.

    Parameters
    ----------
    cell : {"lstm", "rnn"}
    lag : int
        Steps between the value to recall and the end of the sequence.
    seed : int
        Seeds the weights, the training data (``seed``) and the test data (``seed + 1``).

    Returns
    -------
    mse : float
        Mean squared error on ``n_test`` new sequences.
    history : dict
        From :func:`lstm_core.fit` (``loss`` per epoch, ``epochs``, ``seconds``).

    Raises
    ------
    ValueError
        Before any training, for an argument that is not as :func:`lstm_core.memory_task`,
        :func:`lstm_core.init_model`, :func:`lstm_core.fit` or :class:`lstm_core.Adam` need
        it (named as here), or a ``seed`` that is not a non-negative integer.
    """
    seed = integer(seed, "seed", 0)
    positive_int(n_train, "n_train")
    positive_int(n_test, "n_test")
    x, y = memory_task(n_train, lag, rng=seed)
    x_test, y_test = memory_task(n_test, lag, rng=seed + 1)
    params = init_model(cell, 2, hidden_size, 1, rng=seed)
    history = fit(
        x,
        y,
        params,
        optimizer=Adam(lr=lr),
        epochs=epochs,
        batch_size=batch_size,
        clip_norm=clip_norm,
        rng=seed,
    )
    pred, _ = model_forward(x_test, params)
    return float(np.mean((pred - y_test) ** 2)), history


def memory_sweep(lags, cells=("lstm", "rnn"), **kwargs) -> dict:
    """:func:`memory_test_mse` for every cell and lag.

    Parameters
    ----------
    lags : sequence of int
    cells : sequence of {"lstm", "rnn"}
    **kwargs
        Passed on to :func:`memory_test_mse` (epochs, hidden_size, seed, ...).

    Returns
    -------
    dict
        ``"lags"``: int array (L,); one float array (L,) of test errors per cell; and
        ``"seconds"``: the wall-clock time of the whole sweep.

    Raises
    ------
    ValueError
        If ``lags`` is not a non-empty sequence of non-negative integers or ``cells`` not a
        non-empty sequence of cell names, and as :func:`memory_test_mse`.
    """
    lags = _integers(lags, "lags")
    cells = _cells(cells)
    start = time.perf_counter()
    out = {"lags": np.asarray(lags, dtype=int)}
    for cell in cells:
        out[cell] = np.array([memory_test_mse(cell, L, **kwargs)[0] for L in lags])
    out["seconds"] = time.perf_counter() - start
    return out


def memory_sweep_seeds(lags, seeds, cells=("lstm", "rnn"), **kwargs) -> dict:
    """:func:`memory_test_mse` for every cell, lag and seed: the sweep with its spread.

    One seed is one draw of the initial weights, the training data and the test data; a
    result that holds for one seed may fail for the next, so report all of them.

    Parameters
    ----------
    lags : sequence of int
    seeds : sequence of int
    cells : sequence of {"lstm", "rnn"}
    **kwargs
        Passed on to :func:`memory_test_mse` (epochs, hidden_size, ...), except ``seed``.

    Returns
    -------
    dict
        ``"lags"``: int array (L,); ``"seeds"``: int array (S,); for each cell an array
        (S, L) of test errors; ``"curves"``: for each cell an array (S, L, E) of the training
        loss of every epoch; ``"seconds"``: the wall-clock time of the whole sweep.
    """
    if "seed" in kwargs:
        raise ValueError(f"seeds are given by the seeds argument, got seed={kwargs['seed']!r}")
    lags = np.asarray(_integers(lags, "lags"))
    seeds = np.asarray(_integers(seeds, "seeds"))
    cells = _cells(cells)
    start = time.perf_counter()
    out = {"lags": lags, "seeds": seeds, "curves": {}}
    for cell in cells:
        runs = [[memory_test_mse(cell, int(L), seed=int(s), **kwargs) for L in lags] for s in seeds]
        out[cell] = np.array([[mse for mse, _ in row] for row in runs])
        out["curves"][cell] = np.array([[hist["loss"] for _, hist in row] for row in runs])
    out["seconds"] = time.perf_counter() - start
    return out


def forecast_free_run(context, params, steps: int) -> np.ndarray:
    """Forecast a series ``steps`` values ahead by feeding the model its own predictions.

    The model (a recurrent layer with a one-output read-out, trained on
    :func:`lstm_core.windows` of width ``W``) always reads the last ``W`` values, real ones
    first and then more and more of its own forecasts, exactly as in training.

    Parameters
    ----------
    context : array (W,)
        The last ``W`` observed values.
    params : dict
        Model parameters with ``Wy (H, 1)`` and ``by (1,)``.
    steps : int

    Returns
    -------
    array (steps,)

    Raises
    ------
    ValueError
        If ``params`` is not a model reading one value and forecasting one (``Wx (1, G)``,
        ``Wy (H, 1)``), ``context`` not a finite non-empty ``(W,)`` array, or ``steps`` not
        a positive integer.
    """
    _, D, _, O = check_model(params)
    if D != 1 or O != 1:
        readout = "no read-out" if O is None else f"Wy {params['Wy'].shape}"
        raise ValueError(
            "params must be a model of one input and one output, Wx (1, G) and Wy (H, 1), "
            f"got Wx {params['Wx'].shape} and {readout}"
        )
    context = check_array(context, "context", (None,), "(W,)", params["Wh"].dtype)
    if context.size == 0:
        raise ValueError(f"context must hold at least one value, got shape {context.shape}")
    steps = positive_int(steps, "steps")
    W = context.size
    buf = np.concatenate([context, np.zeros(steps, context.dtype)])
    for t in range(steps):
        pred, _ = model_forward(buf[None, t : t + W, None], params)
        buf[W + t] = pred[0, 0]
    return buf[W:].copy()


#: Gate order of :func:`gru_step_forward`'s parameters: reset, update, new (PyTorch's order).
GRU_GATES = ("r", "z", "n")


def init_gru_params(input_size: int, hidden_size: int, rng=None, dtype=np.float64) -> dict:
    """Random GRU parameters, uniform in ``[-1/sqrt(H), 1/sqrt(H)]`` like ``nn.GRU``.

    Returns
    -------
    dict
        ``{"Wx": (D, 3H), "Wh": (H, 3H), "bx": (3H,), "bh": (3H,)}`` with the blocks in
        :data:`GRU_GATES` order. ``bx`` and ``bh`` are PyTorch's ``bias_ih`` and ``bias_hh``:
        they differ only in the candidate, where ``bh`` sits inside the reset gate's product.

    Raises
    ------
    ValueError
        For sizes that are not positive integers or so large that the parameters do not fit
        in memory, or an ``rng`` or ``dtype`` of the wrong kind (an ``ArgumentTypeError``,
        also a ``ValueError``, for wrong types).
    """
    D, H = positive_int(input_size, "input_size"), positive_int(hidden_size, "hidden_size")
    rng = as_rng(rng)
    dtype = check_dtype(dtype)
    nbytes = (D + H + 2) * 3 * H * dtype.itemsize
    with allocating({"input_size": D, "hidden_size": H}, nbytes, "the parameters"):
        bound = 1.0 / math.sqrt(H)
        shapes = {"Wx": (D, 3 * H), "Wh": (H, 3 * H), "bx": (3 * H,), "bh": (3 * H,)}
        return {k: rng.uniform(-bound, bound, s).astype(dtype) for k, s in shapes.items()}


def _gru_sizes(params) -> tuple:
    """``(D, H, dtype)`` of GRU parameters from :func:`init_gru_params`, checked."""
    keys = ("Wx", "Wh", "bx", "bh")
    if not isinstance(params, dict):
        raise ArgumentTypeError(
            f"params must be a dict with keys {keys} (from init_gru_params), got {describe(params)}"
        )
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(
            f"params is missing {missing}; a GRU's params have the keys {list(keys)} (from "
            f"init_gru_params), got keys {list(params)}"
        )
    for k in keys:
        plain_array(params[k], f"params[{k!r}]", "a NumPy array")
    arrays = {k: as_float_array(params[k], f"params[{k!r}]") for k in keys}
    check_shape(arrays["Wh"], "params['Wh']", (None, None), "(H, 3H)")
    H = check_size(arrays["Wh"].shape, "params['Wh']", 0, "hidden size H")
    check_shape(arrays["Wh"], "params['Wh']", (H, 3 * H), "(H, 3H)")
    check_shape(arrays["Wx"], "params['Wx']", (None, 3 * H), "(D, 3H)")
    D = check_size(arrays["Wx"].shape, "params['Wx']", 0, "input size D")
    for k in ("bx", "bh"):
        check_shape(arrays[k], f"params[{k!r}]", (3 * H,), "(3H,)")
    if len({a.dtype for a in arrays.values()}) > 1:
        dtypes = ", ".join(f"{k} {a.dtype}" for k, a in arrays.items())
        raise ArgumentTypeError(f"params arrays must share one dtype, got {dtypes}")
    for k in keys:
        check_finite(arrays[k], f"params[{k!r}]")
    return D, H, arrays["Wh"].dtype


@np.errstate(over="ignore", invalid="ignore")  # the result is checked instead
def gru_step_forward(x, h_prev, params) -> np.ndarray:
    """One GRU step (Cho et al., 2014, in PyTorch's form): a single memory, two gates.

    ``r = sigmoid(x Wx_r + bx_r + h_prev Wh_r + bh_r)`` (reset),
    ``z = sigmoid(x Wx_z + bx_z + h_prev Wh_z + bh_z)`` (update),
    ``n = tanh(x Wx_n + bx_n + r * (h_prev Wh_n + bh_n))`` (candidate),
    ``h = (1 - z) * n + z * h_prev``.

    Parameters
    ----------
    x : array (N, D)
    h_prev : array (N, H)
    params : dict
        From :func:`init_gru_params`.

    Returns
    -------
    h : array (N, H)

    Raises
    ------
    ValueError
        If ``params`` is not a GRU's (as :func:`init_gru_params` makes them: NumPy arrays of
        one dtype), ``x`` or ``h_prev`` not a finite array of the shape above (with
        ``N >= 1``), or the result overflows.
    """
    D, H_, dtype = _gru_sizes(params)
    x = check_step_input(x, D, dtype)
    h_prev = check_array(h_prev, "h_prev", (x.shape[0], H_), "(N, H)", dtype)
    H = params["Wh"].shape[0]
    ax = x @ params["Wx"] + params["bx"]
    ah = h_prev @ params["Wh"] + params["bh"]
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
    n = np.tanh(ax[:, 2 * H :] + r * ah[:, 2 * H :])
    h = (1.0 - z) * n + z * h_prev
    check_overflow({"x": x, "h_prev": h_prev, "params": params}, dtype, "h", h)
    return h


__all__ = [
    "GRU_GATES",
    "forecast_free_run",
    "gru_step_forward",
    "init_gru_params",
    "input_gradient_norms",
    "memory_sweep",
    "memory_sweep_seeds",
    "memory_test_mse",
    "unroll_trace",
]
