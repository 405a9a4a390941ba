"""Real Dask processes on 127.0.0.1 for the cluster tests, and what they may leave behind.

``dask scheduler`` and ``dask worker`` are started as an instructor starts them (separate
commands, a scheduler file, port 0: never a fixed port), stopped with SIGTERM then SIGKILL.
:func:`host_state` / :func:`assert_clean` check that a run left no helper process, no process
of the sandbox's uids, no run folder of a finished run, no job folder of ``grade_files``, no
memory cgroup of a helper's job and no Dask scratch folder. A throwaway TLS CA and
certificate come from ``cryptography``.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from lstm_grading.cgroup import memory_cgroup_parent
from lstm_grading.cluster.helper import JOB_PREFIX
from lstm_grading.course_lock import OWNER, RUN_PREFIX
from lstm_grading.inputs import env_uid_base
from lstm_grading.kernel_launcher import KERNEL_MAIN

WAIT = 600  # seconds: an upper bound for anything on a busy machine, never a measurement
# Every process this test process starts inherits this variable, and so do their children (a
# run's Dask workers and their helpers; the tests start them all with this environment): its
# value, this process's pid, tells this session's helpers from those of another pytest-xdist
# worker (`make test` runs two), whose tests may start one at any moment (test_cluster.py).
SESSION, MARK = "LSTM_TESTS_SESSION", str(os.getpid())
os.environ[SESSION] = MARK
TMP = Path(tempfile.gettempdir())
SCRATCH = TMP / "dask-scratch-space"  # Dask workers' default local directory


def wait_for(condition, what: str, proc: subprocess.Popen | None = None):
    """Poll ``condition`` until it is true; fail at once, with its output, if ``proc`` ended."""
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"ended (status {proc.returncode}) before {what}:\n{out}\n{err}")
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    if proc is not None:  # a failed test leaves no run behind (one once ran on for an hour)
        proc.kill()
        proc.communicate()
    raise AssertionError(f"gave up waiting for {what} after {WAIT} s")


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def is_helper(proc: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return "lstm_grading.cluster.helper" in proc.cmdline()
    return False


def ours(proc: psutil.Process) -> bool:
    """Whether ``proc`` was started by this test process or one of its descendants."""
    with contextlib.suppress(psutil.Error):
        return proc.environ().get(SESSION) == MARK
    return False  # it has ended: nothing of it is left to check


def busy_worker(coordinator: int) -> psutil.Process | None:
    """A worker of the coordinator's local cluster whose helper is running a job, or None.

    The workers of a ``LocalCluster`` are the coordinator's own children; a helper is a
    worker's child, busy when it has children (its job). Only such a worker is ever returned
    (and killed by the tests): never a process outside the run.
    """
    with contextlib.suppress(psutil.Error):
        for worker in psutil.Process(coordinator).children():
            for helper in worker.children():
                if is_helper(helper) and helper.children():
                    return worker
    return None


# -- the sleeper (grading_corpus.SLEEPER) ---------------------------------------------------
RELEASE = signal.SIGUSR1


def catches(pid: int, sig: int) -> bool:
    """Whether process ``pid`` has a handler of its own for ``sig`` (SigCgt of its status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


def waiting_sleepers(root: int) -> list[psutil.Process]:
    """The kernels under process ``root`` whose sleeper cell is waiting for its release."""
    found = []
    for proc in descendants(root):
        with contextlib.suppress(psutil.Error, OSError):
            if KERNEL_MAIN in proc.cmdline() and catches(proc.pid, RELEASE):
                found.append(proc)
    return found


def release_sleepers(root: int) -> int:
    """Let every sleeper waiting under ``root`` go on; how many there were."""
    sleepers = waiting_sleepers(root)
    for proc in sleepers:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(RELEASE)  # psutil checks it is still the same process
    return len(sleepers)


@contextlib.contextmanager
def releasing(root: int):
    """While the block runs, every sleeper that comes to wait under ``root`` is released."""
    stop = threading.Event()

    def release_until_stopped() -> None:
        while not stop.wait(0.1):
            release_sleepers(root)

    thread = threading.Thread(target=release_until_stopped, name="release sleepers")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def waits_for_a_lock(pid: int) -> bool:
    """Whether process ``pid`` is blocked waiting for a file lock (a "->" line of /proc/locks)."""
    # A waiter's line: "2: -> FLOCK  ADVISORY  WRITE <pid> <device:inode> 0 EOF".
    with open("/proc/locks") as locks:
        for fields in (line.split() for line in locks):
            if fields[1:2] == ["->"] and fields[5:6] == [str(pid)]:
                return True
    return False


# -- a cluster started as separate commands ----------------------------------------------------
class Cluster:
    """``dask scheduler`` and ``dask worker`` processes; ``tls`` = (CA, cert, key) files."""

    def __init__(self, folder: Path, tls: tuple[Path, Path, Path] | None = None):
        self.folder, self.tls = folder, tls
        self.scheduler_file = folder / "scheduler.json"
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def _tls_args(self) -> list[str]:
        if not self.tls:
            return []
        ca, cert, key = self.tls
        return ["--tls-ca-file", str(ca), "--tls-cert", str(cert), "--tls-key", str(key)]

    def _start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        log = self.folder / f"{name}-{len(self.procs)}.log"
        self.logs.append(log)
        with open(log, "w") as f:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dask", *args],
                stdout=f,
                stderr=subprocess.STDOUT,
                # Dask's working folders in the test's folder, not the shared /tmp one.
                env={
                    **os.environ,
                    "DASK_TEMPORARY_DIRECTORY": str(self.folder / "dask-scratch"),
                    **(env or {}),
                },
            )
        self.procs.append(proc)
        return proc

    def start_scheduler(self) -> str:
        args = ["scheduler", "--host", "127.0.0.1", "--port", "0"]
        args += ["--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(self.scheduler_file)]
        if self.tls:
            args += ["--protocol", "tls", *self._tls_args()]
        # The instructor guide's advice: one retry of a task whose worker died, then report.
        proc = self._start(
            "scheduler", args, {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
        )
        wait_for(lambda: self.scheduler_file.exists() and self.address(), "the scheduler", proc)
        return self.address()

    def address(self) -> str:
        with contextlib.suppress(OSError, ValueError, KeyError):
            return json.loads(self.scheduler_file.read_text())["address"]
        return ""

    def start_worker(self, env: dict | None = None) -> subprocess.Popen:
        """A worker of the scheduler's; ``env``: changes to its environment (``PYTHONPATH``)."""
        args = ["worker", "--scheduler-file", str(self.scheduler_file), "--nthreads", "1"]
        args += ["--host", "127.0.0.1", "--no-dashboard", *self._tls_args()]
        # Dask's own scratch folder in the test's folder: whether Dask removes it after a
        # SIGTERM is Dask's business; a LocalCluster's (the grader's, in its run folder) is
        # checked.
        args += ["--local-directory", str(self.folder / "dask-scratch")]
        return self._start("worker", args, env)

    def wait_for_workers(self, n: int) -> None:
        """Until the scheduler's log says ``n`` workers registered."""

        def registered() -> bool:
            text = self.logs[0].read_text(errors="replace")
            return text.count("Register worker") >= n

        wait_for(registered, f"{n} workers to register", self.procs[0])

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}" for log in self.logs)


# -- what a run leaves behind ------------------------------------------------------------------
def _free(folder: Path) -> bool:
    """The run folder's owner lock is free (its run has ended or died)."""
    try:
        fd = os.open(folder / OWNER, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def job_folders(tmp: Path | None = None) -> set[Path]:
    """``grade_files``'s job folders in ``tmp`` (:data:`TMP` by default, read when called:
    a test may point it elsewhere) and in its folders, one level down.

    Other processes make and remove folders in /tmp all the time (the other pytest-xdist
    worker's tests among them): a folder listed and gone before it is read is skipped, as
    are entries that are not folders or not readable. (pathlib's glob of
    ``*/lstm-autograde-one-*`` raised FileNotFoundError for a folder removed meanwhile,
    failing the host check of a test whose run had left nothing.)"""
    tmp = TMP if tmp is None else tmp
    found = set()
    for name in os.listdir(tmp):
        if name.startswith(JOB_PREFIX):
            found.add(tmp / name)
            continue
        try:
            inside = os.listdir(tmp / name)
        except OSError:  # gone since the listing, not a folder, or not ours to read
            continue
        found.update(tmp / name / n for n in inside if n.startswith(JOB_PREFIX))
    return found


def leftover_cgroups(parent: str | None = None, tmp: Path | None = None) -> list[Path]:
    """Memory cgroups of grading jobs, under ``parent`` (the grader's memory cgroup parent by
    default), that outlived their job: what a run's own cleanup should have removed.

    A local run's job cgroup (``<run folder>-job...``) is a leftover once its run folder in
    ``tmp`` (:data:`TMP` by default) is gone or its lock free. A Dask helper's job cgroup
    (``<job folder>-work-<pid>``) is one once its job folder is gone: the job removes its
    cgroup before its folder, and a helper's job may be another test's, live, on the other
    pytest-xdist worker (taken for a dead run's, a live helper job's cgroup failed the check
    of a local run that had left nothing). A cgroup is counted only if it still exists after
    its folder was found gone: one removed meanwhile was its job's own cleanup at work."""
    parent = memory_cgroup_parent() if parent is None else parent
    if parent is None:
        return []
    tmp = TMP if tmp is None else tmp
    out = []
    for path in Path(parent).glob(RUN_PREFIX + "*"):
        if path.name.startswith(JOB_PREFIX):
            folder = path.name.rsplit("-work-", 1)[0]
            gone = folder not in {p.name for p in job_folders(tmp)}
        else:
            run = tmp / path.name.split("-job")[0]
            gone = not run.exists() or _free(run)
        if gone and path.exists():
            out.append(path)
    return out


def host_state() -> dict:
    runs = set(TMP.glob(RUN_PREFIX + "*"))
    parent = memory_cgroup_parent()
    return {
        "runs": runs,
        "dead_runs": {p for p in runs if _free(p)},
        "job_folders": job_folders(),
        # The grader's local cluster works in its run folder, the tests' clusters in their
        # own folders: nothing is added to Dask's shared default folder.
        "scratch": {SCRATCH, *SCRATCH.glob("*")} if SCRATCH.exists() else set(),
        # This session's only: the other xdist worker's tests start helpers of their own.
        "helpers": {p.pid for p in psutil.process_iter() if is_helper(p) and ours(p)},
        # The memory cgroups of the helpers' jobs (the workers here are this process's
        # descendants, in its cgroup): a job whose helper was killed leaves one.
        "cgroups": set(Path(parent).glob(JOB_PREFIX + "*")) if parent else set(),
    }


def sandbox_processes() -> list[psutil.Process]:
    out = []
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info["uids"]
        if uids and env_uid_base() <= uids.real < env_uid_base() + (1 << 22):
            out.append(proc)
    return out


def describe(folders: set[Path]) -> str:
    """What is in each run folder left, and which processes hold its lock (for the message)."""
    out = []
    for folder in sorted(folders):
        try:
            names = sorted(os.listdir(folder))
            inode = os.stat(folder / OWNER).st_ino if OWNER in names else None
        except OSError as exc:
            out.append(f"{folder} ({exc})")
            continue
        holders = []
        with open("/proc/locks") as locks:  # "1: FLOCK  ADVISORY  WRITE <pid> <dev:inode> ..."
            for fields in (line.split() for line in locks):
                if inode and fields[1:2] != ["->"] and fields[5:6]:
                    if fields[5].rsplit(":", 1)[-1] == str(inode):
                        holders.append(fields[4])
        lock = f"its lock held by pid {', '.join(holders)}" if holders else "its lock free"
        state = lock if inode else "no lock file"
        out.append(f"{folder}: {state}; holds {names[:8]}{' ...' if len(names) > 8 else ''}")
    return "; ".join(out)


def assert_clean(before: dict, tree: list[psutil.Process] = (), killed: bool = False) -> None:
    """Nothing new since ``before``; every process of ``tree`` (recorded during the run) gone.

    ``killed``: a helper of the run was killed. It leaves its run folder to the next helper or
    local run on this machine (:mod:`lstm_grading.cluster.helper`). The run's own cleanup at
    its end removes it if the folder's lock is free by then; when the killed helper's jobs are
    still dying at that moment, the folder is freed a little later, and only the next run
    removes it. So here, until every run folder made since ``before`` is gone, the next run's
    cleanup (``remove_stale_run_folders``, which removes only folders whose lock is free) runs
    again and again, as a next run would: a folder still held at the end fails the check.

    Run folders, job folders and job cgroups are the machine's: another test session grading
    on it (another checkout's `make test`) makes and removes its own all the time (seen: a job
    folder of a live run of another session failed this check). So what is new once the run
    has ended is waited for (``WAIT``, generously), and only that: one of this run's stays and
    fails; another session's goes when its job or run ends; whatever appears later is not this
    run's, whose processes have all ended.
    """
    from lstm_grading.course_lock import remove_stale_run_folders

    wait_for(lambda: not any(alive(p) for p in tree), "the run's processes to end")
    ended = host_state()
    new = {key: ended[key] - before[key] for key in ("runs", "job_folders", "cgroups")}
    end = time.monotonic() + WAIT

    def left(key: str) -> set[Path]:
        return {p for p in new[key] if p.exists()}

    if killed:
        while left("runs") and time.monotonic() < end:
            remove_stale_run_folders()
            time.sleep(0.2)
        held = left("runs")
        assert held == set(), f"a killed helper's run folder stayed held: {describe(held)}"
    # A killed worker's run folder is removed by whoever sees it last, which may be a moment
    # after the processes ended: wait for it (generously) instead of racing the removal.
    while (dead := host_state()["dead_runs"] & new["runs"]) and time.monotonic() < end:
        time.sleep(0.2)
    assert dead == set(), "a run folder was left behind"
    while (left("job_folders") or left("cgroups")) and time.monotonic() < end:
        time.sleep(0.2)
    assert left("job_folders") == set(), "a job folder was left behind"
    after = host_state()
    assert after["scratch"] - before["scratch"] == set(), "a Dask scratch folder was left"
    assert after["helpers"] - before["helpers"] == set(), "a helper process survived"
    assert left("cgroups") == set(), "a job's memory cgroup was left"
    assert sandbox_processes() == [], "a process of the sandbox survived"


# -- TLS -------------------------------------------------------------------------------------------
def make_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and one certificate it signed for 127.0.0.1 (server and client use)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    span = (now - datetime.timedelta(days=1), now + datetime.timedelta(days=1))

    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("lstm-course test CA"))
        .issuer_name(name("lstm-course test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(span[0])
        .not_valid_after(span[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(span[0])
        .not_valid_after(span[1])
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths[2].chmod(0o600)
    return paths
