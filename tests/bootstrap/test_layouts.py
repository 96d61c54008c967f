"""One account or an Organizations layout: what each foundation stack creates, in which account, and how the shared
stack grants the environment accounts what they need."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from bootstrap.bootstrap_outputs import ENVIRONMENT_ACCOUNT, FOUNDATION
from offline.engine import StackRun
from offline.foundation import run_bootstrap

ROLE = "aws:iam/role:Role"


def names(run: StackRun, type_: str) -> set[str]:
    return {str(r.inputs.get("name")) for r in run.of_type(type_)}


def ci_roles(run: StackRun) -> set[str]:
    """The named roles: all but the state bucket's replication roles (S3's and S3 Batch Operations', named by
    Pulumi), which are checked here."""
    replication = [r for r in run.of_type(ROLE) if r.name in ("state-dr-replication", "state-dr-batch-replication")]
    assert len(replication) == (2 if run.outputs.get("drStateBucketName") else 0)
    return {str(r.inputs.get("name")) for r in run.of_type(ROLE) if r not in replication}


def one_provider(run: StackRun, account: str) -> str:
    (provider,) = run.of_type("pulumi:providers:aws")
    assert json.loads(provider.inputs["allowedAccountIds"]) == [account]
    return f"{provider.urn}::{provider.id}"


def test_single_account_hosts_everything_in_one_account(shared: StackRun) -> None:
    reference = one_provider(shared, "123456789012")
    assert all(r.provider == reference for r in shared.resources if r.custom and r.type.startswith("aws:"))
    assert ci_roles(shared) == {f"maratron-{k}-{e}" for k in ("preview", "deploy") for e in (
        "dev", "staging", "prod")} | {"maratron-app-ci", "maratron-infra-ci"}
    counts = Counter(r.type for r in shared.resources)
    # state, images, bootstrap secrets, dev/staging/prod secrets; in the DR region the state replica's and dr's secrets
    assert counts["aws:kms/key:Key"] == 8
    # 3 + DR replicas; state and its logs, and their replicas
    assert counts["aws:ecr/repository:Repository"] == 6 and counts["aws:s3/bucket:Bucket"] == 4
    assert counts["aws:iam/openIdConnectProvider:OpenIdConnectProvider"] == 1
    assert not shared.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")  # one account: IAM alone decides
    assert shared.outputs["layout"] == "single-account"
    assert set(shared.outputs["accounts"].values()) == {"123456789012"}


def test_org_shared_holds_state_images_and_publishers_only(org_shared: StackRun) -> None:
    reference = one_provider(org_shared, "111111111111")
    assert all(r.provider == reference for r in org_shared.resources if r.custom and r.type.startswith("aws:"))
    assert ci_roles(org_shared) == {"maratron-app-ci", "maratron-infra-ci"}
    assert not [p for p in org_shared.of_type("aws:iam/policy:Policy") if "workload" in str(p.inputs["name"])]
    assert org_shared.outputs["accounts"] == {"shared": "111111111111", "dev": "222222222222",
                                              "staging": "333333333333", "prod": "444444444444"}


def test_an_environment_account_holds_its_roles_and_keys_only(org_dev: StackRun) -> None:
    reference = one_provider(org_dev, "222222222222")
    assert all(r.provider == reference for r in org_dev.resources if r.custom and r.type.startswith("aws:"))
    assert names(org_dev, ROLE) == {"maratron-preview-dev", "maratron-deploy-dev"}
    assert not org_dev.of_type("aws:s3/bucket:Bucket") and not org_dev.of_type("aws:ecr/repository:Repository")
    aliases = names(org_dev, "aws:kms/alias:Alias")
    assert aliases == {"alias/maratron-pulumi-dev", "alias/maratron-pulumi-bootstrap"}
    assert org_dev.one("pulumi:pulumi:StackReference").id == "organization/maratron-bootstrap/org-shared"
    assert all(r.outputs["arn"].startswith("arn:aws:iam::222222222222:") for r in org_dev.of_type(ROLE))


def test_the_shared_stack_names_exactly_the_roles_the_environment_stacks_create(
        org_shared: StackRun, org_dev: StackRun, org_prod: StackRun) -> None:
    for env, run in (("dev", org_dev), ("prod", org_prod)):
        assert ENVIRONMENT_ACCOUNT.check(run.outputs) == []
        assert run.outputs["previewRoleArn"] == org_shared.outputs["previewRoleArns"][env]
        assert run.outputs["deployRoleArn"] == org_shared.outputs["deployRoleArns"][env]
        assert run.outputs["workloadBoundaryArn"] == org_shared.outputs["workloadBoundaryArns"][env]
        assert run.outputs["secretsProvider"] == org_shared.outputs["secretsProviders"][env]
        created = {r.inputs["name"]: r.outputs["arn"] for r in run.of_type(ROLE)}
        assert created[f"maratron-deploy-{env}"] == run.outputs["deployRoleArn"]


def statements(run: StackRun, type_: str, name: str | None = None) -> list[dict[str, Any]]:
    resource = run.one(type_, name) if name else run.of_type(type_)[0]
    return json.loads(resource.plain("policy"))["Statement"]


def test_cross_account_grants_name_account_roots_narrowed_to_the_roles(org_shared: StackRun) -> None:
    bucket_policy = next(r for r in org_shared.of_type("aws:s3/bucketPolicy:BucketPolicy") if r.name == "state")
    grants = [s for s in json.loads(bucket_policy.plain("policy"))["Statement"] if s["Effect"] == "Allow"]
    deploy_prod = "arn:aws:iam::444444444444:role/maratron/ci/maratron-deploy-prod"
    writes = [s for s in grants if "s3:PutObject" in s["Action"]]
    assert {s["Condition"]["ArnEquals"]["aws:PrincipalArn"][0] for s in writes} == {
        f"arn:aws:iam::{a}:role/maratron/ci/maratron-deploy-{e}" for a, e in (
            ("222222222222", "dev"), ("333333333333", "staging"), ("444444444444", "prod"))}
    prod_write = next(s for s in writes if s["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [deploy_prod])
    assert prod_write["Principal"] == {"AWS": "arn:aws:iam::444444444444:root"}
    assert prod_write["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": "o-exampleorg01"}
    # Every cross-account grant requires the organization, the foundation secrets key's too (its readers once did not).
    secrets_key = org_shared.one("aws:kms/key:Key", "bootstrap-secrets")
    readers = [s for s in json.loads(secrets_key.plain("policy"))["Statement"]
               if s.get("Sid", "").startswith("Decrypt")]
    assert len(readers) == 6 and all(s["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": "o-exampleorg01"}
                                     for s in readers)
    bucket = org_shared.one("aws:s3/bucket:Bucket", "state").outputs["arn"]
    # prod's deploys update prod and its DR stack (`dr`, drEnvironments): a disaster recovery needs no new grant.
    assert sorted(prod_write["Resource"]) == sorted(f"{bucket}/.pulumi/{k}" for stack in ("prod", "dr") for k in (
        f"stacks/maratron/{stack}.json*", f"locks/organization/maratron/{stack}/*", f"history/maratron/{stack}/*",
        f"backups/maratron/{stack}/*"))
    dev_write = next(s for s in writes if "maratron-deploy-dev" in s["Condition"]["ArnEquals"]["aws:PrincipalArn"][0])
    assert not [r for r in dev_write["Resource"] if "/dr" in r]  # dev has no DR stack
    # Previews only read, and only their own stacks and the foundation's.
    preview_reads = [s for s in grants if s["Action"] == ["s3:GetObject"] and "preview-prod" in json.dumps(s)]
    assert sorted(preview_reads[0]["Resource"]) == sorted(f"{bucket}/{k}" for k in (
        ".pulumi/meta.yaml", ".pulumi/stacks/maratron/prod.json*", ".pulumi/stacks/maratron/dr.json*",
        ".pulumi/stacks/maratron-bootstrap/org-shared.json*"))
    # ... and only a deploy role may encrypt with the state key (write); a preview role decrypts only.
    key_grants = [s for key in org_shared.of_type("aws:kms/key:Key")
                  for s in json.loads(key.plain("policy"))["Statement"]
                  if s.get("Sid", "").startswith("StateThroughS3")]
    # On the state key and on its replica's (in the DR region, where a DR stack is deployed from), each through S3
    # in its own region.
    assert len(key_grants) == 12
    assert Counter(s["Condition"]["StringEquals"]["kms:ViaService"] for s in key_grants) == {
        "s3.us-east-1.amazonaws.com": 6, "s3.us-west-2.amazonaws.com": 6}
    replica_policy = next(r for r in org_shared.of_type("aws:s3/bucketPolicy:BucketPolicy")
                          if r.name == "state-dr-state")
    replica = org_shared.one("aws:s3/bucket:Bucket", "state-dr-state").outputs["arn"]
    replica_grants = [s for s in json.loads(replica_policy.plain("policy"))["Statement"] if s["Effect"] == "Allow"]
    assert json.dumps(replica_grants).replace(replica, "B") == json.dumps(grants).replace(bucket, "B")
    for s in key_grants:
        writer = "maratron-deploy-" in s["Condition"]["ArnEquals"]["aws:PrincipalArn"][0]
        assert s["Action"] == (["kms:Decrypt", "kms:GenerateDataKey"] if writer else ["kms:Decrypt"]), s["Sid"]
    repository = statements(org_shared, "aws:ecr/repositoryPolicy:RepositoryPolicy", "images-web")
    pull = next(s for s in repository if s["Sid"] == "Pull2")
    assert pull["Principal"] == {"AWS": "arn:aws:iam::444444444444:root"}
    assert "arn:aws:iam::444444444444:role/maratron/prod/*" in pull["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert "ecr:PutImage" not in pull["Action"]
    assert "ecr:DescribeImageScanFindings" in pull["Action"]  # ops.verify's ecr.scan-findings, across accounts
    # every call of the app's image look-up (aws.ecr.get_image), across accounts too (Z29)
    assert {"ecr:DescribeImages", "ecr:DescribeRepositories"} <= set(pull["Action"])
    tag = next(s for s in repository if s["Sid"] == "TagDeployed2")
    assert tag["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [deploy_prod]


def test_the_environments_ci_roles_may_decrypt_the_shared_bootstrap_stack(org_shared: StackRun,
                                                                          org_dev: StackRun) -> None:
    """An app stack's StackReference to the shared stack decrypts that stack's data key with the shared bootstrap
    key (pulumi/pulumi#11109): the key policy admits each environment's preview and deploy role, narrowed to it."""
    key = org_shared.one("aws:kms/key:Key", "bootstrap-secrets")
    readers = [s for s in json.loads(key.plain("policy"))["Statement"] if s.get("Sid", "").startswith("Decrypt")]
    named = {arn for s in readers for arn in s["Condition"]["ArnEquals"]["aws:PrincipalArn"]}
    accounts = (("222222222222", "dev"), ("333333333333", "staging"), ("444444444444", "prod"))
    assert named == {f"arn:aws:iam::{a}:role/maratron/ci/maratron-{kind}-{e}" for a, e in accounts
                     for kind in ("preview", "deploy")}
    assert org_shared.outputs["bootstrapSecretsKeyArn"] == key.outputs["arn"]
    deploy = next(r for r in org_dev.of_type("aws:iam/rolePolicy:RolePolicy") if "deploy" in r.name)
    unwrap = next(s for s in json.loads(deploy.plain("policy"))["Statement"] if s["Sid"] == "UnwrapFoundationDataKey")
    # An environment account's own foundation stack is read by no DR stack: its key is multi-Region (fixed at
    # creation) but has no replica (review of Z35: three unused protected keys).
    assert not org_dev.of_type("aws:kms/replicaKey:ReplicaKey")
    assert org_dev.one("aws:kms/key:Key", "bootstrap-secrets").inputs["multiRegion"] is True
    # the key and its multi-Region replica in the state replica's region (a DR stack reads the foundation there)
    replica = org_shared.one("aws:kms/replicaKey:ReplicaKey", "bootstrap-secrets-replica").outputs["arn"]
    assert unwrap["Resource"] == [key.outputs["arn"], replica] and "kms:Decrypt" in unwrap["Action"]


def test_the_dr_replicas_grant_the_environments_what_the_source_does_but_push(org_shared: StackRun,
                                                                              shared: StackRun) -> None:
    """A DR stack in an environment account pulls from the replica in the DR region (the foundation's own repository
    there, with the template's policy: tests/bootstrap/test_image_registry.py): without it that pull is refused across
    accounts."""
    (template,) = org_shared.of_type("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    replica = json.loads(template.plain("repositoryPolicy"))["Statement"]
    pushing = {"ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"}
    # The source's grants minus push, for every environment account; the backup repository's push grant is the only
    # statement of the source a replica leaves out.
    for service in ("web", "ai", "backup"):
        source = statements(org_shared, "aws:ecr/repositoryPolicy:RepositoryPolicy", f"images-{service}")
        assert [s for s in source if not pushing & set(s["Action"])] == replica
    assert {s["Principal"]["AWS"] for s in replica} == {f"arn:aws:iam::{a}:root"
                                                       for a in ("222222222222", "333333333333", "444444444444")}
    assert not any(pushing & set(s["Action"]) for s in replica)
    (single,) = shared.of_type("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    assert "repositoryPolicy" not in single.inputs  # one account: its own roles need no repository policy


def test_the_contract_is_complete_in_both_layouts(shared: StackRun, org_shared: StackRun) -> None:
    for run in (shared, org_shared):
        assert FOUNDATION.check(run.plain_outputs()) == []
        assert set(run.outputs) == set(FOUNDATION.by_name)
    assert shared.outputs["githubEnvironments"]["prod"] == shared.outputs["deployRoleArns"]["prod"]
    assert shared.outputs["githubEnvironments"]["prod-preview"] == shared.outputs["previewRoleArns"]["prod"]
    assert shared.outputs["githubEnvironments"]["images"] == shared.outputs["infraCiRoleArn"]


def test_an_environment_stack_refuses_an_incompatible_shared_stack(org_shared: StackRun) -> None:
    name = "organization/maratron-bootstrap/org-shared"
    wrong = {**org_shared.plain_outputs(), "contractVersion": "2.0.0"}
    run = run_bootstrap("org-dev", references={name: wrong})
    assert not run.ok
    assert str(run.error) == (f"maratron-bootstrap:sharedStack = '{name}': contract 2.0.0 is not supported (this "
                              f"program reads major 1, {FOUNDATION.version})")
    elsewhere = {**org_shared.plain_outputs(), "accounts": {**org_shared.outputs["accounts"], "dev": "999999999999"}}
    run = run_bootstrap("org-dev", references={name: elsewhere})
    assert "it places dev in account '999999999999', this stack's config in '222222222222'" in str(run.error)
