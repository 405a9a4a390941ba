"""lstm_grading: trusted helpers for the course's hidden tests, and the grading machinery.

Hidden test cells of the assignments call :func:`check_activation` (and, for later
assignments, :func:`call_isolated` and :func:`assert_close`). They compare the student's
function with a private copy of the reference package ``lstm_core``, call the student's code
with ``lstm_core`` out of reach, and compare numbers in plain Python, so that redefining
``np.allclose``, ``np.testing`` or ``lstm_core.sigmoid`` in a notebook changes nothing.

Other modules: ``kernel_guard`` and ``output_guard`` (IPython extensions that stop runaway cells
and floods of output during autograding), ``feedback`` and ``export`` (nbgrader plugins), and
the parallel, sandboxed grader behind ``lstm-autograde`` (``cli``, ``parallel`` and the modules
it lists; see the instructor guide's "Grading a class").
"""

from .checks import (
    ReferenceUsedError,
    assert_close,
    call_isolated,
    check_activation,
    reference,
)

__all__ = [
    "ReferenceUsedError",
    "assert_close",
    "call_isolated",
    "check_activation",
    "reference",
]
