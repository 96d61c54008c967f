"""ops.newer_commit: a deploy never takes a stack back to a commit older than the one it runs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ops import newer_commit


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A git history: old -> new on main, and a side commit main does not contain."""
    path = tmp_path_factory.mktemp("repo")

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, check=True,
                              env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                                   "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}).stdout.strip()

    git("init", "-q", "-b", "main")
    commits = {}
    for name in ("old", "new"):
        git("commit", "-q", "--allow-empty", "-m", name)
        commits[name] = git("rev-parse", "HEAD")
    git("switch", "-q", "-c", "side", commits["old"])
    git("commit", "-q", "--allow-empty", "-m", "side")
    commits["side"] = git("rev-parse", "HEAD")
    git("switch", "-q", "main")
    commits["path"] = str(path)
    return commits


def runner(repo: dict[str, str], history: list[dict[str, Any]], calls: list[Sequence[str]]) -> Any:
    """`pulumi stack history` answers `history`; git runs in the test repository."""
    def run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        if command[0] == "pulumi":
            return subprocess.CompletedProcess(command, 0, json.dumps(history), "")
        return subprocess.run(["git", "-C", repo["path"], *command[1:]], capture_output=True, text=True,
                              check=False)
    return run


def update(commit: str, result: str = "succeeded", kind: str = "update") -> dict[str, Any]:
    return {"kind": kind, "result": result, "environment": {"git.head": commit}}


def test_a_commit_that_contains_the_deployed_one_goes_ahead(repo: dict[str, str]) -> None:
    calls: list[Sequence[str]] = []
    for deployed in ("old", "new"):
        code, message = newer_commit.check("prod", repo["new"], runner(repo, [update(repo[deployed])], calls))
        assert code == 0, message
    assert calls[0][:4] == ["pulumi", "stack", "history", "--stack"] and "--json" in calls[0]


def test_an_older_commit_is_refused_naming_both(repo: dict[str, str]) -> None:
    code, message = newer_commit.check("prod", repo["old"], runner(repo, [update(repo["new"])], []))
    assert code == 1 and repo["new"][:12] in message and "revert commit" in message


def test_a_deployed_commit_main_does_not_contain_is_refused(repo: dict[str, str]) -> None:
    code, message = newer_commit.check("prod", repo["new"], runner(repo, [update(repo["side"])], []))
    assert code == 1 and repo["side"][:12] in message
    code, message = newer_commit.check("prod", repo["new"], runner(repo, [update("f" * 40)], []))
    assert code == 1 and "this checkout does not have" in message


def test_only_the_last_successful_update_counts(repo: dict[str, str]) -> None:
    # newest first: a failed update and a refresh from other commits come after the last good update of `new`
    history = [update(repo["side"], result="failed"), update(repo["side"], kind="refresh"), update(repo["new"])]
    assert newer_commit.check("prod", repo["old"], runner(repo, history, []))[0] == 1
    assert newer_commit.check("prod", repo["new"], runner(repo, history, []))[0] == 0
    assert newer_commit.check("prod", repo["old"], runner(repo, [], []))[0] == 0  # a first deploy


def test_an_unreadable_history_is_its_own_status(repo: dict[str, str]) -> None:
    def failing(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 255, "", "error: no stack named 'prod' found")
    code, message = newer_commit.check("prod", repo["new"], failing)
    assert code == 2 and "no stack named" in message


def test_the_deploy_runs_it_before_the_release_with_the_history_checked_out() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    up = yaml.safe_load((root / ".github" / "workflows" / "pulumi-up.yml").read_text())["jobs"]["up"]["steps"]
    checkout = next(s for s in up if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # merge-base needs the history
    guard = next(i for i, s in enumerate(up) if "-m ops.newer_commit" in str(s.get("run", "")))
    release = next(i for i, s in enumerate(up) if "ops/release.sh" in str(s.get("run", "")))
    assert guard < release and '--stack "$STACK"' in up[guard]["run"]
