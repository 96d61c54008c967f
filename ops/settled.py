"""Does a second preview plan nothing but what AWS has queued for the maintenance window? The deploy's last gate.

    pulumi preview --json --stack prod > second-preview.json && python -m ops.settled second-preview.json

Right after `pulumi up`, a second preview compares the program with the state the update recorded: a planned change
there is an input AWS or the provider reads back in another form (a perpetual diff, docs/aws-runtime-review.md R7),
and the deploy fails on it. One exception is by design: a database change `pulumi up` asked RDS to make in the
maintenance window (`dbApplyImmediately: false`, prod's rule). RDS queues it in the instance's
PendingModifiedValues, the provider reads back the current value, and until the window "this provider may report a
difference in its planning phase because a modification has not yet taken place" (pulumi-aws rds.Instance,
`apply_immediately`). `pulumi preview --expect-no-changes` would fail every deploy for up to a week.

So: every planned step must be an update of an RDS instance whose changed inputs (`diffReasons`) all appear, with
the new value, in that instance's PendingModifiedValues (DescribeDBInstances; the instance's region from its ARN).
Those are printed as waiting for the window; anything else fails the gate, named.

Exit status: 0 settled (or only waiting for the window), 1 a planned change that is not, 2 input that is not a
`pulumi preview --json` document.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import boto3

from ops.preview_document import RDS_INSTANCE, add_argument, inputs, load, resource_type, state, steps

UNCHANGED = frozenset({"same", "read", "refresh"})
"""Engine step kinds that change nothing."""
PENDING_KEYS = {
    "instanceClass": "DBInstanceClass", "allocatedStorage": "AllocatedStorage", "multiAz": "MultiAZ",
    "engineVersion": "EngineVersion", "iops": "Iops", "storageType": "StorageType",
    "storageThroughput": "StorageThroughput", "backupRetentionPeriod": "BackupRetentionPeriod",
    "caCertIdentifier": "CACertificateIdentifier", "dbSubnetGroupName": "DBSubnetGroupName",
}
"""rds.Instance input -> its PendingModifiedValues field: the modifications RDS defers to the maintenance window
(https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_PendingModifiedValues.html). ElastiCache needs none:
the provider stores a replication group's pending node type and engine version in the state itself
(terraform-provider-aws#48246, in the pulumi-aws 7 we pin), and replica counts change at once."""

Pending = Callable[[str, str], Mapping[str, Any]]
"""(region, instance identifier) -> the instance's PendingModifiedValues."""


def _same(planned: Any, pending: Any) -> bool:
    if isinstance(planned, bool) or isinstance(pending, bool):
        return bool(planned) == bool(pending) and pending is not None
    return pending is not None and str(planned) == str(pending)


def waiting(step: Mapping[str, Any], pending: Pending) -> list[str]:
    """The step's changes, one line each, when all of them are queued for the window; [] when any is not."""
    if step.get("op") != "update" or resource_type(step) != RDS_INSTANCE:
        return []
    reasons = [str(r) for r in step.get("diffReasons") or []]
    if not reasons or not set(reasons) <= set(PENDING_KEYS):
        return []
    planned, outputs = inputs(step, "newState"), state(step, "oldState").get("outputs") or {}
    identifier = str(planned.get("identifier") or outputs.get("identifier") or "")
    arn = str(outputs.get("arn") or "")
    if not identifier or arn.count(":") < 4:
        return []
    queued = pending(arn.split(":")[3], identifier)
    if not all(_same(planned.get(key), queued.get(PENDING_KEYS[key])) for key in reasons):
        return []
    return [f"waiting for the maintenance window: {identifier} {key} -> {planned.get(key)}" for key in reasons]


def verdict(preview: Mapping[str, Any], pending: Pending) -> tuple[bool, list[str]]:
    """(settled, report lines) for one `pulumi preview --json` document."""
    planned = [s for s in steps(preview) if s.get("op") not in UNCHANGED]
    lines: list[str] = []
    settled = True
    for step in planned:
        queued = waiting(step, pending)
        if queued:
            lines.extend(queued)
            continue
        settled = False
        reasons = ", ".join(str(r) for r in step.get("diffReasons") or []) or "-"
        lines.append(f"NOT SETTLED: {step.get('op')} {step.get('urn')} ({reasons})")
    if not planned:
        lines.append("Settled: the second preview plans no change.")
    elif settled:
        lines.append("Settled: every planned change is queued by RDS for the maintenance window.")
    return settled, lines


def rds_pending(region: str, identifier: str) -> Mapping[str, Any]:
    instances = boto3.client("rds", region_name=region).describe_db_instances(
        DBInstanceIdentifier=identifier)["DBInstances"]
    return instances[0].get("PendingModifiedValues") or {} if instances else {}


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         pending: Pending = rds_pending) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_argument(parser)
    args = parser.parse_args(argv)
    try:
        document = load(args.preview, stdin)
    except (OSError, ValueError) as error:
        print(f"settled: {error}", file=sys.stderr)
        return 2
    settled, lines = verdict(document, pending)
    print("\n".join(lines), file=stdout or sys.stdout)
    return 0 if settled else 1


if __name__ == "__main__":
    sys.exit(main())
