"""Alerting and the operations dashboard: an encrypted SNS topic, CloudWatch alarms, one dashboard.

What is watched arrives as plain CloudWatch dimension values (an ALB's ARN suffix, a DB instance identifier, a
cache cluster id, ...), grouped in small optional `*Watch` records, so the component depends on no other component
and works with whatever the stack has: every watch left out simply adds no alarm and no dashboard widget.

Every alarm is one entry of ALARM_KINDS below: metric, statistic, comparison, evaluation window, how missing data
counts and why. The component supplies only the dimensions and the per-environment threshold (AlarmThresholds,
from the `alarm*` config keys), so the README's alarm table, the tests and the alarms read the same catalog.

Lifecycle: nothing here is stateful. Alarms, the dashboard and the topic can be replaced at any time; the only
cost of replacing the topic is that email subscribers must confirm again (SNS sends them a new confirmation).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, named_tags, policy_json

Comparison = Literal["GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold"]
MissingData = Literal["breaching", "notBreaching", "ignore", "missing"]

BACKUP_NAMESPACE = "Maratron/Backups"
BACKUP_METRIC = "BackupSucceeded"
GIB = 1024 ** 3
MIB = 1024 ** 2
LABEL_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
"""Labels become part of logical and alarm names (`ecs-web-cpu`), so they stay short, lower-case and dash-safe."""


def _check_labels(what: str, labels: Sequence[str], reserved: Sequence[str] = ()) -> None:
    for label in labels:
        if not LABEL_PATTERN.match(label) or label in reserved:
            allowed = f" other than {', '.join(reserved)}" if reserved else ""
            raise ValueError(f"{what} label {label!r} must be 1-32 lower-case letters, digits or dashes{allowed}")


@dataclass(frozen=True)
class AlarmThresholds:
    """Per-environment alarm thresholds (config keys `alarm*`); the defaults are the production values."""

    alb_5xx_rate_percent: int = 1
    """ALB-generated 5xx responses as a share of all requests, in percent (default 1)."""
    target_5xx_count: int = 10
    """5xx responses from a target group's tasks per 5 minutes (default 10)."""
    latency_p95_ms: int = 1500
    """p95 of TargetResponseTime (time to the target's first response byte), in ms (default 1500)."""
    latency_p99_ms: int = 4000
    """p99 of TargetResponseTime, in ms (default 4000: AI chat calls are slow but stream their first byte early)."""
    cpu_percent: int = 80
    """CPU of an ECS service, an RDS instance and Redis engine CPU, sustained 15 minutes, in percent (default 80)."""
    memory_percent: int = 85
    """Memory of an ECS service's busiest task and Redis DatabaseMemoryUsagePercentage, in percent (default 85)."""
    db_free_storage_gib: int = 10
    """RDS FreeStorageSpace floor, in GiB (default 10: storage autoscaling needs headroom to act)."""
    db_freeable_memory_mib: int = 256
    """RDS FreeableMemory floor, in MiB (default 256)."""
    db_connections_percent: int = 80
    """DatabaseConnections as a share of the instance's max_connections, in percent (default 80)."""
    db_latency_ms: int = 20
    """RDS ReadLatency and WriteLatency (average per I/O), in ms (default 20; gp3 is single-digit normally)."""
    replica_lag_seconds: int = 30
    """RDS ReplicaLag and Redis ReplicationLag, in seconds (default 30)."""
    cache_evictions: int = 100
    """Redis keys evicted for lack of memory per 5 minutes (default 100)."""
    waf_blocked_requests: int = 1000
    """Requests the WAF blocks per 5 minutes before it counts as an attack worth a look (default 1000)."""


# --- what can be watched ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EdgeWatch:
    """The public ALB and its target groups (AWS/ApplicationELB)."""

    load_balancer_arn_suffix: pulumi.Input[str]
    """`app/<name>/<id>`: aws.lb.LoadBalancer.arn_suffix."""
    target_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Label -> `targetgroup/<name>/<id>` (aws.lb.TargetGroup.arn_suffix), e.g. {"web": tg.arn_suffix}. Default none."""

    def __post_init__(self) -> None:
        _check_labels("target group", list(self.target_groups))


@dataclass(frozen=True)
class ServiceWatch:
    """One ECS service (AWS/ECS service metrics; ECS/ContainerInsights for task counts)."""

    cluster_name: pulumi.Input[str]
    """aws.ecs.Cluster.name. Its Container Insights must be enabled for the running-task alarm to have data."""
    service_name: pulumi.Input[str]
    """aws.ecs.Service.name."""


@dataclass(frozen=True)
class DatabaseWatch:
    """The RDS PostgreSQL primary and its read replicas (AWS/RDS, dimension DBInstanceIdentifier)."""

    primary_identifier: pulumi.Input[str]
    """aws.rds.Instance.identifier of the writer."""
    replicas: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Label -> identifier of each read replica, e.g. {"replica-a": replica.identifier}. Default none."""
    max_connections: int = 100
    """The instances' max_connections (the seed's DATABASE_MAX_CONNECTIONS, default 100): the connections alarm
    fires at AlarmThresholds.db_connections_percent of it."""

    def __post_init__(self) -> None:
        _check_labels("replica", list(self.replicas), reserved=("primary",))
        if self.max_connections < 1:
            raise ValueError(f"max_connections must be positive, got {self.max_connections}")


@dataclass(frozen=True)
class CacheWatch:
    """The ElastiCache Redis replication group (AWS/ElastiCache metrics are per member, dimension CacheClusterId)."""

    replication_group_id: pulumi.Input[str]
    """aws.elasticache.ReplicationGroup.replication_group_id (dashboard titles)."""
    members: Mapping[str, pulumi.Input[str]]
    """Label -> CacheClusterId of every member, e.g. {"001": "<group>-001", ...}. Every member gets every alarm:
    the primary role moves on failover, so ReplicationLag is watched on all (the primary simply emits none)."""

    def __post_init__(self) -> None:
        _check_labels("cache member", list(self.members))

    @staticmethod
    def for_replication_group(replication_group_id: pulumi.Input[str], member_count: int) -> CacheWatch:
        """The members of a cluster-mode-disabled group: ElastiCache names them `<group id>-001`, `-002`, ..."""
        labels = [f"{number:03d}" for number in range(1, member_count + 1)]
        return CacheWatch(replication_group_id, {
            label: pulumi.Output.concat(replication_group_id, "-", label) for label in labels})


@dataclass(frozen=True)
class WafWatch:
    """A regional WAFv2 web ACL (AWS/WAFV2; dimensions WebACL, Region, Rule)."""

    web_acl_metric_name: pulumi.Input[str]
    """The ACL's `visibility_config.metric_name`: the WebACL dimension's value (not necessarily the ACL's name)."""
    rule: str = "ALL"
    """The rule's metric name, or ALL (default) for the ACL as a whole."""


@dataclass(frozen=True)
class BackupWatch:
    """The custom metric the backup job publishes after each verified upload."""

    namespace: str = BACKUP_NAMESPACE
    """Metric namespace (default Maratron/Backups)."""
    metric_name: str = BACKUP_METRIC
    """Metric name (default BackupSucceeded; the job puts 1 per verified backup)."""
    dimensions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Dimensions exactly as the job publishes them (default none)."""
    interval_hours: int = 6
    """How often the job runs (default 6, the seed's schedule)."""
    grace_hours: int = 1
    """How long a run may take before its absence counts (default 1)."""

    def __post_init__(self) -> None:
        # CloudWatch evaluates at most one day of hourly periods.
        if self.interval_hours < 1 or self.grace_hours < 0 or self.interval_hours + self.grace_hours > 24:
            raise ValueError("interval_hours must be at least 1, grace_hours at least 0, and together at most 24")

    @property
    def window_hours(self) -> int:
        return self.interval_hours + self.grace_hours


# --- the alarm catalog -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AlarmKind:
    """One kind of alarm: everything but the dimensions and the threshold's value."""

    key: str
    """Logical-name suffix; `{label}` is replaced by the watched thing's label (e.g. `ecs-{label}-cpu`)."""
    summary: str
    """What it means, for the alarm description and the README table."""
    metric: str
    """`Namespace MetricName` or a metric math formula, for people."""
    statistic: str
    comparison: Comparison
    threshold: str
    """The AlarmThresholds field, or a literal such as "1" for a fixed threshold."""
    unit: str
    """Unit of the configured threshold (%, ms, GiB, ...), for people."""
    scale: float
    """Configured value x scale = CloudWatch threshold (ms -> s, GiB -> bytes)."""
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: MissingData
    why_missing: str
    """Why treat_missing_data is what it is."""

    @property
    def window(self) -> str:
        minutes = self.period // 60
        span = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"
        return f"{self.datapoints_to_alarm} of {self.evaluation_periods} × {span}"


_NO_TRAFFIC = "no requests, nothing to judge: ALB metrics are only emitted while there is traffic"
ALARM_KINDS: tuple[AlarmKind, ...] = (
    AlarmKind("alb-5xx-rate", "ALB-generated 5xx share of requests", "100 × HTTPCode_ELB_5XX_Count / RequestCount "
              "(AWS/ApplicationELB; only minutes with ≥ 10 requests count)", "Sum", "GreaterThanThreshold",
              "alb_5xx_rate_percent", "%", 1, 60, 5, 3, "notBreaching", _NO_TRAFFIC),
    AlarmKind("alb-p95-latency", "p95 target response time", "AWS/ApplicationELB TargetResponseTime", "p95",
              "GreaterThanThreshold", "latency_p95_ms", "ms", 0.001, 300, 3, 2, "notBreaching", _NO_TRAFFIC),
    AlarmKind("alb-p99-latency", "p99 target response time", "AWS/ApplicationELB TargetResponseTime", "p99",
              "GreaterThanThreshold", "latency_p99_ms", "ms", 0.001, 300, 3, 3, "notBreaching", _NO_TRAFFIC),
    AlarmKind("tg-{label}-5xx", "5xx responses from the target group's tasks",
              "AWS/ApplicationELB HTTPCode_Target_5XX_Count", "Sum", "GreaterThanThreshold", "target_5xx_count",
              "per 5 min", 1, 300, 1, 1, "notBreaching", "the metric is absent when no target answered 5xx"),
    AlarmKind("tg-{label}-unhealthy-hosts", "a target fails its health check",
              "AWS/ApplicationELB UnHealthyHostCount", "Maximum", "GreaterThanOrEqualToThreshold", "1", "targets",
              1, 60, 3, 3, "notBreaching",
              "only absent when the group is detached; a service short of tasks is the ecs running alarm's job"),
    AlarmKind("ecs-{label}-cpu", "service CPU (average over its tasks)", "AWS/ECS CPUUtilization", "Average",
              "GreaterThanThreshold", "cpu_percent", "%", 1, 300, 3, 3, "notBreaching",
              "no tasks, no CPU: the running-tasks alarm covers a service that stopped"),
    AlarmKind("ecs-{label}-memory", "memory of the service's busiest task (a leak OOM-kills one task first)",
              "AWS/ECS MemoryUtilization", "Maximum", "GreaterThanThreshold", "memory_percent", "%", 1, 300, 3, 3,
              "notBreaching", "no tasks, no memory: the running-tasks alarm covers a service that stopped"),
    AlarmKind("ecs-{label}-running-tasks", "fewer tasks running than desired",
              "DesiredTaskCount − RunningTaskCount (ECS/ContainerInsights)", "Average", "GreaterThanThreshold", "0",
              "tasks", 1, 60, 5, 5, "breaching",
              "Container Insights reports every minute while the service exists: silence means we are blind"),
    AlarmKind("db-{label}-cpu", "RDS instance CPU", "AWS/RDS CPUUtilization", "Average", "GreaterThanThreshold",
              "cpu_percent", "%", 1, 300, 3, 3, "notBreaching", "the free-storage alarm owns instance silence"),
    AlarmKind("db-{label}-free-storage", "RDS free storage below the floor", "AWS/RDS FreeStorageSpace", "Minimum",
              "LessThanThreshold", "db_free_storage_gib", "GiB", GIB, 300, 2, 2, "breaching",
              "RDS reports it every minute while the instance runs: silence means stopped, failed or deleted"),
    AlarmKind("db-{label}-freeable-memory", "RDS freeable memory below the floor", "AWS/RDS FreeableMemory",
              "Minimum", "LessThanThreshold", "db_freeable_memory_mib", "MiB", MIB, 300, 3, 3, "notBreaching",
              "the free-storage alarm owns instance silence"),
    AlarmKind("db-{label}-connections", "connections near max_connections", "AWS/RDS DatabaseConnections",
              "Maximum", "GreaterThanThreshold", "db_connections_percent", "% of max_connections", 1, 300, 2, 2,
              "notBreaching", "the free-storage alarm owns instance silence"),
    AlarmKind("db-{label}-read-latency", "RDS read latency per I/O", "AWS/RDS ReadLatency", "Average",
              "GreaterThanThreshold", "db_latency_ms", "ms", 0.001, 300, 3, 3, "notBreaching",
              "the free-storage alarm owns instance silence"),
    AlarmKind("db-{label}-write-latency", "RDS write latency per I/O (writer only)", "AWS/RDS WriteLatency",
              "Average", "GreaterThanThreshold", "db_latency_ms", "ms", 0.001, 300, 3, 3, "notBreaching",
              "the free-storage alarm owns instance silence"),
    AlarmKind("db-{label}-replica-lag", "read replica behind the writer", "AWS/RDS ReplicaLag", "Maximum",
              "GreaterThanThreshold", "replica_lag_seconds", "s", 1, 60, 5, 5, "breaching",
              "a replica reports lag every minute while it replicates: silence means replication stopped"),
    AlarmKind("cache-{label}-engine-cpu", "Redis engine thread CPU (Redis is single-threaded)",
              "AWS/ElastiCache EngineCPUUtilization", "Average", "GreaterThanThreshold", "cpu_percent", "%", 1,
              300, 3, 3, "notBreaching", "a node being replaced reports nothing; the group's other nodes still do"),
    AlarmKind("cache-{label}-memory", "Redis memory used of maxmemory",
              "AWS/ElastiCache DatabaseMemoryUsagePercentage", "Average", "GreaterThanThreshold", "memory_percent",
              "%", 1, 300, 3, 3, "notBreaching", "a node being replaced reports nothing"),
    AlarmKind("cache-{label}-evictions", "keys evicted for lack of memory", "AWS/ElastiCache Evictions", "Sum",
              "GreaterThanThreshold", "cache_evictions", "per 5 min", 1, 300, 1, 1, "notBreaching",
              "a node being replaced reports nothing"),
    AlarmKind("cache-{label}-replication-lag", "Redis replica behind the primary", "AWS/ElastiCache ReplicationLag",
              "Maximum", "GreaterThanThreshold", "replica_lag_seconds", "s", 1, 60, 5, 5, "notBreaching",
              "only replicas emit it and failover swaps roles, so every member is watched and the primary is silent"),
    AlarmKind("waf-blocked-requests", "spike of requests the WAF blocked", "AWS/WAFV2 BlockedRequests (Rule=ALL)",
              "Sum", "GreaterThanThreshold", "waf_blocked_requests", "per 5 min", 1, 300, 1, 1, "notBreaching",
              "the metric is absent while nothing is blocked"),
    AlarmKind("backup-missing", "no successful backup within the schedule plus grace",
              f"{BACKUP_NAMESPACE} {BACKUP_METRIC}", "Sum", "LessThanThreshold", "1", "backups", 1, 3600, 7, 7,
              "breaching", "the job publishes only on success: no data *is* the failure this alarm exists for"),
)
KINDS: Mapping[str, AlarmKind] = {kind.key: kind for kind in ALARM_KINDS}
ALB_5XX_RATE_EXPRESSION = "IF(requests >= 10, 100 * FILL(errors, 0) / requests, 0)"
"""ALB 5xx share in percent. FILL: the 5xx metric is absent in minutes without errors; the request floor keeps one
failed request out of three at night from paging anyone."""
RUNNING_SHORTFALL_EXPRESSION = "desired - running"
"""Tasks short of the desired count (desired, not a fixed number: autoscaling moves it)."""
OPERATORS = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": "≥", "LessThanThreshold": "<"}


def threshold_value(kind: AlarmKind, thresholds: AlarmThresholds) -> int:
    """The configured threshold of a kind, in its display unit."""
    if kind.threshold.isdigit():
        return int(kind.threshold)
    return int(getattr(thresholds, kind.threshold))


# --- the component ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ObservabilityArgs:
    """Inputs of Observability. Every watch is optional: what is not passed gets no alarm and no widget."""

    context: AwsContext
    """Account, partition and region (topic policy conditions, dashboard widgets, WAF metric Region)."""
    topic_key: aws.kms.Key
    """CMK that encrypts the alert topic (EncryptionKeys.logs: its policy admits CloudWatch and EventBridge)."""
    alert_emails: Sequence[str] = ()
    """Email addresses subscribed to the topic (each must confirm once). Default none."""
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    """Alarm thresholds; default the production values."""
    edge: EdgeWatch | None = None
    """The public ALB. Default none."""
    services: Mapping[str, ServiceWatch] = field(default_factory=dict)
    """Label -> ECS service, e.g. {"web": ..., "ai": ...}. Default none."""
    database: DatabaseWatch | None = None
    """RDS primary and replicas. Default none."""
    cache: CacheWatch | None = None
    """Redis replication group members. Default none."""
    waf: WafWatch | None = None
    """The WAF web ACL. Default none."""
    backup: BackupWatch | None = None
    """The backup job's success metric. Default none."""
    name_prefix: str = "maratron"
    """Physical names: topic `<prefix>-alerts`, alarms `<prefix>-<kind>`, dashboard `<prefix>`."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the topic, every alarm and the EventBridge rule."""

    def __post_init__(self) -> None:
        _check_labels("service", list(self.services))


@dataclass
class _Widget:
    title: str
    metrics: list[list[Any]]
    stat: str = "Average"
    period: int = 300
    threshold: float | None = None


class Observability(pulumi.ComponentResource):
    """SNS alert topic, CloudWatch alarms routed to it (alarm and OK), and one operations dashboard."""

    topic: aws.sns.Topic
    """The alert topic: alarms and EventBridge rules publish here."""
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    """Logical suffix (e.g. `alb-5xx-rate`, `db-primary-cpu`) -> alarm."""
    dashboard: aws.cloudwatch.Dashboard
    """The operations dashboard: alarm status, then a row per watched tier."""
    deployment_failures: aws.cloudwatch.EventRule | None
    """EventBridge rule sending failed ECS deployments of the watched services to the topic (None without services)."""

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ops:Observability", name, None, opts)
        self._name = name
        self._args = args
        self.alarms = {}
        self._sections: dict[str, list[_Widget]] = {}
        self.topic = self._topic()
        self._edge_alarms()
        self._service_alarms()
        self.deployment_failures = self._deployment_failure_rule()
        self._database_alarms()
        self._cache_alarms()
        self._waf_alarms()
        self._backup_alarms()
        self.dashboard = self._dashboard()
        self.register_outputs({
            "topicArn": self.topic.arn,
            "alarmNames": self.alarm_names(),
            "dashboardName": self.dashboard.dashboard_name,
        })

    def alarm_names(self) -> pulumi.Output[list[str]]:
        """Physical names of every alarm, in catalog order (for outputs and post-deploy checks)."""
        return pulumi.Output.all(*(alarm.name for alarm in self.alarms.values()))

    # --- topic ---------------------------------------------------------------------------------------------------

    def _topic(self) -> aws.sns.Topic:
        args, ctx = self._args, self._args.context
        topic = aws.sns.Topic(
            f"{self._name}-alerts",
            name=f"{args.name_prefix}-alerts",
            display_name=f"{args.name_prefix} alerts",
            kms_master_key_id=args.topic_key.arn,
            tags=named_tags(args.tags, f"{args.name_prefix}-alerts"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.sns.TopicPolicy(
            f"{self._name}-alerts",
            arn=topic.arn,
            policy=policy_json([{
                # Only this account's alarms (confused-deputy guard: the service principal acts for every account).
                "Sid": "AllowCloudWatchAlarmsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic.arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ctx.account_id},
                    "ArnLike": {"aws:SourceArn": ctx.arn("cloudwatch", "alarm:*")},
                },
            }, {
                # EventBridge rules of this account (ECS deployment failures, RDS events, ...).
                "Sid": "AllowEventBridgeRulesOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic.arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ctx.account_id},
                    "ArnLike": {"aws:SourceArn": ctx.arn("events", "rule/*")},
                },
            }, {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic.arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }]),
            opts=pulumi.ResourceOptions(parent=topic),
        )
        for email in args.alert_emails:
            # Pending until the recipient clicks the confirmation link; SNS drops it after 3 days unconfirmed.
            aws.sns.TopicSubscription(
                f"{self._name}-email-{email}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=pulumi.ResourceOptions(parent=topic),
            )
        return topic

    # --- alarms ----------------------------------------------------------------------------------------------------

    def _alarm(self, kind_key: str, label: str = "", *, namespace: str = "", metric_name: str = "",
               dimensions: Mapping[str, pulumi.Input[str]] | None = None, threshold: float | None = None,
               metric_queries: list[aws.cloudwatch.MetricAlarmMetricQueryArgs] | None = None,
               subject: str = "", evaluation_periods: int | None = None) -> aws.cloudwatch.MetricAlarm:
        kind = KINDS[kind_key]
        if evaluation_periods is not None:  # all of them must breach, over a caller-chosen window
            kind = replace(kind, evaluation_periods=evaluation_periods, datapoints_to_alarm=evaluation_periods)
        args = self._args
        suffix = kind.key.format(label=label)
        value = threshold if threshold is not None else threshold_value(kind, args.thresholds) * kind.scale
        shown = f"{threshold_value(kind, args.thresholds)} {kind.unit}"
        percentile = kind.statistic.startswith("p")
        metric: dict[str, Any] = {} if metric_queries else {
            "namespace": namespace,
            "metric_name": metric_name,
            "dimensions": dict(dimensions or {}),
            "statistic": None if percentile else kind.statistic,
            "extended_statistic": kind.statistic if percentile else None,
            "period": kind.period,
        }
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{suffix}",
            name=f"{args.name_prefix}-{suffix}",
            alarm_description=(f"{kind.summary}{f' ({subject})' if subject else ''}: {kind.metric} {kind.statistic} "
                               f"{OPERATORS[kind.comparison]} {shown}, {kind.window}. Missing data is "
                               f"{kind.treat_missing_data}: {kind.why_missing}."),
            comparison_operator=kind.comparison,
            threshold=value,
            evaluation_periods=kind.evaluation_periods,
            datapoints_to_alarm=kind.datapoints_to_alarm,
            treat_missing_data=kind.treat_missing_data,
            metric_queries=metric_queries,
            # Percentiles over few samples are noise; evaluate them only when there is enough traffic.
            evaluate_low_sample_count_percentiles="ignore" if percentile else None,
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            tags=named_tags(args.tags, f"{args.name_prefix}-{suffix}"),
            opts=pulumi.ResourceOptions(parent=self),
            **metric,
        )
        self.alarms[suffix] = alarm
        return alarm

    def _widget(self, section: str, widget: _Widget) -> None:
        self._sections.setdefault(section, []).append(widget)

    def _edge_alarms(self) -> None:
        edge = self._args.edge
        if edge is None:
            return
        t = self._args.thresholds
        lb = {"LoadBalancer": edge.load_balancer_arn_suffix}
        elb = "AWS/ApplicationELB"
        kind = KINDS["alb-5xx-rate"]

        def query(id_: str, metric_name: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=id_, return_data=False, metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=elb, metric_name=metric_name, dimensions=lb, stat="Sum", period=kind.period))

        self._alarm("alb-5xx-rate", metric_queries=[
            query("errors", "HTTPCode_ELB_5XX_Count"),
            query("requests", "RequestCount"),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="rate", expression=ALB_5XX_RATE_EXPRESSION, label="ALB 5xx rate (%)", return_data=True),
        ])
        self._alarm("alb-p95-latency", namespace=elb, metric_name="TargetResponseTime", dimensions=lb)
        self._alarm("alb-p99-latency", namespace=elb, metric_name="TargetResponseTime", dimensions=lb)
        self._widget("Edge (ALB)", _Widget("Requests and 5xx", [
            [elb, "RequestCount", "LoadBalancer", edge.load_balancer_arn_suffix],
            [elb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", edge.load_balancer_arn_suffix],
            [elb, "HTTPCode_Target_5XX_Count", "LoadBalancer", edge.load_balancer_arn_suffix],
        ], stat="Sum"))
        self._widget("Edge (ALB)", _Widget("Target response time (s)", [
            [elb, "TargetResponseTime", "LoadBalancer", edge.load_balancer_arn_suffix, {"stat": stat}]
            for stat in ("p50", "p95", "p99")
        ], threshold=t.latency_p95_ms / 1000))
        for label, target_group in edge.target_groups.items():
            tg = {"TargetGroup": target_group, **lb}
            self._alarm("tg-{label}-5xx", label, namespace=elb, metric_name="HTTPCode_Target_5XX_Count",
                        dimensions=tg, subject=f"target group {label}")
            self._alarm("tg-{label}-unhealthy-hosts", label, namespace=elb, metric_name="UnHealthyHostCount",
                        dimensions=tg, subject=f"target group {label}")
            self._widget("Edge (ALB)", _Widget(f"Targets: {label}", [
                [elb, metric, "TargetGroup", target_group, "LoadBalancer", edge.load_balancer_arn_suffix]
                for metric in ("HealthyHostCount", "UnHealthyHostCount")
            ], stat="Maximum", period=60))

    def _service_alarms(self) -> None:
        cpu: list[list[Any]] = []
        memory: list[list[Any]] = []
        tasks: list[list[Any]] = []
        for label, service in self._args.services.items():
            dims = {"ClusterName": service.cluster_name, "ServiceName": service.service_name}
            subject = f"ECS service {label}"
            self._alarm("ecs-{label}-cpu", label, namespace="AWS/ECS", metric_name="CPUUtilization",
                        dimensions=dims, subject=subject)
            self._alarm("ecs-{label}-memory", label, namespace="AWS/ECS", metric_name="MemoryUtilization",
                        dimensions=dims, subject=subject)
            kind = KINDS["ecs-{label}-running-tasks"]

            def insights(id_: str, metric_name: str, dims: dict[str, pulumi.Input[str]] = dims,
                         period: int = kind.period) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
                return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id=id_, return_data=False, metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        namespace="ECS/ContainerInsights", metric_name=metric_name, dimensions=dims,
                        stat="Average", period=period))

            # Desired minus running, not running < a fixed number: autoscaling moves the desired count.
            self._alarm("ecs-{label}-running-tasks", label, subject=subject, metric_queries=[
                insights("desired", "DesiredTaskCount"),
                insights("running", "RunningTaskCount"),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="shortfall", expression=RUNNING_SHORTFALL_EXPRESSION, label="tasks short of desired",
                    return_data=True),
            ])
            cpu.append(["AWS/ECS", "CPUUtilization", *_flat(dims), {"label": label}])
            memory.append(["AWS/ECS", "MemoryUtilization", *_flat(dims), {"label": label, "stat": "Maximum"}])
            tasks.append(["ECS/ContainerInsights", "RunningTaskCount", *_flat(dims), {"label": f"{label} running"}])
            tasks.append(["ECS/ContainerInsights", "DesiredTaskCount", *_flat(dims), {"label": f"{label} desired"}])
        if cpu:
            t = self._args.thresholds
            self._widget("Services (ECS)", _Widget("CPU (%)", cpu, threshold=t.cpu_percent))
            self._widget("Services (ECS)", _Widget("Memory, busiest task (%)", memory, threshold=t.memory_percent))
            self._widget("Services (ECS)", _Widget("Tasks: running vs desired", tasks, period=60))

    def _deployment_failure_rule(self) -> aws.cloudwatch.EventRule | None:
        """A deployment the circuit breaker rolled back raises no metric alarm (the old tasks keep serving), yet
        someone must hear that the release did not ship: ECS emits SERVICE_DEPLOYMENT_FAILED to EventBridge."""
        args = self._args
        if not args.services:
            return None
        ctx = args.context
        service_arns = [pulumi.Output.concat(ctx.arn("ecs", "service/"), watch.cluster_name, "/", watch.service_name)
                        for watch in args.services.values()]
        rule = aws.cloudwatch.EventRule(
            f"{self._name}-ecs-deployment-failed",
            name=f"{args.name_prefix}-ecs-deployment-failed",
            description="Failed (rolled back) ECS deployments of the stack's services, to the alert topic",
            event_pattern=pulumi.Output.json_dumps({
                "source": ["aws.ecs"],
                "detail-type": ["ECS Deployment State Change"],
                "detail": {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
                "resources": service_arns,
            }),
            tags=named_tags(args.tags, f"{args.name_prefix}-ecs-deployment-failed"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.cloudwatch.EventTarget(
            f"{self._name}-ecs-deployment-failed",
            rule=rule.name,
            arn=self.topic.arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths={"service": "$.resources[0]", "deployment": "$.detail.deploymentId",
                             "reason": "$.detail.reason"},
                input_template='"ECS deployment <deployment> of <service> failed and was rolled back: <reason>"',
            ),
            opts=pulumi.ResourceOptions(parent=rule),
        )
        return rule

    def _database_alarms(self) -> None:
        database = self._args.database
        if database is None:
            return
        t = self._args.thresholds
        instances = {"primary": database.primary_identifier, **database.replicas}
        for label, identifier in instances.items():
            dims = {"DBInstanceIdentifier": identifier}
            subject = f"RDS {label}"
            for kind_key, metric_name in (("db-{label}-cpu", "CPUUtilization"),
                                          ("db-{label}-free-storage", "FreeStorageSpace"),
                                          ("db-{label}-freeable-memory", "FreeableMemory"),
                                          ("db-{label}-read-latency", "ReadLatency")):
                self._alarm(kind_key, label, namespace="AWS/RDS", metric_name=metric_name, dimensions=dims,
                            subject=subject)
            self._alarm("db-{label}-connections", label, namespace="AWS/RDS", metric_name="DatabaseConnections",
                        dimensions=dims, subject=subject,
                        threshold=database.max_connections * t.db_connections_percent / 100)
            if label == "primary":
                self._alarm("db-{label}-write-latency", label, namespace="AWS/RDS", metric_name="WriteLatency",
                            dimensions=dims, subject=subject)
            else:
                self._alarm("db-{label}-replica-lag", label, namespace="AWS/RDS", metric_name="ReplicaLag",
                            dimensions=dims, subject=subject)

        def per_instance(metric_name: str, **options: Any) -> list[list[Any]]:
            return [["AWS/RDS", metric_name, "DBInstanceIdentifier", identifier, {"label": label, **options}]
                    for label, identifier in instances.items()]

        section = "Database (RDS PostgreSQL)"
        self._widget(section, _Widget("CPU (%)", per_instance("CPUUtilization"), threshold=t.cpu_percent))
        self._widget(section, _Widget("Connections", per_instance("DatabaseConnections", stat="Maximum"),
                                      threshold=database.max_connections * t.db_connections_percent / 100))
        self._widget(section, _Widget("Free storage (bytes)", per_instance("FreeStorageSpace", stat="Minimum"),
                                      threshold=t.db_free_storage_gib * GIB))
        self._widget(section, _Widget("Freeable memory (bytes)", per_instance("FreeableMemory", stat="Minimum"),
                                      threshold=t.db_freeable_memory_mib * MIB))
        self._widget(section, _Widget("Read / write latency (s)", [
            *per_instance("ReadLatency"),
            ["AWS/RDS", "WriteLatency", "DBInstanceIdentifier", database.primary_identifier,
             {"label": "primary write"}],
        ], threshold=t.db_latency_ms / 1000))
        if database.replicas:
            self._widget(section, _Widget("Replica lag (s)", [
                ["AWS/RDS", "ReplicaLag", "DBInstanceIdentifier", identifier, {"label": label}]
                for label, identifier in database.replicas.items()
            ], stat="Maximum", period=60, threshold=t.replica_lag_seconds))

    def _cache_alarms(self) -> None:
        cache = self._args.cache
        if cache is None:
            return
        t = self._args.thresholds
        metrics = (("cache-{label}-engine-cpu", "EngineCPUUtilization"),
                   ("cache-{label}-memory", "DatabaseMemoryUsagePercentage"),
                   ("cache-{label}-evictions", "Evictions"),
                   ("cache-{label}-replication-lag", "ReplicationLag"))
        for label, cluster_id in cache.members.items():
            for kind_key, metric_name in metrics:
                self._alarm(kind_key, label, namespace="AWS/ElastiCache", metric_name=metric_name,
                            dimensions={"CacheClusterId": cluster_id}, subject=f"Redis member {label}")

        def per_member(metric_name: str) -> list[list[Any]]:
            return [["AWS/ElastiCache", metric_name, "CacheClusterId", cluster_id, {"label": label}]
                    for label, cluster_id in cache.members.items()]

        section = "Cache (ElastiCache Redis)"
        self._widget(section, _Widget("Engine CPU (%)", per_member("EngineCPUUtilization"), threshold=t.cpu_percent))
        self._widget(section, _Widget("Memory used (%)", per_member("DatabaseMemoryUsagePercentage"),
                                      threshold=t.memory_percent))
        self._widget(section, _Widget("Evictions", per_member("Evictions"), stat="Sum"))
        self._widget(section, _Widget("Replication lag (s)", per_member("ReplicationLag"), stat="Maximum",
                                      period=60))
        self._widget(section, _Widget("Cache hit rate (%)", [
            ["AWS/ElastiCache", "CacheHitRate", "CacheClusterId", cluster_id, {"label": label}]
            for label, cluster_id in cache.members.items()
        ]))

    def _waf_alarms(self) -> None:
        waf = self._args.waf
        if waf is None:
            return
        dims = {"WebACL": waf.web_acl_metric_name, "Region": self._args.context.region, "Rule": waf.rule}
        self._alarm("waf-blocked-requests", namespace="AWS/WAFV2", metric_name="BlockedRequests", dimensions=dims)
        self._widget("WAF", _Widget("Allowed vs blocked requests", [
            ["AWS/WAFV2", metric, *_flat(dims)] for metric in ("AllowedRequests", "BlockedRequests")
        ], stat="Sum", threshold=self._args.thresholds.waf_blocked_requests))

    def _backup_alarms(self) -> None:
        backup = self._args.backup
        if backup is None:
            return
        # Hourly buckets, all empty: a sliding window of interval + grace hours without one success.
        self._alarm("backup-missing", namespace=backup.namespace, metric_name=backup.metric_name,
                    dimensions=backup.dimensions, subject=f"expected every {backup.interval_hours} h",
                    evaluation_periods=backup.window_hours)
        self._widget("Backups", _Widget("Successful backups per hour", [
            [backup.namespace, backup.metric_name, *_flat(backup.dimensions)]
        ], stat="Sum", period=3600))

    # --- dashboard -------------------------------------------------------------------------------------------------

    def _dashboard(self) -> aws.cloudwatch.Dashboard:
        region = self._args.context.region
        widgets: list[dict[str, Any]] = []
        y = 0
        if self.alarms:
            # Alarm-status widgets show at most 100 alarms each.
            names = list(self.alarms.values())
            for start in range(0, len(names), 100):
                widgets.append({"type": "alarm", "x": 0, "y": y, "width": 24, "height": 4, "properties": {
                    "title": "Alarms", "alarms": [alarm.arn for alarm in names[start:start + 100]],
                    "sortBy": "stateUpdatedTimestamp"}})
                y += 4
        for section, section_widgets in self._sections.items():
            widgets.append({"type": "text", "x": 0, "y": y, "width": 24, "height": 1,
                            "properties": {"markdown": f"## {section}"}})
            y += 1
            for index, widget in enumerate(section_widgets):
                properties: dict[str, Any] = {
                    "title": widget.title, "region": region, "view": "timeSeries", "stacked": False,
                    "stat": widget.stat, "period": widget.period, "metrics": widget.metrics,
                }
                if widget.threshold is not None:
                    properties["annotations"] = {"horizontal": [{"label": "alarm", "value": widget.threshold}]}
                widgets.append({"type": "metric", "x": (index % 3) * 8, "y": y + (index // 3) * 6,
                                "width": 8, "height": 6, "properties": properties})
            y += ((len(section_widgets) + 2) // 3) * 6
        if not widgets:
            widgets.append({"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {
                "markdown": "Nothing is watched yet: pass the stack's resources to Observability."}})
        return aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=self._args.name_prefix,
            dashboard_body=pulumi.Output.json_dumps({"widgets": widgets}),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _flat(dimensions: Mapping[str, pulumi.Input[str]]) -> list[pulumi.Input[str]]:
    """Dimensions as the dashboard's metric arrays spell them: name, value, name, value, ..."""
    return [item for pair in dimensions.items() for item in pair]
