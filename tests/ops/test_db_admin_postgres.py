"""The db-admin function against a real PostgreSQL 15 and an in-process Secrets Manager (moto).

The server mimics RDS where it matters: SCRAM authentication, TLS, `log_statement=ddl` (the parameter group's), and
a master that is not a superuser (CREATEROLE CREATEDB, owner of maratrondb) and that created a table before the
roles existed. Extensions are pre-created by the superuser, as rds_superuser may on RDS.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pg8000.native
import pytest
from moto import mock_aws

from ops.db_admin import handler, roles, scram, secret_format
from tests.ops.local_postgres import SUPERUSER_PASSWORD, LocalPostgres, running_postgres
from tests.ops.rotating_secrets import RotatingSecretsManager

MASTER_PASSWORD = "MasterPassw0rdInitialValue1234567890abcd"
SCHEMA_SNAPSHOT = """
SELECT json_build_object(
  'roles', (SELECT json_agg(json_build_array(rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb,
                                             rolconnlimit, rolinherit) ORDER BY rolname)
            FROM pg_roles WHERE rolname LIKE 'app\\_%'),
  'members', (SELECT json_agg(json_build_array(r.rolname, m.rolname) ORDER BY r.rolname, m.rolname)
              FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member),
  'owners', (SELECT json_agg(json_build_array(relname, pg_get_userbyid(relowner)) ORDER BY relname)
             FROM pg_class WHERE relnamespace = 'public'::regnamespace),
  'acl', (SELECT json_agg(json_build_array(relname, relacl::text) ORDER BY relname)
          FROM pg_class WHERE relnamespace = 'public'::regnamespace),
  'defaults', (SELECT json_agg(defaclacl::text ORDER BY defaclobjtype) FROM pg_default_acl),
  'database', (SELECT datacl::text FROM pg_database WHERE datname = 'maratrondb'))
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LocalPostgres]:
    with running_postgres("log_statement=ddl", "log_min_messages=info") as pg:
        pg.sql("postgres", f"CREATE ROLE maratron LOGIN CREATEROLE CREATEDB PASSWORD '{MASTER_PASSWORD}'")
        pg.sql("postgres", "CREATE DATABASE maratrondb OWNER maratron")
        pg.sql("maratrondb", 'CREATE EXTENSION "uuid-ossp"; CREATE EXTENSION pg_trgm; '
                             "CREATE EXTENSION pg_stat_statements; ALTER SCHEMA public OWNER TO maratron")
        yield pg


@pytest.fixture(scope="module")
def superuser(server: LocalPostgres) -> Iterator[pg8000.native.Connection]:
    """One superuser session on maratrondb for the module's own statements (resetting the master's password before
    each test, the catalog snapshots), in place of a psql process and a new server backend for each one: ~40 ms of
    CPU each, over TLS with SCRAM like every other login here."""
    connection = login(server, "postgres", SUPERUSER_PASSWORD)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def aws_session() -> boto3.Session:
    """One session for the module's clients: mock_aws() drops boto3's default session on every start, and a new
    session loads botocore's endpoint and service data again (~0.1 s of CPU per test). The mock itself, and with it
    every secret, is still new for each test."""
    return boto3.Session()


@pytest.fixture()
def env(server: LocalPostgres, superuser: pg8000.native.Connection, aws_session: boto3.Session,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Secrets Manager with the secrets the program creates (values: only the master's initial one)."""
    superuser.run(f"ALTER ROLE maratron PASSWORD '{MASTER_PASSWORD}'")  # a test may have rotated it
    monkeypatch.setenv("DB_CA_BUNDLE", str(server.ca))
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        sm = aws_session.client("secretsmanager", region_name="us-east-1")

        def secret(name: str) -> str:
            return str(sm.create_secret(Name=name)["ARN"])

        master = secret("t/database/master")
        sm.put_secret_value(SecretId=master, SecretString=json.dumps(secret_format.with_url({
            "engine": "postgres", "host": "127.0.0.1", "port": server.port, "dbname": "maratrondb",
            "username": "maratron", "password": MASTER_PASSWORD, "urlQuery": "sslmode=require",
            "rotation": "master"})))
        monkeypatch.setenv("MASTER_SECRET_ARN", master)
        logins = {login: secret(f"t/database/users/{login}") for login in
                  ("app_rw", "app_rw_clone", "app_ro", "app_ro_clone")}
        connections = []
        for role, strategy in (("app_rw", "alternating"), ("app_ro", "alternating"), ("app_migrate", "single"),
                               ("app_backup", "single")):
            arn = secret(f"t/database/{role}")
            connections.append({
                "secretArn": arn, "username": role, "rotation": strategy, "host": "127.0.0.1", "port": server.port,
                "dbname": "maratrondb", "urlQuery": "sslmode=require&connection_limit=10",
                **({"logins": {u: a for u, a in logins.items() if u.startswith(role)}}
                   if strategy == "alternating" else {})})
        event = {"action": "bootstrap", "masterSecretArn": master, "connections": connections,
                 "database": {"host": "127.0.0.1", "port": server.port, "dbname": "maratrondb"}}
        yield {"sm": sm, "event": event, "master": master, "logins": logins,
               "arn": {c["username"]: c["secretArn"] for c in connections}, "server": server,
               "superuser": superuser}


def value(sm: Any, arn: str, stage: str = "AWSCURRENT") -> dict[str, Any]:
    return json.loads(sm.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"])


def login(server: LocalPostgres, user: str, password: str) -> pg8000.native.Connection:
    import ssl

    context = ssl.create_default_context(cafile=str(server.ca))
    return pg8000.native.Connection(user=user, password=password, host="127.0.0.1", port=server.port,
                                    database="maratrondb", ssl_context=context)


def as_role(env: dict[str, Any], role: str) -> pg8000.native.Connection:
    current = value(env["sm"], env["arn"][role.removesuffix("_clone")])
    if current["username"] != role:
        current = value(env["sm"], env["logins"][role])
    return login(env["server"], role, current["password"])


def snapshot(superuser: pg8000.native.Connection) -> Any:
    """The catalog as JSON (pg8000 parses the json value)."""
    return superuser.run(SCHEMA_SNAPSHOT)[0][0]


def sqlstate(connection: pg8000.native.Connection, statement: str) -> str | None:
    try:
        connection.run(statement)
    except pg8000.native.DatabaseError as error:
        return str(error.args[0]["C"])
    return None


def test_scram_verifier_is_what_postgres_authenticates(env: dict[str, Any]) -> None:
    server = env["server"]
    env["superuser"].run(f"CREATE ROLE scram_probe LOGIN PASSWORD '{scram.verifier('probePassword123')}'")
    login(server, "scram_probe", "probePassword123").close()
    with pytest.raises(pg8000.native.DatabaseError):
        login(server, "scram_probe", "wrongPassword123")
    assert scram.verifier("x" * 20, salt=b"0" * 16) == scram.verifier("x" * 20, salt=b"0" * 16)


def test_bootstrap_twice_converges_to_the_same_catalog_and_keeps_passwords(env: dict[str, Any]) -> None:
    server, sm = env["server"], env["sm"]
    legacy = login(server, "maratron", MASTER_PASSWORD)  # a stack that migrated as the master before this issue
    legacy.run('CREATE TABLE IF NOT EXISTS "Legacy" (id serial PRIMARY KEY, note text)')
    legacy.close()

    first = handler.bootstrap(env["event"], sm=sm)
    catalog, secrets = snapshot(env["superuser"]), {arn: value(sm, arn) for arn in env["arn"].values()}
    second = handler.bootstrap(env["event"], sm=sm)

    assert snapshot(env["superuser"]) == catalog, "a second bootstrap changes nothing"
    assert {arn: value(sm, arn) for arn in env["arn"].values()} == secrets, "existing passwords are kept"
    assert first["roles"] == sorted(roles.LOGINS) and second["secretsWritten"] == []
    assert ["Legacy", "app_migrate"] in catalog["owners"] and ["Legacy_id_seq", "app_migrate"] in catalog["owners"]
    assert ["app_ro", "app_backup"] in catalog["members"] and ["app_rw", "app_rw_clone"] in catalog["members"]
    limits = {row[0]: row[5] for row in catalog["roles"]}
    # app_backup: a dump, a retried dump overlapping it, and the rotation's test login
    assert limits["app_migrate"] == roles.CONNECTION_LIMITS["app_migrate"] and limits["app_backup"] == 3
    assert not any(row[2] or row[3] or row[4] for row in catalog["roles"]), "no app role is privileged"


def test_connection_secrets_hold_a_url_that_matches_their_credentials(env: dict[str, Any]) -> None:
    sm = env["sm"]
    handler.bootstrap(env["event"], sm=sm)
    rw = value(sm, env["arn"]["app_rw"])
    assert rw["url"] == (f"postgresql://app_rw:{rw['password']}@127.0.0.1:{env['server'].port}/maratrondb"
                         "?sslmode=require&connection_limit=10")
    assert value(sm, env["logins"]["app_rw"]) == {"username": "app_rw", "password": rw["password"]}
    clone = value(sm, env["logins"]["app_rw_clone"])
    assert clone["password"] != rw["password"] and len(clone["password"]) == handler.PASSWORD_LENGTH
    assert "maratron" not in json.dumps([value(sm, arn) for arn in env["arn"].values()]).replace("maratrondb", "")


def test_a_libpq_driver_connects_with_libpq_url_and_refuses_the_prisma_url(env: dict[str, Any]) -> None:
    """ai (Python) reads `libpqUrl`: a driver that parses the URL by libpq's rules (psql here; psycopg and asyncpg
    alike) refuses the whole URL over Prisma's connection_limit, and connects with libpq's parameters only."""
    import subprocess

    handler.bootstrap(env["event"], sm=env["sm"])
    rw = value(env["sm"], env["arn"]["app_rw"])
    server: LocalPostgres = env["server"]

    def psql(url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(server.bindir / "psql"), url, "-XAtc", "select current_user"],
                              env={**os.environ, "PGSSLROOTCERT": str(server.ca)}, capture_output=True, text=True)

    assert rw[secret_format.LIBPQ_URL] == rw["url"].removesuffix("&connection_limit=10")
    connected = psql(rw[secret_format.LIBPQ_URL])
    assert (connected.returncode, connected.stdout.strip()) == (0, "app_rw"), connected.stderr
    refused = psql(rw["url"])
    assert refused.returncode != 0 and 'invalid URI query parameter: "connection_limit"' in refused.stderr


def test_bootstrap_rerenders_the_url_when_the_program_changes_it(env: dict[str, Any]) -> None:
    sm, event = env["sm"], env["event"]
    handler.bootstrap(event, sm=sm)
    before = value(sm, env["arn"]["app_rw"])
    changed = json.loads(json.dumps(event))
    changed["connections"][0]["urlQuery"] = "sslmode=require&connection_limit=5"
    handler.bootstrap(changed, sm=sm)
    after = value(sm, env["arn"]["app_rw"])
    assert after["password"] == before["password"] and after["url"].endswith("connection_limit=5")


def test_privileges_per_role(env: dict[str, Any]) -> None:
    handler.bootstrap(env["event"], sm=env["sm"])
    migrate = as_role(env, "app_migrate")
    migrate.run('CREATE TABLE IF NOT EXISTS "Runs" (id serial PRIMARY KEY, km numeric)')  # after the bootstrap
    migrate.close()
    for user in ("app_rw", "app_rw_clone"):
        rw = as_role(env, user)
        rw.run('INSERT INTO "Runs" (km) VALUES (5)')
        rw.run('INSERT INTO "Legacy" (note) VALUES (:n)', n=user)
        assert sqlstate(rw, "CREATE TABLE nope (id int)") == "42501"
        assert sqlstate(rw, "GRANT app_migrate TO app_rw") == "42501"
        rw.close()
    for user in ("app_ro", "app_ro_clone", "app_backup"):
        ro = as_role(env, user) if user != "app_backup" else login(
            env["server"], "app_backup", value(env["sm"], env["arn"]["app_backup"])["password"])
        assert ro.run('SELECT count(*) FROM "Runs"')[0][0] >= 2
        assert sqlstate(ro, 'INSERT INTO "Runs" (km) VALUES (1)') == "42501"
        ro.close()


def test_no_plaintext_password_reaches_the_server_log(env: dict[str, Any]) -> None:
    sm = env["sm"]
    handler.bootstrap(env["event"], sm=sm)
    passwords = [value(sm, arn)["password"] for arn in [*env["arn"].values(), *env["logins"].values()]]
    log = env["server"].log.read_text()
    assert "ALTER ROLE" in log, "log_statement=ddl records the role statements"
    assert not [p for p in passwords if p in log]


def run_rotation(sm: RotatingSecretsManager, arn: str, steps: tuple[str, ...] = (
        "createSecret", "setSecret", "testSecret", "finishSecret")) -> str:
    token = sm.start(arn)
    for step in steps:
        handler.rotate({"SecretId": arn, "ClientRequestToken": token, "Step": step}, sm=sm, sleep=lambda _: None)
    if "finishSecret" in steps:  # the service then takes AWSPENDING off the finished version
        sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=token)
        del sm.pending[arn]
    return token


@pytest.fixture()
def rotatable(env: dict[str, Any]) -> dict[str, Any]:
    env["sm"] = RotatingSecretsManager(env["sm"])
    handler.bootstrap(env["event"], sm=env["sm"])
    return env


def test_alternating_rotation_switches_user_and_keeps_the_old_login_valid(rotatable: dict[str, Any]) -> None:
    env, sm = rotatable, rotatable["sm"]
    arn = env["arn"]["app_rw"]
    before = value(sm, arn)
    token = run_rotation(sm, arn)
    after = value(sm, arn)
    assert after["username"] == "app_rw_clone" and after["password"] != before["password"]
    assert sm.describe_secret(SecretId=arn)["VersionIdsToStages"][token] == ["AWSCURRENT"]
    login(env["server"], "app_rw", before["password"]).close()  # tasks started before still log in
    login(env["server"], "app_rw_clone", after["password"]).close()
    assert value(sm, env["logins"]["app_rw_clone"]) == {"username": "app_rw_clone", "password": after["password"]}
    back = value(sm, arn) if run_rotation(sm, arn) else None
    assert back is not None and back["username"] == "app_rw", "the next rotation switches back"
    assert back["url"].startswith("postgresql://app_rw:")


def test_single_and_master_rotation_change_the_password_in_place(rotatable: dict[str, Any]) -> None:
    env, sm = rotatable, rotatable["sm"]
    for arn, user in ((env["arn"]["app_migrate"], "app_migrate"), (env["master"], "maratron")):
        before = value(sm, arn)
        run_rotation(sm, arn)
        after = value(sm, arn)
        assert after["username"] == user and after["password"] != before["password"]
        login(env["server"], user, after["password"]).close()
        with pytest.raises(pg8000.native.DatabaseError):
            login(env["server"], user, before["password"])
    log = env["server"].log.read_text()
    assert value(sm, env["master"])["password"] not in log


def test_a_login_rotates_while_the_master_is_half_way_through_its_own(rotatable: dict[str, Any]) -> None:
    """Both rotate in the same window: between the master's setSecret and finishSecret the database has the master's
    new password and AWSCURRENT the old one, so the login's setSecret logs in with the master's AWSPENDING."""
    env, sm = rotatable, rotatable["sm"]
    master_token = run_rotation(sm, env["master"], steps=("createSecret", "setSecret"))
    arn = env["arn"]["app_migrate"]
    before = value(sm, arn)
    run_rotation(sm, arn)
    after = value(sm, arn)
    assert after["password"] != before["password"]
    login(env["server"], "app_migrate", after["password"]).close()
    for step in ("testSecret", "finishSecret"):  # the master's rotation ends as usual
        handler.rotate({"SecretId": env["master"], "ClientRequestToken": master_token, "Step": step}, sm=sm,
                       sleep=lambda _: None)
    login(env["server"], "maratron", value(sm, env["master"])["password"]).close()


def test_bootstrap_refuses_while_a_rotation_is_pending(rotatable: dict[str, Any]) -> None:
    env, sm = rotatable, rotatable["sm"]
    arn = env["arn"]["app_ro"]
    run_rotation(sm, arn, steps=("createSecret",))
    with pytest.raises(handler.RotationInProgressError, match="being rotated"):
        handler.bootstrap(env["event"], sm=sm)


@pytest.mark.parametrize("role", ["app_rw", "app_migrate"])
def test_a_rotation_that_starts_during_a_bootstrap_waits_for_it(rotatable: dict[str, Any], role: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduled rotation that begins after the bootstrap's pending check used to have its new password put back
    by the converge: AWSCURRENT then named a password PostgreSQL refused. Both take ROLES_LOCK: the rotation's
    setSecret waits for the bootstrap, then sets its password, and AWSCURRENT logs in."""
    env, sm = rotatable, rotatable["sm"]
    arn = env["arn"][role]
    real_converge = roles.converge
    rotation: dict[str, Any] = {}

    def converge(*args: Any, **kwargs: Any) -> list[str]:
        thread = threading.Thread(target=lambda: rotation.setdefault("token", run_rotation(sm, arn)))
        thread.start()
        rotation["thread"] = thread
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        deadline = time.monotonic() + 30
        while env["superuser"].run(waiting)[0][0] == 0:  # the rotation's setSecret is queued on the lock
            assert time.monotonic() < deadline and thread.is_alive(), "the rotation never waited for the bootstrap"
            time.sleep(0.05)
        return real_converge(*args, **kwargs)

    monkeypatch.setattr(roles, "converge", converge)
    handler.bootstrap(env["event"], sm=sm)
    rotation["thread"].join(timeout=60)
    assert "token" in rotation, "the rotation did not finish"
    current = value(sm, arn)
    login(env["server"], current["username"], current["password"]).close()


def test_handler_logs_no_secret_value(rotatable: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    env, sm = rotatable, rotatable["sm"]
    caplog.set_level("INFO")
    run_rotation(sm, env["arn"]["app_ro"])
    handler.bootstrap(env["event"], sm=sm)
    secrets = [value(sm, arn)["password"] for arn in [*env["arn"].values(), env["master"]]]
    assert caplog.text and not [s for s in secrets if s in caplog.text]


def test_pg_dump_as_the_backup_role(rotatable: dict[str, Any], tmp_path: Any) -> None:
    import subprocess

    env = rotatable
    backup = value(env["sm"], env["arn"]["app_backup"])
    server: LocalPostgres = env["server"]
    result = subprocess.run([str(server.bindir / "pg_dump"), "-Fc", "-f", str(tmp_path / "x.dump"),
                             f"postgresql://app_backup@127.0.0.1:{server.port}/maratrondb"],
                            env={**os.environ, "PGPASSWORD": backup["password"], "PGSSLMODE": "verify-full",
                                 "PGSSLROOTCERT": str(server.ca)}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
