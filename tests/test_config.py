"""stack_config: typed values, every problem at once (key, value, what is allowed), nothing registered on error."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import stack_config
from offline.engine import ROOT
from offline.engine import stack_config as merged_stack_config
from tests.configs import MINIMAL_VALID

GOOD = {
    **MINIMAL_VALID,
    "maratron:aiImage": "v1.4.2",  # a tag, beside web's digest
    "maratron:anthropicApiKey": "sk-ant-test",
    "maratron:weatherApiKey": "weather-test",
    "maratron:sentryDsn": "https://key@o1.ingest.sentry.io/1",
}


def load(**changes: str | None) -> stack_config.StackConfig:
    raw = dict(GOOD)
    for key, value in changes.items():
        full = key if ":" in key else f"maratron:{key}"
        if value is None:
            raw.pop(full, None)
        else:
            raw[full] = value
    return stack_config.load(raw, stack="test")


def problems(**changes: str | None) -> list[str]:
    with pytest.raises(stack_config.ConfigError) as caught:
        load(**changes)
    return [str(p) for p in caught.value.problems]


def test_good_config_is_typed_with_schema_defaults() -> None:
    config = load()
    assert config.environment == "dev"
    assert config.network.az_count == 2
    assert config.network.az_names == ("us-east-1a", "us-east-1b")
    assert config.network.nat_gateways == "single"
    assert config.network.interface_endpoints == ()
    assert config.network.vpc_cidr == "10.0.0.0/16"  # schema default
    assert config.log_retention_days == 365  # schema default
    assert not config.protect_stateful
    assert config.app_url == "https://dev.maratron.example.com"
    assert config.cors_origins == ("https://dev.maratron.example.com",)
    assert config.tags["environment"] == "dev" and config.tags["managed-by"] == "pulumi"


def test_prod_protects_stateful_resources() -> None:
    config = load(environment="prod", natGateways="perAz", alertEmails='["oncall@maratron.example.com"]')
    assert config.is_prod and config.protect_stateful


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("azCount", "three", "maratron:azCount = \"three\": must be an integer"),
    ("azCount", "9", "maratron:azCount = 9: must be between 1 and 6"),
    ("vpcCidr", "10.0.0.0/33", "maratron:vpcCidr = \"10.0.0.0/33\": must be an IPv4 network"),
    ("vpcCidr", "10.0.0.1/16", "has host bits set"),
    ("vpcCidr", "10.0.0.0/24", "must be an IPv4 CIDR from /16 to /20"),
    ("vpcCidr", "8.8.0.0/16", "must be a private (RFC 1918) range"),
    ("natGateways", "double", "maratron:natGateways = \"double\": must be one of perAz, single, none"),
    ("environment", "qa", "maratron:environment = \"qa\": must be one of dev, staging, prod"),
    ("logRetentionDays", "10", "maratron:logRetentionDays = 10: must be one of 1, 3, 5, 7, 14, 30"),
    ("interfaceEndpoints", '["ecr.api", "ec2"]', "'ec2' is not one of ecr.api, ecr.dkr"),
    ("interfaceEndpoints", '"logs"', "must be a list of strings"),
    ("azNames", '["us-west-2a", "us-east-1b"]', "'us-west-2a': must be an AZ of us-east-1"),
    ("azNames", '["us-east-1a"]', "must list exactly azCount (2) AZs, or be empty"),
    ("azNames", '["us-east-1a", "us-east-1a"]', "must not repeat an entry"),
    ("owner", "", "maratron:owner = \"\": must be 1-256 letters"),
    ("domainName", "", "maratron:domainName = \"\": required: the app's public hostname"),
    ("domainName", "https://Maratron.example.com", "must be a lower-case DNS hostname"),
    ("corsOrigins", '["http://admin.example.com"]', "must be an https origin without path"),
    ("corsOrigins", '["https://admin.example.com/"]', "must be an https origin without path"),
    ("aws:region", "mars-1", "aws:region = \"mars-1\": must be an AWS region"),
    ("aws:region", None, "aws:region = (not set): must be an AWS region"),
])
def test_each_bad_value_names_key_value_and_what_is_allowed(key: str, value: str | None, expected: str) -> None:
    assert any(expected in p for p in problems(**{key: value})), problems(**{key: value})


def test_unknown_key_is_an_error_with_a_suggestion() -> None:
    found = problems(natGatways="single")
    assert found == ["maratron:natGatways = \"single\": unknown key (not declared in Pulumi.yaml); "
                     "did you mean 'natGateways'?"]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(azCount="x", vpcCidr="nope", natGateways="many", typo="1")
    assert [p.split(" =")[0] for p in found] == [
        "maratron:vpcCidr", "maratron:azCount", "maratron:natGateways", "maratron:typo"]


def test_cross_field_rules() -> None:
    assert any("prod needs at least 2 AZs" in p
               for p in problems(environment="prod", azCount="1", azNames="[]", natGateways="perAz"))
    assert any("prod needs perAz" in p for p in problems(environment="prod"))
    no_nat = problems(natGateways="none", interfaceEndpoints='["logs"]')
    assert any("with natGateways=none, must include ecr.api, ecr.dkr, secretsmanager" in p for p in no_nat)
    # A rejected value does not also trigger the cross-field rules that depend on it.
    assert problems(azCount="x") == ["maratron:azCount = \"x\": must be an integer"]


def test_every_schema_key_is_read_and_documented() -> None:
    raw = merged_stack_config("prod")[0]
    # Reading happens inside load(); replay it on a reader that records the keys.
    original = stack_config._Reader
    seen: set[str] = set()

    class Recording(original):  # type: ignore[misc, valid-type]
        def _value(self, key: str) -> object:
            seen.add(key)
            return super()._value(key)

    stack_config._Reader = Recording  # type: ignore[misc]
    try:
        stack_config.load(raw, stack="prod")
    finally:
        stack_config._Reader = original  # type: ignore[misc]
    declared = set(stack_config.schema())
    assert seen == declared, f"declared but never read: {declared - seen}; read but not declared: {seen - declared}"
    for key, spec in stack_config.schema().items():
        assert spec.get("type") in {"string", "integer", "boolean", "array"}, key
        assert spec.get("description"), f"{key} has no description"
        assert "default" in spec or spec.get("secret"), f"{key} has no default (the CLI would require it everywhere)"


def test_bad_config_registers_no_resource(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", azCount="0", vpcCidr="300.0.0.0/16", natGateway="single")
    assert isinstance(run.error, stack_config.ConfigError)
    keys = sorted(p.key for p in run.error.problems)
    assert keys == ["azCount", "natGateway", "vpcCidr"]
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]


def test_program_loads_config_before_registering_anything() -> None:
    tree = ast.parse((ROOT / "__main__.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    first = min(calls, key=lambda n: (n.lineno, n.col_offset))
    assert ast.unparse(first.func) == "stack_config.load"


def test_stack_files_only_use_declared_keys() -> None:
    for path in sorted(Path(ROOT).glob("Pulumi.*.yaml")):
        config, _, _ = merged_stack_config(path.name.split(".")[1])
        stack_config.load(config, stack=path.name.split(".")[1])  # raises on any unknown or invalid key


def test_generated_docs_are_current() -> None:
    from offline import docgen

    for path, text in docgen.generated().items():
        assert path.exists() and path.read_text() == text, f"{path.name} is stale: run `make docs`"
