"""moto's Secrets Manager as a rotation function sees it mid-rotation (shared by the rotation tests)."""

from __future__ import annotations

import uuid
from typing import Any


class RotatingSecretsManager:
    """moto's Secrets Manager, plus what the service does when it starts a rotation: RotateSecret attaches AWSPENDING
    to a new version id (the token) and reports rotation enabled, then calls the function's four steps. (moto's own
    rotate_secret without a Lambda rotates by itself, which is not what these tests drive.)"""

    def __init__(self, sm: Any) -> None:
        self._sm = sm
        self.pending: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sm, name)

    def start(self, arn: str) -> str:
        self.pending[arn] = str(uuid.uuid4())
        return self.pending[arn]

    def describe_secret(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's keyword
        described = self._sm.describe_secret(SecretId=SecretId)
        described["RotationEnabled"] = True
        stages = described.setdefault("VersionIdsToStages", {})
        token = self.pending.get(SecretId)
        if token and "AWSCURRENT" not in stages.get(token, []):
            stages.setdefault(token, ["AWSPENDING"])
        return described
