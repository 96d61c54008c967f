"""Maratron on AWS — one call per box of the deployment guide's architecture diagram."""

import stack_config
from components.backup_storage import BackupStorage, BackupStorageArgs
from components.base import AwsContext
from components.cache import Cache, CacheArgs
from components.database import Database, DatabaseArgs, PostgresTuning
from components.encryption import EncryptionKeys, EncryptionKeysArgs
from components.network import Network, NetworkArgs, pick_availability_zones
from components.observability import CacheWatch, DatabaseWatch, Observability, ObservabilityArgs
from stack_outputs import export_contract

config = stack_config.load()  # every config problem at once, before any resource is registered
aws_context = AwsContext.lookup(config.region)

keys = EncryptionKeys("keys", EncryptionKeysArgs(
    context=aws_context, alias_prefix=config.name_prefix, protect=config.protect_stateful, tags=config.tags,
))

network = Network("network", NetworkArgs(
    context=aws_context,
    cidr=config.network.vpc_cidr,
    az_names=pick_availability_zones(config.network.az_count, config.network.az_names),
    nat_gateways=config.network.nat_gateways,
    interface_endpoints=config.network.interface_endpoints,
    flow_log_key=keys.logs,
    log_retention_days=config.log_retention_days,
    name_prefix=config.name_prefix,
    tags=config.tags,
))

db = config.database
database = Database("database", DatabaseArgs(
    context=aws_context,
    vpc_id=network.vpc.id,
    subnet_ids=network.subnet_ids("data"),
    az_names=network.az_names,
    data_key=keys.data,
    log_key=keys.logs,
    name_prefix=config.name_prefix,
    private_zone_name=f"{config.stack}.{config.project}.internal",
    engine_version=db.engine_version,
    instance_class=db.instance_class,
    multi_az=db.multi_az,
    replica_instance_classes=db.replica_instance_classes,
    allocated_storage_gb=db.allocated_storage_gb,
    max_allocated_storage_gb=db.max_allocated_storage_gb,
    backup_retention_days=db.backup_retention_days,
    backup_window=db.backup_window,
    maintenance_window=db.maintenance_window,
    backup_replication_region=db.backup_replication_region,
    backup_replication_kms_key_arn=db.backup_replication_kms_key_arn,
    performance_insights_retention_days=db.performance_insights_retention_days,
    monitoring_interval_seconds=db.monitoring_interval_seconds,
    tuning=PostgresTuning(
        shared_buffers_mb=db.shared_buffers_mb,
        effective_cache_size_mb=db.effective_cache_size_mb,
        maintenance_work_mem_mb=db.maintenance_work_mem_mb,
        wal_buffers_mb=db.wal_buffers_mb,
        max_connections=db.max_connections,
        slow_query_ms=db.slow_query_ms,
    ),
    log_retention_days=config.log_retention_days,
    protect=config.protect_stateful,
    tags=config.tags,
))

cache = Cache("cache", CacheArgs(
    subnet_ids=network.subnet_ids("data"),
    vpc_id=network.vpc.id,
    az_names=network.az_names,
    data_key=keys.data,
    log_key=keys.logs,
    log_retention_days=config.log_retention_days,
    engine_version=config.cache.engine_version,
    node_type=config.cache.node_type,
    replicas=config.cache.replicas,
    automatic_failover=config.cache.automatic_failover,
    multi_az=config.cache.multi_az,
    cluster_mode=config.cache.cluster_mode,
    shards=config.cache.shards,
    snapshot_retention_days=config.cache.snapshot_retention_days,
    snapshot_window=config.cache.snapshot_window,
    maintenance_window=config.cache.maintenance_window,
    protect=config.protect_stateful,
    name_prefix=config.name_prefix,
    tags=config.tags,
))

storage = BackupStorage("storage", BackupStorageArgs(
    context=aws_context,
    key=keys.backups,
    lock_mode=config.storage.lock_mode,
    lock_days=config.storage.lock_days,
    transition_days=config.storage.transition_days,
    archive_days=config.storage.archive_days,
    backup_expiration_days=config.storage.backup_expiration_days,
    archive_expiration_days=config.storage.archive_expiration_days,
    noncurrent_version_days=config.storage.noncurrent_version_days,
    abort_multipart_days=config.storage.abort_multipart_days,
    access_log_expiration_days=config.log_retention_days,
    force_destroy=config.storage.force_destroy,
    protect=config.protect_stateful,
    name_prefix=config.name_prefix,
    tags=config.tags,
))

# Alarms and the dashboard watch what the boxes above expose (edge=, services=, database=, cache=, waf=, backup=).
observability = Observability("observability", ObservabilityArgs(
    context=aws_context,
    topic_key=keys.logs,
    alert_emails=config.operations.alert_emails,
    thresholds=config.operations.alarm_thresholds,
    database=DatabaseWatch(database.primary.identifier, database.replica_identifiers,
                           max_connections=db.max_connections),
    cache=CacheWatch(cache.group_id, cache.member_ids),
    name_prefix=config.name_prefix,
    tags=config.tags,
))

export_contract({
    "environment": config.environment,
    "region": config.region,
    "vpcId": network.vpc.id,
    "publicSubnetIds": network.subnet_ids("public"),
    "appSubnetIds": network.subnet_ids("app"),
    "dataSubnetIds": network.subnet_ids("data"),
    "appRouteTableIds": network.route_table_ids("app"),
    "endpointSecurityGroupId": network.endpoint_security_group.id,
    "kmsKeyArns": [key.arn for key in keys.all().values()],
    "databaseWriterEndpoint": database.primary.address,
    "databaseReaderHostname": database.reader_hostname,
    "databasePort": database.port,
    "databaseName": database.database_name,
    "databaseUrlSecretArn": database.writer_url.arn,
    "databaseReadUrlSecretArn": database.reader_url.arn,
    "databaseSecurityGroupId": database.security_group.id,
    "redisEndpoint": cache.endpoint,
    "redisPort": cache.port,
    "redisUrlSecretArn": cache.url.arn,
    "redisSecurityGroupId": cache.security_group.id,
    "redisClusterEnabled": cache.cluster_mode,
    "backupsBucketName": storage.backups.bucket,
    "walBucketName": storage.archive.bucket,
    "accessLogsBucketName": storage.access_logs.bucket,
    "alertTopicArn": observability.topic.arn,
    "alarmNames": observability.alarm_names(),
    "dashboardName": observability.dashboard.dashboard_name,
})
