"""The run's report: one :class:`Outcome` per student, why a job failed, the summary files."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import safe_copy
from .safe_copy import shown
from .submission_checks import (
    MAX_NOTEBOOK_BYTES,
    cell_source,
    grade_id,
    nbgrader_metadata,
    parse_notebook,
)

PLAIN_FAILURES = [  # (substring of nbgrader's log, reason), first match wins
    ("UnresponsiveKernelError", "timeout: kernel did not answer after an interrupt"),
    ("CellTimeoutError", "timeout: kernel did not answer after an interrupt"),
    ("DeadKernelError", "kernel died"),
    ("Kernel died", "kernel died"),
    ("NotJSONError", "invalid notebook (not JSON)"),
    ("JSONDecodeError", "invalid notebook (not JSON)"),
    ("Notebook does not appear to be JSON", "invalid notebook (not JSON)"),
    ("ValidationError", "invalid notebook (fails the nbformat schema)"),
    ("NBFormatError", "invalid notebook (unsupported format)"),
    ("duplicate", "invalid notebook (duplicate grade ids)"),
    ("MissingEntry", "grade cells do not match the gradebook"),
]
# nbgrader's OverwriteCells.add_missing_grade_cells, for a grade cell deleted with the cell
# before it: KeyError with that cell's grade id (a notebook with no cells: the first one's).
_MISSING_BEFORE = re.compile(r"^\s*KeyError: '(.*)'\s*$", re.MULTILINE)
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit)\b.*)$")
NOTEBOOK_NOTES = {  # the ename of an error output -> the note
    "CellTimeout": "cell timeout",
    "CellTimeoutError": "cell timeout (kernel interrupted)",
    "OutputLimitExceeded": "output limit",
    "MemoryError": "memory limit (MemoryError)",
    "SystemExit": "sys.exit",
}
# The most notes one notebook gives: a notebook has a few dozen cells, so more is a notebook
# the job did not write (reduced mode), and would only bloat every summary and manifest.
MAX_NOTES_PER_NOTEBOOK = 50


@dataclass
class Outcome:
    """One row of the run summary."""

    student: str
    # graded | failed | refused | unchanged | stopped (the run ended before it) | kept (the
    # submitted folder is gone; the gradebook's earlier grade stays)
    status: str
    score: float | None = None
    max_score: float | None = None
    reason: str = ""  # why it failed
    cell: str = ""  # where (grade id or first line of the cell)
    notes: list[str] = field(default_factory=list)  # graded, but worth knowing
    flags: list[str] = field(default_factory=list)  # suspicious code, see SUSPICIOUS
    sandbox: str = ""  # what the sandbox did not contain for this submission
    seconds: float = 0.0

    def row(self) -> dict:
        d = asdict(self)
        d["notes"], d["flags"] = "; ".join(self.notes), ", ".join(self.flags)
        return d


def cell_label(cell: dict) -> str:
    """The cell's grade id, else the first line of its source (at most 60 characters)."""
    gid = grade_id(nbgrader_metadata(cell))
    return shown(gid or (cell_source(cell).strip().splitlines() or [""])[0], 60)


def _answer_error(cell: dict, out: dict, ename) -> bool:
    """Whether ``out`` is an error the student's answer cell (a solution cell) raised when it
    ran, other than the release's ``NotImplementedError`` (a question not answered).

    Such a cell defines what the tests call: a ``SyntaxError`` or an import that fails (a module
    the grading machine lacks) costs every test that uses it, with nothing else in the row to
    say why. Errors in the test cells are what the scores count, and are not notes.
    """
    if not isinstance(out, dict):
        return False
    meta = nbgrader_metadata(cell)
    return (
        out.get("output_type") == "error"
        and isinstance(ename, str)
        and ename != "NotImplementedError"
        and meta.get("solution") is True
        and not meta.get("grade")
    )


def notes_from_notebook(name: str, dir_fd: int) -> list[str]:
    """Per-cell problems recorded in the outputs of the autograded notebook ``name`` in the
    folder ``dir_fd``, and what kept the notebook from being read, if anything (none if it is
    missing: a notebook the student did not submit).

    In reduced mode the student's code could have replaced the notebook in the job's results
    folder (:func:`lstm_grading.job.reduced_gaps`), so it is read as a submitted notebook is
    (:func:`lstm_grading.safe_copy.read_capped`, at most :data:`MAX_NOTEBOOK_BYTES`) and every
    cell and output is type-checked. Plain JSON: nbformat's validation would cost the
    coordinator ~40 ms a notebook.
    """
    what = f"autograded notebook {shown(name, 100)}"
    got = safe_copy.read_capped(name, dir_fd, MAX_NOTEBOOK_BYTES + 1)
    if got.missing:
        return []
    if got.problem:
        return [f"{what} {got.problem}: not read"]
    if len(got.data) > MAX_NOTEBOOK_BYTES:
        return [f"{what} is larger than {safe_copy.size(MAX_NOTEBOOK_BYTES)}: not read"]
    cells, problem = parse_notebook(got.data)
    if problem:
        return [f"{what} {problem}"]
    notes: list[str] = []
    odd = []  # cells that are no object, or whose outputs are no list of objects
    for n, cell in enumerate(cells, 1):
        outputs = cell.get("outputs", []) if isinstance(cell, dict) else None
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            odd.append(n)
        for out in outputs if isinstance(outputs, list) else []:
            ename = out.get("ename") if isinstance(out, dict) else None
            if isinstance(ename, str) and ename in NOTEBOOK_NOTES:
                if out.get("output_type") == "error":
                    notes.append(f"{NOTEBOOK_NOTES[ename]} in {cell_label(cell)}")
            elif _answer_error(cell, out, ename):
                evalue = out.get("evalue") if isinstance(out.get("evalue"), str) else ""
                said = f": {shown(evalue, 100)}" if evalue else ""
                notes.append(f"error in {cell_label(cell)}: {shown(ename, 40)}{said}")
    if len(notes) > MAX_NOTES_PER_NOTEBOOK:
        more = len(notes) - MAX_NOTES_PER_NOTEBOOK
        notes[MAX_NOTES_PER_NOTEBOOK:] = [f"{more} more such notes in {what}"]
    if odd:
        notes.append(
            f"{what}: {len(odd)} cell(s) not as nbformat writes them (first: cell {odd[0]}), "
            "not read for notes"
        )
    return notes


def failure_reason(result: dict, log: str, limits, diagnosis: str = "") -> str:
    """The first meaningful reason a job gave no score."""
    if result.get("error"):
        lines = str(result["error"]).strip().splitlines()
        return "sandbox error: " + (shown(lines[-1], 300) if lines else "(no message)")
    if result.get("timed_out"):
        return f"timeout: the notebook ran past {limits.notebook_timeout} s"
    if diagnosis:
        return diagnosis
    missing = _MISSING_BEFORE.search(log)
    if missing and "add_missing_grade_cells" in log:
        return (
            f"cell {shown(missing.group(1), 60)!r} and the grade cell after it are missing: "
            "nbgrader puts a deleted grade cell back after the cell before it, so it could not"
        )
    for needle, reason in PLAIN_FAILURES:
        if needle in log:
            if reason == "kernel died" and result.get("oom_kills"):
                return "memory limit: the kernel was killed by the memory cgroup"
            return reason
    for line in log.splitlines():  # the first exception of nbgrader's traceback, not its
        match = _EXCEPTION_LINE.match(line.strip())  # "Please see the above traceback"
        if match:
            return "nbgrader failed: " + shown(match.group(1), 200)
    lines = log.splitlines()
    errors = [line for line in lines if "ERROR" in line and "above traceback" not in line]
    first = shown(errors[0].strip(), 200) if errors else f"exit status {result.get('exit_code')}"
    return "nbgrader failed: " + first


# The student column's most characters: more than any id an LMS or a hub gives (an e-mail
# address, a numeric id, a login), fewer than a long folder name takes.
STUDENT_WIDTH = 40


def format_table(outcomes: list[Outcome]) -> str:
    """The summary as a plain-text table (failures and notes first). A cell too long for its
    column ends in "..." (:func:`shown`, which also escapes what a terminal would act on);
    summary.csv, which the run's last line names, has it whole.

    The student column too: a student id is a folder name the student may have chosen, and was
    printed as it was (a terminal's escape sequence acted on; a 200-character name made every
    line of the table 200 characters wider)."""
    order = {"refused": 0, "failed": 1, "stopped": 2, "kept": 3, "graded": 4, "unchanged": 5}
    rows = sorted(outcomes, key=lambda o: (order[o.status], not o.notes, o.student))
    header = ("student", "status", "score", "reason / notes", "cell", "flags")
    table = [header]
    for o in rows:
        score = "" if o.score is None else f"{o.score:g}/{o.max_score:g}"
        what = o.reason or "; ".join(o.notes)
        flags = ", ".join(o.flags)
        table.append(
            (
                shown(o.student, STUDENT_WIDTH),
                o.status,
                score,
                shown(what, 70),
                shown(o.cell, 30),
                shown(flags, 40),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def last_error(output: str) -> str:
    """The last exception line (``OSError: [Errno 28] ...``) in a command's output, or ""."""
    found = re.findall(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception)\b:? ?.*)$", output, re.M)
    return shown(found[-1].strip(), 300) if found else ""


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: a temporary file beside it, then a
    rename. A full disk leaves the earlier file as it was, and no temporary file behind.

    The file's data reach the disk before the rename, and the folder's entry after it: the
    rename alone orders nothing, and a power cut could leave an empty grades.csv (or summary)
    in place of the earlier one, which an instructor might upload as it is.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        replace_durably(tmp, path)
    finally:
        if tmp.is_file() and not tmp.is_symlink():
            tmp.unlink()


def replace_durably(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` (its data already on disk) over ``path`` and put the folder's new entry on
    disk too (a folder opened read-only, as fsync(2) allows)."""
    tmp.replace(path)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


# What a spreadsheet reads as the start of a formula (OWASP's "CSV injection"): a cell of
# summary.csv starting with one of these is written after a "'", which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text_cell(value):
    """``value`` for a CSV cell a spreadsheet will open: a string that a spreadsheet would take
    for a formula (``=HYPERLINK(...)``, which a student's code can make the reason or the
    running cell of its row) gets a leading ``'``; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: list, fields: list[str] | None = None) -> str:
    """CSV text of ``rows``: dicts under a header of ``fields``, or lists as they are."""
    out = io.StringIO()
    if fields is None:
        csv.writer(out, lineterminator="\n").writerows(rows)
    else:
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def write_json(path: Path, data) -> None:
    """Write ``data`` as JSON, whole or not at all (:func:`write_text`)."""
    write_text(path, json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False))


def write_summary(reports: Path, summary: dict) -> None:
    """``summary.json`` and ``summary.csv`` (one row per student) in ``reports``."""
    write_json(reports / "summary.json", summary)
    fields = list(Outcome.__dataclass_fields__)
    # A report for people, whose cells hold what students made, so every string cell goes
    # through as_text_cell (not grades.csv, whose student ids an LMS matches as they are).
    rows = [{k: as_text_cell(v) for k, v in row.items()} for row in summary["students"]]
    write_text(reports / "summary.csv", csv_text(rows, fields))


def add_refused_to_grades(grades_csv: Path, assignment: str, refused: dict[str, str]) -> None:
    """Rows in ``grades.csv`` for submissions that were refused before the gradebook."""
    if not refused or not grades_csv.exists():
        return
    with open(grades_csv, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields, rows = list(reader.fieldnames or []), list(reader)
    if "status" not in fields:
        # nbgrader's own CsvExportPlugin (a course whose nbgrader_config.py does not set this
        # course's CsvExportWithStatus) writes no status column: the refusals need one.
        fields.append("status")
    known = {(r.get("assignment"), r.get("student_id")): r for r in rows}
    for student, reason in sorted(refused.items()):
        row = known.get((assignment, student))
        if row is None:
            row = dict.fromkeys(fields, "")
            row.update(assignment=assignment, student_id=student)
            rows.append(row)
        row["status"] = f"refused: {reason}"
    write_text(grades_csv, csv_text(rows, fields))
