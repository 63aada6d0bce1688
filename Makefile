# The README's two commands: `make demo` (the main job) and `make test` (the whole suite).
# Both install what they need first (Debian packages, a venv), idempotently.
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DOCKYARD_DATA_ROOT ?= /var/lib/dockyard

.PHONY: demo test bench setup lab clean-state

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml .ci/setup-host
	.ci/setup-host
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[test,bench]'
	$(VENV)/bin/dockyard kernel install --sys-prefix >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(PY) bench/demo.py

test: $(STAMP)
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) bench/peers.py install
	$(PY) bench/run_all.py

# JupyterLab with the dockyard kernel, on 127.0.0.1 only.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser --allow-root notebooks/
