"""tests/require_all.py: under `make test` a skip fails, with its reason; alone it stays a skip.

Each case is a pytest run of its own (pytester, in this process) with only that plugin.
"""

from __future__ import annotations

import pytest
from require_all import ENV

pytest_plugins = ["pytester"]

SKIPPING = """
import pytest

def test_runs():
    pass

def test_skips():
    pytest.skip("no browser here")

@pytest.mark.xfail(reason="a known failure", strict=True)
def test_xfails():
    assert False

@pytest.mark.parametrize("page", [])
def test_over_no_pages(page):
    pass
"""
SKIPPED_MODULE = 'import pytest\n\npytest.importorskip("no_such_module_here")\n'


@pytest.fixture
def run(pytester, monkeypatch):
    pytester.makepyfile(test_skipping=SKIPPING, test_skipped_module=SKIPPED_MODULE)

    def run(required: bool, path: str = "."):
        if required:
            monkeypatch.setenv(ENV, "1")
        else:
            monkeypatch.delenv(ENV, raising=False)
        return pytester.runpytest_inprocess("-p", "require_all", "-p", "no:cacheprovider", path)

    return run


def test_alone_a_skip_stays_a_skip(run):
    result = run(required=False)
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)


def test_where_every_test_must_run_a_skip_fails_with_its_reason(run):
    result = run(required=True, path="test_skipping.py")
    # the skip in the test fails it; the empty parameter set, a skip at setup, is an error
    result.assert_outcomes(passed=1, failed=1, errors=1, xfailed=1)  # the xfail stays one
    result.stdout.fnmatch_lines(
        [f"*every test must run here ({ENV}=1): Skipped: no browser here*"], consecutive=False
    )
    result.stdout.fnmatch_lines(["*every test must run here*got empty parameter set*"])


def test_where_every_test_must_run_a_module_skipped_at_collection_is_an_error(run):
    result = run(required=True, path="test_skipped_module.py")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error stops the run
    result.stdout.fnmatch_lines(
        [f"*every test must run here ({ENV}=1): Skipped: could not import 'no_such_module_here'*"]
    )
