# pucha — two commands on a fresh machine:
#   make run    install into .venv, create the SQLite database with the national org tree,
#               accounts, an administrator and demo data, and serve on http://127.0.0.1:$(PORT)
#   make test   install the test dependencies and run the whole test suite
#   make test-fast  the same without browser, GUI and slow tests (PyInstaller build, URL walks)
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8080
HOST ?= 127.0.0.1
DEMO ?= 1
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test test-fast setup serve install install-dev bench translations mail-worker

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

translations: $(VENV)/.installed
	$(BIN)/python -m app.i18n compile

setup: install translations
	$(FLASK) pucha setup $(if $(filter 0,$(DEMO)),--no-demo,--demo)

serve:
	@echo "在浏览器打开 http://$(HOST):$(PORT)/ 登录"
	$(FLASK) run --host $(HOST) --port $(PORT) --with-threads

run: setup serve

mail-worker: install
	$(FLASK) pucha send-mail

# One worker per core (pytest-xdist): the walks over every URL rule and the browser tests are
# most of the suite's time.
test: install-dev translations
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# The lane for a quick check while editing: no Chromium, no Xvfb, no PyInstaller build and no
# test marked slow (multi-second scenarios). `make test` stays the one that counts.
FAST_MARKERS := not browser and not gui and not slow
test-fast: install-dev translations
	$(BIN)/python -m pytest -n auto -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python -m bench.run
