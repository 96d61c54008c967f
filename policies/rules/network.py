"""Network rules: security group ingress, the default security group, subnets, VPC flow logs.

A security group's ingress can be written three ways and every one is checked: inline `ingress` blocks on
aws:ec2/securityGroup (and aws:ec2/defaultSecurityGroup), standalone aws:vpc/securityGroupIngressRule resources
(the current form), and legacy aws:ec2/securityGroupRule resources of type ingress.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import (
    LOAD_BALANCER_TYPES,
    RDS_INSTANCE,
    REPLICATION_GROUP,
    Rule,
    as_list,
    config_value,
    document,
    linked,
    number,
    of_type,
    resource_rule,
    settings_rule,
    stack_rule,
    statements,
    truthy,
)
from ._controls import DELETE, MISSING, Drop, Edit, Guard, Is, Matches, Present, Relink, Setting, To, When

DESCRIPTION_CHARACTERS = r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}$"
"""What EC2 accepts in a security group's or rule's description (IpRange, IpPermission, CreateSecurityGroup)."""

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SUBNET = "aws:ec2/subnet:Subnet"
INGRESS_TYPES = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP, INGRESS_RULE, LEGACY_RULE)
WORLD = ("0.0.0.0/0", "::/0")
PUBLIC_WEB_PORTS = (80, 443)
# SSH, RDP, PostgreSQL, MySQL, SQL Server, Oracle, Redis, Memcached, MongoDB, Elasticsearch, Docker, Kubernetes API.
ADMIN_AND_DATABASE_PORTS = [22, 3389, 5432, 3306, 1433, 1521, 6379, 11211, 27017, 9200, 2375, 2376, 6443]


@dataclass(frozen=True)
class Ingress:
    """One ingress permission, whatever syntax declared it."""

    protocol: str
    from_port: int
    to_port: int
    cidrs: tuple[str, ...]
    """IPv4/IPv6 CIDR sources (prefix lists count as CIDR-like: they are address ranges)."""
    group_sources: int
    """How many security-group (or self) sources the permission has."""

    @property
    def all_ports(self) -> bool:
        return self.protocol in ("-1", "all") or (self.from_port <= 0 and self.to_port >= 65535)

    def covers(self, port: int) -> bool:
        return self.all_ports or self.from_port <= port <= self.to_port

    def world_open(self) -> bool:
        return any(cidr in WORLD for cidr in self.cidrs)


def _ports(props: Any) -> tuple[int, int]:
    return int(number(props.get("fromPort"), 0)), int(number(props.get("toPort"), number(props.get("fromPort"), 0)))


def ingress_of(resource_type: str, props: Any) -> Iterator[Ingress]:
    """Every ingress permission a security-group-ish resource declares."""
    if resource_type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        for block in as_list(props.get("ingress")):
            low, high = _ports(block)
            cidrs = (*as_list(block.get("cidrBlocks")), *as_list(block.get("ipv6CidrBlocks")),
                     *as_list(block.get("prefixListIds")))
            groups = len(as_list(block.get("securityGroups"))) + (1 if truthy(block.get("self")) else 0)
            yield Ingress(str(block.get("protocol", "-1")).lower(), low, high, tuple(cidrs), groups)
    elif resource_type == INGRESS_RULE:
        low, high = _ports(props)
        cidrs = tuple(c for c in (props.get("cidrIpv4"), props.get("cidrIpv6"), props.get("prefixListId")) if c)
        groups = 1 if props.get("referencedSecurityGroupId") else 0
        yield Ingress(str(props.get("ipProtocol", "-1")).lower(), low, high, cidrs, groups)
    elif resource_type == LEGACY_RULE and props.get("type") == "ingress":
        low, high = _ports(props)
        cidrs = (*as_list(props.get("cidrBlocks")), *as_list(props.get("ipv6CidrBlocks")),
                 *as_list(props.get("prefixListIds")))
        groups = (1 if props.get("sourceSecurityGroupId") else 0) + (1 if truthy(props.get("self")) else 0)
        yield Ingress(str(props.get("protocol", "-1")).lower(), low, high, tuple(cidrs), groups)


def _port_text(ingress: Ingress) -> str:
    if ingress.all_ports:
        return "all ports"
    return f"port {ingress.from_port}" if ingress.from_port == ingress.to_port else \
        f"ports {ingress.from_port}-{ingress.to_port}"


def _no_world_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for ingress in ingress_of(args.resource_type, args.props):
        if not ingress.world_open():
            continue
        web_only = ingress.protocol in ("tcp", "6") and not ingress.all_ports and all(
            port in PUBLIC_WEB_PORTS for port in range(ingress.from_port, ingress.to_port + 1))
        if not web_only:
            report(f"ingress from {', '.join(c for c in ingress.cidrs if c in WORLD)} on {_port_text(ingress)}: "
                   "only TCP 80/443 (to a public load balancer) may be open to the internet", None)


def _no_admin_ports(args: ResourceValidationArgs, report: ReportViolation) -> None:
    forbidden = [int(number(p)) for p in as_list(config_value(args, "forbiddenPorts", ADMIN_AND_DATABASE_PORTS))]
    for ingress in ingress_of(args.resource_type, args.props):
        if not ingress.cidrs:
            continue
        hit = [port for port in forbidden if ingress.covers(port)]
        if hit:
            report(f"ingress from address ranges {list(ingress.cidrs)} reaches admin/database port(s) {hit}: "
                   "admit such ports only from security groups (admin access goes through SSM Session Manager)",
                   None)


def _default_sg_closed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for direction in ("ingress", "egress"):
        if as_list(args.props.get(direction)):
            report(f"the VPC's default security group has {direction} rules; adopt it with none", None)


def _subnet_no_public_ips(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if truthy(args.props.get("mapPublicIpOnLaunch")):
        report("mapPublicIpOnLaunch is true: instances and tasks would get public IPs by default", None)


def _vpc_flow_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    flow_logs = of_type(args.resources, FLOW_LOG)
    # Links first: on a first preview the VPC's id is not known yet, but a flow log's vpcId links to its VPC. Only a
    # flow log naming a VPC by a literal id (no link) needs the id read.
    by_id = [log for log in flow_logs if not any(d.resource_type == VPC for d in linked(log, "vpcId"))]
    for vpc in of_type(args.resources, VPC):
        covered = any(vpc in linked(log, "vpcId") for log in flow_logs)
        if not covered and by_id:
            vpc_id = vpc.props.get("id")
            covered = any(vpc_id and log.props.get("vpcId") == vpc_id for log in by_id)
        if not covered:
            report("VPC has no flow log (aws:ec2/flowLog with vpcId of this VPC)", vpc.urn)


def _group_rules(resources: list[PolicyResource], group: PolicyResource) -> Iterator[tuple[PolicyResource, Ingress]]:
    """Ingress permissions of one security group: its inline blocks and every rule resource attached to it."""
    for ingress in ingress_of(group.resource_type, group.props):
        yield group, ingress
    for rule in of_type(resources, INGRESS_RULE, LEGACY_RULE):
        if group in linked(rule, "securityGroupId"):
            for ingress in ingress_of(rule.resource_type, rule.props):
                yield rule, ingress


def _data_store_groups(resources: list[PolicyResource]) -> dict[str, tuple[PolicyResource, str]]:
    groups: dict[str, tuple[PolicyResource, str]] = {}
    # RDS Proxy (issue 11) is the database's front door: its group is held to the same rule.
    for store in of_type(resources, RDS_INSTANCE, "aws:rds/cluster:Cluster", "aws:rds/proxy:Proxy"):
        for group in linked(store, "vpcSecurityGroupIds"):
            groups[group.urn] = (group, store.urn)
    for store in of_type(resources, REPLICATION_GROUP, "aws:elasticache/cluster:Cluster"):
        for group in linked(store, "securityGroupIds"):
            groups[group.urn] = (group, store.urn)
    return groups


def _data_stores_admit_groups_only(args: StackValidationArgs, report: ReportViolation) -> None:
    for group, store in _data_store_groups(args.resources).values():
        for owner, ingress in _group_rules(args.resources, group):
            if ingress.cidrs:
                report(f"security group of data store {store} admits address ranges {list(ingress.cidrs)} on "
                       f"{_port_text(ingress)}: a data store admits only its clients' security groups", owner.urn)


def _world_web_only_on_public_albs(args: StackValidationArgs, report: ReportViolation) -> None:
    public_alb_groups = {
        group.urn
        for lb in of_type(args.resources, *LOAD_BALANCER_TYPES)
        if not truthy(lb.props.get("internal"))
        for group in linked(lb, "securityGroups")
    }
    for group in of_type(args.resources, SECURITY_GROUP):
        if group.urn in public_alb_groups:
            continue
        for owner, ingress in _group_rules(args.resources, group):
            if ingress.world_open():
                report(f"internet ingress on {_port_text(ingress)} to a security group no internet-facing load "
                       "balancer uses", owner.urn)


WORLD_V4 = When("cidrIpv4", "0.0.0.0/0")
ADDRESS_RANGE = When("cidrIpv4")
NOT_WORLD = When("cidrIpv4", "0.0.0.0/0", negate=True)
ALL_TRAFFIC = [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]


def _from_address_range(inputs: dict[str, Any]) -> dict[str, Any]:
    """A security-group rule that admits a client group, rewritten to admit the VPC's address range instead."""
    out = {k: v for k, v in inputs.items() if k != "referencedSecurityGroupId"}
    return {**out, "cidrIpv4": "10.0.0.0/8"}


FORBIDDEN_PORTS_SCHEMA = {"forbiddenPorts": {
    "type": "array", "items": {"type": "integer"}, "default": ADMIN_AND_DATABASE_PORTS,
    "description": "Ports that never admit address-range sources (admin and database ports).",
}}

RULES: list[Rule] = [
    resource_rule(
        "security-group-no-internet-ingress", area="network", types=INGRESS_TYPES,
        summary="Security groups admit 0.0.0.0/0 or ::/0 only on TCP 80/443",
        reference="seed: security groups least privilege; cdk-nag EC23; Checkov CKV_AWS_24, CKV_AWS_25, "
                  "CKV_AWS_277 (not CKV_AWS_260, which refuses port 80 from the world: the ALB's redirect needs it)",
        check=_no_world_ingress,
        guards=[Guard("ipProtocol", To("-1"), types=(INGRESS_RULE,), where=WORLD_V4,
                      note="the protocol of internet ingress (TCP only)")]),
    resource_rule(
        "security-group-no-admin-ports", area="network", types=INGRESS_TYPES,
        summary="Admin and database ports never admit address ranges, only security groups",
        reference="seed: no SSH, database ports private; cdk-nag EC23, RDS8; Checkov CKV_AWS_24, CKV_AWS_25",
        check=_no_admin_ports, schema=FORBIDDEN_PORTS_SCHEMA,
        guards=[Guard("fromPort", To(22), types=(INGRESS_RULE,), where=ADDRESS_RANGE),
                Guard("toPort", To(65535), types=(INGRESS_RULE,), where=ADDRESS_RANGE)]),
    resource_rule(
        "default-security-group-closed", area="network", types=[DEFAULT_SECURITY_GROUP],
        summary="The VPC default security group has no rules",
        reference="Checkov CKV2_AWS_12", check=_default_sg_closed,
        guards=[Guard("ingress", To(ALL_TRAFFIC)), Guard("egress", To(ALL_TRAFFIC))]),
    resource_rule(
        "subnet-no-public-ip-on-launch", area="network", types=[SUBNET],
        summary="Subnets do not assign public IPs on launch",
        reference="seed: private subnets for app and data; Checkov CKV_AWS_130", check=_subnet_no_public_ips,
        guards=[Guard("mapPublicIpOnLaunch", To(True))]),
    stack_rule(
        "vpc-flow-logs", area="network", summary="Every VPC has flow logs",
        reference="seed: VPC flow logs; cdk-nag VPC7; Checkov CKV2_AWS_11", check=_vpc_flow_logs,
        guards=[Guard("vpcId", Drop(), types=(FLOW_LOG,), blame="vpcId", note="the VPC's flow log")]),
    stack_rule(
        "data-store-ingress-from-security-groups-only", area="network",
        summary="Security groups of RDS and ElastiCache admit only security groups, never address ranges",
        reference="seed: database and Redis reachable from the app tier only; cdk-nag RDS8",
        check=_data_stores_admit_groups_only,
        guards=[Guard("referencedSecurityGroupId", Edit(_from_address_range, "a client group replaced by 10.0.0.0/8"),
                      types=(INGRESS_RULE,), where=When("fromPort", 5432), unlink=True,
                      note="database ingress admits client security groups")]),
    stack_rule(
        "internet-ingress-only-to-public-load-balancers", area="network",
        summary="Internet ingress (0.0.0.0/0, ::/0) only to security groups of internet-facing load balancers",
        reference="seed: only the ALB is public; cdk-nag EC23; departs from Checkov CKV_AWS_260 on purpose (a public "
                  "ALB listens on 80 to redirect to 443)",
        check=_world_web_only_on_public_albs,
        guards=[Guard("cidrIpv4", To("0.0.0.0/0"), types=(INGRESS_RULE,), where=(ADDRESS_RANGE, NOT_WORLD),
                      note="address-range ingress to groups other than the ALB's")]),
]


# --- controls the stack sets beyond the rules above (issue 13: the pack guards every control) -------------------------

# AWS behaviour these rules rely on: interface endpoints answer the service's public name inside the VPC only with
# private DNS (https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html); flow logs
# record ACCEPT, REJECT or ALL traffic (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html).

EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
EGRESS_TYPES = (SECURITY_GROUP, EGRESS_RULE, LEGACY_RULE)
ALLOWED_EGRESS_PORTS = [443]


def egress_of(resource_type: str, props: Any) -> Iterator[Ingress]:
    """Every egress permission a security-group-ish resource declares (same shape as ingress: the destinations are
    in `cidrs`)."""
    if resource_type == SECURITY_GROUP:
        for block in as_list(props.get("egress")):
            low, high = _ports(block)
            cidrs = (*as_list(block.get("cidrBlocks")), *as_list(block.get("ipv6CidrBlocks")),
                     *as_list(block.get("prefixListIds")))
            yield Ingress(str(block.get("protocol", "-1")).lower(), low, high, tuple(cidrs),
                          len(as_list(block.get("securityGroups"))))
    elif resource_type == EGRESS_RULE:
        low, high = _ports(props)
        cidrs = tuple(c for c in (props.get("cidrIpv4"), props.get("cidrIpv6"), props.get("prefixListId")) if c)
        yield Ingress(str(props.get("ipProtocol", "-1")).lower(), low, high, cidrs,
                      1 if props.get("referencedSecurityGroupId") else 0)
    elif resource_type == LEGACY_RULE and props.get("type") == "egress":
        low, high = _ports(props)
        cidrs = (*as_list(props.get("cidrBlocks")), *as_list(props.get("ipv6CidrBlocks")),
                 *as_list(props.get("prefixListIds")))
        yield Ingress(str(props.get("protocol", "-1")).lower(), low, high, tuple(cidrs),
                      1 if props.get("sourceSecurityGroupId") else 0)


def _egress_restricted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = {int(number(p)) for p in as_list(config_value(args, "allowedPorts", ALLOWED_EGRESS_PORTS))}
    for egress in egress_of(args.resource_type, args.props):
        if not egress.cidrs:
            continue  # to another security group: as narrow as that group
        if egress.all_ports or egress.protocol not in ("tcp", "6", "udp", "17"):
            report(f"egress to address ranges {list(egress.cidrs)} on {_port_text(egress)} (protocol "
                   f"{egress.protocol}): name the protocol and the port", None)
        elif any(port not in allowed for port in range(egress.from_port, egress.to_port + 1)):
            report(f"egress to address ranges {list(egress.cidrs)} on {_port_text(egress)}: only ports "
                   f"{sorted(allowed)} may reach address ranges; other destinations are security groups", None)


ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
CACHE_SUBNET_GROUP = "aws:elasticache/subnetGroup:SubnetGroup"
ROUTE_TARGETS_OUTSIDE = ("gatewayId", "natGatewayId", "transitGatewayId", "vpcPeeringConnectionId",
                         "egressOnlyGatewayId", "networkInterfaceId", "carrierGatewayId", "localGatewayId",
                         "coreNetworkArn")
"""Route targets that lead out of the VPC (the `local` route is implicit; gateway endpoints add prefix-list routes of
their own, to one AWS service, through the endpoint's `routeTableIds`)."""


def _data_subnet_groups(resources: list[PolicyResource]) -> list[PolicyResource]:
    groups: dict[str, PolicyResource] = {}
    for store, prop in ((RDS_INSTANCE, "dbSubnetGroupName"), ("aws:rds/cluster:Cluster", "dbSubnetGroupName"),
                        (REPLICATION_GROUP, "subnetGroupName"), ("aws:elasticache/cluster:Cluster", "subnetGroupName")):
        for instance in of_type(resources, store):
            for group in linked(instance, prop):
                groups[group.urn] = group
    return list(groups.values())


def _leads_out(route: Any) -> bool:
    return any(route.get(target) for target in ROUTE_TARGETS_OUTSIDE)


def _data_subnets_isolated(args: StackValidationArgs, report: ReportViolation) -> None:
    associations = of_type(args.resources, ROUTE_TABLE_ASSOCIATION)
    routes = of_type(args.resources, ROUTE)
    reported: set[tuple[str, str]] = set()

    def once(message: str, urn: str) -> None:
        if (message, urn) not in reported:
            reported.add((message, urn))
            report(message, urn)

    for group in _data_subnet_groups(args.resources):
        for subnet in linked(group, "subnetIds"):
            tables = [t for a in associations if subnet in linked(a, "subnetId") for t in linked(a, "routeTableId")]
            if not tables:
                once(f"data subnet {subnet.name} has no route table of the stack: it would use the VPC's main route "
                     "table", group.urn)
            for table in tables:
                ways_out = [r for r in routes if table in linked(r, "routeTableId") and _leads_out(r.props)]
                for route in ways_out:
                    once(f"route gives the data tier a way out of the VPC (route table {table.name} of data subnet "
                         f"{subnet.name})", route.urn)
                if ways_out or any(_leads_out(r) for r in as_list(table.props.get("routes"))):
                    once(f"data stores sit in subnet {subnet.name}, whose route table {table.name} leads out of the "
                         "VPC: the data tier must have no route out", group.urn)


# --- VPC endpoint policies: the data perimeter --------------------------------------------------------------------

ENDPOINT_POLICY_SERVICES = frozenset({
    "s3", "dynamodb", "ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms", "sts", "ssm", "monitoring",
    "elasticache",
})
"""Services whose VPC endpoints take an endpoint policy: an endpoint to one of them must carry the data perimeter,
since without a policy an endpoint allows full access ("Control access to VPC endpoints using endpoint policies",
https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html). Each service's own guide says it
supports one: gateway endpoints for S3 and DynamoDB (https://docs.aws.amazon.com/vpc/latest/privatelink/
gateway-endpoints.html); ECR (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html, "Create
an endpoint policy"); CloudWatch Logs, CloudWatch (monitoring), Secrets Manager, KMS, STS, Systems Manager and the
ElastiCache API ("VPC endpoint policies are supported for ElastiCache API endpoints",
https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/elasticache-privatelink.html). Every interface endpoint
the stacks can list (components/network.py INTERFACE_ENDPOINT_SERVICES) is here; a test keeps it so. The list of
AWS services that integrate with PrivateLink is https://docs.aws.amazon.com/vpc/latest/privatelink/
aws-services-privatelink-support.html. A service left out may still carry a policy: it is checked the same way."""
SERVICE_NAME = re.compile(r"(?:^|\.)com\.amazonaws\.([a-z0-9-]+)\.(.+)$")
ECR_LAYER_BUCKET = re.compile(r"^arn:aws[a-z-]*:s3:::prod-([a-z0-9-]+)-starport-layer-bucket/\*$")
"""ECR's own layer bucket (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
#ecr-minimum-s3-perms): its downloads are presigned by ECR's account, so no principal condition could match."""
PRINCIPAL_CONFINING_KEYS = ("aws:principalaccount", "aws:principalorgid")
PRINCIPAL_CONFINING_OPERATORS = ("stringequals", "stringequalsignorecase", "stringlike")


def endpoint_service(service_name: str) -> tuple[str, str]:
    """(region, service) of an AWS service endpoint name (`com.amazonaws.<region>.<service>`); ("", name) else."""
    found = SERVICE_NAME.search(service_name)
    return (found.group(1), found.group(2)) if found else ("", service_name)


def _conditions(statement: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """The statement's conditions, operators and keys lowercased (IAM compares condition keys case-insensitively)."""
    out: dict[str, dict[str, list[Any]]] = {}
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return out
    for operator, block in condition.items():
        if isinstance(block, dict):
            out.setdefault(str(operator).lower(), {}).update({str(k).lower(): as_list(v) for k, v in block.items()})
    return out


def _confined(statement: dict[str, Any], service: str, region: str) -> bool:
    """An Allow statement admits only this account's (or organization's) principals, only AWS services, or only
    ECR's layer downloads."""
    conditions = _conditions(statement)
    for operator in PRINCIPAL_CONFINING_OPERATORS:
        for key in PRINCIPAL_CONFINING_KEYS:
            values = conditions.get(operator, {}).get(key, [])
            if values and all(isinstance(v, str) and v and "*" not in v for v in values):
                return True
    if [str(v).lower() for v in conditions.get("bool", {}).get("aws:principalisawsservice", [])] == ["true"]:
        return True
    if service != "s3" or "NotAction" in statement or "NotResource" in statement:
        return False
    actions, resources = as_list(statement.get("Action")), as_list(statement.get("Resource"))
    bucket = ECR_LAYER_BUCKET.match(str(resources[0])) if len(resources) == 1 else None
    return actions == ["s3:GetObject"] and bucket is not None and (not region or bucket.group(1) == region)


def _endpoint_data_perimeter(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    service_name = str(props.get("serviceName") or "")
    region, service = endpoint_service(service_name)
    policy = props.get("policy")
    if policy is None or policy == "":
        if service in ENDPOINT_POLICY_SERVICES:
            report(f"the {service} endpoint ({service_name}) carries no endpoint policy: {service} takes one, and "
                   "without it the endpoint admits any principal to any resource (the data perimeter: "
                   "aws:PrincipalAccount and aws:ResourceAccount conditions)", None)
        return
    doc = document(policy)
    if not isinstance(doc, dict):
        report(f"the {service} endpoint's policy is not a JSON policy document", None)
        return
    for index, statement in enumerate(statements(doc)):
        if statement.get("Effect") != "Allow" or _confined(statement, service, region):
            continue
        label = statement.get("Sid") or f"#{index}"
        layers = (f", and is not s3:GetObject on ECR's layer bucket (prod-{region or '<region>'}-starport-layer-"
                  "bucket/*)") if service == "s3" else ""
        report(f"the {service} endpoint's policy statement {label} allows any principal: it has no "
               f"aws:PrincipalAccount or aws:PrincipalOrgID condition and no aws:PrincipalIsAWSService true "
               f"condition{layers}", None)


RULES += [
    stack_rule(
        "data-subnets-isolated", area="network", check=_data_subnets_isolated,
        summary="The subnets of database and cache subnet groups have no route out of the VPC (no internet or NAT "
                "gateway, no peering)",
        reference="seed: network isolation, database security (restricted access); cdk-nag "
                  "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW (companion)",
        guards=[Guard("routeTableId", Relink("routeTableId", ROUTE_TABLE, When("tags.tier", "data")), types=(ROUTE,),
                      where=When("natGatewayId"), note="routes out of the VPC stay off the data tier's route tables"),
                Guard("subnetIds", Relink("subnetIds", SUBNET, When("tags.tier", "app")),
                      types=(DB_SUBNET_GROUP, CACHE_SUBNET_GROUP), note="data stores sit in the isolated subnets")]),
    settings_rule(
        "security-group-descriptions", area="network", types=[SECURITY_GROUP, INGRESS_RULE, EGRESS_RULE, LEGACY_RULE],
        summary="Security groups and their rules say what they admit (description), in the characters EC2 accepts",
        reference="seed: firewall rules (minimal required ports open); cdk-nag EC27; Checkov CKV_AWS_23; AWS: "
                  "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html (Description)",
        settings=[Setting("description", Present(weak=MISSING)),
                  # "Constraints: Up to 255 characters in length. Allowed characters are a-z, A-Z, 0-9, spaces, and
                  # ._-:/()#,@[]+=&;{}!$*" (an apostrophe fails AuthorizeSecurityGroupIngress mid-deploy).
                  Setting("description", Matches(DESCRIPTION_CHARACTERS, weak="HTTPS from CloudFront's edge",
                                                 text="has a character EC2 refuses in a description (allowed: "
                                                      "letters, digits, spaces, ._-:/()#,@[]+=&;{}!$*; 255 at most)"),
                          required=False)]),
    resource_rule(
        "security-group-egress-restricted", area="network", types=EGRESS_TYPES, check=_egress_restricted,
        summary="Egress to address ranges (the internet, the VPC) names a protocol and only allowed ports; "
                "everything else goes to security groups",
        reference="seed: firewall rules (minimal required ports open); Checkov CKV_AWS_382",
        schema={"allowedPorts": {"type": "array", "items": {"type": "integer"}, "default": ALLOWED_EGRESS_PORTS,
                                 "description": "Ports egress to address ranges may use."}},
        guards=[Guard("ipProtocol", To("-1"), types=(EGRESS_RULE,), where=ADDRESS_RANGE),
                Guard("fromPort", To(0), types=(EGRESS_RULE,), where=ADDRESS_RANGE),
                Guard("toPort", To(65535), types=(EGRESS_RULE,), where=ADDRESS_RANGE)]),
    resource_rule(
        "vpc-endpoint-data-perimeter", area="network", types=[VPC_ENDPOINT], check=_endpoint_data_perimeter,
        summary="VPC endpoints to services that take an endpoint policy carry one, and its every Allow is confined to "
                "this account's or organization's principals, to AWS services, or to ECR's layer downloads",
        reference="seed: network isolation; AWS data perimeter (https://github.com/aws-samples/data-perimeter-policy-"
                  "examples); AWS: https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html",
        guards=[Guard("policy", DELETE, note="the endpoint's data perimeter"),
                Guard("policy<json>.Statement[*].Condition", DELETE, each=True,
                      note="what confines each statement's principals")]),
    settings_rule(
        "vpc-endpoint-private-dns", area="network", types=[VPC_ENDPOINT],
        summary="Interface endpoints answer the AWS service names privately (private DNS), so calls stay in the VPC",
        reference="seed: network isolation (VPC with private subnets)",
        settings=[Setting("privateDnsEnabled", Is(True), where=When("vpcEndpointType", "Interface"))]),
    settings_rule(
        "vpc-flow-logs-all-traffic", area="network", types=[FLOW_LOG],
        summary="Flow logs record all traffic, accepted and rejected",
        reference="seed: VPC flow logs; cdk-nag VPC7; Checkov CKV2_AWS_11 (companion)",
        settings=[Setting("trafficType", Is("ALL", weak="REJECT"))]),
]
