"""ops.settled: the deploy's last gate lets through only database changes RDS queued for the maintenance window."""

from __future__ import annotations

import io
import json
from typing import Any

from ops import settled

ARN = "arn:aws:rds:us-east-1:123456789012:db:maratron-prod-db"


def step(op: str = "update", type_: str = settled.RDS_INSTANCE, reasons: tuple[str, ...] = ("instanceClass",),
         **inputs: Any) -> dict[str, Any]:
    return {"op": op, "urn": f"urn:pulumi:prod::maratron::{type_}::database-primary", "diffReasons": list(reasons),
            "oldState": {"type": type_, "outputs": {"arn": ARN, "identifier": "maratron-prod-db"}},
            "newState": {"type": type_, "inputs": {"identifier": "maratron-prod-db", **inputs}}}


def run(*steps: dict[str, Any], pending: dict[str, Any] | None = None) -> tuple[int, str, list[tuple[str, str]]]:
    asked: list[tuple[str, str]] = []

    def lookup(region: str, identifier: str) -> dict[str, Any]:
        asked.append((region, identifier))
        return pending or {}

    out = io.StringIO()
    code = settled.main([], stdin=io.StringIO(json.dumps({"steps": list(steps)})), stdout=out, pending=lookup)
    return code, out.getvalue(), asked


def test_a_change_rds_queued_for_the_window_passes_and_says_so() -> None:
    code, text, asked = run(step(instanceClass="db.r6g.2xlarge", multiAz=True, reasons=("instanceClass", "multiAz")),
                            pending={"DBInstanceClass": "db.r6g.2xlarge", "MultiAZ": True})
    assert code == 0 and asked == [("us-east-1", "maratron-prod-db")]
    assert "waiting for the maintenance window: maratron-prod-db instanceClass -> db.r6g.2xlarge" in text


def test_a_planned_change_rds_has_not_queued_fails() -> None:
    # nothing pending (a perpetual diff), another value pending, or one of two keys not pending
    for pending in ({}, {"DBInstanceClass": "db.r6g.xlarge"}, {"DBInstanceClass": "db.r6g.2xlarge"}):
        code, text, _ = run(step(instanceClass="db.r6g.2xlarge", allocatedStorage=200,
                                 reasons=("instanceClass", "allocatedStorage")), pending=pending)
        assert code == 1 and "NOT SETTLED: update urn:pulumi:prod::maratron::aws:rds/instance:Instance" in text


def test_anything_but_a_deferrable_rds_update_fails_without_asking_aws() -> None:
    for planned in (step(reasons=("tags",), tags={"a": "b"}), step(op="replace", instanceClass="db.r6g.2xlarge"),
                    step(type_="aws:elasticache/replicationGroup:ReplicationGroup", nodeType="cache.r7g.large",
                         reasons=("nodeType",)), step(op="create")):
        code, text, asked = run(planned, pending={"DBInstanceClass": "db.r6g.2xlarge"})
        assert code == 1 and "NOT SETTLED" in text and asked == [], planned["op"]


def test_no_planned_change_is_settled_and_unchanged_steps_are_ignored() -> None:
    code, text, _ = run({"op": "same", "urn": "urn:x"}, {"op": "read", "urn": "urn:y"})
    assert code == 0 and "plans no change" in text


def test_input_that_is_no_preview_is_an_error(capsys: Any) -> None:
    assert settled.main([], stdin=io.StringIO("[]"), stdout=io.StringIO()) == 2
    assert "not the output of `pulumi preview --json`" in capsys.readouterr().err
