"""Inside a job: the private course, nbgrader run in it, and the results copied out.

The private course (``course``) is the run's template plus this one submission; the kernel's
home (``home``) holds the kernel's own folder, ``home/<assignment>``. :func:`prepare` fills
both and writes the kernelspec that starts kernels through :mod:`lstm_grading.kernel_launcher`;
:func:`run_nbgrader` runs ``nbgrader autograde`` in a child; :func:`copy_out` brings the
results back through :mod:`lstm_grading.safe_copy` once every process of the job is dead.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import site
import sys
import sysconfig
import tempfile
import traceback
import warnings

from . import safe_copy
from .job import GRADEBOOK_BYTES, KERNEL_LOG_BYTES, LAST_CELL_BYTES, Job

COURSE = "/tmp/course"  # the private course, inside the sandbox (full mode)
HOME = "/tmp/home"  # the kernel's home (and its TMPDIR below it), owned by the slot's uid


def environment(course: str, job: Job) -> dict[str, str]:
    """The environment of the job's nbgrader (root in full mode), which its kernels inherit.

    It names no folder of the student's: nbgrader's home and temporary folder are folders of
    the private course that only its own uid can write. What differs for the kernel (its home,
    TMPDIR, IPython's and Matplotlib's folders, the user's name) is :func:`kernel_environment`,
    which the kernel launcher sets only after it has dropped to the student's uid.
    """
    bindir = os.path.dirname(job.python)
    return {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": os.path.join(course, ".home"),
        "TMPDIR": os.path.join(course, ".jupyter-runtime"),
        "USER": "grader",
        "LOGNAME": "grader",
        "LANG": "C.UTF-8",
        "JUPYTER_PATH": os.path.join(course, ".jupyter-path"),
        "JUPYTER_CONFIG_DIR": os.path.join(course, ".jupyter-config"),
        "JUPYTER_DATA_DIR": os.path.join(course, ".jupyter-data"),
        "JUPYTER_RUNTIME_DIR": os.path.join(course, ".jupyter-runtime"),
        "IPYTHONDIR": os.path.join(course, ".home", ".ipython"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",  # one worker per core: no BLAS threads on top
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MiB of address space per arena
        "LSTM_GRADING_CELL_TIMEOUT": str(job.limits.cell_timeout),
        **({"PYTHONPATH": path} if (path := package_path()) else {}),
    }


def package_path() -> str:
    """The kernel's PYTHONPATH: the folders holding the ``lstm_grading`` and ``lstm_core`` that
    this process runs, unless they are the interpreter's own site-packages.

    Without it, the kernel's ``python -P`` looked the two packages up afresh, without the
    PYTHONPATH of the run, and could find others than the run's: an editable install of another
    checkout, or the site-packages copy under a checkout run as ``python -m lstm_grading``.
    The hidden tests then ran other checks than the run's (reduced mode) or, in the full sandbox,
    which binds only the run's package folders, failed to import them, and every student was
    "graded" 0 with no note (found running a class from a clone with PYTHONPATH set).
    """
    from .course_prep import grading_code

    standard = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    standard |= set(site.getsitepackages())
    standard = {os.path.realpath(p) for p in standard}
    folders = []
    for package in grading_code():
        parent = str(package.parent)
        if parent not in standard and parent not in folders:
            folders.append(parent)
    return os.pathsep.join(folders)


def kernel_environment(home: str) -> dict[str, str]:
    """What the kernel's environment changes of nbgrader's: the student's own folders."""
    return {
        "HOME": home,
        "TMPDIR": os.path.join(home, "tmp"),
        "USER": "student",
        "LOGNAME": "student",
        "IPYTHONDIR": os.path.join(home, ".ipython"),
        "MPLCONFIGDIR": os.path.join(home, ".matplotlib"),
        "MPLBACKEND": "agg",
    }


def prepare(job: Job, template_fd: int, submission_fd: int, course: str, home: str):
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
    env = environment(course, job)
    for key in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
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
                "env": kernel_environment(home),
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


def run_nbgrader(job: Job, course: str, env: dict[str, str], log_fd: int) -> None:
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
        # nbgrader's own temporary files (jupyter_client's connection file, 0600) go to a
        # folder of the private course that only nbgrader's uid can write, and go with it:
        # not to the kernel's TMPDIR (the student's), nor to the host's /tmp, where a job
        # killed in reduced mode left them behind. (``env`` says so too; tempfile may have
        # read the caller's TMPDIR already.)
        tempfile.tempdir = env["TMPDIR"]
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # nbgrader's warnings go to its log, whatever filters the calling process had
        # (a test run's "error" filter would turn SQLAlchemy's SAWarning into a failure).
        warnings.resetwarnings()
        from nbgrader.apps.nbgraderapp import NbGraderApp

        # The job's namespace is torn down right after, so a graceful kernel shutdown
        # (nbclient's default, waiting for the kernel to exit) buys nothing here. The kernel
        # is always the python3 kernelspec written above (the launcher that drops to the
        # slot's uid): nbclient would otherwise take the name from the notebook's metadata,
        # which the student wrote, whenever the gradebook holds no kernelspec for it, and look
        # for it in other folders too, the student's IPython folder among them.
        argv = [
            "autograde",
            job.assignment,
            "--force",
            "--Execute.shutdown_kernel=immediate",
            "--Execute.kernel_name=python3",
        ]
        try:
            NbGraderApp.launch_instance(argv=argv)
            rc = 0
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if isinstance(exc.code, str):  # a message (nbgrader_config.py's): into the log
                print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(rc)


def open_home(home: str, *names: str) -> int:
    """A directory fd of ``home``, or of the folder ``names`` below it, without following links.

    The student's code owns ``home`` and everything in it, and may have replaced any of these
    folders, ``home`` itself included, by a symbolic link: to a folder root can read and the
    student cannot, or through PID 1's open folders (``/proc/1/fd/N/../..``) to the host. A
    path handed to ``open`` is resolved by the kernel, which follows a link in any component
    but the last, whatever ``O_NOFOLLOW`` says. So each name is opened in its parent's fd,
    from ``home``'s parent (``/tmp`` in the sandbox, root's), refusing links one by one
    (:func:`safe_copy.open_below`).
    """
    return safe_copy.open_below(os.path.dirname(home), os.path.join(home, *names))


def copy_out(job: Job, course: str, home: str, out_fd: int) -> dict:
    """Copy the results into ``out_fd``, once every process of the job is dead.

    The autograded folder (written by nbgrader, root's) comes first, notebooks first; then
    the files the student's code left in its own folder, except notebooks; all within
    ``Limits.return_mb``. The private gradebook (at most one byte over
    :data:`~lstm_grading.job.GRADEBOOK_BYTES`, so that the coordinator sees it is too large)
    and logs are read without following links, and the student's folders are reached without
    following any (:func:`open_home`). In reduced mode the student's code could have put
    anything in the results folder first: a file that cannot be written is a note.
    """
    report = safe_copy.CopyReport(int(job.limits.return_mb * (1 << 20)))
    notes = make_autograded(out_fd)
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
            src = open_home(home, job.assignment)
            try:
                safe_copy.copy_tree(src, dst, report, skip_suffix=".ipynb")
            finally:
                os.close(src)
    finally:
        os.close(dst)
    notes += report.notes()
    for folder, name, as_name, limit in (
        (course, "gradebook.db", "gradebook.db", GRADEBOOK_BYTES + 1),
        (course, ".kernel.log", "kernel.log", KERNEL_LOG_BYTES),
        (home, ".lstm-grading-cell", "last-cell.txt", LAST_CELL_BYTES),
    ):
        try:  # the student's home is reached link by link; the course is root's or the job's
            src = open_home(folder) if folder == home else safe_copy.open_dir(folder)
        except OSError:
            continue
        try:
            got = safe_copy.read_capped(name, src, limit)
        finally:
            os.close(src)
        if not got.problem:
            notes += return_file(out_fd, as_name, got.data)
        elif not got.missing:
            notes.append(f"the job's {name} {got.problem}: not returned")
    return {"returned_bytes": report.copied_bytes, "return_notes": notes}


def make_autograded(out_fd: int) -> list[str]:
    """Make the folder ``autograded`` in the results folder ``out_fd``: [], or a note saying
    what was there first.

    In reduced mode the student's code can reach the results folder and make ``autograded``
    (a folder of notebooks of its own, a link, a FIFO) before the job does. That is moved
    aside, not opened, under a name the coordinator never reads, and a folder of the job's own
    is made: the grade, in the private gradebook, is kept. Only if something is put there
    again at once does this raise ``FileExistsError``, saying so.
    """
    notes = []
    for _ in range(2):
        try:
            os.mkdir("autograded", 0o700, dir_fd=out_fd)
            return notes
        except FileExistsError:
            pass
        try:
            st = os.stat("autograded", dir_fd=out_fd, follow_symlinks=False)
            kind = safe_copy.kind_of(st.st_mode)
        except OSError:
            kind = "something"
        aside = f".autograded-not-the-jobs-{secrets.token_hex(8)}"
        with contextlib.suppress(FileNotFoundError):  # gone since: the mkdir is tried again
            os.rename("autograded", aside, src_dir_fd=out_fd, dst_dir_fd=out_fd)
        notes.append(
            f"the job's results folder held autograded ({kind}) before the job made it: another "
            "process wrote there; not returned"
        )
    raise FileExistsError(
        "the job's results folder held autograded again after the job moved one aside: another "
        "process keeps writing there, so the autograded folder was not made"
    )


def return_file(out_fd: int, name: str, data: bytes) -> list[str]:
    """:func:`write_file` of ``name`` into the results folder ``out_fd``: [] if written, else a
    note saying why not (in reduced mode, the student's code could have put a folder there)."""
    try:
        write_file(out_fd, name, data)
    except OSError as exc:
        return [f"{name} not written in the job's results folder ({exc.strerror})"]
    return []


def write_file(dir_fd: int, name: str, data: bytes) -> None:
    """Write ``name`` in the folder ``dir_fd`` as a new file, in place of a file, a link or a
    FIFO of that name, none of which is opened.

    Written under a new name of its own, then renamed over ``name``: in reduced mode the
    student's code can reach the results folder, and a FIFO put there in advance would block
    an open for writing forever (and the run with it), a link would be followed. A rename
    replaces either without opening it. A folder of that name it cannot replace: that raises
    ``OSError`` (``IsADirectoryError``), as does a full disk, and no temporary file is left.
    """
    for _ in range(100):
        temp = f".{name}.{secrets.token_hex(8)}"
        try:
            fd = safe_copy.create_file(temp, dir_fd)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(f"no new name for {name} in the results folder")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=dir_fd)
        raise
