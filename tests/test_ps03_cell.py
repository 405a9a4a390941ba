"""Problem set 3 (init_params and the fused step) graded end to end by nbgrader.

Each submission is the solution with one bug and the exact grade cells it must lose; see
tests/assignment_suite.py for what is checked. A step whose h or c is wrong loses the cells
that check its form too (shapes, batch, float32, cache): they want the values right.
"""

from __future__ import annotations

from pathlib import Path

import assignment_suite
import pytest
from assignment_suite import GradedAssignment, Submission

from lstm_grading.hidden import ps03

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions/ps03_cell/ps03_cell.ipynb"

SUM = '    a = x @ params["Wx"] + h_prev @ params["Wh"] + params["b"]  # (N, 4H)'
SQUASH = "    gates = np.concatenate([sigmoid(a[:, : 3 * H]), tanh(a[:, 3 * H :])], axis=1)"
SPLIT = "    i, f, o, g = (gates[:, k * H : (k + 1) * H] for k in range(4))"
C = "    c = f * c_prev + i * g"
H_LINE = "    h = o * tanh_c"
CACHE = (
    '    cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "i": i, "f": f, "o": o, "g": g,\n'
    '             "c": c, "tanh_c": tanh_c, "params": params}'
)
STEP_CELLS = (
    "test_step_shapes",
    "test_step_gates",
    "test_step_c",
    "test_step_h",
    "test_step_batch",
    "test_step_float32",
    "test_step_cache",
)
FORM_CELLS = ("test_step_shapes", "test_step_batch", "test_step_float32", "test_step_cache")
# Cells whose hidden cases saturate the gates (sums near +-1000, |c_prev| = 1000).
SATURATED_CELLS = (
    "test_step_gates",
    "test_step_c",
    "test_step_h",
    "test_step_float32",
    "test_step_cache",
)
SILENCED = "switched floating-point errors off"

SUBMISSIONS = [
    Submission(
        "init_forget_bias_on_input",
        "init_params sets the input gate's bias (block 0) to 1 instead of the forget gate's",
        edits=(('    k = GATES.index("f")', '    k = GATES.index("i")'),),
        broken=("test_init_params",),
        reason="the forget gate's bias (b[H:2H], block 1 of GATES) should be 1",
    ),
    Submission(
        "init_normal_weights",
        "init_params draws normal weights, which leave the range +-1/sqrt(H)",
        edits=(
            (
                '        "Wx": rng.uniform(-bound, bound, (D, 4 * H)).astype(dtype),',
                '        "Wx": rng.normal(0.0, bound, (D, 4 * H)).astype(dtype),',
            ),
        ),
        broken=("test_init_params",),
        reason="should lie in [-1/sqrt(H), 1/sqrt(H)]",
    ),
    Submission(
        "init_zero_other_biases",
        "init_params draws the weights but leaves the input, output and candidate biases at 0",
        edits=(
            (
                '        "b": rng.uniform(-bound, bound, 4 * H).astype(dtype),',
                '        "b": np.zeros(4 * H, dtype),',
            ),
        ),
        broken=("test_init_params",),
        reason="the biases of the input gate, the output gate and the candidate (b[:H] and b[2H:])",
    ),
    Submission(
        "init_ignores_dtype",
        "init_params always returns float64",
        edits=(
            (
                '        "b": rng.uniform(-bound, bound, 4 * H).astype(dtype),',
                '        "b": rng.uniform(-bound, bound, 4 * H),',
            ),
        ),
        broken=("test_init_params",),
        reason="dtype=np.float32 should give float32 arrays",
    ),
    Submission(
        "step_returns_zeros",
        "a stub: every gate zero, so h, c and the cache are zeros of the right shapes",
        edits=((SPLIT, "    i = f = o = g = np.zeros_like(c_prev)"),),
        broken=STEP_CELLS,
        reason="c of the hand-worked step should be 2.947567",
    ),
    Submission(
        "sigmoid_on_all_blocks",
        "the step squashes all four blocks with sigmoid, the candidate too",
        edits=((SQUASH, "    gates = sigmoid(a)"),),
        broken=STEP_CELLS,
        reason="the hand-worked gates (i, f, o, g) should be",
    ),
    Submission(
        "torch_gate_order",
        "the step reads the blocks in PyTorch's order i, f, g, o instead of GATES",
        edits=(
            (
                SQUASH,
                "    gates = np.concatenate(\n"
                "        [sigmoid(a[:, : 2 * H]), tanh(a[:, 2 * H : 3 * H]), "
                "sigmoid(a[:, 3 * H :])], axis=1\n"
                "    )",
            ),
            (SPLIT, SPLIT.replace("i, f, o, g", "i, f, g, o")),
        ),
        broken=STEP_CELLS,
        reason="the hand-worked gates (i, f, o, g) should be",
    ),
    Submission(
        "step_no_bias",
        "the step's sum leaves out the bias b",
        edits=((SUM, SUM.replace(' + params["b"]', "")),),
        broken=STEP_CELLS,
        reason="of sums without the bias; add it",
    ),
    Submission(
        "transposed_input_weights",
        "Wx read in PyTorch's (4H, D) layout, reshaped so that x @ Wx.T runs for any D",
        edits=((SUM, SUM.replace('x @ params["Wx"]', 'x @ params["Wx"].reshape(4 * H, -1).T')),),
        # Right for D = 1 (the hand-worked unit) and for zero Wx (bias_only_params): the visible
        # tests saw it only in test_step_gates's wiring check (added by the third review), the
        # hidden comparisons with the reference in every cell.
        broken=STEP_CELLS,
        reason="is Wx transposed or reshaped? x @ Wx is (N, D) @ (D, 4H)",
    ),
    Submission(
        "transposed_recurrent_weights",
        "Wh read in PyTorch's (4H, H) layout, reshaped so that h_prev @ Wh.T runs",
        edits=(
            (
                SUM,
                SUM.replace('h_prev @ params["Wh"]', 'h_prev @ params["Wh"].reshape(4 * H, -1).T'),
            ),
        ),
        broken=STEP_CELLS,
        reason="is Wh transposed or reshaped? h_prev @ Wh is (N, H) @ (H, 4H)",
    ),
    Submission(
        "naive_sigmoid_in_step",
        "the sigmoid gates by the textbook formula, which overflows when a gate saturates",
        edits=(
            (
                SQUASH,
                "    gates = np.concatenate([1.0 / (1.0 + np.exp(-a[:, : 3 * H])), "
                "tanh(a[:, 3 * H :])], axis=1)",
            ),
        ),
        # The visible gates and float32 cells saturate the gates too: their own message.
        broken=SATURATED_CELLS,
        reason="lstm_step_forward overflowed on gate sums of +-1000",
    ),
    Submission(
        "sigmoid_clipped_at_700",
        "the textbook sigmoid of sums clipped to +-700: fine in float64, overflows in float32",
        edits=(
            (
                SQUASH,
                "    gates = np.concatenate(\n"
                "        [1.0 / (1.0 + np.exp(-np.clip(a[:, : 3 * H], -700, 700))), "
                "tanh(a[:, 3 * H :])], axis=1\n"
                "    )",
            ),
        ),
        broken=("test_step_float32",),
        reason="the float32 step overflowed on gate sums of +-1000",
    ),
    Submission(
        "naive_sigmoid_silenced",
        "the textbook sigmoid in the step, its overflow silenced with np.errstate",
        edits=(
            (
                SQUASH,
                '    with np.errstate(over="ignore", under="ignore"):\n'
                "        gates = np.concatenate([1.0 / (1.0 + np.exp(-a[:, : 3 * H])), "
                "tanh(a[:, 3 * H :])], axis=1)",
            ),
        ),
        broken=STEP_CELLS,
        reason=SILENCED,
    ),
    Submission(
        "h_from_c_prev",
        "h squashes the old long-term memory c_prev instead of the new c",
        edits=((H_LINE, "    h = o * tanh(c_prev)"),),
        broken=("test_step_h", *FORM_CELLS),
        reason="h of the hand-worked step should be 0.986229",
    ),
    Submission(
        "first_row_memory",
        "every example's c uses the first example's c_prev: right for N = 1 only",
        edits=((C, "    c = f * c_prev[0] + i * g"),),
        broken=("test_step_c", "test_step_h", *FORM_CELLS),
        reason="each row with its own c_prev",
    ),
    Submission(
        "c_prev_in_place",
        "right values, but c is built in the caller's c_prev",
        edits=((C, "    c = c_prev\n    c *= f\n    c += i * g"),),
        broken=STEP_CELLS,
        reason="changed its argument c_prev in place",
    ),
    Submission(
        "float64_bias",
        "the bias converted to float64, so a float32 step comes out float64",
        edits=((SUM, SUM.replace('params["b"]', 'np.asarray(params["b"], float)')),),
        broken=("test_step_float32",),
        reason="should stay float32 for float32 inputs",
    ),
    Submission(
        "cache_new_states",
        "the cache holds the new h and c where the step's h_prev and c_prev belong",
        edits=(
            (
                CACHE,
                CACHE.replace('"h_prev": h_prev, "c_prev": c_prev', '"h_prev": h, "c_prev": c'),
            ),
        ),
        broken=("test_step_cache",),
        reason="holds the new memory",
    ),
    Submission(
        "cache_tanh_of_c_prev",
        "the cache's tanh_c is tanh(c_prev); h itself is right",
        edits=((CACHE, CACHE.replace('"tanh_c": tanh_c', '"tanh_c": tanh(c_prev)')),),
        broken=("test_step_h", "test_step_cache"),
        reason="should be tanh(c)",
    ),
    Submission(
        "cache_params_copy",
        "the cache keeps a defensive copy of params: the same values, so nothing is lost",
        edits=(
            (
                CACHE,
                CACHE.replace(
                    '"params": params', '"params": {k: v.copy() for k, v in params.items()}'
                ),
            ),
        ),
    ),
    Submission(
        "cache_params_without_bias",
        "the cache's params hold Wx and Wh only",
        edits=(
            (
                CACHE,
                CACHE.replace(
                    '"params": params', '"params": {"Wx": params["Wx"], "Wh": params["Wh"]}'
                ),
            ),
        ),
        broken=("test_step_cache",),
        reason='cache["params"] should hold the params the step was given',
    ),
    Submission(
        "cache_tuple",
        "the cache is the tuple (x, h_prev, c_prev, gates, tanh_c, params) of an older contract",
        edits=((CACHE, "    cache = (x, h_prev, c_prev, gates, tanh_c, params)"),),
        broken=(
            "test_step_shapes",
            "test_step_gates",
            "test_step_h",
            "test_step_float32",
            "test_step_cache",
        ),
        reason="cache should be a dict with the keys",
    ),
    Submission(
        "init_ignores_generator",
        "init_params uses an int seed but ignores a Generator passed as rng",
        edits=(
            (
                "    rng = np.random.default_rng(rng)",
                "    rng = np.random.default_rng(rng if isinstance(rng, int) else None)",
            ),
        ),
        broken=("test_init_params",),
        reason="use the Generator passed as rng",
    ),
    Submission(
        "returns_c_then_h",
        "the step returns (c, h, cache): shapes, batch and float32 look right, values do not",
        edits=(("    return h, c, cache", "    return c, h, cache"),),
        broken=("test_step_c", "test_step_h", *FORM_CELLS),
        reason="h and c are swapped: return h, c, cache in this order",
    ),
    Submission(
        "gates_unpacked_i_f_g_o",
        "the gates unpacked in the order i, f, g, o, so o and g trade places",
        edits=((SPLIT, SPLIT.replace("i, f, o, g =", "i, f, g, o =")),),
        broken=STEP_CELLS,
        reason="the right four values in another order",
    ),
    Submission(
        "output_gate_of_c",
        "h uses sigmoid(c) as its output gate: h = sigmoid(c) * tanh(c)",
        edits=((H_LINE, "    h = sigmoid(c) * tanh_c"),),
        broken=("test_step_h", *FORM_CELLS),
        reason="o is the sigmoid of the sums' block 2H:3H, not of c",
    ),
    Submission(
        "step_imports_lstm_core",
        "lstm_step_forward imports lstm_core and returns its step",
        edits=(
            (
                SUM,
                "    import lstm_core\n\n"
                "    return lstm_core.lstm_step_forward(x, h_prev, c_prev, params)\n" + SUM,
            ),
        ),
        broken=STEP_CELLS,
        reason="imports the reference package",
    ),
    # Third review (students): a mistake that the visible tests and the hidden ones let through.
    Submission(
        "init_generator_per_array",
        "init_params makes a new generator from the seed for each array: with an int seed, Wh "
        "and b repeat the first values of Wx (before this review, full points)",
        edits=(
            (
                "    rng = np.random.default_rng(rng)\n    bound = 1.0 / np.sqrt(H)\n",
                "    bound = 1.0 / np.sqrt(H)\n\n"
                "    def uniform(shape):\n"
                "        return np.random.default_rng(rng).uniform(-bound, bound, shape)\n\n",
            ),
            ("rng.uniform(-bound, bound, (D, 4 * H))", "uniform((D, 4 * H))"),
            ("rng.uniform(-bound, bound, (H, 4 * H))", "uniform((H, 4 * H))"),
            ("rng.uniform(-bound, bound, 4 * H)", "uniform(4 * H)"),
        ),
        broken=("test_init_params",),
        reason="was a new generator made from the seed for each array?",
    ),
    Submission(
        "init_wh_from_zero",
        "init_params draws Wh from uniform(0, bound) instead of (-bound, bound)",
        edits=(("rng.uniform(-bound, bound, (H, 4 * H))", "rng.uniform(0, bound, (H, 4 * H))"),),
        broken=("test_init_params",),
        reason="should be spread over the whole range",
    ),
    Submission(
        "step_hidden_size_from_x",
        "lstm_step_forward takes H from x (D) instead of h_prev",
        edits=(("    H = h_prev.shape[1]", "    H = x.shape[1]"),),
        broken=STEP_CELLS,
        reason="is a size taken from the wrong array?",
    ),
]


class TestGrading(GradedAssignment):
    assignment = "ps03_cell"
    submissions = SUBMISSIONS


def test_the_shapes_test_names_a_size_taken_from_the_wrong_array():
    """Found in a student's walk: H = x.shape[1] (D, not H) failed every step test with NumPy's
    bare "operands could not be broadcast together with shapes (4,3) (4,2)"; the first of them
    now says which sizes it ran and where H and D come from."""
    message = assignment_suite.visible_failure(
        NOTEBOOK, "test_step_shapes", ("    H = h_prev.shape[1]", "    H = x.shape[1]")
    )
    assert message is not None and message.startswith(
        "lstm_step_forward raised ValueError for N, D, H = 4, 3, 2 (operands could not be broadcast"
    ), message
    assert "H is h_prev.shape[1]" in message, message


@pytest.mark.parametrize("shape", ["(D, 4 * H)", "(H, 4 * H)"])
def test_init_params_drawn_from_zero_up_fails_visibly_and_hidden(shape):
    """Found in a student's walk: Wx (or Wh) drawn from uniform(0, bound) instead of
    (-bound, bound) passed the visible and the hidden tests, which checked the spread of all
    weights and biases together; now each weight matrix must fill the range on its own."""
    draw = f"rng.uniform(-bound, bound, {shape})"
    edit = (draw, draw.replace("-bound", "0"))
    key = "Wx" if shape.startswith("(D") else "Wh"
    message = assignment_suite.visible_failure(NOTEBOOK, "test_init_params", edit)
    assert message is not None and message.startswith(
        f"params[{key!r}] should be spread over the whole range"
    ), message
    init_params = assignment_suite.solution_namespace(NOTEBOOK, edit)["init_params"]
    with pytest.raises(AssertionError, match=rf"params\['{key}'\] should fill the range"):
        ps03.check_init_params(init_params)


def test_init_params_all_drawn_from_zero_up_is_named_by_matrix_in_the_hidden_check():
    """Every weight and bias drawn from uniform(0, bound): the hidden check names the matrix and
    the range its values lie in. A check of all the weights together, before the one of each
    matrix and implied by it at every size the check draws, once answered first with only
    "weights should fill the range [-1/sqrt(H), 1/sqrt(H)]" (found in a review of 0c61411)."""
    edits = [
        (f"rng.uniform(-bound, bound, {shape})", f"rng.uniform(0, bound, {shape})")
        for shape in ("(D, 4 * H)", "(H, 4 * H)", "4 * H")
    ]
    init_params = assignment_suite.solution_namespace(NOTEBOOK, *edits)["init_params"]
    # The first size with 40 weights in one matrix is (D, H) = (7, 2): Wx, 7 x 8.
    with pytest.raises(
        AssertionError,
        match=r"^params\['Wx'\] should fill the range .* \(D, H = 7, 2\), its values lie in \[0\.",
    ):
        ps03.check_init_params(init_params)


def test_the_shapes_test_names_a_missing_return():
    """Found in a student's walk (every function's last return left out in turn): a step
    without its return was told only "lstm_step_forward should return (h, c, cache)"; the test
    now says what came back."""
    message = assignment_suite.visible_failure(
        NOTEBOOK, "test_step_shapes", ("    return h, c, cache\n", "    h, c, cache\n")
    )
    assert message == (
        "lstm_step_forward should return (h, c, cache), got None (is the return missing?)"
    ), message


@pytest.mark.parametrize("grade_id", ["test_step_c", "test_step_h"])
def test_the_value_tests_name_c_prev_changed_in_place(grade_id):
    """Found in a student's walk: c built in c_prev's own array (c_prev *= f; c_prev += i * g)
    was told "on a batch, c should be f * c_prev + i * g ...; got [...], expected [...]", the
    expectation computed from the c_prev the step had changed: the right values were blamed.
    The hidden tests named it; the visible ones now do too."""
    edit = (C, "    c_prev *= f\n    c_prev += i * g\n    c = c_prev")
    message = assignment_suite.visible_failure(NOTEBOOK, grade_id, edit)
    assert message is not None and message.startswith(
        "lstm_step_forward changed its argument c_prev in place"
    ), message


def test_a_hidden_value_check_names_a_float32_result():
    """Found in a student's walk: h cast to float32 for float64 inputs lost test_step_h's hidden
    points with only "1 of 1 values differ from the reference ... got 0.2594943642616272,
    expected 0.25949436841615103"; the message now says the result is float32."""
    edit = (H_LINE, "    h = (o * tanh_c).astype(np.float32)")
    step = assignment_suite.solution_namespace(NOTEBOOK, edit)["lstm_step_forward"]
    with pytest.raises(AssertionError, match="values differ from the reference") as err:
        ps03.check_h(step)
    assert str(err.value).endswith(
        "is float32, right to only about 7 digits: float64 inputs must give a float64 result "
        "(was it computed in float32, or cast with .astype(np.float32)?)"
    ), err.value


HIDDEN_CHECKS = {
    "test_step_shapes": ps03.check_shapes,
    "test_step_gates": ps03.check_gates,
    "test_step_c": ps03.check_c,
    "test_step_h": ps03.check_h,
    "test_step_batch": ps03.check_batch,
    "test_step_float32": ps03.check_float32,
    "test_step_cache": ps03.check_cache,
}


@pytest.mark.parametrize("grade_id", STEP_CELLS)
@pytest.mark.parametrize(
    ("returned", "got"),
    [("h, c", "a tuple of length 2"), ("[h, c, cache]", "a list of length 3")],
)
def test_every_step_test_names_a_return_other_than_the_tuple(grade_id, returned, got):
    """Found in review: a step returning (h, c), or [h, c, cache], was named only by
    test_step_shapes; the six later cells stopped on a bare "ValueError: not enough values to
    unpack (expected 3, got 2)" (or passed, for the list) while their hidden tests refused it.
    Every cell now runs the step through the tools cell's run_step, which names the form."""
    edit = ("    return h, c, cache", f"    return {returned}")
    message = assignment_suite.visible_failure(NOTEBOOK, grade_id, edit)
    assert message == f"lstm_step_forward should return (h, c, cache), got {got}", message
    step = assignment_suite.solution_namespace(NOTEBOOK, edit)["lstm_step_forward"]
    with pytest.raises(AssertionError, match=r"should return the tuple \(h, c, cache\)"):
        HIDDEN_CHECKS[grade_id](step)


@pytest.mark.parametrize("grade_id", STEP_CELLS)
def test_every_step_test_names_c_prev_changed_in_place(grade_id):
    """Found in review: c built in c_prev's own array passed test_step_shapes, test_step_gates
    and test_step_float32 (and test_step_cache told "cache["c_prev"] holds the new memory"),
    whose hidden tests refuse it ("changed its argument c_prev in place"); run_step names it in
    every cell."""
    edit = (C, "    c_prev *= f\n    c_prev += i * g\n    c = c_prev")
    message = assignment_suite.visible_failure(NOTEBOOK, grade_id, edit)
    assert message == (
        "lstm_step_forward changed its argument c_prev in place (c_prev *= f, np.multiply(f, "
        "c_prev, out=c_prev)); compute a new array, c = f * c_prev + i * g"
    ), message
    step = assignment_suite.solution_namespace(NOTEBOOK, edit)["lstm_step_forward"]
    with pytest.raises(AssertionError, match="changed its argument c_prev in place"):
        HIDDEN_CHECKS[grade_id](step)


def test_every_step_test_names_a_params_array_changed_in_place():
    """The same for params: a bias scaled in place is named by its key in the visible cells."""
    edit = (SUM, '    params["b"] *= 1.0001\n' + SUM)
    message = assignment_suite.visible_failure(NOTEBOOK, "test_step_gates", edit)
    assert message == (
        "lstm_step_forward changed its argument params['b'] in place; compute new arrays instead"
    ), message


@pytest.mark.parametrize("grade_id", STEP_CELLS)
def test_every_step_test_names_h_returned_as_a_list(grade_id):
    """Found by the hostile-student pass (each visible check run on the solution with its return
    transformed): h returned as a list passed the visible parts of test_step_gates and
    test_step_cache, whose hidden tests refuse it (and stopped test_step_h's on a bare
    TypeError). run_step names it in every cell."""
    edit = ("    return h, c, cache", "    return h.tolist(), c, cache")
    message = assignment_suite.visible_failure(NOTEBOOK, grade_id, edit)
    assert message == "lstm_step_forward should return h as a NumPy array, got a list", message
    step = assignment_suite.solution_namespace(NOTEBOOK, edit)["lstm_step_forward"]
    with pytest.raises(AssertionError, match="should be a NumPy array, got list"):
        HIDDEN_CHECKS[grade_id](step)


@pytest.mark.parametrize("grade_id", FORM_CELLS[:3])
def test_the_form_tests_name_c_returned_first(grade_id):
    """Found by the same pass: (c, h, cache) passed the visible parts of test_step_shapes,
    test_step_batch and test_step_float32 (shapes and dtypes alike), whose hidden tests refuse
    it; they now name it (test_step_c, test_step_h and test_step_cache did already).
    test_step_gates, whose hidden test looks at the gates alone and passes it, does not."""
    edit = ("    return h, c, cache", "    return c, h, cache")
    message = assignment_suite.visible_failure(NOTEBOOK, grade_id, edit)
    assert message == "h and c are swapped: return h, c, cache in this order", message
    step = assignment_suite.solution_namespace(NOTEBOOK, edit)["lstm_step_forward"]
    with pytest.raises(AssertionError, match="h and c are"):
        HIDDEN_CHECKS[grade_id](step)
    assert assignment_suite.visible_failure(NOTEBOOK, "test_step_gates", edit) is None
    ps03.check_gates(step)


@pytest.mark.parametrize("grade_id", STEP_CELLS)
def test_every_step_test_names_a_params_array_replaced_in_the_dict(grade_id):
    """Found by the same pass: a step that puts a reshaped bias in the caller's dict
    (params["b"] = params["b"].reshape(1, -1), which broadcasts the same) passed every visible
    cell but test_step_cache, as run_step compared only the arrays the dict held before the
    call; the hidden tests refuse it (the caller's params changed)."""
    edit = (SUM, '    params["b"] = params["b"].reshape(1, -1)\n' + SUM)
    message = assignment_suite.visible_failure(NOTEBOOK, grade_id, edit)
    assert message == (
        "lstm_step_forward replaced params['b'] in the params dict it was given (params[...] = "
        "...): leave the caller's params as they are, and keep what you compute in names of "
        "your own"
    ), message
    step = assignment_suite.solution_namespace(NOTEBOOK, edit)["lstm_step_forward"]
    with pytest.raises(AssertionError, match="changed its argument params"):
        HIDDEN_CHECKS[grade_id](step)


def test_the_text_says_a_float64_step_gives_float64():
    """Found in review: test_step_shapes ("h should be float64 for float64 inputs") and the
    hidden value checks ("is float32 ... float64 inputs must give a float64 result") refuse a
    float64 step computed in float32, but the text asked only that a float32 step stay float32."""
    import json

    (text,) = [
        " ".join("".join(c["source"]).split())
        for c in json.loads(NOTEBOOK.read_text())["cells"]
        if c["metadata"]["nbgrader"].get("grade_id") == "step_text"
    ]
    assert "a float64 step gives float64 arrays" in text, text
