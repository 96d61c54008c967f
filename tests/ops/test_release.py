"""ops/release.sh: a full preview first, the role bootstrap and the migration before the services roll on a release
(after them on a first deploy), the deployed-image tags, then the gate."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "ops" / "release.sh"


def run_release(tmp_path: Path, *, existing: bool, migration_exit: int = 0, bootstrap_exit: int = 0,
                has_bootstrap: bool = True, outputs_exit: int = 0, python_broken: bool = False,
                environment: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """Run the script with `pulumi` and the python interpreter replaced by recorders; the stack's
    dbBootstrapCommand records itself as `bootstrap` and exits with `bootstrap_exit`; `stack output --json` exits
    with `outputs_exit` (255: the backend could not be read)."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    bootstrap_known = "true" if has_bootstrap else f"grep -q '^pulumi up' {log}"  # else it appears with the first up
    (bin_dir / "pulumi").write_text(f"""#!/usr/bin/env bash
echo "pulumi $*" >> {log}
if [[ "$1 $2 $3" == "stack output --json" ]]; then
  if [[ {outputs_exit} != 0 ]]; then echo "error: could not read the backend" >&2; exit {outputs_exit}; fi
  keys='"environment": "prod"'
  if {"true" if existing else "false"}; then keys+=', "migrationTaskDefinitionArn": "arn:task-definition/migrate:1"'; fi
  if {bootstrap_known}; then keys+=', "dbBootstrapCommand": "aws lambda invoke ..."'; fi
  echo "{{$keys}}"; exit 0
fi
if [[ "$1 $2" == "stack output" && "$3" == "dbBootstrapCommand" ]]; then
  {"" if has_bootstrap else f"grep -q '^pulumi up' {log} || exit 1  # the output appears with the first up"}
  echo 'echo bootstrap >> {log}; exit {bootstrap_exit}'; exit 0
fi
""")
    (bin_dir / "python").write_text(f"""#!/usr/bin/env bash
if [[ "$1" == "-c" ]]; then {"exit 127" if python_broken else f'exec {sys.executable} "$@"'}; fi  # outputs check
echo "python $*" >> {log}
if [[ "$2" == "ops.run_task" ]]; then exit {migration_exit}; fi
""")
    for tool in ("pulumi", "python"):
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHON": str(bin_dir / "python"),
           **(environment or {})}
    done = subprocess.run(["bash", str(SCRIPT), "organization/maratron/prod", "policies/config/prod.json", "42"],
                          env=env, capture_output=True, text=True, check=False)
    calls = [c for c in (log.read_text().splitlines() if log.exists() else [])
             if not c.startswith("pulumi stack output")]
    return done.returncode, [re.sub(r" --stack-outputs \S+", "", c) for c in calls]  # the outputs file: a temp path


MIGRATE = ("python -m ops.run_task --after backupTaskDefinitionArn --after-minutes 10 --timeout-minutes 20 "
           "--output migrationRunTaskCommand")
TAG = "python -m ops.tag_deployed_images --run 42"
GATE = "python -m ops.verify --only ecs.*"


def test_a_release_previews_then_bootstraps_and_migrates_with_the_new_image_before_the_services_roll(
        tmp_path: Path) -> None:
    code, calls = run_release(tmp_path, existing=True)
    assert code == 0
    assert calls[0] == "pulumi stack select organization/maratron/prod"
    preview = calls.index(next(c for c in calls if c.startswith("pulumi preview")))
    up = [i for i, c in enumerate(calls) if c.startswith("pulumi up")]
    migrate = calls.index(MIGRATE)
    assert len(up) == 2
    assert preview < up[0] < calls.index("bootstrap") < migrate < up[1] < calls.index(TAG) < calls.index(GATE)
    assert "--target urn:pulumi:prod::maratron::maratron:app:FargateTask$aws:ecs/taskDefinition:TaskDefinition" \
           "::migrate" in calls[up[0]]
    assert calls.count(MIGRATE) == 1 and calls.count("bootstrap") == 1 and calls[-1] == GATE
    for step in (preview, *up):
        assert "--policy-pack policies --policy-pack-config policies/config/prod.json" in calls[step]


def test_a_failed_migration_stops_the_release_before_the_services_roll(tmp_path: Path) -> None:
    code, calls = run_release(tmp_path, existing=True, migration_exit=1)
    assert code != 0
    assert sum(c.startswith("pulumi up") for c in calls) == 1  # only the targeted one
    assert TAG not in calls and GATE not in calls


def test_a_failed_bootstrap_stops_the_release_before_the_migration(tmp_path: Path) -> None:
    code, calls = run_release(tmp_path, existing=True, bootstrap_exit=1)
    assert code != 0
    assert "bootstrap" in calls and MIGRATE not in calls
    assert sum(c.startswith("pulumi up") for c in calls) == 1  # only the targeted one


def test_outputs_that_cannot_be_read_stop_the_release_instead_of_passing_for_a_first_deploy(tmp_path: Path) -> None:
    code, calls = run_release(tmp_path, existing=True, outputs_exit=255)
    assert code != 0
    assert not any(c.startswith("pulumi up") for c in calls) and MIGRATE not in calls


def test_an_outputs_check_that_cannot_run_stops_the_release(tmp_path: Path) -> None:
    """A missing or broken interpreter (exit 127) must not pass for a first deploy, which rolls the services first."""
    code, calls = run_release(tmp_path, existing=True, python_broken=True)
    assert code != 0
    assert not any(c.startswith("pulumi up") for c in calls) and MIGRATE not in calls


def test_a_first_deploy_bootstraps_and_migrates_after_the_services_exist_and_gates_last(tmp_path: Path) -> None:
    code, calls = run_release(tmp_path, existing=False)
    assert code == 0
    up = calls.index(next(c for c in calls if c.startswith("pulumi up")))
    assert "--target" not in calls[up]
    # the schema first: web is up and waits for it, and a tagging failure must not leave it without one
    assert up < calls.index("bootstrap") < calls.index(MIGRATE) < calls.index(TAG) < len(calls) - 1
    assert calls[-1] == GATE


def test_a_stack_from_before_the_app_roles_takes_the_first_deploy_path(tmp_path: Path) -> None:
    # No dbBootstrapCommand output yet: app_migrate exists only after `pulumi up`, so no targeted pre-migration.
    code, calls = run_release(tmp_path, existing=True, has_bootstrap=False)
    assert code == 0
    ups = [c for c in calls if c.startswith("pulumi up")]
    assert len(ups) == 1 and "--target" not in ups[0]
    assert calls.index(ups[0]) < calls.index("bootstrap") < calls.index(MIGRATE)


@pytest.mark.skipif(not (shutil.which("shellcheck") or (Path(sys.executable).parent / "shellcheck").exists()),
                    reason="shellcheck not installed")
def test_release_script_is_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    assert subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, check=False).returncode == 0


def test_a_big_migration_gets_its_time_within_the_jobs_budget(tmp_path: Path) -> None:
    """The environment's MIGRATION_TIMEOUT_MINUTES reaches ops.run_task; one beyond what the release job can hold is
    refused before anything runs (tests/test_workflows.py adds the budget up)."""
    (tmp_path / "ok").mkdir()
    status, calls = run_release(tmp_path / "ok", existing=True, environment={"MIGRATION_TIMEOUT_MINUTES": "25"})
    assert status == 0 and MIGRATE.replace("--timeout-minutes 20", "--timeout-minutes 25") in calls
    for value in ("45", "026", "0", "20m"):  # too long; octal to bash (22) but 26 to Python; none; not minutes
        (tmp_path / value).mkdir()
        status, calls = run_release(tmp_path / value, existing=True, environment={"MIGRATION_TIMEOUT_MINUTES": value})
        assert status == 2 and calls == [], value


def test_the_targeted_urn_is_the_migration_task_definitions(prod: Any) -> None:
    """Step 1 targets the migration task definition by URN; the offline run names it as the engine does
    (offline/sdk_internals.engine_urn), so the script's literal must be that URN."""
    literal = re.search(r'urn="(urn:pulumi:[^"]+)"', SCRIPT.read_text())[1]  # type: ignore[index]
    expected = prod.one("aws:ecs/taskDefinition:TaskDefinition", "migrate").urn
    assert literal.replace("${name}", "prod").replace("\\$", "$") == expected


def test_the_deploy_runbook_states_the_release_scripts_backup_wait() -> None:
    """The runbook once said 60 minutes while release.sh waited 10: an operator planned around the wrong figure."""
    minutes = re.search(r"^BACKUP_WAIT_MINUTES=(\d+)$", SCRIPT.read_text(), re.MULTILINE)
    assert minutes
    runbook = (SCRIPT.parents[1] / "docs" / "runbooks" / "deploy.md").read_text()
    stated = set(re.findall(r"after (\d+) minutes", runbook))
    assert stated == {minutes.group(1)}, stated


def test_no_runbook_removes_a_stack_with_its_committed_config() -> None:
    """`pulumi stack rm` deletes Pulumi.<stack>.yaml unless told --preserve-config (the DR runbook's stack move lost
    dr's 27 settings that way)."""
    docs = SCRIPT.parents[1] / "docs"
    found = [(page.name, line) for page in docs.rglob("*.md") for line in re.findall(
        r"pulumi stack rm[^`]*", page.read_text().replace("\n", " ")) if page.name != "aws-runtime-review.md"]
    assert found, "the DR runbook's stack move is the known use"
    assert all("--preserve-config" in line for _, line in found), found
