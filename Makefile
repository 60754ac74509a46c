# Auror: `make run` and `make test` on a fresh machine with Python 3.11+ and make.
# DATABASE_URL / REDIS_URL are used when set; otherwise an embedded PostgreSQL and Redis start
# under var/ (AUROR_DATA_DIR). See README.md.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
BIND   ?= 127.0.0.1:$(PORT)
# Marks the virtualenv as installed from the current pyproject.toml.
STAMP  := $(VENV)/.installed-stamp

# `make run` is a laptop or a demo: development defaults (a throwaway SECRET_KEY, cookies over
# plain http on 127.0.0.1). Production sets SECRET_KEY and leaves AUROR_DEVELOPMENT unset.
run: export AUROR_DEVELOPMENT ?= 1

.PHONY: run test lint install check-python browser stop-embedded

run: $(STAMP)
	$(PY) manage.py runall --bind $(BIND)

test: $(STAMP) browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

install: $(STAMP)

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Auror needs Python 3.11 or newer; this is " + sys.version.split()[0] + " (make PYTHON=python3.12 ...)")'

$(PY): | check-python
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# The browser tests drive Debian's Chromium (Playwright downloads no browser here). Install it
# when it is missing and we may (root with apt-get); otherwise say what to install.
browser:
	@if [ ! -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core fonts-liberation >/dev/null; \
	  else \
	    echo "The browser tests need Chromium at /usr/bin/chromium (Debian: apt-get install chromium), or set CHROMIUM_PATH"; \
	  fi; \
	fi

# Stop the embedded PostgreSQL and Redis now (they also stop when the last process using them exits).
stop-embedded: $(STAMP)
	$(PY) -c 'from auror import embedded; embedded.stop()'
