"""Stack-wide rules that span areas: protection of stateful resources in production."""

from __future__ import annotations

from pulumi_policy import ReportViolation, StackValidationArgs

from ._common import LOAD_BALANCER_TYPES, RDS_INSTANCE, Rule, as_list, config_value, stack_rule
from ._controls import Guard, To, unset

STATEFUL_TYPES = [
    RDS_INSTANCE,
    "aws:rds/cluster:Cluster",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:kms/replicaKey:ReplicaKey",  # the foundation secrets key's copy in the DR region
    "aws:ecr/repository:Repository",
    *LOAD_BALANCER_TYPES,
    "aws:amp/workspace:Workspace",  # the metric history
]


def _protected(args: StackValidationArgs, report: ReportViolation) -> None:
    stateful = {str(t) for t in as_list(config_value(args, "statefulTypes", STATEFUL_TYPES))}
    for resource in args.resources:
        if resource.resource_type not in stateful:
            continue
        if resource.resource_type == RDS_INSTANCE and resource.props.get("replicateSourceDb"):
            continue  # a replica is rebuilt from its primary; protecting it would block scaling in
        if not resource.opts.protect:
            report(f"stateful {resource.resource_type} is not protected (ResourceOptions(protect=True))",
                   resource.urn)


RULES: list[Rule] = [
    stack_rule("stateful-resources-protected", area="stack", check=_protected, prod_only=True,
               summary="In production every stateful resource (databases, caches, buckets, KMS keys, image "
                       "repositories, load balancers, metrics workspaces) is protected",
               reference="seed: protect production data (pulumi protect)", schema={"statefulTypes": {
                   "type": "array", "items": {"type": "string"}, "default": STATEFUL_TYPES,
                   "description": "Resource types that hold data and must be protected in prod."}},
               guards=[Guard("@protect", To(False), types=tuple(STATEFUL_TYPES), where=unset("replicateSourceDb"))]),
]


