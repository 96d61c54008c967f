"""Offline preview cost per stack beside two floors of what the Pulumi SDK itself costs.

- bare floor (issue 2's definition): the same number of bare custom resources (one small input each) registered in
  a flat loop, through the same mock engine and recorder.
- replay floor (the target's "same resources"): every custom resource the stack registers, with the very inputs
  it registered, replayed in a flat loop — no components, no config validation, no Output graph.

ours / replay is what our program (components, parenting, validation, Output wiring, mocks) adds on top of what the
SDK costs to register these resources; ours / bare adds the cost of the inputs themselves. Target: ours / replay
<= 1.3. Prints a table; `python -m bench.preview [--runs N] [stacks...]`. Measured in-process after a warm-up run,
median of N runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offline.engine import STACKS, StackRun, is_secret, run_program, run_stack, stack_config

BARE_PROGRAM = '''
import pulumi

class Bare(pulumi.CustomResource):
    def __init__(self, name, props):
        super().__init__("bench:index:Bare", name, props)

for index in range({count}):
    Bare(f"bare-{{index}}", {{"tags": {{"Name": f"bare-{{index}}"}}}})
'''

REPLAY_PROGRAM = '''
import json
import pulumi

SIG = "4dabf18193072939515e22adb298388d"

def revive(value):
    if isinstance(value, dict):
        if SIG in value:
            return pulumi.Output.secret(revive(value.get("value")))
        return {{k: revive(v) for k, v in value.items()}}
    if isinstance(value, list):
        return [revive(v) for v in value]
    return value

class Replayed(pulumi.CustomResource):
    def __init__(self, type_, name, props):
        super().__init__(type_, name, props)

for type_, name, inputs in json.load(open({path!r})):
    Replayed(type_, name, revive(inputs))
'''


def _median_seconds(action: Callable[[], Any], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _replayable(run: StackRun) -> list[tuple[str, str, dict[str, Any]]]:
    def keep(value: Any) -> Any:  # resource references cannot be replayed; everything else can
        if isinstance(value, dict) and not is_secret(value):
            return {k: keep(v) for k, v in value.items() if k != "__defaults"}
        return value

    return [(r.type, r.name, keep(r.inputs)) for r in run.resources if r.custom]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=list(STACKS))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    print(f"{'stack':<8} {'resources':>9} {'ours ms':>8} {'replay ms':>10} {'bare ms':>8} "
          f"{'ours/replay':>11} {'ours/bare':>9}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for stack in args.stacks:
            warm = run_stack(stack)  # imports and caches warmed, as in a long-lived test session
            if not warm.ok:
                print(f"{stack}: program error: {warm.error}")
                return 1
            count = sum(1 for r in warm.resources if r.type != "pulumi:pulumi:Stack")
            config, secrets, _ = stack_config(stack)
            bare = Path(tmp) / f"bare_{stack}.py"
            bare.write_text(BARE_PROGRAM.format(count=count))
            data = Path(tmp) / f"replay_{stack}.json"
            data.write_text(json.dumps(_replayable(warm)))
            replay = Path(tmp) / f"replay_{stack}.py"
            replay.write_text(REPLAY_PROGRAM.format(path=str(data)))
            for program in (bare, replay):
                check = run_program(stack, config, secrets, program=program)  # warm, and must succeed
                if not check.ok:
                    print(f"{stack}: floor program {program.name} failed: {check.error_details}")
                    return 1
            ours = _median_seconds(lambda s=stack: run_stack(s), args.runs)  # type: ignore[misc]
            replayed = _median_seconds(lambda p=replay, c=config, k=secrets, s=stack:  # type: ignore[misc]
                                       run_program(s, c, k, program=p), args.runs)
            bared = _median_seconds(lambda p=bare, c=config, k=secrets, s=stack:  # type: ignore[misc]
                                    run_program(s, c, k, program=p), args.runs)
            worst = max(worst, ours / replayed)
            print(f"{stack:<8} {count:>9} {ours * 1000:>8.0f} {replayed * 1000:>10.0f} {bared * 1000:>8.0f} "
                  f"{ours / replayed:>11.2f} {ours / bared:>9.2f}")
    print(f"worst ours/replay {worst:.2f} (target <= 1.30)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
