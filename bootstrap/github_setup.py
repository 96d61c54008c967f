"""The GitHub side of the foundation: environments, their protection rules and the variables the workflows read.

    pulumi stack output --json -s organization/maratron-bootstrap/shared > foundation.json
    python -m bootstrap.github_setup --outputs foundation.json --repository acme/maratron-infra \\
        --app-repository acme/maratron > github-setup.sh      # review it, then: bash github-setup.sh

Prints `gh` commands (GitHub CLI; REST: "Create or update an environment", "Create a deployment branch policy",
"Create an environment variable"). The roles trust GitHub *environments* (components/github_oidc.py), so these
settings are half of every trust: a job gets a role only in an environment, and GitHub lets a job into an
environment only once its protection rules pass ("When a workflow job references an environment, the job won't
start until all of the environment's protection rules pass", GitHub docs, environments).

* dev, staging, prod (this repository): maratron-deploy-<env>; deployment branch main; prod: required reviewers
  and no self-review (set by hand).
* <env>-preview (this repository): maratron-preview-<env>; any branch (pull requests); prod-preview: required
  reviewers (a prod preview decrypts prod's config).
* images (this repository): maratron-infra-ci; images (the app repository): maratron-app-ci; both branch main.

Each environment holds its role's ARN as the variable AWS_ROLE_ARN.

Not settable here, and part of the same trust: fork pull requests must not get write tokens (Settings → Actions,
"Send write tokens to workflows from pull requests", offered for private repositories). A fork's pull request runs
its own copy of the workflow and its subject names this repository, so only its read-only, id-token-less token keeps
it out of the `<env>-preview` environments (docs/runbooks/first-deploy.md).

Repository variables: PULUMI_BACKEND_URL (the state bucket) and AWS_REGION. No secret is needed anywhere.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from bootstrap.bootstrap_outputs import FOUNDATION

MAIN_ONLY = {"protected_branches": False, "custom_branch_policies": True}


def _environment(repository: str, name: str, *, main_only: bool) -> list[str]:
    body = json.dumps({"deployment_branch_policy": MAIN_ONLY if main_only else None})
    commands = [f"gh api -X PUT repos/{repository}/environments/{name} --input - <<< {shlex.quote(body)}"]
    if main_only:
        commands.append(f"gh api -X POST repos/{repository}/environments/{name}/deployment-branch-policies "
                        "-f name=main -f type=branch")
    return commands


def _variable(repository: str, name: str, value: str, environment: str = "") -> str:
    scope = f" --env {environment}" if environment else ""
    return f"gh variable set {name} --repo {repository}{scope} --body {shlex.quote(value)}"


def plan(outputs: Mapping[str, Any], repository: str, app_repository: str) -> list[str]:
    """The commands, in order, for the foundation described by `outputs` (the shared stack's)."""
    problems = FOUNDATION.check(outputs)
    if problems:
        raise ValueError("; ".join(problems))
    lines = [f"# GitHub setup for the Maratron foundation ({outputs['layout']}, {outputs['region']})",
             _variable(repository, "PULUMI_BACKEND_URL", str(outputs["backendUrl"])),
             _variable(repository, "AWS_REGION", str(outputs["region"]))]
    for environment, role in sorted(dict(outputs["githubEnvironments"]).items()):
        lines.append(f"# {environment}: {role.rsplit('/', 1)[-1]}")
        lines += _environment(repository, environment, main_only=not environment.endswith("-preview"))
        lines.append(_variable(repository, "AWS_ROLE_ARN", role, environment))
    images = next(e for e, r in outputs["githubEnvironments"].items() if r == outputs["infraCiRoleArn"])
    lines += [f"# the app repository's image job: {images} -> maratron-app-ci",
              *_environment(app_repository, images, main_only=True),
              _variable(app_repository, "AWS_ROLE_ARN", str(outputs["appCiRoleArn"]), images),
              _variable(app_repository, "AWS_REGION", str(outputs["region"])),
              "# By hand (Settings -> Environments): required reviewers on prod and prod-preview, and 'Prevent "
              "self-review' on prod."]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bootstrap.github_setup", description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", required=True, help="the shared bootstrap stack's `pulumi stack output --json`")
    parser.add_argument("--repository", required=True, help="this repository, OWNER/REPO")
    parser.add_argument("--app-repository", required=True, help="the app repository, OWNER/REPO")
    args = parser.parse_args(argv)
    try:
        with open(args.outputs, encoding="utf-8") as handle:
            lines = plan(json.load(handle), args.repository, args.app_repository)
    except (OSError, ValueError) as error:
        print(f"github_setup: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
