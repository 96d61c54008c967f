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
policy sees the same read-only proxy, options and provider, built once: 7.0 s -> 1.1 s for prod. Remediate's decode
is not memoized: remediations may rewrite what they receive.

AnalyzeStack goes one step further (`_analyze_stack`): the SDK also rebuilds every PolicyResource and re-links parents
and dependencies once per stack policy, about half of what was left of the pack's CPU on prod (a whole prod analysis
2.6 s -> 1.8 s of the pack's CPU); it is built once per request now, from a restated copy of the SDK's method that an
SDK upgrade must re-approve (SDK_ANALYZE_STACK_SHA256). Each resource's properties are decoded, and its options,
provider, parent and dependencies built, when a policy first reads them (LazyPolicyResource): the stack policies look
into a few types each, and decoding and linking every resource was most of a request that runs one or a few of them
(the control sweep's one-policy requests: the pack's CPU over the whole sweep 5.3 -> 3.2 s once the links were lazy
too). One difference remains, in theory only: a resource whose options or provider cannot be built fails the SDK's
whole request, while here it fails only when a policy reads them (the engine never sends such a resource, and no rule
swallows the error).

Remediate (`_remediate`): the SDK decodes the resource before its loop over policies, and the loop acts only on
resource policies whose level is `remediate`; this pack has no remediations and no config sets that level, so every
Remediate request (the engine sends one before each Analyze) decoded the resource to answer an empty response —
about as much of the pack's CPU as Analyze itself. With no policy at that level it answers the same empty response
without the decode; with one, the SDK's method runs. Pinned to the SDK's source like AnalyzeStack
(SDK_REMEDIATE_SHA256).

Analyze (`_analyze`): the SDK builds every resource policy's arguments (a report closure, options, provider, config)
for every resource before the rule can look at its type, though most rules act on one or a few types. The policies
carry the types their rule acts on (rules/_common.py), and `_analyze` skips the others, which would have returned
without a word: a whole prod check 1.15 s -> 0.85 s of the pack's CPU (SDK_ANALYZE_SHA256). Which policies are
left for a type, at which level, and whether any remediates is worked out once per configuration (`_Plan`), not per
request: Analyze ~0.5 -> 0.35 ms and Remediate ~0.1 -> 0.04 ms of the pack's CPU per resource (in-process, prod).

Every request also starts with the SDK's `_configure_runtime_settings`: it parses PULUMI_CONFIG (JSON), inspects
the signature of pulumi.runtime.Settings, then sets each config key and the runtime settings in the request's context
(gRPC runs each request in a fresh contextvars.Context, so this must happen per request) — ~0.5 ms, more than half of
a Remediate and a third of an Analyze. `_runtime_settings` parses and inspects once per environment (the five
variables the method reads) and still sets the config and settings in every request, as the SDK does
(SDK_CONFIGURE_RUNTIME_SHA256).

The rules never write to `args.props` (the proxy's only mutator); tests/policies/test_decode_once.py checks the
verdicts are the same with and without it and that the SDK still decodes where this expects (a pulumi-policy
upgrade that changes it fails there, not silently).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import os
import threading
import types
from collections.abc import Callable
from typing import Any

import pulumi.runtime
import pulumi_policy.policy as sdk
from pulumi.runtime import proto

_request = threading.local()  # .memo: {(id(function), id(argument)): (argument, result)} while a request is handled
PATCHED_METHODS = ("Analyze", "AnalyzeStack")
PER_REQUEST_METHODS = ("_get_resource_options", "_get_provider_resource")
REPLACED_METHODS = ("Remediate", "_configure_runtime_settings")
"""Methods install() may replace outright (besides AnalyzeStack, one of PATCHED_METHODS)."""


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


_UNDECODED: Any = object()


def _source_sha256(method: Callable[..., Any]) -> str:
    """The SHA-256 of an SDK method's source as shipped (captured before any patch): what a pin below compares."""
    return hashlib.sha256(inspect.getsource(method).encode()).hexdigest()


class _Lazy:
    """An attribute of LazyPolicyResource worked out from the resource's message when first read, then kept (an
    assignment, as the SDK's constructor makes, stores a value; _UNDECODED there means not worked out yet)."""

    def __init__(self, compute: Callable[[Any], Any]) -> None:
        self.compute = compute

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_lazy_{name}"

    def __get__(self, resource: Any, owner: type | None = None) -> Any:
        if resource is None:
            return self
        value = resource.__dict__.get(self.slot, _UNDECODED)
        if value is _UNDECODED:
            value = self.compute(resource)
            resource.__dict__[self.slot] = value
        return value

    def __set__(self, resource: Any, value: Any) -> None:
        resource.__dict__[self.slot] = value


class LazyPolicyResource(sdk.PolicyResource):
    """A PolicyResource built from its message as a policy reads it, then kept: its `props` decoded as the SDK decodes
    them (deserialize_properties(MessageToDict(properties)) behind an unknown_checking_proxy), its options and
    provider as the servicer builds them, its parent, dependencies and property dependencies as the request's
    resources (`by_urn`) as the SDK links them. Most stack policies read the properties of a few types only, and the
    links of fewer: a request decodes and links the resources some policy looks into, not all ~480 of prod (the whole
    decode was ~55 ms of the pack's CPU per AnalyzeStack, most of a one-policy check; after it, linking every
    resource's property dependencies was most of the rest)."""

    def __init__(self, message: Any, servicer: Any, by_urn: dict[str, Any]) -> None:
        self._message = message
        self._servicer = servicer
        self._by_urn = by_urn
        super().__init__(message.type, _UNDECODED, message.urn, message.name,  # each kept by its _Lazy
                         _UNDECODED, _UNDECODED, _UNDECODED, _UNDECODED, _UNDECODED)

    def _decode(self) -> Any:
        deserialized = sdk.deserialize_properties(sdk.json_format.MessageToDict(self._message.properties))
        return sdk.unknown_checking_proxy(deserialized)

    def _parent(self) -> Any:
        parent = self._message.parent
        return self._by_urn[parent] if parent is not None and parent in self._by_urn else None

    def _dependencies(self) -> list[Any]:
        return [self._by_urn[d] for d in self._message.dependencies if d in self._by_urn]

    def _property_dependencies(self) -> dict[str, list[Any]]:
        return {k: [self._by_urn[d] for d in v.urns if d in self._by_urn]
                for k, v in self._message.propertyDependencies.items()}

    props = _Lazy(_decode)
    opts = _Lazy(lambda self: self._servicer._get_resource_options(self._message))
    provider = _Lazy(lambda self: self._servicer._get_provider_resource(self._message))
    parent = _Lazy(_parent)
    dependencies = _Lazy(_dependencies)
    property_dependencies = _Lazy(_property_dependencies)


def _stack_resources(servicer: Any, request: Any) -> list[Any]:
    """The request's resources as PolicyResources linked to their parents and dependencies: the body of the SDK's
    per-policy loop (AnalyzeStack), once; each resource is decoded and linked as it is first read
    (LazyPolicyResource)."""
    by_urn: dict[str, Any] = {}
    resources = [LazyPolicyResource(r, servicer, by_urn) for r in request.resources]
    for resource in resources:
        by_urn[resource.urn] = resource
    return resources


def _validate(self: Any, response: Any, policy: Any, args: Any, report_violation: Any) -> None:
    """One policy's validate, answered as the SDK's Analyze and AnalyzeStack answer it: an async rule runs on a loop
    of its own, a value unknown during preview becomes an advisory diagnostic, a rule that does not apply is listed
    as not applicable."""
    try:
        result = policy.validate(args, report_violation)
        if sdk.isawaitable(result):
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
        _validate(self, response, policy, args, report_violation)
    return response


SDK_ANALYZE_SHA256 = "75db9cf8fc9d158596909b9b3f77bf48815990a6f513f2bb35728a67e4d8a515"
"""The source of pulumi-policy's `_PolicyAnalyzerServicer.Analyze` that `_analyze` restates (1.21.0); with another
source the SDK's method stays (with the decode memo), and tests/policies/test_decode_once.py fails until it is
compared again."""
RESOURCE_TYPES_ATTRIBUTE = "resource_types"
"""Set by rules/_common.py resource_rule on each policy: the resource types its validate acts on (absent: all)."""


class _Plan:
    """The servicer's resource policies at their configured levels, worked out once per configuration instead of once
    per request: Analyze and Remediate looked up each of ~120 policies' level (and its class) for every resource. A
    Configure request gives the servicer a new levels dict, and a plan is for the dict it was made from (`_plan`)."""

    def __init__(self, servicer: Any, levels: Any, policies: Any) -> None:
        self.levels = levels
        self.policies = policies
        resource = [(policy, servicer._get_enforcement_level(policy)) for policy in policies
                    if isinstance(policy, sdk.ResourceValidationPolicy)]
        self.remediates = any(level == sdk.EnforcementLevel.REMEDIATE for _policy, level in resource)
        self.active = [(policy, level) for policy, level in resource if level != sdk.EnforcementLevel.DISABLED]
        self._by_type: dict[str, list[tuple[Any, Any]]] = {}

    def for_type(self, type_: str) -> list[tuple[Any, Any]]:
        """The active resource policies, in the pack's order, less those whose rule acts on other types only (a
        policy without a validate stays: the SDK reports it not applicable to every resource)."""
        found = self._by_type.get(type_)
        if found is None:
            found = [(policy, level) for policy, level in self.active
                     if not policy.has_validation()
                     or getattr(policy, RESOURCE_TYPES_ATTRIBUTE, None) is None
                     or type_ in getattr(policy, RESOURCE_TYPES_ATTRIBUTE)]
            self._by_type[type_] = found
        return found


_SDK_CONFIGURE = sdk._PolicyAnalyzerServicer.Configure
SDK_CONFIGURE_SHA256 = "785e6599c03e67daf7049660b8bad2982ac5e5096dd92bd94c6d4cc0f36b829e"
"""The source of pulumi-policy's `_PolicyAnalyzerServicer.Configure` (1.21.0) that `_Plan` relies on: each Configure
request assigns a new enforcement-levels dict and never changes one in place, so a plan made from a dict stays right
while the servicer holds that dict. With another source `_analyze` and `_remediate` are not installed (the SDK's
Analyze and Remediate stay), and tests/policies/test_decode_once.py fails until it is re-read."""


def sdk_configure_sha256() -> str:
    return _source_sha256(_SDK_CONFIGURE)


def _plan(self: Any) -> _Plan:
    levels = self._PolicyAnalyzerServicer__policy_pack_config_enforcement_level
    policies = self._PolicyAnalyzerServicer__policies
    plan: _Plan | None = self.__dict__.get("_maratron_plan")
    if plan is None or plan.levels is not levels or plan.policies is not policies:  # (the plan holds both)
        plan = _Plan(self, levels, policies)
        self.__dict__["_maratron_plan"] = plan
    return plan


def _analyze(self: Any, request: Any, _context: Any) -> Any:
    """pulumi-policy's Analyze, skipping a resource policy whose rule acts on other resource types only (its validate
    would return at once): the SDK builds each policy's arguments (report closure, options, provider, config) for
    every resource before the rule can look at the type, ~120 policies per resource. The answer is the same: such a
    policy reports nothing and is not marked not-applicable. Which policies are left for a type, at which level, is
    worked out once per configuration (_Plan), not for every resource."""
    self._configure_runtime_settings()
    response = proto.AnalyzeResponse()
    for policy, enforcement_level in _plan(self).for_type(request.type):
        if not policy.has_validation():  # a remediation-only policy: not applicable, as the SDK reports it
            response.not_applicable.append(proto.PolicyNotApplicable(
                policy_name=policy.name, reason="Policy does not implement validate"))
            continue
        if enforcement_level == sdk.EnforcementLevel.REMEDIATE:
            enforcement_level = sdk.EnforcementLevel.MANDATORY  # as the SDK: still violated after remediation
        report_violation = self._create_report_violation(response, policy.name, policy.description,
                                                         enforcement_level, policy.severity)
        deserialized = sdk.deserialize_properties(sdk.json_format.MessageToDict(request.properties))
        props = sdk.unknown_checking_proxy(deserialized)
        opts = self._get_resource_options(request)
        provider = self._get_provider_resource(request)
        config = self._get_policy_config(policy.name)
        args = sdk.ResourceValidationArgs(request.type, props, request.urn, request.name, opts, provider, config,
                                          self._PolicyAnalyzerServicer__stack_tags)
        _validate(self, response, policy, args, report_violation)
    return response


_SDK_ANALYZE = sdk._PolicyAnalyzerServicer.Analyze
_SDK_ANALYZE_STACK = sdk._PolicyAnalyzerServicer.AnalyzeStack
_SDK_REMEDIATE = sdk._PolicyAnalyzerServicer.Remediate

SDK_REMEDIATE_SHA256 = "c4060524d4ad777f428983e213151e4a18715d39f1216a6675674dee2b6bb617"
"""The source of pulumi-policy's `_PolicyAnalyzerServicer.Remediate` (1.21.0) that `_remediate` relies on: it acts
only on a ResourceValidationPolicy at the REMEDIATE level, and with none answers an empty RemediateResponse. With
another source the SDK's method stays as it is, and tests/policies/test_decode_once.py fails until it is re-read."""


def _remediate(self: Any, request: Any, context: Any) -> Any:
    """pulumi-policy's Remediate, without decoding the resource when no policy is at the REMEDIATE level (what the
    SDK then answers after decoding it: an empty response; whether one is, _Plan knows per configuration)."""
    if _plan(self).remediates:
        return _SDK_REMEDIATE(self, request, context)
    self._configure_runtime_settings()  # as the SDK's method starts (it sets the runtime's config and settings)
    return proto.RemediateResponse()


def sdk_remediate_sha256() -> str:
    return _source_sha256(_SDK_REMEDIATE)


def sdk_analyze_sha256() -> str:
    return _source_sha256(_SDK_ANALYZE)


def sdk_analyze_stack_sha256() -> str:
    return _source_sha256(_SDK_ANALYZE_STACK)


SDK_CONFIGURE_RUNTIME_SHA256 = "da0923ff3a404f3633b701587071091c98432f5d7c70856eb8be6a6ee6c4c845"
"""The source of pulumi-policy's `_PolicyAnalyzerServicer._configure_runtime_settings` (1.21.0) that
`_runtime_settings` restates. With another source the SDK's method stays, and tests/policies/test_decode_once.py
fails until the two are compared again."""
_SDK_CONFIGURE_RUNTIME = sdk._PolicyAnalyzerServicer._configure_runtime_settings
RUNTIME_ENVIRONMENT = ("PULUMI_CONFIG", "PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_ORGANIZATION")
"""What the SDK's method reads from the environment (PULUMI_CONFIG through pulumi.runtime.get_config_env)."""
_prepared_runtime: dict[tuple[str | None, ...], tuple[dict[str, Any], dict[str, Any] | None]] = {}


def _runtime_settings(self: Any) -> None:
    """pulumi-policy's `_configure_runtime_settings`, with the parsed config and the Settings arguments worked out once
    per environment; setting them (into the request's context) still happens on every call."""
    key = tuple(os.environ.get(name) for name in RUNTIME_ENVIRONMENT)
    prepared = _prepared_runtime.get(key)
    if prepared is None:
        settings_args: dict[str, Any] | None = None
        if "PULUMI_PROJECT" in os.environ and "PULUMI_STACK" in os.environ and "PULUMI_DRY_RUN" in os.environ:
            settings_args = {
                "project": os.environ["PULUMI_PROJECT"],
                "stack": os.environ["PULUMI_STACK"],
                "dry_run": os.environ["PULUMI_DRY_RUN"] == "true",
            }
            if "organization" in inspect.signature(pulumi.runtime.Settings).parameters:
                settings_args["organization"] = os.environ.get("PULUMI_ORGANIZATION", "organization")
        prepared = (pulumi.runtime.get_config_env(), settings_args)
        if len(_prepared_runtime) > 16:  # the environment never changes in a pack process; bound it anyway
            _prepared_runtime.clear()
        _prepared_runtime[key] = prepared
    config_env, settings_args = prepared
    for k, v in config_env.items():
        pulumi.runtime.set_config(k, v)
    if settings_args is not None:
        pulumi.runtime.configure(pulumi.runtime.Settings(**settings_args))


def sdk_configure_runtime_sha256() -> str:
    return _source_sha256(_SDK_CONFIGURE_RUNTIME)


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
    plans = sdk_configure_sha256() == SDK_CONFIGURE_SHA256  # _analyze and _remediate read a _Plan
    if plans and sdk_analyze_sha256() == SDK_ANALYZE_SHA256:
        setattr(servicer, "Analyze", _analyze)  # noqa: B010 (a method of the SDK's class)
    if sdk_analyze_stack_sha256() == SDK_ANALYZE_STACK_SHA256:
        setattr(servicer, "AnalyzeStack", _analyze_stack)  # noqa: B010 (a method of the SDK's class)
    if plans and sdk_remediate_sha256() == SDK_REMEDIATE_SHA256:
        setattr(servicer, "Remediate", _remediate)  # noqa: B010 (a method of the SDK's class)
    if sdk_configure_runtime_sha256() == SDK_CONFIGURE_RUNTIME_SHA256:
        setattr(servicer, "_configure_runtime_settings", _runtime_settings)  # noqa: B010
    for name in PATCHED_METHODS:
        setattr(servicer, name, _one_request(getattr(servicer, name)))
    sdk._maratron_decode_once = True  # type: ignore[attr-defined]

