"""Observability: alert topic, the alarm catalog (metric, statistic, dimensions, threshold, window, actions), per-env
thresholds from config, alarms only for what is watched, and the dashboard body."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import stack_config
from components.alarm_catalog import (
    ALARM_KINDS,
    GIB,
    IDLE_REPLICA_LAG_RESET_SECONDS,
    MIB,
    REPLICA_LAG_FLOOR_SECONDS,
    AlarmKind,
    AlarmThresholds,
)
from components.observability import BackupWatch, CacheWatch, DatabaseWatch, EdgeWatch, RestoreDrillWatch
from offline import cost
from offline.engine import ROOT, Resource, StackRun, run_program
from offline.engine import stack_config as merged_stack_config
from tests.configs import MINIMAL_VALID, config_problems
from tests.test_database import routing_alarms

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
PROGRAM = Path(__file__).with_name("programs") / "observability_full.py"
ACCOUNT = "123456789012"
_runs: dict[tuple[str, str], StackRun] = {}


def watched(stack: str, watch: str = "full", tmp_root: Path = ROOT / "build" / "test-programs") -> StackRun:
    """The test program run once per (stack config, watch set) per session."""
    if (stack, watch) not in _runs:
        program = tmp_root / f"observability-{watch}" / "__main__.py"
        program.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name and renamed: another worker may be running the same file (plain -n).
        partial = program.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(PROGRAM.read_text().replace('WATCH = "full"', f"WATCH = {watch!r}"))
        os.replace(partial, program)
        config, secret_keys, _ = merged_stack_config(stack)
        run = run_program(stack, config, secret_keys, program=program)
        assert run.ok, run.error_details
        _runs[(stack, watch)] = run
    return _runs[(stack, watch)]


@pytest.fixture(scope="module")
def full() -> StackRun:
    return watched("prod")


def alarms(run: StackRun) -> dict[str, Resource]:
    """Logical suffix (after `observability-`) -> alarm."""
    return {a.name.removeprefix("observability-"): a for a in run.of_type(ALARM)}


def dims(run: StackRun) -> dict[str, dict[str, str]]:
    lb = run.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]
    return {
        "lb": {"LoadBalancer": lb},
        "tg": {"LoadBalancer": lb, "TargetGroup": "targetgroup/maratron-prod-web/6d0ecf831eec9f09"},
        "web": {"ClusterName": "maratron-prod", "ServiceName": "maratron-prod-web"},
        "ai": {"ClusterName": "maratron-prod", "ServiceName": "maratron-prod-ai"},
        "primary": {"DBInstanceIdentifier": "maratron-prod-db"},
        "replica-a": {"DBInstanceIdentifier": "maratron-prod-db-replica-a"},
        "001": {"CacheClusterId": "maratron-prod-redis-001"},
        "waf": {"WebACL": "maratron-prod-waf", "Region": "us-east-1", "Rule": "ALL"},
        "backup": {"Database": "maratron-prod-db"},
        "replication": {"SourceBucket": "maratron-prod-backups-src",
                        "DestinationBucket": "maratron-prod-backups-dr-dst", "RuleId": "dr"},
        "drill": {"Environment": "prod"},
        "cdn": {"DistributionId": "EDFDVBD6EXAMPLE", "Region": "Global"},
        "function": {"FunctionName": "maratron-prod-db-admin"},
        "redeploy": {"StateMachineArn": REDEPLOY_MACHINE},
        "redeploy-rule": {"RuleName": "maratron-prod-secret-redeploy-web"},
    }


REDEPLOY_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:maratron-prod-secret-redeploy"
"""The full watch set's secret-redeploy workflow (tests/programs/observability_full.py)."""


# suffix, namespace, metric, statistic, dimensions, threshold (CloudWatch units), comparison, period, evaluation
# periods, datapoints to alarm, treat missing data. Prod thresholds are the schema defaults.
GT, GE, LT = "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold"
SINGLE_METRIC_ALARMS: list[tuple[str, str, str, str, str, float, str, int, int, int, str]] = [
    ("tg-web-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", "tg", 10, GT, 300, 1, 1,
     "notBreaching"),
    ("tg-web-unhealthy-hosts", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", "tg", 1, GE, 60, 3, 3,
     "notBreaching"),
    ("ecs-web-cpu", "AWS/ECS", "CPUUtilization", "Average", "web", 80, GT, 300, 3, 3, "notBreaching"),
    ("ecs-ai-memory", "AWS/ECS", "MemoryUtilization", "Maximum", "ai", 85, GT, 300, 3, 3, "notBreaching"),
    ("db-primary-cpu", "AWS/RDS", "CPUUtilization", "Average", "primary", 80, GT, 300, 3, 3, "notBreaching"),
    ("db-primary-free-storage", "AWS/RDS", "FreeStorageSpace", "Minimum", "primary", 10 * GIB, LT, 300, 2, 2,
     "breaching"),
    ("db-primary-freeable-memory", "AWS/RDS", "FreeableMemory", "Minimum", "primary", 256 * MIB, LT, 300, 3, 3,
     "notBreaching"),
    ("db-primary-connections", "AWS/RDS", "DatabaseConnections", "Maximum", "primary", 80, GT, 300, 2, 2,
     "notBreaching"),
    ("db-primary-read-latency", "AWS/RDS", "ReadLatency", "Average", "primary", 0.02, GT, 300, 3, 3, "notBreaching"),
    ("db-primary-write-latency", "AWS/RDS", "WriteLatency", "Average", "primary", 0.02, GT, 300, 3, 3,
     "notBreaching"),
    ("db-replica-a-replica-lag", "AWS/RDS", "ReplicaLag", "Maximum", "replica-a", 120, GT, 60, 5, 5, "breaching"),
    ("db-replica-a-cpu", "AWS/RDS", "CPUUtilization", "Average", "replica-a", 80, GT, 300, 3, 3, "notBreaching"),
    ("cache-001-engine-cpu", "AWS/ElastiCache", "EngineCPUUtilization", "Average", "001", 80, GT, 300, 3, 3,
     "notBreaching"),
    ("cache-001-memory", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Average", "001", 85, GT, 300, 3, 3,
     "notBreaching"),
    ("cache-001-evictions", "AWS/ElastiCache", "Evictions", "Sum", "001", 100, GT, 300, 1, 1, "notBreaching"),
    ("cache-001-replication-lag", "AWS/ElastiCache", "ReplicationLag", "Maximum", "001", 30, GT, 60, 5, 5,
     "notBreaching"),
    ("waf-blocked-requests", "AWS/WAFV2", "BlockedRequests", "Sum", "waf", 1000, GT, 300, 1, 1, "notBreaching"),
    ("backup-missing", "maratron-prod/backup", "BackupSucceeded", "Sum", "backup", 1, LT, 3600, 7, 7, "breaching"),
    # S3 user guide: "Treat missing data as ignore (maintain the alarm state)": the metric is absent between failures.
    ("s3-backups-replication-failed", "AWS/S3", "OperationsFailedReplication", "Sum", "replication", 0, GT, 300, 1, 1,
     "ignore"),
    # A daily drill plus three hours of grace: 27 hourly periods, allowed because periods of an hour may span 7 days.
    ("restore-drill-missing", "maratron-prod/restore-drill", "RestoreDrillSucceeded", "Sum", "drill", 1, LT, 3600, 27,
     27, "breaching"),
    ("dr-dump-stale", "maratron-prod/restore-drill", "ReplicatedDumpAgeHours", "Maximum", "drill", 10, GT, 3600, 24,
     1, "notBreaching"),
    # A failed rotation leaves the old value in place and is retried by Secrets Manager: only this alarm tells.
    ("lambda-db-admin-errors", "AWS/Lambda", "Errors", "Sum", "function", 0, GT, 300, 1, 1, "notBreaching"),
    # A redeploy that failed leaves the tasks on the old secret values (and, with alternating users, a rotation
    # later unable to log in): its execution failed, or EventBridge could not start it.
    ("redeploy-failed", "AWS/States", "ExecutionsFailed", "Sum", "redeploy", 0, GT, 300, 1, 1, "notBreaching"),
    ("redeploy-web-not-started", "AWS/Events", "FailedInvocations", "Sum", "redeploy-rule", 0, GT, 300, 1, 1,
     "notBreaching"),
]


@pytest.mark.parametrize("row", SINGLE_METRIC_ALARMS, ids=[r[0] for r in SINGLE_METRIC_ALARMS])
def test_single_metric_alarm(full: StackRun, row: tuple[Any, ...]) -> None:
    suffix, namespace, metric, statistic, dims_key, threshold, comparison, period, evaluations, to_alarm, missing = row
    alarm = alarms(full)[suffix].inputs
    assert (alarm["namespace"], alarm["metricName"]) == (namespace, metric)
    assert alarm["statistic"] == statistic and "extendedStatistic" not in alarm
    assert alarm["dimensions"] == dims(full)[dims_key]
    assert alarm["threshold"] == pytest.approx(threshold)
    assert alarm["comparisonOperator"] == comparison
    assert (alarm["period"], alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (period, evaluations, to_alarm)
    assert alarm["treatMissingData"] == missing
    assert "metricQueries" not in alarm


def test_every_alarm_notifies_the_topic_on_alarm_and_ok_and_is_named_after_its_kind(full: StackRun) -> None:
    topic_arn = full.one(TOPIC).outputs["arn"]
    found = alarms(full)
    # 3 ALB + its certificate + 2 target group + 2 × 3 ECS + 6 + 2 × 6 RDS + 2 × 4 Redis + WAF + 2 CDN + backup
    # + replication + 2 drill + AMP + a credentials function + the redeploy workflow and its one rule + the failed
    # deliveries of the three rules to the topic (deployments, RDS events, the drill)
    assert len(found) == 53
    for suffix, alarm in found.items():
        assert alarm.inputs["alarmActions"] == [topic_arn] and alarm.inputs["okActions"] == [topic_arn], suffix
        assert "insufficientDataActions" not in alarm.inputs
        assert alarm.inputs["name"] == f"maratron-prod-{suffix}"
        assert alarm.inputs["tags"]["environment"] == "prod" and alarm.inputs["tags"]["Name"] == alarm.inputs["name"]
        assert alarm.inputs["treatMissingData"] in alarm.inputs["alarmDescription"]
    assert sorted(full.outputs["alarmNames"]) == sorted(a.inputs["name"] for a in found.values())
    # Every kind of the catalog (and so every row of the docs/monitoring.md table) is exercised by the full watch set.
    labels = ("", "web", "ai", "primary", "replica-a", "replica-b", "001", "002", "backups", "db-admin",
              "database-events", "alb")
    for kind in ALARM_KINDS:
        assert any(kind.key.format(label=label) in found for label in labels), kind.key


def test_every_rule_to_the_topic_has_an_alarm_on_its_failed_deliveries(full: StackRun, prod: StackRun) -> None:
    """A delivery SNS or the alert key refuses is dropped after EventBridge's retries; FailedInvocations (RuleName)
    is its only trace, so each rule that feeds the topic is watched, by an alarm that reaches the topic through
    CloudWatch's own grant."""
    for run in (full, prod):
        topic = run.one(TOPIC).outputs["arn"]
        rules = {r.urn: r.inputs["name"] for r in run.of_type("aws:cloudwatch/eventRule:EventRule")}
        targets = [t for t in run.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.inputs["arn"] == topic]
        feeding = sorted(rules[t.parent] for t in targets)
        # ... and a target starts delivering once the topic's policy admits EventBridge
        policy = next(p.urn for p in run.of_type("aws:sns/topicPolicy:TopicPolicy") if p.inputs["arn"] == topic)
        assert all(policy in t.dependencies for t in targets), run.stack
        watched = sorted(a.inputs["dimensions"]["RuleName"] for a in run.of_type(ALARM)
                         if a.inputs.get("metricName") == "FailedInvocations" and a.inputs["name"].endswith(
                             "-undelivered"))
        assert feeding and watched == feeding, (run.stack, feeding, watched)
    assert len(feeding) == 3  # prod: failed deployments, RDS events, failed drills


def metric_queries(alarm: Resource) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in alarm.inputs["metricQueries"]}


def test_alb_5xx_rate_is_metric_math_over_5xx_and_request_counts(full: StackRun) -> None:
    alarm = alarms(full)["alb-5xx-rate"]
    queries = metric_queries(alarm)
    assert queries["rate"] == {"id": "rate", "expression": "IF(requests >= 10, 100 * FILL(errors, 0) / requests, 0)",
                               "label": "ALB 5xx rate (%)", "returnData": True}
    for id_, metric in (("errors", "HTTPCode_ELB_5XX_Count"), ("requests", "RequestCount")):
        assert queries[id_]["returnData"] is False
        assert queries[id_]["metric"] == {"namespace": "AWS/ApplicationELB", "metricName": metric, "stat": "Sum",
                                          "period": 60, "dimensions": dims(full)["lb"]}
    inputs = alarm.inputs
    assert (inputs["threshold"], inputs["comparisonOperator"]) == (1, GT)
    assert (inputs["evaluationPeriods"], inputs["datapointsToAlarm"], inputs["treatMissingData"]) == \
        (5, 3, "notBreaching")
    assert not {"metricName", "namespace", "statistic", "period", "dimensions"} & set(inputs)


def test_the_proxy_pool_is_watched_before_it_is_full(full: StackRun, run_variant: Callable[..., StackRun]) -> None:
    """Behind RDS Proxy the primary's connections pass MaxConnectionsPercent of max_connections only once the pool is
    full (the proxy holds at most that many): the pool has its own alarm, a share of its cap summed over its nodes."""
    alarm = alarms(full)["db-proxy-pool"]
    queries = metric_queries(alarm)
    assert queries["pool"] == {"id": "pool", "expression": "IF(allowed > 0, 100 * connections / allowed, 0)",
                               "label": "RDS Proxy pool (% of cap)", "returnData": True}
    for id_, metric in (("connections", "DatabaseConnections"), ("allowed", "MaxDatabaseConnectionsAllowed")):
        assert queries[id_]["metric"] == {"namespace": "AWS/RDS", "metricName": metric, "stat": "Sum", "period": 300,
                                          "dimensions": {"ProxyName": "maratron-prod-db-proxy"}}
    assert (alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]) == (80, GT)
    # The stacks wire it from the Database component: prod has a proxy (the alarm names it), dev has none (no alarm).
    prod, dev = run_variant("prod"), run_variant("dev")
    proxy = prod.one("aws:rds/proxy:Proxy")
    wired = next(a for a in prod.of_type(ALARM) if a.name == "observability-db-proxy-pool")
    assert {q["metric"]["dimensions"]["ProxyName"] for q in wired.inputs["metricQueries"] if "metric" in q} == {
        proxy.inputs["name"]}
    assert not dev.of_type("aws:rds/proxy:Proxy")
    assert not [a for a in dev.of_type(ALARM) if a.name == "observability-db-proxy-pool"]


def test_cdn_5xx_rate_is_cloudfronts_rate_gated_by_a_request_floor(full: StackRun) -> None:
    alarm = alarms(full)["cdn-5xx-rate"]
    queries = metric_queries(alarm)
    assert queries["gated"] == {"id": "gated", "expression": "IF(requests >= 10, FILL(rate, 0), 0)",
                                "label": "CloudFront 5xx rate (%)", "returnData": True}
    for id_, metric, stat in (("rate", "5xxErrorRate", "Average"), ("requests", "Requests", "Sum")):
        assert queries[id_]["returnData"] is False
        assert queries[id_]["metric"] == {"namespace": "AWS/CloudFront", "metricName": metric, "stat": stat,
                                          "period": 60, "dimensions": dims(full)["cdn"]}
    assert (alarm.inputs["threshold"], alarm.inputs["evaluationPeriods"], alarm.inputs["datapointsToAlarm"]) == \
        (1, 5, 3)


LATENCY_ALARMS = [  # suffix, dimensions, metric, percentile, threshold, datapoints to alarm, gating expression
    ("alb-p95-latency", "lb", ("AWS/ApplicationELB", "TargetResponseTime"), "p95", 1.5, 2,
     "IF(samples >= 200, latency, 0)"),
    ("alb-p99-latency", "lb", ("AWS/ApplicationELB", "TargetResponseTime"), "p99", 4.0, 3,
     "IF(samples >= 1000, latency, 0)"),
    ("cdn-origin-latency", "cdn", ("AWS/CloudFront", "OriginLatency"), "p95", 2000, 2,
     "IF(samples >= 200, latency, 0)"),
]


@pytest.mark.parametrize("row", LATENCY_ALARMS, ids=[r[0] for r in LATENCY_ALARMS])
def test_latency_percentiles_count_only_periods_with_enough_samples(full: StackRun, row: tuple[Any, ...]) -> None:
    """CloudWatch calls a percentile significant from 10/(1-p) samples in the period. Below that the alarm reads 0
    (OK), in metric math: a percentile alarm's own `ignore` would freeze its state (raised all night, or
    INSUFFICIENT_DATA for good on a quiet stack) and `evaluate` would page on a handful of slow requests."""
    suffix, dims_key, (namespace, metric), percentile, threshold, to_alarm, expression = row
    alarm = alarms(full)[suffix]
    queries = metric_queries(alarm)
    assert queries["gated"] == {"id": "gated", "expression": expression, "returnData": True,
                                "label": queries["gated"]["label"]}
    assert queries["latency"]["metric"] == {"namespace": namespace, "metricName": metric, "stat": percentile,
                                            "period": 300, "dimensions": dims(full)[dims_key]}
    # the gate counts the same metric's samples (its SampleCount), never another metric's
    assert queries["samples"]["returnData"] is False
    assert queries["samples"]["metric"] == {"namespace": namespace, "metricName": metric, "stat": "SampleCount",
                                            "period": 300, "dimensions": dims(full)[dims_key]}
    assert set(queries) == {"gated", "latency", "samples"}
    inputs = alarm.inputs
    assert (inputs["threshold"], inputs["comparisonOperator"]) == (pytest.approx(threshold), GT)
    assert (inputs["evaluationPeriods"], inputs["datapointsToAlarm"], inputs["treatMissingData"]) == \
        (3, to_alarm, "notBreaching")
    assert not {"metricName", "namespace", "extendedStatistic", "evaluateLowSampleCountPercentiles"} & set(inputs)
    # Once a single-metric alarm with evaluateLowSampleCountPercentiles (Optional+Computed: an in-place update keeps
    # sending it), so a change of its queries replaces it.
    assert alarm.replace_on_changes == ["metricQueries"]


def test_the_sample_floor_is_cloudwatchs_significance_rule() -> None:
    from components.alarm_catalog import sample_floor

    assert [sample_floor(p) for p in ("p50", "p90", "p95", "p99", "p99.9")] == [20, 100, 200, 1000, 10000]
    for outside in ("p40", "p100"):
        with pytest.raises(ValueError, match=outside):
            sample_floor(outside)


def test_no_alarm_of_any_stack_is_a_single_metric_percentile(any_stack: StackRun) -> None:
    found = [a.name for a in any_stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
             if "extendedStatistic" in a.inputs or "evaluateLowSampleCountPercentiles" in a.inputs]
    assert found == []


def test_the_proxy_pool_widget_sums_one_minute_readings(full: StackRun) -> None:
    """RDS Proxy reports DatabaseConnections and MaxDatabaseConnectionsAllowed every minute: a 5-minute Sum reads five
    times the count (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.monitoring.html)."""
    body = json.loads(full.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    [widget] = [w for w in body["widgets"] if w["type"] == "metric" and
                w["properties"].get("title") == "Proxy pool (connections)"]
    assert (widget["properties"]["stat"], widget["properties"]["period"]) == ("Sum", 60)


def test_cdn_dashboard_widgets_read_us_east_1(full: StackRun) -> None:
    body = json.loads(full.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    cdn = [w for w in body["widgets"] if w["type"] == "metric" and
           any(m[0] == "AWS/CloudFront" for m in w["properties"]["metrics"])]
    assert sorted(w["properties"]["title"] for w in cdn) == [
        "Bytes downloaded", "Cache hit rate (%)", "Error rates (%)", "Origin latency (ms)", "Requests"]
    assert all(w["properties"]["region"] == "us-east-1" for w in cdn)


def test_without_additional_metrics_there_is_no_origin_latency_alarm() -> None:
    program = ROOT / "build" / "test-programs" / "observability-cdn-basic" / "__main__.py"
    program.parent.mkdir(parents=True, exist_ok=True)
    program.write_text(PROGRAM.read_text().replace("additional_metrics=True", "additional_metrics=False"))
    config, secret_keys, _ = merged_stack_config("prod")
    run = run_program("prod", config, secret_keys, program=program)
    assert run.ok, run.error_details
    found = alarms(run)
    assert "cdn-5xx-rate" in found and "cdn-origin-latency" not in found


def test_running_tasks_alarm_is_desired_minus_running_from_container_insights(full: StackRun) -> None:
    alarm = alarms(full)["ecs-web-running-tasks"]
    queries = metric_queries(alarm)
    assert queries["shortfall"]["expression"] == "desired - running" and queries["shortfall"]["returnData"] is True
    for id_, metric in (("desired", "DesiredTaskCount"), ("running", "RunningTaskCount")):
        assert queries[id_]["metric"] == {"namespace": "ECS/ContainerInsights", "metricName": metric,
                                          "stat": "Average", "period": 60, "dimensions": dims(full)["web"]}
    assert (alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]) == (0, GT)
    assert (alarm.inputs["evaluationPeriods"], alarm.inputs["datapointsToAlarm"]) == (5, 5)
    assert alarm.inputs["treatMissingData"] == "breaching"


def test_thresholds_follow_each_environments_config() -> None:
    prod, dev = alarms(watched("prod")), alarms(watched("dev"))

    def threshold(found: dict[str, Resource], suffix: str) -> float:
        return float(found[suffix].inputs["threshold"])

    # Set in Pulumi.dev.yaml ...
    assert (threshold(prod, "alb-5xx-rate"), threshold(dev, "alb-5xx-rate")) == (1, 5)
    assert (threshold(prod, "alb-p95-latency"), threshold(dev, "alb-p95-latency")) == (1.5, 3.0)
    assert (threshold(prod, "alb-p99-latency"), threshold(dev, "alb-p99-latency")) == (4.0, 8.0)
    assert (threshold(prod, "ecs-web-cpu"), threshold(dev, "ecs-web-cpu")) == (80, 90)
    assert (threshold(prod, "cache-002-engine-cpu"), threshold(dev, "cache-002-engine-cpu")) == (80, 90)
    assert (threshold(prod, "db-primary-free-storage"), threshold(dev, "db-primary-free-storage")) == \
        (10 * GIB, 2 * GIB)
    assert (threshold(prod, "db-replica-b-replica-lag"), threshold(dev, "db-replica-b-replica-lag")) == (120, 300)
    # Redis has its own: its ReplicationLag has no idle floor (Z23).
    assert (threshold(prod, "cache-002-replication-lag"), threshold(dev, "cache-002-replication-lag")) == (30, 300)
    # ... and the schema default where dev sets nothing.
    assert threshold(prod, "waf-blocked-requests") == threshold(dev, "waf-blocked-requests") == 1000
    assert dev["ecs-web-cpu"].inputs["name"] == "maratron-dev-ecs-web-cpu"


def test_alarms_only_for_what_is_watched() -> None:
    found = alarms(watched("prod", "minimal"))
    assert sorted(found) == sorted([*(f"db-primary-{k}" for k in (
        "cpu", "free-storage", "freeable-memory", "connections", "read-latency", "write-latency")),
        "events-database-events-undelivered"])  # the RDS event rule's failed deliveries
    assert not any("replica-lag" in s for s in found)


def test_the_stack_watches_every_box_and_alarms_go_to_the_topic(any_stack: StackRun) -> None:
    stack_prefix = f"maratron-{any_stack.stack}"
    instances = {r.inputs["identifier"]: r for r in any_stack.of_type("aws:rds/instance:Instance")}
    replicas = sorted(i.removeprefix(f"{stack_prefix}-db-") for i in instances if "-replica-" in i)
    members = {"dev": 1, "staging": 2, "prod": 3}[any_stack.stack]
    expected = [
        *(f"alb-{k}" for k in ("5xx-rate", "p95-latency", "p99-latency")),
        # the listener's certificate (in us-east-1 the CDN uses the same one: no second alarm)
        "certificate-alb-expiry",
        "tg-web-5xx", "tg-web-unhealthy-hosts",
        # dev runs without Container Insights (Pulumi.dev.yaml): no task counts, so no running-task alarm
        *(f"ecs-{service}-{k}" for service in ("web", "ai") for k in ("cpu", "memory", "running-tasks")
          if k != "running-tasks" or any_stack.stack != "dev"),
        # each EventBridge rule to the alert topic: its deliveries that failed for good
        "events-ecs-deployment-failed-undelivered",
        *(f"db-primary-{k}" for k in ("cpu", "free-storage", "freeable-memory", "read-latency", "connections",
                                      "write-latency")),
        *(f"db-{label}-{k}" for label in replicas for k in ("cpu", "free-storage", "freeable-memory",
                                                            "read-latency", "connections", "replica-lag")),
        # the proxy's pool, where the app goes through RDS Proxy (dev connects directly)
        *(("db-proxy-pool",) if any_stack.config.get("maratron:dbProxyEnabled") != "false" else ()),
        "events-database-events-undelivered",
        # replication lag only where the group has replicas (dev's one node never reports it)
        *(f"cache-{n:03d}-{k}" for n in range(1, members + 1)
          for k in ("engine-cpu", "memory", "evictions", "replication-lag") if k != "replication-lag" or members > 1),
        "waf-blocked-requests",
        *(("cdn-5xx-rate", "cdn-origin-latency") if any_stack.config.get("maratron:cdnEnabled") != "false" else ()),
        "backup-missing",
        # With a DR region (prod): a failure alarm per replicated bucket, the drill's missing and stale-copy alarms.
        *(("s3-backups-replication-failed", "s3-archive-replication-failed", "restore-drill-missing",
           "dr-dump-stale") if any_stack.stack == "prod" else ()),
        # every error of the credentials functions (bootstrap, rotations)
        "lambda-db-admin-errors", "lambda-redis-rotation-errors",
        # a redeploy after a secret change that failed or never started (one rule per service)
        "redeploy-failed", "redeploy-ai-not-started", "redeploy-web-not-started",
        *(("events-restore-drill-failed-undelivered",) if any_stack.stack == "prod" else ()),
        # the metrics workspace's alert deliveries, where app metrics are on (dev opts out)
        *(["amp-alert-delivery-failed"] if any_stack.stack != "dev" else []),
    ]
    assert any_stack.outputs["alarmNames"] == [f"{stack_prefix}-{name}" for name in expected]
    # ACM publishes DaysToExpiry per certificate, daily: a new certificate has no point yet, so silence keeps the state
    expiry = any_stack.one(ALARM, "observability-certificate-alb-expiry").inputs
    assert (expiry["namespace"], expiry["metricName"], expiry["statistic"], expiry["period"]) == (
        "AWS/CertificateManager", "DaysToExpiry", "Minimum", 86400)
    assert expiry["dimensions"] == {"CertificateArn": any_stack.outputs["certificateArn"]}
    assert (expiry["comparisonOperator"], expiry["threshold"], expiry["treatMissingData"]) == (
        "LessThanThreshold", 45, "missing")
    assert len(replicas) == {"dev": 0, "staging": 1, "prod": 2}[any_stack.stack]

    dimensions = {a.inputs["name"]: a.inputs.get("dimensions") for a in any_stack.of_type(ALARM)}
    for label in ["primary", *replicas]:
        assert dimensions[f"{stack_prefix}-db-{label}-cpu"]["DBInstanceIdentifier"] in instances
    alb = any_stack.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]
    tg = any_stack.one("aws:lb/targetGroup:TargetGroup").outputs["arnSuffix"]
    assert dimensions[f"{stack_prefix}-tg-web-unhealthy-hosts"] == {"TargetGroup": tg, "LoadBalancer": alb}
    # A CLOUDFRONT-scope ACL's metrics carry no Region dimension; a REGIONAL one's do.
    cdn = any_stack.config.get("maratron:cdnEnabled") != "false"
    assert dimensions[f"{stack_prefix}-waf-blocked-requests"] == {
        "WebACL": stack_prefix, "Rule": "ALL", **({} if cdn else {"Region": "us-east-1"})}
    cluster = any_stack.one("aws:ecs/cluster:Cluster").outputs["name"]
    web = any_stack.one("aws:ecs/service:Service", "web").outputs["name"]
    assert dimensions[f"{stack_prefix}-ecs-web-cpu"] == {"ClusterName": cluster, "ServiceName": web}
    assert dimensions[f"{stack_prefix}-cache-001-engine-cpu"] == {"CacheClusterId": f"{stack_prefix}-redis-001"}
    # The backup job publishes with Environment=<env> (ops/backup/backup.sh); the alarm must watch exactly that.
    assert dimensions[f"{stack_prefix}-backup-missing"] == {"Environment": any_stack.config["maratron:environment"]}
    if any_stack.stack == "prod":  # the drill publishes with Environment=<env> too (ops/backup/restore_drill.sh)
        assert dimensions[f"{stack_prefix}-restore-drill-missing"] == {"Environment": "prod"}
        buckets = {b.name: b.outputs["bucket"] for b in any_stack.of_type("aws:s3/bucket:Bucket")}
        assert dimensions[f"{stack_prefix}-s3-backups-replication-failed"] == {
            "SourceBucket": buckets["storage-backups"], "DestinationBucket": buckets["dr-backups"], "RuleId": "dr"}
    topic = any_stack.one(TOPIC)
    assert topic.inputs["kmsMasterKeyId"] == any_stack.one("aws:kms/key:Key", "keys-alerts").outputs["arn"]
    # Every alarm pages through the topic, except the database's routing alarms (a Route 53 health check reads them;
    # the replica-lag alarm above pages for the same replica).
    routing = routing_alarms(any_stack)
    assert len(routing) == sum(1 for r in any_stack.of_type("aws:rds/instance:Instance")
                               if r.inputs.get("replicateSourceDb"))
    assert all(a.inputs["alarmActions"] == [topic.outputs["arn"]] for a in any_stack.of_type(ALARM)
               if a.urn not in routing)
    assert any_stack.outputs["alertTopicArn"] == topic.outputs["arn"]
    assert any_stack.outputs["dashboardName"] == stack_prefix


def test_topic_is_encrypted_and_only_this_accounts_alarms_and_rules_publish_over_tls(full: StackRun) -> None:
    topic = full.one(TOPIC)
    assert topic.inputs["kmsMasterKeyId"] == full.one("aws:kms/key:Key", "logs").outputs["arn"]
    assert topic.inputs["name"] == "maratron-prod-alerts"
    policy_resource = full.one("aws:sns/topicPolicy:TopicPolicy")
    assert policy_resource.inputs["arn"] == topic.outputs["arn"]
    statements = {s["Sid"]: s for s in json.loads(policy_resource.inputs["policy"])["Statement"]}
    assert list(statements) == ["AllowCloudWatchAlarmsOfThisAccount", "AllowEventBridgeRulesOfThisAccount",
                                "AllowPrometheusAlertManagerOfThisWorkspace", "AllowBudgetsOfThisAccount",
                                "DenyInsecureTransport"]
    for sid, service, source in (
            ("AllowCloudWatchAlarmsOfThisAccount", "cloudwatch", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*"),
            ("AllowEventBridgeRulesOfThisAccount", "events", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/*")):
        statement = statements[sid]
        assert statement["Effect"] == "Allow" and statement["Action"] == "sns:Publish"
        assert statement["Principal"] == {"Service": f"{service}.amazonaws.com"}
        assert statement["Resource"] == topic.outputs["arn"]
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                                          "ArnLike": {"aws:SourceArn": source}}
    deny = statements["DenyInsecureTransport"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sns:Publish")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # A publisher the stack adds (the AMP alert manager) may publish for its one workspace of this account only.
    amp = statements["AllowPrometheusAlertManagerOfThisWorkspace"]
    workspace = f"arn:aws:aps:us-east-1:{ACCOUNT}:workspace/ws-0123abcd-4567-89ab-cdef-0123456789ab"
    assert (amp["Effect"], amp["Principal"], amp["Action"]) == (
        "Allow", {"Service": "aps.amazonaws.com"}, ["sns:Publish", "sns:GetTopicAttributes"])
    assert amp["Resource"] == topic.outputs["arn"]
    assert amp["Condition"] == {"ArnEquals": {"aws:SourceArn": workspace},
                                "StringEquals": {"aws:SourceAccount": ACCOUNT}}
    # AWS Budgets: the Budgets guide's statement (budgets-sns-policy): this account's budgets only.
    budgets = statements["AllowBudgetsOfThisAccount"]
    assert (budgets["Effect"], budgets["Principal"], budgets["Action"], budgets["Resource"]) == (
        "Allow", {"Service": "budgets.amazonaws.com"}, ["sns:Publish"], topic.outputs["arn"])
    assert budgets["Condition"] == {"ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{ACCOUNT}:*"},
                                    "StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_prometheus_alert_deliveries_that_fail_raise_an_alarm(full: StackRun) -> None:
    alarm = alarms(full)["amp-alert-delivery-failed"]
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/Prometheus",
                                                                      "AlertManagerNotificationsFailed")
    assert alarm.inputs["dimensions"] == {"Workspace": "ws-0123abcd-4567-89ab-cdef-0123456789ab"}
    assert (alarm.inputs["statistic"], alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == (
        "Sum", "GreaterThanThreshold", 0)
    assert (alarm.inputs["period"], alarm.inputs["evaluationPeriods"]) == (300, 1)
    assert alarm.inputs["treatMissingData"] == "notBreaching"
    # Without a workspace to watch there is no such alarm.
    assert "amp-alert-delivery-failed" not in alarms(watched("prod", "minimal"))


def test_the_alerts_key_admits_alarms_and_eventbridge_the_way_sns_documents(prod: StackRun) -> None:
    policy = json.loads(prod.one("aws:kms/key:Key", "keys-alerts").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    alarms, events = statements["CloudWatchAlarmsPublishToEncryptedTopic"], statements[
        "EventBridgePublishesToEncryptedTopic"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                                   "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*"}}
    # "Adding the aws:SourceAccount, aws:SourceArn, and aws:SourceOrgID to a AWS KMS policy is not supported for
    # EventBridge-to-encrypted topics" (SNS developer guide): EventBridge's statement has no condition ...
    assert events["Principal"] == {"Service": "events.amazonaws.com"} and "Condition" not in events
    for statement in (alarms, events):
        assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    # ... which is why the topic has its own key: the logs key admits CloudWatch Logs (and, behind prod's CDN, the
    # vended delivery of CloudFront's access logs), each under its condition, and no EventBridge.
    logs = json.loads(prod.one("aws:kms/key:Key", "keys-logs").inputs["policy"])["Statement"]
    assert [s["Sid"] for s in logs] == ["EnableIamPoliciesOfThisAccount", "AllowCloudWatchLogs",
                                        "AllowVendedLogDeliveryOfCdnAccessLogs"]
    assert all("Condition" in s for s in logs[1:])
    assert prod.outputs["kmsKeyArns"][-1] == prod.one("aws:kms/key:Key", "keys-alerts").outputs["arn"]


BUDGET_LIMITS = {"dev": "150", "staging": "500", "prod": "1800"}
"""Pulumi.<stack>.yaml's costBudgetUsd: dev the project's $150 target, staging and prod ~10% above their modelled
totals (README figures)."""


def test_each_stack_has_a_monthly_cost_budget_on_its_stack_tag_notifying_the_alert_topic(any_stack: StackRun) -> None:
    budget = any_stack.one("aws:budgets/budget:Budget")
    topic = any_stack.one(TOPIC)
    stack = any_stack.stack
    assert budget.inputs["name"] == f"maratron-{stack}-monthly-cost"
    assert (budget.inputs["budgetType"], budget.inputs["limitAmount"], budget.inputs["limitUnit"],
            budget.inputs["timeUnit"]) == ("COST", BUDGET_LIMITS[stack], "USD", "MONTHLY")
    # One exact scope in both layouts: the stack's cost allocation tag (the account may hold other stacks).
    assert budget.inputs["costFilters"] == [{"name": "TagKeyValue", "values": [f"user:stack${stack}"]}]
    assert all(r.inputs.get("tags", {}).get("stack") == stack for r in any_stack.of_type(TOPIC))
    assert budget.inputs["notifications"] == [
        {"notificationType": kind, "comparisonOperator": "GREATER_THAN", "threshold": 100,
         "thresholdType": "PERCENTAGE", "subscriberSnsTopicArns": [topic.outputs["arn"]]}
        for kind in ("FORECASTED", "ACTUAL")]
    assert "accountId" not in budget.inputs  # the provider's account: the environment's, pinned by the foundation
    # Created once the topic's policy and key admit Budgets (a refused notice is not retried).
    key = any_stack.one("aws:kms/key:Key", "keys-alerts")
    assert {any_stack.one("aws:sns/topicPolicy:TopicPolicy", "observability-alerts").urn, key.urn} <= set(
        budget.dependencies)
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    grant = statements["AllowBudgetsToEncryptedAlertTopic"]
    assert grant["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert set(grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert grant["Condition"] == {"StringEquals": {
        "kms:EncryptionContext:aws:sns:topicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:maratron-{stack}-alerts"}}


def test_cost_budget_limits_stay_above_the_cost_model_and_dev_within_its_target(any_stack: StackRun) -> None:
    total = cost.estimate(any_stack).total()
    limit = float(any_stack.one("aws:budgets/budget:Budget").inputs["limitAmount"])
    assert total <= limit, f"{any_stack.stack}: modelled ${total:.2f} is over its costBudgetUsd {limit}"
    if any_stack.stack == "dev":
        assert limit <= cost.DEV_TOTAL_TARGET_USD


def test_email_subscriptions_come_from_config(prod: StackRun, staging: StackRun, dev: StackRun) -> None:
    def emails(run: StackRun) -> list[str]:
        subscriptions = run.of_type("aws:sns/topicSubscription:TopicSubscription")
        assert all(s.inputs["protocol"] == "email" and s.inputs["topic"] == run.one(TOPIC).outputs["arn"]
                   for s in subscriptions)
        return [s.inputs["endpoint"] for s in subscriptions]

    assert emails(prod) == ["oncall@maratron.example.com"]
    assert emails(staging) == ["platform-team@maratron.example.com"]
    assert emails(dev) == []


def dashboard(run: StackRun) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(run.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    return body


def test_dashboard_has_a_row_per_watched_tier_referencing_the_watched_resources(full: StackRun) -> None:
    widgets = dashboard(full)["widgets"]
    assert full.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardName"] == "maratron-prod"
    headers = [w["properties"]["markdown"] for w in widgets if w["type"] == "text"]
    assert headers == ["## Edge (ALB)", "## Services (ECS)", "## Database (RDS PostgreSQL)",
                       "## Cache (ElastiCache Redis)", "## WAF", "## Edge (CloudFront)", "## Backups",
                       "## Disaster recovery", "## Credentials", "## App metrics (Prometheus)"]
    status = [w for w in widgets if w["type"] == "alarm"]
    assert len(status) == 1
    assert status[0]["properties"]["alarms"] == [f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{name}"
                                                 for name in full.outputs["alarmNames"]]
    assert sorted(status[0]["properties"]["alarms"]) == sorted(a.outputs["arn"] for a in full.of_type(ALARM))
    metrics = json.dumps([w["properties"]["metrics"] for w in widgets if w["type"] == "metric"])
    for value in (*dims(full)["tg"].values(), "maratron-prod-web", "maratron-prod-ai", "maratron-prod-db",
                  "maratron-prod-db-replica-b", "maratron-prod-redis-002", "maratron-prod-waf", "BackupSucceeded",
                  "AlertManagerNotificationsFailed"):
        assert json.dumps(value) in metrics, value
    for widget in widgets:
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "us-east-1"
    # No two widgets overlap on the 24-column grid.
    cells = [(w["x"] + dx, w["y"] + dy) for w in widgets for dx in range(w["width"]) for dy in range(w["height"])]
    assert len(cells) == len(set(cells)) and all(w["x"] + w["width"] <= 24 for w in widgets)


def test_dashboard_has_widgets_only_for_what_is_watched() -> None:
    widgets = dashboard(watched("prod", "minimal"))["widgets"]
    assert [w["properties"]["markdown"] for w in widgets if w["type"] == "text"] == ["## Database (RDS PostgreSQL)"]
    assert "Replica lag (s)" not in [w["properties"].get("title") for w in widgets]


# --- configuration -------------------------------------------------------------------------------------------------

GOOD = dict(MINIMAL_VALID)


def problems(**changes: str) -> list[str]:
    raw = {**GOOD, **{f"maratron:{k}": v for k, v in changes.items()}}
    found = config_problems(raw)
    assert found, "the configuration loads: expected problems"
    return found


@pytest.mark.parametrize(("changes", "expected"), [
    ({"alertEmails": '["oncall@"]'},
     "maratron:alertEmails = [\"oncall@\"]: 'oncall@': must be an email address such as oncall@maratron.example.com"),
    ({"alertEmails": '["a@example.com", "a@example.com"]'},
     'maratron:alertEmails = ["a@example.com", "a@example.com"]: must not repeat an entry'),
    ({"alertEmails": '"oncall@example.com"'}, "maratron:alertEmails = \"\\\"oncall@example.com\\\"\": "
                                              "must be a list of strings"),
    ({"environment": "prod", "natGateways": "perAz"},
     "maratron:alertEmails = []: prod needs at least one address: an alarm nobody receives is no alarm"),
    ({"alarmCpuPercent": "-5"}, "maratron:alarmCpuPercent = -5: must be between 1 and 100"),
    ({"alarmAlb5xxRatePercent": "0"}, "maratron:alarmAlb5xxRatePercent = 0: must be between 1 and 100"),
    ({"alarmMemoryPercent": "150"}, "maratron:alarmMemoryPercent = 150: must be between 1 and 100"),
    ({"alarmDbFreeStorageGib": "ten"}, "maratron:alarmDbFreeStorageGib = \"ten\": must be an integer"),
    ({"alarmLatencyP95Ms": "5"}, "maratron:alarmLatencyP95Ms = 5: must be between 10 and 60000"),
    ({"alarmLatencyP95Ms": "2000", "alarmLatencyP99Ms": "1000"},
     "maratron:alarmLatencyP99Ms = 1000: must be at least alarmLatencyP95Ms (2000): a p99 is never below the p95"),
    ({"alarmWafBlockedRequests": "0"}, "maratron:alarmWafBlockedRequests = 0: must be between 1 and 10000000"),
    # Z23: staging's 60 and the old default 30 paged on a quiet night (an idle primary's replica reports up to 300 s)
    *(({"alarmReplicaLagSeconds": value}, f"maratron:alarmReplicaLagSeconds = {value}: must be at least 120: RDS "
       "reports up to 300 s of lag on a healthy replica of an idle primary") for value in ("30", "60", "119")),
    ({"alarmCacheReplicationLagSeconds": "0"}, "maratron:alarmCacheReplicationLagSeconds = 0: must be between 1 and "
                                               "86400"),
    ({"costBudgetUsd": "0"}, "maratron:costBudgetUsd = 0: must be between 1 and 1000000"),
    ({"costBudgetUsd": "-150"}, "maratron:costBudgetUsd = -150: must be between 1 and 1000000"),
    ({"costBudgetUsd": "150.5"}, "maratron:costBudgetUsd = \"150.5\": must be an integer"),
])
def test_operations_config_errors(changes: dict[str, str], expected: str) -> None:
    assert any(expected in p for p in problems(**changes)), problems(**changes)


def test_operations_config_is_typed() -> None:
    config = stack_config.load({**GOOD, "maratron:alertEmails": '["oncall@maratron.example.com"]',
                                "maratron:alarmCpuPercent": "70"}, stack="test")
    assert config.alerts.emails == ("oncall@maratron.example.com",)
    assert config.alerts.thresholds == AlarmThresholds(cpu_percent=70)
    # A bad p95 does not also trigger the p99 >= p95 rule.
    assert problems(alarmLatencyP95Ms="x") == ["maratron:alarmLatencyP95Ms = \"x\": must be an integer"]


def test_the_replica_lag_floor_holds_for_the_alarm_it_guards() -> None:
    """REPLICA_LAG_FLOOR_SECONDS relies on the alarm needing every reading of a window at least as long as the idle
    lag's cycle: an idle replica's lag falls back once per cycle, so the window holds a reading below two periods."""
    [kind] = [k for k in ALARM_KINDS if k.key == "db-{label}-replica-lag"]
    assert kind.threshold == "replica_lag_seconds" and kind.comparison == "GreaterThanThreshold"
    assert kind.datapoints_to_alarm == kind.evaluation_periods
    assert kind.period * kind.evaluation_periods >= IDLE_REPLICA_LAG_RESET_SECONDS
    assert 2 * kind.period <= REPLICA_LAG_FLOOR_SECONDS
    assert AlarmThresholds().replica_lag_seconds >= REPLICA_LAG_FLOOR_SECONDS
    assert config_problems({**GOOD, "maratron:alarmReplicaLagSeconds": "120"}) == []


def test_component_defaults_are_the_schema_defaults() -> None:
    # One declaration: every alarm* key of Pulumi.yaml is an AlarmThresholds setting with the same default.
    schema = stack_config.schema_entries()
    declared = {entry.key: entry.default for entry in schema if entry.key.startswith("alarm")}
    defaults = AlarmThresholds()
    assert set(declared) == {field.metadata["maratron.setting"].key for field in dataclasses.fields(defaults)}
    for field in dataclasses.fields(defaults):
        assert declared[field.metadata["maratron.setting"].key] == getattr(defaults, field.name), field.name


def test_catalog_fields_are_keyword_only_and_checked_against_cloudwatch_limits() -> None:
    fields = [f.name for f in dataclasses.fields(AlarmKind)]
    with pytest.raises(TypeError):
        AlarmKind(*["x"] * len(fields))  # type: ignore[misc]  # positional arguments could be swapped silently
    base = dataclasses.asdict(ALARM_KINDS[0])
    with pytest.raises(ValueError, match="datapoints_to_alarm <= evaluation_periods"):
        AlarmKind(**{**base, "evaluation_periods": 2, "datapoints_to_alarm": 3})
    with pytest.raises(ValueError, match="at most one day of sub-hour periods"):
        AlarmKind(**{**base, "period": 300, "evaluation_periods": 289, "datapoints_to_alarm": 1})
    with pytest.raises(ValueError, match="seven days of hourly ones"):
        AlarmKind(**{**base, "period": 3600, "evaluation_periods": 169, "datapoints_to_alarm": 1})
    assert AlarmKind(**{**base, "period": 3600, "evaluation_periods": 168, "datapoints_to_alarm": 1})
    with pytest.raises(ValueError, match="neither a number nor a threshold"):
        AlarmKind(**{**base, "threshold": "cpu_percnt"})


def test_monitoring_page_alarm_table_is_generated_from_the_catalog() -> None:
    from offline import alarmdoc

    page = alarmdoc.PAGE.read_text()
    assert page == alarmdoc.updated(page), "docs/monitoring.md alarm table is stale: run `make docs`"
    assert "| `db-{label}-replica-lag` |" in page and "| > 300 s | > 180 s | > 120 s |" in page


def test_failed_ecs_deployments_of_the_watched_services_reach_the_topic(full: StackRun) -> None:
    rule = full.one("aws:cloudwatch/eventRule:EventRule", "observability-ecs-deployment-failed")
    assert rule.inputs["name"] == "maratron-prod-ecs-deployment-failed"
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Deployment State Change"],
        "detail": {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
        "resources": [f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/maratron-prod/maratron-prod-{service}"
                      for service in ("web", "ai")],
    }
    target = full.one("aws:cloudwatch/eventTarget:EventTarget", "observability-ecs-deployment-failed")
    assert target.inputs["arn"] == full.one(TOPIC).outputs["arn"]
    assert target.inputs["rule"] == rule.outputs["name"]
    assert target.inputs["inputTransformer"]["inputTemplate"] == (
        '{"alert": "ECS deployment <deployment> of <service> failed and was rolled back", "reason": <reason>}')
    assert [r.name for r in watched("prod", "minimal").of_type("aws:cloudwatch/eventRule:EventRule")] == [
        "observability-database-events"]  # no services: no deployment rule


def test_failovers_failures_and_stopped_replication_of_the_watched_instances_reach_the_topic(full: StackRun) -> None:
    rule = full.one("aws:cloudwatch/eventRule:EventRule", "observability-database-events")
    assert rule.inputs["name"] == "maratron-prod-database-events"
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.rds"],
        "detail-type": ["RDS DB Instance Event"],
        "detail": {
            "SourceArn": [f"arn:aws:rds:us-east-1:{ACCOUNT}:db:maratron-prod-db{suffix}"
                          for suffix in ("", "-replica-a", "-replica-b")],
            # Any shared value matches EventBridge's array against the event's EventCategories array.
            "EventCategories": ["failover", "failure", "low storage", "read replica"],
        },
    }
    target = full.one("aws:cloudwatch/eventTarget:EventTarget", "observability-database-events")
    assert target.inputs["arn"] == full.one(TOPIC).outputs["arn"] and target.inputs["rule"] == rule.outputs["name"]
    transformer = target.inputs["inputTransformer"]
    assert transformer["inputPaths"] == {"instance": "$.detail.SourceIdentifier", "event": "$.detail.EventID",
                                         "message": "$.detail.Message"}
    assert transformer["inputTemplate"] == '{"alert": "RDS <instance> (<event>)", "message": <message>}'
    [minimal] = watched("prod", "minimal").of_type("aws:cloudwatch/eventRule:EventRule")
    assert json.loads(minimal.inputs["eventPattern"])["detail"]["SourceArn"] == [
        f"arn:aws:rds:us-east-1:{ACCOUNT}:db:maratron-prod-db"]


def test_the_stacks_watch_their_own_database_instances_events(any_stack: StackRun) -> None:
    rule = any_stack.one("aws:cloudwatch/eventRule:EventRule", "observability-database-events")
    arns = json.loads(rule.inputs["eventPattern"])["detail"]["SourceArn"]
    instances = any_stack.of_type("aws:rds/instance:Instance")
    assert sorted(arns) == sorted(i.outputs["arn"] for i in instances) and instances
    # Names known at preview: the rule is in place before the replicas are created (a failed creation is an event).
    assert not {i.urn for i in instances} & set(rule.dependencies)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: EdgeWatch("app/x/1", {"Web": "targetgroup/x/1"}), "target group label 'Web' must be 1-32 lower-case"),
    (lambda: DatabaseWatch("db", {"primary": "db-r"}, max_connections=100),
     "replica label 'primary' must be 1-32 lower-case letters, digits or dashes other than primary"),
    (lambda: DatabaseWatch("db", max_connections=0), "max_connections must be positive"),
    (lambda: CacheWatch("redis", {"node 1": "redis-001"}), "cache member label 'node 1'"),
    (lambda: BackupWatch("n/backup", interval_hours=0), "interval_hours must be at least 1"),
    (lambda: BackupWatch("n/backup", interval_hours=24, grace_hours=1), "together at most 24"),
    (lambda: RestoreDrillWatch("f", "n/restore-drill", interval_hours=168, grace_hours=1), "together at most 168"),
    (lambda: RestoreDrillWatch("f", "n/restore-drill", interval_hours=0), "interval_hours must be at least 1"),
])
def test_watch_labels_and_values_are_checked(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


@pytest.mark.parametrize("kind", ALARM_KINDS, ids=[k.key for k in ALARM_KINDS])
def test_catalog_respects_cloudwatch_limits(kind: Any) -> None:
    assert kind.period % 60 == 0  # standard-resolution metrics
    assert 1 <= kind.datapoints_to_alarm <= kind.evaluation_periods
    # PutMetricAlarm: at most one day evaluated for periods under an hour, seven days for hourly ones.
    assert kind.period * kind.evaluation_periods <= (604_800 if kind.period >= 3600 else 86_400)
    assert kind.threshold.isdigit() or kind.threshold in AlarmThresholds.__dataclass_fields__
    assert kind.why_missing and kind.summary


def test_metric_query_ids_are_valid(full: StackRun) -> None:
    for alarm in full.of_type(ALARM):
        for query in alarm.inputs.get("metricQueries", []):
            assert re.fullmatch(r"[a-z][A-Za-z0-9_]*", query["id"]), query["id"]
        queries = alarm.inputs.get("metricQueries", [])
        assert not queries or sum(q["returnData"] for q in queries) == 1


def test_a_failed_restore_drill_reaches_the_topic_at_once(full: StackRun) -> None:
    rule = full.one("aws:cloudwatch/eventRule:EventRule", "observability-restore-drill-failed")
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        # Scheduler starts the task without a group: ECS puts it in family:<family>.
        "detail": {"lastStatus": ["STOPPED"], "group": ["family:maratron-prod-restore-drill"],
                   # a failing exit code, or no container ever started (no exit code to match)
                   "$or": [{"containers": {"exitCode": [{"anything-but": 0}]}}, {"stopCode": ["TaskFailedToStart"]}]},
    }
    target = full.one("aws:cloudwatch/eventTarget:EventTarget", "observability-restore-drill-failed")
    assert target.inputs["arn"] == full.one(TOPIC).outputs["arn"] and target.inputs["rule"] == rule.outputs["name"]
    assert target.inputs["inputTransformer"]["inputTemplate"] == (
        '{"alert": "The restore drill <task> failed (see its log group)", "reason": <reason>}')


def test_free_text_in_an_alert_is_a_whole_json_value_so_quotes_in_it_cannot_break_the_message(
        full: StackRun) -> None:
    """EventBridge inserts an input path's value unescaped inside a quoted template string: a stoppedReason like
    `CannotPullContainerError: ... failed to resolve ref "<image>"` would end the string early. Rendered as EventBridge
    does (a standalone variable becomes the value's JSON), every alert stays valid JSON with the text intact."""
    from components.observability import alert_template

    reason = 'CannotPullContainerError: failed to resolve ref "123.dkr.ecr.us-east-1.amazonaws.com/x@sha256:ab"'
    free_text = {"$.detail.reason", "$.detail.stoppedReason", "$.detail.Message"}
    checked = 0
    for target in full.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        transformer = target.inputs.get("inputTransformer")
        if not transformer:
            continue
        rendered = transformer["inputTemplate"]
        for name, path in transformer["inputPaths"].items():
            value = reason if path in free_text else "id-1"
            standalone = re.search(rf":\s*<{name}>\s*[,}}]", rendered) is not None
            rendered = rendered.replace(f"<{name}>", json.dumps(value) if standalone else value)
        message = json.loads(rendered)  # fails when free text sits inside a quoted string
        assert message["alert"] and reason in message.values(), target.name
        checked += 1
    assert checked == 3
    with pytest.raises(ValueError, match="free text goes in its own value"):
        alert_template("failed: <reason>", ["reason"])


def test_dr_dashboard_row_shows_replication_failures_and_the_drill(full: StackRun) -> None:
    body = json.loads(full.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    texts = json.dumps(body)
    assert "Disaster recovery" in texts and "OperationsFailedReplication" in texts
    assert "RestoreDrillSucceeded" in texts and "ReplicatedDumpAgeHours" in texts


def test_the_stale_copy_alarm_says_the_threshold_it_was_given(full: StackRun) -> None:
    """The watch's dump_stale_hours (10 in the full program, as for an 8-hourly backup) is the threshold and what the
    description states, not the catalog's default 8."""
    alarm = alarms(full)["dr-dump-stale"].inputs
    assert alarm["threshold"] == 10 and "> 10 h" in alarm["alarmDescription"]


def test_monitoring_page_documents_the_cost_budget_and_the_tag_activation_it_needs() -> None:
    page = (ROOT / "docs" / "monitoring.md").read_text()
    for stack, limit in BUDGET_LIMITS.items():
        assert f"{stack} {limit}" in page or f"{stack} and dr {limit}" in page, stack
    # Without the activated tag the budget sees $0 and stays silent: the step is on the page and in the runbook.
    assert "update-cost-allocation-tags-status --cost-allocation-tags-status TagKey=stack,Status=Active" in page
    assert "cost allocation tag" in (ROOT / "docs" / "runbooks" / "first-deploy.md").read_text()
    review = (ROOT / "docs" / "aws-runtime-review.md").read_text()
    assert "| U1 (cost) |" in review and "budgets-sns-policy.html" in review
