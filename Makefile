# One command each: `make dev` (the API on http://127.0.0.1:3000) and `make test`.
# Both create the virtualenv and install everything from PyPI on a fresh machine.

SHELL := /bin/bash
# The Lambda runtime is set once, in template.yaml's Globals (Runtime: pythonX.Y); the virtualenv,
# the tests, the local stack and `sam build` all run that version.
RUNTIME_VERSION := $(shell sed -n 's/^    Runtime: python\([0-9.]*\)$$/\1/p' template.yaml)
# That interpreter: pyenv's build of it (the machine image ships pyenv's 3.11-3.13; its shims answer
# only for the selected version), else python$(RUNTIME_VERSION) on PATH.
PYTHON ?= $(firstword $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/$(RUNTIME_VERSION).*/bin/python$(RUNTIME_VERSION)) \
	$(shell command -v python$(RUNTIME_VERSION)))
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-python$(RUNTIME_VERSION)
# checkov pins its own versions of libraries the project pins too: it gets a virtualenv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_INSTALLED := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)-python$(RUNTIME_VERSION)

.PHONY: venv install chromium pgbouncer bench-storefront dev test test-fast lint lint-types migrate build invoke bench bench-compare bench-sweep bench-analytics import bench-import clean

$(INSTALLED): requirements-dev.txt layers/common/requirements.txt pyproject.toml
	@test -n "$(RUNTIME_VERSION)" || { echo "template.yaml's Globals name no Runtime: pythonX.Y" >&2; exit 1; }
	@test -x "$(PYTHON)" || { echo "Python $(RUNTIME_VERSION) (the Lambda runtime in template.yaml) was not found:" \
		"put python$(RUNTIME_VERSION) on PATH, install it with pyenv, or run make PYTHON=/path/to/python$(RUNTIME_VERSION)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; assert v == "$(RUNTIME_VERSION)", \
		f"$(PYTHON) is Python {v}; the Lambda runtime is python$(RUNTIME_VERSION)"'
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] != "$(RUNTIME_VERSION)")'; then \
		echo "$(VENV) is another Python version: recreating it"; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@# This checkout, editable: cart_common (the layer), local, bench and migrate import by name (pyproject.toml).
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(INSTALLED)

$(CHECKOV_INSTALLED):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $(CHECKOV_INSTALLED)

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

# The local stack and the tests put PgBouncer (transaction pooling, as RDS Proxy in AWS) between the
# functions and PostgreSQL: Debian's package. Without it, `LOCAL_PROXY=none make dev` connects directly.
PGBOUNCER ?= $(firstword $(shell command -v pgbouncer) $(wildcard /usr/sbin/pgbouncer))
pgbouncer:
	@if [ -n "$(PGBOUNCER)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer; \
	else \
		echo "The local stack and the tests need PgBouncer: run 'sudo apt-get install pgbouncer' (or LOCAL_PROXY=none make dev)."; \
		exit 1; \
	fi

venv: $(INSTALLED)

install: $(INSTALLED) $(CHECKOV_INSTALLED) $(STOREFRONT_INSTALLED) chromium pgbouncer

dev: $(INSTALLED) $(STOREFRONT_INSTALLED) $(if $(filter none,$(LOCAL_PROXY)),,pgbouncer)  ## embedded PostgreSQL (unless DATABASE_URL), migrations, demo catalog, API on :3000, storefront on :3001
	$(BIN)/python -m local.dev

test: install  ## every test: sam validate --lint, cfn-lint, checkov, sam build and the storefront in Chromium
	CHECKOV="$(CURDIR)/$(CHECKOV)" CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python -m pytest

test-fast: install  ## every test but the SAM packaging ones
	CHECKOV="$(CURDIR)/$(CHECKOV)" CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python -m pytest -m "not packaging"

lint: $(INSTALLED)  ## ruff check, ruff format --check, mypy (strict on the layer, local/ and db/): CI runs it before the tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory lint-types

# mypy --strict on the layer (what ships to Lambda), the local stack and the migration runner; plain
# mypy on the functions, the benchmarks and the tests (which follow imports into all of the above).
lint-types: $(INSTALLED)
	$(BIN)/mypy --strict layers/common/cart_common local db
	$(BIN)/mypy functions bench tests

migrate: $(INSTALLED)  ## apply migrations to DATABASE_URL
	$(BIN)/python -m migrate

build: $(INSTALLED)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/sam build

# The `sam build` output of one function, run as `sam local invoke` would run it, without Docker
# (local/invoke.py; BUILD_DIR=an existing build skips `sam build`):
#   make invoke FN=AddItemFunction EVENT=events/add_item.json
invoke: $(INSTALLED)
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=AddItemFunction EVENT=events/add_item.json" >&2; exit 2; }
	@PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m local.invoke $(FN) $(EVENT) $(if $(BUILD_DIR),--build-dir $(BUILD_DIR))

bench: $(INSTALLED)  ## benchmarks against the raw-SQL floor; writes bench/RESULTS.md
	$(BIN)/python -m bench.run

# The working tree's handlers against another revision's, interleaved in one run: make bench-compare BASE=main
bench-compare: $(INSTALLED)  ## writes bench/COMPARE.md; a p50 over 5% slower than BASE is marked
	$(BIN)/python -m bench.compare --base $(or $(BASE),HEAD)

bench-sweep: $(INSTALLED)  ## the lifecycle sweep over 100,000 expired carts; writes bench/SWEEP.md (and its RESULTS.md section)
	$(BIN)/python -m bench.sweep

bench-analytics: $(INSTALLED)  ## GET /admin/analytics/carts on 1,000,000 carts with a year of history; writes bench/ANALYTICS.md
	$(BIN)/python -m bench.analytics

import: $(INSTALLED)  ## import a catalog file (FILE=path, .jsonl or .csv) into the local database; report in reports/ beside it
	@test -n "$(FILE)" || { echo "usage: make import FILE=path/to/catalog.jsonl (or .csv)"; exit 2; }
	$(BIN)/python -m local.import_file $(FILE)

bench-import: $(INSTALLED)  ## an import of 100,000 lines while cart operations run; writes bench/IMPORT.md
	$(BIN)/python -m bench.import_catalog

bench-storefront: install  ## the storefront in Chromium on the local stack; writes bench/STOREFRONT.md
	CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python -m bench.storefront

clean:
	rm -rf .aws-sam .pytest_cache .hypothesis .ruff_cache
