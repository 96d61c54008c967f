"""The preview and deploy roles against what the app stack really does: every service, data source, bucket, secret,
topic and role of the offline app stacks must be within the deploy role, and nothing more dangerous may be."""

from __future__ import annotations

import importlib
import json
import keyword
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from components.ci_roles import DEPLOY_SERVICES, INVOKE_ACTIONS, PASSED_TO_SERVICES, PLAN_ACTIONS, service_of
from components.constants import ECS_EXEC_ACTIONS, LEGACY_METRIC_NAMESPACE
from components.image_registry import DOCKER_PUSH_ACTIONS
from offline.engine import StackRun
from offline.foundation import run_bootstrap
from offline.iam_eval import allows
from offline.policy_ledger import OPTIONAL_PARTS
from tests.bootstrap.iam_policies import effective_policy, managed_policy, role_policy
from tests.configs import DEV_BUILT_IMAGES

REGION = {"aws:RequestedRegion": "us-east-1"}
NS = "maratron-bootstrap"



@pytest.fixture(scope="module")
def apps(dev: StackRun, staging: StackRun, prod: StackRun, dr: StackRun,
         run_variant: Callable[..., StackRun]) -> list[StackRun]:
    """Every stack file, and prod with the parts no stack file enables (Managed Grafana: its role and service)."""
    optional = run_variant("prod", **OPTIONAL_PARTS)
    assert optional.ok, optional.error_details
    return [dev, staging, prod, dr, optional]


def test_the_deploy_role_covers_exactly_the_services_the_app_stack_manages(apps: list[StackRun]) -> None:
    used = {service_of(r.type) for run in apps for r in run.resources if r.custom and r.type.startswith("aws:")}
    granted = {g.service for g in DEPLOY_SERVICES}
    assert used - {"iam"} == granted, ("add the service to DEPLOY_SERVICES (components/ci_roles.py)",
                                       sorted(used - {"iam"} - granted), "or drop it:", sorted(granted - used))


ARN_OF_ANOTHER = {"aws:secretsmanager/secretVersion:SecretVersion", "aws:sns/topicPolicy:TopicPolicy"}
"""Types whose `arn` is the resource they belong to (the secret, the topic), which this test checks itself."""


def has_arn(token: str) -> bool:
    """Whether the provider's resource type has an ARN of its own (the mocks give every resource one)."""
    module = token.split(":")[1].partition("/")[0]
    package = importlib.import_module(f"pulumi_aws.{module}_" if keyword.iskeyword(module) else f"pulumi_aws.{module}")
    cls = getattr(package, token.split(":")[2])
    return isinstance(getattr(cls, "arn", None), property)


def test_the_deploy_role_reaches_every_resource_of_a_service_it_grants_by_arn(
        shared: StackRun, apps: list[StackRun]) -> None:
    """Where a service's grant names ARNs (not `*`), every resource of that service the stacks create must match one:
    a new resource type of a granted service (a health check beside hosted zones) is otherwise AccessDenied at its
    first `pulumi up`, while the per-service test above still passes."""
    scoped = {g.service: g for g in DEPLOY_SERVICES if g.resources != ("*",)}
    for run in apps:
        policy = role_policy(shared, f"maratron-deploy-{run.config['maratron:environment']}")
        region = {"aws:RequestedRegion": run.config["aws:region"]}
        for resource in run.resources:
            grant = scoped.get(service_of(resource.type) or "")
            if grant is None or not resource.custom or not has_arn(resource.type) or resource.type in ARN_OF_ANOTHER:
                continue
            arn = resource.outputs["arn"]
            edge = {"aws:RequestedRegion": arn.split(":")[3] or run.config["aws:region"]}
            assert any(allows(policy, action.replace("*", "Get"), arn, context)
                       for action in grant.granted for context in (region, edge)), (run.stack, resource.urn, arn)


def test_every_data_source_the_app_calls_is_in_the_preview_role(shared: StackRun, apps: list[StackRun],
                                                               run_variant: Callable[..., StackRun]) -> None:
    built = run_variant("dev", **DEV_BUILT_IMAGES)  # the build path's login (shared with test_service, test_images)
    assert built.ok, built.error_details
    assert (built.config["maratron:backupBuildContext"], built.config["maratron:backupImage"]) == (
        "tests/fixtures/app", "")
    assert "aws:ecr/getAuthorizationToken:getAuthorizationToken" in {token for token, _ in built.invokes}
    tokens = {token for run in [*apps, built] for token, _ in run.invokes}
    assert tokens == set(INVOKE_ACTIONS), ("missing:", sorted(tokens - set(INVOKE_ACTIONS)),
                                           "called by no stack:", sorted(set(INVOKE_ACTIONS) - tokens))
    # ... and every environment's preview and deploy roles allow them, by their policies and within their boundary:
    # previews run every data source (the ECR reads are scoped to the repositories). Only the first action of each
    # data source was listed, and only dev's roles' policies were checked: ecr:DescribeRepositories (get_image) and
    # ec2:GetManagedPrefixListEntries (staging's and prod's CDN prefix list) were missing (Z29).
    repository = shared.outputs["repositoryArns"]["web"]
    for role in (f"maratron-{kind}-{env}" for kind in ("preview", "deploy") for env in ("dev", "staging", "prod")):
        for document in (effective_policy(shared, role), managed_policy(shared, f"{role}-boundary")):
            for token in tokens:
                for action in INVOKE_ACTIONS[token]:
                    resource = repository if action.startswith("ecr:Describe") else "*"
                    assert allows(document, action, resource, REGION), (role, token, action)


def trusted_services(role: Any) -> list[str]:
    return [p for s in json.loads(role.inputs["assumeRolePolicy"])["Statement"]
            for p in ([s["Principal"]["Service"]] if isinstance(s["Principal"]["Service"], str)
                      else s["Principal"]["Service"])]


def test_roles_are_passed_only_to_the_services_that_trust_them(apps: list[StackRun]) -> None:
    principals = {p for run in apps for role in run.of_type("aws:iam/role:Role") for p in trusted_services(role)}
    assert principals == set(PASSED_TO_SERVICES)


def test_the_preview_role_may_make_the_calls_the_provider_makes_while_planning(
        shared: StackRun, apps: list[StackRun]) -> None:
    """A pull-request preview plans every resource: where the provider calls AWS while planning (a state machine's
    definition is validated), the preview role must allow it, or previews fail once that resource changes."""
    declared = {r.type for run in apps for r in run.resources}
    assert "aws:sfn/stateMachine:StateMachine" in declared
    preview = role_policy(shared, "maratron-preview-prod")
    for type_, actions in PLAN_ACTIONS.items():
        for action in actions if type_ in declared else ():
            assert allows(preview, action, "*", REGION), (type_, action)
    assert not allows(preview, "states:StartExecution", "*", REGION)


def test_the_deploy_role_may_manage_every_named_resource_of_its_stack_and_no_other_stacks(
        shared: StackRun, dev: StackRun, prod: StackRun, dr: StackRun) -> None:
    """prod's deploy role also deploys the DR stack (maratron-dr-*, in the DR region): a disaster recovery runs
    with the roles that exist, and its roles carry prod's boundary."""
    for run, env, other in ((dev, "dev", prod), (prod, "prod", dev), (dr, "prod", dev)):
        policy = role_policy(shared, f"maratron-deploy-{env}")
        region = {"aws:RequestedRegion": run.config["aws:region"]}
        stack_file = f".pulumi/stacks/maratron/{run.stack}.json"
        # The dr stack's state lives in the replica in the DR region (tests/bootstrap/test_dr_state.py), never here.
        bucket = shared.outputs["drStateBucketName" if run.stack == "dr" else "stateBucketName"]
        writer, where = (effective_policy(shared, "maratron-deploy-prod"),
                         {"aws:RequestedRegion": run.config["aws:region"]}) if run.stack == "dr" else (policy, {})
        assert allows(writer, "s3:PutObject", f"arn:aws:s3:::{bucket}/{stack_file}", where), (env, stack_file)
        boundary = shared.outputs["workloadBoundaryArns"][env]
        checks = [("s3:CreateBucket", b.outputs["arn"]) for b in run.of_type("aws:s3/bucket:Bucket")]
        checks += [("secretsmanager:CreateSecret", s.outputs["arn"])
                   for s in run.of_type("aws:secretsmanager/secret:Secret")]
        checks += [("sns:CreateTopic", t.outputs["arn"]) for t in run.of_type("aws:sns/topic:Topic")]
        functions = run.of_type("aws:lambda/function:Function")
        checks += [(action, f.outputs["arn"]) for f in functions
                   for action in ("lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:AddPermission",
                                  "lambda:InvokeFunction")]
        assert checks and functions
        for action, arn in checks:
            assert allows(policy, action, arn, region), (env, action, arn)
        for role in run.of_type("aws:iam/role:Role"):
            arn = role.outputs["arn"]
            assert allows(policy, "iam:CreateRole", arn, {"iam:PermissionsBoundary": boundary}), arn
            assert not allows(policy, "iam:CreateRole", arn, {}), arn  # a role without the boundary: refused
            assert not allows(policy, "iam:CreateRole", arn, {"iam:PermissionsBoundary": "arn:aws:iam::aws:policy/"
                                                                                         "AdministratorAccess"})
            for principal in trusted_services(role):  # the service the role is for may receive it
                assert allows(policy, "iam:PassRole", arn, {"iam:PassedToService": principal}), (arn, principal)
            assert not allows(policy, "iam:PassRole", arn, {"iam:PassedToService": "ec2.amazonaws.com"})
        # The other environment's buckets, secrets and roles are out of reach (single account: names and paths).
        for bucket in other.of_type("aws:s3/bucket:Bucket"):
            assert not allows(policy, "s3:DeleteBucket", bucket.outputs["arn"], REGION)
        for secret in other.of_type("aws:secretsmanager/secret:Secret"):
            assert not allows(policy, "secretsmanager:GetSecretValue", secret.outputs["arn"], REGION)
        for role in other.of_type("aws:iam/role:Role"):
            assert not allows(policy, "iam:PutRolePolicy", role.outputs["arn"], {"iam:PermissionsBoundary": boundary})
        for function in other.of_type("aws:lambda/function:Function"):
            assert not allows(policy, "lambda:InvokeFunction", function.outputs["arn"], REGION)


def test_the_deploy_role_is_region_bound(shared: StackRun) -> None:
    policy = role_policy(shared, "maratron-deploy-prod")
    assert allows(policy, "ec2:CreateVpc", "*", REGION)
    assert not allows(policy, "ec2:CreateVpc", "*", {"aws:RequestedRegion": "eu-west-1"})


DENIED = [
    ("iam:DeleteRolePermissionsBoundary", "arn:aws:iam::123456789012:role/maratron/prod/web-task-abc", {}),
    ("iam:PutRolePolicy", "arn:aws:iam::123456789012:role/maratron/ci/maratron-deploy-prod",
     {"iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/maratron/maratron-prod-workload-boundary"}),
    ("iam:CreatePolicyVersion", "arn:aws:iam::123456789012:policy/maratron/maratron-prod-workload-boundary", {}),
    ("iam:CreateUser", "arn:aws:iam::123456789012:user/backdoor", {}),
    ("iam:CreateAccessKey", "arn:aws:iam::123456789012:user/someone", {}),
    ("organizations:LeaveOrganization", "*", {}),
    ("cloudtrail:StopLogging", "arn:aws:cloudtrail:us-east-1:123456789012:trail/org", REGION),
    ("ecr:DeleteRepository", "arn:aws:ecr:us-east-1:123456789012:repository/maratron/web", REGION),
    ("ecr:BatchDeleteImage", "arn:aws:ecr:us-east-1:123456789012:repository/maratron/web", REGION),
    ("ecr:PutLifecyclePolicy", "arn:aws:ecr:us-east-1:123456789012:repository/maratron/web", REGION),
    ("ecr:InitiateLayerUpload", "arn:aws:ecr:us-east-1:123456789012:repository/maratron/web", REGION),
]


@pytest.mark.parametrize(("action", "resource", "context"), DENIED, ids=[d[0] for d in DENIED])
def test_the_deploy_role_never_may(shared: StackRun, action: str, resource: str, context: dict[str, str]) -> None:
    policy = role_policy(shared, "maratron-deploy-prod")
    boundary = managed_policy(shared, "maratron-deploy-prod-boundary")
    assert not allows(policy, action, resource, context)
    assert not allows(boundary, action, resource, context)  # even if someone attached more


def test_the_deploy_role_uses_but_never_manages_the_foundation_keys(shared: StackRun) -> None:
    policy = role_policy(shared, "maratron-deploy-prod")
    state_key = shared.outputs["stateKeyArn"]
    for action in ("kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:DisableKey", "kms:CreateGrant"):
        assert not allows(policy, action, state_key, REGION), action
    assert allows(policy, "kms:Decrypt", state_key, {**REGION, "kms:ViaService": "s3.us-east-1.amazonaws.com"})
    assert allows(policy, "kms:CreateKey", "*", REGION)  # the app stack's own keys
    # ... the foundation secrets key's multi-Region replica too, by policy and boundary (Z35 left it manageable).
    replica = shared.one("aws:kms/replicaKey:ReplicaKey", "bootstrap-secrets-replica").outputs["arn"]
    west = {"aws:RequestedRegion": replica.split(":")[3]}
    for document in (effective_policy(shared, "maratron-deploy-prod"),
                     managed_policy(shared, "maratron-deploy-prod-boundary")):
        for action in ("kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:DisableKey"):
            assert not allows(document, action, replica, west), action


def test_state_access_is_per_stack(shared: StackRun) -> None:
    bucket = f"arn:aws:s3:::{shared.outputs['stateBucketName']}"
    deploy, preview = role_policy(shared, "maratron-deploy-dev"), role_policy(shared, "maratron-preview-prod")
    own, other = f"{bucket}/.pulumi/stacks/maratron/dev.json", f"{bucket}/.pulumi/stacks/maratron/prod.json"
    foundation = f"{bucket}/.pulumi/stacks/maratron-bootstrap/shared.json"
    # The DIY backend's lock is keyed by the stack's fully qualified name (pulumi pkg/backend/diy/lock.go lockPath):
    # a deploy that cannot write it fails before it changes anything.
    lock = f"{bucket}/.pulumi/locks/organization/maratron/dev/8f1c2a.json"
    assert allows(deploy, "s3:PutObject", own) and allows(deploy, "s3:PutObject", lock)
    assert allows(deploy, "s3:DeleteObject", lock)
    assert not allows(deploy, "s3:PutObject", lock.replace("/dev/", "/prod/"))
    assert allows(deploy, "s3:GetObject", foundation) and not allows(deploy, "s3:PutObject", foundation)
    assert not allows(deploy, "s3:PutObject", other) and not allows(deploy, "s3:GetObject", other)
    assert allows(preview, "s3:GetObject", other) and allows(preview, "s3:GetObject", foundation)
    assert not allows(preview, "s3:PutObject", other)  # a preview takes no lock and writes nothing
    assert not allows(preview, "s3:GetObject", own)


def test_previews_and_deploys_may_decrypt_the_foundations_secrets(shared: StackRun) -> None:
    """Every app stack reads the bootstrap stack with a StackReference, which builds that stack's secrets manager
    (decrypting its data key) before it reads an output (pulumi/pulumi#11109)."""
    key = shared.one("aws:kms/key:Key", "bootstrap-secrets").outputs["arn"]
    assert shared.outputs["bootstrapSecretsKeyArn"] == key
    for env in ("dev", "staging", "prod"):
        for kind in ("preview", "deploy"):
            assert allows(role_policy(shared, f"maratron-{kind}-{env}"), "kms:Decrypt", key, REGION), (kind, env)
    # ... and through its replica, where a DR stack reads the foundation with us-east-1 down (the DR runbook points
    # the foundation checkpoint there): by policy and within the boundary, for prod's roles (prod has the DR stack).
    replica = shared.one("aws:kms/replicaKey:ReplicaKey", "bootstrap-secrets-replica").outputs["arn"]
    west = {"aws:RequestedRegion": replica.split(":")[3]}
    for kind in ("preview", "deploy"):
        role = f"maratron-{kind}-prod"
        for document in (effective_policy(shared, role), managed_policy(shared, f"{role}-boundary")):
            assert allows(document, "kms:Decrypt", replica, west), role


def test_the_deploy_role_may_create_the_private_reader_zone_and_its_health_checks(
        shared: StackRun, apps: list[StackRun]) -> None:
    """CreateHostedZone and CreateHealthCheck act on what does not exist yet: no hostedzone/<id> or
    healthcheck/<id> ARN can match them; the checks are then managed by their ARNs (Service Authorization
    Reference, Amazon Route 53: GetHealthCheck, UpdateHealthCheck, DeleteHealthCheck, ChangeTagsForResource)."""
    assert all(run.of_type("aws:route53/zone:Zone") for run in apps)
    checks = [c.outputs["arn"] for run in apps for c in run.of_type("aws:route53/healthCheck:HealthCheck")]
    assert checks
    for env in ("dev", "staging", "prod"):
        policy = role_policy(shared, f"maratron-deploy-{env}")
        for action in ("route53:CreateHostedZone", "route53:CreateHealthCheck"):
            assert allows(policy, action, "*", REGION), (env, action)
            assert not allows(role_policy(shared, f"maratron-preview-{env}"), action, "*", REGION), (env, action)
        for arn in checks:
            for action in ("route53:GetHealthCheck", "route53:UpdateHealthCheck", "route53:DeleteHealthCheck",
                           "route53:ChangeTagsForResource", "route53:ListTagsForResource"):
                assert allows(policy, action, arn, REGION), (env, action, arn)


def test_the_preview_role_reads_nothing_but_state_images_and_its_secrets_key(shared: StackRun, prod: StackRun) -> None:
    policy = role_policy(shared, "maratron-preview-prod")
    assert allows(policy, "ecr:DescribeImages", shared.outputs["repositoryArns"]["web"])
    assert not allows(policy, "ecr:PutImage", shared.outputs["repositoryArns"]["web"])
    assert allows(policy, "kms:Decrypt", shared.one("aws:kms/key:Key", "prod-secrets").outputs["arn"])
    assert not allows(policy, "kms:Decrypt", shared.one("aws:kms/key:Key", "dev-secrets").outputs["arn"])
    for bucket in prod.of_type("aws:s3/bucket:Bucket"):
        assert not allows(policy, "s3:GetObject", f"{bucket.outputs['arn']}/postgresql/x.dump.gz")
    for secret in prod.of_type("aws:secretsmanager/secret:Secret"):
        assert not allows(policy, "secretsmanager:GetSecretValue", secret.outputs["arn"])
    for action in ("ec2:CreateVpc", "rds:DeleteDBInstance", "iam:PassRole", "ecs:RunTask"):
        assert not allows(policy, action, "*", REGION), action


# AWS managed policy service-role/AmazonRDSEnhancedMonitoringRole (what the monitoring role attaches).
_RDS_LOGS = "arn:aws:logs:us-east-1:123456789012:log-group:RDSOSMetrics"
RDS_ENHANCED_MONITORING = [("logs:CreateLogGroup", _RDS_LOGS), ("logs:PutRetentionPolicy", _RDS_LOGS),
                           *((action, f"{_RDS_LOGS}:log-stream:db-x") for action in (
                               "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
                               "logs:GetLogEvents"))]
"""What RDS calls with the AWS managed AmazonRDSEnhancedMonitoringRole policy (written for `RDS*` log groups in any
account): requests on this account's RDSOSMetrics group and its per-instance streams."""


def test_every_app_role_stays_inside_the_workload_boundary(shared: StackRun, apps: list[StackRun]) -> None:
    """The boundary takes nothing away: every statement of every app role (and the managed policy it attaches) is
    allowed by the environment's workload boundary, so the app keeps working once the boundary is set."""
    for run in apps:
        env = run.outputs["environment"]
        boundary = managed_policy(shared, f"maratron-{env}-workload-boundary")
        for role in run.of_type("aws:iam/role:Role"):
            requests: list[tuple[str, str]] = []
            for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
                if policy.parent != role.urn:
                    continue
                for statement in json.loads(policy.plain("policy"))["Statement"]:
                    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [
                        statement["Resource"]]
                    condition = statement.get("Condition", {}).get("StringEquals", {})
                    requests += [(a, r.replace("*", "x"), {"cloudwatch:namespace": condition["cloudwatch:namespace"]}
                                  if a == "cloudwatch:PutMetricData" else {})
                                 for a in statement["Action"] for r in resources]
            if any(a.parent == role.urn for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")):
                requests += [(action, resource, {}) for action, resource in RDS_ENHANCED_MONITORING]
            for action, resource, context in requests:
                if action.startswith("aps:"):
                    context = {"aws:ResourceTag/environment": env}
                if action == "iam:PassRole":  # the boundary lets a role be passed only to the service it trusts
                    passed = next(r for r in run.of_type("aws:iam/role:Role") if r.outputs["arn"] == resource)
                    context = {"iam:PassedToService": trusted_services(passed)[0]}
                    assert not allows(boundary, action, resource, {"iam:PassedToService": "ec2.amazonaws.com"})
                assert allows(boundary, action.replace("*", "Object"), resource, context), (
                    env, role.name, action, resource)
        # No stack file turns ECS Exec on (FargateTaskArgs.enable_execute_command), so no role above carries its
        # statement: the boundary must still let a task role that does use it.
        assert all(allows(boundary, action, "*") for action in ECS_EXEC_ACTIONS), env


def test_the_deploy_role_can_run_the_release_gate(shared: StackRun) -> None:
    """CI runs the full ops.verify with the deploy role (pulumi-up.yml): its amp.* checks query the environment's
    workspace (not another environment's) and dr.images reads the registry's settings; the images workflow looks its
    repository up with the infra-ci role."""
    workspace = "arn:aws:aps:us-east-1:123456789012:workspace/ws-abc"
    for env in ("staging", "prod"):
        deploy = role_policy(shared, f"maratron-deploy-{env}")
        assert allows(deploy, "aps:QueryMetrics", workspace, {"aws:ResourceTag/environment": env})
        assert not allows(deploy, "aps:QueryMetrics", workspace, {"aws:ResourceTag/environment": "dev"})
        assert allows(deploy, "ecr:DescribeRegistry", "*", {"aws:RequestedRegion": "us-east-1"})
    infra = role_policy(shared, "maratron-infra-ci")
    backup = next(arn for arn in shared.outputs["repositoryArns"].values() if arn.endswith("/maratron/backup"))
    assert allows(infra, "ecr:DescribeRepositories", backup)


def test_the_workload_boundary_reads_only_its_own_stacks_secrets(shared: StackRun) -> None:
    """Single-account layout: a dev role given prod's master secret (the dev deploy role may write a dev role's
    policy) is still refused by dev's boundary; prod's boundary admits prod's and its DR stack's secrets."""
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:maratron-{}/database/master-AbCdEf"
    dev, prod = (managed_policy(shared, f"maratron-{env}-workload-boundary") for env in ("dev", "prod"))
    for action in ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"):
        assert allows(dev, action, secret.format("dev"))
        assert not allows(dev, action, secret.format("prod")) and not allows(dev, action, secret.format("staging"))
        assert allows(prod, action, secret.format("prod")) and allows(prod, action, secret.format("dr"))
        assert not allows(prod, action, secret.format("dev"))


def test_the_workload_boundary_puts_metrics_only_in_its_own_stacks_namespaces(shared: StackRun) -> None:
    """PutMetricData's one scope is the namespace: a dev role (whatever policy the dev deploy role writes for it)
    cannot publish prod's backup or drill metrics and keep prod's missing-backup alarm quiet; prod's boundary admits
    prod's and its DR stack's namespaces, and no shared or AWS/ one."""
    dev, prod = (managed_policy(shared, f"maratron-{env}-workload-boundary") for env in ("dev", "prod"))

    def put(boundary: dict[str, Any], namespace: str) -> bool:
        return allows(boundary, "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": namespace})

    assert put(dev, "maratron-dev/backup") and put(dev, "maratron-dev/restore-drill")
    assert not put(dev, "maratron-prod/backup") and not put(dev, "maratron-staging/restore-drill")
    assert put(prod, "maratron-prod/backup") and put(prod, "maratron-dr/restore-drill")
    assert not any(put(policy, namespace) for policy in (dev, prod)
                   for namespace in ("AWS/RDS", "maratron-devx/backup", "Maratron/Other"))
    # For one release the shared namespace of old stays open: a stack not yet released still publishes there.
    assert put(dev, LEGACY_METRIC_NAMESPACE) and put(prod, LEGACY_METRIC_NAMESPACE)
    assert not allows(dev, "cloudwatch:PutMetricData", "*")  # no namespace, no metric


def test_a_deploy_role_cannot_retag_or_delete_another_environments_metrics_workspace(shared: StackRun) -> None:
    """`aps` is granted on "*" (ids at creation); the environment tag is what the boundaries and the gate trust. dev's
    deploy role (by policy and within its boundary) manages a workspace tagged dev, creates and lists workspaces, and
    may not tag, untag, update or delete one tagged prod (which would move prod's metrics into dev's tag scope)."""
    workspace = "arn:aws:aps:us-east-1:123456789012:workspace/ws-abc"
    namespace = "arn:aws:aps:us-east-1:123456789012:rulegroupsnamespace/ws-abc/alerts"

    def tagged(env: str) -> dict[str, str]:
        return {**REGION, "aws:ResourceTag/environment": env}

    for env, other in (("dev", "prod"), ("prod", "staging")):
        role = f"maratron-deploy-{env}"
        policy, boundary = role_policy(shared, role), managed_policy(shared, f"{role}-boundary")
        for action in ("aps:TagResource", "aps:UntagResource", "aps:DeleteWorkspace", "aps:UpdateWorkspaceAlias"):
            assert allows(policy, action, workspace, tagged(env)) and allows(boundary, action, workspace, tagged(env))
            assert not allows(boundary, action, workspace, tagged(other)), (env, action)
        assert not allows(boundary, "aps:DeleteRuleGroupsNamespace", namespace, tagged(other))
        for action in ("aps:CreateWorkspace", "aps:ListWorkspaces"):  # no resource tag yet: not denied
            assert allows(policy, action, "*", REGION) and allows(boundary, action, "*", REGION), action
        # Nor may it tag its own (or a new) workspace into another environment's scope.
        for action, resource in (("aps:TagResource", workspace), ("aps:CreateWorkspace", "*")):
            own = {**tagged(env), "aws:RequestTag/environment": env}
            assert allows(boundary, action, resource, own), (env, action)
            assert not allows(boundary, action, resource, {**tagged(env), "aws:RequestTag/environment": other})


def test_the_workload_boundary_reaches_only_its_own_stacks_log_groups(shared: StackRun) -> None:
    """A dev role can neither read prod's log events nor change its log groups; RDS's own RDSOSMetrics stays open."""
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/maratron-{}/ecs/web"
    dev = managed_policy(shared, "maratron-dev-workload-boundary")
    for action in ("logs:GetLogEvents", "logs:PutRetentionPolicy", "logs:PutLogEvents"):
        resource = group if action == "logs:PutRetentionPolicy" else group + ":log-stream:web/web/abc"
        assert allows(dev, action, resource.format("dev"))
        assert not allows(dev, action, resource.format("prod"))
    assert allows(dev, "logs:GetLogEvents", f"{_RDS_LOGS}:log-stream:db-x")
    assert allows(dev, "logs:DescribeLogGroups", "*")


WEST = {"aws:RequestedRegion": "us-west-2"}


def test_deploys_reach_the_dr_region_only_for_environments_with_dr_and_cloudfront_globally(
        shared: StackRun, dev: StackRun, prod: StackRun) -> None:
    """prod keeps a DR copy in us-west-2 (bootstrap drEnvironments) and is restored there (Pulumi.dr.yaml): its
    deploys create the DR key, replica buckets, replicated RDS backups there; dev's may not. CloudFront is global."""
    prod_policy, dev_policy = role_policy(shared, "maratron-deploy-prod"), role_policy(shared, "maratron-deploy-dev")
    replicas = [b.outputs["arn"] for b in prod.of_type("aws:s3/bucket:Bucket") if b.inputs.get("region") == "us-west-2"]
    assert replicas
    for arn in replicas:
        assert allows(prod_policy, "s3:CreateBucket", arn, WEST)
    assert allows(prod_policy, "kms:CreateKey", "*", WEST)
    assert allows(prod_policy, "rds:StartDBInstanceAutomatedBackupsReplication", "*", WEST)
    assert allows(prod_policy, "secretsmanager:CreateSecret",
                  "arn:aws:secretsmanager:us-west-2:123456789012:secret:maratron-prod/app/X-abcdef", WEST)
    assert allows(prod_policy, "ecr:DescribeImages", "arn:aws:ecr:us-west-2:123456789012:repository/maratron/web", WEST)
    for env in ("dev", "staging", "prod"):  # ops.verify reads the running images' scan findings (ecr.scan-findings)
        assert allows(role_policy(shared, f"maratron-deploy-{env}"), "ecr:DescribeImageScanFindings",
                      shared.outputs["repositoryArns"]["web"], REGION), env
    assert not allows(dev_policy, "kms:CreateKey", "*", WEST)
    # Name-scoped ARNs carry region * (IAM's size limit): the region condition alone keeps a third region out.
    assert not allows(prod_policy, "secretsmanager:CreateSecret",
                      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:maratron-prod/app/X-abcdef",
                      {"aws:RequestedRegion": "eu-west-1"})
    assert not allows(prod_policy, "kms:CreateKey", "*", {"aws:RequestedRegion": "eu-west-1"})
    assert allows(prod_policy, "cloudfront:CreateDistribution", "*", {})


def test_the_registry_replicates_to_the_dr_region_when_one_is_set(shared: StackRun) -> None:
    (replication,) = shared.of_type("aws:ecr/replicationConfiguration:ReplicationConfiguration")
    (rule,) = replication.inputs["replicationConfiguration"]["rules"]
    assert rule["destinations"] == [{"region": "us-west-2", "registryId": shared.outputs["registryId"]}]
    assert rule["repositoryFilters"] == [{"filter": "maratron/", "filterType": "PREFIX_MATCH"}]
    (template,) = shared.of_type("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    assert template.inputs["region"] == "us-west-2" and template.inputs["imageTagMutability"] == "IMMUTABLE"
    assert shared.outputs["replicaRegions"] == ["us-west-2"]
    off = run_bootstrap("shared", {"maratron-bootstrap:drRegion": "none"})
    assert not off.of_type("aws:ecr/replicationConfiguration:ReplicationConfiguration")
    assert off.outputs["replicaRegions"] == []


# IAM and STS quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): "Role policy
# size cannot exceed 10,240 characters" (all inline policies of a role together) and "Managed policy size cannot
# exceed 6,144 characters"; whitespace does not count; "Managed policies attached to an IAM role": 10 by default.
ROLE_INLINE_POLICIES_LIMIT, MANAGED_POLICY_LIMIT, MANAGED_POLICIES_PER_ROLE = 10_240, 6_144, 10


def policy_size(policy: str) -> int:
    return len("".join(policy.split()))


@pytest.mark.parametrize("region", ["us-east-1", "ap-southeast-2"])  # Sydney: longer names, and a paired DR region
@pytest.mark.parametrize("push", [False, True])  # deployPushesBackupImage: the push grant, and a wider deny
def test_every_ci_role_and_boundary_fits_iams_policy_size_limits(region: str, push: bool) -> None:
    run = run_bootstrap("shared", {"aws:region": region, **({f"{NS}:deployPushesBackupImage": "true"} if push else {})})
    assert run.ok, run.error_details
    inline: dict[str, int] = {}
    for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        inline[policy.parent] = inline.get(policy.parent, 0) + policy_size(policy.plain("policy"))
    deploys = [r for r in run.of_type("aws:iam/role:Role") if str(r.inputs.get("name")).startswith("maratron-deploy-")]
    assert len(deploys) == 3 and all(inline.get(r.urn, 0) > 0 for r in deploys), inline
    assert max(inline.values()) <= ROLE_INLINE_POLICIES_LIMIT, inline
    managed = {p.name: policy_size(p.plain("policy")) for p in run.of_type("aws:iam/policy:Policy")}
    assert max(managed.values()) <= MANAGED_POLICY_LIMIT, managed
    attached = run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    # push: one per deploy role; prod's DR-backend grant (deploy_dr_statements) in one of its own either way
    assert len(attached) == (len(deploys) if push else 0) + 1
    assert max(Counter(a.plain("role") for a in attached).values(), default=0) <= MANAGED_POLICIES_PER_ROLE


def test_a_deploy_role_pushes_exactly_the_backup_repository_through_its_attached_policy() -> None:
    """deployPushesBackupImage: each deploy role gets the push grant as a managed policy of its own (attached to it,
    the role's inline policy unchanged but for the deny's exception); with its inline policy (denies included) and
    within its boundary it may push to the backup repository and no other."""
    run = run_bootstrap("shared", {f"{NS}:deployPushesBackupImage": "true"})
    assert run.ok, run.error_details
    repositories = run.outputs["repositoryArns"]
    for env in ("dev", "staging", "prod"):
        name = f"maratron-deploy-{env}"
        role = next(r for r in run.of_type("aws:iam/role:Role") if r.inputs.get("name") == name)
        push = next(p for p in run.of_type("aws:iam/policy:Policy") if p.inputs["name"] == f"{name}-push")
        (attachment,) = [a for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                         if a.plain("role") == name and a.name.endswith("-push")]
        assert attachment.plain("policyArn") == push.outputs["arn"]
        assert attachment.parent == push.parent == role.parent  # the CiRole component
        inline = role_policy(run, name)
        policy = {"Statement": inline["Statement"] + json.loads(push.plain("policy"))["Statement"]}
        boundary = managed_policy(run, f"{name}-boundary")
        # Only what a push from `pulumi up` calls: not the images workflow's URI look-up, which DenyRegistryChanges
        # would refuse anyway (a grant that cannot take effect would only mislead the permissions page).
        assert not allows(push.plain("policy"), "ecr:DescribeRepositories", repositories["backup"])
        for action in DOCKER_PUSH_ACTIONS:
            assert allows(push.plain("policy"), action, repositories["backup"])
            assert allows(policy, action, repositories["backup"]) and allows(boundary, action, repositories["backup"])
            for service in ("web", "ai"):  # the attached policy adds nothing there (tagging needs PutImage)
                assert not allows(push.plain("policy"), action, repositories[service])
                assert allows(policy, action, repositories[service]) == allows(inline, action, repositories[service])
        for action in ("ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"):
            assert not allows(inline, action, repositories["backup"])  # only through the attached policy
            assert not any(allows(policy, action, repositories[service]) for service in ("web", "ai"))
        assert allows(policy, "ecr:GetAuthorizationToken", "*")
        assert not allows(policy, "ecr:DeleteRepository", repositories["backup"])
        assert not allows(policy, "ecr:SetRepositoryPolicy", repositories["backup"])


def test_the_deploy_role_may_read_and_delete_the_alert_subscriptions(shared: StackRun) -> None:
    """The provider reads an e-mail subscription (GetSubscriptionAttributes) after Subscribe and on every refresh,
    and deletes it with Unsubscribe: the Service Authorization Reference lists no resource type for these, so a grant
    on the topic's ARN pattern never matches them (found on review: the alert subscriptions' create would fail)."""
    for env in ("dev", "staging", "prod"):
        policy = effective_policy(shared, f"maratron-deploy-{env}")
        boundary = managed_policy(shared, f"maratron-deploy-{env}-boundary")
        for document in (policy, boundary):
            for action in ("sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"):
                assert allows(document, action, "*", REGION), (env, action)
        assert allows(policy, "sns:Subscribe", f"arn:aws:sns:us-east-1:123456789012:maratron-{env}-alerts", REGION)


def test_a_deploy_role_cannot_use_another_environments_secrets_key(shared: StackRun) -> None:
    """In one account the deploy role's kms:* (its stack's own keys) reached every environment's stack-secrets key,
    and the foundation-key deny exempts Decrypt: a stolen dev deploy session could unwrap prod's data key, and with it
    every `secure:` value in Pulumi.prod.yaml (red-team review). The boundary denies the other environments' keys."""
    keys = {env: shared.one("aws:kms/key:Key", f"{env}-secrets").outputs["arn"] for env in ("dev", "staging", "prod")}
    dr_key = shared.one("aws:kms/key:Key", "dr-secrets").outputs["arn"]
    for env in ("dev", "staging", "prod"):
        role = f"maratron-deploy-{env}"
        policy, boundary = effective_policy(shared, role), managed_policy(shared, f"{role}-boundary")

        def may(action: str, key: str, region: dict[str, str] = REGION, policy: Any = policy,
                boundary: Any = boundary) -> bool:
            return allows(policy, action, key, region) and allows(boundary, action, key, region)

        assert may("kms:Decrypt", keys[env]), env  # its own
        for other, key in keys.items():
            if other != env:
                assert not may("kms:Decrypt", key), (env, other)
        west = {"aws:RequestedRegion": dr_key.split(":")[3]}
        assert may("kms:Decrypt", dr_key, west) == (env == "prod"), env  # prod's deploys run the dr stack


def _release_and_verify_calls(run: StackRun, env: str) -> list[tuple[str, str, dict[str, str]]]:
    """Every AWS call the deploy role makes after `pulumi up` (ops/release.sh, .github/workflows/pulumi-up.yml):
    ops.run_task (the migration), the bootstrap invoke, ops.tag_deployed_images, ops.settled and ops.verify's
    checks, as (IAM action, resource, request context), built from the stack's own outputs."""
    o, account = run.outputs, "123456789012"
    region = o["region"]
    here, edge = {"aws:RequestedRegion": region}, {"aws:RequestedRegion": "us-east-1"}
    stack = run.stack
    task = f"arn:aws:ecs:{region}:{account}:task/maratron-{stack}/abc"
    calls = [("ecs:ListTasks", "*", here), ("ecs:DescribeTasks", task, here), ("ecs:StopTask", task, here),
             ("ecs:RunTask", f"arn:aws:ecs:{region}:{account}:task-definition/maratron-{stack}-migrate:7", here),
             ("lambda:InvokeFunction", f"arn:aws:lambda:{region}:{account}:function:{o['dbAdminFunctionName']}", here),
             ("rds:DescribeDBInstances", f"arn:aws:rds:{region}:{account}:db:maratron-{stack}-db", here),
             ("ecr:DescribeRegistry", "*", here), ("elasticloadbalancing:DescribeListeners", "*", here),
             ("elasticloadbalancing:DescribeRules", "*", here),
             ("elasticloadbalancing:DescribeTargetHealth", o["targetGroupArn"], here),
             ("wafv2:GetWebACLForResource", o["albArn"], here),
             ("elasticache:DescribeReplicationGroups",
              f"arn:aws:elasticache:{region}:{account}:replicationgroup:{o['redisReplicationGroupId']}", here),
             ("elasticache:DescribeUsers", f"arn:aws:elasticache:{region}:{account}:user:{o['redisAppUserId']}", here),
             ("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{region}:{account}:alarm:x", here),
             ("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:us-east-1:{account}:alarm:x", edge),
             ("cloudwatch:GetMetricStatistics", "*", here)]
    migrate = run.one("aws:ecs/taskDefinition:TaskDefinition", "migrate")
    calls += [("iam:PassRole", migrate.plain(key), {**here, "iam:PassedToService": "ecs-tasks.amazonaws.com"})
              for key in ("taskRoleArn", "executionRoleArn")]
    for key in ("webImage", "aiImage", "backupImage"):
        host, path = o[key].split("/", 1)
        repository = f"arn:aws:ecr:{host.split('.')[3]}:{host.split('.')[0]}:repository/{path.split('@')[0]}"
        calls += [(action, repository, {"aws:RequestedRegion": host.split(".")[3]}) for action in (
            "ecr:DescribeImages", "ecr:BatchGetImage", "ecr:PutImage", "ecr:DescribeImageScanFindings")]
    for key in ("backupsBucketName", "walBucketName"):
        calls += [(action, f"arn:aws:s3:::{o[key]}", here) for action in (
            "s3:GetEncryptionConfiguration", "s3:GetBucketVersioning", "s3:GetBucketPublicAccessBlock",
            "s3:GetReplicationConfiguration", "s3:ListBucket")]
    if o["drRegion"]:
        west = {"aws:RequestedRegion": o["drRegion"]}
        calls += [(action, f"arn:aws:s3:::{o[key]}", west) for key in ("drBackupsBucketName", "drArchiveBucketName")
                  for action in ("s3:GetEncryptionConfiguration", "s3:GetBucketObjectLockConfiguration")]
        if o["drDatabaseBackupsArn"]:
            calls.append(("rds:DescribeDBInstanceAutomatedBackups", o["drDatabaseBackupsArn"], west))
        calls.append(("scheduler:GetSchedule",
                      f"arn:aws:scheduler:{region}:{account}:schedule/default/{o['restoreDrillScheduleName']}", here))
    if o["ampWorkspaceId"]:
        workspace = f"arn:aws:aps:{region}:{account}:workspace/{o['ampWorkspaceId']}"
        calls += [(action, workspace, {**here, "aws:ResourceTag/environment": env}) for action in (
            "aps:DescribeWorkspace", "aps:ListRuleGroupsNamespaces", "aps:DescribeAlertManagerDefinition",
            "aps:QueryMetrics")]
    return calls


def test_the_deploy_role_may_make_every_call_of_the_release_and_its_gate(shared: StackRun, apps: list[StackRun]
                                                                         ) -> None:
    """What the role really calls after `pulumi up`, by its policy (denies included) and within its boundary, for
    every app stack: the migration, the bootstrap invoke, the image tags and every ops.verify check (today they
    pass through wide grants such as ecs:* and rds:*; narrowing one must fail here, not in a release)."""
    for run in apps[:4]:  # dev, staging, prod, dr (dr is deployed with prod's role)
        env = run.outputs["environment"]
        role = f"maratron-deploy-{env}"
        policy, boundary = effective_policy(shared, role), managed_policy(shared, f"{role}-boundary")
        calls = _release_and_verify_calls(run, env)
        refused = [(action, resource) for action, resource, context in calls
                   if not (allows(policy, action, resource, context) and allows(boundary, action, resource, context))]
        assert len(calls) > 30 and refused == [], (run.stack, refused)


def test_with_enhanced_scanning_the_deploy_role_may_read_inspectors_findings(shared: StackRun) -> None:
    """The gate's ecr.scan-findings reads Inspector's findings when scanning is enhanced (the ECR guide grants
    inspector2:ListFindings "to ... retrieve the scan findings"): by an attached policy of its own and within the
    boundary, in the stack's region only; with the default basic scanning, not at all."""
    enhanced = run_bootstrap("shared", {f"{NS}:imageScanning": "enhanced"})
    assert enhanced.ok, enhanced.error_details
    for run, granted in ((enhanced, True), (shared, False)):
        for env in ("dev", "prod"):
            role = f"maratron-deploy-{env}"
            policy, boundary = effective_policy(run, role), managed_policy(run, f"{role}-boundary")
            for document in (policy, boundary):
                assert allows(document, "inspector2:ListFindings", "*", REGION) == granted, (env, granted)
            assert not allows(policy, "inspector2:ListFindings", "*", {"aws:RequestedRegion": "eu-west-1"})
            assert not allows(policy, "inspector2:Disable", "*", REGION)
