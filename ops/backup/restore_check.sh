#!/usr/bin/env bash
# Maratron restore check: restore the latest backup into a scratch database and prove it is usable.
#
#   restore_check.sh [--drop] [--key postgresql/prod/2026/11/28/maratron_20261128T060000Z.dump | --file DUMP |
#                     --archive-key dumps/prod/2025/11/maratron_20251101T000000Z.dump]
#
# Environment:
#   RESTORE_DATABASE_URL  postgresql://admin:password@host:5432/postgres - a server where this role may CREATE
#                         DATABASE (a PITR-restored instance, a staging instance, a local postgres:15). Never logged.
#                         The restore-check task reads it from its own secret (stack output restoreTargetSecretArn),
#                         so no secret has to travel in `run-task --overrides`.
#     or RESTORE_HOST     with DATABASE_URL: those credentials on another host (a workstation's shortcut).
#   BACKUPS_BUCKET        the backups bucket (stack output backupsBucketName); not needed with --file
#   ARCHIVE_BUCKET        the archive bucket (walBucketName), for --archive-key: a month's first dump, kept for years
#                         after the backups bucket expired it
#   ENVIRONMENT           dev | staging | prod: which prefix holds the dumps; not needed with --key/--file
# Optional:
#   SCRATCH_DATABASE      name of the database to create (default restore_check_<UTC timestamp>); must not exist
#   DROP_SCRATCH          true: drop the scratch database at the end, pass or fail (same as --drop)
#   EXPECTED_TABLES       tables that must exist (default: Users Runs Posts Follows Shoes TrainingPlans)
#   EXPECTED_EXTENSIONS   extensions that must exist (default: uuid-ossp pg_trgm pg_stat_statements)
#   RESTORE_SSLMODE       libpq sslmode for the scratch server (default verify-full with the RDS CA bundle;
#                         `disable` only for a local server)
#   RESTORE_JOBS          pg_restore --jobs (default 2)
#   RESTORE_STRICT        true: stop at the first restore error (pg_restore --exit-on-error)
#
# Prints a report and exits 0 only when every sanity check passed.
# shellcheck disable=SC2154 # inputs come from the environment (checked below)
set -euo pipefail
umask 077

log() { printf '%s restore-check: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

DROP=${DROP_SCRATCH:-false}
KEY=""
FILE=""
ARCHIVE_KEY=""
while (($#)); do
  case $1 in
    --drop) DROP=true ;;
    --key) KEY=${2:?--key needs an S3 key}; shift ;;
    --file) FILE=${2:?--file needs a path}; shift ;;
    --archive-key) ARCHIVE_KEY=${2:?--archive-key needs an S3 key}; shift ;;
    -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done

# DATABASE_URL's user and password on RESTORE_HOST, database `postgres` (query parameters dropped).
url_on_host() {
  local url=${1%%\?*} host=$2 hostport port=5432
  hostport=${url##*@}
  hostport=${hostport%%/*}
  [[ $hostport == *:* ]] && port=${hostport##*:}
  printf '%s@%s:%s/postgres' "${url%@*}" "$host" "$port"
}
if [[ -z "${RESTORE_DATABASE_URL:-}" && -n "${RESTORE_HOST:-}" && -n "${DATABASE_URL:-}" ]]; then
  [[ $RESTORE_HOST =~ ^[A-Za-z0-9.-]+$ ]] || die "RESTORE_HOST must be a host name"
  RESTORE_DATABASE_URL=$(url_on_host "$DATABASE_URL" "$RESTORE_HOST")
fi
[[ -n "${RESTORE_DATABASE_URL:-}" ]] || die "set RESTORE_DATABASE_URL, or RESTORE_HOST with DATABASE_URL"
export PGSSLMODE=${RESTORE_SSLMODE:-verify-full}
export PGSSLROOTCERT=${PGSSLROOTCERT:-/etc/ssl/certs/rds-global-bundle.pem}
export PGAPPNAME=maratron-restore-check
[[ $PGSSLMODE == disable ]] && log "warning: sslmode=disable - only acceptable for a local scratch server"

SCRATCH=${SCRATCH_DATABASE:-restore_check_$(date -u +%Y%m%d%H%M%S)}
[[ $SCRATCH =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "SCRATCH_DATABASE must be a lowercase identifier"
read -r -a TABLES <<<"${EXPECTED_TABLES:-Users Runs Posts Follows Shoes TrainingPlans}"
read -r -a EXTENSIONS <<<"${EXPECTED_EXTENSIONS:-uuid-ossp pg_trgm pg_stat_statements}"

# The admin URL with its database swapped for the scratch one (query parameters kept).
scratch_url() {
  local url=$1 base query=""
  base=${url%%\?*}
  [[ "$url" == *\?* ]] && query="?${url#*\?}"
  printf '%s/%s%s' "${base%/*}" "$SCRATCH" "$query"
}

sql() { psql --no-psqlrc --no-password --tuples-only --no-align --quiet --set ON_ERROR_STOP=1 "$@"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/maratron-restore.XXXXXX")
CREATED=false
cleanup() {
  local status=$?
  rm -rf "$WORK"
  if [[ $CREATED == true && $DROP == true ]]; then
    log "dropping scratch database $SCRATCH"
    sql --dbname="$RESTORE_DATABASE_URL" --command="DROP DATABASE IF EXISTS \"$SCRATCH\" WITH (FORCE)" \
      || log "could not drop $SCRATCH: drop it by hand"
  elif [[ $CREATED == true ]]; then
    log "scratch database $SCRATCH kept (pass --drop to remove it)"
  fi
  exit "$status"
}
trap cleanup EXIT

# 1. Which archive.
if [[ -n $FILE ]]; then
  [[ -r $FILE ]] || die "$FILE is not readable"
  SOURCE=$FILE
  DUMP=$FILE
elif [[ -n $ARCHIVE_KEY ]]; then
  [[ -n "${ARCHIVE_BUCKET:-}" ]] || die "environment variable ARCHIVE_BUCKET is not set (needed for --archive-key)"
  SOURCE="s3://${ARCHIVE_BUCKET}/${ARCHIVE_KEY}"
  DUMP="$WORK/${ARCHIVE_KEY##*/}"
  log "downloading $SOURCE"
  aws s3 cp "$SOURCE" "$DUMP" --only-show-errors || die "download of $SOURCE failed"
else
  [[ -n "${BACKUPS_BUCKET:-}" ]] || die "environment variable BACKUPS_BUCKET is not set"
  if [[ -z $KEY ]]; then
    [[ -n "${ENVIRONMENT:-}" ]] || die "environment variable ENVIRONMENT is not set"
    # JSON output: the CLI applies --query to the whole listing. With text output it applies it to each page of
    # 1,000 keys and prints one newest key per page, two lines once the prefix holds more than 1,000 dumps
    # (https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-filter.html, client-side filtering).
    # shellcheck disable=SC2016 # backticks are JMESPath literals, not command substitution
    KEY=$(aws s3api list-objects-v2 --bucket "$BACKUPS_BUCKET" --prefix "postgresql/${ENVIRONMENT}/" \
      --query 'sort_by(Contents[?ends_with(Key, `.dump`)] || `[]`, &LastModified)[-1].Key' --output json) \
      || die "cannot list s3://${BACKUPS_BUCKET}/postgresql/${ENVIRONMENT}/"
    KEY=${KEY//\"/}  # a JSON string (keys are ours: no quotes inside) or null
    [[ -n $KEY && $KEY != null ]] || die "no dump under s3://${BACKUPS_BUCKET}/postgresql/${ENVIRONMENT}/"
  fi
  SOURCE="s3://${BACKUPS_BUCKET}/${KEY}"
  DUMP="$WORK/${KEY##*/}"
  log "downloading $SOURCE"
  aws s3 cp "$SOURCE" "$DUMP" --only-show-errors || die "download of $SOURCE failed"
fi
SIZE=$(wc -c <"$DUMP" | tr -d ' ')
pg_restore --list "$DUMP" >"$WORK/toc" || die "$SOURCE is not a readable pg_dump archive"

# 2. Restore into a fresh database.
log "creating scratch database $SCRATCH"
sql --dbname="$RESTORE_DATABASE_URL" --command="CREATE DATABASE \"$SCRATCH\"" || die "cannot create $SCRATCH"
CREATED=true
TARGET=$(scratch_url "$RESTORE_DATABASE_URL")
restore_args=(--dbname="$TARGET" --no-owner --no-acl --jobs="${RESTORE_JOBS:-2}")
[[ ${RESTORE_STRICT:-false} == true ]] && restore_args+=(--exit-on-error)
started=$SECONDS
log "restoring $SOURCE"
# Without --exit-on-error pg_restore carries on past harmless errors (e.g. COMMENT ON EXTENSION for a non-owner)
# and exits 1 at the end; the sanity checks below decide whether the result is usable.
restore_status=0
pg_restore "${restore_args[@]}" "$DUMP" 2>"$WORK/restore.log" || restore_status=$?
RESTORE_SECONDS=$((SECONDS - started))
ERRORS=$(grep -c 'error:' "$WORK/restore.log" || true)
# Only errors known to be harmless are ignored: without --exit-on-error pg_restore "will continue ... and display a
# count of errors at the end", so a COPY that failed (a full disk, a bad row) would leave an empty table that the
# checks below count as present. Harmless: the COMMENT ON EXTENSION a non-owner may not run (--no-owner).
UNEXPECTED=$(grep 'error:' "$WORK/restore.log" | grep -cv 'must be owner of extension' || true)
if ((restore_status != 0)) && [[ ${RESTORE_STRICT:-false} == true ]]; then
  sed 's/^/  /' "$WORK/restore.log" >&2
  die "pg_restore failed (strict mode)"
fi

# 3. Sanity queries.
FAILURES=0
REPORT=()
row() { REPORT+=("$(printf '%-6s %-28s %s' "$1" "$2" "$3")"); [[ $1 == FAIL ]] && FAILURES=$((FAILURES + 1)); return 0; }

if [[ $(sql --dbname="$TARGET" --command='SELECT 1') == 1 ]]; then row PASS "SELECT 1" "ok"; else row FAIL "SELECT 1" "no answer"; fi

installed=$(sql --dbname="$TARGET" --command='SELECT extname FROM pg_extension ORDER BY 1' || true)
for extension in "${EXTENSIONS[@]}"; do
  if grep -qx -- "$extension" <<<"$installed"; then row PASS "extension $extension" "present"
  else row FAIL "extension $extension" "missing"; fi
done

for table in "${TABLES[@]}"; do
  if [[ ! $table =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then row FAIL "table $table" "not a plain identifier"; continue; fi
  if count=$(sql --dbname="$TARGET" --command="SELECT count(*) FROM public.\"$table\"" 2>/dev/null); then
    row PASS "table \"$table\"" "$count rows"
  else
    row FAIL "table \"$table\"" "missing or unreadable"
  fi
done

migration=$(sql --dbname="$TARGET" --command='SELECT migration_name FROM public."_prisma_migrations"
  WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1' 2>/dev/null || true)
[[ -n $migration ]] && row INFO "latest Prisma migration" "$migration"
((UNEXPECTED)) && row FAIL "restore errors" "$UNEXPECTED not known to be harmless (see below)"
# pg_restore exits 1 after errors it carried on past (counted above); any other status, or 1 without an error line,
# means it stopped part-way (killed by a signal: 128+n, e.g. the OOM killer's 137), leaving tables created but not
# loaded, which the table checks would count as present with 0 rows.
if ((restore_status > 1 || (restore_status == 1 && ERRORS == 0))); then
  row FAIL "pg_restore exit status" "$restore_status: the restore did not finish"
fi

# 4. Report (stdout).
printf 'Restore check: %s\n' "$SOURCE"
printf '%-35s %s\n' "archive" "$SIZE bytes, $(grep -cv '^;' "$WORK/toc" || true) TOC entries"
printf '%-35s %s\n' "restored into" "$SCRATCH in ${RESTORE_SECONDS}s, $ERRORS restore errors ignored"
printf '%s\n' "${REPORT[@]}"
if ((FAILURES)); then
  printf 'RESULT: FAIL (%d failed)\n' "$FAILURES"
  ((ERRORS)) && sed 's/^/  /' "$WORK/restore.log" | head -20
  exit 1
fi
printf 'RESULT: PASS\n'
