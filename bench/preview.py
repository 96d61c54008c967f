"""Offline preview cost per stack beside the Pulumi SDK's own floor for the same number of resources.

The floor is a program that registers the same number of bare custom resources in a flat loop, run through the
same mock engine and recorder; the ratio is what our components, config validation and mocks add on top of what
the SDK itself costs. Target: ratio <= 1.3. Prints a table; `python -m bench.preview [--runs N] [stacks...]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from offline.engine import STACKS, run_program, run_stack, stack_config

FLOOR_PROGRAM = '''
import pulumi

class Bare(pulumi.CustomResource):
    def __init__(self, name, props):
        super().__init__("bench:index:Bare", name, props)

for index in range({count}):
    Bare(f"bare-{{index}}", {{"tags": {{"Name": f"bare-{{index}}"}}}})
'''


def _median_seconds(action, runs: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=list(STACKS))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    print(f"{'stack':<8} {'resources':>9} {'preview ms':>11} {'SDK floor ms':>13} {'ratio':>6}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for stack in args.stacks:
            warm = run_stack(stack)  # imports and caches warmed, as in a long-lived test session
            if not warm.ok:
                print(f"{stack}: program error: {warm.error}")
                return 1
            count = sum(1 for r in warm.resources if r.type != "pulumi:pulumi:Stack")
            floor_file = Path(tmp) / f"floor_{stack}.py"
            floor_file.write_text(FLOOR_PROGRAM.format(count=count))
            config, secrets, _ = stack_config(stack)
            run_program(stack, config, secrets, program=floor_file)  # warm
            ours = _median_seconds(lambda s=stack: run_stack(s), args.runs)
            floor = _median_seconds(lambda c=config, s=secrets, f=floor_file, st=stack:
                                    run_program(st, c, s, program=f), args.runs)
            ratio = ours / floor
            worst = max(worst, ratio)
            print(f"{stack:<8} {count:>9} {ours * 1000:>11.1f} {floor * 1000:>13.1f} {ratio:>6.2f}")
    print(f"worst ratio {worst:.2f} (target <= 1.30)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
