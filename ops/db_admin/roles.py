"""The app's PostgreSQL roles and the SQL that converges a database to them (idempotent; run by `bootstrap`).

role          login (CONNECTION LIMIT)  member of  may                                   used by
app_migrate   yes (3)                   -          owns the schema's objects: DDL        migration task (primary)
app_rw(_clone) yes                      app_rw     SELECT/INSERT/UPDATE/DELETE, sequences web, ai DATABASE_URL (proxy)
app_ro(_clone) yes                      app_ro     SELECT                                web, ai DATABASE_READ_URL
app_backup    yes (3)                   app_ro     SELECT (pg_dump)                      backup job (primary)
master        yes                       app_migrate rds_superuser                        this function, operators

The clone is a member of its role, as AWS's alternating-users template makes it (`GRANT <current> TO <pending>`),
so both users of a pair hold exactly the same privileges. app_migrate is single-user on purpose: objects belong to
the role that created them, and a second migrator would own tables the first could not alter.
RDS's master is not a superuser: it can ALTER objects to app_migrate and set default privileges for it only as a
member (`GRANT app_migrate TO CURRENT_USER`). Tested twice against a real PostgreSQL 15 with such a master
(tests/ops/test_db_admin_postgres.py). PostgreSQL 16 changes CREATEROLE (createrole_self_grant): re-run that test on
an engine upgrade.

Pure Python (no driver import): the program reads the role names and limits from here too (the connection budget).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

MIGRATE = "app_migrate"
READ_WRITE = "app_rw"
READ_ONLY = "app_ro"
BACKUP = "app_backup"
CLONE_SUFFIX = "_clone"
SCHEMA = "public"  # Prisma's default schema; the restore check expects it too
EXTENSIONS = ("uuid-ossp", "pg_trgm", "pg_stat_statements")  # the seed's "Enable required extensions" step
LOGINS = (MIGRATE, READ_WRITE, READ_WRITE + CLONE_SUFFIX, READ_ONLY, READ_ONLY + CLONE_SUFFIX, BACKUP)
MEMBERSHIPS = {READ_WRITE + CLONE_SUFFIX: READ_WRITE, READ_ONLY + CLONE_SUFFIX: READ_ONLY, BACKUP: READ_ONLY}
CONNECTION_LIMITS = {MIGRATE: 3, BACKUP: 3}
"""Hard per-role caps the connection budget counts on: `prisma migrate deploy` holds one connection (plus one for a
`prisma db execute`), pg_dump one (plus a retried run overlapping a slow one, plus the single-user rotation's
testSecret, which logs in as app_backup while a dump may hold its slots: "too many connections for role" would fail
the rotation)."""


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    if "\\" in text:
        return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return "'" + text.replace("'", "''") + "'"


Run = Callable[..., list[list[object]] | None]
"""pg8000.native.Connection.run: run(sql, **params) -> rows."""


def converge(run: Run, database: str, verifiers: Mapping[str, str]) -> list[str]:
    """Bring roles, memberships and privileges to the model above; return the statements' first words run.

    `verifiers`: login -> SCRAM verifier of its current password (every login of LOGINS). Every statement is
    idempotent, so running this twice yields the same catalog (the tests compare snapshots)."""
    missing = [login for login in LOGINS if login not in verifiers]
    if missing:
        raise ValueError(f"no password for {missing}")
    q, lit = quote_identifier, quote_literal
    statements: list[str] = []
    existing = {row[0] for row in run("SELECT rolname FROM pg_roles WHERE rolname = ANY(:names)",
                                      names=list(LOGINS)) or []}
    for login in LOGINS:
        # SUPERUSER, REPLICATION and BYPASSRLS can only be granted by a superuser (which RDS's master is not), so
        # they are stated at creation and cannot drift; ALTER restates what the master may set.
        attributes = "LOGIN NOCREATEDB NOCREATEROLE INHERIT"
        if login not in existing:
            attributes += " NOSUPERUSER NOREPLICATION NOBYPASSRLS"
        limit = CONNECTION_LIMITS.get(login, -1)
        statements.append(f"{'ALTER' if login in existing else 'CREATE'} ROLE {q(login)} WITH {attributes} "
                          f"CONNECTION LIMIT {limit} PASSWORD {lit(verifiers[login])}")
    for member, role in MEMBERSHIPS.items():
        statements.append(f"GRANT {q(role)} TO {q(member)}")
    db, schema = q(database), q(SCHEMA)
    statements += [
        f"GRANT {q(MIGRATE)} TO CURRENT_USER",
        f"REVOKE ALL ON DATABASE {db} FROM PUBLIC",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {q(MIGRATE)}, {q(READ_WRITE)}, {q(READ_ONLY)}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC",
        f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {q(MIGRATE)}",
        f"GRANT USAGE ON SCHEMA {schema} TO {q(READ_WRITE)}, {q(READ_ONLY)}",
        *(f"CREATE EXTENSION IF NOT EXISTS {q(extension)}" for extension in EXTENSIONS),
        _ADOPT_MASTER_OBJECTS.replace("<schema>", lit(SCHEMA)).replace("<migrate>", MIGRATE),
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {q(READ_WRITE)}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {q(READ_WRITE)}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {q(READ_ONLY)}",
        f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {q(READ_ONLY)}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(MIGRATE)} IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {q(READ_WRITE)}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(MIGRATE)} IN SCHEMA {schema} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {q(READ_WRITE)}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(MIGRATE)} IN SCHEMA {schema} GRANT SELECT ON TABLES TO {q(READ_ONLY)}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(MIGRATE)} IN SCHEMA {schema} "
        f"GRANT SELECT ON SEQUENCES TO {q(READ_ONLY)}",
        # Migration history is the migrator's alone (the default privileges above gave app_rw CRUD on it).
        _PROTECT_MIGRATION_HISTORY.replace("<schema>", lit(SCHEMA)).replace("<rw>", READ_WRITE),
    ]
    run("BEGIN")
    try:
        for statement in statements:
            run(statement)
        run("COMMIT")
    except Exception:
        run("ROLLBACK")
        raise
    return [" ".join(s.split()[:2]) for s in statements]


# Objects the master created before these roles existed (stacks that ran migrations as the master) move to
# app_migrate: tables first (their owned sequences follow them), then free-standing sequences; extension members
# stay where they are.
_ADOPT_MASTER_OBJECTS = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = <schema> AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
       AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
     ORDER BY c.relkind = 'S', c.relname
  LOOP
    IF r.relkind = 'S' AND (SELECT relowner FROM pg_class WHERE oid = r.oid)
                            <> (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
      CONTINUE;  -- an owned sequence already moved with its table
    END IF;
    EXECUTE format('ALTER %s %I.%I OWNER TO %I',
                   CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                   <schema>, r.relname, '<migrate>');
  END LOOP;
END
$$
"""

_PROTECT_MIGRATION_HISTORY = """
DO $$
BEGIN
  IF to_regclass(format('%I._prisma_migrations', <schema>)) IS NOT NULL THEN
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I._prisma_migrations FROM %I', <schema>, '<rw>');
  END IF;
END
$$
"""
