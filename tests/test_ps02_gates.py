"""Problem set 2 (the gates, the cell update, the hidden update) graded end to end by nbgrader.

Each submission is the solution with one bug and the exact grade cells it must lose; see
tests/assignment_suite.py for what is checked.
"""

from __future__ import annotations

import numpy as np
import pytest
from assignment_suite import GradedAssignment, Submission, solution_namespace, visible_failure
from course import SOLUTIONS

NOTEBOOK = SOLUTIONS / "ps02_gates" / "ps02_gates.ipynb"


def gate_body(gate: str, squash: str) -> str:
    """The solution's two lines of one gate function."""
    return (
        f'    Wx, Wh, b = gate_params(params, "{gate}")\n'
        f"    return {squash}(x @ Wx + h_prev @ Wh + b)"
    )


def gate_with(gate: str, expression: str) -> str:
    """A gate function body that returns ``expression`` of its sum ``a``."""
    return (
        f'    Wx, Wh, b = gate_params(params, "{gate}")\n'
        f"    a = x @ Wx + h_prev @ Wh + b\n    return {expression}"
    )


CELL_UPDATE = "    return f * c_prev + i * g"
HIDDEN_UPDATE = "    return o * tanh(c)"
SILENCED = "switched floating-point errors off"

SUBMISSIONS = [
    Submission(
        "forget_no_bias",
        "the forget gate leaves out its bias",
        edits=((gate_body("f", "sigmoid"), gate_body("f", "sigmoid").replace(" + b)", ")")),),
        broken=("test_forget_gate",),
        reason="sigmoid of the 'f' block's sum without its bias b_f = 1.62: the bias is missing",
    ),
    Submission(
        "input_reads_forget_block",
        "the input gate reads the forget gate's block of params",
        edits=((gate_body("i", "sigmoid"), gate_body("f", "sigmoid")),),
        broken=("test_input_gate",),
        reason="the input gate of the hand-worked step should be sigmoid(4.27) = 0.986211",
    ),
    Submission(
        "input_naive_sigmoid",
        "the input gate by the textbook sigmoid, which overflows for sums below -709.8",
        edits=((gate_body("i", "sigmoid"), gate_with("i", "1.0 / (1.0 + np.exp(-a))")),),
        broken=("test_input_gate",),
        reason="large inputs must not overflow",
    ),
    Submission(
        "output_naive_sigmoid_silenced",
        "the output gate by the textbook sigmoid under np.errstate(over='ignore')",
        edits=(
            (
                gate_body("o", "sigmoid"),
                gate_with("o", "1.0 / (1.0 + np.exp(-a))").replace(
                    "    return", '    with np.errstate(over="ignore"):\n        return'
                ),
            ),
        ),
        broken=("test_output_gate",),
        reason=SILENCED,
    ),
    Submission(
        "forget_float64",
        "the forget gate converts x to float64, so a float32 batch gives a float64 gate",
        edits=(
            (
                gate_body("f", "sigmoid"),
                gate_body("f", "sigmoid").replace("sigmoid(x @", "sigmoid(np.asarray(x, float) @"),
            ),
        ),
        broken=("test_forget_gate",),
        reason="forget_gate should return float32 for float32 inputs, got float64",
    ),
    Submission(
        "candidate_sigmoid",
        "the candidate memory squashed with sigmoid instead of tanh",
        edits=((gate_body("g", "tanh"), gate_body("g", "sigmoid")),),
        broken=("test_candidate_memory",),
        reason="the candidate of the hand-worked step should be tanh(2.03) = 0.966087",
    ),
    Submission(
        "candidate_wh_transposed",
        "the candidate uses Wh_g transposed: the same for one unit, wrong for H > 1",
        edits=(
            (
                gate_body("g", "tanh"),
                gate_body("g", "tanh").replace("h_prev @ Wh", "h_prev @ Wh.T"),
            ),
        ),
        broken=("test_candidate_memory",),
        reason="is Wh_g transposed? h_prev @ Wh_g is (N, H) @ (H, H)",
    ),
    Submission(
        "input_wh_transposed",
        "the input gate uses Wh_i transposed, the same (H, H) shape: right for one unit only",
        edits=(
            (
                gate_body("i", "sigmoid"),
                gate_body("i", "sigmoid").replace("h_prev @ Wh", "h_prev @ Wh.T"),
            ),
        ),
        broken=("test_input_gate",),
        reason="that is sigmoid(Wh_i.T): is Wh_i transposed?",
    ),
    Submission(
        "output_float64_constant",
        "the output gate adds its bias as np.array(b, dtype=float): float32 batches give float64",
        edits=(
            (
                gate_body("o", "sigmoid"),
                gate_body("o", "sigmoid").replace("+ b)", "+ np.array(b, dtype=float))"),
            ),
        ),
        broken=("test_output_gate",),
        reason="output_gate should return float32 for float32 inputs, got float64",
    ),
    Submission(
        "output_tanh",
        "the output gate squashed with tanh instead of sigmoid",
        edits=((gate_body("o", "sigmoid"), gate_body("o", "tanh")),),
        broken=("test_output_gate",),
        reason="the output gate of the hand-worked step should be sigmoid(4.78) = 0.991674",
    ),
    Submission(
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
        reason="got (2, 4) (transposed: rows must be examples)",
    ),
    Submission(
        "cell_update_gates_swapped",
        "the cell update multiplies c_prev by i and the candidate by f",
        edits=((CELL_UPDATE, "    return i * c_prev + f * g"),),
        broken=("test_cell_update",),
        reason="= 0.986211 * 2 + 0.997401 * 0.966087, i * c_prev + f * g",
    ),
    Submission(
        "cell_update_in_place",
        "right values, but the cell update scales and adds into the caller's c_prev",
        edits=((CELL_UPDATE, "    c_prev *= f\n    c_prev += i * g\n    return c_prev"),),
        broken=("test_cell_update",),
        reason="cell_update changed its argument c_prev in place: return a new array",
    ),
    Submission(
        "cell_update_into_f",
        "right values, but the cell update multiplies and adds into the caller's f",
        edits=((CELL_UPDATE, "    f *= c_prev\n    f += i * g\n    return f"),),
        broken=("test_cell_update",),
        reason="cell_update changed its argument f in place: return a new array",
    ),
    Submission(
        "cell_update_float64",
        "the cell update converts f with np.asarray(f, dtype=float): float32 gives float64",
        edits=((CELL_UPDATE, "    return np.asarray(f, dtype=float) * c_prev + i * g"),),
        broken=("test_cell_update",),
        reason="cell_update should return float32 for float32 inputs, got float64",
    ),
    Submission(
        "cell_update_matrix_product",
        "the cell update multiplies with @ instead of elementwise: right for one unit only",
        edits=((CELL_UPDATE, "    return f * c_prev + i @ g.T"),),
        broken=("test_cell_update",),
        reason="cell_update failed on arrays of shape (N, H) = (2, 3)",
    ),
    Submission(
        "hidden_update_unsquashed",
        "the hidden update shows o * c, without squashing c",
        edits=((HIDDEN_UPDATE, "    return o * c"),),
        broken=("test_hidden_update",),
        reason="= 0.991674 * 2.947567, o * c",
    ),
    Submission(
        "hidden_update_in_place",
        "right values, but the hidden update squashes the caller's c in place",
        edits=((HIDDEN_UPDATE, "    np.tanh(c, out=c)\n    return o * c"),),
        broken=("test_hidden_update",),
        reason="hidden_update changed its argument c in place: return a new array",
    ),
    Submission(
        "hidden_update_into_o",
        "right values, but the hidden update multiplies into the caller's o",
        edits=((HIDDEN_UPDATE, "    o *= tanh(c)\n    return o"),),
        broken=("test_hidden_update",),
        reason="hidden_update changed its argument o in place: return a new array",
    ),
    Submission(
        "hidden_update_float64",
        "the hidden update squashes np.asarray(c, dtype=float): float32 gives float64",
        edits=((HIDDEN_UPDATE, "    return o * tanh(np.asarray(c, dtype=float))"),),
        broken=("test_hidden_update",),
        reason="hidden_update should return float32 for float32 inputs, got float64",
    ),
    Submission(
        "hidden_update_naive_tanh",
        "the hidden update by the textbook tanh, which overflows for a memory of 1000",
        edits=(
            (
                HIDDEN_UPDATE,
                "    return o * (np.exp(c) - np.exp(-c)) / (np.exp(c) + np.exp(-c))",
            ),
        ),
        broken=("test_hidden_update",),
        reason="large inputs must not overflow",
    ),
    Submission(
        "forget_clipped",
        "the forget gate clips its sum to [-15, 15], which no visible check reaches",
        edits=(
            (
                gate_body("f", "sigmoid"),
                gate_with("f", "sigmoid(np.clip(a, -15.0, 15.0))"),
            ),
        ),
        broken=("test_forget_gate",),
        reason="values differ from the reference",
    ),
    Submission(
        "forget_bias_of_input_block",
        "the forget gate's weights right, its bias cut from the input gate's block b[0:H]",
        edits=(
            (
                gate_body("f", "sigmoid"),
                '    Wx, Wh, _ = gate_params(params, "f")\n    b = gate_params(params, "i")[2]\n'
                "    return sigmoid(x @ Wx + h_prev @ Wh + b)",
            ),
        ),
        broken=("test_forget_gate",),
        reason="the 'f' block's weights with the bias of the 'i' block",
    ),
    Submission(
        "output_weights_pytorch_block",
        "the output gate reads its weights from columns 3H:4H (PyTorch's order), its bias right",
        edits=(
            (
                gate_body("o", "sigmoid"),
                '    H = params["Wh"].shape[0]\n    cols = slice(3 * H, 4 * H)\n'
                '    b = gate_params(params, "o")[2]\n'
                '    return sigmoid(x @ params["Wx"][:, cols]'
                ' + h_prev @ params["Wh"][:, cols] + b)',
            ),
        ),
        broken=("test_output_gate",),
        reason="the 'g' block's weights with the bias of the 'o' block",
    ),
    Submission(
        "forget_bias_after_sigmoid",
        "the forget gate adds its bias after the sigmoid",
        edits=((gate_body("f", "sigmoid"), gate_with("f", "sigmoid(a - b) + b")),),
        broken=("test_forget_gate",),
        reason="added after squashing: the bias belongs inside",
    ),
    Submission(
        "input_gate_float32",
        "the input gate always returns float32, float64 inputs too",
        edits=((gate_body("i", "sigmoid"), gate_with("i", "sigmoid(a).astype(np.float32)")),),
        broken=("test_input_gate",),
        reason="input_gate should return float64 for float64 inputs, got float32",
    ),
    Submission(
        "candidate_bias_column",
        "the candidate's bias reshaped into a column (H, 1): right for N = H = 1 only",
        edits=(
            (
                gate_body("g", "tanh"),
                '    Wx, Wh, b = gate_params(params, "g")\n'
                "    return tanh(x @ Wx + h_prev @ Wh + b.reshape(-1, 1))",
            ),
        ),
        broken=("test_candidate_memory",),
        reason="or the bias reshaped into a column (H, 1)?",
    ),
    Submission(
        "cell_update_without_input_gate",
        "cell_update adds the candidate unscaled: c = f * c_prev + g",
        edits=((CELL_UPDATE, "    return f * c_prev + g"),),
        broken=("test_cell_update",),
        reason="f * c_prev + g: the input gate i must scale the candidate g",
    ),
    Submission(
        "cell_update_coupled_gates",
        "cell_update couples the gates as a GRU does: c = f * c_prev + (1 - f) * g",
        edits=((CELL_UPDATE, "    return f * c_prev + (1 - f) * g"),),
        broken=("test_cell_update",),
        reason="the input gate i, not 1 - f, scales the candidate g",
    ),
    Submission(
        "hidden_update_squashes_o",
        "hidden_update squashes the output gate again: h = sigmoid(o) * tanh(c)",
        edits=((HIDDEN_UPDATE, "    return sigmoid(o) * tanh(c)"),),
        broken=("test_hidden_update",),
        reason="o is already the output gate's value (a sigmoid), do not squash it again",
    ),
    Submission(
        "hidden_update_tanh_of_product",
        "hidden_update squashes the product: h = tanh(o * c)",
        edits=((HIDDEN_UPDATE, "    return tanh(o * c)"),),
        broken=("test_hidden_update",),
        reason="tanh(o * c): squash c first, then scale",
    ),
    Submission(
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
    # Third review (students): the feedback of a mistake said what, not why.
    Submission(
        "cell_update_in_float32",
        "cell_update computes in float32 and casts back: float64 in, float64 out, 7 digits",
        edits=(
            (
                CELL_UPDATE,
                "    c = f.astype(np.float32) * c_prev.astype(np.float32) + i * g\n"
                "    return c.astype(c_prev.dtype)",
            ),
        ),
        broken=("test_cell_update",),
        reason="right to only about 7 digits: was it computed in float32?",
    ),
    Submission(
        "hidden_update_in_float32",
        "hidden_update squashes a float32 copy of c: float64 in, float64 out, 7 digits",
        edits=((HIDDEN_UPDATE, "    return o * tanh(c.astype(np.float32)).astype(c.dtype)"),),
        broken=("test_hidden_update",),
        reason="right to only about 7 digits: was it computed in float32?",
    ),
]


class TestGrading(GradedAssignment):
    assignment = "ps02_gates"
    submissions = SUBMISSIONS


@pytest.mark.parametrize(
    ("gate", "squash", "grade_id"),
    [
        ("f", "sigmoid", "test_forget_gate"),
        ("i", "sigmoid", "test_input_gate"),
        ("o", "sigmoid", "test_output_gate"),
    ],
)
@pytest.mark.parametrize("mistake", ["formula", "unpacked Wh, Wx, b", "unpacked b, Wx, Wh"])
def test_the_gate_tests_name_the_weights_swapped(gate, squash, grade_id, mistake):
    """Found in a student's walk: x @ Wh_f + h_prev @ Wx_f passes the hand-worked step (x = h_prev
    = 1, D = H = 1) and was then told only "with x = -10 the forget gate should be sigmoid(-11.98)
    = 6.27e-6, got 4.8e-11"; the x = -10 checks of the sigmoid gates now name what was computed
    (not the candidate's: near -1, the saturated tanh of several sums agree to 11 digits). The
    same value comes from gate_params's result unpacked out of order (with h_prev = 1, also
    b, Wx, Wh), so the message gives its order."""
    right = f'gate_params(params, "{gate}")\n    return {squash}(x @ Wx + h_prev @ Wh + b)'
    if mistake == "formula":
        edit = (right, right.replace("x @ Wx + h_prev @ Wh", "x @ Wh + h_prev @ Wx"))
    else:
        unpack = f'    Wx, Wh, b = gate_params(params, "{gate}")'
        edit = (unpack, unpack.replace("Wx, Wh, b", mistake.split("unpacked ")[1]))
    message = visible_failure(NOTEBOOK, grade_id, edit)
    assert message is not None and message.startswith("with x = -10 the "), message
    assert message.endswith(
        f"; that is {squash}(x @ Wh_{gate} + h_prev @ Wx_{gate} + b_{gate}), the weights swapped: "
        f"x goes with Wx_{gate}, h_prev with Wh_{gate} (gate_params returns them in the order Wx, "
        "Wh, b)"
    ), message


@pytest.mark.parametrize(
    ("grade_id", "old", "cast", "says"),
    [
        (
            "test_hidden_update",
            "    return o * tanh(c)",
            "np.float32",
            "got float32: float32 keeps only about 7 digits",
        ),
        (
            "test_hidden_update",
            "    return o * tanh(c)",
            "int",
            "got int64: an integer array drops every fraction",
        ),
        (
            "test_cell_update",
            "    return f * c_prev + i * g",
            "int",
            "got int64: an integer array drops every fraction",
        ),
    ],
)
def test_an_update_of_the_wrong_dtype_is_named(grade_id, old, cast, says):
    """Found in a student's walk: hidden_update cast to float32 was told "with o = 1, h should
    be tanh(c), inside [-1, 1]; got [[0.9999092 ...]]: squash c with tanh" (1.0 + 1e-12 is 1.0
    in float32, so a right tanh(40) = 1.0 failed the bound), and an update cast to int "got 0"
    or "got 2"; the dtype is now checked right after the hand-worked value's shape."""
    new = old.replace("return ", "return (") + f").astype({cast})"
    message = visible_failure(NOTEBOOK, grade_id, (old, new))
    name = grade_id[5:]
    assert message == f"{name} should return float64 for float64 inputs, {says}", message


def test_a_gate_of_an_integer_dtype_is_not_blamed_on_float32():
    """check_gate_on_batch named any dtype but float64 with "float32 keeps only about 7
    digits"; an integer result is told it drops the fractions."""
    check = solution_namespace(NOTEBOOK)["check_gate_on_batch"]

    def int_gate(x, h_prev, params):
        return np.zeros((x.shape[0], params["Wh"].shape[0]), dtype=int)

    with pytest.raises(AssertionError) as err:
        check(int_gate, "f", np.tanh)
    assert str(err.value) == (
        "int_gate should return float64 for float64 inputs, got int64: an integer array drops "
        "every fraction"
    )


@pytest.mark.parametrize(
    ("gate", "squash", "name"),
    [
        ("f", "sigmoid", "forget_gate"),
        ("i", "sigmoid", "input_gate"),
        ("g", "tanh", "candidate_memory"),
        ("o", "sigmoid", "output_gate"),
    ],
)
def test_a_gate_of_an_integer_dtype_is_named_before_its_value(gate, squash, name):
    """Found in review: a gate cast with .astype(int) was told "the forget gate of the hand-worked
    step should be sigmoid(5.95) = 0.997401, got 0; that is no block's sum squashed by sigmoid or
    tanh" (the hand-worked value came before check_gate_on_batch's dtype check), while the hidden
    check_gate names the dtype first; the visible cells now check the dtype after the shape."""
    body = gate_body(gate, squash)
    edit = (body, body.replace("return ", "return (") + ").astype(int)")
    message = visible_failure(NOTEBOOK, f"test_{name}", edit)
    assert message == (
        f"{name} should return float64 for float64 inputs, got int64: an integer array drops "
        "every fraction"
    ), message
    fn = solution_namespace(NOTEBOOK, edit)[name]
    from lstm_grading.hidden import ps02

    with pytest.raises(AssertionError, match="should be float64 like the inputs, got int64"):
        ps02.check_gate(fn, gate)
