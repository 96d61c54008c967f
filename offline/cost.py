"""Estimated monthly cost of a stack from its own registered resources: `python -m offline.cost prod`.

Method: every custom resource the program registers (offline.engine.run_stack) is priced from the dated list-price
table in offline/pricing/ (on-demand, USD, free tiers ignored) for 730 hours a month. What a resource costs depends
on its inputs (instance class, Multi-AZ, desired task count, subnets of an interface endpoint ...); what it costs
by *use* (GB through a NAT gateway, requests through WAF, log volume, stored objects) comes from ASSUMPTIONS below,
one record per environment, and every such line is marked `assumed`. Types that cost nothing by themselves (VPC,
subnets, IAM, aliases, ...) are listed in FREE_TYPES; any other type is reported as "not priced", never silently
dropped.

Lines fall in three categories:
- capacity: what serves users and holds data — Fargate tasks, the load balancer in front of them, RDS instances and
  storage, ElastiCache nodes, S3, ECR images;
- overhead: the fixed monthly charges of what the platform costs around that capacity, as the target names it — NAT
  gateways (and their public IPv4), VPC endpoints, WAF web ACLs and rules, KMS keys, secrets, alarms, dashboards, DNS
  zones, RDS Proxy, S3 replication metrics and the copies it keeps in the DR region (replica buckets, replicated
  RDS backups: "replication" in the target's list), KMS keys' rotation charges, Container Insights' metrics,
  CloudFront's additional-metrics subscription, the runs of scheduled tasks
  (backup job, restore drill: a fixed schedule, an assumed duration per run) and the metrics collectors (the share of
  each task's Fargate size reserved for its ADOT sidecar, moved out of capacity: the bill is the same);
- usage: what grows with traffic or data rather than with the design (the lead's definition: overhead is the fixed
  monthly charge of the overhead parts; per-request and per-GB charges are usage, with stated assumptions) — GB
  through NAT gateways and endpoints, WAF and KMS requests, log ingestion and archive, function invocations and
  workflow transitions, bytes copied to another region, CloudFront requests and data transfer, data sent to the
  internet, Prometheus samples ingested, stored and queried (assumed volumes). It is reported on its own line and left
  out of the ratio: it is a function of how busy the apps are and how much data they keep, not of the layout.
Targets: prod overhead <= 25% of capacity; dev total <= $150/month.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from offline.engine import PROJECT, Resource, StackRun, unwrap_secrets
from offline.pricing import PriceTable, UnknownPriceError

Category = Literal["capacity", "overhead", "usage"]
CAPACITY: Category = "capacity"
OVERHEAD: Category = "overhead"
USAGE: Category = "usage"

PROD_OVERHEAD_RATIO_TARGET = 0.25
DEV_TOTAL_TARGET_USD = 150.0


@dataclass(frozen=True)
class Assumptions:
    """Usage volumes the list prices are multiplied by (per month unless said otherwise). One place, per environment."""

    nat_gb_per_gateway: float
    """GB processed per NAT gateway (image pulls without endpoints, Anthropic API calls, OS updates)."""
    interface_endpoint_gb_per_endpoint: float
    """GB processed per interface endpoint (image layers, log shipping, secret reads)."""
    alb_average_lcu: float
    """Average LCUs an ALB uses around the clock (1 LCU: 25 new conn/s, 3,000 active, 1 GB/h, 1,000 rule evals/s)."""
    waf_million_requests: float
    """Requests inspected by each web ACL, in millions."""
    log_gb_per_group: float
    """GB ingested per CloudWatch log group that no `log_gb_by_name` entry matches (an ECS service's logs)."""
    s3_gb_per_bucket: float
    """GB stored in each S3 bucket (Standard class): backups, uploads, ALB logs."""
    ecr_gb_per_repository: float
    """GB of images kept per ECR repository (the lifecycle policy bounds it)."""
    kms_10k_requests_per_key: float
    """KMS API requests per key, in tens of thousands (S3 bucket keys and RDS/ElastiCache data keys keep it low)."""
    replication_gb_per_bucket: float = 0
    """GB of new objects S3 replicates out of each replicated bucket (dumps and archive copies written that month)."""
    scheduled_task_hours_per_run: float = 0.25
    """How long one run of a scheduled Fargate task (backup job, restore drill) lasts, in hours."""
    drill_download_gb_per_run: float = 0
    """GB the restore drill reads from the DR region per run (the newest dump), across regions and the NAT."""
    web_million_requests: float = 0
    """Viewer requests to the app per month, in millions (what CloudFront bills per request)."""
    web_gb_out: float = 0
    """GB the app sends to viewers per month (pages, assets, API, streams): CloudFront's data out, or, without the
    CDN, the ALB's data out to the internet."""
    web_gb_in: float = 0
    """GB viewers send (request bodies, uploads) that CloudFront forwards to the origin."""
    cdn_log_gb: float = 0
    """GB of CloudFront access logs delivered per month (Parquet)."""
    log_gb_by_name: tuple[tuple[str, float], ...] = ()
    """GB ingested by log groups whose name (resource or group name) contains the text; the first match wins."""
    function_invocations: float = 100
    """Invocations per Lambda function a month (rotation steps: 4 per rotated secret, plus bootstraps and retries)."""
    function_seconds: float = 10
    """Average duration of an invocation (a rotation step logs in to PostgreSQL or waits for ElastiCache)."""
    workflow_transitions: float = 100
    """Step Functions state transitions a month (a redeploy per rotated secret, per consumer, plus retries)."""
    prometheus_series_per_task: tuple[tuple[str, int], ...] = (("web", 545), ("ai", 255))
    """Active series one task exports, by scrape job. web: prom-client defaults ~50, the duration histogram 12 series
    (9 buckets + +Inf, _sum, _count) x ~30 route/method pairs = 360, the counter ~120 route/method/status_code
    combinations, gauges ~5, up/scrape_* and target_info 10; ai: Python client defaults ~30 plus the same families
    on fewer routes."""
    prometheus_bytes_per_sample: float = 2.0
    """Stored size of a sample with its share of metadata ("typically 1 or 2 bytes" a sample, AMP pricing page)."""
    prometheus_query_billion_samples: float = 3.0
    """Query samples processed a month, in billions: the alert rules (6 rules + 3 recordings a minute over 5-minute
    windows of all series, ~2.3 B in prod) plus dashboards and ad-hoc queries."""
    grafana_editors: int = 1
    """Active Grafana editors/admins a month (every workspace bills at least one)."""
    grafana_viewers: int = 0
    """Active Grafana viewers a month."""


FLOW_LOG_SAMPLE: dict[str, str] = {
    "version": "5", "account-id": "123456789012", "interface-id": "eni-0a1b2c3d4e5f67890", "srcaddr": "10.0.1.25",
    "dstaddr": "10.0.128.14", "srcport": "49152", "dstport": "443", "protocol": "6", "packets": "10", "bytes": "5240",
    "start": "1700000000", "end": "1700000060", "action": "ACCEPT", "log-status": "OK",
    "vpc-id": "vpc-0a1b2c3d4e5f67890", "subnet-id": "subnet-0a1b2c3d4e5f67890", "tcp-flags": "19", "type": "IPv4",
    "pkt-srcaddr": "10.0.1.25", "pkt-dstaddr": "10.0.128.14", "az-id": "use1-az1", "pkt-src-aws-service": "-",
    "pkt-dst-aws-service": "-", "flow-direction": "egress", "traffic-path": "1",
}
"""One typical flow record's values (an app task's HTTPS connection through its NAT gateway), field by field."""
FLOW_LOG_DEFAULT_FIELDS = ("version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
                           "protocol", "packets", "bytes", "start", "end", "action", "log-status")
"""AWS's default (version 2) record, which the flow-logs volumes in ASSUMPTIONS were estimated for."""


def flow_log_volume_factor() -> float:
    """How much larger a record in the stack's format (components/network.py FLOW_LOG_FIELDS) is than a default one:
    the volumes below are estimated in default records, and ingestion is billed by the byte."""
    from components.network import FLOW_LOG_FIELDS

    def size(fields: tuple[str, ...]) -> int:
        return len(" ".join(FLOW_LOG_SAMPLE[name] for name in fields))
    return size(FLOW_LOG_FIELDS) / size(FLOW_LOG_DEFAULT_FIELDS)


FEW_LOGS: tuple[tuple[str, float], ...] = (
    ("slow-log", 0.5),  # Redis writes an entry only for a command slower than slowlog-log-slower-than (10 ms)
    ("engine-log", 0.5),  # Redis engine events (failovers, restarts, config changes), not traffic
    ("/ecs/backup", 0.01),  # the backup job: about 20 lines per run, 4 runs a day
    ("/lambda/", 0.01),  # db-admin and redis-rotation: a few lines per rotation step
    ("/states/", 0.01),  # the redeploy workflow logs errors only
    ("restore-drill", 0.01),  # the daily restore drill: a few dozen lines per run
)
"""Log groups that are small whatever the traffic; without an entry they would be priced like a busy service's."""

ASSUMPTIONS: dict[str, Assumptions] = {
    # Traffic: 40 KB per request on average (pages, hashed assets, JSON, streamed answers), as prod's 30 M requests
    # and 1.2 TB; uploads are small (chat messages, profile edits); ~300 bytes of Parquet log per request.
    "dev": Assumptions(nat_gb_per_gateway=20, interface_endpoint_gb_per_endpoint=2, alb_average_lcu=0.5,
                       waf_million_requests=0.5, log_gb_per_group=1, s3_gb_per_bucket=5, ecr_gb_per_repository=2,
                       kms_10k_requests_per_key=1, scheduled_task_hours_per_run=0.1, web_million_requests=0.5,
                       web_gb_out=20, web_gb_in=0.5, cdn_log_gb=0.15,
                       log_gb_by_name=(("flow-logs", 2 * flow_log_volume_factor()),
                                       ("upgrade", 0.01), ("postgresql", 0.5), ("waf", 0.5),
                                       *FEW_LOGS)),
    "staging": Assumptions(nat_gb_per_gateway=30, interface_endpoint_gb_per_endpoint=5, alb_average_lcu=1,
                           waf_million_requests=2, log_gb_per_group=3, s3_gb_per_bucket=20, ecr_gb_per_repository=5,
                           kms_10k_requests_per_key=3, replication_gb_per_bucket=10, scheduled_task_hours_per_run=0.2,
                           drill_download_gb_per_run=0.5, web_million_requests=2, web_gb_out=80, web_gb_in=2,
                           cdn_log_gb=0.6,
                           log_gb_by_name=(("flow-logs", 5 * flow_log_volume_factor()),
                                           ("upgrade", 0.01), ("postgresql", 1), ("waf", 2),
                                           *FEW_LOGS, ("prometheus", 0.2)),
                           prometheus_query_billion_samples=1),
    "prod": Assumptions(nat_gb_per_gateway=100, interface_endpoint_gb_per_endpoint=20, alb_average_lcu=5,
                        waf_million_requests=30, log_gb_per_group=20, s3_gb_per_bucket=200, ecr_gb_per_repository=10,
                        kms_10k_requests_per_key=20, replication_gb_per_bucket=50, scheduled_task_hours_per_run=0.5,
                        drill_download_gb_per_run=2, web_million_requests=30, web_gb_out=1200, web_gb_in=20,
                        cdn_log_gb=9,
                        log_gb_by_name=(("flow-logs", 30 * flow_log_volume_factor()),
                                        ("upgrade", 0.01), ("postgresql", 5), ("waf", 10),
                                        ("db-proxy", 1), *FEW_LOGS, ("prometheus", 0.5)),
                        prometheus_query_billion_samples=3),
    # The account foundation (bootstrap/): state objects are megabytes, access logs small; the repositories hold the
    # deployed images of every environment plus the newest CI builds (layers shared between tags).
    "bootstrap": Assumptions(nat_gb_per_gateway=0, interface_endpoint_gb_per_endpoint=0, alb_average_lcu=0,
                             waf_million_requests=0, log_gb_per_group=0, s3_gb_per_bucket=1,
                             ecr_gb_per_repository=5, kms_10k_requests_per_key=0.5),
}


def assumptions_for(environment: str) -> Assumptions:
    """The environment's assumptions; an unknown environment is sized like prod (the conservative side)."""
    return ASSUMPTIONS.get(environment, ASSUMPTIONS["prod"])


# Types that cost nothing by themselves: their cost, if any, is carried by a priced resource (a route table's
# traffic by the NAT gateway, a task definition by its service, a secret version by its secret, ...).
FREE_TYPES = frozenset({
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable", "aws:ec2/route:Route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
    "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl", "aws:ec2/defaultRouteTable:DefaultRouteTable",
    "aws:ec2/networkAcl:NetworkAcl", "aws:ec2/flowLog:FlowLog",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/serviceLinkedRole:ServiceLinkedRole",
    "aws:kms/alias:Alias", "aws:kms/keyPolicy:KeyPolicy", "aws:kms/grant:Grant",
    "aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/optionGroup:OptionGroup",
    "aws:elasticache/subnetGroup:SubnetGroup", "aws:elasticache/parameterGroup:ParameterGroup",
    "aws:elasticache/user:User", "aws:elasticache/userGroup:UserGroup",
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:appautoscaling/target:Target",
    "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule",
    "aws:lb/listenerCertificate:ListenerCertificate",
    "aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation",
    "aws:route53/record:Record",
    "aws:wafv2/webAclAssociation:WebAclAssociation",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "aws:cloudfront/cachePolicy:CachePolicy",
    "aws:cloudfront/originRequestPolicy:OriginRequestPolicy",
    "aws:cloudwatch/logDeliverySource:LogDeliverySource",
    "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
    "aws:secretsmanager/secretVersion:SecretVersion", "aws:secretsmanager/secretPolicy:SecretPolicy",
    "aws:secretsmanager/secretRotation:SecretRotation",
    # RDS Proxy's pool settings and target: priced with the proxy. A function's permission and a deploy-time
    # invocation: priced with the function's assumed invocations.
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup", "aws:rds/proxyTarget:ProxyTarget",
    "aws:lambda/permission:Permission", "aws:lambda/invocation:Invocation",
    "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketLogging:BucketLogging",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketNotification:BucketNotification", "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy", "aws:ecr/repositoryPolicy:RepositoryPolicy",
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
    "aws:sns/topic:Topic", "aws:sns/topicSubscription:TopicSubscription", "aws:sns/topicPolicy:TopicPolicy",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
    "aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/eventTarget:EventTarget",
    "aws:scheduler/scheduleGroup:ScheduleGroup",
    "aws:cloudwatch/logMetricFilter:LogMetricFilter", "aws:cloudwatch/logStream:LogStream",
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
    "aws:cloudwatch/queryDefinition:QueryDefinition",  # saved; running one is billed per GB scanned, by whoever runs it
    "aws:iam/instanceProfile:InstanceProfile", "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:lb/targetGroupAttachment:TargetGroupAttachment", "aws:ecs/capacityProvider:CapacityProvider",
    "aws:appautoscaling/scheduledAction:ScheduledAction", "aws:ec2/networkAclRule:NetworkAclRule",
    "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation", "aws:ec2/vpcDhcpOptions:VpcDhcpOptions",
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy", "aws:s3/bucketAclV2:BucketAclV2",
    "aws:rds/roleAssociation:RoleAssociation", "aws:servicediscovery/httpNamespace:HttpNamespace",
    "random:index/randomPassword:RandomPassword", "random:index/randomId:RandomId",
    "random:index/randomString:RandomString",
    # app metrics: priced through the workspace (samples) and the Grafana workspace (users)
    "aws:amp/workspaceConfiguration:WorkspaceConfiguration", "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
    "aws:amp/alertManagerDefinition:AlertManagerDefinition", "aws:grafana/roleAssociation:RoleAssociation",
    "aws:grafana/workspaceSamlConfiguration:WorkspaceSamlConfiguration",
    # A budget without actions: $0.00 per budget-day (AWS price list, AWSBudgets "Budget Notifications"); only
    # action-enabled budgets past the first two are billed, $0.10 a day
    # (https://aws.amazon.com/aws-cost-management/aws-budgets/pricing/). Its SNS notices are a few publishes a month.
    "aws:budgets/budget:Budget",
})
# providers and stack references; image builds (their storage is priced by the ECR repository)
FREE_PREFIXES = ("pulumi:", "docker:", "docker-build:")


@dataclass(frozen=True)
class LineItem:
    """One priced component of one resource's monthly cost."""

    resource: str
    type: str
    category: Category
    what: str
    """How the figure is made, e.g. '2 × db.r6g.large (Multi-AZ) × 730 h × $0.225'."""
    monthly_usd: float
    assumed: bool = False
    """True when the figure rests on a usage assumption (traffic, GB), not only on what the stack declares."""


@dataclass
class CostReport:
    stack: str
    environment: str
    as_of: str
    region: str
    assumptions: Assumptions
    lines: list[LineItem] = field(default_factory=list)
    not_priced: list[tuple[str, str, str]] = field(default_factory=list)
    """(type, name, why) of resources the estimate has no price for."""
    free: dict[str, int] = field(default_factory=dict)
    """Count per type of resources that cost nothing by themselves."""

    def total(self, category: Category | None = None) -> float:
        return sum(line.monthly_usd for line in self.lines if category is None or line.category == category)

    @property
    def capacity(self) -> float:
        return self.total(CAPACITY)

    @property
    def overhead(self) -> float:
        return self.total(OVERHEAD)

    @property
    def overhead_ratio(self) -> float | None:
        """Overhead over capacity; None when the stack declares no capacity (nothing to compare with)."""
        return self.overhead / self.capacity if self.capacity > 0 else None

    def by_resource(self) -> list[tuple[str, str, Category, float]]:
        totals: dict[tuple[str, str, Category], float] = defaultdict(float)
        for line in self.lines:
            totals[(line.type, line.resource, line.category)] += line.monthly_usd
        return sorted(((t, n, c, v) for (t, n, c), v in totals.items()), key=lambda row: (-row[3], row[1]))

    def checks(self) -> list[tuple[str, bool | None, str]]:
        """(target, met (None = cannot tell), detail) for the targets that apply to this environment."""
        found: list[tuple[str, bool | None, str]] = []
        if self.environment == "prod":
            ratio = self.overhead_ratio
            target = f"prod overhead <= {PROD_OVERHEAD_RATIO_TARGET:.0%} of compute + data capacity"
            if ratio is None:
                found.append((target, None, f"no capacity declared yet; overhead ${self.overhead:,.2f}/month"))
            else:
                found.append((target, ratio <= PROD_OVERHEAD_RATIO_TARGET,
                              f"overhead ${self.overhead:,.2f} / capacity ${self.capacity:,.2f} = {ratio:.0%}"))
        if self.environment == "dev":
            found.append((f"dev total <= ${DEV_TOTAL_TARGET_USD:,.0f}/month", self.total() <= DEV_TOTAL_TARGET_USD,
                          f"total ${self.total():,.2f}/month"))
        if self.not_priced:  # the figures are lower bounds: a target they meet may still be missed
            found = [(target, None if met else met, f"{detail}; {len(self.not_priced)} resource(s) not priced")
                     for target, met, detail in found]
        return found


class _Pricer:
    """Turns resources into line items; one method per priced type."""

    def __init__(self, run: StackRun, table: PriceTable, assumptions: Assumptions, report: CostReport) -> None:
        self.run = run
        self.table = table
        self.hours = table.hours_per_month
        self.a = assumptions
        self.report = report
        self.handlers: dict[str, Callable[[Resource], None]] = {
            "aws:ecs/service:Service": self.ecs_service,
            "aws:ecs/cluster:Cluster": self.ecs_cluster,
            "aws:rds/instance:Instance": self.rds_instance,
            "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication":
                self.rds_backup_replication,
            "aws:elasticache/replicationGroup:ReplicationGroup": self.elasticache_group,
            "aws:elasticache/cluster:Cluster": self.elasticache_cluster,
            "aws:s3/bucket:Bucket": self.s3_bucket,
            "aws:s3/bucketV2:BucketV2": self.s3_bucket,
            "aws:ec2/natGateway:NatGateway": self.nat_gateway,
            "aws:ec2/vpcEndpoint:VpcEndpoint": self.vpc_endpoint,
            "aws:ec2/eip:Eip": self.eip,
            "aws:lb/loadBalancer:LoadBalancer": self.load_balancer,
            "aws:alb/loadBalancer:LoadBalancer": self.load_balancer,
            "aws:wafv2/webAcl:WebAcl": self.web_acl,
            "aws:kms/key:Key": self.kms_key,
            "aws:kms/replicaKey:ReplicaKey": self.kms_replica_key,
            "aws:secretsmanager/secret:Secret": self.secret,
            "aws:cloudwatch/metricAlarm:MetricAlarm": self.metric_alarm,
            "aws:appautoscaling/policy:Policy": self.scaling_policy,
            "aws:cloudwatch/compositeAlarm:CompositeAlarm": self.composite_alarm,
            "aws:cloudwatch/dashboard:Dashboard": self.dashboard,
            "aws:cloudwatch/logGroup:LogGroup": self.log_group,
            "aws:ecr/repository:Repository": self.ecr_repository,
            "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": self.registry_scanning,
            "aws:ecr/replicationConfiguration:ReplicationConfiguration": self.registry_replication,
            "aws:route53/zone:Zone": self.route53_zone,
            "aws:route53/healthCheck:HealthCheck": self.route53_health_check,
            "aws:s3/bucketReplicationConfig:BucketReplicationConfig": self.bucket_replication,
            "aws:scheduler/schedule:Schedule": self.scheduled_task,
            "aws:rds/proxy:Proxy": self.rds_proxy,
            "aws:lambda/function:Function": self.lambda_function,
            "aws:sfn/stateMachine:StateMachine": self.state_machine,
            "aws:cloudfront/distribution:Distribution": self.distribution,
            "aws:cloudfront/monitoringSubscription:MonitoringSubscription": self.monitoring_subscription,
            "aws:cloudwatch/logDelivery:LogDelivery": self.log_delivery,
            "aws:amp/workspace:Workspace": self.amp_workspace,
            "aws:grafana/workspace:Workspace": self.grafana_workspace,
        }

    def add(self, r: Resource, category: Category, what: str, usd: float, assumed: bool = False) -> None:
        self.report.lines.append(LineItem(r.name, r.type, category, what, usd, assumed))

    def hourly(self, r: Resource, category: Category, key: str, count: float, label: str) -> None:
        usd = self.table.usd(key)
        self.add(r, category, f"{_n(count)} × {label} × {self.hours} h × ${usd:g}", count * usd * self.hours)

    # --- capacity ------------------------------------------------------------------------------------------------

    def ecs_cluster(self, r: Resource) -> None:
        """Container Insights' metrics: "charged as custom metrics" (CloudWatch user guide, Container Insights
        metrics for Amazon ECS). Standard mode publishes, for Fargate on platform 1.4.0, 12 per cluster (CPU and
        memory reserved and utilized, network and storage bytes, ephemeral storage reserved and utilized, task and
        service counts), 15 per service (its 10 resource metrics plus the deployment, desired, pending, running task
        and task set counts) and 10 per task definition family of a service; a one-off task's family exists only
        while it runs (hourly proration: a few metric-hours)."""
        mode = next((str(s.get("value")) for s in r.plain("settings") or [] if s.get("name") == "containerInsights"),
                    "disabled")
        if mode == "disabled":
            self.report.free[r.type + " (no Container Insights)"] = self.report.free.get(
                r.type + " (no Container Insights)", 0) + 1
            return
        if mode != "enabled":
            raise NotPricedError(f"Container Insights {mode}: its per-metric rate is not in the price table (task "
                                 "and container metrics on top of the standard ones)")
        arn = r.outputs.get("arn")
        services = [s for s in self.run.of_type("aws:ecs/service:Service") if s.plain("cluster") in (arn, None)]
        metrics = 12 + (15 + 10) * len(services)
        usd = self.table.usd("cloudwatch.custom_metric_month")
        self.add(r, OVERHEAD, f"Container Insights: {metrics} metrics (12 + 25 per service × {len(services)}) × "
                 f"${usd:g}", metrics * usd)

    def ecs_service(self, r: Resource) -> None:
        desired = int(r.plain("desiredCount", 0) or 0)
        task = self._task_definition(r)
        if task is None:
            raise NotPricedError("its task definition is not among the stack's resources")
        launch = r.plain("launchType") or ""
        strategies = r.plain("capacityProviderStrategies") or []
        if launch and launch != "FARGATE":
            raise NotPricedError(f"launch type {launch} (only Fargate is priced)")
        vcpu = float(task.plain("cpu")) / 1024
        memory_gb = float(task.plain("memory")) / 1024
        platform = task.plain("runtimePlatform") or {}
        arch = "arm64" if str(platform.get("cpuArchitecture", "X86_64")).upper() == "ARM64" else "x86_64"
        spot = any(s.get("capacityProvider") == "FARGATE_SPOT" for s in strategies)
        vcpu_usd = self.table.usd(f"fargate.vcpu_hour.{arch}")
        gb_usd = self.table.usd(f"fargate.gb_hour.{arch}")
        note = " (FARGATE_SPOT share priced on-demand: an upper bound)" if spot else ""
        # The share reserved for metrics collectors is overhead (the target names collectors), not capacity.
        collectors = collector_containers(task)
        c_vcpu = sum(int(c.get("cpu") or 0) for c in collectors) / 1024
        c_gb = sum(int(c.get("memory") or 0) for c in collectors) / 1024
        app_vcpu, app_gb = vcpu - c_vcpu, memory_gb - c_gb
        self.add(r, CAPACITY, f"{desired} tasks × {_n(app_vcpu)} vCPU {arch} × {self.hours} h × ${vcpu_usd:g}{note}",
                 desired * app_vcpu * vcpu_usd * self.hours)
        self.add(r, CAPACITY, f"{desired} tasks × {_n(app_gb)} GB × {self.hours} h × ${gb_usd:g}",
                 desired * app_gb * gb_usd * self.hours)
        if collectors:
            self.add(r, OVERHEAD, f"metrics collector sidecar: {desired} tasks × ({_n(c_vcpu)} vCPU × ${vcpu_usd:g} + "
                     f"{_n(c_gb)} GB × ${gb_usd:g}) × {self.hours} h (reserved inside the task size)",
                     desired * (c_vcpu * vcpu_usd + c_gb * gb_usd) * self.hours)

    def _task_definition(self, service: Resource) -> Resource | None:
        urns = set(service.property_dependencies.get("taskDefinition", []))
        reference = service.plain("taskDefinition")
        for task in self.run.of_type("aws:ecs/taskDefinition:TaskDefinition"):
            if task.urn in urns or (reference and reference in (task.outputs.get("arn"), task.plain("family"))):
                return task
        return None

    def rds_instance(self, r: Resource) -> None:
        cls = r.plain("instanceClass")
        engine = str(r.plain("engine") or "postgres")
        if "postgres" not in engine and not r.plain("replicateSourceDb"):
            raise NotPricedError(f"engine {engine} (the table lists PostgreSQL)")
        multi_az = bool(r.plain("multiAz", False))
        copies = 2 if multi_az else 1
        role = "replica" if r.plain("replicateSourceDb") else "primary"
        key = f"rds.postgres.instance_hour.{cls}"
        if not self.table.has(key):
            raise NotPricedError(f"instance class {cls} is not in the price table")
        self.hourly(r, CAPACITY, key, copies, f"{cls} {role}" + (" (Multi-AZ: standby billed)" if multi_az else ""))
        storage = r.plain("allocatedStorage")
        if storage is None and role == "replica":
            storage = self._source_storage(r)
        storage_type = str(r.plain("storageType") or "gp2")
        if storage:
            usd = self.table.usd(f"rds.storage_gb_month.{storage_type}")
            self.add(r, CAPACITY, f"{copies} × {storage} GB {storage_type} × ${usd:g}", copies * float(storage) * usd)
        retention = int(r.plain("performanceInsightsRetentionPeriod") or 0)
        if r.plain("performanceInsightsEnabled") and retention > 7:
            vcpus = self.table.rds_instance_vcpus.get(str(cls), 2)
            usd = self.table.usd("rds.database_insights_advanced.vcpu_hour")
            self.add(r, OVERHEAD, f"Performance Insights {retention} d retention: {vcpus} vCPU × {self.hours} h × "
                     f"${usd:g} (Database Insights Advanced)", vcpus * usd * self.hours)

    def _source_storage(self, resource: Resource, key: str = "replicateSourceDb") -> Any:
        """allocatedStorage of the instance `resource` copies (found by dependency, identifier or ARN)."""
        urns = set(resource.property_dependencies.get(key, []))
        source = resource.plain(key)
        for db in self.run.of_type("aws:rds/instance:Instance"):
            if db is not resource and (db.urn in urns or source in (
                    db.outputs.get("identifier"), db.outputs.get("arn"), db.plain("identifier"), db.id)):
                return db.plain("allocatedStorage")
        return None

    def rds_backup_replication(self, r: Resource) -> None:
        gb = self._source_storage(r, "sourceDbInstanceArn")
        if not gb:
            raise NotPricedError("its source instance is not among the stack's resources")
        usd = self.table.usd("rds.backup_storage_gb_month")
        region = r.plain("region") or "another region"
        self.add(r, OVERHEAD, f"assumed {gb} GB (one full copy of the source) of backups in {region} × ${usd:g} "
                 "(us-east-1 rate; a DR copy: replication overhead)", float(gb) * usd, assumed=True)
        # "DB snapshot copy charges apply to the data transfer": snapshots and logs cross regions every day.
        transfer = self.table.usd("s3.inter_region_transfer_gb")
        self.add(r, USAGE, f"assumed {gb} GB a month of snapshot and log copies to {region} × ${transfer:g} "
                 "(inter-region transfer)", float(gb) * transfer, assumed=True)

    def elasticache_group(self, r: Resource) -> None:
        node = r.plain("nodeType")
        if r.plain("numNodeGroups") is not None:
            groups = int(r.plain("numNodeGroups"))
            nodes = groups * (int(r.plain("replicasPerNodeGroup") or 0) + 1)
        else:
            nodes = int(r.plain("numCacheClusters") or 1)
        self._cache_nodes(r, node, nodes)

    def elasticache_cluster(self, r: Resource) -> None:
        self._cache_nodes(r, r.plain("nodeType"), int(r.plain("numCacheNodes") or 1))

    def _cache_nodes(self, r: Resource, node: Any, nodes: int) -> None:
        key = f"elasticache.redis.node_hour.{node}"
        if not self.table.has(key):
            raise NotPricedError(f"node type {node} is not in the price table")
        engine = str(r.plain("engine") or "redis")
        usd = self.table.usd(key)
        factor = self.table.usd("elasticache.valkey_factor") if engine == "valkey" else 1.0
        label = f"{node} {engine}" + (f" (× {factor:g})" if factor != 1 else "")
        self.add(r, CAPACITY, f"{nodes} nodes × {label} × {self.hours} h × ${usd:g}",
                 nodes * usd * factor * self.hours)

    def s3_bucket(self, r: Resource) -> None:
        storage_class = self._replica_storage_class(r)
        key = {"STANDARD_IA": "s3.standard_ia.storage_gb_month", "GLACIER_IR": "s3.glacier_ir.storage_gb_month"}.get(
            storage_class, "s3.standard.storage_gb_month")
        usd = self.table.usd(key)
        gb = self.a.s3_gb_per_bucket
        where = f" in {r.plain('region')}" if r.plain("region") else ""
        label = {"STANDARD_IA": "Standard-IA replicas", "GLACIER_IR": "Glacier IR replicas"}.get(storage_class,
                                                                                               "Standard")
        # A replica in the DR region is the replication's own storage: overhead, as the target names it.
        self.add(r, OVERHEAD if storage_class else CAPACITY, f"assumed {_n(gb)} GB {label}{where} × ${usd:g}",
                 gb * usd, assumed=True)

    def _replica_storage_class(self, bucket: Resource) -> str:
        """The storage class a replication rule writes into this bucket ("" when it is no replica)."""
        arn = bucket.outputs.get("arn")
        for config in self.run.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
            for rule in config.plain("rules") or []:
                destination = rule.get("destination") or {}
                if destination.get("bucket") == arn:
                    return str(destination.get("storageClass") or "STANDARD")
        return ""

    # --- overhead --------------------------------------------------------------------------------------------------

    def nat_gateway(self, r: Resource) -> None:
        self.hourly(r, OVERHEAD, "natgateway.hour", 1, "NAT gateway")
        usd = self.table.usd("natgateway.gb_processed")
        gb = self.a.nat_gb_per_gateway
        self.add(r, USAGE, f"assumed {_n(gb)} GB processed × ${usd:g}", gb * usd, assumed=True)

    def vpc_endpoint(self, r: Resource) -> None:
        kind = r.plain("vpcEndpointType") or "Gateway"
        if kind == "Gateway":
            self.report.free[r.type + " (Gateway)"] = self.report.free.get(r.type + " (Gateway)", 0) + 1
            return
        azs = len(r.plain("subnetIds") or []) or len(r.plain("subnetConfigurations") or []) or 1
        self.hourly(r, OVERHEAD, "vpcendpoint.interface.az_hour", azs, f"{kind} endpoint AZ")
        usd = self.table.usd("vpcendpoint.interface.gb_processed")
        gb = self.a.interface_endpoint_gb_per_endpoint
        self.add(r, USAGE, f"assumed {_n(gb)} GB processed × ${usd:g}", gb * usd, assumed=True)

    def eip(self, r: Resource) -> None:
        self.hourly(r, OVERHEAD, "public_ipv4.hour", 1, "public IPv4 address")

    def load_balancer(self, r: Resource) -> None:
        kind = r.plain("loadBalancerType") or "application"
        prefix = {"application": "alb", "network": "nlb"}.get(kind)
        if prefix is None:
            raise NotPricedError(f"load balancer type {kind}")
        self.hourly(r, CAPACITY, f"{prefix}.hour", 1, f"{kind} load balancer")
        usd = self.table.usd(f"{prefix}.lcu_hour")
        lcu = self.a.alb_average_lcu
        self.add(r, CAPACITY, f"assumed {_n(lcu)} LCU × {self.hours} h × ${usd:g}", lcu * usd * self.hours,
                 assumed=True)
        if not r.plain("internal", False):
            nodes = len(r.plain("subnets") or []) or len(r.plain("subnetMappings") or []) or 2
            self.hourly(r, CAPACITY, "public_ipv4.hour", nodes, "public IPv4 (one per AZ node)")
            if not self._behind_a_distribution(r):  # behind CloudFront, origin fetches from an ELB are free
                usd = self.table.usd("ec2.data_out_internet_gb")
                gb = self.a.web_gb_out
                self.add(r, USAGE, f"assumed {_n(gb)} GB to viewers over the internet × ${usd:g}", gb * usd,
                         assumed=True)

    def _behind_a_distribution(self, r: Resource) -> bool:
        return any(r.urn in d.property_dependencies.get("origins", [])
                   for d in self.run.of_type("aws:cloudfront/distribution:Distribution"))

    # --- CDN: the distribution's requests and transfer are usage; its additional metrics a fixed overhead ---------

    def distribution(self, r: Resource) -> None:
        rates = "NA/EU rates" + ("" if r.plain("priceClass") == "PriceClass_100" else
                                 " (other price classes add dearer edges)")
        requests = self.table.usd("cloudfront.https_10k_requests.na_eu")
        million = self.a.web_million_requests
        self.add(r, USAGE, f"assumed {_n(million)} M HTTPS requests × ${requests:g}/10k, {rates}",
                 million * 100 * requests, assumed=True)
        out = self.table.usd("cloudfront.data_out_gb.na_eu")
        self.add(r, USAGE, f"assumed {_n(self.a.web_gb_out)} GB to viewers × ${out:g}", self.a.web_gb_out * out,
                 assumed=True)
        origin = self.table.usd("cloudfront.origin_out_gb.na_eu")
        self.add(r, USAGE, f"assumed {_n(self.a.web_gb_in)} GB forwarded to the origin × ${origin:g} (fetches "
                 "from the ALB are free)", self.a.web_gb_in * origin, assumed=True)

    def monitoring_subscription(self, r: Resource) -> None:
        usd = self.table.usd("cloudwatch.custom_metric_month")
        self.add(r, OVERHEAD, f"8 additional CloudFront metrics × ${usd:g} (fixed per distribution)", 8 * usd)

    def log_delivery(self, r: Resource) -> None:
        usd = self.table.usd("cloudwatch.vended_logs.s3_delivery_gb")
        gb = self.a.cdn_log_gb
        self.add(r, USAGE, f"assumed {_n(gb)} GB of access logs delivered to S3 × ${usd:g}", gb * usd, assumed=True)

    def web_acl(self, r: Resource) -> None:
        rules = len(r.plain("rules") or [])
        acl = self.table.usd("waf.web_acl_month")
        rule = self.table.usd("waf.rule_month")
        self.add(r, OVERHEAD, f"1 web ACL × ${acl:g} + {rules} rules × ${rule:g}", acl + rules * rule)
        usd = self.table.usd("waf.million_requests")
        million = self.a.waf_million_requests
        self.add(r, USAGE, f"assumed {_n(million)} M requests × ${usd:g}", million * usd, assumed=True)

    def kms_replica_key(self, r: Resource) -> None:
        """A multi-Region key's replica is billed as a key of its own, and its primary's rotations rotate it too
        (KMS pricing: "Each multi-Region key ... is billed as a single KMS key")."""
        usd = self.table.usd("kms.key_month")
        rotation = self.table.usd("kms.rotation_month")
        self.add(r, OVERHEAD, f"1 replica key × ${usd:g}, its primary's 2 rotations × ${rotation:g}",
                 usd + 2 * rotation)

    def kms_key(self, r: Resource) -> None:
        usd = self.table.usd("kms.key_month")
        self.add(r, OVERHEAD, f"1 key × ${usd:g}", usd)
        if r.plain("enableKeyRotation"):
            # Each of a rotating key's first two rotations adds $1/month for good: the steady state (from the third
            # year with yearly rotation) is what the estimate shows.
            rotation = self.table.usd("kms.rotation_month")
            self.add(r, OVERHEAD, f"automatic rotation: 2 rotations × ${rotation:g} (from the second rotation on)",
                     2 * rotation)
        requests = self.table.usd("kms.10k_requests")
        volume = self.a.kms_10k_requests_per_key
        self.add(r, USAGE, f"assumed {_n(volume * 10)}k requests × ${requests:g}/10k", volume * requests,
                 assumed=True)

    def secret(self, r: Resource) -> None:
        usd = self.table.usd("secretsmanager.secret_month")
        self.add(r, OVERHEAD, f"1 secret × ${usd:g}", usd)

    def metric_alarm(self, r: Resource) -> None:
        queries = r.plain("metricQueries") or []
        metrics = sum(1 for q in queries if q.get("metric")) or 1
        anomaly = any("ANOMALY_DETECTION_BAND" in str(q.get("expression", "")) for q in queries)
        if anomaly:
            metrics *= 3  # an anomaly detection alarm bills the metric and the two band bounds
        high_res = int(r.plain("period") or 60) < 60
        key = "cloudwatch.alarm_metric_month.high_resolution" if high_res else "cloudwatch.alarm_metric_month"
        usd = self.table.usd(key)
        self.add(r, OVERHEAD, f"{metrics} alarm metric(s) × ${usd:g}", metrics * usd)

    def scaling_policy(self, r: Resource) -> None:
        """A target-tracking policy's alarms: "Application Auto Scaling creates and manages the CloudWatch alarms that
        invoke the scaling policy" (Application Auto Scaling user guide, how target tracking works), standard
        alarms on one metric each, billed like ours: a high one that scales out and a low one that scales in
        (`TargetTracking-…-AlarmHigh-…`, `…-AlarmLow-…` in PutScalingPolicy's answer, AWS CLI reference,
        application-autoscaling put-scaling-policy), the low one only while scale-in is enabled. A step-scaling
        policy makes none (it is attached to alarms of one's own, priced as such)."""
        if r.plain("policyType") != "TargetTrackingScaling":
            self.report.free[r.type + " (step scaling)"] = self.report.free.get(r.type + " (step scaling)", 0) + 1
            return
        config = r.plain("targetTrackingScalingPolicyConfiguration") or {}
        alarms = 1 if config.get("disableScaleIn") else 2
        usd = self.table.usd("cloudwatch.alarm_metric_month")
        self.add(r, OVERHEAD, f"{alarms} target-tracking alarms (AlarmHigh{'' if alarms == 1 else ', AlarmLow'}) "
                 f"made by Application Auto Scaling × ${usd:g}", alarms * usd)

    def composite_alarm(self, r: Resource) -> None:
        usd = self.table.usd("cloudwatch.composite_alarm_month")
        self.add(r, OVERHEAD, f"1 composite alarm × ${usd:g}", usd)

    def dashboard(self, r: Resource) -> None:
        usd = self.table.usd("cloudwatch.dashboard_month")
        self.add(r, OVERHEAD, f"1 dashboard × ${usd:g}", usd)

    def log_group(self, r: Resource) -> None:
        infrequent = r.plain("logGroupClass") == "INFREQUENT_ACCESS"
        ingest = self.table.usd("cloudwatch.logs.ingest_gb" + (".infrequent_access" if infrequent else ""))
        names = f"{r.name} {r.plain('name') or ''}"
        gb = next((volume for text, volume in self.a.log_gb_by_name if text in names), self.a.log_gb_per_group)
        self.add(r, USAGE, f"assumed {_n(gb)} GB ingested × ${ingest:g}", gb * ingest, assumed=True)
        retention_days = int(r.plain("retentionInDays") or 0)
        months = min(retention_days / 30, 12) if retention_days else 12  # steady state, capped at a year
        storage = self.table.usd("cloudwatch.logs.storage_gb_month")
        self.add(r, USAGE, f"assumed {_n(gb * months)} GB archived ({retention_days or 'no'} d retention) × "
                 f"${storage:g}", gb * months * storage, assumed=True)

    def ecr_repository(self, r: Resource) -> None:
        """Storage at the assumed size, a DR-region replica (a `region` of its own) too: replication fills it."""
        usd = self.table.usd("ecr.storage_gb_month")
        gb = self.a.ecr_gb_per_repository
        self.add(r, CAPACITY, f"assumed {_n(gb)} GB images × ${usd:g}", gb * usd, assumed=True)

    def registry_replication(self, r: Resource) -> None:
        """Registry replication to the DR region: the copies are stored there at the ECR storage rate (the
        repositories' assumed size per destination), here for those the stack has no repository of in that region
        (a managed replica is priced as a repository); the copy itself is inter-region transfer (usage)."""
        rules = (r.plain("replicationConfiguration") or {}).get("rules") or []
        destinations = [str(d.get("region")) for rule in rules for d in rule.get("destinations") or []]
        repositories = self.run.of_type("aws:ecr/repository:Repository")
        managed = {(str(x.inputs.get("region")), str(x.inputs.get("name")))
                   for x in repositories if x.inputs.get("region")}
        copies = sum((region, str(x.inputs.get("name"))) not in managed
                     for region in destinations for x in repositories if not x.inputs.get("region"))
        gb = copies * self.a.ecr_gb_per_repository
        usd = self.table.usd("ecr.storage_gb_month")
        self.add(r, CAPACITY, f"assumed {_n(gb)} GB of replicated images outside the stack's replicas × ${usd:g}",
                 gb * usd, assumed=True)

    def registry_scanning(self, r: Resource) -> None:
        if str(r.plain("scanType") or "BASIC") != "BASIC":
            raise NotPricedError("enhanced scanning is billed by Amazon Inspector per image scanned (not in the "
                                 "table)")
        # Basic scanning is "provided and billed through Amazon ECR" (Inspector user guide, scanning ECR images);
        # the ECR price list has no per-scan line: storage (priced on the repositories) only.
        self.report.free[r.type] = self.report.free.get(r.type, 0) + 1

    def bucket_replication(self, r: Resource) -> None:
        """S3 replication: the rule's replication metrics (billed as custom metrics, a fixed monthly charge:
        overhead) and the replicated bytes (inter-region transfer, plus RTC when on: usage, they grow with data)."""
        rules = [rule for rule in r.plain("rules") or [] if rule.get("status") == "Enabled"]
        metrics = sum(1 for rule in rules if ((rule.get("destination") or {}).get("metrics") or {}).get("status")
                      == "Enabled")
        if metrics:
            usd = self.table.usd("cloudwatch.custom_metric_month")
            self.add(r, OVERHEAD, f"{metrics} rule(s) × 4 replication metrics × ${usd:g} (custom-metric rate)",
                     metrics * 4 * usd)
        gb = self.a.replication_gb_per_bucket
        transfer = self.table.usd("s3.inter_region_transfer_gb")
        self.add(r, USAGE, f"assumed {_n(gb)} GB replicated to another region × ${transfer:g}", gb * transfer,
                 assumed=True)
        rtc = sum(1 for rule in rules if ((rule.get("destination") or {}).get("replicationTime") or {}).get("status")
                  == "Enabled")
        if rtc:
            usd = self.table.usd("s3.replication_time_control_gb")
            self.add(r, USAGE, f"assumed {_n(gb)} GB × ${usd:g} Replication Time Control", gb * usd, assumed=True)

    def scheduled_task(self, r: Resource) -> None:
        """A schedule that runs a Fargate task (backup job, restore drill): runs a month × assumed hours per run."""
        ecs = (r.plain("target") or {}).get("ecsParameters")
        if not ecs:
            raise NotPricedError("only schedules that run an ECS task are priced")
        task = next((t for t in self.run.of_type("aws:ecs/taskDefinition:TaskDefinition")
                     if t.outputs.get("arn") == ecs.get("taskDefinitionArn")), None)
        if task is None:
            raise NotPricedError("its task definition is not among the stack's resources")
        runs = runs_per_month(str(r.plain("scheduleExpression") or ""), self.hours)
        hours = runs * self.a.scheduled_task_hours_per_run
        vcpu = float(task.plain("cpu")) / 1024
        memory_gb = float(task.plain("memory")) / 1024
        arch = "arm64" if str((task.plain("runtimePlatform") or {}).get("cpuArchitecture", "")).upper() == "ARM64" \
            else "x86_64"
        usd = vcpu * self.table.usd(f"fargate.vcpu_hour.{arch}") + memory_gb * self.table.usd(f"fargate.gb_hour.{arch}")
        extra_gb = max(0, int((task.plain("ephemeralStorage") or {}).get("sizeInGib") or 20) - 20)
        usd += extra_gb * self.table.usd("fargate.ephemeral_gb_hour")
        storage = f" + {extra_gb} GB ephemeral" if extra_gb else ""
        self.add(r, OVERHEAD, f"{_n(round(runs, 1))} runs × assumed {_n(self.a.scheduled_task_hours_per_run)} h × "
                 f"({_n(vcpu)} vCPU + {_n(memory_gb)} GB {arch}{storage}) = ${usd:.4f}/h", hours * usd, assumed=True)
        if any(c.get("command") == ["restore_drill.sh"] for c in _containers(task)):
            gb = runs * self.a.drill_download_gb_per_run
            per_gb = self.table.usd("s3.inter_region_transfer_gb") + self.table.usd("natgateway.gb_processed")
            self.add(r, USAGE, f"assumed {_n(round(gb, 1))} GB of dumps read from the DR region × ${per_gb:g} "
                     "(inter-region transfer + NAT processing)", gb * per_gb, assumed=True)

    def route53_zone(self, r: Resource) -> None:
        usd = self.table.usd("route53.hosted_zone_month")
        self.add(r, OVERHEAD, f"1 hosted zone × ${usd:g}", usd)

    def route53_health_check(self, r: Resource) -> None:
        """A basic health check; one that watches a CloudWatch alarm is billed as one on an AWS endpoint (assumed:
        the pricing page lists endpoint checks only; live check in docs/aws-runtime-review.md)."""
        usd = self.table.usd("route53.health_check_aws_month")
        self.add(r, OVERHEAD, f"1 health check × ${usd:g}", usd)

    def rds_proxy(self, r: Resource) -> None:
        """Per vCPU of the instances it targets (for RDS instances: the primary's class), around the clock."""
        classes = [str(db.plain("instanceClass")) for db in self._proxy_targets(r)]
        if not classes:
            raise NotPricedError("none of its targets is among the stack's RDS instances")
        vcpus = sum(self.table.rds_instance_vcpus.get(c, 2) for c in classes)
        self.hourly(r, OVERHEAD, "rds.proxy.vcpu_hour", vcpus, f"vCPU of {', '.join(classes)}")

    def _proxy_targets(self, proxy: Resource) -> list[Resource]:
        instances = self.run.of_type("aws:rds/instance:Instance")
        found = []
        for target in self.run.of_type("aws:rds/proxyTarget:ProxyTarget"):
            if proxy.urn not in target.property_dependencies.get("dbProxyName", []):
                continue
            urns = set(target.property_dependencies.get("dbInstanceIdentifier", []))
            identifier = target.plain("dbInstanceIdentifier")
            found += [db for db in instances if db.urn in urns or (identifier and identifier == db.plain("identifier"))]
        return found

    def lambda_function(self, r: Resource) -> None:
        arch = "arm64" if "arm64" in (r.plain("architectures") or []) else "x86_64"
        gb = float(r.plain("memorySize") or 128) / 1024
        invocations, seconds = self.a.function_invocations, self.a.function_seconds
        compute = self.table.usd(f"lambda.gb_second.{arch}")
        requests = self.table.usd("lambda.million_requests")
        self.add(r, USAGE, f"assumed {_n(invocations)} invocations × {_n(seconds)} s × {_n(gb)} GB × ${compute:g} + "
                 f"requests × ${requests:g}/M", invocations * (seconds * gb * compute + requests / 1e6), assumed=True)

    def state_machine(self, r: Resource) -> None:
        usd = self.table.usd("sfn.standard.state_transition")
        transitions = self.a.workflow_transitions
        self.add(r, USAGE, f"assumed {_n(transitions)} state transitions × ${usd:g}", transitions * usd,
                 assumed=True)

    # --- app metrics -------------------------------------------------------------------------------------------------

    def amp_workspace(self, r: Resource) -> None:
        """Samples from every collector that remote-writes here: tasks × series per task × scrapes a month."""
        endpoint = str(r.outputs.get("prometheusEndpoint") or "")
        series_per_task = dict(self.a.prometheus_series_per_task)
        samples = 0.0
        parts = []
        for service in self.run.of_type("aws:ecs/service:Service"):
            task = self._task_definition(service)
            if task is None:
                continue
            desired = int(service.plain("desiredCount", 0) or 0)
            for container in collector_containers(task):
                for job, interval in scrape_jobs(container, endpoint):
                    series = series_per_task.get(job, max(series_per_task.values(), default=0))
                    samples += desired * series * self.hours * 3600 / interval
                    parts.append(f"{desired} {job} tasks × {series} series / {interval:g} s")
        if not parts:
            raise NotPricedError("no collector writes to it (no ECS task's ADOT config names its endpoint)")
        per_10m = self.table.usd("amp.samples_ingested_10m")
        self.add(r, USAGE, f"assumed {' + '.join(parts)} = {samples / 1e6:,.1f} M samples ingested × "
                 f"${per_10m:g}/10 M", samples / 1e7 * per_10m, assumed=True)
        retention = next((int(c.plain("retentionPeriodInDays") or 150) for c in self.run.of_type(
            "aws:amp/workspaceConfiguration:WorkspaceConfiguration") if r.urn in c.property_dependencies.get(
                "workspaceId", [])), 150)
        stored_gb = samples * min(retention, 365) / 30.42 * self.a.prometheus_bytes_per_sample / 2 ** 30
        storage = self.table.usd("amp.storage_gb_month")
        self.add(r, USAGE, f"assumed {_n(round(stored_gb, 2))} GB stored ({retention} d retention, "
                 f"{_n(self.a.prometheus_bytes_per_sample)} B/sample) × ${storage:g}", stored_gb * storage,
                 assumed=True)
        query = self.table.usd("amp.query_billion_samples")
        billions = self.a.prometheus_query_billion_samples
        self.add(r, USAGE, f"assumed {_n(billions)} B query samples processed (alert rules, dashboards) × "
                 f"${query:g}/B", billions * query, assumed=True)

    def grafana_workspace(self, r: Resource) -> None:
        editor = self.table.usd("grafana.editor_user_month")
        viewer = self.table.usd("grafana.viewer_user_month")
        editors, viewers = max(1, self.a.grafana_editors), self.a.grafana_viewers
        self.add(r, OVERHEAD, f"{editors} editor license(s) × ${editor:g} (at least one per workspace) + {viewers} "
                 f"viewer(s) × ${viewer:g}", editors * editor + viewers * viewer, assumed=True)


def collector_containers(task: Resource) -> list[dict[str, Any]]:
    """The ADOT collector containers of a task definition: configured through AOT_CONFIG_CONTENT."""
    try:
        containers = json.loads(task.plain("containerDefinitions") or "[]")
    except (TypeError, ValueError):
        return []
    return [c for c in containers if isinstance(c, dict)
            and any(e.get("name") == "AOT_CONFIG_CONTENT" for e in c.get("environment") or [])]


def scrape_jobs(container: dict[str, Any], endpoint: str) -> list[tuple[str, float]]:
    """(job, scrape interval in seconds) of a collector whose remote write goes to `endpoint` (empty: any)."""
    text = next(e.get("value") for e in container.get("environment") or [] if e.get("name") == "AOT_CONFIG_CONTENT")
    try:
        config = yaml.safe_load(text) or {}
        exporters = config.get("exporters") or {}
        targets = [str((v or {}).get("endpoint", "")) for k, v in exporters.items() if k.startswith(
            "prometheusremotewrite")]
        if endpoint and not any(t.startswith(endpoint) for t in targets):
            return []
        prometheus = config["receivers"]["prometheus"]["config"]
        default = str(prometheus.get("global", {}).get("scrape_interval", "60s"))
        return [(str(job["job_name"]), _seconds(str(job.get("scrape_interval", default))))
                for job in prometheus.get("scrape_configs") or []]
    except (AttributeError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return []


def _seconds(duration: str) -> float:
    """A Prometheus duration such as 60s, 2m or 1h, in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in sorted(units, key=len, reverse=True):
        if duration.endswith(unit):
            return float(duration[: -len(unit)]) * units[unit]
    raise ValueError(duration)


def runs_per_month(expression: str, hours_per_month: float) -> float:
    """How often an EventBridge Scheduler expression fires in a month: rate(N minutes|hours|days) exactly; a cron
    with a fixed minute and hour counts as daily (or once per listed weekday); anything else as hourly (an upper
    bound for the crons this stack uses)."""
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if rate:
        every_hours = int(rate[1]) * {"minute": 1 / 60, "hour": 1, "day": 24}[rate[2].rstrip("s")]
        return hours_per_month / every_hours
    cron = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+)(?: (\S+))?\)", expression)
    if cron and cron[1].isdigit() and cron[2].isdigit():
        weekdays = cron[5]
        per_week = 7 if weekdays in ("?", "*") else len(weekdays.split(","))
        return hours_per_month / 24 / 7 * per_week
    return hours_per_month


def _containers(task: Resource) -> list[dict[str, Any]]:
    definitions = task.plain("containerDefinitions")
    if isinstance(definitions, str):
        try:
            definitions = json.loads(definitions)
        except ValueError:
            return []
    return [d for d in definitions or [] if isinstance(d, dict)]


class NotPricedError(Exception):
    """A resource of a priced type whose particular configuration the table cannot price (e.g. an unlisted class)."""


def _n(value: float) -> str:
    return f"{value:g}"


def estimate(run: StackRun, table: PriceTable | None = None, assumptions: Assumptions | None = None) -> CostReport:
    """The monthly cost report of one stack run."""
    region = run.config.get("aws:region", "us-east-1")
    if table is None:
        try:
            table = PriceTable.load(region)
        except FileNotFoundError:
            # A stack in a region without a table (the DR stack in us-west-2) is priced at us-east-1 list prices,
            # and the report says so: most of these services cost the same in the US regions, not all.
            table = PriceTable.load("us-east-1")
    environment = "bootstrap" if run.project != PROJECT else \
        str(unwrap_secrets(run.config.get("maratron:environment", run.stack)))
    priced_as = table.region if table.region == region else f"{region} priced at {table.region}"
    report = CostReport(stack=run.stack, environment=environment, as_of=table.as_of, region=priced_as,
                        assumptions=assumptions or assumptions_for(environment))
    pricer = _Pricer(run, table, report.assumptions, report)
    for resource in run.resources:
        if not resource.custom:
            continue
        handler = pricer.handlers.get(resource.type)
        if handler is not None:
            try:
                handler(resource)
            except (NotPricedError, UnknownPriceError) as why:
                report.not_priced.append((resource.type, resource.name, str(why).strip("'")))
        elif resource.type in FREE_TYPES or resource.type.startswith(FREE_PREFIXES):
            report.free[resource.type] = report.free.get(resource.type, 0) + 1
        else:
            report.not_priced.append((resource.type, resource.name, "no price rule for this type"))
    return report


def _money(value: float) -> str:
    return f"${value:,.2f}"


def render(report: CostReport, *, detail: bool = True) -> list[str]:
    """The report as text lines (the preview's "Estimated monthly cost" section)."""
    ratio = report.overhead_ratio
    lines = [
        f"{_money(report.total())}/month for {report.stack} ({report.region} on-demand list prices as of "
        f"{report.as_of}, 730 h/month)",
        f"  capacity (compute & data) {_money(report.capacity):>12}",
        f"  overhead (platform)       {_money(report.overhead):>12}"
        + (f"   = {ratio:.0%} of capacity" if ratio is not None else "   (no capacity declared)"),
        f"  usage (traffic, assumed)  {_money(report.total(USAGE)):>12}   (logs, requests, GB, metrics; not in the "
        "ratio)",
    ]
    for target, met, detail_text in report.checks():
        status = {True: "ok", False: "EXCEEDED", None: "n/a"}[met]
        lines.append(f"  target: {target}: {status} — {detail_text}")
    if detail:
        lines.append("By category and resource:")
        for category in (CAPACITY, OVERHEAD, USAGE):
            rows = [row for row in report.by_resource() if row[2] == category]
            lines.append(f"  {category}: {_money(report.total(category))}")
            for type_, name, _, usd in rows:
                lines.append(f"    {_money(usd):>10}  {name} ({type_.split(':')[1]})")
                for item in (x for x in report.lines if x.resource == name and x.type == type_):
                    flag = "  [assumed]" if item.assumed else ""
                    lines.append(f"                {_money(item.monthly_usd):>9}  {item.what}{flag}")
    else:
        lines.append("By category and type (per resource: python -m offline.cost <stack>):")
        lines.extend(_by_type(report))
    if report.not_priced:
        lines.append("Not priced (add a rule in offline/cost.py or a price to the table):")
        for type_, name, why in report.not_priced:
            lines.append(f"  - {type_} {name}: {why}")
    free = sum(report.free.values())
    lines.append(f"Free by themselves: {free} resources of {len(report.free)} types (VPC, subnets, IAM, aliases, ...)")
    a = report.assumptions
    lines.append(f"Assumptions ({report.environment}, per month; offline/cost.py ASSUMPTIONS):")
    shown = [f"{k}={v:g}" for k, v in a.__dict__.items() if not isinstance(v, tuple)]
    shown += [f"log GB where the name has {text!r}={volume:g}" for text, volume in a.log_gb_by_name]
    shown += [f"Prometheus series per {job} task={series}" for job, series in a.prometheus_series_per_task]
    lines.extend("  " + row for row in textwrap.wrap(", ".join(shown), 110))
    return lines


def _by_type(report: CostReport) -> list[str]:
    totals: dict[tuple[Category, str], float] = defaultdict(float)
    counts: dict[tuple[Category, str], set[str]] = defaultdict(set)
    for line in report.lines:
        totals[(line.category, line.type)] += line.monthly_usd
        counts[(line.category, line.type)].add(line.resource)
    rows = sorted(totals.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    return [f"  {_money(usd):>10}  {category:<8}  {len(counts[(category, type_)])} × {type_.split(':')[1]}"
            for (category, type_), usd in rows]


def main(argv: list[str] | None = None) -> int:
    from offline.engine import available_stacks, refuse_unknown_stacks, run_stack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default="dev", help=f"stack name ({', '.join(available_stacks())})")
    parser.add_argument("--summary", action="store_true", help="totals and targets only")
    args = parser.parse_args(argv)
    refuse_unknown_stacks(parser, [args.stack])
    run = run_stack(args.stack)
    if not run.ok:
        print(f"the program failed, no estimate: {run.error}", file=sys.stderr)
        return 1
    report = estimate(run)
    print("\n".join(render(report, detail=not args.summary)))
    return 1 if any(met is False for _, met, _ in report.checks()) else 0


if __name__ == "__main__":
    sys.exit(main())
