"""IPython extension for autograding: stop any cell that runs longer than a time limit.

nbgrader's own timeout interrupts the kernel with SIGINT, which Python turns into
``KeyboardInterrupt``; code that swallows it (``except KeyboardInterrupt: pass`` in a loop)
keeps the kernel busy, and nbgrader then drops the whole submission. This guard instead
raises :class:`CellTimeout` from a SIGALRM handler when a cell has run for ``timeout``
seconds, and again every second after that until the cell ends. ``CellTimeout`` derives
from ``BaseException`` and not from ``KeyboardInterrupt``, so neither ``except Exception`` nor
``except KeyboardInterrupt`` stops it: the cell fails with a clear message and grading goes on
with the next cell. Only a bare ``except:`` (or ``except BaseException``) inside the loop
outlasts it; then nbgrader's timeout (set longer, in nbgrader_config.py) is the backstop.

Loaded by ``nbgrader_config.py`` through the kernel's command line::

    --InteractiveShellApp.extensions=lstm_grading.kernel_guard --KernelGuard.timeout=60

It also imports :mod:`lstm_grading.checks` and loads its private reference copy before any
student code runs, and makes the libraries with ready-made activations, layers or gradients
(PyTorch, SciPy, SymPy, ...: :data:`lstm_grading.checks.OTHER_LIBRARIES`) unimportable in the
kernel: the problem sets are to be done in NumPy.
"""

from __future__ import annotations

import signal

DEFAULT_TIMEOUT = 60.0
REPEAT = 1.0  # seconds between further CellTimeout raises once the limit has passed


class CellTimeout(BaseException):
    """A cell ran past the grading time limit."""


class _Guard:
    def __init__(self, timeout: float):
        self.timeout = timeout

    def _alarm(self, signum, frame):
        raise CellTimeout(
            f"this cell was stopped after {self.timeout:g} s, the grading time limit per cell "
            "(an infinite loop?)"
        )

    def pre_run_cell(self, info=None):
        signal.signal(signal.SIGALRM, self._alarm)
        signal.setitimer(signal.ITIMER_REAL, self.timeout, REPEAT)

    def post_run_cell(self, result=None):
        signal.setitimer(signal.ITIMER_REAL, 0)


def load_ipython_extension(ip):
    """Register the guard on the shell ``ip`` (called by IPython's extension loader)."""
    from . import checks

    checks._pristine()  # the reference copy, made before the notebook can touch lstm_core
    checks.refuse_other_libraries()
    config = ip.config.get("KernelGuard", {})
    guard = _Guard(float(config.get("timeout", DEFAULT_TIMEOUT)))
    ip.events.register("pre_run_cell", guard.pre_run_cell)
    ip.events.register("post_run_cell", guard.post_run_cell)
