"""Small pieces every component shares: the AWS account context, tagging and JSON policy helpers."""

from __future__ import annotations

import functools
import inspect
import json
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
RETAIN: RemovalPolicy = "retain"
"""Every component's default removal policy: a component used without arguments keeps its data (final snapshots,
deletion protection, `protect`, retained buckets and keys); a stack opts out with "destroy" (dev does, explicitly)."""
SECRET_RECOVERY_WINDOW_DAYS = 30
"""Days a deleted secret stays recoverable under `retain` (the Secrets Manager maximum); 0 under `destroy`."""


def retains(policy: RemovalPolicy) -> bool:
    """True for `retain`: keep the data (see RemovalPolicy)."""
    return policy == RETAIN


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
    json_key: str | None = None
    """For a JSON secret, the key a consumer reads (ECS injects one key: `value_from`); None: the whole value."""
    ready: tuple[pulumi.Resource, ...] = ()
    """What writes the value when no SecretVersion does (the db-admin bootstrap): `arn` waits for it too."""

    @functools.cached_property
    def arn(self) -> pulumi.Output[str]:
        """The secret's ARN, ready only once the value is (`version`, `ready`); one Output per reference."""
        waits = [r.urn for r in self.ready] + ([self.version.id] if self.version is not None else [])
        if not waits:
            return self.secret.arn
        return pulumi.Output.all(self.secret.arn, *waits).apply(lambda values: values[0])

    @functools.cached_property
    def value_from(self) -> pulumi.Output[str]:
        """What an ECS container definition's `secrets[].valueFrom` names: the ARN, or `<arn>:<json_key>::` for
        one key of a JSON secret (ECS: `arn:...:secret:name:json-key:version-stage:version-id`; JSON keys need
        Fargate platform 1.4.0+, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html)."""
        if self.json_key is None:
            return self.arn
        json_key = self.json_key
        return self.arn.apply(lambda arn: f"{arn}:{json_key}::")

    def read_statements(self) -> list[dict[str, Any]]:
        """IAM statements that allow reading exactly this secret (for a role policy via policy_json)."""
        return [
            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [self.secret.arn]},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [self.key.arn],
             # Only as part of a Secrets Manager call, never a raw decrypt of arbitrary ciphertext.
             "Condition": {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}},
        ]


INITIAL_VERSION_STAGE = "MARATRON_INITIAL"
"""A custom staging label on a rotated secret's first, Pulumi-written version (see managed_secret(initial_only))."""


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


def managed_secret(logical_name: str, *, name: str, description: str, value: pulumi.Input[str] | None,
                   key: aws.kms.Key, parent: pulumi.Resource, removal_policy: RemovalPolicy = RETAIN,
                   tags: Mapping[str, str] | None = None, depends_on: Sequence[pulumi.Resource] = (),
                   initial_only: bool = False) -> SecretRef:
    """A Secrets Manager secret encrypted with `key` and holding `value`: the one way this project creates one.

    The value travels as a Pulumi secret (encrypted in state, never shown) into a SecretVersion parented to the
    secret; the returned SecretRef carries that version, so a consumer (an ECS task definition) is created only once
    there is a value to read. `removal_policy` retain keeps a deleted secret recoverable for 30 days; destroy frees
    the name at once. `depends_on` holds the version back (e.g. until a DNS name it contains resolves).

    `value=None`: no version at all - something else writes the value (the db-admin function).
    `initial_only=True`, for a secret that rotates: Pulumi writes the first value and never touches it again.
    Rotation moves AWSCURRENT to new versions; a version left without labels is deprecated and deleted by Secrets
    Manager, after which a Pulumi-managed version would be re-created with the old value on the next `up` (undoing
    the rotation; terraform-aws-modules/terraform-aws-secrets-manager#24). So the first version also carries the
    custom label INITIAL_VERSION_STAGE (it is never deprecated, never deleted) and `secretString` and
    `versionStages` are ignored after creation (Pulumi never moves AWSCURRENT back).
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
    if value is None:
        return SecretRef(secret=secret, key=key)
    version = aws.secretsmanager.SecretVersion(
        logical_name,
        secret_id=secret.id,
        secret_string=pulumi.Output.secret(value),
        version_stages=["AWSCURRENT", INITIAL_VERSION_STAGE] if initial_only else None,
        opts=pulumi.ResourceOptions(parent=secret, depends_on=list(depends_on),
                                    ignore_changes=["secretString", "versionStages"] if initial_only else None),
    )
    return SecretRef(secret=secret, key=key, version=version)


_PARTITION_PREFIXES = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
                       ("us-isof-", "aws-iso-f"), ("eu-isoe-", "aws-iso-e"), ("us-iso-", "aws-iso"))


def partition_of(region: str) -> str:
    """The ARN partition of a region: aws, aws-cn, aws-us-gov or an isolated partition."""
    return next((partition for prefix, partition in _PARTITION_PREFIXES if region.startswith(prefix)), "aws")


def region_problem(region: str) -> str | None:
    """Why `region` cannot host this project's stacks, or None; the app and the foundation check `aws:region` with it.
    China: service principals and endpoints there end in amazonaws.com.cn ("logs.cn-north-1.amazonaws.com.cn":
    pulumi-aws getServicePrincipal), while the key policies and kms:ViaService conditions here name amazonaws.com."""
    if not REGION_PATTERN.match(region):
        return "must be an AWS region such as us-east-1"
    if partition_of(region) == "aws-cn":
        return ("the China partition (aws-cn) is not supported: its service principals end in amazonaws.com.cn, "
                "which the key policies and conditions here do not build; use a region of the aws or aws-us-gov "
                "partition")
    return None


def copy_region_problem(region: str, home: str) -> str | None:
    """Why `region` cannot hold the copy of what lives in `home` (the app's drRegion, the registry's replica
    region), or None: replication stays inside one partition, and the region must be one region_problem accepts."""
    if partition_of(region) != partition_of(home):
        return (f"{region} is in another AWS partition than {home} ({partition_of(region)} vs {partition_of(home)}): "
                "replication cannot cross partitions")
    return region_problem(region)


def named_tags(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """The stack's tags plus a console-friendly Name."""
    return {**tags, "Name": name}


def policy_json(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """An IAM/KMS/S3 policy document as JSON; statements may contain Outputs."""
    return json_output({"Version": "2012-10-17", "Statement": statements})


class _Slot:
    """Where json_output's document held the Output at `index` of its list."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def json_output(document: Any) -> pulumi.Output[str]:
    """`pulumi.Output.json_dumps(document)`: the same text, dependencies, secretness and unknowns, for a document of
    dicts, lists and tuples with Outputs (or awaitables) anywhere inside.

    Why not the SDK's: it first turns the whole document into one Output with `Output.from_input`, which makes an
    Output and an asyncio task for every dict, list, key and string in it, at any depth. A policy, container definition
    or dashboard has hundreds of such nodes and a handful of Outputs, so that was most of what the program's own Output
    graph cost (profiled in bench/preview.py). This gathers only the Outputs the document holds.
    """
    outputs: list[Any] = []
    slots: dict[int, _Slot] = {}  # one slot per Output object: a policy names the same key or bucket ARN repeatedly

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: shape(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [shape(item) for item in value]
        if isinstance(value, pulumi.Output) or inspect.isawaitable(value):
            if id(value) not in slots:
                slots[id(value)] = _Slot(len(outputs))
                outputs.append(value)
            return slots[id(value)]
        return value

    template = shape(document)
    if not outputs:
        return pulumi.Output.from_input(json.dumps(template))

    def render(values: list[Any]) -> str:
        def fill(value: Any) -> Any:
            if isinstance(value, _Slot):
                return values[value.index]
            if isinstance(value, dict):
                return {key: fill(item) for key, item in value.items()}
            if isinstance(value, list):
                return [fill(item) for item in value]
            return value

        return json.dumps(fill(template))

    # Output.all awaits awaitables and unwraps what each Output resolves to (Outputs inside), as json_dumps does.
    return pulumi.Output.all(*outputs).apply(render)


def assume_role_policy(service_principal: str, *, source_account: str | None = None) -> str:
    """Trust policy for a service role; with source_account, guarded against the confused-deputy problem."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service_principal},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
