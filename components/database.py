"""RDS PostgreSQL: a Multi-AZ primary in the isolated data subnets, read replicas in the other AZs, and the secrets
the app connects with.

Shape of the dependency graph — on purpose. The app tier needs two secrets: DATABASE_URL (the writer) and
DATABASE_READ_URL (reads). The writer URL names the primary's endpoint, so it exists once the primary does (~8 min,
unavoidable). The read URL names a *stable* hostname in a private hosted zone, `db-reader.<zone>`, whose weighted
CNAME records point at the replicas; the secret depends on the zone and on the primary's fallback record, never on
a replica. A replica takes another 15-25 minutes after the primary; with this shape `pulumi up` creates the ECS
services in parallel with the replicas instead of after them, and until the replicas' records exist the reader
name resolves to the primary (a weight-0 record is served only when no other record of the set exists or is
healthy), so reads work from the first minute. Afterwards each replica's record carries a Route 53 health check on
its ReplicaLag: a replica that is rebooting, being replaced or failed (silent) leaves the name within about three
minutes, one far behind (READER_MAX_LAG_SECONDS) too, and with none left the fallback serves reads again.

Access (issue 11): the app never connects as the master. The primary admits web and ai only through RDS Proxy
(components/database_proxy.py; without the proxy, directly), the migration, backup and db-admin clients directly;
the replicas have their own security group. The master's password is generated here and lives in its own secret
(readable only by the db-admin function and operators); every other login - app_rw, app_ro (each with a clone for
alternating-user rotation), app_migrate, app_backup - is a secret without a Pulumi-written value: the db-admin
function writes and rotates them (components/credentials.py, ops/db_admin/).

Trade-off, written down: the reader hostname is ours, not RDS's, so `sslmode=require` (encrypted, no hostname
check) is what the URL can promise; `verify-full` would need the RDS endpoint names in the URL and would tie the
secret to the replicas again.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.base import (
    RETAIN,
    AwsContext,
    RemovalPolicy,
    SecretRef,
    assume_role_policy,
    json_output,
    managed_secret,
    named_tags,
    retains,
)
from components.connection_budget import instance_memory_gib
from components.connections import Connectable, Connections, grant
from components.constants import (
    CREDENTIAL_TAG,
    KMS_KEY_ARN,
    LOG_RETENTION_DAYS,
    STATIC_DB_PARAMETERS,
    Credential,
)
from components.database_proxy import DatabaseProxy, DatabaseProxyArgs, ProxySettings
from components.observability import DatabaseWatch
from components.settings import Rules, require_valid, section, setting
from components.windows import daily_window_check, weekly_window_check, weekly_window_shifted, windows_overlap
from ops.db_admin import roles

PORT = 5432
DATABASE_NAME = "maratrondb"  # the seed's database name
MASTER_USERNAME = "maratron"
CA_CERTIFICATE = "rds-ca-rsa2048-g1"  # pinned: a CA rotation is a planned change, never a surprise in a diff
LOG_EXPORTS = ("postgresql", "upgrade")
ENHANCED_MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"  # AWS managed, not an admin policy


ENGINE_MAJOR_VERSIONS = ("15",)
"""Major versions only: RDS upgrades the minor version itself in the maintenance window (autoMinorVersionUpgrade is
always on), after which a pinned minor such as 15.10 would ask RDS for a downgrade, which it refuses ("Cannot
upgrade postgres from 15.12 to 15.10"; https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/
USER_UpgradeDBInstance.PostgreSQL.Minor.html)."""
STORAGE_AUTOSCALING_MINIMUM_HEADROOM_PERCENT = 10
"""The autoscaling ceiling must be at least 10% above the allocated storage, or RDS answers "Invalid max storage size"
(https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html, maximum storage threshold)."""
SHARED_BUFFERS_MAXIMUM_SHARE = 0.4
"""shared_buffers at most 40% of an instance's memory (PostgreSQL: "unlikely that an allocation of more than 40% of RAM
to shared_buffers will work better"; https://www.postgresql.org/docs/15/runtime-config-resource.html). RDS's own
default is 25% (DBInstanceClassMemory/32768 pages of 8 kB); an instance that cannot fit its group's static values does
not start ("incompatible-parameters", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html),
and every instance shares the one parameter group, so the smallest class decides."""
INSTANCE_CLASS_PATTERN = re.compile(r"^db\.[a-z][a-z0-9-]*\.(micro|small|medium|large|\d{0,2}xlarge|metal)$")
MAX_REPLICAS = 5  # RDS allows 15 for PostgreSQL; more than 5 here would be a design smell, not a need
READER_MAX_LAG_SECONDS = 1800
"""A replica silent for two minutes, or further behind than this, leaves db-reader.<zone> until it is back
(Database._reader_health). Generous on purpose: RDS computes PostgreSQL's ReplicaLag as `now() -
pg_last_xact_replay_timestamp()` (RDS user guide, monitoring read replication), which grows on a healthy replica
while the primary commits nothing (staging, a quiet night), and routing must not follow that. A replica behind for
real pages through the replica-lag alarm (components/observability.py) long before this."""
REPLICA_MAINTENANCE_DAYS = 3
"""Replicas take their maintenance on the 1st, 2nd, 3rd, then again 1st, 2nd day before the primary's window."""
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
PERFORMANCE_INSIGHTS_RETENTION = (7, *(31 * months for months in range(1, 24)), 731)
KMS_KEY_ARN_PATTERN = re.compile(KMS_KEY_ARN)
AUTOMATED_BACKUPS_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:rds:([a-z0-9-]+):(\d{12}):auto-backup:ab-[A-Za-z0-9]+$")
"""Replicated (or retained) automated backups: the source of a point-in-time restore in another region."""
RESTORE_LATEST = "latest"
RESTORE_TIME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def check_engine_version(value: str) -> str | None:
    if value in ENGINE_MAJOR_VERSIONS:
        return None
    major = value.split(".", 1)[0]
    if major in ENGINE_MAJOR_VERSIONS:
        return (f"must be the major version {major} alone: RDS applies minor upgrades in the maintenance window, and a "
                "pinned minor would then ask it for a downgrade")
    return f"must be a PostgreSQL major version RDS runs here: {', '.join(ENGINE_MAJOR_VERSIONS)}"


def check_instance_class(value: str) -> str | None:
    return None if INSTANCE_CLASS_PATTERN.match(value) else "must be an RDS instance class such as db.m7g.large"


def check_optional_backups_arn(value: str) -> str | None:
    if not value or AUTOMATED_BACKUPS_ARN_PATTERN.match(value):
        return None
    return ("must be the ARN of replicated automated backups (arn:aws:rds:<region>:<account>:auto-backup:ab-...), "
            "or empty")


def check_restore_time(value: str) -> str | None:
    """latest, or a real UTC second that has passed (RDS refuses a restore time it cannot reach: "The date and time to
    restore from ... must be before the latest restorable time", RestoreDBInstanceToPointInTime)."""
    allowed = f"must be {RESTORE_LATEST} or a past UTC timestamp such as 2026-11-28T06:00:00Z"
    if value == RESTORE_LATEST:
        return None
    if not RESTORE_TIME_PATTERN.match(value):
        return allowed
    try:
        when = datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return f"{allowed} (no such date or time)"
    if when > datetime.datetime.now(datetime.UTC):
        return f"{allowed} (this one is in the future)"
    return None


def check_optional_key_arn(value: str) -> str | None:
    if not value or KMS_KEY_ARN_PATTERN.match(value):
        return None
    return "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid or mrk-id>), or empty"


ENGINE_DEFAULT_PARAMETERS: dict[str, dict[str, str]] = {
    "15": {"checkpoint_completion_target": "0.9", "default_statistics_target": "100", "rds.force_ssl": "1"},
}
"""By major version (an entry for each of ENGINE_MAJOR_VERSIONS: a test holds it): parameters set to the value the
family already has (PostgreSQL 14+ defaults, and RDS's force_ssl on PostgreSQL 15; on 14 it is 0), written down so
the seed's settings and the SSL control stay explicit. RDS does not record such a parameter as user-modified, and
DescribeDBParameters reports its apply method as pending-reboot: sent as `immediate`, every later `up` plans the same
pending-reboot -> immediate update (terraform-provider-aws#18035, and the provider's "Problematic Plan Changes" note
on aws_db_parameter_group). Sent as pending-reboot, nothing differs, and nothing waits for a reboot: the value is
already the running one."""


def apply_method(parameter: str, value: str, major: str) -> str:
    """`pending-reboot` for a static parameter (the only method RDS accepts for one) and for a dynamic one set to its
    engine default (ENGINE_DEFAULT_PARAMETERS[major]: no perpetual diff), `immediate` otherwise."""
    at_default = ENGINE_DEFAULT_PARAMETERS[major].get(parameter) == value
    return "pending-reboot" if parameter in STATIC_DB_PARAMETERS or at_default else "immediate"


@dataclass(frozen=True, kw_only=True)
class PostgresTuning:
    """The seed's postgresql.conf settings, in human units; `parameters()` converts them to RDS units."""

    shared_buffers_mb: int = setting(
        "dbSharedBuffersMb", 2048, "shared_buffers in MiB: about 25% of the instance memory (RDS's own default), 2048 "
        "for the default db.m7g.large's 8 GiB; the seed's 256MB was sized for a 2 GB container. Change it with the "
        "class (at most 40% of the smallest instance). Static: applied at the next reboot.", minimum=16,
        maximum=262144)
    effective_cache_size_mb: int = setting(
        "dbEffectiveCacheSizeMb", 6144, "effective_cache_size in MiB, a planner hint: about 75% of the instance "
        "memory, 6144 for db.m7g.large (the seed's 1GB was for a 2 GB container).", minimum=64, maximum=1048576)
    maintenance_work_mem_mb: int = setting(
        "dbMaintenanceWorkMemMb", 64, "maintenance_work_mem in MiB (seed 64MB) for VACUUM and CREATE INDEX.",
        minimum=16, maximum=2048)
    wal_buffers_mb: int = setting(
        "dbWalBuffersMb", 16, "wal_buffers in MiB (seed 16MB; 1-256). Static: applied at the next reboot.",
        minimum=1, maximum=256)
    max_connections: int = setting(
        "dbMaxConnections", 600, "max_connections (20-5000; seed 100). Default 600, sized by the connection budget "
        "(docs/database-access.md): every task's Prisma pools at maximum scale and deployment surge, the proxy's "
        "headroom, migrations, backups, the db-admin function and reserved slots must fit, and it may not exceed "
        "RDS's default for the instance memory. Static: applied at the next reboot.", minimum=20, maximum=5000)
    slow_query_ms: int = setting(
        "dbSlowQueryMs", 1000, "log_min_duration_statement: statements slower than this many milliseconds are logged "
        "with their text (at least 100: lower logs nearly every statement, and its values).", minimum=100,
        maximum=3_600_000)

    def validate(self, rules: Rules) -> None:
        if self.effective_cache_size_mb < self.shared_buffers_mb:
            rules.problem("effective_cache_size_mb", f"must be at least {rules.key('shared_buffers_mb')} "
                          f"({self.shared_buffers_mb}): the OS cache comes on top of it", also=["shared_buffers_mb"])

    def parameters(self, major: str) -> list[tuple[str, str, str]]:
        """(name, value, apply method) in the units RDS expects, for the engine's major version.

        Unit conversions (RDS takes the raw PostgreSQL units, not '256MB'):
          shared_buffers, effective_cache_size and wal_buffers are counted in 8 kB pages: MB x 128
            (256 MB = 32768 pages, 1 GB = 131072 pages, 16 MB = 2048 pages);
          maintenance_work_mem is in kB: MB x 1024 (64 MB = 65536 kB);
          log_min_duration_statement is in ms.
        Static parameters (constants.STATIC_DB_PARAMETERS: shared_buffers, max_connections, wal_buffers,
        shared_preload_libraries, ...) can only take effect at a restart, and RDS rejects `immediate` for them: they
        are `pending-reboot`, and a changed value waits for the next reboot of *each* instance using the group
        (primary and every replica), in every environment — the maintenance window does not apply them
        (API_ModifyDBParameterGroup). Everything else is dynamic and `immediate`, except the parameters set to the
        engine's default (ENGINE_DEFAULT_PARAMETERS).
        """
        values = [
            ("shared_buffers", str(self.shared_buffers_mb * 128)),
            ("max_connections", str(self.max_connections)),
            ("wal_buffers", str(self.wal_buffers_mb * 128)),
            ("shared_preload_libraries", "pg_stat_statements"),
            ("effective_cache_size", str(self.effective_cache_size_mb * 128)),
            ("maintenance_work_mem", str(self.maintenance_work_mem_mb * 1024)),
            ("checkpoint_completion_target", "0.9"),
            ("default_statistics_target", "100"),
            # PostgreSQL 15 on RDS defaults to 1 already; explicit so a family default change or a scan never
            # finds plaintext connections allowed (CKV2_AWS_69).
            ("rds.force_ssl", "1"),
            ("log_min_duration_statement", str(self.slow_query_ms)),
            ("log_connections", "1"),
            ("log_disconnections", "1"),
            ("log_lock_waits", "1"),
            ("log_statement", "ddl"),  # every schema change is audited in the postgresql log
        ]
        return [(name, value, apply_method(name, value, major)) for name, value in values]


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """The configurable part of the database: sizing, availability, backups, monitoring and tuning."""

    engine_version: str = setting(
        "dbEngineVersion", "15", "PostgreSQL major version (15). RDS picks the current minor and upgrades it in the "
        "maintenance window; a minor (15.10) is refused, as it would turn into a downgrade after the first automatic "
        "upgrade.", check=check_engine_version)
    instance_class: str = setting(
        "dbInstanceClass", "db.m7g.large", "Primary instance class. Default db.m7g.large (Graviton3, 2 vCPU, 8 GiB, "
        "non-burstable): the cheapest steady-CPU class that keeps the working set cached; prod rejects burstable "
        "db.t* classes.", check=check_instance_class)
    multi_az: bool = setting(
        "dbMultiAz", True, "Synchronous standby in a second AZ with automatic failover (about 1-2 minutes). Required "
        "in prod.")
    replica_count: int = setting(
        "dbReplicaCount", 2, "Read replicas (0-5), spread over the AZs other than the first. Named "
        "database-replica-1..N, so changing the count never replaces an existing one.", minimum=0,
        maximum=MAX_REPLICAS)
    replica_instance_classes: tuple[str, ...] = setting(
        "dbReplicaInstanceClasses", (), "Instance class per replica, in order (exactly dbReplicaCount entries). "
        "Empty: every replica uses dbInstanceClass.", check=check_instance_class, unique=False)
    allocated_storage_gb: int = setting(
        "dbAllocatedStorageGb", 100, "Initial gp3 storage in GiB (20-65536). gp3 gives 3000 IOPS / 125 MiB/s baseline "
        "below 400 GiB at no extra cost.", minimum=20, maximum=65536)
    max_allocated_storage_gb: int = setting(
        "dbMaxAllocatedStorageGb", 500, "Storage autoscaling ceiling in GiB, at least 10% above dbAllocatedStorageGb "
        "(an RDS minimum; 26% or more avoids its near-ceiling events). RDS grows storage when free space runs low, "
        "without downtime.", minimum=22, maximum=65536)
    backup_retention_days: int = setting(
        "dbBackupRetentionDays", 14, "Automated backup (PITR) retention, 1-35 days; prod needs at least 14. Read "
        "replicas need at least 1.", minimum=1, maximum=35)
    backup_window: str = setting(
        "dbBackupWindow", "03:00-04:00", "Daily automated backup window, UTC hh:mm-hh:mm, at least 30 minutes; must "
        "not overlap dbMaintenanceWindow.", check=daily_window_check(minimum_minutes=30, example="03:00-04:00"))
    maintenance_window: str = setting(
        "dbMaintenanceWindow", "sun:04:30-sun:05:30", "Weekly maintenance window of the primary, UTC "
        "ddd:hh:mm-ddd:hh:mm, at least 30 minutes; right after the backup window so a patch follows a fresh backup. "
        "Replicas take the same hours on the three days before (replica 1 the day before, 2 two days, 3 three, 4 and "
        "5 as 1 and 2): RDS asks for replicas to get a minor upgrade before their source, and the primary and the "
        "replicas are never down together.",
        check=weekly_window_check(minimum_minutes=30, maximum_minutes=24 * 60, example="sun:04:30-sun:05:30"))
    restore_from: str = setting(
        "dbRestoreFromBackupsArn", "", "DR restore: ARN of replicated automated backups in this stack's region "
        "(arn:aws:rds:<region>:<account>:auto-backup:ab-...; the source stack's drDatabaseBackupsArn output). Set: "
        "the primary is restored from them (point in time, dbRestoreTime) instead of created empty. Empty (default): "
        "a new empty database. Never unset it on a restored stack (that would replace the database).",
        check=check_optional_backups_arn)
    restore_kms_key_arn: str = setting(
        "dbRestoreKmsKeyArn", "", "DR restore: ARN of the KMS key the replicated backups are encrypted with (the "
        "source stack's drKmsKeyArn output); the restored primary keeps it (a point-in-time restore cannot change "
        "the key). Required with dbRestoreFromBackupsArn.", check=check_optional_key_arn)
    restore_time: str = setting(
        "dbRestoreTime", RESTORE_LATEST, "DR restore: the point in time to restore, latest (default: the latest "
        "restorable time) or a UTC timestamp such as 2026-11-28T06:00:00Z within the backups' restore window. Fixed "
        "once restored: a change would replace the database (protect refuses it).",
        check=check_restore_time)
    performance_insights_retention_days: int = setting(
        "dbPerformanceInsightsRetentionDays", 7, "Performance Insights retention: 7 (free tier), a multiple of 31 up "
        "to 713, or 731.", choices=PERFORMANCE_INSIGHTS_RETENTION)
    monitoring_interval_seconds: int = setting(
        "dbMonitoringIntervalSeconds", 60, "Enhanced monitoring granularity: 0 (off), 1, 5, 10, 15, 30 or 60 "
        "seconds. 60 costs least; prod cannot turn it off.", choices=MONITORING_INTERVALS)
    apply_immediately: bool = setting(
        "dbApplyImmediately", False, "Apply instance changes (class, storage, parameter-group association) at once "
        "(false: in the next maintenance window, so a resize never restarts the database mid-day). Parameter values "
        "are not instance changes: static ones (pending-reboot) take effect only at the next reboot of each "
        "instance, whatever this says; the preview lists them.")
    tuning: PostgresTuning = section(PostgresTuning)
    proxy: ProxySettings = section(ProxySettings)

    @property
    def replica_classes(self) -> tuple[str, ...]:
        """One instance class per replica: the listed ones, or the primary's for each."""
        return self.replica_instance_classes or (self.instance_class,) * self.replica_count

    def validate(self, rules: Rules) -> None:
        if self.replica_instance_classes and len(self.replica_instance_classes) != self.replica_count:
            rules.problem("replica_instance_classes", f"must list exactly {rules.key('replica_count')} "
                          f"({self.replica_count}) instance classes, or be empty", also=["replica_count"])
        ceiling = math.ceil(self.allocated_storage_gb * (100 + STORAGE_AUTOSCALING_MINIMUM_HEADROOM_PERCENT) / 100)
        if self.max_allocated_storage_gb < ceiling:
            rules.problem("max_allocated_storage_gb", f"must be at least {ceiling}, "
                          f"{STORAGE_AUTOSCALING_MINIMUM_HEADROOM_PERCENT}% above "
                          f"{rules.key('allocated_storage_gb')} ({self.allocated_storage_gb}): RDS refuses a smaller "
                          "autoscaling ceiling", also=["allocated_storage_gb"])
        classes = (self.instance_class, *self.replica_classes)
        sized = [(memory, c) for c in classes if (memory := instance_memory_gib(c))]
        if sized:
            memory, instance_class = min(sized)
            limit = int(memory * 1024 * SHARED_BUFFERS_MAXIMUM_SHARE)
            if self.tuning.shared_buffers_mb > limit:
                rules.problem("tuning.shared_buffers_mb", f"must be at most {limit} MiB, 40% of the {memory:g} GiB "
                              f"of {instance_class} (every instance uses the one parameter group; RDS's default is "
                              "25%): an instance whose memory cannot hold it does not start",
                              also=["instance_class", "replica_instance_classes"])
        if rules.valid("backup_window", "maintenance_window") and windows_overlap(self.backup_window,
                                                                                   self.maintenance_window):
            rules.problem("maintenance_window", f"must not overlap {rules.key('backup_window')} "
                          f"({self.backup_window}) on any day")
        if bool(self.restore_from) != bool(self.restore_kms_key_arn):
            pair = ["restore_from", "restore_kms_key_arn"]
            present, missing = pair if self.restore_from else pair[::-1]
            rules.problem(missing, f"must be set together with {rules.key(present)} (both or neither)", also=pair)

    @property
    def restores(self) -> bool:
        """Whether the primary is restored from replicated backups (a DR stack) instead of created empty."""
        return bool(self.restore_from)


@dataclass(frozen=True)
class DatabaseArgs:
    """Inputs of Database."""

    context: AwsContext
    """Account, partition and region."""
    vpc_id: pulumi.Input[str]
    """The VPC: the security group and the private hosted zone live there."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """The isolated data subnets (Network.subnet_ids("data")), one per AZ, in az_names order."""
    az_names: tuple[str, ...]
    """The AZs of those subnets; the first hosts a single-AZ primary, the others the replicas."""
    data_key: aws.kms.Key
    """CMK for storage, Performance Insights and the secrets (EncryptionKeys.data)."""
    log_key: aws.kms.Key
    """CMK for the pre-created RDS log groups (EncryptionKeys.logs)."""
    name_prefix: str
    """Physical names: instance `<prefix>-db`, replicas `<prefix>-db-replica-N`, secrets `<prefix>/database/...`."""
    private_zone_name: str
    """Private hosted zone for the stable reader hostname, e.g. prod.maratron.internal."""
    settings: DatabaseSettings = field(default_factory=DatabaseSettings)
    """Sizing, availability, backups, monitoring, tuning; default: the production choice (Multi-AZ db.m7g.large,
    two replicas, 14 days of PITR)."""
    log_retention_days: int = LOG_RETENTION_DAYS
    """Retention of the RDS log groups (default 365)."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): Pulumi `protect` and deletion protection on the primary, a final snapshot, automated backups
    kept after deletion, 30-day secret recovery. destroy: none of these (a disposable stack's explicit choice)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        require_valid(self.settings)
        if len(self.subnet_ids) != len(self.az_names) or not self.az_names:
            raise ValueError("DatabaseArgs needs one data subnet per AZ in az_names")
        if self.settings.replica_count and len(self.az_names) < 2:
            raise ValueError("read replicas need a second AZ (they are placed away from the primary's AZ)")


class Database(pulumi.ComponentResource):
    """RDS PostgreSQL primary + read replicas, RDS Proxy, their security groups, parameter group, logs and secrets."""

    primary: aws.rds.Instance
    replicas: dict[str, aws.rds.Instance]
    """`<name>-replica-N` -> replica instance (ordinal names: changing the count never replaces another one)."""
    instance_names: list[str]
    """DB instance identifiers, primary first then the replicas' (known at preview: ours, not AWS-assigned)."""
    security_group: aws.ec2.SecurityGroup
    """The primary's: admits 5432 only from the security groups granted with `grant(client, database)`."""
    replica_security_group: aws.ec2.SecurityGroup
    """The replicas' own group (`grant(client, database.readers)`), so a reader never reaches the primary."""
    proxy: DatabaseProxy | None
    """RDS Proxy in front of the primary (None when dbProxyEnabled is false)."""
    parameter_group: aws.rds.ParameterGroup
    zone: aws.route53.Zone
    """Private hosted zone (associated with the VPC) holding the reader hostname."""
    master: SecretRef
    """The master user, JSON in the RDS rotation format plus `url`: the db-admin function and operators only."""
    logins: dict[str, SecretRef]
    """User -> its RDS Proxy login (`username`, `password`) for each user of the alternating pairs."""
    connection_secrets: dict[str, SecretRef]
    """Role -> its connection secret (JSON with `url`; consumers read `url`): app_rw (DATABASE_URL), app_ro
    (DATABASE_READ_URL), app_migrate (the migration), app_backup (the backup job). Values come from db-admin."""
    reader_hostname: pulumi.Output[str]
    reader_fallback: aws.route53.Record
    """db-reader.<zone>'s fallback record: once it exists the reader name resolves (before any replica)."""
    writer_host: pulumi.Output[str]
    """Where writers connect: the proxy's endpoint, or the primary's address without a proxy."""
    port: int = PORT
    database_name: str = DATABASE_NAME

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:data:Database", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        identifier = f"{args.name_prefix}-db"

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="RDS PostgreSQL primary: 5432 from granted security groups only",
            # No inline rules and no egress rule: the provider removes AWS's default allow-all egress, and a
            # database never opens connections. Ingress comes from grant() as separate rule resources.
            tags=self._tags("db"),
            opts=child,
        )
        self._connections = Connections(self.security_group, label=name, default_port=PORT, traffic="PostgreSQL",
                                        name_prefix=args.name_prefix, tags=args.tags)
        self.replica_security_group = aws.ec2.SecurityGroup(
            f"{name}-replicas-sg",
            vpc_id=args.vpc_id,
            description="RDS PostgreSQL read replicas: 5432 from granted security groups only",
            tags=self._tags("db-replicas"),
            opts=child,
        )
        self._reader_connections = Connections(
            self.replica_security_group, label=f"{name}-replicas", default_port=PORT, traffic="PostgreSQL",
            name_prefix=args.name_prefix, tags=args.tags)
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=list(args.subnet_ids),
            description="Isolated data subnets (no route out of the VPC)",
            tags=self._tags("db-subnets"),
            opts=child,
        )
        settings = args.settings
        retain = retains(args.removal_policy)
        major = settings.engine_version.split(".")[0]
        self.parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{major}",
            description="Maratron PostgreSQL settings (seed postgresql.conf in RDS units, TLS only, slow queries)",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=n, value=v, apply_method=m)
                        for n, v, m in settings.tuning.parameters(major)],
            tags=self._tags("db-params"),
            opts=child,
        )
        # CreateDBInstance checks the monitoring role's permissions at once ("IAM role ARN value is invalid or does
        # not include the required permissions for: ENHANCED_MONITORING"): every instance waits for the attachment,
        # not just the role (IAM is eventually consistent; claranet/terraform-aws-aurora#23 is this race).
        monitoring_role, monitoring_ready = (self._monitoring_role() if settings.monitoring_interval_seconds
                                             else (None, []))

        # RDS cannot manage the master password in Secrets Manager (manage_master_user_password) for an instance
        # with read replicas, so it is generated here and stored in our own CMK-encrypted secrets. URL-safe
        # alphabet (letters, digits, - _ . ~): it goes into postgresql:// URLs unescaped, and RDS forbids / @ " and
        # space anyway. 48 characters of that alphabet is ~280 bits.
        password = random.RandomPassword(
            f"{name}-master-password",
            length=48,
            special=True,
            override_special="-_.~",
            min_lower=4, min_upper=4, min_numeric=4, min_special=2,
            opts=child,
        )

        self.primary = aws.rds.Instance(
            f"{name}-primary",
            identifier=identifier,  # explicit: the log groups below must be named after it before it exists
            engine="postgres",
            engine_version=settings.engine_version,
            instance_class=settings.instance_class,
            # A restore brings the database (and its master user) with it: not named again, read back instead.
            db_name=None if settings.restores else DATABASE_NAME,
            username=MASTER_USERNAME,
            # The initial value only: the db-admin function rotates it (rotate immediately), so the copy in state is
            # dead after the first deploy; ignore_changes keeps `up` from ever setting it back. After a restore (a
            # DR stack) the provider sets it with a modify call (terraform-provider-aws#35589); the db-admin
            # bootstrap then rotates it and rewrites every login of this stack's own secrets.
            password=password.result,
            restore_to_point_in_time=self._restore_source(),
            port=PORT,
            multi_az=settings.multi_az,
            # A Multi-AZ primary may not request an AZ (AWS chooses and fails over); a single-AZ one is pinned to
            # the first AZ so the replicas can be placed away from it.
            availability_zone=None if settings.multi_az else args.az_names[0],
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=self.parameter_group.name,
            publicly_accessible=False,
            storage_type="gp3",
            allocated_storage=settings.allocated_storage_gb,
            max_allocated_storage=settings.max_allocated_storage_gb,
            storage_encrypted=True,
            # RestoreDBInstanceToPointInTime has no KmsKeyId: a restored instance keeps its backups' key, so the
            # input names that key (any other value would be a diff that replaces the instance).
            kms_key_id=settings.restore_kms_key_arn if settings.restores else args.data_key.arn,
            backup_retention_period=settings.backup_retention_days,
            backup_window=settings.backup_window,
            maintenance_window=settings.maintenance_window,
            copy_tags_to_snapshot=True,
            # Lifecycle: retained, deleting needs three deliberate steps (unprotect, drop deletion protection,
            # delete) and still leaves a final snapshot plus the automated backups for their retention period.
            deletion_protection=retain,
            skip_final_snapshot=not retain,
            final_snapshot_identifier=f"{identifier}-final" if retain else None,
            delete_automated_backups=not retain,
            apply_immediately=settings.apply_immediately,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            ca_cert_identifier=CA_CERTIFICATE,
            iam_database_authentication_enabled=True,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.data_key.arn,
            performance_insights_retention_period=settings.performance_insights_retention_days,
            monitoring_interval=settings.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn if monitoring_role else None,
            tags=self._tags("db"),
            # availabilityZone: RDS moves an instance to another AZ only by replacing it (the provider's
            # availability_zone is ForceNew), so reordering azNames or switching dbMultiAz off must not re-pin a
            # running primary: the AZ is where it was created (or where Multi-AZ failover left it).
            opts=pulumi.ResourceOptions(parent=self, protect=retain, ignore_changes=["password", "availabilityZone"],
                                        depends_on=[*self._log_groups(name, identifier), *monitoring_ready]),
        )

        self.replicas = {}
        self.instance_names = [identifier]
        other_azs = args.az_names[1:]
        for ordinal, instance_class in enumerate(settings.replica_classes, start=1):
            replica_name = f"{name}-replica-{ordinal}"
            replica_identifier = f"{identifier}-replica-{ordinal}"
            self.instance_names.append(replica_identifier)
            self.replicas[replica_name] = aws.rds.Instance(
                replica_name,
                identifier=replica_identifier,
                # Same region: the source's identifier. No username, password, db_name or subnet group: all come
                # from the source. Tuned by the same parameter group.
                replicate_source_db=self.primary.identifier,
                instance_class=instance_class,
                availability_zone=other_azs[(ordinal - 1) % len(other_azs)],
                vpc_security_group_ids=[self.replica_security_group.id],
                parameter_group_name=self.parameter_group.name,
                publicly_accessible=False,
                storage_type="gp3",
                max_allocated_storage=settings.max_allocated_storage_gb,
                storage_encrypted=True,
                # "A read replica in the same AWS Region is always encrypted with the same KMS key as the source DB
                # instance" (CreateDBInstanceReadReplica, KmsKeyId): the primary's key, read from the primary - a
                # restored primary (DR stack) keeps its backups' key, not this stack's data key, and any other value
                # is refused or replaces the replica on every `up`.
                kms_key_id=self.primary.kms_key_id,
                # No backup retention, by choice: RDS supports automated backups on PostgreSQL read replicas from
                # 14.1 (read-replica differences, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/
                # USER_ReadRepl.Overview.Differences.html), but "Point-in-time recovery (PITR) isn't supported for
                # read replicas" (USER_PostgreSQL.Replication.ReadReplicas.html): they would copy the primary's
                # backups at the primary's storage price. A promoted replica gets backups when they are enabled on it
                # (DR runbook).
                # The primary's hours on one of the three days before it: "If your database has read replicas, you
                # must first upgrade all of the read replicas before you upgrade the source instance" (minor version
                # upgrades, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.PostgreSQL.html),
                # so an automatic minor upgrade scheduled for a week reaches the replicas first; on other days than
                # the primary because RDS upgrades a Multi-AZ primary and its standby together ("unavailable for
                # several minutes"), and at the same hours so no window meets the daily backup window. Three days at
                # most (replicas 4 and 5 share days with 1 and 2): a window four days before is nearer after the
                # primary than before it. Pack rule rds-replica-maintenance-before-source.
                maintenance_window=weekly_window_shifted(settings.maintenance_window,
                                                         -((ordinal - 1) % REPLICA_MAINTENANCE_DAYS + 1)),
                copy_tags_to_snapshot=True,
                # A replica holds no data of its own: no final snapshot, no deletion protection and no `protect`,
                # so lowering dbReplicaCount is one ordinary `pulumi up`.
                skip_final_snapshot=True,
                deletion_protection=False,
                apply_immediately=settings.apply_immediately,
                auto_minor_version_upgrade=True,
                ca_cert_identifier=CA_CERTIFICATE,
                iam_database_authentication_enabled=True,
                enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
                performance_insights_enabled=True,
                performance_insights_kms_key_id=args.data_key.arn,
                performance_insights_retention_period=settings.performance_insights_retention_days,
                monitoring_interval=settings.monitoring_interval_seconds,
                monitoring_role_arn=monitoring_role.arn if monitoring_role else None,
                tags=self._tags(f"db-replica-{ordinal}"),
                # availabilityZone is where a replica was created: the placement above shifts when azNames is
                # reordered or azCount changes, and a changed AZ replaces the replica (ForceNew) - reads would lose
                # it for 15-25 minutes, or every replica at once after a reorder. A new replica takes the placement.
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["availabilityZone"], depends_on=[
                    *self._log_groups(replica_name, replica_identifier), *monitoring_ready]),
            )

        self.master, self.logins, self.connection_secrets = self._secrets(name, password)
        self.proxy = None
        if settings.proxy.enabled:
            self.proxy = DatabaseProxy(f"{name}-proxy", DatabaseProxyArgs(
                context=args.context, settings=settings.proxy, vpc_id=args.vpc_id, subnet_ids=args.subnet_ids,
                az_names=args.az_names,
                primary_identifier=self.primary.identifier, logins=self.logins, log_key=args.log_key,
                name_prefix=args.name_prefix, log_retention_days=args.log_retention_days, tags=args.tags,
            ), opts=child)
            grant(self.proxy, self)  # the proxy's only egress: "allow traffic from your DB targets" (setup guide)
        self.writer_host = self.proxy.endpoint if self.proxy else self.primary.address
        self.zone = self._reader_dns(name)
        self.reader_hostname = self.zone.name.apply(lambda zone: f"db-reader.{zone}")

        self.register_outputs({
            "writerEndpoint": self.primary.address,
            "writerHost": self.writer_host,
            "readerHostname": self.reader_hostname,
            "securityGroupId": self.security_group.id,
            "masterSecretArn": self.master.arn,
        })

    # --- capabilities -------------------------------------------------------------------------------------------

    @property
    def connections(self) -> Connections:
        """PostgreSQL on 5432 from the security groups granted with `grant(client, database)`."""
        return self._connections

    @property
    def writer(self) -> Connections:
        """What writers (web, ai) are granted: the proxy, or the primary when there is none."""
        return self.proxy.connections if self.proxy else self._connections

    @property
    def readers(self) -> Connections:
        """The replicas, for `grant(client, database.readers)` (nothing to grant without replicas: reads then
        resolve to the writer path)."""
        return self._reader_connections

    def admit(self, *, services: Sequence[Connectable], one_offs: Sequence[Connectable]) -> None:
        """Every network path to PostgreSQL: long-running services reach the writer path (RDS Proxy; the primary
        without one) and the replicas; one-off tasks (migrations, pg_dump, the restore check) the primary directly,
        since they do not go through the proxy."""
        for service in services:
            grant(service, self.writer)
            if self.replicas:
                grant(service, self.readers)
        for one_off in one_offs:
            grant(one_off, self)

    @property
    def watch(self) -> DatabaseWatch:
        """What Observability alarms on: the primary, each replica, and max_connections for the connections alarm."""
        return DatabaseWatch(self.primary.identifier, self.replica_identifiers,
                             max_connections=self._args.settings.tuning.max_connections,
                             proxy_name=self.proxy.name if self.proxy else None,
                             instance_names=self.instance_names)

    @property
    def replica_identifiers(self) -> dict[str, pulumi.Output[str]]:
        """Label ("replica-1", ...) -> DB instance identifier of each replica, e.g. for alarms per instance."""
        return {replica_name.removeprefix(f"{self._name}-"): replica.identifier
                for replica_name, replica in self.replicas.items()}

    # --- parts --------------------------------------------------------------------------------------------------

    def _tags(self, suffix: str) -> dict[str, str]:
        return named_tags(self._args.tags, f"{self._args.name_prefix}-{suffix}")

    def _restore_source(self) -> aws.rds.InstanceRestoreToPointInTimeArgs | None:
        """Point-in-time restore from replicated automated backups (a DR stack), or None (a new database).

        RDS restores "with the default security group, the default subnet group, and the default DB parameter
        group" and single-AZ unless told otherwise (API RestoreDBInstanceToPointInTime): the primary passes this
        stack's own subnet group, security group, parameter group and Multi-AZ explicitly, as for a new instance.
        """
        settings = self._args.settings
        if not settings.restores:
            return None
        latest = settings.restore_time == RESTORE_LATEST
        return aws.rds.InstanceRestoreToPointInTimeArgs(
            source_db_instance_automated_backups_arn=settings.restore_from,
            use_latest_restorable_time=True if latest else None,
            restore_time=None if latest else settings.restore_time,
        )

    def _log_groups(self, name: str, identifier: str) -> list[pulumi.Resource]:
        """The groups RDS exports to, created first so they are encrypted and expire (RDS would otherwise create
        them itself: unencrypted, never expiring)."""
        return [aws.cloudwatch.LogGroup(
            f"{name}-logs-{export}",
            name=f"/aws/rds/instance/{identifier}/{export}",
            retention_in_days=self._args.log_retention_days,
            kms_key_id=self._args.log_key.arn,
            tags=self._tags(f"db-logs-{export}"),
            opts=pulumi.ResourceOptions(parent=self),
        ) for export in LOG_EXPORTS]

    def _monitoring_role(self) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """The enhanced-monitoring role, and what an instance must wait for before naming it (its policy)."""
        ctx = self._args.context
        role = aws.iam.Role(
            f"{self._name}-monitoring",
            description="Lets RDS enhanced monitoring publish OS metrics to CloudWatch Logs",
            assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com", source_account=ctx.account_id),
            tags=self._tags("db-monitoring"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{self._name}-monitoring",
            role=role.name,
            policy_arn=f"arn:{ctx.partition}:iam::aws:policy/{ENHANCED_MONITORING_POLICY}",
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role, [attachment]

    def _reader_dns(self, name: str) -> aws.route53.Zone:
        """The private zone and db-reader.<zone>: one weighted, health-checked CNAME per replica plus a weight-0
        fallback without a health check (so always eligible).

        The fallback is always there (weight 1 while there are no replicas, 0 otherwise), so the record set never
        switches between simple and weighted routing (Route 53 forbids mixing them under one name) and the name
        resolves before the first replica exists. It points where writers connect - the proxy (app_ro is one of its
        logins) or the primary without one - so readers never need a path of their own to the primary.
        """
        args = self._args
        zone = aws.route53.Zone(
            f"{name}-zone",
            name=args.private_zone_name,
            comment=f"{args.name_prefix}: private names of the data tier",
            vpcs=[aws.route53.ZoneVpcArgs(vpc_id=args.vpc_id)],
            tags=self._tags("private-zone"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        hostname = f"db-reader.{args.private_zone_name}"

        def record(logical: str, set_identifier: str, target: pulumi.Output[str], weight: int,
                   parent: pulumi.Resource, health_check: aws.route53.HealthCheck | None = None) -> aws.route53.Record:
            return aws.route53.Record(
                logical,
                zone_id=zone.zone_id,
                name=hostname,
                type="CNAME",
                ttl=30,  # a replica added or removed is seen within half a minute
                records=[target],
                set_identifier=set_identifier,
                weighted_routing_policies=[aws.route53.RecordWeightedRoutingPolicyArgs(weight=weight)],
                health_check_id=health_check.id if health_check else None,
                opts=pulumi.ResourceOptions(parent=parent),
            )

        self.reader_fallback = record(f"{name}-reader-primary", "primary", self.writer_host,
                                      0 if self.replicas else 1, zone)
        for replica_name, replica in self.replicas.items():
            label = replica_name.removeprefix(f"{name}-")
            record(f"{replica_name}-reader", label, replica.address, 1, replica,
                   health_check=self._reader_health(replica_name, label, replica))
        return zone

    def _reader_health(self, replica_name: str, label: str, replica: aws.rds.Instance) -> aws.route53.HealthCheck:
        """Whether `replica` may serve db-reader.<zone>: a Route 53 health check on an alarm over its ReplicaLag.

        Route 53 treats a record without a health check as always healthy ("Records without a health check are
        always healthy", https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html),
        so without this a replica that is down keeps its share of the answers. The set is AWS's active-passive
        weighted shape: the replicas with health checks, the fallback at weight 0, used when every nonzero record is
        unhealthy (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-types.html); the fallback
        has no health check, so it is always eligible. Route 53's checkers cannot reach a private endpoint, so the
        check watches "the data stream for the alarm" (the private-zone page,
        https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-private-hosted-zones.html): a
        standard-resolution metric with the Maximum statistic, both supported (CloudFormation
        AWS::Route53::HealthCheck AlarmIdentifier). A running replica reports ReplicaLag every minute; a rebooting,
        replaced or failed one reports nothing, which the check reads as insufficient data, and so as unhealthy. (A
        new check counts as healthy until it has data; the record is created once its replica is available.)
        The alarm notifies no one: the replica-lag alarm of components/observability.py pages (pack rule
        cloudwatch-alarm-actions admits an alarm a health check watches).
        """
        args = self._args
        alarm = aws.cloudwatch.MetricAlarm(
            f"{replica_name}-reader-health",
            name=f"{args.name_prefix}-db-{label}-reader-health",
            alarm_description=f"{label} is silent (down) or more than {READER_MAX_LAG_SECONDS} s behind: Route 53 "
                              "takes it out of db-reader (routing only; the replica-lag alarm pages)",
            namespace="AWS/RDS",
            metric_name="ReplicaLag",
            dimensions={"DBInstanceIdentifier": replica.identifier},
            statistic="Maximum",
            period=60,
            # Two minutes, not one: RDS metrics arrive a minute or so late, and one late point must not take a
            # healthy replica out of the name.
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator="GreaterThanThreshold",
            threshold=READER_MAX_LAG_SECONDS,
            treat_missing_data="breaching",  # for the console; the health check reads silence itself (below)
            tags=self._tags(f"db-{label}-reader-health"),
            opts=pulumi.ResourceOptions(parent=replica),
        )
        return aws.route53.HealthCheck(
            f"{replica_name}-reader-health",
            type="CLOUDWATCH_METRIC",
            cloudwatch_alarm_name=alarm.name,
            cloudwatch_alarm_region=args.context.region,
            insufficient_data_health_status="Unhealthy",  # a replica that reports nothing is not serving
            tags=self._tags(f"db-{label}-reader-health"),
            opts=pulumi.ResourceOptions(parent=alarm),
        )

    def _secrets(self, name: str, password: random.RandomPassword
                 ) -> tuple[SecretRef, dict[str, SecretRef], dict[str, SecretRef]]:
        """The master (initial value from Pulumi, then rotated), the proxy logins and the connection secrets
        (values written by the db-admin function only)."""
        address = self.primary.address
        master_value: pulumi.Output[str] = json_output({
            "engine": "postgres", "username": MASTER_USERNAME, "password": password.result, "host": address,
            "port": PORT, "dbname": DATABASE_NAME, "dbInstanceIdentifier": self.primary.identifier,
            "urlQuery": "sslmode=require", "rotation": "master",
            "url": pulumi.Output.format("postgresql://{0}:{1}@{2}:{3}/{4}?sslmode=require", MASTER_USERNAME,
                                        password.result, address, PORT, DATABASE_NAME),
        })
        master = self._secret(f"{name}-master", "master", "RDS master user (rotated): db-admin and operators only",
                              pulumi.Output.secret(master_value), Credential.DATABASE_MASTER, initial_only=True)
        logins = {user: self._secret(f"{name}-login-{user}", f"users/{user}",
                                     f"RDS Proxy login {user} (written by the rotation of its connection secret)",
                                     None, Credential.DATABASE_LOGIN)
                  for role in (roles.READ_WRITE, roles.READ_ONLY) for user in (role, role + roles.CLONE_SUFFIX)}
        uses = {roles.READ_WRITE: "DATABASE_URL for web and ai (read-write, via RDS Proxy)",
                roles.READ_ONLY: "DATABASE_READ_URL for web and ai (read only, via the replicas)",
                roles.MIGRATE: "DATABASE_URL of the migration task (DDL, direct to the primary)",
                roles.BACKUP: "DATABASE_URL of the backup job (read only, direct to the primary)"}
        # Named after the role (`database/app_backup`): "-backup" would end the name like the ARN's random suffix.
        connections = {role: replace(self._secret(f"{name}-{role.replace('_', '-')}", role, f"{use} (rotated)",
                                                  None, Credential.DATABASE_CONNECTION),
                                     json_key="url")
                       for role, use in uses.items()}
        return master, logins, connections

    def _secret(self, logical: str, suffix: str, description: str, value: pulumi.Output[str] | None,
                kind: Credential, *, initial_only: bool = False) -> SecretRef:
        args = self._args
        return managed_secret(
            logical, name=f"{args.name_prefix}/database/{suffix}", description=description, value=value,
            key=args.data_key, parent=self, removal_policy=args.removal_policy, initial_only=initial_only,
            tags={**self._tags(f"database-{suffix.replace('/', '-')}"), CREDENTIAL_TAG: kind.value})
