"""The public entry point: an internet-facing ALB that speaks only HTTPS to the world and HTTP to the web tasks.

What it enforces at the edge, so no task can forget it:
- HTTPS only: the :80 listener answers every request with a 301 to https://; the :443 listener uses a TLS 1.2+
  policy (default ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09) and a DNS-validated ACM certificate or an existing one.
- Security headers on every HTTPS response (listener attributes, which overwrite the app's own values): HSTS with
  preload, the seed's Content-Security-Policy, X-Frame-Options DENY, X-Content-Type-Options nosniff, and no `Server`
  header. Not CORS: the listener's Access-Control-Allow-Origin is one static value that overwrites the app's answer,
  and the provider cannot clear it once set (terraform-provider-aws#42513, an open bug: removing it shows no diff),
  so a later change of corsOrigins would leave a stale origin; the app answers CORS per request from CORS_ORIGINS.
  Referrer-Policy and X-XSS-Protection are not among the headers an ALB can set: behind the CDN, CloudFront's
  response headers policy adds them (components/cdn.py); without it they stay the app's job (next.config.js).
  Every value is defined once, in components/constants.py.
- Malformed requests stop here: invalid header fields are dropped and desync mitigation is strictest/defensive.
- The app's Prometheus metrics (PRIVATE_PATHS) are never served to the internet: a rule answers 404 first.
- Access logs go to a dedicated SecureBucket (SSE-S3: ALB log delivery does not support SSE-KMS; the documented
  log-target exception) that only ELB can write, its own access logged to the stack's access-logs bucket.

Two shapes. Without `origin_lock` (the ALB is the front door): the security group admits 80/443 from anywhere and
:80 redirects. With `origin_lock` (a CloudFront distribution is the front door, components/cdn.py) the ALB accepts
only CloudFront, in two layers: the security group admits :443 from CloudFront's origin-facing managed prefix list
alone (no :80 listener, no world rule), and the forward rule also requires the secret X-Origin-Verify header (one or,
during a rotation, two accepted values); anything else gets 403. The prefix list stops everything that is not
CloudFront; the header stops other people's distributions, which come from the same addresses.

Either way the security group may send only to what it is granted, on the target group's port:
`grant(load_balancer, web)` creates the ALB's egress rule and the web tasks' ingress rule, both halves of the path
explicit (components/connections.py). IPv4 only: the VPC has no IPv6 CIDR, so the ALB is not dualstack. DNS for the
domain is components/public_dns.py (to the ALB, or to the distribution in front of it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.base import RETAIN, AwsContext, RemovalPolicy, named_tags, retains
from components.connections import ANYWHERE, Connections, Peer, grant_from
from components.constants import (
    ALB_RULE_VALUES_PER_CONDITION,
    ALB_RULE_VALUES_PER_RULE,
    CLOUDFRONT_PREFIX_LIST,
    CLOUDFRONT_PREFIX_LIST_WEIGHT,
    CONTENT_SECURITY_POLICY,
    CONTENT_TYPE_OPTIONS,
    DEFAULT_TLS_POLICY,
    FRAME_OPTIONS,
    HEALTH_CHECK_PATH,
    HEALTHY_STATUS_CODES,
    HSTS_HEADER,
    LOG_RETENTION_DAYS,
    ORIGIN_VERIFY_HEADER,
    PRIVATE_PATHS,
    PROJECT,
    SECURITY_GROUP_RULES_QUOTA,
    SPOT_DRAIN_SECONDS,
    SPOT_INTERRUPTION_NOTICE_SECONDS,
    TLS_POLICIES,
    WEB_PORT,
)
from components.observability import EdgeWatch
from components.public_dns import AliasTarget, PublicDns, PublicDnsArgs
from components.secure_bucket import (
    MAX_BUCKET_PREFIX,
    ElbAccessLogTarget,
    Lifecycle,
    SecureBucket,
    SecureBucketArgs,
    ServerAccessLogs,
)
from components.service import LoadBalancerAttachment
from components.settings import Rules, require_valid, setting

HSTS = HSTS_HEADER
SEED_CSP = CONTENT_SECURITY_POLICY
ACCESS_LOG_PREFIX = "alb"


HOSTED_ZONE_ID_PATTERN = re.compile(r"^Z[A-Z0-9]{1,31}$")
CERTIFICATE_ARN_PATTERN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
DesyncMitigationMode = Literal["strictest", "defensive"]
"""`monitor` is not offered: it lets request-smuggling attempts through (CKV_AWS_328)."""


def check_hosted_zone_id(value: str) -> str | None:
    if value and not HOSTED_ZONE_ID_PATTERN.match(value):
        return "must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ (or empty)"
    return None


def check_certificate_arn(value: str) -> str | None:
    if value and not CERTIFICATE_ARN_PATTERN.match(value):
        return "must be an ACM certificate ARN, arn:aws:acm:<region>:<account>:certificate/<uuid> (or empty)"
    return None


@dataclass(frozen=True, kw_only=True)
class LoadBalancerSettings:
    """The configurable part of the load balancer: certificate and DNS, TLS policy, desync mode, idle timeout."""

    hosted_zone_id: str = setting(
        "hostedZoneId", "", "Route 53 public hosted zone (Z...) that serves domainName: holds the alias record to the "
        "ALB and, without certificateArn, the DNS validation of the ACM certificate. Set this, certificateArn, or "
        "both.", check=check_hosted_zone_id)
    certificate_arn: str = setting(
        "certificateArn", "", "Existing ACM certificate for domainName in the stack's region (e.g. validated by "
        "another team's DNS). Empty: a DNS-validated certificate is issued in hostedZoneId.",
        check=check_certificate_arn)
    tls_policy: str = setting(
        "tlsPolicy", DEFAULT_TLS_POLICY, "TLS policy of the HTTPS listener; TLS 1.2+ policies offering TLS 1.3, "
        "without the legacy Ext suites (components/constants.py, shared with the policy pack and ops.verify). "
        "Default: AWS's current recommendation (TLS 1.3 + 1.2 with AEAD ciphers, hybrid post-quantum key exchange). "
        "The TLS13-1-3 (1.3-only) policies only without the CDN: CloudFront reaches its origin with TLS 1.2.",
        choices=TLS_POLICIES)
    desync_mitigation_mode: DesyncMitigationMode = setting(
        "desyncMitigationMode", "strictest", "ALB HTTP desync mitigation: strictest (default; only RFC "
        "7230-compliant requests reach the app, whose only clients are browsers) or defensive (if a legitimate "
        "client gets 400s).")
    idle_timeout_seconds: int = setting(
        "albIdleTimeoutSeconds", 300, "ALB idle timeout (60-4000 s). 300: an AI chat response may send nothing for "
        "minutes (model thinking, tool calls) before or between streamed tokens; 60 (the AWS default) cuts those.",
        minimum=60, maximum=4000)

    def validate(self, rules: Rules) -> None:
        if not self.hosted_zone_id and not self.certificate_arn:
            rules.problem("hosted_zone_id", f"set {rules.key('hosted_zone_id')} (a DNS-validated certificate and the "
                          f"alias record are created there), {rules.key('certificate_arn')} (an existing "
                          "certificate), or both: the HTTPS listener needs a certificate", also=["certificate_arn"])


@dataclass(frozen=True)
class LoadBalancerArgs:
    """Inputs of LoadBalancer."""

    context: AwsContext
    """Account, partition and region (the access-log bucket policy names this account's log prefix)."""
    vpc_id: pulumi.Input[str]
    """VPC of the ALB and its target group."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Public subnets, one per AZ (at least two: an ALB spans two AZs or more)."""
    domain_name: str
    """Public hostname served (certificate subject and DNS record), e.g. maratron.example.com."""
    settings: LoadBalancerSettings
    """Certificate and DNS (hosted zone and/or an existing certificate), TLS policy, desync mode, idle timeout."""
    server_access_logs: ServerAccessLogs | None
    """Where the ALB log bucket's own S3 server access logs go (BackupStorage.access_logs_for("alb-logs/")); no
    default: None is an explicit choice."""
    target_port: int = WEB_PORT
    """Port the web tasks listen on (target group port and the only port the ALB may send to); default 3000."""
    health_check_path: str = HEALTH_CHECK_PATH
    """The seed's health endpoint; default /api/health (2xx/3xx = healthy: HEALTHY_STATUS_CODES)."""
    content_security_policy: str = SEED_CSP
    """Content-Security-Policy set on every HTTPS response; default the seed's."""
    origin_lock: OriginLock | None = None
    """Admit only CloudFront (prefix list + secret header; no :80 listener); default None: the ALB is the front door
    (80/443 from anywhere, :80 redirects)."""
    targets_on_spot: bool = False
    """The web tasks run on Fargate Spot (the cluster's fargateSpot): the drain is capped at SPOT_DRAIN_SECONDS, below
    Spot's two-minute notice (constants.SPOT_INTERRUPTION_NOTICE_SECONDS); default False."""
    deregistration_delay_seconds: int | None = None
    """How long a draining task may keep its in-flight requests; default None = the idle timeout (at most
    SPOT_DRAIN_SECONDS with targets_on_spot). The idle timeout bounds a connection's silence, not a stream's length
    (the app sends an SSE comment every 20 s, docs/cdn.md), so an answer still streaming when the drain ends is cut:
    set this (up to 3600) when answers can stream longer than the idle timeout. AWS: "Do not set
    the value to 5 seconds when you have a service with long-lived requests, such as slow file uploads or streaming
    connections."
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-connection-draining.html). It costs
    deploy time only while streams are in flight: a target with no in-flight requests and no active connections
    deregisters at once."""
    access_log_retention_days: int = LOG_RETENTION_DAYS
    """Days access-log objects are kept (then expired); default 365."""
    name_prefix: str = PROJECT
    """Readable prefix for Name tags and physical names."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): ALB deletion protection, Pulumi protect on the ALB and the log bucket, the bucket retained on
    delete; destroy: none of these, and the log bucket is force-destroyable so the stack tears down cleanly."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        require_valid(self.settings)
        if len(self.subnet_ids) < 2:
            raise ValueError("LoadBalancerArgs.subnet_ids: an ALB needs subnets in at least two AZs")
        delay = self.deregistration_delay_seconds
        if delay is not None and not 0 <= delay <= 3600:
            raise ValueError("LoadBalancerArgs.deregistration_delay_seconds must be 0-3600 (ELB limits)")
        if delay is not None and self.targets_on_spot and delay >= SPOT_INTERRUPTION_NOTICE_SECONDS:
            raise ValueError(f"LoadBalancerArgs.deregistration_delay_seconds = {delay}: with targets_on_spot it must "
                             f"be below Spot's {SPOT_INTERRUPTION_NOTICE_SECONDS} s interruption notice")
        if self.origin_lock is not None and 1 + len(self.origin_lock.accepted_values) > ALB_RULE_VALUES_PER_RULE:
            raise ValueError("LoadBalancerArgs.origin_lock: the forward rule would exceed 5 match evaluations")

    @property
    def draining_seconds(self) -> int:
        """The deregistration delay in effect (the idle timeout unless set: how long an answer streaming when a deploy
        starts may still run), capped at ELB's 3600 s, and below Spot's notice when the targets run on Spot."""
        delay = self.deregistration_delay_seconds
        if delay is not None:
            return delay
        return min(self.settings.idle_timeout_seconds, SPOT_DRAIN_SECONDS if self.targets_on_spot else 3600)


@dataclass(frozen=True)
class OriginLock:
    """The ALB is a CloudFront origin and admits nothing else (see the module docstring)."""

    accepted_values: Sequence[pulumi.Input[str]]
    """Values of X-Origin-Verify the forward rule accepts: the active one, plus the previous one during a rotation
    (components/cdn.py OriginSecret). ALB header conditions compare case-insensitively (ELB user guide,
    HttpHeaderConditionConfig: "The comparison strings are case insensitive"), so the values are generated
    lower-case: no entropy is silently lost."""
    header_name: str = ORIGIN_VERIFY_HEADER
    """The header CloudFront adds to origin requests (default X-Origin-Verify)."""
    prefix_list_name: str = CLOUDFRONT_PREFIX_LIST
    """The managed prefix list the security group admits :443 from (default CloudFront's origin-facing IPv4 list)."""

    def __post_init__(self) -> None:
        if not 1 <= len(self.accepted_values) <= 2:
            raise ValueError("OriginLock.accepted_values: one value, or two during a rotation")


def ingress_rule_weight(*, cidr_rules: int = 0, prefix_list_rules: int = 0) -> int:
    """Security-group rules a set of ingress rules costs: 1 per CIDR rule, the list's weight per prefix-list rule."""
    return cidr_rules + prefix_list_rules * CLOUDFRONT_PREFIX_LIST_WEIGHT


class LoadBalancer(pulumi.ComponentResource):
    """Internet-facing ALB with HTTPS, security headers, access logs, a target group for the web tasks and DNS."""

    alb: aws.lb.LoadBalancer
    security_group: aws.ec2.SecurityGroup
    """The ALB's own SG: 80/443 in from the internet (or :443 from CloudFront only, with an origin lock), out only to
    what it is granted (the web tasks)."""
    target_group: aws.lb.TargetGroup
    """IP targets (Fargate awsvpc) on target_port; the web service registers into it."""
    https_listener: aws.lb.Listener
    """:443; answers 404 (403 with an origin lock) unless a rule matches."""
    private_paths_rules: list[aws.lb.ListenerRule]
    """Priorities 10, 11, ...: PRIVATE_PATHS (the metrics endpoint) answer 404, whoever asks; up to three paths per
    rule (ALB_RULE_VALUES_PER_CONDITION)."""
    forward_rule: aws.lb.ListenerRule
    """Forwards Host == domain_name (and, with an origin lock, a valid X-Origin-Verify) to the target group."""
    http_listener: aws.lb.Listener | None
    """:80, redirecting to HTTPS; None with an origin lock (CloudFront redirects viewers, and reaches the ALB on :443
    only)."""
    certificate_arn: pulumi.Output[str]
    """The certificate the HTTPS listener serves (validated, when issued here)."""
    access_logs_bucket: aws.s3.Bucket

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:edge:LoadBalancer", name, None, opts)
        self._name = name
        self._args = args

        self.security_group = self._security_group()
        self._connections = Connections(self.security_group, label=name, traffic="HTTP",
                                        egress_ports=(args.target_port,), name_prefix=args.name_prefix,
                                        tags=args.tags)
        log_bucket = self._access_logs_bucket()
        self.access_logs_bucket = log_bucket.bucket
        self.alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            ip_address_type="ipv4",
            subnets=list(args.subnet_ids),
            security_groups=[self.security_group.id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode=args.settings.desync_mitigation_mode,
            enable_deletion_protection=retains(args.removal_policy),
            idle_timeout=args.settings.idle_timeout_seconds,
            enable_http2=True,
            # Without WAF the request is refused rather than passed unfiltered (the WAF is part of the design).
            enable_waf_fail_open=False,
            # NextAuth builds callback URLs from Host: pass it through exactly as the browser sent it.
            preserve_host_header=True,
            xff_header_processing_mode="append",
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=self.access_logs_bucket.bucket, prefix=ACCESS_LOG_PREFIX, enabled=True),
            tags=self._tags("alb"),
            # ELB checks that it can write to the bucket when access logs are enabled: the policy must exist first.
            opts=pulumi.ResourceOptions(parent=self, protect=retains(args.removal_policy),
                                        depends_on=[log_bucket.policy]),
        )
        self.target_group = self._target_group()
        self.certificate_arn = self._certificate()
        self.https_listener = self._https_listener()
        # Before the forward rule: the app's metrics never leave the VPC through the edge. The first rule keeps its
        # name (stable URN); the paths are split by the per-condition limit, in PRIVATE_PATHS' order.
        chunks = [PRIVATE_PATHS[i:i + ALB_RULE_VALUES_PER_CONDITION]
                  for i in range(0, len(PRIVATE_PATHS), ALB_RULE_VALUES_PER_CONDITION)]
        self.private_paths_rules = [aws.lb.ListenerRule(
            f"{name}-https-private-paths" + (f"-{index + 1}" if index else ""),
            listener_arn=self.https_listener.arn,
            priority=10 + index,
            conditions=[aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=list(chunk)))],
            actions=[aws.lb.ListenerRuleActionArgs(
                type="fixed-response", fixed_response=aws.lb.ListenerRuleActionFixedResponseArgs(
                    content_type="text/plain", message_body="Not found", status_code="404"))],
            tags=self._tags("https-private-paths" + (f"-{index + 1}" if index else "")),
            opts=pulumi.ResourceOptions(parent=self.https_listener),
        ) for index, chunk in enumerate(chunks)]
        self.forward_rule = aws.lb.ListenerRule(
            f"{name}-https-forward",  # stable: a domain change updates the rule in place (no priority clash)
            listener_arn=self.https_listener.arn,
            priority=100,
            conditions=self._forward_conditions(),
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=self.target_group.arn)],
            tags=self._tags("https-forward"),
            opts=pulumi.ResourceOptions(parent=self.https_listener),
        )
        self.http_listener = None if args.origin_lock else aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=self.alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                    # Always to the canonical host: never echo a Host header the client made up.
                    protocol="HTTPS", port="443", host=args.domain_name, path="/#{path}", query="#{query}",
                    status_code="HTTP_301"),
            )],
            tags=self._tags("http-redirect"),
            # Not the ALB's protect (children inherit it): a listener holds no data, and turning the CDN on deletes
            # this one (docs/cdn.md), which a protected listener would refuse.
            opts=pulumi.ResourceOptions(parent=self.alb, protect=False),
        )

        self.register_outputs({
            "albArn": self.alb.arn,
            "albDnsName": self.alb.dns_name,
            "securityGroupId": self.security_group.id,
            "targetGroupArn": self.target_group.arn,
            "httpsListenerArn": self.https_listener.arn,
            "certificateArn": self.certificate_arn,
            "accessLogsBucket": self.access_logs_bucket.bucket,
        })

    # --- capabilities -------------------------------------------------------------------------------------------

    @property
    def connections(self) -> Connections:
        """The ALB as a grant source: it may send only to the target group's port (`grant(load_balancer, web)`)."""
        return self._connections

    @property
    def serving(self) -> list[pulumi.Resource]:
        """What an ECS service registering into target_group must `depends_on`: ECS rejects a target group that no
        listener uses yet."""
        return [self.https_listener, self.forward_rule]

    @property
    def attachment(self) -> LoadBalancerAttachment:
        """What a service registering its tasks in target_group passes as FargateServiceArgs.load_balancer: the
        target group, the suffixes of the ALBRequestCountPerTarget metric, and `serving` to wait for."""
        return LoadBalancerAttachment(
            target_group_arn=self.target_group.arn, target_group_arn_suffix=self.target_group_arn_suffix,
            load_balancer_arn_suffix=self.arn_suffix, depends_on=self.serving)

    @property
    def idle_timeout_seconds(self) -> int:
        """The ALB idle timeout (seconds)."""
        return self._args.settings.idle_timeout_seconds

    @property
    def target_keep_alive_ms(self) -> int:
        """Keep-alive the targets need: longer than the ALB idle timeout, or the ALB reuses a connection the target
        just closed and answers 502. Next.js standalone reads it from KEEP_ALIVE_TIMEOUT (ms; its default is 5 s)."""
        return (self._args.settings.idle_timeout_seconds + 5) * 1000

    @property
    def arn_suffix(self) -> pulumi.Output[str]:
        """app/<name>/<id>: the LoadBalancer dimension of CloudWatch metrics and ALBRequestCountPerTarget."""
        return self.alb.arn_suffix

    @property
    def target_group_arn_suffix(self) -> pulumi.Output[str]:
        """targetgroup/<name>/<id>: the TargetGroup dimension (alarms, ALBRequestCountPerTarget resource label)."""
        return self.target_group.arn_suffix

    @property
    def watch(self) -> EdgeWatch:
        """What Observability alarms on: the ALB, the web target group and the listener's certificate."""
        return EdgeWatch(self.arn_suffix, {"web": self.target_group_arn_suffix}, certificate_arn=self.certificate_arn)

    @property
    def request_count_resource_label(self) -> pulumi.Output[str]:
        """`<alb suffix>/<target group suffix>`: the resource_label of an ALBRequestCountPerTarget scaling policy."""
        return pulumi.Output.concat(self.alb.arn_suffix, "/", self.target_group.arn_suffix)

    @property
    def app_url(self) -> str:
        return f"https://{self._args.domain_name}"

    @property
    def origin_locked(self) -> bool:
        """Whether the ALB admits only CloudFront (an origin lock)."""
        return self._args.origin_lock is not None

    @property
    def alias_target(self) -> AliasTarget:
        """The ALB as the domain's alias target (A only). Its health is evaluated, which matters only with another
        record to fail over to (a DR record set): alone, Route 53 keeps answering with it ("routes queries to other
        available resources that are healthy, if any", Route 53 API, AliasTarget)."""
        return AliasTarget(dns_name=self.alb.dns_name, zone_id=self.alb.zone_id, evaluate_target_health=True)

    @property
    def hosted_zone_id(self) -> str:
        """The public zone of domain_name ('' when DNS lives elsewhere)."""
        return self._args.settings.hosted_zone_id

    @property
    def previous_dns_records(self) -> list[pulumi.Alias]:
        """Where the domain's A record lived before PublicDns owned it (`load-balancer-alias` under the ALB): its
        alias, so an existing stack updates that record in place instead of replacing it."""
        return [pulumi.Alias(name=f"{self._name}-alias", parent=self.alb)]

    def public_dns(self, front: AliasTarget | None = None) -> PublicDns | None:
        """The domain's public records in hosted_zone_id, aliased to `front` (the CDN) or to this ALB; None when DNS
        lives elsewhere."""
        if not self.hosted_zone_id:
            return None
        return PublicDns("public-dns", PublicDnsArgs(
            zone_id=self.hosted_zone_id, domain_name=self._args.domain_name, previous=self.previous_dns_records,
            target=front or self.alias_target))

    # --- parts --------------------------------------------------------------------------------------------------

    def _tags(self, suffix: str) -> dict[str, str]:
        return named_tags(self._args.tags, f"{self._args.name_prefix}-{suffix}")

    def _security_group(self) -> aws.ec2.SecurityGroup:
        group = aws.ec2.SecurityGroup(
            f"{self._name}-alb",
            vpc_id=self._args.vpc_id,
            # One description whatever the front door: EC2 cannot change a group's description, so the provider
            # replaces the group when it changes, and a CDN switch (docs/cdn.md, two runs) would move the ALB to a new
            # group holding only the CloudFront rule while DNS still points viewers at the ALB. ignore_changes: a
            # stack deployed with an older description keeps its group (and its rules) rather than replacing it.
            description="Public ALB: ingress from its front door (rules below); egress only to its targets",
            # No inline rules: every rule is its own resource below or from grant(). The provider removes AWS's
            # default allow-all egress rule on create, so until a grant the ALB can reach nothing.
            tags=self._tags("alb"),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["description"]),
        )
        lock = self._args.origin_lock
        alb = Connections(group, label="alb")  # the group before the component wraps it (self.connections)
        if lock is not None:
            # One rule that weighs the list's maximum entries against the per-group quota: it fits, :80 or the IPv6
            # list as well would not (the second reference would push the group past 60 rules).
            weight = ingress_rule_weight(prefix_list_rules=1)
            if weight > SECURITY_GROUP_RULES_QUOTA:  # pragma: no cover - constants; tested in test_load_balancer
                raise ValueError(f"ALB ingress weighs {weight} rules, over the quota of {SECURITY_GROUP_RULES_QUOTA}")
            cloudfront = aws.ec2.get_managed_prefix_list_output(name=lock.prefix_list_name,
                                                                opts=pulumi.InvokeOutputOptions(parent=self))
            # EC2 refuses an apostrophe in a rule description.
            grant_from(Peer("CloudFront", prefix_list_id=cloudfront.id), alb, 443,
                       name=f"{self._name}-alb-443-from-cloudfront",
                       description="HTTPS from the CloudFront origin-facing addresses only",
                       tags=self._tags("alb-443-from-cloudfront"))
            return group
        for port, purpose in ((443, "HTTPS"), (80, "HTTP, redirected to HTTPS")):
            grant_from(ANYWHERE, alb, port, name=f"{self._name}-alb-{port}-from-internet",
                       description=f"{purpose} from the internet", tags=self._tags(f"alb-{port}-from-internet"))
        return group

    def _access_logs_bucket(self) -> SecureBucket:
        """SSE-S3 (ELB log delivery supports nothing else: the documented exception of SecureBucket), versioned,
        private, TLS-only, expired after the log retention, its own access logged to the stack's access-logs bucket."""
        args = self._args
        return SecureBucket(f"{self._name}-access-logs", SecureBucketArgs(
            context=args.context,
            bucket_prefix=f"{args.name_prefix}-alb-logs-"[:MAX_BUCKET_PREFIX],
            log_target=ElbAccessLogTarget(prefix=ACCESS_LOG_PREFIX),
            access_logs=args.server_access_logs,
            # Log objects are never overwritten; a noncurrent version only appears after a delete or expiry.
            lifecycle=Lifecycle(expiration_days=args.access_log_retention_days, noncurrent_version_days=7,
                                abort_multipart_days=1),
            removal_policy=args.removal_policy,
            # Retained logs stay; a disposable stack's `pulumi destroy` may empty and delete the bucket.
            force_destroy=not retains(args.removal_policy),
            tags=self._tags("alb-access-logs"),
        ), opts=pulumi.ResourceOptions(parent=self))

    def _target_group(self) -> aws.lb.TargetGroup:
        args = self._args
        return aws.lb.TargetGroup(
            f"{self._name}-web",
            target_type="ip",  # Fargate tasks (awsvpc): each task registers its ENI's IP
            protocol="HTTP",
            protocol_version="HTTP1",
            port=args.target_port,
            vpc_id=args.vpc_id,
            deregistration_delay=args.draining_seconds,
            # Streams and slow AI answers make requests very unequal in cost: send the next request to the task with
            # the fewest in flight instead of the next in turn.
            load_balancing_algorithm_type="least_outstanding_requests",
            stickiness=aws.lb.TargetGroupStickinessArgs(type="lb_cookie", enabled=False),  # sessions live in Redis
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=args.health_check_path,
                matcher=HEALTHY_STATUS_CODES,  # 2xx/3xx, as the container probes judge
                interval=30,
                timeout=10,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            tags=self._tags("web"),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _certificate(self) -> pulumi.Output[str]:
        args = self._args
        if args.settings.certificate_arn:
            return pulumi.Output.from_input(args.settings.certificate_arn)
        certificate = aws.acm.Certificate(
            f"{self._name}-certificate",
            domain_name=args.domain_name,
            validation_method="DNS",
            key_algorithm="EC_prime256v1",  # smaller, faster handshakes; every current browser supports ECDSA
            tags=self._tags("certificate"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # One name on the certificate, so exactly one validation record: no resources created inside an apply.
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{self._name}-certificate-validation",
            zone_id=args.settings.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,  # the record is deterministic per domain; a re-issued certificate reuses it
            # Kept when this resource goes (a switch to certificateArn, a rename): the same CNAME validates the CDN's
            # copy and the DR stack's certificate, which could no longer renew without it ("the CNAME delegates
            # ongoing domain validation to ACM", ACM user guide, DNS validation).
            opts=pulumi.ResourceOptions(parent=certificate, retain_on_delete=True),
        )
        validation = aws.acm.CertificateValidation(
            f"{self._name}-certificate",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=pulumi.ResourceOptions(parent=certificate),
        )
        # The validation's ARN, not the certificate's: the listener then waits until the certificate is issued.
        return validation.certificate_arn

    def _https_listener(self) -> aws.lb.Listener:
        args = self._args
        return aws.lb.Listener(
            f"{self._name}-https",
            load_balancer_arn=self.alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=args.settings.tls_policy,
            certificate_arn=self.certificate_arn,
            # Requests for any other Host (the raw ALB name, scanners, forged Host headers) never reach the app, which
            # builds absolute URLs (NextAuth callbacks, e-mails) from Host: only the forward rule forwards. Behind the
            # CDN, a request without the origin secret did not come through our distribution: 403.
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="fixed-response",
                fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                    content_type="text/plain", **({"message_body": "Forbidden", "status_code": "403"}
                                                  if args.origin_lock else
                                                  {"message_body": "Not found", "status_code": "404"})),
            )],
            routing_http_response_strict_transport_security_header_value=HSTS,
            routing_http_response_content_security_policy_header_value=args.content_security_policy,
            routing_http_response_x_frame_options_header_value=FRAME_OPTIONS,
            routing_http_response_x_content_type_options_header_value=CONTENT_TYPE_OPTIONS,
            routing_http_response_server_enabled=False,
            tags=self._tags("https"),
            opts=pulumi.ResourceOptions(parent=self.alb, protect=False),  # no data; its rules follow it (see :80's)
        )

    def _forward_conditions(self) -> list[aws.lb.ListenerRuleConditionArgs]:
        args = self._args
        conditions = [aws.lb.ListenerRuleConditionArgs(
            host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=[args.domain_name]))]
        if args.origin_lock is not None:
            # "If you specify multiple strings, the condition is satisfied if one of the strings matches" (ELB user
            # guide, HttpHeaderConditionConfig): both values are accepted while a rotation is under way.
            conditions.append(aws.lb.ListenerRuleConditionArgs(
                http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                    http_header_name=args.origin_lock.header_name,
                    values=[pulumi.Output.secret(v) for v in args.origin_lock.accepted_values])))
        return conditions
