"""Connections to PostgreSQL (RDS, RDS Proxy) with the pure-Python pg8000 driver, always over TLS.

TLS is required (the parameter group sets rds.force_ssl=1; RDS Proxy `require_tls`). The certificate is not
verified against a CA: RDS signs instance certificates with its own CA (rds-ca-rsa2048-g1), which is not in the
Lambda runtime's trust store and is not part of this package, so this is libpq's `sslmode=require` - encrypted, inside
the VPC, between security groups that admit only this function - the same promise the app's URLs make. Set
`DB_CA_BUNDLE` (a PEM path inside the package) to verify certificates and host names instead
(docs/database-access.md).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from typing import Any

CONNECT_TIMEOUT_SECONDS = 10


def tls_context() -> ssl.SSLContext:
    bundle = os.environ.get("DB_CA_BUNDLE")
    if bundle:
        return ssl.create_default_context(cafile=bundle)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def connect(value: Mapping[str, Any], *, host: str | None = None, database: str | None = None,
            ssl_context: ssl.SSLContext | None = None) -> Any:
    """A pg8000.native.Connection for the credentials in a secret value (host/port/dbname/username/password)."""
    import pg8000.native  # imported here: the pure helpers of this package must not need the driver

    return pg8000.native.Connection(
        user=str(value["username"]), password=str(value["password"]), host=host or str(value["host"]),
        port=int(value["port"]), database=database or str(value["dbname"]),
        ssl_context=ssl_context if ssl_context is not None else tls_context(),
        timeout=CONNECT_TIMEOUT_SECONDS, application_name="maratron-db-admin")
