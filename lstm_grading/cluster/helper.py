"""The process that grades on a Dask worker: ``python -m lstm_grading.cluster.helper PARENT``.

A Dask worker process has threads (its event loop, its task threads) and is, under a nanny, a
daemonic process that may not start ``multiprocessing`` children. A job forked from it could
inherit a lock held by another thread. So each task thread of a worker hands its submissions
to a helper of its own: a fresh interpreter, single-threaded like a worker of the local pool
(:mod:`lstm_grading.pool`), which imports nbgrader once and forks every job from there with
:func:`lstm_grading.sandbox.grade_files`.

The helper dies with the worker (``PR_SET_PDEATHSIG``), and its jobs with it. It grades in a
run folder of its own (``/tmp/lstm-autograde-*`` with an owner lock, as the local coordinator
does), removed when it exits normally. A helper that was killed leaves its folder and its
jobs' memory cgroups: the task that used it removes them once the jobs are gone (a run stopped
with Ctrl-C kills them), the run's end those of helpers killed with their worker (a local
cluster's, once its closed workers' helpers and jobs have ended), and the next helper (or local
run) on that machine whatever is left.

Protocol on two pipes: the worker writes a pickled request (template, submission, student,
assignment, limits, requested mode, notebooks) prefixed by its length; the helper answers
with the pickled result dict of ``grade_files`` plus ``sandbox_mode`` (``full`` or
``reduced``) and ``sandbox_why``. End of input: the helper exits.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import tempfile
import traceback
from pathlib import Path

HEADER = struct.Struct("<Q")
JOB_PREFIX = "lstm-autograde-one-"  # grade_files's folders, and so its jobs' cgroups


def read_message(fd: int):
    """One length-prefixed pickle from ``fd``; None at the end of input."""
    head = _read_exactly(fd, HEADER.size)
    if head is None:
        return None
    body = _read_exactly(fd, HEADER.unpack(head)[0])
    if body is None:
        return None
    return pickle.loads(body)


def write_message(fd: int, obj) -> None:
    data = pickle.dumps(obj, protocol=5)
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, n: int) -> bytes | None:
    parts, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def remove_dead_helpers_leftovers() -> None:
    """Remove what the helpers on this machine that were killed left: their run folders (the
    lock free: no process of theirs is left) and then their jobs' memory cgroups (the job
    folder gone). A live helper's, another run's included, are left alone."""
    from .. import cgroup as cgroups
    from ..course_lock import remove_stale_run_folders

    remove_stale_run_folders()
    if parent := cgroups.memory_cgroup_parent():
        cgroups.remove_unused(parent, JOB_PREFIX, only=job_cgroup_gone)


def job_cgroup_gone(name: str) -> bool:
    """A job cgroup (``<job folder>-work-<pid>``) whose job folder no longer exists."""
    from ..course_lock import RUN_PREFIX

    folder = name.rsplit("-work-", 1)[0]
    return not any(Path(tempfile.gettempdir()).glob(f"{RUN_PREFIX}*/{folder}"))


def grade(request: tuple, base: Path, mode: str, why: str, cgroup: str | None) -> dict:
    from .. import sandbox

    template, submission, student, assignment, limits, requested, notebooks = request
    use = "reduced" if requested == "reduced" else mode
    try:
        result = sandbox.grade_files(
            template,
            submission,
            student,
            assignment,
            limits,
            use,
            tuple(notebooks),
            parent=str(base),
            cgroup=cgroup if use == "full" else None,
        )
    except Exception:
        result = {"exit_code": None, "error": traceback.format_exc(), "files": {}}
    result["sandbox_mode"] = use
    result["sandbox_why"] = "requested" if requested == "reduced" else why
    result["memory_cgroup"] = bool(cgroup) and use == "full"
    return result


def main(argv: list[str]) -> int:
    from .. import cgroup as cgroups
    from .. import course_lock, linux, sandbox

    linux.die_with_parent(int(argv[0]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The pipes move off 0 and 1 (close-on-exec), so that no kernel inherits them and a
    # stray print cannot break the protocol.
    requests, answers = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    os.close(null)
    course_lock.remove_stale_run_folders()
    base, owner = course_lock.make_run_folder()
    try:
        mode, why = linux.probe()
        cgroup = cgroups.memory_cgroup_parent() if mode == "full" else None
        if cgroup:  # those of jobs whose helper was killed
            cgroups.remove_unused(cgroup, JOB_PREFIX, only=job_cgroup_gone)
        sandbox.preload()
        while (request := read_message(requests)) is not None:
            write_message(answers, grade(request, base, mode, why, cgroup))
    finally:
        course_lock.remove_run_folder(base, owner)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
