"""SCRAM-SHA-256 password verifiers, computed client-side (RFC 5802 / RFC 7677, as PostgreSQL stores them).

Why: the parameter group logs DDL (`log_statement=ddl`) and RDS exports that log to CloudWatch, so a plaintext
`ALTER ROLE ... PASSWORD '<password>'` would put the password into the log group. PostgreSQL logs the statement
verbatim ("PostgreSQL logs the password in clear text", https://repost.aws/knowledge-center/rds-postgresql-cleartext-logging).
A pre-computed verifier is stored as-is and authenticates the password, yet cannot be replayed as a client proof.
Passwords here are ASCII letters and digits (Secrets Manager GetRandomPassword without punctuation), for which
SASLprep is the identity.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ITERATIONS = 4096  # PostgreSQL's default scram_iterations


def verifier(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` for `password`."""
    if not password.isascii() or not password.isprintable():
        raise ValueError("only printable ASCII passwords are supported (SASLprep is then the identity)")
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
