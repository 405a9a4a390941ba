"""Bad instructor inputs to ``lstm-autograde`` and to the API it calls (:mod:`lstm_grading.inputs`).

Each bad input gets a clear error and loses nothing: on the command line exit status 2 and one
line naming the option, what it got and what it expects (argparse's errors too: no usage
block), no traceback, and the course tree (paths, sizes, modification
times) exactly as it was; in the API a ``ValueError`` naming the argument. No test here grades:
the course lock is replaced by a tripwire, so an input that passed every check would fail its
test at once instead of starting a run. The valid inputs next to them reach that tripwire.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from nbgrader.api import Gradebook

from lstm_grading import canvas, cli, course_lock, course_prep, inputs, job, parallel, report
from lstm_grading.cluster import connect, coordinator
from lstm_grading.cluster.connect import ClusterError, Target
from lstm_grading.cluster.coordinator import WORKER_TIMEOUT
from lstm_grading.sandbox import Limits

A = "ps01"
MOST = inputs.max_workers()
ROOT = Path(__file__).resolve().parents[1]
CANVAS_EXPORT = """\
Student,ID,SIS Login ID,Section,Problem set 1 (11),Problem set 2 (12),Current Points
    Points Possible,,,,10.00,20.00,(read only)
"Doe, Alice",1001,alice,LSTM 101,,,
"Roe, Bob",1002,bob,LSTM 101,,,
"""


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory, empty_gradebook):
    """A real nbgrader gradebook: ps01 (10 points) graded for alice, ps02 without submission."""
    path = empty_gradebook(tmp_path_factory.mktemp("gradebook") / "gradebook.db")
    with Gradebook(f"sqlite:///{path}") as gb:
        for name, points in [(A, 10), ("ps02", 20)]:
            gb.add_assignment(name)
            gb.add_notebook(name, name)
            gb.add_grade_cell("test", name, name, max_score=points, cell_type="code")
        gb.add_student("alice")
        gb.add_student("bob")
        with gb.db.no_autoflush:
            gb.add_submission(A, "alice")
        grade = gb.find_grade("test", A, A, "alice")
        grade.auto_score, grade.needs_manual_grade = 7.0, False
        gb.db.commit()
    return path


@pytest.fixture
def course(gradebook, tmp_path):
    """A course every grading check accepts: config, gradebook, source, one submission."""
    root = tmp_path / "course"
    (root / "solutions" / A).mkdir(parents=True)
    (root / "solutions" / A / f"{A}.ipynb").write_text("{}")
    (root / "submitted" / "alice" / A).mkdir(parents=True)
    (root / "submitted" / "alice" / A / f"{A}.ipynb").write_text("{}")
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    (root / "Grades.csv").write_text(CANVAS_EXPORT)
    (root / "afile").write_text("not a folder")
    (root / "map.csv").write_text("student_id,canvas\nalice,alice\n")
    shutil.copy(gradebook, root / "gradebook.db")
    return root


class Reached(Exception):
    """The run got past every check (the tripwire in place of the course lock)."""


@pytest.fixture(autouse=True)
def tripwire(monkeypatch):
    """No test grades, starts a cluster or connects to one: the lock and connect() raise."""

    def lock(*args, **kwargs):
        raise Reached("the course lock")

    def cluster(*args, **kwargs):
        raise AssertionError("connect() was called: the input should have been refused first")

    monkeypatch.setattr(course_lock, "locked", lock)
    monkeypatch.setattr(connect, "connect", cluster)
    monkeypatch.delenv(inputs.CELL_TIMEOUT_ENV, raising=False)
    monkeypatch.delenv(inputs.UID_BASE_ENV, raising=False)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and modification time (folders included)."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            st = path.lstat()
            out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def run(argv: list[str], capsys) -> tuple[int, str]:
    """``lstm-autograde argv`` in this process: (exit status, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def refused(argv, course, capsys, message, prefix="lstm-autograde") -> str:
    """Run ``argv`` ({c}: the course): status 2, one clear message, the course unchanged."""
    argv = [a.replace("{c}", str(course)) for a in argv]
    before = tree(course)
    code, err = run(argv, capsys)
    assert tree(course) == before, "the course changed"
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # argparse's errors too: no usage block before them
    assert lines[0].startswith(f"{prefix}: ")
    assert re.search(message, lines[-1]), lines[-1]
    return lines[-1]


def no_submissions(c: Path):
    shutil.rmtree(c / "submitted")


def no_gradebook(c: Path):
    (c / "gradebook.db").unlink()


def broken_gradebook(c: Path):
    (c / "gradebook.db").write_text("not a database")


def no_source(c: Path):
    shutil.rmtree(c / "solutions" / A)


def no_config(c: Path):
    (c / "nbgrader_config.py").unlink()


def symlink_loop(c: Path):
    """``loop`` and ``loop.csv``: symbolic links to themselves (ELOOP for any use)."""
    (c / "loop").symlink_to("loop")
    (c / "loop.csv").symlink_to("loop.csv")


def fifo(c: Path):
    os.mkfifo(c / "fifo")  # reading it would wait for a writer for ever


def stale_source(edit: dict):
    """The gradebook records the test cell ``test`` (locked, 10 points) as generated; the
    source notebook then has it with ``edit`` applied (what an instructor who fixed a hidden
    test and did not run nbgrader generate_assignment again has)."""

    def change(c: Path):
        cell = {
            "cell_type": "code",
            "metadata": {"nbgrader": {"grade": True, "grade_id": "test", "locked": True,
                                      "points": 10, "solution": False}},
            "source": "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 2\n",
            "outputs": [], "execution_count": None,
        }  # fmt: skip
        with Gradebook(f"sqlite:///{c / 'gradebook.db'}") as gb:
            gb.add_source_cell("test", A, A, cell_type="code", locked=True, source=cell["source"])
        cell = {**cell, **edit, "metadata": {"nbgrader": {**cell["metadata"]["nbgrader"],
                                                          **edit.get("nbgrader", {})}}}  # fmt: skip
        cell.pop("nbgrader", None)
        notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        (c / "solutions" / A / f"{A}.ipynb").write_text(json.dumps(notebook))

    return change


# Found editing a hidden test of ps01 in solutions/ and grading again: the run regraded the
# class with the gradebook's old test cells (nbgrader restores them), and nothing changed.
STALE = (
    rf"assignment: solutions/{A}/ differs from the gradebook's record of it \({{}}\); expected "
    rf"them to match, or the tests that grade are the old ones: run nbgrader "
    rf"generate_assignment {A} --force \(or make exercises\) first"
)


# Paths that exist as no file can: a name longer than any file system's NAME_MAX (255 bytes),
# and a symbolic-link loop; the messages quote the system's own words for each.
LONG = "a" * 300
TOO_LONG = rf"which cannot be used \({re.escape(os.strerror(errno.ENAMETOOLONG))}\)"
LOOP = rf"which cannot be used \({re.escape(os.strerror(errno.ELOOP))}\)"


SECONDS = "expected a whole number of seconds from 1 to 86400"
MIB = "expected a whole number of MiB from 1 to 1048576"
WORKERS = f"expected a whole number of worker processes from 1 to {MOST}"
ABOVE_0 = "expected a number of (MiB|seconds) above 0"
LOCAL = f"cluster: expected local:N with N a number of worker processes from 1 to {MOST}"
ADDRESS = r"scheduler: expected tcp://HOST:PORT or tls://HOST:PORT \(or HOST:PORT\), PORT from 1"
HOST = r"HOST an IP address or a host name \(labels of 1 to 63 letters, digits, - or _ between dots"
ID = "assignment: got {}; expected an assignment id, the name of its folder in solutions/"
TLS = ["--scheduler", "tls://127.0.0.1:8786"]


def option(name: str, value: str, expected: str) -> tuple[list[str], None, str]:
    """A bad value of an option argparse parses: its message names both."""
    return (
        [name, value],
        None,
        f"^lstm-autograde: {name}(/-j)?: got '{re.escape(value)}'; {expected}",
    )


# (options after the assignment id, what the course needs changed, the error line's pattern)
GRADING_CASES = {
    "cell timeout negative": option("--cell-timeout", "-1", SECONDS),
    "cell timeout zero": option("--cell-timeout", "0", SECONDS),
    "cell timeout fraction": option("--cell-timeout", "1.5", SECONDS),
    "cell timeout huge": option("--cell-timeout", "10" * 6, SECONDS),
    "notebook timeout zero": option("--notebook-timeout", "0", SECONDS),
    "notebook timeout huge": option("--notebook-timeout", "99999999", SECONDS),
    "memory negative": option("--memory-mb", "-5", MIB),
    "memory huge": option("--memory-mb", str(1 << 44), MIB),
    "output zero": option("--output-bytes", "0", "expected a whole number of bytes from 1"),
    "output huge": option("--output-bytes", str(1 << 40), "expected a whole number of bytes"),
    "disk zero": option("--disk-mb", "0", MIB),
    "disk huge": option("--disk-mb", str(1 << 44), MIB),
    "return nan": option("--return-mb", "nan", ABOVE_0),
    "return inf": option("--return-mb", "inf", ABOVE_0),
    "return zero": option("--return-mb", "0", ABOVE_0),
    "jobs zero": option("--jobs", "0", WORKERS),
    "jobs negative": option("--jobs", "-1", WORKERS),
    "jobs word": option("--jobs", "x", WORKERS),
    "jobs huge": option("--jobs", "100000", WORKERS),
    "worker timeout zero": option("--worker-timeout", "0", ABOVE_0),
    "worker timeout nan": option("--worker-timeout", "nan", ABOVE_0),
    "worker timeout without a cluster": (
        ["--worker-timeout", "5"],
        None,
        "--worker-timeout: got 5 without a cluster; expected it with --cluster, --scheduler",
    ),
    "course missing": (
        ["--course", "{c}/nowhere"],
        None,
        "course: got '.*/nowhere', which does not exist; expected an nbgrader course folder",
    ),
    "course empty": (["--course", ""], None, "--course: got ''; expected a path"),
    "course a file": (
        ["--course", "{c}/afile"],
        None,
        "course: got '.*/afile', which is not a folder; expected an nbgrader course folder",
    ),
    "course not nbgrader": (
        ["--course", "{c}/solutions"],
        None,
        "course: got '.*/solutions', which has no nbgrader_config.py; expected an nbgrader",
    ),
    "no config": ([], no_config, "course: got '.*', which has no nbgrader_config.py"),
    "no submissions": (
        [],
        no_submissions,
        f"assignment: no submissions of '{A}' in .*/submitted; expected folders "
        f"submitted/<student>/{A}/",
    ),
    "no gradebook": (
        [],
        no_gradebook,
        "course: .*/gradebook.db does not exist; expected the gradebook.db nbgrader",
    ),
    "broken gradebook": (
        [],
        broken_gradebook,
        r"course: .*/gradebook.db is not an nbgrader gradebook \(file is not a database\)",
    ),
    "no source folder": (
        [],
        no_source,
        f"assignment: '{A}' has no source folder .*/solutions/{A}; expected",
    ),
    "cluster zero": (["--cluster", "local:0"], None, f"{LOCAL} .*got 'local:0'"),
    "cluster word": (["--cluster", "local:x"], None, f"{LOCAL} .*got 'local:x'"),
    "cluster unknown kind": (["--cluster", "foo"], None, f"{LOCAL} .*got 'foo'"),
    "cluster superscript": (["--cluster", "local:\u00b3"], None, f"{LOCAL} .*got 'local:\u00b3'"),
    "cluster huge": (["--cluster", "local:100000"], None, f"{LOCAL} .*got 'local:100000'"),
    "cluster empty": (["--cluster", ""], None, "cluster: got ''; expected local:N"),
    "scheduler no port": (["--scheduler", "tcp://h"], None, f"{ADDRESS}.* got 'tcp://h'"),
    "scheduler port too big": (
        ["--scheduler", "tcp://127.0.0.1:99999"],
        None,
        f"{ADDRESS}.* got 'tcp://127.0.0.1:99999'",
    ),
    "scheduler port superscript": (
        ["--scheduler", "127.0.0.1:\u00b9"],
        None,
        f"{ADDRESS}.* got '127.0.0.1:\u00b9'",
    ),
    "scheduler http": (["--scheduler", "http://h:1"], None, f"{ADDRESS}.* got 'http://h:1'"),
    "scheduler empty": (["--scheduler", ""], None, "scheduler: got ''; expected the scheduler's"),
    "scheduler file missing": (
        ["--scheduler-file", "{c}/none.json"],
        None,
        "scheduler_file: .*none.json is not a scheduler file",
    ),
    "scheduler file empty": (["--scheduler-file", ""], None, "scheduler_file: got ''; expected"),
    "tls files missing": (
        [*TLS, "--tls-ca-file", "{c}/ca.pem", "--tls-cert", "{c}/c", "--tls-key", "{c}/k"],
        None,
        "tls_ca_file: .*/ca.pem is not a file; expected the PEM file of --tls-ca-file",
    ),
    "tls one file": (
        [*TLS, "--tls-ca-file", "{c}/afile"],
        None,
        "tls_cert: TLS needs all three .* missing --tls-cert, --tls-key",
    ),
    "tls empty name": (
        [*TLS, "--tls-ca-file", "{c}/afile", "--tls-cert", "", "--tls-key", "{c}/afile"],
        None,
        "tls_cert: '' is not a file; expected the PEM file of --tls-cert",
    ),
    "tls without scheduler": (
        ["--tls-ca-file", "{c}/afile", "--tls-cert", "{c}/afile", "--tls-key", "{c}/afile"],
        None,
        r"scheduler: --tls-\* and --allow-insecure need --scheduler",
    ),
    "course a symlink loop": (
        ["--course", "{c}/loop"],
        symlink_loop,
        f"course: got '.*/loop', {LOOP}; expected an nbgrader course folder",
    ),
    "course inside a symlink loop": (
        ["--course", "{c}/loop/course"],
        symlink_loop,
        f"course: got '.*/loop/course', {LOOP}; expected an nbgrader course folder",
    ),
    "course name too long": (
        ["--course", f"{{c}}/{LONG}"],
        None,
        f"course: got '.*/{LONG}', {TOO_LONG}; expected an nbgrader course folder",
    ),
    "course a FIFO": (
        ["--course", "{c}/fifo"],
        fifo,
        "course: got '.*/fifo', which is not a folder; expected an nbgrader course folder",
    ),
    "course with a newline": (
        ["--course", "{c}/new\nline"],
        None,
        r"course: got '.*/new\\nline', which does not exist; expected an nbgrader course folder",
    ),
    "scheduler label too long": (
        ["--scheduler", f"tcp://{'a' * 64}:8786"],
        None,
        f"{ADDRESS}.*{HOST}.* got 'tcp://a{{64}}:8786'",
    ),
    "scheduler empty label": (
        ["--scheduler", "tcp://a..b:8786"],
        None,
        rf"{ADDRESS}.*{HOST}.* got 'tcp://a\.\.b:8786'",
    ),
    "scheduler name too long": (  # 254 characters: one more than DNS allows
        ["--scheduler", f"tcp://{'.'.join(['a' * 50] * 5)}:8786"],
        None,
        f"{ADDRESS}.*{HOST}",
    ),
    "scheduler control character": (
        ["--scheduler", "tcp://a\x1bb:8786"],
        None,
        rf"{ADDRESS}.* got 'tcp://a\\x1bb:8786'",
    ),
    "scheduler port of 5000 digits": (
        ["--scheduler", "127.0.0.1:" + "9" * 5000],
        None,
        f"{ADDRESS}.* got '127.0.0.1:9{{5000}}'",
    ),
    "cluster of 5000 digits": (
        ["--cluster", "local:" + "9" * 5000],
        None,
        f"{LOCAL} .*got 'local:9{{5000}}'",
    ),
    "scheduler file a FIFO": (
        ["--scheduler-file", "{c}/fifo"],
        fifo,
        r"scheduler_file: .*/fifo is not a scheduler file with an address \(not a regular file\)",
    ),
    "scheduler file a device": (
        ["--scheduler-file", "/dev/zero"],
        None,
        r"scheduler_file: /dev/zero is not a scheduler file with an address \(not a regular",
    ),
    "scheduler file a symlink loop": (
        ["--scheduler-file", "{c}/loop"],
        symlink_loop,
        f"scheduler_file: got '.*/loop', {LOOP}; expected the file `dask scheduler",
    ),
    "scheduler file name too long": (
        ["--scheduler-file", f"{{c}}/{LONG}"],
        None,
        f"scheduler_file: got '.*/{LONG}', {TOO_LONG}; expected the file `dask scheduler",
    ),
    "scheduler file, bad host": (
        ["--scheduler-file", "{c}/scheduler.json"],
        lambda c: (c / "scheduler.json").write_text('{"address": "tcp://a..b:8786"}'),
        rf"scheduler_file: expected tcp://HOST:PORT .*{HOST}.* got 'tcp://a\.\.b:8786'",
    ),
    "tls file a symlink loop": (
        [*TLS, "--tls-ca-file", "{c}/loop", "--tls-cert", "{c}/afile", "--tls-key", "{c}/afile"],
        symlink_loop,
        f"tls_ca_file: got '.*/loop', {LOOP}; expected the PEM file of --tls-ca-file",
    ),
    "tls file name too long": (
        [
            *TLS,
            "--tls-ca-file",
            "{c}/afile",
            "--tls-cert",
            f"{{c}}/{LONG}",
            "--tls-key",
            "{c}/afile",
        ],
        None,
        f"tls_cert: got '.*/{LONG}', {TOO_LONG}; expected the PEM file of --tls-cert",
    ),
    "tls file a FIFO": (
        [*TLS, "--tls-ca-file", "{c}/afile", "--tls-cert", "{c}/afile", "--tls-key", "{c}/fifo"],
        fifo,
        "tls_key: .*/fifo is not a file; expected the PEM file of --tls-key",
    ),
    "cluster, course missing": (
        ["--cluster", "local:1", "--course", "{c}/nowhere"],
        None,
        "course: got '.*/nowhere', which does not exist",
    ),
    "cluster, no submissions": (
        ["--cluster", "local:1"],
        no_submissions,
        f"assignment: no submissions of '{A}'",
    ),
    "a hidden test edited since generate_assignment": (
        [],
        stale_source({"source": "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 3\n"}),
        STALE.format(f"cell test of {A}.ipynb was edited"),
    ),
    "points changed since generate_assignment": (
        [],
        stale_source({"nbgrader": {"points": 5}}),
        STALE.format(f"the points of cell test of {A}.ipynb changed"),
    ),
    "a test cell deleted since generate_assignment, cluster": (
        ["--cluster", "local:1"],
        stale_source({"nbgrader": {"grade_id": "test2"}}),
        STALE.format(f"cell test2 of {A}.ipynb is new; cell test of {A}.ipynb was deleted"),
    ),
}


@pytest.mark.parametrize("case", GRADING_CASES)
def test_bad_grading_option_is_refused_and_the_course_is_unchanged(case, course, capsys):
    options, change, message = GRADING_CASES[case]
    if change:
        change(course)
    if "--course" not in options:
        options = [*options, "--course", "{c}"]
    refused([A, *options], course, capsys, message)


ASSIGNMENT_IDS = {
    "unknown": ("ps99", "assignment: no assignment 'ps99' in .*/gradebook.db; it has 'ps01', "),
    "parent folder": ("../x", ID.format(r"'\.\./x'")),
    "subfolder": ("a/b", ID.format("'a/b'")),
    "empty": ("", ID.format("''")),
    "dot": (".", ID.format(r"'\.'")),
    "hidden": (".ps01", ID.format(r"'\.ps01'")),
    "spaces": (" ps01", ID.format("' ps01'")),
    "plus": ("ps+1", ID.format(r"'ps\+1'")),
    "glob": ("ps0?", ID.format(r"'ps0\?'")),
}


@pytest.mark.parametrize("case", ASSIGNMENT_IDS)
def test_bad_assignment_id_is_refused_and_the_course_is_unchanged(case, course, capsys):
    assignment, message = ASSIGNMENT_IDS[case]
    refused([assignment, "--course", "{c}"], course, capsys, message)
    refused([assignment, "--course", "{c}", "--cluster", "local:1"], course, capsys, message)


def test_a_bad_cell_timeout_in_the_environment_is_refused(course, capsys, monkeypatch):
    """nbgrader_config.py reads it too: a value it cannot read would fail feedback and export."""
    monkeypatch.setenv(inputs.CELL_TIMEOUT_ENV, "abc")
    message = r"LSTM_GRADING_CELL_TIMEOUT \(environment variable\): got 'abc'; expected a whole"
    refused([A, "--course", "{c}"], course, capsys, message)
    refused([A, "--course", "{c}", "--cell-timeout", "30"], course, capsys, message)


# `lstm-autograde` in a new Python: this checkout's lstm_grading, with the same tripwire.
TRIPWIRE = """
import sys
from lstm_grading import cli, course_lock
from lstm_grading.cluster import connect

def tripwire(*args, **kwargs):
    raise SystemExit("tripwire: the input passed every check")

course_lock.locked = connect.connect = tripwire
sys.exit(cli.main(sys.argv[1:]))
"""


def command(argv: list[str], env=None, prefix=()) -> subprocess.CompletedProcess:
    """``lstm-autograde argv`` in a new process, ``env`` added to this one's environment."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [*prefix, sys.executable, "-c", TRIPWIRE, *argv],
        env={**os.environ, "PYTHONPATH": path, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line(done: subprocess.CompletedProcess) -> str:
    """The one line of a refusal: exit status 2, no traceback."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


UID_RANGE = r"expected a whole number from 65536 to 4290772990 \(the first of the kernels' uids"
ENVIRONMENT = {  # (variable, its value, what the message says is expected)
    "uid base a word": (inputs.UID_BASE_ENV, "abc", UID_RANGE),
    "uid base negative": (inputs.UID_BASE_ENV, "-5", UID_RANGE),
    "uid base empty": (inputs.UID_BASE_ENV, "", UID_RANGE),
    "uid base below 65536": (inputs.UID_BASE_ENV, "65535", UID_RANGE),
    "uid base too high": (inputs.UID_BASE_ENV, "4290772991", UID_RANGE),
    "cell timeout a word": (inputs.CELL_TIMEOUT_ENV, "abc", SECONDS),
}


@pytest.mark.parametrize("case", ENVIRONMENT)
@pytest.mark.processes
def test_a_bad_environment_variable_is_refused_when_used_not_at_import(case, course):
    """A new process, as the instructor starts one: ``--help`` works, a run is refused."""
    name, value, expected = ENVIRONMENT[case]
    shown = command(["--help"], env={name: value})
    assert (shown.returncode, shown.stderr) == (0, ""), shown.stderr
    before = tree(course)
    line = one_line(command([A, "--course", str(course)], env={name: value}))
    assert re.fullmatch(
        rf"lstm-autograde: {name} \(environment variable\): got {re.escape(repr(value))}; "
        rf"{expected}.*",
        line,
    ), line
    assert tree(course) == before


def test_the_uid_base_is_read_when_a_uid_is_needed(course, monkeypatch):
    some = job.Job("s", A, "w", "t", Limits(), "full", slot=4321)
    assert some.uid == inputs.DEFAULT_UID_BASE + 4321
    monkeypatch.setenv(inputs.UID_BASE_ENV, "3000000")
    assert some.uid == 3000000 + 4321
    with pytest.raises(Reached):  # a valid value passes every check
        cli.main([A, "--course", str(course)])
    monkeypatch.setenv(inputs.UID_BASE_ENV, "-5")  # as a worker would read it
    with pytest.raises(
        ValueError, match=r"^LSTM_GRADING_UID_BASE \(environment variable\): got '-5'"
    ):
        _ = some.uid


def without_permission() -> list[str]:
    """The command prefix for which a mode-000 folder is one without permission: none for a
    user; for root (whom permissions do not stop) a bounding set without CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH, from util-linux's setpriv."""
    if os.geteuid() != 0:
        return []
    prefix = [shutil.which("setpriv") or "setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    try:
        trial = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    except FileNotFoundError:
        pytest.skip("running as root without setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
    if trial.returncode != 0:
        pytest.skip(f"cannot drop CAP_DAC_OVERRIDE here: {trial.stderr.decode().strip()}")
    return prefix


DENIED = rf"which cannot be used \({re.escape(os.strerror(errno.EACCES))}\)"
COLUMN = ["--column", "Problem set 1", "--assignment", A, "--course", "{c}"]
PEMS = ["--tls-cert", "{c}/afile", "--tls-key", "{c}/afile"]
NO_PERMISSION = {  # (argv, with {c}: the course, {x}: a folder without permission; the pattern)
    "course": ([A, "--course", "{x}/course"], f"lstm-autograde: course: got '.*/course', {DENIED}"),
    "scheduler file": (
        [A, "--course", "{c}", "--scheduler-file", "{x}/scheduler.json"],
        f"lstm-autograde: scheduler_file: got '.*/scheduler.json', {DENIED}",
    ),
    "tls file": (
        [A, "--course", "{c}", *TLS, "--tls-ca-file", "{x}/ca.pem", *PEMS],
        f"lstm-autograde: tls_ca_file: got '.*/ca.pem', {DENIED}",
    ),
    "canvas": (
        ["export", *COLUMN, "--canvas", "{x}/Grades.csv", "--out", "{c}/import.csv"],
        f"lstm-autograde export: canvas: got '.*/Grades.csv', {DENIED}",
    ),
    "out": (
        ["export", *COLUMN, "--canvas", "{c}/Grades.csv", "--out", "{x}/import.csv"],
        f"lstm-autograde export: out: got '.*/import.csv', {DENIED}",
    ),
}


@pytest.mark.parametrize("case", NO_PERMISSION)
@pytest.mark.processes
def test_a_path_in_a_folder_without_permission_is_named(case, course, tmp_path):
    prefix = without_permission()
    argv, message = NO_PERMISSION[case]
    locked = tmp_path / "locked"
    locked.mkdir(mode=0)
    before = tree(course)
    try:
        argv = [a.replace("{c}", str(course)).replace("{x}", str(locked)) for a in argv]
        line = one_line(command(argv, prefix=prefix))
    finally:
        locked.chmod(0o700)
    assert re.fullmatch(f"{message}; expected .*", line), line
    assert tree(course) == before


def test_a_deleted_current_folder_is_named_not_a_traceback(tmp_path, monkeypatch, capsys):
    """The default course is the current folder: if it was deleted, that is the message."""
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert run(["--help"], capsys)[0] == 0
    assert run(["export", "--help"], capsys)[0] == 0
    message = r"course: got '\.', which cannot be resolved \("
    code, err = run([A], capsys)
    assert code == 2 and re.match(f"lstm-autograde: {message}", err) and err.count("\n") == 1
    code, err = run(["export", "--canvas", "x.csv", "--column", "c", "--assignment", A], capsys)
    assert code == 2 and re.match(f"lstm-autograde export: {message}", err), err


def test_help_ends_with_what_the_exit_status_says(capsys):
    """Both commands' ``--help`` end with their exit statuses (the module docstring had them,
    the help did not), the same as the docstring's; a stopped run's are 128 + the numbers of
    the signals that stop it."""

    def shown(argv):
        with pytest.raises(SystemExit) as done:
            cli.main(argv)
        assert done.value.code == 0
        return " ".join(capsys.readouterr().out.split())

    assert shown(["--help"]).endswith(cli.EXIT_STATUS)
    assert shown(["export", "--help"]).endswith(canvas.EXIT_STATUS)
    docstring = " ".join(cli.__doc__.split()).replace(" (:func:`stopped_by_signals`)", "")
    assert docstring.endswith(
        cli.EXIT_STATUS.replace(
            "Exit status:", "Exit status (:data:`EXIT_STATUS`, which ``--help`` shows):"
        )
    )
    statuses = [128 + s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]
    assert f"128 + the signal's number ({', '.join(map(str, statuses))})" in cli.EXIT_STATUS
    assert [s.name for s in cli.STOP_SIGNALS] == ["SIGINT", "SIGTERM", "SIGHUP"]


def test_valid_options_reach_the_run_unchanged(course, capsys, monkeypatch):
    seen = {}

    def grade(course, assignment, **kwargs):
        seen.update(kwargs, course=course, assignment=assignment)
        raise Reached

    monkeypatch.setattr(cli, "grade_assignment", grade)
    monkeypatch.setenv(inputs.CELL_TIMEOUT_ENV, "7")
    argv = [A, "--course", str(course), "-j", "2", "--memory-mb", "1024", "--return-mb", "2.5"]
    with pytest.raises(Reached):
        cli.main(argv)
    assert seen["limits"] == Limits(cell_timeout=7, memory_mb=1024, return_mb=2.5)
    assert (seen["jobs"], seen["assignment"]) == (2, A)
    with pytest.raises(Reached):
        cli.main([*argv, "--cell-timeout", "30"])
    assert seen["limits"].cell_timeout == 30


@pytest.mark.parametrize(
    ("flag", "key", "value"),
    [
        ("--no-sandbox", "sandbox_mode", "reduced"),
        ("--no-feedback", "feedback", False),
        ("--no-export", "export", False),
        ("--force", "force", True),
        ("--wait", "wait", True),
    ],
)
def test_each_switch_reaches_the_run_and_only_when_given(course, monkeypatch, flag, key, value):
    seen = {}

    def grade(course, assignment, **kwargs):
        seen.update(kwargs)
        raise Reached

    monkeypatch.setattr(cli, "grade_assignment", grade)
    defaults = {"sandbox_mode": None, "feedback": True, "export": True, "force": False}
    for argv, expected in [([], {**defaults, "wait": False}), ([flag], {key: value})]:
        with pytest.raises(Reached):
            cli.main([A, "--course", str(course), *argv])
        assert {k: seen[k] for k in expected} == expected, argv


def summary_of(**counts) -> dict:
    """What grade_assignment returns, for a run of 3 submissions (parallel.grade_assignment)."""
    base = {"graded": 3, "failed": 0, "refused": 0, "unchanged": 0}
    return {"table": "TABLE", "wall_seconds": 1.5, "sandbox": "full", **base, **counts}


@pytest.mark.parametrize(
    ("counts", "code", "err"),
    [
        ({}, 0, ""),
        ({"graded": 2, "failed": 1}, 1, ""),
        ({"graded": 2, "refused": 1}, 1, ""),
        ({"feedback_failed": 2}, 1, "feedback generation failed for 2 student(s): see their"),
        # Timed out on an earlier run, not tried by this one: not "failed" as if just now.
        (
            {"feedback_failed": 3, "feedback_failed_before": 1},
            1,
            "failed for 3 student(s) (1 on an earlier run, not tried again: --force tries "
            "again): see their notes",
        ),
        (
            {"feedback_failed": 2, "feedback_failed_before": 2},
            1,
            "failed for 2 student(s) (all on an earlier run, not tried again: --force tries "
            "again): see their notes",
        ),
        ({"export_error": "nbgrader export failed"}, 1, "lstm-autograde: nbgrader export failed"),
    ],
)
def test_the_summary_line_and_the_exit_status_of_a_run(
    course, monkeypatch, capsys, counts, code, err
):
    """Exit status 1 when a submission failed or was refused, feedback or export failed (the
    module docstring of lstm_grading/cli.py), else 0; the counts in the last line."""
    monkeypatch.setattr(cli, "grade_assignment", lambda *a, **k: summary_of(**counts))
    assert cli.main([A, "--course", str(course)]) == code
    out, stderr = capsys.readouterr()
    s = summary_of(**counts)
    line = f"{s['graded']} graded, {s['failed']} failed, {s['refused']} refused, 0 unchanged"
    assert out.startswith("TABLE\n") and f"\n{line} in 1.5 s; sandbox: full; report: " in out
    assert out.rstrip().endswith(str(course / "reports" / A / "summary.csv"))
    assert err in stderr and (stderr == "") == (err == "")


def test_the_summary_line_counts_students_whose_grade_is_kept(course, monkeypatch, capsys):
    """A run with a student whose submitted folder is gone (status "kept", the gradebook's
    grade exported as before) says so in its last line, and still ends with status 0: nothing
    failed. Without such a student the line is as before (the test above)."""
    monkeypatch.setattr(cli, "grade_assignment", lambda *a, **k: summary_of(graded=2, kept=1))
    assert cli.main([A, "--course", str(course)]) == 0
    out = capsys.readouterr().out
    assert "\n2 graded, 0 failed, 0 refused, 0 unchanged, 1 kept (submitted folder gone) in " in out


def test_a_full_disk_is_one_line_and_status_2(course, monkeypatch, capsys):
    from lstm_grading.disk import DiskFull

    def grade(*args, **kwargs):
        raise DiskFull("the disk is full (No space left on device); free some space")

    monkeypatch.setattr(cli, "grade_assignment", grade)
    assert run([A, "--course", str(course)], capsys) == (
        2,
        "lstm-autograde: the disk is full (No space left on device); free some space\n",
    )


@pytest.fixture
def stop_signals_handled():
    """The stop signals as a run started from a terminal finds them: handled, none ignored.
    Under `make test` the fast tier runs in the background of a non-interactive shell, which
    starts it with SIGINT ignored, and the run rightly leaves an ignored signal ignored
    (test_a_signal_ignored_when_the_run_starts_stays_ignored)."""
    before = {s: signal.getsignal(s) for s in cli.STOP_SIGNALS}
    for s, handler in before.items():
        if handler is signal.SIG_IGN:
            signal.signal(s, signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL)
    yield
    for s, handler in before.items():
        signal.signal(s, handler)


@pytest.mark.usefixtures("stop_signals_handled")
@pytest.mark.parametrize("signum", cli.STOP_SIGNALS)
def test_a_stop_signal_ends_the_run_with_128_plus_its_number(course, monkeypatch, capsys, signum):
    """The signal is sent to this process while the run is in grade_assignment; the handlers
    of all three are as they were afterwards."""
    before = {s: signal.getsignal(s) for s in cli.STOP_SIGNALS}

    def grade(*args, **kwargs):
        os.kill(os.getpid(), signum)
        raise AssertionError("the signal did not stop the run")

    monkeypatch.setattr(cli, "grade_assignment", grade)
    code, err = run([A, "--course", str(course)], capsys)
    assert code == 128 + signum  # 130, 143, 129: the shell's convention for a signal's death
    assert err.startswith(f"lstm-autograde: stopped by {signal.Signals(signum).name} before")
    assert {s: signal.getsignal(s) for s in cli.STOP_SIGNALS} == before


# A run of ann and bob stopped: (where, feedback on, export on, ann graded, ann's page
# written) -> what the command line says the next run does. Bob is never graded; each count
# in the line is the students of the row (2: both not graded; 1: bob, or ann's missing page).
NEXT_RUNS = {
    "planning": (
        ("planning", True, True, False, False),
        "run the same command again to grade the 2 submissions not graded and export grades.csv",
    ),
    "grading": (
        ("grading", True, True, True, False),
        "run the same command again to grade the 1 submission not graded, write the 1 missing "
        "feedback page and export grades.csv",
    ),
    "grading, page written": (
        ("grading", True, True, True, True),
        "run the same command again to grade the 1 submission not graded and export grades.csv",
    ),
    "grading, --no-feedback --no-export": (
        ("grading", False, False, True, False),
        "run the same command again to grade the 1 submission not graded",
    ),
}
# Everyone graded (bob left out): stopped during the feedback or the export.
NEXT_RUNS_ALL_GRADED = {
    "feedback": (
        ("feedback", True, True, True, False),
        "run the same command again to write the 1 missing feedback page and export grades.csv",
    ),
    "export": (
        ("export", True, True, True, True),
        "run the same command again to export grades.csv",
    ),
    "export, --no-feedback": (
        ("export", False, True, True, False),
        "run the same command again to export grades.csv",
    ),
    "export, --no-export": (("export", True, False, True, True), "nothing was left to do"),
}


@pytest.mark.usefixtures("stop_signals_handled")
@pytest.mark.parametrize("case", [*NEXT_RUNS, *NEXT_RUNS_ALL_GRADED])
def test_a_stopped_runs_line_says_what_the_next_run_will_do(tmp_path, monkeypatch, capsys, case):
    """The command line's one line after a stop ends with what the same command, run again,
    does: grade the submissions not graded, write the feedback pages not written, export
    grades.csv; each only if there is some of it (parallel.next_run, from the stopped run's
    summary_when_stopped). Before, it said "(run the same command again to grade the rest)"
    after every stop, also one during the feedback or the export with everyone graded."""
    (phase, feedback, export, graded, page), said = {**NEXT_RUNS, **NEXT_RUNS_ALL_GRADED}[case]
    (tmp_path / "reports" / A).mkdir(parents=True)
    if page:
        (tmp_path / "feedback" / "ann" / A).mkdir(parents=True)
        (tmp_path / "feedback" / "ann" / A / f"{A}.html").write_text("<html>")
    stopped = parallel._Run(tmp_path, A, Limits(), 10.0, (f"{A}.ipynb",), "")
    outcomes = {"ann": report.Outcome("ann", "graded", 10.0, 10.0)} if graded else {}
    todo = {"ann": "digest-a"} if case in NEXT_RUNS_ALL_GRADED else {"ann": "a", "bob": "b"}

    def grade(*args, **kwargs):
        with parallel.summary_when_stopped(stopped, outcomes, todo, dict, 0.0) as stage:
            stage.phase, stage.feedback, stage.export = phase, feedback, export
            os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("the signal did not stop the run")

    monkeypatch.setattr(cli, "grade_assignment", grade)
    # What the run did: the results it merged (ann's, if graded) kept, and where its summary is.
    kept = "the 1 result merged is kept" if graded else "nothing was merged"
    summary_file = tmp_path / "reports" / A / "summary.json"
    assert run([A, "--course", str(tmp_path)], capsys) == (
        128 + signal.SIGTERM,
        f"lstm-autograde: stopped by SIGTERM during {phase}; {kept}; summary: {summary_file} "
        f"({said})\n",
    )
    summary = json.loads((tmp_path / "reports" / A / "summary.json").read_text())
    assert (summary["stopped_in"], summary["not_graded"]) == (phase, len(todo) - len(outcomes))
    noted = [r for r in summary["students"] if "feedback page not written" in r["notes"]]
    assert len(noted) == (1 if "missing feedback page" in said else 0)


@pytest.mark.usefixtures("stop_signals_handled")
def test_a_run_stopped_waiting_for_the_course_lock_says_it_did_nothing(
    tmp_path, monkeypatch, capsys
):
    """A run waiting (--wait) for another run's course lock, stopped: it graded, merged and wrote
    nothing, and the summary files are not its own: not the running one's either, which writes
    them as it ends and may grade another assignment (the line said so; a review). Its line
    said "results merged so far
    are kept (run the same command again to grade the rest)" (found in a review)."""
    import threading

    held = course_lock.lock_course(tmp_path, A)  # another run's lock (its own open file)
    (tmp_path / "reports" / A).mkdir(parents=True)
    main = threading.main_thread().ident

    def grade(course, assignment, **kwargs):
        # SIGTERM to this (main) thread once it waits, blocked in flock.
        threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGTERM)).start()
        os.close(course_lock.lock_course(course, assignment, wait=True))  # locked()'s
        raise AssertionError("the lock was taken while another run held it")

    monkeypatch.setattr(cli, "grade_assignment", grade)
    try:
        code, err = run([A, "--course", str(tmp_path)], capsys)
    finally:
        os.close(held)
    assert code == 128 + signal.SIGTERM
    assert err == (
        f"lstm-autograde: stopped by SIGTERM while waiting for the run grading {tmp_path} to "
        f"finish (pid {os.getpid()}, started "
        + err.split(", started ", 1)[1].split(", assignment", 1)[0]
        + f", assignment {A}): nothing was graded or merged and no summary written (the "
        "summary files, if any, are another run's) (run the same command again to grade the "
        "assignment)\n"
    )
    assert not (tmp_path / "reports" / A / "summary.json").exists()


def test_a_run_stopped_while_it_plans_counts_the_pages_an_earlier_run_left_pending(tmp_path):
    """A page an earlier run left pending (killed while writing it: the manifest's mark, the
    page a file all the same) is written by the next run. A run stopped while it plans has not
    read its manifest yet (stage.manifest is None): its line and rows left such pages out,
    and said "nothing was left to do" (found in a review)."""
    reports = tmp_path / "reports" / A
    reports.mkdir(parents=True)
    page = tmp_path / "feedback" / "ann" / A / f"{A}.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html>cut sh")  # a page cut short by the killed run
    entry = {"hash": "a", "status": "graded", parallel.FEEDBACK_PENDING: True}
    report.write_json(reports / "manifest.json", {"key": "k", "students": {"ann": entry}})
    stopped = parallel._Run(tmp_path, A, Limits(), 10.0, (f"{A}.ipynb",), "")
    outcomes = {"ann": report.Outcome("ann", "unchanged", 10.0, 10.0)}
    with pytest.raises(KeyboardInterrupt) as info:
        with parallel.summary_when_stopped(stopped, outcomes, {"ann": "a"}, dict, 0.0) as stage:
            stage.feedback, stage.export = True, False  # still planning: no manifest read yet
            raise KeyboardInterrupt
    assert info.value.next_run == "run the same command again to write the 1 missing feedback page"
    summary = json.loads((reports / "summary.json").read_text())
    assert summary["students"][0]["notes"] == parallel.FEEDBACK_NOT_WRITTEN.format(by="SIGINT")
    assert info.value.stop_report.startswith("during planning; nothing was merged; summary: ")


def test_a_run_stopped_while_it_hashes_does_not_count_the_unhashed_as_to_grade(tmp_path):
    """Stopped while it hashed the submissions, the run's line said it would "grade the N
    submissions not graded", counting those it had not compared with their last grading yet,
    which the next run grades only if they changed (found in a review). Those hashed and found
    changed are still "not graded"; the rest are "not yet compared"."""
    (tmp_path / "reports" / A).mkdir(parents=True)
    stopped = parallel._Run(tmp_path, A, Limits(), 10.0, (f"{A}.ipynb",), "")
    outcomes = {"ann": report.Outcome("ann", "unchanged", 10.0, 10.0)}  # hashed: unchanged
    found = dict.fromkeys(["ann", "bob", "cat", "dan"], "folder")
    with pytest.raises(KeyboardInterrupt) as info:
        with parallel.summary_when_stopped(stopped, outcomes, found, dict, 0.0) as stage:
            stage.export, stage.changed = True, {"bob": "its hash"}  # hashed: changed
            raise KeyboardInterrupt
    assert info.value.next_run == (
        "run the same command again to grade the 1 submission not graded, check the 2 "
        "submissions not yet compared with their last grading (grading those new or changed) "
        "and export grades.csv"
    )
    summary = json.loads((tmp_path / "reports" / A / "summary.json").read_text())
    assert (summary["not_graded"], summary["not_checked"]) == (3, 2)
    reasons = {r["student"]: r["reason"] for r in summary["students"] if r["status"] == "stopped"}
    graded_next = "before this submission was graded (run the same command again to grade it)"
    assert reasons["bob"].endswith(graded_next), reasons
    for student in ("cat", "dan"):
        assert reasons[student] == (
            "the run was stopped by SIGINT before it compared this submission with its last "
            "grading (run the same command again to grade it if it is new or changed)"
        )
    # One not compared: "its" last grading.
    with pytest.raises(KeyboardInterrupt) as info:
        with parallel.summary_when_stopped(stopped, outcomes, found, dict, 0.0) as stage:
            stage.changed = {"bob": "its hash", "cat": "its hash"}
            raise KeyboardInterrupt
    assert info.value.next_run == (
        "run the same command again to grade the 2 submissions not graded and check the 1 "
        "submission not yet compared with its last grading (grading it if new or changed)"
    )
    # Stopped once it had its plan, every submission to do is to grade.
    with pytest.raises(KeyboardInterrupt) as info:
        with parallel.summary_when_stopped(stopped, outcomes, found, dict, 0.0) as stage:
            stage.changed = {"bob": "its hash"}
            stage.phase = "grading"
            raise KeyboardInterrupt
    assert info.value.next_run == "run the same command again to grade the 3 submissions not graded"


def test_a_forced_run_stopped_says_to_run_again_without_force(tmp_path):
    """A --force run stopped part way: the same command, --force and all, would grade again
    everyone this run merged (the guide says: without --force). Its line said "run the same
    command again to grade the 1 submission not graded" (found looking for advice that does
    not fit, after a review)."""
    (tmp_path / "reports" / A).mkdir(parents=True)
    stopped = parallel._Run(tmp_path, A, Limits(), 10.0, (f"{A}.ipynb",), "")
    outcomes = {"ann": report.Outcome("ann", "graded", 10.0, 10.0)}
    with pytest.raises(KeyboardInterrupt) as info:
        with parallel.summary_when_stopped(stopped, outcomes, {"ann": 1, "bob": 2}, dict, 0.0) as s:
            s.phase, s.export, s.force = "grading", False, True
            raise KeyboardInterrupt
    assert info.value.next_run == (
        "run the same command again without --force to grade the 1 submission not graded"
    )
    # Stopped while it plans: its manifest may not be cleared yet, and without --force the next
    # run kept every earlier grade; it merged nothing, so --force again loses nothing. Stopped
    # before it found the submissions, "nothing was left to do" was said (a review).
    cases = (({"bob": 2}, "grade the 1 submission not graded"), ({}, "grade the assignment"))
    for found, then in cases:
        with pytest.raises(KeyboardInterrupt) as info:
            with parallel.summary_when_stopped(stopped, {}, found, dict, 0.0) as s:
                s.export, s.force = False, True  # phase: still "planning"
                raise KeyboardInterrupt
        assert info.value.next_run == f"run the same command again to {then}"


@pytest.mark.usefixtures("stop_signals_handled")
def test_after_a_stop_signal_the_others_are_ignored_during_the_clean_up():
    before = {s: signal.getsignal(s) for s in cli.STOP_SIGNALS}
    with pytest.raises(cli.Stopped) as info:
        with cli.stopped_by_signals():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
            finally:  # the clean-up: a second signal must not interrupt it
                assert all(signal.getsignal(s) is signal.SIG_IGN for s in cli.STOP_SIGNALS)
                os.kill(os.getpid(), signal.SIGINT)
    assert info.value.signum == signal.SIGTERM
    assert {s: signal.getsignal(s) for s in cli.STOP_SIGNALS} == before


def test_a_signal_ignored_when_the_run_starts_stays_ignored():
    """nohup ignores SIGHUP so that the run outlives the session: the run must not undo it."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with cli.stopped_by_signals():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)  # ignored: nothing happens
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


@pytest.mark.parametrize(
    ("given", "expected"), [([], WORKER_TIMEOUT), (["--worker-timeout", "90"], 90)]
)
def test_the_worker_timeout_reaches_the_cluster_run(course, monkeypatch, given, expected):
    seen = {}

    def grade(course, assignment, target, **kwargs):
        seen.update(kwargs, target=target)
        raise Reached

    monkeypatch.setattr(coordinator, "grade_assignment", grade)
    with pytest.raises(Reached):
        cli.main([A, "--course", str(course), "--cluster", "local:1", *given])
    assert seen["worker_timeout"] == expected
    assert seen["target"].workers == 1


@pytest.mark.parametrize(("given", "expected"), [(3, 3), (WORKER_TIMEOUT, connect.CONNECT_TIMEOUT)])
def test_a_short_worker_timeout_bounds_the_connection_too(course, monkeypatch, given, expected):
    """``--scheduler tcp://127.0.0.1:1 --worker-timeout 3`` gives up after 3 s, not 60."""
    seen = {}

    def connecting(target, timeout=connect.CONNECT_TIMEOUT, scratch=None):
        seen["timeout"] = timeout
        raise Reached("connect")

    monkeypatch.setattr(connect, "connect", connecting)
    monkeypatch.setattr(course_lock, "locked", lambda *a, **kw: contextlib.nullcontext())
    target = Target(address="tcp://127.0.0.1:1", source="127.0.0.1:1")
    with pytest.raises(Reached):
        coordinator.grade_assignment(course, A, target, worker_timeout=given, progress=False)
    assert seen["timeout"] == expected


@pytest.mark.parametrize("cluster", [[], ["--cluster", "local:1"], ["--cluster", f"local:{MOST}"]])
def test_a_valid_course_passes_every_check_up_to_the_lock(course, capsys, cluster):
    """The other tests' course is a good one: each fails for its one bad input."""
    before = tree(course)
    with pytest.raises(Reached):
        cli.main([A, "--course", str(course), "--jobs", str(MOST), *cluster])
    assert tree(course) == before


@pytest.mark.parametrize("name", ["course[1]", "course*", "course?"])
@pytest.mark.parametrize("cluster", [[], ["--cluster", "local:1"]])
def test_a_course_path_nbgrader_reads_as_a_pattern_is_refused(name, cluster, course, capsys):
    """nbgrader globs under the course folder and appends it to its gradebook's URL."""
    odd = course.parent / "parent" / name / "course"  # a character in any folder of the path
    shutil.copytree(course, odd)
    before = tree(odd)
    code, err = run([A, "--course", str(odd), *cluster], capsys)
    assert code == 2
    pattern = r"lstm-autograde: course: got '.*', whose path contains \[, \], \* or \?"
    assert re.match(pattern, err), err
    assert tree(odd) == before


@pytest.mark.parametrize("name", ["course #1", "course %41", "course &=;"])
def test_a_course_path_with_other_uri_characters_is_read_as_it_is(name, course):
    """ "#", "%" and the like are a folder's name, not part of a URI: its gradebook is read."""
    odd = course.parent / name
    shutil.copytree(course, odd)
    with pytest.raises(Reached):
        cli.main([A, "--course", str(odd)])
    assert course_prep.notebook_names(odd, A) == (f"{A}.ipynb",)
    course_prep.make_template(odd, A, odd.parent / "template")
    with Gradebook(f"sqlite:///{odd.parent / 'template' / 'gradebook.db'}") as gb:
        assert [a.name for a in gb.assignments] == [A]


def test_the_template_holds_this_assignment_and_no_student(course):
    """The private course every job starts from (course_prep.make_template): nothing of
    alice's grade, of bob, or of ps02 (its notebook, its grade cell) is left in the gradebook,
    not even in its free pages (VACUUM); no other assignment's folder, no checkpoints."""
    (course / "solutions" / "ps02").mkdir()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:  # ps02's hidden test's text
        gb.add_source_cell("t", "ps02", "ps02", cell_type="code", source="SECRET", checksum="0")
    con = sqlite3.connect(course / "gradebook.db")
    with con:  # a class of 2000: deleting them frees whole pages, which VACUUM must drop
        con.executemany("INSERT INTO student (id) VALUES (?)", [(f"s{k}",) for k in range(2000)])
    con.close()
    (course / "solutions" / A / ".ipynb_checkpoints").mkdir()
    (course / "solutions" / A / ".ipynb_checkpoints" / "x.ipynb").write_text("{}")
    template = course.parent / "template"
    course_prep.make_template(course, A, template)
    assert stat.S_IMODE(template.stat().st_mode) == 0o700
    files = sorted(str(p.relative_to(template)) for p in template.rglob("*"))
    assert files == [
        "gradebook.db",
        "nbgrader_config.py",
        "solutions",
        "solutions/ps01",
        f"solutions/ps01/{A}.ipynb",
    ]
    db = template / "gradebook.db"
    with Gradebook(f"sqlite:///{db}") as gb:
        assert [a.name for a in gb.assignments] == [A]
        assert gb.students == [] and gb.find_assignment(A).submissions == []
        assert [nb.name for nb in gb.find_assignment(A).notebooks] == [A]
    con = sqlite3.connect(db)
    try:
        counts = {
            table: con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in (
                "grade",
                "comment",
                "submitted_notebook",
                "grade_cells",
                "base_cell",
                "source_cell",
            )
        }
    finally:
        con.close()
    # the fixture's one grade cell per notebook: ps01's stays, ps02's goes; no grade at all
    assert counts == {
        "grade": 0,
        "comment": 0,
        "submitted_notebook": 0,
        "grade_cells": 1,
        "base_cell": 1,
        "source_cell": 0,
    }
    data = db.read_bytes()
    assert (
        b"alice" not in data
        and b"bob" not in data
        and b"ps02" not in data
        and b"SECRET" not in data
    )
    # vacuumed: no free page left for a deleted row to linger in, whether or not this SQLite
    # overwrites deleted content (secure_delete, on in Debian's build)
    vacuumed = sqlite3.connect(db)
    try:
        assert vacuumed.execute("PRAGMA freelist_count").fetchone() == (0,)
        pages = vacuumed.execute("PRAGMA page_count").fetchone()
        vacuumed.execute("VACUUM")
        assert vacuumed.execute("PRAGMA page_count").fetchone() == pages
    finally:
        vacuumed.close()


# A writer SIGKILLed in the middle of a transaction (as a killed lstm-autograde merging a result):
# with a cache of one page, SQLite writes the pages it changes to the gradebook as it goes, after
# saving their old content in the journal, which is hot once the writer is gone.
KILLED_MID_WRITE = """
import os, signal, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA cache_size = 1")
con.execute("BEGIN")
con.execute("UPDATE assignment SET name = 'half-written' WHERE name = 'ps02'")
con.execute("CREATE TABLE pad (x BLOB)")
for _ in range(100):
    con.execute("INSERT INTO pad VALUES (randomblob(4000))")
os.kill(os.getpid(), signal.SIGKILL)
"""


def checks_of_a_run(course: Path) -> None:
    with pytest.raises(Reached):  # every check passed, up to the course lock
        cli.main([A, "--course", str(course)])


GRADEBOOK_READERS = {
    "the run's checks": checks_of_a_run,
    "notebook_names": lambda course: course_prep.notebook_names(course, A),
    "make_template": lambda course: course_prep.make_template(course, A, course.parent / "t"),
    "canvas.course_grades": lambda course: canvas.course_grades(course / "gradebook.db", A),
}


@pytest.mark.parametrize("reader", GRADEBOOK_READERS)
@pytest.mark.processes
def test_a_gradebook_a_killed_writer_left_mid_transaction_is_read_as_last_committed(reader, course):
    gradebook = course / "gradebook.db"
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE, str(gradebook)])
    assert killed.returncode == -signal.SIGKILL
    journal = course / "gradebook.db-journal"
    assert journal.stat().st_size > 0
    hot = sqlite3.connect(f"{gradebook.as_uri()}?mode=ro", uri=True)  # what read_only was
    with pytest.raises(sqlite3.OperationalError, match="attempt to write a readonly database"):
        hot.execute("SELECT name FROM assignment").fetchall()
    hot.close()
    GRADEBOOK_READERS[reader](course)
    assert not journal.exists()  # rolled back: the committed gradebook, without the pad
    assert inputs.gradebook_assignments(gradebook) == [A, "ps02"]
    with Gradebook(f"sqlite:///{gradebook}") as gb:
        assert gb.find_grade("test", A, A, "alice").score == 7.0


# -- the Python API ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cell_timeout": 0}, "Limits.cell_timeout: got 0; expected a whole number of seconds"),
        ({"cell_timeout": 1.5}, "Limits.cell_timeout: got 1.5; expected a whole number"),
        ({"cell_timeout": True}, "Limits.cell_timeout: got True; expected a whole number"),
        ({"cell_timeout": "60"}, "Limits.cell_timeout: got '60'; expected a whole number"),
        ({"notebook_timeout": 10**9}, "Limits.notebook_timeout: got 1000000000; expected"),
        (
            {"memory_mb": 1 << 50},
            f"Limits.memory_mb: got {1 << 50}; expected a whole number of MiB",
        ),
        ({"file_mb": -1}, "Limits.file_mb: got -1; expected a whole number of MiB"),
        ({"nproc": 0}, "Limits.nproc: got 0; expected a whole number of processes"),
        ({"output_bytes": None}, "Limits.output_bytes: got None; expected"),
        ({"return_mb": float("inf")}, "Limits.return_mb: got inf; expected a number of MiB above"),
        ({"return_mb": float("nan")}, "Limits.return_mb: got nan; expected a number of MiB above"),
    ],
)
def test_limits_name_the_field_what_it_got_and_what_it_expects(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Limits(**kwargs)


def test_limits_keep_valid_values_and_store_plain_numbers():
    limits = Limits(cell_timeout=np.int64(5), memory_mb=4096, return_mb=np.float64(0.5))
    assert type(limits.cell_timeout) is int and type(limits.return_mb) is float
    assert json.loads(json.dumps(asdict(limits)))["cell_timeout"] == 5  # the run key needs JSON
    assert Limits(return_mb=5).return_mb == 5 and Limits() == Limits(**asdict(Limits()))


API_CASES = {
    "jobs zero": ({"jobs": 0}, f"jobs: got 0; {WORKERS}"),
    "jobs huge": ({"jobs": 10**6}, f"jobs: got 1000000; {WORKERS}"),
    "jobs text": ({"jobs": "3"}, "jobs: got '3'; expected a whole number"),
    "jobs fraction": ({"jobs": 2.5}, "jobs: got 2.5; expected a whole number"),
    "limits dict": (
        {"limits": {"cell_timeout": 5}},
        r"limits: got \{'cell_timeout': 5\}; expected a lstm_grading.sandbox.Limits",
    ),
    "sandbox mode": ({"sandbox_mode": "none"}, "sandbox_mode: got 'none'; expected one of None, "),
    "course missing": (
        {"course": "/nonexistent/course"},
        "course: got '/nonexistent/course', which does not exist",
    ),
    "course none": ({"course": None}, "course: got None; expected an nbgrader course folder"),
    "assignment path": ({"assignment": "../x"}, ID.format(r"'\.\./x'")),
    "assignment none": ({"assignment": None}, ID.format("None")),
    "assignment unknown": ({"assignment": "ps99"}, "assignment: no assignment 'ps99' in "),
    "course with a NUL": (
        {"course": "/tmp/a\0b"},
        r"course: got '/tmp/a\\x00b', which cannot be used \(not a file name: embedded null",
    ),
    "course not text": (
        {"course": "/tmp/a\ud800b"},
        r"course: got '/tmp/a\\ud800b', which cannot be used \(not a file name: 'utf-8' codec",
    ),
}


@pytest.mark.parametrize("case", API_CASES)
@pytest.mark.parametrize("mode", ["local", "cluster"])
def test_grade_assignment_names_the_bad_argument(case, mode, course):
    overrides, message = API_CASES[case]
    kwargs = {"course": course, "assignment": A, "progress": False, **overrides}
    before = tree(course)
    with pytest.raises(ValueError, match=message):
        if mode == "local":
            parallel.grade_assignment(**kwargs)
        else:
            coordinator.grade_assignment(target=Target(workers=1), **kwargs)
    assert tree(course) == before


def test_jobs_are_at_most_four_worker_processes_per_core(monkeypatch):
    """On a machine of 3 cores the most is 4 x 3 = 12 worker processes (the instructor guide's
    "four per core"), for --jobs and --cluster local:N alike: 12 is taken, 13 refused, and the
    message says the rule the code applies."""
    monkeypatch.setattr(inputs.os, "cpu_count", lambda: 3)
    expected = "a whole number of worker processes from 1 to 12 (4 per core here)"
    assert inputs.check_jobs(12) == 12
    with pytest.raises(ValueError, match=re.escape(f"jobs: got 13; expected {expected}")):
        inputs.check_jobs(13)
    assert connect.parse_cluster("local:12") == 12
    with pytest.raises(ValueError, match=re.escape("from 1 to 12 (4 per core here; e.g.")):
        connect.parse_cluster("local:13")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"worker_timeout": 0}, "worker_timeout: got 0; expected a number of seconds above 0"),
        ({"worker_timeout": float("inf")}, "worker_timeout: got inf; expected a number"),
        ({"sandbox_mode": "full"}, "sandbox_mode: got 'full'; expected one of None, 'reduced'"),
        ({"target": "local:2"}, "target: got 'local:2'; expected a Target"),
    ],
)
def test_cluster_grade_assignment_names_the_bad_argument(kwargs, message, course):
    kwargs = {"target": Target(workers=1), **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        coordinator.grade_assignment(course, A, progress=False, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cluster": ""}, "cluster: got ''; expected local:N"),
        ({"scheduler": " "}, "scheduler: got ' '; expected the scheduler's address"),
        ({"scheduler_file": ""}, "scheduler_file: got ''; expected the file"),
        ({"cluster": "local:2", "tls_cert": ""}, "tls_ca_file: TLS needs all three"),
    ],
)
def test_an_empty_cluster_option_is_an_error_not_an_absent_one(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        connect.target(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "target: got workers=0 and address=''; expected one of them"),
        ({"workers": -1}, "Target.workers: got -1; expected a number of local worker processes"),
        ({"workers": MOST + 1}, f"Target.workers: got {MOST + 1}; expected"),
        ({"workers": 1, "address": "tcp://127.0.0.1:1"}, "target: got workers=1 and address="),
    ],
)
def test_a_target_is_a_local_cluster_or_an_address(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Target(**kwargs)


NOT_FILE_NAMES = {"NUL": "a\0b", "lone surrogate": "a\ud800b"}  # what no path can hold


@pytest.mark.parametrize("name", NOT_FILE_NAMES)
@pytest.mark.parametrize("argument", ["scheduler_file", "tls_ca_file", "scheduler"])
def test_cluster_options_that_no_path_or_host_can_be_are_named(argument, name, course):
    bad = str(course / NOT_FILE_NAMES[name])
    pem = str(course / "afile")
    kwargs = {"scheduler": "tls://127.0.0.1:8786", "tls_cert": pem, "tls_key": pem}
    if argument == "scheduler":
        kwargs = {"scheduler": f"tcp://{NOT_FILE_NAMES[name]}:8786"}
    elif argument == "scheduler_file":
        kwargs = {"scheduler_file": bad}
    else:
        kwargs["tls_ca_file"] = bad
    with pytest.raises(ValueError, match=f"^{argument}: "):
        connect.target(**kwargs)


def test_a_scheduler_that_does_not_answer_is_a_cluster_error_naming_it(monkeypatch):
    monkeypatch.undo()  # the real connect(), to a port where nothing listens
    t = Target(address="tcp://127.0.0.1:1", source="127.0.0.1:1")
    with pytest.raises(
        ClusterError, match=r"scheduler: could not connect to 127.0.0.1:1 within 1 s"
    ):
        with connect.connect(t, timeout=1):
            pass


# -- lstm-autograde export (Canvas) --------------------------------------------------------------
def short_map(c: Path):
    (c / "map.csv").write_text("student_id,canvas\nalice\n")


def two_to_one(c: Path):
    (c / "map.csv").write_text("student_id,canvas\nbob,alice\n")


def map_twice(c: Path):
    (c / "map.csv").write_text("student_id,canvas\nalice,alice\nalice,bob\n")


def canvas_value_twice(c: Path):
    # As a spreadsheet on Windows saves it: a BOM, CRLF line ends, and a blank line (line 2).
    (c / "map.csv").write_bytes("\ufeffstudent_id,canvas\r\n\r\nalice,bob\r\nbob,bob\r\n".encode())


def map_one_id_twice(c: Path):
    (c / "map.csv").write_text("student_id,canvas\nalice,alice\n ALICE,bob\n")


def map_comment(c: Path):
    (c / "map.csv").write_text("student_id,canvas\n# from the registrar\nalice,alice\n")


def map_comment_with_a_comma(c: Path):
    """A comment that holds a comma is two fields: it was read as the student '# from the
    registrar' (listed as unmatched), where one without a comma was refused (a review)."""
    (c / "map.csv").write_text("student_id,canvas\nalice,alice\n# from the registrar, 2026\n")


def map_trailing_note(c: Path):
    """A note after a row's value was read as part of the value (a review)."""
    (c / "map.csv").write_text("student_id,canvas\nalice,alice  # moved section\nbob,bob\n")


def latin1_map(c: Path):
    (c / "map.csv").write_bytes(b"student_id,canvas\n\xe9,alice\n")


def key_twice(c: Path):
    (c / "Grades.csv").write_text(CANVAS_EXPORT + '"Doe, Alice (2)",1003,alice,LSTM 102,,,\n')


def long_row(c: Path):
    (c / "Grades.csv").write_text(CANVAS_EXPORT + "Doe, Carl,1003,carl,LSTM 101,,,\n")


def bad_points(c: Path):
    (c / "Grades.csv").write_text(CANVAS_EXPORT.replace("10.00", "ten"))


EXPORT = ["--canvas", "{c}/Grades.csv", "--column", "Problem set 1", "--assignment", A]
PS02 = ["--assignment", "ps02", "--column", "Problem set 2"]
OUT = "expected a .csv file name"
# (options replacing or adding to those of EXPORT, what the course needs changed, the pattern)
EXPORT_CASES = {
    "canvas missing": (
        ["--canvas", "{c}/nope.csv"],
        None,
        "canvas: .*/nope.csv does not exist; expected Canvas's gradebook export",
    ),
    "canvas empty": (["--canvas", ""], None, "--canvas: got ''; expected a path"),
    "course empty": (["--course", " "], None, "--course: got ' '; expected a path"),
    "out empty": (["--out", ""], None, "--out: got ''; expected a path"),
    "map empty": (["--map", ""], None, "--map: got ''; expected a path"),
    "canvas a folder": (
        ["--canvas", "{c}/solutions"],
        None,
        "canvas: .*/solutions is not a file; expected Canvas's gradebook export",
    ),
    "canvas binary": (
        ["--canvas", "{c}/gradebook.db"],
        None,
        r"canvas: .*/gradebook.db is not UTF-8 text \(byte \d+\)",
    ),
    "canvas not an export": (
        ["--canvas", "{c}/map.csv"],
        None,
        "canvas: .*/map.csv has no 'Student' and 'ID' header",
    ),
    "canvas points": (
        [],
        bad_points,
        r"canvas: the Points Possible of 'Problem set 1 \(11\)' is 'ten'; expected a number",
    ),
    "column missing": (
        ["--column", "Problem set 9"],
        None,
        r"column: no assignment column 'Problem set 9' .* 'Problem set 1 \(11\)'",
    ),
    "column of names": (
        ["--column", "Student"],
        None,
        "column: 'Student' is one of Canvas's identification columns; expected an assignment",
    ),
    "column read only": (
        ["--column", "Current Points"],
        None,
        "column: 'Current Points' is read-only in Canvas",
    ),
    "assignment unknown": (
        ["--assignment", "ps09"],
        None,
        "assignment: no assignment 'ps09' in .*gradebook.db; it has 'ps01', 'ps02'",
    ),
    "assignment not graded": (
        PS02,
        None,
        "assignment: 'ps02' has no submission in .*; expected an assignment graded first",
    ),
    "not graded, zeros": (
        [*PS02, "--missing", "zero"],
        None,
        "assignment: 'ps02' has no submission",
    ),
    "course missing": (
        ["--course", "{c}/nowhere"],
        None,
        "course: .*/nowhere is not a folder; expected the course folder holding gradebook.db",
    ),
    "no gradebook": ([], no_gradebook, "course: .*/gradebook.db does not exist"),
    "broken gradebook": ([], broken_gradebook, "course: .*/gradebook.db is not an nbgrader"),
    "out is the export": (
        ["--out", "{c}/Grades.csv"],
        None,
        "out: got '.*/Grades.csv', which would overwrite .*/Grades.csv",
    ),
    "out is the map": (
        ["--out", "{c}/map.csv", "--map", "{c}/map.csv"],
        None,
        "out: got '.*/map.csv', which would overwrite",
    ),
    "out is the gradebook": (
        ["--out", "{c}/gradebook.db"],
        None,
        f"out: got '.*/gradebook.db'; {OUT}",
    ),
    "out is json": (["--out", "{c}/import.json"], None, f"out: got '.*/import.json'; {OUT}"),
    "out in no folder": (
        ["--out", "{c}/no/such/import.csv"],
        None,
        "out: got '.*/no/such/import.csv', in no existing folder",
    ),
    "out a folder": (
        ["--out", "{c}/solutions.csv"],
        lambda c: (c / "solutions.csv").mkdir(),
        "out: got '.*/solutions.csv', a folder",
    ),
    "map missing": (
        ["--map", "{c}/nomap.csv"],
        None,
        "map: .*/nomap.csv does not exist; expected a CSV file with the columns 'student_id'",
    ),
    "map columns": (
        ["--map", "{c}/Grades.csv"],
        None,
        "map: .*/Grades.csv has columns .*; expected 'student_id' and 'canvas'",
    ),
    "map short row": (
        ["--map", "{c}/map.csv"],
        short_map,
        r"map: row 2 of .*/map.csv is \['alice'\]; expected 2 fields",
    ),
    "map not UTF-8": (
        ["--map", "{c}/map.csv"],
        latin1_map,
        r"map: .*/map.csv is not UTF-8 text \(byte 18\)",
    ),
    "map two to one": (
        ["--map", "{c}/map.csv"],
        two_to_one,
        r"map: the course students 'alice' and 'bob' \(map line 2\) both match the Canvas row "
        r"whose SIS Login ID is 'alice'; expected one student per row \(fix the map file\)$",
    ),
    "map gives a canvas value twice": (
        ["--map", "{c}/map.csv"],
        canvas_value_twice,
        r"map: the course students 'alice' \(map line 3\) and 'bob' \(map line 4\) both match "
        r"the Canvas row whose SIS Login ID is 'bob'; expected one student per row \(fix the map "
        r"file\)$",
    ),
    "map twice": (
        ["--map", "{c}/map.csv"],
        map_twice,
        r"map: student_id 'alice' appears twice in .*/map.csv \(lines 2 and 3, of canvas values "
        r"'alice' and 'bob'\); expected one row per student$",
    ),
    "map one id twice": (
        ["--map", "{c}/map.csv"],
        map_one_id_twice,
        r"map: the student_ids 'alice' \(map line 2\) and 'ALICE' \(map line 3\) are one id "
        r"\(ignoring case, surrounding spaces and the Unicode normal form\); expected one row per "
        r"student$",
    ),
    "map comment": (
        ["--map", "{c}/map.csv"],
        map_comment,
        r"map: row 2 of .*/map.csv is \['# from the registrar'\]; expected 2 fields, a "
        r"student_id and its canvas value",
    ),
    "map comment with a comma": (
        ["--map", "{c}/map.csv"],
        map_comment_with_a_comma,
        r"map: row 3 of .*/map.csv is \['# from the registrar', ' 2026'\]; expected 2 fields, a "
        r"student_id and its canvas value \(empty: no Canvas row\); a map file has no comment "
        r"lines: remove it$",
    ),
    "map note after a value": (
        ["--map", "{c}/map.csv"],
        map_trailing_note,
        r"map: row 2 of .*/map.csv has 'alice  # moved section'; expected a student_id and its "
        r"canvas value alone: a map file has no comments \(remove the '#' note\)$",
    ),
    "key": (["--key", "Email"], None, "key: 'Email' is not an identification column here"),
    "canvas row too long": (
        [],
        long_row,
        r"canvas: row 5 of .*/Grades.csv has 8 fields, the header 7; expected at most 7, one "
        r"per column \(Canvas's gradebook export \(Grades > Export\), a CSV file: a cell with a "
        r"comma kept in quotes\)$",
    ),
    "key twice": (
        [],
        key_twice,
        # With both rows (a review: the message said neither): CANVAS_EXPORT's alice is row 3
        # (after the header and Points Possible), key_twice's row 5 (after bob's).
        r"key: 'alice' appears twice in the Canvas column 'SIS Login ID' \(rows 3 and 5 of "
        r"the Canvas file\); expected a column that names each student once \(another --key\)$",
    ),
    "course a symlink loop": (
        ["--course", "{c}/loop"],
        symlink_loop,
        f"course: got '.*/loop', {LOOP}; expected the course folder holding gradebook.db",
    ),
    "course name too long": (
        ["--course", f"{{c}}/{LONG}"],
        None,
        f"course: got '.*/{LONG}', {TOO_LONG}; expected the course folder holding gradebook.db",
    ),
    "canvas a symlink loop": (
        ["--canvas", "{c}/loop.csv"],
        symlink_loop,
        f"canvas: got '.*/loop.csv', {LOOP}; expected Canvas's gradebook export",
    ),
    "canvas name too long": (
        ["--canvas", f"{{c}}/{LONG}.csv"],
        None,
        f"canvas: got '.*/{LONG}.csv', {TOO_LONG}; expected Canvas's gradebook export",
    ),
    "canvas a FIFO": (
        ["--canvas", "{c}/fifo"],
        fifo,
        "canvas: .*/fifo is not a file; expected Canvas's gradebook export",
    ),
    "canvas with a newline": (
        ["--canvas", "{c}/new\nline.csv"],
        None,
        r"canvas: .*/new\\nline.csv does not exist; expected Canvas's gradebook export",
    ),
    "map a symlink loop": (
        ["--map", "{c}/loop.csv"],
        symlink_loop,
        f"map: got '.*/loop.csv', {LOOP}; expected a CSV file with the columns 'student_id'",
    ),
    "map name too long": (
        ["--map", f"{{c}}/{LONG}.csv"],
        None,
        f"map: got '.*/{LONG}.csv', {TOO_LONG}; expected a CSV file with the columns",
    ),
    "out a symlink loop": (
        ["--out", "{c}/loop.csv"],
        symlink_loop,
        f"out: got '.*/loop.csv', {LOOP}; {OUT}",
    ),
    "out in a symlink loop": (
        ["--out", "{c}/loop/import.csv"],
        symlink_loop,
        f"out: got '.*/loop/import.csv', {LOOP}; {OUT}",
    ),
    "out name too long": (
        ["--out", f"{{c}}/{LONG}.csv"],
        None,
        f"out: got '.*/{LONG}.csv', {TOO_LONG}; {OUT}",
    ),
    "out's report a folder": (
        ["--out", "{c}/import.csv"],
        lambda c: (c / "import.json").mkdir(),
        f"out: got '.*/import.csv', whose report .*/import.json is a folder; {OUT}",
    ),
    "missing": (["--missing", "none"], None, "--missing: got 'none'; expected 'blank' or 'zero'"),
}


@pytest.mark.parametrize("case", EXPORT_CASES)
def test_bad_export_option_is_refused_and_nothing_is_written(case, course, capsys):
    options, change, message = EXPORT_CASES[case]
    if change:
        change(course)
    argv = {**dict(zip(EXPORT[::2], EXPORT[1::2], strict=True))}
    argv.update({"--course": "{c}", "--out": "{c}/import.csv"})
    extra = []
    for i in range(0, len(options), 2):
        if options[i] in argv:
            argv[options[i]] = options[i + 1]
        else:
            extra += options[i : i + 2]
    flat = [x for pair in argv.items() for x in pair] + extra
    refused(["export", *flat], course, capsys, message, prefix="lstm-autograde export")


ARGPARSE_ERRORS = {
    "value out of range": (
        [A, "--jobs", "9999"],
        f"lstm-autograde: --jobs/-j: got '9999'; expected a whole number of worker processes "
        f"from 1 to {MOST} (4 per core here); see lstm-autograde --help",
    ),
    "limit of 0": (
        [A, "--memory-mb", "0"],
        "lstm-autograde: --memory-mb: got '0'; expected a whole number of MiB from 1 to 1048576 "
        "(1 TiB); see lstm-autograde --help",
    ),
    "no assignment": (
        [],
        "lstm-autograde: the following arguments are required: assignment; see lstm-autograde "
        "--help",
    ),
    "unknown option": (
        [A, "--jobz", "2"],
        "lstm-autograde: unrecognized arguments: --jobz 2; see lstm-autograde --help",
    ),
    "export choice": (
        ["export", *EXPORT, "--missing", "none"],
        "lstm-autograde export: --missing: got 'none'; expected 'blank' or 'zero'; see "
        "lstm-autograde export --help",
    ),
    "export option without its value": (
        ["export", *EXPORT, "--canvas"],
        "lstm-autograde export: --canvas: expected one argument; see lstm-autograde export --help",
    ),
}


@pytest.mark.parametrize("case", ARGPARSE_ERRORS)
def test_a_command_line_argparse_refuses_is_one_line_not_a_usage_block(case, capsys):
    """What argparse itself refuses is one line too (its usage block is ``--help``'s)."""
    argv, line = ARGPARSE_ERRORS[case]
    code, err = run(argv, capsys)
    assert (code, err) == (2, line + "\n")


def test_a_good_export_writes_the_import_file(course, capsys):
    """The course of the export cases is a good one: each fails for its one bad input."""
    argv = ["export", *EXPORT, "--course", "{c}", "--out", "{c}/import.csv", "--map", "{c}/map.csv"]
    code, err = run([a.replace("{c}", str(course)) for a in argv], capsys)
    assert (code, err) == (0, "")
    rows = (course / "import.csv").read_text().splitlines()
    assert rows[-2:] == ['"Doe, Alice",1001,alice,LSTM 101,7', '"Roe, Bob",1002,bob,LSTM 101,']
    # the API takes str paths as the command line's Path ones
    report = canvas.export_canvas(
        str(course / "Grades.csv"), str(course), A, "Problem set 1", str(course / "again.csv")
    )
    assert report.written == {"alice": "7"} and (course / "again.json").is_file()


@pytest.mark.parametrize("name", NOT_FILE_NAMES)
@pytest.mark.parametrize("argument", ["canvas_csv", "course", "out", "mapping"])
def test_export_paths_that_no_file_can_have_are_named(argument, name, course):
    kwargs = {
        "canvas_csv": course / "Grades.csv",
        "course": course,
        "assignment": A,
        "column": "Problem set 1",
        "out": course / "import.csv",
        argument: str(course / NOT_FILE_NAMES[name]) + ".csv",
    }
    shown = {"canvas_csv": "canvas", "mapping": "map"}.get(argument, argument)
    before = tree(course)
    with pytest.raises(ValueError, match=rf"^{shown}: got '.*', which cannot be used \(not a file"):
        canvas.export_canvas(**kwargs)
    assert tree(course) == before


def test_export_from_a_course_folder_named_with_uri_characters(course, tmp_path, capsys):
    """The gradebook is opened by URI: "#", "?" and "%" in a folder name are the folder's."""
    odd = tmp_path / "course #1?%41"
    shutil.copytree(course, odd)
    argv = ["export", *EXPORT, "--course", "{c}", "--out", "{c}/import.csv"]
    code, err = run([a.replace("{c}", str(odd)) for a in argv], capsys)
    assert (code, err) == (0, "")
    assert (odd / "import.csv").read_text().splitlines()[-2].endswith(",7")


def load_course_config():
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(__file__).resolve().parents[1]
    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def test_plain_nbgrader_reads_the_cell_timeout_as_lstm_autograde_does(monkeypatch):
    """nbgrader_config.py (read by every nbgrader command) checks the variable with the same
    rule, and falls back on the grader's own default."""
    monkeypatch.delenv(inputs.CELL_TIMEOUT_ENV, raising=False)
    config = load_course_config()
    assert f"--KernelGuard.timeout={Limits.cell_timeout}" in config.Execute.extra_arguments
    monkeypatch.setenv(inputs.CELL_TIMEOUT_ENV, "7")
    assert "--KernelGuard.timeout=7" in load_course_config().Execute.extra_arguments
    monkeypatch.setenv(inputs.CELL_TIMEOUT_ENV, "abc")
    # SystemExit, not an Exception: traitlets would log an Exception and run nbgrader without
    # the course's settings (tests/test_nbgrader_forks.py runs the commands).
    message = r"LSTM_GRADING_CELL_TIMEOUT \(environment variable\): got 'abc'; expected a whole"
    with pytest.raises(SystemExit, match=message):
        load_course_config()


@pytest.mark.processes
def test_python_dash_m_lstm_grading_is_the_same_command(tmp_path):
    """``python -m lstm_grading`` runs lstm-autograde's main: its help, its exit statuses."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def module(*argv):
        return subprocess.run(
            [sys.executable, "-m", "lstm_grading", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    shown = module("--help")
    assert (shown.returncode, shown.stderr) == (0, "")
    assert shown.stdout.startswith("usage: lstm-autograde ")
    missing = tmp_path / "no-course"
    done = module(A, "--course", str(missing))
    assert done.returncode == 2
    assert done.stderr == (
        f"lstm-autograde: course: got '{missing}', which does not exist; expected {inputs.COURSE}\n"
    )
