"""Maratron on AWS — one call per box of the deployment guide's architecture diagram."""

import stack_config
from components.base import AwsContext
from components.database import Database, DatabaseArgs, PostgresTuning
from components.encryption import EncryptionKeys, EncryptionKeysArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs, cors_header_origin
from components.network import Network, NetworkArgs, pick_availability_zones
from components.observability import DatabaseWatch, EdgeWatch, Observability, ObservabilityArgs, WafWatch
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

load_balancer = LoadBalancer("load-balancer", LoadBalancerArgs(
    context=aws_context,
    vpc_id=network.vpc.id,
    subnet_ids=network.subnet_ids("public"),
    domain_name=config.domain_name,
    hosted_zone_id=config.edge.hosted_zone_id,
    certificate_arn=config.edge.certificate_arn,
    target_port=3000,  # the web container's port (the seed's Dockerfile EXPOSE 3000)
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

# Alarms and the dashboard watch what the boxes above expose (edge=, services=, database=, cache=, waf=, backup=).
observability = Observability("observability", ObservabilityArgs(
    context=aws_context,
    topic_key=keys.logs,
    alert_emails=config.operations.alert_emails,
    thresholds=config.operations.alarm_thresholds,
    edge=EdgeWatch(load_balancer_arn_suffix=load_balancer.arn_suffix,
                   target_groups={"web": load_balancer.target_group_arn_suffix}),
    waf=WafWatch(web_acl_metric_name=firewall.metric_name),
    database=DatabaseWatch(database.primary.identifier, database.replica_identifiers,
                           max_connections=db.max_connections),
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
    "databaseSecurityGroupId": database.security_group.id,
    "alertTopicArn": observability.topic.arn,
    "alarmNames": observability.alarm_names(),
    "dashboardName": observability.dashboard.dashboard_name,
})
