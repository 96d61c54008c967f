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

import re
from collections.abc import Sequence
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
# (rule name, managed group, priority, rules of the group set to COUNT instead of BLOCK: WAF_COUNT_OVERRIDES says why)
MANAGED_GROUPS: tuple[tuple[str, str, int, tuple[str, ...]], ...] = tuple(
    (name, group, priority, WAF_COUNT_OVERRIDES.get(group, ())) for name, group, priority in (
        ("ip-reputation", "AWSManagedRulesAmazonIpReputationList", 10),
        ("common", "AWSManagedRulesCommonRuleSet", 50),
        ("bad-inputs", "AWSManagedRulesKnownBadInputsRuleSet", 60),
        ("sqli", "AWSManagedRulesSQLiRuleSet", 70),
    ))


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
    directory self-references, and directory back-references" (WAF developer guide, text transformations); each
    transformation costs 10 WCU (three per path: the ACL stays under 1,500 WCU at the default paths)."""
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


class WebFirewall(pulumi.ComponentResource):
    """A WAFv2 web ACL with rate limits and managed rule groups, on the ALB or a distribution, and logged."""

    web_acl: aws.wafv2.WebAcl
    log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, args: WebFirewallArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:edge:WebFirewall", name, None, opts)
        self._name = name
        self._args = args
        prefix = args.name_prefix

        # Rules are plain dicts in the provider's input shape: WAF statements nest deeply, and the dict form reads
        # like the JSON in the AWS docs (typed as Any: mypy cannot match nested dicts to the generated TypedDicts).
        rules: list[Any] = [
            self._rate_rule("flood", 20, args.settings.flood_limit),
            self._rate_rule("api-rate", 30, args.settings.general_limit),
            self._rate_rule("ai-rate", 40, args.settings.ai_limit),
            self._rate_rule("auth-rate", 45, args.settings.auth_limit),
            *(self._managed_rule(*group) for group in MANAGED_GROUPS),
        ]
        rules.sort(key=lambda rule: rule["priority"])
        self.web_acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            name=prefix,
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
            visibility_config=self._visibility(prefix),
            tags=named_tags(args.tags, f"{prefix}-waf"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.load_balancer_arn is not None:
            aws.wafv2.WebAclAssociation(
                f"{name}-alb",
                resource_arn=args.load_balancer_arn,
                web_acl_arn=self.web_acl.arn,
                opts=pulumi.ResourceOptions(parent=self.web_acl),
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

    def _visibility(self, metric: str) -> Any:
        return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}

    def _rate_rule(self, rule: str, priority: int, limit: RateLimit) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "limit": limit.limit,
            "evaluation_window_sec": self._args.settings.window_seconds,
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
                "response_headers": [{"name": "Retry-After", "value": str(self._args.settings.window_seconds)}],
            }}},
            "statement": {"rate_based_statement": statement},
            "visibility_config": self._visibility(f"{self._args.name_prefix}-{rule}"),
        }

    def _managed_rule(self, rule: str, group: str, priority: int, count_only: tuple[str, ...]) -> dict[str, Any]:
        statement: dict[str, Any] = {"vendor_name": "AWS", "name": group}
        if count_only:
            statement["rule_action_overrides"] = [{"name": r, "action_to_use": {"count": {}}} for r in count_only]
        return {
            "name": rule,
            "priority": priority,
            "override_action": {"none": {}},  # the group's own actions (BLOCK) apply
            "statement": {"managed_rule_group_statement": statement},
            "visibility_config": self._visibility(f"{self._args.name_prefix}-{rule}"),
        }

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
            redacted_fields=[{"single_header": {"name": header}} for header in REDACTED_HEADERS],
            opts=pulumi.ResourceOptions(parent=group, depends_on=[delivery]),
        )
        return group
