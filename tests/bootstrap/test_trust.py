"""Who may assume the CI roles, and what the publishers may push: the generated policies, evaluated against sample
GitHub OIDC claims and requests (offline/iam_eval.py; neither the IAM simulator nor moto evaluates trust)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.github_oidc import GithubRepository, trust_policy, trust_statement
from offline.engine import StackRun
from offline.iam_eval import UnsupportedConditionError, allows, trust_allows

INFRA, APP = "acme/maratron-infra", "acme/maratron"
AUDIENCE = "sts.amazonaws.com"


def role(run: StackRun, name: str) -> dict[str, Any]:
    """(trust, policy, provider ARN) of a CI role of a foundation run."""
    resource = next(r for r in run.of_type("aws:iam/role:Role") if r.inputs.get("name") == name)
    policy = next(p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.parent == resource.urn)
    trust = json.loads(resource.inputs["assumeRolePolicy"])
    provider = trust["Statement"][0]["Principal"]["Federated"]
    return {"trust": trust, "policy": json.loads(policy.inputs["policy"]), "provider": provider,
            "boundary": resource.inputs["permissionsBoundary"]}


def token(repo: str, context: str, *, aud: str = AUDIENCE) -> dict[str, str]:
    return {"aud": aud, "sub": f"repo:{repo}:{context}"}


def may_assume(run: StackRun, name: str, claims: dict[str, str]) -> bool:
    r = role(run, name)
    return trust_allows(r["trust"], provider_arn=r["provider"], claims=claims)


PREVIEW_PROD_REFUSED = [
    pytest.param(token(INFRA, "environment:prod"), id="the deploy environment"),
    pytest.param(token(INFRA, "environment:dev-preview"), id="another environment's preview"),
    pytest.param(token(INFRA, "pull_request"), id="a pull request without an environment"),
    pytest.param(token(INFRA, "ref:refs/heads/main"), id="the main branch"),
    pytest.param(token(INFRA, "ref:refs/heads/feature"), id="a feature branch"),
    pytest.param(token("acme/maratron-infra-fork", "environment:prod-preview"), id="a fork-named repository"),
    pytest.param(token("acme/maratron-infra2", "environment:prod-preview"), id="a prefix-alike repository"),
    pytest.param(token("evil/maratron-infra", "environment:prod-preview"), id="another owner"),
    pytest.param(token(APP, "environment:prod-preview"), id="the app repository"),
    pytest.param(token(INFRA, "environment:prod-preview", aud="https://github.com/acme"), id="GitHub's default aud"),
    pytest.param({"sub": f"repo:{INFRA}:environment:prod-preview"}, id="no audience"),
    pytest.param(token(INFRA, "environment:prod%3Apreview"), id="an escaped environment name"),
    pytest.param(token(INFRA, "environment:prod-preview:job_workflow_ref:x"), id="a customized subject"),
]


def test_the_preview_role_admits_only_its_preview_environment(shared: StackRun) -> None:
    assert may_assume(shared, "maratron-preview-prod", token(INFRA, "environment:prod-preview"))


@pytest.mark.parametrize("claims", PREVIEW_PROD_REFUSED)
def test_the_preview_role_refuses(shared: StackRun, claims: dict[str, str]) -> None:
    assert not may_assume(shared, "maratron-preview-prod", claims)


def test_each_environment_has_its_own_preview_and_deploy_trust(shared: StackRun) -> None:
    for env in ("dev", "staging", "prod"):
        for kind, context in (("preview", f"environment:{env}-preview"), ("deploy", f"environment:{env}")):
            name = f"maratron-{kind}-{env}"
            assert may_assume(shared, name, token(INFRA, context)), name
            others = [f"environment:{e}" for e in ("dev", "staging", "prod", "images") if e != env] + [
                f"environment:{e}-preview" for e in ("dev", "staging", "prod")]
            for other in others:
                if other != context:
                    assert not may_assume(shared, name, token(INFRA, other)), (name, other)
            assert not may_assume(shared, name, token(INFRA, "ref:refs/heads/main")), name
            assert not may_assume(shared, name, token(INFRA, "pull_request")), name


def test_app_ci_admits_only_the_app_repository_images_environment(shared: StackRun) -> None:
    assert may_assume(shared, "maratron-app-ci", token(APP, "environment:images"))
    for claims in (token(INFRA, "environment:images"), token(APP, "ref:refs/heads/main"),
                   token(APP, "pull_request"), token("acme/maratron-evil", "environment:images")):
        assert not may_assume(shared, "maratron-app-ci", claims), claims
    assert may_assume(shared, "maratron-infra-ci", token(INFRA, "environment:images"))
    assert not may_assume(shared, "maratron-infra-ci", token(APP, "environment:images"))


def test_no_trust_goes_through_another_identity_provider(shared: StackRun) -> None:
    r = role(shared, "maratron-deploy-prod")
    claims = token(INFRA, "environment:prod")
    assert trust_allows(r["trust"], provider_arn=r["provider"], claims=claims)
    other = r["provider"].replace("token.actions.githubusercontent.com", "gitlab.com")
    assert not trust_allows(r["trust"], provider_arn=other, claims=claims)


def test_immutable_subjects_are_pinned_by_ids() -> None:
    repo = GithubRepository(name=INFRA, subject_format="immutable", owner_id="1234", repository_id="5678")
    provider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    trust = {"Statement": [trust_statement(provider, [repo.subject("prod")])]}
    assert trust_allows(trust, provider_arn=provider,
                        claims={"aud": AUDIENCE, "sub": "repo:acme@1234/maratron-infra@5678:environment:prod"})
    # The name format, or the ids of a repository that took over the name, never match.
    for sub in ("repo:acme/maratron-infra:environment:prod", "repo:acme@1234/maratron-infra@9999:environment:prod",
                "repo:acme@4321/maratron-infra@5678:environment:prod"):
        assert not trust_allows(trust, provider_arn=provider, claims={"aud": AUDIENCE, "sub": sub})


def test_a_wildcard_or_branch_subject_is_refused_when_building_a_trust() -> None:
    provider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    for bad in ("repo:acme/*:environment:prod", "repo:acme/maratron:ref:refs/heads/main"):
        with pytest.raises(ValueError, match="exactly"):
            trust_policy(provider, [bad])
    with pytest.raises(ValueError, match="at least one subject"):
        trust_policy(provider, [])


def test_the_evaluator_refuses_operators_it_does_not_model() -> None:
    trust = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                            "Principal": {"Federated": "p"},
                            "Condition": {"ForAllValues:StringEquals": {"x:aud": "sts.amazonaws.com"}}}]}
    with pytest.raises(UnsupportedConditionError):
        trust_allows(trust, provider_arn="p", claims={"aud": AUDIENCE})
    # And models the ones it claims to: StringLike admits what StringEquals would not (why the pack forbids it).
    like = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                           "Principal": {"Federated": "p"},
                           "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}}}]}
    assert trust_allows(like, provider_arn="p", claims={"sub": "repo:acme/anything:ref:refs/heads/x"})


# --- what the publishers may do ------------------------------------------------------------------------------------

def test_app_ci_pushes_only_to_web_and_ai(shared: StackRun) -> None:
    policy = role(shared, "maratron-app-ci")["policy"]
    arns = shared.outputs["repositoryArns"]
    for service in ("web", "ai"):
        for action in ("ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
                       "ecr:BatchCheckLayerAvailability"):
            assert allows(policy, action, arns[service]), (action, service)
    assert allows(policy, "ecr:GetAuthorizationToken", "*")
    assert not allows(policy, "ecr:PutImage", arns["backup"])
    assert not allows(policy, "ecr:PutImage", arns["web"].replace("maratron/web", "someone/else"))
    for action in ("ecr:DeleteRepository", "ecr:BatchDeleteImage", "ecr:SetRepositoryPolicy",
                   "ecr:PutLifecyclePolicy", "ecr:PutImageTagMutability", "ecr:CreateRepository"):
        assert not allows(policy, action, arns["web"]), action
    for action, resource in (("s3:GetObject", "arn:aws:s3:::maratron-pulumi-state-x/.pulumi/stacks/maratron/prod.json"),
                             ("iam:PassRole", "*"), ("sts:AssumeRole", "*"), ("kms:Decrypt", "*")):
        assert not allows(policy, action, resource), action


def test_infra_ci_pushes_only_the_backup_image(shared: StackRun) -> None:
    policy = role(shared, "maratron-infra-ci")["policy"]
    arns = shared.outputs["repositoryArns"]
    assert allows(policy, "ecr:PutImage", arns["backup"])
    assert not allows(policy, "ecr:PutImage", arns["web"]) and not allows(policy, "ecr:PutImage", arns["ai"])


def test_every_ci_role_policy_is_within_its_boundary(shared: StackRun) -> None:
    """Each role's boundary (a managed policy of the same run) allows every request its inline policy allows: the
    boundary caps what someone might attach later, it never takes away what the role needs today."""
    policies = {p.outputs["arn"]: json.loads(p.inputs["policy"]) for p in shared.of_type("aws:iam/policy:Policy")}
    for resource in shared.of_type("aws:iam/role:Role"):
        if "ci-role" not in resource.inputs["tags"]:
            continue  # the state bucket's replication role (S3's; components/disaster_recovery.py)
        r = role(shared, resource.inputs["name"])
        boundary = policies[r["boundary"]]
        for statement in r["policy"]["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            # A request the statement itself allows: its actions and resources with wildcards filled in, and the
            # first value of every condition key it tests.
            context = {key: (values if isinstance(values, str) else values[0])
                       for block in statement.get("Condition", {}).values() for key, values in block.items()}
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in statement["Action"]:
                for target in resources:
                    request = (action.replace("*", "Describe"), target.replace("*", "x"))
                    assert allows(r["policy"], *request, context), (resource.inputs["name"], request)
                    assert allows(boundary, *request, context), (resource.inputs["name"], request)
