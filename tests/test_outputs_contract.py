"""The outputs contract: names and types pinned, every stack exports exactly it, and a consumer can read it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2

import stack_outputs
from offline.engine import ROOT, StackRun, run_program
from offline.mocks import OfflineMocks
from tests import contract_versions

RELEASED = Path(__file__).with_name("contracts") / "stack"
PYTHON_TYPES: dict[str, Any] = {"string": str, "integer": int, "boolean": bool}


def contract_table() -> dict[str, str]:
    return {spec.name: spec.type for spec in stack_outputs.CONTRACT}


def test_the_contract_is_versioned_against_the_released_ones() -> None:
    assert contract_versions.problems(stack_outputs.CONTRACT_VERSION, contract_table(), RELEASED) == []


def test_the_version_check_fails_a_removal_a_retype_or_an_addition_without_its_bump(tmp_path: Path) -> None:
    released = {"vpcId": "string", "databasePort": "integer"}
    (tmp_path / "2.1.0.json").write_text(json.dumps(released))
    check = contract_versions.problems
    assert check("2.1.0", released, tmp_path) == []
    assert "was released as 2.1.0.json" in check("2.1.0", {"vpcId": "string"}, tmp_path)[0]  # an edit in place
    assert "breaking change, bump the major" in check("2.2.0", {"vpcId": "string"}, tmp_path)[-1]
    assert "breaking change, bump the major" in check("2.2.0", {**released, "databasePort": "string"}, tmp_path)[-1]
    assert "bump the minor" in check("2.1.1", {**released, "albArn": "string"}, tmp_path)[-1]
    assert check("2.2.0", {**released, "albArn": "string"}, tmp_path) == [
        "no 2.2.0.json in " + tmp_path.name + "/: pin the table of 2.2.0 there once it is final"]
    (tmp_path / "3.0.0.json").write_text(json.dumps({"vpcId": "string"}))
    assert check("3.0.0", {"vpcId": "string"}, tmp_path) == []


def test_a_consumer_reading_through_a_stack_reference_passes_the_check(prod: StackRun) -> None:
    """A StackReference's outputs cross the engine as a protobuf Struct, whose numbers are doubles (the SDK turns
    them back into ints only where a type hint asks): databasePort arrives as 5432.0 and is still the integer the
    contract promises; 5432.5 and a boolean are not."""
    wire = struct_pb2.Struct()
    wire.update(prod.plain_outputs())
    received = json_format.MessageToDict(wire)
    assert received["databasePort"] == 5432.0 and isinstance(received["databasePort"], float)
    assert stack_outputs.STACK_CONTRACT.check(received) == []
    assert stack_outputs.STACK_CONTRACT.check({**received, "databasePort": 5432.5}) == [
        "output databasePort is float, the contract says integer"]
    assert stack_outputs.STACK_CONTRACT.check({**received, "redisPort": True}) == [
        "output redisPort is bool, the contract says integer"]


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
