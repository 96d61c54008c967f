"""A small evaluator of IAM policy documents, for the tests of trust and permission policies.

Neither tool at hand evaluates trust: the IAM policy simulator "silently discards [trust policies] before evaluation
for any action in the sts:Assume* family" (https://github.com/aws/aws-cli/issues/10314) and needs a live account, and
moto's
`assume_role_with_web_identity` just calls `assume_role` without looking at the trust (moto/sts/models.py). So the
tests evaluate documents here, with the semantics the IAM user guide gives
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

* a request is allowed when some Allow statement matches it and no Deny statement does (an explicit Deny wins;
  nothing matching means an implicit deny);
* Action/NotAction and Resource/NotResource match with `*` and `?` wildcards (actions case-insensitively);
* within a statement every condition operator must hold, within an operator every key, and a key holds when any of
  its values matches (OR); a key missing from the request makes a positive operator false and a negated one true;
* `...IfExists`: "If the key is not present, evaluate the condition element as true" — so in a Deny with a negated
  operator a request without the key is denied (reference_policies_elements_condition_operators.html, IfExists);
* `Null`: "true" holds when the key is absent, "false" when it is present (the same page, Null).

Only the operators our policies use are supported; anything else — another operator, a `ForAllValues:` /
`ForAnyValue:` set operator — raises UnsupportedConditionError, so a test fails the day a policy starts relying on
semantics this evaluator does not model.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

Context = Mapping[str, str | list[str]]


class UnsupportedConditionError(ValueError):
    """A policy uses a condition operator this evaluator does not model."""


def _glob(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    return _glob_regex(pattern, case_sensitive).fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _glob_regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """The compiled regex of an IAM wildcard pattern, once per pattern: the tests evaluate the same few hundred
    Action/Resource patterns tens of thousands of times (building each regex character by character was most of
    their CPU)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case_sensitive else re.IGNORECASE)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def statements(policy: Mapping[str, Any] | str) -> list[dict[str, Any]]:
    document = json.loads(policy) if isinstance(policy, str) else policy
    return [dict(s) for s in _list(document.get("Statement"))]


_POSITIVE = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringLike": lambda pattern, value: _glob(pattern, value),
    "ArnEquals": lambda pattern, value: pattern == value,
    "ArnLike": lambda pattern, value: _glob(pattern, value),
    "Bool": lambda pattern, value: str(pattern).lower() == str(value).lower(),
    "NumericLessThan": lambda pattern, value: float(value) < float(pattern),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals",
            "ArnNotLike": "ArnLike"}


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]] | None, context: Context) -> bool:
    for operator, block in (conditions or {}).items():
        if operator == "Null":
            if any((key not in context) != (str(expected).lower() == "true") for key, expected in block.items()):
                return False
            continue
        if_exists = operator.endswith("IfExists")
        operator = operator.removesuffix("IfExists")
        if ":" in operator or (operator not in _POSITIVE and operator not in _NEGATED):
            raise UnsupportedConditionError(f"condition operator {operator!r} is not modelled")
        negated = operator in _NEGATED
        match = _POSITIVE[_NEGATED.get(operator, operator)]
        for key, expected in block.items():
            if key not in context:
                if not (negated or if_exists):
                    return False
                continue
            values = _list(context[key])
            matched = any(match(str(p), str(v)) for p in _list(expected) for v in values)
            if matched == negated:
                return False
    return True


def _matches(statement: Mapping[str, Any], field: str, value: str, *, case_sensitive: bool) -> bool:
    """Action/NotAction or Resource/NotResource against a value (absent both: matches everything)."""
    if field in statement:
        return any(_glob(str(p), value, case_sensitive=case_sensitive) for p in _list(statement[field]))
    negated = f"Not{field}"
    if negated in statement:
        return not any(_glob(str(p), value, case_sensitive=case_sensitive) for p in _list(statement[negated]))
    return True


def allows(policy: Mapping[str, Any] | str, action: str, resource: str = "*", context: Context | None = None,
           *, principal: Mapping[str, str] | None = None) -> bool:
    """Whether `policy` allows `action` on `resource` with the request context. `principal` ({"Federated": arn}
    or {"AWS": arn}) makes it a resource/trust policy evaluation: statements must name that principal."""
    context = context or {}
    allowed = False
    for statement in statements(policy):
        if not _matches(statement, "Action", action, case_sensitive=False):
            continue
        if principal is None:
            if not _matches(statement, "Resource", resource, case_sensitive=True):
                continue
        elif not _names_principal(statement.get("Principal"), principal):
            continue
        if not conditions_hold(statement.get("Condition"), context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def denies(policy: Mapping[str, Any] | str, action: str, resource: str, context: Context | None = None,
           *, principal: Mapping[str, str]) -> bool:
    """Whether a resource policy (a bucket policy) explicitly denies `principal` ({"AWS": arn}) `action` on
    `resource` with the request context: what no identity policy can override."""
    context = context or {}
    return any(statement.get("Effect") == "Deny"
               and _matches(statement, "Action", action, case_sensitive=False)
               and _matches(statement, "Resource", resource, case_sensitive=True)
               and _names_principal(statement.get("Principal"), principal)
               and conditions_hold(statement.get("Condition"), context)
               for statement in statements(policy))


def _names_principal(named: Any, principal: Mapping[str, str]) -> bool:
    if named == "*":
        return True
    if not isinstance(named, Mapping):
        return False
    return any(value in ("*", principal[kind]) for kind in principal for value in _list(named.get(kind)))


def trust_allows(policy: Mapping[str, Any] | str, *, provider_arn: str, claims: Mapping[str, str]) -> bool:
    """Whether a GitHub OIDC token with these claims ({aud, sub, ...}, keyed without the issuer prefix) may assume
    a role with this trust policy through `provider_arn`."""
    context = {f"token.actions.githubusercontent.com:{key}": value for key, value in claims.items()}
    return allows(policy, "sts:AssumeRoleWithWebIdentity", context=context, principal={"Federated": provider_arn})


def every_action(policies: Iterable[Mapping[str, Any] | str]) -> set[str]:
    """The actions the Allow statements of these policies name (for boundary coverage checks)."""
    return {str(a) for p in policies for s in statements(p) if s.get("Effect") == "Allow"
            for a in _list(s.get("Action"))}


__all__ = ["UnsupportedConditionError", "allows", "conditions_hold", "every_action", "statements",
           "trust_allows"]
