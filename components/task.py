"""A hardened Fargate task: task definition, execution and task roles, log group and security group.

Used by FargateService (long-running `web` and `ai`) and on its own for one-off tasks (the DB migration). Every
container it defines, the app container and any sidecar (the metrics collector) alike:

* runs as an unprivileged user (the seed's uid/gid 1001; a sidecar as its image's own user), never root, never
  privileged, with every Linux capability dropped and an init process (tini) reaping zombies and forwarding SIGTERM;
* has a read-only root filesystem; the paths the app must write (`/tmp`, Next.js' `.next/cache`) are task-local
  scratch volumes. Fargate creates those root-owned 0755 unless the image declares them: the app's Dockerfile must
  `mkdir` + `chown 1001:1001` each path and list it in `VOLUME` (ECS then copies the image's directory, ownership
  included, into the volume);
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
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, SecretRef, assume_role_policy, named_tags, policy_json
from components.connections import Connections
from components.constants import HEALTH_CHECK_PATH, LOG_RETENTION_DAYS, NON_ROOT_USER, PROJECT
from components.settings import Rules, require_valid, setting

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

ROOT_USERS = ("0", "root")


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a task: the app itself, or a sidecar next to it (FargateTaskArgs.sidecars)."""

    name: str
    """Container name (also the Service Connect discovery name and the ALB target's container)."""
    image: pulumi.Input[str]
    """Image URI, preferably by digest (ImageRepository.image_uri)."""
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
    health_check: bool = True
    """The seed's `curl -f http://localhost:<port>/api/health` check (needs `port` and curl in the image), or
    `health_command` when given."""
    health_command: tuple[str, ...] = ()
    """An exec-form health check (`("CMD", "/healthcheck")`) in place of the curl check; default none."""
    stop_timeout: int = 30
    """Seconds between SIGTERM and SIGKILL (2-120 on Fargate); default 30 to finish in-flight requests."""
    user: str = NON_ROOT_USER
    """uid:gid the container runs as; default the seed's 1001:1001. Never root: a sidecar names its image's own
    unprivileged user (the ADOT collector's 4317:4317)."""
    essential: bool = True
    """Whether the task stops when this container stops; default true. A sidecar whose crash must not take the app
    down sets false (its absence is alarmed instead)."""
    cpu: int | None = None
    """CPU units reserved for this container; default none (the app container shares what the task has left)."""
    memory: int | None = None
    """Hard memory limit in MiB (the container is killed above it); default none (only the task's limit)."""

    def __post_init__(self) -> None:
        overlap = set(self.environment) & set(self.secrets)
        if overlap:
            raise ValueError(f"{self.name}: {sorted(overlap)} are both environment and secrets")
        if self.health_check and self.port is None and not self.health_command:
            raise ValueError(f"{self.name}: a health check needs a port or a health_command")
        if not 2 <= self.stop_timeout <= 120:
            raise ValueError(f"{self.name}: stop_timeout must be 2-120 seconds on Fargate")
        if self.user.split(":")[0] in ROOT_USERS or (":" in self.user and self.user.split(":")[1] in ROOT_USERS):
            raise ValueError(f"{self.name}: user {self.user!r} is root; run as an unprivileged uid:gid")
        for label, value in (("cpu", self.cpu), ("memory", self.memory)):
            if value is not None and value < 1:
                raise ValueError(f"{self.name}: {label} must be positive, got {value}")


@dataclass(frozen=True)
class FargateTaskArgs:
    """Inputs of FargateTask."""

    context: AwsContext
    """Account, partition and region."""
    container: ContainerSpec
    """The task's container."""
    vpc_id: pulumi.Input[str]
    """VPC of the task's security group."""
    repository: aws.ecr.Repository
    """The ECR repository the execution role may pull from (and no other)."""
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
    sidecars: Sequence[ContainerSpec] = ()
    """Containers next to the app container (e.g. the metrics collector, AppMetrics.collector): hardened like it,
    logging to the same group under their own stream prefix, serving no port. Default none."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        require_valid(self.size)
        names = [c.name for c in self.containers]
        if len(set(names)) != len(names):
            raise ValueError(f"container names must be unique within a task, got {names}")
        for sidecar in self.sidecars:
            if sidecar.port is not None:
                raise ValueError(f"{sidecar.name}: a sidecar serves no port (only the app container has one)")
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

    @property
    def containers(self) -> tuple[ContainerSpec, ...]:
        """The app container first, then the sidecars."""
        return (self.container, *self.sidecars)


class FargateTask(pulumi.ComponentResource):
    """A task definition with its own roles, log group and security group."""

    task_definition: aws.ecs.TaskDefinition
    execution_role: aws.iam.Role
    execution_policy: aws.iam.RolePolicy
    task_role: aws.iam.Role
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
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-to-https",
            security_group_id=self.security_group.id,
            description="HTTPS to AWS APIs and third-party APIs",
            ip_protocol="tcp", from_port=443, to_port=443,
            cidr_ipv4="0.0.0.0/0",
            tags=self._tags("to-https"),
            opts=pulumi.ResourceOptions(parent=self.security_group),
        )

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
        if args.task_role_statements:
            aws.iam.RolePolicy(
                f"{name}-task",
                role=self.task_role.id,
                policy=policy_json(list(args.task_role_statements)),
                opts=pulumi.ResourceOptions(parent=self.task_role),
            )
        if args.enable_execute_command:
            aws.iam.RolePolicy(
                f"{name}-task-exec",
                role=self.task_role.id,
                policy=policy_json([{
                    "Effect": "Allow",
                    "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                               "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
                    "Resource": "*",  # the SSM message channels have no resource ARNs
                }]),
                opts=pulumi.ResourceOptions(parent=self.task_role),
            )

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
            container_definitions=pulumi.Output.json_dumps(
                [self._container_definition(c, main=c is container) for c in args.containers]),
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
        """The `aws ecs run-task` command that starts this task once (CI runs the migration with it) in private
        subnets with its own security group, printing the task ARN. The cluster's default capacity provider
        strategy applies (no --launch-type)."""
        return pulumi.Output.all(
            cluster=cluster_name, task=self.task_definition.arn, subnets=list(subnet_ids), group=self.security_group.id,
        ).apply(lambda o: (
            f"aws ecs run-task --cluster {o['cluster']} --task-definition {o['task']} "
            "--network-configuration 'awsvpcConfiguration={subnets=[" + ",".join(o["subnets"]) + "],"
            f"securityGroups=[{o['group']}],assignPublicIp=DISABLED}}' --started-by pulumi-{self._name} "
            "--query 'tasks[0].taskArn' --output text"
        ))

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
             "Resource": [args.repository.arn]},
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [self.log_group.arn.apply(lambda arn: f"{arn}:log-stream:*")]},
        ]
        seen: set[tuple[str, ...]] = set()
        secrets = [c.secrets[name] for c in args.containers for name in sorted(c.secrets)]
        for secret in secrets:
            for statement in secret.read_statements():
                # Secrets sharing a CMK yield the same decrypt statement (same key Output): keep one of each.
                identity = (json.dumps(statement["Action"]), json.dumps(statement.get("Condition")),
                            *(str(id(resource)) for resource in statement["Resource"]))
                if identity not in seen:
                    seen.add(identity)
                    statements.append(statement)
        return statements

    def _container_definition(self, container: ContainerSpec, *, main: bool) -> dict[str, Any]:
        args = self._args
        definition: dict[str, Any] = {
            "name": container.name,
            "image": container.image,
            "essential": container.essential,
            "user": container.user,
            "readonlyRootFilesystem": True,
            "privileged": False,
            "linuxParameters": {"capabilities": {"add": [], "drop": ["ALL"]}, "initProcessEnabled": True},
            "environment": [{"name": k, "value": container.environment[k]} for k in sorted(container.environment)],
            "secrets": [{"name": k, "valueFrom": container.secrets[k].arn} for k in sorted(container.secrets)],
            "mountPoints": [{"sourceVolume": _volume_name(path), "containerPath": path, "readOnly": False}
                            for path in container.scratch_paths],
            "stopTimeout": container.stop_timeout,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": self.log_group.name,
                    "awslogs-region": args.context.region,
                    "awslogs-stream-prefix": (args.log_stream_prefix if main else "") or container.name,
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
        if container.health_check and container.health_command:
            definition["healthCheck"] = {"command": list(container.health_command), "interval": 30, "timeout": 5,
                                         "retries": 3, "startPeriod": 30}
        elif container.health_check:
            definition["healthCheck"] = {
                "command": ["CMD-SHELL", f"curl -f http://localhost:{container.port}{HEALTH_CHECK_PATH} || exit 1"],
                "interval": 30, "timeout": 10, "retries": 3, "startPeriod": 40,
            }
        if container.command:
            definition["command"] = list(container.command)
        return definition


def _volume_name(path: str) -> str:
    """/app/.next/cache -> scratch-app-next-cache."""
    slug = "-".join(part.strip(".") for part in path.strip("/").split("/") if part.strip("."))
    return f"scratch-{slug or 'root'}"
