"""What `make preview` says about running the stack, beyond what it creates: the images its tasks pull, and the
database changes that wait for a reboot.

Images. ECS pulls each task's image when a task starts; an image that is not in its repository fails every task,
so the service never reaches steady state and `pulumi up` fails after the services' deploy timeout (a first deploy)
or ECS rolls back (a release). The preview lists, per image, the tasks that run it, whether `pulumi up` builds it or
it must exist before the update (CI pushes it to the foundation's repository: `webImage`, `aiImage`, `backupImage`;
the program looks each up, components/foundation.py), and how its scratch paths become writable (a VOLUME the image
declares, checked from its Dockerfile, or the root `chown` init container).

Reboots. Static PostgreSQL parameters apply only at the next reboot of each instance (ops/reboot_notice.py). The
preview lists them with the instances that use them and, when the previous preview of the same stack is at hand
(build/<stack>/inventory.json), which values changed and the reboots they need. Against a real stack the same report
comes from `pulumi preview --json | python -m ops.reboot_notice`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.constants import IMAGE_SERVICES, STATIC_DB_PARAMETERS
from offline.engine import ROOT, Resource, StackRun
from ops.reboot_notice import reboot_commands, reboot_plan, static_changes, static_values

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
DOCKER_IMAGE = "docker:index/image:Image"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_INSTANCE = "aws:rds/instance:Instance"
INIT_SUFFIX = "-volume-init"


def _containers(task: Resource) -> list[dict[str, Any]]:
    raw = task.plain("containerDefinitions")
    definitions = json.loads(raw) if isinstance(raw, str) else raw or []
    return [c for c in definitions if isinstance(c, dict)]


def image_requirements(run: StackRun) -> list[dict[str, Any]]:
    """One entry per image the stack's tasks pull: image, tasks, built here or required, scratch preparation."""
    built = {str(i.outputs.get("repoDigest")): str((i.plain("build") or {}).get("context", ""))
             for i in run.of_type(DOCKER_IMAGE)}
    images: dict[str, dict[str, Any]] = {}
    for task in run.of_type(TASK_DEFINITION):
        containers = _containers(task)
        names = {c.get("name") for c in containers}
        for container in containers:
            name = str(container.get("name"))
            if name.endswith(INIT_SUFFIX):
                continue
            image = str(container.get("image"))
            entry = images.setdefault(image, {"image": image, "tasks": [], "built_from": built.get(image, ""),
                                              "scratch": {}})
            entry["tasks"].append(task.name)
            paths = [m.get("containerPath") for m in container.get("mountPoints") or []]
            if paths:
                how = f"{name}{INIT_SUFFIX} (root chown, CAP_CHOWN only)" if f"{name}{INIT_SUFFIX}" in names \
                    else "VOLUME declared by the image (Dockerfile checked)"
                entry["scratch"][", ".join(map(str, paths))] = how
    return sorted(images.values(), key=lambda e: e["tasks"])


def _config_key(image: str) -> str:
    repository = image.split("@", 1)[0].rsplit(":", 1)[0] if "@" in image else image.rsplit(":", 1)[0]
    service = repository.rsplit("/", 1)[-1]
    if service == "aws-otel-collector":
        return "metricsCollectorImage"  # the app metrics sidecar, public ECR (pulled through NAT)
    return f"{service}Image" if service in IMAGE_SERVICES else ""


def render_images(run: StackRun) -> list[str]:
    lines = []
    for entry in image_requirements(run):
        image = entry["image"]
        if entry["built_from"]:
            context = Path(entry["built_from"])
            shown = context.relative_to(ROOT) if context.is_relative_to(ROOT) else context
            origin = f"built and pushed by `pulumi up` from {shown}/Dockerfile"
        else:
            key = _config_key(image)
            where = ("AWS's public registry, by exact release tag: not looked up (aws.ecr.get_image reads our own "
                     "repositories only)" if key == "metricsCollectorImage"
                     else "the preview looked it up in the foundation's repository")
            origin = "MUST EXIST before `pulumi up`" + (f" (maratron:{key}; {where})" if key else "")
        lines.append(f"{', '.join(sorted(entry['tasks']))}: {image}")
        lines.append(f"    {origin}")
        for paths, how in entry["scratch"].items():
            lines.append(f"    scratch {paths}: writable through {how}")
        if not entry["built_from"] and "@sha256:" in image and ".dkr.ecr." in image:
            repository, digest = image.split("@", 1)
            lines.append(f"    check: aws ecr describe-images --repository-name {repository.split('/', 1)[1]} "
                         f"--image-ids imageDigest={digest}")
    lines.append("A missing image fails every task: the service never reaches steady state and `pulumi up` fails "
                 "after its deploy timeout (a release is rolled back by the circuit breaker).")
    return lines


def _instances_of(run: StackRun, group: Resource) -> tuple[list[str], list[str]]:
    primaries: list[str] = []
    replicas: list[str] = []
    for instance in run.of_type(RDS_INSTANCE):
        if group.urn in instance.property_dependencies.get("parameterGroupName", []):
            identifier = str(instance.plain("identifier") or instance.name)
            (replicas if instance.plain("replicateSourceDb") else primaries).append(identifier)
    return sorted(primaries), sorted(replicas)


def previous_parameters(inventory: Path) -> dict[str, list[Mapping[str, Any]]]:
    """Parameter-group URN -> its `parameters` input in an earlier preview's inventory ({} when there is none)."""
    try:
        document = json.loads(inventory.read_text())
    except (OSError, ValueError):
        return {}
    return {str(r.get("urn")): list((r.get("inputs") or {}).get("parameters") or [])
            for r in document.get("resources", []) if r.get("type") == PARAMETER_GROUP}


def render_reboots(run: StackRun, previous: Mapping[str, list[Mapping[str, Any]]] | None) -> list[str]:
    lines = []
    for group in run.of_type(PARAMETER_GROUP):
        primaries, replicas = _instances_of(run, group)
        values = static_values(group.plain("parameters"))
        shown = ", ".join(f"{name}={value}" for name, value in sorted(values.items())) or "none"
        lines.append(f"{group.name}: static (pending-reboot) parameters {shown}")
        lines.append(f"    used by {', '.join(replicas + primaries) or 'no instance'}: a changed value applies only "
                     "when each instance reboots — not in the maintenance window, not by `pulumi up`")
        if previous is None or group.urn not in previous:
            lines.append("    no earlier preview of this stack to compare with (a first deploy applies them at "
                         "creation)")
            continue
        changes = static_changes(previous[group.urn], group.plain("parameters"))
        if not changes:
            lines.append("    unchanged since the previous preview: no reboot needed")
            continue
        for change in changes:
            lines.append(f"    REBOOT REQUIRED: {change.name} {change.old} -> {change.new}")
        plan = reboot_plan(changes)
        lines.append(f"    after `pulumi up` ({plan.note}):")
        lines.extend(f"      {command}" for command in reboot_commands(primaries, replicas,
                                                                       primary_first=plan.primary_first))
    if not lines:
        return ["no database parameter group"]
    lines.append(f"Static parameters are {', '.join(STATIC_DB_PARAMETERS[:4])}, ... (components/constants.py); "
                 "for a real stack: pulumi preview --json | .venv/bin/python -m ops.reboot_notice")
    return lines
