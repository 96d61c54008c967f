"""The generated figures tables (offline/figures.py): current, and computed from the run, the models and the pack."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from offline import cost, critical_path, figures
from offline.engine import StackRun
from offline.policy_runner import PolicyPackProcess


@pytest.fixture(scope="module")
def rows(run_variant: Callable[..., StackRun], pack: PolicyPackProcess) -> list[figures.StackFigures]:
    """Every stack with a stack file, as `make docs` renders them (the session's cached runs; the session's pack:
    its analyzer info is the one `make docs` reads from a pack of its own)."""
    runs = [run_variant(stack) for stack in figures.stacks()]
    for run in runs:
        assert run.ok, run.error_details
    return figures.compute(runs, pack)


def test_every_stack_file_has_a_row(rows: list[figures.StackFigures]) -> None:
    assert [f.stack for f in rows][:3] == ["dev", "staging", "prod"]
    assert "dr" in {f.stack for f in rows}, "Pulumi.dr.yaml is a stack: the figures cover it"
    glance = figures.render_glance(rows)
    assert all(f"| {f.stack} | {f.resources} |" in glance for f in rows)


def test_readme_and_cost_page_figures_are_current(rows: list[figures.StackFigures]) -> None:
    for path, text in figures.generated(rows).items():
        assert path.read_text() == text, f"{path.name}: figures are stale: run `make docs`"


def test_a_changed_figure_is_detected(rows: list[figures.StackFigures]) -> None:
    readme = figures.README.read_text()
    prod_row = next(line for line in readme.splitlines() if line.startswith("| prod | "))
    tampered = readme.replace(prod_row, prod_row.replace(f"| {rows[2].resources} |", "| 1 |"))
    assert tampered != readme
    assert figures.replaced(tampered, figures.GLANCE, figures.render_glance(rows)) == readme


def test_figures_come_from_the_run_the_cost_model_and_the_deploy_model(prod: StackRun,
                                                                      rows: list[figures.StackFigures]) -> None:
    row = rows[2]
    assert row.stack == "prod"
    assert row.resources == len([r for r in prod.resources if r.custom])
    assert row.cost.total() == pytest.approx(cost.estimate(prod).total())
    assert row.path.total == pytest.approx(critical_path.analyse(prod).total)
    glance = figures.render_glance(rows)
    assert f"| prod | {row.resources} | ${row.cost.total():,.2f} | {row.cost.overhead_ratio:.0%} |".replace(
        "%", " %") in glance


def test_mandatory_rules_follow_the_pack_config_and_prod_only_scope(dev: StackRun, prod: StackRun,
                                                                     rows: list[figures.StackFigures]) -> None:
    prod_only = figures.prod_only_rules()
    assert prod_only, "the pack has prod-only rules (Multi-AZ, deletion protection, ...)"
    names = sorted(figures.rule_levels(["prod"])["prod"])
    everything = dict.fromkeys(names, "mandatory")
    assert figures.figures(prod, everything, prod_only).mandatory_rules == len(names)
    one_advisory = {**everything, names[0]: "advisory"}
    assert figures.figures(prod, one_advisory, prod_only).mandatory_rules == len(names) - 1
    disabled = {**everything, names[0]: "disabled"}
    assert figures.figures(prod, disabled, prod_only).rules == len(names) - 1
    on_dev = figures.figures(dev, everything, prod_only)
    assert (on_dev.mandatory_rules, on_dev.prod_only_off) == (len(names) - len(prod_only), len(prod_only))
    # dev's pack config makes some rules advisory (policies/config/dev.json): fewer mandatory than prod.
    assert rows[0].mandatory_rules < rows[2].mandatory_rules == rows[2].rules


def test_foundation_cost_table_comes_from_the_cost_model_per_stack() -> None:
    """docs/foundation.md's table: one row per foundation stack with its keys (replica keys included) and the cost
    model's total, and each layout's sum (a hand-written one said $21.1 while the model said $31.41)."""
    runs = figures.foundation_runs()
    table = figures.render_foundation(runs)
    assert [run.stack for run in runs][:2] == ["shared", "org-shared"]
    for run in runs:
        keys = sum(1 for r in run.resources if r.type in figures.KEY_TYPES)
        assert f"| {run.stack} | " in table and f" | {keys} · $" in table.split(f"| {run.stack} | ")[1].split("\n")[0]
        assert table.split(f"| {run.stack} | ")[1].split("\n")[0].endswith(f"| ${cost.estimate(run).total():,.2f} |")
    shared = next(run for run in runs if run.stack == "shared")
    assert any(r.type == "aws:kms/replicaKey:ReplicaKey" for r in shared.resources)  # counted among the keys
    organization = sum(cost.estimate(run).total() for run in runs if run.stack.startswith("org-"))
    assert f"| **organization** | all its stacks | | | | **${organization:,.2f}** |" in table
