"""The JSON layout of every credential secret, and the connection URL composed from it (one place).

Keys AWS tools read are kept (`engine`, `host`, `port`, `username`, `password`, `dbname`: "JSON structure of AWS
Secrets Manager secrets", https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html).
Added here:
* `url`: the connection URL the app reads (ECS injects one JSON key: `valueFrom = <arn>:url::`), recomposed from the
  other keys on every write, so it can never drift from the credentials;
* `libpqUrl`: the same URL with only the query parameters libpq knows (`LIBPQ_PARAMETERS`), for clients that parse
  it with libpq's rules (psycopg, asyncpg, psql): they refuse the whole URL over one unknown parameter, and
  `connection_limit` is Prisma's ("invalid URI query parameter"). ai (Python) reads this key, web (Prisma) `url`;
* `urlQuery`: the URL's query string (`sslmode=require&connection_limit=10`), set by the program;
* `rotation`: the strategy the rotation function applies (master, single, alternating, redis);
* `logins`: for the alternating strategy, the per-user secrets RDS Proxy authenticates against (user -> ARN).
A proxy login secret (`users/<role>`) holds only `username` and `password`: what RDS Proxy reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

MASTER = "master"
"""The RDS master user: rotated by logging in as itself (single user)."""
SINGLE = "single"
"""One login whose password changes in place (migration, backup): one-off consumers tolerate the short switch."""
ALTERNATING = "alternating"
"""Two logins (`<role>` and `<role>_clone`) that take turns, so running tasks keep a valid login until the next
rotation ("Rotation strategy: alternating users", Secrets Manager user guide)."""
REDIS = "redis"
"""An ElastiCache RBAC user with two password slots."""
STRATEGIES = (MASTER, SINGLE, ALTERNATING, REDIS)
CLONE_SUFFIX = "_clone"


def other_user(username: str) -> str:
    """The alternating partner: app_rw <-> app_rw_clone."""
    return username.removesuffix(CLONE_SUFFIX) if username.endswith(CLONE_SUFFIX) else username + CLONE_SUFFIX


LIBPQ_URL = "libpqUrl"
"""The key of the URL with libpq's parameters only."""
LIBPQ_PARAMETERS = frozenset({
    "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "channel_binding", "connect_timeout",
    "client_encoding", "options", "application_name", "fallback_application_name", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode",
    "requiressl", "sslcompression", "sslcert", "sslkey", "sslpassword", "sslcertmode", "sslrootcert", "sslcrl",
    "sslcrldir", "sslsni", "requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname",
    "gsslib", "gssdelegation", "service", "target_session_attrs", "load_balance_hosts"})
"""libpq's connection parameter key words, the only query parameters its URIs take ("Parameter Key Words",
https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS)."""


def postgres_url(value: Mapping[str, Any], *, libpq_only: bool = False) -> str:
    """The connection URL; `libpq_only`: without the query parameters libpq does not know (Prisma's)."""
    query = str(value.get("urlQuery") or "")
    if libpq_only:
        query = "&".join(part for part in query.split("&") if part.split("=", 1)[0] in LIBPQ_PARAMETERS)
    base = (f"postgresql://{quote(str(value['username']), safe='')}:{quote(str(value['password']), safe='')}@"
            f"{value['host']}:{int(value['port'])}/{value['dbname']}")
    return f"{base}?{query}" if query else base


def redis_url(value: Mapping[str, Any]) -> str:
    """rediss:// (TLS) with the RBAC user and its password (ioredis and redis-py read the username from the URL)."""
    return (f"rediss://{quote(str(value['username']), safe='')}:{quote(str(value['password']), safe='')}@"
            f"{value['host']}:{int(value['port'])}")


def with_url(value: Mapping[str, Any]) -> dict[str, Any]:
    """The value with `url` (and for PostgreSQL `libpqUrl`) recomposed from its other keys."""
    out = dict(value)
    if out.get("engine") == "redis":
        out["url"] = redis_url(out)
    else:
        out["url"], out[LIBPQ_URL] = postgres_url(out), postgres_url(out, libpq_only=True)
    return out
