"""Whole stacks through the pack: every stack is clean, the pack configs merge as the engine merges them, and the
run exports as the CLI expects. (Breaking each control the prod stack sets is the sweep in test_controls.py.)"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import pytest
from pulumi_policy import StackValidationPolicy

from offline.engine import Resource, StackRun
from offline.policy_runner import (
    PolicyConfigError,
    PolicyPackProcess,
    PolicyVerdict,
    check_resources,
    check_run,
    load_pack_config,
    merge_policy_config,
    render_verdict,
    stack_export,
)
from policies.rules import ALL_RULES
from tests.conftest import checked

DELETE = "<delete>"
PROTECT = "@protect"
STACK_POLICIES = {rule.policy.name for rule in ALL_RULES if isinstance(rule.policy, StackValidationPolicy)}


def test_every_stack_has_zero_mandatory_violations(pack: PolicyPackProcess, any_stack: StackRun) -> None:
    verdict = checked(any_stack, pack)  # shared with the runner's and the previews' tests on this worker
    assert verdict.mandatory == [], "\n".join(render_verdict(verdict))
    assert verdict.resources == len(any_stack.resources) and verdict.policies == len(pack.policy_names())


def test_a_first_preview_of_prod_passes_the_pack(pack: PolicyPackProcess) -> None:
    """`pulumi preview --policy-pack` of a stack not created yet (CI's first preview, release.sh's first step): every
    new resource's id and computed outputs are unknown, and the inputs built from them too. A rule that reads an
    unknown cannot run then (the pack reports it as advisory); none may fail the preview as mandatory."""
    from offline.engine import run_stack

    first = run_stack("prod", preview=True)
    assert first.ok, first.error_details
    assert not [r.id for r in first.resources if r.custom and r.type.startswith("aws:") and r.id]  # all unknown
    verdict = check_run(first, pack=pack, pack_config=load_pack_config("prod"))
    assert verdict.mandatory == [], "\n".join(render_verdict(verdict))
    assert verdict.advisory  # the rules that read an unknown say so


def test_the_dr_stack_is_clean_too(run_variant) -> None:  # type: ignore[no-untyped-def]
    # Pulumi.dr.yaml is prod rebuilt in the DR region: every prod rule applies, the DR-copy rules exempt a restore.
    dr = run_variant("dr")
    # Its own pack, started as the engine starts it for dr: rules that read the stack's region take it from the
    # pack's PULUMI_CONFIG, and the session's pack was started with prod's (us-east-1, not the DR region).
    verdict = check_run(dr)
    assert verdict.mandatory == [], "\n".join(render_verdict(verdict))
    assert load_pack_config("dr") == load_pack_config("prod")  # the DR stack is judged as production


# --- the foundation's stacks: the Guard sweep (test_controls.py) walks the app's prod; these break the
# foundation's controls one resource at a time.

@dataclass(frozen=True)
class Break:
    type: str
    path: tuple[Any, ...]
    """Keys and list indexes into the inputs; "<json>" parses a JSON string input; "@k=v" picks a list item."""
    value: Any
    policy: str
    where: tuple[str, Any] | None = None
    """Only resources whose input `where[0]` equals `where[1]` (None: any); the first one is broken."""

    @property
    def id(self) -> str:
        return f"{self.type.rsplit(':', 1)[-1]}.{'.'.join(map(str, self.path))}->{self.policy}"


def _set(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of document with the value at path replaced (or deleted); KeyError when the path is not there."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    if step == "<json>":
        return json.dumps(_set(json.loads(document), rest, value))
    if isinstance(step, str) and step.startswith("@"):
        key, _, wanted = step[1:].partition("=")
        index = next((i for i, item in enumerate(document) if str(item.get(key)) == wanted), None)
        if index is None:
            raise KeyError(step)
        step = index
    out = copy.copy(document)
    if not rest and value == DELETE:
        if step not in (range(len(out)) if isinstance(out, list) else out):
            raise KeyError(step)
        del out[step]
        return out
    if isinstance(out, dict) and step not in out and rest:
        raise KeyError(step)
    out[step] = _set(out[step], rest, value) if rest else value
    return out


def _target(run: StackRun, entry: Break) -> Resource | None:
    for resource in run.of_type(entry.type):
        if entry.where is None or resource.inputs.get(entry.where[0]) == entry.where[1]:
            return resource
    return None


def broken(run: StackRun, entry: Break) -> tuple[list[Resource], Resource]:
    target = _target(run, entry)
    assert target is not None
    if entry.path == (PROTECT,):
        changed = dataclasses.replace(target, protect=entry.value)
    else:
        try:
            inputs = _set(target.inputs, entry.path, entry.value)
        except (KeyError, IndexError, TypeError) as error:
            raise AssertionError(f"{target.urn} has no input {entry.path}: update the sweep entry") from error
        try:
            outputs = _set(target.outputs, entry.path, entry.value)
        except (KeyError, IndexError, TypeError):
            outputs = {**target.outputs, **inputs}
        changed = dataclasses.replace(target, inputs=inputs, outputs=outputs)
    return [changed if r is target else r for r in run.resources], changed


TRUST = ("assumeRolePolicy", "<json>", "Statement", 0)
BOOTSTRAP_SWEEP: list[Break] = [
    Break("aws:iam/role:Role", (*TRUST, "Condition", "StringEquals", "token.actions.githubusercontent.com:sub"),
          ["repo:acme/*:environment:prod"], "oidc-trust-pins-repository-and-environment"),
    Break("aws:iam/role:Role", (*TRUST, "Condition", "StringEquals", "token.actions.githubusercontent.com:aud"),
          DELETE, "oidc-trust-pins-repository-and-environment"),
    Break("aws:iam/role:Role", (*TRUST, "Principal"), {"AWS": "*"}, "no-role-assumable-by-anyone"),
    Break("aws:iam/openIdConnectProvider:OpenIdConnectProvider", ("clientIdLists",), ["https://github.com/acme"],
          "oidc-provider-github-audience"),
    Break("aws:ecr/repository:Repository", ("imageTagMutability",), "MUTABLE", "ecr-repository-hardened"),
    Break("aws:ecr/repository:Repository", ("imageScanningConfiguration", "scanOnPush"), False,
          "ecr-repository-hardened"),
    Break("aws:ecr/lifecyclePolicy:LifecyclePolicy", ("policy",), json.dumps({"rules": [{
        "rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
        "action": {"type": "expire"}}]}), "ecr-lifecycle-keeps-deployed-images"),
    Break("aws:ecr/repository:Repository", (PROTECT,), False, "stateful-resources-protected"),
    Break("aws:s3/bucket:Bucket", (PROTECT,), False, "stateful-resources-protected"),
    Break("aws:kms/key:Key", ("enableKeyRotation",), False, "kms-key-rotation"),
    Break("aws:s3/bucketVersioning:BucketVersioning", ("versioningConfiguration", "status"), "Suspended",
          "s3-versioning"),
]


def test_the_foundation_is_clean_under_the_pack(pack: PolicyPackProcess) -> None:
    from offline.foundation import bootstrap_stacks, run_bootstrap

    for stack in bootstrap_stacks():
        verdict = checked(run_bootstrap(stack), pack)
        assert verdict.mandatory == [], "\n".join(render_verdict(verdict))
        # Every rule runs but those policies/config/bootstrap.json disables (restore-drill-scheduled: the state
        # bucket's DR replication has no backups for the drill to restore).
        disabled = [name for name, level in load_pack_config("bootstrap").items() if level == "disabled"]
        assert disabled == ["restore-drill-scheduled"]
        assert verdict.policies == len(pack.policy_names()) - len(disabled)


@pytest.mark.parametrize("entry", BOOTSTRAP_SWEEP, ids=lambda e: e.id)
def test_misconfiguration_sweep_bootstrap(pack: PolicyPackProcess, entry: Break) -> None:
    from offline.foundation import run_bootstrap

    shared = run_bootstrap("shared")
    assert _target(shared, entry) is not None, f"the shared foundation has no {entry.type}"
    resources, changed = broken(shared, entry)
    verdict = check_resources(pack, "shared", resources, load_pack_config("bootstrap"), analyze_only=[changed.urn],
                              analyze_stack=entry.policy in STACK_POLICIES)  # as in the prod sweep
    hits = [v for v in verdict.mandatory if v.policy == entry.policy and v.urn == changed.urn]
    assert hits, "\n".join(render_verdict(verdict))


# --- pack config ------------------------------------------------------------------------------------------------------

def test_config_merges_schema_defaults_all_and_per_policy(pack: PolicyPackProcess) -> None:
    merged = merge_policy_config(pack.info, {"all": "advisory", "rds-backup-retention": {
        "enforcementLevel": "mandatory", "minimumRetentionDays": 3}, "alb-hsts": "disabled"})
    assert merged["rds-backup-retention"] == ("mandatory", {"minimumRetentionDays": 3})
    assert merged["alb-hsts"][0] == "disabled"
    assert merged["log-group-retention"] == ("advisory", {"minimumRetentionDays": 365})
    assert merge_policy_config(pack.info, {})["vpc-flow-logs"] == ("mandatory", {})


@pytest.mark.parametrize(("config", "error"), [
    ({"rds-backups": "advisory"}, "no policy named 'rds-backups'"),
    ({"rds-backup-retention": {"minimumDays": 3}}, "has no property 'minimumDays'"),
    ({"all": "warn"}, "enforcement level 'warn' is not one of"),
])
def test_config_errors_name_the_problem(pack: PolicyPackProcess, config: dict[str, Any], error: str) -> None:
    with pytest.raises(PolicyConfigError, match=error):
        merge_policy_config(pack.info, config)


def test_config_parameter_changes_the_verdict(pack: PolicyPackProcess, prod: StackRun) -> None:
    # log-group-retention is a resource policy: Analyze of prod's log groups decides it (no AnalyzeStack needed).
    log_groups = [r.urn for r in prod.of_type("aws:cloudwatch/logGroup:LogGroup")]

    def verdict(pack_config: dict[str, Any]) -> PolicyVerdict:
        return check_resources(pack, "prod", prod.resources, pack_config, analyze_only=log_groups,
                               analyze_stack=False)

    assert not verdict({}).of("log-group-retention")
    strict = verdict({"log-group-retention": {"minimumRetentionDays": 400}})
    assert {v.urn for v in strict.of("log-group-retention")} == set(log_groups)
    assert {v.level for v in strict.of("log-group-retention")} == {"mandatory"}
    advisory = verdict({"all": "advisory", "log-group-retention": {"minimumRetentionDays": 400}})
    assert advisory.of("log-group-retention") and not advisory.mandatory


def test_stack_config_files_are_valid_and_dev_downgrades_only_cost_rules(pack: PolicyPackProcess) -> None:
    levels = {stack: merge_policy_config(pack.info, load_pack_config(stack)) for stack in ("dev", "staging", "prod")}
    assert all(level == "mandatory" for level, _ in levels["prod"].values())
    assert all(level == "mandatory" for level, _ in levels["staging"].values())
    downgraded = {name for name, (level, _) in levels["dev"].items() if level != "mandatory"}
    assert downgraded == {"alb-access-logs", "rds-performance-insights-encrypted", "ecs-cluster-container-insights"}


# --- stack export -----------------------------------------------------------------------------------------------------

def test_stack_export_has_the_cli_shape(prod: StackRun) -> None:
    export = stack_export(prod)
    assert export["version"] == 3
    resources = export["deployment"]["resources"]
    assert [r["urn"] for r in resources] == [r.urn for r in prod.resources]
    key = next(r for r in resources if r["type"] == "aws:kms/key:Key")
    assert key["protect"] is True and key["inputs"]["enableKeyRotation"] is True and key["parent"]
    json.dumps(export)


def test_the_stack_reference_is_exported_as_read_not_managed(prod: StackRun) -> None:
    resources = stack_export(prod)["deployment"]["resources"]
    (reference,) = [r for r in resources if r["type"] == "pulumi:pulumi:StackReference"]
    assert reference["external"] is True and reference["id"] == "organization/maratron-bootstrap/shared"
    assert not [r for r in resources if r.get("external") and r["type"] != "pulumi:pulumi:StackReference"]


def test_the_foundations_repositories_are_the_ones_the_pack_allows() -> None:
    """The pack refuses (mandatory) a CI trust for a repository outside bootstrap.json's allowedRepositories: every
    repository a foundation stack file names must be in it, or the first deploy's preview fails on every CI role."""
    import yaml

    from offline.engine import ROOT

    allowed = set(json.loads((ROOT / "policies" / "config" / "bootstrap.json").read_text())[
        "oidc-trust-pins-repository-and-environment"]["allowedRepositories"])
    named = {(path.name, value) for path in (ROOT / "bootstrap").glob("Pulumi.*.yaml")
             for key, value in (yaml.safe_load(path.read_text()).get("config") or {}).items()
             if key.endswith(("githubRepository", "githubAppRepository"))}
    assert named and {value for _, value in named} <= allowed, sorted(named)
