# One command each: `make dev` (the API on http://127.0.0.1:3000) and `make test`.
# Both create the virtualenv and install everything from PyPI on a fresh machine.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: venv install chromium bench-storefront dev test test-fast lint lint-types migrate build bench bench-sweep clean

$(INSTALLED): requirements-dev.txt layers/common/requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is needed (Lambda python3.11), found {sys.version}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(INSTALLED)

STOREFRONT := storefront
STOREFRONT_INSTALLED := $(STOREFRONT)/node_modules/.installed
CHROMIUM ?= /usr/bin/chromium
export NEXT_TELEMETRY_DISABLED := 1

# The storefront's packages, exactly as package-lock.json pins them.
$(STOREFRONT_INSTALLED): $(STOREFRONT)/package.json $(STOREFRONT)/package-lock.json
	cd $(STOREFRONT) && npm ci --no-audit --no-fund
	touch $@

# The browser tests drive Debian's Chromium (never a browser downloaded by a test tool).
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "The browser tests need Debian's Chromium at $(CHROMIUM): run 'sudo apt-get install chromium' (or set CHROMIUM=/path/to/chromium)."; \
		exit 1; \
	fi

venv: $(INSTALLED)

install: $(INSTALLED) $(STOREFRONT_INSTALLED) chromium

dev: $(INSTALLED) $(STOREFRONT_INSTALLED)  ## embedded PostgreSQL (unless DATABASE_URL), migrations, demo catalog, API on :3000, storefront on :3001
	$(BIN)/python local/dev.py

test: install  ## every test, including sam validate --lint / sam build and the storefront in Chromium
	CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python -m pytest

test-fast: install  ## every test but the SAM packaging ones
	CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python -m pytest -m "not packaging"

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

bench-storefront: install  ## the storefront in Chromium on the local stack; writes bench/STOREFRONT.md
	CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python bench/storefront.py

clean:
	rm -rf .aws-sam .pytest_cache .hypothesis .ruff_cache
