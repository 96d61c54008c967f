"""Play the Pulumi engine's part for the policy pack: launch it, configure it, send it every resource, print verdicts.

`python -m offline.policy_runner prod` runs the stack offline (offline/engine.py), launches `policies/` exactly as
the CLI launches a Python pack — `python -u -m pulumi.policy <engineAddr> <packDir>` with the pack directory as the
working directory and PULUMI_CONFIG / PULUMI_PROJECT / PULUMI_STACK / PULUMI_ORGANIZATION / PULUMI_DRY_RUN in the
environment — reads the port it prints, and drives the real Analyzer gRPC protocol in the engine's order:
Handshake, ConfigureStack, GetPluginInfo, GetAnalyzerInfo, Configure (an enforcement level and properties for every
policy, merged from schema defaults and the pack config file the way the engine merges them), Remediate + Analyze for
each resource (its inputs), then AnalyzeStack with every resource (its state, with parent, dependencies and
propertyDependencies). Violations are printed grouped by enforcement level; the exit status is 1 when any is
mandatory (2 when the program itself failed).

The engine address argument: pulumi's policy launcher parses it but builds its runtime Settings without an engine
connection (pulumi_policy 1.21 never calls back; diagnostics go to stderr), so no Engine service is needed and a
placeholder address is passed. The interpreter is this virtualenv's (which pins pulumi-policy like
policies/requirements.txt); the CLI would use policies/venv from PulumiPolicy.yaml.

The run is also written as a `pulumi stack export` document (build/<stack>/stack-export.json) so that anyone with
the CLI can re-check it: import it into a stack (`pulumi stack import --file build/<stack>/stack-export.json`), then
`pulumi policy analyze --policy-pack policies --policy-pack-config policies/config/<stack>.json` (the command has no
`--file` flag).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2

from offline.engine import (
    PROJECT,
    ROOT,
    SECRET_SIG,
    Resource,
    StackRun,
    available_stacks,
    is_secret,
    portable_paths,
    refuse_unknown_stacks,
    run_stack,
)
from offline.sdk_internals import analyzer_pb2, analyzer_pb2_grpc

PACK_DIR = ROOT / "policies"
CONFIG_DIR = PACK_DIR / "config"
BUILD_DIR = ROOT / "build"
ORGANIZATION = "organization"
ENGINE_ADDRESS_PLACEHOLDER = "127.0.0.1:0"
LEVEL_NAMES = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
LEVELS = {name: value for value, name in LEVEL_NAMES.items()}


class PolicyConfigError(ValueError):
    """The pack config file names a policy or property the pack does not have, or a level that does not exist."""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str
    message: str


@dataclass
class PolicyVerdict:
    stack: str
    pack: str
    violations: list[Violation] = field(default_factory=list)
    policies: int = 0
    resources: int = 0

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "advisory"]

    def of(self, policy: str) -> list[Violation]:
        return [v for v in self.violations if v.policy == policy]


# --- the pack process -------------------------------------------------------------------------------------------------

class PolicyPackProcess:
    """A running policy pack, started as the engine starts it, with an Analyzer stub connected to it."""

    def __init__(self, stack: str, config: Mapping[str, str], secret_keys: Iterable[str] = (), *,
                 pack_dir: Path = PACK_DIR, dry_run: bool = True, python: str = sys.executable,
                 project: str = PROJECT) -> None:
        self.stack = stack
        self.project = project
        self._configs: dict[str, tuple[dict[str, tuple[str, dict[str, Any]]], Any]] = {}
        self._configured: str | None = None
        """The pack config last sent (Configure's key in _configs): sending it again is skipped."""
        self._stack_request: Any = None
        """The ConfigureStack request last sent: an equal one is not sent again."""
        self.pack_dir = pack_dir
        env = dict(os.environ)
        env.update({
            "PULUMI_CONFIG": json.dumps(dict(config)),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(sorted(secret_keys)),
            "PULUMI_PROJECT": project,
            "PULUMI_STACK": stack,
            "PULUMI_ORGANIZATION": ORGANIZATION,
            "PULUMI_DRY_RUN": "true" if dry_run else "false",
        })
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
        self.process = subprocess.Popen(
            [python, "-u", "-m", "pulumi.policy", ENGINE_ADDRESS_PLACEHOLDER, str(pack_dir)],
            cwd=pack_dir, env=env, stdout=subprocess.PIPE, stderr=self._stderr,
        )
        assert self.process.stdout is not None
        first_line = self.process.stdout.readline().decode().strip()
        if not first_line.isdigit():
            with contextlib.suppress(subprocess.TimeoutExpired):  # a pack that failed exits; its stderr says why
                self.process.wait(timeout=10)  # (read before close(), which closes the file)
            stderr = self.stderr()
            self.close()
            raise RuntimeError(f"policy pack did not print its port (got {first_line!r}):\n{stderr}")
        threading.Thread(target=self.process.stdout.read, daemon=True).start()  # keep the pipe drained
        self.channel = grpc.insecure_channel(f"127.0.0.1:{first_line}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        try:
            self.stub.Handshake(analyzer_pb2.AnalyzerHandshakeRequest(
                engine_address=ENGINE_ADDRESS_PLACEHOLDER, root_directory=str(ROOT), program_directory=str(ROOT)))
        except grpc.RpcError as error:  # the Python analyzer does not implement Handshake; the engine accepts that
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
        self.configure_stack(stack, config, secret_keys, dry_run=dry_run)
        self.plugin_info = self.stub.GetPluginInfo(empty_pb2.Empty())
        self.info = self.stub.GetAnalyzerInfo(empty_pb2.Empty())

    def configure_stack(self, stack: str, config: Mapping[str, str], secret_keys: Iterable[str] = (), *,
                        dry_run: bool = True, project: str | None = None) -> None:
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack, project=project or self.project, organization=ORGANIZATION, dry_run=dry_run,
            config=dict(config), config_secret_keys=sorted(secret_keys))
        # As the engine sends it. pulumi-policy 1.21 keeps only the request's tags from it (the stack and its config
        # come from PULUMI_STACK / PULUMI_CONFIG, fixed when the process starts: a run of another stack whose rules
        # read its region or environment needs its own process, as tests/policies/test_stacks.py starts one for dr).
        # An identical resend changes nothing, so it is skipped.
        if request != self._stack_request:
            self.stub.ConfigureStack(request)
            self._stack_request = request

    @property
    def name(self) -> str:
        return str(self.info.name)

    def policy_names(self) -> list[str]:
        return [p.name for p in self.info.policies]

    def configure(self, pack_config: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Send Configure with every policy's merged (level, properties); returns what was sent."""
        key = json.dumps(pack_config, sort_keys=True, default=str)
        if key not in self._configs:  # the merge reads every policy's schema: once per pack config per process
            merged = merge_policy_config(self.info, pack_config)
            request = analyzer_pb2.ConfigureAnalyzerRequest()
            for name, (level, properties) in merged.items():
                entry = request.policyConfig[name]
                entry.enforcementLevel = LEVELS[level]
                entry.properties.update(properties)
            self._configs[key] = (merged, request)
        merged, request = self._configs[key]
        if key != self._configured:
            self.stub.Configure(request)
            self._configured = key
        return {name: (level, dict(properties)) for name, (level, properties) in merged.items()}

    def analyze(self, resource: Resource) -> list[Violation]:
        """Remediate then Analyze one resource with its inputs, as the engine does before each step."""
        request = analyzer_pb2.AnalyzeRequest(
            type=resource.type, properties=_struct(resource.inputs), urn=resource.urn, name=resource.name,
            options=_options(resource))
        self.stub.Remediate(request)
        response = self.stub.Analyze(request)
        return [_violation(d, resource.urn) for d in response.diagnostics]

    def analyze_stack(self, resources: Iterable[Resource],
                      encoded: dict[int, tuple[Resource, bytes]] | None = None) -> list[Violation]:
        """AnalyzeStack over every resource's final state (the engine sends outputs here, inputs in Analyze).

        The request goes out as its wire bytes, each resource's entry serialized on its own: a repeated field's
        encoding is its entries' encodings one after another, so the bytes are those of the whole request message
        serialized at once (tests/policies/test_pack.py checks it), without copying every resource into a request
        message first. encoded: a cache of each resource's entry (id -> (resource, bytes)) for a caller that analyzes
        one set of resources many times with a few replaced (the pack's control sweep); the caller guarantees it never
        changes a cached resource in place (a replaced resource is a new object, encoded afresh)."""
        parts = []
        for resource in resources:
            cached = encoded.get(id(resource)) if encoded is not None else None
            if cached is not None and cached[0] is resource:
                parts.append(cached[1])
                continue
            entry = analyze_stack_entry(resource)
            if encoded is not None:
                encoded[id(resource)] = (resource, entry)
            parts.append(entry)
        response = self._analyze_stack_bytes(b"".join(parts))
        return [_violation(d, "") for d in response.diagnostics]

    @functools.cached_property
    def _analyze_stack_bytes(self) -> Any:
        """The Analyzer's AnalyzeStack method (as the stub calls it) for a request already in wire form."""
        return self.channel.unary_unary(
            "/pulumirpc.Analyzer/AnalyzeStack", request_serializer=None,
            response_deserializer=analyzer_pb2.AnalyzeResponse.FromString)

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def close(self) -> None:
        if getattr(self, "channel", None) is not None:
            self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()

    def __enter__(self) -> PolicyPackProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def analyze_stack_message(resource: Resource) -> Any:
    """One resource of an AnalyzeStack request: its final state (outputs), options, parent and dependencies."""
    return analyzer_pb2.AnalyzerResource(
        type=resource.type, properties=_struct(resource.outputs or resource.inputs), urn=resource.urn,
        name=resource.name, options=_options(resource), parent=resource.parent, dependencies=resource.dependencies,
        propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                              for k, v in resource.property_dependencies.items()},
    )


def analyze_stack_entry(resource: Resource) -> bytes:
    """The resource's entry in an AnalyzeStack request's wire bytes (its `resources` field: tag, length, message)."""
    return bytes(analyzer_pb2.AnalyzeStackRequest(resources=[analyze_stack_message(resource)]).SerializeToString())


def _struct(data: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    json_format.ParseDict(dict(data), struct)
    return struct


def _options(resource: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
    options = analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect, ignoreChanges=resource.ignore_changes,
        deleteBeforeReplace=resource.delete_before_replace, deleteBeforeReplaceDefined=True,
        additionalSecretOutputs=resource.additional_secret_outputs, parent=resource.parent)
    for operation, duration in resource.custom_timeouts.items():
        # The engine hands analyzers custom timeouts in seconds (the program wrote Go durations such as "30m").
        setattr(options.customTimeouts, operation, go_duration_seconds(duration))
    return options


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")


def go_duration_seconds(duration: str) -> float:
    """Seconds of a Go duration string ("30m", "1h30m", "45s"); 0 for "" or an unreadable value."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = _DURATION_PART.findall(duration or "")
    if not parts or "".join(f"{n}{u}" for n, u in parts) != duration:
        return 0.0
    return sum(float(number) * units[unit] for number, unit in parts)


def _violation(diagnostic: Any, default_urn: str) -> Violation:
    return Violation(policy=diagnostic.policyName, level=LEVEL_NAMES.get(diagnostic.enforcementLevel, "advisory"),
                     urn=diagnostic.urn or default_urn, message=diagnostic.message)


# --- configuration ----------------------------------------------------------------------------------------------------

def load_pack_config(stack: str, config_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    """policies/config/<stack>.json (the `--policy-pack-config` file); empty when the stack has none."""
    path = config_dir / f"{stack}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def merge_policy_config(info: Any, pack_config: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """(level, properties) per policy, merged as the engine does.

    Start from each policy's own enforcement level and its config schema's defaults, then the pack's initialConfig,
    then the file's "all" level, then the file's entry for the policy (a level string, or an object with an optional
    enforcementLevel and properties). Unknown policies, properties or levels are errors, so a typo never silently
    leaves a rule at its default.
    """
    schemas, base = _pack_defaults(info)
    merged = {name: (level, dict(props)) for name, (level, props) in base.items()}
    _apply(merged, schemas, pack_config, "policy pack config")
    return merged


def _apply(merged: dict[str, tuple[str, dict[str, Any]]], schemas: Mapping[str, Mapping[str, Any]],
           source: Mapping[str, Any], origin: str) -> None:
    """Merge one config source (a pack config file's, or the pack's initialConfig) into `merged`, in place."""
    if "all" in source:
        level = _level(source["all"], f"{origin} 'all'")
        for name, (_old, props) in merged.items():
            merged[name] = (level, props)
    for name, value in source.items():
        if name == "all":
            continue
        if name not in merged:
            raise PolicyConfigError(f"{origin}: no policy named {name!r} in the pack")
        level, props = merged[name]
        if isinstance(value, str):
            merged[name] = (_level(value, f"{origin} {name!r}"), props)
            continue
        if not isinstance(value, Mapping):
            raise PolicyConfigError(f"{origin}: {name!r} must be a level or an object")
        allowed = schemas[name]
        props = dict(props)
        for key, item in value.items():
            if key == "enforcementLevel":
                level = _level(item, f"{origin} {name!r}")
            elif key not in allowed:
                raise PolicyConfigError(f"{origin}: policy {name!r} has no property {key!r} "
                                        f"(has: {sorted(allowed) or 'none'})")
            else:
                props[key] = item
        merged[name] = (level, props)


_defaults: dict[int, tuple[Any, dict[str, dict[str, Any]], dict[str, tuple[str, dict[str, Any]]]]] = {}


def _pack_defaults(info: Any) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, dict[str, Any]]]]:
    """Each policy's config schema properties as data, and its (level, properties) before any pack config file (its
    own level and its schema's defaults, then the pack's initialConfig): both read-only, worked out once per
    AnalyzerInfo message (decoding ~120 schemas is ~1.3 ms, and the control sweep merges once or twice per case).
    An initialConfig that does not merge raises on every call, as it did before anything was kept."""
    cached = _defaults.get(id(info))
    if cached is None or cached[0] is not info:  # the entry holds the message, so its id is not reused meanwhile
        schemas = {p.name: json_format.MessageToDict(p.configSchema.properties) for p in info.policies}
        base: dict[str, tuple[str, dict[str, Any]]] = {}
        for policy in info.policies:
            defaults = {key: spec["default"] for key, spec in schemas[policy.name].items() if "default" in spec}
            base[policy.name] = (LEVEL_NAMES[policy.enforcementLevel], defaults)
        initial = {k: ({"enforcementLevel": LEVEL_NAMES[v.enforcementLevel],
                        **json_format.MessageToDict(v.properties)}) for k, v in info.initialConfig.items()}
        _apply(base, schemas, initial, "pack initialConfig")
        if len(_defaults) > 32:
            _defaults.clear()
        cached = (info, schemas, base)
        _defaults[id(info)] = cached
    return cached[1], cached[2]


def _level(value: Any, where: str) -> str:
    if value not in LEVELS:
        raise PolicyConfigError(f"{where}: enforcement level {value!r} is not one of {sorted(LEVELS)}")
    return str(value)


# --- running a stack --------------------------------------------------------------------------------------------------

def check_resources(pack: PolicyPackProcess, stack: str, resources: list[Resource],
                    pack_config: Mapping[str, Any], *, analyze_only: Iterable[str] | None = None,
                    analyze_stack: bool = True) -> PolicyVerdict:
    """Configure the pack for the stack, Analyze each resource, AnalyzeStack over all of them.

    analyze_only (URNs) limits the per-resource calls to those resources — for tests that changed one resource
    and need its verdict quickly; AnalyzeStack, when it runs, always sees every resource. analyze_stack=False leaves
    AnalyzeStack out, for a test whose verdict comes from a resource policy alone: AnalyzeStack decodes every
    resource of the stack and builds its object graph once per stack policy, the bulk of such a test.
    """
    merged = pack.configure(pack_config)
    verdict = PolicyVerdict(stack=stack, pack=pack.name, resources=len(resources),
                            policies=sum(1 for level, _ in merged.values() if level != "disabled"))
    wanted = None if analyze_only is None else set(analyze_only)
    for resource in resources:
        if wanted is None or resource.urn in wanted:
            verdict.violations += pack.analyze(resource)
    if analyze_stack:
        verdict.violations += pack.analyze_stack(resources)
    return verdict


def check_run(run: StackRun, *, pack: PolicyPackProcess | None = None,
              pack_config: Mapping[str, Any] | None = None) -> PolicyVerdict:
    """The verdicts for one offline run; starts (and stops) a pack for the stack unless one is given."""
    config = load_pack_config(pack_config_name(run)) if pack_config is None else pack_config
    if pack is not None:
        pack.configure_stack(run.stack, run.config, run.secret_keys, project=run.project)
        return check_resources(pack, run.stack, run.resources, config)
    with PolicyPackProcess(run.stack, run.config, run.secret_keys, project=run.project) as own:
        return check_resources(own, run.stack, run.resources, config)


def pack_config_name(run: StackRun) -> str:
    """policies/config/<name>.json for a run: the stack's own, or `bootstrap` for every foundation stack (always
    prod-grade, every rule mandatory)."""
    return run.stack if run.project == PROJECT else "bootstrap"


def render_verdict(verdict: PolicyVerdict) -> list[str]:
    lines = [f"{verdict.pack}: {verdict.policies} policies over {verdict.resources} resources; "
             f"{len(verdict.mandatory)} mandatory, {len(verdict.advisory)} advisory violation(s)"]
    for level in ("mandatory", "advisory"):
        found = [v for v in verdict.violations if v.level == level]
        if not found:
            continue
        lines.append(f"{level.upper()}:")
        for violation in sorted(found, key=lambda v: (v.policy, v.urn)):
            detail = violation.message.splitlines()[1:] or violation.message.splitlines()[:1]
            lines.append(f"  [{violation.policy}] {violation.urn or '(stack)'}")
            lines += [f"      {line}" for line in detail]
    return lines


# --- pulumi stack export ----------------------------------------------------------------------------------------------

EXPORT_TIME = "0001-01-01T00:00:00Z"
"""The manifest time of every export: a fixed value, so that two previews of one commit write identical files."""


def _export_secrets(value: Any) -> Any:
    """Wire secrets ({sig, value}) as an import file may hold them ({sig, plaintext}); the run has redacted every
    value first, so the file keeps which values are secret but never what they are."""
    if is_secret(value):
        return {SECRET_SIG: value[SECRET_SIG], "plaintext": json.dumps(value.get("value"))}
    if isinstance(value, dict):
        return {k: _export_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_export_secrets(v) for v in value]
    return value


def stack_export(run: StackRun) -> dict[str, Any]:
    """The run as a `pulumi stack export` (deployment version 3) document, secrets redacted, asset paths relative to
    the project (engine.portable_path: the same file from every checkout).

    Resources come in the run's canonical order (parents and dependencies first, as `pulumi stack import` needs).
    To re-check it with the CLI: `pulumi login file://DIR`, `pulumi stack init <the run's stack>` (the URNs name
    it; an import into another stack is refused), `pulumi stack import --file stack-export.json`, then `pulumi
    policy analyze --policy-pack policies` (it has no `--file` flag).
    """
    resources = []
    for r in run.resources:
        entry: dict[str, Any] = {"urn": r.urn, "custom": r.custom, "type": r.type,
                                 "inputs": _export_secrets(run.redacted(portable_paths(r.inputs))),
                                 "outputs": _export_secrets(run.redacted(portable_paths(
                                     r.state_outputs() if r.custom else r.inputs)))}
        if r.type == "pulumi:pulumi:Stack":
            entry["outputs"] = _export_secrets(run.redacted(portable_paths(run.outputs)))
        if r.id:
            entry["id"] = r.id
        if r.type == "pulumi:pulumi:StackReference":
            entry["external"] = True  # read, not managed: an import must never delete the other stack
        if r.parent:
            entry["parent"] = r.parent
        if r.protect:
            entry["protect"] = True
        if r.retain_on_delete:
            entry["retainOnDelete"] = True
        if r.dependencies:
            entry["dependencies"] = r.dependencies
        if r.property_dependencies:
            entry["propertyDependencies"] = r.property_dependencies
        if r.additional_secret_outputs:
            entry["additionalSecretOutputs"] = r.additional_secret_outputs
        resources.append(entry)
    return {"version": 3, "deployment": {
        "manifest": {"time": EXPORT_TIME, "magic": "", "version": ""},
        "resources": resources,
    }}


def write_stack_export(run: StackRun, path: Path | None = None) -> Path:
    path = path or BUILD_DIR / run.stack / "stack-export.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stack_export(run), indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help=f"stack name ({', '.join(available_stacks())})")
    parser.add_argument("--policy-pack-config", type=Path,
                        help="pack config JSON (default: policies/config/<stack>.json)")
    args = parser.parse_args(argv)
    refuse_unknown_stacks(parser, [args.stack])
    pack_config = None
    if args.policy_pack_config:
        try:
            pack_config = json.loads(args.policy_pack_config.read_text())
        except (OSError, ValueError) as error:
            parser.error(f"--policy-pack-config {args.policy_pack_config}: {error}")
    run = run_stack(args.stack)
    if not run.ok:
        print(f"the program failed; nothing to analyze:\n{run.redacted(run.error_details or str(run.error))}",
              file=sys.stderr)
        return 2
    verdict = check_run(run, pack_config=pack_config)
    export = write_stack_export(run)
    print(f"Policy verdicts for maratron/{args.stack}")
    print("\n".join(render_verdict(verdict)))
    print(f"\nStack export: {export.relative_to(ROOT)} (to re-check with the CLI: `pulumi stack import --file "
          f"{export.relative_to(ROOT)}` into a stack, then `pulumi policy analyze --policy-pack policies "
          f"--policy-pack-config policies/config/{args.stack}.json`)")
    return 1 if verdict.mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
