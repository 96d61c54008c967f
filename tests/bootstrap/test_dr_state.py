"""The foundation's DR half of the state backend: when an environment has DR, its DR stack (prod's `dr`) must be
operable with the primary region lost, so the state bucket is replicated into the DR region, the DR stack's secrets
key lives there, and prod's deploy role may use both (components/state_backend.py, components/stack_secrets.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.stack_secrets import secrets_provider_url
from offline.engine import StackRun
from offline.foundation import run_bootstrap
from offline.iam_eval import allows
from tests.bootstrap.iam_policies import effective_policy

NS = "maratron-bootstrap"
DR = "us-west-2"
WEST = {"aws:RequestedRegion": DR}
VIA_S3_WEST = {**WEST, "kms:ViaService": f"s3.{DR}.amazonaws.com"}
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


def test_the_replica_state_bucket_is_hardened_in_the_dr_region_with_its_own_key(shared: StackRun) -> None:
    replica = shared.one("aws:s3/bucket:Bucket", "state-dr-state")
    key = shared.one("aws:kms/key:Key", "state-dr-key")
    assert replica.inputs["region"] == DR and key.inputs["region"] == DR
    assert replica.inputs["bucketPrefix"] == "maratron-pulumi-state-dr-"
    assert replica.protect and key.protect and key.inputs["enableKeyRotation"] is True
    assert shared.one("aws:kms/alias:Alias", "state-dr-key").inputs["name"] == "alias/maratron-pulumi-state-dr"
    (rule,) = shared.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                         "state-dr-state").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                          "kmsMasterKeyId": key.outputs["arn"]}
    assert shared.one("aws:s3/bucketVersioning:BucketVersioning", "state-dr-state").inputs[
        "versioningConfiguration"] == {"status": "Enabled"}
    pab = shared.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "state-dr-state").inputs
    assert all(pab[f] for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    # The replica keeps what the source keeps: no current checkpoint ever expires.
    rules = {r["id"]: r for r in shared.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                                            "state-dr-state").inputs["rules"]}
    assert "expiration" not in rules["expire"]
    logs = shared.one("aws:s3/bucket:Bucket", "state-dr-access-logs")
    assert logs.inputs["region"] == DR
    assert shared.outputs["drStateBucketName"] == replica.outputs["bucket"]
    assert shared.outputs["drStateKeyArn"] == key.outputs["arn"]
    assert shared.outputs["drStateBackendUrl"] == f"s3://{replica.outputs['bucket']}?region={DR}&awssdk=v2"


def test_replication_covers_the_whole_state_bucket_with_the_replica_key_and_keeps_deletes(shared: StackRun) -> None:
    (replication,) = shared.of_type(REPLICATION)
    assert replication.inputs["bucket"] == shared.one("aws:s3/bucket:Bucket", "state").id
    (rule,) = replication.inputs["rules"]
    assert rule["status"] == "Enabled" and rule["filter"] == {}  # every object
    assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    destination = rule["destination"]
    assert destination["bucket"] == shared.one("aws:s3/bucket:Bucket", "state-dr-state").outputs["arn"]
    assert destination["encryptionConfiguration"] == {
        "replicaKmsKeyId": shared.one("aws:kms/key:Key", "state-dr-key").outputs["arn"]}
    role = shared.one("aws:iam/role:Role", "state-dr-replication")
    assert replication.inputs["role"] == role.outputs["arn"]
    policy = json.loads(shared.one("aws:iam/rolePolicy:RolePolicy", "state-dr-replication").plain("policy"))
    replica_objects = f"{destination['bucket']}/.pulumi/stacks/maratron/prod.json"
    assert allows(policy, "s3:ReplicateObject", replica_objects)
    assert not allows(policy, "s3:ReplicateDelete", replica_objects)  # a delete never reaches the DR copy


def test_the_state_buckets_older_objects_have_a_batch_replication_role(shared: StackRun) -> None:
    """The runbook batch-replicates the state bucket once (.pulumi/meta.yaml and checkpoints written before
    replication began): a role S3 Batch Operations assumes, limited to the state bucket; exported (1.4.0)."""
    role = shared.one("aws:iam/role:Role", "state-dr-batch-replication")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "batchoperations.s3.amazonaws.com"}
    assert shared.outputs["stateBatchReplicationRoleArn"] == role.outputs["arn"]
    policy = json.loads(shared.one("aws:iam/rolePolicy:RolePolicy", "state-dr-batch-replication").plain("policy"))
    state = shared.one("aws:s3/bucket:Bucket", "state").outputs["arn"]
    assert allows(policy, "s3:InitiateReplication", f"{state}/.pulumi/meta.yaml")
    assert allows(policy, "s3:PutInventoryConfiguration", state)
    assert not allows(policy, "s3:InitiateReplication", shared.one("aws:s3/bucket:Bucket", "state-dr-state").outputs[
        "arn"] + "/.pulumi/meta.yaml")


def test_the_dr_stacks_secrets_key_is_in_the_dr_region(shared: StackRun) -> None:
    key = shared.one("aws:kms/key:Key", "dr-secrets")
    assert key.inputs["region"] == DR and key.protect
    alias = shared.one("aws:kms/alias:Alias", "dr-secrets")
    assert alias.inputs["name"] == "alias/maratron-pulumi-dr" and alias.inputs["region"] == DR
    assert shared.outputs["drSecretsProviders"] == {"prod": f"awskms://alias/maratron-pulumi-dr?region={DR}"}
    for env in ("dev", "staging", "prod"):  # the others stay in the foundation's region
        assert shared.one("aws:kms/key:Key", f"{env}-secrets").inputs.get("region") is None


def test_the_foundations_secrets_key_can_be_used_in_the_dr_region(shared: StackRun) -> None:
    """A StackReference decrypts the referenced stack's data key before it reads any output (pulumi/pulumi#11109),
    so the dr stack reading the foundation from the state replica needs the foundation's key with us-east-1 down:
    a multi-Region key with a replica, same alias and policy, in the replica's region (review of the org layout)."""
    key = shared.one("aws:kms/key:Key", "bootstrap-secrets")
    assert key.inputs["multiRegion"] is True
    replica = shared.one("aws:kms/replicaKey:ReplicaKey", "bootstrap-secrets-replica")
    assert replica.inputs["region"] == DR and replica.inputs["primaryKeyArn"] == key.outputs["arn"] and replica.protect
    assert json.loads(replica.inputs["policy"]) == json.loads(key.inputs["policy"])
    alias = shared.one("aws:kms/alias:Alias", "bootstrap-secrets-replica")
    assert (alias.inputs["name"], alias.inputs["region"]) == ("alias/maratron-pulumi-bootstrap", DR)
    assert alias.inputs["targetKeyId"] == replica.outputs["keyId"]
    assert key.outputs["keyId"].startswith("mrk-") and replica.outputs["keyId"] == key.outputs["keyId"]
    assert replica.outputs["arn"].split(":")[3] == DR
    runbook = (Path(__file__).resolve().parents[2] / "docs" / "runbooks" / "disaster-recovery.md").read_text()
    # the checkpoint's provider URL set to the replica's: the alias the code names, in the DR region
    assert f'"{secrets_provider_url("bootstrap", "<drRegion>")}"' in runbook and "stack import" in runbook


def test_prods_deploy_role_runs_the_dr_stack_from_the_replica(shared: StackRun) -> None:
    policy = effective_policy(shared, "maratron-deploy-prod")
    replica = f"arn:aws:s3:::{shared.outputs['drStateBucketName']}"
    key, secrets = shared.outputs["drStateKeyArn"], shared.one("aws:kms/key:Key", "dr-secrets").outputs["arn"]
    for path in (".pulumi/stacks/maratron/dr.json", ".pulumi/stacks/maratron/dr.json.bak",
                 ".pulumi/history/maratron/dr/dr-1.history.json", ".pulumi/backups/maratron/dr/dr.1.json",
                 ".pulumi/locks/organization/maratron/dr/8f1c2a.json"):
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            assert allows(policy, action, f"{replica}/{path}", WEST), (action, path)
    for path in (".pulumi/stacks/maratron-bootstrap/shared.json", ".pulumi/stacks/maratron/prod.json",
                 ".pulumi/meta.yaml"):
        assert allows(policy, "s3:GetObject", f"{replica}/{path}", WEST), path
        assert not allows(policy, "s3:PutObject", f"{replica}/{path}", WEST), path
    assert not allows(policy, "s3:PutObject", f"{replica}/.pulumi/locks/organization/maratron/prod/x.json", WEST)
    # ... and never writes the dr stack in the primary bucket: replication would copy a lock there, never its delete.
    primary = shared.one("aws:s3/bucket:Bucket", "state").outputs["arn"]
    east = {"aws:RequestedRegion": "us-east-1"}
    assert allows(policy, "s3:PutObject", f"{primary}/.pulumi/stacks/maratron/prod.json", east)
    for path in (".pulumi/stacks/maratron/dr.json", ".pulumi/locks/organization/maratron/dr/8f1c2a.json"):
        assert not allows(policy, "s3:PutObject", f"{primary}/{path}", east), path
    assert not allows(policy, "s3:GetObject", f"{replica}/.pulumi/stacks/maratron/dev.json", WEST)
    assert allows(policy, "s3:ListBucket", replica, WEST)
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert allows(policy, action, key, VIA_S3_WEST)
    assert allows(policy, "kms:Decrypt", secrets, WEST)
    for action in ("kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:DisableKey"):
        assert not allows(policy, action, key, WEST) and not allows(policy, action, secrets, WEST), action
    # Other environments' roles get nothing of it.
    dev_policy = effective_policy(shared, "maratron-deploy-dev")
    assert not allows(dev_policy, "s3:GetObject", f"{replica}/.pulumi/stacks/maratron/dev.json", WEST)
    assert not allows(dev_policy, "kms:Decrypt", secrets, WEST)


def test_prods_preview_role_reads_the_replica(shared: StackRun) -> None:
    policy = effective_policy(shared, "maratron-preview-prod")
    replica = f"arn:aws:s3:::{shared.outputs['drStateBucketName']}"
    assert allows(policy, "s3:GetObject", f"{replica}/.pulumi/stacks/maratron/dr.json", WEST)
    assert not allows(policy, "s3:PutObject", f"{replica}/.pulumi/stacks/maratron/dr.json", WEST)
    assert allows(policy, "kms:Decrypt", shared.one("aws:kms/key:Key", "dr-secrets").outputs["arn"], WEST)


def test_an_environment_account_of_prod_grants_the_replica_from_the_shared_stacks_outputs(
        org_shared: StackRun, org_prod: StackRun) -> None:
    policy = effective_policy(org_prod, "maratron-deploy-prod")
    replica = f"arn:aws:s3:::{org_shared.outputs['drStateBucketName']}"
    assert allows(policy, "s3:PutObject", f"{replica}/.pulumi/stacks/maratron/dr.json", WEST)
    assert not allows(policy, "s3:PutObject", f"{replica}/.pulumi/stacks/maratron/prod.json", WEST)
    assert allows(policy, "kms:GenerateDataKey", org_shared.outputs["drStateKeyArn"], VIA_S3_WEST)
    (key,) = [k for k in org_prod.of_type("aws:kms/key:Key") if k.inputs.get("region") == DR]
    assert allows(policy, "kms:Decrypt", key.outputs["arn"], WEST)


@pytest.mark.parametrize("config", [{f"{NS}:drRegion": "none"}, {f"{NS}:drEnvironments": "[]"}],
                         ids=["no DR region", "no DR environment"])
def test_without_any_dr_environment_none_of_it_exists(config: dict[str, str]) -> None:
    run = run_bootstrap("shared", config)
    assert run.ok, run.error_details
    assert not run.of_type(REPLICATION)
    # (the registry's replica in drRegion is the registry's own setting: tests/bootstrap/test_image_registry.py)
    assert not [r for r in run.resources if r.name.startswith(("state-dr", "dr-secrets", "bootstrap-secrets-"))]
    # ... but the key is multi-Region all the same: fixed at creation (ForceNew), so turning DR on later only adds
    # the replica instead of replacing the key every checkpoint names (review of Z35).
    assert run.one("aws:kms/key:Key", "bootstrap-secrets").inputs["multiRegion"] is True
    assert not [p for p in run.of_type("aws:iam/policy:Policy") if str(p.inputs["name"]).endswith("-dr-state")]
    assert (run.outputs["drStateBackendUrl"], run.outputs["drStateBucketName"], run.outputs["drStateKeyArn"],
            run.outputs["stateBatchReplicationRoleArn"]) == ("", "", "", "")
    assert run.outputs["drSecretsProviders"] == {}
    assert "DrBackend" not in json.dumps([json.loads(p.plain("policy"))
                                          for p in run.of_type("aws:iam/rolePolicy:RolePolicy")])
