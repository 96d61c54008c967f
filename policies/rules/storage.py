"""S3 rules. pulumi-aws v7 configures a bucket through companion resources (encryption, versioning, public access
block, policy) that name it in their `bucket` input; per-resource rules check each companion's settings and the
stack rule checks every bucket has all of them."""

from __future__ import annotations

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import (
    LOAD_BALANCER_TYPES,
    SHARED,
    Rule,
    as_list,
    linked,
    of_type,
    resource_rule,
    stack_rule,
    statements,
    truthy,
)

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
KMS_ALGORITHMS: tuple[str, ...] = tuple(SHARED["kmsEncryptionAlgorithms"])


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


def _access_logging(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every bucket logs its access, except the buckets that receive S3 server access logs (a bucket that logged
    into itself would log its own log writes; into another, that one's)."""
    logging = of_type(args.resources, *BUCKET_LOGGING)
    targets = {b.urn for log in logging for b in linked(log, "targetBucket")}
    for bucket in of_type(args.resources, BUCKET):
        if bucket.urn not in targets and not any(bucket in linked(log, "bucket") for log in logging):
            report("bucket has no server access logging (aws:s3/bucketLogging)", bucket.urn)


RULES: list[Rule] = [
    resource_rule("s3-encryption", area="storage", types=[SSE], check=_encryption,
                  summary="S3 default encryption is SSE-KMS (SSE-S3 only where KMS is unsupported)",
                  reference="seed: backups encrypted; Checkov CKV_AWS_19, CKV_AWS_145"),
    resource_rule("s3-versioning", area="storage", types=[VERSIONING], check=_versioning,
                  summary="S3 versioning is enabled", reference="seed: backups; Checkov CKV_AWS_21"),
    resource_rule("s3-public-access-block", area="storage", types=[PUBLIC_ACCESS_BLOCK],
                  check=_public_access_block, summary="S3 public access block sets all four flags",
                  reference="cdk-nag S2; Checkov CKV2_AWS_6"),
    resource_rule("s3-tls-only-policy", area="storage", types=[BUCKET_POLICY], check=_tls_only_policy,
                  summary="S3 bucket policies deny requests without TLS", reference="cdk-nag S10"),
    resource_rule("s3-no-force-destroy", area="storage", types=[BUCKET], check=_no_force_destroy, prod_only=True,
                  summary="Production buckets cannot be force-destroyed with their objects",
                  reference="seed: protect production backups"),
    stack_rule("s3-bucket-hardening", area="storage", check=_bucket_hardening,
               summary="Every bucket has encryption (KMS for data), versioning, a public access block and a "
                       "TLS-only policy",
               reference="seed: encrypted backups; cdk-nag S2, S10; Checkov CKV_AWS_21, CKV_AWS_145, CKV2_AWS_6"),
    stack_rule("s3-access-logging", area="storage", check=_access_logging,
               summary="Every bucket but the server-access-log targets logs its access (the ALB and CDN log buckets "
                       "too)",
               reference="seed: log security; cdk-nag S1; Checkov CKV_AWS_18"),
]
