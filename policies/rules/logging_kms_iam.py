"""CloudWatch Logs, KMS and IAM rules."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._common import Rule, as_list, config_value, number, resource_rule, statements, truthy

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
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


def _retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = number(config_value(args, "minimumRetentionDays", 365))
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


RULES: list[Rule] = [
    resource_rule("log-group-retention", area="logging", types=[LOG_GROUP], check=_retention,
                  summary="Log groups have a retention of at least minimumRetentionDays",
                  reference="seed: log retention; Checkov CKV_AWS_66, CKV_AWS_338", schema={"minimumRetentionDays": {
                      "type": "integer", "minimum": 1, "default": 365,
                      "description": "Minimum retentionInDays of every log group."}}),
    resource_rule("log-group-kms", area="logging", types=[LOG_GROUP], check=_log_kms,
                  summary="Log groups are encrypted with a KMS key", reference="Checkov CKV_AWS_158"),
    resource_rule("kms-key-rotation", area="kms", types=[KMS_KEY], check=_kms_rotation,
                  summary="Symmetric KMS keys rotate automatically",
                  reference="seed: key rotation; cdk-nag KMS5; Checkov CKV_AWS_7"),
    resource_rule("kms-key-policy-no-public-principal", area="kms", types=[KMS_KEY], check=_kms_no_public_principal,
                  summary="KMS key policies do not allow any principal without a condition",
                  reference="Checkov CKV_AWS_33"),
    resource_rule("iam-no-wildcard-admin", area="iam", types=[ROLE, *POLICY_DOCUMENT_TYPES],
                  check=_iam_wildcards, summary="IAM policies never allow every action on every resource",
                  reference="seed: least-privilege IAM; cdk-nag IAM5; Checkov CKV_AWS_62, CKV_AWS_63, CKV_AWS_286-290, "
                            "CKV_AWS_355"),
    resource_rule("iam-no-admin-managed-policies", area="iam", types=[ROLE, *ATTACHMENT_TYPES],
                  check=_no_admin_managed,
                  summary="No AdministratorAccess, PowerUserAccess or IAMFullAccess attachments",
                  reference="seed: least-privilege IAM; cdk-nag IAM4; Checkov CKV_AWS_274",
                  schema={"bannedPolicies": {"type": "array", "items": {"type": "string"},
                                             "default": ADMIN_MANAGED_POLICIES,
                                             "description": "AWS managed policy names never attached."}}),
]
