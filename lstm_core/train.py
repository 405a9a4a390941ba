"""A small training loop: gradient steps on a model, and the loss of the weights it returns."""

from __future__ import annotations

import time

import numpy as np

from ._checks import (
    ArgumentTypeError,
    as_array,
    as_rng,
    callable_arg,
    check_sequence,
    choice,
    describe,
    finite_number,
    integer,
    positive_int,
)
from .model import LOSSES, READOUTS, check_model, check_targets, loss_of, model_forward, model_loss
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
        Defaults to ``Adam(lr=0.01)``; any object with a ``step(params, grads)`` method (an
        instance such as ``Adam()``, not the class).
    epochs : int
        Most passes over the data; each pass is one step per mini-batch.
    batch_size : int, optional
        Mini-batch size (shuffled every epoch); the whole data set if omitted.
    clip_norm : float or None
        Clip the global gradient norm to this value (finite, > 0); ``None``: no clipping.
    rng : numpy.random.Generator or int or None
        Shuffles the mini-batches.
    log_every : int
        Print ``epoch, loss`` every this many epochs (0: silent).
    target_loss : float, optional
        Stop after the first epoch whose weights have a loss below this (finite, > 0).
    log : callable
        Receives each line to print.

    Returns
    -------
    dict
        ``"loss"``: the loss on all of ``(x, y)`` after each epoch (the last entry is that
        of the returned weights); ``"epochs"``: the epochs run; ``"seconds"``: wall time.

    Raises
    ------
    ValueError
        Before any training step, for any argument that is not as described (an
        ``ArgumentTypeError``, also a ``ValueError``, for one of the wrong type): ``params``
        and ``x`` as for :func:`lstm_core.model_forward`, and all of ``y`` as for
        :func:`lstm_core.model_loss` (shape, dtype, finite values, class ids below the
        model's output size), with indices into ``y`` itself. During training, if the loss
        or the gradients overflow (as :func:`lstm_core.model_loss` says).
    """
    choice(readout, "readout", READOUTS)
    choice(loss, "loss", tuple(LOSSES))
    epochs = positive_int(epochs, "epochs")
    _, D, H, O = check_model(params)
    x = check_sequence(x, D, None)
    N, T, _ = x.shape
    y = as_array(y, "y", f"one target per sequence of x ({N})")
    if y.ndim == 0 or len(y) != N:
        got = len(y) if y.ndim else "a single value (shape ())"
        raise ValueError(f"y must hold one target per sequence of x ({N}), got {got}")
    # the model's output, as a view of one zero: its shape and dtype, no memory
    out_shape = (N, H if O is None else O) if readout == "last" else (N, T, H if O is None else O)
    y = check_targets(y, np.broadcast_to(np.zeros((), x.dtype), out_shape), loss)
    batch_size = N if batch_size is None else positive_int(batch_size, "batch_size")
    if clip_norm is not None:
        finite_number(clip_norm, "clip_norm", low=0, low_open=True)
    if target_loss is not None:
        finite_number(target_loss, "target_loss", low=0, low_open=True)
    integer(log_every, "log_every", 0)
    callable_arg(log, "log", "a function such as print")
    if optimizer is not None and (
        isinstance(optimizer, type) or not callable(getattr(optimizer, "step", None))
    ):
        got = (
            f"the class {optimizer.__name__}; make one, e.g. {optimizer.__name__}()"
            if isinstance(optimizer, type)
            else describe(optimizer)
        )
        raise ArgumentTypeError(
            "optimizer must be an optimizer with a step(params, grads) method such as "
            f"lstm_core.Adam, or None, got {got}"
        )
    optimizer = optimizer or Adam(lr=0.01)
    rng = as_rng(rng)
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
            value = loss_of(loss, model_forward(x, params, readout)[0], y, params)[0]
        history.append(value)
        if log_every and epoch % log_every == 0:
            log(f"epoch {epoch:5d}  loss {value:.6f}")
        if target_loss is not None and value < target_loss:
            break
    return {"loss": history, "epochs": len(history), "seconds": time.perf_counter() - start}
