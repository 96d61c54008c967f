"""The GitHub setup generated from the foundation's outputs: every environment a role trusts exists, protected as
the role's trust assumes, and holds that role's ARN."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bootstrap import github_setup
from offline.engine import StackRun


def test_every_trusted_environment_is_created_with_its_role_and_branch_rule(shared: StackRun) -> None:
    outputs = shared.plain_outputs()
    lines = github_setup.plan(outputs, "acme/maratron-infra", "acme/maratron")
    text = "\n".join(lines)
    for environment, role in outputs["githubEnvironments"].items():
        assert f"repos/acme/maratron-infra/environments/{environment} --input" in text
        assert f"gh variable set AWS_ROLE_ARN --repo acme/maratron-infra --env {environment} --body {role}" in text
        main_only = f"repos/acme/maratron-infra/environments/{environment}/deployment-branch-policies -f name=main"
        # Deploys and image pushes only from main; previews run on pull-request branches.
        assert (main_only in text) is (not environment.endswith("-preview")), environment
    assert f"--repo acme/maratron --env images --body {outputs['appCiRoleArn']}" in text
    assert f"gh variable set PULUMI_BACKEND_URL --repo acme/maratron-infra --body '{outputs['backendUrl']}'" in text
    assert "required reviewers on prod and prod-preview" in text


def test_outputs_of_the_wrong_stack_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"environment": "prod"}))
    assert github_setup.main(["--outputs", str(path), "--repository", "a/b", "--app-repository", "a/c"]) == 2
    assert "contractVersion is None" in capsys.readouterr().err
