"""A hardened Fargate task: task definition, execution and task roles, log group and security group.

Used by FargateService (long-running `web` and `ai`) and on its own for one-off tasks (the DB migration). A task
holds the app container, optional sidecars next to it (the metrics collector, FargateTaskArgs.sidecars) and, when
needed, the scratch-volume init container below: all three are ContainerSpecs rendered by one function and held to
the same rules. Every container:

* runs as an unprivileged user (the seed's uid/gid 1001; a sidecar as its image's own user), never root (the one
  exemption: the init container below), never privileged, with every Linux capability dropped and an init process
  (tini) reaping zombies and forwarding SIGTERM;
* has a read-only root filesystem; the paths the app must write (`/tmp`, Next.js' `.next/cache`, and HOME, which
  defaults to the first of them: ContainerSpec.runtime_environment) are task-local scratch volumes. Fargate mounts
  each as an empty root-owned (0755) directory unless the image declares the path as
  a VOLUME, in which case ECS copies the image's directory, ownership included, into it (ECS "Use bind mounts",
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html). So a non-root task can write them
  only if (a) the image this repository builds owns and declares each path — checked from its Dockerfile when the
  task is defined (components/dockerfile.py) — or (b) for an image built elsewhere, whose Dockerfile we cannot see, a
  non-essential init container `<name>-volume-init` runs first as root with only CAP_CHOWN, no secrets and a
  read-only root filesystem, and `chown`s the empty volumes to the task's uid; the app container starts only after
  it exited 0 (`dependsOn` SUCCESS, Fargate platform 1.3.0+, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDependency.html);
* gets configuration through `environment` and every secret through `secrets` (Secrets Manager ARNs resolved by the
  ECS agent at start), so no secret value is ever part of the task definition;
* logs with awslogs to a CMK-encrypted group in non-blocking mode (a slow CloudWatch never stalls the app).

ARM64 (Graviton): about 20% cheaper per vCPU-hour than x86 on Fargate with better price-performance for Node.js
and Python; both official base images (node:20-alpine, python) are multi-arch, and Fargate Spot supports ARM64 on
platform 1.4.0. The images must be built for linux/arm64 (the build path does so).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import (
    RETAIN,
    AwsContext,
    RemovalPolicy,
    SecretRef,
    assume_role_policy,
    json_output,
    named_tags,
    policy_json,
    retains,
)
from components.connections import ANYWHERE, Connections, grant_to
from components.constants import (
    ECS_EXEC_ACTIONS,
    FARGATE_PLATFORM_VERSION,
    HEALTHY_BELOW,
    LOG_RETENTION_DAYS,
    NON_ROOT_USER,
    PROJECT,
)
from components.dockerfile import scratch_problems
from components.settings import Rules, require_valid, setting

DOCKER_DEFAULT_CAPABILITIES = ("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                               "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT")
"""The capabilities a container gets unless dropped (Docker's default set). On Fargate none can be added back except
SYS_PTRACE (API_KernelCapabilities), so the init container keeps CHOWN by dropping every other one by name."""
VOLUME_INIT_SUFFIX = "-volume-init"
"""Name suffix of the scratch-volume init container (the policy pack's one, narrow, non-root exemption)."""
EPHEMERAL_STORAGE_GIB = (21, 200)
"""Fargate task ephemeral storage when set: 21-200 GiB; unset is the platform's 20 GiB
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-storage.html)."""
FARGATE_EPHEMERAL_STORAGE_GIB = 20
"""What a Fargate task gets when ephemeral storage is not set (same page): the default, never sent."""

# Fargate task sizes: CPU units -> (smallest, largest, step) memory in MiB (ECS developer guide, "Task size").
FARGATE_SIZES: dict[int, tuple[int, int, int]] = {
    256: (512, 2048, 0), 512: (1024, 4096, 1024), 1024: (2048, 8192, 1024), 2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024), 8192: (16384, 61440, 4096), 16384: (32768, 122880, 8192),
}


def fargate_memory_sizes(cpu: int) -> tuple[int, ...]:
    """Memory sizes (MiB) Fargate accepts for a CPU size; empty for an invalid CPU size."""
    if cpu not in FARGATE_SIZES:
        return ()
    low, high, step = FARGATE_SIZES[cpu]
    return (512, 1024, 2048) if cpu == 256 else tuple(range(low, high + 1, step))


@dataclass(frozen=True, kw_only=True)
class TaskSize:
    """CPU and memory of a Fargate task: one of the sizes Fargate offers. Keys are prefixed (webCpu, webMemory)."""

    cpu: int = setting("cpu", 256, "{title} task CPU units (256, 512, 1024, 2048, 4096, ...; 1024 = 1 vCPU).",
                       choices=FARGATE_SIZES)
    memory: int = setting("memory", 512, "{title} task memory in MiB; must be a Fargate-valid size for {prefix}Cpu "
                          "(0.25 vCPU: 512-2048, 0.5 vCPU: 1024-4096, 1 vCPU: 2048-8192).", minimum=512)

    def validate(self, rules: Rules) -> None:
        allowed = fargate_memory_sizes(self.cpu)
        if self.memory not in allowed:
            rules.problem("memory", f"Fargate with {rules.key('cpu')} {self.cpu} ({self.cpu / 1024:g} vCPU) allows "
                          f"memory {', '.join(map(str, allowed))} MiB", also=["cpu"])

@dataclass(frozen=True)
class HealthCheck:
    """A container health check: ECS runs `command` inside the container ("The Amazon ECS container agent only
    monitors and reports on the health checks specified in the task definition", API_HealthCheck), so its binary
    must exist in the image; an unhealthy service task is stopped and replaced. Timings default to the seed's
    (HEALTH_CHECK_INTERVAL=30s, _TIMEOUT=10s, _RETRIES=3, compose start_period 40s)."""

    command: tuple[str, ...]
    """Exec form, e.g. ("CMD", "node", "-e", "..."): no shell needed in the image."""
    interval: int = 30
    timeout: int = 10
    retries: int = 3
    start_period: int = 40

    def __post_init__(self) -> None:
        if not self.command or self.command[0] not in ("CMD", "CMD-SHELL"):
            raise ValueError(f"health check command must start with CMD or CMD-SHELL: {self.command}")
        # ECS limits (API_HealthCheck): interval 5-300, timeout 2-60, retries 1-10, startPeriod 0-300.
        if not (5 <= self.interval <= 300 and 2 <= self.timeout <= 60 and 1 <= self.retries <= 10
                and 0 <= self.start_period <= 300) or self.timeout >= self.interval:
            raise ValueError(f"health check timings outside ECS limits or timeout >= interval: {self}")

    def definition(self) -> dict[str, Any]:
        return {"command": list(self.command), "interval": self.interval, "timeout": self.timeout,
                "retries": self.retries, "startPeriod": self.start_period}


HealthCheckTool = Literal["node", "python", "wget", "curl"]


def health_check_command(tool: HealthCheckTool, port: int, path: str, timeout_seconds: int = 5) -> tuple[str, ...]:
    """A liveness probe with a binary the image has: GET http://127.0.0.1:<port><path> expecting a status below
    HEALTHY_BELOW, as the ALB's matcher does (node, python and wget follow a redirect and judge where it leads; curl
    and the ALB judge the 3xx itself, so a redirect to a failing page fails only the former), or with an
    empty path just a TCP connect to the port. 127.0.0.1, not localhost: Node 17+ may resolve localhost to ::1 while
    the app listens on 0.0.0.0. node:20-alpine (the seed's runner) has node and busybox wget but no curl."""
    url = f"http://127.0.0.1:{port}{path}"
    if tool == "node":
        probe = (f"fetch('{url}',{{signal:AbortSignal.timeout({timeout_seconds * 1000})}})"
                 f".then(r=>process.exit(r.status<{HEALTHY_BELOW}?0:1),()=>process.exit(1))" if path else
                 f"require('net').connect({port},'127.0.0.1').on('connect',()=>process.exit(0))"
                 ".on('error',()=>process.exit(1))")
        return ("CMD", "node", "-e", probe)
    if tool == "python":
        probe = (f"import sys,urllib.request as u; sys.exit(0 if u.urlopen('{url}',timeout={timeout_seconds}).status"
                 f"<{HEALTHY_BELOW} else 1)" if path else
                 f"import socket; socket.create_connection(('127.0.0.1',{port}),{timeout_seconds}).close()")
        return ("CMD", "python", "-c", probe)
    if not path:
        raise ValueError(f"the {tool} health check needs an HTTP path (a TCP check needs node or python)")
    if tool == "wget":
        return ("CMD", "wget", "-q", "-O", "/dev/null", "-T", str(timeout_seconds), url)
    return ("CMD", "curl", "-fsS", "-o", "/dev/null", "-m", str(timeout_seconds), url)


ROOT_USERS = ("0", "root")


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a task: the app itself, a sidecar next to it (FargateTaskArgs.sidecars), or the
    scratch-volume init container the task adds itself (volume_init_container)."""

    name: str
    """Container name (also the Service Connect discovery name and the ALB target's container)."""
    image: pulumi.Input[str]
    """Image URI, preferably by digest (Foundation.image_uri)."""
    port: int | None = None
    """Port the app listens on; None for a one-off task without one (and for every sidecar)."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain configuration. A name here must not also be in `secrets`."""
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    """Environment variable -> Secrets Manager secret; the execution role may read exactly these."""
    scratch_paths: tuple[str, ...] = ("/tmp",)
    """Writable task-local directories on the otherwise read-only root filesystem. Default /tmp."""
    command: tuple[str, ...] = ()
    """Overrides the image's CMD (one-off tasks); default: the image's."""
    health_check: HealthCheck | None = None
    """Container health check (a command the image can run); default none (one-off and batch tasks)."""
    stop_timeout: int = 30
    """Seconds between SIGTERM and SIGKILL (2-120 on Fargate); default 30 to finish in-flight requests."""
    user: str = NON_ROOT_USER
    """uid:gid the container runs as; default the seed's 1001:1001. Never root: a sidecar names its image's own
    unprivileged user (the ADOT collector's 4317:4317); only the volume-init container is root."""
    essential: bool = True
    """Whether the task stops when this container stops; default true (the app container must be). A sidecar whose
    crash must not take the app down sets false (its absence is alarmed instead)."""
    cpu: int | None = None
    """CPU units reserved for this container, its relative CPU weight when containers contend; default none (the app
    container: it uses whatever the others leave idle, with the lowest weight when they are busy too: ECS passes an
    unset value to Docker as 2 shares, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html;
    left unset because the Service Connect proxy ECS adds reserves none either, and a large app weight would starve
    it)."""
    memory: int | None = None
    """Hard memory limit in MiB (the container is killed above it); default none (only the task's limit)."""
    entry_point: tuple[str, ...] = ()
    """Overrides the image's ENTRYPOINT; default: the image's (only the volume-init container sets it: `chown`)."""
    kept_capabilities: tuple[str, ...] = ()
    """Docker default capabilities kept; default none (`drop ALL`). Only the volume-init container keeps CHOWN."""
    depends_on: tuple[str, ...] = ()
    """Containers that must exit 0 before this one starts (dependsOn SUCCESS); default none (the task sets it on the
    app container when a volume-init container runs first)."""
    restart_after_seconds: int | None = None
    """ECS restarts this container in place when it exits after running at least this many seconds (60-1800; an
    earlier exit leaves it stopped); default none (no restart policy). A non-essential sidecar needs one: ECS leaves
    a stopped non-essential container stopped for the rest of the task's life ("Restart policies are not enabled for
    containers by default", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-restart-policy.html)."""

    def __post_init__(self) -> None:
        overlap = set(self.environment) & set(self.secrets)
        if overlap:
            raise ValueError(f"{self.name}: {sorted(overlap)} are both environment and secrets")
        home = self.environment.get("HOME")
        if isinstance(home, str) and not any(home == path or home.startswith(path.rstrip("/") + "/")
                                             for path in self.scratch_paths):
            raise ValueError(f"{self.name}: HOME={home!r} is on the read-only root filesystem; use one of its "
                             f"scratch paths {list(self.scratch_paths)} (or leave HOME out: the first is the default)")
        if not 2 <= self.stop_timeout <= 120:
            raise ValueError(f"{self.name}: stop_timeout must be 2-120 seconds on Fargate")
        if self.restart_after_seconds is not None and not 60 <= self.restart_after_seconds <= 1800:
            # ContainerRestartPolicy: "a minimum restartAttemptPeriod of 60 seconds and a maximum ... of 1800 seconds"
            raise ValueError(f"{self.name}: restart_after_seconds must be 60-1800, got {self.restart_after_seconds}")
        for label, value in (("cpu", self.cpu), ("memory", self.memory)):
            if value is not None and value < 1:
                raise ValueError(f"{self.name}: {label} must be positive, got {value}")
        unknown = set(self.kept_capabilities) - set(DOCKER_DEFAULT_CAPABILITIES)
        if unknown:
            raise ValueError(f"{self.name}: {sorted(unknown)} are not Docker default capabilities (Fargate adds none)")
        # One exemption from "never root", mirrored by the pack's container-non-root rule: the init container's shape.
        root = any(part in ROOT_USERS for part in self.user.split(":"))
        if root or self.kept_capabilities or self.name.endswith(VOLUME_INIT_SUFFIX):
            problems = self.volume_init_problems()
            if problems:
                what = f"user {self.user!r} is root" if root else (
                    f"the suffix {VOLUME_INIT_SUFFIX} and kept capabilities are reserved for the volume-init container")
                raise ValueError(f"{self.name}: {what}; run as an unprivileged uid:gid ({'; '.join(problems)})")

    @property
    def runtime_environment(self) -> dict[str, pulumi.Input[str]]:
        """The environment the container starts with: its own, plus HOME on its first scratch path when it names
        none. Docker sets HOME from the user's passwd entry and to `/` for a uid without one ("HOME: Set based on
        the value of USER", https://docs.docker.com/reference/cli/docker/container/run/#env), and `/` is read-only
        here: a library writing `~/.cache` or `~/.config` would fail at its first write, in production only. The
        volume-init container gets none (it runs `chown` only, and its shape is exactly checked)."""
        if not self.scratch_paths or "HOME" in self.environment or self.name.endswith(VOLUME_INIT_SUFFIX):
            return dict(self.environment)
        return {"HOME": self.scratch_paths[0], **self.environment}

    def with_environment(self, **values: pulumi.Input[str]) -> ContainerSpec:
        """This container with `values` added to (or replacing the same names in) its plain environment; the pack's
        plaintext-secrets rule still judges every name and value at preview."""
        return replace(self, environment={**self.environment, **values})

    def volume_init_problems(self) -> list[str]:
        """Why this is not the scratch-volume init container (empty when it is): named <app>-volume-init, root, not
        essential, `chown <non-root uid:gid> <its mount paths>`, only CAP_CHOWN, no secrets, environment or port."""
        problems = []
        if not self.name.endswith(VOLUME_INIT_SUFFIX):
            problems.append(f"name does not end with {VOLUME_INIT_SUFFIX}")
        if self.essential:
            problems.append("it is essential")
        if self.entry_point != ("chown",) or len(self.command) < 2 \
                or any(part in ROOT_USERS for part in self.command[0].split(":")) \
                or tuple(self.command[1:]) != self.scratch_paths or not self.scratch_paths:
            problems.append("it does more than `chown <non-root uid> <its scratch paths>`")
        if self.kept_capabilities != ("CHOWN",):
            problems.append("it keeps capabilities other than CHOWN")
        if self.secrets or self.environment or self.port is not None:
            problems.append("it has secrets, environment or a port")
        return problems


def volume_init_container(app: ContainerSpec) -> ContainerSpec:
    """Root, CAP_CHOWN only, no secrets, no ports, read-only root filesystem: `chown <uid:gid> <scratch paths>` on the
    app container's empty task volumes, then exit 0 (the image's entrypoint is bypassed)."""
    return ContainerSpec(
        name=f"{app.name}{VOLUME_INIT_SUFFIX}", image=app.image, user="0", essential=False,
        entry_point=("chown",), command=(app.user, *app.scratch_paths), scratch_paths=app.scratch_paths,
        kept_capabilities=("CHOWN",))


@dataclass(frozen=True)
class FargateTaskArgs:
    """Inputs of FargateTask."""

    context: AwsContext
    """Account, partition and region."""
    container: ContainerSpec
    """The app container: essential, the one with the port, the health check and the scratch paths."""
    vpc_id: pulumi.Input[str]
    """VPC of the task's security group."""
    repository_arn: pulumi.Input[str]
    """The ECR repository the execution role may pull from (and no other): the foundation's, maybe in another
    account (its repository policy grants this environment's roles the pull)."""
    log_key: aws.kms.Key
    """CMK for the log group (EncryptionKeys.logs)."""
    size: TaskSize = field(default_factory=TaskSize)
    """CPU and memory; default 0.25 vCPU, 512 MiB (a FargateService uses its settings' size instead)."""
    log_retention_days: int = LOG_RETENTION_DAYS
    """Retention of the log group; default 365."""
    log_group: aws.cloudwatch.LogGroup | None = None
    """Log into an existing group (e.g. the migration into web's) instead of creating one; default: create."""
    log_stream_prefix: str = ""
    """awslogs stream prefix; default: the container name."""
    name_prefix: str = PROJECT
    """Prefix of the task family, log group and Name tags (maratron-prod-web)."""
    task_role_statements: Sequence[dict[str, Any]] = ()
    """IAM statements of the task role: what the application itself calls on AWS; default none."""
    enable_execute_command: bool = False
    """ECS Exec (a shell into running tasks): off by default; on adds the SSM channel permissions to the task role."""
    image_build_context: str = ""
    """The Dockerfile's directory (relative to the project) when this repository builds the image: its VOLUME and
    ownership lines are checked against the scratch paths when the task is defined. Default "": an image built
    elsewhere, whose scratch paths a root `chown` init container prepares (see the module docstring)."""
    ephemeral_storage_gib: int = FARGATE_EPHEMERAL_STORAGE_GIB
    """Task ephemeral storage (the scratch volumes live on it): 20 (the Fargate default, not sent) or 21-200 GiB."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): a replaced revision stays ACTIVE (the provider's skip_destroy) instead of being
    deregistered: the rollback runbook's emergency path points a service at the previous revision, and ECS refuses "to
    update an existing service to reference an INACTIVE task definition" (API DeregisterTaskDefinition); a revision
    costs nothing. destroy (dev): revisions are deregistered when replaced or destroyed, so `pulumi destroy` leaves
    none ACTIVE pointing at roles and secrets that are gone."""
    sidecars: Sequence[ContainerSpec] = ()
    """Containers next to the app container (e.g. the metrics collector, AppMetrics.collector): hardened like it,
    logging to the same group under their own stream prefix, serving no port, writing no scratch path. Default
    none."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        require_valid(self.size)
        if not self.container.essential or self.container.name.endswith(VOLUME_INIT_SUFFIX):
            raise ValueError(f"{self.container.name}: the app container is the task's essential container")
        names = [c.name for c in self.containers]
        if len(set(names)) != len(names):
            raise ValueError(f"container names must be unique within a task, got {names}")
        for sidecar in self.sidecars:
            if sidecar.port is not None:
                raise ValueError(f"{sidecar.name}: a sidecar serves no port (only the app container has one)")
            if sidecar.scratch_paths:
                raise ValueError(f"{sidecar.name}: a sidecar writes no scratch path (the volume-init container "
                                 "prepares the app container's only); set scratch_paths=()")
            if not sidecar.essential and sidecar.restart_after_seconds is None:
                # A stopped non-essential container stays stopped while the task runs on ("Restart policies are not
                # enabled for containers by default"): one task would go on unwatched. Fargate platform 1.4.0+.
                raise ValueError(f"{sidecar.name}: a non-essential sidecar needs restart_after_seconds (60-1800), or "
                                 "ECS leaves it stopped after a crash for the rest of the task's life")
        # ECS task definition parameters (Fargate): "the total amount of CPU reserved for all containers within a
        # task [must] be lower than the task-level cpu value", and ContainerDefinition.memory: "The total amount of
        # memory reserved for all containers within a task must be lower than the task memory value".
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html
        for label, reserved, total in (
                ("cpu", sum(c.cpu or 0 for c in self.containers), self.size.cpu),
                ("memory", sum(c.memory or 0 for c in self.containers), self.size.memory)):
            if reserved >= total:
                raise ValueError(f"containers reserve {reserved} {label} units of the task's {total}: ECS requires "
                                 f"the sum to be lower than the task's {label}")
        low, high = EPHEMERAL_STORAGE_GIB
        storage = self.ephemeral_storage_gib
        if storage != FARGATE_EPHEMERAL_STORAGE_GIB and not low <= storage <= high:
            raise ValueError(f"{self.container.name}: ephemeral_storage_gib must be {FARGATE_EPHEMERAL_STORAGE_GIB} "
                             f"(default) or {low}-{high}")
        if self.image_build_context and self.container.scratch_paths:
            problems = scratch_problems(Path(self.image_build_context) / "Dockerfile", self.container.scratch_paths,
                                        self.container.user, task=self.container.name,
                                        shown_as=f"{self.image_build_context.rstrip('/')}/Dockerfile")
            if problems:
                raise ValueError("\n".join(problems))

    @property
    def prepares_scratch_volumes(self) -> bool:
        """Whether an init container must chown the scratch volumes (an image this repository does not build)."""
        return bool(self.container.scratch_paths) and not self.image_build_context

    @property
    def containers(self) -> tuple[ContainerSpec, ...]:
        """Every container of the task in start order: the volume-init container (when the scratch volumes need
        one), the app container (waiting for it to succeed, Fargate platform 1.3.0+), then the sidecars."""
        if not self.prepares_scratch_volumes:
            return (self.container, *self.sidecars)
        init = volume_init_container(self.container)
        app = replace(self.container, depends_on=(*self.container.depends_on, init.name))
        return (init, app, *self.sidecars)


class FargateTask(pulumi.ComponentResource):
    """A task definition with its own roles, log group and security group."""

    task_definition: aws.ecs.TaskDefinition
    execution_role: aws.iam.Role
    execution_policy: aws.iam.RolePolicy
    task_role: aws.iam.Role
    task_policies: list[aws.iam.RolePolicy]
    """The task role's inline policies (what the app and its sidecars may call); a service starts tasks only once
    they exist."""
    log_group: aws.cloudwatch.LogGroup
    security_group: aws.ec2.SecurityGroup
    """No ingress unless granted; egress 443 anywhere plus what grants add (components/connections.py)."""

    def __init__(self, name: str, args: FargateTaskArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:app:FargateTask", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        container = args.container
        family = f"{args.name_prefix}-{name}"

        self.log_group = args.log_group or aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/{args.name_prefix}/ecs/{name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.log_key.arn,
            tags=self._tags("logs"),
            opts=child,
        )

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{family} tasks",
            tags=self._tags("sg"),
            opts=child,
        )
        # ECR, CloudWatch Logs and Secrets Manager (through endpoints or NAT) and third-party HTTPS APIs
        # (Anthropic, weather, Sentry) all speak 443; nothing else leaves the task unless a grant opens it.
        self._connections = Connections(self.security_group, label=name, default_port=container.port,
                                        traffic="HTTP", name_prefix=args.name_prefix, tags=args.tags)
        grant_to(self._connections, ANYWHERE, 443, name=f"{name}-to-https",
                 description="HTTPS to AWS APIs and third-party APIs", tags=self._tags("to-https"))

        trust = assume_role_policy("ecs-tasks.amazonaws.com", source_account=args.context.account_id)
        self.execution_role = aws.iam.Role(
            f"{name}-execution",
            description=f"ECS agent for {family}: pull its image, write its logs, read its secrets",
            assume_role_policy=trust,
            tags=self._tags("execution"),
            opts=child,
        )
        self.execution_policy = aws.iam.RolePolicy(
            f"{name}-execution",
            role=self.execution_role.id,
            policy=policy_json(self._execution_statements()),
            opts=pulumi.ResourceOptions(parent=self.execution_role),
        )
        self.task_role = aws.iam.Role(
            f"{name}-task",
            description=f"The {family} application itself: no AWS permissions unless listed here",
            assume_role_policy=trust,
            tags=self._tags("task"),
            opts=child,
        )
        self.task_policies = []
        if args.task_role_statements:
            self.task_policies.append(aws.iam.RolePolicy(
                f"{name}-task",
                role=self.task_role.id,
                policy=policy_json(list(args.task_role_statements)),
                opts=pulumi.ResourceOptions(parent=self.task_role),
            ))
        if args.enable_execute_command:
            self.task_policies.append(aws.iam.RolePolicy(
                f"{name}-task-exec",
                role=self.task_role.id,
                policy=policy_json([{
                    "Effect": "Allow",
                    "Action": list(ECS_EXEC_ACTIONS),
                    "Resource": "*",  # the SSM message channels have no resource ARNs
                }]),
                opts=pulumi.ResourceOptions(parent=self.task_role),
            ))

        self.task_definition = aws.ecs.TaskDefinition(
            name,
            family=family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(args.size.cpu),
            memory=str(args.size.memory),
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture="ARM64"),
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=_volume_name(path))
                     for path in dict.fromkeys(p for c in args.containers for p in c.scratch_paths)],
            ephemeral_storage=aws.ecs.TaskDefinitionEphemeralStorageArgs(size_in_gib=args.ephemeral_storage_gib)
            if args.ephemeral_storage_gib != FARGATE_EPHEMERAL_STORAGE_GIB else None,
            container_definitions=json_output([self._container_definition(c) for c in args.containers]),
            skip_destroy=retains(args.removal_policy),
            tags=self._tags("task"),
            opts=child,
        )
        self.register_outputs({"taskDefinitionArn": self.task_definition.arn,
                               "securityGroupId": self.security_group.id,
                               "logGroupName": self.log_group.name})

    # --- capabilities -------------------------------------------------------------------------------------------

    @property
    def connections(self) -> Connections:
        """The tasks as grant source and target: clients reach them on the container's port."""
        return self._connections

    def run_task_command(self, cluster_name: pulumi.Input[str],
                         subnet_ids: Sequence[pulumi.Input[str]]) -> pulumi.Output[str]:
        """The `aws ecs run-task` command that starts this task once (CI runs the migration with it: ops.run_task) in
        private subnets with its own security group, printing the task ARN and ECS's reasons when it could not
        start the task (`{"taskArn": ..., "failures": [...]}`: RunTask succeeds with an empty task list then).
        On-demand FARGATE, never the cluster's Spot default (a reclaim mid-migration is avoidable risk), on the
        pinned platform version. It names the task definition's family, not a revision: "If a revision isn't
        specified, the latest ACTIVE revision is used"
        (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html), so after a targeted update
        that registered only this task definition (ops/release.sh) the command runs that revision, even where
        the stack's outputs still hold the previous run."""
        region = self._args.context.region
        return pulumi.Output.all(
            cluster=cluster_name, task=self.task_definition.family, subnets=list(subnet_ids),
            group=self.security_group.id,
        ).apply(lambda o: (
            # --region: the stack's, whatever the shell has selected (a DR migration runs while the operator's
            # environment may still name the primary region; the CLI's parameter overrides AWS_REGION and profiles).
            f"aws ecs run-task --region {region} --cluster {o['cluster']} --task-definition {o['task']} "
            f"--capacity-provider-strategy capacityProvider=FARGATE,weight=1 "
            f"--platform-version {FARGATE_PLATFORM_VERSION} "
            "--network-configuration 'awsvpcConfiguration={subnets=[" + ",".join(o["subnets"]) + "],"
            f"securityGroups=[{o['group']}],assignPublicIp=DISABLED}}' --started-by pulumi-{self._name} "
            "--query '{taskArn: tasks[0].taskArn, failures: failures}' --output json"
        ))

    @property
    def container_name(self) -> str:
        return self._args.container.name

    @property
    def prepares_scratch_volumes(self) -> bool:
        """True when a root `chown` init container prepares the scratch volumes (image built elsewhere)."""
        return self._args.prepares_scratch_volumes

    # --- parts --------------------------------------------------------------------------------------------------

    def _tags(self, suffix: str) -> dict[str, str]:
        return named_tags(self._args.tags, f"{self._args.name_prefix}-{self._name}-{suffix}")

    def _execution_statements(self) -> list[dict[str, Any]]:
        args = self._args
        statements: list[dict[str, Any]] = [
            # The registry login token is account-wide; the API has no resource to scope it to.
            {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
            {"Effect": "Allow",
             "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
             "Resource": [args.repository_arn]},
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [self.log_group.arn.apply(lambda arn: f"{arn}:log-stream:*")]},
        ]
        seen: set[tuple[str, ...]] = set()
        for secret in [c.secrets[name] for c in args.containers for name in sorted(c.secrets)]:
            for statement in secret.read_statements():
                # Secrets sharing a CMK yield the same decrypt statement (same key Output): keep one of each.
                identity = (json.dumps(statement["Action"]), json.dumps(statement.get("Condition")),
                            *(str(id(resource)) for resource in statement["Resource"]))
                if identity not in seen:
                    seen.add(identity)
                    statements.append(statement)
        return statements

    def _stream_prefix(self, container: ContainerSpec) -> str:
        """awslogs stream prefix: the task's (default the app container's name) for the app, `<that>-init` for the
        volume-init container, a sidecar's own name for a sidecar."""
        app = self._args.log_stream_prefix or self._args.container.name
        if container.name == self._args.container.name:
            return app
        return f"{app}-init" if container.name.endswith(VOLUME_INIT_SUFFIX) else container.name

    def _container_definition(self, container: ContainerSpec) -> dict[str, Any]:
        """One container definition, the same hardening for every container of the task (module docstring)."""
        definition: dict[str, Any] = {
            "name": container.name,
            "image": container.image,
            "essential": container.essential,
            "user": container.user,
            "readonlyRootFilesystem": True,
            "privileged": False,
            "linuxParameters": {
                "capabilities": {"add": [], "drop": [c for c in DOCKER_DEFAULT_CAPABILITIES
                                                     if c not in container.kept_capabilities]
                                 if container.kept_capabilities else ["ALL"]},
                "initProcessEnabled": True},
            "environment": [{"name": k, "value": v} for k, v in sorted(container.runtime_environment.items())],
            "secrets": [{"name": k, "valueFrom": container.secrets[k].value_from} for k in sorted(container.secrets)],
            "mountPoints": [{"sourceVolume": _volume_name(path), "containerPath": path, "readOnly": False}
                            for path in container.scratch_paths],
            "stopTimeout": container.stop_timeout,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": self.log_group.name,
                    "awslogs-region": self._args.context.region,
                    "awslogs-stream-prefix": self._stream_prefix(container),
                    # Never block the app on CloudWatch; buffer up to 25 MiB and drop beyond that.
                    "mode": "non-blocking",
                    "max-buffer-size": "25m",
                },
            },
        }
        if container.cpu is not None:
            definition["cpu"] = container.cpu
        if container.memory is not None:
            definition["memory"] = container.memory
        if container.port is not None:
            definition["portMappings"] = [{"name": "http", "containerPort": container.port, "protocol": "tcp",
                                           "appProtocol": "http"}]
        if container.health_check is not None:
            definition["healthCheck"] = container.health_check.definition()
        if container.entry_point:
            definition["entryPoint"] = list(container.entry_point)
        if container.command:
            definition["command"] = list(container.command)
        if container.depends_on:
            definition["dependsOn"] = [{"containerName": name, "condition": "SUCCESS"}
                                       for name in container.depends_on]
        if container.restart_after_seconds is not None:
            definition["restartPolicy"] = {"enabled": True, "restartAttemptPeriod": container.restart_after_seconds}
        return definition


def _volume_name(path: str) -> str:
    """/app/.next/cache -> scratch-app-next-cache."""
    slug = "-".join(part.strip(".") for part in path.strip("/").split("/") if part.strip("."))
    return f"scratch-{slug or 'root'}"
