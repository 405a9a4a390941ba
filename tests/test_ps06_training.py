"""Problem set 6 (clipping, Adam, the training loop, two trainings) graded end to end by nbgrader.

Each submission is the solution with one bug and the exact grade cells it must lose; see
tests/assignment_suite.py for what is checked. The trainings are graded on authenticity (every
epoch's loss and the trained weights equal the course's own training with the same settings),
so a broken optimizer, clipping or loop also costs the trainings that use it.

The fast tests below run the hidden checks in this process on the solution's own code (its
setup and solution cells, as the kernel would run them), without nbgrader.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path

import assignment_suite
import numpy as np
import pytest
from assignment_suite import GradedAssignment, Submission

import lstm_core
from lstm_grading.hidden import ps06

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions/ps06_training/ps06_training.ipynb"

ADAM_UPDATE = "            params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)"
SECOND_MOMENT = "            self.v[k] = self.beta2 * self.v.get(k, 0.0) + (1 - self.beta2) * g * g"
BIAS_CORRECTION = (
    "            m_hat = self.m[k] / (1 - self.beta1**self.t)\n"
    "            v_hat = self.v[k] / (1 - self.beta2**self.t)"
)
CLIP = "    scale = max_norm / norm\n    return {k: g * scale for k, g in grads.items()}, norm"
NORM = "    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))"
ORDER = "        order = rng.permutation(N) if batch_size < N else np.arange(N)"
WHOLE_BATCH = "    batch_size = N if batch_size is None else batch_size"
CLIP_CALL = (
    "            if clip_norm is not None:\n"
    "                grads, _ = clip_grad_norm(grads, clip_norm)\n"
)
FIT_COMPANIES = "    return train(x, y, params, model_loss, Adam(lr=0.1), epochs=1000)"
POWER_OF_ONE_MINUS_BETA = BIAS_CORRECTION.replace(
    "(1 - self.beta1**self.t)", "(1 - self.beta1)**self.t"
).replace("(1 - self.beta2**self.t)", "(1 - self.beta2)**self.t")
CORRECTED_STORED = BIAS_CORRECTION.replace(
    "m_hat = self.m[k] /", "m_hat = self.m[k] = self.m[k] /"
).replace("v_hat = self.v[k] /", "v_hat = self.v[k] = self.v[k] /")


def trained_with(prelude: str, body: str) -> dict:
    """The solution's namespace, trained, with ``prelude`` (module-level lines) before
    fit_companies and ``body`` in place of its last line."""
    first = f"{prelude}\nimport lstm_core\n\n\ndef fit_companies(params):"
    return trained_companies(
        solution_namespace(("def fit_companies(params):", first), (FIT_COMPANIES, body))
    )


FIT_MEMORY = (
    "    return train(x, y, params, model_loss, Adam(lr=0.01), epochs=40, batch_size=64, "
    "clip_norm=1.0, rng=0)"
)
LOSS_CALL = "            loss, grads = loss_fn(x[idx], y[idx], params)\n"
# Adam with one step counter per parameter (as PyTorch keeps one per tensor), not one shared.
COUNTER_PER_PARAMETER = (
    ("        self.t = 0\n", "        self.t = {}\n"),
    (
        "        self.t += 1\n        for k, g in grads.items():\n",
        "        for k, g in grads.items():\n            self.t[k] = self.t.get(k, 0) + 1\n",
    ),
    (BIAS_CORRECTION, BIAS_CORRECTION.replace("self.t)", "self.t[k])")),
)
# The common idiom scale = min(1, max_norm / norm), the norm a NumPy float: max_norm / 0 warns.
CLIP_BY_MIN = (
    (NORM, NORM.replace("float(np.sqrt(", "np.sqrt(").replace("))))", ")))")),
    (
        "    if norm <= max_norm:\n        return dict(grads), norm\n" + CLIP,
        "    scale = min(1.0, max_norm / norm)\n"
        "    return {k: g * scale for k, g in grads.items()}, float(norm)",
    ),
)
# Adam with m and v in lists, by position in params: right while every step brings all the
# gradients, or a partial step brings the first array's only.
STATE_BY_POSITION = (
    (
        "        self.t += 1\n        for k, g in grads.items():\n",
        "        self.t += 1\n"
        "        if not self.m:  # one m and v per parameter array, in the order of params\n"
        "            self.m = [np.zeros_like(p) for p in params.values()]\n"
        "            self.v = [np.zeros_like(p) for p in params.values()]\n"
        "        for j, (k, g) in enumerate(grads.items()):\n",
    ),
    (
        "            self.m[k] = self.beta1 * self.m.get(k, 0.0) + (1 - self.beta1) * g\n"
        "            self.v[k] = self.beta2 * self.v.get(k, 0.0) + (1 - self.beta2) * g * g\n",
        "            self.m[j] = self.beta1 * self.m[j] + (1 - self.beta1) * g\n"
        "            self.v[j] = self.beta2 * self.v[j] + (1 - self.beta2) * g * g\n",
    ),
    (BIAS_CORRECTION, BIAS_CORRECTION.replace("[k]", "[j]")),
)
ADAM_INIT = "    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):"
TRAININGS = ("test_companies", "test_memory_lstm", "test_memory_rnn")
MEMORY = ("test_memory_lstm", "test_memory_rnn")  # the trainings that clip and shuffle

SUBMISSIONS = [
    Submission(
        "clip_each_array",
        "every gradient array clipped to max_norm on its own",
        edits=(
            (
                CLIP,
                "    return {k: g * min(1.0, max_norm / max(np.linalg.norm(g), 1e-12)) "
                "for k, g in grads.items()}, norm",
            ),
        ),
        broken=("test_clip_grad_norm", *MEMORY),
        reason="each array was clipped on its own",
    ),
    Submission(
        "clip_norm_squared",
        "the global norm without its square root",
        edits=((NORM, NORM.replace("np.sqrt(", "(")),),
        broken=("test_clip_grad_norm", *MEMORY),
        reason="the norm before clipping should be 5.0",
    ),
    Submission(
        "clip_in_place",
        "clip_grad_norm scales the caller's arrays in place",
        edits=(
            (
                CLIP,
                "    for g in grads.values():\n        g *= max_norm / norm\n"
                "    return dict(grads), norm",
            ),
        ),
        broken=("test_clip_grad_norm",),
        reason="clip_grad_norm changed grads in place",
    ),
    Submission(
        "clip_divides_by_zero",
        "clip_grad_norm scales by min(1, max_norm / norm): a NumPy division by 0 if all are 0",
        edits=CLIP_BY_MIN,
        broken=("test_clip_grad_norm",),
        reason="clip_grad_norm divided by zero on all-zero gradients",
    ),
    Submission(
        "adam_uphill",
        "Adam adds the update: every training climbs the loss",
        edits=((ADAM_UPDATE, ADAM_UPDATE.replace("-=", "+=")),),
        broken=("test_adam", *TRAININGS),
        reason="the weights moved along the gradient, uphill",
    ),
    Submission(
        "adam_no_bias_correction",
        "Adam without bias correction: first steps 3 times too large, and no training succeeds",
        edits=((BIAS_CORRECTION, "            m_hat = self.m[k]\n            v_hat = self.v[k]"),),
        broken=("test_adam", *TRAININGS),
        reason="without bias correction",
    ),
    Submission(
        "adam_eps_inside_sqrt",
        "Adam adds eps under the square root",
        edits=(
            (
                ADAM_UPDATE,
                ADAM_UPDATE.replace("np.sqrt(v_hat) + self.eps", "np.sqrt(v_hat + self.eps)"),
            ),
        ),
        broken=("test_adam", *TRAININGS),
        reason="whose gradient is tiny",
    ),
    Submission(
        "adam_step_per_array",
        "Adam counts a step for every array instead of once per call",
        edits=(
            (
                "        self.t += 1\n        for k, g in grads.items():\n",
                "        for k, g in grads.items():\n            self.t += 1\n",
            ),
        ),
        broken=("test_adam", *TRAININGS),
        reason="the first step should also move b",
    ),
    Submission(
        "adam_counter_per_parameter",
        "Adam counts steps per parameter: the first update after a partial step is too big",
        edits=COUNTER_PER_PARAMETER,
        broken=("test_adam",),
        reason="not one counter per parameter",
    ),
    Submission(
        "no_shuffle",
        "train never shuffles: the mini-batches come in the same order every epoch",
        edits=((ORDER, "        order = np.arange(N)"),),
        broken=("test_train", *MEMORY),
        reason="shuffle the examples every epoch",
    ),
    Submission(
        "epoch_loss_of_last_batch",
        "train reports the last mini-batch's loss as the epoch's",
        edits=(("        losses.append(total / N)", "        losses.append(loss)"),),
        broken=("test_train", *MEMORY),
        reason="an epoch's loss is the mean over examples",
    ),
    Submission(
        "epoch_loss_unweighted",
        "an epoch's loss is the mean of the batch losses, not weighted by the batch sizes",
        edits=(
            ("            total += loss * len(idx)\n", "            total += loss\n"),
            (
                "        losses.append(total / N)",
                "        losses.append(total / -(-N // batch_size))",
            ),
        ),
        broken=("test_train",),
        reason="sum(batch loss * batch size) / N",
    ),
    Submission(
        "drops_last_partial_batch",
        "train skips the last mini-batch when it is smaller than batch_size",
        edits=(
            (
                "        for lo in range(0, N, batch_size):",
                "        for lo in range(0, N - batch_size + 1, batch_size):",
            ),
        ),
        broken=("test_train",),
        reason="make 3 steps per epoch",
    ),
    Submission(
        "never_clips",
        "train ignores clip_norm",
        edits=((CLIP_CALL, ""),),
        broken=("test_train", *MEMORY),
        reason="with clip_norm=0.7, clip_grad_norm(grads, 0.7) should run once per step",
    ),
    Submission(
        "loss_fn_params_first",
        "train calls loss_fn(params, x_batch, y_batch), the order the course's rule replaced",
        edits=((LOSS_CALL, "            loss, grads = loss_fn(params, x[idx], y[idx])\n"),),
        broken=("test_train", *TRAININGS),
        reason="train should call loss_fn(x_batch, y_batch, params)",
    ),
    Submission(
        "companies_too_short",
        "fit_companies trains for 20 epochs only",
        edits=((FIT_COMPANIES, FIT_COMPANIES.replace("epochs=1000", "epochs=20")),),
        broken=("test_companies",),
        reason="should be within 0.1 of",
    ),
    Submission(
        "companies_hand_placed",
        "fit_companies writes the hand-worked weights into params instead of training",
        edits=(
            (
                FIT_COMPANIES,
                "    for k, v in lstm_core.HAND_WORKED_PARAMS.items():\n"
                "        params[k][...] = v\n"
                "    return [0.25, 0.001]",
            ),
        ),
        broken=("test_companies",),
        reason="should return the list of its 1000 epoch losses",
    ),
    Submission(
        "companies_with_reference_adam",
        "fit_companies trains with lstm_core.Adam instead of the student's Adam",
        edits=((FIT_COMPANIES, FIT_COMPANIES.replace("Adam(lr=0.1)", "lstm_core.Adam(lr=0.1)")),),
        broken=("test_companies",),
        reason="used lstm_core's optimizer code",
    ),
    Submission(
        "memory_other_lr",
        "fit_memory trains with lr=0.02 instead of the settings given",
        edits=((FIT_MEMORY, FIT_MEMORY.replace("lr=0.01", "lr=0.02")),),
        broken=MEMORY,
        reason="epoch losses against the course's training",
    ),
    Submission(
        "memory_without_rng",
        "fit_memory leaves out rng=0: its shuffles are not the course's",
        edits=((FIT_MEMORY, FIT_MEMORY.replace(", rng=0)", ")")),),
        broken=MEMORY,
        reason="the settings the notebook fixes (Adam(lr=0.01), epochs=40, batch_size=64, "
        "clip_norm=1.0, rng=0)",
    ),
    Submission(
        "memory_with_reference_fit",
        "fit_memory hands the training to lstm_core.fit",
        edits=(
            (
                FIT_MEMORY,
                "    optimizer = lstm_core.Adam(lr=0.01)\n"
                "    return lstm_core.fit(x, y, params, optimizer=optimizer, epochs=40, "
                'batch_size=64, clip_norm=1.0, rng=0)["loss"]',
            ),
        ),
        broken=MEMORY,
        reason="used lstm_core's optimizer code",
    ),
    # Second review: mistakes that passed the visible tests, or failed them with a misleading
    # message.
    Submission(
        "adam_eps_squared_under_sqrt",
        "Adam divides by sqrt(v_hat + eps**2): right to round-off for eps = 1e-8, not the course's",
        edits=(
            (
                ADAM_UPDATE,
                ADAM_UPDATE.replace("(np.sqrt(v_hat) + self.eps)", "np.sqrt(v_hat + self.eps**2)"),
            ),
        ),
        broken=("test_adam", *TRAININGS),
        reason="got -0.0949 = -lr * 3 / sqrt(9 + 1)",
    ),
    Submission(
        "adam_counts_after_the_update",
        "Adam counts the step after updating: the first step's bias correction divides by "
        "1 - beta**0 = 0",
        edits=(
            (
                "        self.t += 1\n        for k, g in grads.items():\n",
                "        for k, g in grads.items():\n",
            ),
            (ADAM_UPDATE, ADAM_UPDATE + "\n        self.t += 1"),
        ),
        broken=("test_adam", *TRAININGS),
        reason="Adam's first step divided by zero (divide by zero encountered",
    ),
    Submission(
        "train_replaces_params",
        "train steps a copy of params and rebinds the name: the caller's params never change",
        edits=(
            (
                "            optimizer.step(params, grads)",
                "            new = {k: v.copy() for k, v in params.items()}\n"
                "            optimizer.step(new, grads)\n"
                "            params = new",
            ),
        ),
        broken=("test_train", *TRAININGS),
        reason="params['W'] is still [0. 0.]",
    ),
    Submission(
        "train_targets_not_shuffled",
        "train shuffles the examples but takes the targets of a mini-batch in the original order",
        edits=((LOSS_CALL, LOSS_CALL.replace("y[idx]", "y[lo : lo + batch_size]")),),
        broken=("test_train", *MEMORY),
        reason="the targets of mini-batch 0 are not those of its examples",
    ),
    # Third review (students): mistakes that the visible tests and the hidden ones let through.
    Submission(
        "adam_state_by_position",
        "Adam keeps m and v in lists in the order of params: a step with the gradient of a "
        "later array only reads the first array's state, as do the memory trainings, whose "
        "model_loss returns the read-out's gradients first (before this review test_adam gave "
        "it full points, and only the trainings failed, with a bare ValueError)",
        edits=STATE_BY_POSITION,
        broken=("test_adam", *MEMORY),
        reason="this step brought gradients for 'b' only: keep m and v in dicts by key",
    ),
    Submission(
        "adam_keras_eps",
        "Adam's default eps is Keras's 1e-7, not the signature's 1e-8 (before this review only "
        "the trainings failed, test_adam passed)",
        edits=((ADAM_INIT, ADAM_INIT.replace("eps=1e-8", "eps=1e-7")),),
        broken=("test_adam", *TRAININGS),
        reason="are the defaults those of the signature",
    ),
    Submission(
        "adam_default_lr",
        "Adam's default lr is 1e-2, not the signature's 1e-3: the notebook's calls all give lr "
        "(before this review, full points)",
        edits=((ADAM_INIT, ADAM_INIT.replace("lr=1e-3", "lr=1e-2")),),
        broken=("test_adam",),
        reason="are the defaults those of the signature",
    ),
    Submission(
        "clip_returns_grads_itself",
        "clip_grad_norm returns the caller's grads dict itself below the limit, not a new dict "
        "(before this review, full points)",
        edits=(("        return dict(grads), norm", "        return grads, norm"),),
        broken=("test_clip_grad_norm",),
        reason="returned the grads dict itself",
    ),
    Submission(
        "clip_by_value",
        "clip_grad_norm clips every value to [-max_norm, max_norm], by value, not by the norm",
        edits=(
            (
                CLIP,
                "    return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}, norm",
            ),
        ),
        broken=("test_clip_grad_norm", *MEMORY),
        reason="or each value, as clipping by value does",
    ),
    Submission(
        "adam_second_moment_of_g",
        "Adam's v averages the gradient g instead of its square g**2",
        edits=((SECOND_MOMENT, SECOND_MOMENT.replace("g * g", "g")),),
        broken=("test_adam", *TRAININGS),
        reason="square root of a negative number",
    ),
    Submission(
        "clip_torch_eps",
        "clip_grad_norm scales by max_norm / (norm + 1e-6), as PyTorch's clip_grad_norm_ does",
        edits=((CLIP, CLIP.replace("/ norm", "/ (norm + 1e-6)")),),
        # The RNN's 40 epochs drift from the course's beyond rtol 1e-6, the LSTM's do not.
        broken=("test_clip_grad_norm", "test_memory_rnn"),
        reason="no small eps added",
    ),
    Submission(
        "companies_without_return",
        "fit_companies trains but does not return train's losses",
        edits=((FIT_COMPANIES, FIT_COMPANIES.replace("return ", "")),),
        broken=("test_companies",),
        reason="is the return missing?",
    ),
    Submission(
        "memory_without_return",
        "fit_memory trains but does not return train's losses",
        edits=((FIT_MEMORY, FIT_MEMORY.replace("return ", "")),),
        broken=MEMORY,
        reason="is the return missing?",
    ),
    Submission(
        "clip_without_return",
        "clip_grad_norm scales the gradients but does not return them when it clips",
        edits=((CLIP, CLIP.replace("    return {", "    {")),),
        broken=("test_clip_grad_norm", *MEMORY),
        reason="is the return missing?",
    ),
    Submission(
        "batch_size_none_as_one",
        "train takes batch_size=None as mini-batches of one example, not the whole data set",
        edits=((WHOLE_BATCH, WHOLE_BATCH.replace("= N if", "= 1 if")),),
        broken=("test_train", "test_companies"),
        reason="batch_size=None means batch_size = N",
    ),
    Submission(
        "adam_correction_power_of_one_minus_beta",
        "Adam's bias correction divides by (1 - beta)**t instead of 1 - beta**t",
        edits=((BIAS_CORRECTION, POWER_OF_ONE_MINUS_BETA),),
        broken=("test_adam", *TRAININGS),
        reason="the bias correction written (1 - beta)**t",
    ),
    Submission(
        "adam_stores_corrected_moments",
        "Adam stores m_hat and v_hat back into m and v",
        edits=((BIAS_CORRECTION, CORRECTED_STORED),),
        broken=("test_adam", *TRAININGS),
        reason="m_hat and v_hat stored back into m and v",
    ),
]


class TestGrading(GradedAssignment):
    assignment = "ps06_training"
    submissions = SUBMISSIONS


def solution_namespace(*replace: tuple[str, str]) -> dict:
    """assignment_suite.solution_namespace of this problem set's solution notebook."""
    return assignment_suite.solution_namespace(NOTEBOOK, *replace)


def trained_companies(namespace: dict) -> dict:
    """The namespace after the visible test of part 4 (which check_companies reads)."""
    params = namespace["init_model"]("lstm", 1, 1, rng=0)
    namespace.update(params=params, losses=namespace["fit_companies"](params))
    return namespace


def test_the_notebook_takes_model_loss_from_lstm_core_in_the_course_order():
    """No wrapper that swaps the order back: the setup imports lstm_core.model_loss itself."""
    namespace = solution_namespace()
    assert namespace["model_loss"] is lstm_core.model_loss


def test_the_hidden_checks_pass_the_solution():
    namespace = trained_companies(solution_namespace())
    ps06.check_clip_grad_norm(namespace["clip_grad_norm"])
    ps06.check_adam(namespace["Adam"])
    ps06.check_train(namespace["train"], namespace)
    ps06.check_companies(namespace["fit_companies"], namespace)
    ps06.check_memory(namespace["fit_memory"], "lstm")


def test_check_companies_stops_its_second_run_through_the_imported_model_loss():
    """check_companies swaps the notebook's model_loss (lstm_core's own, imported) for a stand-in
    that lets three calls through and stops the run; the name is restored afterwards."""
    namespace = trained_companies(solution_namespace())
    calls = []

    def counting(*args, **kwargs):
        calls.append(args)
        return lstm_core.model_loss(*args, **kwargs)

    namespace["model_loss"] = counting
    ps06.check_companies(namespace["fit_companies"], namespace)
    assert len(calls) == 3  # the stand-in's limit: the fourth call raises before reaching it
    x, y = lstm_core.two_companies()
    for args in calls:  # one batch of all the data, first; then the params
        assert np.array_equal(args[0], x) and np.array_equal(args[1], y)
        assert isinstance(args[2], dict)
    assert namespace["model_loss"] is counting


# fit_companies variants whose second, watched run trains otherwise than their first (the
# visible test's, not watched): (module-level prelude, last line(s), what the check says).
RUN_AGAIN = {
    # lstm_core's Adam the first time it is called, its own broken one after (lr=0.2 stands
    # for the bug): the first run's losses and weights are right.
    "lstm_cores_adam_in_the_visible_run_alone": (
        "_CALLS = []",
        "    _CALLS.append(1)\n"
        "    mine = lstm_core.Adam(lr=0.1) if len(_CALLS) == 1 else Adam(lr=0.2)\n"
        "    return train(x, y, params, model_loss, mine, epochs=1000)",
        r"run again.*params\['Wx'\] after 1 step\(s\)",
    ),
    # The first run's losses kept and returned again (no call of the notebook's model_loss:
    # judged by the losses it returns, not the new start's).
    "its_first_losses_returned_again": (
        "_KEPT = []",
        "    if not _KEPT:\n"
        "        _KEPT.append(train(x, y, params, model_loss, Adam(lr=0.1), epochs=1000))\n"
        "    return list(_KEPT[0])",
        r"run again.*epoch losses against the course's",
    ),
}


@pytest.mark.parametrize("variant", list(RUN_AGAIN))
def test_a_fit_companies_that_trains_otherwise_when_run_again_fails(variant):
    """check_companies compares the visible test's run of fit_companies (not watched) with the
    reference's; its second, watched run must train as the reference does too. Before (found
    in review), that run was only stopped after three steps: both variants passed."""
    prelude, body, says = RUN_AGAIN[variant]
    namespace = trained_with(prelude, body)
    with pytest.raises(AssertionError, match=says):
        ps06.check_companies(namespace["fit_companies"], namespace)


def test_a_fit_companies_that_calls_lstm_cores_model_loss_by_name_passes():
    """Run again, a fit_companies that does not call the notebook's model_loss is judged by the
    losses it returns: lstm_core's own model_loss, called by name, is the same loss."""
    by_name = "    return train(x, y, params, lstm_core.model_loss, Adam(lr=0.1), epochs=1000)"
    namespace = trained_with("_KEPT = []", by_name)
    ps06.check_companies(namespace["fit_companies"], namespace)


def _steps_with(adam_class):
    """A stand-in training: two steps of ``adam_class(lr=0.1)`` on one array."""

    def fit():
        params, optimizer = {"w": np.ones(2)}, adam_class(lr=0.1)
        for _ in range(2):
            optimizer.step(params, {"w": np.ones(2)})
        return [0.0, 0.0]

    return fit


def _fresh_lstm_core():
    """lstm_core loaded afresh from its files under another name, as a notebook could."""
    import importlib.util

    folder = Path(lstm_core.__file__).parent
    spec = importlib.util.spec_from_file_location(
        "my_copy", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["my_copy"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        for name in [n for n in sys.modules if n == "my_copy" or n.startswith("my_copy.")]:
            del sys.modules[name]
    return module


def test_a_training_with_another_copy_of_lstm_cores_adam_is_refused():
    """_watched swaps the code of the imported lstm_core's optimizers, which a copy made in the
    notebook (the grading package's private one, reference("Adam") in a cell, or lstm_core
    loaded afresh from its files) does not share, and the reference would hand its Adam to a
    function that asked. Before (found in review), fit_memory and fit_companies could train
    with any of these and pass as the student's own training."""
    from lstm_grading.checks import reference

    ran = r"^this training ran lstm_core's optimizer code \(Adam\.__init__, from a copy"
    with pytest.raises(AssertionError, match=ran):
        ps06._watched(_steps_with(reference("Adam")))
    with pytest.raises(AssertionError, match=ran):
        ps06._watched(_steps_with(_fresh_lstm_core().Adam))

    def unwatched():
        sys.settrace(None)
        return _steps_with(_fresh_lstm_core().Adam)()

    with pytest.raises(AssertionError, match=r"^this training changed sys\.settrace"):
        ps06._watched(unwatched)

    def asks():
        return _steps_with(reference("Adam"))()

    with pytest.raises(AssertionError, match=r"asked the grading package for the reference's Ad"):
        ps06._watched(asks)
    assert ps06._watched(_steps_with(solution_namespace()["Adam"])) == [0.0, 0.0]
    assert reference("Adam")(lr=0.1).lr == 0.1  # given out again after the call


def test_a_training_with_a_copy_of_lstm_cores_adam_in_a_thread_is_refused():
    """A trace function is a thread's own: a copy of lstm_core's Adam run in a thread the
    training started went unseen, and the training passed as the student's own."""
    copy = _fresh_lstm_core().Adam

    def in_a_thread():
        out = []
        thread = threading.Thread(target=lambda: out.append(_steps_with(copy)()))
        thread.start()
        thread.join()
        return out[0]

    ran = r"^this training ran lstm_core's optimizer code \(Adam\.__init__, from a copy"
    with pytest.raises(AssertionError, match=ran):
        ps06._watched(in_a_thread)
    assert threading.gettrace() is None


def test_a_module_of_the_notebook_in_place_of_lstm_core_does_not_blind_the_training_watch(
    monkeypatch,
):
    """_watched took the folder of the optimizers it watches from lstm_core.__file__, through
    sys.modules: a notebook module there, its __file__ elsewhere, let a copy of lstm_core's
    Adam train unseen. The folder is the one found when the kernel started."""
    import types

    from lstm_grading import checks

    checks._package_dir("lstm_core")  # as the kernel guard does, when the kernel starts
    copy = _fresh_lstm_core().Adam
    fake = types.ModuleType("lstm_core")
    fake.__file__ = "/nonexistent/lstm_core/__init__.py"
    monkeypatch.setitem(sys.modules, "lstm_core", fake)
    ran = r"^this training ran lstm_core's optimizer code \(Adam\.__init__, from a copy"
    with pytest.raises(AssertionError, match=ran):
        ps06._watched(_steps_with(copy))


def test_check_train_names_the_argument_order():
    """A loop that calls loss_fn(params, x, y), the order the course dropped, is told so."""
    namespace = solution_namespace(
        (
            "loss, grads = loss_fn(x[idx], y[idx], params)",
            "loss, grads = loss_fn(params, x[idx], y[idx])",
        )
    )
    with pytest.raises(AssertionError, match=r"loss_fn\(x_batch, y_batch, params\)"):
        ps06.check_train(namespace["train"], namespace)


def test_the_book_page_and_the_intro_quote_the_notebook_signatures():
    """The signatures the assignment page and the notebook's intro quote are the solution's."""
    import ast

    cells = json.loads(NOTEBOOK.read_text())["cells"]
    tree = ast.parse("\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"))
    signature = {
        node.name: f"{node.name}({', '.join(a.arg for a in node.args.args)})"
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }
    page = " ".join((NOTEBOOK.parents[2] / "book/assignments/ps06-training.md").read_text().split())
    intro = "".join(cells[0]["source"])
    assert signature["fit_memory"] == "fit_memory(x, y, params)"  # the course's rule: data first
    for name in ("train", "fit_companies", "fit_memory"):
        assert signature[name] in page, signature[name]
    assert signature["fit_companies"] in intro and signature["fit_memory"] in intro
    assert signature["train"].replace(", batch_size, clip_norm, rng)", ", ...)") in intro


def test_check_adam_points_at_a_counter_kept_per_parameter():
    """Adam with a step counter per parameter first differs at the step after the partial one:
    the message says the counter is shared."""
    namespace = solution_namespace(*COUNTER_PER_PARAMETER)
    with pytest.raises(AssertionError, match=r"after step 5 .*is the step counter t shared"):
        ps06.check_adam(namespace["Adam"])


def test_check_clip_grad_norm_names_the_division_by_zero():
    namespace = solution_namespace(*CLIP_BY_MIN)
    with pytest.raises(AssertionError, match=r"divide by zero .*must not divide by zero"):
        ps06.check_clip_grad_norm(namespace["clip_grad_norm"])


def test_a_training_that_differs_is_told_the_settings_and_the_pieces_to_check():
    namespace = solution_namespace((FIT_MEMORY, FIT_MEMORY.replace(", rng=0)", ")")))
    with pytest.raises(AssertionError) as info:
        ps06.check_memory(namespace["fit_memory"], "lstm")
    message = str(info.value)
    assert "(Adam(lr=0.01), epochs=40, batch_size=64, clip_norm=1.0, rng=0)" in message
    assert "test_adam, test_clip_grad_norm and test_train" in message


def test_check_train_names_params_left_unchanged():
    namespace = solution_namespace(
        (
            "            optimizer.step(params, grads)",
            "            new = {k: v.copy() for k, v in params.items()}\n"
            "            optimizer.step(new, grads)\n"
            "            params = new",
        )
    )
    with pytest.raises(AssertionError, match=r"left the caller's params unchanged"):
        ps06.check_train(namespace["train"], namespace)


def test_check_adam_points_at_state_kept_by_position():
    """Adam with m and v in lists by position fails at the step that brings the last array's
    gradient only, and is told to keep them by key."""
    namespace = solution_namespace(*STATE_BY_POSITION)
    with pytest.raises(AssertionError, match=r"at step 11 .*gradients for 'b' only: keep m and v"):
        ps06.check_adam(namespace["Adam"])


@pytest.mark.parametrize(
    "default", ["lr=1e-2", "beta1=0.99", "beta2=0.99", "eps=1e-7"], ids=lambda d: d
)
def test_check_adam_checks_the_defaults(default):
    """Every default of Adam's signature is checked (the notebook's trainings give lr only)."""
    name = default.partition("=")[0]
    right = re.search(rf"{name}=[0-9.e-]+", ADAM_INIT).group()
    namespace = solution_namespace((ADAM_INIT, ADAM_INIT.replace(right, default)))
    with pytest.raises(AssertionError, match=r"Adam\(\), the defaults.*are the defaults"):
        ps06.check_adam(namespace["Adam"])


def visible_failure(grade_id: str, *replace: tuple[str, str]) -> str | None:
    """assignment_suite.visible_failure of this problem set's solution notebook."""
    return assignment_suite.visible_failure(NOTEBOOK, grade_id, *replace)


NOT_WRITTEN = "        raise NotImplementedError()\n"


@pytest.mark.parametrize(
    ("grade_id", "old", "new", "named"),
    [
        ("test_companies", FIT_COMPANIES, "    raise NotImplementedError()", "fit_companies"),
        ("test_companies", "        self.t += 1\n", NOT_WRITTEN, "Adam.step"),
        ("test_memory_lstm", FIT_MEMORY, "    raise NotImplementedError()", "fit_memory"),
        ("test_memory_rnn", ORDER + "\n", NOT_WRITTEN, "train"),
    ],
)
def test_the_training_tests_name_the_function_not_written_yet(grade_id, old, new, named):
    """Found in a student's walk: with fit_companies itself not written yet, its test blamed
    train, Adam and clip_grad_norm ("does each of them pass its own test cell above?"); a
    NotImplementedError now names the function that raised it."""
    message = visible_failure(grade_id, (old, new))
    assert message is not None and message.startswith(
        f"{grade_id.replace('test_', 'fit_').replace('_lstm', '').replace('_rnn', '')} "
        "raised NotImplementedError"
    ), message
    assert f"{named} is not written yet" in message, message
    assert "does each of them pass" not in message, message


def test_the_training_tests_name_the_settings_when_the_model_does_not_learn():
    """Found in a student's walk: too short a training (100 epochs) was told only "are the params
    trained in place?", and fit_memory with Adam's default rate only its error; both messages
    now name the settings the notebook fixes."""
    short = visible_failure("test_companies", (FIT_COMPANIES, FIT_COMPANIES.replace("1000", "100")))
    assert short is not None and "should be within 0.1 of" in short, short
    assert "Adam(lr=0.1), epochs=1000, one batch of all examples, no clipping" in short, short
    slow = visible_failure("test_memory_lstm", (FIT_MEMORY, FIT_MEMORY.replace("lr=0.01", "")))
    assert slow is not None and "not below 0.05" in slow, slow
    settings = "(Adam(lr=0.01), epochs=40, batch_size=64, clip_norm=1.0, rng=0)"
    assert f"the settings the notebook fixes {settings}" in slow, slow


@pytest.mark.parametrize(
    ("old", "new", "hint"),
    [
        (
            NORM,
            "    norm = float(sum(np.linalg.norm(g) for g in grads.values()))",
            "; 7.0 is the sum of the arrays' own norms (3 + 4): the global norm is the square "
            "root of the sum of the squares of every entry of every array",
        ),
        (
            NORM,
            NORM.replace("np.sqrt(", "("),
            "; 25.0 is the sum of the squares: take its square root",
        ),
        (
            CLIP,
            CLIP.replace("}, norm", "}, max_norm"),
            "; 1.0 is max_norm, the norm after clipping: return the norm the gradients had before",
        ),
    ],
)
def test_the_clipping_test_names_the_norm_computed_instead(old, new, hint):
    """Found in a student's walk: the sum of the arrays' own norms (3 + 4 = 7, where the global
    norm is 5) was told only "the norm before clipping should be 5.0, got 7.0", and the norm
    after clipping (max_norm, 1.0) only "got 1.0"."""
    message = visible_failure("test_clip_grad_norm", (old, new))
    assert message is not None and message.startswith("the norm before clipping should be 5.0")
    assert message.endswith(hint), message


def test_the_clipping_test_names_no_norm_for_an_array_of_norms():
    """The hint compares only a float with 7 and 25: a norm returned as an array (one per array
    of grads) gets the plain message, not a ValueError from asking an array for its truth
    value."""
    per_array = "[np.linalg.norm(g) for g in grads.values()]"
    message = visible_failure(
        "test_clip_grad_norm", (CLIP, CLIP.replace("}, norm", f"}}, np.array({per_array})"))
    )
    assert message == "the norm before clipping should be 5.0, got array([3., 4.])", message


def test_the_adam_test_names_a_second_moment_of_g_not_g_squared():
    """Found in a student's walk: v averaging g instead of g**2 takes the square root of a
    negative number on the first step, and the test blamed a division by zero at t = 0 ("count
    the step first"), a cause this code does not have."""
    message = visible_failure("test_adam", (SECOND_MOMENT, SECOND_MOMENT.replace("g * g", "g")))
    assert message is not None and "square root of a negative number" in message, message
    assert "g**2" in message and "divided by zero" not in message, message
    # A step counted after the update still hears about its division by zero.
    late = visible_failure(
        "test_adam",
        ("        self.t += 1\n", ""),
        (ADAM_UPDATE, ADAM_UPDATE + "\n        self.t += 1"),
    )
    assert late is not None and late.startswith("Adam's first step divided by zero"), late


def test_the_clipping_test_names_an_eps_added_to_the_norm():
    """Found in a student's walk: max_norm / (norm + 1e-6), as PyTorch's clip_grad_norm_ scales,
    passed the visible test (np.allclose's default tolerance) and failed every hidden case,
    which compares with the course's clipping to rtol 1e-12."""
    message = visible_failure(
        "test_clip_grad_norm", (CLIP, CLIP.replace("/ norm", "/ (norm + 1e-6)"))
    )
    assert message is not None and message.startswith(
        "every array should be scaled by exactly max_norm / norm = 1/5"
    ), message
    assert "no small eps added" in message, message


@pytest.mark.parametrize(
    ("grade_id", "old", "epochs"),
    [
        ("test_companies", FIT_COMPANIES, 1000),
        ("test_memory_lstm", FIT_MEMORY, 40),
        ("test_memory_rnn", FIT_MEMORY, 40),
    ],
    ids=["companies", "memory_lstm", "memory_rnn"],
)
def test_the_training_tests_name_a_missing_return(grade_id, old, epochs):
    """Found in a student's walk: fit_companies without its return failed the visible test with
    "TypeError: object of type 'NoneType' has no len()" from the test's printout, and
    fit_memory without it passed both visible tests, then lost all three points' cells to the
    hidden ones ("should return the list of its 40 epoch losses")."""
    message = visible_failure(grade_id, (old, old.replace("return ", "")))
    name = "fit_companies" if grade_id == "test_companies" else "fit_memory"
    assert message == (
        f"{name} should return the list of its {epochs} epoch losses, the list train returns; "
        "got None (is the return missing?)"
    ), message


@pytest.mark.parametrize(
    ("returned", "got"), [("    {", "None (is the return missing?)"), ("    return {", "a dict")]
)
def test_the_clipping_test_names_a_result_that_is_not_a_pair(returned, got):
    """Found in a student's walk: clip_grad_norm without its return (or returning the dict
    alone) failed its only test with the bare TypeError (or ValueError) of the test's own
    `clipped, norm = clip_grad_norm(...)`; it now says what came back."""
    edit = CLIP.replace("    return {", returned).replace(
        "}, norm", "}" if "return" in returned else "}, norm"
    )
    message = visible_failure("test_clip_grad_norm", (CLIP, edit))
    assert message == f"clip_grad_norm should return the pair (clipped, norm), got {got}", message


@pytest.mark.parametrize("default", ["1", "2"])
def test_the_train_test_names_batch_size_none_taken_as_small_batches(default):
    """Found in a student's walk: train taking batch_size=None as batches of 1 (or 2) was told
    "clip_grad_norm(grads, 0.7) should run once per step; calls: [0.7, 0.7, ...]", which
    blames the clipping; it now says that batch_size=None means the whole data set."""
    message = visible_failure(
        "test_train", (WHOLE_BATCH, WHOLE_BATCH.replace("= N if", f"= {default} if"))
    )
    # The test cell trains on N = 10 examples: 10 steps of one, 5 of two.
    assert message == (
        "one epoch without batch_size should be one step, the whole data set as one batch; it "
        f"took {10 // int(default)} steps: batch_size=None means batch_size = N"
    ), message


@pytest.mark.parametrize(
    ("new", "hint"),
    [
        (POWER_OF_ONE_MINUS_BETA, "the bias correction written (1 - beta)**t: it is 1 - beta**t"),
        (CORRECTED_STORED, "m_hat and v_hat stored back into m and v: keep m and v the plain"),
    ],
    ids=["power_of_one_minus_beta", "corrected_stored"],
)
def test_the_adam_test_names_a_wrong_second_step(new, hint):
    """Found in a student's walk: the bias correction written (1 - beta)**t, and m_hat and v_hat
    stored back into m and v, both give a right first step and a wrong second one, and were
    told only "after two steps w should be [0.98196959, -0.98733663], got ..."; both are now
    named."""
    message = visible_failure("test_adam", (BIAS_CORRECTION, new))
    assert message is not None and message.startswith(
        "after two steps w should be [0.98196959, -0.98733663], got "
    ), message
    assert f"]: {hint}" in message, message


@pytest.mark.parametrize(
    ("corrected", "left_out", "size", "hint"),
    [
        (
            "m",
            "v_hat = self.v[k] / (1 - self.beta2**self.t)",
            "lr / sqrt(1 - beta2)",
            "v_hat = v /",
        ),
        ("v", "m_hat = self.m[k] / (1 - self.beta1**self.t)", "lr * (1 - beta1)", "m_hat = m /"),
    ],
    ids=["v_uncorrected", "m_uncorrected"],
)
def test_the_adam_test_names_the_one_bias_correction_left_out(corrected, left_out, size, hint):
    """Found in a student's walk: with only one of the two bias corrections, the first step is
    lr / sqrt(1 - beta2) (3.16 lr) or lr * (1 - beta1) (0.1 lr), and the test said only that it
    should be lr; it now names the moment left uncorrected."""
    name = left_out.split(" = ")[0]
    message = visible_failure(
        "test_adam",
        (BIAS_CORRECTION, BIAS_CORRECTION.replace(left_out, f"{name} = self.{name[0]}[k]")),
    )
    assert message is not None and message.startswith(
        "the first step should have size lr = 0.1, got ["
    ), message
    assert f"]: that is {size}, the step with {corrected} bias-corrected" in message, message
    assert hint in message, message


def test_the_clipping_test_names_clipped_gradients_returned_as_a_list():
    """Found in a student's walk: the clipped gradients returned as a list of arrays stopped the
    visible test on a bare "TypeError: unhashable type: 'numpy.ndarray'" (its set(clipped));
    the test now says a dict with the keys of grads is wanted."""
    edit = (
        "    return {k: g * scale for k, g in grads.items()}, norm",
        "    return [g * scale for g in grads.values()], norm",
    )
    message = assignment_suite.visible_failure(NOTEBOOK, "test_clip_grad_norm", edit)
    assert message is not None and message.startswith(
        "clip_grad_norm should return the clipped gradients as a dict with the keys of grads, "
        "got a list"
    ), message


def test_the_clipping_test_refuses_the_grads_dict_itself_as_the_hidden_one_does():
    """Found in a student's walk: below max_norm, `return grads, norm` passed the visible test
    and lost the cell's hidden points ("returned the grads dict itself"); both now say so."""
    edit = ("        return dict(grads), norm", "        return grads, norm")
    message = assignment_suite.visible_failure(NOTEBOOK, "test_clip_grad_norm", edit)
    assert message is not None and message.startswith(
        "below max_norm, clip_grad_norm returned the grads dict itself"
    ), message
    clip = assignment_suite.solution_namespace(NOTEBOOK, edit)["clip_grad_norm"]
    with pytest.raises(AssertionError, match="returned the grads dict itself"):
        ps06.check_clip_grad_norm(clip)


def test_the_adam_test_names_a_first_step_right_to_float32_precision():
    """Found in a student's walk: m kept in float32 was told "the first step should be ... =
    -0.075, got -0.07500000298023224", a value that seems to agree; the 7 digits are named."""
    m = "            self.m[k] = self.beta1 * self.m.get(k, 0.0) + (1 - self.beta1) * g\n"
    edit = (m, m.replace(" = ", " = (").replace(" * g\n", " * g).astype(np.float32)\n"))
    message = assignment_suite.visible_failure(NOTEBOOK, "test_adam", edit)
    assert message is not None and message.endswith(
        "got -0.07500000298023224: right to only about 7 digits: were m or v (or the step) "
        "computed in float32?"
    ), message
