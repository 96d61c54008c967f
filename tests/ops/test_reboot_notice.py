"""ops.reboot_notice: which static database parameters a real `pulumi preview --json` changes, and the reboots."""

from __future__ import annotations

import io
import json
from typing import Any

from ops import reboot_notice

GROUP_URN = "urn:pulumi:prod::maratron::maratron:data:Database$aws:rds/parameterGroup:ParameterGroup::database-params"


def params(shared_buffers: str, work_mem: str = "4096") -> list[dict[str, str]]:
    return [{"name": "shared_buffers", "value": shared_buffers, "applyMethod": "pending-reboot"},
            {"name": "maintenance_work_mem", "value": work_mem, "applyMethod": "immediate"},
            {"name": "rds.force_ssl", "value": "1", "applyMethod": "immediate"}]


def instance(name: str, identifier: str, replica: bool) -> dict[str, Any]:
    inputs = {"identifier": identifier, "parameterGroupName": "database-params-1a2b3c"}
    if replica:
        inputs["replicateSourceDb"] = "maratron-prod-db"
    state = {"type": "aws:rds/instance:Instance", "inputs": inputs}
    return {"op": "same", "urn": f"urn:pulumi:prod::maratron::aws:rds/instance:Instance::{name}",
            "oldState": state, "newState": state}


def preview(old: list[dict[str, str]], new: list[dict[str, str]]) -> dict[str, Any]:
    group = {"op": "update", "urn": GROUP_URN,
             "oldState": {"type": "aws:rds/parameterGroup:ParameterGroup", "id": "database-params-1a2b3c",
                          "inputs": {"parameters": old}, "outputs": {"name": "database-params-1a2b3c"}},
             "newState": {"type": "aws:rds/parameterGroup:ParameterGroup", "inputs": {"parameters": new}}}
    return {"steps": [group, instance("database-primary", "maratron-prod-db", False),
                      instance("database-replica-1", "maratron-prod-db-replica-1", True)]}


def run(document: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = reboot_notice.main([], stdin=io.StringIO(json.dumps(document)), stdout=out)
    return code, out.getvalue()


def test_a_static_change_names_the_parameter_and_reboots_replicas_before_the_primary() -> None:
    code, text = run(preview(params("32768"), params("65536")))
    assert code == 0
    assert "REBOOT REQUIRED: database-params" in text and "shared_buffers: 32768 -> 65536" in text
    replica = text.index("--db-instance-identifier maratron-prod-db-replica-1")
    primary = text.index("--db-instance-identifier maratron-prod-db &&")
    assert replica < primary


def test_dynamic_changes_need_no_reboot() -> None:
    code, text = run(preview(params("32768", "4096"), params("32768", "65536")))
    assert code == 0 and text.startswith("No static database parameter changes")


def test_a_new_group_applies_at_creation_and_a_removed_value_falls_back_to_the_default() -> None:
    created = preview(params("32768"), params("65536"))
    created["steps"][0]["oldState"] = None
    assert run(created)[1].startswith("No static")
    removed = reboot_notice.static_changes(params("32768"), params("32768")[1:])
    assert removed == [reboot_notice.StaticChange("shared_buffers", "32768", None)]


def test_input_that_is_no_preview_is_an_error() -> None:
    assert run({"resources": []})[0] == 2
    assert reboot_notice.main([], stdin=io.StringIO("not json"), stdout=io.StringIO()) == 2


def bound(max_connections: str, max_locks: str = "64") -> list[dict[str, str]]:
    return [{"name": "max_connections", "value": max_connections, "applyMethod": "pending-reboot"},
            {"name": "max_locks_per_transaction", "value": max_locks, "applyMethod": "pending-reboot"}]


def test_lowering_a_parameter_a_standby_must_match_reboots_the_primary_first() -> None:
    """A replica rebooted first at max_connections 590 under a primary at 600 refuses queries (PostgreSQL: a standby
    holds at least the primary's value); raising it keeps replicas first; one up and one down cannot be ordered."""
    code, text = run(preview(bound("600"), bound("590")))
    assert code == 0 and "max_connections: 600 -> 590" in text and "the primary first" in text
    assert text.index("--db-instance-identifier maratron-prod-db &&") < \
        text.index("--db-instance-identifier maratron-prod-db-replica-1")
    text = run(preview(bound("590"), bound("600")))[1]
    assert "replicas first" in text and text.index("maratron-prod-db-replica-1") < text.index("maratron-prod-db &&")
    text = run(preview(bound("600", "64"), bound("590", "128")))[1]
    assert "no reboot order works" in text and "two `pulumi up`s" in text
    plan = reboot_notice.reboot_plan([reboot_notice.StaticChange("max_connections", None, "590")])
    assert not plan.primary_first and "SHOW <name>" in plan.note
    assert not reboot_notice.reboot_plan([reboot_notice.StaticChange("shared_buffers", "65536", "32768")]).primary_first
