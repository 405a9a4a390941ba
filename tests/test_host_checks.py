"""The grading tests' check of the host (tests/cluster_processes.py), on folders made here."""

from __future__ import annotations

import os
import shutil

import cluster_processes as cp


def test_job_folders_skips_a_folder_removed_while_it_looks(tmp_path, monkeypatch):
    """Another process (the other pytest-xdist worker's test, any program) removes a folder
    of /tmp between the listing of /tmp and the listing of that folder: it is skipped, and
    the job folders are still found, in /tmp and one folder down; a file is no folder."""
    (tmp_path / "lstm-autograde-one-top").mkdir()
    (tmp_path / "other" / "lstm-autograde-one-down").mkdir(parents=True)
    (tmp_path / "other" / "unrelated").mkdir()
    (tmp_path / "vanishing" / "lstm-autograde-one-gone").mkdir(parents=True)
    (tmp_path / "a-file").write_text("")
    listdir = os.listdir

    def listdir_then_remove(path):
        names = listdir(path)
        if path == tmp_path:  # listed, then removed before it is read
            shutil.rmtree(tmp_path / "vanishing")
        return names

    monkeypatch.setattr(cp.os, "listdir", listdir_then_remove)
    assert cp.job_folders(tmp_path) == {
        tmp_path / "lstm-autograde-one-top",
        tmp_path / "other" / "lstm-autograde-one-down",
    }


def test_leftover_cgroups_are_those_whose_run_or_job_folder_is_gone(tmp_path):
    """A local run's job cgroup counts as left behind once its run folder is gone or its lock
    free; a Dask helper's job cgroup (another test's, maybe, on the other pytest-xdist worker)
    once its job folder is gone, wherever that folder was. The live helper job's cgroup was
    counted as a dead run's and failed a local run's check (a fresh clone's busy run)."""
    import fcntl

    tmp, parent = tmp_path / "tmp", tmp_path / "cgroups"
    live, ended = tmp / "lstm-autograde-live", tmp / "lstm-autograde-ended"
    for run in (live, ended):
        run.mkdir(parents=True)
        (run / cp.OWNER).write_text("")
    held = os.open(live / cp.OWNER, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)  # a run still going holds its lock
    (live / "lstm-autograde-one-busy").mkdir()  # a helper's job at work, in its run folder
    names = {
        "lstm-autograde-live-job1": False,  # its run goes on
        "lstm-autograde-ended-job1": True,  # its run has ended (lock free)
        "lstm-autograde-gone-job1": True,  # its run folder is gone
        "lstm-autograde-one-busy-work-6216": False,  # its job folder is there
        "lstm-autograde-one-done-work-6217": True,  # its job folder is gone
    }
    for name in names:
        (parent / name).mkdir(parents=True)
    try:
        found = cp.leftover_cgroups(str(parent), tmp)
    finally:
        os.close(held)
    assert sorted(p.name for p in found) == sorted(n for n, left in names.items() if left)


def test_leftover_cgroups_skips_one_removed_while_it_looks(tmp_path, monkeypatch):
    """A job removes its cgroup, then its folder: a cgroup listed, whose folder is gone by the
    time it is looked for, was being removed, and is no leftover if it is gone by then too."""
    tmp, parent = tmp_path / "tmp", tmp_path / "cgroups"
    tmp.mkdir()
    cgroup = parent / "lstm-autograde-one-ending-work-6218"
    cgroup.mkdir(parents=True)
    job_folders = cp.job_folders

    def folders_after_the_job_ended(where):
        cgroup.rmdir()  # the job's own cleanup, between the listing and the look
        return job_folders(where)

    monkeypatch.setattr(cp, "job_folders", folders_after_the_job_ended)
    assert cp.leftover_cgroups(str(parent), tmp) == []
