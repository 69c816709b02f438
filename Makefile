# The front door: `make run` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
PORT ?= 8501

.PHONY: run demo test lint format bench install install-dev clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(RUNTIME_STAMP) $@

install: $(RUNTIME_STAMP)
install-dev: $(DEV_STAMP)

## run: set up, migrate and start KMS on http://localhost:8501 (embedded SQLite under data/)
run: install
	$(PY) -m kms serve --port $(PORT)

## demo: load fictitious demo data (prints the demo login), then start KMS
demo: install
	$(PY) -m kms demo
	$(PY) -m kms serve --port $(PORT)

## test: set up and run the whole suite
test: install-dev
	$(PY) -m pytest

lint: install-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy kms

format: install-dev
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## bench: every measurement against its floor (docs/performance.md); writes bench/results.json
## SCALE=large for the large instance (generated once into $(BENCH_DIR), then reused)
SCALE ?= small
BENCH_DIR ?= /tmp/kms-bench
BENCH_ARGS ?=
bench: install-dev
	$(PY) -m bench.run --scale $(SCALE) --workdir $(BENCH_DIR) $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)
