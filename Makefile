# One place for set-up, running and testing. `make demo` and `make test` are the
# two commands README.md promises; every other target is a step they share.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian packages the project needs: the CJK fonts the PDF fonts are cut from, Unihan data
# (the 通用规范汉字表 list), HarfBuzz's subsetter (fast PDF font subsetting), gettext.
SYSTEM_PACKAGES := fonts-noto-cjk unicode-data libharfbuzz-subset0 gettext
# Browser tests drive Debian's Chromium (never a downloaded browser).
BROWSER_PACKAGES := chromium chromium-driver
# Tests of the deployment files: Debian's docker-compose validates deploy/compose.yaml without a
# Docker daemon (systemd-analyze, for the units, comes with systemd). Installed with the browser.
DEPLOY_TEST_PACKAGES := docker-compose
# bench/instructions.py counts instructions with valgrind (its test runs on the tiny database).
BENCH_PACKAGES := valgrind

.PHONY: demo test test-pythons setup system-deps browser-deps venv messages fonts migrate seed serve check clean backup restore

demo: setup migrate seed serve  ## set up from nothing, load demo data and serve on http://127.0.0.1:8000

test: setup  ## the whole test suite (SQLite by default; DATABASE_URL=postgres://… for PostgreSQL)
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

test-pythons: setup  ## a smoke subset of the tests on Python 3.12 and 3.13 (those found on the machine)
	.ci/pythons

setup: system-deps venv messages fonts

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES) $(EXTRA_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing system packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "Please install these Debian packages first (as root): apt-get install $$missing"; exit 1; \
	fi

browser-deps:
	@$(MAKE) --no-print-directory system-deps EXTRA_PACKAGES="$(BROWSER_PACKAGES) $(DEPLOY_TEST_PACKAGES) $(BENCH_PACKAGES)"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

messages: venv
	@if [ -d locale ]; then DEBUG=1 $(PY) manage.py compilemessages -v 0 --ignore=.venv; fi

fonts: venv  ## cut the document fonts into var/fonts (fast when already built)
	$(PY) -m mediation.documents.fonts.build_fonts

migrate: venv
	DEBUG=1 $(PY) manage.py migrate --no-input -v 0

seed: venv
	DEBUG=1 $(PY) manage.py seed_demo

backup: venv  ## one archive of the database and the stored files (docs/operations.md); BACKUP_OUTPUT=… to choose
	$(PY) manage.py backup $(if $(BACKUP_OUTPUT),--output $(BACKUP_OUTPUT))

restore: venv  ## ARCHIVE=… into an empty database and media root (docs/operations.md)
	@test -n "$(ARCHIVE)" || { echo "Usage: make restore ARCHIVE=path/to/mediation-….tar.gz"; exit 1; }
	$(PY) manage.py restore $(ARCHIVE)

serve: venv
	@echo ""
	@echo "  Open http://$(HOST):$(PORT)/  (administration: http://$(HOST):$(PORT)/admin/)"
	@echo "  Demo logins are listed above and in docs/demo.md; stop with Ctrl-C."
	@echo ""
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

.PHONY: worker beat
worker: venv  ## a Celery worker (CELERY_BROKER_URL=redis://… or amqp://…; docs/operations.md)
	$(PY) -m celery -A mediation worker --loglevel=INFO $(WORKER_ARGS)

beat: venv  ## the Celery beat scheduler: one per deployment (docs/operations.md)
	@mkdir -p var
	$(PY) -m celery -A mediation beat --loglevel=INFO --schedule=var/celerybeat-schedule

check: venv  ## the static checks CI runs besides the tests
	$(PY) -m ruff check .
	$(PY) -m mypy
	DEBUG=1 $(PY) manage.py check
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=1 $(PY) manage.py draw_states --check

clean:
	rm -rf $(VENV) .venv3?? var .mypy_cache .ruff_cache
