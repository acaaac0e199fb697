# One command to run the demo, one to run the tests. The virtualenv is made on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: install run serve test typecheck test-postgres test-browser bench bench-quick translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: demo start — SQLite under instance/, every SOP loaded, demo accounts printed, demo cases,
## then six months of seeded cases (sop seed-demo: adds nothing the second time)
run: install
	$(BIN)/sop demo --cases
	$(BIN)/sop seed-demo --months 6 --cases 600
	@echo "Open http://$(HOST):$(PORT)/"
	$(BIN)/flask --app web run --host $(HOST) --port $(PORT)

## make serve: production-style start (gunicorn); no demo accounts are created
serve: install
	$(BIN)/sop db upgrade
	$(BIN)/gunicorn -c python:web.gunicorn_conf --workers $${WORKERS:-4} --bind $(HOST):$(PORT) 'web:create_app()'

## make test: type checks (mypy: runner strict, web), then the whole suite
## (PostgreSQL tests run when SOP_TEST_DATABASE_URL is set)
test: install typecheck
	$(BIN)/python -m pytest -n auto

typecheck: install
	$(BIN)/mypy

test-postgres: install
	$(BIN)/python -m pytest -m postgres

test-browser: install
	$(BIN)/python -m pytest -m browser

## make bench: every performance target, full sizes (BENCH_POSTGRES=URL adds PostgreSQL; minutes to hours)
bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/all.py

## make bench-quick: the same scripts at tiny sizes (CI runs it so they never rot; figures meaningless)
bench-quick: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/all.py --quick

## make translations: re-extract UI strings and recompile catalogs after editing templates
translations: install
	$(BIN)/pybabel extract -F web/babel.cfg -k _ -k N_ -k gettext -k ngettext:1,2 -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d web/translations

clean:
	rm -rf $(VENV) instance .pytest_cache
