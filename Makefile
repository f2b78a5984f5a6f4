# orderchain: every target installs what it needs first (a .venv, node_modules, the
# solc-js bridge), so a fresh clone needs only `make run` / `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
SOLC_VERSION := 0.8.30
SOLC := $(CURDIR)/$(VENV)/solcx/solc-v$(SOLC_VERSION)
CHROMIUM := /usr/bin/chromium

# py-solc-x (and so ape-solidity) look for compilers here instead of the home folder.
export SOLCX_BINARY_PATH := $(CURDIR)/$(VENV)/solcx
export PATH := $(CURDIR)/node_modules/.bin:$(BIN):$(PATH)

.PHONY: setup lock compile run demo test lint bench examples clean

setup: $(VENV)/.installed node_modules/.installed $(SOLC)

# Every Python package at the version and hash requirements.lock names (`make lock` resolves
# it again from pyproject.toml's ranges); the project itself is installed editable on top.
$(VENV)/.installed: pyproject.toml requirements.lock
	@echo "== python environment ($(VENV), from requirements.lock)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# The browser tests drive Debian's chromium (Playwright never downloads a browser of its own).
$(CHROMIUM):
	@echo "== chromium for the browser tests (Debian's package)"
	$(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive sh -c \
		'apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null'

node_modules/.installed: package.json package-lock.json
	@echo "== node tools (anvil, solc-js, OpenZeppelin)"
	# anvil comes as the linux-amd64 build (optional); elsewhere an anvil on PATH is used.
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(SOLC): scripts/solc_bridge.js | $(VENV)/.installed
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\nexec node "%s/scripts/solc_bridge.js" "$$@"\n' "$(CURDIR)" > $@
	@chmod +x $@

.build/__local__.json: $(wildcard contracts/*.sol) ape-config.yaml | setup
	@echo "== compiling contracts"
	$(BIN)/ape compile
	@touch $@

compile: setup .build/__local__.json

# Resolves requirements.lock again (newest versions within pyproject.toml's ranges, with
# their hashes, for every platform); commit it with the change that needed it.
lock: $(VENV)/.installed
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --quiet -o requirements.lock

# The node, the engine (reader, projector, keepers) in one process and the API in
# $(API_WORKERS) worker processes beside it; one Ctrl-C stops them all. `orderchain run`
# alone keeps everything in one process (tests and tiny setups).
API_WORKERS ?= 2
run: compile
	$(BIN)/orderchain run --workers $(API_WORKERS)

demo: compile
	$(BIN)/orderchain demo

# Lint, format and types first (seconds), then the tests.
lint: setup
	@echo "== lint and format (ruff)"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@echo "== types (mypy: engine, projections)"
	$(BIN)/mypy
	@echo "== import direction (import-linter)"
	$(BIN)/lint-imports --no-cache

# The suite on two workers (pytest-xdist): each has its own anvil, databases and browser.
TEST_WORKERS ?= 2
test: compile lint $(CHROMIUM)
	$(BIN)/pytest -n $(TEST_WORKERS)

bench: compile
	@$(BIN)/python tests/bench.py

# Records the demo walk's requests and answers (api/examples.json): the OpenAPI document's
# examples and the README's "requests and answers" blocks.
examples: compile
	ORDERCHAIN_RECORD_EXAMPLES=$(CURDIR)/api/examples.json $(BIN)/pytest -q tests/e2e/test_demo_walk.py
	$(BIN)/python -m api.routes README.md

clean:
	rm -rf .build contracts/.cache var deployments
