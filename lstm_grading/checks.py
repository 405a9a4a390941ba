"""Trusted checks for hidden tests: a private reference, isolated calls, plain-Python comparisons.

What a notebook can do before a hidden test runs, and why it does not help:

* redefine ``np.allclose``, ``np.testing`` or ``np.isclose``: comparisons here are done in
  plain Python on the values of ``ndarray.tolist()``, never through NumPy's functions;
* rebind ``lstm_core.sigmoid`` (or ``lstm_core.activations.np``): the reference comes from a
  private copy of ``lstm_core`` executed afresh from its files (:func:`reference`);
* answer by calling ``lstm_core``: while the student's function runs (:func:`call_isolated`)
  ``import lstm_core`` fails, and any Python code from the ``lstm_core`` folder that executes
  (also through a reference captured before, under any name, and in a thread the function
  starts: :func:`tracing`) is recorded, so the check fails;
* answer by reading ``lstm_core``'s data, which runs none of its code (``from lstm_core import
  HAND_WORKED_PARAMS`` in the notebook, then a copy of it returned): a global name, a default
  argument or a variable of its closure that the function reads (or a function, class or
  object of the notebook that it reads, or a ``functools.partial``: :func:`_reached`) bound
  to a module of ``lstm_core``, to a dict, list or array one of them holds, or to one held in
  those (an array of ``HAND_WORKED_PARAMS``, or a view of it), fails the check too; a module's
  attribute read at once is that attribute (``lstm_core.GATES``, a tuple of names, is no
  data); and what it looks up by name while it runs (``globals()["HAND_WORKED_PARAMS"]``,
  ``eval``, an attribute of an imported ``lstm_core`` module) is a stand-in that fails the
  check when used (:class:`_Refused`);
* take the reference from this package's private copy (:func:`reference`, or
  ``lstm_grading.hidden.contract``): while a student's function runs, :func:`reference` raises
  :class:`ReferenceUsedError`, and that copy's data, bound in a cell before, is lstm_core's
  data as above;
* answer with a ready-made function the exercise rules out (``np.tanh`` in problem set 1):
  :func:`refusing` stands in for it wherever the function can find it while it runs, and
  :func:`reaches` names one held where nothing can stand in for it;
* return a result of the reference that the hidden test made before calling it, read from the
  frames above (``sys._getframe(1).f_locals``, a traceback's ``tb_frame.f_back``): the hidden
  tests compute the reference's results after the student's call, and their own correct
  implementations there (a stable sigmoid, an ``lstm_forward``, a training loop) refuse to run
  in a student's call unless a test lent one in place of the student's (:func:`graders_own`);
* return an ``ndarray`` subclass with a forgiving ``__eq__``: results must be exact ndarrays;
* switch floating-point errors off inside the function (``with np.errstate(over="ignore")``,
  ``@np.errstate(...)``, ``np.seterr``): while the function runs, every call that sets
  ``over``, ``divide`` or ``invalid`` (or ``all``) to anything but ``"raise"`` from code outside
  NumPy is recorded (:func:`call_isolated`), so the check fails just as if the overflow had
  raised; the error state is also compared before and after the call.

Nor can it import a library with ready-made layers or activations (``torch``, ``scipy``:
:data:`OTHER_LIBRARIES`, refused in the whole grading kernel by :func:`refuse_other_libraries`).

Not caught, by design or by nature (the kernel runs student code with full rights, see
nbgrader issue #1386): copying ``lstm_core``'s source text, or another library's, or
deliberately dismantling the interpreter (``sys.settrace`` games, patching this module or
``sys.meta_path``, editing files on disk).
"""

from __future__ import annotations

import _thread
import contextlib
import dis
import functools
import gc
import importlib.abc
import importlib.util
import itertools
import os
import random
import signal
import sys
import threading
import types
import warnings

import numpy as np

# Captured when this module is first imported (by the kernel guard, before any student code
# runs, during autograding), so later rebinding of these NumPy names does not reach us.
_ndarray = np.ndarray
_tolist = np.ndarray.tolist
_errstate = np.errstate
_asarray = np.asarray
_geterr = np.geterr

_pristine_packages: dict[str, object] = {}


class ReferenceUsedError(AssertionError):
    """The student's function ran code of the reference package while it was being graded."""


class _Usage(list):
    """Names of reference functions that ran; ``silenced``: error-state changes seen."""

    def __init__(self):
        super().__init__()
        self.silenced: list[str] = []


_package_dirs: dict[str, str] = {}


def _package_dir(package: str) -> str:
    """The folder of ``package``, found once, when first asked (in a grading kernel by the
    kernel guard, before any student code runs): later, ``sys.modules[package]``, which
    ``find_spec`` answers from, may be a module of the notebook's whose ``__spec__`` names
    another folder, and code run from the real one would go unseen."""
    if package not in _package_dirs:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise ImportError(f"the reference package {package!r} is not installed")
        _package_dirs[package] = os.path.dirname(os.path.abspath(spec.origin))
    return _package_dirs[package]


def _pristine(package: str = "lstm_core"):
    """Return a private copy of ``package``, executed afresh from its files.

    The copy has its own module objects (and so its own globals), which nothing in the
    notebook has seen, so rebinding names in the imported ``lstm_core`` does not change it.
    """
    if package not in _pristine_packages:
        folder = _package_dir(package)
        alias = f"_lstm_grading_pristine_{package}"
        spec = importlib.util.spec_from_file_location(
            alias, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[alias] = module  # the package's relative imports look for it there
        try:
            spec.loader.exec_module(module)
        finally:
            for name in [n for n in sys.modules if n == alias or n.startswith(alias + ".")]:
                del sys.modules[name]
        _pristine_packages[package] = module
    return _pristine_packages[package]


# Libraries with ready-made activations, layers, derivatives or whole LSTMs (installed beside the
# course or not): the problem sets are to be written in NumPy, so while grading they cannot be
# imported at all (refuse_other_libraries), as lstm_core cannot inside a graded call.
OTHER_LIBRARIES = frozenset(
    {
        "torch",
        "functorch",  # PyTorch's, installed with it
        "torchgen",
        "tensorflow",
        "keras",
        "jax",
        "jaxlib",
        "flax",
        "autograd",
        "theano",
        "mxnet",
        "chainer",
        "paddle",
        "scipy",
        "sklearn",
        "sympy",
        "mpmath",
        # dask.array's tanh holds NumPy's, where refusing cannot stand in for it (an attribute
        # of an object, not of a module): looked up while tanh ran, it passed check_tanh
        "dask",
        "distributed",
    }
)


class _OtherLibrariesRefused(importlib.abc.MetaPathFinder):
    """Import finder that refuses every module of :data:`OTHER_LIBRARIES`."""

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in OTHER_LIBRARIES:
            raise ModuleNotFoundError(
                f"{top} is not available while grading: the problem sets are to be done in "
                "NumPy and Python's standard library",
                name=name,
            )
        return None


def refuse_other_libraries() -> None:
    """From now on, in this process, importing a module of :data:`OTHER_LIBRARIES` raises
    ``ModuleNotFoundError`` saying why, and ``importlib.util.find_spec`` finds none of them
    (:func:`_as_if_missing`); the kernel guard calls this before any student code runs. Those
    already imported stay, which a grading kernel has none of. Calling it again changes
    nothing."""
    if not any(type(f) is _OtherLibrariesRefused for f in sys.meta_path):
        sys.meta_path.insert(0, _OtherLibrariesRefused())
    if not getattr(importlib.util.find_spec, "_as_if_missing", False):
        importlib.util.find_spec = _as_if_missing(importlib.util.find_spec)


def _as_if_missing(find_spec):
    """``importlib.util.find_spec`` that answers ``None`` for a library of
    :data:`OTHER_LIBRARIES`, as for one not installed: the finder raises (so that an import
    says why), which made a notebook's ``if find_spec("scipy") is None:`` fallback raise
    instead. A module of one (``scipy.special``) raises ``ModuleNotFoundError`` as for a
    library not installed, the finder's message saying why."""

    @functools.wraps(find_spec)
    def find_spec_as_if_missing(name, package=None):
        if type(name) is str and name in OTHER_LIBRARIES and name not in sys.modules:
            return None
        return find_spec(name, package)

    find_spec_as_if_missing._as_if_missing = True
    return find_spec_as_if_missing


# How many calls of a student's function are under way (call_isolated, or a training the
# hidden tests watch): while one is, the reference copy refuses to give anything out.
_students_calls = [0]


@contextlib.contextmanager
def students_call():
    """While the block runs a student's function, :func:`reference` refuses: the private copy
    is for the hidden tests, not for the function under test, which could otherwise take the
    reference's data (``reference("HAND_WORKED_PARAMS")``, which runs none of its code) or its
    optimizers through the grading package."""
    _students_calls[0] += 1
    try:
        yield
    finally:
        _students_calls[0] -= 1


def reference(name: str, package: str = "lstm_core"):
    """The reference implementation ``package.name``, from a private, untouched copy."""
    if _students_calls[0]:
        raise _AskedTheGrader(name)
    return getattr(_pristine(package), name)


# The hidden tests' own correct implementations (a stable sigmoid, an lstm_forward, a backward
# step, a training loop), written in this package, so the watch of lstm_core's folder does not
# see them run. A student's function can reach them through the frames above it
# (sys._getframe(1).f_globals): they are lent only where a hidden test puts one in place of the
# student's own (common.in_place_of_the_students), and refused to a student's call elsewhere.
_lent: list = []


def graders_own(what: str):
    """Decorator: the function refuses, as :func:`reference` does, while a student's function
    runs, unless it is :func:`lent` (``what`` names it in the message)."""

    def decorate(function):
        @functools.wraps(function)
        def own(*args, **kwargs):
            if _students_calls[0] and not any(f is own for f in _lent):
                raise _AskedTheGrader(what)
            return function(*args, **kwargs)

        return own

    return decorate


@contextlib.contextmanager
def lent(function):
    """``function`` (made by :func:`graders_own`, or any other) may run in a student's call
    for the block: a hidden test put it in place of the student's own."""
    _lent.append(function)
    try:
        yield
    finally:
        _lent.pop(next(k for k in range(len(_lent) - 1, -1, -1) if _lent[k] is function))


class _AskedTheGrader(ReferenceUsedError):
    """Raised by :func:`reference` asked for ``what`` while a student's function runs."""

    def __init__(self, what: str, name: str = "the function under test"):
        super().__init__(
            f"{name} asked the grading package for the reference's {what}; the exercise is to "
            "write it yourself"
        )
        self.what = what


_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__)) + os.sep
_UFUNC_CONFIG = os.path.abspath(np._core._ufunc_config.__file__)
# The Python functions through which code changes NumPy's floating-point error state:
# errstate.__enter__ (``with``), the wrapper errstate.__call__ makes (a decorator), seterr.
_ERRSTATE_ENTRIES = {"__enter__": "np.errstate", "inner": "@np.errstate", "seterr": "np.seterr"}


_WITH_OPCODES = {"BEFORE_WITH", "SETUP_WITH", "BEFORE_ASYNC_WITH", "LOAD_SPECIAL"}


def _opname(frame) -> str:
    """The instruction ``frame`` is executing (a ``with`` statement calls ``__enter__``)."""
    code = frame.f_code.co_code
    return dis.opname[code[frame.f_lasti]] if 0 <= frame.f_lasti < len(code) else ""


def _silenced(frame) -> str | None:
    """If ``frame`` (a call into NumPy's error-state code) switches errors off, say how."""
    entry = _ERRSTATE_ENTRIES.get(frame.f_code.co_name)
    caller = frame.f_back
    if entry is None or caller is None or caller.f_code.co_filename.startswith(_NUMPY_DIR):
        return None  # NumPy's own internal use (np.isclose etc.) is not the student's
    local = frame.f_locals
    if entry == "np.errstate" and _opname(caller) not in _WITH_OPCODES:
        return None  # entered by compiled code (NumPy's Cython), not by a `with` in Python
    if entry == "@np.errstate":
        wrapped = local.get("func")
        if str(getattr(wrapped, "__module__", "")).partition(".")[0] == "numpy":
            return None  # a NumPy function decorated by NumPy (SeedSequence.generate_state)
    if entry == "np.seterr":
        settings = {k: local.get(k) for k in ("all", "divide", "over", "invalid")}
        call = None
    else:
        state = local.get("self")
        if state is None:
            return None
        settings = {k: getattr(state, f"_{k}", None) for k in ("all", "divide", "over", "invalid")}
        call = getattr(state, "_call", None)
        if call is not None and type(call).__name__ == "_unspecified":
            call = None
    off = {k: v for k, v in settings.items() if v not in (None, "raise")}
    if not off and call is None:
        return None
    shown = ", ".join(f"{k}={v!r}" for k, v in off.items()) or "call=..."
    return f"{entry}({shown})"


@contextlib.contextmanager
def _out_of_reach(packages: tuple[str, ...]):
    """Make ``packages`` unimportable and record any execution of their code meanwhile.

    Also records, in ``used.silenced``, every attempt of the code running meanwhile to switch
    NumPy's floating-point errors off (see :func:`_silenced`).
    """
    folders = tuple(_package_dir(p) + os.sep for p in packages)
    used = _Usage()

    def tracer(frame, event, arg):
        # Only "call" events reach a global trace function that returns None: cheap.
        if event == "call":
            filename = frame.f_code.co_filename
            if filename.startswith(folders):
                used.append(frame.f_code.co_name)
            elif filename == _UFUNC_CONFIG:
                how = _silenced(frame)
                if how is not None:
                    used.silenced.append(how)

    hidden = {
        n: m for n, m in sys.modules.items() if n.partition(".")[0] in packages and m is not None
    }
    for name in set(hidden) | set(packages):
        sys.modules[name] = None  # makes `import lstm_core` raise ImportError
    try:
        with tracing(tracer):
            yield used
            if sys.gettrace() is not tracer:
                used.append("<sys.settrace was changed by the function under test>")
    finally:
        for name in set(hidden) | set(packages):
            sys.modules.pop(name, None)
        sys.modules.update(hidden)


# The functions that start a thread: _thread's own (start_new and start_joinable_thread: 3.13)
# and threading's aliases of them; those this Python has are patched (3.13 has no
# threading._start_new_thread, 3.11 no start_joinable_thread).
_THREAD_STARTS = (
    (_thread, "start_new_thread"),
    (_thread, "start_new"),
    (_thread, "start_joinable_thread"),
    (threading, "_start_new_thread"),
    (threading, "_start_joinable_thread"),
)


@contextlib.contextmanager
def tracing(tracer):
    """``sys.settrace(tracer)`` for the block, in this thread and in every thread started
    meanwhile (by ``threading``, a thread pool, or ``_thread`` itself): a trace function is a
    thread's own, and code run in a new thread would otherwise go unseen. The previous trace
    functions and thread starters are put back afterwards. (A thread started before the block
    is not traced: Python 3.11 has no way to reach it.)"""
    previous, previous_threads = sys.gettrace(), threading.gettrace()
    started = [
        (module, name, getattr(module, name))
        for module, name in _THREAD_STARTS
        if hasattr(module, name)
    ]
    try:
        threading.settrace(tracer)
        for module, name, start in started:
            setattr(module, name, _traced_start(start, tracer))
        sys.settrace(tracer)
        yield
    finally:
        sys.settrace(previous)
        threading.settrace(previous_threads)
        for module, name, start in started:
            setattr(module, name, start)


def _traced_start(start, tracer):
    """``start`` (``_thread.start_new_thread``, ``start_joinable_thread``) for threads that
    run with ``tracer`` set: its first argument, the function the thread runs, is wrapped."""

    def traced_start(function, *args, **kwargs):
        def run(*a, **k):
            sys.settrace(tracer)
            return function(*a, **k)

        return start(run, *args, **kwargs)

    return traced_start


class _Refused:
    """Stands in, while a student's function runs, for data of the reference package where
    the function could look it up by name (``globals()["HAND_WORKED_PARAMS"]``, ``eval``,
    ``vars(module)``, an attribute of an imported ``lstm_core`` module): any use of it is
    recorded in ``log`` and raises."""

    __slots__ = ("_log", "_what")

    def __init__(self, what: str, log: list):
        object.__setattr__(self, "_what", what)
        object.__setattr__(self, "_log", log)

    def _refuse(self, *args, **kwargs):
        what = object.__getattribute__(self, "_what")
        object.__getattribute__(self, "_log").append(what)
        raise ReferenceUsedError(f"{what} is data of the reference package")

    __getattribute__ = __setattr__ = __delattr__ = __call__ = _refuse
    __getitem__ = __setitem__ = __delitem__ = __iter__ = __len__ = __contains__ = _refuse
    __bool__ = __array__ = __index__ = __float__ = __int__ = _refuse

    def __repr__(self) -> str:
        return "<data of the reference package, out of reach while graded>"


@contextlib.contextmanager
def _data_out_of_reach(fn, packages: tuple[str, ...], reference: dict[int, str], log: list):
    """For the block, :class:`_Refused` stands in for the reference's data (``reference``,
    :func:`_reference_objects`) in the globals of ``fn`` (the notebook's: a name bound to it,
    or to a view of one of its arrays) and among the attributes of the imported modules of
    ``packages``: a function that looks it up by name while it runs (which reading its code
    cannot see) finds the stand-in. Everything is put back afterwards. (A dict or list of the
    notebook's holding some is not looked into: this runs at every call.)"""
    swapped = []
    try:
        namespace = _namespace(fn) if reference else None
        for key, value in list(namespace.items()) if type(namespace) is dict else ():
            if _is(value, types.ModuleType) or _dunder(key):
                continue
            found = _which(value, reference, 0, [0])  # the data itself, or a view of an array
            if found is not None:
                swapped.append((_Slot.key(namespace, key), value))
                namespace[key] = _Refused(f"{key} ({found[1]})", log)
        for module in [m for n, m in list(sys.modules.items()) if n.partition(".")[0] in packages]:
            attributes = _MODULE_DICT(module) if _is(module, types.ModuleType) else None
            for key, value in list(attributes.items()) if type(attributes) is dict else ():
                if id(value) in reference and not _is(value, types.ModuleType) and not _dunder(key):
                    swapped.append((_Slot.key(attributes, key), value))
                    attributes[key] = _Refused(f"{module.__name__}.{key}", log)
        yield
    finally:
        _put_back(swapped)  # all of it, a CellTimeout or Ctrl-C meanwhile held


def _dunder(key) -> bool:
    """``__builtins__``, ``__name__``: a name of Python's (IPython's ``__``, ``___`` are not)."""
    return type(key) is str and len(key) > 4 and key.startswith("__") and key.endswith("__")


def _looked_up(fn, name: str, packages, looked_up: list[str]) -> ReferenceUsedError:
    """The error for a function that used the reference's data (:class:`_Refused`): as read
    from its code, if it is, else as found by name while it ran."""
    read = _reads_reference(fn, tuple(packages))
    if read is not None:
        return ReferenceUsedError(
            f"{name} reads {read} from the reference package; the exercise is to write it yourself"
        )
    return ReferenceUsedError(
        f"{name} looked up {looked_up[0]} while it ran (by a name: globals(), eval, an imported "
        "module's attributes), data of the reference package; the exercise is to write it "
        "yourself"
    )


def call_isolated(fn, *args, name: str | None = None, forbidden=("lstm_core",)):
    """Call ``fn(*args)`` as a hidden test should: reference out of reach, warnings as errors.

    NumPy overflow, division by zero and invalid operations raise (underflow to zero is
    allowed: ``exp(-1000)`` is 0 and that is fine); any warning is an error. A function that
    switches these errors off while it runs (``np.errstate(over="ignore")``, ``np.seterr``)
    fails in the same way as one that overflows. Raises :class:`ReferenceUsedError` if ``fn``
    ran code of a ``forbidden`` package.
    """
    __tracebackhide__ = True  # IPython leaves this frame out of tracebacks
    name = name or getattr(fn, "__name__", "the function")
    used = ()
    called = (
        f"{name} called the reference package ({', '.join(forbidden)}: {{}}); "
        "the exercise is to write it yourself"
    )
    reference = _reference_objects(tuple(forbidden))
    looked_up: list[str] = []  # lstm_core's data, found by name while fn ran (_Refused)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with _errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
                before = _geterr()
                with (
                    _data_out_of_reach(fn, tuple(forbidden), reference, looked_up),
                    _out_of_reach(tuple(forbidden)) as used,
                    students_call(),
                ):
                    result = fn(*args)
                after = _geterr()
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] in forbidden:
            raise ReferenceUsedError(
                f"{name} imports the reference package {exc.name!r}; "
                "the exercise is to write it yourself"
            ) from None
        raise
    except _AskedTheGrader as exc:
        raise _AskedTheGrader(exc.what, name) from None
    except Exception as exc:
        # The cause to report first: a call of the reference, whatever failed after it (the
        # reference's own errors name its arguments, not the student's mistake).
        if used:
            raise ReferenceUsedError(called.format(used[0])) from None
        if looked_up:
            raise _looked_up(fn, name, forbidden, looked_up) from None
        if isinstance(exc, (FloatingPointError, RuntimeWarning)):
            raise AssertionError(
                f"{name} raised a floating-point warning ({exc}); {_numpy_warning_hint(exc)}"
            ) from None
        raise
    if used:  # first: the reference's own code may switch errors off where it checks them
        raise ReferenceUsedError(called.format(used[0]))
    if looked_up:  # the function caught what the stand-in raised
        raise _looked_up(fn, name, forbidden, looked_up)
    read = _reads_reference(fn, tuple(forbidden), reference)
    if read is not None:
        raise ReferenceUsedError(
            f"{name} reads {read} from the reference package; the exercise is to write it yourself"
        )
    if used.silenced or after != before:
        how = used.silenced[0] if used.silenced else "np.seterr"
        raise AssertionError(
            f"{name} switched floating-point errors off ({how}); the test cannot see whether "
            "it overflows: use formulas that do not overflow instead"
        )
    return result


# What _reference_objects looks at inside a module's dicts, lists and tuples: how deep, and how
# many of their items in all, per call (lstm_core's hold a few dozen: HAND_WORKED_PARAMS's
# arrays, COMPANIES's lists); what lies beyond is not seen.
_DATA_DEPTH, _DATA_ITEMS = 3, 10_000
_ndarray_base = np.ndarray.base  # the C attribute, not a property a subclass may define


def _items(value, budget: list[int]):
    """``(key, item)`` of a dict, list or tuple, while ``budget[0]`` items remain to look at
    (each one taken counts)."""
    items = value.items() if type(value) is dict else enumerate(value)
    # Taken at once (in C, so no thread of the notebook can change value meanwhile).
    for key, item in list(itertools.islice(items, max(budget[0], 0))):
        budget[0] -= 1
        yield key, item


def _collect(value, name: str, found: dict[int, str], depth: int, budget: list[int]) -> bool:
    """Add ``value`` to ``found`` if it is data (an array, dict or list, or a tuple that holds
    one), and the data it holds, while ``budget[0]`` items remain to look at; whether it is."""
    if _is(value, _ndarray):
        found.setdefault(id(value), name)
        return True
    if id(type(value)) not in _CONTAINERS or depth == 0:
        return False
    held = False
    for key, item in _items(value, budget):
        held |= _collect(item, f"{name}[{key!r}]", found, depth - 1, budget)
    if type(value) is tuple and not held:
        return False  # a tuple of names or numbers (GATES) is a constant, not data
    found.setdefault(id(value), name)
    return True


def _reference_objects(packages: tuple[str, ...]) -> dict[int, str]:
    """``id`` to name of the imported modules of ``packages`` and of the data they hold at
    module level (``lstm_core.HAND_WORKED_PARAMS``), and in it (its arrays,
    ``lstm_core.COMPANIES['A'][0]``): what a function may read from them without running any
    of their code. Dunder attributes (``__builtins__``, ``__path__``) are not data."""
    found: dict[int, str] = {}
    budget = [_DATA_ITEMS]
    modules = [
        (name, module)
        for name, module in list(sys.modules.items())  # copied at once: threads import too
        if name.partition(".")[0] in packages and _is(module, types.ModuleType)
    ]
    for package in packages:  # and those of its private copy (reference(...) in a cell)
        if package in _pristine_packages:
            alias = f"_lstm_grading_pristine_{package}"
            copy = _pristine_packages[package]
            modules.append((package, copy))
            modules.extend(
                (package + value.__name__[len(alias) :], value)
                for value in list(vars(copy).values())
                if _is(value, types.ModuleType) and value.__name__.startswith(alias + ".")
            )
    for name, module in sorted(modules, key=lambda item: item[0].count(".")):
        found.setdefault(id(module), name)  # the package's own name first: lstm_core.X
        attributes = _MODULE_DICT(module)
        if type(attributes) is not dict:
            continue
        # Names only (a student may put anything in a module's dict), public ones first: not
        # lstm_core.params._arr
        names = [(a, v) for a, v in list(attributes.items()) if type(a) is str]
        for attr, value in sorted(names, key=lambda item: item[0].startswith("_")):
            if not (attr.startswith("__") and attr.endswith("__")):
                _collect(value, f"{name}.{attr}", found, _DATA_DEPTH, budget)
    return found


def _is(value, kind) -> bool:
    """``isinstance(value, kind)`` by ``value``'s own type alone: never asks ``value`` for its
    ``__class__``, which a student's object may answer with an error, or with a lie."""
    return issubclass(type(value), kind)


def _exactly(value, kinds: tuple) -> bool:
    """``type(value) in kinds``, compared by identity: a student's metaclass may answer ``==``
    with an error."""
    cls = type(value)
    return any(cls is kind for kind in kinds)


_CONTAINERS = frozenset({id(dict), id(list), id(tuple)})  # id(type(v)) in it: _exactly, faster


# The dicts of a module and of a class, and a class's name and method resolution order, read
# by the descriptors of ModuleType and type themselves: a student's module or metaclass may
# answer ``vars()`` or ``cls.__name__`` with an error.
_MODULE_DICT = types.ModuleType.__dict__["__dict__"].__get__
_CLASS_DICT = type.__dict__["__dict__"].__get__
_CLASS_NAME = type.__dict__["__name__"].__get__
_CLASS_MRO = type.__dict__["__mro__"].__get__


class _Slot:
    """A place a function finds a value in, other than its arguments: a key of a dict (the
    notebook's globals, a module's or an instance's attributes, a function's keyword
    defaults), an attribute of a class, an item of a function's defaults, a closure's cell.
    ``get()`` reads it, ``put(value)`` writes it (:func:`refusing`)."""

    __slots__ = ("get", "put")

    def __init__(self, get, put):
        self.get, self.put = get, put

    @classmethod
    def key(cls, mapping: dict, key):
        def put(value):
            mapping[key] = value

        return cls(lambda: mapping[key], put)

    @classmethod
    def attribute(cls, owner, name: str):
        return cls(lambda: _CLASS_DICT(owner)[name], lambda v: type.__setattr__(owner, name, v))

    @classmethod
    def default(cls, fn, index: int):
        def put(value):
            defaults = list(fn.__defaults__)
            defaults[index] = value
            fn.__defaults__ = tuple(defaults)

        return cls(lambda: fn.__defaults__[index], put)

    @classmethod
    def cell(cls, cell):
        def put(value):
            cell.cell_contents = value

        return cls(lambda: cell.cell_contents, put)


_ATTRIBUTE_LOADS = {"LOAD_ATTR", "LOAD_METHOD"}


def _global_reads(code: types.CodeType, namespace: dict):
    """``(name, value, slot)`` for each global name ``code`` reads; a module's attribute read
    at once (``lstm_core.GATES``, ``np._core.umath.tanh``) counts as that attribute, in the
    module's own dict, the module alone as the module."""
    instructions = list(dis.get_instructions(code))
    for k, ins in enumerate(instructions):
        if ins.opname != "LOAD_GLOBAL" or ins.argval not in namespace:
            continue
        what, value = ins.argval, namespace[ins.argval]
        slot = _Slot.key(namespace, ins.argval)
        for attribute in instructions[k + 1 :]:
            if not _is(value, types.ModuleType) or attribute.opname not in _ATTRIBUTE_LOADS:
                break
            attributes = _MODULE_DICT(value)
            if type(attributes) is not dict or attribute.argval not in attributes:
                break  # not there (yet): the module itself is what it reads
            slot = _Slot.key(attributes, attribute.argval)
            what, value = f"{what}.{attribute.argval}", attributes[attribute.argval]
        yield what, value, slot


def _wrapped(value) -> list:
    """What a callable made from others calls or passes on: a ``functools.partial``'s
    function, arguments and keywords, a bound method's function and object, an
    ``np.vectorize``'s function, an ``np.frompyfunc`` ufunc's function, the function a
    ``functools.lru_cache`` caches, a static or class
    method's function, a property's; ``[]`` for anything else (also for an object that raises
    when looked at: a student's may)."""
    try:
        if _is(value, functools.partial):
            return [value.func, *value.args, *(value.keywords or {}).values()]
        if _is(value, np.vectorize):
            return [value.pyfunc]
        if _is(value, _LRU_CACHE_WRAPPER):  # @functools.lru_cache, @functools.cache
            return [value.__wrapped__]
        if _is(value, (staticmethod, classmethod)):
            return [value.__func__]
        if _is(value, property):
            return [value.fget, value.fset, value.fdel]
        if _is(value, (types.MethodType, _METHOD_WRAPPER, types.BuiltinMethodType)):
            return [getattr(value, "__func__", None), getattr(value, "__self__", None)]
        if type(value) is np.ufunc:
            return [r for r in gc.get_referents(value) if callable(r)]  # frompyfunc's function
    except Exception:
        return []
    return []


_METHOD_WRAPPER = type((0).__add__)
_LRU_CACHE_WRAPPER = type(functools.lru_cache(lambda: None))


def _own_class(value, namespace: dict, known: dict | None = None):
    """The class of the notebook (one with a method defined in it or in one of its bases) that
    ``value`` is, or is an instance of; ``None`` otherwise. ``known``: the answers so far, by
    the class's ``id`` (a walk asks about many values of a few classes: arrays, floats)."""
    cls = value if _is(value, type) else type(value)
    if known is not None and id(cls) in known:
        return known[id(cls)]
    own = None
    for base in _CLASS_MRO(cls):
        for attribute in list(itertools.islice(_CLASS_DICT(base).values(), _ATTRIBUTES)):
            own_method = _exactly(attribute, (staticmethod, classmethod))
            fn = attribute.__func__ if own_method else attribute
            if _is(fn, types.FunctionType) and fn.__globals__ is namespace:
                own = cls
                break
        if own is not None:
            break
    if known is not None:
        known[id(cls)] = own  # the class stays alive while the walk goes on: its id is its own
    return own


def _same_module(one, other) -> bool:
    """Whether two classes' ``__module__`` (a name, or ``None`` for a class made where there
    is no ``__name__``) are the same: plain strings only, a student's may be anything."""
    if one is None or other is None:
        return one is other
    return type(one) is str and type(other) is str and one == other


def _class_attribute(cls, name: str):
    """``cls.name`` as found in the dicts of ``cls`` and its bases (no metaclass asked);
    ``None`` if none has it."""
    for base in _CLASS_MRO(cls):
        attributes = _CLASS_DICT(base)
        if name in attributes:
            return attributes[name]
    return None


def _namespace(fn) -> dict | None:
    """The globals (the notebook's) of the Python function ``fn``, of the ``__call__`` of the
    class ``fn`` is an instance of, or of the first Python function a callable made from others
    wraps; ``None`` if there is none."""
    call = _class_attribute(type(fn), "__call__") if callable(fn) else None
    for candidate in (fn, call, *_wrapped(fn)):
        if _exactly(candidate, (staticmethod, classmethod, types.MethodType)):
            candidate = candidate.__func__
        if _is(candidate, types.FunctionType):
            return candidate.__globals__
    return None


def _reached(fn):
    """``(what, value, slot)`` for every value the Python function ``fn`` reads other than its
    arguments: the global names it reads (a module's attribute read at once is that
    attribute), its default arguments, the variables of its closure; and so for every function
    of its own module (the notebook) that it reads, or that a class of the notebook it reads
    defines (its methods, whose class attributes count too), or that a callable made from
    others wraps (``functools.partial``, a bound method). ``fn`` may also be an instance of
    a class of the notebook, or such a callable. Read from its code, not from its run: a name
    in a branch not taken counts too. Nothing if no Python function of the notebook is found."""
    namespace = _namespace(fn)
    if namespace is None:
        return
    seen, todo, known = set(), [fn], {}
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        read = []
        if _is(current, type):  # a class of the notebook: its attributes (methods too)
            attributes = itertools.islice(_CLASS_DICT(current).items(), _ATTRIBUTES)
            for name, value in list(attributes):
                if not (name.startswith("__") and name.endswith("__")) or callable(value):
                    own = _exactly(value, (staticmethod, classmethod))
                    inner = value.__func__ if own else value
                    read.append(
                        (f"{_CLASS_NAME(current)}.{name}", inner, _Slot.attribute(current, name))
                    )
            module = _CLASS_DICT(current).get("__module__")
            for base in _CLASS_MRO(current)[1:]:  # its bases defined in the notebook too
                if _same_module(_CLASS_DICT(base).get("__module__"), module):
                    todo.append(base)
        elif _is(current, types.FunctionType):
            for k, value in enumerate(current.__defaults__ or ()):
                read.append(("a default argument", value, _Slot.default(current, k)))
            for key, value in (current.__kwdefaults__ or {}).items():
                read.append(("a default argument", value, _Slot.key(current.__kwdefaults__, key)))
            for variable, cell in zip(
                current.__code__.co_freevars, current.__closure__ or (), strict=True
            ):
                with contextlib.suppress(ValueError):  # an empty cell
                    read.append((variable, cell.cell_contents, _Slot.cell(cell)))
            codes = [current.__code__]
            while codes:  # the function and the code nested in it (comprehensions, lambdas)
                code = codes.pop()
                codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
                read.extend(_global_reads(code, namespace))
        else:  # an instance of a class of the notebook, or a callable made from others
            attributes = _own_dict(current)
            if attributes is not None and _own_class(current, namespace, known):
                own = list(itertools.islice(attributes.items(), _ATTRIBUTES))
                read.extend((n, v, _Slot.key(attributes, n)) for n, v in own)
                todo.append(type(current))
            read.extend(("what it wraps", inner, None) for inner in _wrapped(current))
        for what, value, slot in read:
            yield what, value, slot
            for inner in [value, *_wrapped(value)]:
                if _is(inner, types.FunctionType) and inner.__globals__ is namespace:
                    todo.append(inner)
                elif not _is(inner, types.FunctionType) and _own_class(inner, namespace, known):
                    todo.append(inner)
                elif inner is not value and _wrapped(inner):  # a wrapper of a wrapper
                    todo.append(inner)
                elif inner is value:  # any other object's own attributes (a SimpleNamespace)
                    yield from _attributes_of(value, what)


# How many attributes of an object, or of a class of the notebook, _reached looks at (the
# first ones: a class or object with more is looked at in part).
_ATTRIBUTES = 1_000
_NOT_INSTANCES = (types.ModuleType, type, types.FunctionType, types.CodeType)


def _own_dict(value) -> dict | None:
    """The ``__dict__`` of ``value``, an instance of a class (not a module, class or function);
    ``None`` if it has none, or is a student's object that raises when asked for it (its
    class's own ``__getattribute__`` is not asked)."""
    if _is(value, _NOT_INSTANCES):
        return None
    try:
        attributes = object.__getattribute__(value, "__dict__")
    except Exception:
        return None
    return attributes if type(attributes) is dict else None


def _attributes_of(value, what: str):
    """``(what.name, attribute, slot)`` for the first :data:`_ATTRIBUTES` attributes in the
    ``__dict__`` of ``value``, an instance of a class (not a module, class or function)."""
    attributes = _own_dict(value)
    if attributes is not None:
        for name, attribute in list(itertools.islice(attributes.items(), _ATTRIBUTES)):
            yield f"{what}.{name}", attribute, _Slot.key(attributes, name)


def _which(
    value, reference: dict[int, str], depth: int, budget: list[int], deep: bool = False
) -> tuple | None:
    """``(where, name)``: ``name`` in ``reference`` of ``value``, of the array it is a view of, or
    of what the dicts, lists and tuples it is hold (``where`` in it, ``['Wx']``), or of what a
    callable made from others wraps (:func:`_wrapped`), while ``budget[0]`` items remain to
    look at; ``None`` if none is there. ``deep``: also of what any other object (not a module,
    class or function) refers to, as the garbage collector sees it (an ``itertools.repeat``'s
    value, a ``frozenset``'s items)."""
    array = value
    while array is not None:
        if id(array) in reference:
            return "", reference[id(array)]
        array = _ndarray_base.__get__(array) if _is(array, _ndarray) else None
    if depth == 0:
        return None
    if id(type(value)) in _CONTAINERS:
        items = _items(value, budget)
    elif not deep or _is(value, _NOT_INSTANCES):
        items = ((None, inner) for inner in _wrapped(value))
    else:  # what it wraps first, then all it refers to (an lru_cache's cache too)
        referents = (inner for _, inner in _items(gc.get_referents(value), budget))
        items = ((None, inner) for inner in itertools.chain(_wrapped(value), referents))
    for key, item in items:
        found = _which(item, reference, depth - 1, budget, deep)
        if found is not None:  # the student's key shown only if it is a plain value
            shown = (
                ""
                if key is None
                else repr(key)
                if _exactly(key, (str, int, float, bool))
                else "..."
            )
            return (f"[{shown}]" if key is not None else "") + found[0], found[1]
    return None


def _reads_reference(fn, packages: tuple[str, ...], reference=None) -> str | None:
    """``"NAME (lstm_core.X)"`` for the first value that ``fn`` reads (:func:`_reached`: a
    global name, a default argument, a variable of its closure, also those of the notebook's
    functions, classes and wrapped callables it reads) that is one of the modules of
    ``packages`` or their data (:func:`_reference_objects`), or a dict, list or tuple of the
    notebook's, or a ``functools.partial``, holding some. ``None`` if it reads none, or is not
    a Python function. ``reference``: :func:`_reference_objects` of ``packages``, if known."""
    reference = _reference_objects(packages) if reference is None else reference
    return _first_reached(fn, reference) if reference else None


def _first_reached(fn, found_in: dict[int, str], deep: bool = False) -> str | None:
    """``"NAME (X)"`` for the first value ``fn`` reads (:func:`_reached`) that is one of the
    objects ``found_in`` names by ``id``, or holds or wraps one (:func:`_which`, ``deep`` as
    there, within :data:`_DATA_ITEMS` items in all); ``None`` if none."""
    budget = [_DATA_ITEMS]  # items of the notebook's containers looked into
    for what, value, _ in _reached(fn):
        found = _which(value, found_in, _DATA_DEPTH, budget, deep)
        if found is not None:
            return f"{what}{found[0]} ({found[1]})"
    return None


def _refusing_copy(value, targets: dict[int, str], refuse):
    """``value`` with ``refuse`` in place of every target in it: ``refuse`` for a target, or for
    a callable made from one (:func:`_wrapped`); a new dict, list or tuple for one that holds
    some; ``value`` itself otherwise."""
    if id(value) in targets:
        return refuse
    if id(type(value)) in _CONTAINERS and _which(value, targets, _DATA_DEPTH, [_DATA_ITEMS]):
        if type(value) is dict:
            return {k: _refusing_copy(v, targets, refuse) for k, v in list(value.items())}
        return type(value)(_refusing_copy(v, targets, refuse) for v in value)
    if _wrapped(value) and _which(value, targets, _DATA_DEPTH, [_DATA_ITEMS]):
        return refuse
    return value


def _names_of(targets) -> dict[int, str]:
    """``id`` to ``module.name`` of each of the callables ``targets`` (``numpy.tanh``)."""
    return {
        id(t): f"{getattr(t, '__module__', None) or ''}.{t.__name__}".lstrip(".") for t in targets
    }


@contextlib.contextmanager
def refusing(fn, targets, refuse):
    """While the block runs, ``refuse`` stands in for each of the callables ``targets`` (a
    ready-made function a student must not use, such as ``np.tanh``) wherever ``fn`` can find
    it: as an attribute of any imported module (``np.tanh``, ``np._core.umath.tanh``, a name
    the notebook imported it as), and in every value ``fn`` reads (:func:`_reached`: a default
    argument, a closure's variable, a dict or list of the notebook's, a ``functools.partial``
    or ``np.vectorize`` of it, a class attribute). Everything is put back afterwards
    (:func:`_put_back`). A target held only inside what the student made in C (an
    ``np.frompyfunc`` ufunc, an ``lru_cache``'s cache) or in an object of another library, or
    in a place the student's code will not let us write to or copy, is not replaced:
    :func:`reaches` names it instead. Yields what to call
    in place of ``fn``: ``refuse`` if ``fn`` is a target or wraps one, else ``fn``."""
    ids = _names_of(targets)
    swapped = []

    def swap(slot, original, replacement):
        try:
            slot.put(replacement)
        except Exception:  # a place the student's code will not let us write to: left as it is
            return  # (reaches names a target held there)
        swapped.append((slot, original))

    call = _refusing_copy(fn, ids, refuse) if callable(fn) else fn
    try:
        for _, _, slot in list(_reached(fn)):
            if slot is not None:
                try:
                    original = slot.get()
                    replacement = _refusing_copy(original, ids, refuse)
                except Exception:  # gone meanwhile (a thread of the notebook), or a dict whose
                    continue  # keys raise when hashed again: left as it is, for reaches to name
                if replacement is not original:
                    swap(slot, original, replacement)
        for module in list(sys.modules.values()):  # a student may have put anything there
            attributes = _MODULE_DICT(module) if _is(module, types.ModuleType) else None
            # Most of the ~800 modules hold no target, found so by one C loop over the ids of
            # their values rather than a Python loop over every name (~100,000 in a kernel).
            if type(attributes) is dict and not ids.keys().isdisjoint(
                map(id, list(attributes.values()))
            ):
                for name, value in list(attributes.items()):
                    if id(value) in ids:
                        swap(_Slot.key(attributes, name), value, refuse)
        yield call
    finally:
        _put_back(swapped)


def _put_back(swapped: list) -> None:
    """Put each ``(slot, original)`` of ``swapped`` back, the last first: every one, even if
    putting one back fails (the student's code changed a function's defaults meanwhile, say),
    and with SIGINT and SIGALRM held meanwhile (a KeyboardInterrupt or the kernel guard's
    CellTimeout would leave the rest swapped, np.tanh refusing in the whole kernel): their
    handlers run once all is back. Held by handlers of our own, not by the thread's signal
    mask, which NumPy's BLAS threads do not share."""
    caught: list[int] = []
    handlers = {}
    if threading.current_thread() is threading.main_thread():  # signal.signal's own rule
        for signum in (signal.SIGINT, signal.SIGALRM):
            if signal.getsignal(signum) is not None:  # None: not Python's to hand back
                handlers[signum] = signal.signal(signum, lambda n, frame: caught.append(n))
    try:
        for slot, original in reversed(swapped):
            with contextlib.suppress(Exception):
                slot.put(original)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(caught):
            if callable(handler := handlers[signum]):
                handler(signum, sys._getframe())
            else:
                signal.raise_signal(signum)


def reaches(fn, targets) -> str | None:
    """``"NAME (numpy.tanh)"`` for the first value ``fn`` reads (:func:`_reached`) that is one of
    the callables ``targets``, or holds or wraps one, in any object the garbage collector sees
    it referred to by; ``None`` if none. Read from its code: a name in a branch not taken
    counts too."""
    return _first_reached(fn, _names_of(targets), deep=True)


def _numpy_warning_hint(exc: BaseException) -> str:
    """What a floating-point warning of NumPy says about the function that raised it."""
    text = str(exc)
    if "overflow" in text:
        return "large inputs must not overflow"
    if "divide by zero" in text:
        return (
            "it must not divide by zero for any input the tests give (all-zero arrays "
            "included): check the divisor before dividing"
        )
    if "invalid value" in text:
        return (
            "it computed a NaN (0/0, inf - inf, sqrt of a negative number...): it must handle "
            "every input the tests give (large values, zeros) without NumPy warnings"
        )
    return "it must handle every input the tests give (large values, zeros) without NumPy warnings"


def _values(array, what: str) -> list:
    """The values of ``array``, an exact ndarray of numbers, as Python numbers."""
    if type(array) is not _ndarray:
        raise AssertionError(f"{what} should return a NumPy ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":  # objects compare as they like, complex not at all
        raise AssertionError(
            f"{what} should return an array of real numbers (float64 or float32), got one of "
            f"dtype {array.dtype}: compute with NumPy's float arithmetic (no dtype=object)"
        )
    return _tolist(array.ravel())


def assert_close(actual, expected, *, rtol: float, atol: float, what: str, inputs=None) -> None:
    """Raise ``AssertionError`` unless ``actual`` matches ``expected`` elementwise.

    ``|actual - expected| <= atol + rtol * |expected|`` in plain Python floats; NaN must meet
    NaN and an infinity the same infinity. ``inputs`` (same size) names the failing input.
    """
    __tracebackhide__ = True
    got = _values(actual, what)
    want = _values(expected, "the reference")
    if tuple(actual.shape) != tuple(expected.shape):
        raise AssertionError(
            f"{what}: result has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}"
        )
    xs = _values(inputs, "inputs") if inputs is not None else None
    bad, worst, worst_err = 0, None, -1.0
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if w != w:  # NaN
            ok, err = g != g, 0.0
        elif w in (float("inf"), float("-inf")) or g != g or g in (float("inf"), float("-inf")):
            ok, err = g == w, float("inf")
        else:
            err = g - w if g >= w else w - g
            ok = err <= atol + rtol * (w if w >= 0 else -w)
        if not ok:
            bad += 1
            if err > worst_err or worst is None:
                worst, worst_err = i, err
    if bad:
        at = f" at x = {xs[worst]!r}" if xs is not None else f" at flat index {worst}"
        raise AssertionError(
            f"{what}: {bad} of {len(want)} values differ from the reference "
            f"(rtol={rtol:g}, atol={atol:g}); for example{at} got {got[worst]!r}, "
            f"expected {want[worst]!r}"
        )


def _activation_inputs(name: str) -> list[tuple[str, np.ndarray]]:
    """Deterministic random inputs at several scales, plus the edge cases, for ``name``."""
    rng = random.Random(f"lstm-course:{name}")  # str seeds are stable across runs
    cases = []
    for label, draw, shape in [
        ("standard normal inputs", lambda: rng.gauss(0.0, 1.0), (40,)),
        ("inputs of size ~5 (a 2-D array)", lambda: rng.gauss(0.0, 5.0), (6, 7)),
        ("inputs of size ~50 (a 3-D array)", lambda: rng.gauss(0.0, 50.0), (2, 3, 5)),
        ("inputs in [-800, 800]", lambda: rng.uniform(-800.0, 800.0), (60,)),
        ("tiny inputs near 0", lambda: rng.gauss(0.0, 1e-8), (20,)),
    ]:
        count = 1
        for n in shape:
            count *= n
        cases.append((label, _asarray([draw() for _ in range(count)], dtype=float).reshape(shape)))
    edges = [0.0, -0.0, 1.0, -1.0, 30.0, -30.0, 40.0, -40.0, 700.0, -700.0, 710.0, -710.0]
    cases.append(("edge cases", _asarray(edges, dtype=float)))
    return cases


def check_activation(student_fn, name: str, *, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    """Hidden test of one elementwise function against ``lstm_core.<name>``.

    Checks, on random inputs of several scales and shapes: an ndarray of the input's shape
    comes back, the argument is left unchanged, values agree with the reference, no
    floating-point warning, no use of ``lstm_core``; and exact agreement (no tolerance) at
    0, +-1000 and +-1e308, where the right answer is an exact 0, 0.25, 0.5 or +-1.
    """
    __tracebackhide__ = True
    if not callable(student_fn):
        raise AssertionError(f"{name} should be a function, got {type(student_fn).__name__}")
    ref = reference(name)
    for label, x in _activation_inputs(name):
        argument = x.copy()
        got = call_isolated(student_fn, argument, name=name)
        # After the call: the function could read a result made before it from this frame
        # (sys._getframe(1).f_locals, a traceback's tb_frame.f_back) and return it.
        expected = ref(x.copy())
        if _tolist(argument) != _tolist(x):
            raise AssertionError(
                f"{name} changed its argument in place ({label}); return a new array"
            )
        assert_close(got, expected, rtol=rtol, atol=atol, what=f"{name} on {label}", inputs=x)
    x = _asarray([0.0, 1000.0, -1000.0, 1e308, -1e308])
    got = call_isolated(student_fn, x.copy(), name=name)
    assert_close(got, ref(x), rtol=0.0, atol=0.0, what=f"{name} at 0, +-1000, +-1e308", inputs=x)
