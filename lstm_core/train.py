"""A small training loop: gradient steps on a model, and the loss of the weights it returns."""

from __future__ import annotations

import time

import numpy as np

from ._checks import positive_int
from .model import LOSSES, model_forward, model_loss
from .optim import Adam, clip_grad_norm


def fit(
    x,
    y,
    params,
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

    After every epoch the loss of the weights as they then are is measured on the whole
    of ``(x, y)``: that is what the history records, what ``target_loss`` is compared
    with, and so ``history["loss"][-1]`` is the loss of the weights ``fit`` leaves in
    ``params``.

    Parameters
    ----------
    x : array (N, T, D)
    y : array
        Targets as for :func:`lstm_core.model_loss`.
    params : dict
        From :func:`lstm_core.init_model` (updated in place).
    readout, loss : str
        As for :func:`lstm_core.model_loss`.
    optimizer : SGD or Adam, optional
        Defaults to ``Adam(lr=0.01)``.
    epochs : int
        Most passes over the data; each pass is one step per mini-batch.
    batch_size : int, optional
        Mini-batch size (shuffled every epoch); the whole data set if omitted.
    clip_norm : float or None
        Clip the global gradient norm to this value.
    log_every : int
        Print ``epoch, loss`` every this many epochs (0: silent).
    target_loss : float, optional
        Stop after the first epoch whose weights have a loss below this.

    Returns
    -------
    dict
        ``"loss"``: the loss on all of ``(x, y)`` after each epoch (the last entry is that
        of the returned weights); ``"epochs"``: the epochs run; ``"seconds"``: wall time.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")
    epochs = positive_int(epochs, "epochs")
    N = len(x)
    if len(y) != N:
        raise ValueError(f"y must hold one target per sequence of x ({N}), got {len(y)}")
    batch_size = N if batch_size is None else positive_int(batch_size, "batch_size")
    optimizer = optimizer or Adam(lr=0.01)
    rng = np.random.default_rng(rng)
    full_batch = batch_size >= N

    def step(grads):
        if clip_norm is not None:
            grads, _ = clip_grad_norm(grads, clip_norm)
        optimizer.step(params, grads)

    history = []
    start = time.perf_counter()
    grads = None  # full batch: the gradient at the current weights, computed with their loss
    for epoch in range(1, epochs + 1):
        if full_batch:
            if grads is None:
                _, grads = model_loss(x, y, params, readout=readout, loss=loss)
            step(grads)
            # the loss of the new weights, and the gradient for the next epoch's step
            value, grads = model_loss(x, y, params, readout=readout, loss=loss)
        else:
            order = rng.permutation(N)
            for lo in range(0, N, batch_size):
                idx = order[lo : lo + batch_size]
                step(model_loss(x[idx], y[idx], params, readout=readout, loss=loss)[1])
            value = LOSSES[loss](model_forward(x, params, readout)[0], y)[0]
        history.append(value)
        if log_every and epoch % log_every == 0:
            log(f"epoch {epoch:5d}  loss {value:.6f}")
        if target_loss is not None and value < target_loss:
            break
    return {"loss": history, "epochs": len(history), "seconds": time.perf_counter() - start}
