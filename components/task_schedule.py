"""Run a FargateTask on a schedule: an EventBridge Scheduler schedule, its execution role and that role's policy.

One mechanism for every scheduled task (the backup job, the daily restore drill), as AWS runs it:
- the schedule is encrypted with a customer-managed key (`kmsKeyArn`; pack `scheduler-schedule-cmk`). Scheduler
  decrypts the target payload with the execution role's own permissions — it "does not support using grants" — so the
  role holds kms:Decrypt on that key, limited to this schedule's encryption context, which names the schedule's ARN:
  the schedule's name is therefore fixed (https://docs.aws.amazon.com/scheduler/latest/UserGuide/encryption-rest.html);
- the role may run exactly this task family in this cluster, tag the task only as part of RunTask (propagate_tags),
  and pass only the task's two roles to ECS;
- the task runs on on-demand FARGATE on the pinned platform version, in private subnets without a public IP, with
  its own security group. Scheduler retries a RunTask call it could not deliver (throttling, an unavailable API)
  for up to an hour; a task that starts and then stops (image pull, secrets, the job failing) is not retried: the
  job's missing-metric alarm takes over (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html);
- the schedule waits for the role's policy: the first invocation must find RunTask, PassRole and kms:Decrypt.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.base import AwsContext, assume_role_policy, named_tags, policy_json
from components.constants import FARGATE_PLATFORM_VERSION
from components.task import FargateTask


def schedule_task(name: str, task: FargateTask, *, context: AwsContext, schedule_name: str, expression: str,
                  description: str, task_label: str, cluster_arn: pulumi.Input[str],
                  subnet_ids: Sequence[pulumi.Input[str]], kms_key_arn: pulumi.Input[str], tags: dict[str, str],
                  parent: pulumi.Resource) -> aws.scheduler.Schedule:
    """The schedule `<name>-schedule` (named `schedule_name`) that starts `task` on `expression` (UTC), with its
    execution role and policy `<name>-scheduler`; every child of `parent`. `kms_key_arn` encrypts the schedule;
    `task_label` names the task in the role's description ("the backup task")."""
    role = aws.iam.Role(
        f"{name}-scheduler",
        description=f"Lets EventBridge Scheduler start {task_label}",
        assume_role_policy=assume_role_policy("scheduler.amazonaws.com", source_account=context.account_id),
        tags=named_tags(tags, f"{schedule_name}-scheduler"),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    policy = aws.iam.RolePolicy(
        f"{name}-scheduler",
        role=role.id,
        policy=policy_json([
            {"Effect": "Allow", "Action": ["ecs:RunTask"],
             "Resource": [task.task_definition.arn_without_revision.apply(lambda arn: f"{arn}:*")],
             "Condition": {"ArnLike": {"ecs:cluster": cluster_arn}}},
            # propagate_tags makes RunTask tag the task: allowed only as part of RunTask.
            {"Effect": "Allow", "Action": ["ecs:TagResource"], "Resource": "*",
             "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}}},
            {"Effect": "Allow", "Action": ["iam:PassRole"],
             "Resource": [task.execution_role.arn, task.task_role.arn],
             "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
            # Scheduler decrypts the target with this role's own permission (no grants), under the schedule's
            # encryption context (Scheduler user guide, "Encryption at rest").
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [kms_key_arn],
             "Condition": {"StringEquals": {"kms:EncryptionContext:aws:scheduler:schedule:arn": context.arn(
                 "scheduler", f"schedule/default/{schedule_name}")}}},
        ]),
        opts=pulumi.ResourceOptions(parent=role),
    )
    return aws.scheduler.Schedule(
        f"{name}-schedule",
        name=schedule_name,  # fixed: the role's KMS condition names the schedule's ARN
        kms_key_arn=kms_key_arn,
        description=description,
        schedule_expression=expression,
        schedule_expression_timezone="UTC",
        flexible_time_window={"mode": "OFF"},
        state="ENABLED",
        target={
            "arn": cluster_arn,
            "role_arn": role.arn,
            "ecs_parameters": {
                "task_definition_arn": task.task_definition.arn,
                "launch_type": "FARGATE",
                "platform_version": FARGATE_PLATFORM_VERSION,
                "task_count": 1,
                "propagate_tags": "TASK_DEFINITION",
                "network_configuration": {
                    "subnets": list(subnet_ids),
                    "security_groups": [task.security_group.id],
                    "assign_public_ip": False,
                },
            },
            "retry_policy": {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 3},
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]),
    )
