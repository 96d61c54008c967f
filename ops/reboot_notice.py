"""Which changes of a `pulumi preview` take effect only after a database reboot, and the reboot commands.

    pulumi preview --json --diff -s prod | python -m ops.reboot_notice

Static PostgreSQL parameters (components/constants.py STATIC_DB_PARAMETERS: shared_buffers, max_connections, ...)
use the `pending-reboot` apply method, the only one RDS accepts for them, and "When the application method is
pending-reboot, changes to dynamic and static parameters are applied after a reboot without failover to the DB
instances associated with the parameter group" (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/
API_ModifyDBParameterGroup.html). No maintenance window applies them, and `pulumi up` does not reboot: each instance
keeps the old value, showing `pending-reboot` in DBParameterGroups[].ParameterApplyStatus (ops.verify fails on it,
which stops the CI chain until the reboot: reboot, then re-run the failed jobs),
until someone reboots it. This reads the engine's preview (steps with old and new inputs of every
aws:rds/parameterGroup:ParameterGroup), lists each changed static parameter and prints the reboot of every instance
of that group: replicas first (reads move to the others), then the primary (a Multi-AZ primary reboots in about a
minute; `--force-failover` moves it to the standby instead) — the primary first when a parameter a standby must hold
at least at the primary's value goes down (STANDBY_AT_LEAST_PRIMARY), and a split into two changes when one such
parameter goes up and another down.

Exit status: 0 (with or without reboots to do), 2 when the input is not a preview JSON document.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from components.constants import STATIC_DB_PARAMETERS
from ops import preview_document as doc

PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"


@dataclass(frozen=True)
class StaticChange:
    name: str
    old: str | None
    """None when the parameter was not set before (the engine default applied)."""
    new: str | None
    """None when the parameter is removed (back to the engine default, also at the next reboot)."""


def static_values(parameters: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """Static parameter name -> value, from a ParameterGroup's `parameters` input."""
    return {str(p.get("name")): str(p.get("value")) for p in parameters or []
            if str(p.get("name")) in STATIC_DB_PARAMETERS}


def static_changes(old: Iterable[Mapping[str, Any]] | None,
                   new: Iterable[Mapping[str, Any]] | None) -> list[StaticChange]:
    """The static parameters whose value differs between two `parameters` inputs, by name."""
    before, after = static_values(old), static_values(new)
    return [StaticChange(name, before.get(name), after.get(name))
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]


STANDBY_AT_LEAST_PRIMARY: tuple[str, ...] = (
    "max_connections", "max_prepared_transactions", "max_locks_per_transaction", "max_wal_senders",
    "max_worker_processes")
"""Parameters a standby must hold at least at the primary's value: "When running a standby server, you must set this
parameter to the same or higher value than on the primary server. Otherwise, queries will not be allowed in the
standby server." (PostgreSQL, runtime-config-connection: max_connections; the same for these five in hot-standby,
Administrator's Overview: "if you want to increase these values, you should do so on all standby servers first ...
Conversely, if you want to decrease these values, you should do so on the primary server first")."""


@dataclass(frozen=True)
class RebootPlan:
    primary_first: bool
    """Reboot the primary before the replicas (a standby-bound parameter goes down)."""
    note: str
    """Why this order; for a change that raises one such parameter and lowers another, that no order works."""


def _direction(change: StaticChange) -> int | None:
    try:
        return (float(change.new) > float(change.old)) - (float(change.new) < float(change.old))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None  # set or removed (the engine default is a formula), or not a number


def reboot_plan(changes: Sequence[StaticChange]) -> RebootPlan:
    """The order of the reboots after `pulumi up`: replicas first, unless a standby-bound parameter goes down."""
    bound = [c for c in changes if c.name in STANDBY_AT_LEAST_PRIMARY]
    lowered = [c.name for c in bound if _direction(c) == -1]
    raised = [c.name for c in bound if _direction(c) == 1]
    unknown = [c.name for c in bound if _direction(c) is None]
    check = (f"; {', '.join(unknown)} moves to or from the engine default: compare with the running value "
             "(`SHOW <name>`) and reboot the primary first if it goes down") if unknown else ""
    if lowered and raised:
        return RebootPlan(True, f"{', '.join(lowered)} goes down and {', '.join(raised)} up in one change: a standby "
                          "needs each at least at the primary's value, so no reboot order works. Split it into two "
                          "`pulumi up`s: the lowering first (primary, then replicas), then the raise (replicas, then "
                          "the primary)" + check)
    if lowered:
        return RebootPlan(True, f"the primary first: {', '.join(lowered)} goes down, and a replica rebooted first "
                          "would hold less than its primary and refuse queries" + check)
    return RebootPlan(False, "replicas first, then the primary (reads move to the others)" + check)


def reboot_commands(primaries: Sequence[str], replicas: Sequence[str], *, primary_first: bool = False) -> list[str]:
    """Replicas first, then primaries (or the other way round); each waits until the instance is available again."""
    lines = []
    for identifier in ([*primaries, *replicas] if primary_first else [*replicas, *primaries]):
        lines.append(f"aws rds reboot-db-instance --db-instance-identifier {identifier} && "
                     f"aws rds wait db-instance-available --db-instance-identifier {identifier}")
    return lines


def notice(preview: Mapping[str, Any]) -> list[str]:
    """The report for one preview document (`pulumi preview --json`)."""
    steps = doc.steps(preview)
    lines: list[str] = []
    for step in steps:
        if doc.resource_type(step) != PARAMETER_GROUP:
            continue
        changes = static_changes(doc.inputs(step, "oldState").get("parameters"),
                                 doc.inputs(step, "newState").get("parameters"))
        if not step.get("oldState") or not changes:
            continue  # a new group applies its values when its instances are created
        urn = str(step.get("urn", ""))
        group_names = {str(v) for v in (doc.state(step, "oldState").get("id"),
                                        (doc.state(step, "oldState").get("outputs") or {}).get("name")) if v}
        primaries: list[str] = []
        replicas: list[str] = []
        for other in steps:
            if doc.resource_type(other) != doc.RDS_INSTANCE:
                continue
            inputs = doc.inputs(other, "newState") or doc.inputs(other, "oldState")
            if str(inputs.get("parameterGroupName")) in group_names or urn in (
                    (doc.state(other, "newState").get("propertyDependencies") or {}).get("parameterGroupName") or []):
                identifier = str(inputs.get("identifier") or other.get("urn", "").rsplit("::", 1)[-1])
                (replicas if inputs.get("replicateSourceDb") else primaries).append(identifier)
        lines.append(f"REBOOT REQUIRED: {urn.rsplit('::', 1)[-1]} changes static parameters (applied only at the next "
                     "reboot of each instance, never in the maintenance window):")
        for change in changes:
            lines.append(f"  {change.name}: {change.old if change.old is not None else '(engine default)'} -> "
                         f"{change.new if change.new is not None else '(engine default)'}")
        if primaries or replicas:
            plan = reboot_plan(changes)
            lines.append(f"  after `pulumi up`, reboot ({plan.note}):")
            lines.extend(f"    {command}" for command in reboot_commands(sorted(primaries), sorted(replicas),
                                                                          primary_first=plan.primary_first))
        else:
            lines.append("  after `pulumi up`, reboot every instance using the group: "
                         "aws rds reboot-db-instance --db-instance-identifier <id>")
    return lines or ["No static database parameter changes: nothing waits for a reboot."]


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    doc.add_argument(parser)
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    try:
        document = doc.load(args.preview, stdin)
    except (OSError, ValueError) as error:
        print(f"reboot_notice: {error}", file=sys.stderr)
        return 2
    print("\n".join(notice(document)), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
