# Task runner: every target sets up the virtualenv itself (python3 -m venv + pinned requirements).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev

.PHONY: preview test lint typecheck pytest policy docs bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

## Offline preview of a stack: resource tree, counts, outputs, inventory (build/<stack>/inventory.json).
preview: $(VENV)/.installed
	$(PY) -m offline.preview $(STACK)

## Everything CI runs: lint, type check, tests.
test: lint typecheck policy pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy examples/consumer  # a separate program: its own __main__

pytest: $(VENV)/.installed
	$(VENV)/bin/pytest -n auto  # one worker per core: the suite runs in about half the time on 2 cores

## The policy pack over every stack, as the engine drives it (non-zero on any mandatory violation).
policy: $(VENV)/.installed
	for stack in dev staging prod; do $(PY) -m offline.policy_runner $$stack || exit 1; done

## Regenerate generated docs: the config reference (Pulumi.yaml), the outputs contract, the README's alarm table,
## the policy rule table and the taggable-type list the required-tags rule reads.
docs: $(VENV)/.installed
	$(PY) -m offline.docgen
	$(PY) -m offline.alarmdoc
	$(PY) -m offline.policy_docs
	$(PY) -m offline.taggable

## Benchmarks (print figures; not part of the tests).
bench: $(VENV)/.installed
	$(PY) -m bench.preview
	-$(PY) -m bench.cost
	-$(PY) -m bench.critical_path

clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache
