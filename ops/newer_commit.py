"""Refuse to deploy a commit that does not contain the one the stack's last successful update ran.

    python -m ops.newer_commit --stack organization/maratron/prod [--commit <sha>]

deploy.yml runs one release at a time, but that alone does not keep an older commit from reaching a stack after a
newer one: "Re-running a workflow or jobs in a workflow uses the same GITHUB_SHA (commit SHA) and GITHUB_REF ... of
the original event", deployment protection rules that passed in the earlier run pass again in the re-run, and
"Ordering is not guaranteed for jobs or workflow runs using concurrency groups" (GitHub Actions docs, re-running
workflows; concurrency). A re-run of an old failed run would then roll prod back, images and all, past migrations
that stay applied, with no reviewer.

Pulumi records the commit of every update (`environment["git.head"]` in `pulumi stack history --json`). The deploy
goes ahead when the stack has no successful update yet, or when that commit is an ancestor of (or equal to) the
one being deployed (`git merge-base --is-ancestor`; the checkout needs the history: fetch-depth 0). A rollback is a
revert commit on main, which contains the last deployed one; an update run by hand from a commit main does not
contain is refused too, with the commit named, until it is merged.

Exit status: 0 go ahead, 1 refused, 2 the history or git could not be read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

HISTORY_PAGE = 50
"""History entries read: the last successful update is among the newest (refreshes and failures come between)."""

Run = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, check=False)


def last_deployed_commit(history: Sequence[Mapping[str, Any]]) -> str | None:
    """The commit of the newest successful `update` (history comes newest first), None when there is none."""
    for entry in history:
        if entry.get("kind") == "update" and entry.get("result") == "succeeded":
            head = (entry.get("environment") or {}).get("git.head")
            return str(head) if head else None
    return None


def check(stack: str, commit: str, run: Run = _run) -> tuple[int, str]:
    listed = run(["pulumi", "stack", "history", "--stack", stack, "--json", "--page-size", str(HISTORY_PAGE)])
    if listed.returncode != 0:
        return 2, f"newer_commit: pulumi stack history failed: {listed.stderr.strip()}"
    try:
        history = json.loads(listed.stdout or "[]")
    except ValueError as error:
        return 2, f"newer_commit: pulumi stack history is not JSON: {error}"
    last = last_deployed_commit(history if isinstance(history, list) else [])
    if last is None:
        return 0, f"{stack}: no successful update recorded with a commit: nothing to compare {commit[:12]} with"
    ancestor = run(["git", "merge-base", "--is-ancestor", last, commit])
    if ancestor.returncode == 0:
        return 0, f"{stack}: last deployed {last[:12]}, which {commit[:12]} contains"
    if ancestor.returncode == 1:
        return 1, (f"{stack} runs {last[:12]}, which {commit[:12]} does not contain: an older commit (a re-run of "
                   "an old workflow run, or runs out of order) would roll the stack back. Roll back with a revert "
                   "commit on main instead.")
    return 1, (f"{stack} last ran {last[:12]}, a commit this checkout does not have ({ancestor.stderr.strip()}): "
               "merge it into main (or find who deployed it) before deploying again.")


def main(argv: Sequence[str] | None = None, run: Run = _run) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--commit", default="HEAD", help="the commit being deployed (default: HEAD)")
    args = parser.parse_args(argv)
    code, message = check(args.stack, args.commit, run)
    print(message, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
