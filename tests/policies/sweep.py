"""The pack's own sweep: weaken each control a rule guards on the prod run, and say what the pack must answer.

For a resource rule, every prod resource that sets the guarded path (and matches the guard's `where`) is weakened on
its own — each occurrence separately for `each` guards (every container, every statement) — and analyzed alone
(Analyze reports on the analyzed resource only, so the verdict is attributable). For a stack rule, all those
resources are weakened (or dropped) together in one AnalyzeStack over the whole prod stack, and the violation must
name each of them, or the resource each one's `blame` property depends on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from offline.engine import Resource, StackRun
from policies.rules._common import Rule
from policies.rules._controls import ANY_TYPE, Detach, Guard, Relink, To, holds, parse


@dataclass
class Case:
    label: str
    weakened: list[Resource]
    """The resources as weakened (empty for a dropped resource)."""
    expected: list[str]
    """URNs the rule's mandatory violation must name."""
    resources: list[Resource]
    """The whole stack with the weakening applied (what AnalyzeStack sees)."""


class GuardError(AssertionError):
    """The guard does not fit the stack (its path is missing, or its weakening changes nothing)."""


OPTIONS = {"@protect": "protect", "@retainOnDelete": "retain_on_delete", "@customTimeouts": "custom_timeouts",
           "@ignoreChanges": "ignore_changes", "@deleteBeforeReplace": "delete_before_replace",
           "@dependencies": "dependencies"}
"""Guard paths that name a resource option (or the explicit dependencies) instead of an input."""


def _sets(resource: Resource, guard: Guard) -> bool:
    if guard.path.startswith("@"):
        return bool(getattr(resource, OPTIONS[guard.path]))
    return bool(guard.occurrences(resource.inputs))


def targets(run: StackRun, guard: Guard) -> list[Resource] | None:
    """The prod resources the guard weakens; None when the stack has no resource of its types (or none matching its
    `where`) yet, so the guard switches on by itself when they land. A guard whose path none of them sets fails."""
    candidates = [r for r in run.resources
                  if r.custom and (r.type in guard.types or (ANY_TYPE in guard.types and _sets(r, guard)))]
    matching = [r for r in candidates if holds(guard.where, r.inputs)]
    if not matching:
        return None
    if guard.absent:
        found = [r for r in matching if not _sets(r, guard)]
        if not found:
            raise GuardError(f"every {'/'.join(guard.types)} of prod sets {guard.path}: the guard expects it absent")
        return found
    found = [r for r in matching if _sets(r, guard)]
    if not found:
        raise GuardError(f"no {'/'.join(guard.types)} of prod sets {guard.path}: update the guard "
                         f"({[r.urn for r in matching][:3]})")
    return found


def _relink(run: StackRun, resource: Resource, weakening: Relink) -> Resource:
    target = next((r for r in run.resources if r.type == weakening.type and holds(weakening.where, r.inputs)), None)
    if target is None:
        raise GuardError(f"no {weakening.type} matching {weakening.where} to point {weakening.prop} at")
    target_id = target.outputs.get("id") or target.id
    value = [target_id] if isinstance(resource.inputs.get(weakening.prop), list) else target_id
    inputs = {**resource.inputs, weakening.prop: value}
    return dataclasses.replace(resource, inputs=inputs, outputs={**resource.outputs, weakening.prop: value},
                               property_dependencies={**resource.property_dependencies, weakening.prop: [target.urn]})


def _detach(run: StackRun, resources: dict[str, Resource], client: Resource, weakening: Detach) -> None:
    """Remove, in `resources` (URN -> resource, updated in place), every edge from the client and from what it waits
    for to the resources the weakening names."""
    servers = {r.urn for r in run.resources
               if r.type == weakening.type and holds(weakening.where, r.inputs) and r.urn != client.urn}
    pending, seen = [client.urn], set()
    while pending:
        urn = pending.pop()
        if urn in seen or urn not in resources:
            continue
        seen.add(urn)
        current = resources[urn]
        edges = [*current.dependencies, *(u for us in current.property_dependencies.values() for u in us)]
        resources[urn] = dataclasses.replace(
            current, dependencies=[u for u in current.dependencies if u not in servers],
            property_dependencies={k: [u for u in us if u not in servers]
                                   for k, us in current.property_dependencies.items()})
        pending += [u for u in edges if u not in servers]


def _weaken(resource: Resource, guard: Guard, occurrences: list[tuple[Any, ...]],
            run: StackRun | None = None) -> Resource:
    if isinstance(guard.weaken, Relink):
        assert run is not None
        return _relink(run, resource, guard.weaken)
    if guard.path.startswith("@"):
        option = OPTIONS[guard.path]
        value = guard.weaken.apply({"value": getattr(resource, option)}, [("value",)])["value"]
        changed = dataclasses.replace(resource, **{option: value})
    elif guard.absent:
        assert isinstance(guard.weaken, To) and "." not in guard.path, "an absent control is a top-level input set"
        changed = dataclasses.replace(resource, inputs={**resource.inputs, guard.path: guard.weaken.value},
                                      outputs={**resource.outputs, guard.path: guard.weaken.value})
    else:
        inputs = guard.weaken.apply(dict(resource.inputs), occurrences)
        removed = set(resource.inputs) - set(inputs)
        outputs = {k: v for k, v in {**resource.outputs, **inputs}.items() if k not in removed}
        dependencies = dict(resource.property_dependencies)
        if guard.unlink:
            dependencies.pop(str(parse(guard.path)[0][1]), None)
        changed = dataclasses.replace(resource, inputs=inputs, outputs=outputs, property_dependencies=dependencies)
        if changed.inputs == resource.inputs and changed.property_dependencies == resource.property_dependencies:
            raise GuardError(f"weakening {guard.path} ({guard.weaken.describe()}) changes nothing on {resource.urn}")
    return changed


def _blamed(resource: Resource, guard: Guard) -> list[str]:
    if not guard.blame:
        return [resource.urn]
    urns = resource.property_dependencies.get(guard.blame, [])
    if not urns:
        raise GuardError(f"{resource.urn} has no dependency in {guard.blame} to blame")
    return list(urns)


def cases(run: StackRun, rule: Rule, guard: Guard) -> list[Case] | None:
    found = targets(run, guard)
    if found is None:
        return None
    if not rule.is_stack_rule:
        out = []
        for resource in found:
            occurrences = [] if guard.path.startswith("@") or guard.absent else [
                f.at for f in guard.occurrences(resource.inputs)]
            groups = [[o] for o in occurrences] if guard.each else [occurrences]
            for group in groups:
                changed = _weaken(resource, guard, group, run)
                label = resource.urn + (f" at {group[0]}" if guard.each else "")
                out.append(Case(label, [changed], [resource.urn], []))
        return out
    if guard.each:
        raise GuardError(f"{rule.name}: a stack rule weakens all its resources at once; `each` means nothing there")
    if isinstance(guard.weaken, Detach):
        stack = {r.urn: r for r in run.resources}
        for resource in found:
            _detach(run, stack, resource, guard.weaken)
        weakened = [stack[r.urn] for r in found]
        return [Case(f"{len(found)} resource(s) detached: {', '.join(r.name for r in found)}", weakened,
                     sorted({u for r in found for u in _blamed(r, guard)}), [stack[r.urn] for r in run.resources])]
    replaced: dict[str, Resource | None] = {}
    expected: list[str] = []
    for resource in found:
        expected += _blamed(resource, guard)
        if guard.weaken.drops_resource:
            replaced[resource.urn] = None
        else:
            occurrences = [] if guard.path.startswith("@") or guard.absent else [
                f.at for f in guard.occurrences(resource.inputs)]
            replaced[resource.urn] = _weaken(resource, guard, occurrences, run)
    resources = [replaced.get(r.urn, r) for r in run.resources if replaced.get(r.urn, r) is not None]
    weakened = [r for r in replaced.values() if r is not None]
    return [Case(f"{len(found)} resource(s): {', '.join(r.name for r in found)}", weakened, sorted(set(expected)),
                 [r for r in resources if r is not None])]
