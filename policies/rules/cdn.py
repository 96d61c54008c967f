"""CDN rules: CloudFront viewer TLS, HTTPS everywhere, the security headers, logs, nothing private cached, and an ALB
origin that admits only CloudFront (prefix list and secret header).

The prefix list's *name* cannot be checked here: a security-group rule carries its id (pl-..., different in every
Region) and the pack sees no data source. The rule therefore requires that an ALB behind a distribution admits
prefix lists only (no address range, no security group), and ops.verify resolves the id to
com.amazonaws.global.cloudfront.origin-facing after the deploy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from ._common import (
    LISTENER_TYPES,
    LOAD_BALANCER_TYPES,
    SHARED,
    Rule,
    as_list,
    config_value,
    is_unknown,
    known,
    linked,
    number,
    of_type,
    resource_rule,
    settings_rule,
    stack_rule,
    truthy,
)
from ._controls import DELETE, Drop, Edit, Guard, Is, RemoveItem, Setting, To, When
from .network import _group_rules

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
RESPONSE_HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
LOG_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
LOG_DELIVERY = "aws:cloudwatch/logDelivery:LogDelivery"
CACHE_POLICY = "aws:cloudfront/cachePolicy:CachePolicy"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LISTENER_RULE_TYPES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
HTTPS_VIEWER_POLICIES = ("redirect-to-https", "https-only")
ALLOWED_VIEWER_TLS: list[str] = list(SHARED["cloudfrontTlsPolicies"])
ALLOWED_ORIGIN_PROTOCOLS: list[str] = list(SHARED["originSslProtocols"])
ORIGIN_VERIFY_HEADER: str = SHARED["originVerifyHeader"]
CACHING_DISABLED: str = SHARED["cachePolicyCachingDisabled"]
COOKIE_FORWARDING: frozenset[str] = frozenset(SHARED["cookieForwardingOriginRequestPolicies"])
MIN_HSTS_MAX_AGE: int = SHARED["hstsMaxAgeSeconds"]
HEADERS: dict[str, str] = SHARED["securityHeaders"]
COOKIE_FIELD = "cs(Cookie)"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
"""Managed-CachingOptimized: caches by default (what the sweep puts where nothing may be cached)."""
OVERRIDDEN_HEADERS = ("strictTransportSecurity", "contentSecurityPolicy", "frameOptions", "contentTypeOptions",
                      "referrerPolicy")
"""Security headers the response headers policy must set *over* the origin's (override: CloudFront replaces what the
app sends; without it a weaker header from the origin wins)."""


def _behaviors(props: Any) -> list[tuple[str, Any]]:
    """(label, behavior) for the default behavior and every ordered one."""
    out: list[tuple[str, Any]] = [("default behavior", props.get("defaultCacheBehavior") or {})]
    for behavior in as_list(props.get("orderedCacheBehaviors")):
        out.append((f"behavior {behavior.get('pathPattern')}", behavior))
    return out


def _viewer_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    certificate = args.props.get("viewerCertificate") or {}
    if truthy(certificate.get("cloudfrontDefaultCertificate")) or not (
            certificate.get("acmCertificateArn") or certificate.get("iamCertificateId")):
        report("serves the default *.cloudfront.net certificate, whose security policy is TLSv1 whatever is set: use "
               "an ACM certificate for the app's domain", None)
        return
    allowed = [str(p) for p in as_list(config_value(args, "allowedPolicies", ALLOWED_VIEWER_TLS))]
    policy = certificate.get("minimumProtocolVersion")
    if policy not in allowed:
        report(f"viewer security policy {policy!r} is not one of {', '.join(allowed)} (TLS 1.2+)", None)


def _viewer_https(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for label, behavior in _behaviors(args.props):
        policy = behavior.get("viewerProtocolPolicy")
        if policy not in HTTPS_VIEWER_POLICIES:
            report(f"{label}: viewerProtocolPolicy {policy!r} serves plain HTTP (use redirect-to-https)", None)


def _origin_https(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = set(ALLOWED_ORIGIN_PROTOCOLS)
    for origin in as_list(args.props.get("origins")):
        custom = origin.get("customOriginConfig")
        if not custom:
            continue
        name = origin.get("originId")
        if custom.get("originProtocolPolicy") != "https-only":
            report(f"origin {name}: originProtocolPolicy {custom.get('originProtocolPolicy')!r}: CloudFront must "
                   "reach the origin over HTTPS only", None)
        protocols = [str(p) for p in as_list(custom.get("originSslProtocols"))]
        if not protocols or set(protocols) - allowed:
            report(f"origin {name}: originSslProtocols {protocols} allows more than {sorted(allowed)}", None)


def _dynamic_not_cached(args: ResourceValidationArgs, report: ReportViolation) -> None:
    uncached = {str(p) for p in as_list(config_value(args, "uncachedCachePolicies", [CACHING_DISABLED]))}
    default = known(args.props.get("defaultCacheBehavior") or {})
    if default.get("cachePolicyId") not in uncached:
        report(f"default behavior uses cache policy {default.get('cachePolicyId')!r}: pages, the API and NextAuth "
               "must not be cached (CachingDisabled); a minimum TTL above 0 caches even no-store responses", None)
    for label, behavior in _behaviors(args.props)[1:]:
        behavior = known(behavior)
        if behavior.get("originRequestPolicyId") in COOKIE_FORWARDING and \
                behavior.get("cachePolicyId") not in uncached:
            report(f"{label} caches responses and forwards every cookie to the origin: an authenticated response "
                   "could be served to someone else", None)


def _distribution_origins(resources: list[PolicyResource]) -> list[tuple[PolicyResource, PolicyResource]]:
    """(distribution, ALB) for every load balancer a distribution names as an origin."""
    return [(distribution, lb) for distribution in of_type(resources, DISTRIBUTION)
            for lb in linked(distribution, "origins") if lb.resource_type in LOAD_BALANCER_TYPES]


def _header_policy_problems(policy: PolicyResource, minimum: float) -> list[str]:
    """What a response headers policy of the stack lacks of the security headers (nothing: it carries them)."""
    config = policy.props.get("securityHeadersConfig") or {}
    problems = []
    hsts = config.get("strictTransportSecurity") or {}
    if number(hsts.get("accessControlMaxAgeSec")) < minimum or not truthy(hsts.get("includeSubdomains")) or \
            not truthy(hsts.get("preload")) or not truthy(hsts.get("override")):
        problems.append(f"HSTS needs max-age >= {int(minimum)}, includeSubdomains, preload and override")
    if not (config.get("contentSecurityPolicy") or {}).get("contentSecurityPolicy"):
        problems.append("no Content-Security-Policy")
    if (config.get("frameOptions") or {}).get("frameOption") != HEADERS["frameOptions"]:
        problems.append(f"X-Frame-Options is not {HEADERS['frameOptions']}")
    if not config.get("contentTypeOptions"):
        problems.append("no X-Content-Type-Options: nosniff")
    if not (config.get("referrerPolicy") or {}).get("referrerPolicy"):
        problems.append("no Referrer-Policy")
    kept = [name for name in OVERRIDDEN_HEADERS if config.get(name) and not truthy(config[name].get("override"))]
    if kept:
        problems.append(f"{', '.join(kept)} without override: the origin's own header would win")
    return problems


def _raw(value: Any) -> Any:
    """A property value as the engine sent it (unknowns as the engine's sentinels), never raising."""
    with contextlib.suppress(KeyError, IndexError, TypeError):
        value = value["__target"]  # pulumi_policy's unknown-checking proxies hold the raw value here
    return value


def _security_headers(args: StackValidationArgs, report: ReportViolation) -> None:
    minimum = number(config_value(args, "minimumMaxAge", MIN_HSTS_MAX_AGE))
    problems = {policy.urn: _header_policy_problems(policy, minimum)
                for policy in of_type(args.resources, RESPONSE_HEADERS_POLICY)}
    # Each behavior must name one of the stack's policies that carry the headers: by its id, or (on a preview, where
    # the id is not known yet) by the policy its property was computed from.
    carrying = {policy.urn: _raw(policy.props.get("id")) for policy in of_type(args.resources, RESPONSE_HEADERS_POLICY)
                if not problems[policy.urn]}
    carrying_ids = {i for i in carrying.values() if isinstance(i, str) and i and not is_unknown(i)}
    for distribution in of_type(args.resources, DISTRIBUTION):
        for prop, label in (("defaultCacheBehavior", "the default behavior"), ("orderedCacheBehaviors",
                                                                              "a cache behavior")):
            value = _raw(distribution.props.get(prop))  # raises (cannot run) only when the whole value is unknown
            behaviors = [value or {}] if prop == "defaultCacheBehavior" else [_raw(b) for b in value or []]
            linked_carrying = any(p.urn in carrying for p in linked(distribution, prop))
            for behavior in behaviors:
                policy_id = behavior.get("responseHeadersPolicyId") if isinstance(behavior, Mapping) else None
                if (is_unknown(policy_id) and linked_carrying) or policy_id in carrying_ids:
                    continue
                where = label if prop == "defaultCacheBehavior" else \
                    f"cache behavior {behavior.get('pathPattern') if isinstance(behavior, Mapping) else '?'}"
                report(f"{where} has no response headers policy of this stack that carries the security headers "
                       f"(responseHeadersPolicyId {policy_id!r}): HSTS, CSP, X-Frame-Options, X-Content-Type-Options "
                       "and Referrer-Policy are not guaranteed", distribution.urn)
    for urn, found in problems.items():
        if found:
            report("response headers policy: " + "; ".join(found), urn)


def _access_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    sources = [s for s in of_type(args.resources, LOG_SOURCE) if s.props.get("logType") == "ACCESS_LOGS"]
    deliveries = of_type(args.resources, LOG_DELIVERY)
    for distribution in of_type(args.resources, DISTRIBUTION):
        legacy = distribution.props.get("loggingConfig") or {}
        if legacy.get("bucket"):  # standard logging (legacy) to S3
            if truthy(legacy.get("includeCookies")):
                report("legacy access logs include cookies (session tokens)", distribution.urn)
            continue
        ours = [delivery for source in sources if distribution in linked(source, "resourceArn")
                for delivery in deliveries if source in linked(delivery, "deliverySourceName")]
        if not ours:
            report("distribution writes no access logs: no standard-logging v2 delivery (LogDeliverySource "
                   "ACCESS_LOGS + LogDelivery) and no legacy loggingConfig", distribution.urn)
        for delivery in ours:
            fields = [str(f) for f in as_list(delivery.props.get("recordFields"))]
            if not fields or COOKIE_FIELD in fields:
                report(f"access logs of {distribution.urn} include {COOKIE_FIELD} (a delivery without recordFields "
                       "logs every field): session tokens would sit in the log bucket", delivery.urn)


def _without_prefix_list(inputs: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in inputs.items() if k != "prefixListId"}
    return {**out, "cidrIpv4": "0.0.0.0/0"}


def _origin_ingress(args: StackValidationArgs, report: ReportViolation) -> None:
    for _, lb in _distribution_origins(args.resources):
        for group in linked(lb, "securityGroups"):
            for owner, ingress in _group_rules(args.resources, group):
                ranges = [c for c in ingress.cidrs if not str(c).startswith("pl-")]
                if ranges or ingress.group_sources:
                    what = f"address ranges {ranges}" if ranges else "security groups"
                    report(f"the security group of {lb.urn}, a CloudFront origin, admits {what}: behind the CDN it "
                           "admits only CloudFront's origin-facing prefix list", owner.urn)


def _forwards(actions: Any) -> bool:
    return any(a.get("type") == "forward" or a.get("forward") for a in as_list(actions))


def _origin_secret_header(args: StackValidationArgs, report: ReportViolation) -> None:
    header = str(config_value(args, "headerName", ORIGIN_VERIFY_HEADER)).lower()
    listeners = of_type(args.resources, *LISTENER_TYPES)
    listener_rules = of_type(args.resources, *LISTENER_RULE_TYPES)
    for distribution, lb in _distribution_origins(args.resources):
        # The origin that points at this ALB (its domainName is the ALB's DNS name) must send the secret; another
        # origin sending it does not protect the ALB.
        dns_name = lb.props.get("dnsName")
        sends = any(str(h.get("name", "")).lower() == header and "value" in h
                    for origin in as_list(distribution.props.get("origins"))
                    if dns_name and origin.get("domainName") == dns_name
                    for h in as_list(origin.get("customHeaders")))
        if not sends:
            report(f"the origin {lb.urn} gets no {header} header from this distribution (on the origin whose "
                   "domainName is the load balancer's dnsName)", distribution.urn)
        for listener in (x for x in listeners if lb in linked(x, "loadBalancerArn")):
            if _forwards(listener.props.get("defaultActions")):
                report(f"listener of CloudFront origin {lb.urn} forwards by default: only requests carrying the "
                       f"{header} secret may reach the app (default action 403)", listener.urn)
            for rule in (r for r in listener_rules if listener in linked(r, "listenerArn")):
                if not _forwards(rule.props.get("actions")):
                    continue
                required = any(str((c.get("httpHeader") or {}).get("httpHeaderName", "")).lower() == header and
                               as_list((c.get("httpHeader") or {}).get("values"))
                               for c in as_list(rule.props.get("conditions")))
                if not required:
                    report(f"forward rule of CloudFront origin {lb.urn} does not require the {header} header: "
                           "anyone's CloudFront distribution could reach the app", rule.urn)


RULES: list[Rule] = [
    resource_rule("cdn-viewer-tls", area="edge", types=[DISTRIBUTION], check=_viewer_tls,
                  summary="CloudFront serves the app's own certificate with a TLS 1.2+ viewer security policy",
                  reference="seed: TLS 1.2+; Checkov CKV_AWS_174, CKV2_AWS_42; cdk-nag CFR4",
                  schema={"allowedPolicies": {
                      "type": "array", "items": {"type": "string"}, "default": ALLOWED_VIEWER_TLS,
                      "description": "CloudFront viewer security policies distributions may use."}},
                  guards=[Guard("viewerCertificate.minimumProtocolVersion", To("TLSv1")),
                          Guard("viewerCertificate.acmCertificateArn", DELETE, unlink=True,
                                note="the default *.cloudfront.net certificate instead of the app's")]),
    resource_rule("cdn-viewer-https", area="edge", types=[DISTRIBUTION], check=_viewer_https,
                  summary="Every CloudFront behavior redirects HTTP to HTTPS (or serves HTTPS only)",
                  reference="seed: HTTPS only; Checkov CKV_AWS_34",
                  guards=[Guard("defaultCacheBehavior.viewerProtocolPolicy", To("allow-all")),
                          Guard("orderedCacheBehaviors[*].viewerProtocolPolicy", To("allow-all"), each=True)]),
    resource_rule("cdn-origin-https", area="edge", types=[DISTRIBUTION], check=_origin_https,
                  summary="CloudFront reaches custom origins over HTTPS only, with TLS 1.2",
                  reference="seed: encryption in transit; Checkov CKV2_AWS_72, CKV2_AWS_54; cdk-nag CFR5",
                  guards=[Guard("origins[*].customOriginConfig.originProtocolPolicy", To("match-viewer")),
                          Guard("origins[*].customOriginConfig.originSslProtocols", To(["TLSv1", "TLSv1.2"]))]),
    resource_rule("cdn-dynamic-not-cached", area="edge", types=[DISTRIBUTION], check=_dynamic_not_cached,
                  summary="The default CloudFront behavior caches nothing, and no caching behavior forwards cookies",
                  reference="seed: never cache API or authenticated responses; CloudFront API UpdateCachePolicy "
                            "(min TTL > 0 caches no-store responses)",
                  schema={"uncachedCachePolicies": {
                      "type": "array", "items": {"type": "string"}, "default": [CACHING_DISABLED],
                      "description": "Cache policy ids that cache nothing (default: Managed-CachingDisabled)."}},
                  guards=[Guard("defaultCacheBehavior.cachePolicyId", To(CACHING_OPTIMIZED),
                                note="the default behavior given Managed-CachingOptimized"),
                          Guard("orderedCacheBehaviors[*].originRequestPolicyId", To(sorted(COOKIE_FORWARDING)[0]),
                                each=True, within="orderedCacheBehaviors[*]",
                                item_where=When("cachePolicyId", CACHING_DISABLED, negate=True),
                                note="a caching behavior forwarding every cookie (Managed-AllViewer)")]),
    settings_rule(
        "cdn-cache-keys-without-cookies", area="edge", types=[CACHE_POLICY],
        summary="The stack's cache policies neither key on nor forward cookies: nothing CloudFront caches is "
                "per-session",
        reference="seed: never cache authenticated responses; CloudFront developer guide, cache key settings "
                  "(cookies in the cache key are forwarded to the origin)",
        settings=[Setting("parametersInCacheKeyAndForwardedToOrigin.cookiesConfig.cookieBehavior",
                          Is("none", weak="all"))]),
    stack_rule("cdn-security-headers", area="edge", check=_security_headers,
               summary="Every CloudFront behavior has a response headers policy with HSTS (1 year, subdomains, "
                       "preload), CSP, X-Frame-Options DENY, nosniff and Referrer-Policy",
               reference="seed: security headers; Checkov CKV2_AWS_32, CKV_AWS_259",
               schema={"minimumMaxAge": {"type": "integer", "minimum": 0, "default": MIN_HSTS_MAX_AGE,
                                         "description": "Minimum HSTS max-age in seconds."}},
               guards=[
                   Guard("defaultCacheBehavior.responseHeadersPolicyId", DELETE, types=(DISTRIBUTION,)),
                   Guard("orderedCacheBehaviors[*].responseHeadersPolicyId", DELETE, types=(DISTRIBUTION,)),
                   *(Guard(f"securityHeadersConfig.strictTransportSecurity.{field}", weak,
                           types=(RESPONSE_HEADERS_POLICY,))
                     for field, weak in (("accessControlMaxAgeSec", To(300)), ("includeSubdomains", To(False)),
                                         ("preload", To(False)))),
                   Guard("securityHeadersConfig.contentSecurityPolicy.contentSecurityPolicy", DELETE,
                         types=(RESPONSE_HEADERS_POLICY,)),
                   Guard("securityHeadersConfig.frameOptions.frameOption", To("SAMEORIGIN"),
                         types=(RESPONSE_HEADERS_POLICY,)),
                   Guard("securityHeadersConfig.referrerPolicy.referrerPolicy", DELETE,
                         types=(RESPONSE_HEADERS_POLICY,)),
                   *(Guard(f"securityHeadersConfig.{header}.override", To(False), types=(RESPONSE_HEADERS_POLICY,))
                     for header in OVERRIDDEN_HEADERS)]),
    stack_rule("cdn-access-logs", area="edge", check=_access_logs,
               summary="Every CloudFront distribution delivers access logs (standard logging v2, or legacy), "
                       "without the Cookie header",
               reference="seed: centralized logging; Checkov CKV_AWS_86 and cdk-nag CFR3 (legacy logging; v2 is the "
                         "equivalent)",
               guards=[Guard("recordFields", DELETE, types=(LOG_DELIVERY,), note="every field, cookies included"),
                       Guard("resourceArn", Drop(), types=(LOG_SOURCE,), blame="resourceArn",
                             note="the distribution's access-log source"),
                       Guard("logType", To("CONNECTION_LOGS"), types=(LOG_SOURCE,), blame="resourceArn")]),
    stack_rule("cdn-origin-ingress-cloudfront-only", area="edge", check=_origin_ingress,
               summary="An ALB behind CloudFront admits ingress only from prefix lists (CloudFront's origin-facing "
                       "list; ops.verify resolves the id), no address range, no security group",
               reference="seed: the origin accepts only CloudFront; CloudFront developer guide "
                         "(LocationsOfEdgeServers, managed prefix list)",
               guards=[Guard("prefixListId", Edit(_without_prefix_list, "the prefix list replaced by 0.0.0.0/0"),
                             types=(INGRESS,))]),
    stack_rule("cdn-origin-secret-header", area="edge", check=_origin_secret_header,
               summary="CloudFront sends the X-Origin-Verify secret on the ALB's origin (domainName = its dnsName) "
                       "and the ALB forwards only requests carrying it (default action not forward)",
               reference="seed: the origin accepts only CloudFront; AWS Solutions 'restrict access to ALB with a "
                         "custom header'",
               schema={"headerName": {"type": "string", "default": ORIGIN_VERIFY_HEADER,
                                      "description": "The origin secret header."}},
               guards=[Guard("origins[*].customHeaders[*].name", To("X-Not-The-Secret"), types=(DISTRIBUTION,)),
                       Guard("origins[*].customHeaders[*].value", DELETE, types=(DISTRIBUTION,)),
                       Guard("conditions[*].httpHeader", RemoveItem("conditions[*]"), types=LISTENER_RULE_TYPES,
                             where=When("conditions[*].httpHeader.httpHeaderName"),
                             note="the forward rule's secret-header condition")]),
]
