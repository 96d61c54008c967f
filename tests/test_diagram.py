"""Architecture diagram: what is drawn from the resources, the files written, the real stacks."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from offline import diagram
from offline.engine import StackRun
from tests.synthetic import full_architecture

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def titles(d: diagram.Diagram) -> dict[str, str]:
    return {box.key: " | ".join([box.title, *box.lines]) for box in d.all_boxes()}


def test_boxes_carry_counts_and_sizes_from_the_resources() -> None:
    d = diagram.build(full_architecture().run())
    boxes = titles(d)
    assert boxes["svc:app-web"] == "web ×3 tasks | Fargate 1 vCPU / 2 GB ARM64"
    assert boxes["db:database-writer"].startswith("PostgreSQL 16.4 primary | db.r6g.large · Multi-AZ | 100 GB gp3")
    assert boxes["db-replicas"].startswith("read replicas ×2")
    assert boxes["cache:cache"] == "Redis ×3 nodes | cache.r6g.large | Multi-AZ failover"
    assert boxes["nat"] == "NAT gateway ×3 | egress · us-east-1a/b/c"
    assert boxes["waf:edge-waf"] == "WAF web ACL | 5 rules"
    assert boxes["s3"].startswith("S3 buckets ×2")
    assert [band.label for band in d.rows if band.label] == [
        "public subnets ×3 · us-east-1a/b/c", "app subnets ×3 · us-east-1a/b/c", "data subnets ×3 · us-east-1a/b/c"]


def test_edges_follow_waf_target_groups_and_security_group_rules() -> None:
    edges = {(a, b) for a, b, _ in diagram.build(full_architecture().run()).edges}
    assert {("internet", "waf:edge-waf"), ("waf:edge-waf", "lb:edge-alb"), ("lb:edge-alb", "svc:app-web"),
            ("svc:app-web", "svc:app-ai"), ("svc:app-web", "db:database-writer"),
            ("svc:app-ai", "cache:cache"), ("db:database-writer", "db-replicas")} <= edges
    assert ("lb:edge-alb", "svc:app-ai") not in edges  # the AI service is internal


def test_png_and_svg_are_written(tmp_path: Path) -> None:
    png, svg = diagram.write(full_architecture().run(), tmp_path)
    assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > 5_000
    text = svg.read_text()
    assert text.startswith("<svg") and "web ×3 tasks" in text and "read replicas ×2" in text
    root = ElementTree.fromstring(text)  # well-formed, one arrow per edge
    lines = root.findall("{http://www.w3.org/2000/svg}line")
    assert len(lines) == len(diagram.build(full_architecture().run()).edges)


def test_real_stack_diagram(any_stack: StackRun, tmp_path: Path) -> None:
    d = diagram.build(any_stack)
    nats = len(any_stack.of_type("aws:ec2/natGateway:NatGateway"))
    assert titles(d)["nat"].startswith(f"NAT gateway ×{nats}")
    assert titles(d)["kms"].startswith("KMS keys ×4")
    png, _ = diagram.write(any_stack, tmp_path)
    assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > 1_000


def test_preview_prints_cost_and_critical_path_and_writes_the_diagram(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from offline import preview

    assert preview.main(["dev", "--inventory", str(tmp_path / "inventory.json")]) == 0
    out = capsys.readouterr().out
    assert "\nEstimated monthly cost\n" in out and "target: dev total <= $150/month: ok" in out
    assert "\nDeploy critical path\n" in out and "rule: total ≤" in out
    assert f"Diagram: {tmp_path / 'architecture.png'}" in out
    assert (tmp_path / "architecture.png").stat().st_size > 1_000
