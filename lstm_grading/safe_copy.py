"""Copy files out of a folder that someone else controls: regular files only, never a link.

Every step is relative to a directory file descriptor held open (``openat``): a folder is opened
with ``O_NOFOLLOW | O_DIRECTORY``, a file with ``O_NOFOLLOW | O_NONBLOCK`` and kept only if
``fstat`` says it is a regular file, so a symbolic link, a FIFO, a device or a socket planted in
the source is refused, and renaming folders during the copy cannot redirect it. Destination
files are created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` in a folder the copier made itself.
A byte budget bounds what comes back; what does not fit is counted, not copied. A copy of a
submitted folder (``submitted=True``: :attr:`CopyReport.owner`) also refuses a hard link to a
file of another owner than the folder's: another student's notebook, a file of the instructor's.

The same rules read one file (:func:`read_capped`: at most a given number of bytes, the first
or the last ones) and parse it (:func:`json_value`), for the coordinator's reads of what a
student made: a submitted folder, and in reduced mode a job's results folder too;
:func:`read_tree` reads a whole such folder into memory within a budget, and
:func:`remove_tree` removes one however deep it is. :func:`create_file` makes a new file where
someone else may have put something first.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from dataclasses import dataclass, field

MIB = 1 << 20  # bytes: every size limit of the grader is in MiB
GIB = 1 << 30


def size(n: int) -> str:
    """``n`` bytes for a message: in GiB from 1 GiB on, in MiB from 1 MiB on, else in bytes."""
    if n >= GIB:
        return f"{n / GIB:.3g} GiB"
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
    crowded: list[str] = field(default_factory=list)  # folders of more than MAX_ENTRIES names
    unopened: str = ""  # why the folder to copy could not be opened at all (not a link)
    # A submitted folder's copy: the uid of the folder's owner. A regular file of more than one
    # name (a hard link) that another uid owns is refused, and listed in hard_links: where
    # students write their own submitted folders, such a link makes someone else's file, which
    # the student may not be able to read (wherever fs.protected_hardlinks is 0: any file of
    # the file system), look like theirs: graded as their work, and shown back to them in the
    # feedback. Not every hard link: the other name of the student's own file (their notebook,
    # linked from a folder of another student's) must not cost its owner the grade.
    owner: int | None = None
    hard_links: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        out = [f"the folder could not be opened ({self.unopened})"] if self.unopened else []
        if self.left_out:
            out.append(
                f"{len(self.left_out)} file(s), {size(self.left_out_bytes)}, not kept: over the "
                f"limit of {size(self.budget)} per submission "
                f"(first: {shown(self.left_out[0], 200)})"
            )
        if self.stopped_at:
            out.append(
                f"more than {MAX_TOTAL_ENTRIES} files and folders: the rest not kept (from: "
                f"{shown(self.stopped_at, 200)})"
            )
        if self.crowded:
            out.append(
                f"{len(self.crowded)} folder(s) of more than {MAX_ENTRIES} names: the rest of "
                f"their names not kept (first: {shown(self.crowded[0], 200)})"
            )
        if self.refused:
            out.append(
                f"{len(self.refused)} link(s) or special file(s) not kept "
                f"(first: {shown(self.refused[0], 200)})"
            )
        if self.hard_links:
            out.append(
                f"{len(self.hard_links)} {HARD_LINKS} not kept "
                f"(first: {shown(self.hard_links[0], 200)})"
            )
        return out


HARD_LINKS = "hard link(s) to files of another owner than the folder's"


def foreign(links: int, uid: int, owner: int | None) -> bool:
    """True if a regular file of ``links`` names, owned by ``uid``, is a hard link that the
    copy of a submitted folder owned by ``owner`` refuses (:attr:`CopyReport.owner`)."""
    return owner is not None and links > 1 and uid != owner


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
    return _take(os.listdir(dir_fd), ())


def _take(names: list[str], first: tuple[str, ...]) -> list[str]:
    """The names a copy takes of a folder holding ``names``, sorted: at most
    :data:`MAX_ENTRIES`, those of ``first`` among them whatever their place, then the first
    others in sorted order."""
    names = sorted(names)
    if len(names) <= MAX_ENTRIES:
        return names
    wanted = set(first)
    kept = [n for n in names if n in wanted][:MAX_ENTRIES]
    kept += [n for n in names if n not in wanted][: MAX_ENTRIES - len(kept)]
    return sorted(kept)


def _listing(dir_fd: int, first: tuple[str, ...], report: CopyReport, rel: str) -> list[str]:
    """:func:`names_taken` for a copy, noting in ``report`` a folder whose names were cut."""
    names = os.listdir(dir_fd)
    taken = _take(names, first)
    if len(taken) < len(names):
        report.crowded.append(rel or "./")
    return taken


def open_dir(path: str, dir_fd: int | None = None) -> int:
    """A directory fd for ``path``, refusing a symbolic link as the last component."""
    return os.open(path, _DIR, dir_fd=dir_fd)


def open_below(top: str, path: str) -> int:
    """A directory fd for ``path``, a folder below the folder ``top``, each folder from ``top``
    down opened in its parent, refusing a symbolic link at every step (``OSError``: ``ELOOP``
    or ``ENOTDIR``), not only as the last component as :func:`open_dir` does.

    For a submitted folder, ``submitted/<student>/<assignment>`` below the course: where
    students write there, one can swap its own student folder for a link to another student's
    at any time (the run looks at the folders first, and copies them as workers free up).
    """
    parts = os.path.relpath(path, top).split(os.sep)
    if parts[0] == os.pardir:
        raise ValueError(f"path: {path!r} is not below {top!r}")
    fd = open_dir(top)
    try:
        for part in parts if parts != ["."] else []:
            child = open_dir(part, fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


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
        names = _listing(src_fd, first, report, _prefix)
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
        if foreign(st.st_nlink, st.st_uid, report.owner):
            report.hard_links.append(rel)
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


def create_file(name: str, dir_fd: int) -> int:
    """A new file ``name`` under ``dir_fd``, open for writing (mode 600).

    Never an existing one: whatever is already there (a FIFO, which an open for writing would
    wait on for good, a link, a file) makes it raise ``FileExistsError``.
    """
    return os.open(name, _NEW, 0o600, dir_fd=dir_fd)


def open_file(name: str, dir_fd: int) -> int:
    """A read-only fd for ``name`` under ``dir_fd``: never through a link as the last component,
    never blocking on a FIFO. The caller checks with ``fstat`` that it is a regular file."""
    return os.open(name, _FILE, dir_fd=dir_fd)


def kind_of(mode: int) -> str:
    """What a file of ``mode`` (an ``st_mode``) is, for a message: "a regular file", "a folder",
    "a symbolic link", "a FIFO", "a socket" or "a device"."""
    kinds = [
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((what for test, what in kinds if test(mode)), "a device")


MISSING = "is missing"


def not_opened(exc: OSError, name: str, dir_fd: int | None = None, want="a regular file") -> str:
    """Why ``name`` could not be opened (``exc``), to follow its name in a message: "is missing",
    "is a symbolic link, not a regular file", "cannot be opened (Permission denied)"."""
    if isinstance(exc, FileNotFoundError):
        return MISSING
    try:
        kind = kind_of(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        kind = want
    if kind != want:
        return f"is {kind}, not {want}"
    return f"cannot be opened ({exc.strerror})"


@dataclass
class Read:
    """What :func:`read_capped` got of one file."""

    data: bytes = b""  # at most the limit asked for: the file's first bytes, or its last ones
    size: int = 0  # the file's size when it was opened
    problem: str = ""  # why nothing was read, to follow the file's name: "is a FIFO, not ..."
    links: int = 1  # the file's number of names (hard links) when it was opened
    uid: int = -1  # its owner then

    @property
    def missing(self) -> bool:
        """True if there was no file of that name."""
        return self.problem == MISSING

    @property
    def cut(self) -> bool:
        """True if the file held more than was read."""
        return self.size > len(self.data)


def read_capped(name: str, dir_fd: int, limit: int, *, last: bool = False) -> Read:
    """At most ``limit`` bytes of the regular file ``name`` in the folder ``dir_fd``: its first
    bytes, or with ``last`` its last ones.

    Opened by :func:`open_file` (never through a link, never waiting on a FIFO) and read only
    if ``fstat`` says it is a regular file, so a link to ``/dev/zero``, a FIFO or a sparse file
    of many GiB costs no more than ``limit`` bytes and no wait. Never raises ``OSError``: what
    kept the file from being read is the result's ``problem``.
    """
    try:
        fd = open_file(name, dir_fd)
    except OSError as exc:
        return Read(problem=not_opened(exc, name, dir_fd))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return Read(problem=f"is {kind_of(st.st_mode)}, not a regular file")
        offset = max(0, st.st_size - limit) if last else 0
        chunks, left = [], limit
        while left > 0:
            chunk = os.pread(fd, min(left, MIB), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
            left -= len(chunk)
        return Read(b"".join(chunks), st.st_size, links=st.st_nlink, uid=st.st_uid)
    except OSError as exc:
        return Read(problem=f"cannot be read ({exc.strerror})")
    finally:
        os.close(fd)


def read_file(name: str, dir_fd: int, limit: int) -> bytes | None:
    """At most ``limit`` bytes of the regular file ``name`` under ``dir_fd``, or None."""
    got = read_capped(name, dir_fd, limit)
    return None if got.problem else got.data


def read_tree(
    dir_fd: int, budget: int, *, first: tuple[str, ...] = (), submitted: bool = False
) -> tuple[dict[str, bytes], list[str]]:
    """The regular files under the folder ``dir_fd`` (relative path -> bytes) within ``budget``
    bytes in all, and notes on what was left out (:meth:`CopyReport.notes`).

    What :func:`copy_tree` would copy, read into memory instead, by the same rules: no link
    followed, no FIFO waited on, folders down to :data:`MAX_DEPTH` levels, at most
    :data:`MAX_ENTRIES` names per folder and :data:`MAX_TOTAL_ENTRIES` in all, a file that
    does not fit in what is left of the budget left out whole. Without recursion, one open
    folder per level. Relative paths listed in ``first`` are read before their folder's other
    names. With ``submitted`` (a submitted folder), a hard link to a file of another owner
    than the folder's is not read (:attr:`CopyReport.owner`). Raises nothing but
    ``MemoryError``: what cannot be read is a note.
    """
    report, files = CopyReport(budget), {}
    if submitted:
        report.owner = os.fstat(dir_fd).st_uid
    # One entry per open folder, from dir_fd down: (its fd, its path with a "/", its names still
    # to read, the next one last).
    stack: list[tuple[int, str, list[str]]] = []

    def enter(fd: int, prefix: str) -> None:
        stack.append((fd, prefix, []))
        here = tuple(f[len(prefix) :] for f in first if f.startswith(prefix))
        try:
            names = _listing(fd, here, report, prefix)
        except OSError:
            report.refused.append(prefix or "./")
            return
        stack[-1][2].extend(sorted(names, key=lambda n: (n not in here, n))[::-1])

    try:
        enter(dir_fd, "")
        while stack:
            fd, prefix, names = stack[-1]
            if not names:
                stack.pop()
                if fd != dir_fd:
                    os.close(fd)
                continue
            name = names.pop()
            report.entries += 1
            if report.entries > MAX_TOTAL_ENTRIES:
                report.stopped_at = prefix + name
                break
            sub = _read_entry(fd, name, prefix + name, report, files)
            if sub is not None:
                enter(sub, prefix + name + "/")
        return files, report.notes()
    finally:
        for fd, _, _ in stack:
            if fd != dir_fd:
                os.close(fd)


def _read_entry(dir_fd: int, name: str, rel: str, report: CopyReport, files: dict) -> int | None:
    """:func:`read_tree`'s step for one name: a regular file is read into ``files`` if it
    fits; a folder within :data:`MAX_DEPTH` is opened, and its fd returned; the rest refused."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        report.refused.append(rel)
        return None
    if stat.S_ISDIR(st.st_mode):
        if len(rel.split("/")) > MAX_DEPTH:
            report.refused.append(rel + "/")
            return None
        try:
            return open_dir(name, dir_fd)
        except OSError:
            report.refused.append(rel + "/")
            return None
    left = report.budget - report.copied_bytes
    if not stat.S_ISREG(st.st_mode):
        report.refused.append(rel)
    elif foreign(st.st_nlink, st.st_uid, report.owner):
        report.hard_links.append(rel)
    elif st.st_size > left:
        report.left_out.append(rel)
        report.left_out_bytes += st.st_size
    else:
        got = read_capped(name, dir_fd, left + 1)  # one byte more: it may have grown since
        if got.problem:
            report.refused.append(rel)
        elif foreign(got.links, got.uid, report.owner):  # linked since the stat above
            report.hard_links.append(rel)
        elif len(got.data) > left:
            report.left_out.append(rel)
            report.left_out_bytes += max(got.size, len(got.data))
        else:
            files[rel] = got.data
            report.copied_bytes += len(got.data)
            report.copied_files += 1
    return None


def json_value(data: bytes):
    """The JSON value of ``data``. Raises ``UnicodeDecodeError`` (not UTF-8) or ``ValueError``
    (not JSON, or nested deeper than the parser's recursion limit). The caller checks the type
    of every part it uses: a student may have written any JSON at all."""
    text = data.decode("utf-8")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _clear(fd: int) -> list[str]:
    """Remove every entry of the folder ``fd`` that is no folder; return the folders' names."""
    folders = []
    try:
        with os.scandir(fd) as entries:
            listed = list(entries)
    except OSError:
        return []
    for entry in listed:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if is_dir:
            folders.append(entry.name)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.name, dir_fd=fd)
    return folders


def remove_tree(path) -> None:
    """Remove the folder ``path`` and everything in it, however deep, as far as it can.

    ``shutil.rmtree`` calls itself once per level, and raises ``RecursionError`` on a chain of
    a thousand folders, which a student's code can leave in a job's folder in reduced mode.
    Here there is no recursion and one folder is open at a time (so no limit on open files
    either); no link is followed, and the way back up is checked (``..`` must be the folder
    it came down from), so folders moved meanwhile end the removal rather than redirect it.
    Raises nothing: what cannot be removed stays.
    """
    head, name = os.path.split(os.path.abspath(os.fspath(path)))
    try:
        fd = open_dir(head)
    except OSError:
        return
    try:
        # One entry per folder from ``head`` down to the one open: (its identity, the names of
        # its folders still to remove, its name in the folder above).
        stack = [(_identity(fd), [name], "")]
        while True:
            _, todo, _ = stack[-1]
            if todo:
                sub = todo.pop()
                try:
                    child = open_dir(sub, fd)
                except OSError:
                    with contextlib.suppress(OSError):  # a link or a file since it was listed
                        os.unlink(sub, dir_fd=fd)
                    continue
                os.close(fd)
                fd = child
                stack.append((_identity(fd), _clear(fd), sub))
                continue
            if len(stack) == 1:
                return
            up = open_dir("..", fd)
            if _identity(up) != stack[-2][0]:
                os.close(up)
                return
            os.close(fd)
            fd = up
            with contextlib.suppress(OSError):
                os.rmdir(stack.pop()[2], dir_fd=fd)
    except OSError:
        return
    finally:
        os.close(fd)


def unopened(report: CopyReport, exc: OSError, name: str) -> None:
    """Record in ``report`` why the folder ``name`` to copy could not be opened: a link (or
    not a folder) is refused as such; anything else (no permission, gone) is said as it is."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        report.refused.append(name + "/")
    else:
        report.unopened = f"{shown(name, 200)}/: {exc.strerror or type(exc).__name__}"


def copy_path_tree(
    src: str,
    dst: str,
    budget: int,
    first: tuple[str, ...] = (),
    *,
    submitted: bool = False,
    top: str | None = None,
) -> CopyReport:
    """:func:`copy_tree` between two paths; ``dst`` is created (mode 700) if missing.
    ``submitted``: ``src`` is a submitted folder, whose hard links to files of another owner
    are refused (:attr:`CopyReport.owner`). ``top``: a folder above ``src`` from which no
    link is followed to it (:func:`open_below`)."""
    report = CopyReport(budget)
    os.makedirs(dst, mode=0o700, exist_ok=True)
    try:
        src_fd = open_dir(src) if top is None else open_below(top, src)
    except OSError as exc:
        unopened(report, exc, os.path.basename(src))
        return report
    try:
        if submitted:
            report.owner = os.fstat(src_fd).st_uid
        dst_fd = open_dir(dst)
        try:
            return copy_tree(src_fd, dst_fd, report, first=first)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
