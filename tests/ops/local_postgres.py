"""A throwaway PostgreSQL 15 server for tests (skipped where the server binaries are not installed).

TLS on with a self-signed certificate for 127.0.0.1 (clients verify it: sslmode=verify-full / DB_CA_BUNDLE), and run
as the distribution's `postgres` user when the tests run as root (initdb refuses root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER_PASSWORD = "postgres-test-superuser"


def postgres_bindir() -> Path | None:
    candidates = [Path(p).resolve().parent for p in (shutil.which("pg_ctl"),) if p]
    candidates += sorted(Path("/usr/lib/postgresql").glob("15/bin"))
    return next((d for d in candidates if (d / "pg_ctl").exists() and (d / "initdb").exists()), None)


@dataclass(frozen=True)
class LocalPostgres:
    bindir: Path
    url: str
    """Superuser URL of the `postgres` database."""
    ca: Path
    """The server's self-signed certificate: the root to verify it against."""
    port: int
    log: Path
    """The server log (log_statement and friends write here)."""

    def sql(self, database: str, command: str) -> str:
        return subprocess.run([str(self.bindir / "psql"), "-Atq", "-v", "ON_ERROR_STOP=1",
                               f"{self.url.rsplit('/', 1)[0]}/{database}", "-c", command],
                              capture_output=True, text=True, check=True,
                              env={"PGSSLMODE": "verify-full", "PGSSLROOTCERT": str(self.ca)}).stdout


@contextmanager
def running_postgres(*settings: str) -> Iterator[LocalPostgres]:
    """Start a server (extra `-c name=value` settings), yield it, stop it and delete its files."""
    bindir = postgres_bindir()
    if bindir is None or not shutil.which("openssl"):
        pytest.skip("PostgreSQL 15 server binaries or openssl not installed (apt-get install postgresql-15)")
    as_user: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="maratron-pg-"))  # not under pytest's 0700 base: postgres must reach it
    data = root / "data"
    if as_user:
        shutil.chown(root, "postgres")
    password_file = root / "superuser-password"
    password_file.write_text(SUPERUSER_PASSWORD + "\n")
    if as_user:
        shutil.chown(password_file, "postgres")
    # SCRAM, not trust: the tests prove that passwords (and verifiers) really authenticate.
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "scram-sha-256", "-U", "postgres",
                    "--pwfile", str(password_file), "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-x509", "-days", "1", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(data / "server.key"),
                    "-out", str(data / "server.crt")], check=True, capture_output=True)
    ca = root / "ca.pem"
    shutil.copyfile(data / "server.crt", ca)
    (data / "server.key").chmod(0o600)
    if as_user:
        for file in ("server.key", "server.crt"):
            shutil.chown(data / file, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = root / "log"
    options = " ".join([f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root}",
                        "-c ssl=on -c fsync=off", *(f"-c {s}" for s in settings)])
    ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log)]
    subprocess.run([*ctl, "-o", options, "-w", "start"], check=True, capture_output=True)
    try:
        yield LocalPostgres(bindir, f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{port}/postgres", ca,
                            port, log)
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
