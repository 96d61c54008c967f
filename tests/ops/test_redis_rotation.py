"""The Redis user rotation's testSecret (ops/db_admin/redis_rotation.py) against moto's Secrets Manager: the new
password may be refused for a moment after setSecret (ModifyUser is asynchronous), so the step retries before it
fails the rotation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.db_admin import handler, redis_rotation
from tests.ops.rotating_secrets import RotatingSecretsManager

NEW_PASSWORD = "Zq8pendingPasswordValue"
CURRENT = {"rotation": "redis", "userId": "app", "username": "app", "password": "old", "host": "redis.internal",
           "port": 6379, "userArn": "arn:aws:elasticache:us-east-1:123456789012:user:app"}


@pytest.fixture()
def rotating(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RotatingSecretsManager, str, str]]:
    """A Redis user secret half-way through a rotation: createSecret wrote the new password as AWSPENDING."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        sm = RotatingSecretsManager(boto3.client("secretsmanager", region_name="us-east-1"))
        arn = str(sm.create_secret(Name="t/redis/app", SecretString=json.dumps(CURRENT))["ARN"])
        token = sm.start(arn)
        sm.put_secret_value(SecretId=arn, ClientRequestToken=token, VersionStages=["AWSPENDING"],
                            SecretString=json.dumps({**CURRENT, "password": NEW_PASSWORD}))
        yield sm, arn, token


def run_test_step(rotating: tuple[RotatingSecretsManager, str, str], probe: Any, sleeps: list[float]) -> None:
    sm, arn, token = rotating
    redis_rotation.rotate({"SecretId": arn, "ClientRequestToken": token, "Step": "testSecret"},
                          sm=sm, probe=probe, sleep=sleeps.append)


def test_a_refused_login_right_after_the_change_is_retried_with_the_new_password(
        rotating: tuple[RotatingSecretsManager, str, str]) -> None:
    attempts: list[tuple[str, str]] = []

    def probe(host: str, port: int, username: str, password: str) -> None:
        attempts.append((username, password))
        if len(attempts) < 3:
            raise PermissionError("AUTH as app refused: -WRONGPASS invalid username-password pair")

    sleeps: list[float] = []
    run_test_step(rotating, probe, sleeps)
    assert attempts == [("app", NEW_PASSWORD)] * 3 and sleeps == [handler.TEST_RETRY_SECONDS] * 2


def test_a_login_still_refused_at_the_deadline_fails_the_rotation_without_the_password(
        rotating: tuple[RotatingSecretsManager, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_rotation, "TEST_DEADLINE_SECONDS", 0.0)

    def probe(host: str, port: int, username: str, password: str) -> None:
        raise PermissionError("AUTH as app refused: -WRONGPASS invalid username-password pair")

    with pytest.raises(RuntimeError, match="app cannot log in after 0 s: AUTH as app refused") as caught:
        run_test_step(rotating, probe, [])
    assert NEW_PASSWORD not in str(caught.value)


MOVED = {"REDIS_HOST": "clustercfg.maratron-prod-redis.abc123.use1.cache.amazonaws.com", "REDIS_PORT": "6379",
         "REDIS_USER_ID": "app", "REDIS_USER_ARN": "arn:aws:elasticache:us-east-1:123456789012:user:app"}
"""The function's environment after cluster mode was switched on: the configuration endpoint, not redis.internal."""


@pytest.fixture()
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RotatingSecretsManager, str]]:
    """A Redis user secret as the cache writes it, before any rotation."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        sm = RotatingSecretsManager(boto3.client("secretsmanager", region_name="us-east-1"))
        value = redis_rotation.secret_format.with_url({**CURRENT, "engine": "redis"})
        yield sm, str(sm.create_secret(Name="t/redis/app", SecretString=json.dumps(value))["ARN"])


def test_create_secret_names_pulumis_endpoint_not_the_previous_versions(
        secrets: tuple[RotatingSecretsManager, str]) -> None:
    sm, arn = secrets
    token = sm.start(arn)
    redis_rotation.rotate({"SecretId": arn, "ClientRequestToken": token, "Step": "createSecret"}, sm=sm,
                          environ=MOVED)
    pending = json.loads(sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"])
    assert pending["host"] == MOVED["REDIS_HOST"] and pending["port"] == 6379
    assert pending["url"].startswith("rediss://app:") and pending["url"].endswith(f"@{MOVED['REDIS_HOST']}:6379")
    assert pending["password"] != CURRENT["password"]


class RecordingRotations(RotatingSecretsManager):
    """RotateSecret recorded, not performed (moto would rotate without the function)."""

    def __init__(self, sm: RotatingSecretsManager) -> None:
        super().__init__(sm)
        self.rotated: list[str] = []

    def rotate_secret(self, SecretId: str, RotateImmediately: bool) -> None:  # noqa: N803 - boto3's keywords
        assert RotateImmediately
        self.rotated.append(SecretId)


def test_sync_rotates_only_when_the_endpoint_or_user_changed(secrets: tuple[RotatingSecretsManager, str]) -> None:
    sm, arn = secrets
    recording = RecordingRotations(sm)
    same = {"REDIS_HOST": CURRENT["host"], "REDIS_PORT": str(CURRENT["port"]), "REDIS_USER_ID": CURRENT["userId"],
            "REDIS_USER_ARN": "arn:aws:elasticache:us-east-1:123456789012:user:app"}
    assert not redis_rotation.sync({"action": "sync", "secretArn": arn, **same}, sm=recording)
    assert recording.rotated == []
    assert redis_rotation.sync({"action": "sync", "secretArn": arn, **MOVED}, sm=recording)
    assert recording.rotated == [arn]


class UserStates:
    """ElastiCache's user as setSecret sees it: `modifying` for the first `busy` reads, then `active`; ModifyUser
    refused unless active (InvalidUserStateFault)."""

    def __init__(self, busy: int) -> None:
        self.busy = busy
        self.calls: list[str] = []

    def describe_users(self, UserId: str) -> dict[str, Any]:  # noqa: N803 - boto3's keyword
        self.calls.append("describe")
        status = "modifying" if self.busy > 0 else "active"
        self.busy -= 1
        return {"Users": [{"UserId": UserId, "Status": status}]}

    def modify_user(self, UserId: str, AuthenticationMode: dict[str, Any]) -> None:  # noqa: N803
        assert self.calls and self.calls[-1] == "describe" and self.busy < 0, "InvalidUserStateFault"
        self.calls.append(f"modify {UserId} {len(AuthenticationMode['Passwords'])}")


def test_a_retried_set_secret_waits_for_the_user_before_changing_it(
        rotating: tuple[RotatingSecretsManager, str, str]) -> None:
    """The previous attempt timed out with the user still `modifying`: this one waits, then changes it."""
    sm, arn, token = rotating
    users, sleeps = UserStates(busy=2), []
    redis_rotation.rotate({"SecretId": arn, "ClientRequestToken": token, "Step": "setSecret"}, sm=sm,
                          elasticache=users, sleep=sleeps.append)
    assert users.calls == ["describe", "describe", "describe", "modify app 2", "describe"]
    assert sleeps == [5, 5]
