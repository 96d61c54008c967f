"""The pack as a deliverable: standard layout, generated files current, the runner's exit status and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pulumi.runtime.proto import analyzer_pb2

from offline import policy_docs, taggable
from offline.engine import ROOT, StackRun
from offline.policy_runner import PACK_DIR, PolicyPackProcess, analyze_stack_entry, analyze_stack_message, main
from tests.conftest import checked


def test_pack_layout_is_what_the_cli_expects() -> None:
    manifest = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python" and manifest["runtime"]["options"]["virtualenv"]
    requirements = (PACK_DIR / "requirements.txt").read_text()
    assert "pulumi-policy==" in requirements
    pinned = {line.split("==")[0]: line for line in (ROOT / "requirements-deploy.txt").read_text().splitlines()
              if "==" in line}
    for line in requirements.splitlines():
        if "==" in line:
            assert pinned[line.split("==")[0]] == line, "pack and project pins differ"
    for stack in ("dev", "staging", "prod"):
        json.loads((PACK_DIR / "config" / f"{stack}.json").read_text())


def test_pack_reports_every_policy_mandatory_by_default(pack: PolicyPackProcess) -> None:
    assert pack.name == "maratron-security"
    assert {p.enforcementLevel for p in pack.info.policies} == {analyzer_pb2.MANDATORY}
    assert len(pack.policy_names()) == len(set(pack.policy_names())) >= 50


def test_an_analyze_stack_request_is_sent_as_the_whole_messages_bytes(prod: StackRun) -> None:
    """PolicyPackProcess.analyze_stack sends its request as the resources' entries serialized one by one: the same
    request the stub would send (every resource, in order, each exactly as the message holds it)."""
    entries = b"".join(analyze_stack_entry(r) for r in prod.resources)
    whole = analyzer_pb2.AnalyzeStackRequest(resources=[analyze_stack_message(r) for r in prod.resources])
    sent = analyzer_pb2.AnalyzeStackRequest.FromString(entries)
    assert sent == whole and len(sent.resources) == len(prod.resources)
    assert entries == whole.SerializeToString()


def test_taggable_types_are_generated_from_the_pinned_sdk() -> None:
    assert taggable.OUTPUT.read_text() == taggable.render(), "run python -m offline.taggable"


def test_rule_table_is_current() -> None:
    assert policy_docs.OUTPUT.read_text() == policy_docs.render(), "run python -m offline.policy_docs"


def test_runner_exit_status(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                            prod: StackRun, pack: PolicyPackProcess) -> None:
    from offline import policy_runner

    monkeypatch.setattr(policy_runner, "run_stack", lambda stack: prod)  # the session's run: one engine run less
    # The session's pack instead of two more pack processes (check_run configures it for the stack and the given
    # pack config either way; starting a pack as the runner does is covered by the `pack` fixture and the previews),
    # and prod's verdict under its own config shared with test_stacks.py (tests.conftest.checked).
    monkeypatch.setattr(policy_runner, "check_run",
                        lambda run, pack_config=None: checked(run, pack, pack_config))
    assert main(["prod"]) == 0
    assert "0 mandatory" in capsys.readouterr().out
    strict = ROOT / "build" / "strict-pack-config.json"
    strict.parent.mkdir(exist_ok=True)
    strict.write_text(json.dumps({"log-group-retention": {"minimumRetentionDays": 400}}))
    assert main(["prod", "--policy-pack-config", str(strict)]) == 1
    out = capsys.readouterr().out
    assert "MANDATORY:" in out and "[log-group-retention] urn:pulumi:prod::maratron::" in out


def test_environment_comes_from_the_stack_config_then_the_stack_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from policies.rules._common import environment

    monkeypatch.setenv("PULUMI_STACK", "eu-main")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"maratron:environment": "staging"}))
    assert environment("urn:pulumi:eu-main::maratron::aws:s3/bucket:Bucket::b") == "staging"
    # Another stack's resource (or no config): the name decides, and a name that says nothing means prod.
    assert environment("urn:pulumi:acme-dev::maratron::aws:s3/bucket:Bucket::b") == "dev"
    assert environment("urn:pulumi:stage-eu::maratron::aws:s3/bucket:Bucket::b") == "staging"
    assert environment("urn:pulumi:feature-x::maratron::aws:s3/bucket:Bucket::b") == "prod"
    monkeypatch.setenv("PULUMI_CONFIG", "{}")
    assert environment("urn:pulumi:eu-main::maratron::aws:s3/bucket:Bucket::b") == "prod"


def test_a_pack_that_cannot_start_is_reported_with_its_own_error(tmp_path: Path) -> None:
    """A pack that fails on import never prints its port: the error carries what the pack wrote on stderr."""
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text("raise SystemExit('pack refuses to load: rules are broken')\n")
    with pytest.raises(RuntimeError, match="did not print its port") as caught:
        PolicyPackProcess("prod", {}, pack_dir=tmp_path)
    assert "pack refuses to load: rules are broken" in str(caught.value)
