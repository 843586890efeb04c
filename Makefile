# Two commands: `make run` (set up, then run the demo) and `make test` (set up, lint, run every test).
# `make test-under-load` runs the tests beside two CPU-burning processes, as on a shared CI machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.vigil-installed
# torch first and pinned: an unpinned torch pulls several GB of CUDA packages.
TORCH_SPEC ?= torch==2.13.0

# test-under-load: LOAD_CPUS stress-ng CPU workers; PYTEST_ARGS picks tests (default: all of them)
LOAD_CPUS ?= 2
PYTEST_ARGS ?=

.PHONY: setup system-deps run test test-under-load lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test,cluster]"
	@touch $(STAMP)

setup: $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

run: setup
	$(VENV)/bin/vigil run

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: setup system-deps lint
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the set-up is broken" >&2; exit 1; fi; exit $$rc

# stress-ng is started here and always stopped (trap), and its own --timeout bounds it if make itself is killed.
test-under-load: setup system-deps
	@stress-ng --cpu $(LOAD_CPUS) --timeout 3h --quiet & load=$$!; \
	trap 'kill -TERM $$load 2>/dev/null; wait $$load 2>/dev/null' EXIT; \
	echo "test-under-load: stress-ng --cpu $(LOAD_CPUS) (pid $$load) beside pytest $(PYTEST_ARGS)"; \
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the set-up is broken" >&2; exit 1; fi; exit $$rc

bench: setup
	$(PY) bench/sources.py && $(PY) bench/model.py && $(PY) bench/stream.py && $(PY) bench/detect.py

clean:
	rm -rf $(VENV) state .pytest_cache .mypy_cache .ruff_cache
