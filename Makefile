# One-command set-up: `make book` and `make test` create and fill the virtual environment first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install book test lint bench clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

install: $(STAMP)  ## Create .venv and install the pinned requirements

book: $(STAMP)  ## Build the book (executing every page) into _build/html
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "Open file://$(CURDIR)/_build/html/index.html"

test: $(STAMP)  ## Run the whole test suite
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)  ## Benchmarks: lstm_core vs PyTorch and vs a per-gate loop
	$(BIN)/python benchmarks/bench_lstm.py

clean:  ## Remove build products (keeps .venv)
	rm -rf _build .pytest_cache .ruff_cache
