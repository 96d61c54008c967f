"""A foundation run's IAM policy documents, as the permission tests read them."""

from __future__ import annotations

import json
from typing import Any

from offline.engine import StackRun


def role_policy(run: StackRun, name: str) -> dict[str, Any]:
    """The inline policy of the role named `name`."""
    role = next(r for r in run.of_type("aws:iam/role:Role") if r.inputs.get("name") == name)
    return json.loads(next(p for p in run.of_type("aws:iam/rolePolicy:RolePolicy")
                           if p.parent == role.urn).plain("policy"))


def managed_policy(run: StackRun, name: str) -> dict[str, Any]:
    """The customer-managed policy named `name`."""
    return json.loads(next(p for p in run.of_type("aws:iam/policy:Policy") if p.inputs["name"] == name)
                      .plain("policy"))


def effective_policy(run: StackRun, name: str) -> dict[str, Any]:
    """The role's inline policy and every managed policy attached to it, as one policy (what IAM evaluates, the
    boundary aside)."""
    attached = {a.plain("policyArn") for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.plain("role") == name}
    managed = [json.loads(p.plain("policy")) for p in run.of_type("aws:iam/policy:Policy")
               if p.outputs["arn"] in attached]
    return {"Statement": [s for policy in (role_policy(run, name), *managed) for s in policy["Statement"]]}
