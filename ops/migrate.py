"""Run the database migration task once and fail unless it succeeded: the pipeline's migration step.

    pulumi stack output --json | python -m ops.migrate            # or --stack-outputs outputs.json

Runs the newest ACTIVE revision of the migration task definition's family (`npx prisma migrate deploy` with the
web image; after `pulumi up --target <migration task definition>` that is the release's image) on on-demand Fargate
(platform 1.4.0) in the app subnets with the migration security group, waits until it stopped (bounded), and exits
0 only when every essential container exited 0 — the scratch-volume init container included, which must succeed
before the migration starts. Exit 1 with the container's exit code, the stop reason and where its log is otherwise;
2 when the outputs are unusable.

Why a gate and not `aws ecs run-task` alone: run-task returns as soon as ECS accepted the task, so a failed
migration would let the release roll on against an old schema.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from components.constants import FARGATE_PLATFORM_VERSION

CONTAINER = "migrate"
MAX_WAIT_SECONDS = 30 * 60
POLL_SECONDS = 15


def family_of(task_definition_arn: str) -> str:
    """arn:aws:ecs:...:task-definition/maratron-prod-migrate:7 -> maratron-prod-migrate (its newest ACTIVE revision)."""
    return task_definition_arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def run_migration(ecs: Any, outputs: Mapping[str, Any], *, poll_seconds: int = POLL_SECONDS,
                  max_wait_seconds: int = MAX_WAIT_SECONDS) -> tuple[bool, list[str]]:
    """(succeeded, report lines)."""
    cluster = str(outputs["clusterName"])
    response = ecs.run_task(
        cluster=cluster, taskDefinition=family_of(str(outputs["migrationTaskDefinitionArn"])), count=1,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
        platformVersion=FARGATE_PLATFORM_VERSION, startedBy="ops-migrate",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": list(outputs["appSubnetIds"]), "securityGroups": [str(outputs["migrationSecurityGroupId"])],
            "assignPublicIp": "DISABLED"}})
    if response.get("failures") or not response.get("tasks"):
        reasons = ", ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in response.get("failures", []))
        return False, [f"ECS did not start the migration task: {reasons or 'no task returned'}"]
    task_arn = response["tasks"][0]["taskArn"]
    lines = [f"started {task_arn} ({response['tasks'][0].get('taskDefinitionArn', '')})"]
    try:
        ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[task_arn], WaiterConfig={
            "Delay": poll_seconds, "MaxAttempts": max(1, max_wait_seconds // max(poll_seconds, 1))})
    except WaiterError as error:
        return False, [*lines, f"the task did not stop within {max_wait_seconds // 60} min: {error}"]
    task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
    ok = True
    for container in task.get("containers", []):
        code = container.get("exitCode")
        lines.append(f"{container.get('name')}: exit {code if code is not None else 'none'}"
                     + (f" ({container.get('reason')})" if container.get("reason") else ""))
        if code != 0:
            ok = False
    if not ok:
        lines.append(f"stopped: {task.get('stoppedReason', 'unknown')}; logs: aws logs tail "
                     f"{outputs.get('webLogGroupName', '<web log group>')} --log-stream-name-prefix {CONTAINER}")
    return ok, lines


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         ecs: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack-outputs", help="`pulumi stack output --json` file (default: stdin)")
    parser.add_argument("--region", help="AWS region (default: the `region` output)")
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    try:
        text = Path(args.stack_outputs).read_text() if args.stack_outputs else (stdin or sys.stdin).read()
        outputs = json.loads(text)
        missing = [k for k in ("clusterName", "migrationTaskDefinitionArn", "appSubnetIds",
                               "migrationSecurityGroupId") if not outputs.get(k)]
        if missing:
            raise ValueError(f"stack outputs lack {', '.join(missing)}")
    except (OSError, ValueError, AttributeError) as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 2
    client = ecs or boto3.client("ecs", region_name=args.region or outputs.get("region"))
    try:
        ok, lines = run_migration(client, outputs)
    except (BotoCoreError, ClientError) as error:
        ok, lines = False, [f"AWS error: {error}"]
    print("\n".join(lines), file=out)
    print("migration succeeded" if ok else "MIGRATION FAILED: do not roll the services", file=out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
