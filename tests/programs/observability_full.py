"""Test program: Observability watching one of everything, as literal dimension values (plus one real Output).

Run by tests/test_observability.py through offline.engine.run_program with a stack's config; WATCH selects the
watch set ("full", "minimal"), replaced by the test before the run.
"""

import pulumi
import pulumi_aws as aws

import stack_config
from components.base import AwsContext
from components.observability import (
    BackupWatch,
    CacheWatch,
    CdnWatch,
    DatabaseWatch,
    EdgeWatch,
    FunctionWatch,
    Observability,
    ObservabilityArgs,
    PrometheusWatch,
    RedeployWatch,
    ReplicationWatch,
    RestoreDrillWatch,
    ServiceWatch,
    TopicPublisher,
    WafWatch,
)

WATCH = "full"

config = stack_config.load()
context = AwsContext.lookup(config.region)
logs_key = aws.kms.Key("logs", description="stands in for EncryptionKeys.logs")
prefix = config.name_prefix

if WATCH == "full":
    # One watched value comes from a resource, so Outputs flow through alarms and the dashboard body.
    alb = aws.lb.LoadBalancer("alb", name=f"{prefix}-alb", load_balancer_type="application")
    watches = dict(
        edge=EdgeWatch(alb.arn_suffix, {"web": f"targetgroup/{prefix}-web/6d0ecf831eec9f09"},
                       certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/"
                                       "6f2a9c1e-8b7d-4e3a-9f10-2b5c7d8e9a01"),
        services={"web": ServiceWatch(prefix, f"{prefix}-web"), "ai": ServiceWatch(prefix, f"{prefix}-ai")},
        database=DatabaseWatch(f"{prefix}-db", {"replica-a": f"{prefix}-db-replica-a",
                                                "replica-b": f"{prefix}-db-replica-b"},
                               max_connections=100, proxy_name=f"{prefix}-db-proxy"),
        cache=CacheWatch.for_replication_group(f"{prefix}-redis", 2),
        waf=WafWatch(f"{prefix}-waf"),
        cdn=CdnWatch("EDFDVBD6EXAMPLE", additional_metrics=True),
        backup=BackupWatch(f"{prefix}/backup", dimensions={"Database": f"{prefix}-db"}, interval_hours=6),
        replication={"backups": ReplicationWatch(f"{prefix}-backups-src", f"{prefix}-backups-dr-dst", "dr")},
        drill=RestoreDrillWatch(task_family=f"{prefix}-restore-drill", namespace=f"{prefix}/restore-drill",
                                dimensions={"Environment": "prod"},
                                dump_stale_hours=10),  # as for a backup every 8 hours: the alarm follows the watch
        functions={"db-admin": FunctionWatch(f"{prefix}-db-admin")},
        redeploy=RedeployWatch(f"arn:aws:states:{config.region}:{context.account_id}:stateMachine:"
                               f"{prefix}-secret-redeploy", {"web": f"{prefix}-secret-redeploy-web"}),
        prometheus=PrometheusWatch("ws-0123abcd-4567-89ab-cdef-0123456789ab"),
        topic_publishers=[TopicPublisher(
            "AllowPrometheusAlertManagerOfThisWorkspace", "aps.amazonaws.com",
            f"arn:aws:aps:{config.region}:{context.account_id}:workspace/ws-0123abcd-4567-89ab-cdef-0123456789ab",
            ("sns:Publish", "sns:GetTopicAttributes"))],
    )
else:  # a database without replicas and nothing else
    watches = dict(database=DatabaseWatch(f"{prefix}-db", max_connections=100))

observability = Observability("observability", ObservabilityArgs(
    context=context,
    topic_key=logs_key,
    settings=config.alerts,
    name_prefix=prefix,
    tags=config.tags,
    **watches,
))

pulumi.export("alertTopicArn", observability.topic.arn)
pulumi.export("alarmNames", observability.alarm_names())
pulumi.export("dashboardName", observability.dashboard.dashboard_name)
