"""Disaster recovery: a copy of everything a restore needs, kept in a second region (the DR region).

What the DR region holds, and why it is enough to rebuild production there (docs/runbooks/disaster-recovery.md):

* **RDS automated backups** (the daily snapshots *and* the transaction logs) through RDS automated-backup
  replication: "RDS initiates a cross-Region copy of all snapshots and transaction logs as soon as they are ready on
  the DB instance", so the DR region can restore to any second of the retention window, minus a few minutes of lag
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html; supported for Multi-AZ DB
  *instances*, not Multi-AZ DB clusters). The resource "has to be created in the destination region" and encrypts
  with a KMS key *of the destination region* (API StartDBInstanceAutomatedBackupsReplication, KmsKeyId): `region`
  and `kms_key_id` below. Its id is the ARN of the replicated backups: the `drDatabaseBackupsArn` output the runbook
  restores from.
* **pg_dump archives and the archive bucket** through S3 Cross-Region Replication into replica buckets of the DR
  region (SecureBucket with `region`): their own CMK there, versioning (S3 refuses to replicate into an unversioned
  bucket: failure code DstBucketUnversioned), server access logs into a log bucket of the DR region (logs are
  delivered within a region, and "S3 buckets with Object Lock can't be used as destination buckets for server access
  logs"), and Object Lock on the backups replica: a locked source needs a locked destination
  (DstBucketObjectLockConfigMissing, https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-failure-codes.html)
  and replication copies each version's retention: "automatic, asynchronous copying of locked objects and their
  retention metadata" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html). No support
  token is involved any more: the only extra permissions are s3:GetObjectRetention and s3:GetObjectLegalHold on the
  source (same page, and the S3 FAQ: "Q: Are there any limitations ...? A: No").
* **Container images** are not copied here: ECR replication is one setting per registry (AWS::ECR::
  ReplicationConfiguration "creates or updates the replication configuration for a private registry"), so a stack
  that set it would overwrite every other stack's in the account. The bootstrap project owns the repositories and
  configures it (docs/runbooks/disaster-recovery.md, "What the bootstrap configures").
* **Secrets** are not copied: a DR stack generates its own database password and its own third-party secrets come
  from its own stack config (the runbook lists them).

Replication decisions, each with its reason:

* Delete markers are **not** replicated (`delete_marker_replication` Disabled, and the role has no
  s3:ReplicateDelete): a dump deleted in the primary region (by mistake, by an attacker with its credentials, by a
  lifecycle rule) must not vanish from the DR copy. S3 documents this as the purpose of the default: delete markers
  stay in the source "to protect data in the destination buckets from accidental or malicious deletions", and a
  version-specific delete is never replicated at all
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/delete-marker-replication.html). Replicas expire by their
  own lifecycle, which mirrors the source's (replication does not copy lifecycle rules).
* Only SSE-KMS objects exist in the sources (their bucket policies deny anything else), and S3 replicates them only
  when asked to (`source_selection_criteria.sse_kms_encrypted_objects` Enabled) and re-encrypts each replica with the
  DR key (`encryption_configuration.replica_kms_key_id`, a full key ARN: "The KMS key must have been created in the
  same AWS Region as the destination bucket", https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html).
* Replication metrics are on (`metrics` Enabled): `OperationsFailedReplication` is published in the source bucket's
  region and is what the replication-failure alarm reads (the other replication metrics are published in the
  destination region, where our alert topic is not) (https://docs.aws.amazon.com/AmazonS3/latest/userguide/repl-metrics.html).
  They are billed like CloudWatch custom metrics (same page).
* S3 Replication Time Control is a setting, off by default: it buys a 15-minute SLA for $0.015 per GB replicated, but
  the pg_dump RPO is the 6-hour job schedule and failures already page; turn it on when the archive's RPO matters.
* Storage classes: replicas are read by the daily restore drill (the newest dump) and in a disaster only, so the
  backups replicas land in STANDARD_IA (half the storage price; the 30-day minimum is no longer than the lock) and
  the archive replicas in GLACIER_IR (kept for years, read in milliseconds when needed).

The replication role is least privilege, with exact ARNs: read the replication configuration and list the source
buckets; read object versions, ACLs, tags, retention and legal hold of the source objects; replicate objects and
tags into the replica buckets (no s3:ReplicateDelete); decrypt with the source key and encrypt (and decrypt: "the
AWS KMS key policy for the KMS key that's used to encrypt the object replica must include the kms:Decrypt
permission", to verify the S3 Bucket Key) with the DR key, each only through S3 in that key's region
(`kms:ViaService`) and only for these buckets (`kms:EncryptionContext:aws:s3:arn`: with S3 Bucket Keys the context
"will be the bucket's Amazon Resource Name (ARN), not the object's ARN"; both forms are allowed so an object
encrypted without a bucket key replicates too). Its trust policy is the documented one (s3.amazonaws.com, no source
conditions: the S3 user guide documents none for replication, and only a principal of this account that may
iam:PassRole it can name the role in a replication configuration).

Deploy time: nothing here is on the app's path. The buckets and the replication configuration take seconds; the RDS
replication starts after the primary and nothing waits for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.backup_job import DUMP_TO_STORAGE_RATIO
from components.base import (
    REGION_PATTERN,
    RETAIN,
    AwsContext,
    RemovalPolicy,
    copy_region_problem,
    named_tags,
    partition_of,
    policy_json,
)
from components.constants import LOG_RETENTION_DAYS, PROJECT
from components.encryption import customer_managed_key
from components.observability import ReplicationWatch
from components.secure_bucket import (
    Lifecycle,
    ObjectLock,
    SecureBucket,
    SecureBucketArgs,
    ServerAccessLogs,
    ServerAccessLogTarget,
)
from components.settings import retire, setting
from components.task import EPHEMERAL_STORAGE_GIB

DR_OFF = "none"
DR_PAIRED = "paired"
DR_REGION_PAIRS: dict[str, str] = {
    "us-east-1": "us-west-2", "us-east-2": "us-west-2", "us-west-1": "us-east-2", "us-west-2": "us-east-1",
    "ca-central-1": "ca-west-1", "ca-west-1": "ca-central-1",
    "eu-west-1": "eu-central-1", "eu-central-1": "eu-west-1", "eu-west-3": "eu-central-1",
    "eu-north-1": "eu-central-1", "eu-south-1": "eu-central-1", "eu-south-2": "eu-west-1",
    "ap-northeast-1": "ap-northeast-3", "ap-northeast-3": "ap-northeast-1",
    "ap-southeast-2": "ap-southeast-4", "ap-southeast-4": "ap-southeast-2",
    "ap-south-1": "ap-south-2", "ap-south-2": "ap-south-1",
}
"""`drRegion: paired`: the DR region of each region that has an obvious partner *in the same country or legal
jurisdiction* (a DR copy must not move personal data across a border the primary does not). A region without an
entry (London, Seoul, São Paulo, ...) must name its DR region explicitly. None in GovCloud (see dr_region_problem)
or China (stack_config refuses the aws-cn partition).
Whether RDS replicates backups between a pair is the Region's to say: `aws rds describe-source-regions --region <DR>`
(SupportsDBInstanceAutomatedBackupsReplication), checked by docs/runbooks/disaster-recovery.md before a first up."""
REPLICATION_RULE_ID = "dr"
"""The id of the one replication rule per source bucket (the `RuleId` dimension of the replication metrics)."""
ReplicaStorageClass = Literal["STANDARD", "STANDARD_IA", "GLACIER_IR"]


def check_dr_region(value: str) -> str | None:
    if value in (DR_OFF, DR_PAIRED) or REGION_PATTERN.match(value):
        return None
    return f"must be {DR_PAIRED} (the stack region's DR pair), a region such as us-west-2, or {DR_OFF}"


retire("dbBackupReplicationRegion", "replaced by drRegion (default: paired): the program now creates the DR "
       "region's key itself and replicates the S3 backups too; remove this key")
retire("dbBackupReplicationKmsKeyArn", "no longer used: the program creates the DR region's key (drRegion); remove "
       "this key")


DRILL_IMAGE_GIB = 1
"""The backup image's layers, which Fargate keeps on the drill's ephemeral storage (about 0.3 GiB, rounded up)."""


def needed_drill_storage_gib(max_allocated_storage_gb: int) -> int:
    """Ephemeral storage the restore drill needs for a database that may grow to `max_allocated_storage_gb`: the dump
    (at most DUMP_TO_STORAGE_RATIO of it), the database restored from it (no larger than the source's storage) and
    the image; at most Fargate's maximum."""
    low, high = EPHEMERAL_STORAGE_GIB
    needed = math.ceil(max_allocated_storage_gb * (1 + DUMP_TO_STORAGE_RATIO)) + DRILL_IMAGE_GIB
    return min(max(needed, low), high)


DRILL_DATABASE_CEILING_GB = math.floor((EPHEMERAL_STORAGE_GIB[1] - DRILL_IMAGE_GIB) / (1 + DUMP_TO_STORAGE_RATIO))
"""The largest database storage whose drill fits Fargate's maximum ephemeral storage (~130 GiB): past it the drill
runs out of space, fails and pages (components/restore_drill.py)."""


@dataclass(frozen=True, kw_only=True)
class DisasterRecoverySettings:
    """The configurable part of disaster recovery: where the copy lives and how fast it must get there."""

    region: str = setting(
        "drRegion", DR_PAIRED, "DR region that keeps a copy of the RDS automated backups, the pg_dump archives and the "
        "archive bucket, where the restore drill restores from: paired (default; the stack region's partner in the "
        "same jurisdiction, e.g. us-east-1 -> us-west-2), a region name, or none (no DR copy; dev and staging opt "
        "out). prod requires it, except a stack that is itself a DR restore. Moving it to another region replaces "
        "the protected DR key and buckets: protect refuses that `up` (runbook: disaster-recovery, section A).",
        check=check_dr_region)
    replication_time_control: bool = setting(
        "drReplicationTimeControl", False, "S3 Replication Time Control on the backups and archive replication: a "
        "15-minute replication SLA for $0.015 per GB replicated. Default false: the dump RPO is the 6-hour backup "
        "schedule and replication failures page anyway.")
    drill_storage_gib: int = setting(
        "drDrillStorageGib", EPHEMERAL_STORAGE_GIB[1], f"Ephemeral storage of the daily restore-drill task in GiB "
        f"({EPHEMERAL_STORAGE_GIB[0]}-{EPHEMERAL_STORAGE_GIB[1]}): the image, the newest dump and the database "
        f"restored from it; at least {1 + DUMP_TO_STORAGE_RATIO:g} x dbMaxAllocatedStorageGb + {DRILL_IMAGE_GIB} "
        f"(capped at {EPHEMERAL_STORAGE_GIB[1]}, which holds a database of about {DRILL_DATABASE_CEILING_GB} GiB).",
        minimum=EPHEMERAL_STORAGE_GIB[0], maximum=EPHEMERAL_STORAGE_GIB[1])

    def resolved_region(self, stack_region: str) -> str | None:
        """The DR region for a stack in `stack_region`: None when off, or when `paired` has no partner for it (a
        config error stack_config reports)."""
        if self.region == DR_OFF:
            return None
        if self.region == DR_PAIRED:
            return DR_REGION_PAIRS.get(stack_region)
        return self.region


def dr_region_problem(settings: DisasterRecoverySettings, stack_region: str) -> str | None:
    """What is wrong with the DR region of a stack in `stack_region`, or None."""
    if settings.region == DR_OFF:
        return None
    if settings.region == DR_PAIRED and stack_region not in DR_REGION_PAIRS:
        return (f"{stack_region} has no default DR partner in the same jurisdiction: name the DR region (e.g. "
                f"drRegion: <region>) or set {DR_OFF}")
    region = settings.resolved_region(stack_region)
    if region == stack_region:
        return f"must differ from the stack's region ({stack_region}): a copy in the same region is no DR copy"
    if region is not None and (why := copy_region_problem(region, stack_region)) is not None:
        return why
    if partition_of(stack_region) == "aws-us-gov":
        # StartDBInstanceAutomatedBackupsReplication, PreSignedUrl: "In an AWS GovCloud (US) Region, an URL that
        # contains a Signature Version 4 signed request" for an encrypted instance; the program does not sign one.
        return (f"RDS backup replication from {stack_region} needs a pre-signed URL this program does not build "
                f"(GovCloud only): set {DR_OFF}")
    return None


@dataclass(frozen=True)
class ReplicationSource:
    """A bucket whose objects the DR region must hold a copy of (BackupStorage.replication_sources())."""

    label: str
    """Short name, e.g. `backups`: the replica bucket is `<prefix>-<label>-dr-...`, alarms `s3-<label>-...`."""
    bucket: SecureBucket
    """The source bucket (versioned, SSE-KMS with `key`)."""
    key: aws.kms.Key
    """The source bucket's CMK (the replication role decrypts with it)."""
    lifecycle: Lifecycle
    """The replica's lifecycle (replication does not copy lifecycle rules): the source's expiration."""
    storage_class: ReplicaStorageClass
    """Storage class of the replicas."""
    object_lock: ObjectLock | None = None
    """The source's default retention; the replica bucket gets the same (a locked source needs a locked replica)."""
    policy_grants: Callable[[pulumi.Output[str]], Sequence[dict[str, Any]]] | None = None
    """Further statements of the replica's bucket policy, as SecureBucketArgs.policy_grants (e.g. the state bucket's
    grants to environment accounts, so they reach the replica too); default none."""


@dataclass(frozen=True)
class DisasterRecoveryArgs:
    """Inputs of DisasterRecovery."""

    context: AwsContext
    """Account, partition and (primary) region."""
    region: str | None
    """The DR region (DisasterRecoverySettings.resolved_region); None: no DR copy, the component creates nothing."""
    sources: tuple[ReplicationSource, ...]
    """Buckets to replicate (BackupStorage.replication_sources())."""
    database: aws.rds.Instance | None = None
    """The RDS primary whose automated backups are replicated; None: no RDS replication (e.g. a restored DR stack)."""
    backup_retention_days: int | None = None
    """Days the replicated RDS backups are kept: the primary's dbBackupRetentionDays, required with `database`
    (unused without it)."""
    settings: DisasterRecoverySettings = field(default_factory=DisasterRecoverySettings)
    """Replication Time Control and the drill's storage; default: RTC off."""
    access_log_expiration_days: int = LOG_RETENTION_DAYS
    """Days the DR region's server access logs are kept; default LOG_RETENTION_DAYS (365)."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): the DR key and buckets are protected and kept when the stack is deleted."""
    name_prefix: str = PROJECT
    """Names: key alias `<prefix>-dr`, buckets `<prefix>-<label>-dr-...`."""
    key_alias: str = ""
    """The DR key's alias (without `alias/`); default `<prefix>-dr`."""
    key_statements: tuple[dict[str, Any], ...] = ()
    """Further statements of the DR key's policy (cross-account grants); default none."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        if self.region is not None and self.region == self.context.region:
            raise ValueError(f"DisasterRecoveryArgs.region {self.region}: must differ from the stack's region")
        labels = [source.label for source in self.sources]
        if len(set(labels)) != len(labels):
            raise ValueError(f"DisasterRecoveryArgs.sources: labels must be unique, got {labels}")
        if self.database is not None and self.backup_retention_days is None:
            raise ValueError("DisasterRecoveryArgs.backup_retention_days: required with `database` (the primary's "
                             "dbBackupRetentionDays)")


@dataclass(frozen=True)
class ReplicaBucket:
    """What the restore drill and the runbook need to read one replica bucket."""

    bucket: aws.s3.Bucket
    key: aws.kms.Key
    region: str

    def read_statements(self, prefix: str = "") -> list[dict[str, Any]]:
        """IAM statements to list the replica bucket under `prefix` and read (and decrypt) the objects there."""
        objects = self.bucket.arn.apply(lambda arn: f"{arn}/{prefix}*")
        return [
            {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [self.bucket.arn],
             "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}},
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [objects]},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [self.key.arn],
             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}}},
        ]


class DisasterRecovery(pulumi.ComponentResource):
    """The DR region's key and replica buckets, the S3 replication into them, and the RDS backup replication."""

    region: str | None
    key: aws.kms.Key | None
    """The DR region's CMK: replica buckets and the replicated RDS backups."""
    replicas: dict[str, SecureBucket]
    """Source label -> its replica bucket in the DR region."""
    replications: dict[str, aws.s3.BucketReplicationConfig]
    """Source label -> the replication configuration on the source bucket."""
    replication_role: aws.iam.Role | None
    batch_replication_role: aws.iam.Role | None
    """What an operator passes to S3 Batch Replication (`create-job --role-arn`) to copy the objects that existed
    before replication began: live replication copies new objects only."""
    database_backups: aws.rds.InstanceAutomatedBackupsReplication | None
    """The RDS automated-backup replication (its id is the ARN of the replicated backups in the DR region)."""

    def __init__(self, name: str, args: DisasterRecoveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:data:DisasterRecovery", name, None, opts)
        self._name = name
        self._args = args
        self.region = args.region
        self.key = None
        self.replicas = {}
        self.replications = {}
        self.replication_role = None
        self.batch_replication_role = None
        self.database_backups = None
        if args.region is None:
            self.register_outputs({})
            return
        region = args.region
        self.key = customer_managed_key(
            f"{name}-key", context=args.context, alias=args.key_alias or f"{args.name_prefix}-dr", region=region,
            statements=args.key_statements,
            description=f"{args.name_prefix}: DR copies in {region} (replica buckets, replicated RDS backups)",
            removal_policy=args.removal_policy, tags=args.tags, parent=self)
        log_target = self._bucket("access-logs", log_target=ServerAccessLogTarget(
            source_bucket_prefix=f"{args.name_prefix}-"), access_logs=None, lifecycle=Lifecycle(
            expiration_days=args.access_log_expiration_days))
        for source in args.sources:
            self.replicas[source.label] = self._bucket(
                source.label, kms_key=self.key, lifecycle=source.lifecycle, object_lock=source.object_lock,
                policy_grants=source.policy_grants,
                access_logs=ServerAccessLogs(bucket=log_target.bucket, prefix=f"{source.label}/"))
        self.replication_role = self._replication_role()
        self.batch_replication_role = self._batch_replication_role()
        for source in args.sources:
            self.replications[source.label] = self._replication(source, self.replicas[source.label])
        if args.database is not None:
            self.database_backups = aws.rds.InstanceAutomatedBackupsReplication(
                f"{name}-database-backups",
                source_db_instance_arn=args.database.arn,
                region=region,  # "This resource has to be created in the destination region"
                kms_key_id=self.key.arn,
                retention_period=args.backup_retention_days,
                # Stacks that set the former dbBackupReplicationRegion keep their replication resource.
                # Every input forces a replacement, and both copies would name the one replication of this
                # instance (its ARN is the instance's: auto-backup:ab-<DbiResourceId>), so create-before-delete
                # would start what is running, then stop it by deleting the old copy: stop first, then start. A new
                # key also needs the replicated backups of the old one deleted first (RDS user guide,
                # AutomatedXREGBackups.Troubleshooting): docs/runbooks/disaster-recovery.md.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, aliases=[pulumi.Alias(
                    name="database-backup-replication", parent=args.database)]),
            )
        self.register_outputs({
            "region": region,
            "keyArn": self.key.arn,
            **{f"{label}BucketName": replica.name for label, replica in self.replicas.items()},
        })

    # --- capabilities -------------------------------------------------------------------------------------------

    @property
    def settings(self) -> DisasterRecoverySettings:
        """drRegion and the drill's settings (RestoreDrill.beside reads them)."""
        return self._args.settings

    @property
    def enabled(self) -> bool:
        return self.region is not None

    def replica(self, label: str) -> ReplicaBucket:
        """The replica bucket of a source, with what a reader needs (its key and region)."""
        if self.key is None or self.region is None:
            raise ValueError("disaster recovery is off (drRegion none): there is no replica bucket")
        return ReplicaBucket(bucket=self.replicas[label].bucket, key=self.key, region=self.region)

    def replication_watches(self) -> dict[str, ReplicationWatch]:
        """Source label -> its replication rule, for the replication-failure alarms. Empty when DR is off."""
        return {source.label: ReplicationWatch(source.bucket.name, self.replicas[source.label].name,
                                               REPLICATION_RULE_ID)
                for source in self._args.sources if source.label in self.replicas}

    # --- parts --------------------------------------------------------------------------------------------------

    def _bucket(self, label: str, **options: Any) -> SecureBucket:
        args = self._args
        return SecureBucket(f"{self._name}-{label}", SecureBucketArgs(
            context=args.context, bucket_prefix=f"{args.name_prefix}-{label}-dr-", region=args.region,
            removal_policy=args.removal_policy, tags=named_tags(args.tags, f"{args.name_prefix}-{label}-dr"),
            **options), opts=pulumi.ResourceOptions(parent=self))

    def _replication_role(self) -> aws.iam.Role:
        args = self._args
        assert self.key is not None and args.region is not None
        role = aws.iam.Role(
            f"{self._name}-replication",
            description=f"Lets S3 replicate the stack's backup buckets into {args.region}",
            # The trust policy S3 documents for replication (no source conditions are documented for it).
            assume_role_policy=policy_json([{
                "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
            tags=named_tags(args.tags, f"{args.name_prefix}-dr-replication"),
            opts=pulumi.ResourceOptions(parent=self),
        )

        def objects(bucket: aws.s3.Bucket) -> pulumi.Output[str]:
            return bucket.arn.apply(lambda arn: f"{arn}/*")

        def bucket_context(buckets: list[aws.s3.Bucket]) -> list[pulumi.Output[str]]:
            # With S3 Bucket Keys the encryption context is the bucket ARN; without, the object ARN.
            return [arn for b in buckets for arn in (b.arn, objects(b))]

        sources = [s.bucket.bucket for s in args.sources]
        replicas = [self.replicas[s.label].bucket for s in args.sources]
        source_keys = list({id(s.key): s.key for s in args.sources}.values())
        statements: list[dict[str, Any]] = [
            {"Sid": "ReadReplicationConfiguration", "Effect": "Allow",
             "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": [b.arn for b in sources]},
            {"Sid": "ReadSourceVersions", "Effect": "Allow",
             "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
                        # Object Lock sources: the retention and legal hold travel with each version.
                        "s3:GetObjectRetention", "s3:GetObjectLegalHold"],
             "Resource": [objects(b) for b in sources]},
            # No s3:ReplicateDelete: a delete in the primary region never reaches the DR copy.
            {"Sid": "WriteReplicas", "Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateTags"],
             "Resource": [objects(b) for b in replicas]},
            {"Sid": "DecryptSources", "Effect": "Allow", "Action": ["kms:Decrypt"],
             "Resource": [k.arn for k in source_keys],
             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{args.context.region}.amazonaws.com"},
                           "StringLike": {"kms:EncryptionContext:aws:s3:arn": bucket_context(sources)}}},
            # Decrypt on the replica key too: S3 verifies the replica bucket's S3 Bucket Key with it.
            {"Sid": "EncryptReplicas", "Effect": "Allow",
             "Action": ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"], "Resource": [self.key.arn],
             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{args.region}.amazonaws.com"},
                           "StringLike": {"kms:EncryptionContext:aws:s3:arn": bucket_context(replicas)}}},
        ]
        self._replication_policy = aws.iam.RolePolicy(
            f"{self._name}-replication", role=role.id, policy=policy_json(statements),
            opts=pulumi.ResourceOptions(parent=role))
        return role

    def _batch_replication_role(self) -> aws.iam.Role:
        """The role S3 Batch Operations assumes for a Batch Replication job over the sources (docs/runbooks/
        disaster-recovery.md, A.2 and A.4): a Batch Operations role ("Principal": batchoperations.s3.amazonaws.com),
        not the replication role, which trusts s3.amazonaws.com only. Its policy is AWS's for a manifest S3 generates
        and does not store, without a completion report: initiate replication of the sources' objects, read their
        replication configuration and generate the manifest (an inventory configuration). The copying itself is
        done by live replication's role. "Configuring an IAM role for S3 Batch Replication",
        https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-batch-replication-policies.html."""
        args = self._args
        sources = [s.bucket.bucket for s in args.sources]
        role = aws.iam.Role(
            f"{self._name}-batch-replication",
            description=f"Lets S3 Batch Operations replicate the objects that predate replication into {args.region}",
            assume_role_policy=policy_json([{
                "Effect": "Allow", "Principal": {"Service": "batchoperations.s3.amazonaws.com"},
                "Action": "sts:AssumeRole"}]),
            tags=named_tags(args.tags, f"{args.name_prefix}-dr-batch-replication"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{self._name}-batch-replication", role=role.id, policy=policy_json([
                {"Sid": "InitiateReplication", "Effect": "Allow", "Action": ["s3:InitiateReplication"],
                 "Resource": [b.arn.apply(lambda arn: f"{arn}/*") for b in sources]},
                {"Sid": "GenerateManifest", "Effect": "Allow",
                 "Action": ["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"],
                 "Resource": [b.arn for b in sources]},
            ]), opts=pulumi.ResourceOptions(parent=role))
        return role

    def _replication(self, source: ReplicationSource, replica: SecureBucket) -> aws.s3.BucketReplicationConfig:
        args = self._args
        assert self.key is not None and self.replication_role is not None
        rtc = args.settings.replication_time_control
        waits: list[pulumi.Resource] = [source.bucket.versioning, replica.versioning, self._replication_policy]
        if replica.object_lock is not None:
            waits.append(replica.object_lock)
        return aws.s3.BucketReplicationConfig(
            f"{self._name}-{source.label}",
            bucket=source.bucket.bucket.id,
            role=self.replication_role.arn,
            rules=[aws.s3.BucketReplicationConfigRuleArgs(
                id=REPLICATION_RULE_ID,
                status="Enabled",
                priority=1,
                filter=aws.s3.BucketReplicationConfigRuleFilterArgs(),  # every object (V2 configuration)
                delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                    status="Disabled"),  # see the module docstring: deletes never reach the DR copy
                source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                    sse_kms_encrypted_objects=(
                        aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"))),
                destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                    bucket=replica.arn,
                    storage_class=source.storage_class,
                    encryption_configuration=(
                        aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=self.key.arn)),  # the full key ARN, not an alias
                    metrics=aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                        status="Enabled",
                        # RTC's missed-threshold event needs the threshold (15 minutes, the only valid value).
                        event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                            minutes=15) if rtc else None),
                    replication_time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                        status="Enabled",
                        time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(minutes=15),
                    ) if rtc else None,
                ),
            )],
            # S3 refuses a replication configuration until both buckets are versioned; a locked source needs the
            # replica's lock in place; the role must be able to act when the first object arrives.
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits),
        )
