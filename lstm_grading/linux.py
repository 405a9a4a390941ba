"""Linux primitives of the grading sandbox: namespaces, mounts, pivot_root, parent-death signals.

Thin wrappers over the system calls (through ``ctypes``, no extra dependency) that
:mod:`lstm_grading.jail` and :mod:`lstm_grading.sandbox` compose, plus :func:`probe`, which
says whether this machine can run the full sandbox.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import signal
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _enc(s):
    return s.encode() if isinstance(s, str) else s


def mount(source, target, fstype=None, flags=0, data=None) -> None:
    """mount(2)."""
    flags = ctypes.c_ulong(flags)
    _check(
        _libc.mount(_enc(source), _enc(target), _enc(fstype), flags, _enc(data)), f"mount {target}"
    )


def bind_readonly(source: str, target: str) -> None:
    """Bind ``source`` (a path or ``/proc/self/fd/N``) at ``target``, read-only, nosuid, nodev."""
    mount(source, target, None, MS_BIND | MS_REC)
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def umount_detach(target: str) -> None:
    _check(_libc.umount2(_enc(target), ctypes.c_int(MNT_DETACH)), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    """pivot_root(2): ``new_root`` becomes ``/``, the old root moves to ``put_old``."""
    _check(_libc.syscall(155, _enc(new_root), _enc(put_old)), "pivot_root")  # x86_64


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")


def die_with_parent(parent: int | None) -> None:
    """Get SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); exit now if it already has.

    ``parent`` is the pid the parent had before the fork (None: PID 1 of a new namespace,
    whose parent is outside it).
    """
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    if parent is not None and os.getppid() != parent:  # the parent died before the prctl
        os._exit(1)


def loopback_up() -> None:
    """``ip link set lo up`` with two ioctls (SIOCGIFFLAGS, SIOCSIFFLAGS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, 0x8913, req))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))


# keyctl(2) (x86_64's number, as pivot_root's above: the full sandbox runs on x86_64 only).
SYS_KEYCTL = 250
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR, KEYCTL_GET_PERSISTENT = 1, 7, 22
KEY_SPEC_THREAD_KEYRING, KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = -1, -4, -5
# What keyctl(2) fails with where the kernel has no keyrings or a seccomp filter (Docker's
# default) forbids the call: then no process of the job can use them either.
NO_KEYRINGS = (errno.ENOSYS, errno.EPERM)


def _keyctl(*args: int) -> int:
    result = _libc.syscall(SYS_KEYCTL, *(ctypes.c_long(a) for a in args))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"keyctl: {os.strerror(err)}")
    return result


def new_session_keyring() -> None:
    """Give this process, and every process it starts, a new and empty session keyring.

    A process inherits its parent's session keyring, and possesses every key in it, whatever
    its uid: a kernel dropped to the slot's uid could read each key of the keyring that the
    instructor's ``lstm-autograde`` started with (the login session's: Kerberos tickets,
    ecryptfs and NFS keys), and add keys to it. Nothing to do where keyrings are not available
    (:data:`NO_KEYRINGS`).
    """
    try:
        _keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0)
    except OSError as exc:
        if exc.errno not in NO_KEYRINGS:
            raise


def clear_keyrings(uid: int) -> None:
    """Empty the keyrings of ``uid`` that outlive its processes: its user keyring, its user
    session keyring and its persistent keyring (kept for days), in a child that takes ``uid``.

    A job's kernel can keep keys there: left on the machine, and found by the next job of the
    same worker slot (the same uid), another student's. Called by root once every process of
    the job has ended; raises ``OSError`` if the child did not succeed.
    """
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for keyring in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING):
                _keyctl(KEYCTL_CLEAR, keyring)
            try:
                persistent = _keyctl(KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_THREAD_KEYRING)
            except OSError as exc:  # a kernel built without persistent keyrings
                if exc.errno != errno.EOPNOTSUPP:
                    raise
            else:
                _keyctl(KEYCTL_CLEAR, persistent)
            code = 0
        except OSError as exc:
            code = 0 if exc.errno in NO_KEYRINGS else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise OSError(f"the keyrings of uid {uid} could not be cleared")


def probe() -> tuple[str, str]:
    """("full", "") if namespaces, pivot_root and a uid switch work here, else ("reduced", why)."""
    if not sys.platform.startswith("linux"):
        return "reduced", f"no Linux namespaces on {sys.platform}"
    if os.uname().machine != "x86_64":
        machine = os.uname().machine
        return "reduced", f"pivot_root's system call number is known for x86_64 only, not {machine}"
    if os.geteuid() != 0:
        return "reduced", "not root (namespaces and the uid switch need root)"
    pid = os.fork()
    if pid == 0:
        try:
            unshare(NAMESPACES)
            mount(None, "/", None, MS_REC | MS_PRIVATE)
            mount("tmpfs", "/mnt", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
            loopback_up()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return "reduced", "unshare(mount, uts, ipc, pid, net) is not permitted here"
    return "full", ""
