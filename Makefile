# The two set-up commands of the README, and what they need. Both create and use .venv here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CODE := registry resolver sdk cli

.PHONY: run test lint

## make run: set up a demo node on SQLite (node 88.999, enterprise 88.999.1) and serve it on 127.0.0.1:8000
run: $(VENV)/.run-deps
	$(BIN)/idnode quickstart

## make test: ruff, mypy (strict) and the whole test suite, on SQLite and a throw-away PostgreSQL database
test: $(VENV)/.test-deps lint
	tests/ensure-services
	$(BIN)/pytest

lint: $(VENV)/.test-deps
	$(BIN)/ruff check $(CODE) tests benchmarks
	$(BIN)/ruff format --check $(CODE) tests benchmarks
	$(BIN)/mypy

$(VENV)/.run-deps: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@
