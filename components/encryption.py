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
- The Prometheus (AMP) alert manager and AWS Budgets publishing to that topic: `aps.amazonaws.com` and
  `budgets.amazonaws.com` with kms:GenerateDataKey* and kms:Decrypt
  (https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-alertmanager-receiver-AMPpermission.html), on the
  `alerts` key through `alerts_key_statements` (StackConfig.alerts_key_statements;
  observability.encrypted_topic_key_statement), limited to the topic by SNS's encryption context.
- RDS, ElastiCache, Secrets Manager, S3, EventBridge Scheduler and the Prometheus workspace (its data on the
  `logs` key) act with the caller's IAM permissions (delegated by the account statement) or grants they create with
  them: those keys need no service statement; the callers' roles carry the grants (the snapshot-export role, the
  scheduler role, the task roles).
- Behind a CDN: CloudWatch vended-log delivery (`delivery.logs.amazonaws.com`) writes CloudFront's access logs into
  their SSE-KMS bucket under `logs`, limited to this account's us-east-1 delivery sources. A stack outside us-east-1
  also gets `edge` there (a key encrypts only in its own Region) for the CLOUDFRONT web ACL's log group and the twin
  alert topic of the us-east-1 alarms: CloudWatch Logs and alarms, both under their Source/context conditions, and no
  EventBridge (nothing publishes to that topic through EventBridge), so log data never sits under an unconditioned
  grant.

One function makes every key of the project: `customer_managed_key()` (the DR copy's key in the DR region comes from
it too, in components/disaster_recovery.py). `EncryptionKeys.all()` — the `kmsKeyArns` output — lists this stack's
keys in an append-only order: logs, data, backups, alerts, then edge when it is a key of its own. The DR key
is not among them: it encrypts only the DR copy, in another region, and has its own output (`drKmsKeyArn`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import RETAIN, AwsContext, RemovalPolicy, named_tags, policy_json, retains
from components.constants import EDGE_REGION


@dataclass(frozen=True)
class EncryptionKeysArgs:
    """Inputs of EncryptionKeys."""

    context: AwsContext
    """Account, partition and region the keys live in."""
    alias_prefix: str
    """Aliases are `alias/<alias_prefix>-<domain>`, e.g. alias/maratron-prod-logs."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every key (Name is added per key)."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): Pulumi `protect` on every key, since deleting a key destroys every backup and snapshot it
    encrypts; destroy: keys may be deleted with the stack (still after the deletion window)."""
    deletion_window_days: int = 30
    """Days a scheduled key deletion waits (7-30); default 30, the maximum, so a mistake can be undone."""
    cdn: bool = False
    """A CloudFront distribution fronts the stack (default false). Then the logs key also admits CloudWatch vended-log
    delivery of the distribution's access logs into their SSE-KMS bucket, and, when the stack is not in us-east-1,
    `edge` is an extra key there (CloudFront's WAF logs and the us-east-1 alarms' topic must live in us-east-1)."""
    alerts_key_statements: Sequence[dict[str, Any]] = ()
    """More statements for the alerts key's policy: other services publishing to the encrypted alert topic (the
    metrics alert manager, Budgets: observability.encrypted_topic_key_statement), each with a condition. Default
    none."""
    data_key_statements: Sequence[dict[str, Any]] = ()
    """More statements for the data key's policy: services that encrypt with it by themselves (Fargate, for the
    ephemeral storage of the cluster's tasks: Cluster.storage_key_statements), each with a condition. Default none."""


class EncryptionKeys(pulumi.ComponentResource):
    """The stack's CMKs, with rotation on and key policies scoped to the account and the services that use them."""

    logs: aws.kms.Key
    """Telemetry: every CloudWatch log group (flow, container, RDS, Redis, a REGIONAL web ACL's logs), the CDN's
    access-log bucket and the metrics (Prometheus) workspace."""
    alerts: aws.kms.Key
    """The SNS alert topic only: CloudWatch alarms, EventBridge (without conditions) and the Prometheus alert manager
    publish to it."""
    data: aws.kms.Key
    """Data at rest: RDS storage and Performance Insights, ElastiCache, Secrets Manager secrets, and the Fargate tasks'
    ephemeral storage (with data_key_statements)."""
    backups: aws.kms.Key
    """Backup archives: the S3 backups and WAL buckets (SSE-KMS with bucket keys). (Container images are the
    foundation's: its repositories have their own key, components/image_registry.py.)"""
    edge: aws.kms.Key
    """Telemetry of the CDN's us-east-1 parts (the CLOUDFRONT web ACL's log group, the twin alert topic): `logs` itself
    when the stack is in us-east-1 (whose alarms then use the one `alerts` topic), else a key of its own there (a key
    encrypts only in its own Region)."""

    def __init__(self, name: str, args: EncryptionKeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:security:EncryptionKeys", name, None, opts)
        self._name = name
        self._args = args
        ctx = args.context
        self.logs = self._key(
            "logs", "CloudWatch Logs encryption for the stack's log groups",
            [self._logs_statement(ctx.region), *(self._vended_log_delivery() if args.cdn else [])])
        self.alerts = self._key(
            "alerts", "SNS alert topic (CloudWatch alarms, EventBridge and the Prometheus alert manager publish to it)",
            [self._alarms_statement(ctx.region), {
                # No aws:Source* condition: not supported for EventBridge-to-encrypted topics (SNS developer guide).
                "Sid": "EventBridgePublishesToEncryptedTopic",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            }, *args.alerts_key_statements])
        # RDS, ElastiCache, Secrets Manager, S3 and Scheduler use a CMK through the caller's own IAM permissions
        # (delegated by the account statement) or grants made with them: no service principal statements (Fargate's
        # ephemeral storage does need its own, data_key_statements). No Deny statement either (an RDS snapshot export
        # would then need export.rds.amazonaws.com excluded).
        self.data = self._key("data", "RDS, ElastiCache and Secrets Manager data at rest, the tasks' ephemeral "
                              "storage", list(args.data_key_statements))
        self.backups = self._key("backups", "S3 backup and archive buckets, snapshot exports, the backup schedule", [])
        self.edge = self.logs
        if args.cdn and ctx.region != EDGE_REGION:
            # Only alarms publish to the us-east-1 twin topic (no EventBridge rule there): every service grant of this
            # key keeps its condition, so the WAF log group may share it (kms-key-serves-its-users).
            self.edge = self._key("edge", f"CloudFront telemetry in {EDGE_REGION} (WAF logs, edge alarm topic)",
                                  [self._logs_statement(EDGE_REGION), self._alarms_statement(EDGE_REGION)],
                                  region=EDGE_REGION)
        self.register_outputs({name: key.arn for name, key in self.all().items()})

    def all(self) -> dict[str, aws.kms.Key]:
        """Domain -> key, for outputs and reviews (edge only when it is a key of its own)."""
        keys = {"logs": self.logs, "data": self.data, "backups": self.backups, "alerts": self.alerts}
        return keys if self.edge is self.logs else {**keys, "edge": self.edge}

    def _logs_statement(self, region: str) -> dict[str, Any]:
        """CloudWatch Logs of `region` may use the key for this account's log groups there."""
        ctx = self._args.context
        return {
            "Sid": "AllowCloudWatchLogs",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {"ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": f"arn:{ctx.partition}:logs:{region}:{ctx.account_id}:log-group:*",
            }},
        }

    def _alarms_statement(self, region: str) -> dict[str, Any]:
        """This account's CloudWatch alarms in `region` may publish to a topic the key encrypts."""
        ctx = self._args.context
        return {
            "Sid": "CloudWatchAlarmsPublishToEncryptedTopic",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                          "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:cloudwatch:{region}:{ctx.account_id}:"
                                                       "alarm:*"}},
        }

    def _vended_log_delivery(self) -> list[dict[str, Any]]:
        """CloudFront's standard logs (v2) reach their SSE-KMS bucket through CloudWatch vended-log delivery: "If the
        bucket has server-side encryption using a customer managed AWS KMS key, you must also add the key policy"
        (CloudWatch Logs user guide, AWS-logs-infrastructure-V2-S3), for delivery.logs.amazonaws.com, scoped to this
        account's delivery sources in us-east-1 (where CloudFront's are)."""
        ctx = self._args.context
        return [{
            "Sid": "AllowVendedLogDeliveryOfCdnAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:logs:{EDGE_REGION}:{ctx.account_id}:"
                                             "delivery-source:*"},
            },
        }]

    def _key(self, domain: str, description: str, service_statements: list[dict[str, Any]],
             region: str | None = None) -> aws.kms.Key:
        args = self._args
        return customer_managed_key(
            f"{self._name}-{domain}", context=args.context, alias=f"{args.alias_prefix}-{domain}",
            description=f"{args.alias_prefix}: {description}", statements=service_statements,
            region=region, removal_policy=args.removal_policy, deletion_window_days=args.deletion_window_days,
            tags=args.tags, parent=self)


def customer_managed_key(logical_name: str, *, context: AwsContext, alias: str, description: str,
                         parent: pulumi.Resource, statements: Sequence[dict[str, Any]] = (),
                         region: str | None = None, removal_policy: RemovalPolicy = RETAIN,
                         deletion_window_days: int = 30, tags: Mapping[str, str] | None = None,
                         multi_region: bool = False, replica_region: str | None = None) -> aws.kms.Key:
    """A rotating CMK whose policy lets the account's IAM decide, plus `statements` (service or cross-account
    grants), and its alias `alias/<alias>`: every key of the project is made here (the stack's domain keys, the DR
    copy's key, the bootstrap's state, stack-secrets and image keys).

    `region` manages the key in another region than the provider's (pulumi-aws v7's per-resource `region`), e.g.
    the DR region's key; its alias goes with it. `removal_policy` retain protects the key: deleting it destroys
    every backup and snapshot it encrypts. `multi_region` makes it a multi-Region key, which can only be chosen at
    creation ("The multi-Region property ... is immutable", and the provider's multi_region is ForceNew): set it
    whenever a replica may ever be wanted, not only once one is. `replica_region` (with multi_region) adds a replica
    (same key material, policy and alias) there: what it encrypted can be decrypted in that region while this one is
    down ("decrypt it in a different AWS Region without ... making a cross-Region call", multi-Region keys overview).
    """
    policy: list[dict[str, Any]] = [{
        # Delegates to IAM policies in this account; without it the key is unmanageable (AWS default policy).
        "Sid": "EnableIamPoliciesOfThisAccount",
        "Effect": "Allow",
        "Principal": {"AWS": context.account_root},
        "Action": "kms:*",
        "Resource": "*",
    }, *statements]
    key = aws.kms.Key(
        logical_name,
        description=description,
        enable_key_rotation=True,
        rotation_period_in_days=365,
        deletion_window_in_days=deletion_window_days,
        policy=policy_json(policy),
        region=region,
        multi_region=True if multi_region else None,
        tags=named_tags(dict(tags or {}), alias),
        opts=pulumi.ResourceOptions(parent=parent, protect=retains(removal_policy)),
    )
    aws.kms.Alias(
        logical_name,
        name=f"alias/{alias}",
        target_key_id=key.key_id,
        region=region,
        opts=pulumi.ResourceOptions(parent=key),
    )
    if replica_region:
        if not multi_region:
            raise ValueError(f"customer_managed_key {logical_name}: a replica needs multi_region=True")
        # A replica has its own policy (ReplicateKey's Policy; it is not copied) and alias; rotation is the primary's.
        replica = aws.kms.ReplicaKey(
            f"{logical_name}-replica",
            primary_key_arn=key.arn,
            description=description,
            deletion_window_in_days=deletion_window_days,
            policy=policy_json(policy),
            region=replica_region,
            tags=named_tags(dict(tags or {}), alias),
            opts=pulumi.ResourceOptions(parent=key, protect=retains(removal_policy)),
        )
        aws.kms.Alias(
            f"{logical_name}-replica",
            name=f"alias/{alias}",
            target_key_id=replica.key_id,
            region=replica_region,
            opts=pulumi.ResourceOptions(parent=replica),
        )
    return key
