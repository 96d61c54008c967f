"""Helpers every rule module shares: rule constructors, environment awareness, value coercion, policy documents.

Properties arrive as the engine sends them: camelCase input names, integers as floats (22 -> 22.0), secrets already
unwrapped by pulumi_policy, and unknown values (preview) behind a proxy that raises when read — a rule that reads
an unknown value is reported by the pack as "cannot run during preview", never as a pass.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    proxy,
)

from ._controls import Guard, Setting

SHARED_CONSTANTS_FILE = Path(__file__).with_name("shared-constants.json")
SHARED: dict[str, Any] = json.loads(SHARED_CONSTANTS_FILE.read_text())
"""Facts the pack shares with the program and ops/verify.py (project, environments, TLS policies, required tags, ...).

A generated copy of components/constants.py (`make docs`; a test keeps it current): the pack stays self-contained
for `pulumi policy publish` and for the engine, which runs it with cwd=policies/."""
PROJECT: str = SHARED["project"]
# The engine's unknown-value sentinels, as pulumi_policy defines them (it raises on reading one through its proxy).
UNKNOWN_SENTINELS = frozenset({
    proxy.UNKNOWN_BOOLEAN_VALUE, proxy.UNKNOWN_NUMBER_VALUE, proxy.UNKNOWN_STRING_VALUE, proxy.UNKNOWN_ARRAY_VALUE,
    proxy.UNKNOWN_ASSET_VALUE, proxy.UNKNOWN_ARCHIVE_VALUE, proxy.UNKNOWN_OBJECT_VALUE,
})
ENVIRONMENTS: tuple[str, ...] = tuple(SHARED["environments"])


def stack_of(urn: str) -> str:
    """The stack segment of a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`)."""
    head = urn.split("::", 1)[0]
    return head.split(":", 2)[2] if head.count(":") >= 2 else ""


def project_of(urn: str) -> str:
    """The project segment of a URN."""
    parts = urn.split("::")
    return parts[1] if len(parts) > 2 else ""


BOOTSTRAP_PROJECT: str = SHARED["bootstrapProject"]
LOG_RETENTION_DAYS: int = SHARED["logRetentionDays"]
"""The stack's default log retention (logRetentionDays): the log-group-retention rule's default minimum."""


def environment(urn: str) -> str:
    """dev, staging or prod for the stack a resource belongs to.

    The account foundation (the bootstrap project) is always prod: every environment stands on it. Otherwise the
    stack's own config (`maratron:environment`, which the engine hands the pack in PULUMI_CONFIG) decides when
    the pack serves that stack; otherwise the stack name does (`prod`, `acme-prod`, `staging-eu`, `dev`...). A stack
    whose name says nothing counts as prod: secure by default, a dev stack opts out by saying it is one.
    """
    if project_of(urn) == BOOTSTRAP_PROJECT:
        return "prod"
    stack = stack_of(urn)
    if stack and os.environ.get("PULUMI_STACK") == stack:
        try:
            configured = json.loads(os.environ.get("PULUMI_CONFIG") or "{}").get(f"{PROJECT}:environment")
        except ValueError:
            configured = None
        if configured in ENVIRONMENTS:
            return str(configured)
    words = stack.lower().replace("_", "-").replace(".", "-").split("-")
    for env, aliases in (("dev", {"dev", "development", "sandbox", "test"}), ("staging", {"staging", "stage", "stg"})):
        if aliases & set(words):
            return env
    return "prod"


def is_prod(urn: str) -> bool:
    return environment(urn) == "prod"


def number(value: Any, default: float = 0) -> float:
    """A numeric property (the wire carries doubles; tolerate strings the provider would coerce)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def document(value: Any) -> Any:
    """A JSON document input (IAM/KMS/S3 policies, containerDefinitions) as data; None when absent or invalid."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return plain(value)


def plain(value: Any) -> Any:
    """Copy a (proxied) property value into plain dicts and lists."""
    if isinstance(value, Mapping):
        return {k: plain(value[k]) for k in value}
    if isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and hasattr(value, "__getitem__")
                                           and not isinstance(value, (str, bytes))):
        return [plain(value[i]) for i in range(len(value))]
    return value


def known(value: Any) -> Any:
    """The value with every unknown (preview) part left out, never raising: for rules where an unknown cannot
    matter (an unknown input is computed, so it cannot be a literal someone typed)."""
    if isinstance(value, Mapping) or (hasattr(value, "__getitem__") and hasattr(value, "__len__")
                                      and not isinstance(value, (str, bytes))):
        with contextlib.suppress(KeyError, IndexError, TypeError):
            value = value["__target"]  # pulumi_policy's unknown-checking proxies hold the raw value here
    if isinstance(value, Mapping):
        return {k: known(v) for k, v in value.items() if not is_unknown(v)}
    if isinstance(value, (list, tuple)):
        return [known(v) for v in value if not is_unknown(v)]
    return value


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, Mapping)):
        return [value]
    return list(plain(value))


def statements(policy: Any) -> Iterator[dict[str, Any]]:
    doc = document(policy)
    if not isinstance(doc, dict):
        return
    for statement in as_list(doc.get("Statement")):
        if isinstance(statement, dict):
            yield statement


def config_value(args: ResourceValidationArgs | StackValidationArgs, key: str, default: Any) -> Any:
    config = args.get_config() or {}
    return config.get(key, default)


# --- rule constructors ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """What a rule module exports: the pack's policy plus metadata the docs table and the pack's sweep use."""

    policy: ResourceValidationPolicy | StackValidationPolicy
    area: str
    reference: str
    scope: str
    guards: tuple[Guard, ...] = ()
    """The controls the rule guards: the sweep weakens each one on the prod stack and expects this rule to fail."""

    @property
    def name(self) -> str:
        return str(self.policy.name)

    @property
    def is_stack_rule(self) -> bool:
        return isinstance(self.policy, StackValidationPolicy)


def _describe(summary: str, reference: str, scope: str) -> str:
    return f"{summary} [{reference}]" + ("" if scope == "all" else f" (applies to {scope} stacks)")


ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


def resource_rule(name: str, *, area: str, types: Iterable[str] | None, summary: str, reference: str,
                  check: ResourceCheck, prod_only: bool = False,
                  schema: Mapping[str, Mapping[str, Any]] | None = None, guards: Iterable[Guard] = ()) -> Rule:
    """A per-resource rule for the given types (None: every resource); prod_only rules skip dev and staging.
    `guards` are the controls it guards (types default to the rule's)."""
    wanted = None if types is None else frozenset(types)
    scope = "prod" if prod_only else "all"

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if wanted is not None and args.resource_type not in wanted:
            return
        if prod_only and not is_prod(args.urn):
            return
        check(args, report)

    policy = ResourceValidationPolicy(
        name=name, description=_describe(summary, reference, scope), validate=validate,
        config_schema=PolicyConfigSchema(properties={k: dict(v) for k, v in schema.items()}) if schema else None,
    )
    # What validate acts on, for the analyzer to skip the rest without building their arguments (decode_once.py).
    policy.resource_types = wanted  # type: ignore[attr-defined]
    return Rule(policy, area, reference, scope, tuple(g.with_types(sorted(wanted or ())) for g in guards))


def stack_rule(name: str, *, area: str, summary: str, reference: str, check: StackCheck,
               prod_only: bool = False, schema: Mapping[str, Mapping[str, Any]] | None = None,
               guards: Iterable[Guard] = ()) -> Rule:
    """A rule over the whole stack; its guards name their resource types."""
    scope = "prod" if prod_only else "all"

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        if not args.resources:
            return
        if prod_only and not is_prod(args.resources[0].urn):
            return
        check(args, report)

    policy = StackValidationPolicy(
        name=name, description=_describe(summary, reference, scope), validate=validate,
        config_schema=PolicyConfigSchema(properties={k: dict(v) for k, v in schema.items()}) if schema else None,
    )
    return Rule(policy, area, reference, scope, tuple(g.with_types(()) for g in guards))


def settings_rule(name: str, *, area: str, types: Iterable[str], summary: str, reference: str,
                  settings: Iterable[Setting], prod_only: bool = False,
                  schema: Mapping[str, Mapping[str, Any]] | None = None, guards: Iterable[Guard] = ()) -> Rule:
    """A declarative per-resource rule: every Setting must hold; each Setting is also a guard (its own weakening)."""
    declared = tuple(settings)

    def check(args: ResourceValidationArgs, report: ReportViolation) -> None:
        config = args.get_config() or {}
        for setting in declared:
            for problem in setting.problems(args.resource_type, args.props, config):
                report(problem, None)

    own = [s.guard() for s in declared if s.guarded] + [g for s in declared for g in s.extra_guards]
    return resource_rule(name, area=area, types=types, summary=summary, reference=reference, check=check,
                         prod_only=prod_only, schema=schema, guards=[*own, *guards])


# --- stack helpers ----------------------------------------------------------------------------------------------------

def of_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def linked(resource: PolicyResource, prop: str) -> list[PolicyResource]:
    """Resources an input property was computed from (the engine's propertyDependencies)."""
    return list((resource.property_dependencies or {}).get(prop, []))


def links_to(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    return any(dep.urn == target.urn for dep in linked(resource, prop))


def transitive_dependencies(resource: PolicyResource, resources: Iterable[PolicyResource]) -> set[str]:
    """URNs of everything `resource` waits for, directly or through what it waits for (the engine creates it after
    all of them): explicit dependencies and the resources its inputs were computed from."""
    by_urn = {r.urn: r for r in resources}
    seen: set[str] = set()
    pending = [resource]
    while pending:
        current = pending.pop()
        direct = list(current.dependencies or [])
        for deps in (current.property_dependencies or {}).values():
            direct.extend(deps)
        for dep in direct:
            if dep.urn not in seen:
                seen.add(dep.urn)
                pending.append(by_urn.get(dep.urn, dep))
    return seen


# Types whose `tags` may identify a role, kept here so area modules agree.
LOAD_BALANCER_TYPES = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENER_TYPES = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
