"""ECS rules. `containerDefinitions` is a JSON string input (an array of container definitions in the ECS API's
own camelCase), so each container is checked from the parsed document. Rules marked AWS: encode how ECS actually
runs a service (steady state, Service Connect timeouts and endpoint visibility, Fargate Spot on ARM64), each with the
documentation it rests on."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import (
    LOAD_BALANCER_TYPES,
    SHARED,
    Rule,
    as_list,
    document,
    linked,
    number,
    of_type,
    resource_rule,
    settings_rule,
    stack_rule,
    transitive_dependencies,
    truthy,
)
from ._controls import (
    DELETE,
    MISSING,
    AtLeast,
    Check,
    Detach,
    Edit,
    Guard,
    Has,
    Is,
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
TARGET_GROUP_TYPES = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
CLUSTER = "aws:ecs/cluster:Cluster"
CLUSTER_CAPACITY_PROVIDERS = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ROOT_USERS = {"root", "0", "0:0", "root:root"}
VOLUME_INIT_SUFFIX = "-volume-init"
DOCKER_DEFAULT_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                               "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
ALB_DEFAULT_IDLE_TIMEOUT = 60.0
"""ALB idle timeout when unset: "By default, ELB sets the idle timeout value for your load balancer to 60 seconds."
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html)"""
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CLOUDFRONT_DEFAULT_ORIGIN_READ_TIMEOUT = 30.0
"""CloudFront's origin read (response) timeout when unset: "the default (if you don't specify otherwise) is 30
seconds" (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CustomOriginConfig.html)."""
SERVICE_CONNECT_DEFAULT_PER_REQUEST = 15.0
SERVICE_CONNECT_DEFAULT_IDLE = 300.0
"""Service Connect (Envoy) defaults for HTTP when `timeout` is unset: 15 s per request, 5 min idle
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TimeoutConfiguration.html)."""
MIN_DEPLOY_TIMEOUT_SECONDS = 10 * 60
MAX_DEPLOY_TIMEOUT_SECONDS = 60 * 60
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


def _is_root(user: str) -> bool:
    return not user or user.lower() in ROOT_USERS or user.split(":")[0] in ("0", "root")


def volume_init_problems(name: str, container: dict[str, Any], task: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Why a root container is not the one exemption: the scratch-volume init container (components/task.py).

    It may run as root only to `chown` the task's empty volumes (Fargate mounts them root-owned unless the image
    declares them: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html): name suffix
    -volume-init, not essential, entryPoint ["chown"] to a non-root uid on exactly its mount points, every default
    capability but CHOWN dropped, read-only root filesystem, no secrets, environment or ports, and an essential
    container that waits for it to succeed."""
    problems = []
    if not name.endswith(VOLUME_INIT_SUFFIX):
        return [f"name does not end with {VOLUME_INIT_SUFFIX}"]
    if container.get("essential") is not False:
        problems.append("it is essential")
    command = [str(c) for c in as_list(container.get("command"))]
    mounts = sorted(str(m.get("containerPath")) for m in as_list(container.get("mountPoints")))
    if as_list(container.get("entryPoint")) != ["chown"] or not command or _is_root(command[0]) \
            or sorted(command[1:]) != mounts or not mounts:
        problems.append("it does more than `chown <non-root uid> <its mount points>`")
    capabilities = (container.get("linuxParameters") or {}).get("capabilities") or {}
    if as_list(capabilities.get("add")) or not DOCKER_DEFAULT_CAPABILITIES - {"CHOWN"} <= set(
            as_list(capabilities.get("drop"))):
        problems.append("it keeps capabilities other than CHOWN")
    if container.get("readonlyRootFilesystem") is not True or container.get("privileged") is True:
        problems.append("its root filesystem is writable or it is privileged")
    if as_list(container.get("secrets")) or as_list(container.get("environment")) \
            or as_list(container.get("portMappings")):
        problems.append("it has secrets, environment or ports")
    if not any(other.get("essential", True) is not False and {"containerName": name, "condition": "SUCCESS"}
               in as_list(other.get("dependsOn")) for _, other in task):
        problems.append("no essential container waits for it to succeed (dependsOn SUCCESS)")
    return problems


def _non_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    task = list(containers(args.props))
    for name, container in task:
        user = str(container.get("user") or "").strip()
        if not _is_root(user):
            continue
        if name.endswith(VOLUME_INIT_SUFFIX):
            problems = volume_init_problems(name, container, task)
            if not problems:
                continue
            report(f"container {name!r} runs as root but is not a scratch-volume init container: "
                   f"{'; '.join(problems)}", None)
        else:
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


def _steady_state(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if not truthy(props.get("waitForSteadyState")):
        report("waitForSteadyState is not true: `pulumi up` reports success while the tasks cannot start or never "
               "pass their health checks", None)
    breaker = props.get("deploymentCircuitBreaker") or {}
    if not (truthy(breaker.get("enable")) and truthy(breaker.get("rollback"))):
        report("deploymentCircuitBreaker is not {enable: true, rollback: true}: a failing deployment keeps "
               "launching tasks instead of failing", None)
    timeouts = args.opts.custom_timeouts
    for operation in ("create", "update"):
        seconds = number(getattr(timeouts, f"{operation}_seconds", 0))
        if not MIN_DEPLOY_TIMEOUT_SECONDS <= seconds <= MAX_DEPLOY_TIMEOUT_SECONDS:
            shown = f"{seconds / 60:g} min" if seconds else "unset"
            report(f"customTimeouts.{operation} is {shown}: the steady-state wait must be bounded explicitly "
                   f"({MIN_DEPLOY_TIMEOUT_SECONDS // 60}-{MAX_DEPLOY_TIMEOUT_SECONDS // 60} min)", None)


def _edge_timeout(resources: list[PolicyResource]) -> float:
    """The longest a request may stay quiet at the edge, across every hop of the stack's edge chain: each ALB's idle
    timeout and each CloudFront custom origin's read timeout (the silence CloudFront waits for from its origin)."""
    albs = [lb for lb in of_type(resources, *LOAD_BALANCER_TYPES)
            if str(lb.props.get("loadBalancerType") or "application") == "application"]
    hops = [number(lb.props.get("idleTimeout"), ALB_DEFAULT_IDLE_TIMEOUT) for lb in albs]
    for distribution in of_type(resources, DISTRIBUTION):
        hops += [number(custom.get("originReadTimeout"), CLOUDFRONT_DEFAULT_ORIGIN_READ_TIMEOUT)
                 for origin in as_list(distribution.props.get("origins"))
                 if isinstance(custom := origin.get("customOriginConfig"), dict)]
    return max(hops, default=0.0)


def _task_of(service: PolicyResource, resources: list[PolicyResource]) -> PolicyResource | None:
    tasks = [t for t in linked(service, "taskDefinition") if t.resource_type == TASK_DEFINITION]
    return tasks[0] if tasks else None


def _app_protocols(task: PolicyResource | None) -> dict[str, str]:
    """Port-mapping name -> appProtocol (http, http2, grpc or tcp) of a task definition."""
    out = {}
    for _, container in containers(task.props) if task is not None else []:
        for mapping in as_list(container.get("portMappings")):
            if mapping.get("name"):
                out[str(mapping["name"])] = str(mapping.get("appProtocol") or "tcp").lower()
    return out


def _service_connect_timeouts(args: StackValidationArgs, report: ReportViolation) -> None:
    edge = _edge_timeout(list(args.resources))
    if not edge:
        return
    for service in of_type(args.resources, SERVICE):
        config = service.props.get("serviceConnectConfiguration") or {}
        protocols = _app_protocols(_task_of(service, list(args.resources)))
        for entry in as_list(config.get("services")):
            if protocols.get(str(entry.get("portName")), "http") == "tcp":
                continue  # per-request timeouts exist for HTTP, HTTP2 and gRPC only
            timeout = entry.get("timeout") or {}
            per_request = number(timeout.get("perRequestTimeoutSeconds"), SERVICE_CONNECT_DEFAULT_PER_REQUEST)
            idle = number(timeout.get("idleTimeoutSeconds"), SERVICE_CONNECT_DEFAULT_IDLE)
            name = entry.get("discoveryName") or entry.get("portName")
            if 0 < per_request < edge:
                report(f"Service Connect {name!r} cuts requests after {per_request:g} s "
                       f"({'the 15 s default' if 'perRequestTimeoutSeconds' not in timeout else 'perRequest'}), "
                       f"before the edge's {edge:g} s timeout: set timeout.perRequestTimeoutSeconds to 0 or "
                       f">= {edge:g}", service.urn)
            if 0 < idle < edge:
                report(f"Service Connect {name!r} closes idle connections after {idle:g} s, before the edge's "
                       f"{edge:g} s: set timeout.idleTimeoutSeconds >= {edge:g}", service.urn)


_URL = re.compile(r"^https?://([A-Za-z0-9.-]+):(\d+)")


def _upstream_dependencies(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    servers: dict[tuple[str, int], PolicyResource] = {}
    for service in of_type(resources, SERVICE):
        for entry in as_list((service.props.get("serviceConnectConfiguration") or {}).get("services")):
            for alias in as_list(entry.get("clientAlias")):
                dns = alias.get("dnsName") or entry.get("discoveryName") or entry.get("portName")
                servers[(str(dns), int(number(alias.get("port"))))] = service
    if not servers:
        return
    for client in of_type(resources, SERVICE):
        task = _task_of(client, resources)
        if task is None:
            continue
        before = transitive_dependencies(client, resources)
        for _, container in containers(task.props):
            for variable in as_list(container.get("environment")):
                match = _URL.match(str(variable.get("value", "")))
                server = servers.get((match.group(1), int(match.group(2)))) if match else None
                if server is not None and server.urn != client.urn and server.urn not in before:
                    report(f"{variable.get('name')} calls Service Connect endpoint {match.group(0)!r} of "  # type: ignore[union-attr]
                           f"{server.urn}, but this service does not depend on it: tasks started before the endpoint "
                           "exists cannot resolve it", client.urn)


def _platform_floor() -> tuple[int, ...]:
    return tuple(int(part) for part in str(SHARED["arm64SpotMinimumPlatform"]).split("."))


def _version_ok(version: Any) -> bool:
    try:
        return tuple(int(part) for part in str(version).split(".")) >= _platform_floor()
    except ValueError:
        return False  # LATEST, absent or unreadable: not explicit


def _cluster_default_spot(resources: list[PolicyResource], cluster_links: list[PolicyResource]) -> bool:
    for providers in of_type(resources, CLUSTER_CAPACITY_PROVIDERS):
        if cluster_links and not any(c.urn in {d.urn for d in linked(providers, "clusterName")}
                                     for c in cluster_links):
            continue
        if any(s.get("capacityProvider") == "FARGATE_SPOT"
               for s in as_list(providers.props.get("defaultCapacityProviderStrategies"))):
            return True
    return False


def _arm64(task: PolicyResource | None) -> bool:
    platform = (task.props.get("runtimePlatform") or {}) if task is not None else {}
    return str(platform.get("cpuArchitecture") or "").upper() == "ARM64"


def _service_on_spot(service: PolicyResource, resources: list[PolicyResource]) -> bool:
    """The service may place tasks on FARGATE_SPOT: its own strategy says so, or it has none (and no launch type) and
    its cluster's default strategy does."""
    strategies = as_list(service.props.get("capacityProviderStrategies"))
    return any(s.get("capacityProvider") == "FARGATE_SPOT" for s in strategies) or (
        not strategies and not service.props.get("launchType")
        and _cluster_default_spot(resources, linked(service, "cluster")))


def _spot_arm64_platform(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    floor = SHARED["arm64SpotMinimumPlatform"]
    for service in of_type(resources, SERVICE):
        if not _arm64(_task_of(service, resources)):
            continue
        if _service_on_spot(service, resources) and not _version_ok(service.props.get("platformVersion")):
            report(f"ARM64 tasks that may run on FARGATE_SPOT need platformVersion {floor} or later, explicitly "
                   f"(got {service.props.get('platformVersion') or 'unset'})", service.urn)
    for schedule in of_type(resources, SCHEDULE):
        ecs = ((schedule.props.get("target") or {}).get("ecsParameters") or {})
        tasks = [t for t in linked(schedule, "target") if t.resource_type == TASK_DEFINITION]
        strategies = as_list(ecs.get("capacityProviderStrategies"))
        spot = any(s.get("capacityProvider") == "FARGATE_SPOT" for s in strategies) or (
            not strategies and not ecs.get("launchType") and _cluster_default_spot(resources, []))
        if spot and any(_arm64(t) for t in tasks) and not _version_ok(ecs.get("platformVersion")):
            report(f"scheduled ARM64 task may run on FARGATE_SPOT: platformVersion must be {floor} or later "
                   f"(got {ecs.get('platformVersion') or 'unset'})", schedule.urn)


SPOT_NOTICE_SECONDS = float(SHARED["spotInterruptionNoticeSeconds"])
ELB_DEFAULT_DEREGISTRATION_DELAY = 300.0
"""A target group's drain when unset ("The default value is 300 seconds",
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html)."""


def _spot_drain(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for service in of_type(resources, SERVICE):
        if not _service_on_spot(service, resources):
            continue
        for group in linked(service, "loadBalancers"):
            if group.resource_type not in TARGET_GROUP_TYPES:
                continue
            delay = number(group.props.get("deregistrationDelay"), ELB_DEFAULT_DEREGISTRATION_DELAY)
            if delay >= SPOT_NOTICE_SECONDS:
                report(f"tasks that may run on FARGATE_SPOT sit behind target group {group.name} draining {delay:g} "
                       f"s: a Spot task may stay registered until it stops, so the deregistration delay must be "
                       f"below the {SPOT_NOTICE_SECONDS:g} s interruption notice", service.urn)


def _to_spot(inputs: dict[str, Any]) -> dict[str, Any]:
    """The sweep's weakening of the Spot drain: prod's web runs on FARGATE behind a 300 s drain; moved to Spot."""
    return {**inputs, "capacityProviderStrategies": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]}


def _on_spot_at(version: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The sweep's weakening of the Spot platform floor: prod runs on FARGATE, so the service moves to Spot too."""
    return lambda inputs: {**inputs, "platformVersion": version,
                           "capacityProviderStrategies": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]}


def _schedule_on_spot_at(version: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def edit(inputs: dict[str, Any]) -> dict[str, Any]:
        ecs = {k: v for k, v in inputs["target"]["ecsParameters"].items() if k != "launchType"}
        ecs.update(platformVersion=version,
                   capacityProviderStrategies=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
        return {**inputs, "target": {**inputs["target"], "ecsParameters": ecs}}
    return edit


TASKS = [TASK_DEFINITION]
CONTAINER = "containerDefinitions<json>[*]"
APP_CONTAINER = "containerDefinitions<json>[essential=True]"
INIT_CONTAINER = "containerDefinitions<json>[essential=False]"
SIDECAR_CONTAINER = "containerDefinitions<json>[name=metrics-collector]"
"""The app metrics collector (components/app_metrics.py): not essential like the volume-init, yet never root."""
PLAINTEXT_PASSWORD = {"name": "DATABASE_PASSWORD", "value": "hunter2"}
RULES: list[Rule] = [
    resource_rule("container-non-root", area="containers", types=TASKS, check=_non_root,
                  summary="Containers run as a non-root user",
                  reference="seed: containers run as non-root (neither cdk-nag nor Checkov checks this)",
                  guards=[Guard(f"{APP_CONTAINER}.user", To("root"), each=True),
                          # The one root container allowed: the scratch-volume init (volume_init_problems).
                          Guard(f"{INIT_CONTAINER}.entryPoint", To(["sh", "-c"]), each=True,
                                note="the volume-init runs a shell instead of chown"),
                          Guard(f"{INIT_CONTAINER}.command", Rewrite(lambda cmd: ["0", *cmd[1:]],
                                                                     "chown to root (uid 0)"), each=True,
                                note="the volume-init hands its volumes to root"),
                          Guard(f"{APP_CONTAINER}.dependsOn", DELETE,
                                note="the app no longer waits for the volume-init to succeed"),
                          Guard(f"{SIDECAR_CONTAINER}.user", To("0:0"), each=True,
                                note="the metrics collector sidecar")]),
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
    resource_rule("ecs-service-waits-for-steady-state", area="containers", types=[SERVICE], check=_steady_state,
                  summary="ECS services wait for steady state with a bounded create/update timeout and a rolling-back "
                          "circuit breaker, so a deployment that never becomes healthy fails the update",
                  reference="AWS: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/"
                            "deployment-circuit-breaker.html; pulumi-aws ecs.Service waitForSteadyState",
                  guards=[Guard("waitForSteadyState", To(False)),
                          Guard("@customTimeouts", To({}), note="the bounded create/update wait")]),
    stack_rule("ecs-service-connect-timeout-covers-edge", area="containers", check=_service_connect_timeouts,
               summary="No Service Connect hop has a shorter per-request or idle timeout than the edge in front of "
                       "it (the longest ALB idle or CloudFront origin read timeout)",
               reference="AWS: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TimeoutConfiguration.html",
               guards=[Guard("serviceConnectConfiguration.services[*].timeout.perRequestTimeoutSeconds", To(15),
                             types=(SERVICE,)),
                       Guard("serviceConnectConfiguration.services[*].timeout.idleTimeoutSeconds", To(60),
                             types=(SERVICE,))]),
    stack_rule("ecs-service-connect-client-depends-on-server", area="containers", check=_upstream_dependencies,
               summary="A service whose tasks call a Service Connect endpoint depends on the service that creates it",
               reference="AWS: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/"
                         "service-connect-concepts-deploy.html",
               guards=[Guard("@dependencies", Detach(SERVICE, When("serviceConnectConfiguration.services")),
                             types=(SERVICE,), where=When("serviceConnectConfiguration.services", negate=True),
                             note="a client service waits for the services it calls")]),
    stack_rule("fargate-spot-arm64-platform-version", area="containers", check=_spot_arm64_platform,
               summary="ARM64 tasks that may run on FARGATE_SPOT pin platform version 1.4.0 or later",
               reference="AWS: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/"
                         "API_CapacityProviderStrategyItem.html",
               guards=[Guard("platformVersion", Edit(_on_spot_at("1.3.0"), "1.3.0 on FARGATE_SPOT"), types=(SERVICE,),
                             note="a service moved to Spot with an older pinned platform"),
                       Guard("target.ecsParameters.platformVersion", Edit(_schedule_on_spot_at("1.3.0"),
                                                                          "1.3.0 on FARGATE_SPOT"),
                             types=(SCHEDULE,), note="a scheduled task moved to Spot with an older pinned platform")]),
    stack_rule("fargate-spot-target-drains-within-notice", area="containers", check=_spot_drain,
               summary="A service that may run on FARGATE_SPOT sits behind target groups that drain in less than "
                       "Spot's two-minute interruption notice",
               reference="AWS: https://repost.aws/knowledge-center/fargate-spot-termination-notice",
               guards=[Guard("capacityProviderStrategies", Edit(_to_spot, "FARGATE_SPOT"), types=(SERVICE,),
                             where=When("loadBalancers"),
                             note="a load-balanced service moved to Spot behind a 300 s drain")]),
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
INIT = (When("essential", False), When("name", re.compile(f"{VOLUME_INIT_SUFFIX}$")))
"""The scratch-volume init container (the one shape container-non-root exempts); a non-essential sidecar (the metrics
collector) is not one: it drops every capability like the app."""
NOT_INIT = When("name", re.compile(f"{VOLUME_INIT_SUFFIX}$"), negate=True)


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


TAG_PINNED_PUBLISHERS = ["public.ecr.aws/aws-observability/"]
"""Registries whose images may run by exact release tag instead of digest: AWS's own ADOT collector (the metrics
sidecar, components/app_metrics.py). The exemption is explicit and narrow — an exact `vX.Y.Z` tag, never a floating
one — because AWS documents the collector by release tag (https://aws-otel.github.io/docs/setup/ecs) and the program
has no digest lookup for an ECR Public image (aws.ecr.get_image reads private repositories only). The risk left,
AWS re-pushing a release tag, is accepted in docs/app-metrics.md; pin it anyway by setting metricsCollectorImage to
`name@sha256:...`, or empty this list in the pack config to forbid tags altogether."""
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
RELEASE_TAG = re.compile(r":v?\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class PinnedImage(Check):
    """An image pinned by digest, or by an exact release tag from a registry of `tagPinnedPublishers`."""

    def problem(self, value: Any, config: Mapping[str, Any]) -> str | None:
        image = str(value)
        if DIGEST.search(image):
            return None
        publishers = config.get("tagPinnedPublishers", TAG_PINNED_PUBLISHERS)
        if any(image.startswith(str(p)) for p in as_list(publishers)) and RELEASE_TAG.search(image):
            return None
        return f"{json.dumps(value)} is not pinned by digest (@sha256:...)" + (
            "; an exempt publisher's image needs an exact release tag (vX.Y.Z)"
            if any(image.startswith(str(p)) for p in as_list(publishers)) else "")

    def weakened(self, value: Any) -> Any:
        return re.split(r"[@:](?=[^/]*$)", str(value))[0] + ":latest"

    def describe(self) -> str:
        return "pinned by digest (@sha256:...), or an exact release tag of a `tagPinnedPublishers` registry"


REPOSITORY = "aws:ecr/repository:Repository"
SOURCE_REPOSITORY = When("region", negate=True)
"""An ECR repository in the stack's own region. One with a `region` of its own is a DR-region replica that registry
replication writes into (components/image_registry.py): AES-256 there, like the creation template's (a CMK in the DR
region is not built yet; the images are not secret); its tags and scanning are checked as the source's."""
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
        settings=[Setting("linuxParameters.capabilities.drop", KeepsAtMost(), within=CONTAINER, item_where=NOT_INIT,
                          each=True),
                  Setting("linuxParameters.capabilities.drop", KeepsAtMost(INIT_CONTAINER_CAPABILITIES),
                          within=CONTAINER, item_where=INIT, each=True)]),
    settings_rule(
        "ecs-image-by-digest", area="delivery", types=TASKS,
        summary="Containers run an image pinned by digest (<repository>@sha256:...), what was scanned is what runs; "
                "the one exemption, an AWS-published sidecar, may run by exact release tag (tagPinnedPublishers)",
        reference="seed: rollback procedure validated, container security; Checkov CKV_K8S_43 (Kubernetes "
                  "equivalent)",
        schema={"tagPinnedPublishers": {
            "type": "array", "items": {"type": "string"}, "default": TAG_PINNED_PUBLISHERS,
            "description": "Image prefixes (AWS public registries) whose images may run by exact release tag."}},
        settings=[Setting("image", PinnedImage(), within=CONTAINER, each=True)]),
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
        "ecs-capacity-strategy-updatable", area="containers", types=[SERVICE, CLUSTER_CAPACITY_PROVIDERS],
        summary="A service on a capacity provider strategy forces a new deployment on update, and Fargate clusters "
                "keep both FARGATE and FARGATE_SPOT, so moving a service to or from Spot is one ordinary update",
        reference="AWS: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html; "
                  "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html",
        settings=[
            Setting("forceNewDeployment", Is(True), types=(SERVICE,), where=When("capacityProviderStrategies")),
            Setting("capacityProviders", Has("FARGATE_SPOT"), types=(CLUSTER_CAPACITY_PROVIDERS,)),
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
        summary="Image repositories keep tags immutable, scan every push and encrypt with a customer-managed key (in "
                "the stack's region; the DR region's replicas are AES-256)",
        reference="seed: container security; Checkov CKV_AWS_51, CKV_AWS_163, CKV_AWS_136",
        settings=[
            Setting("imageTagMutability", Is("IMMUTABLE", weak="MUTABLE")),
            Setting("imageScanningConfiguration.scanOnPush", Is(True)),
            # The key: in the stack's region; a DR-region replica (a `region` of its own) is AES-256 (identity.py).
            Setting("encryptionConfigurations[*].encryptionType", Is("KMS", weak="AES256"), where=SOURCE_REPOSITORY),
            Setting("encryptionConfigurations[*].kmsKey", Present(weak=MISSING), where=SOURCE_REPOSITORY),
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
