"""ops.verify against a local moto server: a healthy prod deployment passes, each drift fails exactly its check.

One ThreadedMotoServer (127.0.0.1, random port) serves the whole module; the healthy deployment is built once and
every drift is applied and undone around its test, so the tests share one fixture and stay fast.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from ops import verify
from ops.verify import Status, evaluate_target_health
from tests.ops.conftest import REGION
from tests.ops.http_stub import QuietHandler, serving
from tests.ops.verify_support import boto_session, built_once

ALL_CHECKS = [name for name, _ in verify.CHECKS]


@dataclass
class Deployment:
    """A healthy prod deployment in moto, its stack outputs, and the ids the drifts need."""

    endpoint: str
    outputs: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    amp: Any = None
    """AmpGaps: the hooks standing in for what moto's AMP lacks (drifts change its state)."""

    def __post_init__(self) -> None:
        # Shared by the fixture and every verify run: creating boto3 clients is most of a run's cost.
        self.client = verify.Clients(boto_session(), self.endpoint)
        self.replicated_backups: Any = None
        self.replication = ReplicationConfigurations()
        self.dump_replication: str | None = "COMPLETED"
        """x-amz-replication-status of the backups bucket's objects (None: no rule selected them)."""

    def report_dump_replication(self, parsed: dict[str, Any], **_: Any) -> None:
        parsed.pop("ReplicationStatus", None)
        if self.dump_replication:
            parsed["ReplicationStatus"] = self.dump_replication


@contextlib.contextmanager
def moto_ecs_running(count: int) -> Iterator[None]:
    """moto starts a service with runningCount = $MOTO_ECS_SERVICE_RUNNING (read in-process by the threaded server)."""
    os.environ["MOTO_ECS_SERVICE_RUNNING"] = str(count)
    try:
        yield
    finally:
        os.environ.pop("MOTO_ECS_SERVICE_RUNNING", None)


class FakePrometheus:
    """The workspace's query API: answers `count by (job) (up == 1)` with `scraped`, records each request."""

    def __init__(self) -> None:
        self.scraped: dict[str, int] = {"web": 2, "ai": 2}
        self.metrics: dict[str, int] = {name: 4 for name in verify.GUIDE_METRICS}
        """Series per metric name (what `count by (__name__) (...)` answers)."""
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.url = ""


@pytest.fixture(scope="module")
def prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            fake.requests.append((self.path, dict(self.headers.items())))
            result = [{"metric": {"job": job}, "value": [1700000000, str(n)]} for job, n in fake.scraped.items() if n]
            if "__name__" in urllib.parse.unquote_plus(self.path):
                result = [{"metric": {"__name__": name}, "value": [1700000000, str(n)]}
                          for name, n in fake.metrics.items() if n]
            body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()
            self.send_response(200 if "/api/v1/query?" in self.path else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as address:
        fake.url = f"http://{address}"
        yield fake


class AmpGaps:
    """What moto 5.2.5's AMP lacks, answered through botocore event hooks on the same client: DescribeWorkspace
    drops kmsKeyArn (and names AWS's endpoint host, unreachable here: the hook points it at the local query API),
    and the alert manager API is not implemented (HTTP 500). Everything else is moto's."""

    def __init__(self, client: Any, key_arn: str, topic_arn: str, query_url: str) -> None:
        self.key_arn: str | None = key_arn
        self.query_url = query_url
        self.alert_manager: dict[str, Any] | None = {"status": {"statusCode": "ACTIVE"},
                                                     "data": f"alertmanager_config: |\n  receivers:\n  - sns_configs:"
                                                             f"\n    - topic_arn: {topic_arn}\n".encode()}
        client.meta.events.register("after-call.amp.DescribeWorkspace", self._workspace)
        client.meta.events.register("before-call.amp.DescribeAlertManagerDefinition", self._alert_manager)

    def _workspace(self, parsed: dict[str, Any], **_: Any) -> None:
        if self.key_arn:
            parsed["workspace"]["kmsKeyArn"] = self.key_arn
        parsed["workspace"]["prometheusEndpoint"] = f"{self.query_url}/workspaces/{parsed['workspace']['workspaceId']}/"

    def _alert_manager(self, **_: Any) -> tuple[Any, dict[str, Any]]:
        if self.alert_manager is None:
            return (type("Http", (), {"status_code": 404})(),
                    {"Error": {"Code": "ResourceNotFoundException", "Message": "no alert manager definition"}})
        return type("Http", (), {"status_code": 200})(), {"alertManagerDefinition": dict(self.alert_manager)}


def build_healthy(endpoint: str, prometheus: FakePrometheus) -> Deployment:
    dep = Deployment(endpoint)
    ec2, elb, waf, acm, kms = (dep.client(s) for s in ("ec2", "elbv2", "wafv2", "acm", "kms"))
    rds, cache, ecs, s3, cw = (dep.client(s) for s in ("rds", "elasticache", "ecs", "s3", "cloudwatch"))

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")
               ["Subnet"]["SubnetId"] for i, az in enumerate("abc")]
    group = ec2.create_security_group(GroupName="app", Description="app tasks", VpcId=vpc)["GroupId"]
    data_key = kms.create_key(Description="data")["KeyMetadata"]["Arn"]
    backups_key = kms.create_key(Description="backups")["KeyMetadata"]["Arn"]

    # Edge: ALB, HTTPS listener with a TLS 1.3 policy, HTTP listener that only redirects, targets, WAF.
    alb = elb.create_load_balancer(Name="maratron-prod", Subnets=subnets, SecurityGroups=[group],
                                   Scheme="internet-facing", Type="application")["LoadBalancers"][0]
    target_group = elb.create_target_group(Name="maratron-prod-web", Protocol="HTTP", Port=3000, VpcId=vpc,
                                           TargetType="ip", HealthCheckPath="/api/health")["TargetGroups"][0]
    certificate = acm.request_certificate(DomainName="app.maratron.example")["CertificateArn"]
    https = elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTPS", Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09", Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group["TargetGroupArn"]}])["Listeners"][0]
    http = elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "redirect",
                         "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
    )["Listeners"][0]
    # What ECS does for a service attached to the target group: register the tasks' IPs.
    elb.register_targets(TargetGroupArn=target_group["TargetGroupArn"],
                         Targets=[{"Id": f"10.0.{i}.10", "Port": 3000} for i in range(2)])
    acl = waf.create_web_acl(
        Name="maratron-prod", Scope="REGIONAL", DefaultAction={"Allow": {}}, Rules=[],
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "acl"},
    )["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=alb["LoadBalancerArn"])

    # Data: encrypted Multi-AZ primary with deletion protection and two replicas; Redis with both encryptions,
    # AUTH and failover (moto: ReplicasPerNodeGroup, since NumCacheClusters=3 yields one member).
    rds.create_db_instance(
        DBInstanceIdentifier="maratron-prod-db", Engine="postgres", EngineVersion="15.8",
        DBInstanceClass="db.r6g.large", AllocatedStorage=100, MasterUsername="maratron",
        MasterUserPassword="correct-horse-battery", DBName="maratrondb", StorageEncrypted=True, KmsKeyId=data_key,
        MultiAZ=True, DeletionProtection=True, PubliclyAccessible=False, BackupRetentionPeriod=14)
    replicas = ["maratron-prod-db-replica-a", "maratron-prod-db-replica-b"]
    for replica in replicas:
        rds.create_db_instance_read_replica(DBInstanceIdentifier=replica, SourceDBInstanceIdentifier="maratron-prod-db",
                                            DBInstanceClass="db.r6g.large")
    # RDS Proxy in front of the primary, with one SCRAM login from Secrets Manager; the Redis app user.
    login = dep.client("secretsmanager").create_secret(
        Name="maratron-prod/database/users/app_rw", SecretString=json.dumps({"username": "app_rw", "password": "x"}))
    rds.create_db_proxy(
        DBProxyName="maratron-prod-db-proxy", EngineFamily="POSTGRESQL", RequireTLS=True, DebugLogging=False,
        Auth=[{"AuthScheme": "SECRETS", "SecretArn": login["ARN"], "IAMAuth": "DISABLED",
               "ClientPasswordAuthType": "POSTGRES_SCRAM_SHA_256"}],
        RoleArn="arn:aws:iam::123456789012:role/maratron-prod-db-proxy", VpcSubnetIds=subnets[:2],
        VpcSecurityGroupIds=[group])
    rds.register_db_proxy_targets(DBProxyName="maratron-prod-db-proxy", TargetGroupName="default",
                                  DBInstanceIdentifiers=["maratron-prod-db"])
    # Drift stand-ins: a proxy that accepts plaintext connections, a user that needs no password.
    rds.create_db_proxy(
        DBProxyName="maratron-prod-plain-proxy", EngineFamily="POSTGRESQL", RequireTLS=False,
        Auth=[{"AuthScheme": "SECRETS", "SecretArn": login["ARN"], "IAMAuth": "DISABLED",
               "ClientPasswordAuthType": "POSTGRES_MD5"}],
        RoleArn="arn:aws:iam::123456789012:role/maratron-prod-db-proxy", VpcSubnetIds=subnets[:2],
        VpcSecurityGroupIds=[group])
    rds.register_db_proxy_targets(DBProxyName="maratron-prod-plain-proxy", TargetGroupName="default",
                                  DBInstanceIdentifiers=["maratron-prod-db"])
    rds.create_db_proxy(
        DBProxyName="maratron-prod-empty-proxy", EngineFamily="POSTGRESQL", RequireTLS=True,
        Auth=[{"AuthScheme": "SECRETS", "SecretArn": login["ARN"], "IAMAuth": "DISABLED",
               "ClientPasswordAuthType": "POSTGRES_SCRAM_SHA_256"}],
        RoleArn="arn:aws:iam::123456789012:role/maratron-prod-db-proxy", VpcSubnetIds=subnets[:2],
        VpcSecurityGroupIds=[group])
    cache.create_user(UserId="maratron-prod-redis-open", UserName="open", Engine="redis", NoPasswordRequired=True,
                      AccessString="on ~* +@all")
    cache.create_user(UserId="maratron-prod-redis-app", UserName="maratron-app", Engine="redis",
                      Passwords=["p" * 32], AccessString="on ~* &* +@all")
    cache.create_replication_group(
        ReplicationGroupId="maratron-prod", ReplicationGroupDescription="cache", Engine="redis",
        CacheNodeType="cache.r7g.large", ReplicasPerNodeGroup=2, AutomaticFailoverEnabled=True, MultiAZEnabled=True,
        TransitEncryptionEnabled=True, AtRestEncryptionEnabled=True, KmsKeyId=data_key, AuthToken="a" * 32)

    # App: cluster, two services at their desired count on their current task definitions.
    ecs.create_cluster(clusterName="maratron-prod")
    task_definitions = {}
    for service, port in (("web", 3000), ("ai", 8000), ("ai-stuck", 8000), ("web-v2", 3000)):
        family = f"maratron-prod-{service.split('-')[0]}"
        task_definitions[service] = ecs.register_task_definition(
            family=family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="512", memory="1024",
            containerDefinitions=[{"name": "app", "image": f"example/{family}@sha256:{'0' * 64}", "essential": True,
                                   "portMappings": [{"containerPort": port}]}],
        )["taskDefinition"]["taskDefinitionArn"]
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group], "assignPublicIp": "DISABLED"}}
    for service, desired, running in (("web", 2, 2), ("ai", 2, 2), ("ai-stuck", 3, 0)):
        with moto_ecs_running(running):
            ecs.create_service(cluster="maratron-prod", serviceName=f"maratron-prod-{service}",
                               taskDefinition=task_definitions[service], desiredCount=desired, launchType="FARGATE",
                               networkConfiguration=network)

    # Buckets: SSE-KMS by default, versioned, public access blocked (no bucket policy: moto's conditional Deny
    # would deny every object call).
    buckets = {"backups": "maratron-prod-backups-123456789012", "wal": "maratron-prod-wal-123456789012"}
    for bucket in buckets.values():
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": backups_key},
            "BucketKeyEnabled": True}]})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            flag: True for flag in verify.PUBLIC_ACCESS_BLOCK_FLAGS})

    alarms = ["maratron-prod-alb-5xx", "maratron-prod-rds-cpu", "maratron-prod-backup-missing"]
    for alarm in alarms:
        cw.put_metric_alarm(AlarmName=alarm, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_ELB_5XX_Count",
                            Statistic="Sum", Period=60, EvaluationPeriods=5, Threshold=10,
                            ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
        cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="fixture")
    for node in ("001", "002", "003"):  # one per Redis node, as the catalog's cache-{label}-* kinds
        alarms.append(cache_alarm(cw, node, f"maratron-prod-{node}"))
    topic = dep.client("sns").create_topic(Name="maratron-prod-alerts")["TopicArn"]

    # The images the stack runs, in the foundation's repositories, tagged by the deploy (ops.tag_deployed_images).
    ecr = dep.client("ecr")
    images = {}
    for service in ("web", "ai", "backup"):
        uri = ecr.create_repository(repositoryName=f"maratron/{service}")["repository"]["repositoryUri"]
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                               "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                          "size": 1, "digest": "sha256:" + service[0] * 64}, "layers": []})
        pushed = ecr.put_image(repositoryName=f"maratron/{service}", imageManifest=manifest,
                               imageTag="deployed-prod-1")["image"]
        ecr.put_image(repositoryName=f"maratron/{service}", imageManifest=manifest, imageTag="deployed-dev-1")
        images[f"{service}Image"] = f"{uri}@{pushed['imageId']['imageDigest']}"

    # Metrics: a CMK-encrypted, logging workspace with its rule namespace (moto) and alert manager (AmpGaps); the
    # query API is the local FakePrometheus at the workspace's endpoint path.
    amp, logs = dep.client("amp"), dep.client("logs")
    logs.create_log_group(logGroupName="/aws/vendedlogs/prometheus/maratron-prod")
    log_group_arn = logs.describe_log_groups(logGroupNamePrefix="/aws/vendedlogs/prometheus/")["logGroups"][0]["arn"]
    workspace = amp.create_workspace(alias="maratron-prod", kmsKeyArn=data_key)["workspaceId"]
    amp.create_logging_configuration(workspaceId=workspace, logGroupArn=log_group_arn.removesuffix(":*") + ":*")
    amp.create_rule_groups_namespace(workspaceId=workspace, name="maratron-app", data=b"groups: []")
    dep.amp = AmpGaps(amp, data_key, topic, prometheus.url)

    dep.outputs = {
        **images,
        "environment": "prod",
        "appUrl": "https://app.maratron.example",
        "albArn": alb["LoadBalancerArn"],
        "albDnsName": alb["DNSName"],
        "httpsListenerArn": https["ListenerArn"],
        "targetGroupArn": target_group["TargetGroupArn"],
        "webAclArn": acl["ARN"],
        "clusterName": "maratron-prod",
        "webServiceName": "maratron-prod-web",
        "aiServiceName": "maratron-prod-ai",
        "databaseIdentifier": "maratron-prod-db",
        "databaseReplicaIdentifiers": replicas,
        "databaseWriterEndpoint": "maratron-prod-db.abc.us-east-1.rds.amazonaws.com",
        "databasePort": 5432,
        "databaseName": "maratrondb",
        "databaseUrlSecretArn": "[secret]",
        "redisReplicationGroupId": "maratron-prod",
        "redisAppUserId": "maratron-prod-redis-app",
        "databaseProxyName": "maratron-prod-db-proxy",
        "rotatedSecretArns": [],  # moto cannot enable rotation without invoking a function: tested with a stub
        "redisEndpoint": "master.maratron-prod.abc.use1.cache.amazonaws.com",
        "backupsBucketName": buckets["backups"],
        "walBucketName": buckets["wal"],
        "alarmNames": alarms,
        "alertTopicArn": topic,
        "backupTaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/maratron-prod-backup:1",
        "appSubnetIds": subnets,
        "backupSecurityGroupId": group,
        # what this update registered: the release gate compares the running services against them
        "webTaskDefinitionArn": task_definitions["web"],
        "aiTaskDefinitionArn": task_definitions["ai"],
        "ampWorkspaceId": workspace,
        "ampEndpoint": f"{prometheus.url}/workspaces/{workspace}/",
    }
    dep.ids = {"http_listener": http["ListenerArn"], "https_listener": https["ListenerArn"],
               "target_group": target_group["TargetGroupArn"], "web_acl": acl["ARN"], "alb": alb["LoadBalancerArn"],
               "web_task_v2": task_definitions["web-v2"], "web_task": task_definitions["web"]}
    build_dr(dep, buckets, backups_key)
    return dep


DR = "us-west-2"
REPLICAS = {"backups": "maratron-prod-backups-dr-123456789012", "wal": "maratron-prod-archive-dr-123456789012"}
DR_BACKUPS_ARN = f"arn:aws:rds:{DR}:123456789012:auto-backup:ab-L2IJCEXJP7XQ7HOJ4SIEXAMPLE"


def replication_configuration(replica: str, dr_key: str, **rule_changes: Any) -> dict[str, Any]:
    rule = {"ID": "dr", "Status": "Enabled", "Priority": 1, "Filter": {},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
            "Destination": {"Bucket": f"arn:aws:s3:::{replica}", "StorageClass": "STANDARD_IA",
                            "EncryptionConfiguration": {"ReplicaKmsKeyID": dr_key}, "Metrics": {"Status": "Enabled"}}}
    return {"Role": "arn:aws:iam::123456789012:role/maratron-prod-dr-replication", "Rules": [{**rule, **rule_changes}]}


@dataclass
class ReplicatedBackups:
    """Stands in for RDS's replicated automated backups in the DR region (moto has no backup replication): the
    DescribeDBInstanceAutomatedBackups answer, changeable by a drift."""

    latest_lag: dt.timedelta = dt.timedelta(minutes=5)
    status: str = "replicating"
    kms_key_id: str | None = "dr-key"
    """None: encrypted, but RDS reports no KmsKeyId (not with a CMK of ours)."""

    def answer(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        assert params["body"]["DBInstanceAutomatedBackupsArn"] == DR_BACKUPS_ARN
        now = dt.datetime.now(dt.UTC)
        return AWSResponse(None, 200, {}, None), {"DBInstanceAutomatedBackups": [{
            "DBInstanceAutomatedBackupsArn": DR_BACKUPS_ARN, "DBInstanceIdentifier": "maratron-prod-db",
            "Region": "us-east-1", "Status": self.status, "Encrypted": True,
            **({"KmsKeyId": self.kms_key_id} if self.kms_key_id else {}),
            "RestoreWindow": {"EarliestTime": now - dt.timedelta(days=14), "LatestTime": now - self.latest_lag}}]}


@dataclass
class ReplicationConfigurations:
    """GetBucketReplication answered with what PutBucketReplication stored: moto 5.2.5 drops SourceSelectionCriteria
    and reports every DeleteMarkerReplication as Disabled (moto/s3/responses.py, get_bucket_replication), which would
    hide exactly what the check looks for. moto still validates the put (e.g. versioning on)."""

    stored: dict[str, dict[str, Any]] = field(default_factory=dict)

    def put(self, s3: Any, bucket: str, configuration: dict[str, Any]) -> None:
        s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=configuration)
        self.stored[bucket] = configuration

    def answer(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        bucket = context["input_params"]["Bucket"]
        return AWSResponse(None, 200, {}, None), {"ReplicationConfiguration": self.stored[bucket]}


def build_dr(dep: Deployment, buckets: dict[str, str], backups_key: str) -> None:
    """The DR copy in us-west-2: locked and encrypted replica buckets, replication on both sources, the drill's
    schedule and a recent pass, registry replication, and the replicated RDS backups (stubbed)."""
    s3, s3_dr = dep.client("s3"), dep.client("s3", DR)
    dr_key = dep.client("kms", DR).create_key(Description="dr")["KeyMetadata"]["Arn"]
    for kind, replica in REPLICAS.items():
        s3_dr.create_bucket(Bucket=replica, CreateBucketConfiguration={"LocationConstraint": DR},
                            ObjectLockEnabledForBucket=kind == "backups")
        s3_dr.put_bucket_encryption(Bucket=replica, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": dr_key},
            "BucketKeyEnabled": True}]})
        s3_dr.put_bucket_versioning(Bucket=replica, VersioningConfiguration={"Status": "Enabled"})
        dep.replication.put(s3, buckets[kind], replication_configuration(replica, dr_key))
    s3_dr.put_object_lock_configuration(Bucket=REPLICAS["backups"], ObjectLockConfiguration=LOCKED)
    dep.client("scheduler").create_schedule(
        Name="maratron-prod-restore-drill", ScheduleExpression="cron(30 5 * * ? *)", State="ENABLED",
        FlexibleTimeWindow={"Mode": "OFF"}, Target={
            "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/maratron-prod",
            "RoleArn": "arn:aws:iam::123456789012:role/maratron-prod-restore-drill-scheduler"})
    # A pass three hours ago (for prod, and for the test that relabels the deployment dev).
    # In the drill's own namespace (the stack output): the shared one of old is not read, nor writable by its role.
    dep.client("cloudwatch").put_metric_data(Namespace=DRILL_NAMESPACE, MetricData=[{
        "MetricName": "RestoreDrillSucceeded", "Dimensions": [{"Name": "Environment", "Value": env}], "Value": 1,
        "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)} for env in ("prod", "dev")])
    dep.client("ecr").put_replication_configuration(replicationConfiguration=REGISTRY_REPLICATION)
    s3.meta.events.register("before-call.s3.GetBucketReplication", dep.replication.answer)
    # Today's dump, with the replication status S3 reports on the source object (moto does not replicate).
    for env in ("prod", "dev"):  # prod, and the test that relabels the deployment dev
        s3.put_object(Bucket=buckets["backups"], Body=b"x",
                      Key=f"postgresql/{env}/{dt.datetime.now(dt.UTC):%Y/%m/%d}/maratron_b.dump")
    s3.meta.events.register("after-call.s3.HeadObject", dep.report_dump_replication)
    dep.replicated_backups = ReplicatedBackups()
    dep.client("rds", DR).meta.events.register("before-call.rds.DescribeDBInstanceAutomatedBackups",
                                               dep.replicated_backups.answer)
    dep.outputs.update({
        "drRegion": DR, "drKmsKeyArn": dr_key, "drBackupsBucketName": REPLICAS["backups"],
        "drArchiveBucketName": REPLICAS["wal"], "drDatabaseBackupsArn": DR_BACKUPS_ARN,
        "restoreDrillScheduleName": "maratron-prod-restore-drill", "restoreDrillMetricNamespace": DRILL_NAMESPACE,
        "webRepositoryUrl": "123456789012.dkr.ecr.us-east-1.amazonaws.com/maratron-prod/web",
        "aiRepositoryUrl": "123456789012.dkr.ecr.us-east-1.amazonaws.com/maratron-prod/ai",
    })
    dep.ids["dr_key"] = dr_key


DRILL_NAMESPACE = "maratron-prod/restore-drill"
LOCKED = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}}}
REGISTRY_REPLICATION = {"rules": [{"destinations": [{"region": DR, "registryId": "123456789012"}],
                                   "repositoryFilters": [{"filter": "maratron-prod/", "filterType": "PREFIX_MATCH"}]}]}


@pytest.fixture(scope="module")
def deployment(moto_endpoint: str, prometheus: FakePrometheus) -> Deployment:
    with built_once():
        dep = build_healthy(moto_endpoint, prometheus)
    dep.prometheus = prometheus  # type: ignore[attr-defined]
    return dep




@dataclass(frozen=True)
class Run:
    code: int
    results: dict[str, verify.Result]
    text: str

    def failing(self) -> set[str]:
        return {name for name, r in self.results.items() if r.status is Status.FAIL}


def run_verify(dep: Deployment, tmp_path: Path, *args: str, **output_overrides: Any) -> Run:
    """One CLI run: the table as printed, and the same results from the --json file."""
    path, report = tmp_path / "outputs.json", tmp_path / "report.json"
    path.write_text(json.dumps({**dep.outputs, **output_overrides}))
    table = io.StringIO()
    code = verify.main(["--stack-outputs", str(path), "--endpoint-url", dep.endpoint, "--json", str(report), *args],
                       stdout=table, clients=dep.client)
    document = json.loads(report.read_text())
    results = {r["name"]: verify.Result(r["name"], Status(r["status"]), r["detail"]) for r in document["results"]}
    return Run(code, results, table.getvalue())


def test_healthy_deployment_passes_every_check(deployment: Deployment, tmp_path: Path) -> None:
    run = run_verify(deployment, tmp_path)
    assert run.code == 0, run.text
    assert list(run.results) == ALL_CHECKS
    statuses = {name: r.status for name, r in run.results.items()}
    skipped = {"http.health", "http.database", "http.edge", "http.origin-lock", "http.cdn-caching", "secrets.rotation",
               *(name for name in ALL_CHECKS if name.startswith("cdn."))}
    assert statuses == {name: Status.SKIP if name in skipped else Status.PASS for name in ALL_CHECKS}, run.text
    assert run.results["cdn.distribution"].detail == "the stack runs no CDN (cdnDistributionId is empty or absent)"
    assert "2 healthy" in run.results["alb.target-health"].detail
    assert "Multi-AZ" in run.results["rds.primary"].detail
    assert "TLS required" in run.results["rds.proxy"].detail
    assert run.results["rds.proxy-targets"].detail == "maratron-prod-db AVAILABLE behind maratron-prod-db-proxy"
    assert run.text.rstrip().endswith(f"{len(ALL_CHECKS) - len(skipped)} passed, 0 failed, {len(skipped)} skipped")
    assert "CMK-encrypted" in run.results["amp.workspace"].detail
    assert run.results["amp.scrape-targets"].detail == "web 2/2 tasks scraped, ai 2/2 tasks scraped"
    assert run.results["amp.app-metrics"].detail.startswith("http_requests_total 4 series")
    assert "maratron_b.dump" in run.results["dr.latest-dump-replicated"].detail


def test_report_is_an_aligned_table() -> None:
    results = [verify.Result("alb.state", Status.PASS, "active"),
               verify.Result("redis.replication-group", Status.FAIL, "AUTH off"),
               verify.Result("http.health", Status.SKIP, "not requested (--http)")]
    assert verify.render(results, "staging").splitlines() == [
        "Post-deploy verification: staging",
        "",
        "PASS  alb.state                active",
        "FAIL  redis.replication-group  AUTH off",
        "SKIP  http.health              not requested (--http)",
        "",
        "1 passed, 1 failed, 1 skipped",
    ]


# --- drifts: each one undone after its test ---------------------------------------------------------------------


@contextlib.contextmanager
def http_listener_forwards(dep: Deployment) -> Iterator[None]:
    elb = dep.client("elbv2")
    elb.modify_listener(ListenerArn=dep.ids["http_listener"],
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": dep.ids["target_group"]}])
    yield
    elb.modify_listener(ListenerArn=dep.ids["http_listener"], DefaultActions=[{
        "Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}])


@contextlib.contextmanager
def http_redirect_is_302(dep: Deployment) -> Iterator[None]:
    elb = dep.client("elbv2")
    elb.modify_listener(ListenerArn=dep.ids["http_listener"], DefaultActions=[{
        "Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_302"}}])
    yield
    elb.modify_listener(ListenerArn=dep.ids["http_listener"], DefaultActions=[{
        "Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}])


@contextlib.contextmanager
def http_redirect_keeps_port(dep: Deployment) -> Iterator[None]:
    elb = dep.client("elbv2")
    elb.modify_listener(ListenerArn=dep.ids["http_listener"], DefaultActions=[{
        "Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "#{port}", "StatusCode": "HTTP_301"}}])
    yield
    elb.modify_listener(ListenerArn=dep.ids["http_listener"], DefaultActions=[{
        "Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}])


@contextlib.contextmanager
def service_scaled_to_zero(dep: Deployment) -> Iterator[None]:
    ecs = dep.client("ecs")
    ecs.update_service(cluster="maratron-prod", service="maratron-prod-web", desiredCount=0)
    yield
    ecs.update_service(cluster="maratron-prod", service="maratron-prod-web", desiredCount=2)


@contextlib.contextmanager
def weak_tls_policy(dep: Deployment) -> Iterator[None]:
    elb = dep.client("elbv2")
    elb.modify_listener(ListenerArn=dep.ids["https_listener"], SslPolicy="ELBSecurityPolicy-2016-08")
    yield
    elb.modify_listener(ListenerArn=dep.ids["https_listener"], SslPolicy="ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09")


@contextlib.contextmanager
def waf_disassociated(dep: Deployment) -> Iterator[None]:
    waf = dep.client("wafv2")
    waf.disassociate_web_acl(ResourceArn=dep.ids["alb"])
    yield
    waf.associate_web_acl(WebACLArn=dep.ids["web_acl"], ResourceArn=dep.ids["alb"])


@contextlib.contextmanager
def replica_missing(dep: Deployment) -> Iterator[None]:
    rds = dep.client("rds")
    replica = dep.outputs["databaseReplicaIdentifiers"][1]
    rds.modify_db_instance(DBInstanceIdentifier=replica, DeletionProtection=False, ApplyImmediately=True)
    rds.delete_db_instance(DBInstanceIdentifier=replica, SkipFinalSnapshot=True)
    yield
    rds.create_db_instance_read_replica(DBInstanceIdentifier=replica, SourceDBInstanceIdentifier="maratron-prod-db",
                                        DBInstanceClass="db.r6g.large")


@contextlib.contextmanager
def replica_unencrypted(dep: Deployment) -> Iterator[None]:
    """moto copies the primary's encryption onto a read replica (as RDS does; none can be decrypted in place): the
    DescribeDBInstances answer for one replica is changed instead."""
    replica = dep.outputs["databaseReplicaIdentifiers"][1]

    def unencrypted(parsed: dict[str, Any], **_: Any) -> None:
        for instance in parsed.get("DBInstances", []):
            if instance.get("DBInstanceIdentifier") == replica:
                instance["StorageEncrypted"] = False

    events = dep.client("rds").meta.events
    events.register("after-call.rds.DescribeDBInstances", unencrypted)
    try:
        yield
    finally:
        events.unregister("after-call.rds.DescribeDBInstances", unencrypted)


@contextlib.contextmanager
def rds_setting(dep: Deployment, **settings: Any) -> Iterator[None]:
    rds = dep.client("rds")
    before = rds.describe_db_instances(DBInstanceIdentifier="maratron-prod-db")["DBInstances"][0]
    rds.modify_db_instance(DBInstanceIdentifier="maratron-prod-db", ApplyImmediately=True, **settings)
    yield
    rds.modify_db_instance(DBInstanceIdentifier="maratron-prod-db", ApplyImmediately=True,
                           **{key: before[key] for key in settings})


def cache_alarm(cloudwatch: Any, label: str, cluster_id: str) -> str:
    name = f"maratron-prod-cache-{label}-engine-cpu"
    cloudwatch.put_metric_alarm(AlarmName=name, Namespace="AWS/ElastiCache", MetricName="EngineCPUUtilization",
                                Dimensions=[{"Name": "CacheClusterId", "Value": cluster_id}], Statistic="Average",
                                Period=300, EvaluationPeriods=3, Threshold=80,
                                ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="fixture")
    return name


@contextlib.contextmanager
def redis_node_unwatched(dep: Deployment) -> Iterator[None]:
    """As after a failover to -003 and a lowered redisReplicas: ElastiCache removed -002 and the stack, assuming the
    highest-numbered node went, watches -001 and -002 (here: -003's alarm points at a node that is gone)."""
    cloudwatch = dep.client("cloudwatch")
    cache_alarm(cloudwatch, "003", "maratron-prod-004")
    yield
    cache_alarm(cloudwatch, "003", "maratron-prod-003")


@contextlib.contextmanager
def redis_without_failover(dep: Deployment) -> Iterator[None]:
    cache = dep.client("elasticache")
    cache.modify_replication_group(ReplicationGroupId="maratron-prod", AutomaticFailoverEnabled=False,
                                   MultiAZEnabled=False, ApplyImmediately=True)
    yield
    cache.modify_replication_group(ReplicationGroupId="maratron-prod", AutomaticFailoverEnabled=True,
                                   MultiAZEnabled=True, ApplyImmediately=True)


@contextlib.contextmanager
def versioning_suspended(dep: Deployment) -> Iterator[None]:
    s3, bucket = dep.client("s3"), dep.outputs["backupsBucketName"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    yield
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


@contextlib.contextmanager
def public_access_block_off(dep: Deployment) -> Iterator[None]:
    s3, bucket = dep.client("s3"), dep.outputs["walBucketName"]
    s3.delete_public_access_block(Bucket=bucket)
    yield
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        flag: True for flag in verify.PUBLIC_ACCESS_BLOCK_FLAGS})


@contextlib.contextmanager
def encryption_removed(dep: Deployment) -> Iterator[None]:
    s3, bucket = dep.client("s3"), dep.outputs["backupsBucketName"]
    saved = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    s3.delete_bucket_encryption(Bucket=bucket)
    yield
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=saved)


@contextlib.contextmanager
def alarm_firing(dep: Deployment) -> Iterator[None]:
    cw = dep.client("cloudwatch")
    cw.set_alarm_state(AlarmName="maratron-prod-rds-cpu", StateValue="ALARM", StateReason="drift")
    yield
    cw.set_alarm_state(AlarmName="maratron-prod-rds-cpu", StateValue="OK", StateReason="fixture")


@contextlib.contextmanager
def task_definition_not_rolled_out(dep: Deployment) -> Iterator[None]:
    # moto keeps the deployment on the old revision when the service moves on: what a stuck rollout looks like.
    ecs = dep.client("ecs")
    ecs.update_service(cluster="maratron-prod", service="maratron-prod-web", taskDefinition=dep.ids["web_task_v2"])
    yield
    ecs.update_service(cluster="maratron-prod", service="maratron-prod-web", taskDefinition=dep.ids["web_task"])


@contextlib.contextmanager
def unchanged(dep: Deployment) -> Iterator[None]:
    yield


@contextlib.contextmanager
def delete_markers_replicated(dep: Deployment) -> Iterator[None]:
    s3, source = dep.client("s3"), dep.outputs["backupsBucketName"]
    dep.replication.put(s3, source, replication_configuration(REPLICAS["backups"], dep.ids["dr_key"],
                                                              DeleteMarkerReplication={"Status": "Enabled"}))
    yield
    dep.replication.put(s3, source, replication_configuration(REPLICAS["backups"], dep.ids["dr_key"]))


@contextlib.contextmanager
def replica_unlocked(dep: Deployment) -> Iterator[None]:
    s3 = dep.client("s3", DR)
    s3.put_object_lock_configuration(Bucket=REPLICAS["backups"],
                                     ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    yield
    s3.put_object_lock_configuration(Bucket=REPLICAS["backups"], ObjectLockConfiguration=LOCKED)


@contextlib.contextmanager
def rds_replication_behind(dep: Deployment) -> Iterator[None]:
    dep.replicated_backups.latest_lag = dt.timedelta(hours=5)
    yield
    dep.replicated_backups.latest_lag = dt.timedelta(minutes=5)


@contextlib.contextmanager
def backups_without_cmk(dep: Deployment) -> Iterator[None]:
    dep.replicated_backups.kms_key_id = None
    yield
    dep.replicated_backups.kms_key_id = "dr-key"


@contextlib.contextmanager
def drill_schedule_disabled(dep: Deployment) -> Iterator[None]:
    scheduler = dep.client("scheduler")
    schedule = scheduler.get_schedule(Name="maratron-prod-restore-drill")
    settings = {k: schedule[k] for k in ("Name", "ScheduleExpression", "FlexibleTimeWindow", "Target")}
    scheduler.update_schedule(**settings, State="DISABLED")
    yield
    scheduler.update_schedule(**settings, State="ENABLED")


@contextlib.contextmanager
def registry_not_replicated(dep: Deployment) -> Iterator[None]:
    ecr = dep.client("ecr")
    ecr.put_replication_configuration(replicationConfiguration={"rules": []})
    yield
    ecr.put_replication_configuration(replicationConfiguration=REGISTRY_REPLICATION)


@contextlib.contextmanager
def amp_state(dep: Deployment, **changes: Any) -> Iterator[None]:
    saved = {key: getattr(dep.amp, key) for key in changes}
    for key, value in changes.items():
        setattr(dep.amp, key, value)
    yield
    for key, value in saved.items():
        setattr(dep.amp, key, value)


@contextlib.contextmanager
def amp_logging_removed(dep: Deployment) -> Iterator[None]:
    amp, workspace = dep.client("amp"), dep.outputs["ampWorkspaceId"]
    arn = amp.describe_logging_configuration(workspaceId=workspace)["loggingConfiguration"]["logGroupArn"]
    amp.delete_logging_configuration(workspaceId=workspace)
    yield
    amp.create_logging_configuration(workspaceId=workspace, logGroupArn=arn)


@contextlib.contextmanager
def amp_rules_deleted(dep: Deployment) -> Iterator[None]:
    amp, workspace = dep.client("amp"), dep.outputs["ampWorkspaceId"]
    amp.delete_rule_groups_namespace(workspaceId=workspace, name="maratron-app")
    yield
    amp.create_rule_groups_namespace(workspaceId=workspace, name="maratron-app", data=b"groups: []")


@contextlib.contextmanager
def collector_down(dep: Deployment) -> Iterator[None]:
    fake: FakePrometheus = dep.prometheus  # type: ignore[attr-defined]
    fake.scraped["web"] = 1
    yield
    fake.scraped["web"] = 2


@contextlib.contextmanager
def dump_replication(dep: Deployment, status: str | None) -> Iterator[None]:
    dep.dump_replication = status
    yield
    dep.dump_replication = "COMPLETED"


@contextlib.contextmanager
def app_metric_missing(dep: Deployment) -> Iterator[None]:
    fake: FakePrometheus = dep.prometheus  # type: ignore[attr-defined]
    fake.metrics["database_connections_active"] = 0
    yield
    fake.metrics["database_connections_active"] = 4


@dataclass(frozen=True)
class Drift:
    check: str
    apply: Callable[[Deployment], contextlib.AbstractContextManager[None]]
    detail: str
    outputs: dict[str, Any] = field(default_factory=dict)


DRIFTS = {
    "http-listener-forwards": Drift("alb.http-redirect", http_listener_forwards, "forward to a target group"),
    "http-redirect-302": Drift("alb.http-redirect", http_redirect_is_302, "redirect HTTP_302"),
    "http-redirect-keeps-port-80": Drift("alb.http-redirect", http_redirect_keeps_port, "HTTPS:#{port}"),
    "weak-ssl-policy": Drift("alb.tls-policy", weak_tls_policy, "ELBSecurityPolicy-2016-08"),
    "waf-disassociated": Drift("waf.association", waf_disassociated, "no web ACL is associated"),
    "replica-missing": Drift("rds.replicas", replica_missing, "maratron-prod-db-replica-b missing"),
    "replica-unencrypted": Drift("rds.replicas", replica_unencrypted,
                                 "maratron-prod-db-replica-b storage not encrypted"),
    "deletion-protection-off": Drift("rds.primary", lambda d: rds_setting(d, DeletionProtection=False),
                                     "deletion protection off (required in prod)"),
    "database-public": Drift("rds.primary", lambda d: rds_setting(d, PubliclyAccessible=True), "publicly accessible"),
    "redis-without-failover": Drift("redis.replication-group", redis_without_failover, "automatic failover disabled"),
    "redis-node-unwatched": Drift("redis.replication-group", redis_node_unwatched,
                                  "nodes without alarms: maratron-prod-003 (a lowered redisReplicas removed another "
                                  "node than the last"),
    "versioning-suspended": Drift("s3.backups-bucket", versioning_suspended, "versioning Suspended"),
    "bucket-encryption-removed": Drift("s3.backups-bucket", encryption_removed, "expected aws:kms"),
    "public-access-block-off": Drift("s3.wal-bucket", public_access_block_off, "public access block off"),
    "alarm-firing": Drift("cloudwatch.alarms", alarm_firing, "in ALARM: maratron-prod-rds-cpu"),
    "service-not-at-desired-count": Drift("ecs.ai-service", unchanged, "running 0 of desired 3",
                                          outputs={"aiServiceName": "maratron-prod-ai-stuck"}),
    "service-scaled-to-zero": Drift("ecs.web-service", service_scaled_to_zero, "desired count 0"),
    "task-definition-not-rolled-out": Drift("ecs.web-service", task_definition_not_rolled_out,
                                            "PRIMARY deployment runs maratron-prod-web:1"),
    "proxy-accepts-plaintext": Drift("rds.proxy", unchanged, "TLS NOT required",
                                     outputs={"databaseProxyName": "maratron-prod-plain-proxy"}),
    "proxy-without-target": Drift("rds.proxy-targets", unchanged, "targets [], expected only the primary",
                                  outputs={"databaseProxyName": "maratron-prod-empty-proxy"}),
    "redis-user-without-password": Drift("redis.app-user", unchanged, "authentication no-password",
                                         outputs={"redisAppUserId": "maratron-prod-redis-open"}),
    "alarm-deleted": Drift("cloudwatch.alarms", unchanged, "missing: maratron-prod-gone",
                           outputs={"alarmNames": ["maratron-prod-alb-5xx", "maratron-prod-gone"]}),
    "delete-markers-replicated": Drift("dr.s3-replication", delete_markers_replicated,
                                       "delete markers are replicated"),
    "replica-unlocked": Drift("dr.replica-buckets", replica_unlocked, "no Object Lock default retention"),
    "rds-backup-replication-behind": Drift("dr.rds-backup-replication", rds_replication_behind,
                                           "latest restorable time is 5.0 h ago"),
    "backups-without-cmk": Drift("dr.rds-backup-replication", backups_without_cmk,
                                 "replicated backups are not encrypted with a CMK"),
    "drill-schedule-disabled": Drift("dr.restore-drill", drill_schedule_disabled, "is DISABLED"),
    "registry-not-replicated": Drift("dr.images", registry_not_replicated, "does not replicate maratron-prod/web"),
    "amp-without-cmk": Drift("amp.workspace", lambda d: amp_state(d, key_arn=None), "no kmsKeyArn"),
    "amp-stale-endpoint-output": Drift("amp.workspace", unchanged, "differs from the ampEndpoint output",
                                       outputs={"ampEndpoint": "https://aps-workspaces.us-east-1.amazonaws.com/"
                                                               "workspaces/ws-old/"}),
    "amp-logging-removed": Drift("amp.workspace", amp_logging_removed, "no logging configuration"),
    "amp-rules-deleted": Drift("amp.rules", amp_rules_deleted, "no rule groups namespace"),
    "alert-manager-failed": Drift("amp.alert-manager", lambda d: amp_state(d, alert_manager={
        "status": {"statusCode": "CREATION_FAILED", "statusReason": "invalid receiver"}, "data": b""}),
        "status CREATION_FAILED (invalid receiver)"),
    "alert-manager-missing": Drift("amp.alert-manager", lambda d: amp_state(d, alert_manager=None),
                                   "no alert manager definition"),
    "alert-manager-routes-elsewhere": Drift("amp.alert-manager", lambda d: amp_state(d, alert_manager={
        "status": {"statusCode": "ACTIVE"}, "data": b"topic_arn: arn:aws:sns:us-east-1:1:other"}),
        "does not route to the alert topic"),
    "collector-down": Drift("amp.scrape-targets", collector_down, "web: 1 task(s) report metrics, 2 running"),
    "app-metric-missing": Drift("amp.app-metrics", app_metric_missing,
                                "no recent samples of database_connections_active"),
    "latest-dump-replication-failed": Drift("dr.latest-dump-replicated", lambda d: dump_replication(d, "FAILED"),
                                            "maratron_b.dump"),
    "latest-dump-not-selected": Drift("dr.latest-dump-replicated", lambda d: dump_replication(d, None),
                                      "no replication rule selected it"),
}


@pytest.mark.parametrize("drift", DRIFTS.values(), ids=DRIFTS.keys())
def test_drift_fails_exactly_its_check(deployment: Deployment, tmp_path: Path, drift: Drift) -> None:
    with drift.apply(deployment):
        run = run_verify(deployment, tmp_path, **drift.outputs)
    assert run.code == 1
    assert run.failing() == {drift.check}, run.text
    assert drift.detail in run.results[drift.check].detail
    assert f"FAIL  {drift.check}" in run.text
    assert "1 failed" in run.text.splitlines()[-1]


def test_a_silence_alarm_awaits_its_jobs_first_report_for_one_window(deployment: Deployment, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """backup-missing (missing data breaching, 7 x 1 h) is in ALARM from its creation until the first backup: a first
    deploy is not failed for it, and the same ALARM fails the gate once its window has passed."""
    cw, name = deployment.client("cloudwatch"), "maratron-prod-backup-missing-new"
    cw.put_metric_alarm(AlarmName=name, Namespace="maratron-prod/backup", MetricName="BackupSucceeded", Statistic="Sum",
                        Period=3600, EvaluationPeriods=7, Threshold=1, ComparisonOperator="LessThanThreshold",
                        TreatMissingData="breaching")
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="no data: breaching")
    alarms = [*deployment.outputs["alarmNames"], name]
    try:
        run = run_verify(deployment, tmp_path, alarmNames=alarms)
        assert run.results["cloudwatch.alarms"].status is Status.PASS, run.text
        assert f"awaiting their job's first report (new, within one window): {name}" in \
            run.results["cloudwatch.alarms"].detail
        # A job that has reported before and stopped is a failure, however recently an `up` touched the alarm.
        cw.put_metric_data(Namespace="maratron-prod/backup", MetricData=[{
            "MetricName": "BackupSucceeded", "Value": 1, "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(days=2)}])
        run = run_verify(deployment, tmp_path, alarmNames=alarms)
        assert run.results["cloudwatch.alarms"].status is Status.FAIL
        assert f"in ALARM: {name}" in run.results["cloudwatch.alarms"].detail
        monkeypatch.undo()
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)  # and once the window has passed, in any case
        monkeypatch.setattr(verify, "_now", lambda: later)
        run = run_verify(deployment, tmp_path, alarmNames=alarms)
        assert run.results["cloudwatch.alarms"].status is Status.FAIL
    finally:
        cw.delete_alarms(AlarmNames=[name])


def test_edge_alarms_are_found_in_us_east_1_for_a_stack_elsewhere() -> None:
    """A stack in eu-west-1 with the CDN on keeps its CloudFront alarms in us-east-1 (CloudFront's metrics are only
    there): they are looked up there, not reported missing."""
    alarms = {None: {"maratron-eu-alb-5xx": "OK"}, "us-east-1": {"maratron-eu-cdn-5xx-rate": "ALARM"}}

    class CloudWatch:
        def __init__(self, region: str | None) -> None:
            self.region = region

        def describe_alarms(self, AlarmNames: list[str], AlarmTypes: list[str],  # noqa: N803
                            **_: Any) -> dict[str, Any]:
            known = alarms.get(self.region, {})
            return {"MetricAlarms": [{"AlarmName": n, "StateValue": known[n]} for n in AlarmNames if n in known]}

    outputs = verify.Outputs({"region": "eu-west-1", "alarmNames": [*alarms[None], *alarms["us-east-1"],
                                                                     "maratron-eu-gone"]})
    ctx = verify.Context(outputs, lambda service, region=None: CloudWatch(region))  # type: ignore[arg-type]
    verdict = verify.check_alarms(ctx)
    assert verdict.status is Status.FAIL
    assert verdict.detail == "in ALARM: maratron-eu-cdn-5xx-rate; missing: maratron-eu-gone"


def test_every_page_of_alarms_is_read() -> None:
    """DescribeAlarms answers 50 alarms a page by default (moto answers all at once): prod has about 60, and an
    alarm on the second page must be neither "missing" nor unseen when it fires."""
    names = [f"maratron-prod-a{i:02d}" for i in range(60)]
    states = {name: "ALARM" if name == names[57] else "OK" for name in names}
    calls: list[dict[str, Any]] = []

    class CloudWatch:
        def describe_alarms(self, AlarmNames: list[str], AlarmTypes: list[str], MaxRecords: int = 50,  # noqa: N803
                            NextToken: str = "0") -> dict[str, Any]:  # noqa: N803
            calls.append({"MaxRecords": MaxRecords, "NextToken": NextToken})
            start = int(NextToken)
            page = AlarmNames[start:start + 50]  # as if AWS kept its smaller page whatever MaxRecords says
            more = {"NextToken": str(start + 50)} if start + 50 < len(AlarmNames) else {}
            return {"MetricAlarms": [{"AlarmName": n, "StateValue": states[n]} for n in page], **more}

    ctx = verify.Context(verify.Outputs({"region": "us-east-1", "alarmNames": names}),
                         lambda service, region=None: CloudWatch())  # type: ignore[arg-type]
    verdict = verify.check_alarms(ctx)
    assert verdict.status is Status.FAIL and verdict.detail == f"in ALARM: {names[57]}"
    assert [c["NextToken"] for c in calls] == ["0", "50"] and calls[0]["MaxRecords"] == 100


def test_a_rolled_back_release_passes_services_stable_but_fails_the_gate(deployment: Deployment,
                                                                         tmp_path: Path) -> None:
    service = deployment.client("ecs").describe_services(cluster="maratron-prod", services=["maratron-prod-web"])[
        "services"][0]
    # services-stable's own criterion: one deployment and running == desired — true after a rollback
    assert len(service["deployments"]) == 1 and service["runningCount"] == service["desiredCount"]
    run = run_verify(deployment, tmp_path, webTaskDefinitionArn=deployment.ids["web_task_v2"])
    assert run.failing() == {"ecs.web-service"}
    assert "this update deployed maratron-prod-web:2" in run.results["ecs.web-service"].detail


def test_static_parameters_waiting_for_a_reboot_fail_the_instance() -> None:
    db = {"DBInstanceIdentifier": "maratron-prod-db-replica-1", "DBParameterGroups": [
        {"DBParameterGroupName": "database-params-1", "ParameterApplyStatus": "pending-reboot"}]}
    (problem,) = verify.pending_reboot(db)
    assert "database-params-1 pending-reboot" in problem
    assert "aws rds reboot-db-instance --db-instance-identifier maratron-prod-db-replica-1" in problem
    assert verify.pending_reboot({"DBParameterGroups": [{"ParameterApplyStatus": "in-sync"}]}) == []


def test_a_drill_that_never_passed_fails(deployment: Deployment, tmp_path: Path) -> None:
    # The fixture's pass is published for Environment=prod; a stack of another environment has none.
    run = run_verify(deployment, tmp_path, "--only", "dr.restore-drill", environment="staging")
    assert run.failing() == {"dr.restore-drill"}, run.text
    assert "no passed restore drill in the last 27 h" in run.results["dr.restore-drill"].detail


def test_dr_checks_skip_without_a_dr_region(deployment: Deployment, tmp_path: Path) -> None:
    # drRegion none: the DR outputs are "" (the contract keeps them), and every DR check is skipped, not failed.
    empty = {k: "" for k in ("drRegion", "drKmsKeyArn", "drBackupsBucketName", "drArchiveBucketName",
                             "drDatabaseBackupsArn", "restoreDrillScheduleName")}
    run = run_verify(deployment, tmp_path, "--only", "dr.*", **empty)
    assert run.code == 0 and {r.status for r in run.results.values()} == {Status.SKIP}, run.text


def test_images_in_another_accounts_registry_skip_the_replication_check(deployment: Deployment,
                                                                        tmp_path: Path) -> None:
    """Organization layout: the images live in the shared account's registry, and DescribeRegistry describes only
    the caller's own (it takes no registry id), so this account cannot judge that replication: SKIP, not FAIL."""
    shared = {k: "210987654321" + deployment.outputs[k][12:] for k in ("webRepositoryUrl", "aiRepositoryUrl")}
    with registry_not_replicated(deployment):  # this account's own registry replicates nothing, as in that layout
        run = run_verify(deployment, tmp_path, "--only", "dr.images", **shared)
    result = run.results["dr.images"]
    assert result.status == Status.SKIP and "registry 210987654321, not this account's" in result.detail, run.text


def test_drifts_were_undone(deployment: Deployment, tmp_path: Path) -> None:
    """Runs after the drifts (file order): the shared fixture is healthy again, so no drift leaked into another."""
    assert run_verify(deployment, tmp_path).code == 0


# --- environment rules, outputs handling, CLI -------------------------------------------------------------------


def test_outside_prod_multi_az_and_deletion_protection_are_not_required(deployment: Deployment,
                                                                        tmp_path: Path) -> None:
    with rds_setting(deployment, DeletionProtection=False, MultiAZ=False), redis_without_failover(deployment):
        prod = run_verify(deployment, tmp_path)
        dev = run_verify(deployment, tmp_path, environment="dev")
    assert prod.failing() == {"rds.primary", "redis.replication-group"}
    assert dev.code == 0, dev.text
    assert "no deletion protection (dev)" in dev.results["rds.primary"].detail
    assert "no automatic failover (dev)" in dev.results["redis.replication-group"].detail


def test_missing_outputs_skip_their_checks(deployment: Deployment, tmp_path: Path) -> None:
    run = run_verify(deployment, tmp_path, webAclArn=None, databaseReplicaIdentifiers=[], alarmNames=None)
    assert run.code == 0
    assert run.results["waf.association"].status is Status.SKIP
    assert "`webAclArn` is not exported" in run.results["waf.association"].detail
    assert run.results["rds.replicas"].detail == "this stack declares no read replicas"
    assert run.results["cloudwatch.alarms"].status is Status.SKIP


def test_resource_that_does_not_exist_fails_with_the_aws_error(deployment: Deployment, tmp_path: Path) -> None:
    run = run_verify(deployment, tmp_path, redisReplicationGroupId="maratron-gone", databaseIdentifier="nope",
                     databaseReplicaIdentifiers=[])
    # the proxy's target is then not "the primary" either
    assert run.failing() == {"redis.replication-group", "rds.primary", "rds.proxy-targets"}
    assert run.results["rds.primary"].detail == "DB instance nope not found"


def test_only_filters_checks_and_stdin_is_read(deployment: Deployment) -> None:
    out = io.StringIO()
    code = verify.main(["--endpoint-url", deployment.endpoint, "--only", "rds.*", "--only", "waf.*", "--json", "-"],
                       stdin=io.StringIO(json.dumps(deployment.outputs)), stdout=out, clients=deployment.client)
    assert code == 0
    document = json.loads(out.getvalue())
    assert [r["name"] for r in document["results"]] == ["waf.association", "rds.primary", "rds.replicas",
                                                         "rds.proxy", "rds.proxy-targets"]
    assert document["summary"] == "5 passed, 0 failed, 0 skipped"


def test_unreadable_outputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "outputs.json"
    bad.write_text("[1, 2]")
    assert verify.main(["--stack-outputs", str(bad)]) == 2
    assert "JSON object" in capsys.readouterr().err
    assert verify.main(["--stack-outputs", str(tmp_path / "absent.json")]) == 2
    bad.write_text("{}")  # e.g. an undeployed stack: every check would skip and "pass"
    assert verify.main(["--stack-outputs", str(bad)]) == 2
    assert "no `environment` output" in capsys.readouterr().err


def test_only_matching_nothing_exits_2(deployment: Deployment, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(deployment.outputs))
    assert verify.main(["--stack-outputs", str(path), "--only", "rsd.*"], clients=deployment.client) == 2
    assert "no check matches rsd.*" in capsys.readouterr().err


def test_runs_as_a_module() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "ops.verify", "--help"], capture_output=True, text=True,
                          check=False, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0
    assert "--stack-outputs FILE" in done.stdout


def test_region_defaults_to_the_albs() -> None:
    outputs = verify.Outputs({"albArn": "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/x/y"})  # no parse
    assert outputs.region_hint() == "eu-west-1"
    assert verify.Outputs({}).region_hint() is None
    assert verify.Outputs({"region": "us-west-2", "albArn": outputs.values["albArn"]}).region_hint() == "us-west-2"


# --- HTTP health: a local server stands in for the app ------------------------------------------------------------


@contextlib.contextmanager
def app_server(status: int, body: bytes) -> Iterator[str]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            code = status if self.path == "/api/health" else 404
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as address:
        yield f"http://{address}/"


@pytest.mark.parametrize(("status", "body", "expected", "detail"), [
    (200, b'{"status": "healthy"}', Status.PASS, "-> 200"),
    (200, b'{"status": "degraded"}', Status.FAIL, "status 'degraded'"),
    (200, b'{"status": "ok"}', Status.FAIL, "status 'ok', not 'healthy'"),  # the seed's jq: .status == "healthy"
    (200, b'{"uptime": 12}', Status.FAIL, "status None"),
    (200, b"<html>maintenance</html>", Status.FAIL, "the body is not a JSON object"),
    (503, b"{}", Status.FAIL, "HTTP 503"),
])
def test_http_health(deployment: Deployment, tmp_path: Path, status: int, body: bytes, expected: Status,
                     detail: str) -> None:
    with app_server(status, body) as url:
        run = run_verify(deployment, tmp_path, "--http", "--only", "http.*", appUrl=url)
    assert run.results["http.health"].status is expected
    assert detail in run.results["http.health"].detail
    assert url.rstrip("/") + "/api/health" in run.results["http.health"].detail


def test_http_adds_the_http_checks_to_only(deployment: Deployment, tmp_path: Path) -> None:
    """`--only 'rds.*' --http` (the runbooks' form) runs the HTTP checks too; a pattern naming one keeps it alone."""
    with app_server(200, b'{"status": "healthy"}') as url:
        run = run_verify(deployment, tmp_path, "--only", "rds.*", "--http", appUrl=url)
        alone = run_verify(deployment, tmp_path, "--only", "http.health", "--http", appUrl=url)
    assert run.results["http.health"].status is Status.PASS and any(n.startswith("rds.") for n in run.results)
    assert list(alone.results) == ["http.health"]
    assert verify.selected(["rds.*"], http=False) == ["rds.*"] and verify.selected([], http=True) == []


@contextlib.contextmanager
def performance_server(body: bytes) -> Iterator[str]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/api/performance" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as address:
        yield f"http://{address}"


@pytest.mark.parametrize(("body", "expected", "detail"), [
    (b'{"database": {"healthy": true}, "cache": {"stats": {"hitRate": 93.5}}}', Status.PASS,
     "database healthy, cache hit rate 93.5%"),
    (b'{"database": {"healthy": true}, "cache": {"stats": {"hitRate": 41}}}', Status.PASS,
     "cache hit rate 41% (low: the seed warns at 80% or less"),
    (b'{"database": {"healthy": false}}', Status.FAIL, "database.healthy is false, not true"),
    (b'{"cache": {}}', Status.FAIL, "database.healthy is null"),
    (b"<html>", Status.FAIL, "not a JSON object"),
])
def test_http_database_is_the_seeds_post_deploy_check(deployment: Deployment, tmp_path: Path, body: bytes,
                                                      expected: Status, detail: str) -> None:
    with performance_server(body) as url:
        run = run_verify(deployment, tmp_path, "--http", "--only", "http.database", appUrl=url)
    assert run.results["http.database"].status is expected, run.text
    assert detail in run.results["http.database"].detail


def test_http_health_times_out(deployment: Deployment, tmp_path: Path) -> None:
    import socket

    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        run = run_verify(deployment, tmp_path, "--http", "--http-timeout", "0.2", "--only", "http.*", appUrl=url)
    assert run.results["http.health"].status is Status.FAIL
    assert "timed out" in run.results["http.health"].detail


# --- target health evaluation on parsed responses (moto reports every registered target healthy) -----------------


def target(state: str, reason: str | None = None, ip: str = "10.0.0.1") -> dict[str, Any]:
    health: dict[str, Any] = {"State": state}
    if reason:
        health["Reason"] = reason
    return {"Target": {"Id": ip, "Port": 3000}, "TargetHealth": health}


@pytest.mark.parametrize(("descriptions", "status", "detail"), [
    ([target("healthy"), target("healthy", ip="10.0.1.1")], Status.PASS, "2 healthy"),
    ([target("healthy"), target("draining", "Target.DeregistrationInProgress")], Status.PASS, "1 draining, 1 healthy"),
    ([target("healthy"), target("unhealthy", "Target.FailedHealthChecks", "10.0.1.9")], Status.FAIL,
     "unhealthy: 10.0.1.9:3000 (Target.FailedHealthChecks)"),
    ([target("initial", "Elb.RegistrationInProgress")], Status.FAIL, "no healthy target (1 initial)"),
    ([target("unused", "Target.NotInUse")], Status.FAIL, "unused: 10.0.0.1:3000 (Target.NotInUse)"),
    ([target("unavailable", "Target.HealthCheckDisabled")], Status.SKIP, "target health unavailable"),
    ([], Status.SKIP, "no target health data"),
])
def test_target_health_evaluation(descriptions: list[dict[str, Any]], status: Status, detail: str) -> None:
    verdict = evaluate_target_health(descriptions)
    assert verdict.status is status
    assert detail in verdict.detail


# --- rotation: moto cannot enable rotation without invoking a Lambda, so DescribeSecret is stubbed ---------------

NOW = datetime(2026, 6, 30, tzinfo=UTC)
V1, V2, V3 = (f"{n}" * 32 for n in "123")  # version ids (the API wants 32-64 characters)


def described(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:maratron-prod/database/app_rw-AbCdEf",
        "Name": "maratron-prod/database/app_rw", "RotationEnabled": True,
        "RotationLambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:maratron-prod-db-admin",
        "RotationRules": {"ScheduleExpression": "rate(30 days)", "Duration": "3h"},
        "LastRotatedDate": NOW - timedelta(days=12), "CreatedDate": NOW - timedelta(days=100),
        "VersionIdsToStages": {V2: ["AWSCURRENT"], V1: ["AWSPREVIOUS"]}}
    base.update(changes)
    return base


@pytest.mark.parametrize(("changes", "max_days", "problem"), [
    ({}, 30, None),
    ({"RotationRules": {"AutomaticallyAfterDays": 30}}, 30, None),
    ({"RotationEnabled": False}, 30, "rotation disabled"),
    ({"RotationLambdaARN": ""}, 30, "no rotation function"),
    ({"RotationRules": {"ScheduleExpression": "rate(90 days)"}}, 30, "rotates every 90 days, more than 30"),
    ({"RotationRules": {"ScheduleExpression": "rate(90 days)"}, "LastRotatedDate": NOW - timedelta(days=60)},
     None, None),  # outside prod a longer period is allowed
    ({"RotationRules": {"ScheduleExpression": "cron(0 0 1 * ? *)"}}, 30, "rotation period unreadable"),
    ({"LastRotatedDate": NOW - timedelta(days=32)}, 30, "more than 30 days ago"),
    ({"LastRotatedDate": None, "CreatedDate": NOW - timedelta(days=40)}, 30, "more than 30 days ago"),
    ({"VersionIdsToStages": {V2: ["AWSCURRENT"], V3: ["AWSPENDING"]}}, 30, "a rotation is stuck"),
])
def test_rotation_verdict(changes: dict[str, Any], max_days: int | None, problem: str | None) -> None:
    found = verify.evaluate_rotation(described(**changes), now=NOW, max_days=max_days)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0] and found[0].startswith("maratron-prod/database/app_rw: ")


def test_rotation_check_describes_every_rotated_secret(tmp_path: Path) -> None:
    from botocore.stub import Stubber

    sm = boto_session().client("secretsmanager", aws_access_key_id="x", aws_secret_access_key="x")
    arns = [described()["ARN"], "arn:aws:secretsmanager:us-east-1:123456789012:secret:maratron-prod/redis/app-X"]
    with Stubber(sm) as stub:
        stub.add_response("describe_secret", described(), {"SecretId": arns[0]})
        stub.add_response("describe_secret", described(ARN=arns[1], Name="maratron-prod/redis/app",
                                                        RotationEnabled=False), {"SecretId": arns[1]})
        ctx = verify.Context(verify.Outputs({"environment": "prod", "rotatedSecretArns": arns}),
                             lambda service: {"secretsmanager": sm}[service])  # type: ignore[arg-type]
        verdict = verify.check_rotation(ctx, now=NOW)
        stub.assert_no_pending_responses()
    assert verdict.status is Status.FAIL and verdict.detail == "maratron-prod/redis/app: rotation disabled"
    with Stubber(sm) as stub:
        for arn in arns:
            stub.add_response("describe_secret", described(ARN=arn), {"SecretId": arn})
        ctx = verify.Context(verify.Outputs({"environment": "prod", "rotatedSecretArns": arns}),
                             lambda service: sm)  # type: ignore[arg-type]
        assert verify.check_rotation(ctx, now=NOW) == verify.passed("2 secrets rotate on schedule (every <= 30 days)")


def test_proxy_target_health_reasons_are_reported() -> None:
    from botocore.stub import Stubber

    rds = boto_session().client("rds", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(rds) as stub:
        stub.add_response("describe_db_proxy_targets", {"Targets": [{
            "RdsResourceId": "maratron-prod-db", "Type": "RDS_INSTANCE", "Port": 5432,
            "TargetHealth": {"State": "UNAVAILABLE", "Reason": "AUTH_FAILURE",
                             "Description": "Proxy does not have any registered credentials"}}]},
            {"DBProxyName": "p", "TargetGroupName": "default"})
        ctx = verify.Context(verify.Outputs({"environment": "prod", "databaseProxyName": "p",
                                             "databaseIdentifier": "maratron-prod-db"}),
                             lambda service: rds)  # type: ignore[arg-type]
        verdict = verify.check_rds_proxy_targets(ctx)
    assert verdict.status is Status.FAIL
    assert verdict.detail == ("maratron-prod-db is UNAVAILABLE: AUTH_FAILURE Proxy does not have any registered "
                              "credentials")


def test_a_stack_without_a_proxy_skips_its_checks(deployment: Deployment, tmp_path: Path) -> None:
    run = run_verify(deployment, tmp_path, databaseProxyName="")
    assert run.code == 0
    assert run.results["rds.proxy"].status is Status.SKIP and run.results["rds.proxy-targets"].status is Status.SKIP


def test_prometheus_query_is_sigv4_signed_for_aps(deployment: Deployment, prometheus: FakePrometheus,
                                                  tmp_path: Path) -> None:
    prometheus.requests.clear()
    run = run_verify(deployment, tmp_path, "--only", "amp.scrape-targets")
    assert run.code == 0, run.text
    [(path, headers)] = prometheus.requests
    workspace = deployment.outputs["ampWorkspaceId"]
    assert path.startswith(f"/workspaces/{workspace}/api/v1/query?query=count+by+%28job%29+%28up+%3D%3D+1%29")
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/aps/aws4_request" in headers["Authorization"]


def test_stacks_without_metrics_skip_the_amp_checks(deployment: Deployment, tmp_path: Path) -> None:
    run = run_verify(deployment, tmp_path, "--only", "amp.*", ampWorkspaceId="", ampEndpoint="")
    assert run.code == 0
    assert {r.status for r in run.results.values()} == {Status.SKIP}


def test_cache_node_alarms_are_found_by_the_catalogs_prefix() -> None:
    """redis.replication-group finds the alarms that watch nodes by name: every catalog kind on an ElastiCache node
    metric begins with verify.CACHE_ALARM_PREFIX (a renamed kind would leave the check blind)."""
    from components.alarm_catalog import ALARM_KINDS

    node_kinds = [kind.key for kind in ALARM_KINDS if kind.metric.startswith("AWS/ElastiCache")]
    assert len(node_kinds) >= 3 and all(key.startswith(verify.CACHE_ALARM_PREFIX) for key in node_kinds), node_kinds
