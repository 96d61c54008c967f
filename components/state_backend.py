"""The Pulumi state backend: the S3 bucket behind `pulumi login s3://...`, its CMK, and who may read or write which
stack's state.

The bucket is a SecureBucket (SSE-KMS with its own CMK and a bucket key, versioning, every public-access block,
TLS-only, server access logs into a log bucket beside it), protected and retained. Its lifecycle differs from every
other bucket in one documented way: current objects never expire (a checkpoint is the record of what exists), and
old versions are kept for `stateNoncurrentDays` *and* at least the newest `stateNoncurrentVersions` of each object
(the CLI rewrites a stack's checkpoint after every step of an update, so versions accumulate fast; S3 keeps "up to
100 noncurrent versions", NoncurrentVersionExpiration). Locking needs no table: "A basic file-based locking system is
enabled by default for all DIY backends"
(https://www.pulumi.com/docs/iac/operations/stack-management/using-a-diy-backend/).

Access is per stack. The DIY layout of a project-scoped backend is `.pulumi/stacks/<project>/<stack>.json`,
`.pulumi/history/<project>/<stack>/`, `.pulumi/backups/<project>/<stack>/`, and the lock under the stack's fully
qualified name, `.pulumi/locks/organization/<project>/<stack>/<id>.json` (pulumi/pkg/backend/diy/lock.go: `lockPath`
joins `stackLockDir(stackRef.FullyQualifiedName())`, which is `organization/<project>/<stack>`); the CLI "needs
exactly four S3 actions, and no more": ListBucket, GetObject, PutObject, DeleteObject (same page). A preview takes no
lock and writes nothing
(https://github.com/pulumi/pulumi/blob/master/pkg/backend/diy/backend.go: `Preview` goes straight to Execute;
history and backups are written only `if !opts.DryRun`), so a preview role reads and a deploy role writes only its
own stack's keys. ListBucket stays bucket-wide: listing returns names only, and the lock check lists parent prefixes.

With SSE-KMS default encryption the encryption is transparent to the CLI, provided the caller may use the key: "you
need kms:GenerateDataKey and kms:Decrypt permissions on the key" to upload or download
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-express-UsingKMSEncryption.html).
Both grants are bound to S3 (`kms:ViaService`).

With a DR region (`dr_region`: the foundation's, when any environment has DR), the whole bucket is replicated into a
replica of the same hardening in that region, with its own CMK there (components/disaster_recovery.py, the building
blocks of the backup buckets' copy: SecureBucket, the least-privilege replication role, one V2 rule). A DR stack is
deployed when the primary region is lost, and the bucket, its key and the stacks it references (the foundation's,
prod's) are all there: `pulumi login` with the replica's URL (`drStateBackendUrl`) finds the same per-stack layout.
* Every object (an empty filter: V2 configuration); SSE-KMS objects replicate only when asked
  (`SseKmsEncryptedObjects`), each replica re-encrypted with the DR key (`ReplicaKmsKeyID`, a key of the destination
  region: https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html).
* Delete markers are not replicated: "By default, when S3 Replication is enabled and an object is deleted in the
  source bucket, Amazon S3 adds a delete marker in the source bucket only. This action helps protect data in the
  destination buckets from accidental or malicious deletions"
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/delete-marker-replication.html); a version-specific delete
  is never replicated. A checkpoint deleted in the primary therefore stays in the replica, and so does each update's
  lock file (deleted at the end of an update in the primary): after a game day of the DR stack, its lock files stay
  in the replica, current, and must be deleted there before the replica serves an update of that stack.
* Grants: the same grantees (Organizations layout) on the replica bucket and its key, through S3 in the DR region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import RETAIN, AwsContext, RemovalPolicy
from components.constants import BOOTSTRAP_PROJECT, LOG_RETENTION_DAYS, PROJECT
from components.cross_account import grant
from components.disaster_recovery import DisasterRecovery, DisasterRecoveryArgs, ReplicationSource
from components.encryption import customer_managed_key
from components.secure_bucket import Lifecycle, SecureBucket, SecureBucketArgs, ServerAccessLogTarget
from components.settings import require_valid, setting

STATE_BUCKET_PREFIX = f"{PROJECT}-pulumi-state-"
DR_NAME_PREFIX = f"{PROJECT}-pulumi"
"""The replica's names (DisasterRecovery: `<prefix>-<label>-dr-...`): maratron-pulumi-state-dr-<suffix>, its log
bucket maratron-pulumi-access-logs-dr-<suffix>."""
DR_KEY_ALIAS = f"{PROJECT}-pulumi-state-dr"
"""Not DisasterRecovery's default `<prefix>-dr`: alias/maratron-pulumi-dr is the DR stack's secrets-provider key."""
LOG_BUCKET_PREFIX = f"{PROJECT}-pulumi-logs-"
DIY_ORGANIZATION = "organization"
PULUMI_LOCKS_PREFIX = ".pulumi/locks/"
"""Where the Pulumi CLI writes each update's lock file (one new key per update, deleted when it ends)."""
"""Non-legacy DIY backends name stacks organization/<project>/<stack>, with the organization "literally"
`organization` (Pulumi Automation API reference, fullyQualifiedStackName)."""


@dataclass(frozen=True)
class StackPath:
    """A stack in the backend: its project and name."""

    project: str
    stack: str

    @property
    def qualified(self) -> str:
        """organization/<project>/<stack>, what StackReference and `--stack` take."""
        return f"{DIY_ORGANIZATION}/{self.project}/{self.stack}"

    def read_keys(self) -> list[str]:
        """Objects a reader of the stack fetches (the checkpoint and the .bak copy the backend writes beside it)."""
        return [f".pulumi/stacks/{self.project}/{self.stack}.json*"]

    def write_keys(self) -> list[str]:
        """Objects an update of the stack writes: checkpoint, lock, history, backups."""
        return [f".pulumi/stacks/{self.project}/{self.stack}.json*",
                f"{PULUMI_LOCKS_PREFIX}{self.qualified}/*",  # keyed by the fully qualified name (module docstring)
                *(f".pulumi/{kind}/{self.project}/{self.stack}/*" for kind in ("history", "backups"))]


def app_stack(environment: str) -> StackPath:
    return StackPath(PROJECT, environment)


def bootstrap_stack(stack: str) -> StackPath:
    return StackPath(BOOTSTRAP_PROJECT, stack)


def backend_url(bucket: str, region: str) -> str:
    """What `pulumi login` takes (DIY backend page: `s3://<bucket-name>?region=us-east-1&awssdk=v2&profile=...`;
    a human adds `&profile=...`, CI's credentials come from the environment)."""
    return f"s3://{bucket}?region={region}&awssdk=v2"


def _objects(bucket_arn: pulumi.Input[str], keys: Sequence[str]) -> list[pulumi.Output[str]]:
    return [pulumi.Output.concat(bucket_arn, "/", key) for key in keys]


def state_read_statements(bucket_arn: pulumi.Input[str], key_arn: pulumi.Input[str], region: str,
                          stacks: Sequence[StackPath]) -> list[dict[str, Any]]:
    """Read the backend's metadata and these stacks' checkpoints (a preview; a StackReference)."""
    keys = [".pulumi/meta.yaml", *(key for path in stacks for key in path.read_keys())]
    return [
        {"Sid": "ListStateBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [bucket_arn]},
        {"Sid": "ReadStacks", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": _objects(bucket_arn, keys)},
        {"Sid": "DecryptStateThroughS3", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key_arn],
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}},
    ]


def state_write_statements(bucket_arn: pulumi.Input[str], key_arn: pulumi.Input[str], region: str,
                           stacks: Sequence[StackPath]) -> list[dict[str, Any]]:
    """Lock, update and record these stacks (a deploy), on top of `state_read_statements`."""
    return [
        {"Sid": "WriteOwnStack", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": _objects(bucket_arn, [key for stack in stacks for key in stack.write_keys()])},
        {"Sid": "EncryptStateThroughS3", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
         "Resource": [key_arn],
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}},
    ]


@dataclass(frozen=True, kw_only=True)
class StateBackendSettings:
    """How long old state versions are kept."""

    noncurrent_days: int = setting(
        "stateNoncurrentDays", 90, "Days an overwritten state object version is kept (1-3650); together with "
        "stateNoncurrentVersions: a version goes only when both allow it.", minimum=1, maximum=3650)
    noncurrent_versions: int = setting(
        "stateNoncurrentVersions", 100, "Newest overwritten versions of each state object kept whatever their age "
        "(1-100, the S3 maximum).", minimum=1, maximum=100)


@dataclass(frozen=True)
class StateGrant:
    """An environment account's CI role and what it may do with the state (Organizations layout)."""

    account_root: str
    role_arn: str
    read: tuple[StackPath, ...]
    write: tuple[StackPath, ...] = ()
    """The stacks it updates (a deploy role: its environment's app stacks); none for a preview role."""


@dataclass(frozen=True)
class StateBackendArgs:
    """Inputs of StateBackend."""

    context: AwsContext
    """The account and region of the bucket and its key."""
    settings: StateBackendSettings = field(default_factory=StateBackendSettings)
    """Retention of old state versions; default 90 days and at least 100 versions."""
    grants: Sequence[StateGrant] = ()
    """Roles of other accounts that read or write stacks here (their own IAM policies must allow it too); default
    none (one account)."""
    organization_id: str = ""
    """With grants: the AWS Organizations id every grantee must belong to (aws:PrincipalOrgID); default none."""
    access_log_days: int = LOG_RETENTION_DAYS
    """Days the bucket's server access logs are kept; default 365."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default, and the only sensible value): bucket and key are protected and kept."""
    dr_region: str | None = None
    """Replicate the whole bucket into a replica in this region, with a CMK there (module docstring); default none."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        require_valid(self.settings)
        if self.dr_region is not None and self.dr_region == self.context.region:
            raise ValueError(f"StateBackendArgs.dr_region {self.dr_region}: must differ from the bucket's region")


class StateBackend(pulumi.ComponentResource):
    """The S3 bucket and CMK behind `pulumi login s3://...`, with per-stack access statements."""

    bucket: SecureBucket
    access_logs: SecureBucket
    key: aws.kms.Key
    """Encrypts the state objects (SSE-KMS with a bucket key)."""
    dr: DisasterRecovery | None
    """The replica in the DR region (its bucket `dr.replicas["state"]`, key `dr.key`); None without a DR region."""

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:foundation:StateBackend", name, None, opts)
        self._args = args
        ctx = args.context
        self.key = customer_managed_key(
            f"{name}-key", context=ctx, alias=f"{PROJECT}-pulumi-state",
            description=f"{PROJECT}: Pulumi state (SSE-KMS of the state bucket)",
            statements=self._key_grants(ctx.region), removal_policy=args.removal_policy, tags=args.tags, parent=self)
        self.access_logs = SecureBucket(f"{name}-access-logs", SecureBucketArgs(
            context=ctx, bucket_prefix=LOG_BUCKET_PREFIX, lifecycle=Lifecycle(expiration_days=args.access_log_days),
            access_logs=None,  # a server-access-log target logs nowhere itself
            log_target=ServerAccessLogTarget(source_bucket_prefix=STATE_BUCKET_PREFIX),
            removal_policy=args.removal_policy, tags=args.tags,
        ), opts=pulumi.ResourceOptions(parent=self))
        # Checkpoints never expire; old versions go after noncurrent_days once newer ones exceed the count. Each
        # update's lock file is a new key, deleted at the end: its one old version goes after noncurrent_days.
        lifecycle = Lifecycle(expiration_days=None, noncurrent_version_days=args.settings.noncurrent_days,
                              newer_noncurrent_versions=args.settings.noncurrent_versions,
                              transient_prefixes=(PULUMI_LOCKS_PREFIX,))
        self.bucket = SecureBucket(name, SecureBucketArgs(
            context=ctx, bucket_prefix=STATE_BUCKET_PREFIX, kms_key=self.key, lifecycle=lifecycle,
            access_logs=self.access_logs.access_logs_for("state/"),
            policy_grants=self._bucket_grants if args.grants else None,
            removal_policy=args.removal_policy, tags=args.tags,
        ), opts=pulumi.ResourceOptions(parent=self))
        self.dr = None
        if args.dr_region is not None:
            # The replica keeps what the source keeps (replication does not copy lifecycle rules).
            self.dr = DisasterRecovery(f"{name}-dr", DisasterRecoveryArgs(
                context=ctx, region=args.dr_region, sources=(ReplicationSource(
                    label="state", bucket=self.bucket, key=self.key, lifecycle=lifecycle, storage_class="STANDARD",
                    policy_grants=self._bucket_grants if args.grants else None),),
                name_prefix=DR_NAME_PREFIX, key_alias=DR_KEY_ALIAS,
                key_statements=tuple(self._key_grants(args.dr_region)), access_log_expiration_days=args.access_log_days,
                removal_policy=args.removal_policy, tags=args.tags,
            ), opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"bucketName": self.bucket.name, "keyArn": self.key.arn})

    @property
    def bucket_arn(self) -> pulumi.Output[str]:
        return self.bucket.arn

    def url(self) -> pulumi.Output[str]:
        """The `pulumi login` URL of this backend."""
        region = self._args.context.region
        return self.bucket.name.apply(lambda bucket: backend_url(bucket, region))

    @property
    def dr_region(self) -> str | None:
        return self._args.dr_region

    @property
    def dr_bucket(self) -> SecureBucket | None:
        """The replica bucket in the DR region (None without one)."""
        return self.dr.replicas["state"] if self.dr is not None else None

    def dr_url(self) -> pulumi.Output[str]:
        """The `pulumi login` URL of the replica ("" without a DR region)."""
        region, replica = self._args.dr_region, self.dr_bucket
        if region is None or replica is None:
            return pulumi.Output.from_input("")
        return replica.name.apply(lambda bucket: backend_url(bucket, region))

    def read_statements(self, stacks: Sequence[StackPath]) -> list[dict[str, Any]]:
        return state_read_statements(self.bucket.arn, self.key.arn, self._args.context.region, stacks)

    def write_statements(self, stacks: Sequence[StackPath]) -> list[dict[str, Any]]:
        return state_write_statements(self.bucket.arn, self.key.arn, self._args.context.region, stacks)

    # --- cross-account grants (Organizations layout) -----------------------------------------------------------

    def _bucket_grants(self, bucket_arn: pulumi.Output[str]) -> list[dict[str, Any]]:
        """The resource-policy half of each grantee's IAM statements (its own account's policy is the other)."""
        statements: list[dict[str, Any]] = []
        region = self._args.context.region
        for index, g in enumerate(self._args.grants):
            identity = state_read_statements(bucket_arn, "", region, g.read)[:2]  # list + read; the key is separate
            if g.write:
                identity.append(state_write_statements(bucket_arn, "", region, g.write)[0])
            for statement in identity:
                statements.append(grant(statement, account_root=g.account_root, principal_arns=[g.role_arn],
                                        organization_id=self._args.organization_id,
                                        sid=f"{statement['Sid']}{index}"))
        return statements

    def _key_grants(self, region: str) -> list[dict[str, Any]]:
        """Each grantee's use of a key of the backend (the state key, or the replica's in `region`) through S3."""
        statements = []
        for index, g in enumerate(self._args.grants):
            actions = ["kms:Decrypt"] + (["kms:GenerateDataKey"] if g.write else [])
            statements.append(grant(
                {"Effect": "Allow", "Action": actions, "Resource": "*",
                 "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}},
                account_root=g.account_root, principal_arns=[g.role_arn], organization_id=self._args.organization_id,
                sid=f"StateThroughS3{index}"))
        return statements
