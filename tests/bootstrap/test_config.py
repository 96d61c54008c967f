"""The foundation's configuration: typed, validated all at once, and its schema generated into bootstrap/Pulumi.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bootstrap import bootstrap_config
from components.settings import ConfigError
from offline import docgen
from offline.foundation import BOOTSTRAP_ROOT, bootstrap_stacks, run_bootstrap

NS = "maratron-bootstrap"
MINIMAL = {"aws:region": "us-east-1", f"{NS}:sharedAccountId": "123456789012",
           f"{NS}:githubRepository": "acme/maratron-infra", f"{NS}:githubAppRepository": "acme/maratron"}
ORG = {**MINIMAL, f"{NS}:layout": "organization", f"{NS}:devAccountId": "222222222222",
       f"{NS}:stagingAccountId": "333333333333", f"{NS}:prodAccountId": "444444444444"}


def problems(raw: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as error:
        bootstrap_config.load(raw, stack="shared")
    return str(error.value)


def test_the_minimal_config_is_single_account_with_prod_grade_defaults() -> None:
    config = bootstrap_config.load(MINIMAL, stack="shared")
    assert (config.layout, config.account, config.environments) == ("single-account", "shared",
                                                                    ("dev", "staging", "prod"))
    assert config.hosted_environments == ("dev", "staging", "prod") and config.manages_shared
    assert config.account_id("prod") == "123456789012"
    assert (config.registry.retain_count, config.registry.deployed_retain_count, config.registry.untagged_days) == (
        100, 1000, 14)
    assert (config.state.noncurrent_days, config.state.noncurrent_versions) == (90, 100)
    assert (config.preview_session_seconds, config.deploy_session_seconds) == (3600, 7200)
    assert config.tags["project"] == NS and config.tags["environment"] == "shared"


@pytest.mark.parametrize(("raw", "expected"), [
    ({**MINIMAL, f"{NS}:sharedAccountId": ""}, f'{NS}:sharedAccountId = "": required'),
    ({**MINIMAL, f"{NS}:sharedAccountId": "12345"}, "must be a 12-digit AWS account id"),
    ({**MINIMAL, f"{NS}:devAccountId": "222222222222"},
     f'{NS}:devAccountId = "222222222222": must be empty in the single-account layout'),
    ({**MINIMAL, f"{NS}:account": "dev"}, f'{NS}:account = "dev": must be shared in the single-account layout'),
    ({**ORG, f"{NS}:prodAccountId": ""}, f'{NS}:prodAccountId = "": required in the organization layout'),
    ({**ORG, f"{NS}:devAccountId": "123456789012"}, "the shared and environment accounts must all differ"),
    ({**MINIMAL, f"{NS}:githubRepository": "acme/*"}, f'{NS}:githubRepository = "acme/*": must be OWNER/REPO'),
    ({**MINIMAL, f"{NS}:githubAppRepository": ""}, f'{NS}:githubAppRepository = "": required'),
    ({**MINIMAL, f"{NS}:githubSubjectFormat": "immutable"},
     f'{NS}:githubOwnerId = "": required with githubSubjectFormat immutable'),
    ({**MINIMAL, f"{NS}:githubImagesEnvironment": "prod:x"}, "without ':' or wildcards"),
    ({**MINIMAL, f"{NS}:githubOidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/gitlab.com"},
     "oidc-provider/token.actions.githubusercontent.com"),
    ({**MINIMAL, f"{NS}:organizationId": "org-1"}, "must be an AWS Organizations id"),
    ({**MINIMAL, f"{NS}:sharedStack": "shared"}, "must be organization/maratron-bootstrap/<stack>"),
    ({**MINIMAL, f"{NS}:imageRetainCount": "0"}, f'{NS}:imageRetainCount = 0: must be between 1 and 1000'),
    ({**MINIMAL, f"{NS}:stateNoncurrentVersions": "101"}, "must be between 1 and 100"),
    ({**MINIMAL, f"{NS}:deploySessionSeconds": "60"}, "must be between 3600 and 43200"),
    ({**MINIMAL, f"{NS}:imageScanning": "weekly"}, "must be one of basic, enhanced, unmanaged"),
    ({**MINIMAL, f"{NS}:githubRepo": "acme/x"}, "unknown key (not declared in Pulumi.yaml); did you mean "
                                                "'githubRepository'?"),
    ({**MINIMAL, "aws:region": "mars-1"}, "aws:region"),
    ({**MINIMAL, "aws:region": "cn-northwest-1"}, 'aws:region = "cn-northwest-1": the China partition (aws-cn) is '
                                                   "not supported"),
    ({**MINIMAL, f"{NS}:drRegion": "cn-north-1"}, "cn-north-1 is in another AWS partition than us-east-1"),
    ({**MINIMAL, f"{NS}:drRegion": "us-gov-west-1"}, "is in another AWS partition than us-east-1"),
])
def test_each_problem_names_the_key_the_value_and_what_is_allowed(raw: dict[str, str], expected: str) -> None:
    assert expected in problems(raw)


def test_every_problem_is_reported_at_once() -> None:
    message = problems({**ORG, f"{NS}:prodAccountId": "", f"{NS}:githubRepository": "", f"{NS}:imageRetainCount": "0"})
    assert "3 problem(s)" in message


def test_the_schema_in_bootstrap_pulumi_yaml_is_generated_and_declares_no_secret() -> None:
    assert (BOOTSTRAP_ROOT / "Pulumi.yaml").read_text() == docgen.render_bootstrap_project(), "run `make docs`"
    schema = yaml.safe_load((BOOTSTRAP_ROOT / "Pulumi.yaml").read_text())
    assert schema["name"] == NS and schema["runtime"]["options"]["virtualenv"] == "../.venv"
    # No secret: the first run uses a throwaway local backend and its state moves as is (docs/runbooks).
    assert not [key for key, spec in schema["config"].items() if spec.get("secret")]


def test_every_stack_file_pins_its_provider_and_loads() -> None:
    assert set(bootstrap_stacks()) == {"shared", "org-shared", "org-dev", "org-staging", "org-prod"}
    for stack in bootstrap_stacks():
        document = yaml.safe_load(Path(BOOTSTRAP_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert document["pulumi:disable-default-providers"] == ["aws"], stack
        assert not any(isinstance(v, dict) and "secure" in v for v in document.values()), stack
        assert run_bootstrap(stack).ok, stack


def test_a_config_error_registers_nothing() -> None:
    run = run_bootstrap("shared", {f"{NS}:sharedAccountId": "nope"})
    assert not run.ok and isinstance(run.error, ConfigError)
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]


def test_the_preview_reports_a_config_error_on_stderr_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from offline import bootstrap_preview

    monkeypatch.setattr(bootstrap_preview, "BUILD_DIR", tmp_path)
    monkeypatch.setattr(bootstrap_preview, "run_bootstrap",
                        lambda stack: run_bootstrap(stack, {f"{NS}:sharedAccountId": "nope"}))
    assert bootstrap_preview.main(["shared"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("preview-bootstrap: configuration errors, nothing would be created; no files written\n")
    assert f'{NS}:sharedAccountId = "nope"' in err and "sharedAccountId" not in out and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    assert bootstrap_preview.main(["nosuch"]) == 2
    assert capsys.readouterr().err.startswith("preview-bootstrap: unknown stack 'nosuch'")
