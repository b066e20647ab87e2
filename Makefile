# Chorus: `make run` serves the demo, `make test` runs the whole suite against PostgreSQL.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

# A Python >= 3.12: PYTHON=... wins, then python3.13/python3.12 on PATH, then pyenv versions.
PYTHON ?= $(shell \
  for c in python3.13 python3.12 python3; do \
    if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
      command -v $$c; exit 0; fi; \
  done; \
  if command -v pyenv >/dev/null 2>&1; then \
    for v in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[2-9]' | sort -Vr); do \
      p="$$(pyenv root)/versions/$$v/bin/python3"; \
      if [ -x "$$p" ]; then echo "$$p"; exit 0; fi; \
    done; \
  fi)

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/chorus
TEST_BROKER_URL ?= redis://127.0.0.1:6379/13

.PHONY: help venv install run serve demo test test-fast perf load lint format messages browser clean

help:
	@echo "make run    - install, migrate, load the demo and serve on http://127.0.0.1:8000"
	@echo "make test   - the whole suite on PostgreSQL (browser tests included), then on SQLite"
	@echo "make perf   - the benchmarks under perf/"
	@echo "make load   - 64 clients against gunicorn + Celery on this machine (load/run.py)"
	@echo "make lint   - ruff, the migrations check and mypy"

$(PY):
	@if [ -z "$(PYTHON)" ]; then echo "No Python >= 3.12 found: install one or pass PYTHON=/path/to/python3.13"; exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.lock pyproject.toml
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.lock
	touch $(STAMP)

venv install: $(STAMP)

messages: $(STAMP)
	@if command -v msgfmt >/dev/null 2>&1; then $(PY) manage.py compilemessages -v0; fi

demo: $(STAMP)
	$(PY) manage.py migrate --no-input -v0
	$(PY) manage.py demo

run: demo
	@echo ""
	@echo "Chorus is serving on http://127.0.0.1:8000/ (log in with a demo account above; Ctrl-C stops)"
	$(PY) manage.py runserver 127.0.0.1:8000

serve: $(STAMP)
	$(PY) manage.py runserver 127.0.0.1:8000

# Browser tests need Debian's chromium: install it when missing and we may (root + apt).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	  else \
	    echo "The browser tests need Chromium: run 'sudo apt-get install chromium' (Debian/Ubuntu)"; exit 1; \
	  fi; \
	fi

node_modules/axe-core/axe.min.js: package.json
	@command -v npm >/dev/null 2>&1 || { echo "The accessibility tests need npm (apt-get install npm)"; exit 1; }
	npm install --no-audit --no-fund --silent
	touch $@

# Two passes side by side: the whole suite on PostgreSQL (browsers and Celery workers
# included) and on SQLite, the embedded default of `make run` (browser tests aside; tests that
# need a database server say so and skip). The SQLite pass writes to .test-sqlite.log, shown
# after the PostgreSQL pass; the target fails if either pass fails.
test: $(STAMP) browser node_modules/axe-core/axe.min.js
	@env -u DATABASE_URL -u TEST_DATABASE_NAME TEST_BROKER_URL=$${TEST_BROKER_URL:-$(TEST_BROKER_URL)} \
	  $(PY) -m pytest -m "not browser" -q -p no:cacheprovider $(PYTEST_ARGS) > .test-sqlite.log 2>&1 & lite=$$!; \
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} TEST_BROKER_URL=$${TEST_BROKER_URL:-$(TEST_BROKER_URL)} \
	  $(PY) -m pytest $(PYTEST_ARGS); pg=$$?; \
	wait $$lite; sqlite=$$?; \
	echo "=== the same suite on SQLite (make run's default) ==="; cat .test-sqlite.log; \
	echo "PostgreSQL pass: exit $$pg; SQLite pass: exit $$sqlite"; \
	test $$pg -eq 0 -a $$sqlite -eq 0

test-fast: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) -m pytest -m "not browser and not celery_worker" $(PYTEST_ARGS)

perf: $(STAMP)
	@if [ -f perf/requirements.txt ]; then $(PY) perf/install.py; fi
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) perf/run.py $(PERF_ARGS)

# Its own database (LOAD_DATABASE_URL, default chorus_load, dropped and made fresh), gunicorn
# and a Celery worker (Redis db 14) on 127.0.0.1; at most 5 minutes; exit 1 on a missed target.
load: $(STAMP)
	$(PY) load/run.py $(LOAD_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/mypy --config-file mypy.ini

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) staticfiles
