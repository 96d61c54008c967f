#!/usr/bin/env bash
# Maratron restore drill: restore the newest pg_dump *in the DR region* into a throw-away PostgreSQL inside this task
# and prove it usable (restore_check.sh), then publish the result.
#
# Runs daily as a Fargate task from the backup image (EventBridge Scheduler; components/restore_drill.py). What a
# pass proves, end to end: the backup job wrote a dump, S3 replicated it to the DR region, the DR key decrypts it,
# and it restores into PostgreSQL 15 with the expected tables and extensions. The database server is the image's own
# PostgreSQL 15 (the official postgres image ships it), run as this non-root user on 127.0.0.1 with its data under
# the task's scratch volume: no scratch RDS instance, no network path to any database, no database secret.
#
# Environment:
#   DR_BUCKET        the backups replica in the DR region (stack output drBackupsBucketName)
#   DR_REGION        its region (stack output drRegion)
#   ENVIRONMENT      dev | staging | prod: the dumps' key prefix and the metric dimension
#   METRIC_REGION    where the alarms are (the stack's region)
#   METRIC_NAMESPACE the drill's own CloudWatch namespace (stack output restoreDrillMetricNamespace: <stack prefix>/
#                    restore-drill), the only one its role may put metrics in
# Optional:
#   DRILL_WORK_DIR   scratch directory (default $TMPDIR or /tmp: the task's ephemeral storage)
#   DRILL_PORT       port of the local server (default 54329; 127.0.0.1 only)
#   EXPECTED_TABLES, EXPECTED_EXTENSIONS: passed on to restore_check.sh
#
# Metrics (dimension Environment=<env>): ReplicatedDumpAgeHours as soon as the newest dump is known (a stale DR copy
# shows even when the restore then fails), RestoreDrillSucceeded=1 and RestoreDrillDurationSeconds only when every
# check passed. Exit status 0 only on a pass; the "restore drill missing" alarm watches RestoreDrillSucceeded.
# shellcheck disable=SC2154 # inputs come from the environment (checked below)
set -euo pipefail
umask 077

log() { printf '%s restore-drill: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

require_env() {
  local name
  for name in "$@"; do
    [[ -n "${!name:-}" ]] || die "environment variable $name is not set"
  done
}

# postgresql/<env>/YYYY/MM/DD/maratron_YYYYmmddTHHMMSSZ.dump -> seconds since the epoch (the dump's own timestamp:
# a replica's LastModified is when it was replicated, not when the dump was taken).
dump_epoch() {
  local name=${1##*/} stamp
  [[ $name =~ ^maratron_([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z\.dump$ ]] || return 1
  stamp="${BASH_REMATCH[1]}-${BASH_REMATCH[2]}-${BASH_REMATCH[3]} ${BASH_REMATCH[4]}:${BASH_REMATCH[5]}:${BASH_REMATCH[6]}"
  date -u -d "$stamp" +%s
}

metric() {
  aws cloudwatch put-metric-data --region "$METRIC_REGION" --namespace "$NAMESPACE" --metric-data "$1"
}

main() {
  require_env DR_BUCKET DR_REGION ENVIRONMENT METRIC_REGION METRIC_NAMESPACE
  [[ "$ENVIRONMENT" =~ ^[a-z0-9-]+$ ]] || die "ENVIRONMENT must be lowercase letters, digits and dashes"
  [[ "$DR_REGION" =~ ^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$ ]] || die "DR_REGION must be an AWS region"
  NAMESPACE=$METRIC_NAMESPACE
  local port=${DRILL_PORT:-54329} started=$SECONDS
  local dimensions="[{\"Name\":\"Environment\",\"Value\":\"${ENVIRONMENT}\"}]"

  # 1. The newest dump of the DR copy. Keys sort by time (postgresql/<env>/YYYY/MM/DD/maratron_<UTC>.dump).
  local key
  # JSON output: the CLI applies --query to the whole listing. With text output it applies it to each page of
  # 1,000 keys and prints one newest key per page, two lines once the prefix holds more than 1,000 dumps
  # (https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-filter.html, client-side filtering).
  # shellcheck disable=SC2016 # backticks are JMESPath literals, not command substitution
  key=$(aws s3api list-objects-v2 --region "$DR_REGION" --bucket "$DR_BUCKET" --prefix "postgresql/${ENVIRONMENT}/" \
    --query 'sort_by(Contents[?ends_with(Key, `.dump`)] || `[]`, &Key)[-1].Key' --output json) \
    || die "cannot list s3://${DR_BUCKET}/postgresql/${ENVIRONMENT}/ in ${DR_REGION}"
  key=${key//\"/}  # a JSON string (keys are ours: no quotes inside) or null
  [[ -n $key && $key != null ]] || die "no dump under s3://${DR_BUCKET}/postgresql/${ENVIRONMENT}/"
  local taken age_hours
  taken=$(dump_epoch "$key") || die "unexpected dump name $key"
  age_hours=$(awk -v now="$(date -u +%s)" -v taken="$taken" 'BEGIN { printf "%.2f", (now - taken) / 3600 }')
  log "newest replicated dump: s3://${DR_BUCKET}/${key} (${age_hours} h old)"
  metric "[{\"MetricName\":\"ReplicatedDumpAgeHours\",\"Dimensions\":${dimensions},\"Value\":${age_hours},\"Unit\":\"None\"}]" \
    || die "cannot publish ReplicatedDumpAgeHours"

  # 2. A throw-away PostgreSQL 15 on 127.0.0.1, data on the task's scratch volume, trust auth on loopback only.
  WORK=$(mktemp -d "${DRILL_WORK_DIR:-${TMPDIR:-/tmp}}/maratron-drill.XXXXXX")
  trap cleanup EXIT
  log "starting a local PostgreSQL in $WORK"
  initdb --pgdata="$WORK/data" --username=drill --auth=trust --encoding=UTF8 --locale=C --no-sync >"$WORK/initdb.log" \
    || { tail -n 20 "$WORK/initdb.log" >&2; die "initdb failed"; }
  pg_ctl --pgdata="$WORK/data" --log="$WORK/postgres.log" --wait --timeout=120 start --options="-c \
listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${WORK} -c fsync=off -c full_page_writes=off \
-c synchronous_commit=off" >/dev/null || { tail -n 20 "$WORK/postgres.log" >&2; die "the local PostgreSQL did not start"; }
  STARTED=true

  # 3. Restore it and run the sanity checks (downloads into the scratch directory too).
  TMPDIR="$WORK" AWS_REGION="$DR_REGION" AWS_DEFAULT_REGION="$DR_REGION" BACKUPS_BUCKET="$DR_BUCKET" \
    RESTORE_DATABASE_URL="postgresql://drill@127.0.0.1:${port}/postgres" RESTORE_SSLMODE=disable \
    SCRATCH_DATABASE=restore_drill "$(dirname "${BASH_SOURCE[0]}")/restore_check.sh" --key "$key" \
    || die "restore check of s3://${DR_BUCKET}/${key} failed"

  local duration=$((SECONDS - started))
  metric "[
    {\"MetricName\":\"RestoreDrillSucceeded\",\"Dimensions\":${dimensions},\"Value\":1,\"Unit\":\"Count\"},
    {\"MetricName\":\"RestoreDrillDurationSeconds\",\"Dimensions\":${dimensions},\"Value\":${duration},\"Unit\":\"Seconds\"}
  ]" || die "the drill passed but its success metric could not be published"
  log "passed: s3://${DR_BUCKET}/${key} restored and checked in ${duration}s"
}

STARTED=false
WORK=""
cleanup() {
  local status=$?
  if [[ $STARTED == true ]]; then
    pg_ctl --pgdata="$WORK/data" --mode=immediate stop >/dev/null 2>&1 || log "could not stop the local PostgreSQL"
  fi
  [[ -n $WORK ]] && rm -rf "$WORK"
  exit "$status"
}

main "$@"
