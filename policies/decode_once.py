"""Decode each resource's properties once per Analyze/AnalyzeStack request instead of once per policy.

pulumi-policy's analyzer (pulumi_policy/policy.py, `_PolicyAnalyzerServicer.Analyze` and `.AnalyzeStack`) turns a
resource's protobuf properties into a Python dict inside its loop over policies:

    deserialized = deserialize_properties(json_format.MessageToDict(request.properties))
    props = unknown_checking_proxy(deserialized)

(and rebuilds the resource's options and provider the same way, per policy). With this pack's ~115 resource
policies that is ~115 decodes of the same message per resource: measured on prod's 456 resources, 6.5 s of the
pack's 7 s of CPU per preview, against 0.4 s in the rules themselves (the real engine pays this on every `pulumi
preview --policy-pack`). `install()` memoizes those calls by the identity of their argument, only while one of those
two requests is being handled and only for that request's thread (the server answers on a pool of threads), so every
policy sees the same read-only proxy, options and provider, built once: 7.0 s -> 1.1 s for prod. Remediate is left
alone: remediations may rewrite what they receive.

AnalyzeStack goes one step further (`_analyze_stack`): the SDK also rebuilds every PolicyResource and re-links parents
and dependencies once per stack policy, about half of what was left of the pack's CPU on prod (a whole prod analysis
2.6 s -> 1.8 s of the pack's CPU); it is built once per request now, from a restated copy of the SDK's method that an
SDK upgrade must re-approve (SDK_ANALYZE_STACK_SHA256).

The rules never write to `args.props` (the proxy's only mutator); tests/policies/test_decode_once.py checks the
verdicts are the same with and without it and that the SDK still decodes where this expects (a pulumi-policy
upgrade that changes it fails there, not silently).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import threading
import types
from collections.abc import Callable
from typing import Any

import pulumi_policy.policy as sdk
from pulumi.runtime import proto

_request = threading.local()  # .memo: {(id(function), id(argument)): (argument, result)} while a request is handled
PATCHED_METHODS = ("Analyze", "AnalyzeStack")
PER_REQUEST_METHODS = ("_get_resource_options", "_get_provider_resource")


def _memoized(function: Callable[..., Any], *, method: bool = False) -> Callable[..., Any]:
    """`function(argument)` (or, with method=True, `function(self, argument)`: the request's own servicer) memoized
    by the identity of its argument while a request is handled; any other call passes straight through."""
    arity = 2 if method else 1

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        memo: dict[tuple[int, int], tuple[Any, Any]] | None = getattr(_request, "memo", None)
        if memo is None or len(args) != arity or kwargs:  # outside a request, or another signature (Remediate's)
            return function(*args, **kwargs)
        argument = args[-1]
        key = (id(function), id(argument))
        hit = memo.get(key)
        if hit is not None and hit[0] is argument:  # the memo holds the argument: its id cannot be reused meanwhile
            return hit[1]
        result = function(*args)
        memo[key] = (argument, result)
        return result
    return call


class _JsonFormat:
    """google.protobuf.json_format as pulumi_policy.policy sees it, with MessageToDict memoized."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.MessageToDict = _memoized(module.MessageToDict)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)


def _one_request(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def handle(self: Any, request: Any, context: Any) -> Any:
        _request.memo = {}
        try:
            return method(self, request, context)
        finally:
            del _request.memo
    return handle


SDK_ANALYZE_STACK_SHA256 = "3917a008482c2387d7da37f65d889970933e8df8efc57270559e20b36be837bf"
"""The source of pulumi-policy's `_PolicyAnalyzerServicer.AnalyzeStack` that `_analyze_stack` restates (1.21.0). With
another source (an upgrade) the SDK's own method stays, still with the decode memo, and
tests/policies/test_decode_once.py fails until `_analyze_stack` has been compared with it again."""


def _stack_resources(servicer: Any, request: Any) -> list[Any]:
    """The request's resources as PolicyResources linked to their parents and dependencies: the body of the SDK's
    per-policy loop (AnalyzeStack), once."""
    intermediates = []
    for r in request.resources:
        deserialized = sdk.deserialize_properties(sdk.json_format.MessageToDict(r.properties))
        props = sdk.unknown_checking_proxy(deserialized)
        opts = servicer._get_resource_options(r)
        provider = servicer._get_provider_resource(r)
        resource = sdk.PolicyResource(r.type, props, r.urn, r.name, opts, provider, None, [], {})
        property_dependencies = {k: list(v.urns) for k, v in r.propertyDependencies.items()}
        intermediates.append((resource, r.parent, list(r.dependencies), property_dependencies))
    by_urn = {resource.urn: resource for resource, _, _, _ in intermediates}
    for resource, parent, dependencies, property_dependencies in intermediates:
        if parent is not None and parent in by_urn:
            resource.parent = by_urn[parent]
        resource.dependencies.extend(by_urn[d] for d in dependencies if d in by_urn)
        for key, urns in property_dependencies.items():
            resource.property_dependencies[key] = [by_urn[d] for d in urns if d in by_urn]
    return [resource for resource, _, _, _ in intermediates]


def _analyze_stack(self: Any, request: Any, _context: Any) -> Any:
    """pulumi-policy's AnalyzeStack with the stack's resources built and linked once per request instead of once per
    stack policy (about half of the pack's CPU on prod: ~470 resources rebuilt for each of ~45 stack policies). Each
    policy still gets a list of its own; the resources are shared read-only, as their decoded properties already
    were (the rules never write to them)."""
    self._configure_runtime_settings()
    response = proto.AnalyzeResponse()
    resources: list[Any] | None = None
    for policy in self._PolicyAnalyzerServicer__policies:
        enforcement_level = self._get_enforcement_level(policy)
        if enforcement_level == sdk.EnforcementLevel.DISABLED or not isinstance(policy, sdk.StackValidationPolicy):
            continue
        if enforcement_level == sdk.EnforcementLevel.REMEDIATE:
            enforcement_level = sdk.EnforcementLevel.MANDATORY  # stack policies cannot remediate (as the SDK)
        report_violation = self._create_report_violation(response, policy.name, policy.description,
                                                         enforcement_level, policy.severity)
        if resources is None:
            resources = _stack_resources(self, request)
        config = self._get_policy_config(policy.name)
        args = sdk.StackValidationArgs(list(resources), config, self._PolicyAnalyzerServicer__stack_tags)
        try:
            result = policy.validate(args, report_violation)
            if sdk.isawaitable(result):  # an async rule: on a loop of its own, as the SDK runs it
                loop = asyncio.new_event_loop()
                try:
                    loop.run_until_complete(result)
                finally:
                    loop.close()
        except sdk.UnknownValueError as e:
            name = self._PolicyAnalyzerServicer__policy_pack_name
            version = self._PolicyAnalyzerServicer__policy_pack_version
            response.diagnostics.append(proto.AnalyzeDiagnostic(
                policyName=policy.name,
                policyPackName=name,
                policyPackVersion=version,
                message=f"can't run policy '{policy.name}' from policy pack '{name}@v{version}' during preview: "
                        f"{e.message}",
                urn="",
                description=policy.description,
                enforcementLevel=self._map_enforcement_level(sdk.EnforcementLevel.ADVISORY),
            ))
        except sdk._NotApplicableError as e:
            response.not_applicable.append(proto.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or ""))
    return response


_SDK_ANALYZE_STACK = sdk._PolicyAnalyzerServicer.AnalyzeStack


def sdk_analyze_stack_sha256() -> str:
    """The SHA-256 of the installed SDK's AnalyzeStack source, as shipped (before any patch)."""
    return hashlib.sha256(inspect.getsource(_SDK_ANALYZE_STACK).encode()).hexdigest()


def install() -> None:
    """Patch pulumi_policy.policy in this process (the pack's __main__ calls it before constructing the PolicyPack)."""
    if getattr(sdk, "_maratron_decode_once", False):
        return
    sdk.json_format = _JsonFormat(sdk.json_format)
    sdk.deserialize_properties = _memoized(sdk.deserialize_properties)
    sdk.unknown_checking_proxy = _memoized(sdk.unknown_checking_proxy)
    servicer = sdk._PolicyAnalyzerServicer  # the SDK's analyzer class (private; see the module docstring)
    for name in PER_REQUEST_METHODS:  # the resource's options and provider, also rebuilt once per policy
        setattr(servicer, name, _memoized(getattr(servicer, name), method=True))
    if sdk_analyze_stack_sha256() == SDK_ANALYZE_STACK_SHA256:
        setattr(servicer, "AnalyzeStack", _analyze_stack)  # noqa: B010 (a method of the SDK's class)
    for name in PATCHED_METHODS:
        setattr(servicer, name, _one_request(getattr(servicer, name)))
    sdk._maratron_decode_once = True  # type: ignore[attr-defined]

