"""Shared fixtures: a seeded generator and the PyTorch oracle (skipped only if absent)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


@pytest.fixture(scope="session")
def torch():
    """PyTorch, the independent oracle. CI installs torch 2.13.0, so it never skips there."""
    return pytest.importorskip("torch", reason="torch is not installed: `make test` installs it")
