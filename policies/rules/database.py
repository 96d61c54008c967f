"""RDS rules. Read replicas (`replicateSourceDb` set) inherit encryption from their source and are rebuilt from it,
so the backup, final-snapshot, deletion-protection and Multi-AZ rules apply to primaries only."""

from __future__ import annotations

import re

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import (
    RDS_INSTANCE,
    SHARED,
    Rule,
    as_list,
    config_value,
    linked,
    links_to,
    number,
    of_type,
    resource_rule,
    settings_rule,
    stack_rule,
    transitive_dependencies,
    truthy,
)
from ._controls import (
    DELETE,
    MISSING,
    AtLeast,
    Detach,
    Drop,
    Guard,
    Is,
    Matches,
    OneOf,
    Present,
    Setting,
    To,
    When,
    unset,
)

PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
IAM_ROLE = "aws:iam/role:Role"
ROLE_POLICY_TYPES = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/rolePolicy:RolePolicy")
OTHER_KEY = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000"
"""A key no stack uses: the control sweep's replica key that differs from its source's."""
REQUIRED_LOG_EXPORTS = ["postgresql"]
STATIC_PARAMETERS: frozenset[str] = frozenset(SHARED["staticDbParameters"])


def _is_replica(props: object) -> bool:
    return bool(getattr(props, "get", lambda _k: None)("replicateSourceDb"))


def _encrypted_cmk(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("storageEncrypted")):
        report("storageEncrypted is not true", None)
    if not args.props.get("kmsKeyId"):
        report("no kmsKeyId: storage is encrypted with the AWS-managed key, not the stack's data CMK", None)


def _not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if truthy(args.props.get("publiclyAccessible")):
        report("publiclyAccessible is true", None)


def _backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _is_replica(args.props):
        return
    minimum = number(config_value(args, "minimumRetentionDays", 7))
    days = number(args.props.get("backupRetentionPeriod"), 0)
    if days < minimum:
        report(f"backupRetentionPeriod is {int(days)} days; at least {int(minimum)} required", None)


def _deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_replica(args.props) and not truthy(args.props.get("deletionProtection")):
        report("deletionProtection is not true", None)


def _multi_az(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_replica(args.props) and not truthy(args.props.get("multiAz")):
        report("multiAz is not true: an AZ outage takes the database down", None)


def _final_snapshot(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _is_replica(args.props):
        return
    if truthy(args.props.get("skipFinalSnapshot")) or args.props.get("skipFinalSnapshot") is None:
        report("skipFinalSnapshot is not false: deleting the instance would discard its data", None)
    elif not args.props.get("finalSnapshotIdentifier"):
        report("no finalSnapshotIdentifier for the final snapshot", None)


def _iam_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("iamDatabaseAuthenticationEnabled")):
        report("iamDatabaseAuthenticationEnabled is not true", None)


def _performance_insights(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("performanceInsightsEnabled")):
        report("performanceInsightsEnabled is not true", None)
    elif not args.props.get("performanceInsightsKmsKeyId"):
        report("Performance Insights has no performanceInsightsKmsKeyId (CMK)", None)


def _log_exports(args: ResourceValidationArgs, report: ReportViolation) -> None:
    wanted = [str(x) for x in as_list(config_value(args, "requiredExports", REQUIRED_LOG_EXPORTS))]
    exported = {str(x) for x in as_list(args.props.get("enabledCloudwatchLogsExports"))}
    missing = [log for log in wanted if log not in exported]
    if missing:
        report(f"enabledCloudwatchLogsExports lacks {missing}", None)


def _force_ssl_value(group: PolicyResource) -> str | None:
    for parameter in as_list(group.props.get("parameters")):
        if parameter.get("name") == "rds.force_ssl":
            return str(parameter.get("value"))
    return None


def _force_ssl(args: StackValidationArgs, report: ReportViolation) -> None:
    for instance in of_type(args.resources, RDS_INSTANCE):
        groups = [g for g in linked(instance, "parameterGroupName") if g.resource_type == PARAMETER_GROUP]
        if not groups:
            report("no parameter group of this stack (parameterGroupName): rds.force_ssl=1 cannot be verified "
                   "and engine defaults do not force TLS before PostgreSQL 15", instance.urn)
            continue
        for group in groups:
            value = _force_ssl_value(group)
            if value != "1":
                report(f"parameter group of {instance.urn} sets rds.force_ssl={value!r}; clients must be forced to "
                       "TLS (rds.force_ssl=1)", group.urn)


def _replicas(args: StackValidationArgs, report: ReportViolation) -> None:
    instances = of_type(args.resources, RDS_INSTANCE)
    for primary in (i for i in instances if not _is_replica(i.props)):
        if not any(primary in linked(i, "replicateSourceDb") for i in instances if _is_replica(i.props)):
            report("production primary has no read replica (replicateSourceDb pointing at it)", primary.urn)


def _weighted_fallbacks(args: StackValidationArgs, report: ReportViolation) -> None:
    """A weighted record set with a weight-0 fallback (the database's reader name): the fallback is served only when
    every nonzero record is unhealthy, and a record without a health check is always healthy."""
    checks = {check.urn: check for check in of_type(args.resources, HEALTH_CHECK)}
    sets: dict[tuple[str, str, str], list[tuple[PolicyResource, float]]] = {}
    for record in of_type(args.resources, RECORD):
        policies = as_list(record.props.get("weightedRoutingPolicies"))
        if not policies:
            continue
        zone = ",".join(sorted(dep.urn for dep in linked(record, "zoneId"))) or str(record.props.get("zoneId"))
        key = (zone, str(record.props.get("name")), str(record.props.get("type")))
        sets.setdefault(key, []).append((record, number(policies[0].get("weight"), 1)))
    for members in sets.values():
        fallbacks = [record for record, weight in members if weight == 0]
        if not fallbacks:
            continue
        for record, weight in members:
            if weight == 0:
                continue
            health = [checks[dep.urn] for dep in linked(record, "healthCheckId") if dep.urn in checks]
            if not record.props.get("healthCheckId") and not health:
                report(f"weighted record {record.name} has no health check beside the weight-0 fallback "
                       f"{fallbacks[0].name}: Route 53 treats it as always healthy, so it keeps its share of the "
                       "answers while its target is down and the fallback is never served", record.urn)
            for check in health:
                status = check.props.get("insufficientDataHealthStatus")
                if check.props.get("type") == "CLOUDWATCH_METRIC" and status != "Unhealthy":
                    report(f"health check of {record.name} watches a metric with insufficientDataHealthStatus "
                           f"{status or 'unset (LastKnownStatus)'}: a target that is down reports nothing, and "
                           "that must count as unhealthy", check.urn)


def _static_parameters(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for parameter in as_list(args.props.get("parameters")):
        name = str(parameter.get("name"))
        method = str(parameter.get("applyMethod") or "immediate")
        if name in STATIC_PARAMETERS and method != "pending-reboot":
            report(f"static parameter {name} has applyMethod {method}: RDS accepts only pending-reboot for static "
                   "parameters (the modification fails mid-deploy), and the value applies at the next reboot", None)


def _engine(instance: PolicyResource) -> str:
    engine = str(instance.props.get("engine") or "")
    for source in linked(instance, "replicateSourceDb"):
        engine = engine or str(source.props.get("engine") or "")
    return engine.lower()


def _replica_keys(args: StackValidationArgs, report: ReportViolation) -> None:
    for replica in of_type(args.resources, RDS_INSTANCE):
        if not _is_replica(replica.props):
            continue
        for source in (s for s in linked(replica, "replicateSourceDb") if s.resource_type == RDS_INSTANCE):
            key, source_key = replica.props.get("kmsKeyId"), source.props.get("kmsKeyId")
            if key and key != source_key:
                report(f"same-region read replica asks for KMS key {key!r}, but its source {source.urn} uses "
                       f"{source_key!r}: RDS encrypts such a replica with the source's key, so another key is "
                       "refused or replaces the replica on every update", replica.urn)


WEEKLY_WINDOW = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-"
                           r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$")
WEEK_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK_MINUTES = 7 * 24 * 60


def _week_minutes(window: object) -> tuple[int, int] | None:
    """An RDS weekly window `ddd:hh:mm-ddd:hh:mm` as (start, end) minutes of the week; None if it is not one."""
    match = WEEKLY_WINDOW.match(window) if isinstance(window, str) else None
    if match is None:
        return None
    start, end = ((WEEK_DAYS.index(match[i]) * 24 + int(match[i + 1])) * 60 + int(match[i + 2]) for i in (1, 4))
    return start, end if end > start else end + WEEK_MINUTES


def _replica_maintenance_first(args: StackValidationArgs, report: ReportViolation) -> None:
    """A replica's window must end before its source's starts, closer before it than after it in the week: RDS asks
    for read replicas to take a minor upgrade before their source."""
    for replica in of_type(args.resources, RDS_INSTANCE):
        if not _is_replica(replica.props):
            continue
        for source in (s for s in linked(replica, "replicateSourceDb") if s.resource_type == RDS_INSTANCE):
            mine, theirs = (_week_minutes(r.props.get("maintenanceWindow")) for r in (replica, source))
            if mine is None or theirs is None:
                continue  # unset: RDS picks one (the control sweep and the tests cover the stacks' own windows)
            before = (theirs[0] - mine[1]) % WEEK_MINUTES  # from the replica's end to the source's start
            after = (mine[0] - theirs[1]) % WEEK_MINUTES  # from the source's end to the replica's start
            if before >= after or (mine[0] - theirs[0]) % WEEK_MINUTES < theirs[1] - theirs[0] \
                    or (theirs[0] - mine[0]) % WEEK_MINUTES < mine[1] - mine[0]:
                report(f"read replica's maintenance window {replica.props.get('maintenanceWindow')!r} does not come "
                       f"before its source's {source.props.get('maintenanceWindow')!r} ({source.urn}): RDS asks for "
                       "read replicas to take a minor version upgrade before their source, and an overlap takes "
                       "readers and writer down together", replica.urn)


def _monitoring_role_ready(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    policies = [r for r in resources if r.resource_type in ROLE_POLICY_TYPES]
    for instance in of_type(resources, RDS_INSTANCE):
        roles = [r for r in linked(instance, "monitoringRoleArn") if r.resource_type == IAM_ROLE]
        if not roles:
            continue
        before = transitive_dependencies(instance, resources)
        for role in roles:
            own = [p for p in policies if links_to(p, "role", role)]
            if not any(p.urn in before for p in own):
                report(f"uses enhanced-monitoring role {role.urn} without waiting for its policy"
                       f"{' (none in this stack)' if not own else ''}: RDS checks the role's permissions when the "
                       "instance is created or modified and refuses one that cannot publish yet", instance.urn)


TYPES = [RDS_INSTANCE]
PRIMARY = unset("replicateSourceDb")
RULES: list[Rule] = [
    resource_rule("rds-encrypted-with-cmk", area="database", types=TYPES, check=_encrypted_cmk,
                  summary="RDS storage is encrypted with a customer-managed KMS key",
                  reference="seed: encryption at rest; cdk-nag RDS2; Checkov CKV_AWS_16",
                  guards=[Guard("storageEncrypted", To(False)), Guard("kmsKeyId", DELETE)]),
    resource_rule("rds-not-public", area="database", types=TYPES, check=_not_public,
                  summary="RDS instances are not publicly accessible",
                  reference="seed: database in private subnets; Checkov CKV_AWS_17",
                  guards=[Guard("publiclyAccessible", To(True))]),
    resource_rule("rds-backup-retention", area="database", types=TYPES, check=_backups,
                  summary="RDS primaries keep automated backups for at least minimumRetentionDays",
                  reference="seed: automated backups; cdk-nag RDS13; Checkov CKV_AWS_133",
                  schema={"minimumRetentionDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 7,
                                                   "description": "Minimum backupRetentionPeriod in days."}},
                  guards=[Guard("backupRetentionPeriod", To(0), where=PRIMARY)]),
    resource_rule("rds-deletion-protection", area="database", types=TYPES, check=_deletion_protection,
                  prod_only=True, summary="RDS primaries have deletion protection",
                  reference="seed: protect production data; cdk-nag RDS10; Checkov CKV_AWS_293",
                  guards=[Guard("deletionProtection", To(False), where=PRIMARY)]),
    resource_rule("rds-multi-az", area="database", types=TYPES, check=_multi_az, prod_only=True,
                  summary="RDS primaries are Multi-AZ",
                  reference="seed: Multi-AZ database; cdk-nag RDS3; Checkov CKV_AWS_157",
                  guards=[Guard("multiAz", To(False), where=PRIMARY)]),
    resource_rule("rds-final-snapshot", area="database", types=TYPES, check=_final_snapshot, prod_only=True,
                  summary="RDS primaries keep a final snapshot on deletion",
                  reference="seed: protect production data; Checkov CKV_AWS_293 (companion)",
                  guards=[Guard("skipFinalSnapshot", To(True), where=PRIMARY),
                          Guard("finalSnapshotIdentifier", DELETE, where=PRIMARY)]),
    resource_rule("rds-iam-authentication", area="database", types=TYPES, check=_iam_auth,
                  summary="RDS instances enable IAM database authentication",
                  reference="Checkov CKV_AWS_161", guards=[Guard("iamDatabaseAuthenticationEnabled", To(False))]),
    resource_rule("rds-performance-insights-encrypted", area="database", types=TYPES, check=_performance_insights,
                  summary="RDS Performance Insights is on and encrypted with a CMK",
                  reference="seed: monitoring; Checkov CKV_AWS_353, CKV_AWS_354",
                  guards=[Guard("performanceInsightsEnabled", To(False)),
                          Guard("performanceInsightsKmsKeyId", DELETE)]),
    resource_rule("rds-log-exports", area="database", types=TYPES, check=_log_exports,
                  summary="RDS exports its engine log to CloudWatch Logs",
                  reference="seed: database logging; Checkov CKV_AWS_129",
                  schema={"requiredExports": {"type": "array", "items": {"type": "string"},
                                              "default": REQUIRED_LOG_EXPORTS,
                                              "description": "Log types every instance exports."}},
                  guards=[Guard("enabledCloudwatchLogsExports", To([]))]),
    stack_rule("rds-force-ssl", area="database", check=_force_ssl,
               summary="Every RDS instance uses a parameter group of the stack that sets rds.force_ssl=1",
               reference="seed: SSL/TLS for database connections; Checkov CKV2_AWS_69",
               guards=[Guard("parameters[name=rds.force_ssl].value", To("0"), types=(PARAMETER_GROUP,)),
                       Guard("parameterGroupName", To("default.postgres15"), types=(RDS_INSTANCE,), unlink=True,
                             note="the instance uses the stack's parameter group")]),
    resource_rule("rds-static-parameters-pending-reboot", area="database", types=[PARAMETER_GROUP],
                  check=_static_parameters,
                  summary="Static PostgreSQL parameters use the pending-reboot apply method",
                  reference="AWS: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/"
                            "API_ModifyDBParameterGroup.html",
                  guards=[Guard("parameters[*].applyMethod", To("immediate"),
                                note="static parameters apply at a reboot (pending-reboot)")]),
    stack_rule("rds-replica-uses-source-key", area="database", check=_replica_keys,
               summary="A same-region read replica names its source's KMS key (RDS encrypts it with that key)",
               reference="AWS: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/"
                         "API_CreateDBInstanceReadReplica.html (KmsKeyId)",
               guards=[Guard("kmsKeyId", To(OTHER_KEY), types=(RDS_INSTANCE,), where=When("replicateSourceDb"),
                             unlink=True, note="a replica keyed unlike its source (a restored DR primary)")]),
    stack_rule("rds-replica-maintenance-before-source", area="database", check=_replica_maintenance_first,
               summary="A read replica's weekly maintenance window comes before its source's, without overlapping it "
                       "(RDS asks for replicas to take a minor upgrade first)",
               reference="AWS: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/"
                         "USER_UpgradeDBInstance.PostgreSQL.html (minor version upgrades)",
               guards=[Guard("maintenanceWindow", To("tue:04:30-tue:05:30"), types=(RDS_INSTANCE,),
                             where=When("replicateSourceDb"),
                             note="replicas take their maintenance the days before the primary")]),
    stack_rule("rds-monitoring-role-ready", area="database", check=_monitoring_role_ready,
               summary="An instance with enhanced monitoring waits for its monitoring role's policy",
               reference="AWS: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/"
                         "USER_Monitoring.OS.Enabling.html; "
                         "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html "
                         "(eventual consistency)",
               guards=[Guard("@dependencies", Detach(ROLE_POLICY_TYPES[0]), types=(RDS_INSTANCE,),
                             where=When("monitoringRoleArn"), note="the instance waits for the role's policy")]),
    stack_rule("route53-weighted-fallback-health-checked", area="database", check=_weighted_fallbacks,
               summary="Beside a weight-0 fallback record (the database reader name), every weighted record has a "
                       "health check, and one that watches a metric counts missing data as unhealthy",
               reference="AWS: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/"
                         "health-checks-how-route-53-chooses-records.html; "
                         "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/"
                         "dns-failover-private-hosted-zones.html",
               guards=[Guard("healthCheckId", DELETE, types=(RECORD,), unlink=True,
                             note="a weighted record's health check"),
                       Guard("insufficientDataHealthStatus", To("LastKnownStatus"), types=(HEALTH_CHECK,),
                             where=When("type", "CLOUDWATCH_METRIC"), note="a silent metric counts as unhealthy")]),
    stack_rule("rds-primary-has-replica", area="database", check=_replicas, prod_only=True,
               summary="Every production RDS primary has at least one read replica",
               reference="seed: read replicas for production read scaling and recovery",
               guards=[Guard("replicateSourceDb", Drop(), types=(RDS_INSTANCE,), blame="replicateSourceDb",
                             note="the primary's read replicas")]),
]


# --- controls the stack sets beyond the rules above (issue 13: the pack guards every control) -------------------------

# AWS behaviour these rules rely on: enhanced monitoring (monitoringInterval > 0,
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.html), storage autoscaling
# (maxAllocatedStorage, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html),
# DeleteDBInstance deletes automated backups unless DeleteAutomatedBackups=false
# (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html), and modifications wait for
# the maintenance window unless ApplyImmediately (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/
# Overview.DBInstance.Modifying.html).

MODERN_CAS = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")
"""The current RDS certificate authorities (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html);
rds-ca-2019 expired in August 2024 (aws-cdk-lib deprecates it with that reason)."""
POSTGRES = When("family", re.compile(r"^postgres"))


def _parameter(name: str) -> str:
    return f"parameters[name={name}].value"


RULES += [
    settings_rule(
        "rds-instance-baseline", area="database", types=TYPES,
        summary="RDS instances take minor (security) upgrades, trust a current CA, send enhanced monitoring, copy "
                "tags to snapshots, grow their storage automatically and live in the stack's subnet group",
        reference="seed: database security, monitoring; Checkov CKV_AWS_226, CKV_AWS_211, CKV_AWS_118, CKV2_AWS_60",
        settings=[
            Setting("autoMinorVersionUpgrade", Is(True), required=False),
            Setting("caCertIdentifier", OneOf(MODERN_CAS, weak="rds-ca-2019"), required=False),
            Setting("monitoringInterval", AtLeast(1)),
            Setting("copyTagsToSnapshot", Is(True)),
            Setting("maxAllocatedStorage", AtLeast(1), note="storage autoscaling ceiling (maxAllocatedStorage)"),
            Setting("dbSubnetGroupName", Present(weak=MISSING), where=PRIMARY),
        ]),
    settings_rule(
        "rds-production-change-safety", area="database", types=TYPES, prod_only=True,
        summary="Production RDS changes wait for the maintenance window, never upgrade the major version as a side "
                "effect, and deleting a primary keeps its automated backups",
        reference="seed: protect production data, backup strategy verified",
        settings=[
            Setting("applyImmediately", Is(False), required=False),
            Setting("allowMajorVersionUpgrade", Is(False), required=False),
            Setting("deleteAutomatedBackups", Is(False), where=PRIMARY),
        ]),
    settings_rule(
        "rds-postgres-logging", area="database", types=[PARAMETER_GROUP],
        summary="PostgreSQL parameter groups log connections, disconnections, DDL (and no other statements), "
                "statements slower than a threshold of at least 100 ms and lock waits, and load pg_stat_statements",
        reference="seed: pg_stat_statements, log aggregation; Checkov CKV2_AWS_30",
        settings=[
            Setting(_parameter("log_connections"), Is("1", weak="0"), where=POSTGRES),
            Setting(_parameter("log_disconnections"), Is("1", weak="0"), where=POSTGRES),
            Setting(_parameter("log_lock_waits"), Is("1", weak="0"), where=POSTGRES),
            # ddl only: mod and all write every INSERT/UPDATE with its values into the log (the seed: no sensitive
            # data in logs), and a slow-statement threshold under 100 ms logs nearly every statement's text. A slow
            # statement's line still carries its bind parameters (log_parameter_max_length defaults to -1): whether
            # RDS lets a parameter group set it to 0 is not confirmed (docs/aws-runtime-review.md, open questions).
            Setting(_parameter("log_statement"), OneOf(("ddl",), weak="all"), where=POSTGRES),
            Setting(_parameter("log_min_duration_statement"), AtLeast(100), where=POSTGRES),
            Setting(_parameter("shared_preload_libraries"),
                    Matches(r"\bpg_stat_statements\b", weak="", text="does not load pg_stat_statements"),
                    where=POSTGRES),
        ]),
]
