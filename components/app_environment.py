"""The application tier's settings, and the seed's production environment variables minus every secret (those go
through `secrets`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import pulumi

from components.constants import PROJECT, WEB_PORT
from components.images import ImageSource
from components.service import ServiceSettings
from components.settings import Rules, retire, section, setting
from components.task import TaskSize

SECRET_NAME_PATTERN = re.compile(r"(SECRET|PASSWORD|TOKEN|API_KEY|_KEY$|DSN|DATABASE_URL|DATABASE_READ_URL|REDIS_URL)")
"""Names that must only ever arrive through `secrets` (URLs with credentials, keys, DSNs)."""


retire("appDatabaseMaxConnections", "DATABASE_MAX_CONNECTIONS is the database's dbMaxConnections (one fact)")

LogLevel = Literal["debug", "info", "warn", "error"]

WEB_SCRATCH_PATHS = ("/tmp", "/app/.next/cache")
"""What the Next.js server writes on its read-only root filesystem: temp files and the image/ISR cache."""
AI_SCRATCH_PATHS = ("/tmp",)
MIGRATE_SCRATCH_PATHS = ("/tmp",)
"""`npx prisma migrate deploy` with HOME=/tmp and npm_config_cache=/tmp/.npm."""
IMAGE_SCRATCH_PATHS = {"web": tuple(dict.fromkeys(WEB_SCRATCH_PATHS + MIGRATE_SCRATCH_PATHS)), "ai": AI_SCRATCH_PATHS}
"""Image -> every scratch path a task running it mounts (the web image also runs the migration): what a Dockerfile
this repository builds must declare as owned VOLUMEs (components/dockerfile.py)."""


@dataclass(frozen=True, kw_only=True)
class AppSettings:
    """The application tier: each service's image, size and counts, and the environment both services share."""

    web_image: ImageSource = section(ImageSource, prefix="web", title="Web", doc="app: the web service (Next.js)")
    web: ServiceSettings = section(ServiceSettings(size=TaskSize(cpu=1024, memory=2048), desired_count=3,
                                                   max_count=12), prefix="web", title="Web")
    """Seed: 3 replicas of 1 vCPU / 1 GB (Fargate's smallest memory for 1 vCPU is 2 GB); up to 12 under load."""
    ai_image: ImageSource = section(ImageSource, prefix="ai", title="AI server", doc="app: the AI server (Python)")
    ai: ServiceSettings = section(ServiceSettings(size=TaskSize(cpu=512, memory=1024), desired_count=2, max_count=6,
                                                  health_check_tool="python", health_check_path=""),
                                  prefix="ai", title="AI server")
    """Seed: 2 replicas of 0.5 vCPU / 512 MB (Fargate's smallest memory for 0.5 vCPU is 1 GB); up to 6. The seed
    defines no AI health endpoint, so its health check is a TCP connect with the image's own python."""
    ai_request_timeout_seconds: int = setting(
        "aiRequestTimeoutSeconds", 0, "Service Connect per-request timeout of web -> AI calls, in seconds: 0 (off: a "
        "streamed answer ends when it ends; the idle timeout still closes silent connections) or at least every edge "
        "timeout in front (albIdleTimeoutSeconds; behind the CDN also cdnOriginReadTimeoutSeconds). Unset, AWS cuts "
        "every request after 15 s.", minimum=0, maximum=86400)
    ai_port: int = setting(
        "aiPort", 8000, "Port the AI server listens on (1024-65535, not the web's 3000); reachable only from the web "
        "tasks through Service Connect.", minimum=1024, maximum=65535)
    log_level: LogLevel = setting(
        "appLogLevel", "info", "LOG_LEVEL of both services: debug, info, warn or error (the seed's info).")
    database_pool_size: int = setting(
        "appDatabasePoolSize", 10, "Database pool per task and URL: web's Prisma reads it as connection_limit in "
        "DATABASE_URL and DATABASE_READ_URL, ai as DATABASE_POOL_SIZE (its URLs carry libpq's parameters only), "
        "1-100. Default 10 (the seed's 20 cannot fit: see the connection budget, docs/database-access.md); 3x "
        "Prisma's own default for a 1-vCPU task.", minimum=1, maximum=100)

    def validate(self, rules: Rules) -> None:
        if self.ai_port == WEB_PORT:
            rules.problem("ai_port", f"must differ from the web's port {WEB_PORT}")


def app_environment(settings: AppSettings, *, environment: str, app_url: str, cors_origins: Iterable[str], port: int,
                    redis_enabled: bool, redis_cluster_enabled: bool, database_max_connections: int,
                    extra: Mapping[str, pulumi.Input[str]] | None = None) -> dict[str, pulumi.Input[str]]:
    """Plain configuration of one Maratron service (the seed's "Production Environment Variables")."""
    values: dict[str, pulumi.Input[str]] = {
        "NODE_ENV": "production",
        # NODE_ENV is production everywhere: this names the stack, for the app to pass to Sentry's and the logger's
        # `environment` (the seed's code reads NODE_ENV there; docs/app-tier.md)
        "APP_ENVIRONMENT": environment,
        "NEXT_PUBLIC_APP_URL": app_url,
        "NEXTAUTH_URL": app_url,
        "DATABASE_POOL_SIZE": str(settings.database_pool_size),
        "DATABASE_MAX_CONNECTIONS": str(database_max_connections),  # the database's: one fact (dbMaxConnections)
        "REDIS_ENABLED": _flag(redis_enabled),
        "REDIS_CLUSTER_ENABLED": _flag(redis_cluster_enabled),
        "REDIS_KEY_PREFIX": f"{PROJECT}:{environment}:",
        "BCRYPT_ROUNDS": "12",
        "LOG_LEVEL": settings.log_level,
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
