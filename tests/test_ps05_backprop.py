"""Problem set 5 (gradient checking, the backward step, BPTT) graded end to end by nbgrader.

Each submission is the solution with one bug and the exact grade cells it must lose; see
tests/assignment_suite.py for what is checked. Every bug in parts 1-3 that changes a gradient
also fails the gradient check of part 4, which runs all of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import assignment_suite
import pytest
from assignment_suite import GradedAssignment, Submission

from lstm_grading.hidden import ps05

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions/ps05_backprop/ps05_backprop.ipynb"

DC_TOTAL = (
    "    dc_total = dc + dh * o * (1.0 - tanh_c**2)  # a new array: dc itself stays as it was"
)
BLOCKS = (
    "            dc_total * g * i * (1.0 - i),  # input gate\n"
    '            dc_total * cache["c_prev"] * f * (1.0 - f),  # forget gate\n'
    "            dh * tanh_c * o * (1.0 - o),  # output gate\n"
    "            dc_total * i * (1.0 - g**2),  # candidate"
)
GRADS = '    grads = {"Wx": cache["x"].T @ da, "Wh": cache["h_prev"].T @ da, "b": da.sum(axis=0)}'
RETURN = '    return da @ p["Wx"].T, da @ p["Wh"].T, dc_total * f, grads'
BPTT_STEP = (
    "        dx[:, t], dh, dc, step_grads = lstm_step_backward(dhs[:, t] + dh, dc, cache[t])"
)
ACCUMULATE = "        for k in grads:\n            grads[k] += step_grads[k]"
BPTT_RETURN = "    return dx, dh, dc, grads\n"
NUMGRAD = (
    "        x[k] = old + h\n"
    "        plus = np.array(f(x), dtype=float)  # a copy: f may return an array it later changes\n"
    "        x[k] = old - h\n"
    "        minus = np.array(f(x), dtype=float)\n"
    "        x[k] = old  # exactly the old value"
)
# x[k] += h, x[k] -= 2 * h, x[k] += h: round-off does not always give x back exactly.
NOT_RESTORED = NUMGRAD.replace("x[k] = old - h", "x[k] -= 2 * h").replace(
    "x[k] = old  # exactly the old value", "x[k] += h"
)
REL_ERROR = "    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))"
GRADIENT_ERRORS = (
    "    return {name: rel_error(analytic[name], numerical_gradient(f, a, dhs)) "
    "for name, a in inputs.items()}"
)
# The slopes of ps01's sigmoid_grad and tanh_grad, which take a pre-activation, applied to the
# cached gate values, which are squashed already.
SQUASHED_AGAIN = (
    BLOCKS.replace("i * (1.0 - i)", "sigmoid(i) * (1.0 - sigmoid(i))")
    .replace("f * (1.0 - f)", "sigmoid(f) * (1.0 - sigmoid(f))")
    .replace("o * (1.0 - o)", "sigmoid(o) * (1.0 - sigmoid(o))")
    .replace("(1.0 - g**2)", "(1.0 - np.tanh(g) ** 2)")
)
STEP_CELLS = ("test_step_backward_inputs", "test_step_backward_params", "test_gradient_check")

SUBMISSIONS = [
    Submission(
        "rel_error_mean",
        "rel_error averages the entries' errors instead of taking the largest",
        edits=((REL_ERROR, REL_ERROR.replace("np.max(", "np.mean(")),),
        broken=("test_rel_error", "test_gradient_check"),
        reason="should be the largest entry's error",
    ),
    Submission(
        "relative_without_abs",
        "rel_error divides by a + b instead of |a| + |b|",
        edits=((REL_ERROR, REL_ERROR.replace("np.abs(a) + np.abs(b)", "a + b")),),
        broken=("test_rel_error", "test_gradient_check"),
        reason="use absolute values",
    ),
    Submission(
        "one_sided_difference",
        "numerical_gradient uses the forward difference (f(x + h) - f(x)) / h",
        edits=(
            (NUMGRAD, NUMGRAD.replace("x[k] = old - h", "x[k] = old")),
            ("/ (2 * h)\n    return grad", "/ h\n    return grad"),
        ),
        broken=("test_numerical_gradient", "test_gradient_check"),
        reason="use the centred difference",
    ),
    Submission(
        "perturbs_a_copy",
        "numerical_gradient perturbs a copy of x, so an f that reads x from outside never changes",
        edits=(
            ("    grad = np.zeros(x.shape)\n", "    grad = np.zeros(x.shape)\n    x = x.copy()\n"),
        ),
        broken=("test_numerical_gradient", "test_gradient_check"),
        reason="perturb x itself",
    ),
    Submission(
        "numgrad_no_copy",
        "numerical_gradient keeps what f returns without copying it",
        edits=(
            (
                NUMGRAD,
                NUMGRAD.replace("np.array(f(x), dtype=float)", "np.asarray(f(x))"),
            ),
        ),
        broken=("test_numerical_gradient",),
        reason="copy what f returns (np.array(f(x))) before calling f again",
    ),
    Submission(
        "numgrad_not_restored",
        "numerical_gradient undoes its steps by arithmetic, which does not give x back exactly",
        edits=((NUMGRAD, NOT_RESTORED),),
        broken=("test_numerical_gradient", "test_gradient_check"),
        reason="keep each old value and write it back",
    ),
    Submission(
        "numgrad_steps_by_adding",
        "numerical_gradient steps by x[k] += h, x[k] -= 2 * h, x[k] += h: gradient_errors's "
        "arguments are not restored exactly",
        edits=((NUMGRAD, NOT_RESTORED.replace("x[k] = old + h", "x[k] += h")),),
        broken=("test_numerical_gradient", "test_gradient_check"),
        reason="was not restored exactly after numerical_gradient perturbed it",
    ),
    Submission(
        "forgets_dc_from_next_step",
        "the step's total cell gradient leaves out dc, the gradient from the next step",
        edits=((DC_TOTAL, "    dc_total = dh * o * (1.0 - tanh_c**2)"),),
        broken=STEP_CELLS,
        reason="is the gradient dc from the next step added in?",
    ),
    Submission(
        "dc_modified_in_place",
        "right values, but dc_total is built by adding into the caller's dc",
        edits=((DC_TOTAL, "    dc_total = dc\n    dc_total += dh * o * (1.0 - tanh_c**2)"),),
        broken=("test_step_backward_inputs", "test_step_backward_params"),
        reason="changed dh or dc in place",
    ),
    Submission(
        "torch_gate_order",
        "the gradient blocks stacked in PyTorch's order i, f, g, o instead of GATES",
        edits=(
            (
                BLOCKS,
                "            dc_total * g * i * (1.0 - i),  # input gate\n"
                '            dc_total * cache["c_prev"] * f * (1.0 - f),  # forget gate\n'
                "            dc_total * i * (1.0 - g**2),  # candidate\n"
                "            dh * tanh_c * o * (1.0 - o),  # output gate",
            ),
        ),
        broken=STEP_CELLS,
        reason="it matches da with its gate blocks stacked in the order i, f, g, o",
    ),
    Submission(
        "sigmoid_slope_sign",
        "the output gate's slope written o * (o - 1): a sign error",
        edits=((BLOCKS, BLOCKS.replace("o * (1.0 - o)", "o * (o - 1.0)")),),
        broken=STEP_CELLS,
        reason="dx disagrees with a directional derivative",
    ),
    Submission(
        "dc_prev_without_f",
        "dc_prev returned without the factor f",
        edits=((RETURN, RETURN.replace("dc_total * f", "dc_total")),),
        broken=("test_step_backward_inputs", "test_gradient_check"),
        reason="with dh = 0, dc_prev equals dc, the gradient on c",
    ),
    Submission(
        "bias_not_summed",
        "db is the per-example gradient, not summed over the batch",
        edits=((GRADS, GRADS.replace("da.sum(axis=0)", "da")),),
        broken=("test_step_backward_params", "test_gradient_check"),
        reason="sum da over the batch axis",
    ),
    Submission(
        "dwx_transposed",
        "dWx computed as da.T @ x, shape (4H, D)",
        edits=((GRADS, GRADS.replace('cache["x"].T @ da', 'da.T @ cache["x"]')),),
        broken=("test_step_backward_params", "test_gradient_check"),
        reason="transposed? dWx = x.T @ da",
    ),
    Submission(
        "bptt_drops_dh_from_next_step",
        "BPTT passes only dhs[:, t] to each step, not the dh_prev of the step after it",
        edits=((BPTT_STEP, BPTT_STEP.replace("dhs[:, t] + dh", "dhs[:, t]")),),
        broken=("test_lstm_backward", "test_gradient_check"),
        reason="plus the dh_prev returned by step t + 1",
    ),
    Submission(
        "bptt_overwrites_grads",
        "BPTT keeps the last computed (the first step's) gradients instead of summing",
        edits=((ACCUMULATE, "        grads = step_grads"),),
        broken=("test_lstm_backward", "test_gradient_check"),
        reason="holds the first step's gradient only",
    ),
    Submission(
        "bptt_adds_into_dhs",
        "right values, but BPTT adds the next step's dh into the caller's dhs",
        edits=(
            (
                BPTT_STEP,
                "        dhs[:, t] += dh\n" + BPTT_STEP.replace("dhs[:, t] + dh", "dhs[:, t]"),
            ),
        ),
        broken=("test_lstm_backward", "test_gradient_check"),
        reason="lstm_backward changed dhs in place",
    ),
    Submission(
        "bptt_ignores_dh_last",
        "BPTT starts from zeros whatever dh_last and dc_last say",
        edits=(
            (
                "    dh = np.zeros((N, H)) if dh_last is None else dh_last",
                "    dh = np.zeros((N, H))",
            ),
            (
                "    dc = np.zeros((N, H)) if dc_last is None else dc_last",
                "    dc = np.zeros((N, H))",
            ),
        ),
        broken=("test_lstm_backward",),
        reason="dh_last and dc_last given",
    ),
    Submission(
        "step_calls_reference",
        "lstm_step_backward recomputes the step with lstm_core and returns its gradients",
        edits=(
            (
                DC_TOTAL,
                "    import lstm_core as lc\n\n"
                '    ref = lc.lstm_step_forward(cache["x"], cache["h_prev"], cache["c_prev"], p)\n'
                "    return lc.lstm_step_backward(dh, dc, ref[2])\n" + DC_TOTAL,
            ),
        ),
        broken=STEP_CELLS,
        reason="imports the reference package",
    ),
    # Second review: mistakes that passed the visible tests, or failed them with a misleading
    # message.
    Submission(
        "rel_error_ratio_of_maxima",
        "rel_error divides the largest |a - b| by the largest |a| + |b|",
        edits=(
            (
                REL_ERROR,
                "    return float(np.max(np.abs(a - b)) "
                "/ max(1e-8, np.max(np.abs(a) + np.abs(b))))",
            ),
        ),
        broken=("test_rel_error", "test_gradient_check"),
        reason="(10), got 0.4; it should be the largest of the entries",
    ),
    Submission(
        "numgrad_default_step_too_large",
        "numerical_gradient's default step is h=1e-2 instead of 1e-5",
        edits=(
            (
                "def numerical_gradient(f, x, df=None, h=1e-5):",
                "def numerical_gradient(f, x, df=None, h=1e-2):",
            ),
        ),
        broken=("test_numerical_gradient", "test_gradient_check"),
        reason="centred differences with a step of h = 1e-02",
    ),
    Submission(
        "db_batch_mean",
        "db is the mean of da over the batch instead of its sum",
        edits=((GRADS, GRADS.replace("da.sum(axis=0)", "da.mean(axis=0)")),),
        broken=("test_step_backward_params", "test_gradient_check"),
        reason="grads['b'] is N = 3 times too small",
    ),
    Submission(
        "gradcheck_absolute_error",
        "gradient_errors reports the largest absolute difference instead of rel_error",
        edits=(
            (
                GRADIENT_ERRORS,
                GRADIENT_ERRORS.replace(
                    "rel_error(analytic[name], numerical_gradient(f, a, dhs))",
                    "float(np.max(np.abs(analytic[name] - numerical_gradient(f, a, dhs))))",
                ),
            ),
        ),
        broken=("test_gradient_check",),
        reason="5% off, gradient_errors reports only 5.7e-03 for Wh",
    ),
    Submission(
        "gradcheck_mean_relative_error",
        "gradient_errors averages the entries' relative errors instead of taking the largest",
        edits=(
            (
                GRADIENT_ERRORS,
                GRADIENT_ERRORS.replace(
                    "rel_error(analytic[name], numerical_gradient(f, a, dhs))",
                    "mean_rel_error(analytic[name], numerical_gradient(f, a, dhs))",
                ),
            ),
            (
                "def gradient_errors(",
                "def mean_rel_error(a, b):\n"
                "    return float(np.mean(np.abs(a - b) "
                "/ np.maximum(1e-8, np.abs(a) + np.abs(b))))\n"
                "\n\ndef gradient_errors(",
            ),
        ),
        broken=("test_gradient_check",),
        reason="5% off, gradient_errors reports only 8.2e-04 for Wh",
    ),
    # Third review: mistakes of the backward step that failed the visible tests with the
    # directional derivative's message only; the tests now name what the result matches.
    Submission(
        "dwh_from_h",
        "dWh computed from the step's output h instead of h_prev",
        edits=((GRADS, GRADS.replace('cache["h_prev"].T @ da', "(o * tanh_c).T @ da")),),
        broken=("test_step_backward_params", "test_gradient_check"),
        reason="dWh matches h.T @ da: use h_prev, the state the step started from",
    ),
    Submission(
        "tanh_slope_sign",
        "the candidate's slope written 1 + g**2 instead of 1 - g**2",
        edits=((BLOCKS, BLOCKS.replace("(1.0 - g**2)", "(1.0 + g**2)")),),
        broken=STEP_CELLS,
        reason="it matches tanh' written 1 + g**2 in the candidate's block of da",
    ),
    Submission(
        "dc_without_tanh_slope",
        "the gradient reaching c from h is dh * o, without the slope of tanh at c",
        edits=((DC_TOTAL, "    dc_total = dc + dh * o"),),
        broken=STEP_CELLS,
        reason="it matches a gradient on c of dc + dh * o, without the slope of tanh at c",
    ),
    Submission(
        "dc_prev_is_dc",
        "dc_prev returned as the incoming dc, neither the total gradient on c nor times f",
        edits=((RETURN, RETURN.replace("dc_total * f", "dc")),),
        broken=("test_step_backward_inputs", "test_gradient_check"),
        reason="with dh = 0, dc_prev equals dc, the gradient on c: c = f * c_prev + i * g",
    ),
    Submission(
        "gates_in_alphabetical_order",
        "the gradient blocks stacked in the order f, g, i, o instead of GATES",
        edits=(
            (
                BLOCKS,
                '            dc_total * cache["c_prev"] * f * (1.0 - f),  # forget gate\n'
                "            dc_total * i * (1.0 - g**2),  # candidate\n"
                "            dc_total * g * i * (1.0 - i),  # input gate\n"
                "            dh * tanh_c * o * (1.0 - o),  # output gate",
            ),
        ),
        broken=STEP_CELLS,
        reason="stacked in the order f, g, i, o: stack them in the order of GATES, i, f, o, g",
    ),
    # Fourth review: the new memory where the old one is wanted (and the reverse), an update of
    # the caller's dh_last in place, float32: named, or named rightly, now.
    Submission(
        "forget_block_from_c",
        "the forget gate's block of da computed with the new memory c instead of c_prev",
        edits=((BLOCKS, BLOCKS.replace('cache["c_prev"]', 'cache["c"]')),),
        broken=STEP_CELLS,
        reason="it matches the forget gate's block with c, the new memory, where c_prev is wanted",
    ),
    Submission(
        "tanh_of_c_prev",
        "tanh_c taken as tanh(c_prev), the old memory's, instead of the cached tanh(c)",
        edits=(
            (
                '    tanh_c, p = cache["tanh_c"], cache["params"]',
                '    tanh_c, p = np.tanh(cache["c_prev"]), cache["params"]',
            ),
        ),
        broken=STEP_CELLS,
        reason="it matches tanh(c_prev) where tanh(c) is wanted",
    ),
    Submission(
        "bptt_adds_into_dh_last",
        "right values, but BPTT starts from dh = dh_last and adds dhs[:, t] into it in place",
        edits=(
            (
                BPTT_STEP,
                "        dh += dhs[:, t]\n" + BPTT_STEP.replace("dhs[:, t] + dh", "dh"),
            ),
        ),
        # The gradient check calls lstm_backward without dh_last: dh starts as fresh zeros.
        broken=("test_lstm_backward",),
        reason="lstm_backward changed dh_last or dc_last in place",
    ),
    Submission(
        "step_dx_float32",
        "lstm_step_backward returns dx in float32 (the other results in float64)",
        edits=(
            (RETURN, RETURN.replace('da @ p["Wx"].T,', '(da @ p["Wx"].T).astype(np.float32),')),
        ),
        # dx is off by float32's round-off only (1e-8): the gradient check at 1e-7 passes.
        broken=("test_step_backward_inputs",),
        reason="should be float64 like the inputs, got float32",
    ),
    Submission(
        "bptt_grads_like_global_params",
        "BPTT shapes its weight gradients like the global params of the test cell above it",
        edits=(
            (
                '    grads = {k: np.zeros_like(v) for k, v in cache[0]["params"].items()}',
                "    grads = {k: np.zeros_like(v) for k, v in params.items()}",
            ),
        ),
        # Right in the visible test of BPTT, which defines params; the gradient check's params
        # have another D (a ValueError there).
        broken=("test_lstm_backward", "test_gradient_check"),
        reason="lstm_backward reads params from the notebook's globals",
    ),
    # Fifth review (students): mistakes that failed with the directional derivative's message
    # only, or with a bare ValueError.
    Submission(
        "slopes_at_squashed_values",
        "the slopes taken at the cached gate values as if they were pre-activations: "
        "sigmoid(i) * (1 - sigmoid(i)) and 1 - tanh(g)**2",
        edits=((BLOCKS, SQUASHED_AGAIN),),
        broken=STEP_CELLS,
        reason="it matches the slopes sigmoid(i) * (1 - sigmoid(i)) and 1 - tanh(g)**2 taken at",
    ),
    Submission(
        "dx_without_transpose",
        "dx computed as da @ Wx, without the transpose: a bare ValueError of matmul",
        edits=((RETURN, RETURN.replace('da @ p["Wx"].T', 'da @ p["Wx"]')),),
        broken=STEP_CELLS,
        reason="check the shapes: da is (N, 4H), dx = da @ Wx.T is (N, D)",
    ),
    Submission(
        "bptt_dx_like_dhs",
        "BPTT allocates dx with the shape of dhs, (N, T, H), not that of x",
        edits=(("    dx = np.empty((N, T, D))", "    dx = np.zeros_like(dhs)"),),
        broken=("test_lstm_backward", "test_gradient_check"),
        reason="dx is (N, T, D) like x, not (N, T, H) like dhs",
    ),
    Submission(
        "bptt_dh_last_or",
        "BPTT starts from dh = dh_last or zeros, which asks an array for its truth value",
        edits=(
            (
                "    dh = np.zeros((N, H)) if dh_last is None else dh_last",
                "    dh = dh_last or np.zeros((N, H))",
            ),
        ),
        # The gradient check calls lstm_backward without dh_last: None or zeros is zeros.
        broken=("test_lstm_backward",),
        reason="test for a missing dh_last with `dh_last is None`",
    ),
    Submission(
        "numgrad_if_df",
        "numerical_gradient chooses between the two formulas with `if df`, an array's truth value",
        edits=(
            (
                "        grad[k] = np.sum(diff if df is None else df * diff) / (2 * h)",
                "        grad[k] = np.sum(df * diff if df else diff) / (2 * h)",
            ),
        ),
        broken=("test_numerical_gradient", "test_gradient_check"),
        reason="test for a missing df with `df is None`",
    ),
    Submission(
        "numgrad_float32",
        "numerical_gradient collects the gradient in a float32 array",
        edits=(("    grad = np.zeros(x.shape)", "    grad = np.zeros(x.shape, np.float32)"),),
        # Its 7 digits still give the gradient check errors below 1e-7.
        broken=("test_numerical_gradient",),
        reason="should return float64 for a float64 x, got float32",
    ),
    Submission(
        "rel_error_plus_epsilon",
        "rel_error divides by |a| + |b| + 1e-8 instead of max(1e-8, |a| + |b|)",
        edits=(
            (
                REL_ERROR,
                "    return float(np.max(np.abs(a - b) / (1e-8 + np.abs(a) + np.abs(b))))",
            ),
        ),
        broken=("test_rel_error",),
        reason="divide by max(1e-8, |a| + |b|), not by |a| + |b| + 1e-8",
    ),
    Submission(
        "step_reads_global_params",
        "the backward step takes the weights from the global params, not from its cache: right "
        "in the visible cells, whose params are the cache's",
        edits=(
            (
                '    tanh_c, p = cache["tanh_c"], cache["params"]',
                '    tanh_c, p = cache["tanh_c"], params',
            ),
        ),
        broken=STEP_CELLS,
        reason="gradient_errors raised ValueError: could not broadcast input array from shape",
    ),
    Submission(
        "bptt_time_off_by_one",
        "BPTT runs t from T down to 1 and reads cache[t - 1], but dhs[:, t]: an IndexError",
        edits=(
            ("    for t in reversed(range(T)):", "    for t in range(T, 0, -1):"),
            (
                BPTT_STEP,
                BPTT_STEP.replace("cache[t]", "cache[t - 1]").replace("[:, t]", "[:, t - 1]", 1),
            ),
        ),
        broken=("test_lstm_backward", "test_gradient_check"),
        reason="the steps run from t = T - 1 down to t = 0, reversed(range(T)), each reading",
    ),
    Submission(
        "tanh_slope_parenthesized",
        "the slope of tanh at c written (1 - tanh_c)**2 instead of 1 - tanh_c**2",
        edits=((DC_TOTAL, DC_TOTAL.replace("(1.0 - tanh_c**2)", "(1.0 - tanh_c) ** 2")),),
        broken=STEP_CELLS,
        reason="it matches (1 - tanh_c)**2 where 1 - tanh_c**2 is wanted",
    ),
    Submission(
        "dc_prev_from_dc",
        "dc_prev returned as dc * f, the incoming dc where dc_total is wanted",
        edits=((RETURN, RETURN.replace("dc_total * f", "dc * f")),),
        # The weights' gradients are right; the gradient check runs the whole loop.
        broken=("test_step_backward_inputs", "test_gradient_check"),
        reason="dc_prev matches dc * f: f multiplies dc_total, the whole gradient on c",
    ),
    Submission(
        "gradcheck_errors_in_lists",
        "gradient_errors maps every name to a list holding rel_error's float",
        edits=(
            (
                GRADIENT_ERRORS,
                GRADIENT_ERRORS.replace(
                    "rel_error(analytic[name], numerical_gradient(f, a, dhs))",
                    "[rel_error(analytic[name], numerical_gradient(f, a, dhs))]",
                ),
            ),
        ),
        broken=("test_gradient_check",),
        reason="should map every name to one number",
    ),
    Submission(
        "bptt_without_return",
        "lstm_backward runs the steps but does not return its results",
        edits=((BPTT_RETURN, BPTT_RETURN.replace("return ", "")),),
        broken=("test_lstm_backward", "test_gradient_check"),
        reason="is the return missing?",
    ),
    Submission(
        "output_block_from_dc_total",
        "lstm_step_backward's output gate block takes dc_total where dh belongs",
        edits=((BLOCKS, BLOCKS.replace("dh * tanh_c * o", "dc_total * tanh_c * o")),),
        broken=STEP_CELLS,
        reason="output gate's block with dc_total where dh is wanted",
    ),
    Submission(
        "input_block_with_c_prev",
        "lstm_step_backward's input gate block multiplies by c_prev (copied from the forget "
        "gate's) where g belongs",
        edits=((BLOCKS, BLOCKS.replace("dc_total * g * i", 'dc_total * cache["c_prev"] * i')),),
        broken=STEP_CELLS,
        reason="input gate's block with c_prev where g is wanted",
    ),
]


class TestGrading(GradedAssignment):
    assignment = "ps05_backprop"
    submissions = SUBMISSIONS


def solution_namespace(*replace: tuple[str, str]) -> dict:
    """assignment_suite.solution_namespace of this problem set's solution notebook."""
    return assignment_suite.solution_namespace(NOTEBOOK, *replace)


def test_the_hidden_checks_of_the_checker_pass_the_solution():
    namespace = solution_namespace()
    ps05.check_numerical_gradient(namespace["numerical_gradient"])
    ps05.check_gradient_errors(namespace["gradient_errors"], namespace)


def test_a_checker_that_does_not_restore_x_is_told_so_by_the_gradient_check():
    """Not "changed its argument in place" (the notebook says to perturb in place): the
    argument was not put back exactly."""
    namespace = solution_namespace((NUMGRAD, NOT_RESTORED))
    with pytest.raises(AssertionError, match=r"was not restored exactly after numerical_gradient"):
        ps05.check_gradient_errors(namespace["gradient_errors"], namespace)


def test_a_wrong_backward_pass_is_called_the_students_own():
    namespace = solution_namespace((RETURN, RETURN.replace("dc_total * f", "dc_total")))
    with pytest.raises(AssertionError, match=r"when it checks your lstm_backward"):
        ps05.check_gradient_errors(namespace["gradient_errors"], namespace)


def test_a_checker_that_keeps_what_f_returns_is_told_to_copy_it():
    namespace = solution_namespace(
        (NUMGRAD, NUMGRAD.replace("np.array(f(x), dtype=float)", "np.asarray(f(x))"))
    )
    with pytest.raises(AssertionError, match=r"same buffer every call: .*copy what f returns"):
        ps05.check_numerical_gradient(namespace["numerical_gradient"])


def test_check_numerical_gradient_uses_the_default_step():
    namespace = solution_namespace(
        (
            "def numerical_gradient(f, x, df=None, h=1e-5):",
            "def numerical_gradient(f, x, df=None, h=1e-3):",
        )
    )
    with pytest.raises(
        AssertionError, match=r"called without df and h \(the default step is h=1e-5\)"
    ):
        ps05.check_numerical_gradient(namespace["numerical_gradient"])


def test_an_error_raised_in_gradient_errors_names_the_parts_it_runs():
    """Not a bare ValueError: the error comes from one of the parts 1 to 3 it runs."""
    namespace = solution_namespace((RETURN, RETURN.replace('da @ p["Wx"].T', 'da @ p["Wx"]')))
    with pytest.raises(
        AssertionError,
        match=r"^gradient_errors raised ValueError: matmul: .*\(N, T, D, H = 3, 3, 2, 3\); it runs "
        r"your numerical_gradient, rel_error and lstm_backward \(with your lstm_step_backward\)",
    ):
        ps05.check_gradient_errors(namespace["gradient_errors"], namespace)


def test_check_gradient_errors_names_an_absolute_error():
    namespace = solution_namespace(
        (
            GRADIENT_ERRORS,
            GRADIENT_ERRORS.replace(
                "rel_error(analytic[name], numerical_gradient(f, a, dhs))",
                "float(np.max(np.abs(analytic[name] - numerical_gradient(f, a, dhs))))",
            ),
        )
    )
    with pytest.raises(AssertionError, match=r"missed one entry of dWh .*not an absolute error"):
        ps05.check_gradient_errors(namespace["gradient_errors"], namespace)


def test_a_checker_that_compares_with_a_saved_backward_pass_fails():
    """gradient_errors that compares lstm_backward with the notebook's own backward pass,
    saved in a cell before (no numerical gradient at all): before, it passed, since the wrong
    passes the test hands it differ from the saved one by exactly their true errors. A
    forward pass whose outputs are 5% off shows only through numerical gradients."""
    namespace = solution_namespace(
        (
            GRADIENT_ERRORS,
            GRADIENT_ERRORS.replace(
                "return {name: rel_error(analytic[name], numerical_gradient(f, a, dhs)) for name, "
                "a in inputs.items()}",
                "saved = _SAVED(dhs, cache)\n"
                '    saved = {**saved[3], "x": saved[0], "h0": saved[1], "c0": saved[2]}\n'
                "    return {name: rel_error(analytic[name], saved[name]) for name in inputs}",
            ),
        )
    )
    namespace["_SAVED"] = namespace["lstm_backward"]
    with pytest.raises(AssertionError, match=r"missed a forward pass whose outputs are 5% off"):
        ps05.check_gradient_errors(namespace["gradient_errors"], namespace)


def test_a_checker_that_reports_what_the_test_wants_without_checking_fails():
    """gradient_errors that computes nothing and counts its calls: zeros on the first call (the
    right backward pass), then a large error for c0, then for Wh, the order in which the test
    hands it its two wrong passes. Before (found in review), it passed: only "above 1e-2" was
    asked of the errors it reports for a wrong pass, not that they are that pass's errors."""
    counting = (
        "    _CALLS.append(1)\n"
        "    errors = dict.fromkeys(inputs, 0.0)\n"
        "    if len(_CALLS) > 1:\n"
        '        errors["c0" if len(_CALLS) == 2 else "Wh"] = 0.5\n'
        "    return errors"
    )
    namespace = solution_namespace(
        ("def gradient_errors(", "_CALLS = []\n\n\ndef gradient_errors("),
        (GRADIENT_ERRORS, counting),
    )
    with pytest.raises(
        AssertionError,
        match=r"^with a dc0 half its size, gradient_errors reports 0\.5 for c0, but that "
        r"gradient's largest relative error is 0\.333333",
    ):
        ps05.check_gradient_errors(namespace["gradient_errors"], namespace)


TORCH_BLOCKS = (
    "            dc_total * g * i * (1.0 - i),  # input gate\n"
    '            dc_total * cache["c_prev"] * f * (1.0 - f),  # forget gate\n'
    "            dc_total * i * (1.0 - g**2),  # candidate\n"
    "            dh * tanh_c * o * (1.0 - o),  # output gate"
)


@pytest.mark.parametrize(
    ("replace", "check", "match"),
    [
        (
            (GRADS, GRADS.replace('cache["h_prev"].T @ da', "(o * tanh_c).T @ da")),
            ps05.check_step_backward_params,
            r"grads\['Wh'\] .*; dWh matches h\.T @ da: use h_prev",
        ),
        (
            (BLOCKS, SQUASHED_AGAIN.replace("(1.0 - np.tanh(g) ** 2)", "(1.0 - g**2)")),
            ps05.check_step_backward_inputs,
            r"dx .*; they match the sigmoid's slope sigmoid\(i\) \* \(1 - sigmoid\(i\)\) taken at",
        ),
        (
            (BLOCKS, BLOCKS.replace("(1.0 - g**2)", "(1.0 - np.tanh(g) ** 2)")),
            ps05.check_step_backward_params,
            r"grads\['Wx'\] .*; they match tanh's slope 1 - tanh\(g\)\*\*2 taken at the squashed",
        ),
        (
            (BLOCKS, BLOCKS.replace("(1.0 - g**2)", "(1.0 - g) ** 2")),
            ps05.check_step_backward_inputs,
            r"dx .*; they match \(1 - g\)\*\*2 where 1 - g\*\*2 is wanted in the candidate's",
        ),
        (
            (RETURN, RETURN.replace("dc_total * f", "dc * f")),
            ps05.check_step_backward_inputs,
            r"^dc_prev .*; dc_prev matches dc \* f: f multiplies dc_total",
        ),
        (
            (BLOCKS, BLOCKS.replace("(1.0 - g**2)", "(1.0 + g**2)")),
            ps05.check_step_backward_inputs,
            r"dx .*; they match tanh' written 1 \+ g\*\*2",
        ),
        (
            (DC_TOTAL, "    dc_total = dc + dh * o"),
            ps05.check_step_backward_inputs,
            r"dx .*; they match a gradient on c of dc \+ dh \* o, without the slope of tanh",
        ),
        (
            (BLOCKS, TORCH_BLOCKS),
            ps05.check_step_backward_params,
            r"grads\['Wx'\] .*stacked in the order i, f, g, o: stack them in the order of GATES",
        ),
        (
            (BLOCKS, BLOCKS.replace('cache["c_prev"]', 'cache["c"]')),
            ps05.check_step_backward_inputs,
            r"dx .*; they match the forget gate's block with c, the new memory, where c_prev",
        ),
        (
            (BLOCKS, BLOCKS.replace("dh * tanh_c * o", "dc_total * tanh_c * o")),
            ps05.check_step_backward_inputs,
            r"dx .*; they match the output gate's block with dc_total where dh is wanted",
        ),
        (
            (BLOCKS, BLOCKS.replace("dc_total * g * i", 'dc_total * cache["c_prev"] * i')),
            ps05.check_step_backward_params,
            r"grads\['Wx'\] .*; they match the input gate's block with c_prev where g is wanted",
        ),
        (
            (
                '    tanh_c, p = cache["tanh_c"], cache["params"]',
                '    tanh_c, p = np.tanh(cache["c_prev"]), cache["params"]',
            ),
            ps05.check_step_backward_params,
            r"grads\['Wx'\] .*; they match tanh\(c_prev\) where tanh\(c\) is wanted",
        ),
    ],
    ids=[
        "dwh_from_h",
        "sigmoid_slope_at_gate_values",
        "tanh_slope_at_candidate_value",
        "candidate_slope_parenthesized",
        "dc_prev_from_dc",
        "tanh_slope_sign",
        "dc_without_tanh_slope",
        "torch_gate_order",
        "forget_block_from_c",
        "output_block_from_dc_total",
        "input_block_with_c_prev",
        "tanh_of_c_prev",
    ],
)
def test_the_hidden_step_checks_name_the_mistake(replace, check, match):
    namespace = solution_namespace(replace)
    with pytest.raises(AssertionError, match=match):
        check(namespace["lstm_step_backward"])


def test_the_hidden_step_checks_name_no_mistake_that_was_not_made():
    """A sign error in the output gate's slope is none of the named mistakes."""
    namespace = solution_namespace((BLOCKS, BLOCKS.replace("o * (1.0 - o)", "o * (o - 1.0)")))
    for check in (ps05.check_step_backward_inputs, ps05.check_step_backward_params):
        with pytest.raises(AssertionError) as info:
            check(namespace["lstm_step_backward"])
        assert "match" not in str(info.value), str(info.value)
    ps05.check_step_backward_inputs(solution_namespace()["lstm_step_backward"])
    ps05.check_step_backward_params(solution_namespace()["lstm_step_backward"])


def test_a_float32_dx_is_called_float32_not_a_mistake_of_dwh():
    """dx in float32 is off by round-off only, which is also within reach of what dWh from h
    gives for dx (the right dx): the check says float32, and names no mistake."""
    namespace = solution_namespace(
        (RETURN, RETURN.replace('da @ p["Wx"].T,', '(da @ p["Wx"].T).astype(np.float32),'))
    )
    with pytest.raises(
        AssertionError, match=r"^dx \(.*\) should be float64 like the inputs, got f"
    ):
        ps05.check_step_backward_inputs(namespace["lstm_step_backward"])


def test_the_rel_error_test_names_a_negative_error():
    """Found in a student's walk: |a - b| written as a - b gave -0.0476 and was told only that
    0.0476 was expected; a negative error is now named."""
    from assignment_suite import visible_failure

    message = visible_failure(
        NOTEBOOK, "test_rel_error", (REL_ERROR, REL_ERROR.replace("np.abs(a - b)", "(a - b)"))
    )
    assert message is not None and message.startswith(
        "rel_error([1.0], [1.1]) should be 0.1 / 2.1 = 0.0476..., got -0.04761904761904"
    ), message
    assert message.endswith("; an error is never negative: take |a - b|, np.abs(a - b)"), message


@pytest.mark.parametrize("wrap", ["[{}]", "np.array([{}, 0.0])"])
def test_gradient_errors_that_are_not_numbers_are_named(wrap):
    """Found in a student's walk: gradient_errors mapping each name to a list (or an array)
    instead of rel_error's float failed the visible test with the TypeError of its own
    printout ("unsupported format string passed to list.__format__") and the hidden one with
    float()'s TypeError; both now say what each value should be."""
    one = "rel_error(analytic[name], numerical_gradient(f, a, dhs))"
    edit = (GRADIENT_ERRORS, GRADIENT_ERRORS.replace(one, wrap.format(one)))
    message = assignment_suite.visible_failure(NOTEBOOK, "test_gradient_check", edit)
    assert message is not None and message.startswith(
        "gradient_errors should map every name to one number, the float rel_error returns; got "
    ), message
    namespace = solution_namespace(edit)
    with pytest.raises(AssertionError, match="should map every name to one number"):
        ps05.check_gradient_errors(namespace["gradient_errors"], namespace)


@pytest.mark.parametrize(
    ("new", "got"),
    [
        ("    dx, dh, dc, grads\n", "None (is the return missing?)"),
        ("    return dx, dh, grads\n", "a tuple of length 3"),
    ],
)
def test_the_bptt_test_names_a_result_that_is_not_four_values(new, got):
    """Found in a student's walk: lstm_backward without its return failed its only test with
    the bare "TypeError: cannot unpack non-iterable NoneType object" of the test's own
    `dx, dh0, dc0, grads = result` (a ValueError for three values); it now says what came
    back."""
    message = assignment_suite.visible_failure(NOTEBOOK, "test_lstm_backward", (BPTT_RETURN, new))
    assert message == f"lstm_backward should return (dx, dh0, dc0, grads), got {got}", message


@pytest.mark.parametrize(
    ("old", "new", "hint"),
    [
        (
            "dh * tanh_c * o",
            "dc_total * tanh_c * o",
            "it matches the output gate's block with dc_total where dh is wanted",
        ),
        (
            "dc_total * g * i",
            'dc_total * cache["c_prev"] * i',
            "it matches the input gate's block with c_prev where g is wanted",
        ),
    ],
)
@pytest.mark.parametrize("grade_id", ["test_step_backward_inputs", "test_step_backward_params"])
def test_the_step_tests_name_a_gate_block_with_the_wrong_factor(grade_id, old, new, hint):
    """Found in a student's walk: the output gate's block of da taken from dc_total instead of
    dh, and the input gate's multiplied by c_prev (copied from the forget gate's) instead of g,
    were told only that a directional derivative disagrees; the catalogue of usual mistakes,
    in the visible tests and the hidden checks, now names both."""
    message = assignment_suite.visible_failure(
        NOTEBOOK, grade_id, (BLOCKS, BLOCKS.replace(old, new))
    )
    assert message is not None and "disagrees with a directional derivative" in message, message
    assert f"; {hint}" in message, message


@pytest.mark.parametrize(
    ("new", "got"),
    [
        (RETURN.replace("return ", ""), "None (is the return missing?)"),
        (RETURN.replace("return ", "return [") + "]", "a list of length 4"),
    ],
)
def test_the_step_test_names_what_lstm_step_backward_returned(new, got):
    """Found in a student's walk: lstm_step_backward without its return (or returning a list)
    was told only "return dx, dh_prev, dc_prev, grads"; the test now says what came back."""
    message = assignment_suite.visible_failure(NOTEBOOK, "test_step_backward_inputs", (RETURN, new))
    assert message == (
        f"lstm_step_backward should return (dx, dh_prev, dc_prev, grads), got {got}"
    ), message


def _floats(value):
    """The floats in ``value``, and in the lists, tuples and dicts it holds."""
    if isinstance(value, float):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _floats(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _floats(item)


def test_no_expected_error_waits_in_a_frame_above_gradient_errors():
    """check_gradient_errors computed the errors it expects for the wrong backward passes
    before handing them to the student's gradient_errors: one that read the frames above it
    (sys._getframe(1).f_locals, `expected`) could report them without a numerical gradient.
    The honest checker looks there for a float equal to one of its large errors: none."""
    namespace = solution_namespace()
    honest, stolen = namespace["gradient_errors"], []

    def gradient_errors(*args):
        errors = honest(*args)
        large = [v for v in errors.values() if v > 1e-2]
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != __file__:
            for name, value in list(frame.f_locals.items()):
                if any(abs(f - v) <= 1e-3 * v for f in _floats(value) for v in large):
                    stolen.append(f"{frame.f_code.co_name}: {name}")
            frame = frame.f_back
        return errors

    ps05.check_gradient_errors(gradient_errors, namespace)  # the honest answers pass
    assert stolen == [], stolen


def test_the_numerical_gradient_test_names_an_int_index_over_a_2d_x():
    """Found in a student's walk: for k in range(x.size) with x[k] (rows of a 2-D x, not its
    entries) stopped the visible test on a bare "IndexError: index 2 is out of bounds for axis
    0 with size 2"; the test now says how to visit every entry."""
    message = assignment_suite.visible_failure(
        NOTEBOOK,
        "test_numerical_gradient",
        ("    for k in np.ndindex(x.shape):", "    for k in range(x.size):"),
    )
    assert message is not None and message.startswith(
        "numerical_gradient raised IndexError (index 2 is out of bounds"
    ), message
    assert "for k in np.ndindex(x.shape)" in message, message


def test_the_visible_gradient_check_refuses_a_one_sided_rel_error_as_the_hidden_one_does():
    """Found in a student's walk: rel_error as |a - b| / |a| (one-sided) lost test_rel_error and,
    hidden only, test_gradient_check, whose visible checks (a report above 1e-3 and 1e-2) it
    passed; the visible test now also wants the exact error of dWh 1% off, 0.01 / 2.01."""
    one_sided = (REL_ERROR, REL_ERROR.replace("np.abs(a) + np.abs(b)", "np.abs(a)"))
    message = assignment_suite.visible_failure(NOTEBOOK, "test_gradient_check", one_sided)
    assert message is not None and message.startswith(
        "with every entry of dWh 1% off, each entry's relative error is 0.01 / 2.01 = 0.004975, "
        "but gradient_errors reports 0.0099"
    ), message
    namespace = assignment_suite.solution_namespace(NOTEBOOK, one_sided)
    with pytest.raises(AssertionError, match="but that gradient's largest relative error is"):
        ps05.check_gradient_errors(namespace["gradient_errors"], namespace)


def test_the_numerical_gradient_docstring_says_float64():
    """Found in review: the visible and hidden tests refuse a numerical_gradient of another dtype
    ("should return float64 for a float64 x"), which its docstring did not say."""
    import json

    (source,) = [
        "".join(c["source"])
        for c in json.loads(NOTEBOOK.read_text())["cells"]
        if c["metadata"]["nbgrader"].get("grade_id") == "numerical_gradient"
    ]
    assert "ndarray, the shape of ``x``, float64\n" in source, source


STEP_RETURN = '    return da @ p["Wx"].T, da @ p["Wh"].T, dc_total * f, grads'


@pytest.mark.parametrize(
    ("new", "says"),
    [
        (
            '    return [da @ p["Wx"].T, da @ p["Wh"].T, dc_total * f, grads]',
            "lstm_step_backward should return (dx, dh_prev, dc_prev, grads), got a list of "
            "length 4",
        ),
        (
            '    return da @ p["Wx"].T, da @ p["Wh"].T, grads',
            "lstm_step_backward should return (dx, dh_prev, dc_prev, grads), got a tuple of "
            "length 3",
        ),
        (
            "    dc *= 1.0\n    dc += dh * o * (1.0 - tanh_c**2)\n    dc_total = dc\n"
            + STEP_RETURN,
            "lstm_step_backward changed dh or dc in place; build new arrays (dc + ..., not dc "
            "+= ...)",
        ),
    ],
)
def test_the_params_test_names_the_form_and_changes_in_place_as_the_inputs_test_does(new, says):
    """Found in review: test_step_backward_params ran the step on copies of dh and dc and took
    grads with *_, so a list, a tuple of three and dc changed in place all passed it, while its
    hidden test refuses them (and test_step_backward_inputs names them)."""
    edit = (STEP_RETURN, new)
    message = assignment_suite.visible_failure(NOTEBOOK, "test_step_backward_params", edit)
    assert message == says, message
    step = assignment_suite.solution_namespace(NOTEBOOK, edit)["lstm_step_backward"]
    with pytest.raises(AssertionError, match=r"should return|changed its argument dc in place"):
        ps05.check_step_backward_params(step)


@pytest.mark.parametrize(
    ("returned", "says"),
    [
        (
            "dx.tolist(), dh, dc, grads",
            "lstm_backward should return dx as a NumPy array, got a list",
        ),
        (
            "dx, dh, dc, list(grads.values())",
            "lstm_backward should return grads as a dict, got a list",
        ),
    ],
)
def test_the_backward_test_names_a_result_of_another_form(returned, says):
    """Found by the hostile-student pass (each visible check run on the solution with its return
    transformed): dx returned as a list stopped test_lstm_backward's visible part on a bare
    "AttributeError: 'list' object has no attribute 'shape'" (and passed test_gradient_check's,
    whose hidden test then failed on it); the visible test now says what is expected, as the
    hidden test does."""
    edit = ("    return dx, dh, dc, grads\n", f"    return {returned}\n")
    message = assignment_suite.visible_failure(NOTEBOOK, "test_lstm_backward", edit)
    assert message == says, message
    namespace = assignment_suite.solution_namespace(NOTEBOOK, edit)
    with pytest.raises(AssertionError, match=r"should be a NumPy array|should be a dict"):
        ps05.check_lstm_backward(namespace["lstm_backward"], namespace)
