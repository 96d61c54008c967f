"""The settings machinery (components/settings.py): declarations, reading raw config, checking, schema, secrets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

import stack_config
from components.settings import (
    REQUIRED,
    ConfigError,
    Rules,
    Secret,
    problems,
    read,
    require_valid,
    schema,
    section,
    setting,
)
from tests.configs import MINIMAL_VALID


def _even(value: int) -> str | None:
    return None if value % 2 == 0 else "must be even"


@dataclass(frozen=True, kw_only=True)
class Size:
    """A nested type whose keys get the section's prefix."""

    count: int = setting("count", 2, "How many {title} ({prefix}Count).", minimum=1, maximum=10, check=_even)
    limit: int = setting("limit", 4, "Upper bound for {prefix}Count.", minimum=1, maximum=20)

    def validate(self, rules: Rules) -> None:
        if self.limit < self.count:
            rules.problem("limit", f"must be at least {rules.key('count')} ({self.count})", also=["count"])


@dataclass(frozen=True, kw_only=True)
class Example:
    mode: Literal["fast", "safe"] = setting("exampleMode", "safe", "Mode: fast or safe.")
    names: tuple[str, ...] = setting("exampleNames", ("a",), "Names.", choices=("a", "b", "c"))
    enabled: bool = setting("exampleEnabled", True, "Switch.")
    token: Secret = setting("exampleToken", REQUIRED, "A secret token.", secret=True,
                            check=lambda v: None if v.startswith("tk-") else "must start with tk-")
    web: Size = section(Size(count=4, limit=8), prefix="web", title="web tasks", doc="the web part")
    not_a_setting: str = "kept as is"


def raw(**values: str) -> dict[str, str]:
    return {"maratron:exampleToken": "tk-123", **{f"maratron:{k}": v for k, v in values.items()}}


def test_reads_typed_values_with_declared_and_section_defaults() -> None:
    reading = read(Example(), raw(exampleMode="fast", webLimit="10"))
    assert reading.problems == []
    settings = reading.settings
    assert (settings.mode, settings.names, settings.enabled) == ("fast", ("a",), True)
    assert settings.web == Size(count=4, limit=10)  # webCount: the section's default; webLimit: the config's
    assert settings.token == Secret("exampleToken", is_set=True) and "tk-123" not in repr(settings)
    assert settings.not_a_setting == "kept as is"


def test_every_problem_at_once_naming_key_value_and_what_is_allowed() -> None:
    reading = read(Example(), raw(exampleMode="slow", exampleNames='["a", "z", "a"]', exampleEnabled="yes",
                                  webCount="3", webLimit="x"))
    assert [str(p) for p in reading.problems] == [
        'maratron:exampleMode = "slow": must be one of fast, safe',
        "maratron:exampleNames = [\"a\", \"z\", \"a\"]: 'z' is not one of a, b, c",
        'maratron:exampleNames = ["a", "z", "a"]: must not repeat an entry',
        'maratron:exampleEnabled = "yes": must be true or false',
        "maratron:webCount = 3: must be even",
        'maratron:webLimit = "x": must be an integer',
    ]
    # Rejected values fall back to their declared defaults, and the rule involving them stays quiet.
    assert reading.settings.web == Size(count=4, limit=8) and reading.settings.mode == "safe"


def test_a_type_rule_reports_with_the_prefixed_key() -> None:
    reading = read(Example(), raw(webCount="6", webLimit="5"))
    assert [str(p) for p in reading.problems] == ["maratron:webLimit = 5: must be at least webCount (6)"]


def test_secrets_are_required_never_echoed_and_never_defaulted() -> None:
    missing = read(Example(), {})
    assert [str(p) for p in missing.problems] == ["maratron:exampleToken = (not set): required (A secret token.)"]
    bad = read(Example(), raw(exampleToken="sk-very-secret"))
    assert [str(p) for p in bad.problems] == ["maratron:exampleToken = [secret]: must start with tk-"]
    with pytest.raises(TypeError, match="only a secret, has no default"):
        setting("x", "plain default", "doc", secret=True)
    with pytest.raises(TypeError, match="only a secret, has no default"):
        setting("x", REQUIRED, "doc")
    with pytest.raises(TypeError, match="use a tuple"):
        setting("x", ["a"], "doc")


def test_unknown_keys_get_a_suggestion_and_a_secret_is_never_printed() -> None:
    # Issue 9 item 9: a misspelled secret key (set with --secret, or named like one, or close to a declared secret)
    # must not print its value in the unknown-key error.
    reading = read(Example(), {**raw(), "maratron:exampleTokn": "tk-leak-1", "maratron:apiPassword": "leak-2",
                               "maratron:mystery": "leak-3", "maratron:exampleMod": "fast"},
                   secret_keys={"maratron:mystery"})
    reading.report_unknown_keys()
    text = "\n".join(map(str, reading.problems))
    assert "leak" not in text
    assert text.splitlines() == [
        "maratron:apiPassword = [secret]: unknown key (not declared in Pulumi.yaml)",
        "maratron:exampleMod = \"fast\": unknown key (not declared in Pulumi.yaml); did you mean 'exampleMode'?",
        "maratron:exampleTokn = [secret]: unknown key (not declared in Pulumi.yaml); did you mean 'exampleToken'?",
        "maratron:mystery = [secret]: unknown key (not declared in Pulumi.yaml)",
    ]


def test_a_misspelled_stack_secret_never_reaches_the_config_error() -> None:
    config = {**MINIMAL_VALID, "maratron:sentryDns": "https://very-secret-dsn@sentry.example.com/1"}
    with pytest.raises(ConfigError) as caught:
        stack_config.load(config, stack="test", secret_keys={"maratron:sentryDns"})
    assert "very-secret-dsn" not in str(caught.value)
    assert "maratron:sentryDns = [secret]: unknown key (not declared in Pulumi.yaml); did you mean 'sentryDsn'?" \
        in str(caught.value)


def test_settings_built_in_code_are_checked_by_the_same_rules() -> None:
    assert problems(Size()) == []
    assert [str(p) for p in problems(Size(count=12, limit=3), prefix="web")] == [
        "maratron:webCount = 12: must be between 1 and 10"]  # the limit rule skips the rejected count
    with pytest.raises(ValueError, match=r"invalid Size: maratron:limit = 1: must be at least count \(2\)"):
        require_valid(Size(limit=1))


def test_schema_is_generated_in_declaration_order_with_prefixes_and_docs() -> None:
    entries = {entry.key: entry for entry in schema(Example())}
    assert list(entries) == ["exampleMode", "exampleNames", "exampleEnabled", "exampleToken", "webCount", "webLimit"]
    assert entries["exampleNames"].as_schema() == {"type": "array", "items": {"type": "string"}, "default": ["a"],
                                                   "description": "Names."}
    assert entries["exampleToken"].as_schema() == {"type": "string", "secret": True,
                                                   "description": "A secret token."}
    assert entries["webCount"].as_schema() == {"type": "integer", "default": 4,
                                               "description": "How many web tasks (webCount)."}
    assert entries["webCount"].section == "the web part" and entries["webLimit"].section == ""


def test_unsupported_types_are_refused_when_first_used() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Broken:
        ratio: float = setting("ratio", 0.5, "A float is not a config type we read.")

    with pytest.raises(TypeError, match="unsupported setting type"):
        schema(Broken())


def _setting_field_names() -> set[str]:
    """The Python names of every declared setting (a `setting(...)` field of any settings type)."""
    import dataclasses
    import importlib
    import inspect
    import pkgutil

    import components
    from components.settings import _SETTING

    modules = [importlib.import_module(f"components.{m.name}") for m in pkgutil.iter_modules(components.__path__)]
    modules.append(importlib.import_module("stack_config"))
    return {f.name for module in modules for cls in vars(module).values()
            if inspect.isclass(cls) and dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__
            for f in dataclasses.fields(cls) if _SETTING in f.metadata}


def test_no_args_or_watch_field_repeats_a_settings_default_as_a_literal() -> None:
    """One default per fact: a field of an Args, Watch or other plain dataclass named like a setting takes the
    setting's value from the stack or names the shared constant; a literal there is a second default that drifts
    (DatabaseWatch.max_connections defaulted to 100 while dbMaxConnections said 600). Empty strings and booleans are
    sentinels, not facts."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    names = _setting_field_names()

    def literal(value: ast.expr | None) -> object:
        """The literal a default spells (`100`, `-6`, `field(default=100)`), or None."""
        if isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) == "field":
            value = next((k.value for k in value.keywords if k.arg == "default"), None)
        sign = 1
        if isinstance(value, ast.UnaryOp) and isinstance(value.operand, ast.Constant):
            sign = -1 if isinstance(value.op, ast.USub) else 1
            value = value.operand
        if isinstance(value, ast.Constant) and not isinstance(value.value, bool) and value.value not in ("", None):
            return -value.value if sign < 0 and isinstance(value.value, (int, float)) else value.value
        return None

    found = []
    for path in [*sorted((root / "components").glob("*.py")), root / "stack_config.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                        and item.target.id in names and literal(item.value) is not None):
                    found.append(f"{path.name}:{item.lineno} {node.name}.{item.target.id} = {literal(item.value)!r}")
    assert found == [], found


def test_fields_that_come_from_a_setting_have_no_default_of_their_own() -> None:
    """The watch and args fields whose value is a setting's (under another name) are required, so that no second
    default can drift from it: the stack passes them (Database.watch, BackupJob.watch, StackConfig.metrics_args)."""
    import dataclasses

    from components.app_metrics import AppMetricsArgs
    from components.observability import BackupWatch, DatabaseWatch

    for cls, name in ((DatabaseWatch, "max_connections"), (BackupWatch, "interval_hours"),
                      (AppMetricsArgs, "app_connections")):
        spec = next(f for f in dataclasses.fields(cls) if f.name == name)
        assert spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING, (cls, name)
