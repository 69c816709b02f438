# The front door: `make run` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
PORT ?= 8501

.PHONY: run demo test lint format bench bench-podcasts install install-dev clean-venv setup-system system-runtime system-test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(RUNTIME_STAMP) $@

# Debian packages, installed only when missing and only as root (elsewhere: a hint).
# Runtime: fallback fonts for characters DejaVu lacks in PDFs (emoji, CJK; kms/rendering/glyphs.py).
# Tests: chromium (browser tests, never `playwright install`), poppler (PDF to PNG), nginx (the
# reverse-proxy test, docs/deploy.md), dovecot-imapd (the Rechnungseingang IMAP test starts its
# own Dovecot; the system service is not used).
SYSTEM_RUNTIME := fonts-symbola fonts-droid-fallback
SYSTEM_TEST := $(SYSTEM_RUNTIME) chromium poppler-utils nginx hledger dovecot-imapd
define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing Debian packages (install them as root):$$missing" >&2; fi; \
	fi
endef

system-runtime:
	$(call apt_ensure,$(SYSTEM_RUNTIME))

## setup-system: the Debian packages that `make test` needs (as root); `make run` needs only the fonts
setup-system system-test:
	$(call apt_ensure,$(SYSTEM_TEST))

install: $(RUNTIME_STAMP) system-runtime
install-dev: $(DEV_STAMP) system-test

## run: set up, migrate and start KMS on http://localhost:8501 (embedded SQLite under data/)
run: install
	$(PY) -m kms serve --port $(PORT)

## demo: load fictitious demo data (prints the demo login), then start KMS
demo: install
	$(PY) -m kms demo
	KMS_DEMO=1 $(PY) -m kms serve --port $(PORT)

## test: set up and run the whole suite, on every core (browser tests one at a time on one worker)
TEST_WORKERS ?= auto
test: install-dev
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

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
## (then bench-podcasts, so `make bench` covers the podcast hosting too)
bench: install-dev
	$(PY) -m bench.run --scale $(SCALE) --workdir $(BENCH_DIR) $(BENCH_ARGS)
	$(MAKE) --no-print-directory bench-podcasts

## bench-podcasts: podcast feed (1,000 episodes) and 200 MB Range throughput: KMS vs a bare
## Starlette FileResponse vs nginx on loopback (bench/podcasts.py; part of `make bench`)
bench-podcasts: install-dev
	$(PY) -m bench.podcasts --workdir $(BENCH_DIR)-podcasts

clean-venv:
	rm -rf $(VENV)
