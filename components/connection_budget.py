"""The PostgreSQL connection budget: every client's worst case must fit `max_connections`, checked at preview.

Pool sizes and `max_connections` follow from this rule, not the other way round. At maximum scale:

* each service runs up to `maxCount × 200%` tasks: a rolling deployment starts the new tasks before the old ones stop
  ("maximumPercent ... an upper limit on the number of your service's tasks that are allowed in the RUNNING, STOPPING,
  or PENDING state during a deployment", ECS service definition parameters,
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service_definition_parameters.html);
* each task holds a Prisma pool of `appDatabasePoolSize` for DATABASE_URL and one for DATABASE_READ_URL;
* behind RDS Proxy every Prisma connection stays pinned to one database connection - "RDS Proxy doesn't multiplex
  connections when your client application drivers use the PostgreSQL extended query protocol"
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.html#rds-proxy.limitations) and Prisma uses
  prepared statements for every query - so the proxy is budgeted 1:1, with the 30% headroom AWS asks for ("set the
  parameter at least 30% above your maximum recent monitored usage",
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html). The proxy's cap is
  `max_connections × MaxConnectionsPercent / 100`;
* direct clients: the migration and backup roles (their CONNECTION LIMIT, ops/db_admin/roles.py) and the db-admin
  function (one connection per concurrent invocation: every rotated database secret plus a bootstrap);
* reserved slots: `superuser_reserved_connections` (3, PostgreSQL's default) and RDS's
  `rds.rds_superuser_reserved_connections` (2) - where operators (the master, rds_superuser) still get in;
* `max_connections` itself must not exceed RDS's default for the instance memory, `LEAST(DBInstanceClassMemory /
  9531392, 5000)` (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections):
  each backend needs memory, and DBInstanceClassMemory is below the class's nominal GiB, so the ceiling computed from
  the nominal memory is an upper bound.

Replicas share the parameter group: reads can all resolve to one replica (DNS), so a replica must hold them all.
Without replicas, reads go where the writer goes (the reader name's fallback record).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ops.db_admin import roles

DEPLOYMENT_MAXIMUM_PERCENT = 200
"""The services' `deployment_maximum_percent` (components/service.py uses this constant)."""
SUPERUSER_RESERVED_CONNECTIONS = 3
RDS_SUPERUSER_RESERVED_CONNECTIONS = 2
RESERVED_CONNECTIONS = SUPERUSER_RESERVED_CONNECTIONS + RDS_SUPERUSER_RESERVED_CONNECTIONS
MIGRATION_CONNECTIONS = roles.CONNECTION_LIMITS[roles.MIGRATE]
BACKUP_CONNECTIONS = roles.CONNECTION_LIMITS[roles.BACKUP]
PROXY_HEADROOM_PERCENT = 30
MEMORY_DIVISOR = 9531392
DEFAULT_MAX_CONNECTIONS_CAP = 5000
PROXY_MINIMUM_PERCENT_BURSTABLE = {"micro": 100, "small": 100, "medium": 55, "large": 35}
PROXY_MINIMUM_PERCENT = 20
"""AWS's minimal recommended MaxConnectionsPercent: "db.t3.small: 100, db.t3.medium: 55, db.t3.large: 35, db.r3.large or
above: 20" (RDS Proxy best practices, configuration; the older connection-settings page's 30/20 is lower, so the
stricter table holds). Burstable classes by size (micro like small), every other class and larger burstable 20."""

_SIZE_UNITS = {"large": 1, "xlarge": 2}
_T_MEMORY = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
_GIB_PER_UNIT = {"m": 8, "r": 16, "x": 32}
_CLASS = re.compile(r"^db\.(?P<family>[a-z])[a-z0-9-]*\.(?P<size>[a-z0-9]+)$")


def instance_memory_gib(instance_class: str) -> float | None:
    """Nominal memory of an RDS instance class (t, m, r and x families), None when unknown."""
    match = _CLASS.match(instance_class)
    if not match:
        return None
    family, size = match["family"], match["size"]
    if family == "t":
        return _T_MEMORY.get(size)
    if family not in _GIB_PER_UNIT:
        return None
    units = _SIZE_UNITS.get(size)
    if units is None and size.endswith("xlarge") and size[:-6].isdigit():
        units = 2 * int(size[:-6])
    return None if units is None else float(_GIB_PER_UNIT[family] * units)


def max_connections_ceiling(instance_class: str) -> int | None:
    """RDS's default max_connections for the class's nominal memory (an upper bound); None when unknown."""
    memory = instance_memory_gib(instance_class)
    if memory is None:
        return None
    return min(int(memory * 2**30) // MEMORY_DIVISOR, DEFAULT_MAX_CONNECTIONS_CAP)


def proxy_minimum_percent(instance_class: str) -> int:
    family, _, size = instance_class.removeprefix("db.").partition(".")
    burstable = PROXY_MINIMUM_PERCENT_BURSTABLE.get(size) if family.startswith("t") else None
    return burstable if burstable is not None else PROXY_MINIMUM_PERCENT


@dataclass(frozen=True)
class Client:
    """A service whose tasks hold Prisma pools."""

    name: str
    max_count: int
    max_count_key: str

    @property
    def max_tasks(self) -> int:
        return self.max_count * DEPLOYMENT_MAXIMUM_PERCENT // 100


@dataclass(frozen=True)
class BudgetInputs:
    clients: Sequence[Client]
    pool_size: int
    max_connections: int
    proxy_enabled: bool
    proxy_percent: int
    instance_class: str
    replica_classes: Sequence[str]
    db_admin_connections: int
    """Concurrent db-admin invocations (each holds one connection at a time)."""


@dataclass(frozen=True)
class Problem:
    key: str
    """Which setting the message is attached to (the settings field path)."""
    message: str


def _tasks(inputs: BudgetInputs) -> int:
    return sum(client.max_tasks for client in inputs.clients)


def app_connections(inputs: BudgetInputs) -> int:
    """The most database connections the app's Prisma pools hold in steady state at full scale: every service at
    `maxCount` tasks × 2 pools (DATABASE_URL, DATABASE_READ_URL) × `appDatabasePoolSize`. This is what the app's
    `database_connections_active` can reach, wherever the pools connect (RDS Proxy, the replicas or the primary);
    the budget above proves it fits even with the deployment surge on top, so its share is the app's alert threshold
    (components/app_metrics.py DatabaseConnectionsHigh), not a share of `max_connections`."""
    return sum(client.max_count for client in inputs.clients) * 2 * inputs.pool_size


def direct_connections(inputs: BudgetInputs) -> int:
    return MIGRATION_CONNECTIONS + BACKUP_CONNECTIONS + inputs.db_admin_connections


def proxy_cap(inputs: BudgetInputs) -> int:
    return inputs.max_connections * inputs.proxy_percent // 100


def _via_writer(inputs: BudgetInputs, pool: int) -> int:
    """Connections on the writer's path: one pool per task, both when there is no replica to take the reads."""
    return _tasks(inputs) * pool * (1 if inputs.replica_classes else 2)


def _with_headroom(connections: int) -> int:
    return math.ceil(connections * (100 + PROXY_HEADROOM_PERCENT) / 100)


def _fits(inputs: BudgetInputs, pool: int) -> bool:
    pools = _tasks(inputs) * pool
    via_writer = _via_writer(inputs, pool)
    reserved = direct_connections(inputs) + RESERVED_CONNECTIONS
    if inputs.proxy_enabled:
        writer_ok = _with_headroom(via_writer) <= proxy_cap(inputs)
    else:
        writer_ok = via_writer + reserved <= inputs.max_connections
    replica_ok = not inputs.replica_classes or pools + RESERVED_CONNECTIONS <= inputs.max_connections
    return writer_ok and replica_ok


def largest_pool(inputs: BudgetInputs) -> int:
    """The largest pool size that fits at these task counts (0: none does)."""
    return next((pool for pool in range(inputs.pool_size, 0, -1) if _fits(inputs, pool)), 0)


def describe(inputs: BudgetInputs, pool: int | None = None) -> str:
    """The arithmetic of the budget, in words (for the error message and the docs)."""
    pool = inputs.pool_size if pool is None else pool
    tasks = " + ".join(f"{c.name} {c.max_tasks} tasks ({c.max_count_key} {c.max_count} × "
                       f"{DEPLOYMENT_MAXIMUM_PERCENT}% deployment surge)" for c in inputs.clients)
    pools = _tasks(inputs) * pool
    reads = "reads on the replicas" if inputs.replica_classes else "reads share the writer path (no replica)"
    via_writer = _via_writer(inputs, pool)
    direct = (f"migration {MIGRATION_CONNECTIONS} + backup {BACKUP_CONNECTIONS} + db-admin "
              f"{inputs.db_admin_connections}")
    reserved = f"reserved {SUPERUSER_RESERVED_CONNECTIONS} + rds_superuser {RDS_SUPERUSER_RESERVED_CONNECTIONS}"
    parts = [f"{tasks} = {_tasks(inputs)} tasks × 2 Prisma pools (DATABASE_URL, DATABASE_READ_URL) of {pool}; {reads}"]
    if inputs.proxy_enabled:
        need = _with_headroom(via_writer)
        parts.append(f"via RDS Proxy: {via_writer} pinned connections + {PROXY_HEADROOM_PERCENT}% headroom = {need} "
                     f"{'≤' if need <= proxy_cap(inputs) else '>'} proxy cap {proxy_cap(inputs)} "
                     f"(dbProxyMaxConnectionsPercent {inputs.proxy_percent}% of dbMaxConnections "
                     f"{inputs.max_connections})")
        total = proxy_cap(inputs) + direct_connections(inputs) + RESERVED_CONNECTIONS
        parts.append(f"primary: proxy cap {proxy_cap(inputs)} + {direct} + {reserved} = {total} "
                     f"{'≤' if total <= inputs.max_connections else '>'} {inputs.max_connections}")
    else:
        total = via_writer + direct_connections(inputs) + RESERVED_CONNECTIONS
        parts.append(f"primary: {via_writer} + {direct} + {reserved} = {total} "
                     f"{'≤' if total <= inputs.max_connections else '>'} dbMaxConnections {inputs.max_connections}")
    if inputs.replica_classes:
        total = pools + RESERVED_CONNECTIONS
        parts.append(f"each replica (all reads may resolve to one): {pools} + {reserved} = {total} "
                     f"{'≤' if total <= inputs.max_connections else '>'} dbMaxConnections {inputs.max_connections}")
    return "; ".join(parts)


def table_row(stack: str, inputs: BudgetInputs) -> str:
    """One stack's row of docs/database-access.md's budget table (generated by `make docs`, offline/figures.py):
    the same arithmetic as `check` and `describe`, at the configured pool."""
    pool, replicas = inputs.pool_size, len(inputs.replica_classes)
    via_writer, direct = _via_writer(inputs, pool), direct_connections(inputs)
    shape = ", ".join([inputs.instance_class.removeprefix("db."), *([] if inputs.proxy_enabled else ["no proxy"]),
                       f"{replicas} replica{'s' if replicas > 1 else ''}" if replicas else "no replica"])
    if inputs.proxy_enabled:
        proxy = (f"{via_writer} → {_with_headroom(via_writer)}", f"{proxy_cap(inputs)} ({inputs.proxy_percent}%)")
        cap = proxy_cap(inputs)
        primary = f"{cap} + {direct + RESERVED_CONNECTIONS} = {cap + direct + RESERVED_CONNECTIONS}"
    else:
        proxy = ("—", "—")
        primary = (f"{via_writer} + {direct} + {RESERVED_CONNECTIONS} = "
                   f"{via_writer + direct + RESERVED_CONNECTIONS}")
    replica = str(_tasks(inputs) * pool + RESERVED_CONNECTIONS) if replicas else "—"
    ceiling = max_connections_ceiling(inputs.instance_class)
    tasks = " + ".join(str(client.max_tasks) for client in inputs.clients)
    return (f"| {stack} ({shape}) | {tasks} | {pool} | {proxy[0]} | {proxy[1]} | {primary} | {replica} | "
            f"{inputs.max_connections}{f' ({ceiling})' if ceiling is not None else ''} |")


def check(inputs: BudgetInputs) -> list[Problem]:
    """Every way the stack can exceed its connection budget, each message naming the numbers."""
    found: list[Problem] = []
    for instance_class in dict.fromkeys([inputs.instance_class, *inputs.replica_classes]):
        ceiling = max_connections_ceiling(instance_class)
        if ceiling is not None and inputs.max_connections > ceiling:
            found.append(Problem("database.tuning.max_connections", (
                f"exceeds {ceiling}, RDS's default for the memory of {instance_class} "
                f"(LEAST(DBInstanceClassMemory/{MEMORY_DIVISOR}, {DEFAULT_MAX_CONNECTIONS_CAP})): every connection "
                "is a backend process that needs memory; choose a larger class or fewer connections")))
    if inputs.proxy_enabled:
        minimum = proxy_minimum_percent(inputs.instance_class)
        if inputs.proxy_percent < minimum:
            found.append(Problem("database.proxy.max_connections_percent", (
                f"below {minimum}, AWS's minimal recommended MaxConnectionsPercent for {inputs.instance_class}")))
        total = proxy_cap(inputs) + direct_connections(inputs) + RESERVED_CONNECTIONS
        if total > inputs.max_connections:
            found.append(Problem("database.proxy.max_connections_percent", (
                f"leaves no room for the direct clients: proxy cap {proxy_cap(inputs)} + migration "
                f"{MIGRATION_CONNECTIONS} + backup {BACKUP_CONNECTIONS} + db-admin {inputs.db_admin_connections} + "
                f"reserved {RESERVED_CONNECTIONS} = {total} > dbMaxConnections {inputs.max_connections}; allowed: "
                f"at most {(inputs.max_connections - total + proxy_cap(inputs)) * 100 // inputs.max_connections}")))
    if not _fits(inputs, inputs.pool_size):
        pool = largest_pool(inputs)
        advice = (f"appDatabasePoolSize ≤ {pool} at these task counts" if pool else
                  "no pool size fits these task counts")
        ceilings = [c for c in (max_connections_ceiling(inputs.instance_class),) if c]
        raise_hint = f" (≤ {ceilings[0]} on {inputs.instance_class})" if ceilings else ""
        found.append(Problem("app.database_pool_size", (
            f"the PostgreSQL connection budget is exceeded at maximum scale: {describe(inputs)}. Allowed: {advice}, "
            f"or lower {'/'.join(c.max_count_key for c in inputs.clients)}, or raise dbMaxConnections{raise_hint}"
            + (" / dbProxyMaxConnectionsPercent" if inputs.proxy_enabled else ""))))
    return found
