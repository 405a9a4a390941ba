"""What can be said about a submission from its files alone, before and after grading it.

:func:`diagnose` finds the first meaningful reason a submission cannot be graded (a notebook
under another name, bytes that are not UTF-8, text that is not JSON), which nbgrader itself
only reports deep inside its log; :func:`static_checks` lists cells the student deleted, edited
or turned into markdown, and suspicious calls in the student's own code (:data:`SUSPICIOUS`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# Patterns worth a look by the instructor when they appear in a submission's code cells.
SUSPICIOUS = {
    "os._exit": r"\bos\._exit\b",
    "sys.exit": r"\bsys\.exit\b|\bexit\(|\bquit\(",
    "fork/subprocess": r"\bos\.fork\b|\bsubprocess\b|\bmultiprocessing\b|\bos\.system\b",
    "network": r"\bsocket\b|\burllib\b|\brequests\b|\bhttp\.client\b",
    "file deletion": r"\bos\.remove\b|\bos\.unlink\b|\bshutil\.rmtree\b|\bos\.rmdir\b",
    "gradebook/course files": r"gradebook|submitted/|autograded/|nbgrader",
    "grading internals": r"lstm_grading|set_custom_exc|sys\.settrace|__builtins__|ctypes",
    "links/special files": r"\bsymlink\b|\bos\.link\b|\bmkfifo\b|\bmknod\b",
    "shared memory": r"\bshmget\b|\bshm_open\b|/dev/shm|shared_memory",
}


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def diagnose(submission: Path, notebooks: tuple[str, ...]) -> str:
    """The first problem that keeps the submission from being graded, or ""."""
    found = sorted(p.name for p in submission.glob("*.ipynb") if not p.is_symlink())
    for name in notebooks:
        path = submission / name
        if path.is_symlink() or not path.is_file():
            others = ", ".join(repr(n) for n in found if n not in notebooks)
            return f"no notebook named {name}" + (f"; found {others}" if others else "")
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"{name} is not valid UTF-8 at byte {exc.start}"
        try:
            nb = json.loads(text)
        except ValueError as exc:
            return f"{name} is not a notebook: not JSON ({exc})"
        if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
            return f"{name} is not a notebook: no list of cells"
    return ""


def _cells(path: Path) -> list[dict]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        return [c for c in nb.get("cells", []) if isinstance(c, dict)]
    except (OSError, ValueError, AttributeError):
        return []


def static_checks(submission: Path, release: Path) -> tuple[list[str], list[str]]:
    """(notes, flags): missing, edited or retyped locked cells; suspicious code."""
    notes, text = [], []
    for path in sorted(submission.glob("*.ipynb")):
        if path.is_symlink():
            continue
        by_id = {}
        for c in _cells(path):
            meta = (c.get("metadata") or {}).get("nbgrader", {})
            if not isinstance(meta, dict):
                continue
            if c.get("cell_type") == "code" and not (meta.get("locked") or meta.get("grade")):
                text.append(_source(c))  # the student's own code (locked cells are restored)
            if meta.get("grade_id"):
                by_id[meta["grade_id"]] = c
        for c in _cells(release / path.name):
            meta = c.get("metadata", {}).get("nbgrader", {})
            gid = meta.get("grade_id")
            if not gid or not (meta.get("grade") or meta.get("locked")):
                continue
            mine = by_id.get(gid)
            if mine is None:
                notes.append(f"missing cell {gid} (restored by nbgrader)")
                continue
            if mine.get("cell_type") != c.get("cell_type"):
                notes.append(
                    f"cell {gid} turned into {mine.get('cell_type')} (nbgrader made it "
                    f"{c.get('cell_type')} again)"
                )
            elif _source(mine) != _source(c):
                notes.append(f"edited locked cell {gid} (restored by nbgrader)")
    code = "\n".join(text)
    flags = [name for name, pattern in SUSPICIOUS.items() if re.search(pattern, code)]
    return notes, flags
