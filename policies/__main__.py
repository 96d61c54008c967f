"""The Maratron security policy pack: every rule is MANDATORY unless a pack config says otherwise.

Run it with `pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json`.
Only this file constructs the PolicyPack (constructing it starts the analyzer server); the rules live in `rules/`.
"""

import decode_once
from pulumi_policy import EnforcementLevel, PolicyPack
from rules import ALL_RULES

decode_once.install()  # each resource decoded once per request, not once per policy (see decode_once.py)

PolicyPack(
    name="maratron-security",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[rule.policy for rule in ALL_RULES],
    description="Maratron's security checklist (seed guide) with cdk-nag AwsSolutions and Checkov equivalents.",
    provider="aws",
)
