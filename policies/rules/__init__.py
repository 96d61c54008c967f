"""The pack's rules, grouped by area. `ALL_RULES` is what `__main__.py` hands to the PolicyPack."""

from __future__ import annotations

from . import (
    cache,
    cdn,
    containers,
    database,
    edge,
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
    *cache.RULES,
    *containers.RULES,
    *secrets.RULES,
    *storage.RULES,
    *recovery.RULES,
    *logging_kms_iam.RULES,
    *metrics.RULES,
    *tagging.RULES,
    *stack.RULES,
]

__all__ = ["ALL_RULES", "Rule"]
