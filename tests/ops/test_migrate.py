"""ops.migrate: the pipeline's migration gate, against stubbed ECS responses (moto never stops a task)."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ops import migrate

OUTPUTS = {"region": "us-east-1", "clusterName": "maratron-prod", "appSubnetIds": ["subnet-a", "subnet-b"],
           "migrationSecurityGroupId": "sg-migrate", "webLogGroupName": "/maratron-prod/ecs/web",
           "migrationTaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/maratron-prod-migrate:3"}
TASK = "arn:aws:ecs:us-east-1:123456789012:task/maratron-prod/abc"


def stubbed(exit_codes: dict[str, int | None], stopped_reason: str = "Essential container in task exited") -> Any:
    ecs = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(ecs)
    stub.add_response("run_task", {"tasks": [{"taskArn": TASK, "taskDefinitionArn": "…:4"}], "failures": []}, {
        "cluster": "maratron-prod", "taskDefinition": "maratron-prod-migrate", "count": 1,
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}], "platformVersion": "1.4.0",
        "startedBy": "ops-migrate", "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-migrate"], "assignPublicIp": "DISABLED"}}})
    task = {"taskArn": TASK, "lastStatus": "STOPPED", "stoppedReason": stopped_reason,
            "containers": [{"name": name, **({"exitCode": code} if code is not None else {})}
                           for name, code in exit_codes.items()]}
    for _ in range(2):  # the waiter's poll, then the final read
        stub.add_response("describe_tasks", {"tasks": [task], "failures": []},
                          {"cluster": "maratron-prod", "tasks": [TASK]})
    stub.activate()
    return ecs


def run(ecs: Any, outputs: dict[str, Any] = OUTPUTS) -> tuple[int, str]:
    out = io.StringIO()
    code = migrate.main([], stdin=io.StringIO(json.dumps(outputs)), stdout=out, ecs=ecs)
    return code, out.getvalue()


def test_the_newest_revision_runs_on_demand_and_success_needs_every_container_at_zero() -> None:
    code, text = run(stubbed({"migrate-volume-init": 0, "migrate": 0}))
    assert code == 0 and text.rstrip().endswith("migration succeeded")


@pytest.mark.parametrize("codes", [{"migrate-volume-init": 0, "migrate": 1},  # prisma failed
                                   {"migrate-volume-init": 1, "migrate": None}])  # never started: no scratch dir
def test_a_failed_migration_fails_the_pipeline_with_the_reason_and_the_log(codes: dict[str, int | None]) -> None:
    code, text = run(stubbed(codes))
    assert code == 1 and "MIGRATION FAILED" in text
    assert "aws logs tail /maratron-prod/ecs/web --log-stream-name-prefix migrate" in text


def test_family_of_drops_the_revision_and_bad_outputs_are_refused() -> None:
    assert migrate.family_of(OUTPUTS["migrationTaskDefinitionArn"]) == "maratron-prod-migrate"
    assert run(None, {"region": "us-east-1"})[0] == 2
