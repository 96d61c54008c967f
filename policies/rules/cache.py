"""ElastiCache (Redis/Valkey) replication group rules."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._common import REPLICATION_GROUP, Rule, as_list, resource_rule, settings_rule, truthy
from ._controls import DELETE, MISSING, AtLeast, Covers, Guard, Is, Present, Setting, To

TYPES = [REPLICATION_GROUP]


def _auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if not (props.get("authToken") or props.get("authTokenWo") or as_list(props.get("userGroupIds"))):
        report("no AUTH: set authToken (or authTokenWo, or RBAC userGroupIds)", None)


def _transit(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("transitEncryptionEnabled")):
        report("transitEncryptionEnabled is not true", None)
    elif args.props.get("transitEncryptionMode") == "preferred":
        report("transitEncryptionMode is 'preferred': plaintext clients are still accepted", None)


def _at_rest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("atRestEncryptionEnabled")):
        report("atRestEncryptionEnabled is not true", None)
    if not args.props.get("kmsKeyId"):
        report("no kmsKeyId: at-rest encryption does not use the stack's data CMK", None)


def _failover(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("automaticFailoverEnabled")):
        report("automaticFailoverEnabled is not true", None)
    if not truthy(args.props.get("multiAzEnabled")):
        report("multiAzEnabled is not true", None)


def _in_vpc(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.props.get("subnetGroupName"):
        report("no subnetGroupName: the cache must live in the stack's data subnets", None)


RULES: list[Rule] = [
    resource_rule("redis-auth", area="cache", types=TYPES, check=_auth,
                  summary="Redis requires AUTH", reference="seed: Redis AUTH; cdk-nag AEC6; Checkov CKV_AWS_31",
                  # RBAC users (userGroupIds) since issue 11: no stack sets an AUTH token any more.
                  guards=[Guard("userGroupIds", DELETE)]),
    resource_rule("redis-transit-encryption", area="cache", types=TYPES, check=_transit,
                  summary="Redis encrypts connections in transit (required mode)",
                  reference="seed: Redis TLS; cdk-nag AEC3; Checkov CKV_AWS_30",
                  guards=[Guard("transitEncryptionEnabled", To(False)),
                          Guard("transitEncryptionMode", To("preferred"))]),
    resource_rule("redis-at-rest-encryption-cmk", area="cache", types=TYPES, check=_at_rest,
                  summary="Redis encrypts data at rest with a customer-managed KMS key",
                  reference="seed: encryption at rest; cdk-nag AEC3; Checkov CKV_AWS_29, CKV_AWS_191",
                  guards=[Guard("atRestEncryptionEnabled", To(False)), Guard("kmsKeyId", DELETE)]),
    resource_rule("redis-automatic-failover", area="cache", types=TYPES, check=_failover, prod_only=True,
                  summary="Redis fails over automatically across AZs",
                  reference="seed: Multi-AZ Redis; cdk-nag AEC4; Checkov CKV2_AWS_50",
                  guards=[Guard("automaticFailoverEnabled", To(False)), Guard("multiAzEnabled", To(False))]),
    resource_rule("redis-in-vpc", area="cache", types=TYPES, check=_in_vpc,
                  summary="Redis lives in a subnet group of the VPC", reference="cdk-nag AEC1",
                  guards=[Guard("subnetGroupName", DELETE)]),
]


# --- controls the stack sets beyond the rules above (issue 13: the pack guards every control) -------------------------

# AWS behaviour these rules rely on: automatic snapshots kept snapshotRetentionLimit days (0 turns them off) and the
# final snapshot on deletion (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/backups-automatic.html); slow
# and engine log delivery (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Log_Delivery.html).

RULES += [
    settings_rule(
        "redis-snapshots", area="cache", types=TYPES,
        summary="Redis keeps daily snapshots for at least minimumSnapshotRetention days",
        reference="seed: Redis persistence, backup strategy; Checkov CKV_AWS_134; cdk-nag "
                  "NIST.800.53.R5-ElastiCacheRedisClusterAutomaticBackup",
        schema={"minimumSnapshotRetention": {"type": "integer", "minimum": 1, "maximum": 35, "default": 7,
                                             "description": "Minimum snapshotRetentionLimit in days."}},
        settings=[Setting("snapshotRetentionLimit", AtLeast(7, param="minimumSnapshotRetention"))]),
    settings_rule(
        "redis-production-change-safety", area="cache", types=TYPES, prod_only=True,
        summary="Production Redis takes a final snapshot when deleted and applies changes in its maintenance window",
        reference="seed: protect production data",
        settings=[Setting("finalSnapshotIdentifier", Present(weak=MISSING)),
                  Setting("applyImmediately", Is(False), required=False)]),
    settings_rule(
        "redis-baseline", area="cache", types=TYPES,
        summary="Redis takes minor (security) upgrades and delivers its slow log and engine log to CloudWatch Logs",
        reference="seed: log aggregation; Checkov CKV_AWS_322 (minor upgrades)",
        settings=[Setting("autoMinorVersionUpgrade", Is(True), required=False),
                  Setting("logDeliveryConfigurations", Covers("logType", ("slow-log", "engine-log")))]),
]
