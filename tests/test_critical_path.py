"""Deploy critical path: ordering rules on hand-built resources, the target rule, the real stacks."""

from __future__ import annotations

import pytest

from offline import critical_path as cp
from offline.engine import StackRun
from tests.synthetic import SyntheticStack, full_architecture

Q = cp.SECONDS


def names(path: cp.CriticalPath) -> list[str]:
    return [step.resource.name for step in path.chain]


def primary_and_replicas(replicas: int, *, multi_az: bool = True) -> SyntheticStack:
    s = SyntheticStack()
    key = s.add("aws:kms/key:Key", "key", {})
    primary = s.add("aws:rds/instance:Instance", "db", {"multiAz": multi_az}, prop_deps={"kmsKeyId": [key]})
    for index in range(1, replicas + 1):
        s.add("aws:rds/instance:Instance", f"db-reader-{index}", {"replicateSourceDb": "db"},
              prop_deps={"replicateSourceDb": [primary]})
    return s


def test_a_replica_after_the_primary_lengthens_the_path_by_the_replica_time() -> None:
    alone = cp.analyse(primary_and_replicas(0).run())
    assert alone.total == pytest.approx(Q + 15)
    with_replica = cp.analyse(primary_and_replicas(1).run())
    assert with_replica.total - alone.total == pytest.approx(cp.timing(
        primary_and_replicas(1).resources[-1]).minutes) == pytest.approx(15)
    assert names(with_replica) == ["key", "db", "db-reader-1"]
    # a second replica runs beside the first: same total, and it is listed as slow but off the path
    two = cp.analyse(primary_and_replicas(2).run())
    assert two.total == pytest.approx(with_replica.total)
    assert [s.resource.name for s in two.slow_off_path()] == ["db-reader-2"]


def test_single_az_primary_is_faster_than_multi_az() -> None:
    assert cp.analyse(primary_and_replicas(0, multi_az=False).run()).total == pytest.approx(Q + 8)


def test_component_children_wait_for_what_the_component_depends_on() -> None:
    s = SyntheticStack()
    nat = s.add("aws:ec2/natGateway:NatGateway", "nat", {})
    app = s.component("maratron:app:App", "app", depends_on=[nat])
    service = s.add("aws:ecs/service:Service", "web", {}, parent=app)
    path = cp.analyse(s.run())
    assert path.steps[service.urn].start == pytest.approx(5)
    assert names(path) == ["nat", "web"]


def test_depending_on_a_component_waits_for_all_its_descendants() -> None:
    s = SyntheticStack()
    data = s.component("maratron:data:Database", "database")
    group = s.add("aws:rds/subnetGroup:SubnetGroup", "database", {}, parent=data)
    s.add("aws:rds/instance:Instance", "database-writer", {}, parent=group)
    service = s.add("aws:ecs/service:Service", "web", {}, depends_on=[data])
    path = cp.analyse(s.run())
    assert path.steps[service.urn].start == pytest.approx(Q + 8)  # subnet group, then the instance (its child)


def test_a_service_waiting_for_a_replica_is_an_offender() -> None:
    healthy = cp.analyse(full_architecture().run())
    assert healthy.met and healthy.offenders == []
    assert [s.resource.type for s in healthy.unavoidable] == ["aws:rds/instance:Instance"] * 2
    assert healthy.bound == pytest.approx(15 + 15 + cp.SLACK_MINUTES)

    late = cp.analyse(full_architecture(service_waits_for_replica=True).run())
    assert not late.met
    assert late.chain[-1].resource.name == "app-ai"
    (offender, cause), = late.offenders
    assert offender.resource.name == "app-ai" and cause is not None and cause.resource.name == "database-reader-2"
    text = "\n".join(cp.render(late))
    assert "EXCEEDED" in text and "offender: app-ai (ecs/service)" in text and "database-reader-2" in text
    assert "primary then replicas" in text and "+ 2 min slack" in text


def test_without_a_database_the_bound_is_the_slowest_single_resource() -> None:
    s = SyntheticStack()
    vpc = s.add("aws:ec2/vpc:Vpc", "vpc", {})
    nat = s.add("aws:ec2/natGateway:NatGateway", "nat", {}, parent=vpc)
    s.add("aws:lb/loadBalancer:LoadBalancer", "alb", {}, depends_on=[nat])
    path = cp.analyse(s.run())
    assert path.total == pytest.approx(Q + 5 + 3)
    assert [x.resource.name for x in path.unavoidable] == ["nat"]
    assert path.bound == pytest.approx(5 + cp.SLACK_MINUTES)
    assert not path.met and [o.resource.name for o, _ in path.offenders] == ["alb"]


def test_timings_follow_the_inputs_that_change_them() -> None:
    s = SyntheticStack()
    group = s.add("aws:elasticache/replicationGroup:ReplicationGroup", "redis", {"numCacheClusters": 3,
                                                                                "multiAzEnabled": True})
    single = s.add("aws:elasticache/replicationGroup:ReplicationGroup", "redis-dev", {"numCacheClusters": 1})
    gateway = s.add("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {"vpcEndpointType": "Gateway"})
    interface = s.add("aws:ec2/vpcEndpoint:VpcEndpoint", "logs", {"vpcEndpointType": "Interface"})
    assert cp.timing(group).minutes == 15 and cp.timing(single).minutes == 8
    assert cp.timing(gateway).minutes == Q and cp.timing(interface).minutes == 2


def test_a_cycle_is_reported() -> None:
    s = SyntheticStack()
    a = s.add("aws:ec2/vpc:Vpc", "a", {})
    b = s.add("aws:ec2/vpc:Vpc", "b", {}, depends_on=[a])
    a.dependencies.append(b.urn)
    with pytest.raises(ValueError, match="cycle"):
        cp.analyse(s.run())


def test_services_in_service_connect_order_after_their_data_endpoint_are_unavoidable() -> None:
    s = SyntheticStack()
    redis = s.add("aws:elasticache/replicationGroup:ReplicationGroup", "redis", {"multiAzEnabled": True})
    db = s.add("aws:rds/instance:Instance", "db", {"multiAz": False})
    ai = s.add("aws:ecs/service:Service", "ai", {"waitForSteadyState": True}, depends_on=[redis, db])
    s.add("aws:ecs/service:Service", "web", {"waitForSteadyState": True}, depends_on=[ai, db])
    path = cp.analyse(s.run())
    # Redis (15) -> ai (steady, 8) -> web (a Service Connect client after its server, 8): real, so it is the bound.
    assert [x.resource.name for x in path.unavoidable] == ["redis", "ai", "web"]
    assert path.bound == pytest.approx(15 + 8 + 8 + cp.SLACK_MINUTES) and path.met
    assert "Service Connect order" in cp.rule_text(path)


def test_the_proxy_target_and_the_bootstrap_belong_to_the_data_endpoint_the_services_wait_for() -> None:
    # The proxy serves the primary only once it is its target, and the db-admin bootstrap writes the logins the
    # services' secrets hold: both are unavoidable between the primary and the first task; a slow resource elsewhere
    # is not.
    s = SyntheticStack()
    db = s.add("aws:rds/instance:Instance", "db", {"multiAz": True})
    target = s.add("aws:rds/proxyTarget:ProxyTarget", "target", {}, depends_on=[db])
    nat = s.add("aws:ec2/natGateway:NatGateway", "nat", {})
    bootstrap = s.add("aws:lambda/invocation:Invocation", "bootstrap", {}, depends_on=[db, target, nat])
    ai = s.add("aws:ecs/service:Service", "ai", {"waitForSteadyState": True}, depends_on=[bootstrap])
    s.add("aws:ecs/service:Service", "web", {"waitForSteadyState": True}, depends_on=[ai, bootstrap])
    path = cp.analyse(s.run())
    assert [x.resource.name for x in path.unavoidable] == ["db", "target", "bootstrap", "ai", "web"]
    assert path.bound == pytest.approx(15 + 3 + 0.5 + 8 + 8 + cp.SLACK_MINUTES) and path.met


def test_real_stacks_path_is_the_unavoidable_chain_and_within_the_rule(any_stack: StackRun) -> None:
    path = cp.analyse(any_stack)
    assert path.met, "\n".join(cp.render(path))
    on_path = [step.resource for step in path.chain]
    # Either the RDS chain (primary, then a replica) or the data endpoint the services embed, then ai, then web
    # (each waiting for steady state; web after ai because of Service Connect) ends the deploy.
    rds = [r.name for r in on_path if r.type == "aws:rds/instance:Instance"]
    services = [r.name for r in on_path if r.type == "aws:ecs/service:Service"]
    assert rds in (["database-primary"], ["database-primary", "database-replica-1"]) or not rds
    assert services in ([], ["ai", "web"])
    # Nothing of the app tier waits for a replica: no service is an offender.
    assert not [step for step, _ in path.offenders if step.resource.type == "aws:ecs/service:Service"]
    assert not any(r.plain("replicateSourceDb") for r in on_path if services and r.type.startswith("aws:rds"))
    assert path.chain[0].start == 0 and all(b.start == pytest.approx(a.finish)
                                            for a, b in zip(path.chain, path.chain[1:], strict=False))
    assert "rule: total ≤" in "\n".join(cp.render(path))


def test_milestones_show_the_design_target() -> None:
    healthy = cp.analyse(full_architecture().run())
    ready = healthy.milestones()
    assert ready["last replica"] - ready["RDS primary"] == pytest.approx(15)  # one replica time after it
    assert ready["services"] < ready["last replica"] and healthy.replicas_on_app_path() == []
    late = cp.analyse(full_architecture(service_waits_for_replica=True).run())
    assert late.replicas_on_app_path() == ["app-ai"]
    assert "replicas off the app's path: NO — app-ai wait for a replica" in "\n".join(cp.render(late))


def test_a_new_slow_type_is_one_table_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    s = SyntheticStack()
    proxy = s.add("aws:example/proxy:Proxy", "proxy", {})
    assert cp.timing(proxy).minutes == Q
    monkeypatch.setitem(cp.DURATIONS, "aws:example/proxy:Proxy", cp.Timing(6, "assumed"))
    assert cp.analyse(s.run()).total == pytest.approx(6)


def test_real_stacks_app_is_ready_with_its_data_stores_not_the_replicas(any_stack: StackRun) -> None:
    path = cp.analyse(any_stack)
    ready = path.milestones()
    # The data stores the app reaches: the primary (through RDS Proxy where there is one) and Redis. Then the
    # db-admin bootstrap (half a minute) writes the database logins.
    data_ready = max(ready["RDS primary"], ready.get("Redis", 0.0), ready.get("RDS Proxy", 0.0))
    assert data_ready <= ready["app secrets"] <= data_ready + 1.0
    assert path.replicas_on_app_path() == []


def test_bench_prints_figures_and_holds_no_second_model() -> None:
    """bench/ imports the offline models; a duration or a resource type declared there would be a second model."""
    import re

    from offline.engine import ROOT

    for script in (ROOT / "bench").glob("*.py"):
        text = script.read_text()
        assert not re.search(r"aws:[a-z0-9]+/", text), f"{script.name} names resource types"
        assert "MINUTES" not in text.replace("MILESTONES", ""), script.name


def test_the_cdn_takes_minutes_but_holds_up_nothing_the_app_needs(prod: StackRun) -> None:
    path = cp.analyse(prod)
    distribution = prod.one("aws:cloudfront/distribution:Distribution")
    assert path.steps[distribution.urn].timing.minutes == 10  # deployed to every edge (wait_for_deployment)
    assert path.steps[distribution.urn].finish < path.bound and path.met
    # What waits for it, transitively: DNS, its logs and metrics, the alarms on it and the dashboard; no service,
    # database or cache (the app is ready without it).
    waiting = {path.steps[urn].resource.type for urn in path.steps if distribution.urn in path.closure(urn)}
    assert waiting == {"aws:route53/record:Record", "aws:cloudwatch/logDeliverySource:LogDeliverySource",
                       "aws:cloudwatch/logDelivery:LogDelivery",
                       "aws:cloudfront/monitoringSubscription:MonitoringSubscription",
                       "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/dashboard:Dashboard"}


def test_services_wait_for_the_metrics_workspace_but_it_costs_them_no_time(prod: StackRun) -> None:
    """The task definitions carry the workspace's remote-write URL, so the services wait for it; it takes ~30 s and is
    done long before the database the services wait for too. The alert manager waits for the alert topic's policy."""
    path = cp.analyse(prod)
    [workspace] = [s for s in path.steps.values() if s.resource.type == "aws:amp/workspace:Workspace"]
    assert workspace.timing.minutes < cp.SLOW_MINUTES
    for service in (s for s in path.steps.values() if s.resource.type == "aws:ecs/service:Service"):
        assert workspace.resource.urn in path.closure(service.resource.urn)
        assert service.start > workspace.finish + 10  # the database, not the workspace, decides when they start
    [manager] = [s for s in path.steps.values()
                 if s.resource.type == "aws:amp/alertManagerDefinition:AlertManagerDefinition"]
    policy = next(s for s in path.steps.values() if s.resource.type == "aws:sns/topicPolicy:TopicPolicy")
    assert policy.resource.urn in path.closure(manager.resource.urn)
