"""GitHub workflows: pinned actions, the policy pack on every preview and deploy, dev -> staging -> prod order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_every_action_is_pinned_to_an_exact_version() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for step in steps(yaml.safe_load(path.read_text())):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})", step["uses"]), \
                    f"{path.name}: {step['uses']}"


def test_previews_and_deploys_run_the_policy_pack_with_the_stack_config() -> None:
    pulumi = [s for s in steps(load("pull-request.yml")) if s.get("uses", "").startswith("pulumi/actions@")]
    assert len(pulumi) == 1
    assert pulumi[0]["with"]["policyPacks"] == "policies"
    assert pulumi[0]["with"]["policyPackConfigs"].startswith("policies/config/")
    # A deploy installs the CLI, then ops/release.sh runs migrations, `pulumi up --policy-pack policies
    # --policy-pack-config <it>` and the deployment gate, in that order (tests/ops/test_release.py).
    deploy = steps(load("pulumi-up.yml"))
    install = next(i for i, s in enumerate(deploy) if s.get("uses", "").startswith("pulumi/actions@"))
    assert "with" not in deploy[install] or "command" not in deploy[install]["with"]
    release = next(i for i, s in enumerate(deploy) if "ops/release.sh" in s.get("run", ""))
    assert install < release and "policies/config/${{ inputs.stack }}.json" in deploy[release]["run"]
    assert "PULUMI_ACCESS_TOKEN" in deploy[release]["env"]
    preview = load("pull-request.yml")["jobs"]["preview"]
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    assert load("pull-request.yml")["permissions"]["id-token"] == "write"


def test_deploy_goes_dev_staging_prod_each_in_its_environment() -> None:
    jobs = load("deploy.yml")["jobs"]
    assert [jobs[s]["needs"] for s in ("dev", "staging", "prod")] == ["offline", "dev", "staging"]
    assert [jobs[s]["with"]["stack"] for s in ("dev", "staging", "prod")] == ["dev", "staging", "prod"]
    assert load("pulumi-up.yml")["jobs"]["up"]["environment"] == "${{ inputs.stack }}"


def test_offline_checks_cache_pip_and_mypy() -> None:
    for name in ("pull-request.yml", "deploy.yml"):
        offline = load(name)["jobs"]["offline"]["steps"]
        python = next(s for s in offline if s.get("uses", "").startswith("actions/setup-python@"))
        assert python["with"]["cache"] == "pip"
        cache = next(s for s in offline if s.get("uses", "").startswith("actions/cache@"))
        assert cache["with"]["path"] == ".mypy_cache" and "requirements.txt" in cache["with"]["key"]
        assert offline.index(cache) < next(i for i, s in enumerate(offline) if s.get("run") == "make test")
