"""`make preview STACK=prod`: what `pulumi up -s prod` would create, without a cloud account or the Pulumi CLI.

Runs the real program under the mock engine (offline/engine.py), prints the resource tree grouped by component,
counts per resource type and the stack outputs, and writes a machine-readable inventory to
build/<stack>/inventory.json. Exit status: 0 when the program ran cleanly, 2 on configuration errors, 1 on any
other program error, 3 when the policy pack reports a mandatory violation (its verdicts close the output).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from offline import cost, critical_path, diagram
from offline.engine import ROOT, Resource, StackRun, available_stacks, run_stack, unwrap_secrets

BUILD_DIR = ROOT / "build"


def _flags(resource: Resource) -> str:
    flags = []
    if resource.protect:
        flags.append("protect")
    if resource.retain_on_delete:
        flags.append("retain")
    if resource.ignore_changes:
        flags.append("ignore " + ",".join(resource.ignore_changes))
    return f"  [{'; '.join(flags)}]" if flags else ""


def render_tree(run: StackRun) -> list[str]:
    """The resource tree, children under their parents, components first then custom resources."""
    children: dict[str, list[Resource]] = {}
    for resource in run.resources:
        children.setdefault(resource.parent, []).append(resource)
    lines: list[str] = []

    def walk(resource: Resource, prefix: str, last: bool, depth: int) -> None:
        branch = "" if depth == 0 else ("└─ " if last else "├─ ")
        lines.append(f"{prefix}{branch}{resource.type}  {resource.name}{_flags(resource)}")
        kids = sorted(children.get(resource.urn, []), key=lambda r: (r.custom, r.type, r.name))
        next_prefix = prefix if depth == 0 else prefix + ("   " if last else "│  ")
        for index, kid in enumerate(kids):
            walk(kid, next_prefix, index == len(kids) - 1, depth + 1)

    for root in children.get("", []):
        walk(root, "", True, 0)
    return lines


def render_counts(run: StackRun) -> list[str]:
    counts = Counter(r.type for r in run.resources if r.custom)
    width = max((len(str(n)) for n in counts.values()), default=1)
    return [f"{n:>{width}}  {t}" for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def render_outputs(run: StackRun) -> list[str]:
    lines = []
    for key in sorted(run.outputs):
        value = run.outputs[key]
        shown = "[secret]" if unwrap_secrets(value) != value else json.dumps(value)
        lines.append(f"{key}: {shown}")
    return lines


def write_inventory(run: StackRun, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run.inventory(), indent=2, sort_keys=False) + "\n")
    return path


def _section(title: str, lines: list[str]) -> str:
    body = "\n".join(f"  {line}" for line in lines) if lines else "  (none)"
    return f"\n{title}\n{body}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default="dev", help=f"stack name ({', '.join(available_stacks())})")
    parser.add_argument("--inventory", type=Path, help="where to write the JSON inventory "
                        "(default: build/<stack>/inventory.json)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value for this run, e.g. --set maratron:azCount=2")
    parser.add_argument("--diagram", action=argparse.BooleanOptionalAction, default=True,
                        help="draw build/<stack>/architecture.png and .svg (default: on)")
    args = parser.parse_args(argv)

    overrides: dict[str, Any] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key if ":" in key else f"maratron:{key}"] = value
    run = run_stack(args.stack, overrides)
    custom = [r for r in run.resources if r.custom]
    print(f"Offline preview of maratron/{args.stack}: the real program under the Pulumi mock engine, no AWS calls.")
    print(f"Config: Pulumi.yaml defaults + Pulumi.{args.stack}.yaml"
          + (f" + overrides {sorted(overrides)}" if overrides else ""))
    if run.placeholders:
        print("Secrets standing in as OFFLINE-PLACEHOLDER values (set them with `pulumi config set --secret`):")
        for key in run.placeholders:
            print(f"  - {key}")

    inventory = write_inventory(run, args.inventory or BUILD_DIR / args.stack / "inventory.json")
    if run.error is not None:
        from stack_config import ConfigError

        if isinstance(run.error, ConfigError):
            print(f"\nConfiguration errors — nothing would be created ({len(custom)} resources registered):")
            print(str(run.error))
            return 2
        print(f"\nProgram error after {len(custom)} resources:\n{run.error_details or run.error}")
        return 1

    print(_section(f"Resources ({len(custom)} to create, in {len(run.resources) - len(custom)} components "
                   "and the stack)", render_tree(run)))
    print(_section("Counts per resource type", render_counts(run)))
    print(_section("Stack outputs", render_outputs(run)))
    print(_section("Estimated monthly cost", cost.render(cost.estimate(run), detail=False)))
    print(_section("Deploy critical path", critical_path.render(critical_path.analyse(run))))
    print(f"\nInventory: {inventory.relative_to(ROOT) if inventory.is_relative_to(ROOT) else inventory}")
    if args.diagram:
        png = diagram.write(run, (args.inventory.parent if args.inventory else BUILD_DIR / args.stack))[0]
        print(f"Diagram: {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png} (and .svg); cost breakdown by "
              f"resource: python -m offline.cost {args.stack}")
    return print_policy_verdicts(run)


def print_policy_verdicts(run: StackRun) -> int:
    """The policy pack's verdicts on this run (offline/policy_runner.py); 3 when any violation is mandatory."""
    from offline.policy_runner import check_run, render_verdict, write_stack_export

    verdict = check_run(run)
    export = write_stack_export(run)
    print(_section(f"Policy verdicts (policies/, config/{run.stack}.json)", render_verdict(verdict)))
    print(f"Stack export for `pulumi policy analyze --file`: {export.relative_to(ROOT)}")
    return 3 if verdict.mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
