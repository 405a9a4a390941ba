"""Which Dask cluster a run uses, how it connects, and which connections are refused.

``--cluster local:N`` starts a ``distributed.LocalCluster`` of N worker processes (one thread
each) listening on 127.0.0.1 only, and stops it at the end of the run. ``--scheduler ADDRESS``
and ``--scheduler-file PATH`` (the JSON file ``dask scheduler --scheduler-file`` writes) join
a cluster the instructor started.

Dask's connections are unauthenticated unless TLS is set: whoever reaches a scheduler can run
code on every worker (as root, for the full sandbox). So a scheduler that is not on this
machine (its host is not a loopback address) needs TLS, from the flags ``--tls-ca-file``,
``--tls-cert`` and ``--tls-key`` or from Dask's own configuration
(``distributed.comm.tls.ca-file``, ``distributed.comm.tls.client.cert``/``key``), or the
explicit ``--allow-insecure``. Every check raises ``ValueError`` naming the argument.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import re
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from .. import inputs

PROTOCOLS = ("tcp", "tls")
ALLOWED_FAILURES = 1  # a task whose worker died is run once more elsewhere, then reported
NEEDS_DASK = 'the cluster mode needs Dask; in the course\'s checkout: pip install -e ".[cluster]"'
LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)", re.ASCII)  # one label of a host name
# Seconds a closed local cluster's processes are waited for, at most, before what they left
# is removed (a job dies a moment after its helper; what is still held then, the next run on
# this machine removes).
LEFTOVERS_WAIT = 30.0
SCHEDULER_FILE_MAX = 16 << 20  # bytes; Dask's is a few KiB: more is not one


class ClusterError(Exception):
    """The cluster could not be used (no worker joined, the scheduler went away).

    ``again``: what the next run is, where the message asks for another command (e.g. fewer
    workers); by default the same command (what the stop line says next to the message).
    """

    def __init__(self, message: str, again: str | None = None):
        super().__init__(message)
        self.again = again


def require_dask() -> None:
    """``ValueError`` saying how to install Dask if ``distributed`` is missing."""
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        raise ValueError(NEEDS_DASK)


@dataclass(frozen=True)
class Target:
    """Where to grade: ``workers`` local processes, or the scheduler at ``address``."""

    workers: int = 0  # > 0: a LocalCluster of that many processes
    address: str = ""  # an existing scheduler, protocol://host:port
    tls: tuple[str, str, str] | None = None  # (CA file, certificate, key) from the flags
    source: str = ""  # what the instructor gave, for messages

    def __post_init__(self):
        inputs.Rule(0, inputs.max_workers(), "a number of local worker processes").check(
            "Target.workers", self.workers
        )
        if (self.workers > 0) == bool(self.address):
            raise ValueError(
                f"target: got workers={self.workers!r} and address={self.address!r}; expected "
                "one of them: use lstm_grading.cluster.connect.target(...)"
            )

    @property
    def local(self) -> bool:
        return self.workers > 0


def parse_cluster(text: str) -> int:
    """``local:N`` -> N (a number of worker processes this machine can run)."""
    kind, _, count = str(text).partition(":")
    most = inputs.max_workers()
    digits = count.isascii() and count.isdigit() and len(count) <= 18  # int() refuses 4301
    if kind != "local" or not digits or not 1 <= int(count) <= most:
        raise ValueError(
            f"cluster: expected local:N with N a number of worker processes from 1 to {most} "
            f"({inputs.WORKERS_PER_CORE} per core here; e.g. local:4), got {text!r}; for an "
            "existing cluster use --scheduler or --scheduler-file"
        )
    return int(count)


def is_loopback(host: str) -> bool:
    """True if every address ``host`` stands for is a loopback address (127.0.0.0/8, ::1)."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, ValueError):  # ValueError: UnicodeError, a name IDNA cannot encode
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def is_host(host: str) -> bool:
    """True if ``host`` is an IP address (IPv6 bare or in brackets) or a DNS host name: labels
    of 1 to 63 letters, digits, ``-`` or ``_`` (international ones in their IDNA form), 253
    characters in all. Nothing else is looked up (``is_loopback``) or connected to."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(bare)
        return True
    try:
        name = host.encode("idna").decode("ascii").removesuffix(".")
    except UnicodeError:  # an empty label, one longer than 63, a character IDNA refuses
        return False
    return len(name) <= 253 and all(LABEL.fullmatch(label) for label in name.split("."))


def split_address(address: str, argument: str) -> tuple[str, str, int]:
    """``[protocol://]host:port`` -> (protocol or "", host, port); ``ValueError`` otherwise."""
    protocol, sep, rest = address.partition("://")
    if not sep:
        protocol, rest = "", address
    host, _, port = rest.rpartition(":")
    if (
        protocol not in ("", *PROTOCOLS)
        or not is_host(host)
        or not (port.isascii() and port.isdigit() and len(port) <= 5)
        or int(port) not in inputs.PORTS
    ):
        raise ValueError(
            f"{argument}: expected tcp://HOST:PORT or tls://HOST:PORT (or HOST:PORT), PORT "
            "from 1 to 65535, HOST an IP address or a host name (labels of 1 to 63 letters, "
            f"digits, - or _ between dots, 253 characters in all), got {address!r}"
        )
    return protocol, host, int(port)


def tls_files(ca_file, cert, key) -> tuple[str, str, str] | None:
    """The three TLS files, all given and existing, or None if none is given."""
    given = {"tls_ca_file": ca_file, "tls_cert": cert, "tls_key": key}
    if all(v is None for v in given.values()):
        return None
    absent = [n for n, v in given.items() if v is None]
    if absent:
        missing = ", ".join(f"--{n.replace('_', '-')}" for n in absent)
        raise ValueError(
            f"{absent[0]}: TLS needs all three of --tls-ca-file, --tls-cert and --tls-key; "
            f"missing {missing}"
        )
    for name, value in given.items():
        expected = f"the PEM file of --{name.replace('_', '-')}"
        found = inputs.look(name, value, expected) if str(value) else None
        if found is None or not stat.S_ISREG(found.st_mode):
            raise ValueError(
                f"{name}: {inputs.shown(value) or repr(value)} is not a file; expected {expected}"
            )
    return (str(ca_file), str(cert), str(key))


def configured_tls() -> bool:
    """True if Dask's configuration gives this client a CA and a certificate."""
    try:
        import dask
    except ImportError:
        return False
    get = dask.config.get
    return bool(
        get("distributed.comm.tls.ca-file", None) and get("distributed.comm.tls.client.cert", None)
    )


def target(
    cluster: str | None = None,
    scheduler: str | None = None,
    scheduler_file: str | Path | None = None,
    tls_ca_file: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    allow_insecure: bool = False,
) -> Target | None:
    """Check the cluster options; None if none asks for a cluster (the local pool).

    An option given as an empty string is an error, not an absent option.
    """
    options = {"cluster": cluster, "scheduler": scheduler, "scheduler_file": scheduler_file}
    given = [n for n, v in options.items() if v is not None]
    for name in given:
        if str(options[name]).strip() == "":
            raise ValueError(
                f"{name}: got {options[name]!r}; expected "
                + {
                    "cluster": "local:N (N worker processes on this machine)",
                    "scheduler": "the scheduler's address, tls://HOST:PORT",
                    "scheduler_file": "the file `dask scheduler --scheduler-file PATH` wrote",
                }[name]
            )
    if len(given) > 1:
        raise ValueError(f"{given[1]}: give only one of --cluster, --scheduler, --scheduler-file")
    tls = tls_files(tls_ca_file, tls_cert, tls_key)
    if cluster is not None:
        if tls:
            raise ValueError(
                "tls_ca_file: a local cluster listens on 127.0.0.1 only and needs no TLS; the "
                "TLS flags go with --scheduler or --scheduler-file"
            )
        workers = parse_cluster(cluster)
        return Target(workers=workers, source=f"local:{workers}")
    if not given:
        if tls or allow_insecure:
            raise ValueError(
                "scheduler: --tls-* and --allow-insecure need --scheduler or --scheduler-file"
            )
        return None
    argument = given[0]
    if scheduler_file is not None:
        scheduler = scheduler_address(Path(scheduler_file))
    protocol, host, port = split_address(str(scheduler), argument)
    secure_config = tls is not None or configured_tls()
    if not protocol:
        protocol = "tls" if secure_config else "tcp"
    if protocol == "tcp" and tls is not None:
        raise ValueError(
            f"{argument}: {scheduler} is a plain tcp:// address but TLS files were given; "
            "use tls://"
        )
    if protocol == "tls" and not secure_config:
        raise ValueError(
            f"{argument}: {scheduler} asks for TLS: give --tls-ca-file, --tls-cert and "
            "--tls-key (or set distributed.comm.tls in Dask's configuration)"
        )
    if protocol == "tcp" and not is_loopback(host) and not allow_insecure:
        raise ValueError(
            f"{argument}: the scheduler {scheduler} is not on this machine and the connection "
            "would not be encrypted: anyone who can reach it can run code on the workers. Use "
            "TLS (--tls-ca-file, --tls-cert, --tls-key, and tls:// addresses), or pass "
            "--allow-insecure if the network is private to the grading machines"
        )
    return Target(address=f"{protocol}://{host}:{port}", tls=tls, source=str(scheduler))


def scheduler_address(path: Path) -> object:
    """The ``address`` in the scheduler file ``path``; ``ValueError`` naming the argument.

    Only a regular file of a sane size is read: a FIFO would block, ``/dev/zero`` never end.
    """
    expected = "the file `dask scheduler --scheduler-file PATH` wrote"
    found = inputs.look("scheduler_file", path, expected)
    if found is None:
        why = "no such file"
    elif not stat.S_ISREG(found.st_mode):
        why = "not a regular file"
    elif found.st_size > SCHEDULER_FILE_MAX:
        why = f"{found.st_size} bytes, more than {SCHEDULER_FILE_MAX}"
    else:
        try:
            return json.loads(path.read_text())["address"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            why = str(exc)
    raise ValueError(
        f"scheduler_file: {inputs.shown(path)} is not a scheduler file with an address ({why}); "
        "start the scheduler first: dask scheduler --scheduler-file PATH"
    )


def security(t: Target):
    """The ``distributed.security.Security`` for the client: the flags' files or the config."""
    from distributed.security import Security

    if t.tls:
        ca, cert, key = t.tls
        return Security(
            tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True
        )
    return Security()


CONNECT_TIMEOUT = 60  # seconds to reach the scheduler (a run's --worker-timeout, if shorter)


class _NoCancelledReconnect(logging.Filter):
    """Leaves out what Dask's client logs when its reconnecting is cancelled: a scheduler gone
    makes the client try to reconnect, and the run's end (which says in one line what
    happened) cancels that, which the client logs as an error with some forty lines of
    traceback of ``CancelledError``, before the run's line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, asyncio.CancelledError)


@contextlib.contextmanager
def _environment(**values: str):
    """``os.environ`` with ``values`` set while the block runs (what processes started in it
    inherit), then as it was."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _ended(proc) -> bool:
    """Whether a ``psutil.Process`` has exited: gone, or a zombie (it holds no lock and no
    file; where no process reaps orphans, as in a container whose first process does not, it
    stays a zombie, and waiting for it to go would cost the whole wait)."""
    import psutil

    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


class _LocalWorkers:
    """A local cluster's worker processes and what they started (helpers, their jobs), noted
    just before the cluster closes; once it has, waited for and what they left removed."""

    def __init__(self) -> None:
        self.processes: list = []

    def note(self, cluster) -> None:
        import psutil

        for nanny in list(cluster.workers.values()):
            pid = getattr(nanny, "pid", None)  # None: not (or no longer) started
            if not isinstance(pid, int) or pid == os.getpid():  # psutil.Process(None): this one
                continue
            with contextlib.suppress(psutil.Error):
                worker = psutil.Process(pid)
                self.processes += [worker, *worker.children(recursive=True)]

    def remove_leftovers(self, wait: float = LEFTOVERS_WAIT) -> None:
        import time

        from .helper import remove_dead_helpers_leftovers

        end = time.monotonic() + wait
        while not all(map(_ended, self.processes)) and time.monotonic() < end:
            time.sleep(0.05)
        remove_dead_helpers_leftovers()


@contextlib.contextmanager
def connect(t: Target, timeout: float = CONNECT_TIMEOUT, scratch: Path | None = None):
    """A ``distributed.Client`` for the target; a local cluster is stopped on the way out.

    ``scratch``: the local cluster's working folder (its workers' spill and lock files), e.g.
    inside the run's own mode-700 folder; by default Dask's (``/tmp/dask-scratch-space``, a
    shared path that any user of the machine could have made first).
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(NEEDS_DASK) from None
    with contextlib.ExitStack() as stack:
        quiet, client_log = _NoCancelledReconnect(), logging.getLogger("distributed.client")
        client_log.addFilter(quiet)
        stack.callback(client_log.removeFilter, quiet)  # once the client is closed
        if t.local:
            # The scheduler runs in this process: its retry bound is ours to set.
            settings = {"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}
            if scratch is not None:  # the scheduler's and the workers' working folders
                settings["temporary-directory"] = str(scratch)
            stack.enter_context(dask.config.set(settings))
            # The workers are this run's own processes and write to its terminal: a run
            # stopped (SIGTERM, Ctrl-C) under load had a worker's heartbeat meet the scheduler
            # already closed, and its ERROR and Dask traceback came before the run's one line.
            # What goes wrong in a task comes back to the run with the task. A worker process
            # sets up its logging from the environment as it imports distributed, before any
            # setting passed to it applies.
            stack.enter_context(_environment(DASK_LOGGING__DISTRIBUTED="critical"))
            # Closing the cluster kills a worker whose task is still running (a run stopped
            # by a signal): its helper dies with it and leaves its run folder and its jobs'
            # cgroups, which the task, killed too, no longer removes (a busy machine's stopped
            # run left one). Once the workers' processes have ended, this run removes them.
            ended = _LocalWorkers()
            stack.callback(ended.remove_leftovers)  # after the cluster is closed
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=t.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    scheduler_port=0,
                    dashboard_address="127.0.0.1:0",  # an HTTP server starts anyway: any free port
                    local_directory=None if scratch is None else str(scratch),
                )
            )
            stack.callback(ended.note, cluster)  # before the cluster is closed
            client = stack.enter_context(Client(cluster, timeout=timeout))
        else:
            try:
                client = stack.enter_context(
                    Client(t.address, security=security(t), timeout=timeout)
                )
            except (OSError, TimeoutError) as exc:
                raise ClusterError(
                    f"scheduler: could not connect to {t.source or t.address} within "
                    f"{timeout:g} s ({exc}); expected a running scheduler there (dask scheduler), "
                    "reachable from this machine"
                ) from None
        yield client
