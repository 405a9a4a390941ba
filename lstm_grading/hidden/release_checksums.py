"""nbgrader's OverwriteCells without the warning that every hidden-test cell triggers.

A submitted test cell is the released one, which lacks the hidden tests, so its checksum never
matches the gradebook's and nbgrader warns ``Attribute 'checksum' for cell test_sigmoid has
changed!`` for every such cell of every student, as if they had tampered with it. This subclass
stays silent exactly when the submitted source is the source with its hidden tests stripped
(what the student was given); any other change is still reported (and the cell is restored
from the gradebook either way, as nbgrader does). Configured in nbgrader_config.py.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, OverwriteCells


class OverwriteCellsQuietly(OverwriteCells):
    """OverwriteCells that does not report the expected checksum change of hidden-test cells."""

    _as_released: bool = False

    def preprocess_cell(self, cell, resources, cell_index):
        self._as_released = False
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and "gradebook" in vars(self):
            try:
                source = self.gradebook.find_source_cell(
                    grade_id, self.notebook_id, self.assignment_id
                ).source
            except Exception:  # nbgrader itself reports a missing cell
                source = None
            if source is not None and "BEGIN HIDDEN TESTS" in source:
                released = NotebookNode(cell_type="code", source=source, metadata={})
                ClearHiddenTests(parent=self)._remove_hidden_test_region(released)
                self._as_released = cell.source == released.source
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        if attr == "checksum" and self._as_released:
            self.log.debug("cell %s: the hidden tests stripped at release (expected)", name)
            return
        super().report_change(name, attr, old, new)
