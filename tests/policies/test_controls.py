"""The pack guards every control the stacks set (issue 13).

1. Complete by construction: every property path the resources of every stack set (the app stacks and the foundation's
   bootstrap/ stacks) is classified exactly once —
   guarded by a rule's Guard, or listed in policies/rules/inventory.py as not a control (or unguardable) with its
   reason. A new setting that is neither fails here, listing the (type, path) pairs to classify. Parts no stack file
   enables (offline/policy_ledger.py OPTIONAL_PARTS: Managed Grafana, the web image built from source) are walked on
   a prod variant that has them.
2. The sweep: every Guard is weakened on every resource of that prod variant that sets it, through the analyzer
   protocol, and the guarding rule must answer with a mandatory violation naming that resource (or the one it
   blames). A guard whose types prod does not have is swept on the first stack we ship that has them (dev, dr,
   staging, then the foundation stacks, each with its own pack config); only a guard no stack has skips. A guard
   whose path is missing from a resource that is there fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from offline import policy_ledger
from offline.engine import PROJECT, StackRun, available_stacks, stack_config
from offline.policy_runner import (
    PolicyPackProcess,
    PolicyVerdict,
    Violation,
    load_pack_config,
    merge_policy_config,
    pack_config_name,
    render_verdict,
)
from policies.rules import ALL_RULES
from policies.rules._common import Rule
from policies.rules._controls import Guard
from tests.policies import sweep

GUARDS: list[tuple[Rule, Guard]] = [(rule, guard) for rule in ALL_RULES for guard in rule.guards]


def _id(pair: tuple[Rule, Guard]) -> str:
    rule, guard = pair
    types = ",".join(t.rsplit(":", 1)[-1] for t in guard.types)
    return f"{rule.name}[{types}.{guard.path}]"


@pytest.fixture(scope="module")
def encoded() -> dict[int, tuple[Any, Any]]:
    """prod_all's resources in wire form, encoded once for the module's AnalyzeStack calls (each case replaces a few
    resources with new, weakened objects; prod_all's own are never changed in place)."""
    return {}


@pytest.fixture(scope="module")
def prod_all(run_variant: Callable[..., StackRun]) -> StackRun:
    """prod with the optional parts no stack file enables (Managed Grafana, a web image built from source): classified
    and swept like the rest."""
    run = run_variant("prod", **policy_ledger.OPTIONAL_PARTS)
    assert run.ok, run.error
    return run


@pytest.fixture(scope="module", autouse=True)
def _session_pack_restored(pack: PolicyPackProcess) -> Iterator[None]:
    """The sweep reconfigures the session's pack case by case (Configure: the rule under test only, at the level
    of the stack's pack config); after the module it is prod's again, as the other tests expect it (once here, not
    after every case: ~600 RPCs fewer)."""
    yield
    config, secret_keys, _ = stack_config("prod")
    pack.configure_stack("prod", config, secret_keys, project=PROJECT)
    pack.configure(load_pack_config("prod"))


@pytest.fixture(scope="module")
def shipped(run_variant: Callable[..., StackRun], prod_all: StackRun) -> list[StackRun]:
    """Every stack we ship, prod with the optional parts first: the app stacks, then the foundation's."""
    runs = [prod_all, *(run_variant(stack) for stack in available_stacks() if stack != "prod"),
            *policy_ledger.foundation_runs()]
    assert all(run.ok for run in runs), [run.error for run in runs]
    return runs


def test_every_property_the_stacks_set_is_guarded_or_classified(run_variant: Callable[..., StackRun],
                                                                  shipped: list[StackRun]) -> None:
    runs = [run_variant("prod"), *shipped]
    assert {run.project for run in runs} == {"maratron", "maratron-bootstrap"}
    assert all(run.ok for run in runs), [run.error for run in runs]
    report = policy_ledger.classify(runs)
    assert report.ok, "\n".join(report.lines())
    guarded = {pair for pair, entry in report.classified.items() if entry.kind == "guard"}
    assert len(guarded) > 400  # the walk really reaches into documents and containers


def test_every_rule_guards_a_control() -> None:
    bare = [rule.name for rule in ALL_RULES if not rule.guards]
    assert not bare, f"rules without a Guard (what would the sweep weaken?): {bare}"


def test_guards_name_distinct_controls() -> None:
    ids = [_id(pair) + pair[1].weaken.describe() for pair in GUARDS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("pair", GUARDS, ids=[_id(p) for p in GUARDS])
def test_weakening_a_control_is_caught_as_mandatory(pack: PolicyPackProcess, shipped: list[StackRun],
                                                    encoded: dict[int, tuple[Any, Any]],
                                                    pair: tuple[Rule, Guard]) -> None:
    rule, guard = pair
    found = next(((run, cases) for run in shipped if (cases := sweep.cases(run, rule, guard)) is not None), None)
    if found is None:
        pytest.skip(f"no stack we ship has {'/'.join(guard.types)} matching {guard.where}")
    run, cases = found
    pack.configure_stack(run.stack, run.config, run.secret_keys, project=run.project)
    # Only the rule under test runs, at the level and with the properties the stack's pack config gives it: the
    # verdict is the same, and the pack skips every other policy's validation of every resource.
    level, properties = merge_policy_config(pack.info, load_pack_config(pack_config_name(run)))[rule.name]
    pack.configure({"all": "disabled", rule.name: {"enforcementLevel": level, **properties}})
    missed = []
    for case in cases:
        if rule.is_stack_rule:
            violations = pack.analyze_stack(case.resources, encoded)
        else:
            violations = [v for resource in case.weakened for v in pack.analyze(resource)]
        hits = {v.urn for v in violations if v.policy == rule.name and v.level == "mandatory"}
        if not set(case.expected) <= hits:
            missed.append(f"{case.label}: expected {sorted(set(case.expected) - hits)}; the pack said:\n"
                          + "\n".join(render_verdict_lines(violations)))
    assert not missed, f"{rule.name} did not catch {guard.path} {guard.weaken.describe()}:\n" + "\n".join(missed)


def render_verdict_lines(violations: list[Violation]) -> list[str]:
    return render_verdict(PolicyVerdict("stack", "pack", violations))[1:] or ["  (nothing)"]


def test_an_unclassified_control_is_named_with_its_type_path_and_a_line_to_paste(
        prod: StackRun, run_variant: Callable[..., StackRun]) -> None:
    task = "aws:ecs/taskDefinition:TaskDefinition"
    kept = [e for e in policy_ledger.entries() if not (task in e.types and e.path in ("cpu", "volumes"))]
    # Every stack: some entries cover what only another stack sets (dev's HTTP redirect, the dr stack's restore, the
    # foundation's registry and CI roles).
    runs = [prod, *(run_variant(stack) for stack in available_stacks() if stack != "prod"),
            *policy_ledger.foundation_runs()]
    report = policy_ledger.classify(runs, kept)
    assert set(report.unclassified) == {(task, "cpu"), (task, "volumes[*].name")}
    text = "\n".join(report.lines())
    assert f"  {task}  volumes[*].name   (e.g. urn:pulumi:prod::" in text
    assert f"    N('{task}', 'cpu', \"<category>\", \"<why>\")," in text
    # The pasted line (with its category) is all it takes.
    pasted = [policy_ledger.Entry("not-a-control", (task,), "cpu", "capacity", "task size"),
              policy_ledger.Entry("not-a-control", (task,), "volumes[*].name", "wiring", "scratch volumes")]
    assert policy_ledger.classify(runs, kept + pasted).ok
