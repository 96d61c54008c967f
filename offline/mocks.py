"""What the offline engine answers in place of AWS: deterministic ids, ARNs and the computed attributes programs read.

Values are plausible (real id prefixes, ARN shapes, endpoint formats) and deterministic (derived from the
resource's name), so two runs of the same stack produce the same inventory. Extend COMPUTED when a component reads
an attribute the provider computes.

Accounts: a resource managed through an explicit `pulumi:providers:aws` with `allowedAccountIds` lives in that
account (the bootstrap stacks, one account each); everything else in the mocks' `account_id` (the identity the
caller's credentials resolve to). StackReferences are answered by a resolver (offline/foundation.py runs the
referenced stack offline); `aws:ecr/getImage:getImage` by a registry of pushed images, failing like the provider
for an image that was never pushed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi.asset import Archive, Asset
from pulumi.output import Unknown
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from components.secure_bucket import BUCKET_PREFIX_SUFFIX_LENGTH
from offline.sdk_internals import UNKNOWN as UNKNOWN_VALUE

ACCOUNT_ID = "123456789012"
ELB_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887", "ap-northeast-3": "383597477331",
    "ap-south-1": "718504428378", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-north-1": "897822967062",
    "eu-south-1": "635631232127", "eu-west-1": "156460612806", "eu-west-2": "652711504416",
    "eu-west-3": "009996457667", "me-south-1": "076674570225", "sa-east-1": "507241528517",
    "ap-southeast-3": "589379963580", "us-gov-west-1": "048591011584", "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993", "cn-northwest-1": "037604701340"}
"""Elastic Load Balancing's account per Region, as `elb.getServiceAccount` answers (ELB user guide, access logs:
"Attach a policy to your S3 bucket"; Regions opened later use the log-delivery service principal instead)."""
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
    state: dict[str, Any] = {"port": inputs.get("port") or 6379, "memberClusters": []}
    if inputs.get("clusterMode") == "enabled" or (inputs.get("numNodeGroups") or 1) > 1:
        # Cluster mode has a configuration endpoint only: the primary and reader endpoints exist "if the cluster
        # mode is disabled" (pulumi-aws ReplicationGroup.primary_endpoint_address).
        state["configurationEndpointAddress"] = f"clustercfg.{base}"
    else:
        state.update(primaryEndpointAddress=f"master.{base}", readerEndpointAddress=f"replica.{base}")
    return state


def _load_balancer(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    suffix = f"app/{inputs.get('name') or name}/{_digest(name, 16)}"
    return {"dnsName": f"{name}-{_digest(name, 9)}.{m.region}.elb.amazonaws.com", "zoneId": "Z35SXDOTRQ7X7K",
            "arnSuffix": suffix, "arn": m.arn("elasticloadbalancing", f"loadbalancer/{suffix}")}


def _target_group(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    suffix = f"targetgroup/{inputs.get('name') or name[:32]}/{_digest(name, 16)}"
    return {"arnSuffix": suffix, "arn": m.arn("elasticloadbalancing", suffix)}


def _bucket(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    # As long as the real names, so that the size checks of the policies naming them (IAM's 10,240 characters)
    # measure what AWS will see.
    prefix = inputs.get("bucketPrefix") or name + "-"
    bucket = inputs.get("bucket") or prefix + _digest(name, BUCKET_PREFIX_SUFFIX_LENGTH)
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
    return {"name": repo, "repositoryUrl": f"{m.account}.dkr.ecr.{m.region}.amazonaws.com/{repo}",
            "registryId": m.account, "arn": m.arn("ecr", f"repository/{repo}")}


def _iam_arn(kind: str) -> Computed:
    """Roles and managed policies: the ARN carries the path (`role/maratron/ci/name`), as IAM builds it."""
    def compute(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
        physical = inputs.get("name") or f"{name}-{_digest(name, 7)}"
        path = inputs.get("path") or "/"
        state = {"name": physical, "arn": f"arn:{PARTITION}:iam::{m.account}:{kind}{path}{physical}"}
        if kind == "role":
            state["uniqueId"] = f"AROA{_digest(name, 17).upper()}"
        return state
    return compute


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
    # The provider names an ACL given a name prefix as prefix + a unique suffix (as every namePrefix resource).
    prefix = inputs.get("namePrefix")
    acl = inputs.get("name") or (f"{prefix}{_digest(name, BUCKET_PREFIX_SUFFIX_LENGTH)}" if prefix else name)
    if inputs.get("scope") == "CLOUDFRONT":  # global ACLs live in us-east-1 and say so in their ARN
        arn = f"arn:{PARTITION}:wafv2:us-east-1:{m.account}:global/webacl/{acl}/{_uuid(name)}"
    else:
        arn = m.arn("wafv2", f"regional/webacl/{acl}/{_uuid(name)}")
    return {"arn": arn, "capacity": 1000, "name": acl}


def _distribution(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    distribution_id = "E" + _digest(name, 13).upper()
    return {"id": distribution_id, "domainName": f"d{_digest(name + 'cf', 13)}.cloudfront.net",
            "hostedZoneId": "Z2FDTNDATAQYW2", "status": "Deployed", "etag": _digest(name, 14).upper(),
            "arn": f"arn:{PARTITION}:cloudfront::{m.account}:distribution/{distribution_id}"}


def _log_delivery_part(kind: str) -> Computed:
    def compute(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
        region = inputs.get("region") or m.region
        physical = inputs.get("name") or f"{name}-{_digest(name, 7)}"
        return {"name": physical, "arn": f"arn:{PARTITION}:logs:{region}:{m.account}:{kind}:{physical}"}
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


def _ecs_service(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    # The long ARN format (service/<cluster>/<service>), the only one since 2021; the provider's id is the ARN.
    physical = inputs.get("name") or f"{name}-{_digest(name, 7)}"
    cluster = str(inputs.get("cluster") or "default").rsplit("/", 1)[-1]
    return {"name": physical, "arn": m.arn("ecs", f"service/{cluster}/{physical}")}


ID_IS_ARN = frozenset({"aws:ecs/service:Service"})
"""Types whose physical id is their ARN (the provider sets the id from the create call's ARN)."""


COMPUTED: dict[str, Computed] = {
    # A multi-Region key's id starts with mrk- and its replicas share it (KMS multi-Region keys overview).
    "aws:kms/key:Key": lambda n, i, m: {
        "keyId": (kid := ("mrk-" + _digest(n, 32)) if i.get("multiRegion") else _uuid(n)),
        "arn": m.arn("kms", f"key/{kid}")},
    "aws:kms/replicaKey:ReplicaKey": lambda n, i, m: {
        "keyId": (kid := str(i.get("primaryKeyArn", "")).rsplit("/", 1)[-1]), "arn": m.arn("kms", f"key/{kid}")},
    "aws:ec2/eip:Eip": lambda n, i, m: {"allocationId": f"eipalloc-{_digest(n)}", "publicIp": "203.0.113.10"},
    "aws:ec2/vpc:Vpc": lambda n, i, m: {"defaultSecurityGroupId": f"sg-{_digest(n + 'default')}",
                                        "mainRouteTableId": f"rtb-{_digest(n + 'main')}"},
    "aws:iam/role:Role": _iam_arn("role"),
    "aws:iam/policy:Policy": _iam_arn("policy"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda n, i, m: {
        "arn": f"arn:{PARTITION}:iam::{m.account}:oidc-provider/{str(i.get('url', '')).removeprefix('https://')}"},
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
    "aws:ecs/service:Service": lambda n, i, m: _ecs_service(n, i, m),
    "aws:ecs/taskDefinition:TaskDefinition": _task_definition,
    "aws:servicediscovery/httpNamespace:HttpNamespace": lambda n, i, m: {
        "arn": m.arn("servicediscovery", f"namespace/ns-{_digest(n, 16)}"), "httpName": i.get("name") or n},
    "docker:index/image:Image": _docker_image,
    "aws:sns/topic:Topic": lambda n, i, m: {"arn": m.arn("sns", i.get("name") or n)},
    "aws:sns/topicSubscription:TopicSubscription": lambda n, i, m: {  # <topic ARN>:<subscription id>
        "arn": f"{i.get('topic') or m.arn('sns', n)}:{_uuid(n)}"},
    "aws:rds/parameterGroup:ParameterGroup": lambda n, i, m: {
        "name": (pg := i.get("name") or f"{n}-{_digest(n, 7)}"), "arn": m.arn("rds", f"pg:{pg}")},
    "aws:rds/subnetGroup:SubnetGroup": lambda n, i, m: {
        "name": (sg := i.get("name") or f"{n}-{_digest(n, 7)}"), "arn": m.arn("rds", f"subgrp:{sg}")},
    "aws:route53/zone:Zone": lambda n, i, m: {"zoneId": (zid := f"Z{_digest(n, 20).upper()}"),
                                              "arn": f"arn:{PARTITION}:route53:::hostedzone/{zid}"},
    "aws:budgets/budget:Budget": lambda n, i, m: {  # global: no region in its ARN
        "arn": f"arn:{PARTITION}:budgets::{m.account}:budget/{i.get('name') or n}"},
    "aws:route53/healthCheck:HealthCheck": lambda n, i, m: {
        "arn": f"arn:{PARTITION}:route53:::healthcheck/{_uuid(n)}"},
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda n, i, m: {
        "arn": m.arn("cloudwatch", f"alarm:{i.get('name') or n}")},
    "aws:cloudwatch/dashboard:Dashboard": lambda n, i, m: {
        "dashboardArn": f"arn:{PARTITION}:cloudwatch::{m.account}:dashboard/{i.get('dashboardName') or n}"},
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
    "random:index/randomId:RandomId": lambda n, i, m: {"hex": _digest(f"{n}:{i.get('keepers')}",
                                                                      2 * int(i.get("byteLength") or 8))},
    # --- database access ---
    "aws:rds/proxy:Proxy": lambda n, i, m: _rds_proxy(n, i, m),
    "aws:lambda/function:Function": lambda n, i, m: _lambda_function(n, i, m),
    "aws:sfn/stateMachine:StateMachine": lambda n, i, m: {
        "arn": m.arn("states", f"stateMachine:{i.get('name') or n}")},
    "aws:elasticache/user:User": lambda n, i, m: {"arn": m.arn("elasticache", f"user:{i.get('userId') or n}")},
    "aws:cloudwatch/eventRule:EventRule": lambda n, i, m: {"arn": m.arn("events", f"rule/{i.get('name') or n}")},
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


def _rds_proxy(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    proxy = inputs.get("name") or name
    return {"endpoint": f"{proxy}.proxy-c{_digest(m.region, 10)}.{m.region}.rds.amazonaws.com",
            "arn": m.arn("rds", f"db-proxy:prx-{_digest(name, 17)}")}


def _lambda_function(name: str, inputs: dict[str, Any], m: OfflineMocks) -> dict[str, Any]:
    arn = m.arn("lambda", f"function:{inputs.get('name') or name}")
    return {"arn": arn, "qualifiedArn": f"{arn}:$LATEST", "version": "$LATEST",
            "invokeArn": f"arn:{PARTITION}:apigateway:{m.region}:lambda:path/2015-03-31/functions/{arn}/invocations"}


def _uuid(name: str) -> str:
    h = _digest(name, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


StackReferences = Callable[[str], Mapping[str, Any]]
"""Fully qualified stack name -> that stack's outputs; raises LookupError for a stack the backend does not have."""


@dataclass(frozen=True)
class PushedImage:
    """An image in a repository of the offline registry (what app CI pushed)."""

    digest: str
    tags: tuple[str, ...] = ()


def _as_wire_unknown(value: Any) -> Any:
    """The value with each unknown part as the engine's unknown sentinel (what the analyzer and the SDK read)."""
    if isinstance(value, Unknown):
        return UNKNOWN_VALUE
    if isinstance(value, dict):
        return {k: _as_wire_unknown(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_wire_unknown(v) for v in value]
    return value


class OfflineMocks(Mocks):
    """Deterministic stand-ins for AWS resources and data sources."""

    account: str
    first_preview: bool = False
    """Answer as the engine does in a preview of a stack that does not exist yet: every new resource's id and
    computed outputs unknown, its inputs as given (their unknown parts as the engine's unknown value), so an invoke
    or an apply that needs them waits, as it does before the first `pulumi up` (run_program sets it with
    preview=True)."""

    def __init__(self, region: str = "us-east-1", *, account_id: str = ACCOUNT_ID,
                 stack_references: StackReferences | None = None,
                 images: Mapping[str, Sequence[PushedImage]] | None = None) -> None:
        self.region = region
        self.account_id = account_id
        """The caller's account (getCallerIdentity) and that of resources without an account-pinned provider."""
        self.account = account_id
        """The account of the resource being answered (set per call)."""
        self.stack_references = stack_references
        self.images = dict(images or {})
        """Repository name -> pushed images (offline/fixtures/pushed-images.json, or a test's own)."""
        self.provider_accounts: dict[str, str] = {}
        """Provider id -> the account its allowedAccountIds pins."""

    @property
    def region_code(self) -> str:
        """us-east-1 -> use1, as ElastiCache endpoints spell it."""
        parts = self.region.split("-")
        return f"{parts[0]}{parts[1][0]}{parts[-1]}"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{PARTITION}:{service}:{self.region}:{self.account}:{resource}"

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        type_, name, inputs = args.typ, args.name, dict(args.inputs)
        if type_ == "pulumi:pulumi:StackReference":
            return self._stack_reference(str(inputs.get("name") or args.resource_id or name))
        if not args.custom:  # components keep no state
            return f"{name}-component", inputs
        self.account = self.provider_accounts.get(str(args.provider or "").rsplit("::", 1)[-1], self.account_id)
        physical_id = ID_PREFIXES.get(type_, f"{name}-") + _digest(f"{type_}::{name}")
        if self.first_preview and not type_.startswith("pulumi:providers:"):
            # The engine's answer for a resource to be created: no id ("" is unknown), its inputs with their unknown
            # parts as the wire's unknown value, and no computed output (a missing property is unknown in a preview).
            return "", {key: _as_wire_unknown(value) for key, value in inputs.items()
                        if not isinstance(value, (Asset, Archive))}
        if type_.startswith("pulumi:providers:"):
            allowed = _string_list(inputs.get("allowedAccountIds"))
            if allowed:
                self.provider_accounts[physical_id] = allowed[0]
            return physical_id, inputs
        # pulumi-aws v7 manages a resource in another region through its `region` input: its ARNs say so.
        where = self if inputs.get("region") in (None, self.region) else \
            OfflineMocks(region=str(inputs["region"]), account_id=self.account)
        # Assets and archives (a Lambda's code) are inputs only: the engine keeps no copy of them in the state.
        state = {key: value for key, value in inputs.items() if not isinstance(value, (Asset, Archive))}
        state["arn"] = where.arn(_module(type_), f"{type_.split(':')[-1].lower()}/{name}")
        compute = COMPUTED.get(type_)
        if compute is not None:
            state.update(compute(name, inputs, where))
        if type_ in ID_IS_ARN:
            physical_id = state["arn"]
        physical_id = state.setdefault("id", physical_id)  # a type whose id has its own shape (E..., a UUID)
        # Pulumi auto-names resources with a `name` property: logical name plus a random suffix.
        state.setdefault("name", f"{name}-{_digest(name, 7)}")
        return physical_id, state

    def _stack_reference(self, stack_name: str) -> tuple[str, dict[str, Any]]:
        if self.stack_references is None:
            raise LookupError(f"unknown stack {stack_name!r}: this offline run has no stacks to reference")
        outputs = dict(self.stack_references(stack_name))  # LookupError for a stack the backend does not have
        return stack_name, {"name": stack_name, "outputs": outputs, "secretOutputNames": []}

    @property
    def az_names(self) -> list[str]:
        """The region's AZs as the offline account sees them: a to f."""
        return [f"{self.region}{letter}" for letter in "abcdef"]

    def zone_id(self, az_name: str) -> str:
        """The offline account's zone id of an AZ name: a -> <code>-az1, b -> az2, ... (us-east-1c is use1-az3, where
        RDS Proxy is not offered: real accounts map names to zones differently)."""
        return f"{self.region_code}-az{'abcdef'.index(az_name[-1]) + 1}"

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        token = args.token
        self.account = self.provider_accounts.get(str(args.provider or "").rsplit("::", 1)[-1], self.account_id)
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": self.az_names, "zoneIds": [self.zone_id(az) for az in self.az_names],
                    "id": self.region, "groupNames": [self.region]}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.account, "arn": f"arn:{PARTITION}:iam::{self.account}:user/offline",
                    "userId": "AIDAOFFLINE", "id": self.account}, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION,
                    "reverseDnsPrefix": "com.amazonaws"}, []
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            registry = args.args.get("registryId") or self.account
            return {"userName": "AWS", "password": "offline-ecr-token", "authorizationToken": "QVdTOm9mZmxpbmU=",
                    "proxyEndpoint": f"https://{registry}.dkr.ecr.{self.region}.amazonaws.com",
                    "expiresAt": "2099-01-01T00:00:00Z", "id": self.region, "registryId": registry}, []
        if token == "aws:ecr/getImage:getImage":
            return self._get_image(args.args)
        if token == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            # The CloudFront origin-facing list: a real-looking id (they differ per Region) and its real weight.
            name = args.args.get("name") or "com.amazonaws.global.cloudfront.origin-facing"
            list_id = f"pl-{_digest(self.region + name, 8)}"
            return {"id": list_id, "name": name, "maxEntries": 55, "addressFamily": "IPv4", "ownerId": "AWS",
                    "entries": [], "version": 1,
                    "arn": f"arn:{PARTITION}:ec2:{self.region}:aws:prefix-list/{list_id}"}, []
        if token == "aws:ec2/getVpcEndpointService:getVpcEndpointService":
            # Offered in every AZ of the region, as the AWS services the stack uses are in the regions we ship.
            name = str(args.args.get("serviceName") or "")
            return {"serviceName": name, "serviceType": args.args.get("serviceType") or "Interface", "id": name,
                    "availabilityZones": self.az_names, "owner": "amazon",
                    "privateDnsName": name.replace("com.amazonaws.", "") + ".amazonaws.com",
                    "acceptanceRequired": False, "managesVpcEndpoints": False, "vpcEndpointPolicySupported": True,
                    "serviceId": f"vpce-svc-{_digest(name, 17)}", "baseEndpointDnsNames": [], "privateDnsNames": [],
                    "supportedIpAddressTypes": ["ipv4"], "region": self.region, "tags": {}}, []
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            region = str(args.args.get("region") or self.region)
            if region not in ELB_ACCOUNTS:  # the provider's table ends where AWS moved to the service principal
                raise ValueError(f"elb.getServiceAccount: no Elastic Load Balancing account for {region}")
            account = ELB_ACCOUNTS[region]
            return {"arn": f"arn:{PARTITION}:iam::{account}:root", "id": account, "region": region}, []
        return {}, []

    def _get_image(self, query: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Answer aws.ecr.get_image from the pushed images; an unknown image fails as the provider reports it
        (`ImageNotFoundException: The image with imageId ... does not exist within the repository with name '...'
        in the registry with id '...'`, hashicorp/terraform-provider-aws#35268)."""
        repository = str(query.get("repositoryName") or "")
        registry = str(query.get("registryId") or self.account)
        digest, tag = query.get("imageDigest"), query.get("imageTag")
        for image in self.images.get(repository, ()):
            if (digest and image.digest == digest) or (tag and tag in image.tags):
                uri = f"{registry}.dkr.ecr.{self.region}.amazonaws.com/{repository}@{image.digest}"
                return {"imageDigest": image.digest, "imageTags": list(image.tags), "imageUri": uri,
                        "imagePushedAt": 1767225600, "imageSizeInBytes": 104857600, "registryId": registry,
                        "repositoryName": repository, "region": self.region, "id": image.digest}, []
        image_id = f"imageDigest={digest}" if digest else f"imageTag={tag}"
        reason = (f"reading ECR Images: ImageNotFoundException: The image with imageId {{{image_id}}} does not "
                  f"exist within the repository with name '{repository}' in the registry with id '{registry}'")
        return {}, [("imageDigest" if digest else "imageTag", reason)]


def _string_list(value: Any) -> list[str]:
    """A provider input list (providers receive complex config as JSON text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return [str(v) for v in value] if isinstance(value, list) else []
