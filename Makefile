# The two commands of the README: `make run` and `make test`. Both set up everything
# from this repository's own files on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint clean-index

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/assistant ingest
	$(BIN)/assistant chat

test: install
	$(BIN)/ruff check assistant tests eval
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check assistant tests eval
	$(BIN)/ruff format --check assistant tests eval

clean-index:
	rm -rf index_store/CURRENT.json index_store/generations index_store/chroma
