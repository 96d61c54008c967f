"""Customer-managed KMS keys, one per data domain.

Why per domain and not one per stack: a key policy can then name exactly the services that use that key (CloudWatch
Logs for `logs`; RDS, ElastiCache and Secrets Manager for `data`; S3 for `backups`), a grant on one domain never
opens another, and CloudTrail shows which domain a decrypt touched. Why not one per resource: every key costs
$1/month and its own policy to review; domains are the unit people reason about.
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
    logs_key_statements: Sequence[dict[str, Any]] = ()
    """More statements for the logs key's policy, for services the stack adds that use it on their own (e.g. the
    metrics alert manager publishing to the encrypted alert topic, AppMetrics.alert_topic_key_statement). Default
    none."""


class EncryptionKeys(pulumi.ComponentResource):
    """The stack's CMKs, with rotation on and key policies scoped to the account and the services that use them."""

    logs: aws.kms.Key
    """Telemetry: every CloudWatch log group (flow, container, Redis, WAF logs), the SNS alert topic and the metrics
    (Prometheus) workspace."""
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
            }, {
                # CloudWatch alarms and EventBridge publish to the alert topic, which this key encrypts.
                "Sid": "AllowAlarmPublishingToEncryptedTopic",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}},
            }, *args.logs_key_statements],
        )
        # RDS, ElastiCache, Secrets Manager, S3 and ECR use a CMK through grants made with the caller's own IAM
        # permissions (delegated by the account statement), so these keys need no service principal statements.
        self.data = self._key("data", "RDS, ElastiCache and Secrets Manager data at rest", [])
        self.backups = self._key("backups", "S3 backup and WAL archives", [])
        self.images = self._key("images", "ECR container images", [])
        self.register_outputs({name: key.arn for name, key in self.all().items()})

    def all(self) -> dict[str, aws.kms.Key]:
        """Domain -> key, for outputs and reviews."""
        return {"logs": self.logs, "data": self.data, "backups": self.backups, "images": self.images}
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
