"""Edge rules: HTTPS-only listeners with a modern TLS policy and HSTS, hardened load balancers, WAF rate limiting at
every internet entry point (a distribution, or an ALB the internet reaches directly). CloudFront's own rules are in
cdn.py."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import (
    LISTENER_TYPES,
    LOAD_BALANCER_TYPES,
    SHARED,
    Rule,
    as_list,
    config_value,
    document,
    linked,
    number,
    of_type,
    resource_rule,
    settings_rule,
    stack_rule,
    truthy,
)
from ._controls import (
    DELETE,
    MISSING,
    Drop,
    Guard,
    Is,
    Matches,
    NoneOf,
    OneOf,
    Present,
    RemoveItem,
    Setting,
    To,
    Unset,
    When,
)
from .network import _group_rules

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
ALLOWED_TLS_POLICIES: list[str] = list(SHARED["tlsPolicies"])
MIN_HSTS_MAX_AGE: int = SHARED["hstsMaxAgeSeconds"]
HTTPS = When("protocol", "HTTPS")
HTTP = When("protocol", "HTTP")


def _protocol(props: Any) -> str:
    return str(props.get("protocol") or "").upper()


def _http_redirects(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _protocol(args.props) != "HTTP":
        return
    actions = as_list(args.props.get("defaultActions"))
    redirects_to_https = bool(actions) and all(
        a.get("type") == "redirect" and str((a.get("redirect") or {}).get("protocol", "")).upper() == "HTTPS"
        for a in actions)
    if not redirects_to_https:
        report("HTTP listener does something other than redirect to HTTPS", None)


def _https_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _protocol(args.props) != "HTTPS":
        return
    allowed = [str(p) for p in as_list(config_value(args, "allowedPolicies", ALLOWED_TLS_POLICIES))]
    policy = args.props.get("sslPolicy")
    if policy not in allowed:
        report(f"sslPolicy {policy!r} is not an allowed TLS 1.2+/1.3 policy ({', '.join(allowed)}); "
               "unset means the weak ELBSecurityPolicy-2016-08", None)
    if not args.props.get("certificateArn"):
        report("HTTPS listener has no certificateArn (ACM certificate)", None)


def _hsts(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _protocol(args.props) != "HTTPS":
        return
    value = str(args.props.get("routingHttpResponseStrictTransportSecurityHeaderValue") or "")
    match = re.search(r"max-age=(\d+)", value)
    minimum = number(config_value(args, "minimumMaxAge", MIN_HSTS_MAX_AGE))
    if not match:
        report("no Strict-Transport-Security header "
               "(routingHttpResponseStrictTransportSecurityHeaderValue)", None)
    elif int(match.group(1)) < minimum:
        report(f"HSTS max-age={match.group(1)} is below {int(minimum)}", None)


def _drop_invalid_headers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if str(args.props.get("loadBalancerType") or "application") != "application":
        return
    if not truthy(args.props.get("dropInvalidHeaderFields")):
        report("dropInvalidHeaderFields is not true (request smuggling defence)", None)


def _access_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    logs = args.props.get("accessLogs") or {}
    if not (logs.get("bucket") and truthy(logs.get("enabled"))):
        report("access logs are not enabled (accessLogs.bucket, accessLogs.enabled)", None)


def _public_albs(resources: list[PolicyResource]) -> list[PolicyResource]:
    return [lb for lb in of_type(resources, *LOAD_BALANCER_TYPES)
            if not truthy(lb.props.get("internal"))
            and str(lb.props.get("loadBalancerType") or "application") == "application"]


def _has_rate_rule(acl: PolicyResource) -> bool:
    """A rate-based rule that blocks: one that only counts (action count) limits nothing."""
    for rule in as_list(acl.props.get("rules")):
        if (rule.get("statement") or {}).get("rateBasedStatement") and "block" in (rule.get("action") or {}):
            return True
    for rule in as_list(document(acl.props.get("ruleJson"))):
        if isinstance(rule, dict) and (rule.get("Statement") or {}).get("RateBasedStatement") \
                and "Block" in (rule.get("Action") or {}):
            return True
    return False


def _admits_the_world(resources: list[PolicyResource], lb: PolicyResource) -> bool:
    return any(ingress.world_open() for group in linked(lb, "securityGroups")
               for _, ingress in _group_rules(resources, group))


def _waf_rate_limit(args: StackValidationArgs, report: ReportViolation) -> None:
    associations = of_type(args.resources, WEB_ACL_ASSOCIATION)
    distributions = of_type(args.resources, DISTRIBUTION)
    behind_cdn = {lb.urn for d in distributions for lb in linked(d, "origins")}
    for lb in _public_albs(args.resources):
        acls = [acl for assoc in associations if lb in linked(assoc, "resourceArn")
                for acl in linked(assoc, "webAclArn") if acl.resource_type == WEB_ACL]
        if not acls:
            # Behind a distribution that admits no one else, the distribution is the entry point (checked below).
            if lb.urn not in behind_cdn or _admits_the_world(args.resources, lb):
                report("internet-facing ALB has no WAF web ACL association", lb.urn)
        elif not any(_has_rate_rule(acl) for acl in acls):
            for acl in acls:
                report(f"web ACL protecting {lb.urn} has no rate-based rule that blocks", acl.urn)
    for distribution in distributions:
        acls = [acl for acl in linked(distribution, "webAclId") if acl.resource_type == WEB_ACL]
        if not acls:
            report("CloudFront distribution has no WAF web ACL (webAclId)", distribution.urn)
        elif not any(_has_rate_rule(acl) for acl in acls):
            for acl in acls:
                report(f"web ACL protecting {distribution.urn} has no rate-based rule that blocks", acl.urn)


def _https_listener(args: StackValidationArgs, report: ReportViolation) -> None:
    listeners = of_type(args.resources, *LISTENER_TYPES)
    for lb in of_type(args.resources, *LOAD_BALANCER_TYPES):
        if str(lb.props.get("loadBalancerType") or "application") != "application":
            continue
        if not any(lb in linked(listener, "loadBalancerArn") and _protocol(listener.props) == "HTTPS"
                   for listener in listeners):
            report("ALB has no HTTPS listener", lb.urn)


LB = list(LOAD_BALANCER_TYPES)
LISTENERS = list(LISTENER_TYPES)
RULES: list[Rule] = [
    resource_rule("alb-http-redirects-to-https", area="edge", types=LISTENERS, check=_http_redirects,
                  summary="HTTP listeners only redirect to HTTPS",
                  reference="seed: HTTPS only; Checkov CKV2_AWS_20, CKV_AWS_2", guards=[
                      Guard("defaultActions", To([{"type": "fixed-response", "fixedResponse": {
                          "contentType": "text/plain", "statusCode": "200"}}]), where=HTTP),
                      Guard("defaultActions[*].redirect.protocol", To("HTTP"), where=HTTP),
                      Guard("protocol", To("HTTP"), where=HTTPS, note="the HTTPS listener's protocol")]),
    resource_rule("alb-https-tls-policy", area="edge", types=LISTENERS, check=_https_tls,
                  summary="HTTPS listeners use an allowed TLS 1.2+/1.3 policy and an ACM certificate",
                  reference="seed: TLS 1.2+; Checkov CKV_AWS_103", schema={"allowedPolicies": {
                      "type": "array", "items": {"type": "string"}, "default": ALLOWED_TLS_POLICIES,
                      "description": "ELB security policies HTTPS listeners may use."}}, guards=[
                      Guard("sslPolicy", To("ELBSecurityPolicy-2016-08"), where=HTTPS),
                      Guard("certificateArn", DELETE, where=HTTPS)]),
    resource_rule("alb-hsts", area="edge", types=LISTENERS, check=_hsts,
                  summary="HTTPS listeners send Strict-Transport-Security with max-age of at least a year",
                  reference="seed: security headers (HSTS)", schema={"minimumMaxAge": {
                      "type": "integer", "minimum": 0, "default": MIN_HSTS_MAX_AGE,
                      "description": "Minimum HSTS max-age in seconds."}}, guards=[
                      Guard("routingHttpResponseStrictTransportSecurityHeaderValue", To("max-age=300"), where=HTTPS)]),
    resource_rule("alb-drop-invalid-headers", area="edge", types=LB, check=_drop_invalid_headers,
                  summary="ALBs drop invalid HTTP header fields", reference="Checkov CKV_AWS_131",
                  guards=[Guard("dropInvalidHeaderFields", To(False))]),
    resource_rule("alb-access-logs", area="edge", types=LB, check=_access_logs,
                  summary="Load balancers write access logs", reference="cdk-nag ELB2; Checkov CKV_AWS_91",
                  guards=[Guard("accessLogs.enabled", To(False)), Guard("accessLogs.bucket", DELETE)]),
    stack_rule("edge-waf-rate-limit", area="edge", check=_waf_rate_limit,
               summary="Every internet entry point (a CloudFront distribution, or an ALB the internet reaches "
                       "directly) has a WAF web ACL with a rate-based rule that blocks",
               reference="seed: rate limiting, DDoS protection; Checkov CKV2_AWS_28, CKV_AWS_68; cdk-nag CFR2",
               guards=[
                   Guard("rules[*].statement.rateBasedStatement", RemoveItem("rules[*]"), types=(WEB_ACL,),
                         note="the web ACL's rate-based rules"),
                   Guard("rules[*].action.block", DELETE, types=(WEB_ACL,),
                         note="the rate-based rules block (an action count limits nothing)"),
                   Guard("resourceArn", Drop(), types=(WEB_ACL_ASSOCIATION,), blame="resourceArn",
                         note="the association of the web ACL with the load balancer"),
                   Guard("webAclId", DELETE, types=(DISTRIBUTION,), unlink=True,
                         note="the distribution's web ACL")]),
    stack_rule("alb-has-https-listener", area="edge", check=_https_listener,
               summary="Every ALB has an HTTPS listener", reference="seed: HTTPS only; Checkov CKV_AWS_2",
               guards=[Guard("protocol", Drop(), types=LISTENER_TYPES, where=HTTPS, blame="loadBalancerArn",
                             note="the HTTPS listener")]),
]


# --- controls the stack sets beyond the rules above (issue 13: the pack guards every control) -------------------------

# AWS behaviour these rules rely on:
# - desync mitigation, WAF fail-open (routing.http.desync_mitigation_mode, waf.fail_open.enabled) and X-Forwarded-For
#   processing (append / preserve / remove): https://docs.aws.amazon.com/elasticloadbalancing/latest/application/
#   application-load-balancers.html and .../x-forwarded-headers.html ("preserve" passes the client's header as sent);
# - listener response headers (HSTS, CSP, X-Frame-Options, X-Content-Type-Options, CORS, Server):
#   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/header-modification.html;
# - WAF logging with redacted fields: https://docs.aws.amazon.com/waf/latest/developerguide/logging-management.html.

TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
REQUIRED_MANAGED_GROUPS: list[str] = list(SHARED["wafManagedRuleGroups"])
ALLOWED_COUNT_OVERRIDES: dict[str, list[str]] = dict(SHARED["wafCountOverrides"])
REDACTED_HEADERS = ["authorization", "cookie"]
APPLICATION = When("loadBalancerType", "network", negate=True)


def _forwards(actions: Any) -> bool:
    return any(str(a.get("type")) == "forward" for a in as_list(actions))


def _known_hosts(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type in LISTENER_TYPES:
        if _protocol(props) == "HTTPS" and _forwards(props.get("defaultActions")):
            report("the HTTPS listener's default action forwards requests for any Host header to the app; answer them "
                   "with a fixed response and forward only from rules matching the site's host names", None)
        if _protocol(props) == "HTTP":
            for action in as_list(props.get("defaultActions")):
                host = str((action.get("redirect") or {}).get("host") or "#{host}")
                if action.get("type") == "redirect" and "#{host}" in host:
                    report("the HTTP redirect echoes the client's Host header; redirect to the canonical host", None)
        return
    if _forwards(props.get("actions")):
        conditions = as_list(props.get("conditions"))
        if not any(c.get("hostHeader") or c.get("httpHeader") for c in conditions):
            report("listener rule forwards to the app without a host-header (or origin-header) condition", None)


def _managed_groups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    required = [str(g) for g in as_list(config_value(args, "requiredGroups", REQUIRED_MANAGED_GROUPS))]
    configured = config_value(args, "allowedCountOverrides", ALLOWED_COUNT_OVERRIDES)
    allowed_overrides = {str(k): [str(r) for r in as_list(v)] for k, v in (configured or {}).items()}
    blocking: set[str] = set()
    for rule in as_list(args.props.get("rules")):
        group = (rule.get("statement") or {}).get("managedRuleGroupStatement") or {}
        if group.get("vendorName") != "AWS" or not group.get("name"):
            continue
        if "count" in (rule.get("overrideAction") or {}):
            report(f"managed rule group {group.get('name')} only counts (overrideAction count): it blocks nothing",
                   None)
        else:
            blocking.add(str(group.get("name")))
        # Overriding the group's own rules to count (or allow) is allowed only where documented.
        allowed = allowed_overrides.get(str(group.get("name")), [])
        for override in as_list(group.get("ruleActionOverrides")):
            action = override.get("actionToUse") or {}
            if ("count" in action or "allow" in action) and override.get("name") not in allowed:
                report(f"managed rule group {group.get('name')} overrides its rule {override.get('name')} to "
                       f"{'count' if 'count' in action else 'allow'}; allowed overrides: {allowed or 'none'} "
                       "(allowedCountOverrides)", None)
    missing = [g for g in required if g not in blocking]
    if missing:
        report(f"web ACL lacks the AWS managed rule groups {missing}", None)


def _waf_logging(args: StackValidationArgs, report: ReportViolation) -> None:
    configs = of_type(args.resources, WAF_LOGGING)
    for acl in of_type(args.resources, WEB_ACL):
        own = [c for c in configs if acl in linked(c, "resourceArn")]
        if not own:
            report("web ACL has no logging configuration (aws:wafv2/webAclLoggingConfiguration)", acl.urn)
        for config in own:
            fields = as_list(config.props.get("redactedFields"))
            redacted = {str(((f.get("singleHeader") or {}).get("name")) or "").lower() for f in fields}
            missing = [h for h in REDACTED_HEADERS if h not in redacted]
            if missing:
                report(f"WAF logs keep the {missing} header(s): credentials and sessions would land in the logs; "
                       "redact them (redactedFields singleHeader)", config.urn)
            if not any("queryString" in f for f in fields):
                report("WAF logs keep query strings: OAuth codes and reset tokens would land in the logs; redact "
                       "them (redactedFields queryString)", config.urn)


PRIVATE_PATHS: list[str] = list(SHARED["privatePaths"])
REFUSAL = When("actions[*].type", "fixed-response")


def _priority(rule: PolicyResource) -> float:
    return number(rule.props.get("priority"), 50000)


def _private_paths_refused(args: StackValidationArgs, report: ReportViolation) -> None:
    rules = of_type(args.resources, *LISTENER_RULES)
    for listener in of_type(args.resources, *LISTENER_TYPES):
        own = [r for r in rules if listener in linked(r, "listenerArn")]
        forwards = [r for r in own if _forwards(r.props.get("actions"))]
        if _protocol(listener.props) != "HTTPS" or not (forwards or _forwards(listener.props.get("defaultActions"))):
            continue
        first_forward = min((_priority(r) for r in forwards), default=50001)
        refused = {str(path) for r in own if not _forwards(r.props.get("actions")) and _priority(r) < first_forward
                   for c in as_list(r.props.get("conditions"))
                   for path in as_list((c.get("pathPattern") or {}).get("values"))}
        missing = [path for path in PRIVATE_PATHS if path not in refused]
        if missing:
            report(f"the listener forwards {missing} to the app: the metrics endpoint must be refused at the ALB "
                   "(a fixed-response rule evaluated before every forward rule)", listener.urn)


MAX_CONDITION_VALUES: int = SHARED["albRuleValues"]["perCondition"]
MAX_RULE_VALUES: int = SHARED["albRuleValues"]["perRule"]
"""ELB's limits on a listener rule (components/constants.py): one over them is refused at `pulumi up`."""


def _rule_match_limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    counts = []
    for condition in as_list(args.props.get("conditions")):
        for kind, spec in (condition or {}).items():
            values = spec.get("values") if isinstance(spec, dict) else None
            if values is not None:
                counts.append((kind, len(as_list(values))))
    for kind, count in counts:
        if count > MAX_CONDITION_VALUES:
            report(f"its {kind} condition has {count} values; ELB allows {MAX_CONDITION_VALUES} per condition (split "
                   "it into rules)", None)
    if sum(count for _, count in counts) > MAX_RULE_VALUES:
        report(f"it has {sum(c for _, c in counts)} match values; ELB allows {MAX_RULE_VALUES} per rule", None)


RULES += [
    resource_rule("alb-rule-match-limits", area="edge", types=LISTENER_RULES, check=_rule_match_limits,
                  summary="Listener rules stay within ELB's match limits (3 values per condition, 5 per rule)",
                  reference="AWS: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/"
                            "rule-condition-types.html",
                  guards=[Guard("conditions[*].pathPattern.values", To(["/a", "/b", "/c", "/d"]), types=LISTENER_RULES,
                                note="four paths in one condition")]),
    stack_rule(
        "alb-private-paths-refused", area="edge", check=_private_paths_refused,
        summary="HTTPS listeners that forward to the app first answer its private paths (the Prometheus metrics "
                "endpoint) themselves, so they never reach the internet",
        reference="seed: metrics are internal (the collector scrapes them inside the task); ELB user guide, "
                  "listener rules (priority order, fixed-response actions)",
        guards=[Guard("conditions[*].pathPattern.values", To(["/not-private/*"]), types=LISTENER_RULES,
                      where=REFUSAL, blame="listenerArn", note="the refusal's paths"),
                Guard("actions[*].type", To("forward"), types=LISTENER_RULES, where=REFUSAL, blame="listenerArn",
                      note="the refusal turned into a forward"),
                Guard("priority", To(40000), types=LISTENER_RULES, where=REFUSAL, blame="listenerArn",
                      note="the refusal evaluated after the forward rule")]),
    settings_rule(
        "alb-security-headers", area="edge", types=LISTENERS,
        summary="HTTPS listeners send the seed's security headers (HSTS with includeSubDomains, a CSP with "
                "default-src, X-Frame-Options, nosniff), no Server header, and no static CORS origin (the app answers "
                "CORS per request; the provider cannot clear a listener's origin once set)",
        reference="seed: security headers (HSTS, CSP, X-Frame-Options), restrictive CORS",
        settings=[
            Setting("routingHttpResponseStrictTransportSecurityHeaderValue",
                    Matches(r"(?i)includeSubDomains", weak=f"max-age={MIN_HSTS_MAX_AGE}",
                            text="does not include includeSubDomains"), where=HTTPS),
            Setting("routingHttpResponseContentSecurityPolicyHeaderValue",
                    Matches(r"(?:^|;)\s*default-src\s+[^;*]+(?:;|$)", weak="default-src *",
                            text="does not restrict default-src (no '*')"), where=HTTPS),
            Setting("routingHttpResponseXFrameOptionsHeaderValue", OneOf(("DENY", "SAMEORIGIN"), weak=MISSING),
                    where=HTTPS),
            Setting("routingHttpResponseXContentTypeOptionsHeaderValue", Is("nosniff", weak=MISSING), where=HTTPS),
            Setting("routingHttpResponseServerEnabled", Is(False), where=HTTPS),
            # The ALB's one static Access-Control-Allow-Origin overwrites the app's per-request answer, and the
            # provider cannot clear it once set (terraform-provider-aws#42513): CORS is the app's (CORS_ORIGINS).
            Setting("routingHttpResponseAccessControlAllowOriginHeaderValue",
                    Unset(weak="https://admin.example.com", why="the listener's one static origin overwrites the app's "
                          "per-request CORS answer and cannot be cleared through the provider once set"),
                    where=HTTPS, required=False, guarded=False),
        ]),
    settings_rule(
        "alb-hardening", area="edge", types=LB,
        summary="ALBs use a defensive desync mitigation mode, fail closed when WAF is unavailable and never pass "
                "a client's X-Forwarded-For through unchecked",
        reference="seed: load balancer security; Checkov CKV_AWS_328",
        settings=[
            Setting("desyncMitigationMode", OneOf(("defensive", "strictest"), weak="monitor"), where=APPLICATION,
                    required=False),
            Setting("enableWafFailOpen", Is(False), where=APPLICATION, required=False),
            Setting("xffHeaderProcessingMode", NoneOf(("preserve",)), where=APPLICATION, required=False),
        ]),
    settings_rule(
        "alb-deletion-protection", area="edge", types=LB, prod_only=True,
        summary="Production load balancers have deletion protection (their DNS name is referenced by DNS and CDN)",
        reference="seed: protect production; Checkov CKV_AWS_150; cdk-nag NIST.800.53.R5-ELBDeletionProtectionEnabled",
        settings=[Setting("enableDeletionProtection", Is(True))]),
    settings_rule(
        "alb-target-health-check", area="edge", types=[TARGET_GROUP],
        summary="Target groups health-check their targets on an explicit path",
        reference="seed: health checks configured; Checkov CKV_AWS_261",
        settings=[Setting("healthCheck.enabled", Is(True), required=False),
                  Setting("healthCheck.path", Present(weak=MISSING))]),
    resource_rule(
        "alb-forwards-only-known-hosts", area="edge", types=[*LISTENERS, *LISTENER_RULES], check=_known_hosts,
        summary="Only requests for the site's host names reach the app: the HTTPS listener answers others itself, "
                "forward rules match a host (or origin) header, and HTTP redirects go to the canonical host",
        reference="seed: load balancer security, HTTPS enforcement",
        guards=[Guard("defaultActions[*].type", To("forward"), types=LISTENER_TYPES, where=HTTPS),
                Guard("defaultActions[*].redirect.host", To("#{host}"), types=LISTENER_TYPES, where=HTTP),
                Guard("conditions", To([]), types=LISTENER_RULES, where=When("actions[*].type", "forward"))]),
    resource_rule(
        "waf-managed-rule-groups", area="edge", types=[WEB_ACL], check=_managed_groups,
        summary="Web ACLs run the required AWS managed rule groups, each with its own (blocking) actions",
        reference="seed: DDoS protection, input validation; Checkov CKV_AWS_192, CKV2_AWS_76 (Log4j: KnownBadInputs)",
        schema={"requiredGroups": {"type": "array", "items": {"type": "string"}, "default": REQUIRED_MANAGED_GROUPS,
                                   "description": "AWS managed rule groups every web ACL runs."},
                "allowedCountOverrides": {"type": "object", "default": ALLOWED_COUNT_OVERRIDES,
                                          "description": "Managed group -> its rules that may be overridden to "
                                                         "count (the rest block)."}},
        guards=[Guard("rules[*].statement.managedRuleGroupStatement", RemoveItem("rules[*]"), each=True,
                      note="each AWS managed rule group"),
                Guard("rules[*].overrideAction", To({"count": {}}), each=True,
                      note="managed rule groups keep their own actions (overrideAction none)"),
                Guard("rules[*].statement.managedRuleGroupStatement.ruleActionOverrides",
                      To([{"name": "SQLi_BODY", "actionToUse": {"count": {}}}]), each=True,
                      note="a group's own rules count only where allowedCountOverrides says")]),
    stack_rule(
        "waf-logging", area="edge", check=_waf_logging,
        summary="Every web ACL logs its requests, with the Authorization and Cookie headers and the query string "
                "redacted",
        reference="seed: log security (no sensitive data); Checkov CKV2_AWS_31; cdk-nag "
                  "NIST.800.53.R5-WAFv2LoggingEnabled",
        guards=[Guard("resourceArn", Drop(), types=(WAF_LOGGING,), blame="resourceArn",
                      note="the web ACL's logging configuration"),
                Guard("redactedFields", To([]), types=(WAF_LOGGING,))]),
]
