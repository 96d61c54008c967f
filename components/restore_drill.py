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
the DR region, and put metrics in the backup namespace. No secret, no ingress, egress 443 only (S3 and CloudWatch):
the drill logs in only to its own server, never with the master or backup login (the on-demand restore check into a
real server uses the operator's restore-target secret, BackupJob.restore_target / restoreTargetSecretArn).
It publishes `ReplicatedDumpAgeHours` (always) and `RestoreDrillSucceeded` (on a pass) with dimension
`Environment`; Observability's RestoreDrillWatch alarms on a missing success and on a stale DR copy, and sends a
stopped drill with a failing exit code to the alert topic at once.

Sizing: 1 vCPU and 4 GiB (pg_restore with two jobs and the server share them); ephemeral storage is the
`drDrillStorageGib` setting, where the image, the dump and the restored database live: at least
`needed_drill_storage_gib` of the database's storage ceiling, capped at Fargate's maximum (checked in stack_config:
a ceiling above what 200 GiB holds passes with 200, and the limit below applies). Fargate stops at 200 GiB
("The maximum supported value is 200 GiB", API EphemeralStorage), which holds the drill of a database of
DRILL_DATABASE_CEILING_GB (components/disaster_recovery.py); past that the drill runs out of space, fails and
pages (RestoreDrillWatch) - the runbook's cue to move it to a restore into a scratch RDS instance.

How AWS runs it: the task runs beside the backup job (RestoreDrillArgs.job) — same image, cluster, private subnets —
as uid 1001 on a read-only root filesystem. initdb and the server need a writable, uid-1001-owned /tmp: the image
declares /tmp as an owned VOLUME, so ECS copies it, ownership included, into the task's scratch volume
(ops/backup/Dockerfile, checked by components/dockerfile.py when the task is defined). The schedule is encrypted
with the backup job's CMK, like the backup's own schedule (components/task_schedule.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.backup_job import BackupJob
from components.constants import RESTORE_DRILL_COMMAND, RESTORE_DRILL_JOB, ops_metric_namespace
from components.disaster_recovery import DisasterRecovery, DisasterRecoverySettings, ReplicaBucket
from components.observability import BackupWatch, RestoreDrillWatch
from components.task import ContainerSpec, FargateTask, FargateTaskArgs, TaskSize
from components.task_schedule import schedule_task

CONTAINER_NAME = "restore-drill"
SCHEDULE_EXPRESSION = "cron(30 5 * * ? *)"
"""Daily at 05:30 UTC: after the nightly RDS backup window, away from peak traffic."""
INTERVAL_HOURS = 24
"""How often the schedule runs the drill (the alarm window is this plus its grace)."""
REPLICATION_ALLOWANCE_HOURS = 1
"""How long a finished dump may take to reach the DR region before its copy counts as stale: S3 replicates most
objects within 15 minutes (Replication Time Control guarantees it for 99.99%), and "some objects can take longer"
(S3 user guide, replication)."""


def dump_stale_hours(backup: BackupWatch) -> int:
    """When the newest DR dump is stale: one backup interval, the backup's run (its alarm's grace) and replication."""
    return backup.window_hours + REPLICATION_ALLOWANCE_HOURS


@dataclass(frozen=True)
class RestoreDrillArgs:
    """Inputs of RestoreDrill."""

    job: BackupJob
    """The backup job the drill runs beside: its image and Dockerfile, cluster, private subnets and VPC, environment
    (the `postgresql/<environment>/` prefix and the metric dimension), log key and retention, names and tags; the
    job's schedule key (the backups CMK) encrypts the drill's schedule too."""
    source: ReplicaBucket
    """The backups replica in the DR region (DisasterRecovery.replica("backups"))."""
    settings: DisasterRecoverySettings = field(default_factory=DisasterRecoverySettings)
    """drDrillStorageGib: ephemeral storage (21-200 GiB) for the image, the dump and the restored database; default
    200."""
    size: TaskSize = field(default_factory=lambda: TaskSize(cpu=1024, memory=4096))
    """Task size; default 1 vCPU, 4 GiB."""


class RestoreDrill(pulumi.ComponentResource):
    """The restore-drill task (a FargateTask) and the daily schedule that runs it."""

    task: FargateTask
    schedule: aws.scheduler.Schedule

    def __init__(self, name: str, args: RestoreDrillArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ops:RestoreDrill", name, None, opts)
        self._name = name
        self._args = args
        job = args.job.args
        self.task = FargateTask(name, FargateTaskArgs(
            context=job.context,
            removal_policy=job.removal_policy,
            container=ContainerSpec(
                name=CONTAINER_NAME,
                image=job.image,
                command=(RESTORE_DRILL_COMMAND,),
                environment={
                    "DR_BUCKET": args.source.bucket.bucket,
                    "DR_REGION": args.source.region,
                    "ENVIRONMENT": job.environment,
                    "METRIC_REGION": job.context.region,
                    "METRIC_NAMESPACE": self.metric_namespace,
                },
                scratch_paths=("/tmp",),  # the dump, the server's data directory and its socket
                stop_timeout=30,  # no health check: a batch job that exits when done
            ),
            size=args.size,
            ephemeral_storage_gib=args.settings.drill_storage_gib,
            vpc_id=job.vpc_id,
            repository_arn=job.repository_arn,
            image_build_context=job.image_build_context,  # its Dockerfile must own and declare /tmp (checked)
            log_key=job.logs_key,
            log_retention_days=job.log_retention_days,
            task_role_statements=self._role_statements(),
            name_prefix=job.name_prefix,
            tags=job.tags,
        ), opts=pulumi.ResourceOptions(parent=self))
        # Encrypted with the backup job's CMK, like the backup's schedule; its role may decrypt for it only.
        self.schedule = schedule_task(
            name, self.task, context=job.context, schedule_name=self.family, expression=SCHEDULE_EXPRESSION,
            description=f"{job.name_prefix}: restore the newest DR dump and check it (daily)",
            task_label="the restore drill task", cluster_arn=job.cluster_arn, subnet_ids=job.subnet_ids,
            kms_key_arn=job.backups_key_arn, tags=job.tags, parent=self)
        self.register_outputs({"taskDefinitionArn": self.task.task_definition.arn, "scheduleArn": self.schedule.arn})

    @classmethod
    def beside(cls, job: BackupJob, recovery: DisasterRecovery) -> RestoreDrill | None:
        """The daily drill of `recovery`'s backups replica, run beside `job`; None when DR is off."""
        if not recovery.enabled:
            return None
        return cls("restore-drill", RestoreDrillArgs(job=job, source=recovery.replica("backups"),
                                                     settings=recovery.settings))

    @property
    def task_definition(self) -> aws.ecs.TaskDefinition:
        return self.task.task_definition

    @property
    def family(self) -> str:
        """The task definition family (`group` of the tasks the schedule starts: `family:<family>`), also the
        schedule's name."""
        return f"{self._args.job.args.name_prefix}-{self._name}"

    @property
    def metric_namespace(self) -> str:
        """The CloudWatch namespace the drill publishes to, its own (`<name prefix>/restore-drill`)."""
        return ops_metric_namespace(self._args.job.args.name_prefix, RESTORE_DRILL_JOB)

    @property
    def watch(self) -> RestoreDrillWatch:
        """What Observability alarms on: the drill's metrics (dimension Environment) and its task family."""
        return RestoreDrillWatch(task_family=self.family, namespace=self.metric_namespace,
                                 dimensions={"Environment": self._args.job.args.environment},
                                 interval_hours=INTERVAL_HOURS, dump_stale_hours=dump_stale_hours(self._args.job.watch))

    def _role_statements(self) -> list[dict[str, Any]]:
        args = self._args
        return [
            *args.source.read_statements(prefix=f"postgresql/{args.job.args.environment}/"),
            # PutMetricData has no resource-level permissions; the namespace condition scopes it to the drill's own
            # (not the backup job's: a drill role could otherwise report backups that never ran).
            {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
             "Condition": {"StringEquals": {"cloudwatch:namespace": self.metric_namespace}}},
        ]
