"""``lstm-autograde --cluster`` / ``--scheduler-file`` / ``--scheduler`` on real Dask processes.

Everything runs on 127.0.0.1 (ports chosen by the system): a ``LocalCluster`` started by the
grader, and a scheduler and workers started as separate ``dask`` commands, as an instructor
starts them on several machines, with and without TLS. Checked: the same grades as the local
pool and as plain ``nbgrader autograde`` for the same class; a worker SIGKILLed in the middle
of a job (the submission is graded again elsewhere; killed twice, it is reported failed and
the rest of the class is graded); the coordinator SIGKILLed and run again (nothing merged is
graded again, nothing counted twice); TLS. After each run: no helper process, no sandbox
process, no run or job folder, no Dask scratch folder left (tests/cluster_processes.py).

Slow: kernels and clusters start. No timing assertions; waits are generous upper bounds.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import cluster_processes as cp
import dask
import grading_corpus as corpus
import psutil
import pytest
from assignment_suite import max_points
from course import Course

from lstm_grading import course_prep
from lstm_grading.cluster import connect, coordinator
from lstm_grading.job import cluster_reduced_gaps
from lstm_grading.parallel import grade_assignment
from lstm_grading.sandbox import Limits

pytestmark = pytest.mark.slow
GUIDE = Path(__file__).resolve().parents[1] / "book" / "instructor-guide.md"
A = corpus.ASSIGNMENT
LIMITS = Limits(cell_timeout=30, notebook_timeout=300)
SLEEPER = corpus.SLEEPER  # waits until the test releases it: a kill lands mid-job
# ps01's full marks (the solution's grade cells' points): what the sleeper, a correct notebook
# with a wait appended, scores once released.
FULL_MARKS = sum(max_points(A).values())


# What "numpy_tanh" submits beside its notebook, which no job may be given: a link to a file of
# the host's, a FIFO (a reader would wait on it for good), and a second name of the host's file
# under a folder link. The notes (the same in both modes) name the first of them.
PLANTED_NOTE = "submitted folder: 3 link(s) or special file(s) not kept (first: data.txt)"


def ordinary_class(ps01_course: Path, dest: Path) -> Course:
    course = Course.copy_of(ps01_course, dest)
    corpus.submit_ordinary(course)
    folder = course.root / "submitted" / "numpy_tanh" / A
    (folder / "data.txt").symlink_to("/etc/hostname")
    os.mkfifo(folder / "pipe")
    (folder / "tables").symlink_to("/etc", target_is_directory=True)
    return course


def cli(course: Path, *args: str, tmp: Path | None = None) -> subprocess.Popen:
    """``lstm-autograde`` on ``course``; ``tmp``: the run's TMPDIR, instead of the host's."""
    argv = [sys.executable, "-m", "lstm_grading.cli", A, "--course", str(course)]
    argv += ["--cell-timeout", "30", "--notebook-timeout", "300", "--no-feedback", *args]
    env = {**os.environ, "TMPDIR": str(tmp)} if tmp else None
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def finish(run: subprocess.Popen) -> tuple[int, str]:
    out, err = run.communicate(timeout=cp.WAIT)
    return run.returncode, out + err


def summary_of(course: Course) -> dict:
    return json.loads((course.root / "reports" / A / "summary.json").read_text())


def manifest_of(course: Course) -> dict:
    try:
        return json.loads((course.root / "reports" / A / "manifest.json").read_text())["students"]
    except (OSError, ValueError, KeyError):
        return {}


def row(summary: dict, student: str) -> dict:
    (r,) = [r for r in summary["students"] if r["student"] == student]
    return r


def grades_csv(course: Course) -> dict[str, dict]:
    with open(course.root / "grades.csv", newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


# -- the same grades -----------------------------------------------------------------------------
def test_local_cluster_grades_as_the_local_pool_and_plain_nbgrader(
    ps01_course, ps01_alone, tmp_path
):
    before = cp.host_state()
    on_dask = ordinary_class(ps01_course, tmp_path / "dask")
    shared = tmp_path / "shared-tmp"  # stands for Dask's default, /tmp/dask-scratch-space
    with dask.config.set({"temporary-directory": str(shared)}):
        summary = coordinator.grade_assignment(
            on_dask.root, A, connect.target(cluster="local:2"), limits=LIMITS, progress=False
        )
    assert not shared.exists(), "the local cluster worked outside the run's own folder"
    pool = ordinary_class(ps01_course, tmp_path / "pool")
    local = grade_assignment(pool.root, A, limits=LIMITS, progress=False)

    assert on_dask.scores(A) == ps01_alone
    assert pool.scores(A) == ps01_alone
    assert summary["graded"] == len(corpus.ORDINARY) and summary["failed"] == 0
    assert summary["sandbox"] == local["sandbox"]  # the same mode on the same machine
    assert summary["cluster"]["target"] == "local:2"
    assert sum(summary["cluster"]["graded_on"].values()) == len(corpus.ORDINARY)
    keep = ("student", "status", "score", "max_score", "reason", "notes", "flags", "sandbox")
    assert [{k: r[k] for k in keep} for r in summary["students"]] == [
        {k: r[k] for k in keep} for r in local["students"]
    ]
    # The links and the FIFO beside a notebook: not given to the job, graded all the same, said.
    assert PLANTED_NOTE in row(summary, "numpy_tanh")["notes"]
    assert [r["student"] for r in summary["students"] if PLANTED_NOTE in r["notes"]] == [
        "numpy_tanh"
    ]

    def export(course):  # the rows of grades.csv but the time each was graded
        return {
            s: {k: v for k, v in r.items() if k != "timestamp"}
            for s, r in grades_csv(course).items()
        }

    assert export(on_dask) == export(pool)
    for name in corpus.ORDINARY:
        html = on_dask.feedback_html(name, A)
        assert "check_activation" not in html  # hidden tests stay hidden, as in the local mode
        log = (on_dask.root / "reports" / A / "logs" / f"{name}.log").read_text()
        assert log.startswith("[lstm-autograde] graded on tcp://127.0.0.1:")
    again = coordinator.grade_assignment(
        on_dask.root, A, connect.target(cluster="local:1"), limits=LIMITS, progress=False
    )
    assert (again["graded"], again["unchanged"]) == (0, len(corpus.ORDINARY))
    assert on_dask.submissions_in_gradebook() == len(corpus.ORDINARY)
    cp.assert_clean(before)


def test_scheduler_and_two_workers_started_as_separate_commands(ps01_course, ps01_alone, tmp_path):
    before = cp.host_state()
    course = ordinary_class(ps01_course, tmp_path / "course")
    cluster = cp.Cluster(tmp_path)
    try:
        cluster.start_scheduler()
        workers = [cluster.start_worker() for _ in range(2)]
        cluster.wait_for_workers(2)
        address = cluster.address()
        run = cli(course.root, "--scheduler-file", str(cluster.scheduler_file))
        code, output = finish(run)
        tree = [p for w in workers for p in cp.descendants(w.pid)]
    finally:
        cluster.stop()
    assert code == 0, output + cluster.output()
    assert course.scores(A) == ps01_alone
    summary = summary_of(course)
    assert summary["cluster"]["scheduler"] == address
    graded_on = summary["cluster"]["graded_on"]
    assert sum(graded_on.values()) == len(corpus.ORDINARY)
    assert all(w.startswith("tcp://127.0.0.1:") for w in graded_on), graded_on
    assert f"{len(corpus.ORDINARY)}/{len(corpus.ORDINARY)} (100%)" in output  # progress lines
    cp.assert_clean(before, tree)


def test_a_worker_with_other_grading_code_grades_nothing_and_the_run_says_what_differs(
    ps01_course, tmp_path
):
    """A worker whose lstm_grading is another version (here: its ps01 hidden checks edited)
    would grade with checks that are not the run's: the run stops, exit status 2, naming the
    worker and the file, and merges nothing."""
    before = cp.host_state()
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("correct", A, corpus.ordinary(course.root, "correct"))
    code = tmp_path / "code"
    for folder in course_prep.grading_code():
        shutil.copytree(folder, code / folder.name, ignore=shutil.ignore_patterns("__pycache__"))
    checks = code / "lstm_grading" / "hidden" / "ps01.py"
    checks.write_text(checks.read_text() + "\n# an older version of the hidden checks\n")
    cluster = cp.Cluster(tmp_path)
    try:
        cluster.start_scheduler()
        # The copy first on the worker's sys.path: not after the folder it starts in (-P).
        worker = cluster.start_worker(env={"PYTHONPATH": str(code), "PYTHONSAFEPATH": "1"})
        cluster.wait_for_workers(1)
        address = cluster.address()
        status, output = finish(cli(course.root, "--scheduler-file", str(cluster.scheduler_file)))
        tree = cp.descendants(worker.pid)
    finally:
        cluster.stop()
    assert status == 2, output + cluster.output()
    assert "lstm-autograde: the worker at tcp://127.0.0.1:" in output
    assert "would grade with other lstm_core and lstm_grading than this run's" in output
    assert "(lstm_grading/hidden/ps01.py differs): install the version this run uses" in output
    assert address in cluster.output()  # the worker was the scheduler's, and answered
    assert course.submissions_in_gradebook() == 0
    assert manifest_of(course) == {}
    cp.assert_clean(before, tree)


def test_a_worker_whose_files_changed_after_it_loaded_them_grades_nothing(tmp_path):
    """A real worker process (its lstm_core and lstm_grading a copy) loads the grader with its
    first task; then a file of the copy changes (an instructor's git pull, say). A run whose
    code is the copy's as it is now on disk must not be graded by that worker, which runs the
    code it loaded: the check hashed the files on disk at each task, so it passed (a review).
    It now compares the code the worker process loaded too, and says so."""
    from distributed import Client

    from lstm_grading.cluster import worker as worker_module

    code = tmp_path / "code"
    for folder in course_prep.grading_code():
        shutil.copytree(folder, code / folder.name, ignore=shutil.ignore_patterns("__pycache__"))
    folders = (code / "lstm_core", code / "lstm_grading")
    started_with = course_prep.code_files(folders)
    cluster = cp.Cluster(tmp_path)
    try:
        cluster.start_scheduler()
        # The copy first on the worker's sys.path: not after the folder it starts in (-P).
        cluster.start_worker(env={"PYTHONPATH": str(code), "PYTHONSAFEPATH": "1"})
        cluster.wait_for_workers(1)
        args = ({}, {}, "s", A, Limits(), None, (f"{A}.ipynb",))
        with Client(scheduler_file=str(cluster.scheduler_file), timeout=cp.WAIT) as client:
            # A first task, of no run's code: the worker imports the grader, and says what.
            first = client.submit(worker_module.grade_task, *args, "0" * 64, pure=False)
            assert first.result(timeout=cp.WAIT)["code_files"] == started_with
            # A module the worker process imported (not a hidden check, which a new helper
            # imports from disk: that worker grades with the run's code).
            checks = code / "lstm_grading" / "checks.py"
            checks.write_text(checks.read_text() + "\n# a newer version of the checks\n")
            now = course_prep.code_files(folders)
            assert now != started_with
            task = client.submit(
                worker_module.grade_task, *args, course_prep.files_hash(now), pure=False
            )
            result = task.result(timeout=cp.WAIT)
    finally:
        cluster.stop()
    assert result.get("reason") == worker_module.OTHER_CODE, result
    assert result["code_loaded"] is True and result["code_files"] == started_with
    message = coordinator.other_code(result, now)
    assert (
        "(lstm_grading/checks.py differs), as it loaded them before its files changed: "
        "restart the workers"
    ) in message, message


# -- workers and the coordinator killed ----------------------------------------------------------
def sleepers_worker(course: Course, run: subprocess.Popen, after: str) -> psutil.Process:
    """The worker grading the sleeper, once ``after`` is merged and the sleeper waits: the only
    job still running then is the sleeper's."""
    return cp.wait_for(
        lambda: (
            after in manifest_of(course)
            and cp.waiting_sleepers(run.pid)
            and cp.busy_worker(run.pid)
        ),
        f"the sleeper to wait, {after} merged",
        run,
    )


def test_worker_killed_mid_task_is_graded_again_elsewhere(ps01_course, ps01_alone, tmp_path):
    before = cp.host_state()
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("correct", A, corpus.ordinary(course.root, "correct"))
    course.submit("sleeper", A, corpus.student_notebook(course.root, append=SLEEPER))
    run = cli(course.root, "--cluster", "local:2")
    worker = sleepers_worker(course, run, after="correct")
    tree = cp.descendants(run.pid)
    worker.send_signal(signal.SIGKILL)
    with cp.releasing(run.pid):  # graded again elsewhere, the sleeper may end
        code, output = finish(run)
    assert code == 0, output
    summary = summary_of(course)
    assert (summary["graded"], summary["failed"]) == (2, 0)
    assert course.total(A, "sleeper") == FULL_MARKS
    assert course.scores(A)["correct"] == ps01_alone["correct"]
    assert course.submissions_in_gradebook() == 2  # graded again, not counted twice
    # The row says so: the scheduler's count of the task's dead workers, asked before release.
    assert row(summary, "sleeper")["notes"] == (
        "graded again after try 1 ended: the Dask worker grading it died"
    )
    assert "graded again" not in row(summary, "correct")["notes"]
    cp.assert_clean(before, tree, killed=True)


def test_worker_killed_twice_is_reported_failed_and_the_rest_graded(
    ps01_course, ps01_alone, tmp_path
):
    before = cp.host_state()
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("a_correct", A, corpus.ordinary(course.root, "correct"))
    course.submit("b_sleeper", A, corpus.student_notebook(course.root, append=SLEEPER))
    course.submit("c_correct", A, corpus.ordinary(course.root, "correct"))
    run = cli(course.root, "--cluster", "local:1")  # one at a time, in order of the ids
    tree = []
    first = sleepers_worker(course, run, after="a_correct")
    tree += cp.descendants(run.pid)
    first.send_signal(signal.SIGKILL)
    # The nanny starts a new worker, and the scheduler gives it the same task.
    second = cp.wait_for(
        lambda: (
            cp.waiting_sleepers(run.pid)
            and (w := cp.busy_worker(run.pid))
            and w.pid != first.pid
            and w
        ),
        "the retry",
        run,
    )
    tree += cp.descendants(run.pid)
    second.send_signal(signal.SIGKILL)
    code, output = finish(run)
    assert code == 1, output  # a submission failed
    summary = summary_of(course)
    r = row(summary, "b_sleeper")
    assert r["status"] == "failed"
    # 2 = distributed.scheduler.allowed-failures (1, lstm_grading.cluster.connect) + 1
    assert r["reason"].startswith(
        "the worker process grading it was killed, 2 times (last on tcp://"
    )
    assert course.total(A, "b_sleeper") is None  # needs grading
    assert grades_csv(course)["b_sleeper"]["status"] == "needs grading"
    for student in ("a_correct", "c_correct"):
        assert course.scores(A)[student] == ps01_alone["correct"]
    assert course.submissions_in_gradebook() == 3
    cp.assert_clean(before, tree, killed=True)


def test_process_killed_twice_by_the_submission_is_reported(ps01_course, ps01_alone, tmp_path):
    """Reduced mode: the student's code kills the helper grading it (its grandparent), twice."""
    before = cp.host_state()
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("correct", A, corpus.ordinary(course.root, "correct"))
    kill = (
        "import os\nstat = open(f'/proc/{os.getppid()}/stat').read()\n"
        "os.kill(int(stat.rsplit(')', 1)[1].split()[1]), 9)\n"
    )
    course.submit("killer", A, corpus.student_notebook(course.root, append={"sigmoid": kill}))
    tmp = tmp_path / "tmp"  # the run's /tmp: what the killed jobs leave there is seen
    tmp.mkdir()
    run = cli(course.root, "--cluster", "local:1", "--no-sandbox", tmp=tmp)
    code, output = finish(run)
    assert code == 1, output
    # Nothing left: no run folder, no kernel connection file of the killed nbgrader (two were
    # left per run before nbgrader's temporary files moved into the job's private course).
    assert sorted(p.name for p in tmp.iterdir()) == []
    summary = summary_of(course)
    assert row(summary, "killer")["reason"] == "the process grading it was killed (SIGKILL) twice"
    assert "graded again" not in row(summary, "killer")["notes"]  # the reason says it
    assert row(summary, "correct")["sandbox"] == cluster_reduced_gaps(local=True)
    assert summary["sandbox"] == "reduced (requested)"
    assert course.scores(A)["correct"] == ps01_alone["correct"]
    cp.assert_clean(before, killed=True)


def test_coordinator_killed_and_run_again_grades_only_what_was_not_merged(
    ps01_course, ps01_alone, tmp_path
):
    before = cp.host_state()
    course = Course.copy_of(ps01_course, tmp_path / "course")
    names = ["correct", "naive_sigmoid", "grad_of_output"]
    for name in names:
        course.submit(name, A, corpus.ordinary(course.root, name))
    course.submit("sleeper", A, corpus.student_notebook(course.root, append=SLEEPER))
    run = cli(course.root, "--cluster", "local:2")
    cp.wait_for(
        lambda: manifest_of(course) and cp.waiting_sleepers(run.pid),
        "a merge, and the sleeper waiting",
        run,
    )
    tree = [psutil.Process(run.pid), *cp.descendants(run.pid)]
    run.send_signal(signal.SIGKILL)
    finish(run)
    cp.wait_for(lambda: not any(cp.alive(p) for p in tree), "the killed run's processes to end")
    merged = {s for s, e in manifest_of(course).items() if e["status"] == "graded"}
    assert merged and "sleeper" not in merged  # the kill landed mid-run
    rerun = cli(course.root, "--cluster", "local:2")
    with cp.releasing(rerun.pid):
        code, output = finish(rerun)
    assert code == 0, output
    summary = summary_of(course)
    assert summary["unchanged"] == len(merged)  # nothing merged was graded again
    assert summary["graded"] == 4 - len(merged)
    assert {r["student"] for r in summary["students"] if r["status"] == "unchanged"} == merged
    assert course.submissions_in_gradebook() == 4  # nothing counted twice
    for name in names:
        assert course.scores(A)[name] == ps01_alone[name]
    assert course.total(A, "sleeper") == FULL_MARKS
    cp.assert_clean(before, tree, killed=True)


def test_a_local_cluster_run_stopped_by_sigterm_says_one_line_and_leaves_nothing(
    ps01_course, tmp_path
):
    """instructor guide, *Stopping a run*, with ``--cluster local:2``: SIGTERM while a job runs
    (the sleeper waits) ends the run with status 143 and its one line, no Dask warning of the
    tasks it cancelled above it (found in an instructor's walk: one *Async instruction ...
    ended with CancelledError* per running task), and nothing left on the host."""
    before = cp.host_state()
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("correct", A, corpus.ordinary(course.root, "correct"))
    course.submit("sleeper", A, corpus.student_notebook(course.root, append=SLEEPER))
    run = cli(course.root, "--cluster", "local:2")
    cp.wait_for(lambda: cp.waiting_sleepers(run.pid), "the sleeper waiting", run)
    tree = [psutil.Process(run.pid), *cp.descendants(run.pid)]
    run.send_signal(signal.SIGTERM)
    code, output = finish(run)
    assert code == 128 + signal.SIGTERM, output
    summary = json.loads((course.root / "reports" / A / "summary.json").read_text())
    assert summary["stopped"] == "SIGTERM", summary
    rows = {r["student"]: r["status"] for r in summary["students"]}
    assert rows["sleeper"] == "stopped" and rows["correct"] in {"graded", "stopped"}, rows
    # cli() runs with --no-feedback: no page to write, whether correct was graded or not.
    left = {"graded": "1 submission", "stopped": "2 submissions"}[rows["correct"]]
    then = f"grade the {left} not graded and export grades.csv"
    lines = [x for x in output.splitlines() if not re.match(r"\d+/\d+ \(\d+%\)", x)]
    kept = {"graded": "the 1 result merged is kept", "stopped": "nothing was merged"}
    assert lines == [
        f"lstm-autograde: stopped by SIGTERM during grading; {kept[rows['correct']]}; summary: "
        f"{course.root / 'reports' / A / 'summary.json'} (run the same command again to {then})"
    ], output
    cp.wait_for(lambda: not any(cp.alive(p) for p in tree), "the stopped run's processes to end")
    cp.assert_clean(before, tree)


def test_a_killed_coordinators_job_on_a_worker_started_apart_is_stopped(ps01_course, tmp_path):
    """A worker started apart outlives a killed ``lstm-autograde``. Dask cannot stop the task
    it is running, only mark it cancelled: the task then kills its helper, job and kernel with
    it, rather than grade on for nobody until the limits (here an hour a cell) and keep the
    worker from the next run. The sleeper is never released: only that stops it."""
    before = cp.host_state()
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("sleeper", A, corpus.student_notebook(course.root, append=SLEEPER))
    cluster = cp.Cluster(tmp_path)
    try:
        cluster.start_scheduler()
        worker = cluster.start_worker()
        cluster.wait_for_workers(1)
        hour = ["--cell-timeout", "3600", "--notebook-timeout", "3600"]
        run = cli(course.root, "--scheduler-file", str(cluster.scheduler_file), *hour)
        sleepers = cp.wait_for(lambda: cp.waiting_sleepers(worker.pid), "the sleeper", run)
        run.send_signal(signal.SIGKILL)
        finish(run)
        cp.wait_for(lambda: not any(cp.alive(p) for p in sleepers), "the sleeper to be stopped")
        tree = cp.descendants(worker.pid)
    finally:
        cluster.stop()
    assert not manifest_of(course)  # nothing merged: the job was stopped, not finished
    cp.assert_clean(before, tree, killed=True)


@pytest.mark.parametrize(
    ("stop", "reason"),
    [
        (signal.SIGINT, "scheduler-close"),  # Ctrl-C in the scheduler's terminal
        (signal.SIGKILL, "worker-handle-scheduler-connection-broken"),  # a crash, the OOM killer
    ],
    ids=["ctrl-c", "sigkill"],
)
def test_a_scheduler_stopped_mid_run_stops_its_workers_and_the_next_run_grades_the_rest(
    ps01_course, tmp_path, stop, reason
):
    """The guide's story of a scheduler restarted during a run (found walking it: the guide
    did not tell it): the run stops with status 2 and its last line says what happened and
    that the merged results are kept, with no traceback of Dask's before it; the workers stop
    with their scheduler (Dask's workers do not wait for a new one), stopped or killed; the
    scheduler and a worker started again with the same commands, the same command grades the
    rest, and nothing merged is graded again (once: it does not depend on how the first
    scheduler ended)."""
    before = cp.host_state()
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("a_correct", A, corpus.ordinary(course.root, "correct"))
    course.submit("b_sleeper", A, corpus.student_notebook(course.root, append=SLEEPER))
    cluster = cp.Cluster(tmp_path)
    tree = []
    try:
        cluster.start_scheduler()
        worker = cluster.start_worker()
        cluster.wait_for_workers(1)
        run = cli(course.root, "--scheduler-file", str(cluster.scheduler_file))
        cp.wait_for(
            lambda: "a_correct" in manifest_of(course) and cp.waiting_sleepers(worker.pid),
            "a_correct merged and the sleeper waiting",
            run,
        )
        tree = cp.descendants(worker.pid)
        cluster.procs[0].send_signal(stop)
        code, output = finish(run)
        assert code == 2, output
        error, last = output.rstrip().splitlines()[-2:]
        assert error.startswith("lstm-autograde: the scheduler at tcp://127.0.0.1:"), output
        assert error.endswith(" cancelled the work (it went away, or was restarted)"), output
        # What the run did, not "results merged so far are kept" whatever it did (a review).
        assert last == (
            "lstm-autograde: the run stopped during grading; the 1 result merged is kept; "
            f"summary: {course.root / 'reports' / A / 'summary.json'} (run the same command "
            "again to grade the 1 submission not graded and export grades.csv)"
        ), output
        assert "Traceback" not in output and "CancelledError" not in output, output
        worker.wait(cp.WAIT)  # the worker stopped with its scheduler
        assert f"Reason: {reason}" in cluster.output()
        assert "End worker" in cluster.output()
        assert set(manifest_of(course)) == {"a_correct"}
        # The summary is this run's, as far as it went (it was the run's before, if any).
        summary = summary_of(course)
        assert (summary["stopped"], summary["graded"], summary["not_graded"]) == ("error", 1, 1)
        assert summary["error"].startswith("ClusterError: the scheduler at tcp://127.0.0.1:")
        assert row(summary, "b_sleeper")["status"] == "stopped"
        if stop == signal.SIGINT:
            cluster.scheduler_file.unlink(missing_ok=True)  # the new scheduler's, not a stale one
            cluster.start_scheduler()
            log = cluster.logs[-1]
            again = cluster.start_worker()
            cp.wait_for(lambda: "Register worker" in log.read_text(), "the worker to register")
            rerun = cli(course.root, "--scheduler-file", str(cluster.scheduler_file))
            with cp.releasing(again.pid):
                code, output = finish(rerun)
            tree += cp.descendants(again.pid)
    finally:
        cluster.stop()
    if stop == signal.SIGINT:
        assert code == 0, output + cluster.output()
        summary = summary_of(course)
        assert (summary["graded"], summary["unchanged"]) == (1, 1)
        assert course.total(A, "b_sleeper") == FULL_MARKS
        assert course.submissions_in_gradebook() == 2
    cp.assert_clean(before, tree, killed=True)


# -- TLS -------------------------------------------------------------------------------------------
def test_a_worker_given_a_wrong_scheduler_address_and_the_run_that_waits_for_it_say_where_to_look(
    ps01_course, tmp_path
):
    """A worker started with a scheduler address that has a typo in it: the run, which waits
    for a first worker, ended with only "no worker joined the scheduler at ... within 600 s",
    and the worker, which says why in its own log, had stopped long before (found in an
    instructor's walk). The run's line now says which address the workers need, and what a
    worker that cannot reach it logs; nothing is graded, and once a worker with the right
    address has joined, the same command grades the class."""
    import socket

    before = cp.host_state()
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("correct", A, corpus.ordinary(course.root, "correct"))
    with socket.socket() as s:  # a port nothing listens on: the typo's
        s.bind(("127.0.0.1", 0))
        wrong = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    cluster = cp.Cluster(tmp_path)
    try:
        address = cluster.start_scheduler()
        args = ["worker", wrong, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
        args += ["--local-directory", str(tmp_path / "dask-scratch")]
        # Dask's connect timeout (30 s) made short: how long the worker tries is Dask's.
        lost = cluster._start("worker", args, {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
        run = cli(
            course.root, "--scheduler-file", str(cluster.scheduler_file), "--worker-timeout", "5"
        )
        code, output = finish(run)
        lost.wait(cp.WAIT)
        assert code == 2, output
        assert output.strip().splitlines()[-2:] == [
            f"lstm-autograde: {coordinator.no_worker(address, 5)}",
            # What the run did (it waited; nothing merged) and what the next one does.
            f"lstm-autograde: the run stopped while waiting for a worker to join the scheduler "
            f"at {address}; nothing was merged; summary: "
            f"{course.root / 'reports' / A / 'summary.json'} (run the same command again to "
            "grade the 1 submission not graded and export grades.csv)",
        ]
        assert f"dask worker {address}" in output and "Timed out trying to connect" in output
        log = cluster.logs[-1].read_text(errors="replace")
        assert lost.returncode != 0 and f"Timed out trying to connect to {wrong}" in log, log
        assert "Nanny failed to start" in log  # what the guide's table gives, for this cause
        table = re.search(r"\| message \| cause \|\n(.*?)\n\n", GUIDE.read_text(), re.S).group(1)
        assert "`Timed out trying to connect to ... after" in table
        assert "`Nanny failed to start`" in table
        summary = summary_of(course)
        assert summary["stopped"] == "error" and "no worker joined" in summary["error"]
        assert row(summary, "correct")["status"] == "stopped"
        cluster.start_worker()
        cluster.wait_for_workers(1)
        code, output = finish(cli(course.root, "--scheduler-file", str(cluster.scheduler_file)))
        tree = [p for w in cluster.procs[1:] for p in cp.descendants(w.pid)]
    finally:
        cluster.stop()
    assert code == 0, output + cluster.output()
    assert summary_of(course)["graded"] == 1 and course.total(A, "correct") == FULL_MARKS
    cp.assert_clean(before, tree)


def test_tls_cluster_with_flags_and_with_dask_config(ps01_course, ps01_alone, tmp_path):
    before = cp.host_state()
    tls = cp.make_tls(tmp_path)
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("correct", A, corpus.ordinary(course.root, "correct"))
    cluster = cp.Cluster(tmp_path, tls=tls)
    try:
        address = cluster.start_scheduler()
        assert address.startswith("tls://127.0.0.1:")
        worker = cluster.start_worker()
        cluster.wait_for_workers(1)
        # Without the TLS files: refused before connecting, naming the flags.
        refused = cli(course.root, "--scheduler", address)
        code, output = finish(refused)
        assert code == 2 and "asks for TLS: give --tls-ca-file" in output
        flags = ["--tls-ca-file", str(tls[0]), "--tls-cert", str(tls[1]), "--tls-key", str(tls[2])]
        code, output = finish(cli(course.root, "--scheduler", address, *flags))
        assert code == 0, output + cluster.output()
        assert course.scores(A)["correct"] == ps01_alone["correct"]
        # The same from Dask's configuration (here its environment variables), graded again.
        config = {
            "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(tls[0]),
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(tls[1]),
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(tls[2]),
        }
        argv = [sys.executable, "-m", "lstm_grading.cli", A, "--course", str(course.root)]
        argv += ["--scheduler-file", str(cluster.scheduler_file), "--force", "--no-feedback"]
        done = subprocess.run(
            argv, capture_output=True, text=True, env={**os.environ, **config}, timeout=cp.WAIT
        )
        assert done.returncode == 0, done.stdout + done.stderr + cluster.output()
        assert summary_of(course)["graded"] == 1
        tree = cp.descendants(worker.pid)
    finally:
        cluster.stop()
    assert course.scores(A)["correct"] == ps01_alone["correct"]
    cp.assert_clean(before, tree)


def test_what_a_failed_tls_connection_says_is_in_the_guides_table(tmp_path):
    """The guide's table of what Dask says when a connection fails, for the messages
    ``lstm-autograde`` shows, on a TLS scheduler (no worker, nothing graded): a plain tcp://
    client, a certificate of another CA (found walking the guide: ``TLSV1_ALERT_UNKNOWN_CA``,
    which the table lacked; the scheduler logs ``CERTIFICATE_VERIFY_FAILED``), a CA file
    that did not sign the scheduler's certificate, a key not of its certificate, a port where
    nothing answers. Each attempt waits 5 s at most (what --worker-timeout bounds)."""
    import socket

    from lstm_grading.cluster.connect import ClusterError, Target

    ca, cert, key = cp.make_tls(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    other_ca, other_cert, other_key = cp.make_tls(other)
    cluster = cp.Cluster(tmp_path, tls=(ca, cert, key))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # a port nothing listens on (the socket never listens)

        def says(address: str, tls) -> str:
            t = Target(address=address, tls=tls and tuple(map(str, tls)))
            with pytest.raises(ClusterError) as caught:
                with connect.connect(t, timeout=5):
                    pass
            return str(caught.value)

        try:
            address = cluster.start_scheduler()
            plain = address.replace("tls://", "tcp://")
            seen = {
                "Connection reset by peer": says(plain, None),
                # TLS 1.3: the scheduler's refusal arrives after the client's handshake, so the
                # last try may see the alert or only the connection closed under it; the alert
                # is a decrypt error where the other CA bears the same name as the scheduler's
                # (make_tls names both alike: seen in 5 of 8 tries, EOF in the other 3)
                (
                    "TLSV1_ALERT_UNKNOWN_CA",
                    "TLSV1_ALERT_DECRYPT_ERROR",
                    "EOF occurred in violation of protocol",
                ): says(address, (ca, other_cert, other_key)),
                "TLS certificate does not match": says(address, (other_ca, cert, key)),
                "KEY_VALUES_MISMATCH": says(address, (ca, cert, other_key)),
                "Timed out": says(f"tls://127.0.0.1:{closed}", (ca, cert, key)),
            }
        finally:
            cluster.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in cluster.output()  # the scheduler's side of it
    table = re.search(r"\| message \| cause \|\n(.*?)\n\n", GUIDE.read_text(), re.S).group(1)
    for messages, text in seen.items():
        messages = (messages,) if isinstance(messages, str) else messages
        assert any(m in text for m in messages), (messages, text)
        assert all(f"`{m}`" in table for m in messages), messages


# -- the host check after a killed helper (tests/cluster_processes.py) -----------------------
# In this module, not in test_cluster.py: the check reads the whole host (helpers, sandbox
# processes), which the other grading modules must not be changing meanwhile.
def isolated_tmp(monkeypatch, tmp_path: Path) -> None:
    """Run folders in ``tmp_path``, not in /tmp, where the grading tests check for leftovers."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(cp, "TMP", tmp_path)
    monkeypatch.setattr(cp, "SCRATCH", tmp_path / "dask-scratch-space")


def test_a_killed_helpers_folder_freed_after_the_runs_cleanup_is_removed_as_the_next_run_would(
    monkeypatch, tmp_path
):
    """The race seen once in CI: the run's last cleanup came while the killed helper's jobs
    still held its folder's lock; the folder was freed a moment later, and only a next run
    removes it."""
    import os
    import threading

    from lstm_grading.course_lock import make_run_folder

    isolated_tmp(monkeypatch, tmp_path)
    before = cp.host_state()
    folder, fd = make_run_folder()  # the dying helper's, still locked
    threading.Timer(0.5, os.close, (fd,)).start()
    cp.assert_clean(before, killed=True)
    assert not folder.exists()


def test_a_run_folder_still_held_fails_the_check_and_one_left_unlocked_without_a_kill_too(
    monkeypatch, tmp_path
):
    import os

    from lstm_grading.course_lock import make_run_folder

    isolated_tmp(monkeypatch, tmp_path)
    monkeypatch.setattr(cp, "WAIT", 1.0)
    before = cp.host_state()
    folder, fd = make_run_folder()
    try:
        with pytest.raises(AssertionError, match="a killed helper's run folder stayed held") as e:
            cp.assert_clean(before, killed=True)
        assert f"{folder}: its lock held by pid {os.getpid()}; holds ['owner.lock']" in str(e.value)
    finally:
        os.close(fd)
    assert folder.exists()
    # Without a kill, nobody is expected to remove a freed folder: the run should have.
    with pytest.raises(AssertionError, match="a run folder was left behind"):
        cp.assert_clean(before)


def test_the_host_check_waits_for_what_another_session_removes_and_fails_what_stays(
    monkeypatch, tmp_path
):
    """Another test session grading on the machine (another checkout's `make test`): its live
    run's job folder and job cgroup, there when this run ended, go when its job ends, and the
    check waits for them (such a job folder failed it once, under load); what stays fails."""
    import threading

    from lstm_grading.cluster.helper import JOB_PREFIX
    from lstm_grading.course_lock import make_run_folder, remove_run_folder

    tmp, parent = tmp_path / "tmp", tmp_path / "memory-cgroups"  # apart: a glob of tmp's
    for folder in (tmp, parent):
        folder.mkdir()
    isolated_tmp(monkeypatch, tmp)
    monkeypatch.setattr(cp, "memory_cgroup_parent", lambda: str(parent))
    before = cp.host_state()
    run, fd = make_run_folder()  # the other session's, live: its lock held
    job, cgroup = run / f"{JOB_PREFIX}x", parent / f"{JOB_PREFIX}x-work-4321"
    try:
        for folder in (job, cgroup):
            folder.mkdir()
        assert {job, cgroup} <= {*cp.host_state()["job_folders"], *cp.host_state()["cgroups"]}
        threading.Timer(0.5, lambda: (job.rmdir(), cgroup.rmdir())).start()
        cp.assert_clean(before)  # waits for both to go
        monkeypatch.setattr(cp, "WAIT", 1.0)
        job.mkdir()
        with pytest.raises(AssertionError, match="a job folder was left behind"):
            cp.assert_clean(before)
        job.rmdir()
        cgroup.mkdir()
        with pytest.raises(AssertionError, match="a job's memory cgroup was left"):
            cp.assert_clean(before)
        cgroup.rmdir()
    finally:
        remove_run_folder(run, fd)


def test_the_host_check_counts_this_sessions_helpers_not_another_test_processes(monkeypatch):
    """`make test` runs two pytest-xdist workers, and the other one's tests may start a helper
    at any moment (test_cluster.py starts one): the check counts the helpers started from this
    process, which carry its mark in the environment they inherit (as a Dask worker's helper
    does), and not one another test process started, which is a helper all the same."""
    from lstm_grading.cluster import worker

    before = cp.host_state()
    mine = worker.Helper()
    with monkeypatch.context() as m:
        m.setenv(cp.SESSION, "another test process")
        theirs = worker.Helper()
    try:
        # Popen returns once the exec has begun, and /proc shows the new command line (and
        # environment) a moment later: an empty one before (seen on a busy machine).
        for helper in (mine, theirs):
            process = psutil.Process(helper.proc.pid)
            cp.wait_for(lambda p=process: cp.is_helper(p), "the helper's command line")
        assert cp.host_state()["helpers"] - before["helpers"] == {mine.proc.pid}
    finally:
        mine.close()
        theirs.close()
    cp.assert_clean(before)
