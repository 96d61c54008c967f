"""Whole stacks through the pack: every stack is clean, and breaking any checklist setting in prod is caught.

The misconfiguration sweep is a table of (resource type, selector, property path, bad value, expected policy). It
takes the compliant prod run, breaks one setting in one resource's wire inputs (and its state, which AnalyzeStack
reads), and expects a mandatory violation of that policy naming that resource's URN. Entries whose resource type
the stack does not (yet) have are skipped — they switch on by themselves when the database, cache, storage, app and
edge tiers land. An entry whose path is missing from a resource that *is* there fails: the table must follow the
code, never silently pass.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import pytest

from offline.engine import Resource, StackRun
from offline.policy_runner import (
    PolicyConfigError,
    PolicyPackProcess,
    check_resources,
    check_run,
    load_pack_config,
    merge_policy_config,
    render_verdict,
    stack_export,
)
from tests.policies.helpers import analyze

DELETE = "<delete>"
PROTECT = "@protect"
ADMIN_DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def test_every_stack_has_zero_mandatory_violations(pack: PolicyPackProcess, any_stack: StackRun) -> None:
    verdict = check_run(any_stack, pack=pack)
    assert verdict.mandatory == [], "\n".join(render_verdict(verdict))
    assert verdict.resources == len(any_stack.resources) and verdict.policies == len(pack.policy_names())


@dataclass(frozen=True)
class Break:
    type: str
    path: tuple[Any, ...]
    """Keys and list indexes into the inputs; "<json>" parses a JSON string input; "@k=v" picks a list item."""
    value: Any
    policy: str
    where: tuple[str, Any] | None = None
    """Only resources whose input `where[0]` equals `where[1]` (None: any); the first one is broken."""

    @property
    def id(self) -> str:
        return f"{self.type.rsplit(':', 1)[-1]}.{'.'.join(map(str, self.path))}->{self.policy}"


PRIMARY = ("replicateSourceDb", None)
CONTAINER = ("containerDefinitions", "<json>", "@essential=True")  # the app container, not the volume init
ALERTS_KEY = ("description", "maratron-prod: SNS alert topic (CloudWatch alarms, EventBridge and the Prometheus alert "
              "manager publish to it)")
# main's key policy before issue 9: alarms and EventBridge in one statement under aws:SourceAccount.
EVENTS_WITH_SOURCE_CONDITION = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "EnableIamPoliciesOfThisAccount", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
     "Action": "kms:*", "Resource": "*"},
    {"Sid": "AllowAlarmPublishingToEncryptedTopic", "Effect": "Allow",
     "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
     "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
     "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]})
# issue 9's alerts key policy without the Prometheus alert manager's statement (the metrics workspace publishes).
ALERTS_KEY_WITHOUT_AMP = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "EnableIamPoliciesOfThisAccount", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
     "Action": "kms:*", "Resource": "*"},
    {"Sid": "CloudWatchAlarmsPublishToEncryptedTopic", "Effect": "Allow",
     "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
     "Resource": "*", "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"},
                                    "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"}}},
    {"Sid": "EventBridgePublishesToEncryptedTopic", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
     "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}]})
SIDECAR = ("containerDefinitions", "<json>", "@name=metrics-collector")
WEB_TASK = ("family", "maratron-prod-web")
SWEEP: list[Break] = [
    # network (on the branch today)
    # The interface endpoints' HTTPS-from-the-VPC rule (prod's vpcCidr): an address-range rule off the ALB.
    Break("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", ("fromPort",), 22,
          "security-group-no-admin-ports", ("cidrIpv4", "10.0.0.0/16")),
    Break("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", ("cidrIpv4",), "0.0.0.0/0",
          "internet-ingress-only-to-public-load-balancers", ("cidrIpv4", "10.0.0.0/16")),
    Break("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", ("ingress",),
          [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}], "default-security-group-closed"),
    Break("aws:ec2/subnet:Subnet", ("mapPublicIpOnLaunch",), True, "subnet-no-public-ip-on-launch"),
    Break("aws:ec2/vpc:Vpc", ("tags", "owner"), DELETE, "required-tags"),
    Break("aws:cloudwatch/logGroup:LogGroup", ("retentionInDays",), 7, "log-group-retention"),
    Break("aws:cloudwatch/logGroup:LogGroup", ("kmsKeyId",), DELETE, "log-group-kms"),
    Break("aws:kms/key:Key", ("enableKeyRotation",), False, "kms-key-rotation"),
    Break("aws:kms/key:Key", (PROTECT,), False, "stateful-resources-protected"),
    Break("aws:iam/rolePolicy:RolePolicy", ("policy",), ADMIN_DOC, "iam-no-wildcard-admin"),
    Break("aws:iam/role:Role", ("managedPolicyArns",), ["arn:aws:iam::aws:policy/AdministratorAccess"],
          "iam-no-admin-managed-policies"),
    # database
    Break("aws:rds/instance:Instance", ("storageEncrypted",), False, "rds-encrypted-with-cmk", PRIMARY),
    Break("aws:rds/instance:Instance", ("kmsKeyId",), DELETE, "rds-encrypted-with-cmk", PRIMARY),
    Break("aws:rds/instance:Instance", ("publiclyAccessible",), True, "rds-not-public", PRIMARY),
    Break("aws:rds/instance:Instance", ("backupRetentionPeriod",), 1, "rds-backup-retention", PRIMARY),
    Break("aws:rds/instance:Instance", ("deletionProtection",), False, "rds-deletion-protection", PRIMARY),
    Break("aws:rds/instance:Instance", ("multiAz",), False, "rds-multi-az", PRIMARY),
    Break("aws:rds/instance:Instance", ("skipFinalSnapshot",), True, "rds-final-snapshot", PRIMARY),
    Break("aws:rds/instance:Instance", ("iamDatabaseAuthenticationEnabled",), False, "rds-iam-authentication"),
    Break("aws:rds/instance:Instance", ("performanceInsightsKmsKeyId",), DELETE,
          "rds-performance-insights-encrypted"),
    Break("aws:rds/instance:Instance", ("enabledCloudwatchLogsExports",), [], "rds-log-exports"),
    Break("aws:rds/instance:Instance", (PROTECT,), False, "stateful-resources-protected", PRIMARY),
    Break("aws:rds/parameterGroup:ParameterGroup", ("parameters", "@name=rds.force_ssl", "value"), "0",
          "rds-force-ssl"),
    Break("aws:rds/parameterGroup:ParameterGroup", ("parameters", "@name=shared_buffers", "applyMethod"),
          "immediate", "rds-static-parameters-pending-reboot"),
    Break("aws:rds/instance:Instance", ("backupRetentionPeriod",), 1, "rds-postgres-replica-no-backup-retention",
          ("replicateSourceDb", "maratron-prod-db")),
    # cache
    Break("aws:elasticache/replicationGroup:ReplicationGroup", ("authToken",), DELETE, "redis-auth"),
    Break("aws:elasticache/replicationGroup:ReplicationGroup", ("transitEncryptionEnabled",), False,
          "redis-transit-encryption"),
    Break("aws:elasticache/replicationGroup:ReplicationGroup", ("atRestEncryptionEnabled",), False,
          "redis-at-rest-encryption-cmk"),
    Break("aws:elasticache/replicationGroup:ReplicationGroup", ("kmsKeyId",), DELETE,
          "redis-at-rest-encryption-cmk"),
    Break("aws:elasticache/replicationGroup:ReplicationGroup", ("automaticFailoverEnabled",), False,
          "redis-automatic-failover"),
    Break("aws:elasticache/replicationGroup:ReplicationGroup", (PROTECT,), False, "stateful-resources-protected"),
    # containers
    Break("aws:ecs/taskDefinition:TaskDefinition", (*CONTAINER, "user"), "root", "container-non-root"),
    Break("aws:ecs/taskDefinition:TaskDefinition", (*CONTAINER, "readonlyRootFilesystem"), False,
          "container-read-only-root-filesystem"),
    Break("aws:ecs/taskDefinition:TaskDefinition", (*CONTAINER, "privileged"), True, "container-not-privileged"),
    Break("aws:ecs/taskDefinition:TaskDefinition", (*CONTAINER, "logConfiguration"), DELETE, "container-logging"),
    Break("aws:ecs/taskDefinition:TaskDefinition", (*CONTAINER, "environment"),
          [{"name": "DATABASE_PASSWORD", "value": "x"}], "container-no-plaintext-secrets"),
    Break("aws:ecs/service:Service", ("networkConfiguration", "assignPublicIp"), True, "ecs-service-no-public-ip"),
    Break("aws:ecs/service:Service", ("waitForSteadyState",), False, "ecs-service-waits-for-steady-state"),
    Break("aws:ecs/service:Service", ("serviceConnectConfiguration", "services", 0, "timeout"), DELETE,
          "ecs-service-connect-timeout-covers-edge", ("name", "ai")),
    Break("aws:ecs/service:Service", ("serviceConnectConfiguration", "services", 0, "timeout",
                                      "idleTimeoutSeconds"), 60, "ecs-service-connect-timeout-covers-edge",
          ("name", "ai")),
    Break("aws:secretsmanager/secret:Secret", ("kmsKeyId",), DELETE, "secretsmanager-cmk"),
    Break("aws:secretsmanager/secret:Secret", ("name",), "maratron-prod/app/nextauth-secret",
          "secretsmanager-name-unambiguous"),
    Break("aws:kms/key:Key", ("policy",), EVENTS_WITH_SOURCE_CONDITION, "kms-key-policy-service-principals"),
    Break("aws:kms/key:Key", ("policy",), EVENTS_WITH_SOURCE_CONDITION, "kms-key-serves-its-users", ALERTS_KEY),
    Break("aws:kms/key:Key", ("policy",), ALERTS_KEY_WITHOUT_AMP, "kms-key-serves-its-users", ALERTS_KEY),
    Break("aws:scheduler/schedule:Schedule", ("kmsKeyArn",), DELETE, "scheduler-schedule-cmk"),
    # edge
    Break("aws:lb/listener:Listener", ("sslPolicy",), "ELBSecurityPolicy-2016-08", "alb-https-tls-policy",
          ("protocol", "HTTPS")),
    Break("aws:lb/listener:Listener", ("certificateArn",), DELETE, "alb-https-tls-policy", ("protocol", "HTTPS")),
    Break("aws:lb/listener:Listener", ("routingHttpResponseStrictTransportSecurityHeaderValue",), DELETE, "alb-hsts",
          ("protocol", "HTTPS")),
    Break("aws:lb/listener:Listener", ("defaultActions",), [{"type": "fixed-response", "fixedResponse": {
        "contentType": "text/plain", "statusCode": "200"}}], "alb-http-redirects-to-https", ("protocol", "HTTP")),
    Break("aws:lb/loadBalancer:LoadBalancer", ("dropInvalidHeaderFields",), False, "alb-drop-invalid-headers"),
    Break("aws:wafv2/webAcl:WebAcl", ("rules",), [], "alb-waf-rate-limit"),
    # storage
    Break("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", ("rules",), [],
          "s3-encryption"),
    Break("aws:s3/bucketVersioning:BucketVersioning", ("versioningConfiguration", "status"), "Suspended",
          "s3-versioning"),
    Break("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", ("blockPublicPolicy",), False,
          "s3-public-access-block"),
    Break("aws:s3/bucketPolicy:BucketPolicy", ("policy",), json.dumps({"Version": "2012-10-17", "Statement": []}),
          "s3-tls-only-policy"),
    Break("aws:s3/bucket:Bucket", ("forceDestroy",), True, "s3-no-force-destroy"),
    Break("aws:s3/bucket:Bucket", (PROTECT,), False, "stateful-resources-protected"),
    # metrics: the workspace, who writes to it, the alert topic's publishers, and the collector sidecar of the web
    # task held to every container rule like the app
    Break("aws:amp/workspace:Workspace", ("kmsKeyArn",), DELETE, "amp-workspace-cmk"),
    Break("aws:amp/workspace:Workspace", ("loggingConfiguration",), DELETE, "amp-workspace-logging"),
    Break("aws:amp/workspace:Workspace", (PROTECT,), False, "stateful-resources-protected"),
    Break("aws:iam/rolePolicy:RolePolicy", ("policy",), json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "aps:RemoteWrite", "Resource": "*"}]}), "amp-access-scoped-to-workspaces"),
    Break("aws:sns/topicPolicy:TopicPolicy", ("policy",), json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "aps.amazonaws.com"}, "Action": "sns:Publish",
        "Resource": "*"}]}), "sns-service-publishers-scoped"),
    Break("aws:grafana/workspace:Workspace", ("permissionType",), "SERVICE_MANAGED", "grafana-least-privilege"),
    Break("aws:ecs/taskDefinition:TaskDefinition", (*SIDECAR, "user"), "0:0", "container-non-root", WEB_TASK),
    Break("aws:ecs/taskDefinition:TaskDefinition", (*SIDECAR, "readonlyRootFilesystem"), False,
          "container-read-only-root-filesystem", WEB_TASK),
    Break("aws:ecs/taskDefinition:TaskDefinition", (*SIDECAR, "linuxParameters", "capabilities", "add"),
          ["SYS_ADMIN"], "container-not-privileged", WEB_TASK),
    Break("aws:ecs/taskDefinition:TaskDefinition", (*SIDECAR, "logConfiguration"), DELETE, "container-logging",
          WEB_TASK),
]


def _set(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of document with the value at path replaced (or deleted); KeyError when the path is not there."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    if step == "<json>":
        return json.dumps(_set(json.loads(document), rest, value))
    if isinstance(step, str) and step.startswith("@"):
        key, _, wanted = step[1:].partition("=")
        index = next((i for i, item in enumerate(document) if str(item.get(key)) == wanted), None)
        if index is None:
            raise KeyError(step)
        step = index
    out = copy.copy(document)
    if not rest and value == DELETE:
        if step not in (range(len(out)) if isinstance(out, list) else out):
            raise KeyError(step)
        del out[step]
        return out
    if isinstance(out, dict) and step not in out and rest:
        raise KeyError(step)
    out[step] = _set(out[step], rest, value) if rest else value
    return out


def _target(run: StackRun, entry: Break) -> Resource | None:
    for resource in run.of_type(entry.type):
        if entry.where is None or resource.inputs.get(entry.where[0]) == entry.where[1]:
            return resource
    return None


def broken(run: StackRun, entry: Break) -> tuple[list[Resource], Resource]:
    target = _target(run, entry)
    assert target is not None
    if entry.path == (PROTECT,):
        changed = dataclasses.replace(target, protect=entry.value)
    else:
        try:
            inputs = _set(target.inputs, entry.path, entry.value)
        except (KeyError, IndexError, TypeError) as error:
            raise AssertionError(f"{target.urn} has no input {entry.path}: update the sweep entry") from error
        try:
            outputs = _set(target.outputs, entry.path, entry.value)
        except (KeyError, IndexError, TypeError):
            outputs = {**target.outputs, **inputs}
        changed = dataclasses.replace(target, inputs=inputs, outputs=outputs)
    return [changed if r is target else r for r in run.resources], changed


@pytest.mark.parametrize("entry", SWEEP, ids=lambda e: e.id)
def test_misconfiguration_sweep_prod(pack: PolicyPackProcess, prod: StackRun, entry: Break) -> None:
    if _target(prod, entry) is None:
        pytest.skip(f"prod has no {entry.type}{'' if entry.where is None else f' with {entry.where}'} yet")
    resources, changed = broken(prod, entry)
    verdict = check_resources(pack, "prod", resources, load_pack_config("prod"), analyze_only=[changed.urn])
    hits = [v for v in verdict.mandatory if v.policy == entry.policy and v.urn == changed.urn]
    assert hits, "\n".join(render_verdict(verdict))


def test_sweep_covers_every_policy_that_can_be_broken_in_one_resource() -> None:
    # Policies about a missing companion resource (flow logs, WAF association, HTTPS listener, bucket
    # companions, replicas) and the two SG cross-checks are covered by test_rules.py cases instead.
    stack_only = {"vpc-flow-logs", "alb-waf-rate-limit", "alb-has-https-listener", "s3-bucket-hardening",
                  "rds-primary-has-replica", "data-store-ingress-from-security-groups-only",
                  "security-group-no-internet-ingress", "alb-access-logs", "ecs-cluster-container-insights",
                  "kms-key-policy-no-public-principal", "redis-in-vpc", "no-hard-coded-secrets",
                  # a dependency edge, a Spot stack, a violation reported on the role a policy belongs to:
                  "ecs-service-connect-client-depends-on-server", "fargate-spot-arm64-platform-version",
                  "rds-export-role-kms", "amp-alerts-routed-to-topic"}
    from policies.rules import ALL_RULES

    assert {r.policy.name for r in ALL_RULES} - stack_only <= {e.policy for e in SWEEP}


# --- pack config ------------------------------------------------------------------------------------------------------

def test_config_merges_schema_defaults_all_and_per_policy(pack: PolicyPackProcess) -> None:
    merged = merge_policy_config(pack.info, {"all": "advisory", "rds-backup-retention": {
        "enforcementLevel": "mandatory", "minimumRetentionDays": 3}, "alb-hsts": "disabled"})
    assert merged["rds-backup-retention"] == ("mandatory", {"minimumRetentionDays": 3})
    assert merged["alb-hsts"][0] == "disabled"
    assert merged["log-group-retention"] == ("advisory", {"minimumRetentionDays": 365})
    assert merge_policy_config(pack.info, {})["vpc-flow-logs"] == ("mandatory", {})


@pytest.mark.parametrize(("config", "error"), [
    ({"rds-backups": "advisory"}, "no policy named 'rds-backups'"),
    ({"rds-backup-retention": {"minimumDays": 3}}, "has no property 'minimumDays'"),
    ({"all": "warn"}, "enforcement level 'warn' is not one of"),
])
def test_config_errors_name_the_problem(pack: PolicyPackProcess, config: dict[str, Any], error: str) -> None:
    with pytest.raises(PolicyConfigError, match=error):
        merge_policy_config(pack.info, config)


def test_config_parameter_changes_the_verdict(pack: PolicyPackProcess, prod: StackRun) -> None:
    strict = analyze(pack, prod.resources, "prod", {"log-group-retention": {"minimumRetentionDays": 400}})
    assert {v.level for v in strict.of("log-group-retention")} == {"mandatory"}
    advisory = analyze(pack, prod.resources, "prod", {"all": "advisory",
                                                      "log-group-retention": {"minimumRetentionDays": 400}})
    assert advisory.of("log-group-retention") and not advisory.mandatory


def test_stack_config_files_are_valid_and_dev_downgrades_only_cost_rules(pack: PolicyPackProcess) -> None:
    levels = {stack: merge_policy_config(pack.info, load_pack_config(stack)) for stack in ("dev", "staging", "prod")}
    assert all(level == "mandatory" for level, _ in levels["prod"].values())
    assert all(level == "mandatory" for level, _ in levels["staging"].values())
    downgraded = {name for name, (level, _) in levels["dev"].items() if level != "mandatory"}
    assert downgraded == {"alb-access-logs", "rds-performance-insights-encrypted", "ecs-cluster-container-insights"}


# --- stack export -----------------------------------------------------------------------------------------------------

def test_stack_export_has_the_cli_shape(prod: StackRun) -> None:
    export = stack_export(prod)
    assert export["version"] == 3
    resources = export["deployment"]["resources"]
    assert [r["urn"] for r in resources] == [r.urn for r in prod.resources]
    key = next(r for r in resources if r["type"] == "aws:kms/key:Key")
    assert key["protect"] is True and key["inputs"]["enableKeyRotation"] is True and key["parent"]
    json.dumps(export)
