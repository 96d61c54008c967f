"""policies/decode_once.py: the pack decodes each resource once per request, and says exactly what it said before.

The pack's analyzer runs in-process here (the SDK's own servicer class, called as the gRPC server calls it), first as
pulumi-policy ships it, then with decode_once installed; monkeypatch puts the SDK back afterwards.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

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


def servicer() -> Any:
    """The SDK's analyzer for this pack, configured as the engine configures it for prod."""
    analyzer = sdk._PolicyAnalyzerServicer(
        "maratron-security", "0.0.1", [rule.policy for rule in ALL_RULES], sdk.EnforcementLevel.MANDATORY,
        None, "test", None, None, "aws", None, None)
    analyzer.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
        stack="prod", project="maratron", organization="organization", dry_run=True), None)
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), None)
    for name, (level, properties) in merge_policy_config(info, load_pack_config("prod")).items():
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
    for name in (*decode_once.PATCHED_METHODS, *decode_once.PER_REQUEST_METHODS):
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
    analyze = inspect.getsource(inspect.unwrap(sdk._PolicyAnalyzerServicer.Analyze))
    analyze_stack = inspect.getsource(inspect.unwrap(sdk._PolicyAnalyzerServicer.AnalyzeStack))
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
                                          dependencies=[RESOURCES[0].urn] if i else [])
            for i, r in enumerate(RESOURCES)])
        analyzer.AnalyzeStack(stack, None)
    finally:
        decode_once._stack_resources = original  # type: ignore[assignment]
    assert len(built) == 1  # once for every stack policy of the pack
    resources = original(analyzer, stack)
    assert [r.parent.urn if r.parent else None for r in resources] == [None, *[RESOURCES[0].urn] * 3]
    assert [[d.urn for d in r.dependencies] for r in resources] == [[], *[[RESOURCES[0].urn]] * 3]
