"""The roles GitHub Actions assumes, and exactly what each may do.

* maratron-preview-<env> (this repository, GitHub environment `<env>-preview`): read its stack's state and the
  foundation's, decrypt its stack secrets, make the lookups `pulumi preview` makes.
* maratron-deploy-<env> (this repository, environment `<env>`): everything the app stack of <env> manages, scoped
  as below; tag the images it deploys.
* maratron-app-ci (the app repository, environment `images`): push the web and ai images, nothing else.
* maratron-infra-ci (this repository, environment `images`): push the backup image, nothing else.

Every role has a permissions boundary (a managed policy that caps it even if someone attaches more by hand), a
one-hour session (deploy: two hours, a first prod `up` takes 25-35 minutes plus migrations), and a trust that pins
one repository and one GitHub environment (components/github_oidc.py).

**Preview** never uses `--refresh`, so it needs no read access to the resources themselves: a DIY preview reads
the checkpoint and decrypts the config secrets, and the program's data-source calls (`INVOKE_ACTIONS`) are the only
AWS reads. AWS managed "ReadOnly" policies are deliberately not used: they read data (AmazonS3ReadOnlyAccess is
`s3:Get*` on `*`).

**Deploy** is generated from `DEPLOY_SERVICES`, one entry per AWS service the app stack manages (a test derives the
services from the app stack's own resources, so a new one is a visible change here). Where resource names are
ours, the grant is scoped to them: S3 buckets `maratron-<stack>-*`, secrets `maratron-<stack>/*`, SNS topics
`maratron-<stack>-*`, Lambda functions `maratron-<stack>-*` for each app stack of the environment (its own and, with
DR, its DR stack: prod's `dr`, constants.environment_stacks), the foundation's repositories (read and tag only), IAM
roles under `/maratron/<env>/` that carry the workload permissions boundary. The other services are granted in the
stack's region only (`aws:RequestedRegion`) because their ARNs carry ids AWS assigns at creation or their reads have
no resource-level permissions; each entry says why, and docs/bootstrap-permissions.md (generated) lists them.
Tag-based conditions are not used: a global key "is not available in every request context"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html), and an Allow whose key is
absent never matches, which would break deploys in ways only the first real `up` shows. Separation between
environments therefore rests on names and paths in one account; the Organizations layout (an account per
environment) separates them completely and is the recommendation for prod.

Explicit denies (in the policy and the boundary): removing or changing a permissions boundary ("Deleting the
permissions boundary for a role might increase its permissions",
https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRolePermissionsBoundary.html), anything on
the CI roles, the boundaries and the OIDC provider, creating users, groups or access keys, Organizations and
account settings, stopping CloudTrail, managing the foundation's keys beyond using them, and every ECR write except
tagging.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.backup_storage import SNAPSHOT_EXPORT_KMS_ACTIONS
from components.base import AwsContext, named_tags, policy_json
from components.constants import (
    AMP_ALERT_ACTIONS,
    AMP_QUERY_ACTIONS,
    CI_ROLE_PATH,
    ECS_EXEC_ACTIONS,
    EDGE_REGION,
    LAMBDA_VPC_ACTIONS,
    LEGACY_METRIC_NAMESPACE,
    PROJECT,
    ROLE_PATH_PREFIX,
    environment_stacks,
    ops_metric_namespace,
    workload_role_path,
)
from components.github_oidc import trust_policy
from components.image_registry import (
    DESCRIBE_ACTIONS,
    DOCKER_PUSH_ACTIONS,
    describe_statements,
    push_statements,
    tag_statements,
)
from components.stack_secrets import decrypt_statements
from components.state_backend import StackPath, app_stack, state_read_statements, state_write_statements

RoleKind = Literal["preview", "deploy", "publisher"]
PREVIEW_SESSION_SECONDS = 3600
DEPLOY_SESSION_SECONDS = 7200


# --- names: every account computes the same ARNs (the Organizations layout grants by ARN before roles exist) -------

def ci_role_name(kind: str, environment: str = "") -> str:
    """maratron-preview-dev, maratron-deploy-prod, maratron-app-ci, maratron-infra-ci (role names are unique per
    account, whatever the path: the project prefix keeps them apart from other teams' roles)."""
    return f"{PROJECT}-{kind}-{environment}" if environment else f"{PROJECT}-{kind}"


def role_arn(partition: str, account_id: str, name: str, path: str = CI_ROLE_PATH) -> str:
    return f"arn:{partition}:iam::{account_id}:role{path}{name}"


def workload_boundary_name(environment: str) -> str:
    return f"{PROJECT}-{environment}-workload-boundary"


def workload_boundary_arn(partition: str, account_id: str, environment: str) -> str:
    return f"arn:{partition}:iam::{account_id}:policy{ROLE_PATH_PREFIX}{workload_boundary_name(environment)}"


# --- what the app program calls while previewing ----------------------------------------------------------------------

INVOKE_ACTIONS: dict[str, tuple[str, ...]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": ("ec2:DescribeAvailabilityZones",),
    "aws:index/getCallerIdentity:getCallerIdentity": (),  # sts:GetCallerIdentity needs no permission
    "aws:elb/getServiceAccount:getServiceAccount": (),  # a table inside the provider
    # scoped to the foundation's repositories; DescribeRepositories for its image_uri (image_registry.DESCRIBE_ACTIONS)
    "aws:ecr/getImage:getImage": ("ecr:DescribeImages", "ecr:DescribeRepositories"),
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": ("ecr:GetAuthorizationToken",),  # backup build path
    # The CloudFront origin-facing prefix list the ALB admits behind the CDN (components/load_balancer.py).
    # FindManagedPrefixList, then FindManagedPrefixListEntriesByID: a Get action no ec2:Describe* grant covers
    # (terraform-provider-aws internal/service/ec2/vpc_managed_prefix_list_data_source.go).
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": ("ec2:DescribeManagedPrefixLists",
                                                          "ec2:GetManagedPrefixListEntries"),
    # The AZs each interface endpoint's service is offered in (components/network.py).
    "aws:ec2/getVpcEndpointService:getVpcEndpointService": ("ec2:DescribeVpcEndpointServices",),
}
"""Data-source token -> the IAM actions its call needs. A test checks these are exactly the tokens the app stacks
invoke offline: a new data source cannot silently break pull-request previews, nor a dropped one leave a grant."""
PLAN_ACTIONS: dict[str, tuple[str, ...]] = {
    # The provider validates a state machine's definition while planning (CustomizeDiff
    # stateMachineDefinitionValidate calls ValidateStateMachineDefinition whenever the definition changes:
    # https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/sfn/state_machine.go), so a
    # pull-request preview of the secret-redeploy workflow (components/secret_redeploy.py) calls it too.
    "aws:sfn/stateMachine:StateMachine": ("states:ValidateStateMachineDefinition",),
}
"""Resource type -> the AWS calls the provider makes while *previewing* it (not only while applying): the preview
role needs them (tests/bootstrap/test_permissions.py checks it allows them)."""
REGION_WIDE_READS = ("ec2:DescribeAvailabilityZones", "ec2:DescribeManagedPrefixLists",
                     "ec2:GetManagedPrefixListEntries", "ec2:DescribeVpcEndpointServices",
                     "ecr:GetAuthorizationToken",  # a preview of a *BuildContext stack logs in to the registry
                     *sorted({action for actions in PLAN_ACTIONS.values() for action in actions}))
"""Actions without resource-level permissions (Service Authorization Reference: no resource type)."""


# --- what the deploy role manages -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServiceGrant:
    """One AWS service the app stack manages: the resources the deploy role may act on, and why that wide."""

    service: str
    resources: tuple[str, ...]
    """ARN templates ({partition}, {region}, {account}, {stack}, {project}); `*` = any, in the region only. A
    template naming {stack} is rendered for each stack of the environment (EnvironmentTarget.stacks); a regional
    grant names {region} as `*` (`templates`)."""
    why: str
    regional: bool = True
    """Condition aws:RequestedRegion = the stack's region (false for global services)."""
    edge: bool = False
    """Also in us-east-1 (EDGE_REGION), whatever the stack's region: the CDN's certificate, CLOUDFRONT web ACL, edge
    key, its log group and vended-log deliveries, its alarms and their topic must live there (components/cdn.py)."""
    actions: tuple[str, ...] = ()
    """The actions granted (default `<service>:*`): narrower where a wildcard would reach data the deploy never needs
    (AMP: the control plane only, never the RemoteWrite/Query data plane; amp-access-scoped-to-workspaces)."""

    @property
    def granted(self) -> tuple[str, ...]:
        return self.actions or (f"{self.service}:*",)

    @property
    def templates(self) -> tuple[str, ...]:
        """`resources` as the deploy policy names them: a regional grant with region `*`, its aws:RequestedRegion
        condition naming the regions. It keeps the deploy role under IAM's 10,240-character limit on a role's inline
        policies (prod with its DR stack in two regions went over it: IAM and STS quotas)."""
        return tuple(t.replace("{region}", "*") for t in self.resources) if self.regional else self.resources


DEPLOY_SERVICES: tuple[ServiceGrant, ...] = (
    ServiceGrant("ec2", ("*",), "VPC, subnet, route table, NAT gateway, endpoint, security group and flow log ARNs "
                 "end in ids EC2 assigns at creation (vpc-..., sg-...), and every read is a Describe* call without "
                 "resource-level permissions."),
    ServiceGrant("elasticloadbalancing", ("*",), "load balancer, target group and listener ARNs end in ids assigned "
                 "at creation; Describe* has no resource-level permissions."),
    ServiceGrant("rds", ("*",), "besides the instances (db:maratron-<stack>-db*), the stack manages parameter and "
                 "subnet groups, snapshots taken on deletion, automated-backup replication and RDS Proxy (its ARN, "
                 "db-proxy:prx-..., and its target groups' end in ids assigned at creation), and reads through "
                 "Describe* calls without resource-level permissions."),
    ServiceGrant("elasticache", ("*",), "replication groups, their member clusters, parameter and subnet groups and "
                 "final snapshots; Describe* has no resource-level permissions."),
    ServiceGrant("ecs", ("*",), "RegisterTaskDefinition and the Describe*/List* calls have no resource-level "
                 "permissions."),
    ServiceGrant("logs", ("*",), edge=True, why="log groups are named /maratron-<stack>/..., "
                 "/aws/rds/instance/maratron-<stack>-db*/..., /aws/vendedlogs/{prometheus,states}/maratron-<stack>"
                 "... and aws-waf-logs-maratron-<stack>, but the WAF log "
                 "delivery's resource policy (PutResourcePolicy) and DescribeLogGroups have no resource-level "
                 "permissions; behind the CDN also the us-east-1 WAF log group and the CloudFront access-log "
                 "delivery (source, destination, delivery)."),
    ServiceGrant("cloudwatch", ("*",), edge=True, why="alarms and dashboards are named maratron-<stack>-*, but "
                 "DescribeAlarms/ListTagsForResource reads and PutMetricAlarm on composite paths are account-wide; the "
                 "CDN's alarms live in us-east-1 (CloudFront metrics are published there only)."),
    ServiceGrant("events", ("*",), "the ECS deployment-failure rule (maratron-<stack>-ecs-deployment-failed), the "
                 "RDS event rule (maratron-<stack>-database-events), the restore-drill failure rule, the "
                 "secret-redeploy rules (maratron-<stack>-secret-redeploy-<service>) and their targets; "
                 "ListTargetsByRule/Describe reads are resource-scoped but ListRules is not."),
    ServiceGrant("kms", ("*",), edge=True, why="CreateKey has no resource (the key does not exist yet); key ARNs are "
                 "random ids. The foundation's own keys are protected by an explicit deny. With the CDN outside "
                 "us-east-1 the edge key is there; with DR the DR key is in the DR region."),
    ServiceGrant("wafv2", ("*",), edge=True, why="web ACL ARNs end in an id assigned at creation; the managed rule "
                 "groups are AWS-owned ARNs. Behind the CDN the web ACL has scope CLOUDFRONT, which exists in "
                 "us-east-1 only."),
    ServiceGrant("acm", ("*",), edge=True, why="certificate ARNs end in an id assigned at creation; CloudFront "
                 "uses certificates from us-east-1 only."),
    ServiceGrant("scheduler", ("*",), "the backup and restore-drill schedules have fixed names in the default "
                 "group, but ListSchedules and the group reads are account-wide."),
    ServiceGrant("cloudfront", ("*",), "the distribution, its cache and response-headers policies get ids assigned "
                 "at creation; global service (its API is in us-east-1 only, no region condition).",
                 regional=False),
    ServiceGrant("servicediscovery", ("*",), "Service Connect namespaces and services are ids assigned at creation."),
    ServiceGrant("application-autoscaling", ("*",), "scalable targets are identified by the ECS service, policies "
                 "by ids assigned at creation; Describe* is account-wide."),
    ServiceGrant("s3", ("arn:{partition}:s3:::{project}-{stack}-*", "arn:{partition}:s3:::{project}-{stack}-*/*"),
                 "scoped: every bucket of the stack is named <project>-<stack>-<kind>-<suffix>."),
    ServiceGrant("secretsmanager", ("arn:{partition}:secretsmanager:{region}:{account}:secret:{project}-{stack}/*",),
                 "scoped: every secret of the stack is named <project>-<stack>/<name> (their rotation schedules, "
                 "RotateSecret, act on the secret too)."),
    ServiceGrant("lambda", ("arn:{partition}:lambda:{region}:{account}:function:{project}-{stack}-*",),
                 "scoped: the db-admin and redis-rotation functions are <project>-<stack>-<name>; the deploy creates "
                 "them with their package inline (built from the virtualenv at `pulumi up`, no S3 upload), adds the "
                 "Secrets Manager invoke permissions and invokes the bootstrap (during `up` and from "
                 "dbBootstrapCommand in ops/release.sh)."),
    ServiceGrant("states", ("*",), "the secret-redeploy state machine is named <project>-<stack>-secret-redeploy, but "
                 "the provider calls ValidateStateMachineDefinition while planning, which acts on no resource, and "
                 "its executions are named by AWS."),
    ServiceGrant("sns", ("arn:{partition}:sns:{region}:{account}:{project}-{stack}-*",), edge=True,
                 why="scoped: the alert topic is <project>-<stack>-alerts (subscriptions are under its ARN); behind "
                 "the CDN outside us-east-1 its twin for the edge alarms is there."),
    ServiceGrant("sns", ("*",), edge=True, actions=(
        "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"),
                 why="the alert e-mail subscriptions' reads, updates and deletes: the Service Authorization Reference "
                 "lists no resource type for these three (\"you must specify all resources\"), so a grant on the "
                 "topic's ARN would never match them."),
    ServiceGrant("aps", ("*",), "the metrics workspace (components/app_metrics.py) gets its id at creation "
                 "(workspace/ws-...); its configuration, rule-group namespace and alert manager definition live "
                 "under it; ListWorkspaces is account-wide. Control plane only: no Get*/Query*/RemoteWrite. The "
                 "boundary denies all of it on a workspace tagged for another environment "
                 "(DenyOtherEnvironmentsMetrics).",
                 actions=("aps:Create*", "aps:Delete*", "aps:Describe*", "aps:List*", "aps:Put*", "aps:Update*",
                          "aps:TagResource", "aps:UntagResource")),
    ServiceGrant("grafana", ("*",), "the optional Managed Grafana workspace (grafanaEnabled) gets its id at "
                 "creation (g-...), its role associations and SAML configuration live under it. Creating one with "
                 "IAM Identity Center sign-in also needs sso: and organizations: calls the deploy roles do not have "
                 "(docs/app-metrics.md: SAML, or an administrator creates it once)."),
    ServiceGrant("route53", ("arn:{partition}:route53:::hostedzone/*", "arn:{partition}:route53:::change/*",
                             "arn:{partition}:route53:::healthcheck/*"),
                 "record sets of the stack's hosted zone and their change status: the zone id is app configuration "
                 "(hostedZoneId), not known to the foundation; the reader records' health checks get ids assigned at "
                 "creation; global service (no region condition).",
                 regional=False),
    ServiceGrant("budgets", ("arn:{partition}:budgets::{account}:budget/{project}-{stack}-*",),
                 "scoped: the stack's cost budget is <project>-<stack>-monthly-cost; Create/Update/DeleteBudget and "
                 "its notifications are budgets:ModifyBudget, the reads budgets:ViewBudget, both on the budget's ARN "
                 "(Service Authorization Reference, list_awsbudgetservice); global service (no region condition). "
                 "Not aws-portal:ModifyBilling, which the reference also lists: that namespace is past the end of "
                 "its standard support (fine-grained billing actions replaced it).",
                 regional=False, actions=("budgets:ModifyBudget", "budgets:ViewBudget", "budgets:TagResource",
                                          "budgets:UntagResource", "budgets:ListTagsForResource")),
)
"""The services of the app stack. `iam` (roles under /maratron/<env>/ only) and `ecr` (read and tag the foundation's
repositories) have their own statements below."""

SERVICE_OF_MODULE: dict[str, str] = {
    "ec2": "ec2", "vpc": "ec2", "lb": "elasticloadbalancing", "alb": "elasticloadbalancing", "rds": "rds",
    "elasticache": "elasticache", "ecs": "ecs", "kms": "kms", "wafv2": "wafv2", "acm": "acm", "scheduler": "scheduler",
    "servicediscovery": "servicediscovery", "appautoscaling": "application-autoscaling", "s3": "s3",
    "secretsmanager": "secretsmanager", "sns": "sns", "route53": "route53", "iam": "iam", "ecr": "ecr",
    "lambda": "lambda", "sfn": "states", "cloudfront": "cloudfront", "amp": "aps", "grafana": "grafana",
}


def service_of(resource_type: str) -> str | None:
    """The IAM service prefix that manages a pulumi-aws resource type (None for non-AWS types)."""
    if not resource_type.startswith("aws:"):
        return None
    module, _, name = resource_type.split(":")[1].partition("/")
    if module == "cloudwatch":
        if name.startswith("log"):
            return "logs"
        if name.startswith("event"):
            return "events"
        return "cloudwatch"
    return SERVICE_OF_MODULE.get(module, module)


PASSED_TO_SERVICES = ("ecs-tasks.amazonaws.com", "monitoring.rds.amazonaws.com", "scheduler.amazonaws.com",
                      "vpc-flow-logs.amazonaws.com", "export.rds.amazonaws.com", "rds.amazonaws.com",
                      "lambda.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com", "s3.amazonaws.com",
                      "batchoperations.s3.amazonaws.com", "grafana.amazonaws.com")
"""Services the app stack's roles are passed to (their trust principals; a test keeps the two equal): ECS tasks,
RDS enhanced monitoring, EventBridge Scheduler, flow logs, snapshot export, RDS Proxy (rds.amazonaws.com), the
db-admin and redis-rotation functions, the secret-redeploy workflow and the EventBridge rules that start it, S3
replication of the backup buckets to the DR region and S3 Batch Operations' role for the objects that predate it
(components/disaster_recovery.py), the optional Managed Grafana
workspace's query role (components/app_metrics.py)."""
SERVICE_LINKED_ROLES = ("ecs.amazonaws.com", "rds.amazonaws.com", "elasticache.amazonaws.com",
                        "elasticloadbalancing.amazonaws.com", "ecs.application-autoscaling.amazonaws.com")
"""Service-linked roles a first deploy in a fresh account may have to create."""
MANAGED_POLICIES_ATTACHED = ("service-role/AmazonRDSEnhancedMonitoringRole",)
"""AWS managed policies the app stack attaches to its roles (nothing else may be attached)."""
WORKLOAD_ROLE_ACTIONS = ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                         "iam:PutRolePermissionsBoundary")
"""Role writes allowed only while the role keeps the workload boundary (condition iam:PermissionsBoundary, as in
the IAM user guide's example of delegating role creation with a permissions boundary)."""
WORKLOAD_ROLE_UNCONDITIONED = ("iam:DeleteRole", "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies",
                               "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
                               "iam:ListRoleTags", "iam:TagRole", "iam:UntagRole", "iam:UpdateRole",
                               "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy")
"""Role reads and edits that cannot widen what a role may do (its boundary still caps it)."""
DEPLOY_IAM_ACTIONS = (*WORKLOAD_ROLE_ACTIONS, *WORKLOAD_ROLE_UNCONDITIONED, "iam:AttachRolePolicy",
                      "iam:DetachRolePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:CreateServiceLinkedRole")
"""Every IAM action a deploy role's policy allows but iam:PassRole (deploy_statements): its boundary's IAM ceiling."""


@dataclass(frozen=True)
class FoundationArns:
    """What CI roles act on, as ARNs: from the components in the account that has them, or from the shared stack's
    outputs in an environment account (Organizations layout)."""

    partition: str
    region: str
    state_bucket_arn: pulumi.Input[str]
    state_key_arn: pulumi.Input[str]
    repository_arns: Mapping[str, pulumi.Input[str]]
    protected_key_arns: Sequence[pulumi.Input[str]]
    """The foundation's keys in this account (state, images, stack secrets): used, never managed, by deploys."""
    bootstrap_stack: StackPath
    """The stack app stacks read with a StackReference (preview and deploy read its checkpoint)."""
    bootstrap_secrets_key_arn: pulumi.Input[str]
    """That stack's secrets key: a StackReference builds the referenced stack's secrets manager, which decrypts its
    data key, before it reads any output (pulumi/pulumi#11109), so previews and deploys need kms:Decrypt on it."""
    dr_state_bucket_arn: pulumi.Input[str] | None = None
    """The state bucket's replica in the DR region (components/state_backend.py); None without DR."""
    dr_state_key_arn: pulumi.Input[str] | None = None
    """Its CMK (in the DR region)."""
    dr_state_region: str | None = None
    """The replica's region."""

    @property
    def bootstrap_secrets_replica_regions(self) -> tuple[str, ...]:
        """Where the foundation's secrets key has a multi-Region replica (the state replica's region: a DR stack
        reads the foundation there, bootstrap/__main__.py): previews and deploys decrypt with it too."""
        return (self.dr_state_region,) if self.dr_state_region else ()


@dataclass(frozen=True)
class EnvironmentTarget:
    """One environment as its CI roles see it."""

    environment: str
    account_id: str
    secrets_key_arn: pulumi.Input[str]
    dr_region: str | None = None
    """The region the environment keeps its DR copy in and restores to (the registry's replica region, for the
    environments in the foundation's drEnvironments): its deploys may act there too (the DR key, replica buckets,
    replicated RDS backups, and the whole DR stack, Pulumi.dr.yaml); None: the foundation's region only."""
    dr_secrets_key_arn: pulumi.Input[str] | None = None
    other_secrets_key_arns: Sequence[pulumi.Input[str]] = ()
    """The stack-secrets keys of the other environments in this account (single-account layout), theirs and their DR
    stacks': the deploy role's boundary denies every KMS action on them. Its kms:* (needed for the stack's own keys)
    would otherwise decrypt their data keys and with them every `secure:` value of their stack files."""
    """The DR stack's secrets-provider key (in the DR region: components/stack_secrets.py); None without DR."""

    @property
    def regions(self) -> tuple[str, ...]:
        return (self.dr_region,) if self.dr_region else ()

    @property
    def stacks(self) -> tuple[str, ...]:
        """The environment's app stacks: its own, and with a DR region its DR stack (constants.environment_stacks)."""
        return environment_stacks(self.environment, dr=self.dr_region is not None)

    def workload_boundary_arn(self, partition: str) -> str:
        return workload_boundary_arn(partition, self.account_id, self.environment)


def _regions(f: FoundationArns, target: EnvironmentTarget | None = None, *, edge: bool = False) -> list[str]:
    """The foundation's region, the environment's DR region, and us-east-1 for the CDN's parts (`edge`)."""
    extra = [*(target.regions if target else ()), *((EDGE_REGION,) if edge else ())]
    return list(dict.fromkeys([f.region, *extra]))


def _render(template: str, f: FoundationArns, target: EnvironmentTarget, *, edge: bool = False) -> list[str]:
    """The template for each stack of the environment and each region the grant covers (one ARN per stack when it
    names no region: ServiceGrant.templates)."""
    return list(dict.fromkeys(template.format(partition=f.partition, region=region, account=target.account_id,
                                              stack=stack, project=PROJECT)
                              for region in _regions(f, target, edge=edge) for stack in target.stacks))


def _in_region(f: FoundationArns, target: EnvironmentTarget | None = None, *, edge: bool = False) -> dict[str, Any]:
    return {"StringEquals": {"aws:RequestedRegion": _regions(f, target, edge=edge)}}


def _repository_arns(f: FoundationArns, target: EnvironmentTarget) -> dict[str, pulumi.Input[str]]:
    """The foundation's repositories, and their replicas in the environment's DR region (a DR stack looks its
    images up and the deploy tags them there)."""
    def in_region(arn: pulumi.Input[str], region: str) -> pulumi.Output[str]:
        return pulumi.Output.from_input(arn).apply(lambda a: a.replace(f":ecr:{f.region}:", f":ecr:{region}:"))

    arns = dict(f.repository_arns)
    for region in target.regions:
        arns.update({f"{service}@{region}": in_region(arn, region) for service, arn in f.repository_arns.items()})
    return arns


def _dr_stacks(target: EnvironmentTarget) -> list[StackPath]:
    """The environment's DR stacks (prod's `dr`): every app stack but its own."""
    return [app_stack(stack) for stack in target.stacks if stack != target.environment]


def _primary_written_stacks(f: FoundationArns, target: EnvironmentTarget) -> list[StackPath]:
    """The stacks a deploy writes in the primary state bucket: the environment's, and its DR stack only while the
    foundation keeps no replica. With one, the DR stack lives in the replica (dr_state_statements), and a write here
    would be replicated over it: a lock file whose delete is not replicated ("Amazon S3 adds a delete marker in the
    source bucket only", S3 user guide, delete-marker replication) would lock the DR stack there for good."""
    dr = {s.stack for s in _dr_stacks(target)} if f.dr_state_bucket_arn is not None else set()
    return [app_stack(stack) for stack in target.stacks if stack not in dr]


def dr_state_statements(f: FoundationArns, target: EnvironmentTarget, *, write: bool) -> list[dict[str, Any]]:
    """The state backend's replica in the DR region, for the environment's DR stack when the primary region is lost:
    read the foundation's stack and the environment's (the DR stack's StackReferences) and, with `write` (a deploy),
    write the DR stack's own keys (StackPath.write_keys), never the environment's own stack's; decrypt its data key
    with the DR stack's secrets key. Nothing without DR (no replica, or no DR stack for the environment)."""
    dr_stacks = _dr_stacks(target)
    if f.dr_state_bucket_arn is None or f.dr_state_key_arn is None or f.dr_state_region is None or not dr_stacks:
        return []
    read = state_read_statements(f.dr_state_bucket_arn, f.dr_state_key_arn, f.dr_state_region,
                                 [*map(app_stack, target.stacks), f.bootstrap_stack])
    written = state_write_statements(f.dr_state_bucket_arn, f.dr_state_key_arn, f.dr_state_region, dr_stacks)
    statements = [*read, *written] if write else read
    return [{**statement, "Sid": f"DrBackend{statement['Sid']}"} for statement in statements]


def _dr_secrets_statements(target: EnvironmentTarget) -> list[dict[str, Any]]:
    if target.dr_secrets_key_arn is None:
        return []
    return decrypt_statements(target.dr_secrets_key_arn, sid="UnwrapDrStackDataKey")


def preview_statements(f: FoundationArns, target: EnvironmentTarget) -> list[dict[str, Any]]:
    """A read-only `pulumi preview` of the environment's app stack (no refresh); of its DR stack in the replica."""
    return [
        *state_read_statements(f.state_bucket_arn, f.state_key_arn, f.region,
                               [*map(app_stack, target.stacks), f.bootstrap_stack]),
        *dr_state_statements(f, target, write=False),
        *decrypt_statements(target.secrets_key_arn),
        *_dr_secrets_statements(target),
        *decrypt_statements(f.bootstrap_secrets_key_arn, sid="UnwrapFoundationDataKey",
                            replica_regions=f.bootstrap_secrets_replica_regions),
        {"Sid": "ProgramLookups", "Effect": "Allow", "Action": list(REGION_WIDE_READS), "Resource": "*",
         "Condition": _in_region(f, target)},
        *describe_statements(_repository_arns(f, target)),
    ]


def deploy_statements(f: FoundationArns, target: EnvironmentTarget, *,
                      push_services: Sequence[str] = ()) -> list[dict[str, Any]]:
    """`pulumi up` of the environment's app stack, then its one-off tasks and `ops.verify` (see the module doc)."""
    env, account = target.environment, target.account_id
    roles = role_arn(f.partition, account, "*", workload_role_path(env))
    boundary = target.workload_boundary_arn(f.partition)
    statements: list[dict[str, Any]] = [
        *state_read_statements(f.state_bucket_arn, f.state_key_arn, f.region,
                               [*map(app_stack, target.stacks), f.bootstrap_stack]),
        *state_write_statements(f.state_bucket_arn, f.state_key_arn, f.region, _primary_written_stacks(f, target)),
        *decrypt_statements(target.secrets_key_arn),
        *decrypt_statements(f.bootstrap_secrets_key_arn, sid="UnwrapFoundationDataKey",
                            replica_regions=f.bootstrap_secrets_replica_regions),
        *tag_statements(_repository_arns(f, target), also_describe=True),
    ]
    for edge in (False, True):
        regional = [g for g in DEPLOY_SERVICES if g.resources == ("*",) and g.regional and g.edge == edge]
        statements.append({"Sid": "ManageEdgeServices" if edge else "ManageRegionalServices", "Effect": "Allow",
                           "Action": sorted(a for g in regional for a in g.granted), "Resource": "*",
                           "Condition": _in_region(f, target, edge=edge)})
    for g in DEPLOY_SERVICES:
        if g.resources == ("*",) and g.regional:
            continue
        sid = "Manage" + "".join(part.capitalize() for part in g.service.replace("-", " ").split())
        statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": list(g.granted),
                                     "Resource": [arn for r in g.templates for arn in _render(r, f, target,
                                                                                              edge=g.edge)]}
        if g.regional:
            statement["Condition"] = _in_region(f, target, edge=g.edge)
        statements.append(statement)
    statements += [
        {"Sid": "WorkloadRolesKeepTheBoundary", "Effect": "Allow", "Action": list(WORKLOAD_ROLE_ACTIONS),
         "Resource": [roles], "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}}},
        {"Sid": "AttachOnlyKnownManagedPolicies", "Effect": "Allow",
         "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"], "Resource": [roles],
         "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary},
                       "ArnEquals": {"iam:PolicyARN": [f"arn:{f.partition}:iam::aws:policy/{name}"
                                                       for name in MANAGED_POLICIES_ATTACHED]}}},
        {"Sid": "EditWorkloadRoles", "Effect": "Allow", "Action": list(WORKLOAD_ROLE_UNCONDITIONED),
         "Resource": [roles]},
        {"Sid": "PassWorkloadRoles", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [roles],
         "Condition": {"StringEquals": {"iam:PassedToService": list(PASSED_TO_SERVICES)}}},
        {"Sid": "ReadManagedPolicies", "Effect": "Allow", "Action": ["iam:GetPolicy", "iam:GetPolicyVersion"],
         "Resource": [f"arn:{f.partition}:iam::aws:policy/{name}" for name in MANAGED_POLICIES_ATTACHED]},
        {"Sid": "CreateServiceLinkedRoles", "Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole"],
         "Resource": [f"arn:{f.partition}:iam::{account}:role/aws-service-role/*"],
         "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}}},
        # ecr:DescribeRegistry: the release gate's dr.images check (ops.verify in pulumi-up.yml); it acts on no
        # resource (ECR API reference).
        {"Sid": "ProgramLookups", "Effect": "Allow", "Action": [*REGION_WIDE_READS, "ecr:DescribeRegistry"],
         "Resource": "*", "Condition": _in_region(f, target)},
        # The database's private reader zone and its replicas' health checks: CreateHostedZone and CreateHealthCheck
        # act on what does not exist yet, so no hostedzone/<id> or healthcheck/<id> ARN can match them (AWS's own
        # example grants them on "*": Route 53 developer guide, access-control-managing-permissions; the Service
        # Authorization Reference lists no resource type for either); everything after creation is scoped by the
        # route53 grant.
        {"Sid": "CreateRoute53", "Effect": "Allow", "Action": ["route53:CreateHostedZone", "route53:CreateHealthCheck"],
         "Resource": "*"},
        *verify_statements(f, target),
    ]
    return statements + deny_statements(f, target, push_services=push_services)


def deploy_push_statements(f: FoundationArns, push_services: Sequence[str]) -> list[dict[str, Any]]:
    """With `deployPushesBackupImage`: push to those repositories (the login is in deploy_statements' tag
    statements). CiRole attaches it as a managed policy of its own, not inline: IAM counts every inline policy of a
    role against one 10,240-character quota ("Role policy size cannot exceed 10,240 characters"), which the deploy
    role's inline policy nearly fills, while each managed policy has its own 6,144 characters and a role may have 10
    attached (IAM and AWS STS quotas, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
    Its boundary (ecr:*) and its deny statements (DenyRegistryChanges, which lets the push actions through with
    push_services) still cap it."""
    return push_statements(f.repository_arns, push_services, DOCKER_PUSH_ACTIONS)[1:] if push_services else []


def enhanced_scanning_statements(f: FoundationArns, target: EnvironmentTarget) -> list[dict[str, Any]]:
    """With `imageScanning: enhanced`: the release gate's `ecr.scan-findings` reads Amazon Inspector's findings
    through DescribeImageScanFindings, and "the IAM principal enabling and using enhanced scanning has permissions
    to call the Amazon Inspector APIs needed for scanning"; the guide's policy grants inspector2:ListFindings to
    "retrieve the scan findings" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced-iam.html).
    Read-only, in the stack's regions; attached as a managed policy of its own (the inline one is full) and allowed
    by the boundary only then."""
    return [{"Sid": "ReadEnhancedScanFindings", "Effect": "Allow", "Action": ["inspector2:ListFindings"],
             "Resource": "*", "Condition": _in_region(f, target)}]


def deploy_dr_statements(f: FoundationArns, target: EnvironmentTarget) -> list[dict[str, Any]]:
    """An environment with a DR stack: its state in the state bucket's replica (dr_state_statements) and its secrets
    key, both in the DR region, for a deploy of the DR stack while the primary region is lost. Attached as a managed
    policy of its own, as deploy_push_statements and for the same reason: prod's inline policy nearly fills IAM's
    10,240 characters. Its boundary (s3:*, kms:*) and its deny statements still cap it; it denies managing the two
    keys itself (the deny the inline policy has for the primary region's foundation keys). Empty without DR."""
    statements = dr_state_statements(f, target, write=True)
    if not statements:
        return []
    assert f.dr_state_key_arn is not None
    keys = [f.dr_state_key_arn, *([target.dr_secrets_key_arn] if target.dr_secrets_key_arn is not None else [])]
    # DenyManagingFoundationKeys for the DR region's foundation keys, here rather than inline (the size quota).
    return [*statements, *_dr_secrets_statements(target),
            {"Sid": "DenyManagingDrFoundationKeys", "Effect": "Deny",
             "NotAction": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], "Resource": keys}]


def deny_statements(f: FoundationArns, target: EnvironmentTarget, *,
                    push_services: Sequence[str] = ()) -> list[dict[str, Any]]:
    """What no deploy may do whatever its policy says (in the policy and in its boundary)."""
    account = target.account_id
    ecr_allowed = sorted({"ecr:GetAuthorizationToken", *DESCRIBE_ACTIONS, "ecr:BatchGetImage", "ecr:PutImage",
                          "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:ListImages",
                          *(("ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload")
                            if push_services else ())})
    return [
        {"Sid": "DenyBoundaryRemoval", "Effect": "Deny", "Action": ["iam:DeleteRolePermissionsBoundary"],
         "Resource": "*"},
        {"Sid": "DenyFoundationIdentities", "Effect": "Deny", "Action": ["iam:*"],
         "Resource": [role_arn(f.partition, account, "*"),
                      f"arn:{f.partition}:iam::{account}:policy{ROLE_PATH_PREFIX}*",
                      f"arn:{f.partition}:iam::{account}:oidc-provider/*"]},
        {"Sid": "DenyLongLivedCredentials", "Effect": "Deny",
         "Action": ["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreateGroup",
                    "iam:AddUserToGroup", "iam:CreateOpenIDConnectProvider", "iam:CreateSAMLProvider"],
         "Resource": "*"},
        {"Sid": "DenyAccountAndOrganization", "Effect": "Deny", "Action": ["organizations:*", "account:*"],
         "Resource": "*"},
        {"Sid": "DenyAuditTampering", "Effect": "Deny",
         "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail",
                    "cloudtrail:PutEventSelectors"], "Resource": "*"},
        {"Sid": "DenyManagingFoundationKeys", "Effect": "Deny",
         "NotAction": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
         "Resource": list(f.protected_key_arns)},
        {"Sid": "DenyRegistryChanges", "Effect": "Deny", "NotAction": ecr_allowed,
         "Resource": [f"arn:{f.partition}:ecr:*:*:repository/*"]},
    ]


def deploy_boundary_statements(f: FoundationArns, target: EnvironmentTarget, *, push_services: Sequence[str] = (),
                               enhanced_scanning: bool = False) -> list[dict[str, Any]]:
    """The deploy role's permissions boundary: every service it may touch, and the same denies."""
    actions = sorted({a for g in DEPLOY_SERVICES if g.service != "iam" for a in g.granted} | {"ecr:*"})
    roles = role_arn(f.partition, target.account_id, "*", workload_role_path(target.environment))
    # IAM by name, not iam:*: even the ceiling passes roles only to the app services (iam-passrole-scoped)
    return [{"Sid": "CeilingOfDeploys", "Effect": "Allow", "Action": actions, "Resource": "*"},
            {"Sid": "CeilingOfRoleManagement", "Effect": "Allow", "Action": sorted(DEPLOY_IAM_ACTIONS),
             "Resource": "*"},
            {"Sid": "CeilingOfPassRole", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [roles],
             "Condition": {"StringEquals": {"iam:PassedToService": list(PASSED_TO_SERVICES)}}},
            *verify_statements(f, target, sid="CeilingOfVerifyMetrics"),
            *([{**s, "Sid": "CeilingOfScanFindings"} for s in enhanced_scanning_statements(f, target)]
              if enhanced_scanning else []),
            *deny_statements(f, target, push_services=push_services),
            # In the boundary (an explicit deny there denies too): the inline policy has no room left under IAM's
            # 10,240 characters, and a boundary cannot be detached by the role it bounds.
            *([{"Sid": "DenyOtherEnvironmentsSecrets", "Effect": "Deny", "Action": "kms:*",
                "Resource": list(target.other_secrets_key_arns)}] if target.other_secrets_key_arns else []),
            # The metrics workspaces get their ids at creation, so `aps` is granted on "*" (DEPLOY_SERVICES); what
            # tells one environment's apart is its `environment` tag, which the workload boundaries and the release
            # gate trust (aws:ResourceTag/environment). So no deploy may touch, retag or untag a workspace or
            # rule groups namespace tagged for another environment (the Service Authorization Reference lists
            # aws:ResourceTag/${TagKey} for both resource types): in one account, dev's deploy could otherwise move
            # prod's workspace into dev's tag scope, or delete it. A request on no tagged resource (CreateWorkspace,
            # ListWorkspaces) has no such key and is not denied (Null).
            {"Sid": "DenyOtherEnvironmentsMetrics", "Effect": "Deny", "Action": "aps:*", "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:ResourceTag/environment": target.environment},
                           "Null": {"aws:ResourceTag/environment": "false"}}},
            # ...nor tag one into another environment's scope (its own, or a new one created so tagged).
            {"Sid": "DenyTaggingMetricsForOtherEnvironments", "Effect": "Deny",
             "Action": ["aps:TagResource", "aps:CreateWorkspace", "aps:CreateRuleGroupsNamespace"], "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:RequestTag/environment": target.environment},
                           "Null": {"aws:RequestTag/environment": "false"}}}]


def verify_statements(f: FoundationArns, target: EnvironmentTarget, *,
                      sid: str = "VerifyMetrics") -> list[dict[str, Any]]:
    """The release gate: CI runs the full ops.verify with the deploy role (pulumi-up.yml); its amp.* checks query the
    environment's metrics workspace (the data plane, so by the workspace's environment tag, as the workload boundary
    does)."""
    return [{"Sid": sid, "Effect": "Allow", "Action": ["aps:QueryMetrics"],
             "Resource": [f"arn:{f.partition}:aps:*:{target.account_id}:workspace/*"],
             "Condition": {"StringEquals": {"aws:ResourceTag/environment": target.environment}}}]


def publisher_statements(repository_arns: Mapping[str, pulumi.Input[str]], services: Sequence[str]
                         ) -> list[dict[str, Any]]:
    """app-ci and infra-ci: push to their repositories, nothing else."""
    return push_statements(repository_arns, services)


# --- the role component -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CiRoleArgs:
    """Inputs of CiRole."""

    context: AwsContext
    """The account the role lives in."""
    role_name: str
    """Role name (unique in the account), e.g. maratron-deploy-prod."""
    kind: RoleKind
    """preview, deploy or publisher: tagged on the role (the policy pack checks deploy and preview trusts)."""
    provider_arn: pulumi.Input[str]
    """The account's GitHub OIDC provider."""
    subjects: list[str]
    """The exact `sub` claims allowed (components/github_oidc.py GithubRepository.subject)."""
    statements: list[dict[str, Any]]
    """The role's inline policy."""
    attached_statements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """More grants, each in a customer-managed policy `<role_name>-<key>` attached to the role (under its own
    6,144-character quota, not the role's 10,240 of inline policy); default none. The boundary still caps them."""
    boundary_statements: list[dict[str, Any]] | None = None
    """Its permissions boundary; default: the inline policy itself (the role can never do more than it does today)."""
    max_session_seconds: int = PREVIEW_SESSION_SECONDS
    """Longest session (3600-43200); default one hour, configure-aws-credentials' default."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the role and its boundary."""

    def __post_init__(self) -> None:
        if not 3600 <= self.max_session_seconds <= 43200:
            raise ValueError(f"CiRoleArgs({self.role_name!r}).max_session_seconds must be 3600-43200 (IAM role "
                             "MaxSessionDuration: 1 to 12 hours)")


class CiRole(pulumi.ComponentResource):
    """An OIDC-trusted CI role with an inline policy, a permissions boundary and any attached managed policies."""

    role: aws.iam.Role
    boundary: aws.iam.Policy

    def __init__(self, name: str, args: CiRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ci:CiRole", name, None, opts)
        tags = {**named_tags(args.tags, args.role_name), "ci-role": args.kind}
        self.boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=f"{args.role_name}-boundary",
            path=CI_ROLE_PATH,
            description=f"Permissions boundary of {args.role_name}: the most it may ever do",
            policy=policy_json(args.boundary_statements if args.boundary_statements is not None
                               else args.statements),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role = aws.iam.Role(
            name,
            name=args.role_name,
            path=CI_ROLE_PATH,
            description=f"GitHub Actions ({args.kind}): {', '.join(args.subjects)}",
            assume_role_policy=trust_policy(args.provider_arn, args.subjects),
            max_session_duration=args.max_session_seconds,
            permissions_boundary=self.boundary.arn,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(name, role=self.role.id, policy=policy_json(args.statements),
                           opts=pulumi.ResourceOptions(parent=self.role))
        self.attached: dict[str, aws.iam.Policy] = {}
        for key, statements in args.attached_statements.items():
            self.attached[key] = aws.iam.Policy(
                f"{name}-{key}",
                name=f"{args.role_name}-{key}",
                path=CI_ROLE_PATH,
                description=f"Attached to {args.role_name}: {key} (its boundary still caps it)",
                policy=policy_json(statements),
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-{key}",
                role=self.role.name,
                policy_arn=self.attached[key].arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"roleArn": self.role.arn})


# --- the workload boundary --------------------------------------------------------------------------------------------

def workload_boundary_statements(partition: str, account_id: str, environment: str,
                                 stacks: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The most any role of the environment's app stack may do: what its task, execution, scheduler, flow-log,
    monitoring, export, RDS Proxy, function, workflow, EventBridge and S3 replication roles use (a test checks every
    app role's statements fall inside). Its own policies and the KMS key and bucket policies still decide the rest:
    "Permissions boundaries do not define the maximum permissions that a resource-based policy can grant" (IAM API,
    PutRolePermissionsBoundary). The names are those of each of the environment's app stacks (`stacks`, default
    the environment's own: constants.environment_stacks), e.g. prod's and its DR stack's, whose roles share the path
    and the boundary."""
    prefixes = [f"{PROJECT}-{stack}" for stack in (stacks or (environment,))]
    buckets = [arn for prefix in prefixes for arn in (f"arn:{partition}:s3:::{prefix}-*",
                                                      f"arn:{partition}:s3:::{prefix}-*/*")]

    def per_stack(template: str) -> list[str]:
        return [template.format(prefix=prefix) for prefix in prefixes]

    return [
        {"Sid": "RunContainers", "Effect": "Allow", "Resource": "*",
         "Action": ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage", "kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKey*",
                    "kms:DescribeKey", *ECS_EXEC_ACTIONS]},
        # Custom metrics in the stack's own namespaces only (the backup job's, the drill's: constants.
        # ops_metric_namespace): PutMetricData has no resource type, its one scope is `cloudwatch:namespace`, so in the
        # single-account layout this is what keeps a dev role from publishing prod's BackupSucceeded, whatever policy
        # the dev deploy role writes for it.
        # LEGACY_METRIC_NAMESPACE: for one release, so that app stacks not yet released after this foundation keep
        # publishing where their roles may (a boundary only intersects; the foundation is applied first).
        {"Sid": "PutOwnMetrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
         "Condition": {"StringLike": {"cloudwatch:namespace": [
             *per_stack(ops_metric_namespace("{prefix}", "*")), LEGACY_METRIC_NAMESPACE]}}},
        # Secrets by name: every secret a workload reads is under its stack's prefix (app, database, users, redis,
        # cdn, backup), so in the single-account layout a role of one environment cannot be given another's (a dev
        # role granted prod's master secret is still refused here). Secrets Manager authorizes both actions on the
        # secret's ARN (Service Authorization Reference, AWS Secrets Manager).
        {"Sid": "ReadOwnSecrets", "Effect": "Allow",
         "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
         "Resource": per_stack(f"arn:{partition}:secretsmanager:*:{account_id}:secret:{{prefix}}/*")},
        # Log groups by name: the stack's own (`/maratron-<stack>/...`) and RDS enhanced monitoring's `RDSOSMetrics`
        # (AWS's managed role policy writes `RDS*`), so a role of one environment can neither read another's log
        # events nor change its retention; listing has no resource scope.
        {"Sid": "WriteOwnLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:PutRetentionPolicy",
                    "logs:DescribeLogStreams", "logs:GetLogEvents"],
         "Resource": [*(arn for prefix in prefixes for arn in (
             f"arn:{partition}:logs:*:{account_id}:log-group:/{prefix}/*",
             f"arn:{partition}:logs:*:{account_id}:log-group:/{prefix}/*:log-stream:*")),
             f"arn:{partition}:logs:*:{account_id}:log-group:RDS*",
             f"arn:{partition}:logs:*:{account_id}:log-group:RDS*:log-stream:*"]},
        {"Sid": "ListLogGroups", "Effect": "Allow", "Action": ["logs:DescribeLogGroups"], "Resource": "*"},
        {"Sid": "OwnBuckets", "Effect": "Allow", "Resource": buckets,
         "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation", "s3:GetObject",
                    "s3:GetObject*", "s3:PutObject", "s3:PutObject*", "s3:DeleteObject", "s3:DeleteObject*",
                    "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]},
        {"Sid": "ScheduleOwnTasks", "Effect": "Allow", "Resource": "*",
         "Action": ["ecs:RunTask", "ecs:TagResource"]},
        # The snapshot-export role holds AWS's documented KMS set on the archive key (components/backup_storage.py).
        {"Sid": "ExportSnapshotsWithOwnKeys", "Effect": "Allow", "Action": list(SNAPSHOT_EXPORT_KMS_ACTIONS),
         "Resource": f"arn:{partition}:kms:*:{account_id}:key/*"},
        # App metrics (components/app_metrics.py): the collectors remote-write, the optional Grafana role queries;
        # the workspace's key is used through aps (kms:ViaService) by the statements above.
        {"Sid": "OwnMetricsWorkspaces", "Effect": "Allow",
         "Resource": f"arn:{partition}:aps:*:{account_id}:workspace/*",
         "Action": ["aps:RemoteWrite", *AMP_QUERY_ACTIONS, *AMP_ALERT_ACTIONS],
         "Condition": {"StringEquals": {"aws:ResourceTag/environment": environment}}},
        {"Sid": "PassOwnRoles", "Effect": "Allow", "Action": ["iam:PassRole"],
         "Resource": [role_arn(partition, account_id, "*", workload_role_path(environment))],
         "Condition": {"StringEquals": {"iam:PassedToService": list(PASSED_TO_SERVICES)}}},
        # The db-admin and redis-rotation functions (components/credentials.py): write and rotate the stack's own
        # secrets, draw passwords, reset the Redis app user, start a rotation when the Redis endpoint moved; as VPC
        # functions they manage their network interfaces (no resource-level scope: "Required permissions for the
        # Lambda rotation function", Secrets Manager).
        {"Sid": "RotateOwnSecrets", "Effect": "Allow",
         "Action": ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
                    "secretsmanager:RotateSecret"],
         "Resource": per_stack(f"arn:{partition}:secretsmanager:*:{account_id}:secret:{{prefix}}/*")},
        {"Sid": "DrawPasswords", "Effect": "Allow", "Action": ["secretsmanager:GetRandomPassword"], "Resource": "*"},
        # RotateSecret also needs lambda:InvokeFunction on the rotation function (the redis-rotation function's sync)
        {"Sid": "StartOwnRotations", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
         "Resource": per_stack(f"arn:{partition}:lambda:*:{account_id}:function:{{prefix}}-*")},
        {"Sid": "RotateOwnCacheUsers", "Effect": "Allow",
         "Action": ["elasticache:ModifyUser", "elasticache:DescribeUsers"],
         "Resource": per_stack(f"arn:{partition}:elasticache:*:{account_id}:user:{{prefix}}-*")},
        {"Sid": "FunctionNetworkInterfaces", "Effect": "Allow", "Resource": "*",
         "Action": list(LAMBDA_VPC_ACTIONS)},
        # The secret-redeploy workflow and its trigger (components/secret_redeploy.py): force a new deployment of
        # the environment's services, deliver its logs (vended-log API, no resource-level scope), and be started.
        {"Sid": "RedeployOwnServices", "Effect": "Allow", "Action": ["ecs:UpdateService"],
         "Resource": per_stack(f"arn:{partition}:ecs:*:{account_id}:service/{{prefix}}/*")},
        {"Sid": "DeliverWorkflowLogs", "Effect": "Allow", "Resource": "*",
         "Action": ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies"]},
        {"Sid": "StartOwnWorkflows", "Effect": "Allow", "Action": ["states:StartExecution"],
         "Resource": per_stack(f"arn:{partition}:states:*:{account_id}:stateMachine:{{prefix}}-*")},
        # S3 replication of the environment's backup buckets into their DR replicas (components/disaster_recovery.py:
        # the role S3 documents for replication, no ReplicateDelete), re-encrypting with the DR region's key.
        {"Sid": "ReplicateOwnBuckets", "Effect": "Allow", "Resource": buckets,
         "Action": ["s3:GetReplicationConfiguration", "s3:ReplicateObject", "s3:ReplicateTags",
                    # the Batch Replication role: objects that predate replication (S3 Batch Operations)
                    "s3:InitiateReplication", "s3:PutInventoryConfiguration"]},
        {"Sid": "EncryptReplicasWithOwnKeys", "Effect": "Allow", "Action": ["kms:Encrypt"],
         "Resource": f"arn:{partition}:kms:*:{account_id}:key/*"},
    ]


@dataclass(frozen=True)
class WorkloadBoundaryArgs:
    """Inputs of WorkloadBoundary."""

    context: AwsContext
    environment: str
    stacks: tuple[str, ...] = ()
    """The environment's app stacks whose names the boundary covers (EnvironmentTarget.stacks); default its own."""
    tags: dict[str, str] = field(default_factory=dict)


class WorkloadBoundary(pulumi.ComponentResource):
    """The managed policy every role of an environment's app stack must carry as its permissions boundary."""

    policy: aws.iam.Policy

    def __init__(self, name: str, args: WorkloadBoundaryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ci:WorkloadBoundary", name, None, opts)
        ctx = args.context
        self.policy = aws.iam.Policy(
            name,
            name=workload_boundary_name(args.environment),
            path=ROLE_PATH_PREFIX,
            description=f"Permissions boundary of every role of the {args.environment} app stack",
            policy=policy_json(workload_boundary_statements(ctx.partition, ctx.account_id, args.environment,
                                                                args.stacks)),
            tags=named_tags(args.tags, workload_boundary_name(args.environment)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"arn": self.policy.arn})
