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

The rules never write to `args.props` (the proxy's only mutator); tests/policies/test_decode_once.py checks the
verdicts are the same with and without it and that the SDK still decodes where this expects (a pulumi-policy
upgrade that changes it fails there, not silently).
"""

from __future__ import annotations

import functools
import threading
import types
from collections.abc import Callable
from typing import Any

import pulumi_policy.policy as sdk

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
    for name in PATCHED_METHODS:
        setattr(servicer, name, _one_request(getattr(servicer, name)))
    sdk._maratron_decode_once = True  # type: ignore[attr-defined]
