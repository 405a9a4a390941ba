"""The file system a grading job sees (full mode): assembled from an allowlist, nothing else.

Inside new mount, PID, network, IPC and UTS namespaces, PID 1 of the job mounts an empty tmpfs
as the new root, binds into it, read-only, only what grading needs, then ``pivot_root``\\ s into it
and detaches the host's tree:

* the interpreter and its libraries: ``/usr`` (and ``/bin``, ``/lib``... as the host has them),
  ``sys.base_prefix``, ``sys.prefix`` (the virtual environment), the folders of ``lstm_core`` and
  ``lstm_grading`` (not the repository around them), a few files of ``/etc`` (:data:`ETC`);
* a minimal ``/dev`` (null, zero, full, random, urandom), a fresh ``/proc`` of the job's PID
  namespace;
* private, empty tmpfs at ``/tmp`` (size-limited: the kernel's home lives there; the private
  course has a tmpfs of its own, :func:`course_tmpfs`), ``/var/tmp``, ``/dev/shm`` and ``/run``.

Any other host path (the course, other assignments' solutions, other students, ``/root``,
``/home``, ``/run/lock``, the host's ``/tmp`` and ``/dev/shm``) does not exist for the job; what
exists from the host cannot be written, even by root inside the job. Within ``lstm_grading``,
the hidden checks of the other problem sets (:func:`other_checks`) are empty files.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from . import linux
from .linux import MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_REMOUNT

ETC = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "passwd",
    "group",
    "hosts",
    "host.conf",
    "mime.types",
)
DEVICES = ("null", "zero", "full", "random", "urandom")
TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # symlinks into /usr, or folders


def allowlist() -> list[str]:
    """Host paths bound read-only into every job (absolute, resolved, none inside another), then
    the :func:`aliases` by which this process reaches some of them."""
    import lstm_core
    import lstm_grading

    paths = {Path("/usr"), Path(sys.prefix), Path(sys.base_prefix)}
    paths.add(Path(os.path.realpath(sys.executable)).parent.parent)
    paths |= {Path(m.__file__).resolve().parent for m in (lstm_core, lstm_grading)}
    for name in TOP_LEVEL:
        p = Path("/") / name
        if p.is_dir() and not p.is_symlink():
            paths.add(p)
    paths |= {Path("/etc") / name for name in ETC if (Path("/etc") / name).exists()}
    paths = {p.resolve() for p in paths if p.exists()}
    real = sorted(str(p) for p in paths if not any(q in p.parents for q in paths))
    return real + aliases()


def aliases() -> list[str]:
    """The paths of the interpreter, the environment and the two packages as this process
    names them, where a symbolic link on the host leads to them (a virtual environment reached
    as ``/srv/course/.venv``, a link to ``/opt/venvs/course``).

    :func:`allowlist` binds them too, so that they exist in the job under that name as well:
    the job's Python runs as ``sys.executable`` and reads its modules' data files by the paths
    its ``sys.path`` names. Bound under their real paths only, every submission of a class graded
    from such an environment failed in the full sandbox (``FileNotFoundError`` for nbgrader's
    ``nbgraderformat/v3.json``), found grading from a ``.venv`` that is a link to another.
    """
    import lstm_core
    import lstm_grading

    named = {sys.prefix, sys.base_prefix, os.path.dirname(sys.executable)}
    named |= {os.path.dirname(os.path.abspath(m.__file__)) for m in (lstm_core, lstm_grading)}
    named = {os.path.normpath(p) for p in named if os.path.isabs(p) and os.path.exists(p)}
    linked = {p for p in named if os.path.realpath(p) != p}
    return sorted(p for p in linked if not any(p.startswith(q + os.sep) for q in linked))


# A problem set's name in a file's path inside lstm_grading/hidden: ps02.py, .ps02.py.swp,
# ps02_cases.npz, ps02/__init__.py (not "steps02").
_PROBLEM_SET = re.compile(r"(?<![a-z0-9])(ps\d+)(?!\d)", re.IGNORECASE)


def other_checks(source: str, package: str | None = None) -> list[str]:
    """The hidden checks no grade cell of the assignment uses, for :func:`enter` to hide.

    ``source``: the assignment's source folder (its notebooks, trusted: the run's template);
    ``package``: the folder of ``lstm_grading`` (by default, the one imported). A hidden cell
    imports its problem set's module, ``from lstm_grading.hidden import ps01``; the problem
    sets whose name is a word of the notebooks' code cells stay (no module of one imports
    another's), whatever the import's form (``import ps02, ps03``, in parentheses,
    ``hidden.ps03`` after ``from lstm_grading import hidden``). Every file of
    ``lstm_grading/hidden`` whose path names only other problem sets is returned: its module
    and their compiled copies, and what an instructor's editing leaves beside them (``ps02.py~``,
    ``.ps02.py.swp``), under every path the package is bound by. Bound whole, they were
    readable by the student's code: the hidden tests of every other problem set, printed into
    a notebook's output and so into its feedback.
    """
    if package is None:
        import lstm_grading

        package = os.path.dirname(os.path.abspath(lstm_grading.__file__))
    text = []
    for name in sorted(os.listdir(source)):
        if name.endswith(".ipynb"):
            with open(os.path.join(source, name), encoding="utf-8", errors="replace") as f:
                text.append(_code(f.read()))
    used = {n.lower() for n in re.findall(r"\b(ps\d+)\b", "\n".join(text))}
    out = []
    for root in sorted({package, os.path.realpath(package)}):
        hidden = os.path.join(root, "hidden")
        for folder, folders, names in os.walk(hidden):  # links to folders not followed
            folders.sort()
            for name in sorted(names):
                path = os.path.join(folder, name)
                named = {n.lower() for n in _PROBLEM_SET.findall(os.path.relpath(path, hidden))}
                if named and not named & used and os.path.isfile(path):
                    if not os.path.islink(path):
                        out.append(path)
    return out


def _code(notebook: str) -> str:
    """The source of the cells of ``notebook`` (JSON text) but its Markdown and raw ones; all of
    it if it is not one. What a hidden cell could import hides in neither."""
    try:
        cells = json.loads(notebook).get("cells")
        sources = [
            c.get("source", "") for c in cells if c.get("cell_type") not in ("markdown", "raw")
        ]
        return "\n".join(s if isinstance(s, str) else "".join(s) for s in sources)
    except (ValueError, AttributeError, TypeError):
        return notebook  # unreadable as a notebook: every word of it counts


def _make_target(root: str, path: str, is_dir: bool) -> str:
    target = root + path
    if is_dir:
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        if not os.path.exists(target):
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))
    return target


def _tmpfs(target: str, options: str, flags: int = MS_NOSUID | MS_NODEV) -> None:
    os.makedirs(target, mode=0o755, exist_ok=True)
    linux.mount("tmpfs", target, "tmpfs", flags, options)


def course_tmpfs(path: str, disk_mb: int) -> None:
    """A tmpfs of its own at ``path`` (root's, 0711) for the private course, inside the job.

    nbgrader writes its gradebook and the autograded notebooks there: a submission that fills
    the rest of ``/tmp`` (its home, its temporary files) cannot make them fail to be written.
    """
    _tmpfs(path, f"mode=711,size={disk_mb}m")


def enter(new_root: str, binds: list[str], disk_mb: int, hide: list[str] = ()) -> None:
    """Build the job's root at ``new_root`` (an empty folder) and ``pivot_root`` into it.

    ``hide``: files inside the binds that the job sees empty (:func:`other_checks`). Must run
    as root in fresh mount and PID namespaces (for ``/proc``).
    """
    linux.mount(None, "/", None, MS_REC | linux.MS_PRIVATE)
    linux.mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
    # The job's own /tmp, /var/tmp and /run first, then the binds: a course or a Python
    # environment installed under /tmp (a clone in /tmp, CI's work folder) stays visible
    # instead of being hidden by the job's /tmp. The folders leading to such a bind are made
    # by root, 0755, on that tmpfs: the student can add files to /tmp, not to them.
    _tmpfs(new_root + "/tmp", f"mode=1777,size={disk_mb}m")
    _tmpfs(new_root + "/var/tmp", "mode=1777,size=16m")
    _tmpfs(new_root + "/run", "mode=755,size=1m")
    for path in binds:
        target = _make_target(new_root, path, os.path.isdir(path))
        linux.bind_readonly(path, target)
    if hide:
        empty = new_root + "/run/empty"  # root's, read-only: what each hidden file shows
        os.close(os.open(empty, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444))
        for path in hide:
            if os.path.isfile(new_root + path):  # bound: the job would see it
                linux.bind_readonly(empty, new_root + path)
    for name in TOP_LEVEL:
        host = "/" + name
        if os.path.islink(host) and not os.path.lexists(new_root + host):
            os.symlink(os.readlink(host), new_root + host)
    dev = new_root + "/dev"
    _tmpfs(dev, "mode=755,size=64k", MS_NOSUID | MS_NOEXEC)
    for name in DEVICES:
        target = _make_target(new_root, "/dev/" + name, False)
        linux.mount("/dev/" + name, target, None, MS_BIND)
        linux.mount(None, target, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC)
    for name, to in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0")):
        os.symlink(to, f"{dev}/{name}")
    os.symlink("/proc/self/fd/1", f"{dev}/stdout")
    os.symlink("/proc/self/fd/2", f"{dev}/stderr")
    _tmpfs(dev + "/shm", "mode=1777,size=16m")
    os.makedirs(new_root + "/proc", mode=0o555, exist_ok=True)
    linux.mount("proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(new_root + "/.old", mode=0o700)
    linux.pivot_root(new_root, new_root + "/.old")
    os.chdir("/")
    linux.umount_detach("/.old")
    os.rmdir("/.old")
    # The skeleton (the folders leading to the binds) becomes read-only too.
    linux.mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
