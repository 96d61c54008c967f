"""ECS cluster: Container Insights (standard; off in dev), Fargate capacity (Spot only outside prod), Service Connect
namespace."""

from __future__ import annotations

import json

from offline.engine import StackRun

CLUSTER = "aws:ecs/cluster:Cluster"
PROVIDERS = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
NAMESPACE = "aws:servicediscovery/httpNamespace:HttpNamespace"
SERVICE = "aws:ecs/service:Service"


def test_container_insights_and_service_connect_default(any_stack: StackRun) -> None:
    cluster = any_stack.one(CLUSTER)
    namespace = any_stack.one(NAMESPACE)
    assert cluster.inputs["name"] == f"maratron-{any_stack.stack}"
    # Standard mode has the task counts the running-task alarms read; dev opts out (Pulumi.dev.yaml: its budget).
    mode = "disabled" if any_stack.stack == "dev" else "enabled"
    assert cluster.inputs["settings"] == [{"name": "containerInsights", "value": mode}]
    assert cluster.inputs["serviceConnectDefaults"] == {"namespace": namespace.outputs["arn"]}
    assert namespace.inputs["name"] == f"maratron-{any_stack.stack}.internal"
    assert {"owner", "cost-center", "environment", "Name"} <= set(cluster.inputs["tags"])


def test_prod_runs_on_on_demand_fargate_only(prod: StackRun) -> None:
    providers = prod.one(PROVIDERS)
    assert providers.inputs["clusterName"] == prod.one(CLUSTER).outputs["name"]
    # Both providers are associated on every stack (an unused one costs nothing), so a flip of fargateSpot never
    # disassociates a provider that tasks still run on; the strategies decide.
    assert providers.inputs["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert providers.inputs["defaultCapacityProviderStrategies"] == [
        {"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
    for service in prod.of_type(SERVICE):
        assert service.inputs["capacityProviderStrategies"] == [
            {"capacityProvider": "FARGATE", "weight": 1, "base": 0}], service.name
        # UpdateService refuses a changed strategy without a forced deployment.
        assert service.inputs["forceNewDeployment"] is True, service.name


def test_dev_opts_into_fargate_spot_for_services_and_one_off_tasks(dev: StackRun) -> None:
    providers = dev.one(PROVIDERS)
    assert providers.inputs["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    # The cluster default is what `aws ecs run-task` (the migration) uses.
    assert providers.inputs["defaultCapacityProviderStrategies"] == [
        {"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
    for service in dev.of_type(SERVICE):
        assert service.inputs["capacityProviderStrategies"] == [
            {"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}], service.name
        # A strategy may only name associated providers: the association comes first.
        assert providers.urn in service.dependencies, service.name


def test_staging_stays_on_demand(staging: StackRun) -> None:
    assert staging.one(PROVIDERS).inputs["defaultCapacityProviderStrategies"] == [
        {"capacityProvider": "FARGATE", "weight": 1, "base": 0}]


def test_spot_in_prod_is_an_error(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", fargateSpot=True)
    assert not run.ok
    assert "maratron:fargateSpot = true: not allowed in prod: Spot tasks can be reclaimed with 2 minutes' notice" \
        in str(run.error)


def test_prod_refuses_to_run_without_container_insights(run_variant) -> None:  # type: ignore[no-untyped-def]
    run = run_variant("prod", containerInsights="disabled")
    assert not run.ok
    assert ("maratron:containerInsights = \"disabled\": prod needs enabled or enhanced: the running-task alarms read "
            "its task counts") in str(run.error)


def test_task_storage_is_encrypted_with_the_data_key_which_admits_fargate_for_this_cluster_only(
        any_stack: StackRun) -> None:
    """The backup's dump and the drill's restored database sit on the tasks' ephemeral storage: the data key (by ARN,
    aliases are not supported) encrypts it, and its policy lets Fargate generate data keys and Decrypt grants for
    this account's cluster only (ECS developer guide, fargate-create-storage-key)."""
    cluster = any_stack.one(CLUSTER)
    key = any_stack.one("aws:kms/key:Key", "keys-data")
    assert cluster.inputs["configuration"] == {
        "managedStorageConfiguration": {"fargateEphemeralStorageKmsKeyId": key.outputs["arn"]}}
    fargate = [s for s in json.loads(key.inputs["policy"])["Statement"]
               if s.get("Principal") == {"Service": "fargate.amazonaws.com"}]
    context = {"kms:EncryptionContext:aws:ecs:clusterAccount": "123456789012",
               "kms:EncryptionContext:aws:ecs:clusterName": cluster.inputs["name"]}
    assert [(s["Action"], s["Condition"]) for s in fargate] == [
        ("kms:GenerateDataKeyWithoutPlaintext", {"StringEquals": context}),
        ("kms:CreateGrant", {"StringEquals": context,
                             "ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]}}),
    ]
