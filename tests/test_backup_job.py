"""BackupJob: scheduled, hardened, least-privilege pg_dump task (component-level test program)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline.engine import StackRun, run_program

PROGRAM = '''
import pulumi_aws as aws
from components.base import AwsContext, SecretRef
from components.backup_job import BackupJob, BackupJobArgs

ctx = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")
key = aws.kms.Key("data", enable_key_rotation=True)
logs = aws.kms.Key("logs", enable_key_rotation=True)
secret = aws.secretsmanager.Secret("database-url", kms_key_id=key.arn)
REPOSITORY = "arn:aws:ecr:us-east-1:111111111111:repository/maratron/backup"  # the foundation's, another account
BackupJob("backup", BackupJobArgs(
    context=ctx, environment="prod", cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/maratron",
    vpc_id="vpc-1", subnet_ids=["subnet-a", "subnet-b"],
    image="123456789012.dkr.ecr.us-east-1.amazonaws.com/backup@sha256:" + "a" * 64,
    repository_arn=REPOSITORY,
    database_url=SecretRef(secret=secret, key=key), bucket_name="maratron-backups",
    bucket_write_statements=[{"Effect": "Allow", "Action": ["s3:PutObject"],
                              "Resource": "arn:aws:s3:::maratron-backups/postgresql/*"}],
    backups_key_arn="arn:aws:kms:us-east-1:123456789012:key/backups", logs_key=logs, log_retention_days=365,
))
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> StackRun:
    program = Path(tmp_path_factory.mktemp("backup")) / "program.py"
    program.write_text(PROGRAM)
    result = run_program("prod", {"aws:region": "us-east-1"}, [], program=program)
    assert result.ok, result.error_details
    return result


def container(run: StackRun) -> dict:
    task = run.one("aws:ecs/taskDefinition:TaskDefinition")
    (definition,) = json.loads(task.inputs["containerDefinitions"])
    return definition


def test_schedule_runs_the_task_every_six_hours_in_private_subnets(run: StackRun) -> None:
    schedule = run.one("aws:scheduler/schedule:Schedule").inputs
    task = run.one("aws:ecs/taskDefinition:TaskDefinition")
    assert schedule["scheduleExpression"] == "rate(6 hours)"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    ecs = schedule["target"]["ecsParameters"]
    assert schedule["target"]["arn"] == "arn:aws:ecs:us-east-1:123456789012:cluster/maratron"
    assert ecs["taskDefinitionArn"] == task.outputs["arn"]
    assert ecs["launchType"] == "FARGATE"
    assert ecs["networkConfiguration"] == {"subnets": ["subnet-a", "subnet-b"], "assignPublicIp": False,
                                           "securityGroups": [run.one("aws:ec2/securityGroup:SecurityGroup").id]}
    assert schedule["target"]["retryPolicy"]["maximumRetryAttempts"] == 3


def test_container_is_hardened_and_gets_the_database_url_only_as_a_secret(run: StackRun) -> None:
    c = container(run)
    assert c["user"] == "1001:1001" and c["readonlyRootFilesystem"] is True and c["privileged"] is False
    assert c["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert c["mountPoints"] == [{"sourceVolume": "scratch-tmp", "containerPath": "/tmp", "readOnly": False}]
    secret = run.one("aws:secretsmanager/secret:Secret")
    assert c["secrets"] == [{"name": "DATABASE_URL", "valueFrom": secret.outputs["arn"]}]
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env["BACKUPS_BUCKET"] == "maratron-backups" and env["ENVIRONMENT"] == "prod"
    assert not any("URL" in name or "PASSWORD" in name for name in env)
    assert c["logConfiguration"]["logDriver"] == "awslogs"


def test_roles_are_least_privilege(run: StackRun) -> None:
    policies = {p.name: json.loads(p.inputs["policy"])["Statement"]
                for p in run.of_type("aws:iam/rolePolicy:RolePolicy")}
    task_actions = sorted(a for s in policies["backup-task"] for a in s["Action"])
    assert task_actions == ["cloudwatch:PutMetricData", "s3:PutObject"]
    metric = next(s for s in policies["backup-task"] if s["Action"] == ["cloudwatch:PutMetricData"])
    assert metric["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Maratron/Backups"}}
    secret_arn = run.one("aws:secretsmanager/secret:Secret").outputs["arn"]
    reads = [s for s in policies["backup-execution"] if "secretsmanager:GetSecretValue" in s["Action"]]
    assert [s["Resource"] for s in reads] == [[secret_arn]]
    pull = next(s for s in policies["backup-execution"] if "ecr:BatchGetImage" in s["Action"])
    # Only its own repository: the foundation's, across accounts in the organization layout.
    assert pull["Resource"] == ["arn:aws:ecr:us-east-1:111111111111:repository/maratron/backup"]
    tag = next(s for s in policies["backup-scheduler"] if s["Action"] == ["ecs:TagResource"])
    assert tag["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}  # propagate_tags needs it
    run_task = next(s for s in policies["backup-scheduler"] if s["Action"] == ["ecs:RunTask"])
    assert run_task["Condition"]["ArnLike"]["ecs:cluster"].endswith(":cluster/maratron")
    pass_role = next(s for s in policies["backup-scheduler"] if s["Action"] == ["iam:PassRole"])
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_task_security_group_has_no_ingress_and_only_https_egress(run: StackRun) -> None:
    assert run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == []
    (egress,) = run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert (egress.inputs["fromPort"], egress.inputs["toPort"]) == (443, 443)


def test_log_group_is_encrypted_and_retained(run: StackRun) -> None:
    group = run.one("aws:cloudwatch/logGroup:LogGroup").inputs
    assert group["kmsKeyId"] == run.one("aws:kms/key:Key", "logs").outputs["arn"]
    assert group["retentionInDays"] == 365
