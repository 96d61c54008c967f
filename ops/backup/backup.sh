#!/usr/bin/env bash
# Maratron PostgreSQL backup: pg_dump over verified TLS -> check the archive -> S3 (SSE-KMS) -> success metric.
#
# Runs as a Fargate task every 6 hours (EventBridge Scheduler). Configuration comes from the environment only:
#   DATABASE_URL          postgresql://user:password@writer:5432/maratrondb[?...] - injected by ECS `secrets`
#                         from Secrets Manager; never logged. Prisma-only query parameters (schema=,
#                         connection_limit=, ...) are dropped because libpq rejects them.
#   BACKUPS_BUCKET        the backups bucket (stack output backupsBucketName)
#   BACKUPS_KMS_KEY_ARN   the backups CMK; every object is written with it (SSE-KMS)
#   ENVIRONMENT           dev | staging | prod: the key prefix and the metric dimension
#   METRIC_NAMESPACE      the job's own CloudWatch namespace (stack output backupMetricNamespace: <stack prefix>/
#                         backup), the only one its role may put metrics in
# Optional:
#   BACKUP_SSLMODE        verify-full (default: server certificate checked against the RDS CA bundle baked into
#                         the image), verify-ca or require. Anything weaker is refused.
#   PGSSLROOTCERT         CA bundle (default /etc/ssl/certs/rds-global-bundle.pem)
#   BACKUP_WORK_DIR       scratch directory for the archive (default $TMPDIR or /tmp; Fargate ephemeral storage)
#   ARCHIVE_BUCKET        the archive bucket (stack output walBucketName) and ARCHIVE_PREFIX (dumps/<env>/): the
#   ARCHIVE_PREFIX        first dump of each UTC month is also copied to s3://$ARCHIVE_BUCKET/$ARCHIVE_PREFIX
#                         YYYY/MM/, kept for years (the backups bucket expires dumps after backupExpirationDays)
#
# Output: s3://$BACKUPS_BUCKET/postgresql/<env>/YYYY/MM/DD/maratron_<YYYYmmddTHHMMSSZ>.dump (pg_dump custom format,
# compressed inside the archive), then CloudWatch metrics BackupSucceeded=1, BackupSizeBytes, BackupDurationSeconds
# with dimension Environment=<env>. The "backup missing" alarm watches BackupSucceeded: a run that fails anywhere
# (the month's archive copy included: each run retries it until it is there) publishes nothing and exits non-zero, so
# a silent failure cannot look like success.
# shellcheck disable=SC2154 # DATABASE_URL, BACKUPS_BUCKET, ... come from the task's environment (checked below)
set -euo pipefail
umask 077

log() { printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

require_env() {
  local name
  for name in "$@"; do
    [[ -n "${!name:-}" ]] || die "environment variable $name is not set"
  done
}

# Keep only the query parameters libpq understands (the app's URL may carry Prisma's), and drop sslmode and
# sslrootcert: this job sets TLS itself (PGSSLMODE/PGSSLROOTCERT) so the app's weaker choice cannot apply here.
libpq_url() {
  local url=$1 base query param kept=()
  base=${url%%\?*}
  if [[ "$url" == *\?* ]]; then
    query=${url#*\?}
    IFS='&' read -r -a params <<<"$query"
    for param in "${params[@]}"; do
      case ${param%%=*} in
        connect_timeout | application_name | options | target_session_attrs | keepalives | keepalives_idle) kept+=("$param") ;;
        *) ;;
      esac
    done
  fi
  if ((${#kept[@]})); then
    local IFS='&'
    printf '%s?%s' "$base" "${kept[*]}"
  else
    printf '%s' "$base"
  fi
}

# Move the URL's password into a pgpass file (mode 600, in the run's private directory) and print the URL without
# it: on the command line, any process of the task could read it in /proc/<pid>/cmdline. libpq reads PGPASSFILE
# for the URL's host, port, database and user (https://www.postgresql.org/docs/15/libpq-pgpass.html), compared
# decoded, so each field is percent-decoded and its ':' and '\' escaped. A URL without a password is printed as is.
url_decode() {
  local rest=$1 out="" byte
  while [[ $rest =~ ^([^%]*)%([0-9A-Fa-f]{2})(.*)$ ]]; do
    # shellcheck disable=SC2059 # the format is the escape itself: two hex digits matched above, nothing else
    printf -v byte "\\x${BASH_REMATCH[2]}"
    out+="${BASH_REMATCH[1]}$byte"
    rest=${BASH_REMATCH[3]}
  done
  printf '%s' "$out$rest"
}

pgpass_field() {
  local value
  value=$(url_decode "$1")
  value=${value//\\/\\\\}
  printf '%s' "${value//:/\\:}"
}

password_to_pgpass() {
  local url=$1 file=$2 scheme rest authority tail userinfo hostport host port db user password
  scheme=${url%%://*}
  rest=${url#*://}
  authority=${rest%%[/?]*}
  tail=${rest#"$authority"}
  [[ "$authority" == *@* ]] || { printf '%s' "$url"; return; }
  userinfo=${authority%@*}
  hostport=${authority##*@}
  [[ "$userinfo" == *:* ]] || { printf '%s' "$url"; return; }
  user=${userinfo%%:*}
  password=${userinfo#*:}
  if [[ "$hostport" == \[* ]]; then  # [IPv6]:port
    host=${hostport%%]*}
    host=${host#[}
    port=${hostport#*]}
    port=${port#:}
  else
    host=${hostport%%:*}
    port=${hostport#"$host"}
    port=${port#:}
  fi
  db=${tail#/}
  db=${db%%\?*}
  (umask 077 && printf '%s:%s:%s:%s:%s\n' "$(pgpass_field "$host")" "${port:-5432}" "$(pgpass_field "${db:-*}")" \
    "$(pgpass_field "$user")" "$(pgpass_field "$password")" >"$file")
  printf '%s://%s@%s%s' "$scheme" "$user" "$hostport" "$tail"
}

# The first dump of the month (UTC) also goes to the archive bucket: is a copy under this month's prefix yet? The
# listing's query runs once over every page with --output json (cli-usage-filter.html).
archive_monthly() {
  local dump=$1 stamp=$2 prefix found
  # The month the dump was taken in (its stamp), not the upload's: a dump started before midnight at a month's end
  # belongs to that month, and the next month's first dump is still copied.
  prefix="${ARCHIVE_PREFIX}${stamp:0:4}/${stamp:4:2}/"
  # shellcheck disable=SC2016 # backticks are JMESPath literals, not command substitution
  found=$(aws s3api list-objects-v2 --bucket "$ARCHIVE_BUCKET" --prefix "$prefix" \
    --query 'length(Contents || `[]`)' --output json) || return 1
  [[ $found =~ ^[0-9]+$ ]] || return 1  # anything but a count fails closed (the next run retries)
  if [[ $found != 0 ]]; then
    log "this month's archive copy is in s3://${ARCHIVE_BUCKET}/${prefix}"
    return 0
  fi
  log "first dump of the month: copying to s3://${ARCHIVE_BUCKET}/${prefix}${dump##*/}"
  aws s3 cp "$dump" "s3://${ARCHIVE_BUCKET}/${prefix}${dump##*/}" \
    --sse aws:kms --sse-kms-key-id "$BACKUPS_KMS_KEY_ARN" --checksum-algorithm SHA256 \
    --metadata "environment=${ENVIRONMENT}" --only-show-errors
}

main() {
  require_env DATABASE_URL BACKUPS_BUCKET BACKUPS_KMS_KEY_ARN ENVIRONMENT METRIC_NAMESPACE
  [[ "$ENVIRONMENT" =~ ^[a-z0-9-]+$ ]] || die "ENVIRONMENT must be lowercase letters, digits and dashes"

  export PGSSLMODE=${BACKUP_SSLMODE:-verify-full}
  export PGSSLROOTCERT=${PGSSLROOTCERT:-/etc/ssl/certs/rds-global-bundle.pem}
  case $PGSSLMODE in
    verify-full | verify-ca | require) ;;
    *) die "BACKUP_SSLMODE=$PGSSLMODE would allow an unencrypted connection; use verify-full, verify-ca or require" ;;
  esac
  if [[ $PGSSLMODE == verify-* && ! -r $PGSSLROOTCERT ]]; then
    die "CA bundle $PGSSLROOTCERT is not readable (needed for sslmode=$PGSSLMODE)"
  fi
  export PGAPPNAME=maratron-backup

  local namespace=$METRIC_NAMESPACE
  local started=$SECONDS
  local stamp day work dump key
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  day=$(date -u +%Y/%m/%d)
  work=$(mktemp -d "${BACKUP_WORK_DIR:-${TMPDIR:-/tmp}}/maratron-backup.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the directory is fixed for this run
  trap "rm -rf '$work'" EXIT
  dump="$work/maratron_${stamp}.dump"
  key="postgresql/${ENVIRONMENT}/${day}/maratron_${stamp}.dump"

  local url
  export PGPASSFILE="$work/pgpass"
  url=$(libpq_url "$DATABASE_URL")
  url=$(password_to_pgpass "$url" "$PGPASSFILE")
  log "dumping (custom format, sslmode=$PGSSLMODE)"
  # Custom format is compressed (zlib) and restorable table by table with pg_restore; no gzip needed on top.
  pg_dump --dbname="$url" --format=custom --compress=6 --no-password \
    --lock-wait-timeout=120s --file="$dump" || die "pg_dump exited with status $?"

  log "verifying the archive"
  local toc entries
  toc=$(pg_restore --list "$dump") || die "pg_restore --list cannot read the archive"
  entries=$(grep -cv '^;' <<<"$toc" || true)
  ((entries > 0)) || die "the archive has an empty table of contents"
  local size
  size=$(wc -c <"$dump" | tr -d ' ')
  log "archive ok: ${entries} TOC entries, ${size} bytes"

  log "uploading to s3://${BACKUPS_BUCKET}/${key}"
  aws s3 cp "$dump" "s3://${BACKUPS_BUCKET}/${key}" \
    --sse aws:kms --sse-kms-key-id "$BACKUPS_KMS_KEY_ARN" --checksum-algorithm SHA256 \
    --metadata "environment=${ENVIRONMENT},toc-entries=${entries}" --only-show-errors \
    || die "upload to s3://${BACKUPS_BUCKET}/${key} failed"
  if [[ -n ${ARCHIVE_BUCKET:-} ]]; then
    require_env ARCHIVE_PREFIX
    archive_monthly "$dump" "$stamp" \
      || die "uploaded to s3://${BACKUPS_BUCKET}/${key}, but this month's archive copy failed (the next run retries)"
  fi

  local duration=$((SECONDS - started))
  local dimensions="[{\"Name\":\"Environment\",\"Value\":\"${ENVIRONMENT}\"}]"
  aws cloudwatch put-metric-data --namespace "$namespace" --metric-data "[
    {\"MetricName\":\"BackupSucceeded\",\"Dimensions\":${dimensions},\"Value\":1,\"Unit\":\"Count\"},
    {\"MetricName\":\"BackupSizeBytes\",\"Dimensions\":${dimensions},\"Value\":${size},\"Unit\":\"Bytes\"},
    {\"MetricName\":\"BackupDurationSeconds\",\"Dimensions\":${dimensions},\"Value\":${duration},\"Unit\":\"Seconds\"}
  ]" || die "the backup is uploaded but the success metric could not be published"

  log "done: s3://${BACKUPS_BUCKET}/${key} (${size} bytes, ${duration}s)"
}

main "$@"
