"""Fixtures in wire form (camelCase inputs as the engine sends them) and helpers to drive them through the pack."""

from __future__ import annotations

from typing import Any

from offline.engine import Resource
from offline.policy_runner import (
    PolicyPackProcess,
    PolicyVerdict,
    check_resources,
    load_pack_config,
    merge_policy_config,
)

KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
TAGS = {"project": "maratron", "environment": "prod", "owner": "platform-team", "cost-center": "maratron",
        "managed-by": "pulumi", "stack": "prod", "Name": "x"}


def resource(type_: str, name: str, inputs: dict[str, Any], *, stack: str = "prod", protect: bool = False,
             deps: dict[str, list[Resource]] | None = None, parent: str = "",
             depends_on: list[Resource] | None = None, custom_timeouts: dict[str, str] | None = None) -> Resource:
    """A resource as the engine would register it, with propertyDependencies (and explicit `depends_on`) to other
    fixtures and its custom timeouts as the program wrote them ("30m")."""
    urn = f"urn:pulumi:{stack}::maratron::{type_}::{name}"
    property_dependencies = {k: [d.urn for d in v] for k, v in (deps or {}).items()}
    explicit = {d.urn for d in depends_on or []}
    return Resource(urn=urn, type=type_, name=name, parent=parent, custom=True, inputs=inputs, outputs=dict(inputs),
                    protect=protect, property_dependencies=property_dependencies,
                    dependencies=sorted(explicit | {u for urns in property_dependencies.values() for u in urns}),
                    custom_timeouts=dict(custom_timeouts or {}))


def analyze(pack: PolicyPackProcess, resources: list[Resource], stack: str = "prod",
            pack_config: dict[str, Any] | None = None) -> PolicyVerdict:
    config = load_pack_config(stack) if pack_config is None else pack_config
    return check_resources(pack, stack, resources, config)


def only(pack: PolicyPackProcess, policy: str, stack: str = "prod") -> dict[str, Any]:
    """A pack config that runs one policy, at the level and with the properties the stack's config gives it (the
    other policies cannot change its verdict; disabling them spares the pack their validation of every resource)."""
    level, properties = merge_policy_config(pack.info, load_pack_config(stack))[policy]
    return {"all": "disabled", policy: {"enforcementLevel": level, **properties}}
