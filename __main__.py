"""Maratron on AWS — one call per box of the deployment guide's architecture diagram."""

import stack_config
from components.base import AwsContext
from components.encryption import EncryptionKeys, EncryptionKeysArgs
from components.network import Network, NetworkArgs, pick_availability_zones
from components.observability import Observability, ObservabilityArgs
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

# Alarms and the dashboard watch what the boxes above expose (edge=, services=, database=, cache=, waf=, backup=).
observability = Observability("observability", ObservabilityArgs(
    context=aws_context,
    topic_key=keys.logs,
    alert_emails=config.operations.alert_emails,
    thresholds=config.operations.alarm_thresholds,
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
    "alertTopicArn": observability.topic.arn,
    "alarmNames": observability.alarm_names(),
    "dashboardName": observability.dashboard.dashboard_name,
})
