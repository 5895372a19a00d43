# Two commands matter: `make demo` and `make test`. Each sets itself up (venv, pinned packages, Azurite)
# and re-running them is fast when nothing changed (stamp files track the requirement files).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# playwright-core drives the system's Chromium (Debian's package); it never downloads a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: setup test lint typecheck pytest demo bench clean lock chromium

setup: $(STAMP) $(NODE_STAMP)

# requirements.txt is the deployed lock (hashes, generated from requirements.in by `make lock`): its pins, as
# constraints (pip takes no extras or hashes there), make the tested environment the deployed one, version for
# version (tests/test_lock.py checks it).
$(STAMP): requirements.in requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	sed -E -e '/^[[:space:]]*--hash/d' -e 's/\[[^]]*\]//' -e 's/[[:space:]]*\\$$//' requirements.txt > $(VENV)/constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -c $(VENV)/constraints.txt -r requirements-dev.txt
	# The command line as `openair-sync` (editable: the checkout's code), usable from any directory.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
	touch $@

# Re-resolve requirements.in (needs the package index) and rewrite the hash-pinned requirements.txt.
lock: setup
	$(PY) -m pip install --dry-run --ignore-installed --quiet --disable-pip-version-check \
		--report $(VENV)/lock-report.json -r requirements.in
	$(PY) tools/lock.py $(VENV)/lock-report.json requirements.txt

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

pytest: setup chromium
	$(VENV)/bin/pytest

# The browser tests (tests/browser) need a Chromium: as root on Debian/Ubuntu it is installed from the distribution's
# `chromium` package when missing; elsewhere the target stops and says what to install (or set CHROMIUM=path).
chromium:
	@if [ -n "$$CHROMIUM" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Chromium (the distribution's package) for the browser tests …"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	    || { echo "apt-get could not install chromium; install it, or set CHROMIUM=/path/to/chromium"; exit 1; }; \
	else \
	  echo "The browser tests need Chromium: run 'apt-get install -y chromium' as root (or set CHROMIUM=/path/to/chromium)"; \
	  exit 1; \
	fi

test: lint typecheck pytest

demo: setup
	$(PY) -m sandbox.demo $(if $(SERVE),--serve)

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .mypy_cache .pytest_cache .ruff_cache .hypothesis
