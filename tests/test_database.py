"""Database component: RDS PostgreSQL primary + replicas, parameter group, secrets, reader DNS, lifecycle, config."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

import stack_config
from components.constants import CREDENTIAL_TAG
from components.database import (
    ENGINE_DEFAULT_PARAMETERS,
    ENGINE_MAJOR_VERSIONS,
    READER_MAX_LAG_SECONDS,
    DatabaseSettings,
    PostgresTuning,
)
from components.windows import windows_overlap
from offline.critical_path import finish_times, waits_for
from offline.engine import StackRun, is_secret, run_program, run_stack, unwrap_secrets
from offline.policy_runner import PolicyPackProcess, check_run
from tests.configs import MINIMAL_VALID, PROD_VARIANT

INSTANCE = "aws:rds/instance:Instance"
PARAMS = "aws:rds/parameterGroup:ParameterGroup"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
INVOCATION = "aws:lambda/invocation:Invocation"


def routing_alarms(run: StackRun) -> set[str]:
    """URNs of the alarms a Route 53 health check reads (the replicas' reader health): they notify no one."""
    return {urn for check in run.of_type(HEALTH_CHECK) for urn in check.property_dependencies["cloudwatchAlarmName"]}


def primary(run: StackRun) -> Any:
    return run.one(INSTANCE, "database-primary")


def replicas(run: StackRun) -> list[Any]:
    return sorted((r for r in run.of_type(INSTANCE) if r.inputs.get("replicateSourceDb")), key=lambda r: r.name)


def data_key_arn(run: StackRun) -> str:
    return str(run.one("aws:kms/key:Key", "keys-data").outputs["arn"])


def closure(run: StackRun, urn: str) -> set[str]:
    """Everything the engine waits for before creating the resource, transitively (see offline/critical_path.py)."""
    seen: set[str] = set()
    pending = [urn]
    while pending:
        for dep in waits_for(run, pending.pop()):
            if dep not in seen:
                seen.add(dep)
                pending.append(dep)
    return seen


def params(run: StackRun) -> dict[str, tuple[str, str]]:
    return {p["name"]: (p["value"], p["applyMethod"]) for p in run.one(PARAMS).inputs["parameters"]}


# --- topology per environment -----------------------------------------------------------------------------------

def test_prod_has_a_multi_az_primary_and_two_replicas_in_the_other_azs(prod: StackRun) -> None:
    db = primary(prod)
    assert db.inputs["multiAz"] is True
    assert "availabilityZone" not in db.inputs  # AWS rejects an AZ request for a Multi-AZ instance
    assert db.inputs["engine"] == "postgres" and db.inputs["engineVersion"] == "15"
    assert db.inputs["instanceClass"] == "db.m7g.large"
    assert [r.name for r in replicas(prod)] == ["database-replica-1", "database-replica-2"]
    assert [r.inputs["availabilityZone"] for r in replicas(prod)] == ["us-east-1b", "us-east-1c"]
    subnet_group = prod.one("aws:rds/subnetGroup:SubnetGroup")
    assert db.inputs["dbSubnetGroupName"] == subnet_group.outputs["name"]
    assert sorted(subnet_group.inputs["subnetIds"]) == sorted(prod.outputs["dataSubnetIds"])


def test_every_instance_is_encrypted_with_the_data_key_private_and_hardened(any_stack: StackRun) -> None:
    key = data_key_arn(any_stack)
    groups = {"primary": any_stack.one(SG, "database-sg").id, "replica": any_stack.one(SG, "database-replicas-sg").id}
    for instance in any_stack.of_type(INSTANCE):
        inputs = instance.inputs
        assert inputs["storageEncrypted"] is True and inputs["kmsKeyId"] == key, instance.name
        assert inputs["performanceInsightsEnabled"] is True and inputs["performanceInsightsKmsKeyId"] == key
        assert inputs["publiclyAccessible"] is False
        assert inputs["storageType"] == "gp3" and inputs["maxAllocatedStorage"] >= 50
        assert inputs["caCertIdentifier"] == "rds-ca-rsa2048-g1"
        assert inputs["iamDatabaseAuthenticationEnabled"] is True
        assert inputs["autoMinorVersionUpgrade"] is True
        assert inputs["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
        # the replicas have their own group: a client granted the readers never reaches the primary
        assert inputs["vpcSecurityGroupIds"] == [groups["replica" if "replicateSourceDb" in inputs else "primary"]]
        assert inputs["parameterGroupName"] == any_stack.one(PARAMS).outputs["name"]
        assert inputs["monitoringInterval"] == 60
        role = any_stack.one("aws:iam/role:Role", "database-monitoring")
        assert inputs["monitoringRoleArn"] == role.outputs["arn"]


def test_dev_is_one_small_private_encrypted_instance_without_replicas(dev: StackRun) -> None:
    assert replicas(dev) == []
    db = primary(dev)
    assert db.inputs["instanceClass"] == "db.t4g.micro"
    assert db.inputs["multiAz"] is False and db.inputs["availabilityZone"] == "us-east-1a"
    assert db.inputs["storageEncrypted"] is True and db.inputs["publiclyAccessible"] is False
    assert db.inputs["allocatedStorage"] == 20 and db.inputs["maxAllocatedStorage"] == 50


def test_staging_replica_sits_away_from_the_pinned_primary(staging: StackRun) -> None:
    db = primary(staging)
    assert db.inputs["multiAz"] is False and db.inputs["availabilityZone"] == "us-east-1a"
    [replica] = replicas(staging)
    assert replica.inputs["availabilityZone"] == "us-east-1b"
    assert replica.inputs["instanceClass"] == "db.t4g.medium"


def test_replicas_follow_the_primary_with_no_credentials_of_their_own(prod: StackRun) -> None:
    db = primary(prod)
    for index, replica in enumerate(replicas(prod), start=1):
        inputs = replica.inputs
        assert inputs["replicateSourceDb"] == db.outputs["identifier"] == "maratron-prod-db"
        assert inputs["identifier"] == f"maratron-prod-db-replica-{index}"
        assert not {"username", "password", "dbName", "dbSubnetGroupName"} & set(inputs)
        assert replica.property_dependencies["replicateSourceDb"] == [db.urn]
        assert inputs["skipFinalSnapshot"] is True and inputs["deletionProtection"] is False
        # No automated backups on replicas (no point-in-time recovery there: they would duplicate the primary's).
        assert "backupRetentionPeriod" not in inputs and "backupWindow" not in inputs
        assert not replica.protect  # derived data: lowering dbReplicaCount is one ordinary `pulumi up`


DATABASE_ONLY = Path(__file__).parent / "programs" / "database_only.py"
_database_runs: dict[str, StackRun] = {}


def database_only(**overrides: Any) -> StackRun:
    """prod's config (with overrides, short keys) through tests/programs/database_only.py: the Database component
    alone, as the stack builds it (~0.1 s of CPU against ~1.5 s for the whole stack), once per module."""
    from offline.engine import stack_config
    from offline.foundation import app_mocks

    key = json.dumps(overrides, sort_keys=True)
    if key not in _database_runs:
        config, secret_keys, placeholders = stack_config("prod", {f"maratron:{k}": v for k, v in overrides.items()})
        _database_runs[key] = run_program("prod", config, secret_keys, placeholders=placeholders,
                                          program=DATABASE_ONLY, mocks=app_mocks(config))
    return _database_runs[key]


def test_replica_names_never_churn_when_the_count_changes(prod: StackRun) -> None:
    def by_name(run: StackRun) -> dict[str, dict[str, Any]]:
        assert run.ok, run.error_details
        return {r.name: r.inputs for r in replicas(run)}

    two = by_name(database_only())
    one = by_name(database_only(dbReplicaCount=1))
    three = by_name(database_only(dbReplicaCount=3))
    # The program builds prod's replicas as the stack does (its monitoring role only lacks the stack's IAM path).
    assert {name: {**inputs, "monitoringRoleArn": ""} for name, inputs in two.items()} == {
        r.name: {**r.inputs, "monitoringRoleArn": ""} for r in replicas(prod)}
    assert one == {"database-replica-1": two["database-replica-1"]}
    assert {k: three[k] for k in two} == two
    assert three["database-replica-3"]["availabilityZone"] == "us-east-1b"  # wraps around the other AZs


def test_each_replica_can_have_its_own_class() -> None:
    run = database_only(dbReplicaInstanceClasses=["db.r6g.large", "db.m7g.xlarge"])
    assert run.ok, run.error_details
    assert [r.inputs["instanceClass"] for r in replicas(run)] == ["db.r6g.large", "db.m7g.xlarge"]
    assert primary(run).inputs["instanceClass"] == "db.m7g.large"


# --- lifecycle ----------------------------------------------------------------------------------------------------

def test_prod_primary_is_protected_three_ways_and_leaves_a_final_snapshot(prod: StackRun) -> None:
    db = primary(prod)
    assert db.protect
    assert db.inputs["deletionProtection"] is True
    assert db.inputs["skipFinalSnapshot"] is False
    assert db.inputs["finalSnapshotIdentifier"] == "maratron-prod-db-final"
    assert db.inputs["deleteAutomatedBackups"] is False
    assert db.inputs["applyImmediately"] is False
    assert db.inputs["backupRetentionPeriod"] == 14
    assert db.inputs["copyTagsToSnapshot"] is True
    assert db.inputs["backupWindow"] == "03:00-04:00" and db.inputs["maintenanceWindow"] == "sun:04:30-sun:05:30"
    assert all(s.inputs["recoveryWindowInDays"] == 30 for s in prod.of_type(SECRET) if s.name.startswith("database"))


def test_dev_primary_can_be_torn_down(dev: StackRun) -> None:
    db = primary(dev)
    assert not db.protect and db.inputs["deletionProtection"] is False
    assert db.inputs["skipFinalSnapshot"] is True and "finalSnapshotIdentifier" not in db.inputs
    assert db.inputs["applyImmediately"] is True
    assert db.inputs["backupRetentionPeriod"] == 3


def test_log_groups_exist_before_rds_would_create_them(any_stack: StackRun) -> None:
    logs_key = any_stack.one("aws:kms/key:Key", "keys-logs").outputs["arn"]
    groups = {g.inputs["name"]: g for g in any_stack.of_type(LOG_GROUP)}
    for instance in any_stack.of_type(INSTANCE):
        for export in ("postgresql", "upgrade"):
            group = groups[f"/aws/rds/instance/{instance.inputs['identifier']}/{export}"]
            assert group.inputs["kmsKeyId"] == logs_key
            assert group.inputs["retentionInDays"] == int(any_stack.config["maratron:logRetentionDays"])
            assert group.urn in instance.dependencies


def test_enhanced_monitoring_role_trusts_rds_monitoring_with_the_aws_managed_policy(prod: StackRun) -> None:
    role = prod.one("aws:iam/role:Role", "database-monitoring")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    attachment = prod.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "database-monitoring")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    # RDS checks the role's permissions when it creates the instance: every instance waits for the policy.
    for instance in prod.of_type(INSTANCE):
        assert instance.inputs["monitoringRoleArn"] and attachment.urn in instance.dependencies, instance.name


# --- parameter group ----------------------------------------------------------------------------------------------

def test_parameter_group_realizes_the_seed_in_rds_units_with_the_right_apply_methods(prod: StackRun) -> None:
    group = prod.one(PARAMS)
    assert group.inputs["family"] == "postgres15"
    assert params(prod) == {
        "shared_buffers": ("262144", "pending-reboot"),  # 2048 MB in 8 kB pages: 25% of db.m7g.large
        "max_connections": ("600", "pending-reboot"),  # the connection budget's (docs/database-access.md)
        "wal_buffers": ("2048", "pending-reboot"),  # 16 MB in 8 kB pages
        "shared_preload_libraries": ("pg_stat_statements", "pending-reboot"),
        "effective_cache_size": ("786432", "immediate"),  # 6 GB in 8 kB pages
        "maintenance_work_mem": ("65536", "immediate"),  # 64 MB in kB
        # Engine defaults: pending-reboot, as RDS reports them (immediate would be a diff on every later `up`).
        "checkpoint_completion_target": ("0.9", "pending-reboot"),
        "default_statistics_target": ("100", "pending-reboot"),
        "rds.force_ssl": ("1", "pending-reboot"),
        "log_min_duration_statement": ("1000", "immediate"),
        "log_connections": ("1", "immediate"),
        "log_disconnections": ("1", "immediate"),
        "log_lock_waits": ("1", "immediate"),
        "log_statement": ("ddl", "immediate"),
    }


def test_every_engine_version_says_which_parameters_it_already_defaults() -> None:
    # A major version added without its own defaults would send another family's: rds.force_ssl is 1 by default on
    # 15 and 0 on 14, so a 14 stack would leave TLS unenforced until a reboot.
    assert set(ENGINE_DEFAULT_PARAMETERS) == set(ENGINE_MAJOR_VERSIONS)
    with pytest.raises(KeyError):
        PostgresTuning().parameters("14")


def test_dev_parameter_sizes_come_from_its_stack_file(dev: StackRun) -> None:
    values = params(dev)
    assert values["shared_buffers"] == ("16384", "pending-reboot")  # 128 MB
    assert values["effective_cache_size"] == ("65536", "immediate")  # 512 MB
    assert values["maintenance_work_mem"] == ("32768", "immediate")  # 32 MB
    assert values["log_min_duration_statement"] == ("250", "immediate")
    assert values["rds.force_ssl"] == ("1", "pending-reboot")


def test_tuning_conversions() -> None:
    tuning = PostgresTuning(shared_buffers_mb=2048, effective_cache_size_mb=6144, maintenance_work_mem_mb=512,
                            wal_buffers_mb=64, max_connections=400, slow_query_ms=-1)
    values = {n: v for n, v, _ in tuning.parameters("15")}
    assert values["shared_buffers"] == "262144" and values["effective_cache_size"] == "786432"
    assert values["maintenance_work_mem"] == "524288" and values["wal_buffers"] == "8192"
    assert values["max_connections"] == "400" and values["log_min_duration_statement"] == "-1"


# --- network access -----------------------------------------------------------------------------------------------

def test_security_group_has_no_inline_rules_and_no_cidr_or_egress_rules(any_stack: StackRun) -> None:
    group = any_stack.one(SG, "database-sg")
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    ours = [r for r in any_stack.of_type(INGRESS) + any_stack.of_type(EGRESS)
            if r.inputs["securityGroupId"] == group.id]
    assert all(r.type == INGRESS and "referencedSecurityGroupId" in r.inputs for r in ours)
    assert not any({"cidrIpv4", "cidrIpv6", "prefixListId"} & set(r.inputs) for r in ours)


GRANT_PROGRAM = """
import pulumi
import pulumi_aws as aws

from components.base import AwsContext
from components.connections import Connections, grant
from components.database import Database, DatabaseArgs, DatabaseSettings

context = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")
key = aws.kms.Key("data")
web = aws.ec2.SecurityGroup("web", vpc_id="vpc-1")
database = Database("db", DatabaseArgs(
    context=context, vpc_id="vpc-1", subnet_ids=["subnet-a", "subnet-b"], az_names=("us-east-1a", "us-east-1b"),
    data_key=key, log_key=key, name_prefix="maratron-test", private_zone_name="test.maratron.internal",
    settings=DatabaseSettings(replica_count=1, replica_instance_classes=("db.r7g.large",)),
))
grant(Connections(web, label="web"), database)
pulumi.export("replicas", database.replica_identifiers)
"""


def test_grant_opens_postgres_between_two_security_groups(tmp_path: Path) -> None:
    program = tmp_path / "grant_program.py"
    program.write_text(textwrap.dedent(GRANT_PROGRAM))
    run = run_program("test", {"aws:region": "us-east-1"}, [], program=program)
    assert run.ok, run.error_details
    rule = run.one(INGRESS, "db-from-web")
    assert rule.inputs["securityGroupId"] == run.one(SG, "db-sg").id
    assert rule.inputs["referencedSecurityGroupId"] == run.one(SG, "web").id
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 5432, 5432)
    assert not {"cidrIpv4", "cidrIpv6"} & set(rule.inputs)
    assert run.one(SG, "db-sg").urn == rule.parent
    # The other half: the source may reach the database (and only it) on 5432 even when its egress is locked down.
    egress = run.one(EGRESS, "web-to-db")
    assert egress.inputs["securityGroupId"] == run.one(SG, "web").id
    assert egress.inputs["referencedSecurityGroupId"] == run.one(SG, "db-sg").id
    assert (egress.inputs["fromPort"], egress.inputs["toPort"]) == (5432, 5432)
    assert run.outputs["replicas"] == {"replica-1": "maratron-test-db-replica-1"}


# --- secrets ------------------------------------------------------------------------------------------------------

def secret_value(run: StackRun, name: str) -> str:
    version = run.one(VERSION, name)
    assert is_secret(version.inputs["secretString"])
    return str(unwrap_secrets(version.inputs["secretString"]))


def password(run: StackRun) -> str:
    return str(run.one("random:index/randomPassword:RandomPassword", "database-master-password").outputs["result"])


def test_master_password_is_long_and_url_safe(prod: StackRun) -> None:
    generator = prod.one("random:index/randomPassword:RandomPassword", "database-master-password")
    assert generator.inputs["length"] >= 40
    assert set(generator.inputs["overrideSpecial"]) <= set("-._~")  # RFC 3986 unreserved: no escaping in URLs
    assert is_secret(primary(prod).inputs["password"])
    assert primary(prod).inputs["username"] == "maratron" and primary(prod).inputs["dbName"] == "maratrondb"


def test_master_secret_holds_the_rotation_format_and_pulumi_writes_only_its_first_value(prod: StackRun) -> None:
    secret = password(prod)
    address = primary(prod).outputs["address"]
    credentials = json.loads(secret_value(prod, "database-master"))
    assert credentials == {"engine": "postgres", "username": "maratron", "password": secret, "host": address,
                           "port": 5432, "dbname": "maratrondb", "dbInstanceIdentifier": "maratron-prod-db",
                           "urlQuery": "sslmode=require", "rotation": "master",
                           "url": f"postgresql://maratron:{secret}@{address}:5432/maratrondb?sslmode=require"}
    version = prod.one(VERSION, "database-master")
    assert version.inputs["versionStages"] == ["AWSCURRENT", "MARATRON_INITIAL"]
    assert set(version.ignore_changes) == {"secretString", "versionStages"}
    assert "password" in primary(prod).ignore_changes, "rotation owns the master password after the first deploy"


def test_connection_and_login_secrets_get_no_value_from_pulumi(any_stack: StackRun) -> None:
    """Their passwords never enter the state: the db-admin function writes them (components/credentials.py)."""
    prefix = f"maratron-{any_stack.stack}/database/"
    written = {v.parent for v in any_stack.of_type(VERSION)}
    secrets = {s.inputs["name"].removeprefix(prefix): s for s in any_stack.of_type(SECRET)
               if s.inputs["name"].startswith(prefix)}
    assert {name for name, s in secrets.items() if s.urn in written} == {"master"}
    kinds = {name: s.plain("tags")[CREDENTIAL_TAG] for name, s in secrets.items()}
    assert kinds == {"master": "database-master", "app_rw": "database-connection", "app_ro": "database-connection",
                     "app_migrate": "database-connection", "app_backup": "database-connection",
                     **{f"users/{u}": "database-login" for u in ("app_rw", "app_rw_clone", "app_ro", "app_ro_clone")}}


def test_secrets_are_encrypted_with_the_data_key(any_stack: StackRun) -> None:
    key = data_key_arn(any_stack)
    prefix = f"maratron-{any_stack.stack}/database/"
    keys = {s.inputs["name"]: s.inputs["kmsKeyId"] for s in any_stack.of_type(SECRET)
            if s.inputs["name"].startswith(prefix)}
    assert len(keys) == 9 and set(keys.values()) == {key}


def _unwrapped_strings(value: Any) -> Iterator[str]:
    """Every string of a wire value that is not inside a secret wrapper."""
    if is_secret(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _unwrapped_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _unwrapped_strings(item)
    elif isinstance(value, str):
        yield value


def test_no_secret_value_appears_unwrapped_anywhere(any_stack: StackRun) -> None:
    inventory = any_stack.inventory(redact_secrets=False)
    secret = password(any_stack)
    leaks = [text for resource in inventory["resources"] for text in _unwrapped_strings(resource["inputs"])
             if secret in text]
    leaks += [text for text in _unwrapped_strings(inventory["outputs"]) if secret in text]
    assert leaks == []
    assert secret in json.dumps(inventory)  # the scan would see it: it is there, but only inside secret wrappers


def test_stack_outputs_name_the_database_but_never_carry_values(any_stack: StackRun) -> None:
    outputs = any_stack.outputs
    assert outputs["databaseWriterEndpoint"] == primary(any_stack).outputs["address"]
    assert outputs["databaseReaderHostname"] == f"db-reader.{any_stack.stack}.maratron.internal"
    assert outputs["databasePort"] == 5432 and outputs["databaseName"] == "maratrondb"
    secrets = {s.inputs["name"]: s.outputs["arn"] for s in any_stack.of_type(SECRET)}
    prefix = f"maratron-{any_stack.stack}/database/"
    assert outputs["databaseUrlSecretArn"] == secrets[f"{prefix}app_rw"]
    assert outputs["databaseReadUrlSecretArn"] == secrets[f"{prefix}app_ro"]
    assert outputs["databaseUrlValueFrom"] == secrets[f"{prefix}app_rw"] + ":url::"
    assert outputs["databaseMasterSecretArn"] == secrets[f"{prefix}master"]
    assert outputs["databaseReplicaSecurityGroupId"] == any_stack.one(SG, "database-replicas-sg").id
    assert outputs["databaseSecurityGroupId"] == any_stack.one(SG, "database-sg").id
    assert not any(is_secret(v) for v in outputs.values())


# --- replicas never block the app tier ----------------------------------------------------------------------------

def test_the_bootstrap_waits_for_the_primary_and_never_for_a_replica(prod: StackRun) -> None:
    bootstrap = prod.one(INVOCATION, "db-bootstrap")
    instances = {r.urn for r in prod.of_type(INSTANCE)}
    assert closure(prod, bootstrap.urn) & instances == {primary(prod).urn}
    # The reader name in DATABASE_READ_URL resolves before any task reads it: its fallback record comes first.
    assert prod.one(RECORD, "database-reader-primary").urn in closure(prod, bootstrap.urn)


def test_only_the_replicas_records_and_alarms_depend_on_a_replica(prod: StackRun) -> None:
    """What `pulumi up` waits for: nothing but a replica's own reader record and its alarms waits for it."""
    replica_urns = {r.urn for r in replicas(prod)}
    waiting = [r for r in prod.resources if replica_urns & closure(prod, r.urn) and r.urn not in replica_urns]
    assert {r.name for r in waiting if r.type == RECORD} == {"database-replica-1-reader", "database-replica-2-reader"}
    assert {r.type for r in waiting} <= {RECORD, ALARM, HEALTH_CHECK, "aws:cloudwatch/dashboard:Dashboard"}


def test_app_secrets_are_ready_when_the_primary_and_its_proxy_are_not_when_the_replicas_are(prod: StackRun) -> None:
    times = finish_times(prod)
    bootstrap = times[prod.one(INVOCATION, "db-bootstrap").urn]
    primary_done = times[primary(prod).urn]
    target_done = times[prod.one("aws:rds/proxyTarget:ProxyTarget").urn]
    replicas_done = min(times[r.urn] for r in replicas(prod))
    assert primary_done < target_done <= bootstrap <= target_done + 1
    assert bootstrap < replicas_done - 10  # a replica takes another ~15-25 minutes


def test_reader_hostname_is_weighted_over_the_replicas_with_the_proxy_as_fallback(prod: StackRun) -> None:
    zone = prod.one("aws:route53/zone:Zone")
    assert zone.inputs["name"] == "prod.maratron.internal"
    assert zone.inputs["vpcs"] == [{"vpcId": prod.one("aws:ec2/vpc:Vpc").id}]
    records = {r.inputs["setIdentifier"]: r.inputs for r in prod.of_type(RECORD)
               if r.inputs["zoneId"] == zone.outputs["zoneId"]}
    assert set(records) == {"primary", "replica-1", "replica-2"}
    proxy = prod.one("aws:rds/proxy:Proxy")
    for identifier, record in records.items():
        assert record["name"] == "db-reader.prod.maratron.internal" and record["type"] == "CNAME"
        assert record["zoneId"] == zone.outputs["zoneId"] and record["ttl"] == 30
        # the fallback goes where writers go (the proxy), so readers need no path to the primary
        target = proxy.outputs["endpoint"] if identifier == "primary" else \
            prod.one(INSTANCE, f"database-{identifier}").outputs["address"]
        assert record["records"] == [target]
        assert record["weightedRoutingPolicies"] == [{"weight": 0 if identifier == "primary" else 1}]


@pytest.mark.parametrize("stack", ["prod", "staging", "dr"])
def test_a_replica_that_is_down_or_behind_leaves_the_reader_name(stack: str, run_variant: Any) -> None:
    """Route 53 treats a record without a health check as always healthy, so without one a replica that is down
    keeps its share of db-reader and the fallback is never served. Each replica's record has a check on an alarm
    over that replica's ReplicaLag, in the stack's region; silence (a rebooting or failed replica) is unhealthy."""
    run = run_variant(stack)
    region = run.config["aws:region"]
    fallback = run.one(RECORD, "database-reader-primary")
    assert "healthCheckId" not in fallback.inputs  # always eligible: the last resort when every replica is out
    for replica in replicas(run):
        record = run.one(RECORD, f"{replica.name}-reader")
        [check] = [r for r in run.resources if r.urn in record.property_dependencies.get("healthCheckId", [])]
        assert check.type == HEALTH_CHECK and record.inputs["healthCheckId"] == check.outputs["id"]
        assert check.inputs["type"] == "CLOUDWATCH_METRIC"
        assert check.inputs["insufficientDataHealthStatus"] == "Unhealthy"
        assert check.inputs["cloudwatchAlarmRegion"] == region
        [alarm] = [r for r in run.resources if r.urn in check.property_dependencies["cloudwatchAlarmName"]]
        assert check.inputs["cloudwatchAlarmName"] == alarm.inputs["name"]
        assert alarm.type == ALARM and alarm.parent == replica.urn
        assert alarm.inputs["dimensions"] == {"DBInstanceIdentifier": replica.outputs["identifier"]}
        assert (alarm.inputs["namespace"], alarm.inputs["metricName"], alarm.inputs["statistic"]) == \
            ("AWS/RDS", "ReplicaLag", "Maximum")
        # one-minute points, evaluated two at a time: a silent replica is out within about three minutes
        assert alarm.inputs["period"] == 60
        assert alarm.inputs["evaluationPeriods"] == alarm.inputs["datapointsToAlarm"] == 2  # not one late point
        assert alarm.inputs["threshold"] == READER_MAX_LAG_SECONDS
        assert not alarm.inputs.get("alarmActions")  # routing only: observability's replica-lag alarm pages


def test_reordering_the_azs_moves_no_running_instance(staging: StackRun, run_variant: Any) -> None:
    """An instance's AZ changes only by replacement (ForceNew): a replica is placed once, and keeps its AZ when
    azNames is reordered or azCount changes (in prod both replicas would be rebuilt at once); a single-AZ primary
    (staging's) keeps its own (protect would refuse the `up`)."""
    reordered = run_variant("staging", azNames=["us-east-1b", "us-east-1a"])
    assert reordered.ok, reordered.error_details
    moved = {i.name for i in reordered.of_type(INSTANCE)
             if i.inputs.get("availabilityZone") != staging.one(INSTANCE, i.name).inputs.get("availabilityZone")}
    assert moved == {"database-primary", "database-replica-1"}  # what the reorder would move without the option
    for name in moved:
        assert "availabilityZone" in reordered.one(INSTANCE, name).ignore_changes, name


def test_without_replicas_or_proxy_the_reader_name_serves_the_primary(dev: StackRun) -> None:
    zone = dev.one("aws:route53/zone:Zone")
    [record] = [r for r in dev.of_type(RECORD) if r.inputs["zoneId"] == zone.outputs["zoneId"]]
    assert record.inputs["setIdentifier"] == "primary"
    assert record.inputs["records"] == [primary(dev).outputs["address"]]
    assert record.inputs["weightedRoutingPolicies"] == [{"weight": 1}]


# --- configuration ------------------------------------------------------------------------------------------------

BASE = dict(MINIMAL_VALID)
PROD = {"environment": "prod", "natGateways": "perAz"}


def load(**changes: str) -> stack_config.StackConfig:
    raw = {**BASE, **{f"maratron:{k}": v for k, v in changes.items()}}
    return stack_config.load(raw, stack="test")


RESTORE_ARN = "arn:aws:rds:us-east-1:123456789012:auto-backup:ab-L2IJCEXJP7XQ7HOJ4SIEXAMPLE"
RESTORE_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def problems(**changes: str) -> list[str]:
    with pytest.raises(stack_config.ConfigError) as caught:
        load(**changes)
    return [str(p) for p in caught.value.problems]


def test_database_defaults_are_the_production_choice() -> None:
    db = load().database
    assert (db.engine_version, db.instance_class, db.multi_az) == ("15", "db.m7g.large", True)
    assert db.replica_classes == ("db.m7g.large", "db.m7g.large") and db.replica_count == 2
    assert (db.backup_retention_days, db.restore_from, db.restore_time) == (14, "", "latest")
    tuning = db.tuning
    assert (tuning.shared_buffers_mb, tuning.effective_cache_size_mb, tuning.max_connections) == (2048, 6144, 600)
    assert (db.proxy.enabled, db.proxy.max_connections_percent, db.proxy.borrow_timeout_seconds) == (True, 80, 10)
    assert db == DatabaseSettings()  # the component's defaults are the stack's: one declaration
    # Without replicas the reads share the proxy: the budget then needs smaller pools (its own test covers it).
    assert load(dbReplicaCount="0", appDatabasePoolSize="5").database.replica_count == 0


@pytest.mark.parametrize(("changes", "expected"), [
    ({"dbEngineVersion": "16.1"}, 'maratron:dbEngineVersion = "16.1": must be a PostgreSQL major version RDS runs '
                                  "here: 15"),
    # A pinned minor turns into a downgrade once RDS applies the next minor in the maintenance window.
    ({"dbEngineVersion": "15.10"}, 'maratron:dbEngineVersion = "15.10": must be the major version 15 alone'),
    ({"dbInstanceClass": "m7g.large"}, 'maratron:dbInstanceClass = "m7g.large": must be an RDS instance class'),
    ({"dbMultiAz": "yes"}, 'maratron:dbMultiAz = "yes": must be true or false'),
    ({"dbReplicaCount": "6"}, "maratron:dbReplicaCount = 6: must be between 0 and 5"),
    ({"dbReplicaInstanceClasses": '["db.r6g.large"]'},
     "maratron:dbReplicaInstanceClasses = [\"db.r6g.large\"]: must list exactly dbReplicaCount (2) instance classes"),
    ({"dbReplicaInstanceClasses": '["db.r6g.large", "r6g"]'}, "'r6g': must be an RDS instance class"),
    ({"dbAllocatedStorageGb": "10"}, "maratron:dbAllocatedStorageGb = 10: must be between 20 and 65536"),
    ({"dbMaxAllocatedStorageGb": "100"},
     "maratron:dbMaxAllocatedStorageGb = 100: must be at least 110, 10% above dbAllocatedStorageGb (100)"),
    ({"dbMaxAllocatedStorageGb": "109"}, "must be at least 110"),  # RDS: "Invalid max storage size"
    ({"dbSharedBuffersMb": "4096", "dbEffectiveCacheSizeMb": "6144"},
     "maratron:dbSharedBuffersMb = 4096: must be at most 3276 MiB, 40% of the 8 GiB of db.m7g.large"),
    # The replicas share the primary's parameter group: the smallest class decides.
    ({"dbSharedBuffersMb": "2048", "dbEffectiveCacheSizeMb": "4096",
      "dbReplicaInstanceClasses": '["db.m7g.large", "db.t4g.medium"]'},
     "maratron:dbSharedBuffersMb = 2048: must be at most 1638 MiB, 40% of the 4 GiB of db.t4g.medium"),
    ({"dbBackupRetentionDays": "0"}, "maratron:dbBackupRetentionDays = 0: must be between 1 and 35"),
    ({"dbBackupRetentionDays": "36"}, "maratron:dbBackupRetentionDays = 36: must be between 1 and 35"),
    ({"dbBackupWindow": "3:00-4:00"}, 'maratron:dbBackupWindow = "3:00-4:00": must be a UTC window hh:mm-hh:mm'),
    ({"dbBackupWindow": "03:00-03:15"}, 'maratron:dbBackupWindow = "03:00-03:15": must last at least 30 minutes'),
    ({"dbMaintenanceWindow": "sunday:04:30-sunday:05:30"}, "must be a UTC window ddd:hh:mm-ddd:hh:mm"),
    ({"dbMaintenanceWindow": "sun:04:30-sun:04:45"}, "must last at least 30 minutes"),
    ({"dbMaintenanceWindow": "mon:03:30-mon:04:30"},
     'maratron:dbMaintenanceWindow = "mon:03:30-mon:04:30": must not overlap dbBackupWindow (03:00-04:00)'),
    ({"dbBackupWindow": "23:30-00:30", "dbMaintenanceWindow": "sat:23:00-sun:00:00"}, "must not overlap"),
    ({"dbRestoreFromBackupsArn": RESTORE_ARN},
     'maratron:dbRestoreKmsKeyArn = "": must be set together with dbRestoreFromBackupsArn'),
    ({"dbRestoreKmsKeyArn": RESTORE_KEY},
     'maratron:dbRestoreFromBackupsArn = "": must be set together with dbRestoreKmsKeyArn'),
    ({"dbRestoreFromBackupsArn": "arn:aws:rds:us-east-1:123456789012:snapshot:nightly"},
     "must be the ARN of replicated automated backups (arn:aws:rds:<region>:<account>:auto-backup:ab-...)"),
    ({"dbRestoreFromBackupsArn": RESTORE_ARN.replace("us-east-1", "us-west-2"), "dbRestoreKmsKeyArn": RESTORE_KEY},
     "must be replicated backups in the stack's region us-east-1, not us-west-2"),
    ({"dbRestoreFromBackupsArn": RESTORE_ARN, "dbRestoreKmsKeyArn": RESTORE_KEY.replace("us-east-1", "eu-west-1")},
     "must be key in the stack's region us-east-1, not eu-west-1"),
    ({"dbRestoreKmsKeyArn": "alias/dr"}, "must be a KMS key ARN"),
    ({"dbRestoreKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/mrk-1234"}, "must be a KMS key ARN"),
    ({"dbRestoreTime": "yesterday"}, 'maratron:dbRestoreTime = "yesterday": must be latest or a past UTC timestamp'),
    ({"dbRestoreTime": "2026-02-30T06:00:00Z"}, "(no such date or time)"),
    ({"dbRestoreTime": "2026-13-45T99:00:00Z"}, "(no such date or time)"),
    ({"dbRestoreTime": "2999-01-01T00:00:00Z"}, "(this one is in the future)"),
    ({"dbBackupReplicationRegion": "us-west-2"},
     'maratron:dbBackupReplicationRegion = "us-west-2": removed: replaced by drRegion (default: paired)'),
    ({"dbBackupReplicationKmsKeyArn": RESTORE_KEY}, "maratron:dbBackupReplicationKmsKeyArn = "),
    ({"dbPerformanceInsightsRetentionDays": "30"},
     "maratron:dbPerformanceInsightsRetentionDays = 30: must be one of 7, 31, 62"),
    ({"dbMonitoringIntervalSeconds": "20"}, "maratron:dbMonitoringIntervalSeconds = 20: must be one of 0, 1, 5"),
    ({"dbSharedBuffersMb": "8"}, "maratron:dbSharedBuffersMb = 8: must be between 16 and 262144"),
    ({"dbEffectiveCacheSizeMb": "128"}, "maratron:dbEffectiveCacheSizeMb = 128: must be at least dbSharedBuffersMb"),
    ({"dbMaintenanceWorkMemMb": "4096"}, "maratron:dbMaintenanceWorkMemMb = 4096: must be between 16 and 2048"),
    ({"dbWalBuffersMb": "0"}, "maratron:dbWalBuffersMb = 0: must be between 1 and 256"),
    ({"dbMaxConnections": "10"}, "maratron:dbMaxConnections = 10: must be between 20 and 5000"),
    ({"dbSlowQueryMs": "0"}, "maratron:dbSlowQueryMs = 0: must be between 100 and 3600000"),
    ({**PROD, "dbMultiAz": "false"}, "maratron:dbMultiAz = false: prod needs true"),
    ({**PROD, "dbBackupRetentionDays": "7"}, "maratron:dbBackupRetentionDays = 7: prod needs at least 14 days"),
    ({**PROD, "dbInstanceClass": "db.t4g.large"}, 'maratron:dbInstanceClass = "db.t4g.large": prod needs a non-burst'),
    ({**PROD, "dbMonitoringIntervalSeconds": "0"},
     "maratron:dbMonitoringIntervalSeconds = 0: prod needs enhanced monitoring"),
])
def test_each_bad_database_value_names_key_value_and_what_is_allowed(changes: dict[str, str], expected: str) -> None:
    found = problems(**changes)
    assert any(expected in p for p in found), found


def test_a_multi_region_key_is_a_restore_key_too() -> None:
    """A multi-Region key's id is `mrk-` and 32 hex digits, not a UUID (the pack's recovery rule reads the same
    pattern, components/constants.py KMS_KEY_ARN)."""
    key = "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    assert load(dbRestoreFromBackupsArn=RESTORE_ARN, dbRestoreKmsKeyArn=key).database.restore_kms_key_arn == key


def test_a_rejected_value_does_not_trigger_follow_up_rules() -> None:
    assert problems(dbReplicaCount="x", dbReplicaInstanceClasses='["db.r6g.large"]') == [
        'maratron:dbReplicaCount = "x": must be an integer']
    assert problems(dbBackupWindow="nope") == [
        'maratron:dbBackupWindow = "nope": must be a UTC window hh:mm-hh:mm, e.g. 03:00-04:00']


@pytest.mark.parametrize(("backup", "maintenance", "overlap"), [
    ("03:00-04:00", "sun:04:30-sun:05:30", False),
    ("03:00-04:00", "sun:04:00-sun:05:00", False),  # touching is fine
    ("03:00-04:00", "wed:03:59-wed:04:30", True),
    ("23:30-00:30", "mon:00:00-mon:01:00", True),  # the backup crosses midnight
    ("23:30-00:30", "sun:23:50-mon:00:20", True),  # the maintenance window crosses the week
    ("01:00-02:00", "sun:23:00-mon:00:30", False),
])
def test_window_overlap(backup: str, maintenance: str, overlap: bool) -> None:
    assert windows_overlap(backup, maintenance) is overlap


def test_the_proxy_uses_only_subnets_in_zones_where_rds_proxy_is_offered(prod: StackRun, staging: StackRun) -> None:
    """RDS Proxy is not offered in use1-az3: with three subnets RDS drops that one and every later `up` would replace
    the proxy; with two, CreateDBProxy fails. The offline account maps us-east-1c to use1-az3."""
    from components.database_proxy import proxy_subnet_ids

    zone_of = {s.id: s.inputs["availabilityZone"] for s in prod.of_type("aws:ec2/subnet:Subnet")}
    proxy = prod.one("aws:rds/proxy:Proxy")
    assert sorted(zone_of[s] for s in proxy.inputs["vpcSubnetIds"]) == ["us-east-1a", "us-east-1b"]
    assert len(prod.one("aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"]) == 3  # the database keeps all three
    assert len(staging.one("aws:rds/proxy:Proxy").inputs["vpcSubnetIds"]) == 2
    # Fixed at creation: a changed subnet list would replace the proxy (ForceNew), delete-first as we name it, and
    # every write would fail until the new one is up; an AZ added later does not need it (Z17).
    assert all("vpcSubnetIds" in run.one("aws:rds/proxy:Proxy").ignore_changes for run in (prod, staging))
    assert proxy_subnet_ids(["s1", "s2", "s3"], ["use1-az1", "use1-az2", "use1-az4"]) == ["s1", "s2", "s3"]
    with pytest.raises(pulumi.RunError, match="use1-az3 is not one: the data subnets are in zones use1-az1, "
                                              "use1-az3; pin azNames"):
        proxy_subnet_ids(["s1", "s3"], ["use1-az1", "use1-az3"])



def test_removing_an_az_the_proxy_is_in_moves_it_only_when_told(run_variant) -> None:  # type: ignore[no-untyped-def]
    """Pulumi sends an ignored property's old value from state even to a replacement, so `up --replace` left the
    proxy in the removed AZ's subnet and the subnet's deletion failed (the runbook's step 3, found on review): the
    setting stops ignoring them for that one `up` (docs/network.md, "Changing the AZs")."""
    followed = run_variant("prod", **PROD_VARIANT)
    assert followed.config["maratron:dbProxyFollowSubnets"] == "true"
    assert "vpcSubnetIds" not in followed.one("aws:rds/proxy:Proxy").ignore_changes
    network = (Path(__file__).resolve().parent.parent / "docs" / "network.md").read_text()
    assert "dbProxyFollowSubnets: true" in network and "--replace <proxy URN>` alone would not move it" in network

def test_the_proxys_zones_come_from_the_az_names_so_a_first_preview_checks_them(
        prod: StackRun, run_variant: Callable[..., StackRun]) -> None:
    """On a first preview the data subnets have no ids yet, and the SDK skips an invoke whose inputs are unknown: a
    zone check through GetSubnet would only run in the middle of `up`. The zones come from DescribeAvailabilityZones
    of the configured AZ names instead (a review of the mocks, Z22); two AZs one of which is use1-az3 fail the run."""
    assert not [args for token, args in prod.invokes if token == "aws:ec2/getSubnet:getSubnet"]
    assert {"allAvailabilityZones": True} in [args for token, args in prod.invokes
                                              if token == "aws:index/getAvailabilityZones:getAvailabilityZones"]
    bad = run_variant("staging", azNames=["us-east-1a", "us-east-1c"])
    assert not bad.ok and "use1-az3 is not one" in str(bad.error) and "pin azNames" in str(bad.error)
    # and in a preview of a stack not created yet, where every new resource's id is unknown (the mocks answer as
    # the engine does then): the check still runs, so `pulumi preview` fails, not the middle of `up`
    first = run_stack("staging", {"maratron:azNames": ["us-east-1a", "us-east-1c"]}, preview=True)
    assert not first.ok and "use1-az3 is not one" in str(first.error)
    subnet = next(r for r in first.resources if r.type == "aws:ec2/subnet:Subnet")
    assert not subnet.id  # unknown, as in the engine's first preview


def test_replicas_are_maintained_on_the_days_before_the_primary(prod: StackRun) -> None:
    """RDS asks for read replicas to take a minor upgrade before their source (USER_UpgradeDBInstance.PostgreSQL),
    and it upgrades a Multi-AZ primary and its standby together, down for minutes: the replicas (which serve the
    reads) take the same hours on the days before, never in the same window."""
    from components.windows import weekly_window_shifted

    windows = {r.name: r.inputs["maintenanceWindow"] for r in prod.of_type("aws:rds/instance:Instance")}
    assert windows == {"database-primary": "sun:04:30-sun:05:30", "database-replica-1": "sat:04:30-sat:05:30",
                       "database-replica-2": "fri:04:30-fri:05:30"}
    assert weekly_window_shifted("sat:23:30-sun:00:30", 1) == "sun:23:30-mon:00:30"  # wraps around the week
    assert weekly_window_shifted("mon:00:10-mon:00:50", -1) == "sun:00:10-sun:00:50"  # and backwards


def test_five_replicas_keep_to_the_three_days_before_the_primary_and_pass_the_pack(pack: PolicyPackProcess) -> None:
    """The most replicas the settings allow: replicas 4 and 5 share days with 1 and 2 rather than going four and five
    days back, where a window is nearer after the primary than before it (the pack rule refuses that)."""
    run = database_only(dbReplicaCount=5)
    assert run.ok, run.error_details
    windows = [r.inputs["maintenanceWindow"] for r in run.of_type("aws:rds/instance:Instance")
               if r.inputs.get("replicateSourceDb")]
    assert windows == [f"{day}:04:30-{day}:05:30" for day in ("sat", "fri", "thu", "sat", "fri")]
    verdict = check_run(run, pack=pack)  # prod's pack config: the rule is mandatory (the fourth day back: test_rules)
    assert [v.message for v in verdict.of("rds-replica-maintenance-before-source")] == []
