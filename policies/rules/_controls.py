"""Controls: what a rule guards, in one form that the rule, the generated docs and the pack's own sweep all read.

A *control* is one property a stack sets for safety (encryption, a security header, a retention, a deployment
guard...). A rule declares the controls it guards as `Guard`s: the property's path, and how the sweep weakens it (the
value a careless change would leave). Simple property checks are declared as `Setting`s — path plus `Check` — and a
Setting is both the rule's check and its own counter-example, so the two cannot drift apart.

Paths name properties in the engine's wire form (camelCase inputs):

    a.b              nested keys
    a[*].b           every item of a list
    a[name=x].b      the items of a list whose `name` is x (parameter groups, cluster settings); in guards also a
                     filter on any list (`Statement[Effect=Allow]`)
    a<json>.b        inside a JSON-document string input (container definitions, policy documents)
    @protect         a resource option instead of an input (protect, retainOnDelete, customTimeouts, ...);
                     `@dependencies` in a guard: the resource's explicit dependencies (dependsOn)

The inventory walk (`leaf_paths`) writes every property a resource sets in the same notation, which is how the ledger
in `inventory.py` proves that every property the stacks set is either guarded or deliberately not a control.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
"""The engine's secret marker key (pulumi's `_sig`): `{SECRET_SIG_KEY: <secret sig>, "value": ...}` on the wire."""
ANY_TYPE = "*"
"""A guard or ledger entry for every resource type that sets the path (tags, for instance)."""
KEYED_LISTS: dict[str, str] = {"parameters": "name", "settings": "name"}
"""Lists whose items are named settings: the inventory walk keys their items by that field (`parameters[name=x]`),
so each engine parameter or cluster setting is classified on its own."""
JSON = "<json>"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()
"""A value that is not there (a weakening that deletes the key returns it)."""


class _NotGiven:
    def __repr__(self) -> str:
        return "<not given>"


NOT_GIVEN: Any = _NotGiven()

Step = tuple[str, ...]
"""A parsed path step: ("key", name) | ("all",) | ("match", field, value) | ("json",)."""
Concrete = tuple[Any, ...]
"""A concrete location: dict keys, list indexes and JSON markers, from the root."""

_TOKEN = re.compile(r"\[([^\]]*)\]|<json>|\.?([^.\[<]+)")


def parse(path: str) -> list[Step]:
    steps: list[Step] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if not match or match.end() == position:
            raise ValueError(f"bad path {path!r} at {position}")
        position = match.end()
        if match.group(0) == JSON:
            steps.append(("json",))
        elif match.group(1) is not None:
            inner = match.group(1)
            if inner == "*":
                steps.append(("all",))
            elif "=" in inner:
                key, _, value = inner.partition("=")
                steps.append(("match", key, value))
            else:
                raise ValueError(f"bad list step [{inner}] in {path!r}")
        else:
            steps.append(("key", match.group(2)))
    return steps


def _is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _label(item: Any, index: int) -> str:
    if _is_mapping(item):
        for key in ("name", "Sid", "id"):
            if key in item and isinstance(item[key], str):
                return item[key]
    return str(index)


@dataclass(frozen=True)
class Found:
    """One value a path reaches: where it is (for rewriting) and how to name it (for messages)."""

    at: Concrete
    shown: str
    value: Any


def select(root: Any, path: str | list[Step]) -> list[Found]:
    """Every value the path reaches in `root` (plain data or pulumi_policy's proxies; reading an unknown value
    through a proxy raises, which the pack reports as "cannot run during preview")."""
    steps = parse(path) if isinstance(path, str) else path
    found: list[Found] = []

    def walk(value: Any, index: int, at: Concrete, shown: str) -> None:
        if index == len(steps):
            found.append(Found(at, shown, value))
            return
        step = steps[index]
        if step[0] == "key":
            if _is_mapping(value) and step[1] in value:
                walk(value[step[1]], index + 1, (*at, step[1]), f"{shown}.{step[1]}" if shown else step[1])
        elif step[0] == "json":
            document = value
            if isinstance(value, str):
                try:
                    document = json.loads(value)
                except ValueError:
                    return
            if _is_mapping(document) or _is_list(document):
                walk(document, index + 1, (*at, JSON), shown)
        elif _is_list(value):
            for position in range(len(value)):
                item = value[position]
                if step[0] == "match" and not (_is_mapping(item) and str(item.get(step[1])) == step[2]):
                    continue
                walk(item, index + 1, (*at, position), f"{shown}[{_label(item, position)}]")

    walk(root, 0, (), "")
    return found


def values_at(root: Any, path: str) -> list[Any]:
    return [f.value for f in select(root, path)]


def rewrite(root: Any, at: Concrete, change: Callable[[Any], Any]) -> Any:
    """A copy of `root` with the value at `at` replaced by change(old) (MISSING deletes it); JSON strings are
    re-serialized."""
    if not at:
        return change(root)
    step, rest = at[0], at[1:]
    if step == JSON:
        return json.dumps(rewrite(json.loads(root) if isinstance(root, str) else root, rest, change))
    out: Any = dict(root) if isinstance(root, dict) else list(root)
    new = change(out[step]) if not rest else rewrite(out[step], rest, change)
    if new is MISSING:
        del out[step]
    else:
        out[step] = new
    return out


# --- the inventory walk ----------------------------------------------------------------------------------------------

def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and SECRET_SIG_KEY in value


def leaf_paths(value: Any, path: str = "") -> Iterator[str]:
    """Every property path a resource's inputs set, in path notation (list items `[*]`, keyed lists by name, JSON
    documents opened, secrets not opened). An empty object or list is a leaf of its own."""
    if is_secret(value):
        yield f"{path}<secret>"
    elif isinstance(value, dict):
        if not value:
            yield path
        for key, item in value.items():
            yield from leaf_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        if not value:
            yield path
        keyed = KEYED_LISTS.get(re.split(r"[.\]>]", path)[-1])
        for item in value:
            if keyed and isinstance(item, dict) and keyed in item:
                yield from leaf_paths(item, f"{path}[{keyed}={item[keyed]}]")
            else:
                yield from leaf_paths(item, f"{path}[*]")
    elif isinstance(value, str) and value[:1] in "[{":
        try:
            document = json.loads(value)
        except ValueError:
            document = None
        if isinstance(document, (dict, list)):
            yield from leaf_paths(document, path + JSON)
        else:
            yield path
    else:
        yield path


@functools.cache
def classification_pattern(path: str) -> re.Pattern[str]:
    """The leaf paths an entry for `path` covers: itself and everything below it. `[*]` and filters on ordinary
    lists match any item; `[name=x]` on a keyed list matches that item only. Compiled once per path: the ledger has
    more distinct paths (~580) than `re` keeps compiled patterns (512), so each classify() compiled them all again."""
    if not path:
        return re.compile("^")  # the whole resource
    out = ["^"]
    previous_key = ""
    for step in parse(path):
        if step[0] == "key":
            out.append(("\\." if len(out) > 1 else "") + re.escape(step[1]))
            previous_key = step[1]
        elif step[0] == "json":
            out.append(re.escape(JSON))
        elif step[0] == "match" and KEYED_LISTS.get(previous_key) == step[1]:
            out.append(re.escape(f"[{step[1]}={step[2]}]"))
        else:
            out.append(r"\[[^\]]*\]")
    out.append(r"(?:$|(?=[.\[<]))")
    return re.compile("".join(out))


def specificity(path: str) -> int:
    return len(parse(path))


# --- checks: a safe condition and its own counter-example ------------------------------------------------------------

Config = Mapping[str, Any]


def _same(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool):
        return value is expected or (isinstance(value, str) and value.lower() == str(expected).lower())
    if isinstance(expected, (int, float)) and not isinstance(value, bool):
        try:
            return float(value) == float(expected)
        except (TypeError, ValueError):
            return False
    return value == expected


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class Check:
    """A safe condition on one value. `problem` explains a violation (None when safe); `weakened` is a value that
    violates it (what the sweep writes); `describe` says the safe condition for the docs."""

    def problem(self, value: Any, config: Config) -> str | None:
        raise NotImplementedError

    def weakened(self, value: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Is(Check):
    expected: Any
    weak: Any = NOT_GIVEN

    def problem(self, value: Any, config: Config) -> str | None:
        return None if _same(value, self.expected) else f"is {json.dumps(value)}, not {json.dumps(self.expected)}"

    def weakened(self, value: Any) -> Any:
        if self.weak is not NOT_GIVEN:
            return self.weak
        if isinstance(self.expected, bool):
            return not self.expected
        raise ValueError(f"Is({self.expected!r}) needs an explicit weak value")

    def describe(self) -> str:
        return json.dumps(self.expected)


@dataclass(frozen=True)
class OneOf(Check):
    allowed: tuple[Any, ...]
    weak: Any
    param: str = ""
    """A pack config property (a list) that replaces `allowed`."""

    def choices(self, config: Config) -> tuple[Any, ...]:
        configured = config.get(self.param) if self.param else None
        return tuple(configured) if isinstance(configured, (list, tuple)) else self.allowed

    def problem(self, value: Any, config: Config) -> str | None:
        allowed = self.choices(config)
        if any(_same(value, a) for a in allowed):
            return None
        return f"is {json.dumps(value)}, not one of {', '.join(json.dumps(a) for a in allowed)}"

    def weakened(self, value: Any) -> Any:
        return self.weak

    def describe(self) -> str:
        return f"one of {', '.join(json.dumps(a) for a in self.allowed)}" + (f" (`{self.param}`)" if self.param else "")


@dataclass(frozen=True)
class NoneOf(Check):
    banned: tuple[Any, ...]
    weak: Any = NOT_GIVEN

    def problem(self, value: Any, config: Config) -> str | None:
        return f"is {json.dumps(value)}" if any(_same(value, b) for b in self.banned) else None

    def weakened(self, value: Any) -> Any:
        return self.banned[0] if self.weak is NOT_GIVEN else self.weak

    def describe(self) -> str:
        return f"not {', '.join(json.dumps(b) for b in self.banned)}"


@dataclass(frozen=True)
class AtLeast(Check):
    minimum: float
    param: str = ""
    """A pack config property that overrides the minimum (declared in the rule's schema)."""
    weak: Any = NOT_GIVEN

    def threshold(self, config: Config) -> float:
        return float(_number(config.get(self.param)) or self.minimum) if self.param else self.minimum

    def problem(self, value: Any, config: Config) -> str | None:
        number, minimum = _number(value), self.threshold(config)
        return None if number is not None and number >= minimum else f"is {json.dumps(value)}, below {minimum:g}"

    def weakened(self, value: Any) -> Any:
        if self.weak is not NOT_GIVEN:
            return self.weak
        return int(self.minimum) - 1 if float(self.minimum).is_integer() else self.minimum / 2

    def describe(self) -> str:
        return f">= {self.minimum:g}" + (f" (`{self.param}`)" if self.param else "")


@dataclass(frozen=True)
class AtMost(Check):
    maximum: float
    param: str = ""

    def problem(self, value: Any, config: Config) -> str | None:
        maximum = float(_number(config.get(self.param)) or self.maximum) if self.param else self.maximum
        number = _number(value)
        return None if number is not None and number <= maximum else f"is {json.dumps(value)}, above {maximum:g}"

    def weakened(self, value: Any) -> Any:
        return int(self.maximum) + 1

    def describe(self) -> str:
        return f"<= {self.maximum:g}" + (f" (`{self.param}`)" if self.param else "")


@dataclass(frozen=True)
class VersionAtLeast(Check):
    """A dotted version at least `minimum` (compared numerically), or one of the `aliases` (e.g. LATEST)."""

    minimum: str
    weak: Any
    aliases: tuple[str, ...] = ()

    @staticmethod
    def _parts(version: str) -> tuple[int, ...] | None:
        try:
            return tuple(int(part) for part in version.split("."))
        except ValueError:
            return None

    def problem(self, value: Any, config: Config) -> str | None:
        if isinstance(value, str) and value in self.aliases:
            return None
        parts = self._parts(str(value))
        if parts is not None and parts >= (self._parts(self.minimum) or ()):
            return None
        return f"is {json.dumps(value)}, older than {self.minimum}"

    def weakened(self, value: Any) -> Any:
        return self.weak

    def describe(self) -> str:
        return " or ".join([*self.aliases, f">= {self.minimum}"])


@dataclass(frozen=True)
class Has(Check):
    """A list that contains `item`."""

    item: Any

    def problem(self, value: Any, config: Config) -> str | None:
        items = [value[i] for i in range(len(value))] if _is_list(value) else [value]
        return None if any(_same(i, self.item) for i in items) else f"{json.dumps(items)} lacks {json.dumps(self.item)}"

    def weakened(self, value: Any) -> Any:
        return [i for i in (value if isinstance(value, list) else [value]) if not _same(i, self.item)]

    def describe(self) -> str:
        return f"contains {json.dumps(self.item)}"


@dataclass(frozen=True)
class Covers(Check):
    """A list of objects whose `field` values include every one of `items` (e.g. the log types delivered)."""

    field: str
    items: tuple[str, ...]

    def problem(self, value: Any, config: Config) -> str | None:
        entries = [value[i] for i in range(len(value))] if _is_list(value) else []
        have = {str(e.get(self.field)) for e in entries if _is_mapping(e)}
        missing = [i for i in self.items if i not in have]
        return f"lacks {self.field} {missing}" if missing else None

    def weakened(self, value: Any) -> Any:
        return [e for e in value if not (isinstance(e, dict) and e.get(self.field) in self.items)]

    def describe(self) -> str:
        return f"covers {self.field} {', '.join(self.items)}"


@dataclass(frozen=True)
class Matches(Check):
    pattern: str
    weak: Any
    text: str = ""

    def problem(self, value: Any, config: Config) -> str | None:
        ok = isinstance(value, str) and re.search(self.pattern, value)
        return None if ok else f"{json.dumps(value)} {self.text or 'does not match ' + self.pattern}"

    def weakened(self, value: Any) -> Any:
        return self.weak

    def describe(self) -> str:
        return self.text.replace("does not ", "") if self.text.startswith("does not ") else f"matches `{self.pattern}`"


@dataclass(frozen=True)
class Present(Check):
    """Set to something (a non-empty string, list or object); weakened by deleting it unless `weak` says otherwise."""

    weak: Any = MISSING

    def problem(self, value: Any, config: Config) -> str | None:
        empty = value is None or value == "" or ((_is_list(value) or _is_mapping(value)) and len(value) == 0)
        return "is empty" if empty else None

    def weakened(self, value: Any) -> Any:
        return self.weak

    def describe(self) -> str:
        return "set"


@dataclass(frozen=True)
class Unset(Check):
    """Not set at all (a property whose every value is wrong for us); `why` says so in the violation."""

    weak: Any
    why: str

    def problem(self, value: Any, config: Config) -> str | None:
        return f"is {json.dumps(value)}: {self.why}"

    def weakened(self, value: Any) -> Any:
        return self.weak

    def describe(self) -> str:
        return "unset"


# --- conditions -------------------------------------------------------------------------------------------------------

class _Present:
    def __repr__(self) -> str:
        return "<present>"


PRESENT: Any = _Present()


@functools.lru_cache(maxsize=1024)
def _iam_action_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
                      re.IGNORECASE | re.DOTALL)


def action_matches(pattern: Any, action: str) -> bool:
    """Whether an IAM policy's Action entry `pattern` (`iam:PassRole`, `IAM:passrole`, `iam:Pass*`, `iam:PassRol?`,
    `*`) covers `action`. The pack's one IAM action matcher: action names are case-insensitive, `*` stands for any run
    of characters and `?` for any one character (IAM user guide, Action element: "Action names are case-insensitive"
    and wildcards, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html)."""
    return isinstance(pattern, str) and _iam_action_pattern(pattern).fullmatch(action) is not None


@dataclass(frozen=True)
class CoversAction:
    """A When value: an IAM Action entry (a name or a wildcard pattern, any case) that covers `action`."""

    action: str


@dataclass(frozen=True)
class When:
    """Which resources a setting or guard concerns: `path` reaches `value` (PRESENT: any value), or not (negate)."""

    path: str
    value: Any = PRESENT
    negate: bool = False

    def holds(self, props: Any) -> bool:
        values = values_at(props, self.path)
        if self.value is PRESENT:
            hit = bool(values)
        elif isinstance(self.value, re.Pattern):
            hit = any(isinstance(v, str) and self.value.search(v) for v in values)
        elif isinstance(self.value, CoversAction):
            hit = any(action_matches(v, self.value.action) for v in values)
        else:
            hit = any(_same(v, self.value) for v in values)
        return hit != self.negate

    def describe(self) -> str:
        if self.value is PRESENT:
            return f"{'without' if self.negate else 'with'} {self.path}"
        if isinstance(self.value, re.Pattern):
            return f"{self.path} {'not ' if self.negate else ''}matching `{self.value.pattern}`"
        if isinstance(self.value, CoversAction):
            return f"{self.path} {'not ' if self.negate else ''}covering {self.value.action} (IAM wildcards, any case)"
        return f"{self.path} {'!=' if self.negate else '='} {json.dumps(self.value)}"


def unset(path: str) -> When:
    return When(path, PRESENT, negate=True)


Where = When | tuple[When, ...] | None
"""Conditions that must all hold (None: every resource)."""


def holds(where: Where, props: Any) -> bool:
    if where is None:
        return True
    return all(w.holds(props) for w in (where if isinstance(where, tuple) else (where,)))


def describe_where(where: Where) -> str:
    if where is None:
        return ""
    return " and ".join(w.describe() for w in (where if isinstance(where, tuple) else (where,)))


# --- weakenings: how the sweep breaks a control -----------------------------------------------------------------------

class Weakening:
    """Applied by the pack's sweep to a copy of a resource's inputs, at every occurrence of the guarded path (or each
    occurrence separately, for guards with `each`)."""

    drops_resource = False
    needs_stack = False

    def apply(self, inputs: dict[str, Any], occurrences: list[Concrete]) -> dict[str, Any]:
        for at in sorted(occurrences, reverse=True):  # deepest/last first: removals keep earlier indexes valid
            inputs = rewrite(inputs, at, self.change)
        return inputs

    def change(self, old: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class To(Weakening):
    """Set the value."""

    value: Any

    def change(self, old: Any) -> Any:
        return self.value

    def describe(self) -> str:
        return "deleted" if self.value is MISSING else f"set to {json.dumps(self.value)}"


DELETE = To(MISSING)
"""Delete the property."""


@dataclass(frozen=True)
class Rewrite(Weakening):
    """A new value computed from the old one (what a Setting's check says is weak)."""

    fn: Callable[[Any], Any]
    text: str

    def change(self, old: Any) -> Any:
        return self.fn(old)

    def describe(self) -> str:
        return self.text


@dataclass(frozen=True)
class RemoveItem(Weakening):
    """Remove the enclosing list item named by `at` (a prefix of the guarded path, e.g. `rules[*]`)."""

    at: str

    def apply(self, inputs: dict[str, Any], occurrences: list[Concrete]) -> dict[str, Any]:
        depth = len(parse(self.at))
        items = sorted({o[:depth] for o in occurrences}, reverse=True)
        for item in items:
            inputs = rewrite(inputs, item, lambda _old: MISSING)
        return inputs

    def describe(self) -> str:
        return f"its {self.at} item removed"


@dataclass(frozen=True)
class Patch(Weakening):
    """Change keys of the enclosing object named by `at` (MISSING deletes a key)."""

    at: str
    changes: Mapping[str, Any]

    def apply(self, inputs: dict[str, Any], occurrences: list[Concrete]) -> dict[str, Any]:
        depth = len(parse(self.at))

        def patch(old: Any) -> Any:
            out = dict(old)
            for key, value in self.changes.items():
                if value is MISSING:
                    out.pop(key, None)
                else:
                    out[key] = value
            return out

        for item in sorted({o[:depth] for o in occurrences}, reverse=True):
            inputs = rewrite(inputs, item, patch)
        return inputs

    def describe(self) -> str:
        parts = [f"{k} {'deleted' if v is MISSING else '= ' + json.dumps(v)}" for k, v in self.changes.items()]
        return f"{self.at} patched: {', '.join(parts)}"


@dataclass(frozen=True)
class Edit(Weakening):
    """Rewrite the whole inputs (controls that relate two properties, e.g. two role ARNs)."""

    fn: Callable[[dict[str, Any]], dict[str, Any]]
    text: str

    def apply(self, inputs: dict[str, Any], occurrences: list[Concrete]) -> dict[str, Any]:
        return self.fn(dict(inputs))

    def describe(self) -> str:
        return self.text


@dataclass(frozen=True)
class Drop(Weakening):
    """Remove the resource from the stack (a companion: flow log, access logging, association, read replica...)."""

    drops_resource = True

    def apply(self, inputs: dict[str, Any], occurrences: list[Concrete]) -> dict[str, Any]:
        raise TypeError("Drop removes the resource; the sweep handles it")

    def describe(self) -> str:
        return "resource removed"


@dataclass(frozen=True)
class Relink(Weakening):
    """Point a reference (`prop`) at another resource of the stack: the first `type` whose inputs match `where` (a NAT
    route moved to a data-tier route table, a data subnet group given an app subnet). The sweep resolves it, since
    it needs the stack: the input gets that resource's id, the engine's dependency record its URN."""

    prop: str
    type: str
    where: Where = None
    needs_stack = True

    def apply(self, inputs: dict[str, Any], occurrences: list[Concrete]) -> dict[str, Any]:
        raise TypeError("Relink needs the stack; the sweep resolves it")

    def describe(self) -> str:
        where = describe_where(self.where)
        return f"{self.prop} pointed at a {self.type.rsplit(':', 1)[-1]}" + (f" with {where}" if where else "")


@dataclass(frozen=True)
class Detach(Weakening):
    """The resource stops waiting for every `type` resource matching `where`: the sweep removes each dependency edge
    (explicit or through an input) to them from the resource and from everything it waits for."""

    type: str
    where: Where = None
    needs_stack = True

    def apply(self, inputs: dict[str, Any], occurrences: list[Concrete]) -> dict[str, Any]:
        raise TypeError("Detach needs the stack; the sweep resolves it")

    def describe(self) -> str:
        where = describe_where(self.where)
        return f"no longer waits for a {self.type.rsplit(':', 1)[-1]}" + (f" with {where}" if where else "")


# --- what rules declare ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Guard:
    """A control a rule guards: the property (path) on some resource types, and how the pack's sweep weakens it.

    The sweep weakens it on every prod resource that sets the path (and matches `where`) and expects the rule's
    mandatory violation naming that resource — or, with `blame`, the resource that property depends on (a companion
    resource names its bucket, an association its load balancer). For a stack rule all those resources are weakened
    at once, in one AnalyzeStack."""

    path: str
    weaken: Weakening
    types: tuple[str, ...] = ()
    """Resource types (empty: the rule's own types; ANY_TYPE: every type that sets the path)."""
    where: Where = None
    blame: str = ""
    each: bool = False
    """Weaken each occurrence of the path separately (every container, every statement), not all at once."""
    note: str = ""
    unlink: bool = False
    """The weakening also drops the engine's dependency record of the path's top-level input (a reference replaced
    by a literal)."""
    absent: bool = False
    """A control that is the *absence* of a property (read replicas of PostgreSQL set no backup retention): the
    sweep adds the property (To) on the resources that leave it out, instead of weakening one that is set."""
    within: str = ""
    item_where: Where = None
    """Only the occurrences inside the `within` items (a prefix of `path`) that match this: a Setting checked on some
    containers only (those that map a port, the essential ones) is weakened on those only."""

    def occurrences(self, inputs: Any) -> list[Found]:
        """Where the path is set in a resource's inputs, restricted to the `within` items matching `item_where`."""
        if not self.within or self.item_where is None:
            return select(inputs, self.path)
        rest = self.path[len(self.within):].lstrip(".")
        return [Found((*scope.at, *found.at), f"{scope.shown}.{found.shown}", found.value)
                for scope in select(inputs, self.within) if holds(self.item_where, scope.value)
                for found in select(scope.value, rest)]

    def with_types(self, types: Sequence[str]) -> Guard:
        if self.types:
            return self
        if not types:
            raise ValueError(f"guard {self.path!r} needs types (its rule applies to every type)")
        return replace(self, types=tuple(types))

    def describe(self) -> str:
        where = describe_where(self.where)
        unset_note = "left unset" if self.absent else ""
        return " ".join(part for part in (unset_note, self.note, f"({where})" if where else "") if part)


@dataclass(frozen=True)
class Setting:
    """A declarative control: `check` must hold for every value at `path` (on resources matching `where`)."""

    path: str
    check: Check
    where: Where = None
    required: bool = True
    """Absence is a violation (False: the AWS default when unset is the safe value)."""
    each: bool = False
    note: str = ""
    within: str = ""
    """Check `path` inside every item this path reaches (every container): absence is reported per item."""
    item_where: Where = None
    """Only the `within` items matching this (containers that map a port)."""
    types: tuple[str, ...] = ()
    """Only these of the rule's resource types (empty: all of them)."""
    guarded: bool = True
    """False for a check of a property the stacks leave at its safe AWS default: nothing for the sweep to weaken
    (when a stack starts setting it, the ledger asks for it to be classified, and this turns True)."""
    extra_guards: tuple[Guard, ...] = field(default=())

    @property
    def full_path(self) -> str:
        return f"{self.within}.{self.path}" if self.within else self.path

    def problems(self, resource_type: str, props: Any, config: Config) -> Iterator[str]:
        if (self.types and resource_type not in self.types) or not holds(self.where, props):
            return
        scopes = select(props, self.within) if self.within else [Found((), "", props)]
        for scope in scopes:
            if not holds(self.item_where, scope.value):
                continue
            prefix = f"{scope.shown}." if scope.shown else ""
            found = select(scope.value, self.path)
            if not found and self.required:
                yield f"{prefix}{self.path} is not set (must be {self.check.describe()})"
            for item in found:
                problem = self.check.problem(item.value, config)
                if problem:
                    yield f"{prefix}{item.shown} {problem}"

    def guard(self) -> Guard:
        check = self.check
        item = f" (on {self.within} items {describe_where(self.item_where)})" if self.item_where else ""
        return Guard(self.full_path, Rewrite(check.weakened, f"made weak ({check.describe()} broken)"),
                     types=self.types, where=self.where, each=self.each, note=(self.note or check.describe()) + item,
                     within=self.within, item_where=self.item_where)
