"""Run the real `__main__.py` under the Pulumi SDK's mock engine and record what it would register.

This is the one engine behind `make preview`, the tests, the policy runner and the benches: config comes from
Pulumi.yaml defaults + Pulumi.<stack>.yaml exactly as the CLI would merge them (`secure:` values and unset declared
secrets become clearly marked placeholders), every RegisterResource request is recorded with its options and
inputs in the wire form the engine and analyzers see, and the stack outputs are captured.

The program runs with preview=False so that outputs resolve to the mock's values and `.apply` code runs; nothing
in the program knows it is mocked.
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings
from pulumi.runtime.stack import run_in_stack

from offline.mocks import OfflineMocks

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "maratron"
STACKS = ("dev", "staging", "prod")
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270"
PLACEHOLDER_PREFIX = "OFFLINE-PLACEHOLDER"
REDACTED = "[secret]"


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

    def plain(self, key: str, default: Any = None) -> Any:
        """An input with secret wrappers removed (for assertions that do not care about secretness)."""
        return unwrap_secrets(self.inputs.get(key, default))

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

    def inventory(self, *, redact_secrets: bool = True) -> dict[str, Any]:
        """Machine-readable record of the run (written by `make preview` next to the tree)."""
        def show(value: Any) -> Any:
            return redact(value) if redact_secrets else value

        return {
            "project": PROJECT,
            "stack": self.stack,
            "error": None if self.error is None else str(self.error),
            "placeholders": self.placeholders,
            "outputs": show(self.outputs),
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
                "inputs": show(r.inputs),
            } for r in self.resources],
        }


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


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, additionally keeping every request in registration order."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Resource] = []
        self.stack_outputs: dict[str, Any] = {}

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
            outputs=self.resources[response.urn].state,
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
        ))
        return response

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


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None, *,
                 root: Path = ROOT) -> tuple[dict[str, str], list[str], list[str]]:
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
            values[f"{PROJECT}:{key}"] = spec["default"]
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
        full_key = f"{PROJECT}:{key}"
        if spec.get("secret"):
            secret_keys.append(full_key)
            # A secret the stack file does not set stands for one the operator sets with `pulumi config set
            # --secret` (its schema default, e.g. "", is what an unconfigured stack would get, not a real value).
            if full_key not in explicit:
                config[full_key] = f"{PLACEHOLDER_PREFIX}({full_key}: declared secret with no value here)"
                placeholders.append(full_key)
    return config, sorted(set(secret_keys)), sorted(placeholders)


def available_stacks(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


# --- running ----------------------------------------------------------------------------------------------------------

def run_program(stack: str, config: dict[str, str], secret_keys: list[str], *,
                program: Path | None = None, placeholders: list[str] | None = None,
                mocks: pulumi_mocks.Mocks | None = None, project: str = PROJECT) -> StackRun:
    """Run a Pulumi program file under the mock engine with the given config."""
    program = program or ROOT / "__main__.py"
    region = config.get("aws:region", "us-east-1")
    monitor = RecordingMonitor(mocks or OfflineMocks(region=region))
    project_dir = str(program.parent)
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)
    previous_cwd = os.getcwd()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    error: BaseException | None = None
    details = ""
    try:
        settings.set_root_resource(None)  # type: ignore[arg-type]
        pulumi_mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
        # MockSettings does not reset the pending-outputs set; a previous run that failed half-way would leave
        # tasks of its (closed) event loop there for this run to await.
        settings.SETTINGS.outputs = set()
        settings.set_root_resource(None)  # type: ignore[arg-type]
        pulumi.runtime.set_all_config(config, secret_keys)
        os.chdir(project_dir)  # as the language host runs it

        def execute() -> None:
            runpy.run_path(str(program), run_name="__main__")

        loop.run_until_complete(run_in_stack(execute))
    except Exception as exc:
        error = exc
        details = "".join(traceback.format_exception(exc))
    finally:
        os.chdir(previous_cwd)
        loop.close()
        asyncio.set_event_loop(None)
    return StackRun(stack=stack, config=config, secret_keys=secret_keys, placeholders=placeholders or [],
                    resources=monitor.recorded, outputs=monitor.stack_outputs, error=error,
                    error_details=details)


def run_stack(stack: str, overrides: Mapping[str, Any] | None = None) -> StackRun:
    """Run `__main__.py` for one stack with its merged config (see stack_config)."""
    config, secret_keys, placeholders = stack_config(stack, overrides)
    return run_program(stack, config, secret_keys, placeholders=placeholders)
