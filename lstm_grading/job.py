"""What one grading job is: the submission, its limits, the sandbox mode (picklable data)."""

from __future__ import annotations

import os
import pwd
import sys
from dataclasses import dataclass, field, fields

from .inputs import DAY, MIB_PER_TIB, PID_MAX_LIMIT, Rule, env_uid_base
from .safe_copy import MIB


def user_name() -> str:
    """The name of this process's user (its uid if the system has no name for it)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def reduced_gaps(who: str) -> str:
    """What a reduced sandbox does not contain, for a submission whose code ran as ``who``.

    The kernel keeps the uid of the process that grades: ``lstm-autograde``'s on this machine,
    a Dask worker's on a cluster, whoever that is. The row said "ran as the instructor" in both
    cases, which on a worker run by another user (a Slurm job, a pod, a service account) named
    the wrong user's files as within its reach.
    """
    return (
        f"reduced sandbox: the student's code ran as {who} and could read and write that "
        "user's files, use the network, leave processes, files and shared memory behind"
    )


def local_reduced_gaps() -> str:
    """:func:`reduced_gaps` of a job of this machine's pool: it runs as this process's user."""
    return reduced_gaps(f"{user_name()}, the user running lstm-autograde")


def cluster_reduced_gaps(local: bool = False) -> str:
    """:func:`reduced_gaps` of a job on a Dask worker. ``local``: a worker of ``--cluster
    local:N``, started by this process, so run by its user (named); any other worker's user is
    the worker's own, which the coordinator cannot know (the worker's word for it is the
    student's code's, in reduced mode).

    In reduced mode the student's code also runs as the worker's own user: it can take over
    the worker's process (its files in /proc, the pipes to its helper) and answer for it. Dask
    unpickles what a worker sends, so that reaches the instructor's lstm-autograde too.
    """
    who = "the Dask worker's user"
    if local:
        who += f" ({user_name()}, the user running lstm-autograde: --cluster local:N)"
    return reduced_gaps(who) + (
        ", take over the Dask worker, and through it (Dask unpickles what a worker sends) run "
        "code in the instructor's lstm-autograde"
    )


# The most any reader takes of each file a job leaves in its results folder beside the
# autograded folder (which Limits.return_mb bounds). In reduced mode the student's code can
# reach that folder, so each may be anything: a FIFO, a link, a file of any size.
RESULT_BYTES = MIB  # result.json: an exit status, a few notes, at most one traceback: a few KiB
ERROR_BYTES = 64 << 10  # waiter-error.txt: one traceback, whose last line is the reason
# nbgrader.log is a few KiB (its progress lines, a traceback or two); its last MiB holds the
# traceback that report.failure_reason looks for.
LOG_BYTES = MIB
KERNEL_LOG_BYTES = 64 << 10  # kernel.log: the kernel launcher's own few lines
LAST_CELL_BYTES = 1024  # last-cell.txt: the first line of the cell that was running
# A private gradebook (one assignment, one student) is about 150 KiB: 64 MiB leaves room for an
# assignment with long cells and still bounds what one job makes the coordinator read.
GRADEBOOK_BYTES = 64 * MIB
# What comes back of each of them (sandbox.grade_files): the gradebook with one byte more, so
# that its reader can tell one over the limit (refused) from one at it.
RESULT_FILES = {
    "result.json": RESULT_BYTES,
    "waiter-error.txt": ERROR_BYTES,
    "nbgrader.log": LOG_BYTES,
    "kernel.log": KERNEL_LOG_BYTES,
    "last-cell.txt": LAST_CELL_BYTES,
    "gradebook.db": GRADEBOOK_BYTES + 1,
}


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission (times in seconds, sizes in MiB unless noted)."""

    cell_timeout: int = 60  # lstm_grading.kernel_guard; nbgrader's timeout is a bit longer
    notebook_timeout: int = 600  # the whole job, kernel start-up included
    memory_mb: int = 2048  # RLIMIT_AS of the kernel; the job's cgroup gets 1 GiB more
    output_bytes: int = 2_000_000  # per cell, lstm_grading.output_guard
    file_mb: int = 64  # RLIMIT_FSIZE
    nproc: int = 64  # RLIMIT_NPROC of the slot's uid (processes and threads)
    disk_mb: int = 512  # the sandbox's /tmp (private course, home)
    return_mb: float = 5.0  # MiB that come back per submission (autograded folder)

    def __post_init__(self):
        for f in fields(self):
            value = LIMIT_RULES[f.name].check(f"Limits.{f.name}", getattr(self, f.name))
            if type(value) not in (int, float):  # e.g. numpy's: stored as Python numbers
                object.__setattr__(self, f.name, int(value) if f.type == "int" else float(value))


# What each limit may be. A time or size past these is a typing slip, not a limit: the kernel
# would get an rlimit it cannot hold or the run would wait for days. The times are whole
# seconds: nbgrader_config.py reads the cell limit back with int().
LIMIT_RULES = {
    "cell_timeout": Rule(1, DAY, f"a whole number of seconds from 1 to {DAY} (a day)"),
    "notebook_timeout": Rule(1, DAY, f"a whole number of seconds from 1 to {DAY} (a day)"),
    "memory_mb": Rule(1, MIB_PER_TIB, f"a whole number of MiB from 1 to {MIB_PER_TIB} (1 TiB)"),
    "output_bytes": Rule(1, 1 << 30, f"a whole number of bytes from 1 to {1 << 30} (1 GiB)"),
    "file_mb": Rule(1, MIB_PER_TIB, f"a whole number of MiB from 1 to {MIB_PER_TIB} (1 TiB)"),
    "nproc": Rule(1, PID_MAX_LIMIT, f"a whole number of processes from 1 to {PID_MAX_LIMIT}"),
    "disk_mb": Rule(1, MIB_PER_TIB, f"a whole number of MiB from 1 to {MIB_PER_TIB} (1 TiB)"),
    "return_mb": Rule(
        0, MIB_PER_TIB, f"a number of MiB above 0, at most {MIB_PER_TIB} (1 TiB)", integer=False
    ),
}


@dataclass
class Job:
    """Everything a worker needs to grade one submission (picklable)."""

    student: str
    assignment: str
    work: str  # host folder: submission/ (input), out/ (results), root/ (mount point)
    template: str  # host folder: the private course's starting point (shared by all jobs)
    limits: Limits
    mode: str  # "full" or "reduced"
    notebooks: tuple[str, ...] = ()  # the assignment's notebook file names
    binds: list[str] = field(default_factory=list)  # jail.allowlist(), full mode
    cgroup: str | None = None  # parent memory cgroup folder, full mode
    slot: int = 0  # set by the worker: its pid, so that the uid is unique among running jobs
    python: str = sys.executable
    # The run's grading code (course_prep.files_hash of what its key names): a worker whose
    # code differs grades nothing (parallel._grade_task). None: not checked.
    code: str | None = None

    @property
    def uid(self) -> int:
        """``$LSTM_GRADING_UID_BASE`` (checked: ``ValueError`` naming it) + the slot."""
        return env_uid_base() + self.slot
