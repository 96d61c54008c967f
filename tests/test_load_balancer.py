"""Load balancer: HTTPS-only edge, TLS policy, headers, SG shape in both modes (front door, or CloudFront origin),
access logs, target group, certificate. dev runs without the CDN (the ALB is the front door), staging and prod with
it (the ALB admits CloudFront only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import stack_config
from components.base import AwsContext
from components.constants import (
    CLOUDFRONT_PREFIX_LIST_WEIGHT,
    ORIGIN_VERIFY_HEADER,
    PRIVATE_PATHS,
    SECURITY_GROUP_RULES_QUOTA,
)
from components.load_balancer import (
    HSTS,
    SEED_CSP,
    SPOT_DRAIN_SECONDS,
    LoadBalancerArgs,
    LoadBalancerSettings,
    OriginLock,
    ingress_rule_weight,
)
from offline.engine import Resource, StackRun, run_program
from offline.mocks import ELB_ACCOUNTS
from tests.configs import EDGE_VARIANT, EXISTING_CERT, MINIMAL_VALID, PROD_VARIANT

ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
RECORD = "aws:route53/record:Record"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
BUCKET = "aws:s3/bucket:Bucket"
PROGRAM = Path(__file__).parent / "programs" / "edge_grant.py"


def listener_rule(run: StackRun, suffix: str) -> Resource:
    return run.one("aws:lb/listenerRule:ListenerRule", f"load-balancer-https-{suffix}")


def edge_records(run: StackRun) -> list[Resource]:
    """Route 53 records of the load balancer (the database keeps its own private zone)."""
    return [r for r in run.descendants(run.one("maratron:edge:LoadBalancer")) if r.type == RECORD]


def listener(run: StackRun, port: int) -> Resource:
    return next(r for r in run.of_type(LISTENER) if r.inputs["port"] == port)


def alb_sg(run: StackRun) -> Resource:
    return run.one(SG, "load-balancer-alb")


def bucket_part(run: StackRun, type_: str) -> Resource:
    return run.one(f"aws:s3/{type_}", "load-balancer-access-logs")


# --- listeners -------------------------------------------------------------------------------------------------------

def test_https_listener_uses_the_tls13_policy(any_stack: StackRun) -> None:
    https = listener(any_stack, 443)
    assert https.inputs["protocol"] == "HTTPS"
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    assert https.inputs["loadBalancerArn"] == any_stack.one(ALB).outputs["arn"]


def test_as_the_front_door_only_the_apps_host_is_forwarded(dev: StackRun) -> None:
    https = listener(dev, 443)
    assert https.inputs["defaultActions"] == [{"type": "fixed-response", "fixedResponse": {
        "contentType": "text/plain", "messageBody": "Not found", "statusCode": "404"}}]
    rule = listener_rule(dev, "forward")
    assert rule.inputs["listenerArn"] == https.outputs["arn"]
    assert rule.inputs["conditions"] == [{"hostHeader": {"values": [dev.config["maratron:domainName"]]}}]
    assert rule.inputs["actions"] == [{"type": "forward", "targetGroupArn": dev.one(TARGET_GROUP).outputs["arn"]}]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_behind_the_cdn_only_the_apps_host_with_the_origin_secret_is_forwarded_else_403(
        run_variant, stack: str) -> None:  # type: ignore[no-untyped-def]
    run = run_variant(stack)
    https = listener(run, 443)
    assert https.inputs["defaultActions"] == [{"type": "fixed-response", "fixedResponse": {
        "contentType": "text/plain", "messageBody": "Forbidden", "statusCode": "403"}}]
    rule = listener_rule(run, "forward")
    host, header = rule.plain("conditions")
    assert host == {"hostHeader": {"values": [run.config["maratron:domainName"]]}}
    active = run.one("random:index/randomPassword:RandomPassword", "origin-secret-a").outputs["result"]
    assert header == {"httpHeader": {"httpHeaderName": ORIGIN_VERIFY_HEADER, "values": [active]}}
    assert "4dabf18193072939515e22adb298388d" in json.dumps(rule.inputs["conditions"])  # secret on the wire
    # What CloudFront sends is what the rule accepts.
    origin = run.one("aws:cloudfront/distribution:Distribution").plain("origins")[0]
    assert origin["customHeaders"] == [{"name": ORIGIN_VERIFY_HEADER, "value": active}]


def test_private_paths_answer_404_before_anything_is_forwarded(any_stack: StackRun) -> None:
    rules = [listener_rule(any_stack, "private-paths"), listener_rule(any_stack, "private-paths-2")]
    paths = []
    for rule in rules:
        assert rule.inputs["listenerArn"] == listener(any_stack, 443).outputs["arn"]
        assert rule.inputs["priority"] < listener_rule(any_stack, "forward").inputs["priority"]
        assert rule.inputs["actions"] == [{"type": "fixed-response", "fixedResponse": {
            "contentType": "text/plain", "messageBody": "Not found", "statusCode": "404"}}]
        [condition] = rule.inputs["conditions"]
        paths += condition["pathPattern"]["values"]
    assert paths == list(PRIVATE_PATHS) and "/metrics" in paths and "/api/metrics" in paths


def test_no_listener_rule_condition_holds_more_than_three_values_nor_a_rule_more_than_five(any_stack: StackRun) -> None:
    """ELB refuses a rule otherwise: "You can specify up to three match evaluations per condition ... up to five match
    evaluations per rule" (rule-condition-types); the private paths were four in one condition."""
    for rule in any_stack.of_type("aws:lb/listenerRule:ListenerRule"):
        counts = [len(values) for condition in rule.inputs["conditions"] for key, spec in condition.items()
                  for values in ([spec["values"]] if isinstance(spec, dict) and "values" in spec else [])]
        assert counts and max(counts) <= 3 and sum(counts) <= 5, (rule.name, counts)


def test_https_listener_waits_for_the_validated_certificate(any_stack: StackRun) -> None:
    https = listener(any_stack, 443)
    validation = any_stack.one(VALIDATION)
    assert https.inputs["certificateArn"] == any_stack.one(CERTIFICATE).outputs["arn"]
    assert validation.urn in https.property_dependencies["certificateArn"]


def test_https_responses_carry_the_security_headers_and_no_server_header(any_stack: StackRun) -> None:
    https = listener(any_stack, 443).inputs
    assert https["routingHttpResponseStrictTransportSecurityHeaderValue"] == HSTS
    assert HSTS == "max-age=31536000; includeSubDomains; preload"
    assert https["routingHttpResponseContentSecurityPolicyHeaderValue"] == SEED_CSP
    assert SEED_CSP.startswith("default-src 'self'; script-src 'self' 'unsafe-eval';")
    assert https["routingHttpResponseXFrameOptionsHeaderValue"] == "DENY"
    assert https["routingHttpResponseXContentTypeOptionsHeaderValue"] == "nosniff"
    assert https["routingHttpResponseServerEnabled"] is False


def test_cors_is_left_to_the_app_on_every_stack(any_stack: StackRun) -> None:
    # The listener's one static Access-Control-Allow-Origin would overwrite the app's per-request answer, and the
    # provider cannot clear it once set (terraform-provider-aws#42513): the app answers from CORS_ORIGINS.
    # (prod's admin origin reaches the web tasks' CORS_ORIGINS: tests/test_service.py)
    assert "routingHttpResponseAccessControlAllowOriginHeaderValue" not in listener(any_stack, 443).inputs


def test_http_listener_only_redirects_301_to_https(dev: StackRun) -> None:
    http = listener(dev, 80).inputs
    assert http["protocol"] == "HTTP"
    assert http["defaultActions"] == [{"type": "redirect", "redirect": {
        "protocol": "HTTPS", "port": "443", "host": dev.config["maratron:domainName"], "path": "/#{path}",
        "query": "#{query}",
        "statusCode": "HTTP_301"}}]
    assert sorted(r.inputs["port"] for r in dev.of_type(LISTENER)) == [80, 443]


def test_listeners_do_not_inherit_the_albs_protect(dr: StackRun) -> None:
    """A retain stack's ALB is protected and Pulumi children inherit protect; the listeners hold no data, and turning
    the CDN on deletes :80 (docs/cdn.md), which a protected listener would refuse. The dr stack: retained, no CDN."""
    run = dr
    assert run.config["maratron:cdnEnabled"] == "false" and run.one(ALB).protect
    assert sorted(r.inputs["port"] for r in run.of_type(LISTENER)) == [80, 443]
    assert not [r.name for r in run.resources if r.type in (LISTENER, "aws:lb/listenerRule:ListenerRule") and r.protect]


def test_behind_the_cdn_there_is_no_port_80(prod: StackRun) -> None:
    # CloudFront redirects viewers to HTTPS and reaches the ALB on 443 only.
    assert [r.inputs["port"] for r in prod.of_type(LISTENER)] == [443]


# --- load balancer ---------------------------------------------------------------------------------------------------

def test_alb_is_internet_facing_in_the_public_subnets_with_hardened_attributes(any_stack: StackRun) -> None:
    alb = any_stack.one(ALB).inputs
    public = sorted(s.id for s in any_stack.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "public")
    assert alb["loadBalancerType"] == "application" and alb["internal"] is False
    assert alb["ipAddressType"] == "ipv4"
    assert sorted(alb["subnets"]) == public
    assert alb["securityGroups"] == [alb_sg(any_stack).id]
    assert alb["dropInvalidHeaderFields"] is True
    assert alb["desyncMitigationMode"] == "strictest"
    assert alb["enableHttp2"] is True
    assert alb["enableWafFailOpen"] is False
    assert alb["idleTimeout"] == 300
    assert alb["preserveHostHeader"] is True


def test_desync_mode_and_idle_timeout_follow_config(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **EDGE_VARIANT)
    assert run.ok, run.error_details
    assert run.one(ALB).inputs["desyncMitigationMode"] == "defensive"
    assert run.one(ALB).inputs["idleTimeout"] == 120


def test_deletion_protection_and_protect_unless_the_stack_opts_out(prod: StackRun, staging: StackRun,
                                                                   dev: StackRun) -> None:
    for run in (prod, staging):  # removalPolicy retain (staging rehearses prod's lifecycle)
        assert run.one(ALB).inputs["enableDeletionProtection"] is True and run.one(ALB).protect
    # dev: removalPolicy destroy, explicitly
    assert dev.one(ALB).inputs["enableDeletionProtection"] is False and not dev.one(ALB).protect


# --- security groups -------------------------------------------------------------------------------------------------

def test_as_the_front_door_the_alb_admits_only_80_and_443_from_the_internet(dev: StackRun) -> None:
    sg = alb_sg(dev)
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs  # rules are separate resources only
    rules = sorted((r.inputs["fromPort"], r.inputs["toPort"], r.inputs["ipProtocol"], r.inputs["cidrIpv4"])
                   for r in dev.of_type(INGRESS) if r.inputs["securityGroupId"] == sg.id)
    assert rules == [(80, 80, "tcp", "0.0.0.0/0"), (443, 443, "tcp", "0.0.0.0/0")]


def test_behind_the_cdn_the_alb_admits_only_cloudfronts_prefix_list_on_443(prod: StackRun) -> None:
    sg = alb_sg(prod)
    rules = [r for r in prod.of_type(INGRESS) if r.inputs["securityGroupId"] == sg.id]
    assert [r.name for r in rules] == ["load-balancer-alb-443-from-cloudfront"]
    rule = rules[0].inputs
    assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (443, 443, "tcp")
    assert rule["prefixListId"].startswith("pl-") and "cidrIpv4" not in rule and "cidrIpv6" not in rule


def test_switching_the_cdn_on_or_off_never_replaces_the_alb_or_its_group(prod: StackRun, dev: StackRun) -> None:
    """The CDN switch (docs/cdn.md) changes rules only: a group's description and VPC have no update API (the
    provider replaces the group), and replacing the ALB's group mid-switch cut direct viewers off before DNS moved."""
    assert prod.config.get("maratron:cdnEnabled") != "false" and dev.config["maratron:cdnEnabled"] == "false"
    assert alb_sg(prod).inputs["description"] == alb_sg(dev).inputs["description"]
    assert alb_sg(prod).ignore_changes == ["description"]  # a group deployed with an older text is kept


def test_the_alb_waits_until_its_subnets_route_to_the_internet_gateway(any_stack: StackRun) -> None:
    """An internet-facing ALB created before the VPC's internet gateway is attached is refused (InvalidSubnet: no
    internet gateway): its subnets count as ready once their default route through the gateway exists."""
    alb = any_stack.one("aws:lb/loadBalancer:LoadBalancer")
    routes = {r.urn: r for r in any_stack.of_type("aws:ec2/route:Route") if "gatewayId" in r.inputs}
    igw = any_stack.one("aws:ec2/internetGateway:InternetGateway")
    waited = [routes[urn] for urn in alb.property_dependencies["subnets"] if urn in routes]
    assert len(waited) == len(alb.inputs["subnets"]) >= 2
    assert all(r.inputs["gatewayId"] == igw.id for r in waited)


def test_the_prefix_list_rule_fits_the_security_group_quota_and_a_second_one_would_not() -> None:
    # A referenced prefix list counts as its maximum entries (55 for CloudFront's IPv4 list) against 60 rules.
    assert ingress_rule_weight(prefix_list_rules=1) == CLOUDFRONT_PREFIX_LIST_WEIGHT <= SECURITY_GROUP_RULES_QUOTA
    assert ingress_rule_weight(prefix_list_rules=2) > SECURITY_GROUP_RULES_QUOTA  # :80 too, or the IPv6 list
    assert ingress_rule_weight(cidr_rules=2) == 2


def test_alb_egress_only_reaches_targets_that_admit_it_back(any_stack: StackRun) -> None:
    # Egress exists only through grant(load_balancer, target): the target SG on the target group's port, which in
    # turn admits the ALB on that port (the other half of the grant). Without a grant there is no egress rule at all.
    sg = alb_sg(any_stack)
    egress = [r.inputs for r in any_stack.of_type(EGRESS) if r.inputs["securityGroupId"] == sg.id]
    admitted = {(r.inputs["securityGroupId"], r.inputs["fromPort"]) for r in any_stack.of_type(INGRESS)
                if r.inputs.get("referencedSecurityGroupId") == sg.id}
    for rule in egress:
        assert "cidrIpv4" not in rule and "cidrIpv6" not in rule
        assert rule["fromPort"] == rule["toPort"] == any_stack.one(TARGET_GROUP).inputs["port"]
        assert (rule["referencedSecurityGroupId"], rule["fromPort"]) in admitted


@pytest.fixture(scope="module")
def routed() -> StackRun:
    run = run_program("test", {"aws:region": "us-east-1"}, [], program=PROGRAM)
    assert run.ok, run.error_details
    return run


def test_grant_opens_egress_only_to_the_target_sg_on_its_port(routed: StackRun) -> None:
    sg = routed.one(SG, "lb-alb")
    web = routed.one(SG, "web-tasks")
    egress = [r for r in routed.of_type(EGRESS) if r.inputs["securityGroupId"] == sg.id]
    assert len(egress) == 1
    rule = egress[0]
    assert rule.name == "lb-to-web"
    assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (3000, 3000, "tcp")
    assert rule.inputs["referencedSecurityGroupId"] == web.id
    assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
    assert routed.by_urn(rule.parent).name == "lb-alb"


def test_grant_rejects_a_port_the_target_group_does_not_use_and_duplicates(routed: StackRun) -> None:
    assert routed.outputs["error-wrong-port"] == "grant(lb -> web): lb may only send to port 3000, not 8080"
    assert routed.outputs["error-web"] == "grant(lb -> web): granted already (one grant per pair of labels)"
    # Both halves of the granted path: the stand-in web SG admits the ALB on the same port.
    ingress = routed.one(INGRESS, "web-from-lb")
    assert ingress.inputs["securityGroupId"] == routed.one(SG, "web-tasks").id
    assert ingress.inputs["referencedSecurityGroupId"] == routed.one(SG, "lb-alb").id
    assert (ingress.inputs["fromPort"], ingress.inputs["toPort"]) == (3000, 3000)


def test_request_count_label_joins_alb_and_target_group_suffixes(routed: StackRun) -> None:
    alb = routed.one(ALB).outputs["arnSuffix"]
    tg = routed.one(TARGET_GROUP).outputs["arnSuffix"]
    assert routed.outputs["requestCountLabel"] == f"{alb}/{tg}"
    assert alb.startswith("app/") and tg.startswith("targetgroup/")


def test_targets_keep_connections_open_longer_than_the_alb(routed: StackRun) -> None:
    assert routed.outputs["targetKeepAliveMs"] == 305_000  # idle timeout 300 s + 5 s


def test_serving_lists_what_an_ecs_service_must_wait_for(routed: StackRun) -> None:
    assert routed.outputs["servingUrns"] == [routed.one(LISTENER, "lb-https").urn,
                                             routed.one("aws:lb/listenerRule:ListenerRule", "lb-https-forward").urn]


# --- target group ----------------------------------------------------------------------------------------------------

def test_target_group_uses_ip_targets_and_the_seeds_health_check(any_stack: StackRun) -> None:
    tg = any_stack.one(TARGET_GROUP).inputs
    assert (tg["targetType"], tg["protocol"], tg["port"]) == ("ip", "HTTP", 3000)
    assert tg["vpcId"] == any_stack.one("aws:ec2/vpc:Vpc").id
    assert tg["healthCheck"] == {"enabled": True, "protocol": "HTTP", "port": "traffic-port", "path": "/api/health",
                                 "matcher": "200-399", "interval": 30, "timeout": 10, "healthyThreshold": 2,
                                 "unhealthyThreshold": 3}
    # The ALB calls healthy what the web container's own probe does (status < 400): a 3xx or 204 from the path is
    # healthy to both, so ECS never replaces a task the probe passes while the ALB fails it (a matcher of "200" did).
    web = next(json.loads(t.inputs["containerDefinitions"]) for t in any_stack.of_type(
        "aws:ecs/taskDefinition:TaskDefinition") if t.name == "web")
    probe = next(c for c in web if c["name"] == "web")["healthCheck"]["command"]
    assert "r.status<400" in probe[-1], probe
    # Draining keeps in-flight streams as long as the edge would (the idle timeout); AWS: no short delays for
    # streaming connections. A target with nothing in flight still deregisters at once.
    # On Fargate Spot (dev) a task may stay registered until it stops: the drain stays below the two-minute notice.
    on_spot = any_stack.config.get("maratron:fargateSpot") == "true"
    idle = int(any_stack.config.get("maratron:albIdleTimeoutSeconds", 300))
    assert tg["deregistrationDelay"] == (min(idle, SPOT_DRAIN_SECONDS) if on_spot else idle)
    assert on_spot == (any_stack.stack == "dev"), "the Spot branch is exercised by dev and only dev"
    assert tg["loadBalancingAlgorithmType"] == "least_outstanding_requests"
    assert tg["stickiness"]["enabled"] is False


# --- access logs -----------------------------------------------------------------------------------------------------

def test_access_logs_go_to_the_dedicated_bucket(any_stack: StackRun) -> None:
    alb = any_stack.one(ALB)
    bucket = any_stack.one(BUCKET, "load-balancer-access-logs")
    assert alb.inputs["accessLogs"] == {"enabled": True, "bucket": bucket.outputs["bucket"], "prefix": "alb"}
    policy = bucket_part(any_stack, "bucketPolicy:BucketPolicy")
    assert policy.urn in alb.dependencies  # ELB checks write access when logging is enabled


def test_access_log_bucket_is_sse_s3_versioned_private_and_owner_enforced(any_stack: StackRun) -> None:
    bucket = any_stack.one(BUCKET, "load-balancer-access-logs")
    sse = bucket_part(any_stack, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["bucket"] == bucket.id
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    versioning = bucket_part(any_stack, "bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    pab = bucket_part(any_stack, "bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    ownership = bucket_part(any_stack, "bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_access_logs_expire_after_the_log_retention(any_stack: StackRun) -> None:
    rule = bucket_part(any_stack, "bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"][0]
    assert rule["status"] == "Enabled"
    assert rule["expiration"]["days"] == int(any_stack.config["maratron:logRetentionDays"])
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 7
    assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 1


def test_access_log_bucket_policy_admits_elb_delivery_and_denies_plain_http(any_stack: StackRun) -> None:
    bucket = any_stack.one(BUCKET, "load-balancer-access-logs")
    arn = bucket.outputs["arn"]
    policy = bucket_part(any_stack, "bucketPolicy:BucketPolicy")
    assert policy.inputs["bucket"] == bucket.id
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    # Regions that predate the log-delivery principal: their regional ELB account writes the logs too.
    assert set(statements) == {"ElbLogDelivery", "ElbLogDeliveryRegionalAccount", "DenyInsecureTransport",
                               "DenyOutdatedTls", "DenySseCUploads", "DenyUploadsNotSseS3"}
    assert statements["ElbLogDelivery"] == {
        "Sid": "ElbLogDelivery", "Effect": "Allow",
        "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": f"{arn}/alb/AWSLogs/123456789012/*"}
    assert statements["ElbLogDeliveryRegionalAccount"] == {
        "Sid": "ElbLogDeliveryRegionalAccount", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ELB_ACCOUNTS[any_stack.config['aws:region']]}:root"},
        "Action": "s3:PutObject", "Resource": f"{arn}/alb/AWSLogs/123456789012/*"}
    deny = statements["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Resource"] == [arn, f"{arn}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_each_region_names_its_own_elb_account(dr: StackRun) -> None:
    """The offline lookup answers per Region, as the provider's table does (us-west-2's account for the dr stack),
    for exactly the Regions the program looks it up in."""
    from components.secure_bucket import LEGACY_ELB_LOG_REGIONS

    assert set(ELB_ACCOUNTS) == LEGACY_ELB_LOG_REGIONS
    policy = json.loads(bucket_part(dr, "bucketPolicy:BucketPolicy").inputs["policy"])
    [regional] = [s for s in policy["Statement"] if s["Sid"] == "ElbLogDeliveryRegionalAccount"]
    assert dr.config["aws:region"] == "us-west-2" and regional["Principal"] == {
        "AWS": "arn:aws:iam::797873946194:root"}


def test_access_log_bucket_is_hardened_like_every_bucket_and_its_access_is_logged(any_stack: StackRun) -> None:
    # Issue 10: the ALB log bucket lacked the outdated-TLS deny, the SSE-C block and access logging. It is a
    # SecureBucket now: the same statements as the backups bucket, except the SSE-S3 log-target exception.
    def statements(name: str) -> dict[str, dict]:
        policy = any_stack.one("aws:s3/bucketPolicy:BucketPolicy", name).inputs["policy"]
        return {s["Sid"]: s for s in json.loads(policy)["Statement"]}

    alb, backups = statements("load-balancer-access-logs"), statements("storage-backups")
    for sid in ("DenyInsecureTransport", "DenyOutdatedTls", "DenySseCUploads"):
        assert {k: v for k, v in alb[sid].items() if k != "Resource"} == \
            {k: v for k, v in backups[sid].items() if k != "Resource"}, sid
    assert alb["DenyOutdatedTls"]["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
    sse = bucket_part(any_stack, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["blockedEncryptionTypes"] == ["SSE-C"]
    logging = bucket_part(any_stack, "bucketLogging:BucketLogging").inputs
    assert logging["targetBucket"] == any_stack.one(BUCKET, "storage-access-logs").id
    assert logging["targetPrefix"] == "alb-logs/"


def test_access_log_bucket_is_kept_in_prod_and_disposable_elsewhere(prod: StackRun, dev: StackRun) -> None:
    kept = prod.one(BUCKET, "load-balancer-access-logs")
    assert kept.protect and kept.retain_on_delete and kept.inputs["forceDestroy"] is False
    disposable = dev.one(BUCKET, "load-balancer-access-logs")
    assert not disposable.protect and not disposable.retain_on_delete and disposable.inputs["forceDestroy"] is True


# --- certificate and DNS ---------------------------------------------------------------------------------------------

def test_certificate_is_dns_validated_in_the_hosted_zone(any_stack: StackRun) -> None:
    zone = any_stack.config["maratron:hostedZoneId"]
    certificate = any_stack.one(CERTIFICATE)
    assert certificate.inputs["domainName"] == any_stack.config["maratron:domainName"]
    assert certificate.inputs["validationMethod"] == "DNS"
    option = certificate.outputs["domainValidationOptions"][0]
    record = any_stack.one(RECORD, "load-balancer-certificate-validation").inputs
    assert (record["zoneId"], record["name"], record["type"], record["records"]) == (
        zone, option["resourceRecordName"], option["resourceRecordType"], [option["resourceRecordValue"]])
    # The CDN's copy and the DR stack's certificate renew through the same CNAME: deleting this resource keeps it.
    assert any_stack.one(RECORD, "load-balancer-certificate-validation").retain_on_delete
    validation = any_stack.one(VALIDATION).inputs
    assert validation["certificateArn"] == certificate.outputs["arn"]
    assert validation["validationRecordFqdns"] == [
        any_stack.one(RECORD, "load-balancer-certificate-validation").outputs["fqdn"]]


def test_as_the_front_door_the_domain_is_an_alias_to_the_alb(dev: StackRun) -> None:
    alb = dev.one(ALB).outputs
    records = [r for r in dev.of_type(RECORD) if r.name.startswith("public-dns")]
    assert [r.name for r in records] == ["public-dns-a"]  # IPv4 only: no AAAA to an IPv4 ALB
    alias = records[0].inputs
    assert (alias["zoneId"], alias["name"], alias["type"]) == (
        dev.config["maratron:hostedZoneId"], dev.config["maratron:domainName"], "A")
    assert alias["aliases"] == [{"name": alb["dnsName"], "zoneId": alb["zoneId"], "evaluateTargetHealth": True}]
    assert edge_records(dev) == [dev.one(RECORD, "load-balancer-certificate-validation")]  # no alias under the ALB


def test_existing_certificate_mode_issues_nothing(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **PROD_VARIANT)  # certificateArn EXISTING_CERT, hostedZoneId "" (and other parts')
    assert run.ok, run.error_details
    assert (run.config["maratron:certificateArn"], run.config["maratron:hostedZoneId"]) == (EXISTING_CERT, "")
    assert run.of_type(CERTIFICATE) == [] and run.of_type(VALIDATION) == [] and edge_records(run) == []
    assert listener(run, 443).inputs["certificateArn"] == EXISTING_CERT
    assert run.plain_outputs()["certificateArn"] == EXISTING_CERT


def test_existing_certificate_with_a_zone_still_gets_the_alias_record(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **EDGE_VARIANT)  # certificateArn EXISTING_CERT; hostedZoneId: prod's
    assert run.ok, run.error_details
    assert run.config["maratron:hostedZoneId"] and run.config["maratron:certificateArn"] == EXISTING_CERT
    assert run.of_type(CERTIFICATE) == [] and edge_records(run) == []
    assert sorted(r.name for r in run.of_type(RECORD) if r.name.startswith("public-dns")) == [
        "public-dns-a", "public-dns-aaaa"]
    # The distribution serves the same (us-east-1) certificate as the ALB.
    viewer = run.one("aws:cloudfront/distribution:Distribution").inputs["viewerCertificate"]
    assert viewer["acmCertificateArn"] == EXISTING_CERT


def test_tls_policy_follows_config(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", **EDGE_VARIANT)
    assert run.ok, run.error_details
    assert listener(run, 443).inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09"


# --- outputs, tags ---------------------------------------------------------------------------------------------------

def test_edge_outputs_are_exported(any_stack: StackRun) -> None:
    outputs = any_stack.plain_outputs()
    assert outputs["appUrl"] == f"https://{any_stack.config['maratron:domainName']}"
    assert outputs["albDnsName"] == any_stack.one(ALB).outputs["dnsName"]
    assert outputs["albArn"] == any_stack.one(ALB).outputs["arn"]
    assert outputs["albSecurityGroupId"] == alb_sg(any_stack).id
    assert outputs["targetGroupArn"] == any_stack.one(TARGET_GROUP).outputs["arn"]
    assert outputs["httpsListenerArn"] == listener(any_stack, 443).outputs["arn"]
    assert outputs["certificateArn"] == any_stack.one(CERTIFICATE).outputs["arn"]
    assert outputs["albAccessLogsBucketName"] == any_stack.one(BUCKET, "load-balancer-access-logs").outputs["bucket"]
    assert outputs["webAclArn"] == any_stack.one("aws:wafv2/webAcl:WebAcl").outputs["arn"]


UNTAGGABLE = {RECORD, VALIDATION}


def test_every_taggable_edge_resource_carries_the_stack_tags(any_stack: StackRun) -> None:
    component = any_stack.one("maratron:edge:LoadBalancer")
    for resource in any_stack.descendants(component):
        if resource.type in UNTAGGABLE or not resource.custom or (
                resource.type.startswith("aws:s3/bucket") and resource.type != BUCKET):
            continue
        tags = resource.inputs.get("tags", {})
        assert tags.get("environment") == any_stack.config["maratron:environment"], resource.name
        assert {"owner", "cost-center", "project", "Name"} <= set(tags), resource.name


# --- component args and config errors --------------------------------------------------------------------------------

def test_an_origin_lock_accepts_one_value_or_two_during_a_rotation() -> None:
    assert len(OriginLock(accepted_values=["a"]).accepted_values) == 1
    assert len(OriginLock(accepted_values=["a", "b"]).accepted_values) == 2
    for values in ([], ["a", "b", "c"]):
        with pytest.raises(ValueError, match="one value, or two during a rotation"):
            OriginLock(accepted_values=values)


def test_args_need_a_certificate_source_and_two_subnets() -> None:
    ctx = AwsContext("123456789012", "aws", "us-east-1")
    with pytest.raises(ValueError, match=r"set hostedZoneId .*, certificateArn .*, or both"):
        LoadBalancerArgs(context=ctx, vpc_id="vpc-1", subnet_ids=["a", "b"], domain_name="x.example.com",
                         settings=LoadBalancerSettings(), server_access_logs=None)
    with pytest.raises(ValueError, match="at least two AZs"):
        LoadBalancerArgs(context=ctx, vpc_id="vpc-1", subnet_ids=["a"], domain_name="x.example.com",
                         settings=LoadBalancerSettings(hosted_zone_id="Z1"), server_access_logs=None)


def test_targets_on_spot_drain_below_the_interruption_notice() -> None:
    """AWS: target groups of FARGATE_SPOT tasks need a deregistration delay under two minutes."""
    ctx = AwsContext("123456789012", "aws", "us-east-1")
    common: dict[str, Any] = dict(context=ctx, vpc_id="vpc-1", subnet_ids=["a", "b"], domain_name="x.example.com",
                                  settings=LoadBalancerSettings(hosted_zone_id="Z1"), server_access_logs=None)
    assert LoadBalancerArgs(**common, targets_on_spot=True).draining_seconds == SPOT_DRAIN_SECONDS < 120
    assert LoadBalancerArgs(**common).draining_seconds == 300
    assert LoadBalancerArgs(**common, targets_on_spot=True, deregistration_delay_seconds=30).draining_seconds == 30
    with pytest.raises(ValueError, match=r"deregistration_delay_seconds = 300: with targets_on_spot it must be "
                                         r"below Spot's 120 s interruption notice"):
        LoadBalancerArgs(**common, targets_on_spot=True, deregistration_delay_seconds=300)


GOOD = dict(MINIMAL_VALID)


def edge_problems(**changes: str | None) -> list[str]:
    raw = dict(GOOD)
    for key, value in changes.items():
        if value is None:
            raw.pop(f"maratron:{key}", None)
        else:
            raw[f"maratron:{key}"] = value
    with pytest.raises(stack_config.ConfigError) as caught:
        stack_config.load(raw, stack="test")
    return [str(p) for p in caught.value.problems]


def test_edge_defaults_and_both_certificate_modes_load() -> None:
    edge = stack_config.load(GOOD, stack="test").load_balancer
    assert edge.hosted_zone_id == "Z0DEV00000MARATRON0001" and edge.certificate_arn == ""
    assert edge.tls_policy == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    assert (edge.desync_mitigation_mode, edge.idle_timeout_seconds) == ("strictest", 300)
    only_cert = stack_config.load({**GOOD, "maratron:hostedZoneId": "", "maratron:certificateArn": EXISTING_CERT},
                                  stack="test").load_balancer
    assert only_cert.certificate_arn == EXISTING_CERT and only_cert.hosted_zone_id == ""


@pytest.mark.parametrize(("changes", "expected"), [
    ({"hostedZoneId": None},
     'maratron:hostedZoneId = "": set hostedZoneId (a DNS-validated certificate and the alias record are created '
     'there), certificateArn (an existing certificate), or both'),
    ({"hostedZoneId": "example.com"},
     'maratron:hostedZoneId = "example.com": must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ'),
    ({"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/nope"},
     "must be an ACM certificate ARN, arn:aws:acm:<region>:<account>:certificate/<uuid>"),
    ({"certificateArn": EXISTING_CERT.replace("us-east-1", "eu-west-1")},
     "must be a certificate in the stack's region us-east-1 (an ALB only uses certificates of its region)"),
    ({"tlsPolicy": "ELBSecurityPolicy-2016-08"},
     'maratron:tlsPolicy = "ELBSecurityPolicy-2016-08": must be one of ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09, '),
    ({"tlsPolicy": "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06"}, "must be one of ELBSecurityPolicy-TLS13-1-2-Res-PQ"),
    ({"desyncMitigationMode": "monitor"},
     'maratron:desyncMitigationMode = "monitor": must be one of strictest, defensive'),
    ({"albIdleTimeoutSeconds": "30"}, "maratron:albIdleTimeoutSeconds = 30: must be between 60 and 4000"),
])
def test_edge_config_errors_name_key_value_and_rule(changes: dict[str, str | None], expected: str) -> None:
    found = edge_problems(**changes)
    assert any(expected in p for p in found), found
