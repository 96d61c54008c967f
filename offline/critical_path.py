"""How long a first `pulumi up` takes: the longest chain of dependent resources, `python -m offline.critical_path prod`.

The engine creates a resource as soon as everything it waits for exists, many at a time. From the recorded
registrations a resource waits for:
- every URN in its `dependencies` and `propertyDependencies` (a component there stands for all its descendants:
  depending on a component means depending on everything in it);
- its parent, when the parent is a custom resource (the child needs the parent's outputs, e.g. its id);
- what its component's parent chain waits for (a component registers once its own dependencies exist, so its
  children start no earlier).
Each resource then takes its typical provisioning time (TIMES; FIELD-NOTES: terraform-provider-aws acceptance runs),
and the critical path is the chain that ends last. Unlimited parallelism is assumed (Pulumi's default is
effectively unbounded for a stack this size), and API throttling and retries are ignored.

Target rule (bench/critical_path.py): the whole deploy must not take longer than the chain it cannot avoid — the
longest chain made *only* of RDS instances (a primary, then the replicas that copy it; or, with no database, the
single slowest resource), or the primary then an ECS service when that is longer (the services need the writer's
endpoint in DATABASE_URL; with no replicas this is the longer chain) — plus SLACK_MINUTES for the seconds-long
resources ahead of it. Anything that finishes
after that bound is an offender, reported with the slow resource it waits for.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

from offline.engine import Resource, StackRun

SECONDS = 0.1  # minutes: "everything else takes seconds"
SLACK_MINUTES = 2.0
SLOW_MINUTES = 1.0  # at or above this a resource counts as slow


@dataclass(frozen=True)
class Timing:
    minutes: float
    observed: str
    """What the figure rests on."""


def timing(resource: Resource) -> Timing:
    """Typical create time of one resource, from its type and the inputs that change it."""
    t = resource.type
    if t == "aws:rds/instance:Instance":
        if resource.plain("replicateSourceDb"):
            return Timing(15, "read replica ~15 min (primary + replica 23-31 min)")
        if resource.plain("multiAz"):
            return Timing(15, "Multi-AZ primary ~15 min")
        return Timing(8, "single-AZ instance ~8 min")
    if t == "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication":
        return Timing(5, "cross-region backup replication start ~5 min (assumed, not measured)")
    if t == "aws:rds/cluster:Cluster":
        return Timing(8, "Aurora cluster ~5-10 min")
    if t == "aws:rds/clusterInstance:ClusterInstance":
        return Timing(10, "Aurora instance ~8-12 min")
    if t == "aws:elasticache/replicationGroup:ReplicationGroup":
        groups = resource.plain("numNodeGroups")
        nodes = int(resource.plain("numCacheClusters") or 1) if groups is None else 2
        if resource.plain("multiAzEnabled") or resource.plain("automaticFailoverEnabled") or nodes > 1:
            return Timing(15, "Multi-AZ replication group 13-18 min")
        return Timing(8, "single-node replication group ~6-10 min (assumed)")
    if t == "aws:elasticache/cluster:Cluster":
        return Timing(8, "cache cluster ~6-10 min (assumed)")
    if t == "aws:ec2/natGateway:NatGateway":
        return Timing(5, "NAT gateway up to 5-10 min")
    if t in ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"):
        return Timing(3, "load balancer ~3 min")
    if t == "aws:acm/certificateValidation:CertificateValidation":
        return Timing(3, "ACM DNS validation ~2-5 min")
    if t == "aws:ecs/service:Service":
        if resource.plain("waitForSteadyState"):
            return Timing(8, "ECS service waiting for steady state ~5-10 min")
        return Timing(3, "ECS service ~2-5 min (steady state not awaited)")
    if t == "aws:ec2/vpcEndpoint:VpcEndpoint" and resource.plain("vpcEndpointType") == "Interface":
        return Timing(2, "interface endpoint ~1-3 min")
    if t == "aws:cloudfront/distribution:Distribution":
        return Timing(5, "CloudFront distribution ~3-8 min")
    if t.startswith(("docker:", "docker-build:")):
        return Timing(3, "image build and push ~2-5 min (assumed; depends on the image)")
    return Timing(SECONDS, "seconds")


@dataclass
class Step:
    resource: Resource
    start: float
    finish: float
    timing: Timing
    waits_for: Resource | None
    """The predecessor whose finish this resource's start equals (None: starts at once)."""


@dataclass
class CriticalPath:
    stack: str
    steps: dict[str, Step]
    chain: list[Step]
    unavoidable: list[Step]
    bound: float
    offenders: list[tuple[Step, Step | None]] = field(default_factory=list)
    """(resource finishing after the bound, the slow resource it waits for)."""

    @property
    def total(self) -> float:
        return self.chain[-1].finish if self.chain else 0.0

    @property
    def unavoidable_minutes(self) -> float:
        return sum(step.timing.minutes for step in self.unavoidable)

    @property
    def met(self) -> bool:
        return self.total <= self.bound + 1e-9

    def slow_off_path(self) -> list[Step]:
        on_path = {step.resource.urn for step in self.chain}
        return sorted((s for s in self.steps.values()
                       if s.timing.minutes >= SLOW_MINUTES and s.resource.urn not in on_path),
                      key=lambda s: -s.finish)


def _waits(run: StackRun, resource: Resource, by_urn: dict[str, Resource],
           descendants: dict[str, list[str]]) -> set[str]:
    """The custom resources `resource` waits for (URNs)."""
    direct = set(resource.dependencies)
    for urns in resource.property_dependencies.values():
        direct.update(urns)
    waits: set[str] = set()
    for urn in direct:
        target = by_urn.get(urn)
        if target is None:
            continue
        if target.custom:
            waits.add(urn)
        else:  # a component: all of its custom descendants
            waits.update(descendants.get(urn, []))
    parent = by_urn.get(resource.parent)
    if parent is not None:
        if parent.custom:
            waits.add(parent.urn)
        elif parent.type != "pulumi:pulumi:Stack":
            waits.update(_waits(run, parent, by_urn, descendants))
    waits.discard(resource.urn)
    return waits


def analyse(run: StackRun) -> CriticalPath:
    by_urn = {r.urn: r for r in run.resources}
    children: dict[str, list[Resource]] = {}
    for r in run.resources:
        children.setdefault(r.parent, []).append(r)
    descendants: dict[str, list[str]] = {}

    def collect(urn: str) -> list[str]:
        if urn not in descendants:
            found: list[str] = []
            for child in children.get(urn, []):
                if child.custom:
                    found.append(child.urn)
                found.extend(collect(child.urn))
            descendants[urn] = found
        return descendants[urn]

    for r in run.resources:
        collect(r.urn)
    custom = [r for r in run.resources if r.custom]
    waits = {r.urn: _waits(run, r, by_urn, descendants) for r in custom}
    steps: dict[str, Step] = {}
    visiting: set[str] = set()

    def place(urn: str) -> Step:
        if urn in steps:
            return steps[urn]
        if urn in visiting:
            raise ValueError(f"dependency cycle through {urn}")
        visiting.add(urn)
        resource = by_urn[urn]
        before = [place(u) for u in sorted(waits[urn])]
        latest = max(before, key=lambda s: (s.finish, s.timing.minutes), default=None)
        start = latest.finish if latest else 0.0
        how_long = timing(resource)
        steps[urn] = Step(resource, start, start + how_long.minutes, how_long,
                          latest.resource if latest else None)
        visiting.discard(urn)
        return steps[urn]

    for r in custom:
        place(r.urn)

    def chain_to(step: Step | None) -> list[Step]:
        chain: list[Step] = []
        while step is not None:
            chain.append(step)
            step = steps[step.waits_for.urn] if step.waits_for else None
        return list(reversed(chain))

    last = max(steps.values(), key=lambda s: (s.finish, s.timing.minutes), default=None)
    chain = chain_to(last)
    unavoidable = _unavoidable_chain(steps, waits)
    services = [s for s in steps.values() if s.resource.type == "aws:ecs/service:Service"]
    if unavoidable and services and unavoidable[0].resource.type == "aws:rds/instance:Instance":
        # The services truly need the writer's endpoint (DATABASE_URL embeds it), so primary → service is
        # unavoidable too; with no replicas (dev) it is the longer of the two.
        via_service = [unavoidable[0], max(services, key=lambda s: s.timing.minutes)]
        if sum(s.timing.minutes for s in via_service) > sum(s.timing.minutes for s in unavoidable):
            unavoidable = via_service
    bound = sum(s.timing.minutes for s in unavoidable) + SLACK_MINUTES
    result = CriticalPath(stack=run.stack, steps=steps, chain=chain, unavoidable=unavoidable, bound=bound)
    for step in sorted(steps.values(), key=lambda s: -s.finish):
        if step.finish > bound + 1e-9 and step.timing.minutes >= SLOW_MINUTES:
            result.offenders.append((step, _slowest_before(step, steps)))
    return result


def _unavoidable_chain(steps: dict[str, Step], waits: dict[str, set[str]]) -> list[Step]:
    """The longest chain of RDS instances waiting on RDS instances; with no database, the slowest single resource."""
    rds = {urn: s for urn, s in steps.items() if s.resource.type == "aws:rds/instance:Instance"}
    best: dict[str, list[Step]] = {}

    def reachable_rds(urn: str, seen: set[str]) -> set[str]:
        found: set[str] = set()
        for before in waits[urn]:
            if before in seen:
                continue
            seen.add(before)
            if before in rds:
                found.add(before)
            else:
                found |= reachable_rds(before, seen)
        return found

    def longest(urn: str) -> list[Step]:
        if urn not in best:
            options = [longest(u) for u in reachable_rds(urn, set())]
            prefix = max(options, key=lambda c: sum(s.timing.minutes for s in c), default=[])
            best[urn] = [*prefix, rds[urn]]
        return best[urn]

    chains = [longest(urn) for urn in rds]
    if chains:
        return max(chains, key=lambda c: sum(s.timing.minutes for s in c))
    slowest = max(steps.values(), key=lambda s: s.timing.minutes, default=None)
    return [slowest] if slowest else []


def _slowest_before(step: Step, steps: dict[str, Step]) -> Step | None:
    """The slowest resource on the chain leading to `step` (what makes it late); ties: the one done last."""
    slowest: Step | None = None
    current = steps[step.waits_for.urn] if step.waits_for else None
    while current is not None:
        if current.timing.minutes >= SLOW_MINUTES and (
                slowest is None or (current.timing.minutes, current.finish) > (slowest.timing.minutes, slowest.finish)):
            slowest = current
        current = steps[current.waits_for.urn] if current.waits_for else None
    return slowest


def _label(resource: Resource) -> str:
    return f"{resource.name} ({resource.type.split(':')[1]})"


def rule_text(path: CriticalPath) -> str:
    has_rds = any(s.resource.type == "aws:rds/instance:Instance" for s in path.unavoidable)
    via_service = any(s.resource.type == "aws:ecs/service:Service" for s in path.unavoidable)
    what = ("the RDS primary then a service that needs its endpoint" if via_service
            else "the RDS chain (primary then replicas)" if has_rds
            else "the slowest single resource (no RDS chain)")
    chain = " → ".join(f"{s.resource.name} {s.timing.minutes:g}" for s in path.unavoidable) or "nothing"
    return (f"rule: total ≤ {what} + {SLACK_MINUTES:g} min slack = {chain} + {SLACK_MINUTES:g} = "
            f"{path.bound:g} min")


def render(path: CriticalPath) -> list[str]:
    lines = [f"~{path.total:.0f} min for a first `pulumi up` of {path.stack} (typical create times, unlimited "
             "parallelism); the longest chain:"]
    for step in path.chain:
        lines.append(f"  {step.finish:>5.1f} min  +{step.timing.minutes:<4g} {_label(step.resource)} — "
                     f"{step.timing.observed}")
    status = "ok" if path.met else "EXCEEDED"
    lines.append(f"  target: {rule_text(path)}: {status}")
    for step, cause in path.offenders:
        because = f" because it waits for {_label(cause.resource)} (done at {cause.finish:.1f} min)" if cause else ""
        lines.append(f"  offender: {_label(step.resource)} finishes at {step.finish:.1f} min{because}")
    off = path.slow_off_path()
    if off:
        lines.append("Slow resources not on the path (done by):")
        for step in off:
            lines.append(f"  {step.finish:>5.1f} min  {_label(step.resource)} — {step.timing.observed}")
    return lines


def main(argv: list[str] | None = None) -> int:
    from offline.engine import available_stacks, run_stack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default="dev", help=f"stack name ({', '.join(available_stacks())})")
    args = parser.parse_args(argv)
    run = run_stack(args.stack)
    if not run.ok:
        print(f"the program failed, no estimate: {run.error}", file=sys.stderr)
        return 1
    path = analyse(run)
    print("\n".join(render(path)))
    return 0 if path.met else 1


if __name__ == "__main__":
    sys.exit(main())
