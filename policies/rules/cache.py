"""ElastiCache (Redis/Valkey) replication group rules."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._common import REPLICATION_GROUP, Rule, as_list, resource_rule, truthy

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
                  summary="Redis requires AUTH", reference="seed: Redis AUTH; cdk-nag AEC6; Checkov CKV_AWS_31"),
    resource_rule("redis-transit-encryption", area="cache", types=TYPES, check=_transit,
                  summary="Redis encrypts connections in transit (required mode)",
                  reference="seed: Redis TLS; cdk-nag AEC3; Checkov CKV_AWS_30"),
    resource_rule("redis-at-rest-encryption-cmk", area="cache", types=TYPES, check=_at_rest,
                  summary="Redis encrypts data at rest with a customer-managed KMS key",
                  reference="seed: encryption at rest; cdk-nag AEC3; Checkov CKV_AWS_29, CKV_AWS_191"),
    resource_rule("redis-automatic-failover", area="cache", types=TYPES, check=_failover, prod_only=True,
                  summary="Redis fails over automatically across AZs",
                  reference="seed: Multi-AZ Redis; cdk-nag AEC4; Checkov CKV2_AWS_50"),
    resource_rule("redis-in-vpc", area="cache", types=TYPES, check=_in_vpc,
                  summary="Redis lives in a subnet group of the VPC", reference="cdk-nag AEC1"),
]
