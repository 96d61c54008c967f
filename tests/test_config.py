"""stack_config: typed values, every problem at once (key, value, what is allowed), nothing registered on error."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

import stack_config
from components.backup_storage import BackupStorageSettings
from components.cache import CacheSettings
from components.database import DatabaseSettings
from components.network import NetworkSettings
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
    assert config.removal_policy == "retain"  # the safe schema default: a stack keeps its data until it opts out
    assert config.app_url == "https://dev.maratron.example.com"
    assert config.cors_origins == ("https://dev.maratron.example.com",)
    assert config.tags["environment"] == "dev" and config.tags["managed-by"] == "pulumi"


def test_prod_protects_stateful_resources() -> None:
    config = load(environment="prod", natGateways="perAz", alertEmails='["oncall@maratron.example.com"]')
    assert config.is_prod and config.removal_policy == "retain"
    assert 'maratron:removalPolicy = "destroy": prod needs retain' in "\n".join(problems(
        environment="prod", natGateways="perAz", alertEmails='["oncall@maratron.example.com"]',
        removalPolicy="destroy"))
    assert load(removalPolicy="destroy").removal_policy == "destroy"  # the explicit opt-out, outside prod


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
    ("aws:region", "cn-north-1", "aws:region = \"cn-north-1\": the China partition (aws-cn) is not supported"),
    ("webMetricsPort", "13133", "maratron:webMetricsPort = 13133: must be 0 (the app's own port) or 1024-65535 other "
                                "than 13133"),
    ("aiMetricsPort", "80", "maratron:aiMetricsPort = 80: must be 0 (the app's own port) or 1024-65535"),
    ("grafanaAdminGroupIds", '[""]', "'': must be an IAM Identity Center group id"),
    ("grafanaViewerGroupIds", '["not a group id"]', "'not a group id': must be an IAM Identity Center group id"),
    ("grafanaSamlMetadataUrl", "https://", 'maratron:grafanaSamlMetadataUrl = "https://": must be an https:// URL '
                                           "with a host"),
    ("grafanaSamlAdminRoleValues", '[""]', "'': must be a non-empty value of the IdP's role assertion"),
    ("grafanaSamlEditorRoleValues", '[" "]', "' ': must be a non-empty value of the IdP's role assertion"),
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


def test_pulumi_yaml_is_generated_from_the_settings_and_every_key_is_documented() -> None:
    from offline import docgen

    assert (ROOT / "Pulumi.yaml").read_text() == docgen.render_project(), "Pulumi.yaml is stale: run `make docs`"
    entries = stack_config.schema_entries()
    keys = [entry.key for entry in entries]
    assert len(keys) == len(set(keys)), "two settings declare the same key"
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert list(declared) == keys
    for entry in entries:
        spec = declared[entry.key]
        assert spec["type"] in {"string", "integer", "boolean", "array"}, entry.key
        assert spec["description"] and "\n" not in spec["description"], f"{entry.key} needs a one-line description"
        # Secrets have no default (the CLI rejects a plain-text default for one); everything else has exactly one.
        assert ("default" in spec) != bool(spec.get("secret")), entry.key
        if "default" in spec:
            assert spec["default"] == (list(entry.default) if isinstance(entry.default, tuple) else entry.default)


def test_a_config_without_our_keys_reads_the_declared_defaults() -> None:
    # No `fallback=` anywhere: what an unset key reads as is the setting's one default (and Pulumi.yaml's).
    config = load(**{key: None for key in GOOD if key.startswith("maratron:") and "Image" not in key
                     and key not in {"maratron:domainName", "maratron:hostedZoneId", "maratron:anthropicApiKey",
                                     "maratron:weatherApiKey", "maratron:sentryDsn", "maratron:environment",
                                     "maratron:natGateways", "maratron:alertEmails"}},
                  environment="prod", natGateways="perAz", alertEmails='["oncall@maratron.example.com"]')
    declared = {entry.key: entry.default for entry in stack_config.schema_entries()}
    assert config.network.az_count == declared["azCount"] == 3
    assert config.database.allocated_storage_gb == declared["dbAllocatedStorageGb"] == 100
    assert config.network == NetworkSettings() and config.database == DatabaseSettings()
    assert config.cache == CacheSettings() and config.storage == BackupStorageSettings()


def test_a_rejected_value_falls_back_to_the_declared_default() -> None:
    # The problem is reported; later rules see the default (azCount 3, not an unrelated `fallback=`).
    with pytest.raises(stack_config.ConfigError) as caught:
        load(azCount="x", azNames=None)
    assert [str(p) for p in caught.value.problems] == ['maratron:azCount = "x": must be an integer']


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
