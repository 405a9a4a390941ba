"""Kernel launcher of the grading sandbox: drop to the slot's uid, set limits, exec ipykernel.

Started by nbgrader (through the kernelspec that :mod:`lstm_grading.private_course` writes) as
``python -I -S kernel_launcher.py SETTINGS.json -f CONNECTION_FILE [kernel arguments...]``.
Run as a script, not as ``lstm_grading.kernel_launcher``, so that it imports nothing but the
standard library (the package imports NumPy) and costs a few milliseconds.

Steps, as root inside the sandbox's namespaces (full mode) or as the grading process's user (reduced
mode: ``lstm-autograde``'s, or a Dask worker's): read the connection file (jupyter writes it 0600
for its owner), send the kernel's own stdout/stderr to a log file, set the resource limits, switch
to the unprivileged uid with no way back (no supplementary groups, ``PR_SET_NO_NEW_PRIVS``); then,
as that uid, write the connection file's copy into the student's home, copy the assignment's files
from nbgrader's autograded folder (root's: the student cannot change it) into the kernel's own
folder, ``workdir``, and exec the kernel there (``KERNEL_MAIN``, ipykernel without its debugger,
with ``python -P``) with the output guard appended to the kernel's extensions, in the student's
environment (its home, TMPDIR and IPython folder; nbgrader's environment names none of the student's
folders).
Nothing runs as root in a folder the student's uid can change.
"""

import ctypes
import json
import os
import resource
import shutil
import signal
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1

# What the kernel runs: ipykernel_launcher's own two lines, debugpy left out first. ipykernel
# imports debugpy as it starts, for a Jupyter front end's debugging panel, which no grading run
# opens: about 0.09 of the 0.4 CPU-seconds a kernel takes to start here, on every submission.
# With the module unimportable, ipykernel starts without its debugger (kernel_info lists no
# "debugger" among its features), as it does where debugpy is not installed; student code
# that imports debugpy gets an ImportError.
KERNEL_MAIN = (
    "import sys; sys.modules['debugpy'] = None; "
    "from ipykernel import kernelapp; kernelapp.launch_new_instance()"
)


def _limit(which: int, value: int) -> None:
    resource.setrlimit(which, (value, value))


def _copy_new_files(src: str, dst: str) -> None:
    """Copy what ``src`` holds into ``dst``, keeping files ``dst`` has already (as the student)."""
    for folder, _, files in os.walk(src):
        rel = os.path.relpath(folder, src)
        target = os.path.normpath(os.path.join(dst, rel))
        os.makedirs(target, exist_ok=True)
        for name in files:
            if not os.path.lexists(os.path.join(target, name)):
                try:
                    shutil.copyfile(os.path.join(folder, name), os.path.join(target, name))
                except OSError as exc:  # not readable for the student: not theirs to have
                    print(f"kernel launcher: {name} not copied: {exc}", file=sys.stderr)


def main(argv: list[str]) -> None:
    with open(argv[0]) as f:
        settings = json.load(f)
    args = argv[1:]
    uid = settings.get("uid")  # None in reduced mode: stay the grading process's user
    index = args.index("-f") + 1
    with open(args[index], "rb") as f:
        connection = f.read()

    log = os.open(settings["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)

    mib = 1 << 20
    _limit(resource.RLIMIT_AS, settings["memory_mb"] * mib)
    _limit(resource.RLIMIT_FSIZE, settings["file_mb"] * mib)
    _limit(resource.RLIMIT_CORE, 0)
    if uid is not None:
        # Per uid, and root is exempt: only meaningful once we are the slot's uid.
        _limit(resource.RLIMIT_NPROC, settings["nproc"])
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    # Die with nbgrader (set after the uid switch, which clears it); reduced mode relies on it.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    copy = os.path.join(settings["home"], ".kernel-connection.json")
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.write(fd, connection)
    os.close(fd)
    args[index] = copy
    workdir = settings["workdir"]
    _copy_new_files(os.getcwd(), workdir)  # the cwd nbgrader gave: autograded/<id>/<assignment>
    os.chdir(workdir)

    python = settings["python"]
    # The kernel's own folders (home, TMPDIR, IPython's...), not those of nbgrader, which
    # started this launcher with its environment.
    os.environ.update(settings["env"])
    # -P: not the working folder first on sys.path, as `python -c` (and `-m`) puts it. It holds
    # whatever the student submitted beside the notebook, and a module there (ipykernel.py,
    # numpy.py, a package lstm_grading/) would be imported in place of the real one: the
    # kernel itself, the guards, the hidden tests' checks. IPython (9.7 and later) then leaves
    # the folder off sys.path too, as it does with the course's ignore_cwd.
    os.execv(python, [python, "-P", "-c", KERNEL_MAIN, *args, *settings["kernel_args"]])


if __name__ == "__main__":
    main(sys.argv[1:])
