"""Small hand-built StackRuns for the cost, critical-path and diagram tests (no engine run needed).

`SyntheticStack` registers resources the way the engine records them: URN, parent, inputs in camelCase wire form,
`dependencies` and `propertyDependencies`, a mock id and an `arn` output. `full_architecture()` is the guide's whole
architecture (WAF, ALB, web and AI services, RDS primary + replicas, Redis, S3, secrets, monitoring) in pulumi-aws
v7 type tokens, for what the other branches are adding.
"""

from __future__ import annotations

from typing import Any

from offline.engine import Resource, StackRun

STACK_TYPE = "pulumi:pulumi:Stack"


class SyntheticStack:
    def __init__(self, stack: str = "prod", environment: str | None = None, region: str = "us-east-1") -> None:
        self.stack = stack
        self.root = Resource(urn=f"urn:pulumi:{stack}::maratron::{STACK_TYPE}::maratron-{stack}", type=STACK_TYPE,
                             name=f"maratron-{stack}", parent="", custom=False, inputs={}, outputs={})
        self.resources: list[Resource] = [self.root]
        self.config = {"aws:region": region, "maratron:environment": environment or stack}

    def add(self, type_: str, name: str, inputs: dict[str, Any] | None = None, *, parent: Resource | None = None,
            depends_on: list[Resource] | None = None, prop_deps: dict[str, list[Resource]] | None = None,
            custom: bool = True) -> Resource:
        parent = parent or self.root
        urn = f"urn:pulumi:{self.stack}::maratron::{type_}::{name}"
        props = {key: [r.urn for r in rs] for key, rs in (prop_deps or {}).items()}
        deps = sorted({r.urn for r in depends_on or []} | {u for urns in props.values() for u in urns})
        short = type_.split(":")[-1].lower()
        resource_id = f"{short}-{name}" if custom else ""
        resource = Resource(urn=urn, type=type_, name=name, parent=parent.urn, custom=custom,
                            inputs=dict(inputs or {}),
                            outputs={**(inputs or {}), "arn": f"arn:aws:synthetic:::{short}/{name}"},
                            id=resource_id, dependencies=deps, property_dependencies=props)
        self.resources.append(resource)
        return resource

    def component(self, type_: str, name: str, **kwargs: Any) -> Resource:
        return self.add(type_, name, custom=False, **kwargs)

    def run(self) -> StackRun:
        return StackRun(stack=self.stack, config=self.config, secret_keys=[], placeholders=[],
                        resources=list(self.resources), outputs={})


def arn(resource: Resource) -> str:
    return str(resource.outputs["arn"])


def full_architecture(stack: str = "prod", *, service_waits_for_replica: bool = False) -> SyntheticStack:
    """The guide's architecture as the finished program will register it (3 AZs, Multi-AZ primary + 2 replicas)."""
    s = SyntheticStack(stack)
    azs = ["us-east-1a", "us-east-1b", "us-east-1c"]
    net = s.component("maratron:network:Network", "network")
    vpc = s.add("aws:ec2/vpc:Vpc", "network-vpc", {"cidrBlock": "10.0.0.0/16"}, parent=net)
    subnets: dict[str, list[Resource]] = {}
    for tier in ("public", "app", "data"):
        subnets[tier] = [s.add("aws:ec2/subnet:Subnet", f"network-{tier}-{az}",
                               {"availabilityZone": az, "tags": {"tier": tier}, "vpcId": vpc.id},
                               parent=vpc, prop_deps={"vpcId": [vpc]}) for az in azs]
    for public in subnets["public"]:
        eip = s.add("aws:ec2/eip:Eip", f"{public.name}-nat", {"domain": "vpc"}, parent=public)
        s.add("aws:ec2/natGateway:NatGateway", f"{public.name}-nat", {"subnetId": public.id, "allocationId": eip.id},
              parent=public, prop_deps={"subnetId": [public], "allocationId": [eip]})
    s.add("aws:ec2/vpcEndpoint:VpcEndpoint", "network-logs",
          {"vpcEndpointType": "Interface", "serviceName": "com.amazonaws.us-east-1.logs",
           "subnetIds": [x.id for x in subnets["app"]]}, parent=net, prop_deps={"subnetIds": subnets["app"]})
    keys = s.component("maratron:security:EncryptionKeys", "keys")
    data_key = s.add("aws:kms/key:Key", "keys-data", {}, parent=keys)
    logs_key = s.add("aws:kms/key:Key", "keys-logs", {}, parent=keys)

    sg = {name: s.add("aws:ec2/securityGroup:SecurityGroup", f"{name}-sg", {"vpcId": vpc.id},
                      prop_deps={"vpcId": [vpc]}) for name in ("alb", "web", "ai", "db", "redis")}
    for source, target, port in (("alb", "web", 3000), ("web", "ai", 8000), ("web", "db", 5432),
                                 ("ai", "db", 5432), ("web", "redis", 6379), ("ai", "redis", 6379)):
        s.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"{target}-from-{source}",
              {"securityGroupId": sg[target].id, "referencedSecurityGroupId": sg[source].id, "fromPort": port},
              prop_deps={"securityGroupId": [sg[target]], "referencedSecurityGroupId": [sg[source]]})

    edge = s.component("maratron:edge:Edge", "edge")
    zone = s.add("aws:route53/zone:Zone", "edge-zone", {"name": "maratron.example.com"}, parent=edge)
    cert = s.add("aws:acm/certificate:Certificate", "edge-cert", {"domainName": "maratron.example.com"}, parent=edge)
    validation = s.add("aws:acm/certificateValidation:CertificateValidation", "edge-cert", {}, parent=edge,
                       prop_deps={"certificateArn": [cert]}, depends_on=[zone])
    waf = s.add("aws:wafv2/webAcl:WebAcl", "edge-waf", {"scope": "REGIONAL", "rules": [{"name": f"r{i}"}
                                                                                      for i in range(5)]}, parent=edge)
    alb = s.add("aws:lb/loadBalancer:LoadBalancer", "edge-alb",
                {"loadBalancerType": "application", "internal": False, "subnets": [x.id for x in subnets["public"]],
                 "securityGroups": [sg["alb"].id]}, parent=edge,
                prop_deps={"subnets": subnets["public"], "securityGroups": [sg["alb"]]})
    s.add("aws:wafv2/webAclAssociation:WebAclAssociation", "edge-waf", {}, parent=edge,
          prop_deps={"resourceArn": [alb], "webAclArn": [waf]})
    target_group = s.add("aws:lb/targetGroup:TargetGroup", "edge-web", {"port": 3000}, parent=edge)
    s.add("aws:lb/listener:Listener", "edge-https",
          {"loadBalancerArn": arn(alb), "defaultActions": [{"type": "forward", "targetGroupArn": arn(target_group)}]},
          parent=edge, prop_deps={"loadBalancerArn": [alb], "certificateArn": [validation],
                                  "defaultActions": [target_group]})

    database = s.component("maratron:data:Database", "database")
    s.add("aws:rds/subnetGroup:SubnetGroup", "database", {}, parent=database, prop_deps={"subnetIds": subnets["data"]})
    primary = s.add("aws:rds/instance:Instance", "database-writer",
                    {"instanceClass": "db.r6g.large", "multiAz": True, "allocatedStorage": 100, "storageType": "gp3",
                     "engine": "postgres", "engineVersion": "16.4", "identifier": "maratron-prod-writer",
                     "performanceInsightsEnabled": True, "performanceInsightsRetentionPeriod": 7,
                     "vpcSecurityGroupIds": [sg["db"].id]},
                    parent=database, prop_deps={"kmsKeyId": [data_key], "vpcSecurityGroupIds": [sg["db"]]})
    replicas = [s.add("aws:rds/instance:Instance", f"database-reader-{i}",
                      {"instanceClass": "db.r6g.large", "replicateSourceDb": "maratron-prod-writer",
                       "storageType": "gp3", "vpcSecurityGroupIds": [sg["db"].id]},
                      parent=database, prop_deps={"replicateSourceDb": [primary], "vpcSecurityGroupIds": [sg["db"]]})
                for i in (1, 2)]
    cache = s.component("maratron:data:Cache", "cache")
    s.add("aws:elasticache/replicationGroup:ReplicationGroup", "cache",
          {"nodeType": "cache.r6g.large", "numCacheClusters": 3, "multiAzEnabled": True,
           "automaticFailoverEnabled": True, "engine": "redis", "securityGroupIds": [sg["redis"].id]},
          parent=cache, prop_deps={"kmsKeyId": [data_key], "securityGroupIds": [sg["redis"]]})
    storage = s.component("maratron:data:Storage", "storage")
    for bucket in ("uploads", "backups"):
        s.add("aws:s3/bucket:Bucket", f"storage-{bucket}", {"bucket": f"maratron-prod-{bucket}"}, parent=storage)
    secret = s.add("aws:secretsmanager/secret:Secret", "database-password", {}, parent=database,
                   prop_deps={"kmsKeyId": [data_key]})

    app = s.component("maratron:app:App", "app")
    s.add("aws:ecs/cluster:Cluster", "app-cluster", {}, parent=app)
    for name, count, cpu, memory in (("web", 3, "1024", "2048"), ("ai", 3, "1024", "2048")):
        s.add("aws:ecr/repository:Repository", f"app-{name}", {}, parent=app)
        logs = s.add("aws:cloudwatch/logGroup:LogGroup", f"app-{name}", {"retentionInDays": 365}, parent=app,
                     prop_deps={"kmsKeyId": [logs_key]})
        task = s.add("aws:ecs/taskDefinition:TaskDefinition", f"app-{name}",
                     {"family": f"maratron-prod-{name}", "cpu": cpu, "memory": memory,
                      "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
                      "requiresCompatibilities": ["FARGATE"]},
                     parent=app, prop_deps={"containerDefinitions": [logs, secret, primary]})
        waits = {"taskDefinition": [task], "networkConfiguration": [*subnets["app"], sg[name]]}
        if service_waits_for_replica and name == "ai":
            waits["taskDefinition"] = [task, replicas[-1]]
        inputs: dict[str, Any] = {"name": name, "desiredCount": count, "launchType": "FARGATE",
                                  "taskDefinition": arn(task),
                                  "networkConfiguration": {"securityGroups": [sg[name].id]}}
        if name == "web":
            inputs["loadBalancers"] = [{"targetGroupArn": arn(target_group), "containerName": "web",
                                        "containerPort": 3000}]
        s.add("aws:ecs/service:Service", f"app-{name}", inputs, parent=app, prop_deps=waits)
    ops = s.component("maratron:ops:Observability", "ops")
    for alarm in ("alb-5xx", "db-cpu", "redis-memory"):
        s.add("aws:cloudwatch/metricAlarm:MetricAlarm", f"ops-{alarm}", {"period": 60}, parent=ops)
    s.add("aws:cloudwatch/dashboard:Dashboard", "ops-dashboard", {}, parent=ops)
    return s
