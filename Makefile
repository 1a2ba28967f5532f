# Two entry points, both safe to run on a fresh machine: they create .venv on first use (and `make test`
# installs and starts what the tests need where it can, see below).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLES := data/samples
OUT ?= crosspath-out

.PHONY: demo test setup lint bench dashboard fuzz

# The runtime dependencies only: all `make demo` needs.
$(BIN)/crosspath: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(BIN)/crosspath

# The dev extras (pytest, ruff, moto, playwright ...) on top, for test, lint, fuzz and bench.
$(VENV)/.dev-extras: $(BIN)/crosspath
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.dev-extras

setup: $(VENV)/.dev-extras

# The sample organisation (packaged as crosspath/samples, a link to data/samples) with its exceptions
# (copied into $(OUT) for the dashboard to edit) and identities files.
demo: $(BIN)/crosspath
	$(BIN)/crosspath demo --out $(OUT)
	@echo "Or from the clone: make dashboard$(if $(filter-out crosspath-out,$(OUT)), OUT=$(OUT))"

# `make test` first runs the set-up CI runs (each quick once done): Chromium, PostgreSQL and MariaDB, and the
# Kubernetes control plane (built once, cached in /var/cache/crosspath-k8s). What cannot be set up here (not root,
# no package access, a failed build) is not fatal: the tests that need it skip, each naming the command that
# provides it, and the run ends with a summary of the skips. Under CI=true a missing server is an error instead.
test: setup
	.ci/chromium.sh || true
	.ci/databases.sh
	.ci/kubernetes.sh || true
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

# The property-based tests of the export readers and the snapshot reader with many more (random) examples
# than the normal suite's bounded, derandomised run (FUZZ_EXAMPLES per test; docs/reliability.md).
FUZZ_EXAMPLES ?= 1000
fuzz: setup
	CROSSPATH_HYPOTHESIS_PROFILE=fuzz CROSSPATH_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q \
		tests/collectors/test_export_fuzz.py tests/test_snapshot_fuzz.py

bench: setup
	$(BIN)/python bench/run.py --sizes 10000 100000

# The dashboard edits its own copy of the sample exceptions, never data/samples/.
dashboard: setup
	test -f $(OUT)/snapshot.arrow || test -f $(OUT)/snapshot.json.gz || $(MAKE) demo
	test -f $(OUT)/exceptions.yaml || cp $(SAMPLES)/exceptions.yaml $(OUT)/exceptions.yaml
	$(BIN)/streamlit run app.py -- --snapshots $(OUT) --exceptions $(OUT)/exceptions.yaml
