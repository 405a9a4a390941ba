"""``nbgrader export`` plugin: nbgrader's CSV plus a ``status`` column.

nbgrader writes 0.0 both for a real zero and for a submission whose autograding failed (the
kernel died, the file is not a notebook, a cell hung beyond recovery): the gradebook marks the
latter "needs manual grade", the CSV does not. ``status`` says which: ``graded``,
``needs grading`` (look at the autograde log and grade it by hand) or ``not submitted``.
"""

import csv
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import CsvExportPlugin

from .report import csv_text, write_text


class CsvExportWithStatus(CsvExportPlugin):
    """The standard CSV export, then one more column per row from the gradebook."""

    def export(self, gradebook) -> None:
        super().export(gradebook)
        dest = self.to or "grades.csv"
        with open(dest, newline="") as f:
            reader = csv.DictReader(f)
            fields, rows = [*reader.fieldnames, "status"], list(reader)
        for row in rows:
            try:
                submission = gradebook.find_submission(row["assignment"], row["student_id"])
            except MissingEntry:
                row["status"] = "not submitted"
            else:
                row["status"] = "needs grading" if submission.needs_manual_grade else "graded"
        write_text(Path(dest), csv_text(rows, fields))  # never a half-written grades file
