"""The foundation's configuration (`maratron-bootstrap:<key>`): read, validated and typed before anything is created.

The same machinery as the app stack (components/settings.py): each component's settings type (registry, state
backend, GitHub repositories) composed here with the stack-wide keys; every problem at once, naming the key, the
value and what is allowed; unknown keys are errors with a did-you-mean. bootstrap/Pulumi.yaml's `config:` block is
generated from these declarations (`make docs`; a test keeps it current). The foundation declares no secret: its
stacks hold none, which is what lets the very first run use a throwaway local backend (docs/runbooks/bootstrap.md).

One stack per AWS account:

* single-account (default): one stack, `account: shared`, hosts everything — state backend, image repositories,
  publisher roles and the preview/deploy roles of every environment.
* organization: a `shared` stack in the shared (tooling) account — state, images, publishers — and one stack per
  environment account (`account: dev` ...) — that environment's preview/deploy roles, workload boundary, stack
  secrets key and OIDC provider. The environment stacks read the shared stack (`sharedStack`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import pulumi

from components.base import copy_region_problem, partition_of, region_problem
from components.constants import BOOTSTRAP_PROJECT, ENVIRONMENTS
from components.github_oidc import GithubRepository, check_environment_name, check_provider_arn
from components.image_registry import RegistrySettings
from components.settings import (
    MISSING,
    ConfigError,
    ConfigProblem,
    Rules,
    SchemaEntry,
    read,
    schema,
    section,
    setting,
)
from components.state_backend import DIY_ORGANIZATION, StackPath, StateBackendSettings
from stack_config import current_raw_config

Layout = Literal["single-account", "organization"]
AccountRole = Literal["shared", "dev", "staging", "prod"]
ACCOUNT_PATTERN = re.compile(r"^\d{12}$")
ORGANIZATION_ID_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}$")
STACK_NAME_PATTERN = re.compile(rf"^{DIY_ORGANIZATION}/{re.escape(BOOTSTRAP_PROJECT)}/[A-Za-z0-9_.-]+$")


def _check_account(value: str) -> str | None:
    return None if not value or ACCOUNT_PATTERN.match(value) else "must be a 12-digit AWS account id"


def _check_organization(value: str) -> str | None:
    return None if not value or ORGANIZATION_ID_PATTERN.match(value) else "must be an AWS Organizations id (o-...)"


def _check_stack(value: str) -> str | None:
    return None if STACK_NAME_PATTERN.match(value) else \
        f"must be {DIY_ORGANIZATION}/{BOOTSTRAP_PROJECT}/<stack> (a DIY backend's fully qualified stack name)"


@dataclass(frozen=True, kw_only=True)
class AccountIds:
    """The AWS accounts of the foundation."""

    shared: str = setting(
        "sharedAccountId", "", "The shared account: state backend, image repositories, publisher roles; in the "
        "single-account layout every environment too. Required (12 digits).", check=_check_account)
    dev: str = setting("devAccountId", "", "The dev account (organization layout; empty in single-account).",
                       check=_check_account)
    staging: str = setting("stagingAccountId", "", "The staging account (organization layout; empty in "
                           "single-account).", check=_check_account)
    prod: str = setting("prodAccountId", "", "The prod account (organization layout; empty in single-account).",
                        check=_check_account)


@dataclass(frozen=True, kw_only=True)
class BootstrapConfig:
    """Everything the foundation program needs from configuration, validated and typed."""

    layout: Layout = setting(
        "layout", "single-account", "single-account (one account hosts state, images and every environment) or "
        "organization (a shared account plus one account per environment, each with its own stack).")
    account: AccountRole = setting(
        "account", "shared", "The account this stack manages: shared, or (organization layout) the environment "
        "account dev, staging or prod.")
    environments: tuple[str, ...] = setting(
        "environments", ENVIRONMENTS, "Environments the foundation serves (their CI roles, secrets keys, workload "
        "boundaries and lifecycle keep-rules).", choices=ENVIRONMENTS)
    accounts: AccountIds = section(AccountIds, doc="accounts (one stack per account)")
    organization_id: str = setting(
        "organizationId", "", "Organization layout: the AWS Organizations id; when set, every cross-account grant "
        "also requires aws:PrincipalOrgID. Empty: not checked.", check=_check_organization)
    shared_stack: str = setting(
        "sharedStack", f"{DIY_ORGANIZATION}/{BOOTSTRAP_PROJECT}/shared", "Environment-account stacks read the shared "
        "stack's outputs (state bucket, repositories, keys) from this stack in the same backend.", check=_check_stack)
    github: GithubRepository = section(GithubRepository, prefix="github", title="this infrastructure repository",
                                       doc="GitHub (components/github_oidc.py)")
    app_repository: GithubRepository = section(GithubRepository, prefix="githubApp", title="the app repository")
    images_environment: str = setting(
        "githubImagesEnvironment", "images", "GitHub environment of the jobs that push images, in both repositories: "
        "app-ci and infra-ci trust only jobs that reference it (give it a deployment-branch rule: main).",
        check=check_environment_name)
    oidc_provider_arn: str = setting(
        "githubOidcProviderArn", "", "Adopt this account's existing GitHub OIDC provider (an account holds one per "
        "issuer) instead of creating it. Empty: create it.", check=check_provider_arn)
    preview_session_seconds: int = setting(
        "previewSessionSeconds", 3600, "Longest session of the preview and publisher roles, in seconds "
        "(3600-43200).", minimum=3600, maximum=43200)
    deploy_session_seconds: int = setting(
        "deploySessionSeconds", 7200, "Longest session of the deploy roles (3600-43200); a first prod `pulumi up` "
        "takes 25-35 minutes plus migrations and checks.", minimum=3600, maximum=43200)
    dr_environments: tuple[str, ...] = setting(
        "drEnvironments", ("prod",), "Environments that keep a DR copy in the registry's replica region "
        "(drRegion) and may be restored there: their deploy and preview roles may act in that region too, and "
        "they and the workload boundary cover the DR stack (prod's is `dr`, Pulumi.dr.yaml; another "
        "environment's `<environment>-dr`). Default prod (dev and staging run without DR).", choices=ENVIRONMENTS)
    deploy_pushes_backup_image: bool = setting(
        "deployPushesBackupImage", False, "Let the deploy roles push the backup image (for app stacks that build "
        "it with backupBuildContext); off: infra-ci pushes it.")
    registry: RegistrySettings = section(RegistrySettings, doc="image repositories (components/image_registry.py)")
    state: StateBackendSettings = section(StateBackendSettings, doc="state backend (components/state_backend.py)")
    owner: str = setting("owner", "platform-team", "Team that owns the foundation; the `owner` tag.")
    cost_center: str = setting("costCenter", "maratron", "Cost allocation tag (`cost-center`).")

    # Not settings: where the stack runs, filled in by `load`.
    stack: str = ""
    region: str = ""

    def validate(self, rules: Rules) -> None:
        env_ids = {env: getattr(self.accounts, env) for env in ENVIRONMENTS}
        if not self.accounts.shared:
            rules.problem("accounts.shared", "required: the 12-digit id of the shared account")
        if self.layout == "single-account":
            if self.account != "shared":
                rules.problem("account", "must be shared in the single-account layout (one stack hosts everything)",
                              also=["layout"])
            for env, account_id in env_ids.items():
                if account_id:
                    rules.problem(f"accounts.{env}", f"must be empty in the single-account layout ({env} runs in "
                                  f"{rules.key('accounts.shared')})", also=["layout"])
            return
        for env in self.environments:
            if not env_ids[env]:
                rules.problem(f"accounts.{env}", f"required in the organization layout ({env} is in "
                              f"{rules.key('environments')})", also=["layout"])
        ids = [i for i in (self.accounts.shared, *env_ids.values()) if i]
        if len(ids) != len(set(ids)):
            rules.problem("accounts.shared", "the shared and environment accounts must all differ in the "
                          "organization layout")
        if self.account != "shared" and self.account not in self.environments:
            rules.problem("account", f"{self.account} is not in {rules.key('environments')}", also=["environments"])

    # --- derived ------------------------------------------------------------------------------------------------

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    def account_id(self, role: str) -> str:
        """The account that hosts `role` (shared or an environment)."""
        if role == "shared" or self.layout == "single-account":
            return self.accounts.shared
        return str(getattr(self.accounts, role))

    def dr_region_of(self, environment: str) -> str | None:
        """The DR region whose deploys the environment's roles may make (None: no DR for it)."""
        return self.registry.replica_region(self.region) if environment in self.dr_environments else None

    @property
    def state_dr_region(self) -> str | None:
        """Where the state backend keeps its replica: the DR region, when any environment has DR (its DR stack is
        deployed there when this region is lost, and must find its state, the foundation's and prod's there)."""
        return next((region for env in self.environments if (region := self.dr_region_of(env)) is not None), None)

    @property
    def this_account_id(self) -> str:
        return self.account_id(self.account)

    @property
    def manages_shared(self) -> bool:
        """Whether this stack owns the state backend, the repositories and the publisher roles."""
        return self.account == "shared"

    @property
    def hosted_environments(self) -> tuple[str, ...]:
        """Environments whose CI roles, workload boundary and secrets key this stack creates."""
        if self.layout == "single-account":
            return self.environments
        return () if self.account == "shared" else (self.account,)

    @property
    def shared_stack_path(self) -> StackPath:
        """The stack app stacks read (the shared one): this stack itself when it is the shared one."""
        if self.manages_shared:
            return StackPath(BOOTSTRAP_PROJECT, self.stack)
        return StackPath(BOOTSTRAP_PROJECT, self.shared_stack.rsplit("/", 1)[-1])

    @property
    def tags(self) -> dict[str, str]:
        return {"project": BOOTSTRAP_PROJECT, "environment": self.account, "stack": self.stack,
                "owner": self.owner, "cost-center": self.cost_center, "managed-by": "pulumi"}


def schema_entries() -> list[SchemaEntry]:
    """bootstrap/Pulumi.yaml's `config:` schema (offline/docgen.py writes it)."""
    return schema(BootstrapConfig())


def load(raw: Mapping[str, str] | None = None, *, stack: str | None = None) -> BootstrapConfig:
    """Validate the stack's configuration and return it typed; raise ConfigError listing every problem."""
    secret_keys: set[str] = set()
    if raw is None:
        raw, secret_keys = current_raw_config()
    stack = pulumi.get_stack() if stack is None else stack
    problems: list[ConfigProblem] = []
    region = raw.get("aws:region", "")
    if (why := region_problem(region)) is not None:
        problems.append(ConfigProblem("aws:region", region or MISSING, why))
        region = "us-east-1"
    reading = read(BootstrapConfig(), raw, secret_keys=secret_keys, namespace=BOOTSTRAP_PROJECT)
    reading.report_unknown_keys()
    problems += reading.problems
    replica = reading.settings.registry.replica_region(region)
    # the registry replicates there, and the DR stacks deploy there
    if replica is not None and not problems and (why := copy_region_problem(replica, region)) is not None:
        problems.append(ConfigProblem(f"{BOOTSTRAP_PROJECT}:drRegion", replica, why))
    if problems:
        raise ConfigError(problems)
    return replace(reading.settings, stack=stack, region=region)
