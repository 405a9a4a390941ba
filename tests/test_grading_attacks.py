"""Attacks on the grading machine and on the run itself, against ``lstm-autograde`` (issue #9).

Each attack of tests/hostile/escape/*.json is graded in one batch with the ordinary
submissions of tests/grading_corpus.py, in the full sandbox; the run itself is attacked by
two concurrent runs, a SIGKILL of the coordinator and SIGKILLs of a worker. Every test checks
the same three things besides its own: the host is untouched (a canary file and folder outside
the course, the world-writable host folders, System V shared memory), nothing is left behind
(no ``/tmp/lstm-autograde-*`` folder of a finished run, no process of the sandbox's uids, no
worker), and every other student gets exactly the grade plain ``nbgrader autograde`` gives
the same notebook.

Kernel-starting tests: slow. No timing assertions: waits are generous upper bounds.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import grading_corpus as corpus
import nbformat
import psutil
import pytest
from assignment_suite import max_points
from cluster_processes import (
    alive,
    leftover_cgroups,
    releasing,
    sandbox_processes,
    wait_for,
    waiting_sleepers,
    waits_for_a_lock,
)
from course import Course

from lstm_grading import cgroup, course_prep, linux, parallel
from lstm_grading.course_lock import OWNER, RUN_PREFIX, CourseBusy
from lstm_grading.course_prep import NOT_GLOB_SAFE
from lstm_grading.job import local_reduced_gaps
from lstm_grading.parallel import grade_assignment
from lstm_grading.pool import Pool
from lstm_grading.safe_copy import HARD_LINKS
from lstm_grading.sandbox import Limits

pytestmark = pytest.mark.slow
A = corpus.ASSIGNMENT
MODE, WHY = linux.probe()
FULL = MODE == "full"
needs_sandbox = pytest.mark.skipif(not FULL, reason=f"full sandbox unavailable here: {WHY}")
# Ordinary cells take well under 0.1 s; 10 s per cell is the looping attacks' cost, not a race.
LIMITS = Limits(cell_timeout=10, notebook_timeout=120)
ESCAPES = corpus.hostile_specs(corpus.ESCAPE)
# Files the attacks of tests/hostile/escape/ try to leave in world-writable host folders.
HOST_LEFTOVERS = [
    Path(folder, name)
    for folder in ("/run/lock", "/var/tmp", "/tmp", "/dev/shm")
    for name in ("lstm-attack-canary", "lstm-attack-shm")
]
SHM_KEY = 0x4C53544D  # the key tests/hostile/escape/sysv_shm.json asks shmget for
WAIT = 600  # seconds: upper bound for anything to happen on a busy machine
SLEEPER = corpus.SLEEPER  # waits until the test releases it (cluster_processes.releasing)
# ps01's full marks (the solution's grade cells' points): what the sleeper, a correct notebook
# with a wait appended, scores once released.
FULL_MARKS = sum(max_points(A).values())


# -- the host and what a run may leave behind --------------------------------------------------
def make_canary(folder: Path) -> Path:
    """A host folder with a 0600 file and a subfolder, outside any course."""
    folder.mkdir(parents=True)
    (folder / "inner").mkdir()
    (folder / "inner" / "keep.txt").write_text("canary folder content")
    secret = folder / "secret.txt"
    secret.write_text("CANARY: instructor's private file")
    secret.chmod(0o600)
    return secret


def snapshot(folder: Path) -> dict:
    """Content hash and mode of everything under ``folder`` (links listed, not followed)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        data = p.read_bytes() if p.is_file() and not p.is_symlink() else b""
        out[str(p.relative_to(folder))] = (oct(st.st_mode), hashlib.sha256(data).hexdigest())
    out["."] = oct(folder.stat().st_mode)
    return out


def shm_segments() -> set[tuple[int, int]]:
    """(key, shmid) of the host's System V shared memory segments."""
    lines = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return {(int(line.split()[0]), int(line.split()[1])) for line in lines}


def dead_run_folders() -> set[Path]:
    """``/tmp/lstm-autograde-*`` folders whose run has ended or died (their lock is free)."""
    import fcntl

    out = set()
    for path in Path("/tmp").glob(RUN_PREFIX + "*"):
        try:
            fd = os.open(path / OWNER, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            out.add(path)
        except BlockingIOError:
            pass  # a run of another process (another test session) still going
        finally:
            os.close(fd)
    return out


def run_folders() -> dict[str, set[Path]]:
    """The ``/tmp/lstm-autograde-*`` folders now: ``"all"`` of them, whatever their state, and
    the ``"dead"`` ones (:func:`dead_run_folders`).

    "all" also holds what "dead" cannot see: a folder whose owner lock was removed but not the
    folder (half removed: the run's cleanup ignores errors), and one still held by a process
    that outlived its run.
    """
    return {"all": set(Path("/tmp").glob(RUN_PREFIX + "*")), "dead": dead_run_folders()}


def assert_no_run_folder_left(before: dict[str, set[Path]]) -> None:
    """No run folder made since ``before`` (:func:`run_folders`) is left, once the runs ended.

    A dead one fails at once: a run removes its folder before it returns. Any other new one is
    waited for (``WAIT``, generously), as ``cluster_processes.assert_clean`` waits: a run of
    another test session on this machine may hold one for a while, and removes it when it ends;
    only a folder that stays fails. Folders there before (other sessions', or left by a run that
    died earlier) are not this run's.
    """
    assert dead_run_folders() - before["dead"] == set(), "a run folder was left behind"
    end = time.monotonic() + WAIT
    while (left := run_folders()["all"] - before["all"]) and time.monotonic() < end:
        time.sleep(0.2)
    assert left == set(), f"run folders left behind (held, or half removed): {sorted(left)}"


def children() -> set[tuple[int, float]]:
    """This process's running children (pid, start time), but multiprocessing's resource
    tracker; a zombie has exited and only waits for its parent to reap it."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if alive(p) and "resource_tracker" not in " ".join(p.cmdline()):
                out.add((p.pid, p.create_time()))
        except psutil.NoSuchProcess:
            pass
    return out


def workers(before: set[tuple[int, float]]) -> list[tuple[int, float]]:
    """Children started since ``before`` that still run, but the descendants of processes in
    ``before``: the session's browser and its book server (other test modules' fixtures) are
    children of this process too, and Chromium starts helper processes of its own at any time."""
    out = []
    for pid, started in sorted(children() - before):
        try:
            ancestors = {(a.pid, a.create_time()) for a in psutil.Process(pid).parents()}
        except psutil.NoSuchProcess:
            continue  # exited meanwhile (or its parent did)
        if not ancestors & before:
            out.append((pid, started))
    return out


def host_state(canary: Path) -> dict:
    return {
        "canary": snapshot(canary.parent),
        "leftovers": [str(p) for p in HOST_LEFTOVERS if p.exists()],
        "shm": shm_segments(),
        "children": children(),
    }


def assert_nothing_left(before: dict, after: dict, runs_before: dict[str, set[Path]]) -> None:
    assert after["canary"] == before["canary"], "the host canary changed"
    assert after["leftovers"] == before["leftovers"], "files left in host folders"
    assert after["shm"] <= before["shm"], f"new shm segments: {after['shm'] - before['shm']}"
    assert SHM_KEY not in {key for key, _ in after["shm"]}
    assert_no_run_folder_left(runs_before)
    assert sandbox_processes() == [], "a process of the sandbox survived"
    assert workers(before["children"]) == [], "a worker survived"
    assert leftover_cgroups() == [], "a job's memory cgroup was left behind"


# -- courses -------------------------------------------------------------------------------------
def assert_ordinary_grades(course: Course, alone, names=tuple(corpus.ORDINARY)) -> None:
    scores = course.scores(A)
    for name in names:
        assert scores[name] == alone[name], name


def row(summary: dict, student: str) -> dict:
    (r,) = [r for r in summary["students"] if r["student"] == student]
    return r


# -- the escape batch ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def batch(ps01_course, tmp_path_factory):
    if not FULL:
        pytest.skip(f"full sandbox unavailable here: {WHY}")
    top = tmp_path_factory.mktemp("escape")
    canary = make_canary(top / "canary")
    course = Course.copy_of(ps01_course, top / "course")
    for name in corpus.ORDINARY:
        course.submit(name, A, corpus.ordinary(course.root, name))
    for name, spec in ESCAPES.items():
        corpus.submit_hostile(course, f"h_{name}", spec, canary)
    runs = run_folders()
    before = host_state(canary)
    submitted = snapshot(course.root / "submitted")
    summary = grade_assignment(course.root, A, jobs=2, limits=LIMITS, progress=False)
    after = host_state(canary)
    return course, summary, before, after, runs, submitted


@needs_sandbox
@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_escape_is_contained(batch, ps01_alone, name):
    course, summary, before, after, runs, submitted = batch
    expect = ESCAPES[name]["expect"]
    r = row(summary, f"h_{name}")
    assert r["status"] == expect["status"], r
    assert r["score"] == expect["score"], r
    assert course.total(A, f"h_{name}") == expect["score"]
    for key, column in [("note", "notes"), ("flag", "flags")]:
        if key in expect:
            assert expect[key] in r[column], r
    text = corpus.outputs_text(course.autograded_notebook(f"h_{name}", A))
    assert expect.get("output", "") in text
    if "output_lacks" in expect:
        assert expect["output_lacks"] not in text
    # What came back: regular files only, within the limit per submission.
    back = course.root / "autograded" / f"h_{name}" / A
    files = list(back.rglob("*"))
    assert not any(p.is_symlink() for p in files)
    assert all(p.is_file() or p.is_dir() for p in files)
    assert sum(p.stat().st_size for p in files if p.is_file()) <= LIMITS.return_mb * (1 << 20)
    assert snapshot(course.root / "submitted") == submitted
    assert_nothing_left(before, after, runs)
    assert_ordinary_grades(course, ps01_alone)


@needs_sandbox
def test_feedback_holds_notebooks_only(batch):
    course = batch[0]
    folder = course.root / "feedback" / "h_disk_filling" / A
    assert sorted(p.name for p in folder.iterdir()) == [f"{A}.html"]
    assert (course.root / "autograded" / "h_disk_filling" / A / "junk").is_dir()


@needs_sandbox
def test_course_gradebook_is_intact(batch):
    course, summary = batch[:2]
    con = sqlite3.connect(course.root / "gradebook.db")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (n,) = con.execute("SELECT count(*) FROM submitted_assignment").fetchone()
    finally:
        con.close()
    assert n == len(summary["students"])


# -- the run attacked ----------------------------------------------------------------------------
def cli(course: Path, *args: str, **kw) -> subprocess.Popen:
    """``lstm-autograde`` on ``course`` in a subprocess (cell limit 30 s)."""
    argv = [sys.executable, "-m", "lstm_grading.cli", A, "--course", str(course)]
    argv += ["--cell-timeout", "30", "--notebook-timeout", "300", "--no-feedback", *args]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def job_started(run: subprocess.Popen, coordinator: psutil.Process):
    """The worker running a job; fails at once, with the run's output, if the run has ended."""

    def check():
        if run.poll() is not None:
            out, err = run.communicate()
            raise AssertionError(
                f"the run ended (status {run.returncode}) before a job was seen:\n{out}\n{err}"
            )
        return job_running(coordinator)

    return wait_for(check, "a job to start")


def job_running(coordinator: psutil.Process):
    """A worker of ``coordinator`` that is running a job (it has children), or None."""
    try:
        for worker in coordinator.children():
            if worker.children():
                return worker
    except psutil.NoSuchProcess:
        return None
    return None


def two_submissions(ps01_course: Path, dest: Path) -> Course:
    course = Course.copy_of(ps01_course, dest)
    course.submit("correct", A, corpus.ordinary(course.root, "correct"))
    course.submit("sleeper", A, corpus.student_notebook(course.root, append=SLEEPER))
    return course


# The first run's sleeper is held while two more runs start, however slow the machine: its cell
# limit is far longer than the test's waits need. All three runs have the same limits (a run
# with other limits would grade everything again).
HELD = ("--cell-timeout", "600", "--notebook-timeout", "1200")


def test_second_run_refuses_then_waits(ps01_course, ps01_alone, tmp_path):
    course = two_submissions(ps01_course, tmp_path / "course")
    runs = run_folders()
    first = cli(course.root, "--jobs", "1", *HELD)
    lock = course.root / "reports" / ".lstm-autograde.lock"
    wait_for(lambda: lock.exists() and f"pid {first.pid}," in lock.read_text(), "the lock")
    with pytest.raises(CourseBusy, match=f"pid {first.pid}, started "):
        grade_assignment(course.root, A, limits=LIMITS, progress=False)
    second = cli(course.root, *HELD)
    out, err = second.communicate(timeout=WAIT)
    assert second.returncode == 2
    assert f"pid {first.pid}" in err and "--wait" in err
    assert "Traceback" not in out + err
    third = cli(course.root, "--wait", *HELD)
    wait_for(lambda: waits_for_a_lock(third.pid), "the third run to wait for the lock", third)
    with releasing(first.pid):  # the first run's sleeper, held until the third waited
        out, err = first.communicate(timeout=WAIT)
    assert first.returncode == 0, out + err
    out, err = third.communicate(timeout=WAIT)
    assert third.returncode == 0, out + err
    summary = json.loads((course.root / "reports" / A / "summary.json").read_text())
    assert (summary["graded"], summary["unchanged"]) == (0, 2)  # graded once, by the first
    assert course.total(A, "sleeper") == FULL_MARKS
    assert_ordinary_grades(course, ps01_alone, ["correct"])
    con = sqlite3.connect(course.root / "gradebook.db")
    try:
        (n,) = con.execute("SELECT count(*) FROM submitted_assignment").fetchone()
    finally:
        con.close()
    assert n == 2
    assert_no_run_folder_left(runs)
    assert sandbox_processes() == []


@needs_sandbox
def test_sigkill_of_the_coordinator_leaves_nothing_running(ps01_course, ps01_alone, tmp_path):
    course = two_submissions(ps01_course, tmp_path / "course")
    canary = make_canary(tmp_path / "canary")
    before = host_state(canary)
    runs = run_folders()
    run = cli(course.root, "--jobs", "2")
    coordinator = psutil.Process(run.pid)
    job_started(run, coordinator)
    tree = coordinator.children(recursive=True)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=WAIT)
    wait_for(lambda: not any(alive(p) for p in tree), "the pool to die")
    dead = dead_run_folders() - runs["dead"]
    assert dead, "the killed run's folder stays until the next run (the test relies on it)"
    with releasing(os.getpid()):  # this run's pool is this process's children
        summary = grade_assignment(course.root, A, limits=LIMITS, progress=False, feedback=False)
    assert dead <= {Path(p) for p in summary["stale_run_folders_removed"]}
    assert not any(p.exists() for p in dead)
    assert summary["failed"] == 0 and course.total(A, "sleeper") == FULL_MARKS
    assert_ordinary_grades(course, ps01_alone, ["correct"])
    assert_nothing_left(before, host_state(canary), runs)


def test_sigkill_of_a_worker_retries_its_submission(ps01_course, ps01_alone, tmp_path):
    course = two_submissions(ps01_course, tmp_path / "course")
    runs = run_folders()
    run = cli(course.root, "--jobs", "1")
    coordinator = psutil.Process(run.pid)
    # The sleeper's worker, once its kernel waits (the other submission's job is done or yet
    # to come): the retried submission is known, and so is the row that must say so.
    (sleeper,) = wait_for(lambda: waiting_sleepers(run.pid), "the sleeper to wait", run)
    (worker,) = [w for w in coordinator.children() if sleeper in w.children(recursive=True)]
    worker.send_signal(signal.SIGKILL)
    with releasing(run.pid):
        out, err = run.communicate(timeout=WAIT)
    assert run.returncode == 0, out + err
    summary = json.loads((course.root / "reports" / A / "summary.json").read_text())
    assert (summary["graded"], summary["failed"]) == (2, 0)
    assert course.total(A, "sleeper") == FULL_MARKS
    assert_ordinary_grades(course, ps01_alone, ["correct"])
    con = sqlite3.connect(course.root / "gradebook.db")
    try:
        (n,) = con.execute("SELECT count(*) FROM submitted_assignment").fetchone()
    finally:
        con.close()
    assert n == 2  # retried, not counted twice
    notes = {r["student"]: r["notes"] for r in summary["students"]}
    assert notes["sleeper"] == (
        "graded again after try 1 ended: the worker process grading it was killed (SIGKILL)"
    )
    assert "graded again" not in notes["correct"]
    assert_no_run_folder_left(runs)
    assert sandbox_processes() == []


def test_worker_killed_twice_is_reported_failed(ps01_course, ps01_alone, tmp_path):
    """Reduced mode: the student's code runs as the worker's user and kills it, every time."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("correct", A, corpus.ordinary(course.root, "correct"))
    running = children()
    kill = (
        "import os\nstat = open(f'/proc/{os.getppid()}/stat').read()\n"
        "os.kill(int(stat.rsplit(')', 1)[1].split()[1]), 9)\n"
    )
    course.submit("killer", A, corpus.student_notebook(course.root, append={"sigmoid": kill}))
    runs = run_folders()
    summary = grade_assignment(
        course.root, A, limits=LIMITS, progress=False, sandbox_mode="reduced", jobs=2
    )
    r = row(summary, "killer")
    assert r["status"] == "failed"
    assert r["reason"] == "the worker process grading it was killed (SIGKILL) twice"
    assert "graded again" not in r["notes"]  # the reason says it
    assert course.total(A, "killer") is None  # needs grading
    assert_ordinary_grades(course, ps01_alone, ["correct"])
    assert row(summary, "correct")["sandbox"] == local_reduced_gaps()
    with open(course.root / "grades.csv", newline="") as f:
        status = {r["student_id"]: r["status"] for r in csv.DictReader(f)}
    assert status == {"correct": "graded", "killer": "needs grading"}
    assert_no_run_folder_left(runs)
    assert workers(running) == []


# A run held in the merge of its second student's result (after the first was merged), its
# private gradebook copied to the merge's scratch folder: the path goes to MARK, then it waits.
HELD_IN_MERGE = """
import sys, time
from pathlib import Path
from lstm_grading import cli, gradebook_merge

mark, argv = Path(sys.argv[1]), sys.argv[2:]
real = gradebook_merge.merge


def merge(gb, assignment, student, private, timestamp):
    if private is not None and student != "correct":
        mark.write_text(str(private))
        while True:
            time.sleep(0.1)
    return real(gb, assignment, student, private, timestamp)


gradebook_merge.merge = merge
sys.exit(cli.main(argv))
"""


STOPS = {  # how the run is stopped: (the signals sent, SIGHUP ignored from the start (nohup))
    "SIGINT": ([signal.SIGINT], False),
    "SIGTERM": ([signal.SIGTERM], False),
    "SIGHUP": ([signal.SIGHUP], False),
    "SIGKILL": ([signal.SIGKILL], False),
    "SIGHUP under nohup, then SIGTERM": ([signal.SIGHUP, signal.SIGTERM], True),
}


def ignore_sighup() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


@pytest.mark.parametrize("stop", STOPS)
def test_a_run_stopped_mid_merge_leaves_no_hidden_tests_behind(stop, ps01_course, tmp_path):
    """SIGTERM (``timeout``, systemd) and SIGHUP (a closed SSH session) end a run as Ctrl-C
    (SIGINT) does: status 128 + the signal, one line, what was merged kept, the pool and the
    run folder gone; under ``nohup`` SIGHUP stays ignored. The merge's copy of the job's
    gradebook (the hidden tests' source, a student's scores) is in the run folder, so a
    SIGKILLed run's is removed by the next run with the rest."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    for name in ("correct", "naive_sigmoid"):
        course.submit(name, A, corpus.ordinary(course.root, name))
    runs = run_folders()
    merges = set(Path("/tmp").glob("lstm-grading-merge-*"))
    running = children()
    mark = tmp_path / "merging"
    argv = [sys.executable, "-c", HELD_IN_MERGE, str(mark), A, "--course", str(course.root)]
    argv += ["--jobs", "1", "--cell-timeout", "30", "--notebook-timeout", "300", "--no-feedback"]
    signals, nohup = STOPS[stop]
    run = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ignore_sighup if nohup else None,
    )
    wait_for(lambda: mark.exists() and mark.read_text(), "the second merge", run)
    private = Path(mark.read_text())
    assert private.exists()
    tree = psutil.Process(run.pid).children(recursive=True)
    for sig in signals:
        run.send_signal(sig)
        if sig == signal.SIGHUP and nohup:  # ignored: the run goes on (the next one stops it)
            with pytest.raises(subprocess.TimeoutExpired):
                run.communicate(timeout=2)
    out, err = run.communicate(timeout=WAIT)
    wait_for(lambda: not any(alive(p) for p in tree), "the pool to die")
    assert set(Path("/tmp").glob("lstm-grading-merge-*")) <= merges
    assert private.parent.parent.name.startswith(RUN_PREFIX), private  # in the run folder
    assert course.total(A, "correct") == FULL_MARKS  # merged before the signal: kept
    if sig == signal.SIGKILL:
        assert run.returncode == -sig
        dead = dead_run_folders() - runs["dead"]
        assert private.parent.parent in dead  # until the next run, which removes it
        same = Limits(cell_timeout=30, notebook_timeout=300)  # the killed run's: same key
        summary = grade_assignment(course.root, A, limits=same, progress=False, feedback=False)
        assert private.parent.parent in {Path(p) for p in summary["stale_run_folders_removed"]}
        assert (summary["unchanged"], summary["graded"]) == (1, 1)
    else:
        assert run.returncode == 128 + sig, out + err
        name = signal.Signals(sig).name
        assert err.strip().splitlines()[-1] == (
            f"lstm-autograde: stopped by {name} during grading; the 1 result merged is kept; "
            f"summary: {course.root / 'reports' / A / 'summary.json'} (run the same command "
            "again to grade the 1 submission not graded and export grades.csv)"
        )
        assert "Traceback" not in err
        # The summary files are this run's as far as it went, not left to say nothing of it
        # (found in an instructor's walk: they still described the run before)
        summary = json.loads((course.root / "reports" / A / "summary.json").read_text())
        assert summary["stopped"] == name and summary["not_graded"] == 1
        rows = {r["student"]: r for r in summary["students"]}
        assert (rows["correct"]["status"], rows["correct"]["score"]) == ("graded", FULL_MARKS)
        assert rows["naive_sigmoid"]["status"] == "stopped"
        assert rows["naive_sigmoid"]["reason"].startswith(f"the run was stopped by {name} before")
        table = (course.root / "reports" / A / "summary.csv").read_text()
        assert "naive_sigmoid,stopped," in table
    assert not private.exists() and not private.parent.parent.exists()
    assert_no_run_folder_left(runs)
    assert sandbox_processes() == [], "a process of the sandbox survived"
    assert workers(running) == [], "a worker survived"
    assert leftover_cgroups() == [], "a job's memory cgroup was left behind"


# A run held in one phase, the phase's name written to MARK first, then waiting: "planning"
# after hashing the first submission; "feedback" after the first student's page was written
# (the others not started); "export" with half of grades.csv.tmp written by the export.
HELD_IN_PHASE = """
import sys, time
from pathlib import Path
from lstm_grading import cli, course_prep, parallel

mark, phase, argv = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]


def hold():
    mark.write_text(phase)
    while True:
        time.sleep(0.1)


if phase == "planning":
    real_hash, hashed = course_prep.tree_hash, []

    def tree_hash(folder, *args):
        if "submitted" in Path(folder).parts:  # a submission's, not the run key's
            hashed.append(folder)
            if len(hashed) == 2:
                hold()
        return real_hash(folder, *args)

    course_prep.tree_hash = tree_hash
elif phase == "feedback":
    real_feedback = parallel._feedback

    class Held:
        def __init__(self, pool):
            self.pool = pool

        def submit(self, *args):
            self.pool.submit(*args)

        def results(self):
            for item in self.pool.results():
                yield item
                hold()

    def feedback(pool, *args):
        return real_feedback(Held(pool), *args)

    parallel._feedback = feedback
else:
    parallel.DYING_NBGRADER = (
        "import sys, time\\n"
        "open(sys.argv[-1], 'w').write('assignment,student_id')\\n"
        f"open({str(mark)!r}, 'w').write('export')\\n"
        "time.sleep(3600)\\n"
    )
sys.exit(cli.main(argv))
"""

STOPPED_IN = [  # (the phase, the stop, a --cluster run)
    ("planning", "SIGINT", False),
    ("feedback", "SIGINT", False),
    ("feedback", "SIGTERM", False),
    ("feedback", "SIGKILL", False),
    ("feedback", "SIGTERM", True),
    ("export", "SIGTERM", False),
]


@pytest.mark.parametrize(("phase", "stop", "cluster"), STOPPED_IN)
def test_a_run_stopped_in_any_phase_says_so_and_the_next_run_finishes_it(
    phase, stop, cluster, ps01_course, tmp_path
):
    """A run stopped while it plans, writes feedback or exports: its summary (unless SIGKILLed)
    says in which phase (``"stopped_in"``), each graded row whose feedback page it had not
    written says so, and the next run writes those pages, and only those, with a note saying
    why. Before, a run stopped during feedback left rows "graded" with no word of their missing
    page; one stopped while planning (hashing a large class) or exporting wrote no summary at
    all, and the export's half-written grades.csv.tmp stayed in the course."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    for name in ("correct", "naive_sigmoid"):
        course.submit(name, A, corpus.ordinary(course.root, name))
    runs = run_folders()
    running = children()
    mark = tmp_path / "held"
    argv = [sys.executable, "-c", HELD_IN_PHASE, str(mark), phase, A, "--course", str(course.root)]
    argv += ["--jobs", "1", "--cell-timeout", "30", "--notebook-timeout", "300"]
    argv += ["--cluster", "local:1"] if cluster else []
    run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(
        lambda: mark.exists() and mark.read_text() == phase, f"the run to hold in {phase}", run
    )
    tree = psutil.Process(run.pid).children(recursive=True)
    sig = signal.Signals[stop]
    page = lambda s: course.root / "feedback" / s / A / f"{A}.html"  # noqa: E731
    written = [s for s in ("correct", "naive_sigmoid") if page(s).is_file()]
    run.send_signal(sig)
    out, err = run.communicate(timeout=WAIT)
    wait_for(lambda: not any(alive(p) for p in tree), "the run's processes to die")
    assert not (course.root / "grades.csv.tmp").exists()  # no half-written export left
    graded = phase != "planning"
    if sig == signal.SIGKILL:
        assert run.returncode == -sig
        assert not (course.root / "reports" / A / "summary.json").exists()  # none can be
    else:
        assert run.returncode == 128 + sig, out + err
        assert "Traceback" not in err
        summary = json.loads((course.root / "reports" / A / "summary.json").read_text())
        assert (summary["stopped"], summary["stopped_in"]) == (stop, phase)
        # What the next run does (below): grade both, write the page not written, or export.
        then = {
            # Held while it hashes the second submission: the first found new, the second
            # not yet compared with its last grading.
            "planning": "grade the 1 submission not graded, check the 1 submission not yet "
            "compared with its last grading (grading it if new or changed) and export grades.csv",
            "feedback": "write the 1 missing feedback page and export grades.csv",
            "export": "export grades.csv",
        }[phase]
        kept = "the 2 results merged are kept" if graded else "nothing was merged"
        assert err.strip().splitlines()[-1] == (
            f"lstm-autograde: stopped by {stop} during {phase}; {kept}; summary: "
            f"{course.root / 'reports' / A / 'summary.json'} (run the same command again to "
            f"{then})"
        )
        rows = {r["student"]: r for r in summary["students"]}
        assert set(rows) == {"correct", "naive_sigmoid"}
        missing = parallel.FEEDBACK_NOT_WRITTEN.format(by=stop)
        for student, r in rows.items():
            if not graded:
                assert r["status"] == "stopped" and summary["not_graded"] == 2
                assert summary["not_checked"] == 1, summary
                continue
            assert r["status"] == "graded" and summary["not_graded"] == 0
            assert (missing in r["notes"]) == (student not in written), r
        assert (course.root / "reports" / A / "summary.csv").read_text().count(missing) == (
            2 - len(written) if graded else 0
        )
    if phase == "feedback":
        assert len(written) == 1  # the first page, written before the hold; the other not
    kept = {s: page(s).stat().st_mtime_ns for s in written}
    same = Limits(cell_timeout=30, notebook_timeout=300)  # the stopped run's: same key
    summary = grade_assignment(course.root, A, limits=same, progress=False, jobs=1)
    rows = {r["student"]: r for r in summary["students"]}
    assert (summary["graded"], summary["unchanged"]) == ((0, 2) if graded else (2, 0))
    for student, r in rows.items():
        assert page(student).is_file()
        if not graded:
            assert "feedback page" not in r["notes"], r
        elif sig == signal.SIGKILL:  # its pending marks were all left on disk
            assert parallel.FEEDBACK_PENDING_NOTE in r["notes"], r
        elif student in written:
            assert (
                "feedback page" not in r["notes"]
                and page(student).stat().st_mtime_ns == (kept[student])
            ), r
        else:  # stopped during the feedback (its mark pending) or before it (no page)
            why = parallel.FEEDBACK_PENDING_NOTE if phase == "feedback" else "written: it was"
            assert why in r["notes"], r
    assert course.total(A, "correct") == FULL_MARKS
    assert (course.root / "grades.csv").is_file()
    assert_no_run_folder_left(runs)
    assert sandbox_processes() == [], "a process of the sandbox survived"
    assert workers(running) == [], "a worker survived"


@needs_sandbox
def test_a_run_stopped_while_jobs_run_leaves_no_memory_cgroup(ps01_course, tmp_path):
    """Ctrl-C while a job's kernel runs: when the run has ended, its jobs' memory cgroups are
    gone, not left to the next run. The jobs die with their workers a moment after the run
    kills them; the run removed only the cgroups already empty, and left three behind (found
    stopping an instructor's run of a class part way)."""
    course = two_submissions(ps01_course, tmp_path / "course")
    runs = run_folders()
    running = children()
    run = cli(course.root, "--jobs", "2")
    wait_for(lambda: waiting_sleepers(run.pid), "the sleeper to wait", run)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=WAIT)
    assert run.returncode == 130, out + err
    assert leftover_cgroups() == [], "a job's memory cgroup was left behind"
    assert_no_run_folder_left(runs)
    assert sandbox_processes() == [], "a process of the sandbox survived"
    assert workers(running) == [], "a worker survived"


# -- reasons and student ids ---------------------------------------------------------------------
def test_reasons_and_unusual_student_ids(ps01_course, tmp_path):
    """Ids plain nbgrader grades are graded alike; each refusal or failure says why."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    graded = {
        "bob smith": corpus.ordinary(course.root, "correct"),
        "zoë": corpus.ordinary(course.root, "naive_sigmoid"),
        "grad_of_output": corpus.ordinary(course.root, "grad_of_output"),
        "-dash": corpus.ordinary(course.root, "correct"),  # its feedback was refused by nbgrader
        # control characters nbgrader's matching takes (all of them were refused)
        "tab\tx": corpus.ordinary(course.root, "naive_sigmoid"),
        "esc\x1bcx": corpus.ordinary(course.root, "correct"),
        # no pattern to the glob: each matches itself (both were refused)
        "a]b": corpus.ordinary(course.root, "correct"),
        "a[b": corpus.ordinary(course.root, "naive_sigmoid"),
        "é" * 127: corpus.ordinary(course.root, "correct"),  # 254 bytes: its log stopped the run
    }
    markdown = corpus.ordinary(course.root, "correct")
    for cell in markdown.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_tanh":
            cell.cell_type = "markdown"
            del cell["outputs"], cell["execution_count"]
    graded["markdown"] = markdown
    for student, nb in graded.items():
        course.submit(student, A, nb)
    course.submit("a[1]", A, corpus.ordinary(course.root, "correct"))
    plain = Course.copy_of(course.root, tmp_path / "plain")
    plain.autograde(A)
    expected = plain.scores(A)
    # plain nbgrader cannot grade that id either: no scores for it
    assert not any(expected.get("a[1]", {}).values())
    course.submit("renamed", A, corpus.ordinary(course.root, "correct"), f"{A} (1)")
    # What nbgrader cannot match ("new\nline") or name once graded ("trail ", which it strips):
    # the first failed in nbgrader, the second's feedback on every run (an instructor's walk).
    for student in ("new\nline", "trail "):
        course.submit(student, A, corpus.ordinary(course.root, "correct"))
    raw = json.dumps(corpus.ordinary(course.root, "correct")).encode()
    bad = raw.replace(b"sigmoid", b"sigmo\xefd", 1)  # a lone 0xEF byte is not UTF-8
    at = bad.index(b"\xef")
    folder = course.root / "submitted" / "latin1" / A
    folder.mkdir(parents=True)
    (folder / f"{A}.ipynb").write_bytes(bad)
    (course.root / "submitted" / "linked").symlink_to(course.root / "submitted" / "bob smith")
    # Files that made the coordinator itself raise or hang, stopping the whole class: a cell's
    # metadata that is a list, JSON nested too deeply to parse, a FIFO for the notebook (and
    # timestamp.txt a link to /dev/zero), a chain of 1100 folders (RecursionError in its hash;
    # graded now, as the copy for the job takes it: down to safe_copy.MAX_DEPTH).
    mangled = json.loads(json.dumps(corpus.ordinary(course.root, "correct")))
    mangled["cells"][0]["metadata"] = [1]
    course.submit("list metadata", A, json.dumps(mangled))
    course.submit("too deep", A, "[" * 100000)
    course.submit("no cells", A, json.dumps({**mangled, "cells": []}))
    fifo = course.root / "submitted" / "fifo" / A
    fifo.mkdir(parents=True)
    os.mkfifo(fifo / f"{A}.ipynb")
    (fifo / "timestamp.txt").symlink_to("/dev/zero")
    chain = str(course.submit("nested", A, corpus.ordinary(course.root, "correct")).parent)
    for n in range(1, 1101):  # one by one: pathlib's mkdir(parents=True) recurses
        os.mkdir(chain + "/a" * n)
    try:
        summary = grade_assignment(course.root, A, limits=LIMITS, progress=False)
    finally:
        for n in range(1100, 0, -1):  # shutil.rmtree (the tmp_path cleanup) recurses too
            os.rmdir(chain + "/a" * n)
    scores = course.scores(A)
    for student in graded:
        assert row(summary, student)["status"] == "graded", row(summary, student)
        assert scores[student] == expected[student], student
        assert "feedback generation failed" not in row(summary, student)["notes"]
        assert course.feedback_html(student, A)
    assert "cell test_tanh turned into markdown" in row(summary, "markdown")["notes"]
    assert row(summary, "renamed")["reason"] == (
        f"no notebook named {A}.ipynb; found '{A} (1).ipynb': rename the one meant to {A}.ipynb "
        "in the submitted folder and run again"
    )
    assert row(summary, "latin1")["reason"] == (f"{A}.ipynb is not valid UTF-8 at byte {at}")
    assert row(summary, "linked")["status"] == "refused"
    assert row(summary, "a[1]")["reason"] == NOT_GLOB_SAFE
    assert row(summary, "new\nline")["reason"] == course_prep.LINE_BREAK_STUDENT
    assert row(summary, "trail ")["reason"] == course_prep.SPACED_STUDENT
    assert row(summary, "linked")["reason"] == "student folder is a symbolic link"
    assert row(summary, "list metadata")["reason"] == (
        f"{A}.ipynb is not a notebook: cell 1 has metadata that is not a JSON object"
    )
    assert (
        row(summary, "too deep")["reason"]
        == f"{A}.ipynb is not a notebook: not JSON (nested too deeply)"
    )
    # Not read, so not compared: no note on the cells nbgrader never restored.
    for student in ("latin1", "too deep"):
        assert "cell" not in row(summary, student)["notes"], row(summary, student)
    # its grade cells put back (the course's OverwriteCellsQuietly; nbgrader 0.9.6 alone failed
    # it with KeyError: 'sigmoid'), and graded: nothing answered, nothing earned
    assert row(summary, "no cells")["status"] == "graded", row(summary, "no cells")
    assert course.total(A, "no cells") == 0
    assert row(summary, "no cells")["notes"].startswith("missing every locked and grade cell (")
    assert row(summary, "no cells")["notes"].endswith("(restored by nbgrader)")
    assert row(summary, "fifo")["reason"] == (
        f"{A}.ipynb is a FIFO, not a regular file: not read, not graded"
    )
    assert (
        "timestamp.txt is a symbolic link, not a regular file: ignored"
        in row(summary, "fifo")["notes"]
    )
    # the folders below the copy's depth are left out of the job, as from its hash: graded
    assert row(summary, "nested")["status"] == "graded", row(summary, "nested")
    assert course.total(A, "nested") == FULL_MARKS
    with open(course.root / "grades.csv", newline="", encoding="utf-8") as f:
        status = {r["student_id"]: r["status"] for r in csv.DictReader(f)}
    assert status == {
        **dict.fromkeys(graded, "graded"),
        "a[1]": f"refused: {NOT_GLOB_SAFE}",
        "new\nline": f"refused: {course_prep.LINE_BREAK_STUDENT}",
        "trail ": f"refused: {course_prep.SPACED_STUDENT}",
        "renamed": "needs grading",
        "latin1": "needs grading",
        "linked": "refused: student folder is a symbolic link",
        "no cells": "graded",
        **dict.fromkeys(["list metadata", "too deep", "fifo"], "needs grading"),
        "nested": "graded",
    }


# A cell that shows the student a file it submitted beside its notebook.
SHOW_ANSWERS = {
    "sigmoid": (
        "try:\n"
        "    print('READ', open('answers.txt').read())\n"
        "except OSError as err:\n"
        "    print('no answers', type(err).__name__)\n"
    )
}


def owned_by(folder: Path, uid: int) -> None:
    """``folder`` and the files in it made the student's of ``uid``, as it made them."""
    for path in (folder, *folder.iterdir()):
        os.chown(path, uid, uid)


@needs_sandbox
def test_hard_links_in_a_submitted_folder_are_not_graded(ps01_course, ps01_alone, tmp_path):
    """A student who writes its own submitted folder (an exchange folder, a shared machine) and
    puts there a second name for a file of someone else's: another student's notebook as its
    own, or a file of the instructor's beside its notebook, which its code prints. (A student
    can link a file it cannot read wherever fs.protected_hardlinks is 0; the test, as root, can
    link any.) Copied as files, the first was graded as the student's, the second came back in
    its autograded notebook. Neither is copied now, the row says why, and the student whose
    notebook was linked is graded as if it had not been."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    canary = make_canary(tmp_path / "canary")  # the instructor's (root's), 0600
    for name in ("correct", "naive_sigmoid"):
        course.submit(name, A, corpus.ordinary(course.root, name))
    copier = course.root / "submitted" / "copier" / A
    copier.mkdir(parents=True)
    os.link(course.root / "submitted" / "correct" / A / f"{A}.ipynb", copier / f"{A}.ipynb")
    reader = course.submit("reader", A, corpus.student_notebook(course.root, append=SHOW_ANSWERS))
    os.link(canary, reader.parent / "answers.txt")
    # uids of no one, one per student; the links keep their files' owners
    for uid, name in enumerate(("correct", "copier", "reader"), 61001):
        owned_by(course.root / "submitted" / name / A, uid)
    os.chown(canary, 0, 0)
    os.chown(copier / f"{A}.ipynb", 61001, 61001)
    runs = run_folders()
    before = host_state(canary)
    submitted = snapshot(course.root / "submitted")
    summary = grade_assignment(course.root, A, jobs=2, limits=LIMITS, progress=False)
    after = host_state(canary)
    not_kept = f"submitted folder: 1 {HARD_LINKS} not kept"
    r = row(summary, "copier")
    assert r["status"] == "failed", r
    assert r["reason"] == (
        f"{A}.ipynb is a hard link to a file of another owner than the folder's, not the "
        "student's own: not read, not graded"
    )
    assert f"{not_kept} (first: {A}.ipynb)" in r["notes"], r
    assert course.total(A, "copier") is None
    r = row(summary, "reader")
    assert r["status"] == "graded" and r["score"] == FULL_MARKS, r
    assert f"{not_kept} (first: answers.txt)" in r["notes"], r
    text = corpus.outputs_text(course.autograded_notebook("reader", A))
    assert "no answers FileNotFoundError" in text and "CANARY" not in text
    assert not (course.root / "autograded" / "reader" / A / "answers.txt").exists()
    assert "hard link" not in row(summary, "correct")["notes"]
    assert snapshot(course.root / "submitted") == submitted
    assert_nothing_left(before, after, runs)
    assert_ordinary_grades(course, ps01_alone, names=("correct", "naive_sigmoid"))


def test_submissions_are_copied_for_their_jobs_only_as_workers_free_up(
    ps01_course, ps01_alone, tmp_path, monkeypatch
):
    """The run copies a submission into its run folder (the machine's /tmp) only as a worker is
    about to be free for it, and removes the copy once merged: when each job is queued, the run
    folder holds at most one submission per worker, however large the class. All were copied
    at the start before: a class's copies, up to --disk-mb each (a sparse file of 500 MiB costs
    a submitted folder nothing, its copy 500 MiB), filled /tmp before the first job ended, and
    the run stopped with no one graded."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    corpus.submit_ordinary(course)
    copies = []  # submission copies in the run folder each time a job was queued
    queue = Pool.submit

    def counting(self, key, kind, payload):
        if kind == "grade":
            copies.append(len(list(Path(payload.work).parent.glob("job*/submission"))))
        queue(self, key, kind, payload)

    monkeypatch.setattr(Pool, "submit", counting)
    summary = grade_assignment(course.root, A, jobs=2, limits=LIMITS, progress=False)
    assert summary["graded"] == len(corpus.ORDINARY)
    assert len(copies) == len(corpus.ORDINARY) and max(copies) == 2, copies
    assert_ordinary_grades(course, ps01_alone)


@needs_sandbox
def test_a_student_folder_swapped_for_a_link_after_the_plan_is_not_followed(
    ps01_course, ps01_alone, tmp_path, monkeypatch
):
    """A student who writes in submitted/ swaps its own folder for a link to another student's
    once the run has looked at it (here, right after its hash): the run's copy for the job came
    later (as a worker frees up) and followed the link, since only the last name of a path was
    opened without following one; the student was graded on the other's notebook. The copy now
    opens each folder below the course in its parent, refusing a link at every step."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    for name in ("correct", "naive_sigmoid"):
        course.submit(name, A, corpus.ordinary(course.root, name))
    course.submit("swapper", A, corpus.unanswered_notebook(course.root))
    hashed = course_prep.tree_hash

    def swapped_once_hashed(folder, limit=None):
        digest = hashed(folder, limit)
        if folder.parent.name == "swapper":
            folder.parent.rename(folder.parent.with_name(".swapper"))
            folder.parent.symlink_to(course.root / "submitted" / "correct")
        return digest

    monkeypatch.setattr(course_prep, "tree_hash", swapped_once_hashed)
    summary = grade_assignment(course.root, A, jobs=1, limits=LIMITS, progress=False)
    r = row(summary, "swapper")
    assert r["status"] == "failed", r
    # the job had nothing to grade (its submitted folder's link refused)
    assert r["reason"] == (
        "nbgrader failed: [AutogradeApp | ERROR] No notebooks were matched by "
        f"'/tmp/course/submitted/*/{A}'"
    )
    assert r["notes"] == f"submitted folder: 1 link(s) or special file(s) not kept (first: {A}/)"
    assert course.total(A, "swapper") is None
    assert_ordinary_grades(course, ps01_alone, names=("correct", "naive_sigmoid"))


# keyctl(2) and add_key(2) on x86_64 (the full sandbox's only machine), through ctypes: in the
# hostile notebook, and in the instructor's session that starts lstm-autograde.
KEYCTL = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
USER, USER_KEYRING, SESSION = b"user", -4, -3
def keyctl(*args):
    args = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    return libc.syscall(250, *args)
def add_key(name, payload, keyring):
    size, keyring = ctypes.c_size_t(len(payload)), ctypes.c_long(keyring)
    return libc.syscall(248, USER, name, payload, size, keyring)
def read_key(name, keyring):
    key = keyctl(10, keyring, USER, name, 0)
    if key < 0:
        return 'no key (' + os.strerror(ctypes.get_errno()) + ')'
    buf = ctypes.create_string_buffer(256)
    n = keyctl(11, key, buf, 256)
    return buf.raw[:n].decode()
"""
# The student's code: reads the session keyring it inherits, and keeps a key in its own.
READ_KEYS = {
    "sigmoid": KEYCTL
    + (
        "print('SESSION', read_key(b'lstm-attack-canary', SESSION))\n"
        "add_key(b'lstm-attack-planted', b'x', SESSION)\n"
        "add_key(b'lstm-attack-left', b'kept', USER_KEYRING)\n"
        "print('UID', os.getuid())\n"
    )
}
# The instructor's session: a key in its session keyring, lstm-autograde run from it (argv
# after -c), then whether the student's key was planted in it.
INSTRUCTOR = (
    KEYCTL
    + """
import subprocess, sys
keyctl(1, 0)  # a session keyring of its own, not the test session's
add_key(b"lstm-attack-canary", b"CANARY KEY: the instructor's ticket", SESSION)
done = subprocess.run([sys.executable, "-m", "lstm_grading.cli", *sys.argv[1:]])
print("PLANTED", read_key(b"lstm-attack-planted", SESSION))
sys.exit(done.returncode)
"""
)


def user_key(uid: int, name: bytes) -> str:
    """The payload of the key ``name`` in the user keyring of ``uid``, read as that uid (in a
    forked child), or "no key (why)"."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            keys: dict = {}
            exec(KEYCTL, keys)
            os.write(write_end, keys["read_key"](name, keys["USER_KEYRING"]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        got = f.read().decode()
    os.waitpid(pid, 0)
    return got


@needs_sandbox
def test_the_kernel_sees_no_key_of_the_instructors_and_leaves_none(
    ps01_course, ps01_alone, tmp_path
):
    """Keyrings are no namespace's: a kernel dropped to the slot's uid inherited the session
    keyring of the instructor's lstm-autograde and possessed it, so it read the keys there
    (Kerberos tickets, ecryptfs and NFS keys of the login session) and added its own; keys it
    kept in its uid's user keyring outlived the job, and the next job of the same worker slot,
    another student's with the same uid, found them. Now the job has a session keyring of its
    own, and the uid's keyrings are cleared before and after it."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    for name in ("correct", "naive_sigmoid"):
        course.submit(name, A, corpus.ordinary(course.root, name))
    course.submit("keys", A, corpus.student_notebook(course.root, append=READ_KEYS))
    runs = run_folders()
    argv = [sys.executable, "-c", INSTRUCTOR, A, "--course", str(course.root)]
    argv += ["--cell-timeout", "30", "--notebook-timeout", "300", "--no-feedback"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    text = corpus.outputs_text(course.autograded_notebook("keys", A))
    assert "SESSION no key (Required key not available)" in text, text
    assert "CANARY" not in text
    assert "PLANTED no key (Required key not available)" in done.stdout, done.stdout
    assert course.total(A, "keys") == FULL_MARKS
    # the key the student kept, looked for as its uid once the run is over
    uid = int(text.split("UID ", 1)[1].split()[0])
    assert user_key(uid, b"lstm-attack-left") == "no key (Required key not available)"
    assert_no_run_folder_left(runs)
    assert sandbox_processes() == [], "a process of the sandbox survived"
    assert_ordinary_grades(course, ps01_alone, names=("correct", "naive_sigmoid"))


# The first student's code keeps a key in its uid's user keyring, then outlasts every signal but
# SIGKILL: the job is killed at its time limit, before the clean-up after it. The second reads.
# It waits asleep: a busy loop would prove nothing more here (the hostile corpus's
# unkillable_loop is the busy one) and cost the machine the job's whole time limit in CPU.
KEEP_THEN_HANG = {
    "sigmoid": KEYCTL
    + (
        "import signal, time\n"
        "add_key(b'lstm-attack-timed-out', b'KEPT BY A KILLED JOB', USER_KEYRING)\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "while True:\n"
        "    time.sleep(1)\n"
    )
}
READ_LEFT_KEY = {
    "sigmoid": KEYCTL
    + (
        "print('LEFT', read_key(b'lstm-attack-timed-out', USER_KEYRING))\n"
        "print('UID', os.getuid(), 'GROUPS', os.getgroups())\n"
    )
}


@needs_sandbox
def test_a_key_kept_by_a_job_killed_at_its_time_limit_is_gone_for_the_next_job(
    ps01_course, tmp_path
):
    """A job killed at its notebook time limit never reaches the clean-up after it, so a key
    its student's code kept in the slot's uid's user keyring is still there: the uid's
    keyrings are cleared before each job too, and the next student of the same slot (one
    worker: every job is its) finds nothing. Run with a supplementary group, the kernels have
    none: the launcher drops the instructor's groups with its uid."""
    course = Course.copy_of(ps01_course, tmp_path / "course")
    course.submit("a_keeps", A, corpus.student_notebook(course.root, append=KEEP_THEN_HANG))
    course.submit("b_reads", A, corpus.student_notebook(course.root, append=READ_LEFT_KEY))
    runs = run_folders()
    argv = [sys.executable, "-m", "lstm_grading.cli", A, "--course", str(course.root)]
    # The job's time limit comes before nbgrader gives up on the kernel (which would leave
    # the job time to clean up after itself).
    argv += ["--jobs", "1", "--cell-timeout", "30", "--notebook-timeout", "20", "--no-feedback"]
    # Run with a supplementary group, as an instructor's login has some (this container's root
    # has none): the kernel, dropped to the slot's uid, has no group of the instructor's.
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=WAIT, check=False, extra_groups=[100]
    )
    assert done.returncode == 1, done.stdout + done.stderr  # 1: a submission failed
    summary = json.loads((course.root / "reports" / A / "summary.json").read_text())
    status = {r["student"]: (r["status"], r["reason"], r["cell"]) for r in summary["students"]}
    # The cell running when the job was killed: read from the job's /tmp after its PID 1 died.
    killed = ("failed", "timeout: the notebook ran past 20 s", "def sigmoid(x):")
    assert status["a_keeps"] == killed, status
    text = corpus.outputs_text(course.autograded_notebook("b_reads", A))
    assert "LEFT no key (Required key not available)" in text, text
    assert "KEPT BY A KILLED JOB" not in text
    assert "GROUPS []" in text, text
    uid = int(text.split("UID ", 1)[1].split()[0])
    assert user_key(uid, b"lstm-attack-timed-out") == "no key (Required key not available)"
    assert_no_run_folder_left(runs)
    assert sandbox_processes() == [], "a process of the sandbox survived"


# Three processes of the job each take 1000 MiB, within the kernel's RLIMIT_AS (1536 MiB): together
# past the job's memory cgroup (1536 + 1024 + 64 MiB). Each says when it holds its memory, then
# waits for the cell to let it go: without the cgroup all three hold at once, and exit 0.
HOLD = (
    "import sys\n"
    "b = bytearray(1000 << 20)\n"
    "for i in range(0, len(b), 4096):\n"
    "    b[i] = 1\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)
MEMORY_CELL = (
    "import subprocess, sys\n"
    f"procs = [subprocess.Popen([sys.executable, '-c', {HOLD!r}], stdin=subprocess.PIPE,\n"
    "                          stdout=subprocess.PIPE, text=True) for _ in range(3)]\n"
    "held = [p.stdout.readline().strip() for p in procs]\n"
    "for p in procs:\n"
    "    p.stdin.close()\n"
    "print('MEMORY killed', any(p.wait() == -9 for p in procs))\n"
)


def template_files(course: Path, folder: Path) -> dict[str, bytes]:
    """ps01's grading template made in ``folder``, as ``grade_files`` takes it: bytes by path."""
    course_prep.make_template(course, A, folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@needs_sandbox
@pytest.mark.skipif(cgroup.memory_cgroup_parent() is None, reason="no memory cgroup here")
def test_the_jobs_processes_together_are_held_to_its_memory_cgroup(ps01_course, tmp_path):
    """The job's memory cgroup bounds all its processes together, which RLIMIT_AS (one
    process's) does not: one of three processes, each within RLIMIT_AS, is killed once they
    hold more than the cgroup allows, and the result counts the kill (``oom_kills``)."""
    from lstm_grading.sandbox import grade_files

    template = template_files(ps01_course, tmp_path / "template")
    nb = corpus.ordinary(ps01_course, "correct")
    nb.cells.append(nbformat.v4.new_code_cell(MEMORY_CELL))
    limits = Limits(cell_timeout=120, notebook_timeout=600, memory_mb=1536, disk_mb=64)
    result = grade_files(
        template,
        {f"{A}.ipynb": json.dumps(nb).encode()},
        "memory",
        A,
        limits,
        MODE,
        (f"{A}.ipynb",),
        cgroup=cgroup.memory_cgroup_parent(),
    )
    assert result["exit_code"] == 0, result.get("error")
    text = corpus.outputs_text(nbformat.reads(result["files"][f"autograded/{A}.ipynb"], 4))
    assert "MEMORY killed True" in text, text
    assert result["oom_kills"] >= 1
    assert leftover_cgroups() == [], "the job's memory cgroup was left behind"


# -- one submission as bytes ---------------------------------------------------------------------
def test_grade_files_grades_one_submission_from_bytes(ps01_course, ps01_alone, tmp_path):
    """The unit of work a caller could ship elsewhere: template + submission bytes in, files out."""
    from nbgrader.api import Gradebook

    from lstm_grading.sandbox import grade_files

    template = template_files(ps01_course, tmp_path / "template")
    nb = corpus.ordinary(ps01_course, "naive_sigmoid")
    # A cell of the student's own, as students add them, reporting the kernel's environment.
    report = "import json, os; print('ENV', json.dumps([os.getuid(), dict(os.environ)]))"
    nb.cells.append(nbformat.v4.new_code_cell(report))
    notebook = json.dumps(nb).encode()
    result = grade_files(
        template, {f"{A}.ipynb": notebook}, "naive_sigmoid", A, LIMITS, MODE, (f"{A}.ipynb",)
    )
    assert result["exit_code"] == 0, result.get("error")
    assert f"autograded/{A}.ipynb" in result["files"]
    text = corpus.outputs_text(nbformat.reads(result["files"][f"autograded/{A}.ipynb"], 4))
    uid, env = json.loads(text.split("ENV ", 1)[1].splitlines()[0])
    # The kernel has the student's folders (private_course.kernel_environment), and as that
    # student's uid in full mode; nbgrader's own home and temporary folder it never sees named.
    home = env["HOME"]
    assert env["TMPDIR"] == f"{home}/tmp" and env["IPYTHONDIR"] == f"{home}/.ipython"
    assert env["MPLCONFIGDIR"] == f"{home}/.matplotlib" and env["USER"] == "student"
    if FULL:
        assert home == "/tmp/home" and uid != 0
    assert not any("/.home" in value for value in env.values()), env
    (tmp_path / "gb.db").write_bytes(result["files"]["gradebook.db"])
    with Gradebook(f"sqlite:///{tmp_path / 'gb.db'}") as gb:
        sub = gb.find_submission(A, "naive_sigmoid")
        scores = {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades}
    assert scores == ps01_alone["naive_sigmoid"]
