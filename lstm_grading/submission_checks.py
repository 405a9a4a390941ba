"""What can be said about a submission from its files alone, before and after grading it.

:func:`diagnose` finds the first meaningful reason a submission cannot be graded (a notebook
under another name, bytes that are not UTF-8, text that is not JSON), which nbgrader itself
only reports deep inside its log; :func:`static_checks` lists cells the student deleted, edited
or turned into markdown, and suspicious calls in the student's own code (:data:`SUSPICIOUS`);
:func:`read_timestamp` reads ``timestamp.txt``.

The coordinator runs these on the submitted folder, which the student made: every file is read
through :mod:`lstm_grading.safe_copy` (the folder opened once without following a link, a file
only if it is a regular file, never a FIFO or a device, and at most :data:`MAX_NOTEBOOK_BYTES`
of it), and every field of the notebook's JSON is type-checked before it is used, so that no
file a student can submit makes them hang, fill the memory or raise. :func:`parse_notebook` and
the cell helpers (:func:`cell_source`, :func:`nbgrader_metadata`, :func:`grade_id`) read an
autograded notebook the same way (:func:`lstm_grading.report.notes_from_notebook`).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from . import safe_copy
from .safe_copy import shown

# The most of one notebook the coordinator reads (nbgrader, in the sandbox, reads any size):
# the course's notebooks are well under 1 MiB, and a larger one is graded without these checks.
# The same for an autograded notebook (lstm_grading.report.notes_from_notebook): the job
# returns at most Limits.return_mb (5 MiB by default) in all.
MAX_NOTEBOOK_BYTES = 16 * safe_copy.MIB
MAX_TIMESTAMP_BYTES = 1024  # nbgrader writes about 30

# Patterns worth a look by the instructor when they appear in a submission's code cells.
SUSPICIOUS = {
    "os._exit": r"\bos\._exit\b",
    "sys.exit": r"\bsys\.exit\b|\bexit\(|\bquit\(",
    "fork/subprocess": r"\bos\.fork\b|\bsubprocess\b|\bmultiprocessing\b|\bos\.system\b",
    "network": r"\bsocket\b|\burllib\b|\brequests\b|\bhttp\.client\b",
    "file deletion": r"\bos\.remove\b|\bos\.unlink\b|\bshutil\.rmtree\b|\bos\.rmdir\b",
    "gradebook/course files": r"gradebook|submitted/|autograded/|nbgrader",
    "grading internals": (
        r"lstm_grading|set_custom_exc|sys\.settrace|__builtins__|ctypes|"
        # IPython's: the shell, what a later cell runs (its transformers), the guards' hooks
        r"\bget_ipython\b|\b(input|ast)_transformers|\bevents\.(un)?register\b|"
        # the import system, through which the kernel refuses torch, scipy...
        r"\bmeta_path\b|\bpath_hooks\b"
    ),
    # What the hidden tests cannot stand guard over: the frames above a graded call (results
    # made before it), the garbage collector's view of every object, code objects rebuilt
    # under another file name, and threads (one started before the call is not traced).
    "frames/introspection": (
        r"_getframe|\bf_back\b|\bf_locals\b|\bf_globals\b|\btb_frame\b|_current_frames|"
        r"\bgc\.get_(objects|referrers|referents)\b|\binspect\.(currentframe|stack|"
        r"getouterframes|getmembers)\b|\bCodeType\b|\bco_filename\b|__code__|__globals__|"
        # a function changed in place: its defaults, closure, NumPy's implementation behind it
        r"__(kw)?defaults__|__closure__|\bcell_contents\b|\b_implementation\b|__wrapped__|"
        # a module's source read and run afresh, under a name of the notebook's
        r"\bgetsource(lines)?\b|__file__|__path__|(?<![.\w])(exec|compile)\("
    ),
    "threads": r"\bthreading\b|\b_thread\b|\bconcurrent\.futures\b",
    "links/special files": r"\bsymlink\b|\bos\.link\b|\bmkfifo\b|\bmknod\b",
    "shared memory": r"\bshmget\b|\bshm_open\b|/dev/shm|shared_memory",
}


# Files beside the notebook that Python could import: named as a module the kernel or the
# grading imports, one would have been imported in its place while the notebook's folder was
# first on sys.path. The grader's kernels leave that folder out (kernel_launcher's -P,
# nbgrader_config.py's PYTHONSAFEPATH); a submission that ships such files is still worth a look.
PYTHON_FILES = "Python files"
MODULE_SUFFIXES = (".py", ".pyc", ".pyw", ".so", ".pth")
PACKAGE_MARKS = ("__init__.py", "__init__.pyc")


def python_files(dir_fd: int) -> list[str]:
    """The names in the submission's folder that Python could import: modules (``numpy.py``)
    and packages (``lstm_grading/``, a folder with an ``__init__.py``), never following a link."""
    found = []
    for name in _names(dir_fd):
        kind = _kind(dir_fd, name)
        if kind == "file" and name.endswith(MODULE_SUFFIXES):
            found.append(name)
        elif kind == "a folder":
            try:
                sub = safe_copy.open_dir(name, dir_fd)
            except OSError:
                continue
            try:
                if any(_kind(sub, mark) == "file" for mark in PACKAGE_MARKS):
                    found.append(name + "/")
            finally:
                os.close(sub)
    return found


def _kind(dir_fd: int, name: str) -> str:
    """What ``name`` is in the folder, without following a link: "file" (a regular file),
    "missing", or what it is instead ("a symbolic link", "a FIFO", a hard link to a file of
    another owner than the folder's: the copy for grading refuses each, see
    :attr:`lstm_grading.safe_copy.CopyReport.owner`)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"an entry that cannot be examined ({exc.strerror})"
    if stat.S_ISREG(st.st_mode) and safe_copy.foreign(st.st_nlink, st.st_uid, _owner(dir_fd)):
        return HARD_LINK
    return "file" if stat.S_ISREG(st.st_mode) else safe_copy.kind_of(st.st_mode)


HARD_LINK = "a hard link to a file of another owner than the folder's"


def _owner(dir_fd: int) -> int | None:
    try:
        return os.fstat(dir_fd).st_uid
    except OSError:
        return None


def _not_a_file(kind: str) -> str:
    """What a :func:`_kind` other than "file" is not: "a regular file", or for a hard link
    (which is one) "the student's own"."""
    return "the student's own" if kind == HARD_LINK else "a regular file"


def _names(dir_fd: int) -> list[str]:
    """The folder's names that the copy for grading takes (safe_copy.names_taken)."""
    try:
        return safe_copy.names_taken(dir_fd)
    except OSError:
        return []


def _read(dir_fd: int, name: str, limit: int) -> bytes | None:
    """At most ``limit + 1`` bytes of the regular file ``name`` (more than ``limit``: too
    large), or None if it is not a regular file or cannot be opened."""
    return safe_copy.read_file(name, dir_fd, limit + 1)


def parse_notebook(data: bytes) -> tuple[list | None, str]:
    """``(cells, "")``: the notebook's list of cells, each as the JSON gave it (a cell may be
    anything: check its type); or ``(None, what is wrong)``, to follow the notebook's name: "is
    not valid UTF-8 at byte 7", "is not a notebook: not JSON (...)", "is not a notebook: no list
    of cells"."""
    try:
        nb = safe_copy.json_value(data)
    except UnicodeDecodeError as exc:
        return None, f"is not valid UTF-8 at byte {exc.start}"
    except ValueError as exc:
        return None, f"is not a notebook: not JSON ({shown(str(exc), 200)})"
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        return None, "is not a notebook: no list of cells"
    return cells, ""


def _open(folder: Path) -> int | None:
    try:
        return safe_copy.open_dir(os.fspath(folder))
    except OSError:
        return None


def diagnose(submission: Path, notebooks: tuple[str, ...]) -> str:
    """The first problem that keeps the submission from being graded, or ""."""
    fd = _open(submission)
    if fd is None:
        return "the submission folder cannot be read"
    try:
        return _diagnose(fd, notebooks)
    finally:
        os.close(fd)


def _diagnose(fd: int, notebooks: tuple[str, ...]) -> str:
    found = [n for n in _names(fd) if n.endswith(".ipynb") and _kind(fd, n) == "file"]
    for name in notebooks:
        kind = _kind(fd, name)
        if kind == "missing":
            others = ", ".join(repr(n) for n in found if n not in notebooks)
            # What to do, in the row: the guide's advice (a renamed submission is a changed one).
            if others:
                fix = f": rename the one meant to {name} in the submitted folder and run again"
                return f"no notebook named {name}; found {others}{fix}"
            # A zip unpacked with its folder: the notebook one level down, where nbgrader does
            # not look.
            below = ", ".join(repr(n) for n in _notebooks_below(fd))
            if below:
                return (
                    f"no notebook named {name}; found {below} in a folder: move the one meant to "
                    f"{name} up into the submitted folder and run again"
                )
            return f"no notebook named {name}, nor any other: ask the student for it"
        if kind != "file":
            return f"{name} is {kind}, not {_not_a_file(kind)}: not read, not graded"
        data = _read(fd, name, MAX_NOTEBOOK_BYTES)
        if data is None:
            return f"{name} cannot be read"
        if len(data) > MAX_NOTEBOOK_BYTES:
            continue  # not read here: nbgrader says what it finds
        cells, problem = parse_notebook(data)
        if problem:
            return f"{name} {problem}"
        for n, cell in enumerate(cells, 1):
            problem = _cell_problem(cell)
            if problem:
                return f"{name} is not a notebook: cell {n} {problem}"
    return ""


def _notebooks_below(dir_fd: int) -> list[str]:
    """The notebooks (regular files) one folder down, as ``folder/name.ipynb``, never
    following a link."""
    found = []
    for folder in _names(dir_fd):
        if _kind(dir_fd, folder) != "a folder":
            continue
        try:
            sub = safe_copy.open_dir(folder, dir_fd)
        except OSError:
            continue
        try:
            found += [
                f"{folder}/{n}"
                for n in _names(sub)
                if n.endswith(".ipynb") and _kind(sub, n) == "file"
            ]
        finally:
            os.close(sub)
    return found


def _cell_problem(cell) -> str:
    """What makes ``cell`` no notebook cell for nbformat (which nbgrader fails on, some with
    an error of its own far from the cause), or ""."""
    if not isinstance(cell, dict):
        return "is not a JSON object"
    if not isinstance(cell.get("metadata", {}), dict):
        return "has metadata that is not a JSON object"
    source = cell.get("source", "")
    if not isinstance(source, str) and not (
        isinstance(source, list) and all(isinstance(s, str) for s in source)
    ):
        return "has a source that is not text"
    return ""


UNREAD: list = []  # what _cells gives for a file that is not read as a notebook (a marker)


def _cells(dir_fd: int | None, name: str) -> list[dict] | None:
    """The cells (dicts only) of notebook ``name``; :data:`UNREAD` (empty) if it cannot be read
    or is no notebook (not UTF-8, not JSON, no list of cells); None if it is larger than
    :data:`MAX_NOTEBOOK_BYTES`."""
    data = None if dir_fd is None else _read(dir_fd, name, MAX_NOTEBOOK_BYTES)
    if data is None:
        return UNREAD
    if len(data) > MAX_NOTEBOOK_BYTES:
        return None
    cells, _ = parse_notebook(data)  # what is wrong: diagnose() says it
    if cells is None:
        return UNREAD
    return [c for c in cells if isinstance(c, dict)]


def cell_source(cell: dict) -> str:
    """The cell's source as one text; the parts that are not text are left out."""
    src = cell.get("source", "")
    if isinstance(src, list):
        return "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def nbgrader_metadata(cell: dict) -> dict:
    """The cell's nbgrader metadata, {} if there is none or it is not an object."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id(meta: dict) -> str:
    """The ``grade_id`` of nbgrader metadata ``meta``, "" if there is none or it is not text."""
    gid = meta.get("grade_id")
    return gid if isinstance(gid, str) else ""


def _cell_type(cell: dict) -> str:
    kind = cell.get("cell_type")
    return shown(kind, 40) if isinstance(kind, str) else f"a {type(kind).__name__}"


def static_checks(submission: Path, release: Path) -> tuple[list[str], list[str]]:
    """(notes, flags): missing, edited or retyped locked cells; suspicious code."""
    notes: list[str] = []
    text: list[str] = []
    fd = _open(submission)
    if fd is None:
        return ["the submission folder cannot be read: not checked"], []
    release_fd = _open(release)
    try:
        for name in _names(fd):
            if not name.endswith(".ipynb"):
                continue
            kind = _kind(fd, name)
            if kind != "file":
                notes.append(f"{shown(name, 100)} is {kind}, not {_not_a_file(kind)}: not read")
                continue
            cells = _cells(fd, name)
            if cells is None:
                notes.append(
                    f"{shown(name, 100)} is larger than {safe_copy.size(MAX_NOTEBOOK_BYTES)}: "
                    "not checked for edited cells or suspicious code"
                )
                continue
            if cells is UNREAD:
                continue  # not read, so nothing to compare: diagnose() says why
            if release_fd is not None and _kind(release_fd, name) == "missing":
                # nbgrader skips it ("Skipping unknown notebook"): no cell of it is run or
                # graded, so none was edited and its code is not the student's graded code.
                notes.append(f"{shown(name, 100)} is not a notebook of the assignment: not graded")
                continue
            notes += _compare(cells, _cells(release_fd, name) or [], text)
        modules = python_files(fd)
    finally:
        os.close(fd)
        if release_fd is not None:
            os.close(release_fd)
    code = "\n".join(text)
    flags = [name for name, pattern in SUSPICIOUS.items() if re.search(pattern, code)]
    if modules:
        listed = ", ".join(shown(n, 60) for n in modules[:5])
        more = f" and {len(modules) - 5} more" if len(modules) > 5 else ""
        notes.append(f"Python files beside the notebook, not imported when graded: {listed}{more}")
        flags.append(PYTHON_FILES)
    return notes, flags


def _compare(cells: list[dict], released: list[dict], text: list[str]) -> list[str]:
    """Notes on the locked and grade cells of ``released`` against the student's ``cells``;
    the source of the student's own code cells is added to ``text``."""
    notes = []
    by_id = {}
    for c in cells:
        meta = nbgrader_metadata(c)
        if c.get("cell_type") == "code" and not (meta.get("locked") or meta.get("grade")):
            text.append(cell_source(c))  # the student's own code (locked cells are restored)
        if grade_id(meta):
            by_id[grade_id(meta)] = c

    def _unknown() -> list[str]:
        """Grade or solution cells of the student's that the assignment does not have: the
        course's OverwriteCellsQuietly runs them as ordinary cells."""
        known = {grade_id(nbgrader_metadata(c)) for c in released}
        return [
            f"cell {shown(gid, 60)} is not in the assignment (a grade id edited?): run as an "
            "ordinary cell, not graded"
            for gid, c in by_id.items()
            if gid not in known
            and (nbgrader_metadata(c).get("grade") or nbgrader_metadata(c).get("solution"))
        ]

    kept = [
        c
        for c in released
        if grade_id(nbgrader_metadata(c))
        and (nbgrader_metadata(c).get("grade") or nbgrader_metadata(c).get("locked"))
    ]
    if kept and not any(grade_id(nbgrader_metadata(c)) in by_id for c in kept):
        return [f"missing every locked and grade cell ({len(kept)}){RESTORED}", *_unknown()]
    for c in kept:
        gid = grade_id(nbgrader_metadata(c))
        mine = by_id.get(gid)
        if mine is None:
            notes.append(f"missing cell {gid}{RESTORED}")
            continue
        if mine.get("cell_type") != c.get("cell_type"):
            notes.append(
                f"cell {gid} turned into {_cell_type(mine)} (nbgrader made it "
                f"{_cell_type(c)} again)"
            )
        elif cell_source(mine) != cell_source(c):
            notes.append(f"edited locked cell {gid}{RESTORED}")
    return notes + _unknown()


RESTORED = " (restored by nbgrader)"
_RESTORATION = re.compile(r" \((restored by nbgrader|nbgrader made it .* again)\)$")


def unrestored(note: str) -> str:
    """``note`` without what nbgrader did about the cell: for a submission nbgrader failed on,
    which put nothing back."""
    return _RESTORATION.sub("", note)


def read_timestamp(submission: Path) -> tuple[str, str]:
    """(the text of the submission's ``timestamp.txt`` or "", a note if it was ignored).

    Only a regular file of at most :data:`MAX_TIMESTAMP_BYTES` is read; a link, a FIFO or a
    device is never opened.
    """
    fd = _open(submission)
    if fd is None:
        return "", ""
    try:
        kind = _kind(fd, "timestamp.txt")
        if kind == "missing":
            return "", ""
        if kind != "file":
            return "", f"timestamp.txt is {kind}, not {_not_a_file(kind)}: ignored"
        data = _read(fd, "timestamp.txt", MAX_TIMESTAMP_BYTES)
    finally:
        os.close(fd)
    if data is None:
        return "", "timestamp.txt cannot be read: ignored"
    if len(data) > MAX_TIMESTAMP_BYTES:
        return "", f"timestamp.txt is larger than {MAX_TIMESTAMP_BYTES} bytes: ignored"
    return data.decode("utf-8", "replace").strip(), ""
