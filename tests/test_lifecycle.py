"""Safe lifecycle defaults: a component used without arguments retains its data; opting out is explicit.

Every stateful component is built with only its required inputs (the retain program), then with
`removal_policy="destroy"` (the opt-out), and the recorded resources are compared: protect, deletion protection,
final snapshots, kept automated backups, retained and never force-emptied buckets, repositories kept while they
hold images, secret recovery windows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from offline.engine import Resource, StackRun, run_program

PROGRAM = '''
import pulumi_aws as aws

from components.app_secrets import AppSecrets, AppSecretsArgs
from components.backup_storage import BackupStorage, BackupStorageArgs
from components.base import AwsContext
from components.cache import Cache, CacheArgs
from components.database import Database, DatabaseArgs
from components.encryption import EncryptionKeys, EncryptionKeysArgs
from components.image_registry import ImageRegistry, ImageRegistryArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs, LoadBalancerSettings

OPT_OUT = {}
ctx = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")
azs = ("us-east-1a", "us-east-1b", "us-east-1c")
subnets = ["subnet-a", "subnet-b", "subnet-c"]
keys = EncryptionKeys("keys", EncryptionKeysArgs(context=ctx, alias_prefix="t", **OPT_OUT))
Database("database", DatabaseArgs(context=ctx, vpc_id="vpc-1", subnet_ids=subnets, az_names=azs, data_key=keys.data,
                                  log_key=keys.logs, name_prefix="t", private_zone_name="t.internal", **OPT_OUT))
Cache("cache", CacheArgs(subnet_ids=subnets, vpc_id="vpc-1", az_names=azs, data_key=keys.data, log_key=keys.logs,
                         log_retention_days=30, name_prefix="t", **OPT_OUT))
BackupStorage("storage", BackupStorageArgs(context=ctx, key=keys.backups, **OPT_OUT))
LoadBalancer("lb", LoadBalancerArgs(context=ctx, vpc_id="vpc-1", subnet_ids=subnets, domain_name="t.example.com",
                                    settings=LoadBalancerSettings(hosted_zone_id="Z0T"),
                                    server_access_logs=None, **OPT_OUT))
AppSecrets("app-secrets", AppSecretsArgs(kms_key=keys.data, name_prefix="t", **OPT_OUT))
ImageRegistry("images", ImageRegistryArgs(context=ctx, environments=("dev",), **OPT_OUT))
'''
STATEFUL = ("aws:kms/key:Key", "aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup",
            "aws:s3/bucket:Bucket", "aws:lb/loadBalancer:LoadBalancer")


def run(tmp_path: Path, opt_out: str) -> StackRun:
    program = tmp_path / "lifecycle.py"
    program.write_text(PROGRAM.replace("OPT_OUT = {}", f"OPT_OUT = {opt_out}"))
    result = run_program("test", {"aws:region": "us-east-1"}, [], program=program)
    assert result.ok, result.error_details
    return result


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory) -> StackRun:
    return run(tmp_path_factory.mktemp("retain"), "{}")


@pytest.fixture(scope="module")
def opted_out(tmp_path_factory: pytest.TempPathFactory) -> StackRun:
    return run(tmp_path_factory.mktemp("destroy"), '{"removal_policy": "destroy"}')


def stateful(run: StackRun) -> list[Resource]:
    return [r for t in STATEFUL for r in run.of_type(t) if not r.inputs.get("replicateSourceDb")]


def test_default_args_retain_every_stateful_resource(defaults: StackRun) -> None:
    resources = stateful(defaults)
    assert {r.type for r in resources} == set(STATEFUL)
    assert all(r.protect for r in resources), [r.name for r in resources if not r.protect]
    primary = defaults.one("aws:rds/instance:Instance", "database-primary").inputs
    assert (primary["deletionProtection"], primary["skipFinalSnapshot"], primary["deleteAutomatedBackups"]) == (
        True, False, False)
    assert primary["finalSnapshotIdentifier"] == "t-db-final"
    assert primary["applyImmediately"] is False  # changes wait for the maintenance window unless asked for
    redis = defaults.one("aws:elasticache/replicationGroup:ReplicationGroup").inputs
    assert redis["finalSnapshotIdentifier"] == "t-redis-final" and redis["applyImmediately"] is False
    for bucket in defaults.of_type("aws:s3/bucket:Bucket"):
        assert bucket.retain_on_delete and bucket.inputs["forceDestroy"] is False, bucket.name
    assert defaults.one("aws:lb/loadBalancer:LoadBalancer").inputs["enableDeletionProtection"] is True
    repositories = defaults.of_type("aws:ecr/repository:Repository")
    assert repositories and all(r.protect and r.inputs["forceDelete"] is False for r in repositories)
    secrets = defaults.of_type("aws:secretsmanager/secret:Secret")
    assert secrets and {s.inputs["recoveryWindowInDays"] for s in secrets} == {30}


def test_opting_out_is_explicit_and_complete(opted_out: StackRun) -> None:
    assert not any(r.protect for r in stateful(opted_out))
    primary = opted_out.one("aws:rds/instance:Instance", "database-primary").inputs
    assert (primary["deletionProtection"], primary["skipFinalSnapshot"], primary["deleteAutomatedBackups"]) == (
        False, True, True)
    assert "finalSnapshotIdentifier" not in opted_out.one(
        "aws:elasticache/replicationGroup:ReplicationGroup").inputs
    assert not any(b.retain_on_delete for b in opted_out.of_type("aws:s3/bucket:Bucket"))
    assert all(r.inputs["forceDelete"] is True and not r.protect
               for r in opted_out.of_type("aws:ecr/repository:Repository"))
    assert {s.inputs["recoveryWindowInDays"] for s in opted_out.of_type("aws:secretsmanager/secret:Secret")} == {0}


def test_the_stacks_state_their_choice(dev: StackRun, staging: StackRun, prod: StackRun) -> None:
    # The schema default is retain; dev opts out in its stack file, staging and prod say retain (prod must).
    assert dev.config["maratron:removalPolicy"] == "destroy"
    assert staging.config["maratron:removalPolicy"] == prod.config["maratron:removalPolicy"] == "retain"
    assert all(r.protect for r in stateful(prod)) and all(r.protect for r in stateful(staging))
    assert not any(r.protect for r in stateful(dev))
