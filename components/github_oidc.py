"""GitHub Actions OIDC: the account's identity provider for token.actions.githubusercontent.com, and the trust policy
every CI role uses.

Every trust this project writes pins one repository *and* one GitHub environment, by exact match:

    "Condition": {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": ["repo:acme/maratron:environment:prod"]}}

* Environments, not branches or pull requests: "The subject claim includes the environment name when the job
  references an environment" (https://docs.github.com/en/actions/reference/security/oidc), and a job that references
  an environment starts only once the environment's protection rules (required reviewers, allowed branches) pass
  (https://docs.github.com/en/actions/reference/deployments-and-environments). So `environment:prod` means "a job
  GitHub let into prod", which a branch or a pull request from a fork cannot claim.
* StringEquals only: no StringLike (a `*` in a subject admits every repository or branch that matches), no
  `ForAllValues:`/`ForAnyValue:` ("The ForAllValues set operator also returns true if there are no context keys in
  the request", IAM user guide, https://docs.aws.amazon.com/IAM/latest/UserGuide/
  reference_policies_condition_examples-multi-valued-context-keys.html), no `...IfExists`.
* No thumbprint: for GitHub, AWS "relies on its own library of trusted root certificate authorities" instead of
  configured thumbprints (pulumi-aws OpenIdConnectProvider docs;
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateOpenIDConnectProviderThumbprint.html).
* Subject format: repositories created (or renamed) on or after 2026-07-15 get GitHub's immutable subjects, which
  append the owner's and the repository's numeric ids: `repo:octocat@123456/my-repo@456789:...`
  (https://github.blog/changelog/2026-04-23-immutable-subject-claims-for-github-actions-oidc-tokens/; that post
  gives another date and a `-` separator, so do not trust either from memory: `gh api
  /repos/OWNER/REPO/actions/oidc/customization/sub` answers the repository's own `sub_claim_prefix`).
  `GithubRepository.subject_format` says which one a repository uses; a trust in the wrong format simply never
  matches (fails closed).

The policy pack checks the same properties on every role (policies/rules/identity.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, named_tags, policy_json
from components.constants import GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST
from components.settings import Rules, setting

SubjectFormat = Literal["name", "immutable"]
REPOSITORY_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
ENVIRONMENT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
"""GitHub environment names we accept in a subject: no `:` (GitHub escapes it as %3A in claims) and no wildcard."""
NUMERIC_ID_PATTERN = re.compile(r"^[1-9][0-9]{0,19}$")
PROVIDER_ARN_PATTERN = re.compile(
    rf"^arn:aws[a-z-]*:iam::\d{{12}}:oidc-provider/{re.escape(GITHUB_OIDC_HOST)}$")


def check_repository(value: str) -> str | None:
    if not value:
        return "required: OWNER/REPO of the GitHub repository, e.g. acme/maratron"
    return None if REPOSITORY_PATTERN.match(value) else "must be OWNER/REPO (letters, digits, - . _), no wildcard"


def check_numeric_id(value: str) -> str | None:
    return None if not value or NUMERIC_ID_PATTERN.match(value) else "must be GitHub's numeric id (digits)"


def check_environment_name(value: str) -> str | None:
    return None if ENVIRONMENT_NAME_PATTERN.match(value) else \
        "must be a GitHub environment name without ':' or wildcards (letters, digits, _ . -)"


def check_provider_arn(value: str) -> str | None:
    return None if not value or PROVIDER_ARN_PATTERN.match(value) else \
        f"must be arn:aws:iam::<account>:oidc-provider/{GITHUB_OIDC_HOST} (or empty to create it)"


@dataclass(frozen=True, kw_only=True)
class GithubRepository:
    """A GitHub repository as its OIDC tokens name it. Keys are prefixed (githubRepository, githubAppRepository)."""

    name: str = setting(
        "repository", "", "OWNER/REPO of {title}. Required; every trust names it exactly.", check=check_repository)
    subject_format: SubjectFormat = setting(
        "subjectFormat", "name", "Subject claim format of the OIDC tokens of {title}: name "
        "(repo:OWNER/REPO:...) or immutable (repo:OWNER@ID/REPO@ID:..., GitHub's default for repositories created "
        "or renamed on or after 2026-07-15; `gh api /repos/OWNER/REPO/actions/oidc/customization/sub` shows which).")
    owner_id: str = setting(
        "ownerId", "", "Numeric id of the owner of {title} (GitHub API `owner.id`); required when its subject "
        "format is immutable.", check=check_numeric_id)
    repository_id: str = setting(
        "repositoryId", "", "Numeric id of {title} (GitHub API `id`); required when its subject format is "
        "immutable.", check=check_numeric_id)

    def validate(self, rules: Rules) -> None:
        if self.subject_format == "immutable":
            for field_name in ("owner_id", "repository_id"):
                if not getattr(self, field_name):
                    rules.problem(field_name, f"required with {rules.key('subject_format')} immutable (GitHub puts "
                                  "the numeric ids into every subject)", also=["subject_format"])

    def subject(self, environment: str) -> str:
        """The `sub` claim of a job of this repository that references the GitHub `environment`."""
        if self.subject_format == "immutable":
            owner, repo = self.name.split("/", 1)
            return f"repo:{owner}@{self.owner_id}/{repo}@{self.repository_id}:environment:{environment}"
        return f"repo:{self.name}:environment:{environment}"


def trust_policy(provider_arn: pulumi.Input[str], subjects: list[str]) -> pulumi.Output[str]:
    """The trust policy of a role that jobs with exactly these subjects may assume (and nothing else may)."""
    if not subjects:
        raise ValueError("a GitHub OIDC trust needs at least one subject (GitHub: 'you must define at least one "
                         "condition')")
    for subject in subjects:
        if any(c in subject for c in "*?") or ":environment:" not in subject:
            raise ValueError(f"subject {subject!r}: must name one repository and one environment exactly")
    return policy_json([trust_statement(provider_arn, subjects)])


def trust_statement(provider_arn: pulumi.Input[str], subjects: list[str]) -> dict[str, Any]:
    return {
        "Sid": "GithubActionsEnvironments",
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE,
            f"{GITHUB_OIDC_HOST}:sub": sorted(subjects),
        }},
    }


def provider_arn_for(context: AwsContext) -> str:
    """The ARN of an account's GitHub OIDC provider (an account holds one per issuer URL)."""
    return f"arn:{context.partition}:iam::{context.account_id}:oidc-provider/{GITHUB_OIDC_HOST}"


@dataclass(frozen=True)
class GithubOidcProviderArgs:
    """Inputs of GithubOidcProvider."""

    context: AwsContext
    """The account the provider lives in."""
    existing_arn: str = ""
    """Adopt the account's existing GitHub provider (an account holds one per URL) instead of creating it; default
    empty: create it."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the provider."""


class GithubOidcProvider(pulumi.ComponentResource):
    """The account's IAM OIDC identity provider for GitHub Actions (created, or an existing one adopted)."""

    arn: pulumi.Output[str]
    provider: aws.iam.OpenIdConnectProvider | None
    """None when an existing provider was adopted."""

    def __init__(self, name: str, args: GithubOidcProviderArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ci:GithubOidcProvider", name, None, opts)
        if args.existing_arn:
            if args.existing_arn != provider_arn_for(args.context):
                raise ValueError(f"GithubOidcProviderArgs.existing_arn {args.existing_arn!r} is not this account's "
                                 f"GitHub provider {provider_arn_for(args.context)}")
            self.provider = None
            self.arn = pulumi.Output.from_input(args.existing_arn)
        else:
            self.provider = aws.iam.OpenIdConnectProvider(
                name,
                url=f"https://{GITHUB_OIDC_HOST}",
                client_id_lists=[GITHUB_OIDC_AUDIENCE],
                # No thumbprint_lists: AWS validates GitHub's certificate against its own trusted CAs.
                tags=named_tags(args.tags, "github-actions"),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.arn = self.provider.arn
        self.register_outputs({"arn": self.arn})
