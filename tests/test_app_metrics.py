"""App metrics: the AMP workspace (CMK, logs, retention, limits), the alert rules and their route to the alert topic,
the ADOT collector sidecar in each web/AI task (hardening, config, IAM, no network change), Grafana, config errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from components.alarm_catalog import AlarmThresholds
from components.app_metrics import (
    COLLECTOR_CONTAINER,
    AppMetricsSettings,
    alert_manager_yaml,
    alert_rules,
    collector_config,
    dump_yaml,
    rule_groups_yaml,
)
from components.constants import METRICS_COLLECTOR_IMAGE
from components.task import ContainerSpec, FargateTaskArgs, TaskSize
from offline.engine import StackRun
from tests.configs import (
    APP_METRICS_TUNED,
    DEV_TAGGED_METRICS,
    GRAFANA_SSO,
    GROUP_ADMINS,
    GROUP_OPS,
    MINIMAL_VALID,
    PROD_ELSEWHERE_TUNED,
    config_problems,
)

WORKSPACE = "aws:amp/workspace:Workspace"
CONFIGURATION = "aws:amp/workspaceConfiguration:WorkspaceConfiguration"
RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
ALERT_MANAGER = "aws:amp/alertManagerDefinition:AlertManagerDefinition"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
GRAFANA = "aws:grafana/workspace:Workspace"
ACCOUNT = "123456789012"


def containers(run: StackRun, task: str) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(run.one(TASK_DEFINITION, task).plain("containerDefinitions"))}


def collector(run: StackRun, task: str) -> dict[str, Any]:
    return containers(run, task)[COLLECTOR_CONTAINER]


def adot_config(run: StackRun, task: str) -> dict[str, Any]:
    env = {e["name"]: e["value"] for e in collector(run, task)["environment"]}
    assert list(env) == ["AOT_CONFIG_CONTENT"]  # no other variable, and no secret
    parsed: dict[str, Any] = yaml.safe_load(env["AOT_CONFIG_CONTENT"])
    return parsed


def rule_document(run: StackRun) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(run.one(RULES).inputs["data"])
    return parsed


def alerts(run: StackRun) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for r in rule_document(run)["groups"][0]["rules"] if "alert" in r}


# --- workspace -------------------------------------------------------------------------------------------------------

TUNED: dict[str, Any] = PROD_ELSEWHERE_TUNED
"""prod with every metrics setting away from its default (tests/configs.py APP_METRICS_TUNED), Grafana on with a SAML
IdP included: one run for the tests that each check a few of them (the settings are independent: each test's
assertions hold whatever the others are). The run is also tests/test_cdn.py's stack in us-west-2 mid-rotation (none
of these tests reads a region or the origin secret): each test asserts the settings it reads (tuned())."""


def tuned(run_variant: Callable[..., StackRun]) -> StackRun:
    """The TUNED run, checked to carry every app-metrics setting of APP_METRICS_TUNED."""
    run: StackRun = run_variant("prod", **TUNED)
    assert run.ok, run.error_details
    configured = {k: run.config[f"maratron:{k}"] for k in APP_METRICS_TUNED}
    assert {k: v if isinstance(APP_METRICS_TUNED[k], str) else json.loads(v) for k, v in configured.items()} == \
        APP_METRICS_TUNED
    return run

def test_workspace_is_encrypted_with_the_telemetry_key_and_logs_to_an_encrypted_group(prod: StackRun) -> None:
    workspace = prod.one(WORKSPACE)
    logs_key = prod.one("aws:kms/key:Key", "keys-logs").outputs["arn"]
    group = prod.one(LOG_GROUP, "metrics-logs")
    assert workspace.inputs["kmsKeyArn"] == logs_key
    assert workspace.inputs["alias"] == "maratron-prod"
    assert workspace.inputs["loggingConfiguration"] == {"logGroupArn": group.outputs["arn"] + ":*"}
    assert group.inputs["name"] == "/aws/vendedlogs/prometheus/maratron-prod"
    assert (group.inputs["kmsKeyId"], group.inputs["retentionInDays"]) == (logs_key, 365)
    assert workspace.protect  # the metric history, under removalPolicy retain
    assert workspace.inputs["tags"]["environment"] == "prod"


def test_log_delivery_policy_covers_only_the_metrics_group_of_this_account(prod: StackRun) -> None:
    policy = prod.one("aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "metrics-logs")
    group = prod.one(LOG_GROUP, "metrics-logs")
    [statement] = json.loads(policy.inputs["policyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert statement["Resource"] == group.outputs["arn"] + ":*"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    # The workspace is created only once the policy lets AMP deliver its logs.
    assert policy.urn in prod.one(WORKSPACE).dependencies


def test_workspace_keeps_the_configured_history_and_limits_series_per_service(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = tuned(run_variant)
    configuration = run.one(CONFIGURATION)
    assert configuration.inputs["workspaceId"] == run.one(WORKSPACE).id
    assert configuration.inputs["retentionPeriodInDays"] == 400
    assert configuration.inputs["limitsPerLabelSets"] == [
        {"labelSet": {"job": job}, "limits": {"maxSeries": 5000}} for job in ("web", "ai")]


def test_dev_opts_out_and_has_no_metrics_part(dev: StackRun) -> None:
    assert not [r for r in dev.resources if r.type.startswith(("aws:amp/", "aws:grafana/"))]
    # Only the app container and its scratch-volume init container (dev builds no images of its own): no collector.
    assert list(containers(dev, "web")) == ["web-volume-init", "web"]
    assert list(containers(dev, "ai")) == ["ai-volume-init", "ai"]
    assert {dev.outputs[k] for k in ("ampWorkspaceId", "ampWorkspaceArn", "ampEndpoint", "grafanaWorkspaceUrl")} == {""}
    for key in ("keys-logs", "keys-alerts"):
        policy = json.loads(dev.one("aws:kms/key:Key", key).inputs["policy"])
        assert not [s for s in policy["Statement"] if "aps.amazonaws.com" in json.dumps(s)]


def test_outputs_name_the_workspace(prod: StackRun) -> None:
    workspace = prod.one(WORKSPACE)
    assert prod.outputs["ampWorkspaceId"] == workspace.id
    assert prod.outputs["ampWorkspaceArn"] == workspace.outputs["arn"]
    assert prod.outputs["ampEndpoint"] == workspace.outputs["prometheusEndpoint"]
    assert prod.outputs["ampEndpoint"].endswith("/") and prod.outputs["grafanaWorkspaceUrl"] == ""


# --- alert rules and their route -------------------------------------------------------------------------------------

def test_alert_rules_watch_the_guides_signals_with_the_seeds_labels(prod: StackRun) -> None:
    group = rule_document(prod)["groups"][0]
    assert (group["name"], group["interval"]) == ("maratron-app", "1m")
    records = {r["record"]: r["expr"] for r in group["rules"] if "record" in r}
    assert records["job:http_errors:rate5m"] == 'sum by (job) (rate(http_requests_total{status_code=~"5.."}[5m]))'
    found = alerts(prod)
    assert sorted(found) == ["AppErrorRateHigh", "AppLatencyP95High", "CacheHitRateLow", "DatabaseConnectionsHigh",
                             "MetricsEndpointDown", "MetricsMissing"]
    # prod thresholds: 1% errors, p95 1.5 s (alarmLatencyP95Ms), cache hit 80%, 80% of the app's pools at full scale
    # ((webMaxCount 12 + aiMaxCount 6) tasks × 2 pools × appDatabasePoolSize 10 = 360), not of max_connections 600.
    assert found["AppErrorRateHigh"]["expr"] == ("job:http_errors:ratio_rate5m > 0.01 and "
                                                 "job:http_requests:rate5m > 0.1")
    assert found["AppLatencyP95High"]["expr"] == (
        'histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{route!~"(?:/api/chat).*"}'
        "[5m]))) > 1.5 and job:http_requests:rate5m > 0.1")
    assert found["CacheHitRateLow"]["expr"] == "avg by (job, strategy) (cache_hit_rate) < 80"
    assert found["DatabaseConnectionsHigh"]["expr"] == "sum(database_connections_active) > 288"
    assert found["MetricsMissing"]["expr"] == 'absent(up{job="web"}) or absent(up{job="ai"})'
    for name, rule in found.items():
        assert rule["labels"]["severity"] in ("page", "ticket"), name
        assert rule["annotations"]["runbook"] == f"docs/runbooks/app-metrics.md#{name.lower()}"
    assert "status=" not in prod.one(RULES).inputs["data"]  # the seed's label is status_code


def test_thresholds_follow_the_stacks_alarm_settings(staging: StackRun, run_variant) -> None:  # type: ignore[no-untyped-def]
    assert "> 2 and" in alerts(staging)["AppLatencyP95High"]["expr"]  # staging's alarmLatencyP95Ms 2000
    run = tuned(run_variant)
    found = alerts(run)
    assert found["AppErrorRateHigh"]["expr"].startswith("job:http_errors:ratio_rate5m > 0.05 and")
    assert found["CacheHitRateLow"]["expr"].endswith("< 60")
    assert found["DatabaseConnectionsHigh"]["expr"] == "sum(database_connections_active) > 180"  # 50% of 360
    # The streamed AI routes (wafAiPaths) stay out of the p95, regex-escaped for RE2 inside a PromQL string.
    assert 'route!~"(?:/api/chat|/api/coach\\\\.v2).*"' in found["AppLatencyP95High"]["expr"]


def test_alert_manager_routes_every_alert_to_the_alert_topic_once_amp_may_publish(prod: StackRun) -> None:
    manager = prod.one(ALERT_MANAGER)
    topic = prod.one("aws:sns/topic:Topic")
    assert manager.inputs["workspaceId"] == prod.one(WORKSPACE).id
    definition = yaml.safe_load(manager.inputs["definition"])
    config = yaml.safe_load(definition["alertmanager_config"])
    assert config["route"]["receiver"] == "alert-topic" and config["route"]["group_by"] == ["alertname", "job"]
    [receiver] = config["receivers"]
    [sns] = receiver["sns_configs"]
    assert sns["topic_arn"] == topic.outputs["arn"] and sns["sigv4"] == {"region": "us-east-1"}
    assert sns["send_resolved"] is True and len(sns["subject"]) < 100
    policy = prod.one("aws:sns/topicPolicy:TopicPolicy")
    assert policy.urn in manager.dependencies
    assert prod.one("aws:kms/key:Key", "keys-alerts").urn in manager.dependencies  # the topic's CMK (issue 9)


def test_alerting_starts_once_the_services_it_watches_exist(prod: StackRun) -> None:
    """On an empty workspace `absent(up{job="web"})` is true: rules created with the workspace would page
    MetricsMissing ten minutes into a first deploy, while the services still wait for the database."""
    services = {prod.one("aws:ecs/service:Service", name).urn for name in ("web", "ai")}
    for alerting in (prod.one(RULES), prod.one(ALERT_MANAGER)):
        assert services <= set(alerting.dependencies), alerting.name
    workspace = prod.one(WORKSPACE)
    assert not services & set(workspace.dependencies)  # the collectors' endpoint stays off the services' path


def test_topic_and_key_admit_the_alert_manager_for_this_workspace_and_topic_only(prod: StackRun) -> None:
    topic = prod.one("aws:sns/topic:Topic").outputs["arn"]
    workspace = prod.one(WORKSPACE).outputs["arn"]
    statements = {s["Sid"]: s for s in json.loads(prod.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])[
        "Statement"]}
    amp = statements["AllowPrometheusAlertManagerOfThisWorkspace"]
    assert amp["Principal"] == {"Service": "aps.amazonaws.com"}
    assert amp["Action"] == ["sns:Publish", "sns:GetTopicAttributes"] and amp["Resource"] == topic
    assert amp["Condition"] == {"ArnEquals": {"aws:SourceArn": workspace},
                                "StringEquals": {"aws:SourceAccount": ACCOUNT}}
    # The alert topic is on its own CMK (issue 9): the alert manager's grant is there, not on the logs key.
    key = json.loads(prod.one("aws:kms/key:Key", "keys-alerts").inputs["policy"])
    logs_key = json.loads(prod.one("aws:kms/key:Key", "keys-logs").inputs["policy"])
    assert not [s for s in logs_key["Statement"] if "aps.amazonaws.com" in json.dumps(s)]
    [statement] = [s for s in key["Statement"] if s.get("Sid") == "AllowPrometheusAlertManagerToEncryptedAlertTopic"]
    assert statement["Principal"] == {"Service": "aps.amazonaws.com"}
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    # The key policy exists before the topic, so it names the topic's (deterministic) ARN: the real one.
    assert statement["Condition"] == {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic}}


# --- the collector sidecar -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("task", ["web", "ai"])
def test_collector_sidecar_is_hardened_like_the_app(prod: StackRun, task: str) -> None:
    sidecar = collector(prod, task)
    # The scratch-volume init container (issue 9), the app waiting for it, then the collector.
    assert list(containers(prod, task)) == [f"{task}-volume-init", task, COLLECTOR_CONTAINER]
    assert "dependsOn" not in sidecar  # it needs no scratch volume, so it does not wait for the init container
    assert sidecar["image"] == METRICS_COLLECTOR_IMAGE and ":latest" not in sidecar["image"]
    assert sidecar["user"] == "4317:4317"  # the image's own `aoc` user, never root
    assert sidecar["readonlyRootFilesystem"] is True and sidecar["privileged"] is False
    assert sidecar["linuxParameters"] == {"capabilities": {"add": [], "drop": ["ALL"]}, "initProcessEnabled": True}
    assert sidecar["essential"] is False  # a dead collector pages (MetricsMissing), it does not stop the app
    assert sidecar["restartPolicy"] == {"enabled": True, "restartAttemptPeriod": 60}  # ...and ECS restarts it
    assert (sidecar["cpu"], sidecar["memory"]) == (32, 128)
    assert "portMappings" not in sidecar and sidecar["mountPoints"] == [] and sidecar["secrets"] == []
    assert sidecar["healthCheck"]["command"] == ["CMD", "/healthcheck"]
    app_logs = containers(prod, task)[task]["logConfiguration"]["options"]
    options = sidecar["logConfiguration"]["options"]
    assert options["awslogs-group"] == app_logs["awslogs-group"]
    assert options["awslogs-stream-prefix"] == COLLECTOR_CONTAINER and options["mode"] == "non-blocking"


def test_one_off_tasks_carry_no_collector(prod: StackRun) -> None:
    assert list(containers(prod, "migrate")) == ["migrate-volume-init", "migrate"]
    assert len(json.loads(prod.one(TASK_DEFINITION, "backup").plain("containerDefinitions"))) == 1


@pytest.mark.parametrize(("task", "port"), [("web", 3000), ("ai", 8000)])
def test_collector_scrapes_its_own_task_on_loopback_and_writes_to_the_workspace(prod: StackRun, task: str,
                                                                                port: int) -> None:
    config = adot_config(prod, task)
    scrape = config["receivers"]["prometheus"]["config"]
    assert scrape["global"] == {"scrape_interval": "60s", "scrape_timeout": "10s"}
    assert scrape["scrape_configs"] == [{"job_name": task, "metrics_path": "/metrics", "scheme": "http",
                                         "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]
    exporter = config["exporters"]["prometheusremotewrite"]
    assert exporter["endpoint"] == prod.one(WORKSPACE).outputs["prometheusEndpoint"] + "api/v1/remote_write"
    assert exporter["auth"] == {"authenticator": "sigv4auth"}
    assert config["extensions"]["sigv4auth"] == {"region": "us-east-1", "service": "aps"}
    assert config["extensions"]["health_check"] == {"endpoint": "127.0.0.1:13133"}
    pipeline = config["service"]["pipelines"]["metrics"]
    assert pipeline == {"receivers": ["prometheus"],
                        "processors": ["memory_limiter", "resourcedetection/ecs", "resource/instance", "batch"],
                        "exporters": ["prometheusremotewrite"]}
    assert config["service"]["extensions"] == ["health_check", "sigv4auth"]
    assert config["service"]["telemetry"] == {"metrics": {"level": "none"}}  # listens on nothing else


def test_series_of_different_tasks_never_collide(prod: StackRun) -> None:
    processors = adot_config(prod, "web")["processors"]
    # The ECS task id (from the task metadata endpoint) becomes `instance`: 127.0.0.1 alone is the same everywhere.
    assert processors["resourcedetection/ecs"]["detectors"] == ["ecs"]
    assert processors["resource/instance"] == {"attributes": [
        {"key": "service.instance.id", "from_attribute": "aws.ecs.task.id", "action": "upsert"}]}
    # The memory limiter acts before the container's 128 MiB hard limit would kill it.
    assert processors["memory_limiter"] == {"check_interval": "1s", "limit_mib": 102, "spike_limit_mib": 25}


def test_scrape_settings_follow_config(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = tuned(run_variant)
    web = adot_config(run, "web")["receivers"]["prometheus"]["config"]
    assert web["global"]["scrape_interval"] == "30s"
    assert web["scrape_configs"][0]["metrics_path"] == "/api/metrics"
    assert web["scrape_configs"][0]["static_configs"] == [{"targets": ["127.0.0.1:9464"]}]
    ai = adot_config(run, "ai")["receivers"]["prometheus"]["config"]
    assert ai["scrape_configs"][0]["static_configs"] == [{"targets": ["127.0.0.1:8000"]}]  # aiMetricsPort 0: aiPort
    assert (collector(run, "web")["cpu"], collector(run, "web")["memory"]) == (64, 256)
    # A loopback metrics port is never published: not mapped, no target group, no security group rule.
    assert containers(run, "web")["web"]["portMappings"][0]["containerPort"] == 3000
    assert "9464" not in json.dumps([r.inputs for r in run.resources if "securityGroup" in r.type])


@pytest.mark.parametrize("task", ["web", "ai"])
def test_task_role_may_remote_write_to_this_workspace_only(prod: StackRun, task: str) -> None:
    role = prod.one("aws:iam/role:Role", f"{task}-task")
    [policy] = [p for p in prod.of_type(ROLE_POLICY) if p.inputs["role"] == role.id]
    statements = {s["Sid"]: s for s in json.loads(policy.plain("policy"))["Statement"]}
    write = statements["RemoteWriteToTheWorkspace"]
    assert (write["Action"], write["Resource"]) == (["aps:RemoteWrite"], [prod.one(WORKSPACE).outputs["arn"]])
    key = statements["WorkspaceKeyThroughPrometheusOnly"]
    assert key["Resource"] == [prod.one("aws:kms/key:Key", "keys-logs").outputs["arn"]]
    assert sorted(key["Action"]) == ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "aps.us-east-1.amazonaws.com"}}
    assert len(statements) == 2
    # The execution role pulls the public collector image anonymously: it gains nothing.
    execution = json.loads(prod.one(ROLE_POLICY, f"{task}-execution").plain("policy"))["Statement"]
    assert "aws-otel" not in json.dumps(execution)


def dev_with_metrics(run_variant: Callable[..., StackRun]) -> StackRun:
    """dev with appMetricsEnabled (tests/configs.py DEV_TAGGED_METRICS: its images named by a tag and a reference too,
    for tests/test_images.py; they resolve to dev's digests)."""
    run: StackRun = run_variant("dev", **DEV_TAGGED_METRICS)
    assert run.config["maratron:appMetricsEnabled"] == "true"
    return run


def test_scraping_needs_no_network_change(dev: StackRun, run_variant) -> None:  # type: ignore[no-untyped-def]
    """The sidecar scrapes 127.0.0.1 in the task's own namespace: security groups never see that traffic, and the
    remote write leaves on the HTTPS egress every task already has. (dev, metrics off, against the same stack with them
    on: the run test_dev_may_turn_metrics_on_and_the_sidecar_fits_its_small_tasks reads.)"""
    with_metrics = dev_with_metrics(run_variant)
    assert with_metrics.ok and with_metrics.one(WORKSPACE) and not dev.of_type(WORKSPACE)

    def rules(run: StackRun) -> list[tuple[str, str, str]]:
        return sorted((r.type, r.name, json.dumps(r.inputs, sort_keys=True, default=str)) for r in run.resources
                      if r.type.startswith(("aws:vpc/securityGroup", "aws:ec2/securityGroup")))

    assert rules(with_metrics) == rules(dev)


# --- Grafana ---------------------------------------------------------------------------------------------------------


def test_grafana_is_off_by_default(prod: StackRun) -> None:
    assert not prod.of_type(GRAFANA)


def test_grafana_reads_this_workspace_with_its_own_role(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **GRAFANA_SSO)
    grafana = run.one(GRAFANA)
    role = run.one("aws:iam/role:Role", "metrics-grafana")
    assert grafana.inputs["permissionType"] == "CUSTOMER_MANAGED" and grafana.inputs["roleArn"] == role.outputs["arn"]
    assert grafana.inputs["authenticationProviders"] == ["AWS_SSO"]
    assert grafana.inputs["accountAccessType"] == "CURRENT_ACCOUNT" and grafana.inputs["dataSources"] == ["PROMETHEUS"]
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "grafana.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    statements = {s["Sid"]: s for s in json.loads(run.one(ROLE_POLICY, "metrics-grafana").plain("policy"))[
        "Statement"]}
    query = statements["QueryTheWorkspace"]
    assert query["Resource"] == [run.one(WORKSPACE).outputs["arn"]]
    assert sorted(query["Action"]) == ["aps:GetLabels", "aps:GetMetricMetadata", "aps:GetSeries", "aps:QueryMetrics"]
    # The runbook silences alerts from Grafana: AWS's list for AMP alerts in Grafana, on this workspace only.
    alerts = statements["SeeAndSilenceAlerts"]
    assert alerts["Resource"] == [run.one(WORKSPACE).outputs["arn"]]
    assert {"aps:PutAlertManagerSilences", "aps:DeleteAlertManagerSilence", "aps:ListRules",
            "aps:ListAlertManagerAlerts"} <= set(alerts["Action"])
    assert statements["WorkspaceKeyThroughPrometheusOnly"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "aps.us-east-1.amazonaws.com"}}
    associations = {a.inputs["role"]: a.inputs["groupIds"] for a in run.of_type(
        "aws:grafana/roleAssociation:RoleAssociation")}
    assert associations == {"ADMIN": [GROUP_ADMINS], "VIEWER": [GROUP_OPS]}
    assert run.outputs["grafanaWorkspaceUrl"] == "https://" + grafana.outputs["endpoint"]



def test_grafana_is_drawn_priced_and_timed_when_on(run_variant) -> None:  # type: ignore[no-untyped-def]
    from offline import cost, diagram
    from offline import critical_path as cp

    run = run_variant("prod", **GRAFANA_SSO)
    grafana = run.one(GRAFANA)
    drawn = diagram.build(run)
    boxes = {box.key: " | ".join([box.title, *box.lines]) for box in drawn.all_boxes()}
    assert boxes[f"grafana:{grafana.name}"].startswith("Managed Grafana")
    assert (f"grafana:{grafana.name}", "prometheus:metrics", "queries") in drawn.edges  # its data source
    priced = [x for x in cost.estimate(run).lines if x.resource == grafana.name]
    assert priced and all(x.category == "overhead" or x.category == "usage" for x in priced)
    assert sum(x.monthly_usd for x in priced) > 0
    path = cp.analyse(run)
    assert path.steps[grafana.urn].timing.minutes == 5 and path.met  # minutes, and nothing waits on it
    assert grafana.urn not in {s.resource.urn for s in path.unavoidable}


def test_grafana_with_a_saml_idp(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = tuned(run_variant)  # GRAFANA_SAML
    assert run.one(GRAFANA).inputs["authenticationProviders"] == ["SAML"]
    saml = run.one("aws:grafana/workspaceSamlConfiguration:WorkspaceSamlConfiguration")
    assert saml.inputs["idpMetadataUrl"] == "https://idp.example.com/metadata"
    assert (saml.inputs["adminRoleValues"], saml.inputs["editorRoleValues"]) == (["admin"], ["editor"])
    assert not run.of_type("aws:grafana/roleAssociation:RoleAssociation")


def test_identity_center_sign_in_warns_who_can_create_the_workspace(prod: StackRun, run_variant) -> None:  # type: ignore[no-untyped-def]
    """CreateWorkspace with AWS_SSO needs organizations:/sso: calls the deploy roles lack or deny: the preview says
    so (the run keeps the program's warnings: StackRun.warnings, printed by the preview)."""
    [warned] = run_variant("prod", **GRAFANA_SSO).warnings
    assert "IAM Identity Center" in warned and "organizations:DescribeOrganization" in warned and "SAML" in warned
    assert tuned(run_variant).warnings == []  # GRAFANA_SAML
    assert prod.warnings == []  # Grafana off


# --- configuration errors --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("stack", "overrides", "expected"), [
    ("prod", {"appMetricsEnabled": False},
     "maratron:appMetricsEnabled = false: prod needs the app's metrics"),
    ("staging", {"aiCpu": 256, "aiMemory": 512, "metricsCollectorMemory": 256},
     "maratron:metricsCollectorMemory = 256: must be at most a quarter of aiMemory (512 MiB): the collector sidecar "
     "would leave the ai app 256"),
    ("staging", {"metricsCollectorCpu": 256, "aiCpu": 512, "aiMemory": 1024},
     "maratron:metricsCollectorCpu = 256: must be at most a quarter of aiCpu (512 CPU units)"),
    # The boundary: one over a quarter of Fargate's smallest task (256 CPU units, 512 MiB) is refused.
    ("staging", {"aiCpu": 256, "aiMemory": 512, "metricsCollectorMemory": 129},
     "maratron:metricsCollectorMemory = 129: must be at most a quarter of aiMemory (512 MiB): the collector sidecar "
     "would leave the ai app 383"),
    ("staging", {"aiCpu": 256, "aiMemory": 512, "metricsCollectorCpu": 65},
     "maratron:metricsCollectorCpu = 65: must be at most a quarter of aiCpu (256 CPU units)"),
    # natGateways none is refused for every stack (issue 9's rule); its message names the collector's public image.
    ("staging", {"natGateways": "none"}, "and the metrics collector's image comes from public ECR"),
    ("staging", {"alarmLatencyP95Ms": 10000, "alarmLatencyP99Ms": 12000},
     "maratron:alarmLatencyP95Ms = 10000: must be below 10000 ms with app metrics on"),
    ("staging", {"metricsCollectorImage": "public.ecr.aws/aws-observability/aws-otel-collector:latest"},
     "maratron:metricsCollectorImage = \"public.ecr.aws/aws-observability/aws-otel-collector:latest\": must be an "
     "image reference with a release tag or a digest"),
    ("staging", {"appMetricsPath": "metrics"}, "maratron:appMetricsPath = \"metrics\": must be an absolute URL path"),
    ("staging", {"appMetricsScrapeIntervalSeconds": 300},
     "maratron:appMetricsScrapeIntervalSeconds = 300: must be between 10 and 120"),
    ("staging", {"appMetricsRetentionDays": 2000},
     "maratron:appMetricsRetentionDays = 2000: must be between 1 and 1095"),
    ("staging", {"grafanaEnabled": True},
     "maratron:grafanaAdminGroupIds = []: with grafanaAuthenticationProviders AWS_SSO, name at least one IAM Identity "
     "Center group"),
    ("staging", {"grafanaEnabled": True, "grafanaAuthenticationProviders": []},
     "maratron:grafanaAuthenticationProviders = []: needs AWS_SSO and/or SAML"),
    ("staging", {"grafanaEnabled": True, "grafanaAuthenticationProviders": ["SAML"],
                 "grafanaSamlMetadataUrl": "http://idp.example.com"},
     "maratron:grafanaSamlMetadataUrl = \"http://idp.example.com\": must be an https:// URL"),
    ("staging", {"grafanaEnabled": True, "grafanaAuthenticationProviders": ["SAML"]},
     "maratron:grafanaSamlEditorRoleValues = []: required with grafanaAuthenticationProviders SAML"),
    ("staging", {"grafanaEnabled": True, "grafanaAuthenticationProviders": ["OKTA"]},
     "maratron:grafanaAuthenticationProviders = [\"OKTA\"]: 'OKTA' is not one of AWS_SSO, SAML"),
    ("staging", {"appMetricsEnabled": False, "grafanaEnabled": True, "grafanaAdminGroupIds": ["g"]},
     "maratron:grafanaEnabled = true: needs appMetricsEnabled = true"),
    # On the ALB-facing port only the load balancer's (and CDN's) 404 paths keep the endpoint off the internet.
    ("staging", {"appMetricsPath": "/prom"},
     "maratron:appMetricsPath = \"/prom\": is served on the web app's ALB-facing port (webMetricsPort 0: port 3000), "
     "where only /metrics, /metrics/*, /api/metrics, /api/metrics/* answer 404"),
])
def test_config_errors(run_variant, stack: str, overrides: dict[str, Any], expected: str) -> None:  # type: ignore[no-untyped-def]
    run = run_variant(stack, **overrides)
    assert not run.ok
    assert expected in str(run.error), str(run.error)


@pytest.mark.parametrize(("memory", "cpu", "accepted"), [(128, 64, True), (129, 64, False), (128, 65, False)])
def test_the_collector_may_take_exactly_a_quarter_of_the_task(memory: int, cpu: int, accepted: bool) -> None:
    """On Fargate's smallest task (256 CPU units, 512 MiB) the collector may reserve 64 units and 128 MiB, no more."""
    raw = {**MINIMAL_VALID, "maratron:appMetricsEnabled": "true", "maratron:aiCpu": "256", "maratron:aiMemory": "512",
           "maratron:metricsCollectorMemory": str(memory), "maratron:metricsCollectorCpu": str(cpu)}
    problems = config_problems(raw)
    assert (not any(p.startswith("maratron:metricsCollector") for p in problems)) is accepted, problems


@pytest.mark.parametrize(("path", "port", "accepted"), [
    ("/metrics", 0, True), ("/api/metrics/prometheus", 0, True), ("/prom", 0, False), ("/prom", 3000, False),
    ("/prom", 9464, True)])
def test_a_custom_metrics_path_needs_a_private_path_or_its_own_port(path: str, port: int, accepted: bool) -> None:
    raw = {**MINIMAL_VALID, "maratron:appMetricsPath": path, "maratron:webMetricsPort": str(port)}
    problems = config_problems(raw)
    assert (not any(p.startswith("maratron:appMetricsPath") for p in problems)) is accepted, problems



def test_dev_may_turn_metrics_on_and_the_sidecar_fits_its_small_tasks(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = dev_with_metrics(run_variant)
    assert run.ok, run.error
    assert collector(run, "ai")["memory"] * 4 <= int(run.one(TASK_DEFINITION, "ai").inputs["memory"])  # 128 of 512
    assert not run.one(WORKSPACE).protect  # dev's removalPolicy destroy


# --- building blocks -------------------------------------------------------------------------------------------------

def test_rule_and_alert_manager_documents_are_valid_yaml_for_any_thresholds() -> None:
    rules = alert_rules(AlarmThresholds(latency_p95_ms=250), app_connections=400, streaming_routes=())
    document = yaml.safe_load(rule_groups_yaml(rules))
    p95 = next(r for r in document["groups"][0]["rules"] if r.get("alert") == "AppLatencyP95High")
    assert p95["expr"].startswith("histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_"
                                  "bucket[5m]))) > 0.25")  # no route filter without streaming routes
    assert "> 320" in next(r["expr"] for r in document["groups"][0]["rules"]
                           if r.get("alert") == "DatabaseConnectionsHigh")
    text = alert_manager_yaml("arn:aws:sns:eu-west-1:1:t", "eu-west-1")
    assert text.startswith("alertmanager_config: |\n")
    inner = yaml.safe_load(yaml.safe_load(text)["alertmanager_config"])
    assert inner["receivers"][0]["sns_configs"][0]["sigv4"] == {"region": "eu-west-1"}


def test_the_fast_yaml_emitter_writes_what_safe_dump_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """dump_yaml uses libyaml's emitter when PyYAML has it; each document must be the pure-Python one's, byte for
    byte."""
    assert yaml.CSafeDumper is not yaml.SafeDumper  # the wheel ships libyaml: the fast path is the one tested

    def documents() -> list[str]:
        rules = alert_rules(AlarmThresholds(latency_p95_ms=250), app_connections=400, streaming_routes=("/api/chat",))
        config = collector_config(job="ai", port=8000, path="/metrics", interval_seconds=15, region="eu-west-1",
                                  remote_write_url="https://x/api/v1/remote_write", memory_mib=256)
        return [rule_groups_yaml(rules), alert_manager_yaml("arn:aws:sns:eu-west-1:1:t", "eu-west-1"),
                dump_yaml(config)]

    fast = documents()
    monkeypatch.setattr("components.app_metrics._YAML_DUMPER", yaml.SafeDumper)
    assert fast == documents()


def test_collector_config_names_only_loopback_listeners() -> None:
    config = collector_config(job="web", port=3000, path="/metrics", interval_seconds=15, region="eu-west-1",
                              remote_write_url="https://x/api/v1/remote_write", memory_mib=256)
    listeners = [config["extensions"]["health_check"]["endpoint"]]
    assert listeners == ["127.0.0.1:13133"] and "receivers" in config and "otlp" not in config["receivers"]
    assert config["receivers"]["prometheus"]["config"]["global"]["scrape_timeout"] == "10s"
    assert config["processors"]["memory_limiter"]["limit_mib"] == 204


def test_a_configured_metrics_port_replaces_the_apps_port() -> None:
    settings = AppMetricsSettings(web_port=9464)
    assert (settings.port_for("web", 3000), settings.port_for("ai", 8000)) == (9464, 8000)


def _sidecar(**changes: Any) -> ContainerSpec:
    base: dict[str, Any] = dict(name="helper", image="example/helper:1", user="4317:4317", scratch_paths=(),
                                health_check=False, essential=False, restart_after_seconds=60, cpu=64, memory=128)
    return ContainerSpec(**{**base, **changes})


@pytest.mark.parametrize(("sidecar", "size", "message"), [
    (lambda: _sidecar(memory=512), TaskSize(cpu=256, memory=512), "reserve 512 memory units of the task's 512"),
    (lambda: _sidecar(cpu=256), TaskSize(cpu=256, memory=512), "reserve 256 cpu units of the task's 256"),
    (lambda: _sidecar(port=9000), TaskSize(), "a sidecar serves no port"),
    (lambda: _sidecar(name="app"), TaskSize(), "container names must be unique"),
    # ECS leaves a stopped non-essential container stopped unless it has a restart policy (off by default).
    (lambda: _sidecar(restart_after_seconds=None), TaskSize(), "a non-essential sidecar needs restart_after_seconds"),
    (lambda: _sidecar(restart_after_seconds=30), TaskSize(), "restart_after_seconds must be 60-1800, got 30"),
])
def test_a_sidecar_must_fit_the_task(sidecar: Any, size: TaskSize, message: str) -> None:
    app = ContainerSpec(name="app", image="example/app:1", port=3000)
    with pytest.raises(ValueError, match=message):
        FargateTaskArgs(context=None, container=app, vpc_id="vpc-1", repository_arn="", log_key=None,  # type: ignore[arg-type]
                        size=size, sidecars=[sidecar()])


@pytest.mark.parametrize("user", ["0:0", "root", "1001:0", "0"])
def test_no_container_runs_as_root(user: str) -> None:
    with pytest.raises(ValueError, match="is root"):
        _sidecar(user=user)


# --- generated docs --------------------------------------------------------------------------------------------------

def test_alert_table_and_grafana_dashboard_are_current() -> None:
    from offline import metricsdoc

    assert metricsdoc.updated(metricsdoc.DOC.read_text()) == metricsdoc.DOC.read_text(), "run `make docs`"
    assert metricsdoc.DASHBOARD.read_text() == metricsdoc.render_dashboard(), "run `make docs`"


def test_dashboard_plots_the_alert_rules_own_measures_and_thresholds() -> None:
    from offline import metricsdoc

    rules = {rule.name: rule for rule in metricsdoc.prod_rules()}
    panels = {p["title"]: p for p in metricsdoc.dashboard()["panels"]}
    p95 = panels["p95 latency (streamed AI routes excluded)"]
    assert p95["targets"][0]["expr"] == rules["AppLatencyP95High"].measure
    assert p95["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 1.5
    connections = panels["Database connections held by the app"]
    assert connections["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 288
    assert all(p["datasource"]["uid"] == "${DS_PROMETHEUS}" for p in panels.values())
