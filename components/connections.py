"""Network grants between security groups, in the spirit of CDK's `connections`.

Anything that owns a security group is Connectable: it exposes `connections`, a record of its security group, a
stable label, the port its clients use by default, and what to call that traffic. `grant(source, target)` opens one
path, both halves of it:

* ingress on the target's group, from the source's group, on the port (parented to the target's group);
* egress on the source's group, to the target's group, on the same port (parented to the source's group),

so a source whose egress is locked down (the ALB, the backup task) needs nothing else, and a source that may send to
443 anywhere still states each internal path explicitly. Rules reference groups, never address ranges, and are
separate resources (no inline rules: the provider then removes AWS's default allow-all egress).

Logical names come from the labels, `<target>-from-<source>` and `<source>-to-<target>`, so they never depend on
the order or number of grants. One grant per pair: a second is refused (two rules with one name would collide).

    grant(load_balancer, web)             # ALB -> web tasks on the web's port (3000)
    grant(web, ai)                        # web -> AI server on its port
    for client in (web, ai, migrate, backup_job):
        grant(client, database)           # -> PostgreSQL 5432
    grant(Connections(ops_sg, label="ops"), database)   # a bare security group: wrap it

Addresses outside any security group (the internet, CloudFront's origin-facing prefix list, the app tier's block) are
a `Peer`: `grant_from(peer, target, port, ...)` opens the target's ingress from it, `grant_to(source, peer, port,
...)` the source's egress to it. One side has no group, so each is one rule; the caller names it, because these
names predate the helpers and a new logical name would replace a live rule (a duplicate rule is refused while the
old one exists). Every security-group rule of the program is made here (a test holds the components to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pulumi
import pulumi_aws as aws

from components.base import named_tags


@dataclass(frozen=True)
class Connections:
    """A security group as a grant sees it."""

    security_group: aws.ec2.SecurityGroup
    label: str
    """Stable short name used in the rules' logical names and descriptions, e.g. `web`, `database`."""
    default_port: int | None = None
    """The port clients reach it on (5432 for the database); None when nothing connects to it by default."""
    traffic: str = "TCP"
    """What flows to `default_port`, for rule descriptions: PostgreSQL, Redis, HTTP."""
    egress_ports: tuple[int, ...] | None = None
    """When set, the only ports this group may send to (the ALB: its target group's port); default: any granted."""
    name_prefix: str = ""
    """Prefix of the rules' Name tags (maratron-prod)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the rules on this group (Name is added per rule)."""
    _granted: set[str] = field(default_factory=set, init=False, compare=False, repr=False)

    @property
    def connections(self) -> Connections:
        """A Connections is Connectable itself (wrap a bare security group in one)."""
        return self

    def _name_tag(self, suffix: str) -> dict[str, str]:
        name = f"{self.name_prefix}-{suffix}" if self.name_prefix else suffix
        return named_tags(dict(self.tags), name)


@runtime_checkable
class Connectable(Protocol):
    """Anything with a security group that grants can name: components expose `connections`."""

    @property
    def connections(self) -> Connections: ...


@dataclass(frozen=True)
class Peer:
    """Addresses on the far side of a rule that no security group stands for: exactly one of a CIDR block or a
    managed prefix list."""

    label: str
    """What the addresses are, for descriptions: the internet, CloudFront, the app tier."""
    cidr_ipv4: pulumi.Input[str] | None = None
    prefix_list_id: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        if (self.cidr_ipv4 is None) == (self.prefix_list_id is None):
            raise ValueError(f"Peer {self.label!r}: give exactly one of cidr_ipv4 or prefix_list_id")


ANYWHERE = Peer("the internet", cidr_ipv4="0.0.0.0/0")
"""Every IPv4 address: HTTPS out to AWS and third-party APIs, the public ALB's listeners."""


@dataclass(frozen=True)
class Grant:
    """The two halves of one granted path."""

    ingress: aws.vpc.SecurityGroupIngressRule
    egress: aws.vpc.SecurityGroupEgressRule | None


def grant(source: Connectable, target: Connectable, port: int | None = None, *, egress: bool = True) -> Grant:
    """Let the members of `source` open TCP connections to the members of `target` on `port` (default: the target's
    port). Creates the target's ingress rule and, unless `egress=False` (a source that manages its own egress), the
    source's egress rule."""
    src, dst = source.connections, target.connections
    port = dst.default_port if port is None else port
    where = f"grant({src.label} -> {dst.label})"
    if port is None:
        raise ValueError(f"{where}: {dst.label} has no default port; pass port=")
    if src.egress_ports is not None and port not in src.egress_ports:
        allowed = ", ".join(map(str, src.egress_ports))
        raise ValueError(f"{where}: {src.label} may only send to port {allowed}, not {port}")
    if dst.label in src._granted:
        raise ValueError(f"{where}: granted already (one grant per pair of labels)")
    src._granted.add(dst.label)
    traffic = dst.traffic if port == dst.default_port else "TCP"
    ingress = aws.vpc.SecurityGroupIngressRule(
        f"{dst.label}-from-{src.label}",
        security_group_id=dst.security_group.id,
        referenced_security_group_id=src.security_group.id,
        ip_protocol="tcp", from_port=port, to_port=port,
        description=f"{traffic} from {src.label} on {port}",
        tags=dst._name_tag(f"{dst.label}-from-{src.label}"),
        opts=pulumi.ResourceOptions(parent=dst.security_group),
    )
    egress_rule = aws.vpc.SecurityGroupEgressRule(
        f"{src.label}-to-{dst.label}",
        security_group_id=src.security_group.id,
        referenced_security_group_id=dst.security_group.id,
        ip_protocol="tcp", from_port=port, to_port=port,
        description=f"{traffic} to {dst.label} on {port}",
        tags=src._name_tag(f"{src.label}-to-{dst.label}"),
        opts=pulumi.ResourceOptions(parent=src.security_group),
    ) if egress else None
    return Grant(ingress=ingress, egress=egress_rule)


def grant_from(peer: Peer, target: Connectable, port: int, *, name: str, description: str,
               tags: Mapping[str, str]) -> aws.vpc.SecurityGroupIngressRule:
    """Let `peer`'s addresses open TCP connections to the members of `target` on `port`: the target's ingress rule
    (named `name`, parented to the target's group)."""
    return _address_rule(aws.vpc.SecurityGroupIngressRule, target.connections, peer, port, name, description, tags)


def grant_to(source: Connectable, peer: Peer, port: int, *, name: str, description: str,
             tags: Mapping[str, str]) -> aws.vpc.SecurityGroupEgressRule:
    """Let the members of `source` open TCP connections to `peer`'s addresses on `port`: the source's egress rule
    (named `name`, parented to the source's group). A source that may only send to some ports (the ALB) is held to
    them here as in `grant`."""
    src = source.connections
    if src.egress_ports is not None and port not in src.egress_ports:
        allowed = ", ".join(map(str, src.egress_ports))
        raise ValueError(f"grant_to({src.label} -> {peer.label}): {src.label} may only send to port {allowed}, "
                         f"not {port}")
    return _address_rule(aws.vpc.SecurityGroupEgressRule, src, peer, port, name, description, tags)


def _address_rule(rule: Any, side: Connections, peer: Peer, port: int, name: str, description: str,
                  tags: Mapping[str, str]) -> Any:
    """One TCP rule of `side`'s group to or from `peer`'s addresses (the ingress and egress types take the same
    arguments), parented to the group."""
    group = side.security_group
    return rule(name, security_group_id=group.id, description=description, ip_protocol="tcp", from_port=port,
                to_port=port, cidr_ipv4=peer.cidr_ipv4, prefix_list_id=peer.prefix_list_id, tags=dict(tags),
                opts=pulumi.ResourceOptions(parent=group))
