"""The private SDK details the offline engine relies on (offline/sdk_internals.py): each fails here first on an SDK
upgrade that changes it, with a message naming the detail."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pulumi
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import mocks, settings

from offline import sdk_internals
from offline.engine import RecordingMonitor, run_program
from offline.mocks import OfflineMocks

PROGRAM = '''
import pulumi

class Thing(pulumi.CustomResource):
    def __init__(self, name, props, opts=None):
        super().__init__("test:index:Thing", name, props, opts)

class Group(pulumi.ComponentResource):
    def __init__(self, name):
        super().__init__("test:index:Group", name)
        self.first = Thing(f"{name}-first", {"size": 3, "token": pulumi.Output.secret("s3cr3t-value")},
                           pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True,
                                                  ignore_changes=["size"],
                                                  custom_timeouts=pulumi.CustomTimeouts(create="40m")))
        self.second = Thing(f"{name}-second", {"peer": self.first.id},
                            pulumi.ResourceOptions(parent=self, depends_on=[self.first],
                                                   deleted_with=self.first))
        self.register_outputs({"peer": self.second.id})

group = Group("g")
pulumi.export("peer", group.second.id)
pulumi.export("config", pulumi.Config("t").require("key"))
'''


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sdk") / "program.py"
    path.write_text(PROGRAM)
    return path


def test_wire_constants_are_the_sdks() -> None:
    assert sdk_internals.sdk_wire_constants() == (
        sdk_internals.SECRET_SIG, sdk_internals.SECRET_VALUE_SIG, sdk_internals.UNKNOWN, sdk_internals.ASSET_SIG,
        sdk_internals.ARCHIVE_SIG)


def test_mock_monitor_shape_we_subclass() -> None:
    monitor = mocks.MockMonitor(OfflineMocks())
    assert monitor.mocks is not None and monitor.resources == {}, "MockMonitor keeps `mocks` and `resources`"
    for method in ("RegisterResource", "RegisterResourceOutputs", "Invoke", "SupportsFeature"):
        assert callable(getattr(monitor, method, None)), f"MockMonitor.{method} is gone"
    assert set(mocks.MockMonitor.ResourceRegistration._fields) >= {"urn", "id", "state"}


def test_set_mocks_takes_a_monitor_and_settings_can_be_reset() -> None:
    assert "monitor" in inspect.signature(mocks.set_mocks).parameters, "set_mocks lost its `monitor` argument"
    assert callable(settings.set_root_resource)
    assert isinstance(settings.SETTINGS.outputs, set), "SETTINGS.outputs (pending outputs) is no longer a set"
    sdk_internals.reset_runtime()
    assert settings.get_root_resource() is None and settings.SETTINGS.outputs == set()


def test_a_program_runs_and_every_request_field_we_record_arrives(program: Path) -> None:
    run = run_program("t", {"t:key": "v"}, [], program=program, project="t")
    assert run.ok, run.error_details
    first = run.one("test:index:Thing", "g-first")
    second = run.one("test:index:Thing", "g-second")
    group = run.one("test:index:Group", "g")
    assert first.parent == group.urn and not group.custom and first.custom
    assert first.protect and first.retain_on_delete and first.ignore_changes == ["size"]
    assert first.custom_timeouts == {"create": "40m"}
    assert first.inputs["size"] == 3  # integral floats come back as ints
    assert sdk_internals.SECRET_SIG in first.inputs["token"], "secrets no longer travel wrapped"
    assert first.urn in second.dependencies and second.property_dependencies["peer"] == [first.urn]
    assert second.deleted_with == first.urn
    assert first.outputs["size"] == 3 and first.id  # the mocks' answer, through registered_state
    assert run.plain_outputs() == {"peer": second.id, "config": "v"}


def test_runs_are_independent_even_after_a_failed_one(program: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import pulumi\npulumi.Output.from_input(1).apply(lambda _: 1 / 0)\nraise SystemError('x')\n")
    assert not run_program("t", {}, [], program=broken, project="t").ok
    again = run_program("t", {"t:key": "v"}, [], program=program, project="t")
    assert again.ok, again.error_details
    assert len(again.resources) == 4  # the stack, the group, two things: nothing left over from the failed run


def test_analyzer_protocol_stubs_we_drive() -> None:
    pb = sdk_internals.analyzer_pb2
    for message in ("AnalyzeRequest", "AnalyzeStackRequest", "AnalyzerResource", "AnalyzerResourceOptions",
                    "ConfigureAnalyzerRequest", "AnalyzerStackConfigureRequest", "AnalyzerHandshakeRequest",
                    "AnalyzerPropertyDependencies"):
        assert hasattr(pb, message), f"analyzer_pb2.{message} is gone"
    for level in ("ADVISORY", "MANDATORY", "REMEDIATE", "DISABLED"):
        assert hasattr(pb, level)
    stub = sdk_internals.analyzer_pb2_grpc.AnalyzerStub
    for rpc in ("Handshake", "ConfigureStack", "GetPluginInfo", "GetAnalyzerInfo", "Configure", "Remediate",
                "Analyze", "AnalyzeStack"):
        assert rpc in inspect.getsource(stub), f"Analyzer RPC {rpc} is gone"
    options = pb.AnalyzerResourceOptions(protect=True, deleteBeforeReplaceDefined=True)
    assert options.protect and isinstance(pb.AnalyzeRequest(properties=struct_pb2.Struct()).properties,
                                          struct_pb2.Struct)


def test_recording_monitor_is_a_mock_monitor() -> None:
    assert issubclass(RecordingMonitor, mocks.MockMonitor)


class _Base:
    def __init__(self) -> None:
        self.ours = sdk_internals.stack_trace()
        self.sdk = sdk_internals.sdk_stack_trace()


class _Middle(_Base):
    def __init__(self) -> None:
        super().__init__()


class _Concrete(_Middle):
    def __init__(self) -> None:
        super().__init__()


def _user_code() -> _Concrete:
    return _Concrete()


def test_our_stack_trace_is_the_sdks_message() -> None:
    """The offline engine replaces the SDK's source-position capture with a faster one: same message."""
    import pulumi.runtime.resource as sdk_resource

    made = _user_code()
    assert len(made.sdk.frames) > 3 and made.ours == made.sdk
    assert made.sdk.frames[0].pc.uri.endswith("test_sdk_internals.py")
    assert callable(getattr(sdk_resource, "_get_stack_trace", None)), "the SDK renamed _get_stack_trace"
    assert sdk_internals.stack_trace() == sdk_internals.sdk_stack_trace()  # fewer than three __init__: empty


def test_our_create_urn_is_the_sdks_urn(program: Path) -> None:
    """Under mocks the SDK computes each registration's URN through `create_urn` (unused when a monitor answers):
    the offline engine's gives the same known, non-secret, dependency-free value from plain strings, and defers to
    the SDK's for an Output argument."""

    import pulumi.runtime.resource as sdk_resource

    assert "mock_urn = await create_urn(name, ty, resolver.parent_urn).future()" in inspect.getsource(sdk_resource)

    async def state(output: pulumi.Output[Any]) -> tuple[Any, ...]:
        return (await output.future(), await output.is_known(), await output.is_secret(), await output.resources())

    async def both(*case: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        case = tuple(pulumi.Output.from_input(v) if v == "<output>" else v for v in case)
        return await state(sdk_internals.create_urn(*case)), await state(sdk_internals.sdk_create_urn(*case))

    parent = "urn:pulumi:prod::maratron::maratron:app:FargateService::web"
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        for case in [("web", "aws:ecs/service:Service", parent, None, None),
                     ("web", "aws:ecs/service:Service", "", None, None),
                     ("web", "aws:ecs/service:Service", None, "maratron", "prod")]:
            ours, sdk = loop.run_until_complete(both(*case))
            assert ours == sdk and ours[1:] == (True, False, set()), case
        ours, _ = loop.run_until_complete(both("web", "aws:ecs/service:Service", parent, None, None))
        assert ours[0] == "urn:pulumi:prod::maratron::maratron:app:FargateService$aws:ecs/service:Service::web"
        ours, sdk = loop.run_until_complete(both("<output>", "aws:ecs/service:Service", parent, None, None))
        assert ours == sdk  # an Output name: the SDK's own

        async def under_component() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
            component = pulumi.ComponentResource.__new__(pulumi.ComponentResource)  # only its URN is read

            def resolved(value: Any) -> asyncio.Future[Any]:
                future = loop.create_future()
                future.set_result(value)
                return future

            component.__dict__["urn"] = pulumi.Output({component}, resolved(parent), resolved(True), resolved(False))
            case = ("web-alias", "aws:s3/bucketV2:BucketV2", component, None, None)
            return await state(sdk_internals.create_urn(*case)), await state(sdk_internals.sdk_create_urn(*case))

        ours, sdk = loop.run_until_complete(under_component())  # an alias under a component: the parent Resource
        assert ours == sdk and ours[0].endswith("FargateService$aws:s3/bucketV2:BucketV2::web-alias"), ours
        assert len(ours[3]) == 1  # depends on the component, as the SDK's does
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    run = run_program("t", {"t:key": "v"}, [], program=program, project="t")
    assert sdk_resource.create_urn is sdk_internals.create_urn  # installed with the mocks
    assert "urn:pulumi:t::t::test:index:Group$test:index:Thing::g-first" in {r.urn for r in run.resources}


def test_our_cycle_check_gives_the_sdks_answers_and_graph() -> None:
    """Every dependency edge a registration adds goes through `declare_dependency`, which refuses one that would
    close a cycle. The offline engine's (no walk from a resource nothing depends on yet) answers as the SDK's does
    and leaves the same edge sets, on random graphs dense enough to hold many cycles, self-edges included."""
    import random

    import pulumi.runtime.resource_cycle_breaker as sdk_cycles

    assert sdk_cycles._DEPENDENCIES_PROPERTY == "_direct_computed_dependencies", "the SDK renamed its edge set"

    class Node:  # the check reads and writes attributes only, as on a Resource
        pass

    def edges(nodes: list[Node]) -> list[set[int]]:
        index = {id(n): i for i, n in enumerate(nodes)}
        return [{index[id(m)] for m in getattr(n, "_direct_computed_dependencies", set())} for n in nodes]

    generator = random.Random(7)
    refused = 0
    for _ in range(200):
        size = generator.randint(1, 12)
        ours, sdk = [Node() for _ in range(size)], [Node() for _ in range(size)]
        for _ in range(generator.randint(0, 3 * size)):
            a, b = generator.randrange(size), generator.randrange(size)
            answer = sdk_internals.declare_dependency(ours[a], ours[b])
            assert answer == sdk_internals.sdk_declare_dependency(sdk[a], sdk[b]), (a, b)
            refused += not answer
        assert edges(ours) == edges(sdk)
    assert refused > 100  # the cases exercised the refusals, not only the shortcut


class _Urn:
    """A resource's `urn` as `_add_dependency` reads it: `await urn.future()`."""

    def __init__(self, value: str) -> None:
        self.value = value

    async def future(self) -> str:
        return self.value


def _forest(generator: Any, size: int) -> list[pulumi.Resource]:
    """`size` unregistered resources, custom, local components and remote components, each but the first under a
    random earlier one (`_childResources` as the SDK fills it); a few without a URN (the SDK skips those)."""
    class Custom(pulumi.CustomResource):
        def __hash__(self) -> int:  # the same set order in both forests (an id's hash would differ)
            return int(self._name[1:])

    class Component(pulumi.ComponentResource):
        def __hash__(self) -> int:
            return int(self._name[1:])

    nodes: list[pulumi.Resource] = []
    for index in range(size):
        node = object.__new__(generator.choice([Custom, Component, Component]))
        node._type, node._name = node.__class__.__name__, f"n{index}"  # named in the SDK's cycle error
        node.__dict__["urn"] = _Urn("" if generator.random() < 0.1 else f"urn:{index}")
        node._remote = generator.random() < 0.15
        node._childResources = set()
        if nodes:
            generator.choice(nodes)._childResources.add(node)
        nodes.append(node)
    return nodes


def test_our_dependency_expansion_gives_the_sdks_dependencies_edges_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """`add_dependency` (the SDK's `_add_dependency` without its imports in the loop) adds the same URNs, declares
    the same edges, and on a refused edge or a value that is not a Resource ends as the SDK's does: its error, or
    the skip that PULUMI_ERROR_ON_DEPENDENCY_CYCLES=false asks for."""
    import random

    from pulumi.runtime import rpc as sdk_rpc

    monkeypatch.setattr(sdk_rpc, "declare_dependency", sdk_internals.declare_dependency)

    def finish(coroutine: Any) -> Any:
        """Run a coroutine that never waits (these URNs are ready) to its end, without an event loop per call."""
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value
        raise AssertionError("the expansion waited for something")

    def expand(expansion: Any, nodes: list[pulumi.Resource], picks: list[tuple[int, list[int]]]) -> Any:
        index = {id(node): i for i, node in enumerate(nodes)}
        outcome = []
        for source, targets in picks:
            deps: dict[str, Any] = {}
            try:
                for target in targets:
                    finish(expansion(deps, nodes[target], nodes[source] if source >= 0 else None))
                outcome.append({urn: index[id(node)] for urn, node in deps.items()})
            except (RuntimeError, TypeError) as error:
                outcome.append(repr(error))
        edges = [sorted(index[id(m)] for m in getattr(n, "_direct_computed_dependencies", set())) for n in nodes]
        return outcome, edges

    generator = random.Random(11)
    errors = expanded = 0
    for lenient in (False, True):
        if lenient:
            monkeypatch.setenv("PULUMI_ERROR_ON_DEPENDENCY_CYCLES", "false")
        for _ in range(150):
            size = generator.randint(1, 14)
            seed = generator.random()
            picks = [(generator.randrange(-1, size),
                      [generator.randrange(size) for _ in range(generator.randint(1, 3))])
                     for _ in range(generator.randint(1, 6))]
            ours = expand(sdk_internals.add_dependency, _forest(random.Random(seed), size), picks)
            sdk = expand(sdk_internals.sdk_add_dependency, _forest(random.Random(seed), size), picks)
            assert ours == sdk, picks
            errors += sum(isinstance(result, str) for result in ours[0])
            expanded += sum(len(result) > 1 for result in ours[0] if isinstance(result, dict))
    assert errors > 20 and expanded > 100  # both paths exercised: refusals and components expanded to children

    for expansion in (sdk_internals.add_dependency, sdk_internals.sdk_add_dependency):
        with pytest.raises(TypeError, match="'depends_on' was passed a value 3 that was not a Resource"):
            finish(expansion({}, 3, None))


@pulumi.input_type
class _Pair:
    def __init__(self, *, left: pulumi.Input[str], right: pulumi.Input[int] | None = None) -> None:
        pulumi.set(self, "left", left)
        pulumi.set(self, "right", right)


def test_our_from_input_gives_the_sdks_output_for_every_kind_of_value() -> None:
    """`Output.from_input(output)` (the offline engine's: no second Output for a plain scalar) resolves to the same
    value, known-ness, secretness and resources as the SDK's, for known and unknown, secret and plain Outputs of every
    kind of value (scalars, an unknown, containers and input types holding Outputs); it takes over the tracking as the
    SDK's does, fails as it does, and leaves what is not an Output to the SDK."""
    from pulumi.output import UNKNOWN
    from pulumi.runtime.settings import SETTINGS

    async def resolved(value: Any) -> Any:
        return value

    def output(value: Any, *, known: bool, secret: bool, resources: set[Any]) -> pulumi.Output[Any]:
        return pulumi.Output(set(resources), resolved(value), resolved(known), resolved(secret))

    def plain(value: Any) -> Any:
        return (type(value).__name__, sorted(vars(value).items())) if isinstance(value, _Pair) else value

    async def compare() -> int:
        SETTINGS.outputs = set()
        inner = lambda: output("inner", known=True, secret=True, resources={"r2"})  # noqa: E731
        values = ["arn:aws:s3:::b", "", 0, 7, 1.5, True, False, None, UNKNOWN, {}, [], {"k": "v"}, ["a", 1],
                  ("t", 2), {"o": inner()}, [inner()], _Pair(left="l", right=2), _Pair(left=inner())]
        compared = 0
        for value in values:
            for known in (True, False):
                for secret in (True, False):
                    for resources in (set(), {"r1"}):
                        sources = [output(value, known=known, secret=secret, resources=resources) for _ in range(2)]
                        results = [sdk_internals.from_input(sources[0]), sdk_internals.sdk_from_input(sources[1])]
                        tracked = [[o._data in SETTINGS.outputs for o in pair]
                                   for pair in zip(sources, results, strict=True)]
                        assert tracked == [[False, True], [False, True]]  # the result is tracked, not the source
                        ours, sdk = [await result._data for result in results]
                        assert (ours.resources, plain(ours.value), ours.is_known, ours.is_secret) == (
                            sdk.resources, plain(sdk.value), sdk.is_known, sdk.is_secret), (value, known, secret)
                        compared += 1
        faulty = [pulumi.Output.from_input(resolved(1)).apply(lambda _: 1 / 0) for _ in range(2)]
        for convert, source in zip((sdk_internals.from_input, sdk_internals.sdk_from_input), faulty, strict=True):
            with pytest.raises(ZeroDivisionError):
                await convert(source)._data
        assert (await sdk_internals.from_input({"k": inner()})._data).value == {"k": "inner"}  # not an Output
        return compared

    assert asyncio.run(compare()) == 18 * 8


def test_our_unwrap_type_is_the_sdks_on_every_annotation_a_run_unwraps(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    """`unwrap_type` remembers the SDK's answer per annotation: the same types for every annotation the SDK unwraps
    in a run of pulumi_aws resources with nested inputs and outputs, whatever order they come in; an unhashable
    annotation is computed every time."""
    import typing

    ours = sdk_internals.unwrap_type
    seen: list[Any] = []

    def recorded(annotation: Any) -> Any:
        seen.append(annotation)
        return sdk_internals.sdk_unwrap_type(annotation)

    monkeypatch.setattr(sdk_internals, "unwrap_type", recorded)  # what install_mocks installs for this run
    program = tmp_path / "__main__.py"
    program.write_text('''
import json
import pulumi_aws as aws

bucket = aws.s3.Bucket("b")
aws.ecs.TaskDefinition("t", family="f", container_definitions=json.dumps([{"name": "c", "image": "i"}]),
                       requires_compatibilities=["FARGATE"], cpu="256", memory="512", network_mode="awsvpc")
aws.lb.Listener("l", load_balancer_arn="arn", port=443, default_actions=[aws.lb.ListenerDefaultActionArgs(
    type="fixed-response", fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(content_type="text/plain"))])
aws.cloudwatch.MetricAlarm("a", comparison_operator="GreaterThanThreshold", evaluation_periods=1, threshold=1,
                           metric_queries=[aws.cloudwatch.MetricAlarmMetricQueryArgs(id="e", expression="1")])
''')
    run = run_program("t", {"aws:region": "us-east-1"}, [], program=program, project="t")
    assert run.ok, run.error_details
    assert len(seen) > 50 and len({repr(a) for a in seen}) > 10
    for annotation in seen + list(reversed(seen)):  # the second pass answers from memory
        assert ours(annotation) == sdk_internals.sdk_unwrap_type(annotation), annotation
    unhashable = typing.Annotated[int, []]
    assert ours(unhashable) == sdk_internals.sdk_unwrap_type(unhashable)


class _ValuesProperty(dict):  # type: ignore[type-arg]
    """A dict whose `values` is a property, as on a pulumi_aws output type with a `values` field."""

    @property  # type: ignore[override]
    def values(self) -> list[str]:
        return ["not", "the", "items"]


def test_our_contains_unknowns_gives_the_sdks_answers_without_cyclic_garbage() -> None:
    """`contains_unknowns` answers as the SDK's on scalars, unknowns at any depth, shared and self-containing
    containers and a dict whose `values` is a property; unlike the SDK's it leaves nothing for the cyclic collector
    (the SDK's closure per call did: four objects each, ~14,000 calls a prod run)."""
    import gc

    from pulumi.output import UNKNOWN

    shared: dict[str, Any] = {"deep": [1, {"x": None}]}
    looped: list[Any] = ["a"]
    looped.append(looped)
    looped_unknown: dict[str, Any] = {"a": 1}
    looped_unknown["self"] = looped_unknown
    looped_unknown["z"] = [UNKNOWN]
    values = ["arn", "", 0, 1.5, True, None, UNKNOWN, (UNKNOWN,), {}, [], {"k": "v"}, {"k": UNKNOWN},
              [1, [2, [UNKNOWN]]], {"a": [{"b": {"c": UNKNOWN}}]}, [shared, shared], [shared, {"u": UNKNOWN}],
              looped, [looped, UNKNOWN], looped_unknown, _ValuesProperty(a=1), _ValuesProperty(a=UNKNOWN),
              [_ValuesProperty(b=[UNKNOWN])]]
    answers = [sdk_internals.contains_unknowns(v) for v in values]
    assert answers == [sdk_internals.sdk_contains_unknowns(v) for v in values]
    assert answers.count(True) == 9  # both answers occur: the comparison cannot pass by always saying one thing
    collecting = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        for value in values * 50:
            sdk_internals.contains_unknowns(value)
        assert gc.collect() == 0
    finally:
        if collecting:
            gc.enable()


def test_our_resource_types_are_the_sdks_for_every_class_a_run_registers(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    """`resource_types` remembers the SDK's answer per class: the same property types for every resource and
    component class a run registers (pulumi_aws classes, a component with annotations of its own), asked again."""
    seen: list[type] = []

    def recorded(resource_cls: type) -> dict[str, type]:
        seen.append(resource_cls)
        return sdk_internals.sdk_resource_types(resource_cls)

    monkeypatch.setattr(sdk_internals, "resource_types", recorded)  # what install_mocks installs for this run
    program = tmp_path / "__main__.py"
    program.write_text('''
import pulumi
import pulumi_aws as aws


class Store(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    queue: aws.sqs.Queue | None
    names: list[str]

    def __init__(self, name: str) -> None:
        super().__init__("test:index:Store", name)
        self.bucket = aws.s3.Bucket(name, opts=pulumi.ResourceOptions(parent=self))
        self.queue = aws.sqs.Queue(name, opts=pulumi.ResourceOptions(parent=self))
        self.names = [name]
        self.register_outputs({})


Store("s")
aws.lb.Listener("l", load_balancer_arn="arn", port=443, default_actions=[aws.lb.ListenerDefaultActionArgs(
    type="fixed-response", fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(content_type="text/plain"))])
''')
    run = run_program("t", {"aws:region": "us-east-1"}, [], program=program, project="t")
    assert run.ok, run.error_details
    names = {cls.__name__ for cls in seen}
    assert {"Store", "Bucket", "Queue", "Listener"} <= names, names
    store = next(cls for cls in seen if cls.__name__ == "Store")
    assert set(sdk_internals.sdk_resource_types(store)) >= {"bucket", "queue"}  # its own annotations count
    for cls in seen + list(reversed(seen)):  # the second pass answers from memory
        assert sdk_internals.resource_types(cls) == sdk_internals.sdk_resource_types(cls), cls


def test_a_dependency_cycle_still_fails_the_run(tmp_path: Path) -> None:
    """Installed with the mocks, the cycle check still stops a program whose resource depends on its own component
    (the component stands for its children, the resource among them), with the SDK's message."""
    from pulumi.runtime import rpc as sdk_rpc

    program = tmp_path / "__main__.py"
    program.write_text(PROGRAM.split("class Group")[0] + '''
group = pulumi.ComponentResource("test:index:Group", "g")
first = Thing("first", {}, pulumi.ResourceOptions(parent=group))
Thing("second", {}, pulumi.ResourceOptions(parent=group, depends_on=[group]))
''')
    run = run_program("t", {}, [], program=program, project="t")
    assert sdk_rpc.declare_dependency is sdk_internals.declare_dependency  # installed with the mocks
    assert sdk_rpc._add_dependency is sdk_internals.add_dependency
    assert pulumi.Output.from_input is sdk_internals.from_input
    from pulumi import _types as sdk_types
    assert sdk_types.unwrap_type is sdk_internals.unwrap_type
    assert not run.ok and "We have detected a circular dependency" in run.error_details


def test_urns_are_the_engines_not_the_mocks(prod: Any) -> None:
    """The mock monitor names a resource after its parent's last type and keeps the root stack's; the engine uses
    the parent's whole qualified type and skips the root stack's (pkg/resource/deploy/deployment.go, generateURN).
    The preview's URNs must be the engine's: they are what `pulumi up` records and what `--target` takes."""
    assert "make_urn" in vars(mocks.MockMonitor), "MockMonitor.make_urn is gone: RecordingMonitor overrides it"
    stack = "urn:pulumi:prod::maratron::pulumi:pulumi:Stack::maratron-prod"
    task = "urn:pulumi:prod::maratron::maratron:app:FargateService$maratron:app:FargateTask::web"
    names = {"stack": "prod", "project": "maratron"}
    assert sdk_internals.engine_urn(stack, "maratron:app:FargateService", "web", **names) == (
        "urn:pulumi:prod::maratron::maratron:app:FargateService::web")
    assert sdk_internals.engine_urn(task, "aws:ecs/taskDefinition:TaskDefinition", "web", **names) == (
        "urn:pulumi:prod::maratron::maratron:app:FargateService$maratron:app:FargateTask"
        "$aws:ecs/taskDefinition:TaskDefinition::web")
    assert sdk_internals.engine_urn("", "pulumi:pulumi:Stack", "maratron-prod", **names) == stack
    # on a whole run: no root-stack type inside a URN, and every child's URN extends its parent's qualified type
    by_urn = {r.urn: r for r in prod.resources}
    nested = 0
    for resource in prod.resources:
        assert "pulumi:pulumi:Stack$" not in resource.urn, resource.urn
        parent = by_urn.get(resource.parent)
        if parent is not None and parent.type != sdk_internals.ROOT_STACK_TYPE:
            assert resource.urn.split("::")[2] == f"{parent.urn.split('::')[2]}${resource.type}", resource.urn
            nested += resource.urn.split("::")[2].count("$") >= 2
    assert nested  # components inside components: where the mock's rule and the engine's differ


def test_constructor_parameters_are_the_public_constructors_inputs() -> None:
    """The floor program of bench/preview.py names each input by `_internal_init`'s parameters: they are the inputs
    of the class's public `<Name>Args` (what the constructor's keyword form takes), for resources with inputs of every
    shape."""
    import inspect as _inspect
    import sys

    import pulumi_aws as aws

    for cls in (aws.s3.Bucket, aws.ecs.TaskDefinition, aws.lb.Listener, aws.cloudwatch.MetricAlarm):
        args_class = getattr(sys.modules[cls.__module__], f"{cls.__name__}Args")
        public = [p for p in _inspect.signature(args_class.__init__).parameters if p not in ("self", "__self__")]
        ours = sdk_internals.constructor_parameters(cls)
        assert ours and set(ours) == set(public), (cls, set(ours) ^ set(public))


def test_the_programs_config_reader_finds_the_sdks_config_where_it_looks() -> None:
    """stack_config.current_raw_config (the program, not the engine) reads every config value the engine handed it,
    to refuse unknown keys: the language host's PULUMI_CONFIG through `get_config_env`, an in-process engine's through
    the `CONFIG` context variable, and secretness through `get_config_secret_keys_env` and `is_config_secret`. An SDK
    that moves any of them fails here, not as a config reader that silently sees nothing."""
    import contextvars

    from pulumi.runtime import config as runtime_config

    import stack_config

    assert isinstance(runtime_config.CONFIG, contextvars.ContextVar)
    assert all(callable(getattr(runtime_config, name)) for name in (
        "get_config_env", "get_config_secret_keys_env", "is_config_secret"))
    sdk_internals.set_config({"maratron:azCount": "2", "maratron:anthropicApiKey": "s"}, ["maratron:anthropicApiKey"])
    try:
        raw, secret_keys = stack_config.current_raw_config()
    finally:
        sdk_internals.set_config({}, [])  # every run sets its own; leave none behind
    assert raw["maratron:azCount"] == "2" and "maratron:anthropicApiKey" in secret_keys
