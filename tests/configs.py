"""Configs several test modules share: the smallest raw config that passes validation, and the overrides of variants
more than one module runs (one run per session for all of them: tests/conftest.py stack_run caches by overrides)."""

from collections.abc import Mapping
from typing import Any

import stack_config


def config_problems(raw: Mapping[str, Any], stack: str = "test") -> list[str]:
    """Every problem stack_config reports for the raw config `raw` ([] when it loads)."""
    try:
        stack_config.load(dict(raw), stack=stack)
    except stack_config.ConfigError as error:
        return [str(problem) for problem in error.problems]
    return []

GROUP_ADMINS = "9067c1a2b3-1f2e3d4c-5b6a-4789-8a9b-0c1d2e3f4a5b"
GROUP_OPS = "9067c1a2b3-7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
"""IAM Identity Center group ids (identity store prefix + UUID, the Identity Store API's GroupId pattern)."""

GRAFANA_SSO: dict[str, Any] = {"grafanaEnabled": True, "grafanaAdminGroupIds": [GROUP_ADMINS],
                               "grafanaViewerGroupIds": [GROUP_OPS]}
"""Grafana with IAM Identity Center sign-in (the default provider), one admin and one viewer group."""
GRAFANA_SAML: dict[str, Any] = {
    "grafanaEnabled": True, "grafanaAuthenticationProviders": ["SAML"],
    "grafanaSamlMetadataUrl": "https://idp.example.com/metadata", "grafanaSamlAdminRoleValues": ["admin"],
    "grafanaSamlEditorRoleValues": ["editor"]}
"""Grafana with a SAML IdP instead."""

EXISTING_CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
"""An ACM certificate the stack is given instead of issuing one (us-east-1: CloudFront can serve it too)."""
EDGE_VARIANT: dict[str, Any] = {
    "corsOrigins": ["https://admin.maratron.example.com", "https://coach.maratron.example.com"],
    "tlsPolicy": "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",  # not a TLS 1.3-only one: CloudFront needs 1.2
    "desyncMitigationMode": "defensive",
    "albIdleTimeoutSeconds": 120,
    "wafAiPaths": ["/api/chat", "/api/coach"],
    "wafRateLimitPaths": [],
    "wafRateLimitWindowSeconds": 300,
    "certificateArn": EXISTING_CERT,  # with hostedZoneId still set
    "cdnAdditionalMetrics": False,
    "cdnOriginSecretGeneration": 1,  # a rotation's last step: generation 1, the previous value no longer accepted
}
"""prod with the edge's settings away from their defaults: one run for the edge tests (tests/test_load_balancer.py,
test_waf.py, test_cdn.py) that each check a few of them (~1.5 s of CPU an engine run). The settings are independent:
each test's assertions hold whatever the others are."""

REDIS_CLUSTERED: dict[str, Any] = {"redisClusterMode": True, "redisShards": 2, "redisReplicas": 1}
"""Redis in cluster mode: two shards of a primary and one replica."""
WAF_LARGEST_ALLOWED: dict[str, Any] = {"wafRateLimitPaths": [f"/api/r{i}" for i in range(5)],
                                       "wafAiPaths": [f"/api/ai{i}" for i in range(3)],
                                       "wafAuthPaths": [f"/api/auth/s{i}" for i in range(3)]}
"""The most path prefixes the three WAF lists may hold together (11): the web ACL at its included capacity."""
PROD_VARIANT: dict[str, Any] = {
    **REDIS_CLUSTERED,
    "drReplicationTimeControl": "true",
    "certificateArn": EXISTING_CERT, "hostedZoneId": "",  # a certificate given, no zone: nothing issued, no records
    **WAF_LARGEST_ALLOWED,
    "aiPort": 9000,
    "dbProxyFollowSubnets": "true",
}
"""prod with settings of several parts away from their defaults: one run (~1.5 s of CPU an engine run) for the tests
that each check one of them (tests/test_cache.py: cluster mode; test_disaster_recovery.py: replication time control;
test_load_balancer.py: a certificate without a zone; test_waf.py: the largest path lists; test_service.py: the AI
port; test_database.py: the proxy following its subnets). The settings are independent (the cache, the backup
replication, the certificate and DNS, the web ACL's rules, the AI service's port, the proxy's subnets): each test
asserts the settings it relies on, and its assertions hold whatever the others are."""

APP_METRICS_TUNED: dict[str, Any] = {
    "appMetricsRetentionDays": 400, "appMetricsMaxSeriesPerService": 5000,
    "alarmAppErrorRatePercent": 5, "alarmCacheHitRatePercent": 60, "alarmDbConnectionsPercent": 50,
    "wafAiPaths": ["/api/chat", "/api/coach.v2"],
    "appMetricsScrapeIntervalSeconds": 30, "appMetricsPath": "/api/metrics", "webMetricsPort": 9464,
    "metricsCollectorCpu": 64, "metricsCollectorMemory": 256,
    **GRAFANA_SAML,
}
"""Every app-metrics setting away from its default, Grafana on with a SAML IdP included (tests/test_app_metrics.py)."""
ELSEWHERE_ROTATING: dict[str, Any] = {"aws:region": "us-west-2", "azNames": ["us-west-2a", "us-west-2b", "us-west-2c"],
                                      "cdnOriginSecretGeneration": 1, "cdnOriginSecretAcceptPrevious": True}
"""A stack outside us-east-1 (us-west-2, where the foundation's registry replicates: an app stack must be in the
registry's region or a replica region, components/foundation.py) in the middle of an origin secret rotation
(generation 1, the previous value still accepted): tests/test_cdn.py."""
PROD_ELSEWHERE_TUNED: dict[str, Any] = {**ELSEWHERE_ROTATING, **APP_METRICS_TUNED}
"""prod in us-west-2 mid-rotation with the app-metrics settings tuned: one run (~1.5 s of CPU an engine run) for the
tests of tests/test_cdn.py (the region's edge parts, the rotation: they read only the certificates, keys, logs,
topics, alarms' regions and actions, the secret's slots, the listener rule and the origin header) and of
test_app_metrics.py (the workspace, the collector, the alert rules, Grafana: none of them region-specific). Each test
asserts the settings it relies on; the settings are independent: each test's assertions hold whatever the others
are."""

STAGING_TUNED: dict[str, Any] = {"webHealthCheckTool": "wget", "webHealthCheckPath": "/api/live",
                                 "aiHealthCheckPath": "/healthz", "aiRequestTimeoutSeconds": 900, "azNames": []}
"""staging with the health checks, the AI request budget and the AZs (unpinned: looked up) away from their defaults:
one run for the tests (tests/test_service.py, test_network.py) that each check one of them (independent settings:
each test's assertions hold whatever the others are)."""

DEV_TAGGED_METRICS: dict[str, Any] = {
    "appMetricsEnabled": True,
    "aiImage": "sha-4f2c1a9",
    "webImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/maratron/web@"
                "sha256:81c829824e1ac844eb4387224614a77c6a7d8c9cdb0f48fa92e26efcf8d43ae7",
}
"""dev with app metrics on and its images named by a tag (ai) and by a full reference (web) instead of digests: one run
(~1 s of CPU an engine run) for tests/test_app_metrics.py (metrics on in dev: the sidecar, no network change) and
test_images.py (a tag or a reference resolves to the digest). Independent settings (a collector sidecar and its
workspace; how an app image is named, which resolves to the same digests): each test asserts the settings it relies
on, and its assertions hold whatever the others are."""
DEV_BUILT_IMAGES: dict[str, Any] = {"weatherApiKey": "", "sentryDsn": "", "webImage": "",
                                    "webBuildContext": "tests/fixtures/app",
                                    "backupImage": "", "backupBuildContext": "tests/fixtures/app"}
"""dev with the optional secrets set empty and the web and backup images built here (the ai image still pushed
elsewhere): one run for tests/test_service.py (the optional secrets; a web image that keeps the volume contract) and
test_images.py (the backup build). Independent settings (neither touches a container's secrets or the other
tests' containers): each test asserts the settings it relies on."""

MINIMAL_VALID: dict[str, str] = {
    "aws:region": "us-east-1",
    "maratron:environment": "dev",
    "maratron:domainName": "dev.maratron.example.com",
    "maratron:hostedZoneId": "Z0DEV00000MARATRON0001",
    "maratron:azCount": "2",
    "maratron:azNames": '["us-east-1a", "us-east-1b"]',
    "maratron:natGateways": "single",
    "maratron:interfaceEndpoints": "[]",
    "maratron:webImage": "sha256:" + "a" * 64,
    "maratron:aiImage": "sha256:" + "b" * 64,
    "maratron:backupImage": "sha256:" + "c" * 64,
    "maratron:anthropicApiKey": "test-anthropic-key",
    "maratron:weatherApiKey": "test-weather-key",
    "maratron:sentryDsn": "https://public@sentry.example.com/1",
}
"""The smallest raw config that passes validation, for tests that check one section's keys in isolation: only what
has no schema default (or must be set for a dev stack to be valid); each test adds its own keys."""
