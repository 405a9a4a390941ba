"""Copy files out of a folder that someone else controls: regular files only, never a link.

Every step is relative to a directory file descriptor held open (``openat``): a folder is opened
with ``O_NOFOLLOW | O_DIRECTORY``, a file with ``O_NOFOLLOW | O_NONBLOCK`` and kept only if
``fstat`` says it is a regular file, so a symbolic link, a FIFO, a device or a socket planted in
the source is refused, and renaming folders during the copy cannot redirect it. Destination
files are created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` in a folder the copier made itself.
A byte budget bounds what comes back; what does not fit is counted, not copied.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

MIB = 1 << 20  # bytes: every size limit of the grader is in MiB


def size(n: int) -> str:
    """``n`` bytes for a message: in MiB from 1 MiB on, else in bytes."""
    return f"{n / MIB:.3g} MiB" if n >= MIB else f"{n} bytes"


MAX_DEPTH = 8
MAX_ENTRIES = 2000  # per folder
MAX_TOTAL_ENTRIES = 20_000  # in one copy: what is listed after that is left out
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class CopyReport:
    """What a copy did: bytes and files copied, left out over the budget, refused."""

    budget: int
    copied_bytes: int = 0
    copied_files: int = 0
    left_out_bytes: int = 0
    left_out: list[str] = field(default_factory=list)  # relative paths over the budget
    refused: list[str] = field(default_factory=list)  # links, special files, unreadable
    entries: int = 0  # names gone through, of MAX_TOTAL_ENTRIES
    stopped_at: str = ""  # the first name left out once MAX_TOTAL_ENTRIES were gone through

    def notes(self) -> list[str]:
        out = []
        if self.left_out:
            out.append(
                f"{len(self.left_out)} file(s), {size(self.left_out_bytes)}, not kept: over the "
                f"limit of {size(self.budget)} per submission (first: {self.left_out[0]})"
            )
        if self.stopped_at:
            out.append(
                f"more than {MAX_TOTAL_ENTRIES} files and folders: the rest not kept (from: "
                f"{self.stopped_at})"
            )
        if self.refused:
            out.append(
                f"{len(self.refused)} link(s) or special file(s) not kept "
                f"(first: {self.refused[0]})"
            )
        return out


def shown(text, most: int | None = None) -> str:
    """``text`` (a path, a file name, a value from a student's JSON) for a one-line message: as
    it is, or escaped (``\\n``, ``\\udcff``) if it holds a control character or bytes that
    are not UTF-8; at most ``most`` characters if given."""
    text = str(text)
    text = text if text.isprintable() else repr(text)[1:-1]
    return text if most is None or len(text) <= most else text[: most - 3] + "..."


def names_taken(dir_fd: int) -> list[str]:
    """The names of the folder ``dir_fd`` that a copy takes: the first :data:`MAX_ENTRIES`,
    sorted. (The hash of a submission and the checks of its files look at these too.)"""
    return sorted(os.listdir(dir_fd))[:MAX_ENTRIES]


def open_dir(path: str, dir_fd: int | None = None) -> int:
    """A directory fd for ``path``, refusing a symbolic link as the last component."""
    return os.open(path, _DIR, dir_fd=dir_fd)


def copy_tree(
    src_fd: int,
    dst_fd: int,
    report: CopyReport,
    *,
    first: tuple[str, ...] = (),
    skip_suffix: str | None = None,
    _prefix="",
) -> CopyReport:
    """Copy the folders and regular files under ``src_fd`` into ``dst_fd`` within the budget.

    Names listed in ``first`` (top level only) are copied before the others, so that the
    notebooks come back before anything a student wrote; top-level names ending in
    ``skip_suffix`` are left out. Existing destination entries are kept
    (``O_EXCL``): copying a second source into the same destination only adds new files.
    """
    try:
        names = names_taken(src_fd)
    except OSError:
        return report
    names.sort(key=lambda n: (n not in first, n))
    for name in names:
        report.entries += 1
        if report.entries > MAX_TOTAL_ENTRIES:
            report.stopped_at = report.stopped_at or _prefix + name
            return report
        if skip_suffix and name.endswith(skip_suffix):
            continue
        rel = _prefix + name
        try:
            st = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
        except OSError:
            report.refused.append(rel)
            continue
        if stat.S_ISDIR(st.st_mode):
            if len(rel.split("/")) > MAX_DEPTH:
                report.refused.append(rel + "/")
                continue
            _copy_dir(name, src_fd, dst_fd, report, rel)
        elif stat.S_ISREG(st.st_mode):
            copy_file(name, src_fd, dst_fd, report, rel)
        else:
            report.refused.append(rel)
    return report


def _copy_dir(name: str, src_fd: int, dst_fd: int, report: CopyReport, rel: str) -> None:
    try:
        sub_src = open_dir(name, src_fd)
    except OSError:
        report.refused.append(rel + "/")
        return
    try:
        try:
            os.mkdir(name, 0o700, dir_fd=dst_fd)
        except FileExistsError:
            pass
        sub_dst = open_dir(name, dst_fd)
        try:
            copy_tree(sub_src, sub_dst, report, _prefix=rel + "/")
        finally:
            os.close(sub_dst)
    finally:
        os.close(sub_src)


def copy_file(
    name: str, src_fd: int, dst_fd: int, report: CopyReport, rel: str | None = None, limit=None
) -> bool:
    """Copy one regular file ``name`` (no link, no special file); True if it was copied."""
    rel = rel or name
    try:
        fd = os.open(name, _FILE, dir_fd=src_fd)
    except OSError:
        report.refused.append(rel)
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            report.refused.append(rel)
            return False
        size = st.st_size if limit is None else min(st.st_size, limit)
        if report.copied_bytes + size > report.budget:
            report.left_out.append(rel)
            report.left_out_bytes += st.st_size
            return False
        try:
            out = os.open(name, _NEW, 0o600, dir_fd=dst_fd)
        except FileExistsError:
            return False
        try:
            left = size
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                os.write(out, chunk)
                left -= len(chunk)
                report.copied_bytes += len(chunk)
        finally:
            os.close(out)
        report.copied_files += 1
        return True
    finally:
        os.close(fd)


def open_file(name: str, dir_fd: int) -> int:
    """A read-only fd for ``name`` under ``dir_fd``: never through a link as the last component,
    never blocking on a FIFO. The caller checks with ``fstat`` that it is a regular file."""
    return os.open(name, _FILE, dir_fd=dir_fd)


def read_file(name: str, dir_fd: int, limit: int) -> bytes | None:
    """At most ``limit`` bytes of the regular file ``name`` under ``dir_fd``, or None."""
    try:
        fd = os.open(name, _FILE, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit)
    finally:
        os.close(fd)


def copy_path_tree(src: str, dst: str, budget: int, first: tuple[str, ...] = ()) -> CopyReport:
    """:func:`copy_tree` between two paths; ``dst`` is created (mode 700) if missing."""
    report = CopyReport(budget)
    os.makedirs(dst, mode=0o700, exist_ok=True)
    try:
        src_fd = open_dir(src)
    except OSError:
        report.refused.append(os.path.basename(src) + "/")
        return report
    try:
        dst_fd = open_dir(dst)
        try:
            return copy_tree(src_fd, dst_fd, report, first=first)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
