"""The stack outputs contract: what other teams may read from a Maratron stack, typed and versioned.

Every output the program exports is declared here with its type and meaning; `export_contract` refuses to export
anything undeclared or to leave a declared output out, so the contract cannot drift from the program silently.
docs/outputs.md is generated from this table (`make docs`) and tests/test_outputs_contract.py checks names and types
against each released version, pinned in tests/contracts/stack/<version>.json: a change there is a contract change.

Versioning: add an output -> minor bump (consumers are unaffected); rename, remove or change a type or a meaning ->
major bump, and keep the old name for one release where possible. 2.0.0 holds two breaking changes: issue 11's
`*UrlSecretArn` outputs name JSON secrets whose `url` key is the URL (it used to be the whole value; `*UrlValueFrom`
give ECS's `<arn>:url::` form), and issue 12's kmsKeyArns lost the images key (the foundation stack owns the image
repositories and their key). 2.0.0 keeps every 1.3.0 addition (issue 9: task definitions, restore check, snapshot
export role and key) and adds issue 11's proxy/credential outputs and restoreTargetSecretArn, issue 12's
bootstrapStack and backupImage, the disaster-recovery group (issue 13.3), the CDN outputs cdnDistributionId,
cdnDomainName, cdnOriginSecretArn (issue 13.1), the edge key at the end of kmsKeyArns and the metrics group
ampWorkspaceId, ampWorkspaceArn, ampEndpoint, grafanaWorkspaceUrl (issue 13.2) (those workstreams had published them
as 1.4.0/1.5.0 on the 1.x line; they land in 2.0.0).
Secret values are never outputs: consumers get secret ARNs and read them with their own IAM permissions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.app_metrics import AppMetrics
from components.backup_job import BackupJob
from components.backup_storage import BackupStorage
from components.cache import Cache
from components.cdn import Cdn
from components.cluster import Cluster
from components.credentials import Credentials
from components.database import Database
from components.disaster_recovery import DisasterRecovery
from components.encryption import EncryptionKeys
from components.foundation import Foundation
from components.load_balancer import LoadBalancer
from components.network import Network
from components.observability import Observability
from components.output_contract import OutputSpec, OutputType, contract, specs
from components.restore_drill import RestoreDrill
from components.secret_redeploy import SecretRedeploy
from components.service import FargateService
from components.task import FargateTask
from components.waf import WebFirewall
from stack_config import StackConfig

CONTRACT_VERSION = "2.3.0"

_specs = specs  # one group of outputs (components/output_contract.py)


CONTRACT: tuple[OutputSpec, ...] = tuple([
    *_specs(
        "stack",
        ("contractVersion", "string", "Version of this outputs contract (semver; major = breaking)."),
        ("environment", "string", "Environment profile of the stack: dev, staging or prod."),
        ("region", "string", "AWS region the stack deploys to."),
    ),
    *_specs(
        "network",
        ("vpcId", "string", "VPC id."),
        ("publicSubnetIds", "list[string]", "Public subnets (ALB, NAT), one per AZ in azNames order."),
        ("appSubnetIds", "list[string]", "Private app subnets (ECS tasks, the migration and backup tasks)."),
        ("dataSubnetIds", "list[string]", "Isolated data subnets (RDS, Redis); no route out of the VPC."),
        ("appRouteTableIds", "list[string]", "Route tables of the app tier (e.g. for more gateway endpoints)."),
        ("endpointSecurityGroupId", "string", "Security group of the interface VPC endpoints."),
    ),
    *_specs(
        "keys",
        ("kmsKeyArns", "list[string]", "CMK ARNs of the stack's region and the edge, in the order logs, data, "
         "backups, alerts, then edge (in us-east-1, only when the CDN is on in a stack elsewhere). Append-only: a "
         "consumer indexes by position. Images: the foundation's imagesKeyArn. The DR key is not in it (it is in "
         "drRegion, for the DR copy only): drKmsKeyArn."),
    ),
    *_specs(
        "edge",
        ("appUrl", "string", "Public URL of the app, https://<domainName>."),
        ("cdnDistributionId", "string", "CloudFront distribution in front of the ALB ('' when cdnEnabled is false)."),
        ("cdnDomainName", "string", "The distribution's *.cloudfront.net name: the alias target (CNAME to it when DNS "
         "is elsewhere); '' without the CDN."),
        ("cdnOriginSecretArn", "string", "Secrets Manager secret with the X-Origin-Verify header values CloudFront "
         "sends and the ALB requires ('' without the CDN)."),
        ("albDnsName", "string", "DNS name of the public ALB (the alias target without the CDN; behind it, the ALB "
         "answers CloudFront only)."),
        ("albArn", "string", "ARN of the public ALB."),
        ("albSecurityGroupId", "string", "Security group of the ALB: what a service admits on its port."),
        ("targetGroupArn", "string", "Target group of the web service (IP targets, port 3000)."),
        ("httpsListenerArn", "string", "The :443 listener (add rules here, e.g. for a maintenance page)."),
        ("certificateArn", "string", "ACM certificate served on :443 (issued here or the configured one)."),
        ("albAccessLogsBucketName", "string", "S3 bucket with the ALB access logs (prefix alb/)."),
        ("webAclArn", "string", "WAFv2 web ACL at the front door: CLOUDFRONT scope in us-east-1 (named by the "
         "distribution) with the CDN, REGIONAL (associated with the ALB) without it."),
    ),
    *_specs(
        "database",
        ("databaseWriterEndpoint", "string", "Hostname of the RDS PostgreSQL primary (the writer)."),
        ("databaseReaderHostname", "string",
         "Stable private DNS name of the read replicas (db-reader.<stack>.maratron.internal; the primary if none)."),
        ("databasePort", "integer", "PostgreSQL port (5432)."),
        ("databaseName", "string", "Database name (maratrondb)."),
        ("databaseUrlSecretArn", "string",
         "Secret of the app_rw login (JSON; key `url` is DATABASE_URL via RDS Proxy, sslmode=require). Rotated."),
        ("databaseReadUrlSecretArn", "string",
         "Secret of the app_ro login (JSON; key `url` is DATABASE_READ_URL via the replicas). Rotated."),
        ("databaseUrlValueFrom", "string", "ECS `valueFrom` of DATABASE_URL: <databaseUrlSecretArn>:url::."),
        ("databaseReadUrlValueFrom", "string", "ECS `valueFrom` of DATABASE_READ_URL: <...ReadUrlSecretArn>:url::."),
        ("databaseLibpqUrlValueFrom", "string",
         "ECS `valueFrom` of DATABASE_URL for a libpq-style driver (psycopg, asyncpg): key `libpqUrl`, without "
         "Prisma's connection_limit, which such drivers refuse (since 2.2.0)."),
        ("databaseReadLibpqUrlValueFrom", "string",
         "ECS `valueFrom` of DATABASE_READ_URL for a libpq-style driver: key `libpqUrl` (since 2.2.0)."),
        ("databaseMasterSecretArn", "string",
         "Secret of the RDS master user (operators and the db-admin function only; never an app). Rotated."),
        ("databaseProxyEndpoint", "string", "RDS Proxy endpoint writers connect to (TLS); empty without a proxy."),
        ("databaseProxyName", "string", "RDS Proxy name (verify, runbooks); empty without a proxy."),
        ("databaseProxySecurityGroupId", "string",
         "Security group of RDS Proxy (grant writers with grant(client, database.writer)); empty without."),
        ("databaseReplicaSecurityGroupId", "string",
         "Security group of the read replicas (grant readers with grant(client, database.readers))."),
        ("dbAdminFunctionName", "string", "Lambda that bootstraps the app roles and rotates database credentials."),
        ("dbBootstrapCommand", "string",
         "Idempotent bootstrap of the app roles (CI runs it before migrations); fails unless it succeeded."),
        ("rotatedSecretArns", "list[string]",
         "Every secret with a rotation schedule (ops.verify checks each is enabled and on time)."),
        ("databaseIdentifier", "string", "RDS identifier of the primary (for the RDS console, CLI and PITR)."),
        ("databaseReplicaIdentifiers", "list[string]", "RDS identifiers of the read replicas (empty without)."),
        ("databaseSecurityGroupId", "string",
         "Security group of the database (grant access with grant(client, database))."),
    ),
    *_specs(
        "app",
        ("clusterName", "string", "ECS cluster name."),
        ("clusterArn", "string", "ECS cluster ARN."),
        ("webServiceName", "string", "ECS service of the Next.js web app."),
        ("aiServiceName", "string", "ECS service of the AI server (reachable from web only)."),
        ("webSecurityGroupId", "string", "Security group of the web tasks."),
        ("aiSecurityGroupId", "string", "Security group of the AI tasks."),
        ("migrationSecurityGroupId", "string", "Security group for the one-off migration task."),
        ("bootstrapStack", "string", "The foundation stack this stack reads (its image repositories, account, "
                                     "role boundary)."),
        ("webRepositoryUrl", "string", "ECR repository the web tasks pull from: the foundation's (app CI pushes "
                                       "there), or in a DR stack its replica in the DR region (read-only: pushes go to "
                                       "the foundation's repositoryUrls and replicate)."),
        ("aiRepositoryUrl", "string", "ECR repository the AI tasks pull from (the foundation's; a DR stack's replica, "
                                      "as webRepositoryUrl)."),
        ("webImage", "string", "Image the web service runs (<repository>@sha256:...)."),
        ("aiImage", "string", "Image the AI service runs (<repository>@sha256:...)."),
        ("backupImage", "string", "Image the backup job runs (<repository>@sha256:...)."),
        ("webLogGroupName", "string", "CloudWatch log group of the web tasks (and the migration task)."),
        ("aiLogGroupName", "string", "CloudWatch log group of the AI tasks."),
        ("webTaskDefinitionArn", "string",
         "Task definition this update deployed for web: the release gate (ops.verify) fails when the service runs "
         "another (a circuit-breaker rollback)."),
        ("aiTaskDefinitionArn", "string", "Task definition this update deployed for ai (same gate)."),
        ("migrationTaskDefinitionArn", "string", "Task definition of `npx prisma migrate deploy`."),
        ("migrationRunTaskCommand", "string", "Ready-to-run `aws ecs run-task` command for the migration."),
    ),
    *_specs(
        "cache",
        ("redisEndpoint", "string", "Redis primary endpoint (the configuration endpoint in cluster mode); TLS only."),
        ("redisPort", "integer", "Redis port (6379)."),
        ("redisUrlSecretArn", "string",
         "Secret of the Redis RBAC user (JSON; key `url` is REDIS_URL, rediss://maratron-app:...). Rotated."),
        ("redisUrlValueFrom", "string", "ECS `valueFrom` of REDIS_URL: <redisUrlSecretArn>:url::."),
        ("redisAppUserId", "string", "ElastiCache user id of the app's RBAC user (verify, runbooks)."),
        ("redisReplicationGroupId", "string", "ElastiCache replication group id (failover tests, verify)."),
        ("redisSecurityGroupId", "string",
         "Security group of the Redis nodes (grant access with grant(client, cache))."),
        ("redisClusterEnabled", "boolean", "Whether cluster mode is on (clients must then use a cluster client)."),
    ),
    *_specs(
        "storage",
        ("backupsBucketName", "string", "S3 bucket of the pg_dump archives (Object Lock, SSE-KMS)."),
        ("walBucketName", "string", "S3 archive bucket: snapshot exports and long-term dump copies (SSE-KMS)."),
        ("snapshotExportRoleArn", "string",
         "Role for `aws rds start-export-task --iam-role-arn` (S3 exports/ prefix of walBucketName, its KMS key)."),
        ("backupsKeyArn", "string",
         "CMK of the backup and archive buckets: the `--kms-key-id` of a snapshot export (the ARN, not an alias)."),
        ("accessLogsBucketName", "string", "S3 bucket of the server access logs of the two above."),
    ),
    *_specs(
        "backup",
        ("backupTaskDefinitionArn", "string", "Task definition of the scheduled pg_dump job (run it by hand too)."),
        ("backupSecurityGroupId", "string", "Security group of the backup task."),
        ("backupScheduleName", "string", "EventBridge Scheduler schedule that starts the backup every 6 hours."),
        ("restoreCheckTaskDefinitionArn", "string",
         "Task definition of the on-demand restore check (restore_check.sh --drop into a scratch database of the "
         "RDS instance; read-only access to the archives)."),
        ("restoreCheckSecurityGroupId", "string",
         "Security group of the restore-check task (admitted by the database)."),
        ("restoreTargetSecretArn", "string",
         "Secret the restore check reads as RESTORE_DATABASE_URL: an operator writes the scratch server's admin URL "
         "before a drill."),
        ("backupMetricNamespace", "string",
         "CloudWatch namespace of the backup job's BackupSucceeded (dimension Environment): the job's own, "
         "`<stack prefix>/backup` (since 2.3.0)."),
    ),
    *_specs(
        "disaster recovery",
        ("drRegion", "string", "Region that holds the DR copy (replicated RDS backups, dumps, archive); \"\" when "
         "drRegion is none."),
        ("drKmsKeyArn", "string", "CMK of the DR copy in drRegion (a restored DR stack names it: dbRestoreKmsKeyArn); "
         "\"\" when drRegion is none."),
        ("drBackupsBucketName", "string", "Replica of the pg_dump bucket in drRegion (Object Lock, SSE-KMS); \"\" when "
         "drRegion is none."),
        ("drArchiveBucketName", "string", "Replica of the archive bucket in drRegion (SSE-KMS, GLACIER_IR); \"\" when "
         "drRegion is none."),
        ("drDatabaseBackupsArn", "string",
         "ARN of the RDS automated backups replicated to drRegion: a DR stack restores from it "
         "(dbRestoreFromBackupsArn); \"\" when drRegion is none."),
        ("drBatchReplicationRoleArn", "string",
         "Role for S3 Batch Replication (`aws s3control create-job --role-arn`) of the objects in backupsBucketName "
         "and walBucketName that predate replication; \"\" when drRegion is none (since 2.2.0)."),
        ("restoreDrillTaskDefinitionArn", "string",
         "Task definition of the daily restore drill (run it by hand after a change to the backups); \"\" when "
         "drRegion is none."),
        ("restoreDrillScheduleName", "string", "EventBridge Scheduler schedule of the daily restore drill; \"\" when "
         "drRegion is none."),
        ("restoreDrillSecurityGroupId", "string",
         "Security group of the restore drill task (a run by hand names it: docs/runbooks/disaster-recovery.md "
         "A.5); \"\" when drRegion is none."),
        ("restoreDrillMetricNamespace", "string",
         "CloudWatch namespace of the drill's RestoreDrillSucceeded and ReplicatedDumpAgeHours (dimension "
         "Environment): the drill's own, `<stack prefix>/restore-drill`; \"\" when drRegion is none (since 2.3.0)."),
    ),
    *_specs(
        "operations",
        ("alertTopicArn", "string", "SNS topic every alarm notifies; subscribe your own endpoints to it."),
        ("secretRedeployStateMachineArn", "string",
         "Step Functions workflow that redeploys a service when a secret it reads changes."),
        ("alarmNames", "list[string]", "Every CloudWatch alarm of the stack (ops.verify checks none is in ALARM)."),
        ("dashboardName", "string", "CloudWatch dashboard of the stack."),
    ),
    *_specs(
        "metrics",
        ("ampWorkspaceId", "string", "Amazon Managed Service for Prometheus workspace of the app's metrics (\"\" when "
         "appMetricsEnabled is false)."),
        ("ampWorkspaceArn", "string", "Its ARN: grant aps:QueryMetrics (and the metrics key via aps) on it to read "
         "(\"\" when off)."),
        ("ampEndpoint", "string", "Its Prometheus endpoint, ending in /: + api/v1/query to query, + "
         "api/v1/remote_write to write, both SigV4-signed for service aps (\"\" when off)."),
        ("grafanaWorkspaceUrl", "string", "URL of the Managed Grafana workspace (\"\" unless grafanaEnabled)."),
    ),
])
CONTRACT_BY_NAME: dict[str, OutputSpec] = {spec.name: spec for spec in CONTRACT}
STACK_CONTRACT = contract(CONTRACT_VERSION, CONTRACT)
__all__ = ["CONTRACT", "CONTRACT_BY_NAME", "CONTRACT_VERSION", "OutputSpec", "OutputType", "StackParts",
           "contract_values", "export_contract", "render_markdown"]


def export_contract(values: Mapping[str, Any]) -> None:
    """Export exactly the contract's outputs (contractVersion is added here)."""
    STACK_CONTRACT.export(values, where="stack_outputs.py")


@dataclass(frozen=True)
class StackParts:
    """The boxes of the architecture whose ids the contract publishes (what `__main__.py` built)."""

    config: StackConfig
    keys: EncryptionKeys
    network: Network
    load_balancer: LoadBalancer
    firewall: WebFirewall
    cdn: Cdn | None
    database: Database
    cache: Cache
    storage: BackupStorage
    cluster: Cluster
    foundation: Foundation
    web: FargateService
    ai: FargateService
    migrate: FargateTask
    backup_job: BackupJob
    credentials: Credentials
    redeploy: SecretRedeploy
    observability: Observability
    recovery: DisasterRecovery
    drill: RestoreDrill | None
    metrics: AppMetrics | None = None
    """The app's metrics workspace (None when appMetricsEnabled is false)."""


def contract_values(parts: StackParts) -> dict[str, Any]:
    """Every contract output's value, read from the stack's parts (contractVersion is added by export_contract)."""
    p = parts
    return {
        "environment": p.config.environment,
        "region": p.config.region,
        "vpcId": p.network.vpc.id,
        "publicSubnetIds": p.network.subnet_ids("public"),
        "appSubnetIds": p.network.subnet_ids("app"),
        "dataSubnetIds": p.network.subnet_ids("data"),
        "appRouteTableIds": p.network.route_table_ids("app"),
        "endpointSecurityGroupId": p.network.endpoint_security_group.id,
        "kmsKeyArns": [key.arn for key in p.keys.all().values()],
        "appUrl": p.config.app_url,
        "cdnDistributionId": p.cdn.distribution.id if p.cdn else "",
        "cdnDomainName": p.cdn.distribution.domain_name if p.cdn else "",
        "cdnOriginSecretArn": p.cdn.origin_secret_arn if p.cdn else "",
        "albDnsName": p.load_balancer.alb.dns_name,
        "albArn": p.load_balancer.alb.arn,
        "albSecurityGroupId": p.load_balancer.security_group.id,
        "targetGroupArn": p.load_balancer.target_group.arn,
        "httpsListenerArn": p.load_balancer.https_listener.arn,
        "certificateArn": p.load_balancer.certificate_arn,
        "albAccessLogsBucketName": p.load_balancer.access_logs_bucket.bucket,
        "webAclArn": p.firewall.web_acl.arn,
        "databaseWriterEndpoint": p.database.primary.address,
        "databaseReaderHostname": p.database.reader_hostname,
        "databasePort": p.database.port,
        "databaseName": p.database.database_name,
        "databaseUrlSecretArn": p.credentials.database_url.arn,
        "databaseReadUrlSecretArn": p.credentials.database_read_url.arn,
        "databaseUrlValueFrom": p.credentials.database_url.value_from,
        "databaseReadUrlValueFrom": p.credentials.database_read_url.value_from,
        "databaseLibpqUrlValueFrom": p.credentials.database_libpq_url.value_from,
        "databaseReadLibpqUrlValueFrom": p.credentials.database_read_libpq_url.value_from,
        "databaseMasterSecretArn": p.database.master.arn,
        "databaseProxyEndpoint": p.database.proxy.endpoint if p.database.proxy else "",
        "databaseProxyName": p.database.proxy.name if p.database.proxy else "",
        "databaseProxySecurityGroupId": p.database.proxy.security_group.id if p.database.proxy else "",
        "databaseReplicaSecurityGroupId": p.database.replica_security_group.id,
        "dbAdminFunctionName": p.credentials.db_admin.function.name,
        "dbBootstrapCommand": p.credentials.bootstrap_command(),
        "rotatedSecretArns": p.credentials.rotated_secret_arns,
        "databaseIdentifier": p.database.primary.identifier,
        "databaseReplicaIdentifiers": list(p.database.replica_identifiers.values()),
        "databaseSecurityGroupId": p.database.security_group.id,
        "redisEndpoint": p.cache.endpoint,
        "redisPort": p.cache.port,
        "redisUrlSecretArn": p.credentials.redis_url.arn,
        "redisUrlValueFrom": p.credentials.redis_url.value_from,
        "redisAppUserId": p.cache.app_user.user_id,
        "redisReplicationGroupId": p.cache.group_id,
        "redisSecurityGroupId": p.cache.security_group.id,
        "redisClusterEnabled": p.cache.cluster_mode,
        "backupsBucketName": p.storage.backups.bucket,
        "walBucketName": p.storage.archive.bucket,
        "snapshotExportRoleArn": p.storage.snapshot_export_role.arn,
        "backupsKeyArn": p.storage.key_arn,
        "accessLogsBucketName": p.storage.access_logs.bucket,
        "clusterName": p.cluster.cluster.name,
        "clusterArn": p.cluster.cluster.arn,
        "webServiceName": p.web.service.name,
        "aiServiceName": p.ai.service.name,
        "webSecurityGroupId": p.web.security_group.id,
        "aiSecurityGroupId": p.ai.security_group.id,
        "migrationSecurityGroupId": p.migrate.security_group.id,
        "bootstrapStack": p.config.foundation.stack,
        "webRepositoryUrl": p.foundation.repository_url("web"),
        "aiRepositoryUrl": p.foundation.repository_url("ai"),
        "webImage": p.foundation.image_uri("web"),
        "aiImage": p.foundation.image_uri("ai"),
        "backupImage": p.foundation.image_uri("backup"),
        "webLogGroupName": p.web.log_group.name,
        "aiLogGroupName": p.ai.log_group.name,
        "webTaskDefinitionArn": p.web.task_definition_arn,
        "aiTaskDefinitionArn": p.ai.task_definition_arn,
        "migrationTaskDefinitionArn": p.migrate.task_definition.arn,
        "migrationRunTaskCommand": p.migrate.run_task_command(p.cluster.cluster.name, p.network.subnet_ids("app")),
        "backupTaskDefinitionArn": p.backup_job.task_definition.arn,
        "backupSecurityGroupId": p.backup_job.security_group.id,
        "backupScheduleName": p.backup_job.schedule.name,
        "restoreCheckTaskDefinitionArn": p.backup_job.restore_check.task_definition.arn,
        "restoreCheckSecurityGroupId": p.backup_job.restore_check.security_group.id,
        "restoreTargetSecretArn": p.backup_job.restore_target.arn,
        "backupMetricNamespace": p.backup_job.metric_namespace,
        **_recovery_values(p.recovery, p.drill),
        "alertTopicArn": p.observability.topic.arn,
        "secretRedeployStateMachineArn": p.redeploy.state_machine.arn,
        "alarmNames": p.observability.alarm_names(),
        "dashboardName": p.observability.dashboard.dashboard_name,
        "ampWorkspaceId": p.metrics.workspace.id if p.metrics else "",
        "ampWorkspaceArn": p.metrics.workspace.arn if p.metrics else "",
        "ampEndpoint": p.metrics.workspace.prometheus_endpoint if p.metrics else "",
        "grafanaWorkspaceUrl": p.metrics.grafana.endpoint.apply(lambda host: f"https://{host}")
        if p.metrics and p.metrics.grafana else "",
    }


def _recovery_values(recovery: DisasterRecovery, drill: RestoreDrill | None) -> dict[str, Any]:
    """The DR outputs: always present (the contract is stable), "" when drRegion is none."""
    if not recovery.enabled or recovery.key is None:
        return {name: "" for name in ("drRegion", "drKmsKeyArn", "drBackupsBucketName", "drArchiveBucketName",
                                      "drDatabaseBackupsArn", "drBatchReplicationRoleArn",
                                      "restoreDrillTaskDefinitionArn",
                                      "restoreDrillScheduleName", "restoreDrillSecurityGroupId",
                                      "restoreDrillMetricNamespace")}
    return {
        "drRegion": recovery.region,
        "drKmsKeyArn": recovery.key.arn,
        "drBackupsBucketName": recovery.replicas["backups"].name,
        "drArchiveBucketName": recovery.replicas["archive"].name,
        "drDatabaseBackupsArn": recovery.database_backups.id if recovery.database_backups else "",
        "drBatchReplicationRoleArn": recovery.batch_replication_role.arn if recovery.batch_replication_role else "",
        "restoreDrillTaskDefinitionArn": drill.task_definition.arn if drill else "",
        "restoreDrillScheduleName": drill.schedule.name if drill else "",
        "restoreDrillSecurityGroupId": drill.task.security_group.id if drill else "",
        "restoreDrillMetricNamespace": drill.metric_namespace if drill else "",
    }


def render_markdown() -> str:
    return STACK_CONTRACT.render_markdown("Stack outputs contract", [
        "Generated from `stack_outputs.py` by `make docs`; do not edit.",
        "Secret values are never outputs: read the secrets behind the `*SecretArn` outputs with your own IAM role",
        "(connection secrets are JSON: the URL is their `url` key; ECS reads it with the `*ValueFrom` outputs).",
        "Read them from another Pulumi program with a StackReference (see `examples/consumer/`) or with",
        "`pulumi stack output --json -s <org>/maratron/<stack>`.",
        "",
        "Other teams read our stack outputs; they are a versioned contract, declared once in `stack_outputs.py` (name,",
        "type, meaning) and documented here. The program cannot export anything undeclared or leave a declared output",
        "out, each released version's names and types are pinned in `tests/contracts/stack/<version>.json` (a removed",
        "or retyped output fails the tests until the major version is bumped, a new one until the minor is), and no",
        "output ever carries a secret value: consumers get secret ARNs and read them with",
        "their own IAM role. `examples/consumer/` is a tiny program that reads the contract with a `StackReference`",
        "and refuses an unsupported major version; the tests run it against the offline prod outputs.",
    ])
