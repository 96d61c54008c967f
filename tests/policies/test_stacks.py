"""Whole stacks through the pack: every stack is clean, the pack configs merge as the engine merges them, and the
run exports as the CLI expects. (Breaking each control the prod stack sets is the sweep in test_controls.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.engine import StackRun
from offline.policy_runner import (
    PolicyConfigError,
    PolicyPackProcess,
    check_run,
    load_pack_config,
    merge_policy_config,
    render_verdict,
    stack_export,
)
from tests.policies.helpers import analyze


def test_every_stack_has_zero_mandatory_violations(pack: PolicyPackProcess, any_stack: StackRun) -> None:
    verdict = check_run(any_stack, pack=pack)
    assert verdict.mandatory == [], "\n".join(render_verdict(verdict))
    assert verdict.resources == len(any_stack.resources) and verdict.policies == len(pack.policy_names())


def test_the_dr_stack_is_clean_too(pack: PolicyPackProcess, run_variant) -> None:  # type: ignore[no-untyped-def]
    # Pulumi.dr.yaml is prod rebuilt in the DR region: every prod rule applies, the DR-copy rules exempt a restore.
    dr = run_variant("dr")
    verdict = check_run(dr, pack=pack)
    assert verdict.mandatory == [], "\n".join(render_verdict(verdict))
    assert load_pack_config("dr") == load_pack_config("prod")  # the DR stack is judged as production


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
    strict = analyze(pack, prod.resources, "prod", {"log-group-retention": {"minimumRetentionDays": 400}})
    assert {v.level for v in strict.of("log-group-retention")} == {"mandatory"}
    advisory = analyze(pack, prod.resources, "prod", {"all": "advisory",
                                                      "log-group-retention": {"minimumRetentionDays": 400}})
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
