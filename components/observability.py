"""Alerting and the operations dashboard: an encrypted SNS topic, CloudWatch alarms, one dashboard.

What is watched arrives as plain CloudWatch dimension values (an ALB's ARN suffix, a DB instance identifier, a
cache cluster id, ...), grouped in small optional `*Watch` records, so the component depends on no other component
and works with whatever the stack has: every watch left out simply adds no alarm and no dashboard widget.

Every alarm is one entry of the catalog (components/alarm_catalog.py: metric, statistic, comparison, window, how
missing data counts and why). This component supplies only the dimensions and the per-environment threshold
(AlarmThresholds, the `alarm*` config keys), so the alarm table of docs/monitoring.md, the tests and the alarms
read the same catalog; the dashboard's layout is components/dashboard.py.

CloudFront's metrics (and a CLOUDFRONT-scope web ACL's) exist only in us-east-1 ("To get CloudFront metrics from
the CloudWatch API, you must use the US East (N. Virginia) Region", CloudFront developer guide,
programming-cloudwatch-metrics), so their alarms are created there, with the dimension Region=Global, and their
dashboard widgets name that Region. An alarm notifies a topic of its own Region: a stack elsewhere gets a second,
identical alert topic in us-east-1 (same subscribers, the edge key).

The stack's monthly cost budget (AWS Budgets) notifies the same topic: a cost guardrail next to the alarms, on
the `costBudgetUsd` setting (CostBudget below says what it covers and why).

Lifecycle: nothing here is stateful. Alarms, the dashboard and the topic can be replaced at any time; the only
cost of replacing the topic is that email subscribers must confirm again (SNS sends them a new confirmation).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarm_catalog import (
    ALB_5XX_RATE_EXPRESSION,
    CDN_5XX_RATE_EXPRESSION,
    GIB,
    KINDS,
    LATENCY_EXPRESSION,
    MIB,
    OPERATORS,
    PROXY_POOL_EXPRESSION,
    RUNNING_SHORTFALL_EXPRESSION,
    AlarmThresholds,
    max_evaluated_seconds,
    sample_floor,
    threshold_value,
)
from components.base import AwsContext, json_output, named_tags, policy_json
from components.constants import (
    BACKUP_METRIC_NAME,
    DUMP_AGE_METRIC_NAME,
    EDGE_REGION,
    PROJECT,
    RESTORE_DRILL_METRIC_NAME,
)
from components.dashboard import Widget, dashboard_body, flat
from components.settings import section, setting

EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                           r"[A-Za-z]{2,63}$")

LABEL_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
"""Labels become part of logical and alarm names (`ecs-web-cpu`), so they stay short, lower-case and dash-safe."""

RDS_EVENT_CATEGORIES = ("failover", "failure", "low storage", "read replica")
"""The RDS DB instance event categories sent to the alert topic (the categories and their events: "Amazon RDS event
categories and event messages", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html):
failover (RDS-EVENT-0013 started, -0015/-0049 completed), failure (-0031 incompatible configuration or storage),
low storage (-0007, -0089 over 90%), read replica (-0045 replication error, -0057 terminated, -0202 creation
failed; also -0046 resumed, which closes the incident). Left out: availability and maintenance (every planned
reboot and patch would page) and notification (operator actions)."""


def _check_labels(what: str, labels: Sequence[str], reserved: Sequence[str] = ()) -> None:
    for label in labels:
        if not LABEL_PATTERN.match(label) or label in reserved:
            allowed = f" other than {', '.join(reserved)}" if reserved else ""
            raise ValueError(f"{what} label {label!r} must be 1-32 lower-case letters, digits or dashes{allowed}")


# --- what can be watched ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EdgeWatch:
    """The public ALB and its target groups (AWS/ApplicationELB)."""

    load_balancer_arn_suffix: pulumi.Input[str]
    """`app/<name>/<id>`: aws.lb.LoadBalancer.arn_suffix."""
    target_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Label -> `targetgroup/<name>/<id>` (aws.lb.TargetGroup.arn_suffix), e.g. {"web": tg.arn_suffix}. Default none."""
    certificate_arn: pulumi.Input[str] | None = None
    """The HTTPS listener's ACM certificate (in the stack's region), watched for expiry. Default none."""

    def __post_init__(self) -> None:
        _check_labels("target group", list(self.target_groups))


@dataclass(frozen=True)
class ServiceWatch:
    """One ECS service (AWS/ECS service metrics; ECS/ContainerInsights for task counts)."""

    cluster_name: pulumi.Input[str]
    """aws.ecs.Cluster.name. Its Container Insights must be enabled for the running-task alarm to have data."""
    service_name: pulumi.Input[str]
    """aws.ecs.Service.name."""
    service: pulumi.Resource | None = None
    """The service itself: what reads its metrics (the AMP alert rules) starts once it exists. Default none."""
    task_counts: bool = True
    """Its cluster publishes Container Insights (RunningTaskCount, DesiredTaskCount): the running-task alarm and
    the task-count widget. False without it: that alarm would have no data, and it treats missing data as breaching.
    Default true."""


@dataclass(frozen=True)
class DatabaseWatch:
    """The RDS PostgreSQL primary and its read replicas (AWS/RDS, dimension DBInstanceIdentifier)."""

    primary_identifier: pulumi.Input[str]
    """aws.rds.Instance.identifier of the writer."""
    replicas: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Label -> identifier of each read replica, e.g. {"replica-a": replica.identifier}. Default none."""
    max_connections: int = field(kw_only=True)
    """The instances' max_connections (Database.watch passes dbMaxConnections; required: a default here would be a
    second one): the connections alarm fires at AlarmThresholds.db_connections_percent of it."""
    proxy_name: pulumi.Input[str] | None = None
    """RDS Proxy in front of the primary (ProxyName): its pool gets its own alarm at db_connections_percent of its cap,
    since the primary's connections pass that share of max_connections only once the pool is full. Default none."""
    instance_names: Sequence[str] = ()
    """Every instance's identifier as plain text, when known before the instances exist: the event rule then matches
    them without waiting for them, so it is in place while the replicas are created (a failed creation,
    RDS-EVENT-0202, is one of its events). Default: the rule names primary_identifier and the replicas' (and waits
    for them)."""

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
    """Label -> CacheClusterId of every member, e.g. {"001": "<group>-001", ...}. Every member gets every alarm;
    with replicas the primary role moves on failover, so ReplicationLag is watched on all (the primary simply emits
    none), and a group of one member has no replication-lag alarm at all."""

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
    """A WAFv2 web ACL (AWS/WAFV2; dimensions WebACL, Rule, and Region for a REGIONAL one)."""

    web_acl_metric_name: pulumi.Input[str]
    """The ACL's `visibility_config.metric_name`: the WebACL dimension's value (not necessarily the ACL's name)."""
    rule: str = "ALL"
    """The rule's metric name, or ALL (default) for the ACL as a whole."""
    cloudfront: bool = False
    """A CLOUDFRONT-scope ACL: its metrics are in us-east-1 and carry no Region dimension ("Required for all
    protected resource types except for Amazon CloudFront distributions", AWS WAF developer guide,
    monitoring-cloudwatch). Default false (REGIONAL)."""


@dataclass(frozen=True)
class CdnWatch:
    """A CloudFront distribution (AWS/CloudFront in us-east-1; dimensions DistributionId and Region=Global)."""

    distribution_id: pulumi.Input[str]
    """aws.cloudfront.Distribution.id."""
    additional_metrics: bool = False
    """The distribution's additional-metrics subscription is on: OriginLatency and CacheHitRate exist, and the
    origin-latency alarm with them. Default false."""
    certificate_arn: pulumi.Input[str] | None = None
    """The distribution's own ACM certificate (us-east-1), watched for expiry; none when it is the ALB's (a us-east-1
    stack reuses that one, watched with the ALB). Default none."""


@dataclass(frozen=True)
class PrometheusWatch:
    """An Amazon Managed Service for Prometheus workspace (AWS/Prometheus, dimension Workspace = its id)."""

    workspace_id: pulumi.Input[str]
    """aws.amp.Workspace.id."""


@dataclass(frozen=True)
class TopicPublisher:
    """An AWS service allowed to publish to the alert topic for one resource (a topic policy statement)."""

    sid: str
    service: str
    """Service principal, e.g. aps.amazonaws.com."""
    source_arn: pulumi.Input[str]
    """The one resource the service may publish for (`aws:SourceArn`), e.g. the AMP workspace."""
    actions: tuple[str, ...] = ("sns:Publish",)
    subscribe: Callable[[aws.sns.Topic, Sequence[pulumi.Resource]], None] | None = None
    """Called with the topic and what must exist before the service publishes (the topic policy, the topic key, the
    watched services), e.g. to create the AMP rules and alert manager definition that routes to it. Default none."""


def alert_topic_arn(context: AwsContext, name_prefix: str) -> str:
    """The alert topic's ARN, known before the topic exists (a key policy can name it in a condition)."""
    return context.arn("sns", f"{name_prefix}-alerts")


BUDGETS_PRINCIPAL = "budgets.amazonaws.com"
COST_TAG = "stack"
"""The tag a stack's cost budget filters on: every taggable resource carries it (StackConfig.tags), one value per
stack. Not `environment`: prod and its DR stack share it, and the prod account."""
BUDGET_NOTIFICATIONS: tuple[tuple[str, int], ...] = (("FORECASTED", 100), ("ACTUAL", 100))
"""(notification type, % of the limit), each to the alert topic. No 80 % ACTUAL notice: every stack's limit sits
within ~20 % of its modelled spend, so it would arrive every month by design. A forecast needs about five weeks of
the stack's cost history before AWS computes one (the ACTUAL notice works from the first month)."""


def encrypted_topic_key_statement(sid: str, service: str, topic_arn: str) -> dict[str, Any]:
    """What the alert topic's CMK needs so `service` can publish to the encrypted topic: kms:GenerateDataKey* and
    kms:Decrypt (SNS developer guide, "Key management", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).

    Scoped by the encryption context SNS itself adds, `kms:EncryptionContext:aws:sns:topicArn` = this topic (the AWS
    pattern for service publishers, e.g. https://docs.aws.amazon.com/gamelift/latest/flexmatchguide/queue-notification-sns-sse.html),
    not by aws:SourceAccount / aws:SourceArn: whether a publishing service passes those on to KMS is not documented,
    and a condition on a key it omits would drop every message silently. The topic policy keeps the confused-deputy
    guard. Used for AWS Budgets (below) and the Prometheus alert manager (AppMetrics.alert_topic_key_statement)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}},
    }


def budgets_key_statement(topic_arn: str) -> dict[str, Any]:
    """The key grant for AWS Budgets' notices. The Budgets guide documents only the topic policy ("Creating an Amazon
    SNS topic for budget notifications", https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html;
    CostBudget's topic statement), so the key side is the SNS pattern above (first deploy checks CloudTrail for it)."""
    return encrypted_topic_key_statement("AllowBudgetsToEncryptedAlertTopic", BUDGETS_PRINCIPAL, topic_arn)


@dataclass(frozen=True)
class BackupWatch:
    """The custom metric the backup job publishes after each verified upload."""

    namespace: str
    """Metric namespace: the job's own (BackupJob.metric_namespace; required: a namespace shared with another stack
    or job lets that one's role publish this metric)."""
    metric_name: str = BACKUP_METRIC_NAME
    """Metric name (default BackupSucceeded; the job puts 1 per verified backup)."""
    dimensions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Dimensions exactly as the job publishes them (default none)."""
    interval_hours: int = field(kw_only=True)
    """How often the job runs (BackupJob.watch derives it from the job's schedule; required)."""
    grace_hours: int = 1
    """How long a run may take before its absence counts (default 1)."""

    def __post_init__(self) -> None:
        # CloudWatch evaluates at most one day of hourly periods.
        if self.interval_hours < 1 or self.grace_hours < 0 or self.interval_hours + self.grace_hours > 24:
            raise ValueError("interval_hours must be at least 1, grace_hours at least 0, and together at most 24")

    @property
    def window_hours(self) -> int:
        return self.interval_hours + self.grace_hours


@dataclass(frozen=True)
class ReplicationWatch:
    """One S3 replication rule (AWS/S3 replication metrics; OperationsFailedReplication is published in the source
    bucket's region, so the alarm lives with the stack)."""

    source_bucket: pulumi.Input[str]
    """Name of the replicated bucket (dimension SourceBucket)."""
    destination_bucket: pulumi.Input[str]
    """Name of the replica bucket (dimension DestinationBucket)."""
    rule_id: str
    """The replication rule's id (dimension RuleId)."""


@dataclass(frozen=True)
class FunctionWatch:
    """A Lambda function whose every error matters (the credentials bootstrap and rotations)."""

    function_name: pulumi.Input[str]
    """aws.lambda_.Function.name (the FunctionName dimension)."""


@dataclass(frozen=True)
class RedeployWatch:
    """The workflow that redeploys a service after a secret it reads changed (components/secret_redeploy.py): its
    failed executions and its EventBridge rules' failed invocations (Step Functions and EventBridge metrics:
    https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html)."""

    state_machine_arn: pulumi.Input[str]
    """aws.sfn.StateMachine.arn (the StateMachineArn dimension)."""
    rule_names: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Label (the service) -> aws.cloudwatch.EventRule.name (the RuleName dimension). Default none."""

    def __post_init__(self) -> None:
        _check_labels("redeploy rule", list(self.rule_names))


@dataclass(frozen=True)
class RestoreDrillWatch:
    """The scheduled restore drill: its success metric, the DR copy's age it reports, and its task family."""

    task_family: pulumi.Input[str]
    """Task definition family of the drill: a stopped drill task with a failing exit code is sent to the topic."""
    namespace: str
    """Metric namespace: the drill's own (RestoreDrill.metric_namespace; required, as BackupWatch's)."""
    dimensions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Dimensions exactly as the drill publishes them (default none)."""
    interval_hours: int = 24
    """How often the drill runs (default daily)."""
    grace_hours: int = 3
    """How long a run may take, retries included, before its absence counts (default 3)."""
    dump_stale_hours: int = int(KINDS["dr-dump-stale"].threshold)
    """Age past which the newest DR dump is stale: the backup interval, plus the backup's run, plus its replication
    (default: the catalog's 8, a 6-hour schedule, an hour for the run, an hour for replication). RestoreDrill.watch
    derives it from the backup job's schedule, so another schedule never pages every day."""

    def __post_init__(self) -> None:
        if self.interval_hours < 1 or self.grace_hours < 0 or \
                (self.interval_hours + self.grace_hours) * 3600 > max_evaluated_seconds(3600):
            raise ValueError("interval_hours must be at least 1, grace_hours at least 0, and together at most 168 "
                             "(CloudWatch evaluates at most seven days of hourly periods)")
        if self.dump_stale_hours < 1:
            raise ValueError(f"dump_stale_hours must be at least 1, got {self.dump_stale_hours}")

    @property
    def window_hours(self) -> int:
        return self.interval_hours + self.grace_hours


# --- the component ---------------------------------------------------------------------------------------------------

def check_email(value: str) -> str | None:
    if len(value) > 254 or not EMAIL_PATTERN.match(value):
        return "must be an email address such as oncall@maratron.example.com"
    return None


@dataclass(frozen=True, kw_only=True)
class AlertSettings:
    """The configurable part of alerting: who is told, and when an alarm fires."""

    emails: tuple[str, ...] = setting(
        "alertEmails", (), "Email addresses subscribed to the SNS alert topic (each confirms once by email). prod "
        "requires at least one: an alarm nobody receives is no alarm.", check=check_email)
    thresholds: AlarmThresholds = section(AlarmThresholds, doc="operations: alarm thresholds")
    cost_budget_usd: int = setting(
        "costBudgetUsd", 1800, "Monthly AWS Budgets cost limit of the stack in USD (its resources' `stack` tag): "
        "the alert topic hears when the month's forecast or actual cost passes it. Each stack sets its own a "
        "little above its modelled total (`python -m bench.cost`); the default is prod's.", minimum=1,
        maximum=1_000_000)


@dataclass(frozen=True)
class ObservabilityArgs:
    """Inputs of Observability. Every watch is optional: what is not passed gets no alarm and no widget."""

    context: AwsContext
    """Account, partition and region (topic policy conditions, dashboard widgets, WAF metric Region)."""
    topic_key: aws.kms.Key
    """CMK that encrypts the alert topic (EncryptionKeys.alerts: its policy admits CloudWatch alarms and
    EventBridge)."""
    edge_topic_key: aws.kms.Key | None = None
    """CMK of the us-east-1 alert topic (EncryptionKeys.edge: it admits this account's us-east-1 alarms, and no
    EventBridge, which publishes only to `topic`), needed when CloudFront is watched from another Region. Default
    none."""
    settings: AlertSettings = field(default_factory=AlertSettings)
    """Who is alerted and the alarm thresholds; default: nobody subscribed, the production thresholds."""
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
    cdn: CdnWatch | None = None
    """The CloudFront distribution. Default none."""
    backup: BackupWatch | None = None
    """The backup job's success metric. Default none."""
    replication: Mapping[str, ReplicationWatch] = field(default_factory=dict)
    """Label -> S3 replication rule into the DR region, e.g. {"backups": ...}. Default none."""
    drill: RestoreDrillWatch | None = None
    """The restore drill. Default none."""
    functions: Mapping[str, FunctionWatch] = field(default_factory=dict)
    """Label -> function whose errors alarm, e.g. {"db-admin": ...}. Default none."""
    redeploy: RedeployWatch | None = None
    """The secret-redeploy workflow. Default none."""
    prometheus: PrometheusWatch | None = None
    """The metrics workspace: its alert manager's failed deliveries. Default none."""
    topic_publishers: Sequence[TopicPublisher] = ()
    """More AWS services that publish to the topic, each for one resource (e.g. the AMP alert manager). Default
    none."""
    name_prefix: str = PROJECT
    """Physical names: topic `<prefix>-alerts`, alarms `<prefix>-<kind>`, dashboard `<prefix>`."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the topic, every alarm and the EventBridge rule."""

    def __post_init__(self) -> None:
        _check_labels("service", list(self.services))
        _check_labels("replication", list(self.replication))


def alert_template(summary: str, free_text: Sequence[str]) -> str:
    """An EventBridge input template for the alert topic: `{"alert": "<summary>", "<name>": <name>, ...}`, each
    free-text variable a whole JSON value (EventBridge inserts it as its JSON string, escaped), the summary's own
    variables (ids, ARNs) inside its quotes."""
    if '"' in summary or any(f"<{name}>" in summary for name in free_text):
        raise ValueError(f"alert summary {summary!r}: free text goes in its own value, and no quote in the summary")
    return "{" + ", ".join([f'"alert": "{summary}"', *(f'"{name}": <{name}>' for name in free_text)]) + "}"


class Observability(pulumi.ComponentResource):
    """SNS alert topic, CloudWatch alarms routed to it (alarm and OK), and one operations dashboard."""

    topic: aws.sns.Topic
    """The alert topic: alarms and EventBridge rules publish here."""
    edge_topic: aws.sns.Topic
    """Where us-east-1 alarms (CloudFront, a CLOUDFRONT web ACL) publish: `topic` in a us-east-1 stack, else a twin
    of it in us-east-1 (alarm actions name a topic of the alarm's own Region)."""
    topic_policy: aws.sns.TopicPolicy
    """Who may publish to `topic` (a publisher's resources wait for it)."""
    cost_budget: aws.budgets.Budget
    """The stack's monthly cost budget (AWS Budgets), notifying `topic` (see _cost_budget)."""
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    """Logical suffix (e.g. `alb-5xx-rate`, `db-primary-cpu`) -> alarm."""
    dashboard: aws.cloudwatch.Dashboard
    """The operations dashboard: alarm status, then a row per watched tier."""
    deployment_failures: aws.cloudwatch.EventRule | None
    """EventBridge rule sending failed ECS deployments of the watched services to the topic (None without services)."""
    drill_failures: aws.cloudwatch.EventRule | None
    """EventBridge rule sending a restore drill that stopped with a failing exit code to the topic (None without a
    drill)."""
    database_events: aws.cloudwatch.EventRule | None
    """EventBridge rule sending the watched RDS instances' failover, failure, low-storage and replication events to
    the topic (None without a database)."""

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ops:Observability", name, None, opts)
        self._name = name
        self._args = args
        self.alarms = {}
        self._sections: dict[str, list[Widget]] = {}
        self.topic = self._topic()
        self.edge_topic = self.topic
        if self._watches_edge_region() and args.context.region != EDGE_REGION:
            self.edge_topic = self._topic(EDGE_REGION)
        self._edge_alarms()
        self._service_alarms()
        self.deployment_failures = self._deployment_failure_rule()
        self._database_alarms()
        self.database_events = self._database_event_rule()
        self._cache_alarms()
        self._waf_alarms()
        self._cdn_alarms()
        self._backup_alarms()
        self._recovery_alarms()
        self._function_alarms()
        self.drill_failures = self._drill_failure_rule()
        self._prometheus_alarms()
        self.dashboard = self._dashboard()
        self.register_outputs({
            "topicArn": self.topic.arn,
            "alarmNames": self.alarm_names(),
            "dashboardName": self.dashboard.dashboard_name,
        })

    def alarm_names(self) -> list[str]:
        """Physical names of every alarm, in catalog order (for outputs and post-deploy checks). The names are ours
        (`name=` of each alarm), so the list is known at preview instead of gathering fifty Outputs."""
        return [f"{self._args.name_prefix}-{suffix}" for suffix in self.alarms]

    # --- topic ---------------------------------------------------------------------------------------------------

    def _watches_edge_region(self) -> bool:
        args = self._args
        return args.cdn is not None or (args.waf is not None and args.waf.cloudfront)

    def _topic(self, region: str | None = None) -> aws.sns.Topic:
        """The alert topic; with `region`, its twin there (encrypted with the edge key)."""
        args, ctx = self._args, self._args.context
        suffix = "alerts" if region is None else "edge-alerts"
        key = args.topic_key if region is None else args.edge_topic_key
        if key is None:
            raise ValueError(f"ObservabilityArgs.edge_topic_key: needed for alarms in {region} (a KMS key there)")
        topic = aws.sns.Topic(
            f"{self._name}-{suffix}",
            name=alert_topic_arn(ctx, args.name_prefix).rsplit(":", 1)[-1] if region is None
            else f"{args.name_prefix}-{suffix}",
            display_name=f"{args.name_prefix} alerts",
            region=region,
            kms_master_key_id=key.arn,
            tags=named_tags(args.tags, f"{args.name_prefix}-{suffix}"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        alarm_region = region or ctx.region
        topic_publishers = [*args.topic_publishers, self._budget_publisher()] if region is None else []
        publishers = [{
            "Sid": publisher.sid,
            "Effect": "Allow",
            "Principal": {"Service": publisher.service},
            "Action": list(publisher.actions),
            "Resource": topic.arn,
            # ArnLike where the source is a pattern (Budgets: any budget of the account), as AWS's examples write it
            "Condition": {("ArnLike" if isinstance(publisher.source_arn, str) and "*" in publisher.source_arn
                           else "ArnEquals"):
                          {"aws:SourceArn": publisher.source_arn},
                          "StringEquals": {"aws:SourceAccount": ctx.account_id}},
        } for publisher in topic_publishers]  # same-Region publishers only
        policy = aws.sns.TopicPolicy(
            f"{self._name}-{suffix}",
            arn=topic.arn,
            region=region,
            policy=policy_json([{
                # Only this account's alarms (confused-deputy guard: the service principal acts for every account).
                "Sid": "AllowCloudWatchAlarmsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic.arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ctx.account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:cloudwatch:{alarm_region}:{ctx.account_id}:"
                                                 "alarm:*"},
                },
            }, *([{
                # EventBridge rules of this account (ECS deployment failures, RDS events, ...), on the home topic only:
                # no rule targets the edge twin, whose key (the edge key) does not let EventBridge encrypt, and SNS
                # would accept a publish the key then refuses (SNS developer guide, "Key management": publishers need
                # kms:GenerateDataKey* and kms:Decrypt on the topic's key).
                "Sid": "AllowEventBridgeRulesOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic.arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ctx.account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:events:{alarm_region}:{ctx.account_id}:"
                                                 "rule/*"},
                },
            }] if region is None else []), *publishers, {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic.arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }]),
            opts=pulumi.ResourceOptions(parent=topic),
        )
        if region is None:
            self.topic_policy = policy
            # e.g. the AMP alert manager: it starts once the policies let it publish and the services exist
            watched = [watch.service for watch in args.services.values() if watch.service is not None]
            for publisher in topic_publishers:
                if publisher.subscribe is not None:
                    publisher.subscribe(topic, [policy, args.topic_key, *watched])
        for email in args.settings.emails:
            # Pending until the recipient clicks the confirmation link; SNS drops it after 3 days unconfirmed.
            aws.sns.TopicSubscription(
                f"{self._name}-email-{email}" if region is None else f"{self._name}-edge-email-{email}",
                topic=topic.arn,
                region=region,
                protocol="email",
                endpoint=email,
                opts=pulumi.ResourceOptions(parent=topic),
            )
        return topic

    def _budget_publisher(self) -> TopicPublisher:
        """AWS Budgets publishing this account's budget notices, as its guide's topic policy has it: aws:SourceAccount
        and aws:SourceArn `arn:<partition>:budgets::<account>:*` (budgets-sns-policy). That pattern, not the one
        budget's ARN: what Budgets sends as the source ARN is documented only as that pattern, and a narrower value
        that does not match drops every notice without an error. Its `subscribe` creates the budget."""
        ctx = self._args.context
        return TopicPublisher("AllowBudgetsOfThisAccount", BUDGETS_PRINCIPAL,
                              f"arn:{ctx.partition}:budgets::{ctx.account_id}:*",
                              subscribe=lambda topic, _after: self._cost_budget(topic))

    def _cost_budget(self, topic: aws.sns.Topic) -> None:
        """The stack's monthly cost budget: its `stack`-tagged costs against costBudgetUsd, notices to `topic`.

        Scope. Budgets are per account ("single accounts, the management account, and member accounts in an
        organization can create budgets", https://docs.aws.amazon.com/cost-management/latest/userguide/
        budgets-create.html), and an unfiltered one counts the whole account's costs. An account is not one stack's:
        in the single-account layout dev, staging and prod share it, and in both layouts the DR stack (environment
        prod) is deployed into prod's account. So the budget filters on the cost allocation tag `stack` (cost
        filter TagKeyValue `user:stack$<stack>`, the form of pulumi-aws's example,
        https://www.pulumi.com/registry/packages/aws/api-docs/budgets/budget/): one exact scope in both layouts.
        The price: the tag must be activated as a cost allocation tag by the management (payer) account, or by the
        single account itself ("Only a management account in an organization and single accounts that aren't
        members of an organization have access to the cost allocation tags manager",
        https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/custom-tags.html); until then the budget sees
        $0 and stays silent (docs/monitoring.md, "Cost budget", has the step). Charges on no tagged resource (tax,
        support, some data transfer) are not in it.

        Budgets is a global API (one endpoint for every Region): the resource takes no Region, and its account is
        the provider's (account_id left out: the Foundation's provider pins the environment's account). A budget
        without actions costs nothing (offline/cost.py FREE_TYPES)."""
        args = self._args
        stack = args.tags.get(COST_TAG)
        if not stack:
            raise ValueError(f"ObservabilityArgs.tags: needs {COST_TAG!r}, the tag the cost budget filters on")
        name = f"{args.name_prefix}-monthly-cost"
        self.cost_budget = aws.budgets.Budget(
            f"{self._name}-cost-budget",
            name=name,
            budget_type="COST",
            limit_amount=str(args.settings.cost_budget_usd),  # the API's amount is a decimal string
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filters=[aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[f"user:{COST_TAG}${stack}"])],
            notifications=[aws.budgets.BudgetNotificationArgs(
                notification_type=kind, comparison_operator="GREATER_THAN", threshold=percent,
                threshold_type="PERCENTAGE", subscriber_sns_topic_arns=[topic.arn],
            ) for kind, percent in BUDGET_NOTIFICATIONS],
            tags=named_tags(args.tags, name),
            # A notice before the topic and key policies admit Budgets would be refused, and not retried.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.topic_policy, args.topic_key]),
        )

    # --- alarms ----------------------------------------------------------------------------------------------------

    def _alarm(self, kind_key: str, label: str = "", *, namespace: str = "", metric_name: str = "",
               dimensions: Mapping[str, pulumi.Input[str]] | None = None, threshold: float | None = None,
               metric_queries: list[aws.cloudwatch.MetricAlarmMetricQueryArgs] | None = None,
               subject: str = "", evaluation_periods: int | None = None,
               region: str | None = None) -> aws.cloudwatch.MetricAlarm:
        kind = KINDS[kind_key]
        if evaluation_periods is not None:  # all of them must breach, over a caller-chosen window
            kind = replace(kind, evaluation_periods=evaluation_periods, datapoints_to_alarm=evaluation_periods)
        args = self._args
        suffix = kind.key.format(label=label)
        value = threshold if threshold is not None else threshold_value(kind, args.settings.thresholds) * kind.scale
        # A literal catalog threshold the caller overrides (the DR dump's age follows the backup schedule) is shown
        # as passed; a setting's (a percentage of max connections) is shown as the setting.
        literal = threshold is not None and kind.threshold.isdigit()
        shown = f"{threshold if literal else threshold_value(kind, args.settings.thresholds)} {kind.unit}"
        percentile = kind.statistic.startswith("p")
        if percentile and not metric_queries:
            raise ValueError(f"alarm {suffix}: a percentile alarm is metric math with a sample floor (sample_floor), "
                             "not a single metric (CloudWatch's low-sample setting freezes or guesses)")
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
            alarm_actions=[self._topic_for(region).arn],
            ok_actions=[self._topic_for(region).arn],
            region=self._region_override(region),
            tags=named_tags(args.tags, f"{args.name_prefix}-{suffix}"),
            # A percentile kind was a single-metric alarm with evaluateLowSampleCountPercentiles=ignore before it
            # became metric math; that input is Optional+Computed, so an in-place update would keep sending it with
            # the metric queries. Replacing the alarm (same name: delete, then create) starts it clean.
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["metricQueries"] if percentile else None),
            **metric,
        )
        self.alarms[suffix] = alarm
        return alarm

    def _latency_alarm(self, kind_key: str, metric_name: str, label: str,
                       query: Callable[[str, str, str, int], aws.cloudwatch.MetricAlarmMetricQueryArgs],
                       region: str | None = None) -> aws.cloudwatch.MetricAlarm:
        """A latency percentile judged only in periods with enough samples (LATENCY_EXPRESSION over the metric and
        its SampleCount); `query(id, metric, stat, period)` builds a query of the metric's namespace and dimensions."""
        kind = KINDS[kind_key]
        return self._alarm(kind_key, region=region, metric_queries=[
            query("latency", metric_name, kind.statistic, kind.period),
            query("samples", metric_name, "SampleCount", kind.period),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="gated", expression=LATENCY_EXPRESSION.format(floor=sample_floor(kind.statistic)),
                label=f"{kind.statistic} {label}", return_data=True),
        ])

    def _region_override(self, region: str | None) -> str | None:
        """`region` when it differs from the stack's (explicitly setting the provider's own Region is a diff)."""
        return None if region in (None, self._args.context.region) else region

    def _topic_for(self, region: str | None) -> aws.sns.Topic:
        return self.edge_topic if self._region_override(region) else self.topic

    def _widget(self, section: str, widget: Widget) -> None:
        self._sections.setdefault(section, []).append(widget)

    def _edge_alarms(self) -> None:
        edge = self._args.edge
        if edge is None:
            return
        t = self._args.settings.thresholds
        lb = {"LoadBalancer": edge.load_balancer_arn_suffix}
        elb = "AWS/ApplicationELB"
        kind = KINDS["alb-5xx-rate"]

        def query(id_: str, metric_name: str, stat: str = "Sum",
                  period: int = kind.period) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=id_, return_data=False, metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=elb, metric_name=metric_name, dimensions=lb, stat=stat, period=period))

        self._alarm("alb-5xx-rate", metric_queries=[
            query("errors", "HTTPCode_ELB_5XX_Count"),
            query("requests", "RequestCount"),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="rate", expression=ALB_5XX_RATE_EXPRESSION, label="ALB 5xx rate (%)", return_data=True),
        ])
        for key in ("alb-p95-latency", "alb-p99-latency"):
            self._latency_alarm(key, "TargetResponseTime", "target response time (s)", query)
        self._widget("Edge (ALB)", Widget("Requests and 5xx", [
            [elb, "RequestCount", "LoadBalancer", edge.load_balancer_arn_suffix],
            [elb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", edge.load_balancer_arn_suffix],
            [elb, "HTTPCode_Target_5XX_Count", "LoadBalancer", edge.load_balancer_arn_suffix],
        ], stat="Sum"))
        self._widget("Edge (ALB)", Widget("Target response time (s)", [
            [elb, "TargetResponseTime", "LoadBalancer", edge.load_balancer_arn_suffix, {"stat": stat}]
            for stat in ("p50", "p95", "p99")
        ], threshold=t.latency_p95_ms / 1000))
        if edge.certificate_arn is not None:
            self._certificate_alarm("alb", edge.certificate_arn)
        for label, target_group in edge.target_groups.items():
            tg = {"TargetGroup": target_group, **lb}
            self._alarm("tg-{label}-5xx", label, namespace=elb, metric_name="HTTPCode_Target_5XX_Count",
                        dimensions=tg, subject=f"target group {label}")
            self._alarm("tg-{label}-unhealthy-hosts", label, namespace=elb, metric_name="UnHealthyHostCount",
                        dimensions=tg, subject=f"target group {label}")
            self._widget("Edge (ALB)", Widget(f"Targets: {label}", [
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
            cpu.append(["AWS/ECS", "CPUUtilization", *flat(dims), {"label": label}])
            memory.append(["AWS/ECS", "MemoryUtilization", *flat(dims), {"label": label, "stat": "Maximum"}])
            if not service.task_counts:
                continue
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
            tasks.append(["ECS/ContainerInsights", "RunningTaskCount", *flat(dims), {"label": f"{label} running"}])
            tasks.append(["ECS/ContainerInsights", "DesiredTaskCount", *flat(dims), {"label": f"{label} desired"}])
        if cpu:
            t = self._args.settings.thresholds
            self._widget("Services (ECS)", Widget("CPU (%)", cpu, threshold=t.cpu_percent))
            self._widget("Services (ECS)", Widget("Memory, busiest task (%)", memory, threshold=t.memory_percent))
            if tasks:
                self._widget("Services (ECS)", Widget("Tasks: running vs desired", tasks, period=60))

    def _event_rule(self, suffix: str, description: str, pattern: dict[str, Any], input_paths: dict[str, str],
                    summary: str, free_text: Sequence[str]) -> aws.cloudwatch.EventRule:
        """An EventBridge rule `<prefix>-<suffix>` sending the events `pattern` matches to the alert topic, and an
        alarm on its failed deliveries: a publish SNS or the alert key refuses is dropped after EventBridge's retries,
        and its FailedInvocations metric is the only trace ("EventBridge only sends this metric to CloudWatch if it
        isn't zero", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html).

        The message is `alert_template(summary, free_text)` over `input_paths`: `summary` may name only ids and ARNs
        (inside its quotes), the `free_text` variables (reasons, messages) stand as whole JSON values, because
        "EventBridge does not escape values extracted by Input Path, when populating the Input Template" (EventBridge
        user guide, transforming target input): an image pull failure's reason quotes the image reference, and
        inside a quoted string it would break the message."""
        args = self._args
        input_template = alert_template(summary, free_text)
        rule = aws.cloudwatch.EventRule(
            f"{self._name}-{suffix}",
            name=f"{args.name_prefix}-{suffix}",
            description=description,
            event_pattern=json_output(pattern),
            tags=named_tags(args.tags, f"{args.name_prefix}-{suffix}"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.cloudwatch.EventTarget(
            f"{self._name}-{suffix}",
            rule=rule.name,
            arn=self.topic.arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths=input_paths, input_template=input_template),
            # Delivering before the topic's policy admits EventBridge would be refused (and dropped).
            opts=pulumi.ResourceOptions(parent=rule, depends_on=[self.topic_policy]),
        )
        self._alarm("events-{label}-undelivered", suffix, namespace="AWS/Events", metric_name="FailedInvocations",
                    dimensions={"RuleName": rule.name}, subject=f"rule {args.name_prefix}-{suffix}")
        return rule

    def _deployment_failure_rule(self) -> aws.cloudwatch.EventRule | None:
        """A deployment the circuit breaker rolled back raises no metric alarm (the old tasks keep serving), yet
        someone must hear that the release did not ship: ECS emits SERVICE_DEPLOYMENT_FAILED to EventBridge."""
        args = self._args
        if not args.services:
            return None
        ctx = args.context
        service_arns = [pulumi.Output.concat(ctx.arn("ecs", "service/"), watch.cluster_name, "/", watch.service_name)
                        for watch in args.services.values()]
        return self._event_rule(
            "ecs-deployment-failed", "Failed (rolled back) ECS deployments of the stack's services, to the alert topic",
            {"source": ["aws.ecs"], "detail-type": ["ECS Deployment State Change"],
             "detail": {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]}, "resources": service_arns},
            {"service": "$.resources[0]", "deployment": "$.detail.deploymentId", "reason": "$.detail.reason"},
            "ECS deployment <deployment> of <service> failed and was rolled back", free_text=["reason"])

    def _database_event_rule(self) -> aws.cloudwatch.EventRule | None:
        """A Multi-AZ failover, an instance failure or a stopped replication is an event, not a metric: the alarms see
        only its effects (connections drop, lag grows), minutes later if at all. RDS sends every DB instance event to
        the account's default event bus, with no subscription to create ("Amazon RDS delivers events to EventBridge in
        near-real time": https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/working-with-events.html); a pattern
        array matches when it shares a value with the event's EventCategories array
        (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html). The topic and its
        key already admit this account's EventBridge rules. ElastiCache has no counterpart: node-based clusters
        publish no EventBridge events and cannot notify an encrypted topic (docs/cache.md)."""
        args = self._args
        database = args.database
        if database is None:
            return None
        ctx = args.context
        identifiers: list[pulumi.Input[str]] = [*database.instance_names] or [database.primary_identifier,
                                                                            *database.replicas.values()]
        return self._event_rule(
            "database-events", "Failover, failure, low-storage and read-replica events of the stack's RDS "
            "instances, to the alert topic",
            {"source": ["aws.rds"], "detail-type": ["RDS DB Instance Event"],
             "detail": {"SourceArn": [pulumi.Output.concat(ctx.arn("rds", "db:"), identifier)
                                      for identifier in identifiers],
                        "EventCategories": list(RDS_EVENT_CATEGORIES)}},
            {"instance": "$.detail.SourceIdentifier", "event": "$.detail.EventID", "message": "$.detail.Message"},
            "RDS <instance> (<event>)", free_text=["message"])

    def _database_alarms(self) -> None:
        database = self._args.database
        if database is None:
            return
        t = self._args.settings.thresholds
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

        if database.proxy_name is not None:
            self._proxy_pool_alarm(database.proxy_name)

        def per_instance(metric_name: str, **options: Any) -> list[list[Any]]:
            return [["AWS/RDS", metric_name, "DBInstanceIdentifier", identifier, {"label": label, **options}]
                    for label, identifier in instances.items()]

        section = "Database (RDS PostgreSQL)"
        self._widget(section, Widget("CPU (%)", per_instance("CPUUtilization"), threshold=t.cpu_percent))
        self._widget(section, Widget("Connections", per_instance("DatabaseConnections", stat="Maximum"),
                                      threshold=database.max_connections * t.db_connections_percent / 100))
        self._widget(section, Widget("Free storage (bytes)", per_instance("FreeStorageSpace", stat="Minimum"),
                                      threshold=t.db_free_storage_gib * GIB))
        self._widget(section, Widget("Freeable memory (bytes)", per_instance("FreeableMemory", stat="Minimum"),
                                      threshold=t.db_freeable_memory_mib * MIB))
        self._widget(section, Widget("Read / write latency (s)", [
            *per_instance("ReadLatency"),
            ["AWS/RDS", "WriteLatency", "DBInstanceIdentifier", database.primary_identifier,
             {"label": "primary write"}],
        ], threshold=t.db_latency_ms / 1000))
        if database.proxy_name is not None:
            self._widget(section, Widget("Proxy pool (connections)", [
                ["AWS/RDS", metric_name, "ProxyName", database.proxy_name, {"label": label}]
                for metric_name, label in (("DatabaseConnections", "in use"), ("MaxDatabaseConnectionsAllowed", "cap"))
            ], stat="Sum", period=60))  # "reported every minute": a 5-minute Sum would read five times the count
        if database.replicas:
            self._widget(section, Widget("Replica lag (s)", [
                ["AWS/RDS", "ReplicaLag", "DBInstanceIdentifier", identifier, {"label": label}]
                for label, identifier in database.replicas.items()
            ], stat="Maximum", period=60, threshold=t.replica_lag_seconds))

    def _proxy_pool_alarm(self, proxy_name: pulumi.Input[str]) -> None:
        kind = KINDS["db-proxy-pool"]

        def query(id_: str, metric_name: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=id_, return_data=False, metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace="AWS/RDS", metric_name=metric_name, dimensions={"ProxyName": proxy_name},
                    stat=kind.statistic, period=kind.period))

        self._alarm("db-proxy-pool", subject="RDS Proxy", metric_queries=[
            query("connections", "DatabaseConnections"),
            query("allowed", "MaxDatabaseConnectionsAllowed"),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="pool", expression=PROXY_POOL_EXPRESSION, label="RDS Proxy pool (% of cap)", return_data=True),
        ])

    def _cache_alarms(self) -> None:
        cache = self._args.cache
        if cache is None:
            return
        t = self._args.settings.thresholds
        # ReplicationLag "is only applicable for a node running as a read replica" (ElastiCache metrics): a group of
        # one member never has one, so neither the alarm nor the widget (with replicas every member may become one
        # after a failover, so each is watched).
        replicated = len(cache.members) > 1
        metrics = (("cache-{label}-engine-cpu", "EngineCPUUtilization"),
                   ("cache-{label}-memory", "DatabaseMemoryUsagePercentage"),
                   ("cache-{label}-evictions", "Evictions"),
                   *((("cache-{label}-replication-lag", "ReplicationLag"),) if replicated else ()))
        for label, cluster_id in cache.members.items():
            for kind_key, metric_name in metrics:
                self._alarm(kind_key, label, namespace="AWS/ElastiCache", metric_name=metric_name,
                            dimensions={"CacheClusterId": cluster_id}, subject=f"Redis member {label}")

        def per_member(metric_name: str) -> list[list[Any]]:
            return [["AWS/ElastiCache", metric_name, "CacheClusterId", cluster_id, {"label": label}]
                    for label, cluster_id in cache.members.items()]

        section = "Cache (ElastiCache Redis)"
        self._widget(section, Widget("Engine CPU (%)", per_member("EngineCPUUtilization"), threshold=t.cpu_percent))
        self._widget(section, Widget("Memory used (%)", per_member("DatabaseMemoryUsagePercentage"),
                                      threshold=t.memory_percent))
        self._widget(section, Widget("Evictions", per_member("Evictions"), stat="Sum"))
        if replicated:
            self._widget(section, Widget("Replication lag (s)", per_member("ReplicationLag"), stat="Maximum",
                                          period=60))
        self._widget(section, Widget("Cache hit rate (%)", [
            ["AWS/ElastiCache", "CacheHitRate", "CacheClusterId", cluster_id, {"label": label}]
            for label, cluster_id in cache.members.items()
        ]))

    def _waf_alarms(self) -> None:
        waf = self._args.waf
        if waf is None:
            return
        region = EDGE_REGION if waf.cloudfront else self._args.context.region
        dims: dict[str, pulumi.Input[str]] = {"WebACL": waf.web_acl_metric_name, "Rule": waf.rule}
        if not waf.cloudfront:
            dims["Region"] = region
        self._alarm("waf-blocked-requests", namespace="AWS/WAFV2", metric_name="BlockedRequests", dimensions=dims,
                    region=region)
        self._widget("WAF", Widget("Allowed vs blocked requests", [
            ["AWS/WAFV2", metric, *flat(dims)] for metric in ("AllowedRequests", "BlockedRequests")
        ], stat="Sum", threshold=self._args.settings.thresholds.waf_blocked_requests, region=region))

    def _cdn_alarms(self) -> None:
        cdn = self._args.cdn
        if cdn is None:
            return
        t = self._args.settings.thresholds
        dims = {"DistributionId": cdn.distribution_id, "Region": "Global"}
        cf = "AWS/CloudFront"
        kind = KINDS["cdn-5xx-rate"]

        def query(id_: str, metric_name: str, stat: str,
                  period: int = kind.period) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=id_, return_data=False, metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=cf, metric_name=metric_name, dimensions=dims, stat=stat, period=period))

        self._alarm("cdn-5xx-rate", region=EDGE_REGION, metric_queries=[
            query("rate", "5xxErrorRate", "Average"),
            query("requests", "Requests", "Sum"),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="gated", expression=CDN_5XX_RATE_EXPRESSION, label="CloudFront 5xx rate (%)", return_data=True),
        ])
        if cdn.certificate_arn is not None:
            self._certificate_alarm("cdn", cdn.certificate_arn, region=EDGE_REGION)
        section = "Edge (CloudFront)"
        self._widget(section, Widget("Requests", [[cf, "Requests", *flat(dims)]], stat="Sum", region=EDGE_REGION))
        self._widget(section, Widget("Error rates (%)", [
            [cf, metric, *flat(dims)] for metric in ("4xxErrorRate", "5xxErrorRate")
        ], threshold=t.cdn_5xx_rate_percent, region=EDGE_REGION))
        self._widget(section, Widget("Bytes downloaded", [[cf, "BytesDownloaded", *flat(dims)]], stat="Sum",
                                     region=EDGE_REGION))
        if cdn.additional_metrics:
            self._latency_alarm("cdn-origin-latency", "OriginLatency", "origin latency (ms)", query,
                                region=EDGE_REGION)
            self._widget(section, Widget("Cache hit rate (%)", [[cf, "CacheHitRate", *flat(dims)]],
                                         region=EDGE_REGION))
            self._widget(section, Widget("Origin latency (ms)", [
                [cf, "OriginLatency", *flat(dims), {"stat": stat}] for stat in ("p50", "p95")
            ], threshold=t.cdn_origin_latency_ms, region=EDGE_REGION))

    def _certificate_alarm(self, label: str, certificate_arn: pulumi.Input[str], region: str | None = None) -> None:
        """DaysToExpiry of one certificate, where ACM publishes it: the certificate's region. ACM renews a DNS-validated
        certificate from 60 days before expiry, and only while it is in use (managed renewal); one that gets here
        failed to renew, or was imported and needs a new one."""
        self._alarm("certificate-{label}-expiry", label, namespace="AWS/CertificateManager",
                    metric_name="DaysToExpiry", dimensions={"CertificateArn": certificate_arn},
                    subject=f"{label} certificate", region=region)

    def _prometheus_alarms(self) -> None:
        watch = self._args.prometheus
        if watch is None:
            return
        # The dimension is the workspace id ("Workspace"; yet-another-cloudwatch-exporter maps it, verified against a
        # live workspace). An alert that fails to reach SNS (a broken topic or key policy) shows only here.
        dims = {"Workspace": watch.workspace_id}
        self._alarm("amp-alert-delivery-failed", namespace="AWS/Prometheus",
                    metric_name="AlertManagerNotificationsFailed", dimensions=dims)
        self._widget("App metrics (Prometheus)", Widget("Alert manager: alerts received vs deliveries failed", [
            ["AWS/Prometheus", metric, "Workspace", watch.workspace_id]
            for metric in ("AlertManagerAlertsReceived", "AlertManagerNotificationsFailed")
        ], stat="Sum"))

    def _function_alarms(self) -> None:
        errors: list[list[Any]] = []
        for label, watch in self._args.functions.items():
            dims = {"FunctionName": watch.function_name}
            self._alarm("lambda-{label}-errors", label, namespace="AWS/Lambda", metric_name="Errors", dimensions=dims,
                        subject=f"function {label}")
            errors.append(["AWS/Lambda", "Errors", *flat(dims), {"label": label}])
        if errors:
            self._widget("Credentials", Widget("Function errors (bootstrap, rotations)", errors, stat="Sum"))
        redeploy = self._args.redeploy
        if redeploy is not None:
            executions = {"StateMachineArn": redeploy.state_machine_arn}
            self._alarm("redeploy-failed", namespace="AWS/States", metric_name="ExecutionsFailed",
                        dimensions=executions, subject="secret redeploy")
            failures: list[list[Any]] = [["AWS/States", "ExecutionsFailed", *flat(executions), {"label": "failed"}]]
            for label, rule_name in redeploy.rule_names.items():
                dims = {"RuleName": rule_name}
                self._alarm("redeploy-{label}-not-started", label, namespace="AWS/Events",
                            metric_name="FailedInvocations", dimensions=dims, subject=f"service {label}")
                failures.append(["AWS/Events", "FailedInvocations", *flat(dims), {"label": f"{label} not started"}])
            self._widget("Credentials", Widget("Redeploys after a secret change that failed", failures, stat="Sum"))

    def _backup_alarms(self) -> None:
        backup = self._args.backup
        if backup is None:
            return
        # Hourly buckets, all empty: a sliding window of interval + grace hours without one success.
        self._alarm("backup-missing", namespace=backup.namespace, metric_name=backup.metric_name,
                    dimensions=backup.dimensions, subject=f"expected every {backup.interval_hours} h",
                    evaluation_periods=backup.window_hours)
        self._widget("Backups", Widget("Successful backups per hour", [
            [backup.namespace, backup.metric_name, *flat(backup.dimensions)]
        ], stat="Sum", period=3600))

    def _recovery_alarms(self) -> None:
        args = self._args
        failed: list[list[Any]] = []
        for label, rule in args.replication.items():
            dims = {"SourceBucket": rule.source_bucket, "DestinationBucket": rule.destination_bucket,
                    "RuleId": rule.rule_id}
            self._alarm("s3-{label}-replication-failed", label, namespace="AWS/S3",
                        metric_name="OperationsFailedReplication", dimensions=dims,
                        subject=f"replication of the {label} bucket")
            failed.append(["AWS/S3", "OperationsFailedReplication", *flat(dims), {"label": label}])
        if failed:
            self._widget("Disaster recovery", Widget("Operations failed to replicate", failed, stat="Sum"))
        drill = args.drill
        if drill is None:
            return
        self._alarm("restore-drill-missing", namespace=drill.namespace, metric_name=RESTORE_DRILL_METRIC_NAME,
                    dimensions=drill.dimensions, subject=f"expected every {drill.interval_hours} h",
                    evaluation_periods=drill.window_hours)
        self._alarm("dr-dump-stale", namespace=drill.namespace, metric_name=DUMP_AGE_METRIC_NAME,
                    dimensions=drill.dimensions, subject="the DR copy lags the backups",
                    threshold=drill.dump_stale_hours)
        self._widget("Disaster recovery", Widget("Restore drills passed", [
            [drill.namespace, RESTORE_DRILL_METRIC_NAME, *flat(drill.dimensions)]], stat="Sum", period=86400))
        self._widget("Disaster recovery", Widget("Newest DR dump age (h)", [
            [drill.namespace, DUMP_AGE_METRIC_NAME, *flat(drill.dimensions)]], stat="Maximum", period=3600,
            threshold=float(drill.dump_stale_hours)))

    def _drill_failure_rule(self) -> aws.cloudwatch.EventRule | None:
        """A drill that fails says so at once (its success alarm only notices a day later): ECS emits a task state
        change when the task stops, with each container's exit code."""
        args = self._args
        if args.drill is None:
            return None
        return self._event_rule(
            "restore-drill-failed", "Restore drill tasks that failed or never started a container, to the alert topic",
            {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"], "detail": {
                "lastStatus": ["STOPPED"],
                # Tasks a schedule starts without a group are in `family:<task definition family>`.
                "group": [pulumi.Output.concat("family:", args.drill.task_family)],
                # A container exited non-zero, or the task never started one (no exit code at all: an image pull,
                # ENI or secret failure, stopCode TaskFailedToStart: ECS API, Task.stopCode). A pattern field
                # matches only when the event has it, hence the two branches ("$or": EventBridge content filtering,
                # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
                "$or": [{"containers": {"exitCode": [{"anything-but": 0}]}}, {"stopCode": ["TaskFailedToStart"]}],
            }},
            {"task": "$.detail.taskArn", "reason": "$.detail.stoppedReason"},
            "The restore drill <task> failed (see its log group)", free_text=["reason"])

    # --- dashboard -------------------------------------------------------------------------------------------------

    def _dashboard(self) -> aws.cloudwatch.Dashboard:
        body = dashboard_body(region=self._args.context.region,
                              alarm_arns=[alarm.arn for alarm in self.alarms.values()], sections=self._sections)
        return aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=self._args.name_prefix,
            dashboard_body=json_output(body),
            opts=pulumi.ResourceOptions(parent=self),
        )
