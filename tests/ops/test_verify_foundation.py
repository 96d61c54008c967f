"""ops.verify_foundation against moto: the shared foundation as the bootstrap program declares it (its trust policies
and lifecycle documents taken from the offline run) passes; each drift fails exactly its check."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from offline.foundation import run_bootstrap
from ops import verify
from ops import verify_foundation as vf
from tests.ops.verify_support import boto_session, built_once


@pytest.fixture(scope="module")
def foundation(moto_endpoint: str) -> dict[str, Any]:
    with built_once():
        return build_foundation(moto_endpoint)


def build_foundation(moto_endpoint: str) -> dict[str, Any]:
    run = run_bootstrap("shared")
    assert run.ok, run.error_details
    clients = verify.Clients(boto_session(), moto_endpoint)  # also every verify run's (results())
    client = {s: clients(s) for s in ("s3", "kms", "iam", "ecr")}
    keys = {}
    for name in ("state", "images"):
        keys[name] = client["kms"].create_key(Description=name)["KeyMetadata"]["Arn"]
        client["kms"].enable_key_rotation(KeyId=keys[name])
    bucket = "maratron-pulumi-state-moto"
    s3 = client["s3"]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": keys["state"]},
        "BucketKeyEnabled": True}]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        flag: True for flag in verify.PUBLIC_ACCESS_BLOCK_FLAGS})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "expire", "Status": "Enabled", "Filter": {},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 90, "NewerNoncurrentVersions": 100}}]})
    iam = client["iam"]
    iam.create_open_id_connect_provider(Url="https://token.actions.githubusercontent.com",
                                        ClientIDList=["sts.amazonaws.com"])
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}))
    roles = {}
    for role in run.of_type("aws:iam/role:Role"):  # the program's own trust policies
        if "ci-role" not in role.inputs["tags"]:
            continue  # the state bucket's replication role (S3's, no name of ours)
        created = iam.create_role(RoleName=role.inputs["name"], Path=role.inputs["path"],
                                  AssumeRolePolicyDocument=role.inputs["assumeRolePolicy"],
                                  PermissionsBoundary=boundary["Policy"]["Arn"])
        roles[role.inputs["name"]] = created["Role"]["Arn"]
    lifecycle = run.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")[0].inputs["policy"]
    for service in ("web", "ai", "backup"):
        client["ecr"].create_repository(
            repositoryName=f"maratron/{service}", imageTagMutability="IMMUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
            encryptionConfiguration={"encryptionType": "KMS", "kmsKey": keys["images"]})
        client["ecr"].put_lifecycle_policy(repositoryName=f"maratron/{service}", lifecyclePolicyText=lifecycle)
    outputs = {**run.plain_outputs(), "stateBucketName": bucket, "stateKeyArn": keys["state"],
               "imagesKeyArn": keys["images"], "appCiRoleArn": roles["maratron-app-ci"],
               "infraCiRoleArn": roles["maratron-infra-ci"],
               "previewRoleArns": {e: roles[f"maratron-preview-{e}"] for e in ("dev", "staging", "prod")},
               "deployRoleArns": {e: roles[f"maratron-deploy-{e}"] for e in ("dev", "staging", "prod")}}
    return {"client": client, "clients": clients, "outputs": outputs, "endpoint": moto_endpoint, "keys": keys,
            "bucket": bucket}


def results(foundation: dict[str, Any]) -> dict[str, verify.Result]:
    out = io.StringIO()
    status = vf.main([], stdin=io.StringIO(json.dumps(foundation["outputs"])), stdout=out,
                     clients=foundation["clients"])
    rows = {}
    for line in out.getvalue().splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[0] in ("PASS", "FAIL", "SKIP"):
            rows[parts[1]] = verify.Result(parts[1], verify.Status(parts[0]), parts[2])
    rows["_status"] = verify.Result("_status", verify.Status.PASS if status == 0 else verify.Status.FAIL, "")
    return rows


def test_the_declared_foundation_passes_every_check(foundation: dict[str, Any]) -> None:
    rows = results(foundation)
    assert {name: r.status for name, r in rows.items()} == {name: verify.Status.PASS for name in [
        *(n for n, _ in vf.CHECKS), "_status"]}, rows
    assert "8 roles pinned and bounded" in rows["iam.ci-roles"].detail


def test_key_rotation_off_fails_the_key_check(foundation: dict[str, Any]) -> None:
    kms = foundation["client"]["kms"]
    kms.disable_key_rotation(KeyId=foundation["keys"]["images"])
    try:
        rows = results(foundation)
        assert rows["kms.foundation-keys"].status is verify.Status.FAIL
        assert "imagesKeyArn rotation off" in rows["kms.foundation-keys"].detail
        assert rows["s3.state-bucket"].status is verify.Status.PASS
    finally:
        kms.enable_key_rotation(KeyId=foundation["keys"]["images"])


def test_a_lifecycle_that_expires_checkpoints_fails_the_bucket_check(foundation: dict[str, Any]) -> None:
    s3 = foundation["client"]["s3"]
    s3.put_bucket_lifecycle_configuration(Bucket=foundation["bucket"], LifecycleConfiguration={"Rules": [{
        "ID": "expire", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 30},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 90}}]})
    try:
        rows = results(foundation)
        assert "expires current objects" in rows["s3.state-bucket"].detail
    finally:
        s3.put_bucket_lifecycle_configuration(Bucket=foundation["bucket"], LifecycleConfiguration={"Rules": [{
            "ID": "expire", "Status": "Enabled", "Filter": {},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 90, "NewerNoncurrentVersions": 100}}]})


def test_a_wildcard_trust_fails_the_role_check(foundation: dict[str, Any]) -> None:
    iam = foundation["client"]["iam"]
    role = "maratron-deploy-prod"
    original = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    loose = json.loads(json.dumps(original))
    loose["Statement"][0]["Condition"] = {"StringLike": {
        "token.actions.githubusercontent.com:sub": "repo:acme/*"}}
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(loose))
    try:
        rows = results(foundation)
        assert rows["iam.ci-roles"].status is verify.Status.FAIL
        assert "maratron-deploy-prod: StringLike on a GitHub claim" in rows["iam.ci-roles"].detail
    finally:
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(original))


def test_a_mutable_repository_fails_the_repository_check(foundation: dict[str, Any]) -> None:
    ecr = foundation["client"]["ecr"]
    ecr.put_image_tag_mutability(repositoryName="maratron/ai", imageTagMutability="MUTABLE")
    try:
        rows = results(foundation)
        assert rows["ecr.repositories"].status is verify.Status.FAIL
        assert "maratron/ai: tags MUTABLE" in rows["ecr.repositories"].detail
    finally:
        ecr.put_image_tag_mutability(repositoryName="maratron/ai", imageTagMutability="IMMUTABLE")


def test_app_outputs_are_refused() -> None:
    assert vf.main([], stdin=io.StringIO(json.dumps({"environment": "prod"})), stdout=io.StringIO()) == 2
