"""The foundation's stacks, each run once per session through the engine `make preview-bootstrap` uses."""

from __future__ import annotations

import pytest

from offline.engine import StackRun
from offline.foundation import run_bootstrap


def _run(stack: str) -> StackRun:
    run = run_bootstrap(stack)
    assert run.ok, run.error_details
    return run


@pytest.fixture(scope="session")
def shared() -> StackRun:
    """Single-account layout: everything in one account."""
    return _run("shared")


@pytest.fixture(scope="session")
def org_shared() -> StackRun:
    return _run("org-shared")


@pytest.fixture(scope="session")
def org_dev() -> StackRun:
    return _run("org-dev")


@pytest.fixture(scope="session")
def org_prod() -> StackRun:
    return _run("org-prod")
