"""Every rule, compliant and violating, driven through the analyzer protocol (Analyze / AnalyzeStack) of one pack.

Fixtures are resource inputs in pulumi-aws v7 wire form (camelCase as the engine sends them). Each case names the
policy, a compliant set of resources, a violating set, and the resource the violation must name.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pytest

from offline.engine import Resource
from offline.policy_runner import PolicyPackProcess
from policies.rules import ALL_RULES
from tests.policies.helpers import KEY, TAGS, analyze, only, resource

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
RDS = "aws:rds/instance:Instance"
PG = "aws:rds/parameterGroup:ParameterGroup"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
ACL = "aws:wafv2/webAcl:WebAcl"
ASSOC = "aws:wafv2/webAclAssociation:WebAclAssociation"
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
DELETE = object()


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is DELETE:
            out.pop(key, None)
        else:
            out[key] = value
    return out


@dataclass
class Case:
    policy: str
    good: list[Resource]
    bad: list[Resource]
    bad_name: str
    """Name of the resource the violation must name."""
    stack: str = "prod"

    @property
    def id(self) -> str:
        return f"{self.policy}:{self.bad_name}"


def single(policy: str, type_: str, base: dict[str, Any], /, stack: str = "prod", label: str = "bad",
           **changes: Any) -> Case:
    return Case(policy, [resource(type_, "good", base, stack=stack)],
                [resource(type_, label, changed(base, **changes), stack=stack)], label, stack)


# --- baselines (compliant) --------------------------------------------------------------------------------------------
def perimeter(*extra: dict[str, Any], s3: bool = False) -> str:
    """An endpoint policy as components/network.py endpoint_policy writes it, plus `extra` statements."""
    own = {"Sid": "OwnPrincipalsToOwnResources", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
           "Condition": {"StringEquals": {"aws:PrincipalAccount": ["111111111111"]},
                         "StringEqualsIfExists": {"aws:ResourceAccount": ["111111111111"]}}}
    services = {"Sid": "AwsServicePrincipals", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                "Condition": {"Bool": {"aws:PrincipalIsAWSService": "true"}}}
    layers = [{"Sid": "EcrImageLayers", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
               "Resource": "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"}] if s3 else []
    return json.dumps({"Version": "2012-10-17", "Statement": [own, services, *layers, *extra]})


S3_ENDPOINT = {"vpcId": "vpc-1", "serviceName": "com.amazonaws.us-east-1.s3", "vpcEndpointType": "Gateway",
               "routeTableIds": ["rtb-1"], "policy": perimeter(s3=True), "tags": TAGS}
ECR_ENDPOINT = {"vpcId": "vpc-1", "serviceName": "com.amazonaws.us-east-1.ecr.api", "vpcEndpointType": "Interface",
                "privateDnsEnabled": True, "subnetIds": ["subnet-1"], "policy": perimeter(), "tags": TAGS}

WEB_INGRESS = {"vpcId": "vpc-1", "description": "alb", "tags": TAGS,
               "ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]}
RULE_FROM_SG = {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432,
                "referencedSecurityGroupId": "sg-2", "tags": TAGS}
RDS_PRIMARY = {
    "engine": "postgres", "storageEncrypted": True, "kmsKeyId": KEY, "publiclyAccessible": False,
    "backupRetentionPeriod": 14, "deletionProtection": True, "multiAz": True, "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "maratron-prod-final", "iamDatabaseAuthenticationEnabled": True,
    "performanceInsightsEnabled": True, "performanceInsightsKmsKeyId": KEY,
    "enabledCloudwatchLogsExports": ["postgresql", "upgrade"], "parameterGroupName": "maratron-pg16",
    "manageMasterUserPassword": False, "password": "tV9#qLr2!xP7mZ4@wK8sB3nH6yD1cF5g", "tags": TAGS,
    "autoMinorVersionUpgrade": True, "caCertIdentifier": "rds-ca-rsa2048-g1", "monitoringInterval": 60,
    "copyTagsToSnapshot": True, "allocatedStorage": 100, "maxAllocatedStorage": 500,
    "dbSubnetGroupName": "maratron-data", "applyImmediately": False, "allowMajorVersionUpgrade": False,
    "deleteAutomatedBackups": False,
}
REDIS = {"authToken": "Zq7!vX2#mL9$kP4^nR6&tW1<yB8>cD3-", "transitEncryptionEnabled": True,
         "atRestEncryptionEnabled": True, "kmsKeyId": KEY, "automaticFailoverEnabled": True, "multiAzEnabled": True,
         "subnetGroupName": "maratron-data", "tags": TAGS, "snapshotRetentionLimit": 7,
         "finalSnapshotIdentifier": "maratron-prod-redis-final", "applyImmediately": False,
         "autoMinorVersionUpgrade": True, "logDeliveryConfigurations": [
             {"destination": "/slow", "destinationType": "cloudwatch-logs", "logFormat": "json", "logType": "slow-log"},
             {"destination": "/engine", "destinationType": "cloudwatch-logs", "logFormat": "json",
              "logType": "engine-log"}]}
CONTAINER = {"name": "web", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:" + "a" * 64,
             "user": "1001:1001", "readonlyRootFilesystem": True, "privileged": False,
             "logConfiguration": {"logDriver": "awslogs", "options": {"mode": "non-blocking"}},
             "linuxParameters": {"capabilities": {"add": [], "drop": ["ALL"]}, "initProcessEnabled": True},
             "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
             "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:3000/api/health || exit 1"]},
             "environment": [{"name": "NODE_ENV", "value": "production"},
                             {"name": "SECRET_ARN_PREFIX", "value": "arn:aws:secretsmanager:x"}],
             "secrets": [{"name": "DATABASE_URL", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:db"}]}


def task(**container_changes: Any) -> dict[str, Any]:
    return {"family": "web", "containerDefinitions": json.dumps([changed(CONTAINER, **container_changes)]),
            "executionRoleArn": "arn:aws:iam::1:role/web-execution", "taskRoleArn": "arn:aws:iam::1:role/web-task",
            "tags": TAGS}


HTTPS = {"protocol": "HTTPS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
         "certificateArn": "arn:aws:acm:us-east-1:1:certificate/1", "loadBalancerArn": "arn:lb",
         "routingHttpResponseStrictTransportSecurityHeaderValue": "max-age=63072000; includeSubDomains",
         "routingHttpResponseContentSecurityPolicyHeaderValue": "default-src 'self'; img-src 'self' data: https:",
         "routingHttpResponseXFrameOptionsHeaderValue": "DENY",
         "routingHttpResponseXContentTypeOptionsHeaderValue": "nosniff", "routingHttpResponseServerEnabled": False,
         "defaultActions": [{"type": "fixed-response", "fixedResponse": {"contentType": "text/plain",
                                                                         "statusCode": "404"}}], "tags": TAGS}
HTTP = {"protocol": "HTTP", "port": 80, "loadBalancerArn": "arn:lb", "tags": TAGS,
        "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                             "host": "maratron.example.com",
                                                             "statusCode": "HTTP_301"}}]}
ALB = {"internal": False, "loadBalancerType": "application", "dropInvalidHeaderFields": True,
       "accessLogs": {"bucket": "logs", "enabled": True}, "securityGroups": ["sg-1"], "tags": TAGS,
       "desyncMitigationMode": "strictest", "enableWafFailOpen": False, "xffHeaderProcessingMode": "append",
       "enableDeletionProtection": True}
RATE_RULE = {"name": "rate", "priority": 1, "action": {"block": {}},
             "statement": {"rateBasedStatement": {"limit": 2000, "aggregateKeyType": "IP"}},
             "visibilityConfig": {"metricName": "rate", "sampledRequestsEnabled": True,
                                  "cloudwatchMetricsEnabled": True}}
TLS_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
ADMIN_DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "All", "Effect": "Allow", "Action": "*",
                                                                "Resource": "*"}]})
SCOPED_DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                                                                 "Resource": "arn:aws:s3:::b/*"}]})


def web_stack(*, internet_facing: bool = True, acl_rules: list[Any] | None = None, associate: bool = True,
              https: bool = True) -> list[Resource]:
    group = resource(SG, "alb-sg", WEB_INGRESS)
    lb = resource(LB, "alb", changed(ALB, internal=not internet_facing), deps={"securityGroups": [group]})
    acl = resource(ACL, "acl", {"scope": "REGIONAL", "defaultAction": {"allow": {}},
                                "rules": [RATE_RULE] if acl_rules is None else acl_rules, "tags": TAGS})
    out = [group, lb, acl, resource(LISTENER, "http", HTTP, deps={"loadBalancerArn": [lb]})]
    if https:
        out.append(resource(LISTENER, "https", HTTPS, deps={"loadBalancerArn": [lb]}))
    if associate:
        out.append(resource(ASSOC, "assoc", {"resourceArn": "arn:lb", "webAclArn": "arn:acl"},
                            deps={"resourceArn": [lb], "webAclArn": [acl]}))
    return out


def database_stack(*, force_ssl: str = "1", replica: bool = True, cidr_rule: bool = False,
                   windows: tuple[str, str] | None = None) -> list[Resource]:
    """The data tier's security groups, parameter group, primary and (replica) its read replica; `windows`: the
    primary's and the replica's weekly maintenance windows (none by default, as RDS then picks them)."""
    group = resource(SG, "db-sg", {"vpcId": "vpc-1", "description": "db", "tags": TAGS})
    client = resource(SG, "app-sg", {"vpcId": "vpc-1", "description": "app", "tags": TAGS})
    rule_inputs = changed(RULE_FROM_SG, referencedSecurityGroupId=DELETE, cidrIpv4="10.0.0.0/16") if cidr_rule \
        else RULE_FROM_SG
    rule = resource(SG_RULE, "db-from-app", rule_inputs,
                    deps={"securityGroupId": [group], "referencedSecurityGroupId": [] if cidr_rule else [client]})
    pg = resource(PG, "pg", {"family": "postgres16", "tags": TAGS, "parameters": [
        {"name": "rds.force_ssl", "value": force_ssl, "applyMethod": "immediate"}]})
    primary_window, replica_window = windows or (DELETE, DELETE)
    primary = resource(RDS, "primary", changed(RDS_PRIMARY, maintenanceWindow=primary_window), protect=True,
                       deps={"parameterGroupName": [pg], "vpcSecurityGroupIds": [group]})
    out = [group, client, rule, pg, primary]
    if replica:
        out.append(resource(RDS, "replica", changed(RDS_PRIMARY, replicateSourceDb="primary", backupRetentionPeriod=0,
                                                    skipFinalSnapshot=True, deletionProtection=False,
                                                    multiAz=False, password=DELETE, maintenanceWindow=replica_window),
                            deps={"parameterGroupName": [pg], "replicateSourceDb": [primary]}))
    return out


def monitored_database(*, waits: bool = True) -> list[Resource]:
    """A primary with enhanced monitoring: its role, the role's AWS managed policy, and (waits) the wait for it."""
    role = resource(ROLE, "db-monitoring", {"assumeRolePolicy": "{}", "tags": TAGS})
    attachment = resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "db-monitoring", {
        "role": "db-monitoring", "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"},
        deps={"role": [role]})
    primary = resource(RDS, "primary", changed(RDS_PRIMARY, monitoringRoleArn="arn:aws:iam::123456789012:role/m"),
                       protect=True, deps={"monitoringRoleArn": [role]}, depends_on=[attachment] if waits else [])
    return [role, attachment, primary]


def bucket_stack(*, kms: bool = True, policy: bool = True) -> list[Resource]:
    bucket = resource(BUCKET, "backups", {"bucket": "b", "forceDestroy": False, "tags": TAGS}, protect=True)
    algorithm = "aws:kms" if kms else "AES256"
    out = [bucket,
           resource(SSE, "backups", {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {
               "sseAlgorithm": algorithm, "kmsMasterKeyId": KEY}, "bucketKeyEnabled": True}]},
               deps={"bucket": [bucket]}),
           resource(VERSIONING, "backups", {"bucket": "b", "versioningConfiguration": {"status": "Enabled"}},
                    deps={"bucket": [bucket]}),
           resource(PAB, "backups", {"bucket": "b", "blockPublicAcls": True, "blockPublicPolicy": True,
                                     "ignorePublicAcls": True, "restrictPublicBuckets": True},
                    deps={"bucket": [bucket]})]
    if policy:
        out.append(resource(BUCKET_POLICY, "backups", {"bucket": "b", "policy": TLS_ONLY}, deps={"bucket": [bucket]}))
    return out


REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
DR_KEY = "arn:aws:kms:us-west-2:123456789012:key/99999999-8888-7777-6666-555555555555"
REPLICATION_RULE = {
    "id": "dr", "status": "Enabled", "priority": 1, "filter": {},
    "deleteMarkerReplication": {"status": "Disabled"},
    "sourceSelectionCriteria": {"sseKmsEncryptedObjects": {"status": "Enabled"}},
    "destination": {"bucket": "arn:aws:s3:::b-dr", "storageClass": "STANDARD_IA",
                    "encryptionConfiguration": {"replicaKmsKeyId": DR_KEY}, "metrics": {"status": "Enabled"}},
}
LOCKED = {"objectLockEnabled": "Enabled", "rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": 30}}}


def replication(**changes: Any) -> dict[str, Any]:
    return {"bucket": "b", "role": "arn:aws:iam::123456789012:role/replication",
            "rules": [changed(REPLICATION_RULE, **changes)]}


def replication_stack(*, replicate: bool = True, replica_region: str = "us-west-2", replica_lock: int | None = 30,
                      drill: str | None = None) -> list[Resource]:
    """A locked KMS source bucket replicated to a locked replica in another region (and, optionally, the drill)."""
    out = bucket_stack()
    source = out[0]
    out[0] = resource(BUCKET, "backups", changed(source.inputs, objectLockEnabled=True), protect=True)
    source = out[0]
    out = [source, *(resource(r.type, r.name, r.inputs, deps={"bucket": [source]}) for r in out[1:])]
    out.append(resource(LOCK, "backups", {"bucket": "b", **LOCKED}, deps={"bucket": [source]}))
    replica = resource(BUCKET, "backups-dr", {"bucket": "b-dr", "region": replica_region, "forceDestroy": False,
                                              "objectLockEnabled": replica_lock is not None, "tags": TAGS},
                       protect=True)
    out.append(replica)
    if replica_lock is not None:
        out.append(resource(LOCK, "backups-dr", {"bucket": "b-dr", "region": replica_region, **changed(
            LOCKED, rule={"defaultRetention": {"mode": "COMPLIANCE", "days": replica_lock}})},
            deps={"bucket": [replica]}))
    if replicate:
        out.append(resource(REPLICATION, "backups-replication", replication(), deps={"bucket": [source],
                                                                                   "rules": [replica]}))
    if drill is not None:
        task_definition = resource(TASK, "restore-drill", task(command=["restore_drill.sh"]))
        out += [task_definition, resource("aws:scheduler/schedule:Schedule", "drill", {
            "scheduleExpression": "cron(30 5 * * ? *)", "state": drill, "flexibleTimeWindow": {"mode": "OFF"},
            "target": {"arn": "arn:cluster", "roleArn": "arn:role", "ecsParameters": {"taskDefinitionArn": "arn:td"}}},
            deps={"target": [task_definition]})]
    return out


def vended_log_stack() -> list[Resource]:
    """A KMS bucket that only receives CloudWatch vended logs (CloudFront's access logs v2): a log target."""
    out = bucket_stack()
    out.append(resource("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination", "cdn-logs", {
        "name": "cdn-s3", "outputFormat": "parquet", "tags": TAGS,
        "deliveryDestinationConfiguration": {"destinationResourceArn": "arn:aws:s3:::b"}},
        deps={"deliveryDestinationConfiguration": [out[0]]}))
    return out


def backups_replicated(primary: Resource, **changes: Any) -> Resource:
    return resource(BACKUPS_REPLICATION, "db-backups", changed(
        {"sourceDbInstanceArn": "arn:aws:rds:us-east-1:1:db:primary", "region": "us-west-2", "kmsKeyId": DR_KEY,
         "retentionPeriod": 14}, **changes), deps={"sourceDbInstanceArn": [primary]})


BACKUPS_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"


def restored(resources: list[Resource], **restore: Any) -> list[Resource]:
    """`resources` with the primary restored to a point in time (restoreToPointInTime = `restore`)."""
    return [r if r.name != "primary" else resource(RDS, "primary", changed(r.inputs, restoreToPointInTime={
        **restore, "useLatestRestorableTime": True}), protect=True, deps={
            k: [x for x in resources if x.urn in v] for k, v in r.property_dependencies.items()})
            for r in resources]


SAME_REGION_RESTORES = ({"sourceDbInstanceIdentifier": "maratron-prod-db-old"},
                        {"sourceDbiResourceId": "db-ABCDEFGHIJKLMNOP"})
"""Point-in-time restores from an instance of the stack's own region: not a DR restore, no exemption."""


def with_backups_replication(**changes: Any) -> list[Resource]:
    resources = database_stack()
    primary = next(r for r in resources if r.name == "primary")
    return [*resources, backups_replicated(primary, **changes)]


DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
RHP = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_AND_CF = "33f36d7e-f396-46d9-90e0-52428a34d9dc"
HOST_ONLY = "bf0718e1-ba1e-49d1-88b1-f726733018ae"
SECURITY_HEADERS = {
    "strictTransportSecurity": {"accessControlMaxAgeSec": 31536000, "includeSubdomains": True, "preload": True,
                                "override": True},
    "contentSecurityPolicy": {"contentSecurityPolicy": "default-src 'self'", "override": True},
    "frameOptions": {"frameOption": "DENY", "override": True},
    "contentTypeOptions": {"override": True},
    "referrerPolicy": {"referrerPolicy": "strict-origin-when-cross-origin", "override": True},
}
CACHE_POLICY = "aws:cloudfront/cachePolicy:CachePolicy"
NEXT_IMAGE_CACHE_POLICY = {
    "name": "maratron-prod-next-image", "minTtl": 0, "defaultTtl": 86400, "maxTtl": 31536000,
    "parametersInCacheKeyAndForwardedToOrigin": {
        "cookiesConfig": {"cookieBehavior": "none"}, "headersConfig": {"headerBehavior": "whitelist",
                                                                       "headers": {"items": ["Accept"]}},
        "queryStringsConfig": {"queryStringBehavior": "all"}, "enableAcceptEncodingGzip": True,
        "enableAcceptEncodingBrotli": True}}
LOG_FIELDS = ["date", "time", "c-ip", "cs-method", "cs-uri-stem", "sc-status"]


def behavior(cache: str, request: str, **changes: Any) -> dict[str, Any]:
    return changed({"targetOriginId": "alb", "viewerProtocolPolicy": "redirect-to-https", "cachePolicyId": cache,
                    "originRequestPolicyId": request, "responseHeadersPolicyId": "rhp-1", "compress": True},
                   **changes)


def distribution(**changes: Any) -> dict[str, Any]:
    return changed({
        "enabled": True, "aliases": ["app.example.com"], "httpVersion": "http2and3", "webAclId": "arn:acl",
        "origins": [{"originId": "alb", "domainName": "alb.elb.amazonaws.com",
                     "customOriginConfig": {"httpPort": 80, "httpsPort": 443, "originProtocolPolicy": "https-only",
                                            "originSslProtocols": ["TLSv1.2"]},
                     "customHeaders": [{"name": "X-Origin-Verify", "value": "s3cr3t"}]}],
        "defaultCacheBehavior": behavior(CACHING_DISABLED, ALL_VIEWER_AND_CF),
        "orderedCacheBehaviors": [behavior(CACHING_OPTIMIZED, HOST_ONLY, pathPattern="/_next/static/*")],
        "viewerCertificate": {"acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/1",
                              "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.2_2025"},
        "tags": TAGS}, **changes)


def cdn_stack(*, world_rule: bool = False, forward_default: bool = False, header_condition: bool = True,
              sends_header: bool = True, acl: bool = True, headers: dict[str, Any] | None = None,
              rhp_on_default: bool = True, logs: bool = True, log_fields: list[str] | None = None,
              private_paths_priority: int | None = 10, ordered_rhp: str = "rhp-1",
              header_on_other_origin: bool = False) -> list[Resource]:
    """CloudFront in front of an ALB that admits only CloudFront, the way the program builds it."""
    group = resource(SG, "alb-sg", {"vpcId": "vpc-1", "description": "alb", "tags": TAGS})
    rules = [resource(SG_RULE, "alb-from-cloudfront", {
        "securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "prefixListId": "pl-1",
        "tags": TAGS}, deps={"securityGroupId": [group]})]
    if world_rule:
        rules.append(resource(SG_RULE, "alb-from-world", {
            "securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0",
            "tags": TAGS}, deps={"securityGroupId": [group]}))
    lb = resource(LB, "alb", ALB, deps={"securityGroups": [group]})
    lb.outputs["dnsName"] = "alb.elb.amazonaws.com"  # what the distribution's origin points at (an output)
    https = resource(LISTENER, "https", changed(HTTPS, defaultActions=[
        {"type": "forward", "targetGroupArn": "arn:tg"} if forward_default else
        {"type": "fixed-response", "fixedResponse": {"contentType": "text/plain", "statusCode": "403"}}]),
        deps={"loadBalancerArn": [lb]})
    conditions: list[Any] = [{"hostHeader": {"values": ["app.example.com"]}}]
    if header_condition:
        conditions.append({"httpHeader": {"httpHeaderName": "X-Origin-Verify", "values": ["s3cr3t"]}})
    forward = resource(LISTENER_RULE, "forward", {"listenerArn": "arn:listener", "priority": 100,
                                                  "conditions": conditions, "tags": TAGS,
                                                  "actions": [{"type": "forward", "targetGroupArn": "arn:tg"}]},
                       deps={"listenerArn": [https]})
    web_acl = resource(ACL, "acl", {"scope": "CLOUDFRONT", "defaultAction": {"allow": {}}, "rules": [RATE_RULE],
                                    "tags": TAGS})
    rhp = resource(RHP, "headers", {"name": "security-headers",
                                    "securityHeadersConfig": SECURITY_HEADERS if headers is None else headers})
    rhp.outputs["id"] = "rhp-1"  # the id behaviors name it by (an output)
    origin = distribution()["origins"][0]
    dist_inputs = distribution(
        origins=[changed(origin, customHeaders=[] if not sends_header or header_on_other_origin
                         else origin["customHeaders"]),
                 *([changed(origin, originId="legacy", domainName="legacy.example.com")]
                   if header_on_other_origin else [])],
        defaultCacheBehavior=behavior(CACHING_DISABLED, ALL_VIEWER_AND_CF) if rhp_on_default else
        changed(behavior(CACHING_DISABLED, ALL_VIEWER_AND_CF), responseHeadersPolicyId=DELETE),
        orderedCacheBehaviors=[behavior(CACHING_OPTIMIZED, HOST_ONLY, pathPattern="/_next/static/*",
                                        responseHeadersPolicyId=ordered_rhp)],
        **({} if acl else {"webAclId": DELETE}))
    cdn = resource(DISTRIBUTION, "cdn", dist_inputs, deps={
        "origins": [lb], "webAclId": [web_acl] if acl else [], "defaultCacheBehavior": [rhp] if rhp_on_default else [],
        "orderedCacheBehaviors": [rhp]})
    out = [group, *rules, lb, https, forward, web_acl, rhp, cdn]
    if private_paths_priority is not None:  # the metrics endpoint answered 404 by the ALB
        out.append(resource(LISTENER_RULE, "private-paths", {
            "listenerArn": "arn:listener", "priority": private_paths_priority, "tags": TAGS,
            "conditions": [{"pathPattern": {"values": ["/metrics", "/metrics/*", "/api/metrics", "/api/metrics/*"]}}],
            "actions": [{"type": "fixed-response", "fixedResponse": {"contentType": "text/plain",
                                                                     "statusCode": "404"}}]},
            deps={"listenerArn": [https]}))
    if logs:
        source = resource("aws:cloudwatch/logDeliverySource:LogDeliverySource", "logs",
                          {"name": "cdn", "logType": "ACCESS_LOGS", "resourceArn": "arn:cdn", "tags": TAGS},
                          deps={"resourceArn": [cdn]})
        out += [source, resource("aws:cloudwatch/logDelivery:LogDelivery", "delivery", {
            "deliverySourceName": "cdn", "deliveryDestinationArn": "arn:dest", "tags": TAGS,
            "recordFields": LOG_FIELDS if log_fields is None else log_fields}, deps={"deliverySourceName": [source]})]
    return out


def logged_buckets(*, alb_logs_logged: bool = True) -> list[Resource]:
    """The access-log bucket (a server-access-log target: exempt) and the ALB's log bucket that logs into it."""
    target = resource(BUCKET, "access-logs", {"bucket": "logs", "tags": TAGS}, protect=True)
    alb_logs = resource(BUCKET, "alb-logs", {"bucket": "alb", "tags": TAGS}, protect=True)
    out = [target, alb_logs]
    if alb_logs_logged:
        out.append(resource("aws:s3/bucketLogging:BucketLogging", "alb-logs", {
            "bucket": "alb", "targetBucket": "logs", "targetPrefix": "alb-logs/"},
            deps={"bucket": [alb_logs], "targetBucket": [target]}))
    return out


APP_ROLE = {"assumeRolePolicy": "{}", "path": "/maratron/prod/", "tags": TAGS,
            "permissionsBoundary": "arn:aws:iam::123456789012:policy/maratron/maratron-prod-workload-boundary"}


def stack_case(policy: str, good: list[Resource], bad: list[Resource], bad_name: str, stack: str = "prod") -> Case:
    return Case(policy, good, bad, bad_name, stack)


ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PAGING_ALARM = {"alarmActions": ["arn:aws:sns:::t"], "metricName": "x", "tags": TAGS}


def reader_stack(*, health_checked: bool = True, alarm_watched: bool = True,
                 silence: str | None = "Unhealthy") -> list[Resource]:
    """The database's reader name as components/database.py writes it: a weight-0 fallback and a replica's record
    whose health check watches a routing alarm (no actions) on the replica's ReplicaLag."""
    record_type = "aws:route53/record:Record"
    zone = resource("aws:route53/zone:Zone", "zone", {"name": "prod.maratron.internal", "tags": TAGS})
    alarm = resource(ALARM, "replica-1-health", {"metricName": "ReplicaLag", "namespace": "AWS/RDS", "tags": TAGS})
    check = resource("aws:route53/healthCheck:HealthCheck", "replica-1-check", {
        "type": "CLOUDWATCH_METRIC", "cloudwatchAlarmName": "replica-1-health", "cloudwatchAlarmRegion": "us-east-1",
        **({"insufficientDataHealthStatus": silence} if silence else {}), "tags": TAGS},
        deps={"cloudwatchAlarmName": [alarm] if alarm_watched else []})
    reader = {"zoneId": "Z1", "name": "db-reader.prod.maratron.internal", "type": "CNAME", "ttl": 30}
    fallback = resource(record_type, "primary", {**reader, "records": ["proxy.example"], "setIdentifier": "primary",
                                                 "weightedRoutingPolicies": [{"weight": 0}]}, deps={"zoneId": [zone]})
    replica = resource(record_type, "replica-1", {
        **reader, "records": ["replica-1.example"], "setIdentifier": "replica-1",
        "weightedRoutingPolicies": [{"weight": 1}], **({"healthCheckId": "hc-1"} if health_checked else {})},
        deps={"zoneId": [zone], "healthCheckId": [check] if health_checked else []})
    return [zone, alarm, check, fallback, replica]


ROLE = "aws:iam/role:Role"
GITHUB = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def github_trust(*, sub: list[str] | None = ["repo:acme/maratron-infra:environment:prod"],  # noqa: B006
                 aud: str = "sts.amazonaws.com", operator: str = "StringEquals",
                 extra: dict[str, Any] | None = None) -> str:
    exact: dict[str, Any] = {"token.actions.githubusercontent.com:aud": aud}
    condition: dict[str, Any] = {"StringEquals": exact, **(extra or {})}
    if sub is not None:
        condition.setdefault(operator, {})["token.actions.githubusercontent.com:sub"] = sub
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": GITHUB}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition}]})


CI_ROLE = {"assumeRolePolicy": github_trust(), "path": "/maratron/ci/", "tags": TAGS}
ECR_REPOSITORY = {"name": "maratron/web", "imageTagMutability": "IMMUTABLE", "imageScanningConfiguration": {
    "scanOnPush": True}, "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY}], "tags": TAGS}
ECR_LIFECYCLE = json.dumps({"rules": [
    {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPatternList": ["deployed-prod-*"],
                                      "countType": "imageCountMoreThan", "countNumber": 1000},
     "action": {"type": "expire"}},
    {"rulePriority": 100, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 100},
     "action": {"type": "expire"}}]})
ECR_PREFIX_LIFECYCLE = json.dumps({"rules": [
    {**rule, "selection": {**{k: v for k, v in rule["selection"].items() if k != "tagPatternList"},
                           "tagPrefixList": ["deployed-"]}} if "tagPatternList" in rule["selection"] else rule
    for rule in json.loads(ECR_LIFECYCLE)["rules"]]})
"""ECR_LIFECYCLE selecting the deployed images by tagPrefixList instead of tagPatternList."""
ECR_PREFIX_CATCH_ALL_FIRST = json.dumps({"rules": [{**r, "rulePriority": 200 - r["rulePriority"]}
                                                   for r in json.loads(ECR_PREFIX_LIFECYCLE)["rules"]]})


PROXY = {"engineFamily": "POSTGRESQL", "requireTls": True, "debugLogging": False, "tags": TAGS, "auths": [
    {"authScheme": "SECRETS", "clientPasswordAuthType": "POSTGRES_SCRAM_SHA_256", "iamAuth": "DISABLED",
     "secretArn": "arn:aws:secretsmanager:us-east-1:1:secret:users/app_rw"}]}
SECRET_TYPE = "aws:secretsmanager/secret:Secret"
KIND = "maratron:secret-kind"


def proxied_stack(*, target: bool = True, service_to_primary: bool = False, legacy_to_primary: bool = False,
                  inline_to_primary: bool = False) -> list[Resource]:
    web_sg = resource(SG, "web-sg", {"vpcId": "vpc-1", "description": "web", "tags": TAGS})
    db_sg = resource(SG, "db-sg", {"vpcId": "vpc-1", "description": "db", "tags": TAGS}) if not inline_to_primary \
        else resource(SG, "db-sg", {"vpcId": "vpc-1", "description": "db", "tags": TAGS, "ingress": [
            {"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "securityGroups": ["sg-web"]}]},
            deps={"ingress": [web_sg]})
    proxy_sg = resource(SG, "proxy-sg", {"vpcId": "vpc-1", "description": "proxy", "tags": TAGS})
    primary = resource(RDS, "primary", RDS_PRIMARY, protect=True, deps={"vpcSecurityGroupIds": [db_sg]})
    proxy = resource("aws:rds/proxy:Proxy", "proxy", PROXY, deps={"vpcSecurityGroupIds": [proxy_sg]})
    web = resource("aws:ecs/service:Service", "web", {"cluster": "c", "tags": TAGS, "networkConfiguration": {
        "assignPublicIp": False, "subnets": ["s"], "securityGroups": ["sg-web"]}},
        deps={"networkConfiguration": [web_sg]})
    out = [db_sg, web_sg, proxy_sg, primary, proxy, web,
           resource(SG_RULE, "db-from-proxy", RULE_FROM_SG, deps={"securityGroupId": [db_sg],
                                                                  "referencedSecurityGroupId": [proxy_sg]})]
    if target:
        out.append(resource("aws:rds/proxyTarget:ProxyTarget", "target", {"dbProxyName": "p",
                                                                           "targetGroupName": "default",
                                                                           "dbInstanceIdentifier": "db"},
                            deps={"dbProxyName": [proxy], "dbInstanceIdentifier": [primary]}))
    if service_to_primary:
        out.append(resource(SG_RULE, "db-from-web", RULE_FROM_SG, deps={"securityGroupId": [db_sg],
                                                                        "referencedSecurityGroupId": [web_sg]}))
    if legacy_to_primary:
        out.append(resource(LEGACY_RULE, "legacy-db-from-web", {
            "type": "ingress", "securityGroupId": "sg-1", "sourceSecurityGroupId": "sg-web", "protocol": "tcp",
            "fromPort": 5432, "toPort": 5432}, deps={"securityGroupId": [db_sg], "sourceSecurityGroupId": [web_sg]}))
    return out


def rotated_stack(kind: str | None = "database-connection", *, schedule: str | None = "rate(30 days)",
                  task_reads: str = "app-rw") -> list[Resource]:
    tags = TAGS if kind is None else {**TAGS, KIND: kind}
    secret = resource(SECRET_TYPE, "app-rw", {"kmsKeyId": KEY, "tags": tags})
    master = resource(SECRET_TYPE, "master", {"kmsKeyId": KEY, "tags": {**TAGS, KIND: "database-master"}})
    manual = resource(SECRET_TYPE, "anthropic", {"kmsKeyId": KEY, "tags": {**TAGS, KIND: "manual"}})
    out = [secret, master, manual,
           resource("aws:secretsmanager/secretRotation:SecretRotation", "master-rotation", {
               "secretId": "m", "rotationLambdaArn": "arn:fn", "rotationRules": {"scheduleExpression":
                                                                                 "rate(30 days)"}},
               deps={"secretId": [master]}),
           resource(TASK, "web-task", task(), deps={"containerDefinitions": [
               {"app-rw": secret, "master": master}[task_reads]]})]
    if schedule is not None:
        out.append(resource("aws:secretsmanager/secretRotation:SecretRotation", "app-rw-rotation", {
            "secretId": "s", "rotationLambdaArn": "arn:fn",
            "rotationRules": {"scheduleExpression": schedule, "duration": "3h"}}, deps={"secretId": [secret]}))
    return out


FUNCTION = {"runtime": "python3.12", "handler": "db_admin.handler.lambda_handler", "role": "arn:role", "tags": TAGS,
            "vpcConfig": {"subnetIds": ["subnet-a"], "securityGroupIds": ["sg-1"]},
            "loggingConfig": {"logFormat": "JSON", "logGroup": "/maratron-prod/lambda/db-admin"}}


def redis_users_stack(*, default_access: str = "off -@all", auth_token: bool = False,
                      app_auth: str = "password", app_no_password: bool = False) -> list[Resource]:
    default = resource("aws:elasticache/user:User", "default-user", {
        "userId": "r-default", "userName": "default", "accessString": default_access, "engine": "redis",
        "tags": TAGS})
    app = resource("aws:elasticache/user:User", "app-user", {
        "userId": "r-app", "userName": "maratron-app", "accessString": "on ~* &* +@all", "engine": "redis",
        "authenticationMode": {"type": app_auth}, "tags": TAGS, **({"noPasswordRequired": True} if app_no_password
                                                                    else {})})
    group = resource("aws:elasticache/userGroup:UserGroup", "users", {
        "userGroupId": "r-users", "engine": "redis", "userIds": ["r-default", "r-app"], "tags": TAGS},
        deps={"userIds": [default, app]})
    inputs = changed(REDIS, authToken=DELETE, userGroupIds=["r-users"])
    if auth_token:
        inputs["authToken"] = REDIS["authToken"]
    return [default, app, group, resource(RG, "redis", inputs, protect=True, deps={"userGroupIds": [group]})]


WORKSPACE = "aws:amp/workspace:Workspace"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
WS_ARN = "arn:aws:aps:us-east-1:123456789012:workspace/ws-0123abcd-4567-89ab-cdef-0123456789ab"
AMP = {"alias": "maratron-prod", "kmsKeyArn": KEY, "tags": TAGS,
       "loggingConfiguration": {"logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/p:*"}}
AMP_WRITE = json.dumps({"Statement": [{"Effect": "Allow", "Action": ["aps:RemoteWrite"], "Resource": [WS_ARN]}]})
TOPIC_DOC = json.dumps({"Statement": [{
    "Sid": "Amp", "Effect": "Allow", "Principal": {"Service": "aps.amazonaws.com"},
    "Action": ["sns:Publish", "sns:GetTopicAttributes"], "Resource": "arn:topic",
    "Condition": {"ArnEquals": {"aws:SourceArn": WS_ARN}, "StringEquals": {"aws:SourceAccount": "123456789012"}}}]})
ALERT_MANAGER_DOC = ("alertmanager_config: |\n  route:\n    receiver: alert-topic\n  receivers:\n"
                     "  - name: alert-topic\n    sns_configs:\n    - topic_arn: arn:topic\n      sigv4:\n"
                     "        region: us-east-1\n")
GRAFANA_WS = {"accountAccessType": "CURRENT_ACCOUNT", "authenticationProviders": ["AWS_SSO"],
              "permissionType": "CUSTOMER_MANAGED", "roleArn": "arn:aws:iam::123456789012:role/g", "tags": TAGS}
COLLECTOR = {"name": "metrics-collector", "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0",
             "user": "4317:4317", "readonlyRootFilesystem": True, "privileged": False, "essential": False,
             "linuxParameters": {"capabilities": {"add": [], "drop": ["ALL"]}, "initProcessEnabled": True},
             "logConfiguration": {"logDriver": "awslogs", "options": {}},
             "environment": [{"name": "AOT_CONFIG_CONTENT", "value": "receivers: {}"}], "secrets": []}


def with_sidecar(**sidecar_changes: Any) -> dict[str, Any]:
    return {"family": "web", "tags": TAGS,
            "containerDefinitions": json.dumps([CONTAINER, changed(COLLECTOR, **sidecar_changes)])}


def amp_stack(*, rules: bool = True, manager: bool = True, receiver: bool = True,
              topic_grant: bool = True) -> list[Resource]:
    workspace = resource(WORKSPACE, "workspace", AMP)
    topic = resource("aws:sns/topic:Topic", "alerts", {"name": "alerts", "kmsMasterKeyId": KEY, "tags": TAGS})
    out = [workspace, topic,
           resource(TOPIC_POLICY, "alerts", {"arn": "arn:topic", "policy": TOPIC_DOC},
                    deps={"arn": [topic], "policy": [workspace] if topic_grant else []})]
    if rules:
        out.append(resource("aws:amp/ruleGroupNamespace:RuleGroupNamespace", "rules",
                            {"name": "maratron-app", "workspaceId": "ws-1", "data": "groups: []", "tags": TAGS},
                            deps={"workspaceId": [workspace]}))
    if manager:
        definition = ALERT_MANAGER_DOC if receiver else "alertmanager_config: |\n  route:\n    receiver: none\n"
        out.append(resource("aws:amp/alertManagerDefinition:AlertManagerDefinition", "alerts",
                            {"workspaceId": "ws-1", "definition": definition},
                            deps={"workspaceId": [workspace], "definition": [topic]}))
    return out


VPC = {"cidrBlock": "10.0.0.0/16", "tags": TAGS}
vpc = resource("aws:ec2/vpc:Vpc", "bad", VPC)
good_vpc = resource("aws:ec2/vpc:Vpc", "good", VPC)

# --- issue 9: how AWS runs the stack (each bad variant is what main registered before the fix) -----------------------
SERVICE = "aws:ecs/service:Service"
KEY_TYPE = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ACCOUNT = "123456789012"
STEADY = {"cluster": "c", "networkConfiguration": {"assignPublicIp": False, "subnets": ["s"]}, "tags": TAGS,
          "waitForSteadyState": True, "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
BOUNDED = {"create": "30m", "update": "30m", "delete": "30m"}


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


DEPLOY_POLICY = doc(
    {"Sid": "CreateWorkloadRoles", "Effect": "Allow", "Action": ["iam:CreateRole"],
     "Resource": "arn:aws:iam::2:role/maratron/prod/*"},
    {"Sid": "DenyBoundaryRemoval", "Effect": "Deny", "Action": ["iam:DeleteRolePermissionsBoundary"], "Resource": "*"},
    {"Sid": "DenyFoundationIdentities", "Effect": "Deny", "Action": ["iam:*"],
     "Resource": ["arn:aws:iam::2:role/maratron/ci/*", "arn:aws:iam::2:oidc-provider/*"]},
    {"Sid": "DenyLongLivedCredentials", "Effect": "Deny", "Action": ["iam:CreateUser", "iam:CreateAccessKey"],
     "Resource": "*"},
    {"Sid": "DenyAccountAndOrganization", "Effect": "Deny", "Action": ["organizations:*"], "Resource": "*"},
    {"Sid": "DenyAuditTampering", "Effect": "Deny", "Action": ["cloudtrail:StopLogging"], "Resource": "*"},
    {"Sid": "DenyManagingFoundationKeys", "Effect": "Deny", "NotAction": ["kms:Decrypt"],
     "Resource": ["arn:aws:kms:us-east-1:1:key/k"]},
    {"Sid": "DenyRegistryChanges", "Effect": "Deny", "NotAction": ["ecr:BatchGetImage"],
     "Resource": ["arn:aws:ecr:*:*:repository/*"]},
    {"Sid": "DenyOtherEnvironmentsMetrics", "Effect": "Deny", "Action": "aps:*", "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:ResourceTag/environment": "prod"},
                   "Null": {"aws:ResourceTag/environment": "false"}}},
    {"Sid": "DenyTaggingMetricsForOtherEnvironments", "Effect": "Deny", "Action": ["aps:TagResource"],
     "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestTag/environment": "prod"},
                                    "Null": {"aws:RequestTag/environment": "false"}}})
"""A role-creating policy with every explicit Deny components/ci_roles.py deny_statements writes, and the one its
deploy_boundary_statements adds (required of a managed policy: the boundary)."""


def deploy_policy(action: str, *, drop: str | None = None) -> str:
    """DEPLOY_POLICY whose role-creating Allow names `action` (a wildcard or another case), without the `drop` Deny."""
    return doc(*[{**st, "Action": [action]} if st["Sid"] == "CreateWorkloadRoles" else st
                 for st in json.loads(DEPLOY_POLICY)["Statement"] if st["Sid"] != drop])


ROOT_STATEMENT = {"Sid": "EnableIamPoliciesOfThisAccount", "Effect": "Allow",
                  "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
ALARMS_STATEMENT = {"Sid": "Alarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
EVENTS_STATEMENT = {"Sid": "Events", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}
MAIN_TOPIC_STATEMENT = {"Sid": "AllowAlarmPublishingToEncryptedTopic", "Effect": "Allow",
                        "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
LOGS_STATEMENT = {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                  "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                             "kms:Describe*"], "Resource": "*",
                  "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                            f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:*"}}}


def key(name: str, *service_statements: dict[str, Any]) -> Resource:
    return resource(KEY_TYPE, name, {"enableKeyRotation": True, "tags": TAGS,
                                     "policy": doc(ROOT_STATEMENT, *service_statements)})


def alerting_stack(*topic_key_statements: dict[str, Any], log_group_on_topic_key: bool = False) -> list[Resource]:
    topic_key = key("alerts", *topic_key_statements)
    logs_key = key("logs", LOGS_STATEMENT)
    topic = resource("aws:sns/topic:Topic", "topic", {"kmsMasterKeyId": KEY, "tags": TAGS},
                     deps={"kmsMasterKeyId": [topic_key]})
    alarm = resource("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm", {"alarmActions": ["arn:topic"], "tags": TAGS},
                     deps={"alarmActions": [topic]})
    target = resource("aws:cloudwatch/eventTarget:EventTarget", "deploy-failed", {"arn": "arn:topic", "rule": "r"},
                      deps={"arn": [topic]})
    group_key = topic_key if log_group_on_topic_key else logs_key
    group = resource("aws:cloudwatch/logGroup:LogGroup", "group", {"retentionInDays": 365, "kmsKeyId": KEY,
                                                                   "tags": TAGS}, deps={"kmsKeyId": [group_key]})
    return [topic_key, logs_key, topic, alarm, target, group]


FARGATE_STATEMENT = {"Sid": "FargateEphemeralStorage", "Effect": "Allow",
                     "Principal": {"Service": "fargate.amazonaws.com"},
                     "Action": ["kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant"], "Resource": "*",
                     "Condition": {"StringEquals": {"kms:EncryptionContext:aws:ecs:clusterAccount": ACCOUNT,
                                                    "kms:EncryptionContext:aws:ecs:clusterName": "maratron"}}}


def storage_key_stack(*, storage_grants_fargate: bool = True) -> list[Resource]:
    """A cluster encrypting Fargate ephemeral storage with one key and execute-command sessions with another, the
    execute-command key listed first among the `configuration` links."""
    storage = key("storage", *([FARGATE_STATEMENT] if storage_grants_fargate else []))
    sessions = key("sessions", FARGATE_STATEMENT)
    storage.outputs["arn"] = "arn:aws:kms:us-east-1:1:key/storage"
    sessions.outputs["arn"] = "arn:aws:kms:us-east-1:1:key/sessions"
    cluster = resource("aws:ecs/cluster:Cluster", "cluster", {"tags": TAGS, "configuration": {
        "executeCommandConfiguration": {"kmsKeyId": "arn:aws:kms:us-east-1:1:key/sessions", "logging": "DEFAULT"},
        "managedStorageConfiguration": {"fargateEphemeralStorageKmsKeyId": "arn:aws:kms:us-east-1:1:key/storage"}}},
        deps={"configuration": [sessions, storage]})
    return [storage, sessions, cluster]


def service_connect_stack(*, timeout: dict[str, Any] | None, idle: int = 300, origin_read: int | None = None,
                          web_depends_on_ai: bool = True) -> list[Resource]:
    alb = resource(LB, "alb", changed(ALB, idleTimeout=idle))
    cdn = [] if origin_read is None else [resource(DISTRIBUTION, "cdn", {"origins": [{
        "originId": "alb", "domainName": "alb.example.com", "customOriginConfig": {
            "originProtocolPolicy": "https-only", "originReadTimeout": origin_read}}], "tags": TAGS})]
    ai_task = resource(TASK, "ai-task", task(name="ai", portMappings=[
        {"name": "http", "containerPort": 8000, "appProtocol": "http"}]))
    entry: dict[str, Any] = {"portName": "http", "discoveryName": "ai", "clientAlias": [{"port": 8000,
                                                                                        "dnsName": "ai"}]}
    if timeout is not None:
        entry["timeout"] = timeout
    ai = resource(SERVICE, "ai", {**STEADY, "serviceConnectConfiguration": {"enabled": True, "services": [entry]}},
                  deps={"taskDefinition": [ai_task]}, custom_timeouts=BOUNDED)
    web_task = resource(TASK, "web-task", task(environment=[{"name": "AI_SERVER_URL", "value": "http://ai:8000"}]))
    web = resource(SERVICE, "web", {**STEADY, "serviceConnectConfiguration": {"enabled": True}},
                   deps={"taskDefinition": [web_task]}, depends_on=[ai] if web_depends_on_ai else [],
                   custom_timeouts=BOUNDED)
    return [alb, *cdn, ai_task, ai, web_task, web]


def spot_stack(*, platform: str | None, spot: bool = True) -> list[Resource]:
    cluster = resource("aws:ecs/cluster:Cluster", "cluster", {"settings": [], "tags": TAGS})
    providers = resource("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "providers", {
        "clusterName": "c", "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
        "defaultCapacityProviderStrategies": [{"capacityProvider": "FARGATE_SPOT" if spot else "FARGATE",
                                               "weight": 1}]}, deps={"clusterName": [cluster]})
    arm_task = resource(TASK, "arm-task", {**task(), "runtimePlatform": {"cpuArchitecture": "ARM64",
                                                                         "operatingSystemFamily": "LINUX"}})
    inputs = {**STEADY, **({"platformVersion": platform} if platform else {})}
    service = resource(SERVICE, "svc", inputs, deps={"taskDefinition": [arm_task], "cluster": [cluster]},
                       custom_timeouts=BOUNDED)
    return [cluster, providers, arm_task, service]


def spot_web_stack(*, spot: bool, delay: int | None) -> list[Resource]:
    """A load-balanced service (on Spot or not) behind a target group draining `delay` s (None: ELB's 300)."""
    group = resource("aws:lb/targetGroup:TargetGroup", "web-tg", {
        "port": 3000, "protocol": "HTTP", "targetType": "ip", "tags": TAGS,
        **({"deregistrationDelay": delay} if delay is not None else {})})
    strategy = [{"capacityProvider": "FARGATE_SPOT" if spot else "FARGATE", "weight": 1}]
    service = resource(SERVICE, "web", {**STEADY, "capacityProviderStrategies": strategy, "loadBalancers": [
        {"targetGroupArn": "arn:tg", "containerName": "web", "containerPort": 3000}]},
        deps={"loadBalancers": [group]}, custom_timeouts=BOUNDED)
    return [group, service]


EXPORT_S3 = {"Effect": "Allow", "Action": ["s3:PutObject*", "s3:GetObject*", "s3:DeleteObject*"],
             "Resource": ["arn:aws:s3:::archive/exports/*"]}
EXPORT_KMS_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant",
                      "kms:DescribeKey", "kms:RetireGrant"]


def export_stack(*, kms_resource: str | None) -> list[Resource]:
    backups = key("backups")
    bucket = resource(BUCKET, "archive", {"bucket": "archive", "tags": TAGS}, protect=True)
    sse = resource(SSE, "archive", {"bucket": "archive", "rules": [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}}]}, deps={"bucket": [bucket], "rules": [backups]})
    role = resource(ROLE, "snapshot-export", {"tags": TAGS, "assumeRolePolicy": doc({
        "Effect": "Allow", "Principal": {"Service": "export.rds.amazonaws.com"}, "Action": "sts:AssumeRole"})})
    statements = [EXPORT_S3]
    if kms_resource is not None:
        statements.append({"Effect": "Allow", "Action": EXPORT_KMS_ACTIONS, "Resource": [kms_resource]})
    policy = resource(ROLE_POLICY, "snapshot-export", {"role": "r", "policy": doc(*statements)},
                      deps={"role": [role], "policy": [bucket, backups]})
    return [backups, bucket, sse, role, policy]


def schedule_stack(*, encrypted: bool = True, role_decrypts: bool = True) -> list[Resource]:
    backups = key("backups")
    role = resource(ROLE, "scheduler", {"tags": TAGS, "assumeRolePolicy": doc({
        "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"})})
    statements = [{"Effect": "Allow", "Action": ["ecs:RunTask"], "Resource": ["arn:task:*"]}]
    if role_decrypts:
        statements.append({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KEY]})
    policy = resource(ROLE_POLICY, "scheduler", {"role": "r", "policy": doc(*statements)},
                      deps={"role": [role], "policy": [backups] if role_decrypts else []})
    inputs: dict[str, Any] = {"scheduleExpression": "rate(6 hours)", "target": {"arn": "c", "roleArn": "arn:role"}}
    deps: dict[str, list[Resource]] = {"target": [role]}
    if encrypted:
        inputs["kmsKeyArn"] = KEY
        deps["kmsKeyArn"] = [backups]
    schedule = resource("aws:scheduler/schedule:Schedule", "backup", inputs, deps=deps)
    return [backups, role, policy, schedule]


def volume_init(**changes: Any) -> dict[str, Any]:
    init = {"name": "web-volume-init", "image": "web:1", "essential": False, "user": "0", "entryPoint": ["chown"],
            "command": ["1001:1001", "/tmp"], "readonlyRootFilesystem": True, "privileged": False,
            "linuxParameters": {"capabilities": {"add": [], "drop": [
                "AUDIT_WRITE", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "NET_RAW",
                "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]}},
            "environment": [], "secrets": [], "mountPoints": [{"sourceVolume": "scratch-tmp", "containerPath": "/tmp"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {}}}
    return changed(init, **changes)


def task_with_init(init: dict[str, Any], *, waits: bool = True) -> dict[str, Any]:
    app = changed(CONTAINER, mountPoints=[{"sourceVolume": "scratch-tmp", "containerPath": "/tmp"}],
                  dependsOn=[{"containerName": "web-volume-init", "condition": "SUCCESS"}] if waits else [])
    return {"family": "web", "containerDefinitions": json.dumps([init, app]), "tags": TAGS}


CASES: list[Case] = [
    # network
    single("security-group-no-internet-ingress", SG, WEB_INGRESS,
           ingress=[{"protocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrBlocks": ["0.0.0.0/0"]}]),
    single("security-group-no-internet-ingress", SG_RULE, changed(RULE_FROM_SG, fromPort=443, toPort=443),
           label="ipv6-all-ports", referencedSecurityGroupId=DELETE, cidrIpv6="::/0", ipProtocol="-1"),
    single("security-group-no-admin-ports", SG_RULE, RULE_FROM_SG, referencedSecurityGroupId=DELETE,
           cidrIpv4="10.0.0.0/16"),
    single("security-group-no-admin-ports", LEGACY_RULE,
           {"type": "ingress", "protocol": "tcp", "fromPort": 6379, "toPort": 6379, "securityGroupId": "sg-1",
            "sourceSecurityGroupId": "sg-2"}, label="legacy-all-traffic",
           sourceSecurityGroupId=DELETE, protocol="-1", fromPort=0, toPort=0, cidrBlocks=["10.0.0.0/8"]),
    single("security-group-no-admin-ports", SG, {"vpcId": "vpc-1", "description": "x", "tags": TAGS, "ingress": [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "securityGroups": ["sg-bastion"]}]}, label="inline-ssh",
        ingress=[{"protocol": "tcp", "fromPort": 20, "toPort": 25, "cidrBlocks": ["203.0.113.0/24"]}]),
    single("default-security-group-closed", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
           {"vpcId": "vpc-1", "ingress": [], "egress": [], "tags": TAGS},
           egress=[{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]),
    single("subnet-no-public-ip-on-launch", "aws:ec2/subnet:Subnet",
           {"vpcId": "vpc-1", "cidrBlock": "10.0.0.0/20", "mapPublicIpOnLaunch": False, "tags": TAGS},
           mapPublicIpOnLaunch=True),
    stack_case("vpc-flow-logs",
               [good_vpc, resource("aws:ec2/flowLog:FlowLog", "flow", {"vpcId": "vpc-1", "trafficType": "ALL",
                                                                     "tags": TAGS}, deps={"vpcId": [good_vpc]})],
               [vpc], "bad"),
    stack_case("data-store-ingress-from-security-groups-only", database_stack(),
               database_stack(cidr_rule=True), "db-from-app"),
    stack_case("internet-ingress-only-to-public-load-balancers", web_stack(), web_stack(internet_facing=False),
               "alb-sg"),
    # edge
    single("alb-http-redirects-to-https", LISTENER, HTTP, defaultActions=[{"type": "forward",
                                                                          "targetGroupArn": "arn:tg"}]),
    single("alb-https-tls-policy", LISTENER, HTTPS, sslPolicy="ELBSecurityPolicy-2016-08"),
    single("alb-https-tls-policy", LISTENER, HTTPS, label="no-certificate", certificateArn=DELETE),
    single("alb-https-tls-policy", LISTENER, HTTPS, label="policy-unset", sslPolicy=DELETE),
    single("alb-hsts", LISTENER, HTTPS, routingHttpResponseStrictTransportSecurityHeaderValue=DELETE),
    single("alb-hsts", LISTENER, HTTPS, label="short-max-age",
           routingHttpResponseStrictTransportSecurityHeaderValue="max-age=300"),
    single("alb-drop-invalid-headers", LB, ALB, dropInvalidHeaderFields=False),
    single("alb-access-logs", LB, ALB, accessLogs={"bucket": "logs", "enabled": False}),
    stack_case("edge-waf-rate-limit", web_stack(), web_stack(associate=False), "alb"),
    stack_case("edge-waf-rate-limit", web_stack(), web_stack(acl_rules=[]), "acl"),
    # A rate rule that only counts limits nothing.
    stack_case("edge-waf-rate-limit", web_stack(), web_stack(acl_rules=[changed(RATE_RULE, action={"count": {}})]),
               "acl"),
    # Behind CloudFront the distribution is the entry point: no ACL on it is the violation ...
    stack_case("edge-waf-rate-limit", cdn_stack(), cdn_stack(acl=False), "cdn"),
    # ... and an ALB the internet can still reach around it needs its own.
    stack_case("edge-waf-rate-limit", cdn_stack(), cdn_stack(world_rule=True), "alb"),
    # CDN
    single("cdn-viewer-tls", DISTRIBUTION, distribution(), viewerCertificate={
        "acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/1", "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.1_2016"}),
    single("cdn-viewer-tls", DISTRIBUTION, distribution(), label="default-certificate",
           viewerCertificate={"cloudfrontDefaultCertificate": True, "minimumProtocolVersion": "TLSv1.2_2025"}),
    single("cdn-viewer-https", DISTRIBUTION, distribution(),
           orderedCacheBehaviors=[behavior(CACHING_OPTIMIZED, HOST_ONLY, pathPattern="/static/*",
                                           viewerProtocolPolicy="allow-all")]),
    single("cdn-origin-https", DISTRIBUTION, distribution(), origins=[changed(distribution()["origins"][0],
           customOriginConfig={"httpPort": 80, "httpsPort": 443, "originProtocolPolicy": "match-viewer",
                               "originSslProtocols": ["TLSv1.2"]})]),
    single("cdn-origin-https", DISTRIBUTION, distribution(), label="tls1", origins=[changed(
        distribution()["origins"][0], customOriginConfig={"httpPort": 80, "httpsPort": 443,
                                                          "originProtocolPolicy": "https-only",
                                                          "originSslProtocols": ["TLSv1", "TLSv1.2"]})]),
    single("cdn-dynamic-not-cached", DISTRIBUTION, distribution(),
           defaultCacheBehavior=behavior(CACHING_OPTIMIZED, ALL_VIEWER_AND_CF)),
    single("cdn-dynamic-not-cached", DISTRIBUTION, distribution(), label="cached-with-cookies",
           orderedCacheBehaviors=[behavior(CACHING_OPTIMIZED, ALL_VIEWER_AND_CF, pathPattern="/account/*")]),
    stack_case("cdn-security-headers", cdn_stack(), cdn_stack(rhp_on_default=False), "cdn"),
    # one behavior uses another policy (Managed-SimpleCORS, no security headers) while the others use the stack's
    stack_case("cdn-security-headers", cdn_stack(), cdn_stack(ordered_rhp="60669652-455b-4ae9-85a4-c4c02393f86c"),
               "cdn"),
    stack_case("cdn-security-headers", cdn_stack(), cdn_stack(headers=changed(
        SECURITY_HEADERS, strictTransportSecurity={"accessControlMaxAgeSec": 300, "includeSubdomains": True,
                                                   "preload": True, "override": True})), "headers"),
    stack_case("cdn-security-headers", cdn_stack(), cdn_stack(headers=changed(SECURITY_HEADERS,
                                                                              referrerPolicy=DELETE)), "headers"),
    # override false: the origin's own (weaker) header would reach the viewer instead
    stack_case("cdn-security-headers", cdn_stack(), cdn_stack(headers=changed(
        SECURITY_HEADERS, frameOptions={"frameOption": "DENY", "override": False})), "headers"),
    single("cdn-cache-keys-without-cookies", CACHE_POLICY, NEXT_IMAGE_CACHE_POLICY,
           parametersInCacheKeyAndForwardedToOrigin=changed(
               NEXT_IMAGE_CACHE_POLICY["parametersInCacheKeyAndForwardedToOrigin"],
               cookiesConfig={"cookieBehavior": "all"})),
    stack_case("cdn-access-logs", cdn_stack(), cdn_stack(logs=False), "cdn"),
    stack_case("cdn-access-logs", cdn_stack(), cdn_stack(log_fields=[*LOG_FIELDS, "cs(Cookie)"]), "delivery"),
    stack_case("cdn-origin-ingress-cloudfront-only", cdn_stack(), cdn_stack(world_rule=True), "alb-from-world"),
    stack_case("cdn-origin-secret-header", cdn_stack(), cdn_stack(header_condition=False), "forward"),
    stack_case("cdn-origin-secret-header", cdn_stack(), cdn_stack(forward_default=True), "https"),
    stack_case("cdn-origin-secret-header", cdn_stack(), cdn_stack(sends_header=False), "cdn"),
    # the secret goes to another origin, not the one pointing at the ALB
    stack_case("cdn-origin-secret-header", cdn_stack(), cdn_stack(header_on_other_origin=True), "cdn"),
    stack_case("s3-access-logging", logged_buckets(), logged_buckets(alb_logs_logged=False), "alb-logs"),
    stack_case("alb-has-https-listener", web_stack(), web_stack(https=False), "alb"),
    Case("alb-rule-match-limits",
         [resource(LISTENER_RULE, "three", {"conditions": [{"pathPattern": {"values": ["/a", "/b", "/c"]}},
                                                           {"hostHeader": {"values": ["x.example.com"]}}]})],
         [resource(LISTENER_RULE, "four", {"conditions": [{"pathPattern": {"values": ["/a", "/b", "/c", "/d"]}}]})],
         "four"),
    Case("alb-rule-match-limits", [], [resource(LISTENER_RULE, "six", {"conditions": [
        {"pathPattern": {"values": ["/a", "/b", "/c"]}}, {"hostHeader": {"values": ["x", "y", "z"]}}]})], "six"),
    stack_case("alb-private-paths-refused", cdn_stack(), cdn_stack(private_paths_priority=None), "https"),
    stack_case("alb-private-paths-refused", cdn_stack(), cdn_stack(private_paths_priority=200), "https"),
    # database
    single("rds-encrypted-with-cmk", RDS, RDS_PRIMARY, storageEncrypted=False),
    single("rds-encrypted-with-cmk", RDS, RDS_PRIMARY, label="aws-managed-key", kmsKeyId=DELETE),
    single("rds-not-public", RDS, RDS_PRIMARY, publiclyAccessible=True),
    single("rds-backup-retention", RDS, RDS_PRIMARY, backupRetentionPeriod=3),
    single("rds-deletion-protection", RDS, RDS_PRIMARY, deletionProtection=False),
    single("rds-multi-az", RDS, RDS_PRIMARY, multiAz=False),
    single("rds-final-snapshot", RDS, RDS_PRIMARY, skipFinalSnapshot=True),
    single("rds-iam-authentication", RDS, RDS_PRIMARY, iamDatabaseAuthenticationEnabled=False),
    single("rds-performance-insights-encrypted", RDS, RDS_PRIMARY, performanceInsightsKmsKeyId=DELETE),
    single("rds-log-exports", RDS, RDS_PRIMARY, enabledCloudwatchLogsExports=["upgrade"]),
    stack_case("rds-force-ssl", database_stack(), database_stack(force_ssl="0"), "pg"),
    stack_case("rds-primary-has-replica", database_stack(), database_stack(replica=False), "primary"),
    single("rds-static-parameters-pending-reboot", PG, {"family": "postgres15", "tags": TAGS, "parameters": [
        {"name": "shared_buffers", "value": "32768", "applyMethod": "pending-reboot"},
        {"name": "work_mem", "value": "4096", "applyMethod": "immediate"}]},
        parameters=[{"name": "shared_buffers", "value": "32768", "applyMethod": "immediate"}]),
    stack_case("rds-replica-uses-source-key", database_stack(), [
        *database_stack(replica=False),
        resource(RDS, "replica", changed(RDS_PRIMARY, replicateSourceDb="primary", backupRetentionPeriod=0,
                                         kmsKeyId=KEY.replace("1111", "9999"), password=DELETE),
                 deps={"replicateSourceDb": [database_stack(replica=False)[-1]]})], "replica"),
    # replicas before their source; the good side's replica ends Saturday, the source starts Sunday
    *(stack_case("rds-replica-maintenance-before-source",
                 database_stack(windows=("sun:04:30-sun:05:30", "sat:04:30-sat:05:30")),
                 database_stack(windows=("sun:04:30-sun:05:30", replica_window)), "replica")
      for replica_window in ("mon:04:30-mon:05:30",  # the day after the source: upgraded after it
                             "wed:04:30-wed:05:30",  # four days before: nearer after it than before
                             "sun:05:00-sun:06:00",  # overlapping the source's
                             "sat:23:30-sun:04:45")),  # ending inside the source's
    stack_case("rds-monitoring-role-ready", monitored_database(), monitored_database(waits=False), "primary"),
    # database access
    single("rds-proxy-tls", "aws:rds/proxy:Proxy", PROXY, requireTls=False),
    single("rds-proxy-tls", "aws:rds/proxy:Proxy", PROXY, label="debug-logging", debugLogging=True),
    single("rds-proxy-tls", "aws:rds/proxy:Proxy", PROXY, label="md5-logins",
           auths=[changed(PROXY["auths"][0], clientPasswordAuthType="POSTGRES_MD5")]),
    stack_case("rds-services-through-proxy", proxied_stack(), proxied_stack(service_to_primary=True), "db-from-web"),
    stack_case("rds-services-through-proxy", proxied_stack(), proxied_stack(target=False), "primary"),
    stack_case("rds-services-through-proxy", proxied_stack(), proxied_stack(legacy_to_primary=True),
               "legacy-db-from-web"),
    stack_case("rds-services-through-proxy", proxied_stack(), proxied_stack(inline_to_primary=True), "db-sg"),
    stack_case("secrets-rotated", rotated_stack(), rotated_stack(schedule="rate(90 days)"), "app-rw-rotation"),
    stack_case("secrets-rotated", rotated_stack(), rotated_stack(schedule=None), "app-rw"),
    stack_case("secrets-rotated", rotated_stack("manual", schedule=None), rotated_stack(None), "app-rw"),
    stack_case("no-master-secret-in-tasks", rotated_stack(), rotated_stack(task_reads="master"), "web-task"),
    single("lambda-in-vpc-with-own-logs", "aws:lambda/function:Function", FUNCTION, vpcConfig=DELETE),
    single("lambda-in-vpc-with-own-logs", "aws:lambda/function:Function", FUNCTION, label="default-log-group",
           loggingConfig={"logFormat": "JSON"}),
    single("lambda-in-vpc-with-own-logs", "aws:lambda/function:Function", FUNCTION, label="old-runtime",
           runtime="python3.8"),
    stack_case("redis-rbac-default-user-off", redis_users_stack(), redis_users_stack(default_access="on ~* +@all"),
               "default-user"),
    stack_case("redis-rbac-default-user-off", redis_users_stack(), redis_users_stack(auth_token=True), "redis"),
    stack_case("redis-rbac-default-user-off", redis_users_stack(), redis_users_stack(app_auth="no-password-required"),
               "app-user"),
    # pulumi-aws v7's top-level noPasswordRequired says the same.
    stack_case("redis-rbac-default-user-off", redis_users_stack(), redis_users_stack(app_no_password=True), "app-user"),
    single("lambda-permission-source-scoped", "aws:lambda/permission:Permission",
           {"function": "maratron-prod-db-admin", "principal": "secretsmanager.amazonaws.com",
            "action": "lambda:InvokeFunction",
            "sourceArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:maratron-prod/database/app_rw-AbCdEf"},
           sourceArn=DELETE),
    # cache
    single("redis-auth", RG, REDIS, authToken=DELETE),
    single("redis-transit-encryption", RG, REDIS, transitEncryptionEnabled=False),
    single("redis-transit-encryption", RG, REDIS, label="preferred-mode", transitEncryptionMode="preferred"),
    single("redis-at-rest-encryption-cmk", RG, REDIS, atRestEncryptionEnabled=False),
    single("redis-at-rest-encryption-cmk", RG, REDIS, label="aws-managed-key", kmsKeyId=DELETE),
    single("redis-automatic-failover", RG, REDIS, automaticFailoverEnabled=False),
    single("redis-in-vpc", RG, REDIS, subnetGroupName=DELETE),
    # containers
    Case("container-non-root", [resource(TASK, "good", task())], [resource(TASK, "bad", task(user=DELETE))], "bad"),
    Case("container-non-root", [], [resource(TASK, "uid-0", task(user="0:0"))], "uid-0"),
    Case("container-read-only-root-filesystem", [], [resource(TASK, "bad", task(readonlyRootFilesystem=False))],
         "bad"),
    Case("container-not-privileged", [], [resource(TASK, "bad", task(privileged=True))], "bad"),
    Case("container-logging", [], [resource(TASK, "bad", task(logConfiguration=DELETE))], "bad"),
    Case("container-no-plaintext-secrets", [], [resource(TASK, "by-name", task(environment=[
        {"name": "NEXTAUTH_SECRET", "value": "x"}]))], "by-name"),
    Case("container-no-plaintext-secrets", [], [resource(TASK, "by-shape", task(environment=[
        {"name": "UPSTREAM", "value": "sk-ant-api03-" + "a" * 40}]))], "by-shape"),
    single("ecs-service-no-public-ip", "aws:ecs/service:Service",
           {"cluster": "c", "networkConfiguration": {"assignPublicIp": False, "subnets": ["s"]}, "tags": TAGS},
           networkConfiguration={"assignPublicIp": True, "subnets": ["s"]}),
    Case("container-non-root", [resource(TASK, "good-init", task_with_init(volume_init()))],
         [resource(TASK, "init-keeps-caps", task_with_init(volume_init(linuxParameters={"capabilities": {
             "add": [], "drop": []}})))], "init-keeps-caps"),
    Case("container-non-root", [], [resource(TASK, "init-runs-more", task_with_init(volume_init(
        entryPoint=["sh", "-c"], command=["chown 1001 /tmp && ./seed"])))], "init-runs-more"),
    Case("container-non-root", [], [resource(TASK, "init-nobody-waits", task_with_init(volume_init(),
                                                                                        waits=False))],
         "init-nobody-waits"),
    Case("container-non-root", [], [resource(TASK, "init-with-secret", task_with_init(volume_init(
        secrets=[{"name": "DATABASE_URL", "valueFrom": "arn:aws:secretsmanager:x"}])))], "init-with-secret"),
    Case("ecs-service-waits-for-steady-state", [resource(SERVICE, "good", STEADY, custom_timeouts=BOUNDED)],
         [resource(SERVICE, "no-wait", changed(STEADY, waitForSteadyState=False), custom_timeouts=BOUNDED)],
         "no-wait"),
    Case("ecs-service-waits-for-steady-state", [],
         [resource(SERVICE, "unbounded", STEADY)], "unbounded"),  # main: no customTimeouts
    Case("ecs-service-waits-for-steady-state", [],
         [resource(SERVICE, "no-rollback", changed(STEADY, deploymentCircuitBreaker={"enable": True,
                                                                                     "rollback": False}),
                   custom_timeouts=BOUNDED)], "no-rollback"),
    stack_case("ecs-service-connect-timeout-covers-edge",
               service_connect_stack(timeout={"perRequestTimeoutSeconds": 0, "idleTimeoutSeconds": 360}),
               service_connect_stack(timeout=None), "ai"),  # main: AWS's 15 s per-request default
    stack_case("ecs-service-connect-timeout-covers-edge",
               service_connect_stack(timeout={"perRequestTimeoutSeconds": 600, "idleTimeoutSeconds": 600}),
               service_connect_stack(timeout={"perRequestTimeoutSeconds": 0, "idleTimeoutSeconds": 300}, idle=900),
               "ai"),  # an edge idle timeout raised past the hop's
    stack_case("ecs-service-connect-timeout-covers-edge",
               service_connect_stack(timeout={"perRequestTimeoutSeconds": 0, "idleTimeoutSeconds": 360},
                                     origin_read=60),
               service_connect_stack(timeout={"perRequestTimeoutSeconds": 0, "idleTimeoutSeconds": 360},
                                     origin_read=600), "ai"),  # CloudFront's origin read timeout is an edge hop too
    stack_case("ecs-service-connect-client-depends-on-server",
               service_connect_stack(timeout={"perRequestTimeoutSeconds": 0, "idleTimeoutSeconds": 360}),
               service_connect_stack(timeout={"perRequestTimeoutSeconds": 0, "idleTimeoutSeconds": 360},
                                     web_depends_on_ai=False), "web"),  # main: a plain string URL
    stack_case("fargate-spot-arm64-platform-version", spot_stack(platform="1.4.0"), spot_stack(platform="LATEST"),
               "svc", "dev"),
    stack_case("fargate-spot-arm64-platform-version", spot_stack(platform=None, spot=False),
               spot_stack(platform=None), "svc", "dev"),
    stack_case("fargate-spot-target-drains-within-notice", spot_web_stack(spot=True, delay=110),
               spot_web_stack(spot=True, delay=120), "web", "dev"),
    stack_case("fargate-spot-target-drains-within-notice", spot_web_stack(spot=False, delay=None),
               spot_web_stack(spot=True, delay=None), "web", "dev"),
    single("ecs-cluster-container-insights", "aws:ecs/cluster:Cluster",
           {"settings": [{"name": "containerInsights", "value": "enhanced"}], "tags": TAGS}, settings=[]),
    # secrets
    single("secretsmanager-cmk", "aws:secretsmanager/secret:Secret", {"kmsKeyId": KEY, "tags": TAGS},
           kmsKeyId=DELETE),
    single("secretsmanager-name-unambiguous", "aws:secretsmanager/secret:Secret",
           {"name": "maratron-prod/app/NEXTAUTH_SECRET", "kmsKeyId": KEY, "tags": TAGS},
           name="maratron-prod/app/nextauth-secret"),
    single("no-hard-coded-secrets", RDS, RDS_PRIMARY, label="weak-password", password="changeme"),
    # pulumi-aws v7's write-only inputs (kept out of the state) are password fields too.
    single("no-hard-coded-secrets", RDS, RDS_PRIMARY, label="weak-password-wo", passwordWo="changeme"),
    *(single("no-hard-coded-secrets", type_, {"tags": TAGS}, label=f"weak-{name}", **{name: "changeme"})
      for type_, name in (("aws:rds/cluster:Cluster", "masterPasswordWo"), (RG, "authTokenWo"),
                          ("aws:elasticache/user:User", "passwordsWo"))),
    # Long enough and on no weak list, but low-entropy (2.5 bits/char): typed by a person. The good side is a random
    # value of the same 16 characters (4 bits/char), which a generator could have produced.
    single("no-hard-coded-secrets", RDS, changed(RDS_PRIMARY, password="tV9#qLr2!xP7mZ4@"), label="low-entropy",
           password="maratronmaratron"),
    single("no-hard-coded-secrets", "aws:lambda/function:Function", {"environment": {"variables": {}}, "tags": TAGS},
           label="aws-key", environment={"variables": {"KEY": "AKIAIOSFODNN7EXAMPLE"}}),
    single("no-hard-coded-secrets", "aws:ecs/taskDefinition:TaskDefinition", task(), label="url-password",
           containerDefinitions=json.dumps([changed(CONTAINER, command=[
               "psql", "postgres://app:hunter22@db.internal:5432/app"])])),
    # storage
    single("s3-encryption", SSE, {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}}]}, rules=[]),
    single("s3-versioning", VERSIONING, {"bucket": "b", "versioningConfiguration": {"status": "Enabled"}},
           versioningConfiguration={"status": "Suspended"}),
    single("s3-public-access-block", PAB, {"bucket": "b", "blockPublicAcls": True, "blockPublicPolicy": True,
                                           "ignorePublicAcls": True, "restrictPublicBuckets": True},
           restrictPublicBuckets=False),
    single("s3-tls-only-policy", BUCKET_POLICY, {"bucket": "b", "policy": TLS_ONLY}, policy=SCOPED_DOC),
    single("s3-no-force-destroy", BUCKET, {"bucket": "b", "forceDestroy": False, "tags": TAGS}, forceDestroy=True),
    stack_case("s3-bucket-hardening", bucket_stack(), bucket_stack(policy=False), "backups"),
    stack_case("s3-bucket-hardening", bucket_stack(), bucket_stack(kms=False), "backups"),
    stack_case("s3-bucket-hardening", [*bucket_stack(kms=False), resource(
        "aws:s3/bucketLogging:BucketLogging", "to-backups", {"bucket": "other", "targetBucket": "b"},
        deps={"targetBucket": [bucket_stack()[0]]})], bucket_stack(kms=False), "backups"),
    # disaster recovery
    single("s3-replication-replica-cmk", REPLICATION, replication(), label="no-replica-key",
           rules=[changed(REPLICATION_RULE, destination=changed(REPLICATION_RULE["destination"],
                                                                encryptionConfiguration=DELETE))]),
    single("s3-replication-replica-cmk", REPLICATION, replication(), label="alias-key",
           rules=[changed(REPLICATION_RULE, destination=changed(REPLICATION_RULE["destination"],
                                                                encryptionConfiguration={"replicaKmsKeyId":
                                                                                         "alias/maratron-dr"}))]),
    single("s3-replication-replica-cmk", REPLICATION, replication(), label="kms-objects-skipped",
           rules=[changed(REPLICATION_RULE, sourceSelectionCriteria=DELETE)]),
    single("s3-replication-keeps-deletes", REPLICATION, replication(),
           rules=[changed(REPLICATION_RULE, deleteMarkerReplication={"status": "Enabled"})]),
    single("s3-replication-metrics", REPLICATION, replication(),
           rules=[changed(REPLICATION_RULE, destination=changed(REPLICATION_RULE["destination"], metrics=DELETE))]),
    stack_case("s3-data-buckets-replicated", replication_stack(), replication_stack(replicate=False), "backups"),
    stack_case("s3-data-buckets-replicated", replication_stack(), replication_stack(replica_region="us-east-1"),
               "backups"),
    stack_case("s3-data-buckets-replicated", vended_log_stack(), bucket_stack(), "backups"),
    stack_case("s3-replica-object-lock", replication_stack(), replication_stack(replica_lock=None), "backups-dr"),
    stack_case("s3-replica-object-lock", replication_stack(), replication_stack(replica_lock=7), "backups-dr"),
    stack_case("rds-backups-replicated", with_backups_replication(), database_stack(), "primary"),
    *(stack_case("rds-backups-replicated", with_backups_replication(), restored(database_stack(), **same_region),
                 "primary") for same_region in SAME_REGION_RESTORES),
    *(stack_case("s3-data-buckets-replicated", replication_stack(),
                 [*restored(database_stack(), **same_region), *replication_stack(replicate=False)], "backups")
      for same_region in SAME_REGION_RESTORES),
    stack_case("rds-backups-replicated", with_backups_replication(), with_backups_replication(kmsKeyId=DELETE),
               "db-backups"),
    stack_case("rds-backups-replicated", with_backups_replication(), with_backups_replication(retentionPeriod=3),
               "db-backups"),
    stack_case("restore-drill-scheduled", replication_stack(drill="ENABLED"), replication_stack(),
               "backups-replication"),
    stack_case("restore-drill-scheduled", replication_stack(drill="ENABLED"), replication_stack(drill="DISABLED"),
               "drill"),
    # logging, KMS, IAM
    single("log-group-retention", "aws:cloudwatch/logGroup:LogGroup",
           {"retentionInDays": 365, "kmsKeyId": KEY, "tags": TAGS}, retentionInDays=DELETE),
    single("log-group-retention", "aws:cloudwatch/logGroup:LogGroup",
           {"retentionInDays": 365, "kmsKeyId": KEY, "tags": TAGS}, label="too-short", retentionInDays=30),
    # The boundary: prod's minimumRetentionDays is 365 (policies/config/prod.json), so 365 passes and 364 does not.
    single("log-group-retention", "aws:cloudwatch/logGroup:LogGroup",
           {"retentionInDays": 365, "kmsKeyId": KEY, "tags": TAGS}, label="one-day-short", retentionInDays=364),
    single("log-group-kms", "aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 365, "kmsKeyId": KEY,
                                                                 "tags": TAGS}, kmsKeyId=DELETE),
    single("kms-key-rotation", "aws:kms/key:Key", {"enableKeyRotation": True, "tags": TAGS}, enableKeyRotation=False),
    single("kms-key-policy-no-public-principal", "aws:kms/key:Key", {"enableKeyRotation": True, "tags": TAGS,
                                                                      "policy": ADMIN_DOC},
           policy=json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
                                             "Resource": "*"}]})),
    single("kms-key-policy-service-principals", KEY_TYPE, {"enableKeyRotation": True, "tags": TAGS,
                                                          "policy": doc(ALARMS_STATEMENT, EVENTS_STATEMENT)},
           label="main-topic-key", policy=doc(MAIN_TOPIC_STATEMENT)),
    single("kms-key-policy-service-principals", KEY_TYPE, {"enableKeyRotation": True, "tags": TAGS,
                                                          "policy": doc(LOGS_STATEMENT)},
           label="global-logs-principal", policy=doc(changed(LOGS_STATEMENT, Principal={
               "Service": "logs.amazonaws.com"}))),
    single("kms-key-policy-service-principals", KEY_TYPE, {"enableKeyRotation": True, "tags": TAGS,
                                                          "policy": doc(LOGS_STATEMENT)},
           label="logs-any-group", policy=doc(changed(LOGS_STATEMENT, Condition=DELETE))),
    stack_case("kms-key-serves-its-users", alerting_stack(ALARMS_STATEMENT, EVENTS_STATEMENT),
               alerting_stack(MAIN_TOPIC_STATEMENT), "alerts"),  # main: EventBridge under aws:SourceAccount
    stack_case("kms-key-serves-its-users", alerting_stack(ALARMS_STATEMENT, EVENTS_STATEMENT),
               alerting_stack(EVENTS_STATEMENT), "alerts"),  # no statement for the alarms
    stack_case("kms-key-serves-its-users", alerting_stack(ALARMS_STATEMENT, EVENTS_STATEMENT),
               alerting_stack(ALARMS_STATEMENT, EVENTS_STATEMENT, LOGS_STATEMENT, log_group_on_topic_key=True),
               "group"),  # log data under a key with a condition-free service grant
    # the storage key lacks Fargate's grant while the execute-command key (linked first) has it
    stack_case("kms-key-serves-its-users", storage_key_stack(), storage_key_stack(storage_grants_fargate=False),
               "storage"),
    stack_case("rds-export-role-kms", export_stack(kms_resource=KEY), export_stack(kms_resource=None),
               "snapshot-export"),  # main: S3 only
    stack_case("rds-export-role-kms", export_stack(kms_resource=KEY), export_stack(kms_resource="*"),
               "snapshot-export"),
    stack_case("scheduler-schedule-cmk", schedule_stack(), schedule_stack(encrypted=False), "backup"),  # main
    stack_case("scheduler-schedule-cmk", schedule_stack(), schedule_stack(role_decrypts=False), "backup"),
    single("iam-no-wildcard-admin", "aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": SCOPED_DOC},
           policy=ADMIN_DOC),
    single("iam-no-wildcard-admin", "aws:iam/role:Role", {"assumeRolePolicy": "{}", "tags": TAGS,
                                                          "inlinePolicies": [{"name": "ok", "policy": SCOPED_DOC}]},
           label="inline", inlinePolicies=[{"name": "admin", "policy": ADMIN_DOC}]),
    single("iam-no-admin-managed-policies", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
           {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"},
           policyArn="arn:aws:iam::aws:policy/AdministratorAccess"),
    single("iam-no-admin-managed-policies", "aws:iam/role:Role", {"assumeRolePolicy": "{}", "tags": TAGS},
           label="managed-arns", managedPolicyArns=["arn:aws:iam::aws:policy/IAMFullAccess"]),
    # identity and delivery (the foundation's CI roles and repositories; the app's roles)
    single("oidc-trust-pins-repository-and-environment", ROLE, CI_ROLE, label="wildcard-repository",
           assumeRolePolicy=github_trust(sub=["repo:acme/*:environment:prod"])),
    single("oidc-trust-pins-repository-and-environment", ROLE, CI_ROLE, label="string-like",
           assumeRolePolicy=github_trust(operator="StringLike")),
    single("oidc-trust-pins-repository-and-environment", ROLE, CI_ROLE, label="no-subject",
           assumeRolePolicy=github_trust(sub=None)),
    single("oidc-trust-pins-repository-and-environment", ROLE, CI_ROLE, label="for-all-values-audience",
           assumeRolePolicy=github_trust(extra={"ForAllValues:StringEquals": {
               "token.actions.githubusercontent.com:aud": ["sts.amazonaws.com"]}})),
    single("oidc-trust-pins-repository-and-environment", ROLE, CI_ROLE, label="branch",
           assumeRolePolicy=github_trust(sub=["repo:acme/maratron-infra:ref:refs/heads/main"])),
    single("oidc-trust-pins-repository-and-environment", ROLE, CI_ROLE, label="pull-request",
           assumeRolePolicy=github_trust(sub=["repo:acme/maratron-infra:pull_request"])),
    single("oidc-trust-pins-repository-and-environment", ROLE, CI_ROLE, label="default-audience",
           assumeRolePolicy=github_trust(aud="https://github.com/acme")),
    single("no-role-assumable-by-anyone", ROLE, CI_ROLE, label="any-principal",
           assumeRolePolicy=json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                       "Action": "sts:AssumeRole"}]})),
    single("no-role-assumable-by-anyone", ROLE, CI_ROLE, label="unconditioned-federation",
           assumeRolePolicy=json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Federated": GITHUB},
                                                       "Action": "sts:AssumeRoleWithWebIdentity"}]})),
    single("oidc-provider-github-audience", "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
           {"url": "https://token.actions.githubusercontent.com", "clientIdLists": ["sts.amazonaws.com"],
            "tags": TAGS}, clientIdLists=["sts.amazonaws.com", "https://github.com/acme"]),
    single("ecr-repository-hardened", "aws:ecr/repository:Repository", ECR_REPOSITORY, imageTagMutability="MUTABLE"),
    single("ecr-repository-hardened", "aws:ecr/repository:Repository", ECR_REPOSITORY, label="aws-owned-key",
           encryptionConfigurations=[{"encryptionType": "AES256"}]),
    single("ecr-repository-policy-not-public", "aws:ecr/repositoryPolicy:RepositoryPolicy",
           {"repository": "maratron/web", "policy": json.dumps({"Statement": [{
               "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "ecr:BatchGetImage",
               "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::222222222222:role/maratron/dev/*"}}}]})},
           policy=json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]})),
    single("ecr-replica-template-hardened", "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
           {"prefix": "maratron", "appliedFors": ["REPLICATION"], "imageTagMutability": "IMMUTABLE",
            "lifecyclePolicy": ECR_LIFECYCLE}, imageTagMutability="MUTABLE"),
    single("ecr-replica-template-hardened", "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
           {"prefix": "maratron", "appliedFors": ["REPLICATION"], "imageTagMutability": "IMMUTABLE",
            "lifecyclePolicy": ECR_LIFECYCLE}, label="count-only",
           lifecyclePolicy=json.dumps({"rules": [json.loads(ECR_LIFECYCLE)["rules"][-1]]})),
    single("ecr-registry-scan-on-push", "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration",
           {"scanType": "BASIC", "rules": [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [
               {"filter": "maratron/*", "filterType": "WILDCARD"}]}]},
           rules=[{"scanFrequency": "MANUAL", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]),
    *(single("ci-deploy-role-denies", "aws:iam/policy:Policy", {"path": "/maratron/ci/", "policy": DEPLOY_POLICY},
             label=f"allows-{sid.lower()}", policy=doc(*[{**st, "Effect": "Allow"} if st.get("Sid") == sid else st
                                                          for st in json.loads(DEPLOY_POLICY)["Statement"]]))
      for sid in ("DenyBoundaryRemoval", "DenyManagingFoundationKeys", "DenyOtherEnvironmentsMetrics",
                  "DenyTaggingMetricsForOtherEnvironments")),
    # The inline policy has no room for the metrics deny (IAM's 10,240 characters): only the boundary must have it.
    Case("ci-deploy-role-denies",
         [resource("aws:iam/rolePolicy:RolePolicy", "inline", {"role": "maratron-deploy-prod", "policy": doc(*[
             st for st in json.loads(DEPLOY_POLICY)["Statement"]
             if st["Sid"] not in ("DenyOtherEnvironmentsMetrics", "DenyTaggingMetricsForOtherEnvironments")])})],
         [resource("aws:iam/policy:Policy", "boundary-without-metrics-deny", {
             "path": "/maratron/ci/", "policy": deploy_policy("iam:CreateRole", drop="DenyOtherEnvironmentsMetrics")})],
         "boundary-without-metrics-deny"),
    # IAM action names are case-insensitive and take * and ?: each of these Allows may create roles.
    *(Case("ci-deploy-role-denies",
           [resource("aws:iam/policy:Policy", "good", {"path": "/maratron/ci/", "policy": deploy_policy(action)})],
           [resource("aws:iam/policy:Policy", f"creates-by-{label}", {
               "path": "/maratron/ci/", "policy": deploy_policy(action, drop="DenyBoundaryRemoval")})],
           f"creates-by-{label}")
      for label, action in (("iam-star", "iam:*"), ("iam-create-star", "iam:Create*"),
                            ("other-case", "IAM:createrole"), ("star", "*"))),
    single("ecr-lifecycle-keeps-deployed-images", "aws:ecr/lifecyclePolicy:LifecyclePolicy",
           {"repository": "maratron/web", "policy": ECR_LIFECYCLE}, label="count-only",
           policy=json.dumps({"rules": [json.loads(ECR_LIFECYCLE)["rules"][-1]]})),
    single("ecr-lifecycle-keeps-deployed-images", "aws:ecr/lifecyclePolicy:LifecyclePolicy",
           {"repository": "maratron/web", "policy": ECR_PREFIX_LIFECYCLE}, label="prefix-catch-all-first",
           policy=ECR_PREFIX_CATCH_ALL_FIRST),
    # Several entries are ANDed: this rule keeps only deployed images that also carry a release-* tag.
    single("ecr-lifecycle-keeps-deployed-images", "aws:ecr/lifecyclePolicy:LifecyclePolicy",
           {"repository": "maratron/web", "policy": ECR_LIFECYCLE}, label="deployed-and-another-tag",
           policy=ECR_LIFECYCLE.replace('["deployed-prod-*"]', '["deployed-prod-*", "release-*"]')),
    single("ecr-replica-template-hardened", "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
           {"prefix": "maratron", "appliedFors": ["REPLICATION"], "imageTagMutability": "IMMUTABLE",
            "lifecyclePolicy": ECR_PREFIX_LIFECYCLE}, label="prefix-catch-all-first",
           lifecyclePolicy=ECR_PREFIX_CATCH_ALL_FIRST),
    single("ecr-lifecycle-keeps-deployed-images", "aws:ecr/lifecyclePolicy:LifecyclePolicy",
           {"repository": "maratron/web", "policy": ECR_LIFECYCLE}, label="catch-all-first",
           policy=json.dumps({"rules": [{**r, "rulePriority": 200 - r["rulePriority"]}
                                        for r in json.loads(ECR_LIFECYCLE)["rules"]]})),
    Case("ecs-image-by-digest", [resource(TASK, "good", task(image="1.dkr.ecr.us-east-1.amazonaws.com/m/web@sha256:"
                                                         + "a" * 64))],
         [resource(TASK, "by-tag", task(image="1.dkr.ecr.us-east-1.amazonaws.com/m/web:latest"))], "by-tag"),
    stack_case("app-roles-in-environment-path-with-boundary",
               [resource(ROLE, "good", APP_ROLE)], [resource(ROLE, "bad", {"assumeRolePolicy": "{}", "tags": TAGS})],
               "bad"),
    # a boundary, but not the environment's workload boundary (here: AdministratorAccess, or staging's)
    stack_case("app-roles-in-environment-path-with-boundary", [resource(ROLE, "good", APP_ROLE)],
               [resource(ROLE, "admin", changed(APP_ROLE,
                                                permissionsBoundary="arn:aws:iam::aws:policy/AdministratorAccess"))],
               "admin"),
    stack_case("app-roles-in-environment-path-with-boundary", [resource(ROLE, "good", APP_ROLE)],
               [resource(ROLE, "staging-boundary", changed(APP_ROLE, permissionsBoundary=(
                   "arn:aws:iam::123456789012:policy/maratron/maratron-staging-workload-boundary")))],
               "staging-boundary"),
    # metrics and alerting
    single("amp-workspace-cmk", WORKSPACE, AMP, kmsKeyArn=DELETE),
    single("amp-workspace-logging", WORKSPACE, AMP, loggingConfiguration=DELETE),
    single("amp-access-scoped-to-workspaces", "aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": AMP_WRITE},
           policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "aps:RemoteWrite", "Resource": "*"}]})),
    single("amp-access-scoped-to-workspaces", "aws:iam/role:Role", {"assumeRolePolicy": "{}", "tags": TAGS,
                                                                    "inlinePolicies": [{"name": "w",
                                                                                        "policy": AMP_WRITE}]},
           label="query-wildcard-arn", inlinePolicies=[{"name": "q", "policy": json.dumps({"Statement": [{
               "Effect": "Allow", "Action": "aps:Query*",
               "Resource": "arn:aws:aps:us-east-1:123456789012:workspace/*"}]})}]),
    single("amp-access-scoped-to-workspaces", "aws:iam/policy:Policy", {"policy": AMP_WRITE, "tags": TAGS},
           label="service-wildcard", policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "aps:*",
                                                                       "Resource": "*"}]})),
    stack_case("amp-alerts-routed-to-topic", amp_stack(), amp_stack(rules=False), "workspace"),
    stack_case("amp-alerts-routed-to-topic", amp_stack(), amp_stack(manager=False), "workspace"),
    stack_case("amp-alerts-routed-to-topic", amp_stack(), amp_stack(receiver=False), "workspace"),
    stack_case("amp-alerts-routed-to-topic", amp_stack(), amp_stack(topic_grant=False), "workspace"),
    single("sns-service-publishers-scoped", TOPIC_POLICY, {"arn": "arn:topic", "policy": TOPIC_DOC},
           policy=json.dumps({"Statement": [{"Sid": "Any", "Effect": "Allow",
                                             "Principal": {"Service": "aps.amazonaws.com"},
                                             "Action": "sns:Publish", "Resource": "arn:topic"}]})),
    single("grafana-least-privilege", "aws:grafana/workspace:Workspace", GRAFANA_WS, permissionType="SERVICE_MANAGED"),
    single("grafana-least-privilege", "aws:grafana/workspace:Workspace", GRAFANA_WS, label="no-role",
           roleArn=DELETE),
    single("grafana-least-privilege", "aws:grafana/workspace:Workspace", GRAFANA_WS, label="organization",
           accountAccessType="ORGANIZATION"),
    single("grafana-saml-metadata-https", "aws:grafana/workspaceSamlConfiguration:WorkspaceSamlConfiguration",
           {"workspaceId": "g-1", "idpMetadataUrl": "https://idp.example.com/metadata", "roleAssertion": "role",
            "adminRoleValues": ["admin"]}, idpMetadataUrl="http://idp.example.com/metadata"),
    # the collector sidecar is held to every container rule, by name
    Case("container-non-root", [resource(TASK, "good", with_sidecar())],
         [resource(TASK, "root-sidecar", with_sidecar(user="0:0"))], "root-sidecar"),
    Case("container-read-only-root-filesystem", [resource(TASK, "good", with_sidecar())],
         [resource(TASK, "writable-sidecar", with_sidecar(readonlyRootFilesystem=False))], "writable-sidecar"),
    Case("container-not-privileged", [resource(TASK, "good", with_sidecar())],
         [resource(TASK, "privileged-sidecar", with_sidecar(privileged=True))], "privileged-sidecar"),
    # tagging and stack
    single("required-tags", "aws:ec2/vpc:Vpc", VPC, tags=changed(TAGS, owner=DELETE)),
    stack_case("stateful-resources-protected", [resource("aws:kms/key:Key", "good", {"tags": TAGS}, protect=True)],
               [resource("aws:kms/key:Key", "bad", {"tags": TAGS})], "bad"),
]


# --- the rules added so that every control the stacks set is guarded (issue 13) --------------------------------------
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SERVICE = "aws:ecs/service:Service"
TARGET = "aws:appautoscaling/target:Target"
SCHEDULE = "aws:scheduler/schedule:Schedule"
REPOSITORY = "aws:ecr/repository:Repository"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
ROLE = "aws:iam/role:Role"
KMS = "aws:kms/key:Key"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
EGRESS_HTTPS = {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                "cidrIpv4": "0.0.0.0/0", "description": "HTTPS to AWS APIs", "tags": TAGS}
SERVICE_BASE = {
    "cluster": "c", "desiredCount": 2, "availabilityZoneRebalancing": "ENABLED", "platformVersion": "LATEST",
    "enableExecuteCommand": False, "deploymentMinimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    "networkConfiguration": {"assignPublicIp": False, "subnets": ["s"]},
    "serviceConnectConfiguration": {"enabled": True, "logConfiguration": {
        "logDriver": "awslogs", "options": {"mode": "non-blocking"}}}, "tags": TAGS}
PG_LOGGING = {"family": "postgres15", "tags": TAGS, "parameters": [
    {"name": "rds.force_ssl", "value": "1"}, {"name": "log_connections", "value": "1"},
    {"name": "log_disconnections", "value": "1"}, {"name": "log_lock_waits", "value": "1"},
    {"name": "log_statement", "value": "ddl"}, {"name": "log_min_duration_statement", "value": "1000"},
    {"name": "shared_preload_libraries", "value": "pg_stat_statements"}]}
LIFECYCLE_BASE = {"bucket": "b", "rules": [{"id": "expire", "status": "Enabled", "filter": {},
                                             "expiration": {"days": 365},
                                             "noncurrentVersionExpiration": {"noncurrentDays": 30},
                                             "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]}
SSE_KMS = {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                                                          "kmsMasterKeyId": KEY},
                                     "bucketKeyEnabled": True, "blockedEncryptionTypes": ["SSE-C"]}]}
# DSSE-KMS: a key as SSE-KMS takes one, and no S3 Bucket Key (DSSE-KMS does not support them).
SSE_DSSE = {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms:dsse",
                                                                           "kmsMasterKeyId": KEY},
                                      "blockedEncryptionTypes": ["SSE-C"]}]}


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def deny(sid: str, action: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": action, "Resource": "arn:aws:s3:::b/*",
            "Condition": condition}


KMS_BUCKET_DENIES = [
    deny("DenyInsecureTransport", "s3:*", {"Bool": {"aws:SecureTransport": "false"}}),
    deny("DenyOutdatedTls", "s3:*", {"NumericLessThan": {"s3:TlsVersion": "1.2"}}),
    deny("DenySseCUploads", "s3:PutObject", {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}}),
    deny("DenyUploadsNotSseKms", "s3:PutObject",
         {"Null": {"s3:x-amz-server-side-encryption": "false"},
          "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}),
    deny("DenyUploadsWithAnotherKey", "s3:PutObject",
         {"Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
          "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY}}),
    deny("DenyUploadsSseKmsWithoutKeyId", "s3:PutObject", {
        "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"}}),
]
DSSE_BUCKET_DENIES = json.loads(json.dumps(KMS_BUCKET_DENIES).replace('"aws:kms"', '"aws:kms:dsse"'))
"""The same denies for a DSSE-KMS bucket: the required encryption header value is aws:kms:dsse."""
SOURCE_ACCOUNT = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
TRUST = doc({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole",
             "Condition": SOURCE_ACCOUNT})
ELB_DELIVERY = {"Sid": "ElbLogDelivery", "Effect": "Allow",
                "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}, "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::logs/alb/AWSLogs/123456789012/*"}
KEY_POLICY = doc({"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                  "Action": "kms:*", "Resource": "*"},
                 {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                  "Action": ["kms:Decrypt*"], "Resource": "*", "Condition": {"ArnLike": {
                      "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*"}}},
                 {"Sid": "EventsToTopic", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                  "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"})
TOPIC_TLS = doc({"Sid": "Alarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
                 "Action": "sns:Publish", "Resource": "arn:aws:sns:::t", "Condition": SOURCE_ACCOUNT},
                {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
                 "Resource": "arn:aws:sns:::t", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
PASS_ROLE = doc({"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": ["arn:aws:iam::1:role/backup-task"],
                 "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}})
MANAGED = [{"name": group, "priority": 10 + i, "overrideAction": {"none": {}},
            "statement": {"managedRuleGroupStatement": {"name": group, "vendorName": "AWS"}},
            "visibilityConfig": {"metricName": group, "sampledRequestsEnabled": True, "cloudwatchMetricsEnabled": True}}
           for i, group in enumerate(("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
                                      "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet"))]
WEB_ACL = {"scope": "REGIONAL", "defaultAction": {"allow": {}}, "rules": [RATE_RULE, *MANAGED], "tags": TAGS}


def companions_stack(*, drop: str = "", lock: bool = True, logging: bool = True) -> list[Resource]:
    bucket = resource(BUCKET, "backups", {"bucketPrefix": "b-", "objectLockEnabled": lock, "tags": TAGS})
    logs = resource(BUCKET, "access-logs", {"bucketPrefix": "logs-", "tags": TAGS})
    out = [bucket, logs]
    for owner in (bucket, logs):
        for type_, inputs in ((OWNERSHIP, {"rule": {"objectOwnership": "BucketOwnerEnforced"}}),
                              (LIFECYCLE, LIFECYCLE_BASE)):
            if type_ != drop:
                out.append(resource(type_, f"{owner.name}-{type_.rsplit(':', 1)[-1]}", {"bucket": "b", **inputs},
                                    deps={"bucket": [owner]}))
    if drop != OBJECT_LOCK:
        out.append(resource(OBJECT_LOCK, "backups-lock", {"bucket": "b", "objectLockEnabled": "Enabled", "rule": {
            "defaultRetention": {"mode": "COMPLIANCE", "days": 30}}}, deps={"bucket": [bucket]}))
    if logging:
        out.append(resource(BUCKET_LOGGING, "backups-logging", {"bucket": "b", "targetBucket": "logs",
                                                                 "targetPrefix": "b/"},
                            deps={"bucket": [bucket], "targetBucket": [logs]}))
    return out


def waf_logging_stack(*, redacted: tuple[str, ...] = ("authorization", "cookie"), logged: bool = True,
                      query: bool = True) -> list[Resource]:
    acl = resource(ACL, "acl", WEB_ACL)
    out = [acl]
    if logged:
        out.append(resource(WAF_LOGGING, "acl-logging", {
            "resourceArn": "arn:acl", "logDestinationConfigs": ["arn:logs"],
            "redactedFields": [*({"singleHeader": {"name": h}} for h in redacted),
                               *([{"queryString": {}}] if query else [])]}, deps={"resourceArn": [acl]}))
    return out


DEFAULT_CAPS = ("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT")


def init_task(keep: tuple[str, ...] = ("CHOWN",)) -> dict[str, Any]:
    """An app container plus a non-essential init container that chowns a scratch volume before the app starts."""
    init = {"name": "web-volume-init", "image": CONTAINER["image"], "essential": False, "user": "0",
            "command": ["chown", "1001:1001", "/tmp"], "readonlyRootFilesystem": True,
            "logConfiguration": CONTAINER["logConfiguration"],
            "linuxParameters": {"capabilities": {"drop": [c for c in DEFAULT_CAPS if c not in keep]}}}
    return {**task(), "containerDefinitions": json.dumps([CONTAINER, init])}


def isolation_stack(*, nat_on_data: bool = False, app_subnet_in_group: bool = False) -> list[Resource]:
    subnets = {tier: resource("aws:ec2/subnet:Subnet", f"{tier}-a", {"vpcId": "vpc-1", "cidrBlock": cidr,
                                                                      "tags": {**TAGS, "tier": tier}})
               for tier, cidr in (("data", "10.0.128.0/21"), ("app", "10.0.0.0/20"))}
    tables = {tier: resource("aws:ec2/routeTable:RouteTable", f"{tier}-a", {"vpcId": "vpc-1", "tags": TAGS})
              for tier in subnets}
    out = [*subnets.values(), *tables.values()]
    out += [resource("aws:ec2/routeTableAssociation:RouteTableAssociation", f"{tier}-a", {
        "subnetId": f"subnet-{tier}", "routeTableId": f"rtb-{tier}"},
        deps={"subnetId": [subnets[tier]], "routeTableId": [tables[tier]]}) for tier in subnets]
    out.append(resource("aws:ec2/route:Route", "app-a-internet", {
        "destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "nat-1", "routeTableId": "rtb-app"},
        deps={"routeTableId": [tables["data" if nat_on_data else "app"]]}))
    members = [subnets["data"], *([subnets["app"]] if app_subnet_in_group else [])]
    group = resource("aws:rds/subnetGroup:SubnetGroup", "database-subnets", {
        "subnetIds": [f"subnet-{m.name}" for m in members], "tags": TAGS}, deps={"subnetIds": members})
    return [*out, group, resource(RDS, "primary", RDS_PRIMARY, deps={"dbSubnetGroupName": [group]})]


CASES += [
    stack_case("data-subnets-isolated", isolation_stack(), isolation_stack(nat_on_data=True), "app-a-internet"),
    stack_case("data-subnets-isolated", isolation_stack(), isolation_stack(app_subnet_in_group=True),
               "database-subnets"),
    # edge
    single("alb-security-headers", LISTENER, HTTPS, routingHttpResponseServerEnabled=DELETE),
    single("alb-security-headers", LISTENER, HTTPS, label="no-csp",
           routingHttpResponseContentSecurityPolicyHeaderValue=DELETE),
    single("alb-security-headers", LISTENER, HTTPS, label="open-csp",
           routingHttpResponseContentSecurityPolicyHeaderValue="default-src *; img-src 'self'"),
    single("alb-security-headers", LISTENER, HTTPS, label="framable",
           routingHttpResponseXFrameOptionsHeaderValue=DELETE),
    single("alb-security-headers", LISTENER, HTTPS, label="sniffable",
           routingHttpResponseXContentTypeOptionsHeaderValue=DELETE),
    single("alb-security-headers", LISTENER, HTTPS, label="hsts-without-subdomains",
           routingHttpResponseStrictTransportSecurityHeaderValue="max-age=63072000"),
    single("alb-security-headers", LISTENER, HTTPS, label="cors-any-origin",
           routingHttpResponseAccessControlAllowOriginHeaderValue="*"),
    single("alb-security-headers", LISTENER, HTTPS, label="cors-one-origin",
           routingHttpResponseAccessControlAllowOriginHeaderValue="https://admin.example.com"),
    single("alb-hardening", LB, ALB, desyncMitigationMode="monitor"),
    single("alb-hardening", LB, ALB, label="waf-fail-open", enableWafFailOpen=True),
    single("alb-hardening", LB, ALB, label="xff-preserved", xffHeaderProcessingMode="preserve"),
    single("alb-deletion-protection", LB, ALB, enableDeletionProtection=False),
    single("alb-target-health-check", "aws:lb/targetGroup:TargetGroup",
           {"port": 3000, "protocol": "HTTP", "healthCheck": {"enabled": True, "path": "/api/health"}, "tags": TAGS},
           healthCheck={"enabled": False, "path": "/api/health"}),
    single("alb-forwards-only-known-hosts", LISTENER, HTTPS,
           defaultActions=[{"type": "forward", "targetGroupArn": "arn:tg"}]),
    single("alb-forwards-only-known-hosts", LISTENER, HTTP, label="echoes-host",
           defaultActions=[{"type": "redirect", "redirect": {"protocol": "HTTPS", "host": "#{host}",
                                                              "statusCode": "HTTP_301"}}]),
    single("alb-forwards-only-known-hosts", LISTENER_RULE,
           {"listenerArn": "arn:l", "priority": 100, "actions": [{"type": "forward", "targetGroupArn": "arn:tg"}],
            "conditions": [{"hostHeader": {"values": ["maratron.example.com"]}}], "tags": TAGS},
           label="any-host-rule", conditions=[{"pathPattern": {"values": ["/*"]}}]),
    single("waf-managed-rule-groups", ACL, WEB_ACL, rules=[RATE_RULE, *MANAGED[:2], MANAGED[3]]),
    single("waf-managed-rule-groups", ACL, WEB_ACL, label="counting",
           rules=[RATE_RULE, *MANAGED[:3], changed(MANAGED[3], overrideAction={"count": {}})]),
    # The group blocks, but its SQL injection rule is overridden to count (only SizeRestrictions_BODY may be).
    single("waf-managed-rule-groups", ACL, WEB_ACL, label="rule-counting",
           rules=[RATE_RULE, *MANAGED[:3], changed(MANAGED[3], statement={"managedRuleGroupStatement": {
               "name": "AWSManagedRulesSQLiRuleSet", "vendorName": "AWS",
               "ruleActionOverrides": [{"name": "SQLi_BODY", "actionToUse": {"count": {}}}]}})]),
    stack_case("waf-logging", waf_logging_stack(), waf_logging_stack(logged=False), "acl"),
    stack_case("waf-logging", waf_logging_stack(), waf_logging_stack(redacted=("authorization",)), "acl-logging"),
    stack_case("waf-logging", waf_logging_stack(), waf_logging_stack(query=False), "acl-logging"),
    # network
    single("security-group-descriptions", SG, WEB_INGRESS, description=DELETE),
    single("security-group-descriptions", EGRESS, EGRESS_HTTPS, label="rule", description=""),
    # EC2 refuses an apostrophe (AuthorizeSecurityGroupIngress: "Invalid rule description"): main's CDN ingress rule.
    single("security-group-descriptions", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
           {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "prefixListId": "pl-1",
            "description": "HTTPS from the CloudFront origin-facing addresses only", "tags": TAGS},
           label="apostrophe", description="HTTPS from CloudFront's origin-facing addresses only"),
    single("security-group-egress-restricted", EGRESS, EGRESS_HTTPS, ipProtocol="-1"),
    single("security-group-egress-restricted", EGRESS, EGRESS_HTTPS, label="port-range", fromPort=0),
    single("security-group-egress-restricted", SG, changed(WEB_INGRESS, egress=[
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]), label="inline-smtp",
        egress=[{"protocol": "tcp", "fromPort": 25, "toPort": 25, "cidrBlocks": ["0.0.0.0/0"]}]),
    # the program's data perimeter (components/network.py endpoint_policy): dropped, or one statement left unconditional
    single("vpc-endpoint-data-perimeter", "aws:ec2/vpcEndpoint:VpcEndpoint", S3_ENDPOINT, label="no-policy",
           policy=DELETE),
    single("vpc-endpoint-data-perimeter", "aws:ec2/vpcEndpoint:VpcEndpoint", S3_ENDPOINT, label="unconditional",
           policy=perimeter({"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"})),
    single("vpc-endpoint-data-perimeter", "aws:ec2/vpcEndpoint:VpcEndpoint", S3_ENDPOINT, label="other-bucket",
           policy=perimeter({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                             "Resource": "arn:aws:s3:::someone-elses-bucket/*"})),
    single("vpc-endpoint-data-perimeter", "aws:ec2/vpcEndpoint:VpcEndpoint", ECR_ENDPOINT, label="ecr-no-policy",
           policy=DELETE),
    single("vpc-endpoint-data-perimeter", "aws:ec2/vpcEndpoint:VpcEndpoint", ECR_ENDPOINT, label="negated-account",
           policy=perimeter({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                             "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ["111111111111"]}}})),
    single("vpc-endpoint-private-dns", "aws:ec2/vpcEndpoint:VpcEndpoint",
           {"vpcId": "vpc-1", "serviceName": "com.amazonaws.us-east-1.logs", "vpcEndpointType": "Interface",
            "privateDnsEnabled": True, "tags": TAGS}, privateDnsEnabled=DELETE),
    single("vpc-flow-logs-all-traffic", "aws:ec2/flowLog:FlowLog", {"vpcId": "vpc-1", "trafficType": "ALL",
                                                                     "tags": TAGS}, trafficType="REJECT"),
    # database
    single("rds-instance-baseline", RDS, RDS_PRIMARY, monitoringInterval=0),
    single("rds-instance-baseline", RDS, RDS_PRIMARY, label="old-ca", caCertIdentifier="rds-ca-2019"),
    single("rds-instance-baseline", RDS, RDS_PRIMARY, label="no-autoscaling", maxAllocatedStorage=DELETE),
    single("rds-instance-baseline", RDS, RDS_PRIMARY, label="default-vpc", dbSubnetGroupName=DELETE),
    single("rds-instance-baseline", RDS, RDS_PRIMARY, label="snapshot-untagged", copyTagsToSnapshot=False),
    single("rds-production-change-safety", RDS, RDS_PRIMARY, applyImmediately=True),
    single("rds-production-change-safety", RDS, RDS_PRIMARY, label="drops-backups", deleteAutomatedBackups=DELETE),
    single("rds-postgres-logging", PG, PG_LOGGING, parameters=[
        p for p in PG_LOGGING["parameters"] if p["name"] != "log_disconnections"]),
    single("rds-postgres-logging", PG, PG_LOGGING, label="no-statement-logging", parameters=[
        {**p, "value": "none"} if p["name"] == "log_statement" else p for p in PG_LOGGING["parameters"]]),
    # every INSERT/UPDATE with its values in the log (the seed: no sensitive data in logs)
    single("rds-postgres-logging", PG, PG_LOGGING, label="every-statement-logged", parameters=[
        {**p, "value": "all"} if p["name"] == "log_statement" else p for p in PG_LOGGING["parameters"]]),
    single("rds-postgres-logging", PG, PG_LOGGING, label="every-statement-timed", parameters=[
        {**p, "value": "0"} if p["name"] == "log_min_duration_statement" else p for p in PG_LOGGING["parameters"]]),
    # cache
    single("redis-snapshots", RG, REDIS, snapshotRetentionLimit=1),
    single("redis-production-change-safety", RG, REDIS, finalSnapshotIdentifier=DELETE),
    single("redis-baseline", RG, REDIS, logDeliveryConfigurations=REDIS["logDeliveryConfigurations"][:1]),
    single("redis-baseline", RG, REDIS, label="no-minor-upgrades", autoMinorVersionUpgrade=False),
    # containers
    Case("container-drop-all-capabilities", [resource(TASK, "good", task())],
         [resource(TASK, "bad", task(linuxParameters={"capabilities": {"add": []}, "initProcessEnabled": True}))],
         "bad"),
    Case("container-drop-all-capabilities", [resource(TASK, "init-keeps-chown", init_task())],
         [resource(TASK, "init-keeps-more", init_task(keep=("CHOWN", "DAC_OVERRIDE")))], "init-keeps-more"),
    Case("container-drop-all-capabilities", [], [resource(TASK, "app-keeps-chown", task(linuxParameters={
        "capabilities": {"drop": [c for c in DEFAULT_CAPS if c != "CHOWN"]}, "initProcessEnabled": True}))],
         "app-keeps-chown"),
    Case("ecs-image-by-digest", [resource(TASK, "good", task())],
         [resource(TASK, "bad", task(image="123456789012.dkr.ecr.us-east-1.amazonaws.com/web:latest"))], "bad"),
    # The AWS-published collector may run by exact release tag (tagPinnedPublishers), never by a floating one, and
    # the exemption names that publisher only.
    Case("ecs-image-by-digest", [resource(TASK, "release-tag", with_sidecar())],
         [resource(TASK, "floating-tag", with_sidecar(
             image="public.ecr.aws/aws-observability/aws-otel-collector:latest"))], "floating-tag"),
    Case("ecs-image-by-digest", [resource(TASK, "release-tag", with_sidecar())],
         [resource(TASK, "other-publisher", with_sidecar(image="public.ecr.aws/docker/library/otel:v1.2.3"))],
         "other-publisher"),
    # A non-essential sidecar is no init container: it drops every capability like the app.
    Case("container-drop-all-capabilities", [resource(TASK, "good", with_sidecar())],
         [resource(TASK, "sidecar-keeps-chown", with_sidecar(linuxParameters={
             "capabilities": {"add": [], "drop": [c for c in DEFAULT_CAPS if c != "CHOWN"]},
             "initProcessEnabled": True}))], "sidecar-keeps-chown"),
    Case("container-reliability", [resource(TASK, "good", task())],
         [resource(TASK, "bad", task(healthCheck=DELETE))], "bad"),
    Case("container-reliability", [resource(TASK, "one-shot", task(portMappings=DELETE, healthCheck=DELETE))],
         [resource(TASK, "blocking-logs", task(logConfiguration={"logDriver": "awslogs",
                                                                 "options": {"mode": "blocking"}}))],
         "blocking-logs"),
    single("ecs-task-separate-roles", TASK, task(), taskRoleArn="arn:aws:iam::1:role/web-execution"),
    single("ecs-service-deployment-safety", SERVICE, SERVICE_BASE,
           deploymentCircuitBreaker={"enable": True, "rollback": False}),
    single("ecs-service-deployment-safety", SERVICE, SERVICE_BASE, label="drops-capacity",
           deploymentMinimumHealthyPercent=50),
    single("ecs-service-availability", SERVICE, SERVICE_BASE, desiredCount=1),
    single("ecs-service-availability", TARGET, {"serviceNamespace": "ecs", "minCapacity": 2, "maxCapacity": 6,
                                                "tags": TAGS}, label="scales-to-one", minCapacity=1),
    # Moving a service to or from Spot: UpdateService needs a forced deployment, and the cluster keeps both providers.
    single("ecs-capacity-strategy-updatable", SERVICE, changed(
        SERVICE_BASE, forceNewDeployment=True,
        capacityProviderStrategies=[{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]),
        forceNewDeployment=DELETE),
    single("ecs-capacity-strategy-updatable", "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
           {"clusterName": "c", "capacityProviders": ["FARGATE", "FARGATE_SPOT"]}, label="on-demand-only",
           capacityProviders=["FARGATE"]),
    single("ecs-service-hardening", SERVICE, changed(SERVICE_BASE, platformVersion="1.4.0"), enableExecuteCommand=True),
    single("ecs-service-hardening", SERVICE, changed(SERVICE_BASE, platformVersion="1.4.0"), label="old-platform",
           platformVersion="1.3.0"),
    single("ecs-service-hardening", SERVICE, SERVICE_BASE, label="proxy-unlogged",
           serviceConnectConfiguration={"enabled": True}),
    single("ecr-repository-hardening", REPOSITORY,
           {"imageTagMutability": "IMMUTABLE", "imageScanningConfiguration": {"scanOnPush": True},
            "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY}], "tags": TAGS},
           imageTagMutability="MUTABLE"),
    single("ecr-repository-hardening", REPOSITORY,
           {"imageTagMutability": "IMMUTABLE", "imageScanningConfiguration": {"scanOnPush": True},
            "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY}], "tags": TAGS},
           label="aes256", encryptionConfigurations=[{"encryptionType": "AES256"}]),
    single("ecr-no-force-delete", REPOSITORY, {"forceDelete": False, "tags": TAGS}, forceDelete=True),
    single("scheduled-tasks", SCHEDULE, {"state": "ENABLED", "scheduleExpression": "rate(6 hours)", "target": {
        "arn": "arn:cluster", "ecsParameters": {"networkConfiguration": {"assignPublicIp": False}}}},
        state="DISABLED"),
    single("scheduled-tasks", SCHEDULE, {"state": "ENABLED", "target": {"arn": "arn:cluster", "ecsParameters": {
        "networkConfiguration": {"assignPublicIp": False}}}}, label="public-task",
        target={"arn": "arn:cluster", "ecsParameters": {"networkConfiguration": {"assignPublicIp": True}}}),
    # secrets
    single("secretsmanager-recovery-window", "aws:secretsmanager/secret:Secret",
           {"kmsKeyId": KEY, "recoveryWindowInDays": 30, "tags": TAGS}, recoveryWindowInDays=0),
    single("generated-secrets-strong", "random:index/randomPassword:RandomPassword", {"length": 64, "special": True},
           length=12),
    # storage
    stack_case("s3-access-logging", companions_stack(), companions_stack(logging=False), "backups"),
    stack_case("s3-bucket-companions", companions_stack(), companions_stack(drop=OWNERSHIP), "access-logs"),
    stack_case("s3-bucket-companions", companions_stack(), companions_stack(drop=LIFECYCLE), "backups"),
    stack_case("s3-bucket-companions", companions_stack(), companions_stack(drop=OBJECT_LOCK), "backups"),
    stack_case("s3-bucket-companions", companions_stack(), companions_stack(lock=False), "backups"),
    single("s3-acls-disabled", OWNERSHIP, {"bucket": "b", "rule": {"objectOwnership": "BucketOwnerEnforced"}},
           rule={"objectOwnership": "BucketOwnerPreferred"}),
    single("s3-lifecycle-rules", LIFECYCLE, LIFECYCLE_BASE,
           rules=[changed(LIFECYCLE_BASE["rules"][0], abortIncompleteMultipartUpload=DELETE)]),
    single("s3-lifecycle-rules", LIFECYCLE, LIFECYCLE_BASE, label="expires-early",
           rules=[changed(LIFECYCLE_BASE["rules"][0], expiration={"days": 30})]),
    single("s3-lifecycle-rules", LIFECYCLE, LIFECYCLE_BASE, label="disabled",
           rules=[changed(LIFECYCLE_BASE["rules"][0], status="Disabled")]),
    single("s3-object-lock-retention", OBJECT_LOCK,
           {"bucket": "b", "objectLockEnabled": "Enabled", "rule": {"defaultRetention": {"mode": "COMPLIANCE",
                                                                                          "days": 30}}},
           rule={"defaultRetention": {"mode": "GOVERNANCE", "days": 30}}),
    single("s3-object-lock-retention", OBJECT_LOCK,
           {"bucket": "b", "objectLockEnabled": "Enabled", "rule": {"defaultRetention": {"mode": "COMPLIANCE",
                                                                                          "days": 30}}},
           label="short", rule={"defaultRetention": {"mode": "COMPLIANCE", "days": 1}}),
    single("s3-encryption-cmk", SSE, SSE_KMS, rules=[changed(SSE_KMS["rules"][0], blockedEncryptionTypes=DELETE)]),
    single("s3-encryption-cmk", SSE, SSE_KMS, label="aws-managed-key", rules=[changed(
        SSE_KMS["rules"][0], applyServerSideEncryptionByDefault={"sseAlgorithm": "aws:kms"})]),
    single("s3-encryption-cmk", SSE, SSE_DSSE, label="dsse-aws-managed-key", rules=[changed(
        SSE_DSSE["rules"][0], applyServerSideEncryptionByDefault={"sseAlgorithm": "aws:kms:dsse"})]),
    single("s3-bucket-policy-denies", BUCKET_POLICY, {"bucket": "b", "policy": doc(*KMS_BUCKET_DENIES)},
           policy=doc(*KMS_BUCKET_DENIES[:1], *KMS_BUCKET_DENIES[2:])),
    # A TLS deny below 1.2 is no TLS-1.2 floor: NumericLessThan 1.1 still admits TLS 1.1.
    single("s3-bucket-policy-denies", BUCKET_POLICY, {"bucket": "b", "policy": doc(*KMS_BUCKET_DENIES)},
           label="tls-1-1-allowed", policy=doc(KMS_BUCKET_DENIES[0], deny(
               "DenyOutdatedTls", "s3:*", {"NumericLessThan": {"s3:TlsVersion": "1.1"}}), *KMS_BUCKET_DENIES[2:])),
    # A DSSE-KMS bucket's policy needs the key denies too (uploads with another key, or none: aws/s3).
    single("s3-bucket-policy-denies", BUCKET_POLICY, {"bucket": "b", "policy": doc(*DSSE_BUCKET_DENIES)},
           label="dsse-any-key", policy=doc(*DSSE_BUCKET_DENIES[:4])),
    single("s3-bucket-policy-denies", BUCKET_POLICY, {"bucket": "b", "policy": doc(*KMS_BUCKET_DENIES)},
           label="another-key", policy=doc(*KMS_BUCKET_DENIES[:4], KMS_BUCKET_DENIES[5])),
    # The form that denies uploads naming no encryption (the Pulumi CLI's, UploadPart, log delivery): IfExists is
    # true for a missing key, and so is a negated operator without the Null guard.
    single("s3-bucket-policy-denies", BUCKET_POLICY, {"bucket": "b", "policy": doc(*KMS_BUCKET_DENIES)},
           label="if-exists", policy=doc(*KMS_BUCKET_DENIES[:3], *(
               deny(s["Sid"], "s3:PutObject", {"StringNotEqualsIfExists": s["Condition"]["StringNotEquals"]})
               for s in KMS_BUCKET_DENIES[3:5]), KMS_BUCKET_DENIES[5])),
    single("s3-bucket-policy-denies", BUCKET_POLICY, {"bucket": "b", "policy": doc(*KMS_BUCKET_DENIES)},
           label="unguarded", policy=doc(*KMS_BUCKET_DENIES[:3], deny(
               "DenyUploadsNotSseKms", "s3:PutObject", {"StringNotEquals": {"s3:x-amz-server-side-encryption":
                                                                                "aws:kms"}}),
               *KMS_BUCKET_DENIES[4:])),
    # logging, KMS, IAM, monitoring
    single("kms-key-lifecycle", KMS, {"enableKeyRotation": True, "deletionWindowInDays": 30,
                                      "rotationPeriodInDays": 365, "tags": TAGS}, deletionWindowInDays=7),
    single("kms-key-lifecycle", KMS, {"enableKeyRotation": True, "deletionWindowInDays": 30,
                                      "rotationPeriodInDays": 365, "tags": TAGS}, label="slow-rotation",
           rotationPeriodInDays=730),
    single("policy-principals-scoped", ROLE, {"assumeRolePolicy": TRUST, "tags": TAGS},
           assumeRolePolicy=doc({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                 "Action": "sts:AssumeRole"})),
    single("policy-principals-scoped", ROLE, {"assumeRolePolicy": TRUST, "tags": TAGS}, label="anyone",
           assumeRolePolicy=doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})),
    single("policy-principals-scoped", BUCKET_POLICY, {"bucket": "b", "policy": doc(*KMS_BUCKET_DENIES[:1],
                                                                                     ELB_DELIVERY)},
           label="elb-anywhere", policy=doc(changed(ELB_DELIVERY, Resource="arn:aws:s3:::logs/*"))),
    single("policy-principals-scoped", BUCKET_POLICY, {"bucket": "b", "policy": TLS_ONLY}, label="public-read",
           policy=doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})),
    # The alert manager reaches the alert topic's key through SNS only: scoped by SNS's encryption context instead.
    single("policy-principals-scoped", KMS, {"enableKeyRotation": True, "tags": TAGS, "policy": doc(
        {"Effect": "Allow", "Principal": {"Service": "aps.amazonaws.com"}, "Action": ["kms:GenerateDataKey*"],
         "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": "arn:topic"}}})},
           label="aps-unscoped", policy=doc({"Effect": "Allow", "Principal": {"Service": "aps.amazonaws.com"},
                                             "Action": ["kms:GenerateDataKey*"], "Resource": "*"})),
    single("policy-principals-scoped", KMS, {"enableKeyRotation": True, "policy": KEY_POLICY, "tags": TAGS},
           label="logs-unscoped", policy=doc({"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"},
                                              "Action": "kms:Decrypt*", "Resource": "*"})),
    single("iam-passrole-scoped", "aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": PASS_ROLE},
           policy=doc({**json.loads(PASS_ROLE)["Statement"][0], "Condition": {}})),
    single("iam-passrole-scoped", "aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": PASS_ROLE},
           label="any-role", policy=doc({**json.loads(PASS_ROLE)["Statement"][0], "Resource": "*"})),
    # Wildcards that cover iam:PassRole pass roles as much as the name does.
    *(single("iam-passrole-scoped", "aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": PASS_ROLE},
             label=f"any-role-by-{label}", policy=doc({"Effect": "Allow", "Action": [action], "Resource": "*"}))
      for label, action in (("pass-star", "iam:Pass*"), ("star-role", "iam:*Role"), ("question-mark", "iam:PassRol?"),
                            ("other-case", "IAM:passROLE"))),
    single("sns-topic-encryption", "aws:sns/topic:Topic", {"kmsMasterKeyId": KEY, "tags": TAGS},
           kmsMasterKeyId=DELETE),
    single("sns-topic-tls-only", TOPIC_POLICY, {"arn": "arn:aws:sns:::t", "policy": TOPIC_TLS},
           policy=doc(json.loads(TOPIC_TLS)["Statement"][0])),
    single("cloudwatch-alarm-actions", ALARM, PAGING_ALARM, alarmActions=[]),
    single("cloudwatch-alarm-actions", ALARM, PAGING_ALARM, label="disabled", actionsEnabled=False),
    # A routing alarm notifies no one: it passes while a health check watches it, and not once nothing does.
    stack_case("cloudwatch-alarm-actions", reader_stack(), reader_stack(alarm_watched=False), "replica-1-health"),
    stack_case("route53-weighted-fallback-health-checked", reader_stack(), reader_stack(health_checked=False),
               "replica-1"),
    stack_case("route53-weighted-fallback-health-checked", reader_stack(), reader_stack(silence="LastKnownStatus"),
               "replica-1-check"),
    stack_case("route53-weighted-fallback-health-checked", reader_stack(), reader_stack(silence=None),
               "replica-1-check"),
]

@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_compliant_passes_and_violation_is_mandatory_naming_the_resource(pack: PolicyPackProcess, case: Case) -> None:
    config = only(pack, case.policy, case.stack)
    if case.good:
        good = analyze(pack, case.good, case.stack, config)
        assert not good.of(case.policy), [v.message for v in good.of(case.policy)]
    bad = analyze(pack, case.bad, case.stack, config)
    hits = bad.of(case.policy)
    target = next(r for r in case.bad if r.name == case.bad_name)
    assert any(v.urn == target.urn and v.level == "mandatory" for v in hits), \
        [(v.urn, v.level, v.message) for v in bad.violations]


def test_every_policy_has_a_case() -> None:
    names = {rule.policy.name for rule in ALL_RULES}
    assert names == {case.policy for case in CASES}


PROD_ONLY = ["rds-deletion-protection", "rds-multi-az", "rds-final-snapshot", "redis-automatic-failover",
             "s3-no-force-destroy", "rds-primary-has-replica", "stateful-resources-protected",
             "rds-services-through-proxy", "s3-data-buckets-replicated", "rds-backups-replicated",
             "restore-drill-scheduled", "alb-deletion-protection", "rds-production-change-safety",
             "redis-production-change-safety", "ecs-service-availability", "ecr-no-force-delete",
             "secretsmanager-recovery-window"]


@pytest.mark.parametrize("policy", PROD_ONLY)
def test_prod_only_rules_do_not_apply_to_dev(pack: PolicyPackProcess, policy: str) -> None:
    case = next(c for c in CASES if c.policy == policy)
    dev = [resource(r.type, r.name, r.inputs, stack="dev", protect=r.protect) for r in case.bad]
    if policy == "rds-primary-has-replica":
        dev = [resource(RDS, "primary", RDS_PRIMARY, stack="dev")]
    assert not analyze(pack, dev, "dev").of(policy)
    rule = next(r for r in ALL_RULES if r.policy.name == policy)
    assert rule.scope == "prod" and "(applies to prod stacks)" in rule.policy.description


def test_replicas_are_exempt_from_primary_only_rules(pack: PolicyPackProcess) -> None:
    verdict = analyze(pack, database_stack())
    replica_urn = next(r.urn for r in database_stack() if r.name == "replica")
    assert [v for v in verdict.violations if v.urn == replica_urn] == []


def test_only_the_s3_replication_trusts_go_without_source_conditions(pack: PolicyPackProcess) -> None:
    # S3 documents no source condition for the roles it assumes for replication and Batch Operations; every other
    # service trust needs one (a look-alike principal included).
    def trust(service: str) -> str:
        return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})

    roles = [resource(ROLE, name, {"assumeRolePolicy": trust(service), "tags": TAGS}) for name, service in (
        ("replication", "s3.amazonaws.com"), ("batch", "batchoperations.s3.amazonaws.com"),
        ("scheduler", "scheduler.amazonaws.com"), ("lookalike", "batchoperations.amazonaws.com"))]
    verdict = analyze(pack, roles, pack_config=only(pack, "policy-principals-scoped"))
    assert {v.urn for v in verdict.of("policy-principals-scoped")} == {roles[2].urn, roles[3].urn}


def test_generated_high_entropy_password_is_not_flagged(pack: PolicyPackProcess) -> None:
    verdict = analyze(pack, [resource(RDS, "db", RDS_PRIMARY), resource(RG, "redis", REDIS)])
    assert not verdict.of("no-hard-coded-secrets")


def test_a_secret_versions_own_value_is_not_a_hard_coded_secret(pack: PolicyPackProcess) -> None:
    # Where a secret's value legitimately lives, the write-only secretStringWo (pulumi-aws v7) included.
    private_key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    versions = [resource("aws:secretsmanager/secretVersion:SecretVersion", f"v-{prop}",
                         {"secretId": "arn:secret", prop: private_key})
                for prop in ("secretString", "secretStringWo")]
    flagged = resource("aws:secretsmanager/secretVersion:SecretVersion", "v-stage",
                       {"secretId": "arn:secret", "secretStringWo": "x", "versionStages": [private_key]})
    verdict = analyze(pack, [*versions, flagged], pack_config=only(pack, "no-hard-coded-secrets"))
    assert {v.urn for v in verdict.of("no-hard-coded-secrets")} == {flagged.urn}


def test_every_description_carries_a_reference() -> None:
    for rule in ALL_RULES:
        assert rule.reference and f"[{rule.reference}]" in rule.policy.description
        assert any(marker in rule.reference for marker in ("seed:", "cdk-nag", "Checkov")) or (
            rule.reference.startswith(("AWS: https://docs.aws.amazon.com/",
                                       "AWS: https://repost.aws/knowledge-center/"))), rule.policy.name


UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def test_preview_unknowns_skip_the_secret_scan_but_never_pass_a_rule_that_needs_them(pack: PolicyPackProcess) -> None:
    previewed = resource(RDS, "db", changed(RDS_PRIMARY, storageEncrypted=UNKNOWN, kmsKeyId=UNKNOWN,
                                            tags=changed(TAGS, Name=UNKNOWN)))
    verdict = analyze(pack, [previewed])
    assert not verdict.of("no-hard-coded-secrets") and not verdict.of("required-tags")
    cannot_run = verdict.of("rds-encrypted-with-cmk")
    assert [v.level for v in cannot_run] == ["advisory"] and "during preview" in cannot_run[0].message


def test_github_trust_may_be_limited_to_known_repositories(pack: PolicyPackProcess) -> None:
    trusted = resource(ROLE, "trusted", CI_ROLE)
    foreign = resource(ROLE, "foreign", changed(CI_ROLE, assumeRolePolicy=github_trust(
        sub=["repo:someone/else:environment:prod"])))
    config = {"oidc-trust-pins-repository-and-environment": {"allowedRepositories": ["acme/maratron-infra"]}}
    verdict = analyze(pack, [trusted, foreign], pack_config=config)
    assert [v.urn for v in verdict.of("oidc-trust-pins-repository-and-environment")] == [foreign.urn]
    assert "is not in allowedRepositories" in verdict.of("oidc-trust-pins-repository-and-environment")[0].message


def test_the_foundation_is_always_prod_grade(pack: PolicyPackProcess) -> None:
    """A bootstrap stack named like an environment (org-dev) still gets every prod rule."""
    key = Resource(urn="urn:pulumi:org-dev::maratron-bootstrap::aws:kms/key:Key::k", type="aws:kms/key:Key",
                   name="k", parent="", custom=True, inputs={"enableKeyRotation": True, "tags": TAGS},
                   outputs={"enableKeyRotation": True, "tags": TAGS})
    verdict = analyze(pack, [key], "org-dev", {"all": "mandatory"})
    assert verdict.of("stateful-resources-protected")


def test_a_dr_restore_is_exempt_until_its_source_region_returns(pack: PolicyPackProcess) -> None:
    restored = [r if r.name != "primary" else resource(RDS, "primary", changed(r.inputs, restoreToPointInTime={
        "sourceDbInstanceAutomatedBackupsArn": "arn:aws:rds:us-west-2:1:auto-backup:ab-X",
        "useLatestRestorableTime": True}), protect=True) for r in database_stack()]
    verdict = analyze(pack, [*restored, *replication_stack(replicate=False)])
    assert not verdict.of("rds-backups-replicated") and not verdict.of("s3-data-buckets-replicated")


def test_a_behavior_naming_the_stack_headers_policy_by_a_preview_unknown_id_passes(pack: PolicyPackProcess) -> None:
    """On a first preview the policy's id is not known: the behavior's link to a policy carrying the headers counts;
    a literal id of a policy outside the stack never does."""
    config = only(pack, "cdn-security-headers")
    assert not analyze(pack, cdn_stack(ordered_rhp=UNKNOWN), "prod", config).of("cdn-security-headers")


def first_preview(resources: list[Resource], *unknown: str) -> list[Resource]:
    """`resources` as a first preview sends them: every value under one of the `unknown` keys (computed by another
    resource not created yet) is the engine's unknown sentinel, in inputs and outputs."""
    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: UNKNOWN if k in unknown else blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return value
    for r in resources:
        r.inputs, r.outputs = blank(r.inputs), blank(r.outputs)
    return resources


def test_first_preview_unknown_ids_and_keys_do_not_stop_flow_log_and_replication_checks(
        pack: PolicyPackProcess) -> None:
    """vpc-flow-logs goes by the flow log's link to its VPC before the VPC's id (unknown on a first preview), and
    s3-data-buckets-replicated reads only each SSE rule's algorithm and each replication rule's status, not the keys."""
    def vpc_stack(*, flow_log: bool) -> list[Resource]:
        vpc = resource("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16", "tags": TAGS})
        vpc.outputs["id"] = "vpc-1"
        logs = [resource("aws:ec2/flowLog:FlowLog", "flow", {"vpcId": "vpc-1", "trafficType": "ALL", "tags": TAGS},
                         deps={"vpcId": [vpc]})] if flow_log else []
        return first_preview([vpc, *logs], "id", "vpcId")

    for policy, good, bad, bad_name in (
            ("vpc-flow-logs", vpc_stack(flow_log=True), vpc_stack(flow_log=False), "vpc"),
            ("s3-data-buckets-replicated", first_preview(replication_stack(), "kmsMasterKeyId", "replicaKmsKeyId"),
             first_preview(replication_stack(replicate=False), "kmsMasterKeyId", "replicaKmsKeyId"), "backups")):
        config = only(pack, policy)
        assert not analyze(pack, good, "prod", config).of(policy), policy
        hits = analyze(pack, bad, "prod", config).of(policy)
        target = next(r for r in bad if r.name == bad_name)
        assert [(v.urn, v.level) for v in hits] == [(target.urn, "mandatory")], [v.message for v in hits]
