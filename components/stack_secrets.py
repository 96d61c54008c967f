"""KMS keys for Pulumi's secrets provider: `pulumi stack init <env> --secrets-provider awskms://alias/...`.

With a self-managed backend, stack secrets (the config values set with `pulumi config set --secret`, secret outputs
in the state) are encrypted with a per-stack data key that the CLI wraps with the secrets provider once, at
`stack init` / `stack change-secrets-provider` (KMS Encrypt), and unwraps on every run (KMS Decrypt) (pulumi/pulumi
pkg/secrets/cloud/manager.go). A passphrase is never needed. One key per environment: a key shared by dev and prod
would let dev's CI role unwrap prod's data key, which sits in plain sight in Pulumi.prod.yaml (`encryptedkey`).

So CI roles get kms:Decrypt (and DescribeKey) on their environment's key only, without `kms:ViaService`: the CLI
calls KMS directly. Encrypt stays with administrators (stack init, change-secrets-provider, rotation).
Format of the provider URL: `awskms://alias/ExampleAlias?region=us-east-1`
(https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_change-secrets-provider/); the alias resolves in the
caller's own account and the given region.

A DR stack (prod's `dr`, deployed in the DR region when the primary region is lost) has its own key *in the DR
region* (`region`): a key of the primary region would be as lost as the region, and with it every secret of the
stack. Its alias names the stack (alias/maratron-pulumi-dr); the environment's CI roles decrypt with both keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import RETAIN, AwsContext, RemovalPolicy
from components.constants import PROJECT
from components.cross_account import grant
from components.encryption import customer_managed_key


def secrets_key_alias(purpose: str) -> str:
    """maratron-pulumi-<purpose>: prod, staging, dev, or bootstrap (the foundation's own stacks)."""
    return f"{PROJECT}-pulumi-{purpose}"


def secrets_provider_url(purpose: str, region: str) -> str:
    return f"awskms://alias/{secrets_key_alias(purpose)}?region={region}"


def decrypt_statements(key_arn: pulumi.Input[str], sid: str = "UnwrapStackDataKey",
                       replica_regions: Sequence[str] = ()) -> list[dict[str, Any]]:
    """What a CI role needs to run a stack whose secrets provider is this key (and its multi-Region replicas)."""
    return [{"Sid": sid, "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"],
             "Resource": [key_arn, *(replica_key_arn(key_arn, region) for region in replica_regions)]}]


def replica_key_arn(key_arn: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """The ARN of a multi-Region key's replica in `region`: the same key id (mrk-...), another region ("Related
    multi-Region keys have the same key ID", multi-Region keys overview); a replica's ARN is its own resource."""
    return pulumi.Output.from_input(key_arn).apply(
        lambda arn: ":".join([*arn.split(":")[:3], region, *arn.split(":")[4:]]))


@dataclass(frozen=True)
class StackSecretsKeyArgs:
    """Inputs of StackSecretsKey."""

    context: AwsContext
    """The account and region the key lives in (the account that runs the stacks it serves)."""
    purpose: str
    """dev, staging, prod, bootstrap, or a DR stack (dr); the alias is alias/maratron-pulumi-<purpose>."""
    readers: tuple[tuple[str, str], ...] = ()
    """(account root, role ARN) of roles in other accounts that may decrypt with it; default none."""
    organization_id: str = ""
    """With readers: each grant also requires aws:PrincipalOrgID (the foundation's organizationId); default ""."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): protected; losing the key loses every secret of the stacks it serves."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the key."""
    region: str | None = None
    """Create the key in this region instead of the provider's (a DR stack's key in the DR region); default the
    context's."""
    multi_region: bool = False
    """A multi-Region key (fixed at creation: the foundation's always is, so that turning DR on later adds a replica
    instead of replacing the key every stack's checkpoint names); default False."""
    replica_region: str | None = None
    """With multi_region: a replica with the same alias there (the foundation's key, in the state replica's
    region: a stack reading the foundation from the DR backend decrypts its data key there); default None."""


class StackSecretsKey(pulumi.ComponentResource):
    """A CMK with the alias Pulumi's awskms:// secrets provider names."""

    key: aws.kms.Key
    provider_url: str
    """awskms://alias/maratron-pulumi-<purpose>?region=<region>"""

    def __init__(self, name: str, args: StackSecretsKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:foundation:StackSecretsKey", name, None, opts)
        readers = [grant({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"},
                         account_root=root, principal_arns=[role], organization_id=args.organization_id,
                         sid=f"Decrypt{index}")
                   for index, (root, role) in enumerate(args.readers)]
        self.key = customer_managed_key(
            name, context=args.context, alias=secrets_key_alias(args.purpose), statements=readers, region=args.region,
            multi_region=args.multi_region, replica_region=args.replica_region,
            description=f"{PROJECT}: Pulumi secrets provider of the {args.purpose} stacks",
            removal_policy=args.removal_policy, tags=args.tags, parent=self)
        self.provider_url = secrets_provider_url(args.purpose, args.region or args.context.region)
        self.replica_arns: list[pulumi.Output[str]] = (
            [replica_key_arn(self.key.arn, args.replica_region)] if args.replica_region else [])
        """The replica's ARN (multi-Region key), for the grants and denies that name this key."""
        self.register_outputs({"keyArn": self.key.arn, "providerUrl": self.provider_url})

    def decrypt_statements(self) -> list[dict[str, Any]]:
        return decrypt_statements(self.key.arn)
