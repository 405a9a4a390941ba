"""Grade one submission: ``nbgrader autograde`` in a private course, inside a sandbox.

One *job* grades one submission. It runs in a process forked from a pool worker that has
imported nbgrader once (so a job costs no interpreter start-up). It never touches the real
course: it grades a private copy (``template/``: nbgrader_config.py, the assignment's source
folder, a gradebook holding only this assignment) plus a snapshot of the submission
(``work/submission/``), and leaves its results in ``work/out/``: the autograded folder, the
private gradebook, logs and, in full mode, ``result.json`` (a reduced-mode job, whose folder
the student's code can reach, keeps its result in memory). :func:`grade_files` is the same
step on bytes in memory, for a caller that ships work to other machines.

Full mode (Linux, root): new mount, PID, network (loopback only), IPC and UTS namespaces, and
a session keyring of its own, the slot's uid's keyrings cleared before and after (keyrings
have no namespace: :func:`~lstm_grading.linux.new_session_keyring`,
:func:`~lstm_grading.linux.clear_keyrings`); the file system of :mod:`lstm_grading.jail` (an
allowlist, host paths read-only); nbgrader
(trusted code) runs as root inside, the *kernel* (the student's code) as an unprivileged uid
of its own per worker slot (:mod:`lstm_grading.kernel_launcher`) in its own folder
(``/tmp/home/<assignment>``). nbgrader writes only to folders the student's uid cannot change;
the student's folder is read back after every process of the job is dead, by
:mod:`lstm_grading.safe_copy` (regular files only, no link followed, a byte budget). A memory
cgroup per job bounds all its processes together; the job's wall clock is enforced by killing
its PID namespace, which takes every process of the job with it; the job dies with its worker.

Reduced mode (not root, no namespaces: macOS, a container without privileges): the kernel
keeps the uid of the process that grades (``lstm-autograde``'s, or a Dask worker's) and sees
the whole machine; RLIMIT_AS/FSIZE/CORE, the per-cell and per-notebook timeouts and the output
guard still apply (:func:`lstm_grading.job.reduced_gaps`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import time
import traceback
from pathlib import Path

from . import cgroup as cgroups
from . import course_lock, jail, linux, safe_copy
from .job import (
    ERROR_BYTES,
    LAST_CELL_BYTES,
    RESULT_BYTES,
    RESULT_FILES,
    Job,
    Limits,
)
from .private_course import COURSE, HOME, copy_out, open_home, prepare, run_nbgrader, write_file

__all__ = ["Job", "Limits", "grade_files", "preload", "run_job"]

# What each field of result.json must be (the job writes these and no others), in words.
RESULT_FIELDS = {
    "exit_code": (lambda v: v is None or type(v) is int, "a whole number or null"),
    "error": (lambda v: v is None or isinstance(v, str), "text or null"),
    "returned_bytes": (lambda v: type(v) is int, "a whole number"),
    "return_notes": (
        lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v),
        "a list of text",
    ),
}


def _init(job: Job, work_fd: int, template_fd: int, waiter: int) -> None:
    """PID 1 of the sandbox (root): file system, private course, nbgrader in a child, copy-out."""
    result = {"exit_code": None, "error": None}
    out_fd = None
    try:
        linux.die_with_parent(None)
        out_fd = safe_copy.open_dir("out", work_fd)
        submission_fd = safe_copy.open_dir("submission", work_fd)
        linux.sethostname("grading")
        linux.loopback_up()
        hide = jail.other_checks(os.path.join(job.template, "solutions", job.assignment))
        jail.enter(os.path.join(job.work, "root"), job.binds, job.limits.disk_mb, hide)
        jail.course_tmpfs(COURSE, job.limits.disk_mb)
        os.makedirs(HOME, mode=0o700)
        env = prepare(job, template_fd, submission_fd, COURSE, HOME)
        # PID 1 keeps only the output folder open while the student's code runs: the fewer
        # of the host's folders behind /proc/1/fd, the better, though root never follows a
        # link of the student's anyway (open_home).
        for fd in (submission_fd, template_fd, work_fd):
            os.close(fd)
        work_fd = None
        # Keys of the instructor's session, and those a job of the same slot's uid left: the
        # student's code sees neither (linux.new_session_keyring, linux.clear_keyrings).
        linux.new_session_keyring()
        linux.clear_keyrings(job.uid)
        log_fd = safe_copy.create_file("nbgrader.log", out_fd)
        runner = os.fork()
        if runner == 0:
            run_nbgrader(job, COURSE, env, log_fd)
        os.close(log_fd)
        while True:  # PID 1 reaps every orphan until nbgrader is done
            pid, status = os.waitpid(-1, 0)
            if pid == runner:
                result["exit_code"] = os.waitstatus_to_exitcode(status)
                break
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)  # every other process of the job, before the copy
        with contextlib.suppress(ChildProcessError):
            while True:
                os.waitpid(-1, 0)
        linux.clear_keyrings(job.uid)  # what the student's code kept there, gone with the job
        result.update(copy_out(job, COURSE, HOME, out_fd))
        if _full("/tmp"):
            result["return_notes"].insert(
                0, f"its disk was full (the job's /tmp, {job.limits.disk_mb} MiB)"
            )
    except BaseException:
        result["error"] = traceback.format_exc()
    with contextlib.suppress(BaseException):
        target = out_fd if out_fd is not None else work_fd
        write_file(target, "result.json", json.dumps(result).encode())
    os._exit(0)


def _full(path: str) -> bool:
    """Less than 1 MiB left for an unprivileged user on the file system of ``path``."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize < (1 << 20)


def _wait(pid: int, deadline: float, kill) -> tuple[int | None, bool]:
    """Wait for ``pid`` until ``deadline``; ``kill()`` past it. (exit code, timed out)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False
        if time.monotonic() > deadline:
            kill()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            return None, True
        time.sleep(0.05)


def _kill_tree(pid: int) -> None:
    """Reduced mode: kill ``pid`` and every descendant (kernels run in their own sessions)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(pid)
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        proc.kill()


def _last_cell_after_timeout(out_fd: int) -> None:
    """The waiter, once PID 1 is killed: which cell was running, for the report.

    ``pivot_root`` moved the waiter into the job's root too (same mount namespace), whose
    ``/tmp`` outlives the job's processes while the waiter is alive. Read without following
    links: the home folder is the student's.
    """
    with contextlib.suppress(OSError):
        home = open_home(HOME)
        try:
            data = safe_copy.read_file(".lstm-grading-cell", home, LAST_CELL_BYTES)
        finally:
            os.close(home)
        if data is not None:
            write_file(out_fd, "last-cell.txt", data)


def _run_full(job: Job, deadline: float) -> tuple[bool, int]:
    cgroup = None
    if job.cgroup:
        limit = (job.limits.memory_mb + 1024 + job.limits.disk_mb) << 20
        with contextlib.suppress(OSError):
            work = Path(job.work)  # named after the run folder, so a run can find its own
            name = f"{work.parent.name}-{work.name}-{job.slot}"
            cgroup = cgroups.MemoryCgroup(job.cgroup, name, limit)
    worker = os.getpid()
    pid = os.fork()
    if pid == 0:  # the waiter: joins the cgroup, makes the namespaces, forks PID 1
        code = 3
        out_fd = None
        try:
            linux.die_with_parent(worker)
            if cgroup:
                cgroup.join()
            work_fd = safe_copy.open_dir(job.work)
            template_fd = safe_copy.open_dir(job.template)
            out_fd = safe_copy.open_dir("out", work_fd)
            host_root = os.stat("/").st_dev
            linux.unshare(linux.NAMESPACES)
            me = os.getpid()
            init = os.fork()
            if init == 0:
                _init(job, work_fd, template_fd, me)
            # Killing PID 1 of a PID namespace kills every process in it.
            _, timed_out = _wait(init, deadline, lambda: os.kill(init, signal.SIGKILL))
            code = 124 if timed_out else 0
            if timed_out and os.stat("/").st_dev != host_root:
                _last_cell_after_timeout(out_fd)
        except BaseException:
            with contextlib.suppress(BaseException):
                # Through the folder opened before the namespaces: after pivot_root, the
                # host's path names a place in the job's /tmp, which the student's code owns.
                # Without it, the error came before any namespace: the host's path is the host's.
                if out_fd is None:
                    out_fd = safe_copy.open_dir(os.path.join(job.work, "out"))
                write_file(out_fd, "waiter-error.txt", traceback.format_exc().encode())
        finally:
            os._exit(code)  # the forked waiter never returns into the pool worker's code
    _, status = os.waitpid(pid, 0)
    timed_out = os.waitstatus_to_exitcode(status) == 124
    oom = 0
    if cgroup:
        oom = cgroup.oom_kills()
        cgroup.remove()
    return timed_out, oom


def _run_reduced(job: Job, deadline: float) -> tuple[dict, bool]:
    """Reduced mode: the job in a child of this worker. Its result (the fields of
    ``result.json`` in full mode), kept in memory: the results folder is the student's code's
    to write too (:func:`~lstm_grading.job.reduced_gaps`), so nothing the job needs passes
    through it. And whether the job ran past its time."""
    result = {"exit_code": None, "error": None}
    timed_out = False
    out_fd = None
    try:
        for sub in ("out", "course", "home"):
            os.makedirs(os.path.join(job.work, sub), mode=0o700)
        course, home = os.path.join(job.work, "course"), os.path.join(job.work, "home")
        out_fd = safe_copy.open_dir(os.path.join(job.work, "out"))
        env = _prepared(job, course, home)
        try:  # a new file: a FIFO another student's process put there would block an open
            log_fd = safe_copy.create_file("nbgrader.log", out_fd)
        except OSError as exc:
            result["error"] = _not_created("nbgrader.log", out_fd, exc)
            return result, False
        worker = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            linux.die_with_parent(worker)
            run_nbgrader(job, course, env, log_fd)
        os.close(log_fd)
        result["exit_code"], timed_out = _wait(pid, deadline, lambda: _kill_tree(pid))
        result.update(copy_out(job, course, home, out_fd))
    except BaseException:
        result["error"] = traceback.format_exc()
    finally:
        if out_fd is not None:
            os.close(out_fd)
    return result, timed_out


def _prepared(job: Job, course: str, home: str) -> dict[str, str]:
    """:func:`prepare` from the template and the submission, each opened without following a
    link and closed whatever happens: a worker runs hundreds of jobs, and a job that fails here
    must not leave a folder open."""
    with contextlib.ExitStack() as opened:
        template_fd = safe_copy.open_dir(job.template)
        opened.callback(os.close, template_fd)
        submission_fd = safe_copy.open_dir(os.path.join(job.work, "submission"))
        opened.callback(os.close, submission_fd)
        return prepare(job, template_fd, submission_fd, course, home)


def _not_created(name: str, dir_fd: int, exc: OSError) -> str:
    """Why the job could not make its file ``name`` in the folder ``dir_fd`` (``exc``)."""
    if not isinstance(exc, FileExistsError):
        return f"the job's {name} could not be created ({exc.strerror})"
    try:
        kind = safe_copy.kind_of(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        kind = "something"
    return (
        f"the job's {name} was there before the job made it ({kind}): another process "
        "wrote in the job's folder, so nbgrader was not run"
    )


def run_job(job: Job) -> dict:
    """Grade one submission (folders ``job.work/submission`` and ``job.template``).

    Returns a dict: ``exit_code`` (nbgrader's), ``error`` (the sandbox's own traceback or
    message, or in full mode what kept the job's ``result.json`` from being read:
    :func:`_job_result`), ``timed_out``, ``oom_kills``, ``returned_bytes``, ``return_notes``,
    ``seconds``, ``out`` (the results folder).
    """
    start = time.monotonic()
    out = os.path.join(job.work, "out")
    deadline = start + job.limits.notebook_timeout
    oom = 0
    if job.mode == "full":
        os.makedirs(out, mode=0o700)
        os.makedirs(os.path.join(job.work, "root"), mode=0o700)
        timed_out, oom = _run_full(job, deadline)
        # PID 1 wrote result.json in a folder no process of the student's could reach.
        result, problem = _job_result(out)
        if problem and not timed_out and not result["error"]:  # past its time, that is why
            result["error"] = problem
    else:
        result, timed_out = _run_reduced(job, deadline)
    return {
        "exit_code": None,
        "error": None,
        "returned_bytes": 0,
        "return_notes": [],
        **result,
        "student": job.student,
        "timed_out": timed_out,
        "oom_kills": oom,
        "seconds": round(time.monotonic() - start, 3),
        "out": out,
    }


def _job_result(out: str) -> tuple[dict, str]:
    """What a full-mode job left in ``out`` for :func:`run_job`: the fields of ``result.json``,
    with the waiter's traceback (``waiter-error.txt``) as the error if there is one; and what
    kept either file from being read, or "".

    No process of the student's can reach ``out`` in full mode; in reduced mode it could
    (:func:`~lstm_grading.job.reduced_gaps`) and put a link, a FIFO, a huge file or any JSON in
    place of either file, so a reduced-mode job keeps its result in memory instead. Both are read as
    a student's files are all the same (:func:`lstm_grading.safe_copy.read_capped`: no link
    followed, no FIFO waited on, at most :data:`RESULT_BYTES` and :data:`ERROR_BYTES`), and each
    field of ``result.json`` is type-checked (:data:`RESULT_FIELDS`). A missing ``result.json`` is
    no problem: a job killed at its time limit writes none.
    """
    result: dict = {"exit_code": None, "error": None}
    try:
        fd = safe_copy.open_dir(out)
    except OSError as exc:
        why = safe_copy.not_opened(exc, out, want="a folder")
        return result, f"the job's results folder {why}: not read"
    try:
        got = safe_copy.read_capped("result.json", fd, RESULT_BYTES + 1)
        waiter = safe_copy.read_capped("waiter-error.txt", fd, ERROR_BYTES, last=True)
    finally:
        os.close(fd)
    fields, problem = ({}, "") if got.missing else _result_fields(got)
    result.update(fields)
    if waiter.problem and not waiter.missing:
        problem = problem or f"the job's waiter-error.txt {waiter.problem}: not read"
    elif not waiter.missing and not result["error"]:
        result["error"] = waiter.data.decode("utf-8", "replace")
    return result, problem


def _result_fields(got: safe_copy.Read) -> tuple[dict, str]:
    """The fields of ``result.json`` as :func:`_job_result` read it, and what was wrong, if
    anything (then no field is kept)."""
    what = "the job's result.json"
    if got.problem:
        return {}, f"{what} {got.problem}: not read"
    if len(got.data) > RESULT_BYTES:
        return {}, f"{what} is larger than {safe_copy.size(RESULT_BYTES)}: not read"
    try:
        value = safe_copy.json_value(got.data)
    except ValueError as exc:  # UnicodeDecodeError too
        return {}, f"{what} is not JSON ({safe_copy.shown(str(exc), 200)})"
    if not isinstance(value, dict):
        return {}, f"{what} is not a JSON object"
    for key, (valid, expected) in RESULT_FIELDS.items():
        if key in value and not valid(value[key]):
            return {}, f"{what}: {key} is not {expected}"
    return {key: value[key] for key in RESULT_FIELDS if key in value}, ""


def grade_files(
    template: dict[str, bytes],
    submission: dict[str, bytes],
    student: str,
    assignment: str,
    limits: Limits | None = None,
    mode: str = "reduced",
    notebooks: tuple[str, ...] = (),
    *,
    parent: str | None = None,
    cgroup: str | None = None,
) -> dict:
    """Grade one submission given as bytes; return :func:`run_job`'s dict with the files.

    ``template`` and ``submission`` map relative paths to contents (the template as
    :func:`lstm_grading.course_prep.make_template` builds it). The result's ``files`` maps
    each returned file (``autograded/...``, ``gradebook.db``, ``nbgrader.log``...) to its bytes.
    The unit of work for a caller that grades on other machines; nothing stays on disk.
    ``parent``: the folder to work in (default: a run folder of its own, removed after it,
    :func:`lstm_grading.course_lock.make_run_folder`); ``cgroup``:
    the parent memory cgroup of the job (full mode), as :class:`Job` takes it.
    """
    if parent is None:
        # A run folder of its own (with an owner lock, as a run's): a caller killed mid-job
        # leaves it to the next run's cleanup (course_lock.remove_stale_run_folders). A bare
        # /tmp/lstm-autograde-one-* folder, without a lock, was no folder that cleanup may
        # remove: it stayed for good, holding the hidden tests (the template).
        base, owner = course_lock.make_run_folder()
        try:
            return grade_files(
                template,
                submission,
                student,
                assignment,
                limits,
                mode,
                notebooks,
                parent=str(base),
                cgroup=cgroup,
            )
        finally:
            course_lock.remove_run_folder(base, owner)
    limits = limits or Limits()
    # Removed by remove_tree, not shutil.rmtree: in reduced mode the student's code can leave
    # a chain of folders deeper than Python's recursion limit anywhere in the job's folder.
    tmp = tempfile.mkdtemp(prefix="lstm-autograde-one-", dir=parent)
    try:
        for folder, files in (("template", template), ("work/submission", submission)):
            for rel, data in files.items():
                path = Path(tmp, folder, rel)
                if ".." in Path(rel).parts or Path(rel).is_absolute():
                    raise ValueError(f"file names must be relative paths, got {rel!r}")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        os.makedirs(os.path.join(tmp, "work", "submission"), exist_ok=True)
        binds = jail.allowlist() if mode == "full" else []
        job = Job(
            student,
            assignment,
            os.path.join(tmp, "work"),
            os.path.join(tmp, "template"),
            limits,
            mode,
            notebooks,
            binds,
            cgroup,
            slot=os.getpid(),
        )
        result = run_job(job)
        result["files"], notes = returned_files(result.pop("out"), limits, notebooks)
        result["return_notes"] = [*result["return_notes"], *notes]
        return result
    finally:
        safe_copy.remove_tree(tmp)


def returned_files(
    out: str, limits: Limits, notebooks: tuple[str, ...] = ()
) -> tuple[dict[str, bytes], list[str]]:
    """The files of a job's results folder ``out`` for :func:`grade_files` (relative path ->
    bytes), and notes on what was left out.

    In reduced mode the student's code may have filled that folder with anything (hard links
    to one large file, a chain of folders, FIFOs, thousands of files), so nothing is read
    through a link or from anything but a regular file, and within limits. The job's own files
    (:data:`~lstm_grading.job.RESULT_FILES`) are read by name, each within its own allowance
    (:func:`lstm_grading.safe_copy.read_capped`), so that no amount of files in the autograded
    folder can crowd out the gradebook; a log past its allowance keeps its last bytes after a
    line saying so, as the local mode reads it (:class:`lstm_grading.parallel._Results`). Then
    the autograded folder alone, the assignment's notebooks first, within ``Limits.return_mb``
    (:func:`lstm_grading.safe_copy.read_tree`); anything else in ``out`` is not the job's.
    """
    try:
        fd = safe_copy.open_dir(out)
    except OSError as exc:
        why = safe_copy.not_opened(exc, out, want="a folder")
        return {}, [f"the job's results folder {why}: nothing returned"]
    files: dict[str, bytes] = {}
    notes: list[str] = []
    try:
        for name, limit in RESULT_FILES.items():
            # A traceback or a log says most in its last lines.
            last = name in ("waiter-error.txt", *CUT_LOGS)
            got = safe_copy.read_capped(name, fd, limit, last=last)
            if got.problem:
                if not got.missing:
                    notes.append(f"the job's {name} {got.problem}: not returned")
                continue
            files[name] = got.data
            if got.cut and name in CUT_LOGS:
                cut = cut_line(name, got.size, limit)
                notes.append(cut)
                files[name] = f"[lstm-autograde] {cut}, below\n".encode() + got.data
        try:
            auto = safe_copy.open_dir("autograded", fd)
        except OSError as exc:
            why = safe_copy.not_opened(exc, "autograded", fd, want="a folder")
            if why != safe_copy.MISSING:  # a job that failed early made none
                notes.append(f"the job's autograded folder {why}: not returned")
            return files, notes
    finally:
        os.close(fd)
    try:
        budget = int(limits.return_mb * safe_copy.MIB)
        tree, tree_notes = safe_copy.read_tree(auto, budget, first=notebooks)
    finally:
        os.close(auto)
    files.update((f"autograded/{rel}", data) for rel, data in tree.items())
    return files, notes + [f"the job's autograded folder: {note}" for note in tree_notes]


CUT_LOGS = ("nbgrader.log", "kernel.log")  # past their allowance, their last bytes come back


def cut_line(name: str, size: int, kept: int) -> str:
    """What a log of ``size`` bytes of which only the last ``kept`` were read says first."""
    size_text, kept_text = safe_copy.size(size), safe_copy.size(kept)
    return f"the job's {name} holds {size_text}: only its last {kept_text} read"


PRELOADED = (
    "numpy",
    "zmq",
    "jupyter_client",
    "jupyter_core.migrate",  # JupyterApp's start-up check for old IPython config
    "IPython",  # jupyter_client's kernelspec looks for IPython's folder
    "psutil",  # jupyter_client's kernel provisioner
    "nbformat",
    "nbclient",
    "nbconvert",
    "nbconvert.preprocessors",
    "sqlalchemy",
    "sqlalchemy.dialects.sqlite",  # loaded by the gradebook's first engine
    "nbgrader.api",
    "nbgrader.apps.nbgraderapp",
    "nbgrader.converters",
    "nbgrader.preprocessors",
    "lstm_grading",
    "lstm_grading.export",
    "lstm_grading.feedback",
)


def preload() -> None:
    """Prepare once per worker what every job needs: jobs are forked from it and start warm.

    Imports (:data:`PRELOADED`: nbgrader, its converters and preprocessors, the kernel client,
    SQLAlchemy, what the course's nbgrader_config.py imports), and two caches a job would
    otherwise fill for itself: nbformat's compiled notebook schemas (strict, as nbformat reads
    a notebook, and relaxed, as nbconvert checks one between steps) and SQLAlchemy's
    configured gradebook mappers. Each job's profile showed them at about a tenth of its
    nbgrader process's time.
    """
    import importlib

    for name in PRELOADED:
        importlib.import_module(name)
    import nbformat
    import sqlalchemy.orm
    from nbformat.validator import get_validator

    for relaxed in (False, True):
        get_validator(
            nbformat.current_nbformat, nbformat.current_nbformat_minor, relax_add_props=relaxed
        )
    sqlalchemy.orm.configure_mappers()
