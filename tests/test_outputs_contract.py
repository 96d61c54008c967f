"""The outputs contract: names and types pinned, every stack exports exactly it, and a consumer can read it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import stack_outputs
from offline.engine import ROOT, StackRun, run_program
from offline.mocks import OfflineMocks

SNAPSHOT = Path(__file__).with_name("outputs-contract.json")
PYTHON_TYPES: dict[str, Any] = {"string": str, "integer": int, "boolean": bool}


def contract_table() -> dict[str, str]:
    return {spec.name: spec.type for spec in stack_outputs.CONTRACT}


def test_contract_matches_the_pinned_snapshot() -> None:
    pinned = json.loads(SNAPSHOT.read_text())
    current = contract_table()
    removed_or_changed = {k: v for k, v in pinned["outputs"].items() if current.get(k) != v}
    added = sorted(set(current) - set(pinned["outputs"]))
    pinned_major = int(pinned["version"].split(".")[0])
    major = int(stack_outputs.CONTRACT_VERSION.split(".")[0])
    assert not removed_or_changed or major > pinned_major, (
        f"breaking contract change {removed_or_changed}: bump the major version and update {SNAPSHOT.name}")
    assert not added or pinned["version"] != stack_outputs.CONTRACT_VERSION, (
        f"new outputs {added}: bump the minor version and update {SNAPSHOT.name}")
    assert pinned == {"version": stack_outputs.CONTRACT_VERSION, "outputs": current}, f"update {SNAPSHOT.name}"


def test_every_stack_exports_exactly_the_contract_with_its_types(any_stack: StackRun) -> None:
    outputs = any_stack.outputs
    assert sorted(outputs) == sorted(contract_table())
    for name, type_ in contract_table().items():
        value = outputs[name]
        if type_ == "list[string]":
            assert isinstance(value, list) and all(isinstance(v, str) for v in value), name
        else:
            assert isinstance(value, PYTHON_TYPES[type_]), (name, value)
    assert outputs["contractVersion"] == stack_outputs.CONTRACT_VERSION


def test_no_output_carries_a_secret_value(any_stack: StackRun) -> None:
    text = json.dumps(any_stack.inventory(redact_secrets=False)["outputs"])
    assert "4dabf18193072939515e22adb298388d" not in text
    for placeholder_key in any_stack.placeholders:
        assert any_stack.config[placeholder_key] not in text


def test_export_refuses_drift_from_the_contract() -> None:
    with pytest.raises(ValueError, match=r"missing \['environment'.*undeclared \['surprise'\]"):
        stack_outputs.export_contract({"surprise": 1})


class PlatformMocks(OfflineMocks):
    """OfflineMocks plus a StackReference that answers with a real offline run's outputs."""

    def __init__(self, outputs: dict[str, Any]) -> None:
        super().__init__()
        self.outputs = outputs

    def new_resource(self, args):  # type: ignore[no-untyped-def]
        if args.typ == "pulumi:pulumi:StackReference":
            return args.name, {"name": args.name, "outputs": self.outputs, "secretOutputNames": []}
        return super().new_resource(args)


def consume(outputs: dict[str, Any]) -> StackRun:
    return run_program("prod", {"maratron-consumer-example:platformStack": "acme/maratron/prod",
                                "aws:region": "us-east-1"}, [],
                       program=ROOT / "examples" / "consumer" / "__main__.py", mocks=PlatformMocks(outputs),
                       project="maratron-consumer-example")


def test_consumer_example_reads_the_prod_contract(prod: StackRun) -> None:
    run = consume(prod.plain_outputs())
    assert run.ok, run.error_details
    group = run.one("aws:ec2/securityGroup:SecurityGroup", "reporting")
    assert group.inputs["vpcId"] == prod.outputs["vpcId"]
    assert run.outputs["reportingSubnetIds"] == prod.outputs["appSubnetIds"]
    assert run.outputs["contractVersion"] == stack_outputs.CONTRACT_VERSION


def test_consumer_example_refuses_an_unknown_major_version(prod: StackRun) -> None:
    for version in ("1.2.0", "3.0.0"):  # built for 2.x: the plain-URL secrets of 1.x are gone
        run = consume({**prod.plain_outputs(), "contractVersion": version})
        assert run.error is not None and f"contract {version} is not supported" in str(run.error)
