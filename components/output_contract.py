"""Stack outputs as a versioned contract: the machinery the app stack (stack_outputs.py) and the account foundation
(bootstrap/bootstrap_outputs.py) share.

A contract is a version and a table of outputs, each with a type, a description and a group. The producer exports
exactly the table (`export`: nothing undeclared, nothing left out); the docs are rendered from it (`render_markdown`);
a consumer checks what it read against it (`check`: every problem at once — a missing output, a wrong type, an
unsupported major version). Versioning: add an output -> minor bump; rename, remove or retype -> major bump.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

OutputType = Literal["string", "integer", "boolean", "list[string]", "map[string]"]
"""`map[string]` is an object of string values (e.g. environment -> role ARN)."""


@dataclass(frozen=True)
class OutputSpec:
    name: str
    type: OutputType
    description: str
    group: str


def specs(group: str, *entries: tuple[str, OutputType, str]) -> list[OutputSpec]:
    """The outputs of one group, in order."""
    return [OutputSpec(name, type_, description, group) for name, type_, description in entries]


def _type_problem(value: Any, type_: OutputType) -> str | None:
    if type_ == "list[string]":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif type_ == "map[string]":
        ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    elif type_ == "integer":
        # Through a StackReference a number arrives as a float (protobuf Struct values are doubles, and the SDK makes
        # an int again only where a type hint asks for one): 5432.0 is the integer 5432.
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    elif type_ == "boolean":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    return None if ok else f"is {type(value).__name__}, the contract says {type_}"


@dataclass(frozen=True)
class Contract:
    """A versioned table of stack outputs."""

    version: str
    outputs: tuple[OutputSpec, ...]

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def by_name(self) -> dict[str, OutputSpec]:
        return {spec.name: spec for spec in self.outputs}

    def table(self) -> dict[str, str]:
        """name -> type, the shape tests pin in a JSON snapshot."""
        return {spec.name: spec.type for spec in self.outputs}

    def export(self, values: Mapping[str, Any], *, where: str) -> None:
        """Export exactly the contract's outputs (contractVersion is added here); `where` names the contract's module
        in the error."""
        given = {"contractVersion": self.version, **values}
        missing = [name for name in self.by_name if name not in given]
        extra = [name for name in given if name not in self.by_name]
        if missing or extra:
            raise ValueError(f"stack outputs do not match the contract in {where}: missing {missing}, "
                             f"undeclared {extra}")
        for spec in self.outputs:
            pulumi.export(spec.name, given[spec.name])

    def check(self, values: Mapping[str, Any]) -> list[str]:
        """Every way `values` (a stack's outputs as read) breaks this contract; empty when a consumer may use them.

        The producer's major version must equal ours (a newer minor only adds outputs, which we ignore)."""
        problems: list[str] = []
        version = values.get("contractVersion")
        if not isinstance(version, str) or not version.split(".")[0].isdigit():
            problems.append(f"contractVersion is {version!r}, not a version like {self.version}")
        elif int(version.split(".")[0]) != self.major:
            problems.append(f"contract {version} is not supported (this program reads major {self.major}, "
                            f"{self.version})")
            return problems  # another major: every other difference is expected
        for spec in self.outputs:
            if spec.name == "contractVersion":
                continue
            if spec.name not in values or values[spec.name] is None:
                problems.append(f"output {spec.name} is missing")
            elif (reason := _type_problem(values[spec.name], spec.type)) is not None:
                problems.append(f"output {spec.name} {reason}")
        return problems

    def render_markdown(self, title: str, intro: Iterable[str]) -> str:
        first, *rest = [*intro, ""]
        lines = [f"# {title}", "", f"Contract version **{self.version}**. {first}".rstrip(), *rest]
        group = None
        for spec in self.outputs:
            if spec.group != group:
                group = spec.group
                lines += ["", f"## {group}", "", "| output | type | description |", "|---|---|---|"]
            lines.append(f"| `{spec.name}` | {spec.type} | {spec.description} |")
        return "\n".join(lines) + "\n"


def contract(version: str, outputs: Sequence[OutputSpec]) -> Contract:
    return Contract(version=version, outputs=tuple(outputs))
