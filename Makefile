# Two entry points, both safe to run on a fresh machine: they create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLES := data/samples
OUT ?= crosspath-out

.PHONY: demo test setup lint bench

$(BIN)/crosspath: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/crosspath

setup: $(BIN)/crosspath

demo: setup
	$(BIN)/crosspath scan $(SAMPLES) --out $(OUT) --exceptions $(SAMPLES)/exceptions.yaml

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/run.py --sizes 10000 100000
