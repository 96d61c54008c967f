"""The control machinery the rules, the ledger and the sweep share (policies/rules/_controls.py), without the engine."""

from __future__ import annotations

import json
import re

import pytest

from policies.rules._controls import (
    MISSING,
    AtLeast,
    Covers,
    Has,
    Is,
    Matches,
    NoneOf,
    OneOf,
    Patch,
    Present,
    RemoveItem,
    Setting,
    To,
    When,
    classification_pattern,
    leaf_paths,
    rewrite,
    select,
    unset,
)

TASK = {
    "family": "web",
    "containerDefinitions": json.dumps([
        {"name": "web", "user": "1001", "linuxParameters": {"capabilities": {"drop": ["ALL"]}}, "portMappings": [{}]},
        {"name": "adot", "user": "0"},
    ]),
    "parameters": [{"name": "rds.force_ssl", "value": "1"}, {"name": "log_statement", "value": "ddl"}],
    "password": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "s3cret"},
    "empty": {},
}


def test_select_reaches_into_json_documents_and_names_items() -> None:
    found = select(TASK, "containerDefinitions<json>[*].user")
    assert [(f.shown, f.value) for f in found] == [("containerDefinitions[web].user", "1001"),
                                                   ("containerDefinitions[adot].user", "0")]
    assert found[1].at == ("containerDefinitions", "<json>", 1, "user")
    assert [f.value for f in select(TASK, "parameters[name=rds.force_ssl].value")] == ["1"]
    assert select(TASK, "containerDefinitions<json>[*].nothing") == []


def test_rewrite_replaces_deletes_and_reserializes_documents() -> None:
    at = select(TASK, "containerDefinitions<json>[*].user")[1].at
    out = rewrite(TASK, at, lambda _old: "root")
    assert json.loads(out["containerDefinitions"])[1]["user"] == "root"
    assert json.loads(TASK["containerDefinitions"])[1]["user"] == "0"  # the original is untouched
    assert "user" not in json.loads(rewrite(TASK, at, lambda _old: MISSING)["containerDefinitions"])[1]


def test_leaf_paths_open_documents_key_named_lists_and_stop_at_secrets() -> None:
    paths = set(leaf_paths(TASK))
    assert "containerDefinitions<json>[*].linuxParameters.capabilities.drop[*]" in paths
    assert "parameters[name=rds.force_ssl].value" in paths and "parameters[name=log_statement].name" in paths
    assert "password<secret>" in paths and not any("s3cret" in p or "password.value" in p for p in paths)
    assert "empty" in paths  # an empty object is a setting too


@pytest.mark.parametrize(("entry", "leaf", "covers"), [
    ("containerDefinitions<json>[*].user", "containerDefinitions<json>[*].user", True),
    ("containerDefinitions", "containerDefinitions<json>[*].user", True),
    ("policy<json>.Statement[Effect=Allow].Principal", "policy<json>.Statement[*].Principal.Service", True),
    ("parameters[*].name", "parameters[name=log_statement].name", True),
    ("parameters[name=log_statement]", "parameters[name=log_statement].value", True),
    ("parameters[name=log_statement]", "parameters[name=log_statement_stats].value", False),
    ("tags", "tagsAll.owner", False),
    ("password", "password<secret>", True),
    ("", "anything.at[*].all", True),
])
def test_an_entry_covers_its_path_and_everything_below(entry: str, leaf: str, covers: bool) -> None:
    assert bool(classification_pattern(entry).match(leaf)) is covers


def test_weakenings_remove_items_and_patch_their_parents() -> None:
    policy = {"policy": json.dumps({"Statement": [{"Sid": "A", "Effect": "Allow", "Condition": {"x": 1}},
                                                  {"Sid": "D", "Effect": "Deny"}]})}
    allow = [f.at for f in select(policy, "policy<json>.Statement[Effect=Allow].Condition")]
    patched = json.loads(Patch("policy<json>.Statement[*]", {"Principal": "*", "Condition": MISSING}).apply(
        policy, allow)["policy"])["Statement"]
    assert patched[0] == {"Sid": "A", "Effect": "Allow", "Principal": "*"} and patched[1]["Sid"] == "D"
    removed = json.loads(RemoveItem("policy<json>.Statement[*]").apply(policy, allow)["policy"])["Statement"]
    assert [s["Sid"] for s in removed] == ["D"]
    assert To(False).apply({"a": {"b": True}}, [("a", "b")]) == {"a": {"b": False}}


def test_settings_check_every_item_they_are_within_and_report_absence_per_item() -> None:
    setting = Setting("linuxParameters.capabilities.drop", Has("ALL"), within="containerDefinitions<json>[*]")
    assert list(setting.problems("t", TASK, {})) == [
        "containerDefinitions[adot].linuxParameters.capabilities.drop is not set (must be contains \"ALL\")"]
    served = Setting("healthCheck", Present(), within="containerDefinitions<json>[*]",
                     item_where=When("portMappings"))
    assert [p.split(" ")[0] for p in served.problems("t", TASK, {})] == ["containerDefinitions[web].healthCheck"]
    assert list(Setting("nothing", Is(True), required=False).problems("t", TASK, {})) == []
    assert list(Setting("x", Is(True), types=("other",)).problems("t", TASK, {})) == []
    assert unset("replicateSourceDb").holds(TASK) and not When("family", re.compile("^db")).holds(TASK)


def test_versions_compare_numerically_and_aliases_pass() -> None:
    from policies.rules._controls import VersionAtLeast

    check = VersionAtLeast("1.4.0", weak="1.3.0", aliases=("LATEST",))
    assert [check.problem(v, {}) is None for v in ("LATEST", "1.4.0", "1.10.0", "1.3.0", "latest")] == [
        True, True, True, False, False]


def test_a_config_property_moves_the_threshold() -> None:
    check = AtLeast(7, param="minimumDays")
    assert check.problem(3, {}) and check.problem(3, {"minimumDays": 1}) is None
    assert OneOf(("COMPLIANCE",), weak="GOVERNANCE", param="modes").problem("GOVERNANCE", {"modes": ["GOVERNANCE"]}) \
        is None


@pytest.mark.parametrize("check", [Is(True), Is("nosniff", weak=MISSING), OneOf(("a", "b"), weak="c"),
                                   NoneOf(("*",)), AtLeast(1), AtLeast(30, weak=7), Has("ALL"),
                                   Matches("x", weak="y"), Present(), Covers("logType", ("a", "b"))])
def test_every_check_breaks_on_its_own_weakened_value(check: object) -> None:
    from policies.rules._controls import Check

    assert isinstance(check, Check)
    safe: dict[type, object] = {Is: None, OneOf: "a", NoneOf: "x", AtLeast: 40, Has: ["ALL", "NET_RAW"],
                                Matches: "x", Present: "v", Covers: [{"logType": "a"}, {"logType": "b"}]}
    weak = check.weakened(safe[type(check)])
    assert weak is MISSING or check.problem(weak, {}) is not None

