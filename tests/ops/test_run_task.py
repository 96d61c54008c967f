"""ops.run_task: the exported run-task command runs, the task is waited for, and only exit code 0 passes (ECS
answers stubbed with botocore's Stubber: moto's tasks never stop)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ops import run_task

CLUSTER = "maratron-prod"
TASK = "arn:aws:ecs:us-east-1:123456789012:task/maratron-prod/0123456789abcdef"
COMMAND = (f"aws ecs run-task --region us-east-1 --cluster {CLUSTER} --task-definition maratron-prod-migrate "
           "--capacity-provider-strategy capacityProvider=FARGATE,weight=1 --platform-version 1.4.0 "
           "--network-configuration 'awsvpcConfiguration={subnets=[s-1],"
           "securityGroups=[sg-1],assignPublicIp=DISABLED}' --started-by pulumi-migrate "
           "--query '{taskArn: tasks[0].taskArn, failures: failures}' --output json")
PRINTED = json.dumps({"taskArn": TASK, "failures": []}, indent=4)
# tests/test_service.py checks that the stack exports exactly this query (the command's tail).
"""What the command prints when ECS starts the task (the CLI's JSON of the --query)."""


def stopped(exit_code: int | None, reason: str = "", *, init: int | None = 0) -> dict[str, Any]:
    """The stopped task: the scratch-volume init container (left out when init is None) and migrate."""
    containers: list[dict[str, Any]] = []
    for name, code, why in (("migrate-volume-init", init, ""), ("migrate", exit_code, reason)):
        if name.endswith("-volume-init") and init is None:
            continue
        container: dict[str, Any] = {"name": name, "lastStatus": "STOPPED"}
        if code is not None:
            container["exitCode"] = code
        if why:
            container["reason"] = why
        containers.append(container)
    return {"tasks": [{"taskArn": TASK, "lastStatus": "STOPPED", "stoppedReason": "Essential container in task "
                       "exited", "containers": containers}], "failures": []}


def ecs_with(*responses: dict[str, Any]) -> tuple[Any, Stubber]:
    client = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for response in responses:
        stubber.add_response("describe_tasks", response, {"cluster": CLUSTER, "tasks": [TASK]})
    stubber.activate()
    return client, stubber


def outputs_file(tmp_path: Path, **outputs: str) -> str:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"environment": "prod", "region": "us-east-1", **outputs}))
    return str(path)


def test_a_migration_that_exits_zero_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    running = {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING", "containers": []}], "failures": []}
    ecs, stubber = ecs_with(running, stopped(0), stopped(0))  # the waiter polls until STOPPED, then one describe
    commands: list[str] = []
    status = run_task.main(["--stack-outputs", outputs_file(tmp_path, migrationRunTaskCommand=COMMAND),
                            "--output", "migrationRunTaskCommand", "--poll-seconds", "0"], ecs=ecs,
                           runner=lambda c: commands.append(c) or PRINTED)
    assert status == 0 and commands == [COMMAND]
    assert "migrate-volume-init exit 0, migrate exit 0" in capsys.readouterr().out
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(("response", "expected"), [
    (stopped(1, "prisma: migration failed"), "migrate exit 1 (prisma: migration failed)"),
    (stopped(None, "CannotPullContainerError: pull access denied"), "CannotPullContainerError"),
    # the root chown init container failed: the migration never started (its scratch volumes are not writable)
    (stopped(None, init=1), "migrate-volume-init exit 1"),
])
def test_a_task_that_fails_or_never_runs_fails_the_step(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         response: dict[str, Any], expected: str) -> None:
    ecs, _ = ecs_with(response, response)
    status = run_task.main(["--stack-outputs", outputs_file(tmp_path, migrationRunTaskCommand=COMMAND),
                            "--output", "migrationRunTaskCommand", "--poll-seconds", "0"], ecs=ecs,
                           runner=lambda _c: PRINTED)
    assert status == 1 and expected in capsys.readouterr().err


@pytest.mark.parametrize(("printed", "expected"), [
    # RunTask succeeds with no task when ECS cannot place it; the reasons are in `failures`.
    (json.dumps({"taskArn": None, "failures": [{"reason": "RESOURCE:ENI", "detail": "no free IP in subnet s-1"}]}),
     "ECS did not start the task: RESOURCE:ENI (no free IP in subnet s-1)"),
    ("None", "the command printed no task ARN (got 'None')"),
    ("", "the command printed no task ARN (got '')"),
])
def test_no_task_arn_means_ecs_did_not_start_it_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             printed: str, expected: str) -> None:
    status = run_task.main(["--stack-outputs", outputs_file(tmp_path, migrationRunTaskCommand=COMMAND),
                            "--output", "migrationRunTaskCommand"], ecs=object(), runner=lambda _c: printed)
    assert status == 1 and expected in capsys.readouterr().err


def test_the_bare_arn_an_earlier_stacks_command_printed_still_runs(tmp_path: Path) -> None:
    ecs, _ = ecs_with(stopped(0), stopped(0))
    assert run_task.main(["--stack-outputs", outputs_file(tmp_path, migrationRunTaskCommand=COMMAND),
                          "--output", "migrationRunTaskCommand", "--poll-seconds", "0"], ecs=ecs,
                         runner=lambda _c: TASK + "\n") == 0


def test_a_task_still_running_at_the_timeout_is_stopped_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.waiter.time.sleep", lambda _seconds: None)  # the waiter's 30 s between looks
    running = {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING", "containers": []}], "failures": []}
    ecs, stubber = ecs_with(running, running)  # --timeout-minutes 1 at 30 s polls: two looks, then give up
    stubber.add_response("stop_task", {"task": {"taskArn": TASK}},
                         {"cluster": CLUSTER, "task": TASK, "reason": "ops.run_task: still running after 60 s"})
    status = run_task.main(["--stack-outputs", outputs_file(tmp_path, migrationRunTaskCommand=COMMAND),
                            "--output", "migrationRunTaskCommand", "--poll-seconds", "30", "--timeout-minutes", "1"],
                           ecs=ecs, runner=lambda _c: PRINTED)
    assert status == 1 and "did not stop within 60 s" in capsys.readouterr().err
    stubber.assert_no_pending_responses()


def test_outputs_run_in_order_and_optional_ones_may_be_absent(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    ecs, _ = ecs_with(stopped(0), stopped(0))
    path = outputs_file(tmp_path, migrationRunTaskCommand=COMMAND)
    status = run_task.main(["--stack-outputs", path, "--optional", "seedRunTaskCommand",
                            "--output", "migrationRunTaskCommand", "--poll-seconds", "0"], ecs=ecs,
                           runner=lambda _c: PRINTED)
    out = capsys.readouterr().out.splitlines()
    assert status == 0 and out[0] == "seedRunTaskCommand: not exported by this stack; skipped"
    assert out[1].startswith("migrationRunTaskCommand: " + TASK)
    assert run_task.main(["--stack-outputs", path, "--output", "nope"]) == 2
    assert "no such output: nope" in capsys.readouterr().err


def test_a_describe_error_while_waiting_leaves_the_task_alone(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """botocore's waiter gives up at once on an error answer: the task may be migrating fine, so it is not stopped."""
    ecs, stubber = ecs_with()
    stubber.add_client_error("describe_tasks", service_error_code="AccessDeniedException", http_status_code=400)
    status = run_task.main(["--stack-outputs", outputs_file(tmp_path, migrationRunTaskCommand=COMMAND),
                            "--output", "migrationRunTaskCommand", "--poll-seconds", "0"], ecs=ecs,
                           runner=lambda _c: PRINTED)
    assert status == 1 and "could not watch" in capsys.readouterr().err
    stubber.assert_no_pending_responses()  # and no stop_task was called (a Stubber refuses an unexpected call)


BACKUP = "arn:aws:ecs:us-east-1:123456789012:task-definition/maratron-prod-backup:7"


def test_the_migration_waits_for_a_running_backup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """pg_dump holds ACCESS SHARE on every table: a migration's ALTER TABLE would queue behind it, and every app
    query behind the ALTER. The migration starts once no backup task runs."""
    ecs, stubber = ecs_with()
    listing = {"cluster": CLUSTER, "family": "maratron-prod-backup", "desiredStatus": "RUNNING"}
    stubber.add_response("list_tasks", {"taskArns": [TASK.replace("0123", "b4c7")]}, listing)
    stubber.add_response("list_tasks", {"taskArns": []}, listing)
    running = {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING", "containers": []}], "failures": []}
    for response in (running, stopped(0), stopped(0)):
        stubber.add_response("describe_tasks", response, {"cluster": CLUSTER, "tasks": [TASK]})
    commands: list[str] = []
    status = run_task.main(["--stack-outputs", outputs_file(tmp_path, migrationRunTaskCommand=COMMAND,
                                                            backupTaskDefinitionArn=BACKUP),
                            "--after", "backupTaskDefinitionArn", "--output", "migrationRunTaskCommand",
                            "--poll-seconds", "0"], ecs=ecs, runner=lambda c: commands.append(c) or PRINTED)
    assert status == 0 and commands == [COMMAND]
    stubber.assert_no_pending_responses()


def test_a_backup_still_running_at_the_limit_fails_before_the_migration_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ecs, stubber = ecs_with()
    listing = {"cluster": CLUSTER, "family": "maratron-prod-backup", "desiredStatus": "RUNNING"}
    for _ in range(2):  # --after-minutes 0: one look, and one more after the (zero) wait
        stubber.add_response("list_tasks", {"taskArns": ["arn:backup-task"]}, listing)
    commands: list[str] = []
    status = run_task.main(["--stack-outputs", outputs_file(tmp_path, migrationRunTaskCommand=COMMAND,
                                                            backupTaskDefinitionArn=BACKUP),
                            "--after", "backupTaskDefinitionArn", "--after-minutes", "0",
                            "--output", "migrationRunTaskCommand", "--poll-seconds", "0"],
                           ecs=ecs, runner=lambda c: commands.append(c) or PRINTED)
    assert status == 1 and commands == [], "the migration never starts beside a running backup"
    assert "maratron-prod-backup is still running after 0 s" in capsys.readouterr().err
