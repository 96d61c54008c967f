"""Database access wiring: RDS Proxy, security groups, the db-admin bootstrap, rotation schedules, no master in any
service, the functions' least privilege, the Lambda package and the redeploy-on-rotation rules."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from components import credentials, secret_redeploy
from components.constants import CREDENTIAL_TAG, ROTATION_EXEMPT
from offline.engine import Resource, StackRun, is_secret
from tests.configs import PROD_VARIANT
from tests.test_database import closure
from tests.test_service import bare

SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION = "aws:lambda/function:Function"
INVOCATION = "aws:lambda/invocation:Invocation"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PROXY = "aws:rds/proxy:Proxy"


def secret_named(run: StackRun, suffix: str) -> Resource:
    return next(s for s in run.of_type(SECRET) if s.plain("name") == f"maratron-{run.stack}/{suffix}")


def policy_of(run: StackRun, role_logical: str) -> list[dict[str, Any]]:
    return list(json.loads(run.one(ROLE_POLICY, role_logical).plain("policy"))["Statement"])


# --- rotation ---------------------------------------------------------------------------------------------------------

def test_every_generated_secret_rotates_on_a_30_day_schedule_by_its_function(any_stack: StackRun) -> None:
    rotations = {r.plain("secretId"): r for r in any_stack.of_type(ROTATION)}
    functions = {f.plain("name"): f.outputs["arn"] for f in any_stack.of_type(FUNCTION)}
    exempt = {kind.value for kind in ROTATION_EXEMPT}
    for secret in any_stack.of_type(SECRET):
        kind = secret.plain("tags")[CREDENTIAL_TAG]
        if kind in exempt:
            assert secret.id not in rotations, secret.name
            continue
        rotation = rotations[secret.id]
        assert rotation.plain("rotationRules") == {"scheduleExpression": "rate(30 days)", "duration": "3h"}
        owner = "redis-rotation" if kind == "redis-user" else "db-admin"
        assert rotation.plain("rotationLambdaArn") == functions[f"maratron-{any_stack.stack}-{owner}"]
        # The master and the Redis user start with a value Pulumi generated: rotated at once, so the copy in state
        # is dead after the first deploy. The others were written by the function and never left it.
        assert rotation.plain("rotateImmediately") is (kind in ("database-master", "redis-user")), secret.name
        [permission] = [p for p in any_stack.of_type(PERMISSION) if p.plain("sourceArn") == secret.outputs["arn"]]
        assert permission.plain("principal") == "secretsmanager.amazonaws.com"
        assert permission.plain("action") == "lambda:InvokeFunction"
        assert permission.urn in rotation.dependencies
    assert len(rotations) == 6  # master, app_rw, app_ro, app_migrate, app_backup, the Redis user
    assert sorted(any_stack.outputs["rotatedSecretArns"]) == sorted(rotations)


def test_the_manual_secrets_are_the_third_party_keys_nextauth_and_the_restore_target(prod: StackRun) -> None:
    # app/<ENV_VAR> (issue 9's naming), the restore check's scratch-server URL an operator writes per drill, and the
    # CDN's origin header values (rotated with cdnOriginSecretGeneration, docs/runbooks/secret-rotation.md).
    manual = sorted(s.plain("name").removeprefix("maratron-prod/") for s in prod.of_type(SECRET)
                    if s.plain("tags")[CREDENTIAL_TAG] == "manual")
    assert manual == ["app/ANTHROPIC_API_KEY", "app/NEXTAUTH_SECRET", "app/SENTRY_DSN", "app/WEATHER_API_KEY",
                      "backup/RESTORE_DATABASE_URL", "cdn/origin_verify"]


# --- no service holds the master ------------------------------------------------------------------------------------

def test_no_service_or_task_reads_the_master_credentials(any_stack: StackRun) -> None:
    master = secret_named(any_stack, "database/master")
    for task in any_stack.of_type(TASK):
        definitions = json.loads(task.plain("containerDefinitions"))
        sources = [s["valueFrom"] for d in definitions for s in d.get("secrets", [])]
        assert not [s for s in sources if s.startswith(master.outputs["arn"])], task.name
        assert master.urn not in task.property_dependencies.get("containerDefinitions", []), task.name
    readers = sorted(p.name for p in any_stack.of_type(ROLE_POLICY) if master.outputs["arn"] in p.plain("policy"))
    assert readers == ["db-admin-role"], "only the db-admin function (and operators, through IAM) read the master"


def test_each_consumer_reads_its_own_login(prod: StackRun) -> None:
    def value_from(task: str) -> dict[str, str]:
        [container] = [c for c in json.loads(prod.one(TASK, task).plain("containerDefinitions")) if c["essential"]]
        return {s["name"]: s["valueFrom"] for s in container["secrets"]}

    arn = {role: secret_named(prod, f"database/{role}").outputs["arn"] + ":url::"
           for role in ("app_rw", "app_ro", "app_migrate", "app_backup")}
    redis = secret_named(prod, "redis/app").outputs["arn"] + ":url::"
    # web (Prisma) reads `url`, ai (Python: libpq's rules) `libpqUrl`, the same logins without connection_limit
    for service, key in (("web", ":url::"), ("ai", ":libpqUrl::")):
        sources = value_from(service)
        assert (sources["DATABASE_URL"], sources["DATABASE_READ_URL"], sources["REDIS_URL"]) == \
            (arn["app_rw"].replace(":url::", key), arn["app_ro"].replace(":url::", key), redis), service
    assert (prod.outputs["databaseLibpqUrlValueFrom"], prod.outputs["databaseReadLibpqUrlValueFrom"]) == \
        (value_from("ai")["DATABASE_URL"], value_from("ai")["DATABASE_READ_URL"])
    assert value_from("migrate") == {"DATABASE_URL": arn["app_migrate"]}
    assert value_from("backup") == {"DATABASE_URL": arn["app_backup"]}
    # the restore check restores as a scratch server's admin (its own secret), never with a database login
    assert value_from("backup-restore-check") == {
        "RESTORE_DATABASE_URL": secret_named(prod, "backup/RESTORE_DATABASE_URL").outputs["arn"]}


# --- security groups prove the path --------------------------------------------------------------------------------

def ingress_sources(run: StackRun, group: str) -> set[str]:
    group_id = run.one(SG, group).id
    by_id = {sg.id: sg.name.removesuffix("-sg") for sg in run.of_type(SG)}
    return {by_id[r.plain("referencedSecurityGroupId")] for r in run.of_type(INGRESS)
            if r.plain("securityGroupId") == group_id}


def test_prod_services_reach_the_primary_only_through_the_proxy(prod: StackRun) -> None:
    assert ingress_sources(prod, "database-sg") == {"database-proxy", "migrate", "backup", "backup-restore-check",
                                                    "db-admin"}
    assert ingress_sources(prod, "database-proxy-sg") == {"web", "ai", "db-admin"}
    assert ingress_sources(prod, "database-replicas-sg") == {"web", "ai", "db-admin"}
    proxy_sg = prod.one(SG, "database-proxy-sg").id
    egress = [(r.plain("referencedSecurityGroupId"), r.plain("fromPort")) for r in prod.of_type(EGRESS)
              if r.plain("securityGroupId") == proxy_sg]
    assert egress == [(prod.one(SG, "database-sg").id, 5432)], "the proxy sends only to the primary"


def test_without_a_proxy_the_services_reach_the_primary(dev: StackRun) -> None:
    assert not dev.of_type(PROXY)
    assert ingress_sources(dev, "database-sg") == {"web", "ai", "migrate", "backup", "backup-restore-check",
                                                   "db-admin"}


# --- RDS Proxy -------------------------------------------------------------------------------------------------------

def test_proxy_requires_tls_with_scram_logins_and_logs_to_its_cmk_group(prod: StackRun) -> None:
    proxy = prod.one(PROXY)
    assert (proxy.plain("engineFamily"), proxy.plain("requireTls"), proxy.plain("debugLogging")) == \
        ("POSTGRESQL", True, False)
    assert proxy.plain("idleClientTimeout") == 1800 and proxy.plain("name") == "maratron-prod-db-proxy"
    logins = {secret_named(prod, f"database/users/{u}").outputs["arn"]
              for u in ("app_rw", "app_rw_clone", "app_ro", "app_ro_clone")}
    auths = proxy.plain("auths")
    assert {a["secretArn"] for a in auths} == logins
    assert all((a["authScheme"], a["clientPasswordAuthType"], a["iamAuth"]) ==
               ("SECRETS", "POSTGRES_SCRAM_SHA_256", "DISABLED") for a in auths)
    pool = prod.one("aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup").plain("connectionPoolConfig")
    assert pool == {"maxConnectionsPercent": 80, "maxIdleConnectionsPercent": 80, "connectionBorrowTimeout": 10}
    target = prod.one("aws:rds/proxyTarget:ProxyTarget")
    assert target.plain("dbInstanceIdentifier") == "maratron-prod-db"
    logs = prod.one("aws:cloudwatch/logGroup:LogGroup", "database-proxy-logs")
    assert logs.plain("name") == "/aws/rds/proxy/maratron-prod-db-proxy"
    assert logs.plain("kmsKeyId") == prod.one("aws:kms/key:Key", "keys-logs").outputs["arn"]
    assert logs.urn in proxy.dependencies
    statements = policy_of(prod, "database-proxy-role")
    readable = {arn for s in statements if s["Action"] == ["secretsmanager:GetSecretValue"] for arn in s["Resource"]}
    assert readable == logins, "the proxy reads its logins and nothing else"
    decrypt = [s for s in statements if s["Action"] == ["kms:Decrypt"]]
    assert len(decrypt) == 1 and decrypt[0]["Condition"] == {
        "StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}
    outputs = prod.outputs
    assert outputs["databaseProxyEndpoint"] == proxy.outputs["endpoint"]
    assert outputs["databaseProxyName"] == "maratron-prod-db-proxy"


def test_the_app_urls_go_through_the_proxy_with_prisma_parameters(prod: StackRun, dev: StackRun) -> None:
    for run, writer, pool in ((prod, prod.one(PROXY).outputs["endpoint"], 10),
                              (dev, dev.one("aws:rds/instance:Instance", "database-primary").outputs["address"], 3)):
        event = json.loads(run.one(INVOCATION, "db-bootstrap").plain("input"))
        connections = {c["username"]: c for c in event["connections"]}
        primary = run.one("aws:rds/instance:Instance", "database-primary").outputs["address"]
        assert connections["app_rw"]["host"] == writer
        assert connections["app_ro"]["host"] == f"db-reader.{run.stack}.maratron.internal"
        assert connections["app_migrate"]["host"] == connections["app_backup"]["host"] == primary
        # connection_limit makes the budget true; no pgbouncer=true: behind RDS Proxy Prisma pins either way
        assert connections["app_rw"]["urlQuery"] == connections["app_ro"]["urlQuery"] == \
            f"sslmode=require&connection_limit={pool}"
        assert (connections["app_rw"]["rotation"], connections["app_migrate"]["rotation"]) == \
            ("alternating", "single")
        assert set(connections["app_rw"]["logins"]) == {"app_rw", "app_rw_clone"}
        assert event["masterSecretArn"] == secret_named(run, "database/master").outputs["arn"]


# --- bootstrap ordering --------------------------------------------------------------------------------------------

def test_bootstrap_runs_before_any_task_that_reads_a_login_and_after_what_it_needs(prod: StackRun) -> None:
    bootstrap = prod.one(INVOCATION, "db-bootstrap")
    for task in ("web", "ai", "migrate", "backup"):
        assert bootstrap.urn in closure(prod, prod.one(TASK, task).urn), task
    needs = closure(prod, bootstrap.urn)
    for name, type_ in (("database-primary", "aws:rds/instance:Instance"), ("database-proxy-primary",
                                                                             "aws:rds/proxyTarget:ProxyTarget"),
                        ("database-master", "aws:secretsmanager/secretVersion:SecretVersion"),
                        ("database-from-db-admin", INGRESS), ("db-admin-to-database", EGRESS)):
        assert prod.one(type_, name).urn in needs, name
    assert bootstrap.plain("triggers") == {"code": credentials._code_version()}
    # The functions call Secrets Manager (and ElastiCache) through the app tier's NAT routes or interface endpoints.
    egress = [r.urn for r in prod.resources if (r.type == "aws:ec2/route:Route" and r.name.startswith("network-app-"))
              or (r.type == "aws:ec2/vpcEndpoint:VpcEndpoint" and r.inputs["vpcEndpointType"] == "Interface")]
    assert len(egress) >= 4 and set(egress) <= set(bootstrap.dependencies)
    assert set(egress) <= set(prod.one("aws:secretsmanager/secretRotation:SecretRotation",
                                       "redis-app-rotation").dependencies)
    # Every rotation starts once its secret has a value: a createSecret without AWSCURRENT leaves AWSPENDING behind
    # and Secrets Manager refuses every later rotation as "in progress".
    for rotation in prod.of_type("aws:secretsmanager/secretRotation:SecretRotation"):
        secret = rotation.inputs["secretId"]
        versions = [v.urn for v in prod.of_type("aws:secretsmanager/secretVersion:SecretVersion")
                    if v.inputs["secretId"] == secret]
        writers = versions or [bootstrap.urn]  # the login secrets are written by the bootstrap
        assert set(writers) & closure(prod, rotation.urn), rotation.name
    command = prod.outputs["dbBootstrapCommand"]
    # one invocation, waited for as long as the function may run (the CLI would retry after its 60 s read timeout)
    assert command.startswith('test "$(AWS_MAX_ATTEMPTS=1 aws lambda invoke --region us-east-1 --cli-read-timeout 310 '
                              '--function-name maratron-prod-db-admin ')
    assert json.loads(command.split("--payload '")[1].split("'")[0]) == json.loads(bootstrap.plain("input"))


def test_the_bootstrap_command_fails_with_the_functions_error_and_leaves_the_shell_open(
        prod: StackRun, tmp_path: Path) -> None:
    """The runbooks `eval` dbBootstrapCommand in the operator's shell and CI runs it with `bash -c`: a failed bootstrap
    prints the function's answer and returns non-zero, and the shell goes on (an `exit` would close the operator's
    terminal in the middle of a restore)."""
    import subprocess

    fake = tmp_path / "bin" / "aws"  # `aws lambda invoke ... db-bootstrap.json --query FunctionError`
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'{"errorMessage": "role app_rw: boom"}\' > db-bootstrap.json\n'
                    'echo "$FUNCTION_ERROR"\n')
    fake.chmod(0o755)
    script = 'eval "$BOOTSTRAP"; echo "status $?"; echo "still here"'
    for function_error, status in (("Unhandled", 1), ("None", 0)):
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False,
                              env={**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}",
                                   "BOOTSTRAP": prod.outputs["dbBootstrapCommand"],
                                   "FUNCTION_ERROR": function_error})
        assert done.stdout.splitlines()[-2:] == [f"status {status}", "still here"], done
        assert ("role app_rw: boom" in done.stdout) is (status == 1)


# --- the functions ---------------------------------------------------------------------------------------------------

def test_functions_run_in_the_vpc_with_their_own_logs_and_least_privilege(prod: StackRun) -> None:
    app_subnets = sorted(prod.outputs["appSubnetIds"])
    logs_key = prod.one("aws:kms/key:Key", "keys-logs").outputs["arn"]
    data_key = prod.one("aws:kms/key:Key", "keys-data").outputs["arn"]
    for name in ("db-admin", "redis-rotation"):
        function = prod.one(FUNCTION, name)
        assert (function.plain("runtime"), function.plain("architectures")) == ("python3.12", ["arm64"])
        vpc = function.plain("vpcConfig")
        assert sorted(vpc["subnetIds"]) == app_subnets and vpc["securityGroupIds"] == [prod.one(SG, f"{name}-sg").id]
        # its only path to AWS's APIs exists before anything calls it (the bootstrap, the rotations)
        assert prod.one("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
                        f"{name}-to-https").urn in function.dependencies
        group = prod.one("aws:cloudwatch/logGroup:LogGroup", f"{name}-logs")
        assert group.plain("name") == f"/maratron-prod/lambda/{name}" and group.plain("kmsKeyId") == logs_key
        assert function.plain("loggingConfig")["logGroup"] == group.plain("name")
        assert "reservedConcurrentExecutions" not in function.inputs  # see components/credentials.py
        statements = policy_of(prod, f"{name}-role")
        wildcard = sorted(a for s in statements if s["Resource"] == "*" for a in s["Action"])
        # AWSLambdaVPCAccessExecutionRole v3's EC2 actions (AWS's stated minimum for a VPC function), DescribeSubnets
        # among them
        assert wildcard == sorted(["secretsmanager:GetRandomPassword", "ec2:CreateNetworkInterface",
                                   "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
                                   "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"])
        kms = [s for s in statements if "kms:Decrypt" in s["Action"]]
        assert kms == [{"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [data_key],
                        "Condition": {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}}]
        egress = {(r.plain("cidrIpv4") or r.plain("referencedSecurityGroupId"), r.plain("fromPort"))
                  for r in prod.of_type(EGRESS) if r.plain("securityGroupId") == prod.one(SG, f"{name}-sg").id}
        assert ("0.0.0.0/0", 443) in egress and all(port in (443, 5432, 6379) for _, port in egress)
    db_admin = policy_of(prod, "db-admin-role")
    rotated = {a for s in db_admin if "secretsmanager:UpdateSecretVersionStage" in s["Action"] for a in s["Resource"]}
    assert rotated == {secret_named(prod, f"database/{n}").outputs["arn"]
                       for n in ("master", "app_rw", "app_ro", "app_migrate", "app_backup")}
    redis = policy_of(prod, "redis-rotation-role")
    assert [s["Resource"] for s in redis if "elasticache:ModifyUser" in s["Action"]] == [
        [prod.one("aws:elasticache/user:User", "cache-app-user").outputs["arn"]]]


def test_redis_url_follows_the_cache_endpoint_and_user(run_variant: Any) -> None:
    """The Redis secret is written once; what it names is Pulumi's. The rotation function carries the endpoint and
    user in its environment (every new version names them), and `up` invokes it with the same values whenever they
    change - cluster mode on: the configuration endpoint - so it rotates REDIS_URL onto them."""
    for run, cluster in ((run_variant("prod"), False), (run_variant("prod", **PROD_VARIANT), True)):
        assert run.ok, run.error_details
        assert run.config["maratron:redisClusterMode"] == ("true" if cluster else "false")
        group = run.one("aws:elasticache/replicationGroup:ReplicationGroup")
        user = run.one("aws:elasticache/user:User", "cache-app-user")
        host = group.outputs["configurationEndpointAddress" if cluster else "primaryEndpointAddress"]
        expected = {"REDIS_HOST": host, "REDIS_PORT": "6379", "REDIS_USER_ID": user.outputs["userId"],
                    "REDIS_USER_ARN": user.outputs["arn"]}
        function = run.one(FUNCTION, "redis-rotation")
        assert function.inputs["environment"]["variables"] == expected
        sync = run.one(INVOCATION, "redis-sync")
        secret = secret_named(run, "redis/app")
        assert json.loads(sync.inputs["input"]) == {"action": "sync", "secretArn": secret.outputs["arn"], **expected}
        assert sync.inputs["functionName"] == function.outputs["name"]
        # after the rotation is configured: RotateSecret on a secret without rotation fails
        assert run.one(ROTATION, "redis-app-rotation").urn in closure(run, sync.urn)
        grants = [s for s in policy_of(run, "redis-rotation-role") if "secretsmanager:RotateSecret" in s["Action"]]
        assert grants == [{"Effect": "Allow", "Action": ["secretsmanager:RotateSecret"],
                           "Resource": [secret.outputs["arn"]]}]
        # RotateSecret also needs lambda:InvokeFunction on the rotation function (API reference, RotateSecret)
        invokes = [s for s in policy_of(run, "redis-rotation-role") if "lambda:InvokeFunction" in s["Action"]]
        assert [s["Resource"] for s in invokes] == [[function.outputs["arn"]]]


def test_the_lambda_package_is_our_code_plus_the_pinned_wheels() -> None:
    archive = credentials.lambda_archive()
    names = sorted(archive.assets)
    assert "db_admin/handler.py" in names and "db_admin/redis_rotation.py" in names
    assert "pg8000/native.py" in names and "scramp/core.py" in names and "six.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert any(n.startswith("pg8000-1.31.6.dist-info/") and "LICENSE" in n for n in names), "licenses travel along"
    pins = credentials._pinned_requirements()
    project = (credentials.PACKAGE_DIR.parent.parent / "requirements-deploy.txt").read_text()
    assert all(f"{name}=={version}" in project for name, version in pins.items()), "one set of pins"


def test_a_virtualenv_with_other_versions_cannot_build_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "_pinned_requirements", lambda: {"pg8000": "0.0.1", "no-such-package": "1"})
    with pytest.raises(RuntimeError, match=r"no-such-package==1 is not installed; pg8000 is 1\.31\.6, the package "
                                           r"pins 0\.0\.1 \(pip install -r requirements.txt\)"):
        credentials.lambda_archive()


# --- services pick up new values ------------------------------------------------------------------------------------

def test_a_changed_secret_redeploys_exactly_the_services_that_read_it(prod: StackRun) -> None:
    machine = prod.one("aws:sfn/stateMachine:StateMachine")
    state = json.loads(machine.plain("definition"))["States"]["Redeploy"]
    assert state["Resource"] == "arn:aws:states:::aws-sdk:ecs:updateService"
    # An execution refuses an integration of another partition: the ARN follows the stack's (aws-cn, aws-us-gov).
    cn = secret_redeploy.definition("aws-cn")["States"]
    assert isinstance(cn, dict) and cn["Redeploy"]["Resource"] == "arn:aws-cn:states:::aws-sdk:ecs:updateService"
    assert state["Parameters"] == {"Cluster.$": "$.cluster", "Service.$": "$.service", "ForceNewDeployment": True}
    [update] = [s for s in json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "secret-redeploy-workflow").plain(
        "policy"))["Statement"] if s["Action"] == ["ecs:UpdateService"]]
    assert sorted(update["Resource"]) == sorted(prod.one("aws:ecs/service:Service", name).outputs["id"]
                                              for name in ("web", "ai"))
    assert "Condition" not in update  # the ARNs name the cluster; an unevaluated condition key would deny
    assert machine.plain("loggingConfiguration")["includeExecutionData"] is False
    for service in ("web", "ai"):
        rule = prod.one("aws:cloudwatch/eventRule:EventRule", f"secret-redeploy-{service}")
        pattern = json.loads(rule.plain("eventPattern"))
        [container] = [c for c in json.loads(prod.one(TASK, service).plain("containerDefinitions"))
                       if c["essential"]]
        read = {bare(s["valueFrom"]) for s in container["secrets"]}
        assert pattern == {"source": ["aws.secretsmanager"], "detail-type": ["Secret Label Updated"],
                           "resources": pattern["resources"], "detail": {"labelUpdated": ["AWSCURRENT"]}}
        assert set(pattern["resources"]) == read
        target = prod.one("aws:cloudwatch/eventTarget:EventTarget", f"secret-redeploy-{service}")
        assert target.plain("arn") == machine.outputs["arn"]
        assert json.loads(target.plain("input")) == {
            "cluster": prod.outputs["clusterArn"], "service": prod.outputs[f"{service}ServiceName"]}
    update = [s for s in policy_of(prod, "secret-redeploy-workflow") if s["Action"] == ["ecs:UpdateService"]]
    services = sorted(prod.one("aws:ecs/service:Service", n).id for n in ("web", "ai"))
    assert [sorted(s["Resource"]) for s in update] == [services]
    # Step Functions adds a log group outside /aws/vendedlogs/ to the account's 5,120-character CloudWatch Logs
    # resource policy, one stack after another (Step Functions best practices, bp-cwl.html).
    logs = prod.one("aws:cloudwatch/logGroup:LogGroup", "secret-redeploy-logs")
    assert logs.inputs["name"] == "/aws/vendedlogs/states/maratron-prod-secret-redeploy"
    assert machine.inputs["loggingConfiguration"]["logDestination"] == logs.outputs["arn"] + ":*"


def without_secrets(value: Any) -> Any:
    """The value with every secret-wrapped part removed (what is left must not hold a password)."""
    if is_secret(value):
        return None
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


def test_the_redis_password_travels_only_inside_secret_wrappers(any_stack: StackRun) -> None:
    password = any_stack.one("random:index/randomPassword:RandomPassword", "cache-app-user-password").outputs["result"]
    holders = [r.name for r in any_stack.resources if password in json.dumps(r.inputs)]
    assert holders, "the scan is not vacuous"
    leaks = [r.name for r in any_stack.resources if r.type != "random:index/randomPassword:RandomPassword"
             and password in json.dumps(without_secrets(r.inputs))]
    assert leaks == []


def test_a_rotation_test_outlasts_proxy_target_registration_within_the_function_timeout(prod: StackRun) -> None:
    """A first deploy tests each login's rotation through RDS Proxy while its target may still be registering
    (~3 min): testSecret retries that long, and its last attempt still ends before Lambda stops the function."""
    from ops.db_admin import handler, postgres

    timeout = prod.one("aws:lambda/function:Function", "db-admin").inputs["timeout"]
    # pg8000's timeout bounds each socket operation: connecting, authenticating and the SELECT 1 of the last attempt
    per_operation = postgres.CONNECT_TIMEOUT_SECONDS
    last_attempt_ends = handler.TEST_DEADLINE_SECONDS + handler.TEST_RETRY_SECONDS + 3 * per_operation
    assert handler.TEST_DEADLINE_SECONDS >= 180 and last_attempt_ends < timeout, (last_attempt_ends, timeout)


def test_the_rotation_runbook_finds_every_stacks_secrets(run_variant) -> None:  # type: ignore[no-untyped-def]
    """The runbook listed secrets by the environment (maratron-prod/ for the dr stack, whose secrets are maratron-dr/):
    secret names start with the stack's name prefix."""
    runbook = (Path(__file__).resolve().parent.parent / "docs" / "runbooks" / "secret-rotation.md").read_text()
    assert "$(out environment)/" not in runbook and 'Values="maratron-$(pulumi stack --show-name)/"' in runbook
    dr = run_variant("dr")
    assert dr.config["maratron:environment"] == "prod"
    names = [s.inputs["name"] for s in dr.of_type("aws:secretsmanager/secret:Secret")]
    assert names and all(name.startswith("maratron-dr/") for name in names), names
