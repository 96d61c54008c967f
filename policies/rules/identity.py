"""Identity and delivery rules: who may assume the CI roles, and what the foundation's repositories and the app's roles
must look like.

The GitHub OIDC rules enforce on every role what components/github_oidc.py builds: a trust that names exactly one
repository and one GitHub environment, by StringEquals on both `aud` and `sub`. A wildcard subject, a StringLike
match or a set operator (`ForAllValues:` "also returns true if there are no context keys in the request", IAM user
guide) would let another repository, a branch or a pull request assume the role.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import (
    SHARED,
    Rule,
    as_list,
    config_value,
    environment,
    of_type,
    project_of,
    resource_rule,
    stack_rule,
    statements,
)
from ._controls import DELETE, MISSING, CoversAction, Guard, Patch, To, When, action_matches
from .containers import SOURCE_REPOSITORY

ROLE = "aws:iam/role:Role"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
REPOSITORY = "aws:ecr/repository:Repository"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
CREATION_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
REGISTRY_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
CREATES_ROLES = When("policy<json>.Statement[*].Action[*]", CoversAction("iam:CreateRole"))
"""The CI deploy role's policy and its permissions boundary: the documents that let a principal create roles (by name
or a wildcard: iam:*, iam:Create*, *; any case)."""
GITHUB_TRUST = When("assumeRolePolicy<json>.Statement[*].Principal.Federated")
"""The foundation's CI roles (a GitHub OIDC trust); the app stack's roles trust services only."""
EXPIRE_BY_COUNT = {"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                    "countNumber": 30}, "action": {"type": "expire"}}
HOST: str = SHARED["githubOidcHost"]
AUDIENCE: str = SHARED["githubOidcAudience"]
DEPLOYED_PREFIX: str = SHARED["deployedTagPrefix"]
ROLE_PATH_PREFIX: str = SHARED["rolePathPrefix"]
PROJECT: str = SHARED["project"]
SUBJECT = re.compile(r"^repo:(?P<owner>[A-Za-z0-9-]+)(@\d+)?/(?P<repo>[A-Za-z0-9._-]+)(@\d+)?"
                     r":environment:(?P<environment>[A-Za-z0-9_.-]+)$")
"""The only subject shape allowed: one repository (name or immutable owner@id/repo@id form) and one environment."""
NARROWING_KEYS = ("aws:PrincipalArn", "aws:PrincipalOrgID", "aws:PrincipalAccount", "sts:ExternalId")


def _federated(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    return [str(p) for p in as_list(principal.get("Federated"))] if isinstance(principal, dict) else []


def _trust(args: ResourceValidationArgs) -> list[dict[str, Any]]:
    return [s for s in statements(args.props.get("assumeRolePolicy")) if s.get("Effect") == "Allow"]


def _github_trust(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = {str(r) for r in as_list(config_value(args, "allowedRepositories", []))}
    for statement in _trust(args):
        if not any(HOST in p for p in _federated(statement)):
            continue
        problems = []
        if as_list(statement.get("Action")) != ["sts:AssumeRoleWithWebIdentity"]:
            problems.append(f"Action is {statement.get('Action')!r}, not exactly sts:AssumeRoleWithWebIdentity")
        conditions = statement.get("Condition") or {}
        for operator, block in conditions.items():
            keys = [k for k in (block or {}) if str(k).startswith(f"{HOST}:")]
            if keys and operator != "StringEquals":
                problems.append(f"{operator} on {keys}: only StringEquals pins a repository and an environment")
        exact = conditions.get("StringEquals") or {}
        audiences = as_list(exact.get(f"{HOST}:aud"))
        if audiences != [AUDIENCE]:
            problems.append(f"StringEquals {HOST}:aud is {audiences or 'missing'}, must be [{AUDIENCE}]")
        subjects = [str(s) for s in as_list(exact.get(f"{HOST}:sub"))]
        if not subjects:
            problems.append(f"no StringEquals {HOST}:sub: any repository could assume the role")
        for subject in subjects:
            match = SUBJECT.match(subject)
            if match is None:
                problems.append(f"subject {subject!r} does not name exactly one repository and one environment "
                                "(repo:OWNER/REPO:environment:NAME; no wildcards, branches or pull requests)")
            elif allowed and f"{match['owner']}/{match['repo']}" not in allowed:
                problems.append(f"subject {subject!r}: repository {match['owner']}/{match['repo']} is not in "
                                f"allowedRepositories {sorted(allowed)}")
        if problems:
            report("GitHub OIDC trust: " + "; ".join(problems), None)


def _assumable_by_anyone(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for statement in _trust(args):
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        keys = {str(k) for block in (statement.get("Condition") or {}).values() for k in (block or {})}
        if "*" in [str(p) for p in as_list(aws)] and not keys & set(NARROWING_KEYS):
            report(f"trust statement {statement.get('Sid', '')!r} lets any AWS principal assume the role", None)
        if _federated(statement) and not statement.get("Condition"):
            report(f"trust statement {statement.get('Sid', '')!r} lets every identity of {_federated(statement)} "
                   "assume the role (no condition)", None)


def _provider_audience(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if HOST not in str(args.props.get("url") or ""):
        return
    clients = [str(c) for c in as_list(args.props.get("clientIdLists"))]
    if clients != [AUDIENCE]:
        report(f"GitHub OIDC provider client ids {clients}: exactly [{AUDIENCE}] (the audience "
               "configure-aws-credentials requests)", None)


def _repository_hardened(args: ResourceValidationArgs, report: ReportViolation) -> None:
    problems = []
    if args.props.get("imageTagMutability") != "IMMUTABLE":
        problems.append(f"imageTagMutability {args.props.get('imageTagMutability')!r} (IMMUTABLE: CKV_AWS_51)")
    if not (args.props.get("imageScanningConfiguration") or {}).get("scanOnPush"):
        problems.append("no scan on push (CKV_AWS_163)")
    if SOURCE_REPOSITORY.holds(args.props) and not any(
            (c or {}).get("encryptionType") == "KMS" and (c or {}).get("kmsKey")
            for c in as_list(args.props.get("encryptionConfigurations"))):
        problems.append("not encrypted with a customer managed KMS key (CKV_AWS_136)")
    if problems:
        report("ECR repository: " + "; ".join(problems), None)


def _repository_policy_not_public(args: ResourceValidationArgs, report: ReportViolation, prop: str = "policy") -> None:
    for statement in statements(args.props.get(prop)):
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        keys = {str(k) for block in (statement.get("Condition") or {}).values() for k in (block or {})}
        if statement.get("Effect") == "Allow" and "*" in [str(p) for p in as_list(aws)] and \
                not keys & set(NARROWING_KEYS):
            report(f"repository policy statement {statement.get('Sid', '')!r} allows any principal", None)


def _lifecycle_keeps_deployed(args: ResourceValidationArgs, report: ReportViolation, prop: str = "policy") -> None:
    try:
        rules = json.loads(str(args.props.get(prop) or "{}")).get("rules", [])
    except ValueError:
        report("lifecycle policy is not JSON", None)
        return
    rules = sorted(rules, key=lambda r: r.get("rulePriority", 0))
    # A tagged rule selects deployed images by tagPatternList (deployed-*) or tagPrefixList (deployed-): ECR takes
    # either, and with several entries selects only images carrying all of them ("If you specify multiple tags, only
    # the images with all specified tags are selected", lifecycle_policy_parameters.html), so every entry must be a
    # deployed- one for the rule to hold every deployed image.
    # (https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html).
    keep = [r for r in rules if (r.get("selection") or {}).get("tagStatus") == "tagged"
            and any(entries and all(str(p).startswith(DEPLOYED_PREFIX) for p in entries)
                    for entries in (as_list((r.get("selection") or {}).get(key))
                                    for key in ("tagPatternList", "tagPrefixList")))]
    first_catch_all = next((r.get("rulePriority", 0) for r in rules
                            if (r.get("selection") or {}).get("tagStatus") in ("any", "untagged")), None)
    if not keep:
        report(f"no rule selects {DEPLOYED_PREFIX}* tags first: the lifecycle may expire an image a stack runs", None)
    elif first_catch_all is not None and min(r.get("rulePriority", 0) for r in keep) > first_catch_all:
        report(f"a catch-all rule comes before the {DEPLOYED_PREFIX}* rules: it may expire deployed images", None)


def _replica_template_hardened(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The template registry replication creates the DR region's repositories from: immutable tags, and a lifecycle
    that keeps deployed images (a DR stack runs the digests the source stacks deployed)."""
    if args.props.get("imageTagMutability") != "IMMUTABLE":
        report(f"repository creation template imageTagMutability {args.props.get('imageTagMutability')!r}: the "
               "replica repositories would let a tag be overwritten (IMMUTABLE: CKV_AWS_51)", None)
    _lifecycle_keeps_deployed(args, report, prop="lifecyclePolicy")
    # The replicas' policy (the Organizations layout's cross-account pulls): never any principal unconditionally.
    _repository_policy_not_public(args, report, prop="repositoryPolicy")


def _registry_scans_on_push(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The registry's scanning rules decide which repositories are scanned on push (their filters); repository-level
    scanOnPush is deprecated in favour of them (PutRegistryScanningConfiguration,
    https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutRegistryScanningConfiguration.html)."""
    weak = [str((r or {}).get("scanFrequency")) for r in as_list(args.props.get("rules"))
            if (r or {}).get("scanFrequency") not in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")]
    if weak or not as_list(args.props.get("rules")):
        report(f"registry scanning rules with frequency {weak or 'none'}: images are not scanned on push "
               "(SCAN_ON_PUSH or CONTINUOUS_SCAN; CKV_AWS_163)", None)


DEPLOY_DENIES: tuple[tuple[str, str, str], ...] = (
    ("removing a permissions boundary", "Action", "iam:DeleteRolePermissionsBoundary"),
    ("the CI roles, boundaries and OIDC provider", "Resource", ":oidc-provider/"),
    ("long-lived credentials", "Action", "iam:CreateAccessKey"),
    ("Organizations and account settings", "Action", "organizations:*"),
    ("stopping CloudTrail", "Action", "cloudtrail:StopLogging"),
    ("managing the foundation's keys", "Resource", ":kms:"),
    ("ECR writes beyond tagging", "Resource", ":ecr:"),
)
"""What a policy that may create roles must explicitly deny (components/ci_roles.py deny_statements): the label, and
the Action it names or a Resource fragment it covers."""
BOUNDARY_DENIES: tuple[tuple[str, str, str], ...] = (
    ("another environment's metrics workspaces (by their environment tag)", "Action", "aps:*"),
    ("tagging a metrics workspace into another environment", "Action", "aps:TagResource"),
)
"""What such a policy must also deny when it is a managed policy (the deploy role's boundary: the inline policy has no
room left under IAM's 10,240 characters, so these live in the boundary only; components/ci_roles.py
deploy_boundary_statements)."""


def _deploy_denies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A role allowed to create roles escalates unless these denies hold (IAM: "Deleting the permissions boundary for
    a role might increase its permissions",
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRolePermissionsBoundary.html)."""
    found = list(statements(args.props.get("policy")))
    # Any Allow whose actions cover iam:CreateRole: IAM action names are case-insensitive and take * and ? wildcards
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
    if not any(s.get("Effect") == "Allow" and any(action_matches(a, "iam:CreateRole") for a in as_list(s.get("Action")))
               for s in found):
        return
    denies = [s for s in found if s.get("Effect") == "Deny"]
    required = DEPLOY_DENIES + (BOUNDARY_DENIES if args.resource_type == MANAGED_POLICY else ())
    missing = [label for label, key, needle in required
               if not any(needle in as_list(s.get(key)) if key == "Action" else
                          any(needle in str(r) for r in as_list(s.get(key))) for s in denies)]
    if missing:
        report(f"a policy that may create roles does not deny {', '.join(missing)} (components/ci_roles.py "
               "deny_statements)", None)


def _app_roles_in_environment(args: StackValidationArgs, report: ReportViolation) -> None:
    for role in of_type(args.resources, ROLE):
        if project_of(role.urn) != PROJECT:
            continue  # the foundation's CI roles live under /maratron/ci/ (their own rules above)
        env = environment(role.urn)
        path = str(role.props.get("path") or "/")
        expected = f"{ROLE_PATH_PREFIX}{env}/"
        if path != expected:
            report(f"role path {path!r}: the deploy role may create roles only under {expected}", role.urn)
        boundary = role.props.get("permissionsBoundary")
        wanted = f"{PROJECT}-{env}-workload-boundary"
        if not boundary:
            report("role has no permissions boundary: the deploy role may create roles only with the "
                   f"{wanted}", role.urn)
        elif not re.fullmatch(rf"arn:[a-z-]+:iam::\d{{12}}:policy{re.escape(ROLE_PATH_PREFIX)}{re.escape(wanted)}",
                              str(boundary)):
            report(f"permissions boundary {str(boundary)!r} is not the environment's workload boundary "
                   f"(arn:<partition>:iam::<account>:policy{ROLE_PATH_PREFIX}{wanted}): the deploy role may create "
                   "roles only with that one", role.urn)


RULES: list[Rule] = [
    resource_rule("oidc-trust-pins-repository-and-environment", area="identity", types=[ROLE], check=_github_trust,
                  summary="GitHub OIDC trusts pin one repository and one environment by StringEquals on aud and sub",
                  reference="seed: team access and permissions; Checkov CKV_AWS_358",
                  guards=[Guard("assumeRolePolicy<json>.Statement[*].Condition", DELETE, where=GITHUB_TRUST,
                                note="the aud/sub pins of a GitHub trust")],
                  schema={"allowedRepositories": {
                      "type": "array", "items": {"type": "string"}, "default": [],
                      "description": "OWNER/REPO a GitHub trust may name (empty: any single repository)."}}),
    resource_rule("no-role-assumable-by-anyone", area="identity", types=[ROLE], check=_assumable_by_anyone,
                  summary="No role trusts every AWS principal, or a federated provider without conditions",
                  reference="Checkov CKV_AWS_60, CKV_AWS_61",
                  guards=[Guard("assumeRolePolicy<json>.Statement[*].Principal", To({"AWS": "*"}), where=GITHUB_TRUST,
                                note="who a federated trust admits")]),
    resource_rule("oidc-provider-github-audience", area="identity", types=[OIDC_PROVIDER], check=_provider_audience,
                  summary="The GitHub OIDC provider accepts only the sts.amazonaws.com audience",
                  reference="seed: team access and permissions (GitHub: configuring OIDC in AWS)",
                  guards=[Guard("clientIdLists", To(["https://github.com/acme"]))]),
    resource_rule("ecr-repository-hardened", area="delivery", types=[REPOSITORY], check=_repository_hardened,
                  summary="ECR repositories have immutable tags, scan on push and a customer managed KMS key (the "
                          "key: in the stack's region; the DR region's replicas are AES-256)",
                  reference="Checkov CKV_AWS_51, CKV_AWS_163, CKV_AWS_136",
                  guards=[Guard("imageTagMutability", To("MUTABLE")),
                          Guard("imageScanningConfiguration.scanOnPush", To(False)),
                          Guard("encryptionConfigurations", To([{"encryptionType": "AES256"}]),
                                where=SOURCE_REPOSITORY)]),
    resource_rule("ecr-repository-policy-not-public", area="delivery", types=[REPOSITORY_POLICY],
                  check=_repository_policy_not_public,
                  summary="ECR repository policies never allow any principal without a principal condition",
                  reference="Checkov CKV_AWS_32",
                  guards=[Guard("policy<json>.Statement[*].Principal",
                                Patch("policy<json>.Statement[*]", {"Principal": "*", "Condition": MISSING}), each=True,
                                note="who each statement admits, and its principal condition")]),
    resource_rule("ecr-lifecycle-keeps-deployed-images", area="delivery", types=[LIFECYCLE_POLICY],
                  check=_lifecycle_keeps_deployed,
                  summary="ECR lifecycles select deployed-* images (tagPatternList or tagPrefixList) before any rule "
                          "that expires by count or age",
                  reference="seed: rollback procedure validated; AWS: https://docs.aws.amazon.com/AmazonECR/latest/"
                            "userguide/lifecycle_policy_parameters.html",
                  guards=[Guard("policy<json>.rules", To([EXPIRE_BY_COUNT]),
                                note="the deployed-* rule ahead of every expiry")]),
    resource_rule("ecr-replica-template-hardened", area="delivery", types=[CREATION_TEMPLATE],
                  check=_replica_template_hardened,
                  summary="The repository creation template of registry replication keeps tags immutable, "
                          "deployed images out of its lifecycle, and its replicas' policy closed to any principal",
                  reference="Checkov CKV_AWS_51; seed: disaster recovery plan (the DR region's images); AWS: "
                            "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html",
                  guards=[Guard("imageTagMutability", To("MUTABLE")),
                          Guard("lifecyclePolicy<json>.rules", To([EXPIRE_BY_COUNT]),
                                note="the deployed-* rules ahead of every expiry"),
                          Guard("repositoryPolicy<json>.Statement[*].Principal",
                                Patch("repositoryPolicy<json>.Statement[*]", {"Principal": "*", "Condition": MISSING}),
                                each=True, where=When("repositoryPolicy"),
                                note="who each statement of the replicas' policy admits, and its condition")]),
    resource_rule("ecr-registry-scan-on-push", area="delivery", types=[REGISTRY_SCANNING],
                  check=_registry_scans_on_push,
                  summary="The registry scanning configuration scans images on push (it overrides the repositories' "
                          "own setting)",
                  reference="Checkov CKV_AWS_163; AWS: https://docs.aws.amazon.com/AmazonECR/latest/userguide/"
                            "image-scanning.html",
                  guards=[Guard("rules[*].scanFrequency", To("MANUAL"), each=True)]),
    resource_rule("ci-deploy-role-denies", area="identity", types=[ROLE_POLICY, MANAGED_POLICY],
                  check=_deploy_denies,
                  summary="A policy that may create roles (an Allow covering iam:CreateRole, wildcards and any case "
                          "included: the CI deploy role, its boundary) explicitly denies "
                          "boundary removal, the foundation's identities and keys, long-lived credentials, "
                          "Organizations, CloudTrail tampering and ECR writes beyond tagging",
                  reference="seed: team access and permissions; Checkov CKV_AWS_286 (privilege escalation); AWS: "
                            "https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRolePermissionsBoundary.html"
                            ", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html",
                  guards=[Guard("policy<json>.Statement[Effect=Deny].Effect", To("Allow"), each=True,
                                where=CREATES_ROLES, note="each explicit Deny of a role-creating policy")]),
    stack_rule("app-roles-in-environment-path-with-boundary", area="identity", check=_app_roles_in_environment,
               summary="App-stack roles live under /maratron/<env>/ with the environment's workload permissions "
                       "boundary, maratron-<env>-workload-boundary (what the deploy role is allowed to create)",
               reference="seed: team access and permissions; cdk-nag IAM4/IAM5 context",
               guards=[Guard("path", To("/"), types=(ROLE,)), Guard("permissionsBoundary", DELETE, types=(ROLE,))]),
]
