"""The Redis user rotation's testSecret (ops/db_admin/redis_rotation.py) against a Secrets Manager stand-in: the new
password may be refused for a moment after setSecret (ModifyUser is asynchronous), so the step retries before it
fails the rotation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ops.db_admin import redis_rotation

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:maratron/prod/redis/app-AbCdEf"
TOKEN = "token-2"
NEW_PASSWORD = "Zq8pendingPasswordValue"
CURRENT = {"rotation": "redis", "userId": "app", "username": "app", "password": "old", "host": "redis.internal",
           "port": 6379}


class SecretsManager:
    """describe_secret and get_secret_value for one secret in the middle of a rotation (AWSPENDING = TOKEN)."""

    class exceptions:  # noqa: N801 - boto3's spelling
        class ResourceNotFoundException(Exception):  # noqa: N818 - boto3's name
            pass

    def describe_secret(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's keyword
        return {"RotationEnabled": True, "VersionIdsToStages": {"token-1": ["AWSCURRENT"], TOKEN: ["AWSPENDING"]}}

    def get_secret_value(self, SecretId: str, VersionStage: str, VersionId: str | None = None  # noqa: N803
                         ) -> dict[str, Any]:
        value = CURRENT if VersionStage == "AWSCURRENT" else {**CURRENT, "password": NEW_PASSWORD}
        return {"SecretString": json.dumps(value)}


def run_test_step(probe: Any, sleeps: list[float]) -> None:
    redis_rotation.rotate({"SecretId": ARN, "ClientRequestToken": TOKEN, "Step": "testSecret"},
                          sm=SecretsManager(), probe=probe, sleep=sleeps.append)


def test_a_refused_login_right_after_the_change_is_retried_with_the_new_password() -> None:
    attempts: list[tuple[str, str]] = []

    def probe(host: str, port: int, username: str, password: str) -> None:
        attempts.append((username, password))
        if len(attempts) < 3:
            raise PermissionError("AUTH as app refused: -WRONGPASS invalid username-password pair")

    sleeps: list[float] = []
    run_test_step(probe, sleeps)
    assert attempts == [("app", NEW_PASSWORD)] * 3 and sleeps == [redis_rotation.TEST_RETRY_SECONDS] * 2


def test_a_login_still_refused_at_the_deadline_fails_the_rotation_without_the_password(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_rotation, "TEST_DEADLINE_SECONDS", 0.0)

    def probe(host: str, port: int, username: str, password: str) -> None:
        raise PermissionError("AUTH as app refused: -WRONGPASS invalid username-password pair")

    with pytest.raises(RuntimeError, match="app cannot log in after 0 s: AUTH as app refused") as caught:
        run_test_step(probe, [])
    assert NEW_PASSWORD not in str(caught.value)
