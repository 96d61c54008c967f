"""The seed's production environment variables, minus every secret (those go through `secrets`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

SECRET_NAME_PATTERN = re.compile(r"(SECRET|PASSWORD|TOKEN|API_KEY|_KEY$|DSN|DATABASE_URL|DATABASE_READ_URL|REDIS_URL)")
"""Names that must only ever arrive through `secrets` (URLs with credentials, keys, DSNs)."""


def app_environment(*, environment: str, app_url: str, cors_origins: Iterable[str], port: int, log_level: str,
                    database_pool_size: int, database_max_connections: int, redis_enabled: bool,
                    redis_cluster_enabled: bool, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Plain configuration of one Maratron service (the seed's "Production Environment Variables")."""
    values = {
        "NODE_ENV": "production",
        "NEXT_PUBLIC_APP_URL": app_url,
        "NEXTAUTH_URL": app_url,
        "DATABASE_POOL_SIZE": str(database_pool_size),
        "DATABASE_MAX_CONNECTIONS": str(database_max_connections),
        "REDIS_ENABLED": _flag(redis_enabled),
        "REDIS_CLUSTER_ENABLED": _flag(redis_cluster_enabled),
        "REDIS_KEY_PREFIX": f"maratron:{environment}:",
        "BCRYPT_ROUNDS": "12",
        "LOG_LEVEL": log_level,
        "METRICS_ENABLED": "true",
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_REQUESTS_PER_MINUTE": "60",
        "RATE_LIMIT_AI_REQUESTS_PER_MINUTE": "10",
        "CACHE_ENABLED": "true",
        "CACHE_DEFAULT_TTL": "900",
        "COMPRESSION_ENABLED": "true",
        "CORS_ORIGINS": ",".join(cors_origins),
        "CSRF_PROTECTION": "true",
        "PORT": str(port),
        "HOSTNAME": "0.0.0.0",  # listen on the task ENI, not just loopback (the seed's Dockerfile sets the same)
        **(extra or {}),
    }
    secret_like = sorted(name for name in values if SECRET_NAME_PATTERN.search(name))
    if secret_like:
        raise ValueError(f"{secret_like} look like secrets: pass them as `secrets`, never as environment")
    return values


def _flag(value: bool) -> str:
    return "true" if value else "false"
