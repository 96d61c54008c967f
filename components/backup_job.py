"""Scheduled logical backups: EventBridge Scheduler runs a Fargate task that pg_dumps the database to S3.

The seed's `backup-script.sh` ran from cron on a host every 6 hours. Here the same job is an ECS Fargate task
(image: ops/backup/Dockerfile) started by an EventBridge Scheduler schedule, so there is no host to patch and the
schedule, retries and permissions are code. The task dumps over TLS, verifies the archive, uploads it with SSE-KMS
and publishes `Maratron/Backups BackupSucceeded`; the observability component alarms when that metric goes missing.

These dumps complement, not replace, RDS automated backups (PITR within the retention window): they are portable,
object-locked in the backups bucket and restorable into any PostgreSQL (docs/runbooks/database-restore.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, SecretRef, assume_role_policy, named_tags, policy_json

METRIC_NAMESPACE = "Maratron/Backups"
METRIC_NAME = "BackupSucceeded"
CONTAINER_NAME = "backup"
BACKUP_UID = "1001:1001"


@dataclass(frozen=True)
class BackupJobArgs:
    """Inputs of BackupJob."""

    context: AwsContext
    """Account, partition and region."""
    environment: str
    """Environment name; part of the object key layout (postgresql/<environment>/YYYY/MM/DD/...)."""
    cluster_arn: pulumi.Input[str]
    """ECS cluster the task runs in."""
    vpc_id: pulumi.Input[str]
    """VPC of the task's security group."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private app subnets the task runs in (no public IP)."""
    image: pulumi.Input[str]
    """Backup image reference (repository@sha256:digest), built from ops/backup/Dockerfile."""
    repository_arn: pulumi.Input[str]
    """ECR repository of that image: the only one the execution role may pull from."""
    database_url: SecretRef
    """DATABASE_URL of the writer (sslmode=require); injected through ECS `secrets`, never `environment`."""
    bucket_name: pulumi.Input[str]
    """Backups bucket the archives go to."""
    bucket_write_statements: list[dict[str, Any]]
    """IAM statements letting the task put archives into the bucket with its KMS key (BackupStorage)."""
    backups_key_arn: pulumi.Input[str]
    """CMK the archives are encrypted with (SSE-KMS), passed to the script for the upload."""
    logs_key: aws.kms.Key
    """CMK of the task's log group."""
    log_retention_days: int
    """Retention of the task's log group."""
    schedule_expression: str = "rate(6 hours)"
    """When the job runs; default every 6 hours, as the seed's cron."""
    cpu: int = 512
    """Task CPU units; default 0.5 vCPU (pg_dump is I/O bound; gzip uses one core)."""
    memory: int = 1024
    """Task memory in MiB; default 1 GiB."""
    scratch_gib: int = 21
    """Ephemeral storage for the dump before upload, in GiB (21-200); default 21, Fargate's minimum."""
    name_prefix: str = "maratron"
    """Readable prefix for names."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""


class BackupJob(pulumi.ComponentResource):
    """Task definition, roles, security group, log group and the schedule that runs the backup."""

    security_group: aws.ec2.SecurityGroup
    """The task's security group: no ingress; grant it database access with `database.allow_from(...)`."""
    task_definition: aws.ecs.TaskDefinition
    schedule: aws.scheduler.Schedule
    log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, args: BackupJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ops:BackupJob", name, None, opts)
        self._name = name
        self._args = args
        ctx = args.context
        child = pulumi.ResourceOptions(parent=self)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/{args.name_prefix}/ecs/backup",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_key.arn,
            tags=self._tags("logs"),
            opts=child,
        )
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-task",
            vpc_id=args.vpc_id,
            description="Backup task: no ingress; egress to the database and AWS APIs only",
            tags=self._tags("task"),
            opts=child,
        )
        # AWS APIs (S3, Secrets Manager, CloudWatch, ECR) over HTTPS, through endpoints or the NAT gateway.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-task-https",
            security_group_id=self.security_group.id,
            description="HTTPS to AWS APIs",
            ip_protocol="tcp", from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0",
            tags=self._tags("task-https"),
            opts=pulumi.ResourceOptions(parent=self.security_group),
        )

        execution_role = aws.iam.Role(
            f"{name}-execution",
            description="Starts the backup task: pulls its image, writes its logs, reads DATABASE_URL",
            assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com", source_account=ctx.account_id),
            tags=self._tags("execution"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-execution",
            role=execution_role.id,
            policy=policy_json([
                {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
                {"Effect": "Allow",
                 "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                 "Resource": args.repository_arn},
                {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": self.log_group.arn.apply(lambda arn: f"{arn}:*")},
                *args.database_url.read_statements(),
            ]),
            opts=pulumi.ResourceOptions(parent=execution_role),
        )
        task_role = aws.iam.Role(
            f"{name}-task",
            description="What the backup script calls: put archives into the backups bucket, publish its metric",
            assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com", source_account=ctx.account_id),
            tags=self._tags("task-role"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-task",
            role=task_role.id,
            policy=policy_json([
                *args.bucket_write_statements,
                # PutMetricData has no resource-level permissions; the namespace condition scopes it.
                {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
                 "Condition": {"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}}},
            ]),
            opts=pulumi.ResourceOptions(parent=task_role),
        )

        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=f"{args.name_prefix}-backup",
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(args.cpu),
            memory=str(args.memory),
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "ARM64"},
            ephemeral_storage={"size_in_gib": args.scratch_gib},
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            volumes=[{"name": "scratch"}],
            container_definitions=pulumi.Output.all(
                image=args.image, secret=args.database_url.arn, bucket=args.bucket_name,
                key=args.backups_key_arn, group=self.log_group.name,
            ).apply(lambda v: json.dumps([self._container(v)])),
            tags=self._tags("task"),
            opts=child,
        )

        scheduler_role = aws.iam.Role(
            f"{name}-scheduler",
            description="Lets EventBridge Scheduler start the backup task",
            assume_role_policy=assume_role_policy("scheduler.amazonaws.com", source_account=ctx.account_id),
            tags=self._tags("scheduler"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-scheduler",
            role=scheduler_role.id,
            policy=policy_json([
                {"Effect": "Allow", "Action": ["ecs:RunTask"],
                 "Resource": [self.task_definition.arn_without_revision.apply(lambda arn: f"{arn}:*")],
                 "Condition": {"ArnLike": {"ecs:cluster": args.cluster_arn}}},
                # propagate_tags makes RunTask tag the task: allowed only as part of RunTask.
                {"Effect": "Allow", "Action": ["ecs:TagResource"], "Resource": "*",
                 "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}}},
                {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [execution_role.arn, task_role.arn],
                 "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
            ]),
            opts=pulumi.ResourceOptions(parent=scheduler_role),
        )
        self.schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            description=f"{args.name_prefix}: pg_dump to S3 ({args.schedule_expression})",
            schedule_expression=args.schedule_expression,
            schedule_expression_timezone="UTC",
            flexible_time_window={"mode": "OFF"},
            state="ENABLED",
            target={
                "arn": args.cluster_arn,
                "role_arn": scheduler_role.arn,
                "ecs_parameters": {
                    "task_definition_arn": self.task_definition.arn,
                    "launch_type": "FARGATE",
                    "platform_version": "LATEST",
                    "task_count": 1,
                    "propagate_tags": "TASK_DEFINITION",
                    "network_configuration": {
                        "subnets": list(args.subnet_ids),
                        "security_groups": [self.security_group.id],
                        "assign_public_ip": False,
                    },
                },
                # A missed run is retried for an hour; after that the missing-backup alarm takes over.
                "retry_policy": {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 3},
            },
            opts=child,
        )
        self.register_outputs({"taskDefinitionArn": self.task_definition.arn, "scheduleArn": self.schedule.arn})

    def _tags(self, suffix: str) -> dict[str, str]:
        return named_tags(self._args.tags, f"{self._args.name_prefix}-backup-{suffix}")

    def _container(self, v: dict[str, Any]) -> dict[str, Any]:
        args = self._args
        return {
            "name": CONTAINER_NAME,
            "image": v["image"],
            "essential": True,
            "user": BACKUP_UID,
            "readonlyRootFilesystem": True,
            "privileged": False,
            "linuxParameters": {"capabilities": {"drop": ["ALL"]}, "initProcessEnabled": True},
            "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False}],
            "environment": [
                {"name": "BACKUPS_BUCKET", "value": v["bucket"]},
                {"name": "BACKUPS_KMS_KEY_ARN", "value": v["key"]},
                {"name": "ENVIRONMENT", "value": args.environment},
                {"name": "AWS_REGION", "value": args.context.region},
                {"name": "METRIC_NAMESPACE", "value": METRIC_NAMESPACE},
            ],
            "secrets": [{"name": "DATABASE_URL", "valueFrom": v["secret"]}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": v["group"], "awslogs-region": args.context.region,
                            "awslogs-stream-prefix": "backup", "mode": "non-blocking"},
            },
            "stopTimeout": 120,
        }
