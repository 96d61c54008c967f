"""Every private or undocumented piece of the Pulumi Python SDK that the offline engine relies on, in one place.

The offline engine (offline/engine.py) plays the Pulumi engine's part: it runs the real program under the SDK's
mock monitor, records what the program registers, and hands the policy pack the Analyzer protobufs. Doing so leans
on SDK details that are not a public, versioned API. Each is wrapped here, named for what the engine needs, and
has a test in tests/test_sdk_internals.py that fails when a new SDK version changes it, so an SDK upgrade breaks
one test with a precise message instead of the whole suite with a puzzling one.

What we rely on, and why:
- `pulumi.runtime.mocks.MockMonitor`: subclassed to record every RegisterResource request; we read its
  `resources[urn].state` (what the mocks answered) and its `mocks` attribute, and replace its `make_urn`: the mock
  names a resource after its parent's last type only and keeps the root stack's type, while the engine uses the
  parent's whole qualified type and skips the root stack's (`engine_urn`), so the preview's URNs are the ones a real
  `pulumi up` records (what `--target` and `pulumi state` take).
- `pulumi.runtime.mocks.set_mocks(..., monitor=...)`: the `monitor` argument lets our subclass replace the default.
- `pulumi.runtime.settings.set_root_resource(None)` and `SETTINGS.outputs`: one process runs many programs (tests,
  benches); the root stack resource and the set of pending outputs must be reset between runs (MockSettings does
  not reset the pending outputs, so a run that failed half-way would leave tasks of its closed event loop behind).
- `pulumi.runtime.stack.run_in_stack`: runs a program function inside a Stack resource and waits for every
  outstanding RPC, as the language host does.
- `pulumi.runtime.set_all_config(config, secret_keys)`: config as the CLI would pass it.
- The wire signatures of secrets and unknowns (`pulumi.runtime.rpc`), which the recorder and the analyzer protocol
  carry verbatim.
- `pulumi.runtime.resource._get_stack_trace`: the SDK sends every registration's call stack to the engine (for
  source positions in diagnostics), walking the stack through `traceback.extract_stack` (which stats every source
  file and reads its lines) and converting each file name to a URI with pathlib, per frame, per resource. Our
  components build resources a few calls deep, so this costs the program more than a flat one. `stack_trace`
  computes the identical StackTrace message without the line lookups and with each file's URI computed once; the
  offline engine installs it in place of the SDK's (a test checks both give the same message).
- `pulumi.runtime.resource.create_urn`: under mocks the SDK computes every registration's URN through it (an Output
  chain: the parent's URN, an apply, an Output.all, another apply), although it sends the request to the mock
  monitor, which names the resource itself (the value is used only without a monitor). `create_urn` gives the same
  URN, as a known Output without dependencies, straight from plain strings (and with one apply on a parent
  Resource's URN, for aliases under a component), and defers to the SDK's for any Output argument: ~6% of a prod
  run. A test compares both.
- `pulumi.runtime.rpc.declare_dependency` (from `resource_cycle_breaker`): for every dependency edge a registration
  adds (each property's resources, components expanded to their children, `depends_on`), the SDK walks everything
  the new dependency reaches, through recursive generators, to refuse a cycle: ~3% of a prod run, the biggest part
  of what dependencies cost it. `declare_dependency` gives the same answers and records the same graph: a resource
  nothing depends on yet cannot close a cycle, so the walk runs only for one that something does depend on, and
  then without generators. A test compares both on random graphs with cycles.
- `pulumi.runtime.rpc._add_dependency`: expands each dependency of a registration (a local component into its
  descendants) and declares every edge; the SDK's runs two relative `from .. import` statements per resource it
  visits, and a relative import resolves its package through importlib's Python code each time. `add_dependency`
  is the same traversal without them, and hands anything unusual (a refused edge, a value that is not a Resource)
  to the SDK's own. A test compares both on random component trees, cycles included.
- `pulumi.Output.from_input` on an Output: the SDK applies `from_input` to its value (an apply: a second Output and
  a task), for every Output that `Output.all`, `json_output` and the resource constructors take (~400 per prod run,
  nearly all ARNs, ids and names). `from_input` computes the same data as that apply directly when the value is a
  plain scalar, and is the SDK's for anything else. It uses `Output._from_data`, `Output._untrack` and
  `_OutputData`, private; a test compares both on every kind of value, known or not, secret or not.
- `pulumi._types.unwrap_type`: the SDK strips Output/Input/Optional from every annotation of every resource's
  output types when it translates the outputs it receives, ~10,000 calls a prod run over a few hundred distinct
  annotations (~5 % of a run: a relative import and typing introspection each time). `unwrap_type` remembers the
  answer per annotation; a test compares it with the SDK's on every annotation a run of pulumi_aws resources
  unwraps.
- `pulumi.runtime.rpc.contains_unknowns`: called for every Output's data (~14,000 times a prod run), it defines a
  recursive closure on each call (a function, its cell, a tuple and a `set[int]` annotation object: a reference
  cycle, so four objects of cyclic garbage per call that only the collector frees, ~a third of what the collection
  after a run traverses). `contains_unknowns` gives the same answers with a module-level recursion, and returns at
  once for a scalar; a test compares both on nested, shared and cyclic values.
- `pulumi._types.resource_types`: for every registration's outputs the SDK recomputes a resource class's property
  types from its annotations and properties; a class with annotations of its own (our components: `vpc: Vpc`, ...)
  costs a `typing.get_type_hints` that compiles and evaluates each annotation again, every time. `resource_types`
  remembers the answer per class (a function of the class alone; the SDK only reads the dict); a test compares
  both on every class a prod run registers.
- A generated resource class's `_internal_init`: its parameters are the Python names of the class's inputs
  (`constructor_parameters`), what bench/preview.py's flat floor passes to register ours' recorded inputs through
  the same classes; a test checks them against the inputs of the class's public `<Name>Args`.
- The Analyzer protocol stubs generated into `pulumi.runtime.proto` (analyzer_pb2, analyzer_pb2_grpc), which the
  policy runner uses to drive the pack as the engine does.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import inspect
import logging
import pathlib
import sys
import weakref
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi import _types
from pulumi import output as _output
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import resource as _resource
from pulumi.runtime import resource_cycle_breaker as _cycle_breaker
from pulumi.runtime import rpc as _rpc
from pulumi.runtime import settings as _settings
from pulumi.runtime import stack as _stack
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, source_pb2

__all__ = [
    "ARCHIVE_SIG",
    "ASSET_SIG",
    "ROOT_STACK_TYPE",
    "SECRET_SIG",
    "SECRET_VALUE_SIG",
    "UNKNOWN",
    "MockMonitor",
    "Mocks",
    "analyzer_pb2",
    "analyzer_pb2_grpc",
    "engine_urn",
    "install_mocks",
    "registered_state",
    "reset_runtime",
    "run_program_function",
    "sdk_wire_constants",
    "set_config",
]

MockMonitor = _mocks.MockMonitor
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def engine_urn(parent: str, type_: str, name: str, *, stack: str | None = None, project: str | None = None) -> str:
    """The URN the Pulumi engine gives a registration (default: in the current stack and project): "Skip empty
    parents and don't use the root stack type; otherwise, use the full qualified type" (pulumi/pulumi,
    pkg/resource/deploy/deployment.go, generateURN)."""
    qualified = type_
    if parent:
        parent_type = parent.split("::")[2]
        if parent_type != ROOT_STACK_TYPE:
            qualified = f"{parent_type}${type_}"
    return (f"urn:pulumi:{_settings.get_stack() if stack is None else stack}::"
            f"{_settings.get_project() if project is None else project}::{qualified}::{name}")
Mocks = _mocks.Mocks

# Wire-protocol constants (pulumi/sdk/proto): literal here so that an SDK rename cannot break the import; the test
# checks that the SDK still uses the same ones.
SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key that marks a special value on the wire."""
SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270"
"""Its value for a secret: {SECRET_SIG: SECRET_VALUE_SIG, "value": ...}."""
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How an unknown (computed during preview) value travels."""
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
"""Its value for an asset: {SECRET_SIG: ASSET_SIG, "path" | "text" | "uri": ...}."""
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
"""Its value for an archive: {SECRET_SIG: ARCHIVE_SIG, "assets": {name: asset or archive}} or "path" | "uri"."""


def constructor_parameters(cls: type) -> list[str]:
    """The keyword arguments a generated provider resource class takes for its inputs, in the SDK's Python names
    (`_internal_init`'s parameters, less the name, options and the SDK's own): what bench/preview.py's floor program
    passes when it registers the same inputs without our components."""
    internal = cls._internal_init  # type: ignore[attr-defined]
    return [p for p in inspect.signature(internal).parameters
            if p not in ("__self__", "resource_name", "opts", "__props__")]


def sdk_wire_constants() -> tuple[str, str, str, str, str]:
    """The SDK's own (private) spelling of the constants above, for the test that they agree."""
    return (_rpc._special_sig_key, _rpc._special_secret_sig, _rpc.UNKNOWN, _rpc._special_asset_sig,
            _rpc._special_archive_sig)


def reset_runtime() -> None:
    """Forget the previous program's root stack resource and pending outputs (one process runs many programs)."""
    _settings.set_root_resource(None)  # type: ignore[arg-type]
    _settings.SETTINGS.outputs = set()


_SDK_GET_STACK_TRACE: Callable[[], Any] = _resource._get_stack_trace


@functools.cache
def _uri(filename: str) -> str | None:
    try:
        return pathlib.Path(filename).as_uri()
    except BaseException:  # the SDK leaves such frames without a position, so do we
        return None


def stack_trace() -> Any:
    """The SDK's `_get_stack_trace()` message, computed without line lookups and with cached file URIs.

    Same rule as the SDK: the frames above the third `__init__` from the top of the stack (Resource, then
    CustomResource/ComponentResource, then the concrete class), outermost last; each frame's position is the
    file's URI and the line, or empty when the file name is not a path.
    """
    frames: list[tuple[str, int | None, str]] = []
    frame = sys._getframe(1)
    while frame is not None:
        frames.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back  # type: ignore[assignment]
    inits = [index for index, (_, _, name) in enumerate(frames) if name == "__init__"]
    if len(inits) < 3 or inits[2] >= len(frames) - 1:
        return source_pb2.StackTrace()
    index = inits[2]
    result = []
    for filename, line, _ in frames[index + 1:]:
        uri = _uri(filename) if filename and line is not None else None
        result.append(source_pb2.StackFrame(pc=source_pb2.SourcePosition(uri=uri, line=line) if uri else None))
    return source_pb2.StackTrace(frames=result)


_SDK_CREATE_URN: Callable[..., Any] = _resource.create_urn


def create_urn(name: Any, type_: Any, parent: Any = None, project: str | None = None,
               stack: str | None = None) -> Any:
    """The SDK's `create_urn` (same value, known-ness, secretness and dependencies), computed directly when the
    name and the type are plain strings and the parent is a URN string, a Resource (an alias under a component:
    one apply on its URN instead of two applies and an Output.all) or none; otherwise the SDK's own."""
    if not (isinstance(name, str) and isinstance(type_, str)):
        return _SDK_CREATE_URN(name, type_, parent, project, stack)
    if isinstance(parent, pulumi.Resource):
        return parent.urn.apply(lambda urn: urn[0:urn.rfind("::")] + "$" + type_ + "::" + name)
    if not (parent is None or isinstance(parent, str)):
        return _SDK_CREATE_URN(name, type_, parent, project, stack)
    if parent is not None:
        prefix = parent[0:parent.rfind("::")] + "$"
    else:
        prefix = (f"urn:pulumi:{_settings.get_stack() if stack is None else stack}::"
                  f"{_settings.get_project() if project is None else project}::")
    return pulumi.Output.from_input(prefix + type_ + "::" + name)


_SDK_DECLARE_DEPENDENCY: Callable[[Any, Any], bool] = _rpc.declare_dependency
_DEPENDENCIES = _cycle_breaker._DEPENDENCIES_PROPERTY  # the SDK's edge set on each resource: from -> {to, ...}
_DEPENDED_ON = "_offline_depended_on"  # set on a resource once some edge points to it


def declare_dependency(from_resource: Any, to_resource: Any) -> bool:
    """The SDK's `declare_dependency`: record the edge from_resource -> to_resource and return True, unless
    from_resource is reachable from to_resource (the edge would close a cycle): then False, and nothing recorded.

    Same answers and the same edge sets as the SDK's, cheaper: no edge points to a resource nothing depends on yet,
    so from there nothing reaches it and there is nothing to walk (most registrations: a resource's dependencies
    are declared while it registers, before anything can depend on it)."""
    if from_resource is to_resource:
        return False
    if getattr(from_resource, _DEPENDED_ON, False):
        pending, seen = [to_resource], {id(to_resource)}
        while pending:
            for reached in getattr(pending.pop(), _DEPENDENCIES, ()):
                if reached is from_resource:
                    return False
                if id(reached) not in seen:
                    seen.add(id(reached))
                    pending.append(reached)
    edges = getattr(from_resource, _DEPENDENCIES, None)
    if edges is None:
        setattr(from_resource, _DEPENDENCIES, {to_resource})
    else:
        edges.add(to_resource)
    setattr(to_resource, _DEPENDED_ON, True)
    return True


_SDK_ADD_DEPENDENCY: Callable[..., Any] = _rpc._add_dependency


async def add_dependency(deps: dict[str, Any], res: Any, from_resource: Any) -> None:
    """The SDK's `_add_dependency`: add `res` to `deps` (URN -> resource), a local component as its descendants,
    declaring each edge from `from_resource`. Same traversal, edges and result; without the SDK's two `from ..
    import` statements per resource visited (a relative import resolves its package through importlib's Python
    code each time). Anything unusual (a refused edge, a value that is not a Resource) is handed to the SDK's own,
    from the start: the edges declared so far are declared again (a set), nothing was added to `deps` yet, and the
    error, or the skip that PULUMI_ERROR_ON_DEPENDENCY_CYCLES=false asks for, is the SDK's."""
    pending = collections.deque([(res, from_resource)])
    awaitable = []
    while pending:
        node, source = pending.popleft()
        if not isinstance(node, pulumi.Resource) or (source and not _rpc.declare_dependency(source, node)):
            await _SDK_ADD_DEPENDENCY(deps, res, from_resource)
            return
        if isinstance(node, pulumi.ComponentResource) and not node._remote:
            pending.extend((child, source) for child in node._childResources.copy())
        else:
            awaitable.append(node)
    for node in awaitable:
        urn = await node.urn.future()
        if urn:
            deps[urn] = node


_SDK_UNWRAP_TYPE: Callable[[Any], Any] = _types.unwrap_type
_UNWRAPPED: dict[Any, Any] = {}


def unwrap_type(annotation: Any) -> Any:
    """The SDK's `_types.unwrap_type` (Output[T], Input[T], InputType[T], Optional[T] -> T), remembered per type: it
    is a function of its argument alone (typing introspection of a class's annotations), called ~10,000 times a prod
    run for the same few hundred annotations, each time through a relative import and typing's get_origin/get_args.
    An unhashable annotation is computed every time, as the SDK does."""
    try:
        return _UNWRAPPED[annotation]
    except KeyError:
        result = _UNWRAPPED[annotation] = _SDK_UNWRAP_TYPE(annotation)
        return result
    except TypeError:
        return _SDK_UNWRAP_TYPE(annotation)


def sdk_unwrap_type(annotation: Any) -> Any:
    """The SDK's own (for the test that `unwrap_type` matches it)."""
    return _SDK_UNWRAP_TYPE(annotation)


_SDK_CONTAINS_UNKNOWNS: Callable[[Any], bool] = _rpc.contains_unknowns
_is_unknown = _rpc.known_types.is_unknown


def contains_unknowns(val: Any) -> bool:
    """The SDK's `rpc.contains_unknowns` (is there an unknown anywhere in this value's dicts and lists?), with the
    same walk (each dict or list visited once, by identity) but no closure defined per call."""
    # A scalar (most calls) is answered without allocating the walk's set.
    return _walk_for_unknowns(val, set()) if isinstance(val, (dict, list)) else _is_unknown(val)


def _walk_for_unknowns(value: Any, seen: set[int]) -> bool:
    if _is_unknown(value):
        return True
    if not isinstance(value, (dict, list)) or id(value) in seen:
        return False
    seen.add(id(value))
    if isinstance(value, dict):  # by key, as the SDK: an output type is a dict whose `values` may be a property
        return any(_walk_for_unknowns(value[key], seen) for key in value)
    return any(_walk_for_unknowns(item, seen) for item in value)


def sdk_contains_unknowns(value: Any) -> bool:
    """The SDK's own (for the test that `contains_unknowns` matches it)."""
    return _SDK_CONTAINS_UNKNOWNS(value)


_SDK_RESOURCE_TYPES: Callable[[type], dict[str, type]] = _types.resource_types
_RESOURCE_TYPES: weakref.WeakKeyDictionary[type, dict[str, type]] = weakref.WeakKeyDictionary()


def resource_types(resource_cls: type) -> dict[str, type]:
    """The SDK's `_types.resource_types` (a resource class's output property types), remembered per class (weakly:
    a class defined by a program run, such as a test's, goes with it)."""
    try:
        return _RESOURCE_TYPES[resource_cls]
    except KeyError:
        result = _RESOURCE_TYPES[resource_cls] = _SDK_RESOURCE_TYPES(resource_cls)
        return result


def sdk_resource_types(resource_cls: type) -> dict[str, type]:
    """The SDK's own (for the test that `resource_types` matches it)."""
    return _SDK_RESOURCE_TYPES(resource_cls)


_SDK_FROM_INPUT: Callable[[Any], Any] = pulumi.Output.from_input
_SCALARS = (str, int, float, bool, type(None))  # what `Output.from_input` passes through as a known plain value


def from_input(value: Any) -> Any:
    """The SDK's `Output.from_input`: for an Output, the same result as its `value.apply(Output.from_input, True)`
    without the apply's second Output when the value is a plain scalar (the ARNs, ids and names that documents and
    `Output.all` take: one Output and task fewer each); anything else is the SDK's own."""
    if not isinstance(value, pulumi.Output):
        return _SDK_FROM_INPUT(value)
    value._untrack()  # as `apply` does: the derived Output takes over the tracking (and reports a failure)
    return pulumi.Output._from_data(_deeply_unwrapped(value))


async def _deeply_unwrapped(source: Any) -> Any:
    """`source.apply(Output.from_input, True)`'s data, step by step as `Output.apply` computes it."""
    data = await source._data
    value = data.value
    if not data.is_known and not _output.contains_unknowns(value):
        value = _output.UNKNOWN  # apply with run_with_unknowns: the function sees UNKNOWN
    if isinstance(value, _SCALARS):  # from_input(value): known, not secret, no resources (unknowns: normalized)
        return _output._OutputData(resources=data.resources | set(), value=value, is_known=True,
                                   is_secret=data.is_secret)
    inner = await _SDK_FROM_INPUT(value)._data
    return _output._OutputData(resources=data.resources | inner.resources, value=inner.value,
                               is_known=inner.is_known, is_secret=inner.is_secret or data.is_secret)


def sdk_from_input(value: Any) -> Any:
    """The SDK's own (for the test that `from_input` matches it)."""
    return _SDK_FROM_INPUT(value)


def sdk_add_dependency(*args: Any) -> Any:
    """The SDK's own (for the test that `add_dependency` matches it)."""
    return _SDK_ADD_DEPENDENCY(*args)


def sdk_declare_dependency(from_resource: Any, to_resource: Any) -> bool:
    """The SDK's own (for the test that `declare_dependency` matches it)."""
    return _SDK_DECLARE_DEPENDENCY(from_resource, to_resource)


def sdk_create_urn(*args: Any) -> Any:
    """The SDK's own (for the test that `create_urn` matches it)."""
    return _SDK_CREATE_URN(*args)


def sdk_stack_trace() -> Any:
    """The SDK's own (for the test that `stack_trace` matches it)."""
    return _SDK_GET_STACK_TRACE()


def install_mocks(monitor: MockMonitor, *, project: str, stack: str, preview: bool = False,
                  logger: logging.Logger | None = None) -> None:
    """Point the runtime at `monitor` (a MockMonitor subclass) for a run of project/stack (an update unless
    `preview`: then computed values are unknown, as in `pulumi preview`). `logger` receives what the program logs
    through `pulumi.log` (the mock engine's Log: debug, info, warning, error); default the root logger."""
    _resource._get_stack_trace = stack_trace
    _resource.create_urn = create_urn
    _rpc.declare_dependency = declare_dependency
    _rpc._add_dependency = add_dependency
    _types.unwrap_type = unwrap_type  # type: ignore[assignment]
    _rpc.contains_unknowns = contains_unknowns
    _types.resource_types = resource_types
    pulumi.Output.from_input = staticmethod(from_input)  # type: ignore[method-assign,assignment]
    reset_runtime()
    _mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor, logger=logger)
    # set_mocks registers a fresh Stack resource only when there is no root resource; the program run by
    # run_program_function registers its own, so drop the one set_mocks made (as pulumi's test helpers do).
    reset_runtime()


def set_config(config: dict[str, str], secret_keys: list[str]) -> None:
    """The stack's config as the CLI hands it to the language host."""
    pulumi.runtime.set_all_config(config, secret_keys)


def run_program_function(loop: asyncio.AbstractEventLoop, program: Callable[[], Any]) -> None:
    """Run `program` inside the stack resource and wait for all its RPCs (the language host's main loop)."""
    loop.run_until_complete(_stack.run_in_stack(program))


def registered_state(monitor: MockMonitor, urn: str) -> dict[str, Any]:
    """What the mocks answered for a registered resource (its outputs)."""
    return dict(monitor.resources[urn].state)
