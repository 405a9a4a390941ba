"""Grades back to Canvas: fill one assignment column of a Canvas gradebook export.

The instructor exports the course's gradebook from Canvas (Grades > Export > Export Entire
Gradebook), runs::

    lstm-autograde export --canvas Grades-LSTM.csv --column "Problem set 1" \\
        --assignment ps01_activations --out canvas-import.csv

and imports ``canvas-import.csv`` in Canvas (Grades > Import). The file keeps Canvas's own
identification columns (Student, ID, SIS User ID, SIS Login ID, Integration ID and Section, those
present in the export), its header rows ("Points Possible", a posting-policy row), and one
assignment column, under Canvas's own header (``Problem set 1 (123456)``), so Canvas updates that
assignment and nothing else.

Canvas overwrites a grade with an uploaded value and leaves it unchanged where the cell is blank.
So: a graded submission gets its score; a submission that needs manual grading (its autograding
failed, or a cell is graded by hand) stays blank and is listed; a student with no submission is
blank and listed apart (``--missing zero`` writes 0 instead, refused while a course student with
graded work matches no Canvas row, unless ``--allow-unmatched``: the work may be one of the
students the zeros go to). Students of the Canvas file that no
course student matches, and course students with no Canvas row, are listed, never dropped.

Students are matched by one Canvas column (``--key``, ``SIS Login ID`` by default, often the
e-mail address) against nbgrader's student id, ignoring case, surrounding spaces and the
Unicode normal form (NFC), or through
a mapping file (``--map``: a CSV with the columns ``student_id`` and ``canvas``), whose student
ids are matched the same way.

The grades come from a snapshot of the course's ``gradebook.db`` (SQLite's backup API), read by
nbgrader's own ``Gradebook``, so totals are nbgrader's (manual grades and extra credit included)
and the live gradebook is never written or locked for long.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sqlite3
import stat
import sys
import tempfile
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .course_prep import read_only
from .inputs import (
    Parser,
    check_in_gradebook,
    choice,
    cwd,
    look,
    path_option,
    require_grader,
    resolved,
    shown,
)
from .report import csv_text, write_text

# Canvas's identification columns, in the order its export writes them.
ID_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")
POINTS_POSSIBLE = "Points Possible"
CANVAS_FILE = "Canvas's gradebook export (Grades > Export), a CSV file"
MAP_FILE = "a CSV file with the columns 'student_id' and 'canvas'"
OUT_FILE = "a .csv file name in an existing folder, for the file to import into Canvas"
COURSE = "the course folder holding gradebook.db"


@dataclass(frozen=True)
class CourseGrade:
    """One course student's result for the assignment, from the gradebook."""

    status: str  # "graded", "needs grading" or "not submitted"
    score: float | None
    max_score: float


@dataclass
class CanvasFile:
    """A Canvas gradebook export: its header, meta rows (Points Possible...) and student rows."""

    header: list[str]
    meta: list[list[str]]
    students: list[dict[str, str]]
    # The row of the file each student row is (as "canvas: row N" counts them), for messages.
    rows: list[int] = field(default_factory=list)


@dataclass
class ExportReport:
    """What was written, and every student who needs the instructor's attention."""

    column: str
    key: str
    points_possible: float | None
    max_score: float
    scaled: bool
    written: dict[str, str] = field(default_factory=dict)  # Canvas key -> value written
    needs_grading: list[str] = field(default_factory=list)  # course student ids
    not_submitted: list[str] = field(default_factory=list)
    unmatched_canvas: list[str] = field(default_factory=list)  # Canvas key values
    unmatched_course: list[str] = field(default_factory=list)  # course student ids
    # --map student ids of no course student, with their lines: "'alee' (map line 2)"
    unmatched_map: list[str] = field(default_factory=list)
    # Course students a --map row sends to a Canvas value no row has: "'jose' -> '9999' (map
    # line 3)", the map's own line, where the typo is.
    map_not_in_canvas: list[str] = field(default_factory=list)
    # Unmatched pairs that are one number written two ways: "'123' and Canvas's '00123'"
    look_alike: list[str] = field(default_factory=list)
    missing: str = "blank"  # what a course student without a submission got: --missing

    def lines(self) -> list[str]:
        out = [
            f"{len(self.written)} grades written to {self.column!r} "
            f"(students matched by {self.key!r})"
            + (
                f"; scores scaled from {self.max_score:g} to {self.points_possible:g}"
                if self.scaled
                else ""
            )
        ]
        for label, names in [
            ("need manual grading (left blank, Canvas keeps its grade)", self.needs_grading),
            ("did not submit", self.not_submitted),
            (
                "in the Canvas file but not in the course" + self._not_in_course(),
                self.unmatched_canvas,
            ),
            ("in the course but not in the Canvas file (left out)", self.unmatched_course),
            ("in the map file but not in the course (a typo?)", self.unmatched_map),
            (
                f"mapped by the map file to a Canvas {self.key} that is not in the Canvas file "
                "(a typo in the map's canvas column?), left out",
                self.map_not_in_canvas,
            ),
            (
                "unmatched pairs that are one number written two ways (leading zeros or a '.0' "
                "a spreadsheet changed?), left out: give --map rows if they are one student",
                self.look_alike,
            ),
        ]:
            if names:  # ids from folder names and Canvas's cells: escaped for the terminal
                out.append(f"{len(names)} {label}: {', '.join(shown(n) for n in names)}")
        return out

    def _not_in_course(self) -> str:
        """Why ``--missing zero`` left the Canvas-only rows blank: nbgrader's course holds only
        the students of gradebook.db, and ``nbgrader zip_collect`` adds none (autograding adds
        those who submitted), so a student who never submitted is not one of them."""
        if self.missing != "zero":
            return ""
        return (
            " (left blank, even with --missing zero: not students of gradebook.db, where "
            "autograding adds those who submitted; add the class with nbgrader db student "
            "import, or one with nbgrader db student add -- ID)"
        )


def _norm(value: str) -> str:
    """``value`` as ids are matched: ignoring spaces at either end, case and the Unicode
    normal form (NFC): a folder name made on macOS is decomposed (NFD), Canvas's cells are
    composed, and the same id written both ways did not match."""
    return unicodedata.normalize("NFC", value.strip().casefold())


def read_canvas(path: Path) -> CanvasFile:
    """Read a Canvas gradebook export (UTF-8, with or without a byte-order mark)."""
    rows = _read_csv(path, "canvas", CANVAS_FILE)
    if not rows or "Student" not in rows[0] or "ID" not in rows[0]:
        raise ValueError(
            f"canvas: {shown(path)} has no 'Student' and 'ID' header; expected a gradebook "
            "exported from Canvas (Grades > Export)"
        )
    header = [h.strip() for h in rows[0]]
    for name in ID_COLUMNS:  # each copied into the import file, and read by name
        only_once(header, name)
    width = len(header)
    meta, students, numbers = [], [], []
    id_at = header.index("ID")
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > width:
            raise ValueError(
                f"canvas: row {number} of {shown(path)} has {len(row)} fields, the header {width}; "
                f"expected at most {width}, one per column ({CANVAS_FILE}: a cell with a comma "
                "kept in quotes)"
            )
        row = row + [""] * (width - len(row))
        # Meta rows (Points Possible, posting policies) come before the students and have no ID.
        if not row[id_at].strip() and not students:
            meta.append(row)
        else:
            students.append(dict(zip(header, row, strict=True)))
            numbers.append(number)
    return CanvasFile(header, meta, students, numbers)


def _input_file(path, argument: str, expected: str) -> Path:
    """``path``, a file that exists; ``ValueError`` naming ``argument`` if it is not one."""
    path = Path(path)
    found = look(argument, path, expected)
    if found is None:
        raise ValueError(f"{argument}: {shown(path)} does not exist; expected {expected}")
    if not stat.S_ISREG(found.st_mode):
        raise ValueError(f"{argument}: {shown(path)} is not a file; expected {expected}")
    return path


def _read_csv(path, argument: str, expected: str) -> list[list[str]]:
    """The rows of the CSV file ``path``; ``ValueError`` naming ``argument`` if it cannot be."""
    path = _input_file(path, argument, expected)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return list(csv.reader(f))
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{argument}: {shown(path)} is not UTF-8 text (byte {err.start}); expected {expected}"
        ) from None
    except csv.Error as err:
        raise ValueError(
            f"{argument}: {shown(path)} is not a readable CSV ({err}); expected {expected}"
        ) from None
    except OSError as err:
        raise ValueError(
            f"{argument}: cannot read {shown(path)} ({err.strerror}); expected {expected}"
        ) from None


def only_once(header: list[str], name: str) -> None:
    """``ValueError`` if the Canvas file has more than one column headed ``name``, byte for byte:
    no header given on the command line could tell them apart, and the import would fill one of
    them (Canvas gives every assignment its own id, so its own export never has two)."""
    at = [n for n, h in enumerate(header, start=1) if h == name]
    if len(at) > 1:
        raise ValueError(
            f"canvas: the Canvas file has {len(at)} columns headed {name!r}, byte for byte the "
            f"same (columns {', '.join(map(str, at))}), which no --column or --key can tell apart; "
            "expected one: export the gradebook from Canvas again (Grades > Export), or delete "
            "the columns that are not this assignment's from the file"
        )


def find_column(header: list[str], column: str) -> str:
    """The header of the assignment column ``column`` names: exact, or without " (id)"."""
    assignments = [h for h in header if h not in ID_COLUMNS and h.endswith(")")]
    if column in ID_COLUMNS:
        raise ValueError(
            f"column: {column!r} is one of Canvas's identification columns; expected an "
            f"assignment column: {', '.join(repr(a) for a in assignments) or 'none here'}"
        )
    if column in header:
        only_once(header, column)
        return column
    found = list(
        dict.fromkeys(h for h in header if h.rsplit(" (", 1)[0] == column and h.endswith(")"))
    )
    if len(found) == 1:
        only_once(header, found[0])
        return found[0]
    if not found:
        raise ValueError(
            f"column: no assignment column {column!r} in the Canvas file; it has "
            f"{', '.join(repr(a) for a in assignments) or 'no assignment columns'}"
        )
    raise ValueError(f"column: {column!r} matches {found}; give the full header, with its id")


def course_grades(gradebook: Path, assignment: str) -> dict[str, CourseGrade]:
    """Every course student's result for ``assignment``, from a snapshot of ``gradebook``."""
    from nbgrader.api import Gradebook, MissingEntry

    check_in_gradebook(Path(gradebook), assignment, "gradebook")
    gradebook = resolved("gradebook", gradebook, "the course's gradebook.db")
    with tempfile.TemporaryDirectory(prefix="lstm-canvas-") as tmp:
        snapshot = Path(tmp) / "gradebook.db"
        source = read_only(gradebook)
        target = sqlite3.connect(snapshot)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        with Gradebook(f"sqlite:///{snapshot}") as gb:
            try:
                max_score = float(gb.find_assignment(assignment).max_score)
            except MissingEntry:
                raise ValueError(
                    f"assignment: no assignment {assignment!r} in {shown(gradebook)}; it has "
                    f"{', '.join(repr(a.name) for a in gb.assignments) or 'none'}"
                ) from None
            grades = {}
            for student in gb.students:
                try:
                    sub = gb.find_submission(assignment, student.id)
                except MissingEntry:
                    grades[student.id] = CourseGrade("not submitted", None, max_score)
                    continue
                if sub.needs_manual_grade:
                    grades[student.id] = CourseGrade("needs grading", None, max_score)
                else:
                    grades[student.id] = CourseGrade("graded", float(sub.score), max_score)
    if all(g.status == "not submitted" for g in grades.values()):
        raise ValueError(
            f"assignment: {assignment!r} has no submission in {shown(gradebook)}; expected an "
            f"assignment graded first (lstm-autograde {assignment})"
        )
    return grades


class MapRows(dict):
    """A ``--map`` file: course student id -> the Canvas key value; ``line`` gives the line of
    the file each student id is on, so that a report can point at the row to fix."""

    def __init__(self):
        super().__init__()
        self.line: dict[str, int] = {}


def read_mapping(path: Path) -> MapRows:
    """``--map`` file: course student id -> the Canvas key value (with each one's line)."""
    rows = _read_csv(path, "map", MAP_FILE)
    header = [h.strip() for h in rows[0]] if rows else []
    if {"student_id", "canvas"} - set(header):
        raise ValueError(
            f"map: {shown(path)} has columns {header}; expected 'student_id' and 'canvas'"
        )
    sid_at, canvas_at = header.index("student_id"), header.index("canvas")
    mapping = MapRows()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        # A "#" line is refused whatever it holds: one with a comma is two fields, and was read
        # as the student "# ..." (listed as unmatched), one without refused as one field.
        comment = row[0].strip().startswith("#")
        if comment or len(row) != len(header) or not row[sid_at].strip():
            raise ValueError(
                f"map: row {number} of {shown(path)} is {row}; expected {len(header)} fields, a "
                "student_id and its canvas value (empty: no Canvas row)"
                + ("; a map file has no comment lines: remove it" if comment else "")
            )
        sid, value = row[sid_at].strip(), row[canvas_at].strip()
        # A note after a value ("a.lee@uni.edu  # moved section") was read as part of it, and
        # the row then matched no one (listed, far from its cause). Refused, as comment lines.
        if note := next((cell for cell in (sid, value) if re.search(r"(?:^|\s)#", cell)), ""):
            raise ValueError(
                f"map: row {number} of {shown(path)} has {note!r}; expected a student_id and "
                "its canvas value alone: a map file has no comments (remove the '#' note)"
            )
        if sid in mapping:
            raise ValueError(
                f"map: student_id {sid!r} appears twice in {shown(path)} (lines "
                f"{mapping.line[sid]} and {number}, of canvas values {mapping[sid]!r} and "
                f"{value!r}); expected one row per student"
            )
        mapping[sid] = value
        mapping.line[sid] = number
    return mapping


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def fill_column(
    canvas: CanvasFile,
    column: str,
    grades: dict[str, CourseGrade],
    key: str = "SIS Login ID",
    mapping: dict[str, str] | None = None,
    missing: str = "blank",
    scale: bool = False,
    allow_unmatched: bool = False,
) -> tuple[list[list[str]], ExportReport]:
    """The rows of the import file (header first) and the report. Raises ValueError."""
    if key not in canvas.header or key not in ID_COLUMNS:
        present = [c for c in ID_COLUMNS if c in canvas.header]
        raise ValueError(
            f"key: {key!r} is not an identification column here; expected one of {present}"
        )
    if missing not in ("blank", "zero"):
        raise ValueError(f"missing: got {missing!r}; expected 'blank' or 'zero'")
    header = find_column(canvas.header, column)
    max_scores = {g.max_score for g in grades.values()}
    max_score = max_scores.pop() if max_scores else 0.0
    points = None
    for row in canvas.meta:
        if row[0].strip() == POINTS_POSSIBLE:
            text = row[canvas.header.index(header)].strip()
            if text == "(read only)":
                raise ValueError(
                    f"column: {header!r} is read-only in Canvas (a total); expected an "
                    "assignment column"
                )
            try:
                points = float(text) if text else None
            except ValueError:
                points = math.nan
            if points is not None and not (math.isfinite(points) and points >= 0):
                raise ValueError(
                    f"canvas: the {POINTS_POSSIBLE} of {header!r} is {text!r}; expected a number "
                    "of points (is the file a Canvas export?)"
                )
    if scale and not points:
        # Nothing to rescale to: the scores would go out unscaled, the --scale asked for unmet.
        raise ValueError(
            f"scale: the Canvas file gives {header!r} {'no' if points is None else '0'} "
            f"{POINTS_POSSIBLE}; expected a number of points above 0, to rescale the scores to "
            "(or leave out --scale)"
        )
    if points is not None and points != max_score and not scale:
        raise ValueError(
            f"scale: Canvas's {header!r} is worth {points:g} points, the assignment "
            f"{max_score:g}; pass --scale to rescale the scores, or fix the points in Canvas"
        )
    factor = points / max_score if scale and points is not None and max_score else 1.0
    report = ExportReport(header, key, points, max_score, factor != 1.0, missing=missing)

    by_key: dict[str, dict[str, str]] = {}
    row_of: dict[str, int] = {}  # normalised key -> the file's row, if read_canvas gave it
    keyless = []  # rows with nothing in the key column: they match no student
    for n, row in enumerate(canvas.students):
        value = _norm(row[key])
        number = canvas.rows[n] if n < len(canvas.rows) else None
        if not value:  # with its row, if known: the row to fill in Canvas (by name alone, a
            # name Canvas holds twice, or none, said not which)
            where = f", row {number} of the Canvas file" if number is not None else ""
            keyless.append(f"{row.get('Student', '').strip() or '(no name)'} (no {key}{where})")
            continue
        if value in by_key:
            # Which rows: a class of hundreds is not searched by eye (it said neither).
            where = (
                f" (rows {row_of[value]} and {number} of the Canvas file)"
                if number is not None and value in row_of
                else ""
            )
            raise ValueError(
                f"key: {row[key]!r} appears twice in the Canvas column {key!r}{where}; expected "
                "a column that names each student once (another --key)"
            )
        by_key[value] = row
        if number is not None:
            row_of[value] = number
    # The map's student ids are matched as the Canvas key is, ignoring case, surrounding spaces
    # and the Unicode normal form: a map typed on one system names a folder made on another.
    mapped_as: dict[str, str] = {}  # normalised student_id -> the map's own spelling
    map_lines = getattr(mapping, "line", {})  # a MapRows' (read_mapping), not a plain dict's

    def at_line(sid: str) -> str:
        """`` (map line N)``: where the map's row of ``sid`` (its own spelling) is, if known."""
        return f" (map line {map_lines[sid]})" if sid in map_lines else ""

    for sid in mapping or {}:
        if _norm(sid) in mapped_as:
            first = mapped_as[_norm(sid)]
            raise ValueError(
                f"map: the student_ids {first!r}{at_line(first)} and {sid!r}{at_line(sid)} are "
                "one id (ignoring case, surrounding spaces and the Unicode normal form); expected "
                "one row per student"
            )
        mapped_as[_norm(sid)] = sid
    mapping = {norm: mapping[sid] for norm, sid in mapped_as.items()}
    matched: dict[str, str] = {}  # normalised Canvas key -> value to write
    matched_by: dict[str, str] = {}  # normalised Canvas key -> the course student it has
    # A map row names the Canvas row of a folder; a course student who matches the same row by
    # its own id and submitted nothing is that student's roster entry (a roster imported by
    # Canvas ID, the work graded under a folder named after the student): the map's wins.
    by_map = {_norm(mapping[_norm(sid)]) for sid in grades if _norm(sid) in mapping}
    for sid in sorted(grades):
        target = _norm(mapping.get(_norm(sid), sid))
        if _norm(sid) not in mapping and target in by_map and grades[sid].status == "not submitted":
            continue
        if target not in by_key:
            if _norm(sid) in mapping:  # the map sends it nowhere: the map's row is the typo
                report.map_not_in_canvas.append(sid)
            else:
                report.unmatched_course.append(sid)
            continue
        if target in matched_by:
            other = matched_by[target]
            mapped = _norm(sid) in mapping or _norm(other) in mapping
            # Each mapped one with its map line: a Canvas value the map gives twice, or one
            # that is another student's own id.
            lines = {
                s: at_line(mapped_as[_norm(s)]) if _norm(s) in mapped_as else ""
                for s in (other, sid)
            }
            raise ValueError(
                f"{'map' if mapped else 'key'}: the course students {other!r}{lines[other]} "
                f"and {sid!r}{lines[sid]} both match the Canvas row whose {key} is "
                f"{by_key[target][key]!r}; expected one student per row "
                + ("(fix the map file)" if mapped else "(give --map)")
            )
        matched_by[target] = sid
        grade = grades[sid]
        if grade.status == "graded":
            matched[target] = _number(grade.score * factor)
        elif grade.status == "needs grading":
            report.needs_grading.append(sid)
            matched[target] = ""
        else:
            report.not_submitted.append(sid)
            matched[target] = "0" if missing == "zero" else ""
        if matched[target]:
            report.written[by_key[target][key]] = matched[target]
    report.unmatched_canvas = sorted(by_key[k][key] for k in by_key if k not in matched)
    # A map row for no student of the course maps nothing: its student matched by its own id.
    in_course = {_norm(sid) for sid in grades}
    # Each with its map line, as map_not_in_canvas's rows: the row to fix (it had none).
    report.unmatched_map = [
        f"{sid!r}{at_line(sid)}"
        for sid in sorted(mapped_as[n] for n in mapping if n not in in_course)
    ]
    mapped_nowhere = report.map_not_in_canvas
    report.look_alike = _look_alike(
        sorted(report.unmatched_course + mapped_nowhere), report.unmatched_canvas, key, mapping
    )

    def map_row(sid: str) -> str:
        """``sid``'s map row, as the report names it: where it sends the student, and its line."""
        return f"{sid!r} -> {mapping[_norm(sid)]!r}{at_line(mapped_as[_norm(sid)])}"

    report.map_not_in_canvas = [map_row(sid) for sid in mapped_nowhere]
    report.unmatched_canvas += keyless
    # A key that matches nobody writes an import that changes nothing: refused instead.
    wanted = "expected the Canvas column that holds nbgrader's student ids (--key), or a --map file"
    if grades and canvas.students and not by_key:
        raise ValueError(
            f"key: the Canvas column {key!r} is empty in every row, so no student can match; "
            + wanted
        )
    if grades and by_key and not matched:
        # Every student unmatched: the wrong key column (Canvas's numeric ID for a course whose
        # ids are e-mail addresses, say).
        ours = ", ".join(repr(s) for s in sorted(grades)[:3])
        theirs = ", ".join(repr(by_key[k][key]) for k in list(by_key)[:3])
        raise ValueError(
            f"key: no student of the course matches a Canvas row by {key!r} (the course's "
            f"student ids: {ours}...; Canvas's {key}: {theirs}...); {wanted}"
            + _other_keys(canvas, key, grades, mapping)
            + (
                f" (one number written two ways: {', '.join(report.look_alike)})"
                if report.look_alike
                else ""
            )
        )

    # A zero written for "no submission" beside course work that reaches no Canvas row: the
    # work may be one of those students' (a roster imported by Canvas ID, a submission graded
    # under a folder named after the student), and Canvas would take the 0 as their grade.
    zeros = [
        by_key[k]
        for k, sid in matched_by.items()
        if matched[k] == "0" and grades[sid].status == "not submitted"  # not a grade of 0
    ]
    orphans = [
        repr(sid) if sid in report.unmatched_course else map_row(sid) + " not in the Canvas file"
        for sid in sorted(report.unmatched_course + mapped_nowhere)
        if grades[sid].status != "not submitted"
    ]
    if zeros and orphans and not allow_unmatched:

        def who(row: dict[str, str]) -> str:
            name = row.get("Student", "").strip()
            return repr(row[key]) + (f" ({name})" if name else "")

        raise ValueError(
            f"missing: --missing zero would write 0 for no submission to {len(zeros)} Canvas "
            f"student(s) [{', '.join(shown(who(r)) for r in zeros)}] while {len(orphans)} "
            f"course student(s) with graded work match no Canvas row by {key!r} "
            f"[{', '.join(shown(s) for s in orphans)}]; is that work one of theirs? "
            "expected a --map row (student_id,canvas) for each such folder (or the map's row "
            "fixed), or, if the work is no one's in Canvas (an auditor's, a test student's), "
            "--allow-unmatched to write the zeros anyway"
        )

    columns = [c for c in ID_COLUMNS if c in canvas.header] + [header]
    positions = [canvas.header.index(c) for c in columns]
    out = [columns] + [[row[i] for i in positions] for row in canvas.meta]
    for row in canvas.students:
        value = matched.get(_norm(row[key]), "")
        out.append([row[c] for c in columns[:-1]] + [value])
    return out, report


def _as_number(value: str) -> str | None:
    """``value`` as a whole number without leading zeros or a ``.0`` ("00123", "123.0": "123"),
    or None if it is not one: a spreadsheet drops the zeros of an id it takes for a number, or
    writes it back with a decimal point."""
    text = _norm(value)
    whole, dot, zeros = text.partition(".")
    if not whole.isascii() or not whole.isdigit() or (dot and (not zeros or zeros.strip("0"))):
        return None
    return whole.lstrip("0") or "0"


def _look_alike(
    course: list[str], canvas_values: list[str], key: str, mapping: dict[str, str]
) -> list[str]:
    """The unmatched course students and Canvas rows that are one number written two ways,
    as "'123' and Canvas's '00123'" (by ``key``, or by the map's value for a mapped student).
    Listed, not matched: the ids differ, and the instructor knows whether they are one."""
    by_number: dict[str, list[str]] = {}
    for value in canvas_values:
        number = _as_number(value)
        if number is not None:
            by_number.setdefault(number, []).append(value)
    pairs = []
    for sid in course:
        number = _as_number(mapping.get(_norm(sid), sid))
        for value in by_number.get(number, []) if number is not None else []:
            pairs.append(f"{sid!r} and Canvas's {key} {value!r}")
    return pairs


def _other_keys(
    canvas: CanvasFile, key: str, grades: dict[str, CourseGrade], mapping: dict[str, str]
) -> str:
    """The identification columns other than ``key`` that match some of the course's students
    (as ``--key`` would match them; ``mapping`` keyed by normalised student id), for the message
    of a key that matches none: a course collected from Canvas by ``zip_collect`` is named by
    Canvas's ``ID``, which the default key is not."""
    wanted = {_norm(mapping.get(_norm(sid), sid)) for sid in grades}
    hits = []
    for column in ID_COLUMNS:
        if column != key and column != "Student" and column in canvas.header:
            count = len(wanted & {_norm(row[column]) for row in canvas.students})
            if count:
                hits.append(f"--key {column!r} matches {count} of the course's {len(grades)}")
    return f" ({'; '.join(hits)})" if hits else ""


def export_canvas(
    canvas_csv: Path,
    course: Path,
    assignment: str,
    column: str,
    out: Path,
    **options,
) -> ExportReport:
    """Read the Canvas export and the gradebook, write the import file and a JSON report.

    Every argument is checked before anything is written: ``ValueError`` naming it (or the
    grader's packages that are missing: :func:`lstm_grading.inputs.require_grader`).
    """
    require_grader()
    canvas_csv, course, out = Path(canvas_csv), Path(course), Path(out)
    mapping = options.pop("mapping", None)
    mapping = Path(mapping) if mapping is not None else None
    found = look("course", course, COURSE)
    if found is None or not stat.S_ISDIR(found.st_mode):
        raise ValueError(f"course: {shown(course)} is not a folder; expected {COURSE}")
    check_in_gradebook(resolved("course", course, COURSE) / "gradebook.db", assignment, "course")
    _input_file(canvas_csv, "canvas", CANVAS_FILE)
    if mapping is not None:
        _input_file(mapping, "map", MAP_FILE)
    check_output(out, [canvas_csv, course / "gradebook.db", *([mapping] if mapping else [])])
    rows, report = fill_column(
        read_canvas(canvas_csv),
        column,
        course_grades(course / "gradebook.db", assignment),
        mapping=read_mapping(mapping) if mapping is not None else None,
        **options,
    )
    try:  # each file whole or not at all: a full disk leaves an earlier export as it was
        write_text(out, csv_text(rows))
        write_text(out.with_suffix(".json"), json.dumps(asdict(report), indent=2) + "\n")
    except OSError as err:
        raise ValueError(f"out: cannot write {shown(err.filename)} ({err.strerror})") from None
    return report


def check_output(out: Path, inputs: list[Path]) -> None:
    """``out`` (and the JSON report beside it) can be written without replacing an input."""
    if out.suffix.lower() != ".csv":
        raise ValueError(f"out: got '{shown(out)}'; expected {OUT_FILE}")
    for written in (out, out.with_suffix(".json")):
        found = look("out", written, OUT_FILE)
        if found is not None and not stat.S_ISREG(found.st_mode):
            what = "a folder" if stat.S_ISDIR(found.st_mode) else "not a regular file"
            if written != out:
                what = f"whose report {shown(written)} is {what}"
            raise ValueError(f"out: got '{shown(out)}', {what}; expected {OUT_FILE}")
    folder = look("out", out.parent, OUT_FILE)
    if folder is None or not stat.S_ISDIR(folder.st_mode):
        raise ValueError(f"out: got '{shown(out)}', in no existing folder; expected {OUT_FILE}")
    for written in (out, out.with_suffix(".json")):
        for source in inputs:
            if resolved("out", written, OUT_FILE) == resolved("out", source, OUT_FILE):
                raise ValueError(
                    f"out: got '{shown(out)}', which would overwrite {shown(source)}; expected "
                    f"{OUT_FILE}, not one of the files read"
                )


#: What ``lstm-autograde export``'s exit status says, at the end of its ``--help``.
EXIT_STATUS = (
    "Exit status: 0 if the import file was written; 2 for an input refused or a file that "
    "cannot be read or written (one line saying why)."
)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="lstm-autograde export",
        description="Fill one assignment column of a Canvas gradebook export for import.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument(
        "--canvas", type=path_option, required=True, help="Canvas gradebook export (CSV)"
    )
    parser.add_argument("--column", required=True, help='Canvas assignment, e.g. "Problem set 1"')
    parser.add_argument("--assignment", required=True, help="nbgrader assignment id")
    parser.add_argument("--course", type=path_option, default=cwd(), help="course root (cwd)")
    parser.add_argument(
        "--key",
        default="SIS Login ID",
        help="Canvas column matched to nbgrader's student ids (default: %(default)s)",
    )
    parser.add_argument("--map", type=path_option, dest="mapping", help="CSV: student_id,canvas")
    parser.add_argument(
        "--missing",
        type=choice("blank", "zero"),
        default="blank",
        metavar="{blank,zero}",
        help="for a student without a submission (blank)",
    )
    parser.add_argument("--scale", action="store_true", help="rescale to Canvas's points")
    parser.add_argument(
        "--allow-unmatched",
        action="store_true",
        help="with --missing zero: write the zeros even while course students with graded "
        "work match no Canvas row",
    )
    parser.add_argument(
        "--out",
        type=path_option,
        default=Path("canvas-import.csv"),
        help="the import file to write, with a JSON report beside it (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        report = export_canvas(
            args.canvas,
            args.course,
            args.assignment,
            args.column,
            args.out,
            key=args.key,
            mapping=args.mapping,
            missing=args.missing,
            scale=args.scale,
            allow_unmatched=args.allow_unmatched,
        )
    except (ValueError, OSError) as err:
        print(f"lstm-autograde export: {err}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    print(f"import file: {args.out} (report: {args.out.with_suffix('.json')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
