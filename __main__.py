"""Maratron on AWS — one call per box of the deployment guide's architecture diagram."""

import pulumi

import stack_config
from components.base import AwsContext
from components.encryption import EncryptionKeys, EncryptionKeysArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs, cors_header_origin
from components.network import Network, NetworkArgs, pick_availability_zones
from components.waf import RateLimit, WebFirewall, WebFirewallArgs

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

# --- edge ---
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

pulumi.export("environment", config.environment)
pulumi.export("vpcId", network.vpc.id)
pulumi.export("publicSubnetIds", network.subnet_ids("public"))
pulumi.export("appSubnetIds", network.subnet_ids("app"))
pulumi.export("dataSubnetIds", network.subnet_ids("data"))
pulumi.export("appRouteTableIds", network.route_table_ids("app"))
pulumi.export("endpointSecurityGroupId", network.endpoint_security_group.id)
pulumi.export("appUrl", config.app_url)
pulumi.export("albDnsName", load_balancer.alb.dns_name)
pulumi.export("albArn", load_balancer.alb.arn)
pulumi.export("albSecurityGroupId", load_balancer.security_group.id)
pulumi.export("targetGroupArn", load_balancer.target_group.arn)
pulumi.export("httpsListenerArn", load_balancer.https_listener.arn)
pulumi.export("certificateArn", load_balancer.certificate_arn)
pulumi.export("albAccessLogsBucketName", load_balancer.access_logs_bucket.bucket)
pulumi.export("webAclArn", firewall.web_acl.arn)
