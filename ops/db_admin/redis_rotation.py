"""The redis-rotation function: Secrets Manager rotation of the ElastiCache Redis 7 RBAC user's password.

Why RBAC users rather than the AUTH token's ROTATE/SET: "When creating a user, you can set up to two passwords. When
you modify a password, any existing connections to replication groups are maintained" (ElastiCache RBAC,
https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html). A rotation therefore touches only the
user - `ModifyUser` with [current, new] - never the replication group (the AUTH token needs two group
modifications, ROTATE then SET, each leaving the group `modifying`). Tasks started before the rotation keep working
with the previous password until the next rotation drops it; the Secret Label Updated rule redeploys them in minutes.

Steps: createSecret (new password, pending value), setSecret (ModifyUser with both passwords, wait until the user
is active again), testSecret (TLS connection, `AUTH <user> <new password>`, `PING`, retried up to a minute),
finishSecret (AWSCURRENT).

Where the user lives is Pulumi's, not the secret's: the group's endpoint (the primary's, or the configuration
endpoint in cluster mode), the port and the user come from the function's environment (ENDPOINT_ENVIRONMENT), so
createSecret writes them into every new version instead of copying the previous one's forward. `pulumi up` invokes
the function with action `sync` and the same values (components/credentials.py): when the current value names
another endpoint or user - cluster mode switched on, a group or user replaced - it starts a rotation at once, which
writes, checks and publishes the new REDIS_URL (and the Secret Label Updated rule redeploys web and ai).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import secret_format
from .handler import CURRENT, PENDING, get_value, retry_until

ENDPOINT_ENVIRONMENT = {"host": "REDIS_HOST", "port": "REDIS_PORT", "userId": "REDIS_USER_ID",
                        "userArn": "REDIS_USER_ARN"}
"""Secret key -> the function's environment variable holding Pulumi's value of it."""

log = logging.getLogger()
log.setLevel(logging.INFO)

PASSWORD_LENGTH = 64  # ElastiCache: 16-128 printable characters; letters and digits only (URL-safe)
ACTIVE_DEADLINE_SECONDS = 240.0
SOCKET_TIMEOUT_SECONDS = 5.0
TEST_DEADLINE_SECONDS = 60.0
"""How long testSecret retries AUTH with the new password. ModifyUser is asynchronous: a `describe_users` that still
answers `active` before ElastiCache has moved the user to `modifying` ends setSecret's wait early, and the first AUTH
can then be refused. Secrets Manager's rotation guide: "You can mitigate this risk with an appropriate retry
strategy" (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html)."""


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)


def resp_command(*parts: str) -> bytes:
    """A Redis command in RESP (array of bulk strings)."""
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def auth_and_ping(host: str, port: int, username: str, password: str, *, use_tls: bool = True,
                  timeout: float = SOCKET_TIMEOUT_SECONDS) -> None:
    """Log in as `username` and PING; raise with Redis's reply (never the password) when either fails."""
    raw = socket.create_connection((host, port), timeout=timeout)
    stream: socket.socket = raw
    try:
        if use_tls:
            context = ssl.create_default_context()  # ElastiCache in-transit encryption uses publicly trusted certs
            stream = context.wrap_socket(raw, server_hostname=host)  # closes nothing on a failed handshake: finally
        stream.sendall(resp_command("AUTH", username, password))
        reply = _read_line(stream)
        if reply != b"+OK":
            raise PermissionError(f"AUTH as {username} refused: {reply[:80].decode(errors='replace')}")
        stream.sendall(resp_command("PING"))
        reply = _read_line(stream)
        if reply != b"+PONG":
            raise RuntimeError(f"PING as {username} answered {reply[:80].decode(errors='replace')}")
    finally:
        stream.close()
        raw.close()  # a no-op once the TLS stream closed it; the socket itself when the handshake failed


def _read_line(stream: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = stream.recv(1)
        if not chunk:
            break
        data += chunk
    return data.rstrip(b"\r\n")


def endpoint(values: Mapping[str, Any]) -> dict[str, Any]:
    """Pulumi's endpoint, port and user, from the function's environment (or a sync event's ENDPOINT_ENVIRONMENT
    names); nothing when they are absent (a function deployed before they were)."""
    found = {key: values[name] for key, name in ENDPOINT_ENVIRONMENT.items() if values.get(name)}
    if "port" in found:
        found["port"] = int(found["port"])
    return found


def sync(event: Mapping[str, Any], sm: Any | None = None) -> bool:
    """`pulumi up`'s check that REDIS_URL names Pulumi's endpoint and user: when the current value names others, a
    rotation starts now (it writes them, as createSecret does, and tests the login before publishing). True when it
    started one. A rotation already running makes RotateSecret fail ("A previous rotation isn't complete"): the
    `up` fails, and a later one succeeds once that rotation is done."""
    sm = sm or _client("secretsmanager")
    arn = str(event["secretArn"])
    wanted = endpoint(event)
    current = get_value(sm, arn)
    if current is None or current.get("rotation") != secret_format.REDIS:
        raise ValueError(f"{arn}: not a Redis user secret (rotation key must be 'redis')")
    stale = sorted(key for key, value in wanted.items() if current.get(key) != value)
    if not stale:
        return False
    log.info("sync %s: %s changed; rotating now", arn, ", ".join(stale))
    sm.rotate_secret(SecretId=arn, RotateImmediately=True)
    return True


def rotate(event: Mapping[str, Any], sm: Any | None = None, elasticache: Any | None = None,
           probe: Callable[..., None] = auth_and_ping, sleep: Callable[[float], None] = time.sleep,
           environ: Mapping[str, str] | None = None) -> None:
    environ = os.environ if environ is None else environ
    sm = sm or _client("secretsmanager")
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    metadata = sm.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise ValueError(f"{arn}: rotation is not enabled")
    versions = metadata.get("VersionIdsToStages", {})
    if token not in versions:
        raise ValueError(f"{arn}: version {token} does not exist")
    if CURRENT in versions[token]:
        return
    if PENDING not in versions[token]:
        raise ValueError(f"{arn}: version {token} is not AWSPENDING")
    current = get_value(sm, arn)
    if current is None or current.get("rotation") != secret_format.REDIS:
        raise ValueError(f"{arn}: not a Redis user secret (rotation key must be 'redis')")
    if step == "createSecret":
        if get_value(sm, arn, PENDING, token) is None:
            pending = {**current, **endpoint(environ)}
            pending["password"] = sm.get_random_password(
                PasswordLength=PASSWORD_LENGTH, ExcludePunctuation=True, RequireEachIncludedType=True)["RandomPassword"]
            sm.put_secret_value(SecretId=arn, ClientRequestToken=token, VersionStages=[PENDING],
                                SecretString=json.dumps(secret_format.with_url(pending), sort_keys=True))
    elif step == "setSecret":
        pending = _pending(sm, arn, token)
        elasticache = elasticache or _client("elasticache")
        # Both slots: the current password keeps working for tasks that still hold it; the older one is dropped.
        user = str(pending["userId"])  # the pending value's: a replaced user is the one the new URL names
        deadline = time.monotonic() + ACTIVE_DEADLINE_SECONDS

        def wait_until_active(when: str) -> None:
            while True:
                users = elasticache.describe_users(UserId=user)["Users"]
                if users and users[0].get("Status") == "active":
                    return
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"setSecret {arn}: user {user} is not active {when} after "
                                       f"{ACTIVE_DEADLINE_SECONDS:g} s")
                sleep(5)

        # A retried step can find the user still `modifying` from the attempt that timed out, and ModifyUser
        # refuses a user that is not active (InvalidUserStateFault: "The user is not in active state", ElastiCache
        # API reference, ModifyUser).
        wait_until_active("before the change")
        elasticache.modify_user(UserId=user, AuthenticationMode={
            "Type": "password", "Passwords": [str(current["password"]), str(pending["password"])]})
        wait_until_active("again")
        log.info("setSecret %s: user %s has the new password (and the current one)", arn, user)
    elif step == "testSecret":
        pending = _pending(sm, arn, token)
        retry_until(lambda: probe(str(pending["host"]), int(pending["port"]), str(pending["username"]),
                                  str(pending["password"])),
                    TEST_DEADLINE_SECONDS, sleep, lambda error: (  # Redis's reply, never the password
                        f"testSecret {arn}: {pending['username']} cannot log in after {TEST_DEADLINE_SECONDS:g} s: "
                        f"{error}"))
        log.info("testSecret %s: %s logs in", arn, pending["username"])
    elif step == "finishSecret":
        current_version = next(v for v, stages in versions.items() if CURRENT in stages)
        sm.update_secret_version_stage(SecretId=arn, VersionStage=CURRENT, MoveToVersionId=token,
                                       RemoveFromVersionId=current_version)
    else:
        raise ValueError(f"{arn}: unknown step {step!r}")


def _pending(sm: Any, arn: str, token: str) -> dict[str, Any]:
    value = get_value(sm, arn, PENDING, token)
    if value is None:
        raise ValueError(f"{arn}: no AWSPENDING value for version {token}")
    return value


def lambda_handler(event: Mapping[str, Any], context: Any) -> None:
    if event.get("action") == "sync":
        sync(event)
    else:
        rotate(event)
