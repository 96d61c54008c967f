"""How long a first `pulumi up` takes, and whether anything waits on a slow resource it does not need.

The one deploy-time model: `make preview` prints it, `python -m bench.critical_path` prints it per stack, and the
tests assert it. `python -m offline.critical_path prod` prints one stack.

The engine creates a resource as soon as everything it waits for exists, many at a time. From the recorded
registrations a resource waits for:
- every URN in its `dependencies` and `propertyDependencies` (a component there stands for all its descendants:
  depending on a component means depending on everything in it);
- its parent, when the parent is a custom resource (the child needs the parent's outputs, e.g. its id);
- what its component's parent chain waits for (a component registers once its own dependencies exist, so its
  children start no earlier).
Each resource then takes its typical create time (DURATIONS), and the critical path is the chain that ends last.
Unlimited parallelism is assumed (Pulumi's default is effectively unbounded for a stack this size), and API
throttling and retries are ignored.

Design target (what the guide's "replicas never hold up the app" means in minutes): the app's secrets and services
are ready when the data endpoints they embed are, and the replicas are off their path. The rule: the whole deploy
must not take longer than the chain it cannot avoid — the longest chain made *only* of RDS instances (a primary,
then the replicas that copy it; or, with no database, the single slowest resource), or, when that is longer, a data
endpoint the services' secrets embed (the RDS primary, the Redis group; with the RDS Proxy target and the db-admin
bootstrap that make it serve the app's logins) then the services in Service Connect order
(a client after the servers it calls; every service waits for steady state) — plus SLACK_MINUTES for the
seconds-long resources ahead of it. Anything that finishes after that bound is an offender, reported with the slow
resource it waits for; the milestones (primary, app secrets, services, last replica) show the target directly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from offline.engine import Resource, StackRun

SECONDS = 0.1  # minutes: "everything else takes seconds"
SLACK_MINUTES = 2.0
SLOW_MINUTES = 1.0  # at or above this a resource counts as slow


@dataclass(frozen=True)
class Timing:
    minutes: float
    """The typical create time used on the path."""
    observed: str
    """What the figure rests on (and its observed range)."""


# Observed create times (terraform-provider-aws acceptance runs) unless marked "assumed".
RDS_INSTANCE = Timing(8, "single-AZ instance ~8 min")
RDS_MULTI_AZ = Timing(15, "Multi-AZ primary ~15 min (assumed: a standby is created and synced too)")
RDS_REPLICA = Timing(15, "read replica +15-23 min after its source (primary + replica 23-31 min)")
RDS_RESTORE = Timing(30, "point-in-time restore ~20-45 min (assumed; grows with the database and its logs)")
CACHE_MULTI_AZ = Timing(15, "Multi-AZ replication group 13-18 min")
CACHE_SINGLE = Timing(8, "single-node replication group ~6-10 min (assumed)")
SERVICE_STEADY = Timing(8, "ECS service waiting for steady state ~5-10 min (assumed)")
SERVICE = Timing(3, "ECS service ~2-5 min (steady state not awaited)")
ENDPOINT_INTERFACE = Timing(2, "interface endpoint ~1-3 min")


def _rds_instance(resource: Resource) -> Timing:
    if resource.plain("restoreToPointInTime"):  # a DR stack restoring from replicated backups
        return RDS_RESTORE
    if resource.plain("replicateSourceDb"):
        return RDS_REPLICA
    return RDS_MULTI_AZ if resource.plain("multiAz") else RDS_INSTANCE


def _replication_group(resource: Resource) -> Timing:
    groups = resource.plain("numNodeGroups")
    nodes = int(resource.plain("numCacheClusters") or 1) if groups is None else 2
    multi = resource.plain("multiAzEnabled") or resource.plain("automaticFailoverEnabled") or nodes > 1
    return CACHE_MULTI_AZ if multi else CACHE_SINGLE


def _service(resource: Resource) -> Timing:
    return SERVICE_STEADY if resource.plain("waitForSteadyState") else SERVICE


def _function(resource: Resource) -> Timing:
    if resource.plain("vpcConfig"):
        return Timing(1.5, "VPC Lambda (Hyperplane ENI) ~1-2 min (assumed)")
    return Timing(SECONDS, "seconds")


def _endpoint(resource: Resource) -> Timing:
    return ENDPOINT_INTERFACE if resource.plain("vpcEndpointType") == "Interface" else Timing(SECONDS, "seconds")


SECRET_WRITERS = ("aws:secretsmanager/secretVersion:SecretVersion", "aws:lambda/invocation:Invocation")
"""What writes the values the services read: Pulumi's secret versions, and the db-admin bootstrap (database logins)."""

DURATIONS: dict[str, Timing | Callable[[Resource], Timing]] = {
    "aws:rds/instance:Instance": _rds_instance,
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": Timing(
        5, "cross-region backup replication start ~5 min (assumed, not measured)"),
    "aws:rds/cluster:Cluster": Timing(8, "Aurora cluster ~5-10 min"),
    "aws:rds/clusterInstance:ClusterInstance": Timing(10, "Aurora instance ~8-12 min"),
    "aws:rds/proxy:Proxy": Timing(5, "RDS Proxy ~3-7 min (assumed; terraform logs show 'Still creating... [2m30s "
                                     "elapsed]')"),
    "aws:rds/proxyTarget:ProxyTarget": Timing(
        3, "proxy target registration once the instance is available ~3-4 min (terraform log)"),
    "aws:lambda/function:Function": _function,
    "aws:lambda/invocation:Invocation": Timing(0.5, "function invocation (the db-admin bootstrap) <1 min (assumed)"),
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:elasticache/cluster:Cluster": Timing(8, "cache cluster ~6-10 min (assumed)"),
    "aws:ec2/natGateway:NatGateway": Timing(5, "NAT gateway up to 5-10 min"),
    "aws:lb/loadBalancer:LoadBalancer": Timing(3, "load balancer ~3 min"),
    "aws:alb/loadBalancer:LoadBalancer": Timing(3, "load balancer ~3 min"),
    "aws:acm/certificateValidation:CertificateValidation": Timing(3, "ACM DNS validation ~2-5 min"),
    "aws:ecs/service:Service": _service,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoint,
    # wait_for_deployment: until every edge serves it ("the 10-15 minute CloudFront deployment rollout",
    # hashicorp/terraform-provider-aws#47652; custom origins up to 30-35 min in 2019, aws/aws-cli#3865).
    "aws:cloudfront/distribution:Distribution": Timing(10, "CloudFront distribution, on every edge ~10-15 min"),
    "docker:index/image:Image": Timing(3, "image build and push ~2-5 min (assumed; depends on the image)"),
    "docker-build:index:Image": Timing(3, "image build and push ~2-5 min (assumed; depends on the image)"),
    # The task definitions wait for the metrics workspace (its endpoint is in the collector's config): it must stay
    # off the slow list. terraform-provider-aws TestAccAMPWorkspace_kms creates and deletes one in 29.9 s.
    "aws:amp/workspace:Workspace": Timing(0.5, "AMP workspace ~30 s (acceptance test: create + delete 29.9 s)"),
    "aws:grafana/workspace:Workspace": Timing(5, "Managed Grafana workspace ~3-8 min (assumed; nothing waits on it)"),
}
"""Resource type → its create time: a Timing, or a function of the resource when inputs change it (Multi-AZ,
replicas, waiting for steady state). Every other type takes seconds. A new slow type is one line here."""


def timing(resource: Resource) -> Timing:
    """Typical create time of one resource, from its type and the inputs that change it."""
    rule = DURATIONS.get(resource.type)
    if rule is None:
        return Timing(SECONDS, "seconds")
    return rule if isinstance(rule, Timing) else rule(resource)


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
    waits: dict[str, set[str]] = field(default_factory=dict)
    """URN → the custom resources it waits for directly."""

    def closure(self, urn: str) -> set[str]:
        """Everything `urn` waits for, transitively."""
        seen: set[str] = set()
        pending = [urn]
        while pending:
            for before in self.waits.get(pending.pop(), ()):
                if before not in seen:
                    seen.add(before)
                    pending.append(before)
        return seen

    def milestones(self) -> dict[str, float]:
        """When the parts the design target talks about are ready (minutes from the start; absent parts left out):
        the RDS primary and Redis (whose endpoints the app's secrets embed), the app's secrets (the secret versions
        the services wait for), the services, the last read replica."""
        def done(steps: list[Step]) -> float | None:
            return max((s.finish for s in steps), default=None)

        of = self._of_type
        services = of("aws:ecs/service:Service")
        needed = set().union(*(self.closure(s.resource.urn) for s in services)) if services else set()
        found = {
            "RDS primary": done([s for s in of("aws:rds/instance:Instance")
                                 if not s.resource.plain("replicateSourceDb")]),
            "Redis": done(of("aws:elasticache/replicationGroup:ReplicationGroup")),
            "RDS Proxy": done(of("aws:rds/proxyTarget:ProxyTarget")),  # serving once the primary is its target
            # secret versions Pulumi writes, and the db-admin bootstrap that writes the database logins
            "app secrets": done([s for t in SECRET_WRITERS for s in of(t) if s.resource.urn in needed]),
            "services": done(services),
            "last replica": done([s for s in of("aws:rds/instance:Instance") if s.resource.plain("replicateSourceDb")]),
        }
        return {name: minute for name, minute in found.items() if minute is not None}

    def replicas_on_app_path(self) -> list[str]:
        """Services and the secret versions they read that wait for a read replica (the target: none)."""
        replicas = {s.resource.urn for s in self._of_type("aws:rds/instance:Instance")
                    if s.resource.plain("replicateSourceDb")}
        services = self._of_type("aws:ecs/service:Service")
        app = {s.resource.urn for s in services}
        for service in services:
            app |= {u for u in self.closure(service.resource.urn)
                    if self.steps[u].resource.type in SECRET_WRITERS}
        return sorted(self.steps[u].resource.name for u in app if self.closure(u) & replicas)

    def _of_type(self, type_: str) -> list[Step]:
        return [s for s in self.steps.values() if s.resource.type == type_]

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
    via_service = _service_chain(steps, waits)
    if sum(s.timing.minutes for s in via_service) > sum(s.timing.minutes for s in unavoidable):
        unavoidable = via_service
    bound = sum(s.timing.minutes for s in unavoidable) + SLACK_MINUTES
    result = CriticalPath(stack=run.stack, steps=steps, chain=chain, unavoidable=unavoidable, bound=bound,
                          waits=waits)
    for step in sorted(steps.values(), key=lambda s: -s.finish):
        if step.finish > bound + 1e-9 and step.timing.minutes >= SLOW_MINUTES:
            result.offenders.append((step, _slowest_before(step, steps)))
    return result


_recent: list[tuple[StackRun, CriticalPath]] = []


def _analysed(run: StackRun) -> CriticalPath:
    """analyse(run), remembered for the last few runs (tests ask many questions of one run)."""
    for seen, path in _recent:
        if seen is run:
            return path
    path = analyse(run)
    _recent.insert(0, (run, path))
    del _recent[8:]
    return path


def waits_for(run: StackRun, urn: str) -> set[str]:
    """The custom resources the engine waits for before creating `urn` (see the module docstring)."""
    return set(_analysed(run).waits.get(urn, set()))


def finish_times(run: StackRun) -> dict[str, float]:
    """URN → estimated minute at which the resource exists, starting from an empty stack."""
    return {urn: step.finish for urn, step in _analysed(run).steps.items()}


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


DATA_ENDPOINT_TYPES = ("aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup")
DATA_PATH_TYPES = ("aws:rds/proxyTarget:ProxyTarget", "aws:lambda/invocation:Invocation")
"""What stands between a data endpoint and the services and cannot be skipped: RDS Proxy serves the primary only once
it is registered as its target, and the db-admin bootstrap writes the logins the services' secrets hold."""
SERVICE_TYPE = "aws:ecs/service:Service"


def _service_chain(steps: dict[str, Step], waits: dict[str, set[str]]) -> list[Step]:
    """The longest chain the services cannot avoid: a data endpoint their secrets embed (the RDS primary's address in
    DATABASE_URL, the Redis endpoint in REDIS_URL) with what makes it serve the app's logins (the RDS Proxy target,
    the db-admin bootstrap: DATA_PATH_TYPES), then the services in Service Connect order — a client after the
    servers it calls, because a task resolves only endpoints that existed when it started (ECS developer guide,
    service-connect-concepts-deploy). Each service waits for steady state, so this chain is real; [] without one."""
    closure: dict[str, set[str]] = {}

    def before(urn: str) -> set[str]:
        if urn not in closure:
            found: set[str] = set()
            for direct in waits[urn]:
                found.add(direct)
                found |= before(direct)
            closure[urn] = found
        return closure[urn]

    best: dict[str, list[Step]] = {}

    def is_endpoint(step: Step) -> bool:
        return step.resource.type in DATA_ENDPOINT_TYPES and not step.resource.plain("replicateSourceDb")

    def data_chain(urn: str) -> list[Step]:
        """The longest chain to a data-path step made only of data endpoints and data-path steps."""
        options = [data_chain(other) if steps[other].resource.type in DATA_PATH_TYPES else [steps[other]]
                   for other in waits[urn]
                   if steps[other].resource.type in DATA_PATH_TYPES or is_endpoint(steps[other])]
        return [*max(options, key=lambda c: sum(s.timing.minutes for s in c), default=[]), steps[urn]]

    def longest(urn: str) -> list[Step]:
        if urn not in best:
            options = []
            for other in before(urn):
                step = steps[other]
                if step.resource.type == SERVICE_TYPE:
                    options.append(longest(other))
                elif is_endpoint(step):
                    options.append([step])
                elif step.resource.type in DATA_PATH_TYPES:
                    options.append(data_chain(other))
            prefix = max(options, key=lambda c: sum(s.timing.minutes for s in c), default=[])
            best[urn] = [*prefix, steps[urn]]
        return best[urn]

    chains = [longest(urn) for urn, step in steps.items() if step.resource.type == SERVICE_TYPE]
    return max(chains, key=lambda c: sum(s.timing.minutes for s in c), default=[])


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
    what = ("a data endpoint the services embed, then the services in Service Connect order" if via_service
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
    milestones = path.milestones()
    if milestones:
        lines.append("  ready at: " + ", ".join(f"{name} {minute:.1f} min" for name, minute in milestones.items()))
    late = path.replicas_on_app_path()
    if "last replica" in milestones:
        lines.append("  replicas off the app's path: " + ("yes" if not late else "NO — " + ", ".join(late)
                                                          + " wait for a replica"))
    off = path.slow_off_path()
    if off:
        lines.append("Slow resources not on the path (done by):")
        for step in off:
            lines.append(f"  {step.finish:>5.1f} min  {_label(step.resource)} — {step.timing.observed}")
    return lines


def main(argv: list[str] | None = None) -> int:
    from offline.engine import available_stacks, refuse_unknown_stacks, run_stack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default="dev", help=f"stack name ({', '.join(available_stacks())})")
    args = parser.parse_args(argv)
    refuse_unknown_stacks(parser, [args.stack])
    run = run_stack(args.stack)
    if not run.ok:
        print(f"the program failed, no estimate: {run.error}", file=sys.stderr)
        return 1
    path = analyse(run)
    print("\n".join(render(path)))
    return 0 if path.met else 1


if __name__ == "__main__":
    sys.exit(main())
