"""The run on the instructor's machine: submissions out to Dask workers, results merged here.

:func:`grade_assignment` does what :func:`lstm_grading.parallel.grade_assignment` does, with
the jobs on a Dask cluster:

1. the course lock, the manifest and the list of work, exactly as the local mode
   (:func:`lstm_grading.parallel._plan`): unchanged submissions (same hash, graded) are not
   sent again;
2. the private course template (:func:`lstm_grading.course_prep.make_template`) goes to the
   cluster once, as the argument of a task that returns it: the workers fetch that result from
   each other, and the scheduler can compute it again if every worker holding it dies (data
   given to ``client.scatter`` could not be recovered);
3. one task per submission (:func:`lstm_grading.cluster.worker.grade_task`) with the
   submission's files as bytes (regular files, no link followed), at most one per worker
   thread in flight: the coordinator's and the scheduler's memory do not grow with the class,
   and a worker holds only the task it runs (the scheduler counts a worker's death against
   every task the worker held, so a queued task could be reported failed for a neighbour);
4. each result is merged as it completes (``as_completed``), one at a time, by this process
   only: its files are written to the run folder and merged by
   :func:`lstm_grading.parallel._merge_result` (the student's old feedback pages removed,
   gradebook, autograded folder, manifest);
5. feedback (``nbgrader generate_feedback``, which runs no student code) in a local pool on
   this machine, ``nbgrader export``, the summary files: as the local mode.

A task whose worker died is run again on another worker by the scheduler, then reported
failed with the reason. A coordinator killed and run again regrades nothing already merged:
the manifest is written after each merge, and merging is idempotent.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from .. import course_lock, course_prep, disk, inputs, parallel, safe_copy
from ..job import LOG_BYTES, cluster_reduced_gaps
from ..pool import Pool
from ..progress import Progress
from ..report import Outcome
from ..sandbox import Limits
from . import connect as connecting
from .connect import ClusterError, Target

WORKER_TIMEOUT = 600  # seconds to wait for a first worker to join the scheduler


def read_files(
    folder: Path, budget: int, *, submitted: bool = False, top: Path | None = None
) -> tuple[dict[str, bytes], list[str]]:
    """The regular files under ``folder`` (relative path -> bytes), read without following
    links and within ``budget`` bytes, as the local mode snapshots a submission
    (:func:`lstm_grading.safe_copy.read_tree`, by :func:`~lstm_grading.safe_copy.copy_tree`'s
    rules), and the notes on what was left out; nothing if ``folder`` is a link or cannot be
    opened (with a note). ``submitted``: ``folder`` is a submitted folder, whose hard links
    to files of another owner are not read (:attr:`lstm_grading.safe_copy.CopyReport.owner`).
    ``top``: a folder above ``folder`` from which no link is followed to it
    (:func:`lstm_grading.safe_copy.open_below`)."""
    try:
        if top is None:
            fd = safe_copy.open_dir(str(folder))
        else:
            fd = safe_copy.open_below(str(top), str(folder))
    except OSError as exc:
        report = safe_copy.CopyReport(budget)
        safe_copy.unopened(report, exc, folder.name)
        return {}, report.notes()
    try:
        return safe_copy.read_tree(fd, budget, submitted=submitted)
    finally:
        os.close(fd)


def write_files(files: dict[str, bytes], dest_fd: int) -> list[str]:
    """Write a result's files (relative path -> bytes) as new files under the folder
    ``dest_fd``; what could not be written, one note per file ([] if all were).

    The run folder is in the machine's /tmp, where in reduced mode a process a student's code
    left running can reach it (:func:`~lstm_grading.job.reduced_gaps`). So each folder is made
    and opened one level at a time without following a link, and each file is created new
    (:func:`lstm_grading.safe_copy.create_file`): a FIFO put there first, which an open for
    writing would wait on for good (with the course lock held), or a link, is a note, never a
    wait and never a write elsewhere. A path that is not relative, or has an empty, ``.`` or
    ``..`` part, is a ValueError, and nothing is written.
    """
    paths = {}
    for rel in files:
        parts = rel.split("/") if isinstance(rel, str) else [""]
        if any(part in ("", ".", "..") or "\0" in part for part in parts):
            raise ValueError(f"result files must be relative paths, got {rel!r}")
        paths[rel] = parts
    notes = []
    for problem in _make_folder("autograded", dest_fd):  # as the local job's copy-out does
        notes.append(f"autograded {problem}")
    for rel, parts in paths.items():
        problem = _write_one(parts, files[rel], dest_fd)
        if problem:
            notes.append(f"{safe_copy.shown(rel, 200)} {problem}")
    return notes


def _make_folder(name: str, dir_fd: int) -> list[str]:
    """Make the folder ``name`` under ``dir_fd`` unless there is one: [] or why it cannot be."""
    try:
        os.mkdir(name, 0o700, dir_fd=dir_fd)
    except FileExistsError:
        pass
    except OSError as exc:
        return [f"could not be made ({exc.strerror})"]
    return []


def _write_one(parts: list[str], data: bytes, dest_fd: int) -> str:
    """Write ``data`` to the new file ``parts`` (a path split at "/") under ``dest_fd``;
    "" or why not, to follow the path in a note."""
    fd = dest_fd
    try:
        for name in parts[:-1]:
            try:
                os.mkdir(name, 0o700, dir_fd=fd)
            except FileExistsError:
                pass
            try:
                sub = safe_copy.open_dir(name, fd)
            except OSError as exc:
                return f"not written: its folder {name} " + safe_copy.not_opened(
                    exc, name, fd, want="a folder"
                )
            if fd != dest_fd:
                os.close(fd)
            fd = sub
        try:
            out = safe_copy.create_file(parts[-1], fd)
        except FileExistsError:
            try:
                st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
                kind = safe_copy.kind_of(st.st_mode)
            except OSError:
                kind = "something"
            return f"was there before the coordinator wrote it ({kind}): another process put it"
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(out, view) :]
        finally:
            os.close(out)
        return ""
    except OSError as exc:
        return f"not written ({exc.strerror})"
    finally:
        if fd != dest_fd:
            os.close(fd)


# What sandbox.returned_files puts first in a log it cut (sandbox.cut_line).
CUT_MARK = b"[lstm-autograde] the job's nbgrader.log holds "


def log_with_header(header: bytes, log: bytes) -> bytes:
    """``header``, then nbgrader's log as the helper returned it, within
    :data:`~lstm_grading.job.LOG_BYTES` (what the merge reads of it): a log the helper cut
    keeps its first line, which says so, and loses as many of its oldest bytes after it as the
    header takes."""
    room = LOG_BYTES - len(header)
    if len(log) <= room:
        return header + log
    first = log[: log.find(b"\n") + 1] if log.startswith(CUT_MARK) else b""
    return header + first + log[len(log) - max(0, room - len(first)) :]


def failure(exc: BaseException) -> str:
    """The reason a task ended in an error, in the words of the local mode where they fit."""
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        last = getattr(exc.last_worker, "address", exc.last_worker)
        return (
            f"the worker process grading it was killed, {exc.allowed_failures + 1} times "
            f"(last on {last})"
        )
    return f"error on the worker: {type(exc).__name__}: {exc}"


def task_key(run_key: str, student: str, digest: str, mode: str | None) -> str:
    """The same submission graded the same way has the same key (so a rerun can reuse it)."""
    h = hashlib.sha256("\0".join((run_key, student, digest, str(mode))).encode()).hexdigest()
    return f"lstm-autograde-{h[:32]}"


def _identity(value):
    return value


def gaps_of(result: dict, requested: str | None, local: bool = False) -> str:
    """What the sandbox did not contain for ``result``: in reduced mode
    :func:`~lstm_grading.job.cluster_reduced_gaps`, else ""; ``local``: its worker is one of
    ``--cluster local:N``'s."""
    mode = result.get("sandbox_mode") or ("reduced" if requested == "reduced" else "")
    return cluster_reduced_gaps(local) if mode == "reduced" else ""


def sandbox_text(results: list[dict]) -> str:
    """The summary's sandbox line: one mode, or how many submissions had each."""
    modes = Counter(
        f"{r['sandbox_mode']} ({r['sandbox_why']})" if r.get("sandbox_why") else r["sandbox_mode"]
        for r in results
        if r.get("sandbox_mode")
    )
    if not modes:
        return "none (nothing graded)"
    if len(modes) == 1:
        return next(iter(modes))
    return "mixed: " + ", ".join(f"{n} {mode}" for mode, n in sorted(modes.items()))


def grade_assignment(
    course: Path,
    assignment: str,
    target: Target,
    *,
    jobs: int | None = None,
    limits: Limits | None = None,
    force: bool = False,
    sandbox_mode: str | None = None,
    feedback: bool = True,
    export: bool = True,
    progress: bool = True,
    wait: bool = False,
    worker_timeout: float = WORKER_TIMEOUT,
    stream=None,
) -> dict:
    """Autograde every submission of ``assignment`` on the cluster ``target``; the summary.

    The arguments are those of :func:`lstm_grading.parallel.grade_assignment` (``jobs``: the
    local processes that generate feedback), plus the cluster and how long to wait for a
    first worker. Raises what the local mode raises, and :class:`ClusterError`.
    """
    connecting.require_dask()
    if not isinstance(target, Target):
        raise ValueError(
            f"target: got {target!r}; expected a Target from lstm_grading.cluster.connect.target"
        )
    inputs.WORKER_TIMEOUT_RULE.check("worker_timeout", worker_timeout)
    # sandbox_mode: None (each worker's best) or "reduced"; "full" cannot be asked of a worker.
    course, assignment, jobs, limits = inputs.check_run(
        course, assignment, jobs, limits, sandbox_mode, modes=(None, "reduced")
    )
    stream = stream or sys.stderr
    say = (lambda msg: print(msg, file=stream, flush=True)) if progress else None
    with disk.stop_when_full(), course_lock.locked(course, assignment, wait=wait, say=say):
        from distributed import as_completed

        start = time.monotonic()  # the run's: its planning (every submission hashed) is part of it
        local = target.workers > 0  # workers this process starts, as its user
        gaps = cluster_reduced_gaps(local) if sandbox_mode == "reduced" else ""
        run = parallel._new_run(course, assignment, limits, gaps)
        submissions: dict[str, Path] = {}
        outcomes: dict[str, Outcome] = {}
        todo: dict[str, str] = {}
        stale: list[Path] = []
        results: list[dict] = []
        graded_on: Counter = Counter()
        regraded: list[str] = []
        address = ""

        def details() -> dict:
            """The summary's details, as far as the run knows them (a stopped run's too)."""
            return {
                "sandbox": sandbox_text(results),
                "memory_cgroup": any(r.get("memory_cgroup") for r in results),
                "jobs": jobs,
                "cluster": {
                    "target": target.source,
                    "scheduler": address,
                    "graded_on": dict(sorted(graded_on.items())),
                },
                "stale_run_folders_removed": [str(p) for p in stale],
            }

        # Planning too: a run stopped while it hashed a large class wrote no summary at all.
        with parallel.summary_when_stopped(run, outcomes, submissions, details, start) as stage:
            stage.feedback, stage.export, stage.force = feedback, export, force
            stage.changed = todo  # filled as the submissions are hashed
            # The grading code, read once: the run's key names the code its workers are held
            # to (read again after the wait for a worker, a git pull in between graded with one
            # version and recorded the results under the other's key).
            ours = course_prep.code_files(course_prep.grading_code())
            code = course_prep.files_hash(ours)
            manifest = parallel._fill_plan(run, force, submissions, outcomes, todo, ours)
            stage.manifest, stage.phase = manifest, "grading"
            run_key = manifest["key"]
            stale = course_lock.remove_stale_run_folders()
            base, owner = course_lock.make_run_folder()
            run = replace(run, base=base)
            bar = Progress(len(todo), stream) if progress and todo else None
            try:
                if todo:  # else no cluster is started or joined
                    # A --worker-timeout shorter than the connect timeout bounds the connection too.
                    connect_timeout = min(connecting.CONNECT_TIMEOUT, worker_timeout)
                    with connecting.connect(
                        target, timeout=connect_timeout, scratch=base / "dask"
                    ) as client:
                        address = client.scheduler.address
                        if not client.nthreads():
                            if bar:
                                bar.say(f"waiting for a worker to join the scheduler at {address}")
                            stage.doing = f"waiting for a worker to join the scheduler at {address}"
                            try:
                                client.wait_for_workers(1, timeout=worker_timeout)
                            except TimeoutError:
                                raise ClusterError(
                                    no_worker(address, worker_timeout, target.workers),
                                    again=NO_WORKER_AGAIN if target.workers else None,
                                ) from None
                            stage.doing = ""
                        course_prep.make_template(course, assignment, base / "template")
                        template = client.submit(
                            _identity, read_files(base / "template", 1 << 40)[0], pure=True
                        )
                        queue = sorted(todo)
                        queue.reverse()  # pop() takes them in order
                        disk_bytes = limits.disk_mb << 20
                        from .worker import grade_task

                        def submit_next(done: as_completed) -> None:
                            threads = sum(client.nthreads().values())
                            while queue and done.count() < max(1, threads):
                                student = queue.pop()
                                files, notes = read_files(
                                    submissions[student], disk_bytes, submitted=True, top=course
                                )
                                taken[student] = parallel.taken_notes(notes)
                                future = client.submit(
                                    grade_task,
                                    template,
                                    files,
                                    student,
                                    assignment,
                                    limits,
                                    sandbox_mode,
                                    run.notebooks,
                                    code,
                                    key=task_key(run_key, student, todo[student], sandbox_mode),
                                )
                                owners[future.key] = student
                                done.add(future)

                        owners: dict[str, str] = {}
                        taken: dict[str, list[str]] = {}  # what each submission's read left out
                        done = as_completed()
                        submit_next(done)
                        for future in done:
                            student = owners.pop(future.key)
                            result = _result_of(future, address)
                            if "code_files" in result:
                                raise ClusterError(other_code(result, ours, target.workers))
                            if future.status == "finished":  # still held: the scheduler knows it
                                result["retries"] = [
                                    *_worker_deaths(client, future.key),
                                    *result.get("retries", []),
                                ]
                            future.release()
                            result["taken_notes"] = taken.pop(student, [])
                            outcome = _merge(
                                run,
                                manifest,
                                student,
                                todo,
                                submissions,
                                result,
                                base,
                                sandbox_mode,
                                local=local,
                            )
                            results.append(result)
                            if result.get("worker"):
                                graded_on[result["worker"]] += 1
                            outcomes[student] = outcome
                            if outcome.status == "graded":
                                regraded.append(student)
                            if bar:
                                bar.update(outcome.status, student)
                            submit_next(done)
                        # a worker gone: nothing to stop
                        client.run(_stop_helpers, on_error="ignore")
                if bar:
                    bar.close()
                if feedback:  # the gradebook read once, after the last merge (feedback_due)
                    stage.phase = "feedback"
                    marks = parallel.gradebook_marks(course, assignment)
                    due = parallel.feedback_due(run, outcomes, regraded, manifest, marks)
                    if due:
                        with Pool(jobs, parallel.TASKS) as pool:
                            parallel._feedback(pool, run, due, outcomes, manifest, marks)
            finally:
                if bar:
                    bar.close()
                course_lock.remove_run_folder(base, owner)
            stage.phase = "export"  # a run stopped here has its summary too
            return parallel._finish(run, outcomes, export, time.monotonic() - start, details())


# The next run after :func:`no_worker` of a local cluster: another command (its stop line
# said "run the same command again" right after the advice to change it).
NO_WORKER_AGAIN = "run the command again with one of those changes"


def no_worker(address: str, waited: float, local_workers: int = 0) -> str:
    """What to say when no worker joined the scheduler at ``address`` in ``waited`` seconds:
    where to look. A worker given another address (a typo, a stale scheduler file) does not
    say so here, only in its own log, and then stops. ``local_workers``: the run started that
    many itself (``--cluster local:N``), so no worker was the instructor's to start, and no
    address theirs to give (the advice named ``dask worker ADDRESS`` for them too)."""
    if local_workers:
        return (
            f"none of the {local_workers} worker processes this run started (--cluster "
            f"local:{local_workers}) joined its scheduler within {waited:g} s "
            "(--worker-timeout): the machine may be short of memory or too busy for them; "
            "fewer workers (local:1), a longer --worker-timeout, or no --cluster (this "
            "machine's pool) may do"
        )
    return (
        f"no worker joined the scheduler at {address} within {waited:g} s (--worker-timeout); "
        f"expected workers started with this address (dask worker {address}, or the "
        "scheduler's --scheduler-file): a worker that cannot reach it logs 'Timed out trying "
        "to connect' and stops; start the workers first"
    )


def _stop_helpers() -> int:
    from .worker import stop_idle_helpers

    return stop_idle_helpers()


# Why a try ended when the scheduler ran the task again because its worker died.
WORKER_DIED = "the Dask worker grading it died"


def _worker_deaths(client, key: str) -> list[str]:
    """One reason per worker that died while running the task ``key`` (which the client
    still holds): the scheduler then ran it again elsewhere (its ``suspicious`` count)."""

    def suspicious(dask_scheduler=None) -> int:  # a closure: pickled by value, so a scheduler
        task = dask_scheduler.tasks.get(key)  # started without lstm_grading can run it too
        return task.suspicious if task is not None else 0

    try:
        count = client.run_on_scheduler(suspicious)
    except Exception:  # a note, never worth the result: the row is recorded without it
        return []
    return [WORKER_DIED] * count


def other_code(result: dict, ours: dict[str, str], local_workers: int = 0) -> str:
    """What to say of a worker that grades with other ``lstm_core`` and ``lstm_grading``.
    ``local_workers``: the run started its workers itself (``--cluster local:N``), from this
    machine's files: none is the instructor's to restart or install on."""
    theirs = result.get("code_files")
    theirs = {str(k): str(v) for k, v in theirs.items()} if isinstance(theirs, dict) else {}
    worker = safe_copy.shown(str(result.get("worker", "?")), 200)
    differences = safe_copy.shown(course_prep.code_differences(ours, theirs), 1000)
    if local_workers:
        return (
            f"the worker at {worker}, one of the processes this run started (--cluster "
            f"local:{local_workers}), would grade with other lstm_core and lstm_grading than "
            f"this run's ({differences}): their files changed as the run started (an edit, a "
            "git pull, a pip install): let that change finish first"
        )
    if result.get("code_loaded") is True:  # what the worker imported, its files changed since
        return (
            f"the worker at {worker} runs other lstm_core and lstm_grading than this run's "
            f"({differences}), as it loaded them before its files changed: restart the "
            "workers (their files are this run's: the worker compares them first)"
        )
    return (
        f"the worker at {worker} would grade with other lstm_core and lstm_grading than this "
        f"run's ({differences}): install the version this run uses on every worker, and "
        "restart the workers"
    )


def _result_of(future, address: str) -> dict:
    """The task's result, or a failed result saying why there is none."""
    if future.status == "finished":
        return future.result()
    if future.status == "cancelled":
        raise ClusterError(
            f"the scheduler at {address} cancelled the work (it went away, or was restarted)"
        )
    return {"exit_code": None, "error": None, "reason": failure(future.exception()), "files": {}}


def _merge(
    run, manifest, student, todo, submissions, result, base, requested, *, local=False
) -> Outcome:
    """Write the result's files to the run folder and merge them as the local mode does.

    The folder has a name no one can guess (``tempfile.mkdtemp``): in reduced mode a process
    the student's code left running can reach the run folder, and plant a FIFO or a link at a
    path it can predict. What it could still put there first is a reason, for this student only
    (:func:`write_files`); nbgrader's log, with the header saying where the job ran, is made
    here in memory, not read back from that folder.
    """
    out = None
    try:
        files = dict(result.pop("files", {}))
        header = (
            f"[lstm-autograde] graded on {safe_copy.shown(result.get('worker', '?'), 200)}, "
            f"sandbox {safe_copy.shown(result.get('sandbox_mode', '?'), 40)}\n"
        ).encode()
        files["nbgrader.log"] = log_with_header(header, files.get("nbgrader.log", b""))
        os.makedirs(base, 0o700, exist_ok=True)  # the run folder: made by the run, or here
        out = tempfile.mkdtemp(prefix="result-", dir=base)
        fd = safe_copy.open_dir(out)
        try:
            problems = write_files(files, fd)
        finally:
            os.close(fd)
        result["out"] = out
        if problems:
            notes = [*result.get("return_notes", []), *problems[1:]]
            result = {**result, "error": f"unusable result: {problems[0]}", "return_notes": notes}
    except (OSError, ValueError) as exc:
        result = {**result, "error": f"unusable result: {exc}", "out": None}
    this_run = replace(run, gaps=gaps_of(result, requested, local))
    try:
        return parallel._merge_result(
            this_run, manifest, student, todo[student], result, submissions[student]
        )
    finally:
        if out is not None:
            safe_copy.remove_tree(out)
