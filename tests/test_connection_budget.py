"""The connection budget rule: every stack fits at maximum scale; raising a pool or a task maximum past it is a config
error that names the numbers (components/connection_budget.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import yaml

import stack_config
from components import connection_budget as budget
from offline.engine import StackRun
from offline.engine import stack_config as raw_stack_config
from tests.configs import MINIMAL_VALID


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_fits_its_budget_at_maximum_scale(stack: str) -> None:
    raw, secret_keys, _ = raw_stack_config(stack)
    config = stack_config.load(raw, stack=stack, secret_keys=set(secret_keys))
    inputs = stack_config.connection_budget_inputs(config)
    assert budget.check(inputs) == []
    assert budget.largest_pool(inputs) == config.app.database_pool_size, "the pool is the largest that fits"


def test_the_budget_counts_the_deployment_surge_and_both_pools(prod: StackRun) -> None:
    raw, secret_keys, _ = raw_stack_config("prod")
    inputs = stack_config.connection_budget_inputs(stack_config.load(raw, stack="prod", secret_keys=set(secret_keys)))
    text = budget.describe(inputs)
    assert text.startswith("web 24 tasks (webMaxCount 12 × 200% deployment surge) + ai 12 tasks (aiMaxCount 6 × "
                           "200% deployment surge) = 36 tasks × 2 Prisma pools (DATABASE_URL, DATABASE_READ_URL) of 10")
    assert "via RDS Proxy: 360 pinned connections + 30% headroom = 468 ≤ proxy cap 480" in text
    assert ("primary: proxy cap 480 + migration 3 + backup 3 + db-admin 6 + reserved 3 + rds_superuser 2 = 497 ≤ 600"
            in text)
    assert "each replica (all reads may resolve to one): 360 + reserved 3 + rds_superuser 2 = 365 ≤ dbMaxConnections" \
        in text
    service = prod.one("aws:ecs/service:Service", "web")
    assert service.inputs["deploymentMaximumPercent"] == budget.DEPLOYMENT_MAXIMUM_PERCENT  # one fact


def test_the_apps_connections_alert_is_a_share_of_its_pools_not_of_max_connections(prod: StackRun) -> None:
    """Behind RDS Proxy the app's pools never reach the primary's max_connections (the proxy caps them at 480 and
    the app's steady-state pools hold 360): 80% of max_connections (480) could never fire. The threshold is a share
    of the pools the budget counts, from the same inputs."""
    raw, secret_keys, _ = raw_stack_config("prod")
    inputs = stack_config.connection_budget_inputs(stack_config.load(raw, stack="prod", secret_keys=set(secret_keys)))
    assert budget.app_connections(inputs) == (12 + 6) * 2 * 10
    assert budget.app_connections(dataclasses.replace(inputs, max_connections=1200, proxy_percent=50)) == 360
    assert budget.app_connections(dataclasses.replace(inputs, pool_size=5)) == 180
    rules = yaml.safe_load(prod.one("aws:amp/ruleGroupNamespace:RuleGroupNamespace").inputs["data"])
    (rule,) = [r for r in rules["groups"][0]["rules"] if r.get("alert") == "DatabaseConnectionsHigh"]
    threshold = int(rule["expr"].rsplit(">", 1)[1])
    assert threshold == budget.app_connections(inputs) * 80 // 100 == 288
    assert threshold < budget.proxy_cap(inputs)  # reachable: fires before the proxy refuses connections
    assert "of the 360 its pools hold at full scale" in rule["annotations"]["summary"]


def failure(run_variant: Callable[..., StackRun], stack: str, **overrides: Any) -> str:
    run = run_variant(stack, **overrides)
    assert not run.ok
    return str(run.error)


def test_a_larger_pool_fails_naming_every_number(run_variant: Callable[..., StackRun]) -> None:
    error = failure(run_variant, "prod", appDatabasePoolSize=20)
    assert ("maratron:appDatabasePoolSize = 20: the PostgreSQL connection budget is exceeded at maximum scale: "
            "web 24 tasks (webMaxCount 12 × 200% deployment surge) + ai 12 tasks (aiMaxCount 6 × 200% deployment "
            "surge) = 36 tasks × 2 Prisma pools (DATABASE_URL, DATABASE_READ_URL) of 20; reads on the replicas; via "
            "RDS Proxy: 720 pinned connections + 30% headroom = 936 > proxy cap 480 (dbProxyMaxConnectionsPercent 80% "
            "of dbMaxConnections 600)") in error
    assert "each replica (all reads may resolve to one): 720 + reserved 3 + rds_superuser 2 = 725 > dbMaxConnections" \
        in error
    assert ("Allowed: appDatabasePoolSize ≤ 10 at these task counts, or lower webMaxCount/aiMaxCount, or raise "
            "dbMaxConnections (≤ 901 on db.m7g.large) / dbProxyMaxConnectionsPercent") in error


def test_a_larger_task_maximum_fails_naming_the_tasks(run_variant: Callable[..., StackRun]) -> None:
    error = failure(run_variant, "prod", webMaxCount=20)
    assert "web 40 tasks (webMaxCount 20 × 200% deployment surge)" in error
    assert "520 pinned connections + 30% headroom = 676 > proxy cap 480" in error
    assert "appDatabasePoolSize ≤ 7 at these task counts" in error


def test_without_a_proxy_reads_and_writes_share_the_primary(run_variant: Callable[..., StackRun]) -> None:
    error = failure(run_variant, "dev", webMaxCount=5)
    assert "reads share the writer path (no replica)" in error
    assert "web 10 tasks (webMaxCount 5 × 200% deployment surge) + ai 2 tasks" in error
    assert "primary: 72 + migration 3 + backup 3 + db-admin 6 + reserved 3 + rds_superuser 2 = 89 > " \
           "dbMaxConnections 80" in error


def test_max_connections_cannot_exceed_the_instance_memory(run_variant: Callable[..., StackRun]) -> None:
    error = failure(run_variant, "prod", dbMaxConnections=1000)
    assert ("maratron:dbMaxConnections = 1000: exceeds 901, RDS's default for the memory of db.m7g.large "
            "(LEAST(DBInstanceClassMemory/9531392, 5000))") in error


def test_the_proxy_minimum_follows_aws_best_practices_table() -> None:
    from components.connection_budget import proxy_minimum_percent

    # "db.t3.small: 100, db.t3.medium: 55, db.t3.large: 35, db.r3.large or above: 20" (RDS Proxy best practices)
    assert [proxy_minimum_percent(c) for c in ("db.t4g.micro", "db.t3.small", "db.t4g.medium", "db.t4g.large",
                                                "db.t4g.xlarge", "db.m7g.large", "db.r6g.2xlarge")] == [
        100, 100, 55, 35, 20, 20, 20]


def test_the_proxy_share_respects_aws_minimum_and_leaves_room(run_variant: Callable[..., StackRun]) -> None:
    error = failure(run_variant, "prod", dbProxyMaxConnectionsPercent=10)
    assert "maratron:dbProxyMaxConnectionsPercent = 10: below 20, AWS's minimal recommended MaxConnectionsPercent " \
           "for db.m7g.large" in error
    error = failure(run_variant, "prod", dbProxyMaxConnectionsPercent=100)
    assert ("maratron:dbProxyMaxConnectionsPercent = 100: leaves no room for the direct clients: proxy cap 600 + "
            "migration 3 + backup 3 + db-admin 6 + reserved 5 = 617 > dbMaxConnections 600; allowed: at most 97") \
        in error


def test_a_borrow_timeout_of_zero_is_refused_because_rds_reads_it_as_wait_forever(
        run_variant: Callable[..., StackRun]) -> None:
    # "For an unlimited wait time, specify 0" (ConnectionPoolConfigurationInfoFormat, AWS::RDS::DBProxyTargetGroup).
    error = failure(run_variant, "prod", dbProxyBorrowTimeoutSeconds=0)
    assert "maratron:dbProxyBorrowTimeoutSeconds = 0: must be between 1 and 300" in error


def test_prod_needs_the_proxy_and_rotation_within_30_days() -> None:
    raw = {**MINIMAL_VALID, "maratron:environment": "prod", "maratron:natGateways": "perAz",
           "maratron:dbProxyEnabled": "false", "maratron:credentialRotationDays": "45"}
    with pytest.raises(stack_config.ConfigError) as caught:
        stack_config.load(raw, stack="test")
    found = [str(p) for p in caught.value.problems]
    assert any(p.startswith("maratron:dbProxyEnabled = false: prod needs true") for p in found), found
    assert any(p.startswith("maratron:credentialRotationDays = 45: prod rotates every generated credential at "
                            "least every 30 days") for p in found), found


@pytest.mark.parametrize(("instance_class", "memory", "ceiling"), [
    ("db.t4g.micro", 1, 112), ("db.t4g.medium", 4, 450), ("db.m7g.large", 8, 901), ("db.r6g.xlarge", 32, 3604),
    ("db.m6i.4xlarge", 64, 5000), ("db.x2g.large", 32, 3604), ("db.z1d.large", None, None),
])
def test_instance_memory_and_ceiling(instance_class: str, memory: float | None, ceiling: int | None) -> None:
    assert budget.instance_memory_gib(instance_class) == memory
    assert budget.max_connections_ceiling(instance_class) == ceiling


def test_the_documented_budget_table_is_the_budgets_own_arithmetic() -> None:
    """docs/database-access.md's table is generated from table_row (offline/figures.py; tests/test_figures.py fails
    when it is stale: the hand-written one kept dev at 4 + 4 tasks and 65 connections after dev's maxima fell to 1).
    Its primary total is the one describe() states in the preview's error, for every stack."""
    for stack in ("dev", "staging", "prod", "dr"):
        raw, secret_keys, _ = raw_stack_config(stack)
        inputs = stack_config.connection_budget_inputs(
            stack_config.load(raw, stack=stack, secret_keys=set(secret_keys)))
        cells = [c.strip() for c in budget.table_row(stack, inputs).split("|")[1:-1]]
        assert cells[0].startswith(f"{stack} (") and cells[2] == str(inputs.pool_size)
        assert cells[1] == " + ".join(str(client.max_tasks) for client in inputs.clients)
        total = cells[5].rsplit("= ", 1)[1]
        assert f"= {total} ≤" in budget.describe(inputs), (stack, cells[5])
        assert cells[7].split(" ")[0] == str(inputs.max_connections)
