"""The foundation's components as the shared stack registers them: state backend, keys, repositories, OIDC provider."""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.engine import StackRun
from offline.foundation import run_bootstrap
from tests.bootstrap.iam_policies import managed_policy, role_policy

NS = "maratron-bootstrap"


def of_bucket(run: StackRun, type_: str, bucket: str = "state") -> dict[str, Any]:
    return run.one(type_, bucket).inputs


def test_the_state_bucket_is_hardened_kept_and_never_expires_a_checkpoint(shared: StackRun) -> None:
    bucket = shared.one("aws:s3/bucket:Bucket", "state")
    assert bucket.inputs["bucketPrefix"] == "maratron-pulumi-state-"
    assert bucket.protect and bucket.retain_on_delete and bucket.inputs["forceDestroy"] is False
    state_key = shared.one("aws:kms/key:Key", "state-key")
    assert state_key.protect and state_key.inputs["enableKeyRotation"] is True
    (rule,) = of_bucket(shared, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                "BucketServerSideEncryptionConfiguration")["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                          "kmsMasterKeyId": state_key.outputs["arn"]}
    assert of_bucket(shared, "aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"] == {
        "status": "Enabled"}
    pab = of_bucket(shared, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(pab[f] for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    policy = json.loads(of_bucket(shared, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    assert any(s["Sid"] == "DenyInsecureTransport" for s in policy["Statement"])
    logging = of_bucket(shared, "aws:s3/bucketLogging:BucketLogging")
    assert logging["targetPrefix"] == "state/"
    assert logging["targetBucket"] == shared.one("aws:s3/bucket:Bucket", "state-access-logs").id
    rules = {r["id"]: r for r in of_bucket(
        shared, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]}
    expire = rules["expire"]
    assert "expiration" not in expire  # a current checkpoint never expires
    assert expire["noncurrentVersionExpiration"] == {"noncurrentDays": 90, "newerNoncurrentVersions": 100}
    # Each update's lock file is a new key with one old version, which the count above would keep forever (with its
    # delete marker): under the locks prefix, age alone decides.
    locks = rules["expire-transient-pulumi-locks"]
    assert (locks["filter"], locks["noncurrentVersionExpiration"]) == ({"prefix": ".pulumi/locks/"},
                                                                       {"noncurrentDays": 90})
    assert list(rules) == ["expire", "expire-transient-pulumi-locks", "remove-expired-delete-markers"]
    assert shared.outputs["backendUrl"] == f"s3://{bucket.outputs['bucket']}?region=us-east-1&awssdk=v2"


def test_each_environment_has_its_own_secrets_provider_key(shared: StackRun) -> None:
    aliases = {a.inputs["name"]: a for a in shared.of_type("aws:kms/alias:Alias")}
    assert set(aliases) == {"alias/maratron-pulumi-state", "alias/maratron-images", "alias/maratron-pulumi-bootstrap",
                            *(f"alias/maratron-pulumi-{e}" for e in ("dev", "staging", "prod", "dr")),
                            "alias/maratron-pulumi-state-dr"}  # the DR stack's key and the state replica's
    assert shared.outputs["secretsProviders"] == {
        e: f"awskms://alias/maratron-pulumi-{e}?region=us-east-1" for e in ("dev", "staging", "prod")}
    for key in shared.of_type("aws:kms/key:Key"):
        assert key.protect and key.inputs["enableKeyRotation"] and key.inputs["deletionWindowInDays"] == 30
    # Every CI role unwraps only its own environment's data key.
    for env in ("dev", "prod"):
        policy = role_policy(shared, f"maratron-deploy-{env}")
        unwrap = next(s for s in policy["Statement"] if s["Sid"] == "UnwrapStackDataKey")
        key = shared.one("aws:kms/key:Key", f"{env}-secrets")
        assert unwrap["Resource"] == [key.outputs["arn"]]


def test_repositories_are_immutable_scanned_encrypted_and_keep_every_deployed_image(shared: StackRun) -> None:
    images_key = shared.one("aws:kms/key:Key", "images-key").outputs["arn"]
    # The DR region's replicas (region us-west-2) have the same names: tests/bootstrap/test_image_registry.py.
    repositories = {r.inputs["name"]: r for r in shared.of_type("aws:ecr/repository:Repository")
                    if "region" not in r.inputs}
    assert set(repositories) == {"maratron/web", "maratron/ai", "maratron/backup"}
    for repository in repositories.values():
        assert repository.protect and repository.inputs["forceDelete"] is False
        assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": images_key}]
    # Registry settings are per Region: the replica region (us-west-2, where the DR stack pulls) scans too.
    found = shared.of_type("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration")
    assert sorted(r.inputs.get("region", "here") for r in found) == ["here", "us-west-2"]
    for scanning in (r.inputs for r in found):
        assert scanning["scanType"] == "BASIC"
        assert scanning["rules"] == [{"scanFrequency": "SCAN_ON_PUSH",
                                      "repositoryFilters": [{"filter": "maratron/*", "filterType": "WILDCARD"}]}]
    rules = json.loads(shared.one("aws:ecr/lifecyclePolicy:LifecyclePolicy", "images-web").inputs["policy"])["rules"]
    assert [(r["rulePriority"], r["selection"]["tagStatus"]) for r in rules] == [
        (1, "tagged"), (2, "tagged"), (3, "tagged"), (90, "untagged"), (100, "any")]
    assert [r["selection"]["tagPatternList"] for r in rules[:3]] == [
        ["deployed-prod-*"], ["deployed-staging-*"], ["deployed-dev-*"]]
    assert all(r["selection"]["countNumber"] == 1000 for r in rules[:3])
    assert rules[3]["selection"]["countNumber"] == 14 and rules[4]["selection"]["countNumber"] == 100


@pytest.mark.parametrize(("mode", "expected"), [("enhanced", "ENHANCED"), ("unmanaged", None)])
def test_registry_scanning_modes(mode: str, expected: str | None) -> None:
    run = run_bootstrap("shared", {f"{NS}:imageScanning": mode})
    assert run.ok, run.error_details
    found = run.of_type("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration")
    assert [r.inputs["scanType"] for r in found] == ([expected] * 2 if expected else [])  # here and the replica


def test_the_oidc_provider_has_the_sts_audience_and_no_thumbprint(shared: StackRun) -> None:
    provider = shared.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in provider


def test_an_existing_oidc_provider_is_adopted_not_created() -> None:
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    run = run_bootstrap("shared", {f"{NS}:githubOidcProviderArn": arn})
    assert run.ok, run.error_details
    assert not run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    trusts = [json.loads(r.inputs["assumeRolePolicy"]) for r in run.of_type("aws:iam/role:Role")
              if "ci-role" in r.inputs["tags"]]  # not the state replication role (S3's)
    assert {t["Statement"][0]["Principal"]["Federated"] for t in trusts} == {arn}
    wrong = run_bootstrap("shared", {f"{NS}:githubOidcProviderArn": arn.replace("123456789012", "999999999999")})
    assert not wrong.ok and "is not this account's GitHub provider" in str(wrong.error)


def test_deploy_roles_may_push_the_backup_image_only_when_asked() -> None:
    run = run_bootstrap("shared", {f"{NS}:deployPushesBackupImage": "true"})
    assert run.ok, run.error_details
    inline = role_policy(run, "maratron-deploy-dev")
    assert not any(s["Sid"] == "PushImages" for s in inline["Statement"])  # its own managed policy: IAM's size quota
    policy = managed_policy(run, "maratron-deploy-dev-push")
    push = next(s for s in policy["Statement"] if s["Sid"] == "PushImages")
    assert push["Resource"] == [run.outputs["repositoryArns"]["backup"]]
    off = run_bootstrap("shared")
    assert not [p for p in off.of_type("aws:iam/policy:Policy") if p.inputs["name"].endswith("-push")]
    assert not [a for a in off.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.name.endswith("-push")]
