"""Grades back to Canvas (lstm_grading.canvas), on a gradebook export in Canvas's own layout.

The fixture follows the layout of Canvas's "Export Entire Gradebook" CSV as Instructure's guide
"How do I export grades in the Gradebook?" describes it and as Canvas writes it: a header with
Student, ID, SIS User ID, SIS Login ID, Section, one "Name (assignment id)" column per
assignment and read-only totals; then a "Points Possible" row whose first cell is indented and
whose read-only cells say "(read only)"; then one row per student, the test student included.
The gradebook is a real nbgrader gradebook.db, filled through nbgrader's own API.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import pytest
from course import run_forked
from nbgrader.api import Gradebook

from lstm_grading import canvas, cli

CANVAS_EXPORT = """\
\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Problem set 1 (123456),Problem set 2 (123457),\
Current Points,Final Points,Current Score,Unposted Current Score,Final Score,Unposted Final Score
    Points Possible,,,,,16.00,20.00,(read only),(read only),(read only),(read only),(read only),\
(read only)
"Doe, Jane",1001,S1001,JDoe@uni.example,LSTM 101,,12.00,12.00,12.00,60.00,60.00,33.33,33.33
"Lee, Ann",1002,S1002,alee@uni.example,LSTM 101,3.00,,3.00,3.00,18.75,18.75,8.33,8.33
"Roe, Rick",1003,S1003,rroe@uni.example,LSTM 101,,,,,,,,
"Zhu, Mei",1004,S1004,mzhu@uni.example,LSTM 101,,,,,,,,
"Student, Test",1099,,test_student_abc,LSTM 101,,,,,,,,
"""


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory, empty_gradebook):
    """A gradebook with ps01 (10 + 6 points) and five students in every state."""
    path = empty_gradebook(tmp_path_factory.mktemp("gradebook") / "gradebook.db")
    fill(path)
    return path


def fill(path):
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment("ps01")
        gb.add_notebook("ps01", "ps01")
        gb.add_grade_cell("test_a", "ps01", "ps01", max_score=10, cell_type="code")
        gb.add_grade_cell("test_b", "ps01", "ps01", max_score=6, cell_type="code")
        for sid in ["jdoe@uni.example", "alee@uni.example", "rroe@uni.example", "mzhu@uni.example"]:
            gb.add_student(sid)
        gb.add_student("visitor")  # in the course, not in Canvas
        scores = {  # (test_a, test_b, needs manual grade)
            "jdoe@uni.example": (10.0, 5.5, False),
            "alee@uni.example": (4.0, 0.0, False),
            "rroe@uni.example": (0.0, 0.0, True),  # autograding failed
            "visitor": (10.0, 6.0, False),
        }
        for sid, (a, b, manual) in scores.items():  # mzhu submitted nothing
            add_graded(gb, sid, {"test_a": a, "test_b": b}, manual)


def add_graded(gb, sid, scores, manual=False, assignment="ps01"):
    """Adds to ``gb`` a submission of ``assignment`` (its one notebook of the same name) by
    the student ``sid``, autograded ``scores`` ({grade cell: score}), marked as needing
    manual grading if ``manual``."""
    with gb.db.no_autoflush:
        gb.add_submission(assignment, sid)
    for cell, score in scores.items():
        grade = gb.find_grade(cell, assignment, assignment, sid)
        grade.auto_score, grade.needs_manual_grade = score, manual
    gb.db.commit()


@pytest.fixture
def course(gradebook, tmp_path):
    """A course folder: a copy of the gradebook, and the Canvas export beside it."""
    shutil.copy(gradebook, tmp_path / "gradebook.db")
    (tmp_path / "Grades-LSTM.csv").write_text(CANVAS_EXPORT, encoding="utf-8")
    return tmp_path


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.mark.processes
def test_fills_one_column_and_reports_every_student(course):
    out = course / "import.csv"
    report = canvas.export_canvas(course / "Grades-LSTM.csv", course, "ps01", "Problem set 1", out)
    rows = read_rows(out)
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Problem set 1 (123456)",
    ]
    assert rows[1][0].strip() == "Points Possible" and rows[1][-1] == "16.00"
    by_login = {r[3]: r[-1] for r in rows[2:]}
    # Matched ignoring case (JDoe@ in Canvas); a blank leaves Canvas's grade as it is.
    assert by_login == {
        "JDoe@uni.example": "15.5",
        "alee@uni.example": "4",
        "rroe@uni.example": "",  # needs manual grading
        "mzhu@uni.example": "",  # no submission
        "test_student_abc": "",
    }
    assert report.needs_grading == ["rroe@uni.example"]
    assert report.not_submitted == ["mzhu@uni.example"]
    assert report.unmatched_canvas == ["test_student_abc"]
    assert report.unmatched_course == ["visitor"]
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["written"] == {"JDoe@uni.example": "15.5", "alee@uni.example": "4"}


def test_missing_as_zero_and_a_mapping_file(course):
    mapping = course / "map.csv"
    mapping.write_text("student_id,canvas\nvisitor,1003\nrroe@uni.example,1099\n")
    out = course / "import.csv"
    report = canvas.export_canvas(
        course / "Grades-LSTM.csv",
        course,
        "ps01",
        "Problem set 1 (123456)",
        out,
        key="ID",
        mapping=mapping,
        missing="zero",
    )
    by_id = {r[1]: r[-1] for r in read_rows(out)[2:]}
    # jdoe, alee and mzhu are not Canvas IDs and have no mapping: unmatched on both sides.
    assert by_id == {"1001": "", "1002": "", "1003": "16", "1004": "", "1099": ""}
    assert report.unmatched_course == ["alee@uni.example", "jdoe@uni.example", "mzhu@uni.example"]
    assert report.unmatched_canvas == ["1001", "1002", "1004"]
    assert report.needs_grading == ["rroe@uni.example"]


def test_a_map_row_for_no_student_of_the_course_is_listed(course, capsys):
    """A typo in the map's student_id (``alee@uni.exmaple``): the row maps no one, and the
    student it meant is matched by its own id, if at all. The report lists the map's id
    (found in an instructor's walk: before, only the two unmatched sides were listed, and not
    why)."""
    mapping = course / "map.csv"
    mapping.write_text("student_id,canvas\nalee@uni.exmaple,1002\nvisitor,1003\n")
    out = course / "import.csv"
    argv = ["--canvas", str(course / "Grades-LSTM.csv"), "--column", "Problem set 1"]
    argv += ["--assignment", "ps01", "--course", str(course), "--key", "ID"]
    assert canvas.main([*argv, "--map", str(mapping), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # With the map's line, as the other map problems have it (a review: it had none).
    listed = "'alee@uni.exmaple' (map line 2)"
    assert f"1 in the map file but not in the course (a typo?): {listed}" in lines
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["unmatched_map"] == [listed]
    assert "alee@uni.example" in report["unmatched_course"]
    assert "1002" in report["unmatched_canvas"]


def test_missing_zero_writes_zero_for_no_submission(course):
    out = course / "import.csv"
    # 'visitor' (graded, no Canvas row) is not mzhu's work: the zero is meant.
    report = canvas.export_canvas(
        course / "Grades-LSTM.csv",
        course,
        "ps01",
        "Problem set 1",
        out,
        missing="zero",
        allow_unmatched=True,
    )
    assert {r[3]: r[-1] for r in read_rows(out)[2:]}["mzhu@uni.example"] == "0"
    assert report.not_submitted == ["mzhu@uni.example"]


def test_missing_zero_needs_the_student_in_the_gradebook(course, capsys):
    """A student who submitted nothing at all is not in gradebook.db (autograding adds those who
    submitted; zip_collect adds no one), so ``--missing zero`` leaves their row blank: the line
    that lists them says so and how to add them, and once added (what ``nbgrader db student
    add`` does) they get 0. Found in an instructor's walk: before, the line was the same as
    without ``--missing zero``, and the guide promised 0 for "no submission"."""
    export = course / "Grades-LSTM.csv"
    with open(export, "a", encoding="utf-8") as f:
        f.write('"Nobody, Ned",1005,S1005,nned@uni.example,LSTM 101,,,,,,,,\n')
    out = course / "import.csv"
    argv = ["--canvas", str(export), "--column", "Problem set 1", "--assignment", "ps01"]
    argv += ["--course", str(course), "--allow-unmatched"]  # 'visitor' is no one's in Canvas
    argv += ["--missing", "zero", "--out", str(out)]
    assert canvas.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(x for x in lines if "in the Canvas file but not in the course" in x)
    assert "left blank, even with --missing zero" in line, line
    assert "nbgrader db student add -- ID" in line and line.endswith(
        "nned@uni.example, test_student_abc"
    )
    assert {r[3]: r[-1] for r in read_rows(out)[2:]}["nned@uni.example"] == ""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_student("nned@uni.example")  # nbgrader db student add's call
    assert canvas.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "1 in the Canvas file but not in the course (left blank" in " ".join(lines)
    assert {r[3]: r[-1] for r in read_rows(out)[2:]}["nned@uni.example"] == "0"
    # Without --missing zero, blank is what the student gets anyway: no hint.
    assert canvas.main([*argv[:-4], "--out", str(out)]) == 0
    assert "even with" not in capsys.readouterr().out


def test_points_mismatch_needs_scale(course):
    out = course / "import.csv"
    with pytest.raises(ValueError, match=r"scale: .* worth 20 points, the assignment 16"):
        canvas.export_canvas(course / "Grades-LSTM.csv", course, "ps01", "Problem set 2", out)
    report = canvas.export_canvas(
        course / "Grades-LSTM.csv", course, "ps01", "Problem set 2", out, scale=True
    )
    assert report.scaled
    # 15.5 of 16 is 19.375 of 20, written to two decimals.
    assert {r[3]: r[-1] for r in read_rows(out)[2:]}["JDoe@uni.example"] == "19.38"


@pytest.mark.parametrize("points", ["", "0.00", None])
def test_scale_without_points_to_scale_to_is_refused(course, points):
    """--scale with no Points Possible for the column (the cell empty, 0, or no such row at
    all) has nothing to rescale to: refused, naming --scale, rather than the scores written
    unscaled without a word (found in an instructor's walk: a file without the row, --scale,
    and 12-point scores went out for a 10-point Canvas assignment)."""
    lines = CANVAS_EXPORT.splitlines(keepends=True)
    if points is None:
        lines = [x for x in lines if "Points Possible" not in x]
    else:
        lines[1] = lines[1].replace(",16.00,", f",{points},", 1)
    (course / "Grades-LSTM.csv").write_text("".join(lines), encoding="utf-8")
    out = course / "import.csv"
    given = "0" if points == "0.00" else "no"  # an empty cell gives no points either
    message = f"scale: the Canvas file gives 'Problem set 1 (123456)' {given} Points Possible; "
    with pytest.raises(ValueError, match=re.escape(message)):
        canvas.export_canvas(
            course / "Grades-LSTM.csv", course, "ps01", "Problem set 1", out, scale=True
        )
    assert not out.exists()


@pytest.mark.parametrize("scale", [False, True])
def test_negative_points_possible_are_refused(course, scale):
    """A "Points Possible" of -10 is no number of points Canvas would hold: the file is refused
    whole, naming the column and the value, rather than read as a mismatch (the --scale
    message) or, with --scale, used to turn every score negative."""
    text = CANVAS_EXPORT.replace(",16.00,", ",-10.00,", 1)
    (course / "Grades-LSTM.csv").write_text(text, encoding="utf-8")
    out = course / "import.csv"
    with pytest.raises(ValueError) as raised:
        canvas.export_canvas(
            course / "Grades-LSTM.csv", course, "ps01", "Problem set 1", out, scale=scale
        )
    assert str(raised.value) == (
        "canvas: the Points Possible of 'Problem set 1 (123456)' is '-10.00'; expected a number "
        "of points (is the file a Canvas export?)"
    )
    assert not out.exists() and not out.with_suffix(".json").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"column": "Problem set 9"},
            r"column: no assignment column 'Problem set 9'.*'Problem set 1 \(123456\)'",
        ),
        ({"key": "Email"}, r"key: 'Email' is not an identification column here"),
        ({"assignment": "ps09"}, r"assignment: no assignment 'ps09' .* 'ps01'"),
        ({"missing": "skip"}, r"missing: got 'skip'; expected 'blank' or 'zero'"),
    ],
)
def test_bad_arguments_name_what_they_got(course, kwargs, message):
    args = {"assignment": "ps01", "column": "Problem set 1", **kwargs}
    with pytest.raises(ValueError, match=message):
        canvas.export_canvas(
            course / "Grades-LSTM.csv",
            course,
            args.pop("assignment"),
            args.pop("column"),
            course / "import.csv",
            **args,
        )
    assert not (course / "import.csv").exists()


@pytest.mark.parametrize("column", ["Problem set 1", "Problem set 1 (123456)"])
def test_two_byte_identical_assignment_headers_get_advice_that_can_help(course, column):
    """A file with "Problem set 1 (123456)" twice (two exports pasted together, a column copied
    by hand): the short name used to get "give the full header, with its id", which matches
    both just the same, and the full header filled the first of them without a word. Both
    are refused, naming the columns and a remedy that works."""
    text = CANVAS_EXPORT.replace("Problem set 2 (123457)", "Problem set 1 (123456)", 1)
    (course / "Grades-LSTM.csv").write_text(text, encoding="utf-8")
    out = course / "import.csv"
    with pytest.raises(ValueError) as raised:
        canvas.export_canvas(course / "Grades-LSTM.csv", course, "ps01", column, out)
    message = str(raised.value)
    # Columns 6 and 7: CANVAS_EXPORT's header, counted from 1.
    assert message.startswith(
        "canvas: the Canvas file has 2 columns headed 'Problem set 1 (123456)', byte for byte "
        "the same (columns 6, 7)"
    ), message
    assert "export the gradebook from Canvas again" in message
    assert "give the full header" not in message and not out.exists()


def test_a_doubled_identification_column_is_refused(course):
    """Two "SIS Login ID" columns: the key was read from the last and copied from the first."""
    text = CANVAS_EXPORT.replace("Section,Problem", "SIS Login ID,Problem", 1)
    (course / "Grades-LSTM.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"^canvas: .* 2 columns headed 'SIS Login ID'.*4, 5\)"):
        canvas.export_canvas(
            course / "Grades-LSTM.csv", course, "ps01", "Problem set 1", course / "import.csv"
        )


def test_a_key_that_matches_no_student_is_refused_before_writing(course):
    """--key ID (Canvas's numeric user ids) for a course whose student ids are e-mail
    addresses: not one row matches, so an import would change nothing; the command says which
    ids it compared instead of writing an empty import and reporting success."""
    out = course / "import.csv"
    with pytest.raises(ValueError) as raised:
        canvas.export_canvas(
            course / "Grades-LSTM.csv", course, "ps01", "Problem set 1", out, key="ID"
        )
    message = str(raised.value)
    assert message.startswith("key: no student of the course matches a Canvas row by 'ID'")
    assert "'alee@uni.example'" in message and "'1001'" in message and "--map" in message
    assert not out.exists() and not out.with_suffix(".json").exists()
    # The column that would have matched is named, with how many of the course it matches:
    # jdoe, alee, rroe and mzhu of the fixture's five (visitor is in no Canvas row).
    assert message.endswith("(--key 'SIS Login ID' matches 4 of the course's 5)"), message


def test_the_default_key_for_a_course_collected_from_canvas_names_the_id_column(course):
    """A course collected by zip_collect is named by Canvas's numeric ID; the export's default
    key, SIS Login ID, matches none of it: the refusal names --key 'ID', which does (found in
    an instructor's walk: the README's export command has no --key)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for n, login in enumerate(["jdoe", "alee", "rroe", "mzhu"], start=1001):
            # named as zip_collect and the grader would have named them: the fixture's ID
            gb.find_student(f"{login}@uni.example").id = str(n)
        gb.db.commit()
    out = course / "import.csv"
    with pytest.raises(ValueError) as raised:
        canvas.export_canvas(course / "Grades-LSTM.csv", course, "ps01", "Problem set 1", out)
    assert str(raised.value).endswith("(--key 'ID' matches 4 of the course's 5)"), raised.value


def test_a_key_column_empty_in_every_row_is_refused_before_writing(course):
    """Integration ID, a key the guide offers, is often blank in Canvas: with it, no row can
    match, and the command says so rather than write an import that changes nothing."""
    header, points, *students = CANVAS_EXPORT.splitlines()
    text = "\n".join(
        [
            header.replace("SIS Login ID,", "SIS Login ID,Integration ID,"),
            points.replace(",,,,", ",,,,,", 1),
        ]
        + [
            row.replace("@uni.example,", "@uni.example,,").replace("abc,", "abc,,")
            for row in students
        ]
    )
    (course / "Grades-LSTM.csv").write_text(text + "\n", encoding="utf-8")
    out = course / "import.csv"
    with pytest.raises(
        ValueError, match=r"^key: the Canvas column 'Integration ID' is empty in every row"
    ):
        canvas.export_canvas(
            course / "Grades-LSTM.csv", course, "ps01", "Problem set 1", out, key="Integration ID"
        )
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_a_row_without_the_key_is_listed_not_dropped(course):
    """The test student has no SIS User ID: with that key its row matches nobody, and the
    report lists it by name (it used to vanish from every list)."""
    text = CANVAS_EXPORT.replace("S1001", "jdoe@uni.example").replace("S1002", "alee@uni.example")
    (course / "Grades-LSTM.csv").write_text(text, encoding="utf-8")
    report = canvas.export_canvas(
        course / "Grades-LSTM.csv",
        course,
        "ps01",
        "Problem set 1",
        course / "import.csv",
        key="SIS User ID",
    )
    assert report.written == {"jdoe@uni.example": "15.5", "alee@uni.example": "4"}
    # Row 7 of CANVAS_EXPORT: the header, Points Possible, then the test student 5th of 5.
    listed = "Student, Test (no SIS User ID, row 7 of the Canvas file)"
    assert report.unmatched_canvas == ["S1003", "S1004", listed]
    assert listed in "\n".join(report.lines())


def test_not_a_canvas_file(course):
    bad = course / "grades.csv"
    bad.write_text("student_id,score\nalice,3\n")
    with pytest.raises(ValueError, match="no 'Student' and 'ID' header"):
        canvas.read_canvas(bad)


def test_the_gradebook_is_left_untouched(course):
    before = (course / "gradebook.db").read_bytes()
    canvas.export_canvas(
        course / "Grades-LSTM.csv", course, "ps01", "Problem set 1", course / "import.csv"
    )
    assert (course / "gradebook.db").read_bytes() == before


def test_command_line(course, capsys):
    out = course / "import.csv"
    code = canvas.main(
        [
            "--canvas", str(course / "Grades-LSTM.csv"),
            "--column", "Problem set 1",
            "--assignment", "ps01",
            "--course", str(course),
            "--out", str(out),
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "2 grades written to 'Problem set 1 (123456)'" in printed
    assert "1 did not submit: mzhu@uni.example" in printed
    assert "1 in the course but not in the Canvas file (left out): visitor" in printed
    code = canvas.main(
        ["--canvas", str(course / "nope.csv"), "--column", "x", "--assignment", "ps01"]
    )
    assert code == 2
    assert "lstm-autograde export:" in capsys.readouterr().err


def test_lstm_autograde_export_is_the_canvas_command(course, capsys):
    """`lstm-autograde export ...` reaches the same command."""
    out = course / "import.csv"
    code = cli.main(
        [
            "export",
            "--canvas", str(course / "Grades-LSTM.csv"),
            "--column", "Problem set 1",
            "--assignment", "ps01",
            "--course", str(course),
            "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0 and out.is_file()
    assert "2 grades written" in capsys.readouterr().out


@pytest.mark.slow  # starts lstm-autograde in a private mount namespace
def test_a_full_disk_leaves_the_earlier_export_whole(course, tmp_path):
    """`--out` on a tmpfs that fills up (in a private mount namespace): one line naming the
    file and the error, exit status 2, and the earlier export and its report as they were."""
    trial = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    if trial.returncode != 0:
        pytest.skip(f"cannot create a mount namespace here: {trial.stderr.decode().strip()}")
    mnt, log = tmp_path / "out", tmp_path / "log"
    mnt.mkdir()
    earlier = "Student,ID\nan earlier export,1\n"
    argv = [
        sys.executable, "-m", "lstm_grading.cli", "export",
        "--canvas", str(course / "Grades-LSTM.csv"), "--column", "Problem set 1",
        "--assignment", "ps01", "--course", str(course), "--out", f"{mnt}/import.csv",
    ]  # fmt: skip
    script = "\n".join(
        [
            "set -u",
            f"mount -t tmpfs -o size=64k tmpfs {mnt}",
            f"printf '{earlier}' > {mnt}/import.csv",
            f"printf '{{}}' > {mnt}/import.json",
            f"cat /dev/zero > {mnt}/filler 2>/dev/null",  # until the disk is full
            f"{shlex.join(argv)} > {log}.out 2> {log}.err; echo $? > {log}.rc",
            f"cp {mnt}/import.csv {mnt}/import.json {tmp_path}/",
            f"ls -A {mnt} > {log}.ls",
        ]
    )
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    err = (tmp_path / "log.err").read_text()
    assert int((tmp_path / "log.rc").read_text()) == 2, err
    assert err.startswith("lstm-autograde export: out: cannot write ")
    assert "(No space left on device)" in err and "Traceback" not in err
    assert (tmp_path / "import.csv").read_text() == earlier
    assert (tmp_path / "import.json").read_text() == "{}"
    assert (tmp_path / "log.ls").read_text().split() == ["filler", "import.csv", "import.json"]


ROOT = Path(__file__).resolve().parents[1]


def canvas_course(tmp_path: Path) -> tuple[str, Path, Path]:
    """A course in ``tmp_path`` for ``nbgrader zip_collect``: the course's nbgrader_config.py and
    ps01's release; returns the assignment id, the release notebook and the (empty) folder
    downloaded/<id>/archive/ where Canvas's downloads go."""
    a = "ps01_activations"
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "exercises" / a).mkdir(parents=True)
    release = ROOT / "exercises" / a / f"{a}.ipynb"
    shutil.copy(release, tmp_path / "exercises" / a)
    archive = tmp_path / "downloaded" / a / "archive"
    archive.mkdir(parents=True)
    return a, release, archive


def submitted_texts(course: Path) -> dict[str, str]:
    """Every file under the course's submitted/ folder, by path under it, with its text."""
    return {
        str(p.relative_to(course / "submitted")): p.read_text()
        for p in (course / "submitted").rglob("*")
        if p.is_file()
    }


@pytest.mark.processes
def test_canvas_downloads_are_collected_by_nbgrader_zip_collect(tmp_path):
    """The course's nbgrader_config.py names Canvas's files for ``nbgrader zip_collect``: the
    zip of "Download Submissions" and loose files in downloaded/<id>/archive/, a late one and
    one re-uploaded under the same name (-1) among them, land in submitted/<Canvas user id>/."""
    a, release, archive = canvas_course(tmp_path)
    notebooks = {  # Canvas's name -> the student id, and the notebook's text
        f"doejane_1001_6789012_{a}.ipynb": "1001",
        f"leeann_LATE_1002_6789013_{a}-1.ipynb": "1002",
        f"roerick_1003_6789014_{a}.ipynb": "1003",
    }
    text = {
        sid: release.read_text().replace("sigmoid", f"sigmoid{sid}")
        for sid in ("1001", "1002", "1003")
    }
    with zipfile.ZipFile(archive / "submissions.zip", "w") as z:
        for name, sid in list(notebooks.items())[:2]:
            z.writestr(name, text[sid])
    name, sid = list(notebooks.items())[2]
    (archive / name).write_text(text[sid])
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "zip_collect", a],
        cwd=tmp_path,
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    collected = submitted_texts(tmp_path)
    assert collected == {f"{sid}/{a}/{a}.ipynb": text[sid] for sid in text}
    # The ids are Canvas's ID column: `lstm-autograde export --key ID` matches them.
    ids = [row["ID"] for row in csv.DictReader(CANVAS_EXPORT.lstrip("\ufeff").splitlines())]
    assert set(text) <= set(ids)


@pytest.mark.processes
def test_a_second_canvas_download_is_collected_alone_and_with_force(tmp_path):
    """instructor guide, 4. Collect: two downloads in the archive folder with a student in both
    stop `nbgrader zip_collect` with the message the guide quotes, and nothing is collected;
    a second `zip_collect` without `--force` stops at "Directory not empty"; with the latest
    download alone and `--force`, each student's submitted folder is that download's (found in
    an instructor's walk through a class: a second download collected no one)."""
    a, release, archive = canvas_course(tmp_path)
    first, later = release.read_text(), release.read_text().replace("sigmoid", "sigmoid_v2")
    with zipfile.ZipFile(archive / "submissions.zip", "w") as z:
        z.writestr(f"doejane_1001_6789012_{a}.ipynb", first)
    with zipfile.ZipFile(archive / "submissions (1).zip", "w") as z:  # Canvas's second download
        z.writestr(f"doejane_1001_6789015_{a}-1.ipynb", later)
        z.writestr(f"leeann_LATE_1002_6789016_{a}.ipynb", later)

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def zip_collect(*options):  # forked from a process that has imported nbgrader once
        return run_forked(["zip_collect", a, *options], tmp_path, env)

    guide = " ".join((ROOT / "book" / "instructor-guide.md").read_text().split())
    duplicate = "Duplicate submission file. No timestamps for comparison"
    assert f"*{duplicate}* (exit status 1)" in guide and "*Directory not empty*" in guide
    done = zip_collect()
    assert done.returncode == 1 and duplicate in done.stdout, done.stdout
    assert not (tmp_path / "submitted").exists()
    (archive / "submissions.zip").unlink()
    done = zip_collect()
    assert done.returncode == 1 and "Directory not empty" in done.stdout, done.stdout
    done = zip_collect("--force")
    assert done.returncode == 0, done.stdout
    collected = submitted_texts(tmp_path)
    assert collected == {f"1001/{a}/{a}.ipynb": later, f"1002/{a}/{a}.ipynb": later}


@pytest.mark.processes
def test_one_submission_with_a_file_twice_stops_zip_collect_for_everyone(tmp_path):
    """instructor guide, 4. Collect: one download in which a student's submission holds the
    notebook twice (Canvas's ``-1`` on the second upload of one name, a file with its own id)
    stops `nbgrader zip_collect` with the duplicate message, and no student of the class is
    collected; with one of the two taken out of the zip, `zip_collect --force` collects everyone
    (found in an instructor's walk: the guide named the message for two downloads only)."""
    a, release, archive = canvas_course(tmp_path)
    first, second = release.read_text(), release.read_text().replace("sigmoid", "sigmoid_v2")
    files = {
        f"doejane_1001_6789012_{a}.ipynb": first,
        f"doejane_1001_6789014_{a}-1.ipynb": second,  # a new upload: its own file id
        f"leeann_1002_6789013_{a}.ipynb": first,
    }
    with zipfile.ZipFile(archive / "submissions.zip", "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    guide = " ".join((ROOT / "book" / "instructor-guide.md").read_text().split())
    assert "One download stops the same way, for the whole class, if a student's" in guide
    done = run_forked(["zip_collect", a], tmp_path, env)
    duplicate = "Duplicate submission file. No timestamps for comparison"
    assert done.returncode == 1 and duplicate in done.stdout, done.stdout
    assert not (tmp_path / "submitted").exists()  # leeann, alone in her submission, neither
    del files[f"doejane_1001_6789012_{a}.ipynb"]
    with zipfile.ZipFile(archive / "submissions.zip", "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    done = run_forked(["zip_collect", a, "--force"], tmp_path, env)
    assert done.returncode == 0, done.stdout
    assert submitted_texts(tmp_path) == {
        f"1001/{a}/{a}.ipynb": second,
        f"1002/{a}/{a}.ipynb": first,
    }


def test_the_guides_export_command_as_printed_fills_a_course_collected_from_canvas(
    empty_gradebook, tmp_path, monkeypatch, capsys
):
    """The guide's export command, copied as printed, on a course whose student ids are what
    the course's `nbgrader zip_collect` makes of Canvas's downloads: Canvas's numeric user ids
    (the ID column). Without `--key ID` it matched no one (the default key is SIS Login ID)
    and wrote nothing."""
    guide = (ROOT / "book" / "instructor-guide.md").read_text()
    start = guide.index(".venv/bin/lstm-autograde export")
    command = guide[start : guide.index("```", start)].replace("\\\n", " ")
    words = shlex.split(command)
    assert words[:2] == [".venv/bin/lstm-autograde", "export"], words
    args = dict(zip(words[2::2], words[3::2], strict=True))
    path = empty_gradebook(tmp_path / "gradebook.db")
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment(args["--assignment"])
        gb.add_notebook(args["--assignment"], args["--assignment"])
        gb.add_grade_cell("test_a", args["--assignment"], args["--assignment"], max_score=16,
                          cell_type="code")  # fmt: skip
        for sid, score in [("1001", 12.0), ("1002", 3.0)]:  # CANVAS_EXPORT's IDs
            gb.add_student(sid)
            add_graded(gb, sid, {"test_a": score}, assignment=args["--assignment"])
    header = CANVAS_EXPORT.replace("Problem set 1 (", f"{args['--column']} (", 1)
    (tmp_path / args["--canvas"]).write_text(header, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the course root, as the guide runs every command
    assert cli.main(words[1:]) == 0, capsys.readouterr().err
    rows = {row[1]: row[5] for row in read_rows(tmp_path / args["--out"])[2:]}
    assert (rows["1001"], rows["1002"], rows["1003"]) == ("12", "3", "")


def test_the_lists_a_student_needs_are_escaped_for_the_terminal():
    """The export's lines list ids from the course's folder names and from Canvas's cells, and
    printed them as they were: an escape sequence or a line break in one acted on the terminal
    or broke the list (the run's table had the same fault; the JSON report has them whole)."""
    report = canvas.ExportReport("Problem set 1", "ID", 10.0, 10.0, False)
    report.unmatched_course = ["ok", "\x1b]0;owned\x07", "two\nlines"]
    report.unmatched_canvas = ["\x1b[31mred"]
    text = "\n".join(report.lines())
    assert "\x1b" not in text and "\x07" not in text and len(text.splitlines()) == 3
    assert "ok, \\x1b]0;owned\\x07, two\\nlines" in text and "\\x1b[31mred" in text


def test_an_id_matches_canvas_whatever_its_unicode_normal_form(course):
    """A folder name written on macOS, or unpacked from a zip made there, is decomposed (NFD:
    "e" then a combining diaeresis), where Canvas's export holds the composed "ë" (NFC). The
    ids, equal as text, did not match: the student was listed as "in the course but not in the
    Canvas file" and the grade left out."""
    nfd = unicodedata.normalize("NFD", "zoë@uni.example")
    nfc = unicodedata.normalize("NFC", nfd)
    assert nfd != nfc
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_student(nfd)
        add_graded(gb, nfd, {"test_a": 7.0, "test_b": 1.0})
    text = CANVAS_EXPORT + f'"Ma, Zoë",1005,S1005,{nfc},LSTM 101,,,,,,,,\n'
    (course / "Grades-LSTM.csv").write_text(text, encoding="utf-8")
    out = course / "import.csv"
    report = canvas.export_canvas(course / "Grades-LSTM.csv", course, "ps01", "Problem set 1", out)
    assert report.written.get(nfc) == "8", report
    assert nfd not in report.unmatched_course


def test_a_map_names_a_student_whatever_the_case_spaces_and_unicode_form(course):
    """The map's student_id is matched as --key matches Canvas's column. Found in an
    instructor's walk: a folder "José García" (composed, NFC) and a map typed with the
    decomposed "é" (NFD, as macOS writes it), or in other case with a stray space, were
    listed as "in the map file but not in the course (a typo?)" beside "in the course but not
    in the Canvas file": the two ids look the same on the screen, and the grade was left out."""
    sid = unicodedata.normalize("NFC", "José García")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_student(sid)
        add_graded(gb, sid, {"test_a": 7.0, "test_b": 1.0})
    (course / "Grades-LSTM.csv").write_text(
        CANVAS_EXPORT + '"García, José",1005,S1005,jgarcia@uni.example,LSTM 101,,,,,,,,\n',
        encoding="utf-8",
    )

    def export():
        return canvas.export_canvas(
            course / "Grades-LSTM.csv",
            course,
            "ps01",
            "Problem set 1",
            course / "import.csv",
            key="ID",
            mapping=course / "map.csv",
        )

    for written in [unicodedata.normalize("NFD", sid), " josé garcía "]:
        assert written.strip() != sid
        (course / "map.csv").write_text(f"student_id,canvas\n{written},1005\n", encoding="utf-8")
        report = export()
        assert report.written.get("1005") == "8", (written, report)
        assert report.unmatched_map == [] and sid not in report.unmatched_course
    # Two rows for one student, as the matching sees it: refused, naming both spellings and
    # their lines.
    (course / "map.csv").write_text(
        f"student_id,canvas\n{sid},1005\n{sid.upper()},1006\n", encoding="utf-8"
    )
    with pytest.raises(
        ValueError,
        match=r"^map: the student_ids 'José García' \(map line 2\) and 'JOSÉ GARCÍA' \(map line "
        r"3\)",
    ):
        export()


def test_missing_zero_is_refused_while_graded_work_matches_no_canvas_row(
    tmp_path, empty_gradebook, capsys
):
    """A course whose roster was imported by Canvas ID (``nbgrader db student import``, as the
    guide advises for ``--missing zero``) holds '1005', José García's Canvas ID, with no
    submission, and his work graded under the folder 'José García'. Before, ``--missing zero``
    wrote 0 to his Canvas row, and the line "in the course but not in the Canvas file" named the
    folder apart from the zero: Canvas took 0 as his grade. Now the export is refused, naming
    the zeros and the unmatched work side by side, until a --map row names the folder's Canvas
    row (which then wins over the roster entry of the same row that submitted nothing) or
    --allow-unmatched says the zeros are meant."""
    db = empty_gradebook(tmp_path / "gradebook.db")
    jose = unicodedata.normalize("NFC", "José García")
    with Gradebook(f"sqlite:///{db}") as gb:
        gb.add_assignment("ps01")
        gb.add_notebook("ps01", "ps01")
        gb.add_grade_cell("test_a", "ps01", "ps01", max_score=10, cell_type="code")
        gb.add_grade_cell("test_b", "ps01", "ps01", max_score=6, cell_type="code")
        for sid in ["1001", "1002", "1004", "1005"]:  # the roster, by Canvas's ID
            gb.add_student(sid)
        gb.add_student(jose)
        for sid, (a, b) in {"1001": (10.0, 6.0), "1002": (4.0, 0.0), jose: (7.0, 1.0)}.items():
            add_graded(gb, sid, {"test_a": a, "test_b": b})
    export = tmp_path / "Grades-LSTM.csv"
    export.write_text(
        CANVAS_EXPORT + '"García, José",1005,S1005,jgarcia@uni.example,LSTM 101,,,,,,,,\n',
        encoding="utf-8",
    )
    out = tmp_path / "import.csv"
    argv = ["--canvas", str(export), "--column", "Problem set 1", "--assignment", "ps01"]
    argv += ["--course", str(tmp_path), "--key", "ID", "--missing", "zero", "--out", str(out)]
    assert canvas.main(argv) == 2
    err = capsys.readouterr().err
    assert (
        "missing: --missing zero would write 0 for no submission to 2 Canvas student(s) "
        "['1004' (Zhu, Mei), '1005' (García, José)] while 1 course student(s) with graded work "
        "match no Canvas row by 'ID' ['José García']"
    ) in err, err
    assert "--map row" in err and "--allow-unmatched" in err
    assert not out.exists()  # nothing written
    # The zeros meant: written, the folder listed apart as before.
    assert canvas.main([*argv, "--allow-unmatched"]) == 0
    capsys.readouterr()
    by_id = {r[1]: r[-1] for r in read_rows(out)[2:]}
    assert (by_id["1004"], by_id["1005"]) == ("0", "0")
    assert json.loads(out.with_suffix(".json").read_text())["unmatched_course"] == [jose]
    # A map row for the folder: his work is his grade, the roster entry '1005' steps aside.
    (tmp_path / "map.csv").write_text(f"student_id,canvas\n{jose},1005\n", encoding="utf-8")
    assert canvas.main([*argv, "--map", str(tmp_path / "map.csv")]) == 0
    by_id = {r[1]: r[-1] for r in read_rows(out)[2:]}
    assert by_id == {"1001": "16", "1002": "4", "1003": "", "1004": "0", "1005": "8", "1099": ""}
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["unmatched_course"] == [] and report["not_submitted"] == ["1004"]
    # A 0 that is a grade, not "no submission", is no reason to stop.
    grades = {
        "1001": canvas.CourseGrade("graded", 0.0, 16.0),
        jose: canvas.CourseGrade("graded", 8.0, 16.0),
    }
    _, report = canvas.fill_column(
        canvas.read_canvas(export), "Problem set 1", grades, key="ID", missing="zero"
    )
    assert report.written == {"1001": "0"} and report.unmatched_course == [jose]


def test_ids_that_are_one_number_written_two_ways_are_listed_side_by_side(course, capsys):
    """A spreadsheet takes an id for a number: it drops its leading zeros, or writes it back as
    '1004.0'. Such ids are not matched (they differ, and only the instructor knows they are
    one student), but before, the two sides were listed on separate lines among the other
    unmatched ids, nothing pairing them. Now each such pair is listed together, with the
    remedy (a --map row)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_student("01003")  # Canvas's ID 1003, zero-padded by a roster import
    (course / "map.csv").write_text(
        "student_id,canvas\nvisitor,1004.0\n\nrroe@uni.example,1099\n", encoding="utf-8"
    )
    out = course / "import.csv"
    argv = ["--canvas", str(course / "Grades-LSTM.csv"), "--column", "Problem set 1"]
    argv += ["--assignment", "ps01", "--course", str(course), "--key", "ID"]
    assert canvas.main([*argv, "--map", str(course / "map.csv"), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    pairs = "'01003' and Canvas's ID '1003', 'visitor' and Canvas's ID '1004'"
    assert any(x.startswith("2 unmatched pairs that are one number") for x in lines), lines
    assert any(x.endswith(f"give --map rows if they are one student: {pairs}") for x in lines)
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["look_alike"] == pairs.split(", ")
    assert {r[1]: r[-1] for r in read_rows(out)[2:]}["1003"] == ""  # listed, not matched
    # Not numbers, or numbers that differ: no pair.
    assert canvas._as_number("1.5") is None and canvas._as_number("S1001") is None
    assert canvas._as_number("١٠٠٣") is None  # Arabic-Indic digits: not what Canvas writes
    assert canvas._look_alike(["1003"], ["1030", "10030"], "ID", {}) == []
    # Not one student matched, as when a whole roster lost its zeros: the refusal pairs them.
    (course / "map.csv").write_text("student_id,canvas\nvisitor,1004.0\n", encoding="utf-8")
    assert canvas.main([*argv, "--map", str(course / "map.csv"), "--out", str(out)]) == 2
    assert f"(one number written two ways: {pairs})" in capsys.readouterr().err


def test_a_map_row_that_names_no_canvas_row_is_reported_as_the_maps_typo(course, capsys):
    """A map row whose canvas value no Canvas row has (``visitor,10033`` for 1003): before,
    the student was listed only as "in the course but not in the Canvas file", as if the map
    had no row for it, and the instructor looked for the mistake in the wrong file (found in
    an instructor's walk). Now the line says the map sends the student to a Canvas ID the
    export lacks, naming the map's line; and the ``--missing zero`` refusal, which that graded
    work provokes, names the map row too, and says that a submission of no one's in Canvas
    (an auditor's, a test student's) needs ``--allow-unmatched``."""
    (course / "map.csv").write_text(
        "student_id,canvas\nrroe@uni.example,1003\n\nvisitor,10033\n", encoding="utf-8"
    )
    out = course / "import.csv"
    argv = ["--canvas", str(course / "Grades-LSTM.csv"), "--column", "Problem set 1"]
    argv += ["--assignment", "ps01", "--course", str(course), "--key", "ID"]
    argv += ["--map", str(course / "map.csv"), "--out", str(out)]
    assert canvas.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        "1 mapped by the map file to a Canvas ID that is not in the Canvas file (a typo in the "
        "map's canvas column?), left out: 'visitor' -> '10033' (map line 4)"
    ) in lines, lines
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["map_not_in_canvas"] == ["'visitor' -> '10033' (map line 4)"]
    assert "visitor" not in report["unmatched_course"]  # listed once, where the typo is
    assert "1003" not in report["unmatched_canvas"]  # rroe's row, by the map
    # --missing zero: every other student mapped to its row, mzhu's (no submission) gets 0
    # while visitor's graded work, mapped to no row, may be mzhu's: refused.
    rows = ["jdoe@uni.example,1001", "alee@uni.example,1002", "rroe@uni.example,1003"]
    rows += ["mzhu@uni.example,1004", "visitor,10033"]
    (course / "map.csv").write_text("student_id,canvas\n" + "\n".join(rows) + "\n")
    assert canvas.main([*argv, "--missing", "zero"]) == 2
    err = capsys.readouterr().err
    assert (
        "while 1 course student(s) with graded work match no Canvas row by 'ID' "
        "['visitor' -> '10033' (map line 6) not in the Canvas file]"
    ) in err, err
    assert "'1004' (Zhu, Mei)" in err
    assert (
        "if the work is no one's in Canvas (an auditor's, a test student's), --allow-unmatched "
        "to write the zeros anyway"
    ) in err
    assert canvas.main([*argv, "--missing", "zero", "--allow-unmatched"]) == 0
    assert {r[1]: r[-1] for r in read_rows(out)[2:]}["1004"] == "0"
