"""A long-running Fargate service: a FargateTask, the ECS service that keeps it running, and its autoscaling.

Used for `web` (Next.js, behind the ALB) and `ai` (the Python AI server, reachable only from web through Service
Connect). Deployments are rolling (100% healthy minimum, 200% maximum: new tasks start before old ones stop) with the
deployment circuit breaker rolling a failing deployment back to the last good task definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import pulumi
import pulumi_aws as aws

from components.base import SecretRef, named_tags
from components.cluster import Cluster
from components.connection_budget import DEPLOYMENT_MAXIMUM_PERCENT
from components.connections import Connections
from components.settings import Rules, require_valid, section, setting
from components.task import FargateTask, FargateTaskArgs, TaskSize


@dataclass(frozen=True)
class LoadBalancerAttachment:
    """Registers the service's tasks in an ALB target group."""

    target_group_arn: pulumi.Input[str]
    """Target group (target type ip) the tasks register in."""
    target_group_arn_suffix: pulumi.Input[str]
    """`targetgroup/...` suffix, for the ALBRequestCountPerTarget scaling metric."""
    load_balancer_arn_suffix: pulumi.Input[str]
    """`app/...` suffix of the ALB, for the same metric."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The listener(s) forwarding to the target group: ECS rejects a target group no load balancer uses yet."""
    health_check_grace_period_seconds: int = 60
    """Seconds ECS ignores failing ALB health checks after a task starts; default 60 (> the 40 s start period)."""


@dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """The configurable part of one service: task size and task counts. Keys are prefixed with the service (webCpu,
    webDesiredCount, ...); the stack declares one section per service, with that service's defaults."""

    size: TaskSize = section(TaskSize)
    desired_count: int = setting(
        "desiredCount", 1, "{title} tasks at creation and the autoscaling minimum (prod needs at least 2).",
        minimum=1, maximum=100)
    max_count: int = setting(
        "maxCount", 1, "Autoscaling maximum of {title} tasks (at least {prefix}DesiredCount).", minimum=1, maximum=100)

    def validate(self, rules: Rules) -> None:
        if self.max_count < self.desired_count:
            rules.problem("max_count", f"must be at least {rules.key('desired_count')} ({self.desired_count})",
                          also=["desired_count"])


@dataclass(frozen=True)
class FargateServiceArgs:
    """Inputs of FargateService."""

    task: FargateTaskArgs
    """The task to run (container, roles, logs); its size is `settings.size`."""
    cluster: Cluster
    """Cluster, capacity provider strategy and Service Connect namespace."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private app subnets (no public IPs are ever assigned)."""
    settings: ServiceSettings = field(default_factory=ServiceSettings)
    """Task size and counts; default one 0.25 vCPU task."""
    service_connect_server: bool = False
    """Publish the container port in the namespace as http://<container name>:<port> (ai). Default false: a client
    only (web), which can call servers but is not reachable through Service Connect itself."""
    load_balancer: LoadBalancerAttachment | None = None
    """ALB target group to register in; default none (internal service)."""
    cpu_target_percent: int = 60
    """Target-tracking goal for average CPU; default 60% leaves headroom while new tasks start."""
    memory_target_percent: int = 75
    """Target-tracking goal for average memory; default 75%."""
    requests_per_target: int = 500
    """Target-tracking goal for ALB requests per task per minute (only with a load balancer); default 500."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the service and the scaling target."""

    def __post_init__(self) -> None:
        require_valid(self.settings)
        if self.service_connect_server and self.task.container.port is None:
            raise ValueError(f"{self.task.container.name}: a Service Connect server needs a container port")


class FargateService(pulumi.ComponentResource):
    """An ECS service on Fargate with its own roles, security group, logs and target-tracking autoscaling."""

    task: FargateTask
    service: aws.ecs.Service
    scaling_target: aws.appautoscaling.Target

    def __init__(self, name: str, args: FargateServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:app:FargateService", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        container = args.task.container
        self.task = FargateTask(name, replace(args.task, size=args.settings.size), opts=child)

        namespace = args.cluster.namespace.arn
        service_connect = aws.ecs.ServiceServiceConnectConfigurationArgs(
            enabled=True,
            namespace=namespace,
            services=[aws.ecs.ServiceServiceConnectConfigurationServiceArgs(
                port_name="http",
                discovery_name=container.name,
                client_alias=[aws.ecs.ServiceServiceConnectConfigurationServiceClientAliasArgs(
                    port=container.port or 0, dns_name=container.name)],
            )] if args.service_connect_server else None,
            # The Service Connect proxy logs next to the app, under its own stream prefix.
            log_configuration=aws.ecs.ServiceServiceConnectConfigurationLogConfigurationArgs(
                log_driver="awslogs",
                options={"awslogs-group": self.task.log_group.name, "awslogs-region": args.task.context.region,
                         "awslogs-stream-prefix": "service-connect", "mode": "non-blocking"},
            ),
        )
        lb = args.load_balancer
        self.service = aws.ecs.Service(
            name,
            name=name,
            cluster=args.cluster.cluster.arn,
            task_definition=self.task.task_definition.arn,
            desired_count=args.settings.desired_count,
            capacity_provider_strategies=args.cluster.capacity_provider_strategy,
            platform_version="LATEST",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=list(args.subnet_ids),
                security_groups=[self.task.security_group.id],
                assign_public_ip=False,
            ),
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=DEPLOYMENT_MAXIMUM_PERCENT,  # the connection budget counts this surge
            availability_zone_rebalancing="ENABLED",
            load_balancers=[aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=lb.target_group_arn, container_name=container.name,
                container_port=container.port or 0)] if lb else None,
            health_check_grace_period_seconds=lb.health_check_grace_period_seconds if lb else None,
            service_connect_configuration=service_connect,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            enable_execute_command=args.task.enable_execute_command,
            # `pulumi up` returns once ECS accepted the deployment. The circuit breaker owns success or rollback;
            # waiting here would hold the update (and its state lock) for up to the deployment's full duration and
            # fail a first deploy whose image or migrations are not in place yet. CI waits with
            # `aws ecs wait services-stable` when it needs to.
            wait_for_steady_state=False,
            tags=named_tags(args.tags, f"{args.task.name_prefix}-{name}"),
            opts=pulumi.ResourceOptions(
                parent=self,
                # Autoscaling owns the task count after creation. Without this, every `pulumi up` (e.g. a new image)
                # would reset a service scaled out under load back to desired_count, dropping capacity mid-peak.
                ignore_changes=["desiredCount"],
                # The capacity providers must be associated first; the execution policy must outlive the service,
                # or its tasks cannot stop cleanly on delete (the service hangs in DRAINING).
                depends_on=[args.cluster.capacity_providers, self.task.execution_policy,
                            *(lb.depends_on if lb else ())],
            ),
        )
        self.scaling_target = self._autoscaling()
        self.register_outputs({"serviceName": self.service.name, "securityGroupId": self.security_group.id})

    # --- capabilities -------------------------------------------------------------------------------------------

    @property
    def security_group(self) -> aws.ec2.SecurityGroup:
        return self.task.security_group

    @property
    def log_group(self) -> aws.cloudwatch.LogGroup:
        return self.task.log_group

    @property
    def secrets(self) -> Mapping[str, SecretRef]:
        """Environment variable -> secret its tasks read (what a change of must redeploy it)."""
        return self._args.task.container.secrets

    @property
    def port(self) -> int | None:
        return self._args.task.container.port

    @property
    def url(self) -> str:
        """The Service Connect URL clients in the namespace use, e.g. http://ai:8000."""
        if not self._args.service_connect_server:
            raise ValueError(f"{self._name} is not a Service Connect server")
        return f"http://{self._args.task.container.name}:{self.port}"

    @property
    def connections(self) -> Connections:
        """The service's tasks, for grants (`grant(load_balancer, web)`, `grant(web, ai)`)."""
        return self.task.connections

    # --- parts --------------------------------------------------------------------------------------------------

    def _autoscaling(self) -> aws.appautoscaling.Target:
        args = self._args
        target = aws.appautoscaling.Target(
            self._name,
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster.cluster.name, "/", self.service.name),
            min_capacity=args.settings.desired_count,
            max_capacity=args.settings.max_count,
            tags=named_tags(args.tags, f"{args.task.name_prefix}-{self._name}"),
            opts=pulumi.ResourceOptions(parent=self.service),
        )
        goals: list[tuple[str, str, int, pulumi.Input[str] | None]] = [
            ("cpu", "ECSServiceAverageCPUUtilization", args.cpu_target_percent, None),
            ("memory", "ECSServiceAverageMemoryUtilization", args.memory_target_percent, None),
        ]
        if args.load_balancer is not None:
            lb = args.load_balancer
            goals.append(("requests", "ALBRequestCountPerTarget", args.requests_per_target,
                          pulumi.Output.concat(lb.load_balancer_arn_suffix, "/", lb.target_group_arn_suffix)))
        tracking = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs
        predefined = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs
        for suffix, metric, value, label in goals:
            aws.appautoscaling.Policy(
                f"{self._name}-{suffix}",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=tracking(
                    target_value=value,
                    predefined_metric_specification=predefined(predefined_metric_type=metric, resource_label=label),
                    scale_out_cooldown=60,  # add capacity quickly
                    scale_in_cooldown=300,  # remove it slowly, so a dip between bursts does not flap
                ),
                opts=pulumi.ResourceOptions(parent=target),
            )
        return target
