"""The cluster mode's parts that need no kernel and no cluster (lstm_grading.cluster, .progress).

Which connections are refused and how the options are checked, the progress display on a fake
terminal and a fake log, and the coordinator's merge of results (fake ones, built with
nbgrader's Gradebook API) being idempotent and keeping manual grades. The real processes are in
tests/test_cluster_grading.py (slow).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import time
from pathlib import Path

import grading_corpus as corpus
import pytest
from course import Course

from lstm_grading import cgroup as cgroups
from lstm_grading import cli, course_lock, course_prep, parallel
from lstm_grading.cluster import connect, coordinator
from lstm_grading.cluster.connect import Target
from lstm_grading.job import cluster_reduced_gaps, local_reduced_gaps, user_name
from lstm_grading.progress import Progress, clock_text
from lstm_grading.sandbox import Limits

A = corpus.ASSIGNMENT
# An address of TEST-NET-1 (RFC 5737, for documentation): never reachable, never contacted
# here (every check below refuses or accepts before any connection is made).
REMOTE = "tcp://192.0.2.10:8786"


# -- options and connections ---------------------------------------------------------------------
def test_no_cluster_option_means_the_local_pool():
    assert connect.target() is None


def test_local_cluster_option():
    assert connect.target(cluster="local:3") == Target(workers=3, source="local:3")


@pytest.mark.parametrize("text", ["local", "local:0", "local:-1", "local:x", "remote:2", "4"])
def test_bad_cluster_option_names_the_argument(text):
    with pytest.raises(ValueError, match=rf"cluster: expected local:N .* got '{text}'"):
        connect.target(cluster=text)


def test_remote_scheduler_without_tls_is_refused_and_the_error_names_the_flag():
    with pytest.raises(ValueError, match=r"scheduler: the scheduler .* not on this machine") as e:
        connect.target(scheduler=REMOTE)
    assert "--allow-insecure" in str(e.value) and "--tls-ca-file" in str(e.value)


def test_remote_scheduler_without_tls_is_allowed_when_asked():
    t = connect.target(scheduler=REMOTE, allow_insecure=True)
    assert t.address == REMOTE and t.tls is None


@pytest.mark.parametrize(
    "address", ["127.0.0.1:8786", "tcp://localhost:8786", "tcp://127.0.0.5:1", "tcp://[::1]:9"]
)
def test_loopback_scheduler_needs_no_tls(address):
    assert connect.target(scheduler=address).address.startswith("tcp://")


def test_a_name_is_on_this_machine_only_if_every_address_it_has_is_loopback(monkeypatch):
    """A scheduler named by a host name gets plain TCP only if every address the name stands
    for is a loopback one: a name that also stands for another machine (a hosts file, a DNS
    answer with both), or only starts with "localhost", is refused without TLS."""
    import socket

    answers = {
        "both.example": ["127.0.0.1", "192.0.2.10"],
        "local.example": ["127.0.0.1", "::1"],
        "localhost.example": ["192.0.2.10"],
    }

    def getaddrinfo(host, port, *args, **kwargs):  # what the resolver answers for each name
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert connect.target(scheduler="tcp://local.example:8786").address.startswith("tcp://")
    for host in ("both.example", "localhost.example"):
        with pytest.raises(ValueError, match=r"is not on this machine"):
            connect.target(scheduler=f"tcp://{host}:8786")


def test_remote_scheduler_file_without_tls_is_refused(tmp_path):
    path = tmp_path / "scheduler.json"
    path.write_text(json.dumps({"address": REMOTE}))
    with pytest.raises(ValueError, match=r"scheduler_file: the scheduler tcp://192.0.2.10"):
        connect.target(scheduler_file=path)


def test_missing_scheduler_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ValueError, match=r"scheduler_file: .* dask scheduler --scheduler-file"):
        connect.target(scheduler_file=tmp_path / "none.json")


def test_tls_needs_all_three_files(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(ValueError, match=r"tls_cert: TLS needs all three .* --tls-cert, --tls-key"):
        connect.target(scheduler="tls://192.0.2.10:8786", tls_ca_file=str(ca))
    with pytest.raises(ValueError, match=r"tls_ca_file: .*missing.pem is not a file"):
        connect.target(
            scheduler="tls://192.0.2.10:8786",
            tls_ca_file=str(tmp_path / "missing.pem"),
            tls_cert=str(ca),
            tls_key=str(ca),
        )


def test_tls_files_make_a_tls_address(tmp_path):
    files = [tmp_path / n for n in ("ca.pem", "cert.pem", "key.pem")]
    for f in files:
        f.write_text("x")
    flags = dict(zip(TLS_ARGS, map(str, files), strict=True))
    t = connect.target(scheduler="192.0.2.10:8786", **flags)
    assert t.address == "tls://192.0.2.10:8786" and t.tls == tuple(map(str, files))
    with pytest.raises(ValueError, match=r"scheduler: .* plain tcp:// address but TLS files"):
        connect.target(scheduler=REMOTE, **flags)


TLS_ARGS = ("tls_ca_file", "tls_cert", "tls_key")


def test_tls_address_without_tls_files_is_refused():
    with pytest.raises(ValueError, match=r"scheduler: tls://192.0.2.10:8786 asks for TLS"):
        connect.target(scheduler="tls://192.0.2.10:8786")


def test_only_one_way_to_name_the_cluster():
    with pytest.raises(ValueError, match=r"scheduler: give only one of --cluster, --scheduler"):
        connect.target(cluster="local:2", scheduler="127.0.0.1:1")


@pytest.mark.parametrize("address", ["http://h:1", "h", "tcp://:80", "tcp://h:port"])
def test_bad_scheduler_address(address):
    with pytest.raises(ValueError, match=r"scheduler: expected tcp://HOST:PORT"):
        connect.target(scheduler=address)


def test_command_line_refuses_a_remote_scheduler_without_contacting_it(tmp_path, capsys):
    (tmp_path / "nbgrader_config.py").write_text("")
    code = cli.main([A, "--course", str(tmp_path), "--scheduler", REMOTE])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("lstm-autograde: scheduler: the scheduler tcp://192.0.2.10:8786")
    assert "--allow-insecure" in err
    assert not (tmp_path / "reports").exists()  # refused before the course was touched


def test_a_cluster_run_with_nothing_to_grade_says_the_scheduler_was_not_contacted(
    tmp_path, capsys, monkeypatch
):
    """Every submission unchanged: the coordinator never connects (nor tries TLS), and the
    run's last line says so, naming the scheduler it would have used (it printed 'on the Dask
    scheduler ;' with an empty address)."""
    from lstm_grading.cluster import coordinator

    (tmp_path / "nbgrader_config.py").write_text("")
    summary = {
        "table": "", "graded": 0, "failed": 0, "refused": 0, "unchanged": 4,
        "wall_seconds": 0.1, "sandbox": "full",
        "cluster": {"target": "tcp://127.0.0.1:8786", "scheduler": "", "graded_on": {}},
    }  # fmt: skip
    monkeypatch.setattr(coordinator, "grade_assignment", lambda *a, **k: summary)
    assert cli.main([A, "--course", str(tmp_path), "--scheduler", "tcp://127.0.0.1:8786"]) == 0
    out = capsys.readouterr().out
    assert "the Dask scheduler (tcp://127.0.0.1:8786) not contacted: nothing to grade" in out
    assert "on the Dask scheduler ;" not in out
    summary["cluster"]["scheduler"] = "tcp://127.0.0.1:8786"
    assert cli.main([A, "--course", str(tmp_path), "--scheduler", "tcp://127.0.0.1:8786"]) == 0
    assert "; on the Dask scheduler tcp://127.0.0.1:8786;" in capsys.readouterr().out
    summary["cluster"].update(target="local:2", scheduler="")
    assert cli.main([A, "--course", str(tmp_path), "--cluster", "local:2"]) == 0
    assert "the Dask cluster (local:2) not started: nothing to grade" in capsys.readouterr().out


def test_command_line_checks_the_cluster_option(tmp_path, capsys):
    assert cli.main([A, "--course", str(tmp_path), "--cluster", "local:many"]) == 2
    assert "cluster: expected local:N" in capsys.readouterr().err


def test_sandbox_line_of_the_summary():
    full, reduced = {"sandbox_mode": "full"}, {"sandbox_mode": "reduced", "sandbox_why": "not root"}
    assert coordinator.sandbox_text([full, full]) == "full"
    assert coordinator.sandbox_text([reduced]) == "reduced (not root)"
    assert coordinator.sandbox_text([full, reduced, full]) == "mixed: 2 full, 1 reduced (not root)"
    assert coordinator.gaps_of(reduced, None) == cluster_reduced_gaps()
    assert coordinator.gaps_of(full, None) == ""
    assert coordinator.gaps_of({}, "reduced") == cluster_reduced_gaps()  # its process died twice


@pytest.mark.parametrize("name", ["../x", "/etc/x", "a/./b", "a//b", "a/", "a\0b", 5])
def test_result_files_cannot_leave_their_folder(tmp_path, name):
    """A result's file names are relative paths without an empty, "." or ".." part: anything
    else is a ValueError before anything is written."""
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(ValueError, match=r"result files must be relative paths, got "):
            coordinator.write_files({"fine.txt": b"", name: b""}, fd)
    finally:
        os.close(fd)
    assert list(out.iterdir()) == []


# -- progress ------------------------------------------------------------------------------------
class FakeStream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_clock_text():
    assert clock_text(None) == "--:--:--"
    assert clock_text(3725.4) == "1:02:05"


def test_plain_lines_one_per_tenth_with_counts_rate_and_eta():
    stream, clock = FakeStream(tty=False), FakeClock()
    bar = Progress(20, stream, clock)
    for i in range(20):
        clock.now += 30  # each submission takes 30 s: 2 per minute
        bar.update("failed" if i == 3 else "graded", f"s{i}")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    # after 2 of 20, 60 s elapsed: 2.0/min, 18 left at 30 s each = 540 s
    assert lines[0] == "2/20 (10%): graded 2, failed 0; 2.0/min, ETA 0:09:00"
    assert lines[1] == "4/20 (20%): graded 3, failed 1; 2.0/min, ETA 0:08:00"
    assert lines[-1] == "20/20 (100%): graded 19, failed 1; 2.0/min, ETA 0:00:00"
    assert "\r" not in stream.getvalue() and "s3" not in stream.getvalue()


def test_plain_lines_for_a_small_class_give_every_step():
    stream = FakeStream(tty=False)
    bar = Progress(3, stream, FakeClock())
    for _ in range(3):
        bar.update("graded")
    assert [line.split(" ")[0] for line in stream.getvalue().splitlines()] == ["1/3", "2/3", "3/3"]


def test_terminal_bar_is_redrawn_in_place_and_ends_with_a_newline():
    stream, clock = FakeStream(tty=True), FakeClock()
    bar = Progress(4, stream, clock)
    clock.now += 60
    bar.update("graded")
    first = stream.getvalue()
    # 1 of 4 in 60 s: 1.0/min, 3 left at 60 s each
    bar_text = "[" + "#" * 7 + "." * 23 + "]"  # 30 * 1 // 4 = 7 of the 30 characters
    assert first == f"\r{bar_text} 1/4  25%  graded 1  failed 0  1.0/min  ETA 0:03:00"
    bar.say("waiting for a worker")
    clock.now += 60
    bar.update("failed")
    for _ in range(2):
        bar.update("graded")
    out = stream.getvalue()
    assert "\rwaiting for a worker\n" in out.replace(" " * len(first.strip("\r")), "")
    draws = out.split("\r")
    assert draws[-1].startswith("[" + "#" * 30 + "] 4/4 100%  graded 3  failed 1")
    assert out.endswith("ETA 0:00:00\n") and out.count("\n") == 2


def test_clock_text_rounds_to_the_nearest_second():
    # 59.6 s is 60 s to the nearest second (round half to even does not arise here)
    assert clock_text(59.6) == "0:01:00"
    assert clock_text(3599.5) == "1:00:00"  # round(3599.5) = 3600: 3599 is odd, 3600 even


def test_a_shorter_line_wipes_the_end_of_the_longer_one_before_it():
    """Redrawn in place, a line shorter than the one on screen is padded with spaces, or the
    end of the old one stays visible: the rate 12.0/min becomes 1.0/min here."""
    stream, clock = FakeStream(tty=True), FakeClock()
    bar = Progress(2, stream, clock)
    clock.now += 5  # 1 in 5 s: 12.0/min
    bar.update("graded")
    first = stream.getvalue().removeprefix("\r")
    clock.now += 115  # 2 in 120 s: 1.0/min
    bar.update("graded")
    second = stream.getvalue().removeprefix("\r" + first + "\r").removesuffix("\n")
    assert "12.0/min" in first and "1.0/min" in second
    assert len(second) == len(first) and second.endswith(" ")


def test_say_wipes_the_bar_before_its_message_and_redraws_it_below():
    stream, clock = FakeStream(tty=True), FakeClock()
    bar = Progress(3, stream, clock)
    bar.update("graded")
    drawn = stream.getvalue()
    bar.say("waiting for a worker")
    blank = "\r" + " " * (len(drawn) - 1) + "\r"
    assert stream.getvalue() == drawn + blank + "waiting for a worker\n" + drawn


def test_say_on_a_log_is_one_plain_line():
    stream = FakeStream(tty=False)
    bar = Progress(3, stream, FakeClock())
    bar.update("graded")
    bar.say("waiting for a worker")
    assert stream.getvalue().splitlines()[-1] == "waiting for a worker"
    assert "\r" not in stream.getvalue()


def test_close_ends_the_line_of_an_interrupted_run_once():
    stream = FakeStream(tty=True)
    bar = Progress(3, stream, FakeClock())
    bar.update("graded")
    bar.close()
    assert stream.getvalue().endswith("\n") and stream.getvalue().count("\n") == 1
    bar.close()
    assert stream.getvalue().count("\n") == 1


def test_an_empty_run_is_complete():
    """With nothing to grade the line says 100% and a full bar, not a division by zero."""
    assert Progress(0, FakeStream(tty=False)).line().startswith("0/0 (100%): graded 0")
    assert Progress(0, FakeStream(tty=True)).line().startswith("[" + "#" * 30 + "] 0/0 100%")


def test_progress_rejects_a_negative_total():
    with pytest.raises(ValueError, match=r"total must be at least 0, got -1"):
        Progress(-1, FakeStream(tty=False))


# -- merging results -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    """A course with ps01 in its gradebook (nbgrader generate_assignment: no kernel)."""
    course = Course.copy_of_repo(tmp_path_factory.mktemp("merge") / "course")
    course.generate(A)
    return course


def fake_result(
    course: Course,
    tmp: Path,
    student: str,
    scores: dict[str, float],
    penalty: float | None = None,
    comments: dict[str, str] | None = None,
) -> dict:
    """What a worker returns for ``student``: a private gradebook holding ``scores``, and the
    late penalty and automatic comments (by cell name) nbgrader would have written."""
    from nbgrader.api import Gradebook

    tmp.mkdir()
    course_prep.make_template(course.root, A, tmp / "template")
    db = tmp / "template" / "gradebook.db"
    with Gradebook(f"sqlite:///{db}") as gb:
        gb.add_student(student)
        with gb.db.no_autoflush:
            sub = gb.add_submission(A, student)
        for nb in sub.notebooks:
            nb.late_submission_penalty = penalty
            for grade in nb.grades:
                grade.auto_score = scores[grade.name]
            for comment in nb.comments:
                comment.auto_comment = (comments or {}).get(comment.name)
        gb.db.commit()
    notebook = json.dumps(corpus.ordinary(course.root, "correct")).encode()
    return {
        "exit_code": 0,
        "error": None,
        "timed_out": False,
        "seconds": 1.0,
        "sandbox_mode": "full",
        "worker": "tcp://127.0.0.1:1",
        "files": {
            "gradebook.db": db.read_bytes(),
            f"autograded/{A}.ipynb": notebook,
            "nbgrader.log": b"[AutogradeApp] fake\n",
        },
    }


@pytest.mark.processes
def test_merging_a_result_twice_changes_nothing_and_keeps_manual_grades(course, tmp_path):
    from nbgrader.api import Gradebook

    course.submit("alice", A, corpus.ordinary(course.root, "correct"))
    # ps01's grade cells and their points (solutions/ps01_activations: 3 + 2 + 3 + 2)
    scores = {"test_sigmoid": 3.0, "test_tanh": 2.0, "test_sigmoid_grad": 0.0}
    scores["test_tanh_grad"] = 2.0
    run, manifest, submissions, _, todo = parallel._plan(course.root, A, Limits(), False, "")
    assert list(todo) == ["alice"]
    base = tmp_path / "base"
    made = iter(range(2))

    def merge():
        result = fake_result(course, tmp_path / f"result{next(made)}", "alice", scores)
        return coordinator._merge(run, manifest, "alice", todo, submissions, result, base, None)

    first = merge()
    assert (first.status, first.score, first.sandbox) == ("graded", 7.0, "")
    assert course.scores(A)["alice"] == scores
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        assert not gb.find_submission(A, "alice").needs_manual_grade  # every cell autograded
        grade = gb.find_grade("test_sigmoid_grad", A, A, "alice")
        grade.manual_score = 2.5  # the instructor grades a cell by hand
        grade.needs_manual_grade = False  # as the formgrader saves a manual score
        gb.db.commit()
    second = merge()
    assert second.status == "graded"
    assert course.submissions_in_gradebook() == 1
    assert course.scores(A)["alice"] == scores  # autograded scores unchanged
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        graded_by_hand = gb.find_grade("test_sigmoid_grad", A, A, "alice")
        assert graded_by_hand.manual_score == 2.5
        assert gb.find_submission(A, "alice").score == 9.5  # 7 - 0 + 2.5: the manual score
        # nbgrader's SaveAutoGrades._add_score: a cell with a manual score that is autograded
        # again is flagged for review (the new auto score may disagree with the hand grade);
        # cells without one are not. The merge writes what nbgrader's autograde would.
        assert graded_by_hand.needs_manual_grade
        assert not gb.find_grade("test_sigmoid", A, A, "alice").needs_manual_grade
        assert gb.find_submission(A, "alice").needs_manual_grade
    saved = json.loads((course.root / "reports" / A / "manifest.json").read_text())
    assert saved["students"]["alice"]["hash"] == todo["alice"]
    assert saved["students"]["alice"]["status"] == "graded"
    log = (course.root / "reports" / A / "logs" / "alice.log").read_text()
    assert log.startswith("[lstm-autograde] graded on tcp://127.0.0.1:1, sandbox full\n")
    assert not base.exists() or not any(base.rglob("*.ipynb"))  # results removed after merging
    # Planned again: the merged submission is not graded again.
    _, _, _, outcomes, todo_again = parallel._plan(course.root, A, Limits(), False, "")
    assert todo_again == {} and outcomes["alice"].status == "unchanged"


@pytest.mark.processes
def test_a_merge_keeps_the_late_penalty_and_the_automatic_comments(course, tmp_path):
    """nbgrader's autograde writes a notebook's late_submission_penalty (its LateSubmission
    plugin) and each cell's auto_comment (SaveAutoGrades: "No response." for a cell left as
    released); the merge copies them into the course's gradebook with the scores, so the
    export subtracts the penalty and the formgrader shows the comment."""
    from nbgrader.api import Gradebook

    course.submit("carol", A, corpus.ordinary(course.root, "correct"))
    scores = {"test_sigmoid": 3.0, "test_tanh": 2.0, "test_sigmoid_grad": 3.0}
    scores["test_tanh_grad"] = 2.0
    run, manifest, submissions, _, todo = parallel._plan(course.root, A, Limits(), False, "")
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        cells = [c.name for c in gb.find_notebook(A, A).solution_cells]
    comments = dict.fromkeys(cells[:1], "No response.")
    assert comments  # ps01 has solution cells, each with a comment row
    result = fake_result(course, tmp_path / "result", "carol", scores, 1.5, comments)
    out = coordinator._merge(run, manifest, "carol", todo, submissions, result, tmp_path, None)
    assert (out.status, out.score) == ("graded", 10.0)  # 3 + 2 + 3 + 2
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        sub = gb.find_submission(A, "carol")
        assert sub.late_submission_penalty == 1.5
        assert {c.name: c.auto_comment for c in sub.notebooks[0].comments} == {
            name: comments.get(name) for name in cells
        }


@pytest.mark.processes
def test_a_killed_task_is_merged_as_a_failure_needing_grading(course, tmp_path):
    course.submit("bob", A, corpus.ordinary(course.root, "correct"))
    run, manifest, submissions, _, todo = parallel._plan(course.root, A, Limits(), False, "")
    result = {"exit_code": None, "error": None, "reason": "the worker died", "files": {}}
    out = coordinator._merge(run, manifest, "bob", todo, submissions, result, tmp_path, "reduced")
    assert (out.status, out.reason) == ("failed", "the worker died")
    assert out.sandbox == cluster_reduced_gaps()
    assert course.total(A, "bob") is None  # empty scores: needs manual grading
    assert not (course.root / "autograded" / "bob").exists()


@pytest.mark.processes
def test_a_result_whose_files_cannot_all_be_written_is_merged_as_a_failure(course, tmp_path):
    """A worker's files that cannot all be written as sent (a name that is both a file and a
    folder), or that name a path out of the run folder, are no result: the student is failed
    with the reason, needing grading, not graded from what could be written."""
    course.submit("dora", A, corpus.ordinary(course.root, "correct"))
    scores = {"test_sigmoid": 3.0, "test_tanh": 2.0, "test_sigmoid_grad": 3.0}
    scores["test_tanh_grad"] = 2.0
    run, manifest, submissions, _, todo = parallel._plan(course.root, A, Limits(), False, "")
    base = tmp_path / "base"

    def merge(name: str, extra: dict[str, bytes]):
        result = fake_result(course, tmp_path / name, "dora", scores)
        result["files"] = {**result["files"], **extra}
        return coordinator._merge(run, manifest, "dora", todo, submissions, result, base, None)

    clash = merge("clash", {"extra": b"", "extra/x": b""})
    assert clash.status == "failed"
    assert clash.reason.startswith("sandbox error: unusable result: extra/x not written: its ")
    out = merge("out", {"../x": b""})
    assert (out.status, out.reason) == (
        "failed",
        "sandbox error: unusable result: result files must be relative paths, got '../x'",
    )
    assert not (base / "x").exists() and not (tmp_path / "x").exists()
    assert course.total(A, "dora") is None  # needs grading
    assert merge("whole", {}).status == "graded"  # the same files without them: graded


def test_a_task_key_changes_with_the_run_the_student_the_submission_and_the_mode():
    """Dask gives a task with a key it holds the result it holds: a key is the same only for
    the same submission graded the same way (a changed submission is graded again)."""
    key = coordinator.task_key("run", "ann", "digest", None)
    assert coordinator.task_key("run", "ann", "digest", None) == key
    others = {
        coordinator.task_key("run2", "ann", "digest", None),
        coordinator.task_key("run", "bob", "digest", None),
        coordinator.task_key("run", "ann", "digest2", None),
        coordinator.task_key("run", "ann", "digest", "reduced"),
    }
    assert len(others) == 4 and key not in others


class FakeFuture:
    """What _result_of reads of a ``distributed.Future`` once it is done."""

    def __init__(self, status: str, value=None):
        self.status, self.value = status, value

    def result(self):
        assert self.status == "finished"
        return self.value

    def exception(self):
        assert self.status == "error"
        return self.value


def test_a_task_ends_as_its_result_a_failed_row_or_the_runs_end():
    """A finished task is its result; one that failed (its worker killed more than Dask
    allows, an error) is a failed row saying why; work the scheduler cancelled (it went away)
    stops the run, with what was merged kept, rather than fail every student left."""
    from types import SimpleNamespace

    from distributed.scheduler import KilledWorker

    at = "tcp://127.0.0.1:8786"
    assert coordinator._result_of(FakeFuture("finished", {"exit_code": 0}), at) == {"exit_code": 0}
    killed = KilledWorker("k", SimpleNamespace(address="tcp://10.0.0.2:1"), 1)
    reason = "the worker process grading it was killed, 2 times (last on tcp://10.0.0.2:1)"
    assert coordinator._result_of(FakeFuture("error", killed), at) == {
        "exit_code": None,
        "error": None,
        "reason": reason,
        "files": {},
    }
    error = coordinator._result_of(FakeFuture("error", ZeroDivisionError("division by zero")), at)
    assert error["reason"] == "error on the worker: ZeroDivisionError: division by zero"
    with pytest.raises(connect.ClusterError, match=f"the scheduler at {at} cancelled the work"):
        coordinator._result_of(FakeFuture("cancelled"), at)


def test_each_death_of_a_tasks_worker_is_a_try_in_the_row():
    """The scheduler counts the workers that died running a task (TaskState.suspicious): each
    is a try that ended, noted in the row; none, or no answer from the scheduler, no note."""
    from types import SimpleNamespace

    from distributed.scheduler import TaskState

    assert "suspicious" in TaskState.__slots__

    class FakeClient:
        def __init__(self, tasks):
            self.scheduler = SimpleNamespace(tasks=tasks)

        def run_on_scheduler(self, function):
            if self.scheduler.tasks is None:
                raise OSError("the scheduler is gone")
            return function(dask_scheduler=self.scheduler)

    client = FakeClient({"k": SimpleNamespace(suspicious=2), "j": SimpleNamespace(suspicious=0)})
    assert coordinator._worker_deaths(client, "k") == [coordinator.WORKER_DIED] * 2
    assert coordinator._worker_deaths(client, "j") == []
    assert coordinator._worker_deaths(client, "released") == []
    assert coordinator._worker_deaths(FakeClient(None), "k") == []
    assert parallel.retry_notes(coordinator._worker_deaths(client, "k"))[1] == (
        "graded again after try 2 ended: the Dask worker grading it died"
    )


@pytest.mark.parametrize(
    "mode, why, requested, expected",
    [
        ("full", "", None, ("full", "/cg", "", True)),
        ("full", "", "reduced", ("reduced", None, "requested", False)),
        ("reduced", "not root", None, ("reduced", None, "not root", False)),
        ("reduced", "not root", "reduced", ("reduced", None, "requested", False)),
    ],
)
def test_a_helper_grades_in_its_best_mode_unless_reduced_is_asked(
    monkeypatch, tmp_path, mode, why, requested, expected
):
    """A worker's helper grades in the full sandbox, with the memory cgroup, when it can and
    the run did not ask for reduced; the row says the mode and why."""
    from lstm_grading import sandbox
    from lstm_grading.cluster import helper

    calls = []

    def grade_files(template, submission, student, assignment, limits, use, notebooks, **kw):
        calls.append((use, kw["cgroup"], kw["parent"]))
        return {"exit_code": 0}

    monkeypatch.setattr(sandbox, "grade_files", grade_files)
    request = ({}, {}, "s", A, Limits(), requested, [f"{A}.ipynb"])
    result = helper.grade(request, tmp_path, mode, why, "/cg")
    use, cgroup, said, memory = expected
    assert calls == [(use, cgroup, str(tmp_path))]
    assert (result["sandbox_mode"], result["sandbox_why"], result["memory_cgroup"]) == (
        use,
        said,
        memory,
    )


def test_a_helper_removes_only_the_cgroups_of_jobs_whose_folder_is_gone(tmp_path, monkeypatch):
    """A helper starting removes the empty job cgroups (``<job folder>-work-<pid>``) of helpers
    that were killed, and not one of a job still running under another helper's run folder
    (made and not yet joined, it is empty too)."""
    import tempfile

    from lstm_grading.cluster import helper

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "lstm-autograde-run1" / f"{helper.JOB_PREFIX}live").mkdir(parents=True)
    (tmp_path / f"{helper.JOB_PREFIX}gone").mkdir()  # not in a run folder: not a job's
    assert not helper.job_cgroup_gone(f"{helper.JOB_PREFIX}live-work-4321")
    assert helper.job_cgroup_gone(f"{helper.JOB_PREFIX}gone-work-4321")
    assert helper.job_cgroup_gone(f"{helper.JOB_PREFIX}other-work-4321")


class FakeHelper:
    """A stand-in for a worker's grading helper: dies (HelperDied) or answers ``answer``."""

    def __init__(self, answer: dict | None):
        self.answer = answer
        self.cleaned = False

    def call(self, request):
        from lstm_grading.cluster.worker import HelperDied

        if self.answer is None:
            raise HelperDied("the process grading it was killed (SIGKILL)")
        return dict(self.answer)

    def remove_leftovers(self):  # what a killed helper left: its job's cgroup, its folder
        self.cleaned = True


@pytest.mark.parametrize("dies", [0, 1, 2])
@pytest.mark.processes
def test_a_helper_that_died_is_tried_once_more_and_the_row_says_so(
    course, tmp_path, monkeypatch, dies
):
    from lstm_grading.cluster import worker

    student = f"carol{dies}"
    course.submit(student, A, corpus.ordinary(course.root, "correct"))
    scores = {"test_sigmoid": 3.0, "test_tanh": 2.0, "test_sigmoid_grad": 3.0}
    scores["test_tanh_grad"] = 2.0
    answer = fake_result(course, tmp_path / "result", student, scores)
    taken = [FakeHelper(None) for _ in range(dies)] + [FakeHelper(answer)]
    helpers = iter(taken)
    monkeypatch.setattr(worker, "_take", lambda code=None: next(helpers))
    monkeypatch.setattr(worker, "_idle", [])
    result = worker.grade_task(None, {}, student, A, Limits(), None, (A,))
    run, manifest, submissions, _, todo = parallel._plan(course.root, A, Limits(), False, "")
    out = coordinator._merge(run, manifest, student, todo, submissions, result, tmp_path, None)
    again = "graded again after try 1 ended: the process grading it was killed (SIGKILL)"
    used = taken[: min(dies + 1, worker.ATTEMPTS)]
    assert [h.cleaned for h in used] == [h.answer is None for h in used]  # each dead one's
    if dies < worker.ATTEMPTS:
        assert (out.status, out.score) == ("graded", 10.0)
        assert (again in out.notes) == (dies == 1), out.notes
    else:  # the reason says it, and no note repeats it
        assert (out.status, out.reason) == (
            "failed",
            "the process grading it was killed (SIGKILL) twice",
        )
        assert not any("graded again" in note for note in out.notes), out.notes


def test_an_idle_helper_started_with_other_code_is_not_reused(monkeypatch):
    """A helper imports the grading code once, as it starts, and idles between tasks; one a
    run's end did not stop (its coordinator killed) was reused by the next run, whose code may
    have changed since on disk and in the worker's imports alike: both checks passed, and the
    helper graded with the modules it imported then (a review). It is now ended, not reused."""
    from lstm_grading.cluster import worker

    class Idle:
        def __init__(self, code):
            self.code, self.closed = code, False

        def close(self):
            self.closed = True

    run = course_prep.code_hash(course_prep.grading_code())
    old, current = Idle("0" * 64), Idle(run)
    monkeypatch.setattr(worker, "_idle", [current, old])  # pop() takes the old one first
    assert worker._take(run) is current and old.closed and not current.closed
    monkeypatch.setattr(worker, "Helper", lambda: "a new helper")
    monkeypatch.setattr(worker, "_idle", [Idle("0" * 64)])
    assert worker._take(run) == "a new helper"


def test_retry_notes_number_the_tries():
    assert parallel.retry_notes([]) == []
    assert parallel.retry_notes(["a", "b"]) == [
        "graded again after try 1 ended: a",
        "graded again after try 2 ended: b",
    ]


# -- the workers' code ---------------------------------------------------------------------------
def test_code_hash_is_the_hash_of_the_code_files_as_before(tmp_path):
    """code_files is what code_hash hashes: the name and the SHA-256 of every file, in order,
    __pycache__ left out (the hash that run keys recorded before code_files existed)."""
    import hashlib

    for name, text in [("a/x.py", "1"), ("a/sub/y.py", "2"), ("a/__pycache__/x.pyc", "3")]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.j2").write_text("4")
    folders = (tmp_path / "a", tmp_path / "b")
    files = course_prep.code_files(folders)
    assert list(files) == ["a/sub/y.py", "a/x.py", "b/z.j2"]
    h = hashlib.sha256()  # code_hash as it was written before code_files
    for top in folders:
        for path in sorted(
            p for p in top.rglob("*") if "__pycache__" not in p.parts and p.is_file()
        ):
            h.update(f"{top.name}/{path.relative_to(top).as_posix()}\0".encode())
            h.update(hashlib.sha256(path.read_bytes()).digest())
    assert course_prep.code_hash(folders) == h.hexdigest()
    (tmp_path / "a" / "x.py").write_text("1 ")
    assert course_prep.code_hash(folders) != h.hexdigest()


def test_code_differences_name_the_files():
    ours = {"p/a.py": "1", "p/b.py": "2", "p/c.py": "3"}
    assert course_prep.code_differences(ours, dict(ours)) == "the same files"
    theirs = {"p/a.py": "1", "p/b.py": "9", "p/d.py": "4"}
    assert course_prep.code_differences(ours, theirs) == (
        "p/b.py differs, p/c.py is missing there, p/d.py is only there"
    )
    many = {f"p/{k}.py": "0" for k in range(9)}
    assert course_prep.code_differences(ours, many, most=2).endswith(", and 10 more")


def test_a_worker_with_other_code_grades_nothing_and_says_what_it_has(monkeypatch):
    from lstm_grading.cluster import worker

    def no_helper(code=None):
        raise AssertionError("a helper was taken: the job would have been graded")

    monkeypatch.setattr(worker, "_take", no_helper)
    args = ({}, {}, "s", A, Limits(), None, ("ps01_activations.ipynb",))
    result = worker.grade_task(*args, "0" * 64)
    assert result["reason"] == worker.OTHER_CODE and result["files"] == {}
    assert result["code_files"] == course_prep.code_files(course_prep.grading_code())
    assert result["code_loaded"] is False  # the disk is compared first: another version
    message = coordinator.other_code(result, {**result["code_files"], "lstm_core/x.py": "1"})
    assert message.startswith(f"the worker at {result['worker']} would grade with other ")
    assert "(lstm_core/x.py is missing there): install the version this run uses" in message
    loaded_then = {**result, "code_loaded": True}  # files changed after the worker loaded them
    loaded = coordinator.other_code(loaded_then, {**result["code_files"], "lstm_core/x.py": "1"})
    assert loaded.startswith(f"the worker at {result['worker']} runs other lstm_core and ")
    assert "as it loaded them before its files changed: restart the workers" in loaded
    # Its files on disk are the run's (compared first): no "install it on every worker first"
    # (the advice said so, for a case the check rules out; a review).
    assert "install" not in loaded, loaded
    # --cluster local:N: the run started the workers itself; nothing to restart or install on
    # (the advice named both; found in a review of the same kind as no_worker's).
    local = coordinator.other_code(loaded_then, {**result["code_files"], "lstm_core/x.py": "1"}, 2)
    assert "restart the workers" not in local and "install the version" not in local, local
    assert "one of the processes this run started (--cluster local:2)" in local
    assert local.endswith("(an edit, a git pull, a pip install): let that change finish first")
    with pytest.raises(AssertionError, match="a helper was taken"):  # the run's own code: graded
        worker.grade_task(*args, course_prep.code_hash(course_prep.grading_code()))
    # Files changed on disk after the worker loaded them: the disk's hash is the run's, what the
    # worker runs is not (the check hashed the disk only, and graded; found in a review).
    imported = "lstm_grading/cluster/worker.py"  # grade_task's file: imported, by any process
    then = {**worker.LOADED_CODE, imported: "1" * 64}
    monkeypatch.setattr(worker, "LOADED_CODE", then)
    # Which files were imported as worker.py was depends on the tests run before: set here.
    monkeypatch.setattr(worker, "LOADED", frozenset({imported}))
    result = worker.grade_task(*args, course_prep.code_hash(course_prep.grading_code()))
    assert result["reason"] == worker.OTHER_CODE and result["code_loaded"] is True
    assert result["code_files"][imported] == "1" * 64
    # A file the worker process never imported (a hidden check: a new helper imports it, from
    # disk) changed since: the worker grades with the run's code. It was refused, "restart the
    # workers", as the whole folder was hashed when the worker loaded (a review).
    checks = "lstm_grading/hidden/ps01.py"
    assert checks in worker.LOADED_CODE
    monkeypatch.setattr(worker, "LOADED_CODE", {**worker.LOADED_CODE, checks: "1" * 64})
    monkeypatch.setattr(worker, "LOADED", frozenset())
    with pytest.raises(AssertionError, match="a helper was taken"):
        worker.grade_task(*args, course_prep.code_hash(course_prep.grading_code()))


@pytest.mark.processes
def test_a_helper_imports_the_workers_code_whatever_folder_the_worker_is_in(tmp_path, monkeypatch):
    """A worker's helper runs the lstm_grading this worker hashed, not one in the folder the
    worker is in (``python -m`` would put that folder first on sys.path)."""
    from lstm_grading.cluster import worker

    stale = tmp_path / "lstm_grading"
    stale.mkdir()
    (stale / "__init__.py").write_text("raise SystemExit(7)  # another copy\n")
    monkeypatch.chdir(tmp_path)
    helper = worker.Helper()
    helper.close()  # end of input: the helper's loop ends
    assert helper.proc.returncode == 0


# -- what killed helpers leave on a worker's machine ---------------------------------------------
MEMORY_CGROUP = cgroups.memory_cgroup_parent()
needs_memory_cgroup = pytest.mark.skipif(
    MEMORY_CGROUP is None, reason="no memory cgroup in which to make children"
)


@pytest.fixture
def worker_machine(tmp_path, monkeypatch):
    """A worker's machine of the test's own: /tmp is ``tmp_path``, and the helpers' jobs make
    their memory cgroups in a cgroup of the test's (not beside other tests' jobs)."""
    import tempfile

    parent = cgroups.MemoryCgroup(MEMORY_CGROUP, f"lstm-grading-test-{os.getpid()}", 256 << 20)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(cgroups, "memory_cgroup_parent", lambda: str(parent.path))
    try:
        yield parent.path
    finally:
        for child in parent.path.iterdir():
            if child.is_dir():
                child.rmdir()
        parent.remove()


def job_cgroup(parent: Path, folder: str, helper_pid: int) -> Path:
    """The memory cgroup sandbox.grade_files makes for a helper's job (``<job>-work-<pid>``)."""
    from lstm_grading.cluster.helper import JOB_PREFIX

    path = parent / f"{JOB_PREFIX}{folder}-work-{helper_pid}"
    path.mkdir()
    return path


@needs_memory_cgroup
def test_a_task_whose_helper_was_killed_removes_its_jobs_cgroups_and_its_run_folder(
    worker_machine, tmp_path
):
    """Found walking the guide's cluster on one machine: an ``lstm-autograde`` stopped with
    Ctrl-C has its tasks' helpers killed (:func:`lstm_grading.cluster.worker._abandon`), and
    their jobs' memory cgroups and run folders (with the hidden tests) stayed on the worker's
    machine until a next run's helper started there. The task removes them: the cgroups of
    the dead helper's jobs only (another helper's, still empty before its job joins it, is
    left), and every run folder whose lock is free."""
    from types import SimpleNamespace

    from lstm_grading.cluster import worker
    from lstm_grading.course_lock import make_run_folder

    dead = worker.Helper.__new__(worker.Helper)
    dead.proc = SimpleNamespace(pid=4321)
    killed = job_cgroup(worker_machine, "a", 4321)
    other = job_cgroup(worker_machine, "b", 4322)  # a live helper's job, about to join it
    folder, fd = make_run_folder()  # the dead helper's: its lock is free
    os.close(fd)
    live, live_fd = make_run_folder()
    try:
        dead.remove_leftovers(wait=0)
        assert (killed.exists(), other.exists()) == (False, True)
        assert (folder.exists(), live.exists()) == (False, True)
    finally:
        os.close(live_fd)


@needs_memory_cgroup
def test_the_end_of_a_run_removes_the_cgroups_of_jobs_whose_helper_died_with_its_worker(
    worker_machine, tmp_path, monkeypatch
):
    """Found walking the guide: a worker process SIGKILLed in the middle of a job (its helper
    dies with it) left that job's memory cgroup on the machine after the run had ended, when
    the task was graded again by a helper already running. The run's last call on every
    worker (:func:`lstm_grading.cluster.worker.stop_idle_helpers`) removes the run folders
    whose lock is free and then the cgroups of jobs whose folder is gone, not those of jobs
    of a helper still running (another run's)."""
    from lstm_grading.cluster import worker
    from lstm_grading.cluster.helper import JOB_PREFIX
    from lstm_grading.course_lock import make_run_folder

    monkeypatch.setattr(worker, "_idle", [])
    dead_folder, fd = make_run_folder()
    os.close(fd)  # its helper died: the lock is free
    (dead_folder / f"{JOB_PREFIX}a").mkdir()
    gone = job_cgroup(worker_machine, "a", 4321)
    live_folder, live_fd = make_run_folder()
    (live_folder / f"{JOB_PREFIX}b").mkdir()
    live = job_cgroup(worker_machine, "b", 4322)
    try:
        assert worker.stop_idle_helpers() == 0
        assert (gone.exists(), live.exists()) == (False, True)
        assert (dead_folder.exists(), live_folder.exists()) == (False, True)
    finally:
        os.close(live_fd)


@needs_memory_cgroup
def test_a_local_run_ending_leaves_a_dask_helpers_job_cgroup_on_the_same_machine(
    worker_machine, tmp_path
):
    """Found in a review of kill points: a local run's end removed every empty cgroup named
    like a run's whose run folder it could not find, and a Dask helper's job cgroup
    (``lstm-autograde-one-...-work-<pid>``) matched, its "run folder" never found: a helper's
    job on the same machine, between making its cgroup and joining it, lost it. Now those go
    only once their job folder is gone; the run's own and dead runs' cgroups still go."""
    from lstm_grading import parallel
    from lstm_grading.cluster.helper import JOB_PREFIX
    from lstm_grading.course_lock import make_run_folder

    run, run_fd = make_run_folder()  # the local run ending
    helpers, helpers_fd = make_run_folder()  # a live helper's, with a job
    (helpers / f"{JOB_PREFIX}b").mkdir()
    try:
        own = worker_machine / f"{run.name}-job1-77"
        dead_run = worker_machine / "lstm-autograde-deadrun-job2-78"
        for path in (own, dead_run):
            path.mkdir()
        live = job_cgroup(worker_machine, "b", 4322)  # made, not yet joined: empty
        dead_job = job_cgroup(worker_machine, "a", 4321)  # its job folder gone
        parallel.remove_job_cgroups(str(worker_machine), run, wait=0)
        assert [p.exists() for p in (own, dead_run, live, dead_job)] == [False, False, True, False]
    finally:
        os.close(run_fd)
        os.close(helpers_fd)


def test_a_worker_closed_with_a_grading_task_running_logs_no_warning_of_it(monkeypatch):
    """A run stopped by a signal closes its ``--cluster local:N`` with tasks running, and each
    worker, whose log is the instructor's terminal, logged *Async instruction for <Task
    cancelled name="execute('lstm-autograde-...')" ...> ended with CancelledError* (a WARNING,
    with Dask's internals) above the run's one line *stopped by SIGTERM; ...* (found in an
    instructor's walk: a local:2 run stopped with SIGTERM printed two such lines). A grading
    task installs a filter that leaves out that warning for its own tasks only. The warning's
    text, its logger and the task's name are Dask's (read from the pinned distributed's source)
    and the key is the coordinator's task_key: the test once wrote them all by hand, and would
    have passed with a key prefix or a Dask message the filter no longer matches."""
    import asyncio
    import inspect
    import logging

    from distributed import worker_state_machine

    from lstm_grading.cluster import worker

    # Dask's own words: the message, the logger it goes to, and the name of an Execute's task.
    dask = " ".join(inspect.getsource(worker_state_machine.BaseWorker).split())
    assert 'logger.warning(f"Async instruction for {task} ended with CancelledError")' in dask
    assert 'self._start_async_instruction( f"execute({inst.key!r})", self.execute,' in dask
    assert worker_state_machine.logger.name == "distributed.worker.state_machine"

    log = logging.getLogger("distributed.worker.state_machine")
    monkeypatch.setattr(log, "filters", [])
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    keep = Keep()
    log.addHandler(keep)
    try:

        async def message(name):
            # As Dask's worker writes it (distributed/worker_state_machine.py,
            # BaseWorker._finish_async_instruction): f"Async instruction for {task} ended
            # with CancelledError", ``task`` an asyncio.Task named after the instruction.
            task = asyncio.get_running_loop().create_task(asyncio.sleep(10), name=name)
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return f"Async instruction for {task} ended with CancelledError"

        key = coordinator.task_key("run", "student", "digest", None)  # as the run submits it
        ours = asyncio.run(message(f"execute({key!r})"))
        theirs = asyncio.run(message(f"execute({'inc-1234'!r})"))
        assert "Task cancelled name=\"execute('lstm-autograde-" in ours, ours
        worker.quiet_cancelled_tasks()
        worker.quiet_cancelled_tasks()  # once per task: installed once
        assert log.filters == [worker._QUIET]
        for text in (ours, theirs, "Compute Failed"):
            log.warning(text)
        assert seen == [theirs, "Compute Failed"]
    finally:
        log.removeHandler(keep)


STOPS = {  # what ends the run as it makes its template, and what summary.json says of it
    "signal": (cli.Stopped(signal.SIGTERM), {"stopped": "SIGTERM"}),
    "cluster_error": (
        connect.ClusterError("the scheduler at tcp://127.0.0.1:1 cancelled the work"),
        {
            "stopped": "error",
            "error": "ClusterError: the scheduler at tcp://127.0.0.1:1 cancelled the work",
        },
    ),
    "os_error": (
        PermissionError(13, "Permission denied"),
        {"stopped": "error", "error": "PermissionError: [Errno 13] Permission denied"},
    ),
}


@pytest.mark.parametrize("stop", sorted(STOPS))
@pytest.mark.parametrize("where", ["local", "cluster"])
@pytest.mark.processes
def test_a_stopped_runs_summary_has_the_finished_ones_details_and_the_runs_wall_time(
    course, tmp_path, monkeypatch, where, stop
):
    """A run stopped by a signal writes the summary a finished run would as far as it went
    (parallel.summary_when_stopped): the same details, from the same function, and a wall time
    counted from the run's start, its planning included. A stopped ``--cluster`` run's summary
    had no ``sandbox`` or ``memory_cgroup`` (nor either run's the stale run folders removed),
    and its wall time counted from the stop's wrapper (the instructor's brief). The clock is
    the run's, moved on by 100 s as the plan ends (what hashing a large class takes), and by
    1000 s as the course lock is taken (a ``--wait`` for another run: not this run's time, as
    the guide says).

    A run that ends in an error (a scheduler killed mid-run, found in an instructor's walk; a
    course folder it cannot write) left the earlier run's summary, every student graded: it now
    writes its own as a stopped run does, ``"stopped": "error"`` and the error's line."""
    from contextlib import contextmanager
    from types import SimpleNamespace

    copy = Course.copy_of(course.root, tmp_path / "course")
    shutil.rmtree(copy.root / "submitted", ignore_errors=True)  # other tests' submissions
    copy.submit("ann", A, corpus.ordinary(copy.root, "correct"))
    moved = [0.0]
    clock = SimpleNamespace(monotonic=lambda: time.monotonic() + moved[0])
    monkeypatch.setattr(parallel, "time", clock)
    monkeypatch.setattr(coordinator, "time", clock)
    plan = parallel._fill_plan

    def slow_plan(*args):
        planned = plan(*args)
        moved[0] += 100.0
        return planned

    raised, said = STOPS[stop]

    def stops(*args):
        raise raised

    lock = course_lock.lock_course

    def slow_lock(*args, **kwargs):
        moved[0] += 1000.0
        return lock(*args, **kwargs)

    monkeypatch.setattr(parallel, "_fill_plan", slow_plan)
    monkeypatch.setattr(course_lock, "lock_course", slow_lock)
    monkeypatch.setattr(course_prep, "make_template", stops)
    address = "tcp://127.0.0.1:1"

    @contextmanager
    def fake_connect(target, timeout, scratch):
        yield SimpleNamespace(scheduler=SimpleNamespace(address=address), nthreads=lambda: {1: 1})

    monkeypatch.setattr(connect, "connect", fake_connect)
    kwargs = {"limits": Limits(), "sandbox_mode": "reduced", "progress": False}
    with pytest.raises(type(raised)):
        if where == "local":
            parallel.grade_assignment(copy.root, A, **kwargs)
        else:
            coordinator.grade_assignment(copy.root, A, connect.target(cluster="local:1"), **kwargs)
    summary = json.loads((copy.root / "reports" / A / "summary.json").read_text())
    assert {k: summary.get(k) for k in said} == said and summary["not_graded"] == 1, summary
    (row,) = [r for r in summary["students"] if r["student"] == "ann"]
    by = "SIGTERM" if stop == "signal" else f"an error ({type(raised).__name__})"
    assert row["status"] == "stopped" and row["reason"].startswith(f"the run was stopped by {by}")
    assert {"sandbox", "memory_cgroup", "jobs", "stale_run_folders_removed"} <= summary.keys()
    assert summary["memory_cgroup"] is False  # reduced mode: no cgroup
    assert 100.0 <= summary["wall_seconds"] < 1000.0, summary
    if where == "cluster":
        assert summary["sandbox"] == "none (nothing graded)"  # what a finished one says
        assert summary["cluster"] == {"target": "local:1", "scheduler": address, "graded_on": {}}
    else:
        assert summary["sandbox"] == "reduced (requested)"


def course_on_a_cluster_without_workers(course, tmp_path, monkeypatch, error):
    """A copy of ``course`` with one submission, and the address of a scheduler that
    ``connect.connect`` pretends to reach: waiting for its workers raises ``error``."""
    from contextlib import contextmanager
    from types import SimpleNamespace

    copy = Course.copy_of(course.root, tmp_path / "course")
    shutil.rmtree(copy.root / "submitted", ignore_errors=True)  # other tests' submissions
    copy.submit("ann", A, corpus.ordinary(copy.root, "correct"))
    address = "tcp://127.0.0.1:1"

    def no_worker(n, timeout):
        raise error

    @contextmanager
    def fake_connect(target, timeout, scratch):
        yield SimpleNamespace(
            scheduler=SimpleNamespace(address=address), nthreads=dict, wait_for_workers=no_worker
        )

    monkeypatch.setattr(connect, "connect", fake_connect)
    return copy, address


@pytest.mark.parametrize("kind", ["local", "scheduler"])
@pytest.mark.processes
def test_no_worker_advice_fits_the_kind_of_cluster(course, tmp_path, monkeypatch, kind):
    """No worker joined within --worker-timeout: the advice said to start workers with
    ``dask worker ADDRESS`` also for ``--cluster local:N``, whose workers the run starts itself
    and whose scheduler's address is its own (found in a review). A scheduler's run keeps it."""

    copy, address = course_on_a_cluster_without_workers(course, tmp_path, monkeypatch, TimeoutError)
    target = connect.target(
        cluster="local:2" if kind == "local" else None,
        scheduler=address if kind == "scheduler" else None,
    )
    kwargs = {"limits": Limits(), "sandbox_mode": "reduced", "progress": False}
    with pytest.raises(connect.ClusterError) as info:
        coordinator.grade_assignment(copy.root, A, target, worker_timeout=5, **kwargs)
    message = str(info.value)
    if kind == "local":
        assert "dask worker" not in message and "--scheduler-file" not in message
        assert "none of the 2 worker processes this run started (--cluster local:2)" in message
        assert "within 5 s (--worker-timeout)" in message
    else:
        assert message == coordinator.no_worker(address, 5)
        assert f"(dask worker {address}, or the scheduler's --scheduler-file)" in message


@pytest.mark.parametrize("kind", ["local", "scheduler", "other_code"])
@pytest.mark.processes
def test_a_cluster_errors_two_lines_say_what_to_run_next_once(
    course, tmp_path, monkeypatch, capsys, kind
):
    """A cluster error's line gives its advice and the stop line after it what the next run
    is: both said "run the same command again" (a review), and after "fewer workers
    (local:1)" the next run is not the same command."""
    error = TimeoutError
    if kind == "other_code":  # the coordinator's own error for a local worker with other code
        result = {"code_files": {}, "worker": "tcp://127.0.0.1:2"}
        error = connect.ClusterError(coordinator.other_code(result, {"lstm_core/x.py": "1"}, 2))
    copy, address = course_on_a_cluster_without_workers(course, tmp_path, monkeypatch, error)
    where = ["--cluster", "local:2"] if kind != "scheduler" else ["--scheduler", address]
    argv = [A, "--course", str(copy.root), "--no-sandbox", "--worker-timeout", "5", *where]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    lines = [x for x in err if x.startswith("lstm-autograde: ")]  # not the progress's
    assert len(lines) == 2 and lines[1].startswith("lstm-autograde: the run stopped "), err
    assert " ".join(lines).count(" again") == 1, lines
    summary = copy.root / "reports" / A / "summary.json"
    then = {
        "local": "run the command again with one of those changes",
        "scheduler": "run the same command again",
        "other_code": "run the same command again",
    }[kind]
    assert lines[1].endswith(
        f"summary: {summary} ({then} to grade the 1 submission not graded and export grades.csv)"
    ), lines
    # (The course's gradebook may hold other tests' students: their rows are "kept".)
    rows = {r["student"]: r for r in json.loads(summary.read_text())["students"]}
    assert rows["ann"]["reason"].endswith(f"({then} to grade it)"), rows


@pytest.mark.processes
def test_a_runs_workers_are_held_to_the_code_its_key_names(course, tmp_path, monkeypatch):
    """The grading code changes (a git pull) while the run waits for a first worker. The run
    read it twice: its key (the manifest's, by which the next run reuses results) at planning,
    the hash its workers are held to after the wait; the results of one version were recorded
    under the other's key (a review). It now reads it once, for both."""
    from contextlib import contextmanager
    from types import SimpleNamespace

    import distributed

    from lstm_grading.cluster.worker import grade_task

    copy = Course.copy_of(course.root, tmp_path / "course")
    shutil.rmtree(copy.root / "submitted", ignore_errors=True)  # other tests' submissions
    copy.submit("ann", A, corpus.ordinary(copy.root, "correct"))
    read_files, pulled, plans, asked = course_prep.code_files, [], [], []

    def code_files(folders):  # after the pull, a new file
        files = read_files(folders)
        return {**files, "lstm_grading/pulled.py": "0" * 64} if pulled else files

    class Submitted(Exception):
        pass

    def submit(function, *args, **kwargs):
        if function is grade_task:
            asked.append(args[-1])  # the code hash the worker is held to
            raise Submitted
        return None

    @contextmanager
    def fake_connect(target, timeout, scratch):
        yield SimpleNamespace(
            scheduler=SimpleNamespace(address="tcp://127.0.0.1:1"),
            nthreads=dict,
            wait_for_workers=lambda n, timeout: pulled.append(True),
            submit=submit,
        )

    fill_plan = parallel._fill_plan
    monkeypatch.setattr(parallel, "_fill_plan", lambda *a: plans.append(fill_plan(*a)) or plans[0])
    monkeypatch.setattr(course_prep, "code_files", code_files)
    monkeypatch.setattr(connect, "connect", fake_connect)
    monkeypatch.setattr(distributed, "as_completed", lambda: SimpleNamespace(count=lambda: 0))
    target = connect.target(scheduler="tcp://127.0.0.1:1")
    limits = Limits()
    with pytest.raises(Submitted):
        coordinator.grade_assignment(
            copy.root, A, target, limits=limits, sandbox_mode="reduced", progress=False
        )
    before = read_files(course_prep.grading_code())
    assert pulled and asked == [course_prep.files_hash(before)]
    assert plans[0]["key"] == course_prep.run_key(copy.root, A, limits, before)


@pytest.mark.processes
def test_a_run_stopped_while_waiting_for_a_worker_says_so_and_that_nothing_was_merged(
    course, tmp_path, monkeypatch
):
    """Stopped (SIGTERM) while it waits for a first worker to join: the run's line said
    "results merged so far are kept" (a review); it now says what it waited for, that nothing
    was merged, and where its summary is (parallel.summary_when_stopped's stop_report)."""

    copy, address = course_on_a_cluster_without_workers(
        course, tmp_path, monkeypatch, cli.Stopped(signal.SIGTERM)
    )
    target = connect.target(scheduler=address)
    kwargs = {"limits": Limits(), "sandbox_mode": "reduced", "progress": False}
    with pytest.raises(cli.Stopped) as info:
        coordinator.grade_assignment(copy.root, A, target, **kwargs)
    summary_file = copy.root / "reports" / A / "summary.json"
    assert info.value.stop_report == (
        f"while waiting for a worker to join the scheduler at {address}; nothing was merged; "
        f"summary: {summary_file}"
    )
    assert json.loads(summary_file.read_text())["not_graded"] == 1


@pytest.mark.processes
def test_a_reduced_rows_sandbox_note_names_the_user_the_code_ran_as(course, tmp_path):
    """In reduced mode a kernel keeps the uid of the process that grades: on a Dask worker the
    worker's user, whoever runs it (a Slurm job, a pod, a service account); the row said "ran
    as the instructor" and named the instructor's files as within its reach (the instructor's
    brief). A worker's row now names the worker's user, and a worker of ``--cluster local:N``,
    which this process starts, its user by name; the local pool's row names this process's
    user (test_reduced_mode_still_grades_with_timeouts checks a real run's)."""
    course.submit("cy", A, corpus.ordinary(course.root, "correct"))
    run, manifest, submissions, _, todo = parallel._plan(course.root, A, Limits(), False, "")
    result = {"exit_code": None, "error": None, "reason": "the worker died", "files": {}}
    reduced = {**result, "sandbox_mode": "reduced"}
    out = coordinator._merge(run, manifest, "cy", todo, submissions, reduced, tmp_path, None)
    assert "the student's code ran as the Dask worker's user and could read and write that " \
        "user's files" in out.sandbox  # fmt: skip
    assert "instructor's files" not in out.sandbox and user_name() not in out.sandbox
    local = coordinator._merge(
        run, manifest, "cy", todo, submissions, dict(reduced), tmp_path, None, local=True
    )
    assert f"the Dask worker's user ({user_name()}, the user running lstm-autograde" in (
        local.sandbox
    )
    assert f"ran as {user_name()}, the user running lstm-autograde " in local_reduced_gaps()


@pytest.mark.processes
def test_a_refused_submissions_row_names_no_gap_of_a_sandbox_it_never_ran_in(course, tmp_path):
    """A submission refused before grading ran no code: in reduced mode its row said the
    student's code "ran as the instructor and could read and write the instructor's files"."""
    copy = Course.copy_of(course.root, tmp_path / "course")
    folder = copy.root / "submitted" / "dee"
    folder.mkdir(parents=True)
    (folder / A).symlink_to(tmp_path)  # refused: the submission folder is a link
    for gaps in (local_reduced_gaps(), cluster_reduced_gaps()):
        _, _, _, outcomes, _ = parallel._plan(copy.root, A, Limits(), False, gaps)
        assert outcomes["dee"].status == "refused", outcomes["dee"]
        assert outcomes["dee"].sandbox == "", outcomes["dee"]


@pytest.mark.processes
def test_a_local_clusters_workers_log_nothing_below_critical_into_the_runs_terminal(tmp_path):
    """``--cluster local:N``'s workers are the run's own processes, writing to its terminal: a
    run stopped under load had a worker's heartbeat meet the scheduler already closed, and its
    ERROR and Dask traceback came before the run's one line (a fresh clone's busy run of
    test_a_local_cluster_run_stopped_by_sigterm_says_one_line_and_leaves_nothing). What goes
    wrong in a task comes back with the task; the workers' own log stops below CRITICAL."""
    import logging

    def levels():
        return {
            name: logging.getLogger(name).getEffectiveLevel()
            for name in ("distributed", "distributed.worker", "distributed.core")
        }

    with connect.connect(Target(workers=1, source="local:1"), scratch=tmp_path) as client:
        (worker_levels,) = client.run(levels).values()
    assert worker_levels == dict.fromkeys(worker_levels, logging.CRITICAL), worker_levels
    assert "DASK_LOGGING__DISTRIBUTED" not in os.environ  # the run's own environment as it was


# A stand-in for a helper (lstm_grading.cluster.helper): it dies with the thread that started
# it, holding a run folder of its own, whose path it prints.
HOLDER = """
import sys, time
from lstm_grading import course_lock, linux
linux.die_with_parent(int(sys.argv[1]))
base, owner = course_lock.make_run_folder()
print(base, flush=True)
time.sleep(3600)
"""


@pytest.mark.processes
def test_a_local_cluster_closed_under_a_running_helper_removes_the_run_folder_it_left(tmp_path):
    """Found by a busy fresh clone's run of
    test_a_local_cluster_run_stopped_by_sigterm_says_one_line_and_leaves_nothing: closing
    ``--cluster local:N`` with a task running kills its worker, the worker's helper dies with
    it and leaves its run folder (the hidden tests), which the task, killed too, no longer
    removes. The closed cluster's processes are waited for and the folder removed before
    ``connect`` returns; another run's live folder stays."""
    import subprocess
    import sys

    def start_holder(code: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(os.getpid())], stdout=subprocess.PIPE, text=True
        )
        return proc.stdout.readline().strip()

    live, live_fd = course_lock.make_run_folder()  # another run's, still going
    try:
        with connect.connect(Target(workers=1, source="local:1"), scratch=tmp_path) as client:
            folder = Path(client.submit(start_holder, HOLDER, pure=False).result())
            assert folder.is_dir() and folder.name.startswith(course_lock.RUN_PREFIX), folder
        assert (folder.exists(), live.exists()) == (False, True)
    finally:
        course_lock.remove_run_folder(live, live_fd)


@pytest.mark.processes
def test_a_local_runs_jobs_are_held_to_the_code_its_key_names(
    course, tmp_path, monkeypatch, capsys
):
    """The local pool's workers start after the run hashed the grading code, and each job's
    kernel reads lstm_core from disk: a change in between (a git pull) graded with one version
    and recorded the results under the other's key (found in a review; the cluster's workers
    were already held to it). Here the run's own reading names a file the disk lacks (its
    spawned workers read the disk): the job grades nothing, the run stops with exit status 2
    and says which files differ, and the submission is left for the next run."""
    copy = Course.copy_of(course.root, tmp_path / "course")
    shutil.rmtree(copy.root / "submitted", ignore_errors=True)  # other tests' submissions
    copy.submit("ann", A, corpus.ordinary(copy.root, "correct"))
    read_files = course_prep.code_files

    def code_files(folders):  # what the run read: one more file than the disk has now
        return {**read_files(folders), "lstm_grading/pulled.py": "0" * 64}

    monkeypatch.setattr(course_prep, "code_files", code_files)
    argv = [A, "--course", str(copy.root), "--no-sandbox", "--jobs", "1", "--no-feedback"]
    assert cli.main(argv) == 2
    summary = copy.root / "reports" / A / "summary.json"
    err = capsys.readouterr().err.splitlines()
    assert [x for x in err if x.startswith("lstm-autograde: ")] == [
        "lstm-autograde: the files of lstm_core and lstm_grading changed during the run (an "
        "edit, a git pull, a pip install: lstm_grading/pulled.py is missing there); what was "
        "graded before is merged; let that change finish first",
        f"lstm-autograde: the run stopped during grading; nothing was merged; summary: {summary} "
        "(run the same command again to grade the 1 submission not graded and export "
        "grades.csv)",
    ]
    rows = {r["student"]: r for r in json.loads(summary.read_text())["students"]}
    assert rows["ann"]["status"] == "stopped", rows
    assert not (copy.root / "autograded" / "ann").exists()  # nothing graded with other code


@pytest.mark.processes
def test_a_closed_local_clusters_exited_processes_are_ended_zombies_too():
    """A process of the closed cluster that exited but was not reaped (a zombie: its parent
    died first, and no process reaps orphans, as in a container whose first process does not)
    holds no lock; waited for as if running, it cost the whole wait (30 s) at the end of a run
    stopped under load. The zombie here is the child of a process that never reaps it."""
    import subprocess
    import sys
    import time

    import psutil

    code = "import os, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\n"
    parent = subprocess.Popen(
        [sys.executable, "-c", code + "time.sleep(3600)"], stdout=subprocess.PIPE, text=True
    )
    try:
        zombie = psutil.Process(int(parent.stdout.readline()))
        while zombie.status() != psutil.STATUS_ZOMBIE:  # exited, never reaped by its parent
            time.sleep(0.05)
        assert zombie.ppid() == parent.pid  # not this process's child: nothing here reaps it
        running = psutil.Process(parent.pid)
        assert [connect._ended(p) for p in (zombie, running)] == [True, False]
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
    assert connect._ended(running) and connect._ended(zombie)  # reaped: gone, both


@pytest.mark.processes
def test_a_task_running_when_its_worker_closes_is_no_longer_wanted(tmp_path):
    """Found timing the slow tier: a worker whose scheduler went away (killed, or stopped with
    Ctrl-C), or whose local cluster closed, kept grading its running submission for nobody,
    and itself closed only when Dask's 30 s wait for its running tasks ran out. A grading
    task's check that it is still wanted (which kills its helper when it is not) says no once
    the worker is closing. Here a task of a run still going polls that check while its
    worker closes as on losing its scheduler: it sees the answer turn (on the old code it
    never did, and was killed at the worker's exit, its file unwritten)."""
    import cluster_processes as cp
    import psutil

    started, ended = tmp_path / "started", tmp_path / "ended"

    def poll_wanted() -> None:
        from lstm_grading.cluster import worker

        wanted = worker._wanted()
        started.write_text("")
        while wanted():
            time.sleep(0.05)
        ended.write_text("no longer wanted")

    async def close_worker(dask_worker) -> None:  # as its scheduler's going away does
        await dask_worker.close(reason="worker-handle-scheduler-connection-broken")

    with connect.connect(Target(workers=1, source="local:1"), scratch=tmp_path) as client:
        ((address, pid),) = client.run(os.getpid).items()
        process = psutil.Process(pid)
        task = client.submit(poll_wanted, pure=False, workers=[address])
        cp.wait_for(started.exists, "the task to start")
        client.run(close_worker, wait=False)
        # The worker waits for its running task before it exits: the file is written first.
        cp.wait_for(lambda: ended.exists() or not cp.alive(process), "the task or worker to end")
        # The run never let it go (a result the closing worker may still have sent is no
        # matter): the worker's closing, not a cancellation, turned the check.
        assert task.status != "cancelled", task.status
    assert ended.is_file(), "the task was still wanted when its worker closed"
