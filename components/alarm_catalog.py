"""The alarm catalog: every kind of alarm the stack raises, and the per-environment thresholds it is judged by.

Each entry says what the alarm means, its metric and statistic, how it compares, its window (period x evaluation
periods, of which datapoints must breach) and how missing data counts, and why. The Observability component adds
only the dimensions and the configured threshold; the alarm table of docs/monitoring.md (`make docs`), the tests
and the alarms read the same entries. Fields are keyword-only, so a period, an evaluation count and a datapoint
count can never be swapped silently, and each entry is checked against CloudWatch's limits when it is declared.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from components.constants import (
    BACKUP_JOB,
    BACKUP_METRIC_NAME,
    DUMP_AGE_METRIC_NAME,
    RESTORE_DRILL_JOB,
    RESTORE_DRILL_METRIC_NAME,
    ops_metric_namespace,
)
from components.settings import Rules, setting

Comparison = Literal["GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold"]
MissingData = Literal["breaching", "notBreaching", "ignore", "missing"]
GIB = 1024 ** 3
MIB = 1024 ** 2
MAX_EVALUATED_SECONDS = 86_400
"""CloudWatch evaluates at most one day of periods shorter than an hour (period x evaluation periods)..."""
MAX_EVALUATED_SECONDS_HOURLY = 604_800
"""... and at most seven days of periods of an hour or more: "An alarm's total current evaluation period can be no
longer than seven days ... For alarms with a period of less than one hour (3,600 seconds), the total evaluation
period can't be longer than one day" (PutMetricAlarm, Period)."""


IDLE_REPLICA_LAG_RESET_SECONDS = 300
"""How often an idle primary's read replica's ReplicaLag falls back: "If no user transactions are running on the
source DB instance, the associated PostgreSQL read replica reports a replication lag of up to five minutes. The
replica lag is calculated as currentTime - lastCommitedTransactionTimestamp ... By default RDS for PostgreSQL switches
the WAL segment every 5 minutes, which results in a transaction record and a decrease in the reported lag"
(https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PostgreSQL.Replication.ReadReplicas.html)."""
REPLICA_LAG_FLOOR_SECONDS = 120
"""The lowest `alarmReplicaLagSeconds`. The replica-lag alarm needs every one-minute reading of a 5-minute window
above the threshold; on an idle primary the lag climbs from ~0 to ~300 s and falls back at each WAL switch, so each
such window holds a reading under one minute (under two when the switch runs late). At 30 s the alarm paged on
quiet nights, depending on how the readings fell against the switches (Z23)."""


def check_replica_lag_seconds(value: int) -> str | None:
    if value >= REPLICA_LAG_FLOOR_SECONDS:
        return None
    return (f"must be at least {REPLICA_LAG_FLOOR_SECONDS}: RDS reports up to {IDLE_REPLICA_LAG_RESET_SECONDS} s of "
            "lag on a healthy replica of an idle primary (the time since the last commit it replayed, reset at each "
            "5-minute WAL switch), so a lower threshold pages on quiet nights")


def max_evaluated_seconds(period: int) -> int:
    """The longest window CloudWatch evaluates for alarms of this period."""
    return MAX_EVALUATED_SECONDS_HOURLY if period >= 3600 else MAX_EVALUATED_SECONDS


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """Per-environment alarm thresholds (config keys `alarm*`); the defaults are the production values.

    Percentages stop at 100; the other maxima are values past which the alarm could never fire in practice, so a typo
    (an extra zero) is caught.
    """

    alb_5xx_rate_percent: int = setting(
        "alarmAlb5xxRatePercent", 1, "Alarm when ALB-generated 5xx responses exceed this share of requests (percent, "
        "3 of 5 minutes, minutes with >= 10 requests).", minimum=1, maximum=100)
    target_5xx_count: int = setting(
        "alarmTarget5xxCount", 10, "Alarm when a target group's tasks answer more 5xx than this in 5 minutes.",
        minimum=1, maximum=100_000)
    latency_p95_ms: int = setting(
        "alarmLatencyP95Ms", 1500, "Alarm when p95 TargetResponseTime (time to first byte from the tasks) exceeds "
        "this, in ms.", minimum=10, maximum=60_000)
    latency_p99_ms: int = setting(
        "alarmLatencyP99Ms", 4000, "Alarm when p99 TargetResponseTime exceeds this, in ms (>= the p95 threshold; AI "
        "chat calls are slow, so p99 gets room).", minimum=10, maximum=60_000)
    cpu_percent: int = setting(
        "alarmCpuPercent", 80, "CPU alarm for ECS services, RDS instances and Redis engine CPU, sustained 15 minutes "
        "(percent).", minimum=1, maximum=100)
    memory_percent: int = setting(
        "alarmMemoryPercent", 85, "Memory alarm for an ECS service's busiest task and Redis memory of maxmemory, "
        "sustained 15 minutes (percent).", minimum=1, maximum=100)
    db_free_storage_gib: int = setting(
        "alarmDbFreeStorageGib", 10, "Alarm when an RDS instance's free storage drops below this (GiB); storage "
        "autoscaling needs the headroom.", minimum=1, maximum=65_536)
    db_freeable_memory_mib: int = setting(
        "alarmDbFreeableMemoryMib", 256, "Alarm when an RDS instance's freeable memory stays below this for 15 "
        "minutes (MiB).", minimum=1, maximum=1_048_576)
    db_connections_percent: int = setting(
        "alarmDbConnectionsPercent", 80, "Alarm when DatabaseConnections exceed this share of max_connections "
        "(dbMaxConnections), and RDS Proxy's connections this share of its pool, in percent.", minimum=1, maximum=100)
    db_latency_ms: int = setting(
        "alarmDbLatencyMs", 20, "Alarm when RDS ReadLatency or WriteLatency (average per I/O) exceeds this for 15 "
        "minutes, in ms.", minimum=1, maximum=10_000)
    replica_lag_seconds: int = setting(
        "alarmReplicaLagSeconds", REPLICA_LAG_FLOOR_SECONDS, "Alarm when an RDS read replica's ReplicaLag stays "
        f"above this for 5 minutes, in seconds (at least {REPLICA_LAG_FLOOR_SECONDS}: an idle primary's replica "
        "reports up to 5 minutes).", maximum=86_400, check=check_replica_lag_seconds)
    cache_replication_lag_seconds: int = setting(
        "alarmCacheReplicationLagSeconds", 30, "Alarm when a Redis replica's ReplicationLag stays above this for 5 "
        "minutes, in seconds.", minimum=1, maximum=86_400)
    cache_evictions: int = setting(
        "alarmCacheEvictions", 100, "Alarm when a Redis node evicts more keys than this in 5 minutes (memory "
        "pressure).", minimum=1, maximum=10_000_000)
    cdn_5xx_rate_percent: int = setting(
        "alarmCdn5xxRatePercent", 1, "Alarm when CloudFront's 5xx error rate (the origin's 5xx and CloudFront's own "
        "502/504) exceeds this share of viewer requests (percent, 3 of 5 minutes, minutes with >= 10 requests).",
        minimum=1, maximum=100)
    cdn_origin_latency_ms: int = setting(
        "alarmCdnOriginLatencyMs", 2000, "Alarm when p95 CloudFront OriginLatency (first byte from the ALB, for "
        "requests not served from the cache) exceeds this, in ms (needs cdnAdditionalMetrics).", minimum=10,
        maximum=180_000)
    waf_blocked_requests: int = setting(
        "alarmWafBlockedRequests", 1000, "Alarm when the WAF blocks more requests than this in 5 minutes (an attack "
        "or a rule blocking real users).", minimum=1, maximum=10_000_000)
    app_error_rate_percent: int = setting(
        "alarmAppErrorRatePercent", 1, "Prometheus alert when a service answers more than this share of its "
        "requests with 5xx (percent; the app's http_requests_total, 5 minutes, >= 6 requests/min).", minimum=1,
        maximum=100)
    cache_hit_rate_percent: int = setting(
        "alarmCacheHitRatePercent", 80, "Prometheus alert when the app's cache_hit_rate stays below this for 30 "
        "minutes (percent; the seed's deploy check warns below 80).", minimum=1, maximum=100)

    def validate(self, rules: Rules) -> None:
        if self.latency_p99_ms < self.latency_p95_ms:
            rules.problem("latency_p99_ms", f"must be at least {rules.key('latency_p95_ms')} ({self.latency_p95_ms}): "
                          "a p99 is never below the p95", also=["latency_p95_ms"])


@dataclass(frozen=True, kw_only=True)
class AlarmKind:
    """One kind of alarm: everything but the dimensions and the threshold's value."""

    key: str
    """Logical-name suffix; `{label}` is replaced by the watched thing's label (e.g. `ecs-{label}-cpu`)."""
    summary: str
    """What it means, for the alarm description and the docs/monitoring.md table."""
    metric: str
    """`Namespace MetricName` or a metric math formula, for people."""
    statistic: str
    """Sum, Average, Minimum, Maximum, or a percentile such as p95."""
    comparison: Comparison
    threshold: str
    """The AlarmThresholds field, or a literal such as "1" for a fixed threshold."""
    unit: str
    """Unit of the configured threshold (%, ms, GiB, ...), for people."""
    scale: float
    """Configured value x scale = CloudWatch threshold (ms -> s, GiB -> bytes)."""
    period: int
    """Seconds per datapoint (a multiple of 60: standard-resolution metrics)."""
    evaluation_periods: int
    """How many of the latest periods are evaluated."""
    datapoints_to_alarm: int
    """How many of those must breach (M of N)."""
    treat_missing_data: MissingData
    why_missing: str
    """Why treat_missing_data is what it is."""

    def __post_init__(self) -> None:
        if self.period % 60 or not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValueError(f"alarm {self.key}: period must be a multiple of 60 and 1 <= datapoints_to_alarm <= "
                             "evaluation_periods")
        if self.period * self.evaluation_periods > max_evaluated_seconds(self.period):
            raise ValueError(f"alarm {self.key}: CloudWatch evaluates at most one day of sub-hour periods and seven "
                             "days of hourly ones (period x evaluation_periods)")
        if not (self.threshold.isdigit() or self.threshold in AlarmThresholds.__dataclass_fields__):
            raise ValueError(f"alarm {self.key}: threshold {self.threshold!r} is neither a number nor a threshold")

    @property
    def window(self) -> str:
        minutes = self.period // 60
        span = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"
        return f"{self.datapoints_to_alarm} of {self.evaluation_periods} × {span}"


def any_failure(*, key: str, summary: str, metric: str, unit: str, why_missing: str) -> AlarmKind:
    """A kind that fires on the first failure: Sum > 0 in one 5-minute period, no data being the healthy state (the
    service publishes the metric only when something failed, or nothing ran)."""
    return AlarmKind(key=key, summary=summary, metric=metric, statistic="Sum", comparison="GreaterThanThreshold",
                     threshold="0", unit=unit, scale=1, period=300, evaluation_periods=1, datapoints_to_alarm=1,
                     treat_missing_data="notBreaching", why_missing=why_missing)


def sample_floor(percentile: str) -> int:
    """How many samples a period needs before CloudWatch calls a percentile of it significant: "For percentiles
    between 0.5 (inclusive) and 1.00 (exclusive), this setting is used when there are fewer than 10/(1-percentile)
    data points during the evaluation period" (p95: 200, p99: 1,000;
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/percentiles-with-low-samples.html)."""
    share = Fraction(percentile.removeprefix("p")) / 100
    if not Fraction(1, 2) <= share < 1:
        raise ValueError(f"{percentile}: the sample floor is defined here for p50 up to p99.99")
    return math.ceil(10 / (1 - share))


_BACKUP_NAMESPACE = ops_metric_namespace("<name prefix>", BACKUP_JOB)
_DRILL_NAMESPACE = ops_metric_namespace("<name prefix>", RESTORE_DRILL_JOB)
_NO_TRAFFIC = "no requests, nothing to judge: ALB metrics are only emitted while there is traffic"
_FEW_SAMPLES = ("; a period with fewer samples reads 0 (OK): its percentile is noise, and the alarm's own low-sample "
                "setting (ignore) would instead freeze the state, a raised alarm staying raised all night and a quiet "
                "stack's alarm in INSUFFICIENT_DATA for good")
ALARM_KINDS: tuple[AlarmKind, ...] = (
    AlarmKind(
        key="alb-5xx-rate", summary="ALB-generated 5xx share of requests",
        metric="100 × HTTPCode_ELB_5XX_Count / RequestCount (AWS/ApplicationELB; only minutes with ≥ 10 requests "
        "count)",
        statistic="Sum", comparison="GreaterThanThreshold", threshold="alb_5xx_rate_percent", unit="%", scale=1,
        period=60, evaluation_periods=5, datapoints_to_alarm=3, treat_missing_data="notBreaching",
        why_missing=_NO_TRAFFIC,
    ),
    AlarmKind(
        key="alb-p95-latency", summary="p95 target response time",
        metric=f"AWS/ApplicationELB TargetResponseTime (only periods with ≥ {sample_floor('p95')} samples count)",
        statistic="p95", comparison="GreaterThanThreshold", threshold="latency_p95_ms", unit="ms", scale=0.001,
        period=300, evaluation_periods=3, datapoints_to_alarm=2, treat_missing_data="notBreaching",
        why_missing=_NO_TRAFFIC + _FEW_SAMPLES,
    ),
    AlarmKind(
        key="alb-p99-latency", summary="p99 target response time",
        metric=f"AWS/ApplicationELB TargetResponseTime (only periods with ≥ {sample_floor('p99')} samples count)",
        statistic="p99", comparison="GreaterThanThreshold", threshold="latency_p99_ms", unit="ms", scale=0.001,
        period=300, evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data="notBreaching",
        why_missing=_NO_TRAFFIC + _FEW_SAMPLES,
    ),
    AlarmKind(
        key="tg-{label}-5xx", summary="5xx responses from the target group's tasks",
        metric="AWS/ApplicationELB HTTPCode_Target_5XX_Count", statistic="Sum", comparison="GreaterThanThreshold",
        threshold="target_5xx_count", unit="per 5 min", scale=1, period=300, evaluation_periods=1,
        datapoints_to_alarm=1, treat_missing_data="notBreaching",
        why_missing="the metric is absent when no target answered 5xx",
    ),
    AlarmKind(
        key="tg-{label}-unhealthy-hosts", summary="a target fails its health check",
        metric="AWS/ApplicationELB UnHealthyHostCount", statistic="Maximum",
        comparison="GreaterThanOrEqualToThreshold", threshold="1", unit="targets", scale=1, period=60,
        evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data="notBreaching",
        why_missing="only absent when the group is detached; a service short of tasks is the ecs running alarm's job",
    ),
    AlarmKind(
        key="ecs-{label}-cpu", summary="service CPU (average over its tasks)", metric="AWS/ECS CPUUtilization",
        statistic="Average", comparison="GreaterThanThreshold", threshold="cpu_percent", unit="%", scale=1,
        period=300, evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data="notBreaching",
        why_missing="no tasks, no CPU: the running-tasks alarm covers a service that stopped",
    ),
    AlarmKind(
        key="ecs-{label}-memory", summary="memory of the service's busiest task (a leak OOM-kills one task first)",
        metric="AWS/ECS MemoryUtilization", statistic="Maximum", comparison="GreaterThanThreshold",
        threshold="memory_percent", unit="%", scale=1, period=300, evaluation_periods=3, datapoints_to_alarm=3,
        treat_missing_data="notBreaching",
        why_missing="no tasks, no memory: the running-tasks alarm covers a service that stopped",
    ),
    AlarmKind(
        key="ecs-{label}-running-tasks", summary="fewer tasks running than desired (only where Container Insights is "
        "on: not in dev)",
        metric="DesiredTaskCount − RunningTaskCount (ECS/ContainerInsights)", statistic="Average",
        comparison="GreaterThanThreshold", threshold="0", unit="tasks", scale=1, period=60, evaluation_periods=5,
        datapoints_to_alarm=5, treat_missing_data="breaching",
        why_missing="Container Insights reports every minute while the service exists: silence means we are blind",
    ),
    AlarmKind(
        key="db-{label}-cpu", summary="RDS instance CPU", metric="AWS/RDS CPUUtilization", statistic="Average",
        comparison="GreaterThanThreshold", threshold="cpu_percent", unit="%", scale=1, period=300,
        evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data="notBreaching",
        why_missing="the free-storage alarm owns instance silence",
    ),
    AlarmKind(
        key="db-{label}-free-storage", summary="RDS free storage below the floor", metric="AWS/RDS FreeStorageSpace",
        statistic="Minimum", comparison="LessThanThreshold", threshold="db_free_storage_gib", unit="GiB", scale=GIB,
        period=300, evaluation_periods=2, datapoints_to_alarm=2, treat_missing_data="breaching",
        why_missing="RDS reports it every minute while the instance runs: silence means stopped, failed or deleted",
    ),
    AlarmKind(
        key="db-{label}-freeable-memory", summary="RDS freeable memory below the floor",
        metric="AWS/RDS FreeableMemory", statistic="Minimum", comparison="LessThanThreshold",
        threshold="db_freeable_memory_mib", unit="MiB", scale=MIB, period=300, evaluation_periods=3,
        datapoints_to_alarm=3, treat_missing_data="notBreaching",
        why_missing="the free-storage alarm owns instance silence",
    ),
    AlarmKind(
        key="db-{label}-connections", summary="connections near max_connections",
        metric="AWS/RDS DatabaseConnections", statistic="Maximum", comparison="GreaterThanThreshold",
        threshold="db_connections_percent", unit="% of max_connections", scale=1, period=300, evaluation_periods=2,
        datapoints_to_alarm=2, treat_missing_data="notBreaching",
        why_missing="the free-storage alarm owns instance silence",
    ),
    AlarmKind(
        key="db-proxy-pool", summary="RDS Proxy's pool near its cap (MaxConnectionsPercent of max_connections)",
        metric="100 × DatabaseConnections / MaxDatabaseConnectionsAllowed (AWS/RDS, ProxyName, Sum over the proxy's "
        "nodes)", statistic="Sum", comparison="GreaterThanThreshold", threshold="db_connections_percent",
        unit="% of the pool", scale=1, period=300, evaluation_periods=2, datapoints_to_alarm=2,
        treat_missing_data="notBreaching",
        why_missing="the proxy publishes pool metrics only once it has connected to the database",
    ),
    AlarmKind(
        key="db-{label}-read-latency", summary="RDS read latency per I/O", metric="AWS/RDS ReadLatency",
        statistic="Average", comparison="GreaterThanThreshold", threshold="db_latency_ms", unit="ms", scale=0.001,
        period=300, evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data="notBreaching",
        why_missing="the free-storage alarm owns instance silence",
    ),
    AlarmKind(
        key="db-{label}-write-latency", summary="RDS write latency per I/O (writer only)",
        metric="AWS/RDS WriteLatency", statistic="Average", comparison="GreaterThanThreshold",
        threshold="db_latency_ms", unit="ms", scale=0.001, period=300, evaluation_periods=3, datapoints_to_alarm=3,
        treat_missing_data="notBreaching", why_missing="the free-storage alarm owns instance silence",
    ),
    AlarmKind(
        key="db-{label}-replica-lag", summary="read replica behind the writer", metric="AWS/RDS ReplicaLag",
        statistic="Maximum", comparison="GreaterThanThreshold", threshold="replica_lag_seconds", unit="s", scale=1,
        period=60, evaluation_periods=5, datapoints_to_alarm=5, treat_missing_data="breaching",
        why_missing="a replica reports lag every minute while it replicates: silence means replication stopped",
    ),
    AlarmKind(
        key="cache-{label}-engine-cpu", summary="Redis engine thread CPU (Redis is single-threaded)",
        metric="AWS/ElastiCache EngineCPUUtilization", statistic="Average", comparison="GreaterThanThreshold",
        threshold="cpu_percent", unit="%", scale=1, period=300, evaluation_periods=3, datapoints_to_alarm=3,
        treat_missing_data="notBreaching",
        why_missing="a node being replaced reports nothing; the group's other nodes still do",
    ),
    AlarmKind(
        key="cache-{label}-memory", summary="Redis memory used of maxmemory",
        metric="AWS/ElastiCache DatabaseMemoryUsagePercentage", statistic="Average",
        comparison="GreaterThanThreshold", threshold="memory_percent", unit="%", scale=1, period=300,
        evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data="notBreaching",
        why_missing="a node being replaced reports nothing",
    ),
    AlarmKind(
        key="cache-{label}-evictions", summary="keys evicted for lack of memory", metric="AWS/ElastiCache Evictions",
        statistic="Sum", comparison="GreaterThanThreshold", threshold="cache_evictions", unit="per 5 min", scale=1,
        period=300, evaluation_periods=1, datapoints_to_alarm=1, treat_missing_data="notBreaching",
        why_missing="a node being replaced reports nothing",
    ),
    AlarmKind(
        key="cache-{label}-replication-lag", summary="Redis replica behind the primary",
        metric="AWS/ElastiCache ReplicationLag", statistic="Maximum", comparison="GreaterThanThreshold",
        threshold="cache_replication_lag_seconds", unit="s", scale=1, period=60, evaluation_periods=5,
        datapoints_to_alarm=5,
        treat_missing_data="notBreaching",
        why_missing="only replicas emit it and failover swaps roles, so every member of a group with replicas is "
        "watched and the primary is silent (a group of one member has no such alarm)",
    ),
    AlarmKind(
        key="certificate-{label}-expiry", summary="ACM certificate near expiry: managed renewal starts 60 days "
        "before, so fewer than 45 left means it failed (or an imported certificate nobody renewed)",
        metric="AWS/CertificateManager DaysToExpiry (in the certificate's region)", statistic="Minimum",
        comparison="LessThanThreshold", threshold="45", unit="days", scale=1, period=86400, evaluation_periods=1,
        datapoints_to_alarm=1, treat_missing_data="missing",
        why_missing="ACM emits it once a day: a new certificate has no point before its first (breaching would page "
        "on every new stack), and one that stops reporting at expiry has been in ALARM for 45 days by then",
    ),
    AlarmKind(
        key="cdn-5xx-rate", summary="CloudFront 5xx share of viewer requests",
        metric="AWS/CloudFront 5xxErrorRate (us-east-1, Region=Global; only minutes with ≥ 10 requests count)",
        statistic="Average", comparison="GreaterThanThreshold", threshold="cdn_5xx_rate_percent", unit="%", scale=1,
        period=60, evaluation_periods=5, datapoints_to_alarm=3, treat_missing_data="notBreaching",
        why_missing="CloudFront emits no datapoint for a minute without requests",
    ),
    AlarmKind(
        key="cdn-origin-latency", summary="p95 time to first byte from the origin (cache misses)",
        metric=f"AWS/CloudFront OriginLatency (additional metrics, us-east-1; only periods with ≥ "
        f"{sample_floor('p95')} samples count)", statistic="p95",
        comparison="GreaterThanThreshold", threshold="cdn_origin_latency_ms", unit="ms", scale=1, period=300,
        evaluation_periods=3, datapoints_to_alarm=2, treat_missing_data="notBreaching",
        why_missing="no origin requests, nothing to judge" + _FEW_SAMPLES,
    ),
    AlarmKind(
        key="waf-blocked-requests", summary="spike of requests the WAF blocked",
        metric="AWS/WAFV2 BlockedRequests (Rule=ALL)", statistic="Sum", comparison="GreaterThanThreshold",
        threshold="waf_blocked_requests", unit="per 5 min", scale=1, period=300, evaluation_periods=1,
        datapoints_to_alarm=1, treat_missing_data="notBreaching",
        why_missing="the metric is absent while nothing is blocked",
    ),
    any_failure(
        key="amp-alert-delivery-failed", unit="per 5 min",
        summary="Prometheus alerts that the alert manager failed to deliver to SNS",
        metric="AWS/Prometheus AlertManagerNotificationsFailed (Workspace)",
        why_missing="the metric is absent while every delivery succeeds",
    ),
    any_failure(
        key="lambda-{label}-errors", unit="errors per 5 min",
        summary="a credentials function failed: the bootstrap or a rotation step",
        metric="AWS/Lambda Errors (FunctionName)",
        why_missing=("Lambda publishes no datapoint for a function that did not run; a failed rotation leaves the "
                     "secret on its old value (Secrets Manager retries it), and only this alarm says so between "
                     "deploys"),
    ),
    any_failure(
        key="redeploy-failed", unit="executions per 5 min",
        summary="a service was not redeployed after a secret it reads changed",
        metric="AWS/States ExecutionsFailed (StateMachineArn)",
        why_missing=("Step Functions publishes nothing while no execution runs; a failed one leaves the tasks on the "
                     "old values, and with alternating users they fail to log in one rotation later"),
    ),
    any_failure(
        key="redeploy-{label}-not-started", unit="invocations per 5 min",
        summary="EventBridge could not start a service's redeploy after a secret it reads changed",
        metric="AWS/Events FailedInvocations (RuleName)",
        why_missing=("EventBridge publishes FailedInvocations only when an invocation fails for good (after its "
                     "retries), so no data is the healthy state"),
    ),
    any_failure(
        key="events-{label}-undelivered", unit="invocations per 5 min",
        summary=("EventBridge could not deliver an alert event (failed deployment, RDS event, failed drill) to the "
                 "alert topic"),
        metric="AWS/Events FailedInvocations (RuleName)",
        why_missing=("EventBridge publishes FailedInvocations only when a delivery fails for good (SNS or the alert "
                     "key refused it, after the retries); this alarm reaches the topic through CloudWatch's own "
                     "grant, so a broken EventBridge grant is still heard"),
    ),
    AlarmKind(
        key="backup-missing", summary="no successful backup within the schedule plus grace",
        metric=f"{_BACKUP_NAMESPACE} {BACKUP_METRIC_NAME}", statistic="Sum", comparison="LessThanThreshold",
        threshold="1", unit="backups", scale=1, period=3600, evaluation_periods=7, datapoints_to_alarm=7,
        treat_missing_data="breaching",
        why_missing="the job publishes only on success: no data *is* the failure this alarm exists for",
    ),
    AlarmKind(
        key="s3-{label}-replication-failed", summary="objects or operations that failed to replicate to the DR region",
        metric="AWS/S3 OperationsFailedReplication (source region; SourceBucket, DestinationBucket, RuleId)",
        statistic="Sum", comparison="GreaterThanThreshold", threshold="0", unit="operations", scale=1, period=300,
        evaluation_periods=1, datapoints_to_alarm=1, treat_missing_data="ignore",
        why_missing="a period without data keeps the alarm's state, as the S3 user guide advises for replication "
                    "metrics (\"Treat missing data as ignore (maintain the alarm state)\"): a failure stays in ALARM "
                    "until S3 reports a period without failures; once fixed, `aws cloudwatch set-alarm-state` resets "
                    "it should S3 send none",
    ),
    AlarmKind(
        key="restore-drill-missing", summary="no passed restore drill of the DR copy within a day plus grace",
        metric=f"{_DRILL_NAMESPACE} {RESTORE_DRILL_METRIC_NAME}", statistic="Sum",
        comparison="LessThanThreshold", threshold="1", unit="drills", scale=1, period=3600, evaluation_periods=27,
        datapoints_to_alarm=27, treat_missing_data="breaching",
        why_missing="the drill publishes only on a pass: no data *is* the failure this alarm exists for",
    ),
    AlarmKind(
        key="dr-dump-stale", summary="the newest dump in the DR region is older than the backup schedule allows (the "
        "threshold follows the schedule: one interval plus the run and replication, 8 h at the default 6 hours)",
        metric=f"{_DRILL_NAMESPACE} {DUMP_AGE_METRIC_NAME} (put by every drill)", statistic="Maximum",
        comparison="GreaterThanThreshold", threshold="8", unit="h", scale=1, period=3600, evaluation_periods=24,
        datapoints_to_alarm=1, treat_missing_data="notBreaching",
        why_missing="the drill reports once a day; the restore-drill-missing alarm owns its silence",
    ),
)
KINDS: Mapping[str, AlarmKind] = {kind.key: kind for kind in ALARM_KINDS}
ALB_5XX_RATE_EXPRESSION = "IF(requests >= 10, 100 * FILL(errors, 0) / requests, 0)"
"""ALB 5xx share in percent. FILL: the 5xx metric is absent in minutes without errors; the request floor keeps one
failed request out of three at night from paging anyone."""
CDN_5XX_RATE_EXPRESSION = "IF(requests >= 10, FILL(rate, 0), 0)"
"""CloudFront's 5xx rate (already a percentage), judged only in minutes with enough requests to mean something."""
LATENCY_EXPRESSION = "IF(samples >= {floor}, latency, 0)"
"""A latency percentile (ALB TargetResponseTime, CloudFront OriginLatency), judged only in periods where the same
metric's SampleCount (the requests measured: answered by the targets, or sent to the origin, POSTs included)
reaches `sample_floor`. Metric math, so CloudWatch's low-sample rule for percentile alarms does not apply. (Not
CloudFront's Requests x the miss share of CacheHitRate: "HTTP POST and PUT requests and errors are not considered
cacheable requests", so that estimate undercounts the dynamic requests this alarm is for.)"""
PROXY_POOL_EXPRESSION = "IF(allowed > 0, 100 * connections / allowed, 0)"
"""RDS Proxy's database connections as a share of its cap, both summed over the proxy's nodes: "RDS publishes these
metrics for each underlying Amazon EC2 instance associated with a proxy ... The most useful statistic for this metric
is Sum" (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.monitoring.html)."""
RUNNING_SHORTFALL_EXPRESSION = "desired - running"
"""Tasks short of the desired count (desired, not a fixed number: autoscaling moves it)."""
OPERATORS = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": "≥", "LessThanThreshold": "<"}


def threshold_value(kind: AlarmKind, thresholds: AlarmThresholds) -> int:
    """The configured threshold of a kind, in its display unit."""
    if kind.threshold.isdigit():
        return int(kind.threshold)
    return int(getattr(thresholds, kind.threshold))
