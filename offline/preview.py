"""`make preview STACK=prod`: what `pulumi up -s prod` would create, without a cloud account or the Pulumi CLI.

Runs the real program under the mock engine (offline/engine.py), prints the resource tree grouped by component,
counts per resource type, the stack outputs, cost, deploy time and the policy verdicts, and writes
build/<stack>/inventory.json, stack-export.json and architecture.mmd — byte-identical across runs of one commit,
secrets redacted. A run with `--set` writes to build/<stack>+overrides-<hash>/ instead. Exit status: 0 when the
program ran cleanly, 2 on bad arguments (one line on stderr) or configuration errors (every problem at once, on
stderr), 1 on any other program error (on stderr; neither error writes a file), 3 when the policy pack reports a
mandatory violation (its verdicts close the output). A reader that closes the pipe early cuts the printout, not the
run (offline/closed_pipe.py): the status is the run's.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from offline import closed_pipe, cost, critical_path, diagram, runtime_report
from offline.engine import PROJECT, ROOT, Resource, StackRun, available_stacks, run_stack, unwrap_secrets

BUILD_DIR = ROOT / "build"
DEFAULT_STACK = "dev"


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
        shown = "[secret]" if unwrap_secrets(value) != value else json.dumps(run.redacted(value))
        lines.append(f"{key}: {shown}")
    return lines


def write_inventory(run: StackRun, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run.inventory(), indent=2, sort_keys=False) + "\n")
    return path


def _section(title: str, lines: list[str]) -> str:
    body = "\n".join(f"  {line}" for line in lines) if lines else "  (none)"
    return f"\n{title}\n{body}"


class UsageError(ValueError):
    """Bad command-line input: printed as one line on stderr, exit status 2."""


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`--set KEY=VALUE` items as config overrides: short keys get the project prefix; a value that opens a YAML
    flow list or map (`[us-east-1a, us-east-1b]`, `{a: 1}`) is read as YAML, like the same value in a stack file;
    anything else is the text as given (`--set hostedZoneId=` sets it to ""). A list or map that is not valid YAML
    stays text, so the configuration check reports it together with every other bad value. Items without `=` are
    refused, all of them in one message."""
    overrides: dict[str, Any] = {}
    malformed: list[str] = []
    for item in items:
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or not key:
            malformed.append(repr(item))
            continue
        if value.lstrip().startswith(("[", "{")):
            with contextlib.suppress(yaml.YAMLError):
                value = yaml.safe_load(value)
        overrides[key if ":" in key else f"{PROJECT}:{key}"] = value
    if malformed:
        raise UsageError(f"--set {', '.join(malformed)}: expected KEY=VALUE, e.g. --set azCount=2 "
                         "or --set 'azNames=[us-east-1a, us-east-1b]'")
    return overrides


def output_directory(stack: str, overrides: dict[str, Any], secret_keys: set[str]) -> Path:
    """build/<stack>/ for the stack as committed; build/<stack>+overrides-<hash>/ for a run with --set, so an
    experiment never overwrites (or passes for) the stack's own files. The hash covers the keys and the values of
    non-secret keys (never a secret's value)."""
    if not overrides:
        return BUILD_DIR / stack
    described = {k: ("[secret]" if k in secret_keys else v) for k, v in overrides.items()}
    digest = hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return BUILD_DIR / f"{stack}+overrides-{digest}"


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    """Run the preview; bad input and a closed output pipe end with one line on stderr, never a traceback."""
    with closed_pipe.report("preview"):
        try:
            return _main(argv)
        except UsageError as error:
            print(f"preview: {error}", file=sys.stderr)
            return 2


def _main(argv: list[str] | None) -> int:
    stacks = available_stacks()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", help=f"stack name ({', '.join(stacks)}; default {DEFAULT_STACK})")
    parser.add_argument("--inventory", type=Path, help="where to write the JSON inventory "
                        "(default: build/<stack>/inventory.json; the other files go beside it)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value for this run, e.g. --set azCount=2 "
                             "--set 'azNames=[us-east-1a, us-east-1b]' (files go to build/<stack>+overrides-<hash>/)")
    parser.add_argument("--diagram", action=argparse.BooleanOptionalAction, default=True,
                        help="write the architecture diagram, build/<stack>/architecture.mmd (default: on)")
    args = parser.parse_args(argv)
    stack = args.stack or DEFAULT_STACK
    if stack not in stacks:
        raise UsageError(f"unknown stack {stack!r}: stacks here are {', '.join(stacks)} (Pulumi.<stack>.yaml)")
    overrides = parse_overrides(args.set)
    if args.stack is None:
        print(f"No stack given: previewing {stack} (choose with `make preview STACK=<{'|'.join(stacks)}>`).")
    print(f"Offline preview of maratron/{stack}: the real program under the Pulumi mock engine, no AWS calls.")
    # Shown before the run, which takes a few seconds (and a reader gone already ends it here).
    print(f"Config: Pulumi.yaml defaults + Pulumi.{stack}.yaml"
          + (f" + overrides {sorted(overrides)}" if overrides else ""), flush=True)
    run = run_stack(stack, overrides)
    directory = args.inventory.parent if args.inventory else output_directory(stack, overrides,
                                                                              set(run.secret_keys))
    custom = [r for r in run.resources if r.custom]
    if run.placeholders:
        print("Secrets standing in as OFFLINE-PLACEHOLDER values (set them with `pulumi config set --secret`):")
        for key in run.placeholders:
            print(f"  - {key}")
    for warning in run.warnings:
        print(f"warning: {run.redacted(warning)}")

    if run.error is not None:
        # On stderr, and nothing written: the last good preview's files stay as they were (the reboot notice
        # compares with them), and a failed --set run leaves no folder behind.
        from components.foundation import FoundationError
        from stack_config import ConfigError

        sys.stdout.flush()
        # A foundation or image problem is bad input too (an image digest never pushed, a foundation stack that
        # does not answer): its message names the key and what to do, a traceback would add nothing.
        if isinstance(run.error, (ConfigError, FoundationError)):
            print(f"preview: configuration errors, nothing would be created; no files written\n"
                  f"{run.redacted(str(run.error))}", file=sys.stderr)
            return 2
        print(f"preview: program error after {len(custom)} resources; no files written\n"
              f"{run.redacted(run.error_details or str(run.error))}", file=sys.stderr)
        return 1

    inventory_path = args.inventory or directory / "inventory.json"
    # What the reboot notice compares with: the previous preview here, or with --set the stack's own preview.
    baseline = BUILD_DIR / stack / "inventory.json" if overrides else inventory_path
    previous = runtime_report.previous_parameters(baseline) if baseline.exists() else None
    # Every file first, then the report: a reader that stops early (`| head`) still leaves one run's set of files,
    # never a new inventory beside an older diagram and export.
    from offline.policy_runner import write_stack_export

    inventory = write_inventory(run, inventory_path)
    written = diagram.write(run, directory) if args.diagram else None
    export = write_stack_export(run, directory / "stack-export.json")
    print(f"Files: {_shown(directory)}/" + (" (a run with --set never overwrites the stack's own files)"
                                            if overrides else ""))
    print(_section(f"Resources ({len(custom)} to create, in {len(run.resources) - len(custom)} components "
                   "and the stack)", render_tree(run)))
    print(_section("Counts per resource type", render_counts(run)))
    print(_section("Stack outputs", render_outputs(run)))
    print(_section("Estimated monthly cost", cost.render(cost.estimate(run), detail=False)))
    print(_section("Deploy critical path", critical_path.render(critical_path.analyse(run))))
    print(_section("Images the tasks pull", runtime_report.render_images(run)))
    print(_section("Database changes that need a reboot", runtime_report.render_reboots(run, previous)))
    print(f"\nInventory: {_shown(inventory)}")
    if written is not None:
        print(f"Diagram: {_shown(written)} (Mermaid: GitHub renders it; paste into https://mermaid.live to view "
              f"locally); cost breakdown by resource: .venv/bin/python -m offline.cost {stack}")
    return print_policy_verdicts(run, export)


def print_policy_verdicts(run: StackRun, export: Path) -> int:
    """The policy pack's verdicts on this run (offline/policy_runner.py), and where its export is; 3 when any
    violation is mandatory."""
    from offline.policy_runner import check_run, render_verdict

    verdict = check_run(run)
    print(_section(f"Policy verdicts (policies/, config/{run.stack}.json)", render_verdict(verdict)))
    print(f"Stack export (secrets redacted; `pulumi stack import --file` it into a local stack named {run.stack} "
          f"to re-check with `pulumi policy analyze`): {_shown(export)}")
    return 3 if verdict.mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
