"""S3 rules. pulumi-aws v7 configures a bucket through companion resources (encryption, versioning, public access
block, policy) that name it in their `bucket` input; per-resource rules check each companion's settings and the
stack rule checks every bucket has all of them."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import (
    LOAD_BALANCER_TYPES,
    SHARED,
    Rule,
    as_list,
    linked,
    number,
    of_type,
    resource_rule,
    settings_rule,
    stack_rule,
    statements,
    truthy,
)
from ._controls import (
    MISSING,
    AtLeast,
    Drop,
    Guard,
    Has,
    Is,
    OneOf,
    Patch,
    Present,
    RemoveItem,
    Setting,
    To,
    When,
)

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
KMS_ALGORITHMS: tuple[str, ...] = tuple(SHARED["kmsEncryptionAlgorithms"])
STATEMENT = "policy<json>.Statement[*]"
SSE_ALGORITHM = "rules[*].applyServerSideEncryptionByDefault.sseAlgorithm"
KMS_SSE = When(SSE_ALGORITHM, re.compile("^(" + "|".join(re.escape(a) for a in KMS_ALGORITHMS) + ")$"))
"""Default encryption under a KMS key: SSE-KMS (aws:kms) and DSSE-KMS (aws:kms:dsse) both take KMSMasterKeyID and use
the AWS managed key aws/s3 without one (https://docs.aws.amazon.com/AmazonS3/latest/API/
API_ServerSideEncryptionByDefault.html)."""
BUCKET_KEY_SSE = When(SSE_ALGORITHM, "aws:kms")
"""Where an S3 Bucket Key applies: SSE-KMS only ("Amazon S3 Bucket Keys aren't supported for dual-layer server-side
encryption with AWS KMS keys (DSSE-KMS)", https://docs.aws.amazon.com/systems-manager-automation-runbooks/latest/
userguide/automation-aws-enableS3bucketkeys.html; https://docs.aws.amazon.com/AmazonS3/latest/userguide/
bucket-key.html)."""


def _algorithms(props: object) -> list[str]:
    rules = as_list(getattr(props, "get", lambda _k: None)("rules"))
    return [str((r.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") or "") for r in rules]


def _encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    algorithms = _algorithms(args.props)
    if not algorithms or any(a not in (*KMS_ALGORITHMS, "AES256") for a in algorithms):
        report(f"default encryption {algorithms or 'missing'}: use aws:kms (or AES256 where KMS is unsupported)",
               None)


def _versioning(args: ResourceValidationArgs, report: ReportViolation) -> None:
    status = (args.props.get("versioningConfiguration") or {}).get("status")
    if status != "Enabled":
        report(f"versioning status is {status!r}, not 'Enabled'", None)


def _public_access_block(args: ResourceValidationArgs, report: ReportViolation) -> None:
    off = [flag for flag in PAB_FLAGS if not truthy(args.props.get(flag))]
    if off:
        report(f"public access block leaves {off} off; all four must be true", None)


def denies_insecure_transport(policy: object) -> bool:
    for statement in statements(policy):
        condition = statement.get("Condition") or {}
        secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
            return True
    return False


def _tls_only_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not denies_insecure_transport(args.props.get("policy")):
        report("bucket policy has no Deny on aws:SecureTransport=false", None)


def _no_force_destroy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if truthy(args.props.get("forceDestroy")):
        report("forceDestroy is true: deleting the stack would delete every object", None)


def _companions(resources: list[PolicyResource], bucket: PolicyResource, type_: str) -> list[PolicyResource]:
    return [r for r in of_type(resources, type_) if bucket in linked(r, "bucket")]


def _bucket_hardening(args: StackValidationArgs, report: ReportViolation) -> None:
    # ALB access logs and S3 server access logs can only be delivered to SSE-S3 buckets: those may use AES256.
    log_targets = {b.urn for lb in of_type(args.resources, *LOAD_BALANCER_TYPES) for b in linked(lb, "accessLogs")}
    log_targets |= {b.urn for log in of_type(args.resources, *BUCKET_LOGGING) for b in linked(log, "targetBucket")}
    for bucket in of_type(args.resources, BUCKET):
        encryption = _companions(args.resources, bucket, SSE)
        if not encryption:
            report("bucket has no server-side encryption configuration", bucket.urn)
        elif bucket.urn not in log_targets and not all(
                a in KMS_ALGORITHMS for e in encryption for a in _algorithms(e.props)):
            report("data bucket is not encrypted with KMS (aws:kms)", bucket.urn)
        if not _companions(args.resources, bucket, VERSIONING):
            report("bucket has no versioning configuration", bucket.urn)
        if not _companions(args.resources, bucket, PUBLIC_ACCESS_BLOCK):
            report("bucket has no public access block", bucket.urn)
        if not any(denies_insecure_transport(p.props.get("policy"))
                   for p in _companions(args.resources, bucket, BUCKET_POLICY)):
            report("bucket has no TLS-only bucket policy", bucket.urn)


RULES: list[Rule] = [
    resource_rule("s3-encryption", area="storage", types=[SSE], check=_encryption,
                  summary="S3 default encryption is SSE-KMS (SSE-S3 only where KMS is unsupported)",
                  reference="seed: backups encrypted; Checkov CKV_AWS_19, CKV_AWS_145",
                  guards=[Guard("rules", To([]))]),
    resource_rule("s3-versioning", area="storage", types=[VERSIONING], check=_versioning,
                  summary="S3 versioning is enabled", reference="seed: backups; Checkov CKV_AWS_21",
                  guards=[Guard("versioningConfiguration.status", To("Suspended"))]),
    resource_rule("s3-public-access-block", area="storage", types=[PUBLIC_ACCESS_BLOCK],
                  check=_public_access_block, summary="S3 public access block sets all four flags",
                  reference="cdk-nag S2; Checkov CKV2_AWS_6", guards=[Guard(flag, To(False)) for flag in PAB_FLAGS]),
    resource_rule("s3-tls-only-policy", area="storage", types=[BUCKET_POLICY], check=_tls_only_policy,
                  summary="S3 bucket policies deny requests without TLS", reference="cdk-nag S10",
                  guards=[Guard(f"{STATEMENT}.Condition.Bool.aws:SecureTransport", RemoveItem(STATEMENT),
                                note="the Deny of requests without TLS"),
                          Guard(f"{STATEMENT}.Effect", Patch(STATEMENT, {"Effect": "Allow"}),
                                note="statement effects (a Deny turned Allow)")]),
    resource_rule("s3-no-force-destroy", area="storage", types=[BUCKET], check=_no_force_destroy, prod_only=True,
                  summary="Production buckets cannot be force-destroyed with their objects",
                  reference="seed: protect production backups", guards=[Guard("forceDestroy", To(True))]),
    stack_rule("s3-bucket-hardening", area="storage", check=_bucket_hardening,
               summary="Every bucket has encryption (KMS for data), versioning, a public access block and a "
                       "TLS-only policy",
               reference="seed: encrypted backups; cdk-nag S2, S10; Checkov CKV_AWS_21, CKV_AWS_145, CKV2_AWS_6",
               guards=[*(Guard("bucket", Drop(), types=(companion,), blame="bucket", note="the bucket's companion")
                         for companion in (SSE, VERSIONING, PUBLIC_ACCESS_BLOCK, BUCKET_POLICY)),
                       Guard(SSE_ALGORITHM, To("AES256"), types=(SSE,), where=KMS_SSE, blame="bucket",
                             note="data buckets encrypt with KMS")]),
]


# --- controls the stack sets beyond the rules above (issue 13: the pack guards every control) -------------------------

# AWS behaviour these rules rely on: S3 server access logs cannot be delivered into a bucket that logs into itself
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html); s3:TlsVersion and the
# x-amz-server-side-encryption condition keys (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
# amazon-s3-policy-keys.html); blocking SSE-C in the default encryption (https://docs.aws.amazon.com/AmazonS3/latest/
# userguide/blocking-unblocking-s3-c-encryption-gpb.html); Object Lock default retention
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html); ACLs off with BucketOwnerEnforced
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html).

OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
TLS_VERSION: str = SHARED["s3ConditionKeys"]["tlsVersion"]
SSE_C: str = SHARED["s3ConditionKeys"]["sseC"]
SSE_HEADER: str = SHARED["s3ConditionKeys"]["sse"]
SSE_KEY_HEADER: str = SHARED["s3ConditionKeys"]["sseKmsKeyId"]


def access_log_targets(resources: list[PolicyResource]) -> set[str]:
    """Buckets that receive S3 server access logs: they log nowhere themselves (into themselves, or into yet another
    bucket). Every other bucket logs, the ALB's access-log bucket included."""
    return {b.urn for log in of_type(resources, *BUCKET_LOGGING) for b in linked(log, "targetBucket")}


def _access_logging(args: StackValidationArgs, report: ReportViolation) -> None:
    targets = access_log_targets(args.resources)
    for bucket in of_type(args.resources, BUCKET):
        if bucket.urn not in targets and not any(_companions(args.resources, bucket, t) for t in BUCKET_LOGGING):
            report("bucket has no server access logging (aws:s3/bucketLogging into the stack's access-log bucket)",
                   bucket.urn)


def _bucket_companions(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in of_type(args.resources, BUCKET):
        if not _companions(args.resources, bucket, OWNERSHIP):
            report("bucket has no ownership controls: ACLs stay enabled (set BucketOwnerEnforced)", bucket.urn)
        if not _companions(args.resources, bucket, LIFECYCLE):
            report("bucket has no lifecycle configuration: objects, old versions and failed uploads are kept (and "
                   "billed) forever", bucket.urn)
        locks = _companions(args.resources, bucket, OBJECT_LOCK)
        if truthy(bucket.props.get("objectLockEnabled")) and not locks:
            report("bucket has Object Lock enabled but no default retention (object lock configuration)", bucket.urn)
        if locks and not truthy(bucket.props.get("objectLockEnabled")):
            report("bucket has an Object Lock configuration but objectLockEnabled is not true: nothing is locked",
                   bucket.urn)


def _denies(statement: dict[str, Any], operator: str, key: str) -> Any:
    if statement.get("Effect") != "Deny":
        return None
    return ((statement.get("Condition") or {}).get(operator) or {}).get(key)


def _denies_when_named(found: list[dict[str, Any]], key: str) -> list[str]:
    """The values of the Denies that refuse an upload naming `key` with another value, and only then: `Null` false
    beside `StringNotEquals` on the same key (a request without the key passes, and the bucket default applies)."""
    return [str(v) for s in found if (v := _denies(s, "StringNotEquals", key)) is not None
            and str(_denies(s, "Null", key)).lower() == "false"]


def _denies_when_missing(found: list[dict[str, Any]], keys: tuple[str, ...]) -> list[str]:
    """Denies on an encryption header that also hold when the request does not name it: a negated operator or an
    `...IfExists` one is true for a missing key ("If you are using an "Effect": "Deny" element with a negated condition
    operator like StringNotEqualsIfExists, the request is still denied even if the condition key is not present",
    IAM user guide, condition operators), unless `Null` false on the same key guards it."""
    return [f"{s.get('Sid') or 'a Deny'}: {operator} {key}" for s in found if s.get("Effect") == "Deny"
            for operator, block in (s.get("Condition") or {}).items() if isinstance(block, dict)
            for key in keys if key in block and ("Not" in operator or operator.endswith("IfExists"))
            and str(_denies(s, "Null", key)).lower() != "false"]


def _policy_denies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    found = list(statements(args.props.get("policy")))
    tls = [number(v) for s in found if (v := _denies(s, "NumericLessThan", TLS_VERSION)) is not None]
    if not any(v >= 1.2 for v in tls):
        report("bucket policy does not deny TLS older than 1.2 (Deny on NumericLessThan s3:TlsVersion 1.2)", None)
    if not any(str(_denies(s, "Null", SSE_C)).lower() == "false" for s in found):
        report("bucket policy does not deny SSE-C uploads (Deny on Null " + SSE_C + " false)", None)
    for broken in _denies_when_missing(found, (SSE_HEADER, SSE_KEY_HEADER)):
        report(f"bucket policy denies every upload that names no encryption ({broken} without Null false on the "
               "key): a missing key makes a negated or ...IfExists operator true, so the Pulumi CLI's state writes, "
               "multipart UploadPart and log delivery, which send no SSE header, are refused before the bucket "
               "default encryption applies", None)
    required = _denies_when_named(found, SSE_HEADER)
    if not required:
        report("bucket policy does not deny uploads encrypted other than with the bucket's own encryption "
               f"(Deny on Null {SSE_HEADER} false and StringNotEquals {SSE_HEADER})", None)
    # SSE-KMS and DSSE-KMS uploads both name their key in the same header (or get aws/s3 without one):
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html (x-amz-server-side-encryption-aws-kms-key-id).
    if set(required) & set(KMS_ALGORITHMS):
        if not _denies_when_named(found, SSE_KEY_HEADER):
            report("bucket policy does not deny KMS (SSE-KMS, DSSE-KMS) uploads with another key (Deny on Null "
                   f"{SSE_KEY_HEADER} false and StringNotEquals {SSE_KEY_HEADER})", None)
        if not any(str(_denies(s, "Null", SSE_KEY_HEADER)).lower() == "true" for s in found):
            report("bucket policy does not deny KMS (SSE-KMS, DSSE-KMS) uploads that name no key (Null "
                   f"{SSE_KEY_HEADER} true)", None)


def _statement_with(operator: str, key: str, what: str) -> Guard:
    return Guard(f"{STATEMENT}.Condition.{operator}.{key}", RemoveItem(STATEMENT), note=f"the Deny of {what}")


RULES += [
    stack_rule(
        "s3-access-logging", area="storage", check=_access_logging,
        summary="Every bucket writes S3 server access logs (the ALB and CDN log buckets too), except the bucket "
                "that receives them",
        reference="seed: log aggregation; cdk-nag S1; Checkov CKV_AWS_18",
        guards=[Guard("bucket", Drop(), types=BUCKET_LOGGING, blame="bucket", note="the bucket's access logging")]),
    stack_rule(
        "s3-bucket-companions", area="storage", check=_bucket_companions,
        summary="Every bucket has ownership controls and a lifecycle; Object Lock comes with a default retention",
        reference="seed: backup strategy; Checkov CKV2_AWS_65, CKV2_AWS_61, CKV_AWS_143",
        guards=[*(Guard("bucket", Drop(), types=(companion,), blame="bucket", note="the bucket's companion")
                  for companion in (OWNERSHIP, LIFECYCLE, OBJECT_LOCK)),
                Guard("objectLockEnabled", To(False), types=(BUCKET,))]),
    settings_rule(
        "s3-acls-disabled", area="storage", types=[OWNERSHIP],
        summary="Bucket ACLs are disabled (object ownership BucketOwnerEnforced)",
        reference="seed: backup encryption, access control; Checkov CKV2_AWS_65",
        settings=[Setting("rule.objectOwnership", Is("BucketOwnerEnforced", weak="ObjectWriter"))]),
    settings_rule(
        "s3-lifecycle-rules", area="storage", types=[LIFECYCLE],
        summary="Lifecycles are enabled, abort failed multipart uploads, and keep current objects at least "
                "minimumExpirationDays and old versions at least minimumNoncurrentDays",
        reference="seed: backup retention; Checkov CKV2_AWS_61, CKV_AWS_300",
        schema={"minimumExpirationDays": {"type": "integer", "minimum": 1, "default": 365,
                                          "description": "Minimum days before current objects expire."},
                "minimumNoncurrentDays": {"type": "integer", "minimum": 1, "default": 7,
                                          "description": "Minimum days noncurrent versions are kept."}},
        settings=[
            Setting("rules[*].status", Is("Enabled", weak="Disabled")),
            Setting("rules[*].abortIncompleteMultipartUpload.daysAfterInitiation", AtLeast(1)),
            Setting("rules[*].expiration.days", AtLeast(365, param="minimumExpirationDays"), required=False),
            Setting("rules[*].noncurrentVersionExpiration.noncurrentDays", AtLeast(7, param="minimumNoncurrentDays"),
                    required=False),
        ]),
    settings_rule(
        "s3-object-lock-retention", area="storage", types=[OBJECT_LOCK],
        summary="Object Lock holds every new object version for at least minimumDays, in an allowed mode",
        reference="seed: backup immutability; Checkov CKV_AWS_143",
        schema={"allowedModes": {"type": "array", "items": {"type": "string"}, "default": ["COMPLIANCE"],
                                 "description": "Object Lock modes allowed (COMPLIANCE: nobody can delete early)."},
                "minimumDays": {"type": "integer", "minimum": 1, "default": 30,
                                "description": "Minimum default retention in days."}},
        settings=[
            Setting("objectLockEnabled", Is("Enabled", weak="Disabled"), required=False),
            Setting("rule.defaultRetention.mode", OneOf(("COMPLIANCE",), weak="GOVERNANCE", param="allowedModes")),
            Setting("rule.defaultRetention.days", AtLeast(30, param="minimumDays")),
        ]),
    settings_rule(
        "s3-encryption-cmk", area="storage", types=[SSE],
        summary="KMS-encrypted buckets (SSE-KMS, DSSE-KMS) name their customer-managed key and SSE-KMS ones use an "
                "S3 bucket key (DSSE-KMS has none); every bucket blocks SSE-C uploads",
        reference="seed: backup encryption; Checkov CKV_AWS_145; S3 user guide (blocking SSE-C); AWS: "
                  "https://docs.aws.amazon.com/AmazonS3/latest/API/API_ServerSideEncryptionByDefault.html",
        settings=[
            Setting("rules[*].applyServerSideEncryptionByDefault.kmsMasterKeyId", Present(weak=MISSING),
                    where=KMS_SSE),
            Setting("rules[*].bucketKeyEnabled", Is(True), where=BUCKET_KEY_SSE),
            Setting("rules[*].blockedEncryptionTypes", Has("SSE-C")),
        ]),
    resource_rule(
        "s3-bucket-policy-denies", area="storage", types=[BUCKET_POLICY], check=_policy_denies,
        summary="Bucket policies deny TLS older than 1.2, SSE-C uploads, and uploads asking for an encryption other "
                "than the bucket's own (for SSE-KMS and DSSE-KMS buckets, another key or no key), never uploads "
                "that ask for none",
        reference="seed: backup encryption at rest and in transit; S3 user guide (s3:TlsVersion, SSE-C, "
                  "x-amz-server-side-encryption conditions); AWS: "
                  "https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html",
        guards=[_statement_with("NumericLessThan", TLS_VERSION, "TLS older than 1.2"),
                _statement_with("Null", SSE_C, "SSE-C uploads"),
                _statement_with("StringNotEquals", SSE_HEADER, "uploads encrypted another way"),
                _statement_with("StringNotEquals", SSE_KEY_HEADER, "uploads with another KMS key"),
                *(Guard(f"{STATEMENT}.Condition.Null.{key}", Patch(STATEMENT + ".Condition", {"Null": MISSING}),
                        note=f"the Null guard that lets uploads naming no {what} through")
                  for key, what in ((SSE_HEADER, "encryption"), (SSE_KEY_HEADER, "key"))),
                _statement_with("Null", SSE_KEY_HEADER, "SSE-KMS uploads naming no key"),
                _statement_with("StringEquals", SSE_HEADER, "SSE-KMS uploads naming no key")]),
]
