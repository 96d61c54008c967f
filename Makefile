# Task runner: every target sets up the virtualenv itself (python3 -m venv + pinned requirements).
# `make help` lists the targets: a `## ` comment line right above a target is its help text.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?=

.PHONY: help preview preview-bootstrap test lint typecheck pytest policy docs lock bench bench-instructions clean
.DEFAULT_GOAL := help

## List the targets with what they do.
help:  # one awk: `make help | head` ends it quietly (141, a closed pipe, passes; any other failure fails)
	@awk '/^## /{text = (text ? text " " : "") substr($$0, 4); next} \
	      /^[a-z][a-z-]*:/{if (text) {split($$0, t, ":"); printf "  make %-20s %s\n", t[1], text}; text = ""; next} \
	      {text = ""} \
	      END {print "  Variables: STACK=dev|staging|prod|dr (make preview; default dev), STACK=shared|org-shared|org-dev|..."; \
	           print "  (make preview-bootstrap; default shared), VENV=.venv"}' $(MAKEFILE_LIST); \
	status=$$?; [ $$status -eq 0 ] || [ $$status -eq 141 ] || exit $$status

$(VENV)/.installed: requirements.txt requirements-deploy.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

## Offline preview of a stack (STACK=dev|staging|prod|dr; says which when STACK is unset): resource tree, counts,
## outputs, cost, deploy time, policy verdicts; writes build/<stack>/inventory.json, stack-export.json and
## architecture.mmd (identical on every run of one commit).
preview: $(VENV)/.installed
	@$(PY) -m offline.preview $(STACK)

## Offline preview of a foundation stack (bootstrap/; STACK=shared (default), org-shared, org-dev, ...): tree, the
## outputs app stacks read (build/bootstrap/<stack>/outputs.json), cost, policy verdicts.
preview-bootstrap: $(VENV)/.installed
	@$(PY) -m offline.bootstrap_preview $(if $(filter command line,$(origin STACK)),$(STACK),shared)

## Everything CI runs: lint, type check, the tests (which include the policy pack over every stack, as `make
## policy` runs it: tests/policies/test_stacks.py; the foundation's stacks too).
test: lint typecheck pytest

## Lint (ruff).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

## Type check (mypy, incremental: .mypy_cache makes reruns fast).
typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy examples/consumer  # a separate program: its own __main__
	$(VENV)/bin/mypy bootstrap/__main__.py  # the foundation's program (the rest of bootstrap/ is in the first run)

# PYTHONDONTWRITEBYTECODE= : keep the bytecode (and pytest's rewritten test modules) of a previous run even where
# the machine sets it; without them each worker, subprocess and pack process recompiles ~4 s of sources per run.
# One worker per core. A third worker on 2 cores (once faster: mean 73 s against 78.5 s) now costs more than it fills:
# each worker imports the SDKs, collects 2,270 tests and runs a policy pack process of its own. Interleaved on
# 2026-12-02, five runs each: 2 workers 64.7-66.4 s wall (103-112 s CPU), 3 workers 61.1-89.0 s (114-131 s CPU).
# tests/conftest.py's ONE_WORKER_MODULES stay together either way.
PYTEST_WORKERS ?= $(shell nproc)

## The test suite, one worker per core (PYTEST_WORKERS).
pytest: $(VENV)/.installed
	PYTHONDONTWRITEBYTECODE= $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadgroup

## The policy pack over every stack, as the engine drives it (non-zero on any mandatory violation).
policy: $(VENV)/.installed
	for stack in dev staging prod dr; do $(PY) -m offline.policy_runner $$stack || exit 1; done
	$(PY) -m offline.bootstrap_preview --check  # every foundation stack (policies/config/bootstrap.json)

## Regenerate generated docs: the config reference (Pulumi.yaml), the outputs contract, the alarm table of
## docs/monitoring.md, the app-metrics alert table and Grafana dashboard, the figures tables (README,
## docs/cost-and-deploy-time.md, docs/database-access.md's connection budget), the policy rule table and the
## taggable-type list the required-tags rule reads.
docs: $(VENV)/.installed
	$(PY) -m offline.docgen
	$(PY) -m offline.alarmdoc
	$(PY) -m offline.metricsdoc
	$(PY) -m offline.figures
	$(PY) -m offline.policy_docs
	$(PY) -m offline.taggable

## Regenerate the hashed locks the role-assuming CI jobs install (requirements-deploy.lock from
## requirements-deploy.txt, policies/requirements.lock from policies/requirements.txt; pip-tools, needs the index).
lock:
	tools=$$(mktemp -d) && python3 -m venv $$tools && $$tools/bin/pip install -q pip-tools==7.6.2 && \
	for pair in requirements-deploy.lock:requirements-deploy.txt policies/requirements.lock:policies/requirements.txt; do \
	  $$tools/bin/pip-compile -q --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links \
	    --strip-extras --output-file=$${pair%%:*} $${pair##*:} || exit 1; \
	done; rm -rf $$tools

## Benchmarks (print figures; not part of the tests).
bench: $(VENV)/.installed
	status=0; \
	$(PY) -m bench.preview || status=1; \
	$(PY) -m bench.cost || status=1; \
	$(PY) -m bench.critical_path || status=1; \
	$(PY) -m bench.suite || status=1; \
	exit $$status  # every figure printed; non-zero when any of them misses its target

## bench.preview's comparison counted in machine instructions (valgrind; the same on a busy and a quiet machine;
## ~8 min for prod on 2 cores).
bench-instructions: $(VENV)/.installed
	$(PY) -m bench.instructions

## Remove build output and tool caches.
clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache
