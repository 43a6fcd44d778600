# The two commands of the quick start are `make demo` and `make test`; both install what they need first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=
# make test runs the suite in two processes (pytest-xdist; each has its own database, Redis and sandboxes)
PYTEST_JOBS ?= 2
PORT   ?= 8000

AXE    := tests/e2e/axe

.PHONY: install browser axe demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

## browser: Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser of its own)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and apt-get unavailable: the browser tests will skip"; fi; }

## axe: axe-core from the npm registry for the accessibility checks (tests/e2e/axe/node_modules, never committed)
axe: $(AXE)/node_modules/.package-lock.json

$(AXE)/node_modules/.package-lock.json: $(AXE)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix $(AXE) --no-audit --no-fund --loglevel=error; \
	else echo "npm missing: the accessibility tests (axe-core) will skip"; fi

## demo: the whole product on this machine (embedded SQLite + Redis, sandbox networks, demo users); PORT=8080 to move it
demo: install
	$(BIN)/advocacy demo --port $(PORT)

## test: the whole suite, fault tests included
test: install browser axe
	$(BIN)/python -m pytest -n $(PYTEST_JOBS) --dist worksteal $(PYTEST_ARGS)

## test-fast: the inner loop; never a replacement for `make test`
test-fast: install
	$(BIN)/python -m pytest -x -q -m "not faults and not slow" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check advocacy connectors sandbox workers tests bench wsgi.py
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/click_redirect.py
	$(BIN)/python bench/click_redirect.py --backend postgresql --pg postgresql://postgres@127.0.0.1:5432/postgres
	$(BIN)/python bench/web_memory.py
	$(BIN)/python bench/report_pages.py --backend sqlite
	$(BIN)/python bench/report_pages.py --backend postgresql --pg postgresql://postgres@127.0.0.1:5432/postgres

clean:
	rm -rf $(VENV) instance .pytest_cache
