"""Credentials that bootstrap and rotate themselves: the db-admin and redis-rotation functions and their schedules.

* `db-admin` (ops/db_admin/handler.py) writes every database connection secret's value - passwords never enter
  Pulumi state - and converges the app roles (app_rw, app_ro, app_migrate, app_backup; ops/db_admin/roles.py) as the
  master. `pulumi up` invokes it once the primary exists and before any task definition that reads those secrets
  (aws.lambda_.Invocation; re-invoked when its input or the role SQL changes); CI and operators run the same
  idempotent bootstrap with the `dbBootstrapCommand` output, before migrations.
  It is a small Lambda of our own, not a psql task in the backup image, because the parameter group logs DDL
  (`log_statement=ddl`) to CloudWatch and PostgreSQL logs `CREATE/ALTER ROLE ... PASSWORD '<plaintext>'` verbatim
  (https://repost.aws/knowledge-center/rds-postgresql-cleartext-logging): the function sends SCRAM verifiers instead.
* Secrets Manager rotation, every `credentialRotationDays` (prod <= 30) in a 3-hour window from 00:00 UTC (before
  RDS's 03:00 backup window, dbBackupWindow; the 6-hourly dump job has no fixed hour): the master (single user,
  rotated immediately so the initial value in state is dead after the first deploy), app_migrate and app_backup
  (single user), app_rw and app_ro (alternating users, each user a login RDS Proxy reads), and the Redis RBAC user
  (`redis-rotation`, two password slots).
* Both functions run in the app subnets with their own security group (granted to the database, the proxy, the
  replicas and Redis here, so the bootstrap can depend on those rules), their own CMK-encrypted log group, and a role
  that reads and writes exactly their secrets, decrypts only through Secrets Manager, and nothing else.

The Lambda package is built at `pulumi up` from ops/db_admin/*.py plus the pure-Python driver wheels installed in the
project's virtualenv (pg8000, scramp, asn1crypto, python-dateutil, six - pinned in ops/db_admin/requirements.txt and
checked here), so no third-party code is committed, nothing is downloaded at deploy time, and the files the tests run
are the files Lambda runs. No reserved concurrency: an account must keep 100 unreserved ("You can reserve up to the
Unreserved account concurrency value ... minus 100", https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html),
which fails on new accounts with a low quota; the connection budget counts the natural maximum instead (one
connection per rotated database secret plus a bootstrap).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, SecretRef, assume_role_policy, json_output, named_tags, policy_json
from components.cache import Cache
from components.connections import ANYWHERE, Connections, grant, grant_to
from components.constants import LAMBDA_VPC_ACTIONS, LOG_RETENTION_DAYS, MAX_ROTATION_DAYS
from components.database import Database
from components.observability import FunctionWatch
from components.settings import setting
from ops.db_admin import redis_rotation, roles, secret_format

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "ops" / "db_admin"
RUNTIME = "python3.12"
ARCHITECTURE = "arm64"
ROTATION_WINDOW = "3h"
"""Rotation windows of a rate in days start at midnight UTC ("the default rotation window starts at midnight",
https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html): 00:00-03:00, before the
03:00 backup window."""
DATABASE_ROTATED = ("master", roles.READ_WRITE, roles.READ_ONLY, roles.MIGRATE, roles.BACKUP)
DB_ADMIN_CONCURRENCY = len(DATABASE_ROTATED) + 1
"""Concurrent db-admin invocations at most: one rotation per database secret plus a bootstrap (the budget's count)."""

FUNCTION_TIMEOUT_SECONDS = 300
"""The db-admin and redis-rotation functions' timeout: a rotation step waits up to 4 minutes (the proxy's secret
refresh, an ElastiCache user update)."""


@dataclass(frozen=True, kw_only=True)
class CredentialSettings:
    """How often generated credentials rotate."""

    rotation_days: int = setting(
        "credentialRotationDays", MAX_ROTATION_DAYS, "Days between automatic rotations of every generated credential "
        f"(database master and app roles, Redis user), 1-365. Default {MAX_ROTATION_DAYS}; prod allows at most "
        f"{MAX_ROTATION_DAYS}. Changing it rotates the master and the Redis user during that `up` (and redeploys web "
        "and ai): change it in a quiet hour.", minimum=1, maximum=365)


def _pinned_requirements() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (PACKAGE_DIR / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    return pins


@functools.cache
def _installed(name: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """(version, (path in the wheel, file on disk) for every packaged file) of an installed distribution, or None.
    Read once per process: a virtualenv does not change under a running program, and parsing the metadata of the
    five wheels was ~1% of a prod run (the tests and benches run the program hundreds of times per process)."""
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    files = []
    for file in sorted(distribution.files or [], key=str):
        path = str(file)
        if path.startswith("..") or "__pycache__" in path or path.endswith((".pyc", "RECORD", "INSTALLER")):
            continue
        files.append((path, str(file.locate())))
    return distribution.version, tuple(files)


def lambda_archive() -> pulumi.AssetArchive:
    """ops/db_admin/*.py as the package `db_admin`, plus every file of the pinned dependency wheels (licenses
    included) from the virtualenv. Sorted, no bytecode: the same inputs always give the same archive."""
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {}
    for source in sorted(PACKAGE_DIR.glob("*.py")):
        assets[f"db_admin/{source.name}"] = pulumi.FileAsset(str(source))
    wrong: list[str] = []
    for name, version in sorted(_pinned_requirements().items()):
        installed = _installed(name)
        if installed is None:
            wrong.append(f"{name}=={version} is not installed")
            continue
        installed_version, files = installed
        if installed_version != version:
            wrong.append(f"{name} is {installed_version}, the package pins {version}")
            continue
        for path, located in files:
            assets[path] = pulumi.FileAsset(located)
    if wrong:
        raise RuntimeError("the db-admin Lambda package cannot be built from this virtualenv: " + "; ".join(wrong)
                           + " (pip install -r requirements.txt)")
    return pulumi.AssetArchive(dict(sorted(assets.items())))


def _code_version() -> str:
    """Digest of the function's own code: a new role model or handler re-runs the bootstrap."""
    digest = hashlib.sha256()
    for source in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class CredentialsArgs:
    """Inputs of Credentials."""

    context: AwsContext
    """Account, partition and region."""
    database: Database
    """The database whose secrets are written and rotated (and granted to db-admin)."""
    cache: Cache
    """The cache whose RBAC user's secret is rotated (and granted to redis-rotation)."""
    pool_size: int
    """Prisma's connection_limit in DATABASE_URL and DATABASE_READ_URL (appDatabasePoolSize)."""
    vpc_id: pulumi.Input[str]
    """VPC of the functions' security groups."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private app subnets the functions run in (AWS APIs through NAT or interface endpoints)."""
    data_key: aws.kms.Key
    """CMK of the secrets (the functions decrypt and encrypt through Secrets Manager only)."""
    log_key: aws.kms.Key
    """CMK of the functions' log groups."""
    name_prefix: str
    """Function names `<prefix>-db-admin`, `<prefix>-redis-rotation`; log groups `/<prefix>/lambda/<function>`."""
    egress: Sequence[pulumi.Resource] = ()
    """What the functions reach AWS APIs through (Network.app_egress: NAT routes, interface endpoints); the bootstrap
    and the rotations wait for it. Default none (the caller's network is already there)."""
    settings: CredentialSettings = field(default_factory=CredentialSettings)
    """Rotation period; default 30 days."""
    log_retention_days: int = LOG_RETENTION_DAYS
    """Retention of the functions' log groups (default 365)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""


class RotationFunction(pulumi.ComponentResource):
    """One VPC Lambda with its own role, security group and CMK-encrypted log group."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    security_group: aws.ec2.SecurityGroup
    log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, *, args: CredentialsArgs, handler: str, description: str,
                 statements: Sequence[Mapping[str, Any]], environment: Mapping[str, pulumi.Input[str]],
                 archive: pulumi.AssetArchive, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:security:RotationFunction", name, None, opts)
        ctx = args.context
        function_name = rotation_function_name(args, name)
        child = pulumi.ResourceOptions(parent=self)

        def tags(suffix: str = "") -> dict[str, str]:
            return named_tags(args.tags, function_name + suffix)

        # Lambda's default group would be /aws/lambda/<name>, unencrypted and never expiring; custom names "mustn't
        # begin with the string aws/" (Lambda developer guide, log groups).
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/{args.name_prefix}/lambda/{name}", retention_in_days=args.log_retention_days,
            kms_key_id=args.log_key.arn, tags=tags("-logs"), opts=child)
        self.role = aws.iam.Role(
            f"{name}-role", description=f"{function_name}: {description}",
            assume_role_policy=assume_role_policy("lambda.amazonaws.com", source_account=ctx.account_id),
            tags=tags(), opts=child)
        policy = aws.iam.RolePolicy(f"{name}-role", role=self.role.id, policy=policy_json([
            *[dict(s) for s in statements],
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [self.log_group.arn.apply(lambda arn: f"{arn}:log-stream:*")]},
            # A function in a VPC manages its own network interfaces; these actions have no resource-level scope
            # ("Required permissions for the Lambda rotation function", Secrets Manager user guide).
            {"Effect": "Allow", "Action": list(LAMBDA_VPC_ACTIONS), "Resource": "*"},
        ]), opts=pulumi.ResourceOptions(parent=self.role))
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description=f"{function_name}: AWS APIs and its granted data stores",
            tags=tags(), opts=child)
        self._connections = Connections(self.security_group, label=name, name_prefix=args.name_prefix,
                                        tags=args.tags)
        https = grant_to(self._connections, ANYWHERE, 443, name=f"{name}-to-https", description="HTTPS to AWS APIs",
                         tags=tags("-to-https"))
        self.function = aws.lambda_.Function(
            name,
            name=function_name,
            description=description,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=handler,
            code=archive,
            role=self.role.arn,
            timeout=FUNCTION_TIMEOUT_SECONDS,
            memory_size=256,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(environment)) if environment else None,
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=list(args.subnet_ids),
                                                         security_group_ids=[self.security_group.id]),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name,
                                                                 application_log_level="INFO",
                                                                 system_log_level="WARN"),
            tags=tags(),
            # The provider removes the group's default allow-all egress: until this rule exists the function reaches
            # neither Secrets Manager nor ElastiCache's API, and the bootstrap and rotations call it at once.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, https]),
        )
        self.register_outputs({"functionName": self.function.name})

    @property
    def connections(self) -> Connections:
        """The function's ENIs, as a grant source (`grant(db_admin, database)`)."""
        return self._connections


def rotation_function_name(args: CredentialsArgs, name: str) -> str:
    """`<prefix>-<name>`: a function's name, known before it exists (its own role may name it)."""
    return f"{args.name_prefix}-{name}"


def _secret_rw(refs: Sequence[SecretRef], *, rotate: bool) -> list[dict[str, Any]]:
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"]
    if rotate:
        actions.append("secretsmanager:UpdateSecretVersionStage")
    return [{"Effect": "Allow", "Action": actions, "Resource": [ref.secret.arn for ref in refs]}]


def _kms(key: aws.kms.Key) -> dict[str, Any]:
    # If the secret uses a CMK, the function "needs permission to use the key" (rotation function permissions).
    return {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [key.arn],
            "Condition": {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}}


RANDOM_PASSWORD = {"Effect": "Allow", "Action": ["secretsmanager:GetRandomPassword"], "Resource": "*"}
"""GetRandomPassword acts on no resource."""


class Credentials(pulumi.ComponentResource):
    """The functions, the bootstrap invocation, the rotation schedules and the secrets consumers read."""

    db_admin: RotationFunction
    redis_rotation: RotationFunction
    bootstrap: aws.lambda_.Invocation
    redis_sync: aws.lambda_.Invocation
    """Re-invoked when the cache's endpoint or user changes: the redis-rotation function rotates REDIS_URL onto them."""
    database_url: SecretRef
    """DATABASE_URL for web and ai: app_rw via RDS Proxy (the `url` key of its connection secret)."""
    database_read_url: SecretRef
    """DATABASE_READ_URL for web and ai: app_ro via db-reader.<zone>."""
    migration_url: SecretRef
    """DATABASE_URL of the migration task: app_migrate, direct to the primary."""
    backup_url: SecretRef
    """DATABASE_URL of the backup job: app_backup, direct to the primary."""
    database_libpq_url: SecretRef
    """DATABASE_URL for ai (Python): the same secret's `libpqUrl`, without Prisma's connection_limit."""
    database_read_libpq_url: SecretRef
    """DATABASE_READ_URL for ai: app_ro's `libpqUrl`."""
    redis_url: SecretRef
    """REDIS_URL for web and ai: the RBAC user, TLS."""
    rotations: dict[str, aws.secretsmanager.SecretRotation]
    """Label -> the rotation schedule of each generated secret."""

    def __init__(self, name: str, args: CredentialsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:security:Credentials", name, None, opts)
        database, cache = args.database, args.cache
        self._region = args.context.region
        child = pulumi.ResourceOptions(parent=self)
        archive = lambda_archive()
        connections = database.connection_secrets
        logins = list(database.logins.values())

        self.db_admin = RotationFunction(
            "db-admin", args=args, handler="db_admin.handler.lambda_handler", archive=archive,
            description="bootstraps the app's PostgreSQL roles and rotates the database credentials",
            environment={"MASTER_SECRET_ARN": database.master.secret.arn},
            statements=[*_secret_rw([database.master, *connections.values()], rotate=True),
                        *_secret_rw(logins, rotate=False), RANDOM_PASSWORD, _kms(args.data_key)],
            opts=child)
        db_grants = [grant(self.db_admin, database)]
        if database.proxy is not None:
            db_grants.append(grant(self.db_admin, database.proxy))  # testSecret logs in the way the app does
        if database.replicas:
            db_grants.append(grant(self.db_admin, database.readers))
        # Where the user lives is Pulumi's: every new version names this endpoint and user (redis_rotation.py).
        endpoint = {redis_rotation.ENDPOINT_ENVIRONMENT[key]: value for key, value in (
            ("host", cache.endpoint), ("port", str(cache.port)), ("userId", cache.app_user.user_id),
            ("userArn", cache.app_user.arn))}
        self.redis_rotation = RotationFunction(
            "redis-rotation", args=args, handler="db_admin.redis_rotation.lambda_handler", archive=archive,
            description="rotates the Redis RBAC user's password (two slots, no downtime)", environment=endpoint,
            statements=[*_secret_rw([cache.app_user_secret], rotate=True), RANDOM_PASSWORD, _kms(args.data_key),
                        {"Effect": "Allow", "Action": ["elasticache:ModifyUser", "elasticache:DescribeUsers"],
                         "Resource": [cache.app_user.arn]},
                        # sync: a changed endpoint or user starts a rotation at once (below); RotateSecret "also
                        # need[s] lambda:InvokeFunction permissions on the rotation function" (API reference,
                        # RotateSecret): its own, by name (the function's ARN would be a cycle)
                        {"Effect": "Allow", "Action": ["secretsmanager:RotateSecret"],
                         "Resource": [cache.app_user_secret.secret.arn]},
                        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                         "Resource": [args.context.arn("lambda", "function:" + rotation_function_name(
                             args, "redis-rotation"))]}],
            opts=child)
        redis_grant = grant(self.redis_rotation, cache)

        query = f"sslmode=require&connection_limit={args.pool_size}"
        hosts = {roles.READ_WRITE: database.writer_host, roles.READ_ONLY: database.reader_hostname,
                 roles.MIGRATE: database.primary.address, roles.BACKUP: database.primary.address}
        queries = {roles.READ_WRITE: query, roles.READ_ONLY: query, roles.MIGRATE: "sslmode=require",
                   # backup.sh sets TLS itself (verify-full against the RDS CA) and drops other parameters
                   roles.BACKUP: ""}
        event = json_output({
            "action": "bootstrap",
            "masterSecretArn": database.master.secret.arn,
            "database": {"host": database.primary.address, "port": database.port, "dbname": database.database_name},
            "connections": [{
                "secretArn": ref.secret.arn, "username": role, "host": hosts[role], "port": database.port,
                "dbname": database.database_name, "urlQuery": queries[role],
                "rotation": secret_format.ALTERNATING if role in (roles.READ_WRITE, roles.READ_ONLY)
                else secret_format.SINGLE,
                **({"logins": {user: database.logins[user].secret.arn for user in (role, role + roles.CLONE_SUFFIX)}}
                   if role in (roles.READ_WRITE, roles.READ_ONLY) else {}),
            } for role, ref in connections.items()],
        })
        waits: list[pulumi.Resource] = [database.primary, database.reader_fallback, *db_grants_resources(db_grants),
                                        *args.egress]
        if database.master.version is not None:
            waits.append(database.master.version)
        if database.proxy is not None:
            waits.append(database.proxy.target)  # the proxy serves the app_rw logins from the first task on
        self.bootstrap = aws.lambda_.Invocation(
            "db-bootstrap", function_name=self.db_admin.function.name, input=event,
            triggers={"code": _code_version()},
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits))

        ready = (self.bootstrap,)
        self.database_url = replace(connections[roles.READ_WRITE], ready=ready)
        self.database_read_url = replace(connections[roles.READ_ONLY], ready=ready)
        self.database_libpq_url = replace(self.database_url, json_key=secret_format.LIBPQ_URL)
        self.database_read_libpq_url = replace(self.database_read_url, json_key=secret_format.LIBPQ_URL)
        self.migration_url = replace(connections[roles.MIGRATE], ready=ready)
        self.backup_url = replace(connections[roles.BACKUP], ready=ready)
        self.redis_url = cache.url

        rules = aws.secretsmanager.SecretRotationRotationRulesArgs(
            schedule_expression=f"rate({args.settings.rotation_days} days)", duration=ROTATION_WINDOW)
        self.rotations = {}
        for label in DATABASE_ROTATED:
            ref = database.master if label == "master" else connections[label]
            # The master rotates at once: its first value was in Pulumi state. The others were written by the
            # function and never left it: their first scheduled rotation is soon enough. "At once" is not only at
            # creation: the provider calls RotateSecret with RotateImmediately whenever the rules or the function
            # change (terraform-provider-aws secret_rotation.go, resourceSecretRotationUpdate), so a new
            # credentialRotationDays rotates the master and the Redis user during that `up` (its description says so).
            self.rotations[f"database-{label.replace('_', '-')}"] = self._rotation(
                f"database-{label.replace('_', '-')}", ref, self.db_admin, rules, rotate_now=label == "master",
                waits=[self.bootstrap])
        self.rotations["redis-app"] = self._rotation(
            "redis-app", cache.app_user_secret, self.redis_rotation, rules, rotate_now=True,
            waits=[cache.replication_group, *grant_resources(redis_grant), *args.egress])
        # The secret is written once (its password is the rotation's); when the endpoint or the user it names
        # changes - cluster mode switched on, the group or the user replaced - this re-invocation (its input
        # changed) starts a rotation that writes the new ones, instead of REDIS_URL naming the old endpoint forever.
        self.redis_sync = aws.lambda_.Invocation(
            "redis-sync", function_name=self.redis_rotation.function.name,
            input=json_output({"action": "sync", "secretArn": cache.app_user_secret.secret.arn, **endpoint}),
            triggers={"code": _code_version()},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.rotations["redis-app"]]))
        self.register_outputs({"dbAdminFunctionName": self.db_admin.function.name,
                               "rotatedSecretArns": self.rotated_secret_arns})

    def _rotation(self, label: str, ref: SecretRef, function: RotationFunction,
                  rules: aws.secretsmanager.SecretRotationRotationRulesArgs, *, rotate_now: bool,
                  waits: Sequence[pulumi.Resource]) -> aws.secretsmanager.SecretRotation:
        permission = aws.lambda_.Permission(
            f"{label}-rotation", function=function.function.name, action="lambda:InvokeFunction",
            principal="secretsmanager.amazonaws.com", source_arn=ref.secret.arn,  # this secret only
            opts=pulumi.ResourceOptions(parent=function.function))
        # The rotation starts once the secret has its first value: RotateSecret creates AWSPENDING at once, and a
        # createSecret that finds no AWSCURRENT fails, leaving that label behind, so every later rotation is refused
        # as "still in progress" (RotateSecret, https://docs.aws.amazon.com/secretsmanager/latest/apireference/
        # API_RotateSecret.html). The secret alone is not enough: its value is a separate SecretVersion.
        value = [ref.version] if ref.version is not None else []
        return aws.secretsmanager.SecretRotation(
            f"{label}-rotation", secret_id=ref.secret.id, rotation_lambda_arn=function.function.arn,
            rotation_rules=rules, rotate_immediately=rotate_now,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission, *value, *ref.ready, *waits]))

    @property
    def watches(self) -> dict[str, FunctionWatch]:
        """What Observability alarms on: every error of the bootstrap-and-rotation function and the Redis one."""
        return {"db-admin": FunctionWatch(self.db_admin.function.name),
                "redis-rotation": FunctionWatch(self.redis_rotation.function.name)}

    @property
    def rotated_secret_arns(self) -> list[pulumi.Output[str]]:
        return [rotation.secret_id for rotation in self.rotations.values()]

    @property
    def service_refs(self) -> dict[str, SecretRef]:
        """The data-tier secrets web (Prisma) reads, by environment variable (each task picks what it needs)."""
        return {"DATABASE_URL": self.database_url, "DATABASE_READ_URL": self.database_read_url,
                "REDIS_URL": self.redis_url}

    @property
    def libpq_refs(self) -> dict[str, SecretRef]:
        """The database URLs for a service whose driver parses them with libpq's rules (ai: Python), which refuse
        Prisma's connection_limit; its pool size comes from DATABASE_POOL_SIZE instead."""
        return {"DATABASE_URL": self.database_libpq_url, "DATABASE_READ_URL": self.database_read_libpq_url}

    def bootstrap_command(self) -> pulumi.Output[str]:
        """The command CI runs before migrations (idempotent): invoke the bootstrap with the deploy's own event; it
        exits non-zero, printing the function's error, unless the bootstrap succeeded."""
        region = self._region  # the stack's, whatever region the shell has selected
        return pulumi.Output.all(self.db_admin.function.name, self.bootstrap.input).apply(
            # The CLI's read timeout is 60 s by default, after which it retries the invocation: wait as long as the
            # function may run, and never invoke twice (AWS CLI --cli-read-timeout; aws-cli#2657).
            lambda parts: (f"test \"$(AWS_MAX_ATTEMPTS=1 aws lambda invoke --region {region} --cli-read-timeout "
                           f"{FUNCTION_TIMEOUT_SECONDS + 10} --function-name {parts[0]} --cli-binary-format "
                           f"raw-in-base64-out --payload '{parts[1]}' db-bootstrap.json --query FunctionError "
                           # `false`, not `exit 1`: the runbooks `eval` it in the operator's own shell
                           "--output text)\" = None || { cat db-bootstrap.json; false; }"))


def db_grants_resources(grants: Sequence[Any]) -> list[pulumi.Resource]:
    return [r for g in grants for r in grant_resources(g)]


def grant_resources(granted: Any) -> list[pulumi.Resource]:
    return [r for r in (granted.ingress, granted.egress) if r is not None]
