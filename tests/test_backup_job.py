"""BackupJob: scheduled, hardened, least-privilege pg_dump task and its restore check (component-level program)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.backup_job import needed_ephemeral_storage_gib, schedule_interval_hours
from components.dockerfile import scratch_problems
from offline.engine import StackRun, run_program

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = '''
import pulumi_aws as aws
from components.base import AwsContext, SecretRef
from components.backup_job import BackupJob, BackupJobArgs, BackupJobSettings, MonthlyArchive

ctx = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")
key = aws.kms.Key("data", enable_key_rotation=True)
logs = aws.kms.Key("logs", enable_key_rotation=True)
backups = aws.kms.Key("backups", enable_key_rotation=True)
secret = aws.secretsmanager.Secret("database-url", kms_key_id=key.arn)
REPOSITORY = "arn:aws:ecr:us-east-1:111111111111:repository/maratron/backup"  # the foundation's, another account
BackupJob("backup", BackupJobArgs(
    context=ctx, environment="prod", cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/maratron",
    vpc_id="vpc-1", subnet_ids=["subnet-a", "subnet-b"],
    image="123456789012.dkr.ecr.us-east-1.amazonaws.com/backup@sha256:" + "a" * 64,
    repository_arn=REPOSITORY,
    database_url=SecretRef(secret=secret, key=key), secrets_key=key, bucket_name="maratron-backups",
    bucket_write_statements=[{"Effect": "Allow", "Action": ["s3:PutObject"],
                              "Resource": "arn:aws:s3:::maratron-backups/postgresql/*"}],
    bucket_read_statements=[{"Effect": "Allow", "Action": ["s3:ListBucket"],
                             "Resource": "arn:aws:s3:::maratron-backups"},
                            {"Effect": "Allow", "Action": ["s3:GetObject"],
                             "Resource": "arn:aws:s3:::maratron-backups/postgresql/*"},
                            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "arn:backups"}],
    archive=MonthlyArchive(bucket_name="maratron-archive", prefix="dumps/prod/", statements=[
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::maratron-archive"},
        {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::maratron-archive/dumps/prod/*"}],
        read_statements=[{"Effect": "Allow", "Action": ["s3:GetObject"],
                          "Resource": "arn:aws:s3:::maratron-archive/dumps/prod/*"}]),
    backups_key_arn=backups.arn, logs_key=logs, log_retention_days=365, name_prefix="maratron-prod",
    image_build_context=BUILD_CONTEXT, settings=BackupJobSettings(ephemeral_storage_gib=100),
))
'''
TASK = "aws:ecs/taskDefinition:TaskDefinition"
# What each script of ops/backup calls on AWS (read from the scripts: aws s3 cp/ls, s3api, cloudwatch), and so what
# the role of the task definition that runs it must allow. A script run from a task whose role lacks one fails.
SCRIPT_ACTIONS = {
    "backup.sh": {"s3:PutObject", "s3:ListBucket", "cloudwatch:PutMetricData"},  # ListBucket: the month's archive copy
    "restore_check.sh": {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> StackRun:
    program = Path(tmp_path_factory.mktemp("backup")) / "program.py"
    # the program runs in its own directory (as the language host runs a project): the context is absolute here
    program.write_text(f"BUILD_CONTEXT = {str(ROOT / 'ops' / 'backup')!r}\n" + PROGRAM)
    result = run_program("prod", {"aws:region": "us-east-1"}, [], program=program)
    assert result.ok, result.error_details
    return result


def container(run: StackRun, task: str = "backup") -> dict[str, Any]:
    (definition,) = json.loads(run.one(TASK, task).inputs["containerDefinitions"])
    return dict(definition)


def policies(run: StackRun) -> dict[str, list[dict[str, Any]]]:
    return {p.name: json.loads(p.inputs["policy"])["Statement"] for p in run.of_type("aws:iam/rolePolicy:RolePolicy")}


def test_schedule_runs_the_task_every_six_hours_in_private_subnets_on_the_pinned_platform(run: StackRun) -> None:
    schedule = run.one("aws:scheduler/schedule:Schedule").inputs
    task = run.one(TASK, "backup")
    assert schedule["scheduleExpression"] == "rate(6 hours)"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    ecs = schedule["target"]["ecsParameters"]
    assert schedule["target"]["arn"] == "arn:aws:ecs:us-east-1:123456789012:cluster/maratron"
    assert ecs["taskDefinitionArn"] == task.outputs["arn"]
    assert ecs["launchType"] == "FARGATE" and ecs["platformVersion"] == "1.4.0"
    assert ecs["networkConfiguration"] == {"subnets": ["subnet-a", "subnet-b"], "assignPublicIp": False,
                                           "securityGroups": [run.one("aws:ec2/securityGroup:SecurityGroup",
                                                                      "backup-sg").id]}
    assert schedule["target"]["retryPolicy"]["maximumRetryAttempts"] == 3


def test_schedule_is_encrypted_with_the_backups_key_its_role_may_decrypt_for_this_schedule_only(run: StackRun) -> None:
    schedule = run.one("aws:scheduler/schedule:Schedule")
    key = run.one("aws:kms/key:Key", "backups").outputs["arn"]
    assert schedule.inputs["kmsKeyArn"] == key and schedule.inputs["name"] == "maratron-prod-backup"
    (decrypt,) = [s for s in policies(run)["backup-scheduler"] if s["Action"] == ["kms:Decrypt"]]
    assert decrypt["Resource"] == [key]
    assert decrypt["Condition"] == {"StringEquals": {"kms:EncryptionContext:aws:scheduler:schedule:arn":
                                                     "arn:aws:scheduler:us-east-1:123456789012:schedule/default/"
                                                     "maratron-prod-backup"}}
    # The first invocation finds the permissions in place.
    assert run.one("aws:iam/rolePolicy:RolePolicy", "backup-scheduler").urn in schedule.dependencies


def test_container_is_hardened_and_gets_the_database_url_only_as_a_secret(run: StackRun) -> None:
    c = container(run)
    assert c["user"] == "1001:1001" and c["readonlyRootFilesystem"] is True and c["privileged"] is False
    assert c["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert c["mountPoints"] == [{"sourceVolume": "scratch-tmp", "containerPath": "/tmp", "readOnly": False}]
    assert "dependsOn" not in c  # the image declares its VOLUME: no root init container
    secret = run.one("aws:secretsmanager/secret:Secret", "database-url")
    assert c["secrets"] == [{"name": "DATABASE_URL", "valueFrom": secret.outputs["arn"]}]
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env["BACKUPS_BUCKET"] == "maratron-backups" and env["ENVIRONMENT"] == "prod"
    assert not any("URL" in name or "PASSWORD" in name for name in env)
    assert c["logConfiguration"]["logDriver"] == "awslogs"


def test_the_dump_has_the_ephemeral_storage_the_settings_give_it(run: StackRun) -> None:
    for task in ("backup", "backup-restore-check"):
        assert run.one(TASK, task).inputs["ephemeralStorage"] == {"sizeInGib": 100}


@pytest.mark.parametrize(("expression", "hours"), [
    ("rate(6 hours)", 6), ("rate(1 hour)", 1), ("rate(12 hours)", 12), ("rate(23 hours)", 23),
    # Not watchable by backup-missing (a day of hourly periods at most) or not a fixed interval: refused.
    ("rate(24 hours)", None), ("rate(1 day)", None), ("rate(30 minutes)", None), ("cron(0 */6 * * ? *)", None),
    # The unit agrees with the number, as EventBridge Scheduler requires.
    ("rate(1 hours)", None), ("rate(6 hour)", None), ("rate(06 hours)", None)])
def test_the_backup_alarm_watches_one_interval_of_the_schedule(expression: str, hours: int | None) -> None:
    assert schedule_interval_hours(expression) == hours


@pytest.mark.parametrize(("max_storage", "needed"), [(20, 20), (40, 20), (50, 25), (200, 100), (500, 200),
                                                     (65536, 200)])
def test_needed_ephemeral_storage_follows_the_database_ceiling(max_storage: int, needed: int) -> None:
    assert needed_ephemeral_storage_gib(max_storage) == needed


def test_roles_are_least_privilege(run: StackRun) -> None:
    found = policies(run)
    task_actions = sorted(a for s in found["backup-task"] for a in s["Action"])
    # write-only (and list the archive: is this month's copy there?): no read, no delete
    assert task_actions == ["cloudwatch:PutMetricData", "s3:ListBucket", "s3:PutObject", "s3:PutObject"]
    [listing] = [s for s in found["backup-task"] if s["Action"] == ["s3:ListBucket"]]
    assert listing["Resource"] == "arn:aws:s3:::maratron-archive"  # the archive's, never the backups bucket
    metric = next(s for s in found["backup-task"] if s["Action"] == ["cloudwatch:PutMetricData"])
    # its own namespace, which no other stack's or job's role may write (the drill's is <prefix>/restore-drill)
    assert metric["Condition"] == {"StringEquals": {"cloudwatch:namespace": "maratron-prod/backup"}}
    secret_arn = run.one("aws:secretsmanager/secret:Secret", "database-url").outputs["arn"]
    reads = [s for s in found["backup-execution"] if "secretsmanager:GetSecretValue" in s["Action"]]
    assert [s["Resource"] for s in reads] == [[secret_arn]]
    pull = next(s for s in found["backup-execution"] if "ecr:BatchGetImage" in s["Action"])
    # Only its own repository: the foundation's, across accounts in the organization layout.
    assert pull["Resource"] == ["arn:aws:ecr:us-east-1:111111111111:repository/maratron/backup"]
    tag = next(s for s in found["backup-scheduler"] if s["Action"] == ["ecs:TagResource"])
    assert tag["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}  # propagate_tags needs it
    run_task = next(s for s in found["backup-scheduler"] if s["Action"] == ["ecs:RunTask"])
    assert run_task["Condition"]["ArnLike"]["ecs:cluster"].endswith(":cluster/maratron")
    pass_role = next(s for s in found["backup-scheduler"] if s["Action"] == ["iam:PassRole"])
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert pass_role["Resource"] == [run.one("aws:iam/role:Role", f"backup-{kind}").outputs["arn"]
                                     for kind in ("execution", "task")]  # never the restore check's roles


def test_every_script_runs_from_a_task_whose_role_allows_what_it_calls(run: StackRun) -> None:
    found = policies(run)
    for task in ("backup", "backup-restore-check"):
        command = container(run, task).get("command") or ["backup.sh"]  # the image's CMD is backup.sh
        allowed = {a for s in found.get(f"{task}-task", []) for a in s["Action"]}
        assert SCRIPT_ACTIONS[command[0]] <= allowed, (task, SCRIPT_ACTIONS[command[0]] - allowed)
    # The broken variant (main before this fix): the restore check ran from the backup task definition, whose
    # write-only role lacks every read it makes.
    write_only = {a for s in found["backup-task"] for a in s["Action"]}
    assert {"s3:GetObject", "kms:Decrypt"} <= SCRIPT_ACTIONS["restore_check.sh"] - write_only


def test_restore_check_is_its_own_task_with_the_same_image_and_a_read_only_role(run: StackRun) -> None:
    check, backup = container(run, "backup-restore-check"), container(run)
    assert check["name"] == "restore-check" and check["command"] == ["restore_check.sh", "--drop"]
    assert check["image"] == backup["image"]
    assert check["logConfiguration"]["options"]["awslogs-group"] == backup["logConfiguration"]["options"][
        "awslogs-group"] and check["logConfiguration"]["options"]["awslogs-stream-prefix"] == "restore-check"
    statements = policies(run)["backup-restore-check-task"]
    assert sorted({a for s in statements for a in s["Action"]}) == ["kms:Decrypt", "s3:GetObject", "s3:ListBucket"]
    # ... on the backups bucket and the archive's monthly copies (restore_check.sh --archive-key), nothing else
    assert sorted(str(s["Resource"]) for s in statements if s["Action"] == ["s3:GetObject"]) == [
        "arn:aws:s3:::maratron-archive/dumps/prod/*", "arn:aws:s3:::maratron-backups/postgresql/*"]


def test_restore_check_logs_in_with_its_own_operator_written_url_never_the_backup_login(run: StackRun) -> None:
    # Restoring needs CREATE DATABASE and rds_superuser (pg_stat_statements): not app_backup's rights, and no task
    # may read the master. The scratch server's URL is a secret of its own, written by an operator per drill.
    target = run.one("aws:secretsmanager/secret:Secret", "backup-restore-target")
    assert target.inputs["name"] == "maratron-prod/backup/RESTORE_DATABASE_URL"
    assert target.inputs["kmsKeyId"] == run.one("aws:kms/key:Key", "data").outputs["arn"]
    assert target.plain("tags")["maratron:secret-kind"] == "manual"
    assert not [v for v in run.of_type("aws:secretsmanager/secretVersion:SecretVersion") if v.parent == target.urn]
    assert container(run, "backup-restore-check")["secrets"] == [
        {"name": "RESTORE_DATABASE_URL", "valueFrom": target.outputs["arn"]}]
    reads = [s["Resource"] for s in policies(run)["backup-restore-check-execution"]
             if "secretsmanager:GetSecretValue" in s["Action"]]
    assert reads == [[target.outputs["arn"]]]


def test_task_security_groups_have_no_ingress_and_only_https_egress(run: StackRun) -> None:
    assert run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == []
    egress = run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert sorted(e.name for e in egress) == ["backup-restore-check-to-https", "backup-to-https"]
    assert all((e.inputs["fromPort"], e.inputs["toPort"]) == (443, 443) for e in egress)


def test_log_group_is_encrypted_and_retained(run: StackRun) -> None:
    group = run.one("aws:cloudwatch/logGroup:LogGroup").inputs  # one group: the restore check logs into it
    assert group["kmsKeyId"] == run.one("aws:kms/key:Key", "logs").outputs["arn"]
    assert group["retentionInDays"] == 365


# --- the image's VOLUME contract (components/dockerfile.py) --------------------------------------------------------

def test_the_backup_image_declares_its_scratch_volume_owned_by_the_task_user() -> None:
    assert scratch_problems(ROOT / "ops/backup/Dockerfile", ("/tmp",), "1001:1001", task="backup") == []


DOCKERFILE_BEFORE_THE_FIX = """\
FROM public.ecr.aws/docker/library/postgres:15-alpine3.22
RUN apk add --no-cache bash aws-cli && addgroup -g 1001 -S backup && adduser -u 1001 -S -D -G backup backup
ENV BACKUP_WORK_DIR=/tmp HOME=/tmp
WORKDIR /tmp
USER 1001:1001
CMD ["backup.sh"]
"""


@pytest.mark.parametrize(("dockerfile", "scratch", "expected"), [
    (DOCKERFILE_BEFORE_THE_FIX, "/tmp", 'declares no VOLUME ["/tmp"]'),
    # ownership set after the VOLUME line is discarded by Docker
    ("FROM alpine\nVOLUME /cache\nRUN chown 1001:1001 /cache\n", "/cache", "is not owned by uid 1001"),
    ("FROM alpine\nVOLUME /cache\nRUN chown 1001:1001 /cache\n", "/cache", "change /cache after its VOLUME line 2"),
    # declared but root-owned (mkdir creates it 0755 root)
    ('FROM alpine\nRUN mkdir -p /app/cache\nVOLUME ["/app/cache"]\n', "/app/cache", "is not owned by uid 1001"),
    # /tmp made private to root before the VOLUME line
    ('FROM alpine\nRUN chmod 0700 /tmp\nVOLUME ["/tmp"]\n', "/tmp", "is not owned by uid 1001"),
    # owned by another user
    ('FROM alpine\nRUN adduser -u 1002 -D other && chown other /tmp\nVOLUME ["/tmp"]\n', "/tmp",
     "is not owned by uid 1001"),
    # a VOLUME of an earlier build stage is not in the final image
    ('FROM alpine AS build\nRUN chown 1001 /tmp\nVOLUME ["/tmp"]\nFROM alpine\nUSER 1001\n', "/tmp",
     "declares no VOLUME"),
])
def test_broken_dockerfiles_are_refused_with_the_aws_reason(tmp_path: Path, dockerfile: str, scratch: str,
                                                           expected: str) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile)
    problems = scratch_problems(path, (scratch,), "1001:1001", task="backup")
    assert any(expected in p for p in problems), problems
    assert all("bind-mounts.html" in p or "discards" in p for p in problems)


@pytest.mark.parametrize("dockerfile", [
    'FROM alpine\nRUN mkdir -p /tmp && chown 1001:1001 /tmp\nVOLUME ["/tmp"]\n',
    "FROM alpine\nRUN install -d -o 1001 -g 1001 -m 0700 /tmp\nVOLUME /tmp /var/cache\n",
    'FROM node:20-alpine\nRUN adduser --system --uid 1001 nextjs\nCOPY --chown=nextjs:nodejs cache /tmp\n'
    'VOLUME ["/tmp"]\n',
    'FROM alpine\n# a comment\nRUN mkdir -p /tmp \\\n && chown -R 1001 /tmp\nVOLUME ["/tmp/"]\n',
    'FROM alpine\nVOLUME ["/tmp"]\n',  # the base image's /tmp is 1777 (FHS); ECS copies the mode
    'FROM alpine\nRUN mkdir -p /tmp && chmod 1777 /tmp\nVOLUME ["/tmp"]\n',
])
def test_dockerfiles_that_keep_the_contract_pass(tmp_path: Path, dockerfile: str) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile)
    assert scratch_problems(path, ("/tmp",), "1001:1001", task="t") == []


def test_a_component_refuses_to_define_a_task_whose_image_breaks_the_contract(tmp_path: Path) -> None:
    from components.task import ContainerSpec, FargateTaskArgs

    (tmp_path / "Dockerfile").write_text(DOCKERFILE_BEFORE_THE_FIX)
    with pytest.raises(ValueError, match=r'declares no VOLUME \["/tmp"\]'):
        FargateTaskArgs(context=None, container=ContainerSpec(name="backup", image="i"), vpc_id="v",  # type: ignore[arg-type]
                        repository_arn="", log_key=None, image_build_context=str(tmp_path))  # type: ignore[arg-type]
