"""Shared fixtures: each stack runs once per session through the same engine `make preview` uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from offline.engine import STACKS, StackRun, run_stack

_runs: dict[str, StackRun] = {}

# Modules whose module-scoped fixture is expensive (a moto deployment, a PostgreSQL server, several program runs):
# under `make pytest` (`-n auto --dist loadgroup`) each runs on one xdist worker, so the fixture is built once instead
# of once per worker its tests happen to land on (test_verify's deployment alone is ~8 s). Every other test is still
# spread test by test.
ONE_WORKER_MODULES = frozenset({
    "tests/ops/test_verify.py", "tests/ops/test_verify_foundation.py", "tests/ops/test_tag_deployed_images.py",
    "tests/ops/test_db_admin_postgres.py", "tests/ops/test_backup_scripts.py",
    "tests/test_first_deploy.py", "tests/test_observability.py", "tests/test_foundation.py",
})


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` with ONE_WORKER_MODULES as the groups. Not xdist_group marks: xdist 3.8 applies them by
    rewriting `item._nodeid`, which pytest 9 no longer reads (its nodeid is `_id`), so they group nothing."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class OneWorkerModules(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    return OneWorkerModules(config, log)


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
