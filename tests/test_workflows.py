"""GitHub workflows: pinned actions, the roles and environments the foundation trusts, the policy pack on every preview
and deploy, dev -> staging -> prod, and post-deploy steps that read only contract outputs."""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import stack_outputs
from components.constants import BACKUP_IMAGE_CONTEXT
from offline.critical_path import analyse
from offline.engine import StackRun
from offline.foundation import run_bootstrap
from offline.iam_eval import trust_allows

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
REPOSITORY = "acme/maratron-infra"  # bootstrap/Pulumi.shared.yaml's githubRepository


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def pulumi_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in steps(workflow) if s.get("uses", "").startswith("pulumi/actions@")]


@pytest.fixture(scope="module")
def foundation() -> StackRun:
    run = run_bootstrap("shared")
    assert run.ok, run.error_details
    return run


def trusts(foundation: StackRun, role: str, environment: str) -> bool:
    resource = next(r for r in foundation.of_type("aws:iam/role:Role") if r.inputs.get("name") == role)
    trust = json.loads(resource.inputs["assumeRolePolicy"])
    provider = trust["Statement"][0]["Principal"]["Federated"]
    return trust_allows(trust, provider_arn=provider, claims={
        "aud": "sts.amazonaws.com", "sub": f"repo:{REPOSITORY}:environment:{environment}"})


USES = re.compile(r"^[ \t]*(?:-[ \t]+)?uses:[ \t]*(\S+)(.*)$", re.MULTILINE)


def unpinned(text: str) -> list[str]:
    """The `uses:` lines of a workflow whose external action is not pinned to a full commit SHA followed by its release
    as a `# vX.Y.Z` comment (the form Dependabot updates, SHA and comment together). Read from the raw text: YAML drops
    comments. Local reusable workflows (./.github/workflows/...) are this repository's own code."""
    return [line.group(0).strip() for line in USES.finditer(text) if not line.group(1).startswith("./") and not (
        re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", line.group(1))
        and re.fullmatch(r"[ \t]+# v\d+\.\d+\.\d+[ \t]*", line.group(2)))]


def test_every_action_is_pinned_to_an_exact_version() -> None:
    """A tag can be moved to other code (tj-actions/changed-files, March 2025): only a commit SHA is immutable."""
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        workflow = yaml.safe_load(text)
        used = [s["uses"] for s in steps(workflow) if "uses" in s] + [
            job["uses"] for job in workflow["jobs"].values() if "uses" in job]
        assert sorted(line.group(1) for line in USES.finditer(text)) == sorted(used), path.name  # none escapes
        assert not unpinned(text), f"{path.name}: {unpinned(text)}"
    # The broken variants: a tag, a SHA without its release, an abbreviated SHA, a major-only comment.
    sha = "11bd71901bbe5b1630ceea73d27597364c9af683"
    good = f"      - uses: actions/checkout@{sha} # v4.2.2\n    uses: ./.github/workflows/pulumi-up.yml\n"
    assert unpinned(good) == []
    for broken in ("actions/checkout@v4.2.2", f"actions/checkout@{sha}", f"actions/checkout@{sha[:7]} # v4.2.2",
                   f"actions/checkout@{sha} # v4"):
        assert unpinned(f"      - uses: {broken}\n") == [f"- uses: {broken}"], broken
    dependabot = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert {(u["package-ecosystem"], u["directory"]) for u in dependabot["updates"]} == {
        ("github-actions", "/"), ("docker", "/ops/backup")}  # the backup image's base gets its fixes too


def test_no_long_lived_credential_anywhere() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        assert "secrets." not in text and "PULUMI_ACCESS_TOKEN" not in text, path.name
        assert "AWS_SECRET_ACCESS_KEY" not in text, path.name


def test_previews_and_deploys_run_the_policy_pack_against_the_foundation_backend() -> None:
    (preview,) = pulumi_steps(load("pull-request.yml"))
    options = preview["with"]
    assert options["command"] == "preview" and options["policyPacks"] == "policies"
    assert options["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
    assert options["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
    assert options["stack-name"].startswith("organization/maratron/")
    assert options["refresh"] is False  # no read access to resources, no secret values in previews
    # A deploy installs the CLI only, then ops/release.sh runs the preview, the migrations and `pulumi up`, each with
    # `--policy-pack policies --policy-pack-config <it>`, in the order AWS needs (tests/ops/test_release.py), against
    # the foundation's state bucket (the CLI reads PULUMI_BACKEND_URL).
    job = load("pulumi-up.yml")["jobs"]["up"]
    deploy = job["steps"]
    (install,) = [i for i, s in enumerate(deploy) if s.get("uses", "").startswith("pulumi/actions@")]
    assert "command" not in (deploy[install].get("with") or {})
    release = next(i for i, s in enumerate(deploy) if "ops/release.sh" in s.get("run", ""))
    assert install < release
    assert shlex.split(deploy[release]["run"])[1:] == ["$STACK", "policies/config/${{ inputs.stack }}.json",
                                                       "${{ github.run_id }}"]
    assert job["env"]["STACK"].startswith("organization/maratron/")
    assert job["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"


def test_each_preview_runs_in_the_environment_its_preview_role_trusts(foundation: StackRun) -> None:
    workflow = load("pull-request.yml")
    preview = workflow["jobs"]["preview"]
    assert workflow["permissions"] == {"contents": "read"}  # the OIDC token only where a role is assumed
    assert preview["permissions"]["id-token"] == "write"
    # never for a fork's pull request, nor Dependabot's (a bumped action is unreviewed code)
    assert preview["if"] == ("github.event.pull_request.head.repo.full_name == github.repository && "
                             "github.actor != 'dependabot[bot]'")
    assert preview["environment"] == "${{ matrix.stack }}-preview"
    for stack in preview["strategy"]["matrix"]["stack"]:
        assert trusts(foundation, f"maratron-preview-{stack}", f"{stack}-preview")
        assert not trusts(foundation, f"maratron-deploy-{stack}", f"{stack}-preview")
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]


def test_deploy_goes_dev_staging_prod_each_in_the_environment_its_deploy_role_trusts(foundation: StackRun) -> None:
    jobs = load("deploy.yml")["jobs"]
    assert [jobs[s]["needs"] for s in ("dev", "staging", "prod")] == ["offline", "dev", "staging"]
    assert [jobs[s]["with"]["stack"] for s in ("dev", "staging", "prod")] == ["dev", "staging", "prod"]
    up = load("pulumi-up.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}"
    for stack in ("dev", "staging", "prod"):
        assert trusts(foundation, f"maratron-deploy-{stack}", stack)
    credentials = next(s for s in up["steps"] if s.get("uses", "").startswith("aws-actions/"))
    role = next(r for r in foundation.of_type("aws:iam/role:Role") if r.inputs["name"] == "maratron-deploy-prod")
    assert credentials["with"]["role-duration-seconds"] <= role.inputs["maxSessionDuration"]


def test_the_release_tags_images_migrates_gates_and_verifies_from_contract_outputs() -> None:
    up = load("pulumi-up.yml")["jobs"]["up"]["steps"]
    names = [s.get("name", s.get("uses", "")) for s in up]
    assert names.index(next(n for n in names if n.startswith("Release"))) < names.index(
        next(n for n in names if n.startswith("Verify")))
    # What the release runs (its comments explain, e.g., why services-stable is no gate).
    script = "\n".join(line for line in (ROOT / "ops" / "release.sh").read_text().splitlines()
                       if not line.lstrip().startswith("#"))
    text = "\n".join(str(s.get("run", "")) for s in up) + "\n" + script
    used = set(re.findall(r"--(?:output|optional) (\w+)", text)) | set(re.findall(r"jq -r \.(\w+)", text)) | set(
        re.findall(r"stack output (\w+)", text))
    assert used and used <= set(stack_outputs.CONTRACT_BY_NAME), used - set(stack_outputs.CONTRACT_BY_NAME)
    for module in ("ops.tag_deployed_images", "ops.run_task", "ops.verify"):
        assert f"-m {module}" in text, module
    assert "python -m ops.verify --stack-outputs outputs.json --http" in text
    # Last, after the full verification: a second preview must plan no resource change (a perpetual diff fails the
    # deploy the day it appears, never hiding what the release did).
    drift = next(i for i, s in enumerate(up) if "-m ops.settled" in str(s.get("run", "")))
    assert drift == len(up) - 1 and drift > names.index(next(n for n in names if n.startswith("Verify")))
    assert "--refresh" not in up[drift]["run"] and 'pulumi preview --stack "$STACK" --json' in up[drift]["run"]
    # services-stable also holds after a circuit-breaker rollback: never a gate (docs/runbooks/deploy.md, step 6)
    assert "services-stable" not in text


def test_the_backup_image_is_pushed_by_infra_ci_from_the_images_environment(foundation: StackRun) -> None:
    job = load("images.yml")["jobs"]["backup"]
    assert job["environment"] == "images" and job["permissions"]["id-token"] == "write"
    assert trusts(foundation, "maratron-infra-ci", "images")
    build = next(s for s in job["steps"] if s.get("name", "").startswith("Build and push"))["run"]
    assert "--platform linux/arm64" in build and "--provenance=false" in build and "maratron/backup" in build
    # the directory whose Dockerfile the stack checks for the backup tasks' scratch VOLUMEs (BACKUP_IMAGE_CONTEXT)
    assert re.search(rf"--tag \S+ {BACKUP_IMAGE_CONTEXT}\n", build), build
    assert load("images.yml")[True]["push"]["paths"] == [f"{BACKUP_IMAGE_CONTEXT}/**"]


def test_every_job_that_runs_pulumi_can_build_arm64_images() -> None:
    """A *BuildContext setting makes `pulumi up` (and preview) build a linux/arm64 image whose RUN steps need an
    emulator on GitHub's x86 runners: QEMU and buildx are set up before the Pulumi step."""
    for name in ("pulumi-up.yml", "pull-request.yml"):
        for job in load(name)["jobs"].values():
            uses = [step.get("uses", "") for step in job.get("steps", [])]
            pulumi = next((i for i, u in enumerate(uses) if u.startswith("pulumi/actions@")), None)
            if pulumi is None:
                continue
            assert any(u.startswith("docker/setup-qemu-action@") for u in uses[:pulumi]), name
            assert any(u.startswith("docker/setup-buildx-action@") for u in uses[:pulumi]), name


def test_offline_checks_cache_pip_and_mypy() -> None:
    for name in ("pull-request.yml", "deploy.yml"):
        offline = load(name)["jobs"]["offline"]["steps"]
        python = next(s for s in offline if s.get("uses", "").startswith("actions/setup-python@"))
        assert python["with"]["cache"] == "pip"
        cache = next(s for s in offline if s.get("uses", "").startswith("actions/cache@"))
        assert cache["with"]["path"] == ".mypy_cache" and "requirements.txt" in cache["with"]["key"]
        assert offline.index(cache) < next(i for i, s in enumerate(offline) if s.get("run") == "make test")


def run_step(script: str, tmp_path: Path, tools: dict[str, str], **env: str) -> subprocess.CompletedProcess[str]:
    """A workflow step's script under `bash -e` (GitHub's default shell), with `tools` (name -> bash body) ahead of
    the real ones on PATH, in `tmp_path`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in tools.items():
        (bin_dir / name).write_text(f"#!/usr/bin/env bash\n{body}")
        (bin_dir / name).chmod(0o755)
    return subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **env})


@pytest.mark.parametrize(("describe", "built", "status"), [
    ("exists", False, 0),                   # a rerun of the commit: its image is already there
    ("ImageNotFoundException", True, 0),    # the first run builds and pushes
    ("AccessDeniedException", False, 1),    # anything else stops the job, never a blind rebuild
])
def test_the_backup_image_is_built_once_per_commit(tmp_path: Path, describe: str, built: bool, status: int) -> None:
    """Tags are immutable and a rebuild is never byte-identical: a rerun must not push the tag again."""
    job = load("images.yml")["jobs"]["backup"]
    script = next(s for s in job["steps"] if s.get("name", "").startswith("Build and push"))["run"]
    log = tmp_path / "calls"
    aws = f"""echo "aws $*" >> {log}
case "$*" in
  *describe-repositories*) echo 123456789012.dkr.ecr.us-east-1.amazonaws.com/maratron/backup ;;
  *"--query imageDetails[0].imageDigest"*) echo sha256:{"d" * 64} ;;
  *describe-images*) if [[ {describe} == exists ]]; then echo '{{"imageDetails": []}}'; else
                       echo "An error occurred ({describe}) when calling DescribeImages" >&2; exit 254; fi ;;
esac
"""
    done = run_step(script, tmp_path, {"aws": aws, "docker": f'echo "docker $*" >> {log}\n'},
                    GITHUB_SHA="0123456789abcdef" * 2, GITHUB_STEP_SUMMARY=str(tmp_path / "summary"))
    calls = log.read_text()
    assert done.returncode == status, done.stderr
    assert ("docker buildx build" in calls) is built
    if status == 0:
        assert "backupImage: sha256:" + "d" * 64 in (tmp_path / "summary").read_text()


def pins(text: str) -> dict[str, str]:
    """name -> version of a requirements file or a pip-compile lock (continuation lines and comments skipped)."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\[\]-]+)==(\S+)", line.strip())
        if match:
            found[re.sub(r"\[.*\]", "", match.group(1)).lower().replace("_", "-")] = match.group(2)
    return found


@pytest.mark.parametrize(("lock", "source"), [("requirements-deploy.lock", "requirements-deploy.txt"),
                                              ("policies/requirements.lock", "policies/requirements.txt")])
def test_the_locks_pin_every_package_with_hashes_and_agree_with_their_sources(lock: str, source: str) -> None:
    """`make lock` writes them: every transitive dependency pinned, with the hashes pip checks, no test tools, and the
    top-level pins of the file they come from (a stale lock fails here)."""
    text = (ROOT / lock).read_text()
    entries = [block for block in re.split(r"\n(?=[A-Za-z])", text) if re.match(r"[A-Za-z]", block)]
    assert len(entries) == len(pins(text)) > 1
    assert all("--hash=sha256:" in block for block in entries), lock
    assert not {"pytest", "moto", "mypy", "ruff", "pytest-xdist"} & set(pins(text)), lock
    wanted = pins((ROOT / source).read_text())
    assert wanted and {name: pins(text).get(name) for name in wanted} == wanted, f"{lock} is stale: make lock"


def test_jobs_holding_an_aws_role_install_only_the_hashed_locks() -> None:
    """A job with an AWS role runs what it installs with those credentials: every package pinned with its hash,
    wheels only, nothing a deploy does not run (pip: "Hash-checking mode"; prod runs what staging ran)."""
    checked = 0
    for name in ("pulumi-up.yml", "pull-request.yml"):
        for job_name, job in load(name)["jobs"].items():
            if job.get("permissions", {}).get("id-token") != "write" and "id-token" not in str(load(name).get(
                    "permissions", {})):
                continue
            installs = [str(s["run"]) for s in job["steps"] if "pip install" in str(s.get("run", ""))]
            for run in installs:
                assert "-r requirements.txt" not in run and "-r policies/requirements.txt" not in run, job_name
                assert run.count("pip install --require-hashes --only-binary :all:") == run.count("pip install"), run
                checked += 1
    assert checked >= 2


def test_every_pulumi_step_installs_the_cli_of_the_pinned_sdk() -> None:
    """Unset, pulumi/actions keeps the CLI the runner image carries, which can be older than the program needs."""
    pinned = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements-deploy.txt").read_text(), re.MULTILINE)
    assert pinned
    found = [step.get("with", {}).get("pulumi-version") for name in ("pull-request.yml", "pulumi-up.yml")
             for step in pulumi_steps(load(name))]
    assert found and found == [pinned.group(1)] * len(found)


@pytest.mark.parametrize("existing", ["", "1234"])
def test_the_diagram_comment_edits_its_own_comment_never_the_previews(tmp_path: Path, existing: str) -> None:
    """`gh pr comment --edit-last` edits the token's latest comment, which can be pulumi/actions' preview comment:
    the step finds its own by the marker line instead."""
    job = load("pull-request.yml")["jobs"]["offline"]
    script = next(s for s in job["steps"] if s.get("name") == "Architecture diagram comment")["run"]
    assert "--edit-last" not in script
    script = script.replace("${{ github.repository }}", "acme/maratron-infra").replace(
        "${{ github.event.pull_request.number }}", "7")
    log = tmp_path / "calls"
    (tmp_path / "build" / "prod").mkdir(parents=True)
    (tmp_path / "build" / "prod" / "architecture.mmd").write_text("flowchart LR\n")
    gh = f"""echo "gh $*" >> {log}
if [[ "$*" == *--paginate* ]]; then [[ -n "{existing}" ]] && echo "{existing}"; fi
exit 0
"""
    done = run_step(script, tmp_path, {"make": "exit 0\n", "gh": gh})
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert "--paginate" in calls[0] and "<!-- maratron-architecture -->" in calls[0]  # found by its marker
    expected = (f"gh api -X PATCH repos/acme/maratron-infra/issues/comments/{existing}" if existing
                else "gh api -X POST repos/acme/maratron-infra/issues/7/comments")
    assert calls[1].startswith(expected) and calls[1].endswith("-F body=@build/architecture-comment.md")
    assert (tmp_path / "build" / "architecture-comment.md").read_text().startswith(
        "<!-- maratron-architecture -->\n")


RELEASE_ALLOWANCES_MINUTES = {
    "checkout, virtualenvs, actions": 5, "the full preview": 4, "the migration task definition's targeted up": 2,
    "resources other than the services (in parallel with them)": 3, "image tags and the gate": 3,
    "the full verify and the second preview": 6}
"""What the release job spends besides its bounded waits (generous estimates of healthy runs)."""


def test_the_release_fits_its_job_whatever_it_waits_for(prod: StackRun) -> None:
    """Every wait of a release is bounded; their worst case plus the rest must end before the job's timeout-minutes,
    or GitHub kills `pulumi up` mid-update and leaves the stack locked (the DIY backend's lock is released only when
    the update returns). A release of an existing stack waits for a running backup (release.sh's
    BACKUP_WAIT_MINUTES), the bootstrap (the Lambda's timeout), the migration (at most MAX_MIGRATION_MINUTES) and
    `pulumi up`, where web waits for ai (DEPLOY_TIMEOUT twice). A first deploy has no backup to wait for, but its
    `up` creates the data tier first: the deploy-time model's finish, or its services' start plus both bounds."""
    from components.credentials import FUNCTION_TIMEOUT_SECONDS
    from components.service import DEPLOY_TIMEOUT

    script = (ROOT / "ops" / "release.sh").read_text()
    backup_wait = int(re.search(r"^BACKUP_WAIT_MINUTES=(\d+)$", script, re.M)[1])  # type: ignore[index]
    migration = int(re.search(r"^MAX_MIGRATION_MINUTES=(\d+)$", script, re.M)[1])  # type: ignore[index]
    assert int(re.search(r"MIGRATION_TIMEOUT_MINUTES:-(\d+)", script)[1]) <= migration  # type: ignore[index]
    service = int(DEPLOY_TIMEOUT.removesuffix("m"))
    job = load("pulumi-up.yml")["jobs"]["up"]["timeout-minutes"]
    bootstrap = math.ceil(FUNCTION_TIMEOUT_SECONDS / 60) + 1
    allowances = sum(RELEASE_ALLOWANCES_MINUTES.values())
    release = backup_wait + bootstrap + migration + 2 * service + allowances
    assert release <= job, release
    # prod's first deploy through this job (dr is deployed from an operator session: the DR runbook, section B)
    model = analyse(prod)
    services = [s for s in model.steps.values() if s.resource.type == "aws:ecs/service:Service"]
    first_up = max(max(s.finish for s in model.steps.values()), min(s.start for s in services) + 2 * service)
    first = first_up + bootstrap + migration + allowances
    assert first <= job, round(first)


def test_pr_code_runs_without_a_stored_token_and_deploys_end_inside_their_credentials() -> None:
    """The PR jobs run the PR's code (make test, previews): checkout leaves no token in .git/config. A deploy job
    stops before the deploy role's session (deploySessionSeconds, 2 h) expires mid-`pulumi up`."""
    from bootstrap.bootstrap_config import BootstrapConfig

    checkouts = [s for s in steps(load("pull-request.yml")) if str(s.get("uses", "")).startswith("actions/checkout")]
    assert checkouts and all(s.get("with", {}).get("persist-credentials") is False for s in checkouts)
    session_minutes = BootstrapConfig().deploy_session_seconds // 60
    assert load("pulumi-up.yml")["jobs"]["up"]["timeout-minutes"] < session_minutes


def test_the_docs_ask_operators_for_at_least_the_pinned_cli() -> None:
    """An operator's CLI older than the SDK the program runs on can miss engine features it uses; the docs once
    asked for 3.229 while CI ran 3.272.0."""
    pinned = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements-deploy.txt").read_text(), re.MULTILINE)
    assert pinned
    pages = [ROOT / "docs" / "deploying-for-real.md", *(ROOT / "docs" / "runbooks").glob("*.md")]
    stated = {(page.name, version) for page in pages
              for version in re.findall(r"Pulumi CLI \(?(\d+\.\d+(?:\.\d+)?)", page.read_text())}
    assert stated and {version for _, version in stated} == {pinned.group(1)}, sorted(stated)
