"""IPython extension for sandboxed autograding: cap what one cell may print, note the running cell.

nbgrader's ``LimitOutput`` shortens outputs only *after* a notebook has run; until then
every byte a cell prints travels to the grading process and stays in its memory, so
``while True: print("x" * 10**6)`` can exhaust it within the cell time limit. This guard
counts the bytes written to ``sys.stdout``/``sys.stderr`` and published as display data by each
cell; past ``OutputGuard.limit`` bytes it writes one notice, discards the rest and raises
:class:`OutputLimitExceeded` (a ``BaseException``, like the kernel guard's ``CellTimeout``) so the
cell stops. It also writes the first line of each cell it starts to ``OutputGuard.progress``,
which tells the grader which cell was running when a kernel died. And before every cell it
puts back the names of ``lstm_grading`` and ``lstm_grading.checks`` as they were when the kernel
started, and the functions of the libraries the hidden tests use (:data:`LIBRARIES`), so that
``lstm_grading.check_activation = lambda *a: None`` or ``np.random.default_rng = ...`` in a
student's cell is undone before the hidden tests run (a determined student can still
unregister this hook: code in the kernel runs with the kernel's rights: see the threat model in
book/instructor-guide.md).

Loaded by :mod:`lstm_grading.kernel_launcher` after the kernel guard::

    --InteractiveShellApp.extensions=lstm_grading.output_guard --OutputGuard.limit=2000000
"""

from __future__ import annotations

import importlib
import json
import sys
import types

DEFAULT_LIMIT = 2_000_000
PROTECTED = ("lstm_grading", "lstm_grading.checks")  # imported by the kernel guard already
# Libraries the hidden tests build their cases and compare with: their functions, classes and
# submodules are put back before every cell too. A cell that made np.random.default_rng
# hand out zeros made every hidden case trivial, and a wrong gate passed problem set 2's
# tests; builtins.zip or isinstance, patched, would do the same to the comparisons.
LIBRARIES = ("builtins", "numpy", "numpy.random", "random", "math")
_MISSING = object()


class OutputLimitExceeded(BaseException):
    """A cell printed more than the grading output limit."""


def _a_function(value) -> bool:
    """A function, class or module of a library (``np.random.default_rng``, ``zip``), not its
    data or state, nor what IPython sets in ``builtins`` while a cell runs (``exit``)."""
    if isinstance(value, types.ModuleType):
        return True
    return callable(value) and type(value).__module__ != "_sitebuiltins"


class _Guard:
    def __init__(self, limit: int, progress: str | None):
        self.limit = limit
        self.progress = progress
        self.used = 0
        self.tripped = False
        self.notice = sys.stdout.write  # unlimited, for the notice of a display that trips
        self.modules = {
            name: (sys.modules[name], dict(vars(sys.modules[name])))
            for name in PROTECTED
            if name in sys.modules
        }
        # Imported now (NumPy loads numpy.random only when asked), each before any is
        # snapshotted; a submodule among them is put back as its parent's attribute too, set
        # or not yet: numpy's snapshot, taken before numpy.random was first imported, lacked
        # ``random``, and a cell's ``np.random = ...`` stayed for the hidden tests.
        libraries = {name: importlib.import_module(name) for name in LIBRARIES}
        for name, module in libraries.items():
            functions = {k: v for k, v in vars(module).items() if _a_function(v)}
            for other, submodule in libraries.items():
                parent, _, attribute = other.rpartition(".")
                if parent == name:
                    functions[attribute] = submodule
            self.modules[name] = (module, functions)

    def pre_run_cell(self, info=None):
        self.used, self.tripped = 0, False
        for name, (module, snapshot) in self.modules.items():
            sys.modules[name] = module
            namespace = vars(module)
            for key, value in snapshot.items():
                if namespace.get(key, _MISSING) is not value:
                    namespace[key] = value
        if self.progress:
            first = (getattr(info, "raw_cell", "") or "").strip().splitlines()[:1]
            try:
                with open(self.progress, "w") as f:
                    f.write(first[0][:200] if first else "")
            except OSError:
                pass

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
    ip.events.register("pre_run_cell", guard.pre_run_cell)
