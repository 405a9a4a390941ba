"""nbgrader's OverwriteCells without the warning that every hidden-test cell triggers.

A submitted test cell is the released one, which lacks the hidden tests, so its checksum never
matches the gradebook's and nbgrader warns ``Attribute 'checksum' for cell test_sigmoid has
changed!`` for every such cell of every student, as if they had tampered with it. This subclass
stays silent exactly when the submitted source is the source with its hidden tests stripped
(what the student was given); any other change is still reported (and the cell is restored
from the gradebook either way, as nbgrader does). Configured in nbgrader_config.py.

It also grades a cell whose grade id is not in the gradebook (a grade id the student edited)
as an ordinary cell (:meth:`OverwriteCellsQuietly.preprocess_cell`), and puts back every
deleted grade cell wherever it was (:meth:`OverwriteCellsQuietly.add_missing_grade_cells`),
where nbgrader 0.9.6 fails the whole submission on either.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, OverwriteCells


class OverwriteCellsQuietly(OverwriteCells):
    """OverwriteCells that does not report the expected checksum change of hidden-test cells,
    runs a cell with a grade id the gradebook lacks as an ordinary cell, and puts a deleted
    grade cell back wherever it was."""

    _as_released: bool = False
    _sources: dict[str, str] | None = None  # this notebook's source cells in the gradebook

    def preprocess(self, nb, resources):
        self._sources = None  # read at this notebook's first grade cell (_source_cells)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        self._as_released = False
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        look_up = grade_id is not None and "gradebook" in vars(self)
        sources = self._source_cells() if look_up else {}
        if look_up and grade_id not in sources:
            # nbgrader's OverwriteCells deletes only the grade id of such a cell (a grade cell
            # whose id the student edited, a cell pasted from another assignment) and keeps its
            # "grade" and "solution" flags: its add_missing_grade_cells then fails on the cell
            # with KeyError: 'grade_id', and the whole submission with it. The cell is the
            # student's, not the assignment's: it runs as an ordinary cell, and the grade cell
            # it replaced is put back from the gradebook (add_missing_cells), as if deleted.
            self.log.warning(
                "Cell %r is not in the gradebook (a grade id edited?): graded as an ordinary "
                "cell, without nbgrader's metadata",
                grade_id,
            )
            del cell.metadata["nbgrader"]
            return cell, resources
        source = sources.get(grade_id) if grade_id is not None else None
        if source is not None and "BEGIN HIDDEN TESTS" in source:
            released = NotebookNode(cell_type="code", source=source, metadata={})
            ClearHiddenTests(parent=self)._remove_hidden_test_region(released)
            self._as_released = cell.source == released.source
        return super().preprocess_cell(cell, resources, cell_index)

    def _source_cells(self) -> dict[str, str]:
        """Grade id to source of every source cell of this notebook in the gradebook ({} if
        the gradebook has no such notebook), read once per notebook. Two queries per grade
        cell, beside nbgrader's own, had cost 8 ms of a ps01 notebook's 39 (its 4 grade cells;
        the preprocessor alone, median of 4 runs of 60)."""
        if self._sources is None:
            try:
                notebook = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
            except MissingEntry:
                self._sources = {}
            else:
                self._sources = {cell.name: cell.source for cell in notebook.source_cells}
        return self._sources

    def add_missing_grade_cells(self, nb, resources):
        """Put back the grade cells the student deleted, each after the nearest cell before it
        in the source notebook that the submission has (at the top if none).

        nbgrader 0.9.6 puts one only after the cell just before it, and looks that cell up among
        the submission's grade and solution cells only: a grade cell that follows a read-only
        cell (ps03's test_step_shapes follows its `tools` cell), or that was deleted with the
        cell before it, or a notebook with no cells, failed the whole submission with
        ``KeyError: '<that cell>'`` instead.
        """
        source = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source.source_cells]
        cells = {cell.name: cell for cell in source.source_cells}
        grades = {cell.name: cell for cell in source.grade_cells}
        solutions = {cell.name for cell in source.solution_cells}

        def position(name):
            for i, cell in enumerate(nb.cells):
                if cell.metadata.get("nbgrader", {}).get("grade_id") == name:
                    return i
            return None

        for index, name in enumerate(order):
            if name not in grades or position(name) is not None:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", name)
            before = (position(earlier) for earlier in reversed(order[:index]))
            at = next((i + 1 for i in before if i is not None), 0)
            cell = self.missing_cell_transform(
                cells[name], grades[name].max_score, is_solution=name in solutions
            )
            nb.cells.insert(at, cell)
        return nb, resources

    def report_change(self, name, attr, old, new):
        if attr == "checksum" and self._as_released:
            self.log.debug("cell %s: the hidden tests stripped at release (expected)", name)
            return
        super().report_change(name, attr, old, new)
