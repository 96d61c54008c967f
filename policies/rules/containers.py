"""ECS rules. `containerDefinitions` is a JSON string input (an array of container definitions in the ECS API's
own camelCase), so each container is checked from the parsed document."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._common import Rule, as_list, document, resource_rule, settings_rule, truthy
from ._controls import (
    DELETE,
    MISSING,
    AtLeast,
    Check,
    Edit,
    Guard,
    Is,
    Matches,
    Present,
    Rewrite,
    Setting,
    To,
    VersionAtLeast,
    When,
)
from .secrets import CREDENTIAL_SHAPES

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
CLUSTER = "aws:ecs/cluster:Cluster"
ROOT_USERS = {"root", "0", "0:0", "root:root"}
SECRET_ENV_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH_KEY|ACCESS_KEY|DATABASE_URL|REDIS_URL)",
    re.I)
# Names that match the pattern but carry no secret (a switch or a pointer to one).
SECRET_ENV_ALLOWED = re.compile(r"(_ARN|_ID|_NAME|_ENABLED|_FILE|_PATH|_REGION|_TTL|_EXPIRY|_LENGTH)$", re.I)


def containers(props: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    parsed = document(props.get("containerDefinitions"))
    for index, container in enumerate(as_list(parsed)):
        if isinstance(container, dict):
            yield str(container.get("name") or f"#{index}"), container


def _non_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for name, container in containers(args.props):
        user = str(container.get("user") or "").strip()
        if not user or user.lower() in ROOT_USERS or user.split(":")[0] in ("0", "root"):
            report(f"container {name!r} runs as root (user {user or 'unset'}); set a non-root uid:gid", None)


def _read_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for name, container in containers(args.props):
        if container.get("readonlyRootFilesystem") is not True:
            report(f"container {name!r} has a writable root filesystem (readonlyRootFilesystem)", None)


def _not_privileged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for name, container in containers(args.props):
        if container.get("privileged") is True:
            report(f"container {name!r} is privileged", None)
        added = (container.get("linuxParameters") or {}).get("capabilities", {}).get("add") or []
        if added:
            report(f"container {name!r} adds Linux capabilities {added}", None)


def _logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for name, container in containers(args.props):
        if not (container.get("logConfiguration") or {}).get("logDriver"):
            report(f"container {name!r} has no logConfiguration.logDriver", None)


def _no_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for name, container in containers(args.props):
        for variable in as_list(container.get("environment")):
            key, value = str(variable.get("name", "")), str(variable.get("value", ""))
            if SECRET_ENV_NAME.search(key) and not SECRET_ENV_ALLOWED.search(key):
                report(f"container {name!r} sets {key} in plaintext `environment`; pass it via `secrets` "
                       "(valueFrom a Secrets Manager ARN)", None)
                continue
            for label, shape in CREDENTIAL_SHAPES:
                if shape.search(value):
                    report(f"container {name!r} environment {key} holds what looks like a {label}", None)
                    break


def _no_public_ip(args: ResourceValidationArgs, report: ReportViolation) -> None:
    network = args.props.get("networkConfiguration") or {}
    if truthy(network.get("assignPublicIp")):
        report("networkConfiguration.assignPublicIp is true: tasks must stay in private subnets behind the ALB", None)


def _container_insights(args: ResourceValidationArgs, report: ReportViolation) -> None:
    settings = {s.get("name"): s.get("value") for s in as_list(args.props.get("settings"))}
    if settings.get("containerInsights") not in ("enabled", "enhanced"):
        report("containerInsights is not enabled on the cluster", None)


TASKS = [TASK_DEFINITION]
CONTAINER = "containerDefinitions<json>[*]"
APP_CONTAINER = "containerDefinitions<json>[essential=True]"
PLAINTEXT_PASSWORD = {"name": "DATABASE_PASSWORD", "value": "hunter2"}
RULES: list[Rule] = [
    resource_rule("container-non-root", area="containers", types=TASKS, check=_non_root,
                  summary="Containers run as a non-root user",
                  reference="seed: containers run as non-root (neither cdk-nag nor Checkov checks this)",
                  guards=[Guard(f"{APP_CONTAINER}.user", To("root"), each=True)]),
    resource_rule("container-read-only-root-filesystem", area="containers", types=TASKS, check=_read_only,
                  summary="Containers have a read-only root filesystem",
                  reference="seed: container hardening; Checkov CKV_AWS_336",
                  guards=[Guard(f"{CONTAINER}.readonlyRootFilesystem", To(False), each=True)]),
    resource_rule("container-not-privileged", area="containers", types=TASKS, check=_not_privileged,
                  summary="Containers are not privileged and add no Linux capabilities",
                  reference="seed: container hardening; Checkov CKV_AWS_334",
                  guards=[Guard(f"{CONTAINER}.privileged", To(True), each=True),
                          Guard(f"{CONTAINER}.linuxParameters.capabilities.add", To(["SYS_ADMIN"]), each=True)]),
    resource_rule("container-logging", area="containers", types=TASKS, check=_logging,
                  summary="Every container has a log driver", reference="seed: centralised logs; cdk-nag ECS7",
                  guards=[Guard(f"{CONTAINER}.logConfiguration.logDriver", DELETE, each=True)]),
    resource_rule("container-no-plaintext-secrets", area="containers", types=TASKS, check=_no_plaintext_secrets,
                  summary="No secret in a container's plaintext environment (by name and by value shape)",
                  reference="seed: secrets from Secrets Manager; cdk-nag ECS2",
                  guards=[Guard(f"{CONTAINER}.environment", Rewrite(lambda env: [*env, PLAINTEXT_PASSWORD],
                                                                    "a plaintext DATABASE_PASSWORD added"),
                                each=True)]),
    resource_rule("ecs-service-no-public-ip", area="containers", types=[SERVICE], check=_no_public_ip,
                  summary="ECS services do not assign public IPs", reference="seed: private app tier; "
                  "Checkov CKV_AWS_333", guards=[Guard("networkConfiguration.assignPublicIp", To(True))]),
    resource_rule("ecs-cluster-container-insights", area="containers", types=[CLUSTER], check=_container_insights,
                  summary="ECS clusters enable Container Insights",
                  reference="seed: monitoring; cdk-nag ECS4; Checkov CKV_AWS_65",
                  guards=[Guard("settings[name=containerInsights].value", To("disabled"))]),
]


# --- controls the stack sets beyond the rules above (issue 13: the pack guards every control) -------------------------

# AWS behaviour these rules rely on:
# - awslogs `mode`: blocking delivery stalls the app's stdout when CloudWatch Logs is slow; the account default changed
#   to non-blocking in 2025 but an account setting can turn it back, so the task says it explicitly
#   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-account-settings.html, "Default log driver mode");
# - initProcessEnabled runs an init (tini) as PID 1, which forwards SIGTERM and reaps zombies
#   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinuxParameters.html);
# - the deployment circuit breaker fails and rolls back a deployment whose tasks do not reach steady state
#   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html);
# - Availability Zone rebalancing defaults to ENABLED only for new services; an update without it keeps the old
#   value, DISABLED for services created before the feature
#   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-rebalancing.html);
# - ECS Exec opens a shell in running containers (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/
#   ecs-exec.html); immutable tags and scan on push (https://docs.aws.amazon.com/AmazonECR/latest/userguide/
#   image-tag-mutability.html, .../image-scanning.html).

DEFAULT_CAPABILITIES = ("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                        "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT")
"""The capabilities a container keeps unless it drops them (Docker's default set, which Fargate uses; Fargate can
add back only SYS_PTRACE: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_KernelCapabilities.html)."""
INIT_CONTAINER_CAPABILITIES = ("CHOWN",)
"""What a non-essential init container may keep: chown of a scratch volume before the app starts."""
ESSENTIAL = When("essential", False, negate=True)
FARGATE_PLATFORM = VersionAtLeast("1.4.0", weak="1.3.0", aliases=("LATEST",))
"""The current Linux Fargate platform (1.4.0; LATEST resolves to it): https://docs.aws.amazon.com/AmazonECS/latest/
developerguide/platform-linux-fargate.html. Pinning it (ARM64 on Fargate Spot needs 1.4.0+) is as good as LATEST."""
INIT = When("essential", False)


@dataclass(frozen=True)
class KeepsAtMost(Check):
    """A container's `capabilities.drop` list leaves it at most `allowed` of the default capabilities."""

    allowed: tuple[str, ...] = ()

    def problem(self, value: Any, config: Mapping[str, Any]) -> str | None:
        dropped = {str(c).upper() for c in as_list(value)}
        kept = set() if "ALL" in dropped else set(DEFAULT_CAPABILITIES) - dropped
        extra = sorted(kept - set(self.allowed))
        return f"keeps the Linux capabilities {extra}; drop ALL" + (
            f" but {list(self.allowed)}" if self.allowed else "") if extra else None

    def weakened(self, value: Any) -> Any:
        return ["NET_RAW"]

    def describe(self) -> str:
        return f"drops every capability but {list(self.allowed)}" if self.allowed else "contains \"ALL\""


REPOSITORY = "aws:ecr/repository:Repository"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
SCHEDULE = "aws:scheduler/schedule:Schedule"
SERVICE_CONNECT = When("serviceConnectConfiguration.enabled", True)


def _separate_roles(args: ResourceValidationArgs, report: ReportViolation) -> None:
    task, execution = args.props.get("taskRoleArn"), args.props.get("executionRoleArn")
    if task and task == execution:
        report("the task role is the execution role: the application would hold the agent's rights (pull images, "
               "read every secret of the task); give it its own role", None)


def _role_swap(source: str, target: str) -> Edit:
    return Edit(lambda inputs: {**inputs, target: inputs[source]}, f"{target} replaced by {source}")


RULES += [
    settings_rule(
        "container-drop-all-capabilities", area="containers", types=TASKS,
        summary="Containers drop every Linux capability (an init container keeps CHOWN at most)",
        reference="seed: container security (non-root, minimal privileges); Checkov CKV_K8S_37 (Kubernetes "
                  "equivalent)",
        settings=[Setting("linuxParameters.capabilities.drop", KeepsAtMost(), within=CONTAINER, item_where=ESSENTIAL,
                          each=True),
                  Setting("linuxParameters.capabilities.drop", KeepsAtMost(INIT_CONTAINER_CAPABILITIES),
                          within=CONTAINER, item_where=INIT, each=True)]),
    settings_rule(
        "container-image-by-digest", area="containers", types=TASKS,
        summary="Containers run an image pinned by digest: what was scanned is what runs",
        reference="seed: container security; Checkov CKV_K8S_43 (Kubernetes equivalent)",
        settings=[Setting("image", Matches(r"@sha256:[0-9a-f]{64}$", weak="public.ecr.aws/docker/library/node:latest",
                                           text="is not pinned by digest (@sha256:...)"),
                          within=CONTAINER, each=True)]),
    settings_rule(
        "container-reliability", area="containers", types=TASKS,
        summary="Essential containers run an init process (signals reach the app, zombies are reaped), no container "
                "blocks on log delivery, and a container that serves a port has a health check",
        reference="seed: health checks configured, zero-downtime deployment; Checkov CKV_K8S_8 (Kubernetes "
                  "equivalent)",
        settings=[
            Setting("linuxParameters.initProcessEnabled", Is(True), within=CONTAINER, item_where=ESSENTIAL,
                    each=True),
            Setting("logConfiguration.options.mode", Is("non-blocking", weak="blocking"), within=CONTAINER,
                    item_where=When("logConfiguration.logDriver", "awslogs"), each=True),
            Setting("healthCheck.command", Present(weak=MISSING), within=CONTAINER, item_where=When("portMappings"),
                    each=True),
        ]),
    resource_rule(
        "ecs-task-separate-roles", area="containers", types=TASKS, check=_separate_roles,
        summary="A task's application role is not its execution (agent) role",
        reference="seed: access control (least privilege); Checkov CKV_AWS_249",
        guards=[Guard("taskRoleArn", _role_swap("executionRoleArn", "taskRoleArn"), unlink=True),
                Guard("executionRoleArn", _role_swap("taskRoleArn", "executionRoleArn"), unlink=True)]),
    settings_rule(
        "ecs-service-deployment-safety", area="containers", types=[SERVICE],
        summary="ECS deployments keep full capacity while they roll and roll back by themselves when new tasks fail "
                "(deployment circuit breaker)",
        reference="seed: zero-downtime deployment, rollback procedure validated",
        schema={"minimumHealthyPercent": {"type": "integer", "minimum": 0, "maximum": 100, "default": 100,
                                          "description": "Minimum deploymentMinimumHealthyPercent."}},
        settings=[
            Setting("deploymentCircuitBreaker.enable", Is(True)),
            Setting("deploymentCircuitBreaker.rollback", Is(True)),
            Setting("deploymentMinimumHealthyPercent", AtLeast(100, param="minimumHealthyPercent")),
        ]),
    settings_rule(
        "ecs-service-availability", area="containers", types=[SERVICE, SCALABLE_TARGET], prod_only=True,
        summary="Production services run at least two tasks (and never scale below two), rebalanced across "
                "Availability Zones",
        reference="seed: replicas (web 3, ai 2), high availability",
        settings=[
            Setting("desiredCount", AtLeast(2), types=(SERVICE,)),
            Setting("availabilityZoneRebalancing", Is("ENABLED", weak="DISABLED"), types=(SERVICE,)),
            Setting("minCapacity", AtLeast(2), types=(SCALABLE_TARGET,), where=When("serviceNamespace", "ecs")),
        ]),
    settings_rule(
        "ecs-service-hardening", area="containers", types=[SERVICE],
        summary="ECS services run on the current Fargate platform (1.4.0 or LATEST), allow no ECS Exec shell, and "
                "log their Service Connect proxy without blocking",
        reference="seed: container security, log aggregation; Checkov CKV_AWS_332",
        settings=[
            Setting("platformVersion", FARGATE_PLATFORM, required=False),
            Setting("enableExecuteCommand", Is(False), required=False),
            Setting("serviceConnectConfiguration.logConfiguration.logDriver", Present(weak=MISSING),
                    where=SERVICE_CONNECT),
            Setting("serviceConnectConfiguration.logConfiguration.options.mode", Is("non-blocking", weak="blocking"),
                    where=SERVICE_CONNECT),
        ]),
    settings_rule(
        "ecr-repository-hardening", area="containers", types=[REPOSITORY],
        summary="Image repositories keep tags immutable, scan every push and encrypt with a customer-managed key",
        reference="seed: container security; Checkov CKV_AWS_51, CKV_AWS_163, CKV_AWS_136",
        settings=[
            Setting("imageTagMutability", Is("IMMUTABLE", weak="MUTABLE")),
            Setting("imageScanningConfiguration.scanOnPush", Is(True)),
            Setting("encryptionConfigurations[*].encryptionType", Is("KMS", weak="AES256")),
            Setting("encryptionConfigurations[*].kmsKey", Present(weak=MISSING)),
        ]),
    settings_rule(
        "ecr-no-force-delete", area="containers", types=[REPOSITORY], prod_only=True,
        summary="Production repositories cannot be deleted with the images running services need",
        reference="seed: protect production",
        settings=[Setting("forceDelete", Is(False), required=False)]),
    settings_rule(
        "scheduled-tasks", area="containers", types=[SCHEDULE],
        summary="EventBridge schedules of the stack are enabled, and the tasks they start get no public IP and run "
                "on the current Fargate platform",
        reference="seed: backup strategy (scheduled backups), private app tier; Checkov CKV_AWS_333, CKV_AWS_332",
        settings=[
            Setting("state", Is("ENABLED", weak="DISABLED"), required=False),
            Setting("target.ecsParameters.networkConfiguration.assignPublicIp", Is(False), required=False),
            Setting("target.ecsParameters.platformVersion", FARGATE_PLATFORM, required=False),
        ]),
]
