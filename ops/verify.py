"""Post-deploy verification: check the live deployment described by a stack's outputs.

    pulumi stack output --json --show-secrets=false | python -m ops.verify
    python -m ops.verify --stack-outputs outputs.json --region eu-west-1 --http

Every check is a small function that reads the stack outputs (the contract keys: `albArn`, `clusterName`, ...),
asks AWS through boto3 and returns a verdict: PASS, FAIL or SKIP with a one-line detail. One check covers one
resource and lists every problem it found, so a drift shows as exactly one failing row naming the resource. A check
whose stack output is absent is skipped (the stack does not have that part); an AWS error is a failure (a
verifier that cannot see a resource has not verified it). Prod-only requirements (Multi-AZ, deletion protection,
Redis automatic failover) follow the `environment` output. Exit status: 0 no failure, 1 a check failed, 2 the
outputs could not be read.

Read-only: only Describe/Get/List calls, so it is safe to run against prod at any time (the IAM policy it needs is
in docs/runbooks/deploy.md). `--endpoint-url` points every client at one endpoint (moto in the tests).
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import functools
import json
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from components.constants import (
    CACHE_POLICY_CACHING_DISABLED,
    CLOUDFRONT_PREFIX_LIST,
    CLOUDFRONT_TLS_POLICIES,
    DEFAULT_TLS_POLICY,
    DEPLOYED_TAG_PREFIX,
    EDGE_REGION,
    HEALTH_CHECK_PATH,
    KMS_ENCRYPTION_ALGORITHMS,
    MANAGED_CLOUDFRONT_POLICIES,
    MAX_ROTATION_DAYS,
    ORIGIN_SSL_PROTOCOLS,
    ORIGIN_VERIFY_HEADER,
    PRIVATE_PATHS,
    RESTORE_DRILL_METRIC_NAME,
    SECURITY_GROUP_RULES_QUOTA,
    TLS_POLICIES,
)
from ops.tag_deployed_images import Image, images_of

# The TLS policies, encryption algorithms and health path the program sets and the policy pack enforces: one
# definition in components/constants.py (a test checks that config, pack and verifier agree).
ALLOWED_TLS_POLICIES = frozenset(TLS_POLICIES)
RECOMMENDED_TLS_POLICY = DEFAULT_TLS_POLICY
KMS_ALGORITHMS = KMS_ENCRYPTION_ALGORITHMS
PUBLIC_ACCESS_BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
HEALTH_PATH = HEALTH_CHECK_PATH
PERFORMANCE_PATH = "/api/performance"
"""The seed's post-deploy performance endpoint: database.healthy and cache.stats.hitRate."""


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class Verdict:
    status: Status
    detail: str


@dataclass(frozen=True)
class Result:
    """One row of the report."""

    name: str
    status: Status
    detail: str


def passed(detail: str) -> Verdict:
    return Verdict(Status.PASS, detail)


def failed(detail: str) -> Verdict:
    return Verdict(Status.FAIL, detail)


def skipped(detail: str) -> Verdict:
    return Verdict(Status.SKIP, detail)


def judge(problems: Sequence[str], facts: Sequence[str]) -> Verdict:
    """FAIL listing every problem, or PASS listing what was confirmed."""
    return failed("; ".join(problems)) if problems else passed(", ".join(facts))


class MissingOutputError(Exception):
    """A stack output a check needs is absent: the check is skipped, not failed."""


class OutputsError(ValueError):
    """The stack outputs document cannot be used at all."""


class Outputs:
    """The stack outputs (`pulumi stack output --json`), with typed access by contract key."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    @staticmethod
    def parse(text: str) -> Outputs:
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise OutputsError(f"stack outputs are not JSON: {error}") from error
        if not isinstance(values, dict):
            raise OutputsError("stack outputs must be a JSON object of output name -> value")
        if not isinstance(values.get("environment"), str):
            # Every check would be skipped and the run would "pass": refuse instead.
            raise OutputsError("no `environment` output: these are not the outputs of a Maratron stack "
                               "(wrong stack selected, or the stack has not been deployed yet)")
        return Outputs(values)

    def text(self, key: str) -> str:
        value = self.values.get(key)
        if value is None or value == "":
            raise MissingOutputError(f"stack output `{key}` is not exported")
        if not isinstance(value, str | int):
            raise OutputsError(f"stack output `{key}` should be a string, got {type(value).__name__}")
        return str(value)

    def names(self, key: str) -> list[str]:
        value = self.values.get(key)
        if value is None:
            raise MissingOutputError(f"stack output `{key}` is not exported")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise OutputsError(f"stack output `{key}` should be a list of strings")
        return list(value)

    @property
    def environment(self) -> str:
        value = self.values.get("environment")
        return value if isinstance(value, str) else "unknown"

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def cdn(self) -> bool:
        """The stack runs CloudFront in front of the ALB (a non-empty cdnDistributionId output)."""
        return bool(self.values.get("cdnDistributionId"))

    def require_cdn(self) -> None:
        """Skip the calling check unless the stack runs CloudFront."""
        if not self.cdn:
            raise MissingOutputError("the stack runs no CDN (cdnDistributionId is empty or absent)")

    def region_hint(self) -> str | None:
        """The stack's region: the `region` output, else the ALB ARN's (arn:aws:elasticloadbalancing:<region>:...)."""
        region = self.values.get("region")
        if isinstance(region, str) and region:
            return region
        arn = self.values.get("albArn")
        if isinstance(arn, str) and arn.startswith("arn:") and len(arn.split(":")) > 3:
            return arn.split(":")[3] or None
        return None


class Clients:
    """boto3 clients, one per service, all on one session and (optionally) one endpoint."""

    def __init__(self, session: boto3.session.Session, endpoint_url: str | None = None) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        # One attempt per call: a verifier reports what it sees now; retrying masks throttling and, against moto,
        # turns an unimplemented call (HTTP 500) into a slow hang.
        self.config = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=20)
        self._clients: dict[tuple[str, str | None], Any] = {}

    def __call__(self, service: str, region: str | None = None) -> Any:
        """The client of `service` in the session's region, or in `region` (the DR region's checks; CloudFront's
        metrics, logs and web ACL, which are only in us-east-1)."""
        if (service, region) not in self._clients:
            self._clients[(service, region)] = self.session.client(
                service, region_name=region, endpoint_url=self.endpoint_url, config=self.config)
        return self._clients[(service, region)]


class Context:
    """What a check gets: the outputs, the clients and a few cached lookups several checks share."""

    def __init__(self, outputs: Outputs, clients: Clients, http: bool = False, http_timeout: float = 5.0) -> None:
        self.outputs = outputs
        self.client = clients
        self.http = http
        self.http_timeout = http_timeout

    @functools.cache  # noqa: B019 - one Context per run; the cache dies with it
    def listeners(self) -> list[dict[str, Any]]:
        pages = self.client("elbv2").get_paginator("describe_listeners").paginate(
            LoadBalancerArn=self.outputs.text("albArn"))
        return [listener for page in pages for listener in page["Listeners"]]

    @functools.cache  # noqa: B019
    def distribution(self) -> dict[str, Any]:
        self.outputs.require_cdn()
        response = self.client("cloudfront").get_distribution(Id=self.outputs.text("cdnDistributionId"))
        distribution: dict[str, Any] = response["Distribution"]
        return distribution

    def distribution_config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.distribution()["DistributionConfig"]
        return config

    @functools.cache  # noqa: B019
    def db_instance(self, identifier: str) -> dict[str, Any] | None:
        try:
            found = self.client("rds").describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "DBInstanceNotFound":
                return None
            raise
        return found[0] if found else None

    @functools.cache  # noqa: B019
    def amp_workspace(self) -> dict[str, Any]:
        """DescribeWorkspace of the ampWorkspaceId output, read once per run: amp.workspace judges it, and both
        Prometheus queries (amp.scrape-targets, amp.app-metrics) are sent to the endpoint it reports. A failed call
        is not cached: each check that needs it asks again and reports its own error."""
        workspace: dict[str, Any] = self.client("amp").describe_workspace(
            workspaceId=self.outputs.text("ampWorkspaceId"))["workspace"]
        return workspace


# --- checks -----------------------------------------------------------------------------------------------------


def check_alb_state(ctx: Context) -> Verdict:
    arn = ctx.outputs.text("albArn")
    found = ctx.client("elbv2").describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    if not found:
        return failed(f"load balancer {arn} not found")
    alb = found[0]
    problems: list[str] = []
    state = alb.get("State", {}).get("Code", "unknown")
    if state != "active":
        problems.append(f"state is {state} ({alb.get('State', {}).get('Reason', 'no reason given')})")
    if alb.get("Type") != "application":
        problems.append(f"type is {alb.get('Type')}, expected application")
    expected_dns = ctx.outputs.values.get("albDnsName")
    if expected_dns and alb.get("DNSName") != expected_dns:
        problems.append(f"DNS name {alb.get('DNSName')} differs from the albDnsName output {expected_dns}")
    return judge(problems, [f"{alb.get('LoadBalancerName')} active", f"{alb.get('Scheme')}"])


def _redirects_to_https(action: Mapping[str, Any]) -> bool:
    # Port must be 443 explicitly: the API default "#{port}" keeps :80 and sends browsers to https://host:80.
    redirect = action.get("RedirectConfig", {})
    return (action.get("Type") == "redirect" and redirect.get("Protocol") == "HTTPS"
            and redirect.get("StatusCode") == "HTTP_301" and redirect.get("Port") == "443")


def check_http_redirect(ctx: Context) -> Verdict:
    http = [listener for listener in ctx.listeners() if listener.get("Port") == 80]
    if not http and ctx.outputs.cdn:
        return passed("no :80 listener: behind CloudFront, viewers are redirected at the edge")
    if not http:
        return failed("no listener on port 80: http:// links get a connection error instead of a redirect")
    listener = http[0]
    problems: list[str] = []
    if listener.get("Protocol") != "HTTP":
        problems.append(f"port 80 speaks {listener.get('Protocol')}, expected HTTP")
    defaults = listener.get("DefaultActions", [])
    if len(defaults) != 1 or not _redirects_to_https(defaults[0]):
        summary = ", ".join(_describe_action(a) for a in defaults) or "no action"
        problems.append(f"default action is {summary}, expected a 301 redirect to HTTPS:443")
    rules = ctx.client("elbv2").describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    for rule in rules:
        if rule.get("IsDefault"):
            continue
        leaks = [a for a in rule.get("Actions", []) if a.get("Type") in ("forward", "authenticate-oidc",
                                                                           "authenticate-cognito")]
        if leaks:
            problems.append(f"rule priority {rule.get('Priority')} serves plain HTTP ({_describe_action(leaks[0])})")
    return judge(problems, ["port 80 answers 301 -> HTTPS:443 only"])


def _describe_action(action: Mapping[str, Any]) -> str:
    kind = str(action.get("Type", "?"))
    if kind == "redirect":
        redirect = action.get("RedirectConfig", {})
        return f"redirect {redirect.get('StatusCode')} to {redirect.get('Protocol')}:{redirect.get('Port')}"
    if kind == "forward":
        return "forward to a target group"
    return kind


def check_tls_policy(ctx: Context) -> Verdict:
    wanted = ctx.outputs.text("httpsListenerArn")
    https = [listener for listener in ctx.listeners() if listener.get("Protocol") == "HTTPS"]
    problems: list[str] = []
    if wanted not in {listener["ListenerArn"] for listener in https}:
        problems.append("the httpsListenerArn output is not an HTTPS listener of the ALB")
    policies = []
    for listener in https:
        policy = listener.get("SslPolicy", "none")
        policies.append(f":{listener.get('Port')} {policy}")
        if policy not in ALLOWED_TLS_POLICIES:
            problems.append(f"listener :{listener.get('Port')} uses {policy}, which is not an allowed TLS 1.2+/1.3 "
                            f"policy (use {RECOMMENDED_TLS_POLICY})")
    return judge(problems, policies)


def evaluate_target_health(descriptions: Sequence[Mapping[str, Any]]) -> Verdict:
    """PASS when at least one target is healthy and none is unhealthy; SKIP when AWS reports no health data.

    Transitional states (initial, draining) do not fail a check on their own: a rolling deployment has them.
    `unavailable` means health checks are disabled or not reported for the target group: that is no data, not a pass.
    """
    if not descriptions:
        return skipped("no target health data returned (no registered targets reported)")
    states: dict[str, list[str]] = {}
    for description in descriptions:
        target = description.get("Target", {})
        health = description.get("TargetHealth", {})
        label = f"{target.get('Id')}:{target.get('Port')}"
        if health.get("Reason"):
            label += f" ({health['Reason']})"
        states.setdefault(str(health.get("State", "unknown")), []).append(label)
    counts = ", ".join(f"{len(targets)} {state}" for state, targets in sorted(states.items()))
    if set(states) == {"unavailable"}:
        return skipped(f"target health unavailable for all {len(descriptions)} targets (health checks off?)")
    bad = {state: targets for state, targets in states.items() if state in ("unhealthy", "unused", "unknown")}
    if bad:
        listed = "; ".join(f"{state}: {', '.join(targets)}" for state, targets in sorted(bad.items()))
        return failed(f"{counts} - {listed}")
    if "healthy" not in states:
        return failed(f"no healthy target ({counts})")
    return passed(counts)


def check_target_health(ctx: Context) -> Verdict:
    arn = ctx.outputs.text("targetGroupArn")
    response = ctx.client("elbv2").describe_target_health(TargetGroupArn=arn)
    return evaluate_target_health(response.get("TargetHealthDescriptions", []))


def check_waf_association(ctx: Context) -> Verdict:
    expected = ctx.outputs.text("webAclArn")
    if ctx.outputs.cdn:  # the ACL is CloudFront's (CLOUDFRONT scope), named in the distribution's configuration
        config = ctx.distribution_config()
        if config.get("WebACLId") != expected:
            return failed(f"the distribution is protected by {config.get('WebACLId') or 'no web ACL'}, not the "
                          "webAclArn output")
        if ":global/webacl/" not in expected:
            return failed(f"{expected} is not a CLOUDFRONT-scope web ACL")
        return passed("CLOUDFRONT web ACL named by the distribution")
    alb = ctx.outputs.text("albArn")
    try:
        acl = ctx.client("wafv2").get_web_acl_for_resource(ResourceArn=alb).get("WebACL")
    except ClientError as error:
        if error.response["Error"]["Code"] != "WAFNonexistentItemException":
            raise
        acl = None
    if not acl:
        return failed("no web ACL is associated with the ALB: requests reach the app unfiltered")
    if acl.get("ARN") != expected:
        return failed(f"the ALB is protected by {acl.get('Name')} ({acl.get('ARN')}), not the webAclArn output")
    return passed(f"{acl.get('Name')} associated")


def pending_reboot(db: Mapping[str, Any]) -> list[str]:
    """What waits for this instance's reboot: parameter groups whose static values are not applied yet. RDS applies
    pending-reboot parameters only "after a reboot without failover" (API_ModifyDBParameterGroup), never by itself."""
    identifier = db.get("DBInstanceIdentifier", "?")
    return [f"parameter group {group.get('DBParameterGroupName')} pending-reboot: its static parameters are not in "
            f"effect until `aws rds reboot-db-instance --db-instance-identifier {identifier}`"
            for group in db.get("DBParameterGroups") or []
            if group.get("ParameterApplyStatus") == "pending-reboot"]


def check_rds_primary(ctx: Context) -> Verdict:
    identifier = ctx.outputs.text("databaseIdentifier")
    db = ctx.db_instance(identifier)
    if db is None:
        return failed(f"DB instance {identifier} not found")
    problems: list[str] = []
    facts = [identifier]
    status = db.get("DBInstanceStatus")
    (facts if status == "available" else problems).append(f"status {status}")
    (facts if db.get("StorageEncrypted") else problems).append(
        "storage encrypted" if db.get("StorageEncrypted") else "storage NOT encrypted")
    if db.get("PubliclyAccessible"):
        problems.append("publicly accessible")
    else:
        facts.append("private")
    for flag, label in (("MultiAZ", "Multi-AZ"), ("DeletionProtection", "deletion protection")):
        if db.get(flag):
            facts.append(label)
        elif ctx.outputs.is_prod:
            problems.append(f"{label} off (required in prod)")
        else:
            facts.append(f"no {label} ({ctx.outputs.environment})")
    problems.extend(pending_reboot(db))
    return judge(problems, facts)


def _source_identifier(source: str | None) -> str | None:
    """A replica's source is an identifier, or an ARN when cross-region: compare the identifier part."""
    return source.split(":")[-1] if source else None


def check_rds_replicas(ctx: Context) -> Verdict:
    primary = ctx.outputs.text("databaseIdentifier")
    expected = ctx.outputs.names("databaseReplicaIdentifiers")
    if not expected:
        return skipped("this stack declares no read replicas")
    problems: list[str] = []
    for identifier in expected:
        replica = ctx.db_instance(identifier)
        if replica is None:
            problems.append(f"{identifier} missing")
            continue
        if replica.get("DBInstanceStatus") != "available":
            problems.append(f"{identifier} is {replica.get('DBInstanceStatus')}")
        source = _source_identifier(replica.get("ReadReplicaSourceDBInstanceIdentifier"))
        if source != primary:
            problems.append(f"{identifier} replicates from {source or 'nothing (promoted?)'}, not {primary}")
        if not replica.get("StorageEncrypted"):
            problems.append(f"{identifier} storage not encrypted")
        problems.extend(pending_reboot(replica))
    return judge(problems, [f"{len(expected)} replicas of {primary} available: {', '.join(expected)}"])


CACHE_ALARM_PREFIX = "cache-"
"""How the alarm catalog's per-node Redis kinds begin (`cache-{label}-engine-cpu`, ...): alarm names with
`-cache-` in them are the ones that may watch a node (a test holds the catalog to it)."""


def check_redis(ctx: Context) -> Verdict:
    group_id = ctx.outputs.text("redisReplicationGroupId")
    try:
        groups = ctx.client("elasticache").describe_replication_groups(ReplicationGroupId=group_id)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ReplicationGroupNotFoundFault":
            return failed(f"replication group {group_id} not found")
        raise
    group = groups["ReplicationGroups"][0]
    problems: list[str] = []
    facts = [group_id]
    status = group.get("Status")
    (facts if status == "available" else problems).append(f"status {status}")
    for flag, label in (("TransitEncryptionEnabled", "TLS in transit"),
                        ("AtRestEncryptionEnabled", "encrypted at rest")):
        (facts if group.get(flag) else problems).append(label if group.get(flag) else f"{label} off")
    if group.get("UserGroupIds"):
        facts.append(f"RBAC users ({', '.join(group['UserGroupIds'])})")
    elif group.get("AuthTokenEnabled"):
        facts.append("AUTH token")
    else:
        problems.append("no authentication (neither RBAC user groups nor an AUTH token)")
    for flag, label in (("AutomaticFailover", "automatic failover"), ("MultiAZ", "Multi-AZ")):
        if group.get(flag) == "enabled":
            facts.append(label)
        elif ctx.outputs.is_prod:
            problems.append(f"{label} {group.get(flag, 'disabled')} (required in prod)")
        else:
            facts.append(f"no {label} ({ctx.outputs.environment})")
    members = group.get("MemberClusters", [])
    facts.append(f"{len(members)} nodes")
    watched = _watched_cache_nodes(ctx)
    if watched is not None:
        # The provider lowers `redisReplicas` with DecreaseReplicaCount and no ReplicasToRemove (terraform-provider-aws
        # replication_group.go), so ElastiCache picks the node; the alarms assume the highest-numbered one went
        # (components/cache.py member_ids): after a failover it cannot have, and a node is left unwatched.
        unwatched, gone = sorted(set(members) - watched), sorted(watched - set(members))
        if unwatched:
            problems.append(f"nodes without alarms: {', '.join(unwatched)} (a lowered redisReplicas removed another "
                            "node than the last: docs/cache.md, Lowering redisReplicas)")
        if gone:
            problems.append(f"alarms on nodes that are gone: {', '.join(gone)}")
    return judge(problems, facts)


def _watched_cache_nodes(ctx: Context) -> set[str] | None:
    """The CacheClusterId of every node the stack's cache alarms watch (None: the stack exports none)."""
    names = [name for name in ctx.outputs.names("alarmNames") if f"-{CACHE_ALARM_PREFIX}" in name]
    if not names:
        return None
    return {d["Value"] for alarm in described_alarms(ctx.client("cloudwatch"), names)
            for d in alarm.get("Dimensions", []) if d["Name"] == "CacheClusterId"}


def check_rds_proxy(ctx: Context) -> Verdict:
    """RDS Proxy: available, TLS required, no SQL text in its logs, SCRAM logins from Secrets Manager."""
    name = ctx.outputs.text("databaseProxyName")
    try:
        proxies = ctx.client("rds").describe_db_proxies(DBProxyName=name)["DBProxies"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "DBProxyNotFoundFault":
            return failed(f"proxy {name} not found")
        raise
    proxy = proxies[0]
    problems: list[str] = []
    facts = [name]
    (facts if proxy.get("Status") == "available" else problems).append(f"status {proxy.get('Status')}")
    (facts if proxy.get("RequireTLS") else problems).append(
        "TLS required" if proxy.get("RequireTLS") else "TLS NOT required")
    if proxy.get("DebugLogging"):
        problems.append("debug logging on (SQL text in the logs)")
    weak = [a.get("SecretArn", "?") for a in proxy.get("Auth", [])
            if a.get("ClientPasswordAuthType") != "POSTGRES_SCRAM_SHA_256" and a.get("IAMAuth") != "REQUIRED"]
    if weak:
        problems.append(f"logins without SCRAM: {', '.join(weak)}")
    facts.append(f"{len(proxy.get('Auth', []))} SCRAM logins")
    return judge(problems, facts)


def check_rds_proxy_targets(ctx: Context) -> Verdict:
    """The proxy's target is the primary and healthy (TargetHealth states: REGISTERING, AVAILABLE, UNAVAILABLE;
    reasons UNREACHABLE, CONNECTION_FAILED, AUTH_FAILURE, PENDING_PROXY_CAPACITY - RDS API TargetHealth)."""
    name = ctx.outputs.text("databaseProxyName")
    primary = ctx.outputs.text("databaseIdentifier")
    targets = ctx.client("rds").describe_db_proxy_targets(DBProxyName=name, TargetGroupName="default")["Targets"]
    instances = [t for t in targets if t.get("Type") == "RDS_INSTANCE"]
    problems: list[str] = []
    if [t.get("RdsResourceId") for t in instances] != [primary]:
        problems.append(f"targets {[t.get('RdsResourceId') for t in instances]}, expected only the primary {primary}")
    for target in instances:
        health = target.get("TargetHealth", {})
        if health.get("State") != "AVAILABLE":
            reason = " ".join(str(health.get(k)) for k in ("Reason", "Description") if health.get(k))
            state = f"{target.get('RdsResourceId')} is {health.get('State')}"
            problems.append(f"{state}: {reason}" if reason else state)
    return judge(problems, [f"{primary} AVAILABLE behind {name}"])


RATE_DAYS = re.compile(r"^rate\((\d+) days?\)$")


def rotation_period_days(described: Mapping[str, Any]) -> int | None:
    rules = described.get("RotationRules") or {}
    expression = rules.get("ScheduleExpression")
    if expression:
        match = RATE_DAYS.match(str(expression).strip())
        return int(match[1]) if match else None
    days = rules.get("AutomaticallyAfterDays")
    return int(days) if days else None


def evaluate_rotation(described: Mapping[str, Any], *, now: datetime, max_days: int | None) -> list[str]:
    """Problems with one secret's rotation (DescribeSecret): enabled, a function, a period within max_days, last
    rotated within its period (plus its window and a day's grace), no rotation stuck half-way."""
    name = str(described.get("Name") or described.get("ARN"))
    if not described.get("RotationEnabled"):
        return [f"{name}: rotation disabled"]
    problems = []
    if not described.get("RotationLambdaARN"):
        problems.append(f"{name}: no rotation function")
    period = rotation_period_days(described)
    if period is None:
        problems.append(f"{name}: rotation period unreadable ({described.get('RotationRules')})")
        return problems
    if max_days is not None and period > max_days:
        problems.append(f"{name}: rotates every {period} days, more than {max_days}")
    last = described.get("LastRotatedDate") or described.get("CreatedDate")
    if isinstance(last, datetime) and now - last > timedelta(days=period + 1):
        problems.append(f"{name}: last rotated {last:%Y-%m-%d}, more than {period} days ago")
    stuck = [v for v, stages in (described.get("VersionIdsToStages") or {}).items()
             if "AWSPENDING" in stages and "AWSCURRENT" not in stages]
    if stuck:
        problems.append(f"{name}: a rotation is stuck (AWSPENDING on {', '.join(stuck)}; see the runbook)")
    return problems


def check_rotation(ctx: Context, now: datetime | None = None) -> Verdict:
    arns = ctx.outputs.names("rotatedSecretArns")
    if not arns:
        return skipped("this stack rotates no secrets")
    sm = ctx.client("secretsmanager")
    now = now or datetime.now(UTC)
    max_days = MAX_ROTATION_DAYS if ctx.outputs.is_prod else None
    problems = [p for arn in arns for p in evaluate_rotation(sm.describe_secret(SecretId=arn), now=now,
                                                               max_days=max_days)]
    return judge(problems, [f"{len(arns)} secrets rotate on schedule" + (
        f" (every <= {max_days} days)" if max_days else "")])


def check_redis_user(ctx: Context) -> Verdict:
    user_id = ctx.outputs.text("redisAppUserId")
    try:
        users = ctx.client("elasticache").describe_users(UserId=user_id)["Users"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "UserNotFound":
            return failed(f"user {user_id} not found")
        raise
    user = users[0]
    problems: list[str] = []
    if user.get("Status") != "active":
        problems.append(f"status {user.get('Status')}")
    auth = user.get("Authentication", {})
    if auth.get("Type") != "password" or not 1 <= int(auth.get("PasswordCount", 0)) <= 2:
        problems.append(f"authentication {auth.get('Type')} with {auth.get('PasswordCount')} passwords")
    return judge(problems, [f"{user_id} ({user.get('UserName')}) active", f"{auth.get('PasswordCount')} password(s)"])


def check_ecs_service(ctx: Context, output_key: str) -> Verdict:
    """The service runs its desired count on the task definition *this update deployed*, rollout completed.

    The release gate after `pulumi up`. Not `aws ecs wait services-stable`: its criterion (one deployment, running ==
    desired; https://docs.aws.amazon.com/cli/latest/reference/ecs/wait/services-stable.html) also holds after the
    deployment circuit breaker rolled a failed release back, and so does the provider's steady-state wait
    (pulumi/pulumi-aws#4487). The stack output `<service>TaskDefinitionArn` is what the update registered; a service
    on any other revision did not take the release."""
    cluster = ctx.outputs.text("clusterName")
    name = ctx.outputs.text(output_key)
    expected_key = output_key.replace("ServiceName", "TaskDefinitionArn")
    expected = ctx.outputs.values.get(expected_key)
    response = ctx.client("ecs").describe_services(cluster=cluster, services=[name])
    services = response.get("services", [])
    if not services:
        reasons = ", ".join(f.get("reason", "?") for f in response.get("failures", []))
        return failed(f"service {name} not found in cluster {cluster} ({reasons or 'no reason'})")
    service = services[0]
    problems: list[str] = []
    if service.get("status") != "ACTIVE":
        problems.append(f"service status {service.get('status')}")
    desired, running = service.get("desiredCount", 0), service.get("runningCount", 0)
    if desired == 0:
        problems.append("desired count 0: the service runs no task")
    elif running != desired:
        problems.append(f"running {running} of desired {desired} (pending {service.get('pendingCount', 0)})")
    current = service.get("taskDefinition")
    deployments = service.get("deployments", [])
    primary = [d for d in deployments if d.get("status") == "PRIMARY"]
    others = [d for d in deployments if d.get("status") != "PRIMARY"]
    if len(primary) != 1:
        problems.append(f"{len(primary)} PRIMARY deployments")
    for deployment in primary:
        if deployment.get("taskDefinition") != current:
            problems.append(f"PRIMARY deployment runs {_revision(deployment.get('taskDefinition'))}, "
                            f"service is on {_revision(current)}")
        rollout = deployment.get("rolloutState")
        if rollout is not None and rollout != "COMPLETED":
            problems.append(f"rollout {rollout}: {deployment.get('rolloutStateReason', '')}".rstrip(": "))
    if others:
        revisions = ", ".join(f"{d.get('status')} {_revision(d.get('taskDefinition'))}" for d in others)
        problems.append(f"older deployments still live ({revisions})")
    if isinstance(expected, str) and expected and current != expected:
        problems.append(f"runs {_revision(current)}, but this update deployed {_revision(expected)}: the release did "
                        "not take (rolled back by the circuit breaker, or still rolling out)")
    return judge(problems, [f"{name} {running}/{desired} running on {_revision(current)}", "rollout completed"])


def _revision(task_definition: str | None) -> str:
    """arn:aws:ecs:...:task-definition/maratron-web:42 -> maratron-web:42"""
    return (task_definition or "none").rsplit("/", 1)[-1]


def check_bucket(ctx: Context, output_key: str) -> Verdict:
    bucket = ctx.outputs.text(output_key)
    s3 = ctx.client("s3")
    problems: list[str] = []
    facts = [bucket]
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchBucket":
            return failed(f"bucket {bucket} not found")
        if error.response["Error"]["Code"] != "ServerSideEncryptionConfigurationNotFoundError":
            raise
        rules = []
    algorithms = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules]
    if any(a in KMS_ALGORITHMS for a in algorithms):
        facts.append("SSE-KMS")
    else:
        problems.append(f"default encryption is {', '.join(map(str, algorithms)) or 'unset'}, expected aws:kms")
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
    (facts if versioning == "Enabled" else problems).append(f"versioning {versioning}")
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchPublicAccessBlockConfiguration":
            raise
        block = {}
    off = [flag for flag in PUBLIC_ACCESS_BLOCK_FLAGS if not block.get(flag)]
    if off:
        problems.append(f"public access block off: {', '.join(off)}")
    else:
        facts.append("public access blocked")
    return judge(problems, facts)


# --- disaster recovery -------------------------------------------------------------------------------------------

RDS_REPLICATION_LAG_LIMIT = dt.timedelta(hours=1)
"""The replicated backups' latest restorable time may trail now by this much before the check fails (RDS copies
snapshots and transaction logs "as soon as they are ready"; the runbook's RPO target is 15 minutes)."""
DRILL_WINDOW = dt.timedelta(hours=27)
"""A passed restore drill must be this recent: the daily drill plus the missing-drill alarm's grace."""


def _replication_rule_problems(rules: Sequence[Mapping[str, Any]], destination_arn: str, key_arn: str) -> list[str]:
    found = [r for r in rules if r.get("Destination", {}).get("Bucket") == destination_arn]
    if not found:
        return [f"no replication rule to {destination_arn.rsplit(':', 1)[-1]}"]
    rule, problems = found[0], []
    if rule.get("Status") != "Enabled":
        problems.append(f"rule {rule.get('ID')} is {rule.get('Status')}")
    if rule.get("DeleteMarkerReplication", {}).get("Status") != "Disabled":
        problems.append("delete markers are replicated (a delete would hide the DR copy)")
    if rule.get("SourceSelectionCriteria", {}).get("SseKmsEncryptedObjects", {}).get("Status") != "Enabled":
        problems.append("SSE-KMS objects are not selected (no backup would replicate)")
    replica_key = rule.get("Destination", {}).get("EncryptionConfiguration", {}).get("ReplicaKmsKeyID")
    if replica_key != key_arn:
        problems.append(f"replicas are encrypted with {replica_key or 'nothing'}, not the DR key drKmsKeyArn")
    if rule.get("Destination", {}).get("Metrics", {}).get("Status") != "Enabled":
        problems.append("replication metrics are off (the failure alarm has nothing to read)")
    return problems


def check_dr_replication(ctx: Context) -> Verdict:
    region, key = ctx.outputs.text("drRegion"), ctx.outputs.text("drKmsKeyArn")
    problems: list[str] = []
    facts: list[str] = []
    for source_key, replica_key in (("backupsBucketName", "drBackupsBucketName"),
                                    ("walBucketName", "drArchiveBucketName")):
        source, replica = ctx.outputs.text(source_key), ctx.outputs.text(replica_key)
        try:
            configuration = ctx.client("s3").get_bucket_replication(Bucket=source)["ReplicationConfiguration"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ReplicationConfigurationNotFoundError":
                raise
            problems.append(f"{source} has no replication configuration")
            continue
        found = _replication_rule_problems(configuration.get("Rules", []), f"arn:aws:s3:::{replica}", key)
        problems += [f"{source}: {p}" for p in found]
        if not found:
            facts.append(f"{source} -> {replica} ({region})")
    return judge(problems, facts)


BACKUP_PREFIX = "postgresql"
"""Dumps land at postgresql/<env>/YYYY/MM/DD/ (ops/backup/backup.sh)."""
REPLICATION_PENDING_LIMIT = dt.timedelta(hours=1)
"""How long a new dump may stay PENDING. S3 replicates most objects within 15 minutes, all within 15 minutes only
with Replication Time Control (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-time-control.html);
an hour leaves room for a large dump."""


def check_dr_latest_dump_replicated(ctx: Context) -> Verdict:
    """The newest dump's own replication status (x-amz-replication-status on the source object: PENDING, COMPLETED
    or FAILED, https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-status.html): the rules can be
    right and the copy still missing (a key policy, a locked replica, a full bucket)."""
    region, bucket = ctx.outputs.text("drRegion"), ctx.outputs.text("backupsBucketName")
    s3, now = ctx.client("s3"), _now()
    objects = [o for day in (now, now - dt.timedelta(days=1)) for o in s3.list_objects_v2(
        Bucket=bucket, Prefix=f"{BACKUP_PREFIX}/{ctx.outputs.environment}/{day:%Y/%m/%d}/").get("Contents", [])]
    if not objects:
        return failed(f"no dump in {bucket} under {BACKUP_PREFIX}/{ctx.outputs.environment}/ today or yesterday "
                      "(nothing recent to replicate: is the backup job running?)")
    latest = max(objects, key=lambda o: o["LastModified"])
    status = s3.head_object(Bucket=bucket, Key=latest["Key"]).get("ReplicationStatus")
    age = now - latest["LastModified"]
    fact = f"{latest['Key']} ({age.total_seconds() / 60:.0f} min old) {status or 'no replication status'}"
    if status == "COMPLETED" or (status == "PENDING" and age <= REPLICATION_PENDING_LIMIT):
        return passed(f"{fact} -> {region}")
    if status == "PENDING":
        return failed(f"{fact}: still PENDING after {REPLICATION_PENDING_LIMIT.total_seconds() / 3600:g} h")
    return failed(f"{fact}: the latest dump has no copy in {region}" + (
        "" if status else " (no replication rule selected it)"))


def check_dr_replicas(ctx: Context) -> Verdict:
    region, key = ctx.outputs.text("drRegion"), ctx.outputs.text("drKmsKeyArn")
    s3 = ctx.client("s3", region)
    problems: list[str] = []
    facts: list[str] = []
    for output_key, locked in (("drBackupsBucketName", True), ("drArchiveBucketName", False)):
        bucket = ctx.outputs.text(output_key)
        try:
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "NoSuchBucket":
                problems.append(f"{bucket} not found in {region}")
                continue
            raise
        keys = [r.get("ApplyServerSideEncryptionByDefault", {}).get("KMSMasterKeyID") for r in rules]
        if key not in keys:
            problems.append(f"{bucket} default encryption is not the DR key")
        if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
            problems.append(f"{bucket} versioning off (S3 cannot replicate into it)")
        if locked:
            try:
                lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
            except ClientError as error:
                if error.response["Error"]["Code"] != "ObjectLockConfigurationNotFoundError":
                    raise
                lock = {}
            retention = lock.get("Rule", {}).get("DefaultRetention", {})
            if lock.get("ObjectLockEnabled") != "Enabled" or not retention:
                problems.append(f"{bucket} has no Object Lock default retention (the DR copy could be deleted)")
            else:
                span = f"{retention['Days']} d" if retention.get("Days") else f"{retention.get('Years')} y"
                facts.append(f"{bucket} locked {retention.get('Mode')} {span}")
                continue
        facts.append(f"{bucket} SSE-KMS, versioned")
    return judge(problems, facts)


def check_dr_database_backups(ctx: Context) -> Verdict:
    region, arn = ctx.outputs.text("drRegion"), ctx.outputs.text("drDatabaseBackupsArn")
    backups = ctx.client("rds", region).describe_db_instance_automated_backups(
        DBInstanceAutomatedBackupsArn=arn).get("DBInstanceAutomatedBackups", [])
    if not backups:
        return failed(f"no replicated automated backups {arn} in {region}")
    backup = backups[0]
    problems: list[str] = []
    status = backup.get("Status")
    facts = [f"{backup.get('DBInstanceIdentifier')} backups in {region}", f"status {status}"]
    if status != "replicating":
        problems.append(f"status {status}, expected replicating")
    latest = backup.get("RestoreWindow", {}).get("LatestTime")
    if latest is None:
        problems.append("no restore window yet (the first snapshot has not been copied)")
    else:
        lag = _now() - latest
        facts.append(f"restorable to {lag.total_seconds() / 60:.0f} min ago")
        if lag > RDS_REPLICATION_LAG_LIMIT:
            problems.append(f"latest restorable time is {lag.total_seconds() / 3600:.1f} h ago (limit "
                            f"{RDS_REPLICATION_LAG_LIMIT.total_seconds() / 3600:g} h): replication is behind")
    if not backup.get("Encrypted") or not backup.get("KmsKeyId"):
        problems.append("replicated backups are not encrypted with a CMK")
    return judge(problems, facts)


def check_restore_drill(ctx: Context) -> Verdict:
    name = ctx.outputs.text("restoreDrillScheduleName")
    schedule = ctx.client("scheduler").get_schedule(Name=name)
    problems: list[str] = []
    if schedule.get("State") != "ENABLED":
        problems.append(f"schedule {name} is {schedule.get('State')}")
    now = _now()
    points = ctx.client("cloudwatch").get_metric_statistics(
        Namespace=ctx.outputs.text("restoreDrillMetricNamespace"), MetricName=RESTORE_DRILL_METRIC_NAME,
        Dimensions=[{"Name": "Environment", "Value": ctx.outputs.environment}],
        StartTime=now - DRILL_WINDOW, EndTime=now, Period=3600, Statistics=["Sum"]).get("Datapoints", [])
    passed = sorted((p["Timestamp"] for p in points if p.get("Sum", 0) >= 1), reverse=True)
    if not passed:
        problems.append(f"no passed restore drill in the last {DRILL_WINDOW.total_seconds() / 3600:g} h (run the task "
                        "restoreDrillTaskDefinitionArn once after a first deploy)")
    facts = [f"{name} {schedule.get('ScheduleExpression')}"]
    if passed:
        facts.append(f"last pass {(now - passed[0]).total_seconds() / 3600:.0f} h ago")
    return judge(problems, facts)


def check_dr_images(ctx: Context) -> Verdict:
    region = ctx.outputs.text("drRegion")
    urls = [ctx.outputs.text(k) for k in ("webRepositoryUrl", "aiRepositoryUrl")]
    repositories = [url.split("/", 1)[1] for url in urls]
    registry = ctx.client("ecr").describe_registry()
    # DescribeRegistry takes no registry id: it describes the caller's own. In the organization layout the images
    # live in the shared account's registry, whose replication that account's role can see, not this one.
    owners = {url.split(".", 1)[0] for url in urls}
    if owners != {registry.get("registryId")}:
        return skipped(f"the images are in registry {', '.join(sorted(owners))}, not this account's "
                       f"({registry.get('registryId')}): its replication to {region} is checked with that account's "
                       "role (`aws ecr describe-registry` there)")
    rules = registry.get("replicationConfiguration", {}).get("rules", [])

    def replicates(repository: str) -> bool:
        for rule in rules:
            to_region = any(d.get("region") == region for d in rule.get("destinations", []))
            filters = rule.get("repositoryFilters") or [{"filter": "", "filterType": "PREFIX_MATCH"}]
            if to_region and any(repository.startswith(f.get("filter", "")) for f in filters):
                return True
        return False

    missing = [r for r in repositories if not replicates(r)]
    if missing:
        return failed(f"the registry does not replicate {', '.join(missing)} to {region}: a DR stack would have no "
                      "images (the bootstrap project configures registry replication)")
    return passed(f"{', '.join(repositories)} replicate to {region}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


FIRST_REPORT_LOOKBACK = dt.timedelta(days=14)
"""How far back a metric's datapoints count as "its job has reported before" (hourly data is kept 63 days)."""


def awaiting_first_report(alarm: Mapping[str, Any], now: dt.datetime, cloudwatch: Any) -> bool:
    """An alarm for which silence is the failure (missing data breaching: no backup, no passed drill) is in ALARM
    from the moment it is created until its job first reports ("breaching: Missing data points are treated as bad",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data):
    on a first deploy, or when DR is switched on. That says nothing yet while the alarm is younger than one
    evaluation window and its metric has never had a datapoint; a job that reported before and stopped is a failure,
    however recently an `up` touched the alarm (each change resets AlarmConfigurationUpdatedTimestamp)."""
    if alarm.get("StateValue") != "ALARM" or alarm.get("TreatMissingData") != "breaching":
        return False
    changed = alarm.get("AlarmConfigurationUpdatedTimestamp")
    window = dt.timedelta(seconds=int(alarm.get("Period") or 0) * int(alarm.get("EvaluationPeriods") or 0))
    if not isinstance(changed, dt.datetime) or now - changed >= window or not alarm.get("MetricName"):
        return False
    history = cloudwatch.get_metric_statistics(
        Namespace=alarm["Namespace"], MetricName=alarm["MetricName"], Dimensions=alarm.get("Dimensions", []),
        StartTime=now - FIRST_REPORT_LOOKBACK, EndTime=now, Period=3600, Statistics=["Sum"])
    return not history.get("Datapoints")


def described_alarms(cloudwatch: Any, names: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Every metric and composite alarm of `names`. DescribeAlarms takes at most 100 names and answers in pages
    ("NextToken: The token that marks the start of the next batch of returned results"; MaxRecords at most 100, API
    reference): a page of the default size holds 50, and prod has more, so every page is read."""
    for start in range(0, len(names), 100):
        page: dict[str, str] = {}
        while True:
            response = cloudwatch.describe_alarms(AlarmNames=list(names[start:start + 100]), MaxRecords=100,
                                                  AlarmTypes=["MetricAlarm", "CompositeAlarm"], **page)
            yield from response.get("MetricAlarms", [])
            yield from response.get("CompositeAlarms", [])
            if not response.get("NextToken"):
                break
            page = {"NextToken": response["NextToken"]}


def check_alarms(ctx: Context) -> Verdict:
    names = ctx.outputs.names("alarmNames")
    if not names:
        return skipped("the stack exports no alarms")
    now = _now()
    states: dict[str, str] = {}
    awaiting: list[str] = []

    def describe(cloudwatch: Any, wanted: list[str]) -> None:
        for alarm in described_alarms(cloudwatch, wanted):
            states[alarm["AlarmName"]] = alarm["StateValue"]
            if awaiting_first_report(alarm, now, cloudwatch):
                awaiting.append(alarm["AlarmName"])

    describe(ctx.client("cloudwatch"), names)
    region = ctx.outputs.region_hint()
    if region and region != EDGE_REGION and any(name not in states for name in names):
        # CloudFront's metrics exist only in us-east-1, so the CDN's alarms (and a CLOUDFRONT web ACL's) live there
        # (observability.py); alarm names are per region.
        describe(ctx.client("cloudwatch", EDGE_REGION), [name for name in names if name not in states])
    missing = [name for name in names if name not in states]
    firing = sorted(name for name, state in states.items() if state == "ALARM" and name not in awaiting)
    problems = []
    if firing:
        problems.append(f"in ALARM: {', '.join(firing)}")
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    facts = [f"{len(names)} alarms"] + [f"{n} {state}" for state, n in sorted(counts.items())]
    if awaiting:
        facts.append(f"awaiting their job's first report (new, within one window): {', '.join(sorted(awaiting))}")
    return judge(problems, facts)


# --- app metrics (Amazon Managed Service for Prometheus) ---------------------------------------------------------


def _status(value: Mapping[str, Any] | None) -> str:
    status = (value or {}).get("status") or {}
    reason = status.get("statusReason")
    return str(status.get("statusCode", "unknown")) + (f" ({reason})" if reason else "")


def check_amp_workspace(ctx: Context) -> Verdict:
    workspace_id = ctx.outputs.text("ampWorkspaceId")
    amp = ctx.client("amp")
    workspace = ctx.amp_workspace()
    problems: list[str] = []
    facts = [workspace_id]
    (facts if _status(workspace) == "ACTIVE" else problems).append(f"status {_status(workspace)}")
    if workspace.get("kmsKeyArn"):
        facts.append("CMK-encrypted")
    else:
        problems.append("no kmsKeyArn: encrypted with an AWS owned key only")
    expected = ctx.outputs.values.get("ampEndpoint")
    if expected and workspace.get("prometheusEndpoint") != expected:
        problems.append(f"endpoint {workspace.get('prometheusEndpoint')} differs from the ampEndpoint output")
    try:
        logging = amp.describe_logging_configuration(workspaceId=workspace_id)["loggingConfiguration"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        logging = None
    if not logging or not logging.get("logGroupArn"):
        problems.append("no logging configuration")
    elif _status(logging) != "ACTIVE":
        problems.append(f"logging {_status(logging)}")
    else:
        facts.append("logging to " + str(logging.get("logGroupArn", "?")).split(":log-group:")[-1].rstrip(":*"))
    return judge(problems, facts)


def check_amp_rules(ctx: Context) -> Verdict:
    workspace_id = ctx.outputs.text("ampWorkspaceId")
    pages = ctx.client("amp").get_paginator("list_rule_groups_namespaces").paginate(workspaceId=workspace_id)
    namespaces = [n for page in pages for n in page.get("ruleGroupsNamespaces", [])]
    if not namespaces:
        return failed("no rule groups namespace: no alert rule is evaluated")
    problems = [f"{n['name']} {_status(n)}" for n in namespaces if _status(n) != "ACTIVE"]
    return judge(problems, [f"{len(namespaces)} rule namespace(s) ACTIVE: {', '.join(n['name'] for n in namespaces)}"])


def check_amp_alert_manager(ctx: Context) -> Verdict:
    workspace_id = ctx.outputs.text("ampWorkspaceId")
    try:
        definition = ctx.client("amp").describe_alert_manager_definition(
            workspaceId=workspace_id)["alertManagerDefinition"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return failed("no alert manager definition: firing alerts reach nobody")
        raise
    problems: list[str] = []
    if _status(definition) != "ACTIVE":
        problems.append(f"status {_status(definition)}")
    data = definition.get("data") or b""
    text = data.decode() if isinstance(data, bytes) else str(data)
    topic = ctx.outputs.values.get("alertTopicArn")
    if topic and topic not in text:
        problems.append(f"does not route to the alert topic {topic}")
    return judge(problems, ["ACTIVE", f"routes to {topic}" if topic else "routes to SNS"])


def prometheus_query(ctx: Context, promql: str) -> list[dict[str, Any]]:
    """An instant query against the workspace's Prometheus API, SigV4-signed for service `aps` (read-only:
    aps:QueryMetrics)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    # The endpoint AWS reports for the workspace (amp.workspace compares it with the ampEndpoint output).
    workspace = ctx.amp_workspace()
    url = workspace["prometheusEndpoint"] + "api/v1/query?" + urllib.parse.urlencode({"query": promql})
    credentials = ctx.client.session.get_credentials()
    if credentials is None:
        raise OutputsError("no AWS credentials to sign the Prometheus query with")
    region = ctx.outputs.region_hint() or ctx.client.session.region_name or "us-east-1"
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(credentials.get_frozen_credentials(), "aps", region).add_auth(request)
    http = urllib.request.Request(url, headers=dict(request.headers.items()))
    with urllib.request.urlopen(http, timeout=ctx.http_timeout) as response:
        payload = json.loads(response.read())
    if payload.get("status") != "success":
        raise OutputsError(f"query {promql!r} failed: {payload.get('error', payload)}")
    result: list[dict[str, Any]] = payload["data"]["result"]
    return result


def check_amp_scrape_targets(ctx: Context) -> Verdict:
    """End to end: every running web and AI task has its own live series (sidecar up, the app's /metrics answering,
    the task label keeping tasks apart, remote write allowed)."""
    ctx.outputs.text("ampWorkspaceId")  # no workspace output: skipped
    cluster = ctx.outputs.text("clusterName")
    services = {job: ctx.outputs.text(key) for job, key in (("web", "webServiceName"), ("ai", "aiServiceName"))}
    described = ctx.client("ecs").describe_services(cluster=cluster, services=list(services.values()))
    running = {s["serviceName"]: int(s.get("runningCount", 0)) for s in described.get("services", [])}
    try:
        result = prometheus_query(ctx, "count by (job) (up == 1)")
    except urllib.error.HTTPError as error:
        return failed(f"Prometheus query -> HTTP {error.code} (aps:QueryMetrics on the workspace?)")
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return failed(f"Prometheus query failed: {getattr(error, 'reason', error)}")
    scraped = {item["metric"].get("job", "?"): int(float(item["value"][1])) for item in result}
    problems, facts = [], []
    for job, service in services.items():
        tasks, series = running.get(service, 0), scraped.get(job, 0)
        if series < tasks:
            problems.append(f"{job}: {series} task(s) report metrics, {tasks} running (a collector is down, the app's "
                            "/metrics does not answer, or tasks share one series)")
        else:
            facts.append(f"{job} {series}/{tasks} tasks scraped")
    return judge(problems, facts)


GUIDE_METRICS = ("http_requests_total", "http_request_duration_seconds_bucket", "cache_hit_rate",
                 "database_connections_active")
"""The guide's app metrics the alert rules read (components/app_metrics.py)."""


def check_amp_app_metrics(ctx: Context) -> Verdict:
    """Every metric an alert rule reads has samples from the last 5 minutes (an instant query's lookback): remote
    write is flowing, and no rule evaluates an absent series (which never fires)."""
    ctx.outputs.text("ampWorkspaceId")  # no workspace output: skipped
    names = "|".join(GUIDE_METRICS)
    try:
        result = prometheus_query(ctx, f'count by (__name__) ({{__name__=~"{names}"}})')
    except urllib.error.HTTPError as error:
        return failed(f"Prometheus query -> HTTP {error.code} (aps:QueryMetrics on the workspace?)")
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return failed(f"Prometheus query failed: {getattr(error, 'reason', error)}")
    series = {item["metric"].get("__name__", "?"): int(float(item["value"][1])) for item in result}
    missing = [name for name in GUIDE_METRICS if not series.get(name)]
    if missing:
        return failed(f"no recent samples of {', '.join(missing)} (the app does not export them, or remote write "
                      "stopped): the alert rules on them cannot fire")
    return passed(", ".join(f"{name} {series[name]} series" for name in GUIDE_METRICS))


def _get_json(ctx: Context, path: str) -> tuple[str, Any, str | None]:
    """GET appUrl + path: (url, the JSON payload or None, the failure or None)."""
    url = ctx.outputs.text("appUrl").rstrip("/") + path
    request = urllib.request.Request(url, headers={"User-Agent": "maratron-verify"})
    try:
        with urllib.request.urlopen(request, timeout=ctx.http_timeout) as response:
            status, body = response.status, response.read(65536)
    except urllib.error.HTTPError as error:
        return url, None, f"GET {url} -> HTTP {error.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return url, None, f"GET {url} failed: {reason}"
    if status != 200:
        return url, None, f"GET {url} -> HTTP {status}"
    try:
        return url, json.loads(body), None
    except ValueError:
        return url, None, None


HEALTHY_STATUS = "healthy"
"""The seed's post-deploy check: `curl -f -s "$HEALTH_ENDPOINT" | jq -e '.status == "healthy"'` - a 200 whose body
is not that JSON (an error page, a proxy's placeholder, another status) fails it."""


def check_http_health(ctx: Context) -> Verdict:
    if not ctx.http:
        return skipped("not requested (--http)")
    url, payload, failure = _get_json(ctx, HEALTH_PATH)
    if failure:
        return failed(failure)
    if not isinstance(payload, dict):
        return failed(f"GET {url} -> 200 but the body is not a JSON object")
    if payload.get("status") != HEALTHY_STATUS:
        return failed(f"GET {url} -> 200 but status {payload.get('status')!r}, not {HEALTHY_STATUS!r}")
    return passed(f"GET {url} -> 200")


CACHE_HIT_RATE_WARNING = 80
"""The seed's post-deploy check warns at a cache hit rate of this many percent or less."""


def _at(document: Any, *keys: str) -> Any:
    """document[k1][k2]... of a JSON document, None where a level is missing or not an object."""
    for key in keys:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def check_http_database(ctx: Context) -> Verdict:
    """The seed's post-deploy database check: the app's /api/performance reports database.healthy (the app reached
    PostgreSQL through the proxy with its own login), and its cache hit rate (reported, as the seed only warns)."""
    if not ctx.http:
        return skipped("not requested (--http)")
    url, payload, failure = _get_json(ctx, PERFORMANCE_PATH)
    if failure:
        return failed(failure)
    if not isinstance(payload, dict):
        return failed(f"GET {url} -> 200 but not a JSON object")
    healthy = _at(payload, "database", "healthy")
    if healthy is not True:
        return failed(f"GET {url}: database.healthy is {json.dumps(healthy)}, not true (the app cannot use its "
                      "database)")
    rate = _at(payload, "cache", "stats", "hitRate")
    facts = [f"GET {url}: database healthy"]
    if isinstance(rate, (int, float)):
        low = rate <= CACHE_HIT_RATE_WARNING
        facts.append(f"cache hit rate {rate:g}%" + (f" (low: the seed warns at {CACHE_HIT_RATE_WARNING}% or less; "
                                                    "a fresh deploy starts cold)" if low else ""))
    return passed(", ".join(facts))


def running_images(ctx: Context) -> list[Image]:
    """The images the stack runs (its image outputs: repository and digest); skipped without them."""
    try:
        return images_of(ctx.outputs.values)
    except ValueError as error:
        raise MissingOutputError(str(error)) from None


def check_deployed_images(ctx: Context) -> Verdict:
    """Each image the stack runs is in the foundation's registry and carries a deployed-<environment>-* tag, so the
    repository lifecycle can never expire it (components/image_registry.py; ops/tag_deployed_images.py adds it)."""
    images = running_images(ctx)
    prefix = f"{DEPLOYED_TAG_PREFIX}{ctx.outputs.environment}-"
    problems, facts = [], []
    for image in images:
        found = ctx.client("ecr").describe_images(registryId=image.registry, repositoryName=image.repository,
                                                  imageIds=[{"imageDigest": image.digest}])["imageDetails"]
        tags = [t for detail in found for t in detail.get("imageTags", [])]
        if any(t.startswith(prefix) for t in tags):
            facts.append(f"{image.repository} {prefix}*")
        else:
            problems.append(f"{image.repository}@{image.digest[:19]}... has no {prefix}* tag (tags {tags}): the "
                            "lifecycle may expire it; run ops.tag_deployed_images")
    return judge(problems, facts)


BLOCKING_SEVERITIES = ("CRITICAL",)
"""Scan findings of these severities in an image the stack runs fail `ecr.scan-findings`; the other counts are
reported. The registry scans on push (basic) or continuously (enhanced: Inspector), so a CVE published after the
deploy shows up here on the next verify."""


def check_image_findings(ctx: Context) -> Verdict:
    """Each image the stack runs was scanned, and has no finding of a BLOCKING_SEVERITIES severity. The registry's
    scanning (components/image_registry.py) produces the findings; nothing read them before. An image without a scan
    (registry scanning `unmanaged`, or pushed before scanning was on) or whose OS the scanner does not support is
    reported, not failed: there is nothing to judge."""
    images = running_images(ctx)
    problems, facts = [], []
    for image in images:
        name = f"{image.repository}@{image.digest[:19]}..."
        try:
            # The first page holds the status and the severity counts; only the findings themselves are paged.
            found = ctx.client("ecr").describe_image_scan_findings(
                registryId=image.registry, repositoryName=image.repository, imageId={"imageDigest": image.digest},
                maxResults=1)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ScanNotFoundException":
                facts.append(f"{name}: not scanned")
                continue
            raise
        # COMPLETE: a basic scan on push; ACTIVE: enhanced scanning (Inspector) keeps rescanning the image.
        status = found.get("imageScanStatus", {}).get("status", "?")
        if status not in ("COMPLETE", "ACTIVE"):
            facts.append(f"{name}: scan {status}")
            continue
        counts = found.get("imageScanFindings", {}).get("findingSeverityCounts", {})
        blocking = {k: v for k, v in counts.items() if k in BLOCKING_SEVERITIES and v}
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no findings"
        if blocking:
            problems.append(f"{name}: {summary} (fix or rebuild the image; the findings: aws ecr "
                            f"describe-image-scan-findings --repository-name {image.repository} --image-id "
                            f"imageDigest={image.digest})")
        else:
            facts.append(f"{name}: {summary}")
    return judge(problems, facts)


# --- CDN --------------------------------------------------------------------------------------------------------


def _items(value: Mapping[str, Any] | None) -> list[Any]:
    """CloudFront's {"Quantity": n, "Items": [...]} lists."""
    return list((value or {}).get("Items") or [])


def check_cdn_distribution(ctx: Context) -> Verdict:
    distribution = ctx.distribution()
    config = ctx.distribution_config()
    problems: list[str] = []
    facts = [distribution.get("Id", "?")]
    if distribution.get("Status") != "Deployed":
        problems.append(f"status {distribution.get('Status')} (a change is still propagating to the edges)")
    if not config.get("Enabled"):
        problems.append("disabled")
    domain = ctx.outputs.text("appUrl").removeprefix("https://")
    if domain not in _items(config.get("Aliases")):
        problems.append(f"{domain} is not an alias of the distribution")
    certificate = config.get("ViewerCertificate", {})
    policy = certificate.get("MinimumProtocolVersion")
    # Judged by the certificate it names (moto also reports CloudFrontDefaultCertificate true next to an ACM ARN).
    if not (certificate.get("ACMCertificateArn") or certificate.get("IAMCertificateId")):
        problems.append("serves the default *.cloudfront.net certificate")
    elif policy not in CLOUDFRONT_TLS_POLICIES:
        problems.append(f"viewer security policy {policy}, not one of {', '.join(CLOUDFRONT_TLS_POLICIES)}")
    else:
        facts.append(policy)
    if config.get("HttpVersion") != "http2and3":
        problems.append(f"HTTP version {config.get('HttpVersion')}, expected http2and3")
    default = config.get("DefaultCacheBehavior", {})
    behaviors = [default, *_items(config.get("CacheBehaviors"))]
    plain = [b.get("PathPattern", "*") for b in behaviors if b.get("ViewerProtocolPolicy") not in
             ("redirect-to-https", "https-only")]
    if plain:
        problems.append(f"plain HTTP served on {', '.join(plain)}")
    if default.get("CachePolicyId") != CACHE_POLICY_CACHING_DISABLED:
        problems.append(f"the default behavior caches (cache policy {default.get('CachePolicyId')}, not "
                        "Managed-CachingDisabled)")
    headerless = [b.get("PathPattern", "*") for b in behaviors if not b.get("ResponseHeadersPolicyId")]
    if headerless:
        problems.append(f"no response headers policy on {', '.join(headerless)}")
    for origin in _items(config.get("Origins")):
        custom = origin.get("CustomOriginConfig") or {}
        if custom.get("OriginProtocolPolicy") != "https-only":
            problems.append(f"origin {origin.get('Id')} is reached over {custom.get('OriginProtocolPolicy')}")
        if _items(custom.get("OriginSslProtocols")) != list(ORIGIN_SSL_PROTOCOLS):
            problems.append(f"origin {origin.get('Id')} allows {_items(custom.get('OriginSslProtocols'))}")
        # The value is a secret: only its presence is reported, never the value.
        if not any(h.get("HeaderName", "").lower() == ORIGIN_VERIFY_HEADER.lower() and h.get("HeaderValue")
                   for h in _items(origin.get("CustomHeaders"))):
            problems.append(f"origin {origin.get('Id')} gets no {ORIGIN_VERIFY_HEADER} header")
    if not config.get("WebACLId"):
        problems.append("no web ACL")
    return judge(problems, [*facts, "deployed", "HTTPS to viewers and origin", "dynamic paths uncached"])


def check_cdn_managed_policies(ctx: Context) -> Verdict:
    """The AWS-managed policy ids the program names (components/constants.py) still mean what they meant."""
    ctx.outputs.require_cdn()
    cloudfront = ctx.client("cloudfront")
    problems: list[str] = []
    for policy_id, (kind, expected) in MANAGED_CLOUDFRONT_POLICIES.items():
        if kind == "cache":
            name = cloudfront.get_cache_policy(Id=policy_id)["CachePolicy"]["CachePolicyConfig"]["Name"]
        else:
            name = cloudfront.get_origin_request_policy(Id=policy_id)["OriginRequestPolicy"][
                "OriginRequestPolicyConfig"]["Name"]
        if name != expected:
            problems.append(f"{policy_id} is {name!r}, expected {expected}")
    return judge(problems, [f"{len(MANAGED_CLOUDFRONT_POLICIES)} managed policy ids as expected"])


def check_cdn_origin_lock(ctx: Context) -> Verdict:
    """The ALB admits only CloudFront: the security group (the managed prefix list alone, and its weight fits the
    quota), the HTTPS listener (403 by default, forwarding only with the secret header), no :80 listener."""
    ctx.outputs.require_cdn()
    ec2 = ctx.client("ec2")
    group_id = ctx.outputs.text("albSecurityGroupId")
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    problems: list[str] = []
    lists: list[str] = []
    for permission in group.get("IpPermissions", []):
        ports = f"{permission.get('FromPort')}-{permission.get('ToPort')}"
        if permission.get("IpRanges") or permission.get("Ipv6Ranges") or permission.get("UserIdGroupPairs"):
            problems.append(f"admits address ranges or security groups on {ports}")
        if (permission.get("FromPort"), permission.get("ToPort")) != (443, 443):
            problems.append(f"admits ports {ports}")
        lists += [p["PrefixListId"] for p in permission.get("PrefixListIds", [])]
    if not lists:
        problems.append("admits no prefix list: CloudFront cannot reach the ALB")
    for found in ec2.describe_managed_prefix_lists(PrefixListIds=lists)["PrefixLists"] if lists else []:
        if found.get("PrefixListName") != CLOUDFRONT_PREFIX_LIST:
            problems.append(f"admits {found.get('PrefixListName')} ({found.get('PrefixListId')})")
        weight = found.get("MaxEntries")
        if weight is not None and weight > SECURITY_GROUP_RULES_QUOTA:
            problems.append(f"{found.get('PrefixListName')} now weighs {weight} rules, over the default quota of "
                            f"{SECURITY_GROUP_RULES_QUOTA} per security group")
    elbv2 = ctx.client("elbv2")
    for listener in ctx.listeners():
        if listener.get("Port") == 80:
            problems.append("a :80 listener exists behind CloudFront")
            continue
        defaults = listener.get("DefaultActions", [])
        if any(a.get("Type") == "forward" for a in defaults):
            problems.append(f"listener :{listener.get('Port')} forwards by default")
        for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
            if rule.get("IsDefault") or not any(a.get("Type") == "forward" for a in rule.get("Actions", [])):
                continue
            headers = [c.get("HttpHeaderConfig", {}) for c in rule.get("Conditions", [])
                       if c.get("Field") == "http-header"]
            if not any(h.get("HttpHeaderName", "").lower() == ORIGIN_VERIFY_HEADER.lower() and h.get("Values")
                       for h in headers):
                problems.append(f"rule priority {rule.get('Priority')} forwards without the {ORIGIN_VERIFY_HEADER} "
                                "header")
    return judge(problems, [f"{group_id}: :443 from {CLOUDFRONT_PREFIX_LIST} only",
                            f"forwarding requires {ORIGIN_VERIFY_HEADER}"])


def check_cdn_access_logs(ctx: Context) -> Verdict:
    distribution_arn = ctx.distribution().get("ARN", "")
    logs = ctx.client("logs", EDGE_REGION)
    # Both lists are account-wide and paged (50 a page): every page is read.
    sources = [s for page in logs.get_paginator("describe_delivery_sources").paginate()
               for s in page.get("deliverySources", [])
               if distribution_arn in s.get("resourceArns", []) and s.get("logType") == "ACCESS_LOGS"]
    if not sources:
        return failed(f"no ACCESS_LOGS delivery source for {distribution_arn} in {EDGE_REGION}")
    names = {s["name"] for s in sources}
    deliveries = [d for page in logs.get_paginator("describe_deliveries").paginate()
                  for d in page.get("deliveries", []) if d.get("deliverySourceName") in names]
    if not deliveries:
        return failed(f"delivery source {', '.join(sorted(names))} delivers nowhere")
    return passed(f"{len(deliveries)} delivery of {', '.join(sorted(names))}")


def _get(url: str, timeout: float, headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"User-Agent": "maratron-verify", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def check_http_edge(ctx: Context) -> Verdict:
    """Through CloudFront: served by it, with the security headers, and the metrics path refused."""
    if not ctx.http:
        return skipped("not requested (--http)")
    ctx.outputs.require_cdn()
    base = ctx.outputs.text("appUrl").rstrip("/")
    problems: list[str] = []
    try:
        status, headers = _get(base + HEALTH_PATH, ctx.http_timeout)
        if "cloudfront" not in str(headers.get("Via", "")).lower() and not headers.get("X-Amz-Cf-Id"):
            problems.append(f"GET {base}{HEALTH_PATH} was not served by CloudFront (no Via/X-Amz-Cf-Id)")
        missing = [h for h in ("Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options",
                               "X-Content-Type-Options", "Referrer-Policy") if not headers.get(h)]
        if missing:
            problems.append(f"missing security headers {', '.join(missing)}")
        private, _ = _get(base + PRIVATE_PATHS[0], ctx.http_timeout)
        if private != 404:
            problems.append(f"GET {PRIVATE_PATHS[0]} -> HTTP {private}, expected 404")
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return failed(f"GET {base} failed: {getattr(error, 'reason', error)}")
    return judge(problems, [f"HTTP {status} via CloudFront", "security headers present",
                            f"{PRIVATE_PATHS[0]} refused"])


DIRECT_SCHEME = "https"
"""How the origin-lock check reaches the ALB (tests point it at a local plain-HTTP server)."""


def _direct(url: str, host: str, timeout: float) -> int | None:
    """GET as anyone but CloudFront would: no origin header, the app's Host, the certificate not verified (it names
    the app's domain, not the ALB's DNS name; nothing secret is sent). None: refused or dropped."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, headers={"Host": host, "User-Agent": "maratron-verify"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, TimeoutError, OSError):
        return None


def check_http_origin_lock(ctx: Context) -> Verdict:
    """Straight to the ALB, bypassing CloudFront (and its WAF): the security group drops it (it admits only the
    CloudFront origin-facing prefix list) or the listener answers 403 without the secret header — never served
    (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/restrict-access-to-load-balancer.html)."""
    if not ctx.http:
        return skipped("not requested (--http)")
    ctx.outputs.require_cdn()
    host = urllib.parse.urlsplit(ctx.outputs.text("appUrl")).netloc
    url = f"{DIRECT_SCHEME}://{ctx.outputs.text('albDnsName')}{HEALTH_PATH}"
    status = _direct(url, host, ctx.http_timeout)
    if status is None:
        return passed(f"GET {url} without {ORIGIN_VERIFY_HEADER}: refused or dropped (security group)")
    if status == 403:
        return passed(f"GET {url} without {ORIGIN_VERIFY_HEADER} -> 403 (listener)")
    return failed(f"GET {url} without {ORIGIN_VERIFY_HEADER} -> HTTP {status}: the ALB serves requests that bypass "
                  "CloudFront and its WAF")


STATIC_ASSET = re.compile(r"/_next/static/[^\"'\s<>?#]+\.(?:js|css)")
"""A hashed Next.js build asset the home page references (cached a year under /_next/static/*)."""
ONE_YEAR_SECONDS = 31536000


def _page(url: str, timeout: float) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": "maratron-verify"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read(1 << 20).decode("utf-8", "replace")


def _max_age(cache_control: str) -> int:
    found = re.search(r"(?:^|[,\s])max-age=(\d+)", cache_control)
    return int(found.group(1)) if found else 0


def check_http_cdn_caching(ctx: Context) -> Verdict:
    """Through CloudFront: a static asset comes compressed (Brotli or gzip: the cache policy's
    EnableAcceptEncodingBrotli/Gzip, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
    ServingCompressedFiles.html) with a year's Cache-Control, and from the edge cache on a repeat (X-Cache); the
    health API is never a cache hit."""
    if not ctx.http:
        return skipped("not requested (--http)")
    ctx.outputs.require_cdn()
    base = ctx.outputs.text("appUrl").rstrip("/")
    try:
        asset = STATIC_ASSET.search(_page(base + "/", ctx.http_timeout))
        if asset is None:
            return failed(f"GET {base}/ references no /_next/static asset to check")
        url = base + asset.group(0)
        accept = {"Accept-Encoding": "br, gzip"}
        _get(url, ctx.http_timeout, accept)
        status, headers = _get(url, ctx.http_timeout, accept)
        _get(base + HEALTH_PATH, ctx.http_timeout)
        _, api = _get(base + HEALTH_PATH, ctx.http_timeout)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return failed(f"GET {base} failed: {getattr(error, 'reason', error)}")
    problems: list[str] = []
    encoding = str(headers.get("Content-Encoding") or "")
    if status != 200:
        problems.append(f"GET {asset.group(0)} -> HTTP {status}")
    if encoding not in ("br", "gzip"):
        problems.append(f"{asset.group(0)} not compressed (Content-Encoding {encoding or 'none'})")
    age = _max_age(str(headers.get("Cache-Control") or ""))
    if age < ONE_YEAR_SECONDS:
        problems.append(f"{asset.group(0)} Cache-Control max-age {age}, expected {ONE_YEAR_SECONDS}")
    if not str(headers.get("X-Cache") or "").startswith("Hit"):
        problems.append(f"{asset.group(0)} not from the edge cache on a repeat (X-Cache: {headers.get('X-Cache')})")
    if str(api.get("X-Cache") or "").startswith("Hit"):
        problems.append(f"{HEALTH_PATH} served from the edge cache (dynamic paths must never be cached)")
    return judge(problems, [f"{asset.group(0)} {encoding}", f"max-age {age}", "edge cache hit",
                            f"{HEALTH_PATH} uncached"])


# --- the plan and the runner ------------------------------------------------------------------------------------

Check = Callable[[Context], Verdict]

CHECKS: tuple[tuple[str, Check], ...] = (
    ("alb.state", check_alb_state),
    ("alb.http-redirect", check_http_redirect),
    ("alb.tls-policy", check_tls_policy),
    ("alb.target-health", check_target_health),
    ("waf.association", check_waf_association),
    ("cdn.distribution", check_cdn_distribution),
    ("cdn.managed-policies", check_cdn_managed_policies),
    ("cdn.origin-lock", check_cdn_origin_lock),
    ("cdn.access-logs", check_cdn_access_logs),
    ("rds.primary", check_rds_primary),
    ("rds.replicas", check_rds_replicas),
    ("rds.proxy", check_rds_proxy),
    ("rds.proxy-targets", check_rds_proxy_targets),
    ("redis.replication-group", check_redis),
    ("redis.app-user", check_redis_user),
    ("secrets.rotation", check_rotation),
    ("ecs.web-service", functools.partial(check_ecs_service, output_key="webServiceName")),
    ("ecs.ai-service", functools.partial(check_ecs_service, output_key="aiServiceName")),
    ("s3.backups-bucket", functools.partial(check_bucket, output_key="backupsBucketName")),
    ("s3.wal-bucket", functools.partial(check_bucket, output_key="walBucketName")),
    ("dr.s3-replication", check_dr_replication),
    ("dr.replica-buckets", check_dr_replicas),
    ("dr.rds-backup-replication", check_dr_database_backups),
    ("dr.latest-dump-replicated", check_dr_latest_dump_replicated),
    ("dr.restore-drill", check_restore_drill),
    ("dr.images", check_dr_images),
    ("cloudwatch.alarms", check_alarms),
    ("ecr.deployed-images", check_deployed_images),
    ("ecr.scan-findings", check_image_findings),
    ("amp.workspace", check_amp_workspace),
    ("amp.rules", check_amp_rules),
    ("amp.alert-manager", check_amp_alert_manager),
    ("amp.scrape-targets", check_amp_scrape_targets),
    ("amp.app-metrics", check_amp_app_metrics),
    ("http.health", check_http_health),
    ("http.database", check_http_database),
    ("http.edge", check_http_edge),
    ("http.origin-lock", check_http_origin_lock),
    ("http.cdn-caching", check_http_cdn_caching),
)


def run_check(name: str, check: Check, ctx: Context) -> Result:
    """Run one check; whatever goes wrong becomes this row's verdict, never the end of the report."""
    try:
        verdict = check(ctx)
    except MissingOutputError as error:
        verdict = skipped(str(error))
    except OutputsError as error:
        verdict = failed(str(error))
    except ClientError as error:
        info = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "AWS call")
        verdict = failed(f"{operation}: {info.get('Code', '?')}: {info.get('Message', '')}".rstrip(": "))
    except BotoCoreError as error:
        verdict = failed(f"AWS unreachable: {error}")
    except Exception as error:  # a bug or an unexpected response shape: report it on this row
        verdict = failed(f"unexpected {type(error).__name__}: {error}")
    return Result(name, verdict.status, verdict.detail)


def run_checks(ctx: Context, only: Iterable[str] = ()) -> list[Result]:
    patterns = list(only)
    return [run_check(name, check, ctx) for name, check in CHECKS
            if not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)]


def selected(only: Sequence[str], *, http: bool) -> list[str]:
    """The --only patterns, plus every HTTP check when --http asks for them and no pattern names one: `--only 'cdn.*'
    --http` runs the CDN's checks and the HTTP ones (`--only http.database --http` still runs that one alone)."""
    patterns = list(only)
    http_checks = [name for name, _ in CHECKS if name.startswith("http.")]
    if http and patterns and not any(fnmatch.fnmatchcase(name, p) for name in http_checks for p in patterns):
        patterns.append("http.*")
    return patterns


def summary(results: Sequence[Result]) -> str:
    count = {status: sum(1 for r in results if r.status is status) for status in Status}
    return f"{count[Status.PASS]} passed, {count[Status.FAIL]} failed, {count[Status.SKIP]} skipped"


def render(results: Sequence[Result], environment: str) -> str:
    width = max((len(r.name) for r in results), default=5)
    lines = [f"Post-deploy verification: {environment}", ""]
    lines += [f"{r.status.value}  {r.name.ljust(width)}  {r.detail}" for r in results]
    lines += ["", summary(results)]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ops.verify", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack-outputs", metavar="FILE",
                        help="JSON from `pulumi stack output --json`; default: read it from stdin")
    parser.add_argument("--region",
                        help="AWS region (default: the `region` output, the albArn's region, AWS_REGION)")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument("--endpoint-url", help="send every AWS call to this endpoint (e.g. a local moto server)")
    parser.add_argument("--http", action="store_true",
                        help=f"also run the HTTP checks (GET <appUrl>{HEALTH_PATH}, ...), with --only too")
    parser.add_argument("--http-timeout", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--only", action="append", default=[], metavar="GLOB",
                        help="run only the checks whose name matches (repeatable), e.g. --only 'rds.*'")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE ('-': stdout, "
                        "instead of the table), e.g. for a CI artifact")
    return parser.parse_args(argv)


def read_outputs(path: str | None, stdin: TextIO) -> Outputs:
    if path:
        with open(path, encoding="utf-8") as handle:
            return Outputs.parse(handle.read())
    if stdin.isatty():
        raise OutputsError("no --stack-outputs file and nothing on stdin "
                           "(pipe `pulumi stack output --json --show-secrets=false`)")
    return Outputs.parse(stdin.read())


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         clients: Clients | None = None) -> int:
    """The CLI. `clients` lets a caller (the tests) reuse boto3 clients across runs; by default they are made from
    --profile, --region and --endpoint-url."""
    args = parse_args(argv)
    out = stdout or sys.stdout
    try:
        outputs = read_outputs(args.stack_outputs, stdin or sys.stdin)
    except (OSError, OutputsError) as error:
        print(f"verify: {error}", file=sys.stderr)
        return 2
    # The stack lives where its ALB is: that beats whatever region the shell happens to default to.
    region = args.region or outputs.region_hint()
    if clients is None:
        clients = Clients(boto3.session.Session(profile_name=args.profile, region_name=region), args.endpoint_url)
    ctx = Context(outputs, clients, http=args.http, http_timeout=args.http_timeout)
    results = run_checks(ctx, selected(args.only, http=args.http))
    if not results:
        print(f"verify: no check matches {', '.join(args.only)}; checks: {', '.join(n for n, _ in CHECKS)}",
              file=sys.stderr)
        return 2
    if args.json:
        document = json.dumps({"environment": outputs.environment, "summary": summary(results),
                               "results": [asdict(r) for r in results]}, indent=2) + "\n"
        if args.json == "-":
            out.write(document)
        else:
            with open(args.json, "w", encoding="utf-8") as handle:
                handle.write(document)
    if args.json != "-":
        print(render(results, outputs.environment), file=out)
    return 1 if any(r.status is Status.FAIL for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
