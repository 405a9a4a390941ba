"""The job's root (lstm_grading.jail): what a bound host folder looks like from inside.

A course or Python environment installed under /tmp (a clone in /tmp, a CI work folder) is
bound into each job under the same path, and the job has a /tmp of its own. The job's /tmp
must not hide the bind: once it did, and every submission of a class graded from a clone in
/tmp failed with "No module named 'jupyter_core.migrate'" (the job fell back on the base
interpreter's packages).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from lstm_grading import linux

FULL = linux.probe()[0] == "full"


def jail_probe(arguments: str, bound: str, report: str) -> str:
    """A script to run with the ``arguments`` it names: in new namespaces, a child enters a job's
    root with ``bound`` (an expression) bound into it, runs ``report`` there, which prints what
    it sees, and exits with 0 (3, and the error printed, if anything raised)."""
    return textwrap.dedent(
        """
        import os, sys
        from lstm_grading import jail, linux
        {arguments} = sys.argv[1:]
        linux.unshare(linux.NAMESPACES)
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                jail.enter(root, {bound}, 16)
        {report}
                code = 0
            except BaseException as error:
                print("error", repr(error), flush=True)
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    ).format(
        arguments=arguments,
        bound=bound,
        report=textwrap.indent(textwrap.dedent(report).strip("\n"), " " * 8),
    )


# What a bound folder under /tmp looks like from the job: its marker, and whether it is writable;
# then whether the job's root folder (the skeleton holding the binds) is, to root in the job.
PROBE = jail_probe(
    "bound, root",
    "sorted({bound, *jail.allowlist()})",
    """
    def writable(folder):
        try:
            open(os.path.join(folder, "new.txt"), "w").close()
            return "writable"
        except OSError:
            return "read-only"
    seen = open(os.path.join(bound, "marker.txt")).read()
    print(seen, writable(bound), "/", writable("/"), flush=True)
    """,
)


@pytest.mark.skipif(not FULL, reason="the jail needs Linux namespaces and root")
def test_a_bind_under_tmp_is_seen_read_only_inside_the_job():
    """And the job's root folder is read-only too, even to root in the job."""
    top = Path(tempfile.mkdtemp(prefix="jail-test-", dir="/tmp"))  # under /tmp, wherever TMPDIR is
    try:
        bound, root = top / "course", top / "root"
        bound.mkdir()
        root.mkdir()
        (bound / "marker.txt").write_text("from the host")
        out = subprocess.run(
            [sys.executable, "-c", PROBE, str(bound), str(root)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.strip() == "from the host read-only / read-only"
        assert not (bound / "new.txt").exists()
    finally:
        shutil.rmtree(top)


# Run by the environment's Python under a linked name: what the job sees of its own interpreter.
LINKED_PROBE = jail_probe(
    "(root,)",
    "jail.allowlist()",
    """
    print(sys.prefix, os.path.exists(sys.executable),
          os.path.exists(os.path.join(sys.prefix, "pyvenv.cfg")), flush=True)
    """,
)


@pytest.mark.skipif(not FULL, reason="the jail needs Linux namespaces and root")
@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs a virtual environment")
def test_an_environment_reached_through_a_link_exists_inside_the_job():
    """A course whose .venv is a link to the real environment: the job's Python names its files
    by the link. Bound under their real paths only, they did not exist in the job, and every
    submission of a class failed in the full sandbox (nbgrader: FileNotFoundError for its
    nbgraderformat/v3.json; found grading with a .venv linked to another). This test printed
    "False False" before the fix."""
    top = Path(tempfile.mkdtemp(prefix="jail-test-", dir="/tmp"))
    try:
        link, root = top / "course" / ".venv", top / "root"
        link.parent.mkdir()
        root.mkdir()
        link.symlink_to(Path(sys.prefix).resolve())
        python = link / "bin" / Path(sys.executable).name
        out = subprocess.run(
            [str(python), "-c", LINKED_PROBE, str(root)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.split() == [str(link), "True", "True"]
    finally:
        shutil.rmtree(top)
