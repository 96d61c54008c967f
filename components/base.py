"""Small pieces every component shares: the AWS account context, tagging and JSON policy helpers."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

RemovalPolicy = Literal["retain", "destroy"]
"""What deleting or replacing a component's stateful resources may do, after CDK's RemovalPolicy.

`retain`, every component's default: Pulumi `protect` on what holds data (KMS keys, the database primary, the
Redis group, buckets, the ALB), RDS deletion protection with a final snapshot and its automated backups kept, a final
Redis snapshot, buckets retained on delete and never force-emptied, repositories never force-deleted while they
hold images, and a 30-day recovery window on every secret. `destroy` drops all of that, for a stack whose data is
disposable; it is always an explicit choice (dev's `maratron:removalPolicy: destroy`), never a derived one.
"""
SECRET_RECOVERY_WINDOW_DAYS = 30
"""Days a deleted secret stays recoverable under `retain` (the Secrets Manager maximum); 0 under `destroy`."""


def retains(policy: RemovalPolicy) -> bool:
    """True for `retain`: keep the data (see RemovalPolicy)."""
    return policy == "retain"


@dataclass(frozen=True)
class AwsContext:
    """Where the stack deploys: looked up once, handed to every component that writes ARNs or policies."""

    account_id: str
    partition: str
    region: str

    @staticmethod
    def lookup(region: str) -> AwsContext:
        """One invoke for the account id; the partition follows from the region name (no second round trip)."""
        identity = aws.get_caller_identity()
        return AwsContext(account_id=identity.account_id, partition=partition_of(region), region=region)

    @property
    def account_root(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def service_principal(self, service: str) -> str:
        return f"{service}.amazonaws.com"


@dataclass(frozen=True)
class SecretRef:
    """A Secrets Manager secret and the CMK that encrypts it: what a consumer needs to read it, never its value."""

    secret: aws.secretsmanager.Secret
    key: aws.kms.Key
    version: aws.secretsmanager.SecretVersion | None = None
    """The version holding the value: when set, `arn` carries a dependency on it, so a consumer (an ECS task
    definition) is created only once there is a value to read."""

    @property
    def arn(self) -> pulumi.Output[str]:
        if self.version is None:
            return self.secret.arn
        return pulumi.Output.all(self.secret.arn, self.version.id).apply(lambda values: values[0])

    def read_statements(self) -> list[dict[str, Any]]:
        """IAM statements that allow reading exactly this secret (for a role policy via policy_json)."""
        return [
            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [self.secret.arn]},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [self.key.arn],
             # Only as part of a Secrets Manager call, never a raw decrypt of arbitrary ciphertext.
             "Condition": {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}},
        ]


REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
"""An AWS region name (us-east-1, us-gov-west-1, ...)."""
SECRET_NAME_PATTERN = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
ARN_SUFFIX_LIKE = re.compile(r"-[A-Za-z0-9]{6}$")


def check_secret_name(name: str) -> str | None:
    """What is wrong with a Secrets Manager name, or None. "The secret name can contain ASCII letters, numbers, and
    the following characters: /_+=.@-" and "Do not end your secret name with a hyphen followed by six characters"
    (Secrets Manager appends "-" and six random characters to the ARN, so a partial-ARN lookup becomes ambiguous:
    https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html)."""
    if not SECRET_NAME_PATTERN.match(name):
        return f"secret name {name!r} may hold only 1-512 letters, digits and /_+=.@-"
    if ARN_SUFFIX_LIKE.search(name):
        return f"secret name {name!r} ends with a hyphen and six characters, like the suffix AWS adds to its ARN"
    return None


def managed_secret(logical_name: str, *, name: str, description: str, value: pulumi.Input[str], key: aws.kms.Key,
                   parent: pulumi.Resource, removal_policy: RemovalPolicy = "retain",
                   tags: Mapping[str, str] | None = None,
                   depends_on: Sequence[pulumi.Resource] = ()) -> SecretRef:
    """A Secrets Manager secret encrypted with `key` and holding `value`: the one way this project creates one.

    The value travels as a Pulumi secret (encrypted in state, never shown) into a SecretVersion parented to the
    secret; the returned SecretRef carries that version, so a consumer (an ECS task definition) is created only once
    there is a value to read. `removal_policy` retain keeps a deleted secret recoverable for 30 days; destroy frees
    the name at once. `depends_on` holds the version back (e.g. until a DNS name it contains resolves).
    """
    if (problem := check_secret_name(name)) is not None:
        raise ValueError(problem)
    secret = aws.secretsmanager.Secret(
        logical_name,
        name=name,
        description=description,
        kms_key_id=key.arn,
        recovery_window_in_days=SECRET_RECOVERY_WINDOW_DAYS if retains(removal_policy) else 0,
        tags=dict(tags or {}),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    version = aws.secretsmanager.SecretVersion(
        logical_name,
        secret_id=secret.id,
        secret_string=pulumi.Output.secret(value),
        opts=pulumi.ResourceOptions(parent=secret, depends_on=list(depends_on)),
    )
    return SecretRef(secret=secret, key=key, version=version)


_PARTITION_PREFIXES = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
                       ("us-isof-", "aws-iso-f"), ("eu-isoe-", "aws-iso-e"), ("us-iso-", "aws-iso"))


def partition_of(region: str) -> str:
    """The ARN partition of a region: aws, aws-cn, aws-us-gov or an isolated partition."""
    return next((partition for prefix, partition in _PARTITION_PREFIXES if region.startswith(prefix)), "aws")


def named_tags(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """The stack's tags plus a console-friendly Name."""
    return {**tags, "Name": name}


def policy_json(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """An IAM/KMS/S3 policy document as JSON; statements may contain Outputs."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def assume_role_policy(service_principal: str, *, source_account: str | None = None) -> str:
    """Trust policy for a service role; with source_account, guarded against the confused-deputy problem."""
    import json

    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service_principal},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
