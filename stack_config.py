"""Typed stack configuration: `pulumi.Config` in, one frozen, validated record out.

Pulumi.yaml's `config:` block is the single source of truth for which keys exist, their types, defaults and
descriptions; this module adds what a schema cannot say (ranges, enumerations, CIDRs, cross-field rules) and
reports *every* problem at once, each naming the key, the offending value and what is allowed, before the program
registers a single resource. Keys in our namespace that the schema does not declare (typos) are errors too.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

import pulumi
import yaml
from pulumi.runtime import config as runtime_config

from components.constants import TLS_POLICIES
from components.observability import AlarmThresholds

PROJECT = "maratron"
SCHEMA_FILE = Path(__file__).resolve().with_name("Pulumi.yaml")

Environment = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = ("dev", "staging", "prod")
NatStrategy = Literal["perAz", "single", "none"]
NAT_STRATEGIES: tuple[NatStrategy, ...] = ("perAz", "single", "none")
INTERFACE_ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms", "monitoring", "sts")
# What ECS Fargate tasks in a subnet without a NAT route need to start: pull images, ship logs, read secrets.
ENDPOINTS_NEEDED_WITHOUT_NAT = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
# Values CloudWatch Logs accepts for retentionInDays.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)
MAX_AZS = 6
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
TAG_VALUE_PATTERN = re.compile(r"^[\w .:/=+\-@]{1,256}$")
REDIS_ENGINE_VERSION_PATTERN = re.compile(r"^7\.\d+$")
CACHE_NODE_TYPE_PATTERN = re.compile(r"^cache\.[a-z][a-z0-9]*\.[a-z0-9]+$")
MAX_REDIS_REPLICAS = 5
MAX_REDIS_SHARDS = 500
DAILY_WINDOW_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
WEEKLY_WINDOW_PATTERN = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ObjectLockMode = Literal["GOVERNANCE", "COMPLIANCE"]
OBJECT_LOCK_MODES: tuple[ObjectLockMode, ...] = ("GOVERNANCE", "COMPLIANCE")
STANDARD_IA_MIN_DAYS = 30  # S3 rejects a lifecycle transition to STANDARD_IA earlier than 30 days after creation
# --- edge ---
DESYNC_MODES = ("strictest", "defensive")  # "monitor" lets smuggling attempts through (CKV_AWS_328)
WAF_RATE_WINDOWS = (60, 120, 300, 600)
WAF_MIN_RATE_LIMIT = 10
WAF_MAX_RATE_LIMIT = 2_000_000_000
WAF_MAX_PATHS = 5
HOSTED_ZONE_ID_PATTERN = re.compile(r"^Z[A-Z0-9]{1,31}$")
CERTIFICATE_ARN_PATTERN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
PATH_PREFIX_PATTERN = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,199}$")


@dataclass(frozen=True)
class ConfigProblem:
    """One invalid setting: which key, what was given, what is allowed."""

    key: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        shown = "(not set)" if self.value is _MISSING else json.dumps(self.value)
        full_key = self.key if ":" in self.key else f"{PROJECT}:{self.key}"
        return f"{full_key} = {shown}: {self.allowed}"


class ConfigError(pulumi.RunError):
    """Raised with every configuration problem at once; `pulumi up` prints it without a traceback."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid stack configuration ({len(self.problems)} problem(s)):\n{lines}")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


@dataclass(frozen=True)
class NetworkSettings:
    """Network layout of the stack (see components/network.py)."""

    vpc_cidr: str
    """IPv4 CIDR of the VPC (/16 to /20)."""
    az_count: int
    """How many Availability Zones the VPC spans."""
    az_names: tuple[str, ...]
    """Pinned AZ names; empty means 'look up the first az_count at deploy time'."""
    nat_gateways: NatStrategy
    """perAz, single or none."""
    interface_endpoints: tuple[str, ...]
    """Interface endpoint services (short names such as 'ecr.api')."""


# Fargate task sizes: CPU units -> (smallest, largest, step) memory in MiB.
FARGATE_SIZES: dict[int, tuple[int, int, int]] = {
    256: (512, 2048, 0), 512: (1024, 4096, 1024), 1024: (2048, 8192, 1024), 2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024), 8192: (16384, 61440, 4096), 16384: (32768, 122880, 8192),
}
LOG_LEVELS = ("debug", "info", "warn", "error")
WEB_PORT = 3000
DIGEST_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>(@sha256:<hex> | :<tag>)
ECR_REFERENCE_PATTERN = re.compile(
    r"^(?P<repository>\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9][a-z0-9._/-]*)"
    r"(@(?P<digest>sha256:[0-9a-f]{64})|:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))$")


def fargate_memory_sizes(cpu: int) -> tuple[int, ...]:
    """Memory sizes (MiB) Fargate accepts for a CPU size; empty for an invalid CPU size."""
    if cpu not in FARGATE_SIZES:
        return ()
    low, high, step = FARGATE_SIZES[cpu]
    return (512, 1024, 2048) if cpu == 256 else tuple(range(low, high + 1, step))


@dataclass(frozen=True)
class ImageSource:
    """Where a service's image comes from: exactly one of the two is set."""

    reference: str = ""
    """An image the app's CI pushed: `sha256:<digest>`, a tag, or `<repositoryUrl>@sha256:<digest>` / `:<tag>`."""
    build_context: str = ""
    """A directory (relative to the project) that `pulumi up` builds and pushes with pulumi-docker."""


@dataclass(frozen=True)
class ServiceSettings:
    """Image, task size and task counts of one ECS service."""

    image: ImageSource
    cpu: int
    """Task CPU units (a Fargate size)."""
    memory: int
    """Task memory in MiB (valid for `cpu`)."""
    desired_count: int
    """Tasks at creation and the autoscaling minimum."""
    max_count: int
    """Autoscaling maximum."""


@dataclass(frozen=True)
class AppSettings:
    """The application tier: images, services, their shared environment and which third-party secrets are set."""

    web: ServiceSettings
    ai: ServiceSettings
    ai_port: int
    """Port of the AI server (the web listens on WEB_PORT, the seed's 3000)."""
    image_retain_count: int
    """ECR lifecycle: how many images each repository keeps."""
    fargate_spot: bool
    """Run on FARGATE_SPOT (never in prod)."""
    log_level: str
    database_pool_size: int
    database_max_connections: int
    weather_api_key_set: bool
    """Whether weatherApiKey has a value (the value itself is read as a secret by AppSecrets, never kept here)."""
    sentry_dsn_set: bool
    """Whether sentryDsn has a value."""


@dataclass(frozen=True)
class CacheSettings:
    """ElastiCache Redis replication group (see components/cache.py)."""

    engine_version: str
    """Redis OSS 7.x engine version."""
    node_type: str
    """Node type of every node (e.g. cache.m7g.large)."""
    replicas: int
    """Read replicas per shard (0-5)."""
    automatic_failover: bool
    """Promote a replica when the primary fails."""
    multi_az: bool
    """Fail over across AZs (replicas in other AZs)."""
    cluster_mode: bool
    """Cluster mode enabled (sharded; configuration endpoint)."""
    shards: int
    """Node groups in cluster mode (1 when cluster mode is off)."""
    snapshot_retention_days: int
    """Daily snapshots kept (0 = none)."""
    snapshot_window: str
    """Daily UTC snapshot window, hh:mm-hh:mm."""
    maintenance_window: str
    """Weekly UTC maintenance window, ddd:hh:mm-ddd:hh:mm."""

    @property
    def node_count(self) -> int:
        return self.shards * (1 + self.replicas)


@dataclass(frozen=True)
class BackupStorageSettings:
    """S3 buckets for logical backups and archives (see components/backup_storage.py)."""

    lock_mode: ObjectLockMode
    """Object Lock default retention mode of the backups bucket."""
    lock_days: int
    """Object Lock default retention in days."""
    transition_days: int
    """Days to STANDARD_IA (0 = never)."""
    archive_days: int
    """Days to GLACIER_IR (0 = never)."""
    backup_expiration_days: int
    """Days a dump in the backups bucket is kept."""
    archive_expiration_days: int
    """Days an object in the WAL/archive bucket is kept."""
    noncurrent_version_days: int
    """Days a noncurrent object version is kept."""
    abort_multipart_days: int
    """Days before incomplete multipart uploads are aborted."""
    force_destroy: bool
    """Whether `pulumi destroy` may delete non-empty buckets (never in prod)."""


@dataclass(frozen=True)
class EdgeSettings:
    """The public edge: ALB, certificate, DNS and WAF (see components/load_balancer.py and components/waf.py)."""

    hosted_zone_id: str
    """Route 53 zone of the domain ('' = no DNS records are managed here)."""
    certificate_arn: str
    """Existing ACM certificate ('' = issue a DNS-validated one in hosted_zone_id)."""
    tls_policy: str
    desync_mitigation_mode: str
    idle_timeout_seconds: int
    waf_window_seconds: int
    """Evaluation window of every rate rule."""
    waf_rate_limit: int
    """The seed's general limit, per IP and window, over waf_rate_limit_paths."""
    waf_rate_limit_paths: tuple[str, ...]
    """Path prefixes the general limit counts; empty = every request."""
    waf_ai_rate_limit: int
    waf_ai_paths: tuple[str, ...]
    waf_flood_rate_limit: int
    """Blanket per-IP limit over every request."""


@dataclass(frozen=True)
class DatabaseSettings:
    """RDS PostgreSQL sizing, availability, backups and tuning (see components/database.py)."""

    engine_version: str
    """'15' or '15.<minor>'."""
    instance_class: str
    """Primary instance class, e.g. db.m7g.large."""
    multi_az: bool
    """Synchronous standby in another AZ."""
    replica_instance_classes: tuple[str, ...]
    """One instance class per read replica, in order; its length is the replica count."""
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    backup_retention_days: int
    backup_window: str
    """UTC hh:mm-hh:mm."""
    maintenance_window: str
    """UTC ddd:hh:mm-ddd:hh:mm."""
    backup_replication_region: str
    """Region receiving a copy of the automated backups; empty for none."""
    backup_replication_kms_key_arn: str
    """KMS key (in backup_replication_region) for the copies; empty for none."""
    performance_insights_retention_days: int
    monitoring_interval_seconds: int
    """Enhanced monitoring interval; 0 turns it off."""
    shared_buffers_mb: int
    effective_cache_size_mb: int
    maintenance_work_mem_mb: int
    wal_buffers_mb: int
    max_connections: int
    slow_query_ms: int
    """log_min_duration_statement; -1 is off."""

    @property
    def replica_count(self) -> int:
        return len(self.replica_instance_classes)


@dataclass(frozen=True)
class OperationsSettings:
    """Alerting (see components/observability.py)."""

    alert_emails: tuple[str, ...]
    """Addresses subscribed to the alert topic."""
    alarm_thresholds: AlarmThresholds
    """Per-environment alarm thresholds."""


# alarm* config key -> (AlarmThresholds field, minimum, maximum). Percentages stop at 100; the rest at a value past
# which the alarm could never fire in practice, so a typo (an extra zero) is caught.
ALARM_THRESHOLD_KEYS: dict[str, tuple[str, int, int]] = {
    "alarmAlb5xxRatePercent": ("alb_5xx_rate_percent", 1, 100),
    "alarmTarget5xxCount": ("target_5xx_count", 1, 100_000),
    "alarmLatencyP95Ms": ("latency_p95_ms", 10, 60_000),
    "alarmLatencyP99Ms": ("latency_p99_ms", 10, 60_000),
    "alarmCpuPercent": ("cpu_percent", 1, 100),
    "alarmMemoryPercent": ("memory_percent", 1, 100),
    "alarmDbFreeStorageGib": ("db_free_storage_gib", 1, 65_536),
    "alarmDbFreeableMemoryMib": ("db_freeable_memory_mib", 1, 1_048_576),
    "alarmDbConnectionsPercent": ("db_connections_percent", 1, 100),
    "alarmDbLatencyMs": ("db_latency_ms", 1, 10_000),
    "alarmReplicaLagSeconds": ("replica_lag_seconds", 1, 86_400),
    "alarmCacheEvictions": ("cache_evictions", 1, 10_000_000),
    "alarmWafBlockedRequests": ("waf_blocked_requests", 1, 10_000_000),
}
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                           r"[A-Za-z]{2,63}$")


@dataclass(frozen=True)
class StackConfig:
    """Everything the program needs from configuration, validated and typed."""

    project: str
    stack: str
    environment: Environment
    region: str
    owner: str
    cost_center: str
    log_retention_days: int
    domain_name: str
    """Public hostname of the app."""
    cors_origins: tuple[str, ...]
    """Every origin CORS allows: https://<domain_name> first, then the configured extras."""
    network: NetworkSettings
    cache: CacheSettings
    storage: BackupStorageSettings
    edge: EdgeSettings
    database: DatabaseSettings
    operations: OperationsSettings
    app: AppSettings

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def protect_stateful(self) -> bool:
        """Pulumi `protect`, deletion protection, final snapshots and retained buckets: on in prod."""
        return self.is_prod

    @property
    def name_prefix(self) -> str:
        """Prefix for physical names that must be readable in the console (aliases, log groups)."""
        return f"{self.project}-{self.stack}"

    @property
    def app_url(self) -> str:
        return f"https://{self.domain_name}"

    @property
    def tags(self) -> dict[str, str]:
        """Tags every taggable resource carries (the policy pack requires them)."""
        return {
            "project": self.project,
            "environment": self.environment,
            "stack": self.stack,
            "owner": self.owner,
            "cost-center": self.cost_center,
            "managed-by": "pulumi",
        }


@cache
def schema() -> Mapping[str, Mapping[str, Any]]:
    """The `config:` block of Pulumi.yaml: key -> {type, default, description, secret?}."""
    document = yaml.load(SCHEMA_FILE.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return cast(Mapping[str, Mapping[str, Any]], document.get("config") or {})


def current_raw_config() -> dict[str, str]:
    """Every config value the engine handed the program, as `namespace:key` -> string.

    The language host passes config in the PULUMI_CONFIG environment variable; the mock engine and the
    Automation API set it in-process. Both are merged so unknown keys are caught under either.
    """
    merged: dict[str, str] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


class _Reader:
    """Reads typed values from raw config strings, collecting problems instead of raising at the first."""

    def __init__(self, raw: Mapping[str, str], declared: Mapping[str, Mapping[str, Any]]) -> None:
        self._raw = raw
        self._declared = declared
        self.problems: list[ConfigProblem] = []
        self.read_keys: set[str] = set()
        self.failed: set[str] = set()
        """Keys whose value was rejected; cross-field rules skip them rather than pile on follow-up errors."""

    def problem(self, key: str, value: Any, allowed: str) -> None:
        self.problems.append(ConfigProblem(key, value, allowed))
        self.failed.add(key)

    def valid(self, *keys: str) -> bool:
        """True when none of the keys was rejected (so a cross-field rule may judge them)."""
        return not self.failed.intersection(keys)

    def _value(self, key: str) -> Any:
        """The raw value parsed to its schema type, or _MISSING (after recording a problem) if unusable."""
        self.read_keys.add(key)
        spec = self._declared.get(key)
        if spec is None:  # a programming error, caught by tests/test_config.py
            raise KeyError(f"config key {key!r} is read but not declared in Pulumi.yaml")
        text = self._raw.get(f"{PROJECT}:{key}")
        if text is None:
            if "default" in spec:
                return spec["default"]
            self.problem(key, _MISSING, f"required ({spec.get('description', '')})")
            return _MISSING
        kind = spec.get("type", "string")
        if kind == "string":
            return text
        if kind == "integer":
            try:
                number = float(text)
            except ValueError:
                number = float("nan")
            if number != number or number != int(number):
                self.problem(key, text, "must be an integer")
                return _MISSING
            return int(number)
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                self.problem(key, text, "must be true or false")
                return _MISSING
            return lowered == "true"
        if kind == "array":
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                parsed = None
            item_kind = spec.get("items", {}).get("type", "string")
            py_type = {"string": str, "integer": int, "boolean": bool}[item_kind]
            if not isinstance(parsed, list) or not all(isinstance(i, py_type) for i in parsed):
                self.problem(key, text, f"must be a list of {item_kind}s")
                return _MISSING
            return parsed
        raise KeyError(f"config key {key!r} has unsupported schema type {kind!r}")

    def string(self, key: str, *, choices: Iterable[str] | None = None,
               check: Callable[[str], str | None] | None = None, fallback: str = "") -> str:
        value = self._value(key)
        if value is _MISSING:
            return fallback
        if choices is not None and value not in (options := tuple(choices)):
            self.problem(key, value, f"must be one of {', '.join(options)}")
            return fallback
        if check is not None and (reason := check(value)) is not None:
            self.problem(key, value, reason)
            return fallback
        return cast(str, value)

    def integer(self, key: str, *, minimum: int | None = None, maximum: int | None = None,
                choices: Iterable[int] | None = None, fallback: int = 0) -> int:
        value = self._value(key)
        if value is _MISSING:
            return fallback
        if choices is not None and value not in (options := tuple(choices)):
            self.problem(key, value, f"must be one of {', '.join(map(str, options))}")
            return fallback
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            low = "-inf" if minimum is None else str(minimum)
            high = "inf" if maximum is None else str(maximum)
            self.problem(key, value, f"must be between {low} and {high}")
            return fallback
        return cast(int, value)

    def boolean(self, key: str, *, fallback: bool = False) -> bool:
        value = self._value(key)
        return fallback if value is _MISSING else cast(bool, value)

    def string_list(self, key: str, *, choices: Iterable[str] | None = None,
                    check: Callable[[str], str | None] | None = None, unique: bool = True) -> tuple[str, ...]:
        value = self._value(key)
        if value is _MISSING:
            return ()
        items = tuple(cast(list[str], value))
        options = tuple(choices) if choices is not None else None
        for item in items:
            if options is not None and item not in options:
                self.problem(key, value, f"{item!r} is not one of {', '.join(options)}")
            elif check is not None and (reason := check(item)) is not None:
                self.problem(key, value, f"{item!r}: {reason}")
        if unique and len(set(items)) != len(items):
            self.problem(key, value, "must not repeat an entry")
        return items

    def unknown_keys(self) -> None:
        prefix = f"{PROJECT}:"
        for full_key in sorted(self._raw):
            if not full_key.startswith(prefix):
                continue
            key = full_key[len(prefix):]
            if key not in self._declared:
                hint = difflib.get_close_matches(key, list(self._declared), n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                self.problem(key, self._raw[full_key],
                             f"unknown key (not declared in Pulumi.yaml){suggestion}")


def _check_vpc_cidr(value: str) -> str | None:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        return f"must be an IPv4 network in CIDR notation with no host bits set ({error})"
    if network.version != 4 or not 16 <= network.prefixlen <= 20:
        return "must be an IPv4 CIDR from /16 to /20"
    if not network.is_private:
        return "must be a private (RFC 1918) range"
    return None


def _check_tag_value(value: str) -> str | None:
    return None if TAG_VALUE_PATTERN.match(value) else "must be 1-256 letters, digits, spaces or _ . : / = + - @"


HOSTNAME_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _check_hostname(value: str) -> str | None:
    if not value:
        return "required: the app's public hostname, e.g. maratron.example.com"
    return None if HOSTNAME_PATTERN.match(value) else "must be a lower-case DNS hostname such as maratron.example.com"


def _check_origin(value: str) -> str | None:
    host = value.removeprefix("https://")
    if value == host or not HOSTNAME_PATTERN.match(host):
        return "must be an https origin without path or trailing slash, e.g. https://admin.maratron.example.com"
    return None


def load(raw: Mapping[str, str] | None = None, *, stack: str | None = None) -> StackConfig:
    """Validate the stack's configuration and return it typed; raise ConfigError listing every problem."""
    raw = current_raw_config() if raw is None else raw
    stack = pulumi.get_stack() if stack is None else stack
    reader = _Reader(raw, schema())

    region = raw.get("aws:region", "")
    if not REGION_PATTERN.match(region):
        reader.problem("aws:region", region or _MISSING, "must be an AWS region such as us-east-1")
        region = "us-east-1"

    environment = cast(Environment, reader.string("environment", choices=ENVIRONMENTS, fallback="prod"))
    owner = reader.string("owner", check=_check_tag_value)
    cost_center = reader.string("costCenter", check=_check_tag_value)
    log_retention_days = reader.integer("logRetentionDays", choices=LOG_RETENTION_DAYS, fallback=365)

    domain_name = reader.string("domainName", check=_check_hostname)
    extra_origins = reader.string_list("corsOrigins", check=_check_origin)

    network = _network_settings(reader, region, environment)
    cache = _cache_settings(reader, environment, network.az_count)
    storage = _storage_settings(reader, environment)
    edge = _edge_settings(reader, region)
    database = _database_settings(reader, region, environment)
    operations = _operations_settings(reader, environment)
    app = _app_settings(reader, environment)

    reader.unknown_keys()
    if reader.problems:
        raise ConfigError(reader.problems)
    return StackConfig(
        project=PROJECT,
        stack=stack,
        environment=environment,
        region=region,
        owner=owner,
        cost_center=cost_center,
        log_retention_days=log_retention_days,
        domain_name=domain_name,
        cors_origins=tuple(dict.fromkeys((f"https://{domain_name}", *extra_origins))),
        network=network,
        cache=cache,
        storage=storage,
        edge=edge,
        database=database,
        operations=operations,
        app=app,
    )


def _network_settings(reader: _Reader, region: str, environment: Environment) -> NetworkSettings:
    vpc_cidr = reader.string("vpcCidr", check=_check_vpc_cidr, fallback="10.0.0.0/16")
    az_count = reader.integer("azCount", minimum=1, maximum=MAX_AZS, fallback=1)

    def check_az(name: str) -> str | None:
        if not (name.startswith(region) and len(name) == len(region) + 1 and name[-1] in "abcdefgh"):
            return f"must be an AZ of {region} ({region}a to {region}h)"
        return None

    az_names = reader.string_list("azNames", check=check_az)
    if az_names and len(az_names) != az_count and reader.valid("azCount", "azNames"):
        reader.problem("azNames", list(az_names), f"must list exactly azCount ({az_count}) AZs, or be empty")
    nat_gateways = cast(NatStrategy, reader.string("natGateways", choices=NAT_STRATEGIES, fallback="perAz"))
    endpoints = reader.string_list("interfaceEndpoints", choices=INTERFACE_ENDPOINT_SERVICES)

    if environment == "prod" and reader.valid("environment"):
        if az_count < 2 and reader.valid("azCount"):
            reader.problem("azCount", az_count, "prod needs at least 2 AZs (Multi-AZ RDS, Redis failover, ALB)")
        if nat_gateways == "single" and reader.valid("natGateways"):
            reader.problem("natGateways", nat_gateways,
                           "prod needs perAz (or none): a single NAT gateway is a cross-AZ single point of failure")
    if nat_gateways == "none" and reader.valid("interfaceEndpoints"):
        missing = [s for s in ENDPOINTS_NEEDED_WITHOUT_NAT if s not in endpoints]
        if missing:
            reader.problem("interfaceEndpoints", list(endpoints),
                           f"with natGateways=none, must include {', '.join(missing)} "
                           "(Fargate tasks pull images, ship logs and read secrets through them)")
    return NetworkSettings(vpc_cidr=vpc_cidr, az_count=az_count, az_names=az_names,
                           nat_gateways=nat_gateways, interface_endpoints=endpoints)


def _window_minutes(day: int, hour: str, minute: str) -> int:
    return day * 24 * 60 + int(hour) * 60 + int(minute)


def _check_daily_window(value: str) -> str | None:
    match = DAILY_WINDOW_PATTERN.match(value)
    if not match:
        return "must be a UTC window hh:mm-hh:mm, e.g. 03:00-04:00"
    start = _window_minutes(0, match[1], match[2])
    end = _window_minutes(0, match[3], match[4])
    if (end - start) % (24 * 60) < 60:
        return "must last at least 60 minutes"
    return None


def _check_weekly_window(value: str) -> str | None:
    match = WEEKLY_WINDOW_PATTERN.match(value)
    if not match:
        return "must be a UTC window ddd:hh:mm-ddd:hh:mm, e.g. sun:05:00-sun:06:00"
    start = _window_minutes(WEEKDAYS.index(match[1]), match[2], match[3])
    end = _window_minutes(WEEKDAYS.index(match[4]), match[5], match[6])
    if (end - start) % (7 * 24 * 60) < 60:
        return "must last at least 60 minutes"
    return None


def _cache_settings(reader: _Reader, environment: Environment, az_count: int) -> CacheSettings:
    engine_version = reader.string(
        "redisEngineVersion", fallback="7.1",
        check=lambda v: None if REDIS_ENGINE_VERSION_PATTERN.match(v) else "must be a Redis 7 version such as 7.1")
    node_type = reader.string(
        "redisNodeType", fallback="cache.m7g.large",
        check=lambda v: None if CACHE_NODE_TYPE_PATTERN.match(v) else "must be an ElastiCache node type such as "
        "cache.t4g.micro or cache.m7g.large")
    replicas = reader.integer("redisReplicas", minimum=0, maximum=MAX_REDIS_REPLICAS)
    failover = reader.boolean("redisAutomaticFailover")
    multi_az = reader.boolean("redisMultiAz")
    cluster_mode = reader.boolean("redisClusterMode")
    shards = reader.integer("redisShards", minimum=1, maximum=MAX_REDIS_SHARDS, fallback=1)
    snapshot_retention = reader.integer("redisSnapshotRetentionDays", minimum=0, maximum=35)
    snapshot_window = reader.string("redisSnapshotWindow", check=_check_daily_window, fallback="03:00-04:00")
    maintenance_window = reader.string("redisMaintenanceWindow", check=_check_weekly_window,
                                       fallback="sun:05:00-sun:06:00")

    # ElastiCache's own rules, reported here with the key to change instead of as an API error mid-deploy.
    if failover and replicas < 1 and reader.valid("redisAutomaticFailover", "redisReplicas"):
        reader.problem("redisAutomaticFailover", failover, "needs redisReplicas >= 1 (a replica to promote)")
    if multi_az and not failover and reader.valid("redisMultiAz", "redisAutomaticFailover"):
        reader.problem("redisMultiAz", multi_az, "needs redisAutomaticFailover = true")
    if multi_az and az_count < 2 and reader.valid("redisMultiAz", "azCount"):
        reader.problem("redisMultiAz", multi_az, f"needs azCount >= 2 (the data subnets span {az_count} AZ)")
    if cluster_mode and not failover and reader.valid("redisClusterMode", "redisAutomaticFailover"):
        reader.problem("redisClusterMode", cluster_mode, "needs redisAutomaticFailover = true")
    if shards > 1 and not cluster_mode and reader.valid("redisShards", "redisClusterMode"):
        reader.problem("redisShards", shards, "more than 1 shard needs redisClusterMode = true")
    if environment == "prod" and reader.valid("environment"):
        if not failover and reader.valid("redisAutomaticFailover"):
            reader.problem("redisAutomaticFailover", failover,
                           "prod needs true (a primary failure must not take the cache down)")
        if not multi_az and reader.valid("redisMultiAz"):
            reader.problem("redisMultiAz", multi_az, "prod needs true (survive the loss of an AZ)")
        if snapshot_retention < 1 and reader.valid("redisSnapshotRetentionDays"):
            reader.problem("redisSnapshotRetentionDays", snapshot_retention,
                           "prod needs >= 1 (snapshots are Redis's only durable copy on ElastiCache)")
    return CacheSettings(
        engine_version=engine_version, node_type=node_type, replicas=replicas, automatic_failover=failover,
        multi_az=multi_az, cluster_mode=cluster_mode, shards=shards if cluster_mode else 1,
        snapshot_retention_days=snapshot_retention, snapshot_window=snapshot_window,
        maintenance_window=maintenance_window,
    )


def _storage_settings(reader: _Reader, environment: Environment) -> BackupStorageSettings:
    lock_mode = cast(ObjectLockMode, reader.string("backupLockMode", choices=OBJECT_LOCK_MODES,
                                                   fallback="COMPLIANCE"))
    lock_days = reader.integer("backupLockDays", minimum=1, maximum=3650, fallback=30)
    transition_days = reader.integer("backupTransitionDays", minimum=0, maximum=3650)
    archive_days = reader.integer("backupArchiveDays", minimum=0, maximum=3650)
    backup_expiration = reader.integer("backupExpirationDays", minimum=1, maximum=3650, fallback=365)
    archive_expiration = reader.integer("archiveExpirationDays", minimum=1, maximum=3650, fallback=2555)
    noncurrent_days = reader.integer("backupNoncurrentVersionDays", minimum=1, maximum=3650, fallback=30)
    abort_days = reader.integer("backupAbortMultipartDays", minimum=1, maximum=365, fallback=7)
    force_destroy = reader.boolean("backupForceDestroy")

    if 0 < transition_days < STANDARD_IA_MIN_DAYS and reader.valid("backupTransitionDays"):
        reader.problem("backupTransitionDays", transition_days,
                       f"must be 0 (never) or >= {STANDARD_IA_MIN_DAYS} (S3's minimum for STANDARD_IA)")
    elif (transition_days and archive_days and archive_days < transition_days + STANDARD_IA_MIN_DAYS
          and reader.valid("backupTransitionDays", "backupArchiveDays")):
        reader.problem("backupArchiveDays", archive_days,
                       f"must be 0 (never) or >= backupTransitionDays + {STANDARD_IA_MIN_DAYS} "
                       f"({transition_days + STANDARD_IA_MIN_DAYS}): objects stay 30 days in STANDARD_IA")
    last_transition = max(transition_days, archive_days)
    for key, expiration in (("backupExpirationDays", backup_expiration),
                            ("archiveExpirationDays", archive_expiration)):
        if (expiration <= last_transition
                and reader.valid(key, "backupTransitionDays", "backupArchiveDays")):
            reader.problem(key, expiration, f"must be greater than the last transition ({last_transition} days)")
    if lock_days > backup_expiration and reader.valid("backupLockDays", "backupExpirationDays"):
        reader.problem("backupLockDays", lock_days,
                       f"must not exceed backupExpirationDays ({backup_expiration}): a dump cannot expire while locked")
    if force_destroy and reader.valid("backupForceDestroy"):
        if environment == "prod" and reader.valid("environment"):
            reader.problem("backupForceDestroy", force_destroy, "must be false in prod (backups are retained)")
        elif lock_mode == "COMPLIANCE" and reader.valid("backupLockMode"):
            reader.problem("backupForceDestroy", force_destroy,
                           "cannot be true with backupLockMode COMPLIANCE (locked versions cannot be deleted)")
    return BackupStorageSettings(
        lock_mode=lock_mode, lock_days=lock_days, transition_days=transition_days, archive_days=archive_days,
        backup_expiration_days=backup_expiration, archive_expiration_days=archive_expiration,
        noncurrent_version_days=noncurrent_days, abort_multipart_days=abort_days, force_destroy=force_destroy,
    )


# --- edge ---

def _check_path_prefix(value: str) -> str | None:
    if not PATH_PREFIX_PATTERN.match(value):
        return "must be a URL path prefix starting with / (at most 200 characters, no spaces or query string)"
    return None


def _edge_settings(reader: _Reader, region: str) -> EdgeSettings:
    def check_zone(value: str) -> str | None:
        if value and not HOSTED_ZONE_ID_PATTERN.match(value):
            return "must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ (or empty)"
        return None

    def check_certificate(value: str) -> str | None:
        if not value:
            return None
        match = CERTIFICATE_ARN_PATTERN.match(value)
        if match is None:
            return "must be an ACM certificate ARN, arn:aws:acm:<region>:<account>:certificate/<uuid> (or empty)"
        if match["region"] != region:
            return f"must be a certificate in the stack's region {region} (an ALB only uses certificates of its region)"
        return None

    zone = reader.string("hostedZoneId", check=check_zone)
    certificate = reader.string("certificateArn", check=check_certificate)
    if not zone and not certificate and reader.valid("hostedZoneId", "certificateArn"):
        reader.problem("hostedZoneId", zone,
                       "set hostedZoneId (a DNS-validated certificate and the alias record are created there), "
                       "certificateArn (an existing certificate), or both: the HTTPS listener needs a certificate")
    tls_policy = reader.string("tlsPolicy", choices=TLS_POLICIES, fallback=TLS_POLICIES[0])
    desync = reader.string("desyncMitigationMode", choices=DESYNC_MODES, fallback="strictest")
    idle_timeout = reader.integer("albIdleTimeoutSeconds", minimum=60, maximum=4000, fallback=300)

    window = reader.integer("wafRateLimitWindowSeconds", choices=WAF_RATE_WINDOWS, fallback=60)
    limit = reader.integer("wafRateLimit", minimum=WAF_MIN_RATE_LIMIT, maximum=WAF_MAX_RATE_LIMIT, fallback=60)
    limit_paths = reader.string_list("wafRateLimitPaths", check=_check_path_prefix)
    ai_limit = reader.integer("wafAiRateLimit", minimum=WAF_MIN_RATE_LIMIT, maximum=WAF_MAX_RATE_LIMIT, fallback=10)
    ai_paths = reader.string_list("wafAiPaths", check=_check_path_prefix)
    flood = reader.integer("wafFloodRateLimit", minimum=WAF_MIN_RATE_LIMIT, maximum=WAF_MAX_RATE_LIMIT,
                           fallback=1000)
    if len(limit_paths) > WAF_MAX_PATHS and reader.valid("wafRateLimitPaths"):
        reader.problem("wafRateLimitPaths", list(limit_paths), f"must list at most {WAF_MAX_PATHS} path prefixes")
    if not 1 <= len(ai_paths) <= WAF_MAX_PATHS and reader.valid("wafAiPaths"):
        reader.problem("wafAiPaths", list(ai_paths),
                       f"must list 1 to {WAF_MAX_PATHS} path prefixes of the AI routes, e.g. [/api/chat]")
    if ai_limit > limit and reader.valid("wafAiRateLimit", "wafRateLimit"):
        reader.problem("wafAiRateLimit", ai_limit,
                       f"must be at most wafRateLimit ({limit}): the AI limit is the stricter one")
    if flood < limit and reader.valid("wafFloodRateLimit", "wafRateLimit"):
        reader.problem("wafFloodRateLimit", flood,
                       f"must be at least wafRateLimit ({limit}): it counts every request, the API ones included")
    return EdgeSettings(
        hosted_zone_id=zone, certificate_arn=certificate, tls_policy=tls_policy, desync_mitigation_mode=desync,
        idle_timeout_seconds=idle_timeout, waf_window_seconds=window, waf_rate_limit=limit,
        waf_rate_limit_paths=limit_paths, waf_ai_rate_limit=ai_limit, waf_ai_paths=ai_paths,
        waf_flood_rate_limit=flood,
    )
# --- database ---------------------------------------------------------------------------------------------------------

DB_ENGINE_VERSION_PATTERN = re.compile(r"^15(\.\d{1,2})?$")
DB_INSTANCE_CLASS_PATTERN = re.compile(r"^db\.[a-z][a-z0-9-]*\.(micro|small|medium|large|\d{0,2}xlarge|metal)$")
DB_MAX_REPLICAS = 5  # RDS allows 15 for PostgreSQL; more than 5 here would be a design smell, not a need
DB_MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
DB_PERFORMANCE_INSIGHTS_RETENTION = (7, *(31 * months for months in range(1, 24)), 731)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_BACKUP_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_MAINTENANCE_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$")
_WEEK = 7 * 24 * 60
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key/[0-9a-f-]{36}$")


def _check_db_engine_version(value: str) -> str | None:
    return None if DB_ENGINE_VERSION_PATTERN.match(value) else "must be PostgreSQL 15 as 15 or 15.<minor>, e.g. 15.10"


def _check_db_instance_class(value: str) -> str | None:
    return None if DB_INSTANCE_CLASS_PATTERN.match(value) else "must be an RDS instance class such as db.m7g.large"


def _backup_minutes(window: str) -> tuple[int, int]:
    """A daily window as (start, end) minutes of the day; end may be past midnight (end > 1440)."""
    match = _BACKUP_WINDOW.match(window)
    assert match is not None
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    return start, end if end > start else end + 24 * 60


def _maintenance_minutes(window: str) -> tuple[int, int]:
    """A weekly window as (start, end) minutes of the week; end may be past Sunday midnight."""
    match = _MAINTENANCE_WINDOW.match(window)
    assert match is not None
    start = _DAYS.index(match[1]) * 1440 + int(match[2]) * 60 + int(match[3])
    end = _DAYS.index(match[4]) * 1440 + int(match[5]) * 60 + int(match[6])
    return start, end if end > start else end + _WEEK


def _check_backup_window(value: str) -> str | None:
    if not _BACKUP_WINDOW.match(value):
        return "must be a UTC window hh:mm-hh:mm, e.g. 03:00-04:00"
    start, end = _backup_minutes(value)
    return None if end - start >= 30 else "must last at least 30 minutes"


def _check_maintenance_window(value: str) -> str | None:
    if not _MAINTENANCE_WINDOW.match(value):
        return "must be a UTC window ddd:hh:mm-ddd:hh:mm with days mon-sun, e.g. sun:04:30-sun:05:30"
    start, end = _maintenance_minutes(value)
    if end - start < 30:
        return "must last at least 30 minutes"
    return None if end - start <= 24 * 60 else "must last at most 24 hours"


def windows_overlap(backup_window: str, maintenance_window: str) -> bool:
    """Whether the daily backup window meets the weekly maintenance window on any day (RDS rejects that)."""
    backup_start, backup_end = _backup_minutes(backup_window)
    maintenance_start, maintenance_end = _maintenance_minutes(maintenance_window)
    for day in range(-1, 8):  # every day's backup, including the ones that wrap around the week
        start, end = day * 1440 + backup_start, day * 1440 + backup_end
        for shift in (-_WEEK, 0, _WEEK):
            if start < maintenance_end + shift and maintenance_start + shift < end:
                return True
    return False


def _database_settings(reader: _Reader, region: str, environment: Environment) -> DatabaseSettings:
    engine_version = reader.string("dbEngineVersion", check=_check_db_engine_version, fallback="15")
    instance_class = reader.string("dbInstanceClass", check=_check_db_instance_class, fallback="db.m7g.large")
    multi_az = reader.boolean("dbMultiAz", fallback=True)
    replica_count = reader.integer("dbReplicaCount", minimum=0, maximum=DB_MAX_REPLICAS)
    replica_classes = reader.string_list("dbReplicaInstanceClasses", check=_check_db_instance_class, unique=False)
    if replica_classes and len(replica_classes) != replica_count and reader.valid("dbReplicaCount",
                                                                                   "dbReplicaInstanceClasses"):
        reader.problem("dbReplicaInstanceClasses", list(replica_classes),
                       f"must list exactly dbReplicaCount ({replica_count}) instance classes, or be empty")
    allocated = reader.integer("dbAllocatedStorageGb", minimum=20, maximum=65536, fallback=20)
    max_allocated = reader.integer("dbMaxAllocatedStorageGb", minimum=21, maximum=65536, fallback=21)
    if max_allocated <= allocated and reader.valid("dbAllocatedStorageGb", "dbMaxAllocatedStorageGb"):
        reader.problem("dbMaxAllocatedStorageGb", max_allocated,
                       f"must exceed dbAllocatedStorageGb ({allocated}) so storage autoscaling has room")
    retention = reader.integer("dbBackupRetentionDays", minimum=1, maximum=35, fallback=14)
    backup_window = reader.string("dbBackupWindow", check=_check_backup_window, fallback="03:00-04:00")
    maintenance_window = reader.string("dbMaintenanceWindow", check=_check_maintenance_window,
                                       fallback="sun:04:30-sun:05:30")
    if reader.valid("dbBackupWindow", "dbMaintenanceWindow") and windows_overlap(backup_window, maintenance_window):
        reader.problem("dbMaintenanceWindow", maintenance_window,
                       f"must not overlap dbBackupWindow ({backup_window}) on any day")

    def check_region(value: str) -> str | None:
        if not value:
            return None
        if not REGION_PATTERN.match(value):
            return "must be an AWS region such as us-west-2, or empty"
        return None if value != region else f"must differ from the stack's region ({region}): it is for DR"

    def check_key_arn(value: str) -> str | None:
        if not value or _KMS_KEY_ARN.match(value):
            return None
        return "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>), or empty"

    replication_region = reader.string("dbBackupReplicationRegion", check=check_region)
    replication_key = reader.string("dbBackupReplicationKmsKeyArn", check=check_key_arn)
    if reader.valid("dbBackupReplicationRegion", "dbBackupReplicationKmsKeyArn"):
        if bool(replication_region) != bool(replication_key):
            missing = "dbBackupReplicationKmsKeyArn" if replication_region else "dbBackupReplicationRegion"
            present = "dbBackupReplicationRegion" if replication_region else "dbBackupReplicationKmsKeyArn"
            reader.problem(missing, "", f"must be set together with {present} (both or neither)")
        elif replication_key and (key_match := _KMS_KEY_ARN.match(replication_key)) and \
                key_match[1] != replication_region:
            reader.problem("dbBackupReplicationKmsKeyArn", replication_key,
                           f"must be a key in dbBackupReplicationRegion ({replication_region}), "
                           f"not {key_match[1]}")

    insights_retention = reader.integer("dbPerformanceInsightsRetentionDays",
                                        choices=DB_PERFORMANCE_INSIGHTS_RETENTION, fallback=7)
    monitoring_interval = reader.integer("dbMonitoringIntervalSeconds", choices=DB_MONITORING_INTERVALS,
                                         fallback=60)
    shared_buffers = reader.integer("dbSharedBuffersMb", minimum=16, maximum=262144, fallback=256)
    effective_cache = reader.integer("dbEffectiveCacheSizeMb", minimum=64, maximum=1048576, fallback=1024)
    maintenance_work_mem = reader.integer("dbMaintenanceWorkMemMb", minimum=16, maximum=2048, fallback=64)
    wal_buffers = reader.integer("dbWalBuffersMb", minimum=1, maximum=256, fallback=16)
    max_connections = reader.integer("dbMaxConnections", minimum=20, maximum=5000, fallback=100)
    slow_query_ms = reader.integer("dbSlowQueryMs", minimum=-1, maximum=3_600_000, fallback=1000)
    if effective_cache < shared_buffers and reader.valid("dbSharedBuffersMb", "dbEffectiveCacheSizeMb"):
        reader.problem("dbEffectiveCacheSizeMb", effective_cache,
                       f"must be at least dbSharedBuffersMb ({shared_buffers}): the OS cache comes on top of it")

    if environment == "prod" and reader.valid("environment"):
        if not multi_az and reader.valid("dbMultiAz"):
            reader.problem("dbMultiAz", multi_az, "prod needs true: a single-AZ primary is down for a whole AZ outage")
        if retention < 14 and reader.valid("dbBackupRetentionDays"):
            reader.problem("dbBackupRetentionDays", retention, "prod needs at least 14 days of point-in-time recovery")
        if reader.valid("dbInstanceClass") and instance_class.startswith("db.t"):
            reader.problem("dbInstanceClass", instance_class,
                           "prod needs a non-burstable class (e.g. db.m7g.large): db.t* throttles when credits run out")
        if monitoring_interval == 0 and reader.valid("dbMonitoringIntervalSeconds"):
            reader.problem("dbMonitoringIntervalSeconds", 0, "prod needs enhanced monitoring (1-60)")

    return DatabaseSettings(
        engine_version=engine_version,
        instance_class=instance_class,
        multi_az=multi_az,
        replica_instance_classes=replica_classes or (instance_class,) * replica_count,
        allocated_storage_gb=allocated,
        max_allocated_storage_gb=max_allocated,
        backup_retention_days=retention,
        backup_window=backup_window,
        maintenance_window=maintenance_window,
        backup_replication_region=replication_region,
        backup_replication_kms_key_arn=replication_key,
        performance_insights_retention_days=insights_retention,
        monitoring_interval_seconds=monitoring_interval,
        shared_buffers_mb=shared_buffers,
        effective_cache_size_mb=effective_cache,
        maintenance_work_mem_mb=maintenance_work_mem,
        wal_buffers_mb=wal_buffers,
        max_connections=max_connections,
        slow_query_ms=slow_query_ms,
    )


def _check_email(value: str) -> str | None:
    if len(value) > 254 or not EMAIL_PATTERN.match(value):
        return "must be an email address such as oncall@maratron.example.com"
    return None


def _operations_settings(reader: _Reader, environment: Environment) -> OperationsSettings:
    emails = reader.string_list("alertEmails", check=_check_email)
    if environment == "prod" and not emails and reader.valid("environment", "alertEmails"):
        reader.problem("alertEmails", [], "prod needs at least one address: an alarm nobody receives is no alarm")
    defaults = AlarmThresholds()
    values: dict[str, int] = {}
    for key, (name, minimum, maximum) in ALARM_THRESHOLD_KEYS.items():
        values[name] = reader.integer(key, minimum=minimum, maximum=maximum, fallback=getattr(defaults, name))
    if values["latency_p99_ms"] < values["latency_p95_ms"] and reader.valid("alarmLatencyP95Ms", "alarmLatencyP99Ms"):
        reader.problem("alarmLatencyP99Ms", values["latency_p99_ms"],
                       f"must be at least alarmLatencyP95Ms ({values['latency_p95_ms']}): a p99 is never below the p95")
    return OperationsSettings(alert_emails=emails, alarm_thresholds=AlarmThresholds(**values))
def _check_image_reference(value: str) -> str | None:
    if DIGEST_PATTERN.match(value) or TAG_PATTERN.match(value) or ECR_REFERENCE_PATTERN.match(value):
        return None
    return ("must be an image digest (sha256:<64 hex>), a tag, or <account>.dkr.ecr.<region>.amazonaws.com/<repo>"
            "@sha256:<64 hex> (or :<tag>)")


def _check_build_context(value: str) -> str | None:
    directory = (SCHEMA_FILE.parent / value).resolve()
    if not directory.is_dir():
        return f"must be a directory (relative to the project); {directory} does not exist"
    if not (directory / "Dockerfile").is_file():
        return f"must contain a Dockerfile; {directory / 'Dockerfile'} does not exist"
    return None


def _image_source(reader: _Reader, service: str, environment: Environment) -> ImageSource:
    image_key, context_key = f"{service}Image", f"{service}BuildContext"
    reference = reader.string(image_key, check=lambda v: _check_image_reference(v) if v else None)
    context = reader.string(context_key, check=lambda v: _check_build_context(v) if v else None)
    if not reader.valid(image_key, context_key):
        return ImageSource()
    if reference and context:
        reader.problem(image_key, reference, f"set either {image_key} or {context_key}, not both")
    elif not reference and not context:
        reader.problem(image_key, reference,
                       f"required: set {image_key} (a digest sha256:... or tag the app's CI pushed) or "
                       f"{context_key} (a directory with a Dockerfile to build)")
    elif environment == "prod" and reference.rsplit(":", 1)[-1] == "latest" and not DIGEST_PATTERN.match(reference):
        reader.problem(image_key, reference,
                       "`latest` is not allowed in prod: pin a digest (sha256:...) or a release tag")
    return ImageSource(reference=reference, build_context=context)


def _service_settings(reader: _Reader, service: str, environment: Environment) -> ServiceSettings:
    image = _image_source(reader, service, environment)
    cpu_key, memory_key = f"{service}Cpu", f"{service}Memory"
    cpu = reader.integer(cpu_key, choices=FARGATE_SIZES, fallback=256)
    memory = reader.integer(memory_key, minimum=512, fallback=512)
    if reader.valid(cpu_key, memory_key) and memory not in (allowed := fargate_memory_sizes(cpu)):
        reader.problem(memory_key, memory,
                       f"Fargate with {cpu_key} {cpu} ({cpu / 1024:g} vCPU) allows memory "
                       f"{', '.join(map(str, allowed))} MiB")
    desired_key, max_key = f"{service}DesiredCount", f"{service}MaxCount"
    desired = reader.integer(desired_key, minimum=1, maximum=100, fallback=1)
    maximum = reader.integer(max_key, minimum=1, maximum=100, fallback=1)
    if reader.valid(desired_key, max_key) and maximum < desired:
        reader.problem(max_key, maximum, f"must be at least {desired_key} ({desired})")
    if environment == "prod" and desired < 2 and reader.valid("environment", desired_key):
        reader.problem(desired_key, desired, "prod needs at least 2 tasks (spread over AZs, survives losing one)")
    return ServiceSettings(image=image, cpu=cpu, memory=memory, desired_count=desired, max_count=maximum)


def _app_settings(reader: _Reader, environment: Environment) -> AppSettings:
    web = _service_settings(reader, "web", environment)
    ai = _service_settings(reader, "ai", environment)
    ai_port = reader.integer("aiPort", minimum=1024, maximum=65535, fallback=8000)
    if ai_port == WEB_PORT and reader.valid("aiPort"):
        reader.problem("aiPort", ai_port, f"must differ from the web's port {WEB_PORT}")
    retain = reader.integer("imageRetainCount", minimum=1, maximum=1000, fallback=30)
    spot = reader.boolean("fargateSpot")
    if spot and environment == "prod" and reader.valid("environment"):
        reader.problem("fargateSpot", spot, "not allowed in prod: Spot tasks can be reclaimed with 2 minutes' notice")
    log_level = reader.string("appLogLevel", choices=LOG_LEVELS, fallback="info")
    pool = reader.integer("appDatabasePoolSize", minimum=1, maximum=500, fallback=20)
    max_connections = reader.integer("appDatabaseMaxConnections", minimum=1, maximum=10000, fallback=100)
    if reader.valid("appDatabasePoolSize", "appDatabaseMaxConnections") and pool > max_connections:
        reader.problem("appDatabasePoolSize", pool, f"must not exceed appDatabaseMaxConnections ({max_connections})")

    # Secrets: only presence is checked and kept; a problem never echoes a value (an empty one is all it can show).
    reader.string("anthropicApiKey", check=lambda v: None if v.strip() else "required: the AI server's Anthropic key")
    present = {}
    for key, feature in (("weatherApiKey", "the AI server's weather features"),
                         ("sentryDsn", "error reporting from both services")):
        present[key] = bool(reader.string(key).strip())
        if environment == "prod" and not present[key] and reader.valid("environment"):
            reader.problem(key, "", f"required in prod ({feature}); set it with "
                                    f"`pulumi config set --secret {PROJECT}:{key} ...`")
    return AppSettings(web=web, ai=ai, ai_port=ai_port, image_retain_count=retain, fargate_spot=spot,
                       log_level=log_level, database_pool_size=pool, database_max_connections=max_connections,
                       weather_api_key_set=present["weatherApiKey"], sentry_dsn_set=present["sentryDsn"])
