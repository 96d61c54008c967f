"""Maratron on AWS — one call per box of the deployment guide's architecture diagram (docs/architecture.md).

keys → network → data tier (database, cache, backup storage) → app tier (images, cluster, secrets, AI and web
services, migration task) behind the edge (load balancer, WAF) → operations (backup job, alarms) → outputs.
"""

import pulumi
import pulumi_aws as aws

import stack_config
from components.app_environment import app_environment
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
from components.service import FargateService, FargateServiceArgs, LoadBalancerAttachment
from components.task import ContainerSpec, FargateTask, FargateTaskArgs, TaskSize
from components.waf import WebFirewall, WebFirewallArgs
from stack_outputs import export_contract

config = stack_config.load()  # every config problem at once, before any resource is registered
aws_context = AwsContext.lookup(config.region)

keys = EncryptionKeys("keys", EncryptionKeysArgs(
    context=aws_context, alias_prefix=config.name_prefix, removal_policy=config.removal_policy, tags=config.tags,
))

network = Network("network", NetworkArgs(
    context=aws_context, settings=config.network, flow_log_key=keys.logs,
    log_retention_days=config.log_retention_days, name_prefix=config.name_prefix, tags=config.tags,
))

# --- data tier -------------------------------------------------------------------------------------------------------
database = Database("database", DatabaseArgs(
    context=aws_context, settings=config.database, vpc_id=network.vpc.id, subnet_ids=network.subnet_ids("data"),
    az_names=network.az_names, data_key=keys.data, log_key=keys.logs, name_prefix=config.name_prefix,
    private_zone_name=config.private_zone_name, log_retention_days=config.log_retention_days,
    removal_policy=config.removal_policy, tags=config.tags,
))

cache = Cache("cache", CacheArgs(
    settings=config.cache, subnet_ids=network.subnet_ids("data"), vpc_id=network.vpc.id, az_names=network.az_names,
    data_key=keys.data, log_key=keys.logs, log_retention_days=config.log_retention_days,
    removal_policy=config.removal_policy, name_prefix=config.name_prefix, tags=config.tags,
))

storage = BackupStorage("storage", BackupStorageArgs(
    context=aws_context, settings=config.storage, key=keys.backups,
    access_log_expiration_days=config.log_retention_days,
    removal_policy=config.removal_policy, name_prefix=config.name_prefix, tags=config.tags,
))

# --- edge ------------------------------------------------------------------------------------------------------------
load_balancer = LoadBalancer("load-balancer", LoadBalancerArgs(
    context=aws_context, settings=config.load_balancer, vpc_id=network.vpc.id, subnet_ids=network.subnet_ids("public"),
    domain_name=config.domain_name, server_access_logs=storage.access_logs_for("alb-logs/"),
    cors_allow_origin=cors_header_origin(config.cors_origins, config.app_url),
    access_log_retention_days=config.log_retention_days, name_prefix=config.name_prefix,
    removal_policy=config.removal_policy, tags=config.tags,
))

firewall = WebFirewall("waf", WebFirewallArgs(
    context=aws_context, settings=config.waf, load_balancer_arn=load_balancer.alb.arn, log_key=keys.logs,
    log_retention_days=config.log_retention_days, name_prefix=config.name_prefix, tags=config.tags,
))

# --- app tier --------------------------------------------------------------------------------------------------------
app = config.app

images = {service: ImageRepository(service, ImageRepositoryArgs(
    context=aws_context, settings=config.registry, source=source, repository_name=f"{config.name_prefix}/{service}",
    kms_key=keys.images, removal_policy=config.removal_policy, tags=config.tags,
)) for service, source in (("web", app.web_image), ("ai", app.ai_image))}

cluster = Cluster("cluster", ClusterArgs(settings=config.cluster, name_prefix=config.name_prefix, tags=config.tags))

app_secrets = AppSecrets("app-secrets", AppSecretsArgs(
    kms_key=keys.data, name_prefix=config.name_prefix, values=config.secrets.values(),
    removal_policy=config.removal_policy, tags=config.tags,
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
        app, environment=config.environment, app_url=config.app_url, cors_origins=config.cors_origins, port=port,
        redis_enabled=True, redis_cluster_enabled=config.cache.cluster_mode, extra=extra,
    )


def task(service: str, container: ContainerSpec, *, size: TaskSize | None = None,
         log_group: aws.cloudwatch.LogGroup | None = None, log_stream_prefix: str = "") -> FargateTaskArgs:
    return FargateTaskArgs(
        context=aws_context, container=container, size=size or TaskSize(), vpc_id=network.vpc.id,
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
    )),
    settings=app.ai, cluster=cluster, subnet_ids=network.subnet_ids("app"), service_connect_server=True,
    tags=config.tags,
))

web = FargateService("web", FargateServiceArgs(
    task=task("web", ContainerSpec(
        name="web", image=images["web"].image_uri, port=WEB_PORT,
        # Next.js closes idle keep-alive connections after 5 s by default; the ALB must close first (no 502s).
        environment=environment(WEB_PORT, AI_SERVER_URL=ai.url,
                                KEEP_ALIVE_TIMEOUT=str(load_balancer.target_keep_alive_ms)),
        # The seed's compose file gives web the Anthropic key too (server-side routes call the API directly).
        secrets=pick("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "NEXTAUTH_SECRET", "ANTHROPIC_API_KEY",
                     "SENTRY_DSN"),
        scratch_paths=("/tmp", "/app/.next/cache"),
    )),
    settings=app.web, cluster=cluster, subnet_ids=network.subnet_ids("app"),
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
), size=app.web.size, log_group=web.log_group, log_stream_prefix="migrate"))

# --- operations ------------------------------------------------------------------------------------------------------
backup_image = ImageRepository("backup", ImageRepositoryArgs(
    context=aws_context, settings=config.registry, repository_name=f"{config.name_prefix}/backup",
    source=ImageSource(build_context="ops/backup"),  # postgres client + AWS CLI, non-root (ops/backup/Dockerfile)
    kms_key=keys.images, removal_policy=config.removal_policy, tags=config.tags,
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

# --- network paths: each grant is the target's ingress rule and the source's egress rule (components/connections.py)
grant(load_balancer, web)  # the ALB's only egress
grant(web, ai)  # the AI server admits the web tasks and nothing else
for client in (web, ai, migrate, backup_job):
    grant(client, database)
for client in (web, ai):
    grant(client, cache)

# Alarms and the dashboard watch every box above; alarms notify the SNS topic.
observability = Observability("observability", ObservabilityArgs(
    context=aws_context,
    topic_key=keys.logs,
    settings=config.alerts,
    edge=EdgeWatch(load_balancer_arn_suffix=load_balancer.arn_suffix,
                   target_groups={"web": load_balancer.target_group_arn_suffix}),
    waf=WafWatch(web_acl_metric_name=firewall.metric_name),
    services={"web": ServiceWatch(cluster.cluster.name, web.service.name),
              "ai": ServiceWatch(cluster.cluster.name, ai.service.name)},
    database=DatabaseWatch(database.primary.identifier, database.replica_identifiers,
                           max_connections=config.database.tuning.max_connections),
    cache=CacheWatch(cache.group_id, cache.member_ids),
    backup=BackupWatch(dimensions={"Environment": config.environment}),
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
