"""S3 storage for backups that live outside RDS: a backups bucket, a WAL/archive bucket and their access-logs bucket.

What RDS already does (and these buckets do not replace): automated daily snapshots plus its own transaction-log
archive give point-in-time restore to any second within the backup retention; manual/final snapshots outlive it.
RDS does not let anyone set `archive_command`, so the guide's `aws s3 cp %p s3://.../wal/%f` cannot exist on RDS
and PostgreSQL WAL never lands in a bucket of ours. What the buckets receive:

- **backups**: the guide's 6-hourly `pg_dump | gzip` archives, written by the scheduled job (operations issue) under
  `postgresql/`. Logical dumps survive what snapshots do not: deleting the instance with its automated backups,
  a bad migration noticed after the retention, restoring one table, moving to another engine version or account.
  Object Lock (default retention per environment) makes each dump immutable for that long, even to an attacker
  holding admin credentials (COMPLIANCE mode).
- **archive** (the "WAL" bucket of the guide, renamed for what it can hold on RDS): snapshot exports
  (`StartExportTask`, Parquet, via `snapshot_export_role`) and the first dump of each month, which the backup job
  also copies under `dumps/<environment>/YYYY/MM/` (`monthly_archive`), kept for years in GLACIER_IR.
- **access-logs**: S3 server access logs of the two buckets above and of every other bucket of the stack (the ALB's
  log bucket; `access_logs_for`): who read or wrote which dump. It must use SSE-S3: server access logging cannot
  deliver to an SSE-KMS bucket (the documented log-target exception of SecureBucket).

Every bucket is a SecureBucket (components/secure_bucket.py): the hardening lives there, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.backup_job import MonthlyArchive
from components.base import RETAIN, AwsContext, RemovalPolicy, assume_role_policy, named_tags, policy_json, retains
from components.constants import LOG_RETENTION_DAYS, PROJECT
from components.disaster_recovery import ReplicationSource
from components.secure_bucket import (
    ABORT_MULTIPART_DAYS,
    NONCURRENT_VERSION_DAYS,
    Lifecycle,
    ObjectLock,
    SecureBucket,
    SecureBucketArgs,
    ServerAccessLogs,
    ServerAccessLogTarget,
    Transition,
    transitions,
)
from components.settings import Rules, require_valid, setting

BucketKind = Literal["backups", "archive", "access-logs"]


ObjectLockMode = Literal["GOVERNANCE", "COMPLIANCE"]
SNAPSHOT_EXPORT_KMS_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                               "kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant")
"""What an RDS snapshot export needs on the key it writes with (USER_ExportSnapshot, the IAM example for a key of
another account, which lists exactly these); the pack's rds-export-role-kms rule requires them on that key."""
STANDARD_IA_MIN_DAYS = 30
"""S3 rejects a lifecycle transition to STANDARD_IA earlier than 30 days after creation."""


@dataclass(frozen=True, kw_only=True)
class BackupStorageSettings:
    """The configurable part of backup storage: Object Lock, lifecycle, and whether destroy may empty buckets."""

    lock_mode: ObjectLockMode = setting(
        "backupLockMode", "COMPLIANCE", "Object Lock default retention mode of the backups bucket: COMPLIANCE "
        "(nobody, not even root, can delete a dump early: ransomware-proof) or GOVERNANCE (admins with "
        "s3:BypassGovernanceRetention can).")
    lock_days: int = setting(
        "backupLockDays", 30, "Days every backup object version is locked against deletion and overwrite (1-3650); "
        "must not exceed backupExpirationDays.", minimum=1, maximum=3650)
    transition_days: int = setting(
        "backupTransitionDays", 30, "Days after which backup and archive objects move to STANDARD_IA (0 = never; "
        "otherwise >= 30, the S3 minimum).", minimum=0, maximum=3650)
    archive_days: int = setting(
        "backupArchiveDays", 90, "Days after which backup and archive objects move to GLACIER_IR (0 = never; at "
        "least 30 days after backupTransitionDays when both are set).", minimum=0, maximum=3650)
    backup_expiration_days: int = setting(
        "backupExpirationDays", 365, "Days a pg_dump archive in the backups bucket is kept before it expires "
        "(1-3650).", minimum=1, maximum=3650)
    archive_expiration_days: int = setting(
        "archiveExpirationDays", 2555, "Days an object in the WAL/archive bucket (snapshot exports, long-term dump "
        "copies) is kept, 1-3650; default 7 years. Each object is also locked that long (Object Lock, "
        "backupLockMode): nothing can remove or overwrite-expire it before.", minimum=1, maximum=3650)
    noncurrent_version_days: int = setting(
        "backupNoncurrentVersionDays", NONCURRENT_VERSION_DAYS, "Days a noncurrent (overwritten or deleted) object "
        "version is kept in the backup buckets before it expires (1-3650).", minimum=1, maximum=3650)
    abort_multipart_days: int = setting(
        "backupAbortMultipartDays", ABORT_MULTIPART_DAYS, "Days after which incomplete multipart uploads are aborted "
        "and their parts deleted (1-365).", minimum=1, maximum=365)
    force_destroy: bool = setting(
        "backupForceDestroy", False, "Let `pulumi destroy` delete non-empty backup buckets. Never in prod; not with "
        "backupLockMode COMPLIANCE (locked objects cannot be deleted).")

    def validate(self, rules: Rules) -> None:
        minimum = STANDARD_IA_MIN_DAYS
        if 0 < self.transition_days < minimum:
            rules.problem("transition_days", f"must be 0 (never) or >= {minimum} (S3's minimum for STANDARD_IA)")
        elif self.transition_days and self.archive_days and self.archive_days < self.transition_days + minimum:
            rules.problem("archive_days", f"must be 0 (never) or >= {rules.key('transition_days')} + {minimum} "
                          f"({self.transition_days + minimum}): objects stay 30 days in STANDARD_IA",
                          also=["transition_days"])
        last_transition = max(self.transition_days, self.archive_days)
        for expiration in ("backup_expiration_days", "archive_expiration_days"):
            if rules.value(expiration) <= last_transition:
                rules.problem(expiration, f"must be greater than the last transition ({last_transition} days)",
                              also=["transition_days", "archive_days"])
        if self.lock_days > self.backup_expiration_days:
            rules.problem("lock_days", f"must not exceed {rules.key('backup_expiration_days')} "
                          f"({self.backup_expiration_days}): a dump cannot expire while locked",
                          also=["backup_expiration_days"])
        if self.force_destroy and self.lock_mode == "COMPLIANCE":
            rules.problem("force_destroy", f"cannot be true with {rules.key('lock_mode')} COMPLIANCE (locked versions "
                          "cannot be deleted)", also=["lock_mode"])


@dataclass(frozen=True)
class BackupStorageArgs:
    """Inputs of BackupStorage."""

    context: AwsContext
    """Account, partition and region (bucket policies, the export role's trust)."""
    key: aws.kms.Key
    """CMK of the backups and archive buckets (EncryptionKeys.backups): SSE-KMS with S3 bucket keys."""
    settings: BackupStorageSettings = field(default_factory=BackupStorageSettings)
    """Object Lock, lifecycle and force-destroy; default: the production choice (COMPLIANCE lock for 30 days, a year
    of dumps, seven years of archives)."""
    access_log_expiration_days: int = LOG_RETENTION_DAYS
    """Days server access logs are kept; default 365 (the stack's log retention)."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): Pulumi `protect` and `retain_on_delete` on every bucket (a stack deletion leaves them in
    place); destroy: the buckets go with the stack (emptied only with settings.force_destroy)."""
    name_prefix: str = PROJECT
    """Bucket name prefix (names are `<prefix>-<kind>-<random suffix>`: S3 names are global)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        require_valid(self.settings)
        if self.settings.force_destroy and retains(self.removal_policy):
            raise ValueError("BackupStorageArgs: settings.force_destroy needs removal_policy destroy (retained "
                             "buckets are never emptied)")



def _list_statement(bucket: aws.s3.Bucket, prefix: str, actions: tuple[str, ...]) -> dict[str, Any]:
    """List `bucket`, only under `prefix` (s3:prefix is the one key ListBucket supports for that)."""
    return {"Effect": "Allow", "Action": list(actions), "Resource": [bucket.arn],
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}}

class BackupStorage(pulumi.ComponentResource):
    """Hardened S3 buckets for logical backups and archives, with server access logging."""

    backups: aws.s3.Bucket
    """pg_dump archives (Object Lock, SSE-KMS)."""
    archive: aws.s3.Bucket
    """Snapshot exports and long-term copies (SSE-KMS)."""
    access_logs: aws.s3.Bucket
    """Server access logs of the two (SSE-S3)."""
    snapshot_export_role: aws.iam.Role
    """Role RDS assumes for StartExportTask into the archive bucket's `exports/` prefix."""

    def __init__(self, name: str, args: BackupStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:data:BackupStorage", name, None, opts)
        self._name = name
        self._args = args
        settings = args.settings
        log_target = self._secure_bucket(
            "access-logs", log_target=ServerAccessLogTarget(source_bucket_prefix=f"{args.name_prefix}-"),
            access_logs=None, lifecycle=Lifecycle(
                expiration_days=args.access_log_expiration_days,
                noncurrent_version_days=settings.noncurrent_version_days,
                abort_multipart_days=settings.abort_multipart_days))
        self._log_target = log_target
        self.access_logs = log_target.bucket
        moves = transitions((settings.transition_days, "STANDARD_IA"),
                            # Glacier Instant Retrieval: archive pricing, but a restore reads in milliseconds.
                            (settings.archive_days, "GLACIER_IR"))
        self._lock = ObjectLock(mode=settings.lock_mode, days=settings.lock_days)
        # The archive is write-once for its whole retention: the backup task may put the month's dump (no read, no
        # delete), but an overwrite would make the original noncurrent, and noncurrent versions expire after
        # backupNoncurrentVersionDays; locked versions cannot be removed until their retention ends (S3 Object Lock),
        # so a compromised writer cannot wipe years of dumps by overwriting them (red-team review).
        self._archive_lock = ObjectLock(mode=settings.lock_mode, days=settings.archive_expiration_days)
        self._backups = self._secure_bucket(
            "backups", kms_key=args.key, access_logs=log_target.access_logs_for("backups/"), object_lock=self._lock,
            lifecycle=self._lifecycle(settings.backup_expiration_days, moves))
        self._archive = self._secure_bucket(
            "archive", kms_key=args.key, access_logs=log_target.access_logs_for("archive/"),
            object_lock=self._archive_lock, lifecycle=self._lifecycle(settings.archive_expiration_days, moves))
        self.backups = self._backups.bucket
        self.archive = self._archive.bucket
        self.snapshot_export_role = self._snapshot_export_role()
        self.register_outputs({
            "backupsBucketName": self.backups.bucket,
            "archiveBucketName": self.archive.bucket,
            "accessLogsBucketName": self.access_logs.bucket,
        })

    # --- capabilities -------------------------------------------------------------------------------------------

    def access_logs_for(self, prefix: str) -> ServerAccessLogs:
        """Where another of the stack's buckets sends its server access logs (the access-logs bucket, `prefix`)."""
        return self._log_target.access_logs_for(prefix)

    @property
    def key_arn(self) -> pulumi.Output[str]:
        """The CMK writers must name in `x-amz-server-side-encryption-aws-kms-key-id` (the ARN, not an alias)."""
        return self._args.key.arn

    def write_backups_statements(self, prefix: str = "postgresql/") -> list[dict[str, Any]]:
        """IAM statements for a job that uploads dumps under `prefix` of the backups bucket (no read, no delete).

        Uploads send no SSE headers (the bucket default applies) or `--sse aws:kms --sse-kms-key-id <key_arn>`;
        the bucket policy denies any other encryption.
        """
        return self._write_statements(self.backups, prefix)

    def read_backups_statements(self, prefix: str = "") -> list[dict[str, Any]]:
        """IAM statements for a restore: list the backups bucket, read any version of the dumps under `prefix`."""
        return self._read_statements(self.backups, prefix)

    def write_archive_statements(self, prefix: str = "dumps/") -> list[dict[str, Any]]:
        """IAM statements for copying long-term archives under `prefix` of the archive bucket."""
        return self._write_statements(self.archive, prefix)

    def monthly_archive(self, environment: str) -> MonthlyArchive:
        """Where the backup job copies the first dump of each month: `dumps/<environment>/` of the archive bucket,
        with the list (is this month's copy there yet?) and write statements on that prefix only."""
        prefix = f"dumps/{environment}/"
        return MonthlyArchive(bucket_name=self.archive.bucket, prefix=prefix,
                              statements=[_list_statement(self.archive, prefix, ("s3:ListBucket",)),
                                          *self.write_archive_statements(prefix)],
                              read_statements=self._read_statements(self.archive, prefix))

    def replication_sources(self) -> tuple[ReplicationSource, ...]:
        """What a DR region must hold a copy of (DisasterRecovery): the dumps and the archive, each with its key,
        its replica's lifecycle (the same expiration; replication does not copy lifecycle rules) and lock.

        The backups replicas land in STANDARD_IA (read only by the restore drill and in a disaster) and move to
        GLACIER_IR with the sources; the archive replicas land in GLACIER_IR (kept for years, rarely read).
        """
        settings = self._args.settings
        to_glacier = transitions((settings.archive_days, "GLACIER_IR"))
        return (
            ReplicationSource(label="backups", bucket=self._backups, key=self._args.key, storage_class="STANDARD_IA",
                              lifecycle=self._lifecycle(settings.backup_expiration_days, to_glacier),
                              object_lock=self._lock),
            ReplicationSource(label="archive", bucket=self._archive, key=self._args.key, storage_class="GLACIER_IR",
                              lifecycle=self._lifecycle(settings.archive_expiration_days, ()),
                              object_lock=self._archive_lock),
        )

    # --- parts --------------------------------------------------------------------------------------------------

    def _tags(self, suffix: str) -> dict[str, str]:
        return named_tags(self._args.tags, f"{self._args.name_prefix}-{suffix}")

    def _lifecycle(self, expiration_days: int, moves: tuple[Transition, ...]) -> Lifecycle:
        settings = self._args.settings
        return Lifecycle(expiration_days=expiration_days, noncurrent_version_days=settings.noncurrent_version_days,
                         abort_multipart_days=settings.abort_multipart_days, transitions=moves)

    def _secure_bucket(self, kind: BucketKind, **options: Any) -> SecureBucket:
        args = self._args
        return SecureBucket(f"{self._name}-{kind}", SecureBucketArgs(
            context=args.context, bucket_prefix=f"{args.name_prefix}-{kind}-", removal_policy=args.removal_policy,
            force_destroy=args.settings.force_destroy, tags=self._tags(kind), **options,
        ), opts=pulumi.ResourceOptions(parent=self))

    def _write_statements(self, bucket: aws.s3.Bucket, prefix: str) -> list[dict[str, Any]]:
        return [
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
             "Resource": [bucket.arn.apply(lambda arn: f"{arn}/{prefix}*")]},
            # Decrypt too: multipart uploads (every dump over 8 MB from the AWS CLI) read the data key back.
            {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": [self.key_arn],
             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{self._args.context.region}.amazonaws.com"}}},
        ]

    def _read_statements(self, bucket: aws.s3.Bucket, prefix: str) -> list[dict[str, Any]]:
        return [
            _list_statement(bucket, prefix, ("s3:ListBucket", "s3:ListBucketVersions")),
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
             "Resource": [bucket.arn.apply(lambda arn: f"{arn}/{prefix}*")]},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [self.key_arn],
             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{self._args.context.region}.amazonaws.com"}}},
        ]

    def _snapshot_export_role(self) -> aws.iam.Role:
        """The role `aws rds start-export-task --iam-role-arn` names; it writes Parquet under archive/exports/.

        S3: the actions AWS lists for the export role, on the archive bucket and the exports/ prefix. KMS: the export
        encrypts what it writes with the archive bucket's key ("The KMS key policy must include both the kms:Encrypt
        and kms:Decrypt permissions"; https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ExportSnapshot.html)
        and our key policy only delegates to IAM, so the role holds AWS's documented KMS action set on that one key —
        never `*`. The caller of StartExportTask passes the same key's ARN as --kms-key-id (the bucket policy denies
        uploads under any other key)."""
        ctx = self._args.context
        role = aws.iam.Role(
            f"{self._name}-snapshot-export",
            description="Lets RDS export snapshots to the archive bucket (StartExportTask)",
            assume_role_policy=assume_role_policy("export.rds.amazonaws.com", source_account=ctx.account_id),
            tags=self._tags("snapshot-export"),
            opts=pulumi.ResourceOptions(parent=self),  # not under the bucket: no inherited protect on a role
        )
        aws.iam.RolePolicy(
            f"{self._name}-snapshot-export",
            role=role.id,
            policy=policy_json([
                {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                 "Resource": [self.archive.arn]},
                {"Effect": "Allow", "Action": ["s3:PutObject*", "s3:GetObject*", "s3:DeleteObject*"],
                 "Resource": [self.archive.arn.apply(lambda arn: f"{arn}/exports/*")]},
                {"Effect": "Allow", "Action": list(SNAPSHOT_EXPORT_KMS_ACTIONS), "Resource": [self.key_arn]},
            ]),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role
