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
    stack_rule,
    truthy,
)
from .network import _group_rules

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
ALLOWED_TLS_POLICIES: list[str] = list(SHARED["tlsPolicies"])
MIN_HSTS_MAX_AGE: int = SHARED["hstsMaxAgeSeconds"]


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
    for rule in as_list(acl.props.get("rules")):
        if (rule.get("statement") or {}).get("rateBasedStatement"):
            return True
    for rule in as_list(document(acl.props.get("ruleJson"))):
        if isinstance(rule, dict) and (rule.get("Statement") or {}).get("RateBasedStatement"):
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
                report(f"web ACL protecting {lb.urn} has no rate-based rule", acl.urn)
    for distribution in distributions:
        acls = [acl for acl in linked(distribution, "webAclId") if acl.resource_type == WEB_ACL]
        if not acls:
            report("CloudFront distribution has no WAF web ACL (webAclId)", distribution.urn)
        elif not any(_has_rate_rule(acl) for acl in acls):
            for acl in acls:
                report(f"web ACL protecting {distribution.urn} has no rate-based rule", acl.urn)


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
                  reference="seed: HTTPS only; Checkov CKV2_AWS_20, CKV_AWS_2"),
    resource_rule("alb-https-tls-policy", area="edge", types=LISTENERS, check=_https_tls,
                  summary="HTTPS listeners use an allowed TLS 1.2+/1.3 policy and an ACM certificate",
                  reference="seed: TLS 1.2+; Checkov CKV_AWS_103", schema={"allowedPolicies": {
                      "type": "array", "items": {"type": "string"}, "default": ALLOWED_TLS_POLICIES,
                      "description": "ELB security policies HTTPS listeners may use."}}),
    resource_rule("alb-hsts", area="edge", types=LISTENERS, check=_hsts,
                  summary="HTTPS listeners send Strict-Transport-Security with max-age of at least a year",
                  reference="seed: security headers (HSTS)", schema={"minimumMaxAge": {
                      "type": "integer", "minimum": 0, "default": MIN_HSTS_MAX_AGE,
                      "description": "Minimum HSTS max-age in seconds."}}),
    resource_rule("alb-drop-invalid-headers", area="edge", types=LB, check=_drop_invalid_headers,
                  summary="ALBs drop invalid HTTP header fields", reference="Checkov CKV_AWS_131"),
    resource_rule("alb-access-logs", area="edge", types=LB, check=_access_logs,
                  summary="Load balancers write access logs", reference="cdk-nag ELB2; Checkov CKV_AWS_91"),
    stack_rule("edge-waf-rate-limit", area="edge", check=_waf_rate_limit,
               summary="Every internet entry point (a CloudFront distribution, or an ALB the internet reaches "
                       "directly) has a WAF web ACL with a rate-based rule",
               reference="seed: rate limiting, DDoS protection; Checkov CKV2_AWS_28, CKV_AWS_68; cdk-nag CFR2"),
    stack_rule("alb-has-https-listener", area="edge", check=_https_listener,
               summary="Every ALB has an HTTPS listener", reference="seed: HTTPS only; Checkov CKV_AWS_2"),
]
