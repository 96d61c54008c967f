"""Shared fixtures: each stack runs once per session through the same engine `make preview` uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from offline.engine import STACKS, StackRun, run_stack

_runs: dict[str, StackRun] = {}


def stack_run(stack: str, **overrides: Any) -> StackRun:
    """One offline run per (stack, overrides), cached for the session. Overrides use short keys (azCount=2)."""
    full = {(k if ":" in k else f"maratron:{k}"): v for k, v in overrides.items()}
    cache_key = f"{stack}:{json.dumps(full, sort_keys=True, default=str)}"
    if cache_key not in _runs:
        _runs[cache_key] = run_stack(stack, full)
    return _runs[cache_key]


@pytest.fixture(scope="session")
def run_variant() -> Callable[..., StackRun]:
    return stack_run


@pytest.fixture(scope="session", params=STACKS)
def any_stack(request: pytest.FixtureRequest) -> StackRun:
    run = stack_run(request.param)
    assert run.ok, run.error_details
    return run


@pytest.fixture(scope="session")
def dev() -> StackRun:
    run = stack_run("dev")
    assert run.ok, run.error_details
    return run


@pytest.fixture(scope="session")
def staging() -> StackRun:
    run = stack_run("staging")
    assert run.ok, run.error_details
    return run


@pytest.fixture(scope="session")
def prod() -> StackRun:
    run = stack_run("prod")
    assert run.ok, run.error_details
    return run
