"""Maratron on AWS — one call per box of the deployment guide's architecture diagram."""

import pulumi
import pulumi_aws as aws

import stack_config
from components.app_environment import app_environment
from components.app_secrets import AppSecrets, AppSecretsArgs
from components.base import AwsContext, SecretRef
from components.cluster import Cluster, ClusterArgs
from components.encryption import EncryptionKeys, EncryptionKeysArgs
from components.images import ImageRepository, ImageRepositoryArgs
from components.network import Network, NetworkArgs, pick_availability_zones
from components.service import FargateService, FargateServiceArgs
from components.task import ContainerSpec, FargateTask, FargateTaskArgs

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

# --- app -------------------------------------------------------------------------------------------------------------
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

# Connection secrets of the data tier: the database and cache components add them (see README, "App tier").
database_secrets: dict[str, SecretRef] = {}
cache_secrets: dict[str, SecretRef] = {}
redis_cluster_enabled = False


def pick(*names: str) -> dict[str, SecretRef]:
    """The app secrets a service needs (least privilege: its execution role reads exactly these)."""
    return {name: app_secrets[name] for name in names if name in app_secrets}


def environment(port: int, **extra: str) -> dict[str, str]:
    return app_environment(
        environment=config.environment, app_url=config.app_url, cors_origins=config.cors_origins, port=port,
        log_level=app.log_level, database_pool_size=app.database_pool_size,
        database_max_connections=app.database_max_connections, redis_enabled=bool(cache_secrets),
        redis_cluster_enabled=redis_cluster_enabled, extra=extra,
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
        secrets={**database_secrets, **cache_secrets,
                 **pick("ANTHROPIC_API_KEY", "WEATHER_API_KEY", "SENTRY_DSN")},
        stop_timeout=60,  # AI responses stream for longer than page loads; let them finish
    ), app.ai.cpu, app.ai.memory),
    cluster=cluster, subnet_ids=network.subnet_ids("app"),
    desired_count=app.ai.desired_count, max_count=app.ai.max_count,
    service_connect_server=True, tags=config.tags,
))

web = FargateService("web", FargateServiceArgs(
    task=task("web", ContainerSpec(
        name="web", image=images["web"].image_uri, port=stack_config.WEB_PORT,
        environment=environment(stack_config.WEB_PORT, AI_SERVER_URL=ai.url),
        secrets={**database_secrets, **cache_secrets, **pick("NEXTAUTH_SECRET", "SENTRY_DSN")},
        scratch_paths=("/tmp", "/app/.next/cache"),
    ), app.web.cpu, app.web.memory),
    cluster=cluster, subnet_ids=network.subnet_ids("app"),
    desired_count=app.web.desired_count, max_count=app.web.max_count,
    tags=config.tags,
))
web.connect_to(ai)  # the AI server admits the web tasks and nothing else

# One-off: `npx prisma migrate deploy` with the web image, run by CI before a deploy (migrationRunTaskCommand).
migrate = FargateTask("migrate", task("web", ContainerSpec(
    name="migrate", image=images["web"].image_uri,
    environment={"NODE_ENV": "production", "HOME": "/tmp", "npm_config_cache": "/tmp/.npm"},
    secrets={name: ref for name, ref in database_secrets.items() if name == "DATABASE_URL"},
    command=("npx", "prisma", "migrate", "deploy"), health_check=False, stop_timeout=120,
), app.web.cpu, app.web.memory, log_group=web.log_group, log_stream_prefix="migrate"))

pulumi.export("environment", config.environment)
pulumi.export("vpcId", network.vpc.id)
pulumi.export("publicSubnetIds", network.subnet_ids("public"))
pulumi.export("appSubnetIds", network.subnet_ids("app"))
pulumi.export("dataSubnetIds", network.subnet_ids("data"))
pulumi.export("appRouteTableIds", network.route_table_ids("app"))
pulumi.export("endpointSecurityGroupId", network.endpoint_security_group.id)

pulumi.export("clusterName", cluster.cluster.name)
pulumi.export("clusterArn", cluster.cluster.arn)
pulumi.export("webServiceName", web.service.name)
pulumi.export("aiServiceName", ai.service.name)
pulumi.export("webSecurityGroupId", web.security_group.id)
pulumi.export("aiSecurityGroupId", ai.security_group.id)
pulumi.export("migrationSecurityGroupId", migrate.security_group.id)
pulumi.export("webRepositoryUrl", images["web"].repository.repository_url)
pulumi.export("aiRepositoryUrl", images["ai"].repository.repository_url)
pulumi.export("webImage", images["web"].image_uri)
pulumi.export("aiImage", images["ai"].image_uri)
pulumi.export("webLogGroupName", web.log_group.name)
pulumi.export("aiLogGroupName", ai.log_group.name)
pulumi.export("migrationTaskDefinitionArn", migrate.task_definition.arn)
pulumi.export("migrationRunTaskCommand", pulumi.Output.all(
    cluster=cluster.cluster.name, task=migrate.task_definition.arn, subnets=network.subnet_ids("app"),
    group=migrate.security_group.id,
).apply(lambda o: (
    f"aws ecs run-task --cluster {o['cluster']} --task-definition {o['task']} "
    "--network-configuration 'awsvpcConfiguration={subnets=[" + ",".join(o["subnets"]) + "],"
    f"securityGroups=[{o['group']}],assignPublicIp=DISABLED}}' --started-by pulumi-migrate "
    "--query 'tasks[0].taskArn' --output text"
)))
