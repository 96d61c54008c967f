"""The stack's configuration: every component's settings read from `pulumi.Config`, validated, in one typed record.

Each component owns its settings type (keys, defaults, docs, single-value and own cross-field rules; see
components/settings.py); `StackConfig` composes them with the stack-wide keys. This module adds only what no single
component can judge: rules across sections (Redis Multi-AZ needs two AZs, names in the stack's region, build contexts
relative to the project) and per-environment rules (what prod requires). Every problem is reported at once, each
naming the key, the value and what is allowed, before the program registers a single resource; keys no setting
declares (typos) are errors too, with a did-you-mean, and a secret's value is never printed.

Pulumi.yaml's `config:` block is generated from these declarations (`make docs`; a test keeps it current), so the
CLI, the docs (docs/config-reference.md) and this reader share one set of keys and defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as runtime_config

from components.app_environment import IMAGE_SCRATCH_PATHS, AppSettings, app_environment
from components.app_metrics import HISTOGRAM_TOP_BUCKET_SECONDS, AppMetrics, AppMetricsArgs, AppMetricsSettings
from components.app_secrets import AppSecretsSettings
from components.backup_job import BackupJobSettings, needed_ephemeral_storage_gib
from components.backup_storage import BackupStorageSettings
from components.base import RETAIN, AwsContext, RemovalPolicy, region_problem, retains
from components.cache import CacheSettings
from components.cdn import CdnSettings
from components.cluster import ClusterSettings
from components.connection_budget import BudgetInputs, Client, app_connections
from components.connection_budget import check as check_connection_budget
from components.constants import (
    BACKUP_IMAGE_CONTEXT,
    EDGE_REGION,
    ENVIRONMENTS,
    LOG_RETENTION_DAYS,
    MAX_ROTATION_DAYS,
    NON_ROOT_USER,
    PROJECT,
    TLS13_ONLY_POLICIES,
)
from components.credentials import DB_ADMIN_CONCURRENCY, CredentialSettings
from components.database import AUTOMATED_BACKUPS_ARN_PATTERN, KMS_KEY_ARN_PATTERN, DatabaseSettings
from components.disaster_recovery import DisasterRecoverySettings, dr_region_problem, needed_drill_storage_gib
from components.dockerfile import scratch_problems
from components.foundation import FoundationSettings
from components.images import DIGEST_PATTERN, ImageSource
from components.load_balancer import CERTIFICATE_ARN_PATTERN, LoadBalancerSettings
from components.network import NetworkSettings
from components.observability import AlertSettings, alert_topic_arn, budgets_key_statement
from components.settings import (
    MISSING,
    ConfigError,
    ConfigProblem,
    Rules,
    SchemaEntry,
    read,
    schema,
    section,
    setting,
)
from components.waf import WafSettings

__all__ = ["ENVIRONMENTS", "PROJECT", "ConfigError", "ConfigProblem", "StackConfig", "TimeoutHop", "load",
           "require_account", "schema_entries"]

PROJECT_DIR = Path(__file__).resolve().parent
Environment = Literal["dev", "staging", "prod"]
# Values CloudWatch Logs accepts for retentionInDays.
LOG_RETENTION_CHOICES = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)
TAG_VALUE_PATTERN = re.compile(r"^[\w .:/=+\-@]{1,256}$")
IMAGE_FIELDS = {"web": "app.web_image", "ai": "app.ai_image", "backup": "foundation.backup_image"}
"""Service -> the settings path of its image source."""
HOSTNAME_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _check_tag_value(value: str) -> str | None:
    return None if TAG_VALUE_PATTERN.match(value) else "must be 1-256 letters, digits, spaces or _ . : / = + - @"


def _check_hostname(value: str) -> str | None:
    if not value:
        return "required: the app's public hostname, e.g. maratron.example.com"
    return None if HOSTNAME_PATTERN.match(value) else "must be a lower-case DNS hostname such as maratron.example.com"


def _check_origin(value: str) -> str | None:
    host = value.removeprefix("https://")
    if value == host or not HOSTNAME_PATTERN.match(host):
        return "must be an https origin without path or trailing slash, e.g. https://admin.maratron.example.com"
    return None


@dataclass(frozen=True)
class TimeoutHop:
    """One hop a streamed response crosses, and the longest silence it tolerates before it cuts the response."""

    field_path: str
    """The setting that decides it (`load_balancer.idle_timeout_seconds`): problems name its config key."""
    seconds: int
    what: str
    """For messages: `the ALB idle timeout`."""
    zero_is_off: bool = False
    """0 means no limit (Service Connect's per-request timeout): such a hop cuts nothing and is skipped."""


def check_timeout_chain(hops: tuple[TimeoutHop, ...], rules: Rules) -> None:
    """No hop may be shorter than any hop in front of it (hops outermost first): the outer hop must be the one that
    gives up, with a clean 504, rather than see the connection behind it reset (a 502, and a half-written stream).
    Each hop is held to the longest silence in front of it, so a hop behind a broken pair is still checked right."""
    longest: TimeoutHop | None = None
    for hop in hops:
        if hop.zero_is_off and hop.seconds == 0:
            continue
        if longest is not None and hop.seconds < longest.seconds:
            off = "0 (off) or " if hop.zero_is_off else ""
            rules.problem(hop.field_path, f"must be {off}at least {rules.key(longest.field_path)} ({longest.seconds} "
                          f"s): {hop.what} sits behind {longest.what} and must not cut a silence the edge still "
                          "allows", also=[longest.field_path])
        if longest is None or hop.seconds > longest.seconds:
            longest = hop


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Everything the program needs from configuration, validated and typed: stack-wide keys, then one section per
    component (in the order of the architecture: network, data tier, edge, app tier, operations)."""

    environment: Environment = setting(
        "environment", "prod", "Environment profile: dev, staging or prod. Drives the HA and protection rules checked "
        "at startup (prod requires Multi-AZ, failover, retained data, alert recipients, ...).")
    removal_policy: RemovalPolicy = setting(
        "removalPolicy", RETAIN, "What deleting or replacing stateful resources may do: retain (keep the data: "
        "protect, RDS deletion protection + final snapshot + kept automated backups, final Redis snapshot, retained "
        "buckets, 30-day secret recovery, protected keys) or destroy (a disposable stack; never prod).")
    owner: str = setting(
        "owner", "platform-team", "Team that owns the stack; applied as the `owner` tag on every taggable resource.",
        check=_check_tag_value)
    cost_center: str = setting(
        "costCenter", "maratron", "Cost allocation tag (`cost-center`) applied to every taggable resource.",
        check=_check_tag_value)
    log_retention_days: int = setting(
        "logRetentionDays", LOG_RETENTION_DAYS, "Retention of every CloudWatch log group the stack creates, in days "
        "(a value CloudWatch accepts; 365 satisfies CKV_AWS_338).", choices=LOG_RETENTION_CHOICES)
    domain_name: str = setting(
        "domainName", "", "Public hostname of the app (e.g. maratron.example.com): NEXT_PUBLIC_APP_URL, NEXTAUTH_URL, "
        "the certificate and the DNS record. Required; empty is an error.", check=_check_hostname)
    extra_cors_origins: tuple[str, ...] = setting(
        "corsOrigins", (), "Extra https origins the app allows by CORS (CORS_ORIGINS; the edge sets no "
        "Access-Control-Allow-Origin of its own: docs/edge.md), e.g. "
        "[https://admin.maratron.example.com]. https://<domainName> is always allowed.", check=_check_origin)
    network: NetworkSettings = section(NetworkSettings, doc="network (components/network.py)")
    database: DatabaseSettings = section(DatabaseSettings, doc="database (components/database.py)")
    cache: CacheSettings = section(CacheSettings, doc="cache (components/cache.py)")
    storage: BackupStorageSettings = section(BackupStorageSettings, doc="backup storage (components/backup_storage.py)")
    recovery: DisasterRecoverySettings = section(DisasterRecoverySettings, doc="disaster recovery "
                                                 "(components/disaster_recovery.py, components/restore_drill.py)")
    load_balancer: LoadBalancerSettings = section(LoadBalancerSettings, doc="edge: load balancer "
                                                  "(components/load_balancer.py)")
    waf: WafSettings = section(WafSettings, doc="edge: web application firewall (components/waf.py)")
    foundation: FoundationSettings = section(FoundationSettings, doc="foundation: the bootstrap stack and the "
                                             "backup job's image (components/foundation.py)")
    cdn: CdnSettings = section(CdnSettings, doc="edge: CloudFront in front of the ALB (components/cdn.py)")
    cluster: ClusterSettings = section(ClusterSettings, doc="app: cluster (components/cluster.py)")
    app: AppSettings = section(AppSettings, doc="app (components/app_environment.py, service.py, task.py)")
    secrets: AppSecretsSettings = section(AppSecretsSettings, doc="app: third-party secrets (components/app_secrets.py;"
                                          " no defaults: the CLI rejects a plain-text default for a secret key)")
    credentials: CredentialSettings = section(CredentialSettings, doc="app: credentials, bootstrap and rotation "
                                              "(components/credentials.py)")
    backup_job: BackupJobSettings = section(BackupJobSettings, doc="operations: backup job "
                                            "(components/backup_job.py)")
    alerts: AlertSettings = section(AlertSettings, doc="operations: alerting (components/observability.py)")
    metrics: AppMetricsSettings = section(AppMetricsSettings, doc="operations: the app's Prometheus metrics "
                                          "(components/app_metrics.py)")

    # Not settings: where the stack runs, filled in by `load`.
    stack: str = ""
    region: str = ""

    @property
    def project(self) -> str:
        return PROJECT

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def name_prefix(self) -> str:
        """Prefix for physical names that must be readable in the console (aliases, log groups)."""
        return f"{PROJECT}-{self.stack}"

    @property
    def app_url(self) -> str:
        return f"https://{self.domain_name}"

    @property
    def cors_origins(self) -> tuple[str, ...]:
        """Every origin CORS allows: https://<domain_name> first, then the configured extras."""
        return tuple(dict.fromkeys((self.app_url, *self.extra_cors_origins)))

    @property
    def edge_timeouts(self) -> tuple[TimeoutHop, ...]:
        """The idle timeouts a streamed response crosses from the viewer inwards, outermost first: CloudFront's
        origin read timeout when the CDN is on, then the ALB's idle timeout. The one place the edge's timeouts are
        listed: a rule about a hop further in (Service Connect) appends its hop and runs check_timeout_chain."""
        alb = TimeoutHop("load_balancer.idle_timeout_seconds", self.load_balancer.idle_timeout_seconds,
                         "the ALB idle timeout")
        if not self.cdn.enabled:
            return (alb,)
        return (TimeoutHop("cdn.origin_read_timeout_seconds", self.cdn.origin_read_timeout_seconds,
                           "CloudFront's origin read timeout"), alb)

    @property
    def edge_timeout_seconds(self) -> int:
        """The longest silence the edge in front of the app lets a request keep: the figure every hop further in
        (Service Connect) must cover. The innermost edge hop's, since the edge chain never shortens inwards."""
        return max(hop.seconds for hop in self.edge_timeouts)

    def app_environment(self, port: int, **extra: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
        """The plain environment of an app container listening on `port` (components/app_environment.py), plus
        `extra`; secrets go through ECS `secrets`, never here."""
        return app_environment(self.app, environment=self.environment, app_url=self.app_url, port=port,
                               redis_enabled=True, cors_origins=self.cors_origins,
                               redis_cluster_enabled=self.cache.cluster_mode,
                               database_max_connections=self.database.tuning.max_connections, extra=extra)

    def alerts_key_statements(self, context: AwsContext) -> list[dict[str, Any]]:
        """The alert topic key's statements for the services that publish to the topic beside alarms and EventBridge:
        AWS Budgets (every stack's cost budget) and, with metrics on, the Prometheus alert manager."""
        return [*AppMetrics.alerts_key_statements(self.metrics, context, self.name_prefix),
                budgets_key_statement(alert_topic_arn(context, self.name_prefix))]

    def metrics_args(self, context: AwsContext, key: aws.kms.Key) -> AppMetricsArgs:
        """AppMetrics' inputs from these settings: the workspace on the telemetry key `key`, the alert rules on the
        CloudWatch alarms' thresholds, the DB connections alert on the app's pools (the connection budget's count),
        streamed AI routes left out of the p95 latency rule (components/app_metrics.py)."""
        return AppMetricsArgs(
            context=context, settings=self.metrics, key=key, thresholds=self.alerts.thresholds,
            app_connections=app_connections(connection_budget_inputs(self)), streaming_routes=self.waf.ai_paths,
            tags=self.tags,
            log_retention_days=self.log_retention_days, removal_policy=self.removal_policy,
            name_prefix=self.name_prefix)

    @property
    def dr_region(self) -> str | None:
        """The DR region (drRegion resolved for this stack's region), or None when DR is off."""
        return self.recovery.resolved_region(self.region)

    @property
    def image_sources(self) -> dict[str, ImageSource]:
        """Service -> where its image comes from (looked up in, or built into, the foundation's repository)."""
        return {"web": self.app.web_image, "ai": self.app.ai_image, "backup": self.foundation.backup_image}

    def image_build_context(self, service: str) -> str:
        """The directory of the Dockerfile this repository builds the service's image from ("" for an image built
        elsewhere: the app repository's web and ai images, whose scratch volumes an init container prepares)."""
        context = self.image_sources[service].build_context
        return context or (BACKUP_IMAGE_CONTEXT if service == "backup" else "")

    @property
    def private_zone_name(self) -> str:
        """The VPC-private DNS zone of the data tier, e.g. prod.maratron.internal."""
        return f"{self.stack}.{PROJECT}.internal"

    @property
    def tags(self) -> dict[str, str]:
        """Tags every taggable resource carries (the policy pack requires them)."""
        return {
            "project": PROJECT,
            "environment": self.environment,
            "stack": self.stack,
            "owner": self.owner,
            "cost-center": self.cost_center,
            "managed-by": "pulumi",
        }


def schema_entries() -> list[SchemaEntry]:
    """The Pulumi.yaml `config:` schema, generated from the settings types (offline/docgen.py writes it)."""
    return schema(StackConfig())


def current_raw_config() -> tuple[dict[str, str], set[str]]:
    """Every config value the engine handed the program (`namespace:key` -> string) and which keys are secret.

    The language host passes config in PULUMI_CONFIG (secret keys in PULUMI_CONFIG_SECRET_KEYS); the mock engine and
    the Automation API set it in-process. Both are merged so unknown keys are caught, and secrets kept, under either.
    """
    merged: dict[str, str] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    secret_keys = set(runtime_config.get_config_secret_keys_env())
    secret_keys.update(key for key in merged if runtime_config.is_config_secret(key))
    return merged, secret_keys


def load(raw: Mapping[str, str] | None = None, *, stack: str | None = None,
         secret_keys: set[str] | None = None) -> StackConfig:
    """Validate the stack's configuration and return it typed; raise ConfigError listing every problem."""
    if raw is None:
        raw, found_secret_keys = current_raw_config()
        secret_keys = found_secret_keys if secret_keys is None else secret_keys
    stack = pulumi.get_stack() if stack is None else stack

    bad_region = None
    region = raw.get("aws:region", "")
    if (why := region_problem(region)) is not None:
        bad_region = ConfigProblem("aws:region", region or MISSING, why)
        region = "us-east-1"

    reading = read(StackConfig(), raw, secret_keys=secret_keys or ())
    config = replace(reading.settings, stack=stack, region=region)
    _cross_section_rules(config, reading.rules)
    _environment_rules(config, reading.rules)
    reading.report_unknown_keys()
    problems = [*([bad_region] if bad_region else []), *reading.problems]
    if problems:
        raise ConfigError(problems)
    return config


def require_account(config: StackConfig, account_id: str) -> None:
    """Every ARN in the configuration must be of the account the stack deploys to: an example ARN copied from a stack
    file, or another account's resource, fails here, before the program registers a resource (RDS cannot restore,
    and an ALB cannot serve, what belongs to another account). Call it once the account is known."""
    found = []
    for key, arn in (("dbRestoreFromBackupsArn", config.database.restore_from),
                     ("dbRestoreKmsKeyArn", config.database.restore_kms_key_arn),
                     ("certificateArn", config.load_balancer.certificate_arn)):
        parts = arn.split(":")
        if arn and len(parts) > 4 and parts[4] != account_id:
            found.append(ConfigProblem(key, arn, f"must be in the account this stack deploys to ({account_id}), not "
                                       f"{parts[4]}"))
    if found:
        raise ConfigError(found)


def _cross_section_rules(config: StackConfig, rules: Rules) -> None:
    """Rules that span sections, or need what no section holds (the stack's region, the project directory)."""
    region = config.region
    for name in config.network.az_names:
        if not (name.startswith(region) and len(name) == len(region) + 1 and name[-1] in "abcdefgh"):
            rules.problem("network.az_names", f"{name!r}: must be an AZ of {region} ({region}a to {region}h)")
    if config.cache.multi_az and config.network.az_count < 2:
        rules.problem("cache.multi_az", f"needs {rules.key('network.az_count')} >= 2 (the data subnets span "
                      f"{config.network.az_count} AZ)", also=["network.az_count"])
    if rules.valid("recovery.region") and (reason := dr_region_problem(config.recovery, region)):
        rules.problem("recovery.region", reason)
    for field_path, pattern, what in (("database.restore_from", AUTOMATED_BACKUPS_ARN_PATTERN, "replicated backups"),
                                      ("database.restore_kms_key_arn", KMS_KEY_ARN_PATTERN, "key")):
        arn = pattern.match(rules.value(field_path))
        if arn and arn[1] != region:
            rules.problem(field_path, f"must be {what} in the stack's region {region}, not {arn[1]}: a DR stack "
                          "restores in the region its backups were replicated to")
    certificate = CERTIFICATE_ARN_PATTERN.match(config.load_balancer.certificate_arn)
    if certificate and certificate["region"] != region:
        rules.problem("load_balancer.certificate_arn", f"must be a certificate in the stack's region {region} (an ALB "
                      "only uses certificates of its region)")
    if config.cdn.enabled:
        _cdn_rules(config, rules)
    if config.storage.force_destroy and retains(config.removal_policy):
        rules.problem("storage.force_destroy", f"needs {rules.key('removal_policy')} = destroy (retained buckets are "
                      "never emptied)", also=["removal_policy"])
    for budget_problem in check_connection_budget(connection_budget_inputs(config)):
        rules.problem(budget_problem.key, budget_problem.message)
    for service, path in IMAGE_FIELDS.items():
        context = config.image_sources[service].build_context
        if context and (reason := _check_build_context(context)):
            rules.problem(f"{path}.build_context", reason)
        elif context and service in IMAGE_SCRATCH_PATHS:
            # Every image this repo builds declares each scratch path its tasks mount as an owned VOLUME, or Fargate
            # mounts it root-owned: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html
            for problem in scratch_problems(PROJECT_DIR / context / "Dockerfile", IMAGE_SCRATCH_PATHS[service],
                                            NON_ROOT_USER, task=service, shown_as=f"{context}/Dockerfile"):
                rules.problem(f"{path}.build_context", problem)
    if config.network.nat_gateways == "none":
        # AWS APIs have endpoints; the app's third parties (Anthropic, the weather API, Sentry), npm during
        # migrations, the backup job's PutMetricData (no `monitoring` endpoint by default) and the metrics collector
        # (its image on public ECR, which has no VPC endpoint; remote write to AMP) need a NAT path.
        rules.problem("network.nat_gateways", "none cuts the app off from the internet: the AI server and web call "
                      "Anthropic, the weather API and Sentry over HTTPS, and the metrics collector's image comes "
                      "from public ECR; use perAz or single")
    # The edge chain outermost first (CloudFront behind a CDN, then the ALB), then the Service Connect hop behind it:
    # no hop gives up before one in front of it (0 turns the per-request limit off):
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TimeoutConfiguration.html
    check_timeout_chain((*config.edge_timeouts, TimeoutHop(
        "app.ai_request_timeout_seconds", config.app.ai_request_timeout_seconds,
        "the Service Connect per-request timeout of web -> AI calls", zero_is_off=True)), rules)
    # The dump is staged on the task's ephemeral storage: 20 GiB unless set, at most 200 GiB
    # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-storage.html).
    needed = needed_ephemeral_storage_gib(config.database.max_allocated_storage_gb)
    if config.backup_job.ephemeral_storage_gib < needed:
        ceiling = config.database.max_allocated_storage_gb
        rules.problem("backup_job.ephemeral_storage_gib", f"must be at least {needed} GiB for "
                      f"{rules.key('database.max_allocated_storage_gb')} {ceiling}: the dump is staged on the "
                      "task's ephemeral storage before the upload",
                      also=["database.max_allocated_storage_gb"])
    # The drill stages the newest dump and restores it into a local server on the same storage.
    drill_needs = needed_drill_storage_gib(config.database.max_allocated_storage_gb)
    if config.dr_region is not None and config.recovery.drill_storage_gib < drill_needs:
        rules.problem("recovery.drill_storage_gib", f"must be at least {drill_needs} GiB for "
                      f"{rules.key('database.max_allocated_storage_gb')} {config.database.max_allocated_storage_gb}: "
                      "the daily restore drill holds the dump and the database restored from it",
                      also=["database.max_allocated_storage_gb"])
    _metrics_rules(config, rules)


def _metrics_rules(config: StackConfig, rules: Rules) -> None:
    """The collector sidecar must fit in the web and AI task sizes; the rest of the stack must let it work."""
    metrics = config.metrics
    if not metrics.enabled:
        return
    for service in ("web", "ai"):
        size = getattr(config.app, service).size
        # ECS: the containers' reservations must stay below the task's size; ours: the sidecar takes at most a
        # quarter of it, so the app keeps most of the size it was given (e.g. 1920 of web's 2048 MiB). CPU units are
        # weights, not caps: the collector's reservation only matters while both are busy, and it is mostly idle.
        for field_name, task_field, reserved, total, unit in (
                ("collector_cpu", "cpu", metrics.collector_cpu, size.cpu, "CPU units"),
                ("collector_memory", "memory", metrics.collector_memory, size.memory, "MiB")):
            task_path = f"app.{service}.size.{task_field}"
            if reserved * 4 > total:
                rules.problem(f"metrics.{field_name}", f"must be at most a quarter of {rules.key(task_path)} ({total} "
                              f"{unit}): the collector sidecar would leave the {service} app {total - reserved}; raise "
                              f"{rules.key(task_path)} or lower the collector", also=[task_path])
    # natGateways none is refused for every stack above (_cross_section_rules): the collector needs NAT too.
    # The seed's latency histogram tops out at 10 s: a p95 above it reads as 10, so the alert could never fire.
    if config.alerts.thresholds.latency_p95_ms >= HISTOGRAM_TOP_BUCKET_SECONDS * 1000:
        rules.problem("alerts.thresholds.latency_p95_ms", f"must be below {HISTOGRAM_TOP_BUCKET_SECONDS * 1000} ms "
                      "with app metrics on: the app's latency histogram ends at 10 s, so its p95 never exceeds it")


def connection_budget_inputs(config: StackConfig) -> BudgetInputs:
    """The connection budget's view of the stack (components/connection_budget.py)."""
    database, app = config.database, config.app
    return BudgetInputs(
        clients=(Client("web", app.web.max_count, "webMaxCount"), Client("ai", app.ai.max_count, "aiMaxCount")),
        pool_size=app.database_pool_size, max_connections=database.tuning.max_connections,
        proxy_enabled=database.proxy.enabled, proxy_percent=database.proxy.max_connections_percent,
        instance_class=database.instance_class, replica_classes=database.replica_classes,
        db_admin_connections=DB_ADMIN_CONCURRENCY)


def _cdn_rules(config: StackConfig, rules: Rules) -> None:
    cdn, alb = config.cdn, config.load_balancer
    # The client side of a kept-alive connection must drop it first, or it reuses one the server just closed (502).
    if cdn.origin_keepalive_seconds >= alb.idle_timeout_seconds:
        rules.problem("cdn.origin_keepalive_seconds", f"must be below {rules.key('load_balancer.idle_timeout_seconds')}"
                      f" ({alb.idle_timeout_seconds} s): CloudFront must close an idle connection before the ALB does",
                      also=["load_balancer.idle_timeout_seconds"])
    if cdn.enabled and alb.tls_policy in TLS13_ONLY_POLICIES:
        rules.problem("load_balancer.tls_policy", f"must allow TLS 1.2 while {rules.key('cdn.enabled')}: CloudFront "
                      "connects to its origin with TLS 1.2 at most, so a TLS 1.3-only policy fails every request "
                      "(502); choose a TLS13-1-2 policy", also=["cdn.enabled"])
    if config.region != EDGE_REGION and not cdn.certificate_arn and not alb.hosted_zone_id:
        zone = rules.key("load_balancer.hosted_zone_id")
        rules.problem("cdn.certificate_arn", f"required outside {EDGE_REGION} without {zone}: CloudFront only uses "
                      f"certificates from {EDGE_REGION} (set one, or a zone to issue it in)",
                      also=["load_balancer.hosted_zone_id"])


def _check_build_context(value: str) -> str | None:
    directory = (PROJECT_DIR / value).resolve()
    if not directory.is_dir():
        return f"must be a directory (relative to the project); {directory} does not exist"
    if not (directory / "Dockerfile").is_file():
        return f"must contain a Dockerfile; {directory / 'Dockerfile'} does not exist"
    return None


def _environment_rules(config: StackConfig, rules: Rules) -> None:
    """What prod requires beyond the defaults (a cheaper environment opts out of a default; prod may not)."""
    if not config.is_prod or not rules.valid("environment"):
        return

    def prod(field_path: str, broken: bool, allowed: str) -> None:
        if broken:
            rules.problem(field_path, allowed)

    network, database, cache = config.network, config.database, config.cache
    prod("removal_policy", not retains(config.removal_policy),
         "prod needs retain: production data is never deleted with a stack or a replacement")
    prod("network.az_count", network.az_count < 2, "prod needs at least 2 AZs (Multi-AZ RDS, Redis failover, ALB)")
    prod("network.nat_gateways", network.nat_gateways == "single",
         "prod needs perAz: a single NAT gateway is a cross-AZ single point of failure")
    prod("database.multi_az", not database.multi_az,
         "prod needs true: a single-AZ primary is down for a whole AZ outage")
    prod("database.backup_retention_days", database.backup_retention_days < 14,
         "prod needs at least 14 days of point-in-time recovery")
    prod("database.instance_class", database.instance_class.startswith("db.t"),
         "prod needs a non-burstable class (e.g. db.m7g.large): db.t* throttles when credits run out")
    prod("database.monitoring_interval_seconds", database.monitoring_interval_seconds == 0,
         "prod needs enhanced monitoring (1-60)")
    prod("database.proxy.enabled", not database.proxy.enabled,
         "prod needs true: web and ai reach the primary only through RDS Proxy (capped, queued, faster failover)")
    prod("credentials.rotation_days", config.credentials.rotation_days > MAX_ROTATION_DAYS,
         f"prod rotates every generated credential at least every {MAX_ROTATION_DAYS} days")
    prod("cache.automatic_failover", not cache.automatic_failover,
         "prod needs true (a primary failure must not take the cache down)")
    prod("cache.multi_az", not cache.multi_az, "prod needs true (survive the loss of an AZ)")
    prod("cache.snapshot_retention_days", cache.snapshot_retention_days < 1,
         "prod needs >= 1 (snapshots are Redis's only durable copy on ElastiCache)")
    prod("storage.force_destroy", config.storage.force_destroy, "must be false in prod (backups are retained)")
    prod("recovery.region", config.recovery.region == "none" and not database.restores,
         "prod needs a DR region (the default, paired, or a region name): production keeps a copy of its backups "
         "in a second region. Only a stack that is itself a DR restore (dbRestoreFromBackupsArn set) may run "
         "without one until its source region is back")
    prod("alerts.emails", not config.alerts.emails,
         "prod needs at least one address: an alarm nobody receives is no alarm")
    prod("cluster.fargate_spot", config.cluster.fargate_spot,
         "not allowed in prod: Spot tasks can be reclaimed with 2 minutes' notice")
    prod("cluster.container_insights", config.cluster.container_insights == "disabled",
         "prod needs enabled or enhanced: the running-task alarms read its task counts")
    prod("metrics.enabled", not config.metrics.enabled,
         "prod needs the app's metrics: the guide's alerting on error rate, p95 latency, cache hit rate and DB "
         "connections runs on them")
    for service, path in IMAGE_FIELDS.items():
        reference = config.image_sources[service].reference
        prod(f"{path}.reference", reference.rsplit(":", 1)[-1] == "latest" and not DIGEST_PATTERN.match(reference),
             "`latest` is not allowed in prod: pin a digest (sha256:...) or a release tag")
    for service in ("web", "ai"):
        prod(f"app.{service}.desired_count", getattr(config.app, service).desired_count < 2,
             "prod needs at least 2 tasks (spread over AZs, survives losing one)")
    for secret, feature in (("weather_api_key", "the AI server's weather features"),
                            ("sentry_dsn", "error reporting from both services")):
        key = rules.key(f"secrets.{secret}")
        prod(f"secrets.{secret}", not getattr(config.secrets, secret).is_set,
             f"required in prod ({feature}); set it with `pulumi config set --secret {PROJECT}:{key} ...`")
