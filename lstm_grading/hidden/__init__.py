"""Hidden tests of the six problem sets, one module per set, called from the grade cells.

A grade cell's hidden block is one import and one call, for example::

    from lstm_grading.hidden import ps03
    ps03.check_step_c(lstm_step_forward)

Every check compares what the student's function returns, and what it leaves behind (its
arguments, the caches it builds), with the course's reference implementation under the shared
contract (:mod:`lstm_grading.hidden.contract`), on random sizes (N = 1, D != H), saturating
inputs in float64 and float32, through :func:`lstm_grading.call_isolated` (floating-point
errors raise and cannot be switched off, ``lstm_core`` out of reach). A check raises
``AssertionError`` with a message meant for the student; it passes silently.
"""
