"""Grade one submission: ``nbgrader autograde`` in a private course, inside a sandbox.

One *job* grades one submission. It runs in a process forked from a pool worker that has
imported nbgrader once (so a job costs no interpreter start-up). It never touches the real
course: it grades a private copy (``template/``: nbgrader_config.py, the assignment's source
folder, a gradebook holding only this assignment) plus a snapshot of the submission
(``work/submission/``), and leaves its results in ``work/out/``: the autograded folder, the
private gradebook, logs and ``result.json``. :func:`grade_files` is the same step on bytes in
memory, for a caller that ships work to other machines.

Full mode (Linux, root): new mount, PID, network (loopback only), IPC and UTS namespaces; the
file system of :mod:`lstm_grading.jail` (an allowlist, host paths read-only); nbgrader
(trusted code) runs as root inside, the *kernel* (the student's code) as an unprivileged uid
of its own per worker slot (:mod:`lstm_grading.kernel_launcher`) in its own folder
(``/tmp/home/<assignment>``). nbgrader writes only to folders the student's uid cannot change;
the student's folder is read back after every process of the job is dead, by
:mod:`lstm_grading.safe_copy` (regular files only, no link followed, a byte budget). A memory
cgroup per job bounds all its processes together; the job's wall clock is enforced by killing
its PID namespace, which takes every process of the job with it; the job dies with its worker.

Reduced mode (not root, no namespaces: macOS, a container without privileges): the kernel
keeps the instructor's uid and sees the whole machine; RLIMIT_AS/FSIZE/CORE, the per-cell and
per-notebook timeouts and the output guard still apply (:data:`REDUCED_GAPS`).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import cgroup as cgroups
from . import jail, linux, safe_copy

COURSE = "/tmp/course"  # the private course, inside the sandbox (full mode)
HOME = "/tmp/home"  # the kernel's home and TMPDIR, owned by the slot's uid
UID_BASE = int(os.environ.get("LSTM_GRADING_UID_BASE", "1999000000"))  # + slot number
KERNEL_LOG_BYTES = 64 << 10
REDUCED_GAPS = (
    "reduced sandbox: the student's code ran as the instructor and could read and write the "
    "instructor's files, use the network, leave processes, files and shared memory behind"
)


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission (times in seconds, sizes in MiB unless noted)."""

    cell_timeout: int = 60  # lstm_grading.kernel_guard; nbgrader's timeout is a bit longer
    notebook_timeout: int = 600  # the whole job, kernel start-up included
    memory_mb: int = 2048  # RLIMIT_AS of the kernel; the job's cgroup gets 1 GiB more
    output_bytes: int = 2_000_000  # per cell, lstm_grading.output_guard
    file_mb: int = 64  # RLIMIT_FSIZE
    nproc: int = 64  # RLIMIT_NPROC of the slot's uid (processes and threads)
    disk_mb: int = 512  # the sandbox's /tmp (private course, home)
    return_mb: float = 5.0  # what comes back per submission (autograded folder)

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")


@dataclass
class Job:
    """Everything a worker needs to grade one submission (picklable)."""

    student: str
    assignment: str
    work: str  # host folder: submission/ (input), out/ (results), root/ (mount point)
    template: str  # host folder: the private course's starting point (shared by all jobs)
    limits: Limits
    mode: str  # "full" or "reduced"
    notebooks: tuple[str, ...] = ()  # the assignment's notebook file names
    binds: list[str] = field(default_factory=list)  # jail.allowlist(), full mode
    cgroup: str | None = None  # parent memory cgroup folder, full mode
    slot: int = 0  # set by the worker: its pid, so that the uid is unique among running jobs
    python: str = sys.executable

    @property
    def uid(self) -> int:
        return UID_BASE + self.slot


def _environment(course: str, home: str, job: Job) -> dict[str, str]:
    bindir = os.path.dirname(job.python)
    return {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": os.path.join(home, "tmp"),
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "JUPYTER_PATH": os.path.join(course, ".jupyter-path"),
        "JUPYTER_CONFIG_DIR": os.path.join(course, ".jupyter-config"),
        "JUPYTER_DATA_DIR": os.path.join(course, ".jupyter-data"),
        "JUPYTER_RUNTIME_DIR": os.path.join(course, ".jupyter-runtime"),
        "IPYTHONDIR": os.path.join(home, ".ipython"),
        "MPLCONFIGDIR": os.path.join(home, ".matplotlib"),
        "MPLBACKEND": "agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",  # one worker per core: no BLAS threads on top
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MiB of address space per arena
        "LSTM_GRADING_CELL_TIMEOUT": str(job.limits.cell_timeout),
    }


def _prepare_course(job: Job, template_fd: int, submission_fd: int, course: str, home: str):
    """Fill ``course`` (the private course) and ``home``; return the environment for nbgrader."""
    big = safe_copy.CopyReport(job.limits.disk_mb << 20)
    course_fd = safe_copy.open_dir(course)
    safe_copy.copy_tree(template_fd, course_fd, big)
    os.close(course_fd)
    dest = os.path.join(course, "submitted", job.student, job.assignment)
    os.makedirs(dest, mode=0o700)
    dest_fd = safe_copy.open_dir(dest)
    safe_copy.copy_tree(submission_fd, dest_fd, safe_copy.CopyReport(job.limits.disk_mb << 20))
    os.close(dest_fd)
    uid = job.uid if job.mode == "full" else None
    for sub in ("tmp", ".ipython", ".matplotlib", job.assignment):
        os.makedirs(os.path.join(home, sub), mode=0o700, exist_ok=True)
    if uid is not None:
        # Root prepares the student's home before any student code runs, then never writes
        # in it again.
        for folder, dirs, _ in os.walk(home):
            for name in [".", *dirs] if folder == home else dirs:
                os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)
        # The private course is traversable, not readable, for the student's uid: only the
        # submission (nbgrader copies it with its modes into the autograded folder, which the
        # kernel launcher reads as the student) is.
        for folder, _, files in os.walk(course):
            os.chmod(folder, 0o711)
            mine = os.path.commonpath([folder, dest]) == dest
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644 if mine else 0o600)
    env = _environment(course, home, job)
    for key in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        os.makedirs(env[key], mode=0o700, exist_ok=True)
    kernels = os.path.join(env["JUPYTER_PATH"], "kernels", "python3")
    os.makedirs(kernels, exist_ok=True)
    settings = os.path.join(env["JUPYTER_PATH"], "launcher.json")
    launcher = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel_launcher.py")
    with open(settings, "w") as f:
        json.dump(
            {
                "uid": uid,
                "home": home,
                "workdir": os.path.join(home, job.assignment),
                "log": os.path.join(course, ".kernel.log"),
                "python": job.python,
                "memory_mb": job.limits.memory_mb,
                "file_mb": job.limits.file_mb,
                "nproc": job.limits.nproc,
                "kernel_args": [
                    "--InteractiveShellApp.extensions=lstm_grading.output_guard",
                    f"--OutputGuard.limit={job.limits.output_bytes}",
                    f"--OutputGuard.progress={os.path.join(home, '.lstm-grading-cell')}",
                ],
            },
            f,
        )
    with open(os.path.join(kernels, "kernel.json"), "w") as f:
        json.dump(
            {
                "argv": [job.python, "-I", "-S", launcher, settings, "-f", "{connection_file}"],
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "interrupt_mode": "signal",
            },
            f,
        )
    return env


def _run_nbgrader(job: Job, course: str, env: dict[str, str], log_fd: int) -> None:
    """In a fresh child: ``nbgrader autograde <assignment> --force``; exits.

    The private course holds one student, so no ``--student`` is needed (nbgrader would read
    it as a glob pattern: an id with ``[`` or ``*`` would not match itself).
    """
    rc = 2
    try:
        os.chdir(course)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.environ.clear()
        os.environ.update(env)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        from nbgrader.apps.nbgraderapp import NbGraderApp

        # The job's namespace is torn down right after, so a graceful kernel shutdown
        # (nbclient's default, waiting for the kernel to exit) buys nothing here.
        argv = ["autograde", job.assignment, "--force", "--Execute.shutdown_kernel=immediate"]
        try:
            NbGraderApp.launch_instance(argv=argv)
            rc = 0
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(rc)


def _copy_out(job: Job, course: str, home: str, out_fd: int) -> dict:
    """Copy the results into ``out_fd``, once every process of the job is dead.

    The autograded folder (written by nbgrader, root's) comes first, notebooks first; then
    the files the student's code left in its own folder, except notebooks; all within
    ``Limits.return_mb``. The private gradebook and logs are read without following links.
    """
    report = safe_copy.CopyReport(int(job.limits.return_mb * 1e6))
    os.mkdir("autograded", 0o700, dir_fd=out_fd)
    dst = safe_copy.open_dir("autograded", out_fd)
    try:
        with contextlib.suppress(OSError):
            graded = os.path.join(course, "autograded", job.student, job.assignment)
            src = safe_copy.open_dir(graded)
            try:
                safe_copy.copy_tree(src, dst, report, first=job.notebooks)
            finally:
                os.close(src)
        with contextlib.suppress(OSError):
            src = safe_copy.open_dir(os.path.join(home, job.assignment))
            try:
                safe_copy.copy_tree(src, dst, report, skip_suffix=".ipynb")
            finally:
                os.close(src)
    finally:
        os.close(dst)
    plenty = safe_copy.CopyReport(1 << 40)
    with contextlib.suppress(OSError):
        course_fd = safe_copy.open_dir(course)
        safe_copy.copy_file("gradebook.db", course_fd, out_fd, plenty)
        for name, limit in ((".kernel.log", KERNEL_LOG_BYTES),):
            data = safe_copy.read_file(name, course_fd, limit)
            if data is not None:
                _write(out_fd, "kernel.log", data)
        os.close(course_fd)
    with contextlib.suppress(OSError):
        home_fd = safe_copy.open_dir(home)
        data = safe_copy.read_file(".lstm-grading-cell", home_fd, 1024)
        os.close(home_fd)
        if data is not None:
            _write(out_fd, "last-cell.txt", data)
    return {
        "returned_bytes": report.copied_bytes,
        "return_notes": report.notes(),
    }


def _write(dir_fd: int, name: str, data: bytes) -> None:
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


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
        jail.enter(os.path.join(job.work, "root"), job.binds, job.limits.disk_mb)
        os.makedirs(COURSE, mode=0o711)
        os.makedirs(HOME, mode=0o700)
        env = _prepare_course(job, template_fd, submission_fd, COURSE, HOME)
        os.close(submission_fd)
        log_fd = os.open("nbgrader.log", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=out_fd)
        runner = os.fork()
        if runner == 0:
            _run_nbgrader(job, COURSE, env, log_fd)
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
        result.update(_copy_out(job, COURSE, HOME, out_fd))
    except BaseException:
        result["error"] = traceback.format_exc()
    with contextlib.suppress(BaseException):
        target = out_fd if out_fd is not None else work_fd
        _write(target, "result.json", json.dumps(result).encode())
    os._exit(0)


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


def _run_full(job: Job, deadline: float) -> tuple[bool, int]:
    cgroup = None
    if job.cgroup:
        limit = (job.limits.memory_mb + 1024 + job.limits.disk_mb) << 20
        with contextlib.suppress(OSError):
            cgroup = cgroups.MemoryCgroup(job.cgroup, f"{Path(job.work).name}-{job.slot}", limit)
    worker = os.getpid()
    pid = os.fork()
    if pid == 0:  # the waiter: joins the cgroup, makes the namespaces, forks PID 1
        code = 3
        try:
            linux.die_with_parent(worker)
            if cgroup:
                cgroup.join()
            work_fd = safe_copy.open_dir(job.work)
            template_fd = safe_copy.open_dir(job.template)
            linux.unshare(linux.NAMESPACES)
            me = os.getpid()
            init = os.fork()
            if init == 0:
                _init(job, work_fd, template_fd, me)
            # Killing PID 1 of a PID namespace kills every process in it.
            _, timed_out = _wait(init, deadline, lambda: os.kill(init, signal.SIGKILL))
            code = 124 if timed_out else 0
        except BaseException:
            with open(os.path.join(job.work, "out", "waiter-error.txt"), "w") as f:
                f.write(traceback.format_exc())
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    timed_out = os.waitstatus_to_exitcode(status) == 124
    oom = 0
    if cgroup:
        oom = cgroup.oom_kills()
        cgroup.remove()
    return timed_out, oom


def _run_reduced(job: Job, deadline: float) -> bool:
    course, home = os.path.join(job.work, "course"), os.path.join(job.work, "home")
    os.makedirs(course, mode=0o700)
    os.makedirs(home, mode=0o700)
    result = {"exit_code": None, "error": None}
    timed_out = False
    out_fd = safe_copy.open_dir(os.path.join(job.work, "out"))
    try:
        template_fd = safe_copy.open_dir(job.template)
        submission_fd = safe_copy.open_dir(os.path.join(job.work, "submission"))
        env = _prepare_course(job, template_fd, submission_fd, course, home)
        os.close(template_fd)
        os.close(submission_fd)
        log_fd = os.open("nbgrader.log", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=out_fd)
        worker = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            linux.die_with_parent(worker)
            _run_nbgrader(job, course, env, log_fd)
        os.close(log_fd)
        result["exit_code"], timed_out = _wait(pid, deadline, lambda: _kill_tree(pid))
        result.update(_copy_out(job, course, home, out_fd))
    except BaseException:
        result["error"] = traceback.format_exc()
    _write(out_fd, "result.json", json.dumps(result).encode())
    os.close(out_fd)
    return timed_out


def run_job(job: Job) -> dict:
    """Grade one submission (folders ``job.work/submission`` and ``job.template``).

    Returns a dict: ``exit_code`` (nbgrader's), ``error`` (the sandbox's own traceback),
    ``timed_out``, ``oom_kills``, ``returned_bytes``, ``return_notes``, ``seconds``, ``out``
    (the results folder).
    """
    start = time.monotonic()
    out = os.path.join(job.work, "out")
    os.makedirs(out, mode=0o700)
    deadline = start + job.limits.notebook_timeout
    oom = 0
    if job.mode == "full":
        os.makedirs(os.path.join(job.work, "root"), mode=0o700)
        timed_out, oom = _run_full(job, deadline)
    else:
        timed_out = _run_reduced(job, deadline)
    try:
        with open(os.path.join(out, "result.json")) as f:
            result = json.load(f)
    except (OSError, ValueError):
        result = {"exit_code": None, "error": None}
    waiter = os.path.join(out, "waiter-error.txt")
    if os.path.exists(waiter) and not result.get("error"):
        result["error"] = Path(waiter).read_text()
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


def grade_files(
    template: dict[str, bytes],
    submission: dict[str, bytes],
    student: str,
    assignment: str,
    limits: Limits | None = None,
    mode: str = "reduced",
    notebooks: tuple[str, ...] = (),
) -> dict:
    """Grade one submission given as bytes; return :func:`run_job`'s dict with the files.

    ``template`` and ``submission`` map relative paths to contents (the template as
    :func:`lstm_grading.course_prep.make_template` builds it). The result's ``files`` maps
    each returned file (``autograded/...``, ``gradebook.db``, ``nbgrader.log``...) to its bytes.
    The unit of work for a caller that grades on other machines; nothing stays on disk.
    """
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="lstm-autograde-one-") as tmp:
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
            slot=os.getpid(),
        )
        result = run_job(job)
        out = Path(result.pop("out"))
        result["files"] = {
            str(p.relative_to(out)): p.read_bytes()
            for p in sorted(out.rglob("*"))
            if p.is_file() and not p.is_symlink()
        }
        return result


def preload() -> None:
    """Import what a job needs once per worker: jobs are forked from it and start warm.

    nbgrader, its converters and preprocessors, the kernel client, SQLAlchemy, and what the
    course's nbgrader_config.py imports (NumPy through lstm_grading, the export plugin).
    """
    import importlib

    for name in (
        "numpy",
        "zmq",
        "jupyter_client",
        "nbformat",
        "nbclient",
        "nbconvert",
        "nbconvert.preprocessors",
        "sqlalchemy",
        "nbgrader.api",
        "nbgrader.apps.nbgraderapp",
        "nbgrader.converters",
        "nbgrader.preprocessors",
        "lstm_grading",
        "lstm_grading.export",
        "lstm_grading.feedback",
    ):
        importlib.import_module(name)
