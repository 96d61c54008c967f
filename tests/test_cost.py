"""Monthly cost estimate: figures on hand-built resources, the price table and its refresh, the real stacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offline import cost
from offline.engine import StackRun
from offline.pricing import PriceTable, table_path
from offline.pricing.refresh import RefreshError, filters_for, parse_on_demand, refresh_document, single_price
from tests.synthetic import SyntheticStack, full_architecture

TABLE = PriceTable.load("us-east-1")
HOURS = 730
SAMPLE = Path(__file__).parent / "data" / "pricing-get-products-sample.json"


def line_total(report: cost.CostReport, name: str) -> float:
    return sum(line.monthly_usd for line in report.lines if line.resource == name)


def test_two_nat_gateways_cost_two_times_hourly_times_730_plus_assumed_traffic() -> None:
    s = SyntheticStack("dev")
    for az in ("a", "b"):
        s.add("aws:ec2/natGateway:NatGateway", f"nat-{az}", {"connectivityType": "public"})
    report = cost.estimate(s.run())
    hourly = [x for x in report.lines if x.type.endswith("NatGateway") and not x.assumed]
    assert sum(x.monthly_usd for x in hourly) == pytest.approx(2 * TABLE.usd("natgateway.hour") * HOURS)
    assumed = [x for x in report.lines if x.type.endswith("NatGateway") and x.assumed]
    gb = cost.ASSUMPTIONS["dev"].nat_gb_per_gateway
    assert sum(x.monthly_usd for x in assumed) == pytest.approx(2 * gb * TABLE.usd("natgateway.gb_processed"))
    # The lead's definition: the fixed hourly charge is overhead, the traffic through it is usage.
    assert {x.category for x in hourly} == {"overhead"} and {x.category for x in assumed} == {"usage"}


def test_cloudfront_traffic_is_usage_and_its_additional_metrics_a_fixed_overhead() -> None:
    s = SyntheticStack("prod")
    alb = s.add("aws:lb/loadBalancer:LoadBalancer", "alb", {"loadBalancerType": "application", "internal": False,
                                                             "subnets": ["a", "b"]})
    cdn = s.add("aws:cloudfront/distribution:Distribution", "cdn", {"priceClass": "PriceClass_100"},
                prop_deps={"origins": [alb]})
    s.add("aws:cloudfront/monitoringSubscription:MonitoringSubscription", "metrics", {}, parent=cdn)
    s.add("aws:cloudwatch/logDelivery:LogDelivery", "logs", {})
    s.add("aws:cloudfront/cachePolicy:CachePolicy", "image", {})
    report = cost.estimate(s.run())
    a = cost.ASSUMPTIONS["prod"]
    (requests, out, to_origin) = [x for x in report.lines if x.resource == "cdn"]
    assert {x.category for x in (requests, out, to_origin)} == {"usage"} and all(x.assumed for x in (requests, out))
    assert requests.monthly_usd == pytest.approx(a.web_million_requests * 100 * TABLE.usd(
        "cloudfront.https_10k_requests.na_eu")) == pytest.approx(30.0)
    assert out.monthly_usd == pytest.approx(a.web_gb_out * TABLE.usd("cloudfront.data_out_gb.na_eu"))
    assert to_origin.monthly_usd == pytest.approx(a.web_gb_in * TABLE.usd("cloudfront.origin_out_gb.na_eu"))
    (metrics,) = [x for x in report.lines if x.resource == "metrics"]
    assert (metrics.category, metrics.monthly_usd) == ("overhead", pytest.approx(8 * 0.3))
    (logs,) = [x for x in report.lines if x.resource == "logs"]
    assert (logs.category, logs.monthly_usd) == ("usage", pytest.approx(a.cdn_log_gb * 0.25))
    # Behind the distribution the ALB sends nothing to the internet itself (origin fetches from an ELB are free).
    assert not [x for x in report.lines if x.resource == "alb" and "internet" in x.what]
    assert not report.not_priced and report.free["aws:cloudfront/cachePolicy:CachePolicy"] == 1


def test_an_alb_that_is_the_front_door_pays_data_out_to_the_internet_as_usage() -> None:
    s = SyntheticStack("prod")
    s.add("aws:lb/loadBalancer:LoadBalancer", "alb", {"loadBalancerType": "application", "internal": False,
                                                       "subnets": ["a", "b"]})
    (line,) = [x for x in cost.estimate(s.run()).lines if "internet" in x.what]
    assert (line.category, line.assumed) == ("usage", True)
    assert line.monthly_usd == pytest.approx(cost.ASSUMPTIONS["prod"].web_gb_out * TABLE.usd(
        "ec2.data_out_internet_gb"))


def test_multi_az_doubles_the_rds_instance_and_its_storage() -> None:
    def db_cost(multi_az: bool) -> float:
        s = SyntheticStack()
        s.add("aws:rds/instance:Instance", "db", {"instanceClass": "db.r6g.large", "multiAz": multi_az,
                                                  "allocatedStorage": 100, "storageType": "gp3"})
        return cost.estimate(s.run()).capacity

    single = db_cost(False)
    assert single == pytest.approx(TABLE.usd("rds.postgres.instance_hour.db.r6g.large") * HOURS
                                   + 100 * TABLE.usd("rds.storage_gb_month.gp3"))
    assert db_cost(True) == pytest.approx(2 * single)


def test_a_replica_is_priced_as_an_instance_with_the_sources_storage() -> None:
    s = SyntheticStack()
    primary = s.add("aws:rds/instance:Instance", "db", {"instanceClass": "db.t4g.medium", "allocatedStorage": 50,
                                                        "storageType": "gp3", "identifier": "maratron-db"})
    s.add("aws:rds/instance:Instance", "db-reader", {"instanceClass": "db.t4g.medium", "storageType": "gp3",
                                                     "replicateSourceDb": "maratron-db"},
          prop_deps={"replicateSourceDb": [primary]})
    report = cost.estimate(s.run())
    assert line_total(report, "db-reader") == pytest.approx(line_total(report, "db"))
    assert any("replica" in x.what for x in report.lines if x.resource == "db-reader")


def test_cross_region_backup_replication_is_one_assumed_copy_of_the_source() -> None:
    s = SyntheticStack()
    primary = s.add("aws:rds/instance:Instance", "db", {"instanceClass": "db.t4g.medium", "allocatedStorage": 40})
    s.add("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", "db-backups",
          {"sourceDbInstanceArn": primary.outputs["arn"], "region": "us-west-2"}, parent=primary,
          prop_deps={"sourceDbInstanceArn": [primary]})
    report = cost.estimate(s.run())
    storage, transfer = [x for x in report.lines if x.resource == "db-backups"]
    # A DR copy: replication is overhead in the target's own list (NAT, endpoints, ..., replication).
    assert storage.assumed and "us-west-2" in storage.what and storage.category == "overhead"
    assert storage.monthly_usd == pytest.approx(40 * TABLE.usd("rds.backup_storage_gb_month"))
    # "DB snapshot copy charges apply to the data transfer": usage, it grows with the data.
    assert transfer.category == "usage" and transfer.assumed
    assert transfer.monthly_usd == pytest.approx(40 * TABLE.usd("s3.inter_region_transfer_gb"))


def test_performance_insights_beyond_seven_days_is_overhead_per_vcpu() -> None:
    s = SyntheticStack()
    s.add("aws:rds/instance:Instance", "db", {"instanceClass": "db.r6g.xlarge", "allocatedStorage": 20,
                                              "performanceInsightsEnabled": True,
                                              "performanceInsightsRetentionPeriod": 465})
    report = cost.estimate(s.run())
    insights = [x for x in report.lines if "Performance Insights" in x.what]
    assert len(insights) == 1 and insights[0].category == "overhead"
    assert insights[0].monthly_usd == pytest.approx(4 * TABLE.usd("rds.database_insights_advanced.vcpu_hour") * HOURS)


def test_fargate_service_costs_desired_tasks_times_task_size_with_the_arm_price() -> None:
    def service_cost(arch: str) -> float:
        s = SyntheticStack()
        task = s.add("aws:ecs/taskDefinition:TaskDefinition", "web", {
            "cpu": "512", "memory": "1024", "runtimePlatform": {"cpuArchitecture": arch}})
        s.add("aws:ecs/service:Service", "web", {"desiredCount": 3, "launchType": "FARGATE",
                                                 "taskDefinition": task.outputs["arn"]},
              prop_deps={"taskDefinition": [task]})
        return cost.estimate(s.run()).capacity

    x86 = 3 * HOURS * (0.5 * TABLE.usd("fargate.vcpu_hour.x86_64") + 1 * TABLE.usd("fargate.gb_hour.x86_64"))
    assert service_cost("X86_64") == pytest.approx(x86)
    arm = service_cost("ARM64")
    assert arm == pytest.approx(3 * HOURS * (0.5 * TABLE.usd("fargate.vcpu_hour.arm64")
                                             + 1 * TABLE.usd("fargate.gb_hour.arm64")))
    assert arm < 0.85 * x86  # the ARM discount is ~20%


def test_elasticache_nodes_from_cluster_count_or_shards_times_replicas() -> None:
    s = SyntheticStack()
    s.add("aws:elasticache/replicationGroup:ReplicationGroup", "plain",
          {"nodeType": "cache.t4g.small", "numCacheClusters": 2})
    s.add("aws:elasticache/replicationGroup:ReplicationGroup", "sharded",
          {"nodeType": "cache.t4g.small", "numNodeGroups": 2, "replicasPerNodeGroup": 2})
    report = cost.estimate(s.run())
    node = TABLE.usd("elasticache.redis.node_hour.cache.t4g.small") * HOURS
    assert line_total(report, "plain") == pytest.approx(2 * node)
    assert line_total(report, "sharded") == pytest.approx(6 * node)


def test_interface_endpoints_bill_per_subnet_and_gateway_endpoints_are_free() -> None:
    s = SyntheticStack()
    s.add("aws:ec2/vpcEndpoint:VpcEndpoint", "logs", {"vpcEndpointType": "Interface",
                                                      "subnetIds": ["subnet-1", "subnet-2", "subnet-3"]})
    s.add("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {"vpcEndpointType": "Gateway"})
    report = cost.estimate(s.run(), assumptions=cost.Assumptions(0, 0, 0, 0, 0, 0, 0, 0))
    assert line_total(report, "logs") == pytest.approx(3 * TABLE.usd("vpcendpoint.interface.az_hour") * HOURS)
    assert line_total(report, "s3") == 0
    assert not report.not_priced


def test_alb_waf_and_small_overheads() -> None:
    s = SyntheticStack()
    s.add("aws:lb/loadBalancer:LoadBalancer", "alb", {"loadBalancerType": "application", "subnets": ["a", "b"]})
    s.add("aws:wafv2/webAcl:WebAcl", "waf", {"rules": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})
    s.add("aws:ec2/eip:Eip", "ip", {"domain": "vpc"})
    s.add("aws:kms/key:Key", "key", {})
    s.add("aws:secretsmanager/secret:Secret", "secret", {})
    s.add("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm", {"period": 60})
    s.add("aws:cloudwatch/metricAlarm:MetricAlarm", "fast-alarm", {"period": 10})
    s.add("aws:cloudwatch/compositeAlarm:CompositeAlarm", "composite", {})
    s.add("aws:cloudwatch/dashboard:Dashboard", "dashboard", {})
    s.add("aws:route53/zone:Zone", "zone", {})
    report = cost.estimate(s.run(), assumptions=cost.Assumptions(0, 0, 0, 0, 0, 0, 0, 0))
    ipv4 = TABLE.usd("public_ipv4.hour") * HOURS
    assert line_total(report, "alb") == pytest.approx(TABLE.usd("alb.hour") * HOURS + 2 * ipv4)
    assert line_total(report, "waf") == pytest.approx(5 + 3 * 1)
    assert line_total(report, "ip") == pytest.approx(0.005 * 730)
    assert line_total(report, "key") == pytest.approx(1.0)
    assert line_total(report, "secret") == pytest.approx(0.40)
    assert line_total(report, "alarm") == pytest.approx(0.10)
    assert line_total(report, "fast-alarm") == pytest.approx(0.30)
    assert line_total(report, "composite") == pytest.approx(0.50)
    assert line_total(report, "dashboard") == pytest.approx(3.0)
    assert line_total(report, "zone") == pytest.approx(0.50)
    # The load balancer serves users: capacity. The rest is the platform overhead the target names.
    assert report.capacity == pytest.approx(line_total(report, "alb"))
    assert report.overhead == pytest.approx(report.total() - line_total(report, "alb"))


def test_usage_based_lines_are_labelled_assumed_and_follow_the_assumptions() -> None:
    s = SyntheticStack()
    s.add("aws:s3/bucket:Bucket", "uploads", {})
    s.add("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 30})
    a = cost.Assumptions(0, 0, 0, 0, log_gb_per_group=10, s3_gb_per_bucket=1000, ecr_gb_per_repository=0,
                         kms_10k_requests_per_key=0)
    report = cost.estimate(s.run(), assumptions=a)
    bucket = [x for x in report.lines if x.resource == "uploads"]
    assert [x.assumed for x in bucket] == [True] and bucket[0].category == "capacity"
    assert bucket[0].monthly_usd == pytest.approx(1000 * TABLE.usd("s3.standard.storage_gb_month"))
    assert line_total(report, "logs") == pytest.approx(10 * 0.50 + 10 * 1 * 0.03)
    assert all(x.assumed for x in report.lines if x.resource == "logs")


def test_log_volume_follows_the_kind_of_log_group() -> None:
    s = SyntheticStack()
    s.add("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs", {"retentionInDays": 30})
    s.add("aws:cloudwatch/logGroup:LogGroup", "database-logs-upgrade", {"retentionInDays": 30})
    s.add("aws:cloudwatch/logGroup:LogGroup", "app-web", {"retentionInDays": 30})
    a = cost.Assumptions(0, 0, 0, 0, log_gb_per_group=10, s3_gb_per_bucket=0, ecr_gb_per_repository=0,
                         kms_10k_requests_per_key=0, log_gb_by_name=(("flow-logs", 30), ("upgrade", 0.01)))
    report = cost.estimate(s.run(), assumptions=a)
    per_gb = 0.50 + 0.03  # ingested, then kept a month
    assert line_total(report, "network-flow-logs") == pytest.approx(30 * per_gb)
    assert line_total(report, "database-logs-upgrade") == pytest.approx(0.01 * per_gb)
    assert line_total(report, "app-web") == pytest.approx(10 * per_gb)


def test_unknown_types_and_unlisted_sizes_are_listed_as_not_priced() -> None:
    s = SyntheticStack()
    s.add("aws:sqs/queue:Queue", "jobs", {})
    s.add("aws:rds/instance:Instance", "huge", {"instanceClass": "db.x2g.16xlarge"})
    s.add("aws:ec2/vpc:Vpc", "vpc", {})
    s.component("maratron:network:Network", "network")
    report = cost.estimate(s.run())
    assert [(t, n) for t, n, _ in report.not_priced] == [("aws:sqs/queue:Queue", "jobs"),
                                                         ("aws:rds/instance:Instance", "huge")]
    assert "db.x2g.16xlarge" in report.not_priced[1][2]
    assert report.free == {"aws:ec2/vpc:Vpc": 1}
    text = "\n".join(cost.render(report))
    assert "Not priced" in text and "aws:sqs/queue:Queue jobs" in text


def test_prod_overhead_target_on_the_full_architecture() -> None:
    report = cost.estimate(full_architecture().run())
    assert not report.not_priced
    assert report.capacity > report.overhead > 0
    target, met, detail = report.checks()[0]
    assert "25%" in target and met is (report.overhead <= 0.25 * report.capacity)
    assert "capacity" in detail


def test_targets_flag_when_exceeded() -> None:
    s = SyntheticStack("dev")
    for index in range(5):
        s.add("aws:ec2/natGateway:NatGateway", f"nat-{index}", {})
    report = cost.estimate(s.run())
    assert report.total() > cost.DEV_TOTAL_TARGET_USD
    assert report.checks() == [("dev total <= $150/month", False, f"total ${report.total():,.2f}/month")]
    assert "EXCEEDED" in "\n".join(cost.render(report))
    prod = SyntheticStack("prod")
    prod.add("aws:ec2/natGateway:NatGateway", "nat", {})
    prod.add("aws:s3/bucket:Bucket", "tiny", {})
    (_, met, _), = cost.estimate(prod.run()).checks()
    assert met is False


# --- price table and refresh -----------------------------------------------------------------------------------------

def test_price_table_is_dated_and_every_entry_has_a_source_and_unit() -> None:
    document = json.loads(table_path("us-east-1").read_text())
    assert document["as_of"] and document["hours_per_month"] == HOURS
    for key, entry in document["prices"].items():
        assert entry["usd"] > 0 and entry["unit"] and entry["source"].startswith("https://"), key
        query = entry.get("query")
        assert query is None or (query["serviceCode"] and query["filters"]["regionCode"] == "us-east-1"), key


def test_refresh_parses_the_pricing_api_shape() -> None:
    sample = json.loads(SAMPLE.read_text())
    fargate = parse_on_demand(sample["fargate"]["PriceList"][0])
    assert (fargate.usd, fargate.unit, fargate.sku) == (0.04048, "hours", "8CESGAFWKAJ98PME")
    alarm = parse_on_demand(sample["alarms"]["PriceList"][0])  # first 10 alarms free: the paid tier is the price
    assert alarm.usd == 0.10
    with pytest.raises(RefreshError, match="ambiguous"):
        single_price(sample["rds_ambiguous"]["PriceList"], {"serviceCode": "AmazonRDS"})
    assert filters_for({"filters": {"usagetype": "U", "regionCode": "us-east-1"}}) == [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
        {"Type": "TERM_MATCH", "Field": "usagetype", "Value": "U"}]


class _FakePricingClient:
    """What refresh_document needs of boto3's pricing client: a get_products paginator."""

    def __init__(self, pages: dict[str, list[str]]) -> None:
        self.pages = pages
        self.calls: list[dict[str, Any]] = []

    def get_paginator(self, name: str) -> _FakePricingClient:
        assert name == "get_products"
        return self

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append(kwargs)
        usage = next(f["Value"] for f in kwargs["Filters"] if f["Field"] == "usagetype")
        return [{"PriceList": self.pages[usage]}]


def test_refresh_rewrites_prices_sources_and_date() -> None:
    import datetime as dt

    sample = json.loads(SAMPLE.read_text())
    document = {"as_of": "2000-01-01", "prices": {
        "fargate.vcpu_hour.x86_64": {"usd": 0.05, "unit": "vCPU-hour", "source": "hand",
                                     "query": {"serviceCode": "AmazonECS",
                                               "filters": {"usagetype": "USE1-Fargate-vCPU-Hours:perCPU"}}},
        "elasticache.valkey_factor": {"usd": 0.8, "unit": "multiplier", "source": "hand"}}}
    client = _FakePricingClient({"USE1-Fargate-vCPU-Hours:perCPU": sample["fargate"]["PriceList"]})
    changes = refresh_document(document, client, dt.date(2026, 11, 28))
    assert changes == ["fargate.vcpu_hour.x86_64: 0.05 -> 0.04048 USD per vCPU-hour"]
    assert document["as_of"] == "2026-11-28"
    entry = document["prices"]["fargate.vcpu_hour.x86_64"]
    assert entry["usd"] == 0.04048 and "8CESGAFWKAJ98PME" in entry["source"]
    assert document["prices"]["elasticache.valkey_factor"]["source"] == "hand"
    assert client.calls[0]["ServiceCode"] == "AmazonECS"


# --- the real stacks -------------------------------------------------------------------------------------------------

def test_real_stacks_cost_something_and_every_type_is_known(any_stack: StackRun) -> None:
    report = cost.estimate(any_stack)
    assert report.total() > 0
    assert report.not_priced == [], report.not_priced
    assert {line.category for line in report.lines} <= {"capacity", "overhead", "usage"}
    priced_or_free = {line.type for line in report.lines} | {t.split(" ")[0] for t in report.free}
    assert {r.type for r in any_stack.resources if r.custom} <= priced_or_free


def test_prod_pays_per_az_nat_and_dev_less(prod: StackRun, dev: StackRun) -> None:
    prod_report, dev_report = cost.estimate(prod), cost.estimate(dev)
    nat_hours = [x for x in prod_report.lines if x.type.endswith("NatGateway") and not x.assumed]
    assert len(nat_hours) == len(prod.of_type("aws:ec2/natGateway:NatGateway")) == 3
    assert dev_report.total() < prod_report.total()
    # dev's total against its $150 target is a figure (bench/cost.py, docs/cost-and-deploy-time.md), not a test.


def test_price_rules_and_free_types_do_not_overlap() -> None:
    s = SyntheticStack()
    report = cost.CostReport("x", "prod", "", "", cost.ASSUMPTIONS["prod"])
    pricer = cost._Pricer(s.run(), TABLE, cost.ASSUMPTIONS["prod"], report)
    assert not set(pricer.handlers) & cost.FREE_TYPES


def test_a_scheduled_fargate_task_costs_its_runs_and_its_extra_ephemeral_storage_once() -> None:
    s = SyntheticStack()
    task = s.add("aws:ecs/taskDefinition:TaskDefinition", "backup", {
        "cpu": "512", "memory": "1024", "runtimePlatform": {"cpuArchitecture": "ARM64"},
        "ephemeralStorage": {"sizeInGib": 200}})
    s.add("aws:scheduler/schedule:Schedule", "backup-schedule", {
        "scheduleExpression": "rate(6 hours)", "target": {"arn": "c", "ecsParameters": {
            "taskCount": 1, "taskDefinitionArn": task.outputs["arn"]}}}, prop_deps={"target": [task]})
    a = cost.Assumptions(0, 0, 0, 0, 0, 0, 0, 0, scheduled_task_hours_per_run=0.5)
    report = cost.estimate(s.run(), assumptions=a)
    hours = 730 / 6 * 0.5
    compute = hours * (0.5 * TABLE.usd("fargate.vcpu_hour.arm64") + 1 * TABLE.usd("fargate.gb_hour.arm64"))
    storage = hours * 180 * TABLE.usd("fargate.ephemeral_gb_hour")  # only beyond the free 20 GB
    (line,) = [x for x in report.lines if x.resource == "backup-schedule"]  # one line: runs and storage together
    assert line.category == "overhead" and line.assumed
    assert line.monthly_usd == pytest.approx(compute + storage)
    assert line_total(report, "backup") == 0  # the task definition itself costs nothing


def test_every_schedule_of_prod_is_priced_exactly_once(prod: StackRun) -> None:
    report = cost.estimate(prod)
    schedules = {r.name for r in prod.of_type("aws:scheduler/schedule:Schedule")}
    assert schedules == {"backup-schedule", "restore-drill-schedule"}
    runs = [x.resource for x in report.lines if x.resource in schedules and x.category == "overhead"]
    assert sorted(runs) == sorted(schedules)


# --- disaster recovery ------------------------------------------------------------------------------------------------

def replicated_stack(*, rtc: bool = False) -> tuple[SyntheticStack, Any, Any]:
    s = SyntheticStack()
    source = s.add("aws:s3/bucket:Bucket", "backups", {"bucketPrefix": "maratron-prod-backups-"})
    replica = s.add("aws:s3/bucket:Bucket", "backups-dr", {"bucketPrefix": "maratron-prod-backups-dr-",
                                                           "region": "us-west-2"})
    destination: dict[str, Any] = {"bucket": replica.outputs["arn"], "storageClass": "STANDARD_IA",
                                   "metrics": {"status": "Enabled"}}
    if rtc:
        destination["replicationTime"] = {"status": "Enabled", "time": {"minutes": 15}}
    s.add("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "backups-replication",
          {"bucket": "b", "rules": [{"status": "Enabled", "destination": destination}]},
          prop_deps={"bucket": [source], "rules": [replica]})
    return s, source, replica


def test_replica_buckets_are_priced_at_their_replication_storage_class() -> None:
    s, _, _ = replicated_stack()
    report = cost.estimate(s.run())
    gb = cost.ASSUMPTIONS["prod"].s3_gb_per_bucket
    assert line_total(report, "backups") == pytest.approx(gb * TABLE.usd("s3.standard.storage_gb_month"))
    (replica,) = [x for x in report.lines if x.resource == "backups-dr"]
    assert replica.category == "overhead" and "Standard-IA replicas in us-west-2" in replica.what  # replication
    assert replica.monthly_usd == pytest.approx(gb * TABLE.usd("s3.standard_ia.storage_gb_month"))


@pytest.mark.parametrize("rtc", [False, True])
def test_replication_metrics_are_overhead_and_replicated_bytes_are_usage(rtc: bool) -> None:
    s, _, _ = replicated_stack(rtc=rtc)
    report = cost.estimate(s.run())
    lines = {x.category: x for x in report.lines if x.resource == "backups-replication" and "Control" not in x.what}
    assert lines["overhead"].monthly_usd == pytest.approx(4 * TABLE.usd("cloudwatch.custom_metric_month"))
    gb = cost.ASSUMPTIONS["prod"].replication_gb_per_bucket
    assert lines["usage"].assumed and lines["usage"].monthly_usd == pytest.approx(
        gb * TABLE.usd("s3.inter_region_transfer_gb"))
    rtc_lines = [x for x in report.lines if "Replication Time Control" in x.what]
    assert len(rtc_lines) == int(rtc)
    if rtc:
        assert rtc_lines[0].category == "usage"
        assert rtc_lines[0].monthly_usd == pytest.approx(gb * TABLE.usd("s3.replication_time_control_gb"))


@pytest.mark.parametrize(("expression", "runs"), [
    ("rate(6 hours)", 730 / 6), ("rate(1 day)", 730 / 24), ("rate(30 minutes)", 730 * 2),
    ("cron(30 5 * * ? *)", 730 / 24), ("cron(0 5 ? * SUN,WED *)", 730 / 24 / 7 * 2), ("cron(*/5 * * * ? *)", 730),
])
def test_schedule_runs_per_month(expression: str, runs: float) -> None:
    assert cost.runs_per_month(expression, 730) == pytest.approx(runs)


def test_scheduled_drill_runs_are_overhead_and_its_cross_region_reads_usage() -> None:
    s = SyntheticStack()
    task = s.add("aws:ecs/taskDefinition:TaskDefinition", "restore-drill", {
        "cpu": "1024", "memory": "4096", "runtimePlatform": {"cpuArchitecture": "ARM64"},
        "ephemeralStorage": {"sizeInGib": 50},
        "containerDefinitions": json.dumps([{"name": "restore-drill", "command": ["restore_drill.sh"]}])})
    s.add("aws:scheduler/schedule:Schedule", "drill", {"scheduleExpression": "cron(30 5 * * ? *)", "target": {
        "ecsParameters": {"taskDefinitionArn": task.outputs["arn"]}}})
    report = cost.estimate(s.run())
    runs, a = 730 / 24, cost.ASSUMPTIONS["prod"]
    hourly = TABLE.usd("fargate.vcpu_hour.arm64") + 4 * TABLE.usd("fargate.gb_hour.arm64") + \
        30 * TABLE.usd("fargate.ephemeral_gb_hour")
    (run_line,) = [x for x in report.lines if x.resource == "drill" and x.category == "overhead"]
    assert run_line.monthly_usd == pytest.approx(runs * a.scheduled_task_hours_per_run * hourly)
    (reads,) = [x for x in report.lines if x.resource == "drill" and x.category == "usage"]
    assert reads.monthly_usd == pytest.approx(runs * a.drill_download_gb_per_run * (
        TABLE.usd("s3.inter_region_transfer_gb") + TABLE.usd("natgateway.gb_processed")))


def test_a_region_without_a_price_table_is_priced_at_us_east_1_and_says_so() -> None:
    s = SyntheticStack(region="us-west-2")
    s.add("aws:kms/key:Key", "key")
    report = cost.estimate(s.run())
    assert report.region == "us-west-2 priced at us-east-1" and report.total() > 0


def test_prod_dr_stays_within_the_overhead_target(prod: StackRun) -> None:
    report = cost.estimate(prod)
    dr = [x for x in report.lines if x.resource.startswith(("dr-", "restore-drill"))]
    assert {x.category for x in dr} == {"capacity", "overhead", "usage"}
    # key and its rotations, replication metrics, the replicas and the replicated RDS backups, drill runs
    assert sum(x.monthly_usd for x in dr if x.category == "overhead") < 25
    assert report.checks()[0][1] is True


# --- the foundation ---------------------------------------------------------------------------------------------------

def test_the_app_stacks_no_longer_pay_for_image_repositories(any_stack: StackRun) -> None:
    report = cost.estimate(any_stack)
    assert not [line for line in report.lines if line.type.startswith("aws:ecr/")]
    keys = [line for line in report.lines if line.type == "aws:kms/key:Key" and not line.assumed
            and "rotation" not in line.what]
    # logs, data, backups, alerts (+ the DR key with drRegion): the images key is the foundation's
    dr = ["dr-key"] if any_stack.outputs["drKmsKeyArn"] else []
    assert sorted(x.resource for x in keys) == [*dr, "keys-alerts", "keys-backups", "keys-data", "keys-logs"]


def test_the_foundation_is_small_and_every_type_is_known() -> None:
    from offline.foundation import run_bootstrap

    shared = cost.estimate(run_bootstrap("shared"))
    assert shared.environment == "bootstrap" and shared.not_priced == []
    keys = [x for x in shared.lines if x.type == "aws:kms/key:Key" and not x.assumed and "rotation" not in x.what]
    rotations = [x for x in shared.lines if x.type == "aws:kms/key:Key" and "rotation" in x.what]
    # state, images, bootstrap and three environments' secrets; in the DR region the state replica's and dr's secrets
    assert len(keys) == 8 and sum(x.monthly_usd for x in keys) == pytest.approx(8.0)
    assert len(rotations) == 8 and sum(x.monthly_usd for x in rotations) == pytest.approx(16.0)  # all rotate
    ecr = [x for x in shared.lines if x.type == "aws:ecr/repository:Repository"]
    assert len(ecr) == 6 and all(x.assumed for x in ecr)  # storage at the assumed 5 GB each, DR replicas too
    # ... which the replication line then leaves out (no second count of the same copies).
    (replication,) = [x for x in shared.lines if x.type == "aws:ecr/replicationConfiguration:ReplicationConfiguration"]
    assert replication.monthly_usd == 0
    # the foundation secrets key's replica in the DR region (a DR stack reads the foundation there): key + rotations
    (replica,) = [x for x in shared.lines if x.type == "aws:kms/replicaKey:ReplicaKey"]
    assert replica.monthly_usd == pytest.approx(3.0)
    assert 15 < shared.total() < 35, shared.total()
    org = [cost.estimate(run_bootstrap(s)) for s in ("org-shared", "org-dev", "org-staging", "org-prod")]
    assert all(r.not_priced == [] for r in org)
    assert sum(len([x for x in r.lines if x.type == "aws:kms/key:Key" and not x.assumed
                    and "rotation" not in x.what]) for r in org) == 11  # + the state replica's, prod's dr secrets
    # Enhanced scanning is Inspector's, per image: listed as not priced rather than silently free.
    enhanced = cost.estimate(run_bootstrap("shared", {"maratron-bootstrap:imageScanning": "enhanced"}))
    assert [t for t, _, _ in enhanced.not_priced] == [
        "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"] * 2  # here and the replica region


def test_a_target_tracking_policy_costs_the_alarms_application_auto_scaling_makes() -> None:
    """Two standard alarms per target-tracking policy (AlarmHigh, AlarmLow), one with scale-in disabled; a
    step-scaling policy makes none."""
    s = SyntheticStack()
    tracking = {"policyType": "TargetTrackingScaling", "targetTrackingScalingPolicyConfiguration": {"targetValue": 60}}
    s.add("aws:appautoscaling/policy:Policy", "both", tracking)
    s.add("aws:appautoscaling/policy:Policy", "out-only", {**tracking, "targetTrackingScalingPolicyConfiguration": {
        "targetValue": 60, "disableScaleIn": True}})
    s.add("aws:appautoscaling/policy:Policy", "steps", {"policyType": "StepScaling"})
    report = cost.estimate(s.run())
    alarm = TABLE.usd("cloudwatch.alarm_metric_month")
    for name, alarms in (("both", 2), ("out-only", 1), ("steps", 0)):
        lines = [x for x in report.lines if x.resource == name]
        assert sum(x.monthly_usd for x in lines) == pytest.approx(alarms * alarm), name
        assert all(x.category == "overhead" for x in lines)
    assert report.free == {"aws:appautoscaling/policy:Policy (step scaling)": 1}


@pytest.mark.parametrize(("mode", "metrics"), [("enabled", 12 + 25 * 2), ("disabled", 0)])
def test_container_insights_is_priced_as_custom_metrics(mode: str, metrics: int) -> None:
    """"The metrics are charged as custom metrics" (CloudWatch user guide): 12 per cluster, 15 per service and 10
    per service's task family in standard mode (Fargate 1.4.0 adds ephemeral storage); nothing when disabled;
    enhanced mode's task and container metrics are not in the table, so a cluster with it is listed as not priced
    rather than guessed."""
    s = SyntheticStack()
    cluster = s.add("aws:ecs/cluster:Cluster", "cluster", {"settings": [{"name": "containerInsights", "value": mode}]})
    for name in ("web", "ai"):
        s.add("aws:ecs/service:Service", name, {"cluster": cluster.outputs["arn"], "desiredCount": 1})
    report = cost.estimate(s.run())
    lines = [x for x in report.lines if x.resource == "cluster"]
    assert sum(x.monthly_usd for x in lines) == pytest.approx(metrics * TABLE.usd("cloudwatch.custom_metric_month"))
    assert all(x.category == "overhead" for x in lines)
    enhanced = SyntheticStack("dev")
    enhanced.add("aws:ecs/cluster:Cluster", "cluster",
                 {"settings": [{"name": "containerInsights", "value": "enhanced"}]})
    report = cost.estimate(enhanced.run())
    assert [t for t, _, _ in report.not_priced] == ["aws:ecs/cluster:Cluster"]
    # A lower bound cannot say a target is met.
    assert report.checks() == [("dev total <= $150/month", None, f"total ${report.total():,.2f}/month; 1 resource(s) "
                                                                  "not priced")]


def test_a_rotating_key_costs_its_two_priced_rotations_too() -> None:
    s = SyntheticStack()
    s.add("aws:kms/key:Key", "rotating", {"enableKeyRotation": True})
    s.add("aws:kms/key:Key", "fixed", {})
    report = cost.estimate(s.run())
    fixed = [x.monthly_usd for x in report.lines if x.resource == "fixed" and x.category == "overhead"]
    rotating = [x.monthly_usd for x in report.lines if x.resource == "rotating" and x.category == "overhead"]
    assert fixed == [TABLE.usd("kms.key_month")]
    assert sorted(rotating) == sorted([TABLE.usd("kms.key_month"), 2 * TABLE.usd("kms.rotation_month")])
