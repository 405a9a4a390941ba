"""The tests' nbgrader commands, forked from a process that has imported nbgrader (tests/course.py),
do what the same command started afresh (`python -m nbgrader`) does."""

import csv
import io
import os
import subprocess

import course as course_module
import pytest
from assignment_suite import max_points
from course import Course
from grading_corpus import ASSIGNMENT, ordinary, ordinary_scores

pytestmark = pytest.mark.slow  # each command starts nbgrader


@pytest.fixture(scope="module")
def courses(ps01_course, tmp_path_factory):
    """Two copies of one course with the same submission: one forked, one started afresh."""
    made = []
    for forked in (True, False):
        course = Course.copy_of(ps01_course, tmp_path_factory.mktemp("forks") / "c", forked)
        course.submit(STUDENT, ASSIGNMENT, ordinary(course.root, STUDENT))
        made.append(course)
    return made


STUDENT = "naive_sigmoid"  # one of grading_corpus.ORDINARY, which loses two grade cells


def test_the_same_commands_give_the_same_grades_files_and_status(courses):
    expected = ordinary_scores(max_points(ASSIGNMENT))[STUDENT]
    exports = []
    for course in courses:
        graded = course.autograde(ASSIGNMENT)
        assert graded.returncode == 0, graded.stdout[-3000:]
        assert course.scores(ASSIGNMENT) == {STUDENT: expected}
        result = course.nbgrader("export", "--to", "grades.csv")
        assert "Exporting grades to grades.csv" in result.stdout  # nbgrader's log, captured
        exports.append(list(csv.DictReader(io.StringIO((course.root / "grades.csv").read_text()))))
    assert exports[0] == exports[1]
    assert [(row["student_id"], float(row["score"])) for row in exports[0]] == [
        (STUDENT, sum(expected.values()))
    ]


def test_a_failing_command_fails_the_same_way(courses):
    results = [
        c.nbgrader("generate_assignment", "no_such_assignment", check=False) for c in courses
    ]
    assert results[0].returncode == results[1].returncode != 0
    for result in results:
        assert "no_such_assignment" in result.stdout, result.stdout


def test_a_course_config_that_cannot_be_applied_stops_every_command(courses, monkeypatch):
    """A cell limit nbgrader_config.py cannot read stops the command, whichever way it starts,
    and it writes nothing. (traitlets logs an exception raised by a config file and carries on
    without it: feedback made so showed the hidden tests and loaded MathJax from a CDN.) The
    command's own environment is what counts, not the fork server's (Course.nbgrader replaces
    the variable the test process has)."""
    monkeypatch.setenv("LSTM_GRADING_CELL_TIMEOUT", "7")
    for course in courses:
        for args in (
            ["autograde", ASSIGNMENT, "--force"],
            ["generate_feedback", ASSIGNMENT, "--force"],
            ["export", "--to", "stopped.csv"],
        ):
            before = sorted(p.relative_to(course.root) for p in course.root.rglob("*"))
            result = course.nbgrader(*args, check=False, cell_timeout=0)
            assert result.returncode == 1, result.stdout[-3000:]
            assert "nbgrader_config.py: ValueError: LSTM_GRADING_CELL_TIMEOUT" in result.stdout
            assert "nbgrader stopped: without this course's settings" in result.stdout
            assert sorted(p.relative_to(course.root) for p in course.root.rglob("*")) == before
    assert os.environ["LSTM_GRADING_CELL_TIMEOUT"] == "7"


def test_an_autograde_run_that_lost_a_port_is_run_again(monkeypatch, tmp_path):
    """jupyter_client's port race (course.PORT_RACE) reruns the whole autograde, at most twice
    more; any other failure is returned as it is, at once."""
    runs = []

    def fake(self, *args, check=True, cell_timeout=None):
        runs.append(args)
        return subprocess.CompletedProcess(args, 1, outputs.pop(0))

    monkeypatch.setattr(Course, "nbgrader", fake)
    course = Course(tmp_path)
    race = f"Traceback ...\n{course_module.PORT_RACE} (addr='tcp://127.0.0.1:45761')\n"
    outputs = [race, "graded\n"]
    assert course.autograde(ASSIGNMENT).stdout == "graded\n"
    assert len(runs) == 2 and runs[0] == runs[1] == ("autograde", ASSIGNMENT, "--force")
    runs.clear()
    outputs = ["There was an error processing assignment\n", "never read\n"]
    assert course.autograde(ASSIGNMENT).stdout.startswith("There was an error")
    assert len(runs) == 1
    runs.clear()
    outputs = [race] * 4
    assert course_module.PORT_RACE in course.autograde(ASSIGNMENT).stdout
    assert len(runs) == 1 + course_module.PORT_RACE_RETRIES
