"""Facts shared across layers: the program, the policy pack and the post-deploy verifier read them from here.

Pure Python (no Pulumi import), so `ops/verify.py` can use it as is. The policy pack must stay self-contained (the
engine runs it with cwd=policies/, and it may be published with `pulumi policy publish`), so it reads a generated
copy, `policies/rules/shared-constants.json`, written by `make docs` from `pack_constants()`; a test keeps the copy
current and checks that config, pack and verifier accept exactly the same TLS policies.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

PROJECT = "maratron"
"""Pulumi project name: the config namespace (`maratron:<key>`), the `project` tag, resource type tokens."""
BOOTSTRAP_PROJECT = f"{PROJECT}-bootstrap"
"""The account foundation's Pulumi project (bootstrap/): state backend, CI roles, image repositories."""
ENVIRONMENTS = ("dev", "staging", "prod")
"""Environment profiles. Production rules apply to `prod`."""
REQUIRED_TAG_KEYS = ("project", "environment", "owner", "cost-center")
"""Tags every taggable resource carries (the program sets them, the pack's required-tags rule checks them)."""
LOG_RETENTION_DAYS = 365
"""Default retention of every log the stack keeps (CloudWatch groups, access logs), in days: the `logRetentionDays`
setting's default and every component's, one year (CKV_AWS_338)."""

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
TLS13_ONLY_POLICIES: tuple[str, ...] = tuple(p for p in TLS_POLICIES if "-TLS13-1-3-" in p)
"""The listener policies without TLS 1.2. CloudFront reaches a custom origin with TLS 1.2 at most (OriginSslProtocols:
"SSLv3 | TLSv1 | TLSv1.1 | TLSv1.2", https://docs.aws.amazon.com/cloudfront/latest/APIReference/
API_OriginSslProtocols.html; the origin ciphers are TLS 1.2 suites), so behind the CDN they fail every handshake
(502)."""
DEFAULT_TLS_POLICY = TLS_POLICIES[0]
WAF_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)
"""AWS managed rule groups every web ACL runs (components/waf.py deploys them; the pack's waf-managed-rule-groups
rule requires them): reputation, OWASP common, known bad inputs (Log4Shell), SQL injection."""
WAF_COUNT_OVERRIDES: dict[str, tuple[str, ...]] = {"AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",)}
"""The managed groups' rules that only count (components/waf.py sets them; the pack refuses any other count or allow
override): SizeRestrictions_BODY blocks bodies over 8 KB, and a chat request carries the conversation so far and
passes that quickly. The app bounds request bodies itself (Next.js API body limit)."""
HSTS_MAX_AGE_SECONDS = 31_536_000
"""Strict-Transport-Security max-age the edge sends (one year, the preload list's minimum); the pack's floor."""

# The seed's security headers (next.config.js `securityHeaders`), one definition each. The ALB listener sets the four
# it can (HSTS, CSP, X-Frame-Options, X-Content-Type-Options) in every mode; with the CDN on, CloudFront's response
# headers policy sets all six with the same values (and overrides the origin's), adding the two no ALB attribute
# exists for. Without the CDN those two stay the app's job (next.config.js), as before.
HSTS_HEADER = f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains; preload"
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data: https:; font-src 'self' data:;")
"""The seed's Content-Security-Policy, verbatim."""
FRAME_OPTIONS = "DENY"
CONTENT_TYPE_OPTIONS = "nosniff"
REFERRER_POLICY = "strict-origin-when-cross-origin"
XSS_PROTECTION = "1; mode=block"

# --- CDN (CloudFront) -----------------------------------------------------------------------------------------------
EDGE_REGION = "us-east-1"
"""Where CloudFront's regional parts live whatever the stack's region: its ACM certificate ("request (or import) the
certificate in the US East (N. Virginia) Region", CloudFront developer guide, cnames-and-https-requirements), a
CLOUDFRONT-scope web ACL and its logging (AWS WAF developer guide, how-aws-waf-works-resources), its CloudWatch
metrics ("you must use the US East (N. Virginia) Region", programming-cloudwatch-metrics) and its log delivery."""
CLOUDFRONT_TLS_POLICIES: tuple[str, ...] = ("TLSv1.2_2025", "TLSv1.3_2025", "TLSv1.2_2021")
"""Viewer security policies we accept (CloudFront developer guide, secure-connections-supported-viewer-protocols-
ciphers): TLS 1.2+ only. The first is the default: AEAD-only TLS 1.2 ciphers plus TLS 1.3, AWS's recommendation when
TLS 1.2 clients must still be served (TLSv1.3_2025 drops them)."""
DEFAULT_CLOUDFRONT_TLS_POLICY = CLOUDFRONT_TLS_POLICIES[0]
ORIGIN_SSL_PROTOCOLS: tuple[str, ...] = ("TLSv1.2",)
"""What CloudFront may speak to the ALB (the ALB's own policy offers nothing older; cdk-nag CFR5, CKV2_AWS_54)."""
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
"""The secret header CloudFront adds to every origin request and the ALB requires (components/load_balancer.py)."""
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
"""The AWS-managed prefix list of CloudFront's origin-facing addresses (IPv4); its id differs per Region."""
CLOUDFRONT_PREFIX_LIST_WEIGHT = 55
"""Security-group rules one reference to it costs: "Weight: 55" (VPC user guide, working-with-aws-managed-prefix-lists;
a referenced prefix list "counts as" its maximum entries, amazon-vpc-limits). ops.verify re-reads MaxEntries."""
SECURITY_GROUP_RULES_QUOTA = 60
"""Default "Inbound or outbound rules per security group" (VPC user guide, amazon-vpc-limits)."""
CLOUDFRONT_HOSTED_ZONE_ID = "Z2FDTNDATAQYW2"
"""The hosted zone of every CloudFront alias target (Route 53 API reference, AliasTarget)."""
CACHE_POLICY_CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHE_POLICY_CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ORIGIN_REQUEST_POLICY_ALL_VIEWER_AND_CLOUDFRONT_HEADERS = "33f36d7e-f396-46d9-90e0-52428a34d9dc"
ORIGIN_REQUEST_POLICY_HOST_HEADER_ONLY = "bf0718e1-ba1e-49d1-88b1-f726733018ae"
MANAGED_CLOUDFRONT_POLICIES: dict[str, tuple[str, str]] = {
    CACHE_POLICY_CACHING_OPTIMIZED: ("cache", "Managed-CachingOptimized"),
    CACHE_POLICY_CACHING_DISABLED: ("cache", "Managed-CachingDisabled"),
    ORIGIN_REQUEST_POLICY_ALL_VIEWER_AND_CLOUDFRONT_HEADERS: ("origin-request",
                                                              "Managed-AllViewerAndCloudFrontHeaders-2022-06"),
    ORIGIN_REQUEST_POLICY_HOST_HEADER_ONLY: ("origin-request", "Managed-HostHeaderOnly"),
}
"""AWS-managed policy ids the distribution names (CloudFront developer guide, using-managed-cache-policies and
using-managed-origin-request-policies), no lookup at preview: ops.verify checks each id still has this name."""
COOKIE_FORWARDING_ORIGIN_REQUEST_POLICIES = frozenset({
    ORIGIN_REQUEST_POLICY_ALL_VIEWER_AND_CLOUDFRONT_HEADERS,
    "216adef6-5c7f-47e4-b989-5492eafa07d3",  # Managed-AllViewer
    "b689b0a8-53d0-40ab-baf2-68738e2966ac",  # Managed-AllViewerExceptHostHeader
})
"""Managed origin request policies that forward every cookie: never on a cached behavior (the pack checks)."""
PRIVATE_PATHS: tuple[str, ...] = ("/metrics", "/metrics/*", "/api/metrics", "/api/metrics/*")
"""Paths the public edge refuses (404) in every mode: the app's Prometheus metrics are scraped inside the task, never
through the load balancer. ALB path patterns are case-sensitive, like Next.js routes."""

# --- app -------------------------------------------------------------------------------------------------------------
WEB_PORT = 3000
"""Port the Next.js web tasks listen on (the seed's 3000): target group, container port, PORT."""
HEALTH_CHECK_PATH = "/api/health"
"""The seed's health endpoint: ALB target group, container health checks, `ops.verify --http`."""
HEALTHY_BELOW = 400
"""A health check passes on a status below this (2xx and 3xx): the container probes (`status < 400`) and the ALB
target group (matcher `HEALTHY_STATUS_CODES`) agree, so no task is healthy to one and replaced by the other (an ALB
matcher takes 200-499, default 200: https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/
API_Matcher.html)."""
HEALTHY_STATUS_CODES = f"200-{HEALTHY_BELOW - 1}"
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

# --- S3 bucket policy condition keys (https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html)
S3_TLS_VERSION_KEY = "s3:TlsVersion"
"""The TLS version of the request: every bucket policy denies below 1.2."""
S3_SSE_KEY = "s3:x-amz-server-side-encryption"
"""The encryption an upload asks for (`aws:kms`, `AES256`); absent when it asks for none (the bucket default)."""
S3_SSE_KMS_KEY_ID_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"
"""The KMS key an SSE-KMS upload names; absent when it names none."""
S3_SSE_C_KEY = "s3:x-amz-server-side-encryption-customer-algorithm"
"""Present on an SSE-C upload (a customer-provided key): every bucket policy denies it."""

# --- foundation (bootstrap/) ------------------------------------------------------------------------------------------
IMAGE_SERVICES = ("web", "ai", "backup")
"""The images the app stack runs, one ECR repository each (`<project>/<service>`), owned by the bootstrap stack."""
BACKUP_IMAGE_CONTEXT = "ops/backup"
"""The backup image's Docker build context in this repository: the images workflow builds it into the foundation's
repository (then `backupImage` names the digest), or `pulumi up` does (`backupBuildContext`). Either way its
Dockerfile is ours, so its VOLUME lines are checked and the backup tasks need no root `chown` init container."""
DEPLOYED_TAG_PREFIX = "deployed-"
"""Every deploy tags the images it runs `deployed-<environment>-<run>` right after `pulumi up`; the repositories'
lifecycle never expires an image carrying such a tag (components/image_registry.py)."""
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
"""GitHub Actions' OIDC issuer (GitHub docs, "Configuring OpenID Connect in Amazon Web Services": provider URL
https://token.actions.githubusercontent.com)."""
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
"""The audience aws-actions/configure-aws-credentials requests (same GitHub page: "Use sts.amazonaws.com")."""
ROLE_PATH_PREFIX = f"/{PROJECT}/"
"""Every IAM role of ours lives under this path: CI roles under /maratron/ci/, an environment's workload roles under
/maratron/<environment>/ (the deploy role may create roles only there, with the workload permissions boundary)."""
CI_ROLE_PATH = f"{ROLE_PATH_PREFIX}ci/"


def workload_role_path(environment: str) -> str:
    """/maratron/<environment>/: where an app stack's roles live."""
    return f"{ROLE_PATH_PREFIX}{environment}/"


LAMBDA_VPC_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                      "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
                      "ec2:UnassignPrivateIpAddresses")
"""What a function in a VPC needs to manage its network interfaces, on "*" (no resource-level scope): the EC2 actions
of AWS's "minimum permissions" policy AWSLambdaVPCAccessExecutionRole (v3, 2024-01-05, which added
ec2:DescribeSubnets; https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html).
The rotation functions' roles and the workload boundary both use it."""
ECS_EXEC_ACTIONS = ("ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel")
"""What a task role needs for ECS Exec, on "*" (the SSM message channels have no resource ARNs): "the ECS task role
needs to have the permissions ... ssmmessages:CreateControlChannel, ssmmessages:CreateDataChannel,
ssmmessages:OpenControlChannel, ssmmessages:OpenDataChannel" (ECS developer guide, ECS Exec, IAM permissions).
FargateTask's `enable_execute_command` and the workload boundary both use it."""

DR_STACK = "dr"
"""The app stack that restores prod in its DR region (Pulumi.dr.yaml): environment prod, its names maratron-dr-*."""


def environment_stacks(environment: str, *, dr: bool) -> tuple[str, ...]:
    """The app stacks of an environment, whose state its CI roles write and whose resource names (maratron-<stack>-*,
    maratron-<stack>/*: stack_config's name_prefix) its deploy role and workload boundary cover: the stack named
    after the environment and, for an environment with DR (the foundation's drEnvironments), its DR stack - `dr`
    for prod (Pulumi.dr.yaml), `<environment>-dr` for another. Its roles sit under the environment's path either
    way (workload_role_path)."""
    if not dr:
        return (environment,)
    return (environment, DR_STACK if environment == "prod" else f"{environment}-dr")

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
def ops_metric_namespace(name_prefix: str, job: str) -> str:
    """The CloudWatch namespace one stack's scheduled job publishes to: `<name prefix>/<job>`, e.g.
    `maratron-prod/backup`, and the only one that job's task role may put metrics in. PutMetricData has no resource
    type; its only scope is the `cloudwatch:namespace` condition key
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html), so a
    namespace shared by stacks or jobs would let one stack's job (dev's backup task) publish another's success
    metric (prod's BackupSucceeded, the drill's) and keep its missing-metric alarm quiet. A custom namespace may not
    begin with `AWS/` (PutMetricData API)."""
    return f"{name_prefix}/{job}"


LEGACY_METRIC_NAMESPACE = "Maratron/Backups"
"""The namespace every stack's backup job and drill shared before contract 2.3.0 (docs/aws-runtime-review.md Z41).
The workload boundaries still admit it for one release: the foundation is applied before the app stacks, and an app
stack not yet released still publishes there; remove it once every app stack runs 2.3.0 or later (until then a
role of one environment can publish there, which no alarm of a released stack reads)."""
BACKUP_JOB = "backup"
"""The backup job's part of its metric namespace (ops_metric_namespace)."""
RESTORE_DRILL_JOB = "restore-drill"
"""The restore drill's part of its metric namespace (ops_metric_namespace)."""
BACKUP_METRIC_NAME = "BackupSucceeded"
"""Metric the backup job puts (1 per verified upload); the missing-backup alarm watches it."""
RESTORE_DRILL_METRIC_NAME = "RestoreDrillSucceeded"
"""Metric the restore drill puts (1 per passed drill, in its own namespace); the missing-drill alarm watches it."""
DUMP_AGE_METRIC_NAME = "ReplicatedDumpAgeHours"
"""Age of the newest dump in the DR region, put by every drill run: the stale-DR-copy alarm watches it."""
RESTORE_DRILL_COMMAND = "restore_drill.sh"
"""The backup image's drill entry point: the restore drill's container command, and how the policy pack recognises
the drill's task definition."""
KMS_ENCRYPTION_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
"""S3 default-encryption algorithms that count as KMS (SSE-KMS, dual-layer SSE-KMS)."""

# --- credentials ------------------------------------------------------------------------------------------------------
CREDENTIAL_TAG = "maratron:secret-kind"
"""Tag on every Secrets Manager secret saying what kind of credential it holds (the pack's rotation rules read it)."""


class Credential(StrEnum):
    """Values of CREDENTIAL_TAG."""

    DATABASE_MASTER = "database-master"
    """The RDS master: rotated; readable only by the db-admin function and operators."""
    DATABASE_CONNECTION = "database-connection"
    """A login the app, the migration or the backup reads (JSON with `url`): rotated."""
    DATABASE_LOGIN = "database-login"
    """One user of an alternating pair, as RDS Proxy reads it: written by its connection secret's rotation."""
    REDIS_USER = "redis-user"
    """The Redis RBAC user: rotated."""
    MANUAL = "manual"
    """Rotated by a person with the runbook (third-party keys; NEXTAUTH_SECRET signs every session)."""


ROTATION_EXEMPT = (Credential.DATABASE_LOGIN, Credential.MANUAL)
"""Credential kinds that carry no rotation schedule of their own (docs/runbooks/secret-rotation.md says why)."""
MAX_ROTATION_DAYS = 30
"""Longest rotation period allowed in prod (the issue's "prod <= 30 days"): config rule, pack rule, verify."""
ALB_RULE_VALUES_PER_CONDITION = 3
ALB_RULE_VALUES_PER_RULE = 5
"""ELB's limits on a listener rule: "You can specify up to three match evaluations per condition ... up to five match
evaluations per rule" (ELB user guide, rule-condition-types). The load balancer splits its rules by them; the pack
refuses a rule over them."""

SPOT_INTERRUPTION_NOTICE_SECONDS = 120
"""A Fargate Spot task gets two minutes between the interruption notice (SIGTERM) and its end. A task behind a load
balancer may stay registered until it is STOPPED, so AWS asks for a deregistration delay below it: "you must set the
deregistration delay for all target groups associated with FARGATE_SPOT to a value less than two minutes"
(https://repost.aws/knowledge-center/fargate-spot-termination-notice). The load balancer caps its
drain below it when the web tasks run on Spot; the pack refuses a Spot service behind a slower target group."""
SPOT_DRAIN_SECONDS = SPOT_INTERRUPTION_NOTICE_SECONDS - 10
"""The drain of targets on Fargate Spot: below the two-minute notice, with ten seconds for the deregistration call."""

AMP_QUERY_ACTIONS = ("aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata")
"""AMP's Prometheus-compatible read APIs (what a Grafana data source calls)."""
AMP_ALERT_ACTIONS = ("aps:ListRules", "aps:ListAlertManagerSilences", "aps:ListAlertManagerAlerts",
                     "aps:GetAlertManagerStatus", "aps:ListAlertManagerAlertGroups", "aps:PutAlertManagerSilences",
                     "aps:DeleteAlertManagerSilence")
"""What Grafana needs to show AMP's rules and alerts and to silence them: "Amazon Managed Grafana must have the
following permissions" (https://docs.aws.amazon.com/grafana/latest/userguide/amp-configure-alerts.html)."""

KMS_KEY_ARN = r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):key/(?:mrk-[0-9a-f]{32}|[0-9a-f-]{36})$"
"""A KMS key ARN: a single-Region key's id is a UUID, a multi-Region key's `mrk-` and 32 hex digits ("Multi-Region
key IDs begin with mrk-", https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html).
Config (dbRestoreKmsKeyArn) and the pack's recovery rule read this one pattern."""


def pack_constants() -> dict[str, Any]:
    """What the policy pack reads from its generated copy (policies/rules/shared-constants.json)."""
    return {
        "project": PROJECT,
        "logRetentionDays": LOG_RETENTION_DAYS,
        "s3ConditionKeys": {"tlsVersion": S3_TLS_VERSION_KEY, "sse": S3_SSE_KEY, "sseKmsKeyId": S3_SSE_KMS_KEY_ID_KEY,
                            "sseC": S3_SSE_C_KEY},
        "albRuleValues": {"perCondition": ALB_RULE_VALUES_PER_CONDITION, "perRule": ALB_RULE_VALUES_PER_RULE},
        "environments": list(ENVIRONMENTS),
        "requiredTagKeys": list(REQUIRED_TAG_KEYS),
        "tlsPolicies": list(TLS_POLICIES),
        "hstsMaxAgeSeconds": HSTS_MAX_AGE_SECONDS,
        "securityHeaders": {"contentSecurityPolicy": CONTENT_SECURITY_POLICY, "frameOptions": FRAME_OPTIONS,
                            "referrerPolicy": REFERRER_POLICY},
        "cloudfrontTlsPolicies": list(CLOUDFRONT_TLS_POLICIES),
        "originSslProtocols": list(ORIGIN_SSL_PROTOCOLS),
        "originVerifyHeader": ORIGIN_VERIFY_HEADER,
        "cachePolicyCachingDisabled": CACHE_POLICY_CACHING_DISABLED,
        "cookieForwardingOriginRequestPolicies": sorted(COOKIE_FORWARDING_ORIGIN_REQUEST_POLICIES),
        "kmsEncryptionAlgorithms": list(KMS_ENCRYPTION_ALGORITHMS),
        "wafManagedRuleGroups": list(WAF_MANAGED_RULE_GROUPS),
        "wafCountOverrides": {group: list(rules) for group, rules in WAF_COUNT_OVERRIDES.items()},
        "staticDbParameters": list(STATIC_DB_PARAMETERS),
        "arm64SpotMinimumPlatform": ".".join(map(str, ARM64_SPOT_MINIMUM_PLATFORM)),
        "nonRootUser": NON_ROOT_USER,
        "bootstrapProject": BOOTSTRAP_PROJECT,
        "githubOidcHost": GITHUB_OIDC_HOST,
        "githubOidcAudience": GITHUB_OIDC_AUDIENCE,
        "rolePathPrefix": ROLE_PATH_PREFIX,
        "ciRolePath": CI_ROLE_PATH,
        "deployedTagPrefix": DEPLOYED_TAG_PREFIX,
        "credentialTag": CREDENTIAL_TAG,
        "credentialKinds": [kind.value for kind in Credential],
        "rotationExempt": [kind.value for kind in ROTATION_EXEMPT],
        "maxRotationDays": MAX_ROTATION_DAYS,
        "databaseMaster": Credential.DATABASE_MASTER.value,
        "restoreDrillCommand": RESTORE_DRILL_COMMAND,
        "privatePaths": list(PRIVATE_PATHS),
        "kmsKeyArnPattern": KMS_KEY_ARN,
        "spotInterruptionNoticeSeconds": SPOT_INTERRUPTION_NOTICE_SECONDS,
    }
