"""Metrics and alerting rules: the Prometheus workspace's encryption and logs, who may write to and read it, that its
alerts reach the alert topic, the topic's service publishers, and Grafana's own least-privilege role."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import Rule, as_list, linked, of_type, resource_rule, settings_rule, stack_rule, statements
from ._controls import DELETE, Drop, Guard, Matches, Setting, To, When, action_matches
from .logging_kms_iam import POLICY_DOCUMENT_TYPES, ROLE

WORKSPACE = "aws:amp/workspace:Workspace"
RULE_NAMESPACE = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
ALERT_MANAGER = "aws:amp/alertManagerDefinition:AlertManagerDefinition"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
GRAFANA = "aws:grafana/workspace:Workspace"
GRAFANA_SAML = "aws:grafana/workspaceSamlConfiguration:WorkspaceSamlConfiguration"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
AMP_PRINCIPAL = "aps.amazonaws.com"
# AMP's data-plane (Prometheus-compatible) actions: each takes a workspace ARN as its resource.
DATA_ACTIONS = {"aps:remotewrite", "aps:querymetrics", "aps:getseries", "aps:getlabels", "aps:getmetricmetadata"}
WORKSPACE_ARN = re.compile(r"^arn:[a-z-]+:aps:[a-z0-9-]+:\d{12}:workspace/ws-[A-Za-z0-9-]+$")
ACCOUNT_WORKSPACES = re.compile(r"^arn:[a-z-]+:aps:[a-z0-9*-]+:\d{12}:workspace/\*$")
"""Every workspace of one account: allowed only under an aws:ResourceTag condition — the foundation's workload
permissions boundary, a ceiling written before any workspace exists, names the environment's workspaces by their
`environment` tag (AMP workspaces support aws:ResourceTag/${TagKey}: Service Authorization Reference, "Actions,
resources, and condition keys for Amazon Managed Service for Prometheus")."""
SOURCE_KEYS = {"aws:sourcearn", "aws:sourceaccount"}
# What the sweep leaves of the alert manager's definition when its receiver is lost: a route to nowhere.
RECEIVER_LOST = ("alertmanager_config: |\n  route:\n    receiver: default\n  receivers:\n  - name: default\n")


def _workspace_cmk(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.props.get("kmsKeyArn"):
        report("workspace has no kmsKeyArn: metric data is encrypted only with an AWS owned key (and the key cannot be "
               "added later: the workspace would have to be replaced)", None)


def _workspace_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    logging = args.props.get("loggingConfiguration") or {}
    if not logging.get("logGroupArn"):
        report("workspace has no loggingConfiguration.logGroupArn: rule evaluation and alert manager errors go nowhere",
               None)


def _grants_data_plane(action: str) -> bool:
    """Whether an IAM action (wildcards included: aps:*, aps:Query*, *) covers an AMP data-plane action."""
    return any(action_matches(action, data) for data in DATA_ACTIONS)


def _data_plane_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    documents: list[Any] = []
    if args.resource_type == ROLE:
        documents += [p.get("policy") for p in as_list(args.props.get("inlinePolicies"))]
    else:
        documents.append(args.props.get(POLICY_DOCUMENT_TYPES[args.resource_type]))
    for policy in documents:
        for statement in statements(policy):
            actions = [str(a) for a in as_list(statement.get("Action"))]
            if statement.get("Effect") != "Allow" or not any(_grants_data_plane(a) for a in actions):
                continue
            if "NotResource" in statement:
                report(f"statement {statement.get('Sid', '')!r} grants {actions} with NotResource", None)
                continue
            tagged = any(str(key).lower().startswith("aws:resourcetag/") for key in
                         ((statement.get("Condition") or {}).get("StringEquals") or {}))
            loose = [str(r) for r in as_list(statement.get("Resource")) if not WORKSPACE_ARN.match(str(r))
                     and not (tagged and ACCOUNT_WORKSPACES.match(str(r)))]
            if loose:
                report(f"statement {statement.get('Sid', '')!r} grants {actions} on {loose}: name the workspace ARN "
                       "(arn:...:aps:<region>:<account>:workspace/ws-...), never a wildcard", None)


def _amp_statement(policy: PolicyResource) -> dict[str, Any] | None:
    for statement in statements(policy.props.get("policy")):
        principal = statement.get("Principal") or {}
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        actions = [str(a).lower() for a in as_list(statement.get("Action"))]
        if statement.get("Effect") == "Allow" and AMP_PRINCIPAL in services and "sns:publish" in actions:
            return statement
    return None


def _alerts_routed(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = args.resources
    for workspace in of_type(resources, WORKSPACE):
        problems: list[str] = []
        if not [r for r in of_type(resources, RULE_NAMESPACE) if workspace in linked(r, "workspaceId")]:
            problems.append("no rule group namespace (no alert rules are evaluated)")
        managers = [r for r in of_type(resources, ALERT_MANAGER) if workspace in linked(r, "workspaceId")]
        if not managers:
            problems.append("no alert manager definition (firing alerts reach nobody)")
        for manager in managers:
            text = str(manager.props.get("definition") or "")
            if "sns_configs" not in text or "topic_arn" not in text or not re.search(r"sigv4:\s*\n?\s*\{?\s*region",
                                                                                    text):
                problems.append("the alert manager has no SNS receiver with a topic_arn and a sigv4 region")
                continue
            topics = [t for t in linked(manager, "definition") if t.resource_type == TOPIC]
            if not topics:
                problems.append("the alert manager's SNS receiver is not one of the stack's topics")
            for topic in topics:
                policies = [p for p in of_type(resources, TOPIC_POLICY) if topic in linked(p, "arn")]
                granted = [p for p in policies if (s := _amp_statement(p)) is not None
                           and workspace in linked(p, "policy") and "aws:sourcearn" in _condition_keys(s)]
                if not granted:
                    problems.append(f"topic {topic.name!r} has no policy statement letting aps.amazonaws.com publish "
                                    "for this workspace (aws:SourceArn = the workspace)")
        if problems:
            report(f"workspace {workspace.name!r}: " + "; ".join(problems), workspace.urn)


def _condition_keys(statement: dict[str, Any]) -> set[str]:
    condition = statement.get("Condition") or {}
    return {str(key).lower() for block in condition.values() if isinstance(block, dict) for key in block}


def _topic_publishers_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for statement in statements(args.props.get("policy")):
        principal = statement.get("Principal") or {}
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if statement.get("Effect") == "Allow" and services and not (SOURCE_KEYS & _condition_keys(statement)):
            report(f"statement {statement.get('Sid', '')!r} lets {services} publish for any account: add "
                   "aws:SourceAccount / aws:SourceArn (confused-deputy guard)", None)


def _grafana_role(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("permissionType") != "CUSTOMER_MANAGED" or not args.props.get("roleArn"):
        report("Grafana workspace is not CUSTOMER_MANAGED with its own roleArn: SERVICE_MANAGED attaches AWS managed "
               "policies that read every workspace and data source of the account", None)
    providers = {str(p) for p in as_list(args.props.get("authenticationProviders"))}
    if not providers or providers - {"AWS_SSO", "SAML"}:
        report(f"authenticationProviders {sorted(providers)}: users must sign in through IAM Identity Center "
               "(AWS_SSO) or a SAML IdP", None)
    # ORGANIZATION lets the workspace reach data sources in other accounts of the organization's units
    # (https://docs.aws.amazon.com/grafana/latest/APIReference/API_CreateWorkspace.html, accountAccessType).
    if args.props.get("accountAccessType") != "CURRENT_ACCOUNT":
        report(f"accountAccessType {args.props.get('accountAccessType')!r}: the workspace reads this account's data "
               "only (CURRENT_ACCOUNT), not other accounts of the organization", None)


RULES: list[Rule] = [
    resource_rule("amp-workspace-cmk", area="metrics", types=[WORKSPACE], check=_workspace_cmk,
                  summary="Prometheus workspaces are encrypted with a customer-managed KMS key",
                  reference="seed: encryption at rest (no cdk-nag/Checkov check for AMP)",
                  guards=[Guard("kmsKeyArn", DELETE)]),
    resource_rule("amp-workspace-logging", area="metrics", types=[WORKSPACE], check=_workspace_logging,
                  summary="Prometheus workspaces log rule and alert manager events to CloudWatch Logs",
                  reference="seed: monitoring & alerting; cdk-nag/Checkov log-everything family",
                  guards=[Guard("loggingConfiguration.logGroupArn", DELETE)]),
    resource_rule("amp-access-scoped-to-workspaces", area="metrics", types=[ROLE, *POLICY_DOCUMENT_TYPES],
                  check=_data_plane_scoped,
                  summary="IAM grants of AMP write/query actions name workspace ARNs, never a wildcard (a permissions "
                          "boundary: the account's workspaces under an aws:ResourceTag condition)",
                  reference="seed: least-privilege IAM; cdk-nag IAM5",
                  guards=[Guard("policy<json>.Statement[*].Resource", To("*"), types=(ROLE_POLICY,),
                                where=When("policy<json>.Statement[*].Action[*]", re.compile(r"^aps:")),
                                note="the workspace an AMP remote-write or query grant names")]),
    stack_rule("amp-alerts-routed-to-topic", area="metrics", check=_alerts_routed,
               summary="Every Prometheus workspace has alert rules and an alert manager routing them to a stack SNS "
                       "topic whose policy lets AMP publish for that workspace",
               reference="seed: alerting rules defined; AMP alert manager receivers",
               guards=[Guard("workspaceId", Drop(), types=(RULE_NAMESPACE,), blame="workspaceId",
                             note="the workspace's alert rules"),
                       Guard("workspaceId", Drop(), types=(ALERT_MANAGER,), blame="workspaceId",
                             note="the workspace's alert manager"),
                       Guard("definition", To(RECEIVER_LOST), types=(ALERT_MANAGER,), blame="workspaceId",
                             note="the alert manager's SNS receiver (the alert topic)")]),
    resource_rule("sns-service-publishers-scoped", area="metrics", types=[TOPIC_POLICY],
                  check=_topic_publishers_scoped,
                  summary="SNS topic policies let AWS services publish only with aws:SourceAccount/aws:SourceArn",
                  reference="seed: least privilege; AWS cross-service confused-deputy prevention",
                  guards=[Guard("policy<json>.Statement[Effect=Allow].Condition", DELETE, each=True,
                                note="the confused-deputy conditions of each service publisher")]),
    resource_rule("grafana-least-privilege", area="metrics", types=[GRAFANA], check=_grafana_role,
                  summary="Managed Grafana uses its own customer-managed role, reads this account only, and signs "
                          "users in through Identity Center or SAML",
                  reference="seed: least-privilege IAM; cdk-nag IAM4",
                  guards=[Guard("permissionType", To("SERVICE_MANAGED")),
                          Guard("roleArn", DELETE, note="the workspace's own role"),
                          Guard("accountAccessType", To("ORGANIZATION"))]),
    settings_rule("grafana-saml-metadata-https", area="metrics", types=[GRAFANA_SAML],
                  summary="Grafana fetches its SAML IdP metadata (signing certificate, sign-in URL) over HTTPS",
                  reference="seed: access control; https://docs.aws.amazon.com/grafana/latest/userguide/"
                            "authentication-in-AMG-SAML.html (a metadata URL fetched in clear text can be swapped "
                            "for an attacker's IdP)",
                  settings=[Setting("idpMetadataUrl", Matches(r"^https://", weak="http://idp.example.com/metadata",
                                                              text="does not use https"), required=False,
                                    note="the IdP metadata URL (embedded XML metadata needs no fetch)")]),
]
