"""The account foundation offline: run the bootstrap stacks under the mock engine, and answer the app stacks'
StackReference with their real offline outputs.

* `run_bootstrap("shared")` runs bootstrap/__main__.py with bootstrap/Pulumi.yaml defaults + Pulumi.shared.yaml,
  exactly as offline/engine.py runs the app (same recorder, same mocks), each resource in the account its
  provider pins.
* `resolve_stack("organization/maratron-bootstrap/shared")` is what a StackReference reads: that stack's outputs
  from an offline run of it (a bootstrap stack) — never a hand-written fixture, so the app stack is always
  previewed against what the foundation's code exports today. Unknown stacks fail as the backend would.
* `app_mocks(config)` gives an app stack run its StackReferences, the images app CI pushed
  (offline/fixtures/pushed-images.json) and, as its credentials, the account the foundation places its environment
  in (the deploy role's account).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from components.constants import BOOTSTRAP_PROJECT, PROJECT
from components.state_backend import DIY_ORGANIZATION
from offline.engine import ROOT, StackRun, available_stacks, project_schema, run_program, stack_config, unwrap_secrets
from offline.mocks import ACCOUNT_ID, OfflineMocks, PushedImage

BOOTSTRAP_ROOT = ROOT / "bootstrap"
PUSHED_IMAGES = ROOT / "offline" / "fixtures" / "pushed-images.json"
_runs: dict[str, StackRun] = {}


def bootstrap_stacks() -> list[str]:
    return available_stacks(BOOTSTRAP_ROOT)


def bootstrap_config(stack: str, overrides: Mapping[str, Any] | None = None
                     ) -> tuple[dict[str, str], list[str], list[str]]:
    return stack_config(stack, overrides, root=BOOTSTRAP_ROOT, project=BOOTSTRAP_PROJECT)


def _account_of(config: Mapping[str, str]) -> str:
    """The account a bootstrap stack manages (its provider pins the same one)."""
    role = config.get(f"{BOOTSTRAP_PROJECT}:account", "shared")
    single = config.get(f"{BOOTSTRAP_PROJECT}:layout", "single-account") == "single-account"
    key = "shared" if single else role
    return config.get(f"{BOOTSTRAP_PROJECT}:{key}AccountId") or ACCOUNT_ID


def run_bootstrap(stack: str, overrides: Mapping[str, Any] | None = None, *,
                  references: Mapping[str, Mapping[str, Any]] | None = None) -> StackRun:
    """One offline run of a bootstrap stack (cached per stack and overrides). An environment-account stack reads
    the shared stack it names: its outputs come from an offline run of that stack, made first (the SDK's runtime is
    global, so no run starts inside another). `references` replaces them (tests of broken shared outputs)."""
    key = json.dumps([stack, dict(overrides or {}), references], sort_keys=True, default=str)
    if key not in _runs:
        config, secret_keys, placeholders = bootstrap_config(stack, overrides)
        if references is None:
            shared = config.get(f"{BOOTSTRAP_PROJECT}:sharedStack", "")
            references = _prepared(shared) if config.get(f"{BOOTSTRAP_PROJECT}:account", "shared") != "shared" \
                else {}
        mocks = OfflineMocks(region=config.get("aws:region", "us-east-1"), account_id=_account_of(config),
                             stack_references=_reader(references))
        _runs[key] = run_program(stack, config, secret_keys, program=BOOTSTRAP_ROOT / "__main__.py",
                                 placeholders=placeholders, mocks=mocks, project=BOOTSTRAP_PROJECT)
    return _runs[key]


def _prepared(name: str) -> dict[str, Mapping[str, Any]]:
    """{name: outputs} when `name` resolves, else {} (the program then reports the broken reference)."""
    try:
        return {name: resolve_stack(name)}
    except LookupError:
        return {}


def _reader(references: Mapping[str, Mapping[str, Any]]) -> Any:
    def read(name: str) -> Mapping[str, Any]:
        if name not in references:
            raise LookupError(f"unknown stack {name!r}")
        return references[name]
    return read


def resolve_stack(name: str) -> dict[str, Any]:
    """The outputs a StackReference to `name` reads: an offline run of that bootstrap stack."""
    parts = name.split("/")
    stacks = bootstrap_stacks()
    if len(parts) != 3 or parts[0] != DIY_ORGANIZATION or parts[1] != BOOTSTRAP_PROJECT or parts[2] not in stacks:
        known = ", ".join(f"{DIY_ORGANIZATION}/{BOOTSTRAP_PROJECT}/{s}" for s in stacks)
        raise LookupError(f"unknown stack {name!r} (the offline backend holds {known})")
    run = run_bootstrap(parts[2])
    if not run.ok:
        raise LookupError(f"stack {name!r} failed offline: {run.error}")
    return {k: unwrap_secrets(v) for k, v in run.outputs.items()}


@cache
def pushed_images(path: Path = PUSHED_IMAGES) -> dict[str, tuple[PushedImage, ...]]:
    """Repository name -> the images pushed to it (the fixture; `_comment` keys are notes)."""
    document = json.loads(path.read_text())
    return {repository: tuple(PushedImage(i["digest"], tuple(i.get("tags", ()))) for i in images)
            for repository, images in document.items() if not repository.startswith("_")}


def default_bootstrap_stack() -> str:
    return str(project_schema().get("bootstrapStack", {}).get("default", ""))


def app_mocks(config: Mapping[str, str], *, images: Mapping[str, tuple[PushedImage, ...]] | None = None,
              references: Mapping[str, Mapping[str, Any]] | None = None) -> OfflineMocks:
    """Mocks for an app stack run: its StackReference (the bootstrap stack it names, run offline first), the pushed
    images, and credentials of the account the foundation places the stack's environment in (what the deploy role
    resolves to)."""
    name = config.get(f"{PROJECT}:bootstrapStack") or default_bootstrap_stack()
    if references is None:
        references = _prepared(name)
    environment = config.get(f"{PROJECT}:environment", "prod")
    accounts = (references.get(name) or {}).get("accounts")
    accounts = accounts if isinstance(accounts, dict) else {}
    return OfflineMocks(region=config.get("aws:region", "us-east-1"),
                        account_id=str(accounts.get(environment) or ACCOUNT_ID),
                        stack_references=_reader(references),
                        images=pushed_images() if images is None else images)
