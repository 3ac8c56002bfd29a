# 科技淘宝 — `make run` serves the demo on http://127.0.0.1:5000, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run setup test test-pg lint format migrate check-migrations audit bench clean help

help:
	@echo "make run    - install, migrate, load the demo once, serve on http://$(HOST):$(PORT)"
	@echo "make test   - the same set-up, then the whole test suite (browser tests need Debian's chromium)"
	@echo "make test-pg TEST_DATABASE_URL=postgresql://... - the suite against PostgreSQL"
	@echo "make lint   - ruff"
	@echo "make audit  - pinned requirements against the vulnerabilities PyPI publishes"
	@echo "make bench  - benchmarks in bench/ (print figures)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the pinned requirements change.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty
	$(FLASK) search reindex --if-needed
	$(FLASK) matching refresh --if-needed

run: setup
	$(FLASK) run --host $(HOST) --port $(PORT)

test: setup
	@if [ -z "$$CI" ] && ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then \
	  echo "NOTICE: Chromium is not installed: the browser tests (tests/e2e) will be SKIPPED."; \
	  echo "        Install Debian's chromium (apt-get install chromium) to run them."; fi
	$(BIN)/pytest $(PYTEST_ARGS)

test-pg: $(VENV)/.installed
	@test -n "$(TEST_DATABASE_URL)" || (echo "set TEST_DATABASE_URL=postgresql://..." && exit 2)
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Known vulnerabilities of the pinned versions (PyPI's OSV data; see .ci/audit_requirements.py).
audit:
	$(PYTHON) .ci/audit_requirements.py requirements.txt requirements-dev.txt

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# `flask db upgrade` on an empty database must give exactly the models' schema.
check-migrations: $(VENV)/.installed
	@tmp=$$(mktemp -d); \
	DATABASE_URL=sqlite:///$$tmp/check.db $(FLASK) db upgrade >/dev/null 2>&1 && \
	DATABASE_URL=sqlite:///$$tmp/check.db $(FLASK) db check 2>&1 | grep -v '^INFO'; \
	status=$$?; rm -rf $$tmp; exit $$status

bench: $(VENV)/.installed
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/search_bench.py --n 10000
	$(BIN)/python bench/search_quality.py
	$(BIN)/python bench/match_bench.py
	$(BIN)/python bench/match_quality.py
	$(BIN)/python bench/pricing_bench.py --n 3000

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
