"""nbgrader preprocessor for feedback pages: keep the hidden tests hidden (nbgrader #917, #1363).

Autograding puts the hidden tests back into the grade cells, and nbgrader's feedback shows
grade cells with their full source and the full traceback of any failure. This preprocessor,
run by ``nbgrader generate_feedback`` (see nbgrader_config.py), removes the
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` blocks again and reduces the error
output of every cell the course wrote (grade cells and read-only cells) to its last line,
``ErrorName: message``: the message says which check failed and why, the code that raised it
stays private. A student's own cells keep their whole traceback.
"""

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, GetGrades


class HideHiddenTests(ClearHiddenTests):
    """Strip hidden-test blocks from grade cells, error tracebacks from the course's cells."""

    # HTMLExporter configures this for every NbConvertBase; declared like GetGrades does so
    # that traitlets does not warn that the option is unrecognised.
    display_data_priority = GetGrades.display_data_priority

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "code" and utils.is_locked(cell):  # grade or read-only
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
