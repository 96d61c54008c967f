"""Settings: the configurable part of a component, declared once, next to the component it configures.

A settings type is a frozen, keyword-only dataclass whose fields are declared with

* `setting(key, default, doc, ...)`: one config key (`maratron:<key>`), its default, a one-line doc and the rules a
  single value must pass (`minimum`/`maximum`, `choices`, a `check` function returning what is allowed or None);
* `section(default, prefix=..., doc=...)`: a nested settings type, its keys optionally prefixed (the web service's
  `section(ServiceSettings(...), prefix="web")` reads webCpu, webMemory, ...; its instance holds the defaults).

The field's annotation is the setting's type: str, int, bool, a Literal of strings (its choices), tuple[str, ...]
or tuple[int, ...] (a list), or Secret (its value is never kept, defaulted or printed). Rules that involve several
fields of one type live in that type's `validate(self, rules: Rules) -> None` method. From the declarations come:

* `read(default, raw)`: raw config strings -> a typed instance and *every* problem, each naming the key, the value and
  what is allowed. A rejected value falls back to its declared default and skips the rules that involve it, so one
  typo yields one message;
* `problems(settings)`: the same rules for an instance built in code (components check their settings with it);
* `schema(default)`: the Pulumi.yaml `config:` entries (`make docs` writes them; a test keeps the file current).

Adding a setting is one `setting(...)` line in the component's settings type, then `make docs`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, get_args, get_origin, get_type_hints

import pulumi

from components.constants import PROJECT

T = TypeVar("T")


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


MISSING: Any = _Marker("<not set>")
"""A problem's value when the key is not set at all."""
REDACTED: Any = _Marker("<secret>")
"""A problem's value when it is (or may be) a secret: printed as [secret], never as the value."""
REQUIRED: Any = _Marker("<required>")
"""The `default` of a setting without one: only secrets (the CLI rejects a plain-text default for a secret key)."""
_CURRENT: Any = _Marker("<current>")
# Key names that may hold a secret: an unknown key that looks like one never has its value printed.
_SECRET_LOOKING = re.compile(r"(key|secret|token|passw|dsn|credential|private)", re.I)


RETIRED_KEYS: dict[str, str] = {}
"""Keys that no longer exist -> what replaced them (see `retire`): setting one is an error that says so."""


def retire(key: str, replacement: str) -> None:
    """Declare a removed config key and what replaced it (its owner calls this next to the replacement)."""
    RETIRED_KEYS[key] = f"removed: {replacement}"


# --- problems -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConfigProblem:
    """One invalid setting: which key, what was given, what is allowed."""

    key: str
    value: Any
    allowed: str
    namespace: str = PROJECT
    """The config namespace the key lives in (the Pulumi project name): maratron, maratron-bootstrap."""

    def __str__(self) -> str:
        if self.value is MISSING:
            shown = "(not set)"
        elif self.value is REDACTED:
            shown = "[secret]"
        else:
            shown = json.dumps(self.value)
        full_key = self.key if ":" in self.key else f"{self.namespace}:{self.key}"
        return f"{full_key} = {shown}: {self.allowed}"


class ConfigError(pulumi.RunError):
    """Every configuration problem at once; `pulumi up` prints it without a traceback (a RunError)."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid stack configuration ({len(self.problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class Secret:
    """A secret setting: whether it holds a value, and how to hand that value on as a secret Output.

    The value itself is never part of a settings object, a problem or a default: consumers get it with `output()`,
    which reads it from the stack's config as a Pulumi secret.
    """

    key: str
    """The config key (without the `maratron:` namespace)."""
    is_set: bool = False
    """Whether the value is non-empty ("" switches an optional secret off)."""

    def output(self) -> pulumi.Output[str]:
        return pulumi.Config(PROJECT).require_secret(self.key)


# --- declarations -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    """The declaration of one config key (dataclass field metadata; see `setting`)."""

    key: str
    doc: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any], str | None] | None = None
    secret: bool = False
    unique: bool = True
    required: bool = False


@dataclass(frozen=True)
class Section:
    """A nested settings type (dataclass field metadata; see `section`)."""

    prefix: str = ""
    doc: str = ""
    title: str = ""


_SETTING = "maratron.setting"
_SECTION = "maratron.section"


def setting(key: str, default: Any, doc: str, *, minimum: int | None = None, maximum: int | None = None,
            choices: Iterable[Any] | None = None, check: Callable[[Any], str | None] | None = None,
            secret: bool = False, unique: bool = True) -> Any:
    """Declare a settings field that is one config key.

    `default` is *the* default (Pulumi.yaml is generated from it); `doc` is the one-line description. `minimum` and
    `maximum` bound an integer, `choices` lists the allowed values (a Literal annotation implies them), `check`
    returns what is allowed when a value (or a list's item) is not, else None. In a prefixed section's type, `doc`
    may say `{prefix}` (the key prefix, e.g. web) and `{title}` (the section's title). A secret has no default
    (`REQUIRED`): its value comes from `pulumi config set --secret` and reaches the program as a `Secret`.
    List settings reject repeated entries unless `unique=False`.
    """
    spec = Setting(key=key, doc=doc, minimum=minimum, maximum=maximum,
                   choices=None if choices is None else tuple(choices), check=check, secret=secret, unique=unique,
                   required=default is REQUIRED)
    if secret != (default is REQUIRED):
        raise TypeError(f"setting {key!r}: a secret, and only a secret, has no default (REQUIRED): the CLI rejects "
                        "a plain-text default for a secret key")
    if isinstance(default, (list, dict, set)):
        raise TypeError(f"setting {key!r}: use a tuple for a list default (settings are immutable)")
    return field(default=Secret(key) if secret else default, metadata={_SETTING: spec})


def section(default: Any, *, prefix: str = "", doc: str = "", title: str = "") -> Any:
    """Declare a settings field that is a nested settings type.

    `default` is the settings type (its own defaults apply) or an instance of it (whose values are the defaults of
    its keys here, e.g. the web service's larger task size). `prefix` is prepended to its keys in camel case
    (prefix "web" + key "cpu" = webCpu); `doc` heads the section in Pulumi.yaml; `title` replaces `{title}` in the
    docs of its settings.
    """
    instance = default() if isinstance(default, type) else default
    return field(default=instance, metadata={_SECTION: Section(prefix=prefix, doc=doc, title=title)})


def join_key(prefix: str, key: str) -> str:
    """webCpu from ("web", "cpu"); the key itself without a prefix."""
    return key if not prefix else prefix + key[:1].upper() + key[1:]


@dataclass(frozen=True)
class _Kind:
    """What a field's annotation says about its values."""

    schema_type: Literal["string", "integer", "boolean", "array"]
    item_type: Literal["string", "integer"] | None = None
    choices: tuple[Any, ...] | None = None
    secret: bool = False


def _kind(annotation: Any, where: str) -> _Kind:
    if annotation is bool:
        return _Kind("boolean")
    if annotation is int:
        return _Kind("integer")
    if annotation is str:
        return _Kind("string")
    if annotation is Secret:
        return _Kind("string", secret=True)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal and all(isinstance(a, str) for a in args):
        return _Kind("string", choices=args)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] in (str, int):
        return _Kind("array", item_type="string" if args[0] is str else "integer")
    raise TypeError(f"{where}: unsupported setting type {annotation!r} (str, int, bool, Literal[...], "
                    "tuple[str, ...], tuple[int, ...] or Secret)")


_KINDS: dict[type, dict[str, _Kind]] = {}


def _kinds(cls: type) -> dict[str, _Kind]:
    """Field name -> kind of every setting of a settings type (resolved once per type)."""
    if cls not in _KINDS:
        hints = get_type_hints(cls)
        _KINDS[cls] = {f.name: _kind(hints[f.name], f"{cls.__name__}.{f.name}")
                       for f in dataclasses.fields(cls) if _SETTING in f.metadata}
    return _KINDS[cls]


def _declared_fields(instance: Any) -> Iterator[tuple[dataclasses.Field[Any], Setting | None, Section | None]]:
    for f in dataclasses.fields(instance):
        spec, sec = f.metadata.get(_SETTING), f.metadata.get(_SECTION)
        if spec is not None or sec is not None:
            yield f, spec, sec


# --- reading and checking -----------------------------------------------------------------------------------------

class _State:
    """What one read (or check) collects: problems, rejected keys, and where each field's key is."""

    def __init__(self, raw: Mapping[str, str] | None, secret_keys: Iterable[str], namespace: str = PROJECT) -> None:
        self.raw = raw
        self.secret_keys = set(secret_keys)
        self.namespace = namespace
        self.problems: list[ConfigProblem] = []
        self.failed: set[str] = set()
        """Keys whose value was rejected: rules that involve them are skipped rather than pile on."""
        self.keys: dict[str, str] = {}
        """Field path (`database.multi_az`) -> config key (`dbMultiAz`)."""
        self.declared: dict[str, Setting] = {}
        """Config key -> its declaration."""

    def problem(self, key: str, value: Any, allowed: str) -> None:
        spec = self.declared.get(key)
        if isinstance(value, Secret):
            value = "" if not value.is_set else REDACTED
        if (spec is not None and spec.secret) or f"{self.namespace}:{key}" in self.secret_keys:
            value = value if value in ("", MISSING) else REDACTED
        self.problems.append(ConfigProblem(key, value, allowed, self.namespace))
        self.failed.add(key)

    def parse(self, key: str, spec: Setting, kind: _Kind, default: Any) -> Any:
        """The raw value of `key` as its type; the default when it is not set; MISSING after a problem."""
        assert self.raw is not None
        text = self.raw.get(f"{self.namespace}:{key}")
        if text is None:
            if spec.required:
                self.problem(key, MISSING, f"required ({spec.doc})")
                return MISSING
            return default
        if kind.schema_type == "string":
            return text
        if kind.schema_type == "integer":
            number = _integer(text)
            if number is None:
                self.problem(key, text, "must be an integer")
                return MISSING
            return number
        if kind.schema_type == "boolean":
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                self.problem(key, text, "must be true or false")
                return MISSING
            return lowered == "true"
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        item_type = str if kind.item_type == "string" else int
        if not isinstance(parsed, list) or not all(isinstance(i, item_type) and not isinstance(i, bool)
                                                   for i in parsed):
            self.problem(key, text, f"must be a list of {kind.item_type}s")
            return MISSING
        return tuple(parsed)

    def check(self, key: str, spec: Setting, kind: _Kind, value: Any) -> bool:
        """Whether one value passes its declared rules (recording a problem when it does not)."""
        choices = spec.choices if spec.choices is not None else kind.choices
        if kind.schema_type == "array":
            items, ok = list(value), True
            for item in items:
                if choices is not None and item not in choices:
                    self.problem(key, items, f"{item!r} is not one of {', '.join(map(str, choices))}")
                    ok = False
                elif spec.check is not None and (reason := spec.check(item)) is not None:
                    self.problem(key, items, f"{item!r}: {reason}")
                    ok = False
            if spec.unique and len(set(items)) != len(items):
                self.problem(key, items, "must not repeat an entry")
                ok = False
            return ok
        if choices is not None and value not in choices:
            self.problem(key, value, f"must be one of {', '.join(map(str, choices))}")
            return False
        if kind.schema_type == "integer" and not _within(value, spec.minimum, spec.maximum):
            low = "-inf" if spec.minimum is None else str(spec.minimum)
            high = "inf" if spec.maximum is None else str(spec.maximum)
            self.problem(key, value, f"must be between {low} and {high}")
            return False
        if spec.check is not None and (reason := spec.check(value)) is not None:
            self.problem(key, value, reason)
            return False
        return True

    def walk(self, instance: T, prefix: str = "", path: str = "") -> T:
        """The settings read from raw config (or, without raw config, `instance` itself), checked field by field,
        then by the type's own rules."""
        values: dict[str, Any] = {}
        kinds = _kinds(type(instance))
        for f, spec, sec in _declared_fields(instance):
            if sec is not None:
                values[f.name] = self.walk(getattr(instance, f.name), join_key(prefix, sec.prefix),
                                           f"{path}{f.name}.")
                continue
            assert spec is not None
            key = join_key(prefix, spec.key)
            self.keys[path + f.name] = key
            self.declared[key] = spec
            kind = kinds[f.name]
            default = getattr(instance, f.name)
            if kind.secret:
                values[f.name] = self._secret(key, spec, default)
                continue
            value = default if self.raw is None else self.parse(key, spec, kind, default)
            if value is MISSING or not self.check(key, spec, kind, value):
                value = default
            values[f.name] = value
        result = dataclasses.replace(instance, **values) if self.raw is not None else instance  # type: ignore[type-var]
        validate = getattr(result, "validate", None)
        if callable(validate):
            validate(Rules(self, result, path))
        return result

    def _secret(self, key: str, spec: Setting, default: Secret) -> Secret:
        if self.raw is None:
            return default
        text = self.parse(key, spec, _Kind("string", secret=True), MISSING)
        if text is MISSING:
            return Secret(key)
        if not self.check(key, spec, _Kind("string", secret=True), text):
            return Secret(key)
        return Secret(key, is_set=bool(text.strip()))

    def unknown_keys(self) -> None:
        assert self.raw is not None
        prefix = f"{self.namespace}:"
        for full_key in sorted(self.raw):
            if not full_key.startswith(prefix) or full_key[len(prefix):] in self.declared:
                continue
            key = full_key[len(prefix):]
            if key in RETIRED_KEYS:
                self.problem(key, REDACTED if full_key in self.secret_keys else self.raw[full_key], RETIRED_KEYS[key])
                continue
            hint = difflib.get_close_matches(key, list(self.declared), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            # A mistyped secret is still a secret: its value never appears in the message.
            secret = (full_key in self.secret_keys or bool(_SECRET_LOOKING.search(key))
                      or bool(hint and self.declared[hint[0]].secret))
            self.problem(key, REDACTED if secret else self.raw[full_key],
                         f"unknown key (not declared in Pulumi.yaml){suggestion}")


def _integer(text: str) -> int | None:
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")) or number != int(number):
        return None
    return int(number)


def _within(value: int, minimum: int | None, maximum: int | None) -> bool:
    return (minimum is None or value >= minimum) and (maximum is None or value <= maximum)


class Rules:
    """A settings object's view of the problems being collected: its field names in, config keys out.

    `validate(self, rules)` methods report through it; stack-wide rules use the root view with dotted paths
    (`rules.problem("database.multi_az", ...)`).
    """

    def __init__(self, state: _State, owner: Any, path: str = "") -> None:
        self._state = state
        self._owner = owner
        self._path = path

    def key(self, field_path: str) -> str:
        """The config key of a field (dotted through sections), e.g. `dbAllocatedStorageGb`."""
        return self._state.keys[self._path + field_path]

    def value(self, field_path: str) -> Any:
        value = self._owner
        for name in field_path.split("."):
            value = getattr(value, name)
        return value

    def valid(self, *field_paths: str) -> bool:
        """True when none of these fields was rejected (so a rule involving them may judge them)."""
        return not any(self.key(f) in self._state.failed for f in field_paths)

    def problem(self, field_path: str, allowed: str, *, also: Sequence[str] = (), value: Any = _CURRENT) -> None:
        """Report `field_path` (with its current value, or `value`) unless it or a field in `also` was rejected."""
        if not self.valid(field_path, *also):
            return
        self._state.problem(self.key(field_path), self.value(field_path) if value is _CURRENT else value, allowed)


@dataclass
class Reading(Generic[T]):
    """The result of `read`: the typed settings, and the problems found so far."""

    settings: T
    rules: Rules
    """The root view, for rules that span sections or environments."""
    _state: _State

    @property
    def problems(self) -> list[ConfigProblem]:
        return self._state.problems

    def add(self, problem: ConfigProblem) -> None:
        """A problem found outside the settings (e.g. on aws:region)."""
        self._state.problems.append(problem)

    def report_unknown_keys(self) -> None:
        """Keys in our namespace that no setting declares (typos), with a did-you-mean; secrets never echoed."""
        self._state.unknown_keys()


def read(default: T, raw: Mapping[str, str], *, secret_keys: Iterable[str] = (),
         namespace: str = PROJECT) -> Reading[T]:
    """Read the settings `default` declares from raw config strings (`maratron:<key>` -> text, lists as JSON).

    `namespace` is the project whose keys these are: `maratron` (the app) or `maratron-bootstrap`."""
    state = _State(raw, secret_keys, namespace)
    settings = state.walk(default)
    return Reading(settings=settings, rules=Rules(state, settings), _state=state)


def problems(settings: Any, *, prefix: str = "") -> list[ConfigProblem]:
    """Every problem of a settings object built in code: its values against their declarations and its rules."""
    state = _State(None, ())
    state.walk(settings, prefix)
    return state.problems


def require_valid(settings: Any, *, prefix: str = "") -> None:
    """Raise ValueError naming every problem of `settings` (what a component's args check on construction)."""
    found = problems(settings, prefix=prefix)
    if found:
        raise ValueError(f"invalid {type(settings).__name__}: " + "; ".join(map(str, found)))


# --- schema -----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SchemaEntry:
    """One key of the Pulumi.yaml `config:` schema."""

    key: str
    type: str
    description: str
    default: Any = MISSING
    """MISSING for a secret (no default)."""
    items: str | None = None
    secret: bool = False
    section: str = ""
    """The doc of the section the key opens (empty unless it is the section's first key)."""

    def as_schema(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": self.type}
        if self.items:
            entry["items"] = {"type": self.items}
        if self.secret:
            entry["secret"] = True
        if self.default is not MISSING:
            entry["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        entry["description"] = self.description
        return entry


def schema(default: Any) -> list[SchemaEntry]:
    """The config schema every setting of `default` declares, in declaration order (sections depth first)."""
    entries: list[SchemaEntry] = []

    def walk(instance: Any, prefix: str, title: str, heading: str) -> None:
        kinds = _kinds(type(instance))
        pending = heading
        for f, spec, sec in _declared_fields(instance):
            if sec is not None:
                walk(getattr(instance, f.name), join_key(prefix, sec.prefix), sec.title or title,
                     sec.doc or pending)
                pending = ""
                continue
            assert spec is not None
            kind = kinds[f.name]
            value = getattr(instance, f.name)
            entries.append(SchemaEntry(
                key=join_key(prefix, spec.key), type=kind.schema_type,
                description=spec.doc.replace("{title}", title).replace("{prefix}", prefix),
                default=MISSING if kind.secret else value, items=kind.item_type, secret=kind.secret,
                section=pending))
            pending = ""

    walk(default, "", "", "")
    return entries
