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
  (`StartExportTask`, Parquet, via `snapshot_export_role`) and long-term copies of dumps promoted by the job,
  kept for years in GLACIER_IR.
- **access-logs**: S3 server access logs of the two buckets above (who read or wrote which dump). It must use
  SSE-S3: server access logging cannot deliver to an SSE-KMS bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, RemovalPolicy, assume_role_policy, named_tags, policy_json, retains
from components.settings import Rules, require_valid, setting

BucketKind = Literal["backups", "archive", "access-logs"]


ObjectLockMode = Literal["GOVERNANCE", "COMPLIANCE"]
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
        "copies) is kept, 1-3650; default 7 years.", minimum=1, maximum=3650)
    noncurrent_version_days: int = setting(
        "backupNoncurrentVersionDays", 30, "Days a noncurrent (overwritten or deleted) object version is kept in the "
        "backup buckets before it expires (1-3650).", minimum=1, maximum=3650)
    abort_multipart_days: int = setting(
        "backupAbortMultipartDays", 7, "Days after which incomplete multipart uploads are aborted and their parts "
        "deleted (1-365).", minimum=1, maximum=365)
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
    access_log_expiration_days: int = 365
    """Days server access logs are kept; default 365 (the stack's log retention)."""
    removal_policy: RemovalPolicy = "retain"
    """retain (default): Pulumi `protect` and `retain_on_delete` on every bucket (a stack deletion leaves them in
    place); destroy: the buckets go with the stack (emptied only with settings.force_destroy)."""
    name_prefix: str = "maratron"
    """Bucket name prefix (names are `<prefix>-<kind>-<random suffix>`: S3 names are global)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        require_valid(self.settings)
        if self.settings.force_destroy and retains(self.removal_policy):
            raise ValueError("BackupStorageArgs: settings.force_destroy needs removal_policy destroy (retained "
                             "buckets are never emptied)")


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

        self.access_logs = self._bucket("access-logs", object_lock=False)
        self._harden("access-logs", self.access_logs, kms=False)
        self._lifecycle("access-logs", self.access_logs, expiration_days=args.access_log_expiration_days,
                        transitions=False)

        self.backups = self._bucket("backups", object_lock=True)
        backups_versioning = self._harden("backups", self.backups, kms=True)
        self._lifecycle("backups", self.backups, expiration_days=args.settings.backup_expiration_days, transitions=True)
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-backups",
            bucket=self.backups.id,
            object_lock_enabled="Enabled",
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode=args.settings.lock_mode, days=args.settings.lock_days),
            ),
            opts=pulumi.ResourceOptions(parent=self.backups, depends_on=[backups_versioning]),
        )

        self.archive = self._bucket("archive", object_lock=False)
        self._harden("archive", self.archive, kms=True)
        self._lifecycle("archive", self.archive, expiration_days=args.settings.archive_expiration_days,
                        transitions=True)

        for kind, bucket in (("backups", self.backups), ("archive", self.archive)):
            aws.s3.BucketLogging(
                f"{name}-{kind}",
                bucket=bucket.id,
                target_bucket=self.access_logs.id,
                target_prefix=f"{kind}/",
                # Date-partitioned keys: Athena can prune by day when someone asks "who read this dump?".
                target_object_key_format=aws.s3.BucketLoggingTargetObjectKeyFormatArgs(
                    partitioned_prefix=aws.s3.BucketLoggingTargetObjectKeyFormatPartitionedPrefixArgs(
                        partition_date_source="EventTime")),
                opts=pulumi.ResourceOptions(parent=bucket),
            )

        self.snapshot_export_role = self._snapshot_export_role()
        self.register_outputs({
            "backupsBucketName": self.backups.bucket,
            "archiveBucketName": self.archive.bucket,
            "accessLogsBucketName": self.access_logs.bucket,
        })

    # --- capabilities -------------------------------------------------------------------------------------------

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

    # --- parts --------------------------------------------------------------------------------------------------

    def _tags(self, suffix: str) -> dict[str, str]:
        return named_tags(self._args.tags, f"{self._args.name_prefix}-{suffix}")

    def _bucket(self, kind: BucketKind, *, object_lock: bool) -> aws.s3.Bucket:
        args = self._args
        return aws.s3.Bucket(
            f"{self._name}-{kind}",
            bucket_prefix=f"{args.name_prefix}-{kind}-",
            # Object Lock can only be switched on when the bucket is created; the retention is set below.
            object_lock_enabled=object_lock or None,
            force_destroy=args.settings.force_destroy,
            tags=self._tags(kind),
            # Prod: a `pulumi destroy` or a replacement must never take the backups with it.
            opts=pulumi.ResourceOptions(parent=self, protect=retains(args.removal_policy),
                                        retain_on_delete=retains(args.removal_policy)),
        )

    def _harden(self, kind: BucketKind, bucket: aws.s3.Bucket, *, kms: bool) -> aws.s3.BucketVersioning:
        """Versioning, default encryption, no public access, no ACLs, TLS-only (and KMS-only) bucket policy."""
        name = f"{self._name}-{kind}"
        child = pulumi.ResourceOptions(parent=bucket)
        versioning = aws.s3.BucketVersioning(
            name, bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        default = (aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                       sse_algorithm="aws:kms", kms_master_key_id=self._args.key.arn) if kms else
                   aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                       sse_algorithm="AES256"))
        aws.s3.BucketServerSideEncryptionConfiguration(
            name, bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=default,
                bucket_key_enabled=True if kms else None,  # one KMS call per bucket key, not per object
                blocked_encryption_types=["SSE-C"],  # customer-provided keys would make objects unreadable to us
            )],
            opts=child,
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            name, bucket=bucket.id,
            block_public_acls=True, block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            name, bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),  # ACLs off
            opts=child,
        )
        statements = [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket.arn, bucket.arn.apply(lambda arn: f"{arn}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }, {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket.arn, bucket.arn.apply(lambda arn: f"{arn}/*")],
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        }]
        if kms:
            statements += self._encryption_statements(bucket)
        else:
            statements.append(self._access_log_delivery_statement(bucket))
        aws.s3.BucketPolicy(
            name, bucket=bucket.id, policy=policy_json(statements),
            # PutBucketPolicy and PutPublicAccessBlock on one bucket race ("conflicting conditional operation").
            opts=pulumi.ResourceOptions(parent=bucket, depends_on=[public_access_block]),
        )
        return versioning

    def _encryption_statements(self, bucket: aws.s3.Bucket) -> list[dict[str, Any]]:
        """Deny every upload that would store an object other than SSE-KMS with exactly the backups key.

        An upload either names the encryption (then it must be `aws:kms` with this key's ARN; `aws:kms` without a
        key id is denied too, because S3 would use the AWS managed key aws/s3) or names none, and the bucket
        default applies: SSE-KMS with this key. Requiring the headers outright (`StringNotEquals`) would add
        nothing to that and can break multipart uploads: UploadPart is authorized as s3:PutObject but carries no
        SSE headers (boto/botocore#471), and every dump over 8 MB is a multipart upload.
        """
        key_arn = self._args.key.arn
        objects = bucket.arn.apply(lambda arn: f"{arn}/*")
        return [{
            "Sid": "DenyUploadsNotSseKms",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        }, {
            "Sid": "DenyUploadsWithAnotherKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}},
        }, {
            "Sid": "DenyUploadsSseKmsWithoutKeyId",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {
                "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"},
            },
        }]

    def _access_log_delivery_statement(self, bucket: aws.s3.Bucket) -> dict[str, Any]:
        """The S3 logging service may write logs of this account's buckets; nothing else may write here."""
        ctx = self._args.context
        prefix = self._args.name_prefix
        return {
            "Sid": "AllowS3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": bucket.arn.apply(lambda arn: f"{arn}/*"),
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                # The source buckets are created after this one, so match them by their name prefix.
                "ArnLike": {"aws:SourceArn": [f"arn:{ctx.partition}:s3:::{prefix}-backups-*",
                                              f"arn:{ctx.partition}:s3:::{prefix}-archive-*"]},
            },
        }

    def _lifecycle(self, kind: BucketKind, bucket: aws.s3.Bucket, *, expiration_days: int,
                   transitions: bool) -> aws.s3.BucketLifecycleConfiguration:
        args = self._args
        steps = []
        if transitions and args.settings.transition_days:
            steps.append(aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                days=args.settings.transition_days, storage_class="STANDARD_IA"))
        if transitions and args.settings.archive_days:
            # Glacier Instant Retrieval: archive pricing, but a restore reads in milliseconds, not hours.
            steps.append(aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                days=args.settings.archive_days, storage_class="GLACIER_IR"))
        rules = [aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),  # every object
            transitions=steps or None,
            # Current versions become noncurrent (a delete marker) after expiration_days; Object Lock still
            # protects each version until its retention date, whatever this rule says.
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiration_days),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=args.settings.noncurrent_version_days),
            abort_incomplete_multipart_upload=(
                aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=args.settings.abort_multipart_days)),
        ), aws.s3.BucketLifecycleConfigurationRuleArgs(
            # Delete markers left once every version behind them has expired.
            id="remove-expired-delete-markers",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
        )]
        return aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-{kind}", bucket=bucket.id, rules=rules,
            opts=pulumi.ResourceOptions(parent=bucket),
        )

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
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListBucketVersions"], "Resource": [bucket.arn],
             "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
             "Resource": [bucket.arn.apply(lambda arn: f"{arn}/{prefix}*")]},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [self.key_arn],
             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{self._args.context.region}.amazonaws.com"}}},
        ]

    def _snapshot_export_role(self) -> aws.iam.Role:
        """The role `aws rds start-export-task --iam-role-arn` names; it writes Parquet under archive/exports/."""
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
            ]),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role
