#!/usr/bin/env bash
# One environment's release, in the order AWS needs (docs/runbooks/deploy.md, "Release sequence"):
#
#   ops/release.sh <stack> <policy-pack-config.json> [<run id>]
#
# 0. A full preview with the policy pack: a broken foundation, an image that was never pushed or a mandatory
#    violation stops the release here, before step 1 changes anything.
# 1. Existing stack: register the migration task definition with the release's image only (a targeted update), run
#    the app-role bootstrap (the stack's `dbBootstrapCommand`: one db-admin invocation, idempotent, non-zero unless
#    it succeeded; the migration logs in as app_migrate, which it converges), and run the migration to completion
#    (ops.run_task fails the release unless every container exits 0), once no backup task runs (--after). The
#    running services keep serving the old image meanwhile, so migrations must be backward compatible (expand, then
#    contract later). The exported command
#    names the task definition's family, so it runs the revision step 1 registered. A stack without a
#    `dbBootstrapCommand` output (created before the app roles) takes the first-deploy path once: its migration
#    login exists only after `pulumi up`.
# 2. `pulumi up`: every service waits for steady state (bounded); a task that cannot start fails the update.
# 3. First deploy only: the bootstrap and the migration run now (the task definition did not exist before step 2),
#    before anything else can fail: web is up and waits for its schema. /api/health is a liveness check (the seed
#    keeps database checks in /api/performance), so the services became healthy without it.
# 4. Tag the images the stack now runs `deployed-<env>-<run id>` (ops.tag_deployed_images): the foundation's
#    repository lifecycle never expires them (default run id: $GITHUB_RUN_ID, else a UTC timestamp).
# 5. The gate: each service runs the task definition this update registered (`ops.verify --only 'ecs.*'`). A release
#    the circuit breaker rolled back passes `aws ecs wait services-stable` and the provider's steady-state wait, not this.
set -euo pipefail
usage="usage: ops/release.sh <stack> <policy pack config> [<run id>]"
stack=${1:?$usage}
pack_config=${2:?$usage}
run_id=${3:-${GITHUB_RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)}}
name=${stack##*/}
pack=(--policy-pack policies --policy-pack-config "$pack_config")
python=${PYTHON:-.venv/bin/python}
work=$(mktemp -d)
outputs="$work/outputs.json"
trap 'rm -rf "$work"' EXIT

# The release's time budget, which tests/test_workflows.py adds up against the job's timeout-minutes (a job killed
# mid-`pulumi up` leaves the stack locked): a backup still running after BACKUP_WAIT_MINUTES fails the release before
# the migration and the services change (step 1's targeted update of the migration task definition has run: harmless;
# run the release again after the backup), and a migration may take MIGRATION_TIMEOUT_MINUTES (the environment's
# variable), at most MAX_MIGRATION_MINUTES in CI; a longer one runs from an operator session (docs/runbooks/deploy.md).
BACKUP_WAIT_MINUTES=10
MAX_MIGRATION_MINUTES=25
migration_timeout=${MIGRATION_TIMEOUT_MINUTES:-20}
if ! [[ $migration_timeout =~ ^[1-9][0-9]*$ ]] || (( 10#$migration_timeout > MAX_MIGRATION_MINUTES )); then
  echo "release: MIGRATION_TIMEOUT_MINUTES=$migration_timeout: whole minutes, 1-$MAX_MIGRATION_MINUTES (a longer" \
       "migration runs from an operator session: docs/runbooks/deploy.md)" >&2
  exit 2
fi

migrate() {
  pulumi stack output --json >"$outputs"
  bootstrap=$(pulumi stack output dbBootstrapCommand)
  (cd "$work" && bash -c "$bootstrap")  # writes db-bootstrap.json (the function's answer) into $work
  # --after: never while a backup runs (pg_dump's locks would queue the migration's ALTER TABLE, and every app query
  # behind it, until the dump ends: ops/run_task.py wait_until_idle).
  "$python" -m ops.run_task --stack-outputs "$outputs" --after backupTaskDefinitionArn \
    --after-minutes "$BACKUP_WAIT_MINUTES" --timeout-minutes "$migration_timeout" --output migrationRunTaskCommand
}

pulumi stack select "$stack"
pulumi preview --diff "${pack[@]}"
# The stack's outputs, read once and not silenced: a backend or key that cannot be read fails the release here,
# instead of passing for a first deploy (which would roll the services before migrating).
pulumi stack output --json >"$outputs"
# Exit 0: the stack has run the app roles' bootstrap and a migration before; 10: it has not (a first deploy). Any
# other status (no interpreter, outputs that do not parse) stops the release: it must not pass for a first deploy.
status=0
"$python" -c 'import json, sys; o = json.load(open(sys.argv[1]))
sys.exit(0 if o.get("migrationTaskDefinitionArn") and o.get("dbBootstrapCommand") else 10)' "$outputs" || status=$?
case $status in
  0) first_deploy=false ;;
  10) first_deploy=true ;;
  *) echo "release: could not read the stack's outputs ($status)" >&2; exit 1 ;;
esac
if [[ $first_deploy == false ]]; then
  urn="urn:pulumi:${name}::maratron::maratron:app:FargateTask\$aws:ecs/taskDefinition:TaskDefinition::migrate"
  pulumi up --yes --diff --target "$urn" "${pack[@]}"
  migrate
fi

pulumi up --yes --diff "${pack[@]}"
pulumi stack output --json >"$outputs"
if [[ $first_deploy == true ]]; then
  migrate  # before anything else can fail: web is up and waits for its schema
fi
"$python" -m ops.tag_deployed_images --stack-outputs "$outputs" --run "$run_id"
pulumi stack output --json >"$outputs"
"$python" -m ops.verify --stack-outputs "$outputs" --only 'ecs.*'
