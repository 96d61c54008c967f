"""The app's own secrets in Secrets Manager: third-party keys from Pulumi config secrets, and NEXTAUTH_SECRET.

ECS injects them into containers through `secrets` (valueFrom = secret ARN) at task start; the values never appear in
a task definition, an environment variable of the definition, or a stack output. Each is encrypted with the stack's
`data` CMK, and each service's execution role may read exactly the ones that service gets (see FargateTask).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.base import RETAIN, RemovalPolicy, SecretRef, managed_secret, named_tags
from components.constants import CREDENTIAL_TAG, Credential
from components.settings import REQUIRED, Secret, setting

NEXTAUTH_SECRET_LENGTH = 64
"""The seed asks for 64 characters minimum; 64 alphanumerics carry about 380 bits."""


def _required(value: str) -> str | None:
    return None if value.strip() else "required: the AI server's Anthropic key"


@dataclass(frozen=True, kw_only=True)
class AppSecretsSettings:
    """Third-party secrets, set with `pulumi config set --secret`. Only whether each is set is kept here."""

    anthropic_api_key: Secret = setting(
        "anthropicApiKey", REQUIRED, "Anthropic API key for the AI server (`pulumi config set --secret "
        "maratron:anthropicApiKey ...`). Required in every stack; stored in Secrets Manager.", secret=True,
        check=_required)
    weather_api_key: Secret = setting(
        "weatherApiKey", REQUIRED, "Weather API key for the AI server (`pulumi config set --secret`). \"\" disables "
        "the weather features outside prod; prod needs a value.", secret=True)
    sentry_dsn: Secret = setting(
        "sentryDsn", REQUIRED, "Sentry DSN for both services (`pulumi config set --secret`). \"\" disables error "
        "reporting outside prod; prod needs a value.", secret=True)

    def values(self) -> dict[str, pulumi.Output[str]]:
        """Environment variable name -> secret value, for the secrets that are set (AppSecretsArgs.values)."""
        named = {"ANTHROPIC_API_KEY": self.anthropic_api_key, "WEATHER_API_KEY": self.weather_api_key,
                 "SENTRY_DSN": self.sentry_dsn}
        return {env_name: secret.output() for env_name, secret in named.items() if secret.is_set}


@dataclass(frozen=True)
class AppSecretsArgs:
    """Inputs of AppSecrets."""

    kms_key: aws.kms.Key
    """CMK that encrypts every secret (EncryptionKeys.data)."""
    name_prefix: str
    """Secrets are named `<name_prefix>/app/<ENV_VAR>`, e.g. maratron-prod/app/ANTHROPIC_API_KEY: the variable they
    become, and never "-" plus six characters at the end (see base.check_secret_name)."""
    values: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variable name -> secret value (Pulumi config secrets). Only set ones: an empty value is an error."""
    removal_policy: RemovalPolicy = RETAIN
    """retain (default): a deleted secret stays recoverable for 30 days; destroy: it is deleted at once, so a
    disposable stack can be destroyed and recreated with the same names."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every secret."""


class AppSecrets(pulumi.ComponentResource):
    """One Secrets Manager secret per app secret, keyed by the environment variable it becomes."""

    refs: dict[str, SecretRef]
    """Environment variable name -> secret (NEXTAUTH_SECRET and every configured value)."""

    def __init__(self, name: str, args: AppSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:app:AppSecrets", name, None, opts)
        self._name = name
        self._args = args
        nextauth = random.RandomPassword(
            f"{name}-nextauth-secret",
            length=NEXTAUTH_SECRET_LENGTH,
            special=False,  # no quoting surprises in env files or shells; length carries the entropy
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.refs = {"NEXTAUTH_SECRET": self._secret("NEXTAUTH_SECRET", nextauth.result,
                                                     "NextAuth session/JWT signing secret (generated)")}
        for env_name, value in args.values.items():
            self.refs[env_name] = self._secret(env_name, value, f"{env_name} (from Pulumi config)")
        self.register_outputs({env_name: ref.arn for env_name, ref in self.refs.items()})

    def _secret(self, env_name: str, value: pulumi.Input[str], description: str) -> SecretRef:
        slug = env_name.lower().replace("_", "-")
        secret_name = f"{self._args.name_prefix}/app/{env_name}"
        return managed_secret(
            f"{self._name}-{slug}", name=secret_name, description=f"{self._args.name_prefix}: {description}",
            value=value, key=self._args.kms_key, parent=self, removal_policy=self._args.removal_policy,
            # Rotated by a person (docs/runbooks/secret-rotation.md): a third-party key is issued by its provider,
            # and a new NEXTAUTH_SECRET signs every user out.
            tags={**named_tags(self._args.tags, secret_name), CREDENTIAL_TAG: Credential.MANUAL.value})
