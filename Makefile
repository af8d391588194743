# Arbiter: two commands.  `make run` (install + start on the embedded default)  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install install-dev lint typecheck contracts migrations-check pytest bench worker beat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo --issue-key
	$(BIN)/python manage.py ensure_admin --reset --url http://$(HOST):$(PORT)/admin/
	@echo "Arbiter on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install-dev lint typecheck contracts migrations-check pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy .

contracts: install-dev
	$(BIN)/lint-imports

migrations-check: install-dev
	$(BIN)/python manage.py makemigrations --check --dry-run

pytest: install-dev
	$(BIN)/pytest

# Benchmarks want PostgreSQL (each creates and drops its own scratch database on the server).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/arbiter_bench

bench: install-dev
	-@createdb -h 127.0.0.1 -U postgres arbiter_bench 2>/dev/null
	@for script in bench/*.py; do \
		echo "== $$script"; DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(BIN)/python $$script || exit 1; \
	done

worker: install
	$(BIN)/celery -A governance worker --loglevel=INFO

beat: install
	$(BIN)/celery -A governance beat --loglevel=INFO

clean:
	rm -rf $(VENV) var/*.sqlite3* .pytest_cache .mypy_cache .ruff_cache
