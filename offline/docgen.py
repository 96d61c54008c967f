"""Generate docs from code (`make docs`): the config reference from Pulumi.yaml, the outputs contract from
stack_outputs.py, and the policy pack's copy of the shared constants (components/constants.py). Tests keep them
current."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from offline.engine import ROOT, STACKS, available_stacks, project_schema

TARGET = ROOT / "docs" / "config-reference.md"
OUTPUTS_TARGET = ROOT / "docs" / "outputs.md"
PACK_CONSTANTS_TARGET = ROOT / "policies" / "rules" / "shared-constants.json"


def _cell(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else (value or '""')


def render() -> str:
    schema = project_schema()
    stacks = sorted(available_stacks(), key=lambda s: (STACKS.index(s) if s in STACKS else len(STACKS), s))
    per_stack = {s: (yaml.safe_load((ROOT / f"Pulumi.{s}.yaml").read_text()) or {}).get("config") or {}
                 for s in stacks}
    lines = [
        "# Configuration reference",
        "",
        "Generated from the `config:` schema in Pulumi.yaml by `make docs`; do not edit by hand.",
        "Set a value with `pulumi config set maratron:<key> <value>` (`--secret` for secrets); set list items with",
        "`--path`, e.g. `pulumi config set --path 'maratron:azNames[0]' us-east-1a`, or edit Pulumi.<stack>.yaml.",
        "Defaults are the production-grade choice; the columns on the right show what each stack file sets.",
        "",
        "| key | type | default | " + " | ".join(stacks) + " | description |",
        "|---|---|---|" + "---|" * len(stacks) + "---|",
    ]
    for key, spec in schema.items():
        kind = spec.get("type", "string")
        if kind == "array":
            kind = f"array of {spec.get('items', {}).get('type', 'string')}"
        if spec.get("secret"):
            kind += " (secret)"
        default = _cell(spec["default"]) if "default" in spec else "*required*"
        values = []
        for stack in stacks:
            value = per_stack[stack].get(f"maratron:{key}")
            values.append("" if value is None else ("*secret*" if isinstance(value, dict) else _cell(value)))
        description = str(spec.get("description", "")).replace("|", "\\|")
        lines.append(f"| `{key}` | {kind} | {default} | " + " | ".join(values) + f" | {description} |")
    return "\n".join(lines) + "\n"


def generated() -> dict[Path, str]:
    """Every generated document and its current content."""
    import stack_outputs
    from components.constants import pack_constants

    return {
        TARGET: render(),
        OUTPUTS_TARGET: stack_outputs.render_markdown(),
        PACK_CONSTANTS_TARGET: json.dumps(pack_constants(), indent=2) + "\n",
    }


def main() -> int:
    for path, text in generated().items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
