# make install · make test · make demo · make bench · make lint
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROJECTS := packages/ecce packages/its packages/missing packages/erc-data apps/iteach
PYPROJECTS := $(addsuffix /pyproject.toml,$(PROJECTS))
DEV_TOOLS := pytest ruff hypothesis

.PHONY: install test lint format demo bench clean

install: $(STAMP)

# Re-installs only when a pyproject.toml changes; the editable installs pick up code edits by themselves.
$(STAMP): $(PYPROJECTS) Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(addprefix -e ,$(PROJECTS)) $(DEV_TOOLS)
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

demo: install
	$(BIN)/iteach-app demo

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
