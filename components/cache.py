"""ElastiCache Redis OSS 7: a replication group in the isolated data subnets, TLS + RBAC users only, encrypted at rest.

Authentication: Redis 7 role-based access control instead of the AUTH token. The app logs in as its own user
(`maratron-app`, REDIS_URL = rediss://maratron-app:<password>@<endpoint>:6379); the built-in `default` user is
replaced by a disabled one ("ElastiCache automatically configures a default user ... You can't modify or delete this
user", so a user *named* default with access string `off` takes its place in our user group). Why RBAC: a user can
hold two passwords, "When you modify a password, any existing connections to replication groups are maintained"
(https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html), so rotation (ops/db_admin/
redis_rotation.py) changes only the user - never the replication group, which the AUTH token's ROTATE/SET needs
twice. The user's first password comes from Pulumi; rotation takes over at once (components/credentials.py) and
Pulumi never writes it again (`ignore_changes`). Moving an existing AUTH-token group to RBAC without downtime:
docs/runbooks/secret-rotation.md.

Durability, stated plainly: ElastiCache for Redis 7 has no append-only file (the guide's `appendonly yes` /
`appendfsync everysec` cannot be set). What survives a failure is what replicas and snapshots hold: a node failure
promotes a replica (automatic failover, Multi-AZ) and loses at most the writes not yet replicated (asynchronous,
usually milliseconds); losing every node restores the last daily snapshot. That is right for Maratron's Redis,
which is a cache and a rate-limit / session store whose contents can be rebuilt from PostgreSQL.

Topologies:
- cluster mode disabled (default): one shard, a primary + `replicas` replicas (`num_cache_clusters`), the primary
  endpoint for writes and the reader endpoint for reads; a plain Redis client works.
- cluster mode enabled (the guide's REDIS_CLUSTER_ENABLED): `shards` node groups × (1 + `replicas`) nodes,
  the configuration endpoint; the app must use a cluster-aware client (ioredis `Redis.Cluster`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from dataclasses import replace as replace_field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.base import RETAIN, RemovalPolicy, SecretRef, managed_secret, named_tags, retains
from components.connections import Connections
from components.constants import CREDENTIAL_TAG, PROJECT, Credential
from components.observability import CacheWatch
from components.settings import Rules, require_valid, setting
from components.windows import daily_window_check, weekly_window_check, windows_overlap
from ops.db_admin import secret_format

REDIS_PORT = 6379
APP_USER_NAME = "maratron-app"
PASSWORD_LENGTH = 64  # ElastiCache: 16-128 printable characters; letters and digits keep REDIS_URL unescaped
DEFAULT_USER_ACCESS = "off -@all"
"""The replacement `default` user: disabled, no commands (a client that sends a bare AUTH <password> gets nothing)."""
APP_ACCESS_STRING = "on ~* &* +@all"
"""The app's user: every key, channel and command. ioredis' ready check runs INFO (in @dangerous), so narrowing
needs the app team; the user is where a narrower ACL goes."""
# The guide's redis.conf settings that ElastiCache lets a parameter group set. `maxmemory 512mb` is not one of
# them: memory is the node type's, minus reserved-memory-percent (25% by default, kept for replication buffers).
SEED_PARAMETERS = {
    "maxmemory-policy": "allkeys-lru",  # a cache: evict the least recently used key of any kind when full
    "timeout": "0",  # never close idle clients (connection pools stay warm)
    "tcp-keepalive": "300",  # detect dead peers behind NAT / load balancers
}


def replication_group_id(name_prefix: str) -> str:
    """`<prefix>-redis` as ElastiCache accepts it: 1-40 lower-case letters, digits and single hyphens."""
    cleaned = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", f"{name_prefix}-redis".lower())).strip("-")
    cleaned = cleaned if cleaned[:1].isalpha() else f"r-{cleaned}"
    return cleaned[:40].rstrip("-")


ENGINE_VERSIONS = ("7.0", "7.1")
"""The Redis OSS 7 versions ElastiCache offers for node-based clusters ("7.1, 7.0, 6.2 ...": supported engine versions;
7.2 exists only as Valkey): another value passes a pattern and fails in the API call mid-deploy."""
NODE_TYPE_PATTERN = re.compile(r"^cache\.(?P<family>[a-z][a-z0-9]*)\.[a-z0-9]+$")
NODE_FAMILIES = ("m7g", "m6g", "m5", "m4", "r7g", "r6g", "r5", "r4", "t4g", "t3", "c7gn")
"""The current-generation families ElastiCache creates new Redis clusters on (CacheNode,
https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CacheNode.html). Not here: the previous
generation and T2 (no new clusters), and r6gd, whose nodes need data tiering ("must be set to true when using r6gd
nodes") with its own eviction policies - a different design, not a size."""
MAX_REPLICAS = 5
MAX_SHARDS = 500
MAX_NODES = 500
"""Nodes per cluster-mode cluster: 90 by default, up to 500 with a quota increase (ElastiCache guide, creating a
cluster-mode replication group)."""


def check_engine_version(value: str) -> str | None:
    if value in ENGINE_VERSIONS:
        return None
    return f"must be a Redis OSS 7 version ElastiCache offers: {', '.join(ENGINE_VERSIONS)}"


def check_node_type(value: str) -> str | None:
    match = NODE_TYPE_PATTERN.match(value)
    if match and match["family"] in NODE_FAMILIES:
        return None
    if match:
        return (f"must be a current-generation node type without data tiering (families: {', '.join(NODE_FAMILIES)}); "
                f"ElastiCache creates no new {match['family']} Redis clusters of this design")
    return "must be an ElastiCache node type such as cache.t4g.micro or cache.m7g.large"


@dataclass(frozen=True, kw_only=True)
class CacheSettings:
    """The configurable part of the cache: engine, nodes, topology, snapshots and windows.

    ElastiCache's own topology rules are checked here (`validate`), with the key to change, instead of failing as
    an API error mid-deploy.
    """

    engine_version: str = setting(
        "redisEngineVersion", "7.1", "ElastiCache Redis OSS engine version (7.0 or 7.1; the parameter group family "
        "is redis7). Minor upgrades apply in the maintenance window; a downgrade replaces the group (refused by "
        "protect under removalPolicy retain).", check=check_engine_version)
    node_type: str = setting(
        "redisNodeType", "cache.m7g.large", "Node type of every Redis node. Graviton m7g: 6.4 GiB, steady CPU (no "
        "burst credits to run out under load); dev uses cache.t4g.micro.", check=check_node_type)
    replicas: int = setting(
        "redisReplicas", 2, "Read replicas per shard (0-5). 2 = primary + 2 replicas across 3 AZs, so losing an AZ "
        "still leaves a replica to promote.", minimum=0, maximum=MAX_REPLICAS)
    automatic_failover: bool = setting(
        "redisAutomaticFailover", True, "Promote a replica automatically when the primary fails (needs "
        "redisReplicas >= 1; required in prod).")
    multi_az: bool = setting(
        "redisMultiAz", True, "Place replicas in other AZs than the primary and fail over across AZs (needs "
        "automatic failover and azCount >= 2; required in prod).")
    cluster_mode: bool = setting(
        "redisClusterMode", False, "Cluster mode (the guide's REDIS_CLUSTER_ENABLED): data sharded over redisShards "
        "shards; clients must use a cluster-aware client and the configuration endpoint.")
    shards: int = setting(
        "redisShards", 1, "Shards (node groups) in cluster mode, 1-500; more than 1 needs redisClusterMode. One shard "
        "holds the app's cache working set.", minimum=1, maximum=MAX_SHARDS)
    snapshot_retention_days: int = setting(
        "redisSnapshotRetentionDays", 7, "Days of daily Redis snapshots kept (0-35; 0 = none). ElastiCache Redis 7 "
        "has no AOF: durability = replicas + these snapshots. Prod needs >= 1.", minimum=0, maximum=35)
    snapshot_window: str = setting(
        "redisSnapshotWindow", "03:00-04:00", "Daily UTC window for the Redis snapshot (hh:mm-hh:mm, at least 60 "
        "minutes), outside the maintenance window.",
        check=daily_window_check(minimum_minutes=60, example="03:00-04:00"))
    maintenance_window: str = setting(
        "redisMaintenanceWindow", "sun:05:00-sun:06:00", "Weekly UTC maintenance window for Redis patches and "
        "deferred changes (ddd:hh:mm-ddd:hh:mm, 60 minutes to 24 hours); must not overlap redisSnapshotWindow.",
        check=weekly_window_check(minimum_minutes=60, maximum_minutes=24 * 60, example="sun:05:00-sun:06:00"))
    apply_immediately: bool = setting(
        "redisApplyImmediately", False, "Apply node type and engine changes at once (false: in the next maintenance "
        "window). Replica count changes are always immediate; log delivery changes need true (ElastiCache refuses "
        "them otherwise: docs/cache.md).")

    @property
    def node_count(self) -> int:
        return (self.shards if self.cluster_mode else 1) * (1 + self.replicas)

    def validate(self, rules: Rules) -> None:
        if self.automatic_failover and self.replicas < 1:
            rules.problem("automatic_failover", f"needs {rules.key('replicas')} >= 1 (a replica to promote)",
                          also=["replicas"])
        if self.multi_az and not self.automatic_failover:
            rules.problem("multi_az", f"needs {rules.key('automatic_failover')} = true", also=["automatic_failover"])
        if self.cluster_mode and not self.automatic_failover:
            rules.problem("cluster_mode", f"needs {rules.key('automatic_failover')} = true",
                          also=["automatic_failover"])
        if self.shards > 1 and not self.cluster_mode:
            rules.problem("shards", f"more than 1 shard needs {rules.key('cluster_mode')} = true",
                          also=["cluster_mode"])
        if self.node_count > MAX_NODES:
            rules.problem("shards", f"{self.shards} shards x (1 + {rules.key('replicas')} {self.replicas}) = "
                          f"{self.node_count} nodes; a cluster holds at most {MAX_NODES} (90 without a quota increase)",
                          also=["replicas"])
        # ElastiCache refuses overlapping windows ("The snapshot window and maintenance window must not overlap").
        if rules.valid("snapshot_window", "maintenance_window") and windows_overlap(self.snapshot_window,
                                                                                   self.maintenance_window):
            rules.problem("maintenance_window", f"must not overlap {rules.key('snapshot_window')} "
                          f"({self.snapshot_window}) on any day: ElastiCache refuses overlapping windows")


@dataclass(frozen=True)
class CacheArgs:
    """Inputs of Cache."""

    subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of the subnet group: the isolated data tier, one per AZ."""
    vpc_id: pulumi.Input[str]
    """VPC of the security group."""
    az_names: tuple[str, ...]
    """AZs of those subnets, in order; nodes are spread over them (primary in the first)."""
    data_key: aws.kms.Key
    """CMK for data at rest and for the Redis user's secret (EncryptionKeys.data)."""
    log_key: aws.kms.Key
    """CMK for the slow-log and engine-log groups (EncryptionKeys.logs)."""
    log_retention_days: int
    """Retention of both log groups."""
    settings: CacheSettings = field(default_factory=CacheSettings)
    """Engine, nodes, topology, snapshots and windows; default: the production topology (primary + 2 replicas,
    Multi-AZ failover, 7 days of snapshots)."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): Pulumi `protect`, a final snapshot on delete, secrets recoverable for 30 days. destroy: none
    of these (a disposable stack's explicit choice)."""
    name_prefix: str = PROJECT
    """Readable prefix for log group, secret and snapshot names."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        require_valid(self.settings)  # the same rules the stack's config is read with
        if not self.az_names:
            raise ValueError("CacheArgs.az_names must name at least one AZ")


class Cache(pulumi.ComponentResource):
    """Redis replication group with its subnet group, parameter group, security group, logs and secrets."""

    replication_group: aws.elasticache.ReplicationGroup
    security_group: aws.ec2.SecurityGroup
    """Admits 6379 only from security groups granted with `grant(client, cache)`; no CIDR rules, no egress."""
    app_user: aws.elasticache.User
    """The app's RBAC user (`maratron-app`)."""
    app_user_secret: SecretRef
    """The app user's credentials, JSON {username, password, host, port, userId, url, ...}: rotated."""
    url: SecretRef
    """REDIS_URL for the app: the `url` key of that secret, rediss://maratron-app:<password>@<endpoint>:6379."""
    endpoint: pulumi.Output[str]
    """Primary endpoint, or the configuration endpoint in cluster mode."""
    group_id: str
    """The replication group id (`<prefix>-redis`): deterministic, so alarms and runbooks can name it."""
    port: int = REDIS_PORT

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:data:Cache", name, None, opts)
        self._name = name
        self._args = args
        settings = args.settings
        retain = retains(args.removal_policy)
        child = pulumi.ResourceOptions(parent=self)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Redis: 6379 from granted security groups only",
            tags=self._tags("redis"),
            opts=child,
        )
        self._connections = Connections(self.security_group, label=name, default_port=REDIS_PORT, traffic="Redis",
                                        name_prefix=args.name_prefix, tags=args.tags)
        subnet_group = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            description="Isolated data subnets of the Redis nodes",
            subnet_ids=args.subnet_ids,
            tags=self._tags("redis"),
            opts=child,
        )
        parameter_group = aws.elasticache.ParameterGroup(
            f"{name}-params",
            family="redis7",
            description="Maratron Redis 7: the guide's settings" + (", cluster mode" if settings.cluster_mode else ""),
            parameters=[aws.elasticache.ParameterGroupParameterArgs(name=k, value=v) for k, v in {
                **SEED_PARAMETERS,
                # Must match the replication group's topology, or ElastiCache rejects the group.
                "cluster-enabled": "yes" if settings.cluster_mode else "no",
            }.items()],
            tags=self._tags("redis"),
            opts=child,
        )
        log_groups = {
            log_type: aws.cloudwatch.LogGroup(
                f"{name}-{log_type}",
                name=f"/{args.name_prefix}/redis/{log_type}",
                retention_in_days=args.log_retention_days,
                kms_key_id=args.log_key.arn,
                tags=self._tags(f"redis-{log_type}"),
                opts=child,
            )
            for log_type in ("slow-log", "engine-log")
        }

        # Cluster mode: shards x (primary + replicas), the configuration endpoint. Otherwise one shard whose
        # primary sits in the first AZ and each replica in the next one (read at create time only).
        nodes = 1 + settings.replicas
        azs = None if settings.cluster_mode else [args.az_names[i % len(args.az_names)] for i in range(nodes)]
        # A fixed id means a replacement must delete first; it also needs one anyway (same data subnets, and
        # prod's `protect` refuses it), and a readable id is what alarms, dashboards and runbooks name.
        self.group_id = replication_group_id(args.name_prefix)
        users = self._users(name)
        # Cluster mode changes by replacement: AWS moves a running group only through `compatible` ("a two-step
        # procedure", and in compatible mode "other modifications ... are not allowed", modify-cluster-mode.html),
        # which one `up` cannot express, and sent as one change it fails half-way. A replacement is what a preview can
        # show (and `protect` stops in a retained stack until someone unprotects it: docs/cache.md). The parameter
        # group's description names the mode, which replaces it too (ForceNew), so the new group never edits
        # cluster-enabled on a group in use.
        group_opts = pulumi.ResourceOptions(parent=self, protect=retain, delete_before_replace=True,
                                            replace_on_changes=["clusterMode"])
        self.replication_group = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            replication_group_id=self.group_id,
            description=f"{args.name_prefix} Redis (cache, sessions, rate limits)",
            engine="redis",
            engine_version=settings.engine_version,
            node_type=settings.node_type,
            port=REDIS_PORT,
            cluster_mode="enabled" if settings.cluster_mode else "disabled",
            num_node_groups=settings.shards if settings.cluster_mode else None,
            replicas_per_node_group=settings.replicas if settings.cluster_mode else None,
            num_cache_clusters=None if settings.cluster_mode else nodes,
            preferred_cache_cluster_azs=azs,
            automatic_failover_enabled=settings.automatic_failover,
            multi_az_enabled=settings.multi_az,
            subnet_group_name=subnet_group.name,
            security_group_ids=[self.security_group.id],
            parameter_group_name=parameter_group.name,
            at_rest_encryption_enabled=True,
            kms_key_id=args.data_key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",  # no plaintext connections, not even during a migration
            # RBAC instead of an AUTH token: the app's user and the disabled `default` (needs TLS, set above).
            user_group_ids=[users.user_group_id],
            # No AOF on ElastiCache Redis 7: daily snapshots + replicas are the durability (module docstring).
            snapshot_retention_limit=settings.snapshot_retention_days,
            snapshot_window=settings.snapshot_window,
            final_snapshot_identifier=f"{args.name_prefix}-redis-final" if retain else None,
            maintenance_window=settings.maintenance_window,
            auto_minor_version_upgrade=True,
            # false (the default) defers disruptive changes (node type, engine, parameter group) to the maintenance
            # window.
            apply_immediately=settings.apply_immediately,
            log_delivery_configurations=[
                aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                    destination=group.name, destination_type="cloudwatch-logs", log_format="json",
                    log_type=log_type)
                for log_type, group in log_groups.items()
            ],
            tags=self._tags("redis"),
            opts=group_opts,
        )

        self.endpoint = (self.replication_group.configuration_endpoint_address if settings.cluster_mode
                         else self.replication_group.primary_endpoint_address)
        value = pulumi.Output.all(self._initial_password.result, self.endpoint, self.app_user.user_id,
                                  self.app_user.arn).apply(lambda parts: json.dumps(secret_format.with_url({
                                      "engine": "redis", "username": APP_USER_NAME, "password": parts[0],
                                      "host": parts[1], "port": REDIS_PORT, "userId": parts[2], "userArn": parts[3],
                                      "rotation": secret_format.REDIS}), sort_keys=True))
        self.app_user_secret = managed_secret(
            f"{name}-app-user", name=f"{args.name_prefix}/redis/app", description=f"Redis user {APP_USER_NAME} "
            "(rotated; `url` is REDIS_URL)", value=pulumi.Output.secret(value), key=args.data_key, parent=self,
            removal_policy=args.removal_policy, initial_only=True,
            tags={**self._tags("redis-app"), CREDENTIAL_TAG: Credential.REDIS_USER.value},
            depends_on=[self.replication_group])
        self.url = replace_field(self.app_user_secret, json_key="url")

        self.register_outputs({
            "endpoint": self.endpoint,
            "port": REDIS_PORT,
            "securityGroupId": self.security_group.id,
            "appUserSecretArn": self.app_user_secret.arn,
        })

    # --- capabilities -------------------------------------------------------------------------------------------

    @property
    def connections(self) -> Connections:
        """Redis on 6379 from the security groups granted with `grant(client, cache)`."""
        return self._connections

    @property
    def cluster_mode(self) -> bool:
        return self._args.settings.cluster_mode

    @property
    def watch(self) -> CacheWatch:
        """What Observability alarms on: every member of the replication group."""
        return CacheWatch(self.group_id, self.member_ids)

    @property
    def member_ids(self) -> dict[str, str]:
        """Label -> CacheClusterId of every node, as ElastiCache names them (the dimension of its metrics):
        `<group>-001`, `-002`, ... without cluster mode; `<group>-0001-001` (shard-node) with it."""
        settings = self._args.settings
        nodes = range(1, settings.replicas + 2)
        if not settings.cluster_mode:
            return {f"{n:03d}": f"{self.group_id}-{n:03d}" for n in nodes}
        return {f"{s:04d}-{n:03d}": f"{self.group_id}-{s:04d}-{n:03d}"
                for s in range(1, settings.shards + 1) for n in nodes}

    # --- parts --------------------------------------------------------------------------------------------------

    def _tags(self, suffix: str) -> dict[str, str]:
        return named_tags(self._args.tags, f"{self._args.name_prefix}-{suffix}")

    def _users(self, name: str) -> aws.elasticache.UserGroup:
        """The app's user, the disabled `default`, and their user group (ids are per account and region: prefixed
        with the group id)."""
        child = pulumi.ResourceOptions(parent=self)
        base = self.group_id[:30].rstrip("-")
        self._initial_password = random.RandomPassword(
            f"{name}-app-user-password", length=PASSWORD_LENGTH, special=False, opts=child)
        default_password = random.RandomPassword(
            f"{name}-default-user-password", length=PASSWORD_LENGTH, special=False, opts=child)
        default = aws.elasticache.User(
            f"{name}-default-user", user_id=f"{base}-default", user_name="default", engine="redis",
            access_string=DEFAULT_USER_ACCESS,
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[pulumi.Output.secret(default_password.result)]),
            tags=self._tags("redis-default-user"), opts=child)
        self.app_user = aws.elasticache.User(
            f"{name}-app-user", user_id=f"{base}-app", user_name=APP_USER_NAME, engine="redis",
            access_string=APP_ACCESS_STRING,
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[pulumi.Output.secret(self._initial_password.result)]),
            tags=self._tags("redis-app-user"),
            # The first password only: redis-rotation owns it from then on (two slots, see the module docstring).
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["authenticationMode", "passwords"]))
        return aws.elasticache.UserGroup(
            f"{name}-users", user_group_id=f"{base}-users", engine="redis",
            user_ids=[default.user_id, self.app_user.user_id], tags=self._tags("redis-users"), opts=child)
