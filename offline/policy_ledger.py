"""Does the pack guard every control the stacks set? The ledger check behind `python -m offline.policy_ledger`.

Every property a stack's resources set (their inputs in wire form, JSON documents opened, plus the resource options
protect/retainOnDelete/...) must be classified exactly once:

* *guarded*: a rule of the pack declares a Guard for it (policies/rules/*.py) — the pack's sweep then weakens it on
  prod and expects that rule's mandatory violation;
* *not a control*: policies/rules/inventory.py says why (identity, wiring, capacity, ...);
* *unguardable*: a control the analyzer protocol cannot show the pack (inventory.py says where it is checked).

The stacks walked: every app stack, prod with OPTIONAL_PARTS, and every foundation stack (bootstrap/).

A new property that is none of these fails `tests/policies/test_controls.py`; this CLI lists them for a stack so that
whoever adds a resource or a setting can classify it (a Guard on a rule, or an inventory entry with its reason).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from offline.engine import Resource, StackRun, available_stacks, run_stack

OPTIONAL_PARTS: dict[str, Any] = {
    "maratron:grafanaEnabled": True, "maratron:grafanaAuthenticationProviders": ["AWS_SSO", "SAML"],
    "maratron:grafanaAdminGroupIds": ["9067c1a2b3-1f2e3d4c-5b6a-4789-8a9b-0c1d2e3f4a5b"],
    "maratron:grafanaViewerGroupIds": ["9067c1a2b3-7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"],
    "maratron:grafanaSamlMetadataUrl": "https://idp.example.com/metadata",
    "maratron:grafanaSamlAdminRoleValues": ["admin"], "maratron:grafanaSamlEditorRoleValues": ["editor"],
    "maratron:webBuildContext": "tests/fixtures/app", "maratron:webImage": ""}
"""Config that switches on the parts no stack file enables (Managed Grafana, with Identity Center and SAML sign-in;
the web image built from source by the docker provider instead of a pushed one):
prod with these is walked too, so their settings are classified like every other, and the pack's sweep runs on it
(tests/policies/test_controls.py)."""
OPTION_NAMES = ("protect", "retainOnDelete", "deleteBeforeReplace", "ignoreChanges", "replaceOnChanges",
                "additionalSecretOutputs", "customTimeouts", "deletedWith")


def foundation_runs() -> list[StackRun]:
    """Every foundation stack (bootstrap/Pulumi.<stack>.yaml) run offline: the ECR repositories, registry
    replication and scanning, the OIDC provider and the CI roles exist only there, and we ship them too."""
    from offline.foundation import bootstrap_stacks, run_bootstrap

    return [run_bootstrap(stack) for stack in bootstrap_stacks()]


def pack_modules() -> tuple[Any, Any, Any]:
    """The pack's rules, ledger and control helpers, imported by name (the pack is its own top-level package when the
    engine runs it; mypy checks it as such)."""
    return (importlib.import_module("policies.rules"), importlib.import_module("policies.rules.inventory"),
            importlib.import_module("policies.rules._controls"))


@dataclass(frozen=True)
class Entry:
    """One classification: a guard of a rule, or an inventory entry (not a control / unguardable)."""

    kind: str
    """"guard", "not-a-control" or "unguardable"."""
    types: tuple[str, ...]
    path: str
    label: str
    """The guarding policy, or the category."""
    reason: str = ""

    def covers_type(self, type_: str, any_type: str) -> bool:
        return any_type in self.types or type_ in self.types


def entries() -> list[Entry]:
    rules, inventory, _controls = pack_modules()
    out = [Entry("guard", guard.types, guard.path, rule.name, guard.describe())
           for rule in rules.ALL_RULES for guard in rule.guards]
    out += [Entry(item.kind, tuple(item.types), item.path, item.category, item.reason) for item in inventory.LEDGER]
    return out


def set_paths(resource: Resource) -> Iterator[str]:
    """Every property path the resource sets: input leaves, then the options that are set (`@protect`)."""
    _rules, _inventory, controls = pack_modules()
    yield from controls.leaf_paths(resource.inputs)
    for option, value in resource.options().items():
        if value:
            yield f"@{option}"


def _entry_path(path: str) -> str:
    """A leaf path as a ledger entry names it: a list of scalars by the list (`command`, not `command[*]`)."""
    return path[:-3] if path.endswith("[*]") else path


@dataclass
class LedgerReport:
    unclassified: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """(type, path) -> URNs that set it, for properties no entry classifies."""
    conflicts: list[str] = field(default_factory=list)
    """Properties that a guard and an inventory entry (or two inventory entries) both claim at the same depth."""
    stale: list[Entry] = field(default_factory=list)
    """Entries for a type the stacks have that cover nothing any stack sets."""
    classified: dict[tuple[str, str], Entry] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.unclassified or self.conflicts or self.stale)

    def lines(self) -> list[str]:
        out = []
        if self.unclassified:
            out.append(f"{len(self.unclassified)} properties no rule guards and the inventory does not classify "
                       "(add a Guard to the rule that checks it, or an entry with its reason to "
                       "policies/rules/inventory.py):")
            out += [f"  {type_}  {path}   (e.g. {urns[0]})"
                    for (type_, path), urns in sorted(self.unclassified.items())]
            categories = ", ".join(pack_modules()[1].CATEGORIES)
            out.append("  each is a control (a Guard on the rule that checks it, or a new rule) or not: then paste "
                       f"its line into LEDGER with a category ({categories}) and the reason:")
            out += [f"    N({type_!r}, {_entry_path(path)!r}, \"<category>\", \"<why>\"),"
                    for type_, path in sorted({(t, _entry_path(p)) for t, p in self.unclassified})]
        if self.conflicts:
            out.append("classified twice at the same depth:")
            out += [f"  {c}" for c in self.conflicts]
        if self.stale:
            out.append("entries that cover nothing the stacks set (remove or correct them):")
            out += [f"  [{e.kind}] {', '.join(e.types)}  {e.path}" for e in self.stale]
        return out


def classify(runs: Iterable[StackRun], all_entries: list[Entry] | None = None) -> LedgerReport:
    _rules, _inventory, controls = pack_modules()
    all_entries = entries() if all_entries is None else all_entries
    # The deepest path wins; at equal depth an entry naming the type wins over one for every type (ANY_TYPE).
    patterns = [(entry, controls.classification_pattern(entry.path),
                 (controls.specificity(entry.path), controls.ANY_TYPE not in entry.types)) for entry in all_entries]
    report = LedgerReport()
    seen: dict[tuple[str, str], list[str]] = defaultdict(list)
    for run in runs:
        for resource in run.resources:
            if not resource.custom or resource.type.startswith("pulumi:"):
                continue
            for path in set_paths(resource):
                seen[(resource.type, path)].append(resource.urn)
    used: set[int] = set()
    types_seen = {type_ for type_, _path in seen}
    # The entries each type can match (its own and ANY_TYPE's), in ledger order: a (type, path) is tried against
    # those only, not against every entry of every type.
    by_type: dict[str, list[int]] = defaultdict(list)
    for index, (entry, _pattern, _depth) in enumerate(patterns):
        for type_ in set(entry.types):
            by_type[type_].append(index)
    candidates = {type_: sorted({*by_type.get(type_, ()), *by_type.get(controls.ANY_TYPE, ())})
                  for type_ in types_seen}
    for (type_, path), urns in sorted(seen.items()):
        matches = [(entry, depth, index) for index in candidates[type_]
                   for entry, pattern, depth in (patterns[index],)
                   if entry.covers_type(type_, controls.ANY_TYPE) and pattern.match(path)]
        if not matches:
            report.unclassified[(type_, path)] = urns
            continue
        deepest = max(depth for _entry, depth, _index in matches)
        winners = [(entry, index) for entry, depth, index in matches if depth == deepest]
        used.update(index for _entry, index in winners)
        kinds = {entry.kind for entry, _index in winners}
        if len(kinds) > 1 or (kinds != {"guard"} and len(winners) > 1):
            report.conflicts.append(f"{type_} {path}: " + "; ".join(f"{e.kind} {e.path} ({e.label})"
                                                                     for e, _i in winners))
        report.classified[(type_, path)] = winners[0][0]
    for index, (entry, _pattern, _depth) in enumerate(patterns):
        relevant = controls.ANY_TYPE in entry.types or any(t in types_seen for t in entry.types)
        if relevant and index not in used and entry.kind != "guard":
            report.stale.append(entry)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", help=f"stacks to walk (default: {', '.join(available_stacks())}, "
                                                  "prod with OPTIONAL_PARTS on, and every foundation stack)")
    args = parser.parse_args(argv)
    runs = [run_stack(stack) for stack in (args.stacks or available_stacks())]
    if not args.stacks:
        runs += [run_stack("prod", OPTIONAL_PARTS), *foundation_runs()]
    failed = [run for run in runs if not run.ok]
    if failed:
        print("\n".join(f"{run.stack}: the program failed: {run.error}" for run in failed))
        return 2
    report = classify(runs)
    guarded = sum(1 for e in report.classified.values() if e.kind == "guard")
    print(f"{len(report.classified) + len(report.unclassified)} (type, property) pairs set: {guarded} guarded, "
          f"{len(report.classified) - guarded} classified as not a control or unguardable, "
          f"{len(report.unclassified)} unclassified")
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
