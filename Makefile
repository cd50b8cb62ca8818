# The few commands of the hotline. `make run` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test call lint bench check-config clean browser-deps screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## create the database with the default menu and demo data, then serve on :5000 (gunicorn + scheduler; Ctrl-C stops both)
	$(PY) run.py init-db --demo
	IVR_SIMULATOR_PHONES=1 $(PY) run.py serve

test: $(STAMP) browser-deps  ## unit, integration (SQLite; PostgreSQL too when IVR_TEST_POSTGRES_URL is set), e2e, browser
	$(PY) -m pytest

# Debian's chromium for the browser tests (tests/browser), and a CJK font so the Chinese labels in the
# screenshots are legible; installed once; without chromium the browser tests are skipped.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)
browser-deps:
	@{ test -x /usr/bin/chromium && test -d /usr/share/fonts/truetype/wqy; } || { $(SUDO) apt-get update -qq \
	  && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; } \
	  || echo "chromium could not be installed: the browser tests will be skipped"

screenshots: $(STAMP) browser-deps  ## the user guide's pictures (docs/screenshots/), taken by the browser tests
	rm -rf docs/screenshots
	IVR_DOCS_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/browser -q

call: $(STAMP)  ## phone the hotline from the terminal through the simulator
	$(PY) run.py init-db --demo
	$(PY) run.py call $(ARGS)

check-config: $(STAMP)
	$(PY) run.py check-config

lint: $(STAMP)  ## ruff, mypy, and the package layering (import-linter contracts in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy routing prompts ivr
	$(VENV)/bin/lint-imports --no-logo

bench: $(STAMP)  ## every benchmark; each prints its figures
	$(PY) bench/webhooks.py
	$(PY) bench/routing_decision.py
	$(PY) bench/erlang.py
	$(PY) bench/wait_estimate.py
	$(PY) bench/pairings.py

clean:
	rm -rf $(VENV) instance .pytest_cache
