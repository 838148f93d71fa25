# ePortal: `make run` starts the portal on the embedded default, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The embedded default: SQLite, tasks in-process, SMS to the console, synthetic ids allowed.
DEV_ENV := DEBUG=1 EPORTAL_ALLOW_SYNTHETIC_IDS=1

.PHONY: install run test lint format messages check clean bench

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/.installed
	$(DEV_ENV) $(PY) manage.py compilemessages --ignore='.venv/*' -v 0

run: install
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py loaddemo --base-url=http://$(HOST):$(PORT)
	$(DEV_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r eportal clinics identification booking econsult delegation sms ops fhirapi -ll

check: install
	$(DEV_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(DEV_ENV) $(PY) manage.py check

test: lint check
	$(BIN)/pytest $(PYTEST_ARGS)

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The load benchmark (docs/benchmarks.md): needs PostgreSQL, Redis and wrk; not part of `test`.
bench: install
	$(PY) -m benchmarks.run $(BENCH_ARGS)

# Re-extract translatable strings into the committed catalogues after changing UI text.
messages: install
	$(DEV_ENV) $(PY) manage.py makemessages -l nb -l nn -l en --ignore='.venv/*' --ignore='tests/*' --no-obsolete
	$(DEV_ENV) $(PY) manage.py makemessages -d djangojs -l nb -l nn -l en --ignore='.venv/*' --ignore='static/vendor/*' --no-obsolete

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
