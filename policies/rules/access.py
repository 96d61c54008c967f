"""Database access and credential rules (issue 11): RDS Proxy, rotation of every generated secret, least privilege.

What each rule stands for is written next to the program's code too: components/database_proxy.py (TLS, SCRAM logins,
no debug logging), components/credentials.py (rotation schedules, the functions), components/constants.py
(`maratron:secret-kind`, the exempt kinds and the prod maximum period).
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import (
    RDS_INSTANCE,
    REPLICATION_GROUP,
    SHARED,
    Rule,
    as_list,
    config_value,
    linked,
    number,
    of_type,
    resource_rule,
    stack_rule,
    truthy,
)
from ._controls import DELETE, Drop, Guard, Relink, To, When
from .network import INGRESS_RULE, LEGACY_RULE, _group_rules

PROXY = "aws:rds/proxy:Proxy"
PROXY_TARGET = "aws:rds/proxyTarget:ProxyTarget"
SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
SOURCE_PROPERTY = {INGRESS_RULE: "referencedSecurityGroupId", LEGACY_RULE: "sourceSecurityGroupId"}
"""The input naming the source security group of a rule resource (inline blocks: `ingress`)."""
FUNCTION = "aws:lambda/function:Function"
USER = "aws:elasticache/user:User"
USER_GROUP = "aws:elasticache/userGroup:UserGroup"
PERMISSION = "aws:lambda/permission:Permission"
KIND_TAG: str = SHARED["credentialTag"]
KINDS: list[str] = SHARED["credentialKinds"]
EXEMPT: list[str] = SHARED["rotationExempt"]
MASTER: str = SHARED["databaseMaster"]
MAX_DAYS: int = SHARED["maxRotationDays"]
RUNTIMES = ["python3.12", "python3.13"]
RATE = re.compile(r"^rate\((\d+) days?\)$")


# --- RDS Proxy ------------------------------------------------------------------------------------------------------

def _proxy_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if not truthy(props.get("requireTls")):
        report("requireTls is not true: clients could reach the database unencrypted through the proxy", None)
    if truthy(props.get("debugLogging")):
        report("debugLogging is on: the proxy logs the text of every SQL statement", None)
    auths = as_list(props.get("auths"))
    if not auths and props.get("defaultAuthScheme") != "IAM_AUTH":
        report("no auths: the proxy has no logins", None)
    for auth in auths:
        if auth.get("authScheme") not in (None, "SECRETS"):
            report(f"auth scheme {auth.get('authScheme')!r}: logins come from Secrets Manager", None)
        if auth.get("clientPasswordAuthType") != "POSTGRES_SCRAM_SHA_256" and auth.get("iamAuth") != "REQUIRED":
            report(f"clientPasswordAuthType {auth.get('clientPasswordAuthType')!r}: clients must authenticate with "
                   "SCRAM-SHA-256 (or IAM)", None)


def _through_proxy(args: StackValidationArgs, report: ReportViolation) -> None:
    """In prod every primary sits behind a proxy, and no ECS service's security group reaches a primary directly."""
    resources = args.resources
    services = of_type(resources, SERVICE)
    service_groups = {g.urn for s in services for g in linked(s, "networkConfiguration")}
    targeted = {db.urn for t in of_type(resources, PROXY_TARGET) for db in linked(t, "dbInstanceIdentifier")}
    for primary in (i for i in of_type(resources, RDS_INSTANCE) if not i.props.get("replicateSourceDb")):
        if primary.urn not in targeted:
            report("production primary is not the target of an RDS Proxy (ProxyTarget.dbInstanceIdentifier)",
                   primary.urn)
        # Every way ingress can be written (network.py's _group_rules): inline `ingress` blocks, the current
        # aws:vpc/securityGroupIngressRule and the legacy aws:ec2/securityGroupRule of type ingress.
        reported: set[str] = set()
        for group in linked(primary, "vpcSecurityGroupIds"):
            for owner, _ingress in _group_rules(resources, group):
                source = SOURCE_PROPERTY.get(owner.resource_type, "ingress")
                if owner.urn not in reported and {g.urn for g in linked(owner, source)} & service_groups:
                    reported.add(owner.urn)
                    report("an ECS service's security group reaches the primary directly: services go through the "
                           "proxy", owner.urn)


# --- secrets --------------------------------------------------------------------------------------------------------

def _kind(secret: PolicyResource) -> Any:
    tags = secret.props.get("tags") or {}
    return tags.get(KIND_TAG) if hasattr(tags, "get") else None


def rotation_days(rules: Any) -> float | None:
    """The period of a SecretRotation's rules in days (rate(N days) or automaticallyAfterDays); None if unknown."""
    if not rules:
        return None
    expression = rules.get("scheduleExpression")
    if expression:
        match = RATE.match(str(expression).strip())
        return float(match[1]) if match else None
    days = rules.get("automaticallyAfterDays")
    return number(days) if days is not None else None


def _rotated(args: StackValidationArgs, report: ReportViolation) -> None:
    maximum = number(config_value(args, "maximumRotationDays", MAX_DAYS))
    rotations = of_type(args.resources, ROTATION)
    for secret in of_type(args.resources, SECRET):
        kind = _kind(secret)
        if kind not in KINDS:
            report(f"tag {KIND_TAG} is {kind!r}: say what the secret holds ({', '.join(KINDS)}), so rotation can be "
                   "judged", secret.urn)
            continue
        if kind in EXEMPT:
            continue
        mine = [r for r in rotations if any(s.urn == secret.urn for s in linked(r, "secretId"))]
        if not mine:
            report(f"a generated credential ({kind}) without a rotation schedule (SecretRotation)", secret.urn)
            continue
        for rotation in mine:
            if rotation.props.get("rotationEnabled") is False:
                report("rotation is disabled", rotation.urn)
            days = rotation_days(rotation.props.get("rotationRules"))
            if days is None:
                report("the rotation period cannot be read: use rate(N days)", rotation.urn)
            elif days > maximum:
                report(f"rotates every {days:g} days; at most {maximum:g} allowed", rotation.urn)


def _no_master_in_tasks(args: StackValidationArgs, report: ReportViolation) -> None:
    masters = {s.urn for s in of_type(args.resources, SECRET) if _kind(s) == MASTER}
    for task in of_type(args.resources, TASK_DEFINITION):
        if {s.urn for s in linked(task, "containerDefinitions")} & masters:
            report("a task definition reads the database master's secret: services use their own app roles",
                   task.urn)


# --- functions and Redis users ----------------------------------------------------------------------------------------

def _function_hardened(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    vpc = props.get("vpcConfig") or {}
    if not as_list(vpc.get("subnetIds")) or not as_list(vpc.get("securityGroupIds")):
        report("no vpcConfig with subnets and security groups: the function must run in the VPC", None)
    logging = props.get("loggingConfig") or {}
    if not logging.get("logGroup"):
        report("no loggingConfig.logGroup: logs would go to an unencrypted, never-expiring /aws/lambda group", None)
    if props.get("runtime") not in RUNTIMES:
        report(f"runtime {props.get('runtime')!r}: use a supported one ({', '.join(RUNTIMES)})", None)


def _redis_default_user_off(args: StackValidationArgs, report: ReportViolation) -> None:
    users = of_type(args.resources, USER)
    for group in of_type(args.resources, REPLICATION_GROUP):
        if group.props.get("authToken"):
            report("authToken is set: authentication is by RBAC users (userGroupIds), which can rotate without "
                   "modifying the group", group.urn)
        for user_group in (g for g in linked(group, "userGroupIds") if g.resource_type == USER_GROUP):
            members = [u for u in users if u.urn in {m.urn for m in linked(user_group, "userIds")}]
            default = [u for u in members if u.props.get("userName") == "default"]
            if not default:
                report("the user group has no user named `default` of its own: ElastiCache's built-in default "
                       "(no password, every command) would be in it", user_group.urn)
            for user in default:
                if not str(user.props.get("accessString") or "").startswith("off"):
                    report("the `default` user is enabled: its access string must start with `off`", user.urn)
            for user in members:
                # Two inputs say so in pulumi-aws v7: authenticationMode.type and the top-level noPasswordRequired
                # (ElastiCache CreateUser NoPasswordRequired, https://docs.aws.amazon.com/AmazonElastiCache/latest/
                # APIReference/API_CreateUser.html).
                if (user.props.get("authenticationMode") or {}).get("type") == "no-password-required" or \
                        truthy(user.props.get("noPasswordRequired")):
                    report(f"user {user.props.get('userName')!r} needs no password: every user authenticates "
                           "(password or IAM)", user.urn)


def _permission_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    principal = str(args.props.get("principal") or "")
    if principal.endswith(".amazonaws.com") and not args.props.get("sourceArn") and \
            not args.props.get("sourceAccount"):
        report(f"{principal} may invoke the function for any resource of any account: name the sourceArn (the "
               "secret whose rotation calls it) or at least the sourceAccount", None)


RULES: list[Rule] = [
    resource_rule("rds-proxy-tls", area="database access", types=[PROXY], check=_proxy_tls,
                  summary="RDS Proxy requires TLS, never logs SQL text, and takes SCRAM logins from Secrets Manager",
                  reference="seed: SSL/TLS for database connections, connection pooling",
                  guards=[Guard("requireTls", To(False)), Guard("debugLogging", To(True)),
                          Guard("auths[*].authScheme", To("NONE"), each=True, note="where each login comes from"),
                          Guard("auths[*].clientPasswordAuthType", To("POSTGRES_MD5"), each=True)]),
    stack_rule("rds-services-through-proxy", area="database access", check=_through_proxy, prod_only=True,
               summary="Every production primary sits behind RDS Proxy and no service reaches it directly",
               reference="seed: connection pooling (PgBouncer), restricted database access",
               guards=[Guard("dbInstanceIdentifier", Drop(), types=(PROXY_TARGET,), blame="dbInstanceIdentifier",
                             note="the primary behind the proxy")]),
    stack_rule("secrets-rotated", area="secrets", check=_rotated,
               summary="Every generated secret rotates at least every maximumRotationDays (exempt kinds: "
                       f"{', '.join(EXEMPT)}, with the runbook)",
               reference="seed: secrets rotation plan; Checkov CKV2_AWS_57",
               schema={"maximumRotationDays": {"type": "integer", "minimum": 1, "maximum": 365, "default": MAX_DAYS,
                                               "description": "Longest allowed rotation period in days."}},
               guards=[Guard("rotationRules.scheduleExpression", To("rate(90 days)"), types=(ROTATION,)),
                       Guard("secretId", Drop(), types=(ROTATION,), blame="secretId",
                             note="the secret's rotation schedule")]),
    stack_rule("no-master-secret-in-tasks", area="secrets", check=_no_master_in_tasks,
               summary="No ECS task definition reads the database master's secret",
               reference="seed: least privilege (app roles, not the master user)",
               guards=[Guard("containerDefinitions<json>[*].secrets[*].valueFrom",
                             Relink("containerDefinitions", SECRET, When(f"tags.{KIND_TAG}", MASTER)),
                             types=(TASK_DEFINITION,), note="which secrets a task reads")]),
    resource_rule("lambda-in-vpc-with-own-logs", area="database access", types=[FUNCTION], check=_function_hardened,
                  summary="Functions run in the VPC, log to their own log group and use a supported runtime",
                  reference="Checkov CKV_AWS_117, CKV_AWS_363",
                  guards=[Guard("vpcConfig.subnetIds", DELETE), Guard("vpcConfig.securityGroupIds", DELETE),
                          Guard("loggingConfig.logGroup", DELETE), Guard("runtime", To("python3.8"))]),
    resource_rule("lambda-permission-source-scoped", area="database access", types=[PERMISSION],
                  check=_permission_scoped,
                  summary="A service may invoke a function only for the resource named by sourceArn (or at least "
                          "from this account): no confused deputy",
                  reference="Checkov CKV_AWS_364; Lambda developer guide, resource-based policies (SourceArn)",
                  guards=[Guard("sourceArn", DELETE)]),
    stack_rule("redis-rbac-default-user-off", area="cache", check=_redis_default_user_off,
               summary="Redis authenticates RBAC users (no AUTH token; every user needs a password or IAM: neither "
                       "authenticationMode no-password-required nor noPasswordRequired) and its `default` user is "
                       "disabled",
               reference="seed: Redis AUTH; cdk-nag AEC6; Checkov CKV_AWS_31; AWS: "
                         "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateUser.html",
               guards=[Guard("accessString", To("on ~* +@all"), types=(USER,), where=When("userName", "default")),
                       Guard("authenticationMode.type", To("no-password-required"), types=(USER,),
                             where=When("userName", "default", negate=True))]),
]
