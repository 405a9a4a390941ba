"""``nbgrader export`` plugin: nbgrader's CSV plus a ``status`` column.

nbgrader writes 0.0 both for a real zero and for a submission whose autograding failed (the
kernel died, the file is not a notebook, a cell hung beyond recovery): the gradebook marks the
latter "needs manual grade", the CSV does not. ``status`` says which: ``graded``,
``needs grading`` (look at the autograde log and grade it by hand) or ``not submitted``.

The rows are nbgrader's (``CsvExportPlugin``: the same columns, values and order), written by
Python's ``csv`` module: nbgrader joins the values with commas as they are, so a name with a
comma (``Smith, Jr.``, from ``nbgrader db student import``) or a quote shifted every later
column of its row.
"""

from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import CsvExportPlugin

from .report import csv_text, write_text

# nbgrader's CsvExportPlugin's columns, in its order (nbgrader/plugins/export.py).
COLUMNS = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
]


class CsvExportWithStatus(CsvExportPlugin):
    """The standard CSV export, quoted as CSV, then one more column per row from the gradebook."""

    def export(self, gradebook) -> None:
        dest = self.to or "grades.csv"
        students = [str(s) for s in self.student]
        assignments = [str(a) for a in self.assignment]
        self.log.info("Exporting grades to %s", dest)
        rows = []
        for assignment in gradebook.assignments:
            if assignments and assignment.name not in assignments:
                continue
            for student in gradebook.students:
                if students and student.id not in students:
                    continue
                row = {
                    "assignment": assignment.name,
                    "duedate": assignment.duedate,
                    "student_id": student.id,
                    "last_name": student.last_name,
                    "first_name": student.first_name,
                    "email": student.email,
                    "max_score": assignment.max_score,
                }
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0)
                    row.update(score=0.0, status="not submitted")
                else:
                    penalty = submission.late_submission_penalty
                    row.update(timestamp=submission.timestamp, raw_score=submission.score)
                    row.update(late_submission_penalty=penalty)
                    row.update(score=max(0.0, submission.score - penalty))
                    row["status"] = "needs grading" if submission.needs_manual_grade else "graded"
                rows.append({k: "" if v is None else str(v) for k, v in row.items()})
        write_text(Path(dest), csv_text(rows, [*COLUMNS, "status"]))  # never half-written
