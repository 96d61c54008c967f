"""Cache component: Redis 7 replication group per environment, TLS + RBAC users, CMK, logs, secrets, SG, config."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import stack_config
from components.cache import APP_USER_NAME, DEFAULT_USER_ACCESS, replication_group_id
from components.constants import CREDENTIAL_TAG
from offline.engine import SECRET_SIG, StackRun, is_secret, run_program
from tests.configs import MINIMAL_VALID, PROD_VARIANT, REDIS_CLUSTERED, config_problems

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
PARAMS = "aws:elasticache/parameterGroup:ParameterGroup"
SUBNET_GROUP = "aws:elasticache/subnetGroup:SubnetGroup"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
PASSWORD = "random:index/randomPassword:RandomPassword"
USER = "aws:elasticache/user:User"
USER_GROUP = "aws:elasticache/userGroup:UserGroup"
CLUSTERED: dict[str, Any] = PROD_VARIANT
"""The cluster-mode variant every cluster test shares: tests/configs.py's PROD_VARIANT (REDIS_CLUSTERED, two shards of
two nodes), one engine run with other modules' independent settings (none of them the cache's)."""


def group(run: StackRun) -> Any:
    return run.one(GROUP)


def key_arn(run: StackRun, domain: str) -> str:
    return str(run.one("aws:kms/key:Key", f"keys-{domain}").outputs["arn"])


def test_prod_is_primary_plus_two_replicas_across_three_azs_with_failover(prod: StackRun) -> None:
    rg = group(prod)
    assert rg.inputs["engine"] == "redis" and rg.inputs["engineVersion"] == "7.1"
    assert rg.inputs["clusterMode"] == "disabled"
    assert rg.inputs["numCacheClusters"] == 3
    assert rg.inputs["preferredCacheClusterAzs"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert rg.inputs["automaticFailoverEnabled"] is True
    assert rg.inputs["multiAzEnabled"] is True
    assert rg.inputs["nodeType"] == "cache.m7g.large"
    assert "numNodeGroups" not in rg.inputs and "replicasPerNodeGroup" not in rg.inputs


def test_prod_is_protected_and_defers_changes(prod: StackRun) -> None:
    rg = group(prod)
    assert rg.protect is True
    assert rg.inputs["applyImmediately"] is False
    assert rg.inputs["finalSnapshotIdentifier"] == "maratron-prod-redis-final"
    assert rg.inputs["snapshotRetentionLimit"] == 7
    assert rg.inputs["snapshotWindow"] == "03:00-04:00"
    assert rg.inputs["maintenanceWindow"] == "sun:05:00-sun:06:00"
    assert rg.inputs["autoMinorVersionUpgrade"] is True
    assert all(s.inputs["recoveryWindowInDays"] == 30 for s in prod.of_type(SECRET) if s.name.startswith("cache-"))


def test_dev_is_a_single_small_node_without_failover(dev: StackRun) -> None:
    rg = group(dev)
    assert rg.inputs["numCacheClusters"] == 1
    assert rg.inputs["nodeType"] == "cache.t4g.micro"
    assert rg.inputs["automaticFailoverEnabled"] is False and rg.inputs["multiAzEnabled"] is False
    assert rg.protect is False and rg.inputs["applyImmediately"] is True
    assert "finalSnapshotIdentifier" not in rg.inputs


def test_every_stack_encrypts_in_transit_and_at_rest_and_authenticates_rbac_users(any_stack: StackRun) -> None:
    rg = group(any_stack)
    assert rg.inputs["transitEncryptionEnabled"] is True  # RBAC needs in-transit encryption
    assert rg.inputs["transitEncryptionMode"] == "required"
    assert rg.inputs["atRestEncryptionEnabled"] is True
    assert rg.inputs["kmsKeyId"] == key_arn(any_stack, "data")
    assert "authToken" not in rg.inputs and "authTokenUpdateStrategy" not in rg.inputs
    users = any_stack.one(USER_GROUP, "cache-users")
    assert rg.property_dependencies["userGroupIds"] == [users.urn]
    assert rg.plain("userGroupIds") == [users.plain("userGroupId")]
    members = {any_stack.one(USER, name).plain("userId"): any_stack.one(USER, name)
               for name in ("cache-default-user", "cache-app-user")}
    assert sorted(users.plain("userIds")) == sorted(members)
    assert users.plain("userGroupId") == f"maratron-{any_stack.stack}-redis-users"


def test_the_default_user_is_disabled_and_the_app_user_owns_its_password_after_creation(any_stack: StackRun) -> None:
    default = any_stack.one(USER, "cache-default-user")
    assert default.plain("userName") == "default" and default.plain("accessString") == DEFAULT_USER_ACCESS
    assert DEFAULT_USER_ACCESS.startswith("off ")
    app = any_stack.one(USER, "cache-app-user")
    assert app.plain("userName") == APP_USER_NAME and app.plain("accessString").startswith("on ")
    mode = app.inputs["authenticationMode"]
    assert mode["type"] == "password" and all(is_secret(p) for p in mode["passwords"])
    password = any_stack.one(PASSWORD, "cache-app-user-password")
    assert 16 <= password.inputs["length"] <= 128 and password.inputs["special"] is False
    # rotation owns the password from the first deploy on: Pulumi must never write it back
    assert set(app.ignore_changes) == {"authenticationMode", "passwords"}


def test_parameter_group_realizes_the_guide(any_stack: StackRun) -> None:
    params = any_stack.one(PARAMS)
    assert params.inputs["family"] == "redis7"
    values = {p["name"]: p["value"] for p in params.inputs["parameters"]}
    assert values == {"maxmemory-policy": "allkeys-lru", "timeout": "0", "tcp-keepalive": "300",
                      "cluster-enabled": "no"}
    assert group(any_stack).inputs["parameterGroupName"] == params.outputs["name"]


def test_nodes_live_in_the_data_subnets(any_stack: StackRun) -> None:
    subnets = any_stack.one(SUBNET_GROUP)
    data = sorted(s.id for s in any_stack.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "data")
    assert sorted(subnets.inputs["subnetIds"]) == data
    assert group(any_stack).inputs["subnetGroupName"] == subnets.outputs["name"]


def test_slow_and_engine_logs_go_to_encrypted_log_groups(any_stack: StackRun) -> None:
    deliveries = {d["logType"]: d for d in group(any_stack).inputs["logDeliveryConfigurations"]}
    assert set(deliveries) == {"slow-log", "engine-log"}
    for log_type, delivery in deliveries.items():
        assert delivery["destinationType"] == "cloudwatch-logs" and delivery["logFormat"] == "json"
        log_group = any_stack.one(LOG_GROUP, f"cache-{log_type}")
        assert delivery["destination"] == log_group.inputs["name"] == f"/maratron-{any_stack.stack}/redis/{log_type}"
        assert log_group.inputs["kmsKeyId"] == key_arn(any_stack, "logs")
    retention = int(any_stack.config["maratron:logRetentionDays"])
    assert {any_stack.one(LOG_GROUP, f"cache-{t}").inputs["retentionInDays"] for t in deliveries} == {retention}


def test_security_group_has_no_cidr_and_no_inline_rules(any_stack: StackRun) -> None:
    sg = any_stack.one(SG, "cache-sg")
    assert sg.inputs["vpcId"] == any_stack.one("aws:ec2/vpc:Vpc").id
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs
    assert group(any_stack).inputs["securityGroupIds"] == [sg.id]
    for rule in any_stack.of_type(INGRESS):
        if rule.inputs["securityGroupId"] == sg.id:
            assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
            assert rule.inputs["referencedSecurityGroupId"].startswith("sg-")


def test_grant_admits_6379_from_a_security_group_only(tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    program.write_text('''
import pulumi_aws as aws
from components.cache import Cache, CacheArgs, CacheSettings
from components.connections import Connections, grant
key = aws.kms.Key("key")
app = aws.ec2.SecurityGroup("app", vpc_id="vpc-1")
cache = Cache("cache", CacheArgs(subnet_ids=["subnet-1", "subnet-2"], vpc_id="vpc-1",
    az_names=("us-east-1a", "us-east-1b"), data_key=key, log_key=key, log_retention_days=30,
    settings=CacheSettings(replicas=1)))
grant(Connections(app, label="web"), cache)
grant(Connections(aws.ec2.SecurityGroup("ops", vpc_id="vpc-1"), label="ops"), cache, egress=False)
''')
    run = run_program("unit", {"aws:region": "us-east-1"}, [], program=program)
    assert run.ok, run.error_details
    rule = run.one(INGRESS, "cache-from-web")
    assert rule.inputs["referencedSecurityGroupId"] == run.one(SG, "app").id
    assert rule.inputs["securityGroupId"] == run.one(SG, "cache-sg").id
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 6379, 6379)
    assert "cidrIpv4" not in rule.inputs
    assert run.by_urn(rule.parent).name == "cache-sg"
    egress = run.one("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "web-to-cache")
    assert egress.inputs["securityGroupId"] == run.one(SG, "app").id
    assert egress.inputs["referencedSecurityGroupId"] == run.one(SG, "cache-sg").id
    assert (egress.inputs["ipProtocol"], egress.inputs["fromPort"], egress.inputs["toPort"]) == ("tcp", 6379, 6379)
    assert "cidrIpv4" not in egress.inputs
    # egress=False: only the ingress half (for a source that manages its own egress).
    assert len(run.of_type(INGRESS)) == 2
    assert len(run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")) == 1
    assert group(run).inputs["numCacheClusters"] == 2


def test_redis_user_secret_holds_the_tls_url_and_pulumi_writes_only_its_first_value(any_stack: StackRun) -> None:
    secret = any_stack.one(SECRET, "cache-app-user")
    assert secret.inputs["name"] == f"maratron-{any_stack.stack}/redis/app"
    assert secret.inputs["kmsKeyId"] == key_arn(any_stack, "data")
    assert secret.plain("tags")[CREDENTIAL_TAG] == "redis-user"
    version = any_stack.one(SECRET_VERSION, "cache-app-user")
    assert version.inputs["secretId"] == secret.id and is_secret(version.inputs["secretString"])
    assert version.inputs["versionStages"] == ["AWSCURRENT", "MARATRON_INITIAL"]
    assert set(version.ignore_changes) == {"secretString", "versionStages"}
    value = json.loads(version.plain("secretString"))
    password = any_stack.one(PASSWORD, "cache-app-user-password").outputs["result"]
    endpoint = group(any_stack).outputs["primaryEndpointAddress"]
    assert value["url"] == f"rediss://{APP_USER_NAME}:{password}@{endpoint}:6379"
    assert (value["username"], value["password"], value["rotation"]) == (APP_USER_NAME, password, "redis")
    assert value["userId"] == any_stack.one(USER, "cache-app-user").plain("userId")


def test_outputs(any_stack: StackRun) -> None:
    outputs = any_stack.plain_outputs()
    rg = group(any_stack)
    assert outputs["redisEndpoint"] == rg.outputs["primaryEndpointAddress"]
    assert outputs["redisPort"] == 6379
    arn = any_stack.one(SECRET, "cache-app-user").outputs["arn"]
    assert outputs["redisUrlSecretArn"] == arn and outputs["redisUrlValueFrom"] == f"{arn}:url::"
    assert outputs["redisAppUserId"] == any_stack.one(USER, "cache-app-user").plain("userId")
    assert outputs["redisSecurityGroupId"] == any_stack.one(SG, "cache-sg").id
    assert outputs["redisClusterEnabled"] is False


def test_cluster_mode_variant(run_variant: Callable[..., StackRun]) -> None:
    run = run_variant("prod", **CLUSTERED)
    assert run.ok, run.error_details
    assert {k: run.config[f"maratron:{k}"] for k in REDIS_CLUSTERED} == {
        "redisClusterMode": "true", "redisShards": "2", "redisReplicas": "1"}
    rg = group(run)
    assert rg.inputs["clusterMode"] == "enabled"
    assert (rg.inputs["numNodeGroups"], rg.inputs["replicasPerNodeGroup"]) == (2, 1)
    assert "numCacheClusters" not in rg.inputs and "preferredCacheClusterAzs" not in rg.inputs
    assert rg.inputs["automaticFailoverEnabled"] is True and rg.inputs["multiAzEnabled"] is True
    values = {p["name"]: p["value"] for p in run.one(PARAMS).inputs["parameters"]}
    assert values["cluster-enabled"] == "yes" and values["maxmemory-policy"] == "allkeys-lru"
    endpoint = rg.outputs["configurationEndpointAddress"]
    assert run.plain_outputs()["redisEndpoint"] == endpoint
    assert run.plain_outputs()["redisClusterEnabled"] is True
    url = json.loads(run.one(SECRET_VERSION, "cache-app-user").plain("secretString"))["url"]
    assert url.startswith(f"rediss://{APP_USER_NAME}:") and url.endswith(f"@{endpoint}:6379")


def test_changing_cluster_mode_replaces_the_group_and_its_parameters(prod: StackRun,
                                                                      run_variant: Callable[..., StackRun]) -> None:
    """AWS changes a running group's cluster mode only in two steps through `compatible`; sent as one change it
    fails half-way (day-2 review). The preview shows a replacement instead, and the new group gets a new parameter
    group: the description names the mode, and ElastiCache's parameter group description forces a new one."""
    clustered = run_variant("prod", **CLUSTERED)
    for run in (prod, clustered):
        assert "clusterMode" in group(run).replace_on_changes and group(run).delete_before_replace
    assert group(prod).protect  # a retained stack stops the replacement until someone unprotects the group
    descriptions = {run.one(PARAMS).inputs["description"] for run in (prod, clustered)}
    assert len(descriptions) == 2


def _strings_outside_secrets(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string in a wire-form value that is not inside a secret wrapper, with its path."""
    if is_secret(value):
        return []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings_outside_secrets(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings_outside_secrets(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, str) else []


@pytest.mark.parametrize("variant", [{}, CLUSTERED])
def test_token_and_url_never_appear_unwrapped(run_variant: Callable[..., StackRun], variant: dict[str, Any]) -> None:
    run = run_variant("prod", **variant)
    assert run.ok, run.error_details
    token = run.one(PASSWORD, "cache-app-user-password").outputs["result"]
    assert len(token) >= 16
    inventory = run.inventory(redact_secrets=False)
    leaks = []
    for resource in inventory["resources"]:
        if resource["type"] == PASSWORD:
            continue  # the generator's own state; its `result` output is secret in the provider schema
        leaks += [(resource["name"], p) for p, s in _strings_outside_secrets(resource["inputs"]) if token in s]
    leaks += [("outputs", p) for p, s in _strings_outside_secrets(inventory["outputs"]) if token in s]
    assert leaks == []
    # ...and the scan is not vacuous: the token is in the inventory, inside secret wrappers.
    assert token in json.dumps(inventory) and SECRET_SIG in json.dumps(inventory)


# --- configuration --------------------------------------------------------------------------------------------------

GOOD = dict(MINIMAL_VALID)


def problems(**changes: str) -> list[str]:
    raw = {**GOOD, **{(k if ":" in k else f"maratron:{k}"): v for k, v in changes.items()}}
    found = config_problems(raw)
    assert found, "the configuration loads: expected problems"
    return found


def test_schema_defaults_are_the_production_topology() -> None:
    cache = stack_config.load({**GOOD, "maratron:environment": "prod", "maratron:natGateways": "perAz",
                               "maratron:alertEmails": '["oncall@example.com"]'}, stack="t").cache
    assert (cache.replicas, cache.automatic_failover, cache.multi_az, cache.cluster_mode) == (2, True, True, False)
    assert cache.node_count == 3 and cache.node_type == "cache.m7g.large"


@pytest.mark.parametrize(("changes", "expected"), [
    ({"redisEngineVersion": "6.2"}, 'maratron:redisEngineVersion = "6.2": must be a Redis OSS 7 version ElastiCache '
                                    "offers: 7.0, 7.1"),
    ({"redisEngineVersion": "7.2"}, "must be a Redis OSS 7 version ElastiCache offers"),  # 7.2 is Valkey's only
    ({"redisNodeType": "m7g.large"}, 'maratron:redisNodeType = "m7g.large": must be an ElastiCache node type'),
    ({"redisReplicas": "6"}, "maratron:redisReplicas = 6: must be between 0 and 5"),
    ({"redisShards": "0"}, "maratron:redisShards = 0: must be between 1 and 500"),
    ({"redisSnapshotRetentionDays": "36"}, "maratron:redisSnapshotRetentionDays = 36: must be between 0 and 35"),
    ({"redisClusterMode": "yes"}, 'maratron:redisClusterMode = "yes": must be true or false'),
    ({"redisSnapshotWindow": "3:00-4:00"}, 'maratron:redisSnapshotWindow = "3:00-4:00": must be a UTC window hh:mm'),
    ({"redisSnapshotWindow": "03:00-03:30"}, "maratron:redisSnapshotWindow = \"03:00-03:30\": must last at least 60"),
    ({"redisMaintenanceWindow": "sunday:05:00-sunday:06:00"}, "must be a UTC window ddd:hh:mm-ddd:hh:mm"),
    ({"redisMaintenanceWindow": "sun:05:00-sun:05:30"}, "must last at least 60 minutes"),
    ({"redisReplicas": "0", "redisAutomaticFailover": "true", "redisMultiAz": "false"},
     "maratron:redisAutomaticFailover = true: needs redisReplicas >= 1"),
    ({"redisReplicas": "1", "redisAutomaticFailover": "false", "redisMultiAz": "true"},
     "maratron:redisMultiAz = true: needs redisAutomaticFailover = true"),
    ({"redisReplicas": "1", "redisAutomaticFailover": "false", "redisMultiAz": "false", "redisClusterMode": "true"},
     "maratron:redisClusterMode = true: needs redisAutomaticFailover = true"),
    ({"redisShards": "3"}, "maratron:redisShards = 3: more than 1 shard needs redisClusterMode = true"),
    # ElastiCache's own limits, refused here instead of mid-deploy.
    ({"redisNodeType": "cache.t1.micro"}, 'maratron:redisNodeType = "cache.t1.micro": must be a current-generation '
                                          "node type without data tiering"),
    ({"redisNodeType": "cache.r6gd.xlarge"}, "creates no new r6gd Redis clusters of this design"),
    ({"redisClusterMode": "true", "redisShards": "100", "redisReplicas": "5"},
     "maratron:redisShards = 100: 100 shards x (1 + redisReplicas 5) = 600 nodes; a cluster holds at most 500"),
    ({"redisMaintenanceWindow": "sun:03:30-sun:04:30"},
     'maratron:redisMaintenanceWindow = "sun:03:30-sun:04:30": must not overlap redisSnapshotWindow (03:00-04:00)'),
    ({"redisMaintenanceWindow": "sun:05:00-mon:06:00"}, "must last at most"),
    ({"azCount": "1", "azNames": '["us-east-1a"]'}, "maratron:redisMultiAz = true: needs azCount >= 2"),
])
def test_each_bad_cache_value_names_key_value_and_rule(changes: dict[str, str], expected: str) -> None:
    found = problems(**changes)
    assert any(expected in p for p in found), found


def test_prod_needs_failover_multi_az_and_snapshots() -> None:
    found = problems(environment="prod", natGateways="perAz", redisReplicas="0", redisAutomaticFailover="false",
                     redisMultiAz="false", redisSnapshotRetentionDays="0")
    assert any(re.search(r"redisAutomaticFailover = false: prod needs true", p) for p in found), found
    assert any("maratron:redisMultiAz = false: prod needs true" in p for p in found), found
    assert any("maratron:redisSnapshotRetentionDays = 0: prod needs >= 1" in p for p in found), found


def test_a_rejected_value_does_not_trigger_dependent_rules() -> None:
    assert problems(redisReplicas="many") == ['maratron:redisReplicas = "many": must be an integer']


@pytest.mark.parametrize(("changes", "message"), [
    ({"replicas": 0}, "redisAutomaticFailover = true: needs redisReplicas >= 1"),
    ({"automatic_failover": False}, "redisMultiAz = true: needs redisAutomaticFailover = true"),
    ({"automatic_failover": False, "multi_az": False, "cluster_mode": True},
     "redisClusterMode = true: needs redisAutomaticFailover = true"),
    ({"shards": 2}, "redisShards = 2: more than 1 shard needs redisClusterMode = true"),
    ({"replicas": 6}, "redisReplicas = 6: must be between 0 and 5"),
])
def test_cache_args_refuse_what_elasticache_would_reject(changes: dict[str, Any], message: str) -> None:
    # One validation: the settings type's rules, run for the stack's config and for a component built in code.
    from components.cache import CacheArgs, CacheSettings

    base: dict[str, Any] = {"subnet_ids": ["subnet-1"], "vpc_id": "vpc-1", "az_names": ("us-east-1a",),
                            "data_key": None, "log_key": None, "log_retention_days": 30}
    with pytest.raises(ValueError, match=re.escape(message)):
        CacheArgs(**base, settings=CacheSettings(**changes))


@pytest.mark.parametrize(("prefix", "expected"), [
    ("maratron-prod", "maratron-prod-redis"),
    ("Maratron_QA.2", "maratron-qa-2-redis"),
    ("1st", "r-1st-redis"),
    ("a" * 50, "a" * 40),
])
def test_replication_group_id_is_what_elasticache_accepts(prefix: str, expected: str) -> None:
    assert replication_group_id(prefix) == expected


def test_group_id_and_member_ids_name_what_cloudwatch_reports(any_stack: StackRun,
                                                                run_variant: Callable[..., StackRun]) -> None:
    rg = group(any_stack)
    assert rg.inputs["replicationGroupId"] == f"maratron-{any_stack.stack}-redis"
    assert rg.delete_before_replace is True  # a fixed id cannot be created before the old group is gone
    clustered = run_variant("prod", **CLUSTERED)
    ids = {a.inputs["dimensions"]["CacheClusterId"]
           for a in clustered.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
           if "CacheClusterId" in a.inputs.get("dimensions", {})}
    assert ids == {f"maratron-prod-redis-{s:04d}-{n:03d}" for s in (1, 2) for n in (1, 2)}


def test_the_replica_removal_procedure_refreshes_the_state_before_a_release() -> None:
    """docs/cache.md's "Lowering redisReplicas": after removing a node by hand the state still holds the old count,
    and a plain `up` (ops/release.sh) would ask ElastiCache for one replica fewer again (NoOperationFault), so the
    procedure ends with a refresh."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "cache.md").read_text()
    procedure = page.split("**Lowering `redisReplicas`.**", 1)[1].split("\n**", 1)[0]
    removal = procedure.index("decrease-replica-count")
    assert "pulumi refresh" in procedure[removal:], "refresh the state after the manual removal"
