"""Backup storage: backups, archive and access-logs buckets, hardened per environment; IAM capabilities; config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import stack_config
from offline.engine import StackRun, run_program
from tests.configs import MINIMAL_VALID, config_problems

BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
KINDS = ("backups", "archive", "access-logs")
KMS_KINDS = ("backups", "archive")


def bucket(run: StackRun, kind: str) -> Any:
    return run.one(BUCKET, f"storage-{kind}")


def part(run: StackRun, type_: str, kind: str) -> Any:
    """The configuration resource of one bucket, checked to point at that bucket and to be its child."""
    resource = run.one(type_, f"storage-{kind}")
    owner = bucket(run, kind)
    assert resource.inputs["bucket"] == owner.id
    assert resource.parent == owner.urn
    return resource


def policy(run: StackRun, kind: str) -> dict[str, Any]:
    return json.loads(part(run, POLICY, kind).inputs["policy"])


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    found = [s for s in document["Statement"] if s.get("Sid") == sid]
    assert len(found) == 1, [s.get("Sid") for s in document["Statement"]]
    return found[0]


def backups_key(run: StackRun) -> str:
    return str(run.one("aws:kms/key:Key", "keys-backups").outputs["arn"])


@pytest.mark.parametrize("kind", KINDS)
def test_every_bucket_is_versioned_private_and_owner_enforced(any_stack: StackRun, kind: str) -> None:
    assert part(any_stack, VERSIONING, kind).inputs["versioningConfiguration"] == {"status": "Enabled"}
    pab = part(any_stack, PAB, kind).inputs
    assert all(pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                         "restrictPublicBuckets"))
    assert part(any_stack, OWNERSHIP, kind).inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert bucket(any_stack, kind).inputs["bucketPrefix"] == f"maratron-{any_stack.stack}-{kind}-"


@pytest.mark.parametrize("kind", KMS_KINDS)
def test_backup_buckets_use_sse_kms_with_the_backups_key_and_bucket_keys(any_stack: StackRun, kind: str) -> None:
    [rule] = part(any_stack, SSE, kind).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                          "kmsMasterKeyId": backups_key(any_stack)}
    assert rule["bucketKeyEnabled"] is True
    assert rule["blockedEncryptionTypes"] == ["SSE-C"]


def test_access_logs_bucket_uses_sse_s3(any_stack: StackRun) -> None:
    # S3 server access logging cannot deliver into an SSE-KMS bucket.
    [rule] = part(any_stack, SSE, "access-logs").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_bucket_policy_denies_plain_http(any_stack: StackRun, kind: str) -> None:
    deny = statement(policy(any_stack, kind), "DenyInsecureTransport")
    arn = bucket(any_stack, kind).outputs["arn"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Resource"] == [arn, f"{arn}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    old_tls = statement(policy(any_stack, kind), "DenyOutdatedTls")
    assert (old_tls["Effect"], old_tls["Principal"], old_tls["Resource"]) == ("Deny", "*", [arn, f"{arn}/*"])
    assert old_tls["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
    assert part(any_stack, POLICY, kind).dependencies.count(part(any_stack, PAB, kind).urn) == 1


@pytest.mark.parametrize("kind", KMS_KINDS)
def test_backup_buckets_deny_uploads_with_other_encryption(any_stack: StackRun, kind: str) -> None:
    document = policy(any_stack, kind)
    objects = f"{bucket(any_stack, kind).outputs['arn']}/*"
    algorithm = statement(document, "DenyUploadsNotSseKms")
    assert (algorithm["Effect"], algorithm["Principal"], algorithm["Action"], algorithm["Resource"]) == (
        "Deny", "*", "s3:PutObject", objects)
    assert algorithm["Condition"] == {"Null": {"s3:x-amz-server-side-encryption": "false"},
                                      "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    key = statement(document, "DenyUploadsWithAnotherKey")
    assert (key["Effect"], key["Action"], key["Resource"]) == ("Deny", "s3:PutObject", objects)
    assert key["Condition"] == {
        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
        "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": backups_key(any_stack)}}
    # aws:kms without a key id would fall back to the AWS managed key aws/s3.
    no_key = statement(document, "DenyUploadsSseKmsWithoutKeyId")
    assert (no_key["Effect"], no_key["Action"], no_key["Resource"]) == ("Deny", "s3:PutObject", objects)
    assert no_key["Condition"] == {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                                   "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"}}
    # A request without headers gets the bucket default, which is exactly that key.
    [rule] = part(any_stack, SSE, kind).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == backups_key(any_stack)
    assert not any(s["Effect"] == "Allow" for s in document["Statement"])


def test_access_logs_bucket_admits_only_s3_log_delivery_from_this_account(any_stack: StackRun) -> None:
    document = policy(any_stack, "access-logs")
    allow = statement(document, "AllowS3ServerAccessLogDelivery")
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == f"{bucket(any_stack, 'access-logs').outputs['arn']}/*"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    # The stack's own buckets (created after this one, so matched by name): backups, archive, the ALB's log bucket,
    # and with the CDN its log bucket.
    assert allow["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:s3:::maratron-{any_stack.stack}-*"}
    target = bucket(any_stack, "access-logs").id
    sources = [any_stack.by_id(r.inputs["bucket"]) for r in any_stack.of_type(LOGGING)
               if r.inputs["targetBucket"] == target]
    cdn = ["cdn-logs"] if any_stack.config.get("maratron:cdnEnabled") != "false" else []
    assert sorted(s.name for s in sources) == [*cdn, "load-balancer-access-logs", "storage-archive",
                                               "storage-backups"]
    for source in sources:  # the real source bucket names match the pattern
        assert source.outputs["bucket"].startswith(f"maratron-{any_stack.stack}-")


@pytest.mark.parametrize("kind", KMS_KINDS)
def test_backup_buckets_log_to_the_access_logs_bucket(any_stack: StackRun, kind: str) -> None:
    logging = part(any_stack, LOGGING, kind).inputs
    assert logging["targetBucket"] == bucket(any_stack, "access-logs").id
    assert logging["targetPrefix"] == f"{kind}/"
    assert logging["targetObjectKeyFormat"] == {"partitionedPrefix": {"partitionDateSource": "EventTime"}}
    assert not any(r.inputs["bucket"] == bucket(any_stack, "access-logs").id for r in any_stack.of_type(LOGGING))


def rules(run: StackRun, kind: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in part(run, LIFECYCLE, kind).inputs["rules"]}


def test_prod_lifecycle_tiers_then_expires(prod: StackRun) -> None:
    backups = rules(prod, "backups")["expire"]
    assert backups["status"] == "Enabled" and backups["filter"] == {}
    assert backups["transitions"] == [{"storageClass": "STANDARD_IA", "days": 30},
                                      {"storageClass": "GLACIER_IR", "days": 90}]
    assert backups["expiration"] == {"days": 365}
    assert backups["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert backups["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert rules(prod, "archive")["expire"]["expiration"] == {"days": 2555}
    logs = rules(prod, "access-logs")["expire"]
    assert logs["expiration"] == {"days": 365} and "transitions" not in logs
    for kind in KINDS:
        assert rules(prod, kind)["remove-expired-delete-markers"]["expiration"] == {"expiredObjectDeleteMarker": True}


def test_dev_lifecycle_is_short_and_never_tiers(dev: StackRun) -> None:
    backups = rules(dev, "backups")["expire"]
    assert "transitions" not in backups
    assert backups["expiration"] == {"days": 7} and backups["noncurrentVersionExpiration"] == {"noncurrentDays": 1}
    assert rules(dev, "archive")["expire"]["expiration"] == {"days": 30}
    assert rules(dev, "access-logs")["expire"]["expiration"] == {"days": 30}


@pytest.mark.parametrize(("stack", "mode", "days", "archive_days"), [
    ("dev", "GOVERNANCE", 1, 30), ("staging", "GOVERNANCE", 7, 90), ("prod", "COMPLIANCE", 30, 2555)])
def test_backups_bucket_has_object_lock(run_variant: Any, stack: str, mode: str, days: int,
                                        archive_days: int) -> None:
    run = run_variant(stack)
    assert bucket(run, "backups").inputs["objectLockEnabled"] is True
    lock = part(run, LOCK, "backups")
    assert lock.inputs["objectLockEnabled"] == "Enabled"
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": mode, "days": days}}
    assert part(run, VERSIONING, "backups").urn in lock.dependencies
    # The archive is locked for its whole retention (the backup task writes the month's dump there; an overwrite
    # would otherwise expire the original as a noncurrent version: red-team review); the access logs are not.
    assert sorted(r.name for r in run.of_type(LOCK) if r.name.startswith("storage-")) == [
        "storage-archive", "storage-backups"]
    assert bucket(run, "archive").inputs["objectLockEnabled"] is True
    assert part(run, LOCK, "archive").inputs["rule"] == {"defaultRetention": {"mode": mode, "days": archive_days}}
    assert run.config.get("maratron:archiveExpirationDays", "2555") == str(archive_days)


def test_prod_buckets_are_protected_retained_and_never_force_destroyed(prod: StackRun) -> None:
    for kind in KINDS:
        resource = bucket(prod, kind)
        assert resource.protect is True and resource.retain_on_delete is True
        assert resource.inputs["forceDestroy"] is False


def test_dev_buckets_may_be_destroyed(dev: StackRun) -> None:
    for kind in KINDS:
        resource = bucket(dev, kind)
        assert resource.protect is False and resource.retain_on_delete is False
        assert resource.inputs["forceDestroy"] is True


def test_outputs(any_stack: StackRun) -> None:
    outputs = any_stack.plain_outputs()
    assert outputs["backupsBucketName"] == bucket(any_stack, "backups").outputs["bucket"]
    assert outputs["walBucketName"] == bucket(any_stack, "archive").outputs["bucket"]
    assert outputs["accessLogsBucketName"] == bucket(any_stack, "access-logs").outputs["bucket"]


def test_snapshot_export_role_writes_only_the_exports_prefix(prod: StackRun) -> None:
    role = prod.one("aws:iam/role:Role", "storage-snapshot-export")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "export.rds.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    document = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "storage-snapshot-export").inputs["policy"])
    arn = bucket(prod, "archive").outputs["arn"]
    s3 = [s for s in document["Statement"] if s["Action"][0].startswith("s3:")]
    assert sorted(r for s in s3 for r in s["Resource"]) == sorted([arn, f"{arn}/exports/*"])
    # The export writes with the archive bucket's key: exactly AWS's KMS action set, on that key only.
    (kms,) = [s for s in document["Statement"] if s["Action"][0].startswith("kms:")]
    assert kms["Action"] == ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                             "kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"]
    assert kms["Resource"] == [prod.one("aws:kms/key:Key", "keys-backups").outputs["arn"]]


def test_capability_statements(tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    program.write_text('''
import json
import pulumi
import pulumi_aws as aws
from components.backup_storage import BackupStorage, BackupStorageArgs
from components.base import AwsContext, policy_json
ctx = AwsContext(account_id="123456789012", partition="aws", region="eu-west-1")
key = aws.kms.Key("backups")
storage = BackupStorage("storage", BackupStorageArgs(context=ctx, key=key))
aws.iam.Policy("writer", policy=policy_json(storage.write_backups_statements()))
aws.iam.Policy("reader", policy=policy_json(storage.read_backups_statements("postgresql/")))
''')
    run = run_program("unit", {"aws:region": "eu-west-1"}, [], program=program)
    assert run.ok, run.error_details
    backups = run.one(BUCKET, "storage-backups").outputs["arn"]
    key = run.one("aws:kms/key:Key", "backups").outputs["arn"]
    via_s3 = {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    writer = json.loads(run.one("aws:iam/policy:Policy", "writer").inputs["policy"])["Statement"]
    assert writer == [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
         "Resource": [f"{backups}/postgresql/*"]},
        {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": [key],
         "Condition": via_s3},
    ]
    reader = json.loads(run.one("aws:iam/policy:Policy", "reader").inputs["policy"])["Statement"]
    assert {a for s in reader for a in s["Action"]} == {
        "s3:ListBucket", "s3:ListBucketVersions", "s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt"}
    assert not any("Delete" in a or "Put" in a for s in reader for a in s["Action"])
    assert [f"{backups}/postgresql/*"] in [s["Resource"] for s in reader]
    # Component defaults are the production-grade ones: COMPLIANCE lock, no force destroy.
    assert run.one(LOCK, "storage-backups").inputs["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 30}
    assert run.one(BUCKET, "storage-backups").inputs["forceDestroy"] is False


def test_the_backup_job_copies_each_months_first_dump_into_the_archive(prod: StackRun) -> None:
    """The archive keeps dumps for years (docs/storage-and-backups.md); the backups bucket expires them after
    backupExpirationDays. Before this, nothing ever wrote under dumps/: the promised long-term copies did not exist."""
    archive = prod.one(BUCKET, "storage-archive")
    task = prod.one("aws:ecs/taskDefinition:TaskDefinition", "backup")
    (container,) = json.loads(task.inputs["containerDefinitions"])
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert (env["ARCHIVE_BUCKET"], env["ARCHIVE_PREFIX"]) == (archive.outputs["bucket"], "dumps/prod/")
    statements = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "backup-task").inputs["policy"])["Statement"]
    on_archive = [s for s in statements if any(archive.outputs["arn"] in r for r in s["Resource"])]
    assert on_archive == [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [archive.outputs["arn"]],
         "Condition": {"StringLike": {"s3:prefix": ["dumps/prod/*"]}}},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
         "Resource": [f"{archive.outputs['arn']}/dumps/prod/*"]},
    ]
    # ... and the restore check may read them back (restore_check.sh --archive-key), nothing else of the archive.
    check = prod.one("aws:ecs/taskDefinition:TaskDefinition", "backup-restore-check")
    (check_container,) = json.loads(check.inputs["containerDefinitions"])
    check_env = {e["name"]: e["value"] for e in check_container["environment"]}
    assert check_env["ARCHIVE_BUCKET"] == archive.outputs["bucket"]
    check_statements = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "backup-restore-check-task").inputs[
        "policy"])["Statement"]
    reads = [s for s in check_statements if any(archive.outputs["arn"] in r for r in s["Resource"])]
    assert {a for s in reads for a in s["Action"]} == {"s3:ListBucket", "s3:ListBucketVersions", "s3:GetObject",
                                                       "s3:GetObjectVersion"}
    assert [f"{archive.outputs['arn']}/dumps/prod/*"] in [s["Resource"] for s in reads]
    # Kept for years: the archive's expiration is the archive setting's, not the dumps'.
    rules = prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "storage-archive")
    assert max(r.get("expiration", {}).get("days", 0) for r in rules.inputs["rules"]) >= 7 * 365


def test_args_refuse_unsafe_combinations() -> None:
    from components.backup_storage import BackupStorageArgs, BackupStorageSettings
    from components.base import AwsContext

    ctx = AwsContext(account_id="1", partition="aws", region="us-east-1")
    with pytest.raises(ValueError, match="force_destroy needs removal_policy destroy"):
        BackupStorageArgs(context=ctx, key=None,  # type: ignore[arg-type]
                          settings=BackupStorageSettings(lock_mode="GOVERNANCE", force_destroy=True))
    with pytest.raises(ValueError, match="backupForceDestroy = true: cannot be true with backupLockMode COMPLIANCE"):
        BackupStorageArgs(context=ctx, key=None, settings=BackupStorageSettings(force_destroy=True))  # type: ignore


# --- configuration --------------------------------------------------------------------------------------------------

GOOD = dict(MINIMAL_VALID)


def problems(**changes: str) -> list[str]:
    raw = {**GOOD, **{(k if ":" in k else f"maratron:{k}"): v for k, v in changes.items()}}
    found = config_problems(raw)
    assert found, "the configuration loads: expected problems"
    return found


def test_schema_defaults_are_production_grade() -> None:
    storage = stack_config.load(GOOD, stack="t").storage
    assert (storage.lock_mode, storage.lock_days, storage.force_destroy) == ("COMPLIANCE", 30, False)
    assert (storage.transition_days, storage.archive_days, storage.backup_expiration_days) == (30, 90, 365)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"backupLockMode": "LEGAL_HOLD"}, 'maratron:backupLockMode = "LEGAL_HOLD": must be one of GOVERNANCE, COMPLIANCE'),
    ({"backupLockDays": "0"}, "maratron:backupLockDays = 0: must be between 1 and 3650"),
    ({"backupLockDays": "400"}, "maratron:backupLockDays = 400: must not exceed backupExpirationDays (365)"),
    ({"backupTransitionDays": "10"}, "maratron:backupTransitionDays = 10: must be 0 (never) or >= 30"),
    ({"backupArchiveDays": "45"}, "maratron:backupArchiveDays = 45: must be 0 (never) or >= backupTransitionDays + 30"),
    ({"backupExpirationDays": "60"}, "maratron:backupExpirationDays = 60: must be greater than the last transition"),
    ({"archiveExpirationDays": "90"}, "maratron:archiveExpirationDays = 90: must be greater than the last transition"),
    ({"archiveExpirationDays": "4000"}, "maratron:archiveExpirationDays = 4000: must be between 1 and 3650"),
    ({"backupNoncurrentVersionDays": "0"}, "maratron:backupNoncurrentVersionDays = 0: must be between 1 and 3650"),
    ({"backupAbortMultipartDays": "0"}, "maratron:backupAbortMultipartDays = 0: must be between 1 and 365"),
    ({"backupForceDestroy": "maybe"}, 'maratron:backupForceDestroy = "maybe": must be true or false'),
    ({"backupForceDestroy": "true"},
     "maratron:backupForceDestroy = true: cannot be true with backupLockMode COMPLIANCE"),
    ({"backupForceDestroy": "true", "environment": "prod", "natGateways": "perAz", "backupLockMode": "GOVERNANCE",
      "removalPolicy": "destroy"}, "maratron:backupForceDestroy = true: must be false in prod"),
    ({"backupForceDestroy": "true", "backupLockMode": "GOVERNANCE"},
     "maratron:backupForceDestroy = true: needs removalPolicy = destroy (retained buckets are never emptied)"),
])
def test_each_bad_storage_value_names_key_value_and_rule(changes: dict[str, str], expected: str) -> None:
    found = problems(**changes)
    assert any(expected in p for p in found), found


def test_transitions_can_be_switched_off() -> None:
    storage = stack_config.load({**GOOD, "maratron:backupTransitionDays": "0", "maratron:backupArchiveDays": "0",
                                 "maratron:backupExpirationDays": "7", "maratron:backupLockDays": "7"},
                                stack="t").storage
    assert (storage.transition_days, storage.archive_days, storage.backup_expiration_days) == (0, 0, 7)
