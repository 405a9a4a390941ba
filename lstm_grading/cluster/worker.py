"""What runs inside a Dask worker: the grading task, handed to a helper process.

:func:`grade_task` is the function the coordinator submits, one call per submission. It takes
a helper (:mod:`lstm_grading.cluster.helper`) of this worker, idle or new, sends it the
submission and returns the helper's answer with the worker's address. A helper that dies
during a job (the student's code killed it, in reduced mode; the out-of-memory killer) is
replaced and the submission graded once more; if that one dies too, the result says so, as the
local pool reports a worker killed twice. If the whole worker dies, Dask's scheduler runs the
task on another worker (``distributed.scheduler.allowed-failures`` times), then reports it.
If the run itself is gone (``lstm-autograde`` killed), the task, which Dask cannot stop, kills
its helper and returns.

Helpers are started from the task threads of the worker, which live as long as the worker
(a helper gets SIGKILL when the thread that started it ends: ``PR_SET_PDEATHSIG``).
:func:`stop_idle_helpers` ends them at the end of a run, cleanly, so that their folders go too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading

from .. import course_prep
from ..course_prep import code_files, files_hash, grading_code, imported_files
from .helper import JOB_PREFIX, read_message, write_message

# The files of lstm_core and lstm_grading as this worker process imported this module (with
# the package, at its first task), and which of them it had imported: the code it runs. A file
# it never imported (a hidden check, a template) is read, or imported by a new helper, from
# disk: grade_task takes those from disk, or it refused a worker that grades with the run's code.
LOADED_CODE = code_files(grading_code())
LOADED = imported_files(grading_code())


ATTEMPTS = 2  # a helper killed during a job: the job is tried this many times in all
# Seconds a task waits, at most, for the jobs of a helper that was killed to leave their memory
# cgroups (they die with the helper), which it then removes, with the helper's run folder.
JOBS_DYING = 10.0
OTHER_CODE = "not graded: this worker's lstm_core and lstm_grading differ from the run's"
_idle: list[Helper] = []
_lock = threading.Lock()


class HelperDied(Exception):
    """The helper process ended before it answered."""


class Helper:
    """One helper process and its two pipes."""

    def __init__(self):
        # The helper imports the lstm_core and lstm_grading this worker imported (and whose
        # hash grade_task compared with the run's): their folders first, not the folder the
        # worker happens to be in (-P), whatever it is now.
        from ..private_course import package_path

        # The code it imports, as on disk as it starts (an idle helper kept from a run whose
        # end did not stop it, a killed coordinator's, is not reused for a run of other code).
        self.code = files_hash(code_files(grading_code()))
        env = dict(os.environ)
        if path := package_path():
            env["PYTHONPATH"] = os.pathsep.join(p for p in (path, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "lstm_grading.cluster.helper", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def call(self, request) -> dict:
        try:
            write_message(self.proc.stdin.fileno(), request)
            answer = read_message(self.proc.stdout.fileno())
        except OSError:
            answer = None
        if answer is None:
            self.close()
            raise HelperDied(death(self.proc.returncode))
        return answer

    def close(self, timeout: float = 30) -> None:
        """Ask the helper to exit (end of input), kill it if it does not."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def remove_leftovers(self, wait: float = JOBS_DYING) -> None:
        """What this helper, killed, left on the machine: the memory cgroups of its jobs
        (``*-work-<its pid>``), once their processes have left them (they die with it, a
        moment later), and its run folder (``/tmp/lstm-autograde-*``, with the hidden tests),
        once no process holds its lock. ``wait``: seconds to wait, at most, for the jobs."""
        from .. import cgroup as cgroups
        from ..course_lock import remove_stale_run_folders

        mine = f"-work-{self.proc.pid}"
        if parent := cgroups.memory_cgroup_parent():
            cgroups.remove_unused(parent, JOB_PREFIX, only=lambda n: n.endswith(mine), wait=wait)
        remove_stale_run_folders()


def death(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        return f"the process grading it was killed ({signal.Signals(-returncode).name})"
    return f"the process grading it exited with status {returncode}"


def where() -> str:
    """This worker's address (or the host name outside a worker)."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        import socket

        return socket.gethostname()


class _QuietCancelledTask(logging.Filter):
    """Leaves out the warning a Dask worker logs for each of this module's tasks still running
    when it closes (*Async instruction for <Task cancelled name="execute('lstm-autograde-...')"
    ...> ended with CancelledError*): a run stopped by a signal closes its local cluster with
    tasks running, by design (each kills its helper), and the workers of ``--cluster local:N``
    share the instructor's terminal, where the run says in one line that it stopped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("Async instruction for")
            and "execute('lstm-autograde-" in message
            and message.endswith("ended with CancelledError")
        )


_QUIET = _QuietCancelledTask()


def quiet_cancelled_tasks() -> None:
    """Install :class:`_QuietCancelledTask` in this worker process (once: ``addFilter`` keeps one
    copy of a filter)."""
    logging.getLogger("distributed.worker.state_machine").addFilter(_QUIET)


def _take(code: str | None = None) -> Helper:
    """An idle helper of this worker, or a new one. ``code``: the run's code hash; an idle
    helper started with other code (files changed since, on disk and in the worker's imports
    alike) is ended, not reused: it grades with the modules it imported then."""
    while True:
        with _lock:
            if not _idle:
                break
            helper = _idle.pop()
        if code is None or helper.code == code:
            return helper
        helper.close()
    return Helper()


# Seconds between two looks at whether the task running is still wanted (:func:`_abandon`).
WANTED_POLL = 1.0
ABANDONED = "no longer wanted: the run that asked for it ended, or this worker is closing"


def _wanted():
    """A check that the task this thread runs is still wanted, or None outside a Dask worker.

    A task's client gone (its ``lstm-autograde`` killed) releases the task, which Dask cannot
    stop while it runs: the worker marks it cancelled. A worker that is closing (its scheduler
    gone, stopped by Ctrl-C, its cluster closed) returns no result either: it waits up to 30 s
    for its running tasks, then closes all the same, so the job went on grading for nobody
    and the worker closed 30 s late."""
    try:
        from distributed import get_worker
        from distributed.core import Status

        worker = get_worker()
        key = worker.get_current_task()
    except (ImportError, ValueError):
        return None
    ending = (Status.closing, Status.closed, Status.failed)

    def wanted() -> bool:
        task = worker.state.tasks.get(key)
        return task is not None and task.state != "cancelled" and worker.status not in ending

    return wanted


def _abandon(helper: Helper, wanted, done: threading.Event) -> None:
    """Kill ``helper`` (its job, kernels and all, die with it) once its task is no longer
    wanted, so that a killed run's submissions do not keep the worker from the next run."""
    while not done.wait(WANTED_POLL):
        if not wanted():
            helper.proc.kill()
            return


def grade_task(
    template, submission, student, assignment, limits, mode, notebooks, code: str | None = None
) -> dict:
    """Grade one submission on this worker; the result of ``grade_files`` with ``worker``.

    ``template`` and ``submission`` map relative paths to bytes; ``mode`` None (the full
    sandbox if this worker can, else reduced) or ``"reduced"``. A task no longer wanted (its
    run was killed) stops its job and returns at once. ``code``: the run's
    :func:`~lstm_grading.course_prep.code_hash`; a worker whose ``lstm_core`` and
    ``lstm_grading`` differ from the run's (another version installed, a stale copy) grades
    nothing and returns its files' hashes (``code_files``), for the run to say what differs:
    the hidden checks and the reference it would grade with are not the run's.
    """
    # The code on disk, which a new helper imports, then the code this process loaded: the
    # disk alone passed a worker whose files were changed after it loaded them.
    if code is not None and (other := course_prep.other_code(code, LOADED_CODE, LOADED)):
        files, loaded = other
        return {
            "exit_code": None,
            "error": None,
            "reason": OTHER_CODE,
            "files": {},
            "worker": where(),
            "retries": [],
            "code_files": files,
            "code_loaded": loaded,
        }
    quiet_cancelled_tasks()
    request = (template, submission, student, assignment, limits, mode, notebooks)
    deaths = []
    wanted = _wanted()
    for _ in range(ATTEMPTS):
        helper = _take(code)
        done = threading.Event()
        if wanted is not None:
            threading.Thread(target=_abandon, args=(helper, wanted, done), daemon=True).start()
        try:
            result = helper.call(request)
        except HelperDied as exc:
            helper.remove_leftovers()
            if wanted is not None and not wanted():  # the run is gone: nobody reads a result
                return {"exit_code": None, "error": None, "reason": ABANDONED, "files": {}}
            deaths.append(str(exc))
            continue
        finally:
            done.set()
        if wanted is None or helper.proc.poll() is None:  # not killed by _abandon after it answered
            with _lock:
                _idle.append(helper)
        break
    else:  # the reason says it: no note of the earlier tries
        result = {"exit_code": None, "error": None, "reason": f"{deaths[0]} twice", "files": {}}
        deaths = []
    result["worker"] = where()
    result["retries"] = deaths  # why each earlier try ended (parallel.retry_notes)
    return result


def stop_idle_helpers() -> int:
    """End the idle helpers of this worker process, and remove what the helpers on this
    machine that were killed with their worker process left: their run folders and their
    jobs' memory cgroups. Return how many helpers were ended (``client.run``)."""
    from .helper import remove_dead_helpers_leftovers

    with _lock:
        helpers = list(_idle)
        _idle.clear()
    for helper in helpers:
        helper.close()
    remove_dead_helpers_leftovers()
    return len(helpers)
