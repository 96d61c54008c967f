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
HSTS_MAX_AGE_SECONDS = 31_536_000
"""Strict-Transport-Security max-age the ALB sends (one year, the preload list's minimum); the pack's floor."""

# --- app -------------------------------------------------------------------------------------------------------------
WEB_PORT = 3000
"""Port the Next.js web tasks listen on (the seed's 3000): target group, container port, PORT."""
HEALTH_CHECK_PATH = "/api/health"
"""The seed's health endpoint: ALB target group, container health checks, `ops.verify --http`."""
NON_ROOT_USER = "1001:1001"
"""The seed's Dockerfile user (nextjs, uid 1001, group nodejs gid 1001); every app container runs as it."""

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
    }
