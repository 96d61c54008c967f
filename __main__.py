"""Maratron on AWS — one call per box of the deployment guide's architecture diagram (docs/architecture.md).

keys → network → data tier (database, cache, backup storage) → edge (load balancer, WAF) → app tier (metrics, images,
cluster, secrets, AI and web services, migration task) → operations (backup job, alarms) → network paths → outputs.
Each component takes its settings whole (stack_config.py reads and validates them all before anything is created).
"""

import pulumi
import pulumi_aws as aws

import stack_config
from components.app_environment import AI_SCRATCH_PATHS, MIGRATE_SCRATCH_PATHS, WEB_SCRATCH_PATHS, app_environment
from components.app_metrics import AppMetrics, AppMetricsArgs
from components.app_secrets import AppSecrets, AppSecretsArgs
from components.backup_job import BackupJob, BackupJobArgs
from components.backup_storage import BackupStorage, BackupStorageArgs
from components.base import AwsContext, SecretRef
from components.cache import Cache, CacheArgs
from components.cluster import Cluster, ClusterArgs
from components.connections import grant
from components.constants import WEB_PORT
from components.database import Database, DatabaseArgs
from components.encryption import EncryptionKeys, EncryptionKeysArgs
from components.images import ImageRepository, ImageRepositoryArgs, ImageSource
from components.load_balancer import LoadBalancer, LoadBalancerArgs, cors_header_origin
from components.network import Network, NetworkArgs
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
from components.service import FargateService, FargateServiceArgs, LoadBalancerAttachment, ServiceConnectTimeout
from components.task import ContainerSpec, FargateTask, FargateTaskArgs, TaskSize
from components.waf import WebFirewall, WebFirewallArgs
from stack_outputs import StackParts, contract_values, export_contract

config = stack_config.load()  # every config problem at once, before any resource is registered
aws_context = AwsContext.lookup(config.region)
prefix, tags, retention, removal = config.name_prefix, config.tags, config.log_retention_days, config.removal_policy

keys = EncryptionKeys("keys", EncryptionKeysArgs(
    context=aws_context, alias_prefix=prefix, removal_policy=removal, tags=tags,
    alerts_key_statements=AppMetrics.alerts_key_statements(config.metrics, aws_context, prefix)))

network = Network("network", NetworkArgs(
    context=aws_context, settings=config.network, flow_log_key=keys.logs, log_retention_days=retention,
    name_prefix=prefix, tags=tags))

# --- data tier -------------------------------------------------------------------------------------------------------
database = Database("database", DatabaseArgs(
    context=aws_context, settings=config.database, vpc_id=network.vpc.id, subnet_ids=network.subnet_ids("data"),
    az_names=network.az_names, data_key=keys.data, log_key=keys.logs, private_zone_name=config.private_zone_name,
    log_retention_days=retention, removal_policy=removal, name_prefix=prefix, tags=tags))

cache = Cache("cache", CacheArgs(
    settings=config.cache, subnet_ids=network.subnet_ids("data"), vpc_id=network.vpc.id, az_names=network.az_names,
    data_key=keys.data, log_key=keys.logs, log_retention_days=retention, removal_policy=removal, name_prefix=prefix,
    tags=tags))

storage = BackupStorage("storage", BackupStorageArgs(
    context=aws_context, settings=config.storage, key=keys.backups, access_log_expiration_days=retention,
    removal_policy=removal, name_prefix=prefix, tags=tags))

# --- edge ------------------------------------------------------------------------------------------------------------
load_balancer = LoadBalancer("load-balancer", LoadBalancerArgs(
    context=aws_context, settings=config.load_balancer, vpc_id=network.vpc.id, subnet_ids=network.subnet_ids("public"),
    domain_name=config.domain_name, cors_allow_origin=cors_header_origin(config.cors_origins, config.app_url),
    health_check_path=config.app.web.health_check_path or "/",
    server_access_logs=storage.access_logs_for("alb-logs/"), access_log_retention_days=retention,
    removal_policy=removal, name_prefix=prefix, tags=tags))

firewall = WebFirewall("waf", WebFirewallArgs(
    context=aws_context, settings=config.waf, load_balancer_arn=load_balancer.alb.arn, log_key=keys.logs,
    log_retention_days=retention, name_prefix=prefix, tags=tags))

# --- app tier --------------------------------------------------------------------------------------------------------
app = config.app
metrics = AppMetrics("metrics", AppMetricsArgs(
    context=aws_context, settings=config.metrics, key=keys.logs, thresholds=config.alerts.thresholds,
    max_connections=config.database.tuning.max_connections, streaming_routes=config.waf.ai_paths,
    log_retention_days=retention, removal_policy=removal, name_prefix=prefix, tags=tags,
)) if config.metrics.enabled else None
images = {service: ImageRepository(service, ImageRepositoryArgs(
    context=aws_context, settings=config.registry, source=source, repository_name=f"{prefix}/{service}",
    kms_key=keys.images, removal_policy=removal, tags=tags,
)) for service, source in (("web", app.web_image), ("ai", app.ai_image),
                           ("backup", ImageSource(build_context="ops/backup")))}  # pg client + AWS CLI, non-root

cluster = Cluster("cluster", ClusterArgs(settings=config.cluster, name_prefix=prefix, tags=tags))

app_secrets = AppSecrets("app-secrets", AppSecretsArgs(
    kms_key=keys.data, values=config.secrets.values(), removal_policy=removal, name_prefix=prefix, tags=tags))

# Every secret reaches a task through ECS `secrets` (never `environment`); each task's role reads exactly its own.
secrets: dict[str, SecretRef] = {"DATABASE_URL": database.writer_url, "DATABASE_READ_URL": database.reader_url,
                                 "REDIS_URL": cache.url, **app_secrets.refs}


def pick(*names: str) -> dict[str, SecretRef]:
    return {name: secrets[name] for name in names if name in secrets}


def environment(port: int, **extra: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    return app_environment(app, environment=config.environment, app_url=config.app_url,
                           cors_origins=config.cors_origins, port=port, redis_enabled=True,
                           redis_cluster_enabled=config.cache.cluster_mode, extra=extra)


def task(service: str, container: ContainerSpec, *, size: TaskSize | None = None,
         log_group: aws.cloudwatch.LogGroup | None = None, log_stream_prefix: str = "") -> FargateTaskArgs:
    args = FargateTaskArgs(
        context=aws_context, container=container, size=size or TaskSize(), vpc_id=network.vpc.id,
        repository=images[service].repository, image_build_context=images[service].build_context, log_key=keys.logs,
        log_retention_days=retention, log_group=log_group, log_stream_prefix=log_stream_prefix, name_prefix=prefix,
        tags=tags)
    return metrics.scraping(args) if metrics and container.port else args  # a serving task gets a metrics collector


ai = FargateService("ai", FargateServiceArgs(
    settings=app.ai, cluster=cluster, subnet_ids=network.subnet_ids("app"), service_connect_server=True, tags=tags,
    # No Service Connect hop gives up before the edge in front of it (streamed answers last minutes).
    service_connect_timeout=ServiceConnectTimeout.behind_edge(config.edge_timeout_seconds,
                                                              app.ai_request_timeout_seconds),
    task=task("ai", ContainerSpec(
        name="ai", image=images["ai"].image_uri, port=app.ai_port, environment=environment(app.ai_port),
        secrets=pick("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "ANTHROPIC_API_KEY", "WEATHER_API_KEY",
                     "SENTRY_DSN"),
        scratch_paths=AI_SCRATCH_PATHS, health_check=app.ai.health_check(app.ai_port),
        stop_timeout=120,  # Fargate's maximum: AI answers stream; let them finish when a task is replaced
    ), size=app.ai.size)))

web = FargateService("web", FargateServiceArgs(
    settings=app.web, cluster=cluster, subnet_ids=network.subnet_ids("app"), tags=tags,
    upstreams=(ai,),  # created after ai's Service Connect endpoint: tasks see only endpoints older than them
    task=task("web", ContainerSpec(
        name="web", image=images["web"].image_uri, port=WEB_PORT,
        # Next.js closes idle keep-alive connections after 5 s by default; the ALB must close first (no 502s).
        environment=environment(WEB_PORT, AI_SERVER_URL=ai.url,
                                KEEP_ALIVE_TIMEOUT=str(load_balancer.target_keep_alive_ms)),
        # The seed's compose file gives web the Anthropic key too (server-side routes call the API directly).
        secrets=pick("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "NEXTAUTH_SECRET", "ANTHROPIC_API_KEY",
                     "SENTRY_DSN"),
        scratch_paths=WEB_SCRATCH_PATHS, health_check=app.web.health_check(WEB_PORT),
    ), size=app.web.size),
    load_balancer=LoadBalancerAttachment(
        target_group_arn=load_balancer.target_group.arn, target_group_arn_suffix=load_balancer.target_group_arn_suffix,
        load_balancer_arn_suffix=load_balancer.arn_suffix,
        depends_on=load_balancer.serving,  # ECS rejects a target group that no listener uses yet
    )))

# One-off: `npx prisma migrate deploy` with the web image, run by CI before a deploy (migrationRunTaskCommand).
migrate = FargateTask("migrate", task("web", ContainerSpec(
    name="migrate", image=images["web"].image_uri, secrets=pick("DATABASE_URL"),
    environment={"NODE_ENV": "production", "HOME": "/tmp", "npm_config_cache": "/tmp/.npm"},
    command=("npx", "prisma", "migrate", "deploy"), scratch_paths=MIGRATE_SCRATCH_PATHS, stop_timeout=120,
), size=app.web.size, log_group=web.log_group, log_stream_prefix="migrate"))

# --- operations ------------------------------------------------------------------------------------------------------
backup_job = BackupJob("backup", BackupJobArgs(
    context=aws_context, environment=config.environment, cluster_arn=cluster.cluster.arn, vpc_id=network.vpc.id,
    subnet_ids=network.subnet_ids("app"), image=images["backup"].image_uri, repository=images["backup"].repository,
    database_url=database.writer_url, bucket_name=storage.backups.bucket, backups_key_arn=storage.key_arn,
    bucket_write_statements=storage.write_backups_statements(), bucket_read_statements=storage.read_backups_statements(
        "postgresql/"), image_build_context=images["backup"].build_context, settings=config.backup_job,
    logs_key=keys.logs, log_retention_days=retention, name_prefix=prefix, tags=tags))

# Alarms and the dashboard watch every box above; alarms notify the SNS topic.
observability = Observability("observability", ObservabilityArgs(
    context=aws_context, settings=config.alerts, topic_key=keys.alerts, name_prefix=prefix, tags=tags,
    edge=EdgeWatch(load_balancer.arn_suffix, {"web": load_balancer.target_group_arn_suffix}),
    waf=WafWatch(firewall.metric_name),
    services={name: ServiceWatch(cluster.cluster.name, service.service.name) for name, service in
              (("web", web), ("ai", ai))},
    database=DatabaseWatch(database.primary.identifier, database.replica_identifiers,
                           max_connections=config.database.tuning.max_connections),
    cache=CacheWatch(cache.group_id, cache.member_ids),
    backup=BackupWatch(dimensions={"Environment": config.environment}),
    prometheus=metrics.watch if metrics else None, topic_publishers=[metrics.alert_publisher] if metrics else []))
if metrics:  # the alert rules page through the same topic, once its policies let AMP publish
    metrics.send_alerts_to(observability.topic, after=[observability.topic_policy, keys.alerts])

# --- network paths: each grant is the target's ingress rule and the source's egress rule (components/connections.py)
grant(load_balancer, web)  # the ALB's only egress
grant(web, ai)  # the AI server admits the web tasks and nothing else
for client in (web, ai, migrate, backup_job, backup_job.restore_check):
    grant(client, database)
for client in (web, ai):
    grant(client, cache)

export_contract(contract_values(StackParts(
    config=config, keys=keys, network=network, load_balancer=load_balancer, firewall=firewall, database=database,
    cache=cache, storage=storage, cluster=cluster, images=images, web=web, ai=ai, migrate=migrate,
    backup_job=backup_job, observability=observability, metrics=metrics)))
