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
from tests.policies.helpers import KEY, TAGS, analyze, resource

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
}
REDIS = {"authToken": "Zq7!vX2#mL9$kP4^nR6&tW1<yB8>cD3-", "transitEncryptionEnabled": True,
         "atRestEncryptionEnabled": True, "kmsKeyId": KEY, "automaticFailoverEnabled": True, "multiAzEnabled": True,
         "subnetGroupName": "maratron-data", "tags": TAGS}
CONTAINER = {"name": "web", "image": "web:1", "user": "1001:1001", "readonlyRootFilesystem": True,
             "privileged": False, "logConfiguration": {"logDriver": "awslogs", "options": {}},
             "environment": [{"name": "NODE_ENV", "value": "production"},
                             {"name": "SECRET_ARN_PREFIX", "value": "arn:aws:secretsmanager:x"}],
             "secrets": [{"name": "DATABASE_URL", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:db"}]}


def task(**container_changes: Any) -> dict[str, Any]:
    return {"family": "web", "containerDefinitions": json.dumps([changed(CONTAINER, **container_changes)]),
            "tags": TAGS}


HTTPS = {"protocol": "HTTPS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
         "certificateArn": "arn:aws:acm:us-east-1:1:certificate/1", "loadBalancerArn": "arn:lb",
         "routingHttpResponseStrictTransportSecurityHeaderValue": "max-age=63072000; includeSubDomains",
         "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}], "tags": TAGS}
HTTP = {"protocol": "HTTP", "port": 80, "loadBalancerArn": "arn:lb", "tags": TAGS,
        "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                             "statusCode": "HTTP_301"}}]}
ALB = {"internal": False, "loadBalancerType": "application", "dropInvalidHeaderFields": True,
       "accessLogs": {"bucket": "logs", "enabled": True}, "securityGroups": ["sg-1"], "tags": TAGS}
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


def database_stack(*, force_ssl: str = "1", replica: bool = True, cidr_rule: bool = False) -> list[Resource]:
    group = resource(SG, "db-sg", {"vpcId": "vpc-1", "description": "db", "tags": TAGS})
    client = resource(SG, "app-sg", {"vpcId": "vpc-1", "description": "app", "tags": TAGS})
    rule_inputs = changed(RULE_FROM_SG, referencedSecurityGroupId=DELETE, cidrIpv4="10.0.0.0/16") if cidr_rule \
        else RULE_FROM_SG
    rule = resource(SG_RULE, "db-from-app", rule_inputs,
                    deps={"securityGroupId": [group], "referencedSecurityGroupId": [] if cidr_rule else [client]})
    pg = resource(PG, "pg", {"family": "postgres16", "tags": TAGS, "parameters": [
        {"name": "rds.force_ssl", "value": force_ssl, "applyMethod": "immediate"}]})
    primary = resource(RDS, "primary", RDS_PRIMARY, protect=True,
                       deps={"parameterGroupName": [pg], "vpcSecurityGroupIds": [group]})
    out = [group, client, rule, pg, primary]
    if replica:
        out.append(resource(RDS, "replica", changed(RDS_PRIMARY, replicateSourceDb="primary", backupRetentionPeriod=0,
                                                    skipFinalSnapshot=True, deletionProtection=False,
                                                    multiAz=False, password=DELETE),
                            deps={"parameterGroupName": [pg], "replicateSourceDb": [primary]}))
    return out


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


def stack_case(policy: str, good: list[Resource], bad: list[Resource], bad_name: str, stack: str = "prod") -> Case:
    return Case(policy, good, bad, bad_name, stack)


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


def service_connect_stack(*, timeout: dict[str, Any] | None, idle: int = 300,
                          web_depends_on_ai: bool = True) -> list[Resource]:
    alb = resource(LB, "alb", changed(ALB, idleTimeout=idle))
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
    return [alb, ai_task, ai, web_task, web]


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
    stack_case("alb-waf-rate-limit", web_stack(), web_stack(associate=False), "alb"),
    stack_case("alb-waf-rate-limit", web_stack(), web_stack(acl_rules=[]), "acl"),
    stack_case("alb-has-https-listener", web_stack(), web_stack(https=False), "alb"),
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
    stack_case("rds-postgres-replica-no-backup-retention", database_stack(), [
        *database_stack(replica=False),
        resource(RDS, "replica", changed(RDS_PRIMARY, replicateSourceDb="primary", backupRetentionPeriod=1,
                                         engine=DELETE, password=DELETE),
                 deps={"replicateSourceDb": [database_stack(replica=False)[-1]]})], "replica"),
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
    stack_case("ecs-service-connect-client-depends-on-server",
               service_connect_stack(timeout={"perRequestTimeoutSeconds": 0, "idleTimeoutSeconds": 360}),
               service_connect_stack(timeout={"perRequestTimeoutSeconds": 0, "idleTimeoutSeconds": 360},
                                     web_depends_on_ai=False), "web"),  # main: a plain string URL
    stack_case("fargate-spot-arm64-platform-version", spot_stack(platform="1.4.0"), spot_stack(platform="LATEST"),
               "svc", "dev"),
    stack_case("fargate-spot-arm64-platform-version", spot_stack(platform=None, spot=False),
               spot_stack(platform=None), "svc", "dev"),
    single("ecs-cluster-container-insights", "aws:ecs/cluster:Cluster",
           {"settings": [{"name": "containerInsights", "value": "enhanced"}], "tags": TAGS}, settings=[]),
    # secrets
    single("secretsmanager-cmk", "aws:secretsmanager/secret:Secret", {"kmsKeyId": KEY, "tags": TAGS},
           kmsKeyId=DELETE),
    single("secretsmanager-name-unambiguous", "aws:secretsmanager/secret:Secret",
           {"name": "maratron-prod/app/NEXTAUTH_SECRET", "kmsKeyId": KEY, "tags": TAGS},
           name="maratron-prod/app/nextauth-secret"),
    single("no-hard-coded-secrets", RDS, RDS_PRIMARY, label="weak-password", password="changeme"),
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
    # logging, KMS, IAM
    single("log-group-retention", "aws:cloudwatch/logGroup:LogGroup",
           {"retentionInDays": 365, "kmsKeyId": KEY, "tags": TAGS}, retentionInDays=DELETE),
    single("log-group-retention", "aws:cloudwatch/logGroup:LogGroup",
           {"retentionInDays": 365, "kmsKeyId": KEY, "tags": TAGS}, label="too-short", retentionInDays=30),
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


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_compliant_passes_and_violation_is_mandatory_naming_the_resource(pack: PolicyPackProcess, case: Case) -> None:
    if case.good:
        good = analyze(pack, case.good, case.stack)
        assert not good.of(case.policy), [v.message for v in good.of(case.policy)]
    bad = analyze(pack, case.bad, case.stack)
    hits = bad.of(case.policy)
    target = next(r for r in case.bad if r.name == case.bad_name)
    assert any(v.urn == target.urn and v.level == "mandatory" for v in hits), \
        [(v.urn, v.level, v.message) for v in bad.violations]


def test_every_policy_has_a_case() -> None:
    names = {rule.policy.name for rule in ALL_RULES}
    assert names == {case.policy for case in CASES}


PROD_ONLY = ["rds-deletion-protection", "rds-multi-az", "rds-final-snapshot", "redis-automatic-failover",
             "s3-no-force-destroy", "rds-primary-has-replica", "stateful-resources-protected"]


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


def test_generated_high_entropy_password_is_not_flagged(pack: PolicyPackProcess) -> None:
    verdict = analyze(pack, [resource(RDS, "db", RDS_PRIMARY), resource(RG, "redis", REDIS)])
    assert not verdict.of("no-hard-coded-secrets")


def test_every_description_carries_a_reference() -> None:
    for rule in ALL_RULES:
        assert rule.reference and f"[{rule.reference}]" in rule.policy.description
        assert any(marker in rule.reference for marker in ("seed:", "cdk-nag", "Checkov")) or (
            rule.reference.startswith("AWS: https://docs.aws.amazon.com/")), rule.policy.name


UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def test_preview_unknowns_skip_the_secret_scan_but_never_pass_a_rule_that_needs_them(pack: PolicyPackProcess) -> None:
    previewed = resource(RDS, "db", changed(RDS_PRIMARY, storageEncrypted=UNKNOWN, kmsKeyId=UNKNOWN,
                                            tags=changed(TAGS, Name=UNKNOWN)))
    verdict = analyze(pack, [previewed])
    assert not verdict.of("no-hard-coded-secrets") and not verdict.of("required-tags")
    cannot_run = verdict.of("rds-encrypted-with-cmk")
    assert [v.level for v in cannot_run] == ["advisory"] and "during preview" in cannot_run[0].message
