"""The db-admin function: `bootstrap` (deploy time) and Secrets Manager rotation of the PostgreSQL credentials.

Events:
* `{"action": "bootstrap", ...}` - invoked by `pulumi up` (aws.lambda_.Invocation) once the primary exists, and by CI
  or an operator at any time (`dbBootstrapCommand` output). Idempotent: writes every connection secret's value (the
  only writer besides rotation: passwords never enter Pulumi state), then converges roles and privileges
  (roles.converge) as the master. Refuses while a rotation is in progress.
* `{"SecretId", "ClientRequestToken", "Step"}` - Secrets Manager rotation (createSecret, setSecret, testSecret,
  finishSecret; https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html).
  The strategy is the secret's `rotation` key (secret_format): master, single or alternating.

Passwords reach PostgreSQL only as SCRAM verifiers (scram.py); nothing here logs a secret value (log lines name users
and secret ARNs only). Each invocation holds at most one database connection at a time: the connection budget counts
one per concurrent invocation.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import postgres, roles, scram, secret_format
from .secret_format import ALTERNATING, MASTER, SINGLE

log = logging.getLogger()
log.setLevel(logging.INFO)

CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"
PASSWORD_LENGTH = 48
"""Letters and digits only: no URL escaping, and valid for PostgreSQL and ElastiCache (16-128 printable)."""
TEST_DEADLINE_SECONDS = 240.0
"""How long testSecret retries a login: RDS Proxy reads a login secret's new value on its own schedule, a replica
applies ALTER ROLE with its replication lag, and on a first deploy Secrets Manager tests the new rotation of each
login at once ("if you don't immediately rotate the secret, Secrets Manager tests the rotation configuration by
running the testSecret step", RotateSecret RotateImmediately) while the proxy target may still be registering
(~3 min; the provider does not wait for it to be AVAILABLE). Within the function's 300 s timeout."""
TEST_RETRY_SECONDS = 5.0


class RotationInProgressError(RuntimeError):
    """A secret has an AWSPENDING version: bootstrap must not write it while a rotation runs."""


def _client(service: str) -> Any:
    import boto3  # the Lambda runtime ships boto3

    return boto3.client(service)


# --- Secrets Manager helpers ----------------------------------------------------------------------------------------

def get_value(sm: Any, arn: str, stage: str = CURRENT, version_id: str | None = None) -> dict[str, Any] | None:
    """The JSON value of a stage (or version), or None when the secret has no such version yet."""
    try:
        kwargs: dict[str, str] = {"SecretId": arn}
        if version_id:
            kwargs["VersionId"] = version_id
        kwargs["VersionStage"] = stage
        response = sm.get_secret_value(**kwargs)
    except sm.exceptions.ResourceNotFoundException:
        return None
    value = json.loads(response["SecretString"])
    if not isinstance(value, dict):
        raise ValueError(f"{arn}: the secret value is not a JSON object")
    return value


def random_password(sm: Any) -> str:
    return str(sm.get_random_password(PasswordLength=PASSWORD_LENGTH, ExcludePunctuation=True,
                                      RequireEachIncludedType=True)["RandomPassword"])


def pending_elsewhere(sm: Any, arn: str) -> bool:
    stages = sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    return any(PENDING in labels and CURRENT not in labels for labels in stages.values())


def put_current(sm: Any, arn: str, value: Mapping[str, Any]) -> None:
    """Write a new AWSCURRENT version (Secrets Manager moves AWSPREVIOUS itself)."""
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps(dict(value), sort_keys=True))


# --- bootstrap ------------------------------------------------------------------------------------------------------

def bootstrap(event: Mapping[str, Any], sm: Any | None = None,
              connect: Callable[..., Any] = postgres.connect) -> dict[str, Any]:
    """Write the connection and proxy-login secrets (keeping existing passwords), then converge the roles.

    All of it under ROLES_LOCK, which a rotation's setSecret takes too: a rotation that started after the pending
    check would otherwise set a new password the converge then puts back to the one read here (AWSCURRENT moving to
    a password PostgreSQL refuses, or testSecret failing and AWSPENDING stuck)."""
    sm = sm or _client("secretsmanager")
    passwords: dict[str, str] = {}
    written: list[str] = []
    master = _master(sm, connect, event["masterSecretArn"])
    database = event["database"]
    connection = connect(master, host=database["host"], database=database["dbname"])
    try:
        _lock_roles(connection)
        for spec in event["connections"]:
            written += _ensure_connection(sm, spec, passwords)
        missing = [login for login in roles.LOGINS if login not in passwords]
        if missing:
            raise ValueError(f"the bootstrap event defines no connection for {missing}")
        statements = roles.converge(connection.run, database["dbname"],
                                    {login: scram.verifier(password) for login, password in passwords.items()})
    finally:
        connection.close()  # ends the session: the lock goes with it
    log.info("bootstrap: %d statements converged roles %s; secrets written: %s", len(statements),
             ", ".join(sorted(passwords)), ", ".join(written) or "none")
    return {"roles": sorted(passwords), "secretsWritten": written}


ROLES_LOCK = 0x6D617261
"""The PostgreSQL advisory lock ("mara") the bootstrap holds from its pending-rotation check to its converge, and a
rotation's setSecret around the password change: one at a time. A session lock, released when the connection
closes (so also when the function is stopped mid-way)."""
ROLES_LOCK_TIMEOUT = "120s"
"""How long either waits for the other (a converge takes seconds) before failing with a clear lock-timeout error,
well inside the function's 300 s."""


def _lock_roles(connection: Any) -> None:
    connection.run(f"SET lock_timeout = '{ROLES_LOCK_TIMEOUT}'")  # advisory-lock waits count as lock waits
    connection.run(f"SELECT pg_advisory_lock({ROLES_LOCK})")


def _ensure_connection(sm: Any, spec: Mapping[str, Any], passwords: dict[str, str]) -> list[str]:
    arn, strategy, base = spec["secretArn"], spec["rotation"], spec["username"]
    if strategy not in (SINGLE, ALTERNATING):
        raise ValueError(f"{arn}: unsupported strategy {strategy!r} for a connection secret")
    if pending_elsewhere(sm, arn):
        raise RotationInProgressError(f"{arn} is being rotated (an AWSPENDING version exists); run the bootstrap "
                                      "again when the rotation has finished or was cancelled")
    logins: dict[str, str] = dict(spec.get("logins") or {})
    current = get_value(sm, arn)
    if current is not None:
        username, password = str(current["username"]), str(current["password"])
        allowed = {base, secret_format.other_user(base)} if strategy == ALTERNATING else {base}
        if username not in allowed:
            raise ValueError(f"{arn}: holds user {username!r}, expected one of {sorted(allowed)}")
    else:
        username = base
        login = get_value(sm, logins[base]) if strategy == ALTERNATING else None
        password = str(login["password"]) if login else random_password(sm)
    value = secret_format.with_url({
        "engine": "postgres", "host": spec["host"], "port": int(spec["port"]), "dbname": spec["dbname"],
        "username": username, "password": password, "urlQuery": spec.get("urlQuery", ""), "rotation": strategy,
        **({"logins": logins} if strategy == ALTERNATING else {}),
    })
    written: list[str] = []
    if value != current:
        put_current(sm, arn, value)
        written.append(arn)
    passwords[username] = password
    if strategy == ALTERNATING:
        for user in (username, secret_format.other_user(username)):
            login = get_value(sm, logins[user])
            wanted = password if user == username else (str(login["password"]) if login else random_password(sm))
            if login != {"username": user, "password": wanted}:
                put_current(sm, logins[user], {"username": user, "password": wanted})
                written.append(logins[user])
            passwords[user] = wanted
    return written


# --- rotation -------------------------------------------------------------------------------------------------------

def rotate(event: Mapping[str, Any], sm: Any | None = None, connect: Callable[..., Any] = postgres.connect,
           sleep: Callable[[float], None] = time.sleep) -> None:
    sm = sm or _client("secretsmanager")
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    metadata = sm.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise ValueError(f"{arn}: rotation is not enabled")
    versions = metadata.get("VersionIdsToStages", {})
    if token not in versions:
        raise ValueError(f"{arn}: version {token} does not exist")
    if CURRENT in versions[token]:
        log.info("%s: version %s is already AWSCURRENT", arn, token)
        return
    if PENDING not in versions[token]:
        raise ValueError(f"{arn}: version {token} is not AWSPENDING")
    current = get_value(sm, arn)
    if current is None:
        raise ValueError(f"{arn}: no AWSCURRENT value to rotate from")
    strategy = current.get("rotation")
    if strategy not in (MASTER, SINGLE, ALTERNATING):
        raise ValueError(f"{arn}: rotation strategy {strategy!r} is not handled by this function")
    if step == "createSecret":
        _create(sm, arn, token, current)
    elif step == "setSecret":
        _set(sm, arn, token, current, connect)
    elif step == "testSecret":
        _test(sm, arn, token, connect, sleep)
    elif step == "finishSecret":
        _finish(sm, arn, token, versions)
    else:
        raise ValueError(f"{arn}: unknown step {step!r}")


def _create(sm: Any, arn: str, token: str, current: Mapping[str, Any]) -> None:
    if get_value(sm, arn, PENDING, token) is not None:
        return  # a retried step: the pending value exists
    pending = dict(current)
    if current["rotation"] == ALTERNATING:
        pending["username"] = secret_format.other_user(str(current["username"]))
    pending["password"] = random_password(sm)
    sm.put_secret_value(SecretId=arn, ClientRequestToken=token,
                        SecretString=json.dumps(secret_format.with_url(pending), sort_keys=True),
                        VersionStages=[PENDING])
    log.info("createSecret %s: pending version for user %s", arn, pending["username"])


def _pending(sm: Any, arn: str, token: str) -> dict[str, Any]:
    value = get_value(sm, arn, PENDING, token)
    if value is None:
        raise ValueError(f"{arn}: no AWSPENDING value for version {token}")
    return value


def _set(sm: Any, arn: str, token: str, current: Mapping[str, Any], connect: Callable[..., Any]) -> None:
    pending = _pending(sm, arn, token)
    user = str(pending["username"])
    verifier = scram.verifier(str(pending["password"]))
    statement = f"ALTER ROLE {roles.quote_identifier(user)} WITH PASSWORD {roles.quote_literal(verifier)}"
    if pending["rotation"] == MASTER:
        if _can_login(connect, pending):
            return  # a retried step: the new password is already in place
        admin = current
    else:
        admin = _master(sm, connect)
    connection = connect(admin, host=str(admin["host"]), database=str(admin["dbname"]))
    try:
        if pending["rotation"] != MASTER:  # the bootstrap converges the logins, never the master's password
            _lock_roles(connection)
        if pending["rotation"] == ALTERNATING:
            # The proxy authenticates this user against its login secret: give it the new password first, so no
            # client of the proxy ever holds a password the proxy does not know (nobody uses this user until
            # finishSecret).
            login_arn = pending["logins"][user]
            if get_value(sm, login_arn) != {"username": user, "password": pending["password"]}:
                put_current(sm, login_arn, {"username": user, "password": pending["password"]})
        connection.run(statement)
    finally:
        connection.close()
    log.info("setSecret %s: password of %s changed", arn, user)


def _master(sm: Any, connect: Callable[..., Any], arn: str | None = None) -> dict[str, Any]:
    """The master secret's value (`arn`, default the function's MASTER_SECRET_ARN) that logs in: AWSCURRENT, or
    AWSPENDING while the master's own rotation (same window) is between its setSecret (the database has the new
    password) and its finishSecret (AWSCURRENT still has the old one). Secrets Manager: "there is a short period of
    time between when the password in the database changes and when the secret is updated ... You can mitigate this
    risk with an appropriate retry strategy" (https://docs.aws.amazon.com/secretsmanager/latest/userguide/
    rotation-strategy.html)."""
    import os

    arn = arn or os.environ["MASTER_SECRET_ARN"]
    value = get_value(sm, arn)
    if value is None:
        raise ValueError("the master secret has no value yet")
    if _can_login(connect, value):
        return value
    pending = get_value(sm, arn, PENDING)
    if pending is not None and _can_login(connect, pending):
        return pending
    return value  # the caller's own connect then reports why it cannot log in


def _can_login(connect: Callable[..., Any], value: Mapping[str, Any]) -> bool:
    try:
        connection = connect(value)
    except Exception:  # any failure to log in means "not yet"
        return False
    connection.close()
    return True


def _test(sm: Any, arn: str, token: str, connect: Callable[..., Any], sleep: Callable[[float], None]) -> None:
    pending = _pending(sm, arn, token)

    def attempt() -> None:
        connection = connect(pending)
        try:
            connection.run("SELECT 1")
        finally:
            connection.close()

    retry_until(attempt, TEST_DEADLINE_SECONDS, sleep, lambda error: (
        f"testSecret {arn}: {pending['username']} cannot log in at {pending['host']}: {type(error).__name__}"))
    log.info("testSecret %s: %s logs in at %s", arn, pending["username"], pending["host"])


def retry_until(attempt: Callable[[], None], deadline_seconds: float, sleep: Callable[[float], None],
                failure: Callable[[Exception], str]) -> None:
    """Call `attempt` until it returns, TEST_RETRY_SECONDS apart; past `deadline_seconds`, raise RuntimeError with
    `failure(error)` (which must not repeat a secret the error may carry) instead of the error itself."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            attempt()
            return
        except Exception as error:
            if time.monotonic() >= deadline:
                raise RuntimeError(failure(error)) from None
            sleep(TEST_RETRY_SECONDS)


def _finish(sm: Any, arn: str, token: str, versions: Mapping[str, list[str]]) -> None:
    current_version = next(version for version, stages in versions.items() if CURRENT in stages)
    sm.update_secret_version_stage(SecretId=arn, VersionStage=CURRENT, MoveToVersionId=token,
                                   RemoveFromVersionId=current_version)
    log.info("finishSecret %s: version %s is AWSCURRENT", arn, token)


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any] | None:
    if "Step" in event:
        rotate(event)
        return None
    if event.get("action") == "bootstrap":
        return bootstrap(event)
    raise ValueError(f"unknown event (keys {sorted(event)}): expected a rotation step or action=bootstrap")
