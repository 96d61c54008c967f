"""The daily restore drill: a Fargate task restores the newest dump of the DR copy and proves it usable.

The guide asks for a "disaster recovery plan tested"; a plan is tested when a restore from the DR copy succeeds on a
schedule and a missed or failed one pages someone. Every day EventBridge Scheduler runs the backup image's
`restore_drill.sh` (ops/backup/): it picks the newest `postgresql/<env>/...dump` in the backups *replica* (so the
backup job, S3 replication, the DR key and the dump are proven together), restores it into a PostgreSQL 15 server
it starts inside the task (the image's own server binaries, as uid 1001, on 127.0.0.1 only, data on the task's
scratch volume) and runs `restore_check.sh` (tables, extensions, latest migration).

Why a server inside the task and not a scratch RDS instance: an RDS restore takes 20+ minutes and costs an instance
for that time, needs rds:* permissions on the drill's role and a network path plus a secret; the question the drill
answers ("does the newest DR dump restore into PostgreSQL 15?") needs none of that. RDS point-in-time restores from
the replicated automated backups are rehearsed on the game day (docs/runbooks/disaster-recovery.md).

The task's role may only list and read the dump prefix of the replica bucket, decrypt with the DR key through S3 in
the DR region, and put metrics in the backup namespace. No secret, no ingress, egress 443 only (S3 and CloudWatch).
It publishes `ReplicatedDumpAgeHours` (always) and `RestoreDrillSucceeded` (on a pass) with dimension
`Environment`; Observability's RestoreDrillWatch alarms on a missing success and on a stale DR copy, and sends a
stopped drill with a failing exit code to the alert topic at once.

Sizing: 1 vCPU and 4 GiB (pg_restore with two jobs and the server share them); ephemeral storage is the
`drDrillStorageGib` setting (the image, the dump and the restored database live there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, assume_role_policy, named_tags, policy_json
from components.constants import BACKUP_METRIC_NAMESPACE, PROJECT, RESTORE_DRILL_COMMAND
from components.disaster_recovery import ReplicaBucket
from components.observability import RestoreDrillWatch
from components.task import ContainerSpec, FargateTask, FargateTaskArgs, TaskSize

CONTAINER_NAME = "restore-drill"
SCHEDULE_EXPRESSION = "cron(30 5 * * ? *)"
"""Daily at 05:30 UTC: after the nightly RDS backup window, away from peak traffic."""
INTERVAL_HOURS = 24
"""How often the schedule runs the drill (the alarm window is this plus its grace)."""


@dataclass(frozen=True)
class RestoreDrillArgs:
    """Inputs of RestoreDrill."""

    context: AwsContext
    """Account, partition and region (the metrics go to this region)."""
    environment: str
    """Whose dumps to restore: the `postgresql/<environment>/` prefix, and the metric dimension."""
    source: ReplicaBucket
    """The backups replica in the DR region (DisasterRecovery.replica("backups"))."""
    cluster_arn: pulumi.Input[str]
    """ECS cluster the task runs in."""
    vpc_id: pulumi.Input[str]
    """VPC of the task's security group."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private app subnets (no public IP; S3 and CloudWatch through the NAT gateways or endpoints)."""
    image: pulumi.Input[str]
    """The backup image (ops/backup): PostgreSQL 15 server and client, AWS CLI, the drill scripts."""
    repository: aws.ecr.Repository
    """That image's repository: the only one the execution role may pull from."""
    logs_key: aws.kms.Key
    """CMK of the task's log group."""
    log_retention_days: int
    """Retention of the task's log group."""
    storage_gib: int = 50
    """Ephemeral storage in GiB (21-200): image, dump and the restored database; default 50."""
    size: TaskSize = field(default_factory=lambda: TaskSize(cpu=1024, memory=4096))
    """Task size; default 1 vCPU, 4 GiB."""
    name_prefix: str = PROJECT
    """Readable prefix for names."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""


class RestoreDrill(pulumi.ComponentResource):
    """The restore-drill task (a FargateTask) and the daily schedule that runs it."""

    task: FargateTask
    schedule: aws.scheduler.Schedule

    def __init__(self, name: str, args: RestoreDrillArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ops:RestoreDrill", name, None, opts)
        self._name = name
        self._args = args
        ctx = args.context
        child = pulumi.ResourceOptions(parent=self)
        self.task = FargateTask(name, FargateTaskArgs(
            context=ctx,
            container=ContainerSpec(
                name=CONTAINER_NAME,
                image=args.image,
                command=(RESTORE_DRILL_COMMAND,),
                environment={
                    "DR_BUCKET": args.source.bucket.bucket,
                    "DR_REGION": args.source.region,
                    "ENVIRONMENT": args.environment,
                    "METRIC_REGION": ctx.region,
                    "METRIC_NAMESPACE": BACKUP_METRIC_NAMESPACE,
                },
                scratch_paths=("/tmp",),  # the dump, the server's data directory and its socket
                health_check=False,  # a batch job: it exits when done
                stop_timeout=30,
            ),
            size=args.size,
            ephemeral_storage_gib=args.storage_gib,
            vpc_id=args.vpc_id,
            repository=args.repository,
            log_key=args.logs_key,
            log_retention_days=args.log_retention_days,
            task_role_statements=self._role_statements(),
            name_prefix=args.name_prefix,
            tags=args.tags,
        ), opts=child)
        self.schedule = self._schedule()
        self.register_outputs({"taskDefinitionArn": self.task.task_definition.arn, "scheduleArn": self.schedule.arn})

    @property
    def task_definition(self) -> aws.ecs.TaskDefinition:
        return self.task.task_definition

    @property
    def family(self) -> str:
        """The task definition family (`group` of the tasks the schedule starts: `family:<family>`)."""
        return f"{self._args.name_prefix}-{self._name}"

    @property
    def watch(self) -> RestoreDrillWatch:
        """What Observability alarms on: the drill's metrics (dimension Environment) and its task family."""
        return RestoreDrillWatch(task_family=self.family, dimensions={"Environment": self._args.environment},
                                 interval_hours=INTERVAL_HOURS)

    def _role_statements(self) -> list[dict[str, Any]]:
        args = self._args
        return [
            *args.source.read_statements(prefix=f"postgresql/{args.environment}/"),
            # PutMetricData has no resource-level permissions; the namespace condition scopes it.
            {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
             "Condition": {"StringEquals": {"cloudwatch:namespace": BACKUP_METRIC_NAMESPACE}}},
        ]

    def _schedule(self) -> aws.scheduler.Schedule:
        args, ctx, name = self._args, self._args.context, self._name
        role = aws.iam.Role(
            f"{name}-scheduler",
            description="Lets EventBridge Scheduler start the restore drill task",
            assume_role_policy=assume_role_policy("scheduler.amazonaws.com", source_account=ctx.account_id),
            tags=named_tags(args.tags, f"{args.name_prefix}-{name}-scheduler"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-scheduler",
            role=role.id,
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
            opts=pulumi.ResourceOptions(parent=role),
        )
        return aws.scheduler.Schedule(
            f"{name}-schedule",
            description=f"{args.name_prefix}: restore the newest DR dump and check it (daily)",
            schedule_expression=SCHEDULE_EXPRESSION,
            schedule_expression_timezone="UTC",
            flexible_time_window={"mode": "OFF"},
            state="ENABLED",
            target={
                "arn": args.cluster_arn,
                "role_arn": role.arn,
                "ecs_parameters": {
                    "task_definition_arn": self.task_definition.arn,
                    "launch_type": "FARGATE",
                    "platform_version": "LATEST",
                    "task_count": 1,
                    "propagate_tags": "TASK_DEFINITION",
                    "network_configuration": {
                        "subnets": list(args.subnet_ids),
                        "security_groups": [self.task.security_group.id],
                        "assign_public_ip": False,
                    },
                },
                # A run that cannot start is retried for an hour; after that the missing-drill alarm takes over.
                "retry_policy": {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 3},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
