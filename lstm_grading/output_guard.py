"""IPython extension for sandboxed autograding: cap what one cell may print, note the running cell.

nbgrader's ``LimitOutput`` shortens outputs only *after* a notebook has run; until then
every byte a cell prints travels to the grading process and stays in its memory, so
``while True: print("x" * 10**6)`` can exhaust it within the cell time limit. This guard
counts the bytes written to ``sys.stdout``/``sys.stderr`` and published as display data by each
cell; past ``OutputGuard.limit`` bytes it writes one notice, discards the rest and raises
:class:`OutputLimitExceeded` (a ``BaseException``, like the kernel guard's ``CellTimeout``) so the
cell stops. It also writes the first line of each cell it starts to ``OutputGuard.progress``,
which tells the grader which cell was running when a kernel died.

And before every cell it puts back what the hidden tests and the guards rely on, as it was when
the kernel started (:meth:`_Guard.put_back`): every module then loaded (lstm_core and the
hidden tests' modules, imported first: :data:`LIBRARIES`, :data:`HIDDEN`) in ``sys.modules``,
and in each its functions, classes and submodules, the methods of the classes it defines, and
what their Python functions hold (code, defaults, closures, attributes; NumPy's dispatchers'
Python implementations too); the grader's own modules and the reference's private copy whole,
their lists, dicts, sets and arrays too. So
``lstm_grading.check_activation = lambda *a: None``, ``np.random.default_rng = ...``,
``np.seterr.__code__ = ...``, ``sys.settrace = ...``, ``ps01.check_sigmoid = ...`` or a
method set on a class of
``lstm_grading.checks`` in a student's cell is undone before the hidden tests run. So are the
shell's input and AST transformers and the functions of the shell and of IPython's objects it
holds (put back after every cell too: IPython transforms a cell's code before pre_run_cell),
which could drop the hidden tests' lines. The notebook's own namespace (:data:`USER`) is the
student's: only its ``__builtins__`` is put back and a ``globals`` of its own taken away.
Not undone: what the student's code does in the grade cell itself (its function, called by
the visible tests, runs before the hidden ones); and a determined student can unregister this
hook: code in the kernel runs with the kernel's rights (see the threat model in
book/instructor-guide.md).

Loaded by :mod:`lstm_grading.kernel_launcher` after the kernel guard::

    --InteractiveShellApp.extensions=lstm_grading.output_guard --OutputGuard.limit=2000000
"""

from __future__ import annotations

import builtins
import importlib
import itertools
import json
import operator
import pkgutil
import re
import sys
import types

import numpy as np

DEFAULT_LIMIT = 2_000_000
PROTECTED = ("lstm_grading", "lstm_grading.checks")  # imported by the kernel guard already
# Imported before the snapshot (below), with what they import: the libraries the grade cells
# import themselves, lstm_core (which hidden/ps06.py imports only when its test runs: a cell's
# ``sys.modules["lstm_core"] = ...`` or ``lstm_core.Adam.step = ...`` before that stayed), and
# the hidden tests' modules (lstm_grading.hidden.psNN, which a grade cell imports only when it
# runs, after the student's cells: their checks, patched in a cell before, passed anything).
LIBRARIES = ("builtins", "numpy", "numpy.random", "random", "math", "itertools", "lstm_core")
HIDDEN = "lstm_grading.hidden"
_MISSING = object()
_IMMUTABLE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: a type whose attributes cannot be set
# Their values are told by their type alone, never by isinstance, which asks an object for its
# __class__: a library's object may warn when asked (torch.distributed.reduce_op).
_FUNCTION_TYPES = (types.ModuleType, classmethod, staticmethod, property)


class OutputLimitExceeded(BaseException):
    """A cell printed more than the grading output limit."""


def _a_function(value) -> bool:
    """A function, class, method or module of a library (``np.random.default_rng``, ``zip``,
    a class's ``staticmethod``), not its data or state, nor what IPython sets in ``builtins``
    while a cell runs (``exit``)."""
    if issubclass(type(value), _FUNCTION_TYPES):
        return True
    return callable(value) and type(value).__module__ != "_sitebuiltins"


def _hidden_modules() -> list[str]:
    """The hidden tests' modules of the problem sets (``lstm_grading.hidden.ps01``...)."""
    package = importlib.import_module(HIDDEN)
    return [
        f"{HIDDEN}.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
        if re.fullmatch(r"ps\d\d", info.name)
    ]


def _modules_to_keep() -> dict[str, types.ModuleType]:
    """Every module the grading code can reach, by a name for it: all of ``sys.modules`` (the
    kernel's, NumPy's and the standard library's modules the hidden tests and the kernel guard
    call: ``sys.settrace``, ``itertools.islice``, ``contextlib``, ``warnings``...), and modules
    found only as another's attribute or in the reference's private copy
    (``lstm_grading.checks._pristine()``, whose functions the hidden tests compare with)."""
    from lstm_grading import checks

    found = {"builtins": builtins}  # first: what the putting back itself calls
    found.update((n, m) for n, m in sys.modules.items() if issubclass(type(m), types.ModuleType))
    seen = {id(m) for m in found.values()}
    queue = [*found.values(), checks._pristine()]
    while queue:
        module = queue.pop()
        if id(module) not in seen:
            seen.add(id(module))
            found[f"<{vars(module).get('__name__', '?')} at {id(module):#x}>"] = module
        for value in list(vars(module).values()):
            if issubclass(type(value), types.ModuleType) and id(value) not in seen:
                queue.append(value)
    return found


def _classes_of(module) -> list[type]:
    """The classes ``module`` defines whose attributes a cell can set (not NumPy's ndarray,
    a C type), each once."""
    name = vars(module).get("__name__")
    return [
        value
        for value in vars(module).values()
        if issubclass(type(value), type)
        and not value.__flags__ & _IMMUTABLE
        and value.__dict__.get("__module__") == name
    ]


GRADERS = ("lstm_grading", "_lstm_grading_pristine_")  # the grader's package, the reference copy
# The notebook's own namespace (IPython's user module, ``sys.modules["__main__"]`` in a kernel):
# its names are the student's (``from numpy import *`` brings a ``max`` and a ``sum``, a student
# may call a variable ``input``), so none is taken away or put back, but for the builtins its
# code finds (a dict there in place of the module could answer the grade cell's ``import``)
# and the builtins the grade cells' hidden lines call there: ``globals()``, the namespace in
# which the hidden checks put the reference's sigmoid in place of the student's.
USER = "__main__"
USER_BUILTINS = frozenset({"globals"})
_CONTAINERS = (list, dict, set)


def _contents(value, out: list, depth: int = 0) -> None:
    """Append ``(value, a copy of what it holds)`` to ``out`` for a list, dict, set or NumPy
    array ``value``, and for those it holds (a dict of arrays: ``HAND_WORKED_PARAMS``)."""
    if depth > 4:
        return
    if type(value) is np.ndarray:
        out.append((value, (value.copy(), value.flags.writeable)))
    elif type(value) in _CONTAINERS:
        out.append((value, value.copy()))
        for item in value.values() if type(value) is dict else value:
            _contents(item, out, depth + 1)


def _put_back_contents(value, saved) -> None:
    if type(value) is np.ndarray:
        saved, writeable = saved
        if value.shape == saved.shape and not np.array_equal(value, saved, equal_nan=True):
            value.flags.writeable = True
            np.copyto(value, saved)
        if value.flags.writeable != writeable:
            value.flags.writeable = writeable
    elif type(value) is list:
        if len(value) != len(saved) or any(a is not b for a, b in zip(value, saved, strict=True)):
            value[:] = saved
    elif type(value) is dict:
        if value.keys() != saved.keys() or any(value[k] is not v for k, v in saved.items()):
            value.clear()
            value.update(saved)
    elif value != saved:
        value.clear()
        value.update(saved)


def _attributes(obj) -> dict:
    """What ``obj`` holds itself: its instance dict, and its traits' values (traitlets keeps
    those in ``_trait_values``), never asked through getattr."""
    try:
        namespace = vars(obj)
    except TypeError:  # no instance dict (__slots__)
        return {}
    found = {k: v for k, v in namespace.items() if k != "_trait_values"}
    traits = namespace.get("_trait_values")
    if type(traits) is dict:
        found.update(traits)
    return found


def _function_state(function):
    """``function`` with what a cell could change of it in place: its code, defaults,
    keyword defaults (and what that dict holds), its closure's cells' contents and the
    attributes it had (``__wrapped__``, which ``inspect.signature`` follows)."""
    kwdefaults = function.__kwdefaults__
    cells = tuple(
        (cell, cell.cell_contents) for cell in function.__closure__ or () if _filled(cell)
    )
    return (
        function,
        function.__code__,
        function.__defaults__,
        kwdefaults,
        None if kwdefaults is None else dict(kwdefaults),
        cells,
        function.__dict__,
        dict(function.__dict__),
    )


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 (an empty cell raises)
    except ValueError:
        return False
    return True


def _put_back_function(
    function, code, defaults, kwdefaults, kwsaved, cells, namespace, attributes
) -> None:
    if function.__code__ is not code:
        function.__code__ = code
    if function.__defaults__ is not defaults:
        function.__defaults__ = defaults
    if kwdefaults is not None and (
        kwdefaults.keys() != kwsaved.keys()
        or any(kwdefaults[k] is not v for k, v in kwsaved.items())
    ):
        kwdefaults.clear()
        kwdefaults.update(kwsaved)
    if function.__kwdefaults__ is not kwdefaults:
        function.__kwdefaults__ = kwdefaults
    for cell, contents in cells:
        if not _filled(cell) or cell.cell_contents is not contents:
            cell.cell_contents = contents
    if function.__dict__ is not namespace:
        function.__dict__ = namespace
    for key, value in attributes.items():
        if namespace.get(key, _MISSING) is not value:
            namespace[key] = value
    if len(namespace) != len(attributes):  # one added (``__wrapped__``, which inspect follows)
        for key in [k for k in namespace if k not in attributes]:
            del namespace[key]


_is = operator.is_
# What _Flat reads of every function: what _put_back_function puts back by identity.
_FUNCTION_PARTS = [
    operator.attrgetter(name) for name in ("__code__", "__defaults__", "__kwdefaults__", "__dict__")
]
_is_not = operator.is_not
_get = dict.get
_get_class = types.MappingProxyType.get


def _changed(now, saved, owners) -> set:
    """The owners whose value ``now()`` (a new iterator each call) is not the saved one: one C
    loop that stops at the first difference (``all`` of ``map``), and only then a second one
    that lists them."""
    if all(map(_is, now(), saved)):
        return set()
    return set(itertools.compress(owners, map(_is_not, now(), saved)))


class _Entries:
    """``(mapping, key, value, owner)`` entries flattened into four lists, compared at once."""

    def __init__(self, entries, get=_get):
        self.mappings = [e[0] for e in entries]
        self.keys = [e[1] for e in entries]
        self.values = [e[2] for e in entries]
        self.owners = [e[3] for e in entries]
        self.get = get

    def changed(self) -> set[int]:
        """The owners of entries whose mapping holds another value now (or none)."""

        def now():
            return map(self.get, self.mappings, self.keys, itertools.repeat(_MISSING))

        return _changed(now, self.values, self.owners)


class _Flat:
    """What :meth:`_Guard.put_back` compares, as flat lists made at the snapshot: which
    modules, functions and classes a cell changed is found by identity in C loops
    (``map``), without a Python loop over every name of ~800 modules and ~2,000 classes and
    every part of ~10,000 functions. Measured in a kernel (CPU time, the fastest of 7 runs of
    30, on a busy 2-core machine): 11-15 ms a cell instead of 15-20; what is left is one C
    call per name and function part, ~85,000 a cell."""

    def __init__(self, modules: dict, functions: list, classes: list):
        self.modules = [(name, *entry) for name, entry in modules.items()]
        named = [(i, m[0], m[1]) for i, m in enumerate(self.modules) if m[0][0] != "<"]
        self.named = [i for i, _, _ in named]
        self.names = [name for _, name, _ in named]
        self.named_modules = [module for _, _, module in named]
        self.namespaces = [vars(m[1]) for m in self.modules]
        self.limits = [sys.maxsize if m[1] is builtins else len(m[3]) for m in self.modules]
        self.module_entries = _Entries(
            [(vars(m[1]), k, v, i) for i, m in enumerate(self.modules) for k, v in m[2].items()]
        )
        # functions: (function, code, defaults, kwdefaults, kwsaved, cells, namespace, attributes)
        self.functions = [f[0] for f in functions]
        self.parts = [[f[i] for f in functions] for i in (1, 2, 3, 6)]  # as _FUNCTION_PARTS
        self.dicts = [f[6] for f in functions]
        self.dict_lengths = [len(f[7]) for f in functions]
        with_kw = [(i, f[3], f[4]) for i, f in enumerate(functions) if f[3] is not None]
        self.kw_owners = [i for i, _, _ in with_kw]
        self.kw_dicts = [kw for _, kw, _ in with_kw]
        self.kw_lengths = [len(saved) for _, _, saved in with_kw]
        self.kw_entries = _Entries(
            [(kw, k, v, i) for i, kw, saved in with_kw for k, v in saved.items()]
        )
        self.attribute_entries = _Entries(
            [(f[6], k, v, i) for i, f in enumerate(functions) for k, v in f[7].items()]
        )
        cells = [(cell, contents, i) for i, f in enumerate(functions) for cell, contents in f[5]]
        self.cells = [c for c, _, _ in cells]
        self.cell_contents = [v for _, v, _ in cells]
        self.cell_owners = [i for _, _, i in cells]
        # classes: (cls, kept, names)
        self.class_dicts = [c[0].__dict__ for c in classes]
        self.class_limits = [len(c[2]) for c in classes]
        self.class_entries = _Entries(
            [(c[0].__dict__, k, v, i) for i, c in enumerate(classes) for k, v in c[1].items()],
            get=_get_class,
        )

    def changed_modules(self) -> list[int]:
        changed = self.module_entries.changed()
        names = self.names
        changed |= _changed(lambda: map(sys.modules.get, names), self.named_modules, self.named)
        grown = map(operator.gt, map(len, self.namespaces), self.limits)
        if any(grown):
            grown = map(operator.gt, map(len, self.namespaces), self.limits)
            changed.update(itertools.compress(range(len(self.modules)), grown))
        return sorted(changed)

    def changed_functions(self) -> list[int]:
        f, every = self.functions, range(len(self.functions))
        changed = set()
        # A pass per part, each building no object (a tuple per function would: allocations
        # that start the garbage collector, which walks the kernel's whole heap).
        for getter, saved in zip(_FUNCTION_PARTS, self.parts, strict=True):
            changed |= _changed(lambda: map(getter, f), saved, every)  # noqa: B023 (called here)
        if list(map(len, self.dicts)) != self.dict_lengths:
            lengths = map(operator.ne, map(len, self.dicts), self.dict_lengths)
            changed.update(itertools.compress(every, lengths))
        if list(map(len, self.kw_dicts)) != self.kw_lengths:
            kw_lengths = map(operator.ne, map(len, self.kw_dicts), self.kw_lengths)
            changed.update(itertools.compress(self.kw_owners, kw_lengths))
        changed |= self.kw_entries.changed() | self.attribute_entries.changed()
        try:
            now = list(map(operator.attrgetter("cell_contents"), self.cells))
        except ValueError:  # a cell emptied: every function with a closure the slow way
            changed.update(self.cell_owners)
        else:
            changed |= _changed(lambda: now, self.cell_contents, self.cell_owners)
        return sorted(changed)

    def changed_classes(self) -> list[int]:
        changed = self.class_entries.changed()
        if any(map(operator.gt, map(len, self.class_dicts), self.class_limits)):
            grown = map(operator.gt, map(len, self.class_dicts), self.class_limits)
            changed.update(itertools.compress(range(len(self.class_limits)), grown))
        return sorted(changed)


class _Guard:
    def __init__(self, limit: int, progress: str | None):
        self.limit = limit
        self.progress = progress
        self.used = 0
        self.tripped = False
        self.notice = sys.stdout.write  # unlimited, for the notice of a display that trips
        # Imported now, each before any is snapshotted (NumPy loads numpy.random only when
        # asked); a hidden module that fails to import fails its grade cell later anyway.
        for name in LIBRARIES:
            importlib.import_module(name)
        for name in _hidden_modules():
            try:
                importlib.import_module(name)
            except Exception:  # an empty or broken file: its grade cell says so
                pass
        # name: (module, what to put back, the names it had). lstm_grading's own: everything.
        self.modules = {}
        for name, module in _modules_to_keep().items():
            every = dict(vars(module))
            if name == USER:
                kept = {k: v for k, v in every.items() if k == "__builtins__"}
            elif name in PROTECTED:
                kept = every
            else:
                kept = {k: v for k, v in every.items() if _a_function(v)}
            self.modules[name] = (module, kept, frozenset(every))
        # A submodule is put back as its parent's attribute where the parent has none (numpy
        # before numpy.random was first imported: a cell's ``np.random = ...`` stayed).
        for name, (module, _, _) in list(self.modules.items()):
            parent, _, attribute = name.rpartition(".")
            if parent in self.modules and attribute not in self.modules[parent][2]:
                self.modules[parent][1][attribute] = module
        # Classes' methods and class attributes that are functions, and the names of those
        # they have: a method set on a class over one it inherits (``_Usage.append``) is taken
        # away again.
        self.classes = []
        for module, _, _ in self.modules.values():
            for cls in _classes_of(module):
                every = dict(vars(cls))
                kept = {k: v for k, v in every.items() if _a_function(v)}
                self.classes.append((cls, kept, frozenset(every)))
        # The Python functions of every module kept (and their classes'), as their objects hold
        # them: a cell could change one in place, the snapshot holding the same object. The
        # grader's (``check_activation.__kwdefaults__ = {"rtol": 1.0, "atol": 1.0}`` widened
        # ps01's hidden comparisons) and the libraries' the hidden tests and the reference call
        # (``np.allclose._implementation.__defaults__ = (1.0, 1.0, False)``: NumPy's public
        # functions are dispatchers whose Python implementation a cell can change, not
        # replace; ``lstm_core.Adam.step.__code__ = ...``).
        self.functions = []
        seen = set()
        for name, (module, kept, _) in self.modules.items():
            if name == USER:
                continue
            values = [*kept.values()]
            values += [v for cls in _classes_of(module) for v in vars(cls).values()]
            for value in values:
                if type(value) in (classmethod, staticmethod):
                    value = value.__func__
                elif type(value).__name__ == "_ArrayFunctionDispatcher":
                    value = getattr(value, "_implementation", None)
                if type(value) is types.FunctionType and id(value) not in seen:
                    seen.add(id(value))
                    self.functions.append(_function_state(value))
        self.builtin_names = frozenset(vars(builtins))
        self.transformers = []  # (owner, attribute, the list, what it held): watch_shell
        self.instances = []  # (the shell or an object it holds, its functions, its names)
        # The grader's own data, and the reference copy's, in place: its lists, dicts, sets
        # and arrays, and those they hold (``checks._package_dirs["lstm_core"] = "/nowhere"``
        # hid lstm_core's code from the watch; a stand-in in ``checks._pristine_packages`` was
        # the reference the hidden tests compared with).
        self.contents = []
        for module, _, _ in self.modules.values():
            if str(vars(module).get("__name__", "")).startswith(GRADERS):
                for key, value in vars(module).items():
                    if key != "__builtins__":
                        _contents(value, self.contents)

        self.flat = _Flat(self.modules, self.functions, self.classes)

    def watch_shell(self, shell):
        """Keep what of ``shell`` decides what a later cell runs as it is now: its transformers
        (input transformers run on a cell's code before pre_run_cell, AST transformers after
        it), which a cell could extend with one that drops the hidden tests' lines; and the
        functions of the shell and of IPython's objects it holds (its compiler, transformer
        manager, display hooks...), which a cell could replace or shadow on the instance
        (``get_ipython().transform_cell = ...``, ``get_ipython().compile.ast_parse = ...``)."""
        manager = getattr(shell, "input_transformer_manager", None)
        for owner, name in [
            (shell, "input_transformers_post"),
            (shell, "ast_transformers"),
            (manager, "cleanup_transforms"),
            (manager, "line_transforms"),
            (manager, "token_transformers"),
        ]:
            value = getattr(owner, name, None)
            if type(value) is list:
                self.transformers.append((owner, name, value, list(value)))
        held = [*_attributes(shell).values()]
        for value in [shell, *held]:
            module = str(getattr(type(value), "__module__", ""))
            if value is shell or module.partition(".")[0] in ("IPython", "ipykernel"):
                if not hasattr(value, "__dict__"):
                    continue
                attributes = _attributes(value)
                kept = {k: v for k, v in attributes.items() if callable(v)}
                self.instances.append((value, kept, frozenset(attributes)))

    def put_back_transformers(self, result=None):
        """Put back the shell's transformers and its objects' functions (after every cell,
        and before every cell); take away a function set on one of them over its class's."""
        for owner, name, value, saved in self.transformers:
            if getattr(owner, name, None) is not value:
                setattr(owner, name, value)
            if len(value) != len(saved) or any(
                a is not b for a, b in zip(value, saved, strict=True)
            ):
                value[:] = saved
        for obj, kept, names in self.instances:
            namespace = vars(obj)
            traits = namespace.get("_trait_values")
            for key, value in kept.items():
                where = traits if type(traits) is dict and key in traits else namespace
                if where.get(key, _MISSING) is not value:
                    where[key] = value
            for key in [k for k in namespace if k not in names and callable(namespace[k])]:
                if any(key in vars(cls) for cls in type(obj).__mro__):
                    del namespace[key]

    def pre_run_cell(self, info=None):
        self.used, self.tripped = 0, False
        self.put_back()
        self.put_back_transformers()
        if self.progress:
            first = (getattr(info, "raw_cell", "") or "").strip().splitlines()[:1]
            try:
                with open(self.progress, "w") as f:
                    f.write(first[0][:200] if first else "")
            except OSError:
                pass

    def put_back(self):
        """Put back the snapshot's modules in ``sys.modules``, their functions, classes and
        submodules, and the classes' methods; take away a name added to a module over a
        builtin (``lstm_grading.checks.zip = ...``: the module's code finds it first) or to a
        class over an inherited one. Data, and other names a cell adds, are the notebook's.

        What a cell left as it was costs passes of ``map`` over the flat lists of
        :class:`_Flat` (C loops comparing identities); only a module, function or class in
        which one of them finds a difference is put back one name at a time."""
        flat = self.flat
        for i in flat.changed_modules():
            self._put_back_module(*flat.modules[i])
        for value, saved in self.contents:
            _put_back_contents(value, saved)
        for i in flat.changed_functions():
            _put_back_function(*self.functions[i])
        for i in flat.changed_classes():
            self._put_back_class(*self.classes[i])

    def _put_back_module(self, name, module, kept, names):
        if name[0] != "<" and sys.modules.get(name) is not module:
            sys.modules[name] = module
        namespace = vars(module)
        for key, value in kept.items():
            if namespace.get(key, _MISSING) is not value:
                namespace[key] = value
        if module is not builtins and len(namespace) > len(names):
            # The builtins' names looked up, not the module's read: a cell that adds many
            # names to a module (or to the notebook) makes no later cell slower.
            shadowing = USER_BUILTINS if name == USER else self.builtin_names
            for key in [k for k in shadowing if k in namespace and k not in names]:
                del namespace[key]

    @staticmethod
    def _put_back_class(cls, kept, names):
        namespace = cls.__dict__
        for key, value in kept.items():
            if namespace.get(key, _MISSING) is not value:
                type.__setattr__(cls, key, value)
        if len(namespace) > len(names):
            for key in [k for k in namespace if k not in names]:
                if _a_function(namespace[key]) and any(
                    key in vars(base) for base in cls.__mro__[1:]
                ):
                    type.__delattr__(cls, key)

    def _spend(self, size: int) -> str:
        """Count ``size`` bytes: "ok", "crossed" (the limit, just now) or "over"."""
        if self.tripped:
            return "over"
        self.used += size
        if self.used <= self.limit:
            return "ok"
        self.tripped = True
        return "crossed"

    def _trip(self, write):
        write(
            f"\n[output limit: this cell printed more than {self.limit} bytes; "
            "the rest was discarded and the cell stopped]\n"
        )
        raise OutputLimitExceeded(f"more than {self.limit} bytes of output in one cell")

    def wrap_stream(self, stream):
        write = stream.write

        def limited_write(text):
            verdict = self._spend(len(text))
            if verdict == "ok":
                return write(text)
            if verdict == "crossed":
                self._trip(write)
            return 0

        stream.write = limited_write

    def wrap_publisher(self, publisher):
        publish = publisher.publish

        def limited_publish(data, *args, **kwargs):
            verdict = self._spend(len(json.dumps(data, default=str)))
            if verdict == "ok":
                return publish(data, *args, **kwargs)
            if verdict == "crossed":
                self._trip(self.notice)
            return None

        publisher.publish = limited_publish


def load_ipython_extension(ip):
    """Register the guard on the shell ``ip`` (called by IPython's extension loader)."""
    import lstm_grading.checks  # noqa: F401 (snapshot it before any student code runs)

    config = ip.config.get("OutputGuard", {})
    guard = _Guard(int(config.get("limit", DEFAULT_LIMIT)), config.get("progress") or None)
    guard.wrap_stream(sys.stdout)
    guard.wrap_stream(sys.stderr)
    guard.wrap_publisher(ip.display_pub)
    guard.watch_shell(ip)
    ip.events.register("pre_run_cell", guard.pre_run_cell)
    ip.events.register("post_run_cell", guard.put_back_transformers)
