"""Configs several test modules share: the smallest raw config that passes validation, and the overrides of variants
more than one module runs (one run per session for all of them: tests/conftest.py stack_run caches by overrides)."""

from typing import Any

GRAFANA_SSO: dict[str, Any] = {"grafanaEnabled": True, "grafanaAdminGroupIds": ["g-admins"],
                               "grafanaViewerGroupIds": ["g-ops"]}
"""Grafana with IAM Identity Center sign-in (the default provider), one admin and one viewer group."""
GRAFANA_SAML: dict[str, Any] = {
    "grafanaEnabled": True, "grafanaAuthenticationProviders": ["SAML"],
    "grafanaSamlMetadataUrl": "https://idp.example.com/metadata", "grafanaSamlAdminRoleValues": ["admin"],
    "grafanaSamlEditorRoleValues": ["editor"]}
"""Grafana with a SAML IdP instead."""

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
