"""Scheduled logical backups: EventBridge Scheduler runs a Fargate task that pg_dumps the database to S3.

The seed's `backup-script.sh` ran from cron on a host every 6 hours. Here the same job is an ECS Fargate task
(image: ops/backup/Dockerfile) started by an EventBridge Scheduler schedule, so there is no host to patch and the
schedule, retries and permissions are code. The task dumps over TLS, verifies the archive, uploads it with SSE-KMS
and publishes `Maratron/Backups BackupSucceeded` (components/constants.py); the observability component alarms
when that metric goes missing.

These dumps complement, not replace, RDS automated backups (PITR within the retention window): they are portable,
object-locked in the backups bucket and restorable into any PostgreSQL (docs/runbooks/database-restore.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, SecretRef, assume_role_policy, named_tags, policy_json
from components.connections import Connections
from components.constants import BACKUP_METRIC_NAMESPACE, PROJECT
from components.task import ContainerSpec, FargateTask, FargateTaskArgs, TaskSize

CONTAINER_NAME = "backup"


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
    """The foundation's repository of that image: the only one the execution role may pull from."""
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
    size: TaskSize = field(default_factory=lambda: TaskSize(cpu=512, memory=1024))
    """Task size; default 0.5 vCPU (pg_dump is I/O bound; gzip uses one core) and 1 GiB. The dump is staged in the
    task's 20 GiB ephemeral storage (/tmp)."""
    name_prefix: str = PROJECT
    """Readable prefix for names."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""


class BackupJob(pulumi.ComponentResource):
    """The hardened backup task (a FargateTask) and the schedule that runs it."""

    task: FargateTask
    """Task definition, roles, security group and log group; grant database access with `grant(backup, database)`."""
    schedule: aws.scheduler.Schedule

    def __init__(self, name: str, args: BackupJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ops:BackupJob", name, None, opts)
        self._name = name
        self._args = args
        ctx = args.context
        child = pulumi.ResourceOptions(parent=self)

        self.task = FargateTask(name, FargateTaskArgs(
            context=ctx,
            container=ContainerSpec(
                name=CONTAINER_NAME,
                image=args.image,
                environment={
                    "BACKUPS_BUCKET": args.bucket_name,
                    "BACKUPS_KMS_KEY_ARN": args.backups_key_arn,
                    "ENVIRONMENT": args.environment,
                    "AWS_REGION": ctx.region,
                    "METRIC_NAMESPACE": BACKUP_METRIC_NAMESPACE,
                },
                secrets={"DATABASE_URL": args.database_url},
                scratch_paths=("/tmp",),  # the dump is written here before the upload
                health_check=False,  # a batch job: it exits when done
                stop_timeout=120,  # let an upload in flight finish
            ),
            size=args.size,
            vpc_id=args.vpc_id,
            repository_arn=args.repository_arn,
            log_key=args.logs_key,
            log_retention_days=args.log_retention_days,
            task_role_statements=[
                *args.bucket_write_statements,
                # PutMetricData has no resource-level permissions; the namespace condition scopes it.
                {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
                 "Condition": {"StringEquals": {"cloudwatch:namespace": BACKUP_METRIC_NAMESPACE}}},
            ],
            name_prefix=args.name_prefix,
            tags=args.tags,
        ), opts=child)

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
                {"Effect": "Allow", "Action": ["iam:PassRole"],
                 "Resource": [self.task.execution_role.arn, self.task.task_role.arn],
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

    @property
    def task_definition(self) -> aws.ecs.TaskDefinition:
        return self.task.task_definition

    @property
    def security_group(self) -> aws.ec2.SecurityGroup:
        """The task's security group: no ingress; grant it database access with `grant(backup, database)`."""
        return self.task.security_group

    @property
    def connections(self) -> Connections:
        """The backup task, for grants (it needs only `grant(backup_job, database)`)."""
        return self.task.connections

    @property
    def log_group(self) -> aws.cloudwatch.LogGroup:
        return self.task.log_group

    def _tags(self, suffix: str) -> dict[str, str]:
        return named_tags(self._args.tags, f"{self._args.name_prefix}-backup-{suffix}")
