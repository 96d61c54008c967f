"""The first deploy, end to end and offline, in the order docs/runbooks/first-deploy.md gives: the bootstrap stack,
then app CI pushes the images, then `pulumi up` of dev — each step's inputs are the previous step's outputs.

1. `pulumi up` of bootstrap/ (stack `shared`): its real offline outputs (the foundation contract).
2. The image jobs assume app-ci and infra-ci — allowed only from the `images` environments — and push web, ai and
   backup into the repositories step 1 exported; the registry then holds exactly those digests (fresh ones, not the
   committed fixture).
3. A pull request sets the three digests in Pulumi.dev.yaml; the deploy job assumes deploy-dev (allowed only from the
   `dev` environment) and runs the app program against step 1's outputs (the StackReference answered from them) and
   step 2's registry, with deploy-dev's account as its credentials.
4. ops/release.sh, still as deploy-dev: the app-role bootstrap (`dbBootstrapCommand`: the db-admin function `pulumi
   up` created with its package and already invoked once), then the migration as app_migrate
   (`migrationRunTaskCommand`), whose login the bootstrap writes.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components import credentials
from offline.engine import StackRun, run_program, stack_config
from offline.foundation import app_mocks, run_bootstrap
from offline.iam_eval import allows, trust_allows
from offline.mocks import PushedImage

ROOT_DOCS = "docs/runbooks/first-deploy.md"
FOUNDATION_ONLY = Path(__file__).with_name("programs") / "foundation_only.py"  # the app program's first box
INFRA, APP = "acme/maratron-infra", "acme/maratron"
BOOTSTRAP = "organization/maratron-bootstrap/shared"


def role(run: StackRun, name: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    resource = next(r for r in run.of_type("aws:iam/role:Role") if r.inputs["name"] == name)
    policy = next(p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.parent == resource.urn)
    trust = json.loads(resource.inputs["assumeRolePolicy"])
    return trust, json.loads(policy.inputs["policy"]), trust["Statement"][0]["Principal"]["Federated"]


def assume(run: StackRun, name: str, repo: str, environment: str) -> dict[str, Any]:
    """The role's permissions, if a job of `repo` in the GitHub `environment` may assume it (else the test fails)."""
    trust, policy, provider = role(run, name)
    claims = {"aud": "sts.amazonaws.com", "sub": f"repo:{repo}:environment:{environment}"}
    assert trust_allows(trust, provider_arn=provider, claims=claims), (name, claims)
    return policy


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def sequence() -> dict[str, Any]:
    # 1. the foundation
    bootstrap = run_bootstrap("shared")
    assert bootstrap.ok, bootstrap.error_details
    foundation = bootstrap.plain_outputs()

    # 2. app CI and this repository's image job push into the foundation's repositories
    registry: dict[str, tuple[PushedImage, ...]] = {}
    pushed: dict[str, str] = {}
    for service, (publisher, repo) in {"web": ("maratron-app-ci", APP), "ai": ("maratron-app-ci", APP),
                                       "backup": ("maratron-infra-ci", INFRA)}.items():
        permissions = assume(bootstrap, publisher, repo, "images")
        arn = foundation["repositoryArns"][service]
        assert allows(permissions, "ecr:PutImage", arn) and allows(permissions, "ecr:GetAuthorizationToken", "*")
        pushed[service] = digest(f"{service} build 1")
        registry[foundation["repositoryNames"][service]] = (PushedImage(pushed[service], ("sha-0c0ffee",)),)

    # 3. the PR sets the digests; deploy-dev runs `pulumi up` of dev against steps 1 and 2
    deploy = assume(bootstrap, "maratron-deploy-dev", INFRA, "dev")
    overrides = {"maratron:webImage": pushed["web"], "maratron:aiImage": pushed["ai"],
                 "maratron:backupImage": pushed["backup"], "maratron:bootstrapStack": BOOTSTRAP}
    config, secret_keys, placeholders = stack_config("dev", overrides)
    mocks = app_mocks(config, references={BOOTSTRAP: foundation}, images=registry)
    assert mocks.account_id == foundation["accounts"]["dev"]  # the deploy role's account are the credentials
    app = run_program("dev", config, secret_keys, placeholders=placeholders, mocks=mocks)
    assert app.ok, app.error_details
    return {"bootstrap": bootstrap, "foundation": foundation, "pushed": pushed, "registry": registry,
            "deploy": deploy, "app": app, "config": config, "secret_keys": secret_keys}


def test_the_app_stack_runs_in_the_account_and_images_the_foundation_gave_it(sequence: dict[str, Any]) -> None:
    app, foundation, pushed = sequence["app"], sequence["foundation"], sequence["pushed"]
    assert app.one("pulumi:pulumi:StackReference").id == BOOTSTRAP
    assert json.loads(app.one("pulumi:providers:aws", "app").inputs["allowedAccountIds"]) == [
        foundation["accounts"]["dev"]]
    for task, service in (("web", "web"), ("ai", "ai"), ("migrate", "web"), ("backup", "backup")):
        containers = json.loads(app.one("aws:ecs/taskDefinition:TaskDefinition", task).plain("containerDefinitions"))
        # every container (the app's and a scratch-volume init container) runs the pushed image by digest
        assert {c["image"] for c in containers} == {f"{foundation['repositoryUrls'][service]}@{pushed[service]}"}, task
        policy = json.loads(app.one("aws:iam/rolePolicy:RolePolicy", f"{task}-execution").plain("policy"))
        pull = next(s for s in policy["Statement"] if "ecr:BatchGetImage" in s["Action"])
        assert pull["Resource"] == [foundation["repositoryArns"][service]], task
    lookups = sorted((a["registryId"], a["repositoryName"], a["imageDigest"])
                     for t, a in app.invokes if t == "aws:ecr/getImage:getImage")
    assert lookups == sorted((foundation["registryId"], foundation["repositoryNames"][s], pushed[s])
                             for s in ("web", "ai", "backup"))
    assert not [r for r in app.resources if r.type.startswith("aws:ecr/")]


def test_every_role_of_the_app_is_one_the_deploy_role_may_create_and_pass(sequence: dict[str, Any]) -> None:
    app, foundation, deploy = sequence["app"], sequence["foundation"], sequence["deploy"]
    boundary = foundation["workloadBoundaryArns"]["dev"]
    for resource in app.of_type("aws:iam/role:Role"):
        assert resource.inputs["path"] == foundation["workloadRolePaths"]["dev"]
        assert resource.inputs["permissionsBoundary"] == boundary
        arn = resource.outputs["arn"]
        assert allows(deploy, "iam:CreateRole", arn, {"iam:PermissionsBoundary": boundary}), arn
    migrate = app.one("aws:ecs/taskDefinition:TaskDefinition", "migrate")
    region = {"aws:RequestedRegion": "us-east-1"}
    assert allows(deploy, "ecs:RunTask", migrate.outputs["arn"], region)
    for name in ("migrate-execution", "migrate-task"):
        assert allows(deploy, "iam:PassRole", app.one("aws:iam/role:Role", name).outputs["arn"],
                      {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert app.outputs["migrationRunTaskCommand"].startswith(
        "aws ecs run-task --region us-east-1 --cluster maratron-dev ")


def test_the_deploy_role_runs_the_database_bootstrap_and_then_the_migration_as_app_migrate(
        sequence: dict[str, Any]) -> None:
    app, deploy = sequence["app"], sequence["deploy"]
    region = {"aws:RequestedRegion": "us-east-1"}
    function = app.one("aws:lambda/function:Function", "db-admin")
    # `pulumi up`: the function with its package inline (built from the virtualenv, no S3 upload), its rotation
    # permissions, and the bootstrap invocation (aws:lambda/invocation)
    for action in ("lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:AddPermission",
                   "lambda:InvokeFunction"):
        assert allows(deploy, action, function.outputs["arn"], region), action
    assert allows(deploy, "iam:PassRole", app.one("aws:iam/role:Role", "db-admin-role").outputs["arn"],
                  {"iam:PassedToService": "lambda.amazonaws.com"})
    # inline upload: "50 MB (zipped, when uploaded through the Lambda API or SDKs)" (Lambda quotas,
    # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), so no S3 bucket and no s3 grant
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, asset in credentials.lambda_archive().assets.items():
            assert isinstance(asset, pulumi.FileAsset)
            archive.write(asset.path, path)
    assert len(package.getvalue()) < 50 * 1024 * 1024
    bootstrap = app.one("aws:lambda/invocation:Invocation", "db-bootstrap")
    assert bootstrap.inputs["functionName"] == function.inputs["name"]
    # ops/release.sh: dbBootstrapCommand invokes the same function with the same event, before the migration
    command = app.outputs["dbBootstrapCommand"]
    assert (f"aws lambda invoke --region us-east-1 --cli-read-timeout 310 --function-name {function.inputs['name']} "
            in command)
    event = json.loads(command.split("--payload '")[1].split("'")[0])
    assert event == json.loads(bootstrap.plain("input")) and event["action"] == "bootstrap"
    # the migration reads DATABASE_URL from app_migrate's connection secret, which the bootstrap writes
    containers = json.loads(app.one("aws:ecs/taskDefinition:TaskDefinition", "migrate").plain("containerDefinitions"))
    migrate = next(c for c in containers if c.get("essential", True))
    value_from = next(s["valueFrom"] for s in migrate["secrets"] if s["name"] == "DATABASE_URL")
    written = {c["username"]: c["secretArn"] for c in event["connections"]}
    assert value_from == f"{written['app_migrate']}:url::"


def test_the_deploy_role_writes_dev_state_in_the_foundation_bucket_and_reads_the_foundation(
        sequence: dict[str, Any]) -> None:
    foundation, deploy = sequence["foundation"], sequence["deploy"]
    bucket = f"arn:aws:s3:::{foundation['stateBucketName']}"
    assert foundation["backendUrl"] == f"s3://{foundation['stateBucketName']}?region=us-east-1&awssdk=v2"
    assert allows(deploy, "s3:PutObject", f"{bucket}/.pulumi/stacks/maratron/dev.json")
    assert allows(deploy, "s3:GetObject", f"{bucket}/.pulumi/stacks/maratron-bootstrap/shared.json")
    assert not allows(deploy, "s3:PutObject", f"{bucket}/.pulumi/stacks/maratron/prod.json")
    secrets_key = sequence["bootstrap"].one("aws:kms/key:Key", "dev-secrets").outputs["arn"]
    assert allows(deploy, "kms:Decrypt", secrets_key)  # `--secrets-provider awskms://alias/maratron-pulumi-dev`
    assert foundation["secretsProviders"]["dev"] == "awskms://alias/maratron-pulumi-dev?region=us-east-1"


def test_out_of_order_steps_fail_the_preview(sequence: dict[str, Any]) -> None:
    config, secret_keys = sequence["config"], sequence["secret_keys"]
    # Step 3 before step 2: the digests were never pushed.
    empty = {name: () for name in sequence["registry"]}
    run = run_program("dev", config, secret_keys, program=FOUNDATION_ONLY, mocks=app_mocks(
        config, references={BOOTSTRAP: sequence["foundation"]}, images=empty))
    assert not run.ok and f"maratron:webImage = '{sequence['pushed']['web']}': not in" in str(run.error)
    # Step 3 before step 1: the backend has no bootstrap stack.
    run = run_program("dev", config, secret_keys, program=FOUNDATION_ONLY,
                      mocks=app_mocks(config, references={}, images=empty))
    assert not run.ok and f"unknown stack '{BOOTSTRAP}'" in str(run.error)


def test_the_runbook_walks_the_same_sequence() -> None:
    from offline.engine import ROOT

    text = (ROOT / ROOT_DOCS).read_text()
    steps = ["make preview-bootstrap", "pulumi stack change-secrets-provider", "pulumi stack import",
             "python -m bootstrap.github_setup", "--secrets-provider 'awskms://alias/maratron-pulumi-dev",
             "maratron:webImage", "ops/release.sh", "dbBootstrapCommand", "migrationRunTaskCommand",
             "python -m ops.verify --stack-outputs outputs.json --http"]
    positions = [text.find(step) for step in steps]
    assert all(p >= 0 for p in positions), [s for s, p in zip(steps, positions, strict=True) if p < 0]
    assert positions == sorted(positions), "the runbook's steps are out of order"
