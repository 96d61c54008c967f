"""Architecture diagram of a stack, drawn from its own registered resources: `python -m offline.diagram prod`.

Writes build/<stack>/architecture.png and .svg. Pure Python (Pillow, pinned in requirements.txt), so the preview
draws it on a fresh machine without Graphviz. Layout follows the deployment guide's diagram, top to bottom:
Internet → WAF → ALB (public subnets) → ECS services (app subnets) → RDS and Redis (data subnets), with the
regional services the stack uses (S3, KMS, logs, secrets, ECR, monitoring) in a column on the right. Every count
and size comes from the resources (desired tasks, instance classes, replicas, node counts, AZs). Arrows between
boxes are who may reach whom: security-group rules (a rule on B's group that references A's group draws A → B),
a service registered in the load balancer's target group, WAF association.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from offline.engine import ROOT, Resource, StackRun

BUILD_DIR = ROOT / "build"

# colours per kind of box (fill, outline)
STYLES: dict[str, tuple[str, str]] = {
    "external": ("#f5f5f5", "#616161"),
    "edge": ("#fde2e2", "#c62828"),
    "public": ("#e3f2fd", "#1565c0"),
    "app": ("#e8f5e9", "#2e7d32"),
    "data": ("#fff3e0", "#ef6c00"),
    "regional": ("#ede7f6", "#5e35b1"),
}
BAND_FILL = {"public": "#f4f9fe", "app": "#f5fbf5", "data": "#fffaf3"}
FONT_SIZE = 15
SMALL = 13
PAD = 12
GAP = 44


@dataclass
class Box:
    key: str
    title: str
    lines: list[str]
    style: str
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


@dataclass
class Band:
    label: str
    style: str
    boxes: list[Box]
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0


@dataclass
class Diagram:
    title: str
    rows: list[Band]
    """Top to bottom; a band with an empty label is drawn without a frame (Internet, WAF)."""
    side: list[Box]
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    """(from box key, to box key, label)."""
    vpc_label: str = ""
    width: float = 0
    height: float = 0

    def box(self, key: str) -> Box:
        for candidate in self.all_boxes():
            if candidate.key == key:
                return candidate
        raise KeyError(key)

    def all_boxes(self) -> Iterable[Box]:
        for band in self.rows:
            yield from band.boxes
        yield from self.side


# --- model: what to draw ---------------------------------------------------------------------------------------------

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


class _Model:
    def __init__(self, run: StackRun) -> None:
        self.run = run
        self.by_id = {r.id: r for r in run.resources if r.id}
        self.sg_members: dict[str, list[str]] = {}  # security group id -> box keys using it
        self.edges: list[tuple[str, str, str]] = []

    def member(self, key: str, groups: Iterable[str]) -> None:
        for group in groups:
            self.sg_members.setdefault(group, []).append(key)

    def subnet_azs(self, subnet_ids: Iterable[str]) -> list[str]:
        azs = []
        for sid in subnet_ids:
            subnet = self.by_id.get(sid)
            if subnet is not None and subnet.plain("availabilityZone"):
                azs.append(str(subnet.plain("availabilityZone")))
        return azs

    def build(self) -> Diagram:
        run = self.run
        tiers: dict[str, list[str]] = {}
        for subnet in run.of_type("aws:ec2/subnet:Subnet"):
            tier = str((subnet.plain("tags") or {}).get("tier", "other"))
            tiers.setdefault(tier, []).append(str(subnet.plain("availabilityZone", "")))
        vpcs = run.of_type("aws:ec2/vpc:Vpc")

        top = Band("", "external", [Box("internet", "Internet", ["users, Anthropic API"], "external")])
        for zone in run.of_type("aws:route53/zone:Zone"):
            if not zone.plain("vpcs"):  # public zones sit with the Internet; private ones are drawn as regional
                top.boxes.append(Box(f"zone:{zone.name}", "Route 53", [str(zone.plain("name", zone.name))],
                                     "external"))
        rows = [top]
        wafs = run.of_type("aws:wafv2/webAcl:WebAcl")
        if wafs:
            rows.append(Band("", "edge", [
                Box(f"waf:{w.name}", "WAF web ACL", [_plural(len(w.plain("rules") or []), "rule")], "edge")
                for w in wafs]))
            self.edges.extend(("internet", f"waf:{w.name}", "HTTPS") for w in wafs)

        public = Band(self._band_label("public", tiers), "public", [])
        for lb in run.of_type("aws:lb/loadBalancer:LoadBalancer") + run.of_type("aws:alb/loadBalancer:LoadBalancer"):
            azs = self.subnet_azs(_ids(lb.plain("subnets")))
            kind = "ALB" if (lb.plain("loadBalancerType") or "application") == "application" else "NLB"
            lines = [("internal" if lb.plain("internal") else "internet-facing") + f" · {len(azs) or '?'} AZs"]
            public.boxes.append(Box(f"lb:{lb.name}", kind, lines, "public"))
            self.member(f"lb:{lb.name}", _ids(lb.plain("securityGroups")))
            entry = (rows[-1].boxes[0].key, "") if wafs else ("internet", "HTTPS")
            self.edges.append((entry[0], f"lb:{lb.name}", entry[1]))
        nats = run.of_type("aws:ec2/natGateway:NatGateway")
        if nats:
            azs = self.subnet_azs(r.plain("subnetId") for r in nats)
            public.boxes.append(Box("nat", f"NAT gateway ×{len(nats)}", [f"egress · {_az_short(azs)}"], "public"))

        app = Band(self._band_label("app", tiers), "app", [])
        # services behind the load balancer first, so the request path reads left to right
        for service in sorted(run.of_type("aws:ecs/service:Service"),
                              key=lambda r: (not r.plain("loadBalancers"), str(r.plain("name") or r.name))):
            key = f"svc:{service.name}"
            app.boxes.append(Box(key, self._service_title(service), self._service_lines(service), "app"))
            network = service.plain("networkConfiguration") or {}
            self.member(key, _ids(network.get("securityGroups")))
            for attachment in service.plain("loadBalancers") or []:
                self._lb_edge(key, attachment.get("targetGroupArn"))
        endpoints = [e for e in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
                     if e.plain("vpcEndpointType") == "Interface"]
        if endpoints:
            region_prefix = f"com.amazonaws.{self.run.config.get('aws:region', 'us-east-1')}."
            services = [str(e.plain("serviceName", "")).removeprefix(region_prefix) for e in endpoints]
            app.boxes.append(Box("endpoints", f"VPC endpoints ×{len(endpoints)}", [", ".join(services)], "app"))

        data = Band(self._band_label("data", tiers), "data", [])
        instances = run.of_type("aws:rds/instance:Instance")
        primaries = [db for db in instances if not db.plain("replicateSourceDb")]
        replicas = [db for db in instances if db.plain("replicateSourceDb")]
        for db in primaries:
            lines = [str(db.plain("instanceClass")) + (" · Multi-AZ" if db.plain("multiAz") else " · single-AZ"),
                     f"{db.plain('allocatedStorage', '?')} GB {db.plain('storageType') or ''}".strip()]
            data.boxes.append(Box(f"db:{db.name}", f"PostgreSQL {db.plain('engineVersion') or ''} primary".replace(
                "  ", " "), lines, "data"))
            self.member(f"db:{db.name}", _ids(db.plain("vpcSecurityGroupIds")))
        if replicas:
            classes = sorted({str(r.plain("instanceClass")) for r in replicas})
            data.boxes.append(Box("db-replicas", f"read replicas ×{len(replicas)}",
                                  [", ".join(classes), "async from the primary"], "data"))
            for replica in replicas:
                self.member("db-replicas", _ids(replica.plain("vpcSecurityGroupIds")))
            for db in primaries:
                self.edges.append((f"db:{db.name}", "db-replicas", "replication"))
        for group in run.of_type("aws:elasticache/replicationGroup:ReplicationGroup"):
            if group.plain("numNodeGroups") is not None:
                nodes = int(group.plain("numNodeGroups")) * (int(group.plain("replicasPerNodeGroup") or 0) + 1)
            else:
                nodes = int(group.plain("numCacheClusters") or 1)
            failover = "Multi-AZ failover" if group.plain("multiAzEnabled") or group.plain(
                "automaticFailoverEnabled") else "no failover"
            engine = str(group.plain("engine") or "redis").capitalize()
            data.boxes.append(Box(f"cache:{group.name}", f"{engine} ×{nodes} nodes",
                                  [str(group.plain("nodeType")), failover], "data"))
            self.member(f"cache:{group.name}", _ids(group.plain("securityGroupIds")))

        side = self._side_boxes()
        self._sg_edges()
        for band, tier in ((public, "public"), (app, "app"), (data, "data")):
            if not band.boxes and tier in tiers:  # the subnets exist, nothing runs in them yet
                band.boxes.append(Box(f"empty:{tier}", "(nothing placed here yet)", [], tier))
        band_rows = [band for band in (public, app, data) if band.boxes]
        cidr = vpcs[0].plain("cidrBlock") if vpcs else ""
        edges = self._fallback_edges(app, data, band_rows)
        return Diagram(title=f"maratron / {run.stack}", rows=rows + band_rows, side=side, edges=edges,
                       vpc_label=f"VPC {cidr}" if vpcs else "")

    def _band_label(self, tier: str, tiers: dict[str, list[str]]) -> str:
        azs = tiers.get(tier, [])
        return f"{tier} subnets ×{len(azs)} · {_az_short(azs)}" if azs else f"{tier} tier"

    def _task(self, service: Resource) -> Resource | None:
        urns = set(service.property_dependencies.get("taskDefinition", []))
        for task in self.run.of_type("aws:ecs/taskDefinition:TaskDefinition"):
            if task.urn in urns or service.plain("taskDefinition") in (task.outputs.get("arn"), task.plain("family")):
                return task
        return None

    def _service_title(self, service: Resource) -> str:
        name = str(service.plain("name") or service.name)
        return f"{name} ×{int(service.plain('desiredCount', 0) or 0)} tasks"

    def _service_lines(self, service: Resource) -> list[str]:
        task = self._task(service)
        if task is None:
            return ["ECS service"]
        vcpu = float(task.plain("cpu", 0)) / 1024
        memory = float(task.plain("memory", 0)) / 1024
        arch = str((task.plain("runtimePlatform") or {}).get("cpuArchitecture", "X86_64"))
        return [f"Fargate {vcpu:g} vCPU / {memory:g} GB {arch}"]

    def _lb_edge(self, service_key: str, target_group_arn: Any) -> None:
        for group in self.run.of_type("aws:lb/targetGroup:TargetGroup"):
            if group.outputs.get("arn") != target_group_arn:
                continue
            for listener in self.run.of_type("aws:lb/listener:Listener"):
                actions = listener.plain("defaultActions") or []
                if any(a.get("targetGroupArn") == target_group_arn for a in actions):
                    lb = self._resource_with_arn(listener.plain("loadBalancerArn"))
                    if lb is not None:
                        self.edges.append((f"lb:{lb.name}", service_key, ""))

    def _resource_with_arn(self, arn: Any) -> Resource | None:
        for resource in self.run.resources:
            if arn and resource.outputs.get("arn") == arn:
                return resource
        return None

    def _sg_edges(self) -> None:
        """A → B for every ingress rule on B's security group that references A's group."""
        rules: list[tuple[str, str, Any]] = []
        for rule in self.run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
            rules.append((str(rule.plain("securityGroupId")), str(rule.plain("referencedSecurityGroupId") or ""),
                          rule.plain("fromPort")))
        for rule in self.run.of_type("aws:ec2/securityGroupRule:SecurityGroupRule"):
            if rule.plain("type") == "ingress":
                rules.append((str(rule.plain("securityGroupId")), str(rule.plain("sourceSecurityGroupId") or ""),
                              rule.plain("fromPort")))
        for target_group, source_group, _port in rules:
            for source in self.sg_members.get(source_group, []):
                for target in self.sg_members.get(target_group, []):
                    if source != target and not any(e[0] == source and e[1] == target for e in self.edges):
                        self.edges.append((source, target, ""))

    def _fallback_edges(self, app: Band, data: Band, bands: list[Band]) -> list[tuple[str, str, str]]:
        """Without security-group evidence, the app tier is drawn reaching the data tier (as the guide shows it)."""
        edges = list(self.edges)
        services = [b.key for b in app.boxes if b.key.startswith("svc:")]
        for box in data.boxes:
            if box.key == "db-replicas" or box.key.startswith("empty:") or any(e[1] == box.key for e in edges):
                continue
            edges.extend((s, box.key, "") for s in services)
        if not any(e[1].startswith("svc:") for e in edges) and services:
            first = next((b.key for b in bands[0].boxes if b.key.startswith("lb:")), None) if bands else None
            edges.extend((first, s, "") for s in services if first)
        return edges

    def _side_boxes(self) -> list[Box]:
        run = self.run
        side: list[Box] = []

        def names(type_: str, attribute: str | None = None) -> list[str]:
            found = []
            for r in run.of_type(type_):
                found.append(str(r.plain(attribute) if attribute and r.plain(attribute) else r.name))
            return found

        buckets = names("aws:s3/bucket:Bucket") + names("aws:s3/bucketV2:BucketV2")
        if buckets:
            side.append(Box("s3", f"S3 buckets ×{len(buckets)}", buckets, "regional"))
        keys = names("aws:kms/key:Key")
        if keys:
            side.append(Box("kms", f"KMS keys ×{len(keys)}", [", ".join(k.rsplit("-", 1)[-1] for k in keys)],
                            "regional"))
        logs = run.of_type("aws:cloudwatch/logGroup:LogGroup")
        if logs:
            retention = sorted({int(g.plain("retentionInDays") or 0) for g in logs})
            side.append(Box("logs", f"CloudWatch log groups ×{len(logs)}",
                            ["retention " + "/".join(f"{d} d" for d in retention)], "regional"))
        secrets = names("aws:secretsmanager/secret:Secret")
        if secrets:
            side.append(Box("secrets", f"Secrets Manager ×{len(secrets)}", secrets[:4] + (
                [f"+{len(secrets) - 4} more"] if len(secrets) > 4 else []), "regional"))
        repos = names("aws:ecr/repository:Repository")
        if repos:
            side.append(Box("ecr", f"ECR repositories ×{len(repos)}", repos, "regional"))
        private_zones = [str(z.plain("name", z.name)) for z in run.of_type("aws:route53/zone:Zone") if z.plain("vpcs")]
        if private_zones:
            side.append(Box("private-zones", "Route 53 private zones", private_zones, "regional"))
        alarms = run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        dashboards = run.of_type("aws:cloudwatch/dashboard:Dashboard")
        if alarms or dashboards:
            side.append(Box("monitoring", "Monitoring", [_plural(len(alarms), "alarm"),
                                                         _plural(len(dashboards), "dashboard")], "regional"))
        return side


def build(run: StackRun) -> Diagram:
    """What to draw for a stack run (boxes, bands, edges), before any layout."""
    return _Model(run).build()


# --- layout and rendering --------------------------------------------------------------------------------------------

@functools.cache
def _fonts() -> tuple[Any, Any, Any, bool]:
    """(title-of-box, body, heading) fonts and whether they draw "×": DejaVu Sans where the system has it (most
    Linux machines, CI images), else Pillow's bundled font, which lacks "×" (drawn as "x" then)."""
    from PIL import ImageFont

    try:
        return (ImageFont.truetype("DejaVuSans-Bold.ttf", FONT_SIZE), ImageFont.truetype("DejaVuSans.ttf", SMALL),
                ImageFont.truetype("DejaVuSans.ttf", FONT_SIZE + 5), True)
    except OSError:
        return (ImageFont.load_default(size=FONT_SIZE), ImageFont.load_default(size=SMALL),
                ImageFont.load_default(size=FONT_SIZE + 5), False)


def _drawable(text: str) -> str:
    return text if _fonts()[3] else text.replace("×", "x")


def layout(diagram: Diagram) -> Diagram:
    """Sizes and positions, in pixels."""
    bold, small, _, _ = _fonts()
    for box in diagram.all_boxes():
        widths = [bold.getlength(_drawable(box.title))] + [small.getlength(_drawable(line)) for line in box.lines]
        box.w = max(widths) + 2 * PAD
        box.h = PAD * 2 + FONT_SIZE + len(box.lines) * (SMALL + 5) + 2
    band_widths = [sum(b.w for b in band.boxes) + GAP * (len(band.boxes) + 1) for band in diagram.rows]
    main_width = max([*band_widths, 500])
    margin = 30
    y = 70.0
    for band in diagram.rows:
        framed = bool(band.label)
        band.x, band.w = margin + 20, main_width
        band.y = y
        inner_top = y + (26 if framed else 0)
        height = max(b.h for b in band.boxes)
        total = sum(b.w for b in band.boxes) + GAP * (len(band.boxes) - 1)
        x = band.x + (band.w - total) / 2
        for box in band.boxes:
            box.x, box.y = x, inner_top + (height - box.h) / 2
            x += box.w + GAP
        band.h = (inner_top - y) + height + (14 if framed else 0)
        y += band.h + GAP + 10
    side_x = margin + 20 + main_width + 2 * GAP + 20
    side_width = max((b.w for b in diagram.side), default=0)
    side_y = 70.0
    for box in diagram.side:
        box.w = side_width
        box.x, box.y = side_x, side_y
        side_y += box.h + 14
    diagram.width = side_x + side_width + margin if diagram.side else margin * 2 + main_width + 40
    diagram.height = max(y, side_y) + 20
    return diagram


def _routes(diagram: Diagram) -> list[tuple[tuple[float, float], tuple[float, float], str]]:
    """Start and end points of every edge: horizontal within a row; between rows, the edges leaving (entering) one
    box are spread along its bottom (top) side in the order of their other ends, so a fan of arrows stays legible."""
    routes: list[tuple[Box, Box, str]] = [(diagram.box(a), diagram.box(b), label) for a, b, label in diagram.edges]
    leaving: dict[str, list[tuple[float, int]]] = {}
    entering: dict[str, list[tuple[float, int]]] = {}
    for index, (source, target, _) in enumerate(routes):
        if abs(source.y - target.y) >= 5:
            leaving.setdefault(source.key, []).append((target.center[0], index))
            entering.setdefault(target.key, []).append((source.center[0], index))

    def spot(box: Box, group: list[tuple[float, int]], index: int) -> float:
        order = [i for _, i in sorted(group)]
        return box.x + box.w * (order.index(index) + 1) / (len(order) + 1)

    points = []
    for index, (source, target, label) in enumerate(routes):
        if abs(source.y - target.y) < 5:
            if source.x < target.x:
                start, end = (source.x + source.w, source.center[1]), (target.x, target.center[1])
            else:
                start, end = (source.x, source.center[1]), (target.x + target.w, target.center[1])
            points.append((start, end, ""))
            continue
        down = source.y < target.y
        start = (spot(source, leaving[source.key], index), source.y + source.h if down else source.y)
        end = (spot(target, entering[target.key], index), target.y if down else target.y + target.h)
        points.append((start, end, label))
    return points


def _arrow_head(start: tuple[float, float], end: tuple[float, float]) -> list[tuple[float, float]]:
    import math

    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    size = 10
    return [end,
            (end[0] - size * math.cos(angle - 0.4), end[1] - size * math.sin(angle - 0.4)),
            (end[0] - size * math.cos(angle + 0.4), end[1] - size * math.sin(angle + 0.4))]


def render_png(diagram: Diagram, path: Path) -> Path:
    from PIL import Image, ImageDraw

    bold, small, title_font, _ = _fonts()
    image = Image.new("RGB", (int(diagram.width), int(diagram.height)), "white")
    draw = ImageDraw.Draw(image)
    draw.text((30, 22), diagram.title, fill="#212121", font=title_font)
    framed = [band for band in diagram.rows if band.label]
    if framed and diagram.vpc_label:
        left, top = framed[0].x - 14, framed[0].y - 30
        right, bottom = framed[0].x + framed[0].w + 14, framed[-1].y + framed[-1].h + 10
        draw.rounded_rectangle((left, top, right, bottom), radius=10, outline="#9e9e9e", width=2)
        draw.text((left + 10, top + 6), diagram.vpc_label, fill="#616161", font=small)
    for band in framed:
        draw.rounded_rectangle((band.x, band.y, band.x + band.w, band.y + band.h), radius=8,
                               fill=BAND_FILL.get(band.style, "#fafafa"), outline=STYLES[band.style][1])
        draw.text((band.x + 10, band.y + 6), _drawable(band.label), fill=STYLES[band.style][1], font=small)
    if diagram.side:
        first = diagram.side[0]
        draw.text((first.x, first.y - 24), "regional services", fill="#5e35b1", font=small)
    for start, end, label in _routes(diagram):
        draw.line((start, end), fill="#424242", width=2)
        draw.polygon(_arrow_head(start, end), fill="#424242")
        if label:
            draw.text(((start[0] + end[0]) / 2 + 4, (start[1] + end[1]) / 2 - SMALL), label, fill="#424242",
                      font=small)
    for box in diagram.all_boxes():
        fill, outline = STYLES[box.style]
        draw.rounded_rectangle((box.x, box.y, box.x + box.w, box.y + box.h), radius=6, fill=fill, outline=outline,
                               width=2)
        draw.text((box.x + PAD, box.y + PAD), _drawable(box.title), fill="#212121", font=bold)
        for index, line in enumerate(box.lines):
            draw.text((box.x + PAD, box.y + PAD + FONT_SIZE + 4 + index * (SMALL + 5)), _drawable(line), fill="#424242",
                      font=small)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=False)
    return path


def render_svg(diagram: Diagram, path: Path) -> Path:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{diagram.width:.0f}" height="{diagram.height:.0f}" '
           'font-family="DejaVu Sans, Arial, sans-serif">',
           '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="10" refY="4" orient="auto">'
           '<path d="M0,0 L10,4 L0,8 z" fill="#424242"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="30" y="42" font-size="20">{escape(diagram.title)}</text>']
    for band in (b for b in diagram.rows if b.label):
        out.append(f'<rect x="{band.x:.0f}" y="{band.y:.0f}" width="{band.w:.0f}" height="{band.h:.0f}" rx="8" '
                   f'fill="{BAND_FILL.get(band.style, "#fafafa")}" stroke="{STYLES[band.style][1]}"/>')
        out.append(f'<text x="{band.x + 10:.0f}" y="{band.y + 18:.0f}" font-size="{SMALL}" '
                   f'fill="{STYLES[band.style][1]}">{escape(band.label)}</text>')
    for (x1, y1), (x2, y2), label in _routes(diagram):
        out.append(f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="#424242" '
                   'stroke-width="2" marker-end="url(#arrow)"/>')
        if label:
            out.append(f'<text x="{(x1 + x2) / 2 + 4:.0f}" y="{(y1 + y2) / 2:.0f}" font-size="{SMALL}">'
                       f'{escape(label)}</text>')
    for box in diagram.all_boxes():
        fill, outline = STYLES[box.style]
        out.append(f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{box.w:.0f}" height="{box.h:.0f}" rx="6" '
                   f'fill="{fill}" stroke="{outline}" stroke-width="2"/>')
        out.append(f'<text x="{box.x + PAD:.0f}" y="{box.y + PAD + FONT_SIZE - 2:.0f}" font-size="{FONT_SIZE}" '
                   f'font-weight="bold">{escape(box.title)}</text>')
        for index, line in enumerate(box.lines):
            y = box.y + PAD + FONT_SIZE + 4 + index * (SMALL + 5) + SMALL - 2
            out.append(f'<text x="{box.x + PAD:.0f}" y="{y:.0f}" font-size="{SMALL}" fill="#424242">'
                       f'{escape(line)}</text>')
    out.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n")
    return path


def write(run: StackRun, directory: Path | None = None) -> list[Path]:
    """Draw the stack: build/<stack>/architecture.png and .svg; returns the paths."""
    directory = directory or BUILD_DIR / run.stack
    diagram = layout(build(run))
    return [render_png(diagram, directory / "architecture.png"), render_svg(diagram, directory / "architecture.svg")]


def main(argv: list[str] | None = None) -> int:
    from offline.engine import available_stacks, run_stack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default="dev", help=f"stack name ({', '.join(available_stacks())})")
    parser.add_argument("--out", type=Path, help="directory (default: build/<stack>)")
    args = parser.parse_args(argv)
    run = run_stack(args.stack)
    if not run.ok:
        print(f"the program failed, no diagram: {run.error}", file=sys.stderr)
        return 1
    for path in write(run, args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
