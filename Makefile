# Carrel: `make run` for a living demo library, `make test` for the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SIZE ?= S
export FLASK_APP := wsgi:app

.PHONY: run test bench install migrate seed browser-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

instance:
	mkdir -p instance

migrate: $(STAMP) instance
	CARREL_ENV=development $(BIN)/flask carrel migrate

## make run: web (127.0.0.1:5000), SIP2 (127.0.0.1:6001) and the scheduler in one process, SQLite, demo library
run: migrate
	CARREL_ENV=development $(BIN)/flask carrel seed --size demo --if-empty
	CARREL_ENV=development $(BIN)/flask carrel serve

## make test: everything the tests need, then the tests (CARREL_TEST_DATABASE_URL for PostgreSQL)
test: $(STAMP) browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

browser-deps:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  (echo "Chromium is missing: install Debian's chromium package (apt-get install chromium)" && exit 1)

## make bench: benchmarks at SIZE (S by default; M or L for more; DATABASE_URL for PostgreSQL)
bench: $(STAMP)
	$(BIN)/python -m bench --size $(SIZE)

clean:
	rm -rf $(VENV) build *.egg-info test-output
