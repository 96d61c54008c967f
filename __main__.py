"""Maratron on AWS — one call per box of the deployment guide's architecture diagram."""

import pulumi

import stack_config
from components.base import AwsContext
from components.encryption import EncryptionKeys, EncryptionKeysArgs
from components.network import Network, NetworkArgs, pick_availability_zones
from components.observability import Observability, ObservabilityArgs

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

pulumi.export("environment", config.environment)
pulumi.export("vpcId", network.vpc.id)
pulumi.export("publicSubnetIds", network.subnet_ids("public"))
pulumi.export("appSubnetIds", network.subnet_ids("app"))
pulumi.export("dataSubnetIds", network.subnet_ids("data"))
pulumi.export("appRouteTableIds", network.route_table_ids("app"))
pulumi.export("endpointSecurityGroupId", network.endpoint_security_group.id)
pulumi.export("alertTopicArn", observability.topic.arn)
pulumi.export("alarmNames", observability.alarm_names())
pulumi.export("dashboardName", observability.dashboard.dashboard_name)
