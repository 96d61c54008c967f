"""The account foundation that CI, the app team and the first deploy stand on (Pulumi project maratron-bootstrap).

One stack per AWS account (bootstrap/bootstrap_config.py). In the shared account: the state backend (`pulumi login
s3://...`), the image repositories, the GitHub OIDC provider and the roles that push images. In each account that
runs an environment: the OIDC provider, the environment's stack-secrets key, its workload permissions boundary and
its preview and deploy roles. The app stacks read the shared stack's outputs (bootstrap/bootstrap_outputs.py).

Applied by an administrator from the runbook (docs/runbooks/bootstrap.md), never by CI: these stacks create CI's
own roles, and a CI role able to apply them could rewrite its own trust.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the shared components/ live at the repository root

import pulumi
import pulumi_aws as aws

from bootstrap import bootstrap_config
from bootstrap.bootstrap_outputs import ENVIRONMENT_ACCOUNT, FOUNDATION
from bootstrap.parts import (
    dr_secrets_provider_urls,
    dr_stack,
    environment_arns,
    environment_roles,
    foundation_from_outputs,
    preview_environment,
    read_shared_stack,
    shared_parts,
)
from components.base import AwsContext
from components.ci_roles import FoundationArns
from components.constants import workload_role_path
from components.github_oidc import GithubOidcProvider, GithubOidcProviderArgs
from components.stack_secrets import StackSecretsKey, StackSecretsKeyArgs, secrets_provider_url

config = bootstrap_config.load()  # every config problem at once, before any resource is registered
ctx = AwsContext(account_id=config.this_account_id, partition=config.partition, region=config.region)
# One explicit provider, pinned to this stack's account: credentials for another account fail before any call.
# Every stack file also disables the default provider, so nothing can slip past this one.
provider = aws.Provider("account", region=config.region, allowed_account_ids=[ctx.account_id],
                        profile=pulumi.Config("aws").get("profile"))  # explicit providers read no aws: config
opts = pulumi.ResourceOptions(providers=[provider])
tags = config.tags

github = GithubOidcProvider("github", GithubOidcProviderArgs(
    context=ctx, existing_arn=config.oidc_provider_arn, tags=tags), opts=opts)
# App stacks read the shared bootstrap stack with a StackReference, which builds that stack's secrets manager and so
# decrypts its data key with this key (pulumi/pulumi#11109): the environments' preview and deploy roles in other
# accounts (organization layout) are its readers; in one account IAM grants it (ci_roles, UnwrapFoundationDataKey).
bootstrap_readers = tuple(
    (f"arn:{ctx.partition}:iam::{config.account_id(env)}:root", arns[kind])
    for env, arns in environment_arns(config, ctx.partition).items()
    if config.manages_shared and config.account_id(env) != ctx.account_id for kind in ("preview", "deploy"))
bootstrap_key = StackSecretsKey("bootstrap-secrets", StackSecretsKeyArgs(
    context=ctx, purpose="bootstrap", readers=bootstrap_readers, organization_id=config.organization_id, tags=tags,
    # A StackReference decrypts the foundation's data key before it reads any output (pulumi/pulumi#11109): with
    # the primary region down, a DR stack reads the foundation from the state replica and needs this key there.
    # Multi-Region always (fixed at creation), the replica where the shared stack has a state replica: the
    # environment accounts' own foundation stacks are read by no DR stack.
    multi_region=True, replica_region=config.state_dr_region if config.manages_shared else None), opts=opts)
secrets = {env: StackSecretsKey(f"{env}-secrets", StackSecretsKeyArgs(context=ctx, purpose=env, tags=tags), opts=opts)
           for env in config.hosted_environments}
# Each DR stack's own key, in the DR region: its stack must be operable when this region is lost (stack_secrets.py).
dr_secrets = {env: StackSecretsKey(f"{dr_stack(env)}-secrets", StackSecretsKeyArgs(
    context=ctx, purpose=dr_stack(env), region=config.dr_region_of(env), tags=tags), opts=opts)
    for env in config.hosted_environments if config.dr_region_of(env) is not None}
# The foundation's keys in this account, replicas included: deploys use them and never manage them.
local_keys = [bootstrap_key.key.arn, *bootstrap_key.replica_arns, *(key.key.arn for key in secrets.values())]

if config.manages_shared:
    shared = shared_parts(config, ctx, github.arn, opts)
    state_dr_key = shared.state.dr.key if shared.state.dr is not None else None
    state_dr_bucket = shared.state.dr_bucket
    foundation = FoundationArns(
        partition=ctx.partition, region=ctx.region, state_bucket_arn=shared.state.bucket_arn,
        state_key_arn=shared.state.key.arn, repository_arns=shared.registry.arns(),
        protected_key_arns=[shared.state.key.arn, shared.registry.key.arn, *local_keys],
        bootstrap_stack=config.shared_stack_path, bootstrap_secrets_key_arn=bootstrap_key.key.arn,
        dr_state_bucket_arn=state_dr_bucket.arn if state_dr_bucket is not None else None,
        dr_state_key_arn=state_dr_key.arn if state_dr_key is not None else None,
        dr_state_region=shared.state.dr_region)
else:
    foundation = foundation_from_outputs(config, read_shared_stack(config), local_keys)

# In one account every environment's secrets key is here: each environment's deploy boundary denies the others'.
roles = {env: environment_roles(config, ctx, foundation, github.arn, env, secrets[env], opts,
                                dr_secrets_key=dr_secrets.get(env), other_secrets_keys=[
                                    key.key.arn for other, key in [*secrets.items(), *dr_secrets.items()]
                                    if other != env])
         for env in config.hosted_environments}

if config.manages_shared:
    planned = environment_arns(config, ctx.partition)  # organization layout: roles other stacks create
    preview_arns = {env: roles[env].preview.role.arn if env in roles else planned[env]["preview"]
                    for env in config.environments}
    deploy_arns = {env: roles[env].deploy.role.arn if env in roles else planned[env]["deploy"]
                   for env in config.environments}
    FOUNDATION.export({
        "layout": config.layout,
        "region": config.region,
        "accounts": {"shared": config.accounts.shared, **{env: config.account_id(env) for env in config.environments}},
        "backendUrl": shared.state.url(),
        "stateBucketName": shared.state.bucket.name,
        "stateKeyArn": shared.state.key.arn,
        "drStateBackendUrl": shared.state.dr_url(),
        "drStateBucketName": state_dr_bucket.name if state_dr_bucket is not None else "",
        "drStateKeyArn": state_dr_key.arn if state_dr_key is not None else "",
        "stateBatchReplicationRoleArn": (shared.state.dr.batch_replication_role.arn if shared.state.dr is not None
                                         and shared.state.dr.batch_replication_role is not None else ""),
        "secretsProviders": {env: secrets_provider_url(env, config.region) for env in config.environments},
        "drSecretsProviders": dr_secrets_provider_urls(config),
        "bootstrapSecretsProvider": bootstrap_key.provider_url,
        "bootstrapSecretsKeyArn": bootstrap_key.key.arn,
        "registryId": shared.registry.registry_id,
        "repositoryNames": shared.registry.names(),
        "repositoryUrls": shared.registry.urls(),
        "repositoryArns": shared.registry.arns(),
        "imagesKeyArn": shared.registry.key.arn,
        "replicaRegions": shared.registry.replica_regions,
        "previewRoleArns": preview_arns,
        "deployRoleArns": deploy_arns,
        "appCiRoleArn": shared.publishers["app-ci"].role.arn,
        "infraCiRoleArn": shared.publishers["infra-ci"].role.arn,
        "githubEnvironments": {**{env: deploy_arns[env] for env in config.environments},
                               **{preview_environment(env): preview_arns[env] for env in config.environments},
                               config.images_environment: shared.publishers["infra-ci"].role.arn},
        "workloadBoundaryArns": {env: roles[env].boundary.policy.arn if env in roles else planned[env]["boundary"]
                                 for env in config.environments},
        "workloadRolePaths": {env: workload_role_path(env) for env in config.environments},
    }, where="bootstrap/bootstrap_outputs.py (FOUNDATION)")
else:
    own = roles[config.account]
    ENVIRONMENT_ACCOUNT.export({
        "environment": config.account,
        "accountId": ctx.account_id,
        "oidcProviderArn": github.arn,
        "previewRoleArn": own.preview.role.arn,
        "deployRoleArn": own.deploy.role.arn,
        "workloadBoundaryArn": own.boundary.policy.arn,
        "secretsProvider": secrets[config.account].provider_url,
        "bootstrapSecretsProvider": bootstrap_key.provider_url,
    }, where="bootstrap/bootstrap_outputs.py (ENVIRONMENT_ACCOUNT)")
