"""Deploy critical path of every stack, checked against the rule: `python -m bench.critical_path`.

Rule (offline/critical_path.py): the first `pulumi up` must not take longer than the chain it cannot avoid — the
longest chain made only of RDS instances (primary, then the replicas that copy it; with no database, the single
slowest resource) — plus 2 minutes for the seconds-long resources ahead of it. Offenders are the resources that
finish after that bound, with the slow resource they wait for. Exit status 1 when a stack breaks the rule.
"""

from __future__ import annotations

import argparse
import sys

from offline.critical_path import analyse, render
from offline.engine import STACKS, run_stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=list(STACKS))
    args = parser.parse_args(argv)
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
        summary.append(f"{stack:<8} {path.total:>6.1f} min  bound {path.bound:>5.1f} min  "
                       f"{'ok' if path.met else 'EXCEEDED'}  offenders: {len(path.offenders)}")
        if not path.met:
            failed.append(stack)
    print("\n".join(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
