"""`make preview-bootstrap STACK=shared`: what `pulumi up` of a foundation stack would create, offline.

Runs bootstrap/__main__.py under the mock engine (offline/foundation.py) with bootstrap/Pulumi.yaml defaults +
bootstrap/Pulumi.<stack>.yaml, prints the resource tree, counts, outputs, the monthly cost and the policy pack's
verdicts (policies/config/bootstrap.json: every rule mandatory), and writes build/bootstrap/<stack>/inventory.json,
outputs.json (what app stacks read through their StackReference) and stack-export.json. `--check` runs the pack
over every foundation stack and prints one line each (what `make policy` runs). Exit status: 0 clean, 2 on
configuration errors or an unknown stack, 1 on any other program error, 3 on a mandatory policy violation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from offline import closed_pipe, cost
from offline.engine import ROOT, StackRun
from offline.foundation import bootstrap_stacks, run_bootstrap
from offline.preview import _section, render_counts, render_outputs, render_tree, write_inventory

BUILD_DIR = ROOT / "build" / "bootstrap"
DEFAULT_STACK = "shared"


def write_outputs(run: StackRun, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run.plain_outputs(), indent=2, sort_keys=True) + "\n")
    return path


def check_all() -> int:
    """The policy pack over every foundation stack: one line each; 3 when any has a mandatory violation."""
    from offline.policy_runner import check_run, render_verdict

    status = 0
    for stack in bootstrap_stacks():
        run = run_bootstrap(stack)
        if not run.ok:
            print(f"bootstrap/{stack}: program error: {run.redacted(str(run.error))}", file=sys.stderr)
            status = max(status, 1)
            continue
        verdict = check_run(run)
        print(f"bootstrap/{stack}: {render_verdict(verdict)[0]}")
        if verdict.mandatory:
            print("\n".join(render_verdict(verdict)[1:]))
            status = 3
    return status


def main(argv: list[str] | None = None) -> int:
    with closed_pipe.report("preview-bootstrap"):
        return _main(argv)


def _main(argv: list[str] | None = None) -> int:
    stacks = bootstrap_stacks()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default=DEFAULT_STACK, help=f"foundation stack ({', '.join(stacks)})")
    parser.add_argument("--check", action="store_true", help="only the policy verdicts of every foundation stack")
    args = parser.parse_args(argv)
    if args.check:
        return check_all()
    if args.stack not in stacks:
        print(f"preview-bootstrap: unknown stack {args.stack!r}: foundation stacks are {', '.join(stacks)} "
              "(bootstrap/Pulumi.<stack>.yaml)", file=sys.stderr)
        return 2
    run = run_bootstrap(args.stack)
    custom = [r for r in run.resources if r.custom]
    directory = BUILD_DIR / args.stack
    print(f"Offline preview of maratron-bootstrap/{args.stack}: the foundation program under the Pulumi mock engine, "
          "no AWS calls.")
    print(f"Config: bootstrap/Pulumi.yaml defaults + bootstrap/Pulumi.{args.stack}.yaml")
    if run.error is not None:  # on stderr, and the last good preview's files stay as they were
        from components.settings import ConfigError

        sys.stdout.flush()
        if isinstance(run.error, ConfigError):
            print(f"preview-bootstrap: configuration errors, nothing would be created; no files written\n"
                  f"{run.redacted(str(run.error))}", file=sys.stderr)
            return 2
        print(f"preview-bootstrap: program error after {len(custom)} resources; no files written\n"
              f"{run.redacted(run.error_details or str(run.error))}", file=sys.stderr)
        return 1
    from offline.policy_runner import check_run, render_verdict, write_stack_export

    # Every file first, then the report (as offline/preview.py): outputs.json is what app stacks read, so it is
    # never left older than the inventory beside it.
    inventory = write_inventory(run, directory / "inventory.json")
    outputs = write_outputs(run, directory / "outputs.json")
    export = write_stack_export(run, directory / "stack-export.json")
    print(_section(f"Resources ({len(custom)} to create, in {len(run.resources) - len(custom)} components "
                   "and the stack)", render_tree(run)))
    print(_section("Counts per resource type", render_counts(run)))
    print(_section("Stack outputs (the contract app stacks read)", render_outputs(run)))
    print(_section("Estimated monthly cost", cost.render(cost.estimate(run), detail=False)))
    print(f"\nInventory: {inventory.relative_to(ROOT)}; outputs: {outputs.relative_to(ROOT)}")
    verdict = check_run(run)
    print(_section("Policy verdicts (policies/, config/bootstrap.json)", render_verdict(verdict)))
    print(f"Stack export: {export.relative_to(ROOT)}")
    return 3 if verdict.mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
