"""Cross-account grants in resource policies (bucket, key and repository policies of the Organizations layout).

A resource policy can name a role of another account only once that role exists: a principal ARN that does not
exist (yet) makes the policy invalid ("Invalid principal in policy",
https://repost.aws/knowledge-center/s3-invalid-principal-in-policy-error), and a role
re-created later would not match the unique id AWS stored for the old one (IAM user guide, role trust policy
examples: "AWS transforms the ARN to a unique principal ID"). So every grant names the other account's *root* as
principal and narrows it to exact role ARNs with `aws:PrincipalArn` (a global condition key present in every
request), plus `aws:PrincipalOrgID` when the organization is known. The other account must also allow the call in
the role's own IAM policy: "Cross-account access requires permission in the key policy of the KMS key and in an IAM
policy in the external user's account" (KMS developer guide, "Allowing users in other accounts to use a KMS key");
the environment accounts' bootstrap stacks write those
(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def grant(statement: dict[str, Any], *, account_root: str, principal_arns: Sequence[str],
          organization_id: str = "", sid: str = "") -> dict[str, Any]:
    """The resource-policy form of an identity statement: principal = the account root, narrowed to
    `principal_arns` (exact ARNs, or ARN patterns with `*` such as role/maratron/dev/*)."""
    if not principal_arns:
        raise ValueError("a cross-account grant names at least one principal ARN")
    patterns = any("*" in arn for arn in principal_arns)
    condition: dict[str, Any] = {**statement.get("Condition", {})}
    operator = "ArnLike" if patterns else "ArnEquals"
    condition[operator] = {**condition.get(operator, {}), "aws:PrincipalArn": sorted(principal_arns)}
    if organization_id:
        condition["StringEquals"] = {**condition.get("StringEquals", {}), "aws:PrincipalOrgID": organization_id}
    granted = {key: value for key, value in statement.items() if key not in ("Sid", "Condition")}
    return {**({"Sid": sid} if sid else {}), **granted, "Principal": {"AWS": account_root}, "Condition": condition}
