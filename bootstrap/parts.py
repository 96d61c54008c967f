"""The foundation's parts, wired for one account (bootstrap/__main__.py calls these in order).

Single-account: `shared_parts` and one `environment_roles` per environment, all in the one account.
Organization: the shared stack builds `shared_parts` with grants to each environment account's (future) roles,
named by `ci_roles.role_arn` before they exist; an environment stack reads the shared stack
(`read_shared_stack`) and builds its own `environment_roles`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from bootstrap.bootstrap_config import BootstrapConfig
from bootstrap.bootstrap_outputs import FOUNDATION
from components.base import AwsContext
from components.ci_roles import (
    CiRole,
    CiRoleArgs,
    EnvironmentTarget,
    FoundationArns,
    WorkloadBoundary,
    WorkloadBoundaryArgs,
    ci_role_name,
    deploy_boundary_statements,
    deploy_dr_statements,
    deploy_push_statements,
    deploy_statements,
    enhanced_scanning_statements,
    preview_statements,
    publisher_statements,
    role_arn,
    workload_boundary_arn,
)
from components.constants import IMAGE_SERVICES, environment_stacks, workload_role_path
from components.image_registry import ImageRegistry, ImageRegistryArgs, RegistryReader
from components.stack_secrets import StackSecretsKey, secrets_provider_url
from components.state_backend import StackPath, StateBackend, StateBackendArgs, StateGrant, app_stack

PUBLISHED = {"app-ci": ("web", "ai"), "infra-ci": ("backup",)}
"""Which images each publisher role pushes."""


def dr_stack(environment: str) -> str:
    """The environment's DR stack (prod's `dr`: constants.environment_stacks)."""
    return environment_stacks(environment, dr=True)[-1]


def dr_secrets_provider_urls(config: BootstrapConfig) -> dict[str, str]:
    """Environment with DR -> `--secrets-provider` URL of its DR stack (its key is in the DR region)."""
    return {env: secrets_provider_url(dr_stack(env), region) for env in config.environments
            if (region := config.dr_region_of(env)) is not None}


def preview_environment(environment: str) -> str:
    """The GitHub environment of an environment's pull-request previews."""
    return f"{environment}-preview"


@dataclass
class SharedParts:
    state: StateBackend
    registry: ImageRegistry
    publishers: dict[str, CiRole]


def shared_parts(config: BootstrapConfig, ctx: AwsContext, provider_arn: pulumi.Input[str],
                 opts: pulumi.ResourceOptions) -> SharedParts:
    """State backend, image repositories and the publisher roles (the shared account)."""
    tags = config.tags
    state_grants: list[StateGrant] = []
    readers: list[RegistryReader] = []
    if config.layout == "organization":
        for env in config.environments:
            account, root = config.account_id(env), f"arn:{ctx.partition}:iam::{config.account_id(env)}:root"
            preview = role_arn(ctx.partition, account, ci_role_name("preview", env))
            deploy = role_arn(ctx.partition, account, ci_role_name("deploy", env))
            stacks = tuple(map(app_stack, environment_stacks(env, dr=config.dr_region_of(env) is not None)))
            read = (*stacks, config.shared_stack_path)
            state_grants += [StateGrant(root, preview, read), StateGrant(root, deploy, read, stacks)]
            readers.append(RegistryReader(
                account_root=root, taggers=(deploy,),
                principal_arns=(role_arn(ctx.partition, account, "*", workload_role_path(env)), preview, deploy),
                pushers=((deploy, ("backup",)),) if config.deploy_pushes_backup_image else ()))
    state = StateBackend("state", StateBackendArgs(
        context=ctx, settings=config.state, grants=state_grants, organization_id=config.organization_id,
        dr_region=config.state_dr_region, tags=tags),
        opts=opts)
    registry = ImageRegistry("images", ImageRegistryArgs(
        context=ctx, environments=config.environments, settings=config.registry, readers=readers,
        organization_id=config.organization_id, tags=tags), opts=opts)
    repositories = registry.arns()
    publishers = {}
    for kind, services in PUBLISHED.items():
        repository = config.app_repository if kind == "app-ci" else config.github
        publishers[kind] = CiRole(kind, CiRoleArgs(
            context=ctx, role_name=ci_role_name(kind), kind="publisher", provider_arn=provider_arn,
            subjects=[repository.subject(config.images_environment)],
            statements=publisher_statements(repositories, services),
            max_session_seconds=config.preview_session_seconds, tags=tags), opts=opts)
    return SharedParts(state=state, registry=registry, publishers=publishers)


@dataclass
class EnvironmentRoles:
    preview: CiRole
    deploy: CiRole
    boundary: WorkloadBoundary


def environment_roles(config: BootstrapConfig, ctx: AwsContext, foundation: FoundationArns,
                      provider_arn: pulumi.Input[str], environment: str, secrets_key: StackSecretsKey,
                      opts: pulumi.ResourceOptions, *, dr_secrets_key: StackSecretsKey | None = None,
                      other_secrets_keys: Sequence[pulumi.Input[str]] = ()) -> EnvironmentRoles:
    """An environment's workload boundary and its preview and deploy roles (in the account that runs it)."""
    tags = config.tags
    target = EnvironmentTarget(environment=environment, account_id=ctx.account_id,
                               secrets_key_arn=secrets_key.key.arn, dr_region=config.dr_region_of(environment),
                               dr_secrets_key_arn=dr_secrets_key.key.arn if dr_secrets_key is not None else None,
                               other_secrets_key_arns=tuple(other_secrets_keys))
    boundary = WorkloadBoundary(f"{environment}-workload-boundary", WorkloadBoundaryArgs(
        context=ctx, environment=environment, stacks=target.stacks, tags=tags), opts=opts)
    push = ("backup",) if config.deploy_pushes_backup_image else ()
    enhanced = config.registry.scanning == "enhanced"  # the gate then reads Inspector's findings (ci_roles)
    preview = CiRole(f"preview-{environment}", CiRoleArgs(
        context=ctx, role_name=ci_role_name("preview", environment), kind="preview", provider_arn=provider_arn,
        subjects=[config.github.subject(preview_environment(environment))],
        statements=preview_statements(foundation, target), max_session_seconds=config.preview_session_seconds,
        tags=tags), opts=opts)
    deploy = CiRole(f"deploy-{environment}", CiRoleArgs(
        context=ctx, role_name=ci_role_name("deploy", environment), kind="deploy", provider_arn=provider_arn,
        subjects=[config.github.subject(environment)],
        statements=deploy_statements(foundation, target, push_services=push),
        attached_statements={key: statements for key, statements in (
            ("push", deploy_push_statements(foundation, push)),
            ("dr-state", deploy_dr_statements(foundation, target)),
            ("scan-findings", enhanced_scanning_statements(foundation, target) if enhanced else [])) if statements},
        boundary_statements=deploy_boundary_statements(foundation, target, push_services=push,
                                                       enhanced_scanning=enhanced),
        max_session_seconds=config.deploy_session_seconds, tags=tags), opts=opts)
    return EnvironmentRoles(preview=preview, deploy=deploy, boundary=boundary)


# --- the shared stack, seen from an environment account (organization layout) ------------------------------------

class SharedStackError(pulumi.RunError):
    """The shared stack's outputs cannot be used (one line, naming the key)."""


def read_shared_stack(config: BootstrapConfig) -> pulumi.Output[dict[str, Any]]:
    """The shared stack's outputs, checked against the foundation contract and this stack's account ids."""
    reference = pulumi.StackReference("shared", stack_name=config.shared_stack)

    def check(outputs: Mapping[str, Any]) -> dict[str, Any]:
        problems = FOUNDATION.check(outputs)
        if not problems:
            expected = {"shared": config.accounts.shared, config.account: config.this_account_id}
            for role, account_id in expected.items():
                if outputs["accounts"].get(role) != account_id:
                    problems.append(f"it places {role} in account {outputs['accounts'].get(role)!r}, this stack's "
                                    f"config in {account_id!r}")
            if outputs["region"] != config.region:
                problems.append(f"its region is {outputs['region']}, this stack's aws:region {config.region}")
        if problems:
            raise SharedStackError(f"maratron-bootstrap:sharedStack = {config.shared_stack!r}: "
                                   + "; ".join(problems))
        return dict(outputs)

    return reference.outputs.apply(check)


def foundation_from_outputs(config: BootstrapConfig, shared: pulumi.Output[dict[str, Any]],
                            local_keys: Sequence[pulumi.Input[str]]) -> FoundationArns:
    partition = config.partition
    dr_region = config.state_dr_region  # the shared stack's replica, when the foundation has a DR environment

    def output(path: str) -> pulumi.Output[str]:
        """One value of the shared stack's outputs, e.g. `repositoryArns.web`."""
        def pick(outputs: dict[str, Any]) -> str:
            value: Any = outputs
            for key in path.split("."):
                value = value[key]
            return str(value)
        return shared.apply(pick)

    return FoundationArns(
        partition=partition, region=config.region,
        state_bucket_arn=output("stateBucketName").apply(lambda bucket: f"arn:{partition}:s3:::{bucket}"),
        state_key_arn=output("stateKeyArn"),
        repository_arns={service: output(f"repositoryArns.{service}") for service in IMAGE_SERVICES},
        protected_key_arns=[output("stateKeyArn"), output("imagesKeyArn"), *local_keys],
        bootstrap_stack=config.shared_stack_path, bootstrap_secrets_key_arn=output("bootstrapSecretsKeyArn"),
        dr_state_bucket_arn=None if dr_region is None else output("drStateBucketName").apply(
            lambda bucket: f"arn:{partition}:s3:::{bucket}"),
        dr_state_key_arn=None if dr_region is None else output("drStateKeyArn"), dr_state_region=dr_region)


def environment_arns(config: BootstrapConfig, partition: str) -> dict[str, dict[str, str]]:
    """Per environment, the ARNs its account's stack creates (organization layout: known before they exist)."""
    return {env: {
        "preview": role_arn(partition, config.account_id(env), ci_role_name("preview", env)),
        "deploy": role_arn(partition, config.account_id(env), ci_role_name("deploy", env)),
        "boundary": workload_boundary_arn(partition, config.account_id(env), env),
    } for env in config.environments}


__all__ = ["PUBLISHED", "EnvironmentRoles", "SharedParts", "StackPath", "dr_secrets_provider_urls", "dr_stack",
           "environment_arns", "environment_roles",
           "foundation_from_outputs", "preview_environment", "read_shared_stack", "shared_parts"]
