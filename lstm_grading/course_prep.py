"""Preparing a run: the course's submissions, their hashes, and the private course template."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import asdict
from pathlib import Path


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
    except sqlite3.OperationalError as exc:
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


def tree_hash(folder: Path) -> str:
    """SHA-256 over the relative paths and contents of the regular files under ``folder``."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if ".ipynb_checkpoints" in path.parts or path.is_symlink() or not path.is_file():
            continue
        h.update(os.fsencode(path.relative_to(folder)) + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


# nbgrader matches the folder it found against its notebook pattern again, as a glob: a folder
# named "a[1]" matches "a1", not itself, and plain nbgrader finds no notebook in it.
GLOB_CHARACTERS = "[]*?"
NOT_GLOB_SAFE = "student id contains [, ], * or ?, which nbgrader reads as a pattern: not gradable"


def find_submissions(course: Path, assignment: str) -> tuple[dict[str, Path], dict[str, str]]:
    """(submissions to grade, refused ids with the reason), from ``submitted/*/<assignment>``.

    Every folder name plain ``nbgrader autograde`` grades is a student id here too (spaces,
    any letters); hidden folders are skipped as nbgrader's glob skips them. Refused: a name
    that is not valid UTF-8 (it cannot be stored in the gradebook), a name with a glob
    character (nbgrader cannot grade it either), a student folder or submission folder that is
    a symbolic link or not a folder.
    """
    folder = course / "submitted"
    found: dict[str, Path] = {}
    refused: dict[str, str] = {}
    if not folder.is_dir():
        return found, refused
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            refused[ascii(entry.name)] = "student id (folder name) is not valid UTF-8"
            continue
        student = Path(entry.path)
        sub = student / assignment
        if any(c in entry.name for c in GLOB_CHARACTERS) and (sub.exists() or sub.is_symlink()):
            refused[entry.name] = NOT_GLOB_SAFE
        elif entry.is_symlink():
            refused[entry.name] = "student folder is a symbolic link"
        elif not entry.is_dir() or not (sub.exists() or sub.is_symlink()):
            continue  # no submission of this assignment
        elif sub.is_symlink() or not sub.is_dir():
            refused[entry.name] = "submission folder is a symbolic link or not a folder"
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


def run_key(course: Path, assignment: str, limits) -> str:
    """What makes earlier results reusable: the source, the config and the limits."""
    h = hashlib.sha256()
    h.update(tree_hash(course / "solutions" / assignment).encode())
    h.update((course / "nbgrader_config.py").read_bytes())
    h.update(json.dumps(asdict(limits), sort_keys=True).encode())
    return h.hexdigest()
