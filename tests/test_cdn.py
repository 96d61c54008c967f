"""CDN: the distribution (origin, behaviors, headers, TLS, logs), the origin secret and its rotation, DNS, the
us-east-1 parts of a stack elsewhere, the edge timeout chain, and the config rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import stack_config
from components.cdn import ACCESS_LOG_FIELDS, security_headers_config
from components.constants import (
    CACHE_POLICY_CACHING_DISABLED,
    CACHE_POLICY_CACHING_OPTIMIZED,
    CLOUDFRONT_HOSTED_ZONE_ID,
    CONTENT_SECURITY_POLICY,
    HSTS_HEADER,
    ORIGIN_REQUEST_POLICY_ALL_VIEWER_AND_CLOUDFRONT_HEADERS,
    ORIGIN_REQUEST_POLICY_HOST_HEADER_ONLY,
    ORIGIN_VERIFY_HEADER,
    REFERRER_POLICY,
)
from components.settings import Rules
from offline.engine import Resource, StackRun
from stack_config import TimeoutHop, check_timeout_chain
from tests.configs import EDGE_VARIANT, MINIMAL_VALID, PROD_ELSEWHERE_TUNED
from tests.test_database import routing_alarms

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
PASSWORD = "random:index/randomPassword:RandomPassword"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
RECORD = "aws:route53/record:Record"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
KEY = "aws:kms/key:Key"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
# A stack outside us-east-1 (us-west-2) mid-rotation: tests/configs.py ELSEWHERE_ROTATING. The rotation tests read only
# the secret's slots, the listener rule and the origin header; the region tests none of them. The run also carries
# test_app_metrics.py's metrics settings (PROD_ELSEWHERE_TUNED), which none of these tests reads: one engine run
# (~1.5 s of CPU) for all of them.
EU = PROD_ELSEWHERE_TUNED


def distribution(run: StackRun) -> dict[str, Any]:
    """The distribution's inputs, secrets unwrapped."""
    resource = run.one(DISTRIBUTION)
    return {key: resource.plain(key) for key in resource.inputs}


@pytest.fixture(scope="module")
def europe(run_variant: Callable[..., StackRun]) -> StackRun:
    run = run_variant("prod", **EU)
    assert run.ok, run.error_details
    assert (run.config["aws:region"], json.loads(run.config["maratron:azNames"])) == (
        "us-west-2", ["us-west-2a", "us-west-2b", "us-west-2c"])
    return run


# --- the distribution ----------------------------------------------------------------------------------------------

def test_the_alb_is_the_only_origin_over_https_with_host_and_the_secret(prod: StackRun) -> None:
    cdn = distribution(prod)
    alb = prod.one("aws:lb/loadBalancer:LoadBalancer")
    (origin,) = cdn["origins"]
    assert origin["domainName"] == alb.outputs["dnsName"] and origin["originId"] == "alb"
    assert origin["customOriginConfig"] == {
        "httpPort": 80, "httpsPort": 443, "originProtocolPolicy": "https-only", "originSslProtocols": ["TLSv1.2"],
        "originReadTimeout": 60, "originKeepaliveTimeout": 60}
    assert "responseCompletionTimeout" not in origin  # no cap on a long stream that keeps talking
    active = prod.one(PASSWORD, "origin-secret-a").outputs["result"]
    assert origin["customHeaders"] == [{"name": ORIGIN_VERIFY_HEADER, "value": active}]
    assert SECRET_SIG in json.dumps(prod.one(DISTRIBUTION).inputs["origins"])  # the value travels as a secret
    # The ALB accepts a new secret before CloudFront sends it: the distribution waits for the forward rule.
    forward = prod.one(LISTENER_RULE, "load-balancer-https-forward")
    assert forward.urn in prod.one(DISTRIBUTION).dependencies


def test_viewers_get_tls_1_2_plus_h2_h3_ipv6_and_the_domain(prod: StackRun) -> None:
    cdn = distribution(prod)
    assert cdn["aliases"] == ["maratron.example.com"]
    assert (cdn["httpVersion"], cdn["isIpv6Enabled"], cdn["priceClass"]) == ("http2and3", True, "PriceClass_100")
    # prod is in us-east-1: the ALB's validated certificate serves the distribution too.
    validation = prod.one("aws:acm/certificateValidation:CertificateValidation")
    assert cdn["viewerCertificate"] == {"acmCertificateArn": prod.one("aws:acm/certificate:Certificate").outputs["arn"],
                                        "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.2_2025"}
    assert validation.urn in prod.one(DISTRIBUTION).property_dependencies["viewerCertificate"]
    assert cdn["webAclId"] == prod.one("aws:wafv2/webAcl:WebAcl").outputs["arn"]
    assert cdn["waitForDeployment"] is True and cdn["enabled"] is True
    assert cdn["restrictions"] == {"geoRestriction": {"restrictionType": "none"}}
    assert [e["errorCode"] for e in cdn["customErrorResponses"]] == [500, 502, 503, 504]
    assert all(e["errorCachingMinTtl"] == 0 for e in cdn["customErrorResponses"])


def test_immutable_assets_are_cached_and_everything_dynamic_is_not(prod: StackRun) -> None:
    cdn = distribution(prod)
    rhp = prod.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").outputs["id"]
    image = prod.one("aws:cloudfront/cachePolicy:CachePolicy", "cdn-next-image").outputs["id"]
    default = cdn["defaultCacheBehavior"]
    assert (default["cachePolicyId"], default["originRequestPolicyId"]) == (
        CACHE_POLICY_CACHING_DISABLED, ORIGIN_REQUEST_POLICY_ALL_VIEWER_AND_CLOUDFRONT_HEADERS)
    assert default["allowedMethods"] == ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    ordered = {b["pathPattern"]: b for b in cdn["orderedCacheBehaviors"]}
    assert list(ordered) == ["/_next/static/*", "/_next/image*", "/static/*", "/images/*", "/fonts/*",
                             "/favicon.ico", "/robots.txt"]
    assert ordered["/_next/image*"]["cachePolicyId"] == image
    for path, behavior in ordered.items():
        if path != "/_next/image*":
            assert behavior["cachePolicyId"] == CACHE_POLICY_CACHING_OPTIMIZED, path
        # Cached responses never see a cookie: only Host (which the ALB rule and certificate need) goes along.
        assert behavior["originRequestPolicyId"] == ORIGIN_REQUEST_POLICY_HOST_HEADER_ONLY, path
        assert behavior["allowedMethods"][:2] == ["GET", "HEAD"] and behavior["cachedMethods"] == ["GET", "HEAD"]
    for behavior in (default, *ordered.values()):
        assert behavior["viewerProtocolPolicy"] == "redirect-to-https"
        assert behavior["compress"] is True and behavior["responseHeadersPolicyId"] == rhp
        assert behavior["targetOriginId"] == "alb"


def test_the_image_optimizer_is_keyed_on_its_query_and_accept_with_compression(prod: StackRun) -> None:
    policy = prod.one("aws:cloudfront/cachePolicy:CachePolicy", "cdn-next-image").inputs
    assert (policy["minTtl"], policy["defaultTtl"], policy["maxTtl"]) == (0, 86_400, 31_536_000)
    key = policy["parametersInCacheKeyAndForwardedToOrigin"]
    assert key["cookiesConfig"] == {"cookieBehavior": "none"}
    assert key["headersConfig"] == {"headerBehavior": "whitelist", "headers": {"items": ["Accept"]}}
    assert key["queryStringsConfig"] == {"queryStringBehavior": "all"}
    assert key["enableAcceptEncodingGzip"] is True and key["enableAcceptEncodingBrotli"] is True


def test_security_headers_have_one_definition_shared_by_cloudfront_and_the_alb(prod: StackRun) -> None:
    config = prod.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs["securityHeadersConfig"]
    assert config == {
        "strictTransportSecurity": {"accessControlMaxAgeSec": 31_536_000, "includeSubdomains": True,
                                    "preload": True, "override": True},
        "contentSecurityPolicy": {"contentSecurityPolicy": CONTENT_SECURITY_POLICY, "override": True},
        "frameOptions": {"frameOption": "DENY", "override": True},
        "contentTypeOptions": {"override": True},
        "referrerPolicy": {"referrerPolicy": REFERRER_POLICY, "override": True},
        "xssProtection": {"protection": True, "modeBlock": True, "override": True},
    }
    listener = next(r for r in prod.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443).inputs
    assert listener["routingHttpResponseStrictTransportSecurityHeaderValue"] == HSTS_HEADER
    assert listener["routingHttpResponseContentSecurityPolicyHeaderValue"] == CONTENT_SECURITY_POLICY
    assert security_headers_config()["referrer_policy"]["referrer_policy"] == "strict-origin-when-cross-origin"


# --- logs and metrics ----------------------------------------------------------------------------------------------

def test_access_logs_v2_go_to_a_kms_bucket_without_cookies(prod: StackRun) -> None:
    bucket = prod.one("aws:s3/bucket:Bucket", "cdn-logs")
    sse = prod.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                   "cdn-logs").inputs["rules"][0]
    assert sse["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": prod.one(KEY, "keys-logs").outputs["arn"]}
    assert prod.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "cdn-logs").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}  # no ACLs: v2 needs none (legacy logging would)
    assert prod.one("aws:s3/bucketLogging:BucketLogging", "cdn-logs").inputs["targetPrefix"] == "cdn-logs/"
    source = prod.one("aws:cloudwatch/logDeliverySource:LogDeliverySource").inputs
    assert (source["logType"], source["resourceArn"]) == ("ACCESS_LOGS", prod.one(DISTRIBUTION).outputs["arn"])
    destination = prod.one("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination").inputs
    assert destination["deliveryDestinationConfiguration"] == {"destinationResourceArn": bucket.outputs["arn"]}
    assert destination["outputFormat"] == "parquet"
    delivery = prod.one("aws:cloudwatch/logDelivery:LogDelivery")
    assert delivery.inputs["recordFields"] == list(ACCESS_LOG_FIELDS) and "cs(Cookie)" not in ACCESS_LOG_FIELDS
    policy = prod.one("aws:s3/bucketPolicy:BucketPolicy", "cdn-logs")
    assert policy.urn in delivery.dependencies  # else CloudWatch appends its own statement behind our back
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    write = statements["AWSLogDeliveryWrite"]
    assert write["Principal"] == {"Service": "delivery.logs.amazonaws.com"} and write["Action"] == "s3:PutObject"
    assert write["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:logs:us-east-1:123456789012:delivery-source:*"}
    assert write["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    assert "DenyUploadsWithAnotherKey" in statements  # still a hardened KMS data bucket


def test_the_logs_key_admits_vended_delivery_only_with_the_cdn(prod: StackRun, dev: StackRun) -> None:
    def sids(run: StackRun) -> set[str]:
        return {s["Sid"] for s in json.loads(run.one(KEY, "keys-logs").inputs["policy"])["Statement"]}

    assert "AllowVendedLogDeliveryOfCdnAccessLogs" in sids(prod)
    assert "AllowVendedLogDeliveryOfCdnAccessLogs" not in sids(dev)


def test_additional_metrics_and_the_origin_latency_alarm_follow_the_setting(
        prod: StackRun, run_variant: Callable[..., StackRun]) -> None:
    subscription = prod.one("aws:cloudfront/monitoringSubscription:MonitoringSubscription").inputs
    assert subscription["distributionId"] == prod.one(DISTRIBUTION).id
    assert subscription["monitoringSubscription"] == {
        "realtimeMetricsSubscriptionConfig": {"realtimeMetricsSubscriptionStatus": "Enabled"}}
    alarm = prod.one(ALARM, "observability-cdn-origin-latency").inputs
    distribution = {"DistributionId": prod.one(DISTRIBUTION).id, "Region": "Global"}
    assert {query["id"]: query["metric"]["dimensions"] for query in alarm["metricQueries"] if "metric" in query} == {
        id_: distribution for id_ in ("latency", "samples")}
    run = run_variant("prod", **EDGE_VARIANT)
    assert run.ok, run.error_details
    assert run.config["maratron:cdnAdditionalMetrics"] == "false"
    assert run.of_type("aws:cloudfront/monitoringSubscription:MonitoringSubscription") == []
    assert [a.name for a in run.of_type(ALARM) if "cdn" in a.name] == ["observability-cdn-5xx-rate"]


# --- DNS -----------------------------------------------------------------------------------------------------------

def test_the_domain_points_at_the_distribution_for_ipv4_and_ipv6(prod: StackRun) -> None:
    records = {r.inputs["type"]: r.inputs for r in prod.of_type(RECORD) if r.name.startswith("public-dns")}
    assert sorted(records) == ["A", "AAAA"]
    for record in records.values():
        assert (record["zoneId"], record["name"]) == ("Z0PRD00000MARATRON0001", "maratron.example.com")
        assert record["aliases"] == [{"name": prod.one(DISTRIBUTION).outputs["domainName"],
                                      "zoneId": CLOUDFRONT_HOSTED_ZONE_ID, "evaluateTargetHealth": False}]


# --- the origin secret and its rotation ----------------------------------------------------------------------------

def accepted(run: StackRun) -> list[str]:
    (_, header) = run.one(LISTENER_RULE, "load-balancer-https-forward").plain("conditions")
    values: list[str] = header["httpHeader"]["values"]
    return values


def sent(run: StackRun) -> str:
    value: str = run.one(DISTRIBUTION).plain("origins")[0]["customHeaders"][0]["value"]
    return value


def slot(run: StackRun, name: str) -> Resource:
    return run.one(PASSWORD, f"origin-secret-{name}")


def test_the_secret_is_lower_case_and_long_because_the_alb_compares_case_insensitively(prod: StackRun) -> None:
    for name in ("a", "b"):
        inputs = slot(prod, name).inputs
        assert (inputs["length"], inputs["upper"], inputs["special"], inputs["lower"], inputs["numeric"]) == (
            64, False, False, True, True)
    assert (slot(prod, "a").inputs["keepers"], slot(prod, "b").inputs["keepers"]) == (
        {"generation": "0"}, {"generation": "-1"})
    assert accepted(prod) == [sent(prod)] == [slot(prod, "a").outputs["result"]]


def test_a_rotation_accepts_both_values_then_only_the_new_one(europe: StackRun,
                                                             run_variant: Callable[..., StackRun]) -> None:
    during = europe  # generation 1, the previous value still accepted (in us-west-2: the same rotation)
    after = run_variant("prod", **EDGE_VARIANT)  # generation 1 alone
    assert during.ok and after.ok, (during.error_details, after.error_details)
    assert [(run.config["maratron:cdnOriginSecretGeneration"], run.config["maratron:cdnOriginSecretAcceptPrevious"])
            for run in (during, after)] == [("1", "true"), ("1", "false")]
    # Generation 1 lives in slot b (its keeper changed: a new value); slot a keeps generation 0's value.
    assert slot(during, "b").inputs["keepers"] == {"generation": "1"}
    assert slot(during, "a").inputs["keepers"] == {"generation": "0"}
    new, old = slot(during, "b").outputs["result"], slot(during, "a").outputs["result"]
    assert sent(during) == new and accepted(during) == [new, old]
    assert sent(after) == new and accepted(after) == [new]


def test_the_secret_is_kept_in_secrets_manager_with_every_accepted_value(prod: StackRun) -> None:
    secret = prod.one("aws:secretsmanager/secret:Secret", "origin-secret-secret")
    assert secret.inputs["name"] == "maratron-prod/cdn/origin_verify"
    assert secret.inputs["kmsKeyId"] == prod.one(KEY, "keys-data").outputs["arn"]
    version = prod.one("aws:secretsmanager/secretVersion:SecretVersion", "origin-secret-secret")
    document = json.loads(version.plain("secretString"))
    assert document == {"header": ORIGIN_VERIFY_HEADER, "generation": 0, "active": sent(prod),
                        "accepted": accepted(prod)}
    assert prod.plain_outputs()["cdnOriginSecretArn"] == secret.outputs["arn"]


# --- without the CDN -----------------------------------------------------------------------------------------------

def test_dev_runs_without_a_cdn_and_exports_empty_cdn_outputs(dev: StackRun) -> None:
    assert not [r for r in dev.resources if r.type.startswith("aws:cloudfront/")]
    assert [r.name for r in dev.of_type(PASSWORD) if r.name.startswith("origin-secret")] == []
    outputs = dev.plain_outputs()
    assert (outputs["cdnDistributionId"], outputs["cdnDomainName"], outputs["cdnOriginSecretArn"]) == ("", "", "")


def test_prod_exports_the_distribution(prod: StackRun) -> None:
    outputs = prod.plain_outputs()
    assert outputs["cdnDistributionId"] == prod.one(DISTRIBUTION).id and outputs["cdnDistributionId"].startswith("E")
    assert outputs["cdnDomainName"].endswith(".cloudfront.net")


# --- a stack outside us-east-1: CloudFront's regional parts still go there ------------------------------------------

def test_elsewhere_the_certificate_is_issued_in_us_east_1(europe: StackRun) -> None:
    certificates = {r.name: r for r in europe.of_type("aws:acm/certificate:Certificate")}
    assert "region" not in certificates["load-balancer-certificate"].inputs  # the ALB's, in us-west-2
    edge = certificates["cdn-certificate"].inputs
    assert (edge["region"], edge["domainName"], edge["keyAlgorithm"]) == (
        "us-east-1", "maratron.example.com", "EC_prime256v1")
    record = europe.one(RECORD, "cdn-certificate-validation")
    # The ALB's certificate (us-west-2) validated through the same CNAME and renews through it: the CDN's copy
    # overwrites it and leaves it behind when the CDN goes.
    assert record.inputs["allowOverwrite"] is True and record.retain_on_delete
    validation = europe.one("aws:acm/certificateValidation:CertificateValidation", "cdn-certificate")
    assert validation.inputs["region"] == "us-east-1"
    assert validation.urn in europe.one(DISTRIBUTION).property_dependencies["viewerCertificate"]


def test_each_certificate_is_watched_for_expiry_where_acm_publishes_it(europe: StackRun) -> None:
    """Outside us-east-1 the CDN has its own certificate there: its DaysToExpiry is published in us-east-1, the
    ALB's in the stack's region (one alarm each, on its own ARN)."""
    certificates = {r.name: r.outputs["arn"] for r in europe.of_type("aws:acm/certificate:Certificate")}
    alarms = {a.name: a.inputs for a in europe.of_type(ALARM) if a.inputs.get("metricName") == "DaysToExpiry"}
    assert alarms["observability-certificate-alb-expiry"]["dimensions"] == {
        "CertificateArn": certificates["load-balancer-certificate"]}
    assert "region" not in alarms["observability-certificate-alb-expiry"]
    assert alarms["observability-certificate-cdn-expiry"]["dimensions"] == {
        "CertificateArn": certificates["cdn-certificate"]}
    assert alarms["observability-certificate-cdn-expiry"]["region"] == "us-east-1"
    assert len(alarms) == 2


def test_elsewhere_waf_logs_metrics_and_alarms_live_in_us_east_1_with_their_own_key(europe: StackRun) -> None:
    edge_key = europe.one(KEY, "keys-edge")
    assert edge_key.inputs["region"] == "us-east-1"
    principals = [s["Principal"] for s in json.loads(edge_key.inputs["policy"])["Statement"]]
    assert {"Service": "logs.us-east-1.amazonaws.com"} in principals
    assert europe.one("aws:wafv2/webAcl:WebAcl").inputs["region"] == "us-east-1"
    group = europe.one("aws:cloudwatch/logGroup:LogGroup", "waf-logs").inputs
    assert (group["region"], group["kmsKeyId"]) == ("us-east-1", edge_key.outputs["arn"])
    for type_ in ("logDeliverySource:LogDeliverySource", "logDeliveryDestination:LogDeliveryDestination",
                  "logDelivery:LogDelivery"):
        assert europe.one(f"aws:cloudwatch/{type_}").inputs["region"] == "us-east-1", type_
    topics = {t.name: t.inputs for t in europe.of_type("aws:sns/topic:Topic")}
    assert topics["observability-edge-alerts"]["region"] == "us-east-1"
    assert topics["observability-edge-alerts"]["kmsMasterKeyId"] == edge_key.outputs["arn"]
    edge_topic = europe.one("aws:sns/topic:Topic", "observability-edge-alerts").outputs["arn"]
    # Whoever the edge topic lets publish, its key lets encrypt (SNS accepts a publish the key would then refuse).
    topic_principals = {s["Principal"]["Service"] for s in json.loads(europe.one(
        "aws:sns/topicPolicy:TopicPolicy", "observability-edge-alerts").inputs["policy"])["Statement"]
        if s["Effect"] == "Allow"}
    assert topic_principals == {"cloudwatch.amazonaws.com"}
    assert all({"Service": service} in principals for service in topic_principals)
    home_topic = europe.one("aws:sns/topic:Topic", "observability-alerts").outputs["arn"]
    # the database's routing alarms notify no one: a Route 53 health check reads them (tests/test_database.py)
    watched = routing_alarms(europe)
    for alarm in (a for a in europe.of_type(ALARM) if a.urn not in watched):
        edge = alarm.name in ("observability-cdn-5xx-rate", "observability-cdn-origin-latency",
                              "observability-waf-blocked-requests", "observability-certificate-cdn-expiry")
        assert alarm.inputs.get("region") == ("us-east-1" if edge else None), alarm.name
        assert alarm.inputs["alarmActions"] == [edge_topic if edge else home_topic], alarm.name
    subscriptions = europe.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted(s.inputs.get("region", "home") for s in subscriptions) == ["home", "us-east-1"]
    assert topics["observability-alerts"]["kmsMasterKeyId"] == europe.one(KEY, "keys-alerts").outputs["arn"]
    arns = europe.plain_outputs()["kmsKeyArns"]  # logs, data, backups, alerts, then edge (images: the foundation's)
    assert len(arns) == 5 and arns[-1] == edge_key.outputs["arn"]


# --- the edge timeout chain and config rules -----------------------------------------------------------------------

def load(**changes: str) -> stack_config.StackConfig:
    return stack_config.load({**MINIMAL_VALID, "maratron:cdnEnabled": "true",
                              **{f"maratron:{k}": v for k, v in changes.items()}}, stack="test")


def problems(**changes: str) -> list[str]:
    with pytest.raises(stack_config.ConfigError) as caught:
        load(**changes)
    return [str(p) for p in caught.value.problems]


def test_the_edge_timeouts_list_cloudfront_in_front_of_the_alb() -> None:
    assert [(h.field_path, h.seconds) for h in load().edge_timeouts] == [
        ("cdn.origin_read_timeout_seconds", 60), ("load_balancer.idle_timeout_seconds", 300)]
    off = stack_config.load(MINIMAL_VALID | {"maratron:cdnEnabled": "false"}, stack="test")
    assert [h.field_path for h in off.edge_timeouts] == ["load_balancer.idle_timeout_seconds"]
    # What a hop behind the edge must cover: the longest edge silence (the ALB's, as the chain is checked).
    raised = load(cdnOriginReadTimeoutSeconds="180", cdnOriginTimeoutQuotaRaised="true",
                  albIdleTimeoutSeconds="200")
    assert (load().edge_timeout_seconds, off.edge_timeout_seconds, raised.edge_timeout_seconds) == (300, 300, 200)


def test_the_timeout_chain_flags_a_hop_shorter_than_the_one_in_front() -> None:
    found: list[tuple[str, str]] = []

    class Collect(Rules):
        def __init__(self) -> None:
            pass

        def key(self, field_path: str) -> str:
            return field_path

        def problem(self, field_path: str, allowed: str, **_: Any) -> None:
            found.append((field_path, allowed))

    hops = (TimeoutHop("edge", 60, "the edge"), TimeoutHop("alb", 300, "the ALB"), TimeoutHop("mesh", 15, "mesh"))
    check_timeout_chain(hops, Collect())
    assert [f for f, _ in found] == ["mesh"] and "must be at least alb (300 s)" in found[0][1]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"cdnOriginReadTimeoutSeconds": "90"}, "maratron:cdnOriginReadTimeoutSeconds = 90: above 60 s needs "
     "cdnOriginTimeoutQuotaRaised = true"),
    ({"cdnOriginKeepaliveSeconds": "120"}, "maratron:cdnOriginKeepaliveSeconds = 120: above 60 s needs"),
    ({"cdnOriginReadTimeoutSeconds": "181", "cdnOriginTimeoutQuotaRaised": "true"}, "must be between 1 and 180"),
    ({"cdnOriginReadTimeoutSeconds": "120", "cdnOriginTimeoutQuotaRaised": "true", "albIdleTimeoutSeconds": "90"},
     "maratron:albIdleTimeoutSeconds = 90: must be at least cdnOriginReadTimeoutSeconds (120 s): the ALB idle "
     "timeout sits behind CloudFront's origin read timeout"),
    ({"albIdleTimeoutSeconds": "60"}, "maratron:cdnOriginKeepaliveSeconds = 60: must be below albIdleTimeoutSeconds "
     "(60 s): CloudFront must close an idle connection before the ALB does"),
    ({"cdnCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"},
     "must be a certificate in us-east-1: CloudFront uses no other Region's certificates"),
    ({"cdnMinimumTlsVersion": "TLSv1.1_2016"}, "must be one of TLSv1.2_2025, TLSv1.3_2025, TLSv1.2_2021"),
    ({"cdnStaticPaths": '["static/*"]'}, "'static/*': must be a CloudFront path pattern starting with /"),
    ({"cdnStaticPaths": '["/_next/static/*"]'}, "is already a behavior of its own"),
    ({"cdnStaticPaths": json.dumps([f"/p{i}/*" for i in range(24)])}, "at most 23 patterns"),
    ({"cdnPriceClass": "PriceClass_Cheap"}, "must be one of PriceClass_100, PriceClass_200, PriceClass_All"),
    ({"tlsPolicy": "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09"}, 'maratron:tlsPolicy = "ELBSecurityPolicy-TLS13-1-3-PQ-'
     '2025-09": must allow TLS 1.2 while cdnEnabled: CloudFront connects to its origin with TLS 1.2 at most'),
])
def test_cdn_config_errors_name_key_value_and_rule(changes: dict[str, str], expected: str) -> None:
    found = problems(**changes)
    assert any(expected in p for p in found), found


def test_raised_quota_allows_the_longer_timeouts() -> None:
    config = load(cdnOriginReadTimeoutSeconds="180", cdnOriginKeepaliveSeconds="120",
                  cdnOriginTimeoutQuotaRaised="true")
    assert (config.cdn.origin_read_timeout_seconds, config.cdn.origin_keepalive_seconds) == (180, 120)


def test_outside_us_east_1_the_cdn_needs_a_zone_or_a_us_east_1_certificate() -> None:
    raw = {**MINIMAL_VALID, "aws:region": "eu-west-1", "maratron:azNames": '["eu-west-1a", "eu-west-1b"]',
           "maratron:cdnEnabled": "true", "maratron:hostedZoneId": "",
           "maratron:certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8695-"
                                      "a4b3c2d1e0f9"}
    with pytest.raises(stack_config.ConfigError) as caught:
        stack_config.load(raw, stack="test")
    assert any("cdnCertificateArn" in str(p) and "required outside us-east-1 without hostedZoneId" in str(p)
               for p in caught.value.problems)
    edge = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
    assert stack_config.load({**raw, "maratron:cdnCertificateArn": edge}, stack="test").cdn.certificate_arn == edge


def test_the_schema_defaults_turn_the_cdn_on_and_dev_opts_out(dev: StackRun, prod: StackRun) -> None:
    assert dev.config["maratron:cdnEnabled"] == "false"
    assert "maratron:cdnEnabled" not in prod.config or prod.config["maratron:cdnEnabled"] == "true"
    assert load().cdn.enabled and stack_config.load(MINIMAL_VALID, stack="test").cdn.enabled


def test_switching_the_front_door_updates_one_record_in_place(prod: StackRun, dev: StackRun) -> None:
    # The A record has one logical name in both shapes, and it carries the alias of where it lived before PublicDns
    # (the ALB's child `load-balancer-alias`), so neither enabling the CDN nor upgrading an older stack replaces it.
    for run in (prod, dev):
        record = run.one(RECORD, "public-dns-a")
        alb = run.one("aws:lb/loadBalancer:LoadBalancer")
        assert record.aliases == [f"load-balancer-alias@{alb.urn}"]
    assert prod.one(RECORD, "public-dns-aaaa").aliases == []
