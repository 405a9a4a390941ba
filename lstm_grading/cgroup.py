"""Memory cgroups of the grading sandbox: one per job, bounding all its processes together.

Used when this process may create child cgroups with a memory limit (cgroup v1 here: a
writable ``memory`` hierarchy; cgroup v2: ``memory`` enabled in ``cgroup.subtree_control``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from pathlib import Path


def memory_cgroup_parent() -> str | None:
    """A cgroup folder where this process may create children with a memory limit, or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):  # cgroup v1
            folder = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            if (folder / "memory.limit_in_bytes").exists() and os.access(folder, os.W_OK):
                return str(folder)
    for line in lines:
        if line.startswith("0::"):  # cgroup v2: needs memory enabled for the children
            folder = Path("/sys/fs/cgroup") / line[3:].lstrip("/")
            control = folder / "cgroup.subtree_control"
            with contextlib.suppress(OSError):
                if "memory" in control.read_text().split() and os.access(folder, os.W_OK):
                    return str(folder)
    return None


class MemoryCgroup:
    """One job's memory cgroup: created with a limit, joined by the job, removed after it."""

    def __init__(self, parent: str, name: str, limit: int):
        self.path = Path(parent) / name
        self.v1 = (Path(parent) / "memory.limit_in_bytes").exists()
        self.path.mkdir(exist_ok=True)
        if self.v1:
            (self.path / "memory.limit_in_bytes").write_text(str(limit))
            with contextlib.suppress(OSError):
                (self.path / "memory.memsw.limit_in_bytes").write_text(str(limit))
        else:
            (self.path / "memory.max").write_text(str(limit))
            with contextlib.suppress(OSError):
                (self.path / "memory.swap.max").write_text("0")

    def join(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def oom_kills(self) -> int:
        name = "memory.oom_control" if self.v1 else "memory.events"
        with contextlib.suppress(OSError, ValueError):
            for line in (self.path / name).read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        if self.v1:  # older kernels: no oom_kill counter, only hits of the limit
            with contextlib.suppress(OSError, ValueError):
                return int((self.path / "memory.failcnt").read_text()) and 1
        return 0

    def remove(self) -> None:
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                with contextlib.suppress(OSError):
                    (self.path / "memory.force_empty").write_text("0")
                time.sleep(0.02)


def remove_unused(parent: str, prefix: str, only=lambda name: True, wait: float = 0.0) -> list[str]:
    """Remove the child cgroups of ``parent`` named ``prefix*`` that hold no process.

    Jobs remove their own cgroup; this clears those of jobs whose worker was killed.
    ``only(name)`` may restrict it further. ``wait``: seconds to wait, at most, for processes
    still in them to leave (the jobs of workers just killed, which die with them), listed in
    ``cgroup.procs`` or, exiting, no longer listed but still there (the removal is refused as
    busy).
    """
    removed = []
    deadline = time.monotonic() + wait
    left = [p for p in sorted(Path(parent).glob(prefix + "*")) if only(p.name)]
    while True:
        busy = []
        for path in left:
            try:
                if (path / "cgroup.procs").read_text().strip():
                    busy.append(path)
                    continue
                path.rmdir()
                removed.append(str(path))
            except OSError as exc:
                if exc.errno == errno.EBUSY:  # a process exiting, no longer listed, not gone
                    busy.append(path)
                continue
        if not busy or time.monotonic() >= deadline:
            return removed
        left = busy
        time.sleep(0.05)
