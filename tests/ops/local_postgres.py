"""A throwaway PostgreSQL 15 server for tests (skipped where the server binaries are not installed).

TLS on with a self-signed certificate for 127.0.0.1 (clients verify it: sslmode=verify-full / DB_CA_BUNDLE), and run
as the distribution's `postgres` user when the tests run as root (initdb refuses root).
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
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
    template = _template(bindir, as_user)
    root = Path(tempfile.mkdtemp(prefix="maratron-pg-"))  # not under pytest's 0700 base: postgres must reach it
    data = root / "data"
    if as_user:
        shutil.chown(root, "postgres")
    # cp -a keeps the owner (the postgres user) and the modes initdb set (0700 data directory, 0600 server.key).
    subprocess.run(["cp", "-a", str(template / "data"), str(data)], check=True, capture_output=True)
    ca = root / "ca.pem"
    shutil.copyfile(template / "ca.pem", ca)
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


_templates: dict[Path, Path] = {}


def _template(bindir: Path, as_user: list[str]) -> Path:
    """A directory with `data` (a fresh initdb'd cluster with the superuser's password and a TLS certificate) and
    `ca.pem`, made once per session and copied for each server: initdb is ~0.7 s of CPU, a copy ~0.05 s. Under xdist
    the workers share one (in the session's shared directory, removed with it); in a single process it lives until
    the process exits. A copy of the directory of a server that never ran is what initdb would have made."""
    if bindir in _templates:
        return _templates[bindir]
    from tests.conftest import _shared_runs_dir

    shared = _shared_runs_dir()
    if shared is None:
        parent = Path(tempfile.mkdtemp(prefix="maratron-pg-template-"))
        parent.chmod(0o755)  # postgres must reach it
        atexit.register(shutil.rmtree, parent, ignore_errors=True)
        _templates[bindir] = _make_template(parent / "template", bindir, as_user)
        return _templates[bindir]
    shared.mkdir(exist_ok=True)
    name = f"postgres-template-{hashlib.sha256(str(bindir).encode()).hexdigest()[:16]}"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        directory = shared / name
        if not directory.exists():
            partial = _make_template(shared / f"{name}.partial", bindir, as_user)
            partial.rename(directory)
    _templates[bindir] = directory
    return directory


def _make_template(directory: Path, bindir: Path, as_user: list[str]) -> Path:
    shutil.rmtree(directory, ignore_errors=True)  # a partial one left by a killed worker
    directory.mkdir()
    directory.chmod(0o755)  # whatever the umask: postgres must reach it
    data = directory / "data"
    if as_user:
        shutil.chown(directory, "postgres")
    password_file = directory / "superuser-password"
    password_file.write_text(SUPERUSER_PASSWORD + "\n")
    if as_user:
        shutil.chown(password_file, "postgres")
    # SCRAM, not trust: the tests prove that passwords (and verifiers) really authenticate.
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "scram-sha-256", "-U", "postgres",
                    "--pwfile", str(password_file), "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    password_file.unlink()
    # An EC P-256 key: TLS and its verification are the same as with RSA, and it is made in ~1 ms instead of the
    # ~0.3 s (varying with the primes' search) of an RSA 2048 key.
    subprocess.run(["openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(data / "server.key"),
                    "-out", str(data / "server.crt")], check=True, capture_output=True)
    shutil.copyfile(data / "server.crt", directory / "ca.pem")
    (data / "server.key").chmod(0o600)
    if as_user:
        for file in ("server.key", "server.crt"):
            shutil.chown(data / file, "postgres")
    return directory
