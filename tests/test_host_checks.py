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
