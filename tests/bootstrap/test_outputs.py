"""The foundation's outputs contracts: pinned, and versioned the way stack_outputs.py is."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.bootstrap_outputs import ENVIRONMENT_ACCOUNT, FOUNDATION
from components.output_contract import Contract
from tests import contract_versions

RELEASED = Path(__file__).with_name("contracts")


@pytest.mark.parametrize(("key", "current"), [("foundation", FOUNDATION), ("environmentAccount", ENVIRONMENT_ACCOUNT)])
def test_the_contract_is_versioned_against_the_released_ones(key: str, current: Contract) -> None:
    """tests/contract_versions.py: each released version pinned in its own file; removals and retypes need a
    major, additions a minor (the checker's own failing cases are in tests/test_outputs_contract.py)."""
    assert contract_versions.problems(current.version, current.table(), RELEASED / key) == []


def test_a_consumer_accepts_a_newer_minor_and_refuses_another_major() -> None:
    samples = {"string": "x", "map[string]": {"a": "b"}, "list[string]": ["y"]}
    outputs = {name: samples.get(type_, "x") for name, type_ in FOUNDATION.table().items()}
    assert FOUNDATION.check({**outputs, "contractVersion": "1.7.0", "somethingNew": 1}) == []
    assert FOUNDATION.check({**outputs, "contractVersion": "0.9.0"})[0].startswith("contract 0.9.0 is not supported")
    assert FOUNDATION.check({**outputs, "contractVersion": None}) == [
        f"contractVersion is None, not a version like {FOUNDATION.version}"]


def test_export_refuses_drift_from_the_contract() -> None:
    with pytest.raises(ValueError, match=r"missing \['layout'.*undeclared \['surprise'\]"):
        FOUNDATION.export({"surprise": 1}, where="bootstrap/bootstrap_outputs.py")
