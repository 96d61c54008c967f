"""The DR region's replica repositories (components/image_registry.py, _replication): the foundation's own, kept in
step with the source's lifecycle and the environments' grants on every update. A repository creation template alone
applies to repositories created after it, never to the ones replication already made (review row F2)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from components.constants import IMAGE_SERVICES
from components.disaster_recovery import DR_REGION_PAIRS
from offline.engine import Resource, StackRun

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
DR = DR_REGION_PAIRS["us-east-1"]
"""The paired DR region of the foundation's region (us-east-1), as both layouts run it (checked below)."""


def replica_problems(run: StackRun) -> list[str]:
    """What keeps the DR replicas from matching the source: one managed repository per service, of the source's name,
    in the DR region, immutable and AES-256, with the source's lifecycle and the template's reader grants, all of
    which (and the template) registry replication waits for."""
    regions = run.outputs["replicaRegions"]
    problems: list[str] = [] if regions == [DR] else [f"replica regions {regions}, not [{DR!r}]"]
    (template,) = run.of_type(TEMPLATE)
    (replication,) = run.of_type(REPLICATION)
    waits_for = set(replication.dependencies)
    if template.urn not in waits_for:
        problems.append("replication does not wait for the creation template")
    readers = template.plain("repositoryPolicy")
    for service in IMAGE_SERVICES:
        source = run.one(REPOSITORY, f"images-{service}")
        replicas = [r for r in run.of_type(REPOSITORY) if r.name == f"images-{service}-{DR}"]
        if len(replicas) != 1:
            problems.append(f"{service}: {len(replicas)} managed replica repositories")
            continue
        (replica,) = replicas
        inputs = replica.plain_inputs
        expected = {"region": DR, "name": source.inputs["name"], "imageTagMutability": "IMMUTABLE",
                    "encryptionConfigurations": [{"encryptionType": "AES256"}],
                    "forceDelete": source.inputs["forceDelete"], "tags": source.plain("tags")}
        problems += [f"{service}: replica {key} {inputs.get(key)!r}, not {value!r}"
                     for key, value in expected.items() if inputs.get(key) != value]
        if (replica.protect, replica.parent) != (source.protect, source.parent):
            problems.append(f"{service}: replica protect/parent differ from the source's")
        if replica.urn not in waits_for:
            problems.append(f"{service}: replication does not wait for the replica repository")
        lifecycles = {r.name: r for r in run.of_type(LIFECYCLE) if r.parent in (source.urn, replica.urn)}
        replica_lifecycle = lifecycles.get(replica.name)
        if replica_lifecycle is None or replica_lifecycle.parent != replica.urn:
            problems.append(f"{service}: replica has no lifecycle")
        else:
            if replica_lifecycle.inputs.get("region") != DR:
                problems.append(f"{service}: replica lifecycle in region {replica_lifecycle.inputs.get('region')!r}")
            if json.loads(replica_lifecycle.plain("policy")) != json.loads(lifecycles[source.name].plain("policy")):
                problems.append(f"{service}: replica lifecycle differs from the source's")
            if replica_lifecycle.urn not in waits_for:
                problems.append(f"{service}: replication does not wait for the replica lifecycle")
        policies = [r for r in run.of_type(POLICY) if r.parent == replica.urn]
        if readers is None:
            if policies:
                problems.append(f"{service}: a replica policy without readers")
            continue
        if len(policies) != 1:
            problems.append(f"{service}: {len(policies)} replica policies")
            continue
        (policy,) = policies
        if policy.inputs.get("region") != DR:
            problems.append(f"{service}: replica policy in region {policy.inputs.get('region')!r}")
        if json.loads(policy.plain("policy")) != json.loads(readers):
            problems.append(f"{service}: replica policy differs from the template's grants")
        if policy.urn not in waits_for:
            problems.append(f"{service}: replication does not wait for the replica policy")
    return problems


def test_the_dr_replicas_are_managed_repositories_matching_the_source(shared: StackRun, org_shared: StackRun) -> None:
    for run in (shared, org_shared):
        assert replica_problems(run) == [], run.stack
    # The Organizations layout grants the environments on the replicas what the template grants, no push.
    replica = org_shared.one(POLICY, f"images-web-{DR}")
    principals = {s["Principal"]["AWS"] for s in json.loads(replica.plain("policy"))["Statement"]}
    assert principals == {f"arn:aws:iam::{a}:root" for a in ("222222222222", "333333333333", "444444444444")}
    assert not shared.of_type(POLICY)  # one account: IAM alone decides, on the replicas too


def _without(run: StackRun, drop: set[str]) -> StackRun:
    """The run minus some resources, and the replication's dependencies on them."""
    resources = []
    for resource in run.resources:
        if resource.urn in drop:
            continue
        if resource.type == REPLICATION:
            resource = dataclasses.replace(resource, dependencies=[d for d in resource.dependencies if d not in drop])
        resources.append(resource)
    return dataclasses.replace(run, resources=resources)


def _edited(run: StackRun, target: Resource, **inputs: object) -> StackRun:
    return dataclasses.replace(run, resources=[
        dataclasses.replace(r, inputs={**r.inputs, **inputs}) if r.urn == target.urn else r for r in run.resources])


def _variants(run: StackRun) -> dict[str, StackRun]:
    replicas = {r.urn for r in run.resources if r.name.endswith(f"-{DR}") and r.type in (REPOSITORY, LIFECYCLE, POLICY)}
    web = run.one(POLICY, f"images-web-{DR}")
    lifecycle = run.one(LIFECYCLE, f"images-web-{DR}")
    statements = json.loads(web.plain("policy"))
    revoked = {**statements, "Statement": statements["Statement"][1:]}
    (replication,) = run.of_type(REPLICATION)
    not_waiting = dataclasses.replace(run, resources=[
        dataclasses.replace(r, dependencies=[]) if r.urn == replication.urn else r for r in run.resources])
    return {
        "template only (the previous program)": _without(not_waiting, replicas),
        "a grant not on the replica": _edited(run, web, policy=json.dumps(revoked)),
        "replica policy in the source's region": _edited(run, web, region=None),
        "replica lifecycle in the source's region": _edited(run, lifecycle, region=None),
        "replication not waiting": not_waiting,
    }


VARIANTS = ["template only (the previous program)", "a grant not on the replica", "replication not waiting",
            "replica policy in the source's region", "replica lifecycle in the source's region"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_broken_variant_fails_the_replica_check(org_shared: StackRun, variant: str) -> None:
    variants = _variants(org_shared)
    assert sorted(variants) == sorted(VARIANTS)
    assert replica_problems(variants[variant])
