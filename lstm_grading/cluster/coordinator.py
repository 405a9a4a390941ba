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
   :func:`lstm_grading.parallel._merge_result` (gradebook, autograded folder, manifest);
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
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from .. import course_lock, course_prep, disk, inputs, parallel, safe_copy
from ..pool import Pool
from ..progress import Progress
from ..report import Outcome
from ..safe_copy import copy_path_tree
from ..sandbox import REDUCED_GAPS, Limits
from . import connect as connecting
from .connect import ClusterError, Target

WORKER_TIMEOUT = 600  # seconds to wait for a first worker to join the scheduler


def read_files(folder: Path, budget: int) -> dict[str, bytes]:
    """The regular files under ``folder`` (relative path -> bytes), read without following
    links and within ``budget`` bytes, as the local mode snapshots a submission."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lstm-autograde-read-") as tmp:
        copy_path_tree(str(folder), os.path.join(tmp, "copy"), budget)
        root = Path(tmp, "copy")
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()
        }


def write_files(files: dict[str, bytes], dest: Path) -> None:
    """Write a result's files under ``dest``; a name that leaves ``dest`` is a ValueError."""
    dest.mkdir(parents=True)
    (dest / "autograded").mkdir()  # as the local job's copy-out always makes it
    for rel, data in files.items():
        path = Path(rel)
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise ValueError(f"result files must be relative paths, got {rel!r}")
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_bytes(data)


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


def gaps_of(result: dict, requested: str | None) -> str:
    mode = result.get("sandbox_mode") or ("reduced" if requested == "reduced" else "")
    return REDUCED_GAPS if mode == "reduced" else ""


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

        run, manifest, submissions, outcomes, todo = parallel._plan(
            course, assignment, limits, force, REDUCED_GAPS if sandbox_mode == "reduced" else ""
        )
        run_key = manifest["key"]
        stale = course_lock.remove_stale_run_folders()
        base, owner = course_lock.make_run_folder()
        start = time.monotonic()
        bar = Progress(len(todo), stream) if progress and todo else None
        results: list[dict] = []
        graded_on: Counter = Counter()
        regraded: list[str] = []
        address = ""
        try:
            if todo:  # else no cluster is started or joined
                with connecting.connect(target, scratch=base / "dask") as client:
                    address = client.scheduler.address
                    if not client.nthreads():
                        if bar:
                            bar.say(f"waiting for a worker to join the scheduler at {address}")
                        try:
                            client.wait_for_workers(1, timeout=worker_timeout)
                        except TimeoutError:
                            raise ClusterError(
                                f"no worker joined the scheduler at {address} within "
                                f"{worker_timeout:g} s"
                            ) from None
                    course_prep.make_template(course, assignment, base / "template")
                    template = client.submit(
                        _identity, read_files(base / "template", 1 << 40), pure=True
                    )
                    queue = sorted(todo)
                    queue.reverse()  # pop() takes them in order
                    disk_bytes = limits.disk_mb << 20
                    from .worker import grade_task

                    def submit_next(done: as_completed) -> None:
                        threads = sum(client.nthreads().values())
                        while queue and done.count() < max(1, threads):
                            student = queue.pop()
                            future = client.submit(
                                grade_task,
                                template,
                                read_files(submissions[student], disk_bytes),
                                student,
                                assignment,
                                limits,
                                sandbox_mode,
                                run.notebooks,
                                key=task_key(run_key, student, todo[student], sandbox_mode),
                            )
                            owners[future.key] = student
                            done.add(future)

                    owners: dict[str, str] = {}
                    done = as_completed()
                    submit_next(done)
                    for future in done:
                        student = owners.pop(future.key)
                        result = _result_of(future, address)
                        future.release()
                        outcome = _merge(
                            run, manifest, student, todo, submissions, result, base, sandbox_mode
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
                    client.run(_stop_helpers, on_error="ignore")  # a worker gone: nothing to stop
            if bar:
                bar.close()
            if feedback and regraded:
                with Pool(jobs, parallel.TASKS) as pool:
                    parallel._feedback(pool, run, regraded, outcomes)
        finally:
            if bar:
                bar.close()
            safe_copy.remove_tree(base)
            os.close(owner)
        details = {
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
        return parallel._finish(run, outcomes, export, time.monotonic() - start, details)


def _stop_helpers() -> int:
    from .worker import stop_idle_helpers

    return stop_idle_helpers()


def _result_of(future, address: str) -> dict:
    """The task's result, or a failed result saying why there is none."""
    if future.status == "finished":
        return future.result()
    if future.status == "cancelled":
        raise ClusterError(
            f"the scheduler at {address} cancelled the work (it went away, or was restarted); "
            "results merged so far are kept: run again to grade the rest"
        )
    return {"exit_code": None, "error": None, "reason": failure(future.exception()), "files": {}}


def _merge(run, manifest, student, todo, submissions, result, base, requested) -> Outcome:
    """Write the result's files to the run folder and merge them as the local mode does."""
    out = base / "results" / student.encode("utf-8").hex() / "out"
    try:
        write_files(result.pop("files", {}), out)
        log = out / "nbgrader.log"
        header = (
            f"[lstm-autograde] graded on {result.get('worker', '?')}, sandbox "
            f"{result.get('sandbox_mode', '?')}\n"
        ).encode()
        log.write_bytes(header + (log.read_bytes() if log.exists() else b""))
        result["out"] = str(out)
    except (OSError, ValueError) as exc:
        result = {**result, "error": f"unusable result: {exc}", "out": None}
    this_run = replace(run, gaps=gaps_of(result, requested))
    try:
        return parallel._merge_result(
            this_run, manifest, student, todo[student], result, submissions[student]
        )
    finally:
        safe_copy.remove_tree(out.parent)
