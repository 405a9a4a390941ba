"""A pytest plugin (loaded by tests/conftest.py): a unit test starts no process.

The suite has three tiers. Unit tests need neither a kernel, a browser, the built book nor
another process, and are what `make test-fast` runs. Tests marked ``processes`` start
processes (the grader's command line and its pool, nbgrader's commands, git, a Dask helper, a
child killed at a chosen point) but no kernel and no browser: `make test` runs them beside the
book's build with the unit tests. Tests marked ``slow`` start kernels or a browser, or read
the built book.

A process costs far more than most unit tests (Python starting and importing NumPy, nbgrader
or Dask: a second of CPU or more), so a test that starts one unmarked would slowly take
`make test-fast` back to minutes. While a test that is neither ``slow`` nor ``processes`` runs
(its fixtures' set-up and tear-down included), every way Python starts a process raises
:class:`ProcessInUnitTest`, which names the test and the marker to give it. What this cannot
see: a test marked ``processes`` that no longer starts one (it only runs outside `make
test-fast`), and, in a run of both tiers, a unit test whose process a fixture shared with a
``processes`` test started first (`make test-fast`, which runs the unit tests alone, sees it).
"""

from __future__ import annotations

import _posixsubprocess
import contextlib
import os
import subprocess

import pytest

MARKER = "processes"


class ProcessInUnitTest(RuntimeError):
    """A unit test started a process."""


# Every door to a new process in the standard library: subprocess starts its children in
# Popen._execute_child (through a fork_exec it bound at import, or os.posix_spawn);
# multiprocessing's spawn and fork-server methods through _posixsubprocess.fork_exec, its fork
# method, pty.fork and os.forkpty through os.fork or os.forkpty; os.system and
# os.posix_spawn* start theirs in C.
DOORS = (
    (subprocess.Popen, "_execute_child"),
    (_posixsubprocess, "fork_exec"),
    (os, "fork"),
    (os, "forkpty"),
    (os, "system"),
    (os, "posix_spawn"),
    (os, "posix_spawnp"),
)


def _refuse(nodeid: str, door: str):
    def refused(*args, **kwargs):
        raise ProcessInUnitTest(
            f"{nodeid} started a process ({door}) but is a unit test: mark it "
            f"`@pytest.mark.{MARKER}` (or `slow` if it starts a kernel or a browser). "
            "`make test-fast` runs the unit tests alone, and they start no process "
            "(tests/unit_tier.py)."
        )

    return refused


@contextlib.contextmanager
def closed_doors(nodeid: str):
    """While in the block, starting a process raises :class:`ProcessInUnitTest` naming
    ``nodeid``."""
    saved = [
        (module, name, getattr(module, name)) for module, name in DOORS if hasattr(module, name)
    ]
    for module, name, _ in saved:
        setattr(module, name, _refuse(nodeid, f"{module.__name__}.{name}"))
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def is_unit(item: pytest.Item) -> bool:
    """A unit test: marked neither ``slow`` nor ``processes``."""
    return not (item.get_closest_marker("slow") or item.get_closest_marker(MARKER))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not is_unit(item):
        yield
        return
    with closed_doors(item.nodeid):
        yield
