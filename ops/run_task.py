"""Run a one-off task a stack exports as a ready command (the migration), wait for it, fail unless it exits 0.

    python -m ops.run_task --stack-outputs outputs.json --output migrationRunTaskCommand

The stack exports the exact `aws ecs run-task ...` command (FargateTask.run_task_command: cluster, task definition,
private subnets, security group; it prints the task ARN, or ECS's reasons when no task started). This runs it, waits
until the task stops (ECS waiter `tasks_stopped`), and reads every container's exit code: `run-task` itself succeeds as
soon as ECS accepts the task, so without this a failed migration would pass the deploy. ops/release.sh runs it before
the services roll (after `pulumi up` on a first deploy), right after the app-role bootstrap (`dbBootstrapCommand`, a
Lambda invocation the script runs itself, not an ECS task); another one-off ECS task the stack exports later is one more
`--output`, in order. `--optional` outputs are skipped when the stack does not export them. A task still running after
`--timeout-minutes` (default 20) is stopped. Exit status: 0 every task exited 0, 1 a task failed, could not start or
timed out, 2 the outputs are unusable.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

TASK_ARN = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task/\S+$")
Runner = Callable[[str], str]


def shell(command: str) -> str:
    """Run the exported command (bash: it quotes its network configuration) and return what it printed."""
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the command failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def cluster_of(command: str) -> str:
    words = shlex.split(command)
    if "--cluster" not in words or words.index("--cluster") + 1 >= len(words):
        raise ValueError(f"no --cluster in {command!r}")
    return words[words.index("--cluster") + 1]


def started_task(printed: str) -> str:
    """The task ARN from what the command printed: `{"taskArn": ..., "failures": [...]}` (RunTask answers success
    with no task and the reasons in `failures` when ECS cannot place it:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html), or a bare ARN (the command of a stack
    deployed before it printed JSON). Raises RuntimeError with ECS's reasons when no task started."""
    try:
        answer = json.loads(printed)
    except ValueError:
        answer = {"taskArn": printed.splitlines()[-1].strip() if printed.strip() else ""}
    if not isinstance(answer, dict):
        answer = {"taskArn": str(answer)}
    arn = str(answer.get("taskArn") or "")
    if not TASK_ARN.match(arn):
        reasons = "; ".join(f"{f.get('reason', '?')}" + (f" ({f['detail']})" if f.get("detail") else "")
                            for f in answer.get("failures") or [] if isinstance(f, dict))
        raise RuntimeError("ECS did not start the task: " + (reasons or f"the command printed no task ARN "
                                                                         f"(got {printed.strip()!r})"))
    return arn


def family_of(task_definition_arn: str) -> str:
    """`arn:...:task-definition/<family>:<revision>` -> `<family>` (a bare family stays as it is)."""
    return task_definition_arn.rsplit("/", 1)[-1].split(":", 1)[0]


def wait_until_idle(ecs: Any, cluster: str, family: str, *, poll_seconds: int, timeout_seconds: int,
                    sleep: Callable[[float], None] = time.sleep) -> int:
    """Wait until no task of `family` is running (or about to) in `cluster`; returns the seconds waited. A backup's
    pg_dump holds ACCESS SHARE on every table for the whole dump, and "If another client then requests an exclusive
    lock on a table, that lock will not be granted but will be queued ... Consequently any other access to the table
    will not be granted either" (https://www.postgresql.org/docs/15/app-pgdump.html): a migration's ALTER TABLE
    started meanwhile would stall every app query on that table until the dump ends. Raises RuntimeError when one is
    still running after `timeout_seconds`."""
    checks = max(1, timeout_seconds // max(poll_seconds, 1)) + 1
    for check in range(checks):
        running = ecs.list_tasks(cluster=cluster, family=family, desiredStatus="RUNNING").get("taskArns", [])
        if not running:
            return check * poll_seconds
        if check + 1 < checks:
            sleep(poll_seconds)
    raise RuntimeError(f"{family} is still running after {timeout_seconds} s ({', '.join(running)}): rerun the "
                       "release once it has finished")


def run(command: str, ecs: Any, *, runner: Runner = shell, poll_seconds: int = 6, timeout_seconds: int = 1200) -> str:
    """Start the task, wait for it to stop, raise RuntimeError unless every container exited 0; returns a summary.
    A task still running after `timeout_seconds` is stopped (a rerun would otherwise start a second migration
    beside it) and fails the step."""
    arn = started_task(runner(command) if command else "")
    cluster = cluster_of(command)
    started = time.monotonic()
    attempts = max(1, timeout_seconds // max(poll_seconds, 1))
    try:
        ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn],
                                             WaiterConfig={"Delay": poll_seconds, "MaxAttempts": attempts})
    except WaiterError as error:
        # botocore raises WaiterError on any error answer too (access denied, throttling): only a task that really
        # outlived the wait is stopped; one that may be migrating fine is left alone.
        if not str(error.kwargs.get("reason", "")).startswith("Max attempts exceeded"):
            raise RuntimeError(f"could not watch {arn} (it may still be running): {error}") from None
        try:
            ecs.stop_task(cluster=cluster, task=arn, reason=f"ops.run_task: still running after {timeout_seconds} s")
        except (ClientError, BotoCoreError) as stop_error:
            raise RuntimeError(f"{arn} did not stop within {timeout_seconds} s, and stopping it failed: "
                               f"{stop_error}") from None
        raise RuntimeError(f"{arn} did not stop within {timeout_seconds} s ({error}); stopped it") from None
    task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    containers = [(c.get("name", "?"), c.get("exitCode"), c.get("reason", "")) for c in task.get("containers", [])]
    failed = [c for c in containers if c[1] != 0]
    detail = ", ".join(f"{name} exit {code}" + (f" ({reason})" if reason else "") for name, code, reason in containers)
    if failed or not containers:
        raise RuntimeError(f"{arn} failed: {detail or task.get('stoppedReason', 'no container ran')}; stopped "
                           f"because: {task.get('stoppedReason', '?')}")
    return f"{arn}: {detail} after {time.monotonic() - started:.0f} s"


def main(argv: Sequence[str] | None = None, ecs: Any = None, runner: Runner = shell) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.run_task", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-outputs", required=True, metavar="FILE", help="`pulumi stack output --json`")
    parser.add_argument("--output", action="append", dest="steps", default=[], metavar="KEY",
                        type=lambda key: (key, True), help="an output holding a run-task command (repeatable; "
                        "--output and --optional run in the order given)")
    parser.add_argument("--optional", action="append", dest="steps", metavar="KEY",
                        type=lambda key: (key, False), help="like --output, skipped when the stack does not export it")
    parser.add_argument("--after", action="append", default=[], metavar="KEY", help="an output holding a task "
                        "definition ARN: first wait until no task of its family runs (the backup: a migration must "
                        "not queue its table locks behind pg_dump's; repeatable)")
    parser.add_argument("--after-minutes", type=int, default=60, help="fail when such a task still runs after this "
                        "long (default 60)")
    parser.add_argument("--region", help="AWS region (default: the `region` output)")
    parser.add_argument("--poll-seconds", type=int, default=6, help="how often to look at the task (default 6)")
    parser.add_argument("--timeout-minutes", type=int, default=20, help="stop a task still running after this "
                        "long and fail (default 20)")
    args = parser.parse_args(argv)
    try:
        with open(args.stack_outputs, encoding="utf-8") as handle:
            outputs = json.load(handle)
        wanted: list[tuple[str, bool]] = args.steps
        missing = [key for key, required in wanted if required and not outputs.get(key)]
        if missing or not wanted:
            raise ValueError(f"no such output: {', '.join(missing)}" if missing else "name at least one --output")
    except (OSError, ValueError) as error:
        print(f"run_task: {error}", file=sys.stderr)
        return 2
    client = ecs or boto3.client("ecs", region_name=args.region or outputs.get("region"))
    first = next((str(outputs[key]) for key, _ in wanted if outputs.get(key)), "")
    for key in args.after:
        if not outputs.get(key) or not first:
            continue  # a stack without that task (or nothing to run): nothing to wait for
        family = family_of(str(outputs[key]))
        try:
            waited = wait_until_idle(client, cluster_of(first), family, poll_seconds=args.poll_seconds * 5,
                                     timeout_seconds=args.after_minutes * 60)
        except (RuntimeError, ValueError, ClientError, BotoCoreError) as error:
            print(f"{key}: {error}", file=sys.stderr)
            return 1
        if waited:
            print(f"{key}: waited {waited} s for {family} to finish")
    for key, _required in wanted:
        command = outputs.get(key)
        if not command:
            print(f"{key}: not exported by this stack; skipped")
            continue
        try:
            summary = run(str(command), client, runner=runner, poll_seconds=args.poll_seconds,
                          timeout_seconds=args.timeout_minutes * 60)
            print(f"{key}: {summary}")
        except (RuntimeError, ValueError, ClientError, BotoCoreError) as error:
            print(f"{key}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
