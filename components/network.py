"""VPC with three tiers per AZ: public (ALB, NAT), private app (ECS tasks), isolated data (RDS, Redis).

CIDR plan — stable by construction. The VPC is cut into fixed tier blocks and each AZ takes the slot of its
*letter* (a=0, b=1, ...), never its position in a list. Adding an AZ, removing one or reordering `azNames`
therefore never renumbers an existing subnet (the awsx#1204 / #520 failure mode). For a /16:

    app    10.x.0.0/17  -> 8 slots of /20 (4,096 addresses each; Fargate tasks take one IP each)
    data   10.x.128.0/18 -> 8 slots of /21 (2,048)
    public 10.x.192.0/19 -> 8 slots of /22 (1,024; ALB nodes, NAT gateways)
    spare  10.x.224.0/19 -> reserved for a future tier (e.g. a second data plane)

Logical names carry the tier and the AZ name (`network-app-us-east-1a`), so counts can change without index churn.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, assume_role_policy, named_tags, policy_json
from components.connections import Connections, Peer, grant_from
from components.constants import PROJECT
from components.settings import Rules, require_valid, setting

Tier = Literal["public", "app", "data"]
TIERS: tuple[Tier, ...] = ("public", "app", "data")
# (offset of the tier block in sixteenths of the VPC, extra prefix bits of one slot relative to the VPC)
_TIER_LAYOUT: dict[Tier, tuple[int, int]] = {"app": (0, 4), "data": (8, 5), "public": (12, 6)}
SLOTS_PER_TIER = 8


def az_slot(az_name: str) -> int:
    """The fixed slot of an AZ: its letter's position (us-east-1a -> 0)."""
    slot = ord(az_name[-1]) - ord("a")
    if not 0 <= slot < SLOTS_PER_TIER:
        raise ValueError(f"AZ {az_name!r} has no slot: its name must end in a letter a-h")
    return slot


def subnet_cidr(vpc_cidr: str, tier: Tier, az_name: str) -> str:
    """The CIDR of one subnet in the stable plan."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    block_offset, extra_bits = _TIER_LAYOUT[tier]
    tier_base = int(vpc.network_address) + block_offset * (vpc.num_addresses // 16)
    slot_size = vpc.num_addresses >> extra_bits
    base = ipaddress.IPv4Address(tier_base + az_slot(az_name) * slot_size)
    return str(ipaddress.IPv4Network((base, vpc.prefixlen + extra_bits)))


def tier_cidr(vpc_cidr: str, tier: Tier) -> str:
    """The block that holds every slot of one tier, present and future (for a /16: app 10.x.0.0/17)."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    block_offset, extra_bits = _TIER_LAYOUT[tier]
    base = ipaddress.IPv4Address(int(vpc.network_address) + block_offset * (vpc.num_addresses // 16))
    slot_bits = (SLOTS_PER_TIER - 1).bit_length()  # 8 slots: the block is 3 bits wider than one slot
    return str(ipaddress.IPv4Network((base, vpc.prefixlen + extra_bits - slot_bits)))


def pick_availability_zones(count: int, pinned: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The pinned AZs, or the region's first `count` standard AZs (looked up at deploy time; pin them once known)."""
    if pinned:
        return pinned
    zones = aws.get_availability_zones(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
    )
    return tuple(sorted(zones.names)[:count])


NatStrategy = Literal["perAz", "single", "none"]
INTERFACE_ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms", "monitoring", "sts",
                               "elasticache")
TASK_START_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
"""What Fargate tasks in a subnet without a NAT route need to start: pull images, ship logs, read secrets."""
ENDPOINTS_NEEDED_WITHOUT_NAT = (*TASK_START_ENDPOINTS, "elasticache")
"""Those, plus the ElastiCache API the redis-rotation function calls (ModifyUser; components/credentials.py)."""
DEFAULT_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr")
"""With NAT: the registry's endpoints only, for cost. Image pulls are the heavy AWS traffic (every task start), cheaper
through an endpoint ($0.01/GB) than through NAT ($0.045/GB); logs and Secrets Manager calls are a few GB a month,
where their two endpoints would cost $14.60 a month per AZ. It buys no resilience: a task still needs its AZ's NAT
gateway to start (it reads its secrets and its log driver writes to CloudWatch Logs; TASK_START_ENDPOINTS)."""
MAX_AZS = 6
FLOW_LOG_FIELDS = (
    # version 2 (the default format, in its order), without account-id: one account per log group
    "version", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes",
    "start", "end", "action", "log-status",
    # version 3: where the interface sits, connection state, and the original addresses behind a NAT gateway
    "subnet-id", "tcp-flags", "pkt-srcaddr", "pkt-dstaddr",
    # version 4: the zone (ids are the same in every account; names are not)
    "az-id",
    # version 5: which AWS service an address belongs to, the direction, and the path egress took (NAT, endpoint, ...)
    "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path",
)
"""The flow-log record: every field up to version 5 that says something in this VPC, for incident response (who talked
to whom, through which path, accepted or not). Left out: what is the same on every record of the log group, which
belongs to one VPC of one account in one region (account-id, vpc-id, region, and type: the VPC has no IPv6), since
ingestion is billed by the byte; instance-id (no EC2 instances: '-' for Fargate and the managed services'
interfaces); the sublocation fields (no Outposts, Local or Wavelength Zones). All are valid for a CloudWatch Logs
destination ("Available fields",
https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html#flow-logs-fields). The format cannot be
changed on an existing flow log: a change here replaces it (flow-logs-limitations.html)."""
FLOW_LOG_FORMAT = " ".join(f"${{{name}}}" for name in FLOW_LOG_FIELDS)


def ecr_layer_bucket(partition: str, region: str) -> str:
    """The AWS-owned bucket ECR serves image layers from ("Minimum Amazon S3 bucket permissions for Amazon ECR",
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-minimum-s3-perms)."""
    return f"arn:{partition}:s3:::prod-{region}-starport-layer-bucket/*"


def endpoint_policy(service: str, *, account_id: str, partition: str, region: str,
                    registry_accounts: Sequence[str] = ()) -> dict[str, object]:
    """The data perimeter of one VPC endpoint: requests from this account's principals to this account's resources
    (AWS's pattern: aws:PrincipalAccount / aws:ResourceAccount, https://github.com/aws-samples/data-perimeter-policy-
    examples/tree/main/vpc_endpoint_policies), plus what the stack needs beyond it:

    * ECR (ecr.api, ecr.dkr): the foundation's registry, which may be another account (organization layout): its
      account counts as a resource account (tasks pull only from it: components/images.py refuses other registries).
    * S3: GetObject on ECR's layer bucket from any principal. The bucket is AWS's and the download is a presigned URL
      ECR's own account signs, so neither condition could match (ECR user guide, minimum S3 permissions; AWS's data
      perimeter examples, "Creation of containers with Amazon ECR images").
    * AWS service principals, as in every one of AWS's examples (services rarely call from a VPC; none here does).

    The resource condition is IfExists: an action without a resource (ecr:GetAuthorizationToken,
    cloudwatch:PutMetricData, sts:GetCallerIdentity) has no resource account to compare, and what it reaches is the
    caller's own account, which the principal condition already pins. A request by another account's credentials, or
    to another account's bucket, secret, key, log group or repository, is refused at the endpoint."""
    resource_accounts = list(dict.fromkeys([account_id, *(registry_accounts if service.startswith("ecr.") else ())]))
    statements: list[dict[str, object]] = [{
        "Sid": "OwnPrincipalsToOwnResources", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": [account_id]},
                      "StringEqualsIfExists": {"aws:ResourceAccount": resource_accounts}},
    }, {
        "Sid": "AwsServicePrincipals", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
        "Condition": {"Bool": {"aws:PrincipalIsAWSService": "true"}},
    }]
    if service == "s3":
        statements.append({"Sid": "EcrImageLayers", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                           "Resource": ecr_layer_bucket(partition, region)})
    return {"Version": "2012-10-17", "Statement": statements}


def check_vpc_cidr(value: str) -> str | None:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        return f"must be an IPv4 network in CIDR notation with no host bits set ({error})"
    if network.version != 4 or not 16 <= network.prefixlen <= 20:
        return "must be an IPv4 CIDR from /16 to /20"
    if not network.is_private:
        return "must be a private (RFC 1918) range"
    return None


@dataclass(frozen=True, kw_only=True)
class NetworkSettings:
    """The configurable part of the network."""

    vpc_cidr: str = setting(
        "vpcCidr", "10.0.0.0/16", "IPv4 CIDR of the VPC, /16 to /20. Subnets are carved from fixed slots per tier and "
        "AZ letter, so adding an AZ never renumbers one. Fixed after the first deploy: a new CIDR replaces the VPC and "
        "everything in it, and RDS cannot move a Multi-AZ or replicated database to another VPC.",
        check=check_vpc_cidr)
    az_count: int = setting(
        "azCount", 3, "Number of Availability Zones to span (1-6; prod needs at least 2).", minimum=1, maximum=MAX_AZS)
    az_names: tuple[str, ...] = setting(
        "azNames", (), "Pinned AZ names (e.g. [us-east-1a, us-east-1b, us-east-1c]). Empty: the first azCount "
        "available AZs of the region, looked up at deploy time; pin them once known.")
    nat_gateways: NatStrategy = setting(
        "natGateways", "perAz", "NAT strategy for the private app tier: perAz (one NAT per AZ, survives an AZ "
        "outage), single (one shared NAT, cheap) or none (no internet egress, AWS APIs through endpoints only: for a "
        "workload without third-party calls; Maratron's stacks refuse it, its servers call Anthropic, the weather API "
        "and Sentry).")
    interface_endpoints: tuple[str, ...] = setting(
        "interfaceEndpoints", DEFAULT_INTERFACE_ENDPOINTS, "Interface VPC endpoints to create in the app tier (any "
        "of ecr.api, ecr.dkr, logs, secretsmanager, kms, monitoring, sts, elasticache). The S3 gateway endpoint is "
        "always created (it is free).", choices=INTERFACE_ENDPOINT_SERVICES)

    def validate(self, rules: Rules) -> None:
        if self.az_names and len(self.az_names) != self.az_count:
            rules.problem("az_names", f"must list exactly {rules.key('az_count')} ({self.az_count}) AZs, or be empty",
                          also=["az_count"])
        missing = [s for s in ENDPOINTS_NEEDED_WITHOUT_NAT if s not in self.interface_endpoints]
        if self.nat_gateways == "none" and missing:
            rules.problem("interface_endpoints", f"with {rules.key('nat_gateways')}=none, must include "
                          f"{', '.join(missing)} (Fargate tasks pull images, ship logs and read secrets through "
                          "them; the redis-rotation function calls ElastiCache)",
                          also=["nat_gateways"])


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of Network."""

    context: AwsContext
    """Account, partition and region."""
    flow_log_key: aws.kms.Key
    """CMK that encrypts the flow-log group (EncryptionKeys.logs)."""
    log_retention_days: int
    """Retention of the flow-log group."""
    settings: NetworkSettings = field(default_factory=NetworkSettings)
    """CIDR, AZs, NAT strategy and interface endpoints; default: the production layout (3 AZs, a NAT per AZ)."""
    registry_accounts: Sequence[pulumi.Input[str]] = ()
    """Accounts whose ECR registries the tasks pull from (the foundation's registryId), when not this account: the
    ECR endpoints' policies admit their repositories (endpoint_policy)."""
    name_prefix: str = PROJECT
    """Readable prefix for Name tags and the flow-log group name."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        require_valid(self.settings)
        for name in self.settings.az_names:
            az_slot(name)


class EndpointPlacementError(ValueError):
    """An interface endpoint's service is offered in none of the stack's AZs."""


class Network(pulumi.ComponentResource):
    """The VPC, its subnets, gateways, route tables, flow logs and VPC endpoints."""

    vpc: aws.ec2.Vpc
    subnets: dict[Tier, dict[str, aws.ec2.Subnet]]
    """tier -> AZ name -> subnet."""
    route_tables: dict[Tier, dict[str, aws.ec2.RouteTable]]
    """tier -> AZ name -> route table (one per tier and AZ, so each AZ's egress is independent)."""
    nat_gateways: dict[str, aws.ec2.NatGateway]
    """AZ name -> NAT gateway (one per AZ, one in total, or none)."""
    app_egress: list[pulumi.Resource]
    """What the app tier reaches AWS APIs and the internet through: its NAT routes and the interface endpoints (a
    function that calls AWS at deploy time waits for them)."""
    endpoint_security_group: aws.ec2.SecurityGroup
    """Admits 443 from the app tier to the interface endpoints; nothing else."""
    flow_log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:network:Network", name, None, opts)
        self._name = name
        self._args = args
        self._az_names = pick_availability_zones(args.settings.az_count, args.settings.az_names)
        for az in self._az_names:
            az_slot(az)
        child = pulumi.ResourceOptions(parent=self)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.settings.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=self._tags("vpc"),
            opts=child,
        )
        vpc_child = pulumi.ResourceOptions(parent=self.vpc)
        # Adopted and stripped of its allow-all rules, so nothing can use it by accident (CKV2_AWS_12, EC2 VPC7).
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[],
            tags=self._tags("default-closed"), opts=vpc_child,
        )
        internet_gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=self._tags("igw"), opts=vpc_child)

        self.subnets = {tier: {} for tier in TIERS}
        self.route_tables = {tier: {} for tier in TIERS}
        for tier in TIERS:
            for az in self.az_names:
                subnet = aws.ec2.Subnet(
                    f"{name}-{tier}-{az}",
                    vpc_id=self.vpc.id,
                    cidr_block=subnet_cidr(args.settings.vpc_cidr, tier, az),
                    availability_zone=az,
                    map_public_ip_on_launch=False,  # nothing here gets a public IP implicitly (CKV_AWS_130)
                    tags={**self._tags(f"{tier}-{az}"), "tier": tier},
                    opts=vpc_child,
                )
                table = aws.ec2.RouteTable(
                    f"{name}-{tier}-{az}", vpc_id=self.vpc.id, tags={**self._tags(f"{tier}-{az}"), "tier": tier},
                    opts=vpc_child,
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-{tier}-{az}", subnet_id=subnet.id, route_table_id=table.id,
                    opts=pulumi.ResourceOptions(parent=table),
                )
                self.subnets[tier][az] = subnet
                self.route_tables[tier][az] = table

        self._internet_routes = {az: aws.ec2.Route(
            f"{name}-public-{az}-internet", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
            gateway_id=internet_gateway.id, opts=pulumi.ResourceOptions(parent=table),
        ) for az, table in self.route_tables["public"].items()}

        self.nat_gateways = self._nat_gateways(internet_gateway)
        self.app_egress = []
        for az, table in self.route_tables["app"].items():
            if not self.nat_gateways:
                break
            nat = self.nat_gateways.get(az) or next(iter(self.nat_gateways.values()))
            self.app_egress.append(aws.ec2.Route(
                f"{name}-app-{az}-internet", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat.id, opts=pulumi.ResourceOptions(parent=table),
            ))
        # The data tier gets no route beyond the VPC's local one: no NAT, no IGW, no endpoints.

        self.flow_log_group = self._flow_logs()
        self.endpoint_security_group = self._endpoints()

        self.register_outputs({
            "vpcId": self.vpc.id,
            "publicSubnetIds": self.subnet_ids("public"),
            "appSubnetIds": self.subnet_ids("app"),
            "dataSubnetIds": self.subnet_ids("data"),
        })

    # --- capabilities -------------------------------------------------------------------------------------------

    def _endpoint_subnets(self, service_name: str, zones: Sequence[str]) -> list[pulumi.Output[str]]:
        """The app subnets in the AZs `service_name` is offered in; none is an error naming both lists."""
        subnets = [self.subnets["app"][az].id for az in self.az_names if az in zones]
        if not subnets:
            raise EndpointPlacementError(f"interface endpoint {service_name} is offered in {', '.join(zones)}, none "
                                         f"of this stack's AZs ({', '.join(self.az_names)}): choose azNames where it "
                                         "is, or leave it out of interfaceEndpoints")
        return subnets

    def subnet_ids(self, tier: Tier) -> list[pulumi.Output[str]]:
        """Subnet ids of one tier, in AZ order. A public subnet's id is ready once the subnet routes to the internet
        gateway: an internet-facing load balancer created before the gateway is attached is refused ("VPC ... has no
        internet gateway", InvalidSubnet; CloudFormation's DependsOn guidance lists Elastic Load Balancing load
        balancers among the resources that need the gateway attachment first:
        https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html)."""
        if tier == "public":
            return [pulumi.Output.all(self.subnets[tier][az].id, self._internet_routes[az].id).apply(lambda ids: ids[0])
                    for az in self.az_names]
        return [self.subnets[tier][az].id for az in self.az_names]

    def route_table_ids(self, tier: Tier) -> list[pulumi.Output[str]]:
        """Route table ids of one tier, in AZ order."""
        return [self.route_tables[tier][az].id for az in self.az_names]

    @property
    def az_names(self) -> tuple[str, ...]:
        """The AZs the network spans, in order (pinned in settings, or looked up at deploy time)."""
        return self._az_names

    # --- parts --------------------------------------------------------------------------------------------------

    def _tags(self, suffix: str) -> dict[str, str]:
        return named_tags(self._args.tags, f"{self._args.name_prefix}-{suffix}")

    def _nat_gateways(self, internet_gateway: aws.ec2.InternetGateway) -> dict[str, aws.ec2.NatGateway]:
        strategy = self._args.settings.nat_gateways
        if strategy == "none":
            return {}
        azs = self.az_names if strategy == "perAz" else self.az_names[:1]
        gateways: dict[str, aws.ec2.NatGateway] = {}
        for az in azs:
            public_subnet = self.subnets["public"][az]
            # A public NAT gateway needs the VPC's internet gateway attached, or it ends Failed ("Network vpc-... has
            # no internet gateway attached"; NAT gateway troubleshooting, VPC user guide): nothing else orders them.
            after_igw = pulumi.ResourceOptions(parent=public_subnet, depends_on=[internet_gateway])
            address = aws.ec2.Eip(
                f"{self._name}-nat-{az}", domain="vpc", tags=self._tags(f"nat-{az}"), opts=after_igw)
            gateways[az] = aws.ec2.NatGateway(
                f"{self._name}-nat-{az}", subnet_id=public_subnet.id, allocation_id=address.allocation_id,
                connectivity_type="public", tags=self._tags(f"nat-{az}"), opts=after_igw)
        return gateways

    def _flow_logs(self) -> aws.cloudwatch.LogGroup:
        args = self._args
        ctx = args.context
        parent = pulumi.ResourceOptions(parent=self.vpc)
        group = aws.cloudwatch.LogGroup(
            f"{self._name}-flow-logs",
            name=f"/{args.name_prefix}/vpc/flow-logs",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.flow_log_key.arn,
            tags=self._tags("flow-logs"),
            opts=parent,
        )
        role = aws.iam.Role(
            f"{self._name}-flow-logs",
            description="Lets VPC Flow Logs deliver to the stack's flow-log group",
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com", source_account=ctx.account_id),
            tags=self._tags("flow-logs"),
            opts=parent,
        )
        # Delivery checks the role when the flow log is created: it waits for the policy, not just the role.
        policy = aws.iam.RolePolicy(
            f"{self._name}-flow-logs",
            role=role.id,
            policy=policy_json([{
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [group.arn, group.arn.apply(lambda arn: f"{arn}:*")],
            }, {
                # In AWS's stated minimum for the role (flow-logs-iam-role.html) and not scopable to a group (it
                # lists the account's groups); CreateLogGroup, also listed, is left out: the group exists first.
                "Effect": "Allow",
                "Action": ["logs:DescribeLogGroups"],
                "Resource": "*",
            }]),
            opts=pulumi.ResourceOptions(parent=role),
        )
        aws.ec2.FlowLog(
            f"{self._name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            log_format=FLOW_LOG_FORMAT,
            max_aggregation_interval=60,
            tags=self._tags("flow-log"),
            # A format change replaces the flow log (no update API). Created first, the new one would write to the
            # same group and streams as the old one, or be refused as a duplicate (FlowLogAlreadyExists, "the same
            # configuration and log destination"): the old one goes first, a few seconds without records.
            opts=pulumi.ResourceOptions(parent=self.vpc, depends_on=[policy], delete_before_replace=True),
        )
        return group

    def _endpoint_policy(self, service: str) -> pulumi.Output[str]:
        ctx = self._args.context
        return pulumi.Output.all(*self._args.registry_accounts).apply(lambda registries: json.dumps(endpoint_policy(
            service, account_id=ctx.account_id, partition=ctx.partition, region=ctx.region,
            registry_accounts=[str(r) for r in registries])))

    def _endpoints(self) -> aws.ec2.SecurityGroup:
        args = self._args
        region = args.context.region
        parent = pulumi.ResourceOptions(parent=self.vpc)
        # S3 gateway endpoint: free, and ECR image layers are served from S3, so pulls never cross the NAT.
        self.app_egress.append(aws.ec2.VpcEndpoint(  # the app subnets' route to S3 (image layers, backups)
            f"{self._name}-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=self.route_table_ids("app"),
            policy=self._endpoint_policy("s3"),
            tags=self._tags("s3"),
            opts=parent,
        ))
        security_group = aws.ec2.SecurityGroup(
            f"{self._name}-endpoints",
            vpc_id=self.vpc.id,
            description="Interface VPC endpoints: HTTPS from inside the VPC only",
            tags=self._tags("endpoints"),
            opts=parent,
        )
        # Only the app tier calls AWS APIs: every workload with HTTPS egress (the ECS services, the migration, backup
        # and drill tasks, the rotation functions) runs in the app subnets. The data tier holds RDS, ElastiCache and
        # RDS Proxy, whose security groups send nothing to 443; the public tier holds the ALB and the NAT gateways.
        # The tier block (not each subnet) so a new AZ's app subnet is admitted without another rule. The logical
        # name keeps "from-vpc" and the group its description: a changed CIDR is modified in place
        # (ModifySecurityGroupRules), while a new name or group description (no update API) would replace them.
        self.app_egress.append(grant_from(  # the endpoints refuse 443 until it exists
            Peer("the app tier", cidr_ipv4=tier_cidr(args.settings.vpc_cidr, "app")),
            Connections(security_group, label="endpoints"), 443, name=f"{self._name}-endpoints-https-from-vpc",
            description="HTTPS from the app tier", tags=self._tags("endpoints-https-from-app")))
        for service in args.settings.interface_endpoints:
            service_name = f"com.amazonaws.{region}.{service}"
            # CreateVpcEndpoint refuses a subnet in an AZ the service is not offered in ("The VPC endpoint service
            # ... does not support the Availability Zone of the subnet"), and AZ names map to different zones in
            # each account: the offer is looked up (as CDK's lookupSupportedAzs does). Private DNS answers the other
            # AZs with the endpoint's addresses, across zones.
            offered = aws.ec2.get_vpc_endpoint_service_output(service_name=service_name, service_type="Interface",
                                                              opts=pulumi.InvokeOptions(parent=self))
            self.app_egress.append(aws.ec2.VpcEndpoint(
                f"{self._name}-{service.replace('.', '-')}",
                vpc_id=self.vpc.id,
                service_name=service_name,
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=offered.availability_zones.apply(functools.partial(self._endpoint_subnets, service_name)),
                security_group_ids=[security_group.id],
                # Where the service takes no endpoint policy (the lookup says so), none is sent: the endpoint then
                # allows full access, as AWS documents for such services.
                policy=pulumi.Output.all(offered.vpc_endpoint_policy_supported, self._endpoint_policy(service)).apply(
                    lambda values: values[1] if values[0] else None),
                tags=self._tags(f"endpoint-{service}"),
                opts=parent,
            ))
        return security_group
