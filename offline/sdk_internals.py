"""Every private or undocumented piece of the Pulumi Python SDK that the offline engine relies on, in one place.

The offline engine (offline/engine.py) plays the Pulumi engine's part: it runs the real program under the SDK's
mock monitor, records what the program registers, and hands the policy pack the Analyzer protobufs. Doing so leans
on SDK details that are not a public, versioned API. Each is wrapped here, named for what the engine needs, and
has a test in tests/test_sdk_internals.py that fails when a new SDK version changes it, so an SDK upgrade breaks
one test with a precise message instead of the whole suite with a puzzling one.

What we rely on, and why:
- `pulumi.runtime.mocks.MockMonitor`: subclassed to record every RegisterResource request; we read its
  `resources[urn].state` (what the mocks answered) and its `mocks` attribute.
- `pulumi.runtime.mocks.set_mocks(..., monitor=...)`: the `monitor` argument lets our subclass replace the default.
- `pulumi.runtime.settings.set_root_resource(None)` and `SETTINGS.outputs`: one process runs many programs (tests,
  benches); the root stack resource and the set of pending outputs must be reset between runs (MockSettings does
  not reset the pending outputs, so a run that failed half-way would leave tasks of its closed event loop behind).
- `pulumi.runtime.stack.run_in_stack`: runs a program function inside a Stack resource and waits for every
  outstanding RPC, as the language host does.
- `pulumi.runtime.set_all_config(config, secret_keys)`: config as the CLI would pass it.
- The wire signatures of secrets and unknowns (`pulumi.runtime.rpc`), which the recorder and the analyzer protocol
  carry verbatim.
- The Analyzer protocol stubs generated into `pulumi.runtime.proto` (analyzer_pb2, analyzer_pb2_grpc), which the
  policy runner uses to drive the pack as the engine does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import rpc as _rpc
from pulumi.runtime import settings as _settings
from pulumi.runtime import stack as _stack
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

__all__ = [
    "SECRET_SIG",
    "SECRET_VALUE_SIG",
    "UNKNOWN",
    "MockMonitor",
    "Mocks",
    "analyzer_pb2",
    "analyzer_pb2_grpc",
    "install_mocks",
    "registered_state",
    "reset_runtime",
    "run_program_function",
    "sdk_wire_constants",
    "set_config",
]

MockMonitor = _mocks.MockMonitor
Mocks = _mocks.Mocks

# Wire-protocol constants (pulumi/sdk/proto): literal here so that an SDK rename cannot break the import; the test
# checks that the SDK still uses the same ones.
SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key that marks a special value on the wire."""
SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270"
"""Its value for a secret: {SECRET_SIG: SECRET_VALUE_SIG, "value": ...}."""
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How an unknown (computed during preview) value travels."""


def sdk_wire_constants() -> tuple[str, str, str]:
    """The SDK's own (private) spelling of the constants above, for the test that they agree."""
    return _rpc._special_sig_key, _rpc._special_secret_sig, _rpc.UNKNOWN


def reset_runtime() -> None:
    """Forget the previous program's root stack resource and pending outputs (one process runs many programs)."""
    _settings.set_root_resource(None)  # type: ignore[arg-type]
    _settings.SETTINGS.outputs = set()


def install_mocks(monitor: MockMonitor, *, project: str, stack: str) -> None:
    """Point the runtime at `monitor` (a MockMonitor subclass) for a non-preview run of project/stack."""
    reset_runtime()
    _mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
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
