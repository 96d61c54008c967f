"""Customer-managed KMS keys, one per data domain.

Why per domain and not one per stack: a key policy can then name exactly the services that use that key (CloudWatch
Logs for `logs`; CloudWatch alarms, EventBridge and the Prometheus alert manager for `alerts`; RDS, ElastiCache and
Secrets Manager for `data`; S3, RDS snapshot exports and EventBridge Scheduler for `backups`), a grant on one domain
never opens another, and CloudTrail shows which domain a decrypt touched. Why not one per resource: every key costs
$1/month and its own policy to review; domains are the unit people reason about.

Each service statement is the one the service's documentation prescribes, and the policy pack checks them
(policies/rules/logging_kms_iam.py, kms-key-policy-service-principals and kms-key-serves-its-users):
- CloudWatch Logs: the regional principal `logs.<region>.amazonaws.com`, limited by the encryption context
  `kms:EncryptionContext:aws:logs:arn` (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
- SNS topic for alarms and EventBridge: `cloudwatch.amazonaws.com` and `events.amazonaws.com` need kms:Decrypt and
  kms:GenerateDataKey*; "Adding the aws:SourceAccount, aws:SourceArn, and aws:SourceOrgID to a AWS KMS policy is not
  supported for EventBridge-to-encrypted topics" (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html),
  so EventBridge gets its own statement without them — and, because that grant has no condition, its own key
  (`alerts`), which encrypts nothing but the alert topic. Confused-deputy protection for publishing stays on the
  topic policy (aws:SourceArn of this account's alarms and rules).
- The Prometheus (AMP) alert manager publishing to that topic: `aps.amazonaws.com` with kms:GenerateDataKey* and
  kms:Decrypt (https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-alertmanager-receiver-AMPpermission.html),
  on the `alerts` key through `alerts_key_statements` (AppMetrics.alert_topic_key_statement), limited to the topic by
  SNS's encryption context.
- RDS, ElastiCache, Secrets Manager, S3, ECR, EventBridge Scheduler and the Prometheus workspace (its data on the
  `logs` key) act with the caller's IAM permissions (delegated by the account statement) or grants they create with
  them: those keys need no service statement; the callers' roles carry the grants (the snapshot-export role, the
  scheduler role, the task roles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, RemovalPolicy, named_tags, policy_json, retains


@dataclass(frozen=True)
class EncryptionKeysArgs:
    """Inputs of EncryptionKeys."""

    context: AwsContext
    """Account, partition and region the keys live in."""
    alias_prefix: str
    """Aliases are `alias/<alias_prefix>-<domain>`, e.g. alias/maratron-prod-logs."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every key (Name is added per key)."""
    removal_policy: RemovalPolicy = "retain"
    """retain (default): Pulumi `protect` on every key, since deleting a key destroys every backup and snapshot it
    encrypts; destroy: keys may be deleted with the stack (still after the deletion window)."""
    deletion_window_days: int = 30
    """Days a scheduled key deletion waits (7-30); default 30, the maximum, so a mistake can be undone."""
    alerts_key_statements: Sequence[dict[str, Any]] = ()
    """More statements for the alerts key's policy: other services publishing to the encrypted alert topic (the
    metrics alert manager, AppMetrics.alert_topic_key_statement), each with a condition. Default none."""


class EncryptionKeys(pulumi.ComponentResource):
    """The stack's CMKs, with rotation on and key policies scoped to the account and the services that use them."""

    logs: aws.kms.Key
    """Telemetry: every CloudWatch log group (flow, container, RDS, Redis, WAF logs) and the metrics (Prometheus)
    workspace."""
    alerts: aws.kms.Key
    """The SNS alert topic only: CloudWatch alarms, EventBridge (without conditions) and the Prometheus alert manager
    publish to it."""
    data: aws.kms.Key
    """Data at rest: RDS storage and Performance Insights, ElastiCache, Secrets Manager secrets."""
    backups: aws.kms.Key
    """Backup archives: the S3 backups and WAL buckets (SSE-KMS with bucket keys)."""
    images: aws.kms.Key
    """Container images: the ECR repositories."""

    def __init__(self, name: str, args: EncryptionKeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:security:EncryptionKeys", name, None, opts)
        self._name = name
        self._args = args
        ctx = args.context
        self.logs = self._key(
            "logs",
            "CloudWatch Logs encryption for the stack's log groups",
            [{
                "Sid": "AllowCloudWatchLogs",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{ctx.region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": ctx.arn("logs", "log-group:*"),
                }},
            }],
        )
        self.alerts = self._key(
            "alerts",
            "SNS alert topic (CloudWatch alarms, EventBridge and the Prometheus alert manager publish to it)",
            [{
                "Sid": "CloudWatchAlarmsPublishToEncryptedTopic",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                              "ArnLike": {"aws:SourceArn": ctx.arn("cloudwatch", "alarm:*")}},
            }, {
                # No aws:Source* condition: not supported for EventBridge-to-encrypted topics (SNS developer guide).
                "Sid": "EventBridgePublishesToEncryptedTopic",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            }, *args.alerts_key_statements],
        )
        # RDS, ElastiCache, Secrets Manager, S3, ECR and Scheduler use a CMK through the caller's own IAM permissions
        # (delegated by the account statement) or grants made with them: no service principal statements. No Deny
        # statement either (an RDS snapshot export would then need export.rds.amazonaws.com excluded).
        self.data = self._key("data", "RDS, ElastiCache and Secrets Manager data at rest", [])
        self.backups = self._key("backups", "S3 backup and archive buckets, snapshot exports, the backup schedule", [])
        self.images = self._key("images", "ECR container images", [])
        self.register_outputs({name: key.arn for name, key in self.all().items()})

    def all(self) -> dict[str, aws.kms.Key]:
        """Domain -> key, for outputs and reviews."""
        return {"logs": self.logs, "data": self.data, "backups": self.backups, "images": self.images,
                "alerts": self.alerts}
    def _key(self, domain: str, description: str, service_statements: list[dict[str, Any]]) -> aws.kms.Key:
        """A rotating CMK whose policy lets the account's IAM decide, plus the given service statements."""
        ctx = self._args.context
        statements: list[dict[str, Any]] = [{
            # Delegates to IAM policies in this account; without it the key is unmanageable (AWS default policy).
            "Sid": "EnableIamPoliciesOfThisAccount",
            "Effect": "Allow",
            "Principal": {"AWS": ctx.account_root},
            "Action": "kms:*",
            "Resource": "*",
        }, *service_statements]
        key = aws.kms.Key(
            f"{self._name}-{domain}",
            description=f"{self._args.alias_prefix}: {description}",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=self._args.deletion_window_days,
            policy=policy_json(statements),
            tags=named_tags(self._args.tags, f"{self._args.alias_prefix}-{domain}"),
            opts=pulumi.ResourceOptions(parent=self, protect=retains(self._args.removal_policy)),
        )
        aws.kms.Alias(
            f"{self._name}-{domain}",
            name=f"alias/{self._args.alias_prefix}-{domain}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=key),
        )
        return key
