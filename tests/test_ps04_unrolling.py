"""Problem set 4 (unrolling, the hand-worked weights, the two companies) graded by nbgrader.

Each submission is the solution with one bug and the exact grade cells it must lose; see
tests/assignment_suite.py for what is checked.
"""

from __future__ import annotations

import pytest
from assignment_suite import GradedAssignment, Submission, solution_namespace
from course import SOLUTIONS

from lstm_grading.hidden import ps04

STATES = (
    "    h = np.zeros((N, H)) if h0 is None else h0\n    c = np.zeros((N, H)) if c0 is None else c0"
)
LOOP = (
    "        h, c, step_cache = lstm_step_forward(x[:, t], h, c, params)\n"
    "        hs[:, t] = h\n"
    "        cache.append(step_cache)"
)
TABLE_ORDER = (
    '        "Wx": np.array([[table[k][0] for k in GATES]]),\n'
    '        "Wh": np.array([[table[k][1] for k in GATES]]),\n'
    '        "b": np.array([table[k][2] for k in GATES]),'
)
PREDICT = "    hs, _ = lstm_forward(x, params)\n    return hs[:, -1]"
FORWARD_CELLS = ("test_lstm_forward_shapes", "test_lstm_forward_values")

SUBMISSIONS = [
    Submission(
        "time_major",
        "lstm_forward returns hs of shape (T, N, H), time first",
        edits=(
            ("    hs = np.empty((N, T, H))", "    hs = np.empty((T, N, H))"),
            (LOOP, LOOP.replace("hs[:, t] = h", "hs[t] = h")),
        ),
        broken=FORWARD_CELLS,
        reason="keep the batch axis first and time second",
    ),
    Submission(
        "ignores_initial_states",
        "lstm_forward always starts from zeros, whatever h0 and c0 are",
        edits=((STATES, "    h = np.zeros((N, H))\n    c = np.zeros((N, H))"),),
        broken=FORWARD_CELLS,
        reason="which starts from h0 and c0",
    ),
    Submission(
        "default_states_ones",
        "lstm_forward starts from ones when h0 and c0 are not given",
        edits=((STATES, STATES.replace("np.zeros", "np.ones")),),
        broken=FORWARD_CELLS,
        reason="should start from zero memories",
    ),
    Submission(
        "one_default_state",
        "lstm_forward fills both memories with zeros only when h0 is missing: h0 alone fails, "
        "c0 alone is ignored",
        edits=(
            (STATES, "    if h0 is None:\n        h0 = c0 = np.zeros((N, H))\n    h, c = h0, c0"),
        ),
        # Visible in both cells; the hidden checks' cases with h0 only name the call too.
        broken=FORWARD_CELLS,
        reason="lstm_forward(x, params, h0=...) raised TypeError",
    ),
    Submission(
        "h0_used_as_c0",
        "lstm_forward starts the long-term memory from h0",
        edits=((STATES, STATES.replace("else c0", "else h0")),),
        broken=FORWARD_CELLS,
        reason="which starts from h0 and c0",
    ),
    Submission(
        "memories_not_carried",
        "every step starts again from h0 and c0 instead of the previous step's memories",
        edits=(
            (
                LOOP,
                "        hs[:, t], _, step_cache = lstm_step_forward(x[:, t], h, c, params)\n"
                "        cache.append(step_cache)",
            ),
        ),
        broken=FORWARD_CELLS,
        reason="step 2 should start from the h and c that step 1 returned",
    ),
    Submission(
        "hs_holds_c",
        "lstm_forward stores the long-term memory c in hs",
        edits=((LOOP, LOOP.replace("hs[:, t] = h", "hs[:, t] = c")),),
        broken=FORWARD_CELLS,
        reason="hs[:, 0] should be the h of the first step",
    ),
    Submission(
        "cache_reversed",
        "the step caches put at the front of the list: last step first",
        edits=((LOOP, LOOP.replace("cache.append(step_cache)", "cache.insert(0, step_cache)")),),
        broken=("test_lstm_forward_values",),
        reason="cache[0] should be the cache of the first step",
    ),
    Submission(
        "cache_last_step_only",
        "the cache list replaced at every step: only the last step's cache is kept",
        edits=((LOOP, LOOP.replace("cache.append(step_cache)", "cache = [step_cache]")),),
        broken=FORWARD_CELLS,
        reason="cache should be the list of the T = 5 step caches",
    ),
    Submission(
        "forward_calls_reference",
        "lstm_forward builds the caches but takes hs from lstm_core.lstm_forward",
        edits=(
            (
                "        cache.append(step_cache)\n    return hs, cache",
                "        cache.append(step_cache)\n    import lstm_core\n\n"
                "    return lstm_core.lstm_forward(x, params, h0, c0)[0], cache",
            ),
        ),
        broken=FORWARD_CELLS,
        reason="imports the reference package",
    ),
    Submission(
        "table_gate_order",
        "hand-worked weights in the table's order f, i, g, o instead of GATES",
        edits=((TABLE_ORDER, TABLE_ORDER.replace("in GATES", 'in "figo"')),),
        broken=("test_hand_worked_params",),
        reason="use GATES = (i, f, o, g)",
    ),
    Submission(
        "wx_wh_swapped",
        "the weights on h put into Wx and those on x into Wh",
        edits=(
            (
                TABLE_ORDER,
                '        "Wx": np.array([[table[k][1] for k in GATES]]),\n'
                '        "Wh": np.array([[table[k][0] for k in GATES]]),\n'
                '        "b": np.array([table[k][2] for k in GATES]),',
            ),
        ),
        broken=("test_hand_worked_params",),
        reason="Wx holds the weights on h",
    ),
    Submission(
        "bias_rounded",
        "the hand-worked biases rounded to one decimal",
        edits=(('        "f": (1.63, 2.70, 1.62),', '        "f": (1.63, 2.70, 1.6),'),),
        broken=("test_hand_worked_params",),
        reason="b should hold the biases",
    ),
    Submission(
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
    Submission(
        "missing_feature_axis",
        "two_companies returns x of shape (2, 4), without the feature axis",
        edits=(("[1.0, 0.5, 0.25, 1.0]])[:, :, None]", "[1.0, 0.5, 0.25, 1.0]])"),),
        broken=("test_two_companies",),
        reason="add the feature axis",
    ),
    Submission(
        "companies_swapped",
        "two_companies puts company B in row 0",
        edits=(
            (
                "np.array([[0.0, 0.5, 0.25, 1.0], [1.0, 0.5, 0.25, 1.0]])",
                "np.array([[1.0, 0.5, 0.25, 1.0], [0.0, 0.5, 0.25, 1.0]])",
            ),
        ),
        broken=("test_two_companies",),
        reason="row 0 should be company A's days 1-4",
    ),
    Submission(
        "predicts_c",
        "predict_day5 returns the final long-term memory c instead of h",
        edits=((PREDICT, '    _, cache = lstm_forward(x, params)\n    return cache[-1]["c"]'),),
        broken=("test_predictions",),
        reason="predict_day5 returns the long-term memory c",
    ),
    Submission(
        "predicts_day4_hardcoded",
        "predict_day5 returns hs[:, 3], right for the companies' T = 4 only",
        edits=((PREDICT, PREDICT.replace("hs[:, -1]", "hs[:, 3]")),),
        broken=("test_predictions",),
        reason="hs[:, T - 1] = hs[:, -1], for any T; predict_day5 returned hs[:, 3]",
    ),
    Submission(
        "predicts_first_day",
        "predict_day5 returns h after the first step instead of the last",
        edits=((PREDICT, PREDICT.replace("hs[:, -1]", "hs[:, 0]")),),
        broken=("test_predictions",),
        reason="predict_day5 returned hs[:, 0]",
    ),
    Submission(
        "predicts_last_sequence",
        "predict_day5 returns hs[-1], the last sequence's h at every step, instead of hs[:, -1]",
        edits=((PREDICT, PREDICT.replace("hs[:, -1]", "hs[-1]")),),
        broken=("test_predictions",),
        reason="should return shape (N, H) = (2, 1) for x of shape (2, 4, 1), got (4, 1)",
    ),
    # Second review: mistakes that passed the visible tests, or failed them with a misleading
    # message.
    Submission(
        "x_read_time_major",
        "lstm_forward reads x as (T, N, D): N, T swapped and the input of step t is x[t]",
        edits=(
            ("    N, T, _ = x.shape", "    T, N, _ = x.shape"),
            (LOOP, LOOP.replace("x[:, t]", "x[t]").replace("hs[:, t] = h", "hs[t] = h")),
            ("    hs = np.empty((N, T, H))", "    hs = np.empty((T, N, H))"),
        ),
        broken=FORWARD_CELLS,
        reason="cache holds 2 step caches for x of shape (N, T, D) = (2, 5, 3)",
    ),
    Submission(
        "default_states_one_row",
        "the default memories are zeros of shape (1, H): hs is right by broadcasting, but the "
        "first step's cache holds h_prev and c_prev of the wrong shape",
        edits=((STATES, STATES.replace("np.zeros((N, H))", "np.zeros((1, H))")),),
        broken=FORWARD_CELLS,
        reason='cache[0]["h_prev"] has shape (1, 4)',
    ),
    Submission(
        "one_cache_dict_reused",
        "lstm_forward copies every step's cache into one dict and appends that same dict T times",
        edits=(
            ("    cache = []\n", "    cache = []\n    shared = {}\n"),
            (
                LOOP,
                LOOP.replace(
                    "cache.append(step_cache)",
                    "shared.update(step_cache)\n        cache.append(shared)",
                ),
            ),
        ),
        broken=("test_lstm_forward_values",),
        reason="cache[0] and cache[1] are one and the same dict",
    ),
    # Fourth review: in-place updates and float32, which failed with a misleading message.
    Submission(
        "states_updated_in_place",
        "lstm_forward copies h0 and c0, then writes every step's h and c into those two arrays: "
        "hs is right, but every step's cache holds the same h_prev and c_prev",
        edits=(
            (
                STATES,
                STATES.replace("else h0", "else h0.copy()").replace("else c0", "else c0.copy()"),
            ),
            (
                LOOP,
                LOOP.replace("h, c, step_cache =", "h[...], c[...], step_cache ="),
            ),
        ),
        # hs and the predictions are right; only the caches are wrong (check_shapes reads hs).
        broken=("test_lstm_forward_values",),
        reason='cache[0]["h_prev"] and cache[1]["h_prev"] are one and the same array, which no',
    ),
    Submission(
        "initial_states_updated_in_place",
        "lstm_forward writes every step's h and c into the caller's h0 and c0",
        edits=((LOOP, LOOP.replace("h, c, step_cache =", "h[...], c[...], step_cache =")),),
        broken=FORWARD_CELLS,
        reason="lstm_forward changed the h0 or c0 it was given in place",
    ),
    Submission(
        "hand_worked_float32",
        "hand_worked_params returns float32 arrays: the table's numbers to 7 digits only",
        edits=((TABLE_ORDER, TABLE_ORDER.replace("GATES]])", "GATES]], np.float32)")),),
        broken=("test_hand_worked_params",),
        reason="should be float64, NumPy's default, got float32",
    ),
    Submission(
        "forward_reads_global_h",
        "lstm_forward takes H from the global H that the visible test cell defines",
        edits=(('    H = params["Wh"].shape[0]\n    h = np', "    h = np"),),
        # Right for the visible cells' own sizes only.
        broken=FORWARD_CELLS,
        reason="lstm_forward reads H from the notebook's globals",
    ),
    # Fifth review (students): a mistake that the visible tests and the hidden ones let through.
    Submission(
        "params_read_from_reference",
        "hand_worked_params returns copies of lstm_core.HAND_WORKED_PARAMS, imported in the "
        "notebook: no code of lstm_core runs in the call (before this review, full points)",
        edits=(
            (
                "def hand_worked_params():",
                "from lstm_core import HAND_WORKED_PARAMS\n\n\ndef hand_worked_params():",
            ),
            (
                "    table = {  # stage",
                "    return {k: np.array(v) for k, v in HAND_WORKED_PARAMS.items()}\n"
                "    table = {  # stage",
            ),
        ),
        broken=("test_hand_worked_params",),
        reason="hand_worked_params reads HAND_WORKED_PARAMS (lstm_core.HAND_WORKED_PARAMS) from",
    ),
    # Fifth review: a bare ValueError, and values that differ where the dtype is the fault.
    Submission(
        "none_tested_by_equality",
        "lstm_forward tests for a missing memory with h0 == None, which asks an array for its "
        "truth value when one is given",
        edits=((STATES, STATES.replace(" is None", " == None")),),
        broken=FORWARD_CELLS,
        reason="test for a missing memory with `h0 is None`: `h0 == None`, `not h0` and",
    ),
    Submission(
        "hs_float32",
        "lstm_forward allocates hs in float32, named by the visible and hidden checks",
        edits=(("    hs = np.empty((N, T, H))", "    hs = np.empty((N, T, H), np.float32)"),),
        broken=FORWARD_CELLS,
        reason="hs should be float64 for float64 inputs, got float32",
    ),
    Submission(
        "steps_from_one",
        "lstm_forward counts the steps t = 1, ..., T as in the equations, reading x[:, t - 1] but "
        "writing hs[:, t]: a bare IndexError at the last step",
        edits=(
            ("    for t in range(T):", "    for t in range(1, T + 1):"),
            (LOOP, LOOP.replace("x[:, t]", "x[:, t - 1]")),
        ),
        broken=FORWARD_CELLS,
        reason="the steps are t = 0, ..., T - 1, range(T), and step t reads x[:, t] and writes",
    ),
    Submission(
        "companies_without_return",
        "two_companies builds x and y but does not return them",
        edits=(("    return x, y\n", "    x, y\n"),),
        broken=("test_two_companies",),
        reason="is the return missing?",
    ),
]


class TestGrading(GradedAssignment):
    assignment = "ps04_unrolling"
    submissions = SUBMISSIONS


def test_check_values_names_one_cache_dict_reused():
    """The hidden check says the cache holds one dict several times (not which value differs)."""
    notebook = SOLUTIONS / "ps04_unrolling" / "ps04_unrolling.ipynb"
    namespace = solution_namespace(
        notebook,
        ("    cache = []\n", "    cache = []\n    shared = {}\n"),
        (
            "        cache.append(step_cache)",
            "        shared.update(step_cache)\n        cache.append(shared)",
        ),
    )
    with pytest.raises(AssertionError, match=r"the same dict .*each step's own cache"):
        ps04.check_values(namespace["lstm_forward"])


def test_the_loop_text_says_which_step_of_the_equations_the_code_runs():
    """Found in a student's walk: part 1 unrolls the equations for t = 1, ..., T (h_0 and c_0
    before the first step), then writes `x[:, t]` and `cache[t]` for step t, counted from 0 in
    code: the mix behind the steps_from_one submission. The text says how the two counts meet."""
    import json

    notebook = SOLUTIONS / "ps04_unrolling" / "ps04_unrolling.ipynb"
    (text,) = [
        "".join(c["source"])
        for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        if c["metadata"]["nbgrader"].get("grade_id") == "forward_text"
    ]
    text = " ".join(text.split())
    assert r"\quad \text{for } t = 1, \dots, T," in text
    assert (
        "In code the steps count from 0, `for t in range(T)`: the equations' first step, "
        "$t = 1$, reads `x[:, 0]` and writes `hs[:, 0]` and `cache[0]`"
    ) in text


def test_the_values_test_names_x_t_read_as_a_step():
    """Found in a student's walk: a loop that reads x[t] (a time step of one sequence, (T, D))
    failed the values test with "with h0 and c0 given raised ValueError (operands could not be
    broadcast ...)", as if h0 and c0 were the trouble; it now names x[:, t], as the shapes test
    does."""
    from assignment_suite import visible_failure

    notebook = SOLUTIONS / "ps04_unrolling" / "ps04_unrolling.ipynb"
    message = visible_failure(
        notebook, "test_lstm_forward_values", (LOOP, LOOP.replace("x[:, t]", "x[t]"))
    )
    assert message is not None and "could not be broadcast" in message, message
    assert message.endswith(
        "; step t reads x[:, t], of shape (N, D), not x[t]: the batch axis comes first"
    ), message


@pytest.mark.parametrize(
    "states", ["    h, c = h0, c0", "    h = h0\n    c = c0", "    h, c = h0 * 1.0, c0 * 1.0"]
)
def test_the_shapes_test_names_the_default_memories_left_as_none(states):
    """Found in a student's walk: a loop that takes h0 and c0 as they come, None by default,
    failed the shapes test (the first) with a bare AttributeError from the given step's
    `h_prev.shape`, or a TypeError; it now says what h0=None means."""
    from assignment_suite import visible_failure

    notebook = SOLUTIONS / "ps04_unrolling" / "ps04_unrolling.ipynb"
    message = visible_failure(notebook, "test_lstm_forward_shapes", (STATES, states))
    assert message is not None and message.startswith(
        "lstm_forward(x, params), without h0 and c0, raised "
    ), message
    assert message.endswith(
        ": h0=None means zeros of shape (N, H), and so does c0=None; test for it with `h0 is None`"
    ), message


def test_the_companies_test_names_a_missing_return():
    """Found in a student's walk: two_companies without its return failed its test (the only
    one) with the bare "TypeError: cannot unpack non-iterable NoneType object" of the test's
    `x, y = two_companies()`; it now asks whether the return is missing."""
    from assignment_suite import visible_failure

    notebook = SOLUTIONS / "ps04_unrolling" / "ps04_unrolling.ipynb"
    message = visible_failure(notebook, "test_two_companies", ("    return x, y\n", "    x, y\n"))
    assert message == (
        "two_companies should return the pair (x, y), got None (is the return missing?)"
    ), message


@pytest.mark.parametrize(
    ("new", "got"),
    [
        ("    hs, cache\n", "None (is the return missing?)"),
        ("    return [hs, cache]\n", "a list of length 2"),
    ],
)
def test_the_shapes_test_names_what_lstm_forward_returned(new, got):
    """Found in a student's walk: lstm_forward without its return (or returning a list) was
    told only "lstm_forward should return hs, cache"; the test now says what came back."""
    from assignment_suite import visible_failure

    notebook = SOLUTIONS / "ps04_unrolling" / "ps04_unrolling.ipynb"
    message = visible_failure(notebook, "test_lstm_forward_shapes", ("    return hs, cache\n", new))
    assert message == f"lstm_forward should return (hs, cache), got {got}", message


@pytest.mark.parametrize(
    "hs",
    [
        "    hs = np.empty_like(x)",
        "    hs = np.zeros((N, T, x.shape[2]))",
        "    hs = np.empty((T, N, H))",
    ],
)
def test_the_shapes_test_names_an_hs_made_in_the_wrong_shape(hs):
    """Found in a student's walk: hs made like x, (N, T, D), or (T, N, H), failed storing h in
    hs[:, t], and the test blamed how x is read and H ("the input of step t is x[:, t] ..., H is
    params['Wh'].shape[0]"), neither of which was wrong; it now names hs's shape."""
    from assignment_suite import visible_failure

    notebook = SOLUTIONS / "ps04_unrolling" / "ps04_unrolling.ipynb"
    message = visible_failure(
        notebook, "test_lstm_forward_shapes", ("    hs = np.empty((N, T, H))", hs)
    )
    assert message is not None and message.startswith(
        "lstm_forward failed for N, T, D, H = 2, 5, 3, 4 (could not broadcast input array from "
        "shape (2,4) into shape ("
    ), message
    assert message.endswith(
        "); storing h, of shape (N, H), in hs[:, t] failed: make hs of shape (N, T, H), "
        "np.zeros((N, T, H)) with H = params['Wh'].shape[0], not shaped like x, (N, T, D)"
    ), message
    # A wrong H still hears about H.
    wrong_h = visible_failure(
        notebook,
        "test_lstm_forward_shapes",
        ('    H = params["Wh"].shape[0]', '    H = params["Wh"].shape[1]'),
    )
    assert wrong_h is not None and wrong_h.endswith("H is params['Wh'].shape[0]"), wrong_h


@pytest.mark.parametrize(
    ("returned", "got"),
    [
        ("    return hs.transpose(1, 0, 2), cache", "(4, 3, 3)"),
        ("    return hs[:, -1], cache", "(3, 3)"),
        ("    return list(hs), cache", "list"),
    ],
)
def test_the_values_test_names_an_hs_of_the_wrong_shape(returned, got):
    """Found checking the shapes test's messages: an hs returned as (T, N, H) made the values
    test (the next cell) stop on NumPy's bare "operands could not be broadcast together"; it
    now says which shape it got, as the shapes test does."""
    from assignment_suite import visible_failure

    notebook = SOLUTIONS / "ps04_unrolling" / "ps04_unrolling.ipynb"
    message = visible_failure(
        notebook, "test_lstm_forward_values", ("    return hs, cache", returned)
    )
    assert message == (
        f"hs should have shape (N, T, H) = (3, 4, 3), got {got}; the shapes test above says more"
    ), message


NOTEBOOK = SOLUTIONS / "ps04_unrolling" / "ps04_unrolling.ipynb"
STORE = "    hs = np.empty((N, T, H))\n"


@pytest.mark.parametrize("grade_id", FORWARD_CELLS)
def test_the_forward_tests_name_an_hs_in_float32(grade_id):
    """Found in a student's walk: hs made with dtype=np.float32 passed both visible forward
    tests and lost both cells' hidden points ("should be float64 like the inputs"); the visible
    tests now check the dtype too."""
    from assignment_suite import visible_failure

    edit = (STORE, STORE.replace("(N, T, H))", "(N, T, H), dtype=np.float32)"))
    message = visible_failure(NOTEBOOK, grade_id, edit)
    assert message is not None and message.startswith(
        "hs should be float64 for float64 inputs, got float32"
    ), message
    forward = solution_namespace(NOTEBOOK, edit)["lstm_forward"]
    check = ps04.check_shapes if grade_id.endswith("shapes") else ps04.check_values
    with pytest.raises(AssertionError, match="should be float64 like the inputs, got float32"):
        check(forward)


def test_the_hand_worked_test_names_float32_weights_as_the_hidden_test_does():
    """Found in a student's walk: hand_worked_params with dtype=np.float32 passed the visible
    test and lost all of the cell's hidden points; both now name the dtype."""
    from assignment_suite import visible_failure

    b = '        "b": np.array([table[k][2] for k in GATES]),'
    edit = (b, b.replace("]),", "], dtype=np.float32),"))
    message = visible_failure(NOTEBOOK, "test_hand_worked_params", edit)
    assert message == (
        "params['b'] should be float64, NumPy's default, got float32, which does not hold the "
        "table's numbers exactly (0.6200000047683716 for a 0.62): leave out the dtype"
    ), message
    params = solution_namespace(NOTEBOOK, edit)["hand_worked_params"]
    with pytest.raises(AssertionError, match=r"params\['b'\] should be float64"):
        ps04.check_hand_worked_params(params)


@pytest.mark.parametrize("key", ["Wx", "Wh"])
def test_the_hand_worked_test_names_weights_in_another_order(key):
    """Found in a student's walk: Wx built in PyTorch's order (i, f, g, o) with b right was told
    "Wx should hold the weights on the input x", which it does; the test now says the weights
    are right but in another order."""
    from assignment_suite import visible_failure

    row = f'        "{key}": np.array([[table[k][{int(key == "Wh")}] for k in GATES]]),'
    edit = (row, row.replace("in GATES", 'in "ifgo"'))
    message = visible_failure(NOTEBOOK, "test_hand_worked_params", edit)
    assert message is not None and message.startswith(f"{key} should hold the weights "), message
    assert message.endswith(
        "; those are the right weights in another order: put the input gate's first, then the "
        "forget gate's, the output gate's and the candidate's, as in b"
    ), message


def test_the_text_says_the_hidden_shapes_test_wants_the_values():
    """Found in a student's walk: a loop that does not carry the state passed the visible shapes
    test and lost its 2 hidden points too (check_shapes compares hs with the reference), which
    the notebook did not say; its introduction now does, as problem set 3's does."""
    import json

    edit = (
        "        h, c, step_cache = lstm_step_forward(x[:, t], h, c, params)",
        "        hs[:, t], _, step_cache = lstm_step_forward(x[:, t], h, c, params)\n"
        "        cache.append(step_cache)\n        continue",
    )
    forward = solution_namespace(NOTEBOOK, edit)["lstm_forward"]
    with pytest.raises(AssertionError, match="values differ from the reference"):
        ps04.check_shapes(forward)
    intro = "".join(json.loads(NOTEBOOK.read_text())["cells"][0]["source"])
    assert "the shapes test also wants `hs` right" in " ".join(intro.split()), intro


def test_the_text_says_hs_is_float64():
    """Found in review: the visible and hidden forward tests refuse an hs in float32 ("hs should
    be float64 for float64 inputs"), which neither the text nor the docstring asked for (they said
    only "np.empty((N, T, H))"); both now say hs is float64 and that float32 is refused."""
    import json

    cells = {
        c["metadata"]["nbgrader"]["grade_id"]: " ".join("".join(c["source"]).split())
        for c in json.loads(NOTEBOOK.read_text())["cells"]
    }
    assert "`hs` is float64, as the inputs are" in cells["forward_text"], cells["forward_text"]
    assert "the tests refuse a float32 `hs`" in cells["forward_text"], cells["forward_text"]
    assert "hs : ndarray (N, T, H), float64" in cells["lstm_forward"], cells["lstm_forward"]


@pytest.mark.parametrize("grade_id", FORWARD_CELLS)
@pytest.mark.parametrize(
    ("returned", "got"),
    [
        ("hs", "an array of shape ({N}, {T}, {H}) (hs alone?): return the pair hs, cache"),
        ("[hs, cache]", "a list of length 2"),
    ],
)
def test_both_forward_tests_name_a_return_other_than_the_pair(grade_id, returned, got):
    """Found in review: lstm_forward returning hs alone was told by the values test "raised
    ValueError (too many values to unpack (expected 2))", as if the loop had failed, and by the
    shapes test "got a ndarray of length 2"; a list [hs, cache] passed the values test, whose
    hidden checks refuse it ("should return the tuple (hs, cache)")."""
    from assignment_suite import visible_failure

    edit = ("    return hs, cache", f"    return {returned}")
    message = visible_failure(NOTEBOOK, grade_id, edit)
    N, T, H = (2, 5, 4) if grade_id.endswith("shapes") else (3, 4, 3)  # each cell's first call
    want = "lstm_forward should return (hs, cache), got " + got.format(N=N, T=T, H=H)
    if grade_id.endswith("values"):
        want += "; the shapes test above says more"
    assert message == want, message
    right = solution_namespace(NOTEBOOK)["lstm_forward"]  # the later cells fail on the edit

    def forward(x, params, h0=None, c0=None):
        hs, cache = right(x, params, h0, c0)
        return hs if returned == "hs" else [hs, cache]

    check = ps04.check_shapes if grade_id.endswith("shapes") else ps04.check_values
    with pytest.raises(AssertionError, match=r"should return the tuple \(hs, cache\)"):
        check(forward)


@pytest.mark.parametrize("grade_id", FORWARD_CELLS)
def test_the_forward_tests_name_a_cache_that_is_no_list(grade_id):
    """Found by the hostile-student pass (each visible check run on the solution with its return
    transformed): a cache returned as a tuple passed test_lstm_forward_values' visible part
    (test_lstm_forward_shapes' named it), and its hidden test refuses it ("the cache should be
    the list of the T step caches"); both visible tests name it now."""
    from assignment_suite import visible_failure

    edit = ("    return hs, cache\n", "    return hs, tuple(cache)\n")
    message = visible_failure(NOTEBOOK, grade_id, edit)
    assert message is not None and message.startswith("cache should be the list of the T = "), (
        message
    )
    forward = solution_namespace(NOTEBOOK, edit)["lstm_forward"]
    check = ps04.check_shapes if grade_id.endswith("shapes") else ps04.check_values
    with pytest.raises(AssertionError, match=r"should be the list of the T (= \d+ )?step caches"):
        check(forward)
