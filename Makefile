# Fengqiao — the two commands: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
SYSTEM_PACKAGES := fonts-noto-cjk libharfbuzz-subset0 poppler-utils graphviz
# Debian's Chromium drives the browser tests (tests/web); the suite never downloads a browser.
BROWSER_PACKAGES := chromium chromium-driver
# Front-end files the pages serve, copied from node_modules (npm ci, package-lock.json).
VENDOR := api/web/static/vendor
VENDOR_FILES := htmx.org/dist/htmx.min.js signature_pad/dist/signature_pad.umd.min.js \
  echarts/dist/echarts.min.js swagger-ui-dist/swagger-ui-bundle.js swagger-ui-dist/swagger-ui.css \
  redoc/bundles/redoc.standalone.js
export FENGQIAO_DATA_DIR ?= ./var

.PHONY: help install system-packages run test lint bench clean

help:
	@echo "make run    install, initialise ./var with demo data, serve on http://127.0.0.1:8000"
	@echo "make test   install and run ruff, mypy, import-linter and pytest"
	@echo "make bench  run the benchmarks under bench/ and rewrite BENCHMARKS.md figures"
	@echo "make lint   ruff, format check, mypy and import contracts only"

# Debian packages the PDFs (CJK font, HarfBuzz subsetting), tests (poppler), graphs and the
# browser tests need.
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES) $(BROWSER_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci
	@touch $@

$(VENDOR)/.copied: node_modules/.package-lock.json
	@mkdir -p $(VENDOR)
	@for f in $(VENDOR_FILES); do cp node_modules/$$f $(VENDOR)/; done
	@touch $@

install: system-packages $(VENV)/.installed $(VENDOR)/.copied

run: install
	$(BIN)/fengqiao init
	$(BIN)/fengqiao demo --if-empty
	$(BIN)/fengqiao serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q -n auto --dist loadfile --durations=15

# PostgreSQL figures use a database of their own (the test suite drops `test`'s schema).
BENCH_PG := postgresql+psycopg://postgres@127.0.0.1:5432/fengqiao_bench
bench: install
	@if [ -z "$$FENGQIAO_BENCH_DATABASE_URL" ] && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then \
	  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'fengqiao_bench'" \
	    | grep -q 1 || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE fengqiao_bench"; \
	  export FENGQIAO_BENCH_DATABASE_URL=$(BENCH_PG); \
	fi; $(PY) -m bench $(BENCH)

clean:
	rm -rf $(VENV) var node_modules $(VENDOR) test-artifacts .mypy_cache .ruff_cache .pytest_cache .hypothesis
