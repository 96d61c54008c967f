"""Estimated `pulumi up` timeline of a fresh stack: the critical path through the recorded dependency graph.

Pulumi creates a resource once everything it waits for exists: its dependencies (explicit and through inputs) and
its parent when the parent is a custom resource (a child's registration needs the parent's URN, which resolves
only after the parent is created). Durations per type are the observed provisioning times in FIELD-NOTES.md
(terraform-provider-aws acceptance tests); everything else counts as a few seconds. The interesting figures are
*when the app's secrets are ready* (ECS services can start) against *when the last replica is*: the design target
is that the former equals the primary's finish time, whatever the replica count.

`python -m bench.deploy_path [stacks...]` prints one line per stack.
"""

from __future__ import annotations

import sys
from functools import cache

from offline.engine import STACKS, StackRun, run_stack

MINUTES = {
    "aws:rds/instance:Instance": 8.0,  # a replica is another instance after its source: 8 + ~15 (23-31 observed)
    "aws:elasticache/replicationGroup:ReplicationGroup": 15.0,
    "aws:ec2/natGateway:NatGateway": 5.0,
    "aws:lb/loadBalancer:LoadBalancer": 3.0,
    "aws:route53/zone:Zone": 1.0,
}
REPLICA_MINUTES = 18.0
DEFAULT_MINUTES = 0.1


def duration(resource_type: str, inputs: dict[str, object]) -> float:
    if resource_type == "aws:rds/instance:Instance" and inputs.get("replicateSourceDb"):
        return REPLICA_MINUTES
    return MINUTES.get(resource_type, DEFAULT_MINUTES)


def waits_for(run: StackRun, urn: str) -> set[str]:
    """What the engine waits for before creating the resource."""
    resource = run.by_urn(urn)
    edges = set(resource.dependencies)
    edges.update(u for urns in resource.property_dependencies.values() for u in urns)
    if resource.parent:
        parent = run.by_urn(resource.parent)
        if parent.custom:
            edges.add(parent.urn)
    return edges


def finish_times(run: StackRun) -> dict[str, float]:
    """URN -> estimated minute at which the resource exists, starting from an empty stack."""
    @cache
    def finish(urn: str) -> float:
        resource = run.by_urn(urn)
        start = max((finish(dep) for dep in waits_for(run, urn)), default=0.0)
        return start + (duration(resource.type, resource.inputs) if resource.custom else 0.0)

    return {r.urn: finish(r.urn) for r in run.resources}


def main(argv: list[str] | None = None) -> int:
    stacks = (argv if argv is not None else sys.argv[1:]) or list(STACKS)
    print(f"{'stack':8} {'replicas':>8} {'DATABASE_URL':>13} {'DATABASE_READ_URL':>18} {'last replica':>13} "
          f"{'whole stack':>12}   (estimated minutes)")
    for stack in stacks:
        run = run_stack(stack)
        if not run.ok:
            print(f"{stack}: {run.error}")
            return 1
        times = finish_times(run)
        secrets = {r.name: times[r.urn] for r in run.of_type("aws:secretsmanager/secretVersion:SecretVersion")}
        replicas = [times[r.urn] for r in run.of_type("aws:rds/instance:Instance") if r.inputs.get("replicateSourceDb")]
        print(f"{stack:8} {len(replicas):>8} {secrets['database-url']:>13.1f} {secrets['database-read-url']:>18.1f} "
              f"{max(replicas, default=0.0):>13.1f} {max(times.values()):>12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
