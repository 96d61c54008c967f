"""Deploy time of every stack, checked against the target: `python -m bench.critical_path`.

Prints only figures: the model (durations, waiting rules, the target) is offline/critical_path.py, the same one
`make preview` and the tests use. Per stack: the critical path, then one summary line — total, bound, when the RDS
primary, Redis, the app's secrets, the services and the last replica are ready, and whether any replica is on the app's
path. Exit status 1 when a stack breaks the rule.
"""

from __future__ import annotations

import argparse
import sys

from offline.critical_path import analyse, render
from offline.engine import available_stacks, refuse_unknown_stacks, run_stack

MILESTONES = ("RDS primary", "Redis", "app secrets", "services", "last replica")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=available_stacks())
    args = parser.parse_args(argv)
    refuse_unknown_stacks(parser, args.stacks)
    failed = []
    summary = []
    for stack in args.stacks:
        run = run_stack(stack)
        if not run.ok:
            print(f"{stack}: program error: {run.error}")
            return 1
        path = analyse(run)
        print(f"== {stack}")
        print("\n".join(render(path)))
        print()
        ready = path.milestones()
        cells = "".join(f"{ready[name]:>13.1f}" if name in ready else f"{'-':>13}" for name in MILESTONES)
        late = path.replicas_on_app_path()
        summary.append(f"{stack:<8} {path.total:>6.1f} {path.bound:>6.1f}{cells}  "
                       f"{'ok' if path.met and not late else 'EXCEEDED'} (offenders {len(path.offenders)}, "
                       f"replica on the app's path: {', '.join(late) or 'none'})")
        if not path.met or late:
            failed.append(stack)
    print(f"{'stack':<8} {'total':>6} {'bound':>6}" + "".join(f"{name:>13}" for name in MILESTONES)
          + "   (minutes from the start of a first `pulumi up`)")
    print("\n".join(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
