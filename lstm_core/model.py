"""A recurrent layer (LSTM or RNN) with an optional linear read-out: the course's models.

``params`` holds the recurrent layer's ``Wx``, ``Wh``, ``b`` and, if there is a read-out,
``Wy (H, O)`` and ``by (O,)``. The cell type follows from the shapes: ``Wh (H, 4H)`` is an
LSTM, ``Wh (H, H)`` a vanilla RNN.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_dtype, positive_int
from .cell import lstm_step_forward
from .losses import mse_loss, softmax, softmax_cross_entropy
from .lstm import lstm_backward, lstm_forward
from .params import init_params
from .rnn import init_rnn_params, rnn_backward, rnn_forward

CELLS = ("lstm", "rnn")
#: The losses :func:`model_loss` knows, each returning ``(loss, gradient on the output)``.
LOSSES = {"mse": mse_loss, "softmax": softmax_cross_entropy}


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
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    rng = np.random.default_rng(rng)
    dtype = check_dtype(dtype)
    init = init_params if cell == "lstm" else init_rnn_params
    params = init(input_size, hidden_size, rng=rng, dtype=dtype)
    if output_size is not None:
        O = positive_int(output_size, "output_size")
        bound = 1.0 / np.sqrt(hidden_size)
        params["Wy"] = rng.uniform(-bound, bound, (hidden_size, O)).astype(dtype)
        params["by"] = np.zeros(O, dtype)
    return params


def cell_of(params) -> str:
    """``"lstm"`` or ``"rnn"``, from the shape of ``params["Wh"]``."""
    Wh = params.get("Wh") if isinstance(params, dict) else None
    if not isinstance(Wh, np.ndarray) or Wh.ndim != 2:
        raise ValueError("params['Wh'] must be an array of shape (H, 4H) (LSTM) or (H, H) (RNN)")
    H, G = Wh.shape
    if G == 4 * H:
        return "lstm"
    if G == H:
        return "rnn"
    raise ValueError(f"params['Wh'] must have shape (H, 4H) or (H, H), got {Wh.shape}")


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
    cache : tuple
        For :func:`model_backward`; it holds ``params``.
    """
    if readout not in ("last", "all"):
        raise ValueError(f"readout must be 'last' or 'all', got {readout!r}")
    cell = cell_of(params)
    hs, rcache = (lstm_forward if cell == "lstm" else rnn_forward)(x, params)
    feats = hs[:, -1] if readout == "last" else hs
    y = feats @ params["Wy"] + params["by"] if "Wy" in params else feats
    return y, (cell, readout, hs, rcache, params)


def model_backward(dy, cache):
    """Gradients of all ``params`` of :func:`model_forward`.

    Parameters
    ----------
    dy : array (N, O) or (N, T, O)
        Gradient of the loss on the model's output ``y``.
    cache : tuple
        From :func:`model_forward`.

    Returns
    -------
    grads : dict with the keys of ``params``
    """
    cell, readout, hs, rcache, params = cache
    grads = {}
    if "Wy" in params:
        feats = hs[:, -1] if readout == "last" else hs
        H = hs.shape[-1]
        grads["Wy"] = feats.reshape(-1, H).T @ dy.reshape(-1, dy.shape[-1])
        grads["by"] = dy.reshape(-1, dy.shape[-1]).sum(axis=0)
        dfeats = dy @ params["Wy"].T
    else:
        dfeats = dy
    if readout == "last":
        dhs = np.zeros_like(hs)
        dhs[:, -1] = dfeats
    else:
        dhs = dfeats
    if cell == "lstm":
        _, _, _, g = lstm_backward(dhs, rcache)
    else:
        _, _, g = rnn_backward(dhs, rcache)
    grads.update(g)
    return grads


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
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")
    out, cache = model_forward(x, params, readout)
    value, dout = LOSSES[loss](out, y)
    return value, model_backward(dout, cache)


def sample_text(start: str, params, vocab, length: int, rng=None, temperature: float = 1.0) -> str:
    """Generate ``length`` characters from a character-level LSTM, one step at a time.

    Parameters
    ----------
    start : str
        The text the model reads first; the sample continues it.
    params : dict
        A character-level LSTM with a read-out: ``Wx (V, 4H)``, ``Wy (H, V)``, ...
    vocab : str
        The model's alphabet: the model reads one-hot characters and its read-out gives
        the logits of the next one.
    length : int
        Characters to generate after ``start``.
    rng : numpy.random.Generator or int or None
    temperature : float
        Divides the logits: below 1 sharpens the distribution, above 1 flattens it.

    Returns
    -------
    str
        ``start`` followed by ``length`` sampled characters.
    """
    rng = np.random.default_rng(rng)
    index = {ch: k for k, ch in enumerate(vocab)}
    if not start or any(ch not in index for ch in start):
        raise ValueError("start must be a non-empty string of characters from vocab")
    V, H = len(vocab), params["Wh"].shape[0]
    dtype = params["Wh"].dtype
    h = c = np.zeros((1, H), dtype)
    out = list(start)
    x = np.zeros((1, V), dtype)
    for step in range(len(start) - 1 + length):
        x[:] = 0
        x[0, index[out[step]]] = 1
        h, c, _ = lstm_step_forward(x, h, c, params)
        if step >= len(start) - 1:
            p = softmax((h @ params["Wy"] + params["by"])[0] / temperature)
            out.append(vocab[rng.choice(V, p=p)])
    return "".join(out)
