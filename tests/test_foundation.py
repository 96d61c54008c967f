"""The app stack on the foundation: the bootstrap contract checked before any AWS resource, one provider pinned to
the environment's account, every role under the environment's path with its boundary — in both layouts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bootstrap.bootstrap_outputs import FOUNDATION
from offline.engine import ROOT, StackRun, run_program, stack_config
from offline.foundation import app_mocks, resolve_stack

SHARED = "organization/maratron-bootstrap/shared"
ORG_SHARED = "organization/maratron-bootstrap/org-shared"


FOUNDATION_ONLY = ROOT / "tests" / "programs" / "foundation_only.py"


def run_app(stack: str, references: Mapping[str, Mapping[str, Any]] | None = None, *, account: str = "",
            program: Path | None = None, preview: bool = False, **overrides: Any) -> StackRun:
    """An app run against these StackReference answers; `account`: the credentials' account (default: the one the
    foundation places the environment in, as the deploy role would give). `program`: FOUNDATION_ONLY runs just the
    foundation and one gated resource (the checks' failures need nothing more)."""
    full = {(k if ":" in k else f"maratron:{k}"): v for k, v in overrides.items()}
    config, secret_keys, placeholders = stack_config(stack, full)
    mocks = app_mocks(config, references=references)
    if account:
        mocks.account_id = mocks.account = account
    return run_program(stack, config, secret_keys, placeholders=placeholders, mocks=mocks, program=program,
                       preview=preview)


def aws_resources(run: StackRun) -> list[str]:
    return [r.type for r in run.resources if r.custom and r.type.startswith(("aws:", "pulumi:providers:"))]


def broken(change: Mapping[str, Any], drop: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    outputs = {**resolve_stack(SHARED), **change}
    for key in drop:
        outputs.pop(key)
    return {SHARED: outputs}


@pytest.mark.parametrize(("change", "expected"), [
    (({"contractVersion": "2.0.0"},),
     f"contract 2.0.0 is not supported (this program reads major 1, {FOUNDATION.version})"),
    (({}, ("repositoryArns",)), "output repositoryArns is missing"),
    (({"accounts": "123456789012"},), "output accounts is str, the contract says map[string]"),
    (({"workloadBoundaryArns": {"prod": "arn:x"}},), "output workloadBoundaryArns has no dev"),
    (({"region": "eu-west-1"},), "its region is eu-west-1 (registry replicas: us-west-2), this stack's aws:region "
                                  "us-east-1"),
    (({"region": "eu-west-1", "replicaRegions": []},),
     "its region is eu-west-1 (registry replicas: none), this stack's aws:region us-east-1"),
    (({"accounts": {"shared": "123456789012", "dev": "999999999999", "staging": "1", "prod": "1"}},),
     "it places dev in account 999999999999, but the credentials are for account 123456789012 (assume the dev "
     "deploy role: arn:aws:iam::123456789012:role/maratron/ci/maratron-deploy-dev)"),
    (None, "the stack has no outputs: apply the bootstrap stack first"),
])
def test_an_unusable_foundation_is_one_line_naming_the_key_before_any_aws_resource(
        change: tuple[Any, ...] | None, expected: str) -> None:
    # The broken outputs are built here, not in the parameters: resolving the foundation runs its program, which
    # would otherwise run at collection, once in every test worker.
    references = {SHARED: {}} if change is None else broken(*change)
    run = run_app("dev", references=references, account="123456789012", program=FOUNDATION_ONLY)
    assert not run.ok
    message = str(run.error)
    assert message.startswith(f"maratron:bootstrapStack = '{SHARED}': ") and "\n" not in message, message
    assert expected in message, message
    assert aws_resources(run) == [], aws_resources(run)


def test_a_stack_the_backend_does_not_have_fails_the_read() -> None:
    run = run_app("dev", references={}, program=FOUNDATION_ONLY, bootstrapStack="organization/maratron-bootstrap/nope")
    assert not run.ok and "unknown stack 'organization/maratron-bootstrap/nope'" in str(run.error)
    assert aws_resources(run) == []


def test_every_aws_resource_goes_through_the_provider_pinned_to_the_environment_account(dev: StackRun) -> None:
    provider = dev.one("pulumi:providers:aws", "app")
    outputs = dev.one("pulumi:pulumi:StackReference").outputs["outputs"]
    assert json.loads(provider.inputs["allowedAccountIds"]) == [outputs["accounts"]["dev"]]
    assert provider.inputs["region"] == "us-east-1"
    reference = f"{provider.urn}::{provider.id}"
    strays = [r.name for r in dev.resources if r.custom and r.type.startswith("aws:") and r.provider != reference]
    assert strays == []


def test_every_role_lives_under_the_environment_path_with_the_workload_boundary(any_stack: StackRun) -> None:
    outputs = any_stack.one("pulumi:pulumi:StackReference").outputs["outputs"]
    env = any_stack.outputs["environment"]
    roles = any_stack.of_type("aws:iam/role:Role")
    assert roles and all(r.inputs["path"] == f"/maratron/{env}/" for r in roles)
    assert {r.inputs["permissionsBoundary"] for r in roles} == {outputs["workloadBoundaryArns"][env]}
    assert all(r.outputs["arn"].startswith(f"arn:aws:iam::{outputs['accounts'][env]}:role/maratron/{env}/")
               for r in roles)


def test_the_stack_reads_the_configured_foundation_and_exports_it(prod: StackRun) -> None:
    reference = prod.one("pulumi:pulumi:StackReference")
    assert reference.id == SHARED and prod.outputs["bootstrapStack"] == SHARED


# --- the organization layout: the dev stack in the dev account, images in the shared account ------------------------

@pytest.fixture(scope="module")
def org_dev_app() -> StackRun:
    run = run_app("dev", bootstrapStack=ORG_SHARED)
    assert run.ok, run.error_details
    return run


def test_org_layout_runs_in_the_environment_account_and_pulls_across_accounts(org_dev_app: StackRun) -> None:
    shared = resolve_stack(ORG_SHARED)
    dev_account, shared_account = shared["accounts"]["dev"], shared["accounts"]["shared"]
    assert (dev_account, shared_account) == ("222222222222", "111111111111")
    provider = org_dev_app.one("pulumi:providers:aws", "app")
    assert json.loads(provider.inputs["allowedAccountIds"]) == [dev_account]
    # Tasks run images of the shared registry, and their execution roles may pull exactly those repositories.
    web = json.loads(org_dev_app.one("aws:ecs/taskDefinition:TaskDefinition", "web").plain("containerDefinitions"))[0]
    assert web["image"].startswith(f"{shared_account}.dkr.ecr.us-east-1.amazonaws.com/maratron/web@sha256:")
    policy = json.loads(org_dev_app.one("aws:iam/rolePolicy:RolePolicy", "web-execution").plain("policy"))
    pull = next(s for s in policy["Statement"] if "ecr:BatchGetImage" in s["Action"])
    assert pull["Resource"] == [shared["repositoryArns"]["web"]]
    # The repository policy of the shared stack admits exactly these roles of the dev account.
    role_arns = [r.outputs["arn"] for r in org_dev_app.of_type("aws:iam/role:Role")]
    assert all(a.startswith("arn:aws:iam::222222222222:role/maratron/dev/") for a in role_arns)
    lookups = [args for token, args in org_dev_app.invokes if token == "aws:ecr/getImage:getImage"]
    assert {a["registryId"] for a in lookups} == {shared_account}
    # The S3 gateway's perimeter is the environment's account (plus ECR's layer bucket), not the shared one.
    s3 = json.loads(org_dev_app.one("aws:ec2/vpcEndpoint:VpcEndpoint", "network-s3").plain("policy"))
    own = next(s for s in s3["Statement"] if s["Sid"] == "OwnPrincipalsToOwnResources")["Condition"]
    assert own == {"StringEquals": {"aws:PrincipalAccount": [dev_account]},
                   "StringEqualsIfExists": {"aws:ResourceAccount": [dev_account]}}


def test_org_layout_refuses_credentials_of_the_shared_account() -> None:
    shared = resolve_stack(ORG_SHARED)
    # An administrator's shared-account credentials, used for the dev stack by mistake.
    run = run_app("dev", account=shared["accounts"]["shared"], program=FOUNDATION_ONLY, bootstrapStack=ORG_SHARED)
    assert "it places dev in account 222222222222, but the credentials are for account 111111111111" in \
        str(run.error)
    assert aws_resources(run) == []


def test_the_checks_run_in_a_real_preview_too() -> None:
    """In a preview computed values are unknown and applies over them do not run; the StackReference's outputs are
    known (the engine reads the stack during preview), so the contract check and the image lookups still run and a
    missing image still fails `pulumi preview`."""
    run = run_app("dev", program=FOUNDATION_ONLY, preview=True, webImage="sha256:" + "0" * 64)
    assert not run.ok and "maratron:webImage = 'sha256:" in str(run.error)
    assert aws_resources(run) == []
    good_config, secret_keys, placeholders = stack_config("dev")
    good = run_program("dev", good_config, secret_keys, placeholders=placeholders, mocks=app_mocks(good_config),
                       preview=True)
    assert good.ok, good.error_details
    assert [t for t, _ in good.invokes].count("aws:ecr/getImage:getImage") == 3


def test_the_gate_holds_back_only_until_the_checks_pass() -> None:
    """The same small program on a good foundation: the probe registers, behind the stack's provider."""
    run = run_app("dev", program=FOUNDATION_ONLY)
    assert run.ok, run.error_details
    provider = run.one("pulumi:providers:aws", "app")
    assert run.one("aws:s3/bucket:Bucket", "probe").provider == f"{provider.urn}::{provider.id}"
