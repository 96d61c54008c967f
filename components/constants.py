"""Facts shared across layers: the program, the policy pack and the post-deploy verifier read them from here.

Pure Python (no Pulumi import), so `ops/verify.py` can use it as is. The policy pack must stay self-contained (the
engine runs it with cwd=policies/, and it may be published with `pulumi policy publish`), so it reads a generated
copy, `policies/rules/shared-constants.json`, written by `make docs` from `pack_constants()`; a test keeps the copy
current and checks that config, pack and verifier accept exactly the same TLS policies.
"""

from __future__ import annotations

from typing import Any

PROJECT = "maratron"
"""Pulumi project name: the config namespace (`maratron:<key>`), the `project` tag, resource type tokens."""
ENVIRONMENTS = ("dev", "staging", "prod")
"""Environment profiles. Production rules apply to `prod`."""
REQUIRED_TAG_KEYS = ("project", "environment", "owner", "cost-center")
LOG_RETENTION_DAYS = 365
"""Default retention of every log the stack keeps (CloudWatch groups, access logs), in days: the `logRetentionDays`
setting's default and every component's, one year (CKV_AWS_338)."""
"""Tags every taggable resource carries (the program sets them, the pack's required-tags rule checks them)."""

# --- edge ------------------------------------------------------------------------------------------------------------
TLS_POLICIES: tuple[str, ...] = (
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
)
"""HTTPS listener policies we accept: TLS 1.3 offered and nothing below TLS 1.2, without the Ext0/Ext1/Ext2 suites
(SHA-1 and legacy CBC ciphers); classic, hybrid post-quantum (PQ) and FIPS variants alike. Not accepted: the API
default ELBSecurityPolicy-2016-08 and the TLS13-1-0/1-1 families (TLS 1.0/1.1), FS-1-2-* (no TLS 1.3).
The first is the default: AWS's current recommendation ("Security policies for your Application Load Balancer",
Elastic Load Balancing user guide: ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09, or its FIPS twin)."""
DEFAULT_TLS_POLICY = TLS_POLICIES[0]
WAF_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)
"""AWS managed rule groups every web ACL runs (components/waf.py deploys them; the pack's waf-managed-rule-groups
rule requires them): reputation, OWASP common, known bad inputs (Log4Shell), SQL injection."""
HSTS_MAX_AGE_SECONDS = 31_536_000
"""Strict-Transport-Security max-age the ALB sends (one year, the preload list's minimum); the pack's floor."""

# --- app -------------------------------------------------------------------------------------------------------------
WEB_PORT = 3000
"""Port the Next.js web tasks listen on (the seed's 3000): target group, container port, PORT."""
HEALTH_CHECK_PATH = "/api/health"
"""The seed's health endpoint: ALB target group, container health checks, `ops.verify --http`."""
NON_ROOT_USER = "1001:1001"
"""The seed's Dockerfile user (nextjs, uid 1001, group nodejs gid 1001); every app container runs as it."""
FARGATE_PLATFORM_VERSION = "1.4.0"
"""Fargate platform version of every service, schedule and run-task command, explicit rather than LATEST: FARGATE_SPOT
runs ARM64 tasks only on 1.4.0 or later ("FARGATE_SPOT supports Linux tasks with the ARM64 architecture on platform
version 1.4.0 or later", ECS API reference, CapacityProviderStrategyItem:
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html), and container
dependencies (the scratch-volume init container) need 1.3.0 or later (API_ContainerDependency)."""
ARM64_SPOT_MINIMUM_PLATFORM = (1, 4, 0)
"""The lowest platform version on which FARGATE_SPOT runs ARM64 tasks (same source); the pack's floor."""

# --- database --------------------------------------------------------------------------------------------------------
STATIC_DB_PARAMETERS: tuple[str, ...] = (
    "shared_buffers", "max_connections", "wal_buffers", "shared_preload_libraries", "max_worker_processes",
    "max_wal_senders", "max_replication_slots", "max_locks_per_transaction", "track_activity_query_size",
    "max_prepared_transactions", "huge_pages",
)
"""PostgreSQL parameters that take effect only when the server restarts (context `postmaster`). RDS accepts only the
`pending-reboot` apply method for them, and a change waits for the next reboot of each instance using the group —
not the maintenance window: "You can use the immediate value with dynamic parameters only. You can use the
pending-reboot value for both dynamic and static parameters." and "When the application method is pending-reboot,
changes to dynamic and static parameters are applied after a reboot without failover to the DB instances associated
with the parameter group." (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBParameterGroup.html).
One list for the program (apply methods), the pack (rds-static-parameters-pending-reboot), the preview's reboot
notice and ops.reboot_notice."""

# --- app metrics (components/app_metrics.py) -------------------------------------------------------------------------
METRICS_COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
"""The ADOT collector sidecar image (AWS Distro for OpenTelemetry, release v0.49.0 of 2026-07-10, collector-contrib
v0.156.0). A release tag, never `latest`; pin a digest with the `metricsCollectorImage` setting where your policy
requires one."""
METRICS_COLLECTOR_USER = "4317:4317"
"""The ADOT image's own unprivileged user: `aoc`, uid/gid 4317 (cmd/awscollector/Dockerfile: `ARG USER_UID=4317` ...
`USER $USERNAME`, FROM scratch). The sidecar runs as it, never as root."""
METRICS_PATH = "/metrics"
"""Where the seed's prom-client registry is served (the Prometheus default), scraped on 127.0.0.1 only."""

# --- operations ------------------------------------------------------------------------------------------------------
BACKUP_METRIC_NAMESPACE = "Maratron/Backups"
"""CloudWatch namespace the backup job publishes to (and the only one its task role may put metrics in)."""
BACKUP_METRIC_NAME = "BackupSucceeded"
"""Metric the backup job puts (1 per verified upload); the missing-backup alarm watches it."""
KMS_ENCRYPTION_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
"""S3 default-encryption algorithms that count as KMS (SSE-KMS, dual-layer SSE-KMS)."""


def pack_constants() -> dict[str, Any]:
    """What the policy pack reads from its generated copy (policies/rules/shared-constants.json)."""
    return {
        "project": PROJECT,
        "environments": list(ENVIRONMENTS),
        "requiredTagKeys": list(REQUIRED_TAG_KEYS),
        "tlsPolicies": list(TLS_POLICIES),
        "hstsMaxAgeSeconds": HSTS_MAX_AGE_SECONDS,
        "kmsEncryptionAlgorithms": list(KMS_ENCRYPTION_ALGORITHMS),
        "wafManagedRuleGroups": list(WAF_MANAGED_RULE_GROUPS),
        "staticDbParameters": list(STATIC_DB_PARAMETERS),
        "arm64SpotMinimumPlatform": ".".join(map(str, ARM64_SPOT_MINIMUM_PLATFORM)),
        "nonRootUser": NON_ROOT_USER,
    }
