"""Disaster-recovery rules: production keeps a copy of its data in a second region, encrypted and locked, and proves
on a schedule that it restores.

Relations are followed through the engine's propertyDependencies: a replication configuration names its source
bucket in `bucket` and its replica bucket and key in `rules`; an RDS backup replication names its primary in
`sourceDbInstanceArn`; a schedule names its task definition in `target`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import (
    RDS_INSTANCE,
    SHARED,
    Rule,
    as_list,
    config_value,
    linked,
    number,
    of_type,
    plain,
    resource_rule,
    stack_rule,
    truthy,
)
from ._controls import DELETE, Drop, Guard, To, When

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
BACKUPS_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
SCHEDULE = "aws:scheduler/schedule:Schedule"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LOG_DESTINATION = "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination"
KMS_ALGORITHMS: tuple[str, ...] = tuple(SHARED["kmsEncryptionAlgorithms"])
DRILL_COMMAND: str = SHARED["restoreDrillCommand"]
IN_DR_REGION = When("region")
"""Resources managed in another Region than the stack's (pulumi-aws v7 `region`): the DR copy."""
DRILL_SCHEDULE = When("target.ecsParameters.taskDefinitionArn", re.compile(r"restore-drill"))
KMS_KEY_ARN = re.compile(SHARED["kmsKeyArnPattern"])


def _rules(props: Any) -> list[dict[str, Any]]:
    return [r for r in as_list(plain(props.get("rules"))) if isinstance(r, dict)]


def _enabled(props: Any) -> list[dict[str, Any]]:
    return [r for r in _rules(props) if r.get("status") == "Enabled"]


def _any_enabled(props: Any) -> bool:
    """Whether some replication rule is Enabled, reading each rule's status alone (its destination's key is unknown
    on a first preview)."""
    rules = props.get("rules") or []
    if isinstance(rules, Mapping):
        rules = [rules]
    return any(isinstance(rules[i], Mapping) and rules[i].get("status") == "Enabled" for i in range(len(rules)))


def _status(rule: dict[str, Any], *path: str) -> Any:
    value: Any = rule
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


# --- per replication configuration ----------------------------------------------------------------------------------

def _replica_cmk(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for rule in _enabled(args.props):
        name = rule.get("id") or "(unnamed)"
        if _status(rule, "sourceSelectionCriteria", "sseKmsEncryptedObjects", "status") != "Enabled":
            report(f"rule {name}: sourceSelectionCriteria.sseKmsEncryptedObjects is not Enabled: S3 skips SSE-KMS "
                   "objects (every backup is one) unless asked to replicate them", None)
        key = _status(rule, "destination", "encryptionConfiguration", "replicaKmsKeyId")
        if not isinstance(key, str) or not KMS_KEY_ARN.match(key):
            report(f"rule {name}: replicas are not encrypted with a customer-managed key of the destination region "
                   f"(encryptionConfiguration.replicaKmsKeyId {key!r}; a full key ARN is required)", None)


def _keeps_deletes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for rule in _rules(args.props):
        if _status(rule, "deleteMarkerReplication", "status") != "Disabled":
            report(f"rule {rule.get('id') or '(unnamed)'}: deleteMarkerReplication must be Disabled: a delete in the "
                   "source region must not hide the DR copy", None)


def _metrics(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for rule in _enabled(args.props):
        if _status(rule, "destination", "metrics", "status") != "Enabled":
            report(f"rule {rule.get('id') or '(unnamed)'}: replication metrics are off: OperationsFailedReplication, "
                   "which the replication-failure alarm reads, is only published with them", None)


# --- across the stack ------------------------------------------------------------------------------------------------

def _stack_region() -> str:
    try:
        return str(json.loads(os.environ.get("PULUMI_CONFIG") or "{}").get("aws:region") or "")
    except ValueError:
        return ""


def _region(resource: PolicyResource) -> str:
    return str(resource.props.get("region") or _stack_region())


def _companions(resources: list[PolicyResource], bucket: PolicyResource, type_: str) -> list[PolicyResource]:
    return [r for r in of_type(resources, type_) if bucket in linked(r, "bucket")]


def _sse_algorithms(sse: PolicyResource) -> list[str]:
    """The sseAlgorithm of each rule, read alone: the key (kmsMasterKeyId) is unknown on a first preview."""
    rules = sse.props.get("rules") or []
    if isinstance(rules, Mapping):
        rules = [rules]
    return [str((rules[i].get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") or "")
            for i in range(len(rules))]


def _is_kms_bucket(resources: list[PolicyResource], bucket: PolicyResource) -> bool:
    algorithms = [a for sse in _companions(resources, bucket, SSE) for a in _sse_algorithms(sse)]
    return bool(algorithms) and all(a in KMS_ALGORITHMS for a in algorithms)


def _replicas(resources: list[PolicyResource], config: PolicyResource) -> list[PolicyResource]:
    return [r for r in linked(config, "rules") if r.resource_type == BUCKET]


def _restored_across_regions(instance: PolicyResource) -> bool:
    """An RDS instance restored from replicated automated backups (restoreToPointInTime with
    sourceDbInstanceAutomatedBackupsArn: the copy AWS keeps in the DR region of another region's instance). A
    same-region restore from an instance (sourceDbInstanceIdentifier, sourceDbiResourceId) is not a DR restore."""
    restore = instance.props.get("restoreToPointInTime") or {}
    return bool(restore.get("sourceDbInstanceAutomatedBackupsArn"))


def _is_dr_restore(resources: list[PolicyResource]) -> bool:
    """A stack that is itself a DR restore (its RDS primary restored from another region's replicated backups): its
    source region is down, so it cannot replicate back there until it returns (drRegion: none until then, by
    design)."""
    return any(_restored_across_regions(r) for r in of_type(resources, RDS_INSTANCE))


def _data_buckets_replicated(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = args.resources
    if _is_dr_restore(resources):
        return
    configs = of_type(resources, REPLICATION)
    replica_urns = {b.urn for c in configs for b in _replicas(resources, c)}
    log_targets = {b.urn for lb in of_type(resources, *LOAD_BALANCERS) for b in linked(lb, "accessLogs")}
    log_targets |= {b.urn for log in of_type(resources, *LOGGING) for b in linked(log, "targetBucket")}
    # CloudWatch vended-log destinations (CloudFront's access logs v2) are log targets too, though SSE-KMS: telemetry,
    # not data, and the DR copy leaves logs out on purpose (docs/runbooks/disaster-recovery.md).
    log_targets |= {b.urn for d in of_type(resources, LOG_DESTINATION)
                    for b in linked(d, "deliveryDestinationConfiguration")}
    for bucket in of_type(resources, BUCKET):
        if bucket.urn in replica_urns or bucket.urn in log_targets or not _is_kms_bucket(resources, bucket):
            continue
        own = [c for c in configs if bucket in linked(c, "bucket") and _any_enabled(c.props)]
        if not own:
            report("data bucket has no enabled replication to the DR region: production keeps a copy of its backups "
                   "in a second region", bucket.urn)
            continue
        elsewhere = [r for c in own for r in _replicas(resources, c) if _region(r) != _region(bucket)]
        if not elsewhere:
            report("data bucket replicates only within its own region: a regional outage takes both copies",
                   bucket.urn)


def _lock(resources: list[PolicyResource], bucket: PolicyResource) -> tuple[str, float] | None:
    if not truthy(bucket.props.get("objectLockEnabled")):
        return None
    for config in _companions(resources, bucket, LOCK):
        retention = (plain(config.props.get("rule")) or {}).get("defaultRetention") or {}
        return str(retention.get("mode") or ""), number(retention.get("days"), 0) + 365 * number(
            retention.get("years"), 0)
    return "", 0


def _replicas_locked(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = args.resources
    for config in of_type(resources, REPLICATION):
        for source in (b for b in linked(config, "bucket") if b.resource_type == BUCKET):
            source_lock = _lock(resources, source)
            if source_lock is None:
                continue
            for replica in _replicas(resources, config):
                replica_lock = _lock(resources, replica)
                if replica_lock is None:
                    report("replica of an Object Lock bucket has no Object Lock: S3 fails the replication "
                           "(DstBucketObjectLockConfigMissing) and the DR copy could be deleted", replica.urn)
                elif replica_lock[0] != source_lock[0] or replica_lock[1] < source_lock[1]:
                    report(f"replica's default retention {replica_lock[0] or 'none'} {replica_lock[1]:g} days is "
                           f"weaker than its source's {source_lock[0]} {source_lock[1]:g} days", replica.urn)


def _rds_backups_replicated(args: StackValidationArgs, report: ReportViolation) -> None:
    minimum = number(config_value(args, "minimumRetentionDays", 7))
    replications = of_type(args.resources, BACKUPS_REPLICATION)
    for primary in of_type(args.resources, RDS_INSTANCE):
        props = primary.props
        if props.get("replicateSourceDb") or _restored_across_regions(primary):
            continue  # a replica copies its primary; a DR restore replicates once its source region is back
        found = [r for r in replications if primary in linked(r, "sourceDbInstanceArn")]
        if not found:
            report("production primary's automated backups are not replicated to another region", primary.urn)
        for replication in found:
            if not replication.props.get("kmsKeyId"):
                report("replicated automated backups have no kmsKeyId (a CMK of the DR region)", replication.urn)
            days = number(replication.props.get("retentionPeriod"), 7)
            if days < minimum:
                report(f"replicated backups are kept {days:g} days; at least {minimum:g} required", replication.urn)


def _runs_drill(task: PolicyResource) -> bool:
    definitions = task.props.get("containerDefinitions")
    try:
        containers = json.loads(definitions) if isinstance(definitions, str) else plain(definitions)
    except ValueError:
        return False
    return any(isinstance(c, dict) and DRILL_COMMAND in as_list(c.get("command")) for c in containers or [])


def _drill_scheduled(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = args.resources
    replicated = of_type(resources, REPLICATION)
    if not replicated:
        return  # nothing is copied to a DR region: nothing to drill (s3-data-buckets-replicated owns that)
    drills = [s for s in of_type(resources, SCHEDULE)
              if any(t.resource_type == TASK_DEFINITION and _runs_drill(t) for t in linked(s, "target"))]
    if any(s.props.get("state", "ENABLED") == "ENABLED" for s in drills):
        return
    for schedule in drills:
        report(f"the restore drill's schedule is {schedule.props.get('state')}: the DR copy is no longer tested",
               schedule.urn)
    if not drills:
        report(f"the stack replicates its backups to a DR region but no schedule runs the restore drill "
               f"({DRILL_COMMAND}): an untested DR copy is not a DR plan", replicated[0].urn)


REFERENCE_CRR = "seed: disaster recovery plan tested; Checkov CKV_AWS_144"
RULES: list[Rule] = [
    resource_rule("s3-replication-replica-cmk", area="recovery", types=[REPLICATION], check=_replica_cmk,
                  summary="S3 replication replicates SSE-KMS objects and encrypts every replica with a CMK of the "
                          "destination region",
                  reference="seed: backups encrypted; Checkov CKV_AWS_145 (replica side)",
                  guards=[Guard("rules[*].destination.encryptionConfiguration.replicaKmsKeyId", DELETE),
                          Guard("rules[*].sourceSelectionCriteria.sseKmsEncryptedObjects.status", To("Disabled"))]),
    resource_rule("s3-replication-keeps-deletes", area="recovery", types=[REPLICATION], check=_keeps_deletes,
                  summary="S3 replication does not replicate delete markers (a delete never reaches the DR copy)",
                  reference="seed: backups retained; S3 user guide, delete marker replication",
                  guards=[Guard("rules[*].deleteMarkerReplication.status", To("Enabled"))]),
    resource_rule("s3-replication-metrics", area="recovery", types=[REPLICATION], check=_metrics,
                  summary="S3 replication rules publish replication metrics (the failure alarm reads them)",
                  reference="seed: backups monitored; S3 user guide, replication metrics",
                  guards=[Guard("rules[*].destination.metrics.status", To("Disabled"))]),
    stack_rule("s3-data-buckets-replicated", area="recovery", check=_data_buckets_replicated, prod_only=True,
               summary="Every production data bucket (KMS-encrypted, not a log target or vended-log destination, "
                       "not itself a replica) replicates to a bucket in another region (a stack restored from another "
                       "region's replicated backups, a DR restore, is exempt until its source region returns; a "
                       "same-region point-in-time restore is not)", reference=REFERENCE_CRR,
               guards=[Guard("bucket", Drop(), types=(REPLICATION,), blame="bucket",
                             note="the source bucket's replication configuration"),
                       Guard("rules[*].status", To("Disabled"), types=(REPLICATION,), blame="bucket")]),
    stack_rule("s3-replica-object-lock", area="recovery", check=_replicas_locked,
               summary="Replicas of an Object Lock bucket are locked at least as long, in the same mode",
               reference="seed: immutable backups; Checkov CKV_AWS_143 (replica side)",
               guards=[Guard("objectLockEnabled", To(False), types=(BUCKET,), where=IN_DR_REGION,
                             note="the DR replica unlocked"),
                       Guard("rule.defaultRetention.days", To(1), types=(LOCK,), where=IN_DR_REGION, blame="bucket",
                             note="the DR replica's retention shorter than its source's")]),
    stack_rule("rds-backups-replicated", area="recovery", check=_rds_backups_replicated, prod_only=True,
               summary="Every production RDS primary replicates its automated backups to another region with a CMK "
                       "and at least minimumRetentionDays of retention (a primary restored from another region's "
                       "replicated backups is exempt until its source region returns)",
               reference="seed: disaster recovery; cdk-nag RDS13 (cross-region companion)",
               schema={"minimumRetentionDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 7,
                                                "description": "Minimum retention of the replicated backups."}},
               guards=[Guard("kmsKeyId", DELETE, types=(BACKUPS_REPLICATION,)),
                       Guard("retentionPeriod", To(3), types=(BACKUPS_REPLICATION,)),
                       Guard("sourceDbInstanceArn", Drop(), types=(BACKUPS_REPLICATION,), blame="sourceDbInstanceArn",
                             note="the primary's backup replication")]),
    stack_rule("restore-drill-scheduled", area="recovery", check=_drill_scheduled, prod_only=True,
               summary="A production stack that replicates its backups schedules the restore drill of the DR copy",
               reference="seed: disaster recovery plan tested",
               guards=[Guard("state", To("DISABLED"), types=(SCHEDULE,), where=DRILL_SCHEDULE)]),
]
