"""Shared fixtures: each stack runs once per session through the same engine `make preview` uses."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from offline.engine import STACKS, StackRun, run_stack, stack_config
from offline.policy_runner import PolicyPackProcess, PolicyVerdict, check_run

_runs: dict[str, StackRun] = {}
_verdicts: dict[tuple[int, str], tuple[StackRun, PolicyVerdict]] = {}

# Modules whose module-scoped fixture is expensive (a moto server and deployment, a PostgreSQL server, several program
# runs): under `make pytest` (`-n <cores> --dist loadgroup`) each runs on one xdist worker, so the fixture is built
# once instead of once per worker its tests happen to land on (test_verify's deployment alone is ~8 s; test_verify_cdn's
# server and distribution ~3 s, which every worker built once). Every other test is still spread test by test.
ONE_WORKER_MODULES = frozenset({
    "tests/ops/test_verify.py", "tests/ops/test_verify_cdn.py", "tests/ops/test_verify_foundation.py",
    "tests/ops/test_tag_deployed_images.py",
    "tests/ops/test_db_admin_postgres.py", "tests/ops/test_backup_scripts.py",
    "tests/test_first_deploy.py", "tests/test_observability.py", "tests/test_foundation.py",
    "tests/policies/test_controls.py",  # the sweep's module fixtures (wire forms) and one reconfiguring of the pack
})
SHARED_VERDICT_MODULES = frozenset({
    "tests/policies/test_stacks.py", "tests/policies/test_pack.py", "tests/test_diagram.py",
})
"""Modules that read the same whole-stack verdicts (checked(): prod's and dev's under their own pack config, ~4 s of
the pack's CPU each): one group on one worker, so each verdict is computed once."""


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` with ONE_WORKER_MODULES (and SHARED_VERDICT_MODULES together) as the groups. Not
    xdist_group marks: xdist 3.8 applies them by rewriting `item._nodeid`, which pytest 9 no longer reads (its nodeid
    is `_id`), so they group nothing. (Runs need no group: stack_run shares each across the workers, prod with
    policy_ledger.OPTIONAL_PARTS too.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class OneWorkerModules(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if module in SHARED_VERDICT_MODULES:
                return "shared-verdicts"
            return module if module in ONE_WORKER_MODULES else nodeid

    return OneWorkerModules(config, log)


def stack_run(stack: str, **overrides: Any) -> StackRun:
    """One offline run per (stack, overrides), cached for the session. Overrides use short keys (azCount=2)."""
    full = {(k if ":" in k else f"maratron:{k}"): v for k, v in overrides.items()}
    cache_key = f"{stack}:{json.dumps(full, sort_keys=True, default=str)}"
    if cache_key not in _runs:
        # An xdist worker lives for one session and runs part of its programs: each run's garbage is left to the
        # process's end (offline/engine.py). A single process (-n0) runs them all, so it still collects.
        keep = _shared_runs_dir() is None
        _runs[cache_key] = _shared_run(cache_key, lambda: run_stack(stack, full, free_garbage=keep))
    return _runs[cache_key]


def _shared_runs_dir() -> Path | None:
    """Where the xdist workers of one session share their runs; None outside xdist. Named for the controller process
    (the workers' parent, which removes it when the session ends) and the session's xdist uid, so that a directory
    left by a killed session is never read by a later one that got the same pid."""
    uid = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    return _RUNS_ROOT / f"maratron-runs-{os.getppid()}-{uid}" if uid else None


_RUNS_ROOT = Path(tempfile.gettempdir())


def _shared_run(cache_key: str, run: Callable[[], StackRun]) -> StackRun:
    """One engine run per (stack, overrides) per session, not per worker: the first worker to need it runs it under
    a lock and pickles it (~10 ms to load for prod, against ~1.2 s to run); a worker that needs it meanwhile waits
    for it instead of running it again. Failed runs (cheap, and their exceptions need not pickle) are not shared."""
    directory = _shared_runs_dir()
    if directory is None:
        return run()
    directory.mkdir(exist_ok=True)
    path = directory / f"{hashlib.sha256(cache_key.encode()).hexdigest()[:32]}.pickle"
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            shared: StackRun = pickle.loads(path.read_bytes())
            return shared
        result = run()
        if result.ok:
            partial = path.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            partial.rename(path)
        return result


def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return
    for directory in _RUNS_ROOT.glob("maratron-runs-*"):  # left by a controller that was killed
        pid = directory.name.split("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist), after every worker
        for directory in _RUNS_ROOT.glob(f"maratron-runs-{os.getpid()}-*"):
            shutil.rmtree(directory, ignore_errors=True)


def checked(run: StackRun, pack: PolicyPackProcess, pack_config: Mapping[str, Any] | None = None) -> PolicyVerdict:
    """check_run(run, pack=pack, pack_config=...) once per (run, pack config) for the session: a whole stack through
    every policy is ~4 s of the pack's CPU, and the verdict of one run under one config never changes. Callers must
    not mutate the verdict."""
    key = (id(run), json.dumps(pack_config, sort_keys=True, default=str))
    if key not in _verdicts or _verdicts[key][0] is not run:
        _verdicts[key] = (run, check_run(run, pack=pack, pack_config=pack_config))
    return _verdicts[key][1]


@pytest.fixture(scope="session")
def pack() -> Iterator[PolicyPackProcess]:
    """One policy pack process per worker, started exactly as the engine starts it (offline/policy_runner.py)."""
    config, secret_keys, _ = stack_config("prod")
    process = PolicyPackProcess("prod", config, secret_keys)
    yield process
    process.close()


@pytest.fixture
def session_preview(monkeypatch: pytest.MonkeyPatch, pack: PolicyPackProcess) -> None:
    """`preview.main` in-process on the session's runs and pack: the same program run and verdict the other tests
    read (stack_run, checked) instead of another engine run and another pack process. What is left to the test is
    what main does with them (printing, files, exit status); tests/test_preview.py runs the CLI for real too."""
    from offline import policy_runner, preview

    monkeypatch.setattr(preview, "run_stack",
                        lambda stack, overrides=None: stack_run(stack, **dict(overrides or {})))
    monkeypatch.setattr(policy_runner, "check_run", lambda run, pack_config=None: checked(run, pack, pack_config))


@pytest.fixture(scope="session")
def run_variant() -> Callable[..., StackRun]:
    return stack_run


@pytest.fixture(scope="session", params=STACKS)
def any_stack(request: pytest.FixtureRequest) -> StackRun:
    run = stack_run(request.param)
    assert run.ok, run.error_details
    return run


@pytest.fixture(scope="session")
def dev() -> StackRun:
    run = stack_run("dev")
    assert run.ok, run.error_details
    return run


@pytest.fixture(scope="session")
def staging() -> StackRun:
    run = stack_run("staging")
    assert run.ok, run.error_details
    return run


@pytest.fixture(scope="session")
def prod() -> StackRun:
    run = stack_run("prod")
    assert run.ok, run.error_details
    return run


@pytest.fixture(scope="session")
def dr() -> StackRun:
    """prod restored in its DR region (Pulumi.dr.yaml): environment prod, names maratron-dr-*, in us-west-2."""
    run = stack_run("dr")
    assert run.ok, run.error_details
    return run
