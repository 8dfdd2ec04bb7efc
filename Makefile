# Two set-up commands (README): `make run` starts the dashboard on the synthetic sample data,
# `make test` runs the whole suite. Both create or reuse a local virtual environment.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck format bench venv chromium clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# compat: the source folder on sys.path by a .pth line, not setuptools' import hook, which costs every
	# process (and every `ovcf` command) about 30 ms at start-up
	$(PY) -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

venv: $(STAMP)

chromium:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

run: $(STAMP)
	$(VENV)/bin/ovcf dashboard

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

# mypy over ovcf_core ([tool.mypy] in pyproject.toml); mypy and the stubs come with the test extra
typecheck: $(STAMP)
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# both cores: one worker per core, each test module kept on one worker (module fixtures computed once)
test: $(STAMP) chromium lint typecheck
	$(PY) -m pytest -q -n auto --dist loadfile

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]' --config-settings editable_mode=compat
	for script in benchmarks/bench_*.py benchmarks/batch_parallel.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .mypy_cache
