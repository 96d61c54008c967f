"""The foundation's outputs contract: what app stacks, CI and operators read from the bootstrap stacks.

Two contracts (components/output_contract.py, versioned like the app's stack_outputs.py):

* FOUNDATION — exported by the shared stack (in both layouts), read by every app stack through a StackReference
  (`maratron:bootstrapStack`) and by the CI setup (bootstrap/github_setup.py). In the organization layout the
  environment accounts' role and boundary ARNs are computed here from account ids and names, the same functions
  the environment stacks create them with (components/ci_roles.py); a test checks both agree.
* ENVIRONMENT_ACCOUNT — exported by an environment account's stack (organization layout): what it created there.

docs/bootstrap-outputs.md is generated from both (`make docs`); tests/bootstrap/contracts/<contract>/<version>.json
pin each released version.
No output is a secret (role ARNs and bucket names are not), and the foundation's config declares none.
"""

from __future__ import annotations

from components.output_contract import contract, specs

FOUNDATION = contract("1.4.0", [
    *specs(
        "foundation",
        ("contractVersion", "string", "Version of this contract (semver; major = breaking)."),
        ("layout", "string", "single-account or organization."),
        ("region", "string", "Region of the state bucket, the image repositories and every stack."),
        ("accounts", "map[string]", "Account ids: shared, and each environment (equal to shared in single-account)."),
    ),
    *specs(
        "state",
        ("backendUrl", "string", "`pulumi login` URL of the state backend: s3://<bucket>?region=<region>&awssdk=v2."),
        ("stateBucketName", "string", "The state bucket (versioned, SSE-KMS, protected)."),
        ("stateKeyArn", "string", "CMK of the state bucket."),
        ("secretsProviders", "map[string]", "Environment -> `--secrets-provider` URL of its app stack "
                                            "(awskms://alias/maratron-pulumi-<env>?region=...)."),
        ("bootstrapSecretsProvider", "string", "`--secrets-provider` URL of the bootstrap stacks."),
        ("bootstrapSecretsKeyArn", "string", "CMK of the shared bootstrap stack's secrets: a StackReference to it "
                                             "decrypts with it (app stacks' preview and deploy roles). 1.2.0."),
        ("drStateBackendUrl", "string", "`pulumi login` URL of the state bucket's replica in the DR region "
                                        "(s3://<bucket>?region=<DR region>&awssdk=v2), where a DR stack is operated "
                                        "when the primary region is lost. \"\" without a DR environment; 1.3.0."),
        ("drStateBucketName", "string", "The replica state bucket (every object of the state bucket, re-encrypted "
                                        "with drStateKeyArn; deletes are not replicated). \"\" without DR; 1.3.0."),
        ("drStateKeyArn", "string", "CMK of the replica state bucket, in the DR region. \"\" without DR; 1.3.0."),
        ("stateBatchReplicationRoleArn", "string", "Role for S3 Batch Replication (`aws s3control create-job "
                                                   "--role-arn`) of the state bucket's objects that predate its "
                                                   "replication (.pulumi/meta.yaml, old checkpoints). \"\" without "
                                                   "DR; 1.4.0."),
        ("drSecretsProviders", "map[string]", "Environment with DR -> `--secrets-provider` URL of its DR stack "
                                              "(awskms://alias/maratron-pulumi-dr?region=<DR region>: a key in the DR "
                                              "region). {} without DR; 1.3.0."),
    ),
    *specs(
        "images",
        ("registryId", "string", "Account id of the registry that holds the repositories."),
        ("repositoryNames", "map[string]", "Image (web, ai, backup) -> repository name (maratron/<image>)."),
        ("repositoryUrls", "map[string]", "Image -> repository URL (<registry>.dkr.ecr.<region>.amazonaws.com/...)."),
        ("repositoryArns", "map[string]", "Image -> repository ARN (what execution roles may pull)."),
        ("imagesKeyArn", "string", "CMK of the repositories."),
        ("replicaRegions", "list[string]", "Regions the registry replicates every image to (the same repository "
                                           "names and digests; a DR stack there pulls from them). [] without DR; "
                                           "1.1.0."),
    ),
    *specs(
        "ci",
        ("previewRoleArns", "map[string]", "Environment -> role of its pull-request previews "
                                           "(GitHub environment <env>-preview)."),
        ("deployRoleArns", "map[string]", "Environment -> role of its deploys (GitHub environment <env>)."),
        ("appCiRoleArn", "string", "Role the app repository's image job assumes to push web and ai."),
        ("infraCiRoleArn", "string", "Role this repository's image job assumes to push the backup image."),
        ("githubEnvironments", "map[string]", "GitHub environment of this repository -> the role its jobs assume "
                                              "(bootstrap/github_setup.py sets them up)."),
        ("workloadBoundaryArns", "map[string]", "Environment -> permissions boundary every app-stack role carries."),
        ("workloadRolePaths", "map[string]", "Environment -> IAM path of its app-stack roles (/maratron/<env>/)."),
    ),
])

ENVIRONMENT_ACCOUNT = contract("1.0.0", [
    *specs(
        "environment account",
        ("contractVersion", "string", "Version of this contract."),
        ("environment", "string", "The environment this account runs."),
        ("accountId", "string", "The account."),
        ("oidcProviderArn", "string", "The account's GitHub OIDC provider."),
        ("previewRoleArn", "string", "Role of the environment's pull-request previews."),
        ("deployRoleArn", "string", "Role of the environment's deploys."),
        ("workloadBoundaryArn", "string", "Permissions boundary of the environment's app-stack roles."),
        ("secretsProvider", "string", "`--secrets-provider` URL of the environment's app stack."),
        ("bootstrapSecretsProvider", "string", "`--secrets-provider` URL of this account's bootstrap stack."),
    ),
])


def render_markdown() -> str:
    intro = [
        "Generated from `bootstrap/bootstrap_outputs.py` by `make docs`; do not edit.",
        "The shared bootstrap stack exports the foundation contract; app stacks read it with a StackReference",
        "(`maratron:bootstrapStack`, default `organization/maratron-bootstrap/shared`). In the organization layout",
        "each environment account's stack exports the second contract. Nothing here is secret.",
    ]
    foundation = FOUNDATION.render_markdown("Bootstrap outputs contract", intro)
    environment = ENVIRONMENT_ACCOUNT.render_markdown("Environment-account outputs", [
        "Exported by the `account: <env>` stacks of the organization layout."])
    return foundation + "\n" + environment
