"""The stack outputs contract: what other teams may read from a Maratron stack, typed and versioned.

Every output the program exports is declared here with its type and meaning; `export_contract` refuses to export
anything undeclared or to leave a declared output out, so the contract cannot drift from the program silently.
docs/outputs.md is generated from this table (`make docs`) and tests/test_outputs_contract.py pins names and types
against tests/outputs-contract.json: a change there is a contract change.

Versioning: add an output -> minor bump (consumers are unaffected); rename, remove or change a type -> major bump,
and keep the old name for one release where possible. Secret values are never outputs: consumers get secret ARNs
and read them with their own IAM permissions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from components.backup_job import BackupJob
from components.backup_storage import BackupStorage
from components.cache import Cache
from components.cluster import Cluster
from components.database import Database
from components.encryption import EncryptionKeys
from components.images import ImageRepository
from components.load_balancer import LoadBalancer
from components.network import Network
from components.observability import Observability
from components.service import FargateService
from components.task import FargateTask
from components.waf import WebFirewall
from stack_config import StackConfig

CONTRACT_VERSION = "1.3.0"

OutputType = Literal["string", "integer", "boolean", "list[string]"]


@dataclass(frozen=True)
class OutputSpec:
    name: str
    type: OutputType
    description: str
    group: str


def _specs(group: str, *entries: tuple[str, OutputType, str]) -> list[OutputSpec]:
    return [OutputSpec(name, type_, description, group) for name, type_, description in entries]


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
        ("kmsKeyArns", "list[string]", "CMK ARNs, in the order logs, data, backups, images, alerts (1.3.0)."),
    ),
    *_specs(
        "edge",
        ("appUrl", "string", "Public URL of the app, https://<domainName>."),
        ("albDnsName", "string", "DNS name of the public ALB (the alias target; CNAME to it when DNS is elsewhere)."),
        ("albArn", "string", "ARN of the public ALB."),
        ("albSecurityGroupId", "string", "Security group of the ALB: what a service admits on its port."),
        ("targetGroupArn", "string", "Target group of the web service (IP targets, port 3000)."),
        ("httpsListenerArn", "string", "The :443 listener (add rules here, e.g. for a maintenance page)."),
        ("certificateArn", "string", "ACM certificate served on :443 (issued here or the configured one)."),
        ("albAccessLogsBucketName", "string", "S3 bucket with the ALB access logs (prefix alb/)."),
        ("webAclArn", "string", "WAFv2 web ACL associated with the ALB."),
    ),
    *_specs(
        "database",
        ("databaseWriterEndpoint", "string", "Hostname of the RDS PostgreSQL primary (the writer)."),
        ("databaseReaderHostname", "string",
         "Stable private DNS name of the read replicas (db-reader.<stack>.maratron.internal; the primary if none)."),
        ("databasePort", "integer", "PostgreSQL port (5432)."),
        ("databaseName", "string", "Database name (maratrondb)."),
        ("databaseUrlSecretArn", "string", "Secrets Manager secret holding DATABASE_URL (writer, sslmode=require)."),
        ("databaseReadUrlSecretArn", "string", "Secrets Manager secret holding DATABASE_READ_URL (the replicas)."),
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
        ("webRepositoryUrl", "string", "ECR repository of the web image (push here from the app's CI)."),
        ("aiRepositoryUrl", "string", "ECR repository of the AI image."),
        ("webImage", "string", "Image reference the web service runs (repository@digest or :tag)."),
        ("aiImage", "string", "Image reference the AI service runs."),
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
        ("redisUrlSecretArn", "string", "Secrets Manager ARN of REDIS_URL (rediss://, with the AUTH token)."),
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
         "Task definition of the restore drill (restore_check.sh --drop; read-only access to the archives)."),
        ("restoreCheckSecurityGroupId", "string",
         "Security group of the restore-check task (admitted by the database)."),
    ),
    *_specs(
        "operations",
        ("alertTopicArn", "string", "SNS topic every alarm notifies; subscribe your own endpoints to it."),
        ("alarmNames", "list[string]", "Every CloudWatch alarm of the stack (ops.verify checks none is in ALARM)."),
        ("dashboardName", "string", "CloudWatch dashboard of the stack."),
    ),
])
CONTRACT_BY_NAME: dict[str, OutputSpec] = {spec.name: spec for spec in CONTRACT}


def export_contract(values: Mapping[str, Any]) -> None:
    """Export exactly the contract's outputs (contractVersion is added here)."""
    given = {"contractVersion": CONTRACT_VERSION, **values}
    missing = [name for name in CONTRACT_BY_NAME if name not in given]
    extra = [name for name in given if name not in CONTRACT_BY_NAME]
    if missing or extra:
        raise ValueError(f"stack outputs do not match the contract in stack_outputs.py: "
                         f"missing {missing}, undeclared {extra}")
    for spec in CONTRACT:
        pulumi.export(spec.name, given[spec.name])


@dataclass(frozen=True)
class StackParts:
    """The boxes of the architecture whose ids the contract publishes (what `__main__.py` built)."""

    config: StackConfig
    keys: EncryptionKeys
    network: Network
    load_balancer: LoadBalancer
    firewall: WebFirewall
    database: Database
    cache: Cache
    storage: BackupStorage
    cluster: Cluster
    images: Mapping[str, ImageRepository]
    web: FargateService
    ai: FargateService
    migrate: FargateTask
    backup_job: BackupJob
    observability: Observability


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
        "databaseUrlSecretArn": p.database.writer_url.arn,
        "databaseReadUrlSecretArn": p.database.reader_url.arn,
        "databaseIdentifier": p.database.primary.identifier,
        "databaseReplicaIdentifiers": list(p.database.replica_identifiers.values()),
        "databaseSecurityGroupId": p.database.security_group.id,
        "redisEndpoint": p.cache.endpoint,
        "redisPort": p.cache.port,
        "redisUrlSecretArn": p.cache.url.arn,
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
        "webRepositoryUrl": p.images["web"].repository.repository_url,
        "aiRepositoryUrl": p.images["ai"].repository.repository_url,
        "webImage": p.images["web"].image_uri,
        "aiImage": p.images["ai"].image_uri,
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
        "alertTopicArn": p.observability.topic.arn,
        "alarmNames": p.observability.alarm_names(),
        "dashboardName": p.observability.dashboard.dashboard_name,
    }


def render_markdown() -> str:
    lines = [
        "# Stack outputs contract",
        "",
        f"Contract version **{CONTRACT_VERSION}**. Generated from `stack_outputs.py` by `make docs`; do not edit.",
        "Secret values are never outputs: read the secrets behind the `*SecretArn` outputs with your own IAM role.",
        "Read them from another Pulumi program with a StackReference (see `examples/consumer/`) or with",
        "`pulumi stack output --json -s <org>/maratron/<stack>`.",
        "",
        "Other teams read our stack outputs; they are a versioned contract, declared once in `stack_outputs.py` (name,",
        "type, meaning) and documented here. The program cannot export anything undeclared or leave a declared output",
        "out, `tests/outputs-contract.json` pins names and types (a breaking change fails the tests until the major",
        "version is bumped), and no output ever carries a secret value: consumers get secret ARNs and read them with",
        "their own IAM role. `examples/consumer/` is a tiny program that reads the contract with a `StackReference`",
        "and refuses an unsupported major version; the tests run it against the offline prod outputs.",
        "",
    ]
    group = None
    for spec in CONTRACT:
        if spec.group != group:
            group = spec.group
            lines += ["", f"## {group}", "", "| output | type | description |", "|---|---|---|"]
        lines.append(f"| `{spec.name}` | {spec.type} | {spec.description} |")
    return "\n".join(lines) + "\n"
