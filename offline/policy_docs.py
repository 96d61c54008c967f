"""Generate docs/policy-rules.md, the policy pack's rule table, from the pack itself (`make docs`)."""

from __future__ import annotations

import importlib
import sys

from offline.engine import ROOT

OUTPUT = ROOT / "docs" / "policy-rules.md"


def render() -> str:
    # Imported by name: mypy checks the pack's rules as the top-level package `rules` (as the pack runs them).
    rules = importlib.import_module("policies.rules")

    lines = [
        "# Policy pack rules (`maratron-security`)",
        "",
        "Generated from `policies/rules/` by `python -m offline.policy_docs`; do not edit by hand. Every rule is",
        "mandatory unless `policies/config/<stack>.json` says otherwise. Scope `prod` rules apply to production",
        "stacks only (environment from the stack's `maratron:environment`, else its name).",
        "",
        "| policy | area | kind | scope | checks | reference | parameters |",
        "|---|---|---|---|---|---|---|",
    ]
    for rule in rules.ALL_RULES:
        policy = rule.policy
        summary = policy.description.split(" [", 1)[0]
        kind = "stack" if type(policy).__name__ == "StackValidationPolicy" else "resource"
        schema = policy.config_schema.properties if policy.config_schema else {}
        params = ", ".join(f"`{k}` (default `{v.get('default')}`)" for k, v in schema.items()) or ""
        lines.append(f"| `{policy.name}` | {rule.area} | {kind} | {rule.scope} | {summary} | {rule.reference} | "
                     f"{params} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    OUTPUT.write_text(render())
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
