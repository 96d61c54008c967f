"""SecureBucket: the one place every bucket's hardening lives, and its explicit log-target exceptions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.base import AwsContext
from components.constants import S3_SSE_C_KEY, S3_SSE_KEY, S3_SSE_KMS_KEY_ID_KEY, S3_TLS_VERSION_KEY
from components.secure_bucket import (
    ElbAccessLogTarget,
    Lifecycle,
    ObjectLock,
    SecureBucketArgs,
    ServerAccessLogTarget,
)
from offline.engine import Resource, StackRun, run_program
from offline.iam_eval import denies

PROGRAM = '''
import pulumi_aws as aws

from components.base import AwsContext
from components.secure_bucket import (
    ElbAccessLogTarget, Lifecycle, ObjectLock, SecureBucket, SecureBucketArgs, ServerAccessLogTarget, transitions)

ctx = AwsContext(account_id="123456789012", partition="aws", region="eu-central-2")
key = aws.kms.Key("data")
logs = SecureBucket("logs", SecureBucketArgs(
    context=ctx, bucket_prefix="t-logs-", lifecycle=Lifecycle(expiration_days=90), access_logs=None,
    log_target=ServerAccessLogTarget(source_bucket_prefix="t-")))
SecureBucket("data", SecureBucketArgs(
    context=ctx, bucket_prefix="t-data-", kms_key=key, access_logs=logs.access_logs_for("data/"),
    object_lock=ObjectLock(mode="GOVERNANCE", days=3),
    lifecycle=Lifecycle(expiration_days=400, transitions=transitions((30, "STANDARD_IA"), (0, "GLACIER_IR")))))
SecureBucket("elb", SecureBucketArgs(
    context=ctx, bucket_prefix="t-elb-", log_target=ElbAccessLogTarget(prefix="lb"),
    access_logs=logs.access_logs_for("elb/"), lifecycle=Lifecycle(expiration_days=30)))
SecureBucket("elb-jakarta", SecureBucketArgs(
    context=ctx, region="ap-southeast-3", bucket_prefix="t-elb-jkt-", log_target=ElbAccessLogTarget(prefix="lb"),
    access_logs=None, lifecycle=Lifecycle(expiration_days=30)))
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> StackRun:
    program = tmp_path_factory.mktemp("secure-bucket") / "program.py"
    program.write_text(PROGRAM)
    result = run_program("test", {"aws:region": "eu-central-2"}, [], program=program)
    assert result.ok, result.error_details
    return result


def part(run: StackRun, kind: str, name: str) -> Resource:
    resource = run.one(f"aws:s3/{kind}", name)
    assert resource.parent == run.one("aws:s3/bucket:Bucket", name).urn  # configuration lives under its bucket
    return resource


def statements(run: StackRun, name: str) -> dict[str, dict[str, Any]]:
    policy = json.loads(part(run, "bucketPolicy:BucketPolicy", name).inputs["policy"])
    return {s["Sid"]: s for s in policy["Statement"]}


@pytest.mark.parametrize("name", ["logs", "data", "elb"])
def test_every_bucket_gets_the_same_baseline(run: StackRun, name: str) -> None:
    bucket = run.one("aws:s3/bucket:Bucket", name)
    assert bucket.protect and bucket.retain_on_delete and bucket.inputs["forceDestroy"] is False
    assert part(run, "bucketVersioning:BucketVersioning", name).inputs["versioningConfiguration"] == {
        "status": "Enabled"}
    pab = part(run, "bucketPublicAccessBlock:BucketPublicAccessBlock", name).inputs
    assert all(pab[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                               "restrictPublicBuckets"))
    assert part(run, "bucketOwnershipControls:BucketOwnershipControls", name).inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}
    [rule] = part(run, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                  name).inputs["rules"]
    assert rule["blockedEncryptionTypes"] == ["SSE-C"]
    found = statements(run, name)
    assert {"DenyInsecureTransport", "DenyOutdatedTls", "DenySseCUploads"} <= set(found)
    assert found["DenySseCUploads"]["Condition"] == {
        "Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}}
    lifecycle = part(run, "bucketLifecycleConfiguration:BucketLifecycleConfiguration", name)
    assert [r["id"] for r in lifecycle.inputs["rules"]] == ["expire", "remove-expired-delete-markers"]
    assert part(run, "bucketVersioning:BucketVersioning", name).urn in lifecycle.dependencies
    policy = part(run, "bucketPolicy:BucketPolicy", name)
    assert part(run, "bucketPublicAccessBlock:BucketPublicAccessBlock", name).urn in policy.dependencies


def test_a_data_bucket_is_sse_kms_with_its_own_key_only(run: StackRun) -> None:
    key = run.one("aws:kms/key:Key", "data").outputs["arn"]
    [rule] = part(run, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                  "data").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}
    assert rule["bucketKeyEnabled"] is True
    found = statements(run, "data")
    assert found["DenyUploadsWithAnotherKey"]["Condition"] == {
        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
        "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key}}
    assert {"DenyUploadsNotSseKms", "DenyUploadsSseKmsWithoutKeyId"} <= set(found)
    lock = part(run, "bucketObjectLockConfiguration:BucketObjectLockConfiguration", "data")
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": "GOVERNANCE", "days": 3}}
    expire = part(run, "bucketLifecycleConfiguration:BucketLifecycleConfiguration", "data").inputs["rules"][0]
    assert expire["transitions"] == [{"days": 30, "storageClass": "STANDARD_IA"}]  # 0 days = never
    assert (expire["noncurrentVersionExpiration"], expire["abortIncompleteMultipartUpload"]) == (
        {"noncurrentDays": 30}, {"daysAfterInitiation": 7})


def test_log_targets_are_the_documented_sse_s3_exceptions(run: StackRun) -> None:
    for name in ("logs", "elb"):
        [rule] = part(run, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                      name).inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
        assert statements(run, name)["DenyUploadsNotSseS3"]["Condition"] == {
            "Null": {"s3:x-amz-server-side-encryption": "false"},
            "StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}
    delivery = statements(run, "logs")["AllowS3ServerAccessLogDelivery"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"},
                                     "ArnLike": {"aws:SourceArn": "arn:aws:s3:::t-*"}}
    elb = statements(run, "elb")
    arn = run.one("aws:s3/bucket:Bucket", "elb").outputs["arn"]
    assert elb["ElbLogDelivery"]["Resource"] == f"{arn}/lb/AWSLogs/123456789012/*"
    assert "ElbLogDeliveryRegionalAccount" not in elb  # a Region newer than the regional ELB accounts
    # Jakarta (December 2021) is among the Regions "available before August 2022" whose ELB delivers as its regional
    # account (589379963580; ELB user guide, "Enable access logs for your Application Load Balancer").
    assert "ElbLogDeliveryRegionalAccount" in statements(run, "elb-jakarta")


WRITER = {"AWS": "arn:aws:iam::123456789012:role/maratron/ci/prod-deploy"}
OVER_TLS = {"aws:SecureTransport": "true", S3_TLS_VERSION_KEY: "1.3"}


def test_uploads_that_ask_for_no_encryption_pass_and_wrong_ones_are_denied(run: StackRun) -> None:
    """Evaluated as IAM does: the Pulumi CLI writes its state without SSE headers, UploadPart carries none, and log
    delivery asks for none; the bucket default encrypts them. A Deny whose condition holds for a missing header
    (`StringNotEqualsIfExists`, or `StringNotEquals` alone) would refuse them all, whatever the writer's own
    permissions; what asks for another encryption, another key, SSE-C or old TLS is refused."""
    key = run.one("aws:kms/key:Key", "data").outputs["arn"]
    for name, own in (("data", {S3_SSE_KEY: "aws:kms", S3_SSE_KMS_KEY_ID_KEY: key}), ("logs", {S3_SSE_KEY: "AES256"}),
                      ("elb", {S3_SSE_KEY: "AES256"})):
        policy = part(run, "bucketPolicy:BucketPolicy", name).inputs["policy"]
        target = run.one("aws:s3/bucket:Bucket", name).outputs["arn"] + "/.pulumi/stacks/maratron/prod.json"

        def denied(context: dict[str, str], action: str = "s3:PutObject", p: str = policy, o: str = target) -> bool:
            return denies(p, action, o, context, principal=WRITER)

        assert not denied(OVER_TLS), name  # no SSE header: the bucket default applies
        assert not denied({**OVER_TLS, **own}), name
        assert not denied(OVER_TLS, "s3:GetObject"), name
        wrong = [{S3_SSE_KEY: "aws:kms", S3_SSE_KMS_KEY_ID_KEY: key} if name != "data" else {S3_SSE_KEY: "AES256"},
                 {S3_SSE_C_KEY: "AES256"}]
        if name == "data":
            wrong += [{S3_SSE_KEY: "aws:kms"}, {S3_SSE_KEY: "aws:kms", S3_SSE_KMS_KEY_ID_KEY: key + "-other"}]
        for asked in wrong:
            assert denied({**OVER_TLS, **asked}), (name, asked)
        assert denied({"aws:SecureTransport": "false"}, "s3:GetObject"), name
        assert denied({**OVER_TLS, S3_TLS_VERSION_KEY: "1.1"}, "s3:GetObject"), name


def test_the_pack_refuses_a_deny_that_holds_for_uploads_asking_for_no_encryption(run: StackRun) -> None:
    """The broken form, the policy this component wrote before (IfExists), fails the pack with the reason."""
    from types import SimpleNamespace

    from policies.rules.storage import _policy_denies

    document = json.loads(part(run, "bucketPolicy:BucketPolicy", "data").inputs["policy"])
    reasons: list[str] = []
    _policy_denies(SimpleNamespace(props={"policy": json.dumps(document)}),  # type: ignore[arg-type]
                   lambda message, urn: reasons.append(message))
    assert reasons == []
    for statement in document["Statement"]:
        if statement["Sid"] in ("DenyUploadsNotSseKms", "DenyUploadsWithAnotherKey"):
            statement["Condition"] = {"StringNotEqualsIfExists": statement["Condition"]["StringNotEquals"]}
    _policy_denies(SimpleNamespace(props={"policy": json.dumps(document)}),  # type: ignore[arg-type]
                   lambda message, urn: reasons.append(message))
    assert sum("denies every upload that names no encryption" in r for r in reasons) == 2, reasons


def test_access_logs_go_to_the_log_bucket_and_the_log_bucket_logs_nowhere(run: StackRun) -> None:
    logs = run.one("aws:s3/bucket:Bucket", "logs").id
    targets = {r.name: (r.inputs["targetBucket"], r.inputs["targetPrefix"])
               for r in run.of_type("aws:s3/bucketLogging:BucketLogging")}
    assert targets == {"data": (logs, "data/"), "elb": (logs, "elb/")}


CTX = AwsContext("123456789012", "aws", "us-east-1")
BASE: dict[str, Any] = {"context": CTX, "bucket_prefix": "t-x-", "lifecycle": Lifecycle(expiration_days=1)}


@pytest.mark.parametrize(("changes", "message"), [
    ({"access_logs": None}, "set kms_key .* or log_target .*, exactly one"),
    ({"access_logs": None, "kms_key": "k", "log_target": ElbAccessLogTarget()}, "exactly one"),
    ({"access_logs": "somewhere", "log_target": ServerAccessLogTarget("t-")}, "does not log into another bucket"),
    ({"access_logs": None, "kms_key": "k", "force_destroy": True}, "force_destroy needs removal_policy destroy"),
    ({"access_logs": None, "kms_key": "k", "force_destroy": True, "removal_policy": "destroy",
      "object_lock": ObjectLock("COMPLIANCE", 1)}, "COMPLIANCE Object Lock"),
    ({"access_logs": None, "kms_key": "k", "bucket_prefix": "x" * 38}, "3-37 characters"),
])
def test_args_refuse_what_would_weaken_a_bucket(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SecureBucketArgs(**{**BASE, **changes})


def test_access_logging_has_no_default() -> None:
    with pytest.raises(TypeError, match="access_logs"):
        SecureBucketArgs(context=CTX, bucket_prefix="t-x-", lifecycle=Lifecycle(expiration_days=1),  # type: ignore
                         kms_key="k")
