"""Generate docs/policy-rules.md, the policy pack's rule table, from the pack itself (`make docs`)."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from offline.engine import ROOT

OUTPUT = ROOT / "docs" / "policy-rules.md"


def short_type(type_: str) -> str:
    """`aws:lb/listener:Listener` -> `lb/listener`; `*` stays."""
    if ":" not in type_:
        return type_
    module = type_.split(":")[1]
    return module if module != "index" else type_.split(":")[0] + "/" + type_.rsplit(":", 1)[-1].lower()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _guards(rule: Any) -> str:
    lines = []
    for guard in rule.guards:
        types = ", ".join(sorted({short_type(t) for t in guard.types}))
        described = guard.describe()
        lines.append(f"{types}: `{guard.path}`" + (f" — {described}" if described else ""))
    return "<br>".join(_cell(line) for line in lines)


def render() -> str:
    # Imported by name: mypy checks the pack's rules as the top-level package `rules` (as the pack runs them).
    rules = importlib.import_module("policies.rules")
    inventory = importlib.import_module("policies.rules.inventory")

    guards = sum(len(rule.guards) for rule in rules.ALL_RULES)
    lines = [
        "# Policy pack rules (`maratron-security`)",
        "",
        "Generated from `policies/rules/` by `python -m offline.policy_docs`; do not edit by hand. Every rule is",
        "mandatory unless `policies/config/<stack>.json` says otherwise. Scope `prod` rules apply to production",
        "stacks only (environment from the stack's `maratron:environment`, else its name).",
        "",
        "**Every control the stacks set is guarded.** Each rule declares the controls it guards (the *guards*",
        "column: resource type, property path, and what it must be). The pack's own sweep",
        "(`tests/policies/test_controls.py`) weakens each of them on every prod resource that sets it and expects",
        "the rule's mandatory violation naming that resource; every other property the stacks set is classified",
        "below as not a control, with its reason. A property that is neither fails the tests: list them with",
        "`python -m offline.policy_ledger [stack]`. Parts no stack file enables (Managed Grafana, the web image built",
        "from source: `OPTIONAL_PARTS` in `offline/policy_ledger.py`) are walked and swept on a prod variant that",
        "switches them on.",
        "",
        "Adding a setting to a component therefore means one line in the pack: a `Setting(path, check)` in a",
        "`settings_rule` (the check and its own counter-example in one record, e.g.",
        "`Setting(\"imageScanningConfiguration.scanOnPush\", Is(True))`), a `Guard(path, weakening)` on the",
        "hand-written rule that checks it, or an entry in `policies/rules/inventory.py` saying why it is not one.",
        "",
        f"{len(rules.ALL_RULES)} rules guard {guards} controls. Paths: `a.b` nested, `a[*]` every list item, "
        "`a[name=x]` the item named x, `a<json>` inside a JSON document, `@protect` a resource option.",
        "",
        "| policy | area | kind | scope | checks | guards | reference | parameters |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rule in rules.ALL_RULES:
        policy = rule.policy
        summary = policy.description.split(" [", 1)[0]
        kind = "stack" if type(policy).__name__ == "StackValidationPolicy" else "resource"
        schema = policy.config_schema.properties if policy.config_schema else {}
        params = ", ".join(f"`{k}` (default `{v.get('default')}`)" for k, v in schema.items()) or ""
        lines.append(f"| `{policy.name}` | {rule.area} | {kind} | {rule.scope} | {_cell(summary)} | "
                     f"{_guards(rule)} | {rule.reference} | {params} |")
    lines += [
        "",
        "## What the pack does not guard, and why",
        "",
        "From `policies/rules/inventory.py`. An entry covers its path and everything below it. *Unguardable*",
        "entries are controls the analyzer protocol does not show a policy pack; a program test guards them.",
        "",
        "| category | resource types | property | why |",
        "|---|---|---|---|",
    ]
    for entry in sorted(inventory.LEDGER, key=lambda e: (e.category, e.types, e.path)):
        types = ", ".join(short_type(t) for t in entry.types)
        lines.append(f"| {entry.category} | {types} | `{entry.path or '(everything)'}` | {_cell(entry.reason)} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    OUTPUT.write_text(render())
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
