"""Secrets: Secrets Manager with a CMK, and no hard-coded secret in any resource input.

What "hard-coded" can mean to an analyzer: pulumi_policy unwraps secret markers before a rule sees the value, so
a rule cannot tell a config secret from a literal. The rule therefore looks at the value itself — credential
shapes that are never legitimate in an input outside a secret's own value (AWS access keys, Anthropic/OpenAI/GitHub/
Slack tokens, private keys, URLs with an embedded password), and password-named fields holding something a person
typed (short or well-known) rather than a generated secret.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._common import RDS_INSTANCE, Rule, document, known, resource_rule, settings_rule
from ._controls import DELETE, AtLeast, Guard, Rewrite, Setting, To

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
DOCKER_IMAGE = "docker:index/image:Image"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"

CREDENTIAL_SHAPES: list[tuple[str, re.Pattern[str]]] = [
    ("AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI-style API key", re.compile(r"\bsk-(proj-)?[A-Za-z0-9]{32,}")),
    ("GitHub token", re.compile(r"\b(ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{40,}")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("Stripe secret key", re.compile(r"\b(sk|rk)_live_[A-Za-z0-9]{20,}")),
    ("private key", re.compile(r"-----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----")),
    ("URL with an embedded password", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:(?!\$\{)[^/\s@]{3,}@")),
]
ANY_CREDENTIAL_SHAPE = re.compile("|".join(f"(?:{shape.pattern})" for _label, shape in CREDENTIAL_SHAPES))
"""Matches wherever one of CREDENTIAL_SHAPES does: one search per string value instead of eight (the rule reads every
string of every resource: it was about a quarter of the pack's Analyze CPU on prod); the shapes are tried one by one
only on a hit, for the label."""
PASSWORD_NAME = re.compile(r"(pass(word|wd)?|secret|token|api_?key|private_?key|credential)s?(Wo)?$", re.I)
"""A secret-looking input name, also as pulumi-aws v7's write-only variant (a trailing `Wo`: rds Instance passwordWo,
rds Cluster masterPasswordWo, elasticache ReplicationGroup authTokenWo, elasticache User passwordsWo): kept out of the
state, but a literal typed there is as hard-coded as in the plain input (pulumi-aws 7 `password_wo`: "This field is
write-only and its value will not be updated in state"; https://www.pulumi.com/registry/packages/aws/api-docs/rds/
instance/)."""
WEAK_VALUES = {"password", "changeme", "admin", "secret", "postgres", "redis", "letmein", "test", "example",
               "12345678", "password123", "default"}
# Where a secret's value legitimately lives (it came from config or a generator; the engine keeps it secret).
SECRET_SINKS = {(SECRET_VERSION, "secretString"), (SECRET_VERSION, "secretBinary"), (SECRET_VERSION, "secretStringWo")}
PLACEHOLDER = "OFFLINE-PLACEHOLDER"
CACHE_USER = "aws:elasticache/user:User"
NOT_A_SECRET_SUFFIXES = ("arn", "id", "name", "strategy", "version", "enabled", "length", "policy")


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
    else:
        yield path, value
        if isinstance(value, str) and value[:1] in "[{":
            parsed = document(value)  # JSON documents (containerDefinitions, policies) are searched inside too
            if isinstance(parsed, (dict, list)):
                yield from _walk(parsed, path + "<json>")


def entropy_bits_per_char(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_typed_by_a_person(value: str) -> bool:
    """Short, a well-known default, or low-entropy: not something a generator or secret store produced."""
    return len(value) < 16 or value.lower() in WEAK_VALUES or entropy_bits_per_char(value) < 3.0


@functools.lru_cache(maxsize=4096)
def password_named(path: str) -> bool:
    """Whether the input at `path` is named like a password (its last key; passwords[0] is a password too), once per
    path: the same paths recur on every resource of a type."""
    leaf = re.split(r"[.\[<]", re.sub(r"(\[\d+\])+$", "", path))[-1]
    return bool(PASSWORD_NAME.search(leaf)) and not leaf.lower().endswith(NOT_A_SECRET_SUFFIXES)


def hard_coded_findings(resource_type: str, props: Any) -> Iterator[str]:
    data = known(props)  # unknown parts are computed values, never hard-coded literals
    for top in list(data):
        if (resource_type, top) in SECRET_SINKS:
            del data[top]
    for path, value in _walk(data, ""):
        if not isinstance(value, str) or not value or value.startswith(PLACEHOLDER):
            continue
        if ANY_CREDENTIAL_SHAPE.search(value):
            for label, shape in CREDENTIAL_SHAPES:
                if shape.search(value):
                    yield f"{path} contains what looks like a {label}; keep it in Secrets Manager and pass a reference"
                    break
        if password_named(path) and looks_typed_by_a_person(value):
            yield (f"{path} is a password-like field holding a literal ({len(value)} chars); generate it "
                   "(pulumi-random) or read it from a secret")


def _no_hard_coded(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for finding in hard_coded_findings(args.resource_type, args.props):
        report(finding, None)


def _secret_cmk(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.props.get("kmsKeyId"):
        report("no kmsKeyId: the secret is encrypted with the AWS-managed key aws/secretsmanager", None)


SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
ARN_SUFFIX_LIKE = re.compile(r"-[A-Za-z0-9]{6}$")


def _secret_name(args: ResourceValidationArgs, report: ReportViolation) -> None:
    name = args.props.get("name")
    if name is None:
        return  # a generated name (namePrefix + random) never ends like this by our choice
    name = str(name)
    if not SECRET_NAME.match(name):
        report(f"secret name {name!r} may hold only 1-512 letters, digits and /_+=.@-", None)
    elif ARN_SUFFIX_LIKE.search(name):
        report(f"secret name {name!r} ends with a hyphen and six characters, like the random suffix Secrets Manager "
               "adds to the ARN: partial-ARN lookups become ambiguous", None)


RULES: list[Rule] = [
    resource_rule("secretsmanager-name-unambiguous", area="secrets", types=[SECRET], check=_secret_name,
                  summary="Secret names do not end with a hyphen and six characters (the ARN's random suffix)",
                  reference="AWS: https://docs.aws.amazon.com/secretsmanager/latest/apireference/"
                            "API_CreateSecret.html",
                  guards=[Guard("name", Rewrite(lambda name: f"{name}-a1b2c3", "a -xxxxxx suffix appended"))]),
    resource_rule("secretsmanager-cmk", area="secrets", types=[SECRET], check=_secret_cmk,
                  summary="Secrets Manager secrets are encrypted with a customer-managed KMS key",
                  reference="seed: secrets in Secrets Manager; Checkov CKV_AWS_149",
                  guards=[Guard("kmsKeyId", DELETE)]),
    resource_rule("no-hard-coded-secrets", area="secrets", types=None, check=_no_hard_coded,
                  summary="No resource input holds a hard-coded credential",
                  reference="seed: no secrets in code; cdk-nag ECS2 (generalised); Checkov CKV_AWS_46, CKV_AWS_45",
                  guards=[Guard("password", To("changeme"), types=(RDS_INSTANCE,), note="the master password"),
                          # Redis authenticates RBAC users since issue 11 (no stack sets an AUTH token any more).
                          Guard("authenticationMode.passwords", To(["redis-password"]), types=(CACHE_USER,),
                                note="a Redis user's passwords"),
                          Guard("registry.password", To("hunter2"), types=(DOCKER_IMAGE,),
                                note="the registry password of an image push")]),
]


# --- controls the stack sets beyond the rules above (issue 13: the pack guards every control) -------------------------

# AWS behaviour these rules rely on: DeleteSecret keeps a secret recoverable for RecoveryWindowInDays (7-30), or deletes
# it at once with 0 / ForceDeleteWithoutRecovery (https://docs.aws.amazon.com/secretsmanager/latest/apireference/
# API_DeleteSecret.html).

RULES += [
    settings_rule(
        "secretsmanager-recovery-window", area="secrets", types=[SECRET], prod_only=True,
        summary="A deleted production secret stays recoverable (recoveryWindowInDays, never 0 = immediate deletion)",
        reference="seed: secrets management; protect production data",
        schema={"minimumRecoveryDays": {"type": "integer", "minimum": 7, "maximum": 30, "default": 7,
                                        "description": "Minimum recoveryWindowInDays."}},
        settings=[Setting("recoveryWindowInDays", AtLeast(7, param="minimumRecoveryDays", weak=0), required=False)]),
    settings_rule(
        "generated-secrets-strong", area="secrets", types=[RANDOM_PASSWORD],
        summary="Generated passwords and tokens are long (minimumLength characters)",
        reference="seed: secrets management, no weak credentials",
        schema={"minimumLength": {"type": "integer", "minimum": 16, "default": 32,
                                  "description": "Minimum length of a generated password."}},
        settings=[Setting("length", AtLeast(32, param="minimumLength", weak=8))]),
]
