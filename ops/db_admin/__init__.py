"""The database access function: bootstraps the app's PostgreSQL roles and rotates every generated credential.

Runs as one AWS Lambda package (built from these files plus the pinned pure-Python driver in requirements.txt, see
components/credentials.py) under two names: `db-admin` (PostgreSQL: bootstrap + rotation of the database secrets)
and `redis-rotation` (the Redis RBAC user's secret). Modules import each other relatively so the same code runs as
`ops.db_admin` in the tests and as the top-level package `db_admin` in Lambda.
"""
