"""Required tags on every resource type that accepts tags.

Which types accept tags comes from taggable-types.txt, generated from the pinned pulumi-aws SDK (every resource
class whose constructor has a `tags` argument; `python -m offline.taggable`), not from a hand-kept list.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._common import SHARED, Rule, as_list, config_value, resource_rule
from ._controls import ANY_TYPE, Guard, Rewrite

REQUIRED_TAGS: list[str] = list(SHARED["requiredTagKeys"])
TAGGABLE_FILE = Path(__file__).with_name("taggable-types.txt")


@cache
def taggable_types() -> frozenset[str]:
    lines = TAGGABLE_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in taggable_types():
        return
    required = [str(t) for t in as_list(config_value(args, "requiredTags", REQUIRED_TAGS))]
    tags = args.props.get("tags") or {}  # read only the required keys: another tag may be unknown in preview
    missing = [key for key in required if not tags.get(key)]
    if missing:
        report(f"missing required tags {missing}", None)


RULES: list[Rule] = [
    resource_rule("required-tags", area="tagging", types=None, check=_required_tags,
                  summary="Taggable resources carry the required tags",
                  reference="seed: cost allocation and ownership tags", schema={"requiredTags": {
                      "type": "array", "items": {"type": "string"}, "default": REQUIRED_TAGS,
                      "description": "Tag keys every taggable resource must carry (non-empty)."}},
                  guards=[Guard("tags", Rewrite(lambda tags: {k: v for k, v in tags.items() if k != "owner"},
                                                "the owner tag removed"), types=(ANY_TYPE,),
                                note="the required tags")]),
]
