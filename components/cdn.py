"""CloudFront in front of the ALB: static assets from the edge, everything dynamic straight through, the origin locked.

    viewer ──TLS 1.2+, h2/h3──► CloudFront (web ACL, security headers, gzip/Brotli, logs v2 → S3)
                                   │ https-only, TLSv1.2, Host forwarded, X-Origin-Verify: <secret>
                                   ▼
                 ALB :443 (security group: CloudFront's prefix list only; rule: Host + secret header, else 403)

Behaviors (first match wins; at most 25 per distribution):

    /_next/static/*   CachingOptimized + HostHeaderOnly   hashed Next.js bundles, `immutable`: a year at the edge
    /_next/image*     <prefix>-next-image + HostHeaderOnly the image optimizer: keyed on its query and Accept
    cdnStaticPaths    CachingOptimized + HostHeaderOnly   the app's public/ folder (favicon, fonts, images)
    *  (default)      CachingDisabled + AllViewerAndCloudFrontHeaders-2022-06
                                                          pages, API, NextAuth, the chat stream: never cached

* Never cached means CachingDisabled on the default behavior: a cache policy with a minimum TTL above 0 caches
  "even if the Cache-Control: no-cache, no-store, or private directives are present" (CloudFront API reference,
  UpdateCachePolicy), so no TTL-bearing policy may ever see an authenticated response.
* The Host header reaches the origin on every behavior: the ALB forwards only Host == domainName, and CloudFront
  accepts the origin's certificate when it matches "either the Origin domain ... or the Host header of the origin
  request" (CloudFront developer guide, http-502-bad-gateway). The default behavior forwards all viewer headers,
  cookies and query strings (NextAuth's session and CSRF cookies, the callback URL, Authorization) plus CloudFront's
  own headers: the app takes the client IP from CloudFront-Viewer-Address, never from X-Forwarded-For's first entry,
  which the client writes. Cached behaviors forward Host only: no cookie ever travels with a cacheable request.
* Compression: CloudFront compresses when the behavior says Compress *and* its cache policy accepts gzip/Brotli
  ("You must use cache policies to use Brotli compression", CloudFront developer guide, ServingCompressedFiles);
  CachingDisabled does not, so dynamic responses are compressed by Next.js (COMPRESSION_ENABLED=true, forwarded
  Accept-Encoding). The chat stream must not be buffered for compression (app note in docs/cdn.md).
* Streaming: the origin read timeout applies to the first byte and to every gap between packets, up to 60 s without
  a quota increase (180 s with one, Knowledge Center cloudfront-custom-origin-response). An AI answer that sends
  nothing for longer is cut: the app sends an SSE comment at least every 20 s (docs/cdn.md). No response completion
  timeout is set ("If you don't set a value for ResponseCompletionTimeout, CloudFront doesn't enforce a maximum
  value", CloudFront API reference, Origin), so a long stream that keeps talking is never cut.
* The certificate must be in us-east-1. pulumi-aws v7 takes a per-resource `region`, so no second provider: in a
  us-east-1 stack the ALB's validated certificate is reused, elsewhere one is issued there (or cdnCertificateArn).
* Logs: standard logging v2 (CloudWatch vended logs) to a dedicated SSE-KMS SecureBucket, Parquet, hourly partitions.
  The legacy S3 logging would need ACLs on the bucket ("Your bucket must have access control list (ACL) enabled",
  CloudFront developer guide, standard-logging-legacy-s3): not an exception worth making when v2 needs none.
* The web ACL (components/waf.py, CLOUDFRONT scope) is named in the distribution's configuration: "To configure an
  association in AWS CloudFormation, you must use the CloudFront distribution configuration" (AWS WAF developer
  guide, how-aws-waf-works-resources).

Lifecycle: nothing here holds data but the log bucket (retained per the removal policy). `wait_for_deployment` keeps
`pulumi up` running until every edge serves the new configuration, so a run that ends is a deployed run; that is what
makes the origin-secret rotation safe (docs/runbooks/secret-rotation.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.base import (
    RETAIN,
    AwsContext,
    RemovalPolicy,
    SecretRef,
    json_output,
    managed_secret,
    named_tags,
    retains,
)
from components.constants import (
    CACHE_POLICY_CACHING_DISABLED,
    CACHE_POLICY_CACHING_OPTIMIZED,
    CLOUDFRONT_HOSTED_ZONE_ID,
    CLOUDFRONT_TLS_POLICIES,
    CONTENT_SECURITY_POLICY,
    CONTENT_TYPE_OPTIONS,
    CREDENTIAL_TAG,
    DEFAULT_CLOUDFRONT_TLS_POLICY,
    EDGE_REGION,
    FRAME_OPTIONS,
    HSTS_HEADER,
    HSTS_MAX_AGE_SECONDS,
    LOG_RETENTION_DAYS,
    ORIGIN_REQUEST_POLICY_ALL_VIEWER_AND_CLOUDFRONT_HEADERS,
    ORIGIN_REQUEST_POLICY_HOST_HEADER_ONLY,
    ORIGIN_SSL_PROTOCOLS,
    ORIGIN_VERIFY_HEADER,
    PROJECT,
    REFERRER_POLICY,
    XSS_PROTECTION,
    Credential,
)
from components.load_balancer import CERTIFICATE_ARN_PATTERN, OriginLock
from components.observability import CdnWatch
from components.public_dns import AliasTarget
from components.secure_bucket import (
    MAX_BUCKET_PREFIX,
    Lifecycle,
    SecureBucket,
    SecureBucketArgs,
    ServerAccessLogs,
    VendedLogDelivery,
)
from components.settings import Rules, require_valid, setting

PriceClass = Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"]
STANDARD_ORIGIN_TIMEOUT_MAX = 60
"""Origin read and keep-alive timeouts above this need a Service Quotas increase ("To configure a response timeout
value that's greater than 60 seconds, you must request a quota increase", Knowledge Center
cloudfront-custom-origin-response)."""
QUOTA_ORIGIN_TIMEOUT_MAX = 180
"""The most a quota increase grants (same page: "up to 180 seconds")."""
MAX_CACHE_BEHAVIORS = 25
"""Cache behaviors per distribution (CloudFront quotas, default)."""
FIXED_BEHAVIORS = ("/_next/static/*", "/_next/image*")
PATH_PATTERN = re.compile(r"^/[A-Za-z0-9_\-.$/~\"'@:+*?&]{0,254}$")
ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
READ_METHODS = ["GET", "HEAD"]
TRANSIENT_ORIGIN_ERRORS = (500, 502, 503, 504)
ORIGIN_ID = "alb"
ACCESS_LOG_FIELDS = (
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)", "cs-uri-stem", "sc-status",
    "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "x-edge-result-type", "x-edge-request-id", "x-host-header",
    "cs-protocol", "cs-bytes", "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
    "x-edge-response-result-type", "cs-protocol-version", "fle-status", "fle-encrypted-fields", "c-port",
    "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type", "sc-content-len", "sc-range-start",
    "sc-range-end")
"""Every standard-log field but cs(Cookie): a delivery without record_fields logs all of them, the Cookie header with
NextAuth's session token included (the WAF's logs redact it for the same reason)."""
ORIGIN_SECRET_LENGTH = 64
"""Lower-case letters and digits (ALB header matching is case-insensitive): 64 x log2(36) ≈ 330 bits; an ALB header
value holds at most 128 characters."""


def check_path_pattern(value: str) -> str | None:
    if not PATH_PATTERN.match(value):
        return "must be a CloudFront path pattern starting with / (letters, digits, _-.$/~\"'@:+ and the wildcards * ?)"
    if value in FIXED_BEHAVIORS or value in ("/*", "*"):
        return "is already a behavior of its own (/_next/static/*, /_next/image*, or the default *)"
    return None


def check_cdn_certificate_arn(value: str) -> str | None:
    if not value:
        return None
    match = CERTIFICATE_ARN_PATTERN.match(value)
    if not match:
        return "must be an ACM certificate ARN, arn:aws:acm:us-east-1:<account>:certificate/<uuid> (or empty)"
    if match["region"] != EDGE_REGION:
        return f"must be a certificate in {EDGE_REGION}: CloudFront uses no other Region's certificates"
    return None


@dataclass(frozen=True, kw_only=True)
class CdnSettings:
    """The configurable part of the CDN: on/off, viewer TLS, timeouts, cached paths, metrics, the origin secret."""

    enabled: bool = setting(
        "cdnEnabled", True, "CloudFront in front of the ALB (default true: static assets from the edge, the ALB "
        "admits only CloudFront, WAF at the edge). false: the ALB is the front door (dev saves the deploy minutes); "
        "on a retain stack the CDN's protected log bucket must be released first (`pulumi state unprotect`), and in a "
        "stack outside us-east-1 its protected us-east-1 key too, while the WAF's us-east-1 log group goes with its "
        "logs. Either way the web ACL is replaced (its scope), the new one before the old.")
    price_class: PriceClass = setting(
        "cdnPriceClass", "PriceClass_100", "Edge locations used: PriceClass_100 (default: North America and Europe, "
        "the cheapest rates; other viewers are served from there), PriceClass_200 or PriceClass_All.")
    minimum_tls_version: str = setting(
        "cdnMinimumTlsVersion", DEFAULT_CLOUDFRONT_TLS_POLICY, "Viewer security policy: TLSv1.2_2025 (default: TLS "
        "1.2 with AEAD ciphers only, and TLS 1.3), TLSv1.3_2025 (TLS 1.3 only) or TLSv1.2_2021.",
        choices=CLOUDFRONT_TLS_POLICIES)
    certificate_arn: str = setting(
        "cdnCertificateArn", "", "Existing ACM certificate for domainName in us-east-1 for the distribution. Empty: "
        "the ALB's when the stack is in us-east-1, else one issued there and validated in hostedZoneId.",
        check=check_cdn_certificate_arn)
    origin_read_timeout_seconds: int = setting(
        "cdnOriginReadTimeoutSeconds", 60, "Longest silence CloudFront waits for from the ALB, for the first byte and "
        "between packets (1-60 s; up to 180 with cdnOriginTimeoutQuotaRaised). Streams must send something more often "
        "(docs/cdn.md).", minimum=1, maximum=QUOTA_ORIGIN_TIMEOUT_MAX)
    origin_keepalive_seconds: int = setting(
        "cdnOriginKeepaliveSeconds", 60, "How long CloudFront keeps an idle connection to the ALB open (1-60 s; up to "
        "180 with cdnOriginTimeoutQuotaRaised); below albIdleTimeoutSeconds, so CloudFront closes first.",
        minimum=1, maximum=QUOTA_ORIGIN_TIMEOUT_MAX)
    origin_timeout_quota_raised: bool = setting(
        "cdnOriginTimeoutQuotaRaised", False, "Set true once Service Quotas (us-east-1) raised CloudFront's origin "
        "response/keep-alive timeout quota: allows the two timeouts above 60 s (default false).")
    static_paths: tuple[str, ...] = setting(
        "cdnStaticPaths", ("/static/*", "/images/*", "/fonts/*", "/favicon.ico", "/robots.txt"), "Path patterns "
        "of the app's public/ folder cached at the edge (CachingOptimized: as long as the origin's Cache-Control says, "
        "up to a year; Next.js sends max-age=0 for public/ unless next.config sets headers: docs/cdn.md); "
        "/_next/static/* and /_next/image* are always cached.", check=check_path_pattern)
    additional_metrics: bool = setting(
        "cdnAdditionalMetrics", True, "CloudFront's additional metrics (OriginLatency, CacheHitRate, per-status "
        "error rates; 8 metrics at the CloudWatch custom-metric rate) and the origin-latency alarm (default true).")
    origin_secret_generation: int = setting(
        "cdnOriginSecretGeneration", 0, "Generation of the X-Origin-Verify secret; +1 rotates it (together with "
        "cdnOriginSecretAcceptPrevious: true, see docs/runbooks/secret-rotation.md). Default 0.",
        minimum=0, maximum=1_000_000)
    origin_secret_accept_previous: bool = setting(
        "cdnOriginSecretAcceptPrevious", False, "The ALB also accepts the previous generation's secret: true during a "
        "rotation, while CloudFront's edges switch to the new one; false again afterwards (default false).")

    def validate(self, rules: Rules) -> None:
        quota = "needs {key} = true (a Service Quotas increase in us-east-1; without it CloudFront rejects the value)"
        for name in ("origin_read_timeout_seconds", "origin_keepalive_seconds"):
            if getattr(self, name) > STANDARD_ORIGIN_TIMEOUT_MAX and not self.origin_timeout_quota_raised:
                rules.problem(name, f"above {STANDARD_ORIGIN_TIMEOUT_MAX} s " +
                              quota.format(key=rules.key("origin_timeout_quota_raised")),
                              also=["origin_timeout_quota_raised"])
        if len(FIXED_BEHAVIORS) + len(self.static_paths) > MAX_CACHE_BEHAVIORS:
            rules.problem("static_paths", f"at most {MAX_CACHE_BEHAVIORS - len(FIXED_BEHAVIORS)} patterns (CloudFront "
                          f"allows {MAX_CACHE_BEHAVIORS} cache behaviors per distribution)")


# --- the origin secret --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OriginSecretArgs:
    """Inputs of OriginSecret."""

    key: aws.kms.Key
    """CMK of the Secrets Manager copy (EncryptionKeys.data)."""
    settings: CdnSettings = field(default_factory=CdnSettings)
    """The generation (cdnOriginSecretGeneration) and whether the previous one is still accepted
    (cdnOriginSecretAcceptPrevious); default generation 0, previous not accepted."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): the Secrets Manager copy stays recoverable for 30 days after a delete."""
    name_prefix: str = PROJECT
    """Secret name `<name_prefix>/cdn/origin_verify` (not `origin-verify`: a name must not end in a hyphen and six
    characters, components/base.py check_secret_name)."""
    tags: dict[str, str] = field(default_factory=dict)


class OriginSecret(pulumi.ComponentResource):
    """The X-Origin-Verify value CloudFront sends and the ALB requires, rotatable without a 403 in between.

    Two slots: generation g lives in slot a when g is even, b when odd; the other slot holds generation g - 1. A
    rotation bumps g: the slot of g - 1 keeps its value (it becomes "previous"), the other slot draws a new one (its
    keeper changed). With accept_previous the ALB accepts both while CloudFront's edges switch over. The distribution
    depends on the ALB's forward rule, so in one `pulumi up` the rule accepts the new value before the distribution
    starts sending it, and `wait_for_deployment` holds the run until every edge sends it; only then does the next run
    (accept_previous false) retire the old value (docs/runbooks/secret-rotation.md). No rotation Lambda: it would
    change CloudFront and the ALB behind Pulumi's back, and could not wait for the distribution to deploy.

    The values also go to Secrets Manager (`secret`), so operators and ops.verify can probe the origin without reading
    Pulumi state. Honest limit: anyone allowed cloudfront:GetDistributionConfig or elasticloadbalancing:DescribeRules
    can read the value too; the header is defense in depth behind the prefix list, against *other people's*
    distributions (which reach the ALB from the same CloudFront addresses).
    """

    active_value: pulumi.Output[str]
    """The value CloudFront sends."""
    accepted_values: list[pulumi.Output[str]]
    """What the ALB accepts: the active value, then the previous one while accept_previous."""
    secret: SecretRef

    def __init__(self, name: str, args: OriginSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:edge:OriginSecret", name, None, opts)
        self._args = args
        g = args.settings.origin_secret_generation
        active_slot = "a" if g % 2 == 0 else "b"
        slots = {slot: random.RandomPassword(
            f"{name}-{slot}",
            length=ORIGIN_SECRET_LENGTH, upper=False, special=False, lower=True, numeric=True,
            keepers={"generation": str(g if slot == active_slot else g - 1)},
            opts=pulumi.ResourceOptions(parent=self),
        ) for slot in ("a", "b")}
        previous_slot = "b" if active_slot == "a" else "a"
        # Secret outputs already; said again so that no refactoring can ever put them in state in plain text.
        self.active_value = pulumi.Output.secret(slots[active_slot].result)
        accept_previous = args.settings.origin_secret_accept_previous
        previous: list[pulumi.Output[str]] = (
            [pulumi.Output.secret(slots[previous_slot].result)] if accept_previous else [])
        self.accepted_values = [self.active_value, *previous]
        document = json_output({
            "header": ORIGIN_VERIFY_HEADER, "generation": g, "active": self.active_value,
            "accepted": self.accepted_values})
        self.secret = managed_secret(
            f"{name}-secret", name=f"{args.name_prefix}/cdn/origin_verify",
            description=f"{args.name_prefix}: the {ORIGIN_VERIFY_HEADER} header CloudFront sends and the ALB requires",
            value=document, key=args.key, parent=self, removal_policy=args.removal_policy,
            # Rotated by a person (cdnOriginSecretGeneration, docs/runbooks/secret-rotation.md), not by a function.
            tags={**named_tags(args.tags, f"{args.name_prefix}-cdn-origin-verify"),
                  CREDENTIAL_TAG: Credential.MANUAL.value})
        self.register_outputs({"secretArn": self.secret.secret.arn})

    def lock(self) -> OriginLock:
        """What the ALB enforces with this secret (LoadBalancerArgs.origin_lock)."""
        return OriginLock(accepted_values=self.accepted_values)


# --- the distribution ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CdnArgs:
    """Inputs of Cdn."""

    context: AwsContext
    """Account, partition and region (log delivery conditions, where the certificate must be issued)."""
    domain_name: str
    """The app's hostname: the distribution's alias and the Host the ALB expects."""
    origin_domain_name: pulumi.Input[str]
    """The ALB's DNS name (LoadBalancer.alb.dns_name)."""
    origin_certificate_arn: pulumi.Input[str]
    """The ALB's certificate: the distribution's too when the stack is in us-east-1 (same Region, same name)."""
    origin_secret: OriginSecret
    """The X-Origin-Verify value to send."""
    origin_ready: Sequence[pulumi.Resource]
    """What must be in place (and updated) before the distribution sends a new secret: the ALB's forward rule."""
    web_acl_arn: pulumi.Input[str]
    """A CLOUDFRONT-scope WAFv2 web ACL (WebFirewall(scope="CLOUDFRONT").web_acl.arn)."""
    log_key: aws.kms.Key
    """CMK of the access-log bucket (EncryptionKeys.logs, whose policy admits vended-log delivery with cdn=True)."""
    server_access_logs: ServerAccessLogs | None
    """Where the log bucket's own S3 access logs go (BackupStorage.access_logs_for("cdn-logs/")); None is explicit."""
    settings: CdnSettings = field(default_factory=CdnSettings)
    """See CdnSettings; default: every schema default."""
    hosted_zone_id: str = ""
    """Public zone of domain_name, for the us-east-1 certificate's validation record outside us-east-1; default ''."""
    log_retention_days: int = LOG_RETENTION_DAYS
    """Days access-log objects are kept; default 365."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): the log bucket is protected and kept with its logs."""
    name_prefix: str = PROJECT
    """Names of the policies, the log delivery and the bucket prefix."""
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_valid(self.settings)
        s = self.settings
        if self.context.region != EDGE_REGION and not s.certificate_arn and not self.hosted_zone_id:
            raise ValueError(f"CdnArgs: outside {EDGE_REGION} the distribution needs cdnCertificateArn or a hosted "
                             "zone to validate a certificate in")

    @property
    def edge_region(self) -> str | None:
        """The `region` argument of the CDN's regional parts: us-east-1, unset when that is the stack's Region."""
        return None if self.context.region == EDGE_REGION else EDGE_REGION


def security_headers_config() -> Any:
    """The response headers policy's security headers, from the one definition in components/constants.py; every
    one overrides what the origin sent ("whether CloudFront overrides the ... header received from the origin",
    CloudFormation ResponseHeadersPolicy)."""
    return {
        "strict_transport_security": {
            "access_control_max_age_sec": HSTS_MAX_AGE_SECONDS,
            "include_subdomains": "includeSubDomains" in HSTS_HEADER, "preload": "preload" in HSTS_HEADER,
            "override": True},
        "content_security_policy": {"content_security_policy": CONTENT_SECURITY_POLICY, "override": True},
        "frame_options": {"frame_option": FRAME_OPTIONS, "override": True},
        "content_type_options": {"override": CONTENT_TYPE_OPTIONS == "nosniff"},
        "referrer_policy": {"referrer_policy": REFERRER_POLICY, "override": True},
        "xss_protection": {"protection": XSS_PROTECTION.startswith("1"), "mode_block": "mode=block" in XSS_PROTECTION,
                           "override": True},
    }


class Cdn(pulumi.ComponentResource):
    """A CloudFront distribution with the ALB as its only origin (see the module docstring)."""

    distribution: aws.cloudfront.Distribution
    response_headers_policy: aws.cloudfront.ResponseHeadersPolicy
    log_bucket: aws.s3.Bucket
    certificate_arn: pulumi.Output[str]
    """The us-east-1 certificate the distribution serves."""
    monitoring: aws.cloudfront.MonitoringSubscription | None
    """The additional-metrics subscription (None when cdnAdditionalMetrics is false)."""

    def __init__(self, name: str, args: CdnArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:edge:Cdn", name, None, opts)
        self._name = name
        self._args = args
        prefix = args.name_prefix
        self.response_headers_policy = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-security-headers",
            name=f"{prefix}-security-headers",
            comment="The seed's security headers (components/constants.py), overriding the origin's",
            security_headers_config=security_headers_config(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        next_image = aws.cloudfront.CachePolicy(
            f"{name}-next-image",
            name=f"{prefix}-next-image",
            comment="Next.js image optimizer: one entry per url/w/q and Accept (WebP/AVIF negotiation)",
            min_ttl=0, default_ttl=86_400, max_ttl=31_536_000,
            parameters_in_cache_key_and_forwarded_to_origin={
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "whitelist", "headers": {"items": ["Accept"]}},
                "query_strings_config": {"query_string_behavior": "all"},
                "enable_accept_encoding_gzip": True, "enable_accept_encoding_brotli": True,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.certificate_arn = self._certificate()
        self.distribution = self._distribution(next_image)
        self.log_bucket = self._access_logs()
        self.monitoring = None
        if args.settings.additional_metrics:
            # CloudFront "sends up to 8 metrics to CloudWatch ... charged only once per month, per metric"
            # (CloudFront developer guide, viewing-cloudfront-metrics): OriginLatency among them.
            self.monitoring = aws.cloudfront.MonitoringSubscription(
                f"{name}-additional-metrics",
                distribution_id=self.distribution.id,
                monitoring_subscription={"realtime_metrics_subscription_config": {
                    "realtime_metrics_subscription_status": "Enabled"}},
                opts=pulumi.ResourceOptions(parent=self.distribution),
            )
        self.register_outputs({"distributionId": self.distribution.id, "domainName": self.distribution.domain_name})

    # --- capabilities -------------------------------------------------------------------------------------------

    @property
    def alias_target(self) -> AliasTarget:
        """The distribution as the domain's alias target (A and AAAA: it serves IPv6)."""
        return AliasTarget(dns_name=self.distribution.domain_name, zone_id=CLOUDFRONT_HOSTED_ZONE_ID,
                           evaluate_target_health=False, ipv6=True)

    @property
    def watch(self) -> CdnWatch:
        """What Observability alarms on: the distribution (the origin-latency alarm with its additional metrics)."""
        args = self._args
        # In a us-east-1 stack without cdnCertificateArn the distribution uses the ALB's certificate: watched there.
        own = bool(args.settings.certificate_arn) or args.edge_region is not None
        return CdnWatch(self.distribution.id, args.settings.additional_metrics,
                        certificate_arn=self.certificate_arn if own else None)

    @property
    def origin_secret_arn(self) -> pulumi.Output[str]:
        """The Secrets Manager copy of the origin secret (for operators and ops.verify)."""
        return self._args.origin_secret.secret.secret.arn

    # --- parts --------------------------------------------------------------------------------------------------

    def _tags(self, suffix: str) -> dict[str, str]:
        return named_tags(self._args.tags, f"{self._args.name_prefix}-{suffix}")

    def _certificate(self) -> pulumi.Output[str]:
        args = self._args
        if args.settings.certificate_arn:
            return pulumi.Output.from_input(args.settings.certificate_arn)
        if args.edge_region is None:  # the ALB's certificate is already in us-east-1
            return pulumi.Output.from_input(args.origin_certificate_arn)
        certificate = aws.acm.Certificate(
            f"{self._name}-certificate",
            region=EDGE_REGION,
            domain_name=args.domain_name,
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            tags=self._tags("cdn-certificate"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{self._name}-certificate-validation",
            zone_id=args.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            # ACM's validation CNAME is the same for every certificate of a name in an account, so the ALB's
            # certificate (other Region) already wrote it: overwrite rather than fail, and leave it when the CDN
            # goes (the ALB's certificate renews through the same record: "the CNAME delegates ongoing domain
            # validation to ACM", https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html).
            allow_overwrite=True,
            opts=pulumi.ResourceOptions(parent=certificate, retain_on_delete=True),
        )
        validation = aws.acm.CertificateValidation(
            f"{self._name}-certificate",
            region=EDGE_REGION,
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=pulumi.ResourceOptions(parent=certificate),
        )
        return validation.certificate_arn

    def _behavior(self, cache_policy_id: pulumi.Input[str], origin_request_policy_id: str,
                  methods: list[str], path_pattern: str | None = None) -> Any:
        behavior: dict[str, Any] = {
            "target_origin_id": ORIGIN_ID,
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": methods,
            "cached_methods": READ_METHODS,
            "cache_policy_id": cache_policy_id,
            "origin_request_policy_id": origin_request_policy_id,
            "response_headers_policy_id": self.response_headers_policy.id,
            "compress": True,
        }
        if path_pattern is not None:
            behavior["path_pattern"] = path_pattern
        return behavior

    def _distribution(self, next_image: aws.cloudfront.CachePolicy) -> aws.cloudfront.Distribution:
        args, s = self._args, self._args.settings
        # Plain dicts in the provider's input shape (typed Any, as in waf.py: mypy cannot match nested dicts to the
        # generated TypedDicts).
        cached: Any = [
            self._behavior(CACHE_POLICY_CACHING_OPTIMIZED, ORIGIN_REQUEST_POLICY_HOST_HEADER_ONLY,
                           [*READ_METHODS, "OPTIONS"], "/_next/static/*"),
            self._behavior(next_image.id, ORIGIN_REQUEST_POLICY_HOST_HEADER_ONLY, READ_METHODS, "/_next/image*"),
            *(self._behavior(CACHE_POLICY_CACHING_OPTIMIZED, ORIGIN_REQUEST_POLICY_HOST_HEADER_ONLY, READ_METHODS,
                             pattern) for pattern in s.static_paths),
        ]
        return aws.cloudfront.Distribution(
            f"{self._name}-distribution",
            comment=f"{args.name_prefix}: {args.domain_name} in front of the ALB",
            enabled=True,
            aliases=[args.domain_name],
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=s.price_class,
            web_acl_id=args.web_acl_arn,
            origins=cast(Any, [{
                "origin_id": ORIGIN_ID,
                "domain_name": args.origin_domain_name,
                "connection_attempts": 3,
                "connection_timeout": 10,
                "custom_origin_config": {
                    "http_port": 80,  # required by the API; never used (https-only)
                    "https_port": 443,
                    "origin_protocol_policy": "https-only",
                    # The ALB's TLS13-1-2-Res policy and its P-256 certificate meet CloudFront's origin ciphers
                    # (ECDHE-ECDSA-AES128-GCM-SHA256, prime256v1: CloudFront developer guide,
                    # secure-connections-supported-ciphers-cloudfront-to-origin).
                    "origin_ssl_protocols": list(ORIGIN_SSL_PROTOCOLS),
                    "origin_read_timeout": s.origin_read_timeout_seconds,
                    "origin_keepalive_timeout": s.origin_keepalive_seconds,
                },
                "custom_headers": [{"name": ORIGIN_VERIFY_HEADER, "value": args.origin_secret.active_value}],
            }]),
            default_cache_behavior=self._behavior(
                CACHE_POLICY_CACHING_DISABLED, ORIGIN_REQUEST_POLICY_ALL_VIEWER_AND_CLOUDFRONT_HEADERS, ALL_METHODS),
            ordered_cache_behaviors=cached,
            # A deploy's brief 502/503 must not be served from the edge afterwards.
            custom_error_responses=cast(Any, [{"error_code": code, "error_caching_min_ttl": 0}
                                              for code in TRANSIENT_ORIGIN_ERRORS]),
            restrictions=cast(Any, {"geo_restriction": {"restriction_type": "none"}}),
            viewer_certificate=cast(Any, {
                "acm_certificate_arn": self.certificate_arn,
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": s.minimum_tls_version,
            }),
            wait_for_deployment=True,
            tags=self._tags("cdn"),
            # The ALB must accept a new secret before CloudFront sends it (OriginSecret).
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.origin_ready)),
        )

    def _access_logs(self) -> aws.s3.Bucket:
        args = self._args
        region = args.edge_region
        bucket = SecureBucket(f"{self._name}-logs", SecureBucketArgs(
            context=args.context,
            bucket_prefix=f"{args.name_prefix}-cdn-logs-"[:MAX_BUCKET_PREFIX],
            kms_key=args.log_key,
            vended_logs=VendedLogDelivery(source_region=EDGE_REGION),
            access_logs=args.server_access_logs,
            lifecycle=Lifecycle(expiration_days=args.log_retention_days, noncurrent_version_days=7,
                                abort_multipart_days=1),
            removal_policy=args.removal_policy,
            force_destroy=not retains(args.removal_policy),
            tags=self._tags("cdn-logs"),
        ), opts=pulumi.ResourceOptions(parent=self))
        # Standard logging v2: source (the distribution) -> destination (the bucket) -> delivery, all in us-east-1,
        # where CloudFront's delivery sources live ("For CloudFront, the valid value is ACCESS_LOGS").
        source = aws.cloudwatch.LogDeliverySource(
            f"{self._name}-logs",
            region=region,
            name=f"{args.name_prefix}-cdn",
            log_type="ACCESS_LOGS",
            resource_arn=self.distribution.arn,
            tags=self._tags("cdn-logs"),
            opts=pulumi.ResourceOptions(parent=self.distribution),
        )
        destination = aws.cloudwatch.LogDeliveryDestination(
            f"{self._name}-logs",
            region=region,
            name=f"{args.name_prefix}-cdn-s3",
            output_format="parquet",  # columnar and compressed: Athena reads a fraction of the bytes
            delivery_destination_configuration={"destination_resource_arn": bucket.arn},
            tags=self._tags("cdn-logs"),
            opts=pulumi.ResourceOptions(parent=bucket),
        )
        aws.cloudwatch.LogDelivery(
            f"{self._name}-logs",
            region=region,
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
            record_fields=list(ACCESS_LOG_FIELDS),
            s3_delivery_configurations=[{"suffix_path": "{DistributionId}/{yyyy}/{MM}/{dd}/{HH}",
                                         "enable_hive_compatible_path": False}],
            tags=self._tags("cdn-logs"),
            # The bucket policy must already admit the delivery, or CloudWatch appends its own statement to it,
            # behind Pulumi's back.
            opts=pulumi.ResourceOptions(parent=source, depends_on=[bucket.policy]),
        )
        return bucket.bucket
