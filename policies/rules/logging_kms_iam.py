"""CloudWatch Logs, KMS and IAM rules."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import (
    LOG_RETENTION_DAYS,
    Rule,
    as_list,
    config_value,
    linked,
    number,
    of_type,
    resource_rule,
    settings_rule,
    stack_rule,
    statements,
    truthy,
)
from ._controls import (
    DELETE,
    MISSING,
    AtLeast,
    AtMost,
    CoversAction,
    Guard,
    Patch,
    Present,
    RemoveItem,
    Setting,
    To,
    When,
    action_matches,
)

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
KMS_REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"
"""A multi-Region key's copy: its own policy and deletion window (ReplicateKey does not copy the policy); rotation is
the primary's."""
ROLE = "aws:iam/role:Role"
POLICY_DOCUMENT_TYPES = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
)
ADMIN_MANAGED_POLICIES = ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"]
TO_EVERYONE = Patch("policy<json>.Statement[*]", {"Principal": "*", "Condition": MISSING})
TOPIC = "aws:sns/topic:Topic"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
FARGATE_STORAGE_ACTIONS = ("kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant")
FARGATE_CONTEXT_KEYS = {"kms:encryptioncontext:aws:ecs:clusteraccount", "kms:encryptioncontext:aws:ecs:clustername"}
"""What Fargate needs of the key that encrypts a cluster's ephemeral storage (ECS developer guide, "Create an
encryption key for Fargate ephemeral storage")."""
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ALERT_MANAGER = "aws:amp/alertManagerDefinition:AlertManagerDefinition"
BUDGET = "aws:budgets/budget:Budget"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SCHEDULE = "aws:scheduler/schedule:Schedule"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
SOURCE_CONDITION_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths")
TOPIC_PUBLISH_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")
"""What a service publishing to an SSE-KMS topic needs on its key (SNS developer guide, key management)."""
LOGS_ACTIONS = ("kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*")
LOGS_CONTEXT_KEY = "kms:EncryptionContext:aws:logs:arn"
SNAPSHOT_EXPORT_KMS_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                               "kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant")
SCHEDULER_CONTEXT_KEY = "kms:EncryptionContext:aws:scheduler:schedule:arn"


def _retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = number(config_value(args, "minimumRetentionDays", LOG_RETENTION_DAYS))
    days = number(args.props.get("retentionInDays"), 0)
    if days <= 0:
        report("retentionInDays is unset: logs are kept (and billed) forever", None)
    elif days < minimum:
        report(f"retentionInDays is {int(days)}; at least {int(minimum)} required", None)


def _log_kms(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.props.get("kmsKeyId"):
        report("log group has no kmsKeyId (the stack's logs CMK)", None)


def _kms_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if str(args.props.get("customerMasterKeySpec") or args.props.get("keySpec") or "SYMMETRIC_DEFAULT") \
            != "SYMMETRIC_DEFAULT":
        return  # AWS rotates only symmetric keys
    if not truthy(args.props.get("enableKeyRotation")):
        report("enableKeyRotation is not true", None)


def _kms_no_public_principal(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for statement in statements(args.props.get("policy")):
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        if statement.get("Effect") == "Allow" and "*" in as_list(aws) and not statement.get("Condition"):
            report(f"key policy statement {statement.get('Sid', '')!r} allows any principal (*)", None)


def _wildcard_statements(policy: Any) -> list[str]:
    found = []
    for statement in statements(policy):
        actions = [str(a) for a in as_list(statement.get("Action"))]
        resources = [str(r) for r in as_list(statement.get("Resource"))]
        if statement.get("Effect") == "Allow" and any(a in ("*", "*:*") for a in actions) and "*" in resources:
            found.append(str(statement.get("Sid") or "(no Sid)"))
    return found


def _iam_wildcards(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # KMS key policies are exempt by design: there `"Resource": "*"` means "this key", and `kms:*` for the account
    # root is AWS's default delegation to IAM. They are not IAM policy types, so they never reach this check.
    documents: list[tuple[str, Any]] = []
    if args.resource_type == ROLE:
        documents += [(f"inline policy {p.get('name', '')!r}", p.get("policy"))
                      for p in as_list(args.props.get("inlinePolicies"))]
    else:
        documents.append(("policy", args.props.get(POLICY_DOCUMENT_TYPES[args.resource_type])))
    for label, policy in documents:
        sids = _wildcard_statements(policy)
        if sids:
            report(f"{label} allows every action on every resource (statements {sids})", None)


def _no_admin_managed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    banned = [str(p) for p in as_list(config_value(args, "bannedPolicies", ADMIN_MANAGED_POLICIES))]
    arns = as_list(args.props.get("policyArn")) + as_list(args.props.get("managedPolicyArns")) \
        + as_list(args.props.get("policyArns"))
    for arn in arns:
        if str(arn).rsplit("/", 1)[-1] in banned:
            report(f"attaches the AWS managed policy {arn}", None)


# --- key policies checked against the services that use each key -----------------------------------------------------

def _services(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    return [str(s) for s in as_list(principal.get("Service"))] if isinstance(principal, dict) else []


def _condition_keys(statement: dict[str, Any]) -> dict[str, Any]:
    """Condition key (lower case) -> value, across operators."""
    out: dict[str, Any] = {}
    for block in (statement.get("Condition") or {}).values():
        if isinstance(block, dict):
            out.update({str(k).lower(): v for k, v in block.items()})
    return out


def _action_covers(granted: list[str], wanted: str) -> bool:
    """Whether an Allow's actions include `wanted` (exactly, by a wildcard in the grant, or kms:*)."""
    return any(action_matches(action, wanted) for action in granted)


def _allows(policy: Any, service: str, actions: tuple[str, ...]) -> list[dict[str, Any]]:
    """The Allow statements of a key policy that give `service` every one of `actions`."""
    found = []
    for statement in statements(policy):
        if statement.get("Effect") != "Allow" or service not in _services(statement):
            continue
        granted = [str(a) for a in as_list(statement.get("Action"))]
        if all(_action_covers(granted, action) for action in actions):
            found.append(statement)
    return found


def _is_logs_principal(service: str) -> bool:
    return service.startswith("logs.") and service.endswith(".amazonaws.com")


def _key_policy_service_principals(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for statement in statements(args.props.get("policy")):
        if statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid", "")
        services = _services(statement)
        conditions = _condition_keys(statement)
        if "events.amazonaws.com" in services and any(k in conditions for k in SOURCE_CONDITION_KEYS):
            report(f"key policy statement {sid!r} grants events.amazonaws.com under an aws:Source* condition: not "
                   "supported for EventBridge-to-encrypted topics, so EventBridge cannot publish (SNS developer "
                   "guide); give EventBridge its own statement without it", None)
        for service in services:
            if service == "logs.amazonaws.com" or (_is_logs_principal(service) and service.count(".") != 3):
                report(f"key policy statement {sid!r} names {service}; CloudWatch Logs uses the regional principal "
                       "logs.<region>.amazonaws.com", None)
            elif _is_logs_principal(service) and LOGS_CONTEXT_KEY.lower() not in conditions:
                report(f"key policy statement {sid!r} lets {service} use the key for any log group: limit it with "
                       f"{LOGS_CONTEXT_KEY} (CloudWatch Logs user guide)", None)
            elif service == "fargate.amazonaws.com" and not FARGATE_CONTEXT_KEYS.issubset(conditions):
                report(f"key policy statement {sid!r} lets Fargate use the key without the encryption context it "
                       f"sends ({', '.join(sorted(FARGATE_CONTEXT_KEYS))}): limit it to this account's cluster as "
                       "the ECS developer guide's key policy does", None)


def _key_of(resource: PolicyResource, prop: str) -> PolicyResource | None:
    keys = [k for k in linked(resource, prop) if k.resource_type == KMS_KEY]
    return keys[0] if keys else None


def _names_key(reference: str, key: PolicyResource) -> bool:
    """Whether a key reference (ARN or key id) names this key."""
    ids = {str(key.props.get(prop)) for prop in ("arn", "keyId", "id") if key.props.get(prop)}
    return reference in ids or any(reference.endswith(f":key/{i}") for i in ids)


def _publishers(topic: PolicyResource, resources: list[PolicyResource]) -> set[str]:
    """The service principals that publish to a topic in this stack: alarms, EventBridge rule targets and Prometheus
    (AMP) alert managers whose SNS receiver is the topic."""
    out = set()
    for alarm in of_type(resources, METRIC_ALARM):
        if any(topic in linked(alarm, prop) for prop in ("alarmActions", "okActions", "insufficientDataActions")):
            out.add("cloudwatch.amazonaws.com")
    for target in of_type(resources, EVENT_TARGET):
        if topic in linked(target, "arn"):
            out.add("events.amazonaws.com")
    for manager in of_type(resources, ALERT_MANAGER):
        if topic in linked(manager, "definition"):
            out.add("aps.amazonaws.com")
    for budget in of_type(resources, BUDGET):
        if topic in linked(budget, "notifications"):
            out.add("budgets.amazonaws.com")
    return out


def _keys_serve_their_users(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for topic in of_type(resources, TOPIC):
        key = _key_of(topic, "kmsMasterKeyId")
        if key is None:
            continue
        for service in sorted(_publishers(topic, resources)):
            grants = _allows(key.props.get("policy"), service, TOPIC_PUBLISH_ACTIONS)
            if not grants:
                report(f"{service} publishes to {topic.urn}, but the topic's key does not allow it "
                       f"{', '.join(TOPIC_PUBLISH_ACTIONS)}: its messages are dropped", key.urn)
            elif service == "events.amazonaws.com" and all(
                    any(k in _condition_keys(g) for k in SOURCE_CONDITION_KEYS) for g in grants):
                report(f"EventBridge publishes to {topic.urn} but its key grant carries aws:Source* conditions, "
                       "which EventBridge-to-encrypted-topic delivery does not support", key.urn)
    for cluster in of_type(resources, ECS_CLUSTER):
        storage = ((cluster.props.get("configuration") or {}).get("managedStorageConfiguration") or {})
        key_id = storage.get("fargateEphemeralStorageKmsKeyId")
        if not key_id:
            continue
        if ":alias/" in str(key_id) or str(key_id).startswith("alias/"):
            report(f"{cluster.urn} encrypts ephemeral storage with an alias: \"KMS key aliases are not supported "
                   "for Fargate ephemeral storage\"; name the key's ARN", cluster.urn)
        # `configuration` links every key under it (execute-command's too): the storage key is the one whose ARN
        # (or id) fargateEphemeralStorageKmsKeyId names.
        key = next((k for k in linked(cluster, "configuration") if k.resource_type == KMS_KEY
                    and _names_key(str(key_id), k)), None)
        for action in FARGATE_STORAGE_ACTIONS:
            if key is not None and not _allows(key.props.get("policy"), "fargate.amazonaws.com", (action,)):
                report(f"{cluster.urn} encrypts its tasks' ephemeral storage with this key, whose policy does not "
                       f"allow fargate.amazonaws.com {action}: no task of the cluster starts", key.urn)
    condition_free_keys = set()
    for key in of_type(resources, KMS_KEY):
        for statement in statements(key.props.get("policy")):
            if statement.get("Effect") == "Allow" and _services(statement) and not statement.get("Condition"):
                condition_free_keys.add(key.urn)
    for group in of_type(resources, LOG_GROUP):
        key = _key_of(group, "kmsKeyId")
        if key is None:
            continue
        if not any(_is_logs_principal(s) for statement in statements(key.props.get("policy"))
                   if statement.get("Effect") == "Allow" for s in _services(statement)):
            report(f"log group {group.urn} is encrypted with a key that does not admit CloudWatch Logs "
                   "(logs.<region>.amazonaws.com): creating the group fails", key.urn)
        if key.urn in condition_free_keys:
            report(f"log group {group.urn} shares a key whose policy grants a service without any condition: log "
                   "data must not sit under an unconditioned grant (give that service its own key)", group.urn)


def _statements_of_role(role: PolicyResource, resources: list[PolicyResource]) -> list[tuple[PolicyResource,
                                                                                             dict[str, Any]]]:
    out: list[tuple[PolicyResource, dict[str, Any]]] = []
    for policy in of_type(resources, ROLE_POLICY):
        if role in linked(policy, "role"):
            out.extend((policy, statement) for statement in statements(policy.props.get("policy")))
    for inline in as_list(role.props.get("inlinePolicies")):
        out.extend((role, statement) for statement in statements(inline.get("policy")))
    return out


def _trusts(role: PolicyResource, service: str) -> bool:
    return any(service in _services(statement) for statement in statements(role.props.get("assumeRolePolicy")))


def _kms_grant_on(role: PolicyResource, key: PolicyResource, resources: list[PolicyResource],
                  actions: tuple[str, ...]) -> tuple[bool, bool]:
    """(the role's policies allow `actions` on `key`, some such statement also allows them on "*")."""
    covered: set[str] = set()
    wildcard = False
    for policy, statement in _statements_of_role(role, resources):
        if statement.get("Effect") != "Allow":
            continue
        granted = [str(a) for a in as_list(statement.get("Action"))]
        wanted = [a for a in actions if _action_covers(granted, a)]
        if not wanted:
            continue
        targets = [str(r) for r in as_list(statement.get("Resource"))]
        if "*" in targets:
            wildcard = True
            covered.update(wanted)
        elif key in linked(policy, "policy"):
            covered.update(wanted)
    return covered >= set(actions), wildcard


def _bucket_keys(resources: list[PolicyResource]) -> dict[str, PolicyResource]:
    """Bucket URN -> the KMS key its default encryption uses."""
    out = {}
    for sse in of_type(resources, BUCKET_SSE):
        key = _key_of(sse, "rules")
        for bucket in linked(sse, "bucket"):
            if key is not None:
                out[bucket.urn] = key
    return out


def _export_role_kms(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    bucket_keys = _bucket_keys(resources)
    for role in of_type(resources, ROLE):
        if not _trusts(role, "export.rds.amazonaws.com"):
            continue
        policies = [p for p, _ in _statements_of_role(role, resources) if p.resource_type == ROLE_POLICY]
        buckets = {b.urn for p in policies for b in linked(p, "policy") if b.resource_type == BUCKET}
        keys = {bucket_keys[b].urn: bucket_keys[b] for b in buckets if b in bucket_keys}
        if not keys:
            report("RDS snapshot-export role writes to no SSE-KMS bucket of this stack, so its KMS grant cannot be "
                   "checked", role.urn)
        for key in keys.values():
            complete, wildcard = _kms_grant_on(role, key, resources, SNAPSHOT_EXPORT_KMS_ACTIONS)
            if not complete:
                report(f"RDS snapshot-export role lacks {', '.join(SNAPSHOT_EXPORT_KMS_ACTIONS)} on its bucket's key "
                       f"{key.urn}: the export cannot write the encrypted Parquet files", role.urn)
            if wildcard:
                report("RDS snapshot-export role's KMS permissions name Resource \"*\": grant them on the bucket's "
                       "key only", role.urn)


def _schedule_cmk(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for schedule in of_type(resources, SCHEDULE):
        key = _key_of(schedule, "kmsKeyArn") if schedule.props.get("kmsKeyArn") else None
        if key is None:
            report("schedule has no customer-managed kmsKeyArn: its target payload is encrypted with an AWS-owned "
                   "key", schedule.urn)
            continue
        roles = [r for r in linked(schedule, "target") if r.resource_type == ROLE]
        if not roles:
            report("schedule's execution role is not a role of this stack: its kms:Decrypt on the key cannot be "
                   "checked", schedule.urn)
        for role in roles:
            complete, _ = _kms_grant_on(role, key, resources, ("kms:Decrypt",))
            if not complete:
                report(f"the schedule's execution role {role.urn} has no kms:Decrypt on the schedule's key: "
                       "Scheduler cannot decrypt the target and every invocation fails (it uses no grants)",
                       schedule.urn)


RULES: list[Rule] = [
    resource_rule("log-group-retention", area="logging", types=[LOG_GROUP], check=_retention,
                  summary="Log groups have a retention of at least minimumRetentionDays",
                  reference="seed: log retention; Checkov CKV_AWS_66, CKV_AWS_338", schema={"minimumRetentionDays": {
                      "type": "integer", "minimum": 1, "default": LOG_RETENTION_DAYS,
                      "description": "Minimum retentionInDays of every log group."}},
                  guards=[Guard("retentionInDays", To(7))]),
    resource_rule("log-group-kms", area="logging", types=[LOG_GROUP], check=_log_kms,
                  summary="Log groups are encrypted with a KMS key", reference="Checkov CKV_AWS_158",
                  guards=[Guard("kmsKeyId", DELETE)]),
    resource_rule("kms-key-rotation", area="kms", types=[KMS_KEY], check=_kms_rotation,
                  summary="Symmetric KMS keys rotate automatically",
                  reference="seed: key rotation; cdk-nag KMS5; Checkov CKV_AWS_7",
                  guards=[Guard("enableKeyRotation", To(False))]),
    resource_rule("kms-key-policy-no-public-principal", area="kms", types=[KMS_KEY, KMS_REPLICA_KEY],
                  check=_kms_no_public_principal,
                  summary="KMS key policies do not allow any principal without a condition",
                  reference="Checkov CKV_AWS_33",
                  guards=[Guard("policy<json>.Statement[Effect=Allow].Principal", TO_EVERYONE, each=True)]),
    resource_rule("kms-key-policy-service-principals", area="kms", types=[KMS_KEY],
                  check=_key_policy_service_principals,
                  summary="Key policy service statements use the conditions each service supports: EventBridge "
                          "without aws:Source*, CloudWatch Logs regional and limited by its encryption context, "
                          "Fargate by its cluster's",
                  reference="AWS: https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html, "
                            "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html, "
                            "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/"
                            "fargate-create-storage-key.html",
                  guards=[Guard("policy<json>.Statement[*].Principal.Service", Patch("policy<json>.Statement[*]", {
                      "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}),
                      note="each service grant keeps the conditions its service supports")]),
    stack_rule("kms-key-serves-its-users", area="kms", check=_keys_serve_their_users,
               summary="Every key admits the services that use it (alarms, EventBridge and Prometheus alert managers "
                       "on an encrypted topic, CloudWatch Logs on a log group, Fargate on a cluster's ephemeral "
                       "storage, by key ARN), and no log group shares a key with an unconditioned grant",
               reference="AWS: https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html, "
                         "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html, "
                         "https://docs.aws.amazon.com/prometheus/latest/userguide/"
                         "AMP-alertmanager-receiver-AMPpermission.html, "
                         "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-create-storage-key.html",
               guards=[Guard("policy<json>.Statement[*].Principal.Service", RemoveItem("policy<json>.Statement[*]"),
                             types=(KMS_KEY,), note="the service grants a key's users need"),
                       Guard("configuration.managedStorageConfiguration.fargateEphemeralStorageKmsKeyId",
                             To("alias/maratron-data"), types=(ECS_CLUSTER,),
                             note="the key of the tasks' ephemeral storage, by ARN")]),
    stack_rule("rds-export-role-kms", area="kms", check=_export_role_kms,
               summary="The RDS snapshot-export role holds the export's KMS actions on its bucket's key, and only "
                       "there",
               reference="AWS: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ExportSnapshot.html",
               guards=[Guard("policy<json>.Statement[*].Resource", To("*"), types=(ROLE_POLICY,),
                             where=When("role", re.compile("snapshot-export")), blame="role",
                             note="the export role's grants name their resources")]),
    stack_rule("scheduler-schedule-cmk", area="kms", check=_schedule_cmk,
               summary="EventBridge Scheduler schedules use a customer-managed key their execution role may decrypt "
                       "with (Scheduler encrypts only a target's input payload with it; the rest under AWS's key)",
               reference="AWS: https://docs.aws.amazon.com/scheduler/latest/UserGuide/encryption-rest.html",
               guards=[Guard("kmsKeyArn", DELETE, types=(SCHEDULE,))]),
    resource_rule("iam-no-wildcard-admin", area="iam", types=[ROLE, *POLICY_DOCUMENT_TYPES],
                  check=_iam_wildcards, summary="IAM policies never allow every action on every resource",
                  reference="seed: least-privilege IAM; cdk-nag IAM5; Checkov CKV_AWS_62, CKV_AWS_63, CKV_AWS_286-290, "
                            "CKV_AWS_355",
                  guards=[Guard(f"policy<json>.Statement[*].{part}", Patch("policy<json>.Statement[*]", {
                      "Action": "*", "Resource": "*"}), types=("aws:iam/rolePolicy:RolePolicy",), each=True,
                      note=f"the {part} of each statement") for part in ("Action", "Resource")]),
    resource_rule("iam-no-admin-managed-policies", area="iam", types=[ROLE, *ATTACHMENT_TYPES],
                  check=_no_admin_managed,
                  summary="No AdministratorAccess, PowerUserAccess or IAMFullAccess attachments",
                  reference="seed: least-privilege IAM; cdk-nag IAM4; Checkov CKV_AWS_274",
                  schema={"bannedPolicies": {"type": "array", "items": {"type": "string"},
                                             "default": ADMIN_MANAGED_POLICIES,
                                             "description": "AWS managed policy names never attached."}},
                  guards=[Guard("policyArn", To("arn:aws:iam::aws:policy/AdministratorAccess"),
                                types=("aws:iam/rolePolicyAttachment:RolePolicyAttachment",))]),
]


# --- controls the stack sets beyond the rules above (issue 13: the pack guards every control) -------------------------

# AWS behaviour these rules rely on: the confused deputy problem and aws:SourceAccount / aws:SourceArn
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html); CloudWatch Logs scopes key use by the
# kms:EncryptionContext:aws:logs:arn condition (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/
# encrypt-log-data-kms.html); the KMS deletion waiting period 7-30 days (https://docs.aws.amazon.com/kms/latest/
# developerguide/deleting-keys.html) and rotation periods of 90-2560 days (https://docs.aws.amazon.com/kms/latest/
# developerguide/rotate-keys.html).

TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOG_RESOURCE_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
POLICY_INPUTS = {
    ROLE: "assumeRolePolicy",
    KMS_KEY: "policy",
    KMS_REPLICA_KEY: "policy",
    BUCKET_POLICY: "policy",
    TOPIC_POLICY: "policy",
    LOG_RESOURCE_POLICY: "policyDocument",
}
SOURCE_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths")
PRINCIPAL_SCOPE_KEYS = (*SOURCE_KEYS, "aws:principalaccount", "aws:principalorgid", "aws:principalarn",
                        "aws:sourcevpc", "aws:sourcevpce")
# Service principals that cannot carry the source-context condition keys in that kind of policy (each documented):
# - events.amazonaws.com in a KMS key policy of an SNS topic's key (SNS developer guide, "Key management": conditions
#   are not supported for EventBridge-to-encrypted-topic deliveries);
# - ALB access-log delivery, whose grant is instead scoped by its resource path `.../AWSLogs/<account id>/`
#   (ELB user guide, "Access logs for your Application Load Balancer");
# - s3.amazonaws.com in the trust policy of the S3 replication role: the S3 user guide's replication trust policy
#   ("Setting up permissions for live replication", Step 2) carries no source condition, and S3 is not documented to
#   send aws:SourceAccount/aws:SourceArn when it assumes it (a condition on a key S3 omits would stop replication).
#   The deputy cannot be confused: only a principal of this account allowed iam:PassRole on the role can name it in a
#   replication configuration, and its permissions reach only this stack's buckets and the DR key
#   (components/disaster_recovery.py).
# - batchoperations.s3.amazonaws.com in the trust policy of the S3 Batch Replication role, likewise: the S3 user
#   guide's Batch Operations trust policy ("Granting permissions for Batch Operations", Trust policy) carries no
#   condition; a job names the role only through s3:CreateJob with iam:PassRole in this account, and the role can
#   only start replication of this stack's own buckets (components/disaster_recovery.py).
CONDITION_EXEMPT = {(KMS_KEY, "events.amazonaws.com"),
                    (BUCKET_POLICY, "logdelivery.elasticloadbalancing.amazonaws.com"),
                    (ROLE, "s3.amazonaws.com"), (ROLE, "batchoperations.s3.amazonaws.com")}
ACCOUNT_SCOPED_RESOURCE = re.compile(r"/AWSLogs/\d{12}/")
# CloudWatch Logs scopes its key grants by encryption context, its documented equivalent of aws:SourceArn. A service
# that publishes to an encrypted SNS topic (the Prometheus alert manager) reaches the topic's key only through SNS,
# which adds the encryption context aws:sns:topicArn (AWS's pattern for service publishers to encrypted topics:
# https://docs.aws.amazon.com/gamelift/latest/flexmatchguide/queue-notification-sns-sse.html): a grant limited to one
# topic by that context lets the service use the key for that topic only, whose own policy
# carries aws:SourceArn (sns-service-publishers-scoped). AMP documents no aws:Source* keys towards KMS
# (https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-alertmanager-receiver-AMPpermission.html).
# Fargate encrypting a cluster's ephemeral storage sends the cluster's account and name as encryption context, the
# conditions AWS's key policy for it uses (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/
# fargate-create-storage-key.html).
# AWS Budgets publishing to the encrypted alert topic is scoped the same way as the alert manager: Budgets documents
# aws:SourceAccount/aws:SourceArn for the topic policy only
# (https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html), not towards KMS.
EQUIVALENT_KEYS = {"logs": ("kms:encryptioncontext:aws:logs:arn",), "aps": ("kms:encryptioncontext:aws:sns:topicarn",),
                   "budgets": ("kms:encryptioncontext:aws:sns:topicarn",),
                   "fargate": ("kms:encryptioncontext:aws:ecs:clusteraccount",)}


def _condition_key_names(statement: dict[str, Any]) -> set[str]:
    return {str(key).lower() for operator in (statement.get("Condition") or {}).values()
            if isinstance(operator, dict) for key in operator}


def _principals(statement: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"], [], []
    if not isinstance(principal, dict):
        return [], [], []
    return ([str(p) for p in as_list(principal.get("AWS"))], [str(p) for p in as_list(principal.get("Service"))],
            [str(p) for p in as_list(principal.get("Federated"))])


def _principals_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for statement in statements(args.props.get(POLICY_INPUTS[args.resource_type])):
        if statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid") or "(no Sid)"
        keys = _condition_key_names(statement)
        aws, services, federated = _principals(statement)
        if "*" in aws and not keys & set(PRINCIPAL_SCOPE_KEYS):
            report(f"statement {sid} allows every principal (*) without a condition that scopes it to this "
                   "account, organization or network", None)
        for service in services:
            if (args.resource_type, service) in CONDITION_EXEMPT:
                resources = [str(r) for r in as_list(statement.get("Resource"))]
                if args.resource_type == BUCKET_POLICY and not all(ACCOUNT_SCOPED_RESOURCE.search(r)
                                                                  for r in resources):
                    report(f"statement {sid} lets {service} write anywhere in the bucket; scope it to "
                           "AWSLogs/<account id>/", None)
                continue
            equivalent = EQUIVALENT_KEYS.get(service.split(".")[0], ())
            if not keys & {*SOURCE_KEYS, *equivalent}:
                report(f"statement {sid} grants {service} without aws:SourceAccount/aws:SourceArn: any account's "
                       "use of that service could act through it (confused deputy)", None)
        for provider in federated:
            if not any(key.endswith((":sub", ":aud")) for key in keys):
                report(f"statement {sid} trusts {provider} without a subject/audience condition", None)


def _alarm_actions(args: StackValidationArgs, report: ReportViolation) -> None:
    watched = {dep.urn for check in of_type(args.resources, HEALTH_CHECK)
               for dep in linked(check, "cloudwatchAlarmName")}
    for alarm in of_type(args.resources, METRIC_ALARM):
        if alarm.props.get("actionsEnabled") is False:
            report("actionsEnabled is false: the alarm changes state and tells no one", alarm.urn)
        if not as_list(alarm.props.get("alarmActions")) and alarm.urn not in watched:
            report("alarmActions is empty and no Route 53 health check watches the alarm: it changes state unseen",
                   alarm.urn)


def _topic_tls_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for statement in statements(args.props.get("policy")):
        secure = ((statement.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
            return
    report("topic policy has no Deny on aws:SecureTransport=false", None)


def _statement_guards(document: str, types: tuple[str, ...]) -> list[Guard]:
    statement = f"{document}<json>.Statement[*]"
    return [Guard(f"{document}<json>.Statement[Effect=Allow].Principal",
                  Patch(statement, {"Principal": "*", "Condition": MISSING}), types=types, each=True,
                  note="who each Allow statement grants"),
            Guard(f"{document}<json>.Statement[Effect=Allow].Condition", DELETE, types=types, each=True,
                  note="the confused-deputy conditions of each Allow statement")]


def _passes_roles(statement: dict[str, Any]) -> bool:
    """An Allow whose actions cover iam:PassRole: by name or a wildcard (iam:Pass*, iam:*Role, iam:PassRol?, iam:*, *),
    in any case (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html)."""
    return statement.get("Effect") == "Allow" and any(action_matches(a, "iam:PassRole")
                                                      for a in as_list(statement.get("Action")))


def _passrole_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    documents: list[tuple[str, Any]] = [("policy", args.props.get("policy"))] if args.resource_type != ROLE else [
        (f"inline policy {p.get('name', '')!r}", p.get("policy")) for p in as_list(args.props.get("inlinePolicies"))]
    for label, policy in documents:
        for statement in statements(policy):
            if not _passes_roles(statement):
                continue
            sid = statement.get("Sid") or "(no Sid)"
            if "*" in [str(r) for r in as_list(statement.get("Resource"))]:
                report(f"{label} statement {sid} may pass any role (iam:PassRole on *)", None)
            if "iam:passedtoservice" not in _condition_key_names(statement):
                report(f"{label} statement {sid} passes roles to any service: add an iam:PassedToService condition",
                       None)


RULES += [
    resource_rule(
        "iam-passrole-scoped", area="iam", types=[ROLE, *POLICY_DOCUMENT_TYPES], check=_passrole_scoped,
        summary="iam:PassRole (by name or any wildcard that covers it, in any case) names the roles it passes and "
                "the service it passes them to (iam:PassedToService)",
        reference="seed: access control (least privilege); Checkov CKV_AWS_286 (privilege escalation); IAM user "
                  "guide, iam:PassedToService; AWS: "
                  "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html",
        guards=[Guard("policy<json>.Statement[*].Condition.StringEquals.iam:PassedToService", DELETE,
                      types=("aws:iam/rolePolicy:RolePolicy",), each=True),
                Guard("policy<json>.Statement[*].Resource", To("*"), types=("aws:iam/rolePolicy:RolePolicy",),
                      where=When("policy<json>.Statement[*].Action[*]", CoversAction("iam:PassRole")),
                      note="the roles a PassRole statement names")]),
    settings_rule(
        "kms-key-lifecycle", area="kms", types=[KMS_KEY, KMS_REPLICA_KEY],
        summary="A scheduled key deletion waits minimumDeletionWindow days (time to notice and cancel it), and keys "
                "rotate at least yearly",
        reference="seed: encryption key management; cdk-nag KMS5 and Checkov CKV_AWS_7 (companions)",
        schema={"minimumDeletionWindow": {"type": "integer", "minimum": 7, "maximum": 30, "default": 30,
                                          "description": "Minimum deletionWindowInDays."}},
        settings=[Setting("deletionWindowInDays", AtLeast(30, param="minimumDeletionWindow", weak=7)),
                  Setting("rotationPeriodInDays", AtMost(365), required=False)]),
    resource_rule(
        "policy-principals-scoped", area="iam", types=list(POLICY_INPUTS), check=_principals_scoped,
        summary="Trust and resource policies never grant to everyone, and grants to AWS services carry the "
                "confused-deputy conditions (aws:SourceAccount / aws:SourceArn)",
        reference="seed: access control (least privilege); IAM user guide, confused deputy; Checkov CKV_AWS_60, "
                  "CKV_AWS_70, CKV_AWS_169, CKV_AWS_33",
        guards=[Guard("assumeRolePolicy<json>.Statement[Effect=Allow].Principal",
                      Patch("assumeRolePolicy<json>.Statement[*]", {"Principal": {"AWS": "*"}, "Condition": MISSING}),
                      types=(ROLE,), each=True, note="who may assume the role"),
                Guard("assumeRolePolicy<json>.Statement[Effect=Allow].Condition", DELETE, types=(ROLE,), each=True,
                      note="the trust policy's confused-deputy conditions"),
                *_statement_guards("policy", (BUCKET_POLICY, TOPIC_POLICY)),
                *_statement_guards("policyDocument", (LOG_RESOURCE_POLICY,)),
                Guard("policy<json>.Statement[Effect=Allow].Condition", DELETE, types=(KMS_KEY, KMS_REPLICA_KEY),
                      each=True, note="the confused-deputy conditions of the key's service grants")]),
    settings_rule(
        "sns-topic-encryption", area="monitoring", types=[TOPIC],
        summary="SNS topics are encrypted with a customer-managed KMS key",
        reference="seed: log security; Checkov CKV_AWS_26; cdk-nag NIST.800.53.R5-SNSEncryptedKMS",
        settings=[Setting("kmsMasterKeyId", Present(weak=MISSING))]),
    resource_rule(
        "sns-topic-tls-only", area="monitoring", types=[TOPIC_POLICY], check=_topic_tls_only,
        summary="SNS topic policies deny publishing without TLS", reference="cdk-nag SNS3",
        guards=[Guard("policy<json>.Statement[*].Condition.Bool.aws:SecureTransport",
                      RemoveItem("policy<json>.Statement[*]"), note="the Deny of publishing without TLS"),
                Guard("policy<json>.Statement[*].Effect", Patch("policy<json>.Statement[*]", {"Effect": "Allow"}),
                      note="statement effects (a Deny turned Allow)")]),
    stack_rule(
        "cloudwatch-alarm-actions", area="monitoring", check=_alarm_actions,
        summary="Alarms notify someone (alarmActions set, actions enabled), unless a Route 53 health check watches "
                "them (a routing alarm)",
        reference="seed: alerting rules defined; Checkov CKV_AWS_319; cdk-nag NIST.800.53.R5-CloudWatchAlarmAction",
        guards=[Guard("alarmActions", To([]), types=(METRIC_ALARM,), note="whom the alarm notifies"),
                Guard("cloudwatchAlarmName", To("an-alarm-of-another-stack"), types=(HEALTH_CHECK,), unlink=True,
                      blame="cloudwatchAlarmName", note="the routing alarm the health check watches")]),
]
