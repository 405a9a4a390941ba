"""The grader's parts that need no kernel: the no-follow copy, the locks, the checks, the pool."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest
from course import SOLUTIONS

from lstm_grading import course_lock, course_prep, safe_copy
from lstm_grading.course_lock import CourseBusy
from lstm_grading.course_prep import NOT_GLOB_SAFE
from lstm_grading.pool import Pool
from lstm_grading.sandbox import Limits
from lstm_grading.submission_checks import diagnose


def test_copy_keeps_regular_files_and_refuses_links_and_special_files(tmp_path):
    src, dst, outside = tmp_path / "src", tmp_path / "dst", tmp_path / "outside"
    (src / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("host")
    (src / "a.ipynb").write_text("notebook")
    (src / "sub" / "b.txt").write_text("data")
    (src / "link").symlink_to(outside / "secret")
    (src / "dirlink").symlink_to(outside)
    os.mkfifo(src / "fifo")  # opening it blocking would hang the copy
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(src / "sock"))
        report = safe_copy.copy_path_tree(str(src), str(dst), budget=1000)
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*")) == [
        "a.ipynb",
        "sub",
        "sub/b.txt",
    ]
    assert sorted(report.refused) == ["dirlink", "fifo", "link", "sock"]
    assert "4 link(s) or special file(s) not kept" in report.notes()[0]
    assert (outside / "secret").read_text() == "host"


def test_copy_stays_within_its_budget_notebooks_first(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    (src / "z.ipynb").write_bytes(b"n" * 600)
    (src / "a.bin").write_bytes(b"x" * 600)
    report = safe_copy.copy_path_tree(str(src), str(dst), budget=1000, first=("z.ipynb",))
    assert [p.name for p in dst.iterdir()] == ["z.ipynb"]
    assert (report.copied_bytes, report.left_out, report.left_out_bytes) == (600, ["a.bin"], 600)
    assert "600 bytes, not kept: over the limit of 1000 bytes" in report.notes()[0]


def test_copy_never_overwrites_what_the_destination_has(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "f").write_text("new")
    (dst / "f").write_text("kept")
    safe_copy.copy_path_tree(str(src), str(dst), budget=1000)
    assert (dst / "f").read_text() == "kept"


def test_second_lock_on_a_course_names_the_holder(tmp_path):
    fd = course_lock.lock_course(tmp_path, "ps01_activations")
    try:
        with pytest.raises(CourseBusy, match=f"pid {os.getpid()}, started .*ps01_activations"):
            course_lock.lock_course(tmp_path, "ps02_gates")
    finally:
        os.close(fd)
    os.close(course_lock.lock_course(tmp_path, "ps02_gates"))  # free again once closed


def test_only_run_folders_of_dead_runs_are_removed(tmp_path):
    live, live_fd = course_lock.make_run_folder()
    dead, dead_fd = course_lock.make_run_folder()
    os.close(dead_fd)  # as if its run had been killed
    try:
        removed = course_lock.remove_stale_run_folders()
        assert dead in removed and not dead.exists()
        assert live not in removed and live.exists()
    finally:
        os.close(live_fd)
        course_lock.remove_stale_run_folders()
    assert not live.exists()


def test_student_ids_as_nbgrader_takes_them(tmp_path):
    for student in ("bob smith", "zoë", "a[1]", ".hidden"):
        (tmp_path / "submitted" / student / "ps01").mkdir(parents=True)
    (tmp_path / "submitted" / "linked").symlink_to(tmp_path / "submitted" / "zoë")
    (tmp_path / "submitted" / "other" / "ps02").mkdir(parents=True)
    found, refused = course_prep.find_submissions(tmp_path, "ps01")
    assert sorted(found) == ["bob smith", "zoë"]
    assert refused == {"a[1]": NOT_GLOB_SAFE, "linked": "student folder is a symbolic link"}


def test_diagnosis_names_the_first_real_problem(tmp_path):
    names = ("ps01.ipynb",)
    (tmp_path / "ps01 (1).ipynb").write_text("{}")
    assert diagnose(tmp_path, names) == "no notebook named ps01.ipynb; found 'ps01 (1).ipynb'"
    (tmp_path / "ps01.ipynb").write_bytes(b'{"cells": ["caf\xe9"]}')
    # the byte after '{"cells": ["caf', which is 15 bytes long
    assert diagnose(tmp_path, names) == "ps01.ipynb is not valid UTF-8 at byte 15"
    (tmp_path / "ps01.ipynb").write_text('{"cells": [')
    assert diagnose(tmp_path, names).startswith("ps01.ipynb is not a notebook: not JSON")
    (tmp_path / "ps01.ipynb").write_text(json.dumps({"cells": []}))
    assert diagnose(tmp_path, names) == ""


@pytest.mark.parametrize("field", ["cell_timeout", "return_mb", "disk_mb"])
def test_limits_must_be_positive(field):
    with pytest.raises(ValueError, match=f"Limits.{field}: got 0; expected "):
        Limits(**{field: 0})


def _echo(x):
    return x * 2


def _die(_):
    os.kill(os.getpid(), signal.SIGKILL)


def test_pool_reports_a_dead_worker_with_its_task_and_goes_on():
    with Pool(2, {"echo": _echo, "die": _die}, preload=False) as pool:
        pool.submit("a", "echo", 21)
        pool.submit("b", "die", None)
        pool.submit("c", "echo", 1)
        results = {key: (value, died) for key, value, died in pool.results()}
        workers = [proc for proc, _ in pool.workers]
    assert results == {
        "a": (42, None),
        "b": (None, "the worker process grading it was killed (SIGKILL)"),
        "c": (2, None),
    }
    assert not any(proc.is_alive() for proc in workers)


# A pool worker's preparation, seen from a fresh interpreter: what a grading job then does with
# a submission (nbformat reads it strictly, nbconvert checks it relaxed between steps, nbgrader
# opens gradebooks) must find its schemas compiled and its mappers configured already.
PRELOAD_PROBE = r"""
import json, sys
import nbformat, nbformat.validator as validator
from lstm_grading import sandbox
sandbox.preload()
from nbgrader.api import Base
cached = set(validator.validators)
nb = nbformat.read(sys.argv[1], as_version=4)
nbformat.validate(nb, relax_add_props=True)
print(json.dumps({
    "cached": len(cached),
    "compiled_by_the_job": len(set(validator.validators) - cached),
    "mappers_configured": all(m.configured for m in Base.registry.mappers),
    "mappers": len(Base.registry.mappers),
}))
"""


def test_a_pool_worker_is_warm_for_its_jobs():
    notebook = SOLUTIONS / "ps01_activations" / "ps01_activations.ipynb"
    out = subprocess.run(
        [sys.executable, "-c", PRELOAD_PROBE, str(notebook)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    probe = json.loads(out.splitlines()[-1])
    assert probe["cached"] == 2  # the strict and the relaxed schema of the current nbformat
    assert probe["compiled_by_the_job"] == 0
    assert probe["mappers"] > 0 and probe["mappers_configured"]
