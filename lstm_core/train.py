"""A small training loop: gradient steps on a model, loss reported per epoch."""

from __future__ import annotations

import time

import numpy as np

from .model import model_loss
from .optim import Adam, clip_grad_norm


def fit(
    params,
    x,
    y,
    *,
    readout: str = "last",
    loss: str = "mse",
    optimizer=None,
    epochs: int = 100,
    batch_size: int | None = None,
    clip_norm: float | None = 5.0,
    rng=None,
    log_every: int = 0,
    target_loss: float | None = None,
    log=print,
) -> dict:
    """Train ``params`` in place on ``(x, y)`` and return the history.

    Parameters
    ----------
    params : dict
        From :func:`lstm_core.init_model` (updated in place).
    x : array (N, T, D)
    y : array
        Targets as for :func:`lstm_core.model_loss`.
    optimizer : SGD or Adam, optional
        Defaults to ``Adam(lr=0.01)``.
    epochs : int
        Passes over the data; each pass is one step per mini-batch.
    batch_size : int, optional
        Mini-batch size (shuffled every epoch); the whole data set if omitted.
    clip_norm : float or None
        Clip the global gradient norm to this value.
    log_every : int
        Print ``epoch, loss`` every this many epochs (0: silent).
    target_loss : float, optional
        Stop as soon as an epoch's mean loss is below this.

    Returns
    -------
    dict
        ``{"loss": [mean loss of each epoch], "epochs": int, "seconds": float}``
    """
    optimizer = optimizer or Adam(lr=0.01)
    rng = np.random.default_rng(rng)
    N = len(x)
    batch_size = N if batch_size is None else batch_size
    history = []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(N) if batch_size < N else np.arange(N)
        total = 0.0
        for lo in range(0, N, batch_size):
            idx = order[lo : lo + batch_size]
            value, grads = model_loss(params, x[idx], y[idx], readout=readout, loss=loss)
            if clip_norm is not None:
                grads, _ = clip_grad_norm(grads, clip_norm)
            optimizer.step(params, grads)
            total += value * len(idx)
        history.append(total / N)
        if log_every and epoch % log_every == 0:
            log(f"epoch {epoch:5d}  loss {history[-1]:.6f}")
        if target_loss is not None and history[-1] < target_loss:
            break
    return {"loss": history, "epochs": len(history), "seconds": time.perf_counter() - start}
