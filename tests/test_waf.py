"""WAF: the web ACL at the front door (REGIONAL on the ALB in dev, CLOUDFRONT in us-east-1 behind the CDN), the
seed's rate limits with scope-down paths, managed groups, redacted logs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import stack_config
from components.base import AwsContext
from components.waf import (
    WCU_INCLUDED,
    RateLimit,
    WafSettings,
    WebFirewallArgs,
    scope_down,
    web_acl_capacity,
    web_acl_rules,
)
from offline.engine import StackRun
from tests.configs import EDGE_VARIANT, MINIMAL_VALID, PROD_VARIANT, WAF_LARGEST_ALLOWED

ACL = "aws:wafv2/webAcl:WebAcl"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
MANAGED = {"ip-reputation": ("AWSManagedRulesAmazonIpReputationList", 10),
           "common": ("AWSManagedRulesCommonRuleSet", 50),
           "bad-inputs": ("AWSManagedRulesKnownBadInputsRuleSet", 60),
           "sqli": ("AWSManagedRulesSQLiRuleSet", 70)}


def rules(run: StackRun) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in run.one(ACL).inputs["rules"]}


def rate(run: StackRun, name: str) -> dict[str, Any]:
    return rules(run)[name]["statement"]["rateBasedStatement"]


def starts_with(prefix: str) -> dict[str, Any]:
    return {"byteMatchStatement": {
        "fieldToMatch": {"uriPath": {}}, "positionalConstraint": "STARTS_WITH", "searchString": prefix,
        "textTransformations": [{"priority": 0, "type": "URL_DECODE"}, {"priority": 1, "type": "NORMALIZE_PATH"},
                               {"priority": 2, "type": "LOWERCASE"}]}}


def test_web_acl_allows_by_default_and_is_named_for_the_stack(any_stack: StackRun) -> None:
    acl = any_stack.one(ACL).inputs
    assert acl["defaultAction"] == {"allow": {}}
    # A prefix, not a name: toggling the CDN replaces the ACL (scope), create-first only when Pulumi names it.
    assert acl["namePrefix"] == f"maratron-{any_stack.stack}-" and "name" not in acl
    assert acl["visibilityConfig"]["cloudwatchMetricsEnabled"] is True
    # The WebACL dimension the observability alarms use (WebFirewall.metric_name).
    assert acl["visibilityConfig"]["metricName"] == f"maratron-{any_stack.stack}"


def test_as_the_front_door_the_regional_acl_is_associated_with_the_alb(dev: StackRun) -> None:
    assert dev.one(ACL).inputs["scope"] == "REGIONAL" and "region" not in dev.one(ACL).inputs
    association = dev.one("aws:wafv2/webAclAssociation:WebAclAssociation")
    assert association.inputs["resourceArn"] == dev.one("aws:lb/loadBalancer:LoadBalancer").outputs["arn"]
    assert association.inputs["webAclArn"] == dev.one(ACL).outputs["arn"]
    # Its delete disassociates whatever ACL the ALB has: replaced create-first, it would remove its successor
    # (pulumi/pulumi-aws#4782).
    assert association.delete_before_replace


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_behind_the_cdn_the_acl_is_cloudfront_scope_named_by_the_distribution(run_variant, stack: str) -> None:  # type: ignore[no-untyped-def]
    run = run_variant(stack)
    acl = run.one(ACL)
    assert acl.inputs["scope"] == "CLOUDFRONT"
    # us-east-1 stacks leave `region` unset (the provider's), which is where a CLOUDFRONT ACL must live.
    assert run.config["aws:region"] == "us-east-1" and "region" not in acl.inputs
    assert run.of_type("aws:wafv2/webAclAssociation:WebAclAssociation") == []
    distribution = run.one("aws:cloudfront/distribution:Distribution")
    assert distribution.inputs["webAclId"] == acl.outputs["arn"]
    assert acl.urn in distribution.property_dependencies["webAclId"]


def test_toggling_the_cdn_replaces_nothing_we_name(staging: StackRun, run_variant) -> None:  # type: ignore[no-untyped-def]
    """cdnEnabled moves the ACL between scopes (and, outside us-east-1, regions): inputs that force a replacement.
    Pulumi replaces a resource we name delete-first, and WAF refuses to delete an ACL the distribution or the ALB
    still uses; so whatever the toggle replaces must be auto-named (the proxy of a day-2 review, Z17)."""
    off = run_variant("staging", cdnEnabled=False)
    assert off.ok, off.error_details
    assert staging.one(ACL).inputs["scope"] == "CLOUDFRONT" and off.one(ACL).inputs["scope"] == "REGIONAL"
    before = {r.urn: r for r in staging.resources if r.custom}
    moved = [r for r in off.resources if r.custom and r.urn in before and any(
        r.inputs.get(key) != before[r.urn].inputs.get(key) for key in ("scope", "region"))]
    assert [r.name for r in moved] == ["waf-acl"]
    assert not [r.name for r in moved if "name" in r.inputs]


def test_prod_rate_rules_are_the_seeds_limits(prod: StackRun) -> None:
    general = rate(prod, "api-rate")
    assert (general["limit"], general["evaluationWindowSec"], general["aggregateKeyType"]) == (60, 60, "IP")
    assert general["scopeDownStatement"] == starts_with("/api/")
    ai = rate(prod, "ai-rate")
    assert (ai["limit"], ai["evaluationWindowSec"], ai["aggregateKeyType"]) == (10, 60, "IP")
    assert ai["scopeDownStatement"] == starts_with("/api/chat")
    flood = rate(prod, "flood")
    assert (flood["limit"], flood["evaluationWindowSec"]) == (1000, 60) and "scopeDownStatement" not in flood
    # Sign-in attempts: NextAuth's callbacks and sign-in, never /api/auth/session (every page polls it).
    auth = rate(prod, "auth-rate")
    assert (auth["limit"], auth["evaluationWindowSec"], auth["aggregateKeyType"]) == (10, 60, "IP")
    assert auth["scopeDownStatement"] == {"orStatement": {"statements": [
        starts_with("/api/auth/callback/"), starts_with("/api/auth/signin")]}}


def test_rate_limits_are_per_environment(dev: StackRun, staging: StackRun) -> None:
    assert (rate(dev, "api-rate")["limit"], rate(dev, "ai-rate")["limit"]) == (300, 30)
    assert (rate(staging, "api-rate")["limit"], rate(staging, "ai-rate")["limit"]) == (60, 10)


def test_rate_rules_block_with_429_and_retry_after(any_stack: StackRun) -> None:
    for name in ("flood", "api-rate", "ai-rate", "auth-rate"):
        response = rules(any_stack)[name]["action"]["block"]["customResponse"]
        assert response["responseCode"] == 429, name
        assert response["responseHeaders"] == [{"name": "Retry-After", "value": "60"}], name
        assert response["customResponseBodyKey"] == "rate-limited", name
    bodies = any_stack.one(ACL).inputs["customResponseBodies"]
    assert [b["key"] for b in bodies] == ["rate-limited"] and json.loads(bodies[0]["content"])["error"]


def test_several_ai_paths_are_or_ed_and_no_paths_means_every_request(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **EDGE_VARIANT)
    assert run.ok, run.error_details
    assert rate(run, "ai-rate")["scopeDownStatement"] == {"orStatement": {"statements": [
        starts_with("/api/chat"), starts_with("/api/coach")]}}
    assert "scopeDownStatement" not in rate(run, "api-rate")
    assert {rate(run, n)["evaluationWindowSec"] for n in ("flood", "api-rate", "ai-rate")} == {300}
    retry = rules(run)["ai-rate"]["action"]["block"]["customResponse"]["responseHeaders"]
    assert retry == [{"name": "Retry-After", "value": "300"}]


def test_scope_down_lowercases_the_search_string() -> None:
    assert scope_down(["/API/Chat"]) == {"byte_match_statement": {
        "field_to_match": {"uri_path": {}}, "positional_constraint": "STARTS_WITH", "search_string": "/api/chat",
        "text_transformations": [{"priority": 0, "type": "URL_DECODE"}, {"priority": 1, "type": "NORMALIZE_PATH"},
                                 {"priority": 2, "type": "LOWERCASE"}]}}
    assert scope_down([]) is None


def test_managed_rule_groups_run_with_their_own_actions(any_stack: StackRun) -> None:
    found = rules(any_stack)
    for name, (group, priority) in MANAGED.items():
        rule = found[name]
        assert rule["priority"] == priority, name
        assert rule["statement"]["managedRuleGroupStatement"]["vendorName"] == "AWS"
        assert rule["statement"]["managedRuleGroupStatement"]["name"] == group
        assert rule["overrideAction"] == {"none": {}}, name
    common = found["common"]["statement"]["managedRuleGroupStatement"]
    assert common["ruleActionOverrides"] == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]


def test_rules_are_ordered_uniquely_and_every_rule_has_metrics(any_stack: StackRun) -> None:
    listed = any_stack.one(ACL).inputs["rules"]
    priorities = [r["priority"] for r in listed]
    assert priorities == sorted(priorities) and len(set(priorities)) == len(priorities) == 8
    assert [r["name"] for r in listed] == ["ip-reputation", "flood", "api-rate", "ai-rate", "auth-rate", "common",
                                           "bad-inputs", "sqli"]
    metrics = [r["visibilityConfig"]["metricName"] for r in listed]
    assert len(set(metrics)) == len(metrics)
    for rule in listed:
        assert rule["visibilityConfig"]["cloudwatchMetricsEnabled"] is True, rule["name"]
        assert rule["visibilityConfig"]["sampledRequestsEnabled"] is True, rule["name"]


def test_waf_logs_go_to_an_encrypted_group_with_credentials_redacted(any_stack: StackRun) -> None:
    group = any_stack.one("aws:cloudwatch/logGroup:LogGroup", "waf-logs")
    assert group.inputs["name"] == f"aws-waf-logs-maratron-{any_stack.stack}"
    assert group.inputs["kmsKeyId"] == any_stack.one("aws:kms/key:Key", "keys-logs").outputs["arn"]
    assert group.inputs["retentionInDays"] == int(any_stack.config["maratron:logRetentionDays"])
    logging = any_stack.one(LOGGING)
    assert logging.inputs["resourceArn"] == any_stack.one(ACL).outputs["arn"]
    assert logging.inputs["logDestinationConfigs"] == [group.outputs["arn"]]
    assert logging.inputs["redactedFields"] == [{"singleHeader": {"name": "authorization"}},
                                                {"singleHeader": {"name": "cookie"}}, {"queryString": {}}]


def test_log_delivery_policy_covers_only_the_waf_group_of_this_account(any_stack: StackRun) -> None:
    group = any_stack.one("aws:cloudwatch/logGroup:LogGroup", "waf-logs")
    policy = any_stack.one("aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "waf-logs")
    statement = json.loads(policy.inputs["policyDocument"])["Statement"]
    assert statement == [{
        "Sid": "WafLogDelivery", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": f"{group.outputs['arn']}:*",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"},
                      "ArnLike": {"aws:SourceArn": "arn:aws:logs:us-east-1:123456789012:*"}}}]
    assert policy.urn in any_stack.one(LOGGING).dependencies


def test_component_args_enforce_waf_limits() -> None:
    with pytest.raises(ValueError, match="WAF's minimum is 10"):
        RateLimit(5)
    with pytest.raises(ValueError, match="must start with /"):
        RateLimit(10, ("api/chat",))
    ctx = AwsContext("123456789012", "aws", "us-east-1")
    with pytest.raises(ValueError, match="wafRateLimitWindowSeconds = 30: must be one of 60, 120, 300, 600"):
        WebFirewallArgs(context=ctx, load_balancer_arn="arn", log_key=None, log_retention_days=30,  # type: ignore
                        settings=WafSettings(window_seconds=30))


GOOD = dict(MINIMAL_VALID)


def waf_problems(**changes: str) -> list[str]:
    raw = {**GOOD, **{f"maratron:{k}": v for k, v in changes.items()}}
    with pytest.raises(stack_config.ConfigError) as caught:
        stack_config.load(raw, stack="test")
    return [str(p) for p in caught.value.problems]


def test_waf_settings_load_with_the_seeds_defaults() -> None:
    waf = stack_config.load(GOOD, stack="test").waf
    assert (waf.window_seconds, waf.rate_limit, waf.ai_rate_limit, waf.flood_rate_limit) == (60, 60, 10, 1000)
    assert waf.rate_limit_paths == ("/api/",) and waf.ai_paths == ("/api/chat",)
    assert waf == WafSettings()  # the component's defaults are the stack's (one declaration)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"wafRateLimitWindowSeconds": "30"},
     "maratron:wafRateLimitWindowSeconds = 30: must be one of 60, 120, 300, 600"),
    ({"wafRateLimit": "5"}, "maratron:wafRateLimit = 5: must be between 10 and 2000000000"),
    ({"wafAiRateLimit": "9"}, "maratron:wafAiRateLimit = 9: must be between 10 and 2000000000"),
    ({"wafFloodRateLimit": "0"}, "maratron:wafFloodRateLimit = 0: must be between 10 and 2000000000"),
    ({"wafAiRateLimit": "100"}, "maratron:wafAiRateLimit = 100: must be at most wafRateLimit (60)"),
    ({"wafAuthRateLimit": "100"}, "maratron:wafAuthRateLimit = 100: must be at most wafRateLimit (60): the sign-in "
                                  "limit is the stricter one"),
    ({"wafAuthPaths": "[]"}, "maratron:wafAuthPaths = []: must list 1 to 5 path prefixes of the sign-in routes"),
    ({"wafFloodRateLimit": "50"},
     "maratron:wafFloodRateLimit = 50: must be at least wafRateLimit (60): it counts every request"),
    ({"wafAiPaths": "[]"}, "maratron:wafAiPaths = []: must list 1 to 5 path prefixes of the AI routes"),
    ({"wafAiPaths": '["api/chat"]'}, "'api/chat': must be a URL path prefix starting with /"),
    ({"wafRateLimitPaths": '["/api/ x"]'}, "'/api/ x': must be a URL path prefix starting with /"),
    ({"wafRateLimitPaths": json.dumps([f"/p{i}" for i in range(6)])},
     "maratron:wafRateLimitPaths = [\"/p0\", \"/p1\", \"/p2\", \"/p3\", \"/p4\", \"/p5\"]: must list at most 5"),
])
def test_waf_config_errors_name_key_value_and_rule(changes: dict[str, str], expected: str) -> None:
    found = waf_problems(**changes)
    assert any(expected in p for p in found), found


def test_a_rejected_limit_does_not_pile_on_cross_field_errors() -> None:
    assert waf_problems(wafRateLimit="x") == ["maratron:wafRateLimit = \"x\": must be an integer"]


# --- capacity (WCU) -------------------------------------------------------------------------------------------------
# By hand from the AWS WAF developer guide (components/waf.py cites the pages): the managed groups are IP reputation 25
# + core rule set 700 + known bad inputs 200 + SQL database 200 = 1,125; each rate rule costs 2 plus its scope-down;
# each path prefix is a starts-with string match (2) with 3 text transformations (3 x 10) = 32, and an OR of several
# costs only what it holds. Default paths: /api/ (general), /api/chat (AI), two sign-in paths (auth), flood none:
# 1,125 + 4 x 2 + 4 x 32 = 1,125 + 8 + 128 = 1,261.
DEFAULT_WCU = 1_261
# The largest path settings allowed: 1,125 + 8 = 1,133 before any path, (1,500 - 1,133) // 32 = 11 prefixes, 11 x 32 =
# 352, 1,133 + 352 = 1,485. One more (12) is 1,517 and the full 5 + 5 + 5 = 15 is 1,133 + 480 = 1,613.
LARGEST_ALLOWED = WAF_LARGEST_ALLOWED


def snake(value: Any) -> Any:
    """The engine's camelCase inputs back in the provider's snake_case input shape (keys only)."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake(v) for v in value]
    return value


def test_the_registered_rules_are_the_priced_ones(any_stack: StackRun) -> None:
    settings = stack_config.load(any_stack.config, stack=any_stack.stack).waf
    registered = snake(any_stack.one(ACL).inputs["rules"])
    assert registered == snake(web_acl_rules(settings, f"maratron-{any_stack.stack}"))
    assert web_acl_capacity(registered) == web_acl_capacity(web_acl_rules(settings)) == DEFAULT_WCU


def test_the_dr_stack_has_the_default_capacity(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("dr")
    assert run.ok, run.error_details
    assert web_acl_capacity(snake(run.one(ACL).inputs["rules"])) == DEFAULT_WCU


def test_the_largest_allowed_path_settings_fit_the_included_capacity(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **PROD_VARIANT)  # LARGEST_ALLOWED, with other parts' settings: one run
    assert run.ok, run.error_details
    assert {k: json.loads(run.config[f"maratron:{k}"]) for k in LARGEST_ALLOWED} == LARGEST_ALLOWED
    assert web_acl_capacity(snake(run.one(ACL).inputs["rules"])) == 1_485 <= WCU_INCLUDED


def test_paths_over_the_included_capacity_fail_before_any_resource(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **{**LARGEST_ALLOWED, "wafAuthPaths": [f"/api/auth/s{i}" for i in range(4)]})
    assert not run.ok
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]  # the program's root only: nothing of AWS
    assert str(run.error).count("\n  - ") == 1, str(run.error)
    assert ('maratron:wafRateLimitPaths = ["/api/r0", "/api/r1", "/api/r2", "/api/r3", "/api/r4"]: '
            "wafRateLimitPaths, wafAiPaths and wafAuthPaths hold 12 path prefixes together, which make the web ACL "
            "1517 WCU, over the 1500 included in AWS WAF's web ACL price: each prefix costs 32 WCU on top of 1133 "
            "for the rate rules and "
            "managed rule groups, so the three lists may hold at most 11 together (a prefix counts every path under "
            "it: merge routes under a common one); AWS bills capacity above 1500 (up to the 5000 maximum) by the "
            "request, which this stack does not opt into") in str(run.error)


def test_the_capacity_rule_names_the_longest_list_and_reports_with_the_other_rules() -> None:
    found = waf_problems(wafAuthPaths=json.dumps([f"/s{i}" for i in range(5)]),
                         wafAiPaths=json.dumps([f"/a{i}" for i in range(5)]),
                         wafRateLimitPaths=json.dumps([f"/r{i}" for i in range(4)]), wafAiRateLimit="100")
    assert found[0].startswith('maratron:wafAiPaths = ["/a0", "/a1", "/a2", "/a3", "/a4"]: wafRateLimitPaths, '
                               "wafAiPaths and wafAuthPaths hold 14 path prefixes together, which make the web ACL "
                               "1581 WCU"), found
    assert found[1].startswith("maratron:wafAiRateLimit = 100: must be at most wafRateLimit (60)"), found
    assert len(found) == 2


def test_a_list_over_its_own_length_is_told_that_alone() -> None:
    # Not also "at most 11 together": one piece of advice per key.
    found = waf_problems(wafRateLimitPaths=json.dumps([f"/r{i}" for i in range(10)]))
    assert len(found) == 1 and found[0].endswith("must list at most 5 path prefixes"), found


def test_components_built_in_code_are_held_to_the_same_capacity() -> None:
    ctx = AwsContext("123456789012", "aws", "us-east-1")
    many = WafSettings(rate_limit_paths=tuple(f"/r{i}" for i in range(5)), ai_paths=tuple(f"/a{i}" for i in range(5)),
                       auth_paths=tuple(f"/s{i}" for i in range(5)))
    with pytest.raises(ValueError, match="hold 15 path prefixes together, which make the web ACL 1613 WCU"):
        WebFirewallArgs(context=ctx, load_balancer_arn="arn", log_key=None, log_retention_days=30,  # type: ignore
                        settings=many)
