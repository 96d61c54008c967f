"""ECS rules. `containerDefinitions` is a JSON string input (an array of container definitions in the ECS API's
own camelCase), so each container is checked from the parsed document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._common import Rule, as_list, document, resource_rule, truthy
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
RULES: list[Rule] = [
    resource_rule("container-non-root", area="containers", types=TASKS, check=_non_root,
                  summary="Containers run as a non-root user",
                  reference="seed: containers run as non-root (neither cdk-nag nor Checkov checks this)"),
    resource_rule("container-read-only-root-filesystem", area="containers", types=TASKS, check=_read_only,
                  summary="Containers have a read-only root filesystem",
                  reference="seed: container hardening; Checkov CKV_AWS_336"),
    resource_rule("container-not-privileged", area="containers", types=TASKS, check=_not_privileged,
                  summary="Containers are not privileged and add no Linux capabilities",
                  reference="seed: container hardening; Checkov CKV_AWS_334"),
    resource_rule("container-logging", area="containers", types=TASKS, check=_logging,
                  summary="Every container has a log driver", reference="seed: centralised logs; cdk-nag ECS7"),
    resource_rule("container-no-plaintext-secrets", area="containers", types=TASKS, check=_no_plaintext_secrets,
                  summary="No secret in a container's plaintext environment (by name and by value shape)",
                  reference="seed: secrets from Secrets Manager; cdk-nag ECS2"),
    resource_rule("ecs-service-no-public-ip", area="containers", types=[SERVICE], check=_no_public_ip,
                  summary="ECS services do not assign public IPs", reference="seed: private app tier; "
                  "Checkov CKV_AWS_333"),
    resource_rule("ecs-cluster-container-insights", area="containers", types=[CLUSTER], check=_container_insights,
                  summary="ECS clusters enable Container Insights",
                  reference="seed: monitoring; cdk-nag ECS4; Checkov CKV_AWS_65"),
]
