"""A long-running Fargate service: a FargateTask, the ECS service that keeps it running, and its autoscaling.

Used for `web` (Next.js, behind the ALB) and `ai` (the Python AI server, reachable only from web through Service
Connect). Deployments are rolling (100% healthy minimum, 200% maximum: new tasks start before old ones stop) with the
deployment circuit breaker rolling a failing deployment back to the last good task definition.

A deployment that never becomes healthy fails `pulumi up`: every service waits for steady state
(`wait_for_steady_state`, "like `aws ecs wait services-stable`", pulumi-aws ecs.Service) within a bounded
create/update timeout (DEPLOY_TIMEOUT). On a first deploy a task that cannot pull its image or never passes its
health check keeps the service below its desired count until that timeout fails the update. On a later update the
circuit breaker may roll back first, and the provider then reports success (pulumi/pulumi-aws#4487): the release gate
after `pulumi up` is `python -m ops.verify --only 'ecs.*'`, which fails unless each service runs the task definition
this update registered (docs/runbooks/deploy.md). `aws ecs wait services-stable` is no gate: it succeeds after a
rollback (its criterion is one deployment with running == desired,
https://docs.aws.amazon.com/cli/latest/reference/ecs/wait/services-stable.html).
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
from components.constants import FARGATE_PLATFORM_VERSION, HEALTH_CHECK_PATH
from components.observability import ServiceWatch
from components.settings import Rules, require_valid, section, setting
from components.task import FargateTask, FargateTaskArgs, HealthCheck, HealthCheckTool, TaskSize, health_check_command

DEPLOY_TIMEOUT = "20m"
"""Create/update timeout of every service, i.e. how long `pulumi up` waits for steady state before failing. Worst
healthy case: image pull (~1 min) + start period 40 s + ALB healthy threshold 2 x 30 s, per wave, plus draining the
old tasks for up to the deregistration delay (300 s): ~8 minutes; a failing first deploy needs the circuit breaker's
3 failed tasks x ~4 min. 20 minutes covers both. Web waits for ai, so an `up` can wait twice this, and the release
job must hold that on top of a first deploy's data tier or a migration (tests/test_workflows.py adds it up)."""
SERVICE_CONNECT_IDLE_MARGIN_SECONDS = 60
"""How much longer a Service Connect hop keeps an idle connection than the edge in front of it: the edge, never an
inner hop, decides when a quiet stream ends (an inner hop closing first turns into a 502 at the ALB)."""


@dataclass(frozen=True)
class ServiceConnectTimeout:
    """Envoy's timeouts on a Service Connect server (API_TimeoutConfiguration,
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TimeoutConfiguration.html). Unset, HTTP gets a
    15 s per-request and a 5 min idle timeout: a streamed AI answer is cut after 15 s."""

    per_request_seconds: int
    """Time for the upstream to send a complete response; 0 disables the limit (streams end when they end)."""
    idle_seconds: int
    """Time a connection may stay idle; "If idleTimeout is set to a time that is less than perRequestTimeout, the
    connection will close when the idleTimeout is reached" (same page)."""

    @staticmethod
    def behind_edge(edge_timeout_seconds: int, per_request_seconds: int = 0) -> ServiceConnectTimeout:
        """Timeouts no shorter than the edge in front: per-request 0 or as given (callers check it covers the edge),
        idle the edge's idle timeout plus SERVICE_CONNECT_IDLE_MARGIN_SECONDS."""
        return ServiceConnectTimeout(per_request_seconds=per_request_seconds,
                                     idle_seconds=edge_timeout_seconds + SERVICE_CONNECT_IDLE_MARGIN_SECONDS)

    def covers(self, edge_timeout_seconds: int) -> bool:
        """No shorter than the edge: per-request 0 (off) or >= the edge's timeout, and idle >= it (0 = off)."""
        per_request_ok = self.per_request_seconds == 0 or self.per_request_seconds >= edge_timeout_seconds
        idle_ok = self.idle_seconds == 0 or self.idle_seconds >= edge_timeout_seconds
        return per_request_ok and idle_ok


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


def _check_health_path(value: str) -> str | None:
    if not value or (value.startswith("/") and " " not in value):
        return None
    return "must be empty or an absolute path such as /api/health"


@dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """The configurable part of one service: task size and task counts. Keys are prefixed with the service (webCpu,
    webDesiredCount, ...); the stack declares one section per service, with that service's defaults."""

    size: TaskSize = section(TaskSize)
    desired_count: int = setting(
        "desiredCount", 1, "{title} tasks at creation and the autoscaling minimum (prod needs at least 2).",
        minimum=1, maximum=100)
    max_count: int = setting(
        "maxCount", 1, "Autoscaling maximum of {title} tasks (at least {prefix}DesiredCount; equal to it: no "
        "autoscaling, the service runs {prefix}DesiredCount tasks).", minimum=1, maximum=100)
    health_check_tool: HealthCheckTool = setting(
        "healthCheckTool", "node", "Binary the {title} container health check runs inside the image: node, python, "
        "wget or curl. ECS runs the command in the container, so it must exist there (node:20-alpine has node and "
        "wget, no curl).")
    health_check_path: str = setting(
        "healthCheckPath", HEALTH_CHECK_PATH, "HTTP path the {title} health check GETs on 127.0.0.1 (2xx/3xx = "
        "healthy; keep it a liveness check without database calls), or \"\" for a TCP connect to the port (node or "
        "python only).", check=_check_health_path)

    def validate(self, rules: Rules) -> None:
        if self.max_count < self.desired_count:
            rules.problem("max_count", f"must be at least {rules.key('desired_count')} ({self.desired_count})",
                          also=["desired_count"])
        if not self.health_check_path and self.health_check_tool in ("wget", "curl"):
            rules.problem("health_check_path", f"must be an HTTP path with {rules.key('health_check_tool')} "
                          f"{self.health_check_tool} (a TCP check needs node or python)", also=["health_check_tool"])

    def health_check(self, port: int) -> HealthCheck:
        """The container health check for a service listening on `port`, with the seed's timings."""
        return HealthCheck(health_check_command(self.health_check_tool, port, self.health_check_path))


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
    service_connect_timeout: ServiceConnectTimeout | None = None
    """Envoy timeouts of a Service Connect server; required with service_connect_server (AWS's 15 s per-request
    default cuts streamed answers): ServiceConnectTimeout.behind_edge(<edge timeout>)."""
    upstreams: Sequence[FargateService] = ()
    """Service Connect servers this service calls (web: ai). Its ECS service is created after theirs: "Existing tasks
    can't resolve and connect to the new endpoint. Only new tasks ... that start running after this deployment can
    resolve and connect to this endpoint." (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/
    service-connect-concepts-deploy.html). Default none."""
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
        if self.service_connect_server and self.service_connect_timeout is None:
            raise ValueError(f"{self.task.container.name}: a Service Connect server needs service_connect_timeout "
                             "(the 15 s per-request default cuts streamed responses)")
        for upstream in self.upstreams:
            if not upstream._args.service_connect_server:
                raise ValueError(f"{upstream._name} is not a Service Connect server: nothing to call")


class FargateService(pulumi.ComponentResource):
    """An ECS service on Fargate with its own roles, security group, logs and target-tracking autoscaling."""

    task: FargateTask
    service: aws.ecs.Service
    scaling_target: aws.appautoscaling.Target | None
    """None when the settings leave nothing to scale (max_count == desired_count)."""

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
                timeout=aws.ecs.ServiceServiceConnectConfigurationServiceTimeoutArgs(
                    per_request_timeout_seconds=args.service_connect_timeout.per_request_seconds,
                    idle_timeout_seconds=args.service_connect_timeout.idle_seconds,
                ) if args.service_connect_timeout else None,
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
            # UpdateService refuses a new capacity provider strategy (fargateSpot flipped) without a forced
            # deployment, and the provider fails the plan without it (pulumi-aws ecs.Service: "Updating this argument
            # requires force_new_deployment = true"). It only acts when the service is updated, which a new task
            # definition rolls out anyway; tags and the ignored desired count do not call UpdateService.
            force_new_deployment=True,
            platform_version=FARGATE_PLATFORM_VERSION,  # explicit: Spot runs ARM64 only on 1.4.0+
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
            # A deployment whose tasks never become healthy fails `pulumi up` (bounded by DEPLOY_TIMEOUT) instead of
            # reporting success with nothing running; see the module docstring for rollbacks.
            wait_for_steady_state=True,
            tags=named_tags(args.tags, f"{args.task.name_prefix}-{name}"),
            opts=pulumi.ResourceOptions(
                parent=self,
                # Autoscaling owns the task count after creation. Without this, every `pulumi up` (e.g. a new image)
                # would reset a service scaled out under load back to desired_count, dropping capacity mid-peak.
                # A service without autoscaling keeps its count as configured.
                ignore_changes=["desiredCount"] if self._autoscaled else [],
                # The capacity providers must be associated first; the execution policy must outlive the service,
                # or its tasks cannot stop cleanly on delete (the service hangs in DRAINING); the task role's
                # policies must exist before the first task calls AWS (the collector's remote writes answered 403
                # are dropped, not retried).
                depends_on=[args.cluster.capacity_providers, self.task.execution_policy, *self.task.task_policies,
                            *(lb.depends_on if lb else ()), *(upstream.service for upstream in args.upstreams)],
                custom_timeouts=pulumi.CustomTimeouts(create=DEPLOY_TIMEOUT, update=DEPLOY_TIMEOUT,
                                                      delete=DEPLOY_TIMEOUT),
            ),
        )
        self.scaling_target = self._autoscaling() if self._autoscaled else None
        self.saved_queries = self._saved_queries(name)
        self.register_outputs({"serviceName": self.service.name, "securityGroupId": self.security_group.id})

    def _saved_queries(self, name: str) -> list[aws.cloudwatch.QueryDefinition]:
        """The seed's Kibana searches as saved Logs Insights queries (free), in a folder per service: the errors
        (winston's JSON `level`, or any line saying error) and the slowest requests the app logs with a duration."""
        folder = f"{self._args.task.name_prefix}/{name}"
        group = [self.task.log_group.name]
        child = pulumi.ResourceOptions(parent=self)
        return [
            aws.cloudwatch.QueryDefinition(
                f"{name}-errors", name=f"{folder}/errors", log_group_names=group, opts=child,
                query_string="fields @timestamp, level, message, @logStream\n"
                             "| filter level = 'error' or @message like /(?i)error/\n"
                             "| sort @timestamp desc\n| limit 200"),
            aws.cloudwatch.QueryDefinition(
                f"{name}-slowest", name=f"{folder}/slowest-requests", log_group_names=group, opts=child,
                query_string="fields @timestamp, method, path, status, duration\n"
                             "| filter ispresent(duration)\n| sort duration desc\n| limit 50"),
        ]

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
    def url(self) -> pulumi.Output[str]:
        """The Service Connect URL clients in the namespace use, e.g. http://ai:8000. An Output of the service, so
        whatever embeds it (a client's task definition) is created after the endpoint exists."""
        if not self._args.service_connect_server:
            raise ValueError(f"{self._name} is not a Service Connect server")
        url = f"http://{self._args.task.container.name}:{self.port}"
        return self.service.name.apply(lambda _: url)

    @property
    def task_definition_arn(self) -> pulumi.Output[str]:
        """The task definition this update deploys (the release gate compares the running service against it)."""
        return self.task.task_definition.arn

    @property
    def watch(self) -> ServiceWatch:
        """What Observability alarms on: this service in its cluster."""
        return ServiceWatch(self._args.cluster.cluster.name, self.service.name, self.service,
                            task_counts=self._args.cluster.container_insights != "disabled")

    @property
    def connections(self) -> Connections:
        """The service's tasks, for grants (`grant(load_balancer, web)`, `grant(web, ai)`)."""
        return self.task.connections

    # --- parts --------------------------------------------------------------------------------------------------

    @property
    def _autoscaled(self) -> bool:
        """Whether the service gets a scalable target and its policies: not when there is nothing to scale between
        (max_count == desired_count). A target-tracking policy costs two CloudWatch alarms a month (offline/cost.py),
        for no scaling at all there."""
        return self._args.settings.max_count > self._args.settings.desired_count

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
