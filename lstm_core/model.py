"""A recurrent layer (LSTM or RNN) with an optional linear read-out: the course's models.

``params`` holds the recurrent layer's ``Wx``, ``Wh``, ``b`` and, if there is a read-out,
``Wy (H, O)`` and ``by (O,)``. The cell type follows from the shapes: ``Wh (H, 4H)`` is an
LSTM, ``Wh (H, H)`` a vanilla RNN.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._checks import (
    ArgumentTypeError,
    allocating,
    as_rng,
    check_array,
    check_dtype,
    check_finite,
    check_overflow,
    check_shape,
    check_size,
    choice,
    describe,
    finite_number,
    integer,
    positive_int,
)
from .cell import lstm_step_forward
from .losses import (
    check_class_targets,
    check_mse_target,
    cross_entropy,
    mse_loss,
    softmax,
    softmax_cross_entropy,
    squared_error,
)
from .lstm import backward_checked as lstm_backward_checked
from .lstm import check_sequence_cache, lstm_forward
from .params import check_params, init_params, refuse_torch_weights
from .rnn import RNNCache, check_rnn_cache, init_rnn_params, rnn_forward
from .rnn import backward_checked as rnn_backward_checked

CELLS = ("lstm", "rnn")
READOUTS = ("last", "all")
#: The losses :func:`model_loss` knows, each returning ``(loss, gradient on the output)``.
LOSSES = {"mse": mse_loss, "softmax": softmax_cross_entropy}


class ModelCache(NamedTuple):
    """What :func:`model_backward` needs, from :func:`model_forward` (a tuple)."""

    cell: str
    readout: str
    hs: np.ndarray  # (N, T, H)
    rcache: tuple  # the recurrent layer's cache
    params: dict


def init_model(cell, input_size, hidden_size, output_size=None, rng=None, dtype=np.float64):
    """Random parameters for an LSTM or RNN layer with an optional read-out.

    Parameters
    ----------
    cell : {"lstm", "rnn"}
    input_size, hidden_size : int
        ``D`` and ``H``.
    output_size : int, optional
        ``O``; without it the model's output is the hidden state itself.
    rng : numpy.random.Generator or int or None
    dtype : float32 or float64

    Returns
    -------
    dict
        ``{"Wx", "Wh", "b"}`` as :func:`lstm_core.init_params` (LSTM) or
        :func:`lstm_core.init_rnn_params` (RNN) give them, plus ``"Wy": (H, O)`` and
        ``"by": (O,)`` (zeros) with a read-out.

    Raises
    ------
    ValueError
        For an unknown ``cell``, sizes that are not positive integers or so large that the
        parameters do not fit in memory, or an ``rng`` or ``dtype`` of the wrong kind (an
        ``ArgumentTypeError``, also a ``ValueError``).
    """
    choice(cell, "cell", CELLS)
    rng = as_rng(rng)
    dtype = check_dtype(dtype)
    H = positive_int(hidden_size, "hidden_size")
    O = None if output_size is None else positive_int(output_size, "output_size")
    init = init_params if cell == "lstm" else init_rnn_params
    params = init(input_size, H, rng=rng, dtype=dtype)
    if O is not None:
        nbytes = (H + 1) * O * dtype.itemsize
        with allocating({"hidden_size": H, "output_size": O}, nbytes, "the read-out"):
            bound = 1.0 / math.sqrt(H)
            params["Wy"] = rng.uniform(-bound, bound, (H, O)).astype(dtype)
            params["by"] = np.zeros(O, dtype)
    return params


def cell_of(params) -> str:
    """``"lstm"`` or ``"rnn"``, from the shape of ``params["Wh"]``.

    Parameters
    ----------
    params : dict
        With ``"Wh"`` of shape ``(H, 4H)`` (LSTM) or ``(H, H)`` (RNN).

    Returns
    -------
    str
        ``"lstm"`` or ``"rnn"``.

    Raises
    ------
    ValueError
        If ``params`` is not a dict (an ``ArgumentTypeError``) or its ``Wh`` is not a 2-D
        array of shape ``(H, 4H)`` or ``(H, H)`` with ``H >= 1``, saying so for PyTorch's
        weights (:func:`lstm_core.params.refuse_torch_weights`).
    """
    refuse_torch_weights(params)
    if not isinstance(params, dict):
        raise ArgumentTypeError(
            f"params must be a dict with keys ('Wx', 'Wh', 'b'), got {describe(params)}"
        )
    Wh = params.get("Wh")
    if not isinstance(Wh, np.ndarray) or Wh.ndim != 2:
        raise ValueError(
            "params['Wh'] must be an array of shape (H, 4H) (LSTM) or (H, H) (RNN), "
            f"got {describe(Wh) if 'Wh' in params else 'no Wh'}"
        )
    H = check_size(Wh.shape, "params['Wh']", 0, "hidden size H")
    G = Wh.shape[1]
    if G == 4 * H:
        return "lstm"
    if G == H:
        return "rnn"
    raise ValueError(f"params['Wh'] must have shape (H, 4H) or (H, H), got {Wh.shape}")


def check_model(params, name: str = "params"):
    """Validate a model's ``params``: return ``(cell, D, H, O)``, ``O = None`` without a read-out.

    The recurrent layer is checked as by :func:`lstm_core.lstm_forward`; the read-out
    ``Wy (H, O)``, ``by (O,)`` must come together, in the layer's dtype, with ``O >= 1``,
    and be finite.
    """
    cell = cell_of(params)
    D, _, dtype = check_params(params, name)
    H = params["Wh"].shape[0]
    has = [k in params for k in ("Wy", "by")]
    if not any(has):
        return cell, D, H, None
    if not all(has):
        raise ValueError(
            f"{name} must have both 'Wy' and 'by' (a read-out) or neither, got keys {list(params)}"
        )
    Wy, by = params["Wy"], params["by"]
    for key, arr in (("Wy", Wy), ("by", by)):
        if type(arr) is not np.ndarray or arr.dtype != dtype:
            raise ArgumentTypeError(
                f"{name}[{key!r}] must be a {dtype} array like the layer's, got {describe(arr)}"
            )
    check_shape(Wy, f"{name}['Wy']", (H, None), "(H, O)")
    O = check_size(Wy.shape, f"{name}['Wy']", 1, "read-out size O")
    check_shape(by, f"{name}['by']", (O,), "(O,)")
    check_finite(Wy, f"{name}['Wy']")
    check_finite(by, f"{name}['by']")
    return cell, D, H, O


def model_forward(x, params, readout: str = "last"):
    """Run the model over ``x (N, T, D)``.

    Parameters
    ----------
    x : array (N, T, D)
    params : dict
        From :func:`init_model`.
    readout : {"last", "all"}
        Output from the last step only, shape ``(N, O)``, or from every step, ``(N, T, O)``
        (``O = H`` when the model has no read-out layer).

    Returns
    -------
    y : array (N, O) or (N, T, O)
    cache : ModelCache
        For :func:`model_backward`; a tuple that holds ``params``.

    Raises
    ------
    ValueError
        For an unknown ``readout``, ``params`` that are not a model's (an empty read-out
        included), an ``x`` that is not a finite ``(N, T, D)`` array, or arguments so large
        that the output overflows the dtype.
    """
    choice(readout, "readout", READOUTS)
    cell = check_model(params)[0]
    hs, rcache = (lstm_forward if cell == "lstm" else rnn_forward)(x, params)
    feats = hs[:, -1] if readout == "last" else hs
    if "Wy" in params:
        with np.errstate(over="ignore", invalid="ignore"):
            y = feats @ params["Wy"] + params["by"]
        check_overflow({"params": params}, y.dtype, "the output", y)
    else:
        y = feats
    return y, ModelCache(cell, readout, hs, rcache, params)


def _check_model_cache(cache) -> tuple:
    """``(N, T, H, O)`` of a :class:`ModelCache` whose parts fit one another."""
    wanted = "cache must be the ModelCache from model_forward"
    if not isinstance(cache, ModelCache):
        raise ArgumentTypeError(f"{wanted}, got {describe(cache)}")
    cell, readout, hs, rcache, params = cache
    if cell not in CELLS or readout not in READOUTS:
        raise ValueError(f"{wanted}, got one with cell {cell!r} and readout {readout!r}")
    if cell_of(params) != cell:
        raise ValueError(f"{wanted}, got one whose params are not an {cell.upper()}'s")
    _, _, H, O = check_model(params, "cache.params")
    if cell == "lstm":
        N, T, _, _ = check_sequence_cache(rcache, "cache.rcache")
    else:
        check_rnn_cache(rcache, RNNCache, "rnn_forward", "cache.rcache")
        T, N, _ = rcache.x.shape
    if not isinstance(hs, np.ndarray) or hs.shape != (N, T, H) or hs.dtype != params["Wh"].dtype:
        raise ValueError(
            f"{wanted}, got one whose hs is {describe(hs)}; its rcache needs shape "
            f"(N, T, H) = {(N, T, H)}"
        )
    return N, T, H, H if O is None else O


def model_backward(dy, cache):
    """Gradients of all ``params`` of :func:`model_forward`.

    Parameters
    ----------
    dy : array (N, O) or (N, T, O)
        Gradient of the loss on the model's output ``y``; cast to the dtype of the model.
    cache : ModelCache
        From :func:`model_forward`.

    Returns
    -------
    grads : dict with the keys of ``params``
        In the dtype of ``params``.

    Raises
    ------
    ValueError
        If ``cache`` is not from :func:`model_forward` (an ``ArgumentTypeError``) or its
        parts do not fit one another, if ``dy`` is not a finite array of the output's shape,
        or if the gradients overflow the dtype.
    """
    N, T, H, O = _check_model_cache(cache)
    cell, readout, hs, rcache, params = cache
    expected, labels = ((N, O), "(N, O)") if readout == "last" else ((N, T, O), "(N, T, O)")
    dy = check_array(dy, "dy", expected, labels, hs.dtype)  # the cache's dtype, as the rest
    grads = {}
    with np.errstate(over="ignore", invalid="ignore"):  # checked below, once
        if "Wy" in params:
            feats = hs[:, -1] if readout == "last" else hs
            grads["Wy"] = feats.reshape(-1, H).T @ dy.reshape(-1, dy.shape[-1])
            grads["by"] = dy.reshape(-1, dy.shape[-1]).sum(axis=0)
            dfeats = dy @ params["Wy"].T
        else:
            dfeats = dy
    check_overflow({"dy": dy}, hs.dtype, "the gradients", dfeats, *grads.values())
    if readout == "last":
        dhs = np.zeros_like(hs)
        dhs[:, -1] = dfeats
    else:
        dhs = dfeats
    no_grad = np.zeros((N, H), hs.dtype)
    if cell == "lstm":
        g = lstm_backward_checked(dhs, rcache, no_grad, no_grad, {"dy": dy})[3]
    else:
        g = rnn_backward_checked(dhs, rcache, no_grad, {"dy": dy})[2]
    grads.update(g)
    return grads


def check_targets(y, out: np.ndarray, loss: str, name: str = "y"):
    """``y`` checked as the targets of ``loss`` for the model's output ``out``."""
    if loss == "mse":
        return check_mse_target(y, out, name, "the model's output")
    return check_class_targets(y, out, name)


def loss_of(loss: str, out: np.ndarray, y: np.ndarray, params: dict):
    """``(loss, gradient on out)`` for targets ``y`` already checked by :func:`check_targets`.

    If the loss overflows, the message names ``y`` or ``params``, the caller's arguments.
    """
    if loss == "mse":
        return squared_error(out, y, {"y": y, "params": params})
    return cross_entropy(out, y, {"params": params})


def model_loss(x, y, params, readout: str = "last", loss: str = "mse"):
    """Loss of the model on ``(x, y)`` and the gradients of every parameter.

    Parameters
    ----------
    x : array (N, T, D)
    y : array
        Targets: ``(N, O)`` or ``(N, T, O)`` for ``"mse"``; integer classes ``(N,)`` or
        ``(N, T)`` for ``"softmax"``.
    params : dict
        From :func:`init_model`.
    readout : {"last", "all"}
        As for :func:`model_forward`.
    loss : {"mse", "softmax"}

    Returns
    -------
    loss : float
    grads : dict with the keys of ``params``

    Raises
    ------
    ValueError
        As :func:`model_forward`, for an unknown ``loss``, for targets ``y`` of the wrong
        shape, dtype or range, or not finite, and for a loss that overflows the dtype.
    """
    choice(loss, "loss", tuple(LOSSES))
    out, cache = model_forward(x, params, readout)
    y = check_targets(y, out, loss)
    value, dout = loss_of(loss, out, y, params)
    return value, model_backward(dout, cache)


def sample_text(start: str, vocab, params, length: int, rng=None, temperature: float = 1.0) -> str:
    """Generate ``length`` characters from a character-level LSTM, one step at a time.

    Parameters
    ----------
    start : str
        The text the model reads first; the sample continues it.
    vocab : str
        The model's alphabet: the model reads one-hot characters and its read-out gives
        the logits of the next one.
    params : dict
        A character-level LSTM with a read-out: ``Wx (V, 4H)``, ``Wy (H, V)``, ...
    length : int
        Characters to generate after ``start`` (0 or more).
    rng : numpy.random.Generator or int or None
    temperature : float
        Divides the logits: below 1 sharpens the distribution, above 1 flattens it.

    Returns
    -------
    str
        ``start`` followed by ``length`` sampled characters.

    Raises
    ------
    ValueError
        If ``vocab`` is not a string of distinct characters, ``start`` not a non-empty string
        of them, ``params`` not an LSTM with a read-out of ``len(vocab)`` inputs and outputs,
        ``length`` not an integer >= 0, or ``temperature`` not a finite number > 0 (or so
        small that the scaled logits overflow).
    """
    rng = as_rng(rng)
    if not isinstance(vocab, str):
        raise ArgumentTypeError(f"vocab must be a str, got {describe(vocab)}")
    if not vocab or len(set(vocab)) != len(vocab):
        raise ValueError(f"vocab must be a non-empty str of distinct characters, got {vocab!r}")
    index = {ch: k for k, ch in enumerate(vocab)}
    if not isinstance(start, str):
        raise ArgumentTypeError(
            f"start must be a non-empty string of characters from vocab, got {describe(start)}"
        )
    if not start or any(ch not in index for ch in start):
        raise ValueError(
            f"start must be a non-empty string of characters from vocab, got {start!r}"
        )
    cell, D, _, O = check_model(params)
    V = len(vocab)
    if cell != "lstm" or O is None or D != V or O != V:
        raise ValueError(
            f"params must be a character-level LSTM with a read-out for len(vocab) = {V}: "
            f"Wx ({V}, 4H) and Wy (H, {V}), got a {cell} with Wx {params['Wx'].shape}"
            + (f" and Wy {params['Wy'].shape}" if O is not None else " and no read-out")
        )
    length = integer(length, "length", 0)
    finite_number(temperature, "temperature", low=0, low_open=True)
    H = params["Wh"].shape[0]
    dtype = params["Wh"].dtype
    h = c = np.zeros((1, H), dtype)
    out = list(start)
    x = np.zeros((1, V), dtype)
    for step in range(len(start) - 1 + length):
        x[:] = 0
        x[0, index[out[step]]] = 1
        h, c, _ = lstm_step_forward(x, h, c, params)
        if step >= len(start) - 1:
            with np.errstate(over="ignore"):
                logits = (h @ params["Wy"] + params["by"])[0] / temperature
            if not np.isfinite(logits).all():
                raise ValueError(
                    f"temperature must be large enough for the logits divided by it to stay "
                    f"finite, got {temperature!r}"
                )
            p = softmax(logits)
            out.append(vocab[rng.choice(V, p=p)])
    return "".join(out)
