"""Architecture diagram: what is drawn from the resources, the Mermaid file written, the real stacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from offline import diagram
from offline.engine import StackRun
from tests.synthetic import SyntheticStack, full_architecture


def titles(d: diagram.Diagram) -> dict[str, str]:
    return {box.key: " | ".join([box.title, *box.lines]) for box in d.all_boxes()}


def edges(d: diagram.Diagram) -> set[tuple[str, str]]:
    return {(a, b) for a, b, _ in d.edges}


def test_boxes_carry_counts_and_sizes_from_the_resources() -> None:
    d = diagram.build(full_architecture().run())
    boxes = titles(d)
    assert boxes["svc:app-web"] == "web ×3 tasks | Fargate 1 vCPU / 2 GB ARM64"
    assert boxes["db:database-writer"].startswith("PostgreSQL 16.4 primary | db.r6g.large · Multi-AZ | 100 GB gp3")
    assert boxes["db-replicas"].startswith("read replicas ×2")
    assert boxes["cache:cache"] == "Redis ×3 nodes | cache.r6g.large | Multi-AZ failover"
    assert boxes["nat"] == "NAT gateway ×3 | egress · us-east-1a/b/c"
    assert boxes["waf:edge-waf"] == "WAF web ACL | REGIONAL · 5 rules"
    assert boxes["s3"].startswith("S3 buckets ×2")
    assert [band.label for band in d.rows if band.key in diagram.TIERS] == [
        "public subnets ×3 · us-east-1a/b/c", "app subnets ×3 · us-east-1a/b/c", "data subnets ×3 · us-east-1a/b/c"]


def test_edges_follow_waf_target_groups_and_security_group_rules() -> None:
    found = edges(diagram.build(full_architecture().run()))
    assert {("internet", "waf:edge-waf"), ("waf:edge-waf", "lb:edge-alb"), ("lb:edge-alb", "svc:app-web"),
            ("svc:app-web", "svc:app-ai"), ("svc:app-web", "db:database-writer"),
            ("svc:app-ai", "cache:cache"), ("db:database-writer", "db-replicas")} <= found
    assert ("lb:edge-alb", "svc:app-ai") not in found  # the AI service is internal


def test_mermaid_is_written_with_one_arrow_per_edge_and_a_legend(tmp_path: Path) -> None:
    run = full_architecture().run()
    path = diagram.write(run, tmp_path)
    assert path == tmp_path / "architecture.mmd"
    text = path.read_text()
    assert "\nflowchart TB\n" in text and "web ×3 tasks" in text and "read replicas ×2" in text
    arrows = [line for line in text.splitlines()
              if re.search(r"(-->|\.->)", line) and not line.strip().startswith("%%")]
    assert len(arrows) == len(diagram.build(run).edges)
    assert 'subgraph legend["Legend"]' in text
    lines = [line.strip() for line in text.splitlines()]
    assert sum(line.startswith("subgraph ") for line in lines) == lines.count("end")  # balanced
    ids = set(re.findall(r"^\s+([A-Za-z0-9_]+)[\[\(]", text, re.M))
    for line in arrows:  # every arrow joins declared boxes
        source, target = line.split()[0], line.split()[-1]
        assert source in ids and target in ids, line


def test_a_new_resource_type_is_one_table_line(monkeypatch: pytest.MonkeyPatch) -> None:
    s = full_architecture()
    sg = s.add("aws:ec2/securityGroup:SecurityGroup", "proxy-sg", {})
    db_sg = next(r for r in s.resources if r.name == "db-sg")
    web_sg = next(r for r in s.resources if r.name == "web-sg")
    s.add("aws:rds/proxy:Proxy", "database-proxy", {"name": "maratron-proxy", "vpcSecurityGroupIds": [sg.id]})
    s.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "proxy-from-web",
          {"securityGroupId": sg.id, "referencedSecurityGroupId": web_sg.id, "fromPort": 5432})
    s.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-from-proxy",
          {"securityGroupId": db_sg.id, "referencedSecurityGroupId": sg.id, "fromPort": 5432})
    monkeypatch.setitem(diagram.BOXES, "aws:example/collector:Collector", diagram.BoxKind("ops", "Collector"))
    s.add("aws:example/collector:Collector", "prometheus", {})
    d = diagram.build(s.run())
    assert titles(d)["rds-proxy:database-proxy"] == "RDS Proxy | maratron-proxy"
    assert {("svc:app-web", "rds-proxy:database-proxy"), ("rds-proxy:database-proxy", "db:database-writer")} <= edges(d)
    assert titles(d)["collector"] == "Collector ×1"


def test_real_stack_diagram_shows_the_whole_system(any_stack: StackRun, tmp_path: Path) -> None:
    d = diagram.build(any_stack)
    boxes = titles(d)
    nats = len(any_stack.of_type("aws:ec2/natGateway:NatGateway"))
    assert boxes["nat"].startswith(f"NAT gateway ×{nats}")
    assert boxes["kms"].startswith("KMS keys ×4")  # logs, data, backups, alerts (images: the foundation's key)
    found = edges(d)
    # the backup job and its schedule, the migration task, egress to the AI provider, the alert path, DNS/TLS
    assert "scheduled task" in boxes["task:backup"] and ("schedule:backup-schedule", "task:backup") in found
    assert "one-off task" in boxes["task:migrate"] and ("task:migrate", "db:database-primary") in found
    assert ("svc:ai", "nat") in found and ("nat", "api:anthropic-api") in found
    assert ("alarms", "topic:observability-alerts") in found and ("events", "topic:observability-alerts") in found
    if any_stack.of_type("aws:sns/topicSubscription:TopicSubscription"):
        assert ("topic:observability-alerts", "subscriber:email") in found
    assert ("cert", "lb:load-balancer-alb") in found
    if any_stack.of_type("aws:cloudfront/distribution:Distribution"):
        # The CDN is the front door: DNS, the WAF and TLS at CloudFront, which alone reaches the ALB.
        cdn = "cdn:cdn-distribution"
        assert boxes[cdn].startswith("CloudFront | TLSv1.2_2025 · http2and3 | 7 cached paths")
        assert {("dns", cdn), ("cert", cdn), ("internet", "waf:waf-acl"), ("waf:waf-acl", cdn),
                (cdn, "lb:load-balancer-alb")} <= found
        assert not any(a == "internet" and b == "lb:load-balancer-alb" for a, b in found)
        assert ("waf:waf-acl", "lb:load-balancer-alb") not in found
        assert boxes["waf:waf-acl"].startswith("WAF web ACL | CLOUDFRONT · ")  # the edge ACL, in front of CloudFront
    else:
        assert ("dns", "lb:load-balancer-alb") in found
        assert boxes["waf:waf-acl"].startswith("WAF web ACL | REGIONAL · ")
        assert ("internet", "waf:waf-acl") in found and ("waf:waf-acl", "lb:load-balancer-alb") in found
    services = {str(e.plain("serviceName")).rsplit(".", 1)[-1] for e in any_stack.of_type(
        "aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert ("endpoints", "s3") in found and (("endpoints", "secrets") in found) == ("secretsmanager" in services)
    assert ("task:backup", "s3") in found
    # app metrics (off in dev): each service's collector writes to the workspace, whose alerts go to the topic
    metrics = ("prometheus:metrics", "topic:observability-alerts") in found
    assert metrics == (any_stack.stack != "dev")
    assert (("svc:web", "prometheus:metrics") in found and ("svc:ai", "prometheus:metrics") in found) == metrics
    if metrics:
        assert boxes["prometheus:metrics"] == f"Managed Prometheus | maratron-{any_stack.stack} | 6 alert rules · CMK"
    # Alerts reach the topic from the workspace only: the alert manager definition also waits for the services and
    # the alerts key (depends_on), which orders the deployment and sends nothing.
    alerting = {a for a, b, label in d.edges if b == "topic:observability-alerts" and label == "alert"}
    assert alerting == ({"prometheus:metrics"} if metrics else set()), alerting
    first = diagram.write(any_stack, tmp_path / "a").read_bytes()
    assert first == diagram.write(any_stack, tmp_path / "b").read_bytes()  # deterministic


@pytest.mark.usefixtures("session_preview")
def test_preview_prints_cost_and_critical_path_and_writes_the_diagram(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from offline import preview

    assert preview.main(["dev", "--inventory", str(tmp_path / "inventory.json")]) == 0
    out = capsys.readouterr().out
    assert "\nEstimated monthly cost\n" in out and "target: dev total <= $150/month: " in out  # ok or EXCEEDED
    assert "\nDeploy critical path\n" in out and "rule: total ≤" in out
    assert f"Diagram: {tmp_path / 'architecture.mmd'}" in out
    assert "flowchart TB" in (tmp_path / "architecture.mmd").read_text()


def test_a_stack_with_nothing_in_a_tier_says_so() -> None:
    s = SyntheticStack()
    s.add("aws:ec2/subnet:Subnet", "data-a", {"availabilityZone": "us-east-1a", "tags": {"tier": "data"}})
    d = diagram.build(s.run())
    assert titles(d)["empty:data"] == "(nothing placed here yet)"


def test_the_dr_region_is_a_group_of_its_own_with_the_replication_arrows(prod: StackRun, dev: StackRun) -> None:
    d = diagram.build(prod)
    band = next(b for b in d.rows if b.key == "dr")
    assert {b.key for b in band.boxes} == {"kms-dr", "s3-dr", "rds-backups:dr-database-backups"}
    boxes = titles(d)
    assert boxes["s3-dr"].startswith("S3 buckets ×3 (us-west-2)") and boxes["kms-dr"].startswith("KMS keys ×1")
    found = edges(d)
    assert ("s3", "s3-dr") in found  # S3 replication of the backups and archive buckets
    assert ("db:database-primary", "rds-backups:dr-database-backups") in found
    # The drill reads the DR replica; the backup job writes the primary region's bucket.
    assert ("task:restore-drill", "s3-dr") in found and ("task:backup", "s3") in found
    assert ("schedule:restore-drill-schedule", "task:restore-drill") in found
    assert "dr" not in {b.key for b in diagram.build(dev).rows}
