"""ops.verify for a stack with the CDN: a healthy deployment in moto passes the CDN checks, each drift fails its check,
and the calls moto lacks (the AWS-managed CloudFront policies) run against stubbed botocore responses."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from components.constants import (
    CACHE_POLICY_CACHING_DISABLED,
    CACHE_POLICY_CACHING_OPTIMIZED,
    CLOUDFRONT_PREFIX_LIST,
    MANAGED_CLOUDFRONT_POLICIES,
    ORIGIN_REQUEST_POLICY_ALL_VIEWER_AND_CLOUDFRONT_HEADERS,
    ORIGIN_REQUEST_POLICY_HOST_HEADER_ONLY,
)
from ops import verify
from ops.verify import Status
from tests.ops.conftest import REGION
from tests.ops.http_stub import QuietHandler, serving
from tests.ops.verify_support import boto_session, built_once

CDN_CHECKS = ["alb.http-redirect", "waf.association", "cdn.distribution", "cdn.origin-lock", "cdn.access-logs"]
DOMAIN = "app.maratron.example"


def behavior(cache: str, request: str, path: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"TargetOriginId": "alb", "ViewerProtocolPolicy": "redirect-to-https",
                             "CachePolicyId": cache, "OriginRequestPolicyId": request,
                             "ResponseHeadersPolicyId": "rhp-1", "Compress": True}
    if path:
        found["PathPattern"] = path
    return found


def distribution_config(acl_arn: str, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "CallerReference": "maratron-prod", "Comment": "maratron-prod", "Enabled": True, "HttpVersion": "http2and3",
        "Aliases": {"Quantity": 1, "Items": [DOMAIN]}, "WebACLId": acl_arn,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "alb", "DomainName": "maratron-prod.us-east-1.elb.amazonaws.com",
            "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": "X-Origin-Verify", "HeaderValue": "s3cr3t"}]},
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only",
                                   "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
                                   "OriginReadTimeout": 60, "OriginKeepaliveTimeout": 60}}]},
        "DefaultCacheBehavior": behavior(CACHE_POLICY_CACHING_DISABLED,
                                         ORIGIN_REQUEST_POLICY_ALL_VIEWER_AND_CLOUDFRONT_HEADERS),
        "CacheBehaviors": {"Quantity": 1, "Items": [behavior(CACHE_POLICY_CACHING_OPTIMIZED,
                                                             ORIGIN_REQUEST_POLICY_HOST_HEADER_ONLY,
                                                             "/_next/static/*")]},
        "ViewerCertificate": {"ACMCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/1",
                              "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2025"},
    }
    config.update(changes)
    return config


@dataclass
class CdnDeployment:
    endpoint: str
    outputs: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = verify.Clients(boto_session(), self.endpoint)


def build_cdn(endpoint_url: str) -> CdnDeployment:
    dep = CdnDeployment(endpoint_url)
    ec2, elb, waf, cf, logs = (dep.client(s) for s in ("ec2", "elbv2", "wafv2", "cloudfront", "logs"))
    certificate = dep.client("acm").request_certificate(DomainName=DOMAIN)["CertificateArn"]
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"{REGION}{az}")
               ["Subnet"]["SubnetId"] for i, az in enumerate("ab")]
    cloudfront_list = ec2.describe_managed_prefix_lists(Filters=[
        {"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST]}])["PrefixLists"][0]["PrefixListId"]
    group = ec2.create_security_group(GroupName="alb-cdn", Description="alb", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": cloudfront_list}]}])
    alb = elb.create_load_balancer(Name="maratron-cdn", Subnets=subnets, SecurityGroups=[group],
                                   Scheme="internet-facing", Type="application")["LoadBalancers"][0]
    target_group = elb.create_target_group(Name="maratron-cdn-web", Protocol="HTTP", Port=3000, VpcId=vpc,
                                           TargetType="ip")["TargetGroups"][0]
    https = elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTPS", Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "403", "ContentType": "text/plain", "MessageBody": "Forbidden"}}])["Listeners"][0]
    forward = elb.create_rule(ListenerArn=https["ListenerArn"], Priority=100, Conditions=[
        {"Field": "host-header", "HostHeaderConfig": {"Values": [DOMAIN]}},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Origin-Verify", "Values": ["s3cr3t"]}},
    ], Actions=[{"Type": "forward", "TargetGroupArn": target_group["TargetGroupArn"]}])["Rules"][0]
    acl = waf.create_web_acl(
        Name="maratron-cdn", Scope="CLOUDFRONT", DefaultAction={"Allow": {}}, Rules=[],
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "acl"},
    )["Summary"]
    distribution = cf.create_distribution(DistributionConfig=distribution_config(acl["ARN"]))["Distribution"]
    source = logs.put_delivery_source(name="maratron-prod-cdn", resourceArn=distribution["ARN"],
                                      logType="ACCESS_LOGS")["deliverySource"]
    destination = logs.put_delivery_destination(
        name="maratron-prod-cdn-s3", outputFormat="parquet",
        deliveryDestinationConfiguration={"destinationResourceArn": "arn:aws:s3:::maratron-prod-cdn-logs"},
    )["deliveryDestination"]
    delivery = logs.create_delivery(deliverySourceName=source["name"],
                                    deliveryDestinationArn=destination["arn"])["delivery"]
    dep.outputs = {
        "environment": "prod", "region": REGION, "appUrl": f"https://{DOMAIN}",
        "albArn": alb["LoadBalancerArn"], "albSecurityGroupId": group, "httpsListenerArn": https["ListenerArn"],
        "webAclArn": acl["ARN"], "cdnDistributionId": distribution["Id"],
    }
    dep.ids = {"group": group, "https": https["ListenerArn"], "forward": forward["RuleArn"],
               "target_group": target_group["TargetGroupArn"], "distribution": distribution["Id"],
               "acl": acl["ARN"], "delivery": delivery["id"], "prefix_list": cloudfront_list}
    return dep


@pytest.fixture(scope="module")
def cdn(moto_endpoint: str) -> CdnDeployment:  # the module's moto server (tests/ops/conftest.py)
    with built_once():
        return build_cdn(moto_endpoint)


def run_verify(dep: CdnDeployment, tmp_path: Path, *args: str) -> dict[str, verify.Result]:
    path, report = tmp_path / "outputs.json", tmp_path / "report.json"
    path.write_text(json.dumps(dep.outputs))
    only = [item for check in CDN_CHECKS for item in ("--only", check)]
    verify.main(["--stack-outputs", str(path), "--endpoint-url", dep.endpoint, "--json", str(report), *only, *args],
                stdout=io.StringIO(), clients=dep.client)
    document = json.loads(report.read_text())
    return {r["name"]: verify.Result(r["name"], Status(r["status"]), r["detail"]) for r in document["results"]}


def test_healthy_cdn_deployment_passes(cdn: CdnDeployment, tmp_path: Path) -> None:
    results = run_verify(cdn, tmp_path)
    assert {name: r.status for name, r in results.items()} == {name: Status.PASS for name in CDN_CHECKS}, \
        [r.detail for r in results.values()]
    assert "no :80 listener" in results["alb.http-redirect"].detail
    assert "CLOUDFRONT web ACL" in results["waf.association"].detail
    assert "TLSv1.2_2025" in results["cdn.distribution"].detail
    assert CLOUDFRONT_PREFIX_LIST in results["cdn.origin-lock"].detail
    assert "s3cr3t" not in json.dumps([r.detail for r in results.values()])  # the secret is never printed


# --- drifts ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def world_opened(dep: CdnDeployment) -> Iterator[None]:
    ec2 = dep.client("ec2")
    permission = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2.authorize_security_group_ingress(GroupId=dep.ids["group"], IpPermissions=[permission])
    yield
    ec2.revoke_security_group_ingress(GroupId=dep.ids["group"], IpPermissions=[permission])


@contextlib.contextmanager
def header_not_required(dep: CdnDeployment) -> Iterator[None]:
    elb = dep.client("elbv2")
    elb.modify_rule(RuleArn=dep.ids["forward"], Conditions=[
        {"Field": "host-header", "HostHeaderConfig": {"Values": [DOMAIN]}}])
    yield
    elb.modify_rule(RuleArn=dep.ids["forward"], Conditions=[
        {"Field": "host-header", "HostHeaderConfig": {"Values": [DOMAIN]}},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Origin-Verify", "Values": ["s3cr3t"]}}])


@contextlib.contextmanager
def forwards_by_default(dep: CdnDeployment) -> Iterator[None]:
    elb = dep.client("elbv2")
    elb.modify_listener(ListenerArn=dep.ids["https"], DefaultActions=[
        {"Type": "forward", "TargetGroupArn": dep.ids["target_group"]}])
    yield
    elb.modify_listener(ListenerArn=dep.ids["https"], DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig":
                        {"StatusCode": "403", "ContentType": "text/plain", "MessageBody": "Forbidden"}}])


@contextlib.contextmanager
def distribution_changed(dep: CdnDeployment, **changes: Any) -> Iterator[None]:
    cf = dep.client("cloudfront")

    def update(config: dict[str, Any]) -> None:
        etag = cf.get_distribution_config(Id=dep.ids["distribution"])["ETag"]
        cf.update_distribution(Id=dep.ids["distribution"], IfMatch=etag, DistributionConfig=config)

    update(distribution_config(dep.ids["acl"], **changes))
    yield
    update(distribution_config(dep.ids["acl"]))


@contextlib.contextmanager
def delivery_deleted(dep: CdnDeployment) -> Iterator[None]:
    logs = dep.client("logs")
    delivery = logs.get_delivery(id=dep.ids["delivery"])["delivery"]
    logs.delete_delivery(id=dep.ids["delivery"])
    yield
    dep.ids["delivery"] = logs.create_delivery(deliverySourceName=delivery["deliverySourceName"],
                                               deliveryDestinationArn=delivery["deliveryDestinationArn"])[
        "delivery"]["id"]


@dataclass(frozen=True)
class Drift:
    check: str
    apply: Callable[[CdnDeployment], contextlib.AbstractContextManager[None]]
    detail: str


DRIFTS = {
    "world-opened": Drift("cdn.origin-lock", world_opened, "admits address ranges or security groups on 443-443"),
    "header-not-required": Drift("cdn.origin-lock", header_not_required,
                                 "rule priority 100 forwards without the X-Origin-Verify header"),
    "forwards-by-default": Drift("cdn.origin-lock", forwards_by_default, "listener :443 forwards by default"),
    "viewer-tls-1-1": Drift("cdn.distribution", lambda d: distribution_changed(d, ViewerCertificate={
        "ACMCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/1", "SSLSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.1_2016"}), "viewer security policy TLSv1.1_2016"),
    "default-behavior-caches": Drift("cdn.distribution", lambda d: distribution_changed(
        d, DefaultCacheBehavior=behavior(CACHE_POLICY_CACHING_OPTIMIZED,
                                         ORIGIN_REQUEST_POLICY_ALL_VIEWER_AND_CLOUDFRONT_HEADERS)),
        "the default behavior caches"),
    "origin-http": Drift("cdn.distribution", lambda d: distribution_changed(d, Origins={"Quantity": 1, "Items": [{
        "Id": "alb", "DomainName": "maratron-prod.us-east-1.elb.amazonaws.com",
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only",
                               "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]}}}]}),
        "origin alb is reached over http-only"),
    "http2-only": Drift("cdn.distribution", lambda d: distribution_changed(d, HttpVersion="http2"),
                        "HTTP version http2, expected http2and3"),
    "waf-removed": Drift("waf.association", lambda d: distribution_changed(d, WebACLId=""),
                         "protected by no web ACL"),
    "logs-not-delivered": Drift("cdn.access-logs", delivery_deleted, "delivers nowhere"),
}


@pytest.mark.parametrize("drift", DRIFTS.values(), ids=DRIFTS.keys())
def test_cdn_drift_fails_its_check(cdn: CdnDeployment, tmp_path: Path, drift: Drift) -> None:
    with drift.apply(cdn):
        results = run_verify(cdn, tmp_path)
    failing = {name for name, r in results.items() if r.status is Status.FAIL}
    assert drift.check in failing, results
    assert drift.detail in results[drift.check].detail


def test_cdn_drifts_were_undone(cdn: CdnDeployment, tmp_path: Path) -> None:
    assert all(r.status is Status.PASS for r in run_verify(cdn, tmp_path).values())


# --- managed policies: moto has none of AWS's, so the responses are stubbed ---------------------------------------


class StubbedClients:
    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, service: str, region: str | None = None) -> Any:
        assert service == "cloudfront"
        return self.client


def managed_policy_verdict(names: dict[str, str]) -> verify.Verdict:
    client = boto_session().client("cloudfront", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        for policy_id, (kind, expected) in MANAGED_CLOUDFRONT_POLICIES.items():
            name = names.get(policy_id, expected)
            if kind == "cache":
                stub.add_response("get_cache_policy", {"CachePolicy": {
                    "Id": policy_id, "LastModifiedTime": "2024-01-01T00:00:00Z", "CachePolicyConfig": {
                        "Name": name, "MinTTL": 0, "ParametersInCacheKeyAndForwardedToOrigin": {
                            "EnableAcceptEncodingGzip": True, "HeadersConfig": {"HeaderBehavior": "none"},
                            "CookiesConfig": {"CookieBehavior": "none"},
                            "QueryStringsConfig": {"QueryStringBehavior": "none"}}}}}, {"Id": policy_id})
            else:
                stub.add_response("get_origin_request_policy", {"OriginRequestPolicy": {
                    "Id": policy_id, "LastModifiedTime": "2024-01-01T00:00:00Z", "OriginRequestPolicyConfig": {
                        "Name": name, "HeadersConfig": {"HeaderBehavior": "allViewer"},
                        "CookiesConfig": {"CookieBehavior": "all"},
                        "QueryStringsConfig": {"QueryStringBehavior": "all"}}}}, {"Id": policy_id})
        ctx = verify.Context(verify.Outputs({"environment": "prod", "cdnDistributionId": "E1"}),
                             StubbedClients(client))  # type: ignore[arg-type]
        verdict = verify.check_cdn_managed_policies(ctx)
        stub.assert_no_pending_responses()
    return verdict


def test_managed_policy_ids_still_name_the_managed_policies() -> None:
    verdict = managed_policy_verdict({})
    assert verdict.status is Status.PASS and "4 managed policy ids as expected" in verdict.detail


def test_a_managed_policy_id_that_changed_meaning_fails() -> None:
    verdict = managed_policy_verdict({CACHE_POLICY_CACHING_DISABLED: "Managed-CachingOptimized"})
    assert verdict.status is Status.FAIL
    assert f"{CACHE_POLICY_CACHING_DISABLED} is 'Managed-CachingOptimized', expected Managed-CachingDisabled" in \
        verdict.detail


def test_without_a_cdn_every_cdn_check_skips() -> None:
    ctx = verify.Context(verify.Outputs({"environment": "dev", "cdnDistributionId": ""}),
                         StubbedClients(None))  # type: ignore[arg-type]
    for name, check in verify.CHECKS:
        if name.startswith("cdn."):
            assert verify.run_check(name, check, ctx).status is Status.SKIP, name


# --- through the edge over HTTP: a local server stands in for CloudFront -------------------------------------------

SECURITY_HEADERS = {"Strict-Transport-Security": "max-age=31536000", "Content-Security-Policy": "default-src 'self'",
                    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "strict-origin-when-cross-origin"}


@contextlib.contextmanager
def edge_server(headers: dict[str, str], metrics_status: int = 404) -> Iterator[str]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(metrics_status if self.path.startswith("/metrics") else 200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"{}")

    with serving(Handler) as address:
        yield f"http://{address}"


@pytest.mark.parametrize(("headers", "metrics", "status", "detail"), [
    ({**SECURITY_HEADERS, "Via": "1.1 abc.cloudfront.net (CloudFront)"}, 404, Status.PASS, "via CloudFront"),
    (SECURITY_HEADERS, 404, Status.FAIL, "was not served by CloudFront"),
    ({"Via": "1.1 abc.cloudfront.net (CloudFront)"}, 404, Status.FAIL, "missing security headers"),
    ({**SECURITY_HEADERS, "X-Amz-Cf-Id": "abc"}, 200, Status.FAIL, "GET /metrics -> HTTP 200, expected 404"),
])
def test_http_edge(headers: dict[str, str], metrics: int, status: Status, detail: str) -> None:
    with edge_server(headers, metrics) as url:
        ctx = verify.Context(verify.Outputs({"environment": "prod", "cdnDistributionId": "E1", "appUrl": url}),
                             StubbedClients(None), http=True)  # type: ignore[arg-type]
        verdict = verify.check_http_edge(ctx)
    assert verdict.status is status and detail in verdict.detail, verdict


@contextlib.contextmanager
def site(asset_headers: dict[str, str], api_headers: dict[str, str], lock: int | None = None,
         page: bytes = b'<script src="/_next/static/chunks/main-3f2a.js"></script>') -> Iterator[str]:
    """A local stand-in for CloudFront: the home page, one static asset, the health API. The asset is a cache hit
    from its second request on (X-Cache), as the edge answers. `lock`: as the ALB, answer every request without the
    origin header with this status."""
    seen: list[str] = []

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            if lock is not None and verify.ORIGIN_VERIFY_HEADER not in self.headers:
                self.send_response(lock)
                self.end_headers()
                return
            if self.path == "/":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(page)
                return
            headers = {}
            if self.path.startswith("/_next/static/"):
                hit = seen.count(self.path) > 1
                headers = {"X-Cache": ("Hit" if hit else "Miss") + " from cloudfront", **asset_headers}
                if "br" not in self.headers.get("Accept-Encoding", ""):
                    headers.pop("Content-Encoding", None)
            elif self.path == verify.HEALTH_PATH:
                headers = api_headers
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"{}")

    with serving(Handler) as address:
        yield address


def http_context(host: str) -> verify.Context:
    return verify.Context(verify.Outputs({"environment": "prod", "cdnDistributionId": "E1", "appUrl": f"http://{host}",
                                          "albDnsName": host}), StubbedClients(None), http=True)  # type: ignore[arg-type]


YEAR = {"Cache-Control": "public, max-age=31536000, immutable", "Content-Encoding": "br"}
MISS = {"X-Cache": "Miss from cloudfront"}


@pytest.mark.parametrize(("asset", "api", "status", "detail"), [
    (YEAR, MISS, Status.PASS, "/_next/static/chunks/main-3f2a.js br"),
    ({**YEAR, "Content-Encoding": ""}, MISS, Status.FAIL, "not compressed (Content-Encoding none)"),
    ({**YEAR, "Cache-Control": "public, max-age=0"}, MISS, Status.FAIL, "max-age 0, expected 31536000"),
    (YEAR, {"X-Cache": "Hit from cloudfront"}, Status.FAIL, f"{verify.HEALTH_PATH} served from the edge cache"),
])
def test_http_cdn_caching(asset: dict[str, str], api: dict[str, str], status: Status, detail: str) -> None:
    with site(asset, api) as host:
        verdict = verify.check_http_cdn_caching(http_context(host))
    assert verdict.status is status and detail in verdict.detail, verdict


def test_http_cdn_caching_needs_an_asset_to_check() -> None:
    with site(YEAR, MISS, page=b"<html></html>") as host:
        verdict = verify.check_http_cdn_caching(http_context(host))
    assert verdict.status is Status.FAIL and "references no /_next/static asset" in verdict.detail


@pytest.mark.parametrize(("status", "expected", "detail"), [
    (403, Status.PASS, "-> 403 (listener)"),
    (200, Status.FAIL, "-> HTTP 200: the ALB serves requests that bypass CloudFront"),
])
def test_http_origin_lock(monkeypatch: pytest.MonkeyPatch, status: int, expected: Status, detail: str) -> None:
    monkeypatch.setattr(verify, "DIRECT_SCHEME", "http")
    with site(YEAR, MISS, lock=status) as host:
        verdict = verify.check_http_origin_lock(http_context(host))
    assert verdict.status is expected and detail in verdict.detail, verdict
    assert f"without {verify.ORIGIN_VERIFY_HEADER}" in verdict.detail


def test_http_origin_lock_passes_when_the_security_group_drops_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setattr(verify, "DIRECT_SCHEME", "http")
    with socket.socket() as closed:  # a port nothing listens on: refused, as a dropping security group times out
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    verdict = verify.check_http_origin_lock(http_context(f"127.0.0.1:{port}"))
    assert verdict.status is Status.PASS and "refused or dropped" in verdict.detail, verdict
