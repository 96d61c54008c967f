"""Estimated monthly cost of every stack side by side, with the targets: `python -m bench.cost`.

Targets: prod overhead <= 25% of compute + data capacity; dev total <= $150/month. Exit status 1 when a target
that can be evaluated is exceeded. The last column is the account foundation (bootstrap/, stack `shared`): shared by
every environment, outside the per-environment targets.
"""

from __future__ import annotations

import argparse
import sys

from offline.cost import CAPACITY, OVERHEAD, CostReport, estimate
from offline.engine import available_stacks, refuse_unknown_stacks, run_stack
from offline.foundation import run_bootstrap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=available_stacks())
    args = parser.parse_args(argv)
    refuse_unknown_stacks(parser, args.stacks)
    reports: list[CostReport] = []
    for stack in args.stacks:
        run = run_stack(stack)
        if not run.ok:
            print(f"{stack}: program error: {run.error}")
            return 1
        reports.append(estimate(run))
    foundation = run_bootstrap("shared")
    if foundation.ok:
        reports.append(estimate(foundation))
        reports[-1].stack = "foundation"
    width = 12
    header = f"{'USD / month':<28}" + "".join(f"{r.stack:>{width}}" for r in reports)
    print(header)
    print("-" * len(header))
    types = sorted({(line.category, line.type) for r in reports for line in r.lines},
                   key=lambda ct: (ct[0] != CAPACITY, ct[1]))
    for category, type_ in types:
        cells = "".join(
            f"{sum(x.monthly_usd for x in r.lines if x.type == type_ and x.category == category):>{width},.2f}"
            for r in reports)
        print(f"  {type_.split(':')[1]:<26}{cells}")
    for label, value in (("capacity (compute & data)", lambda r: r.total(CAPACITY)),
                         ("overhead (platform)", lambda r: r.total(OVERHEAD)), ("total", lambda r: r.total())):
        print(f"{label:<28}" + "".join(f"{value(r):>{width},.2f}" for r in reports))
    print(f"{'overhead / capacity':<28}" + "".join(
        f"{(f'{r.overhead_ratio:.0%}' if r.overhead_ratio is not None else 'n/a'):>{width}}" for r in reports))
    print(f"{'not priced':<28}" + "".join(f"{len(r.not_priced):>{width}}" for r in reports))
    print(f"prices: {reports[0].region} on-demand as of {reports[0].as_of}; usage assumptions per environment in "
          "offline/cost.py ASSUMPTIONS")
    failed = False
    for report in reports:
        for target, met, detail in report.checks():
            status = {True: "ok", False: "EXCEEDED", None: "n/a"}[met]
            failed |= met is False
            print(f"target {target}: {status} ({detail})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
