"""One policy pack process per test session, started exactly as the engine starts it (offline/policy_runner.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from offline.engine import stack_config
from offline.policy_runner import PolicyPackProcess


@pytest.fixture(scope="session")
def pack() -> Iterator[PolicyPackProcess]:
    config, secret_keys, _ = stack_config("prod")
    process = PolicyPackProcess("prod", config, secret_keys)
    yield process
    process.close()

