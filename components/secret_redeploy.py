"""Services pick up new secret values by themselves: a changed secret redeploys the services that read it.

ECS resolves `secrets` once, at task start: "If the secret is subsequently updated or rotated, the container will not
receive the updated value automatically. You must either launch a new task or ... use the Force new deployment
option" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html). So:

* Secrets Manager publishes `Secret Label Updated` to EventBridge "when a staging label moves to a new version of a
  secret, for all labels except AWSPENDING and AWSPREVIOUS" - natively, no CloudTrail needed
  (https://docs.aws.amazon.com/secretsmanager/latest/userguide/event-detail-secret-label-updated-secretsmanager.html);
* one rule per service matches AWSCURRENT moving on any secret that service's task definition reads, and starts
* a two-state Step Functions workflow that calls `ecs:UpdateService` with `ForceNewDeployment` (an AWS SDK
  integration: no function code to own), retrying while ECS is busy.

That covers rotations (the alternating users keep the old tasks' logins valid while the new tasks start: no outage)
and manual changes alike: a new third-party key set with `pulumi up` redeploys its consumers without a separate step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, SecretRef, assume_role_policy, json_output, named_tags, policy_json
from components.constants import LOG_RETENTION_DAYS
from components.observability import RedeployWatch
from components.service import FargateService


def definition(partition: str) -> dict[str, object]:
    """The state machine: one ECS UpdateService with a forced deployment. The integration's ARN is in the stack's
    partition: an execution in aws-cn or aws-us-gov refuses a resource of another partition ("The resource belongs
    to a different partition from the running execution": aws-cdk#4597, whose fix builds it the same way)."""
    return {
        "Comment": "Force a new deployment of one ECS service (its secrets changed)",
        "StartAt": "Redeploy",
        "States": {"Redeploy": {
            "Type": "Task",
            "Resource": f"arn:{partition}:states:::aws-sdk:ecs:updateService",
            "Parameters": {"Cluster.$": "$.cluster", "Service.$": "$.service", "ForceNewDeployment": True},
            # A deployment already in progress or throttling: try again, a few minutes at most.
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 4, "BackoffRate": 2}],
            "End": True,
        }},
    }


@dataclass(frozen=True)
class SecretRedeployArgs:
    """Inputs of SecretRedeploy."""

    context: AwsContext
    """Account, partition and region."""
    cluster_arn: pulumi.Input[str]
    """The services' cluster."""
    services: Mapping[str, tuple[FargateService, Sequence[SecretRef]]]
    """Label -> the service and the secrets its tasks read (its ContainerSpec.secrets)."""
    log_key: aws.kms.Key
    """CMK of the workflow's log group."""
    name_prefix: str
    """State machine `<prefix>-secret-redeploy`, log group `/aws/vendedlogs/states/<prefix>-secret-redeploy`."""
    log_retention_days: int = LOG_RETENTION_DAYS
    """Retention of the log group (default 365)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""


class SecretRedeploy(pulumi.ComponentResource):
    """The workflow, its roles and log group, and one EventBridge rule per service."""

    state_machine: aws.sfn.StateMachine
    rules: dict[str, aws.cloudwatch.EventRule]

    def __init__(self, name: str, args: SecretRedeployArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maratron:ops:SecretRedeploy", name, None, opts)
        ctx = args.context
        child = pulumi.ResourceOptions(parent=self)
        machine_name = f"{args.name_prefix}-{name}"

        def tags(suffix: str = "") -> dict[str, str]:
            return named_tags(args.tags, machine_name + suffix)

        # Under /aws/vendedlogs/: Step Functions adds every other log group to the account's CloudWatch Logs resource
        # policy, which is limited to 5,120 characters, one stack after another ("prefix your CloudWatch Logs log
        # group names with /aws/vendedlogs/", https://docs.aws.amazon.com/step-functions/latest/dg/bp-cwl.html).
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/aws/vendedlogs/states/{machine_name}", retention_in_days=args.log_retention_days,
            kms_key_id=args.log_key.arn, tags=tags("-logs"), opts=child)
        role = aws.iam.Role(
            f"{name}-workflow", description=f"{machine_name}: force new deployments of the services it is told",
            assume_role_policy=assume_role_policy("states.amazonaws.com", source_account=ctx.account_id),
            tags=tags("-workflow"), opts=child)
        policy = aws.iam.RolePolicy(f"{name}-workflow", role=role.id, policy=policy_json([
            # The service ARNs name their cluster (service/<cluster>/<name>): no ecs:cluster condition, which adds
            # nothing here and, were UpdateService not to evaluate that key, would deny every redeploy.
            {"Effect": "Allow", "Action": ["ecs:UpdateService"],
             "Resource": [service.service.id for service, _ in args.services.values()]},
            # Step Functions delivers logs through CloudWatch Logs' vended-log API, which has no resource-level
            # permissions ("IAM policies for logging to CloudWatch Logs", Step Functions developer guide).
            {"Effect": "Allow", "Action": ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                                           "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
                                           "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                                           "logs:DescribeLogGroups"], "Resource": "*"},
        ]), opts=pulumi.ResourceOptions(parent=role))
        self.state_machine = aws.sfn.StateMachine(
            name, name=machine_name, type="STANDARD", role_arn=role.arn,
            definition=json.dumps(definition(ctx.partition)),
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                level="ERROR", include_execution_data=False,
                log_destination=log_group.arn.apply(lambda arn: f"{arn}:*")),
            tags=tags(), opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))

        events_role = aws.iam.Role(
            f"{name}-events", description=f"EventBridge: start {machine_name}",
            assume_role_policy=assume_role_policy("events.amazonaws.com", source_account=ctx.account_id),
            tags=tags("-events"), opts=child)
        aws.iam.RolePolicy(f"{name}-events", role=events_role.id, policy=policy_json([
            {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [self.state_machine.arn]}]),
            opts=pulumi.ResourceOptions(parent=events_role))

        self.rules = {}
        for label, (service, secrets) in sorted(args.services.items()):
            pattern = json_output({
                "source": ["aws.secretsmanager"],
                "detail-type": ["Secret Label Updated"],
                # in the given order (deterministic), each secret once
                "resources": list({id(ref.secret): ref.secret.arn for ref in secrets}.values()),
                "detail": {"labelUpdated": ["AWSCURRENT"]},
            })
            rule = aws.cloudwatch.EventRule(
                f"{name}-{label}", name=f"{machine_name}-{label}",
                description=f"A secret {label} reads has a new AWSCURRENT value: redeploy {label}",
                event_pattern=pattern, tags=tags(f"-{label}"), opts=child)
            aws.cloudwatch.EventTarget(
                f"{name}-{label}", rule=rule.name, arn=self.state_machine.arn, role_arn=events_role.arn,
                input=json_output({"cluster": args.cluster_arn, "service": service.service.name}),
                opts=pulumi.ResourceOptions(parent=rule))
            self.rules[label] = rule
        self.register_outputs({"stateMachineArn": self.state_machine.arn})

    @property
    def watch(self) -> RedeployWatch:
        """What Observability alarms on: failed executions, and each rule's failed invocations."""
        return RedeployWatch(self.state_machine.arn, {label: rule.name for label, rule in self.rules.items()})
