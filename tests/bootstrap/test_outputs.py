"""The foundation's outputs contracts: pinned, and versioned the way stack_outputs.py is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bootstrap.bootstrap_outputs import ENVIRONMENT_ACCOUNT, FOUNDATION
from components.output_contract import Contract

SNAPSHOT = Path(__file__).with_name("outputs-contract.json")


@pytest.mark.parametrize(("key", "current"), [("foundation", FOUNDATION), ("environmentAccount", ENVIRONMENT_ACCOUNT)])
def test_contract_matches_the_pinned_snapshot(key: str, current: Contract) -> None:
    pinned = json.loads(SNAPSHOT.read_text())[key]
    table = current.table()
    removed_or_changed = {k: v for k, v in pinned["outputs"].items() if table.get(k) != v}
    added = sorted(set(table) - set(pinned["outputs"]))
    assert not removed_or_changed or current.major > int(pinned["version"].split(".")[0]), (
        f"breaking change {removed_or_changed}: bump the major version and update {SNAPSHOT.name}")
    assert not added or pinned["version"] != current.version, f"new outputs {added}: bump the minor version"
    assert pinned == {"version": current.version, "outputs": table}, f"update {SNAPSHOT.name}"


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
