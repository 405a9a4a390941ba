"""A full disk during a run: one clear error instead of a traceback, and nothing merged lost.

Every write to the course goes through SQLite (``gradebook.db``, one transaction per
submission) or a file replaced atomically (the manifest, ``grades.csv``), so a run stopped by a
full disk leaves the course as it was after the last submission merged; the same command, run
again once there is space, grades what is left (``tests/test_disk_full.py``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import sqlite3

FULL = {errno.ENOSPC, errno.EDQUOT}


class DiskFull(OSError):
    """The disk filled up during a run; everything merged before it is kept."""


def why_full(exc: BaseException | None) -> str | None:
    """What was full, if ``exc`` or an exception it came from is a full disk; else None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in FULL:
            return exc.strerror + (f": {exc.filename}" if exc.filename else "")
        if isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc):
            return f"SQLite: {exc}"
        exc = exc.__cause__ or exc.__context__
    return None


@contextlib.contextmanager
def stop_when_full():
    """Turn a full disk anywhere in the block into :class:`DiskFull` with what to do."""
    try:
        yield
    except DiskFull:
        raise
    except Exception as exc:
        why = why_full(exc)
        if why is None:
            raise
        # What the run did and what the next one does, if the run had begun its plan
        # (parallel.summary_when_stopped): "every submission merged before is kept ... to grade
        # the rest" was said also with nothing merged, or everyone graded (a full disk during
        # the feedback or the export).
        did, then = getattr(exc, "stop_report", None), getattr(exc, "next_run", None)
        if did and then:
            # Nothing left: not "run again: nothing was left to do" (a review).
            todo = (
                f"free some space and {then}"
                if then.startswith("run ")
                else f"free some space ({then})"
            )
            raise DiskFull(f"the disk is full ({why}); the run stopped {did}: {todo}") from exc
        raise DiskFull(
            f"the disk is full ({why}); the run stopped, and every submission merged before "
            "is kept (gradebook.db, autograded/, reports/): free some space and run the same "
            "command again to grade the rest"
        ) from exc


@contextlib.contextmanager
def quiet_gradebook():
    """nbgrader's Gradebook logs each database error with its traceback (to tornado's
    application logger) before raising it; the error itself is what the run reports."""
    log = logging.getLogger("tornado.application")
    disabled, log.disabled = log.disabled, True
    try:
        yield
    finally:
        log.disabled = disabled
