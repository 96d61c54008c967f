"""The app's public name: Route 53 alias records for domainName to whatever is the front door.

The front door is the ALB (the CDN off) or the CloudFront distribution in front of it (the CDN on). The records keep
one logical name in both shapes, so switching `cdnEnabled` on an existing stack is an in-place UPSERT of the same
record (Route 53 never serves a gap), never a create of a new record followed by the delete of the old one, which
would remove the name at the end of the update. `previous` carries the aliases of earlier layouts (the record used to
be the ALB's child, `load-balancer-alias`).

An A record always; an AAAA record when the target serves IPv6 (CloudFront does; our ALB is IPv4 only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AliasTarget:
    """What an alias record points at."""

    dns_name: pulumi.Input[str]
    """The target's DNS name (an ALB's dns_name, a distribution's domain_name)."""
    zone_id: pulumi.Input[str]
    """The target's hosted zone (an ALB's zone_id; CloudFront's fixed Z2FDTNDATAQYW2)."""
    evaluate_target_health: bool
    """True for an ALB (its health counts where Route 53 has another record to answer with); CloudFront targets must
    say false."""
    ipv6: bool = False
    """The target also serves IPv6: add the AAAA record; default false."""


@dataclass(frozen=True)
class PublicDnsArgs:
    """Inputs of PublicDns."""

    zone_id: str
    """The public hosted zone that serves domain_name."""
    domain_name: str
    """The app's hostname, e.g. maratron.example.com."""
    target: AliasTarget
    """The front door."""
    previous: Sequence[pulumi.Alias] = ()
    """Aliases of the A record in earlier layouts of the program (see the module docstring); default none."""


class PublicDns(pulumi.ComponentResource):
    """A (and AAAA) alias records for the app's domain."""

    records: list[aws.route53.Record]

    def __init__(self, name: str, args: PublicDnsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:edge:PublicDns", name, None, opts)
        kinds = ("A", "AAAA") if args.target.ipv6 else ("A",)
        self.records = [aws.route53.Record(
            f"{name}-{kind.lower()}",
            zone_id=args.zone_id,
            name=args.domain_name,
            type=kind,
            aliases=[aws.route53.RecordAliasArgs(name=args.target.dns_name, zone_id=args.target.zone_id,
                                                 evaluate_target_health=args.target.evaluate_target_health)],
            opts=pulumi.ResourceOptions(parent=self, aliases=list(args.previous) if kind == "A" else None),
        ) for kind in kinds]
        self.register_outputs({"fqdn": args.domain_name})
