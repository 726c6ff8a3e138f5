# make demo: set up and run the demo on http://127.0.0.1:8000/api/, with its background worker
# make demo-reset: put the demo's database back to its sample data, ids from 1 again
# make test: set up and run the test suite (SQLite; DATABASE_URL=postgres://... for PostgreSQL)
PYTHON ?= python3
VENV ?= .venv
# Extra pip requirements, each quoted for the shell, e.g. PIP_SPEC="'django==5.2.*'"
PIP_SPEC ?=
PYTEST_ARGS ?=

.PHONY: install test test-fast demo demo-reset lint wheel bench

# caldav and nc-py-api (read by the interop tests) need niquests, whose urllib3-future, installed
# from its wheel, replaces urllib3 in the whole virtualenv at every start (a .pth file) and breaks
# requests and schemathesis; built from source with URLLIB3_NO_OVERRIDE=1 it keeps to itself.
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	URLLIB3_NO_OVERRIDE=1 $(VENV)/bin/python -m pip install -q --no-cache-dir \
		--no-binary urllib3-future -e ".[dev]" $(PIP_SPEC)
	touch $@

install: $(VENV)/.installed

test: install
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The tests that need no server, worker or browser: under a minute.
test-fast: install
	$(VENV)/bin/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Build the sdist and wheel, install the wheel alone in a fresh virtualenv, run a smoke request.
wheel: install
	rm -rf dist $(VENV)-wheel
	$(VENV)/bin/python -m build -q .
	$(PYTHON) -m venv $(VENV)-wheel
	$(VENV)-wheel/bin/python -m pip install -q dist/*.whl
	cd /tmp && $(CURDIR)/$(VENV)-wheel/bin/python $(CURDIR)/.ci/smoke_wheel.py

bench: install
	$(VENV)/bin/python bench/run.py

demo: install
	$(VENV)/bin/python manage.py migrate
	$(VENV)/bin/python manage.py seed_demo
	$(VENV)/bin/python manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker' EXIT INT TERM; \
	$(VENV)/bin/python manage.py runserver 127.0.0.1:8000

# Works while the demo runs; empties the whole database (jobs, keys and users too).
demo-reset: install
	$(VENV)/bin/python manage.py migrate
	$(VENV)/bin/python manage.py seed_demo --reset
