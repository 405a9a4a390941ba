"""Preparing a run: the course's submissions, their hashes, and the private course template."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import sys
from dataclasses import asdict
from pathlib import Path

from . import safe_copy


def read_only(gradebook: Path) -> sqlite3.Connection:
    """A read-only connection to ``gradebook`` (an SQLite file), opened by its ``file:`` URI.

    ``Path.as_uri`` quotes the path: a "#", "%" or "?" in a folder's name is part of the
    name, not of the URI (an f-string "file:{path}" read "course #1" as "course ").

    A process killed in the middle of a write to the gradebook (a SIGKILLed ``lstm-autograde``
    while it merged a result, or nbgrader) leaves a hot journal beside it: the transaction it
    had begun, which the next connection must roll back before reading. A read-only connection
    cannot, and fails with "attempt to write a readonly database" (SQLITE_READONLY_ROLLBACK).
    Then the gradebook is opened for writing once, without creating anything, and SQLite rolls
    the journal back, as nbgrader's next use of the gradebook would: what was committed stays,
    the half-done transaction goes.
    """
    uri = gradebook.absolute().as_uri()
    con = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    try:
        con.execute("PRAGMA schema_version").fetchone()  # the first read finds a hot journal
    except sqlite3.Error as exc:
        con.close()
        if getattr(exc, "sqlite_errorname", "") != "SQLITE_READONLY_ROLLBACK":
            raise
        recovery = sqlite3.connect(f"{uri}?mode=rw", uri=True)
        try:
            recovery.execute("PRAGMA schema_version").fetchone()  # rolls the journal back
        finally:
            recovery.close()
        con = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    return con


class Unreadable(ValueError):
    """A submission :func:`tree_hash` cannot read; the message is the reason."""


def tree_hash(folder: Path, limit: int | None = None) -> str:
    """SHA-256 over the relative paths and contents of the regular files under ``folder``.

    Files are taken in the order of their relative paths' components (as the sorted paths of
    ``folder.rglob("*")``), those under ``.ipynb_checkpoints`` left out; links are not followed
    and, like FIFOs, sockets and devices, never opened (:mod:`lstm_grading.safe_copy`). The walk
    keeps its own stack (no recursion: any depth), and each file is hashed in chunks.

    With ``limit`` (bytes, a submission's --disk-mb), the hash covers what the job's copy of
    the submission takes (:func:`lstm_grading.safe_copy.copy_tree`), which is all the grade can
    depend on: the first :data:`safe_copy.MAX_ENTRIES` names of each folder, folders at most
    :data:`safe_copy.MAX_DEPTH` deep, the first :data:`safe_copy.MAX_TOTAL_ENTRIES` names in
    all, and the files that fit in ``limit`` bytes in that order (a larger one is left out, as
    the copy leaves it out, without being read); a hard link to a file of another owner than
    the folder's, which the copy refuses, counts by its name alone. Raises :class:`Unreadable`
    (the reason) for a folder that cannot be read.
    """
    h = hashlib.sha256()
    try:
        top = safe_copy.open_dir(os.fspath(folder))
    except OSError as exc:
        raise Unreadable(f"submission folder cannot be read ({exc.strerror})") from None
    # One frame per open folder: (its fd, its relative path + "/", its names left, hashed?)
    stack: list[tuple[int, str, list[str], bool]] = [(top, "", [], True)]
    entries = total = 0
    rel = ""
    try:
        stack[0][2].extend(_listing(top, limit))
        owner = os.fstat(top).st_uid if limit is not None else None
        while stack:
            fd, prefix, names, hashed = stack[-1]
            if not names:
                stack.pop()
                os.close(fd)
                continue
            name = names.pop()
            rel = prefix + name
            entries += 1
            if limit is not None and entries > safe_copy.MAX_TOTAL_ENTRIES:
                break  # the copy leaves out the rest too
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                if limit is not None and len(rel.split("/")) > safe_copy.MAX_DEPTH:
                    continue  # deeper than the copy goes
                sub = safe_copy.open_dir(name, fd)
                try:
                    names_below = _listing(sub, limit)
                except BaseException:
                    os.close(sub)
                    raise
                keep = hashed and name != ".ipynb_checkpoints"
                stack.append((sub, rel + "/", names_below, keep))
            elif stat.S_ISREG(st.st_mode):
                keep = hashed and name != ".ipynb_checkpoints"
                total += _hash_file(
                    h, fd, name, rel, keep, None if limit is None else limit - total, owner
                )
    except OSError as exc:
        what = safe_copy.shown(rel, 100) or "submission folder"
        raise Unreadable(f"{what} cannot be read ({exc.strerror})") from None
    finally:
        for fd, *_ in stack:
            os.close(fd)
    return h.hexdigest()


def _listing(fd: int, limit: int | None) -> list[str]:
    """The names in the folder ``fd`` (with ``limit``: those the copy takes), sorted last first
    (popped from the end)."""
    names = safe_copy.names_taken(fd) if limit is not None else sorted(os.listdir(fd))
    names.reverse()
    return names


def _hash_file(
    h, dir_fd: int, name: str, rel: str, hashed: bool, room: int | None, owner: int | None
) -> int:
    """Add the regular file ``name`` to ``h`` (if ``hashed``); return the bytes it takes of the
    ``room`` left (None: no limit): 0 for a file that does not fit, which is not read, and for
    a hard link the copy of a folder of ``owner`` refuses (its name alone is hashed)."""
    fd = safe_copy.open_file(name, dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # replaced since it was listed
            return 0
        if safe_copy.foreign(st.st_nlink, st.st_uid, owner):
            if hashed:
                h.update(os.fsencode(rel) + b"\0hard link\0")
            return 0
        if room is not None and st.st_size > room:
            return 0  # left out by the copy too
        if not hashed:
            return st.st_size
        digest = hashlib.sha256()
        size = 0
        while size < st.st_size:  # the copy reads the size fstat gave, no more
            chunk = os.read(fd, min(1 << 20, st.st_size - size))
            if not chunk:
                break
            size += len(chunk)
            digest.update(chunk)
        h.update(os.fsencode(rel) + b"\0")
        h.update(digest.digest())
        return size
    finally:
        os.close(fd)


# nbgrader matches the folder it found against its notebook pattern again, as a glob: a folder
# named "a[1]" matches "a1", not itself, and plain nbgrader finds no notebook in it. (A course
# path is refused for any of these: inputs.check_course.)
GLOB_CHARACTERS = "[]*?"
NOT_GLOB_SAFE = (
    "student id contains * or ?, or a [...] set, which nbgrader reads as a pattern: not gradable"
)


def glob_safe(student: str) -> bool:
    """Whether nbgrader's glob of the folder ``student`` finds that folder and no other.

    ``*`` and ``?`` match themselves and other names too ("a?" takes "ab"'s notebooks); a
    closed ``[...]`` set matches one character, never its own text. A ``]`` alone, or a ``[``
    no ``]`` closes, is a plain character to the glob, and plain nbgrader grades "a]b" and
    "a[b" (each was refused, for holding any of the four characters)."""
    return not any(c in student for c in "*?") and fnmatch.fnmatchcase(student, student)


# nbgrader matches the paths it finds with regular expressions whose "." takes no line break:
# a folder "new\nline" failed its autograding ("Could not match ..."), and went into the gradebook
# as a failure. That "." takes every other character, a tab, a carriage return or an escape
# among them: plain nbgrader grades such a folder, and so does this grader (the terminal and the
# reports show its id escaped: safe_copy.shown, report.as_text_cell). Refusing every control
# character refused them too, and a student's grade waited on a rename nbgrader did not need.
LINE_BREAK_STUDENT = (
    "student id (folder name) holds a line break, which nbgrader cannot match: not gradable "
    "(rename the folder to grade it)"
)
# nbgrader strips the ids it is given (CourseDirectory.student_id, str.strip: any whitespace):
# a folder "trail " was graded, and its feedback found no "trail" to write, on every run.
SPACED_STUDENT = (
    "student id (folder name) starts or ends with whitespace (a space, a tab...), which nbgrader "
    "strips from an id it is given (its feedback cannot name the student): not gradable (rename "
    "the folder to grade it)"
)
HIDDEN_STUDENT = (
    "student folder's name starts with a dot: a hidden folder, which nbgrader skips (rename it "
    "to grade it)"
)


def find_submissions(course: Path, assignment: str) -> tuple[dict[str, Path], dict[str, str]]:
    """(submissions to grade, refused ids with the reason), from ``submitted/*/<assignment>``.

    Every folder name plain ``nbgrader autograde`` grades is a student id here too (spaces,
    any letters); hidden folders are not graded, as nbgrader's glob skips them, and one that
    holds this assignment is refused, so that the run says so. Refused: a name
    that is not valid UTF-8 (it cannot be stored in the gradebook), a name that nbgrader's glob
    takes as a pattern (:func:`glob_safe`) or with a line break (nbgrader cannot grade it
    either), a name with whitespace at
    either end (nbgrader strips it), a student folder or submission folder that is a symbolic
    link or not a folder.
    """
    folder = course / "submitted"
    found: dict[str, Path] = {}
    refused: dict[str, str] = {}
    if not folder.is_dir():
        return found, refused
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith("."):
            if os.path.lexists(os.path.join(entry.path, assignment)):
                refused[entry.name] = HIDDEN_STUDENT
            continue
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            refused[ascii(entry.name)] = "student id (folder name) is not valid UTF-8"
            continue
        student = Path(entry.path)
        sub = student / assignment
        submits = sub.exists() or sub.is_symlink()
        if not glob_safe(entry.name) and submits:
            refused[entry.name] = NOT_GLOB_SAFE
        elif "\n" in entry.name and submits:
            refused[entry.name] = LINE_BREAK_STUDENT
        elif entry.name != entry.name.strip() and submits:
            refused[entry.name] = SPACED_STUDENT
        elif entry.is_symlink():
            refused[entry.name] = "student folder is a symbolic link"
        elif not entry.is_dir() or not submits:
            continue  # no submission of this assignment
        elif sub.is_symlink():
            refused[entry.name] = "submission folder is a symbolic link"
        elif not sub.is_dir():
            refused[entry.name] = (
                f"submission folder is not a folder but a file; expected {assignment}/ to be "
                "the folder of the submission's files"
            )
        else:
            found[entry.name] = sub
    return found, refused


def make_template(course: Path, assignment: str, dest: Path) -> None:
    """The private course every job starts from: config, source, a one-assignment gradebook.

    The gradebook is a copy of the course's (same ids, same cell order, which nbgrader's
    ``add_missing_cells`` relies on) without any student, submission or other assignment,
    vacuumed so deleted rows are really gone: a job cannot read other students' grades or
    other assignments' hidden tests from it. No other assignment's folder is copied.
    """
    dest.mkdir(mode=0o700)
    shutil.copy2(course / "nbgrader_config.py", dest / "nbgrader_config.py")
    source = course / "solutions" / assignment
    shutil.copytree(
        source,
        dest / "solutions" / assignment,
        symlinks=False,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    src = read_only(course / "gradebook.db")
    dst = sqlite3.connect(dest / "gradebook.db")
    try:
        src.backup(dst)
        other = "SELECT id FROM assignment WHERE name != ?"
        nbs = f"SELECT id FROM notebook WHERE assignment_id IN ({other})"
        cells = f"SELECT id FROM base_cell WHERE notebook_id IN ({nbs})"
        with dst:
            for table in (
                "comment",
                "grade",
                "submitted_notebook",
                "submitted_assignment",
                "student",
            ):
                dst.execute(f"DELETE FROM {table}")
            for table in ("grade_cells", "solution_cells", "task_cells"):
                dst.execute(f"DELETE FROM {table} WHERE id IN ({cells})", (assignment,))
            dst.execute(f"DELETE FROM base_cell WHERE notebook_id IN ({nbs})", (assignment,))
            dst.execute(f"DELETE FROM source_cell WHERE notebook_id IN ({nbs})", (assignment,))
            dst.execute(f"DELETE FROM notebook WHERE assignment_id IN ({other})", (assignment,))
            dst.execute("DELETE FROM assignment WHERE name != ?", (assignment,))
        dst.execute("VACUUM")
    finally:
        src.close()
        dst.close()


def notebook_names(course: Path, assignment: str) -> tuple[str, ...]:
    """The assignment's notebook file names, as the gradebook lists them."""
    con = read_only(course / "gradebook.db")
    try:
        rows = con.execute(
            "SELECT notebook.name FROM notebook JOIN assignment "
            "ON notebook.assignment_id = assignment.id WHERE assignment.name = ?",
            (assignment,),
        ).fetchall()
    finally:
        con.close()
    return tuple(sorted(f"{name}.ipynb" for (name,) in rows))


def run_key(
    course: Path, assignment: str, limits, code: tuple[Path, ...] | dict[str, str] | None = None
) -> str:
    """What makes earlier results reusable: the source, the config, the limits and the grading
    code (``code``: the folders of the run's ``lstm_core`` and ``lstm_grading``, or their
    :func:`code_files` as the run read them once)."""
    h = hashlib.sha256()
    h.update(tree_hash(course / "solutions" / assignment).encode())
    h.update((course / "nbgrader_config.py").read_bytes())
    h.update(json.dumps(asdict(limits), sort_keys=True).encode())
    if isinstance(code, dict):
        h.update(files_hash(code).encode())
    else:
        h.update(code_hash(grading_code() if code is None else code).encode())
    return h.hexdigest()


def grading_code() -> tuple[Path, ...]:
    """The folders of the ``lstm_core`` and ``lstm_grading`` this process runs."""
    import lstm_core
    import lstm_grading

    return tuple(Path(m.__file__).resolve().parent for m in (lstm_core, lstm_grading))


def code_files(folders: tuple[Path, ...]) -> dict[str, str]:
    """The files of ``folders`` (``__pycache__`` left out), as ``"package/relative/path"``, in
    the order :func:`code_hash` takes them, each to the SHA-256 of its contents (hex)."""
    files = {}
    for top in folders:
        paths = sorted(
            p
            for p in top.rglob("*")
            if "__pycache__" not in p.relative_to(top).parts and p.is_file()
        )
        for path in paths:
            files[f"{top.name}/{path.relative_to(top).as_posix()}"] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    return files


def code_hash(folders: tuple[Path, ...]) -> str:
    """SHA-256 over the files of ``folders`` (their names and contents), ``__pycache__`` left
    out: the hidden tests' checks (``lstm_grading/hidden``), the reference they compare with
    (``lstm_core``) and the grader. Part of :func:`run_key`: a fixed hidden check regrades the
    class, where the run used to keep every earlier grade as ``unchanged``. A cluster's workers
    must grade with the code of this hash (:mod:`lstm_grading.cluster.worker`)."""
    return files_hash(code_files(folders))


def files_hash(files: dict[str, str]) -> str:
    """:func:`code_hash` of the folders whose :func:`code_files` are ``files``."""
    h = hashlib.sha256()
    for name, digest in files.items():
        h.update(f"{name}\0".encode())
        h.update(bytes.fromhex(digest))
    return h.hexdigest()


def imported_files(folders: tuple[Path, ...]) -> frozenset[str]:
    """The :func:`code_files` names of the modules of ``folders`` this process has imported
    (``sys.modules``)."""
    names = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        for top in folders if path else ():
            if (file := Path(path).resolve()).is_relative_to(top):
                names.add(f"{top.name}/{file.relative_to(top).as_posix()}")
    return frozenset(names)


def running_code(
    disk: dict[str, str], loaded: dict[str, str], imported: frozenset[str]
) -> dict[str, str]:
    """The code a process grades with: ``disk`` (:func:`code_files` now), with the files it
    had ``imported`` as they were when it did (``loaded``, :func:`code_files` then). A file it
    never imported (a hidden check, a template) is read, or imported by a kernel, from disk."""
    return {**disk, **{name: loaded[name] for name in sorted(imported) if name in loaded}}


def other_code(
    code: str, loaded: dict[str, str], imported: frozenset[str]
) -> tuple[dict[str, str], bool] | None:
    """Whether a process grades with the run's ``code`` (:func:`files_hash`): None if the
    files on disk (which a new helper or kernel reads) and those it ``imported`` as they were
    then (``loaded``, :func:`running_code`) are that code; else the files it would grade with
    and whether only what it imported differs. The disk first: "loaded" is said only when the
    disk is the run's."""
    disk = code_files(grading_code())
    for only_imported, files in ((False, disk), (True, running_code(disk, loaded, imported))):
        if files_hash(files) != code:
            return files, only_imported
    return None


def code_differences(ours: dict[str, str], theirs: dict[str, str], most: int = 5) -> str:
    """What differs between two :func:`code_files` maps, in words: at most ``most`` files."""
    words = [f"{name} differs" for name in ours if name in theirs and ours[name] != theirs[name]]
    words += [f"{name} is missing there" for name in ours if name not in theirs]
    words += [f"{name} is only there" for name in theirs if name not in ours]
    if not words:
        return "the same files"
    more = f", and {len(words) - most} more" if len(words) > most else ""
    return ", ".join(words[:most]) + more
