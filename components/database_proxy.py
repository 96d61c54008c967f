"""RDS Proxy in front of the PostgreSQL primary: TLS only, its own security group, Secrets Manager logins, CMK logs.

What it buys Maratron, stated plainly. Prisma pins every connection behind the proxy ("RDS Proxy doesn't multiplex
connections when your client application drivers use the PostgreSQL extended query protocol",
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.html#rds-proxy.limitations; Prisma: "Because Prisma
ORM uses prepared statements for all queries, you won't see any benefit when using RDS Proxy with Prisma ORM",
https://www.prisma.io/docs/orm/prisma-client/deployment/caveats-when-deploying-to-aws-platforms), so it does not
multiplex: the connection budget counts it 1:1 (components/connection_budget.py). It does give a hard cap with a
queue in front of the database (the borrow timeout) instead of "too many clients" at the server, faster Multi-AZ
failover ("reduce failover times by up to 66%"), and credentials the app never shares with the database (each login
is a secret the proxy reads). `pgbouncer=true` is not set: it changes nothing here (still the extended protocol) and
Prisma advises against it for current poolers.

Writers only: RDS Proxy has no reader endpoint for RDS (non-Aurora) instances ("reader endpoints only work for
proxies associated with Aurora DB clusters", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-endpoints.html),
so DATABASE_READ_URL keeps its replica path (db-reader.<zone>), and only the primary is a target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, SecretRef, assume_role_policy, named_tags, policy_json
from components.connections import Connections
from components.constants import LOG_RETENTION_DAYS
from components.settings import setting

PROXY_PORT = 5432
""""Currently, all proxies listen on port 5432 for PostgreSQL" (RDS Proxy limitations)."""
CLIENT_AUTH = "POSTGRES_SCRAM_SHA_256"
"""How clients authenticate to the proxy: SCRAM, like the database's own logins (their passwords are stored as
SCRAM verifiers, ops/db_admin/scram.py)."""
UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3"})
"""Zones RDS Proxy is not offered in: "In the US East (N. Virginia) Region, RDS Proxy doesn't support the use1-az3
Availability Zone" (RDS user guide, RDS Proxy limitations). With three subnets RDS silently drops that one, the provider
reads two back and plans a replacement of the proxy on every `up` (its subnets force a new proxy; pulumi-aws rds.Proxy
docs); with two, CreateDBProxy fails. Zone ids, not names: an AZ name maps to a different zone in each account."""


def proxy_subnet_ids(subnet_ids: Sequence[str], zone_ids: Sequence[str]) -> list[str]:
    """The subnets RDS Proxy may use (outside UNSUPPORTED_ZONE_IDS); an error when fewer than two AZs remain."""
    kept = [subnet for subnet, zone in zip(subnet_ids, zone_ids, strict=True) if zone not in UNSUPPORTED_ZONE_IDS]
    if len(kept) < 2:
        dropped = sorted(set(zone_ids) & UNSUPPORTED_ZONE_IDS)
        raise pulumi.RunError(f"RDS Proxy needs subnets in two AZs it is offered in, and {', '.join(dropped)} is "
                              f"not one: the data subnets are in zones {', '.join(zone_ids)}; pin azNames to AZs of "
                              "other zones (`aws ec2 describe-availability-zones` shows each name's ZoneId) or set "
                              "dbProxyEnabled false")
    return kept


def offered_azs(az_names: Sequence[str]) -> pulumi.Output[list[str]]:
    """The AZ names whose zone offers RDS Proxy (this account's zone of each name: DescribeAvailabilityZones); a
    RunError when fewer than two remain."""
    zones = aws.get_availability_zones_output(all_availability_zones=True)
    return zones.apply(lambda found: proxy_subnet_ids(
        list(az_names), [dict(zip(found.names, found.zone_ids, strict=True)).get(az, "") for az in az_names]))


@dataclass(frozen=True, kw_only=True)
class ProxySettings:
    """RDS Proxy in front of the primary (keys dbProxy*)."""

    enabled: bool = setting(
        "dbProxyEnabled", True, "RDS Proxy in front of the primary (web and ai connect through it; required in prod). "
        "Default true; false: the services reach the primary directly (dev, to save the proxy's cost).")
    max_connections_percent: int = setting(
        "dbProxyMaxConnectionsPercent", 80, "Share of dbMaxConnections the proxy may open (its cap; 1-100). Default "
        "80: the rest is for migrations, backups, the db-admin function and operators (connection budget).",
        minimum=1, maximum=100)
    idle_client_timeout_seconds: int = setting(
        "dbProxyIdleClientTimeoutSeconds", 1800, "Seconds a client connection may sit idle before the proxy closes "
        "it (60-28800). Default 1800, AWS's: Prisma keeps its pool open for the process lifetime.",
        minimum=60, maximum=28800)
    borrow_timeout_seconds: int = setting(
        "dbProxyBorrowTimeoutSeconds", 10, "Seconds a client waits for a database connection when the proxy is at "
        "its cap (1-300; RDS reads 0 as wait forever). Default 10 = Prisma's pool_timeout, so a saturated proxy fails "
        "a request as fast as a saturated pool (the API default 120 would hang requests behind the ALB).",
        minimum=1, maximum=300)
    follow_subnets: bool = setting(
        "dbProxyFollowSubnets", False, "Apply a change of the data subnets to RDS Proxy (a replacement: writes fail "
        "for its ~10 minutes). Default false: the proxy keeps the subnets it was created with, so adding an AZ never "
        "replaces it; set true for the one `up` that removes an AZ it is in (docs/network.md), then false again.")


@dataclass(frozen=True)
class DatabaseProxyArgs:
    """Inputs of DatabaseProxy."""

    context: AwsContext
    """Account, partition and region."""
    settings: ProxySettings
    """Cap and timeouts."""
    vpc_id: pulumi.Input[str]
    """VPC of the proxy's security group (the database's VPC: "Your RDS Proxy must be in the same VPC")."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """The isolated data subnets, in at least two AZs ("a minimum of two subnets ... in different AZs")."""
    az_names: Sequence[str]
    """The AZ of each subnet, in the same order: which zones they are in is known from these at preview, when new
    subnets have no ids yet (an invoke on an unknown id is skipped, so a check on the subnets would wait for `up`)."""
    primary_identifier: pulumi.Input[str]
    """DB instance identifier of the target (the primary)."""
    logins: Mapping[str, SecretRef]
    """Database user -> secret holding its `username` and `password`: the logins the proxy accepts."""
    log_key: aws.kms.Key
    """CMK of the proxy's log group."""
    name_prefix: str
    """Proxy name `<prefix>-db-proxy`, log group `/aws/rds/proxy/<name>`."""
    log_retention_days: int = LOG_RETENTION_DAYS
    """Retention of the proxy's log group (default 365)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""


class DatabaseProxy(pulumi.ComponentResource):
    """The proxy, its role, security group, log group, connection pool settings and target."""

    proxy: aws.rds.Proxy
    security_group: aws.ec2.SecurityGroup
    """Admits 5432 only from granted clients; sends only to the primary (granted by Database)."""
    target: aws.rds.ProxyTarget
    """Registration of the primary: clients can connect once it exists (and the target is healthy)."""
    name: str
    """The proxy's name (deterministic: runbooks, verify and the log group name it)."""

    def __init__(self, name: str, args: DatabaseProxyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:data:DatabaseProxy", name, None, opts)
        ctx, settings = args.context, args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.name = f"{args.name_prefix}-db-proxy"

        def tags(suffix: str) -> dict[str, str]:
            return named_tags(args.tags, f"{args.name_prefix}-{suffix}")

        # Pre-created so it is encrypted with the CMK and expires: "Each proxy has an entry in the Log groups page"
        # (RDS Proxy monitoring); /aws/rds/proxy/<name> is the name RDS writes to.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/aws/rds/proxy/{self.name}", retention_in_days=args.log_retention_days,
            kms_key_id=args.log_key.arn, tags=tags("db-proxy-logs"), opts=child)
        role = aws.iam.Role(
            f"{name}-role", description=f"{self.name}: read the database logins it accepts",
            assume_role_policy=assume_role_policy("rds.amazonaws.com", source_account=ctx.account_id),
            tags=tags("db-proxy"), opts=child)
        # GetSecretValue on each login and kms:Decrypt through Secrets Manager only: without the KMS statement the
        # proxy cannot read CMK-encrypted secrets ("Credentials couldn't be retrieved", aws-cdk#28847).
        statements = [s for ref in args.logins.values() for s in ref.read_statements()]
        policy = aws.iam.RolePolicy(
            f"{name}-role", role=role.id, policy=policy_json(_deduplicated(statements)),
            opts=pulumi.ResourceOptions(parent=role))
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description="RDS Proxy: PostgreSQL from granted clients only",
            tags=tags("db-proxy"), opts=child)
        self._connections = Connections(self.security_group, label=name, default_port=PROXY_PORT,
                                        traffic="PostgreSQL", name_prefix=args.name_prefix, tags=args.tags)
        self.proxy = aws.rds.Proxy(
            name,
            name=self.name,
            engine_family="POSTGRESQL",
            require_tls=True,
            debug_logging=False,  # debug logs carry "the text of SQL statements" (RDS Proxy setup)
            idle_client_timeout=settings.idle_client_timeout_seconds,
            role_arn=role.arn,
            # Only subnets in zones the proxy is offered in (UNSUPPORTED_ZONE_IDS). The account's zone of each AZ name
            # is AWS's to say (DescribeAvailabilityZones, inputs known at preview: a bad pair of AZs fails the preview,
            # not the middle of `up`); the subnets follow the names' order.
            vpc_subnet_ids=pulumi.Output.all(offered_azs(args.az_names), *args.subnet_ids).apply(
                lambda values: [subnet for subnet, az in zip(values[1:], args.az_names, strict=True)
                                if az in values[0]]),
            vpc_security_group_ids=[self.security_group.id],
            # End-to-end IAM (IAM_AUTH) needs clients that present IAM tokens; Prisma does not, so the proxy accepts
            # SCRAM passwords from Secrets Manager. iam_auth=REQUIRED on a login is the switch for an IAM client.
            auths=[aws.rds.ProxyAuthArgs(auth_scheme="SECRETS", secret_arn=ref.secret.arn, iam_auth="DISABLED",
                                         client_password_auth_type=CLIENT_AUTH, description=f"login {user}")
                   for user, ref in sorted(args.logins.items())],
            tags=tags("db-proxy"),
            # Its subnets are fixed at creation: `vpc_subnet_ids` forces a replacement (ModifyDBProxy has no subnets)
            # and the name is ours, so Pulumi would delete the proxy before creating the new one and every write
            # would fail for its ~10 minutes. An AZ added later is not needed (the proxy spans two or more); one of
            # its AZs removed is a planned replacement (docs/network.md, "Changing the AZs").
            # Pulumi sends an ignored property's old value from state even to a replacement (`--replace` too: "Pulumi
            # ignores a property by using the old value from the state", ignoreChanges docs), so removing an AZ the
            # proxy is in needs the setting that stops ignoring them (follow_subnets).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, policy],
                                        ignore_changes=[] if settings.follow_subnets else ["vpcSubnetIds"]),
        )
        target_group = aws.rds.ProxyDefaultTargetGroup(
            f"{name}-pool",
            db_proxy_name=self.proxy.name,
            connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                max_connections_percent=settings.max_connections_percent,
                # Pinned connections are never idle in the proxy's sense; keep as many open as the cap allows
                # ("If your workloads are unpredictable, consider setting a high value").
                max_idle_connections_percent=settings.max_connections_percent,
                connection_borrow_timeout=settings.borrow_timeout_seconds,
                # No init_query: it would be a SET, and SET pins too. Pinning filters: none exist for PostgreSQL.
            ),
            opts=pulumi.ResourceOptions(parent=self.proxy),
        )
        self.target = aws.rds.ProxyTarget(
            f"{name}-primary", db_proxy_name=self.proxy.name, target_group_name=target_group.name,
            db_instance_identifier=args.primary_identifier, opts=pulumi.ResourceOptions(parent=self.proxy))
        self.register_outputs({"endpoint": self.proxy.endpoint, "securityGroupId": self.security_group.id})

    @property
    def connections(self) -> Connections:
        """PostgreSQL on 5432 from the security groups granted with `grant(client, database.proxy)`."""
        return self._connections

    @property
    def endpoint(self) -> pulumi.Output[str]:
        return self.proxy.endpoint


def _deduplicated(statements: list[dict[str, object]]) -> list[dict[str, object]]:
    """One KMS statement for the logins' shared key (same Output object), one GetSecretValue per login."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for statement in statements:
        resources = statement["Resource"]
        identity = (str(statement["Action"]), *(str(id(r)) for r in resources)) if isinstance(resources, list) \
            else (str(statement["Action"]), str(resources))
        if identity not in seen:
            seen.add(identity)
            out.append(statement)
    return out
