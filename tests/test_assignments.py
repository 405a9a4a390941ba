"""The assignments, graded end to end by nbgrader in a temporary copy of the course.

For every assignment in solutions/: the committed exercises/ is exactly what nbgrader generates;
the solution gets full marks and the untouched student notebook 0; each submission in
SUBMISSIONS (a small edit of the solution) loses exactly the points of the grade cells it
breaks, hostile ones included, all in one autograde run; feedback pages exist, are offline and
keep hidden tests hidden; the CSV export has the same numbers.

A new assignment needs: its notebook in solutions/<id>/, `make exercises`, and rows in
SUBMISSIONS (the solution and the untouched release are graded automatically).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field

import pytest
from course import (
    EXERCISES,
    LOOP_CELL_TIMEOUT,
    SOLUTIONS,
    Course,
    assignments,
    delete_cell,
    edit,
    notebooks,
    read_notebook,
)


@dataclass(frozen=True)
class Submission:
    """A student's submission, written as edits of the solution notebook, and its expected grade.

    ``edits`` are (old, new) text replacements, each ``old`` found exactly once in the notebook
    (the solution, or the student notebook if ``released``);
    ``delete`` removes the cell with that grade_id; ``raw`` replaces the whole file with text.
    ``broken`` lists the grade cells that must score 0 (all others must get full points), and
    ``reason`` a phrase the feedback page must show. ``fails``: autograding this submission
    cannot work (nbgrader reports it and grades the other students). ``loops``: the submission
    runs forever somewhere, so it is graded in a run of its own with a short cell timeout
    (course.LOOP_CELL_TIMEOUT) while everyone else gets the course's generous default.
    """

    assignment: str
    student: str
    description: str
    edits: tuple[tuple[str, str], ...] = ()
    delete: str | None = None
    raw: str | None = None
    broken: tuple[str, ...] = ()
    reason: str | None = None
    fails: bool = False
    released: bool = False
    loops: bool = False

    def notebook(self, course: Course):
        if self.raw is not None:
            return self.raw
        if self.released:
            nb = course.release_notebook(self.assignment)
        else:
            nb = course.solution_notebook(self.assignment)
        for old, new in self.edits:
            nb = edit(nb, old, new)
        return delete_cell(nb, self.delete) if self.delete else nb


# -- ps01_activations -------------------------------------------------------------------------
PS01 = "ps01_activations"
SIGMOID = (
    "    z = np.exp(-np.abs(x))  # in (0, 1]: never overflows\n"
    "    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))"
)
TANH = (
    "    z = np.exp(-np.abs(x))\n"
    "    w = z * z  # exp(-2|x|) without forming 2|x|, which overflows near 1e308\n"
    "    return np.sign(x) * (1.0 - w) / (1.0 + w)"
)
TANH_W = "    w = z * z  # exp(-2|x|) without forming 2|x|, which overflows near 1e308"
SIGMOID_GRAD = "    s = sigmoid(x)\n    return s * (1.0 - s)"
TANH_GRAD = "    t = tanh(x)\n    return 1.0 - t * t"
# Wrong only for 3 < |x| < 100: passes every visible check of tanh_grad, not the hidden ones.
SUBTLY_WRONG_TANH_GRAD = (
    "    t = tanh(x)\n    return np.where((np.abs(x) > 3) & (np.abs(x) < 100), 0.5, 1.0 - t * t)"
)
LOOP_SWALLOWING_CTRL_C = (
    "    while True:\n        try:\n            pass\n        except KeyboardInterrupt:\n"
    "            pass"
)

SUBMISSIONS = [
    Submission(
        PS01,
        "naive_sigmoid",
        "sigmoid by the textbook formula overflows at x = -1000; sigmoid_grad uses it",
        edits=((SIGMOID, "    return 1.0 / (1.0 + np.exp(-x))"),),
        broken=("test_sigmoid", "test_sigmoid_grad"),
        reason="sigmoid overflowed for a large |x|",
    ),
    Submission(
        PS01,
        "where_both_branches",
        "np.where evaluates both exp formulas on the whole array, so it still overflows",
        edits=(
            (
                SIGMOID,
                "    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))",
            ),
        ),
        broken=("test_sigmoid", "test_sigmoid_grad"),
        reason="sigmoid overflowed for a large |x|",
    ),
    Submission(
        PS01,
        "one_sided_sigmoid",
        "sigmoid keeps only the x >= 0 branch; sigmoid_grad is written independently and right",
        edits=(
            (SIGMOID, "    z = np.exp(-np.abs(x))\n    return 1.0 / (1.0 + z)"),
            (SIGMOID_GRAD, "    z = np.exp(-np.abs(x))\n    return z / (1.0 + z) ** 2"),
        ),
        broken=("test_sigmoid",),
        reason="sigmoid(-5) should be 0.0067",
    ),
    Submission(
        PS01,
        "naive_tanh",
        "tanh by the textbook formula gives inf/inf = nan; tanh_grad uses it",
        edits=((TANH, "    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))"),),
        broken=("test_tanh", "test_tanh_grad"),
        reason="tanh overflowed for a large |x|",
    ),
    Submission(
        PS01,
        "tanh_two_abs_x",
        "exp(-2|x|) computed from 2|x|, which overflows for |x| near 1e308",
        edits=((TANH_W, "    w = np.exp(-2 * np.abs(x))"),),
        broken=("test_tanh", "test_tanh_grad"),
        reason="tanh overflowed for a large |x|",
    ),
    Submission(
        PS01,
        "sigmoid_grad_of_activation",
        "sigmoid_grad treats x as sigmoid's output",
        edits=((SIGMOID_GRAD, "    return x * (1.0 - x)"),),
        broken=("test_sigmoid_grad",),
        reason="sigmoid_grad(0) should be exactly 0.25",
    ),
    Submission(
        PS01,
        "tanh_grad_of_activation",
        "tanh_grad treats x as tanh's output",
        edits=((TANH_GRAD, "    return 1.0 - x * x"),),
        broken=("test_tanh_grad",),
        reason="tanh_grad disagrees with a finite difference",
    ),
    Submission(
        PS01,
        "hidden_only_bug",
        "tanh_grad wrong only where the visible checks do not look",
        edits=((TANH_GRAD, SUBTLY_WRONG_TANH_GRAD),),
        broken=("test_tanh_grad",),
        reason="values differ from the reference",
    ),
    Submission(
        PS01,
        "calls_reference_captured",
        "sigmoid returns lstm_core's answer through a name imported beforehand",
        edits=(
            ("def sigmoid(x):", "from lstm_core import sigmoid as helper\n\n\ndef sigmoid(x):"),
            (SIGMOID, "    return helper(x)"),
        ),
        broken=("test_sigmoid", "test_sigmoid_grad"),
        reason="called the reference package",
    ),
    Submission(
        PS01,
        "imports_reference",
        "sigmoid_grad imports lstm_core inside the function",
        edits=((SIGMOID_GRAD, "    import lstm_core\n\n    return lstm_core.sigmoid_grad(x)"),),
        broken=("test_sigmoid_grad",),
        reason="imports the reference package",
    ),
    Submission(
        PS01,
        "patched_numpy_checks",
        "np.allclose, np.isclose and np.testing.assert_allclose made to always agree",
        edits=(
            (
                TANH_GRAD,
                SUBTLY_WRONG_TANH_GRAD + "\n\n\nnp.allclose = lambda *args, **kwargs: True"
                "\nnp.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), bool)"
                "\nnp.testing.assert_allclose = lambda *args, **kwargs: None",
            ),
        ),
        broken=("test_tanh_grad",),
        reason="values differ from the reference",
    ),
    Submission(
        PS01,
        "patched_reference",
        "lstm_core.tanh_grad rebound to the student's own (wrong) function",
        edits=(
            (
                TANH_GRAD,
                SUBTLY_WRONG_TANH_GRAD + "\n\n\nimport lstm_core"
                "\n\nlstm_core.tanh_grad = lstm_core.activations.tanh_grad = tanh_grad",
            ),
        ),
        broken=("test_tanh_grad",),
        reason="values differ from the reference",
    ),
    # Hostile submissions.
    Submission(
        PS01,
        "loop_swallowing_ctrl_c",
        "tanh loops forever and swallows KeyboardInterrupt: the kernel guard stops each cell",
        edits=((TANH, LOOP_SWALLOWING_CTRL_C),),
        broken=("test_tanh", "test_tanh_grad"),
        reason="CellTimeout: this cell was stopped after",
        loops=True,
    ),
    Submission(
        PS01,
        "loop_ignoring_guard",
        "tanh ignores SIGALRM, then loops: nbclient's timeout interrupts each cell",
        edits=(
            (
                TANH,
                "    import signal\n\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                "    while True:\n        pass",
            ),
        ),
        broken=("test_tanh", "test_tanh_grad"),
        reason="CellTimeoutError: no reply from the kernel within",
        loops=True,
    ),
    Submission(
        PS01,
        "deleted_test_cell",
        "the tanh test cell deleted, tanh wrong: nbgrader puts the cell back",
        edits=((TANH, "    return x"),),
        delete="test_tanh",
        broken=("test_tanh", "test_tanh_grad"),
        reason="was missing from the submission",
    ),
    Submission(
        PS01,
        "edited_test_cell",
        "the tanh_grad test cell emptied, tanh_grad wrong: nbgrader restores the cell",
        edits=(
            (TANH_GRAD, "    return 1.0 - x * x"),
            ('"""Checks tanh_grad: takes', 'pass\n"""Checks tanh_grad: takes'),
        ),
        broken=("test_tanh_grad",),
        reason="tanh_grad disagrees with a finite difference",
    ),
    Submission(
        PS01,
        "kernel_exit",
        "tanh kills its own kernel with os._exit",
        edits=((TANH, "    import os\n\n    os._exit(1)"),),
        fails=True,
    ),
    Submission(PS01, "not_json", "the file is not a notebook", raw='{"cells": [ oops', fails=True),
]


# -- ps02_gates -------------------------------------------------------------------------------
PS02 = "ps02_gates"


def gate_body(gate: str, squash: str) -> str:
    """The solution's two lines of one gate function in ps02."""
    return (
        f'    Wx, Wh, b = gate_params(params, "{gate}")\n'
        f"    return {squash}(x @ Wx + h_prev @ Wh + b)"
    )


CELL_UPDATE = "    return f * c_prev + i * g"
HIDDEN_UPDATE = "    return o * tanh(c)"
SUBMISSIONS += [
    Submission(
        PS02,
        "forget_no_bias",
        "the forget gate leaves out its bias",
        edits=((gate_body("f", "sigmoid"), gate_body("f", "sigmoid").replace(" + b)", ")")),),
        broken=("test_forget_gate",),
        reason="the forget gate of the hand-worked step should be sigmoid(5.95) = 0.997401",
    ),
    Submission(
        PS02,
        "input_reads_forget_block",
        "the input gate reads the forget gate's block of params",
        edits=((gate_body("i", "sigmoid"), gate_body("f", "sigmoid")),),
        broken=("test_input_gate",),
        reason="the input gate of the hand-worked step should be sigmoid(4.27) = 0.986211",
    ),
    Submission(
        PS02,
        "candidate_sigmoid",
        "the candidate memory squashed with sigmoid instead of tanh",
        edits=((gate_body("g", "tanh"), gate_body("g", "sigmoid")),),
        broken=("test_candidate_memory",),
        reason="the candidate of the hand-worked step should be tanh(2.03) = 0.966087",
    ),
    Submission(
        PS02,
        "output_tanh",
        "the output gate squashed with tanh instead of sigmoid",
        edits=((gate_body("o", "sigmoid"), gate_body("o", "tanh")),),
        broken=("test_output_gate",),
        reason="the output gate of the hand-worked step should be sigmoid(4.78) = 0.991674",
    ),
    Submission(
        PS02,
        "output_transposed",
        "the output gate computed as Wx.T @ x.T: shape (H, N), right only for one example",
        edits=(
            (
                gate_body("o", "sigmoid"),
                '    Wx, Wh, b = gate_params(params, "o")\n'
                "    return sigmoid(Wx.T @ x.T + Wh.T @ h_prev.T + b[:, None])",
            ),
        ),
        broken=("test_output_gate",),
        reason="(transposed: rows must be examples)",
    ),
    Submission(
        PS02,
        "cell_update_gates_swapped",
        "the cell update multiplies c_prev by i and the candidate by f",
        edits=((CELL_UPDATE, "    return i * c_prev + f * g"),),
        broken=("test_cell_update",),
        reason="the new long-term memory of the hand-worked step should be 2.947567",
    ),
    Submission(
        PS02,
        "cell_update_in_place",
        "right values, but the cell update scales and adds into the caller's c_prev",
        edits=((CELL_UPDATE, "    c_prev *= f\n    c_prev += i * g\n    return c_prev"),),
        broken=("test_cell_update",),
        reason="cell_update changed c_prev in place",
    ),
    Submission(
        PS02,
        "hidden_update_unsquashed",
        "the hidden update shows o * c, without squashing c",
        edits=((HIDDEN_UPDATE, "    return o * c"),),
        broken=("test_hidden_update",),
        reason="the new short-term memory of the hand-worked step should be 0.986229",
    ),
    Submission(
        PS02,
        "forget_clipped",
        "the forget gate clips its sum to [-15, 15], which no visible check reaches",
        edits=(
            (
                gate_body("f", "sigmoid"),
                gate_body("f", "sigmoid").replace(
                    "sigmoid(x @ Wx + h_prev @ Wh + b)",
                    "sigmoid(np.clip(x @ Wx + h_prev @ Wh + b, -15.0, 15.0))",
                ),
            ),
        ),
        broken=("test_forget_gate",),
        reason="values differ from the reference",
    ),
    Submission(
        PS02,
        "forget_imports_lstm_core",
        "the forget gate imports lstm_core inside the function and returns its forget_gate",
        edits=(
            (
                gate_body("f", "sigmoid"),
                "    import lstm_core\n\n    return lstm_core.forget_gate(x, h_prev, params)",
            ),
        ),
        broken=("test_forget_gate",),
        reason="imports the reference package",
    ),
    Submission(
        PS02,
        "candidate_captured_reference",
        "the candidate memory returns lstm_core's, imported under another name beforehand",
        edits=(
            (
                "def candidate_memory(x, h_prev, params):",
                "from lstm_core import candidate_memory as proposal\n\n\n"
                "def candidate_memory(x, h_prev, params):",
            ),
            (gate_body("g", "tanh"), "    return proposal(x, h_prev, params)"),
        ),
        broken=("test_candidate_memory",),
        reason="called the reference package",
    ),
]


# -- ps03_cell --------------------------------------------------------------------------------
PS03 = "ps03_cell"
PS03_SUM = '    a = x @ params["Wx"] + h_prev @ params["Wh"] + params["b"]  # (N, 4H)'
PS03_SQUASH = "    gates = np.concatenate([sigmoid(a[:, : 3 * H]), tanh(a[:, 3 * H :])], axis=1)"
PS03_SPLIT = "    i, f, o, g = (gates[:, k * H : (k + 1) * H] for k in range(4))"
PS03_C = "    c = f * c_prev + i * g"
PS03_H = "    h = o * tanh_c"
PS03_STEP_CELLS = (
    "test_step_shapes",
    "test_step_gates",
    "test_step_c",
    "test_step_h",
    "test_step_batch",
    "test_step_float32",
)
SUBMISSIONS += [
    Submission(
        PS03,
        "init_forget_bias_on_input",
        "init_params sets the input gate's bias (block 0) to 1 instead of the forget gate's",
        edits=(('    k = GATES.index("f")', '    k = GATES.index("i")'),),
        broken=("test_init_params",),
        reason="the forget gate's bias (b[H:2H], block 1 of GATES) should be 1",
    ),
    Submission(
        PS03,
        "sigmoid_on_all_blocks",
        "the step squashes all four blocks with sigmoid, the candidate too",
        edits=((PS03_SQUASH, "    gates = sigmoid(a)"),),
        broken=("test_step_gates", "test_step_c", "test_step_h"),
        reason="the hand-worked gates (i, f, o, g) should be",
    ),
    Submission(
        PS03,
        "torch_gate_order",
        "the step reads the blocks in PyTorch's order i, f, g, o instead of GATES",
        edits=(
            (
                PS03_SQUASH,
                "    gates = np.concatenate(\n"
                "        [sigmoid(a[:, : 2 * H]), tanh(a[:, 2 * H : 3 * H]), "
                "sigmoid(a[:, 3 * H :])], axis=1\n"
                "    )",
            ),
            (PS03_SPLIT, PS03_SPLIT.replace("i, f, o, g", "i, f, g, o")),
        ),
        broken=("test_step_gates", "test_step_c", "test_step_h"),
        reason="the hand-worked gates (i, f, o, g) should be",
    ),
    Submission(
        PS03,
        "step_no_bias",
        "the step's sum leaves out the bias b",
        edits=((PS03_SUM, PS03_SUM.replace(' + params["b"]', "")),),
        broken=("test_step_gates", "test_step_c", "test_step_h"),
        reason="the hand-worked gates (i, f, o, g) should be",
    ),
    Submission(
        PS03,
        "h_from_c_prev",
        "h squashes the old long-term memory c_prev instead of the new c",
        edits=((PS03_H, "    h = o * tanh(c_prev)"),),
        broken=("test_step_h",),
        reason="h of the hand-worked step should be 0.986229",
    ),
    Submission(
        PS03,
        "first_row_memory",
        "every example's c uses the first example's c_prev: right for N = 1 only",
        edits=((PS03_C, "    c = f * c_prev[0] + i * g"),),
        broken=("test_step_c", "test_step_h", "test_step_batch"),
        reason="each row with its own c_prev",
    ),
    Submission(
        PS03,
        "float64_bias",
        "the bias converted to float64, so a float32 step comes out float64",
        edits=((PS03_SUM, PS03_SUM.replace('params["b"]', 'np.asarray(params["b"], float)')),),
        broken=("test_step_float32",),
        reason="should stay float32 for float32 inputs",
    ),
    Submission(
        PS03,
        "transposed_input_weights",
        "Wx read in PyTorch's (4H, D) layout, reshaped so that x @ Wx.T runs for any D",
        edits=(
            (
                PS03_SUM,
                PS03_SUM.replace('x @ params["Wx"]', 'x @ params["Wx"].reshape(4 * H, -1).T'),
            ),
        ),
        # Right for D = 1 (the hand-worked unit) and for zero Wx (bias_only_params), so only the
        # hidden comparisons with the reference see it; shapes, rows and float32 are all fine.
        broken=("test_step_gates", "test_step_c", "test_step_h"),
        reason="values differ from the reference",
    ),
    Submission(
        PS03,
        "step_imports_lstm_core",
        "lstm_step_forward imports lstm_core and returns its step",
        edits=(
            (
                PS03_SUM,
                "    import lstm_core\n\n"
                "    return lstm_core.lstm_step_forward(x, h_prev, c_prev, params)\n" + PS03_SUM,
            ),
        ),
        broken=PS03_STEP_CELLS,
        reason="imports the reference package",
    ),
]


# -- ps04_unrolling ---------------------------------------------------------------------------
PS04 = "ps04_unrolling"
PS04_LOOP = (
    "        h, c = lstm_step_forward(x[:, t], h, c, params)\n"
    "        hs[:, t] = h\n"
    "        cs[:, t] = c"
)
PS04_TABLE_ORDER = (
    '        "Wx": np.array([[table[k][1] for k in GATES]]),\n'
    '        "Wh": np.array([[table[k][0] for k in GATES]]),\n'
    '        "b": np.array([table[k][2] for k in GATES]),'
)
SUBMISSIONS += [
    Submission(
        PS04,
        "cs_holds_h",
        "lstm_forward stores the short-term memory h in cs",
        edits=((PS04_LOOP, PS04_LOOP.replace("cs[:, t] = c", "cs[:, t] = h")),),
        broken=("test_lstm_forward_values", "test_predictions"),
        reason="cs[:, 0] holds h, the short-term memory",
    ),
    Submission(
        PS04,
        "time_major",
        "lstm_forward returns (T, N, H) arrays, time first",
        edits=(
            (
                "    hs = np.empty((N, T, H))\n    cs = np.empty((N, T, H))",
                "    hs = np.empty((T, N, H))\n    cs = np.empty((T, N, H))",
            ),
            (PS04_LOOP, PS04_LOOP.replace("s[:, t] = ", "s[t] = ")),
        ),
        broken=("test_lstm_forward_shapes", "test_lstm_forward_values", "test_predictions"),
        reason="keep the batch axis first and time second",
    ),
    Submission(
        PS04,
        "ignores_initial_states",
        "lstm_forward always starts from zeros, whatever h0 and c0 are",
        edits=(
            (
                "    h = np.zeros((N, H)) if h0 is None else h0\n"
                "    c = np.zeros((N, H)) if c0 is None else c0",
                "    h = np.zeros((N, H))\n    c = np.zeros((N, H))",
            ),
        ),
        broken=("test_lstm_forward_values",),
        reason="which starts from h0 and c0",
    ),
    Submission(
        PS04,
        "memories_not_carried",
        "every step starts again from h0 and c0 instead of the previous step's memories",
        edits=(
            (PS04_LOOP, "        hs[:, t], cs[:, t] = lstm_step_forward(x[:, t], h, c, params)"),
        ),
        broken=("test_lstm_forward_values", "test_predictions"),
        reason="step 2 should start from the h and c that step 1 returned",
    ),
    Submission(
        PS04,
        "table_gate_order",
        "hand-worked weights in the table's order f, i, g, o instead of GATES",
        edits=((PS04_TABLE_ORDER, PS04_TABLE_ORDER.replace("in GATES", 'in "figo"')),),
        broken=("test_hand_worked_params", "test_predictions"),
        reason="use GATES = (i, f, o, g)",
    ),
    Submission(
        PS04,
        "wx_wh_swapped",
        "the table's first column (the weight on h) put into Wx",
        edits=(
            (
                PS04_TABLE_ORDER,
                '        "Wx": np.array([[table[k][0] for k in GATES]]),\n'
                '        "Wh": np.array([[table[k][1] for k in GATES]]),\n'
                '        "b": np.array([table[k][2] for k in GATES]),',
            ),
        ),
        broken=("test_hand_worked_params", "test_predictions"),
        reason="Wx holds the weights on h",
    ),
    Submission(
        PS04,
        "missing_feature_axis",
        "two_companies returns x of shape (2, 4), without the feature axis",
        edits=(("[1.0, 0.5, 0.25, 1.0]])[:, :, None]", "[1.0, 0.5, 0.25, 1.0]])"),),
        broken=("test_two_companies", "test_predictions"),
        reason="add the feature axis",
    ),
    Submission(
        PS04,
        "predicts_c",
        "predict_day5 returns the final long-term memory c instead of h",
        edits=(
            (
                "    hs, _ = lstm_forward(x, params)\n    return hs[:, -1]",
                "    _, cs = lstm_forward(x, params)\n    return cs[:, -1]",
            ),
        ),
        broken=("test_predictions",),
        reason="predict_day5 returns the long-term memory c",
    ),
    Submission(
        PS04,
        "forward_calls_reference",
        "lstm_forward hands the work to lstm_core.lstm_forward",
        edits=(
            (
                '    N, T, _ = x.shape\n    H = params["Wh"].shape[0]\n',
                "    import lstm_core\n\n"
                "    hs, cache = lstm_core.lstm_forward(x, params, h0, c0)\n"
                "    return hs, cache.cs\n",
            ),
        ),
        broken=("test_lstm_forward_shapes", "test_lstm_forward_values", "test_predictions"),
        reason="imports the reference package",
    ),
    Submission(
        PS04,
        "params_from_reference",
        "hand_worked_params copies lstm_core.HAND_WORKED_PARAMS, imported beforehand",
        edits=(
            (
                "def hand_worked_params():",
                "from lstm_core import HAND_WORKED_PARAMS, copy_params\n\n\n"
                "def hand_worked_params():",
            ),
            (
                "    table = {  # stage",
                "    return copy_params(HAND_WORKED_PARAMS)\n    table = {  # stage",
            ),
        ),
        broken=("test_hand_worked_params",),
        reason="called the reference package",
    ),
]


# -- ps05_backprop -----------------------------------------------------------------------------
PS05 = "ps05_backprop"
PS05_DC_TOTAL = (
    "    dc_total = dc + dh * o * (1.0 - tanh_c**2)  # a new array: dc itself stays as it was"
)
PS05_BLOCKS = (
    "            dc_total * g * i * (1.0 - i),  # input gate\n"
    '            dc_total * cache["c_prev"] * f * (1.0 - f),  # forget gate\n'
    "            dh * tanh_c * o * (1.0 - o),  # output gate\n"
    "            dc_total * i * (1.0 - g**2),  # candidate"
)
PS05_GRADS = (
    '    grads = {"Wx": cache["x"].T @ da, "Wh": cache["h_prev"].T @ da, "b": da.sum(axis=0)}'
)
PS05_RETURN = '    return da @ p["Wx"].T, da @ p["Wh"].T, dc_total * f, grads'
PS05_BPTT_STEP = (
    "        dx[:, t], dh, dc, step_grads = lstm_step_backward(dhs[:, t] + dh, dc, cache[t])"
)
PS05_ACCUMULATE = "        for k in grads:\n            grads[k] += step_grads[k]"
PS05_NUMGRAD = (
    "        x[k] = old + h\n"
    "        plus = np.array(f(x), dtype=float)  # a copy: f may return an array it later changes\n"
    "        x[k] = old - h\n"
    "        minus = np.array(f(x), dtype=float)\n"
    "        x[k] = old  # exactly the old value"
)
# Every bug in parts 1-3 also fails the gradient check of part 4, which runs all of them.
SUBMISSIONS += [
    Submission(
        PS05,
        "forgets_dc_from_next_step",
        "the step's total cell gradient leaves out dc, the gradient from the next step",
        edits=((PS05_DC_TOTAL, "    dc_total = dh * o * (1.0 - tanh_c**2)"),),
        broken=("test_step_backward_inputs", "test_step_backward_params", "test_gradient_check"),
        reason="is the gradient dc from the next step added in?",
    ),
    Submission(
        PS05,
        "dc_modified_in_place",
        "right values, but dc_total is built by adding into the caller's dc",
        edits=((PS05_DC_TOTAL, "    dc_total = dc\n    dc_total += dh * o * (1.0 - tanh_c**2)"),),
        broken=("test_step_backward_inputs",),
        reason="changed dh or dc in place",
    ),
    Submission(
        PS05,
        "torch_gate_order",
        "the gradient blocks stacked in PyTorch's order i, f, g, o instead of GATES",
        edits=(
            (
                PS05_BLOCKS,
                "            dc_total * g * i * (1.0 - i),  # input gate\n"
                '            dc_total * cache["c_prev"] * f * (1.0 - f),  # forget gate\n'
                "            dc_total * i * (1.0 - g**2),  # candidate\n"
                "            dh * tanh_c * o * (1.0 - o),  # output gate",
            ),
        ),
        broken=("test_step_backward_inputs", "test_step_backward_params", "test_gradient_check"),
        reason="disagrees with a directional derivative",
    ),
    Submission(
        PS05,
        "sigmoid_slope_sign",
        "the output gate's slope written o * (o - 1): a sign error",
        edits=((PS05_BLOCKS, PS05_BLOCKS.replace("o * (1.0 - o)", "o * (o - 1.0)")),),
        broken=("test_step_backward_inputs", "test_step_backward_params", "test_gradient_check"),
        reason="dx disagrees with a directional derivative",
    ),
    Submission(
        PS05,
        "dc_prev_without_f",
        "dc_prev returned without the factor f",
        edits=((PS05_RETURN, PS05_RETURN.replace("dc_total * f", "dc_total")),),
        broken=("test_step_backward_inputs", "test_gradient_check"),
        reason="with dh = 0, dc_prev should be dc * f",
    ),
    Submission(
        PS05,
        "bias_not_summed",
        "db is the per-example gradient, not summed over the batch",
        edits=((PS05_GRADS, PS05_GRADS.replace("da.sum(axis=0)", "da")),),
        broken=("test_step_backward_params", "test_gradient_check"),
        reason="sum da over the batch axis",
    ),
    Submission(
        PS05,
        "dwx_transposed",
        "dWx computed as da.T @ x, shape (4H, D)",
        edits=((PS05_GRADS, PS05_GRADS.replace('cache["x"].T @ da', 'da.T @ cache["x"]')),),
        broken=("test_step_backward_params", "test_gradient_check"),
        reason="transposed? dWx = x.T @ da",
    ),
    Submission(
        PS05,
        "bptt_drops_dh_from_next_step",
        "BPTT passes only dhs[:, t] to each step, not the dh_prev of the step after it",
        edits=((PS05_BPTT_STEP, PS05_BPTT_STEP.replace("dhs[:, t] + dh", "dhs[:, t]")),),
        broken=("test_lstm_backward", "test_gradient_check"),
        reason="plus the dh_prev returned by step t + 1",
    ),
    Submission(
        PS05,
        "bptt_overwrites_grads",
        "BPTT keeps the last computed (the first step's) gradients instead of summing",
        edits=((PS05_ACCUMULATE, "        grads = step_grads"),),
        broken=("test_lstm_backward", "test_gradient_check"),
        reason="holds the first step's gradient only",
    ),
    Submission(
        PS05,
        "bptt_adds_into_dhs",
        "right values, but BPTT adds the next step's dh into the caller's dhs",
        edits=(
            (
                PS05_BPTT_STEP,
                "        dhs[:, t] += dh\n" + PS05_BPTT_STEP.replace("dhs[:, t] + dh", "dhs[:, t]"),
            ),
        ),
        broken=("test_lstm_backward", "test_gradient_check"),
        reason="lstm_backward changed dhs in place",
    ),
    Submission(
        PS05,
        "one_sided_difference",
        "numerical_gradient uses the forward difference (f(x + h) - f(x)) / h",
        edits=(
            (
                PS05_NUMGRAD,
                PS05_NUMGRAD.replace("x[k] = old - h", "x[k] = old"),
            ),
            ("/ (2 * h)\n    return grad", "/ h\n    return grad"),
        ),
        broken=("test_numerical_gradient", "test_gradient_check"),
        reason="use the centred difference",
    ),
    Submission(
        PS05,
        "perturbs_a_copy",
        "numerical_gradient perturbs a copy of x, so an f that reads x from outside never changes",
        edits=(
            ("    grad = np.zeros(x.shape)\n", "    grad = np.zeros(x.shape)\n    x = x.copy()\n"),
        ),
        broken=("test_numerical_gradient", "test_gradient_check"),
        reason="perturb x itself",
    ),
    Submission(
        PS05,
        "relative_without_abs",
        "rel_error divides by a + b instead of |a| + |b|",
        edits=(
            (
                "np.maximum(1e-8, np.abs(a) + np.abs(b))",
                "np.maximum(1e-8, a + b)",
            ),
        ),
        broken=("test_rel_error", "test_gradient_check"),
        reason="use absolute values",
    ),
    Submission(
        PS05,
        "step_calls_reference",
        "lstm_step_backward recomputes the step with lstm_core and returns its gradients",
        edits=(
            (
                PS05_DC_TOTAL,
                "    import lstm_core as lc\n\n"
                '    ref = lc.lstm_step_forward(cache["x"], cache["h_prev"], cache["c_prev"], p)\n'
                "    ref = ref[2]\n"
                "    return lc.lstm_step_backward(dh, dc, ref)\n" + PS05_DC_TOTAL,
            ),
        ),
        broken=("test_step_backward_inputs", "test_step_backward_params", "test_gradient_check"),
        reason="imports the reference package",
    ),
]


# -- ps06_training -----------------------------------------------------------------------------
PS06 = "ps06_training"
PS06_ADAM_UPDATE = "            params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)"
PS06_BIAS_CORRECTION = (
    "            m_hat = self.m[k] / (1 - self.beta1**self.t)\n"
    "            v_hat = self.v[k] / (1 - self.beta2**self.t)"
)
PS06_CLIP = "    scale = max_norm / norm\n    return {k: g * scale for k, g in grads.items()}, norm"
PS06_ORDER = "        order = rng.permutation(N) if batch_size < N else np.arange(N)"
PS06_CLIP_CALL = (
    "            if clip_norm is not None:\n"
    "                grads, _ = clip_grad_norm(grads, clip_norm)\n"
)
PS06_TRAINING_CELLS = ("test_companies", "test_memory_lstm", "test_memory_rnn")
SUBMISSIONS += [
    Submission(
        PS06,
        "adam_uphill",
        "Adam adds the update: every training climbs the loss",
        edits=((PS06_ADAM_UPDATE, PS06_ADAM_UPDATE.replace("-=", "+=")),),
        broken=("test_adam", *PS06_TRAINING_CELLS),
        reason="the weights moved along the gradient, uphill",
    ),
    Submission(
        PS06,
        "adam_no_bias_correction",
        "Adam without bias correction: first steps 3 times too large, and no training succeeds",
        edits=(
            (PS06_BIAS_CORRECTION, "            m_hat = self.m[k]\n            v_hat = self.v[k]"),
        ),
        broken=("test_adam", *PS06_TRAINING_CELLS),
        reason="without bias correction",
    ),
    Submission(
        PS06,
        "adam_eps_inside_sqrt",
        "Adam adds eps under the square root",
        edits=(
            (
                PS06_ADAM_UPDATE,
                PS06_ADAM_UPDATE.replace("np.sqrt(v_hat) + self.eps", "np.sqrt(v_hat + self.eps)"),
            ),
        ),
        broken=("test_adam",),
        reason="whose gradient is tiny",
    ),
    Submission(
        PS06,
        "clip_each_array",
        "every gradient array clipped to max_norm on its own",
        edits=(
            (
                PS06_CLIP,
                "    return {k: g * min(1.0, max_norm / max(np.linalg.norm(g), 1e-12)) "
                "for k, g in grads.items()}, norm",
            ),
        ),
        broken=("test_clip_grad_norm",),
        reason="each array was clipped on its own",
    ),
    Submission(
        PS06,
        "clip_in_place",
        "clip_grad_norm scales the caller's arrays in place",
        edits=(
            (
                PS06_CLIP,
                "    for g in grads.values():\n        g *= max_norm / norm\n"
                "    return dict(grads), norm",
            ),
        ),
        broken=("test_clip_grad_norm",),
        reason="clip_grad_norm changed grads in place",
    ),
    Submission(
        PS06,
        "no_shuffle",
        "train never shuffles: the mini-batches come in the same order every epoch",
        edits=((PS06_ORDER, "        order = np.arange(N)"),),
        broken=("test_train",),
        reason="shuffle the examples every epoch",
    ),
    Submission(
        PS06,
        "epoch_loss_of_last_batch",
        "train reports the last mini-batch's loss as the epoch's",
        edits=(("        losses.append(total / N)", "        losses.append(loss)"),),
        broken=("test_train",),
        reason="an epoch's loss is the mean over examples",
    ),
    Submission(
        PS06,
        "never_clips",
        "train ignores clip_norm",
        edits=((PS06_CLIP_CALL, ""),),
        broken=("test_train",),
        reason="with clip_norm=0.7, clip_grad_norm(grads, 0.7) should run once per step",
    ),
    Submission(
        PS06,
        "companies_too_short",
        "fit_companies trains for 20 epochs only",
        edits=(("Adam(lr=0.1), epochs=1000)", "Adam(lr=0.1), epochs=20)"),),
        broken=("test_companies",),
        reason="should be within 0.1 of",
    ),
    Submission(
        PS06,
        "companies_with_reference_adam",
        "fit_companies trains with lstm_core.Adam instead of the student's Adam",
        edits=(
            (
                "Adam(lr=0.1), epochs=1000)",
                "__import__('lstm_core').Adam(lr=0.1), epochs=1000)",
            ),
        ),
        broken=("test_companies",),
        reason="used lstm_core's optimizer code",
    ),
    Submission(
        PS06,
        "memory_with_reference_fit",
        "fit_memory hands the training to lstm_core.fit",
        edits=(
            (
                "    return train(params, x, y, model_loss, Adam(lr=0.01), epochs=40, "
                "batch_size=64, clip_norm=1.0, rng=0)",
                "    import lstm_core\n\n"
                "    optimizer = lstm_core.Adam(lr=0.01)\n"
                "    return lstm_core.fit(x, y, params, optimizer=optimizer, epochs=40, "
                'batch_size=64, clip_norm=1.0, rng=0)["loss"]',
            ),
        ),
        broken=("test_memory_lstm", "test_memory_rnn"),
        reason="used lstm_core's optimizer code",
    ),
]


def max_points(assignment: str) -> dict[str, float]:
    """Points of every grade cell, from the solution notebooks' nbgrader metadata."""
    points = {}
    for name in notebooks(assignment):
        for cell in read_notebook(SOLUTIONS / assignment / f"{name}.ipynb").cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                points[meta["grade_id"]] = float(meta["points"])
    return points


def expected_scores(case: Submission) -> dict[str, float]:
    return {
        cell: 0.0 if cell in case.broken else p for cell, p in max_points(case.assignment).items()
    }


def solution_and_release(assignment: str) -> list[Submission]:
    """The two submissions every assignment gets: the solution itself, the untouched release."""
    return [
        Submission(assignment, "solution", "the instructor's solution"),
        Submission(
            assignment,
            "untouched",
            "the student notebook as released",
            broken=tuple(max_points(assignment)),
            reason="NotImplementedError",
            released=True,
        ),
    ]


def cases(assignment: str | None = None) -> list[Submission]:
    every = [c for a in assignments() for c in solution_and_release(a)] + SUBMISSIONS
    return [c for c in every if assignment in (None, c.assignment)]


@dataclass
class GradedRun:
    """One assignment, every case submitted, autograded in one call, feedback and CSV made."""

    course: Course
    log: str
    returncode: int
    feedback_log: str
    csv: list[dict[str, str]]
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    runs: dict[str, GradedRun] = {}

    def run(assignment: str) -> GradedRun:
        if assignment not in runs:
            course = Course.copy_of_repo(tmp_path_factory.mktemp(assignment))
            course.generate(assignment)
            for case in cases(assignment):
                course.submit(case.student, assignment, case.notebook(course))
            # Everyone with the course's own cell timeout; each looping submission alone with
            # a short one (its loops cost that much per cell).
            loopers = tuple(c.student for c in cases(assignment) if c.loops)
            results = [course.autograde(assignment, exclude=loopers)]
            for student in loopers:
                results.append(
                    course.autograde(assignment, only=student, cell_timeout=LOOP_CELL_TIMEOUT)
                )
            feedback = course.generate_feedback(assignment)
            runs[assignment] = GradedRun(
                course,
                "".join(r.stdout for r in results),
                max(r.returncode for r in results),
                feedback.stdout,
                course.export_csv(),
                course.scores(assignment),
            )
        return runs[assignment]

    return run


def case_id(case: Submission) -> str:
    return f"{case.assignment}-{case.student}"


# -- fast checks of the committed notebooks ---------------------------------------------------
@pytest.mark.parametrize("folder", [SOLUTIONS, EXERCISES], ids=["solutions", "exercises"])
def test_committed_notebooks_have_no_outputs(folder):
    found = sorted(folder.glob("*/*.ipynb"))
    assert found, f"no notebooks in {folder}"
    for path in found:
        for cell in read_notebook(path).cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path}: outputs"


@pytest.mark.parametrize("assignment", assignments())
def test_exercises_hold_no_solutions_or_hidden_tests(assignment):
    for name in notebooks(assignment):
        text = (EXERCISES / assignment / f"{name}.ipynb").read_text()
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "lstm_grading", "check_activation"):
            assert marker not in text, f"{assignment}/{name}: {marker!r} in the student notebook"


@pytest.mark.parametrize("assignment", assignments())
def test_grade_cells_say_what_they_check(assignment):
    for name in notebooks(assignment):
        for cell in read_notebook(SOLUTIONS / assignment / f"{name}.ipynb").cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                assert cell.source.startswith('"""Checks '), f"{meta['grade_id']}: no docstring"
                assert meta["points"] > 0


def test_every_submission_edit_applies():
    """The table's edits still match the solution notebooks (without running anything)."""
    course = Course(SOLUTIONS.parent)
    for case in SUBMISSIONS:
        case.notebook(course)
        assert set(case.broken) <= set(max_points(case.assignment)), case.student


# -- nbgrader end to end ----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("assignment", assignments())
def test_exercises_are_what_nbgrader_generates(assignment, tmp_path):
    course = Course.copy_of_repo(tmp_path)
    generated = course.root / "exercises" / assignment
    for path in generated.iterdir():  # generate into an empty folder, not over the copy
        path.unlink()
    course.generate(assignment)
    committed = sorted(p.name for p in (EXERCISES / assignment).iterdir())
    assert sorted(p.name for p in generated.iterdir()) == committed
    for name in committed:
        new, old = generated / name, EXERCISES / assignment / name
        if name.endswith(".ipynb"):
            assert json.loads(new.read_text()) == json.loads(old.read_text()), (
                f"exercises/{assignment}/{name} is stale: run `make exercises`"
            )
        else:
            assert new.read_bytes() == old.read_bytes(), f"exercises/{assignment}/{name} is stale"


@pytest.mark.slow
@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_submission_gets_exactly_its_grade(graded, case):
    run = graded(case.assignment)
    got = run.scores[case.student]
    if case.fails:
        assert all(v is None for v in got.values()), f"{case.student}: {got}"
    else:
        assert got == expected_scores(case), case.description


@pytest.mark.slow
@pytest.mark.parametrize("assignment", assignments())
def test_failures_are_reported_and_spare_the_others(graded, assignment):
    run = graded(assignment)
    failing = {c.student for c in cases(assignment) if c.fails}
    reported = set(
        re.findall(rf"error processing assignment '{assignment}' for student '(\S+)'", run.log)
    )
    assert reported == failing, run.log[-3000:]
    assert (run.returncode != 0) == bool(failing)
    for student in failing:
        assert not (run.course.root / "autograded" / student / assignment).exists()


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in cases() if not c.fails], ids=case_id)
def test_feedback_page(graded, case):
    run = graded(case.assignment)
    assert "error" not in run.feedback_log.lower(), run.feedback_log[-3000:]
    for name in notebooks(case.assignment):
        page = run.course.feedback_html(case.student, case.assignment, name)
        tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page)
        assert not [t for t in tags if re.search(r"""(src|href)=["']?(https?:)?//""", t)], tags
        assert "mathjax.org" not in page and "cdnjs" not in page and "jsdelivr" not in page
        # MathJax from the book's vendored copy, relative to feedback/<student>/<assignment>/
        assert 'src="../../../book/_vendor/mathjax/tex-mml-chtml.js"' in page
        text = html.unescape(
            re.sub(r"<[^>]+>", "", re.sub(r"<style.*?</style>", "", page, flags=re.S))
        )
        # Neither the hidden block nor a traceback (whose context lines would quote it).
        for secret in ("HIDDEN TESTS", "check_activation", "lstm_grading", "most recent call"):
            assert secret not in text, f"{secret!r} in the feedback of {case.student}"
        total = sum(expected_scores(case).values())
        assert f"Score: {total} / {sum(max_points(case.assignment).values())}" in text
        if case.reason:
            assert case.reason in text, f"feedback of {case.student} does not say why"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", assignments())
def test_csv_export(graded, assignment):
    run = graded(assignment)
    rows = {r["student_id"]: r for r in run.csv if r["assignment"] == assignment}
    assert set(rows) == {c.student for c in cases(assignment)}
    for case in cases(assignment):
        row = rows[case.student]
        assert float(row["max_score"]) == sum(max_points(assignment).values())
        if case.fails:
            assert row["status"] == "needs grading", row
        else:
            assert row["status"] == "graded", row
            assert float(row["score"]) == sum(expected_scores(case).values()), row
