"""policies/decode_once.py: the pack decodes each resource once per request, and says exactly what it said before.

The pack's analyzer runs in-process here (the SDK's own servicer class, called as the gRPC server calls it), first as
pulumi-policy ships it, then with decode_once installed; monkeypatch puts the SDK back afterwards.
"""

from __future__ import annotations

import contextvars
import inspect
import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi.runtime
import pulumi_policy.policy as sdk
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2

from offline.engine import Resource
from offline.policy_runner import LEVELS, _options, _struct, load_pack_config, merge_policy_config
from policies import decode_once
from policies.rules import ALL_RULES
from tests.policies.helpers import KEY, TAGS, resource
from tests.policies.test_rules import RDS, RDS_PRIMARY, UNKNOWN, changed

BUCKET = "aws:s3/bucketV2:BucketV2"
RESOURCES = [
    resource(RDS, "db", RDS_PRIMARY),
    resource(RDS, "weak-db", changed(RDS_PRIMARY, storageEncrypted=False, publiclyAccessible=True)),
    resource(RDS, "previewed-db", changed(RDS_PRIMARY, storageEncrypted=UNKNOWN, kmsKeyId=UNKNOWN,
                                          tags=changed(TAGS, Name=UNKNOWN))),
    resource("aws:kms/key:Key", "key", {"enableKeyRotation": False, "tags": TAGS, "description": KEY}),
]


def servicer(overrides: dict[str, Any] | None = None) -> Any:
    """The SDK's analyzer for this pack, configured as the engine configures it for prod (with `overrides` merged
    into prod's pack config)."""
    analyzer = sdk._PolicyAnalyzerServicer(
        "maratron-security", "0.0.1", [rule.policy for rule in ALL_RULES], sdk.EnforcementLevel.MANDATORY,
        None, "test", None, None, "aws", None, None)
    analyzer.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
        stack="prod", project="maratron", organization="organization", dry_run=True), None)
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), None)
    pack_config = {**load_pack_config("prod"), **(overrides or {})}
    for name, (level, properties) in merge_policy_config(info, pack_config).items():
        request.policyConfig[name].enforcementLevel = LEVELS[level]
        request.policyConfig[name].properties.update(properties)
    analyzer.Configure(request, None)
    return analyzer


def verdicts(analyzer: Any, resources: list[Resource]) -> list[tuple[str, str, str, int]]:
    """(policy, resource name, message, level) of every diagnostic: each resource's Analyze, then one AnalyzeStack."""
    found = []
    for r in resources:
        request = analyzer_pb2.AnalyzeRequest(type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name,
                                              options=_options(r))
        found += [(d, r.urn) for d in analyzer.Analyze(request, None).diagnostics]
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(type=r.type, properties=_struct(r.outputs), urn=r.urn, name=r.name,
                                      options=_options(r)) for r in resources])
    found += [(d, "") for d in analyzer.AnalyzeStack(stack, None).diagnostics]
    return sorted((d.policyName, (d.urn or urn).rsplit("::", 1)[-1], d.message, d.enforcementLevel)
                  for d, urn in found)


@pytest.fixture
def restore_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("json_format", "deserialize_properties", "unknown_checking_proxy"):
        monkeypatch.setattr(sdk, name, getattr(sdk, name))
    for name in (*decode_once.PATCHED_METHODS, *decode_once.PER_REQUEST_METHODS, *decode_once.REPLACED_METHODS):
        monkeypatch.setattr(sdk._PolicyAnalyzerServicer, name, getattr(sdk._PolicyAnalyzerServicer, name))
    monkeypatch.setattr(sdk, "_maratron_decode_once", False, raising=False)


def counting(calls: list[Any], function: Callable[..., Any]) -> Callable[..., Any]:
    def count(*args: Any) -> Any:
        calls.append(args[0])
        return function(*args)
    return count


def test_the_verdicts_are_the_same_and_each_message_is_decoded_once(restore_sdk: None,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    before = verdicts(servicer(), RESOURCES)
    assert {(policy, name) for policy, name, _, _ in before} >= {
        ("rds-encrypted-with-cmk", "weak-db"), ("rds-not-public", "weak-db"), ("kms-key-rotation", "key"),
        ("rds-primary-has-replica", "db")}  # a resource rule's and a stack rule's violations
    assert any("can't be known during preview" in message for _, _, message, _ in before)

    decoded: list[Any] = []
    monkeypatch.setattr(sdk.json_format, "MessageToDict", counting(decoded, sdk.json_format.MessageToDict))
    decode_once.install()
    decode_once.install()  # idempotent: the pack's __main__ may be imported twice
    analyzer = servicer()
    decoded.clear()
    assert verdicts(analyzer, RESOURCES) == before
    # One decode per resource per request: 4 Analyze requests + the 4 resources of one AnalyzeStack request.
    assert len(decoded) == 2 * len(RESOURCES)


def test_remediate_and_configure_still_decode_afresh(restore_sdk: None) -> None:
    decode_once.install()
    memoized = sdk.deserialize_properties
    assert memoized({"a": 1}) == {"a": 1}  # outside a request: a plain call
    first, second = {"x": [1]}, {"x": [1]}
    assert memoized(first, True) is not memoized(second, True)


def test_the_sdk_still_decodes_where_decode_once_expects() -> None:
    """A pulumi-policy upgrade that moves the decode fails here: re-measure the pack (bench/) and update decode_once."""
    analyze = inspect.getsource(decode_once._SDK_ANALYZE)
    analyze_stack = inspect.getsource(decode_once._SDK_ANALYZE_STACK)
    assert "deserialized = deserialize_properties(json_format.MessageToDict(request.properties))" in analyze
    assert "deserialized = deserialize_properties(json_format.MessageToDict(r.properties))" in analyze_stack
    for source, request in ((analyze, "request"), (analyze_stack, "r")):
        assert "props = unknown_checking_proxy(deserialized)" in source
        assert f"opts = self._get_resource_options({request})" in source
        assert f"provider = self._get_provider_resource({request})" in source


def test_the_stack_analysis_restates_the_installed_sdks_and_links_each_resource_once(restore_sdk: None) -> None:
    """decode_once._analyze_stack restates pulumi-policy 1.21.0's AnalyzeStack with the resources built once per
    request: another SDK source fails here (compare the two, then update SDK_ANALYZE_STACK_SHA256), and until then
    install() keeps the SDK's own method."""
    assert decode_once.sdk_analyze_stack_sha256() == decode_once.SDK_ANALYZE_STACK_SHA256
    decode_once.install()
    assert inspect.unwrap(sdk._PolicyAnalyzerServicer.AnalyzeStack) is decode_once._analyze_stack
    built: list[Any] = []
    original = decode_once._stack_resources

    def counted(servicer: Any, request: Any) -> list[Any]:
        built.append(request)
        return original(servicer, request)

    decode_once._stack_resources = counted  # type: ignore[assignment]
    try:
        analyzer = servicer()
        stack = analyzer_pb2.AnalyzeStackRequest(resources=[
            analyzer_pb2.AnalyzerResource(type=r.type, properties=_struct(r.outputs), urn=r.urn, name=r.name,
                                          options=_options(r), parent=RESOURCES[0].urn if i else "",
                                          dependencies=[RESOURCES[0].urn] if i else [],
                                          propertyDependencies={"x": analyzer_pb2.AnalyzerPropertyDependencies(
                                              urns=[RESOURCES[0].urn, "urn:not-in-the-stack"])} if i else {})
            for i, r in enumerate(RESOURCES)])
        analyzer.AnalyzeStack(stack, None)
    finally:
        decode_once._stack_resources = original  # type: ignore[assignment]
    assert len(built) == 1  # once for every stack policy of the pack
    resources = original(analyzer, stack)
    assert [r.parent.urn if r.parent else None for r in resources] == [None, *[RESOURCES[0].urn] * 3]
    assert [[d.urn for d in r.dependencies] for r in resources] == [[], *[[RESOURCES[0].urn]] * 3]
    assert [{k: [d.urn for d in v] for k, v in r.property_dependencies.items()} for r in resources] == [
        {}, *[{"x": [RESOURCES[0].urn]}] * 3]
    assert all(r.parent is resources[0] and r.dependencies[0] is resources[0] for r in resources[1:])


def test_analyze_restates_the_installed_sdks_and_skips_rules_for_other_types(restore_sdk: None,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """decode_once._analyze restates pulumi-policy 1.21.0's Analyze (another SDK source fails here: compare, then
    update SDK_ANALYZE_SHA256) and builds a policy's arguments only for the resource types its rule acts on: for a KMS
    key, the rules of every type and of keys, not the ~120 of the pack. The verdicts are the same (the test above)."""
    assert decode_once.sdk_analyze_sha256() == decode_once.SDK_ANALYZE_SHA256
    resource_policies = [rule.policy for rule in ALL_RULES if not rule.is_stack_rule]
    assert all(hasattr(p, decode_once.RESOURCE_TYPES_ATTRIBUTE) for p in resource_policies)
    key = RESOURCES[-1]
    wanted = [p.name for p in resource_policies if p.resource_types is None or key.type in p.resource_types]
    assert 0 < len(wanted) < len(resource_policies) / 4

    def built_for(analyzer: Any) -> list[str]:
        names: list[str] = []
        create = analyzer._create_report_violation
        monkeypatch.setattr(analyzer, "_create_report_violation",
                            lambda response, name, *rest: names.append(name) or create(response, name, *rest))
        analyzer.Analyze(analyzer_pb2.AnalyzeRequest(type=key.type, properties=_struct(key.inputs), urn=key.urn,
                                                     name=key.name, options=_options(key)), None)
        return names

    assert len(built_for(servicer())) == len(resource_policies)  # the SDK: every resource policy
    decode_once.install()
    assert inspect.unwrap(sdk._PolicyAnalyzerServicer.Analyze) is decode_once._analyze
    assert built_for(servicer()) == wanted


def remediations(analyzer: Any, resources: list[Resource]) -> list[bytes]:
    return [analyzer.Remediate(analyzer_pb2.AnalyzeRequest(type=r.type, properties=_struct(r.inputs), urn=r.urn,
                                                           name=r.name, options=_options(r)), None)
            .SerializeToString(deterministic=True) for r in resources]


def test_remediate_answers_as_the_sdk_and_decodes_only_when_a_policy_remediates(
        restore_sdk: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """decode_once._remediate answers what pulumi-policy 1.21.0's Remediate answers: with no policy at the remediate
    level, the same empty response without decoding the resource; with one, the SDK's own method (here: the rule has
    no remediation, so the SDK reports it not applicable)."""
    assert decode_once.sdk_remediate_sha256() == decode_once.SDK_REMEDIATE_SHA256
    remediating = {"kms-key-rotation": "remediate"}
    before = remediations(servicer(), RESOURCES), remediations(servicer(remediating), RESOURCES)
    assert before[0] == [b""] * len(RESOURCES)
    assert all(b"Policy does not implement remediate" in response for response in before[1])

    decoded: list[Any] = []
    monkeypatch.setattr(sdk.json_format, "MessageToDict", counting(decoded, sdk.json_format.MessageToDict))
    decode_once.install()
    assert sdk._PolicyAnalyzerServicer.Remediate is decode_once._remediate
    plain, remediates = servicer(), servicer(remediating)
    decoded.clear()  # configuring decodes the policies' configs
    assert remediations(plain, RESOURCES) == before[0]
    assert decoded == []
    assert remediations(remediates, RESOURCES) == before[1]
    assert len(decoded) == len(RESOURCES)



def runtime_seen(analyzer: Any, keys: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """What one request's _configure_runtime_settings sets (every config key and value, the settings it configures)
    and what a rule then sees, in a fresh context of its own (as gRPC runs each request)."""
    calls: list[Any] = []
    set_config, configure = pulumi.runtime.set_config, pulumi.runtime.configure
    monkeypatch.setattr(pulumi.runtime, "set_config", lambda k, v: (calls.append((k, v)), set_config(k, v)))
    monkeypatch.setattr(pulumi.runtime, "configure", lambda settings: (
        calls.append({k: getattr(settings, k) for k in ("project", "stack", "dry_run", "organization")}),
        configure(settings)))

    def request() -> tuple[Any, ...]:
        analyzer._configure_runtime_settings()
        return (pulumi.get_project(), pulumi.get_stack(), pulumi.runtime.is_dry_run(), pulumi.get_organization(),
                [pulumi.runtime.get_config(k) for k in keys])
    seen = contextvars.Context().run(request)
    monkeypatch.setattr(pulumi.runtime, "set_config", set_config)
    monkeypatch.setattr(pulumi.runtime, "configure", configure)
    return seen, calls


def test_the_runtime_settings_are_set_in_every_request_as_the_sdk_sets_them(
        restore_sdk: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """decode_once._runtime_settings restates pulumi-policy 1.21.0's _configure_runtime_settings (another source
    fails here: compare them, then update SDK_CONFIGURE_RUNTIME_SHA256), parsing the environment once per
    environment: every request still sets the config and settings, and a changed environment is read."""
    assert decode_once.sdk_configure_runtime_sha256() == decode_once.SDK_CONFIGURE_RUNTIME_SHA256
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"maratron:environment": "prod", "aws:region": "us-east-1"}))
    for name, value in (("PULUMI_PROJECT", "maratron"), ("PULUMI_STACK", "prod"), ("PULUMI_DRY_RUN", "true"),
                        ("PULUMI_ORGANIZATION", "acme")):
        monkeypatch.setenv(name, value)
    keys = ["maratron:environment", "aws:region"]
    analyzer = servicer()
    before = runtime_seen(analyzer, keys, monkeypatch)
    assert before == (("maratron", "prod", True, "acme", ["prod", "us-east-1"]), [
        ("maratron:environment", "prod"), ("aws:region", "us-east-1"),
        {"project": "maratron", "stack": "prod", "dry_run": True, "organization": "acme"}])
    decode_once.install()
    assert sdk._PolicyAnalyzerServicer._configure_runtime_settings is decode_once._runtime_settings
    assert runtime_seen(analyzer, keys, monkeypatch) == before
    assert runtime_seen(analyzer, keys, monkeypatch) == before  # the prepared environment, in the next request
    monkeypatch.setenv("PULUMI_STACK", "staging")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"maratron:environment": "staging", "aws:region": "us-west-2"}))
    seen, calls = runtime_seen(analyzer, keys, monkeypatch)
    assert seen == ("maratron", "staging", True, "acme", ["staging", "us-west-2"])
    assert calls[-1] == {"project": "maratron", "stack": "staging", "dry_run": True, "organization": "acme"}


def test_stack_resources_decode_their_properties_when_first_read_as_the_sdk_decodes_them(
        restore_sdk: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """AnalyzeStack's resources decode their properties when a policy first reads them (a policy that looks at one
    type decodes only those resources), to what the SDK decodes, once."""
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(type=r.type, properties=_struct(r.outputs), urn=r.urn, name=r.name,
                                      options=_options(r)) for r in RESOURCES])
    expected = [sdk.deserialize_properties(sdk.json_format.MessageToDict(r.properties)) for r in stack.resources]
    decode_once.install()
    analyzer = servicer()
    decoded: list[Any] = []
    proxied: list[Any] = []
    monkeypatch.setattr(sdk.json_format, "MessageToDict", counting(decoded, sdk.json_format.MessageToDict))
    monkeypatch.setattr(sdk, "unknown_checking_proxy", counting(proxied, sdk.unknown_checking_proxy))
    resources = decode_once._stack_resources(analyzer, stack)
    assert [type(r) for r in resources] == [decode_once.LazyPolicyResource] * len(RESOURCES)
    assert decoded == []
    assert [r.resource_type for r in resources] == [r.type for r in RESOURCES]
    assert decoded == []
    props = [r.props for r in resources]
    assert proxied == expected  # what each proxy wraps: the SDK's decode of the resource's properties
    assert all(r.props is p for r, p in zip(resources, props, strict=True))
    assert len(decoded) == len(proxied) == len(RESOURCES)  # once each


def test_the_plans_rely_on_configure_replacing_the_levels_and_step_aside_when_it_changes(
        restore_sdk: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """decode_once._Plan is made once per enforcement-levels dict: right only while pulumi-policy 1.21.0's Configure
    assigns a new dict per request (another source fails here: re-read it, then update SDK_CONFIGURE_SHA256). With
    another Configure, install() leaves the SDK's Analyze and Remediate in place."""
    assert decode_once.sdk_configure_sha256() == decode_once.SDK_CONFIGURE_SHA256
    analyzer = servicer()
    first = analyzer._PolicyAnalyzerServicer__policy_pack_config_enforcement_level
    plan = decode_once._plan(analyzer)
    assert decode_once._plan(analyzer) is plan
    analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(), None)
    assert analyzer._PolicyAnalyzerServicer__policy_pack_config_enforcement_level is not first  # a new dict
    assert decode_once._plan(analyzer) is not plan  # so a new plan
    sdk_analyze, sdk_remediate = sdk._PolicyAnalyzerServicer.Analyze, sdk._PolicyAnalyzerServicer.Remediate
    monkeypatch.setattr(decode_once, "SDK_CONFIGURE_SHA256", "0" * 64)
    decode_once.install()
    assert sdk._PolicyAnalyzerServicer.Remediate is sdk_remediate
    assert sdk._PolicyAnalyzerServicer.Analyze is not decode_once._analyze
    assert getattr(sdk._PolicyAnalyzerServicer.Analyze, "__wrapped__", None) is sdk_analyze
