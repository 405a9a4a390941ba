"""The visible tests of the problem sets hold in any notebook: also after ``from numpy import *``.

A grade cell's visible tests run in the student's namespace. A notebook that did
``from numpy import *`` has NumPy's ``all``, ``any``, ``sum``, ``max``... in place of the
builtins: ``all(<generator>)`` is then ``np.all`` of one object, always true (a visible test
that passed whatever the answer, where the hidden test then failed: the student saw a pass and
lost the points), ``sum(<generator>)`` raises ``TypeError``, and ``max(a, b)`` is
``np.max(a, axis=b)``. Found in ps03 (test_init_params, test_step_cache), ps04 and ps06
(test_train); the tests now pass lists, which both mean the same.
"""

from __future__ import annotations

import ast
import builtins
import json

import numpy as np
import pytest
from course import SOLUTIONS


def shadowed_by_numpy() -> set[str]:
    """The builtins ``from numpy import *`` replaces (this NumPy's, not a list kept here)."""
    namespace: dict = {}
    exec("from numpy import *", namespace)
    return {k for k in namespace if k in vars(builtins) and not k.startswith("__")}


def visible_test_cells() -> list[tuple[str, str, str]]:
    """(notebook, grade id, source) of every test cell (graded, no solution) in solutions/."""
    cells = []
    for path in sorted(SOLUTIONS.glob("*/*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution"):
                cells.append((path.stem, meta["grade_id"], "".join(cell["source"])))
    return cells


def fragile_calls(source: str, shadowed: set[str]) -> list[str]:
    """Calls in ``source`` that mean something else after ``from numpy import *``: a builtin
    NumPy shadows called on a generator, or ``max``/``min`` of several arguments."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        name = node.func.id
        if name not in shadowed:
            continue
        generator = any(isinstance(a, ast.GeneratorExp) for a in node.args)
        several = name in ("max", "min") and len(node.args) > 1
        if generator or several:
            found.append(f"line {node.lineno}: {ast.get_source_segment(source, node)[:70]}")
    return found


def test_numpy_star_import_changes_what_the_builtins_mean():
    """The premise: NumPy's all of a generator is true even when an item is false, its sum
    refuses one, and the builtins the rule below looks at are among those it replaces."""
    namespace: dict = {}
    exec("from numpy import *", namespace)
    assert namespace["all"](x for x in [False]) and not all(x for x in [False])
    with pytest.raises(TypeError):
        namespace["sum"](x for x in [1.0, 2.0])
    assert namespace["max"] is np.max
    assert {"all", "any", "sum", "max", "min"} <= shadowed_by_numpy()


@pytest.mark.parametrize(
    ("notebook", "grade_id", "source"),
    visible_test_cells(),
    ids=[f"{n}-{g}" for n, g, _ in visible_test_cells()],
)
def test_visible_tests_mean_the_same_after_a_numpy_star_import(notebook, grade_id, source):
    assert fragile_calls(source, shadowed_by_numpy()) == [], (
        f"{notebook} {grade_id}: pass a list, not a generator (NumPy's all of a generator is "
        "always true), and compare two numbers with `a if a > b else b`"
    )


def test_the_list_forms_mean_the_same_with_the_builtins_and_with_numpys():
    """What the fixed tests now write, checked under both meanings of the names."""
    namespace: dict = {}
    exec("from numpy import *", namespace)
    for all_, sum_ in [(all, sum), (namespace["all"], namespace["sum"])]:
        assert not all_([True, False]) and all_([True, True]) and all_([])
        assert sum_([0.5 * 3, 0.25 * 4]) == 2.5


def test_every_problem_set_has_visible_tests_to_check():
    """The check above is a test per cell read: a notebook whose cells it failed to read (a
    renamed metadata key) would give it no case, which pytest reports as a skip, not a
    failure. Every problem set in solutions/ has visible tests, each with an assert."""
    notebooks = {p.stem for p in SOLUTIONS.glob("*/*.ipynb")}
    cells = visible_test_cells()
    assert notebooks and {n for n, _, _ in cells} == notebooks
    assert all("assert" in source for _, _, source in cells)


def test_the_check_finds_the_calls_it_looks_for():
    """What fragile_calls flags (and not), on code of its own: else a check that found
    nothing would pass every cell."""
    source = "assert all(x > 0 for x in xs)\nm = max(a, b)\nok = all([x > 0 for x in xs])\n"
    assert fragile_calls(source, shadowed_by_numpy()) == [
        "line 1: all(x > 0 for x in xs)",
        "line 2: max(a, b)",
    ]
