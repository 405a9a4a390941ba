"""The grader's parts that need no kernel: the no-follow copy, the locks, the checks, the pool."""

from __future__ import annotations

import contextlib
import csv
import errno
import functools
import hashlib
import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import types
import warnings
from pathlib import Path

import pytest
from course import SOLUTIONS
from small_course import NB, graded_result, make_course, merged_by_a_run

from lstm_grading import (
    cgroup,
    course_lock,
    course_prep,
    disk,
    gradebook_merge,
    output_guard,
    parallel,
    report,
    safe_copy,
    submission_checks,
)
from lstm_grading.course_lock import CourseBusy
from lstm_grading.course_prep import NOT_GLOB_SAFE
from lstm_grading.pool import Pool
from lstm_grading.sandbox import Limits
from lstm_grading.submission_checks import diagnose, read_timestamp, static_checks


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


def test_what_a_submissions_copy_leaves_out_is_a_note_in_both_modes(tmp_path):
    """The copy that gives a job the submitted folder (the local pool's ``copy_path_tree``, the
    Dask coordinator's ``read_files``) left out links, FIFOs and files over the job's disk
    without a word: a notebook that opened one failed with only "file not found" to go on.
    Both now return the same notes, with names a student chose shown on one line."""
    from lstm_grading.cluster import coordinator

    src = tmp_path / "submitted"
    src.mkdir()
    (src / "a.ipynb").write_text("notebook")
    (src / "big.bin").write_bytes(b"x" * 600)
    (src / "line\nbreak").symlink_to("/etc/hostname")
    os.mkfifo(src / "pipe")
    local = safe_copy.copy_path_tree(str(src), str(tmp_path / "job"), budget=500).notes()
    files, on_dask = coordinator.read_files(src, 500)
    assert sorted(files) == ["a.ipynb"]
    assert (
        local
        == on_dask
        == [
            "1 file(s), 600 bytes, not kept: over the limit of 500 bytes per submission "
            "(first: big.bin)",
            "2 link(s) or special file(s) not kept (first: line\\nbreak)",
        ]
    )
    assert parallel.taken_notes(local)[1].startswith("submitted folder: 2 link(s)")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "elsewhere")
    assert coordinator.read_files(tmp_path / "linked", 700) == (
        {},
        ["1 link(s) or special file(s) not kept (first: linked/)"],
    )
    refused = safe_copy.copy_path_tree(str(tmp_path / "linked"), str(tmp_path / "j2"), 700)
    assert refused.notes() == ["1 link(s) or special file(s) not kept (first: linked/)"]
    # A folder that cannot be opened for another reason is said as it is, not called a link.
    gone = ["the folder could not be opened (gone/: No such file or directory)"]
    assert coordinator.read_files(tmp_path / "gone", 700) == ({}, gone)
    assert safe_copy.copy_path_tree(str(tmp_path / "gone"), str(tmp_path / "j3"), 700).notes() == (
        gone
    )


def test_copy_never_overwrites_what_the_destination_has(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "f").write_text("new")
    (dst / "f").write_text("kept")
    safe_copy.copy_path_tree(str(src), str(dst), budget=1000)
    assert (dst / "f").read_text() == "kept"


def test_copy_takes_folders_down_to_max_depth_and_no_deeper(tmp_path):
    """Folders are copied down to safe_copy.MAX_DEPTH levels below the submission: a file in
    the folder MAX_DEPTH levels down comes back, the folder one level deeper is left out and
    named in the note. The Dask path's read (coordinator.read_files) and the course's hash
    (course_prep.tree_hash, which covers exactly what the copy takes) draw the same line."""
    from lstm_grading.cluster import coordinator

    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    depth = safe_copy.MAX_DEPTH
    too_deep = chain(src, depth + 1)  # src/a/.../a, MAX_DEPTH + 1 folders
    kept = "/".join(["a"] * depth + ["f"])  # in the deepest folder copied
    (src / kept).write_text("at the copy's depth")
    (too_deep / "g").write_text("one folder too deep")
    before = course_prep.tree_hash(src, 1 << 20)
    report = safe_copy.copy_path_tree(str(src), str(dst), 1 << 20)
    copied = [str(p.relative_to(dst)) for p in dst.rglob("*") if p.is_file()]
    assert copied == [kept]
    left_out = "a/" * (depth + 1)
    assert report.refused == [left_out]
    assert report.notes() == [f"1 link(s) or special file(s) not kept (first: {left_out})"]
    files, notes = coordinator.read_files(src, 1 << 20)
    assert sorted(files) == [kept] and notes == report.notes()
    (too_deep / "g").write_text("changed where the copy does not reach")
    assert course_prep.tree_hash(src, 1 << 20) == before
    (src / kept).write_text("changed where the copy reaches")
    assert course_prep.tree_hash(src, 1 << 20) != before


def test_a_notebook_renamed_in_the_submitted_folder_makes_a_changed_submission(tmp_path):
    """The instructor guide's remedy for a notebook handed in under another name: renamed in
    submitted/<student>/<id>/, the same bytes hash differently, so the next run grades the
    submission again without --force (the hash covers the names as well as the contents)."""
    folder = tmp_path / "ps01_activations"
    folder.mkdir()
    misnamed = folder / "ps01_activations (1).ipynb"
    misnamed.write_text('{"cells": []}')
    before = course_prep.tree_hash(folder, 1 << 20)
    misnamed.rename(folder / "ps01_activations.ipynb")
    assert course_prep.tree_hash(folder, 1 << 20) != before


def test_a_link_anywhere_below_the_course_is_not_followed_to_a_submission(tmp_path):
    """open_below refuses a link at every step from the course down (a student folder swapped
    for a link to another's), where open_dir refuses one only as the last name; the copy for
    the job and the Dask path's read open a submission so."""
    from lstm_grading.cluster import coordinator

    victim = tmp_path / "submitted" / "victim" / "ps"
    victim.mkdir(parents=True)
    (victim / NB).write_text("the victim's")
    (tmp_path / "submitted" / "swapper").symlink_to(victim.parent)
    swapped = tmp_path / "submitted" / "swapper" / "ps"
    os.close(safe_copy.open_dir(str(swapped)))  # followed: the link is not the last name
    with pytest.raises(OSError) as refused:
        safe_copy.open_below(str(tmp_path), str(swapped))
    assert refused.value.errno in (errno.ELOOP, errno.ENOTDIR)
    report = safe_copy.copy_path_tree(
        str(swapped), str(tmp_path / "job"), 1 << 20, top=str(tmp_path)
    )
    assert report.notes() == ["1 link(s) or special file(s) not kept (first: ps/)"]
    assert list((tmp_path / "job").iterdir()) == []
    assert coordinator.read_files(swapped, 1 << 20, top=tmp_path) == ({}, report.notes())
    fd = safe_copy.open_below(str(tmp_path), str(victim))  # no link on the way: opened
    os.close(fd)


STUDENT, OTHER = 61001, 61002  # uids of no one: a student, and someone else


@pytest.mark.skipif(os.geteuid() != 0, reason="files of other owners are made as root")
def test_a_hard_link_to_a_file_of_another_owner_is_not_copied(tmp_path):
    """A hard link in a student's submitted folder to a file of another owner (another
    student's notebook, a file of the instructor's) is refused by the copy for the job and by
    the Dask path's read, counted by its name alone in the hash, and named for what it is by
    the folder's checks. A second name of the student's own file is not: it may be the other
    student's link to it, which must not cost its owner the grade. Copies of other folders (the
    template, a job's results) take both, as before."""
    from lstm_grading.cluster import coordinator

    src, release = tmp_path / "submitted", tmp_path / "release"
    src.mkdir()
    release.mkdir()
    (release / NB).write_text(notebook())
    other = tmp_path / "other-student.ipynb"
    other.write_text(notebook({"cell_type": "code", "metadata": {}, "source": "os._exit(0)"}))
    (src / "own.txt").write_text("mine")
    os.link(src / "own.txt", tmp_path / "a link to it from elsewhere")
    os.link(other, src / NB)
    os.link(other, src / "timestamp.txt")
    for path in (src, src / "own.txt"):
        os.chown(path, STUDENT, STUDENT)
    os.chown(other, OTHER, OTHER)
    note = f"2 {safe_copy.HARD_LINKS} not kept (first: {NB})"
    copied = safe_copy.copy_path_tree(str(src), str(tmp_path / "job"), 1 << 20, submitted=True)
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == ["own.txt"]
    assert copied.notes() == [note]
    files, notes = coordinator.read_files(src, 1 << 20, submitted=True)
    assert files == {"own.txt": b"mine"} and notes == [note]
    plain = safe_copy.copy_path_tree(str(src), str(tmp_path / "plain"), 1 << 20)
    assert plain.notes() == [] and (tmp_path / "plain" / NB).read_text() == other.read_text()
    assert coordinator.read_files(src, 1 << 20)[0][NB] == other.read_bytes()
    what = f"is {submission_checks.HARD_LINK}, not the student's own"
    assert finishes(lambda: diagnose(src, (NB,))) == f"{NB} {what}: not read, not graded"
    assert finishes(lambda: static_checks(src, release)) == ([f"{NB} {what}: not read"], [])
    assert finishes(lambda: read_timestamp(src)) == ("", f"timestamp.txt {what}: ignored")
    before = course_prep.tree_hash(src, 1 << 20)
    other.write_text(notebook())  # the other owner's file changes: not what the copy takes
    assert course_prep.tree_hash(src, 1 << 20) == before
    os.chown(other, STUDENT, STUDENT)  # now the student's: the copy takes it
    assert course_prep.tree_hash(src, 1 << 20) != before
    assert finishes(lambda: diagnose(src, (NB,))) == ""


def test_second_lock_on_a_course_names_the_holder(tmp_path):
    fd = course_lock.lock_course(tmp_path, "ps01_activations")
    try:
        with pytest.raises(CourseBusy, match=f"pid {os.getpid()}, started .*ps01_activations"):
            course_lock.lock_course(tmp_path, "ps02_gates")
    finally:
        os.close(fd)
    os.close(course_lock.lock_course(tmp_path, "ps02_gates"))  # free again once closed


def test_only_run_folders_of_dead_runs_are_removed(tmp_path, monkeypatch):
    """A run removes the run folders whose owner lock is free (their run died), never a live
    run's. Both are made in ``tmp_path`` (the default folder of the calls without one): in the
    machine's /tmp, a grader running meanwhile (a test of `make test`'s other pytest-xdist
    worker) may remove the dead one first, as it should, and the grading tests' host checks
    would count the live one as theirs, and its cleanup would remove the folder their killed
    run leaves for the next run (test_grading_attacks.py's SIGKILLed coordinator)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    live, live_fd = course_lock.make_run_folder()
    assert live.parent == tmp_path
    dead = tmp_path / f"{course_lock.RUN_PREFIX}dead"
    dead.mkdir()
    (dead / course_lock.OWNER).write_text("")  # as a killed run leaves it: its lock free
    # What a reduced-mode student's code may have left in a job's folder: a chain of folders
    # deeper than shutil.rmtree's recursion goes, a FIFO, a link to a file of the instructor's.
    job = dead / "job-1"
    job.mkdir()
    os.mkfifo(chain(job, 1100) / "fifo")
    keep = tmp_path / "instructors.txt"
    keep.write_text("kept")
    (job / "link").symlink_to(keep)
    try:
        assert course_lock.remove_stale_run_folders(tmp_path) == [dead]
        assert not dead.exists() and keep.read_text() == "kept"
        assert live not in course_lock.remove_stale_run_folders() and live.exists()
    finally:
        os.close(live_fd)
        course_lock.remove_stale_run_folders()
    assert not live.exists()


def _killed_at(module, name: str, n: int, step) -> int:
    """In a child process, run ``step()`` and die (``os._exit``, as a SIGKILL ends it: nothing
    more runs) at its ``n``-th call of ``module.name`` (e.g. ``os``, ``"unlink"``); return the
    child's exit status (9: it died there)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        real, count = getattr(module, name), [0]

        def dying(*args, **kwargs):
            count[0] += 1
            if count[0] == n:
                os._exit(9)
            return real(*args, **kwargs)

        setattr(module, name, dying)
        try:
            step()
        finally:
            os._exit(0)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.processes
def test_a_run_killed_while_removing_its_folder_leaves_it_to_the_next_run(tmp_path, monkeypatch):
    """The owner lock is removed last: a run (or a helper on a Dask worker) killed partway
    through removing its folder leaves the lock, free, so the next run removes the rest. A
    folder whose lock went first would be left for good: without its lock it cannot be told
    from a folder being made this instant (a CI run found one such folder after a kill)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder, fd = course_lock.make_run_folder()
    assert folder.parent == tmp_path
    for n in range(4):  # a job's folder each, holding files
        (folder / f"job-{n}").mkdir()
        deepest = chain(folder / f"job-{n}", 2)
        for i in range(3):
            (deepest / f"file-{i}").write_text("x")
    # Removed as a run's end does, the run killed at the 4th file it removes.
    assert _killed_at(os, "unlink", 4, lambda: course_lock.remove_run_folder(folder, fd)) == 9
    os.close(fd)  # the parent's copy: the lock is free now
    left = set(os.listdir(folder))
    assert course_lock.OWNER in left and len(left) > 1  # cut short, its lock still there
    assert course_lock.remove_stale_run_folders(tmp_path) == [folder]
    assert not folder.exists()


def test_an_empty_run_folder_without_a_lock_is_removed_one_with_files_is_left(tmp_path):
    """What a run killed between making its folder and locking it leaves (or between removing
    its lock and its folder): an empty folder, removed. A folder with files but no lock is no
    run folder of ours (a run's folder has its lock from the start to the end): left alone."""
    empty = tmp_path / f"{course_lock.RUN_PREFIX}empty"
    empty.mkdir()
    full = tmp_path / f"{course_lock.RUN_PREFIX}full"
    full.mkdir()
    (full / "kept.txt").write_text("kept")
    assert course_lock.remove_stale_run_folders(tmp_path) == [empty]
    assert not empty.exists() and (full / "kept.txt").read_text() == "kept"


def test_a_run_folder_is_never_seen_free_while_it_is_made(tmp_path, monkeypatch):
    """Another run's cleanup, removing every folder whose lock is free (or that is empty),
    runs all along while folders are made: none of them is removed, and each one's lock is
    held from the moment its lock file has a name."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stop = threading.Event()
    removed: list[Path] = []

    def clean() -> None:
        while not stop.is_set():
            removed.extend(course_lock.remove_stale_run_folders(tmp_path))

    cleaner = threading.Thread(target=clean)
    cleaner.start()
    made = []
    try:
        for _ in range(300):
            made.append(course_lock.make_run_folder())
            assert (made[-1][0] / course_lock.OWNER).is_file()
    finally:
        stop.set()
        cleaner.join()
    assert set(removed).isdisjoint(folder for folder, _ in made)
    for folder, fd in made:
        assert folder.is_dir()
        course_lock.remove_run_folder(folder, fd)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="files of other owners are made as root")
def test_a_run_folder_of_another_owner_a_link_or_with_a_linked_lock_is_left_alone(tmp_path):
    """Only real folders of this uid, holding a regular lock file of their own, are run folders
    to remove: not a folder of another owner (a reduced-mode student's code may make one of
    that name in /tmp), not a link to a folder, not a folder whose lock is a link; each holds
    a free lock, which alone would let a dead run's folder go."""
    prefix = course_lock.RUN_PREFIX
    dead = tmp_path / f"{prefix}dead"
    dead.mkdir()
    (dead / course_lock.OWNER).write_text("")  # a killed run's: removed
    others = tmp_path / f"{prefix}others"
    others.mkdir()
    (others / course_lock.OWNER).write_text("")
    for path in (others, others / course_lock.OWNER):
        os.chown(path, STUDENT, STUDENT)
    instructors = tmp_path / "instructors"
    instructors.mkdir()
    (instructors / course_lock.OWNER).write_text("")
    (instructors / "kept.txt").write_text("kept")
    linked = tmp_path / f"{prefix}linked"
    linked.symlink_to(instructors)
    linked_lock = tmp_path / f"{prefix}linked-lock"
    linked_lock.mkdir()
    (linked_lock / course_lock.OWNER).symlink_to(instructors / "kept.txt")
    assert course_lock.remove_stale_run_folders(tmp_path) == [dead]
    assert not dead.exists()
    assert (others / course_lock.OWNER).is_file()
    assert linked.is_symlink() and (instructors / "kept.txt").read_text() == "kept"
    assert (linked_lock / course_lock.OWNER).is_symlink()


def test_student_ids_as_nbgrader_takes_them(tmp_path):
    """Graded: any name plain nbgrader grades and names (spaces inside, accents, a leading
    dash). Refused, with the reason: what nbgrader cannot grade, or name once graded. A folder
    "new\nline" failed in nbgrader ("Could not match"), one "trail " was graded and its
    feedback failed on every run (nbgrader strips the ids it is given): found in an
    instructor's walk with unusual folder names. Any other control character ("tab\tx", an
    escape) nbgrader's "." matches, and it grades them (test_reasons_and_unusual_student_ids):
    every control character was refused, a false refusal. So are a "]" alone and a "[" no
    "]" closes, which nbgrader's glob takes as themselves (any of "[]*?" was refused)."""
    inside = ("tab\tx", "esc\x1bcx", "cr\rx", "sep\u2028x", "del\x7fx", "a]b", "a[b", "[")
    patterns = ("a[1]", "[ab]", "a*", "a?b", "x[!y]")
    for student in ("bob smith", "zoë", "-dash", ".hidden", "new\nline", *inside, *patterns):
        (tmp_path / "submitted" / student / "ps01").mkdir(parents=True)
    for student in ("trail ", " lead", "\u00a0nbsp", "\ttab", "cr\r"):
        (tmp_path / "submitted" / student / "ps01").mkdir(parents=True)
    (tmp_path / "submitted" / "other\n" / "ps02").mkdir(parents=True)  # not this assignment
    (tmp_path / "submitted" / "linked").symlink_to(tmp_path / "submitted" / "zoë")
    (tmp_path / "submitted" / "other" / "ps02").mkdir(parents=True)
    (tmp_path / "submitted" / ".ipynb_checkpoints").mkdir()  # no submission in it: not named
    (tmp_path / "submitted" / ".other" / "ps02").mkdir(parents=True)
    found, refused = course_prep.find_submissions(tmp_path, "ps01")
    assert sorted(found) == sorted(["-dash", "bob smith", "zoë", *inside])
    assert refused == {
        **dict.fromkeys(patterns, NOT_GLOB_SAFE),
        "new\nline": course_prep.LINE_BREAK_STUDENT,
        "trail ": course_prep.SPACED_STUDENT,
        " lead": course_prep.SPACED_STUDENT,
        "\u00a0nbsp": course_prep.SPACED_STUDENT,  # str.strip's whitespace, as nbgrader's
        "\ttab": course_prep.SPACED_STUDENT,
        "cr\r": course_prep.SPACED_STUDENT,
        "linked": "student folder is a symbolic link",
        ".hidden": course_prep.HIDDEN_STUDENT,  # not graded, as by nbgrader, but said
    }


def test_a_submission_folder_that_is_a_link_or_a_file_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "submitted" / "ann").mkdir(parents=True)
    (tmp_path / "submitted" / "ann" / "ps01").symlink_to(elsewhere)
    (tmp_path / "submitted" / "cy").mkdir()
    (tmp_path / "submitted" / "cy" / "ps01").write_text("not a folder")
    found, refused = course_prep.find_submissions(tmp_path, "ps01")
    assert found == {}
    # Each says which of the two it is (found in an instructor's walk: one reason for both,
    # "a symbolic link or not a folder", left the instructor to find out which).
    assert refused == {
        "ann": "submission folder is a symbolic link",
        "cy": "submission folder is not a folder but a file; expected ps01/ to be the folder "
        "of the submission's files",
    }


def test_the_run_key_changes_with_the_source_the_config_and_the_limits(tmp_path):
    """Earlier results are reused only under the same key (course_prep.run_key)."""
    (tmp_path / "solutions" / "ps01").mkdir(parents=True)
    (tmp_path / "solutions" / "ps01" / "ps01.ipynb").write_text("{}")
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    key = course_prep.run_key(tmp_path, "ps01", Limits())
    assert course_prep.run_key(tmp_path, "ps01", Limits()) == key
    assert course_prep.run_key(tmp_path, "ps01", Limits(cell_timeout=31)) != key
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n# 2\n")
    assert course_prep.run_key(tmp_path, "ps01", Limits()) != key
    key = course_prep.run_key(tmp_path, "ps01", Limits())
    (tmp_path / "solutions" / "ps01" / "ps01.ipynb").rename(
        tmp_path / "solutions" / "ps01" / "b.ipynb"
    )
    assert course_prep.run_key(tmp_path, "ps01", Limits()) != key  # same bytes, another name


def test_diagnosis_names_the_first_real_problem(tmp_path):
    names = ("ps01.ipynb",)
    (tmp_path / "ps01 (1).ipynb").write_text("{}")
    assert diagnose(tmp_path, names) == (
        "no notebook named ps01.ipynb; found 'ps01 (1).ipynb': rename the one meant to "
        "ps01.ipynb in the submitted folder and run again"
    )
    (tmp_path / "ps01.ipynb").write_bytes(b'{"cells": ["caf\xe9"]}')
    # the byte after '{"cells": ["caf', which is 15 bytes long
    assert diagnose(tmp_path, names) == "ps01.ipynb is not valid UTF-8 at byte 15"
    (tmp_path / "ps01.ipynb").write_text('{"cells": [')
    assert diagnose(tmp_path, names).startswith("ps01.ipynb is not a notebook: not JSON")
    (tmp_path / "ps01.ipynb").write_text(json.dumps({"cells": []}))
    assert diagnose(tmp_path, names) == ""


def test_a_missing_notebook_s_reason_says_what_to_do_whatever_the_folder_holds(tmp_path):
    """A failure reason says what to do, as the one of a notebook under another name does.
    Found reviewing that one: a zip unpacked with its folder (``ps01/ps01.ipynb``), or a folder
    with no notebook at all, gave the bare "no notebook named ps01.ipynb", the notebook one
    level down unnamed; nbgrader looks only in the submitted folder. A link to a folder is not
    followed."""
    names, sub = ("ps01.ipynb",), tmp_path / "submitted"
    sub.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "ps01.ipynb").write_text("{}")
    (sub / "link").symlink_to(tmp_path / "elsewhere")  # not followed: not the student's
    assert (
        diagnose(sub, names)
        == "no notebook named ps01.ipynb, nor any other: ask the student for it"
    )
    (sub / "Archive").mkdir()
    (sub / "Archive" / "notes.txt").write_text("")
    (sub / "Archive" / "ps01.ipynb").write_text("{}")
    assert diagnose(sub, names) == (
        "no notebook named ps01.ipynb; found 'Archive/ps01.ipynb' in a folder: move the one "
        "meant to ps01.ipynb up into the submitted folder and run again"
    )


@pytest.mark.parametrize("field", ["cell_timeout", "return_mb", "disk_mb"])
def test_limits_must_be_positive(field):
    with pytest.raises(ValueError, match=f"Limits.{field}: got 0; expected "):
        Limits(**{field: 0})


def _echo(x):
    return x * 2


def _die(_):
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.processes
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


@pytest.mark.processes
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


# -- submissions the coordinator reads itself: malformed, special files, beyond the limits -------
# The coordinator (root) reads each submitted folder for its checks (submission_checks) and its
# hash (course_prep.tree_hash); nothing a student submits may make it raise, hang, fill the
# memory or follow a link. Each check runs in a thread that must finish: a FIFO opened for
# reading would block it for ever, /dev/zero read whole would never end.
RELEASE_CELLS = [
    {"cell_type": "code", "metadata": {}, "source": "def f(x):\n    return x\n"},
    {
        "cell_type": "code",
        "metadata": {"nbgrader": {"grade": True, "grade_id": "test_f", "locked": True}},
        "source": "assert f(1) == 1\n",
    },
]


def notebook(*cells) -> str:
    return json.dumps({"cells": [*RELEASE_CELLS, *cells], "nbformat": 4, "nbformat_minor": 5})


# The five notebooks that crashed the coordinator (TypeError, AttributeError, TypeError,
# TypeError, RecursionError), with what diagnose() says of each ("" leaves it to nbgrader).
MALFORMED = {
    "cells not a list": ('{"cells": 5}', f"{NB} is not a notebook: no list of cells"),
    "metadata a list": (
        notebook({"cell_type": "code", "metadata": [1], "source": "x"}),
        f"{NB} is not a notebook: cell 3 has metadata that is not a JSON object",
    ),
    "grade_id a list": (
        notebook({"cell_type": "code", "metadata": {"nbgrader": {"grade_id": [1]}}, "source": ""}),
        "",
    ),
    "source of numbers": (
        notebook({"cell_type": "code", "metadata": {}, "source": [1]}),
        f"{NB} is not a notebook: cell 3 has a source that is not text",
    ),
    "nested too deeply": ("[" * 100000, f"{NB} is not a notebook: not JSON (nested too deeply)"),
}
# Notebooks that are not read at all (diagnose()'s reason begins so): no cell notes either.
UNREADABLE = {
    "not UTF-8": (notebook().replace("test_f", "t\udcefst_f"), f"{NB} is not valid UTF-8 at byte"),
    "not JSON": ("{nope", f"{NB} is not a notebook: not JSON ("),
}


def finishes(call, seconds=60):
    """``call()``'s value; fails if it raised or did not return within ``seconds``."""
    done = {}

    def run():
        try:
            done["value"] = call()
        except BaseException as exc:
            done["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s (blocked on a FIFO?)"
    if "error" in done:
        raise done["error"]
    return done["value"]


def chain(folder: Path, depth: int) -> Path:
    """``depth`` folders ``a/a/...`` under ``folder``, made one by one (no recursion)."""
    path = str(folder)
    for _ in range(depth):
        path += "/a"
        os.mkdir(path)
    return Path(path)


def remove_chain(folder: Path, depth: int) -> None:
    """Remove :func:`chain`'s folders deepest first: shutil.rmtree recurses, and fails on it."""
    for n in range(depth, 0, -1):
        os.rmdir(str(folder) + "/a" * n)


@pytest.mark.parametrize(
    "source",
    ["assert f(1) == 1  \n", "assert f(1) == 1\n\n", "assert f(1) == 1", " assert f(1) == 1\n"],
)
def test_a_locked_cell_edited_only_in_whitespace_is_an_edited_locked_cell(source):
    """The locked cell's source is compared exactly, as nbgrader's checksum of a locked cell
    (utils.compute_checksum hashes cell.source as it is) and its OverwriteCells see it:
    trailing spaces, a blank line or a missing final newline are an edit that nbgrader undoes,
    so the note says so. The same text split into lines differently is no edit."""
    released = json.loads(notebook())["cells"]
    mine = json.loads(notebook())["cells"]
    mine[1]["source"] = source
    assert submission_checks._compare(mine, released, []) == [
        "edited locked cell test_f (restored by nbgrader)"
    ]
    mine[1]["source"] = ["assert f(1) ", "== 1\n"]  # nbformat's list of strings, same text
    assert submission_checks._compare(mine, released, []) == []


@pytest.mark.parametrize("case", sorted({**MALFORMED, **UNREADABLE}))
def test_a_malformed_notebook_is_diagnosed_not_raised(case, tmp_path):
    text, reason = {**MALFORMED, **UNREADABLE}[case]
    release, mine = tmp_path / "release", tmp_path / "mine"
    release.mkdir()
    mine.mkdir()
    (release / NB).write_text(notebook())
    (mine / NB).write_bytes(text.encode("utf-8", "surrogateescape"))
    assert finishes(lambda: diagnose(mine, (NB,))).startswith(reason)
    notes, flags = finishes(lambda: static_checks(mine, release))
    # A notebook that was not read has no cells to compare (no "missing cell" notes); in one
    # that was, the released cells are there, the malformed one is read field by field.
    assert notes == []
    assert flags == []


def test_a_notebook_without_the_released_cells_gets_one_note():
    """``"cells": []`` (or cells without nbgrader's metadata): one note, not one per cell."""
    released = json.loads(notebook())["cells"]
    assert submission_checks._compare([], released, []) == [
        "missing every locked and grade cell (1) (restored by nbgrader)"
    ]
    assert submission_checks.unrestored("missing cell test_f (restored by nbgrader)") == (
        "missing cell test_f"
    )
    assert (
        submission_checks.unrestored("cell a turned into markdown (nbgrader made it code again)")
        == "cell a turned into markdown"
    )


def test_a_grade_cell_deleted_with_the_cell_before_it_is_named():
    """nbgrader's KeyError for it (OverwriteCells.add_missing_grade_cells), as a reason."""
    log = (
        '  File ".../overwritecells.py", line 140, in add_missing_grade_cells\n'
        "    prev_cell_idx = submitted_cell_idxs[prev_cell_id] + added_count\n"
        "KeyError: 'sigmoid'\n"
    )
    reason = report.failure_reason({"exit_code": 1}, log, Limits())
    assert reason == (
        "cell 'sigmoid' and the grade cell after it are missing: nbgrader puts a deleted grade "
        "cell back after the cell before it, so it could not"
    )
    other = report.failure_reason({"exit_code": 1}, "KeyError: 'x'\n", Limits())
    assert other == "nbgrader failed: KeyError: 'x'"
    # nbgrader's log quotes what a student named (a file, a cell): on one line, escaped, as
    # the terminal's table prints it
    named = report.failure_reason({"exit_code": 1}, "OSError: '\x1b[2Ja.txt'\n", Limits())
    assert named == "nbgrader failed: OSError: '\\x1b[2Ja.txt'"
    plain = "[AutogradeApp | ERROR] \x1b[31mred\n"
    assert report.failure_reason({"exit_code": 1}, plain, Limits()) == (
        "nbgrader failed: [AutogradeApp | ERROR] \\x1b[31mred"
    )


def test_a_kernel_killed_by_the_memory_cgroup_is_a_memory_limit():
    """nbgrader logs only "Kernel died" whatever killed the kernel; the sandbox counts the
    memory cgroup's OOM kills (result["oom_kills"]), and one turns the reason into the memory
    limit, which tells the student what to fix. Without one it stays "kernel died"."""
    log = "[AutogradeApp | ERROR] nbclient.exceptions.DeadKernelError: Kernel died\n"
    assert report.failure_reason({"exit_code": 1, "oom_kills": 0}, log, Limits()) == "kernel died"
    assert report.failure_reason({"exit_code": 1, "oom_kills": 1}, log, Limits()) == (
        "memory limit: the kernel was killed by the memory cgroup"
    )


MEMORY_CGROUP = cgroup.memory_cgroup_parent()
needs_memory_cgroup = pytest.mark.skipif(
    MEMORY_CGROUP is None, reason="no memory cgroup in which to make children"
)


def in_cgroup(group: cgroup.MemoryCgroup, code) -> int:
    """The wait status of a forked child that joins ``group``, then runs ``code()``."""
    with warnings.catch_warnings():  # a fork with threads (pytest-xdist's): the child runs
        warnings.simplefilter("ignore", DeprecationWarning)  # only ``code`` and os._exit
        pid = os.fork()
    if pid == 0:
        status = 1
        try:
            group.join()
            code()
            status = 0
        finally:
            os._exit(status)
    return os.waitpid(pid, 0)[1]


def touch(size: int) -> None:
    """Allocate ``size`` bytes and write to every page of them."""
    block = bytearray(size)
    for i in range(0, size, 4096):
        block[i] = 1


@needs_memory_cgroup
@pytest.mark.processes
def test_a_jobs_memory_cgroup_holds_its_processes_to_the_limit_without_swap_and_counts_the_kill():
    """A job's memory cgroup (lstm_grading.cgroup.MemoryCgroup, as sandbox._run_full makes it
    for the job's waiter and so every process of the job): the limit and no swap past it are
    written, a process of the job past it is killed, and the kill is counted (oom_kills), which
    makes the report say "memory limit" (the test of report.failure_reason above)."""
    limit = 64 << 20
    group = cgroup.MemoryCgroup(MEMORY_CGROUP, f"lstm-grading-test-{os.getpid()}", limit)
    try:
        if group.v1:
            assert (group.path / "memory.limit_in_bytes").read_text().strip() == str(limit)
            swap = group.path / "memory.memsw.limit_in_bytes"  # memory + swap: no swap at all
            assert not swap.exists() or swap.read_text().strip() == str(limit)
        else:
            assert (group.path / "memory.max").read_text().strip() == str(limit)
            swap = group.path / "memory.swap.max"
            assert not swap.exists() or swap.read_text().strip() == "0"
        assert os.waitstatus_to_exitcode(in_cgroup(group, lambda: touch(limit // 4))) == 0
        assert group.oom_kills() == 0
        status = in_cgroup(group, lambda: touch(4 * limit))
        assert os.waitstatus_to_exitcode(status) == -signal.SIGKILL  # the OOM killer's
        assert group.oom_kills() == 1
    finally:
        group.remove()
    assert not group.path.exists()


@needs_memory_cgroup
def test_only_the_unused_cgroups_a_run_may_remove_are_removed():
    """remove_unused: the empty cgroups named with the prefix, and of those only the ones
    ``only`` allows (a run leaves alone those of runs still alive)."""
    prefix = f"lstm-grading-test-{os.getpid()}-"
    groups = [cgroup.MemoryCgroup(MEMORY_CGROUP, prefix + end, 64 << 20) for end in "ab"]
    other = cgroup.MemoryCgroup(MEMORY_CGROUP, f"lstm-grading-other-{os.getpid()}", 64 << 20)
    try:
        removed = cgroup.remove_unused(MEMORY_CGROUP, prefix, only=lambda n: n.endswith("a"))
        assert removed == [str(groups[0].path)]
        assert [g.path.exists() for g in (*groups, other)] == [False, True, True]
    finally:
        for group in (*groups, other):
            if group.path.exists():
                group.remove()


@needs_memory_cgroup
@pytest.mark.processes
def test_remove_unused_waits_for_the_processes_of_a_killed_job_to_leave(monkeypatch):
    """A run that ends kills its workers, and their jobs die a moment later: with ``wait``,
    remove_unused removes a cgroup once its last process has left (here, the child lets go when
    remove_unused first waits), not only those already empty. Without, a stopped run left its
    jobs' cgroups behind."""
    from types import SimpleNamespace

    name = f"lstm-grading-test-{os.getpid()}-job"
    group = cgroup.MemoryCgroup(MEMORY_CGROUP, name, 64 << 20)
    read, write = os.pipe()
    with warnings.catch_warnings():  # a fork with threads (pytest-xdist's), as in_cgroup
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        try:
            os.close(write)
            group.join()
            os.read(read, 1)  # until the test closes the pipe
        finally:
            os._exit(0)
    os.close(read)
    waits = []

    def sleep(seconds):  # the first wait lets the child go; then really wait
        if not waits:
            os.close(write)
        waits.append(seconds)
        time.sleep(seconds)

    try:
        while not (group.path / "cgroup.procs").read_text().strip():
            time.sleep(0.01)  # until the child has joined
        assert cgroup.remove_unused(MEMORY_CGROUP, name) == []  # it holds a process
        monkeypatch.setattr(cgroup, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep))
        assert cgroup.remove_unused(MEMORY_CGROUP, name, wait=600) == [str(group.path)]
        assert waits and not group.path.exists()
    finally:
        if not waits:
            os.close(write)
        os.waitpid(pid, 0)
        if group.path.exists():
            group.remove()


def test_remove_unused_waits_for_a_cgroup_that_is_busy_though_it_lists_no_process(
    tmp_path, monkeypatch
):
    """A killed job's last process, exiting but not yet reaped, is no longer listed in
    cgroup.procs, yet the kernel refuses to remove its cgroup (EBUSY) until it is gone:
    remove_unused(wait=...) tries such a cgroup again, as one that lists a process. Before
    (found in review), it gave up on it at once, and a stopped run could leave behind the very
    cgroups it waits for. The cgroup here is a plain folder whose first removal is refused."""
    from types import SimpleNamespace

    group = tmp_path / "lstm-grading-run-1-job"
    group.mkdir()
    refusals, real_rmdir = [], Path.rmdir

    def rmdir(self):
        if self == group and not refusals:
            refusals.append(self)
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(self))
        (self / "cgroup.procs").unlink()  # a real cgroup's control files go with it
        real_rmdir(self)

    (group / "cgroup.procs").write_text("")
    monkeypatch.setattr(Path, "rmdir", rmdir)
    waits = []
    clock = SimpleNamespace(monotonic=time.monotonic, sleep=waits.append)
    monkeypatch.setattr(cgroup, "time", clock)
    assert cgroup.remove_unused(str(tmp_path), "lstm-grading-run-1", wait=600) == [str(group)]
    assert refusals and waits and not group.exists()
    missing = tmp_path / "lstm-grading-run-2-job"  # removed by another meanwhile: not waited for
    missing.mkdir()
    (missing / "cgroup.procs").write_text("")
    monkeypatch.setattr(Path, "rmdir", lambda self: (_ for _ in ()).throw(FileNotFoundError()))
    waits.clear()
    assert cgroup.remove_unused(str(tmp_path), "lstm-grading-run-2", wait=600) == []
    assert waits == []


@pytest.mark.parametrize("where", ["up", "absolute"])
def test_grade_files_writes_no_file_outside_its_folder(tmp_path, where):
    """grade_files (a cluster helper's job) takes file names from the coordinator: one that
    leads out of its folder is a ValueError, with nothing written and no job run."""
    from lstm_grading.sandbox import grade_files

    parent = tmp_path / "run"
    parent.mkdir()
    outside = tmp_path / "outside.txt"
    name = "../../../outside.txt" if where == "up" else str(outside)
    for template, submission in (({name: b"x"}, {}), ({}, {name: b"x"})):
        with pytest.raises(ValueError, match=r"file names must be relative paths, got "):
            grade_files(
                template, submission, "s", "ps01", Limits(), "reduced", (NB,), parent=str(parent)
            )
        assert not outside.exists()
        assert os.listdir(parent) == []  # its folder removed too


@pytest.mark.processes
def test_grade_files_killed_mid_job_leaves_its_folder_to_the_next_cleanup(tmp_path, monkeypatch):
    """grade_files without a parent worked in a bare /tmp/lstm-autograde-one-* folder: a caller
    killed mid-job left it, the hidden tests (the template) in it, without the owner lock by
    which the next run's cleanup tells a dead run's folder from a live one's, so no cleanup
    ever removed it. Now it works in a run folder of its own. Here the caller (a forked child)
    dies (``os._exit``) as the job starts; the next cleanup removes all it left."""
    from lstm_grading import sandbox

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(sandbox, "run_job", lambda job: os._exit(9))
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the caller, killed as its job starts
        try:
            sandbox.grade_files({"source/ps01/" + NB: b"{}"}, {NB: b"{}"}, "s", "ps01")
        finally:
            os._exit(0)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 9
    left = list(tmp_path.glob(course_lock.RUN_PREFIX + "*"))
    assert len(left) == 1 and list(left[0].rglob(NB))  # the template and the submission, left
    assert course_lock.remove_stale_run_folders(tmp_path) == left
    assert list(tmp_path.iterdir()) == []


class Publisher:
    """A kernel's display publisher as the output guard wraps it: keeps what is published."""

    def __init__(self):
        self.shown = []

    def publish(self, data, *args, **kwargs):
        self.shown.append(data)


def test_the_output_guard_stops_the_cell_past_the_limit_and_gives_the_next_its_whole_budget():
    """The output guard (lstm_grading.output_guard, in the kernel) counts what one cell prints
    and publishes: up to the limit it passes, the byte past it writes one notice and stops the
    cell, anything after that is dropped. Each cell starts with the whole budget again: a loud
    cell neither silences nor stops the hidden test cells after it."""
    guard = output_guard._Guard(100, None)
    out, publisher, notices = io.StringIO(), Publisher(), []
    guard.wrap_stream(out)
    guard.wrap_publisher(publisher)
    guard.notice = notices.append
    notice = (
        "\n[output limit: this cell printed more than 100 bytes; "
        "the rest was discarded and the cell stopped]\n"
    )
    guard.pre_run_cell()
    out.write("x" * 60)
    out.write("x" * 40)  # the limit exactly: shown
    with pytest.raises(output_guard.OutputLimitExceeded, match="more than 100 bytes"):
        out.write("y")
    out.write("z")  # in the same cell (a bare except caught it): dropped, no second stop
    assert out.getvalue() == "x" * 100 + notice
    for cell in ("a", "b"):  # each next cell: the whole budget, printed or published
        out.seek(0)
        out.truncate()
        guard.pre_run_cell()
        out.write(cell * 90)
        publisher.publish({"t": cell})  # 10 bytes as JSON: the limit exactly
        assert out.getvalue() == cell * 90 and publisher.shown[-1] == {"t": cell}
    with pytest.raises(output_guard.OutputLimitExceeded):  # a display past it stops the cell
        publisher.publish({"t": "c"})
    publisher.publish({"t": "d"})
    assert [d["t"] for d in publisher.shown] == ["a", "b"] and notices == [notice]
    guard.pre_run_cell()
    publisher.publish({"t": "e" * 90})
    assert publisher.shown[-1] == {"t": "e" * 90}


def test_the_output_guard_as_the_kernel_loads_it_counts_stdout_stderr_and_displays_together(
    monkeypatch, tmp_path
):
    """load_ipython_extension: the limit from the kernel's command line, one budget for what a
    cell writes to stdout and stderr and displays, and the first line of each cell written to
    the progress file (the running cell the report names when a kernel dies)."""
    from types import SimpleNamespace

    out, err, progress = io.StringIO(), io.StringIO(), tmp_path / "cell"
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    events = {}
    shell = SimpleNamespace(
        config={"OutputGuard": {"limit": "30", "progress": str(progress)}},
        display_pub=Publisher(),
        events=SimpleNamespace(register=events.__setitem__),
    )
    output_guard.load_ipython_extension(shell)
    assert list(events) == ["pre_run_cell", "post_run_cell"]
    for cell in ("first = 1\nsecond = 2", "x = 2"):
        events["pre_run_cell"](SimpleNamespace(raw_cell=cell))
        assert progress.read_text() == cell.splitlines()[0]
        sys.stdout.write("o" * 10)
        sys.stderr.write("e" * 10)
        shell.display_pub.publish({"t": "d"})  # 10 bytes as JSON: 30 in all
        with pytest.raises(output_guard.OutputLimitExceeded, match="more than 30 bytes"):
            sys.stderr.write("e")
    assert out.getvalue() == "o" * 20
    assert err.getvalue().count("[output limit: this cell printed more than 30 bytes") == 2


def test_the_output_guard_puts_back_the_grading_modules_before_each_cell(monkeypatch):
    """A cell's ``lstm_grading.checks.check_activation = lambda *a: None``, or a module of its
    own in sys.modules under that name, is undone before the next cell (the hidden tests)."""
    from lstm_grading import checks

    real = checks.check_activation
    guard = output_guard._Guard(100, None)
    monkeypatch.setattr(checks, "check_activation", lambda *args, **kwargs: None)
    monkeypatch.setitem(sys.modules, "lstm_grading.checks", type(checks)("lstm_grading.checks"))
    guard.pre_run_cell()
    assert sys.modules["lstm_grading.checks"] is checks and checks.check_activation is real


def test_links_fifos_and_devices_in_a_submission_are_never_opened(tmp_path):
    mine, outside = tmp_path / "mine", tmp_path / "outside"
    mine.mkdir()
    outside.mkdir()
    (outside / NB).write_text(notebook({"cell_type": "code", "metadata": {}, "source": "os._exit"}))
    (outside / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC")
    os.mkfifo(mine / NB)  # the notebook itself: a FIFO
    os.mkfifo(mine / "x.ipynb")
    (mine / "linked.ipynb").symlink_to(outside / NB)
    (mine / "timestamp.txt").symlink_to("/dev/zero")
    assert finishes(lambda: diagnose(mine, (NB,))) == (
        f"{NB} is a FIFO, not a regular file: not read, not graded"
    )
    notes, flags = finishes(lambda: static_checks(mine, outside))
    assert notes == [
        "linked.ipynb is a symbolic link, not a regular file: not read",
        f"{NB} is a FIFO, not a regular file: not read",
        "x.ipynb is a FIFO, not a regular file: not read",
    ]
    assert flags == []  # the linked notebook's code was not read
    assert finishes(lambda: read_timestamp(mine)) == (
        "",
        "timestamp.txt is a symbolic link, not a regular file: ignored",
    )
    (mine / "timestamp.txt").unlink()
    (mine / "timestamp.txt").symlink_to(outside / "timestamp.txt")  # a readable file: not followed
    assert read_timestamp(mine)[0] == ""
    (mine / "timestamp.txt").unlink()
    os.mkfifo(mine / "timestamp.txt")
    assert finishes(lambda: read_timestamp(mine)) == (
        "",
        "timestamp.txt is a FIFO, not a regular file: ignored",
    )
    (mine / "timestamp.txt").unlink()
    (mine / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC\n" * 100)
    assert read_timestamp(mine) == ("", "timestamp.txt is larger than 1024 bytes: ignored")
    (mine / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC\n")
    assert read_timestamp(mine) == ("2026-01-15 12:00:00.000000 UTC", "")


def test_python_files_beside_the_notebook_are_noted_and_flagged(tmp_path):
    """Modules and packages a kernel could have imported in place of the real ones (the graded
    kernel leaves the notebook's folder off sys.path); data, links and FIFOs are not them."""
    release, mine, outside = tmp_path / "release", tmp_path / "mine", tmp_path / "outside"
    for folder in (release, mine, outside):
        folder.mkdir()
    (release / NB).write_text(notebook())
    (mine / NB).write_text(notebook())
    assert static_checks(mine, release) == ([], [])
    (mine / "data").mkdir()
    (mine / "data" / "prices.csv").write_text("1,2\n")
    (mine / "notes.txt").write_text("mine")
    (outside / "__init__.py").write_text("")
    (mine / "linked").symlink_to(outside)  # a package only through a link: not followed
    (mine / "linked.py").symlink_to(outside / "__init__.py")
    os.mkfifo(mine / "fifo.py")
    assert finishes(lambda: static_checks(mine, release)) == ([], [])
    (mine / "numpy.py").write_text("raise ImportError")
    (mine / "lstm_grading" / "hidden").mkdir(parents=True)
    (mine / "lstm_grading" / "__init__.py").write_text("")
    (mine / "helper.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    notes, flags = finishes(lambda: static_checks(mine, release))
    assert notes == [
        "Python files beside the notebook, not imported when graded: "
        "helper.cpython-311-x86_64-linux-gnu.so, lstm_grading/, numpy.py"
    ]
    assert flags == [submission_checks.PYTHON_FILES]
    for n in range(6):
        (mine / f"m{n}.py").write_text("")
    notes, _ = static_checks(mine, release)
    assert notes[0].endswith("lstm_grading/, m0.py, m1.py, m2.py and 4 more"), notes


def test_a_notebook_the_assignment_does_not_have_is_noted_once_not_cell_by_cell(tmp_path):
    """A copy beside the notebook (``ps01_activations-Copy1.ipynb``), or the only notebook under
    another name (Canvas's ``..._PS1_final.ipynb``): nbgrader skips a notebook the assignment
    does not have, so none of its cells was edited or graded, and its code is not what was
    graded. One note says so. Before, every grade cell of it was noted "cell test_f is not in
    the assignment (a grade id edited?)" and its code flagged (found in an instructor's walk
    through a class: eight such notes on a row whose reason was the file's name)."""
    release, mine = tmp_path / "release", tmp_path / "mine"
    release.mkdir()
    mine.mkdir()
    (release / NB).write_text(notebook())
    (mine / NB).write_text(notebook())
    exiting = {"cell_type": "code", "metadata": {}, "source": "import os\nos._exit(0)\n"}
    (mine / "copy.ipynb").write_text(notebook(exiting))
    assert static_checks(mine, release) == (
        ["copy.ipynb is not a notebook of the assignment: not graded"],
        [],
    )
    (mine / NB).unlink()
    assert diagnose(mine, (NB,)) == (
        f"no notebook named {NB}; found 'copy.ipynb': rename the one meant to {NB} in the "
        "submitted folder and run again"
    )
    assert static_checks(mine, release)[0] == [
        "copy.ipynb is not a notebook of the assignment: not graded"
    ]


def test_a_notebook_too_large_to_check_is_noted_not_read(tmp_path):
    with open(tmp_path / NB, "wb") as f:  # sparse: no disk space, and never read
        f.truncate(submission_checks.MAX_NOTEBOOK_BYTES + 1)
    assert diagnose(tmp_path, (NB,)) == ""  # nbgrader, in the sandbox, says what it is
    notes, _ = static_checks(tmp_path, tmp_path)
    assert notes == [f"{NB} is larger than 16 MiB: not checked for edited cells or suspicious code"]


def old_tree_hash(folder: Path) -> str:
    """tree_hash as it was (recursive, unlimited): the hashes of the manifests it wrote."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if ".ipynb_checkpoints" in path.parts or path.is_symlink() or not path.is_file():
            continue
        h.update(os.fsencode(path.relative_to(folder)) + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def test_tree_hash_of_an_ordinary_submission_is_what_it_was(tmp_path):
    """Unchanged hashes: a re-run after the upgrade finds graded submissions unchanged."""
    sub = tmp_path / "sub"
    for rel in ["a/b.txt", "a.txt", "a b/c", "a-b", "a/z/deep.bin", ".hidden", "Z", "é.ipynb"]:
        (sub / rel).parent.mkdir(parents=True, exist_ok=True)
        (sub / rel).write_bytes(rel.encode() * 1000)
    (sub / ".ipynb_checkpoints").mkdir()
    (sub / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    (sub / "a" / ".ipynb_checkpoints").write_text("a file named so")
    (sub / "link").symlink_to(sub / "a.txt")
    (sub / "dirlink").symlink_to(sub / "a")
    (sub / bytes.fromhex("ff").decode(errors="surrogateescape")).write_text("not UTF-8")
    expected = old_tree_hash(sub)
    assert course_prep.tree_hash(sub) == expected
    assert course_prep.tree_hash(sub, 1 << 20) == expected
    os.mkfifo(sub / "fifo")
    (sub / "zero").symlink_to("/dev/zero")
    assert finishes(lambda: course_prep.tree_hash(sub, 1 << 20)) == expected  # never opened
    (sub / "a.txt").write_text("changed")
    assert course_prep.tree_hash(sub, 1 << 20) != expected


def test_tree_hash_covers_what_the_copy_takes_and_no_more(tmp_path, monkeypatch):
    """With a limit, the hash covers what the job's copy takes (safe_copy.copy_tree), all the
    grade depends on: a file the copy leaves out changes nothing, one it takes changes the
    hash. Nothing beyond the limits stops the walk (a chain of 1100 folders raised
    RecursionError and stopped the whole run) or is read (a large file)."""

    def hash_of(folder: Path) -> str:
        return finishes(lambda: course_prep.tree_hash(folder, 1 << 20))

    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "nb.ipynb").write_text("{}")
    inner = chain(deep, 1100)
    try:
        before = hash_of(deep)
        (inner / "f").write_text("far below the copy's depth")
        assert hash_of(deep) == before
        kept = deep.joinpath(*["a"] * (safe_copy.MAX_DEPTH - 1))  # the deepest folder copied
        (kept / "f").write_text("at the copy's depth")
        assert hash_of(deep) != before
    finally:
        (inner / "f").unlink(missing_ok=True)
        deep.joinpath(*["a"] * (safe_copy.MAX_DEPTH - 1), "f").unlink(missing_ok=True)
        remove_chain(deep, 1100)
    wide = tmp_path / "wide"
    (wide / "data").mkdir(parents=True)
    names = sorted(str(n) for n in range(safe_copy.MAX_ENTRIES + 1))
    for name in names:
        (wide / "data" / name).write_text("x")
    before = hash_of(wide)
    (wide / "data" / names[-1]).write_text("the name the copy leaves out")
    assert hash_of(wide) == before
    (wide / "data" / names[0]).write_text("a name the copy takes")
    assert hash_of(wide) != before
    big = tmp_path / "big"
    big.mkdir()
    (big / "nb.ipynb").write_text("{}")
    before = hash_of(big)
    with open(big / "huge.bin", "wb") as f:  # 8 GiB, sparse: over the budget, never read
        f.truncate(8 << 30)
    assert finishes(lambda: course_prep.tree_hash(big, 512 << 20), seconds=10) == before
    # Past safe_copy.MAX_TOTAL_ENTRIES names in all, the copy takes nothing more: nor does the
    # hash, which covers exactly what the copy took.
    monkeypatch.setattr(safe_copy, "MAX_TOTAL_ENTRIES", 50)
    before = hash_of(wide)
    (wide / "data" / names[100]).write_text("beyond the 50 names the copy goes through")
    assert hash_of(wide) == before
    report = safe_copy.copy_path_tree(str(wide), str(tmp_path / "copied"), 1 << 20)
    assert report.copied_files == 49  # "data", then 49 of its files
    assert report.notes() == [
        f"more than 50 files and folders: the rest not kept (from: data/{names[49]})",
        f"1 folder(s) of more than {safe_copy.MAX_ENTRIES} names: the rest of their names not "
        "kept (first: data/)",
    ]
    assert course_prep.tree_hash(tmp_path / "copied") == before
    unreadable = tmp_path / "not-a-folder"
    unreadable.symlink_to(big)
    with pytest.raises(course_prep.Unreadable, match=r"submission folder cannot be read"):
        course_prep.tree_hash(unreadable, 1 << 20)


# -- planning and merging a class with such submissions ------------------------------------------
@pytest.fixture
def small_course(tmp_path, empty_gradebook) -> Path:
    """A course with assignment ps01 (one notebook, one grade cell of 10 points), no kernel."""
    return make_course(tmp_path / "course", empty_gradebook, notebook())


def submit(course: Path, student: str, text: str | None = None) -> Path:
    folder = course / "submitted" / student / "ps01"
    folder.mkdir(parents=True)
    if text is not None:
        (folder / NB).write_text(text)
    (folder / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC")
    return folder


def scores(course: Path) -> dict[str, float | None]:
    """Each student's autograded score in the course gradebook (None: needs grading)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        subs = gb.find_assignment("ps01").submissions
        return {s.student_id: s.notebooks[0].grades[0].auto_score for s in subs}


@pytest.mark.processes
def test_a_class_with_broken_submissions_is_planned_and_merged_student_by_student(
    small_course, tmp_path
):
    """Each broken submission is that student's outcome, with its reason; the others are
    planned, merged and graded; the manifest records every merged student for the re-run."""
    submit(small_course, "good", notebook())
    submit(small_course, "mangled", notebook())
    for case, (text, _) in MALFORMED.items():
        submit(small_course, case, text)
    fifo = submit(small_course, "fifo")
    os.mkfifo(fifo / NB)
    (fifo / "timestamp.txt").unlink()
    (fifo / "timestamp.txt").symlink_to("/dev/zero")
    with open(submit(small_course, "big", notebook()) / "data.bin", "wb") as f:
        f.truncate(2 << 20)  # over --disk-mb 1, sparse
    deep = submit(small_course, "deep", notebook())
    chain(deep, 1100)
    limits = Limits(disk_mb=1)
    try:
        plan = finishes(lambda: parallel._plan(small_course, "ps01", limits, False, ""))
    finally:
        remove_chain(deep, 1100)
    run, manifest, submissions, outcomes, todo = plan
    assert outcomes == {}  # the large file and the deep chain: left out by the copy, graded
    assert sorted(todo) == sorted(["good", "mangled", "fifo", "big", "deep", *MALFORMED])
    assert sorted(submissions) == sorted(todo)

    failed_job = {"exit_code": 1, "seconds": 0.0}  # nbgrader could not grade it
    results = {s: failed_job for s in todo}
    results["good"] = graded_result(small_course, tmp_path / "good-out", "good", notebook())
    # What a job returned, not what nbgrader writes: a reduced-mode student's code can write it.
    # The score is the private gradebook's: graded, with a note on the notebook's bad cell.
    mangled = graded_result(small_course, tmp_path / "mangled-out", "mangled", '{"cells": [1]}')
    results["mangled"] = mangled
    for student in sorted(todo):
        outcomes[student] = finishes(
            lambda s=student: parallel._merge_result(
                run, manifest, s, todo[s], results[s], submissions[s]
            )
        )
    got = {s: (o.status, o.reason) for s, o in outcomes.items()}
    nbgrader_failed = ("failed", "nbgrader failed: exit status 1")
    assert got == {
        "big": nbgrader_failed,
        "deep": nbgrader_failed,
        "good": ("graded", ""),
        "mangled": ("graded", ""),
        "fifo": ("failed", f"{NB} is a FIFO, not a regular file: not read, not graded"),
        **{
            case: ("failed", reason) if reason else nbgrader_failed
            for case, (_, reason) in MALFORMED.items()
        },
    }
    assert outcomes["good"].score == 7.0
    assert outcomes["mangled"].notes == [
        f"autograded notebook {NB}: 1 cell(s) not as nbformat writes them (first: cell 1), "
        "not read for notes"
    ]
    assert "timestamp.txt is a symbolic link, not a regular file: ignored" in outcomes["fifo"].notes
    # The gradebook: a score for the graded ones, empty scores (needs grading) for the failed.
    assert scores(small_course) == {s: 7.0 if s in ("good", "mangled") else None for s in todo}
    assert (small_course / "autograded" / "good" / "ps01" / NB).is_file()
    assert (small_course / "autograded" / "mangled" / "ps01" / NB).is_file()
    saved = json.loads((small_course / "reports" / "ps01" / "manifest.json").read_text())
    assert {s: e["status"] for s, e in saved["students"].items()} == {
        s: outcomes[s].status for s in todo
    }
    # Run again: the graded ones are unchanged, the failed ones are graded again.
    _, _, _, again, todo_again = parallel._plan(small_course, "ps01", limits, False, "")
    assert {s: o.status for s, o in again.items()} == {"good": "unchanged", "mangled": "unchanged"}
    assert sorted(todo_again) == sorted(["big", "deep", "fifo", *MALFORMED])


def test_a_forced_run_stopped_part_way_is_finished_by_the_next_run_without_force(
    small_course, tmp_path
):
    """A run with --force that was stopped (Ctrl-C, a full disk, a killed coordinator) is
    finished by the next run, with or without --force: what the forced run merged is unchanged,
    what it had not reached yet is graded, not kept from the grading --force was asked to
    replace; one stopped before its first merge leaves everyone to grade."""
    for student in ("ada", "bob"):
        submit(small_course, student, notebook())
    # What the jobs return, made before any merge: a job's gradebook is the template's, which
    # holds no student.
    results = [
        {
            s: graded_result(small_course, tmp_path / f"{s}{i}", s, notebook())
            for s in ("ada", "bob")
        }
        for i in range(4)
    ]

    def merge(force: bool, students: list[str]) -> None:
        run, manifest, submissions, _, todo = parallel._plan(
            small_course, "ps01", Limits(), force, ""
        )
        assert sorted(todo) == ["ada", "bob"]
        returned = results.pop()
        for s in students:
            parallel._merge_result(run, manifest, s, todo[s], returned[s], submissions[s])

    def plain_run() -> tuple[dict, list[str]]:
        _, _, _, outcomes, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
        return {s: o.status for s, o in outcomes.items()}, sorted(todo)

    merge(False, ["ada", "bob"])
    assert plain_run() == ({"ada": "unchanged", "bob": "unchanged"}, [])
    merge(True, [])  # stopped before its first merge
    assert plain_run() == ({}, ["ada", "bob"])
    merge(False, ["ada", "bob"])
    merge(True, ["ada"])  # stopped after ada's merge
    assert plain_run() == ({"ada": "unchanged"}, ["bob"])


def test_a_graded_submission_is_kept_only_while_nothing_it_was_graded_from_changed(
    small_course, tmp_path
):
    """A run keeps an earlier grade ("unchanged") only for the same submission, graded, under
    the same run key, with its autograded folder and its gradebook entry still there; any of
    them changed, the student is graded again."""
    from nbgrader.api import Gradebook

    students = ("ada", "bob", "cy", "dan", "eve", "fay")
    for student in students:
        submit(small_course, student, notebook())
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    # Made before any merge: a job's gradebook is the template's, which holds no student.
    results = {s: graded_result(small_course, tmp_path / s, s, notebook()) for s in students}
    for student, result in results.items():
        parallel._merge_result(run, manifest, student, todo[student], result, submissions[student])
    failed = {"exit_code": 1, "error": None, "reason": "the worker died", "seconds": 1.0}
    parallel._merge_result(run, manifest, "bob", todo["bob"], failed, submissions["bob"])
    (submissions["cy"] / NB).write_text(
        notebook({"cell_type": "code", "metadata": {}, "source": "1"})
    )
    safe_copy.remove_tree(small_course / "autograded" / "dan")
    with Gradebook(f"sqlite:///{small_course / 'gradebook.db'}") as gb:
        gb.remove_submission("ps01", "eve")
    _, _, _, outcomes, again = parallel._plan(small_course, "ps01", Limits(), False, "")
    assert {s: o.status for s, o in outcomes.items()} == {"ada": "unchanged", "fay": "unchanged"}
    assert sorted(again) == ["bob", "cy", "dan", "eve"]
    # Other limits, another run key: every submission graded again.
    _, _, _, outcomes, again = parallel._plan(
        small_course, "ps01", Limits(cell_timeout=59), False, ""
    )
    assert outcomes == {} and sorted(again) == sorted(students)


def test_a_student_folder_name_as_long_as_a_file_name_is_graded_and_its_log_kept(
    small_course, tmp_path
):
    """A folder name of 252 to 255 bytes is one nbgrader grades; the log's file, the name and
    ".log", was too long a file name, and its OSError, which the merge takes for the course's,
    stopped the whole run (found in a review of unusual folder names). Each log is kept, under
    a name cut with a digest (parallel.log_name), two such names apart."""
    longs = ["l" * 255, "l" * 254 + "m", "ü" * 127]  # 255, 255 and 254 bytes
    students = ["ada", *longs]
    for student in students:
        submit(small_course, student, notebook())
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    results = {  # made before any merge: a job's gradebook is the template's, with no student
        s: graded_result(small_course, tmp_path / sha256(s), s, notebook(), f"log of {s}")
        for s in students
    }
    for student, result in results.items():
        outcome = parallel._merge_result(
            run, manifest, student, todo[student], result, submissions[student]
        )
        assert outcome.status == "graded", outcome
    assert scores(small_course) == dict.fromkeys(students, 7.0)
    logs = small_course / "reports" / "ps01" / "logs"
    longest = os.pathconf(logs, "PC_NAME_MAX")  # the file system's, as the oracle
    assert parallel.log_name("ada") == "ada.log"  # the guide's logs/<student>.log
    names = {s: parallel.log_name(s) for s in longs}
    assert len(set(names.values())) == len(longs)
    for student, name in {"ada": "ada.log", **names}.items():
        assert len(os.fsencode(name)) <= longest and name.startswith(student[:100])
        assert (logs / name).read_text() == f"log of {student}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_student_whose_submitted_folder_is_gone_has_a_row_saying_the_grade_is_kept(
    small_course, tmp_path
):
    """A submission graded before whose submitted folder is then deleted: nbgrader grades only
    the folders it finds and exports what the gradebook holds (its CsvExportPlugin), so the
    earlier grade stays in grades.csv; the run keeps it too, and says so with a "kept" row (it
    used to say nothing of that student), neither graded again nor counted as unchanged."""
    for student in ("ada", "bob"):
        submit(small_course, student, notebook())
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    results = {s: graded_result(small_course, tmp_path / s, s, notebook()) for s in todo}
    for student, result in results.items():
        parallel._merge_result(run, manifest, student, todo[student], result, submissions[student])
    safe_copy.remove_tree(small_course / "submitted" / "bob")
    run, _, _, outcomes, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    assert todo == {} and {s: o.status for s, o in outcomes.items()} == {
        "ada": "unchanged",
        "bob": "kept",
    }
    bob = outcomes["bob"]
    assert (bob.score, bob.max_score) == (7.0, 10.0)  # graded_result's 7 of the cell's 10
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{small_course / 'gradebook.db'}") as gb:
        gb.find_grade("test_f", "ps01", "ps01", "bob").manual_score = 9.0  # by hand
        gb.db.commit()
    _, _, _, by_hand, _ = parallel._plan(small_course, "ps01", Limits(), False, "")
    assert by_hand["bob"].score == 9.0  # the gradebook's total, as grades.csv has it
    # What the table shows of it first (it cuts a reason at 70 characters): the grade is kept.
    assert bob.reason.startswith("earlier grade kept: submitted/bob/ps01/ is gone")
    assert scores(small_course) == {"ada": 7.0, "bob": 7.0}  # nothing removed
    summary = parallel._finish(run, outcomes, False, 1.0, {})
    assert (summary["kept"], summary["unchanged"]) == (1, 1)
    assert [r["status"] for r in summary["students"]] == ["unchanged", "kept"]
    assert summary["table"].splitlines()[2].split()[:3] == ["bob", "kept", "7/10"]
    # The guide's way to take such a grade out: nbgrader's Gradebook.remove_submission (and the
    # student's autograded folder); the next run has no row for bob.
    with Gradebook(f"sqlite:///{small_course / 'gradebook.db'}") as gb:
        gb.remove_submission("ps01", "bob")
    safe_copy.remove_tree(small_course / "autograded" / "bob")
    _, _, _, outcomes, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    assert todo == {} and {s: o.status for s, o in outcomes.items()} == {"ada": "unchanged"}


def test_an_unchanged_rows_notes_leave_out_the_retry_of_the_run_that_graded_it(
    small_course, tmp_path
):
    """A submission whose worker died and which was graded again has a note saying so; the next
    run, which grades nothing, showed the same note on its "unchanged" row, as if that run had
    retried it (found in an instructor's walk, killing a Dask worker). The note is the grading
    run's news, as a hand grade kept is: left out of later rows, kept in the manifest."""
    submit(small_course, "ada", notebook())
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    result = graded_result(small_course, tmp_path / "ada", "ada", notebook())
    result["retries"] = ["the worker process grading it was killed (SIGKILL)"]
    outcome = parallel._merge_result(run, manifest, "ada", todo["ada"], result, submissions["ada"])
    retry = "graded again after try 1 ended: the worker process grading it was killed (SIGKILL)"
    assert retry in outcome.notes
    _, manifest, _, outcomes, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    assert todo == {} and outcomes["ada"].status == "unchanged"
    assert retry not in outcomes["ada"].notes
    assert retry in manifest["students"]["ada"]["notes"]


def test_an_error_in_the_merge_fails_that_student_only(small_course, tmp_path, monkeypatch):
    """Should reading a job's results still raise something other than an OSError (a bug of
    the grader's), that student fails with the error as the reason, stored as a failure
    (empty scores, no autograded folder); the next student is merged as usual."""
    submit(small_course, "first", notebook())
    submit(small_course, "second", notebook())
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    results = {s: graded_result(small_course, tmp_path / f"{s}-out", s, notebook()) for s in todo}
    real = report.notes_from_notebook

    def broken(name, dir_fd):
        if "first-out" in os.readlink(f"/proc/self/fd/{dir_fd}"):
            raise ValueError("a bug of the grader's")
        return real(name, dir_fd)

    monkeypatch.setattr(report, "notes_from_notebook", broken)
    outcomes = {
        s: parallel._merge_result(run, manifest, s, todo[s], results[s], submissions[s])
        for s in sorted(todo)
    }
    assert {s: (o.status, o.reason) for s, o in outcomes.items()} == {
        "first": ("failed", f"{parallel.MERGE_FAILED} (ValueError: a bug of the grader's)"),
        "second": ("graded", ""),
    }
    assert scores(small_course) == {"first": None, "second": 7.0}
    assert not (small_course / "autograded" / "first" / "ps01").exists()
    assert (small_course / "autograded" / "second" / "ps01" / NB).is_file()


def test_a_merge_removes_the_feedback_of_the_grading_it_replaces(small_course, tmp_path):
    """A student graded again (or failed this time) loses the feedback pages of the previous
    grading before the new result is recorded: they would show the old score (a run with
    --no-feedback, or a resubmission that fails, writes no new page). Other students' pages,
    and the student's pages of other assignments, stay."""
    submit(small_course, "ada", notebook())
    submit(small_course, "bob", notebook())
    pages = {
        (who, a): small_course / "feedback" / who / a / "page.html"
        for who in ("ada", "bob", "cy")
        for a in ("ps01", "ps02")
    }
    for page in pages.values():
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("Score: 6.0 / 10.0")
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    graded = graded_result(small_course, tmp_path / "out", "ada", notebook())
    (tmp_path / "failed-out").mkdir()
    failed = {"exit_code": 1, "out": str(tmp_path / "failed-out")}
    outcomes = {
        "ada": parallel._merge_result(
            run, manifest, "ada", todo["ada"], graded, submissions["ada"]
        ),
        "bob": parallel._merge_result(
            run, manifest, "bob", todo["bob"], failed, submissions["bob"]
        ),
    }
    assert {s: o.status for s, o in outcomes.items()} == {"ada": "graded", "bob": "failed"}
    assert sorted(k for k, page in pages.items() if page.exists()) == [
        ("ada", "ps02"),
        ("bob", "ps02"),
        ("cy", "ps01"),
        ("cy", "ps02"),
    ]


@pytest.mark.processes
def test_a_run_killed_installing_an_autograded_folder_leaves_nothing_the_next_run_keeps(
    small_course, tmp_path
):
    """The merge fills ``.<assignment>.incoming`` beside the student's autograded folder, then
    renames it into place. A run killed before the rename left that folder (with the hidden
    tests, in the autograded notebook), which only a later successful install removed: a
    submission that failed from then on kept it for good. Now a failure's removal of the
    autograded folder removes it too. Here the run is killed at the rename (a forked child,
    ``os._exit``), and the next run's merge of the submission fails."""
    submit(small_course, "ada", notebook())
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    graded = graded_result(small_course, tmp_path / "out", "ada", notebook())
    dest = small_course / "autograded" / "ada" / "ps01"
    incoming = dest.parent / ".ps01.incoming"
    merge = lambda: parallel._merge_result(  # noqa: E731
        run, manifest, "ada", todo["ada"], graded, submissions["ada"]
    )
    assert _killed_at(os, "rename", 1, merge) == 9  # killed as it renames the folder into place
    assert (incoming / NB).is_file() and not dest.exists()
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    assert list(todo) == ["ada"]  # graded again: the killed run recorded nothing
    (tmp_path / "failed-out").mkdir()
    failed = {"exit_code": 1, "out": str(tmp_path / "failed-out")}
    outcome = parallel._merge_result(run, manifest, "ada", todo["ada"], failed, submissions["ada"])
    assert outcome.status == "failed"
    assert sorted(os.listdir(dest.parent)) == []


@pytest.mark.processes
def test_a_run_killed_mid_merge_has_the_submission_graded_again_whatever_its_hash(
    small_course, tmp_path, monkeypatch
):
    """A run killed between its merge into the gradebook and the manifest's entry left the
    earlier entry: if the submission was then the earlier one again (collected again, put
    back), the next run took it as unchanged and reported the entry's score, while the
    gradebook (and grades.csv) held the killed run's. Now the plan marks every submission it
    grades in the manifest first. Here the resubmission fails to grade, the run is killed (a
    forked child, ``os._exit``) as it removes the autograded folder after the gradebook
    merge, and the first submission is put back."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the merge's scratch folder
    first = notebook()
    folder = submit(small_course, "ada", first)
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    graded = graded_result(small_course, tmp_path / "out", "ada", first)
    parallel._merge_result(run, manifest, "ada", todo["ada"], graded, submissions["ada"])
    assert scores(small_course) == {"ada": 7.0}
    (folder / NB).write_text(first.replace("}", " }", 1))  # a new submission
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    assert list(todo) == ["ada"]
    (tmp_path / "failed-out").mkdir()
    failed = {"exit_code": 1, "out": str(tmp_path / "failed-out")}
    merge = lambda: parallel._merge_result(  # noqa: E731
        run, manifest, "ada", todo["ada"], failed, submissions["ada"]
    )
    assert _killed_at(shutil, "rmtree", 1, merge) == 9  # killed after the gradebook merge
    assert scores(small_course) == {"ada": None}  # merged as failed
    (folder / NB).write_text(first)  # the first submission, put back
    _, _, _, outcomes, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    assert list(todo) == ["ada"], outcomes.get("ada")


def test_the_merge_installs_what_the_job_returned_within_its_budget(small_course, tmp_path):
    """The coordinator's copy of a job's autograded folder into the course is held to the
    run's return budget, notebook first, and says what it left out (in reduced mode a
    process the student's code left running could add files after the job's own copy)."""
    submit(small_course, "ada", notebook())
    limits = Limits(return_mb=1)
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", limits, False, "")
    result = graded_result(small_course, tmp_path / "out", "ada", notebook())
    with open(tmp_path / "out" / "autograded" / "added-later.bin", "wb") as f:
        f.truncate(2 << 20)
    outcome = parallel._merge_result(run, manifest, "ada", todo["ada"], result, submissions["ada"])
    assert (outcome.status, outcome.score) == ("graded", 7.0)
    assert os.listdir(small_course / "autograded" / "ada" / "ps01") == [NB]
    assert outcome.notes == [
        "1 file(s), 2 MiB, not kept: over the limit of 1 MiB per submission"
        " (first: added-later.bin)"
    ]


def test_a_failed_submission_keeps_what_the_job_said_it_left_out(small_course, tmp_path):
    """What the job's copy-out left out may be why nothing could be graded (its gradebook
    among it): a failed submission's notes say it, as a graded one's do."""
    submit(small_course, "ada", notebook())
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    (tmp_path / "out").mkdir()
    left_out = "more than 20000 files and folders: the rest not kept (from: autograded/x)"
    result = {"exit_code": 0, "out": str(tmp_path / "out"), "return_notes": [left_out]}
    outcome = parallel._merge_result(run, manifest, "ada", todo["ada"], result, submissions["ada"])
    assert outcome.status == "failed" and left_out in outcome.notes


def test_a_check_that_fails_is_a_note_on_that_submission(small_course, tmp_path, monkeypatch):
    """Should a check of the student's files still raise (a bug of the grader's), the
    submission is graded as nbgrader graded it, with the error as a note."""

    def broken(*args):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(parallel, "static_checks", broken)
    monkeypatch.setattr(parallel, "diagnose", broken)
    submit(small_course, "good", notebook())
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    result = graded_result(small_course, tmp_path / "out", "good", notebook())
    outcome = parallel._merge_result(
        run, manifest, "good", todo["good"], result, submissions["good"]
    )
    assert (outcome.status, outcome.score) == ("graded", 7.0)
    assert (
        outcome.notes[:2]
        == [f"{parallel.CHECKS_FAILED} (RecursionError: maximum recursion depth exceeded)"] * 2
    )


def test_an_oserror_in_a_merge_stops_the_run_and_fails_no_student(
    small_course, tmp_path, monkeypatch
):
    """A folder another user owns, a read-only course: every student would meet it, so the run
    stops (what was merged stays) rather than fail and wipe the class one student at a time."""
    submit(small_course, "good", notebook())
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    result = graded_result(small_course, tmp_path / "good-out", "good", notebook())

    def not_allowed(*args):
        raise PermissionError(13, "Permission denied", "autograded/good")

    monkeypatch.setattr(parallel, "_record", not_allowed)
    with pytest.raises(PermissionError):
        parallel._merge_result(run, manifest, "good", todo["good"], result, submissions["good"])
    assert manifest["students"] == {}
    assert scores(small_course) == {}


def test_summary_csv_keeps_what_a_spreadsheet_would_run_as_text(tmp_path):
    """A student's code can make the running cell's first line, and file names make notes:
    summary.csv had ``=HYPERLINK(...)`` as a cell, which a spreadsheet runs as a formula."""
    rows = [
        report.Outcome(
            "mallory", "failed", None, 10.0, "kernel died", '=HYPERLINK("http://x/?"&A2,"o")'
        ).row(),
        report.Outcome("ann", "graded", 10.0, 10.0, "", "", ["-1 note", "@x"], ["+y"]).row(),
    ]
    report.write_summary(tmp_path, {"students": rows})
    with open(tmp_path / "summary.csv", newline="") as f:
        got = {r["student"]: r for r in csv.DictReader(f)}
    assert got["mallory"]["cell"] == "'" + rows[0]["cell"]
    assert (got["ann"]["notes"], got["ann"]["flags"]) == ("'-1 note; @x", "'+y")
    assert (got["ann"]["score"], got["mallory"]["reason"]) == ("10.0", "kernel died")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["students"][0]["cell"] == rows[0]["cell"]  # the JSON keeps it as it was
    assert [report.as_text_cell(v) for v in ("\tx", "\rx", "x=1", 3, None)] == [
        "'\tx",
        "'\rx",
        "x=1",
        3,
        None,
    ]


def test_written_reports_reach_the_disk_before_and_after_their_rename(tmp_path, monkeypatch):
    """``report.write_text`` (grades.csv, the summary, the manifest): the new file's data are
    synced before it replaces the old one, and the folder after, so that a power cut leaves the
    old file or the new one, never an empty one. Every fsync and rename is recorded in order."""
    events = []
    real_fsync, real_replace = os.fsync, Path.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(self, target):
        events.append(("rename", str(self), str(target)))
        return real_replace(self, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Path, "replace", replace)
    path = tmp_path / "grades.csv"
    path.write_text("old\n")
    report.write_text(path, "new\n")
    tmp = str(tmp_path / "grades.csv.tmp")
    assert events == [("fsync", tmp), ("rename", tmp, str(path)), ("fsync", str(tmp_path))]
    assert path.read_text() == "new\n" and sorted(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("student", ["-dash", "--force", "a[1]", "ann marie", "zoë=ü"])
@pytest.mark.processes
def test_feedback_is_asked_for_the_student_whatever_the_folder_name(tmp_path, monkeypatch, student):
    """The feedback task's nbgrader command line, parsed by nbgrader itself, names the student
    (as a pattern that matches that id alone). A student folder "-dash" was given as
    ``--student -dash``, which nbgrader read as an option: its feedback failed on every run
    with *argument --CourseDirectory.student_id: expected one argument* (found in an
    instructor's walk with unusual folder names)."""
    import fnmatch

    from nbgrader.apps.nbgraderapp import NbGraderApp

    parsed = tmp_path / "parsed.txt"

    def parses(argv, **kw):  # nbgrader's own parsing of the command line, and nothing more
        app = NbGraderApp()
        app.initialize(argv)
        parsed.write_text(app.subapp.coursedir.student_id, encoding="utf-8")
        raise SystemExit(0)

    monkeypatch.setattr(NbGraderApp, "launch_instance", parses)
    assert parallel._feedback_task((str(tmp_path), "ps", student, 600.0)) == (student, 0, "")
    pattern = parsed.read_text(encoding="utf-8")
    assert fnmatch.fnmatchcase(student, pattern), (student, pattern)
    assert not fnmatch.fnmatchcase(student + "x", pattern)


@pytest.mark.processes
def test_feedback_that_runs_past_its_deadline_is_killed_and_its_folder_removed(
    tmp_path, monkeypatch
):
    """nbgrader's feedback turns a student's markdown into HTML as the instructor, outside any
    sandbox, and had no deadline: a cell of a few MiB of "[a](" took nbconvert's markdown
    parser minutes (about 25 s for 1 MiB in a review), the course lock held all the while. Here
    a stand-in nbgrader that never ends is killed at the deadline; one that ends is not."""
    from nbgrader.apps.nbgraderapp import NbGraderApp

    page = tmp_path / "feedback" / "s" / "ps" / "ps.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html>half a page")
    monkeypatch.setattr(NbGraderApp, "launch_instance", lambda **kw: time.sleep(120))
    student, status, why = parallel._feedback_task((str(tmp_path), "ps", "s", 0.5))
    assert (student, status, why) == ("s", -signal.SIGKILL, "timeout: not done after 0.5 s")
    assert not page.parent.exists() and (tmp_path / "feedback" / "s").is_dir()

    def ends(**kw):  # as nbgrader fails: a traceback's last line on its output, status 1
        os.write(1, b"Traceback (most recent call last):\nOSError: [Errno 28] No space\n")
        raise SystemExit(1)

    monkeypatch.setattr(NbGraderApp, "launch_instance", ends)
    assert parallel._feedback_task((str(tmp_path), "ps", "s", 600.0)) == (
        "s",
        1,
        "OSError: [Errno 28] No space",
    )

    def hides(**kw):  # closes its output, then never ends: the deadline holds all the same
        os.close(1)
        os.close(2)
        time.sleep(120)

    monkeypatch.setattr(NbGraderApp, "launch_instance", hides)
    assert parallel._feedback_task((str(tmp_path), "ps", "s", 0.5))[1] == -signal.SIGKILL

    def leaves(**kw):  # ends at once, leaving a process that holds its output open
        left = subprocess.Popen(["sleep", "120"])
        (tmp_path / "left.pid").write_text(str(left.pid))
        raise SystemExit(0)

    monkeypatch.setattr(NbGraderApp, "launch_instance", leaves)
    page.parent.mkdir(parents=True)
    page.write_text("<html>a whole page</html>")
    assert parallel._feedback_task((str(tmp_path), "ps", "s", 600.0)) == ("s", 0, "")
    assert page.read_text() == "<html>a whole page</html>"  # finished: kept, not a timeout
    left = int((tmp_path / "left.pid").read_text())  # killed with the child's process group:
    state, deadline = "", time.monotonic() + 60  # gone, or a zombie until its new parent reaps it
    while state not in ("gone", "Z") and time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{left}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            state = "gone"
        time.sleep(0.05)
    assert state in ("gone", "Z"), f"the process it left is still running ({state})"


def _state(pid: int) -> str:
    """The state letter of process ``pid`` in /proc ("S", "Z", ...), or "gone"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def _dies_with_its_killed_parent(run, mark: Path, what: str, wait: float = 60) -> None:
    """Fork a child that calls ``run()``, which starts a process that writes its pid into
    ``mark`` and waits; SIGKILL the child once ``mark`` is there (``wait`` seconds at most);
    that process must go too (``what`` names it in the failure)."""
    parent = os.fork()
    if parent == 0:  # pragma: no cover - the child
        try:
            run()
        finally:
            os._exit(0)
    child = None
    try:
        deadline = time.monotonic() + wait
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(mark.read_text())
        os.kill(parent, signal.SIGKILL)
        assert os.waitstatus_to_exitcode(os.waitpid(parent, 0)[1]) == -signal.SIGKILL
        state, deadline = _state(child), time.monotonic() + 60
        while state not in ("gone", "Z") and time.monotonic() < deadline:
            time.sleep(0.05)  # gone, or a zombie until its new parent reaps it
            state = _state(child)
        assert state in ("gone", "Z"), f"{what} ({state})"
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(parent, signal.SIGKILL)
            os.waitpid(parent, 0)
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)


@pytest.mark.processes
def test_feedback_dies_with_the_worker_that_forked_it(tmp_path, monkeypatch):
    """A run killed while feedback ran (its workers die with it) left each feedback child
    running, in a session of its own: an nbgrader writing a student's feedback folder after
    the run, without the course lock, over what the next run removed or wrote (a page of the
    grading that run replaced). Here a worker (a forked child) runs a feedback whose stand-in
    nbgrader never ends, and is SIGKILLed: the feedback child must go with it."""
    from nbgrader.apps.nbgraderapp import NbGraderApp

    mark = tmp_path / "feedback.pid"

    def never_ends(**kw):
        (tmp_path / "pid.tmp").write_text(str(os.getpid()))
        (tmp_path / "pid.tmp").rename(mark)
        time.sleep(120)

    monkeypatch.setattr(NbGraderApp, "launch_instance", never_ends)
    _dies_with_its_killed_parent(
        lambda: parallel._feedback_task((str(tmp_path), "ps", "s", 600.0)),
        mark,
        "the feedback child outlived its worker",
    )


@pytest.mark.parametrize(
    "raised, status, why",
    [
        (RuntimeError("the template folder went"), 2, "RuntimeError: the template folder went"),
        (ValueError("No template sub-directory"), 2, "ValueError: No template sub-directory"),
        (
            SystemExit("nbgrader_config.py: ImportError: no lstm_grading"),
            1,
            "ImportError: no lstm_grading",
        ),
        (SystemExit(3), 3, ""),
        (SystemExit(None), 0, ""),
    ],
    ids=["RuntimeError", "ValueError", "SystemExit-message", "SystemExit-3", "SystemExit-None"],
)
@pytest.mark.processes
def test_feedback_that_fails_in_python_says_why(tmp_path, monkeypatch, raised, status, why):
    """nbgrader raising something other than SystemExit (nbconvert's ValueError for a template
    folder missing from the environment, found grading from an installed wheel) ended the
    forked child at once, its traceback never printed: the student's note said "feedback
    generation failed" and no reason. Now the traceback goes to the child's output and the
    note ends with its last line; a SystemExit's message is printed too."""
    from nbgrader.apps.nbgraderapp import NbGraderApp

    def fails(**kw):
        raise raised

    monkeypatch.setattr(NbGraderApp, "launch_instance", fails)
    got = parallel._feedback_task((str(tmp_path), "ps", "s", 600.0))
    assert got[:2] == ("s", status)
    assert got[2].endswith(why) and (why or got[2] == ""), got


class FeedbackPool:
    """Stands in for the run's pool in :func:`parallel._feedback`: each student's feedback
    task gets the (status, reason) given, as ``_feedback_task`` returns them."""

    def __init__(self, ends: dict[str, tuple[int, str]]):
        self.ends, self.asked = ends, []

    def submit(self, student, kind, task):
        assert kind == "feedback" and task[2] == student
        self.asked.append(student)

    def results(self):
        for student in self.asked:
            yield student, (student, *self.ends[student]), None


def test_feedback_that_timed_out_is_not_tried_again_for_the_same_submission(tmp_path):
    """A feedback that runs past its time (a cell of megabytes of markdown) cost that time again
    on every later run, the student unchanged and the page still missing. The manifest now
    marks the submission: later runs skip it and say why; a new submission, or --force (which
    forgets the manifest's entries), tries again. The notes of one run never reach the
    manifest's record of the grading (they were the same list)."""
    course = tmp_path / "course"
    (course / "reports" / "ps").mkdir(parents=True)
    run = parallel._Run(course, "ps", Limits(), 10.0, ("ps.ipynb",), "")
    manifest = {"key": "k", "students": {}}
    for student in ("slow", "fine"):
        manifest["students"][student] = {"hash": student, "status": "graded", "notes": ["n"]}

    def unchanged():
        return {
            s: report.Outcome(s, "unchanged", 10.0, 10.0, notes=list(e["notes"]))
            for s, e in manifest["students"].items()
        }

    timeout = f"{parallel.FEEDBACK_TIMED_OUT} 600 s"
    pool = FeedbackPool({"slow": (-signal.SIGKILL, timeout), "fine": (0, "")})
    outcomes = unchanged()
    due = parallel.feedback_due(run, outcomes, [], manifest, {})
    assert due == ["fine", "slow"]  # no page yet for either
    parallel._feedback(pool, run, due, outcomes, manifest, {})
    assert outcomes["slow"].notes == ["n", f"{parallel.FEEDBACK_FAILED} ({timeout})"]
    now = parallel._finish(run, outcomes, False, 1.0, {})  # failed on this run
    assert (now["feedback_failed"], now["feedback_failed_before"]) == (1, 0)
    saved = json.loads((course / "reports" / "ps" / "manifest.json").read_text())
    assert saved["students"]["slow"] == {
        **manifest["students"]["slow"],
        "feedback_timeout": timeout,
    }
    assert saved["students"]["slow"]["notes"] == ["n"]  # this run's note is not the grading's
    assert "feedback_timeout" not in saved["students"]["fine"]
    page = course / "feedback" / "fine" / "ps" / "ps.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html></html>")
    # The next run: the same submissions; only the one whose page is missing and whose
    # feedback did not time out would be tried, and this one did.
    outcomes = unchanged()
    assert parallel.feedback_due(run, outcomes, [], manifest, {}) == []
    assert outcomes["slow"].notes == [
        "n",
        f"{parallel.FEEDBACK_FAILED} ({timeout}, on an earlier run of this submission; not tried "
        "again: --force tries again)",
    ]
    summary = parallel._finish(run, outcomes, False, 1.0, {})
    assert (summary["feedback_failed"], summary["feedback_failed_before"]) == (1, 1)
    # A new submission of "slow" is graded again (a new entry, without the mark): tried again.
    manifest["students"]["slow"] = {"hash": "new", "status": "graded", "notes": []}
    outcomes = {**unchanged(), "slow": report.Outcome("slow", "graded", 10.0, 10.0)}
    assert parallel.feedback_due(run, outcomes, ["slow"], manifest, {}) == ["slow"]
    # --force: the manifest's entries are forgotten, every student graded again and tried.
    manifest["students"] = {}
    outcomes = {s: report.Outcome(s, "graded", 10.0, 10.0) for s in ("fine", "slow")}
    assert parallel.feedback_due(run, outcomes, ["fine", "slow"], manifest, {}) == ["fine", "slow"]


def test_a_timed_out_feedback_with_a_hand_grade_since_says_its_page_is_not_written(tmp_path):
    """An unchanged student whose feedback ran past its time on an earlier run is not tried
    again. If a grade was then given by hand (the page, written since by the instructor's own
    ``nbgrader generate_feedback``, shows the old marks), the row said "feedback written
    again: a grade or comment changed ..." beside "not tried again": the page was not written.
    It now says the page is out of date and not written again (found in a review)."""
    course = tmp_path / "course"
    (course / "reports" / "ps").mkdir(parents=True)
    run = parallel._Run(course, "ps", Limits(), 10.0, ("ps.ipynb",), "")
    timeout = f"{parallel.FEEDBACK_TIMED_OUT} 600 s"
    entry = {"hash": "h", "status": "graded", parallel.FEEDBACK_MARKS: "old"}
    manifest = {"key": "k", "students": {"slow": {**entry, parallel.FEEDBACK_TIMEOUT: timeout}}}
    page = course / "feedback" / "slow" / "ps" / "ps.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html>the old grade</html>")
    outcomes = {"slow": report.Outcome("slow", "unchanged", 10.0, 10.0)}
    assert parallel.feedback_due(run, outcomes, [], manifest, {"slow": "new"}) == []
    assert parallel.FEEDBACK_HAND_NOTE not in outcomes["slow"].notes
    assert outcomes["slow"].notes == [
        parallel.FEEDBACK_HAND_STALE_NOTE,
        f"{parallel.FEEDBACK_FAILED} ({timeout}, on an earlier run of this submission; not tried "
        "again: --force tries again)",
    ]
    assert "not written again" in parallel.FEEDBACK_HAND_STALE_NOTE


def test_a_page_not_written_takes_back_the_note_that_says_why_it_is_written(tmp_path):
    """feedback_due notes why each page is written: pending, missing, or a grade given by hand
    since. A feedback that then fails, or a run stopped before it, takes the note back and
    says so instead; the hand grade's stayed, and the row said "feedback written again"
    beside "feedback generation failed" or "feedback page not written" (found in a review of
    2bd4970, which takes back the other two)."""
    course = tmp_path / "course"
    (course / "reports" / "ps").mkdir(parents=True)
    run = parallel._Run(course, "ps", Limits(), 10.0, ("ps.ipynb",), "")
    manifest = {"key": "k", "students": {}}
    for student in ("hand", "missing"):
        entry = {"hash": student, "status": "graded", parallel.FEEDBACK_MARKS: "old"}
        manifest["students"][student] = entry
    page = course / "feedback" / "hand" / "ps" / "ps.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html>the old grade</html>")
    marks = {"hand": "new", "missing": "old"}  # a grade of "hand" changed by hand since

    def due() -> dict[str, report.Outcome]:
        outcomes = {s: report.Outcome(s, "unchanged", 10.0, 10.0) for s in manifest["students"]}
        assert parallel.feedback_due(run, outcomes, [], manifest, marks) == ["hand", "missing"]
        assert outcomes["hand"].notes == [parallel.FEEDBACK_HAND_NOTE]
        assert outcomes["missing"].notes == [parallel.FEEDBACK_MISSING_NOTE]
        return outcomes

    outcomes = due()
    pool = FeedbackPool({"hand": (1, "nbconvert failed"), "missing": (1, "nbconvert failed")})
    parallel._feedback(pool, run, ["hand", "missing"], outcomes, manifest, marks)
    for student in ("hand", "missing"):
        assert outcomes[student].notes == [f"{parallel.FEEDBACK_FAILED} (nbconvert failed)"]
    # Failed, both are left pending (tried again). Another run, as before the failure, stopped
    # during the feedback: both still marked pending, as _feedback marks them.
    for student in ("hand", "missing"):
        del manifest["students"][student][parallel.FEEDBACK_PENDING]
    outcomes = due()
    for student in ("hand", "missing"):
        manifest["students"][student][parallel.FEEDBACK_PENDING] = True
    with pytest.raises(KeyboardInterrupt):
        with parallel.summary_when_stopped(run, outcomes, {}, dict, 0.0) as stage:
            stage.phase, stage.feedback, stage.manifest = "feedback", True, manifest
            raise KeyboardInterrupt
    summary = json.loads((course / "reports" / "ps" / "summary.json").read_text())
    not_written = parallel.FEEDBACK_NOT_WRITTEN.format(by="SIGINT")
    assert [r["notes"] for r in summary["students"]] == [not_written, not_written]


def test_a_failed_feedback_stays_out_of_the_manifests_record_of_the_grading(
    tmp_path, empty_gradebook
):
    """A submission graded by this run whose feedback then fails: the row says so, and the
    manifest's record of the grading does not. The record held the row's own list of notes,
    which the failure's note went into and the manifest saved: every later run's unchanged row
    said "feedback generation failed" and ended with status 1, the page long written since
    (found in a review of 2bd4970)."""
    course, run, manifest, outcomes = merged_by_a_run(tmp_path, empty_gradebook)
    pool = FeedbackPool({"bob": (1, "nbconvert failed")})
    parallel._feedback(pool, run, ["bob"], outcomes, manifest, {})
    failed = f"{parallel.FEEDBACK_FAILED} (nbconvert failed)"
    assert outcomes["bob"].notes == [failed]
    saved = json.loads((course / "reports" / "ps01" / "manifest.json").read_text())
    assert saved["students"]["bob"]["notes"] == []
    # The next run: bob unchanged, the page written this time; no failure on the row.
    run, manifest, _, outcomes, todo = parallel._plan(course, "ps01", Limits(), False, "")
    assert todo == {} and outcomes["bob"].status == "unchanged"
    assert parallel.feedback_due(run, outcomes, [], manifest, {}) == ["bob"]
    parallel._feedback(FeedbackPool({"bob": (0, "")}), run, ["bob"], outcomes, manifest, {})
    assert outcomes["bob"].notes == [parallel.FEEDBACK_PENDING_NOTE]


class KilledWritingPool(FeedbackPool):
    """Stands in for the pool of a run killed while a feedback child wrote a student's page:
    the first student's page is left cut short (as nbconvert writes it in place), and the
    process dies (``os._exit``, as a SIGKILL ends it) before any result comes back."""

    def __init__(self, course: Path):
        super().__init__({})
        self.course = course

    def results(self):
        page = self.course / "feedback" / self.asked[0] / "ps" / "ps.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("<html><body>Score: 3")
        os._exit(9)
        yield  # pragma: no cover - a generator all the same


@pytest.mark.processes
def test_a_page_left_by_a_run_killed_during_feedback_is_written_again(tmp_path):
    """nbgrader writes each feedback page in place: a run killed as it wrote one left a page
    cut short (or empty), which every later run took for the student's page, since it was a
    file, and never wrote again. The manifest now marks each student's feedback pending, on
    disk, before it starts, and unmarks it when it has ended well: the next run of the same
    submissions writes the pages of the students still marked, and only theirs."""
    course = tmp_path / "course"
    (course / "reports" / "ps").mkdir(parents=True)
    run = parallel._Run(course, "ps", Limits(), 10.0, ("ps.ipynb",), "")
    manifest = {"key": "k", "students": {}}
    for student in ("ann", "bob"):
        manifest["students"][student] = {"hash": student, "status": "graded", "notes": []}
    parallel.save_manifest(run, manifest)  # as the runs that graded them left it
    whole = course / "feedback" / "bob" / "ps" / "ps.html"
    whole.parent.mkdir(parents=True)
    whole.write_text("<html>a whole page</html>")

    def unchanged():
        return {s: report.Outcome(s, "unchanged", 10.0, 10.0) for s in manifest["students"]}

    assert parallel.feedback_due(run, unchanged(), [], manifest, {}) == ["ann"]
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the run, killed during feedback
        try:
            parallel._feedback(KilledWritingPool(course), run, ["ann"], unchanged(), manifest, {})
        finally:
            os._exit(0)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 9
    assert (course / "feedback" / "ann" / "ps" / "ps.html").is_file()  # the page cut short
    # The next run, with the manifest as the killed run left it:
    saved = json.loads((course / "reports" / "ps" / "manifest.json").read_text())
    assert parallel.feedback_due(run, unchanged(), [], saved, {}) == ["ann"]
    pool = FeedbackPool({"ann": (0, "")})
    parallel._feedback(pool, run, ["ann"], unchanged(), saved, {})
    saved = json.loads((course / "reports" / "ps" / "manifest.json").read_text())
    assert parallel.FEEDBACK_PENDING not in saved["students"]["ann"]
    assert parallel.feedback_due(run, unchanged(), [], saved, {}) == []
    # A feedback that fails stays pending (its page, if any, is not trusted): tried again.
    pool = FeedbackPool({"bob": (1, "OSError: [Errno 28] No space")})
    parallel._feedback(pool, run, ["bob"], unchanged(), saved, {})
    saved = json.loads((course / "reports" / "ps" / "manifest.json").read_text())
    assert whole.is_file() and parallel.feedback_due(run, unchanged(), [], saved, {}) == ["bob"]


def test_the_end_of_run_table_lists_failures_then_notes_first():
    """What needs the instructor's eye comes first: refused, failed, graded, unchanged; within
    a status the rows with notes (an edited locked cell, a timeout) before those without, then
    by student."""
    rows = [
        report.Outcome("ada", "graded", 10.0, 10.0),
        report.Outcome("bob", "graded", 7.0, 10.0, notes=["edited locked cell test_f"]),
        report.Outcome("cy", "unchanged", 9.0, 10.0, notes=["cell timeout in cell 3"]),
        report.Outcome("dee", "failed", None, 10.0, "kernel died"),
        report.Outcome("eve", "refused", None, 10.0, "submitted folder is a link"),
    ]
    lines = report.format_table(rows).splitlines()[2:]  # after the header and its rule
    assert [line.split()[0] for line in lines] == ["eve", "dee", "bob", "ada", "cy"]


def test_refused_submissions_get_a_row_with_their_reason_in_grades_csv(tmp_path):
    """A submission refused before the gradebook (nbgrader export does not know it) gets a row
    whose status says "refused: " and why; a row the export already has for it is updated,
    and other assignments' rows are left as they are."""
    grades = tmp_path / "grades.csv"
    grades.write_text(
        "assignment,student_id,score,status\n"
        "ps01,ada,10.0,graded\n"
        "ps01,bob,0.0,not submitted\n"
        "ps02,cy,5.0,graded\n"
    )
    refused = {"cy": "submitted folder is a link", "bob": "ps01.ipynb is a FIFO"}
    report.add_refused_to_grades(grades, "ps01", refused)
    with open(grades, newline="") as f:
        rows = [tuple(row.values()) for row in csv.DictReader(f)]
    assert rows == [
        ("ps01", "ada", "10.0", "graded"),
        ("ps01", "bob", "0.0", "refused: ps01.ipynb is a FIFO"),
        ("ps02", "cy", "5.0", "graded"),
        ("ps01", "cy", "", "refused: submitted folder is a link"),
    ]
    report.add_refused_to_grades(tmp_path / "none.csv", "ps01", refused)  # no export: no file
    assert not (tmp_path / "none.csv").exists()


def test_refused_rows_get_a_status_column_in_an_export_that_has_none(tmp_path):
    """nbgrader's own CsvExportPlugin (a course whose nbgrader_config.py does not set
    lstm_grading.export's exporter) writes no status column; a run with a refusal then stopped
    with "dict contains fields not in fieldnames: 'status'" (exit status 2, grades.csv.tmp left
    behind; found running `make autograde` on a scratch course). The column is added."""
    grades = tmp_path / "grades.csv"
    grades.write_text("assignment,student_id,score\nps01,ada,10.0\n")
    report.add_refused_to_grades(grades, "ps01", {"bob": "submission folder is a symbolic link"})
    with open(grades, newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["assignment", "student_id", "score", "status"],
        ["ps01", "ada", "10.0", ""],
        ["ps01", "bob", "", "refused: submission folder is a symbolic link"],
    ]


@pytest.mark.processes
def test_a_run_killed_as_it_exports_never_leaves_a_refused_row_graded(small_course, tmp_path):
    """The export's refused rows were added to grades.csv after it had replaced the earlier one:
    a run killed in between left a grades.csv in which a refused resubmission showed the
    grade of the student's earlier submission as "graded", where the earlier file said
    "refused". Now they are added to the new file before it replaces the old: a run killed at
    any of its renames leaves the earlier grades.csv or the new one, both right."""
    (small_course / "nbgrader_config.py").write_text(
        "from lstm_grading.export import CsvExportWithStatus\n"
        "c = get_config()  # noqa: F821\n"
        "c.ExportApp.plugin_class = CsvExportWithStatus\n"
    )
    submit(small_course, "ada", notebook())
    run, manifest, submissions, _, todo = parallel._plan(small_course, "ps01", Limits(), False, "")
    graded = graded_result(small_course, tmp_path / "out", "ada", notebook())
    assert parallel._merge_result(run, manifest, "ada", todo["ada"], graded, submissions["ada"])
    refused = {"ada": parallel._refuse(run, "ada", "ps01.ipynb is a FIFO")}

    def status() -> str:
        with open(small_course / "grades.csv", newline="") as f:
            return {row["student_id"]: row["status"] for row in csv.DictReader(f)}["ada"]

    parallel._finish(run, refused, True, 1.0, {})  # the run that refused it first
    assert status() == "refused: ps01.ipynb is a FIFO"
    for n in range(1, 4):  # the renames of the export (the summary's come after)
        # Each file written whole is renamed into place: killed at the n-th.
        assert (
            _killed_at(os, "replace", n, lambda: parallel._finish(run, refused, True, 1.0, {})) == 9
        )
        assert status() == "refused: ps01.ipynb is a FIFO", f"killed at rename {n}"


@pytest.mark.processes
def test_the_export_dies_with_the_run(small_course, tmp_path):
    """A run killed during ``nbgrader export`` left the export running, writing grades.csv.tmp
    after the run, without the course lock, while the next run wrote and renamed the same
    file. Here the course's nbgrader config (which the export process runs) says which
    process it is and waits; the run (a forked child) is SIGKILLed: the export must go too."""
    mark = tmp_path / "export.pid"
    (small_course / "nbgrader_config.py").write_text(
        "import os, time\n"
        f"open({str(mark) + '.tmp'!r}, 'w').write(str(os.getpid()))\n"
        f"os.rename({str(mark) + '.tmp'!r}, {str(mark)!r})\n"
        "time.sleep(120)\n"
    )
    run = parallel._Run(small_course, "ps01", Limits(), 10.0, (NB,), "")
    _dies_with_its_killed_parent(
        lambda: parallel._finish(run, {}, True, 1.0, {}),
        mark,
        "the export outlived the run",
        wait=120,
    )


def test_the_grades_export_says_which_zeros_need_grading(tmp_path, empty_gradebook):
    """nbgrader's CSV has 0.0 both for a real zero and for a failed autograde; the status
    column (lstm_grading.export, the course's nbgrader export plugin) tells them apart from
    the gradebook: graded, needs grading (needs_manual_grade) or not submitted."""
    from nbgrader.api import Gradebook

    from lstm_grading.export import CsvExportWithStatus

    path = empty_gradebook(tmp_path / "gradebook.db")
    dest = tmp_path / "grades.csv"
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment("ps01")
        gb.add_notebook("ps01", "ps01")
        gb.add_grade_cell("test_f", "ps01", "ps01", max_score=10, cell_type="code")
        for student, score in [("ada", 0.0), ("bob", None), ("cy", "none")]:
            gb.add_student(student)
            if score == "none":
                continue  # cy submitted nothing
            with gb.db.no_autoflush:
                gb.add_submission("ps01", student)
            grade = gb.find_grade("test_f", "ps01", "ps01", student)
            # as nbgrader's SaveAutoGrades leaves a cell: needs grading if it has no score
            grade.auto_score, grade.needs_manual_grade = score, score is None
            gb.db.commit()
        CsvExportWithStatus(to=str(dest)).export(gb)
    with open(dest, newline="") as f:
        rows = {row["student_id"]: (row["score"], row["status"]) for row in csv.DictReader(f)}
    assert rows == {
        "ada": ("0.0", "graded"),  # a real zero
        "bob": ("0.0", "needs grading"),  # autograding failed
        "cy": ("0.0", "not submitted"),
    }


def test_the_grades_export_quotes_names_and_is_nbgraders_csv_otherwise(tmp_path, empty_gradebook):
    """nbgrader's CSV export joins the values with commas as they are: a student named with a
    comma (``Smith, Jr.``, as ``nbgrader db student import`` takes a roster) shifted the rest of
    the row, and the status column's pass over it then failed with *dict contains fields not
    in fieldnames: None*, leaving nbgrader's misaligned grades.csv (found in an instructor's
    walk). The course's export writes its rows as CSV; for names without a comma or a quote it
    is nbgrader's file, with the status column at the end of each line."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    from lstm_grading.export import CsvExportWithStatus

    path = empty_gradebook(tmp_path / "gradebook.db")
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment("ps01")
        gb.add_notebook("ps01", "ps01")
        gb.add_grade_cell("test_f", "ps01", "ps01", max_score=10, cell_type="code")
        gb.add_student("ada", last_name="Lovelace", first_name="Ada", email="ada@uni.example")
        gb.add_student("bob")  # submitted nothing
        with gb.db.no_autoflush:
            gb.add_submission("ps01", "ada")
        grade = gb.find_grade("test_f", "ps01", "ps01", "ada")
        grade.auto_score, grade.needs_manual_grade = 7.0, False  # as SaveAutoGrades leaves it
        gb.db.commit()
        CsvExportPlugin(to=str(tmp_path / "nbgrader.csv")).export(gb)
        CsvExportWithStatus(to=str(tmp_path / "plain.csv")).export(gb)
        gb.add_student("cy", last_name="Smith, Jr.", first_name='Cy "C"', email="cy@uni.example")
        CsvExportWithStatus(to=str(tmp_path / "grades.csv")).export(gb)
    theirs = (tmp_path / "nbgrader.csv").read_text().splitlines()
    ours = (tmp_path / "plain.csv").read_text().splitlines()
    status = {"ada": "graded", "bob": "not submitted"}
    assert ours == [theirs[0] + ",status"] + [
        line + "," + status[line.split(",")[3]] for line in theirs[1:]
    ]
    assert len(ours) == 3
    with open(tmp_path / "grades.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert None not in rows["cy"], rows["cy"]  # no value beyond the header's columns
    assert (rows["cy"]["last_name"], rows["cy"]["first_name"]) == ("Smith, Jr.", 'Cy "C"')
    assert (rows["cy"]["email"], rows["cy"]["status"]) == ("cy@uni.example", "not submitted")
    assert (rows["ada"]["score"], rows["ada"]["status"]) == ("7.0", "graded")


def test_the_end_of_run_table_shows_where_it_cut_a_cell():
    """A reason, cell or flag list too long for its column ends in "..." (summary.csv has it
    whole); one that fits is shown as it is."""
    long_reason = "nbgrader failed: SyntaxError: unterminated string literal (detected at line 3)"
    rows = [
        report.Outcome("ada", "failed", None, 10.0, long_reason, cell="def tanh(x):  " + "x" * 40),
        report.Outcome("bob", "graded", 7.0, 10.0, notes=["edited locked cell"]),
    ]
    table = report.format_table(rows).splitlines()
    ada = next(line for line in table if line.startswith("ada"))
    bob = next(line for line in table if line.startswith("bob"))
    assert long_reason[:67] + "..." in ada and long_reason not in ada
    assert "def tanh(x):" in ada and ada.rstrip().endswith("...")
    assert "edited locked cell" in bob and "..." not in bob


def test_the_end_of_run_table_shows_a_student_folder_name_escaped_and_within_its_column():
    """The student column is a folder name the student may have chosen: it was printed as it
    was, so an escape sequence in it acted on the instructor's terminal, and a 200-character
    name (found in an instructor's walk) made every line of the table 200 characters wider.
    Now escaped and cut as the other columns are (summary.csv has it whole)."""
    names = ["zoë_ünï", "\x1b[2Jclear", "l" * 200, "ann marie"]
    table = report.format_table([report.Outcome(n, "graded", 7.0, 10.0) for n in names])
    assert "\x1b" not in table and "\\x1b[2Jclear" in table  # as Python writes it
    assert "zoë_ünï" in table and "ann marie" in table
    long = next(line for line in table.splitlines() if line.startswith("l"))
    assert long.startswith("l" * (report.STUDENT_WIDTH - 3) + "...  graded")


def overwrite_course(tmp_path, empty_gradebook) -> tuple[str, dict]:
    """A gradebook of one notebook ``ps01`` (its url) and its cells by grade id: a read-only
    ``setup``, the answer ``f``, a read-only ``tools`` and the grade cell ``test_f`` after it (as
    ps03's tools and test_step_shapes)."""
    import nbformat
    from nbgrader.api import Gradebook

    def cell(source, grade_id, **flags):
        node = nbformat.v4.new_code_cell(source)
        node.metadata["nbgrader"] = {
            "grade": False, "grade_id": grade_id, "locked": True, "schema_version": 3,
            "solution": False, **flags,
        }  # fmt: skip
        return node

    cells = {
        "setup": cell("import math\n", "setup"),
        "f": cell("def f():\n    return 1\n", "f", locked=False, solution=True),
        "tools": cell("def g():\n    return 2\n", "tools"),
        "test_f": cell("assert f() == 1\n", "test_f", grade=True, points=10),
    }
    db = f"sqlite:///{empty_gradebook(tmp_path / 'gradebook.db')}"
    with Gradebook(db) as gb:
        gb.add_assignment("ps01")
        gb.add_notebook("ps01", "ps01")
        gb.add_grade_cell("test_f", "ps01", "ps01", max_score=10, cell_type="code")
        gb.add_solution_cell("f", "ps01", "ps01")
        for gid, node in cells.items():
            gb.add_source_cell(
                gid, "ps01", "ps01", cell_type="code", source=node.source,
                locked=node.metadata["nbgrader"]["locked"], checksum=nbgrader_checksum(node),
            )  # fmt: skip
    return db, cells


def overwrite(db: str, cells: list):
    """The submitted ``cells`` after the course's OverwriteCellsQuietly, and their grade ids."""
    import nbformat

    from lstm_grading.hidden.release_checksums import OverwriteCellsQuietly

    nb = nbformat.v4.new_notebook(cells=nbformat.from_dict(json.loads(json.dumps(cells))))
    resources = {"nbgrader": {"notebook": "ps01", "assignment": "ps01", "db_url": db}}
    out, _ = OverwriteCellsQuietly(add_missing_cells=True).preprocess(nb, resources)
    return out, [c.metadata.get("nbgrader", {}).get("grade_id") for c in out.cells]


def test_a_grade_cell_with_an_edited_grade_id_is_an_ordinary_cell(tmp_path, empty_gradebook):
    """A grade cell whose grade id the student edited is not in the gradebook: nbgrader 0.9.6's
    OverwriteCells deleted only its grade id, and its add_missing_grade_cells then stopped the
    whole submission with ``KeyError: 'grade_id'`` (found grading erin's ps01 with both graders;
    this test raised it before the fix). Now the cell runs as an ordinary cell and the grade cell
    it replaced is put back from the gradebook, as for a deleted one."""
    import nbformat

    db, cells = overwrite_course(tmp_path, empty_gradebook)
    renamed = nbformat.from_dict(json.loads(json.dumps(cells["test_f"])))
    renamed.metadata["nbgrader"]["grade_id"] = "test_f_renamed"
    mine = [cells["setup"], cells["f"], cells["tools"], renamed]
    as_dicts = json.loads(json.dumps(mine)), json.loads(json.dumps(list(cells.values())))
    out, ids = overwrite(db, mine)
    assert ids == ["setup", "f", "tools", "test_f", None]
    assert out.cells[3].metadata["nbgrader"]["grade"] is True
    assert out.cells[4].source == renamed.source  # the student's copy runs, ungraded
    assert "nbgrader" not in out.cells[4].metadata
    # and the summary says so, beside the restored cell (before: only that note)
    assert submission_checks._compare(*as_dicts, []) == [
        "missing cell test_f (restored by nbgrader)",
        "cell test_f_renamed is not in the assignment (a grade id edited?): run as an ordinary "
        "cell, not graded",
    ]


@pytest.mark.parametrize(
    "kept, expected",
    [
        (["setup", "f", "tools"], ["setup", "f", "tools", "test_f"]),  # after a read-only cell
        (["setup", "f"], ["setup", "f", "test_f"]),  # deleted with the cell before it
        ([], ["test_f"]),  # a notebook with no cells
    ],
)
def test_a_deleted_grade_cell_is_put_back_wherever_it_was(
    tmp_path, empty_gradebook, kept, expected
):
    """nbgrader 0.9.6 put a deleted grade cell back only after the cell just before it, and
    looked that one up among grade and solution cells only: deleting ps03's test_step_shapes
    (after the read-only tools cell) failed the whole submission with ``KeyError: 'tools'``
    (found grading erin's ps03; each case raised KeyError here before the fix), as did a grade
    cell deleted with the cell before it, or every cell. Now it goes after the nearest earlier
    cell the notebook has."""
    db, cells = overwrite_course(tmp_path, empty_gradebook)
    out, ids = overwrite(db, [cells[gid] for gid in kept])
    assert ids == expected
    assert out.cells[ids.index("test_f")].source.endswith(cells["test_f"].source)


def nbgrader_checksum(cell) -> str:
    from nbgrader.utils import compute_checksum

    return compute_checksum(cell)


def test_a_change_of_the_grading_code_regrades_the_class(tmp_path, empty_gradebook):
    """The run key covers lstm_grading and lstm_core: a fixed hidden check (lstm_grading/hidden)
    regrades every submission. Found when a class re-run after a fix of the grader reported
    every earlier grade (all 0, from a broken run) as "unchanged"; before the fix run_key took
    no grading code (this test: TypeError) and ignored it."""
    import shutil

    import lstm_core
    import lstm_grading

    course = make_course(tmp_path / "course", empty_gradebook, notebook())
    code = tmp_path / "code"
    for module in (lstm_core, lstm_grading):
        folder = Path(module.__file__).parent
        shutil.copytree(folder, code / folder.name, ignore=shutil.ignore_patterns("__pycache__"))
    folders = (code / "lstm_core", code / "lstm_grading")
    key = course_prep.run_key(course, "ps01", Limits(), code=folders)
    assert course_prep.run_key(course, "ps01", Limits(), code=folders) == key
    (code / "lstm_grading" / "__pycache__").mkdir(exist_ok=True)
    (code / "lstm_grading" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"compiled")
    assert course_prep.run_key(course, "ps01", Limits(), code=folders) == key  # not a change
    with open(code / "lstm_grading" / "hidden" / "common.py", "a") as f:
        f.write("# a fixed check\n")
    # by default the run's own code: the copy's before the change
    assert course_prep.run_key(course, "ps01", Limits()) == key
    assert course_prep.run_key(course, "ps01", Limits(), code=folders) != key


def test_a_private_gradebook_missing_a_cells_score_is_merged_as_a_failure(
    tmp_path, empty_gradebook
):
    """A job's private gradebook that holds the submission but no score for one of its grade
    cells (a reduced-mode student's code can write it so: its schema and row counts are the
    course's) is merged as every failure is: no partial total, every cell needs grading. A
    grade the instructor gave by hand before the run is kept, and still marked as such."""
    from nbgrader.api import Gradebook

    course = tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{empty_gradebook(course)}") as gb:
        gb.add_assignment("ps01")
        gb.add_notebook("ps01", "ps01")
        for cell in ("test_f", "test_g"):
            gb.add_grade_cell(cell, "ps01", "ps01", max_score=5, cell_type="code")
    private = tmp_path / "private.db"

    def job(scores: dict) -> Path:
        shutil.copy(course, private)
        with Gradebook(f"sqlite:///{private}") as gb:
            gb.update_or_create_student("s")
            with gb.db.no_autoflush:
                sub = gb.update_or_create_submission("ps01", "s")
            for grade in sub.notebooks[0].grades:
                grade.auto_score = scores[grade.name]
            gb.db.commit()
        return private

    def merged(scores: dict, manual: float | None = None):
        with Gradebook(f"sqlite:///{course}") as gb:
            total = gradebook_merge.merge(gb, "ps01", "s", job(scores), None)
            grades = gb.find_submission("ps01", "s").notebooks[0].grades
            got = {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade) for g in grades}
            if manual is not None:  # what the instructor types in formgrader afterwards
                grades[0].manual_score = manual
                gb.db.commit()
        return total, got

    assert merged({"test_f": 5.0, "test_g": 3.0}, manual=4.0) == (
        8.0,
        {"test_f": (5.0, None, False), "test_g": (3.0, None, False)},
    )
    assert merged({"test_f": 5.0, "test_g": None}) == (
        None,
        {"test_f": (None, 4.0, True), "test_g": (None, None, True)},
    )
    assert merged({"test_f": 5.0, "test_g": 3.0}) == (
        8.0,
        {"test_f": (5.0, 4.0, True), "test_g": (3.0, None, False)},
    )


# -- a full disk, recognised (the real one, on a small tmpfs, is in tests/test_disk_full.py) ------
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_or_quota_is_recognised_with_the_file(code):
    exc = OSError(code, os.strerror(code), "/course/gradebook.db")
    assert disk.why_full(exc) == f"{os.strerror(code)}: /course/gradebook.db"
    assert disk.why_full(OSError(code, os.strerror(code))) == os.strerror(code)


def test_a_full_disk_is_found_behind_the_exceptions_raised_from_it():
    sqlite_full = sqlite3.OperationalError("database or disk is full")
    assert disk.why_full(sqlite_full) == "SQLite: database or disk is full"
    for link in ("__cause__", "__context__"):
        outer = RuntimeError("merge failed")
        setattr(outer, link, OSError(errno.ENOSPC, "No space left on device"))
        assert disk.why_full(outer) == "No space left on device", link
    deep = RuntimeError("export failed")  # three links down: nbgrader wraps, and wraps again
    deep.__cause__ = KeyError("x")
    deep.__cause__.__context__ = ValueError("y")
    deep.__cause__.__context__.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert disk.why_full(deep) == "No space left on device"


def test_other_errors_are_not_a_full_disk():
    assert disk.why_full(None) is None
    assert disk.why_full(OSError(errno.EACCES, "Permission denied", "x")) is None
    assert disk.why_full(sqlite3.OperationalError("database is locked")) is None
    assert disk.why_full(sqlite3.OperationalError("no such column: full_name")) is None
    looped_a, looped_b = ValueError("a"), ValueError("b")
    looped_a.__context__, looped_b.__context__ = looped_b, looped_a
    assert disk.why_full(looped_a) is None  # a loop of exceptions ends


def test_stop_when_full_says_what_to_do_once_and_lets_other_errors_through():
    with pytest.raises(disk.DiskFull) as info:
        with disk.stop_when_full():
            with disk.stop_when_full():  # nested: the inner DiskFull is not wrapped again
                raise OSError(errno.ENOSPC, "No space left on device", "/c/grades.csv")
    message = str(info.value)
    assert message.startswith("the disk is full (No space left on device: /c/grades.csv);")
    assert message.count("the disk is full") == 1 and "run the same command again" in message
    assert type(info.value.__cause__) is OSError  # the disk's error, not the inner DiskFull
    with pytest.raises(PermissionError):
        with disk.stop_when_full():
            raise PermissionError(errno.EACCES, "Permission denied")


def test_a_full_disk_says_what_the_stopped_run_did_not_what_it_may_have(tmp_path):
    """The disk full during the export, everyone graded (a summary_when_stopped stop): the line
    said "every submission merged before is kept ... run the same command again to grade the
    rest", whatever the run had merged (a review, of the same kind as the stop line's). It now
    says the run's own stop report and next run."""
    (tmp_path / "reports" / "ps").mkdir(parents=True)
    run = parallel._Run(tmp_path, "ps", Limits(), 10.0, ("ps.ipynb",), "")
    outcomes = {"ann": report.Outcome("ann", "graded", 10.0, 10.0)}
    with pytest.raises(disk.DiskFull) as info:
        with disk.stop_when_full():
            with parallel.summary_when_stopped(run, outcomes, {"ann": "a"}, dict, 0.0) as stage:
                stage.phase, stage.export = "export", True
                raise OSError(errno.ENOSPC, "No space left on device", "grades.csv.tmp")
    summary = tmp_path / "reports" / "ps" / "summary.json"
    assert str(info.value) == (
        "the disk is full (No space left on device: grades.csv.tmp); the run stopped during "
        f"export; the 1 result merged is kept; summary: {summary}: free some space and run the "
        "same command again to export grades.csv"
    )
    assert "grade the rest" not in str(info.value)
    # Nothing left to do (the run exported nothing, everyone graded): the line said "free some
    # space and run again: nothing was left to do" (a review).
    with pytest.raises(disk.DiskFull) as info:
        with disk.stop_when_full():
            with parallel.summary_when_stopped(run, outcomes, {"ann": "a"}, dict, 0.0) as stage:
                stage.phase = "feedback"
                raise OSError(errno.ENOSPC, "No space left on device", "x.html")
    assert str(info.value).endswith(f"summary: {summary}: free some space (nothing was left to do)")


def test_quiet_gradebook_silences_tornado_only_inside_and_restores_it(monkeypatch):
    log = logging.getLogger("tornado.application")
    monkeypatch.setattr(log, "disabled", log.disabled)  # as it was, after the test
    for before in (False, True):
        log.disabled = before
        with pytest.raises(KeyError):
            with disk.quiet_gradebook():
                assert log.disabled
                raise KeyError("inside")
        assert log.disabled is before


# -- the feedback pages: hidden tests and their tracebacks stay private ---------------------------
def feedback_cell(source: str, grade: bool, locked: bool | None = None):
    from nbformat.v4 import new_code_cell, new_output

    locked = grade if locked is None else locked
    meta = {"grade": grade, "solution": not locked, "locked": locked, "grade_id": "c", "points": 1}
    cell = new_code_cell(source, metadata={"nbgrader": {**meta, "schema_version": 3}})
    trace = ["Traceback (most recent call last)", "secret_case = ...", "AssertionError: no"]
    cell.outputs = [new_output("error", ename="AssertionError", evalue="no", traceback=trace)]
    return cell


def test_feedback_hides_the_hidden_tests_and_the_traceback_of_grade_cells():
    from nbformat.v4 import new_notebook

    from lstm_grading.feedback import HideHiddenTests

    visible = 'assert f(1) == 1, "f(1)"\n'
    hidden = "### BEGIN HIDDEN TESTS\nsecret_case = 2\nassert f(2) == 2\n### END HIDDEN TESTS\n"
    grade, solution = feedback_cell(visible + hidden, True), feedback_cell("def f(x):\n", False)
    notebook, _ = HideHiddenTests().preprocess(new_notebook(cells=[grade, solution]), {})
    grade, solution = notebook.cells
    assert grade.source == visible
    assert grade.outputs[0].traceback == ["AssertionError: no"]  # the last line, name and text
    assert len(solution.outputs[0].traceback) == 3  # the student's own cell: their traceback


def test_feedback_keeps_only_the_last_line_of_an_error_in_a_read_only_cell():
    """A cell the course wrote but does not grade (ps04's your_unit) shows the error's name and
    text, as grade cells do, not the frames of the course's code."""
    from nbformat.v4 import new_notebook

    from lstm_grading.feedback import HideHiddenTests

    read_only = feedback_cell("x, y = two_companies()\n", grade=False, locked=True)
    notebook, _ = HideHiddenTests().preprocess(new_notebook(cells=[read_only]), {})
    assert notebook.cells[0].outputs[0].traceback == ["AssertionError: no"]


KERNEL_WITH_THE_GUARD = """
import importlib, json, sys
from types import SimpleNamespace

from lstm_grading import kernel_guard

shell = SimpleNamespace(config={}, events=SimpleNamespace(register=lambda *args: None))
kernel_guard.load_ipython_extension(shell)
kernel_guard.load_ipython_extension(shell)  # a second load adds no second finder
import matplotlib.pyplot, numpy  # what the notebooks import still imports

said = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        said[name] = None
    except ImportError as err:
        said[name] = [type(err).__name__, str(err), err.name]
finders = [type(f).__name__ for f in sys.meta_path].count("_OtherLibrariesRefused")
print(json.dumps({"said": said, "finders": finders}))
"""


@pytest.mark.processes
def test_a_grading_kernel_cannot_import_the_libraries_with_ready_made_layers():
    """The kernel guard (loaded into every grading kernel, plain nbgrader's and the sandbox's)
    makes PyTorch, SciPy, SymPy, mpmath ... unimportable, with a message that says why: a
    student's torch.sigmoid, torch.nn.LSTM or scipy.special.expit fails the test that runs it.
    Before (found in review), PyTorch, installed beside the course as the tests' oracle, was
    a ready-made LSTM any student function could call; and dask.array (installed for the
    cluster), looked up while the notebook's tanh ran, its tanh, which holds NumPy's. A fresh
    interpreter: this worker's own imports (PyTorch for the oracle tests) stay untouched."""
    from lstm_grading.checks import OTHER_LIBRARIES

    refused = ["torch", "torch.nn", "sympy", "mpmath", "scipy.special", "dask.array", "functorch"]
    names = [*refused, "lstm_core", "math"]
    run = subprocess.run(
        [sys.executable, "-c", KERNEL_WITH_THE_GUARD, *names],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(run.stdout)
    assert result["finders"] == 1
    why = "is not available while grading: the problem sets are to be done in NumPy and Python's"
    for name in refused:
        top = name.partition(".")[0]
        assert result["said"][name] == [
            "ModuleNotFoundError",
            f"{top} {why} standard library",
            top,  # the package, refused before its module
        ]
    assert result["said"]["lstm_core"] is None and result["said"]["math"] is None
    assert {"torch", "scipy", "sympy", "mpmath", "tensorflow", "jax"} <= OTHER_LIBRARIES


@pytest.mark.processes
def test_find_spec_in_a_grading_kernel_finds_no_refused_library_as_if_not_installed():
    """A notebook's optional use of a library, ``if importlib.util.find_spec("scipy") is
    None:`` (a NumPy fallback otherwise), takes the fallback in a grading kernel, as where the
    library is not installed. Before, find_spec raised the finder's ModuleNotFoundError, and
    the student's own fallback failed its test. A module of one raises, as for a library not
    installed, with the message that says why."""
    script = KERNEL_WITH_THE_GUARD.replace(
        "importlib.import_module(name)\n        said[name] = None",
        "said[name] = repr(importlib.util.find_spec(name))",
    )
    names = ["scipy", "torch", "scipy.special", "numpy", "math"]
    run = subprocess.run(
        [sys.executable, "-c", script, *names],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    said = json.loads(run.stdout)["said"]
    assert said["scipy"] == said["torch"] == "None"
    assert said["scipy.special"][0] == "ModuleNotFoundError"
    assert "scipy is not available while grading" in said["scipy.special"][1]
    assert said["numpy"].startswith("ModuleSpec(name='numpy'")
    assert said["math"].startswith("ModuleSpec(name='math'")


@pytest.mark.parametrize("writable", [True, False], ids=["written", "full_disk"])
def test_a_stopped_run_writes_its_summary_as_far_as_it_went_and_still_stops(tmp_path, writable):
    """parallel.summary_when_stopped, which both the local pool and --cluster run inside: a stop
    (a KeyboardInterrupt, with the signal the command line put on it) writes summary.json and
    summary.csv with ``"stopped"``, the rows merged so far and a ``stopped`` row for each
    submission still to grade, then goes on as the stop; a summary that cannot be written
    leaves the stop as it was, not an OSError in its place. Only the slow end-to-end runs
    covered it (found in a review of 688364b)."""
    reports = tmp_path / "reports" / "ps01"
    reports.mkdir(parents=True)
    if not writable:
        reports.chmod(0o500)  # as a full disk does, the temporary file cannot be made
        if os.access(reports, os.W_OK):  # root writes anyway: a file in the folder's place
            reports.chmod(0o700)
            reports.rmdir()
            reports.write_text("")
    run = parallel._Run(tmp_path, "ps01", Limits(), 10.0, ("ps01.ipynb",), "")
    outcomes = {"ann": report.Outcome("ann", "graded", 10.0, 10.0)}
    todo = {"ann": "digest-a", "bob": "digest-b"}
    stop = KeyboardInterrupt()
    stop.signum = signal.SIGTERM
    with pytest.raises(KeyboardInterrupt) as raised:
        with parallel.summary_when_stopped(run, outcomes, todo, lambda: {"jobs": 2}, 0.0):
            raise stop
    assert raised.value is stop
    assert outcomes == {"ann": report.Outcome("ann", "graded", 10.0, 10.0)}  # left as it was
    if not writable:
        return
    summary = json.loads((reports / "summary.json").read_text())
    assert (summary["stopped"], summary["not_graded"], summary["graded"]) == ("SIGTERM", 1, 1)
    assert (summary["assignment"], summary["jobs"]) == ("ps01", 2)
    rows = {r["student"]: r for r in summary["students"]}
    assert rows["ann"]["status"] == "graded" and rows["bob"]["status"] == "stopped"
    assert rows["bob"]["reason"].startswith("the run was stopped by SIGTERM before this")
    assert "bob,stopped," in (reports / "summary.csv").read_text()


@pytest.mark.parametrize("where", ["refused rows", "fsync"])
def test_a_run_stopped_after_the_export_leaves_the_previous_grades_csv_and_no_tmp(
    tmp_path, monkeypatch, where
):
    """A stop (Ctrl-C) after nbgrader export wrote grades.csv.tmp, before the rename (while the
    refused rows go in, or the file goes to disk): the previous grades.csv is as it was, and no
    grades.csv.tmp is left in the course. Before, only a stop during nbgrader's own export
    removed it (found in a review of 2bd4970)."""
    (tmp_path / "reports" / "ps01").mkdir(parents=True)
    before = "assignment,student_id,score\nps01,ann,7\n"
    (tmp_path / "grades.csv").write_text(before)

    def export(argv, cwd, **kwargs):  # nbgrader export, as _finish sees it: the file, status 0
        (Path(cwd) / argv[-1]).write_text("assignment,student_id,score\n")
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(parallel.subprocess, "run", export)

    def stop(*args):
        raise KeyboardInterrupt

    if where == "refused rows":
        monkeypatch.setattr(report, "add_refused_to_grades", stop)
    else:
        monkeypatch.setattr(parallel.os, "fsync", stop)
    run = parallel._Run(tmp_path, "ps01", Limits(), 10.0, ("ps01.ipynb",), "")
    outcomes = {"bob": report.Outcome("bob", "refused", reason="too large")}
    with pytest.raises(KeyboardInterrupt):
        parallel._finish(run, outcomes, True, 1.0, {})
    assert (tmp_path / "grades.csv").read_text() == before
    assert not (tmp_path / "grades.csv.tmp").exists()


INTROSPECTION_ATTACKS = {
    "frames/introspection": [
        "want = sys._getframe(1).f_locals['want']",  # a result made before the call
        "frame = err.__traceback__.tb_frame.f_back",
        "found = [o for o in gc.get_objects() if isinstance(o, dict)]",
        "stack = inspect.stack()",
        "code = lstm_core.sigmoid.__code__.replace(co_filename='mine.py')",
        "f = types.FunctionType(code, lstm_core.sigmoid.__globals__)",
        # lstm_core's source run afresh under another name: full marks, unflagged, before
        # (tests/hostile/copy_the_reference_source.json)
        "source = inspect.getsource(lstm_core.activations)",
        "text = open(lstm_core.activations.__file__).read()",
        "folder = lstm_core.__path__[0]",
        "exec(compile(source, 'mine.py', 'exec'), namespace)",
        # a function changed in place, the grader's or a library's: unflagged before
        # (tests/hostile/widen_the_tolerance.json, rename_a_library_function.json)
        "checks.check_activation.__kwdefaults__ = {'rtol': 1.0, 'atol': 1.0}",
        "np.allclose._implementation.__defaults__ = (1.0, 1.0, False)",
        "f.__closure__[0].cell_contents = stand_in",
        "np.testing.assert_allclose.__wrapped__ = lambda *a, **k: None",
    ],
    # IPython's machinery, which decides what a later cell runs and when the output guard puts
    # things back: an input or AST transformer that drops the hidden tests' calls passed a wrong
    # sigmoid, unflagged (found by the hostile-student pass); a hook of the notebook's runs
    # after the guard's.
    "grading internals": [
        "get_ipython().input_transformers_post.append(drop_checks)",
        "ip.input_transformers_cleanup.insert(0, drop_checks)",
        "get_ipython().ast_transformers.append(DropChecks())",
        "ip.events.register('pre_run_cell', patch_again)",
        "ip.events.unregister('pre_run_cell', guard)",
        "get_ipython().transform_cell = drop_checks",
        # the kernel's refusal of torch, scipy... taken away (unflagged before)
        "sys.meta_path[:] = [f for f in sys.meta_path if 'Refused' not in type(f).__name__]",
    ],
    "threads": [
        "thread = threading.Thread(target=run)",
        "_thread.start_new_thread(run, ())",
        "from concurrent.futures import ThreadPoolExecutor",
    ],
}


@pytest.mark.parametrize("flag", sorted(INTROSPECTION_ATTACKS))
def test_what_the_hidden_tests_cannot_guard_is_flagged_and_no_solution_is(flag):
    """The hidden tests cannot watch the frames above a graded call, the garbage collector's
    view of every object, code rebuilt under another file name, or a thread started before the
    call: the flags point the instructor at them (before, none did). No solution cell of the
    six problem sets (honest code) raises either flag."""
    pattern = submission_checks.SUSPICIOUS[flag]
    for code in INTROSPECTION_ATTACKS[flag]:
        assert re.search(pattern, code), code
    for notebook in sorted(SOLUTIONS.glob("ps0*/*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("solution") and not meta.get("grade"):
                code = "".join(cell["source"])
                assert not re.search(pattern, code), (notebook.name, code[:200])


def test_the_output_guard_puts_back_the_libraries_the_hidden_tests_use(monkeypatch):
    """A cell that made np.random.default_rng hand out zeros made every hidden case of problem
    set 2 trivial (a forget gate built from the input gate's block passed); one that patched
    builtins.zip or isinstance would empty the comparisons. Before every cell the output
    guard puts back the functions, classes and submodules of numpy, numpy.random, random,
    math and builtins as they were when the kernel started; their data stays the notebook's
    business, as do names it adds."""
    import builtins
    import math
    import random

    import numpy as np

    guard = output_guard._Guard(100, None)
    patched = [
        (np.random, "default_rng"),
        (np, "allclose"),
        (np, "random"),
        (builtins, "zip"),
        (builtins, "isinstance"),
        (random, "Random"),
        (math, "exp"),
    ]
    originals = [getattr(module, name) for module, name in patched]
    for (module, name), original in zip(patched, originals, strict=True):
        # Stand-ins that still work (pytest itself calls zip and isinstance meanwhile).
        monkeypatch.setattr(module, name, functools.partial(original) if callable(original) else 1)
    monkeypatch.setattr(builtins, "lstm_test_added_name", 1, raising=False)
    guard.pre_run_cell()
    assert [getattr(module, name) for module, name in patched] == originals
    assert builtins.lstm_test_added_name == 1


def test_the_output_guard_puts_back_numpy_random_whether_or_not_numpy_had_loaded_it(monkeypatch):
    """NumPy loads numpy.random on first use. A kernel's output guard snapshotted numpy before
    importing numpy.random, so numpy's snapshot had no ``random`` (as in any fresh process:
    `import numpy` leaves it out), and a cell's ``np.random = ...`` stayed for the hidden
    tests; the test above passed only where an earlier test had loaded numpy.random (it
    failed once the tests that do ran elsewhere). Here numpy's attribute is taken away
    before the guard starts, as in a fresh kernel."""
    import numpy as np

    real = np.random
    monkeypatch.delitem(vars(np), "random")
    guard = output_guard._Guard(100, None)
    monkeypatch.setitem(vars(np), "random", 1)  # a cell's np.random = 1
    guard.pre_run_cell()
    assert np.random is real


def test_the_output_guard_puts_back_every_module_the_grading_code_calls(monkeypatch):
    """The hidden tests and the guards call more than NumPy, random, math and builtins:
    sys.settrace and threading.settrace (the watch of lstm_core: a cell that kept the tracer
    without tracing hid a sigmoid that calls lstm_core, tests/hostile/patch_the_trace.json),
    itertools, functools, contextlib, types, warnings, cmath; and the hidden tests' own modules,
    which a grade cell imports only when it runs (``ps01.check_sigmoid = ...`` in a cell passed
    any sigmoid: patch_hidden_checks.json), and the reference's private copy, in no
    sys.modules entry (patch_the_reference_copy.json). All are put back before every cell."""
    import cmath
    import contextlib
    import itertools

    from lstm_grading import checks

    guard = output_guard._Guard(100, None)
    from lstm_grading.hidden import ps01  # imported by the guard, before any cell

    patched = [
        (sys, "settrace"),
        (sys, "gettrace"),
        (threading, "settrace"),
        (itertools, "islice"),
        (functools, "wraps"),
        (contextlib, "contextmanager"),
        (types, "new_class"),
        (warnings, "catch_warnings"),
        (cmath, "tanh"),
        (ps01, "check_sigmoid"),
        (checks._pristine(), "sigmoid"),
    ]
    originals = [getattr(module, name) for module, name in patched]
    for (module, name), original in zip(patched, originals, strict=True):
        monkeypatch.setattr(module, name, functools.partial(original))  # still works
    monkeypatch.setitem(sys.modules, "cmath", types.ModuleType("cmath"))
    guard.pre_run_cell()
    assert [getattr(module, name) for module, name in patched] == originals
    assert sys.modules["cmath"] is cmath


def test_the_output_guard_takes_away_a_name_added_in_front_of_the_one_the_code_finds(
    monkeypatch,
):
    """A method set on a class over one it inherits (lstm_grading.checks._Usage, a list, given
    an append that records nothing: lstm_core's use went unseen, patch_a_class.json), or a name
    added to a module over a builtin (``checks.zip``: assert_close compared no values,
    shadow_a_builtin.json), is found before the original: both are taken away before every
    cell, and a class's own method is put back. Other names a cell adds stay."""
    import builtins

    from lstm_grading import checks

    guard = output_guard._Guard(100, None)
    find_spec = checks._OtherLibrariesRefused.find_spec
    monkeypatch.setattr(checks._OtherLibrariesRefused, "find_spec", lambda *args: None)
    added = [(checks._Usage, "append"), (checks, "zip"), (builtins, "lstm_test_added_name")]
    try:
        checks._Usage.append = lambda self, item: None
        checks.zip = lambda *args, **kwargs: iter(())
        builtins.lstm_test_added_name = len  # a cell's own name in builtins: stays
        checks.lstm_test_added_name = len  # shadows nothing: stays
        guard.pre_run_cell()
        assert "append" not in vars(checks._Usage) and "zip" not in vars(checks)
        assert checks._OtherLibrariesRefused.find_spec is find_spec
        assert builtins.lstm_test_added_name is checks.lstm_test_added_name is len
    finally:
        for owner, name in [*added, (checks, "lstm_test_added_name")]:
            if name in vars(owner):
                delattr(owner, name)


def test_the_output_guard_leaves_the_notebooks_own_names_alone(monkeypatch):
    """The notebook's namespace (``__main__``, IPython's user module) is the student's: a
    ``from numpy import *`` (its ``max`` and ``sum``, with their ``axis``), a variable called
    ``input`` or a helper called ``open`` stays for the next cells. Before (found in review),
    each name over a builtin was taken away before every cell, as for a grader's module, and
    the student's own function then found the builtin. Only the builtins its code finds are
    put back, and ``globals`` taken away: the grade cells hand ``globals()`` to the hidden
    checks (every builtin their hidden lines call there is in USER_BUILTINS)."""
    import builtins

    user = types.ModuleType("__main__")
    user.__builtins__ = builtins
    monkeypatch.setitem(sys.modules, "__main__", user)
    guard = output_guard._Guard(100, None)
    import numpy as np

    mine = {"max": np.max, "sum": np.sum, "input": [1.0, 2.0], "open": len}
    vars(user).update(mine)
    user.__builtins__ = {"__import__": None}  # a stand-in for the builtins: put back
    user.globals = dict  # would hand the hidden checks an empty namespace: taken away
    guard.pre_run_cell()
    assert {k: vars(user).get(k) for k in mine} == mine
    assert user.__builtins__ is builtins and "globals" not in vars(user)
    called = set()
    for notebook in sorted(SOLUTIONS.glob("ps0*/*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            hidden = "".join(cell["source"]).partition("### BEGIN HIDDEN TESTS")[2]
            called |= set(re.findall(r"(?<![\w.])(\w+)\(", hidden)) & set(vars(builtins))
    assert called == output_guard.USER_BUILTINS


def test_the_output_guard_reads_no_name_a_cell_added_that_shadows_nothing(monkeypatch):
    """Before every cell the guard looks for names added over a builtin by the builtins' names
    (a fixed list), never by reading every name a module or the notebook holds: 300000 names
    added to numpy and to the notebook made each later cell take 49 ms instead of 9 (found in
    review). Checked without timing: a key that counts each time it is hashed or compared,
    added to both, is never touched."""
    import numpy as np

    class Counted(str):
        touched = 0

        def __hash__(self):
            Counted.touched += 1
            return str.__hash__(self)

        def __eq__(self, other):
            Counted.touched += 1
            return str.__eq__(self, other)

    user = types.ModuleType("__main__")
    monkeypatch.setitem(sys.modules, "__main__", user)
    guard = output_guard._Guard(100, None)
    key = Counted("lstm_test_many_names")
    vars(user)[key] = vars(np)[key] = 1
    try:
        Counted.touched = 0
        guard.pre_run_cell()
        assert Counted.touched == 0
        assert vars(np)[key] == vars(user)[key] == 1
    finally:
        del vars(np)[key]


def test_the_output_guard_puts_back_what_a_cell_changed_in_the_graders_functions():
    """The guard kept the grader's functions by identity: one changed in place stayed changed.
    ``checks.check_activation.__kwdefaults__ = {"rtol": 1.0, "atol": 1.0}`` (found in review;
    ps01's hidden checks call it with its defaults) let a sigmoid wrong near 0 pass, and names
    nothing the grading report flags. Its keyword defaults (replaced or changed in place), a
    function's defaults and code, and a closure's contents are put back before every cell."""
    import contextlib

    from lstm_grading import checks
    from lstm_grading.hidden import common

    guard = output_guard._Guard(100, None)
    check = checks.check_activation
    kwdefaults = check.__kwdefaults__
    before = dict(kwdefaults)
    context = next(
        f
        for f in vars(common).values()
        if type(f) is types.FunctionType and f.__module__ == common.__name__ and f.__closure__
    )  # a context manager's wrapper: its closure holds the generator function
    cell = context.__closure__[0]
    held = cell.cell_contents
    code, defaults = checks.assert_close.__code__, checks.reference.__defaults__
    try:
        check.__kwdefaults__ = {"rtol": 1.0, "atol": 1.0}
        guard.pre_run_cell()
        assert check.__kwdefaults__ is kwdefaults and kwdefaults == before
        kwdefaults["rtol"] = 1.0
        checks.assert_close.__code__ = (lambda *args, **kwargs: None).__code__
        checks.reference.__defaults__ = ("stand-in",)
        cell.cell_contents = contextlib.nullcontext
        guard.pre_run_cell()
        assert kwdefaults == before and checks.assert_close.__code__ is code
        assert checks.reference.__defaults__ == defaults and cell.cell_contents is held
    finally:
        check.__kwdefaults__ = kwdefaults
        kwdefaults.update(before)
        checks.assert_close.__code__ = code
        checks.reference.__defaults__ = defaults
        cell.cell_contents = held


def test_the_output_guard_puts_back_what_the_graders_lists_dicts_and_arrays_hold(monkeypatch):
    """The grader's own data is its state: ``checks._package_dirs["lstm_core"] = "/nowhere"``
    pointed the watch at another folder (a sigmoid calling lstm_core passed,
    grader_data.json), ``checks._pristine_packages`` holds the reference the hidden tests
    compare with, and the reference copy's arrays (``HAND_WORKED_PARAMS``) the numbers. What
    they hold, in place, is put back before every cell."""
    from lstm_grading import checks

    guard = output_guard._Guard(100, None)
    dirs, packages = dict(checks._package_dirs), dict(checks._pristine_packages)
    wx = checks.reference("HAND_WORKED_PARAMS")["Wx"]
    before = wx.copy()
    monkeypatch.setitem(checks._package_dirs, "lstm_core", "/nowhere")
    monkeypatch.setitem(checks._pristine_packages, "lstm_core", sys)
    try:
        checks._lent.append(print)  # lends a function of its own
        wx.flags.writeable = True  # read-only, but its own data: a cell can set it writeable
        wx[...] = 7.0
        guard.pre_run_cell()
        assert checks._package_dirs == dirs and checks._pristine_packages == packages
        assert checks._lent == [] and (wx == before).all() and not wx.flags.writeable
    finally:
        checks._lent[:] = []
        wx.flags.writeable = True
        wx[...] = before
        wx.flags.writeable = False


def test_the_output_guard_asks_no_object_of_a_library_anything(monkeypatch):
    """The guard looks at every module loaded: it tells a function from data by its type alone.
    Through isinstance it asked each object for its __class__, and a worker of the test suite
    that had imported PyTorch failed every guard test on torch.distributed.reduce_op's
    FutureWarning; in a kernel, a notebook's object could run code of its own there."""

    class Touchy:
        @property
        def __class__(self):
            raise AssertionError("the guard asked an object for its __class__")

    module = types.ModuleType("lstm_test_touchy")
    module.touchy = Touchy()
    monkeypatch.setitem(sys.modules, "lstm_test_touchy", module)
    output_guard._Guard(100, None).pre_run_cell()


def test_the_output_guard_puts_back_the_shells_transformers_after_and_before_every_cell():
    """An input transformer that drops the lines calling a hidden check (IPython runs those on
    a cell's code before pre_run_cell), or an AST transformer that drops the calls, added in a
    cell, gave a wrong sigmoid full marks (tests/hostile/drop_the_checks.json,
    drop_the_checks_ast.json). The guard puts the shell's transformer lists back after every
    cell (post_run_cell) and before every cell, in place and as the shell's attributes."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    guard = output_guard._Guard(100, None)
    guard.watch_shell(shell)
    before = [list(shell.input_transformers_post), list(shell.ast_transformers)]
    drop = [lambda lines: [], object()]
    try:
        shell.input_transformers_post.append(drop[0])
        shell.ast_transformers = [drop[1]]  # another list in its place
        guard.put_back_transformers()
        assert [list(shell.input_transformers_post), list(shell.ast_transformers)] == before
        shell.input_transformer_manager.cleanup_transforms.insert(0, drop[0])
        guard.pre_run_cell()
        assert drop[0] not in shell.input_transformer_manager.cleanup_transforms
    finally:
        shell.input_transformers_post[:] = before[0]
        shell.ast_transformers = before[1]
        InteractiveShell.clear_instance()


def test_the_output_guard_puts_back_the_shells_own_functions_after_and_before_every_cell():
    """``get_ipython().transform_cell = ...`` (ipykernel calls it on a cell's code before
    pre_run_cell) or ``get_ipython().compile.ast_parse = ...``, dropping the hidden tests'
    lines, gave a wrong sigmoid full marks (tests/hostile/replace_the_shells_methods.json).
    The guard keeps the functions the shell and IPython's objects it holds have themselves
    (instance dicts and traits): one set over its class's is taken away, one replaced put
    back; what they hold besides (data) is theirs."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    guard = output_guard._Guard(100, None)
    guard.watch_shell(shell)
    compiler = shell.compile
    try:
        shell.transform_cell = lambda cell: ""
        compiler.ast_parse = lambda *args, **kwargs: None
        shell.lstm_test_added_data = [1]
        guard.put_back_transformers()
        assert "transform_cell" not in vars(shell) and "ast_parse" not in vars(compiler)
        shell.compile = type(compiler)()  # another compiler: a trait's value
        guard.pre_run_cell()
        assert shell.compile is compiler and shell.lstm_test_added_data == [1]
    finally:
        InteractiveShell.clear_instance()


@pytest.mark.processes
def test_the_output_guard_of_a_fresh_kernel_keeps_every_module_a_grade_cell_imports():
    """In a fresh process, as in a grading kernel: the guard's snapshot holds every module a
    grade cell of the six problem sets imports (``itertools``, ``math``) and the hidden
    tests' modules it imports (lstm_grading.hidden.ps01 ...), which no cell has imported
    yet; one imported only later would be the notebook's to change before the hidden tests."""
    import ast

    imported = {"lstm_grading.hidden"}
    for notebook in sorted(SOLUTIONS.glob("ps0*/*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("grade"):
                for node in ast.walk(ast.parse("".join(cell["source"]))):
                    if isinstance(node, ast.Import):
                        imported |= {alias.name for alias in node.names}
                    elif isinstance(node, ast.ImportFrom):
                        imported.add(node.module)
                        imported |= {f"{node.module}.{a.name}" for a in node.names}
    imported = {
        name
        for name in imported
        if not name.startswith("lstm_grading.hidden.") or name.rpartition(".")[2].startswith("ps")
    }
    assert {
        "itertools",
        "math",
        "numpy",
        "lstm_grading.hidden.ps01",
        "lstm_grading.hidden.ps06",
    } <= imported
    code = (
        "import json, sys\n"
        "from lstm_grading import checks, output_guard\n"
        "checks._pristine()\n"
        "before = set(sys.modules)\n"
        "guard = output_guard._Guard(100, None)\n"
        "print(json.dumps([sorted(before), sorted(guard.modules)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    before, kept = (set(names) for names in json.loads(out))
    assert "lstm_grading.hidden.ps01" not in before  # only the guard imported it
    assert imported <= kept, imported - kept


def test_a_generator_drawing_zeros_made_problem_set_2s_hidden_cases_trivial(monkeypatch):
    """Why the output guard puts numpy.random back: with np.random.default_rng drawing only
    zeros (set in a cell), a forget gate with Wh_f transposed passed ps02's hidden test."""
    import numpy as np

    from lstm_grading.hidden import ps02

    def sigmoid(a):
        z = np.exp(-np.abs(a))
        return np.where(a >= 0, 1 / (1 + z), z / (1 + z))

    def forget_gate(x, h_prev, params):  # Wh_f transposed: right for one unit only
        H = h_prev.shape[1]
        Wx, Wh, b = (params[k][..., H : 2 * H] for k in ("Wx", "Wh", "b"))
        return sigmoid(x @ Wx + h_prev @ Wh.T + b)

    class Zeros:
        def __init__(self, rng):
            self.rng = rng

        def normal(self, loc=0.0, scale=1.0, size=None):
            return np.zeros(size)

        def __getattr__(self, name):
            return getattr(self.rng, name)

    guard = output_guard._Guard(100, None)
    real = np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng", lambda *args: Zeros(real(*args)))
    ps02.check_gate(forget_gate, "f")  # every case all-zero weights and inputs: passes
    guard.pre_run_cell()  # the next cell, the test cell
    with pytest.raises(AssertionError, match=r"is Wh_f transposed\?"):
        ps02.check_gate(forget_gate, "f")


@pytest.mark.processes
def test_the_empty_gradebook_has_the_version_nbgrader_asks_the_alembic_command_for(
    empty_gradebook, tmp_path, monkeypatch
):
    """tests/conftest.py's ``empty_gradebook`` asks alembic's API for the schema's version in
    the tests' process; nbgrader asks the ``alembic heads`` command (this venv's). Both give
    the revision a gradebook nbgrader makes records."""
    import sqlite3

    from conftest import alembic_head
    from nbgrader.api import get_alembic_version

    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    assert get_alembic_version() == alembic_head()
    with sqlite3.connect(empty_gradebook(tmp_path / "gradebook.db")) as db:
        (version,) = db.execute("SELECT version_num FROM alembic_version").fetchall()
    assert version == (alembic_head(),)


def test_the_output_guard_puts_back_what_a_cell_changed_in_place_in_the_libraries_functions():
    """Only the grader's own functions were put back in place (the test above): a library's,
    changed in place, stayed changed. ``np.seterr.__code__ = np.seterr.__code__.replace(
    co_name="quiet")`` hid a sigmoid's ``np.seterr(over="ignore")`` from the hidden tests' watch
    of NumPy's error state (tests/hostile/rename_a_library_function.json: an overflowing sigmoid
    got full marks); NumPy's public functions are dispatchers whose Python implementation a cell
    can change (``np.allclose._implementation.__defaults__``), and a function's attributes
    (``__wrapped__``, which ``inspect.signature`` follows) are its own too."""
    import inspect

    import numpy as np

    guard = output_guard._Guard(100, None)
    seterr, allclose, isclose = np.seterr, np.allclose._implementation, np.isclose._implementation
    saved = [(f, f.__code__, f.__defaults__) for f in (seterr, allclose, isclose)]
    signature = inspect.signature(seterr)
    try:
        seterr.__code__ = seterr.__code__.replace(co_name="quiet")
        allclose.__defaults__ = (1.0, 1.0, False)
        isclose.__defaults__ = (1.0, 1.0, False)
        seterr.__wrapped__ = lambda: None
        assert np.allclose(0.0, 0.5)  # the change takes effect
        guard.pre_run_cell()
        assert [(f, f.__code__, f.__defaults__) for f in (seterr, allclose, isclose)] == saved
        assert not np.allclose(0.0, 0.5) and not np.isclose(0.0, 0.5)
        assert "__wrapped__" not in vars(seterr) and inspect.signature(seterr) == signature
    finally:
        for f, code, defaults in saved:
            f.__code__, f.__defaults__ = code, defaults
        vars(seterr).pop("__wrapped__", None)


def test_the_output_guard_snapshots_lstm_core_though_the_hidden_tests_import_it_late(monkeypatch):
    """hidden/ps06.py imports lstm_core only when its test runs: in a fresh kernel lstm_core
    was in no snapshot, and a cell's ``sys.modules["lstm_core"] = ...`` (the module whose
    optimizers the test makes refuse to run) or ``lstm_core.Adam.step = ...`` stayed for it.
    The guard imports it before the snapshot. Here lstm_core is taken out of ``sys.modules``
    first, as in a fresh kernel."""
    for name in [n for n in sys.modules if n == "lstm_core" or n.startswith("lstm_core.")]:
        monkeypatch.delitem(sys.modules, name)
    guard = output_guard._Guard(100, None)
    import lstm_core  # the guard's own import, from sys.modules

    step, code = lstm_core.Adam.step, lstm_core.Adam.step.__code__
    monkeypatch.setattr(lstm_core.Adam, "step", lambda *args: None)
    monkeypatch.setattr(step, "__code__", (lambda *args: None).__code__)
    monkeypatch.setitem(sys.modules, "lstm_core", types.ModuleType("lstm_core"))
    guard.pre_run_cell()
    assert sys.modules["lstm_core"] is lstm_core
    assert lstm_core.Adam.step is step and step.__code__ is code


def test_the_output_guard_puts_back_only_what_a_cell_changed_and_finds_every_change():
    """Before every cell the guard compared every name of ~800 modules and ~2,000 classes and
    every part of ~10,000 functions one at a time in Python (15-20 ms a cell in a kernel, found
    in review); now flat lists made at the snapshot are compared by identity in C loops and only
    what differs is put back one name at a time. Checked without timing: after a cell that
    changed nothing, no function, module or class is found changed; after changes to one of
    each (a part replaced by an equal but other object included: identity, not equality, is
    compared) exactly those are, and are put back."""
    import numpy as np

    from lstm_grading import checks

    guard = output_guard._Guard(100, None)
    guard.put_back()  # what changed since the snapshot (nothing here)
    flat = guard.flat
    assert flat.changed_functions() == flat.changed_classes() == [], "a cell changed nothing"
    assert [flat.modules[i][0] for i in flat.changed_modules()] in ([], ["__main__"])

    function = checks.reference
    defaults = function.__defaults__
    other = tuple(list(defaults))  # equal, another object (a tuple of one item is not cached)
    assert other == defaults and other is not defaults
    allclose = np.allclose
    assert "__repr__" not in vars(checks._Slot)  # a name the class inherits
    try:
        function.__defaults__ = other
        np.allclose = lambda *a, **k: True
        type.__setattr__(checks._Slot, "__repr__", lambda self: "stand-in")
        assert [flat.functions[i] for i in flat.changed_functions()] == [function]
        assert "numpy" in [flat.modules[i][0] for i in flat.changed_modules()]
        classes = [c for c, _, _ in guard.classes]
        assert [classes[i] for i in flat.changed_classes()] == [checks._Slot]
        guard.put_back()
        assert function.__defaults__ is defaults
        assert np.allclose is allclose
        assert "__repr__" not in vars(checks._Slot)
        assert flat.changed_functions() == flat.changed_classes() == []
    finally:
        function.__defaults__ = defaults
        np.allclose = allclose
        if "__repr__" in vars(checks._Slot):
            type.__delattr__(checks._Slot, "__repr__")


def test_the_output_guard_undoes_a_notebooks_own_change_to_a_library_it_found_loaded():
    """What an honest notebook loses (the instructor guide's threat list says so): a change
    it makes to a module loaded when the kernel started lasts for its cell only, as a
    student's patch would. ``logging.captureWarnings(True)`` sets ``warnings.showwarning``;
    from the next cell on, warnings are shown again, not logged."""
    import logging
    import warnings

    guard = output_guard._Guard(100, None)
    shown = warnings.showwarning
    try:
        logging.captureWarnings(True)
        assert warnings.showwarning is not shown
        guard.pre_run_cell()
        assert warnings.showwarning is shown
    finally:
        logging.captureWarnings(False)
        warnings.showwarning = shown
