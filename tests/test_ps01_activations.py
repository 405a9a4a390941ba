"""Problem set 1 (sigmoid, tanh and their derivatives) graded end to end by nbgrader.

Each submission is the solution with one bug (or an attack on the grader, ``hostile``) and the
exact grade cells it must lose; see tests/assignment_suite.py for what is checked.
"""

from __future__ import annotations

import pytest
from assignment_suite import (
    GradedAssignment,
    Submission,
    log_of_students,
    shares_of,
    solution_namespace,
    visible_failure,
)
from course import SOLUTIONS

from lstm_grading.hidden import ps01

NOTEBOOK = SOLUTIONS / "ps01_activations" / "ps01_activations.ipynb"
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
# The two loops sleep between turns: each is graded in a course copy of its own beside the
# rest of the class (tests/assignment_suite.py), and a sleeping loop leaves the core to it. What
# stops them is the same for a loop that computes: both limits count wall-clock time, and the
# signals reach Python's loop either way (the hostile corpus's busy loops, graded in the
# sandbox, are in tests/hostile/).
LOOP_SWALLOWING_CTRL_C = (
    "    import time\n\n    while True:\n        try:\n            time.sleep(0.05)\n"
    "        except KeyboardInterrupt:\n            pass"
)
# sigmoid_grad and tanh_grad call sigmoid and tanh, but their tests put a correct one in place
# of the student's: a wrong activation costs its own test only.
SILENCED = "switched floating-point errors off"

SUBMISSIONS = [
    Submission(
        "tanh_calls_numpy",
        "tanh returns np.tanh(x), which the text says not to use",
        edits=((TANH, "    return np.tanh(x)"),),
        broken=("test_tanh",),
        reason="tanh called np.tanh (or math.tanh): the exercise is to build tanh from np.exp",
    ),
    Submission(
        "tanh_is_numpys",
        "the name tanh bound to np.tanh itself after the cell's function",
        edits=((TANH, TANH + "\n\n\ntanh = np.tanh"),),
        broken=("test_tanh",),
        reason="tanh is NumPy's own np.tanh",
    ),
    Submission(
        "tanh_imports_numpys",
        "tanh returns NumPy's tanh under a name the notebook imported it as",
        edits=(
            ("def tanh(x):", "from numpy import tanh as np_tanh\n\n\ndef tanh(x):"),
            (TANH, "    return np_tanh(np.asarray(x, dtype=float))"),
        ),
        broken=("test_tanh",),
        reason="tanh called np.tanh (or math.tanh): the exercise is to build tanh from np.exp",
    ),
    Submission(
        "tanh_from_math",
        "tanh applies Python's math.tanh to each value",
        edits=(
            (
                TANH,
                "    import math\n\n    x = np.asarray(x, dtype=float)\n"
                "    return np.array([math.tanh(v) for v in x.ravel()]).reshape(x.shape)",
            ),
        ),
        broken=("test_tanh",),
        reason="tanh called np.tanh (or math.tanh): the exercise is to build tanh from np.exp",
    ),
    Submission(
        "sigmoid_from_torch",
        "sigmoid returns PyTorch's, installed beside the course as the tests' oracle",
        edits=(
            (
                SIGMOID,
                "    import torch\n\n"
                "    return torch.sigmoid(torch.as_tensor(np.asarray(x, dtype=float))).numpy()",
            ),
        ),
        broken=("test_sigmoid",),
        reason="torch is not available while grading",
    ),
    Submission(
        "naive_sigmoid",
        "sigmoid by the textbook formula overflows at x = -1000; sigmoid_grad uses it",
        edits=((SIGMOID, "    return 1.0 / (1.0 + np.exp(-x))"),),
        broken=("test_sigmoid",),
        reason="sigmoid overflowed for a large |x|",
    ),
    Submission(
        "naive_sigmoid_errstate",
        "the textbook sigmoid with its overflow silenced by np.errstate(over='ignore')",
        edits=(
            (
                SIGMOID,
                '    with np.errstate(over="ignore"):\n        return 1.0 / (1.0 + np.exp(-x))',
            ),
        ),
        broken=("test_sigmoid",),
        reason=SILENCED,
    ),
    Submission(
        "naive_sigmoid_seterr",
        "the textbook sigmoid after np.seterr(all='ignore')",
        edits=((SIGMOID, '    np.seterr(all="ignore")\n    return 1.0 / (1.0 + np.exp(-x))'),),
        broken=("test_sigmoid",),
        reason=SILENCED,
    ),
    Submission(
        "naive_tanh_decorated",
        "the textbook tanh under @np.errstate(all='ignore'): nan at +-1000",
        edits=(
            ("def tanh(x):", '@np.errstate(all="ignore")\ndef tanh(x):'),
            (TANH, "    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))"),
        ),
        broken=("test_tanh",),
        reason="tanh at 1000, -1000, 1e308, -1e308 should be exactly 1, -1, 1, -1",
    ),
    Submission(
        "where_both_branches",
        "np.where evaluates both exp formulas on the whole array, so it still overflows",
        edits=(
            (
                SIGMOID,
                "    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))",
            ),
        ),
        broken=("test_sigmoid",),
        reason="sigmoid overflowed for a large |x|",
    ),
    Submission(
        "one_sided_sigmoid",
        "sigmoid keeps only the x >= 0 branch; sigmoid_grad is written independently and right",
        edits=(
            (SIGMOID, "    z = np.exp(-np.abs(x))\n    return 1.0 / (1.0 + z)"),
            (SIGMOID_GRAD, "    z = np.exp(-np.abs(x))\n    return z / (1.0 + z) ** 2"),
        ),
        broken=("test_sigmoid",),
        reason="sigmoid(-5) should be 0.0066928509242848554",
    ),
    Submission(
        "sigmoid_in_place",
        "right values, but sigmoid takes |x| in place in the caller's array",
        edits=(
            (
                SIGMOID,
                "    negative = x < 0\n    np.abs(x, out=x)\n    z = np.exp(-x)\n"
                "    return np.where(negative, z / (1.0 + z), 1.0 / (1.0 + z))",
            ),
        ),
        broken=("test_sigmoid",),
        reason="changed its argument in place",
    ),
    Submission(
        "sigmoid_flattens",
        "sigmoid returns a flat array whatever the input's shape",
        edits=((SIGMOID, SIGMOID.replace("(1.0 + z))", "(1.0 + z)).ravel()")),),
        broken=("test_sigmoid",),
        reason="sigmoid should work elementwise on a 2-D array",
    ),
    Submission(
        "naive_tanh",
        "tanh by the textbook formula gives inf/inf = nan; tanh_grad uses it",
        edits=((TANH, "    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))"),),
        broken=("test_tanh",),
        reason="tanh overflowed for a large |x|",
    ),
    Submission(
        "tanh_two_abs_x",
        "exp(-2|x|) computed from 2|x|, which overflows for |x| near 1e308",
        edits=((TANH_W, "    w = np.exp(-2 * np.abs(x))"),),
        broken=("test_tanh",),
        reason="tanh overflowed for a large |x|",
    ),
    Submission(
        "tanh_without_sign",
        "tanh forgets the sign: tanh(-x) = tanh(x); tanh_grad, which squares it, stays right",
        edits=((TANH, TANH.replace("np.sign(x) * (1.0 - w)", "(1.0 - w)")),),
        broken=("test_tanh",),
        reason="tanh(-5) should be -0.9999092042625951",
    ),
    Submission(
        "sigmoid_grad_of_activation",
        "sigmoid_grad treats x as sigmoid's output",
        edits=((SIGMOID_GRAD, "    return x * (1.0 - x)"),),
        broken=("test_sigmoid_grad",),
        reason="sigmoid_grad(0) should be exactly 0.25",
    ),
    Submission(
        "tanh_grad_of_activation",
        "tanh_grad treats x as tanh's output",
        edits=((TANH_GRAD, "    return 1.0 - x * x"),),
        broken=("test_tanh_grad",),
        reason="tanh_grad disagrees with a finite difference",
    ),
    Submission(
        "hidden_only_bug",
        "tanh_grad wrong only where the visible checks do not look",
        edits=((TANH_GRAD, SUBTLY_WRONG_TANH_GRAD),),
        broken=("test_tanh_grad",),
        reason="values differ from the reference",
    ),
    Submission(
        "calls_reference_captured",
        "sigmoid returns lstm_core's answer through a name imported beforehand",
        edits=(
            ("def sigmoid(x):", "from lstm_core import sigmoid as helper\n\n\ndef sigmoid(x):"),
            (SIGMOID, "    return helper(x)"),
        ),
        broken=("test_sigmoid",),
        reason="called the reference package",
    ),
    Submission(
        "imports_reference",
        "sigmoid_grad imports lstm_core inside the function",
        edits=((SIGMOID_GRAD, "    import lstm_core\n\n    return lstm_core.sigmoid_grad(x)"),),
        broken=("test_sigmoid_grad",),
        reason="imports the reference package",
    ),
    Submission(
        "sigmoid_float32",
        "sigmoid computes in float32 (float64 inputs give float32); sigmoid_grad uses it",
        edits=((SIGMOID, SIGMOID + ".astype(np.float32)"),),
        broken=("test_sigmoid",),
        reason="sigmoid should return float64 for float64 inputs, got float32",
    ),
    Submission(
        "tanh_grad_not_squared",
        "tanh_grad is 1 - tanh(x): the square is missing",
        edits=((TANH_GRAD, "    return 1.0 - tanh(x)"),),
        broken=("test_tanh_grad",),
        reason="that is 1 - tanh(x); the derivative is 1 - tanh(x) ** 2",
    ),
    # Fifth review (students): a message that printed the wrong values as the right ones.
    Submission(
        "tanh_clipped",
        "tanh clips x to [-10, 10] before the textbook formula: no overflow, but tanh(1000) is "
        "0.9999999959, which NumPy prints as 1.",
        edits=(
            (
                TANH,
                "    x = np.clip(x, -10.0, 10.0)\n"
                "    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))",
            ),
        ),
        broken=("test_tanh",),
        reason="should be exactly 1, -1, 1, -1; got [0.9999999958776926, -0.9999999958776926",
    ),
    # Fifth review: code for one number, which failed with a bare ValueError.
    Submission(
        "sigmoid_if_on_x",
        "sigmoid written for one number: `if x >= 0:` picks the formula",
        edits=(
            (
                SIGMOID,
                "    if x >= 0:\n        return 1.0 / (1.0 + np.exp(-x))\n"
                "    return np.exp(x) / (1.0 + np.exp(x))",
            ),
        ),
        broken=("test_sigmoid",),
        reason="an `if` on x asks the whole array for one truth value: sigmoid works elementwise",
    ),
    Submission(
        "tanh_if_on_x",
        "tanh written for one number: `if x < 0:` picks the sign",
        edits=(
            (
                TANH,
                "    w = np.exp(-2.0 * abs(x))\n    if x < 0:\n"
                "        return -(1.0 - w) / (1.0 + w)\n    return (1.0 - w) / (1.0 + w)",
            ),
        ),
        broken=("test_tanh",),
        reason="an `if` on x asks the whole array for one truth value: tanh works elementwise",
    ),
    Submission(
        "sigmoid_loop_over_x",
        "sigmoid loops over x with math.exp: right for a 1-D array, a row at a time for 2-D",
        edits=(
            (
                SIGMOID,
                "    import math\n\n    return np.array([1.0 / (1.0 + math.exp(-v)) if v >= 0 else "
                "math.exp(v) / (1.0 + math.exp(v)) for v in x])",
            ),
        ),
        broken=("test_sigmoid",),
        reason="sigmoid failed on a 2-D array (ValueError: The truth value of an array",
    ),
    # Hostile submissions: attacks on the grader rather than bugs.
    Submission(
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
        hostile=True,
    ),
    Submission(
        "shadow_hidden_checks",
        "a package lstm_grading/ submitted beside the notebook, its hidden checks no-ops: the "
        "kernel does not import it (the folder is not on its sys.path)",
        edits=((TANH_GRAD, SUBTLY_WRONG_TANH_GRAD),),
        files=(
            ("lstm_grading/__init__.py", ""),
            ("lstm_grading/kernel_guard.py", "def load_ipython_extension(ip):\n    pass\n"),
            ("lstm_grading/hidden/__init__.py", ""),
            (
                "lstm_grading/hidden/ps01.py",
                "def _passes(*args):\n    pass\n\n\n"
                "check_sigmoid = check_tanh = check_sigmoid_grad = check_tanh_grad = _passes\n",
            ),
        ),
        broken=("test_tanh_grad",),
        reason="values differ from the reference",
        hostile=True,
    ),
    Submission(
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
        hostile=True,
    ),
    Submission(
        "reference_in_a_thread",
        "sigmoid runs lstm_core's in a thread it starts, where the hidden test's trace function "
        "(a thread's own) did not reach: it passed with full marks",
        edits=(
            ("def sigmoid(", "import lstm_core\n\n\ndef sigmoid("),
            (
                SIGMOID,
                "    import threading\n\n    out = []\n"
                "    thread = threading.Thread(target=lambda: out.append(lstm_core.sigmoid(x)))\n"
                "    thread.start()\n    thread.join()\n    return out[0]",
            ),
        ),
        broken=("test_sigmoid",),
        reason="sigmoid called the reference package (lstm_core: sigmoid)",
        hostile=True,
    ),
    Submission(
        "honest_habits",
        "an honest notebook with common habits: seeds (np.random.seed, random.seed), print "
        "options, %matplotlib inline and a plot, inspect.signature, its own helper bound to a "
        "NumPy attribute, the word threading in a comment, and a sigmoid that runs its formula "
        "in a thread pool: the output guard puts NumPy's and random's functions back before "
        "every cell and the watch traces the pool's threads, and none of it costs a point",
        edits=(
            (
                SIGMOID,
                "    with concurrent.futures.ThreadPoolExecutor(2) as pool:\n"
                "        return pool.submit(_stable, x).result()",
            ),
            (
                "def sigmoid(",
                "%matplotlib inline\n"
                "import concurrent.futures\nimport inspect\nimport random\n\n"
                "import matplotlib.pyplot as plt\n\n"
                "np.random.seed(0)\nrandom.seed(0)\nnp.set_printoptions(precision=3)\n\n\n"
                "def _stable(x):  # no threading needed here, but a pool is fine\n"
                + SIGMOID
                + "\n\n\nnp.stable_sigmoid = _stable\n"
                "print(inspect.signature(_stable), np.random.rand(2), random.random())\n"
                "plt.plot([0, 1], [0, 1])\nplt.show()\n\n\ndef sigmoid(",
            ),
        ),
    ),
    Submission(
        "debugger_quit",
        "tanh_grad raises bdb.BdbQuit, which IPython stops without an error output: nbgrader "
        "still records the execute reply's error in the cell (its Execute preprocessor), so "
        "the test cell scores zero",
        edits=((TANH_GRAD, "    import bdb\n\n    raise bdb.BdbQuit"),),
        broken=("test_tanh_grad",),
        reason="BdbQuit",
        hostile=True,
    ),
    Submission(
        "loop_swallowing_ctrl_c",
        "tanh loops forever and swallows KeyboardInterrupt: the kernel guard stops each cell",
        edits=((TANH, LOOP_SWALLOWING_CTRL_C),),
        broken=("test_tanh",),
        reason="CellTimeout: this cell was stopped after",
        hostile=True,
        loops=True,
    ),
    Submission(
        "loop_ignoring_guard",
        "tanh ignores SIGALRM, then loops: nbclient's timeout interrupts each cell",
        edits=(
            (
                TANH,
                "    import signal\n    import time\n\n"
                "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                "    while True:\n        time.sleep(0.05)",
            ),
        ),
        broken=("test_tanh",),
        reason="CellTimeoutError: no reply from the kernel within",
        hostile=True,
        loops=True,
    ),
    Submission(
        "deleted_test_cell",
        "the tanh test cell deleted, tanh wrong: nbgrader puts the cell back",
        edits=((TANH, "    return x"),),
        delete="test_tanh",
        broken=("test_tanh",),
        reason="was missing from the submission",
        hostile=True,
    ),
    Submission(
        "edited_test_cell",
        "the tanh_grad test cell emptied, tanh_grad wrong: nbgrader restores the cell",
        edits=(
            (TANH_GRAD, "    return 1.0 - x * x"),
            ('"""Checks tanh_grad, with', 'pass\n"""Checks tanh_grad, with'),
        ),
        broken=("test_tanh_grad",),
        reason="tanh_grad disagrees with a finite difference",
        hostile=True,
    ),
    Submission(
        "kernel_exit",
        "tanh kills its own kernel with os._exit",
        edits=((TANH, "    import os\n\n    os._exit(1)"),),
        fails=True,
        hostile=True,
    ),
    Submission(
        "not_json", "the file is not a notebook", raw='{"cells": [ oops', fails=True, hostile=True
    ),
]


class TestGrading(GradedAssignment):
    assignment = "ps01_activations"
    submissions = SUBMISSIONS


def test_each_looping_submission_is_graded_in_a_course_copy_of_its_own():
    cases = TestGrading.cases()
    loopers = [c.student for c in cases if c.loops]
    assert loopers == ["loop_swallowing_ctrl_c", "loop_ignoring_guard"]
    for shards in (1, 2):
        shares = shares_of(cases, shards)
        assert [c.student for share in shares[shards:] for c in share] == loopers
        assert all(len(share) == 1 for share in shares[shards:])
        rest = [c.student for share in shares[:shards] for c in share]
        assert sorted(rest) == sorted(c.student for c in cases if not c.loops)


def test_an_unexpected_failure_shows_that_students_part_of_the_log():
    log = (
        "[AutogradeApp | INFO] Creating/updating student with ID 'a': {}\n"
        "a's lines\n"
        "[AutogradeApp | INFO] Creating/updating student with ID 'b': {}\n"
        "Traceback (most recent call last): b's\n"
        "[AutogradeApp | ERROR] There was an error processing assignment 'x' for student 'b'\n"
        "[AutogradeApp | INFO] Creating/updating student with ID 'c': {}\n"
        "c's lines\n"
    )
    shown = log_of_students(log, {"b"})
    assert "Traceback (most recent call last): b's" in shown and "for student 'b'" in shown
    assert "a's lines" not in shown and "c's lines" not in shown


@pytest.mark.parametrize(
    ("grade_id", "old", "new", "hint"),
    [
        (
            "test_sigmoid_grad",
            "    return s * (1.0 - s)",
            "    return np.exp(-x) / (1.0 + np.exp(-x)) ** 2",
            "compute it from sigmoid(x), which cannot overflow: sigmoid(x) * (1 - sigmoid(x))",
        ),
        (
            "test_tanh_grad",
            "    return 1.0 - t * t",
            "    return 1.0 / np.cosh(x) ** 2",
            "compute it from tanh(x), which cannot overflow: 1 - tanh(x) ** 2",
        ),
    ],
)
def test_an_overflowing_derivative_is_told_to_use_its_function(grade_id, old, new, hint):
    """Found in a student's walk: the textbook forms e^-x / (1 + e^-x)**2 and 1 / cosh(x)**2
    were told only "overflowed for a large |x|" (test_tanh names its way out; these did not)."""
    message = visible_failure(NOTEBOOK, grade_id, (old, new))
    assert message is not None and message.startswith(
        f"{grade_id[5:]} overflowed for a large |x| (overflow encountered in "
    ), message
    assert message.endswith(hint), message


def test_the_tanh_grad_test_names_the_square_misplaced():
    """Found in a student's walk: (1 - tanh(x)) ** 2 for 1 - tanh(x) ** 2 was told only that
    tanh_grad disagrees with a finite difference (1 - tanh(x), unsquared, was named)."""
    message = visible_failure(
        NOTEBOOK, "test_tanh_grad", ("    return 1.0 - t * t", "    return (1.0 - t) ** 2")
    )
    assert message == (
        "tanh_grad disagrees with a finite difference: that is (1 - tanh(x)) ** 2; square tanh(x) "
        "alone: 1 - tanh(x) ** 2"
    ), message


def test_a_value_right_to_float32_precision_is_shown_in_full_and_named():
    """Found in a student's walk: tanh computed from a float32 exp(-|x|) was told "tanh(2) should
    be 0.964..., got 0.9640275730600751", a value that seems to agree; the test now prints the
    expected value in full, the tolerance, and that the result is right to only 7 digits."""
    message = visible_failure(
        NOTEBOOK,
        "test_tanh",
        ("    w = z * z  # exp", "    z = z.astype(np.float32)\n    w = z * z  # exp"),
    )
    assert message is not None and message.startswith(
        "tanh(2) should be 0.9640275800758169 (to within 1e-9), got 0.96402757"
    ), message
    assert message.endswith(
        ": right to only about 7 digits: was something computed in float32, or a constant rounded?"
    ), message


def test_a_value_far_off_gets_no_float32_hint():
    """The 7-digit hint is given only for values within 1e-6: a sign flipped is not rounding."""
    message = visible_failure(
        NOTEBOOK,
        "test_sigmoid",
        (
            "    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))",
            "    return np.where(x >= 0, z / (1.0 + z), 1.0 / (1.0 + z))",
        ),
    )
    assert message is not None and message.startswith(
        "sigmoid(10) should be 0.9999546021312976 (to within 1e-9), got 4.5397868702434"
    ), message
    assert "7 digits" not in message, message


@pytest.mark.parametrize("grade_id", ["test_sigmoid_grad", "test_tanh_grad"])
def test_an_integer_result_is_not_blamed_on_float32(grade_id):
    """Found in a student's walk: a derivative cast with .astype(int) was told "got int64:
    float32 keeps only about 7 digits", a hint about another dtype; visible and hidden."""
    name = grade_id[5:]
    old = "    return s * (1.0 - s)" if name == "sigmoid_grad" else "    return 1.0 - t * t"
    edit = (old, old.replace("return ", "return (") + ").astype(int)")
    want = f"{name} should return float64 for float64 inputs, got int64: an integer array drops"
    message = visible_failure(NOTEBOOK, grade_id, edit)
    assert message is not None and message.startswith(want), message
    assert "float32" not in message, message
    namespace = solution_namespace(NOTEBOOK, edit)
    check = {"sigmoid_grad": ps01.check_sigmoid_grad, "tanh_grad": ps01.check_tanh_grad}[name]
    with pytest.raises(AssertionError, match=want) as err:
        check(namespace[name], namespace)
    assert "float32" not in str(err.value)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "sigmoid_grad", "tanh_grad"])
def test_the_docstrings_say_float64_in_gives_float64_out(name):
    """Found in review: every visible and hidden test refuses a result of another dtype for
    float64 inputs ("should return float64 for float64 inputs"), but the docstrings said only
    "ndarray, same shape as x"; each now says float64 for float64 inputs."""
    import json

    (source,) = [
        "".join(c["source"])
        for c in json.loads(NOTEBOOK.read_text())["cells"]
        if c["metadata"]["nbgrader"].get("grade_id") == name
    ]
    assert "ndarray, same shape as ``x``, float64 for float64 inputs, values in" in source, source


def test_the_visible_tanh_test_passes_a_notebook_that_star_imports_numpy():
    """``from numpy import *`` in a solution cell puts NumPy's ``any`` in the notebook's
    namespace, where test_tanh's code finds it. Before (found in review), test_tanh looked for
    the notebook's own names for np.tanh with ``any(<generator>)``, always true for NumPy's:
    every name of the notebook was replaced by the stand-in for np.tanh, the cell raised
    TypeError and the notebook's functions stayed replaced (sigmoid_grad's cell failed too)."""
    notebook = SOLUTIONS / "ps01_activations" / "ps01_activations.ipynb"
    star = ("def tanh(x):", "from numpy import *\n\n\ndef tanh(x):")
    assert visible_failure(notebook, "test_tanh", star) is None
    borrowed = ("def tanh(x):", "from numpy import *\n\nnp_tanh = tanh\n\n\ndef tanh(x):")
    calls = ("    return np.sign(x)", "    np_tanh(x)\n    return np.sign(x)")
    assert visible_failure(notebook, "test_tanh", borrowed, calls).startswith(
        "tanh called np.tanh (or math.tanh)"
    )
