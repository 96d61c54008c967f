"""The pack's rules, grouped by area. `ALL_RULES` is what `__main__.py` hands to the PolicyPack."""

from __future__ import annotations

from . import (
    access,
    cache,
    cdn,
    containers,
    database,
    edge,
    identity,
    logging_kms_iam,
    metrics,
    network,
    recovery,
    secrets,
    stack,
    storage,
    tagging,
)
from ._common import Rule

ALL_RULES: list[Rule] = [
    *network.RULES,
    *edge.RULES,
    *cdn.RULES,
    *database.RULES,
    *access.RULES,
    *cache.RULES,
    *containers.RULES,
    *secrets.RULES,
    *storage.RULES,
    *recovery.RULES,
    *logging_kms_iam.RULES,
    *identity.RULES,
    *metrics.RULES,
    *tagging.RULES,
    *stack.RULES,
]

__all__ = ["ALL_RULES", "Rule"]
