#!/usr/bin/env bash
# One environment's release, in the order AWS needs (docs/runbooks/deploy.md, "Release sequence"):
#
#   ops/release.sh <org>/<stack> <policy-pack-config.json>
#
# 1. Existing stack: register the migration task definition with the release's image only (a targeted update), and
#    run the migration to completion (ops.migrate fails the release when it does not exit 0). The running services
#    keep serving the old image meanwhile, so migrations must be backward compatible (expand, then contract later).
# 2. `pulumi up`: every service waits for steady state (bounded); a task that cannot start fails the update.
# 3. First deploy only: the migration runs now (its task definition did not exist before step 2). /api/health is a
#    liveness check (the seed keeps database checks in /api/performance), so the services became healthy without it.
# 4. The gate: each service runs the task definition this update registered (`ops.verify --only 'ecs.*'`). A release
#    the circuit breaker rolled back passes `aws ecs wait services-stable` and the provider's steady-state wait, not this.
set -euo pipefail
stack=${1:?usage: ops/release.sh <org>/<stack> <policy pack config>}
pack_config=${2:?usage: ops/release.sh <org>/<stack> <policy pack config>}
name=${stack##*/}
pack=(--policy-pack policies --policy-pack-config "$pack_config")
python=${PYTHON:-.venv/bin/python}
outputs=$(mktemp)
trap 'rm -f "$outputs"' EXIT

pulumi stack select "$stack"
first_deploy=true
if pulumi stack output migrationTaskDefinitionArn >/dev/null 2>&1; then
  first_deploy=false
  urn="urn:pulumi:${name}::maratron::maratron:app:FargateTask\$aws:ecs/taskDefinition:TaskDefinition::migrate"
  pulumi up --yes --diff --target "$urn" "${pack[@]}"
  pulumi stack output --json >"$outputs"
  "$python" -m ops.migrate --stack-outputs "$outputs"
fi

pulumi up --yes --diff "${pack[@]}"
pulumi stack output --json >"$outputs"
if [[ $first_deploy == true ]]; then
  "$python" -m ops.migrate --stack-outputs "$outputs"
fi
"$python" -m ops.verify --stack-outputs "$outputs" --only 'ecs.*'
