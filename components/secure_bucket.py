"""SecureBucket: every S3 bucket of the stack, hardened in one place.

What every bucket gets, without a switch to turn it off:

* default encryption SSE-KMS with the given CMK and an S3 bucket key (one KMS call per bucket key, not per object),
  and SSE-C blocked (objects encrypted with a customer-provided key would be unreadable to us);
* versioning; all four public-access blocks; ACLs disabled (object ownership BucketOwnerEnforced);
* a bucket policy that denies requests without TLS, requests over TLS older than 1.2 (`s3:TlsVersion`), SSE-C
  uploads, and uploads encrypted any other way than the bucket's own;
* a lifecycle: expiration, optional transitions, expiry of noncurrent versions, abort of incomplete multipart uploads,
  removal of expired delete markers;
* server access logging into a log bucket (`access_logs`, no default: opting out is explicit), date-partitioned for
  Athena;
* optional Object Lock with a default retention (chosen at creation: S3 cannot add it to an existing bucket);
* the removal policy: `retain` (default) protects the bucket and keeps it, contents included, when the stack or a
  replacement deletes it; `destroy` lets it go (emptied first only with `force_destroy`).

The log-target exceptions, the only ways a bucket deviates (`log_target`, each documented by AWS):

* `ServerAccessLogTarget`: a bucket receiving S3 server access logs. Its default encryption must be SSE-S3 (S3 user
  guide, "Enabling Amazon S3 server access logging": SSE-KMS destination buckets are not supported), and its policy
  admits `logging.s3.amazonaws.com` for this account's source buckets. It logs nowhere itself: its own access would be
  logged into itself, or into yet another bucket.
* `ElbAccessLogTarget`: a bucket receiving ALB access logs. SSE-S3 too (ELB user guide, "Access logs for your
  Application Load Balancer": the only supported server-side encryption is S3-managed keys), and its policy admits the
  ELB log-delivery principal (plus the regional ELB account in Regions older than that principal) under
  `<prefix>/AWSLogs/<account>/` only.

A data bucket names its CMK (`kms_key`); a log target names no key. Exactly one of the two, checked on construction.
Later buckets (CloudFront logs) add an exception here, next to the two above. The bootstrap's state bucket is a data
bucket with one documented lifecycle difference: its current objects never expire (`Lifecycle(expiration_days=None)`),
old versions are kept by count as well as by age. A bucket in another region (a DR replica) is no exception: `region`
manages it there, with a key and a log bucket of that region.

Not an exception: a data bucket may also receive CloudWatch *vended* logs (`vended_logs`, e.g. CloudFront's standard
logs v2). That delivery supports SSE-KMS ("If the bucket has server-side encryption using a customer managed AWS KMS
key, you must also add the key policy", CloudWatch Logs user guide, AWS-logs-infrastructure-V2-S3) and needs no ACL,
so the bucket keeps every hardening above; its policy admits delivery.logs.amazonaws.com for this account's delivery
sources only, and the key's policy must admit the same (EncryptionKeys(cdn=True) does for the logs key).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import RETAIN, AwsContext, RemovalPolicy, policy_json, retains
from components.constants import S3_SSE_C_KEY, S3_SSE_KEY, S3_SSE_KMS_KEY_ID_KEY, S3_TLS_VERSION_KEY

BUCKET_PREFIX_SUFFIX_LENGTH = 26
"""What the provider appends to `bucket_prefix` (terraform-plugin-sdk helper/id: `UniqueIDSuffixLength = 26`, a
timestamp and a counter)."""
MAX_BUCKET_PREFIX = 63 - BUCKET_PREFIX_SUFFIX_LENGTH
"""S3 bucket names are at most 63 characters, so a prefix at most 37."""
MAX_NEWER_NONCURRENT_VERSIONS = 100
"""S3 API reference, NoncurrentVersionExpiration: "You can specify up to 100 noncurrent versions to retain"."""
MINIMUM_TLS_VERSION = "1.2"
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"
"""The ELB log-delivery service principal. AWS documents it for every Region launched since August 2022 and accepts
it in the older ones too; the per-Region ELB *account* is the legacy form, needed in addition in those older Regions."""
# Regions opened before August 2022 deliver ALB access logs as a regional Elastic Load Balancing account, not as the
# log-delivery service principal; their bucket policies must name that account too (ELB user guide, "Access logs").
LEGACY_ELB_LOG_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-northeast-1",
    "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ca-central-1",
    "eu-central-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-north-1", "me-south-1", "sa-east-1",
    "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1",
})


@dataclass(frozen=True)
class Transition:
    """Move objects to a cheaper storage class after `days`."""

    days: int
    storage_class: Literal["STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]


NONCURRENT_VERSION_DAYS = 30
"""Days a bucket keeps a noncurrent (overwritten or deleted) object version unless told otherwise."""
ABORT_MULTIPART_DAYS = 7
"""Days after which a bucket aborts an incomplete multipart upload unless told otherwise."""

@dataclass(frozen=True)
class Lifecycle:
    """How long objects live (every bucket has one: nothing is kept forever by accident)."""

    expiration_days: int | None
    """Days after which a current object version becomes noncurrent (Object Lock still holds locked versions). None
    keeps current versions until someone deletes them: only for a bucket whose objects are records that must outlive
    any window (the Pulumi state bucket); every other bucket names a number."""
    noncurrent_version_days: int = NONCURRENT_VERSION_DAYS
    """Days a noncurrent (overwritten or deleted) version is kept; default NONCURRENT_VERSION_DAYS (30)."""
    newer_noncurrent_versions: int | None = None
    """Keep at least this many newer noncurrent versions of each object whatever their age (S3 allows up to 100,
    NoncurrentVersionExpiration in the S3 API reference); default None (age alone decides)."""
    abort_multipart_days: int = ABORT_MULTIPART_DAYS
    """Days after which incomplete multipart uploads are aborted and their parts deleted; default ABORT_MULTIPART_DAYS
    (7)."""
    transitions: tuple[Transition, ...] = ()
    """Storage-class transitions, in order; default none."""
    transient_prefixes: tuple[str, ...] = ()
    """Key prefixes of objects written once under a unique key and then deleted (the Pulumi CLI's lock files): their
    one noncurrent version goes after noncurrent_version_days whatever newer_noncurrent_versions says, which would
    otherwise keep it (and its delete marker) forever, since no newer version ever follows; default none."""


@dataclass(frozen=True)
class ObjectLock:
    """Default Object Lock retention of every new object version."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    """COMPLIANCE: nobody, not even root, can delete a version early. GOVERNANCE: s3:BypassGovernanceRetention can."""
    days: int
    """Days each version is locked."""


@dataclass(frozen=True)
class ServerAccessLogs:
    """Where a bucket's S3 server access logs go: a ServerAccessLogTarget bucket, under a key prefix."""

    bucket: aws.s3.Bucket
    """The log bucket (SecureBucket.bucket of a bucket whose log_target is a ServerAccessLogTarget)."""
    prefix: str
    """Key prefix of this bucket's logs, e.g. `backups/`."""


@dataclass(frozen=True)
class ServerAccessLogTarget:
    """Exception: this bucket receives S3 server access logs (SSE-S3; admits logging.s3.amazonaws.com)."""

    source_bucket_prefix: str
    """Only buckets of this account whose names start with this may deliver (aws:SourceArn); e.g. the stack's
    `<project>-<stack>-`. The source buckets are created after this one, so they are matched by name."""


@dataclass(frozen=True)
class ElbAccessLogTarget:
    """Exception: this bucket receives ALB access logs (SSE-S3; admits the ELB log-delivery principal)."""

    prefix: str = "alb"
    """The load balancer's `access_logs.prefix`; ELB writes under `<prefix>/AWSLogs/<account>/`."""


LogTarget = ServerAccessLogTarget | ElbAccessLogTarget


@dataclass(frozen=True)
class VendedLogDelivery:
    """This data bucket also receives CloudWatch vended logs (delivery.logs.amazonaws.com); SSE-KMS stays."""

    source_region: str
    """Region of the delivery sources allowed to write (aws:SourceArn), e.g. us-east-1 for CloudFront."""


@dataclass(frozen=True, kw_only=True)
class SecureBucketArgs:
    """Inputs of SecureBucket."""

    context: AwsContext
    """Account, partition and region (policy conditions, the ELB account of older Regions)."""
    bucket_prefix: str
    """Physical name prefix, at most 37 characters; S3 adds a unique suffix (bucket names are global)."""
    lifecycle: Lifecycle
    """Expiration, noncurrent versions, multipart uploads, transitions."""
    access_logs: ServerAccessLogs | None
    """Where this bucket's server access logs go. No default: None (no access logging) is an explicit choice, made for
    a ServerAccessLogTarget itself or by a caller that says why (e.g. a test without a log bucket)."""
    kms_key: aws.kms.Key | None = None
    """The CMK of a data bucket (SSE-KMS with a bucket key); uploads naming any other key are denied. None only for a
    log target."""
    log_target: LogTarget | None = None
    """The documented SSE-S3 exception: the log delivery this bucket receives. Default None (a data bucket)."""
    object_lock: ObjectLock | None = None
    """Object Lock default retention; default none."""
    vended_logs: VendedLogDelivery | None = None
    """Admit CloudWatch vended-log delivery (a data bucket only); default none."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): Pulumi protect and retain_on_delete; destroy: the bucket goes with the stack."""
    force_destroy: bool = False
    """Let `pulumi destroy` empty the bucket first; default false, and only with removal_policy destroy."""
    policy_grants: Callable[[pulumi.Output[str]], Sequence[dict[str, Any]]] | None = None
    """Further bucket policy statements (e.g. the state bucket's grants to environment accounts), built from the
    bucket's ARN and appended after the hardening denies; default none."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the bucket; its Name defaults to the bucket prefix."""
    region: str | None = None
    """Manage the bucket and all its configuration in this region instead of the provider's (pulumi-aws v7's
    per-resource `region`), e.g. a DR replica. Default: the provider's region. Its kms_key and access-log bucket must
    be in the same region (S3 encrypts with a key of the bucket's region; server access logs are delivered within a
    region)."""

    def __post_init__(self) -> None:
        if (self.kms_key is None) == (self.log_target is None):
            raise ValueError(f"SecureBucketArgs({self.bucket_prefix!r}): set kms_key (a data bucket, SSE-KMS) or "
                             "log_target (a log-delivery bucket, SSE-S3), exactly one")
        if self.vended_logs is not None and self.kms_key is None:
            raise ValueError(f"SecureBucketArgs({self.bucket_prefix!r}): vended logs go to a data bucket (kms_key)")
        if self.access_logs is not None and isinstance(self.log_target, ServerAccessLogTarget):
            raise ValueError(f"SecureBucketArgs({self.bucket_prefix!r}): a server-access-log target does not log "
                             "into another bucket")
        if self.force_destroy and retains(self.removal_policy):
            raise ValueError(f"SecureBucketArgs({self.bucket_prefix!r}): force_destroy needs removal_policy destroy")
        if self.force_destroy and self.object_lock is not None and self.object_lock.mode == "COMPLIANCE":
            raise ValueError(f"SecureBucketArgs({self.bucket_prefix!r}): force_destroy cannot empty a bucket under "
                             "COMPLIANCE Object Lock")
        if self.lifecycle.newer_noncurrent_versions is not None and \
                not 1 <= self.lifecycle.newer_noncurrent_versions <= MAX_NEWER_NONCURRENT_VERSIONS:
            raise ValueError(f"SecureBucketArgs({self.bucket_prefix!r}): newer_noncurrent_versions must be 1-"
                             f"{MAX_NEWER_NONCURRENT_VERSIONS} (S3 limit)")
        if not 3 <= len(self.bucket_prefix) <= MAX_BUCKET_PREFIX:
            raise ValueError(f"SecureBucketArgs.bucket_prefix {self.bucket_prefix!r}: 3-{MAX_BUCKET_PREFIX} "
                             "characters")


def _named_and_not(key: str, value: Any) -> dict[str, Any]:
    """The condition of a Deny that holds only when the request names `key` with another value than `value`: a
    request without the key passes (see SecureBucket._kms_upload_statements)."""
    return {"Null": {key: "false"}, "StringNotEquals": {key: value}}


class SecureBucket(pulumi.ComponentResource):
    """An S3 bucket with every hardening of this project (see the module docstring)."""

    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    policy: aws.s3.BucketPolicy
    """What a log-delivering service must wait for (ELB checks its write access when logging is enabled)."""
    object_lock: aws.s3.BucketObjectLockConfiguration | None = None
    """The default retention (None without Object Lock): a replication into this bucket waits for it."""

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:storage:SecureBucket", name, None, opts)
        self._name = name
        self._args = args
        self._object_arns: dict[str, pulumi.Output[str]] = {}
        retain = retains(args.removal_policy)
        self.bucket = aws.s3.Bucket(
            name,
            bucket_prefix=args.bucket_prefix,
            # Object Lock can only be switched on when the bucket is created; the retention is set below.
            object_lock_enabled=True if args.object_lock else None,
            force_destroy=args.force_destroy,
            region=args.region,
            tags={"Name": args.bucket_prefix.rstrip("-"), **args.tags},
            # Retained: a `pulumi destroy` or a replacement never takes the bucket (or its contents) with it.
            opts=pulumi.ResourceOptions(parent=self, protect=retain, retain_on_delete=retain),
        )
        child = pulumi.ResourceOptions(parent=self.bucket)
        self.versioning = aws.s3.BucketVersioning(
            name, bucket=self.bucket.id, region=args.region,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name, bucket=self.bucket.id, region=args.region,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=self._default_encryption(),
                bucket_key_enabled=True if args.kms_key else None,
                blocked_encryption_types=["SSE-C"],
            )],
            opts=child,
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            name, bucket=self.bucket.id, region=args.region,
            block_public_acls=True, block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
            opts=child,
        )
        ownership = aws.s3.BucketOwnershipControls(
            name, bucket=self.bucket.id, region=args.region,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),  # ACLs off
            opts=child,
        )
        self.policy = aws.s3.BucketPolicy(
            name, bucket=self.bucket.id, region=args.region, policy=policy_json(self._policy_statements()),
            # PutBucketPolicy and PutPublicAccessBlock on one bucket race ("conflicting conditional operation").
            opts=pulumi.ResourceOptions(parent=self.bucket, depends_on=[public_access_block, ownership]),
        )
        self._lifecycle()
        if args.object_lock is not None:
            self.object_lock = aws.s3.BucketObjectLockConfiguration(
                name, bucket=self.bucket.id, region=args.region, object_lock_enabled="Enabled",
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode=args.object_lock.mode, days=args.object_lock.days)),
                opts=pulumi.ResourceOptions(parent=self.bucket, depends_on=[self.versioning]),
            )
        if args.access_logs is not None:
            aws.s3.BucketLogging(
                name, bucket=self.bucket.id, region=args.region, target_bucket=args.access_logs.bucket.id,
                target_prefix=args.access_logs.prefix,
                # Date-partitioned keys: Athena can prune by day when someone asks "who read this object?".
                target_object_key_format=aws.s3.BucketLoggingTargetObjectKeyFormatArgs(
                    partitioned_prefix=aws.s3.BucketLoggingTargetObjectKeyFormatPartitionedPrefixArgs(
                        partition_date_source="EventTime")),
                opts=child,
            )
        self.register_outputs({"bucketName": self.bucket.bucket, "bucketArn": self.bucket.arn})

    # --- capabilities -------------------------------------------------------------------------------------------

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.bucket.arn

    @property
    def name(self) -> pulumi.Output[str]:
        """The bucket's physical name."""
        return self.bucket.bucket

    def access_logs_for(self, prefix: str) -> ServerAccessLogs:
        """Where another bucket should send its server access logs: this bucket (a ServerAccessLogTarget), `prefix`."""
        if not isinstance(self._args.log_target, ServerAccessLogTarget):
            raise ValueError(f"{self._name} is not a server-access-log target")
        return ServerAccessLogs(bucket=self.bucket, prefix=prefix)

    # --- parts --------------------------------------------------------------------------------------------------

    def _default_encryption(
            self) -> aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs:
        default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
        if self._args.kms_key is not None:
            return default(sse_algorithm="aws:kms", kms_master_key_id=self._args.kms_key.arn)
        return default(sse_algorithm="AES256")  # the log-target exception (module docstring)

    def _objects(self, suffix: str = "*") -> pulumi.Output[str]:
        if suffix not in self._object_arns:  # one Output per pattern: the policy names "every object" five times
            self._object_arns[suffix] = self.bucket.arn.apply(lambda arn: f"{arn}/{suffix}")
        return self._object_arns[suffix]

    def _policy_statements(self) -> list[dict[str, Any]]:
        everything = [self.bucket.arn, self._objects()]
        statements: list[dict[str, Any]] = [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": everything,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }, {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": everything,
            "Condition": {"NumericLessThan": {S3_TLS_VERSION_KEY: MINIMUM_TLS_VERSION}},
        }, {
            # Customer-provided keys (SSE-C): objects we could not read without a key we never hold.
            "Sid": "DenySseCUploads",
            "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": self._objects(),
            "Condition": {"Null": {S3_SSE_C_KEY: "false"}},
        }]
        statements += self._kms_upload_statements() if self._args.kms_key else self._sse_s3_upload_statements()
        target = self._args.log_target
        if isinstance(target, ServerAccessLogTarget):
            statements.append(self._server_access_log_delivery(target))
        elif isinstance(target, ElbAccessLogTarget):
            statements += self._elb_log_delivery(target)
        if self._args.policy_grants is not None:
            statements += self._args.policy_grants(self.bucket.arn)
        if self._args.vended_logs is not None:
            statements += self._vended_log_delivery(self._args.vended_logs)
        return statements

    def _vended_log_delivery(self, delivery: VendedLogDelivery) -> list[dict[str, Any]]:
        """The statements CloudWatch would otherwise append itself (AWSLogDeliveryWrite / AWSLogDeliveryAclCheck,
        CloudWatch Logs user guide, AWS-logs-infrastructure-V2-S3), written here so that nothing edits this policy
        behind Pulumi's back, and scoped to this account's delivery sources in `source_region`."""
        ctx = self._args.context
        condition = {
            "StringEquals": {"aws:SourceAccount": ctx.account_id},
            "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:logs:{delivery.source_region}:{ctx.account_id}:"
                                          "delivery-source:*"},
        }
        principal = {"Service": "delivery.logs.amazonaws.com"}
        return [{
            "Sid": "AWSLogDeliveryWrite", "Effect": "Allow", "Principal": principal, "Action": "s3:PutObject",
            "Resource": self._objects(),
            "Condition": {**condition, "StringEquals": {**condition["StringEquals"],
                                                        "s3:x-amz-acl": "bucket-owner-full-control"}},
        }, {
            "Sid": "AWSLogDeliveryAclCheck", "Effect": "Allow", "Principal": principal,
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": self.bucket.arn, "Condition": condition,
        }]

    def _kms_upload_statements(self) -> list[dict[str, Any]]:
        """Deny every upload that asks for an encryption other than SSE-KMS with exactly this bucket's key.

        An upload either names the encryption (then it must be `aws:kms` with this key's ARN; `aws:kms` without a key
        id is denied too, because S3 would use the AWS managed key aws/s3) or names none, and the bucket default
        applies: SSE-KMS with this key. Uploads naming none must pass: the Pulumi CLI writes its state without SSE
        headers, and UploadPart is authorized as s3:PutObject but carries none (boto/botocore#471; every dump over
        8 MB is a multipart upload). So each Deny holds only when the header is present (`Null` false) and wrong:
        a negated operator alone, or with `...IfExists`, is true when the key is absent and would deny them all
        ("If you are using an "Effect": "Deny" element with a negated condition operator like
        StringNotEqualsIfExists, the request is still denied even if the condition key is not present", IAM user
        guide, reference_policies_elements_condition_operators.html#Conditions_IfExists). The pack rule
        `s3-bucket-policy-denies` refuses that form.
        """
        assert self._args.kms_key is not None
        objects = self._objects()
        return [{
            "Sid": "DenyUploadsNotSseKms",
            "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": objects,
            "Condition": _named_and_not(S3_SSE_KEY, "aws:kms"),
        }, {
            "Sid": "DenyUploadsWithAnotherKey",
            "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": objects,
            "Condition": _named_and_not(S3_SSE_KMS_KEY_ID_KEY, self._args.kms_key.arn),
        }, {
            "Sid": "DenyUploadsSseKmsWithoutKeyId",
            "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": objects,
            "Condition": {
                "StringEquals": {S3_SSE_KEY: "aws:kms"},
                "Null": {S3_SSE_KMS_KEY_ID_KEY: "true"},
            },
        }]

    def _sse_s3_upload_statements(self) -> list[dict[str, Any]]:
        """A log bucket stores SSE-S3 only: an upload that asks for anything else is denied (log delivery asks for
        nothing, and the bucket default applies; see _kms_upload_statements for why a missing header must pass)."""
        return [{
            "Sid": "DenyUploadsNotSseS3",
            "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": self._objects(),
            "Condition": _named_and_not(S3_SSE_KEY, "AES256"),
        }]

    def _server_access_log_delivery(self, target: ServerAccessLogTarget) -> dict[str, Any]:
        """The S3 logging service may write logs of this account's buckets named `<source_bucket_prefix>*`."""
        ctx = self._args.context
        return {
            "Sid": "AllowS3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": self._objects(),
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:s3:::{target.source_bucket_prefix}*"},
            },
        }

    def _elb_log_delivery(self, target: ElbAccessLogTarget) -> list[dict[str, Any]]:
        ctx = self._args.context
        region = self._args.region or ctx.region
        resource = self._objects(f"{target.prefix}/AWSLogs/{ctx.account_id}/*")
        statements: list[dict[str, Any]] = [{
            "Sid": "ElbLogDelivery", "Effect": "Allow", "Principal": {"Service": ELB_LOG_DELIVERY},
            "Action": "s3:PutObject", "Resource": resource,
        }]
        if region in LEGACY_ELB_LOG_REGIONS:
            # The Output form: the program goes on registering while the lookup runs (a blocking invoke stalls it).
            elb_account = aws.elb.get_service_account_output(region=region)
            statements.append({
                "Sid": "ElbLogDeliveryRegionalAccount", "Effect": "Allow", "Principal": {"AWS": elb_account.arn},
                "Action": "s3:PutObject", "Resource": resource,
            })
        return statements

    def _lifecycle(self) -> aws.s3.BucketLifecycleConfiguration:
        lifecycle = self._args.lifecycle
        rules = [aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),  # every object
            transitions=[aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                days=t.days, storage_class=t.storage_class) for t in lifecycle.transitions] or None,
            # Current versions become noncurrent (a delete marker) after expiration_days; Object Lock still
            # protects each version until its retention date, whatever this rule says.
            expiration=None if lifecycle.expiration_days is None else
            aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=lifecycle.expiration_days),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=lifecycle.noncurrent_version_days,
                newer_noncurrent_versions=lifecycle.newer_noncurrent_versions),
            abort_incomplete_multipart_upload=(
                aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=lifecycle.abort_multipart_days)),
        ), *(aws.s3.BucketLifecycleConfigurationRuleArgs(
            # Overlapping expirations: "Amazon S3 chooses the shorter expiration period" (S3 user guide, lifecycle
            # configuration elements: overlapping filters).
            id=f"expire-transient-{prefix.strip('./').replace('/', '-')}",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=prefix),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=lifecycle.noncurrent_version_days),
            abort_incomplete_multipart_upload=(
                aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=lifecycle.abort_multipart_days)),
        ) for prefix in lifecycle.transient_prefixes), aws.s3.BucketLifecycleConfigurationRuleArgs(
            # Delete markers left once every version behind them has expired.
            id="remove-expired-delete-markers",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
        )]
        return aws.s3.BucketLifecycleConfiguration(
            self._name, bucket=self.bucket.id, region=self._args.region, rules=rules,
            # Noncurrent-version rules need versioning in place.
            opts=pulumi.ResourceOptions(parent=self.bucket, depends_on=[self.versioning]),
        )


def transitions(*steps: tuple[int, Literal["STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]]
                ) -> tuple[Transition, ...]:
    """The transitions whose day count is set (0 = never)."""
    return tuple(Transition(days, storage_class) for days, storage_class in steps if days)

