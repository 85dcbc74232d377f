# Two commands for a fresh machine: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck services browser bench clean compose-config

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "feedwash needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## run: bootstrap .venv, migrate, import seeds/, start web + worker + beat (embedded defaults)
run: $(STAMP)
	$(BIN)/feedwash db upgrade
	$(BIN)/feedwash run

## test: bootstrap the dev environment, make sure PostgreSQL, Redis and Chromium are there, run everything
test: $(STAMP) services browser
	scripts/ensure-tools
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

## services: start PostgreSQL and Redis on loopback if they are down; fail loudly otherwise
services:
	scripts/ensure-services

## browser: Debian's Chromium (+ a CJK font) for the Playwright tests; installs only what is missing
browser:
	scripts/ensure-browser

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/serving.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
