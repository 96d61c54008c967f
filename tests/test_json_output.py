"""json_output (components/base.py) renders exactly what the SDK's Output.json_dumps does: the same text, the same
secretness and the same resource dependencies, for plain documents, Outputs at any depth, secrets, an Output that
resolves to a structure holding Outputs, awaitables, and one Output named in several places."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from offline.engine import StackRun, is_secret, run_program

PROGRAM = Path(__file__).parent / "programs" / "json_output.py"
POLICY = "aws:iam/policy:Policy"
CASES = ("plain", "outputs", "secret", "output-of-outputs", "awaitable", "repeated")


@pytest.fixture(scope="module")
def rendered() -> StackRun:
    run = run_program("test", {"aws:region": "us-east-1"}, [], program=PROGRAM)
    assert run.ok, run.error_details
    return run


@pytest.mark.parametrize("case", CASES)
def test_same_text_secretness_and_dependencies_as_json_dumps(rendered: StackRun, case: str) -> None:
    ours, sdk = rendered.one(POLICY, f"ours-{case}"), rendered.one(POLICY, f"sdk-{case}")
    assert ours.inputs["policy"] == sdk.inputs["policy"]
    assert ours.property_dependencies.get("policy") == sdk.property_dependencies.get("policy")
    assert ours.dependencies == sdk.dependencies


def test_outputs_inside_are_resolved_and_tracked(rendered: StackRun) -> None:
    policy = rendered.one(POLICY, "ours-outputs")
    key, topic = rendered.one("aws:kms/key:Key", "key"), rendered.one("aws:sns/topic:Topic", "topic")
    assert key.outputs["arn"] in policy.inputs["policy"] and topic.id in policy.inputs["policy"]
    assert sorted(policy.property_dependencies["policy"]) == sorted([key.urn, topic.urn])


def test_one_output_named_in_several_places_fills_each_of_them(rendered: StackRun) -> None:
    key = rendered.one("aws:kms/key:Key", "key").outputs["arn"]
    assert rendered.one(POLICY, "ours-repeated").inputs["policy"].count(key) == 3


def test_a_secret_inside_makes_the_document_secret(rendered: StackRun) -> None:
    value = rendered.one(POLICY, "ours-secret").inputs["policy"]
    assert is_secret(value) and '"password": "hunter2-but-longer"' in value["value"]
    assert not is_secret(rendered.one(POLICY, "ours-outputs").inputs["policy"])


def test_the_program_renders_json_documents_with_json_output() -> None:
    """The convention: the program (components/, bootstrap/, __main__.py, stack_*.py) never calls the SDK's
    Output.json_dumps, whose per-node Output graph was most of the program's own preview time (bench/preview.py)."""
    root = Path(__file__).parent.parent
    sources = [*root.glob("components/**/*.py"), *root.glob("bootstrap/**/*.py"), *root.glob("stack_*.py"),
               root / "__main__.py"]
    calls = [f"{path.relative_to(root)}:{node.lineno}"
             for path in sources
             for node in ast.walk(ast.parse(path.read_text(), str(path)))
             if isinstance(node, ast.Attribute) and node.attr == "json_dumps"]
    assert len(sources) > 20 and not calls, calls
