# kenshin — every target does its own set-up on a fresh machine (venv from the
# lock, database). The two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
UV    := $(shell command -v uv 2>/dev/null || echo .local/bootstrap/bin/uv)
LOCAL := $(CURDIR)/.local

export AIRFLOW_HOME ?= $(LOCAL)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DEFAULT_TIMEZONE := Asia/Tokyo
export AIRFLOW__CORE__PARALLELISM ?= 4
export AIRFLOW__API__HOST ?= 127.0.0.1
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export AIRFLOW__COSMOS__CACHE_DIR := $(LOCAL)/cosmos
export PYTHONPATH := $(CURDIR)/plugins

.PHONY: help setup demo test bench up lint docs clean

help:
	@echo "make demo   set up and run the platform's main job on the embedded database"
	@echo "make test   set up and run the tests"
	@echo "make up     Airflow UI (airflow standalone) on http://127.0.0.1:8080"
	@echo "make bench  city-scale benchmarks (1.56M residents)"
	@echo "make lint   ruff (with Airflow rules) and sqlfluff"
	@echo "make docs   dbt documentation of the marts (open the printed index.html)"

$(UV):
	python3 -m venv .local/bootstrap
	.local/bootstrap/bin/pip install -q uv

# Debian packages the letters need: a Japanese font for the PDFs (IPAex Mincho,
# also the charts' font) and pdftotext, which the tests read them back with;
# chromium, which the browser test drives headless (the operations page).
# Installed when missing and the machine lets us (root with apt-get); otherwise
# say what to install. Checked again whenever this Makefile changes.
DEBIAN_PACKAGES := fonts-ipaexfont-mincho poppler-utils chromium
$(LOCAL)/.debian-packages: Makefile
	@mkdir -p $(LOCAL)
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    (apt-get install -y -qq $$missing || (apt-get update -qq && apt-get install -y -qq $$missing)) >/dev/null; \
	  else echo "please install the Debian packages: $$missing"; exit 1; fi; \
	fi
	touch $@

$(VENV)/.installed: pyproject.toml uv.lock | $(UV) $(LOCAL)/.debian-packages
	$(UV) sync --frozen
	touch $@

setup: $(VENV)/.installed
	$(VENV)/bin/kenshin db up >/dev/null
	$(VENV)/bin/kenshin db migrate >/dev/null
	$(VENV)/bin/kenshin marts parse >/dev/null

demo: setup
	$(PY) tools/demo.py

test: $(VENV)/.installed
	$(PY) -m pytest -q tests

bench: setup
	$(VENV)/bin/kenshin bench all

up: setup
	@URL=$$($(VENV)/bin/kenshin db up | tail -1); \
	eval "$$($(PY) -m kenshin_airflow.connection "$$URL")"; \
	export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=$$(echo $$URL | sed 's#postgresql://#postgresql+psycopg://#; s#/[^/]*$$#/airflow#'); \
	$(PY) -c "from kenshin.platform import db; db.ensure_database('$$URL'.rsplit('/',1)[0] + '/airflow')"; \
	export PATH="$(CURDIR)/$(VENV)/bin:$$PATH"; \
	exec airflow standalone

docs: setup
	$(VENV)/bin/kenshin marts docs

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check include dags plugins tests
	$(VENV)/bin/sqlfluff lint include/sql
	cd dbt_project && ../$(VENV)/bin/sqlfluff lint models tests

clean:
	rm -rf .local $(VENV)
