"""Instructions per offline preview run, ours against the floors: bench.preview's comparison, counted by valgrind.

bench.preview times ours and the floors in CPU seconds, and on this shared VM the same run's CPU moves by +-15%
from one second to the next (a plain Python loop does too), so its ratio's quartiles span 0.1 or more. Its call
ratio is steady but counts Python calls only, not what they cost, nor the C-level work (allocation, the garbage
collector, dicts and sets). This counts the machine instructions of a run with valgrind's cachegrind: the same
figure on a busy and a quiet machine, covering all of the work.

Method: for each stack, four processes run under cachegrind, with the hash seed fixed so that all four do the same
work up to where they differ. Each prepares as bench.preview does (imports, a warm-up run of ours, the two floor
programs written and checked) and then runs one program --runs times: ours, the flat floor, the structured floor,
or nothing. A program's instructions per run are (its process's count - the nothing process's count) / --runs.
The floors are bench.preview's (the same resources and inputs, checked there to be fair).

About 1.5 min of valgrind per process before the runs, plus ~20 s per prod run: 4 processes share the cores.
`python -m bench.instructions [--runs N] [stacks...]` (default: prod, 2 runs). Needs valgrind (Debian package).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.preview import FLOOR_PROGRAM, TARGET, _floor_inputs, _structured_inputs
from offline.engine import run_program, run_stack, stack_config
from offline.foundation import app_mocks

PROGRAMS = ("ours", "flat", "structured")


def _worker(stack: str, program: str, runs: int) -> None:
    """Inside valgrind: prepare as bench.preview does, then run `program` (or nothing) `runs` times."""
    warm = run_stack(stack)
    config, secrets, _ = stack_config(stack)
    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, rows in (("flat", _floor_inputs(warm)), ("structured", _structured_inputs(warm))):
            data = Path(tmp) / f"{kind}.json"
            data.write_text(json.dumps(rows))
            files[kind] = Path(tmp) / f"{kind}.py"
            files[kind].write_text(FLOOR_PROGRAM.format(path=str(data), structured=kind == "structured"))
            if not run_program(stack, config, secrets, program=files[kind], mocks=app_mocks(config)).ok:
                raise SystemExit(f"{stack}: the {kind} floor program failed (run bench.preview for details)")
        for _ in range(runs):
            if program == "ours":
                run_stack(stack)
            elif program in files:
                run_program(stack, config, secrets, program=files[program], mocks=app_mocks(config))


def _instructions(stack: str, program: str, runs: int) -> int:
    """Instructions of one worker process under cachegrind."""
    environment = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", sys.executable,
         "-m", "bench.instructions", "--worker", program, "--runs", str(runs), stack],
        capture_output=True, text=True, env=environment, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if result.returncode != 0 or not found:
        raise SystemExit(f"{stack} {program}: the process under valgrind failed:\n{result.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=["prod"])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--worker", choices=[*PROGRAMS, "none"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.stacks[0], args.worker, args.runs)
        return 0
    if shutil.which("valgrind") is None:
        print("bench.instructions needs valgrind (apt-get install valgrind); bench.preview times the same runs")
        return 2
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    print(f"{'stack':<8} {'ours':>8} {'flat':>8} {'structured':>10} {'ours/flat':>10} {'ours/structured':>16}   "
          f"(instructions per run, in millions; {args.runs} runs per process, minus a process that only prepares)")
    worst = 0.0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for stack in args.stacks:
            jobs = {program: pool.submit(_instructions, stack, program, args.runs) for program in PROGRAMS}
            baseline = _instructions(stack, "none", 0)
            per_run = {program: (job.result() - baseline) / args.runs for program, job in jobs.items()}
            ratio = per_run["ours"] / per_run["flat"]
            worst = max(worst, ratio)
            print(f"{stack:<8} {per_run['ours'] / 1e6:>8,.0f} {per_run['flat'] / 1e6:>8,.0f} "
                  f"{per_run['structured'] / 1e6:>10,.0f} {ratio:>10.3f} "
                  f"{per_run['ours'] / per_run['structured']:>16.3f}")
    print(f"worst ours/flat (instructions) {worst:.3f} (target <= {TARGET})")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
