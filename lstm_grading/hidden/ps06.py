"""Hidden tests of problem set 6: clip_grad_norm, Adam, train, and the two trainings.

The trainings are graded for authenticity: the student's fit_* must produce, epoch by epoch,
the losses the reference's own optimizer and loop give with the settings the notebook fixes
(so its own Adam, clipping and loop did the training, and weights placed by hand fail), and the
trained weights must be those of the reference run.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ..checks import (
    _package_dir,
    call_isolated,
    graders_own,
    reference,
    students_call,
    tracing,
)
from .common import array_of, call, close, copy_arg, same


def check_clip_grad_norm(fn) -> None:
    """The norm before clipping, one factor for all arrays, below/at/above the limit, any
    shapes, zeros; grads unchanged."""
    __tracebackhide__ = True
    ref = reference("clip_grad_norm")
    rng = np.random.default_rng(2601)
    cases = []
    for max_norm in (0.1, 1.0, 3.0, 100.0):
        cases.append(
            (
                {
                    "Wx": rng.normal(size=(3, 8)),
                    "Wh": 2 * rng.normal(size=(2, 8)),
                    "b": rng.normal(size=8),
                },
                max_norm,
            )
        )
    cases.append(({"w": np.array([3.0, 0.0]), "b": np.array([[0.0], [4.0]])}, 5.0))  # at the limit
    cases.append(({"Wy": rng.normal(size=(4, 1)), "by": np.zeros(1)}, 0.5))
    cases.append(({"w": np.zeros((2, 3)), "b": np.zeros(3)}, 1.0))
    cases.append(({"only": 50.0 * rng.normal(size=(5, 5))}, 2.0))
    for grads, max_norm in cases:
        out = call(fn, grads, max_norm, name="clip_grad_norm", names=("grads", "max_norm"))
        if not (isinstance(out, tuple) and len(out) == 2):
            raise AssertionError("clip_grad_norm should return (clipped, norm)")
        clipped, norm = out
        if clipped is grads:
            raise AssertionError(
                f"clip_grad_norm returned the grads dict itself (max_norm {max_norm}): return a "
                "new dict with the keys of grads, so that a change to the result (a key added or "
                "replaced) does not change the caller's grads"
            )
        want, want_norm = ref(copy_arg(grads), max_norm)
        if not isinstance(norm, float):
            raise AssertionError(f"the norm should be a Python float, got {type(norm).__name__}")
        close(
            np.asarray(norm),
            np.asarray(want_norm),
            f"the norm (max_norm {max_norm})",
            rtol=1e-12,
            atol=0.0,
        )
        if not (isinstance(clipped, dict) and set(clipped) == set(want)):
            raise AssertionError("the clipped dict should have the keys of grads")
        for k in want:
            array_of(clipped[k], f"clipped[{k!r}]", want[k].shape)
            close(
                clipped[k],
                want[k],
                f"clipped[{k!r}] at max_norm {max_norm}",
                rtol=1e-12,
                atol=1e-15,
            )


# Steps of check_adam that bring gradients for some parameters only (0-based): the first
# array's alone, then the last's, so that state kept by position (a list, or params paired
# with grads by zip) rather than by key shows.
PARTIAL_STEPS = {3: ("Wx",), 10: ("b",)}


def _adam_step(opt, params, grads, t: int, setting: str) -> None:
    """``opt.step(params, grads)`` isolated; an error other than a failed check is reported
    as the step's, with a hint at a step that brings gradients for some parameters only."""
    __tracebackhide__ = True
    try:
        call_isolated(opt.step, params, grads, name="Adam.step")
    except AssertionError:
        raise
    except Exception as exc:
        hint = ""
        if t in PARTIAL_STEPS:
            hint = (
                f"; this step brought gradients for {', '.join(map(repr, grads))} only: keep m "
                "and v in dicts by key and update params[k] for each key k of grads"
            )
        raise AssertionError(
            f"Adam.step raised {type(exc).__name__} at step {t + 1} ({setting}): {exc}{hint}"
        ) from exc


def _adam_run(opt, ref, start: dict, steps: int, rng, scale: float, setting: str) -> None:
    """``steps`` steps of the student's ``opt`` and the reference's ``ref`` from ``start``, on
    the same random gradients; params must agree after every step."""
    __tracebackhide__ = True
    shapes = {k: v.shape for k, v in start.items()}
    mine, theirs = copy_arg(start), copy_arg(start)
    arrays = dict(mine)
    for t in range(steps):
        grads = {k: scale * rng.normal(size=s) for k, s in shapes.items()}
        if t in PARTIAL_STEPS:
            grads = {k: grads[k] for k in PARTIAL_STEPS[t]}
        before = copy_arg(grads)
        _adam_step(opt, mine, grads, t, setting)
        if any(before[k].tolist() != grads[k].tolist() for k in grads):
            raise AssertionError("Adam.step changed the gradients")
        ref.step(theirs, grads)
        for k in shapes:
            if mine[k] is not arrays[k]:
                raise AssertionError(
                    "Adam.step should update the arrays of params in place (params[k] -= ...)"
                )
            try:
                close(mine[k], theirs[k], f"params[{k!r}] after step {t + 1} ({setting})")
            except AssertionError as exc:
                if t in PARTIAL_STEPS:
                    only = ", ".join(f"params[{p!r}]" for p in PARTIAL_STEPS[t])
                    raise AssertionError(
                        f"{exc}. Step {t + 1} brought gradients for {only} only and the steps "
                        "before it agreed: does each array find its own m and v (kept in dicts "
                        "by key, not by position), and does step update exactly the "
                        "parameters that grads has keys for?"
                    ) from None
                if t != 4:
                    raise
                raise AssertionError(
                    f"{exc}. Step 4 brought a gradient for params['Wx'] only and the steps "
                    "before it agreed: is the step counter t shared by all parameters (one "
                    "counter for the optimizer, counted once per call of step), not kept per "
                    "parameter? Step 5 is the 5th for every array, also for those step 4 "
                    "left alone"
                ) from None


def check_adam(Adam) -> None:
    """25 steps against the reference Adam: hyper-parameters, tiny and huge gradients, steps
    that update one array only (the first, the last); in place. Then the default
    hyper-parameters, Adam(), on gradients small enough for eps to matter."""
    __tracebackhide__ = True
    Ref = reference("Adam")
    rng = np.random.default_rng(2602)
    shapes = {"Wx": (3, 8), "Wh": (2, 8), "b": (8,)}
    for lr, beta1, beta2, eps, scale in [
        (1e-3, 0.9, 0.999, 1e-8, 1.0),
        (0.05, 0.8, 0.99, 1e-6, 1e-6),
        (0.01, 0.0, 0.9, 1e-8, 100.0),
    ]:
        start = {k: rng.normal(size=s) for k, s in shapes.items()}
        settings = {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps}
        opt = call_isolated(lambda: Adam(**settings), name="Adam")  # noqa: B023 (called at once)
        ref = Ref(lr=lr, beta1=beta1, beta2=beta2, eps=eps)
        setting = f"lr={lr}, betas {beta1}, {beta2}, eps={eps}, gradients ~{scale:g}"
        _adam_run(opt, ref, start, 25, rng, scale, setting)
    # The defaults: gradients ~1e-6, so that eps = 1e-8 against 1e-7 changes a step by 10 %.
    start = {k: rng.normal(size=s) for k, s in shapes.items()}
    try:
        opt = call_isolated(Adam, name="Adam")
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(
            f"Adam() raised {type(exc).__name__}: {exc}; every hyper-parameter has a default"
        ) from exc
    try:
        _adam_run(opt, Ref(), start, 4, rng, 1e-6, "Adam(), the defaults, gradients ~1e-06")
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}. With the same hyper-parameters given explicitly your Adam agreed with the "
            "course's: are the defaults those of the signature, "
            "__init__(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)?"
        ) from None


def check_train(train, namespace: dict) -> None:
    """The loop with a correct clipping and a stand-in loss and optimizer: epoch losses and
    final parameters of a reference loop, for several batch sizes, seeds and clip norms."""
    __tracebackhide__ = True

    def clip(grads, max_norm):
        norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
        if norm <= max_norm:
            return dict(grads), norm
        return {k: g * (max_norm / norm) for k, g in grads.items()}, norm

    def loss(xb, yb, params):
        if isinstance(xb, dict):
            raise AssertionError(
                "train should call loss_fn(x_batch, y_batch, params): the data first, then params"
            )
        pred = np.tanh(xb.reshape(len(xb), -1) @ params["W"]) + params["c"]
        err = pred - yb
        d = 2 * err / err.size
        da = d * (1 - (pred - params["c"]) ** 2)
        return float(np.mean(err**2)), {"W": xb.reshape(len(xb), -1).T @ da, "c": d.sum(axis=0)}

    class Momentum:
        def __init__(self):
            self.v = {}

        def step(self, params, grads):
            for k, g in grads.items():
                self.v[k] = 0.9 * self.v.get(k, 0.0) - 0.05 * g
                params[k] += self.v[k]

    def reference_train(x, y, params, epochs, batch_size, clip_norm, seed):
        return _reference_loop(
            x, y, params, loss, Momentum(), clip, epochs, batch_size, clip_norm, seed
        )

    rng = np.random.default_rng(2603)
    x, y = rng.normal(size=(13, 2, 3)), rng.normal(size=(13, 1))
    yours = namespace.get("clip_grad_norm")
    namespace["clip_grad_norm"] = clip  # grade the loop on its own, with a correct clipping
    try:
        for epochs, batch_size, clip_norm, seed in [
            (3, None, None, 0),
            (4, 5, None, 1),
            (5, 4, 0.3, 2),
            (2, 13, 0.1, 3),
            (3, 1, None, 4),
            (2, 20, None, 5),
        ]:
            start = {"W": 0.3 * rng.normal(size=(6, 1)), "c": np.zeros(1)}
            mine, theirs = copy_arg(start), copy_arg(start)
            got = call_isolated(
                train,
                x,
                y,
                mine,
                loss,
                Momentum(),
                epochs,
                batch_size,
                clip_norm,
                seed,
                name="train",
            )
            want = reference_train(x, y, theirs, epochs, batch_size, clip_norm, seed)
            what = f"epochs={epochs}, batch_size={batch_size}, clip_norm={clip_norm}, rng={seed}"
            if not (isinstance(got, list) and len(got) == epochs):
                raise AssertionError(f"train should return a list of one loss per epoch ({what})")
            if not all(isinstance(v, float) for v in got):
                raise AssertionError(f"the epoch losses should be Python floats ({what})")
            close(
                np.asarray(got),
                np.asarray(want),
                f"the epoch losses ({what})",
                rtol=1e-10,
                atol=1e-14,
            )
            if all(same(mine[k], start[k]) for k in start):
                raise AssertionError(
                    f"train left the caller's params unchanged ({what}): it should update the "
                    "params it was given in place, passing that dict to "
                    "optimizer.step(params, grads)"
                )
            for k in start:
                close(
                    mine[k],
                    theirs[k],
                    f"params[{k!r}] after training ({what})",
                    rtol=1e-10,
                    atol=1e-14,
                )
    finally:
        namespace["clip_grad_norm"] = yours


def _refuse(*args, **kwargs):
    raise AssertionError(
        "this training used lstm_core's optimizer code (lstm_core.Adam, SGD, clip_grad_norm or "
        "fit); train with your own Adam, clip_grad_norm and train"
    )


def _watched(fn, *args):
    """Call fn(*args) with lstm_core's optimizers, clipping and fit refusing to run.

    Their code objects are swapped for one that raises, so that references captured before
    (``from lstm_core import Adam``) refuse too; the originals are put back afterwards. Any
    other copy of that code that runs (the grading package's private copy, taken by
    ``reference("Adam")`` in a cell, or one the notebook loaded afresh from lstm_core's files)
    is seen as it runs and fails the call when it returns, and ``reference`` gives nothing
    while ``fn`` runs.
    """
    __tracebackhide__ = True
    import lstm_core

    names = [
        "Adam.step",
        "Adam.__init__",
        "SGD.step",
        "SGD.__init__",
        "clip_grad_norm",
        "global_norm",
        "fit",
    ]
    targets = []
    for name in names:
        obj = lstm_core
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if callable(obj) and hasattr(obj, "__code__") and not obj.__code__.co_freevars:
            targets.append(obj)
    folder = _package_dir("lstm_core")  # found at the kernel's start, not the notebook's
    files = {os.path.join(folder, f) for f in ("optim.py", "train.py")}
    ran = []

    def tracer(frame, event, arg):
        # "call" events only (it returns None): cheap, even through a whole training.
        if event == "call" and frame.f_code.co_filename in files:
            ran.append(frame.f_code.co_qualname)

    saved = [f.__code__ for f in targets]
    try:
        for f in targets:
            f.__code__ = _refuse.__code__
        try:
            # tracing: threads the training starts are watched too
            with tracing(tracer), students_call():  # nor can it take checks.reference's
                result = fn(*args)
                if sys.gettrace() is not tracer:
                    ran.append(None)
        except BaseException:
            if not ran:
                raise
    finally:
        for f, code in zip(targets, saved, strict=True):
            f.__code__ = code
    if None in ran:
        raise AssertionError(
            "this training changed sys.settrace, through which the test watches that it does not "
            "run lstm_core's optimizer code; train with your own Adam, clip_grad_norm and train, "
            "and leave sys.settrace alone"
        )
    if ran:
        raise AssertionError(
            f"this training ran lstm_core's optimizer code ({ran[0]}, from a copy of lstm_core "
            "made in the notebook or taken from the grading package); train with your own "
            "Adam, clip_grad_norm and train"
        )
    return result


@graders_own("training loop (the hidden tests' own)")
def _reference_loop(x, y, params, loss, optimizer, clip, epochs, batch_size, clip_norm, rng):
    """The loop the notebook specifies (part 3) with the given loss, optimizer and clipping:
    trains ``params`` in place and returns the epoch losses."""
    rng, N = np.random.default_rng(rng), len(x)
    batch_size = N if batch_size is None else batch_size
    losses = []
    for _ in range(epochs):
        order = rng.permutation(N) if batch_size < N else np.arange(N)
        total = 0.0
        for lo in range(0, N, batch_size):
            idx = order[lo : lo + batch_size]
            value, grads = loss(x[idx], y[idx], params)
            if clip_norm is not None:
                grads, _ = clip(grads, clip_norm)
            optimizer.step(params, grads)
            total += value * len(idx)
        losses.append(total / N)
    return losses


def _reference_fit(x, y, params, *, lr, epochs, batch_size=None, clip_norm=None, rng=None):
    """The loop the notebook specifies, on the reference's Adam, clipping and loss: epoch losses.

    Written out here rather than taken from ``lstm_core.fit``, whose reporting may differ.
    """
    return _reference_loop(
        x,
        y,
        params,
        reference("model_loss"),
        reference("Adam")(lr=lr),
        reference("clip_grad_norm"),
        epochs,
        batch_size,
        clip_norm,
        rng,
    )


def _same_losses(losses, want, what: str, settings: str) -> None:
    """The epoch losses of the student's training must be the reference's, to round-off; if
    not, the message lists the settings the notebook fixes and the pieces whose exactness
    matters (every one of them must agree with the course's, not only approximately)."""
    __tracebackhide__ = True
    try:
        close(
            np.asarray(losses, dtype=float),
            np.asarray(want),
            f"{what}'s epoch losses against the course's training from the same start",
            rtol=1e-6,
            atol=1e-9,
        )
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}. Check that {what} trains with exactly the settings the notebook fixes "
            f"({settings}) through your train; if it does, your Adam, clip_grad_norm or train "
            "differs from the course's by more than round-off: the hidden parts of test_adam, "
            "test_clip_grad_norm and test_train compare them with the course's exactly"
        ) from None


def _authentic(fit, x, y, params, *, lr, epochs, batch_size, clip_norm, what: str):
    """The student's ``fit(x, y, params)`` must equal the reference training, epoch by epoch."""
    __tracebackhide__ = True
    theirs = copy_arg(params)
    settings = (
        f"Adam(lr={lr}), epochs={epochs}, batch_size={batch_size}, clip_norm={clip_norm}, rng=0"
    )
    losses = _watched(fit, x, y, params)
    want = _reference_fit(
        x, y, theirs, lr=lr, epochs=epochs, batch_size=batch_size, clip_norm=clip_norm, rng=0
    )
    if not (isinstance(losses, list) and len(losses) == len(want)):
        raise AssertionError(
            f"{what} should return the list of its {len(want)} epoch losses (from train)"
        )
    # Identical arithmetic up to round-off, which training amplifies a little.
    _same_losses(losses, want, what, settings)
    for k in theirs:
        close(params[k], theirs[k], f"the trained params[{k!r}] of {what}", rtol=1e-5, atol=1e-7)
    return theirs


class _Enough(Exception):
    """Raised by the stand-in loss to stop a training after a few steps."""


def check_companies(fit_companies, namespace: dict) -> None:
    """fit_companies: the run of the visible test (from ``init_model("lstm", 1, 1, rng=0)``,
    its ``params`` and ``losses`` in ``namespace``, the notebook's globals) must be the
    reference training's, epoch by epoch and in its weights (Adam lr=0.1, 1000 epochs, one
    batch, no clipping); and a second run, stopped after three steps, must not touch
    lstm_core's optimizers or fit. One training of the reference: the slowest hidden test."""
    __tracebackhide__ = True
    x, y = reference("two_companies")()
    start = reference("init_model")("lstm", 1, 1, rng=0)
    trained, losses = namespace["params"], namespace["losses"]
    want = _reference_fit(x, y, start, lr=0.1, epochs=1000, rng=0)
    if not (isinstance(losses, list) and len(losses) == len(want)):
        raise AssertionError(
            f"fit_companies should return the list of its {len(want)} epoch losses (from train)"
        )
    _same_losses(
        losses,
        want,
        "fit_companies",
        "Adam(lr=0.1), epochs=1000, the whole data set as one batch (batch_size=None), "
        "no clipping (clip_norm=None)",
    )
    for k in start:
        close(
            trained[k],
            start[k],
            f"the trained params[{k!r}] of fit_companies",
            rtol=1e-5,
            atol=1e-7,
        )
    _second_run(fit_companies, namespace)


def _second_run(fit_companies, namespace: dict) -> None:
    """fit_companies from another start, stopped at the fourth call of ``model_loss``: it must
    not touch lstm_core's optimizers or fit, and the params its first three steps give the loss
    must be those of the reference's Adam(lr=0.1) on the whole data set (the run of the visible
    test is not watched: a function that trained the first time it was called, and only then,
    with lstm_core's Adam or fit, would pass the comparison of that run alone)."""
    __tracebackhide__ = True
    yours, seen = namespace.get("model_loss"), []

    def stop_after_three(*args, **kwargs):
        if len(seen) == 3:
            raise _Enough
        params = args[2] if len(args) > 2 else kwargs.get("params")
        seen.append(copy_arg(params))
        return yours(*args, **kwargs)

    start, returned = reference("init_model")("lstm", 1, 1, rng=1), None
    namespace["model_loss"] = stop_after_three
    try:
        returned = _watched(fit_companies, copy_arg(start))
    except _Enough:
        pass
    finally:
        namespace["model_loss"] = yours
    x, y = reference("two_companies")()
    want, loss, adam = copy_arg(start), reference("model_loss"), reference("Adam")(lr=0.1)
    snapshots, losses = [], []  # the reference's params before each of its first three steps
    for _ in range(3):
        snapshots.append(copy_arg(want))
        value, grads = loss(x, y, want)
        losses.append(value)
        adam.step(want, grads)
    what = 'fit_companies (run again, from init_model("lstm", 1, 1, rng=1))'
    if len(seen) < 3:  # it ran to the end without the notebook's model_loss: its losses tell
        if not (isinstance(returned, list) and len(returned) == 1000):
            raise AssertionError(f"{what} should return the list of its 1000 epoch losses")
        _same_losses(returned[:3], losses, what, "Adam(lr=0.1), epochs=1000, one batch")
        return
    for step, (params, ref) in enumerate(zip(seen, snapshots, strict=True)):
        if not (isinstance(params, dict) and set(params) == set(ref)):
            raise AssertionError(
                f"{what} gave model_loss, at its step {step + 1}, a params other than the dict "
                "it was given: train the params passed to fit_companies in place"
            )
        for k in ref:
            try:
                close(params[k], ref[k], f"params[{k!r}] after {step} step(s)", rtol=1e-9)
            except AssertionError as exc:
                raise AssertionError(
                    f"{what}: {exc}, against the course's Adam(lr=0.1) on the whole data set. "
                    "Does fit_companies train the same way every time it is called, with your "
                    "train and Adam, and do they pass their own tests?"
                ) from None


def check_memory(fit_memory, cell: str) -> None:
    """fit_memory on a ``cell`` model from another random start and other data (128 sequences,
    lag 10): the reference training's losses and weights (Adam lr=0.01, 40 epochs, batches of
    64, clipping at 1, rng=0). Smaller than the visible test's task, to keep grading fast."""
    __tracebackhide__ = True
    x, y = reference("memory_task")(128, 10, rng=3)
    p = reference("init_model")(cell, 2, 8, 1, rng=1)
    _authentic(
        fit_memory, x, y, p, lr=0.01, epochs=40, batch_size=64, clip_norm=1.0, what="fit_memory"
    )
