# The two commands of the README: `make run` and `make test`. Both set up everything
# from this repository's own files on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint clean-index browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/assistant ingest
	$(BIN)/assistant serve

# The browser test drives Debian's chromium (Playwright cannot download browsers offline),
# with CJK and emoji fonts so the page renders as staff see it. Installed only when
# missing and apt-get exists; if that fails the browser test skips and says why.
browser:
	@if command -v apt-get >/dev/null 2>&1 && \
	   { [ ! -x /usr/bin/chromium ] || [ -z "$$(fc-list :lang=zh 2>/dev/null)" ]; }; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
	  { $$SUDO apt-get install -y -q chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null 2>&1 || \
	    { $$SUDO apt-get update -q >/dev/null 2>&1 && \
	      $$SUDO apt-get install -y -q chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null 2>&1; }; } || \
	  echo "could not install chromium: the browser test will be skipped"; \
	fi

test: install browser
	$(BIN)/ruff check assistant tests eval
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check assistant tests eval
	$(BIN)/ruff format --check assistant tests eval

clean-index:
	rm -rf index_store/CURRENT.json index_store/generations index_store/chroma
