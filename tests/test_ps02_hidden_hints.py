"""Problem set 2, fast: which message a one-bug submission sees first, and the hidden hints.

tests/test_ps02_gates.py grades every submission with nbgrader and looks for its ``reason``
anywhere on the feedback page. Here, without nbgrader, the notebook's cells run in this process
so that the test can tell which check fails first: for the mistakes that the visible tests
name, the visible part of the grade cell (before its hidden tests) must fail, with the
submission's reason. The hidden checks' hints for a transposed ``Wh_k`` and a missing bias are
tested on their own, since the visible checks now stop those submissions first.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from course import SOLUTIONS, Course
from test_ps02_gates import SUBMISSIONS

from lstm_grading.hidden import ps02

ASSIGNMENT = "ps02_gates"
HIDDEN = "### BEGIN HIDDEN TESTS"
CASES = {case.student: case for case in SUBMISSIONS}

# Submissions whose reason the visible checks of their one broken cell give (the first failure).
VISIBLE = [
    "forget_no_bias",
    "input_reads_forget_block",
    "input_naive_sigmoid",
    "forget_float64",
    "candidate_sigmoid",
    "candidate_wh_transposed",
    "input_wh_transposed",
    "output_float64_constant",
    "output_tanh",
    "output_transposed",
    "cell_update_gates_swapped",
    "cell_update_in_place",
    "cell_update_into_f",
    "cell_update_float64",
    "cell_update_matrix_product",
    "hidden_update_unsquashed",
    "hidden_update_in_place",
    "hidden_update_into_o",
    "hidden_update_float64",
]


def notebook_cells(student: str | None = None):
    """``(grade_id, source, is_grade_cell)`` of the solution notebook, with a submission's edits."""
    course = Course(SOLUTIONS.parent)
    if student is None:
        nb = course.solution_notebook(ASSIGNMENT)
    else:
        nb = CASES[student].notebook(course, ASSIGNMENT)
    for cell in nb.cells:
        if cell.cell_type == "code":
            meta = cell.metadata["nbgrader"]
            yield meta["grade_id"], cell.source, bool(meta.get("grade"))


def namespace(student: str | None = None) -> dict:
    """The notebook's given code and (edited) solutions run, grade cells and the demo left out."""
    env: dict = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for grade_id, source, graded in notebook_cells(student):
            if not graded and grade_id != "together":
                exec(compile(source, grade_id, "exec"), env)
    return env


def visible_failure(student: str | None, grade_id: str) -> str | None:
    """The message of the first failing visible check of grade cell ``grade_id``, or None."""
    env = namespace(student)
    (source,) = [s for g, s, _ in notebook_cells(student) if g == grade_id]
    try:
        exec(compile(source.split(HIDDEN)[0], grade_id, "exec"), env)
    except AssertionError as err:
        return str(err)
    return None


GRADE_CELLS = [g for g, _, graded in notebook_cells() if graded]


@pytest.mark.parametrize("grade_id", GRADE_CELLS)
def test_solution_passes_the_visible_checks(grade_id):
    assert visible_failure(None, grade_id) is None


@pytest.mark.parametrize("student", VISIBLE)
def test_visible_checks_name_the_mistake_first(student):
    case = CASES[student]
    (cell,) = case.broken
    message = visible_failure(student, cell)
    assert message is not None, f"{student}: the visible checks of {cell} pass"
    assert case.reason in message, message


def test_missing_bias_is_named_as_the_page_promises():
    """The page: the visible tests name "a missing bias"; the hand-worked check is the first."""
    message = visible_failure("forget_no_bias", "test_forget_gate")
    assert message.startswith("the forget gate of the hand-worked step should be sigmoid(5.95)")
    assert message.endswith("the bias is missing")


@pytest.mark.parametrize(
    ("student", "gate", "hint"),
    [
        ("input_wh_transposed", "i", "is Wh_i transposed? h_prev @ Wh_i is (N, H) @ (H, H)"),
        ("candidate_wh_transposed", "g", "is Wh_g transposed? h_prev @ Wh_g is (N, H) @ (H, H)"),
        ("forget_no_bias", "f", "without the bias b_f (is the bias missing?)"),
    ],
)
def test_hidden_check_names_the_mistake(student, gate, hint):
    fn = namespace(student)[ps02.GATE_FUNCTIONS[gate]]
    with pytest.raises(AssertionError, match="values differ from the reference") as err:
        ps02.check_gate(fn, gate)
    assert hint in str(err.value), str(err.value)


def test_hidden_check_passes_the_solution_without_a_hint():
    env = namespace()
    for gate, name in ps02.GATE_FUNCTIONS.items():
        ps02.check_gate(env[name], gate)


def test_hidden_check_gives_no_hint_for_other_wrong_values():
    """A gate off by a constant matches no usual mistake: the plain message, no hint."""
    env = namespace()

    def forget_gate(x, h_prev, params):
        return env["forget_gate"](x, h_prev, params) * np.asarray(0.5, x.dtype)

    with pytest.raises(AssertionError) as err:
        ps02.check_gate(forget_gate, "f")
    assert "values differ from the reference" in str(err.value)
    assert "they equal" not in str(err.value)
