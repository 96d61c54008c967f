"""ops/backup/restore_drill.sh: the daily restore drill, run with stub tools (every call pinned) and, where
PostgreSQL 15 is installed, for real: initdb, a server on 127.0.0.1, restore_check.sh against it; only `aws` is stubbed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.ops.test_backup_scripts import (
    BACKUP,
    BACKUP_DIR,
    BUCKET,
    KMS_KEY,
    LocalPostgres,
    ScriptRun,
    local_postgres,  # noqa: F401 - the module fixture, shared
    script_runner,
)

DRILL = BACKUP_DIR / "restore_drill.sh"
DR_BUCKET = "maratron-prod-backups-dr-123456789012"
KEY = "postgresql/prod/2026/11/28/maratron_20261128T060000Z.dump"
DRILL_ENV = {"DR_BUCKET": DR_BUCKET, "DR_REGION": "us-west-2", "ENVIRONMENT": "prod", "METRIC_REGION": "us-east-1",
             "METRIC_NAMESPACE": "maratron-prod/restore-drill",
             "STUB_LATEST_KEY": KEY, "STUB_TABLES": "Users Runs Posts Follows Shoes TrainingPlans"}


@pytest.fixture
def run_drill(tmp_path: Path) -> Callable[..., ScriptRun]:
    return script_runner(tmp_path, ("pg_restore", "psql", "aws", "initdb", "pg_ctl"))


def metrics(run: ScriptRun) -> list[tuple[str, dict[str, dict[str, object]]]]:
    """(region, metric name -> datum) of every put-metric-data call, in order."""
    found = []
    for call in run.of("aws"):
        if call.argv[:2] == ["cloudwatch", "put-metric-data"]:
            argv = call.argv
            data = json.loads(argv[argv.index("--metric-data") + 1])
            assert argv[argv.index("--namespace") + 1] == DRILL_ENV["METRIC_NAMESPACE"]  # as the task passes it
            found.append((argv[argv.index("--region") + 1], {m["MetricName"]: m for m in data}))
    return found


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert shellcheck
    done = subprocess.run([shellcheck, "--shell=bash", str(DRILL)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
    assert os.access(DRILL, os.X_OK)


def test_drill_restores_the_newest_dr_dump_locally_and_reports(run_drill: Callable[..., ScriptRun],
                                                               tmp_path: Path) -> None:
    run = run_drill(DRILL, **DRILL_ENV)
    assert run.code == 0, run.stderr + run.stdout
    listing = run.of("aws")[0]
    # The DR copy, in its region; the newest dump by key (a replica's LastModified is its replication time).
    assert listing.argv[:8] == ["s3api", "list-objects-v2", "--region", "us-west-2", "--bucket", DR_BUCKET,
                                "--prefix", "postgresql/prod/"]
    assert "&Key)[-1].Key" in listing.argv[listing.argv.index("--query") + 1]
    initdb = run.of("initdb")[0].argv
    assert {"--username=drill", "--auth=trust", "--no-sync"} <= set(initdb)
    start = run.of("pg_ctl")[0].argv
    assert "start" in start and "--wait" in start
    options = next(a for a in start if a.startswith("--options="))
    assert "listen_addresses=127.0.0.1" in options and "-p 54329" in options  # loopback only
    download = next(c for c in run.of("aws") if c.argv[:2] == ["s3", "cp"])
    assert download.argv[2] == f"s3://{DR_BUCKET}/{KEY}"
    restore = next(c for c in run.of("pg_restore") if "--list" not in c.argv)
    assert "--dbname=postgresql://drill@127.0.0.1:54329/restore_drill" in restore.argv
    assert run.of("pg_ctl")[-1].argv[-1] == "stop" and "--mode=immediate" in run.of("pg_ctl")[-1].argv

    (age_region, age), (done_region, done) = metrics(run)
    assert (age_region, done_region) == ("us-east-1", "us-east-1")  # where the alarms are
    taken = dt.datetime(2026, 11, 28, 6, tzinfo=dt.UTC)
    expected_age = (dt.datetime.now(dt.UTC) - taken).total_seconds() / 3600
    assert float(age["ReplicatedDumpAgeHours"]["Value"]) == pytest.approx(expected_age, abs=0.1)
    assert set(done) == {"RestoreDrillSucceeded", "RestoreDrillDurationSeconds"}
    assert done["RestoreDrillSucceeded"]["Value"] == 1
    assert all(m["Dimensions"] == [{"Name": "Environment", "Value": "prod"}] for m in [*age.values(), *done.values()])
    assert "RESULT: PASS" in run.stdout
    assert list((tmp_path / "work").iterdir()) == [], "the dump and the data directory go with the drill"


def test_the_newest_dump_comes_from_the_whole_listing_not_one_per_page(run_drill: Callable[..., ScriptRun]) -> None:
    """Past 1,000 dumps (day ~250 in prod) S3 lists in several pages; the drill still restores the one newest."""
    keys = [f"postgresql/prod/2026/11/{day:02d}/maratron_202611{day:02d}T060000Z.dump" for day in range(24, 29)]
    run = run_drill(DRILL, **{**DRILL_ENV, "STUB_KEYS": " ".join(keys), "STUB_PAGE_SIZE": "2"})
    assert run.code == 0, run.stderr + run.stdout
    download = next(c for c in run.of("aws") if c.argv[:2] == ["s3", "cp"])
    assert download.argv[2] == f"s3://{DR_BUCKET}/{keys[-1]}"


def test_a_failed_check_publishes_the_age_but_no_success(run_drill: Callable[..., ScriptRun], tmp_path: Path) -> None:
    run = run_drill(DRILL, **{**DRILL_ENV, "STUB_TABLES": "Users"})
    assert run.code == 1
    assert "restore check of s3://" in run.stderr
    assert [set(m) for _, m in metrics(run)] == [{"ReplicatedDumpAgeHours"}]
    assert run.of("pg_ctl")[-1].argv[-1] == "stop", "the local server is stopped on failure too"
    assert list((tmp_path / "work").iterdir()) == []


@pytest.mark.parametrize(("env", "message"), [
    ({"STUB_LATEST_KEY": "None"}, f"no dump under s3://{DR_BUCKET}/postgresql/prod/"),
    ({"STUB_LATEST_KEY": "postgresql/prod/2026/11/28/latest.dump"}, "unexpected dump name"),
    ({"DR_REGION": ""}, "DR_REGION is not set"),
    ({"METRIC_NAMESPACE": ""}, "METRIC_NAMESPACE is not set"),  # no shared fallback: the drill's role has its own
    ({"DR_REGION": "west"}, "DR_REGION must be an AWS region"),
    ({"ENVIRONMENT": "Prod"}, "ENVIRONMENT must be lowercase"),
])
def test_drill_fails_early_without_starting_a_server(run_drill: Callable[..., ScriptRun], env: dict[str, str],
                                                     message: str) -> None:
    run = run_drill(DRILL, **{**DRILL_ENV, **env})
    assert run.code == 1 and message in run.stderr, run.stderr
    assert run.of("initdb") == [] and not any(set(m) & {"RestoreDrillSucceeded"} for _, m in metrics(run))


def test_dockerfile_ships_the_drill() -> None:
    text = (BACKUP_DIR / "Dockerfile").read_text()
    assert re.search(r"(?m)^COPY --chmod=0555 .*\brestore_drill\.sh\b.* /usr/local/bin/$", text)


# --- for real ----------------------------------------------------------------------------------------------------

AS_POSTGRES = r'''#!/usr/bin/env bash
# initdb and pg_ctl refuse root: run them as the postgres user, as the task runs them as uid 1001.
for arg in "$@"; do
  case $arg in --pgdata=*) chown postgres "$(dirname "${arg#--pgdata=}")" ;; esac
done
exec {runuser} -u postgres -- "{bindir}/$(basename "$0")" "$@"
'''


def test_drill_round_trip_with_real_postgres(local_postgres: LocalPostgres, tmp_path: Path) -> None:  # noqa: F811
    """backup.sh dumps a real database into a directory standing in for the DR replica; restore_drill.sh starts its own
    PostgreSQL 15 (initdb, pg_ctl), restores the newest dump into it with restore_check.sh and passes."""
    if os.geteuid() != 0 or not shutil.which("runuser"):
        pytest.skip("the real drill runs its server as the postgres user (needs root and runuser here)")
    wrappers = tmp_path / "as-postgres"
    wrappers.mkdir()
    for tool in ("initdb", "pg_ctl"):
        (wrappers / tool).write_text(AS_POSTGRES.replace("{bindir}", str(local_postgres.bindir))
                                     .replace("{runuser}", str(shutil.which("runuser"))))
        (wrappers / tool).chmod(0o755)
    run = script_runner(tmp_path, ("aws",), extra_path=f"{wrappers}:{local_postgres.bindir}")
    bucket = tmp_path / "bucket"
    database_url = local_postgres.url.rsplit("/", 1)[0] + "/maratrondb?sslmode=disable"
    backup = run(BACKUP, DATABASE_URL=database_url, BACKUPS_BUCKET=BUCKET, BACKUPS_KMS_KEY_ARN=KMS_KEY,
                 ENVIRONMENT="prod", METRIC_NAMESPACE="maratron-prod/backup", PGSSLROOTCERT=str(local_postgres.ca),
                 STUB_BUCKET_DIR=str(bucket))
    assert backup.code == 0, backup.stderr
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="maratron-drill-"))  # not under pytest's 0700 base: postgres must reach it
    work.chmod(0o777)
    try:
        with FreePort() as port:
            drill = run(DRILL, DR_BUCKET=DR_BUCKET, DR_REGION="us-west-2", ENVIRONMENT="prod",
                        METRIC_REGION="us-east-1", METRIC_NAMESPACE="maratron-prod/restore-drill",
                        STUB_BUCKET_DIR=str(bucket), DRILL_WORK_DIR=str(work),
                        DRILL_PORT=str(port))
        leftovers = list(work.iterdir())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert drill.code == 0, drill.stdout + drill.stderr
    lines = drill.stdout.splitlines()
    assert any(re.fullmatch(r'PASS\s+table "Runs"\s+6 rows', line) for line in lines), lines
    assert lines[-1] == "RESULT: PASS"
    assert [set(m) for _, m in metrics(drill)] == [{"ReplicatedDumpAgeHours"},
                                                   {"RestoreDrillSucceeded", "RestoreDrillDurationSeconds"}]
    assert leftovers == [], "data directory and dump removed, server stopped"


class FreePort:
    """A free TCP port on 127.0.0.1 (released before the drill binds it)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    def __exit__(self, *_: object) -> None:
        return None
