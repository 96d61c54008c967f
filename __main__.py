"""Maratron on AWS — one call per box of the deployment guide's architecture diagram (docs/architecture.md).

foundation (bootstrap: repositories, account, role boundary) → keys → network → data (database + RDS Proxy, cache,
backups, DR copy) → edge (CDN, ALB, WAF, DNS) → app (metrics, cluster, credentials, secrets, AI, web, migration) →
operations (backup job, restore drill, secret redeploys, alarms) → network paths → outputs (settings: stack_config.py).
"""

import pulumi_aws as aws

import stack_config
from components.app_environment import AI_SCRATCH_PATHS, MIGRATE_SCRATCH_PATHS, WEB_SCRATCH_PATHS
from components.app_metrics import AppMetrics
from components.app_secrets import AppSecrets, AppSecretsArgs
from components.backup_job import BackupJob, BackupJobArgs
from components.backup_storage import BackupStorage, BackupStorageArgs
from components.base import AwsContext, SecretRef
from components.cache import Cache, CacheArgs
from components.cdn import Cdn, CdnArgs, OriginSecret, OriginSecretArgs
from components.cluster import Cluster, ClusterArgs
from components.connections import grant
from components.constants import WEB_PORT
from components.credentials import Credentials, CredentialsArgs
from components.database import Database, DatabaseArgs
from components.disaster_recovery import DisasterRecovery, DisasterRecoveryArgs
from components.encryption import EncryptionKeys, EncryptionKeysArgs
from components.foundation import Foundation
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.network import Network, NetworkArgs
from components.observability import Observability, ObservabilityArgs
from components.restore_drill import RestoreDrill
from components.secret_redeploy import SecretRedeploy, SecretRedeployArgs
from components.service import FargateService, FargateServiceArgs, ServiceConnectTimeout
from components.task import ContainerSpec, FargateTask, FargateTaskArgs, TaskSize
from components.waf import WebFirewall, WebFirewallArgs
from stack_outputs import StackParts, contract_values, export_contract

config = stack_config.load()  # every config problem at once, before any resource is registered
aws_context = AwsContext.lookup(config.region)
stack_config.require_account(config, aws_context.account_id)  # ARNs in config must be this account's
prefix, tags, retention, removal = config.name_prefix, config.tags, config.log_retention_days, config.removal_policy

# The bootstrap stack's repositories, account and role boundary; every image looked up (fails preview if not pushed).
foundation = Foundation(config.foundation, environment=config.environment, context=aws_context,
                        images=config.image_sources)

keys = EncryptionKeys("keys", EncryptionKeysArgs(
    context=aws_context, alias_prefix=prefix, removal_policy=removal, cdn=config.cdn.enabled, tags=tags,
    alerts_key_statements=config.alerts_key_statements(aws_context),  # Budgets, the AMP alert manager
    data_key_statements=Cluster.storage_key_statements(aws_context, prefix)))  # tasks' ephemeral storage

network = Network("network", NetworkArgs(
    context=aws_context, settings=config.network, flow_log_key=keys.logs, log_retention_days=retention,
    registry_accounts=[foundation.registry_id], name_prefix=prefix, tags=tags))

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

recovery = DisasterRecovery("dr", DisasterRecoveryArgs(  # RDS backups, dumps, archive copied to drRegion
    context=aws_context, region=config.dr_region, sources=storage.replication_sources(), database=database.primary,
    backup_retention_days=config.database.backup_retention_days, settings=config.recovery,
    access_log_expiration_days=retention, removal_policy=removal, name_prefix=prefix, tags=tags))

# --- edge: CloudFront (WAF) → ALB with cdnEnabled (components/cdn.py), or the ALB (WAF) alone as the front door ------
origin_secret = OriginSecret("origin-secret", OriginSecretArgs(
    settings=config.cdn, key=keys.data, removal_policy=removal, name_prefix=prefix, tags=tags),
) if config.cdn.enabled else None

load_balancer = LoadBalancer("load-balancer", LoadBalancerArgs(
    context=aws_context, settings=config.load_balancer, vpc_id=network.vpc.id, subnet_ids=network.subnet_ids("public"),
    domain_name=config.domain_name, targets_on_spot=config.cluster.fargate_spot,
    health_check_path=config.app.web.health_check_path or "/", server_access_logs=storage.access_logs_for("alb-logs/"),
    origin_lock=origin_secret.lock() if origin_secret else None, access_log_retention_days=retention,
    removal_policy=removal, name_prefix=prefix, tags=tags))

firewall = WebFirewall("waf", WebFirewallArgs(
    context=aws_context, settings=config.waf, scope="CLOUDFRONT" if origin_secret else "REGIONAL", log_key=keys.edge,
    load_balancer_arn=None if origin_secret else load_balancer.alb.arn, log_retention_days=retention,
    name_prefix=prefix, tags=tags))

cdn = Cdn("cdn", CdnArgs(
    context=aws_context, settings=config.cdn, domain_name=config.domain_name, origin_secret=origin_secret,
    origin_domain_name=load_balancer.alb.dns_name, origin_certificate_arn=load_balancer.certificate_arn,
    origin_ready=[load_balancer.forward_rule], web_acl_arn=firewall.web_acl.arn, log_key=keys.logs,
    hosted_zone_id=load_balancer.hosted_zone_id, server_access_logs=storage.access_logs_for("cdn-logs/"),
    log_retention_days=retention, removal_policy=removal, name_prefix=prefix, tags=tags)) if origin_secret else None

public_dns = load_balancer.public_dns(front=cdn.alias_target if cdn else None)  # A/AAAA aliases in hostedZoneId

# --- app tier --------------------------------------------------------------------------------------------------------
app = config.app
metrics = AppMetrics("metrics", config.metrics_args(aws_context, keys.logs)) if config.metrics.enabled else None  # AMP
cluster = Cluster("cluster", ClusterArgs(settings=config.cluster, name_prefix=prefix, storage_key=keys.data, tags=tags))

app_secrets = AppSecrets("app-secrets", AppSecretsArgs(
    kms_key=keys.data, values=config.secrets.values(), removal_policy=removal, name_prefix=prefix, tags=tags))

credentials = Credentials("credentials", CredentialsArgs(  # app logins, not the master; db-admin and redis rotations
    context=aws_context, settings=config.credentials, database=database, cache=cache, egress=network.app_egress,
    pool_size=app.database_pool_size, vpc_id=network.vpc.id, subnet_ids=network.subnet_ids("app"),
    data_key=keys.data, log_key=keys.logs, log_retention_days=retention, name_prefix=prefix, tags=tags))

secrets: dict[str, SecretRef] = {**credentials.service_refs, **app_secrets.refs}  # ECS `secrets` only, never env


def pick(*names: str) -> dict[str, SecretRef]:
    return {name: secrets[name] for name in names if name in secrets}


def task(service: str, container: ContainerSpec, *, size: TaskSize | None = None,
         log_group: aws.cloudwatch.LogGroup | None = None, log_stream_prefix: str = "") -> FargateTaskArgs:
    args = FargateTaskArgs(  # APP_VERSION: the image the task runs, by digest (the seed's logger records it)
        context=aws_context, container=container.with_environment(APP_VERSION=container.image), vpc_id=network.vpc.id,
        size=size or TaskSize(), repository_arn=foundation.repository_arn(service), log_key=keys.logs,
        image_build_context=config.image_build_context(service), log_retention_days=retention, log_group=log_group,
        log_stream_prefix=log_stream_prefix, removal_policy=removal, name_prefix=prefix, tags=tags)
    return metrics.scraping(args) if metrics and container.port else args  # a serving task gets a metrics collector


ai = FargateService("ai", FargateServiceArgs(
    settings=app.ai, cluster=cluster, subnet_ids=network.subnet_ids("app"), service_connect_server=True, tags=tags,
    service_connect_timeout=ServiceConnectTimeout.behind_edge(  # no hop gives up before the edge in front of it
        config.edge_timeout_seconds, app.ai_request_timeout_seconds),  # (streamed answers last minutes)
    task=task("ai", ContainerSpec(
        name="ai", image=foundation.image_uri("ai"), port=app.ai_port, environment=config.app_environment(app.ai_port),
        secrets=pick("REDIS_URL", "ANTHROPIC_API_KEY", "WEATHER_API_KEY", "SENTRY_DSN") | credentials.libpq_refs,
        scratch_paths=AI_SCRATCH_PATHS, health_check=app.ai.health_check(app.ai_port),
        stop_timeout=120,  # Fargate's maximum: AI answers stream; let them finish when a task is replaced
    ), size=app.ai.size)))

web = FargateService("web", FargateServiceArgs(
    settings=app.web, cluster=cluster, subnet_ids=network.subnet_ids("app"), tags=tags,
    upstreams=(ai,),  # created after ai's Service Connect endpoint: tasks see only endpoints older than them
    task=task("web", ContainerSpec(
        name="web", image=foundation.image_uri("web"), port=WEB_PORT,
        # Next.js closes idle keep-alive connections after 5 s by default; the ALB must close first (no 502s).
        environment=config.app_environment(WEB_PORT, AI_SERVER_URL=ai.url,
                                           KEEP_ALIVE_TIMEOUT=str(load_balancer.target_keep_alive_ms)),
        # The seed's compose file gives web the Anthropic key too (server-side routes call the API directly).
        secrets=pick("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "NEXTAUTH_SECRET", "ANTHROPIC_API_KEY",
                     "SENTRY_DSN"),
        scratch_paths=WEB_SCRATCH_PATHS, health_check=app.web.health_check(WEB_PORT), stop_timeout=120,  # as ai
    ), size=app.web.size), load_balancer=load_balancer.attachment))  # waits for the listener (ECS rejects an unused TG)

# One-off as app_migrate: `npx prisma migrate deploy` with the web image, run before a deploy (migrationRunTaskCommand)
migrate = FargateTask("migrate", task("web", ContainerSpec(
    name="migrate", image=foundation.image_uri("web"), secrets={"DATABASE_URL": credentials.migration_url},
    environment={"NODE_ENV": "production", "HOME": "/tmp", "npm_config_cache": "/tmp/.npm"},
    command=("npx", "prisma", "migrate", "deploy"), scratch_paths=MIGRATE_SCRATCH_PATHS, stop_timeout=120,
), size=app.web.size, log_group=web.log_group, log_stream_prefix="migrate"))

# --- operations: backup job, restore drill; alarms and the dashboard watch every box above (they notify the SNS topic)
backup_job = BackupJob("backup", BackupJobArgs(
    context=aws_context, environment=config.environment, settings=config.backup_job, cluster_arn=cluster.cluster.arn,
    vpc_id=network.vpc.id, subnet_ids=network.subnet_ids("app"), image=foundation.image_uri("backup"), tags=tags,
    repository_arn=foundation.repository_arn("backup"), image_build_context=config.image_build_context("backup"),
    secrets_key=keys.data, database_url=credentials.backup_url, bucket_name=storage.backups.bucket, logs_key=keys.logs,
    backups_key_arn=storage.key_arn, bucket_write_statements=storage.write_backups_statements(), name_prefix=prefix,
    bucket_read_statements=storage.read_backups_statements("postgresql/"), log_retention_days=retention,
    archive=storage.monthly_archive(config.environment), removal_policy=removal))

redeploy = SecretRedeploy("secret-redeploy", SecretRedeployArgs(  # a rotated (or new) secret redeploys its readers
    context=aws_context, cluster_arn=cluster.cluster.arn, log_key=keys.logs, log_retention_days=retention,
    services={name: (service, list(service.secrets.values())) for name, service in (("web", web), ("ai", ai))},
    name_prefix=prefix, tags=tags))

drill = RestoreDrill.beside(backup_job, recovery)  # daily (DR on): the newest DR dump restored into a throw-away DB

observability = Observability("observability", ObservabilityArgs(
    context=aws_context, settings=config.alerts, topic_key=keys.alerts, edge_topic_key=keys.edge, name_prefix=prefix,
    tags=tags, edge=load_balancer.watch, waf=firewall.watch, cdn=cdn.watch if cdn else None, redeploy=redeploy.watch,
    services={"web": web.watch, "ai": ai.watch}, database=database.watch, cache=cache.watch, backup=backup_job.watch,
    replication=recovery.replication_watches(), drill=drill.watch if drill else None, functions=credentials.watches,
    prometheus=metrics.watch if metrics else None, topic_publishers=[metrics.alert_publisher] if metrics else []))

# --- network paths: each grant is the target's ingress rule and the source's egress rule (components/connections.py)
grant(load_balancer, web)  # the ALB's only egress
grant(web, ai)  # the AI server admits the web tasks and nothing else
for service in (web, ai):
    grant(service, cache)
# web and ai through RDS Proxy (and the replicas); migrations, pg_dump and the restore check direct to the primary
database.admit(services=(web, ai), one_offs=(migrate, backup_job, backup_job.restore_check))

export_contract(contract_values(StackParts(
    config=config, keys=keys, network=network, load_balancer=load_balancer, firewall=firewall, cdn=cdn,
    database=database, cache=cache, storage=storage, cluster=cluster, foundation=foundation, web=web, ai=ai,
    migrate=migrate, backup_job=backup_job, credentials=credentials, redeploy=redeploy, observability=observability,
    recovery=recovery, drill=drill, metrics=metrics)))
