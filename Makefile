# One-command set-up: `make book` and `make test` create and fill the virtual environment first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install book test test-fast tests-present lint bench clean exercises vendor chromium autograde

# Browser assets for the book (MathJax, require.js, the widget manager) come from npm at build
# time (package.json + package-lock.json) and are copied into a git-ignored folder that
# _config.yml publishes through html_static_path, so the built pages need no network.
NPM_STAMP := node_modules/.npm-ci-done
VENDOR := book/_vendor
VENDOR_STAMP := $(VENDOR)/.copied
MATHJAX := node_modules/mathjax/es5
WIDGETS := node_modules/@jupyter-widgets/html-manager/dist

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# pip byte-compiles what it installs one file after the other; compileall does it on every core
# (pip's way took about 35 s of the install's 64 here, this one 15). It leaves out PyTorch and
# the packages only it needs: the tests import them as root, which writes their caches on first
# use. Everything else is compiled beforehand: a grading job's kernel runs as a user that
# cannot write into .venv (and with PYTHONDONTWRITEBYTECODE), and would compile what it
# imports (ipykernel, NumPy, ...) again for every job.
NOT_PRECOMPILED := /(torch|torchgen|functorch|sympy|networkx)/
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -c requirements.lock -e '.[test]'
	$(BIN)/python -m compileall -q -j 0 -x '$(NOT_PRECOMPILED)' \
		"$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
	touch $@

install: $(STAMP)  ## Create .venv and install the pinned requirements

$(NPM_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# Only what a page loads: MathJax's combined TeX/MathML/CHTML component with the pieces it loads
# on demand (TeX extensions, CHTML fonts, menu, accessibility), require.js, and the widget
# manager's AMD bundle with its icon fonts (the scripts carry their licence headers).
$(VENDOR_STAMP): $(NPM_STAMP) $(STAMP) Makefile book/favicon.py
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/mathjax/output $(VENDOR)/requirejs $(VENDOR)/jupyter-widgets
	cp $(MATHJAX)/tex-mml-chtml.js node_modules/mathjax/LICENSE $(VENDOR)/mathjax/
	cp -r $(MATHJAX)/input $(MATHJAX)/ui $(MATHJAX)/a11y $(MATHJAX)/sre $(VENDOR)/mathjax/
	cp -r $(MATHJAX)/output/chtml $(VENDOR)/mathjax/output/
	cp node_modules/requirejs/require.js $(VENDOR)/requirejs/
	cp $(WIDGETS)/embed-amd.js $(WIDGETS)/*.{woff2,woff,ttf,eot,svg} $(VENDOR)/jupyter-widgets/
	$(BIN)/python book/favicon.py $(VENDOR)/favicon.ico  # html_extra_path: the site root
	touch $@

vendor: $(VENDOR_STAMP)  ## Fetch (npm ci) and copy the book's offline browser assets

# iproute2's `ip` brings up the loopback of the namespace the browser tests run Chromium in.
chromium:  ## Install Debian's chromium (and iproute2) for the browser tests, if missing (needs root)
	command -v chromium >/dev/null && command -v ip >/dev/null \
		|| (apt-get update && apt-get install -y chromium iproute2)

# One BLAS thread per kernel: the pages multiply small matrices, for which OpenBLAS's threads
# bring nothing on 2 cores and, when the machine is busy, make a training loop several times
# slower (their spin-waits compete with the other processes for the cores).
#
# The execution cache re-runs a page only when the page's own code changed, but every page
# imports lstm_core (and most of them book/_pagetools.py): when their files differ from those of
# the last build, the cache and Sphinx's saved state go, and every page runs again on the new
# code. The hash is taken once,
# before the build (:=), and recorded after it succeeds: an edit made during a build re-runs
# the pages next time.
LSTM_CORE_HASH := $(shell find lstm_core book/_pagetools.py -type f ! -path '*__pycache__*' | LC_ALL=C sort \
	| xargs sha256sum | sha256sum | cut -c1-16)
# Sphinx writes a page again when the page or the configuration changed, not when the book's
# own extensions (book/_ext) did, and copies the stylesheets and scripts (book/assets) only
# when it writes a page: when they differ from those of the last build, every page is written
# again (--all), from the execution cache (no page runs again for that).
BOOK_EXT_HASH := $(shell find book/_ext book/assets -type f ! -path '*__pycache__*' | LC_ALL=C sort \
	| xargs sha256sum | sha256sum | cut -c1-16)
book: $(STAMP) $(VENDOR_STAMP)  ## Build the book (executing every page) into _build/html
	@hash=$(LSTM_CORE_HASH); if [ "$$(cat _build/.lstm_core_hash 2>/dev/null)" != "$$hash" ]; \
	then echo "lstm_core or book/_pagetools.py changed since the last build: every page runs again"; \
	rm -rf _build/.jupyter_cache _build/jupyter_execute _build/.doctrees; fi
	@all=; if [ "$$(cat _build/.book_ext_hash 2>/dev/null)" != "$(BOOK_EXT_HASH)" ]; then all=--all; \
	echo "book/_ext or book/assets changed since the last build: every page is written again"; fi; \
	echo OPENBLAS_NUM_THREADS=1 $(BIN)/jupyter-book build . --warningiserror --keep-going $$all; \
	OPENBLAS_NUM_THREADS=1 $(BIN)/jupyter-book build . --warningiserror --keep-going $$all
	@mkdir -p _build && echo $(LSTM_CORE_HASH) > _build/.lstm_core_hash \
		&& echo $(BOOK_EXT_HASH) > _build/.book_ext_hash
	@echo "Open file://$(CURDIR)/_build/html/index.html"

# Two pytest-xdist workers: one per core (three made the suite slower: README.md, Performance).
# tests/conftest.py keeps together the tests that share a browser, a graded class or the
# host's grading state (pytest-xdist's --dist loadgroup).
# One BLAS (and OpenMP) thread per process, as for the book and for every grading job: with a
# worker on each core, a second thread only spin-waits against the other worker (the sweep of
# tests/test_workspace.py took 65 CPU-seconds in a two-worker run with two threads, 11 alone
# with one; the whole suite, quiet, 18 min 38 s with two and 17 min 48 s with one, both on
# the earlier 2-core machine of README.md's Performance section).
TEST_WORKERS ?= 2
# Python may keep its compiled modules (__pycache__, git-ignored) for the checkout's own code and
# for the tests, whatever the shell says (some machines set PYTHONDONTWRITEBYTECODE): without them
# every pytest worker rewrites the asserts of all the test modules again (about 4 CPU-seconds
# each time), and every process the tests start (coordinators, pool workers, kernels) compiles
# lstm_core and lstm_grading again. The grader's copies of the packages leave __pycache__ out,
# and its jobs still run with PYTHONDONTWRITEBYTECODE.
PYTEST := PYTHONDONTWRITEBYTECODE= OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest
# `make test` runs every test: on the machine it has set up, a skip is a failure, with the
# skip's reason (tests/require_all.py). `make test-fast` and pytest alone keep skips as skips.
REQUIRE_ALL := LSTM_TESTS_REQUIRE_ALL=1
FAST_LOG := _build/test-fast.log

# The course's public copy (the instructor guide's "Keeping the solutions private") has no
# tests/: `make test` there stops before installing anything, and says why.
tests-present:
	@test -d tests || { echo "make $(MAKECMDGOALS) needs tests/, which the public copy of the course \
	leaves out (the instructor guide's Keeping the solutions private): run it in the instructor \
	repository"; exit 2; }

# The book's build runs its pages one after the other, on one core. The fast tier (every test
# not marked slow: the unit tests and the `processes` tier; no kernel, no browser, no built
# book) runs meanwhile on both workers, its report kept in $(FAST_LOG)
# and printed once the book is built; then the slow tier. A fresh clone gains most of the fast
# tier's time; with the book already built, the two tiers simply run one after the other. The
# slow tier runs even if the fast one failed (a contributor sees every failure), and not
# without a book. A background job of a non-interactive shell ignores Ctrl-C, so the traps stop
# the fast tier: on Ctrl-C or SIGTERM (then the recipe ends at once) and on any other exit.
test: tests-present $(STAMP) $(VENDOR_STAMP) chromium  ## Build the book (the fast tier runs meanwhile), then run the slow tier
	@mkdir -p _build; \
	$(REQUIRE_ALL) $(PYTEST) -m "not slow" -n $(TEST_WORKERS) --dist loadgroup > $(FAST_LOG) 2>&1 & fast=$$!; \
	trap 'kill $$fast 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	$(MAKE) --no-print-directory book; built=$$?; \
	wait $$fast; status=$$?; trap - EXIT INT TERM; \
	echo "== the fast tier, run while the book was built ($(FAST_LOG)) =="; cat $(FAST_LOG); \
	if [ $$built -ne 0 ]; then echo "the book did not build: the slow tier needs it"; exit 2; fi; \
	echo "== the slow tier =="; \
	$(REQUIRE_ALL) $(PYTEST) -m slow -n $(TEST_WORKERS) --dist loadgroup || status=$$?; \
	exit $$status

# The unit tests on the same two workers: no kernel, browser, built book or other process
# (tests/unit_tier.py fails a unit test that starts one). The `processes` tier (the grader's
# command line, nbgrader, git, Dask helpers) runs in `make test` beside the book's build, or
# alone with `pytest -m "processes and not slow"`.
test-fast: tests-present $(STAMP)  ## The unit tests: no kernel, browser, built book or process (goal: under a minute)
	$(PYTEST) -m "not slow and not processes" -n $(TEST_WORKERS) --dist loadgroup

lint: $(STAMP)  ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)  ## Benchmarks: lstm_core vs PyTorch and a per-gate loop, training, lstm.py's design choices
	$(BIN)/python benchmarks/bench_lstm.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_choices.py

exercises: $(STAMP)  ## Regenerate exercises/ (student notebooks) from solutions/ with nbgrader
	@# nbgrader runs alembic from PATH; --force replaces exercises/<id>/ and updates gradebook.db
	for dir in solutions/*/; do \
	  PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/nbgrader generate_assignment "$$(basename $$dir)" --force || exit 1; \
	done

autograde: $(STAMP)  ## Autograde submitted/*/$(ASSIGNMENT) in parallel, sandboxed (book/instructor-guide.md)
	@test -n "$(ASSIGNMENT)" || (echo "usage: make autograde ASSIGNMENT=ps01_activations" && exit 2)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/lstm-autograde $(ASSIGNMENT) $(AUTOGRADE_FLAGS)

clean:  ## Remove build products (keeps .venv and node_modules)
	rm -rf _build .pytest_cache .ruff_cache $(VENDOR)
	find . \( -path ./.venv -o -path ./node_modules -o -path ./.git \) -prune \
		-o -type d -name __pycache__ -prune -exec rm -rf {} +
