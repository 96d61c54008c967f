"""What the offline engine answers in place of AWS: deterministic ids, ARNs and the computed attributes programs read.

Values are plausible (real id prefixes, ARN shapes, endpoint formats) and deterministic (derived from the
resource's name), so two runs of the same stack produce the same inventory. Extend COMPUTED when a component reads
an attribute the provider computes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

ACCOUNT_ID = "123456789012"
PARTITION = "aws"

# Physical-id prefixes AWS uses, so ids in the inventory read like real ones.
ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/flowLog:FlowLog": "fl-",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
    "aws:amp/workspace:Workspace": "ws-",
    "aws:grafana/workspace:Workspace": "g-",
}


def _digest(text: str, length: int = 17) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _module(type_: str) -> str:
    """aws:ec2/vpc:Vpc -> ec2."""
    return type_.split(":")[1].split("/")[0]


Computed = Callable[[str, dict[str, Any], "OfflineMocks"], dict[str, Any]]


def _rds_instance(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    identifier = inputs.get("identifier") or f"{name}-{_digest(name, 7)}"
    address = f"{identifier}.c{_digest(m.region, 10)}.{m.region}.rds.amazonaws.com"
    port = inputs.get("port") or 5432
    return {"identifier": identifier, "address": address, "endpoint": f"{address}:{port}", "port": port,
            "resourceId": f"db-{_digest(name, 26).upper()}", "hostedZoneId": "Z2R2ITUGPM61AM",
            "arn": m.arn("rds", f"db:{identifier}")}


def _replication_group(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    group_id = inputs.get("replicationGroupId") or name
    base = f"{group_id}.{_digest(name, 6)}.{m.region_code}.cache.amazonaws.com"
    state: dict[str, Any] = {"primaryEndpointAddress": f"master.{base}", "readerEndpointAddress": f"replica.{base}",
             "port": inputs.get("port") or 6379, "memberClusters": []}
    if inputs.get("clusterMode") == "enabled" or (inputs.get("numNodeGroups") or 1) > 1:
        state["configurationEndpointAddress"] = f"clustercfg.{base}"
    return state


def _load_balancer(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    suffix = f"app/{inputs.get('name') or name}/{_digest(name, 16)}"
    return {"dnsName": f"{name}-{_digest(name, 9)}.{m.region}.elb.amazonaws.com", "zoneId": "Z35SXDOTRQ7X7K",
            "arnSuffix": suffix, "arn": m.arn("elasticloadbalancing", f"loadbalancer/{suffix}")}


def _target_group(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    suffix = f"targetgroup/{inputs.get('name') or name[:32]}/{_digest(name, 16)}"
    return {"arnSuffix": suffix, "arn": m.arn("elasticloadbalancing", suffix)}


def _bucket(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix') or name + '-'}{_digest(name, 12)}"
    return {"bucket": bucket, "arn": f"arn:{PARTITION}:s3:::{bucket}",
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{bucket}.s3.{m.region}.amazonaws.com"}


def _log_group(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    group = inputs.get("name") or f"{name}-{_digest(name, 7)}"
    return {"name": group, "arn": m.arn("logs", f"log-group:{group}")}


def _secret(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    secret = inputs.get("name") or f"{name}-{_digest(name, 7)}"
    return {"name": secret, "arn": m.arn("secretsmanager", f"secret:{secret}-{_digest(name, 6)}")}


def _random_text(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    length = int(inputs.get("length") or 32)
    classes = {"lower": "abcdefghijklmnopqrstuvwxyz", "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "numeric": "0123456789"}
    alphabet = "".join(chars for kind, chars in classes.items() if inputs.get(kind, True) is not False)
    seed = hashlib.sha256(f"offline-random-{name}".encode()).digest() * (length // 32 + 1)
    return {"result": "".join(alphabet[b % len(alphabet)] for b in seed[:length])}


def _ecr_repository(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    repo = inputs.get("name") or name
    return {"name": repo, "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{m.region}.amazonaws.com/{repo}",
            "registryId": ACCOUNT_ID, "arn": m.arn("ecr", f"repository/{repo}")}


def _task_definition(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    family = inputs.get("family") or name
    base = m.arn("ecs", f"task-definition/{family}")
    return {"arn": f"{base}:1", "arnWithoutRevision": base, "revision": 1}


def _docker_image(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    image_name = inputs.get("imageName") or name
    repository = image_name.rsplit(":", 1)[0] if "/" not in image_name.rsplit(":", 1)[-1] else image_name
    return {"imageName": image_name, "repoDigest": f"{repository}@sha256:{hashlib.sha256(name.encode()).hexdigest()}"}
def _certificate(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    domain = inputs.get("domainName") or f"{name}.example.com"
    return {"arn": m.arn("acm", f"certificate/{_uuid(name)}"), "status": "PENDING_VALIDATION",
            "domainValidationOptions": [{
                "domainName": domain, "resourceRecordName": f"_{_digest(name, 32)}.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{_digest(name + 'v', 32)}.validations.aws."}]}


def _listener(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    alb_arn = str(inputs.get("loadBalancerArn") or "")
    suffix = alb_arn.split(":loadbalancer/")[-1] if ":loadbalancer/" in alb_arn else f"app/{name}/0"
    return {"arn": m.arn("elasticloadbalancing", f"listener/{suffix}/{_digest(name, 16)}")}


def _web_acl(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    acl = inputs.get("name") or name
    if inputs.get("scope") == "CLOUDFRONT":  # global ACLs live in us-east-1 and say so in their ARN
        arn = f"arn:{PARTITION}:wafv2:us-east-1:{ACCOUNT_ID}:global/webacl/{acl}/{_uuid(name)}"
    else:
        arn = m.arn("wafv2", f"regional/webacl/{acl}/{_uuid(name)}")
    return {"arn": arn, "capacity": 1000}


def _distribution(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    distribution_id = "E" + _digest(name, 13).upper()
    return {"id": distribution_id, "domainName": f"d{_digest(name + 'cf', 13)}.cloudfront.net",
            "hostedZoneId": "Z2FDTNDATAQYW2", "status": "Deployed", "etag": _digest(name, 14).upper(),
            "arn": f"arn:{PARTITION}:cloudfront::{ACCOUNT_ID}:distribution/{distribution_id}"}


def _log_delivery_part(kind: str) -> Computed:
    def compute(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
        region = inputs.get("region") or m.region
        physical = inputs.get("name") or f"{name}-{_digest(name, 7)}"
        return {"name": physical, "arn": f"arn:{PARTITION}:logs:{region}:{ACCOUNT_ID}:{kind}:{physical}"}
    return compute


def _amp_workspace(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    workspace_id = ID_PREFIXES["aws:amp/workspace:Workspace"] + _digest(f"aws:amp/workspace:Workspace::{name}")
    return {"id": workspace_id, "arn": m.arn("aps", f"workspace/{workspace_id}"),
            "prometheusEndpoint": f"https://aps-workspaces.{m.region}.amazonaws.com/workspaces/{workspace_id}/"}


def _grafana_workspace(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    workspace_id = ID_PREFIXES["aws:grafana/workspace:Workspace"] + _digest(f"aws:grafana/workspace:Workspace::{name}")
    return {"id": workspace_id, "arn": m.arn("grafana", f"/workspaces/{workspace_id}"),
            "endpoint": f"{workspace_id}.grafana-workspace.{m.region}.amazonaws.com"}


def _named(service: str, resource: str) -> Computed:
    def compute(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
        physical = inputs.get("name") or f"{name}-{_digest(name, 7)}"
        return {"name": physical, "arn": m.arn(service, f"{resource}/{physical}")}
    return compute


COMPUTED: dict[str, Computed] = {
    "aws:kms/key:Key": lambda n, i, m: {"keyId": (kid := _uuid(n)), "arn": m.arn("kms", f"key/{kid}")},
    "aws:ec2/eip:Eip": lambda n, i, m: {"allocationId": f"eipalloc-{_digest(n)}", "publicIp": "203.0.113.10"},
    "aws:ec2/vpc:Vpc": lambda n, i, m: {"defaultSecurityGroupId": f"sg-{_digest(n + 'default')}",
                                        "mainRouteTableId": f"rtb-{_digest(n + 'main')}"},
    "aws:iam/role:Role": lambda n, i, m: {"name": (rn := i.get("name") or f"{n}-{_digest(n, 7)}"),
                                          "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{rn}",
                                          "uniqueId": f"AROA{_digest(n, 17).upper()}"},
    "aws:iam/policy:Policy": lambda n, i, m: {"arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:policy/{n}"},
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:ecr/repository:Repository": _ecr_repository,
    "aws:ecs/cluster:Cluster": _named("ecs", "cluster"),
    "aws:ecs/service:Service": _named("ecs", "service"),
    "aws:ecs/taskDefinition:TaskDefinition": _task_definition,
    "aws:servicediscovery/httpNamespace:HttpNamespace": lambda n, i, m: {
        "arn": m.arn("servicediscovery", f"namespace/ns-{_digest(n, 16)}"), "httpName": i.get("name") or n},
    "docker:index/image:Image": _docker_image,
    "aws:sns/topic:Topic": lambda n, i, m: {"arn": m.arn("sns", i.get("name") or n)},
    "aws:rds/parameterGroup:ParameterGroup": lambda n, i, m: {
        "name": (pg := i.get("name") or f"{n}-{_digest(n, 7)}"), "arn": m.arn("rds", f"pg:{pg}")},
    "aws:rds/subnetGroup:SubnetGroup": lambda n, i, m: {
        "name": (sg := i.get("name") or f"{n}-{_digest(n, 7)}"), "arn": m.arn("rds", f"subgrp:{sg}")},
    "aws:route53/zone:Zone": lambda n, i, m: {"zoneId": (zid := f"Z{_digest(n, 20).upper()}"),
                                              "arn": f"arn:{PARTITION}:route53:::hostedzone/{zid}"},
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda n, i, m: {
        "arn": m.arn("cloudwatch", f"alarm:{i.get('name') or n}")},
    "aws:cloudwatch/dashboard:Dashboard": lambda n, i, m: {
        "dashboardArn": f"arn:{PARTITION}:cloudwatch::{ACCOUNT_ID}:dashboard/{i.get('dashboardName') or n}"},
    "random:index/randomPassword:RandomPassword": _random_text,
    "aws:elasticache/subnetGroup:SubnetGroup": lambda n, i, m: {"name": i.get("name") or f"{n}-{_digest(n, 7)}"},
    "aws:elasticache/parameterGroup:ParameterGroup": lambda n, i, m: {
        "name": i.get("name") or f"{n}-{_digest(n, 7)}"},
    # --- edge ---
    "aws:acm/certificate:Certificate": _certificate,
    "aws:lb/listener:Listener": _listener,
    "aws:wafv2/webAcl:WebAcl": _web_acl,
    "aws:route53/record:Record": lambda n, i, m: {"fqdn": str(i.get("name") or n).rstrip(".")},
    "random:index/randomString:RandomString": _random_text,
    # --- disaster recovery ---
    # The provider's id of a backup replication is the ARN of the replicated backups (in the destination region).
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": lambda n, i, m: {
        "id": m.arn("rds", f"auto-backup:ab-{_digest(n, 26).upper()}")},
    "aws:scheduler/schedule:Schedule": lambda n, i, m: {
        "name": (sn := i.get("name") or f"{n}-{_digest(n, 7)}"), "arn": m.arn("scheduler", f"schedule/default/{sn}")},
    # --- CDN ---
    "aws:cloudfront/distribution:Distribution": _distribution,
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": lambda n, i, m: {"id": _uuid(n)},
    "aws:cloudfront/cachePolicy:CachePolicy": lambda n, i, m: {"id": _uuid(n)},
    "aws:cloudwatch/logDeliverySource:LogDeliverySource": _log_delivery_part("delivery-source"),
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination": _log_delivery_part("delivery-destination"),
    # --- app metrics ---
    "aws:amp/workspace:Workspace": _amp_workspace,
    "aws:grafana/workspace:Workspace": _grafana_workspace,
}


def _uuid(name: str) -> str:
    h = _digest(name, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class OfflineMocks(Mocks):
    """Deterministic stand-ins for AWS resources and data sources."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region

    @property
    def region_code(self) -> str:
        """us-east-1 -> use1, as ElastiCache endpoints spell it."""
        parts = self.region.split("-")
        return f"{parts[0]}{parts[1][0]}{parts[-1]}"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{PARTITION}:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        type_, name, inputs = args.typ, args.name, dict(args.inputs)
        if not args.custom:  # components keep no state
            return f"{name}-component", inputs
        physical_id = ID_PREFIXES.get(type_, f"{name}-") + _digest(f"{type_}::{name}")
        # pulumi-aws v7 manages a resource in another region through its `region` input: its ARNs say so.
        where = self if inputs.get("region") in (None, self.region) else OfflineMocks(region=str(inputs["region"]))
        state = {**inputs, "arn": where.arn(_module(type_), f"{type_.split(':')[-1].lower()}/{name}")}
        compute = COMPUTED.get(type_)
        if compute is not None:
            state.update(compute(name, inputs, where))
        physical_id = state.setdefault("id", physical_id)  # a type whose id has its own shape (E..., a UUID)
        # Pulumi auto-names resources with a `name` property: logical name plus a random suffix.
        state.setdefault("name", f"{name}-{_digest(name, 7)}")
        return physical_id, state

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            letters = "abcdef"
            return {"names": [f"{self.region}{x}" for x in letters],
                    "zoneIds": [f"{self.region_code}-az{i + 1}" for i in range(len(letters))],
                    "id": self.region, "groupNames": [self.region]}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/offline",
                    "userId": "AIDAOFFLINE", "id": ACCOUNT_ID}, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION,
                    "reverseDnsPrefix": "com.amazonaws"}, []
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            registry = args.args.get("registryId") or ACCOUNT_ID
            return {"userName": "AWS", "password": "offline-ecr-token", "authorizationToken": "QVdTOm9mZmxpbmU=",
                    "proxyEndpoint": f"https://{registry}.dkr.ecr.{self.region}.amazonaws.com",
                    "expiresAt": "2099-01-01T00:00:00Z", "id": self.region, "registryId": registry}, []
        if token == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            # The CloudFront origin-facing list: a real-looking id (they differ per Region) and its real weight.
            name = args.args.get("name") or "com.amazonaws.global.cloudfront.origin-facing"
            list_id = f"pl-{_digest(self.region + name, 8)}"
            return {"id": list_id, "name": name, "maxEntries": 55, "addressFamily": "IPv4", "ownerId": "AWS",
                    "entries": [], "version": 1,
                    "arn": f"arn:{PARTITION}:ec2:{self.region}:aws:prefix-list/{list_id}"}, []
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            return {"arn": f"arn:{PARTITION}:iam::127311923021:root", "id": "127311923021"}, []
        return {}, []
