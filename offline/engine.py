"""Run the real `__main__.py` under the Pulumi SDK's mock engine and record what it would register.

This is the one engine behind `make preview`, the tests, the policy runner and the benches: config comes from
Pulumi.yaml defaults + Pulumi.<stack>.yaml exactly as the CLI would merge them (`secure:` values and unset declared
secrets become clearly marked placeholders), every RegisterResource request is recorded with its options and
inputs in the wire form the engine and analyzers see, and the stack outputs are captured.

The program runs with preview=False so that outputs resolve to the mock's values and `.apply` code runs; nothing
in the program knows it is mocked.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import heapq
import json
import logging
import os
import runpy
import sys
import sysconfig
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format

from components.constants import PROJECT
from offline import sdk_internals
from offline.mocks import OfflineMocks
from offline.sdk_internals import ARCHIVE_SIG, ASSET_SIG, SECRET_SIG, SECRET_VALUE_SIG

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "staging", "prod")
PLACEHOLDER_PREFIX = "OFFLINE-PLACEHOLDER"
REDACTED = "[secret]"
MIN_SECRET_LENGTH = 4


@dataclass
class Resource:
    """One RegisterResource request, as the engine received it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    """Inputs in wire form: secrets wrapped in the secret signature, integers as JSON numbers."""
    outputs: dict[str, Any]
    """The mock's state for the resource (inputs plus computed attributes)."""
    id: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str = ""
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    additional_secret_outputs: list[str] = field(default_factory=list)
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    deleted_with: str = ""
    aliases: list[str] = field(default_factory=list)
    """Earlier identities of the resource (URNs, or `name@parent-urn` for an alias spec): an update in place."""

    @functools.cached_property
    def plain_inputs(self) -> dict[str, Any]:
        """All inputs with secret wrappers removed (computed once)."""
        return dict(unwrap_secrets(self.inputs))

    def plain(self, key: str, default: Any = None) -> Any:
        """An input with secret wrappers removed (for assertions that do not care about secretness)."""
        return unwrap_secrets(self.inputs.get(key, default))

    def state_outputs(self) -> dict[str, Any]:
        """The outputs as the engine keeps them in the state: those the resource lists in additionalSecretOutputs
        (RandomPassword's `result`, whatever the program does with it) are secrets there, whatever the mock
        answered."""
        secret = set(self.additional_secret_outputs)
        return {key: value if key not in secret or is_secret(value) else {SECRET_SIG: SECRET_VALUE_SIG, "value": value}
                for key, value in self.outputs.items()}

    def options(self) -> dict[str, Any]:
        return {
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "deleteBeforeReplace": self.delete_before_replace,
            "ignoreChanges": self.ignore_changes,
            "replaceOnChanges": self.replace_on_changes,
            "additionalSecretOutputs": self.additional_secret_outputs,
            "customTimeouts": self.custom_timeouts,
            "deletedWith": self.deleted_with,
        }


@dataclass
class StackRun:
    """Everything one offline run of a stack produced."""

    stack: str
    config: dict[str, str]
    secret_keys: list[str]
    placeholders: list[str]
    resources: list[Resource]
    outputs: dict[str, Any]
    error: BaseException | None = None
    error_details: str = ""
    """The traceback of `error`, for programming errors (config errors need none)."""
    project: str = PROJECT
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every data-source call (token, arguments) the program made, in order."""
    warnings: list[str] = field(default_factory=list)
    """What the program warned about (`pulumi.log.warn`), in order: the CLI shows these above the plan."""

    @property
    def ok(self) -> bool:
        return self.error is None

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise LookupError(f"expected one {type_} named {name!r}, found {len(found)} among {names}")
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise LookupError(urn)

    def by_id(self, id_: str) -> Resource:
        for resource in self.resources:
            if resource.id == id_:
                return resource
        raise LookupError(id_)

    def children(self, parent: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants(self, ancestor: Resource) -> Iterator[Resource]:
        for child in self.children(ancestor):
            yield child
            yield from self.descendants(child)

    def component_of(self, resource: Resource) -> Resource | None:
        """The nearest ancestor that is a component (not a custom resource and not the stack)."""
        parent = resource.parent
        while parent:
            owner = self.by_urn(parent)
            if not owner.custom and owner.type != "pulumi:pulumi:Stack":
                return owner
            parent = owner.parent
        return None

    def plain_outputs(self) -> dict[str, Any]:
        return {k: unwrap_secrets(v) for k, v in self.outputs.items()}

    def secret_values(self) -> list[str]:
        return list(self._secret_values)

    @functools.cached_property
    def _secret_values(self) -> tuple[str, ...]:
        """Every secret value of the run, longest first: secret config (not the offline placeholders) and whatever
        travels inside a secret wrapper in the inputs or the stack outputs. Text shorter than MIN_SECRET_LENGTH is
        left out: it cannot be told apart from ordinary text."""
        found: set[str] = set()

        def collect(value: Any, inside: bool) -> None:
            if is_secret(value):
                collect(value.get("value"), True)
            elif isinstance(value, dict):
                for item in value.values():
                    collect(item, inside)
            elif isinstance(value, list):
                for item in value:
                    collect(item, inside)
            elif inside and value is not None and not isinstance(value, bool):
                found.add(str(value))

        for key in self.secret_keys:
            if key in self.config and key not in self.placeholders:
                found.add(self.config[key])
        for resource in self.resources:
            collect(resource.inputs, False)
            if resource.additional_secret_outputs:
                collect(resource.state_outputs(), False)
        collect(self.outputs, False)
        return tuple(sorted((v for v in found if len(v) >= MIN_SECRET_LENGTH
                             and not v.startswith(PLACEHOLDER_PREFIX)), key=lambda v: (-len(v), v)))

    def redacted(self, value: Any) -> Any:
        """`value` safe to write or print: secret wrappers keep their shape with REDACTED inside, and any text that
        contains a secret value (a URL built from a password, a mock's echo of a secret input) has it replaced."""
        secrets = self._secret_values

        def scrub(item: Any) -> Any:
            if is_secret(item):
                return {SECRET_SIG: SECRET_VALUE_SIG, "value": REDACTED}
            if isinstance(item, dict):
                return {scrub(k): scrub(v) for k, v in item.items()}
            if isinstance(item, list):
                return [scrub(v) for v in item]
            if isinstance(item, str):
                for secret in secrets:
                    if secret in item:
                        item = item.replace(secret, REDACTED)
            return item

        return scrub(value)

    def inventory(self, *, redact_secrets: bool = True) -> dict[str, Any]:
        """Machine-readable record of the run (written by `make preview` next to the tree), in canonical order."""
        document = {
            "project": self.project,
            "stack": self.stack,
            "error": None if self.error is None else str(self.error),
            "placeholders": self.placeholders,
            "outputs": self.outputs,
            "resources": [{
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "custom": r.custom,
                "id": r.id,
                "provider": r.provider,
                "dependencies": r.dependencies,
                "propertyDependencies": r.property_dependencies,
                "options": r.options(),
                "inputs": r.inputs,
            } for r in self.resources],
        }
        document = portable_paths(document)
        return self.redacted(document) if redact_secrets else document


SITE_PACKAGES = "<site-packages>"
"""What an asset path under the virtualenv's site-packages starts with in the written files."""
VENV = "<venv>"
"""... and one elsewhere under the virtualenv."""


@functools.cache
def _path_prefixes() -> tuple[tuple[str, str], ...]:
    """(directory + separator, replacement) pairs, most specific first: site-packages, the virtualenv, the project."""
    pairs: list[tuple[str, str]] = []
    for directory, marker in ((sysconfig.get_paths()["purelib"], SITE_PACKAGES + "/"),
                              (sysconfig.get_paths()["platlib"], SITE_PACKAGES + "/"),
                              (sys.prefix, VENV + "/"), (str(ROOT), "")):
        for form in (directory, os.path.realpath(directory)):
            pairs.append((form.rstrip(os.sep) + os.sep, marker))
    return tuple(sorted(set(pairs), key=lambda pair: -len(pair[0])))


def portable_path(path: str) -> str:
    """An asset's path as written to the inventory and the stack export: relative to the project root, or to a marker
    for the virtualenv (`<site-packages>/pg8000/core.py`), so that every checkout writes the same files. Other
    paths stay as they are. Only the written record changes: the program registers (and `pulumi up` uploads) the
    real path."""
    for prefix, replacement in _path_prefixes():
        if path.startswith(prefix):
            return replacement + path[len(prefix):].replace(os.sep, "/")
    return path


def portable_paths(value: Any) -> Any:
    """`value` with the `path` of every file asset and archive (wire form) made portable (portable_path)."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) in (ASSET_SIG, ARCHIVE_SIG) and isinstance(value.get("path"), str):
            value = {**value, "path": portable_path(value["path"])}
        return {k: portable_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable_paths(v) for v in value]
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE_SIG


def unwrap_secrets(value: Any) -> Any:
    if is_secret(value):
        return unwrap_secrets(value.get("value"))
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def redact(value: Any) -> Any:
    if is_secret(value):
        return {SECRET_SIG: SECRET_VALUE_SIG, "value": REDACTED}
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _wire_to_json(struct: Any) -> dict[str, Any]:
    """A protobuf Struct as plain JSON, integral floats back to ints (the wire has only doubles)."""
    def fix(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    return fix(json_format.MessageToDict(struct, preserving_proto_field_name=True))


class RecordingMonitor(sdk_internals.MockMonitor):
    """The SDK's mock monitor, additionally keeping every request in registration order."""

    def __init__(self, mocks: sdk_internals.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Resource] = []
        self.stack_outputs: dict[str, Any] = {}
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN, not the mock's (sdk_internals.engine_urn)."""
        return sdk_internals.engine_urn(parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            if not any(r.urn == response.urn for r in self.recorded):
                self.recorded.append(Resource(urn=response.urn, type=request.type, name=request.name,
                                              parent="", custom=False, inputs={}, outputs={}))
            return response
        timeouts = request.customTimeouts
        self.recorded.append(Resource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=request.custom,
            inputs=_wire_to_json(request.object),
            outputs=sdk_internals.registered_state(self, response.urn),
            id=response.id,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider,
            protect=request.protect if request.HasField("protect") else False,
            retain_on_delete=request.retainOnDelete if request.HasField("retainOnDelete") else False,
            delete_before_replace=request.deleteBeforeReplace,
            ignore_changes=list(request.ignoreChanges),
            replace_on_changes=list(request.replaceOnChanges),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            custom_timeouts={k: v for k, v in (("create", timeouts.create), ("update", timeouts.update),
                                               ("delete", timeouts.delete)) if v},
            deleted_with=request.deletedWith,
            aliases=[*request.aliasURNs, *(a.urn or f"{a.spec.name}@{a.spec.parentUrn}" for a in request.aliases)],
        ))
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802
        """A read (a StackReference): recorded like a registration, with the id it reads."""
        response = super().ReadResource(request)
        self.recorded.append(Resource(
            urn=response.urn, type=request.type, name=request.name, parent=request.parent, custom=True,
            inputs=_wire_to_json(request.properties), outputs=sdk_internals.registered_state(self, response.urn),
            id=request.id,
            dependencies=list(request.dependencies), provider=request.provider))
        return response

    def Invoke(self, request: Any) -> Any:  # noqa: N802
        self.invokes.append((request.tok, _wire_to_json(request.args)))
        return super().Invoke(request)

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.stack_outputs = _wire_to_json(request.outputs)
        return super().RegisterResourceOutputs(request)


# --- configuration, merged as the CLI merges it ---------------------------------------------------------------------

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_yaml_cache: dict[tuple[Path, int], Any] = {}


def load_yaml(path: Path) -> Any:
    """Parse a YAML file once per modification (the tests and benches run the same stacks many times)."""
    key = (path, path.stat().st_mtime_ns)
    if key not in _yaml_cache:
        _yaml_cache[key] = yaml.load(path.read_text(), Loader=_YAML_LOADER)
    return _yaml_cache[key]


def project_schema(root: Path = ROOT) -> dict[str, dict[str, Any]]:
    document = load_yaml(root / "Pulumi.yaml")
    return dict(document.get("config") or {})


def _config_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None, *, root: Path = ROOT,
                 project: str = PROJECT) -> tuple[dict[str, str], list[str], list[str]]:
    """(config, secret keys, placeholder keys) for a stack: schema defaults, then the stack file, then overrides.

    `secure:` values cannot be decrypted here (no CLI, no stack key), and declared secrets are unset in a
    fresh clone (whatever their schema default); both get a placeholder that says what it is, so the program runs
    as for a fully configured stack and the preview says so. An override sets a secret to a real value (e.g. "").
    Overrides set a key to a value, or remove it when the value is None.
    """
    schema = project_schema(root)
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise FileNotFoundError(f"no stack file {stack_file.name}; stacks here: {', '.join(available_stacks(root))}")
    values: dict[str, Any] = {}
    for key, spec in schema.items():
        if "default" in spec:
            values[f"{project}:{key}"] = spec["default"]
    stack_values = (load_yaml(stack_file) or {}).get("config") or {}
    values.update(stack_values)
    explicit = set(stack_values)
    for key, value in (overrides or {}).items():
        explicit.add(key)
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value

    config: dict[str, str] = {}
    secret_keys: list[str] = []
    placeholders: list[str] = []
    for key, value in values.items():
        if isinstance(value, dict) and "secure" in value:
            config[key] = f"{PLACEHOLDER_PREFIX}({key}: encrypted in the stack file, not decryptable offline)"
            secret_keys.append(key)
            placeholders.append(key)
        else:
            config[key] = _config_text(value)
    for key, spec in schema.items():
        full_key = f"{project}:{key}"
        if spec.get("secret"):
            secret_keys.append(full_key)
            # A secret the stack file does not set stands for one the operator sets with `pulumi config set
            # --secret` (its schema default, e.g. "", is what an unconfigured stack would get, not a real value).
            if full_key not in explicit:
                config[full_key] = f"{PLACEHOLDER_PREFIX}({full_key}: declared secret with no value here)"
                placeholders.append(full_key)
    return config, sorted(set(secret_keys)), sorted(placeholders)


def available_stacks(root: Path = ROOT) -> list[str]:
    """Every stack with a stack file (Pulumi.<stack>.yaml): the environments in promotion order (STACKS), then the
    others (dr) by name — the order of every table, listing and error message."""
    names = (p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
    return sorted(names, key=lambda s: (STACKS.index(s) if s in STACKS else len(STACKS), s))


def refuse_unknown_stacks(parser: argparse.ArgumentParser, stacks: Iterable[str]) -> None:
    """A command-line tool's stack names checked before anything runs: an unknown one ends the tool with argparse's
    usage line and one error line on stderr (exit 2), never a traceback."""
    known = available_stacks()
    unknown = [stack for stack in stacks if stack not in known]
    if unknown:
        parser.error(f"unknown stack {', '.join(map(repr, unknown))}: stacks here are {', '.join(known)} "
                     "(Pulumi.<stack>.yaml)")


# --- running ----------------------------------------------------------------------------------------------------------

def run_program(stack: str, config: dict[str, str], secret_keys: list[str], *,
                program: Path | None = None, placeholders: list[str] | None = None,
                mocks: sdk_internals.Mocks | None = None, project: str = PROJECT, preview: bool = False,
                free_garbage: bool = True) -> StackRun:
    """Run a Pulumi program file under the mock engine with the given config. `preview=True` runs it as `pulumi
    preview` would (unknown computed values, applies over them skipped): for the checks that must fail a preview.
    `free_garbage=False` skips the collection after the run (see below): ~13% of a run's CPU for ~15 MB of memory a
    run that is never given back, a trade for a short-lived process that runs many programs (a test worker)."""
    program = program or ROOT / "__main__.py"
    region = config.get("aws:region", "us-east-1")
    monitor = RecordingMonitor(mocks or OfflineMocks(region=region))
    if isinstance(monitor.mocks, OfflineMocks):
        monitor.mocks.first_preview = preview  # a preview here is of a stack not created yet
    project_dir = str(program.parent)
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)
    previous_cwd = os.getcwd()
    # The SDK allocates hundreds of thousands of short-lived objects per run (futures, Outputs, tasks), many in
    # reference cycles. With earlier runs still alive (a test session keeps one per stack and variant), the cyclic
    # collector would traverse all of them again and again: ~40% of a run. So it pauses during the run; afterwards
    # one collection frees the run's garbage (unless free_garbage=False) and what survives is frozen out of later
    # collections.
    collecting = gc.isenabled()
    gc.disable()
    loop = asyncio.new_event_loop()
    # A program that fails (a RunError in an apply) fails every output waiting on it; the run keeps the first error
    # (StackRun.error), and asyncio's reports of the dependent futures nobody retrieves are noise.
    loop.set_exception_handler(lambda _loop, _context: None)
    asyncio.set_event_loop(loop)
    error: BaseException | None = None
    details = ""
    warnings = _WarningLog()
    try:
        sdk_internals.install_mocks(monitor, project=project, stack=stack, preview=preview, logger=warnings)
        sdk_internals.set_config(config, secret_keys)
        os.chdir(project_dir)  # as the language host runs it

        def execute() -> None:
            runpy.run_path(str(program), run_name="__main__")

        sdk_internals.run_program_function(loop, execute)
    except Exception as exc:
        error = exc
        details = "".join(traceback.format_exception(exc))
    finally:
        os.chdir(previous_cwd)
        # The RPCs ran on the loop's executor threads; until they exit, a worker can still reach this run's objects
        # (the stack resource through the SDK's settings), so the collection below would miss them and the freeze
        # would keep them for good: ~15 MB and ~60,000 objects per prod run, growing with every run of the process.
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)
        if collecting:
            gc.enable()
            if free_garbage:
                gc.collect()
            gc.freeze()
    return StackRun(stack=stack, config=config, secret_keys=secret_keys, placeholders=placeholders or [],
                    resources=canonical_order(monitor.recorded), outputs=monitor.stack_outputs, error=error,
                    error_details=details, project=project, invokes=monitor.invokes, warnings=warnings.messages)


class _WarningLog(logging.Logger):
    """The mock engine's logger for one run: warnings are kept for the run (StackRun.warnings, which the preview
    prints and a test reads from a cached run); debug, info and errors go to the root logger as before."""

    def __init__(self) -> None:
        super().__init__("pulumi.engine")
        self.parent = logging.getLogger()
        self.messages: list[str] = []

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.messages.append(str(msg) % args if args else str(msg))


def canonical_order(resources: list[Resource]) -> list[Resource]:
    """The resources in one order that does not depend on how asyncio happened to schedule the registrations.

    Registration order varies from run to run (outputs resolve in whatever order the event loop gets to them), so
    everything written or printed from a run starts from this order instead: each resource after its parent, its
    dependencies and the resource it is deleted with (the order `pulumi stack import` requires of a snapshot), ties
    broken by URN. Dependency lists are sorted too. Two runs of the same commit therefore produce identical files.
    """
    by_urn = {r.urn: r for r in resources}
    for r in resources:
        r.dependencies = sorted(set(r.dependencies))
        r.property_dependencies = {k: sorted(set(v)) for k, v in sorted(r.property_dependencies.items())}
    before: dict[str, set[str]] = {}
    for r in resources:
        needs = {r.parent, r.deleted_with, *r.dependencies}
        for urns in r.property_dependencies.values():
            needs.update(urns)
        before[r.urn] = {u for u in needs if u in by_urn and u != r.urn}
    waiting_on: dict[str, list[str]] = {}
    for urn, needs in before.items():
        for need in needs:
            waiting_on.setdefault(need, []).append(urn)
    ready = [urn for urn, needs in before.items() if not needs]
    heapq.heapify(ready)
    ordered: list[Resource] = []
    while ready:
        urn = heapq.heappop(ready)
        ordered.append(by_urn[urn])
        for other in waiting_on.get(urn, []):
            before[other].discard(urn)
            if not before[other]:
                heapq.heappush(ready, other)
    placed = {r.urn for r in ordered}
    return ordered + sorted((r for r in resources if r.urn not in placed), key=lambda r: r.urn)  # a cycle: as is


def run_stack(stack: str, overrides: Mapping[str, Any] | None = None, *, free_garbage: bool = True,
              preview: bool = False) -> StackRun:
    """Run `__main__.py` for one stack with its merged config (see stack_config; free_garbage and preview: see
    run_program)."""
    from offline.foundation import app_mocks

    config, secret_keys, placeholders = stack_config(stack, overrides)
    return run_program(stack, config, secret_keys, placeholders=placeholders, mocks=app_mocks(config),
                       free_garbage=free_garbage, preview=preview)
