"""The copy-out reaches the student's folders without following links (private_course.open_home).

The student's code owns its home folder (``/tmp/home`` in the sandbox) and may rename it, or a
folder in it, and put a symbolic link in its place: to a folder that root can read and the
student cannot, or through PID 1's open folders (``/proc/1/fd/N/../..``) to the host. Root,
copying the results out after the kernel has died, must not follow it. Here the copy-out runs
as it does in a job, on folders made as a student would leave them, without the sandbox (the
links it refuses are the same).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lstm_grading import private_course
from lstm_grading.job import Job, Limits

A = "ps01_activations"
SECRET = "CANARY: instructor's private file"


@pytest.fixture
def job_folders(tmp_path):
    """A job's private course, the student's home with its working folder, an output folder,
    and a host canary folder named like the working folder, which a followed link would
    copy."""
    course = tmp_path / "course"
    (course / "autograded" / "bob" / A).mkdir(parents=True)
    (course / "autograded" / "bob" / A / f"{A}.ipynb").write_text("{}")
    home = tmp_path / "home"
    (home / A).mkdir(parents=True)
    (home / A / "plot.png").write_bytes(b"the student's own file")
    canary = tmp_path / "host" / "canary"
    (canary / A).mkdir(parents=True)
    (canary / A / "secret.txt").write_text(SECRET)
    out = tmp_path / "out"
    out.mkdir()
    job = Job(
        "bob", A, str(tmp_path), str(tmp_path), Limits(), "reduced", notebooks=(f"{A}.ipynb",)
    )
    return job, course, home, canary, out


def copied(job, course: Path, home: Path, out: Path) -> dict[str, bytes]:
    out_fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        private_course.copy_out(job, str(course), str(home), out_fd)
    finally:
        os.close(out_fd)
    back = out / "autograded"
    return {str(p.relative_to(back)): p.read_bytes() for p in back.rglob("*") if p.is_file()}


def test_the_students_own_files_come_back(job_folders):
    job, course, home, _, out = job_folders
    assert copied(job, course, home, out) == {
        f"{A}.ipynb": b"{}",
        "plot.png": b"the student's own file",
    }


@pytest.mark.parametrize("swapped", ["home", "working folder"])
def test_a_folder_swapped_for_a_link_is_not_followed(job_folders, swapped):
    job, course, home, canary, out = job_folders
    if swapped == "home":  # the whole home: a link in the middle of the path
        home.rename(home.with_name("home.moved"))
        home.symlink_to(canary)
    else:  # the last folder
        (home / A).rename(home / "moved")
        (home / A).symlink_to(canary / A)
    assert (home / A / "secret.txt").read_text() == SECRET  # where the link leads
    back = copied(job, course, home, out)
    assert back == {f"{A}.ipynb": b"{}"}  # nothing of the canary's, nor of the moved folder
    assert not any(SECRET.encode() in data for data in back.values())


def test_open_home_refuses_a_link_at_any_depth(tmp_path):
    (tmp_path / "home" / "a").mkdir(parents=True)
    fd = private_course.open_home(str(tmp_path / "home"), "a")
    os.close(fd)
    (tmp_path / "elsewhere" / "a").mkdir(parents=True)
    (tmp_path / "home").rename(tmp_path / "home.moved")
    (tmp_path / "home").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        private_course.open_home(str(tmp_path / "home"), "a")
