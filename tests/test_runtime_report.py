"""The preview's runtime report: which images must exist, and which database changes wait for a reboot."""

from __future__ import annotations

import copy

from components.constants import METRICS_COLLECTOR_IMAGE
from offline import runtime_report
from offline.engine import StackRun


def test_every_image_a_task_pulls_is_listed_with_where_it_comes_from(prod: StackRun) -> None:
    entries = {tuple(sorted(e["tasks"])): e for e in runtime_report.image_requirements(prod)}
    backup = ("backup", "backup-restore-check", "restore-drill")  # prod runs the DR restore drill on the backup image
    assert set(entries) == {("ai",), ("migrate", "web"), ("ai", "web"), backup}
    assert entries[("ai", "web")]["image"] == METRICS_COLLECTOR_IMAGE  # the metrics sidecar of both services
    assert entries[("ai", "web")]["scratch"] == {}  # it writes nothing
    assert entries[("migrate", "web")]["image"] == prod.outputs["webImage"]
    assert entries[("ai",)]["image"] == prod.outputs["aiImage"]
    # CI pushed it into the foundation's repository (backupImage): looked up, not built; its Dockerfile (ops/backup)
    # declares the scratch VOLUME, so no init container.
    assert entries[backup]["image"] == prod.outputs["backupImage"] and entries[backup]["built_from"] == ""
    assert entries[backup]["scratch"] == {"/tmp": "VOLUME declared by the image (Dockerfile checked)"}
    text = "\n".join(runtime_report.render_images(prod))
    for key in ("webImage", "aiImage", "backupImage"):
        assert f"MUST EXIST before `pulumi up` (maratron:{key}; the preview looked it up in the foundation's" in text
    assert "built and pushed by `pulumi up`" not in text
    assert ("MUST EXIST before `pulumi up` (maratron:metricsCollectorImage; AWS's public registry, by exact release "
            "tag") in text
    assert "scratch /tmp, /app/.next/cache: writable through web-volume-init" in text
    assert "aws ecr describe-images --repository-name maratron/web --image-ids imageDigest=sha256:" in text


def test_static_parameters_are_listed_with_their_instances_and_changes_need_reboots(prod: StackRun) -> None:
    group = prod.one("aws:rds/parameterGroup:ParameterGroup")
    first = "\n".join(runtime_report.render_reboots(prod, None))
    assert "shared_buffers=262144" in first and "maratron-prod-db-replica-1" in first
    assert "no earlier preview" in first and "REBOOT REQUIRED" not in first
    same = "\n".join(runtime_report.render_reboots(prod, {group.urn: group.plain("parameters")}))
    assert "unchanged since the previous preview" in same
    older = copy.deepcopy(group.plain("parameters"))
    for parameter in older:
        if parameter["name"] == "max_connections":
            parameter["value"] = "80"
        if parameter["name"] == "maintenance_work_mem":
            parameter["value"] = "1"  # dynamic: applied at once, no reboot
    changed = "\n".join(runtime_report.render_reboots(prod, {group.urn: older}))
    current = next(p["value"] for p in group.plain("parameters") if p["name"] == "max_connections")
    assert current == "600"  # the connection budget's prod figure (dbMaxConnections)
    assert f"REBOOT REQUIRED: max_connections 80 -> {current}" in changed
    assert "maintenance_work_mem" not in changed
    assert "aws rds reboot-db-instance --db-instance-identifier maratron-prod-db-replica-2" in changed
