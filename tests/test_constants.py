"""One definition of the cross-layer facts: config, policy pack and post-deploy verifier agree with constants.py."""

from __future__ import annotations

import json

import pytest

import stack_config
from components import constants
from ops import verify
from policies.rules import _common, edge, tagging
from tests.configs import MINIMAL_VALID


def test_the_pack_reads_a_current_copy_of_the_shared_constants() -> None:
    copy = json.loads(_common.SHARED_CONSTANTS_FILE.read_text())
    assert copy == constants.pack_constants(), "policies/rules/shared-constants.json is stale: run `make docs`"


def test_config_pack_and_verify_accept_exactly_the_same_tls_policies() -> None:
    assert tuple(edge.ALLOWED_TLS_POLICIES) == constants.TLS_POLICIES
    assert frozenset(constants.TLS_POLICIES) == verify.ALLOWED_TLS_POLICIES
    assert verify.RECOMMENDED_TLS_POLICY == constants.DEFAULT_TLS_POLICY == constants.TLS_POLICIES[0]
    for policy in constants.TLS_POLICIES:  # config accepts every one of them (TLS 1.3-only ones without the CDN) ...
        raw = {**MINIMAL_VALID, "maratron:tlsPolicy": policy,
               **({"maratron:cdnEnabled": "false"} if policy in constants.TLS13_ONLY_POLICIES else {})}
        stack_config.load(raw, stack="test")
    for policy in ("ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
                   "ELBSecurityPolicy-FS-1-2-Res-2020-10", "ELBSecurityPolicy-TLS13-1-1-2021-06"):
        # ... and rejects, like the pack and the verifier, what is not on the list.
        with pytest.raises(stack_config.ConfigError, match="tlsPolicy"):
            stack_config.load({**MINIMAL_VALID, "maratron:tlsPolicy": policy}, stack="test")
        assert policy not in edge.ALLOWED_TLS_POLICIES and policy not in verify.ALLOWED_TLS_POLICIES


def test_the_pack_shares_project_environments_tags_and_hsts_floor() -> None:
    assert _common.PROJECT == constants.PROJECT and _common.ENVIRONMENTS == constants.ENVIRONMENTS
    assert tuple(tagging.REQUIRED_TAGS) == constants.REQUIRED_TAG_KEYS
    assert edge.MIN_HSTS_MAX_AGE == constants.HSTS_MAX_AGE_SECONDS


def test_the_web_acl_deploys_exactly_the_managed_groups_and_redactions_the_pack_requires() -> None:
    from components import waf

    assert tuple(group for _rule, group, _priority, _count in waf.MANAGED_GROUPS) == constants.WAF_MANAGED_RULE_GROUPS
    assert list(constants.WAF_MANAGED_RULE_GROUPS) == edge.REQUIRED_MANAGED_GROUPS
    assert tuple(edge.REDACTED_HEADERS) == waf.REDACTED_HEADERS
