"""Fargate services, the migration task and app secrets: sizes, counts, container hardening, secrets, IAM, network."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from components.app_environment import SECRET_NAME_PATTERN, AppSettings, app_environment
from components.task import DOCKER_DEFAULT_CAPABILITIES, VOLUME_INIT_SUFFIX, ContainerSpec, health_check_command
from offline.engine import PLACEHOLDER_PREFIX, StackRun, is_secret, project_schema, run_program, stack_config
from ops.run_task import started_task
from tests.configs import DEV_BUILT_IMAGES, PROD_VARIANT, STAGING_TUNED

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TASKS = ("web", "ai", "migrate")


def containers(run: StackRun, task: str) -> list[dict[str, Any]]:
    return list(json.loads(run.one(TASK_DEFINITION, task).plain("containerDefinitions")))


def container(run: StackRun, task: str) -> dict[str, Any]:
    """The task's app container (named after the task; the init container, when there is one, comes first, and a
    web or AI task also carries the non-essential metrics collector sidecar)."""
    essential = [c for c in containers(run, task) if c["essential"]]
    assert len(essential) == 1, task
    return essential[0]


def env(run: StackRun, task: str) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(run, task)["environment"]}


def secret_names(run: StackRun) -> dict[str, str]:
    """Secret ARN (or ECS valueFrom) -> the environment variable it becomes (from the app/<ENV_VAR> naming)."""
    names = {s.outputs["arn"]: s.inputs["name"].rsplit("/", 1)[-1] for s in run.of_type(SECRET)}
    data_tier = {"databaseUrlValueFrom": "DATABASE_URL", "databaseReadUrlValueFrom": "DATABASE_READ_URL",
                 "redisUrlValueFrom": "REDIS_URL"}
    names.update({run.outputs[output]: name for output, name in data_tier.items() if output in run.outputs})
    names.update({run.outputs[f"database{kind}LibpqUrlValueFrom"]: name for kind, name in (
        ("", "DATABASE_URL"), ("Read", "DATABASE_READ_URL")) if f"database{kind}LibpqUrlValueFrom" in run.outputs})
    migrate = next(s for s in run.of_type(SECRET) if s.inputs["name"].endswith("/database/app_migrate"))
    names[migrate.outputs["arn"] + ":url::"] = "DATABASE_URL"  # the migration's own login (app_migrate)
    return names


def bare(value_from: str) -> str:
    """The secret ARN of an ECS valueFrom (`<arn>` or `<arn>:<json-key>::`)."""
    return value_from[:value_from.rindex(":", 0, -2)] if value_from.endswith("::") else value_from


def execution_policy(run: StackRun, task: str) -> list[dict[str, Any]]:
    return json.loads(run.one(ROLE_POLICY, f"{task}-execution").plain("policy"))["Statement"]


# --- sizes and counts ------------------------------------------------------------------------------------------------

def test_prod_runs_three_web_and_two_ai_tasks(prod: StackRun) -> None:
    services = {s.name: s.inputs for s in prod.of_type(SERVICE)}
    assert services["web"]["desiredCount"] == 3 and services["ai"]["desiredCount"] == 2
    targets = {t.name: t.inputs for t in prod.of_type(SCALING_TARGET)}
    assert (targets["web"]["minCapacity"], targets["web"]["maxCapacity"]) == (3, 12)
    assert (targets["ai"]["minCapacity"], targets["ai"]["maxCapacity"]) == (2, 6)
    sizes = {t.name: (t.inputs["cpu"], t.inputs["memory"]) for t in prod.of_type(TASK_DEFINITION)}
    assert sizes == {"web": ("1024", "2048"), "ai": ("512", "1024"), "migrate": ("1024", "2048"),
                     "backup": ("512", "1024"), "backup-restore-check": ("512", "1024"),
                     "restore-drill": ("1024", "4096")}


def test_dev_runs_one_task_each_without_autoscaling(dev: StackRun, staging: StackRun) -> None:
    """max = desired leaves nothing to scale: no scalable target, no policies (each target-tracking policy's two
    alarms are billed), and the service keeps the configured count instead of ignoring it."""
    assert {s.name: s.inputs["desiredCount"] for s in dev.of_type(SERVICE)} == {"web": 1, "ai": 1}
    assert dev.of_type(SCALING_TARGET) == [] and dev.of_type(SCALING_POLICY) == []
    assert all(s.ignore_changes == [] for s in dev.of_type(SERVICE))
    assert {t.name: (t.inputs["minCapacity"], t.inputs["maxCapacity"]) for t in staging.of_type(SCALING_TARGET)} == \
        {"web": (2, 4), "ai": (2, 4)}
    assert all(s.ignore_changes == ["desiredCount"] for s in staging.of_type(SERVICE))


def test_tasks_are_fargate_arm64_awsvpc(any_stack: StackRun) -> None:
    for task in any_stack.of_type(TASK_DEFINITION):  # the app tasks and the backup job alike
        assert task.inputs["requiresCompatibilities"] == ["FARGATE"]
        assert task.inputs["networkMode"] == "awsvpc"
        assert task.inputs["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}
        assert task.inputs["family"] == f"maratron-{any_stack.stack}-{task.name}"


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"webCpu": 1024, "webMemory": 1024},
     "maratron:webMemory = 1024: Fargate with webCpu 1024 (1 vCPU) allows memory 2048, 3072, 4096, 5120, 6144, "
     "7168, 8192 MiB"),
    ({"aiCpu": 256, "aiMemory": 4096},
     "maratron:aiMemory = 4096: Fargate with aiCpu 256 (0.25 vCPU) allows memory 512, 1024, 2048 MiB"),
    ({"webCpu": 1000}, "maratron:webCpu = 1000: must be one of 256, 512, 1024, 2048, 4096, 8192, 16384"),
    ({"webDesiredCount": 1}, "maratron:webDesiredCount = 1: prod needs at least 2 tasks"),
    ({"aiMaxCount": 1}, "maratron:aiMaxCount = 1: must be at least aiDesiredCount (2)"),
    ({"aiPort": 3000}, "maratron:aiPort = 3000: must differ from the web's port 3000"),
    ({"aiPort": 80}, "maratron:aiPort = 80: must be between 1024 and 65535"),
    ({"appLogLevel": "trace"}, "maratron:appLogLevel = \"trace\": must be one of debug, info, warn, error"),
    ({"appDatabasePoolSize": 200}, "maratron:appDatabasePoolSize = 200: must be between 1 and 100"),
    ({"appDatabaseMaxConnections": 100}, "maratron:appDatabaseMaxConnections = \"100\": removed: "
                                         "DATABASE_MAX_CONNECTIONS is the database's dbMaxConnections"),
    ({"anthropicApiKey": None}, "maratron:anthropicApiKey = (not set): required"),
    ({"anthropicApiKey": " "}, "required: the AI server's Anthropic key"),
    ({"weatherApiKey": ""}, "maratron:weatherApiKey = \"\": required in prod (the AI server's weather features); "
                            "set it with `pulumi config set --secret maratron:weatherApiKey ...`"),
    ({"sentryDsn": ""}, "maratron:sentryDsn = \"\": required in prod (error reporting from both services)"),
])
def test_app_config_errors(run_variant, overrides: dict[str, Any], expected: str) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **overrides)
    assert not run.ok
    assert expected in str(run.error), str(run.error)


def test_optional_secrets_must_still_be_set_even_if_empty(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("dev", weatherApiKey=None)
    assert not run.ok
    assert "maratron:weatherApiKey = (not set): required (Weather API key" in str(run.error)


def test_no_declared_secret_has_a_schema_default() -> None:
    # The CLI merges a default as plain text and then rejects it for a `secret: true` key (pulumi/pulumi#21865).
    schema = project_schema()
    assert not [key for key, spec in schema.items() if spec.get("secret") and "default" in spec]
    assert {"anthropicApiKey", "weatherApiKey", "sentryDsn"} <= {k for k, v in schema.items() if v.get("secret")}


def test_config_errors_never_echo_a_secret_value(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", sentryDsn="", weatherApiKey="wk-super-secret", webCpu=7)
    assert not run.ok
    assert "wk-super-secret" not in str(run.error)


# --- container hardening ---------------------------------------------------------------------------------------------

def test_every_container_is_non_root_read_only_unprivileged_and_drops_all_capabilities(any_stack: StackRun) -> None:
    drill = ["restore-drill"] if any_stack.stack == "prod" else []  # the DR restore drill runs where DR is on
    assert sorted(t.name for t in any_stack.of_type(TASK_DEFINITION)) == sorted([*TASKS, "backup",
                                                                               "backup-restore-check", *drill])
    for task in TASKS:
        c = container(any_stack, task)
        assert c["user"] == "1001:1001", task
        assert c["readonlyRootFilesystem"] is True, task
        assert c["privileged"] is False, task
        assert c["linuxParameters"]["capabilities"] == {"add": [], "drop": ["ALL"]}, task
        assert c["linuxParameters"]["initProcessEnabled"] is True, task
        assert c["essential"] is True and 2 <= c["stopTimeout"] <= 120, task
    # The serving containers get Fargate's maximum: a Fargate Spot reclaim (dev) gives two minutes' notice, and a
    # stream or an AI answer in flight may finish in it (re:Post, Fargate Spot termination notice: "specify a
    # stopTimeout value of 120 seconds or less").
    assert [container(any_stack, task)["stopTimeout"] for task in ("web", "ai")] == [120, 120]
    # A replaced revision stays ACTIVE: the rollback runbook's emergency path points a service at it, and ECS refuses
    # an INACTIVE one (DeregisterTaskDefinition). Dev (removalPolicy destroy) deregisters them: its destroy leaves none.
    assert {t.inputs["skipDestroy"] for t in any_stack.of_type(TASK_DEFINITION)} == {any_stack.stack != "dev"}


def test_health_checks_use_binaries_the_images_have_with_the_seeds_timings(any_stack: StackRun) -> None:
    # node:20-alpine (the seed's web runner) has no curl: web probes with node's fetch; the seed defines no AI health
    # endpoint, so the AI server's check is a TCP connect with its own python. Both on 127.0.0.1 (the app binds
    # 0.0.0.0; Node may resolve localhost to ::1).
    web, ai = container(any_stack, "web")["healthCheck"], container(any_stack, "ai")["healthCheck"]
    assert web["command"][:3] == ["CMD", "node", "-e"]
    assert "fetch('http://127.0.0.1:3000/api/health'" in web["command"][3]
    assert ai["command"] == ["CMD", "python", "-c",
                             "import socket; socket.create_connection(('127.0.0.1',8000),5).close()"]
    for check in (web, ai):
        assert {k: v for k, v in check.items() if k != "command"} == {
            "interval": 30, "timeout": 10, "retries": 3, "startPeriod": 40}
        assert not any("curl" in part for part in check["command"])
    for task, port in (("web", 3000), ("ai", 8000)):
        assert container(any_stack, task)["portMappings"] == [
            {"name": "http", "containerPort": port, "protocol": "tcp", "appProtocol": "http"}]
    for task in ("migrate", "backup", "backup-restore-check"):
        assert all("healthCheck" not in c for c in containers(any_stack, task))


@pytest.mark.parametrize(("tool", "path", "expected"), [
    ("node", "/api/health", ["CMD", "node", "-e", "fetch('http://127.0.0.1:3000/api/health',"
                             "{signal:AbortSignal.timeout(5000)}).then(r=>process.exit(r.status<400?0:1),"
                             "()=>process.exit(1))"]),
    ("python", "/health", ["CMD", "python", "-c", "import sys,urllib.request as u; sys.exit(0 if u.urlopen("
                           "'http://127.0.0.1:3000/health',timeout=5).status<400 else 1)"]),
    ("wget", "/api/health", ["CMD", "wget", "-q", "-O", "/dev/null", "-T", "5", "http://127.0.0.1:3000/api/health"]),
    ("curl", "/api/health", ["CMD", "curl", "-fsS", "-o", "/dev/null", "-m", "5",
                             "http://127.0.0.1:3000/api/health"]),
])
def test_each_health_check_tool_probes_the_path(tool: str, path: str, expected: list[str]) -> None:
    assert list(health_check_command(tool, 3000, path)) == expected  # type: ignore[arg-type]



def test_health_check_settings_follow_config_and_reject_what_cannot_run(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("staging", **STAGING_TUNED)
    assert run.ok, run.error_details
    assert container(run, "web")["healthCheck"]["command"][:2] == ["CMD", "wget"]
    assert "http://127.0.0.1:8000/healthz" in container(run, "ai")["healthCheck"]["command"][3]
    bad = run_variant("staging", aiHealthCheckTool="curl")  # the AI default path is "" (TCP): curl cannot
    assert not bad.ok
    assert "maratron:aiHealthCheckPath = \"\": must be an HTTP path with aiHealthCheckTool curl" in str(bad.error)
    assert "maratron:webHealthCheckPath = \"health\": must be empty or an absolute path" in str(
        run_variant("staging", webHealthCheckPath="health").error)


def test_the_alb_checks_the_same_path_as_the_web_container(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("staging", **STAGING_TUNED)
    assert run.ok, run.error_details
    assert run.one("aws:lb/targetGroup:TargetGroup").inputs["healthCheck"]["path"] == "/api/live"
    assert "127.0.0.1:3000/api/live" in " ".join(container(run, "web")["healthCheck"]["command"])


def test_only_the_scratch_paths_are_writable(prod: StackRun) -> None:
    expected = {"web": ["/tmp", "/app/.next/cache"], "ai": ["/tmp"], "migrate": ["/tmp"]}
    for task, paths in expected.items():
        mounts = container(prod, task)["mountPoints"]
        assert [m["readOnly"] for m in mounts] == [False] * len(paths), task
        assert [m["containerPath"] for m in mounts] == paths, task
        volumes = {v["name"] for v in prod.one(TASK_DEFINITION, task).inputs["volumes"]}
        assert {m["sourceVolume"] for m in mounts} == volumes, task
        assert all("host" not in v and "efsVolumeConfiguration" not in v
                   for v in prod.one(TASK_DEFINITION, task).inputs["volumes"])  # task-local scratch only


def test_images_built_elsewhere_get_a_root_chown_init_container_and_nothing_more(prod: StackRun) -> None:
    # Fargate mounts the scratch volumes root-owned unless the image declares them as VOLUMEs; the app images are
    # built elsewhere (their Dockerfile is not ours to check), so a narrow init container chowns them first.
    for task in ("web", "ai", "migrate"):
        init, app, *sidecars = containers(prod, task)
        assert [c["name"] for c in sidecars] == ([] if task == "migrate" else ["metrics-collector"])
        assert init["name"] == f"{task}-volume-init"
        assert app["dependsOn"] == [{"containerName": f"{task}-volume-init", "condition": "SUCCESS"}]
        paths = [m["containerPath"] for m in app["mountPoints"]]
        assert init["mountPoints"] == app["mountPoints"]
        assert init["entryPoint"] == ["chown"] and init["command"] == ["1001:1001", *paths]
        assert init["user"] == "0" and init["essential"] is False and init["image"] == app["image"]
        assert init["readonlyRootFilesystem"] is True and init["privileged"] is False
        assert init["linuxParameters"]["capabilities"]["add"] == []
        assert set(init["linuxParameters"]["capabilities"]["drop"]) == set(DOCKER_DEFAULT_CAPABILITIES) - {"CHOWN"}
        assert init["environment"] == [] and init["secrets"] == [] and "portMappings" not in init
    # The backup image is built here and declares its VOLUME: no init container, no root anywhere.
    for task in ("backup", "backup-restore-check"):
        assert [c["name"] for c in containers(prod, task)] == [task.removeprefix("backup-")]


def test_logs_go_non_blocking_to_encrypted_retained_groups(any_stack: StackRun) -> None:
    logs_key = any_stack.one("aws:kms/key:Key", "keys-logs").outputs["arn"]
    retention = int(any_stack.config["maratron:logRetentionDays"])
    groups = {g.name: g for g in any_stack.of_type(LOG_GROUP)}
    for task, group_name, prefix in (("web", "web-logs", "web"), ("ai", "ai-logs", "ai"),
                                     ("migrate", "web-logs", "migrate")):
        group = groups[group_name]
        assert group.inputs["kmsKeyId"] == logs_key and group.inputs["retentionInDays"] == retention
        assert container(any_stack, task)["logConfiguration"] == {"logDriver": "awslogs", "options": {
            "awslogs-group": group.outputs["name"], "awslogs-region": "us-east-1", "awslogs-stream-prefix": prefix,
            "mode": "non-blocking", "max-buffer-size": "25m"}}
    assert any_stack.outputs["webLogGroupName"] == f"/maratron-{any_stack.stack}/ecs/web"
    assert any_stack.outputs["aiLogGroupName"] == f"/maratron-{any_stack.stack}/ecs/ai"


# --- environment and secrets -----------------------------------------------------------------------------------------

def test_every_container_that_writes_has_home_on_a_scratch_path(prod: StackRun) -> None:
    """A library that writes ~/.cache must find a writable HOME: every container with scratch volumes gets HOME on
    one of them (its first, unless it names one), and a HOME on the read-only root is refused."""
    for task in prod.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        for definition in json.loads(task.inputs["containerDefinitions"]):
            environment = {e["name"]: e["value"] for e in definition["environment"]}
            mounts = [m["containerPath"] for m in definition["mountPoints"]]
            if mounts and not definition["name"].endswith(VOLUME_INIT_SUFFIX):
                assert environment.get("HOME") in mounts, (task.name, definition["name"])
            else:  # sidecars mount nothing and keep their image's HOME; the volume-init container has no environment
                assert "HOME" not in environment, (task.name, definition["name"])
    with pytest.raises(ValueError, match=r"HOME='/home/app' is on the read-only root filesystem; use one of its "
                                         r"scratch paths \['/tmp'\]"):
        ContainerSpec(name="ai", image="ai:1", environment={"HOME": "/home/app"})
    assert ContainerSpec(name="ai", image="ai:1", environment={"HOME": "/tmp/home"}).runtime_environment == {
        "HOME": "/tmp/home"}


def test_environment_follows_the_seed(prod: StackRun) -> None:
    web = env(prod, "web")
    image = container(prod, "web")["image"]
    assert web == {
        "NODE_ENV": "production", "NEXT_PUBLIC_APP_URL": "https://maratron.example.com",
        "NEXTAUTH_URL": "https://maratron.example.com", "DATABASE_POOL_SIZE": "10",
        "DATABASE_MAX_CONNECTIONS": "600", "REDIS_ENABLED": "true", "REDIS_CLUSTER_ENABLED": "false",
        "REDIS_KEY_PREFIX": "maratron:prod:", "BCRYPT_ROUNDS": "12", "LOG_LEVEL": "info", "METRICS_ENABLED": "true",
        "RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_REQUESTS_PER_MINUTE": "60",
        "RATE_LIMIT_AI_REQUESTS_PER_MINUTE": "10", "CACHE_ENABLED": "true", "CACHE_DEFAULT_TTL": "900",
        "COMPRESSION_ENABLED": "true", "CORS_ORIGINS": "https://maratron.example.com,https://admin.maratron.example.com",
        "CSRF_PROTECTION": "true", "PORT": "3000", "HOSTNAME": "0.0.0.0", "AI_SERVER_URL": "http://ai:8000",
        "KEEP_ALIVE_TIMEOUT": "305000",  # longer than the ALB's idle timeout, so the ALB closes first
        "APP_ENVIRONMENT": "prod",  # NODE_ENV is production in every stack
        # the seed's logger records APP_VERSION (defaultMeta.version): the image the task runs, by digest
        "APP_VERSION": image,
        "HOME": "/tmp",  # uid 1001 has no passwd entry: Docker's HOME would be /, which is read-only
    }
    assert "@sha256:" in image
    ai = env(prod, "ai")
    assert ai["PORT"] == "8000" and "AI_SERVER_URL" not in ai and ai["APP_VERSION"] != web["APP_VERSION"]
    assert {k: v for k, v in ai.items() if k not in ("PORT", "APP_VERSION")} == {
        k: v for k, v in web.items() if k not in ("PORT", "AI_SERVER_URL", "KEEP_ALIVE_TIMEOUT", "APP_VERSION")}
    assert env(prod, "migrate") == {"NODE_ENV": "production", "HOME": "/tmp", "npm_config_cache": "/tmp/.npm",
                                    "APP_VERSION": web["APP_VERSION"]}


def test_dev_environment(dev: StackRun) -> None:
    web = env(dev, "web")
    assert web["REDIS_KEY_PREFIX"] == "maratron:dev:" and web["LOG_LEVEL"] == "debug"
    assert web["CORS_ORIGINS"] == "https://dev.maratron.example.com"


def test_secrets_only_through_secrets_manager_with_least_privilege(any_stack: StackRun) -> None:
    names = secret_names(any_stack)
    data_tier = {"DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL"}
    expected = {"web": {"NEXTAUTH_SECRET", "ANTHROPIC_API_KEY", "SENTRY_DSN", *data_tier},
                "ai": {"ANTHROPIC_API_KEY", "WEATHER_API_KEY", "SENTRY_DSN", *data_tier},
                "migrate": {"DATABASE_URL"}}
    for task, wanted in expected.items():
        c = container(any_stack, task)
        assert not [e["name"] for e in c["environment"] if SECRET_NAME_PATTERN.search(e["name"])], task
        injected = {s["name"]: s["valueFrom"] for s in c["secrets"]}
        assert set(injected) == wanted, task
        assert all(names[arn] == name for name, arn in injected.items()), task


def test_execution_role_reads_exactly_its_own_secrets_pulls_its_own_repo_writes_its_own_logs(
        any_stack: StackRun) -> None:
    data_key = any_stack.one("aws:kms/key:Key", "keys-data").outputs["arn"]
    repositories = {"web": "web", "ai": "ai", "migrate": "web"}
    foundation_arns = any_stack.one("pulumi:pulumi:StackReference").outputs["outputs"]["repositoryArns"]
    groups = {"web": "web-logs", "ai": "ai-logs", "migrate": "web-logs"}
    for task in TASKS:
        statements = execution_policy(any_stack, task)
        readable = [arn for s in statements if s["Action"] == ["secretsmanager:GetSecretValue"]
                    for arn in s["Resource"]]
        assert sorted(readable) == sorted(bare(s["valueFrom"]) for s in container(any_stack, task)["secrets"]), task
        decrypt = [s for s in statements if "kms:Decrypt" in s["Action"]]
        assert len(decrypt) == (1 if readable else 0), task  # one CMK for all app secrets, listed once
        assert all(s["Resource"] == [data_key] and s["Condition"] == {
            "StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}} for s in decrypt), task
        pull = next(s for s in statements if "ecr:BatchGetImage" in s["Action"])
        assert pull["Resource"] == [foundation_arns[repositories[task]]]  # the foundation's repository, only
        logs = next(s for s in statements if "logs:PutLogEvents" in s["Action"])
        group_arn = any_stack.one(LOG_GROUP, groups[task]).outputs["arn"]
        assert logs["Resource"] == [f"{group_arn}:log-stream:*"], task
        # Nothing else: the only wildcard is the registry login, which has no resource to scope to.
        wildcard = [s["Action"] for s in statements if s["Resource"] == "*"]
        assert wildcard == [["ecr:GetAuthorizationToken"]], task


def test_task_roles_are_separate_trusted_by_this_account_only_and_hold_only_the_collectors_permissions(
        any_stack: StackRun) -> None:
    for task in TASKS:
        definition = any_stack.one(TASK_DEFINITION, task)
        execution = any_stack.one(ROLE, f"{task}-execution")
        task_role = any_stack.one(ROLE, f"{task}-task")
        assert definition.inputs["executionRoleArn"] == execution.outputs["arn"]
        assert definition.inputs["taskRoleArn"] == task_role.outputs["arn"]
        for role in (execution, task_role):
            trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
            assert trust == [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                              "Action": "sts:AssumeRole",
                              "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]
            assert "managedPolicyArns" not in role.inputs
        # The app itself calls no AWS API; a web or AI task role carries only its metrics collector's remote write
        # (where app metrics are on: not dev). tests/test_app_metrics.py checks those statements.
        policies = [p for p in any_stack.of_type(ROLE_POLICY) if p.inputs["role"] == task_role.id]
        sids = [sorted(s["Sid"] for s in json.loads(p.plain("policy"))["Statement"]) for p in policies]
        scraped = task in ("web", "ai") and any_stack.stack != "dev"
        assert sids == ([["RemoteWriteToTheWorkspace", "WorkspaceKeyThroughPrometheusOnly"]] if scraped else []), task
        assert not [a for a in any_stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                    if a.inputs["role"] in (task_role.id, execution.id)]
    assert all(s.inputs["enableExecuteCommand"] is False for s in any_stack.of_type(SERVICE))


def _walk(value: Any, inside_secret: bool = False) -> list[tuple[str, bool]]:
    """Every string in an inventory value, with whether it sits inside a secret wrapper."""
    if is_secret(value):
        return _walk(value["value"], True)
    if isinstance(value, dict):
        return [found for v in value.values() for found in _walk(v, inside_secret)]
    if isinstance(value, list):
        return [found for v in value for found in _walk(v, inside_secret)]
    return [(value, inside_secret)] if isinstance(value, str) else []


def test_secret_values_never_appear_unwrapped(any_stack: StackRun) -> None:
    nextauth = any_stack.one("random:index/randomPassword:RandomPassword",
                             "app-secrets-nextauth-secret").outputs["result"]
    assert len(nextauth) >= 64
    inventory = any_stack.inventory(redact_secrets=False)
    strings = _walk(inventory["resources"]) + _walk(inventory["outputs"])
    values = [PLACEHOLDER_PREFIX, nextauth]
    leaked = [s for s, wrapped in strings if not wrapped and any(v in s for v in values)]
    assert leaked == []
    stored = [s for s, wrapped in strings if wrapped and PLACEHOLDER_PREFIX in s]
    assert {s.split("(")[1].split(":")[1] for s in stored} >= {"anthropicApiKey", "weatherApiKey", "sentryDsn"}
    for version in any_stack.of_type(SECRET_VERSION):
        assert is_secret(version.inputs["secretString"]), version.name


def test_app_secrets_are_encrypted_with_the_data_key(prod: StackRun, dev: StackRun) -> None:
    for run, window in ((prod, 30), (dev, 0)):
        data_key = run.one("aws:kms/key:Key", "keys-data").outputs["arn"]
        secrets = [s for s in run.of_type(SECRET) if "/app/" in s.inputs["name"]]
        assert sorted(s.inputs["name"] for s in secrets) == sorted(
            f"maratron-{run.stack}/app/{n}" for n in ("NEXTAUTH_SECRET", "ANTHROPIC_API_KEY", "WEATHER_API_KEY",
                                                      "SENTRY_DSN"))
        assert all(s.inputs["kmsKeyId"] == data_key and s.inputs["recoveryWindowInDays"] == window for s in secrets)
    password = prod.one("random:index/randomPassword:RandomPassword", "app-secrets-nextauth-secret").inputs
    assert password["length"] >= 64


DEV_BUILT_WEB: dict[str, Any] = DEV_BUILT_IMAGES
"""dev with the optional secrets set empty and the web image built here: one run for the two tests that each check one
of them (independent settings: neither touches a container's secrets or the other's containers). tests/configs.py's
DEV_BUILT_IMAGES: the same run builds the backup image for tests/test_images.py."""


def test_unset_optional_keys_outside_prod_are_simply_absent(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("dev", **DEV_BUILT_WEB)
    assert run.ok, run.error_details
    assert (run.config["maratron:weatherApiKey"], run.config["maratron:sentryDsn"]) == ("", "")
    assert sorted(s.inputs["name"] for s in run.of_type(SECRET) if "/app/" in s.inputs["name"]) == [
        "maratron-dev/app/ANTHROPIC_API_KEY", "maratron-dev/app/NEXTAUTH_SECRET"]
    data_tier = ["DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL"]
    assert sorted(s["name"] for s in container(run, "ai")["secrets"]) == sorted([*data_tier, "ANTHROPIC_API_KEY"])
    assert sorted(s["name"] for s in container(run, "web")["secrets"]) == sorted(
        [*data_tier, "NEXTAUTH_SECRET", "ANTHROPIC_API_KEY"])


def test_secret_like_names_are_refused_as_environment() -> None:
    with pytest.raises(ValueError, match=r"\['DATABASE_URL'\] look like secrets"):
        app_environment(AppSettings(), environment="dev", app_url="https://x.example.com", cors_origins=[],
                        port=3000, redis_enabled=False, redis_cluster_enabled=False, database_max_connections=100,
                        extra={"DATABASE_URL": "postgres://u:p@h/db"})
    with pytest.raises(ValueError, match="are both environment and secrets"):
        ContainerSpec(name="x", image="i", port=1, environment={"A": "1"}, secrets={"A": None})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="reserved for the volume-init container"):
        ContainerSpec(name="x-volume-init", image="i")


# --- service wiring --------------------------------------------------------------------------------------------------

def test_services_run_privately_with_safe_rolling_deployments(any_stack: StackRun) -> None:
    app_subnets = sorted(any_stack.outputs["appSubnetIds"])
    for service in any_stack.of_type(SERVICE):
        inputs = service.inputs
        task = any_stack.one(TASK_DEFINITION, service.name)
        assert inputs["taskDefinition"] == task.outputs["arn"]
        assert inputs["cluster"] == any_stack.one("aws:ecs/cluster:Cluster").outputs["arn"]
        network = inputs["networkConfiguration"]
        assert sorted(network["subnets"]) == app_subnets and network["assignPublicIp"] is False
        assert network["securityGroups"] == [any_stack.one(SECURITY_GROUP, f"{service.name}-sg").id]
        assert inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert inputs["deploymentMinimumHealthyPercent"] == 100 and inputs["deploymentMaximumPercent"] == 200
        assert inputs["waitForSteadyState"] is True  # a deployment that never gets healthy fails `pulumi up`
        assert service.custom_timeouts == {"create": "20m", "update": "20m", "delete": "20m"}  # ... bounded
        assert inputs["platformVersion"] == "1.4.0"  # explicit: FARGATE_SPOT runs ARM64 only on 1.4.0+
        assert inputs["propagateTags"] == "SERVICE" and inputs["enableEcsManagedTags"] is True
        autoscaled = any(t.name == service.name for t in any_stack.of_type(SCALING_TARGET))
        # autoscaling owns the count after creation; without it, the count is the configured one
        assert service.ignore_changes == (["desiredCount"] if autoscaled else [])
        assert any_stack.one(ROLE_POLICY, f"{service.name}-execution").urn in service.dependencies
        if service.name == "web":  # behind the ALB: registered in its target group, with a grace period
            tg = any_stack.one("aws:lb/targetGroup:TargetGroup").outputs["arn"]
            assert inputs["loadBalancers"] == [{"targetGroupArn": tg, "containerName": "web", "containerPort": 3000}]
            assert inputs["healthCheckGracePeriodSeconds"] == 60
        else:  # the AI server is not behind any load balancer
            assert "loadBalancers" not in inputs and "healthCheckGracePeriodSeconds" not in inputs


def test_autoscaling_tracks_cpu_and_memory(prod: StackRun) -> None:
    for service in prod.of_type(SERVICE):
        target = prod.one(SCALING_TARGET, service.name)
        assert target.inputs["resourceId"] == f"service/maratron-prod/{service.name}"
        assert target.inputs["scalableDimension"] == "ecs:service:DesiredCount"
        policies = {p.name: p.inputs for p in prod.of_type(SCALING_POLICY) if p.parent == target.urn}
        by_requests = {f"{service.name}-requests"} if service.name == "web" else set()  # ALB requests per target
        assert set(policies) == {f"{service.name}-cpu", f"{service.name}-memory", *by_requests}
        cpu = policies[f"{service.name}-cpu"]["targetTrackingScalingPolicyConfiguration"]
        assert cpu["targetValue"] == 60
        assert cpu["predefinedMetricSpecification"] == {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}
        memory = policies[f"{service.name}-memory"]["targetTrackingScalingPolicyConfiguration"]
        assert memory["predefinedMetricSpecification"]["predefinedMetricType"] == \
            "ECSServiceAverageMemoryUtilization"
        assert all(p["resourceId"] == target.inputs["resourceId"] for p in policies.values())


def _rules(run: StackRun, type_: str, group: str) -> list[dict[str, Any]]:
    group_id = run.one(SECURITY_GROUP, group).id
    return [r.inputs for r in run.of_type(type_) if r.inputs["securityGroupId"] == group_id]


def test_the_ai_server_admits_only_the_web_tasks(any_stack: StackRun) -> None:
    web_sg = any_stack.one(SECURITY_GROUP, "web-sg").id
    ai_sg = any_stack.one(SECURITY_GROUP, "ai-sg").id
    ingress = _rules(any_stack, INGRESS, "ai-sg")
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"], r["ipProtocol"]) for r in ingress] == \
        [(web_sg, 8000, 8000, "tcp")]
    web_egress = {(r.get("referencedSecurityGroupId") or r.get("cidrIpv4"), r["fromPort"])
                  for r in _rules(any_stack, EGRESS, "web-sg")}
    outputs = any_stack.outputs
    # writers: through the proxy (the primary only without one); readers: the replicas' own group
    writer_sg = outputs["databaseProxySecurityGroupId"] or outputs["databaseSecurityGroupId"]
    data = {(writer_sg, 5432), (outputs["redisSecurityGroupId"], 6379)}
    if outputs["databaseReplicaIdentifiers"]:
        data.add((outputs["databaseReplicaSecurityGroupId"], 5432))
    assert web_egress == {(ai_sg, 8000), ("0.0.0.0/0", 443), *data}
    assert {(r.get("referencedSecurityGroupId") or r.get("cidrIpv4"), r["fromPort"])
            for r in _rules(any_stack, EGRESS, "ai-sg")} == {("0.0.0.0/0", 443), *data}
    for group in ("web-sg", "ai-sg", "migrate-sg"):  # no security group of the app tier admits a CIDR
        assert not [r for r in _rules(any_stack, INGRESS, group) if "cidrIpv4" in r or "cidrIpv6" in r]
        sg = any_stack.one(SECURITY_GROUP, group).inputs
        assert "ingress" not in sg and "egress" not in sg  # rules are separate resources only
    assert any_stack.outputs["webSecurityGroupId"] == web_sg and any_stack.outputs["aiSecurityGroupId"] == ai_sg


def test_service_connect_serves_ai_and_web_is_a_client_only(any_stack: StackRun) -> None:
    namespace = any_stack.one("aws:servicediscovery/httpNamespace:HttpNamespace").outputs["arn"]
    ai = any_stack.one(SERVICE, "ai").inputs["serviceConnectConfiguration"]
    web = any_stack.one(SERVICE, "web").inputs["serviceConnectConfiguration"]
    assert ai["enabled"] is True and web["enabled"] is True
    assert ai["namespace"] == namespace and web["namespace"] == namespace
    edge = int(any_stack.config.get("maratron:albIdleTimeoutSeconds", 300))
    assert ai["services"] == [{"portName": "http", "discoveryName": "ai",
                               "clientAlias": [{"port": 8000, "dnsName": "ai"}],
                               # not AWS's 15 s per request: a streamed answer lasts as long as the edge allows
                               "timeout": {"perRequestTimeoutSeconds": 0, "idleTimeoutSeconds": edge + 60}}]
    assert "services" not in web
    assert env(any_stack, "web")["AI_SERVER_URL"] == "http://ai:8000"
    assert ai["logConfiguration"]["options"]["awslogs-stream-prefix"] == "service-connect"


def test_a_different_ai_port_follows_everywhere(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **PROD_VARIANT)  # aiPort 9000, with other parts' settings: one run
    assert run.ok, run.error_details
    assert run.config["maratron:aiPort"] == "9000"
    assert env(run, "web")["AI_SERVER_URL"] == "http://ai:9000"
    assert env(run, "ai")["PORT"] == "9000"
    assert [r["fromPort"] for r in _rules(run, INGRESS, "ai-sg")] == [9000]
    assert "('127.0.0.1',9000)" in container(run, "ai")["healthCheck"]["command"][3]


def test_each_service_has_the_seeds_saved_searches_as_logs_insights_queries(prod: StackRun) -> None:
    queries = {q.inputs["name"]: q.inputs for q in prod.of_type("aws:cloudwatch/queryDefinition:QueryDefinition")}
    assert set(queries) == {f"maratron-prod/{s}/{q}" for s in ("web", "ai") for q in ("errors", "slowest-requests")}
    for service in ("web", "ai"):
        errors = queries[f"maratron-prod/{service}/errors"]
        assert errors["logGroupNames"] == [f"/maratron-prod/ecs/{service}"]
        assert "filter level = 'error'" in errors["queryString"]


def test_every_taggable_app_resource_carries_the_stack_tags(any_stack: StackRun) -> None:
    untaggable = {ROLE_POLICY, SCALING_POLICY, SECRET_VERSION, "aws:ecr/lifecyclePolicy:LifecyclePolicy",
                  "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
                  "random:index/randomPassword:RandomPassword", "docker:index/image:Image",
                  "aws:cloudwatch/queryDefinition:QueryDefinition"}
    for resource in any_stack.resources:
        if not resource.type.startswith("maratron:app:"):
            continue
        for child in any_stack.descendants(resource):
            if child.type in untaggable or not child.custom:
                continue
            tags = child.inputs.get("tags", {})
            assert tags.get("environment") == any_stack.config["maratron:environment"], child.name
            assert {"owner", "cost-center", "project", "Name"} <= set(tags), child.name


# --- migration -------------------------------------------------------------------------------------------------------

def test_migration_task_runs_prisma_with_the_web_image_and_ci_gets_a_ready_command(prod: StackRun) -> None:
    migrate = container(prod, "migrate")
    assert migrate["command"] == ["npx", "prisma", "migrate", "deploy"]
    assert migrate["image"] == container(prod, "web")["image"]
    assert "portMappings" not in migrate
    assert prod.one(TASK_DEFINITION, "migrate").outputs["arn"] == prod.outputs["migrationTaskDefinitionArn"]
    command = prod.outputs["migrationRunTaskCommand"]
    # the family: its newest ACTIVE revision, i.e. the one a targeted update just registered (ops/release.sh)
    # in the stack's region whatever the shell selected (a DR migration while the environment names prod's)
    assert command.startswith("aws ecs run-task --region us-east-1 --cluster maratron-prod "
                              "--task-definition maratron-prod-migrate "
                              # on-demand (a Spot reclaim mid-migration is avoidable) and the pinned platform
                              "--capacity-provider-strategy capacityProvider=FARGATE,weight=1 "
                              "--platform-version 1.4.0 ")
    subnets = ",".join(prod.outputs["appSubnetIds"])
    assert f"subnets=[{subnets}],securityGroups=[{prod.outputs['migrationSecurityGroupId']}]," \
           "assignPublicIp=DISABLED" in command
    # What it prints is what ops.run_task parses: the task ARN and, when ECS started none, its reasons.
    assert command.endswith(" --query '{taskArn: tasks[0].taskArn, failures: failures}' --output json")
    with pytest.raises(RuntimeError, match="ECS did not start the task: RESOURCE:ENI"):
        started_task(json.dumps({"taskArn": None, "failures": [{"reason": "RESOURCE:ENI"}]}))
    assert prod.outputs["clusterName"] == "maratron-prod"
    assert prod.outputs["clusterArn"] == prod.one("aws:ecs/cluster:Cluster").outputs["arn"]
    assert (prod.outputs["webServiceName"], prod.outputs["aiServiceName"]) == ("web", "ai")
    assert prod.outputs["webRepositoryUrl"].endswith(".amazonaws.com/maratron/web")  # the foundation's, shared
    assert prod.outputs["aiRepositoryUrl"].endswith(".amazonaws.com/maratron/ai")
    assert not [s for s in prod.of_type(SERVICE) if s.inputs["taskDefinition"] == prod.outputs[
        "migrationTaskDefinitionArn"]]  # one-off, never a service


# --- behind a load balancer (the edge tier wires this at merge) ------------------------------------------------------

ALB_PROGRAM = '''
import pulumi
import pulumi_aws as aws
from components.base import AwsContext
from components.cluster import Cluster, ClusterArgs
from components.connections import Connections, grant
from components.service import FargateService, FargateServiceArgs, LoadBalancerAttachment, ServiceSettings
from components.task import ContainerSpec, FargateTaskArgs

context = AwsContext(account_id="123456789012", partition="aws", region="us-east-1")
key = aws.kms.Key("logs")
alb_sg = aws.ec2.SecurityGroup("alb", vpc_id="vpc-1")
listener = aws.lb.Listener("https", load_balancer_arn="arn:lb", default_actions=[])
cluster = Cluster("cluster", ClusterArgs(name_prefix="t"))
web = FargateService("web", FargateServiceArgs(
    task=FargateTaskArgs(context=context, container=ContainerSpec(name="web", image="img", port=3000),
                         vpc_id="vpc-1", repository_arn="arn:aws:ecr:us-east-1:123456789012:repository/maratron/web",
                         log_key=key, name_prefix="t",
                         enable_execute_command=True),
    settings=ServiceSettings(desired_count=2, max_count=4),
    cluster=cluster, subnet_ids=["subnet-1"],
    load_balancer=LoadBalancerAttachment(target_group_arn="arn:tg", target_group_arn_suffix="targetgroup/web/1",
                                         load_balancer_arn_suffix="app/alb/2", depends_on=[listener]),
))
grant(Connections(alb_sg, label="alb"), web)
'''


@pytest.fixture(scope="module")
def behind_alb(tmp_path_factory: pytest.TempPathFactory) -> StackRun:
    program = tmp_path_factory.mktemp("alb") / "program.py"
    program.write_text(textwrap.dedent(ALB_PROGRAM))
    config, secret_keys, _ = stack_config("dev")
    run = run_program("dev", config, secret_keys, program=Path(program))
    assert run.ok, run.error_details
    return run


def test_behind_a_load_balancer(behind_alb: StackRun) -> None:
    service = behind_alb.one(SERVICE, "web")
    assert service.inputs["loadBalancers"] == [{"targetGroupArn": "arn:tg", "containerName": "web",
                                                "containerPort": 3000}]
    assert service.inputs["healthCheckGracePeriodSeconds"] == 60
    assert behind_alb.one("aws:lb/listener:Listener", "https").urn in service.dependencies
    requests = behind_alb.one(SCALING_POLICY, "web-requests").inputs["targetTrackingScalingPolicyConfiguration"]
    assert requests["predefinedMetricSpecification"] == {
        "predefinedMetricType": "ALBRequestCountPerTarget", "resourceLabel": "app/alb/2/targetgroup/web/1"}
    ingress = [r.inputs for r in behind_alb.of_type(INGRESS)]
    assert [(r["referencedSecurityGroupId"], r["fromPort"]) for r in ingress] == [
        (behind_alb.one(SECURITY_GROUP, "alb").id, 3000)]


def test_ecs_exec_when_asked_for_grants_only_the_ssm_channels(behind_alb: StackRun) -> None:
    assert behind_alb.one(SERVICE, "web").inputs["enableExecuteCommand"] is True
    policy = behind_alb.one(ROLE_POLICY, "web-task-exec")
    assert policy.inputs["role"] == behind_alb.one(ROLE, "web-task").id
    assert json.loads(policy.plain("policy"))["Statement"] == [{
        "Effect": "Allow", "Resource": "*",
        "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                   "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]}]


# --- issue 9: the way AWS runs the services --------------------------------------------------------------------------

def test_web_is_created_after_the_ai_service_connect_endpoint(any_stack: StackRun) -> None:
    # "Only new tasks ... that start running after this deployment can resolve and connect to this endpoint"
    # (ECS, Service Connect deployment): web's service, and the task definition carrying AI_SERVER_URL, wait for ai.
    ai, web = any_stack.one(SERVICE, "ai"), any_stack.one(SERVICE, "web")
    assert ai.urn in web.dependencies
    web_task = any_stack.one(TASK_DEFINITION, "web")
    assert ai.urn in web_task.property_dependencies["containerDefinitions"]  # the URL is an Output of ai
    assert web.urn not in ai.dependencies


@pytest.mark.parametrize("task", ["web", "ai"])
def test_a_service_starts_tasks_only_once_their_role_policies_exist(any_stack: StackRun, task: str) -> None:
    # A first task that starts before its task role may call AWS loses what it sends: the metrics collector's remote
    # writes answered 403 are dropped, not retried (ADOT prometheusremotewrite: 4xx is a permanent error).
    service = any_stack.one(SERVICE, task)
    policies = {r.name: r.urn for r in any_stack.resources
                if r.type == ROLE_POLICY and r.name in (f"{task}-execution", f"{task}-task", f"{task}-task-exec")}
    # dev runs no metrics collector, so its task roles have no statements and no policy
    assert f"{task}-execution" in policies and (f"{task}-task" in policies or any_stack.stack == "dev")
    assert sorted(urn for urn in policies.values() if urn not in service.dependencies) == []


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"aiRequestTimeoutSeconds": 60}, "maratron:aiRequestTimeoutSeconds = 60: must be 0 (off) or at least "
                                      "albIdleTimeoutSeconds (300 s)"),
    ({"albIdleTimeoutSeconds": 900, "aiRequestTimeoutSeconds": 600}, "at least albIdleTimeoutSeconds (900 s)"),
    ({"backupEphemeralStorageGib": 100}, "maratron:backupEphemeralStorageGib = 100: must be at least 200 GiB for "
                                         "dbMaxAllocatedStorageGb 500"),
    ({"backupEphemeralStorageGib": 20, "dbMaxAllocatedStorageGb": 500}, "must be at least 200 GiB"),
    ({"backupEphemeralStorageGib": 201}, "must be 20 (the Fargate default) or 21-200 GiB"),
    ({"webImage": "", "webBuildContext": "tests/fixtures/app-no-volume"},
     'maratron:webBuildContext = "tests/fixtures/app-no-volume": tests/fixtures/app-no-volume/Dockerfile: task '
     "'web' mounts /tmp read-write for uid 1001, but the image declares no VOLUME [\"/tmp\"]"),
])
def test_runtime_rules_fail_the_preview_naming_the_key(run_variant, overrides: dict[str, Any],  # type: ignore[no-untyped-def]
                                                       expected: str) -> None:
    run = run_variant("prod", **overrides)
    assert not run.ok
    assert expected in str(run.error), str(run.error)


def test_a_streaming_budget_at_least_the_edge_is_accepted(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("staging", **STAGING_TUNED)
    assert run.ok, run.error_details
    timeout = run.one(SERVICE, "ai").inputs["serviceConnectConfiguration"]["services"][0]["timeout"]
    assert timeout == {"perRequestTimeoutSeconds": 900, "idleTimeoutSeconds": 360}


def test_an_image_built_here_that_keeps_the_volume_contract_needs_no_init_container(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("dev", **DEV_BUILT_WEB)
    assert run.ok, run.error_details
    assert (run.config["maratron:webImage"], run.config["maratron:webBuildContext"]) == ("", "tests/fixtures/app")
    assert [c["name"] for c in containers(run, "web")] == ["web"]
    assert [c["name"] for c in containers(run, "migrate")] == ["migrate"]
    assert [c["name"] for c in containers(run, "ai")] == ["ai-volume-init", "ai"]  # ai is still built elsewhere
