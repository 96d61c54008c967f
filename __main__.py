"""Maratron on AWS — one call per box of the deployment guide's architecture diagram (docs/architecture.md).

keys → network → data tier (database, cache, backup storage) → app tier (images, cluster, secrets, AI and web
services, migration task) behind the edge (load balancer, WAF) → operations (backup job, alarms) → outputs.
"""

import pulumi
import pulumi_aws as aws

import stack_config
from components.app_environment import app_environment
from components.app_secrets import AppSecrets, AppSecretsArgs
from components.backup_job import METRIC_NAMESPACE, BackupJob, BackupJobArgs
from components.backup_storage import BackupStorage, BackupStorageArgs
from components.base import AwsContext, SecretRef
from components.cache import Cache, CacheArgs
from components.cluster import Cluster, ClusterArgs
from components.database import Database, DatabaseArgs, PostgresTuning
from components.encryption import EncryptionKeys, EncryptionKeysArgs
from components.images import ImageRepository, ImageRepositoryArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs, cors_header_origin
from components.network import Network, NetworkArgs, pick_availability_zones
from components.observability import (
    BackupWatch,
    CacheWatch,
    DatabaseWatch,
    EdgeWatch,
    Observability,
    ObservabilityArgs,
    ServiceWatch,
    WafWatch,
)
from components.service import FargateService, FargateServiceArgs, LoadBalancerAttachment
from components.task import ContainerSpec, FargateTask, FargateTaskArgs
from components.waf import RateLimit, WebFirewall, WebFirewallArgs
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

# --- data tier -------------------------------------------------------------------------------------------------------
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

# --- edge ------------------------------------------------------------------------------------------------------------
load_balancer = LoadBalancer("load-balancer", LoadBalancerArgs(
    context=aws_context,
    vpc_id=network.vpc.id,
    subnet_ids=network.subnet_ids("public"),
    domain_name=config.domain_name,
    hosted_zone_id=config.edge.hosted_zone_id,
    certificate_arn=config.edge.certificate_arn,
    target_port=stack_config.WEB_PORT,
    tls_policy=config.edge.tls_policy,
    cors_allow_origin=cors_header_origin(config.cors_origins, config.app_url),
    desync_mitigation_mode=config.edge.desync_mitigation_mode,
    idle_timeout_seconds=config.edge.idle_timeout_seconds,
    access_log_retention_days=config.log_retention_days,
    name_prefix=config.name_prefix,
    protect=config.protect_stateful,
    tags=config.tags,
))

firewall = WebFirewall("waf", WebFirewallArgs(
    context=aws_context,
    load_balancer_arn=load_balancer.alb.arn,
    general_limit=RateLimit(config.edge.waf_rate_limit, config.edge.waf_rate_limit_paths),
    ai_limit=RateLimit(config.edge.waf_ai_rate_limit, config.edge.waf_ai_paths),
    flood_limit=RateLimit(config.edge.waf_flood_rate_limit),
    window_seconds=config.edge.waf_window_seconds,
    log_key=keys.logs,
    log_retention_days=config.log_retention_days,
    name_prefix=config.name_prefix,
    tags=config.tags,
))

# --- app tier --------------------------------------------------------------------------------------------------------
app = config.app
secret_config = pulumi.Config()

images = {service: ImageRepository(service, ImageRepositoryArgs(
    context=aws_context,
    repository_name=f"{config.name_prefix}/{service}",
    kms_key=keys.images,
    reference=settings.image.reference,
    build_context=settings.image.build_context,
    retain_count=app.image_retain_count,
    force_delete=not config.protect_stateful,
    tags=config.tags,
)) for service, settings in (("web", app.web), ("ai", app.ai))}

cluster = Cluster("cluster", ClusterArgs(
    name_prefix=config.name_prefix, fargate_spot=app.fargate_spot, tags=config.tags,
))

third_party = {"ANTHROPIC_API_KEY": secret_config.require_secret("anthropicApiKey")}
if app.weather_api_key_set:
    third_party["WEATHER_API_KEY"] = secret_config.require_secret("weatherApiKey")
if app.sentry_dsn_set:
    third_party["SENTRY_DSN"] = secret_config.require_secret("sentryDsn")
app_secrets = AppSecrets("app-secrets", AppSecretsArgs(
    kms_key=keys.data, name_prefix=config.name_prefix, values=third_party,
    recovery_window_days=30 if config.protect_stateful else 0, tags=config.tags,
)).refs

# Connection secrets of the data tier, handed to the services through ECS `secrets`, never `environment`.
data_tier_secrets: dict[str, SecretRef] = {
    "DATABASE_URL": database.writer_url, "DATABASE_READ_URL": database.reader_url, "REDIS_URL": cache.url,
}


def pick(*names: str) -> dict[str, SecretRef]:
    """The secrets a service needs (least privilege: its execution role reads exactly these)."""
    available = {**data_tier_secrets, **app_secrets}
    return {name: available[name] for name in names if name in available}


def environment(port: int, **extra: str) -> dict[str, str]:
    return app_environment(
        environment=config.environment, app_url=config.app_url, cors_origins=config.cors_origins, port=port,
        log_level=app.log_level, database_pool_size=app.database_pool_size,
        database_max_connections=app.database_max_connections, redis_enabled=True,
        redis_cluster_enabled=config.cache.cluster_mode, extra=extra,
    )


def task(service: str, container: ContainerSpec, cpu: int, memory: int, *,
         log_group: aws.cloudwatch.LogGroup | None = None, log_stream_prefix: str = "") -> FargateTaskArgs:
    return FargateTaskArgs(
        context=aws_context, container=container, cpu=cpu, memory=memory, vpc_id=network.vpc.id,
        repository=images[service].repository, log_key=keys.logs, log_retention_days=config.log_retention_days,
        log_group=log_group, log_stream_prefix=log_stream_prefix, name_prefix=config.name_prefix, tags=config.tags,
    )


ai = FargateService("ai", FargateServiceArgs(
    task=task("ai", ContainerSpec(
        name="ai", image=images["ai"].image_uri, port=app.ai_port,
        environment=environment(app.ai_port),
        secrets=pick("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL",
                     "ANTHROPIC_API_KEY", "WEATHER_API_KEY", "SENTRY_DSN"),
        stop_timeout=60,  # AI responses stream for longer than page loads; let them finish
    ), app.ai.cpu, app.ai.memory),
    cluster=cluster, subnet_ids=network.subnet_ids("app"),
    desired_count=app.ai.desired_count, max_count=app.ai.max_count,
    service_connect_server=True, tags=config.tags,
))

web = FargateService("web", FargateServiceArgs(
    task=task("web", ContainerSpec(
        name="web", image=images["web"].image_uri, port=stack_config.WEB_PORT,
        # Next.js closes idle keep-alive connections after 5 s by default; the ALB must close first (no 502s).
        environment=environment(stack_config.WEB_PORT, AI_SERVER_URL=ai.url,
                                KEEP_ALIVE_TIMEOUT=str(load_balancer.target_keep_alive_ms)),
        # The seed's compose file gives web the Anthropic key too (server-side routes call the API directly).
        secrets=pick("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "NEXTAUTH_SECRET", "ANTHROPIC_API_KEY",
                     "SENTRY_DSN"),
        scratch_paths=("/tmp", "/app/.next/cache"),
    ), app.web.cpu, app.web.memory),
    cluster=cluster, subnet_ids=network.subnet_ids("app"),
    desired_count=app.web.desired_count, max_count=app.web.max_count,
    load_balancer=LoadBalancerAttachment(
        target_group_arn=load_balancer.target_group.arn,
        target_group_arn_suffix=load_balancer.target_group_arn_suffix,
        load_balancer_arn_suffix=load_balancer.arn_suffix,
        depends_on=load_balancer.serving,  # ECS rejects a target group that no listener uses yet
    ),
    tags=config.tags,
))

# One-off: `npx prisma migrate deploy` with the web image, run by CI before a deploy (migrationRunTaskCommand).
migrate = FargateTask("migrate", task("web", ContainerSpec(
    name="migrate", image=images["web"].image_uri,
    environment={"NODE_ENV": "production", "HOME": "/tmp", "npm_config_cache": "/tmp/.npm"},
    secrets=pick("DATABASE_URL"),
    command=("npx", "prisma", "migrate", "deploy"), health_check=False, stop_timeout=120,
), app.web.cpu, app.web.memory, log_group=web.log_group, log_stream_prefix="migrate"))

# --- operations ------------------------------------------------------------------------------------------------------
backup_image = ImageRepository("backup", ImageRepositoryArgs(
    context=aws_context,
    repository_name=f"{config.name_prefix}/backup",
    kms_key=keys.images,
    build_context="ops/backup",  # postgres client + AWS CLI, non-root (ops/backup/Dockerfile)
    retain_count=app.image_retain_count,
    force_delete=not config.protect_stateful,
    tags=config.tags,
))

backup_job = BackupJob("backup", BackupJobArgs(
    context=aws_context,
    environment=config.environment,
    cluster_arn=cluster.cluster.arn,
    vpc_id=network.vpc.id,
    subnet_ids=network.subnet_ids("app"),
    image=backup_image.image_uri,
    repository=backup_image.repository,
    database_url=database.writer_url,
    bucket_name=storage.backups.bucket,
    bucket_write_statements=storage.write_backups_statements(),
    backups_key_arn=storage.key_arn,
    logs_key=keys.logs,
    log_retention_days=config.log_retention_days,
    name_prefix=config.name_prefix,
    tags=config.tags,
))

# --- network grants: each is one ingress rule on the target and the matching egress rule on the source ---------------
load_balancer.route_to(web.security_group, stack_config.WEB_PORT, "web")  # the ALB's only egress
web.allow_from(load_balancer.security_group, "alb")
web.connect_to(ai)  # the AI server admits the web tasks and nothing else
for client_name, client in (("web", web), ("ai", ai), ("migrate", migrate), ("backup", backup_job)):
    database.allow_from(client.security_group, client_name)
for client_name, client in (("web", web), ("ai", ai)):
    cache.allow_from(client.security_group, client_name)

# Alarms and the dashboard watch every box above; alarms notify the SNS topic.
observability = Observability("observability", ObservabilityArgs(
    context=aws_context,
    topic_key=keys.logs,
    alert_emails=config.operations.alert_emails,
    thresholds=config.operations.alarm_thresholds,
    edge=EdgeWatch(load_balancer_arn_suffix=load_balancer.arn_suffix,
                   target_groups={"web": load_balancer.target_group_arn_suffix}),
    waf=WafWatch(web_acl_metric_name=firewall.metric_name),
    services={"web": ServiceWatch(cluster.cluster.name, web.service.name),
              "ai": ServiceWatch(cluster.cluster.name, ai.service.name)},
    database=DatabaseWatch(database.primary.identifier, database.replica_identifiers,
                           max_connections=db.max_connections),
    cache=CacheWatch(cache.group_id, cache.member_ids),
    backup=BackupWatch(namespace=METRIC_NAMESPACE, dimensions={"Environment": config.environment}),
    name_prefix=config.name_prefix,
    tags=config.tags,
))

migration_command = pulumi.Output.all(
    cluster=cluster.cluster.name, task=migrate.task_definition.arn, subnets=network.subnet_ids("app"),
    group=migrate.security_group.id,
).apply(lambda o: (
    f"aws ecs run-task --cluster {o['cluster']} --task-definition {o['task']} "
    "--network-configuration 'awsvpcConfiguration={subnets=[" + ",".join(o["subnets"]) + "],"
    f"securityGroups=[{o['group']}],assignPublicIp=DISABLED}}' --started-by pulumi-migrate "
    "--query 'tasks[0].taskArn' --output text"
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
    "appUrl": config.app_url,
    "albDnsName": load_balancer.alb.dns_name,
    "albArn": load_balancer.alb.arn,
    "albSecurityGroupId": load_balancer.security_group.id,
    "targetGroupArn": load_balancer.target_group.arn,
    "httpsListenerArn": load_balancer.https_listener.arn,
    "certificateArn": load_balancer.certificate_arn,
    "albAccessLogsBucketName": load_balancer.access_logs_bucket.bucket,
    "webAclArn": firewall.web_acl.arn,
    "databaseWriterEndpoint": database.primary.address,
    "databaseReaderHostname": database.reader_hostname,
    "databasePort": database.port,
    "databaseName": database.database_name,
    "databaseUrlSecretArn": database.writer_url.arn,
    "databaseReadUrlSecretArn": database.reader_url.arn,
    "databaseIdentifier": database.primary.identifier,
    "databaseReplicaIdentifiers": list(database.replica_identifiers.values()),
    "databaseSecurityGroupId": database.security_group.id,
    "redisEndpoint": cache.endpoint,
    "redisPort": cache.port,
    "redisUrlSecretArn": cache.url.arn,
    "redisReplicationGroupId": cache.group_id,
    "redisSecurityGroupId": cache.security_group.id,
    "redisClusterEnabled": cache.cluster_mode,
    "backupsBucketName": storage.backups.bucket,
    "walBucketName": storage.archive.bucket,
    "accessLogsBucketName": storage.access_logs.bucket,
    "clusterName": cluster.cluster.name,
    "clusterArn": cluster.cluster.arn,
    "webServiceName": web.service.name,
    "aiServiceName": ai.service.name,
    "webSecurityGroupId": web.security_group.id,
    "aiSecurityGroupId": ai.security_group.id,
    "migrationSecurityGroupId": migrate.security_group.id,
    "webRepositoryUrl": images["web"].repository.repository_url,
    "aiRepositoryUrl": images["ai"].repository.repository_url,
    "webImage": images["web"].image_uri,
    "aiImage": images["ai"].image_uri,
    "webLogGroupName": web.log_group.name,
    "aiLogGroupName": ai.log_group.name,
    "migrationTaskDefinitionArn": migrate.task_definition.arn,
    "migrationRunTaskCommand": migration_command,
    "backupTaskDefinitionArn": backup_job.task_definition.arn,
    "backupSecurityGroupId": backup_job.security_group.id,
    "backupScheduleName": backup_job.schedule.name,
    "alertTopicArn": observability.topic.arn,
    "alarmNames": observability.alarm_names(),
    "dashboardName": observability.dashboard.dashboard_name,
})
