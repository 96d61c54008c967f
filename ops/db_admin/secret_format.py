"""The JSON layout of every credential secret, and the connection URL composed from it (one place).

Keys AWS tools read are kept (`engine`, `host`, `port`, `username`, `password`, `dbname`: "JSON structure of AWS
Secrets Manager secrets", https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html).
Added here:
* `url`: the connection URL the app reads (ECS injects one JSON key: `valueFrom = <arn>:url::`), recomposed from the
  other keys on every write, so it can never drift from the credentials;
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


def postgres_url(value: Mapping[str, Any]) -> str:
    query = str(value.get("urlQuery") or "")
    base = (f"postgresql://{quote(str(value['username']), safe='')}:{quote(str(value['password']), safe='')}@"
            f"{value['host']}:{int(value['port'])}/{value['dbname']}")
    return f"{base}?{query}" if query else base


def redis_url(value: Mapping[str, Any]) -> str:
    """rediss:// (TLS) with the RBAC user and its password (ioredis and redis-py read the username from the URL)."""
    return (f"rediss://{quote(str(value['username']), safe='')}:{quote(str(value['password']), safe='')}@"
            f"{value['host']}:{int(value['port'])}")


def with_url(value: Mapping[str, Any]) -> dict[str, Any]:
    """The value with `url` recomposed from its other keys."""
    out = dict(value)
    out["url"] = redis_url(out) if out.get("engine") == "redis" else postgres_url(out)
    return out
