"""RDS PostgreSQL: a Multi-AZ primary in the isolated data subnets, read replicas in the other AZs, and the secrets
the app connects with.

Shape of the dependency graph — on purpose. The app tier needs two secrets: DATABASE_URL (the writer) and
DATABASE_READ_URL (reads). The writer URL names the primary's endpoint, so it exists once the primary does (~8 min,
unavoidable). The read URL names a *stable* hostname in a private hosted zone, `db-reader.<zone>`, whose weighted
CNAME records point at the replicas; the secret depends on the zone and on the primary's fallback record, never on
a replica. A replica takes another 15-25 minutes after the primary; with this shape `pulumi up` creates the ECS
services in parallel with the replicas instead of after them, and until the replicas' records exist the reader
name resolves to the primary (a weight-0 record is served only when no other record of the set exists or is
healthy), so reads work from the first minute.

Trade-off, written down: the reader hostname is ours, not RDS's, so `sslmode=require` (encrypted, no hostname
check) is what the URL can promise; `verify-full` would need the RDS endpoint names in the URL and would tie the
secret to the replicas again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.base import (
    REGION_PATTERN,
    AwsContext,
    RemovalPolicy,
    SecretRef,
    assume_role_policy,
    managed_secret,
    named_tags,
    retains,
)
from components.connections import Connections
from components.constants import LOG_RETENTION_DAYS, STATIC_DB_PARAMETERS
from components.settings import Rules, require_valid, section, setting
from components.windows import daily_window_check, weekly_window_check, windows_overlap

PORT = 5432
DATABASE_NAME = "maratrondb"  # the seed's database name
MASTER_USERNAME = "maratron"
CA_CERTIFICATE = "rds-ca-rsa2048-g1"  # pinned: a CA rotation is a planned change, never a surprise in a diff
LOG_EXPORTS = ("postgresql", "upgrade")
ENHANCED_MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"  # AWS managed, not an admin policy


ENGINE_VERSION_PATTERN = re.compile(r"^15(\.\d{1,2})?$")
INSTANCE_CLASS_PATTERN = re.compile(r"^db\.[a-z][a-z0-9-]*\.(micro|small|medium|large|\d{0,2}xlarge|metal)$")
MAX_REPLICAS = 5  # RDS allows 15 for PostgreSQL; more than 5 here would be a design smell, not a need
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
PERFORMANCE_INSIGHTS_RETENTION = (7, *(31 * months for months in range(1, 24)), 731)
KMS_KEY_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key/[0-9a-f-]{36}$")


def check_engine_version(value: str) -> str | None:
    return None if ENGINE_VERSION_PATTERN.match(value) else "must be PostgreSQL 15 as 15 or 15.<minor>, e.g. 15.10"


def check_instance_class(value: str) -> str | None:
    return None if INSTANCE_CLASS_PATTERN.match(value) else "must be an RDS instance class such as db.m7g.large"


def check_optional_region(value: str) -> str | None:
    return None if not value or REGION_PATTERN.match(value) else "must be an AWS region such as us-west-2, or empty"


def check_optional_key_arn(value: str) -> str | None:
    if not value or KMS_KEY_ARN_PATTERN.match(value):
        return None
    return "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>), or empty"


def apply_method(parameter: str) -> str:
    """`pending-reboot` for a static parameter (the only method RDS accepts for one), `immediate` otherwise."""
    return "pending-reboot" if parameter in STATIC_DB_PARAMETERS else "immediate"


@dataclass(frozen=True, kw_only=True)
class PostgresTuning:
    """The seed's postgresql.conf settings, in human units; `parameters()` converts them to RDS units."""

    shared_buffers_mb: int = setting(
        "dbSharedBuffersMb", 256, "shared_buffers in MiB (seed: 256MB). Set to about 25% of the instance memory when "
        "you change the class. Static: applied at the next reboot.", minimum=16, maximum=262144)
    effective_cache_size_mb: int = setting(
        "dbEffectiveCacheSizeMb", 1024, "effective_cache_size in MiB (seed: 1GB), a planner hint: about 50-75% of "
        "instance memory.", minimum=64, maximum=1048576)
    maintenance_work_mem_mb: int = setting(
        "dbMaintenanceWorkMemMb", 64, "maintenance_work_mem in MiB (seed 64MB) for VACUUM and CREATE INDEX.",
        minimum=16, maximum=2048)
    wal_buffers_mb: int = setting(
        "dbWalBuffersMb", 16, "wal_buffers in MiB (seed 16MB; 1-256). Static: applied at the next reboot.",
        minimum=1, maximum=256)
    max_connections: int = setting(
        "dbMaxConnections", 100, "max_connections (seed 100; 20-5000). Covers every task's Prisma pool "
        "(DATABASE_POOL_SIZE x tasks) plus headroom for migrations. Static: applied at the next reboot.",
        minimum=20, maximum=5000)
    slow_query_ms: int = setting(
        "dbSlowQueryMs", 1000, "log_min_duration_statement: statements slower than this many milliseconds are logged "
        "(-1 turns it off).", minimum=-1, maximum=3_600_000)

    def validate(self, rules: Rules) -> None:
        if self.effective_cache_size_mb < self.shared_buffers_mb:
            rules.problem("effective_cache_size_mb", f"must be at least {rules.key('shared_buffers_mb')} "
                          f"({self.shared_buffers_mb}): the OS cache comes on top of it", also=["shared_buffers_mb"])

    def parameters(self) -> list[tuple[str, str, str]]:
        """(name, value, apply method) in the units RDS expects.

        Unit conversions (RDS takes the raw PostgreSQL units, not '256MB'):
          shared_buffers, effective_cache_size and wal_buffers are counted in 8 kB pages: MB x 128
            (256 MB = 32768 pages, 1 GB = 131072 pages, 16 MB = 2048 pages);
          maintenance_work_mem is in kB: MB x 1024 (64 MB = 65536 kB);
          log_min_duration_statement is in ms.
        Static parameters (constants.STATIC_DB_PARAMETERS: shared_buffers, max_connections, wal_buffers,
        shared_preload_libraries, ...) can only take effect at a restart, and RDS rejects `immediate` for them: they
        are `pending-reboot`, and a changed value waits for the next reboot of *each* instance using the group
        (primary and every replica), in every environment — the maintenance window does not apply them
        (API_ModifyDBParameterGroup). Everything else is dynamic and `immediate`.
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
        return [(name, value, apply_method(name)) for name, value in values]


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """The configurable part of the database: sizing, availability, backups, monitoring and tuning."""

    engine_version: str = setting(
        "dbEngineVersion", "15", "PostgreSQL engine version, 15 or 15.<minor>. Default 15: RDS picks the current minor "
        "and auto minor upgrades never show up as drift.", check=check_engine_version)
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
        "dbMaxAllocatedStorageGb", 500, "Storage autoscaling ceiling in GiB; must exceed dbAllocatedStorageGb. RDS "
        "grows storage when free space runs low, without downtime.", minimum=21, maximum=65536)
    backup_retention_days: int = setting(
        "dbBackupRetentionDays", 14, "Automated backup (PITR) retention, 1-35 days; prod needs at least 14. Read "
        "replicas need at least 1.", minimum=1, maximum=35)
    backup_window: str = setting(
        "dbBackupWindow", "03:00-04:00", "Daily automated backup window, UTC hh:mm-hh:mm, at least 30 minutes; must "
        "not overlap dbMaintenanceWindow.", check=daily_window_check(minimum_minutes=30, example="03:00-04:00"))
    maintenance_window: str = setting(
        "dbMaintenanceWindow", "sun:04:30-sun:05:30", "Weekly maintenance window, UTC ddd:hh:mm-ddd:hh:mm, at least "
        "30 minutes; right after the backup window so a patch follows a fresh backup.",
        check=weekly_window_check(minimum_minutes=30, maximum_minutes=24 * 60, example="sun:04:30-sun:05:30"))
    backup_replication_region: str = setting(
        "dbBackupReplicationRegion", "", "DR: region that receives a copy of the automated backups (e.g. "
        "us-west-2). Empty: no cross-region copy. Set together with dbBackupReplicationKmsKeyArn.",
        check=check_optional_region)
    backup_replication_kms_key_arn: str = setting(
        "dbBackupReplicationKmsKeyArn", "", "ARN of a KMS key in dbBackupReplicationRegion that encrypts the "
        "replicated backups (required with dbBackupReplicationRegion).", check=check_optional_key_arn)
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

    @property
    def replica_classes(self) -> tuple[str, ...]:
        """One instance class per replica: the listed ones, or the primary's for each."""
        return self.replica_instance_classes or (self.instance_class,) * self.replica_count

    def validate(self, rules: Rules) -> None:
        if self.replica_instance_classes and len(self.replica_instance_classes) != self.replica_count:
            rules.problem("replica_instance_classes", f"must list exactly {rules.key('replica_count')} "
                          f"({self.replica_count}) instance classes, or be empty", also=["replica_count"])
        if self.max_allocated_storage_gb <= self.allocated_storage_gb:
            rules.problem("max_allocated_storage_gb", f"must exceed {rules.key('allocated_storage_gb')} "
                          f"({self.allocated_storage_gb}) so storage autoscaling has room",
                          also=["allocated_storage_gb"])
        if rules.valid("backup_window", "maintenance_window") and windows_overlap(self.backup_window,
                                                                                   self.maintenance_window):
            rules.problem("maintenance_window", f"must not overlap {rules.key('backup_window')} "
                          f"({self.backup_window}) on any day")
        region, key_arn = self.backup_replication_region, self.backup_replication_kms_key_arn
        pair = ["backup_replication_region", "backup_replication_kms_key_arn"]
        if bool(region) != bool(key_arn):
            present, missing = pair if region else pair[::-1]
            rules.problem(missing, f"must be set together with {rules.key(present)} (both or neither)", also=pair)
        elif key_arn and (match := KMS_KEY_ARN_PATTERN.match(key_arn)) and match[1] != region:
            rules.problem("backup_replication_kms_key_arn", f"must be a key in {rules.key(pair[0])} ({region}), "
                          f"not {match[1]}", also=pair)


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
    removal_policy: RemovalPolicy = "retain"
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
    """RDS PostgreSQL primary + read replicas, their security group, parameter group, logs and secrets."""

    primary: aws.rds.Instance
    replicas: dict[str, aws.rds.Instance]
    """`<name>-replica-N` -> replica instance (ordinal names: changing the count never replaces another one)."""
    security_group: aws.ec2.SecurityGroup
    """Admits 5432 only from the security groups granted with `grant(client, database)`."""
    parameter_group: aws.rds.ParameterGroup
    zone: aws.route53.Zone
    """Private hosted zone (associated with the VPC) holding the reader hostname."""
    master_credentials: SecretRef
    """JSON {username, password, engine, host, port, dbname} in the RDS rotation format: for operators and
    migrations, not for the app."""
    writer_url: SecretRef
    """DATABASE_URL: postgresql://...@<primary endpoint>:5432/maratrondb?sslmode=require."""
    reader_url: SecretRef
    """DATABASE_READ_URL: the same through db-reader.<zone> (the replicas; the primary while there are none)."""
    reader_hostname: pulumi.Output[str]
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
            description="RDS PostgreSQL: 5432 from granted security groups only",
            # No inline rules and no egress rule: the provider removes AWS's default allow-all egress, and a
            # database never opens connections. Ingress comes from grant() as separate rule resources.
            tags=self._tags("db"),
            opts=child,
        )
        self._connections = Connections(self.security_group, label=name, default_port=PORT, traffic="PostgreSQL",
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
                        for n, v, m in settings.tuning.parameters()],
            tags=self._tags("db-params"),
            opts=child,
        )
        monitoring_role = self._monitoring_role() if settings.monitoring_interval_seconds else None

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
            db_name=DATABASE_NAME,
            username=MASTER_USERNAME,
            password=password.result,  # a secret Output: stored encrypted in state, never shown
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
            kms_key_id=args.data_key.arn,
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
            opts=pulumi.ResourceOptions(parent=self, protect=retain,
                                        depends_on=self._log_groups(name, identifier)),
        )

        self.replicas = {}
        other_azs = args.az_names[1:]
        for ordinal, instance_class in enumerate(settings.replica_classes, start=1):
            replica_name = f"{name}-replica-{ordinal}"
            replica_identifier = f"{identifier}-replica-{ordinal}"
            self.replicas[replica_name] = aws.rds.Instance(
                replica_name,
                identifier=replica_identifier,
                # Same region: the source's identifier. No username, password, db_name or subnet group: all come
                # from the source. Encrypted with the same CMK and tuned by the same parameter group.
                replicate_source_db=self.primary.identifier,
                instance_class=instance_class,
                availability_zone=other_azs[(ordinal - 1) % len(other_azs)],
                vpc_security_group_ids=[self.security_group.id],
                parameter_group_name=self.parameter_group.name,
                publicly_accessible=False,
                storage_type="gp3",
                max_allocated_storage=settings.max_allocated_storage_gb,
                storage_encrypted=True,
                kms_key_id=args.data_key.arn,
                # No backup retention: RDS supports automated backups on read replicas only for MySQL and MariaDB
                # ("Automated backups supported on read replicas": PostgreSQL no; read-replica differences table,
                # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.html), so a value here is a
                # perpetual diff at best. A promoted replica gets backups when they are enabled on it (DR runbook).
                maintenance_window=settings.maintenance_window,
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
                opts=pulumi.ResourceOptions(parent=self,
                                            depends_on=self._log_groups(replica_name, replica_identifier)),
            )

        if settings.backup_replication_region:
            # DR copy of the automated backups (and their PITR logs) in another region, encrypted there with a
            # key of that region. pulumi-aws v7 manages a resource in another region through `region`, so no
            # second provider is needed.
            aws.rds.InstanceAutomatedBackupsReplication(
                f"{name}-backup-replication",
                source_db_instance_arn=self.primary.arn,
                region=settings.backup_replication_region,
                kms_key_id=settings.backup_replication_kms_key_arn,
                retention_period=settings.backup_retention_days,
                opts=pulumi.ResourceOptions(parent=self.primary),
            )

        self.zone, primary_reader_record = self._reader_dns(name)
        self.reader_hostname = self.zone.name.apply(lambda zone: f"db-reader.{zone}")
        self.master_credentials, self.writer_url, self.reader_url = self._secrets(
            name, password, primary_reader_record)

        self.register_outputs({
            "writerEndpoint": self.primary.address,
            "readerHostname": self.reader_hostname,
            "securityGroupId": self.security_group.id,
            "writerUrlSecretArn": self.writer_url.arn,
            "readerUrlSecretArn": self.reader_url.arn,
        })

    # --- capabilities -------------------------------------------------------------------------------------------

    @property
    def connections(self) -> Connections:
        """PostgreSQL on 5432 from the security groups granted with `grant(client, database)`."""
        return self._connections

    @property
    def replica_identifiers(self) -> dict[str, pulumi.Output[str]]:
        """Label ("replica-1", ...) -> DB instance identifier of each replica, e.g. for alarms per instance."""
        return {replica_name.removeprefix(f"{self._name}-"): replica.identifier
                for replica_name, replica in self.replicas.items()}

    # --- parts --------------------------------------------------------------------------------------------------

    def _tags(self, suffix: str) -> dict[str, str]:
        return named_tags(self._args.tags, f"{self._args.name_prefix}-{suffix}")

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

    def _monitoring_role(self) -> aws.iam.Role:
        ctx = self._args.context
        role = aws.iam.Role(
            f"{self._name}-monitoring",
            description="Lets RDS enhanced monitoring publish OS metrics to CloudWatch Logs",
            assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com", source_account=ctx.account_id),
            tags=self._tags("db-monitoring"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicyAttachment(
            f"{self._name}-monitoring",
            role=role.name,
            policy_arn=f"arn:{ctx.partition}:iam::aws:policy/{ENHANCED_MONITORING_POLICY}",
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role

    def _reader_dns(self, name: str) -> tuple[aws.route53.Zone, aws.route53.Record]:
        """The private zone and db-reader.<zone>: one weighted CNAME per replica plus a weight-0 one to the primary.

        The primary's record is always there (weight 1 while there are no replicas, 0 otherwise), so the record
        set never switches between simple and weighted routing (Route 53 forbids mixing them under one name) and
        the name resolves before the first replica exists.
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
                   parent: pulumi.Resource) -> aws.route53.Record:
            return aws.route53.Record(
                logical,
                zone_id=zone.zone_id,
                name=hostname,
                type="CNAME",
                ttl=30,  # a replica added or removed is seen within half a minute
                records=[target],
                set_identifier=set_identifier,
                weighted_routing_policies=[aws.route53.RecordWeightedRoutingPolicyArgs(weight=weight)],
                opts=pulumi.ResourceOptions(parent=parent),
            )

        primary_record = record(f"{name}-reader-primary", "primary", self.primary.address,
                                0 if self.replicas else 1, zone)
        for replica_name, replica in self.replicas.items():
            record(f"{replica_name}-reader", replica_name.removeprefix(f"{name}-"), replica.address, 1, replica)
        return zone, primary_record

    def _secrets(self, name: str, password: random.RandomPassword,
                 primary_reader_record: aws.route53.Record) -> tuple[SecretRef, SecretRef, SecretRef]:
        address = self.primary.address

        def url(host: pulumi.Input[str]) -> pulumi.Output[str]:
            return pulumi.Output.secret(pulumi.Output.format(
                "postgresql://{0}:{1}@{2}:{3}/{4}?sslmode=require",
                MASTER_USERNAME, password.result, host, PORT, DATABASE_NAME))

        credentials: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.json_dumps({
            "engine": "postgres", "username": MASTER_USERNAME, "password": password.result,
            "host": address, "port": PORT, "dbname": DATABASE_NAME,
            "dbInstanceIdentifier": self.primary.identifier,
        }))
        master = self._secret(f"{name}-master-credentials", "master-credentials",
                              "RDS master user (rotation-format JSON); for operators and migrations", credentials)
        writer = self._secret(f"{name}-url", "url", "DATABASE_URL: read-write, via the primary", url(address))
        reader = self._secret(
            f"{name}-read-url", "read-url", "DATABASE_READ_URL: reads, via the replicas (the primary without any)",
            url(self.reader_hostname),
            # Written once the reader name resolves (the primary's record), never waiting for a replica.
            depends_on=[primary_reader_record],
        )
        return master, writer, reader

    def _secret(self, logical: str, suffix: str, description: str, value: pulumi.Output[str], *,
                depends_on: list[pulumi.Resource] | None = None) -> SecretRef:
        args = self._args
        return managed_secret(
            logical, name=f"{args.name_prefix}/database/{suffix}", description=description, value=value,
            key=args.data_key, parent=self, removal_policy=args.removal_policy,
            tags=self._tags(f"database-{suffix}"), depends_on=depends_on or [])
