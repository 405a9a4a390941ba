"""The hidden tests' trusted helpers, without a kernel: what call_isolated lets through.

A function that overflows fails, and so does one that switches NumPy's floating-point errors
off to hide it, however it does so; NumPy's own internal use of np.errstate (np.isclose,
random generators) and a student's np.errstate(under="ignore") are fine.
"""

from __future__ import annotations

import _thread
import ast
import cmath
import concurrent.futures
import functools
import json
import math
import re
import sys
import threading
import types
import warnings

import numpy as np
import pytest

import lstm_core  # bound before call_isolated puts the package out of reach
from lstm_grading import ReferenceUsedError, call_isolated, checks
from lstm_grading.checks import refusing
from lstm_grading.hidden.ps01 import check_sigmoid, check_sigmoid_grad, check_tanh, check_tanh_grad
from lstm_grading.hidden.ps03 import SWAPPED, check_cache, check_h

X = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])


def naive(x):
    return 1.0 / (1.0 + np.exp(-x))


def with_errstate(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


@np.errstate(all="ignore")
def decorated(x):
    return 1.0 / (1.0 + np.exp(-x))


def with_seterr(x):
    np.seterr(over="ignore")
    return 1.0 / (1.0 + np.exp(-x))


def with_errstate_warn(x):
    with np.errstate(over="warn"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return 1.0 / (1.0 + np.exp(-x))


def stable(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def stable_under_ignored(x):
    with np.errstate(under="ignore"):
        return stable(x)


def stable_with_numpy_helpers(x):
    np.isclose(x, x)
    np.random.default_rng(0).uniform(size=3)
    return stable(x)


@pytest.mark.parametrize("fn", [naive, with_errstate, decorated, with_seterr, with_errstate_warn])
def test_an_overflow_fails_even_when_silenced(fn):
    with pytest.raises(AssertionError, match=r"overflow|switched floating-point errors off"):
        call_isolated(fn, X)
    assert np.geterr()["over"] == "warn"  # the caller's error state is back


def test_a_call_of_the_reference_is_named_even_where_it_switches_errors_off():
    """The reference's own code may use np.errstate where it checks results itself: a
    function that calls it is told that it called the reference, the cause to fix."""
    import lstm_core

    def captured(x):
        return lstm_core.gates.cell_update(x, 1.0, 1.0, x)  # checked under np.errstate

    with pytest.raises(ReferenceUsedError, match=r"called the reference package \(lstm_core: "):
        call_isolated(captured, X)

    def silenced_and_captured(x):
        with np.errstate(over="ignore"):
            return lstm_core.sigmoid(x)

    with pytest.raises(ReferenceUsedError, match=r"called the reference package"):
        call_isolated(silenced_and_captured, X)


@pytest.mark.parametrize(
    "after_the_call",
    [
        lambda x: np.exp(1000.0 * x),  # then overflows: a FloatingPointError
        lambda x: lstm_core.gates.cell_update(x, True, 1.0, x),  # refused by the reference
        lambda x: 1 / 0,  # any other error
    ],
    ids=["then overflows", "then refused by the reference", "then another error"],
)
def test_a_call_of_the_reference_is_named_even_when_the_function_then_fails(after_the_call):
    """Whatever fails after a call of the reference, the call is the cause reported."""

    def captured(x):
        lstm_core.sigmoid(np.zeros(1))
        return after_the_call(x)

    with pytest.raises(ReferenceUsedError, match=r"called the reference package \(lstm_core: "):
        call_isolated(captured, X)


def _in_a_thread(x):
    out = []
    thread = threading.Thread(target=lambda: out.append(lstm_core.sigmoid(x)))
    thread.start()
    thread.join()
    return out[0]


def _in_a_raw_thread(x):
    out, done = [], threading.Event()

    def run():
        out.append(lstm_core.sigmoid(x))
        done.set()

    _thread.start_new_thread(run, ())
    done.wait()
    return out[0]


def _in_a_pool(x):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lstm_core.sigmoid, x).result()


@pytest.mark.parametrize("fn", [_in_a_thread, _in_a_raw_thread, _in_a_pool])
def test_a_call_of_the_reference_in_a_thread_it_starts_is_named(fn):
    """A trace function is a thread's own: a sigmoid that ran lstm_core's in a thread it started
    (threading, _thread, a thread pool) passed check_sigmoid with full marks."""
    with pytest.raises(ReferenceUsedError, match=r"called the reference package \(lstm_core: "):
        call_isolated(fn, X)
    with pytest.raises(ReferenceUsedError):
        check_sigmoid(fn)
    assert threading.gettrace() is None and _thread.start_new_thread is _START_NEW_THREAD


_START_NEW_THREAD = _thread.start_new_thread


def test_the_thread_watch_patches_only_the_thread_starters_python_has(monkeypatch):
    """Python 3.13 has no threading._start_new_thread (its threads start through
    _thread.start_joinable_thread): the watch looked each starter up unconditionally, so every
    graded call raised AttributeError there, honest ones too. Simulated here on this Python by
    removing the name (so no threading.Thread here: this Python's needs it); lstm_core run in
    a thread started through _thread meanwhile is still seen."""
    monkeypatch.delattr(threading, "_start_new_thread")
    assert call_isolated(stable, X).tolist() == stable(X).tolist()
    with pytest.raises(ReferenceUsedError, match=r"called the reference package \(lstm_core: "):
        call_isolated(_in_a_raw_thread, X)
    assert not hasattr(threading, "_start_new_thread")
    assert threading.gettrace() is None and _thread.start_new_thread is _START_NEW_THREAD


def test_errors_of_a_function_that_does_not_call_the_reference_are_its_own():
    def fails(x):
        raise KeyError("a student's own bug")

    with pytest.raises(KeyError, match="a student's own bug"):
        call_isolated(fails, X)


@pytest.mark.parametrize("fn", [stable, stable_under_ignored, stable_with_numpy_helpers])
def test_stable_functions_pass(fn):
    assert call_isolated(fn, X).tolist() == stable(X).tolist()


def test_a_step_whose_cache_holds_the_new_states_fails():
    """The issue's first example: shapes and values fine, the cache's previous states wrong."""

    def buggy(x, h_prev, c_prev, params):
        h, c, cache = step(x, h_prev, c_prev, params)
        return h, c, {**cache, "h_prev": h, "c_prev": c}  # the new states, not the inputs

    with pytest.raises(AssertionError, match="the inputs of the step, not its results"):
        check_cache(buggy)
    check_cache(step)  # the same step without the bug passes


@pytest.mark.parametrize(
    ("fn", "says"),
    [
        (lambda x: np.exp(1000.0 * x), "large inputs must not overflow"),
        (lambda x: 1.0 / np.float64(0.0) * x, "must not divide by zero for any input"),
        (lambda x: np.float64(0.0) / np.float64(0.0) * x, "computed a NaN"),
    ],
    ids=["overflow", "divide by zero", "invalid value"],
)
def test_a_floating_point_warning_is_explained_by_its_kind(fn, says):
    """Not "large inputs must not overflow" for a division by zero (clip_grad_norm on zero
    gradients): the message fits the warning."""
    with pytest.raises(AssertionError, match=r"raised a floating-point warning \(.*\); ") as info:
        call_isolated(fn, X)
    assert says in str(info.value)


def test_a_tanh_that_calls_numpys_is_refused_and_numpy_is_put_back():
    def own(x):
        z = np.exp(-np.abs(x))
        return np.sign(x) * (1.0 - z * z) / (1.0 + z * z)

    numpy_tanh = np.tanh
    with pytest.raises(AssertionError, match=r"tanh called np.tanh \(or math.tanh\): the exercise"):
        check_tanh(lambda x: np.tanh(x))
    assert np.tanh is numpy_tanh
    with pytest.raises(AssertionError, match=r"tanh is NumPy's own np.tanh"):
        check_tanh(np.tanh)
    check_tanh(own)
    assert np.tanh is numpy_tanh


NOTEBOOK_BORROWING_TANH = {
    "an alias imported from numpy": (
        "import numpy as np\nfrom numpy import tanh as np_tanh\n\n"
        "def tanh(x):\n    return np_tanh(np.asarray(x, dtype=float))\n"
    ),
    "Python's math.tanh, value by value": (
        "import math\nimport numpy as np\n\n"
        "def tanh(x):\n    x = np.asarray(x)\n"
        "    return np.array([math.tanh(v) for v in x.ravel()], dtype=x.dtype).reshape(x.shape)\n"
    ),
    "math.tanh imported by name": (
        "from math import tanh as scalar_tanh\nimport numpy as np\n\n"
        "def tanh(x):\n    return np.vectorize(scalar_tanh, otypes=[float])(x)\n"
    ),
    # Found in review: each of these routes to the same ready-made tanh passed the check.
    "np._core.umath.tanh, the same ufunc reached through another module": (
        "import numpy as np\n\n"
        "def tanh(x):\n    return np._core.umath.tanh(np.asarray(x, dtype=float))\n"
    ),
    "a default argument": (
        "import numpy as np\n\n"
        "def tanh(x, _t=np.tanh):\n    return _t(np.asarray(x, dtype=float))\n"
    ),
    "a keyword-only default": (
        "import numpy as np\n\n"
        "def tanh(x, *, _t=np.tanh):\n    return _t(np.asarray(x, dtype=float))\n"
    ),
    "a closure's variable": (
        "import numpy as np\n\n"
        "def _make():\n    t = np.tanh\n\n"
        "    def tanh(x):\n        return t(np.asarray(x, dtype=float))\n\n"
        "    return tanh\n\n\ntanh = _make()\n"
    ),
    "a dict of the notebook": (
        "import numpy as np\n\nF = {'t': np.tanh}\n\n"
        "def tanh(x):\n    return F['t'](np.asarray(x, dtype=float))\n"
    ),
    "a tuple of the notebook": (
        "import numpy as np\n\nF = (np.tanh,)\n\n"
        "def tanh(x):\n    return F[0](np.asarray(x, dtype=float))\n"
    ),
    "a functools.partial": (
        "import functools\nimport numpy as np\n\nT = functools.partial(np.tanh, dtype=float)\n\n"
        "def tanh(x):\n    return T(np.asarray(x, dtype=float))\n"
    ),
    "an np.vectorize made once": (
        "import math\nimport numpy as np\n\nT = np.vectorize(math.tanh, otypes=[float])\n\n"
        "def tanh(x):\n    return T(np.asarray(x, dtype=float))\n"
    ),
    "an np.frompyfunc ufunc": (
        "import math\nimport numpy as np\n\nT = np.frompyfunc(math.tanh, 1, 1)\n\n"
        "def tanh(x):\n    x = np.asarray(x)\n    return T(x).astype(x.dtype)\n"
    ),
    "a bound method of the ufunc": (
        "import numpy as np\n\nT = np.tanh.__call__\n\n"
        "def tanh(x):\n    return T(np.asarray(x, dtype=float))\n"
    ),
    "cmath.tanh, value by value": (
        "import cmath\nimport numpy as np\n\n"
        "def tanh(x):\n    x = np.asarray(x)\n"
        "    out = [cmath.tanh(v).real for v in x.ravel()]\n"
        "    return np.array(out, dtype=x.dtype).reshape(x.shape)\n"
    ),
    "a module looked up at run time": (
        "import importlib\nimport numpy as np\n\n"
        "def tanh(x):\n    umath = importlib.import_module('numpy._core.umath')\n"
        "    return getattr(umath, 'tan' + 'h')(np.asarray(x, dtype=float))\n"
    ),
    "a callable object of a class of the notebook": (
        "import numpy as np\n\n"
        "class Tanh:\n    f = staticmethod(np.tanh)\n\n"
        "    def __call__(self, x):\n        return self.f(np.asarray(x, dtype=float))\n\n\n"
        "tanh = Tanh()\n"
    ),
    "a SimpleNamespace": (
        "import types\nimport numpy as np\n\nT = types.SimpleNamespace(f=np.tanh)\n\n"
        "def tanh(x):\n    return T.f(np.asarray(x, dtype=float))\n"
    ),
    # Found in review of the walk: a function cached by functools.lru_cache was not looked
    # into, so the notebook's dict it reads kept NumPy's tanh.
    "a dict read by a functools.lru_cache helper under np.vectorize": (
        "import functools\nimport math\nimport numpy as np\n\nF = {'t': math.tanh}\n\n\n"
        "@functools.lru_cache(maxsize=None)\ndef _scalar(v):\n    return F['t'](v)\n\n\n"
        "T = np.vectorize(_scalar, otypes=[float])\n\n\n"
        "def tanh(x):\n    return T(np.asarray(x, dtype=float))\n"
    ),
    # Found in review: a base class of the notebook's class was not looked into.
    "a static method of a base class": (
        "import numpy as np\n\n\nclass Base:\n    f = staticmethod(np.tanh)\n\n\n"
        "class Sub(Base):\n    def __call__(self, x):\n"
        "        return self.f(np.asarray(x, dtype=float))\n\n\ntanh = Sub()\n"
    ),
    "a dict of a base class, through its subclass": (
        "import numpy as np\n\n\nclass Base:\n    T = {'t': np.tanh}\n\n"
        "    def g(self):\n        return 1\n\n\nclass Sub(Base):\n    pass\n\n\n"
        "def tanh(x):\n    return Sub.T['t'](np.asarray(x, dtype=float))\n"
    ),
    "a helper function of the notebook": (
        "import numpy as np\n\n"
        "def _helper(x):\n    return np._core.umath.tanh(x)\n\n"
        "def tanh(x):\n    return _helper(np.asarray(x, dtype=float))\n"
    ),
}


@pytest.mark.parametrize("route", list(NOTEBOOK_BORROWING_TANH))
def test_a_tanh_that_borrows_a_ready_made_tanh_under_any_name_is_refused(route):
    """The values are right (each route is NumPy's or Python's own tanh), and the notebook's
    names are put back: the visible cells that run after the check still find them."""
    numpy_tanh, math_tanh = np.tanh, math.tanh
    notebook: dict = {}
    exec(NOTEBOOK_BORROWING_TANH[route], notebook)  # a notebook's namespace, as in a kernel
    before = dict(notebook)
    fn = notebook["tanh"]
    defaults = (getattr(fn, "__defaults__", None), getattr(fn, "__kwdefaults__", None))
    cells = [c.cell_contents for c in getattr(fn, "__closure__", None) or ()]
    x = np.linspace(-3.0, 3.0, 7)
    assert np.allclose(notebook["tanh"](x), np.tanh(x))  # the right values, borrowed
    with pytest.raises(AssertionError, match=r"tanh called np.tanh \(or math.tanh\): the exer"):
        check_tanh(notebook["tanh"])
    assert notebook.keys() == before.keys()
    assert all(notebook[k] is before[k] for k in before)
    assert np.tanh is numpy_tanh and math.tanh is math_tanh
    assert np._core.umath.tanh is numpy_tanh and cmath.tanh(0.5) == math.tanh(0.5)
    fn = notebook["tanh"]
    assert (getattr(fn, "__defaults__", None), getattr(fn, "__kwdefaults__", None)) == defaults
    assert [c.cell_contents for c in getattr(fn, "__closure__", None) or ()] == cells
    assert notebook.get("F") in (None, {"t": np.tanh}, {"t": math.tanh}, (np.tanh,))
    assert "Tanh" not in notebook or vars(notebook["Tanh"])["f"].__func__ is np.tanh
    assert (
        "T" not in notebook
        or not isinstance(notebook["T"], types.SimpleNamespace)
        or (notebook["T"].f is np.tanh)
    )
    assert np.allclose(fn(x), np.tanh(x))  # still the borrowed tanh: all put back


@pytest.mark.parametrize(
    "borrowed",
    [
        np.vectorize(math.tanh, otypes=[float]),
        functools.partial(np.tanh),
        np.frompyfunc(math.tanh, 1, 1),
    ],
    ids=["vectorize", "partial", "frompyfunc"],
)
def test_a_tanh_that_is_a_wrapper_of_a_ready_made_tanh_is_refused(borrowed):
    """The notebook's ``tanh = np.vectorize(math.tanh)``: the object graded is the wrapper."""
    with pytest.raises(AssertionError, match=r"tanh called np.tanh \(or math.tanh\): the exer"):
        check_tanh(borrowed)


NOTEBOOK_HOLDING_TANH = {
    "an itertools.repeat": "import itertools\n\nR = itertools.repeat(np.tanh)\n\n"
    "def tanh(x):\n    return next(R)(np.asarray(x, dtype=float))\n",
    "a frozenset": "S = frozenset({np.tanh})\n\n"
    "def tanh(x):\n    return next(iter(S))(np.asarray(x, dtype=float))\n",
    "a namedtuple": "import collections\n\nT = collections.namedtuple('T', 'f')(np.tanh)\n\n"
    "def tanh(x):\n    return T.f(np.asarray(x, dtype=float))\n",
    "a mappingproxy": "import types\n\nM = types.MappingProxyType({'f': np.tanh})\n\n"
    "def tanh(x):\n    return M['f'](np.asarray(x, dtype=float))\n",
    # Found in review: copying this dict (to put a refusing function in it) raised the
    # student's RuntimeError from check_tanh itself.
    "a dict whose key raises when hashed again": "class Key:\n    broken = False\n\n"
    "    def __hash__(self):\n        if Key.broken:\n            raise RuntimeError('no hash')\n"
    "        return 1\n\n\nF = {Key(): np.tanh}\nKey.broken = True\n\n\n"
    "def tanh(x):\n    return next(iter(F.values()))(np.asarray(x, dtype=float))\n",
    "the cache of a functools.cache helper, tried once in the notebook": "import functools\n\n\n"
    "@functools.cache\ndef _ready_made():\n    return np.tanh\n\n\n_ready_made()\n\n\n"
    "def tanh(x):\n    return _ready_made()(np.asarray(x, dtype=float))\n",
}


@pytest.mark.parametrize("route", list(NOTEBOOK_HOLDING_TANH))
def test_a_ready_made_tanh_held_where_nothing_can_stand_in_for_it_is_named(route):
    """Objects that check_tanh cannot put a refusing function into for the calls (the calls
    then run NumPy's tanh unseen and pass): what the function reads is looked through, as the
    garbage collector sees it, and the holder named."""
    notebook: dict = {"np": np}
    exec(NOTEBOOK_HOLDING_TANH[route], notebook)
    with pytest.raises(
        AssertionError, match=r"^tanh holds a ready-made tanh, \S+ \(numpy.tanh\): "
    ):
        check_tanh(notebook["tanh"])


def test_an_object_that_raises_when_looked_at_is_looked_past(monkeypatch):
    """What check_tanh looks through (the function's globals, their attributes and what they
    wrap, every module in sys.modules) may be a student's object that raises on any
    attribute: the check still grades the values, with no error of its own."""
    notebook: dict = {"np": np}
    exec(
        "import types\n\n"
        "class TrapModule(types.ModuleType):\n"
        "    def __getattribute__(self, name):\n        raise RuntimeError(name)\n\n\n"
        "class TrapObject:\n"
        "    def __getattribute__(self, name):\n        raise RuntimeError(name)\n",
        notebook,
    )
    monkeypatch.setitem(sys.modules, "trap_module", notebook["TrapModule"]("trap_module"))
    monkeypatch.setitem(sys.modules, "trap_object", notebook["TrapObject"]())
    exec(
        "class Trap:\n"
        "    def __getattribute__(self, name):\n        raise RuntimeError(name)\n\n"
        "    def __call__(self, x):\n        return x\n\n\n"
        "TRAP = Trap()\n\n"
        "def tanh(x):\n    TRAP\n    z = np.exp(-np.abs(x))\n"
        "    return np.sign(x) * (1.0 - z * z) / (1.0 + z * z)\n",
        notebook,
    )
    check_tanh(notebook["tanh"])
    with pytest.raises(AssertionError, match=r"^tanh on standard normal inputs: 40 of 40 values"):
        check_tanh(notebook["TRAP"])


TANH_OF_EXP = (
    "def tanh(x):\n    {reads}\n    x = np.asarray(x, dtype=float)\n"
    "    z = np.exp(-np.abs(x))\n    return np.sign(x) * (1.0 - z * z) / (1.0 + z * z)\n"
)

# Found in review: objects that made check_tanh itself raise (a TypeError or RuntimeError of
# the student's, not a grade), while the tanh built from np.exp is right.
NOTEBOOK_WITH_A_STRANGE_OBJECT = {
    "a metaclass whose == raises": (
        "class Meta(type):\n    def __eq__(cls, other):\n        raise TypeError('no ==')\n\n"
        "    __hash__ = type.__hash__\n\n\n"
        "class K(metaclass=Meta):\n    def m(self):\n        return 1\n\n\nk = K()\n",
        "k",
    ),
    "a metaclass whose __getattribute__ raises": (
        "class Meta(type):\n    def __getattribute__(cls, name):\n"
        "        raise TypeError(name)\n\n\n"
        "class K(metaclass=Meta):\n    def m(self):\n        return 1\n",
        "K",
    ),
    "a module whose __getattribute__ raises, its attribute read": (
        "import types\n\n\nclass M(types.ModuleType):\n"
        "    def __getattribute__(self, name):\n        raise RuntimeError(name)\n\n\n"
        "MOD = M('mod')\n",
        "if x is None:\n        MOD.thing",
    ),
}


@pytest.mark.parametrize("route", list(NOTEBOOK_WITH_A_STRANGE_OBJECT))
def test_a_strange_object_the_function_reads_is_looked_past(route):
    setup, reads = NOTEBOOK_WITH_A_STRANGE_OBJECT[route]
    notebook: dict = {"np": np}
    exec(setup + "\n\n" + TANH_OF_EXP.format(reads=reads), notebook)
    check_tanh(notebook["tanh"])


def test_a_dict_a_thread_of_the_notebook_changes_is_looked_at_without_error():
    """The walk took a dict's items one by one: a thread adding keys meanwhile made it raise
    'dictionary changed size during iteration'."""
    notebook: dict = {"np": np}
    exec(
        "import threading\n\nSTATE = {'k0': [0]}\nSTOP = []\n\n\n"
        "def _fill():\n    i = 0\n    while not STOP:\n        STATE[f'k{i}'] = [i]\n"
        "        if len(STATE) > 500:\n            STATE.clear()\n        i += 1\n\n\n"
        "THREAD = threading.Thread(target=_fill, daemon=True)\nTHREAD.start()\n\n\n"
        + TANH_OF_EXP.format(reads="STATE"),
        notebook,
    )
    try:
        for _ in range(3):
            check_tanh(notebook["tanh"])
    finally:
        notebook["STOP"].append(True)
        notebook["THREAD"].join()


def test_what_cannot_be_swapped_is_left_and_the_rest_put_back():
    """A class whose metaclass refuses setattr held np.tanh (never called): refusing raised
    the student's TypeError, and left the notebook's dict F with the refusing function in it."""
    notebook: dict = {"np": np}
    exec(
        "F = {'t': np.tanh}\n\n\nclass Meta(type):\n"
        "    def __setattr__(cls, name, value):\n        raise TypeError('frozen')\n\n\n"
        "class K(metaclass=Meta):\n    check = staticmethod(np.tanh)\n\n"
        "    def m(self):\n        return 1\n\n\n" + TANH_OF_EXP.format(reads="F, K"),
        notebook,
    )
    check_tanh(notebook["tanh"])
    assert notebook["F"] == {"t": np.tanh}
    assert vars(notebook["K"])["check"].__func__ is np.tanh


def test_every_place_is_put_back_though_one_cannot_be():
    """Putting back stops at nothing: a place that fails (here a function's defaults the
    student's code set to None meanwhile) leaves the others to be put back all the same."""
    notebook: dict = {"np": np}
    exec(
        "F = [np.tanh]\n\n\n"
        "def tanh(x, _t=np.tanh):\n    F\n    tanh.__defaults__ = None\n    return x\n",
        notebook,
    )
    with refusing(notebook["tanh"], (np.tanh,), lambda *args: None) as call:
        call(np.zeros(1))
    assert notebook["F"] == [np.tanh] and type(np.tanh) is np.ufunc


def test_the_first_thousand_attributes_of_a_notebook_object_are_looked_at():
    """An object of a class of the notebook with many attributes: the walk took them all,
    for every value asking its class whether it is the notebook's (check_tanh took minutes
    for 300,000)."""
    notebook: dict = {"np": np}
    exec(
        "class K:\n    def m(self):\n        return 1\n\n\nk = K()\n"
        "for i in range(5000):\n    setattr(k, f'a{i}', float(i))\n\n\n"
        + TANH_OF_EXP.format(reads="k"),
        notebook,
    )
    read = [what for what, _, _ in checks._reached(notebook["tanh"])]
    assert "a999" in read and "a1000" not in read


def test_np_tanh_in_a_branch_not_taken_is_no_use_of_it():
    """The visible checks may compare with np.tanh, and so may the student's own code, in a
    branch the hidden tests never take: only a call is refused (a name in the code is not)."""
    notebook: dict = {}
    exec(
        "import numpy as np\n\n"
        "def tanh(x, check=False):\n    x = np.asarray(x, dtype=float)\n"
        "    z = np.exp(-np.abs(x))\n    r = np.sign(x) * (1.0 - z * z) / (1.0 + z * z)\n"
        "    if check:\n        assert np.allclose(r, np.tanh(x))\n    return r\n",
        notebook,
    )
    check_tanh(notebook["tanh"])


def test_pythons_own_math_tanh_is_named():
    with pytest.raises(AssertionError, match=r"tanh is Python's own math.tanh: the exercise"):
        check_tanh(math.tanh)


def step(x, h_prev, c_prev, params):
    """The contract's step in NumPy (no lstm_core), for the hidden checks' unit tests."""
    H = h_prev.shape[1]
    a = x @ params["Wx"] + h_prev @ params["Wh"] + params["b"]
    i, f, o = (stable(a[:, k * H : (k + 1) * H]) for k in range(3))
    g = np.tanh(a[:, 3 * H :])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "i": i, "f": f, "o": o, "g": g}
    cache.update(c=c, tanh_c=tanh_c, params=params)
    return h, c, cache


def forward(x, params, h0=None, c0=None, one_default=False):
    """Unrolls ``step``; ``one_default``: zeros for both memories only when h0 is missing."""
    N, T, _ = x.shape
    H = params["Wh"].shape[0]
    if one_default:
        if h0 is None:
            h0 = c0 = np.zeros((N, H))
    else:
        h0 = np.zeros((N, H)) if h0 is None else h0
        c0 = np.zeros((N, H)) if c0 is None else c0
    h, c, hs, caches = h0, c0, np.empty((N, T, H)), []
    for t in range(T):
        h, c, cache = step(x[:, t], h, c, params)
        hs[:, t] = h
        caches.append(cache)
    return hs, caches


def test_a_cache_may_hold_a_copy_of_the_params_but_not_other_params():
    """The text, the visible test and this check agree: the params' values, not their dict."""

    def copied(*args):
        h, c, cache = step(*args)
        return h, c, {**cache, "params": {k: v.copy() for k, v in cache["params"].items()}}

    def without_bias(*args):
        h, c, cache = step(*args)
        return h, c, {**cache, "params": {k: cache["params"][k] for k in ("Wx", "Wh")}}

    check_cache(step)
    check_cache(copied)
    with pytest.raises(AssertionError, match=r'cache\["params"\] should hold the params the step'):
        check_cache(without_bias)


def test_an_error_raised_by_the_student_names_the_call_and_the_case():
    """A bare TypeError from deep inside would not say which call, on which input, failed."""
    from lstm_grading.hidden import ps04

    ps04.check_values(forward)  # the right loop passes
    with pytest.raises(AssertionError) as info:
        ps04.check_values(lambda *args: forward(*args, one_default=True))
    message = str(info.value)
    assert re.fullmatch(
        r"lstm_forward\(x, params, h0, c0=None\) raised TypeError: unsupported operand .*"
        r" \(N, T, D, H = 1, 1, 1, 1, h0 only\)",
        message,
    ), message
    assert isinstance(info.value.__cause__, TypeError)  # the original, kept as the cause


def test_an_array_asked_for_its_truth_value_is_explained():
    """`h0 == None` or `h0 or ...` on an array: NumPy's ValueError alone does not say where."""
    from lstm_grading.hidden import ps04

    def tests_none_by_equality(x, params, h0=None, c0=None):
        if h0 == None:  # noqa: E711 (the student's mistake)
            h0 = np.zeros((x.shape[0], params["Wh"].shape[0]))
        return forward(x, params, h0, c0)

    with pytest.raises(AssertionError) as info:
        ps04.check_values(tests_none_by_equality)
    assert re.fullmatch(
        r"lstm_forward\(x, params, h0, c0\) raised ValueError: The truth value of an array .* "
        r"\(N, T, D, H = 3, 1, 2, 5, h0 and c0 given\); an array has no single truth value: test "
        r"for a missing argument with `is None` \(`if h0 is None:`\), not with `== None`, `not` "
        r"or `or`",
        str(info.value),
    ), str(info.value)


def test_a_failed_check_inside_a_call_keeps_its_own_message():
    """The overflow and the reference's use are AssertionErrors already: not wrapped again."""
    from lstm_grading.hidden.common import call

    with pytest.raises(AssertionError, match=r"^naive raised a floating-point warning"):
        call(naive, X, name="naive", names=("x",))
    with pytest.raises(ReferenceUsedError, match=r"^sigmoid called the reference package"):
        call(lambda x: lstm_core.sigmoid(x), X, name="sigmoid", names=("x",))
    with pytest.raises(AssertionError, match=r"^rel_error\(a, b, eps=0\.5\) raised KeyError: 'k'$"):
        call(lambda a, b, eps: {}["k"], X, X, 0.5, name="rel_error", names=("a", "b", "eps"))


def test_a_prediction_from_a_hard_coded_step_is_named():
    from lstm_grading.hidden import ps04

    ps04.check_predict_day5(lambda x, params: forward(x, params)[0][:, -1], {})
    with pytest.raises(AssertionError, match=r"returned h after step 3 \(hs\[:, 3\]\) for x of "):
        ps04.check_predict_day5(lambda x, params: forward(x, params)[0][:, 3], {})
    with pytest.raises(AssertionError, match=r"returned the long-term memory c after the last"):
        ps04.check_predict_day5(lambda x, params: forward(x, params)[1][-1]["c"], {})


def _predict_day5_of(namespace: dict):
    """The solution's predict_day5, reading lstm_forward from ``namespace`` as a notebook's
    function reads it from the notebook's globals."""
    exec("def predict_day5(x, params):\n    return lstm_forward(x, params)[0][:, -1]\n", namespace)
    return namespace["predict_day5"]


def test_predict_day5_is_graded_with_a_correct_lstm_forward_in_place_of_the_students():
    """A wrong lstm_forward costs its own cells, not predict_day5's; the student's comes back."""
    from lstm_grading.hidden import ps04

    def off_by_one(x, params, h0=None, c0=None):  # every h one step late
        hs, caches = forward(x, params, h0, c0)
        return np.concatenate([np.zeros_like(hs[:, :1]), hs[:, :-1]], axis=1), caches

    namespace = {"lstm_forward": off_by_one}
    ps04.check_predict_day5(_predict_day5_of(namespace), namespace)
    assert namespace["lstm_forward"] is off_by_one
    with pytest.raises(AssertionError, match=r"^hs \(N, T, D, H = "):
        ps04.check_values(off_by_one)  # where the bug is graded

    def raises(*args):
        raise NotImplementedError

    namespace = {"lstm_forward": raises}
    ps04.check_predict_day5(_predict_day5_of(namespace), namespace)
    assert namespace["lstm_forward"] is raises


def test_the_stand_in_lstm_forward_is_the_reference():
    """The forward that grades predict_day5 gives lstm_core's hs and caches (1e-12)."""
    from lstm_grading.hidden import contract, ps04

    rng = np.random.default_rng(7)
    for N, T, D, H in [(1, 1, 1, 1), (3, 6, 2, 4), (2, 3, 5, 2)]:
        params = {k: 2.0 * v for k, v in lstm_core.init_params(D, H, rng=rng).items()}
        x, h0, c0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
        for states in [(), (h0, c0)]:
            hs, caches = ps04._correct_forward(contract.gates())(x, params, *states)
            want_hs, want_caches = contract.forward(x, params, *states)
            np.testing.assert_allclose(hs, want_hs, rtol=1e-12, atol=1e-12)
            for got, want in zip(caches, want_caches, strict=True):
                assert set(got) == set(want)
                for key in contract.CACHE_KEYS[:-1]:
                    np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-12)


def test_init_params_with_zero_biases_besides_the_forget_gate_fails():
    from lstm_grading.hidden.ps03 import check_init_params

    def init(D, H, rng=None, dtype=np.float64, zero_biases=False):
        rng = np.random.default_rng(rng)
        bound = 1 / np.sqrt(H)
        p = {
            "Wx": rng.uniform(-bound, bound, (D, 4 * H)).astype(dtype),
            "Wh": rng.uniform(-bound, bound, (H, 4 * H)).astype(dtype),
            "b": rng.uniform(-bound, bound, 4 * H).astype(dtype),
        }
        if zero_biases:
            p["b"][:] = 0.0
        p["b"][H : 2 * H] = 1.0
        return p

    check_init_params(init)
    with pytest.raises(AssertionError, match=r"the biases of the input gate, the output gate"):
        check_init_params(lambda *args: init(*args, zero_biases=True))


def test_init_params_that_ignores_a_generator_fails():
    """An init_params that takes a seed but draws from a fixed seed of its own when given a
    Generator gives equal params for two Generators of the same seed, and different ones for
    different int seeds. Before (found in review), it passed: nothing asked whether the
    caller's Generator was drawn from."""
    from lstm_grading.hidden.ps03 import check_init_params

    def init(D, H, rng=None, dtype=np.float64):
        rng = np.random.default_rng(rng if rng is None or isinstance(rng, int) else 0)
        bound = 1 / np.sqrt(H)
        p = {
            "Wx": rng.uniform(-bound, bound, (D, 4 * H)).astype(dtype),
            "Wh": rng.uniform(-bound, bound, (H, 4 * H)).astype(dtype),
            "b": rng.uniform(-bound, bound, 4 * H).astype(dtype),
        }
        p["b"][H : 2 * H] = 1.0
        return p

    with pytest.raises(AssertionError, match=r"^init_params drew nothing from the Generator"):
        check_init_params(init)


def _stable_tanh(x):
    z = np.exp(-np.abs(x))
    return np.sign(x) * (1.0 - z * z) / (1.0 + z * z)


@pytest.mark.parametrize(
    ("check", "fn", "says"),
    [
        (
            functools.partial(check_sigmoid_grad, namespace={}),
            lambda x: x * (1.0 - x),
            "that is x * (1 - x); it takes the pre-",
        ),
        (
            functools.partial(check_tanh_grad, namespace={}),
            lambda x: 1.0 - x * x,
            "that is 1 - x ** 2; it takes the pre-",
        ),
        (
            functools.partial(check_tanh_grad, namespace={}),
            lambda x: 1.0 - _stable_tanh(x),
            "that is 1 - tanh(x); the derivative",
        ),
        (
            check_sigmoid,
            lambda x: (0.5 * (1.0 + _stable_tanh(x / 2))).astype(np.float32),
            "sigmoid should return float64 for float64 inputs, got float32",
        ),
    ],
)
def test_a_usual_slip_in_an_activation_is_named(check, fn, says):
    with pytest.raises(AssertionError, match=re.escape(says)):
        check(fn)


def _derivative_of(name: str, namespace: dict):
    """The solution's derivative, calling the activation ``name`` from ``namespace`` as a
    notebook's function calls it from the notebook's globals."""
    body = (
        "s = sigmoid(x)\n    return s * (1.0 - s)"
        if name == "sigmoid"
        else "t = tanh(x)\n    return 1.0 - t * t"
    )
    exec(f"def {name}_grad(x):\n    {body}\n", namespace)
    return namespace[f"{name}_grad"]


@pytest.mark.parametrize(
    ("check", "name"), [(check_sigmoid_grad, "sigmoid"), (check_tanh_grad, "tanh")]
)
def test_a_derivative_is_graded_with_a_correct_activation_in_place_of_the_students(check, name):
    """A wrong (overflowing) or unwritten activation costs its own test, not the derivative's;
    the student's activation is put back, and a notebook without one is left without one."""

    def naive(x):
        return (
            1.0 / (1.0 + np.exp(-x))
            if name == "sigmoid"
            else (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1)
        )

    def unwritten(x):
        raise NotImplementedError

    for yours in (naive, unwritten):
        namespace = {name: yours}
        check(_derivative_of(name, namespace), namespace)
        assert namespace[name] is yours
    namespace = {}
    derivative = _derivative_of(name, namespace)
    check(derivative, namespace)
    assert name not in namespace
    namespace = {name: naive}
    derivative = _derivative_of(name, namespace)
    with pytest.raises(AssertionError, match="differ from the reference"):  # still graded
        check(lambda x: 2.0 * derivative(x), namespace)


def test_a_step_that_returns_c_then_h_is_named():
    """close_or_named: the swapped states are named, and only then."""

    def swapped(x, h_prev, c_prev, params):
        h, c, cache = step(x, h_prev, c_prev, params)
        return c, h, cache

    with pytest.raises(AssertionError, match="h and c are swapped") as info:
        check_h(swapped)
    assert str(info.value).endswith(SWAPPED)

    def doubled(x, h_prev, c_prev, params):  # wrong, but not the swap
        h, c, cache = step(x, h_prev, c_prev, params)
        return 2 * h, c, cache

    with pytest.raises(AssertionError) as info:
        check_h(doubled)
    assert SWAPPED not in str(info.value)
    check_h(step)


# -- the shared helpers of lstm_grading/hidden/common.py -----------------------------------------
def test_float32_results_are_compared_with_float32_tolerances():
    from lstm_grading.hidden.common import close

    expected = np.array([1.0, 2.0])
    off = expected * (1 + 1e-6)  # 8 float32 spacings at 1 (eps 1.2e-7): round-off in float32
    close(off.astype(np.float32), expected, "h", dtype=np.float32)
    with pytest.raises(AssertionError, match=r"h: 2 of 2 values differ"):
        close(off, expected, "h")  # far beyond float64 round-off


def test_replacing_an_array_of_a_dict_argument_by_a_float32_copy_is_a_change_in_place():
    """Same values, another dtype: params["Wx"] = params["Wx"].astype(np.float32) changes the
    caller's dict (0.5 and 0.25 are exact in float32, so only the dtype tells)."""
    from lstm_grading.hidden.common import call

    def casts(x, params):
        params["Wx"] = params["Wx"].astype(np.float32)
        return x

    params = {"Wx": np.array([0.5, 0.25])}
    with pytest.raises(AssertionError, match=r"^step changed its argument params in place"):
        call(casts, X, params, name="step", names=("x", "params"))


def test_arguments_without_a_name_are_counted_from_one():
    from lstm_grading.hidden.common import described_call

    text = described_call("f", (X, None, 2), names=("x",))
    assert text == "f(x, argument 2=None, argument 3=2)"


def test_a_mistake_of_another_shape_is_not_named_even_if_it_broadcasts():
    """A hint needs the same shape: a row of the mistake's values repeated is not that mistake."""
    from lstm_grading.hidden.common import close_or_named

    actual, expected = np.array([[1.0, 2.0], [1.0, 2.0]]), np.zeros((2, 2))
    with pytest.raises(AssertionError) as info:
        close_or_named(actual, expected, "h", lambda: [("hint", np.array([1.0, 2.0]))])
    assert "hint" not in str(info.value)
    with pytest.raises(AssertionError, match=r"; hint$"):
        close_or_named(actual, expected, "h", lambda: [("hint", actual.copy())])


def test_a_mistake_that_leaves_the_value_right_is_not_named():
    """A value off by round-off only is not "what dWh from h gives" when that mistake leaves
    this value (dx) as it is: the mistake's value is the expected one. A mistake that changes
    the value is still named."""
    from lstm_grading.hidden.common import close_or_named

    expected, within = np.array([1.0, 2.0]), {"rtol": 1e-7, "atol": 1e-9}
    rounded = expected * (1 + 1e-8)  # float32 round-off, beyond float64's
    with pytest.raises(AssertionError) as info:
        close_or_named(rounded, expected, "dx", lambda: [("hint", expected.copy())], match=within)
    assert "hint" not in str(info.value)
    with pytest.raises(AssertionError, match=r"; hint$"):
        close_or_named(2 * expected, expected, "dx", lambda: [("hint", 2 * expected)], match=within)


def test_a_failed_check_names_the_global_data_the_function_reads():
    """names_global_data: a test cell's H read from the globals (here in a comprehension) is
    named when the check fails; functions, modules and tuples are not; a passing check and a
    function that reads no data are left as they are."""
    from lstm_grading.hidden.common import global_data, names_global_data

    namespace = {"np": np, "H": 3, "GATES": ("i", "f", "o", "g"), "helper": abs}
    exec(
        "def reads_h(x):\n    return np.array([helper(H) for _ in GATES])\n\n"
        "def clean(x):\n    return np.array([helper(x) for _ in GATES])\n",
        namespace,
    )
    assert global_data(namespace["reads_h"]) == ["H"]
    assert global_data(namespace["clean"]) == []

    @names_global_data
    def check(fn, size):
        if fn(1).shape != (size,):
            raise AssertionError("wrong shape")

    check(namespace["reads_h"], 4)
    with pytest.raises(AssertionError, match=r"^wrong shape; reads_h reads H from the notebook"):
        check(namespace["reads_h"], 5)
    with pytest.raises(AssertionError, match=r"^wrong shape$"):
        check(namespace["clean"], 5)


def test_array_of_names_a_transposed_shape_a_wrong_dtype_and_a_subclass():
    from lstm_grading.hidden.common import array_of

    with pytest.raises(AssertionError, match=r"should have shape \(2, 3\), got \(3, 2\) \(transpo"):
        array_of(np.zeros((3, 2)), "h", (2, 3))
    with pytest.raises(AssertionError, match=r"got \(2, 2\)$"):
        array_of(np.zeros((2, 2)), "h", (2, 3))
    with pytest.raises(AssertionError, match=r"h should be float32 like the inputs, got float64"):
        array_of(np.zeros((2, 3)), "h", (2, 3), np.float32)
    with pytest.raises(AssertionError, match=r"got float32: a float32 array \(dtype=np\.float32"):
        array_of(np.zeros((2, 3), np.float32), "h", (2, 3), np.float64)
    with pytest.raises(AssertionError, match=r"h should be a NumPy array, got MaskedArray"):
        array_of(np.ma.zeros((2, 3)), "h", (2, 3))
    assert array_of(np.zeros((2, 3), np.float32), "h", (2, 3), np.float32).shape == (2, 3)


def test_the_extreme_case_saturates_every_gate_block_both_ways():
    """The pre-activations pass the overflow of exp in float64, log(DBL_MAX) = 709.78, in both
    directions in each of the four gate blocks (the docstring's "near +1000 and near -1000")."""
    from lstm_grading.hidden.common import step_cases

    label, x, h_prev, _, params = step_cases(0, extreme=True)[-1]
    assert label.startswith("saturated gates")
    a = x @ params["Wx"] + h_prev @ params["Wh"] + params["b"]  # (N, 4H)
    H = h_prev.shape[1]
    for block in range(4):
        a_block = a[:, block * H : (block + 1) * H]
        assert a_block.max() > np.log(np.finfo(np.float64).max), block
        assert a_block.min() < -np.log(np.finfo(np.float64).max), block


# -- assert_close, the comparison every hidden check ends in (lstm_grading/checks.py) ------------
def test_assert_close_needs_nan_where_the_reference_has_nan_and_the_same_infinity():
    from lstm_grading.checks import assert_close

    nan, inf = float("nan"), float("inf")
    tol = {"rtol": 1e-9, "atol": 1e-12, "what": "f"}
    assert_close(np.array([nan, inf, -inf, 1.0]), np.array([nan, inf, -inf, 1.0]), **tol)
    for got, want in [(1.0, nan), (nan, 1.0), (-inf, inf), (nan, inf), (1e308, inf), (inf, 1.0)]:
        with pytest.raises(AssertionError, match=r"^f: 1 of 1 values differ"):
            assert_close(np.array([got]), np.array([want]), **tol)


def test_assert_close_names_the_worst_value_and_its_input():
    from lstm_grading.checks import assert_close

    expected = np.array([1.0, 2.0, 3.0, 4.0])
    actual = expected + np.array([0.0, 0.1, 0.5, 0.2])  # three differ, the worst at index 2
    message = r"^f: 3 of 4 values differ .*; for example at x = 30\.0 got 3\.5, expected 3\.0$"
    with pytest.raises(AssertionError, match=message):
        assert_close(actual, expected, rtol=0.0, atol=0.0, what="f", inputs=expected * 10)
    with pytest.raises(AssertionError, match=r"for example at flat index 2 got 3\.5, expected"):
        assert_close(actual, expected, rtol=0.0, atol=0.0, what="f")


def test_assert_close_refuses_another_shape_and_an_ndarray_subclass():
    from lstm_grading.checks import assert_close

    tol = {"rtol": 0.0, "atol": 0.0, "what": "f"}
    with pytest.raises(AssertionError, match=r"^f: result has shape \(1, 3\), expected \(3,\)$"):
        assert_close(np.zeros((1, 3)), np.zeros(3), **tol)
    with pytest.raises(AssertionError, match=r"^f should return a NumPy ndarray, got MaskedArray"):
        assert_close(np.ma.zeros(3), np.zeros(3), **tol)


class _Agreeable:
    """A student's number that agrees with any other: no difference, never NaN, never off."""

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __ge__(self, other):
        return True

    __le__ = __ge__

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


def agreeable_step(x, h_prev, c_prev, params):
    """Computes nothing: h and c are arrays of dtype object whose items agree with anything."""
    states = []
    for _ in range(2):
        state = np.empty(h_prev.shape, dtype=object)
        for index in np.ndindex(state.shape):
            state[index] = _Agreeable()
        states.append(state)
    return states[0], states[1], {}


def test_an_array_of_objects_that_agree_with_anything_is_no_result():
    """assert_close compares values in plain Python: items of an object array take part with
    their own operators. Before (found in review), a step returning such h and c, computing
    nothing, passed problem set 3's test_h and test_c (h and c are not checked for float64
    there, only for their shape); a complex array raised a TypeError of the comparison."""
    from lstm_grading.checks import assert_close
    from lstm_grading.hidden.ps03 import check_c

    says = r"should return an array of real numbers \(float64 or float32\), got one of dtype "
    with pytest.raises(AssertionError, match=says + "object"):
        check_h(agreeable_step)
    with pytest.raises(AssertionError, match=says + "object"):
        check_c(agreeable_step)
    with pytest.raises(AssertionError, match=r"^f " + says + "complex128"):
        assert_close(np.zeros(3, complex), np.zeros(3), rtol=0.0, atol=0.0, what="f")
    assert_close(np.zeros(3, int), np.zeros(3), rtol=0.0, atol=0.0, what="f")  # numbers all


def test_check_activation_passes_a_stable_sigmoid_and_names_each_fault():
    """check_activation (lstm_grading/checks.py) on `stable` above and on copies of it with one
    fault each: not a function, the argument changed in place, wrong only at +-1e308."""
    from lstm_grading.checks import check_activation

    check_activation(stable, "sigmoid")

    def zeroes_its_argument(x):
        s = stable(x)
        x[...] = 0.0
        return s

    def wrong_at_1e308(x):
        s = stable(x)
        return np.where(np.abs(x) > 1e300, 0.5, s)

    with pytest.raises(AssertionError, match=r"^sigmoid should be a function, got NoneType$"):
        check_activation(None, "sigmoid")
    with pytest.raises(AssertionError, match=r"^sigmoid changed its argument in place \(standard"):
        check_activation(zeroes_its_argument, "sigmoid")
    with pytest.raises(AssertionError, match=r"^sigmoid at 0, \+-1000, \+-1e308: 2 of 5 values"):
        check_activation(wrong_at_1e308, "sigmoid")


def test_a_changed_error_state_fails_even_when_nothing_is_switched_off():
    """call_isolated compares NumPy's error state before and after: np.seterr(under="warn")
    switches nothing off, yet leaves the state changed."""

    def changes_the_state(x):
        np.seterr(under="warn")
        return x.copy()  # nothing that underflows

    with pytest.raises(AssertionError, match=r"^f switched floating-point errors off \(np\.seterr"):
        call_isolated(changes_the_state, X, name="f")


def test_importing_a_module_of_the_reference_package_is_named():
    def imports_a_module(x):
        import lstm_core.activations  # noqa: F401

        return stable(x)

    with pytest.raises(ReferenceUsedError, match=r"^f imports the reference package 'lstm_core\."):
        call_isolated(imports_a_module, X, name="f")


# As a notebook's `from lstm_core import HAND_WORKED_PARAMS` binds it.
HAND_WORKED_PARAMS = lstm_core.HAND_WORKED_PARAMS
TABLE_COPY = {k: np.array(v.tolist()) for k, v in HAND_WORKED_PARAMS.items()}  # new arrays


def copies_the_reference_params():
    return {k: v.copy() for k, v in HAND_WORKED_PARAMS.items()}


def reads_them_through_the_module():
    return {k: np.array(v) for k, v in lstm_core.HAND_WORKED_PARAMS.items()}


def reads_the_module_whole():
    return {k: np.array(v) for k, v in vars(lstm_core)["HAND_WORKED_PARAMS"].items()}


def reads_them_through_a_helper():
    return copies_the_reference_params()


def reads_them_as_a_default(params=HAND_WORKED_PARAMS):
    return {k: v.copy() for k, v in params.items()}


def copies_its_own_table():
    return {k: v.copy() for k, v in TABLE_COPY.items()}


@pytest.mark.parametrize(
    ("fn", "says"),
    [
        (copies_the_reference_params, "HAND_WORKED_PARAMS (lstm_core.HAND_WORKED_PARAMS)"),
        (
            reads_them_through_the_module,
            "lstm_core.HAND_WORKED_PARAMS (lstm_core.HAND_WORKED_PARAMS)",
        ),
        (reads_the_module_whole, "lstm_core (lstm_core)"),
        (reads_them_through_a_helper, "HAND_WORKED_PARAMS (lstm_core.HAND_WORKED_PARAMS)"),
        (reads_them_as_a_default, "a default argument (lstm_core.HAND_WORKED_PARAMS)"),
    ],
)
def test_reading_the_reference_packages_data_is_named(fn, says):
    """Reading lstm_core's data runs none of its code, which the tracer would see: the global
    names the function reads (and those of the notebook's functions it reads) are looked at."""
    with pytest.raises(ReferenceUsedError, match=rf"^f reads {re.escape(says)} from the ref"):
        call_isolated(fn, name="f")
    assert call_isolated(copies_its_own_table, name="f").keys() == HAND_WORKED_PARAMS.keys()


# As a notebook binds parts of lstm_core's data: arrays of its dict, a list in its tuples.
WX, B = HAND_WORKED_PARAMS["Wx"], HAND_WORKED_PARAMS["b"]
WX_T = HAND_WORKED_PARAMS["Wx"].T  # a view: its base is lstm_core's array
DAYS_A, _ = lstm_core.COMPANIES["A"]


def returns_a_copy_of_wx():
    return {"Wx": WX.copy()}


def returns_a_copy_of_b():
    return {"b": B.copy()}


def returns_wx_from_a_view():
    return {"Wx": WX_T.T.copy()}


def returns_the_days_of_a():
    return np.array(DAYS_A)


def closes_over_the_params():
    params = HAND_WORKED_PARAMS

    def inner():
        return {k: v.copy() for k, v in params.items()}

    return inner


def reads_the_gate_names():
    return [lstm_core.GATE_NAMES[g] for g in "ifog"]


@pytest.mark.parametrize(
    ("fn", "says"),
    [
        (returns_a_copy_of_wx, "WX (lstm_core.HAND_WORKED_PARAMS['Wx'])"),
        (returns_a_copy_of_b, "B (lstm_core.HAND_WORKED_PARAMS['b'])"),
        (returns_wx_from_a_view, "WX_T (lstm_core.HAND_WORKED_PARAMS['Wx'])"),
        (returns_the_days_of_a, "DAYS_A (lstm_core.COMPANIES['A'][0])"),
        (closes_over_the_params(), "params (lstm_core.HAND_WORKED_PARAMS)"),
        (reads_the_gate_names, "lstm_core.GATE_NAMES (lstm_core.GATE_NAMES)"),
    ],
)
def test_reading_part_of_the_reference_packages_data_is_named(fn, says):
    """What lstm_core's dicts, lists and tuples hold (an array of HAND_WORKED_PARAMS bound to a
    name of the notebook, a view of one, a list of COMPANIES), and what a closure holds, is
    its data too. Before (found in review): an array taken from HAND_WORKED_PARAMS passed as
    the student's own, except b, which lstm_core.params also holds as the loop variable _arr
    (so the message named lstm_core.params._arr), and a closure read anything."""
    with pytest.raises(ReferenceUsedError, match=rf"^f reads {re.escape(says)} from the ref"):
        call_isolated(fn, name="f")


def _copies_of(params):
    return {k: v.copy() for k, v in params.items()}


COPIES_OF_THE_PARAMS = functools.partial(_copies_of, HAND_WORKED_PARAMS)


def calls_a_partial_of_the_params():
    return COPIES_OF_THE_PARAMS()


class Table:
    """A class of the notebook, whose instance holds lstm_core's params."""

    def __init__(self):
        self.params = HAND_WORKED_PARAMS

    def __call__(self):
        return {k: v.copy() for k, v in self.params.items()}


TABLE = Table()


def calls_an_object_of_the_notebook():
    return TABLE()


class Weights:
    """A class of the notebook, with lstm_core's params as a class attribute."""

    params = HAND_WORKED_PARAMS

    @classmethod
    def copies(cls):
        return {k: v.copy() for k, v in cls.params.items()}


def calls_a_class_method():
    return Weights.copies()


NAMESPACE = types.SimpleNamespace(params=HAND_WORKED_PARAMS)


def reads_a_namespace():
    return {k: v.copy() for k, v in NAMESPACE.params.items()}


@pytest.mark.parametrize(
    ("fn", "says"),
    [
        (calls_a_partial_of_the_params, "COPIES_OF_THE_PARAMS (lstm_core.HAND_WORKED_PARAMS)"),
        (calls_an_object_of_the_notebook, "params (lstm_core.HAND_WORKED_PARAMS)"),
        pytest.param(TABLE, "params (lstm_core.HAND_WORKED_PARAMS)", id="the-object-itself"),
        (calls_a_class_method, "Weights.params (lstm_core.HAND_WORKED_PARAMS)"),
        (reads_a_namespace, "NAMESPACE.params (lstm_core.HAND_WORKED_PARAMS)"),
    ],
)
def test_the_reference_packages_data_held_by_objects_is_named(fn, says):
    """lstm_core's data passed on by a functools.partial, held by an object or a class of the
    notebook, or by a SimpleNamespace. Before (found in review), only global names, default
    arguments and closures of the notebook's functions were looked at: each of these passed."""
    with pytest.raises(ReferenceUsedError, match=rf"^f reads {re.escape(says)} from the ref"):
        call_isolated(fn, name="f")


def reads_the_gate_order():
    return [lstm_core.GATES.index(g) for g in "gofi"]


def reads_the_gate_order_by_default(order=lstm_core.GATES):
    return [order.index(g) for g in "gofi"]


def refers_to_the_reference_in_a_branch_not_taken(x, check=False):
    return lstm_core.sigmoid(x) if check else 2 * x


def asks_the_grader_for_the_params():
    from lstm_grading.hidden.contract import hand_worked_params

    return hand_worked_params()


PRIVATE_PARAMS = None  # reference("HAND_WORKED_PARAMS") in a cell, set in the test


def copies_the_graders_params():
    return {k: v.copy() for k, v in PRIVATE_PARAMS.items()}


def looks_up_the_params_by_name():
    return {k: v.copy() for k, v in globals()["HAND_WORKED_" + "PARAMS"].items()}


def evaluates_the_name_of_an_array():
    return {"Wx": eval("W" + "X").copy()}


def looks_up_the_module_by_name():
    return np.array(globals()["lstm_" + "core"].COMPANIES["A"][0])


def catches_what_the_look_up_raises():
    try:
        return {k: v.copy() for k, v in globals()["HAND_WORKED_" + "PARAMS"].items()}
    except Exception:
        return {}


@pytest.mark.parametrize(
    ("fn", "says"),
    [
        (looks_up_the_params_by_name, "HAND_WORKED_PARAMS (lstm_core.HAND_WORKED_PARAMS)"),
        (evaluates_the_name_of_an_array, "WX (lstm_core.HAND_WORKED_PARAMS['Wx'])"),
        (looks_up_the_module_by_name, "lstm_core.COMPANIES"),
        (catches_what_the_look_up_raises, "HAND_WORKED_PARAMS (lstm_core.HAND_WORKED_PARAMS)"),
    ],
)
def test_the_reference_packages_data_looked_up_by_name_is_out_of_reach(fn, says):
    """Reading a function's code shows the names it reads, not those it looks up while it
    runs (globals()[...], eval, getattr on a module): while it runs, a stand-in that fails the
    call takes the place of lstm_core's data in the notebook's globals and in lstm_core's
    modules, and it is put back after. Before (found in review), hand_worked_params returning
    a copy of globals()["HAND_WORKED_PARAMS"] passed problem set 4's test, and two_companies
    built from globals()["COMPANIES"] too."""
    with pytest.raises(ReferenceUsedError, match=rf"^f looked up {re.escape(says)} while it ran"):
        call_isolated(fn, name="f")
    assert globals()["HAND_WORKED_PARAMS"] is lstm_core.HAND_WORKED_PARAMS
    assert globals()["WX"] is lstm_core.HAND_WORKED_PARAMS["Wx"]
    assert type(lstm_core.COMPANIES) is dict and type(lstm_core.params.HAND_WORKED_PARAMS) is dict


def test_the_grading_packages_copy_of_the_reference_is_out_of_reach(monkeypatch):
    """The grading package keeps a private copy of lstm_core (checks.reference): its data is
    lstm_core's data, asked for while the function runs or taken in a cell before. Before
    (found in review), hand_worked_params returning lstm_grading.hidden.contract's
    hand_worked_params(), or a copy of reference("HAND_WORKED_PARAMS") bound in a cell,
    passed problem set 4's test, and two_companies built from reference("COMPANIES") too."""
    from lstm_grading.checks import reference
    from lstm_grading.hidden.ps04 import check_hand_worked_params

    with pytest.raises(
        ReferenceUsedError,
        match=r"^hand_worked_params asked the grading package for the reference's HAND_WORKED",
    ):
        check_hand_worked_params(asks_the_grader_for_the_params)
    monkeypatch.setitem(globals(), "PRIVATE_PARAMS", reference("HAND_WORKED_PARAMS"))
    assert PRIVATE_PARAMS is not lstm_core.HAND_WORKED_PARAMS
    with pytest.raises(ReferenceUsedError, match=r"^f reads PRIVATE_PARAMS \(lstm_core\.HAND_W"):
        call_isolated(copies_the_graders_params, name="f")
    assert reference("GATES") == lstm_core.GATES  # given out again after the call


def test_reading_a_constant_or_a_function_of_the_module_is_not_reading_its_data():
    """``lstm_core.GATES`` (a tuple of names, the book's idiom) read through the module passes,
    as ``from lstm_core import GATES`` does, and a function of it named but not run (the
    tracer fails one that runs); before (found in review), any read of the module failed,
    ``lstm_core.GATES`` included."""
    assert call_isolated(reads_the_gate_order, name="f") == [3, 2, 1, 0]
    assert call_isolated(reads_the_gate_order_by_default, name="f") == [3, 2, 1, 0]
    assert call_isolated(refers_to_the_reference_in_a_branch_not_taken, X, name="f").tolist() == (
        (2 * X).tolist()
    )


def test_what_a_module_holds_is_looked_at_only_so_far(monkeypatch):
    """The data inside lstm_core's containers is looked for within a bound (_DATA_ITEMS items
    in all, per call): a module of the package holding a table of 2 * _DATA_ITEMS small arrays,
    as a student's import of a data module might, costs each isolated call a bounded walk; its
    first rows count as data, its last ones are beyond the bound. Before (found in review), the
    bound was per container, 1,000 items of each at three levels: a billion."""
    import math
    import types

    from lstm_grading import checks

    n = math.isqrt(2 * checks._DATA_ITEMS) + 1
    big = types.ModuleType("lstm_core._many_arrays")
    big.ROWS = [[np.zeros(1) for _ in range(n)] for _ in range(n)]
    monkeypatch.setitem(sys.modules, big.__name__, big)
    found = checks._reference_objects(("lstm_core",))
    assert found[id(big.ROWS)] == "lstm_core._many_arrays.ROWS"
    assert found[id(big.ROWS[0][0])] == "lstm_core._many_arrays.ROWS[0][0]"
    assert id(big.ROWS[-1][-1]) not in found


# A shallow copy made in a cell: a dict of the notebook's own, lstm_core's arrays in it.
SHALLOW = HAND_WORKED_PARAMS.copy()
PAIRS = [("Wx", HAND_WORKED_PARAMS["Wx"])]


def copies_a_shallow_copy():
    return {k: v.copy() for k, v in SHALLOW.items()}


def copies_from_pairs():
    return dict((k, v.copy()) for k, v in PAIRS)


@pytest.mark.parametrize(
    ("fn", "says"),
    [
        (copies_a_shallow_copy, "SHALLOW['Wx'] (lstm_core.HAND_WORKED_PARAMS['Wx'])"),
        (copies_from_pairs, "PAIRS[0][1] (lstm_core.HAND_WORKED_PARAMS['Wx'])"),
    ],
)
def test_lstm_cores_arrays_in_a_container_of_the_notebook_are_its_data(fn, says):
    """``HAND_WORKED_PARAMS.copy()`` (or ``dict(...)``, ``{**...}``) in a cell copies the dict,
    not its arrays: a function reading that dict reads lstm_core's arrays. Before (found in
    review), the usual "copy it first, so as not to change the original" passed as the
    student's own table. A deep copy made outside the function is still not seen (the
    guides say so)."""
    with pytest.raises(ReferenceUsedError, match=rf"^f reads {re.escape(says)} from the ref"):
        call_isolated(fn, name="f")


class _Alarm(BaseException):
    """Stands in for the kernel guard's CellTimeout (a BaseException raised by SIGALRM)."""


def test_putting_back_is_not_cut_short_by_the_guards_alarm():
    """CellTimeout (SIGALRM) or KeyboardInterrupt (SIGINT) arriving while refusing puts places
    back would leave the rest swapped: np.tanh refusing in the whole kernel for the notebook's
    later tests. The signals are held until everything is back, then raised."""
    import os
    import signal

    put: list[str] = []

    def slot(name: str, alarm: bool = False):
        def write(value):
            if alarm:
                os.kill(os.getpid(), signal.SIGALRM)
            put.append(name)

        return checks._Slot(lambda: None, write)

    def ring(signum, frame):
        raise _Alarm()

    previous = signal.signal(signal.SIGALRM, ring)
    try:
        with pytest.raises(_Alarm):
            checks._put_back([(slot("first"), 1), (slot("alarm", True), 2), (slot("last"), 3)])
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert put == ["last", "alarm", "first"]


def test_a_module_of_the_reference_package_with_a_key_not_a_name_is_looked_past(monkeypatch):
    """Found in review: a module in sys.modules under lstm_core's name whose dict has a key
    that is not a string made every isolated call raise AttributeError ('startswith')."""
    module = types.ModuleType("lstm_core.extra")
    vars(module)[1] = "one"
    monkeypatch.setitem(sys.modules, "lstm_core.extra", module)
    assert call_isolated(lambda: np.zeros(1), name="f").tolist() == [0.0]


def test_the_reference_datas_stand_ins_are_put_back_with_the_alarm_held(monkeypatch):
    """The stand-ins call_isolated puts in place of lstm_core's data (looked up by name while
    the function runs) go back through checks._put_back, which holds CellTimeout and Ctrl-C
    until all is back (test above): before, they went back in a loop of their own, and an
    alarm there left lstm_core's data refusing in the notebook for its later tests."""
    put_back = []

    def spy(swapped):
        put_back.append([original for _, original in swapped])
        real(swapped)

    real = checks._put_back
    monkeypatch.setattr(checks, "_put_back", spy)
    notebook = {"WX": WX, "np": np}
    exec("def f():\n    return np.zeros(1)\n", notebook)
    assert call_isolated(notebook["f"], name="f").tolist() == [0.0]
    assert any(any(o is WX for o in originals) for originals in put_back)
    assert notebook["WX"] is WX and lstm_core.HAND_WORKED_PARAMS["Wx"] is WX


def _equal(value, answer) -> bool:
    """``value`` is ``answer``'s result again: an array of its values (round-off aside), or a
    dict of such arrays."""
    if type(value) is np.ndarray and type(answer) is np.ndarray:
        return value.shape == answer.shape and bool(np.allclose(value, answer, rtol=1e-6))
    if type(value) is dict and type(answer) is dict:
        return value.keys() == answer.keys() and all(_equal(value[k], answer[k]) for k in value)
    return False


def _frame_thief(honest, stolen: list):
    """A student's function that answers ``honest(*args)``, and looks in every frame above it
    (the hidden test's, up to this test's) for a local holding that answer already: the result
    of the reference, which it could return instead. Each one found goes to ``stolen``."""

    def thief(*args):
        answer = honest(*args)
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != __file__:
            for name, value in list(frame.f_locals.items()):
                if not any(value is a for a in args) and _equal(value, answer):
                    stolen.append(f"{frame.f_code.co_name}: {name}")
            frame = frame.f_back
        return answer

    return thief


def _hand_worked_params():
    table = {"f": (1.63, 2.70, 1.62), "i": (1.65, 2.00, 0.62), "g": (0.94, 1.41, -0.32)}
    table["o"] = (-0.19, 4.38, 0.59)  # the book's table (contract.HAND_WORKED_TABLE)
    order = ("i", "f", "o", "g")
    return {
        name: np.array([[table[g][k] for g in order]] if k < 2 else [table[g][k] for g in order])
        for k, name in enumerate(("Wx", "Wh", "b"))
    }


def _numerical_gradient(f, x, df=None, h=1e-5):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = np.array(f(x), dtype=float)
        x[index] = old - h
        minus = np.array(f(x), dtype=float)
        x[index] = old
        grad[index] = np.sum((plus - minus) * (1.0 if df is None else df)) / (2 * h)
    return grad


def test_no_result_of_the_reference_waits_in_a_frame_above_the_function():
    """A function can read the frames above it (sys._getframe(1).f_locals, or a traceback's
    tb_frame.f_back) without calling anything the tests watch: a result of the reference made
    before the call is there to be returned. Before, check_activation (sigmoid and tanh),
    hand_worked_params's check (problem set 4, full marks) and numerical_gradient's left one
    there; now each computes it after the call."""
    from lstm_grading.checks import check_activation
    from lstm_grading.hidden.ps04 import check_hand_worked_params
    from lstm_grading.hidden.ps05 import check_numerical_gradient

    for check, honest in [
        (lambda fn: check_activation(fn, "sigmoid"), stable),
        (check_hand_worked_params, _hand_worked_params),
        (check_numerical_gradient, _numerical_gradient),
    ]:
        stolen = []
        check(_frame_thief(honest, stolen))  # the honest answers pass
        assert stolen == [], stolen


def test_a_module_of_the_notebook_in_place_of_lstm_core_does_not_blind_the_watch(monkeypatch):
    """call_isolated watches the code of lstm_core's folder, which it asked find_spec for at
    every call: find_spec answers from sys.modules, and a notebook that put a module of its own
    there, its __spec__ naming another folder, had lstm_core's sigmoid pass check_sigmoid.
    The folder is found once, as the kernel guard first asks (before any student code)."""
    import importlib.machinery

    checks._package_dir("lstm_core")  # as the kernel guard does, when the kernel starts
    ref = lstm_core.sigmoid
    fake = types.ModuleType("lstm_core")
    fake.__spec__ = importlib.machinery.ModuleSpec(
        "lstm_core", None, origin="/nonexistent/lstm_core/__init__.py"
    )
    monkeypatch.setitem(sys.modules, "lstm_core", fake)

    def sigmoid(x):
        return ref(x)

    with pytest.raises(ReferenceUsedError, match=r"called the reference package \(lstm_core: "):
        call_isolated(sigmoid, X, name="sigmoid")


def _graders(name: str):
    """What a student's function finds under ``name`` in the globals of the first frame above
    it that has one: the hidden test's module, with its own correct implementations."""
    frame = sys._getframe(2)
    while name not in frame.f_globals:
        frame = frame.f_back
    return frame.f_globals[name]


def _thieves():
    """(check, a function that answers with the hidden tests' own implementation)."""
    from lstm_grading.hidden import contract, ps01, ps04, ps05, ps06

    order = contract.gates()
    namespace = {"clip_grad_norm": None}  # check_train puts a correct clipping here

    def sigmoid(x):
        return _graders("_sigmoid")(x)

    def lstm_forward(x, params, h0=None, c0=None):
        return _graders("_correct_forward")(order)(x, params, h0, c0)

    def lstm_step_backward(dh, dc, cache):
        return _graders("_correct_step")(dh, dc, cache)

    def train(x, y, params, loss_fn, optimizer, epochs, batch_size=None, clip_norm=None, rng=None):
        loop = _graders("_reference_loop")
        clip = namespace["clip_grad_norm"]
        return loop(x, y, params, loss_fn, optimizer, clip, epochs, batch_size, clip_norm, rng)

    return [
        (ps01.check_sigmoid, sigmoid, "sigmoid"),
        (ps04.check_values, lstm_forward, "lstm_forward"),
        (ps05.check_step_backward_inputs, lstm_step_backward, "lstm_step_backward"),
        (lambda fn: ps06.check_train(fn, namespace), train, "training loop"),
    ]


@pytest.mark.parametrize("case", range(4))
def test_the_hidden_tests_own_implementations_are_refused_to_a_students_call(case):
    """The hidden tests hold correct implementations of their own, in lstm_grading (so the
    watch of lstm_core's folder does not see them run): a stable sigmoid, an lstm_forward, a
    backward step (each lent where a test puts it in place of the student's) and check_train's
    training loop. A function that took one from the globals of a frame above it
    (sys._getframe(1).f_globals) passed that check with full marks; now it is refused."""
    check, thief, what = _thieves()[case]
    with pytest.raises(ReferenceUsedError, match=rf"asked the grading package for .*{what}"):
        check(thief)


# An ndarray subclass (np.ma's masked arrays, which np.ma.exp or np.ma.where return) in place of
# the ndarray each function returns, by a decorator on the solution's function.
MASKED = (
    "def _masked(f):\n"
    "    @__import__('functools').wraps(f)\n"
    "    def masked(*args, **kwargs):\n"
    "        out = f(*args, **kwargs)\n"
    "        if type(out) is tuple:\n"
    "            return (np.ma.asarray(out[0]), *out[1:])\n"
    "        return np.ma.asarray(out)\n"
    "    return masked\n\n\n"
    "@_masked\n"
)


def _hidden(problem_set: str, check: str, *args):
    from lstm_grading import hidden  # noqa: F401

    module = __import__(f"lstm_grading.hidden.{problem_set}", fromlist=[check])
    return lambda fn, namespace: getattr(module, check)(fn, *args)


@pytest.mark.parametrize(
    ("assignment", "function", "grade_id", "hidden_check"),
    [
        ("ps01_activations", "sigmoid", "test_sigmoid", _hidden("ps01", "check_sigmoid")),
        ("ps01_activations", "tanh", "test_tanh", _hidden("ps01", "check_tanh")),
        ("ps01_activations", "sigmoid_grad", "test_sigmoid_grad", None),
        ("ps01_activations", "tanh_grad", "test_tanh_grad", None),
        ("ps02_gates", "forget_gate", "test_forget_gate", _hidden("ps02", "check_gate", "f")),
        ("ps02_gates", "input_gate", "test_input_gate", _hidden("ps02", "check_gate", "i")),
        ("ps02_gates", "candidate_memory", "test_candidate_memory", None),
        ("ps02_gates", "output_gate", "test_output_gate", None),
        ("ps02_gates", "cell_update", "test_cell_update", _hidden("ps02", "check_cell_update")),
        ("ps02_gates", "hidden_update", "test_hidden_update", None),
        (
            "ps04_unrolling",
            "lstm_forward",
            "test_lstm_forward_shapes",
            _hidden("ps04", "check_shapes"),
        ),
        ("ps04_unrolling", "predict_day5", "test_predictions", None),
        ("ps05_backprop", "numerical_gradient", "test_numerical_gradient", None),
        ("ps05_backprop", "lstm_step_backward", "test_step_backward_inputs", None),
    ],
)
def test_a_visible_test_refuses_an_ndarray_subclass_as_its_hidden_test_does(
    assignment, function, grade_id, hidden_check
):
    """Found by the hostile-student pass (each visible check run on the solution with its return
    transformed): a masked array (np.ma's, an ndarray subclass) passed the visible parts of
    these cells, which asked isinstance(..., np.ndarray), and their hidden tests refuse it
    ("should be a NumPy array, got MaskedArray"): a student saw the cell pass and lost its
    points. The visible tests now ask for an ndarray itself."""
    from assignment_suite import solution_namespace, visible_failure
    from course import SOLUTIONS

    notebook = SOLUTIONS / assignment / f"{assignment}.ipynb"
    edit = (f"def {function}(", MASKED + f"def {function}(")
    message = visible_failure(notebook, grade_id, edit)
    assert message is not None and "NumPy array" in message and "MaskedArray" in message, message
    if hidden_check is not None:
        namespace = solution_namespace(notebook, edit)
        with pytest.raises(AssertionError, match=r"NumPy (nd)?array, got MaskedArray"):
            hidden_check(namespace[function], namespace)


def _asks_for_an_ndarray(node) -> bool:
    """``type(...) is np.ndarray`` somewhere in the expression ``node``."""
    return any(
        isinstance(n, ast.Compare)
        and isinstance(n.left, ast.Call)
        and getattr(n.left.func, "id", None) == "type"
        and any(isinstance(op, ast.Is) for op in n.ops)
        and any(ast.unparse(c) == "np.ndarray" for c in n.comparators)
        for n in ast.walk(node)
    )


def test_every_visible_check_for_an_ndarray_names_the_type_it_got():
    """A visible assert that asks for an ndarray itself names what it got (an np.matrix or a
    masked array passes no such check, and a message saying only "should be a NumPy array"
    left the student to guess why). Found in review: five of them did not (ps02's gates'
    common check, ps03's init_params and lstm_step_forward, ps04's hand_worked_params and the
    data cell returning x and y)."""
    from course import SOLUTIONS

    asserts, unnamed = 0, []
    for notebook in sorted(SOLUTIONS.glob("ps0*/*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            nbgrader = cell["metadata"].get("nbgrader", {})
            if cell["cell_type"] != "code" or nbgrader.get("solution"):
                continue
            visible = "".join(cell["source"]).split("### BEGIN HIDDEN TESTS")[0]
            for node in ast.walk(ast.parse(visible)):
                if isinstance(node, ast.Assert) and _asks_for_an_ndarray(node.test):
                    asserts += 1
                    if "type(" not in ast.unparse(node.msg) or ".__name__" not in ast.unparse(
                        node.msg
                    ):
                        unnamed.append((notebook.stem, nbgrader.get("grade_id"), node.lineno))
    assert asserts >= 20  # the 20 of 342d9b4, and those it split
    assert unnamed == []
