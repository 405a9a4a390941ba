"""One grading run per course at a time, and no run folder outliving its run.

The course lock is an ``fcntl`` lock on ``reports/.lstm-autograde.lock`` in the course: the
kernel releases it when the holder exits, however it exits (even SIGKILL), so a stale lock
cannot exist. The file records who holds it (pid, start time, assignment) for the message a
second run prints. Each run's temporary folder (``/tmp/lstm-autograde-*``) holds a lock of
its own the same way; the next run removes every such folder whose lock is free.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
import time
from pathlib import Path

from . import safe_copy

RUN_PREFIX = "lstm-autograde-"
OWNER = "owner.lock"


class CourseBusy(Exception):
    """Another run holds the course lock."""


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode("utf-8", "replace").strip()
    return text or "a run that has not written its details yet"


def lock_course(course: Path, assignment: str, wait: bool = False, say=None) -> int:
    """Take the course's lock; return its fd (kept open for the run). :class:`CourseBusy` if
    another run holds it and ``wait`` is false; else wait for it (``say`` gets a message)."""
    folder = course / "reports"
    folder.mkdir(exist_ok=True)
    fd = os.open(folder / ".lstm-autograde.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        if not wait:
            os.close(fd)
            raise CourseBusy(
                f"another lstm-autograde run is grading {course}: {holder}. "
                "Wait for it to finish, or pass --wait to start when it is done."
            ) from None
        if say:
            say(f"waiting for the run grading {course} to finish ({holder})")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except KeyboardInterrupt as stop:  # what the stopped run's line says it was doing
            os.close(fd)
            stop.stopped_while = f"waiting for the run grading {course} to finish ({holder})"
            raise
    os.ftruncate(fd, 0)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    os.pwrite(fd, f"pid {os.getpid()}, started {started}, assignment {assignment}\n".encode(), 0)
    return fd


@contextlib.contextmanager
def locked(course: Path, assignment: str, wait: bool = False, say=None):
    """:func:`lock_course` for the ``with`` block; the lock is released when it ends."""
    fd = lock_course(course, assignment, wait=wait, say=say)
    try:
        yield
    finally:
        os.close(fd)


def make_run_folder() -> tuple[Path, int]:
    """A fresh ``/tmp/lstm-autograde-*`` folder (mode 700) and the fd of its owner lock.

    The lock file is locked before it has a name (``O_TMPFILE``, then linked in): another
    run's cleanup, which removes the folders whose lock is free, never sees this one's free.
    Until then the folder is empty and has no lock, which that cleanup removes too (a run
    killed at this point leaves such a folder); then this starts again with a new folder.
    """
    while True:
        base = Path(tempfile.mkdtemp(prefix=RUN_PREFIX))
        try:
            folder = safe_copy.open_dir(str(base))
        except FileNotFoundError:
            continue  # removed meanwhile as an empty folder without a lock
        try:
            fd = os.open(".", os.O_TMPFILE | os.O_RDWR, 0o600, dir_fd=folder)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # linkat(AT_SYMLINK_FOLLOW) of /proc's link to the fd: the way open(2) gives
                # to name an O_TMPFILE file (a dir_fd makes os.link call linkat).
                os.link(f"/proc/self/fd/{fd}", OWNER, dst_dir_fd=folder, follow_symlinks=True)
            except BaseException:
                os.close(fd)
                raise
        except OSError:
            if os.fstat(folder).st_nlink:
                raise
            continue  # removed meanwhile (ENOENT or EPERM, as the kernel sees it)
        finally:
            os.close(folder)
        return base, fd


def remove_run_folder(base: Path, owner: int) -> None:
    """Remove the run folder ``base`` whose owner lock ``owner`` the caller holds, and close it.

    The lock file goes last, once nothing else is left: a removal cut short (the process
    killed) leaves a folder with a free lock, which the next run removes, never a folder
    without a lock, which no cleanup could tell from one being made.
    """
    try:
        names = os.listdir(base)
    except OSError:
        names = []
    for name in names:
        if name != OWNER:
            safe_copy.remove_tree(base / name)
    with contextlib.suppress(OSError):
        if os.listdir(base) == [OWNER]:  # else the next run tries again
            os.unlink(base / OWNER)
            os.rmdir(base)
    os.close(owner)


def remove_stale_run_folders(tmp: Path | None = None) -> list[Path]:
    """Remove the run folders of runs that died (their owner lock is free); return them.

    Only root-owned (our uid's) real folders are touched, and a folder without an owner lock
    (being created this instant by another run) is left alone.
    """
    removed = []
    tmp = Path(tmp or tempfile.gettempdir())
    for entry in tmp.glob(RUN_PREFIX + "*"):
        try:
            st = os.lstat(entry)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            continue
        try:
            # Without waiting: in reduced mode a student's code can make a folder of this name
            # in /tmp, with a FIFO as its lock, which a plain open would wait on forever.
            fd = os.open(entry / OWNER, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            # Empty: a run killed as it made it, or as it removed the last of it; or a run
            # making it this instant, which then makes another (make_run_folder).
            with contextlib.suppress(OSError):
                os.rmdir(entry)
                removed.append(entry)
            continue
        except OSError:
            continue
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            continue  # not a run's lock: not ours to remove
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # a live run
        # A job's folder may hold whatever a reduced-mode student's code left there: links
        # (never followed) and chains of folders deeper than shutil.rmtree's recursion goes.
        remove_run_folder(entry, fd)
        removed.append(entry)
    return removed
