"""WAFv2 web ACL at the internet edge: per-IP rate limits from the seed plus AWS managed protections.

Where it sits (`scope`): REGIONAL, associated with the ALB, when the ALB is the front door; CLOUDFRONT, in the
distribution's configuration, when the CDN is on. A CLOUDFRONT-scope ACL "must use the Region US East (N. Virginia)"
for itself "and any resources used in the web ACL" (AWS WAF developer guide, how-aws-waf-works-resources), so the
ACL, its log group (with a key from that Region) and its logging configuration are created there, and its metrics
carry no Region dimension ("Required for all protected resource types except for Amazon CloudFront distributions",
AWS WAF developer guide, monitoring-cloudwatch).

Rules, in evaluation order (priorities leave gaps so a rule can be inserted without renumbering):

    10 ip-reputation   AWSManagedRulesAmazonIpReputationList   known botnets/scanners are dropped before anything else
    20 flood           rate: every request per IP               blanket cap on pages and assets (wafFloodRateLimit)
    30 api-rate        rate: requests to the API per IP         the seed's general limit, 60/min (wafRateLimit)
    40 ai-rate         rate: requests to the AI routes per IP   the seed's AI limit, 10/min, e.g. /api/chat
    45 auth-rate       rate: sign-in attempts per IP            the seed's auth limit, 10/min (NextAuth sign-in)
    50 common          AWSManagedRulesCommonRuleSet            OWASP-style generic protections
    60 bad-inputs      AWSManagedRulesKnownBadInputsRuleSet    Log4Shell, Java deserialization, localhost Host headers
    70 sqli            AWSManagedRulesSQLiRuleSet              SQL injection (Prisma parameterizes; this is depth)

Rate limits count per source IP: the connection address of the first AWS hop, which is the viewer's own address in
both shapes (a regional ACL on the ALB sees the client directly; a CLOUDFRONT ACL evaluates at the edge, before
CloudFront adds itself). What would be wrong is a regional ACL on an ALB *behind* CloudFront: "the web request origin
will contain the address of the last proxy" (AWS WAF developer guide, waf-rule-statement-forwarded-ip-address), i.e.
a CloudFront edge shared by every viewer, and X-Forwarded-For does not fix it, as "AWS WAF only evaluates the first IP
address found in the specified HTTP header", which the client writes. That is why the ACL moves with the front door
instead of staying on the ALB. Clients behind one NAT share a budget; that is why these are edge ceilings, and the
seed's per-*user* limits stay in the app (RATE_LIMIT_REQUESTS_PER_MINUTE / RATE_LIMIT_AI_REQUESTS_PER_MINUTE). Rate
rules answer 429 so clients back off instead of treating the block as a permanent 403.

Logs go to CloudWatch (`aws-waf-logs-<prefix>`, CMK-encrypted) with the Authorization and Cookie headers redacted:
they carry session tokens and must never sit in a log group.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, named_tags, policy_json
from components.constants import EDGE_REGION, PROJECT, WAF_COUNT_OVERRIDES
from components.observability import WafWatch
from components.settings import Rules, require_valid, setting

Scope = Literal["REGIONAL", "CLOUDFRONT"]
RATE_WINDOWS = (60, 120, 300, 600)
MIN_RATE_LIMIT = 10
REDACTED_HEADERS = ("authorization", "cookie")
"""Headers WAF's logs never keep (credentials and session tokens); the query string is redacted too: OAuth
callbacks carry `code` and `state` there, and reset or verification links their tokens. The ALB's and CloudFront's
access logs keep it (ALB cannot redact); those buckets are readable by the stack's operators only."""
# (rule name, managed group, priority, rules of the group set to COUNT instead of BLOCK: WAF_COUNT_OVERRIDES says why)
MANAGED_GROUPS: tuple[tuple[str, str, int, tuple[str, ...]], ...] = tuple(
    (name, group, priority, WAF_COUNT_OVERRIDES.get(group, ())) for name, group, priority in (
        ("ip-reputation", "AWSManagedRulesAmazonIpReputationList", 10),
        ("common", "AWSManagedRulesCommonRuleSet", 50),
        ("bad-inputs", "AWSManagedRulesKnownBadInputsRuleSet", 60),
        ("sqli", "AWSManagedRulesSQLiRuleSet", 70),
    ))

# --- web ACL capacity units (WCU): what web_acl_capacity prices the rules with -------------------------------------
# AWS WAF developer guide, "Web ACL capacity units (WCUs) in AWS WAF"
# (https://docs.aws.amazon.com/waf/latest/developerguide/aws-waf-capacity-units.html): "The basic price for a
# protection pack (web ACL) includes up to 1,500 WCUs. Using more than 1,500 WCUs incurs additional fees" and "The
# maximum capacity for a protection pack (web ACL) is 5,000 WCUs".
WCU_INCLUDED = 1_500
WCU_MAX = 5_000
# Rate-based statement: "2, as a base cost. For each custom aggregation key that you specify, add 30 WCUs. If you use a
# scope-down statement, calculate and add the WCUs for that" (waf-rule-statement-type-rate-based.html).
WCU_RATE_BASED = 2
WCU_RATE_CUSTOM_KEY = 30
# String match (byte match) statement, by match type: exactly / starts with / ends with 2, contains string / word 10;
# "If you use the request component All query parameters, add 10 WCUs. If you use the request component JSON body,
# double the base cost WCUs. For each Text transformation that you apply, add 10 WCUs"
# (waf-rule-statement-type-string-match.html).
WCU_STRING_MATCH = {"EXACTLY": 2, "STARTS_WITH": 2, "ENDS_WITH": 2, "CONTAINS": 10, "CONTAINS_WORD": 10}
WCU_ALL_QUERY_ARGUMENTS = 10
WCU_TEXT_TRANSFORMATION = 10
# AND, OR, NOT: "Based on nested statements", nothing of their own (waf-rule-statements-logical.html,
# waf-rule-statement-type-or.html).
# Managed rule group statement: "Defined by the rule group, plus any additional WCUs for a scope-down statement"
# (waf-rule-statements-rule-group.html); each group's capacity as AWS publishes it ("VendorName: AWS, Name: ..., WCU:
# ..."): aws-managed-rule-groups-ip-rep.html (IP reputation), aws-managed-rule-groups-baseline.html (core rule set,
# known bad inputs), aws-managed-rule-groups-use-case.html (SQL database).
WCU_MANAGED_GROUPS = {
    "AWSManagedRulesAmazonIpReputationList": 25,
    "AWSManagedRulesCommonRuleSet": 700,
    "AWSManagedRulesKnownBadInputsRuleSet": 200,
    "AWSManagedRulesSQLiRuleSet": 200,
}


@dataclass(frozen=True)
class RateLimit:
    """One rate-based rule: at most `limit` requests per source IP per window, optionally only on some paths."""

    limit: int
    """Requests per IP per evaluation window (WAF minimum 10)."""
    path_prefixes: tuple[str, ...] = ()
    """Only requests whose URI path starts with one of these count; empty = every request."""

    def __post_init__(self) -> None:
        if self.limit < MIN_RATE_LIMIT:
            raise ValueError(f"RateLimit.limit {self.limit}: WAF's minimum is {MIN_RATE_LIMIT}")
        if any(not p.startswith("/") for p in self.path_prefixes):
            raise ValueError(f"RateLimit.path_prefixes must start with /: {self.path_prefixes}")


PATH_PREFIX_PATTERN = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,199}$")
MAX_RATE_LIMIT = 2_000_000_000
MAX_PATHS = 5


def check_path_prefix(value: str) -> str | None:
    if not PATH_PREFIX_PATTERN.match(value):
        return "must be a URL path prefix starting with / (at most 200 characters, no spaces or query string)"
    return None


@dataclass(frozen=True, kw_only=True)
class WafSettings:
    """The configurable part of the web ACL: the seed's rate limits and the paths they count."""

    window_seconds: int = setting(
        "wafRateLimitWindowSeconds", 60, "Evaluation window of every WAF rate rule (60, 120, 300 or 600 s); 60 matches "
        "the seed's per-minute limits.", choices=RATE_WINDOWS)
    rate_limit: int = setting(
        "wafRateLimit", 60, "The seed's general limit: requests per client IP per window to wafRateLimitPaths before "
        "WAF answers 429 (minimum 10).", minimum=MIN_RATE_LIMIT, maximum=MAX_RATE_LIMIT)
    rate_limit_paths: tuple[str, ...] = setting(
        "wafRateLimitPaths", ("/api/",), "Path prefixes wafRateLimit counts (up to 5). Default: the API, so one page "
        "load's dozens of static assets never count; [] counts every request.", check=check_path_prefix)
    ai_rate_limit: int = setting(
        "wafAiRateLimit", 10, "The seed's AI limit: requests per client IP per window to wafAiPaths (minimum 10, at "
        "most wafRateLimit).", minimum=MIN_RATE_LIMIT, maximum=MAX_RATE_LIMIT)
    ai_paths: tuple[str, ...] = setting(
        "wafAiPaths", ("/api/chat",), "Path prefixes of the AI routes that wafAiRateLimit guards (1-5, each starting "
        "with /).", check=check_path_prefix)
    auth_rate_limit: int = setting(
        "wafAuthRateLimit", 10, "The seed's authentication limit: sign-in attempts per client IP per window to "
        "wafAuthPaths (minimum 10, at most wafRateLimit), against password guessing before the app's per-user limits "
        "can apply.", minimum=MIN_RATE_LIMIT, maximum=MAX_RATE_LIMIT)
    auth_paths: tuple[str, ...] = setting(
        "wafAuthPaths", ("/api/auth/callback/", "/api/auth/signin"), "Path prefixes of the sign-in routes "
        "wafAuthRateLimit guards (1-5; NextAuth's credential and provider callbacks and sign-in; not "
        "/api/auth/session, which every page polls).", check=check_path_prefix)
    flood_rate_limit: int = setting(
        "wafFloodRateLimit", 1000, "Blanket limit on every request per client IP per window (pages, assets, API), "
        "against floods; at least wafRateLimit.", minimum=MIN_RATE_LIMIT, maximum=MAX_RATE_LIMIT)

    @property
    def general_limit(self) -> RateLimit:
        return RateLimit(self.rate_limit, self.rate_limit_paths)

    @property
    def ai_limit(self) -> RateLimit:
        return RateLimit(self.ai_rate_limit, self.ai_paths)

    @property
    def auth_limit(self) -> RateLimit:
        return RateLimit(self.auth_rate_limit, self.auth_paths)

    @property
    def flood_limit(self) -> RateLimit:
        return RateLimit(self.flood_rate_limit)

    def validate(self, rules: Rules) -> None:
        # The capacity of the ACL these settings build (web_acl_rules), judged when every value passed its own rules
        # (a rejected one is reported already, and no rule list can be built from it) and every path list its length
        # rule below (else one key would be told both "at most 5" and "at most 11 together"); first, so the rules
        # between fields below do not hide it.
        lengths_ok = len(self.rate_limit_paths) <= MAX_PATHS and all(
            1 <= len(paths) <= MAX_PATHS for paths in (self.ai_paths, self.auth_paths))
        if lengths_ok and rules.valid(*(f.name for f in dataclasses.fields(self))):
            self._check_capacity(rules)
        if len(self.rate_limit_paths) > MAX_PATHS:
            rules.problem("rate_limit_paths", f"must list at most {MAX_PATHS} path prefixes")
        # The scoped limits: stricter than the general one, on 1 to MAX_PATHS routes of their own.
        for prefix, routes, label in (("ai", "the AI routes, e.g. [/api/chat]", "AI"),
                                      ("auth", "the sign-in routes", "sign-in")):
            limit, paths = getattr(self, f"{prefix}_rate_limit"), getattr(self, f"{prefix}_paths")
            if not 1 <= len(paths) <= MAX_PATHS:
                rules.problem(f"{prefix}_paths", f"must list 1 to {MAX_PATHS} path prefixes of {routes}")
            if limit > self.rate_limit:
                rules.problem(f"{prefix}_rate_limit", f"must be at most {rules.key('rate_limit')} ({self.rate_limit}): "
                              f"the {label} limit is the stricter one", also=["rate_limit"])
        if self.flood_rate_limit < self.rate_limit:
            rules.problem("flood_rate_limit", f"must be at least {rules.key('rate_limit')} ({self.rate_limit}): it "
                          "counts every request, the API ones included", also=["rate_limit"])

    def _check_capacity(self, rules: Rules) -> None:
        wcu = web_acl_capacity(web_acl_rules(self))
        if wcu <= WCU_INCLUDED:
            return
        lists = ("rate_limit_paths", "ai_paths", "auth_paths")
        named = max(lists, key=lambda name: len(getattr(self, name)))  # the longest list (the first on a tie)
        per_path = statement_capacity(_path_statement("/"))
        pathless = dataclasses.replace(self, rate_limit_paths=(), ai_paths=(), auth_paths=())
        fixed = web_acl_capacity(web_acl_rules(pathless))
        count = sum(len(getattr(self, name)) for name in lists)
        most = (WCU_INCLUDED - fixed) // per_path
        keys = [rules.key(name) for name in lists]
        rules.problem(named, f"{', '.join(keys[:-1])} and {keys[-1]} hold {count} path prefixes together, which "
                      f"make the web ACL {wcu} WCU, over the {WCU_INCLUDED} included in AWS WAF's web ACL price: each "
                      f"prefix costs {per_path} WCU on top of {fixed} for the rate rules and managed rule groups, so "
                      f"the three lists may hold at most {most} together (a prefix counts every path under it: merge "
                      "routes under a common one); AWS bills capacity above "
                      f"{WCU_INCLUDED} (up to the {WCU_MAX} maximum) by the request, which this stack does not opt "
                      "into",
                      also=[name for name in lists if name != named])


@dataclass(frozen=True)
class WebFirewallArgs:
    """Inputs of WebFirewall."""

    context: AwsContext
    """Account, partition and region (the log delivery policy is scoped to them)."""
    load_balancer_arn: pulumi.Input[str] | None
    """The ALB the web ACL protects (REGIONAL); None for CLOUDFRONT (the distribution names the ACL)."""
    log_key: aws.kms.Key
    """CMK for the WAF log group, in the ACL's Region (EncryptionKeys.logs; EncryptionKeys.edge for CLOUDFRONT)."""
    log_retention_days: int
    """Retention of the WAF log group."""
    scope: Scope = "REGIONAL"
    """REGIONAL (default: associated with the ALB) or CLOUDFRONT (created in us-east-1, named by a distribution)."""
    settings: WafSettings = field(default_factory=WafSettings)
    """Rate limits, their paths and window; default: the seed's 60/min on /api/, 10/min on /api/chat, 1000/min
    blanket."""
    name_prefix: str = PROJECT
    """Web ACL name, metric names and the log group `aws-waf-logs-<name_prefix>`."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        require_valid(self.settings)
        if (self.scope == "REGIONAL") != (self.load_balancer_arn is not None):
            raise ValueError("WebFirewallArgs: a REGIONAL web ACL protects load_balancer_arn; a CLOUDFRONT one takes "
                             "none (the distribution names it)")

    @property
    def region(self) -> str:
        """The ACL's Region: the stack's, or us-east-1 for CLOUDFRONT."""
        return EDGE_REGION if self.scope == "CLOUDFRONT" else self.context.region

    @property
    def region_override(self) -> str | None:
        """The `region` argument of the ACL's resources: set only when it differs from the stack's (an explicit
        region equal to the provider's would still be a diff on existing resources)."""
        return None if self.region == self.context.region else self.region


def _path_statement(prefix: str) -> dict[str, Any]:
    """URI path starts with `prefix`, compared after URL-decoding, removing dot segments and doubled slashes, and
    lower-casing (no /API/%63hat, /api/./chat or /api//chat bypass). NORMALIZE_PATH "removes multiple slashes,
    directory self-references, and directory back-references" (WAF developer guide, text transformations). Each path
    costs 32 WCU (a starts-with match, 2, plus 10 per transformation): WafSettings refuses paths that would take the
    ACL over the 1,500 WCU included in its price (web_acl_capacity)."""
    return {"byte_match_statement": {
        "field_to_match": {"uri_path": {}},
        "positional_constraint": "STARTS_WITH",
        "search_string": prefix.lower(),
        "text_transformations": [{"priority": 0, "type": "URL_DECODE"}, {"priority": 1, "type": "NORMALIZE_PATH"},
                                 {"priority": 2, "type": "LOWERCASE"}],
    }}


def scope_down(prefixes: Sequence[str]) -> dict[str, Any] | None:
    """The scope-down statement of a rate rule: one path match, an OR of several, or None for every request."""
    if not prefixes:
        return None
    if len(prefixes) == 1:
        return _path_statement(prefixes[0])
    return {"or_statement": {"statements": [_path_statement(p) for p in prefixes]}}


def _visibility(metric: str) -> Any:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def _rate_rule(settings: WafSettings, name_prefix: str, rule: str, priority: int, limit: RateLimit) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "limit": limit.limit,
        "evaluation_window_sec": settings.window_seconds,
        "aggregate_key_type": "IP",
    }
    if (scope := scope_down(limit.path_prefixes)) is not None:
        statement["scope_down_statement"] = scope
    return {
        "name": rule,
        "priority": priority,
        "action": {"block": {"custom_response": {
            "response_code": 429,
            "custom_response_body_key": "rate-limited",
            "response_headers": [{"name": "Retry-After", "value": str(settings.window_seconds)}],
        }}},
        "statement": {"rate_based_statement": statement},
        "visibility_config": _visibility(f"{name_prefix}-{rule}"),
    }


def _managed_rule(name_prefix: str, rule: str, group: str, priority: int,
                  count_only: tuple[str, ...]) -> dict[str, Any]:
    statement: dict[str, Any] = {"vendor_name": "AWS", "name": group}
    if count_only:
        statement["rule_action_overrides"] = [{"name": r, "action_to_use": {"count": {}}} for r in count_only]
    return {
        "name": rule,
        "priority": priority,
        "override_action": {"none": {}},  # the group's own actions (BLOCK) apply
        "statement": {"managed_rule_group_statement": statement},
        "visibility_config": _visibility(f"{name_prefix}-{rule}"),
    }


def web_acl_rules(settings: WafSettings, name_prefix: str = PROJECT) -> list[dict[str, Any]]:
    """The web ACL's rules, in evaluation order: what WebFirewall registers and what web_acl_capacity prices.

    Plain dicts in the provider's input shape: WAF statements nest deeply, and the dict form reads like the JSON in
    the AWS docs (typed as Any by the caller: mypy cannot match nested dicts to the generated TypedDicts)."""
    rules = [
        _rate_rule(settings, name_prefix, "flood", 20, settings.flood_limit),
        _rate_rule(settings, name_prefix, "api-rate", 30, settings.general_limit),
        _rate_rule(settings, name_prefix, "ai-rate", 40, settings.ai_limit),
        _rate_rule(settings, name_prefix, "auth-rate", 45, settings.auth_limit),
        *(_managed_rule(name_prefix, *group) for group in MANAGED_GROUPS),
    ]
    return sorted(rules, key=lambda rule: rule["priority"])


def statement_capacity(statement: Mapping[str, Any]) -> int:
    """The WCU of one rule statement (provider input shape), from AWS's published per-statement costs (WCU_* above).

    A statement type, match type or managed group without a published cost here is an error, not a guess: add its
    cost from the developer guide with the page it comes from."""
    (kind, body), = statement.items()
    if kind == "rate_based_statement":
        scope = body.get("scope_down_statement")
        return (WCU_RATE_BASED + WCU_RATE_CUSTOM_KEY * len(body.get("custom_keys") or ())
                + (statement_capacity(scope) if scope else 0))
    if kind == "managed_rule_group_statement":
        if body["name"] not in WCU_MANAGED_GROUPS:
            raise ValueError(f"managed rule group {body['name']}: no published WCU capacity in WCU_MANAGED_GROUPS")
        scope = body.get("scope_down_statement")
        return WCU_MANAGED_GROUPS[body["name"]] + (statement_capacity(scope) if scope else 0)
    if kind in ("or_statement", "and_statement"):
        return sum(statement_capacity(nested) for nested in body["statements"])
    if kind == "not_statement":
        return statement_capacity(body["statement"])
    if kind == "byte_match_statement":
        base = WCU_STRING_MATCH[body["positional_constraint"]]
        field_to_match = body["field_to_match"]
        if "json_body" in field_to_match:
            base *= 2
        if "all_query_arguments" in field_to_match:
            base += WCU_ALL_QUERY_ARGUMENTS
        return base + WCU_TEXT_TRANSFORMATION * len(body.get("text_transformations") or ())
    raise ValueError(f"{kind}: no WCU cost here; add it from the AWS WAF developer guide (rule statement pages)")


def web_acl_capacity(rules: Sequence[Mapping[str, Any]]) -> int:
    """The web ACL's capacity in WCU: the sum of its rules' statements.

    AWS's figure is that sum "minus any processing optimizations that AWS WAF is able to obtain" (e.g. charging one
    transformation of one request component once; aws-waf-capacity-units.html), so AWS may report less: this is the
    documented upper bound, which keeps the check on the safe side."""
    return sum(statement_capacity(rule["statement"]) for rule in rules)


class WebFirewall(pulumi.ComponentResource):
    """A WAFv2 web ACL with rate limits and managed rule groups, on the ALB or a distribution, and logged."""

    web_acl: aws.wafv2.WebAcl
    log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, args: WebFirewallArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:edge:WebFirewall", name, None, opts)
        self._name = name
        self._args = args
        prefix = args.name_prefix

        rules: list[Any] = web_acl_rules(args.settings, prefix)  # what WafSettings priced (web_acl_capacity)
        self.web_acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            # A name prefix, not a name: `scope` (and the region) follow cdnEnabled and force a replacement, and a
            # resource named by us is replaced delete-first, which WAF refuses while the distribution or the ALB
            # still uses the ACL ("Before deleting any web ACL, first disassociate it", DeleteWebACL). Auto-named,
            # the new ACL is created, the distribution or the ALB's association moves to it, and the old one goes
            # last. Alarms and dashboards read the visibility metric name, which stays `prefix`.
            name_prefix=f"{prefix}-",
            description=f"{prefix}: rate limits and AWS managed rules at the internet edge",
            scope=args.scope,
            region=args.region_override,
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=rules,
            custom_response_bodies=[aws.wafv2.WebAclCustomResponseBodyArgs(
                key="rate-limited",
                content='{"error":"Too many requests, please retry later."}',
                content_type="APPLICATION_JSON",
            )],
            visibility_config=_visibility(prefix),
            tags=named_tags(args.tags, f"{prefix}-waf"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.load_balancer_arn is not None:
            aws.wafv2.WebAclAssociation(
                f"{name}-alb",
                resource_arn=args.load_balancer_arn,
                web_acl_arn=self.web_acl.arn,
                # A new ACL replaces the association (no update), and its delete is DisassociateWebACL on the ALB,
                # whatever ACL is attached: created first, the new association would be removed by the old one's
                # delete, leaving the ALB without WAF while the state says otherwise (pulumi/pulumi-aws#4782).
                # Delete first: a few seconds without WAF instead.
                opts=pulumi.ResourceOptions(parent=self.web_acl, delete_before_replace=True),
            )
        self.log_group = self._logging()
        self.register_outputs({"webAclArn": self.web_acl.arn, "logGroup": self.log_group.name})

    @property
    def metric_name(self) -> str:
        """The ACL's visibility metric name: the `WebACL` dimension of its AWS/WAFV2 metrics (alarms, dashboards)."""
        return self._args.name_prefix

    @property
    def watch(self) -> WafWatch:
        """What Observability alarms on: the ACL's metrics (in us-east-1, without Region, for a CLOUDFRONT one)."""
        return WafWatch(self.metric_name, cloudfront=self.scope == "CLOUDFRONT")

    @property
    def scope(self) -> Scope:
        return self._args.scope

    @property
    def region(self) -> str:
        """Where the ACL, its logs and its metrics are."""
        return self._args.region

    # --- parts --------------------------------------------------------------------------------------------------

    def _logging(self) -> aws.cloudwatch.LogGroup:
        args = self._args
        ctx = args.context
        region = args.region_override
        parent = pulumi.ResourceOptions(parent=self.web_acl)
        group = aws.cloudwatch.LogGroup(
            f"{self._name}-logs",
            name=f"aws-waf-logs-{args.name_prefix}",  # WAF only delivers to groups named aws-waf-logs-*
            region=region,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.log_key.arn,
            tags=named_tags(args.tags, f"{args.name_prefix}-waf-logs"),
            opts=parent,
        )
        # WAF writes through the log-delivery service. Without an explicit policy it adds a broad account-wide one
        # (and CloudWatch allows only 10 per account); this one covers exactly this group, for this account.
        delivery = aws.cloudwatch.LogResourcePolicy(
            f"{self._name}-logs",
            policy_name=f"{args.name_prefix}-waf-log-delivery",
            region=region,
            policy_document=policy_json([{
                "Sid": "WafLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": group.arn.apply(lambda arn: f"{arn}:*"),
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ctx.account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{ctx.partition}:logs:{args.region}:{ctx.account_id}:*"},
                },
            }]),
            opts=pulumi.ResourceOptions(parent=group),
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{self._name}-logs",
            resource_arn=self.web_acl.arn,
            region=region,
            log_destination_configs=[group.arn],
            redacted_fields=[
                *(aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(name=header))
                  for header in REDACTED_HEADERS),
                aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    query_string=aws.wafv2.WebAclLoggingConfigurationRedactedFieldQueryStringArgs()),
            ],
            opts=pulumi.ResourceOptions(parent=group, depends_on=[delivery]),
        )
        return group
