"""Scheduled logical backups: EventBridge Scheduler runs a Fargate task that pg_dumps the database to S3.

The seed's `backup-script.sh` ran from cron on a host every 6 hours. Here the same job is an ECS Fargate task
(image: ops/backup/Dockerfile) started by an EventBridge Scheduler schedule, so there is no host to patch and the
schedule, retries and permissions are code. The task dumps over TLS, verifies the archive, uploads it with SSE-KMS
and publishes `BackupSucceeded` in the stack's own backup namespace (`<name prefix>/backup`,
components/constants.py ops_metric_namespace); the observability component alarms
when that metric goes missing.

These dumps complement, not replace, RDS automated backups (PITR within the retention window): they are portable,
object-locked in the backups bucket and restorable into any PostgreSQL (docs/runbooks/database-restore.md).

The way AWS runs it:
- the task runs as uid 1001 on a read-only root filesystem; the dump is staged in /tmp, a task volume the image
  declares as an owned VOLUME (ops/backup/Dockerfile, checked by components/dockerfile.py when the task is defined);
- that volume lives on the task's ephemeral storage: 20 GiB unless raised (up to 200 GiB), so its size follows the
  database's storage ceiling (`backupEphemeralStorageGib`, checked in stack_config);
- the schedule is encrypted with the backups CMK (EventBridge Scheduler `kmsKeyArn`); Scheduler decrypts the target
  payload with the execution role's own permissions — it "does not support using grants" — so that role holds
  kms:Decrypt on the key, limited to this schedule's encryption context
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/encryption-rest.html; components/task_schedule.py, which
  schedules the restore drill the same way);
- the restore check (`restore_check.sh`) is its own task definition with a read-only role: the backup role can only
  write, so running the check from the backup task definition would be denied (s3:ListBucket, s3:GetObject);
- the restore check logs in to its scratch server with `RESTORE_DATABASE_URL`, a secret of its own that an operator
  writes before a drill (docs/runbooks/database-restore.md): restoring needs CREATE DATABASE and, for
  pg_stat_statements (not a trusted extension), rds_superuser - the master's rights, which no task may hold
  (`no-master-secret-in-tasks`), and app_backup has neither. A PITR copy's master password is the source's at the
  restore time, not the rotated secret's, so the operator sets one on the copy and writes that URL; no secret ever
  travels in `run-task --overrides`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import (
    RETAIN,
    AwsContext,
    RemovalPolicy,
    SecretRef,
    managed_secret,
    named_tags,
)
from components.connections import Connections
from components.constants import (
    BACKUP_JOB,
    CREDENTIAL_TAG,
    PROJECT,
    Credential,
    ops_metric_namespace,
)
from components.observability import BackupWatch
from components.settings import setting
from components.task import (
    EPHEMERAL_STORAGE_GIB,
    FARGATE_EPHEMERAL_STORAGE_GIB,
    ContainerSpec,
    FargateTask,
    FargateTaskArgs,
    TaskSize,
)
from components.task_schedule import schedule_task

CONTAINER_NAME = "backup"
RESTORE_CHECK_CONTAINER_NAME = "restore-check"
DUMP_TO_STORAGE_RATIO = 0.5
"""Assumed ceiling of a compressed custom-format dump relative to the database's allocated storage (a dump holds no
indexes, WAL or free space and compresses text several-fold; 0.5 is deliberately generous)."""


def _check_ephemeral_storage(value: int) -> str | None:
    low, high = EPHEMERAL_STORAGE_GIB
    if value == FARGATE_EPHEMERAL_STORAGE_GIB or low <= value <= high:
        return None
    return f"must be {FARGATE_EPHEMERAL_STORAGE_GIB} (the Fargate default) or {low}-{high} GiB"


def needed_ephemeral_storage_gib(max_allocated_storage_gb: int) -> int:
    """Ephemeral storage the dump needs for a database that may grow to `max_allocated_storage_gb`: the dump at
    DUMP_TO_STORAGE_RATIO, at least Fargate's 20 GiB and at most its 200 GiB."""
    low, high = EPHEMERAL_STORAGE_GIB
    needed = math.ceil(max_allocated_storage_gb * DUMP_TO_STORAGE_RATIO)
    return 20 if needed <= 20 else min(max(needed, low), high)


@dataclass(frozen=True, kw_only=True)
class BackupJobSettings:
    """The configurable part of the backup job."""

    ephemeral_storage_gib: int = setting(
        "backupEphemeralStorageGib", 200, "Ephemeral storage of the backup task in GiB (20-200), where the dump is "
        "staged and verified before the upload; at least half of dbMaxAllocatedStorageGb (capped at 200).",
        check=_check_ephemeral_storage)


SCHEDULE_RATE = re.compile(r"^rate\((?:(?P<one>1) hour|(?P<hours>[2-9]|1\d|2[0-3]) hours)\)$")
"""EventBridge Scheduler's rate: the singular unit for 1, the plural otherwise ("rate(1 hour)", "rate(6 hours)")."""


def schedule_interval_hours(expression: str) -> int | None:
    """The hours between runs of a rate(N hours) schedule (1-23), None for anything else."""
    match = SCHEDULE_RATE.match(expression)
    if not match:
        return None
    return 1 if match["one"] else int(match["hours"])


@dataclass(frozen=True)
class MonthlyArchive:
    """The archive bucket's share of the backup job (BackupStorage.monthly_archive)."""

    bucket_name: pulumi.Input[str]
    """The archive bucket."""
    prefix: str
    """Key prefix of the monthly copies (dumps/<environment>/); the job adds YYYY/MM/."""
    statements: list[dict[str, Any]]
    """IAM statements for the backup task: list the prefix, put objects under it with the backups key."""
    read_statements: list[dict[str, Any]]
    """IAM statements for the restore check: list and read the copies (`restore_check.sh --archive-key`)."""


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
    """DATABASE_URL the dump is taken with (app_backup, direct to the primary); injected through ECS `secrets`,
    never `environment`."""
    secrets_key: aws.kms.Key
    """CMK of the restore check's RESTORE_DATABASE_URL secret (EncryptionKeys.data)."""
    bucket_name: pulumi.Input[str]
    """Backups bucket the archives go to."""
    bucket_write_statements: list[dict[str, Any]]
    """IAM statements letting the task put archives into the bucket with its KMS key (BackupStorage)."""
    backups_key_arn: pulumi.Input[str]
    """CMK the archives are encrypted with (SSE-KMS), passed to the script for the upload; it also encrypts the
    schedule (EventBridge Scheduler kmsKeyArn)."""
    bucket_read_statements: list[dict[str, Any]]
    """IAM statements letting the restore check list and read the archives (BackupStorage.read_backups_statements)."""
    archive: MonthlyArchive | None
    """Where the first dump of each UTC month is also copied (BackupStorage.monthly_archive): the archive bucket
    keeps it for years, the backups bucket only backupExpirationDays; None: no monthly copy (say so explicitly)."""
    logs_key: aws.kms.Key
    """CMK of the task's log group."""
    log_retention_days: int
    """Retention of the task's log group."""
    image_build_context: str = ""
    """Directory of the backup image's Dockerfile when this repository builds it (its VOLUME lines are checked)."""
    settings: BackupJobSettings = field(default_factory=BackupJobSettings)
    """Ephemeral storage for the staged dump; default 200 GiB."""
    schedule_expression: str = "rate(6 hours)"
    """When the job runs, rate(N hours) with N from 1 to 23 (the backup-missing alarm's window follows it: CloudWatch
    evaluates at most a day of hourly periods); default every 6 hours, as the seed's cron."""
    size: TaskSize = field(default_factory=lambda: TaskSize(cpu=512, memory=1024))
    """Task size; default 0.5 vCPU (pg_dump is I/O bound; gzip uses one core) and 1 GiB. The dump is staged in /tmp
    on the task's ephemeral storage (settings.ephemeral_storage_gib)."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): the restore-target secret stays recoverable for 30 days after deletion; destroy: not."""
    name_prefix: str = PROJECT
    """Readable prefix for names; the restore target is `<prefix>/backup/RESTORE_DATABASE_URL`."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        if schedule_interval_hours(self.schedule_expression) is None:
            raise ValueError(f"BackupJobArgs.schedule_expression {self.schedule_expression!r}: must be rate(N hours) "
                             "with N from 1 to 23, so the backup-missing alarm can watch one interval plus an hour")

    @property
    def interval_hours(self) -> int:
        return schedule_interval_hours(self.schedule_expression) or 0


class BackupJob(pulumi.ComponentResource):
    """The hardened backup task (a FargateTask) and the schedule that runs it."""

    task: FargateTask
    """Task definition, roles, security group and log group; grant database access with `grant(backup, database)`."""
    restore_check: FargateTask
    """`restore_check.sh --drop` as its own task (same image, read-only role); grant it the database it restores
    into (`grant(backup_job.restore_check, database)`)."""
    restore_target: SecretRef
    """RESTORE_DATABASE_URL of the restore check: no value from Pulumi; an operator writes the scratch server's URL."""
    schedule: aws.scheduler.Schedule

    def __init__(self, name: str, args: BackupJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ops:BackupJob", name, None, opts)
        self._name = name
        self._args = args
        ctx = args.context
        child = pulumi.ResourceOptions(parent=self)

        self.task = FargateTask(name, FargateTaskArgs(
            context=ctx,
            removal_policy=args.removal_policy,
            container=ContainerSpec(
                name=CONTAINER_NAME,
                image=args.image,
                environment={
                    "BACKUPS_BUCKET": args.bucket_name,
                    "BACKUPS_KMS_KEY_ARN": args.backups_key_arn,
                    "ENVIRONMENT": args.environment,
                    "AWS_REGION": ctx.region,
                    "METRIC_NAMESPACE": self.metric_namespace,
                    **({"ARCHIVE_BUCKET": args.archive.bucket_name, "ARCHIVE_PREFIX": args.archive.prefix}
                       if args.archive else {}),
                },
                secrets={"DATABASE_URL": args.database_url},
                scratch_paths=("/tmp",),  # the dump is written here before the upload
                stop_timeout=120,  # let an upload in flight finish
            ),
            size=args.size,
            vpc_id=args.vpc_id,
            repository_arn=args.repository_arn,
            log_key=args.logs_key,
            log_retention_days=args.log_retention_days,
            task_role_statements=[
                *args.bucket_write_statements,
                *(args.archive.statements if args.archive else []),
                # PutMetricData has no resource-level permissions; the namespace condition scopes it to this job's.
                {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
                 "Condition": {"StringEquals": {"cloudwatch:namespace": self.metric_namespace}}},
            ],
            image_build_context=args.image_build_context,
            ephemeral_storage_gib=args.settings.ephemeral_storage_gib,
            name_prefix=args.name_prefix,
            tags=args.tags,
        ), opts=child)
        self.restore_target = managed_secret(
            f"{name}-restore-target", name=f"{args.name_prefix}/backup/RESTORE_DATABASE_URL",
            description=f"{args.name_prefix}: RESTORE_DATABASE_URL of the restore check (a scratch server's admin URL, "
                        "written by an operator before a drill; never the live primary)",
            value=None, key=args.secrets_key, parent=self, removal_policy=args.removal_policy,
            # Written by a person per drill (docs/runbooks/database-restore.md), so no rotation schedule.
            tags={**self._tags("restore-target"), CREDENTIAL_TAG: Credential.MANUAL.value})
        self.restore_check = self._restore_check()

        # The schedule is encrypted with the backups CMK; its role may decrypt for this schedule only.
        self.schedule = schedule_task(
            name, self.task, context=ctx, schedule_name=f"{args.name_prefix}-backup",
            expression=args.schedule_expression, description=f"{args.name_prefix}: pg_dump to S3 "
            f"({args.schedule_expression})", task_label="the backup task", cluster_arn=args.cluster_arn,
            subnet_ids=args.subnet_ids, kms_key_arn=args.backups_key_arn, tags=args.tags, parent=self)
        self.register_outputs({"taskDefinitionArn": self.task_definition.arn, "scheduleArn": self.schedule.arn,
                               "restoreCheckTaskDefinitionArn": self.restore_check.task_definition.arn,
                               "restoreTargetSecretArn": self.restore_target.arn})

    @property
    def args(self) -> BackupJobArgs:
        """The job's inputs: where it runs and with which image, for tasks that run beside it (the restore drill)."""
        return self._args

    @property
    def metric_namespace(self) -> str:
        """The CloudWatch namespace the job publishes to, its own (`<name prefix>/backup`): no other stack's or job's
        role may put metrics in it (constants.ops_metric_namespace)."""
        return ops_metric_namespace(self._args.name_prefix, BACKUP_JOB)

    @property
    def watch(self) -> BackupWatch:
        """What Observability alarms on: the success metric the job publishes (dimension Environment)."""
        return BackupWatch(namespace=self.metric_namespace, dimensions={"Environment": self._args.environment},
                           interval_hours=self._args.interval_hours)

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

    def _restore_check(self) -> FargateTask:
        """The restore check as a task: downloads the newest archive (read-only role), restores it into a scratch
        database on the server RESTORE_DATABASE_URL names (its own secret), checks it, drops it. Runs only when
        someone starts it (docs/runbooks/database-restore.md)."""
        args = self._args
        return FargateTask(f"{self._name}-restore-check", FargateTaskArgs(
            context=args.context,
            removal_policy=args.removal_policy,
            container=ContainerSpec(
                name=RESTORE_CHECK_CONTAINER_NAME,
                image=args.image,
                environment={"BACKUPS_BUCKET": args.bucket_name, "ENVIRONMENT": args.environment,
                             "AWS_REGION": args.context.region,
                             **({"ARCHIVE_BUCKET": args.archive.bucket_name} if args.archive else {})},
                secrets={"RESTORE_DATABASE_URL": self.restore_target},
                scratch_paths=("/tmp",),  # the archive is downloaded here
                command=("restore_check.sh", "--drop"),
                stop_timeout=120,
            ),
            size=args.size,
            vpc_id=args.vpc_id,
            repository_arn=args.repository_arn,
            log_key=args.logs_key,
            log_group=self.task.log_group,
            log_stream_prefix=RESTORE_CHECK_CONTAINER_NAME,
            log_retention_days=args.log_retention_days,
            task_role_statements=[*args.bucket_read_statements,
                                  *(args.archive.read_statements if args.archive else [])],
            image_build_context=args.image_build_context,
            ephemeral_storage_gib=args.settings.ephemeral_storage_gib,
            name_prefix=args.name_prefix,
            tags=args.tags,
        ), opts=pulumi.ResourceOptions(parent=self))
