"""Run ``nbgrader autograde`` for one student in a private course, inside a sandbox.

One *job* grades one submission. It runs in a process forked from a worker that has imported
nbgrader once (so a job costs no interpreter start-up), and it never touches the real course:
it grades a private copy (``template/``: nbgrader_config.py, the assignment's source folder,
a gradebook holding only this assignment) plus a snapshot of the submission, and leaves
its results (the autograded folder, the private gradebook, logs) in ``work/out/``; the
coordinator (:mod:`lstm_grading.parallel`) copies them into the course.

Full mode (Linux, root, namespaces available):

* new mount, network and PID namespaces; the network has only loopback, up (kernels talk
  to nbgrader over 127.0.0.1);
* a fresh /proc (no other processes visible); empty tmpfs over /tmp, /var/tmp, /dev/shm,
  /root, /home, the course root, the repository and the coordinator's temp folder, with the
  Python installation and the two course packages bound back read-only: other students'
  files, the gradebook, other assignments' solutions are not in this file system view;
* the private course lives on a size-limited tmpfs; nbgrader itself (trusted code) runs
  as root there, but the *kernel* (the student's code) runs as an unprivileged uid of its own
  per worker slot (:mod:`lstm_grading.kernel_launcher`), with RLIMIT_AS (memory per
  process), RLIMIT_NPROC (fork bombs; per uid, hence one uid per slot), RLIMIT_FSIZE,
  no core files and ``no_new_privs``; it can write only to its own folder and its home;
* a memory cgroup per job bounds all processes of the job together (when the controller is
  writable); the job's wall clock is enforced by killing its PID namespace.

Reduced mode (not root, no namespaces: macOS, a container without privileges): the kernel
keeps the instructor's uid; RLIMIT_AS/FSIZE/CORE, the per-cell and per-notebook timeouts and
the output guard still apply, nothing else does. The summary says ``sandbox: reduced``.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import resource
import shutil
import signal
import socket
import stat
import struct
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18

COURSE = "/tmp/course"  # the private course, inside the sandbox (full mode)
HOME = "/tmp/home"  # the kernel's home and TMPDIR, owned by the slot's uid
UID_BASE = int(os.environ.get("LSTM_GRADING_UID_BASE", "1999000000"))  # + slot number
COPY_OUT_BYTES = 256 << 20  # at most this much of an autograded folder comes back
KERNEL_LOG_BYTES = 64 << 10


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


@dataclass
class Job:
    """Everything a worker needs to grade one submission (picklable)."""

    student: str
    assignment: str
    work: str  # host folder: submission/ (input), out/ (results)
    template: str  # host folder: the private course's starting point (shared by all jobs)
    slot: int
    limits: Limits
    mode: str  # "full" or "reduced"
    hide: list[str] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)
    cgroup: str | None = None  # parent memory cgroup folder, full mode
    python: str = sys.executable

    @property
    def uid(self) -> int:
        return UID_BASE + self.slot  # slot = the worker's pid: unique among running jobs


# -- system calls -----------------------------------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype=None, flags=0, data=None) -> None:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    _check(
        _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
        f"mount {target}",
    )


def _unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def _loopback_up() -> None:
    """``ip link set lo up`` with two ioctls (SIOCGIFFLAGS, SIOCSIFFLAGS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, 0x8913, req))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))


def probe() -> tuple[str, str]:
    """("full", "") if namespaces and a uid switch work here, else ("reduced", why)."""
    if not sys.platform.startswith("linux"):
        return "reduced", f"no Linux namespaces on {sys.platform}"
    if os.geteuid() != 0:
        return "reduced", "not root (namespaces and the uid switch need root)"
    pid = os.fork()
    if pid == 0:
        try:
            _unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID)
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            _loopback_up()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return "reduced", "unshare(mount, net, pid) is not permitted here"
    return "full", ""


# -- memory cgroup ------------------------------------------------------------------------------
def memory_cgroup_parent() -> str | None:
    """A cgroup folder where this process may create children with a memory limit, or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):  # cgroup v1
            folder = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            if (folder / "memory.limit_in_bytes").exists() and os.access(folder, os.W_OK):
                return str(folder)
    for line in lines:
        if line.startswith("0::"):  # cgroup v2: needs memory enabled for the children
            folder = Path("/sys/fs/cgroup") / line[3:].lstrip("/")
            control = folder / "cgroup.subtree_control"
            with contextlib.suppress(OSError):
                if "memory" in control.read_text().split() and os.access(folder, os.W_OK):
                    return str(folder)
    return None


class _Cgroup:
    def __init__(self, parent: str, name: str, limit: int):
        self.path = Path(parent) / name
        self.v1 = (Path(parent) / "memory.limit_in_bytes").exists()
        self.path.mkdir(exist_ok=True)
        if self.v1:
            (self.path / "memory.limit_in_bytes").write_text(str(limit))
            with contextlib.suppress(OSError):
                (self.path / "memory.memsw.limit_in_bytes").write_text(str(limit))
        else:
            (self.path / "memory.max").write_text(str(limit))
            with contextlib.suppress(OSError):
                (self.path / "memory.swap.max").write_text("0")

    def join(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def oom_kills(self) -> int:
        name = "memory.oom_control" if self.v1 else "memory.events"
        with contextlib.suppress(OSError, ValueError):
            for line in (self.path / name).read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        if self.v1:  # older kernels: no oom_kill counter, only hits of the limit
            with contextlib.suppress(OSError, ValueError):
                return int((self.path / "memory.failcnt").read_text()) and 1
        return 0

    def remove(self) -> None:
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                with contextlib.suppress(OSError):
                    (self.path / "memory.force_empty").write_text("0")
                time.sleep(0.02)


# -- inside the sandbox -------------------------------------------------------------------------
def _same(path: str, fd: int) -> bool:
    try:
        a, b = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _isolate_filesystem(job: Job, exposed: dict[str, int]) -> None:
    """Private mounts: hide ``job.hide`` under empty tmpfs, bind ``job.expose`` back read-only."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for path in sorted(job.hide, key=len):
        if not os.path.isdir(path) or os.path.islink(path):
            continue  # gone already, under a tmpfs mounted a moment ago
        if path == "/tmp":
            opts = f"mode=1777,size={job.limits.disk_mb}m"
        elif path in ("/var/tmp", "/dev/shm"):
            opts = "mode=1777,size=16m"
        else:
            opts = "mode=755,size=1m"
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, opts)
    for path, fd in sorted(exposed.items()):
        if _same(path, fd):
            continue
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


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


def copy_regular_tree(src: str, dst: str, budget: int = COPY_OUT_BYTES, depth: int = 0) -> int:
    """Copy folders and regular files of ``src`` to ``dst``; never follow or copy a link.

    Returns the unused part of ``budget`` (bytes): larger files and files past it are left out.
    """
    os.makedirs(dst, exist_ok=True)
    try:
        entries = list(os.scandir(src))
    except OSError:
        return budget
    for entry in entries[:2000]:
        st = entry.stat(follow_symlinks=False)
        target = os.path.join(dst, entry.name)
        if stat.S_ISDIR(st.st_mode) and depth < 8:
            budget = copy_regular_tree(entry.path, target, budget, depth + 1)
        elif stat.S_ISREG(st.st_mode) and st.st_size <= budget:
            budget -= st.st_size
            _copy_file(entry.path, target)
    return budget


def _prepare_course(job: Job, work: str, template: str, course: str, home: str) -> dict[str, str]:
    """Fill ``course`` (the private course) and ``home``; return the environment for nbgrader."""
    shutil.copytree(template, course, dirs_exist_ok=True)
    dest = os.path.join(course, "submitted", job.student, job.assignment)
    copy_regular_tree(os.path.join(work, "submission"), dest)
    uid = job.uid if job.mode == "full" else None
    for sub in ("tmp", ".ipython", ".matplotlib"):
        os.makedirs(os.path.join(home, sub), exist_ok=True)
    if uid is not None:
        for folder, _, files in os.walk(home):
            os.chown(folder, uid, uid)
            for name in files:
                os.chown(os.path.join(folder, name), uid, uid)
        os.chmod(home, 0o700)
        # Only the kernel's own folder (autograded/<student>/<assignment>, handed over by the
        # launcher) is reachable for the student's uid: the rest is traversable, not readable.
        for folder, _, files in os.walk(course):
            os.chmod(folder, 0o711)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o600)
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
    """In a fresh child: ``nbgrader autograde <assignment> --student <id> --force``; exits."""
    rc = 2
    try:
        os.chdir(course)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.environ.clear()
        os.environ.update(env)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        from nbgrader.apps.nbgraderapp import NbGraderApp

        argv = ["autograde", job.assignment, "--student", job.student, "--force"]
        # The job's namespace is torn down right after, so a graceful kernel shutdown
        # (nbclient's default, waiting for the kernel to exit) buys nothing here.
        argv.append("--Execute.shutdown_kernel=immediate")
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


def _copy_out(course: str, job: Job, out: str, home: str) -> None:
    """Copy results to ``out``: regular files only, never following a link, size-capped."""
    src = os.path.join(course, "autograded", job.student, job.assignment)
    if os.path.isdir(src) and not os.path.islink(src):
        copy_regular_tree(src, os.path.join(out, "autograded"))
    _copy_file(os.path.join(course, "gradebook.db"), os.path.join(out, "gradebook.db"))
    kernel_log = os.path.join(course, ".kernel.log")
    _copy_file(kernel_log, os.path.join(out, "kernel.log"), KERNEL_LOG_BYTES)
    _copy_file(os.path.join(home, ".lstm-grading-cell"), os.path.join(out, "last-cell.txt"), 1024)


def _copy_file(src: str, dst: str, limit: int | None = None) -> None:
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return
        with open(fd, "rb", closefd=False) as f, open(dst, "wb") as g:
            if limit is None:
                shutil.copyfileobj(f, g)
            else:
                g.write(f.read(limit))
    finally:
        os.close(fd)


def _init(job: Job, work_fd: int, template_fd: int, exposed: dict[str, int]) -> None:
    """PID 1 of the sandbox (root): mounts, private course, nbgrader in a child, copy-out."""
    work, template = f"/proc/self/fd/{work_fd}", f"/proc/self/fd/{template_fd}"
    out = os.path.join(work, "out")
    result = {"exit_code": None, "error": None}
    try:
        _isolate_filesystem(job, exposed)
        _loopback_up()
        os.makedirs(COURSE, mode=0o711)
        os.makedirs(HOME, mode=0o700)
        env = _prepare_course(job, work, template, COURSE, HOME)
        log_fd = os.open(os.path.join(out, "nbgrader.log"), os.O_WRONLY | os.O_CREAT, 0o600)
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
            os.kill(-1, signal.SIGKILL)  # leftovers of the student's code, before the copy
        with contextlib.suppress(ChildProcessError):
            while True:
                os.waitpid(-1, 0)
        _copy_out(COURSE, job, out, HOME)
    except BaseException:
        result["error"] = traceback.format_exc()
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(result, f)
    os._exit(0)


def _wait(pid: int, deadline: float) -> tuple[int | None, bool]:
    """Wait for ``pid`` until ``deadline``; kill it (SIGKILL) past it. (exit code, timed out)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None, True
        time.sleep(0.02)


def _kill_tree(pid: int) -> None:
    """Reduced mode: kill ``pid`` and every descendant (kernels run in their own sessions)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(pid)
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        proc.kill()


def run_job(job: Job) -> dict:
    """Grade one submission; return what happened (see the keys below)."""
    start = time.monotonic()
    out = os.path.join(job.work, "out")
    os.makedirs(out, exist_ok=True)
    deadline = start + job.limits.notebook_timeout
    timed_out, oom = False, 0
    if job.mode == "full":
        cgroup = None
        if job.cgroup:
            limit = (job.limits.memory_mb + 1024 + job.limits.disk_mb) << 20
            with contextlib.suppress(OSError):
                cgroup = _Cgroup(job.cgroup, f"{Path(job.work).name}-slot{job.slot}", limit)
        pid = os.fork()
        if pid == 0:  # the waiter: joins the cgroup, makes the namespaces, forks PID 1
            code = 3
            try:
                if cgroup:
                    cgroup.join()
                _unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID)
                # Opened after unshare: a bind mount needs a source in the new mount namespace.
                work_fd = os.open(job.work, os.O_PATH | os.O_DIRECTORY)
                template_fd = os.open(job.template, os.O_PATH | os.O_DIRECTORY)
                exposed = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in job.expose}
                init = os.fork()
                if init == 0:
                    _init(job, work_fd, template_fd, exposed)
                _, timed_out_inner = _wait(init, deadline)
                code = 124 if timed_out_inner else 0
            except BaseException:
                with open(os.path.join(out, "waiter-error.txt"), "w") as f:
                    f.write(traceback.format_exc())
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        timed_out = os.waitstatus_to_exitcode(status) == 124
        if cgroup:
            oom = cgroup.oom_kills()
            cgroup.remove()
    else:
        course, home = os.path.join(job.work, "course"), os.path.join(job.work, "home")
        os.makedirs(home, exist_ok=True)
        result = {"exit_code": None, "error": None}
        try:
            env = _prepare_course(job, job.work, job.template, course, home)
            log_fd = os.open(os.path.join(out, "nbgrader.log"), os.O_WRONLY | os.O_CREAT, 0o600)
            pid = os.fork()
            if pid == 0:
                os.setsid()
                _run_nbgrader(job, course, env, log_fd)
            os.close(log_fd)
            code, timed_out = _wait_tree(pid, deadline)
            result["exit_code"] = code
            _copy_out(course, job, out, home)
        except BaseException:
            result["error"] = traceback.format_exc()
        with open(os.path.join(out, "result.json"), "w") as f:
            json.dump(result, f)
    try:
        with open(os.path.join(out, "result.json")) as f:
            result = json.load(f)
    except (OSError, ValueError):
        result = {"exit_code": None, "error": None}
    waiter = os.path.join(out, "waiter-error.txt")
    if os.path.exists(waiter) and not result.get("error"):
        result["error"] = Path(waiter).read_text()
    return {
        **result,
        "student": job.student,
        "timed_out": timed_out,
        "oom_kills": oom,
        "seconds": round(time.monotonic() - start, 3),
        "out": out,
        "job": asdict(job),
    }


def _wait_tree(pid: int, deadline: float) -> tuple[int | None, bool]:
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False
        if time.monotonic() > deadline:
            _kill_tree(pid)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            return None, True
        time.sleep(0.02)


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
