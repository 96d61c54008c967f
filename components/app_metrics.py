"""The app's Prometheus metrics: an Amazon Managed Service for Prometheus (AMP) workspace, the ADOT collector sidecar
that feeds it from every web and AI task, the guide's alert rules routed to the alert topic, and an optional Amazon
Managed Grafana workspace.

The seed's app registers prom-client metrics (`http_requests_total{method, route, status_code}`,
`http_request_duration_seconds{method, route}` with buckets up to 10 s, `cache_hit_rate{strategy}` in percent,
`database_connections_active`) and shows a Grafana. On AWS:

* **Collector: an ADOT sidecar per task** (AWS Distro for OpenTelemetry), the pattern the ECS guide documents
  ("adding the AWS Distro for OpenTelemetry sidecar container to your task definition",
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/application-metrics-prometheus.html). It scrapes
  `127.0.0.1:<port><path>` inside the task's own network namespace, so no security group rule opens a metrics port
  and nothing outside the task can scrape it; it remote-writes with SigV4 using the task role, which may call
  `aps:RemoteWrite` on this workspace and nothing else. Chosen over a collector *service* (ECS service discovery needs
  `ecs:ListTasks`/`DescribeTasks` on `*` and an ingress rule on every task; two HA collectors cost more than the
  sidecars' reserved share) and over AMP's managed collector ("Workspaces created with customer managed keys cannot
  use AWS managed collectors for ingestion",
  https://docs.aws.amazon.com/prometheus/latest/userguide/encryption-at-rest-Amazon-Service-Prometheus.html, and it
  is billed per collector-hour). Sizes and their Fargate consequences: docs/app-metrics.md.
* **Series from different tasks never collide**: every task scrapes `127.0.0.1`, so without more the series of three
  web tasks would be identical. The collector detects its ECS task (resourcedetection `ecs`, task metadata endpoint)
  and sets `service.instance.id` to the task id, which the remote-write exporter turns into the `instance` label.
* **Alert rules** (`aws.amp.RuleGroupNamespace`) for the guide's signals (error rate, p95 latency, cache hit rate,
  DB connections) plus the collector's own health, with thresholds from the same `alarm*` settings as the CloudWatch
  alarms; the **alert manager** routes them to the stack's SNS alert topic. Both start with `send_alerts_to`, once
  the services the collectors run in exist (rules on an empty workspace would page MetricsMissing on a first deploy).
* **Optional Managed Grafana** (`grafanaEnabled`, off by default): its own customer-managed role may only query this
  workspace; users sign in through IAM Identity Center or a SAML IdP.

Lifecycle: the workspace holds the metric history (retention `appMetricsRetentionDays`) and is protected under
`removalPolicy: retain`. Its KMS key cannot change after creation ("Workspaces created with customer managed keys
can't be converted to use AWS owned keys later"): a different key replaces the workspace and loses its data.
"""

from __future__ import annotations

import fnmatch
import json
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import yaml

from components.alarm_catalog import AlarmThresholds
from components.base import RETAIN, AwsContext, RemovalPolicy, named_tags, policy_json, retains
from components.constants import (
    AMP_ALERT_ACTIONS,
    AMP_QUERY_ACTIONS,
    LOG_RETENTION_DAYS,
    METRICS_COLLECTOR_IMAGE,
    METRICS_COLLECTOR_USER,
    METRICS_PATH,
    PRIVATE_PATHS,
    PROJECT,
    WEB_PORT,
)
from components.observability import PrometheusWatch, TopicPublisher, alert_topic_arn, encrypted_topic_key_statement
from components.settings import Rules, section, setting
from components.task import ContainerSpec, FargateTaskArgs, HealthCheck

HISTOGRAM_TOP_BUCKET_SECONDS = 10
"""The seed's `http_request_duration_seconds` buckets end at 10 s (0.1 ... 7, 10): a p95 above 10 s is reported as
10, so a latency threshold must stay below it to be able to fire."""
RULE_NAMESPACE = f"{PROJECT}-app"
COLLECTOR_CONTAINER = "metrics-collector"
COLLECTOR_HEALTH_PORT = 13133
"""The ADOT health_check extension's port; the image's `/healthcheck` binary probes 127.0.0.1:13133."""
SERVICE_PRINCIPAL = "aps.amazonaws.com"
IMAGE_REFERENCE = re.compile(r"^[a-z0-9.\-/:]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$")
AuthenticationProvider = Literal["AWS_SSO", "SAML"]


def _check_image(value: str) -> str | None:
    if not IMAGE_REFERENCE.match(value) or value.endswith(":latest"):
        return "must be an image reference with a release tag or a digest (never latest), e.g. " + \
            METRICS_COLLECTOR_IMAGE
    return None


def _check_path(value: str) -> str | None:
    return None if re.fullmatch(r"/[A-Za-z0-9_./-]*", value) else "must be an absolute URL path such as /metrics"


def _check_https(value: str) -> str | None:
    parsed = urllib.parse.urlsplit(value)
    if not value or (parsed.scheme == "https" and parsed.hostname and not any(c.isspace() for c in value)):
        return None
    return "must be an https:// URL with a host (the IdP metadata)"


IDENTITY_STORE_GROUP_ID = re.compile(
    r"^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$")
"""An IAM Identity Center group id, the Identity Store API's GroupId pattern (API_GroupMembership): a UUID, with the
identity store's ten-digit prefix unless the store was migrated from legacy SSO."""


def _check_group_id(value: str) -> str | None:
    return None if IDENTITY_STORE_GROUP_ID.match(value) else (
        "must be an IAM Identity Center group id (a UUID, e.g. 9067c1a2b3-1f2e3d4c-5b6a-4789-8a9b-0c1d2e3f4a5b: "
        "`aws identitystore get-group-id`)")


def _check_role_value(value: str) -> str | None:
    return None if value.strip() else "must be a non-empty value of the IdP's role assertion"


def _check_metrics_port(value: int) -> str | None:
    # The apps run as a non-root user (NON_ROOT_USER), which cannot bind below 1024; the collector sidecar in the
    # same task (one network namespace, awsvpc) holds its health port.
    if value == 0 or (1024 <= value <= 65535 and value != COLLECTOR_HEALTH_PORT):
        return None
    return (f"must be 0 (the app's own port) or 1024-65535 other than {COLLECTOR_HEALTH_PORT} (the collector's "
            "health port in the same task): the app runs as a non-root user")


# --- settings --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class GrafanaSettings:
    """The optional Amazon Managed Grafana workspace (keys grafana*)."""

    enabled: bool = setting(
        "grafanaEnabled", False, "Create an Amazon Managed Grafana workspace that can query the metrics workspace "
        "(default false: $9/month per active editor, at least one per workspace; the CloudWatch dashboard and the "
        "alert rules need no Grafana).")
    authentication_providers: tuple[str, ...] = setting(
        "grafanaAuthenticationProviders", ("AWS_SSO",), "How Grafana users sign in: AWS_SSO (IAM Identity Center, "
        "enabled in the account or its organization) and/or SAML (your IdP); Grafana has no other user store. "
        "Default [AWS_SSO].", choices=("AWS_SSO", "SAML"))
    admin_group_ids: tuple[str, ...] = setting(
        "grafanaAdminGroupIds", (), "IAM Identity Center group ids given the Grafana ADMIN role (AWS_SSO needs at "
        "least one: someone must add the data source). Default none.", check=_check_group_id)
    viewer_group_ids: tuple[str, ...] = setting(
        "grafanaViewerGroupIds", (), "IAM Identity Center group ids given the Grafana VIEWER role. Default none.",
        check=_check_group_id)
    saml_metadata_url: str = setting(
        "grafanaSamlMetadataUrl", "", "SAML: the IdP metadata URL (https); required with SAML. Default empty.",
        check=_check_https)
    saml_admin_role_values: tuple[str, ...] = setting(
        "grafanaSamlAdminRoleValues", (), "SAML: values of the role assertion that make a user ADMIN; required with "
        "SAML. Default none.", check=_check_role_value)
    saml_editor_role_values: tuple[str, ...] = setting(
        "grafanaSamlEditorRoleValues", (), "SAML: values of the role assertion that make a user EDITOR; required "
        "with SAML (the API requires it). Default none.", check=_check_role_value)

    def validate(self, rules: Rules) -> None:
        if not self.enabled:
            return
        if not self.authentication_providers:
            rules.problem("authentication_providers", "needs AWS_SSO and/or SAML: Amazon Managed Grafana "
                          "authenticates users only through IAM Identity Center or a SAML IdP")
        if "AWS_SSO" in self.authentication_providers and not self.admin_group_ids:
            rules.problem("admin_group_ids", f"with {rules.key('authentication_providers')} AWS_SSO, name at least "
                          "one IAM Identity Center group to administer the workspace",
                          also=["authentication_providers"])
        if "SAML" in self.authentication_providers:
            for name, what in (("saml_metadata_url", "the IdP metadata URL"),
                               ("saml_admin_role_values", "the role values of admins"),
                               ("saml_editor_role_values", "the role values of editors")):
                if not getattr(self, name):
                    rules.problem(name, f"required with {rules.key('authentication_providers')} SAML: {what}",
                                  also=["authentication_providers"])


@dataclass(frozen=True, kw_only=True)
class AppMetricsSettings:
    """The app's Prometheus metrics: workspace, collector and optional Grafana (keys appMetrics*, metricsCollector*,
    grafana*); the alert thresholds are the `alarm*` keys."""

    enabled: bool = setting(
        "appMetricsEnabled", True, "Collect the app's Prometheus metrics (/metrics of web and AI) into an Amazon "
        "Managed Service for Prometheus workspace with alert rules (prod requires it; default true). false on a "
        "retain stack: the workspace keeps the metric history and is protected; `pulumi state unprotect` it and its "
        "rule, configuration and alert-manager children first.")
    scrape_interval_seconds: int = setting(
        "appMetricsScrapeIntervalSeconds", 60, "Seconds between scrapes of each task (10-120; samples, and so cost, "
        "scale with 1/interval; the alert rules' 5-minute rates need at least two samples). Default 60.",
        minimum=10, maximum=120)
    path: str = setting(
        "appMetricsPath", METRICS_PATH, "URL path of the apps' Prometheus endpoint, scraped on 127.0.0.1 inside each "
        "task (never through the ALB). Default /metrics.", check=_check_path)
    web_port: int = setting(
        "webMetricsPort", 0, "Port the web app serves metrics on inside the task; 0 (default) = its HTTP port 3000. "
        "A separate loopback-only port keeps /metrics off the ALB-facing port altogether (1024-65535: the app runs as "
        "a non-root user).", check=_check_metrics_port)
    ai_port: int = setting(
        "aiMetricsPort", 0, "Port the AI server serves metrics on inside the task; 0 (default) = aiPort (1024-65535: "
        "the app runs as a non-root user).", check=_check_metrics_port)
    retention_days: int = setting(
        "appMetricsRetentionDays", 150, "Days the workspace keeps metrics (1-1095; AMP's default 150).",
        minimum=1, maximum=1095)
    max_series_per_service: int = setting(
        "appMetricsMaxSeriesPerService", 20_000, "Active-series limit per service (job) in the workspace: a label "
        "explosion (e.g. raw URLs as `route`) is throttled instead of billed (about 10x the expected series). "
        "Default 20000.", minimum=1_000, maximum=10_000_000)
    collector_image: str = setting(
        "metricsCollectorImage", METRICS_COLLECTOR_IMAGE, f"ADOT collector image (release tag or digest, never "
        f"latest). Default {METRICS_COLLECTOR_IMAGE}.", check=_check_image)
    collector_cpu: int = setting(
        "metricsCollectorCpu", 32, "CPU units reserved for the collector sidecar in each web/AI task: its guaranteed "
        "share under contention (it may use idle CPU beyond it; at most a quarter of the task). Default 32 (1/32 "
        "vCPU: one scrape a minute of a few hundred series).", minimum=16, maximum=1024)
    collector_memory: int = setting(
        "metricsCollectorMemory", 128, "Hard memory limit of the collector sidecar in MiB (its memory_limiter keeps it "
        "at 80%; at most a quarter of the task's memory). Default 128.", minimum=64, maximum=2048)
    grafana: GrafanaSettings = section(GrafanaSettings)

    def validate(self, rules: Rules) -> None:
        if self.grafana.enabled and not self.enabled:
            rules.problem("grafana.enabled", f"needs {rules.key('enabled')} = true (Grafana reads the metrics "
                          "workspace)", also=["enabled"])
        # On the web app's own port the endpoint is behind the public listener too: only the paths its 404 rule
        # (and the CDN's) covers stay private.
        if self.enabled and self.web_port in (0, WEB_PORT) and not any(fnmatch.fnmatchcase(self.path, pattern)
                                                                       for pattern in PRIVATE_PATHS):
            rules.problem("path", f"is served on the web app's ALB-facing port ({rules.key('web_port')} "
                          f"{self.web_port}: port {WEB_PORT}), where only {', '.join(PRIVATE_PATHS)} answer 404 to "
                          f"the internet: use one of those, or a loopback-only {rules.key('web_port')}",
                          also=["web_port"])

    def port_for(self, job: str, app_port: int) -> int:
        """The port the collector of `job` (web, ai) scrapes."""
        configured = {"web": self.web_port, "ai": self.ai_port}.get(job, 0)
        return configured or app_port


# --- alert rules -----------------------------------------------------------------------------------------------------

Severity = Literal["page", "ticket"]


@dataclass(frozen=True)
class AlertRule:
    """One Prometheus alerting rule of the workspace (rendered into the rule group namespace and the docs)."""

    name: str
    expr: str
    duration: str
    """How long the expression must hold (`for`)."""
    severity: Severity
    summary: str
    signal: str
    """The guide's signal it watches, for the docs table."""
    measure: str = ""
    """The measured expression (left of the threshold), for dashboards; empty for presence rules."""
    threshold: float | None = None
    """The value `measure` is compared with (in its own unit)."""


def _promql_regex(prefixes: Sequence[str]) -> str:
    """`route` values starting with any of the path prefixes, as a fully anchored RE2 regex in a PromQL string."""
    body = "|".join(re.escape(p) for p in prefixes)
    return (f"(?:{body}).*" if body else "").replace("\\", "\\\\")


def alert_rules(thresholds: AlarmThresholds, *, app_connections: int,
                streaming_routes: Sequence[str] = ()) -> list[AlertRule]:
    """The alert rules for the guide's signals and the collector's health, thresholds from `alarm*` settings.

    Labels are the seed's: `status_code` (not `status`) on the counter, `route` on both. The latency rule leaves out
    the streaming routes (the AI chat: tens of seconds by design, and the histogram tops out at 10 s)."""
    traffic = "job:http_requests:rate5m > 0.1"  # at least 6 requests a minute: a single error at night pages nobody
    not_streaming = f'route!~"{_promql_regex(streaming_routes)}"' if streaming_routes else ""
    latency_selector = "{" + not_streaming + "}" if not_streaming else ""
    error_ratio = thresholds.app_error_rate_percent / 100
    p95 = thresholds.latency_p95_ms / 1000
    # A share of the connections the app's pools can hold (connection_budget.app_connections), not of the database's
    # max_connections: behind RDS Proxy the app never reaches the primary's limit (the proxy caps it), so 80% of
    # max_connections could never fire; pools near full at full scale are what the app feels (requests queue on the
    # Prisma pool).
    connections = app_connections * thresholds.db_connections_percent // 100
    latency = ("histogram_quantile(0.95, sum by (job, le) "
               f"(rate(http_request_duration_seconds_bucket{latency_selector}[5m])))")
    cache = "avg by (job, strategy) (cache_hit_rate)"
    return [
        AlertRule(
            "AppErrorRateHigh", f"job:http_errors:ratio_rate5m > {error_ratio:g} and {traffic}", "5m", "page",
            f"more than {thresholds.app_error_rate_percent}% of {{{{ $labels.job }}}} requests answer 5xx",
            "error rate", "job:http_errors:ratio_rate5m", error_ratio),
        AlertRule(
            "AppLatencyP95High", f"{latency} > {p95:g} and {traffic}", "10m", "page",
            f"p95 latency of {{{{ $labels.job }}}} above {p95:g} s (streamed AI routes excluded)", "p95 latency",
            latency, p95),
        AlertRule(
            "CacheHitRateLow", f"{cache} < {thresholds.cache_hit_rate_percent}", "30m", "ticket",
            f"cache hit rate of strategy {{{{ $labels.strategy }}}} below {thresholds.cache_hit_rate_percent}% for "
            "30 minutes", "cache hit rate", cache, thresholds.cache_hit_rate_percent),
        AlertRule(
            "DatabaseConnectionsHigh", f"sum(database_connections_active) > {connections}", "10m", "page",
            f"the app holds more than {connections} database connections ({thresholds.db_connections_percent}% of "
            f"the {app_connections} its pools hold at full scale)", "DB connections",
            "sum(database_connections_active)", connections),
        AlertRule(
            "MetricsEndpointDown", "up == 0", "5m", "ticket",
            "a {{ $labels.job }} task does not answer its metrics endpoint", "collection"),
        AlertRule(
            "MetricsMissing", 'absent(up{job="web"}) or absent(up{job="ai"})', "10m", "page",
            "no metrics arrive from {{ $labels.job }} (collector sidecar down or remote write denied)", "collection"),
    ]


RECORDING_RULES = (
    ("job:http_requests:rate5m", "sum by (job) (rate(http_requests_total[5m]))"),
    ("job:http_errors:rate5m", 'sum by (job) (rate(http_requests_total{status_code=~"5.."}[5m]))'),
    ("job:http_errors:ratio_rate5m", "job:http_errors:rate5m / job:http_requests:rate5m"),
)


_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's emitter when PyYAML has it (its wheels do): the same text as the pure-Python one, ~10x faster."""


def dump_yaml(document: Any, *, width: int = 80) -> str:
    """`yaml.safe_dump(document, sort_keys=False, width=width)`: keys in the order written, lines up to `width`."""
    return yaml.dump(document, Dumper=_YAML_DUMPER, sort_keys=False, width=width)


def rule_groups_yaml(rules: Sequence[AlertRule]) -> str:
    """The rule group namespace document (Prometheus rules-file format) AMP evaluates every minute."""
    document = {"groups": [{
        "name": RULE_NAMESPACE,
        "interval": "1m",
        "rules": [{"record": name, "expr": expr} for name, expr in RECORDING_RULES] + [{
            "alert": rule.name,
            "expr": rule.expr,
            "for": rule.duration,
            "labels": {"severity": rule.severity},
            "annotations": {"summary": rule.summary,
                            "runbook": f"docs/runbooks/app-metrics.md#{rule.name.lower()}"},
        } for rule in rules],
    }]}
    return dump_yaml(document, width=120)


def alert_manager_yaml(topic_arn: str, region: str) -> str:
    """The alert manager definition: every alert, grouped per alert and service, to the SNS alert topic.

    SNS is the only receiver AMP supports; "SigV4 settings are required to have a Region property"
    (https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-alertmanager-receiver-config.html). The subject is
    set explicitly: the default one can be longer than SNS's 100-character subject limit."""
    config = {
        "route": {"receiver": "alert-topic", "group_by": ["alertname", "job"], "group_wait": "30s",
                  "group_interval": "5m", "repeat_interval": "4h"},
        "receivers": [{"name": "alert-topic", "sns_configs": [{
            "topic_arn": topic_arn,
            "sigv4": {"region": region},
            "send_resolved": True,
            "subject": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.job }}",
            "message": "{{ range .Alerts }}{{ .Labels.severity }}: {{ .Annotations.summary }} "
                       "(runbook: {{ .Annotations.runbook }})\n{{ end }}",
            "attributes": {"source": "amazon-managed-prometheus"},
        }]}],
    }
    return "alertmanager_config: |\n" + "".join(
        f"  {line}\n" for line in dump_yaml(config, width=200).splitlines())


# --- the collector sidecar -------------------------------------------------------------------------------------------

# Resource attributes of the ecs detector we do not want (they would reach target_info as labels): the log group and
# stream lists. Every other attribute stays; aws.ecs.task.id becomes the `instance` label.
_DROPPED_ECS_ATTRIBUTES = ("aws.log.group.arns", "aws.log.group.names", "aws.log.stream.arns", "aws.log.stream.names")


def collector_config(*, job: str, port: int, path: str, interval_seconds: int, region: str, remote_write_url: str,
                     memory_mib: int) -> dict[str, Any]:
    """The ADOT collector configuration of one task (AOT_CONFIG_CONTENT): scrape the app on loopback, label the series
    with the task, remote-write to AMP with SigV4.

    The three components are AMP's documented ADOT pipeline: Prometheus receiver, Prometheus remote write exporter,
    SigV4 authentication extension
    (https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-onboard-ingest-metrics-OpenTelemetry.html)."""
    return {
        "extensions": {
            "health_check": {"endpoint": f"127.0.0.1:{COLLECTOR_HEALTH_PORT}"},
            "sigv4auth": {"region": region, "service": "aps"},
        },
        "receivers": {"prometheus": {"config": {
            "global": {"scrape_interval": f"{interval_seconds}s",
                       "scrape_timeout": f"{min(10, interval_seconds)}s"},
            "scrape_configs": [{"job_name": job, "metrics_path": path, "scheme": "http",
                                "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}],
        }}},
        "processors": {
            # Refuse data before the container's hard limit kills it (a crash would lose the batch anyway).
            "memory_limiter": {"check_interval": "1s", "limit_mib": memory_mib * 4 // 5,
                               "spike_limit_mib": memory_mib // 5},
            "resourcedetection/ecs": {"detectors": ["ecs"], "timeout": "5s", "override": False, "ecs": {
                "resource_attributes": {name: {"enabled": False} for name in _DROPPED_ECS_ATTRIBUTES}}},
            # Every task scrapes 127.0.0.1: the task id as `instance` keeps their series apart.
            "resource/instance": {"attributes": [
                {"key": "service.instance.id", "from_attribute": "aws.ecs.task.id", "action": "upsert"}]},
            "batch": {"timeout": "10s", "send_batch_size": 1024},
        },
        "exporters": {"prometheusremotewrite": {
            "endpoint": remote_write_url,
            "auth": {"authenticator": "sigv4auth"},
        }},
        "service": {
            "extensions": ["health_check", "sigv4auth"],
            "pipelines": {"metrics": {
                "receivers": ["prometheus"],
                "processors": ["memory_limiter", "resourcedetection/ecs", "resource/instance", "batch"],
                "exporters": ["prometheusremotewrite"],
            }},
            # No self-metrics endpoint: the collector listens on nothing but its loopback health check.
            "telemetry": {"metrics": {"level": "none"}},
        },
    }


@dataclass(frozen=True)
class MetricsSidecar:
    """What a task needs to ship its metrics: the collector container and the task role statements it uses."""

    container: ContainerSpec
    task_role_statements: tuple[dict[str, Any], ...]


# --- the component ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AppMetricsArgs:
    """Inputs of AppMetrics."""

    context: AwsContext
    """Account, partition and region."""
    settings: AppMetricsSettings
    """Scrape interval, path, ports, retention, collector size, Grafana."""
    key: aws.kms.Key
    """Telemetry CMK (EncryptionKeys.logs): the workspace's data and its log group."""
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    """The alert thresholds (shared with the CloudWatch alarms); default the production values."""
    app_connections: int = field(kw_only=True)
    """The connections the app's pools hold at full scale (connection_budget.app_connections; required); the DB
    connections alert fires at alarmDbConnectionsPercent of it."""
    streaming_routes: Sequence[str] = ()
    """Path prefixes whose responses stream (the AI chat), left out of the p95 latency rule; default none."""
    log_retention_days: int = LOG_RETENTION_DAYS
    """Retention of the workspace's log group; default 365."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): the workspace (the metric history) is protected."""
    name_prefix: str = PROJECT
    """Workspace alias, log group and rule names (maratron-prod)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        if self.app_connections < 1:
            raise ValueError(f"app_connections must be positive, got {self.app_connections}")


class AppMetrics(pulumi.ComponentResource):
    """AMP workspace (CMK, logs), its configuration and alert rules; collector sidecars; optional Grafana."""

    workspace: aws.amp.Workspace
    log_group: aws.cloudwatch.LogGroup
    rules: aws.amp.RuleGroupNamespace | None
    """The recording and alert rules; created by `send_alerts_to`, once the services they watch exist."""
    alert_manager: aws.amp.AlertManagerDefinition | None
    """Created by `send_alerts_to` (the topic comes later in the stack than the collectors)."""
    grafana: aws.grafana.Workspace | None

    def __init__(self, name: str, args: AppMetricsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ops:AppMetrics", name, None, opts)
        self._name = name
        self._args = args
        ctx, settings = args.context, args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.rules = None
        self.alert_manager = None

        # AMP delivers its logs as CloudWatch vended logs: the delivery service writes through a resource policy
        # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-CWL.html). An explicit
        # one for exactly this group, for this account, instead of the broad account-wide policy AWS would add.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/vendedlogs/prometheus/{args.name_prefix}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.key.arn,
            tags=named_tags(args.tags, f"{args.name_prefix}-prometheus-logs"),
            opts=child,
        )
        delivery = aws.cloudwatch.LogResourcePolicy(
            f"{name}-logs",
            policy_name=f"{args.name_prefix}-prometheus-log-delivery",
            policy_document=policy_json([{
                "Sid": "PrometheusLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": self.log_group.arn.apply(lambda arn: f"{arn}:*"),
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                              "ArnLike": {"aws:SourceArn": ctx.arn("logs", "*")}},
            }]),
            opts=pulumi.ResourceOptions(parent=self.log_group),
        )
        self.workspace = aws.amp.Workspace(
            name,
            alias=args.name_prefix,
            # "To use your own KMS key to encrypt data stored in your workspace, you can include the kmsKeyArn
            # parameter" (https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-create-workspace.html); AMP
            # creates its grants with the deployer's permissions (the key delegates to IAM).
            kms_key_arn=args.key.arn,
            logging_configuration=aws.amp.WorkspaceLoggingConfigurationArgs(
                log_group_arn=self.log_group.arn.apply(lambda arn: f"{arn}:*")),
            tags=named_tags(args.tags, f"{args.name_prefix}-prometheus"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[delivery], protect=retains(args.removal_policy)),
        )
        aws.amp.WorkspaceConfiguration(
            name,
            workspace_id=self.workspace.id,
            retention_period_in_days=settings.retention_days,
            # A cardinality accident is throttled per service instead of billed (AMP limits per label set,
            # https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-workspace-configuration.html).
            limits_per_label_sets=[aws.amp.WorkspaceConfigurationLimitsPerLabelSetArgs(
                label_set={"job": job},
                limits=aws.amp.WorkspaceConfigurationLimitsPerLabelSetLimitsArgs(
                    max_series=settings.max_series_per_service),
            ) for job in ("web", "ai")],
            opts=pulumi.ResourceOptions(parent=self.workspace),
        )
        self.grafana = self._grafana() if settings.grafana.enabled else None
        self.register_outputs({"workspaceId": self.workspace.id, "workspaceArn": self.workspace.arn,
                               "endpoint": self.workspace.prometheus_endpoint})

    # --- capabilities -------------------------------------------------------------------------------------------

    @property
    def alert_rules(self) -> list[AlertRule]:
        args = self._args
        return alert_rules(args.thresholds, app_connections=args.app_connections,
                           streaming_routes=args.streaming_routes)

    @property
    def remote_write_url(self) -> pulumi.Output[str]:
        """`<endpoint>api/v1/remote_write` (the endpoint ends with a slash)."""
        return pulumi.Output.concat(self.workspace.prometheus_endpoint, "api/v1/remote_write")

    def collector(self, job: str, app_port: int) -> MetricsSidecar:
        """The collector sidecar of one service's tasks (job = web or ai) and the task role statements it needs."""
        settings, ctx = self._args.settings, self._args.context
        port = settings.port_for(job, app_port)
        config = self.remote_write_url.apply(lambda url: dump_yaml(collector_config(
            job=job, port=port, path=settings.path, interval_seconds=settings.scrape_interval_seconds,
            region=ctx.region, remote_write_url=url, memory_mib=settings.collector_memory)))
        container = ContainerSpec(
            name=COLLECTOR_CONTAINER,
            image=settings.collector_image,
            # "This environment variable contains a full collector configuration file and it overrides the
            # configuration file used in the collector entry point command" (ADOT on ECS). No secret in it.
            environment={"AOT_CONFIG_CONTENT": config},
            user=METRICS_COLLECTOR_USER,
            scratch_paths=(),  # the pipeline keeps everything in memory: nothing to write
            # The image's own `/healthcheck` binary probes the health_check extension (FROM scratch: no shell).
            # Informational only: "The container health check status of nonessential containers do not have an
            # effect on the health status of a task" (ECS API, HealthCheck), and the restart policy acts on exits.
            health_check=HealthCheck(("CMD", "/healthcheck"), timeout=5, start_period=30),
            # A dead collector must not take the app down: ECS restarts it in place once it had run a minute (an
            # earlier exit, e.g. a bad config, leaves it stopped), and MetricsMissing pages when no task of a
            # service writes any more.
            essential=False,
            restart_after_seconds=60,
            cpu=settings.collector_cpu,
            memory=settings.collector_memory,
            stop_timeout=10,
        )
        return MetricsSidecar(container, tuple(self.remote_write_statements()))

    def scraping(self, task: FargateTaskArgs) -> FargateTaskArgs:
        """`task` with the collector sidecar of its service (job = the app container's name, scraping its port) and
        the task role statements the collector needs."""
        sidecar = self.collector(task.container.name, task.container.port or 0)
        return replace(task, sidecars=(*task.sidecars, sidecar.container),
                       task_role_statements=(*task.task_role_statements, *sidecar.task_role_statements))

    @property
    def watch(self) -> PrometheusWatch:
        """What the alarms watch: the workspace's alert manager deliveries."""
        return PrometheusWatch(self.workspace.id)

    def remote_write_statements(self) -> list[dict[str, Any]]:
        """Task role statements of a collector: remote write to this workspace only, and the workspace's CMK only
        through AMP.

        The KMS statement is the identity-policy form of AMP's key-policy guidance (principals of the account may use
        the key with `kms:ViaService` aps.<region>.amazonaws.com; here the key's account statement delegates to IAM),
        and "Your encrypted data is not accessible from other services, unless they also have access to use the AWS
        KMS key" (https://docs.aws.amazon.com/prometheus/latest/userguide/encryption-at-rest-Amazon-Service-
        Prometheus.html). AMP may never evaluate it: its IAM feature table lists forward access sessions as not
        supported (https://docs.aws.amazon.com/prometheus/latest/userguide/security_iam_service-with-iam.html), so it
        likely uses the grants it creates at workspace creation; the statement costs nothing and covers a change.
        No encryption-context condition: that page names the context key both `aws:amp:arn` and `aws:aps:arn`."""
        ctx = self._args.context
        return [
            {"Sid": "RemoteWriteToTheWorkspace", "Effect": "Allow", "Action": ["aps:RemoteWrite"],
             "Resource": [self.workspace.arn]},
            {"Sid": "WorkspaceKeyThroughPrometheusOnly", "Effect": "Allow",
             "Action": ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"], "Resource": [self._args.key.arn],
             "Condition": {"StringEquals": {"kms:ViaService": f"aps.{ctx.region}.amazonaws.com"}}},
        ]

    @property
    def alert_publisher(self) -> TopicPublisher:
        """The topic policy statement's subject: AMP publishing for this workspace only (confused-deputy guard).

        AMP's documented statement: aps.amazonaws.com, sns:Publish and sns:GetTopicAttributes, `aws:SourceArn` = the
        workspace, `aws:SourceAccount` = the account
        (https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-alertmanager-receiver-AMPpermission.html)."""
        return TopicPublisher("AllowPrometheusAlertManagerOfThisWorkspace", SERVICE_PRINCIPAL, self.workspace.arn,
                              ("sns:Publish", "sns:GetTopicAttributes"),
                              subscribe=lambda topic, after: self.send_alerts_to(topic, after=after))

    def send_alerts_to(self, topic: aws.sns.Topic, *, after: Sequence[pulumi.Resource] = ()) -> None:
        """Start alerting: the rule namespace AMP evaluates every minute, and the alert manager routing every alert
        to `topic` (same region: aps.amazonaws.com publishes only within the workspace's region), both once `after`
        exists. `after`: the topic and key policies that let AMP publish (no alert fires into a denial), and the
        services the collectors run in (Observability passes the services it watches). Rules on an empty workspace
        would fire: `absent(up{job="web"})` is true until a collector writes, so MetricsMissing would page ten
        minutes into a first deploy while the services still wait for the database (Prometheus `absent()`: "returns
        a 1-element vector ... if the vector passed to it has no elements",
        https://prometheus.io/docs/prometheus/latest/querying/functions/#absent)."""
        args = self._args
        self.rules = aws.amp.RuleGroupNamespace(
            self._name,
            name=RULE_NAMESPACE,
            workspace_id=self.workspace.id,
            data=rule_groups_yaml(self.alert_rules),
            tags=named_tags(args.tags, f"{args.name_prefix}-{RULE_NAMESPACE}"),
            opts=pulumi.ResourceOptions(parent=self.workspace, depends_on=list(after)),
        )
        self.alert_manager = aws.amp.AlertManagerDefinition(
            self._name,
            workspace_id=self.workspace.id,
            definition=topic.arn.apply(lambda arn: alert_manager_yaml(arn, args.context.region)),
            opts=pulumi.ResourceOptions(parent=self.workspace, depends_on=list(after)),
        )

    @staticmethod
    def alerts_key_statements(settings: AppMetricsSettings, context: AwsContext,
                              name_prefix: str) -> list[dict[str, Any]]:
        """The alert topic key's statements for the alert manager (none with metrics off); the topic's ARN is known
        before the topic exists (observability.alert_topic_arn), the key before both."""
        if not settings.enabled:
            return []
        return [AppMetrics.alert_topic_key_statement(alert_topic_arn(context, name_prefix))]

    @staticmethod
    def alert_topic_key_statement(topic_arn: str) -> dict[str, Any]:
        """The statement the alert topic's CMK needs so the alert manager can publish to the encrypted topic.

        "If your Amazon SNS topic is service side encryption (SSE) enabled, you need to allow Amazon Managed Service
        for Prometheus to send messages to this encrypted topic by adding the kms:GenerateDataKey* and kms:Decrypt
        permissions" (AMP-alertmanager-receiver-AMPpermission, which shows no condition): scoped to this one topic as
        every service publisher is (observability.encrypted_topic_key_statement)."""
        return encrypted_topic_key_statement("AllowPrometheusAlertManagerToEncryptedAlertTopic", SERVICE_PRINCIPAL,
                                             topic_arn)

    # --- parts --------------------------------------------------------------------------------------------------

    def _grafana(self) -> aws.grafana.Workspace:
        """A Grafana workspace whose own (customer-managed) role may query this workspace and nothing else.

        SERVICE_MANAGED would attach AWS managed policies reading every workspace and data source type of the
        account. Users authenticate only through IAM Identity Center or a SAML IdP
        (https://docs.aws.amazon.com/grafana/latest/userguide/Grafana-users.html). The Prometheus data source
        itself is one documented step (docs/app-metrics.md): creating it from code would need a Grafana API token in
        the state, valid 30 days at most, and the Grafana provider plugin."""
        args, ctx, settings = self._args, self._args.context, self._args.settings.grafana
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-grafana",
            description=f"{args.name_prefix} Grafana: the {args.name_prefix} Prometheus workspace and its alerts only",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "grafana.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                              "ArnLike": {"aws:SourceArn": ctx.arn("grafana", "/workspaces/*")}},
            }]}),
            tags=named_tags(args.tags, f"{args.name_prefix}-grafana"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-grafana",
            role=role.id,
            policy=policy_json([
                {"Sid": "QueryTheWorkspace", "Effect": "Allow", "Action": list(AMP_QUERY_ACTIONS),
                 "Resource": [self.workspace.arn]},
                # The runbook's silences from Grafana, and its alerting view of the workspace's rules.
                {"Sid": "SeeAndSilenceAlerts", "Effect": "Allow", "Action": list(AMP_ALERT_ACTIONS),
                 "Resource": [self.workspace.arn]},
                {"Sid": "WorkspaceKeyThroughPrometheusOnly", "Effect": "Allow",
                 "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": [args.key.arn],
                 "Condition": {"StringEquals": {"kms:ViaService": f"aps.{ctx.region}.amazonaws.com"}}},
            ]),
            opts=pulumi.ResourceOptions(parent=role),
        )
        workspace = aws.grafana.Workspace(
            f"{self._name}-grafana",
            name=args.name_prefix,
            description=f"{args.name_prefix} dashboards on the app's Prometheus metrics",
            account_access_type="CURRENT_ACCOUNT",
            authentication_providers=list(settings.authentication_providers),
            permission_type="CUSTOMER_MANAGED",
            role_arn=role.arn,
            data_sources=["PROMETHEUS"],
            tags=named_tags(args.tags, f"{args.name_prefix}-grafana"),
            opts=child,
        )
        if "AWS_SSO" in settings.authentication_providers:
            # CreateWorkspace with IAM Identity Center depends on organizations:DescribeOrganization and
            # sso:CreateManagedApplicationInstance/DescribeRegisteredRegions/GetSharedSsoConfiguration (Service
            # Authorization Reference, Amazon Managed Grafana), which the foundation's deploy roles lack or deny.
            pulumi.log.warn(
                "Managed Grafana with IAM Identity Center sign-in (grafanaAuthenticationProviders AWS_SSO): creating "
                "the workspace needs organizations:DescribeOrganization and sso: permissions the deploy roles do not "
                "have; create it once from an administrator session, or use SAML (docs/app-metrics.md)",
                resource=workspace)
        for role_name, groups in (("ADMIN", settings.admin_group_ids), ("VIEWER", settings.viewer_group_ids)):
            if groups and "AWS_SSO" in settings.authentication_providers:
                aws.grafana.RoleAssociation(
                    f"{self._name}-grafana-{role_name.lower()}",
                    workspace_id=workspace.id,
                    role=role_name,
                    group_ids=list(groups),
                    opts=pulumi.ResourceOptions(parent=workspace),
                )
        if "SAML" in settings.authentication_providers:
            aws.grafana.WorkspaceSamlConfiguration(
                f"{self._name}-grafana",
                workspace_id=workspace.id,
                idp_metadata_url=settings.saml_metadata_url,
                admin_role_values=list(settings.saml_admin_role_values),
                editor_role_values=list(settings.saml_editor_role_values),
                role_assertion="role",
                opts=pulumi.ResourceOptions(parent=workspace),
            )
        return workspace

