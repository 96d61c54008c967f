"""Verify the live account foundation described by a bootstrap stack's outputs (after `pulumi up` of bootstrap/).

    pulumi stack output --json -s organization/maratron-bootstrap/shared > foundation.json
    python -m ops.verify_foundation --stack-outputs foundation.json

One check per part: the state bucket (SSE-KMS with the state key, versioning, public access blocked, old versions
kept by a lifecycle rule, no expiry of current checkpoints), the keys (rotation on), the GitHub OIDC provider (the
sts.amazonaws.com audience), every CI role (exists, has a permissions boundary, its trust pins one repository and one
environment by StringEquals), the image repositories (immutable tags, scan on push, KMS, a lifecycle that keeps
deployed images first). Read-only (Get/Describe/List), the same runner and report as ops/verify.py. Exit status: 0
no failure, 1 a check failed, 2 the outputs are not a foundation's.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

import boto3
from botocore.exceptions import ClientError

from components.constants import DEPLOYED_TAG_PREFIX, GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST
from ops.verify import (
    KMS_ALGORITHMS,
    PUBLIC_ACCESS_BLOCK_FLAGS,
    Check,
    Clients,
    Context,
    Outputs,
    OutputsError,
    Result,
    Verdict,
    failed,
    judge,
    render,
    run_check,
    skipped,
)

SUBJECT = re.compile(r"^repo:[A-Za-z0-9-]+(@\d+)?/[A-Za-z0-9._-]+(@\d+)?:environment:[A-Za-z0-9_.-]+$")


def check_state_bucket(ctx: Context) -> Verdict:
    bucket, key = ctx.outputs.text("stateBucketName"), ctx.outputs.text("stateKeyArn")
    s3 = ctx.client("s3")
    problems: list[str] = []
    facts = [bucket]
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    defaults = [r.get("ApplyServerSideEncryptionByDefault", {}) for r in rules]
    if any(d.get("SSEAlgorithm") in KMS_ALGORITHMS and d.get("KMSMasterKeyID") == key for d in defaults):
        facts.append("SSE-KMS with the state key")
    else:
        problems.append(f"default encryption {defaults}, expected aws:kms with {key}")
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
    (facts if versioning == "Enabled" else problems).append(f"versioning {versioning}")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    off = [flag for flag in PUBLIC_ACCESS_BLOCK_FLAGS if not block.get(flag)]
    (problems.append(f"public access block off: {', '.join(off)}") if off else facts.append("public access blocked"))
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    if any(r.get("Expiration", {}).get("Days") for r in lifecycle if r.get("Status") == "Enabled"):
        problems.append("a lifecycle rule expires current objects: checkpoints would be deleted")
    if any(r.get("NoncurrentVersionExpiration") for r in lifecycle):
        facts.append("old versions kept by rule")
    else:
        problems.append("no noncurrent-version rule (old state versions are the recovery window)")
    return judge(problems, facts)


def check_keys(ctx: Context) -> Verdict:
    kms = ctx.client("kms")
    problems: list[str] = []
    facts: list[str] = []
    for output in ("stateKeyArn", "imagesKeyArn"):
        arn = ctx.outputs.text(output)
        enabled = kms.get_key_rotation_status(KeyId=arn).get("KeyRotationEnabled")
        (facts if enabled else problems).append(f"{output} rotation {'on' if enabled else 'off'}")
    return judge(problems, facts)


def _provider_arn(ctx: Context) -> str:
    role = ctx.outputs.text("appCiRoleArn")
    account = role.split(":")[4]
    return f"arn:{role.split(':')[1]}:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"


def check_oidc_provider(ctx: Context) -> Verdict:
    arn = _provider_arn(ctx)
    try:
        provider = ctx.client("iam").get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return failed(f"{arn} not found")
        raise
    clients = provider.get("ClientIDList", [])
    if clients != [GITHUB_OIDC_AUDIENCE]:
        return failed(f"{arn}: client ids {clients}, expected [{GITHUB_OIDC_AUDIENCE}]")
    return judge([], [arn, f"audience {GITHUB_OIDC_AUDIENCE}"])


def _role_arns(ctx: Context) -> list[str]:
    arns = [ctx.outputs.text("appCiRoleArn"), ctx.outputs.text("infraCiRoleArn")]
    for output in ("previewRoleArns", "deployRoleArns"):
        value = ctx.outputs.values.get(output) or {}
        arns += [str(v) for v in value.values()] if isinstance(value, dict) else []
    return arns


def trust_problems(document: dict[str, Any]) -> list[str]:
    """Why a trust policy does not pin one repository and one environment (empty: it does)."""
    problems = []
    for statement in document.get("Statement", []):
        conditions = statement.get("Condition", {})
        for operator, block in conditions.items():
            if operator != "StringEquals" and any(GITHUB_OIDC_HOST in k for k in block):
                problems.append(f"{operator} on a GitHub claim")
        exact = conditions.get("StringEquals", {})
        audiences = exact.get(f"{GITHUB_OIDC_HOST}:aud")
        if audiences not in (GITHUB_OIDC_AUDIENCE, [GITHUB_OIDC_AUDIENCE]):
            problems.append(f"aud {audiences!r}")
        subjects = exact.get(f"{GITHUB_OIDC_HOST}:sub")
        subjects = [subjects] if isinstance(subjects, str) else list(subjects or [])
        if not subjects or not all(SUBJECT.match(s) for s in subjects):
            problems.append(f"sub {subjects!r}")
    return problems


def check_ci_roles(ctx: Context, accounts: Iterable[str] | None = None) -> Verdict:
    iam = ctx.client("iam")
    problems: list[str] = []
    facts: list[str] = []
    for arn in _role_arns(ctx):
        account = arn.split(":")[4]
        if accounts is not None and account not in accounts:
            continue
        name = arn.rsplit("/", 1)[-1]
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "NoSuchEntity":
                problems.append(f"{name} not found")
                continue
            raise
        document = role["AssumeRolePolicyDocument"]
        if isinstance(document, str):
            document = json.loads(urllib.parse.unquote(document))
        issues = trust_problems(document)
        if not role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"):
            issues.append("no permissions boundary")
        (problems.append(f"{name}: {'; '.join(issues)}") if issues else facts.append(name))
    return judge(problems, [f"{len(facts)} roles pinned and bounded"])


def check_repositories(ctx: Context) -> Verdict:
    names = ctx.outputs.values.get("repositoryNames")
    if not isinstance(names, dict) or not names:
        raise OutputsError("stack output `repositoryNames` should be a map of image -> repository")
    ecr = ctx.client("ecr")
    registry = ctx.outputs.text("registryId")
    found = {r["repositoryName"]: r for r in ecr.describe_repositories(
        registryId=registry, repositoryNames=list(names.values()))["repositories"]}
    problems: list[str] = []
    for name in names.values():
        repo = found[name]
        issues = []
        if repo.get("imageTagMutability") != "IMMUTABLE":
            issues.append(f"tags {repo.get('imageTagMutability')}")
        if not repo.get("imageScanningConfiguration", {}).get("scanOnPush"):
            issues.append("no scan on push")
        if repo.get("encryptionConfiguration", {}).get("encryptionType") != "KMS":
            issues.append("not KMS-encrypted")
        try:
            rules = json.loads(ecr.get_lifecycle_policy(registryId=registry, repositoryName=name)
                               ["lifecyclePolicyText"]).get("rules", [])
        except ClientError as error:
            if error.response["Error"]["Code"] != "LifecyclePolicyNotFoundException":
                raise
            rules = []
        first: dict[str, Any] = min(rules, key=lambda r: r.get("rulePriority", 0), default={})
        patterns = first.get("selection", {}).get("tagPatternList", [])
        if not any(str(p).startswith(DEPLOYED_TAG_PREFIX) for p in patterns):
            issues.append(f"lifecycle does not keep {DEPLOYED_TAG_PREFIX}* images first")
        if issues:
            problems.append(f"{name}: {', '.join(issues)}")
    return judge(problems, [f"{len(names)} repositories immutable, scanned, KMS, deployed images kept"])


CHECKS: tuple[tuple[str, Check], ...] = (
    ("s3.state-bucket", check_state_bucket),
    ("kms.foundation-keys", check_keys),
    ("iam.github-oidc-provider", check_oidc_provider),
    ("iam.ci-roles", check_ci_roles),
    ("ecr.repositories", check_repositories),
)


def parse(text: str) -> Outputs:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise OutputsError(f"stack outputs are not JSON: {error}") from error
    if not isinstance(values, dict) or values.get("layout") not in ("single-account", "organization"):
        raise OutputsError("no `layout` output: these are not the outputs of the shared bootstrap stack")
    return Outputs(values)


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         clients: Clients | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.verify_foundation", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-outputs", metavar="FILE", help="bootstrap outputs JSON (default: stdin)")
    parser.add_argument("--profile")
    parser.add_argument("--endpoint-url", help="send every AWS call here (a local moto server in the tests)")
    args = parser.parse_args(argv)
    try:
        if args.stack_outputs:
            with open(args.stack_outputs, encoding="utf-8") as handle:
                outputs = parse(handle.read())
        else:
            outputs = parse((stdin or sys.stdin).read())
    except (OSError, OutputsError) as error:
        print(f"verify_foundation: {error}", file=sys.stderr)
        return 2
    if clients is None:
        session = boto3.session.Session(profile_name=args.profile, region_name=outputs.region_hint())
        clients = Clients(session, args.endpoint_url)
    ctx = Context(outputs, clients)
    # In the organization layout the environment roles live in other accounts: checked by their own stacks.
    here = outputs.text("registryId")
    plan = [(name, functools.partial(check_ci_roles, accounts=[here]) if name == "iam.ci-roles" else check)
            for name, check in CHECKS]
    results: list[Result] = [run_check(name, check, ctx) for name, check in plan]
    print(render(results, f"foundation ({outputs.values['layout']})"), file=stdout or sys.stdout)
    return 1 if any(r.status.value == "FAIL" for r in results) else 0


__all__ = ["CHECKS", "main", "skipped", "trust_problems"]

if __name__ == "__main__":
    sys.exit(main())
