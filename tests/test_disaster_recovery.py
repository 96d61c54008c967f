"""Disaster recovery: the DR region's key and locked replica buckets, least-privilege S3 replication, RDS backup
replication, the daily restore drill, the config story (paired by default, opt-out, prod rule, DR restore), and the
DR stack file (Pulumi.dr.yaml)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import stack_config
from components.disaster_recovery import DR_REGION_PAIRS, DisasterRecoverySettings, needed_drill_storage_gib
from components.observability import BackupWatch
from components.restore_drill import dump_stale_hours
from offline.critical_path import analyse
from offline.engine import StackRun
from tests.configs import MINIMAL_VALID, PROD_VARIANT

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
BACKUPS_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
SCHEDULE = "aws:scheduler/schedule:Schedule"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
DR = DR_REGION_PAIRS["us-east-1"]  # prod's paired DR region


def dr_children(run: StackRun) -> list[Any]:
    return list(run.descendants(run.one("maratron:data:DisasterRecovery")))


def bucket_arn(run: StackRun, name: str) -> str:
    return str(run.one(BUCKET, name).outputs["arn"])


def key_arn(run: StackRun, name: str) -> str:
    return str(run.one(KEY, name).outputs["arn"])


def role_statements(run: StackRun) -> dict[str, dict[str, Any]]:
    policy = run.one("aws:iam/rolePolicy:RolePolicy", "dr-replication")
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


# --- the DR region's resources ---------------------------------------------------------------------------------------

def test_prod_keeps_its_copy_in_the_paired_region_and_dev_staging_keep_none(prod: StackRun, dev: StackRun,
                                                                            staging: StackRun) -> None:
    regional = [r for r in dr_children(prod) if r.custom and r.type not in ("aws:iam/role:Role",
                                                                            "aws:iam/rolePolicy:RolePolicy",
                                                                            REPLICATION)]
    assert regional and {r.inputs.get("region") for r in regional} == {DR}
    # The replication configurations live on the source buckets, in the stack's own region.
    assert {r.inputs.get("region") for r in prod.of_type(REPLICATION)} == {None}
    for run in (dev, staging):
        assert run.config["maratron:drRegion"] == "none"
        assert dr_children(run) == [] and run.of_type(REPLICATION) == [] and run.of_type(BACKUPS_REPLICATION) == []
        assert all(run.outputs[k] == "" for k in ("drRegion", "drBackupsBucketName", "restoreDrillScheduleName"))


def test_dr_key_is_a_rotating_protected_cmk_of_the_dr_region(prod: StackRun) -> None:
    key = prod.one(KEY, "dr-key")
    assert key.inputs["region"] == DR and key.inputs["enableKeyRotation"] is True and key.protect
    assert key.outputs["arn"].startswith(f"arn:aws:kms:{DR}:")
    alias = prod.one("aws:kms/alias:Alias", "dr-key")
    assert alias.inputs["name"] == "alias/maratron-prod-dr" and alias.inputs["region"] == DR
    assert prod.outputs["drKmsKeyArn"] == key.outputs["arn"] and prod.outputs["drRegion"] == DR


@pytest.mark.parametrize(("label", "storage_class", "locked"), [("backups", "STANDARD_IA", True),
                                                                ("archive", "GLACIER_IR", True)])
def test_replica_buckets_are_hardened_in_the_dr_region(prod: StackRun, label: str, storage_class: str,
                                                       locked: bool) -> None:
    replica = prod.one(BUCKET, f"dr-{label}")
    assert replica.inputs["bucketPrefix"] == f"maratron-prod-{label}-dr-" and replica.protect
    assert replica.retain_on_delete
    [sse] = prod.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                     f"dr-{label}").inputs["rules"]
    assert sse["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                         "kmsMasterKeyId": key_arn(prod, "dr-key")}
    assert prod.one("aws:s3/bucketVersioning:BucketVersioning", f"dr-{label}").inputs["versioningConfiguration"] == \
        {"status": "Enabled"}
    # Server access logs stay in the DR region: a log bucket there, unlocked (S3 refuses a locked log target).
    logging = prod.one("aws:s3/bucketLogging:BucketLogging", f"dr-{label}")
    log_bucket = prod.one(BUCKET, "dr-access-logs")
    assert logging.inputs["targetBucket"] == log_bucket.id and log_bucket.inputs["region"] == DR
    assert "objectLockEnabled" not in log_bucket.inputs
    source_lock = prod.one(LOCK, f"storage-{label}").inputs["rule"]
    if locked:  # a locked source needs a locked replica (DstBucketObjectLockConfigMissing), held as long
        assert replica.inputs["objectLockEnabled"] is True
        assert prod.one(LOCK, f"dr-{label}").inputs["rule"] == source_lock
    else:
        assert "objectLockEnabled" not in replica.inputs
    rule = next(r for r in prod.one(REPLICATION, f"dr-{label}").inputs["rules"])
    assert rule["destination"]["storageClass"] == storage_class
    # Replicas expire like their sources (replication does not copy lifecycle rules).
    lifecycle = prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", f"dr-{label}")
    expected_days = {"backups": 365, "archive": 2555}[label]
    assert lifecycle.inputs["rules"][0]["expiration"] == {"days": expected_days}


def test_replication_rule_keeps_deletes_out_and_encrypts_with_the_dr_key(prod: StackRun) -> None:
    for label, source in (("backups", "storage-backups"), ("archive", "storage-archive")):
        config = prod.one(REPLICATION, f"dr-{label}")
        assert config.inputs["bucket"] == prod.one(BUCKET, source).id
        assert config.inputs["role"] == prod.one("aws:iam/role:Role", "dr-replication").outputs["arn"]
        [rule] = config.inputs["rules"]
        assert rule["status"] == "Enabled" and rule["id"] == "dr" and rule["filter"] == {}
        assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
        assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
        destination = rule["destination"]
        assert destination["bucket"] == bucket_arn(prod, f"dr-{label}")
        assert destination["encryptionConfiguration"] == {"replicaKmsKeyId": key_arn(prod, "dr-key")}
        assert destination["metrics"] == {"status": "Enabled"} and "replicationTime" not in destination
        # S3 refuses the configuration before both buckets are versioned; the locked replica's lock comes first.
        versionings = {prod.one("aws:s3/bucketVersioning:BucketVersioning", n).urn for n in (source, f"dr-{label}")}
        assert versionings <= set(config.dependencies)
        if label == "backups":
            assert prod.one(LOCK, "dr-backups").urn in config.dependencies


def test_replication_time_control_is_a_setting(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **PROD_VARIANT)  # drReplicationTimeControl true, with other parts' settings: one run
    assert run.ok, run.error_details
    assert run.config["maratron:drReplicationTimeControl"] == "true"
    destination = run.one(REPLICATION, "dr-backups").inputs["rules"][0]["destination"]
    assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert destination["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}


def test_replication_role_is_least_privilege_on_exact_arns(prod: StackRun) -> None:
    role = prod.one("aws:iam/role:Role", "dr-replication")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    statements = role_statements(prod)
    sources = [bucket_arn(prod, "storage-backups"), bucket_arn(prod, "storage-archive")]
    replicas = [bucket_arn(prod, "dr-backups"), bucket_arn(prod, "dr-archive")]
    assert statements["ReadReplicationConfiguration"]["Resource"] == sources
    assert statements["ReadSourceVersions"]["Resource"] == [f"{arn}/*" for arn in sources]
    assert {"s3:GetObjectRetention", "s3:GetObjectLegalHold"} <= set(statements["ReadSourceVersions"]["Action"])
    writes = statements["WriteReplicas"]
    assert writes["Action"] == ["s3:ReplicateObject", "s3:ReplicateTags"]  # no s3:ReplicateDelete
    assert writes["Resource"] == [f"{arn}/*" for arn in replicas]
    decrypt = statements["DecryptSources"]
    assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Resource"] == [key_arn(prod, "keys-backups")]
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    assert decrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"] == [
        a for arn in sources for a in (arn, f"{arn}/*")]
    encrypt = statements["EncryptReplicas"]
    assert encrypt["Resource"] == [key_arn(prod, "dr-key")]
    assert set(encrypt["Action"]) == {"kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"}
    assert encrypt["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{DR}.amazonaws.com"}
    assert all("*" not in json.dumps(s["Resource"]).replace("/*", "") for s in statements.values())


def test_batch_replication_has_a_batch_operations_role_for_the_objects_that_predate_replication(
        prod: StackRun, dev: StackRun) -> None:
    """Live replication copies new objects only; the runbook's S3 Batch Replication job (A.4) needs a role that Batch
    Operations may assume (the replication role trusts s3.amazonaws.com only) with AWS's policy for a generated,
    unstored manifest: initiate replication of the sources' objects, read their replication configuration and put
    an inventory configuration. Exported for `create-job --role-arn`; none without DR."""
    from offline.iam_eval import allows

    role = prod.one("aws:iam/role:Role", "dr-batch-replication")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "batchoperations.s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    assert prod.outputs["drBatchReplicationRoleArn"] == role.outputs["arn"]
    policy = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "dr-batch-replication").plain("policy"))
    for source in (bucket_arn(prod, "storage-backups"), bucket_arn(prod, "storage-archive")):
        assert allows(policy, "s3:InitiateReplication", f"{source}/dumps/x.dump")
        assert allows(policy, "s3:GetReplicationConfiguration", source)
        assert allows(policy, "s3:PutInventoryConfiguration", source)
        assert not allows(policy, "s3:GetObject", f"{source}/dumps/x.dump")  # replication copies, not this role
    replica = bucket_arn(prod, "dr-backups")
    assert not allows(policy, "s3:InitiateReplication", f"{replica}/x") and not allows(policy, "s3:ReplicateObject",
                                                                                        f"{replica}/x")
    assert dev.outputs["drBatchReplicationRoleArn"] == "" and not [
        r for r in dev.of_type("aws:iam/role:Role") if r.name.endswith("batch-replication")]


def test_rds_automated_backups_replicate_to_the_dr_region_with_its_key(prod: StackRun) -> None:
    replication = prod.one(BACKUPS_REPLICATION)
    primary = prod.one("aws:rds/instance:Instance", "database-primary")
    assert replication.inputs["sourceDbInstanceArn"] == primary.outputs["arn"]
    assert replication.inputs["region"] == DR and replication.inputs["kmsKeyId"] == key_arn(prod, "dr-key")
    assert replication.inputs["retentionPeriod"] == 14
    assert prod.outputs["drDatabaseBackupsArn"] == replication.id
    assert replication.id.startswith(f"arn:aws:rds:{DR}:123456789012:auto-backup:ab-")
    # Every input forces a replacement, and old and new name the one replication of the instance: the default
    # create-before-delete would start a running replication, then stop it with the old copy's delete.
    assert replication.delete_before_replace


def closure(run: StackRun, urn: str) -> set[str]:
    """Everything the engine waits for before creating `urn`, transitively (the deploy-time model's waits)."""
    try:
        from offline.critical_path import waits_for  # type: ignore[attr-defined]
    except ImportError:
        from bench.deploy_path import waits_for
    seen: set[str] = set()
    pending = [urn]
    while pending:
        for before in waits_for(run, pending.pop()):
            if before not in seen:
                seen.add(before)
                pending.append(before)
    return seen


def test_dr_resources_are_off_the_apps_path(prod: StackRun) -> None:
    path = analyse(prod)
    assert path.met and not path.offenders
    dr = {r.urn for r in dr_children(prod) if r.custom} | {r.urn for r in prod.of_type(SCHEDULE)}
    for service in prod.of_type("aws:ecs/service:Service"):
        assert not (closure(prod, service.urn) & dr), service.name
    # The RDS replication starts after the primary; nothing waits for it.
    replication = prod.one(BACKUPS_REPLICATION).urn
    assert not any(replication in closure(prod, r.urn) for r in prod.resources if r.custom)


# --- the restore drill -----------------------------------------------------------------------------------------------

def drill_container(run: StackRun) -> dict[str, Any]:
    (container,) = json.loads(run.one(TASK, "restore-drill").inputs["containerDefinitions"])
    return container


def test_drill_runs_the_backup_images_drill_against_the_dr_replica(prod: StackRun) -> None:
    task = prod.one(TASK, "restore-drill")
    container = drill_container(prod)
    backup_container = json.loads(prod.one(TASK, "backup").inputs["containerDefinitions"])[0]
    assert container["image"] == backup_container["image"] and container["command"] == ["restore_drill.sh"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env == {"DR_BUCKET": prod.outputs["drBackupsBucketName"], "DR_REGION": DR, "ENVIRONMENT": "prod",
                   "METRIC_REGION": "us-east-1", "METRIC_NAMESPACE": "maratron-prod/restore-drill",
                   "HOME": "/tmp"}
    assert container["secrets"] == [] and "portMappings" not in container  # no secret, no listener
    assert container["user"] == "1001:1001" and container["readonlyRootFilesystem"] is True
    assert [m["containerPath"] for m in container["mountPoints"]] == ["/tmp"]
    assert (task.inputs["cpu"], task.inputs["memory"]) == ("1024", "4096")
    assert task.inputs["ephemeralStorage"] == {"sizeInGib": 200}  # prod's 500 GiB ceiling needs Fargate's maximum


def test_drill_role_reads_only_the_dump_prefix_of_the_replica(prod: StackRun) -> None:
    statements = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "restore-drill-task").inputs["policy"])[
        "Statement"]
    replica = bucket_arn(prod, "dr-backups")
    assert statements == [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [replica],
         "Condition": {"StringLike": {"s3:prefix": ["postgresql/prod/*"]}}},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"{replica}/postgresql/prod/*"]},
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key_arn(prod, "dr-key")],
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{DR}.amazonaws.com"}}},
        {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": "maratron-prod/restore-drill"}}},
    ]
    # The task's security group opens nothing inbound; no grant reaches the database.
    group = prod.one("aws:ec2/securityGroup:SecurityGroup", "restore-drill-sg")
    ingress = [r for r in prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.inputs["securityGroupId"] == group.id]
    assert ingress == []


def test_drill_is_scheduled_daily_in_private_subnets(prod: StackRun) -> None:
    schedule = prod.one(SCHEDULE, "restore-drill-schedule").inputs
    assert schedule["scheduleExpression"] == "cron(30 5 * * ? *)" and schedule["state"] == "ENABLED"
    ecs = schedule["target"]["ecsParameters"]
    assert ecs["taskDefinitionArn"] == prod.one(TASK, "restore-drill").outputs["arn"]
    assert ecs["networkConfiguration"]["assignPublicIp"] is False
    assert prod.outputs["restoreDrillScheduleName"] == prod.one(SCHEDULE, "restore-drill-schedule").outputs["name"]
    assert ecs["launchType"] == "FARGATE" and ecs["platformVersion"] == "1.4.0"  # on-demand, pinned (issue 9)
    # a run by hand (runbook A.5) names the drill's own security group: the one the schedule uses
    assert [prod.outputs["restoreDrillSecurityGroupId"]] == ecs["networkConfiguration"]["securityGroups"]


def test_drill_schedule_is_encrypted_like_the_backup_schedule_and_its_role_may_decrypt_it(prod: StackRun) -> None:
    # EventBridge Scheduler decrypts the target with the execution role's own permission (no grants), under the
    # schedule's encryption context: the drill's schedule follows the backup schedule (components/task_schedule.py).
    schedule = prod.one(SCHEDULE, "restore-drill-schedule")
    key = key_arn(prod, "keys-backups")
    assert schedule.inputs["kmsKeyArn"] == key and schedule.inputs["name"] == "maratron-prod-restore-drill"
    policy = prod.one("aws:iam/rolePolicy:RolePolicy", "restore-drill-scheduler")
    (decrypt,) = [s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Action"] == ["kms:Decrypt"]]
    assert decrypt["Resource"] == [key]
    assert decrypt["Condition"] == {"StringEquals": {"kms:EncryptionContext:aws:scheduler:schedule:arn":
                                                     "arn:aws:scheduler:us-east-1:123456789012:schedule/default/"
                                                     "maratron-prod-restore-drill"}}
    assert policy.urn in schedule.dependencies  # the first invocation finds the permissions in place


# --- configuration ---------------------------------------------------------------------------------------------------

def load(**changes: str) -> stack_config.StackConfig:
    raw = {**MINIMAL_VALID, **{f"maratron:{k}": v for k, v in changes.items()}}
    return stack_config.load(raw, stack="test")


def problems(**changes: str) -> list[str]:
    with pytest.raises(stack_config.ConfigError) as caught:
        load(**changes)
    return [str(p) for p in caught.value.problems]


def test_dr_defaults_are_prod_grade_and_paired_within_the_jurisdiction() -> None:
    settings = DisasterRecoverySettings()
    assert (settings.region, settings.replication_time_control, settings.drill_storage_gib) == ("paired", False, 200)
    assert load().dr_region == "us-west-2"
    assert load(drRegion="none").dr_region is None
    assert load(drRegion="us-east-2").dr_region == "us-east-2"
    assert load(**{"drRegion": "paired"}).recovery == settings
    # Every pair stays in its jurisdiction and partition, and goes both ways where both are listed.
    for source, target in DR_REGION_PAIRS.items():
        assert source != target and source.split("-")[0] == target.split("-")[0], (source, target)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"drRegion": "us-east-1"}, 'maratron:drRegion = "us-east-1": must differ from the stack\'s region (us-east-1)'),
    ({"drRegion": "west"}, "must be paired (the stack region's DR pair), a region such as us-west-2, or none"),
    ({"drRegion": ""}, "must be paired"),
    ({"drRegion": "cn-north-1"}, "is in another AWS partition than us-east-1"),
    ({"drDrillStorageGib": "20"}, "maratron:drDrillStorageGib = 20: must be between 21 and 200"),
])
def test_dr_config_errors_name_key_value_and_what_is_allowed(changes: dict[str, str], expected: str) -> None:
    assert any(expected in p for p in problems(**changes)), problems(**changes)


def test_a_region_without_a_pair_must_name_its_dr_region() -> None:
    raw = {**MINIMAL_VALID, "aws:region": "eu-west-2", "maratron:azNames": '["eu-west-2a", "eu-west-2b"]'}
    with pytest.raises(stack_config.ConfigError) as caught:
        stack_config.load(raw, stack="test")
    assert any("eu-west-2 has no default DR partner in the same jurisdiction" in str(p) for p in caught.value.problems)
    assert stack_config.load({**raw, "maratron:drRegion": "eu-west-1"}, stack="test").dr_region == "eu-west-1"


def test_govcloud_dr_is_refused_for_the_pre_signed_url_rds_needs_there() -> None:
    raw = {**MINIMAL_VALID, "aws:region": "us-gov-west-1", "maratron:azNames": '["us-gov-west-1a", "us-gov-west-1b"]',
           "maratron:drRegion": "us-gov-east-1"}
    with pytest.raises(stack_config.ConfigError) as caught:
        stack_config.load(raw, stack="test")
    assert any('drRegion = "us-gov-east-1": RDS backup replication from us-gov-west-1 needs a pre-signed URL' in str(p)
               for p in caught.value.problems), caught.value.problems
    assert stack_config.load({**raw, "maratron:drRegion": "none"}, stack="test").dr_region is None


PROD = {"environment": "prod", "natGateways": "perAz", "azCount": "3",
        "azNames": '["us-east-1a", "us-east-1b", "us-east-1c"]', "alertEmails": '["oncall@maratron.example.com"]',
        "removalPolicy": "retain"}


def test_prod_needs_a_dr_region_unless_it_is_itself_a_dr_restore() -> None:
    assert load(**PROD).dr_region == "us-west-2"
    assert any("maratron:drRegion = \"none\": prod needs a DR region" in p for p in problems(**PROD, drRegion="none"))
    restored = load(**PROD, drRegion="none",
                    dbRestoreFromBackupsArn="arn:aws:rds:us-east-1:123456789012:auto-backup:ab-X1",
                    dbRestoreKmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555")
    assert restored.dr_region is None and restored.database.restores


def test_arns_of_another_account_are_refused_before_anything_is_created() -> None:
    config = load(dbRestoreFromBackupsArn="arn:aws:rds:us-east-1:123456789012:auto-backup:ab-X1",
                  dbRestoreKmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555")
    stack_config.require_account(config, "123456789012")
    with pytest.raises(stack_config.ConfigError) as caught:
        stack_config.require_account(config, "210987654321")
    assert [p.key for p in caught.value.problems] == ["dbRestoreFromBackupsArn", "dbRestoreKmsKeyArn"]
    assert "must be in the account this stack deploys to (210987654321), not 123456789012" in str(caught.value)


# --- the DR stack ----------------------------------------------------------------------------------------------------

def test_dr_stack_restores_prod_from_the_replicated_backups(dr: StackRun) -> None:
    primary = dr.one("aws:rds/instance:Instance", "database-primary")
    assert primary.plain("restoreToPointInTime") == {
        "sourceDbInstanceAutomatedBackupsArn": dr.config["maratron:dbRestoreFromBackupsArn"],
        "useLatestRestorableTime": True}
    # A point-in-time restore keeps its backups' key (the API takes none): the input names it, no diff.
    assert primary.inputs["kmsKeyId"] == dr.config["maratron:dbRestoreKmsKeyArn"]
    assert "dbName" not in primary.inputs and primary.inputs["username"] == "maratron"
    # RDS would restore into default groups and single-AZ: the stack's own are passed, as for a new instance.
    assert primary.inputs["multiAz"] is True and primary.inputs["dbSubnetGroupName"]
    assert primary.inputs["vpcSecurityGroupIds"] and primary.inputs["parameterGroupName"]
    assert primary.protect and primary.inputs["deletionProtection"] is True
    # Same-region replicas are encrypted with their source's key: they name the restored primary's, not the
    # stack's data key (RDS refuses another key, or the replicas are replaced on every `up`).
    replicas = [i for i in dr.of_type("aws:rds/instance:Instance") if i.inputs.get("replicateSourceDb")]
    assert len(replicas) == 2
    assert {r.inputs["kmsKeyId"] for r in replicas} == {dr.config["maratron:dbRestoreKmsKeyArn"]}


def test_dr_stack_runs_in_the_dr_region_without_route53_writes_or_a_dr_copy_of_its_own(dr: StackRun) -> None:
    assert dr.config["aws:region"] == "us-west-2" and dr.config["maratron:environment"] == "prod"
    assert dr.of_type("aws:route53/record:Record") == [r for r in dr.of_type("aws:route53/record:Record")
                                                       if r.name.startswith("database-")]  # private zone only
    assert dr.of_type(REPLICATION) == [] and dr.of_type(SCHEDULE) == [dr.one(SCHEDULE, "backup-schedule")]
    assert dr.outputs["region"] == "us-west-2" and dr.outputs["drRegion"] == ""


def test_restoring_takes_the_unavoidable_chain_and_the_app_starts_with_the_restored_primary(dr: StackRun) -> None:
    path = analyse(dr)
    assert path.met and not path.offenders
    assert path.unavoidable[0].resource.name == "database-primary" and path.unavoidable[0].timing.minutes == 30
    steps = {step.resource.name: step for step in path.steps.values()
             if step.resource.type in ("aws:ecs/service:Service", "aws:rds/instance:Instance")}
    replicas = [steps[f"database-replica-{n}"] for n in (1, 2)]
    # The app waits for the restored primary, never for the replicas: each service starts before they exist (web
    # after ai's Service Connect endpoint, issue 9's service chain, so it may finish after them).
    for service in ("ai", "web"):
        assert not {r.resource.urn for r in replicas} & path.closure(steps[service].resource.urn), service
        assert steps[service].start < min(r.finish for r in replicas), service
        assert steps["database-primary"].resource.urn in path.closure(steps[service].resource.urn), service


def test_component_refuses_a_dr_region_equal_to_its_own() -> None:
    from components.base import AwsContext
    from components.disaster_recovery import DisasterRecoveryArgs

    context = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")
    with pytest.raises(ValueError, match="must differ from the stack's region"):
        DisasterRecoveryArgs(context=context, region="us-east-1", sources=())
    assert DisasterRecoveryArgs(context=context, region=None, sources=()).region is None
    # The replicated RDS backups keep what the primary keeps: no default of their own to drift from it.
    import pulumi_aws as aws

    database = object.__new__(aws.rds.Instance)  # never registered: only the args' own check runs
    with pytest.raises(ValueError, match="backup_retention_days: required with `database`"):
        DisasterRecoveryArgs(context=context, region="us-west-2", sources=(), database=database)
    assert DisasterRecoveryArgs(context=context, region="us-west-2", sources=(), database=database,
                                backup_retention_days=7).backup_retention_days == 7


def test_dr_stack_pulls_prods_digests_from_the_registry_replica_in_its_region(dr: StackRun, prod: StackRun) -> None:
    """The foundation replicates maratron/* to us-west-2 (bootstrap drRegion): the DR stack runs the same digests from
    the replica in its own region, so it needs nothing of us-east-1's registry during a regional outage."""
    for task in ("web", "ai", "backup"):
        (image,) = {c["image"] for c in json.loads(dr.one(TASK, task).inputs["containerDefinitions"])
                    if c["essential"]}
        (prod_image,) = {c["image"] for c in json.loads(prod.one(TASK, task).inputs["containerDefinitions"])
                         if c["essential"]}
        assert image == prod_image.replace(".us-east-1.", ".us-west-2."), task
        assert ".dkr.ecr.us-west-2.amazonaws.com/maratron/" in image and "@sha256:" in image


@pytest.mark.parametrize(("interval", "stale"), [(6, 8), (12, 14), (1, 3)])
def test_the_dr_copy_counts_as_stale_one_backup_interval_plus_run_and_replication_later(interval: int,
                                                                                       stale: int) -> None:
    """A fixed 8 h paged every day for any schedule but 6 hours (and for a 6-hour one whose dumps outlast an hour)."""
    assert dump_stale_hours(BackupWatch("n/backup", interval_hours=interval)) == stale


@pytest.mark.parametrize(("overrides", "error"), [
    ({"drDrillStorageGib": 50}, "maratron:drDrillStorageGib = 50: must be at least 200 GiB for "
                                "dbMaxAllocatedStorageGb 500: the daily restore drill holds the dump and the "
                                "database restored from it"),
    ({"drDrillStorageGib": 150, "dbAllocatedStorageGb": 50, "dbMaxAllocatedStorageGb": 100}, "at least 151 GiB"),
])
def test_the_drill_has_room_for_the_dump_and_the_restored_database(run_variant, overrides: dict[str, Any],  # type: ignore[no-untyped-def]
                                                                  error: str) -> None:
    """The drill stages the newest dump (up to half the database's storage ceiling) and restores it into a local
    server (up to the ceiling itself) on the task's ephemeral storage, with the image: a default of 50 GiB ran out
    of space once prod's data passed ~40 GiB, and the drill then failed every day. (The default, 200, passes on
    every stack; test_drill_runs_the_backup_images_drill_against_the_dr_replica reads it from the task.)"""
    run = run_variant("prod", **overrides)
    assert not run.ok and error in str(run.error), str(run.error)
    assert needed_drill_storage_gib(100) == 151 and needed_drill_storage_gib(500) == 200


GLOBAL_IN_US_EAST_1 = ("aws:budgets/", "aws:iam/", "aws:route53/")
"""APIs with one control plane, in us-east-1: what the dr stack's first `up` still needs from the lost region."""


def test_the_dr_runbook_names_what_the_dr_stack_needs_from_us_east_1(dr: Any) -> None:
    """The runbook named IAM and Route 53 only; the dr stack also creates a cost budget, whose API (a single
    endpoint, budgets.amazonaws.com) fails with us-east-1 down: B.5 excludes it by its URN then."""
    from pathlib import Path

    runbook = (Path(__file__).resolve().parent.parent / "docs" / "runbooks" / "disaster-recovery.md").read_text()
    used = {r.type.split("/")[0] + "/" for r in dr.resources if r.type.startswith(GLOBAL_IN_US_EAST_1)}
    assert used == set(GLOBAL_IN_US_EAST_1)
    assert "IAM roles" in runbook and "private hosted zone" in runbook and "AWS Budgets" in runbook
    budgets = [r.urn for r in dr.resources if r.type.startswith("aws:budgets/")]
    assert budgets and all(f"--exclude '{urn}'" in runbook for urn in budgets)
