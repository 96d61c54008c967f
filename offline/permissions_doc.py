"""docs/bootstrap-permissions.md: what each CI role may do, and why every wildcard that remains is there.

Generated from components/ci_roles.py (`make docs`); a test keeps it current. The policies themselves are in the
offline preview of the bootstrap stack (`make preview-bootstrap`, build/bootstrap/<stack>/inventory.json).
"""

from __future__ import annotations

from components.ci_roles import (
    DEPLOY_SERVICES,
    INVOKE_ACTIONS,
    MANAGED_POLICIES_ATTACHED,
    PASSED_TO_SERVICES,
    PLAN_ACTIONS,
    SERVICE_LINKED_ROLES,
    WORKLOAD_ROLE_ACTIONS,
    WORKLOAD_ROLE_UNCONDITIONED,
)
from components.constants import CI_ROLE_PATH
from components.image_registry import DOCKER_PUSH_ACTIONS, TAG_ACTIONS


def render() -> str:
    lines = [
        "# CI roles and their permissions",
        "",
        "Generated from `components/ci_roles.py` by `make docs`; do not edit. Every role lives under "
        f"`{CI_ROLE_PATH}`, carries a permissions boundary and trusts exactly one repository and one GitHub "
        "environment (`StringEquals` on `aud` and `sub`; see `components/github_oidc.py`).",
        "",
        "| role | GitHub job (subject) | session |",
        "|---|---|---|",
        "| `maratron-preview-<env>` | this repository, environment `<env>-preview` | 1 h |",
        "| `maratron-deploy-<env>` | this repository, environment `<env>` | 2 h |",
        "| `maratron-app-ci` | the app repository, environment `images` | 1 h |",
        "| `maratron-infra-ci` | this repository, environment `images` | 1 h |",
        "",
        "## Preview",
        "",
        "Reads `.pulumi/meta.yaml`, its environment's stacks' checkpoints (its own, and prod's DR stack `dr`:",
        "`constants.environment_stacks`) and the shared bootstrap stack's (a StackReference);",
        "decrypts with its environment's stack-secrets key, the bootstrap stack's (a StackReference builds the",
        "referenced stack's secrets manager before it reads an output: pulumi/pulumi#11109; deploys too) and the",
        "state key (through S3 only); the calls the",
        "program's data sources make, and the calls the provider makes while planning a resource. Nothing else:",
        "previews never run with `--refresh`.",
        "",
        "| data source | IAM actions |",
        "|---|---|",
        *(f"| `{token}` | {', '.join(f'`{a}`' for a in actions) or 'none (answered without an AWS call)'} |"
          for token, actions in INVOKE_ACTIONS.items()),
        "",
        "| resource planned | IAM actions (no resource-level permissions; region-bound) |",
        "|---|---|",
        *(f"| `{type_}` | {', '.join(f'`{a}`' for a in actions)} |" for type_, actions in PLAN_ACTIONS.items()),
        "",
        "## Deploy",
        "",
        "State: what the preview reads, plus writes to its environment's stacks' checkpoints, locks, history and",
        "backups;",
        f"images: look up, and tag deployed images ({', '.join(f'`{a}`' for a in TAG_ACTIONS)}; with",
        "`deployPushesBackupImage`, also push the backup image: "
        f"{', '.join(f'`{a}`' for a in DOCKER_PUSH_ACTIONS)}, in a",
        "managed policy of its own, `maratron-deploy-<env>-push`, attached to the role: IAM counts all of a role's",
        "inline policies against one 10,240-character quota, which the inline policy nearly fills).",
        "",
        "### Services",
        "",
        "| actions | resources | why this wide |",
        "|---|---|---|",
        *(f"| {', '.join(f'`{a}`' for a in g.granted)} | {', '.join(f'`{r}`' for r in g.templates)}"
          f"{' in the stack region (`aws:RequestedRegion`)' if g.regional else ''} | {g.why} |"
          for g in DEPLOY_SERVICES),
        "",
        "### IAM",
        "",
        "Only roles under `/maratron/<env>/`:",
        "",
        f"* {', '.join(f'`{a}`' for a in WORKLOAD_ROLE_ACTIONS)} only with `iam:PermissionsBoundary` = the",
        "  environment's workload boundary (`maratron-<env>-workload-boundary`): a role without it cannot be created;",
        f"* `iam:AttachRolePolicy`/`DetachRolePolicy` only for {', '.join(f'`{p}`' for p in MANAGED_POLICIES_ATTACHED)}"
        " and with the boundary;",
        f"* {', '.join(f'`{a}`' for a in WORKLOAD_ROLE_UNCONDITIONED)} (reads and edits a boundary still caps);",
        f"* `iam:PassRole` to {', '.join(f'`{s}`' for s in PASSED_TO_SERVICES)} only;",
        f"* `iam:CreateServiceLinkedRole` for {', '.join(f'`{s}`' for s in SERVICE_LINKED_ROLES)}.",
        "",
        "### Denied whatever the policy says (policy and boundary)",
        "",
        "`iam:DeleteRolePermissionsBoundary`; any IAM action on the CI roles, on the boundaries (`policy/maratron/*`)",
        "and on OIDC providers; creating users, groups, access keys, login profiles or identity providers;",
        "`organizations:*`, `account:*`; stopping or changing CloudTrail; anything but Decrypt, DescribeKey and",
        "GenerateDataKey on the foundation's keys (state, images, stack secrets); every ECR write except tagging.",
        "",
        "## Remaining wildcards",
        "",
        "| where | why |",
        "|---|---|",
        "| `ecr:GetAuthorizationToken` on `*` (publishers, preview, deploy) | the registry login has no resource (ECR "
        "user guide, repository policy examples); a preview of a stack that builds an image logs in too |",
        "| `ec2:DescribeAvailabilityZones` on `*` (preview, deploy) | no resource-level permissions; region-bound |",
        "| `route53:CreateHostedZone`, `route53:CreateHealthCheck` on `*` (deploy) | the database's private reader "
        "zone and its replicas' health checks: what does not exist yet has no ARN to match (Route 53 developer guide, "
        "access-control-managing-permissions); everything after creation is scoped to hosted zones and health "
        "checks |",
        *(f"| `{a}` on `*` (preview, deploy) | planning `{t}` calls it; no resource-level permissions; region-bound |"
          for t, actions in PLAN_ACTIONS.items() for a in actions),
        *(f"| {', '.join(f'`{a}`' for a in g.granted)} on `*` (deploy) | {g.why} |"
          for g in DEPLOY_SERVICES if g.resources == ("*",)),
        "| `kms:*`-style service wildcards instead of action lists | the provider's create, read-after-write, update "
        "and delete paths call many APIs per resource; a hand-kept action list breaks on provider upgrades. The "
        "boundary caps the service set, the denies above take out what a deploy must never do |",
        "| no tag conditions | a global condition key \"is not available in every request context\" (IAM user guide): "
        "an Allow whose key is absent never matches, so the deploy would fail at AWS. Environments share one "
        "account only in the single-account layout; the organization layout gives each its own |",
        "",
        "## Workload boundary",
        "",
        "Every role the app stacks of an environment create (its own and, with DR, its DR stack: prod's `dr`)",
        "carries `maratron-<env>-workload-boundary` and lives under",
        "`/maratron/<env>/` (set in one place, `components/foundation.py`). It allows what the task, execution,",
        "scheduler, flow-log, monitoring, export, RDS Proxy, function, workflow and EventBridge roles use (ECR",
        "pulls, its log groups `/maratron-<stack>/*`, reading the secrets `maratron-<stack>/*` (not another",
        "environment's), KMS use (the keys' own policies decide which), its buckets `maratron-<stack>-*`, metrics,",
        "RunTask, PassRole on its own roles, ECS Exec channels; writing and rotating the secrets",
        "`maratron-<stack>/*`, random passwords, the Redis users `maratron-<stack>-*`, the functions' network",
        "interfaces, UpdateService on the services of the cluster `maratron-<stack>`, log delivery, StartExecution",
        "of `maratron-<stack>-*` state machines; `<stack>` is each of the environment's stacks);",
        "a test checks every app role's statements fall inside it.",
    ]
    return "\n".join(lines) + "\n"
