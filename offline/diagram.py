"""Architecture diagram of a stack, drawn from its own registered resources: `python -m offline.diagram prod`.

Writes build/<stack>/architecture.mmd, a Mermaid flowchart: GitHub renders it in Markdown (README, PR comments,
```mermaid blocks) and it diffs line by line. Nothing in it is hard-coded per stack or per component name:

- **Boxes** come from BOXES, one entry per resource type: which group it sits in (Internet, edge, the VPC's
  public/app/data tiers, regional services, operations), its title, and whether resources of that type are drawn
  one box each or one box for all of them. A resource type with no entry is not drawn. Adding a box for a new type
  (RDS Proxy, CloudFront, a Prometheus collector) is one line there; a few types have a DETAILS function for richer
  lines (sizes, counts). ECS task definitions merge into the service or schedule that runs them; one that nothing
  runs is a one-off task (the migration, the restore check: run on demand).
- **Arrows** come from the resources' wiring: security-group rules (a rule on B's group that allows A's group draws
  A → B with the port; a rule open to the Internet draws the users' entry, through the WAF associated with the
  target; a rule from a managed prefix list on a distribution's origin draws CloudFront → origin, and the users'
  entry through CloudFront and the WAF it names), egress to 0.0.0.0/0 through the NAT gateways to the external APIs
  the tasks hold keys for (EXTERNAL_APIS), load-balancer listeners and rules forwarding to a service's target group,
  interface endpoints to the regional services they front (ENDPOINT_SERVICES), and LINKS: dotted arrows for events,
  schedules, DNS and alerts, found through property dependencies or ARNs in the inputs.

Output is deterministic: boxes and arrows are sorted, identifiers derive from resource names. The layout is
Mermaid's (dagre): arrows are routed around boxes and their labels are placed as nodes of their own, so no line
crosses a label. A legend closes the diagram.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.engine import ROOT, Resource, StackRun

BUILD_DIR = ROOT / "build"

GROUPS: dict[str, str] = {
    "external": "Internet",
    "outside": "Outside services",
    "edge": "Edge",
    "public": "public subnets",
    "app": "app subnets",
    "data": "data subnets",
    "regional": "Regional services",
    "ops": "Operations",
    "dr": "DR region",
}
"""Group key → title (the VPC tiers get their subnet count and AZs appended)."""
TIERS = ("public", "app", "data")
STYLES: dict[str, tuple[str, str]] = {
    "external": ("#f5f5f5", "#616161"),
    "outside": ("#f5f5f5", "#616161"),
    "edge": ("#fde2e2", "#c62828"),
    "public": ("#e3f2fd", "#1565c0"),
    "app": ("#e8f5e9", "#2e7d32"),
    "data": ("#fff3e0", "#ef6c00"),
    "regional": ("#ede7f6", "#5e35b1"),
    "ops": ("#fffde7", "#f9a825"),
    "dr": ("#eceff1", "#455a64"),
}
"""Group → (fill, outline) of its boxes."""


@dataclass(frozen=True)
class BoxKind:
    group: str
    title: str
    each: bool = False
    """One box per resource (True) or one box for every resource of the type (False, titled with ×count)."""
    key: str = ""
    """Box key prefix (each) or key (all in one); default: derived from the title."""
    shape: str = "box"
    """box, store (a cylinder: data at rest) or actor (a stadium: people and outside systems)."""

    @property
    def box_key(self) -> str:
        return self.key or re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


BOXES: dict[str, BoxKind] = {
    "aws:route53/zone:Zone": BoxKind("edge", "Route 53 zone", each=True, key="zone"),
    "aws:acm/certificate:Certificate": BoxKind("edge", "ACM certificate", key="cert"),
    "aws:wafv2/webAcl:WebAcl": BoxKind("edge", "WAF web ACL", each=True, key="waf"),
    "aws:cloudfront/distribution:Distribution": BoxKind("edge", "CloudFront", each=True, key="cdn"),
    "aws:lb/loadBalancer:LoadBalancer": BoxKind("public", "ALB", each=True, key="lb"),
    "aws:ec2/natGateway:NatGateway": BoxKind("public", "NAT gateway", key="nat"),
    "aws:ecs/service:Service": BoxKind("app", "ECS service", each=True, key="svc"),
    "aws:ecs/taskDefinition:TaskDefinition": BoxKind("app", "ECS task", each=True, key="task"),
    "aws:lambda/function:Function": BoxKind("app", "Lambda", each=True, key="fn"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": BoxKind("app", "VPC endpoints", key="endpoints"),
    "aws:rds/instance:Instance": BoxKind("data", "PostgreSQL", each=True, key="db", shape="store"),
    "aws:rds/proxy:Proxy": BoxKind("data", "RDS Proxy", each=True, key="rds-proxy"),
    "aws:elasticache/replicationGroup:ReplicationGroup": BoxKind("data", "Redis", each=True, key="cache",
                                                                 shape="store"),
    "aws:s3/bucket:Bucket": BoxKind("regional", "S3 buckets", key="s3", shape="store"),
    "aws:s3/bucketV2:BucketV2": BoxKind("regional", "S3 buckets", key="s3", shape="store"),
    "aws:kms/key:Key": BoxKind("regional", "KMS keys", key="kms"),
    "aws:secretsmanager/secret:Secret": BoxKind("regional", "Secrets Manager", key="secrets"),
    "aws:ecr/repository:Repository": BoxKind("regional", "ECR repositories", key="ecr"),
    # The app stack's images live in the foundation's repositories (bootstrap/), read through its StackReference.
    "pulumi:pulumi:StackReference": BoxKind("regional", "ECR (foundation)", key="ecr"),
    "aws:cloudwatch/logGroup:LogGroup": BoxKind("regional", "CloudWatch log groups", key="logs"),
    "aws:scheduler/schedule:Schedule": BoxKind("ops", "EventBridge Scheduler", each=True, key="schedule"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": BoxKind("ops", "CloudWatch alarms", key="alarms"),
    "aws:cloudwatch/eventRule:EventRule": BoxKind("ops", "EventBridge rules", key="events"),
    "aws:cloudwatch/dashboard:Dashboard": BoxKind("ops", "CloudWatch dashboards", key="dashboards"),
    "aws:sns/topic:Topic": BoxKind("ops", "SNS topic", each=True, key="topic"),
    "aws:sfn/stateMachine:StateMachine": BoxKind("ops", "Step Functions", each=True, key="workflow"),
    "aws:amp/workspace:Workspace": BoxKind("ops", "Managed Prometheus", each=True, key="prometheus"),
    "aws:grafana/workspace:Workspace": BoxKind("ops", "Managed Grafana", each=True, key="grafana"),
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": BoxKind(
        "dr", "RDS backup copies", each=True, key="rds-backups", shape="store"),
}
"""Resource type → how it is drawn. One line per type; a type not listed is not drawn. A resource managed in another
region than the stack's (pulumi-aws v7's `region` input: the DR region's key and replica buckets) is drawn in that
region's group, in a box of its own per type."""

EXTERNAL_APIS: dict[str, str] = {
    "ANTHROPIC_API_KEY": "Anthropic API",
    "WEATHER_API_KEY": "Weather API",
    "SENTRY_DSN": "Sentry",
}
"""A task holding this secret (or variable) calls this outside API, through the NAT gateways."""

ENDPOINT_SERVICES: dict[str, str] = {
    "ecr.api": "ecr", "ecr.dkr": "ecr", "logs": "logs", "secretsmanager": "secrets", "s3": "s3", "kms": "kms",
}
"""VPC endpoint service (after com.amazonaws.<region>.) → the regional box it reaches privately."""


@dataclass(frozen=True)
class Link:
    source: str
    """Type whose resource refers to the other (via property dependencies or an ARN/id in its inputs)."""
    target: str
    label: str
    reverse: bool = False
    """Draw the arrow from the referred-to box to the referring one."""


LINKS: tuple[Link, ...] = (
    Link("aws:wafv2/webAclAssociation:WebAclAssociation", "aws:lb/loadBalancer:LoadBalancer", "filters"),
    Link("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:sns/topic:Topic", "alarm"),
    Link("aws:cloudwatch/eventTarget:EventTarget", "aws:sns/topic:Topic", "event"),
    Link("aws:cloudwatch/eventTarget:EventTarget", "aws:sfn/stateMachine:StateMachine", "secret changed"),
    Link("aws:rds/proxyTarget:ProxyTarget", "aws:rds/instance:Instance", "target"),
    Link("aws:rds/instance:Instance", "aws:rds/instance:Instance", "replication", reverse=True),
    Link("aws:lb/listener:Listener", "aws:acm/certificate:Certificate", "TLS", reverse=True),
    Link("aws:route53/record:Record", "aws:lb/loadBalancer:LoadBalancer", "alias"),
    Link("aws:route53/record:Record", "aws:cloudfront/distribution:Distribution", "alias"),
    Link("aws:cloudfront/distribution:Distribution", "aws:acm/certificate:Certificate", "TLS", reverse=True),
    Link("aws:route53/record:Record", "aws:rds/instance:Instance", "reader DNS"),
    Link("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
         "aws:rds/instance:Instance", "backup replication", reverse=True),
    Link("aws:ecs/taskDefinition:TaskDefinition", "aws:amp/workspace:Workspace", "metrics (ADOT sidecar)"),
    Link("aws:amp/alertManagerDefinition:AlertManagerDefinition", "aws:sns/topic:Topic", "alert"),
)
"""Dotted arrows (events, schedules, DNS, alerts) between drawn boxes. For a source type that is not drawn itself
(an association, an event target, a listener), the arrow starts at the box of what it also refers to."""


@dataclass
class Box:
    key: str
    title: str
    lines: list[str]
    style: str
    shape: str = "box"


@dataclass
class Band:
    """A group of boxes (a subnet tier, the edge, the regional services...)."""

    key: str
    label: str
    style: str
    boxes: list[Box] = field(default_factory=list)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    kind: str = "traffic"
    """traffic (allowed by the network: solid) or control (events, schedules, DNS, alerts: dotted)."""


@dataclass
class Diagram:
    title: str
    rows: list[Band]
    """Every group, top to bottom: Internet, edge, the VPC tiers, regional services, operations."""
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    """(from box key, to box key, label)."""
    kinds: dict[tuple[str, str], str] = field(default_factory=dict)
    vpc_label: str = ""

    def all_boxes(self) -> Iterable[Box]:
        for band in self.rows:
            yield from band.boxes

    def box(self, key: str) -> Box:
        for candidate in self.all_boxes():
            if candidate.key == key:
                return candidate
        raise KeyError(key)


# --- details per type --------------------------------------------------------------------------------------------

def _ids(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value else []


def _az_short(names: Iterable[str]) -> str:
    names = sorted(set(names))
    if not names:
        return ""
    common = names[0][:-1]
    return common + "/".join(n[-1] for n in names) if all(n[:-1] == common for n in names) else ", ".join(names)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _containers(task: Resource) -> list[dict[str, Any]]:
    raw = task.plain("containerDefinitions")
    try:
        found = json.loads(raw) if isinstance(raw, str) else (raw or [])
    except ValueError:
        return []
    return [c for c in found if isinstance(c, dict)]


def _fargate(task: Resource | None) -> str:
    if task is None:
        return "ECS"
    vcpu = float(task.plain("cpu", 0) or 0) / 1024
    memory = float(task.plain("memory", 0) or 0) / 1024
    arch = str((task.plain("runtimePlatform") or {}).get("cpuArchitecture", "X86_64"))
    return f"Fargate {vcpu:g} vCPU / {memory:g} GB {arch}"


# --- model -------------------------------------------------------------------------------------------------------

class _Model:
    def __init__(self, run: StackRun) -> None:
        self.run = run
        self.by_urn = {r.urn: r for r in run.resources}
        self.by_ref: dict[str, Resource] = {}
        for r in run.resources:
            for value in (r.id, r.outputs.get("arn")):
                if isinstance(value, str) and len(value) > 6:
                    self.by_ref.setdefault(value, r)
        self.box_of: dict[str, str] = {}  # resource URN → box key
        self.boxes: dict[str, Box] = {}
        self.edges: dict[tuple[str, str], Edge] = {}
        self.tasks_run: dict[str, str] = {}  # task definition URN → box key of what runs it

    # references ------------------------------------------------------------------------------------------------
    def refs(self, resource: Resource, *, ordering: bool = True) -> set[str]:
        """URNs `resource` refers to: dependencies (unless `ordering` is False: a depends_on only orders the
        deployment, it wires nothing), property dependencies, and ARNs/ids in its inputs."""
        found = set(resource.dependencies) if ordering else set()
        for urns in resource.property_dependencies.values():
            found.update(urns)

        def scan(value: Any) -> None:
            if isinstance(value, str):
                hit = self.by_ref.get(value)
                if hit is not None:
                    found.add(hit.urn)
            elif isinstance(value, dict):
                for item in value.values():
                    scan(item)
            elif isinstance(value, list):
                for item in value:
                    scan(item)

        scan(resource.plain_inputs)
        found.discard(resource.urn)
        return found

    def add_edge(self, source: str, target: str, label: str = "", kind: str = "traffic") -> None:
        if source == target or source not in self.boxes or target not in self.boxes:
            return
        existing = self.edges.get((source, target))
        if existing is not None and (existing.label or existing.kind == "traffic"):
            return  # the first arrow with something to say wins; traffic is never turned into control
        self.edges[(source, target)] = Edge(source, target, label, kind)

    # boxes -----------------------------------------------------------------------------------------------------
    def build(self) -> Diagram:
        run = self.run
        services = run.of_type("aws:ecs/service:Service")
        schedules = run.of_type("aws:scheduler/schedule:Schedule")
        for service in services:
            task = self._task_for(service.plain("taskDefinition"), service)
            if task is not None:
                self.tasks_run[task.urn] = f"svc:{service.name}"
        for schedule in schedules:
            target = schedule.plain("target") or {}
            task = self._task_for((target.get("ecsParameters") or {}).get("taskDefinitionArn"), schedule)
            if task is not None:
                self.tasks_run[task.urn] = f"task:{task.name}"

        self._box("internet", "Internet users", [], "external", "actor")
        for type_ in sorted(BOXES):
            kind = BOXES[type_]
            found = run.of_type(type_)
            if not found:
                continue
            if type_ == "aws:ecs/taskDefinition:TaskDefinition":
                self._tasks(found)
            elif kind.each:
                for resource in sorted(found, key=lambda r: r.name):
                    key = self._each_key(kind, resource)
                    title, lines = DETAILS.get(type_, _default_each)(self, resource, kind)
                    # a private hosted zone is a regional service of the VPC, not part of the public edge
                    group = "regional" if type_ == "aws:route53/zone:Zone" and resource.plain("vpcs") else kind.group
                    self._box(key, title, lines, "dr" if self._elsewhere(resource) else group, kind.shape)
                    self.box_of[resource.urn] = key
            elif any(self._elsewhere(r) for r in found):  # the DR region's share gets its own box
                away = [r for r in found if self._elsewhere(r)]
                title, lines = DETAILS.get(type_, _default_all)(self, away, kind)
                self._box(f"{kind.box_key}-dr", f"{title} ({away[0].plain('region')})", lines, "dr", kind.shape)
                for resource in away:
                    self.box_of[resource.urn] = f"{kind.box_key}-dr"
                home = [r for r in found if not self._elsewhere(r)]
                if home:
                    title, lines = DETAILS.get(type_, _default_all)(self, home, kind)
                    self._box(kind.box_key, title, lines, kind.group, kind.shape)
                    for resource in home:
                        self.box_of[resource.urn] = kind.box_key
            else:
                key = kind.box_key
                if key in self.boxes:  # a second type drawn in the same box (Bucket and BucketV2)
                    box = self.boxes[key]
                    everything = [r for t, k in BOXES.items() if k.box_key == key for r in run.of_type(t)]
                    box.title, box.lines = DETAILS.get(type_, _default_all)(self, everything, kind)
                else:
                    title, lines = DETAILS.get(type_, _default_all)(self, found, kind)
                    self._box(key, title, lines, kind.group, kind.shape)
                for resource in found:
                    self.box_of[resource.urn] = key
        self._replicas()
        self._security_group_edges()
        self._egress_edges()
        self._load_balancer_edges()
        self._endpoint_edges()
        self._link_edges()
        self._grafana_edges()
        self._schedule_edges()
        self._env_edges()
        self._replication_edges()
        self._alert_edges()
        return self._diagram()

    def _elsewhere(self, resource: Resource) -> bool:
        """Managed in another region than the stack's (a DR-region resource)."""
        region = resource.plain("region")
        return bool(region) and region != self.run.config.get("aws:region")

    def _replication_edges(self) -> None:
        """S3 replication: from the source bucket's box to its replicas' box."""
        for config in self.run.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
            sources = {self.box_of[u] for u in config.property_dependencies.get("bucket", []) if u in self.box_of}
            replicas = {self.box_of[u] for u in config.property_dependencies.get("rules", [])
                        if u in self.box_of and self.by_urn[u].type in ("aws:s3/bucket:Bucket",
                                                                        "aws:s3/bucketV2:BucketV2")}
            for source in sorted(sources):
                for replica in sorted(replicas - {source}):
                    self.add_edge(source, replica, "replication", "control")

    def _box(self, key: str, title: str, lines: list[str], group: str, shape: str = "box") -> None:
        self.boxes[key] = Box(key, title, lines, group, shape)

    def _each_key(self, kind: BoxKind, resource: Resource) -> str:
        return f"{kind.box_key}:{resource.name}"

    def _task_for(self, reference: Any, user: Resource) -> Resource | None:
        tasks = self.run.of_type("aws:ecs/taskDefinition:TaskDefinition")
        deps = set(user.dependencies) | {u for urns in user.property_dependencies.values() for u in urns}
        for task in tasks:
            if reference and reference in (task.outputs.get("arn"), task.plain("family")):
                return task
        linked = [t for t in tasks if t.urn in deps]
        return linked[0] if len(linked) == 1 else None

    def _tasks(self, tasks: list[Resource]) -> None:
        """Task definitions: part of the service that runs them; a box of their own otherwise."""
        for task in sorted(tasks, key=lambda r: r.name):
            owner = self.tasks_run.get(task.urn, "")
            if owner.startswith("svc:"):
                self.box_of[task.urn] = owner
                continue
            key = f"task:{task.name}"
            family = str(task.plain("family") or task.name)
            scheduled = bool(owner)
            what = "scheduled task" if scheduled else "one-off task, run on demand"
            label = family.split("-", 2)[-1] if family.count("-") >= 2 else family.rsplit("-", 1)[-1]
            self._box(key, f"{label} task", [_fargate(task), what], "app")
            self.box_of[task.urn] = key

    def _replicas(self) -> None:
        """Read replicas of one primary are drawn as one box."""
        replicas = [db for db in self.run.of_type("aws:rds/instance:Instance") if db.plain("replicateSourceDb")]
        if not replicas:
            return
        for replica in replicas:
            self.boxes.pop(f"db:{replica.name}", None)
            self.box_of[replica.urn] = "db-replicas"
        classes = sorted({str(r.plain("instanceClass")) for r in replicas})
        self._box("db-replicas", f"read replicas ×{len(replicas)}", [", ".join(classes), "async from the primary"],
                  "data", "store")

    # arrows ----------------------------------------------------------------------------------------------------
    def _members(self) -> dict[str, set[str]]:
        """Security group id → boxes whose resources use it (a group no drawn resource uses belongs to the one-off
        task in its component, e.g. the migration task's group)."""
        groups = {g.id: g for g in self.run.of_type("aws:ec2/securityGroup:SecurityGroup")}
        members: dict[str, set[str]] = {gid: set() for gid in groups}

        def scan(value: Any, box: str) -> None:
            if isinstance(value, str) and value in members:
                members[value].add(box)
            elif isinstance(value, dict):
                for item in value.values():
                    scan(item, box)
            elif isinstance(value, list):
                for item in value:
                    scan(item, box)

        for resource in self.run.resources:
            box = self.box_of.get(resource.urn)
            if resource.type == "aws:scheduler/schedule:Schedule":
                target = resource.plain("target") or {}
                task = self._task_for((target.get("ecsParameters") or {}).get("taskDefinitionArn"), resource)
                box = self.box_of.get(task.urn) if task else None
            if box is not None:
                scan(resource.plain_inputs, box)
        for gid, group in groups.items():
            if members[gid]:
                continue
            component = self.run.component_of(group)
            if component is None:
                continue
            inside = {self.box_of[r.urn] for r in self.run.descendants(component) if r.urn in self.box_of}
            if len(inside) == 1:
                members[gid] = inside
        return members

    def _rules(self) -> list[tuple[str, str, str, Any]]:
        """(direction, this group, other group or CIDR, port) of every security-group rule."""
        rules = []
        for rule in self.run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
            rules.append(("in", str(rule.plain("securityGroupId")), str(rule.plain("referencedSecurityGroupId")
                                                                         or rule.plain("cidrIpv4")
                                                                         or rule.plain("prefixListId") or ""),
                          rule.plain("fromPort")))
        for rule in self.run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):
            rules.append(("out", str(rule.plain("securityGroupId")), str(rule.plain("referencedSecurityGroupId")
                                                                          or rule.plain("cidrIpv4") or ""),
                          rule.plain("fromPort")))
        for rule in self.run.of_type("aws:ec2/securityGroupRule:SecurityGroupRule"):
            other = rule.plain("sourceSecurityGroupId") or ",".join(_ids(rule.plain("cidrBlocks")))
            rules.append(("in" if rule.plain("type") == "ingress" else "out", str(rule.plain("securityGroupId")),
                          str(other or ""), rule.plain("fromPort")))
        return rules

    def _security_group_edges(self) -> None:
        members = self._members()
        self.members = members
        for direction, group, other, port in self._rules():
            if direction != "in":
                continue
            label = str(port) if port not in (None, "", 0, -1) else ""
            if other in members:
                for source in sorted(members[other]):
                    for target in sorted(members.get(group, ())):
                        self.add_edge(source, target, label)
            elif other == "0.0.0.0/0":
                for target in sorted(members.get(group, ())):
                    self._entry(target, "HTTPS" if port == 443 else label)
            elif other.startswith("pl-"):  # a managed prefix list: CloudFront's, in front of its origins
                for target in sorted(members.get(group, ())):
                    for front in self._distributions_of(target):
                        self.add_edge(front, target, "HTTPS" if port == 443 else label)
                        self._entry(front, "HTTPS")
        for lb in self.run.of_type("aws:lb/loadBalancer:LoadBalancer"):
            key = self.box_of.get(lb.urn)
            if key and not lb.plain("internal") and not any(e.target == key or self._via_waf(key) == e.target
                                                          for e in self.edges.values()):
                self._entry(key, "HTTPS")

    def _distributions_of(self, origin: str) -> list[str]:
        """Boxes of the CloudFront distributions whose origin is the `origin` box."""
        return sorted(self.box_of[d.urn] for d in self.run.of_type("aws:cloudfront/distribution:Distribution")
                      if d.urn in self.box_of and origin in {self.box_of.get(u) for u in self.refs(d)})

    def _via_waf(self, target: str) -> str | None:
        for distribution in self.run.of_type("aws:cloudfront/distribution:Distribution"):
            if self.box_of.get(distribution.urn) == target:  # a distribution names its web ACL itself
                return next((b for b in sorted(b for b in (self.box_of.get(u) for u in self.refs(distribution))
                                               if b) if b.startswith("waf:")), None)
        for association in self.run.of_type("aws:wafv2/webAclAssociation:WebAclAssociation"):
            boxes = {self.box_of.get(u) for u in self.refs(association)}
            if target in boxes:
                return next((b for b in sorted(b for b in boxes if b) if b.startswith("waf:")), None)
        return None

    def _entry(self, target: str, label: str) -> None:
        waf = self._via_waf(target)
        if waf:
            self.add_edge("internet", waf, label)
            self.add_edge(waf, target)
        else:
            self.add_edge("internet", target, label)

    def _egress_edges(self) -> None:
        """Egress to 0.0.0.0/0 goes out through the NAT gateways, to the outside APIs the tasks hold keys for."""
        if "nat" not in self.boxes:
            return
        apis: set[str] = set()
        for direction, group, other, port in self._rules():
            if direction == "out" and other == "0.0.0.0/0":
                for source in sorted(self.members.get(group, ())):
                    self.add_edge(source, "nat", "HTTPS" if port == 443 else str(port or ""))
                    apis.update(self._apis_of(source))
        for api in sorted(apis):
            key = "api:" + re.sub(r"[^a-z0-9]+", "-", api.lower()).strip("-")
            self._box(key, api, [], "outside", "actor")
            self.add_edge("nat", key, "HTTPS")

    def _apis_of(self, box: str) -> set[str]:
        found: set[str] = set()
        for task in self.run.of_type("aws:ecs/taskDefinition:TaskDefinition"):
            if self.box_of.get(task.urn) != box:
                continue
            for container in _containers(task):
                names = [s.get("name") for s in container.get("secrets") or []]
                names += [e.get("name") for e in container.get("environment") or []]
                found.update(EXTERNAL_APIS[n] for n in names if n in EXTERNAL_APIS)
        return found

    def _load_balancer_edges(self) -> None:
        """A load balancer forwards to a service when one of its listeners (or their rules) targets the service's
        target group."""
        listener_lb: dict[str, str] = {}
        for listener in self.run.of_type("aws:lb/listener:Listener"):
            lb = next((self.box_of[u] for u in sorted(self.refs(listener))
                       if self.by_urn.get(u) is not None and self.by_urn[u].type == "aws:lb/loadBalancer:LoadBalancer"
                       and u in self.box_of), None)
            if lb:
                listener_lb[listener.urn] = lb
        forwards: dict[str, set[str]] = {}  # target group URN → LB boxes
        for router in self.run.of_type("aws:lb/listener:Listener") + self.run.of_type(
                "aws:lb/listenerRule:ListenerRule"):
            refs = self.refs(router)
            lbs = {listener_lb[u] for u in refs | {router.urn} if u in listener_lb}
            for urn in refs:
                target = self.by_urn.get(urn)
                if target is not None and target.type == "aws:lb/targetGroup:TargetGroup":
                    forwards.setdefault(urn, set()).update(lbs)
        by_arn = {tg.outputs.get("arn"): tg.urn for tg in self.run.of_type("aws:lb/targetGroup:TargetGroup")}
        for service in self.run.of_type("aws:ecs/service:Service"):
            for attachment in service.plain("loadBalancers") or []:
                group = by_arn.get(attachment.get("targetGroupArn"))
                for lb in sorted(forwards.get(group or "", ())):
                    port = attachment.get("containerPort")
                    self.add_edge(lb, self.box_of[service.urn], str(port) if port else "")

    def _endpoint_edges(self) -> None:
        if "endpoints" not in self.boxes:
            return
        region = self.run.config.get("aws:region", "us-east-1")
        for endpoint in self.run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
            service = str(endpoint.plain("serviceName", "")).removeprefix(f"com.amazonaws.{region}.")
            target = ENDPOINT_SERVICES.get(service)
            if target:
                self.add_edge("endpoints", target, "private", "control")

    def _link_edges(self) -> None:
        for link in LINKS:
            for resource in self.run.of_type(link.source):
                # What the resource is wired to, not what it waits for: the alert manager definition waits for the
                # services it watches and the topic key's policy, yet alerts flow from the workspace only.
                wired = sorted(self.refs(resource, ordering=False))
                targets = [self.by_urn[u] for u in wired if u in self.by_urn and self.by_urn[u].type == link.target]
                source_box = self.box_of.get(resource.urn)
                others = [self.box_of[u] for u in wired if u in self.box_of and self.by_urn[u].type != link.target]
                for target in targets:
                    target_box = self.box_of.get(target.urn)
                    if target_box is None:
                        continue
                    starts = [source_box] if source_box else others
                    if link.source == "aws:route53/record:Record":
                        starts = [self._zone_box(resource)]
                    for start in starts:
                        if start is None:
                            continue
                        a, b = (target_box, start) if link.reverse else (start, target_box)
                        self.add_edge(a, b, link.label, "control")

    def _zone_box(self, record: Resource) -> str:
        """The DNS box of a record: its zone when the stack creates it, else one box for the existing zone."""
        for urn in self.refs(record):
            if self.box_of.get(urn, "").startswith("zone:"):
                return self.box_of[urn]
        zone = str(record.plain("name", "")).rstrip(".")
        if "dns" not in self.boxes:
            self._box("dns", "Route 53", [f"{zone} (existing hosted zone)"], "edge")
            self.add_edge("internet", "dns", "DNS", "control")
        return "dns"

    def _grafana_edges(self) -> None:
        """Grafana's Prometheus data source: the workspace (drawn) whose role's policy names the metrics workspace."""
        for grafana in self.run.of_type("aws:grafana/workspace:Workspace"):
            roles = self.refs(grafana)
            for policy in self.run.of_type("aws:iam/rolePolicy:RolePolicy"):
                refs = self.refs(policy)
                if not refs & roles:
                    continue
                for urn in sorted(refs):
                    box = self.box_of.get(urn, "")
                    if box.startswith("prometheus") and grafana.urn in self.box_of:
                        self.add_edge(self.box_of[grafana.urn], box, "queries", "control")

    def _schedule_edges(self) -> None:
        for schedule in self.run.of_type("aws:scheduler/schedule:Schedule"):
            target = schedule.plain("target") or {}
            task = self._task_for((target.get("ecsParameters") or {}).get("taskDefinitionArn"), schedule)
            if task is not None:
                self.add_edge(f"schedule:{schedule.name}", self.box_of[task.urn],
                              str(schedule.plain("scheduleExpression") or "runs"), "control")

    def _env_edges(self) -> None:
        """A task whose environment names a bucket reaches that bucket's box over HTTPS."""
        buckets = {str(b.outputs.get("bucket")): self.box_of.get(b.urn, "s3")
                   for t in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2") for b in self.run.of_type(t)}
        for task in self.run.of_type("aws:ecs/taskDefinition:TaskDefinition"):
            box = self.box_of.get(task.urn)
            for container in _containers(task):
                for variable in container.get("environment") or []:
                    if box and str(variable.get("value")) in buckets:
                        self.add_edge(box, buckets[str(variable.get("value"))], "HTTPS")

    def _alert_edges(self) -> None:
        for subscription in self.run.of_type("aws:sns/topicSubscription:TopicSubscription"):
            topic = next((self.box_of[u] for u in sorted(self.refs(subscription)) if u in self.box_of), None)
            protocol = str(subscription.plain("protocol") or "")
            if topic is None:
                continue
            key = f"subscriber:{protocol}"
            if key not in self.boxes:
                self._box(key, "on-call " + ("email" if protocol == "email" else protocol), [], "ops", "actor")
            self.add_edge(topic, key, protocol, "control")

    # assembling ------------------------------------------------------------------------------------------------
    def _diagram(self) -> Diagram:
        run = self.run
        tiers: dict[str, list[str]] = {}
        for subnet in run.of_type("aws:ec2/subnet:Subnet"):
            tier = str((subnet.plain("tags") or {}).get("tier", "other"))
            tiers.setdefault(tier, []).append(str(subnet.plain("availabilityZone", "")))
        bands = []
        for group, title in GROUPS.items():
            label = title
            if group in TIERS:
                azs = tiers.get(group, [])
                label = f"{group} subnets ×{len(azs)} · {_az_short(azs)}" if azs else f"{group} tier"
            boxes = sorted((b for b in self.boxes.values() if b.style == group), key=lambda b: b.key)
            if not boxes and group in TIERS and group in tiers:
                boxes = [Box(f"empty:{group}", "(nothing placed here yet)", [], group)]
            if boxes:
                bands.append(Band(group, label, group, boxes))
        vpcs = run.of_type("aws:ec2/vpc:Vpc")
        edges = sorted(self.edges.values(), key=lambda e: (e.source, e.target))
        return Diagram(title=f"maratron / {run.stack}", rows=bands,
                       edges=[(e.source, e.target, e.label) for e in edges],
                       kinds={(e.source, e.target): e.kind for e in edges},
                       vpc_label=f"VPC {vpcs[0].plain('cidrBlock')}" if vpcs else "")


# --- per-type details (title and lines) ------------------------------------------------------------------------

Details = Callable[..., tuple[str, list[str]]]


def _default_each(model: _Model, resource: Resource, kind: BoxKind) -> tuple[str, list[str]]:
    name = resource.plain("name")
    return kind.title, [str(name)] if isinstance(name, str) else [resource.name]


def _default_all(model: _Model, resources: list[Resource], kind: BoxKind) -> tuple[str, list[str]]:
    return f"{kind.title} ×{len(resources)}", []


def _zone(model: _Model, zone: Resource, kind: BoxKind) -> tuple[str, list[str]]:
    private = " (private)" if zone.plain("vpcs") else ""
    return f"Route 53{private}", [str(zone.plain("name", zone.name))]


def _certificate(model: _Model, certificates: list[Resource], kind: BoxKind) -> tuple[str, list[str]]:
    domains = sorted({str(c.plain("domainName")) for c in certificates if c.plain("domainName")})
    return "ACM certificate" + (f" ×{len(certificates)}" if len(certificates) > 1 else ""), domains


def _waf(model: _Model, waf: Resource, kind: BoxKind) -> tuple[str, list[str]]:
    scope = str(waf.plain("scope") or "")  # CLOUDFRONT (in front of the distribution) or REGIONAL (on the ALB)
    return "WAF web ACL", [(f"{scope} · " if scope else "") + _plural(len(waf.plain("rules") or []), "rule")]


def _lb(model: _Model, lb: Resource, kind: BoxKind) -> tuple[str, list[str]]:
    azs = [str(model.by_ref[s].plain("availabilityZone")) for s in _ids(lb.plain("subnets")) if s in model.by_ref]
    kind_name = "ALB" if (lb.plain("loadBalancerType") or "application") == "application" else "NLB"
    return kind_name, [("internal" if lb.plain("internal") else "internet-facing") + f" · {len(azs) or '?'} AZs"]


def _nat(model: _Model, nats: list[Resource], kind: BoxKind) -> tuple[str, list[str]]:
    azs = [str(model.by_ref[str(n.plain("subnetId"))].plain("availabilityZone")) for n in nats
           if str(n.plain("subnetId")) in model.by_ref]
    return f"NAT gateway ×{len(nats)}", [f"egress · {_az_short(azs)}"]


def _service(model: _Model, service: Resource, kind: BoxKind) -> tuple[str, list[str]]:
    name = str(service.plain("name") or service.name)
    task = model._task_for(service.plain("taskDefinition"), service)
    return f"{name} ×{int(service.plain('desiredCount', 0) or 0)} tasks", [_fargate(task)]


def _endpoints(model: _Model, endpoints: list[Resource], kind: BoxKind) -> tuple[str, list[str]]:
    prefix = f"com.amazonaws.{model.run.config.get('aws:region', 'us-east-1')}."
    services = sorted(str(e.plain("serviceName", "")).removeprefix(prefix) for e in endpoints)
    return f"VPC endpoints ×{len(endpoints)}", [", ".join(services)]


def _database(model: _Model, db: Resource, kind: BoxKind) -> tuple[str, list[str]]:
    lines = [str(db.plain("instanceClass")) + (" · Multi-AZ" if db.plain("multiAz") else " · single-AZ"),
             f"{db.plain('allocatedStorage', '?')} GB {db.plain('storageType') or ''}".strip()]
    return f"PostgreSQL {db.plain('engineVersion') or ''} primary".replace("  ", " "), lines


def _cache(model: _Model, group: Resource, kind: BoxKind) -> tuple[str, list[str]]:
    if group.plain("numNodeGroups") is not None:
        nodes = int(group.plain("numNodeGroups")) * (int(group.plain("replicasPerNodeGroup") or 0) + 1)
    else:
        nodes = int(group.plain("numCacheClusters") or 1)
    failover = "Multi-AZ failover" if group.plain("multiAzEnabled") or group.plain(
        "automaticFailoverEnabled") else "no failover"
    engine = str(group.plain("engine") or "redis").capitalize()
    return f"{engine} ×{nodes} node{'' if nodes == 1 else 's'}", [str(group.plain("nodeType")), failover]


def _buckets(model: _Model, buckets: list[Resource], kind: BoxKind) -> tuple[str, list[str]]:
    names = sorted(str(b.plain("bucket") or b.name) for b in buckets)
    return f"S3 buckets ×{len(names)}", names


def _keys(model: _Model, keys: list[Resource], kind: BoxKind) -> tuple[str, list[str]]:
    return f"KMS keys ×{len(keys)}", [", ".join(sorted(k.name.rsplit("-", 1)[-1] for k in keys))]


def _logs(model: _Model, groups: list[Resource], kind: BoxKind) -> tuple[str, list[str]]:
    retention = sorted({int(g.plain("retentionInDays") or 0) for g in groups})
    return f"CloudWatch log groups ×{len(groups)}", ["retention " + "/".join(f"{d} d" for d in retention)]


def _schedule(model: _Model, schedule: Resource, kind: BoxKind) -> tuple[str, list[str]]:
    return "EventBridge Scheduler", [f"{schedule.name}: {schedule.plain('scheduleExpression') or ''}".strip()]


def _distribution(model: _Model, distribution: Resource, kind: BoxKind) -> tuple[str, list[str]]:
    viewer = distribution.plain("viewerCertificate") or {}
    cached = [b.get("pathPattern") for b in distribution.plain("orderedCacheBehaviors") or []]
    return "CloudFront", [f"{viewer.get('minimumProtocolVersion', '?')} · {distribution.plain('httpVersion')}",
                          f"{len(cached)} cached paths ({', '.join(cached[:2])}, …)" if cached else "nothing cached"]


def _topic(model: _Model, topic: Resource, kind: BoxKind) -> tuple[str, list[str]]:
    return "SNS topic", [str(topic.plain("name") or topic.name)]


def _prometheus(model: _Model, workspace: Resource, kind: BoxKind) -> tuple[str, list[str]]:
    rules = [r for r in model.run.of_type("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
             if workspace.urn in model.refs(r)]
    alerts = sum(str(r.plain("data") or "").count("- alert:") for r in rules)
    return "Managed Prometheus", [str(workspace.plain("alias") or workspace.name),
                                  f"{alerts} alert rules" + (" · CMK" if workspace.plain("kmsKeyArn") else "")]


DETAILS: dict[str, Details] = {
    "aws:route53/zone:Zone": _zone,
    "aws:acm/certificate:Certificate": _certificate,
    "aws:wafv2/webAcl:WebAcl": _waf,
    "aws:cloudfront/distribution:Distribution": _distribution,
    "aws:lb/loadBalancer:LoadBalancer": _lb,
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:ecs/service:Service": _service,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoints,
    "aws:rds/instance:Instance": _database,
    "aws:elasticache/replicationGroup:ReplicationGroup": _cache,
    "aws:s3/bucket:Bucket": _buckets,
    "aws:s3/bucketV2:BucketV2": _buckets,
    "aws:kms/key:Key": _keys,
    "aws:cloudwatch/logGroup:LogGroup": _logs,
    "aws:scheduler/schedule:Schedule": _schedule,
    "aws:sns/topic:Topic": _topic,
    "aws:amp/workspace:Workspace": _prometheus,
}
"""Richer titles and lines for some types (optional: a type without one gets its BOXES title and a count)."""


def build(run: StackRun) -> Diagram:
    """What to draw for a stack run (groups, boxes, arrows)."""
    return _Model(run).build()


# --- Mermaid -----------------------------------------------------------------------------------------------------

def _node_id(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", key)


def _text(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "#quot;").replace("<", "&lt;").replace(">", "&gt;")


_SHAPES = {"box": ('["', '"]'), "store": ('[("', '")]'), "actor": ('(["', '"])')}


def render_mermaid(diagram: Diagram) -> str:
    """The diagram as a Mermaid flowchart (top to bottom), deterministic."""
    out = ["---", f"title: {diagram.title}", "---", "flowchart TB",
           "  %% Generated by `python -m offline.diagram` (make preview) from the stack's registered resources.",
           "  %% Do not edit: change offline/diagram.py (BOXES, LINKS) or the program."]

    def node(box: Box, indent: str) -> str:
        label = "<b>" + _text(box.title) + "</b>" + "".join("<br/>" + _text(line) for line in box.lines)
        opening, closing = _SHAPES.get(box.shape, _SHAPES["box"])
        return f"{indent}{_node_id(box.key)}{opening}{label}{closing}:::{box.style}"

    def group(band: Band, indent: str) -> list[str]:
        lines = [f'{indent}subgraph {band.key}["{_text(band.label)}"]']
        lines += [node(box, indent + "  ") for box in band.boxes]
        lines.append(f"{indent}end")
        return lines

    tiers = [band for band in diagram.rows if band.key in TIERS]
    for band in diagram.rows:
        if band.key in TIERS:
            if band is tiers[0]:
                out.append(f'  subgraph vpc["{_text(diagram.vpc_label or "VPC")}"]')
                out.append("    direction TB")
                for tier in tiers:
                    out += group(tier, "    ")
                out.append("  end")
            continue
        out += group(band, "  ")
    for source, target, label in diagram.edges:
        dotted = diagram.kinds.get((source, target)) == "control"
        arrow = "-.->" if dotted else "-->"
        if label:
            arrow += f'|"{_text(label)}"|'
        out.append(f"  {_node_id(source)} {arrow} {_node_id(target)}")
    out.append('  subgraph legend["Legend"]')
    out.append('    legend_text["<b>──▶</b> traffic (a port: what a security-group rule allows)<br/>'
               '<b>┄┄▶</b> events, schedules, DNS, alerts, private endpoints<br/>'
               'colours: Internet · edge · public · app · data subnets · regional services · operations'
               '<br/>cylinders hold data"]:::legend')
    out.append("  end")
    for style, (fill, stroke) in STYLES.items():
        out.append(f"  classDef {style} fill:{fill},stroke:{stroke},color:#212121")
    for band in diagram.rows:
        out.append(f"  style {band.key} fill:#fcfcfc,stroke:{STYLES[band.style][1]},stroke-dasharray:4 2")
    if tiers:
        out.append("  style vpc fill:#ffffff,stroke:#9e9e9e")
    out.append("  style legend fill:#ffffff,stroke:#9e9e9e")
    out.append("  classDef legend fill:#ffffff,stroke:#9e9e9e,color:#424242,text-align:left")
    return "\n".join(out) + "\n"


def write(run: StackRun, directory: Path | None = None) -> Path:
    """build/<stack>/architecture.mmd; returns its path."""
    directory = directory or BUILD_DIR / run.stack
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "architecture.mmd"
    path.write_text(render_mermaid(build(run)))
    return path


def main(argv: list[str] | None = None) -> int:
    from offline.engine import available_stacks, run_stack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default="dev", help=f"stack name ({', '.join(available_stacks())})")
    parser.add_argument("--out", type=Path, help="directory (default: build/<stack>)")
    args = parser.parse_args(argv)
    if args.stack not in available_stacks():
        print(f"diagram: unknown stack {args.stack!r}: stacks here are {', '.join(available_stacks())}",
              file=sys.stderr)
        return 2
    run = run_stack(args.stack)
    if not run.ok:
        print(f"diagram: the program failed, no diagram: {run.redacted(str(run.error))}", file=sys.stderr)
        return 1
    path = write(run, args.out)
    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
