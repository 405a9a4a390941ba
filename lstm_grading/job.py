"""What one grading job is: the submission, its limits, the sandbox mode (picklable data)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields

from .inputs import DAY, MIB_PER_TIB, PID_MAX_LIMIT, Rule, env_uid_base

REDUCED_GAPS = (
    "reduced sandbox: the student's code ran as the instructor and could read and write the "
    "instructor's files, use the network, leave processes, files and shared memory behind"
)


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

    @property
    def uid(self) -> int:
        """``$LSTM_GRADING_UID_BASE`` (checked: ``ValueError`` naming it) + the slot."""
        return env_uid_base() + self.slot
