# One command each: `make dev` (the API on http://127.0.0.1:3000) and `make test`.
# Both create the virtualenv and install everything from PyPI on a fresh machine.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: venv install dev test test-fast lint lint-types migrate build bench bench-sweep clean

$(INSTALLED): requirements-dev.txt layers/common/requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is needed (Lambda python3.11), found {sys.version}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(INSTALLED)

venv install: $(INSTALLED)

dev: $(INSTALLED)  ## the local stack: embedded PostgreSQL (unless DATABASE_URL), migrations, demo catalog, API on :3000
	$(BIN)/python local/dev.py

test: $(INSTALLED)  ## every test, including sam validate --lint / sam build
	$(BIN)/python -m pytest

test-fast: $(INSTALLED)  ## every test but the SAM packaging ones
	$(BIN)/python -m pytest -m "not packaging"

lint: $(INSTALLED)  ## ruff check, ruff format --check, mypy (strict on the layer): CI runs it before the tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory lint-types

lint-types: $(INSTALLED)
	$(BIN)/mypy --strict layers/common/cart_common
	$(BIN)/mypy functions local db bench

migrate: $(INSTALLED)  ## apply migrations to DATABASE_URL
	$(BIN)/python db/migrate.py

build: $(INSTALLED)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/sam build

bench: $(INSTALLED)  ## benchmarks against the raw-SQL floor; writes bench/RESULTS.md
	$(BIN)/python bench/run.py

bench-sweep: $(INSTALLED)  ## the lifecycle sweep over 100,000 expired carts; writes bench/SWEEP.md (and its RESULTS.md section)
	$(BIN)/python bench/sweep.py

clean:
	rm -rf .aws-sam .pytest_cache .hypothesis .ruff_cache
