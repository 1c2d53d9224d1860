# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint soak load fuzz clean

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

## make run: set up, migrate, load presets and demo data, start web + worker (Ctrl-C stops both)
run: $(VENV)/.runtime
	@scripts/run_dev.sh

## make test: set up and run the whole suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
test: $(VENV)/.dev
	@backends=$$($(PY) scripts/test_backends.py) || exit 1; eval "$$backends"; \
	$(PY) -m pytest -m "not soak" $(PYTEST_ARGS)

## make lint: ruff (lint + format check) and mypy
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check triage triage_site tests bench scripts
	$(VENV)/bin/ruff format --check triage triage_site tests bench scripts
	DEBUG=1 $(VENV)/bin/mypy

## make fuzz: hostile model output through every parser, the router and the pipeline, and the API from
## its schema, with many more examples than make test (FUZZ_EXAMPLES, default 1000)
fuzz: $(VENV)/.dev
	@backends=$$($(PY) scripts/test_backends.py) || exit 1; eval "$$backends"; \
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1000} $(PY) -m pytest -q -p no:cacheprovider --hypothesis-show-statistics \
		tests/pipeline/test_hostile_output.py tests/api/test_schemathesis.py $(PYTEST_ARGS)

## make soak / make load: long fault-injection and load runs against PostgreSQL + Redis (print figures)
soak: $(VENV)/.dev
	$(PY) bench/soak.py $(SOAK_ARGS)

load: $(VENV)/.dev
	$(PY) bench/load.py $(LOAD_ARGS)

clean:
	rm -rf var/test .pytest_cache .mypy_cache .ruff_cache
