"""The ECS cluster: Fargate capacity, Container Insights and the Service Connect namespace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, named_tags
from components.constants import SPOT_DRAIN_SECONDS
from components.settings import setting

FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


ContainerInsights = Literal["enabled", "enhanced", "disabled"]


@dataclass(frozen=True, kw_only=True)
class ClusterSettings:
    """The configurable part of the cluster."""

    fargate_spot: bool = setting(
        "fargateSpot", False, "Run the services on FARGATE_SPOT (about 70% cheaper, interruptible with 2 minutes' "
        f"notice; web's target group then drains in {SPOT_DRAIN_SECONDS} s, below the notice). Not allowed in prod.")
    container_insights: ContainerInsights = setting(
        "containerInsights", "enabled", "Container Insights on the cluster: enabled (default: cluster and service "
        "metrics, RunningTaskCount among them, which the running-task alarms and the dashboard read; about $0.30 a "
        "month per metric, 62 for two services), enhanced (adds per-task and per-container metrics nothing here "
        "reads) or disabled (no running-task alarms; prod requires it on, and the pack outside dev).")


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of Cluster."""

    name_prefix: str
    """Cluster name and namespace are derived from it (maratron-prod, maratron-prod.internal)."""
    settings: ClusterSettings = field(default_factory=ClusterSettings)
    """Capacity (on-demand Fargate by default, or Fargate Spot: dev/staging savings) and Container Insights."""
    storage_key: aws.kms.Key | None = None
    """The CMK that encrypts every task's ephemeral storage (the backup's dump, the drill's restored database); its
    policy must hold `Cluster.storage_key_statements` for this cluster. None: Fargate's AWS-owned key."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""


class Cluster(pulumi.ComponentResource):
    """An ECS cluster for Fargate tasks, with a Cloud Map HTTP namespace as its Service Connect default."""

    cluster: aws.ecs.Cluster
    namespace: aws.servicediscovery.HttpNamespace
    capacity_providers: aws.ecs.ClusterCapacityProviders
    """The association services depend on (a strategy naming an unassociated provider is rejected)."""
    container_insights: ContainerInsights
    """The cluster's Container Insights mode (what its services' watches can alarm on)."""
    capacity_provider_strategy: list[aws.ecs.ServiceCapacityProviderStrategyArgs]
    """The strategy services should use (the cluster default, spelled out so a service never silently differs)."""

    @staticmethod
    def storage_key_statements(context: AwsContext, name_prefix: str) -> list[dict[str, Any]]:
        """The key-policy statements Fargate needs to encrypt the ephemeral storage of this cluster's tasks (named
        `name_prefix`) with a CMK: GenerateDataKeyWithoutPlaintext, and CreateGrant for Decrypt only, limited to this
        account's cluster by the encryption context Fargate sends ("make sure to provide Fargate service relevant AWS
        KMS operation permissions in the key policies"; DescribeKey is the deployer's, through the account statement;
        https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-create-storage-key.html; the same two
        statements as aws-cdk-lib's Cluster). Without them no task of the cluster starts."""
        cluster = {"StringEquals": {"kms:EncryptionContext:aws:ecs:clusterAccount": context.account_id,
                                    "kms:EncryptionContext:aws:ecs:clusterName": name_prefix}}
        return [
            {"Sid": "FargateEphemeralStorageDataKeys", "Effect": "Allow",
             "Principal": {"Service": "fargate.amazonaws.com"}, "Action": "kms:GenerateDataKeyWithoutPlaintext",
             "Resource": "*", "Condition": cluster},
            {"Sid": "FargateEphemeralStorageGrants", "Effect": "Allow",
             "Principal": {"Service": "fargate.amazonaws.com"}, "Action": "kms:CreateGrant", "Resource": "*",
             "Condition": {**cluster, "ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]}}},
        ]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:app:Cluster", name, None, opts)
        self.container_insights = args.settings.container_insights
        child = pulumi.ResourceOptions(parent=self)
        # Service Connect names (e.g. http://ai:8000) resolve inside this namespace only: no public DNS, no Route 53.
        self.namespace = aws.servicediscovery.HttpNamespace(
            f"{name}-namespace",
            name=f"{args.name_prefix}.internal",
            description=f"{args.name_prefix}: Service Connect between the app's services",
            tags=named_tags(args.tags, f"{args.name_prefix}-namespace"),
            opts=child,
        )
        self.cluster = aws.ecs.Cluster(
            name,
            name=args.name_prefix,
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value=args.settings.container_insights)],
            service_connect_defaults=aws.ecs.ClusterServiceConnectDefaultsArgs(namespace=self.namespace.arn),
            # The key's ARN: "KMS key aliases are not supported for Fargate ephemeral storage" (same page).
            configuration=aws.ecs.ClusterConfigurationArgs(
                managed_storage_configuration=aws.ecs.ClusterConfigurationManagedStorageConfigurationArgs(
                    fargate_ephemeral_storage_kms_key_id=args.storage_key.arn)) if args.storage_key else None,
            tags=named_tags(args.tags, args.name_prefix),
            opts=child,
        )
        provider = "FARGATE_SPOT" if args.settings.fargate_spot else "FARGATE"
        self.capacity_providers = aws.ecs.ClusterCapacityProviders(
            name,
            cluster_name=self.cluster.name,
            # Both, whatever fargateSpot says (an unused one costs nothing): flipping the setting then changes only
            # the strategies. Dropping FARGATE_SPOT while tasks still run on it fails ("You can only disassociate an
            # existing capacity provider from a cluster if it's not being used by any existing tasks",
            # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html), and
            # the services, which depend on this resource, would still be on Spot when it is updated.
            capacity_providers=list(FARGATE_PROVIDERS),
            # Also what `aws ecs run-task` uses without --launch-type (the migration task).
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider=provider, weight=1, base=0)],
            opts=pulumi.ResourceOptions(parent=self.cluster),
        )
        self.capacity_provider_strategy = [
            aws.ecs.ServiceCapacityProviderStrategyArgs(capacity_provider=provider, weight=1, base=0)]
        self.register_outputs({"clusterName": self.cluster.name, "clusterArn": self.cluster.arn,
                               "namespaceArn": self.namespace.arn})
