"""`make preview` as a user meets it: identical files on every run, clean one-line errors, overrides in their own
folder, and no secret value in any file or message it writes."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from offline import diagram, preview
from offline.engine import ROOT, StackRun, portable_path, run_stack
from offline.policy_runner import stack_export
from tests.configs import GRAFANA_SSO

SECRET = "sk-ant-api03-NEVER-WRITTEN-0123456789abcdef"


def _files(run: StackRun) -> dict[str, str]:
    return {"inventory": json.dumps(run.inventory(), indent=2),
            "export": json.dumps(stack_export(run), indent=2),
            "diagram": diagram.render_mermaid(diagram.build(run))}


def test_two_runs_of_one_commit_write_identical_files(prod: StackRun) -> None:
    again = run_stack("prod")
    assert _files(again) == _files(prod)
    urns = [r.urn for r in prod.resources]
    seen: set[str] = set()
    for resource in prod.resources:  # parents and dependencies come first, as `pulumi stack import` needs
        assert resource.parent in seen | {""}, resource.urn
        assert set(resource.dependencies) <= seen, resource.urn
        seen.add(resource.urn)
    assert len(urns) == len(set(urns))
    assert '"time": "0001-01-01T00:00:00Z"' in _files(prod)["export"]


def test_written_files_hold_no_path_of_the_checkout_or_the_virtualenv(prod: StackRun) -> None:
    """Two clones write the same inventory and export: the db-admin Lambda's archive names its files relative to the
    project or to the virtualenv's site-packages, while the program still registers the real paths (what `pulumi up`
    uploads)."""
    files = _files(prod)
    local = {str(ROOT), os.path.realpath(ROOT), sys.prefix, os.path.realpath(sys.prefix)}
    for name, text in files.items():
        assert not [directory for directory in local if directory in text], name
    for text in (files["inventory"], files["export"]):
        assert '"path": "ops/db_admin/handler.py"' in text
        assert re.search(r'"path": "<site-packages>/pg8000/[a-z_]+\.py"', text)
    code = json.dumps(prod.one("aws:lambda/function:Function", "db-admin").inputs["code"])
    assert json.dumps(str(ROOT / "ops" / "db_admin" / "handler.py")) in code
    assert portable_path("/opt/elsewhere/file.py") == "/opt/elsewhere/file.py"


def test_set_values_read_yaml_lists_like_the_stack_files() -> None:
    assert preview.parse_overrides(["azCount=2", "azNames=[us-east-1a, us-east-1b]", "aws:region=eu-west-1",
                                    "hostedZoneId=", "tags={team: platform}"]) == {
        "maratron:azCount": "2", "maratron:azNames": ["us-east-1a", "us-east-1b"], "aws:region": "eu-west-1",
        "maratron:hostedZoneId": "", "maratron:tags": {"team": "platform"}}
    assert preview.parse_overrides(["azNames=[a, b"]) == {"maratron:azNames": "[a, b"}  # the config check says why
    with pytest.raises(preview.UsageError, match=r"^--set 'azCount', '=2': expected KEY=VALUE"):
        preview.parse_overrides(["azCount", "hostedZoneId=", "=2"])


def test_every_bad_value_is_reported_at_once_on_stderr_and_nothing_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inventory = tmp_path / "out" / "inventory.json"
    assert preview.main(["prod", "--set", "azCount=x", "--set", "azNames=[us-east-1a", "--set", "nosuchKey=1",
                         "--inventory", str(inventory)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "must be" not in out and "unknown key" not in out
    assert err.startswith("preview: configuration errors, nothing would be created; no files written\n")
    for problem in ('maratron:azCount = "x": must be an integer', 'maratron:azNames = "[us-east-1a": must be a list',
                    "maratron:nosuchKey", "unknown key"):
        assert problem in err
    assert not inventory.parent.exists()


def test_the_readme_override_example_runs(run_variant: Callable[..., StackRun]) -> None:
    overrides = preview.parse_overrides(["azCount=2", "azNames=[us-east-1a, us-east-1b]"])
    run = run_variant("prod", **{key.split(":", 1)[1]: value for key, value in overrides.items()})
    assert run.ok, run.error
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 2


def test_overrides_write_to_their_own_folder_named_without_secret_values() -> None:
    plain = preview.output_directory("prod", {}, set())
    assert plain == ROOT / "build" / "prod"
    one = preview.output_directory("prod", {"maratron:azCount": "2"}, set())
    assert one.parent == plain.parent and one.name.startswith("prod+overrides-") and one != plain
    assert one != preview.output_directory("prod", {"maratron:azCount": "4"}, set())
    secret = {"maratron:anthropicApiKey"}
    assert preview.output_directory("prod", {"maratron:anthropicApiKey": "a-value"}, secret) == \
        preview.output_directory("prod", {"maratron:anthropicApiKey": "another-value"}, secret)


CLOSED_EARLY = ("{tool}: output closed early (broken pipe): the printout stops there; the run went on to its end "
                "and the exit status is the run's")


def _preview(*args: str, head: bool = False) -> tuple[int, str, str]:
    process = subprocess.Popen([sys.executable, "-m", "offline.preview", *args], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    if head:  # `make preview | head -1`: read one line, then the reader goes away
        out = process.stdout.readline()
        process.stdout.close()
        err = process.stderr.read()
        return process.wait(), out, err
    out, err = process.communicate()
    return process.returncode, out, err


def test_bad_input_and_a_closed_pipe_end_with_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    # Bad input is refused by main() before anything runs: in-process (the process around it is the closed-pipe case).
    assert preview.main(["nosuchstack"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip().splitlines() == [
        "preview: unknown stack 'nosuchstack': stacks here are dev, staging, prod, dr (Pulumi.<stack>.yaml)"]
    assert preview.main(["dev", "--set", "azCount"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "expected KEY=VALUE" in err
    # The closed pipe: test_a_closed_pipe_cuts_the_printout_not_the_run (through make, as users run it).


@pytest.mark.parametrize("tool", ["offline.cost", "offline.critical_path", "offline.policy_runner", "bench.cost",
                                  "bench.critical_path", "bench.preview"])
def test_every_tool_refuses_an_unknown_stack_in_one_line_before_running(
        tool: str, capsys: pytest.CaptureFixture[str]) -> None:
    main = importlib.import_module(tool).main
    with pytest.raises(SystemExit) as exit_:
        main(["nosuch"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1].endswith(
        "error: unknown stack 'nosuch': stacks here are dev, staging, prod, dr (Pulumi.<stack>.yaml)")


def test_the_policy_runner_refuses_a_missing_pack_config_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from offline import policy_runner

    with pytest.raises(SystemExit) as exit_:
        policy_runner.main(["prod", "--policy-pack-config", str(tmp_path / "missing.json")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert "--policy-pack-config" in err.strip().splitlines()[-1] and "No such file" in err


@pytest.mark.usefixtures("session_preview")
def test_no_secret_value_in_any_file_or_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 9, item 9: a secret passed with --set is never written in plain text (export, inventory, diagram,
    output), not even inside a value built from it."""
    inventory = tmp_path / "inventory.json"
    assert preview.main(["dev", "--set", f"anthropicApiKey={SECRET}", "--inventory", str(inventory)]) == 0
    out, err = capsys.readouterr()
    written = {path.name: path.read_text() for path in tmp_path.iterdir()}
    assert {"inventory.json", "stack-export.json", "architecture.mmd"} <= set(written)
    for name, text in {**written, "stdout": out, "stderr": err}.items():
        assert SECRET not in text and SECRET[:20] not in text, name
    # the secret is still there, marked as one
    assert '"[secret]"' in written["inventory.json"] and "\\\"[secret]\\\"" in written["stack-export.json"]


def test_an_image_never_pushed_is_bad_input_on_stderr_without_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inventory = tmp_path / "out" / "inventory.json"
    assert preview.main(["dev", "--set", "webImage=sha256:" + "0" * 64, "--set", "aiImage=sha256:" + "1" * 64,
                         "--inventory", str(inventory)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and not inventory.parent.exists()
    assert err.startswith("preview: configuration errors, nothing would be created; no files written\n")
    assert "maratron:webImage = 'sha256:000" in err and "maratron:aiImage = 'sha256:111" in err  # both at once


def test_outputs_the_engine_keeps_secret_are_secret_in_the_export(prod: StackRun) -> None:
    """RandomPassword lists `result` in additionalSecretOutputs, so the state holds it encrypted however the program
    uses it; the export does too, even for a password nothing else marks secret (the CDN's idle origin slot)."""
    export = json.dumps(stack_export(prod))
    passwords = prod.of_type("random:index/randomPassword:RandomPassword")
    assert "origin-secret-b" in {p.name for p in passwords}
    for password in passwords:
        assert "result" in password.additional_secret_outputs
        [entry] = [r for r in stack_export(prod)["deployment"]["resources"] if r["urn"] == password.urn]
        assert entry["outputs"]["result"] == {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                                              "plaintext": '"[secret]"'}, password.name
        value = password.outputs["result"]
        assert (value["value"] if isinstance(value, dict) else value) not in export, password.name


def test_a_value_built_from_a_secret_is_scrubbed_too(dev: StackRun) -> None:
    url = next(v for v in dev.secret_values() if "postgresql://" in v)  # the master secret (JSON with a url)
    password = next(v for v in dev.secret_values() if v in url and v != url)
    text = json.dumps(dev.redacted({"plain": f"connect with {url}", "nested": [password]}))
    assert password not in text and "[secret]" in text


def test_make_help_lists_every_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):(?!=)", makefile, re.M))
    shown = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout
    listed = {line.split()[1] for line in shown.splitlines() if line.strip().startswith("make ")}
    assert targets and targets == listed, "give every target a `## ` help line"


def test_the_programs_warnings_are_printed_above_the_plan(run_variant: Callable[..., StackRun], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    run = run_variant("prod", **GRAFANA_SSO)
    monkeypatch.setattr(preview, "run_stack", lambda stack, overrides: run)
    monkeypatch.setattr(preview, "print_policy_verdicts", lambda run, export: 0)  # the pack: not this test's
    assert preview.main(["prod", "--no-diagram", "--inventory", str(tmp_path / "inventory.json")]) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert "IAM Identity Center" in line and out.index(line) < out.index("Resources (")


def test_every_file_is_written_before_the_report_starts(run_variant: Callable[..., StackRun], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader that stops early (`make preview | head`) leaves one run's inventory, diagram and export together,
    never a new inventory beside an older diagram and export."""
    run = run_variant("dev")
    monkeypatch.setattr(preview, "run_stack", lambda stack, overrides: run)
    monkeypatch.setattr(preview, "print_policy_verdicts", lambda run, export: 0)  # the pack: not this test's
    seen: list[set[str]] = []

    def first_lines(*args: object, **kwargs: object) -> None:
        if str(args[0] if args else "").startswith("Files: "):
            seen.append({path.name for path in tmp_path.iterdir()})

    monkeypatch.setattr(preview, "print", first_lines, raising=False)
    assert preview.main(["dev", "--inventory", str(tmp_path / "inventory.json")]) == 0
    assert seen == [{"inventory.json", "architecture.mmd", "stack-export.json"}]


def test_a_closed_pipe_cuts_the_printout_not_the_run() -> None:
    """`make preview | head` (under pipefail): the run goes on, so its status is the run's: 0 and one line on stderr
    for a clean stack (no `make: *** ... Error` after it), 2 with the configuration errors for bad config (a closed
    pipe must not turn a failure into success); `make help | head` ends quietly, a failing help fails."""
    import os

    venv = str(Path(sys.executable).parent.parent)
    shell = ["bash", "-o", "pipefail", "-c"]
    make = f"make --no-print-directory VENV={venv}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PULUMI_CONFIG", None)
    # The smallest clean stack (the foundation's org-dev: 21 resources) for the whole run; both previews share the
    # report (offline/closed_pipe.py), and the bad-config case below is the app preview's.
    done = subprocess.run([*shell, f"{make} preview-bootstrap STACK=org-dev | head -1"], cwd=ROOT,
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.startswith("Offline preview of maratron-bootstrap/org-dev"), \
        done.stderr
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        CLOSED_EARLY.format(tool="preview-bootstrap")]
    bad = subprocess.run([*shell, f"{make} preview STACK=dev | head -1"], cwd=ROOT, capture_output=True, text=True,
                         env={**env, "PULUMI_CONFIG": json.dumps({"maratron:bogusKey": "1"})})
    assert bad.returncode == 2 and "maratron:bogusKey" in bad.stderr and "unknown key" in bad.stderr
    # Both streams into the closed pipe (`2>&1 | head`): still the run's status, not a BrokenPipeError's 1 (the
    # program itself: make's own error line would then meet the closed pipe too).
    both = subprocess.run([*shell, f"{sys.executable} -m offline.preview dev 2>&1 | head -1"], cwd=ROOT,
                          capture_output=True, text=True,
                          env={**env, "PULUMI_CONFIG": json.dumps({"maratron:bogusKey": "1"})})
    assert both.returncode == 2, both.stdout
    shown = subprocess.run([*shell, f"{make} help | head -1"], cwd=ROOT, capture_output=True, text=True)
    assert shown.returncode == 0 and shown.stderr == "" and shown.stdout.startswith("  make help")
    broken = subprocess.run([*shell, f"{make} help MAKEFILE_LIST=/nonexistent"], cwd=ROOT, capture_output=True,
                            text=True)
    assert broken.returncode != 0, "a failing help must fail, not print the variables alone"


def test_the_report_survives_its_reader_and_says_so_once(capsys: pytest.CaptureFixture[str]) -> None:
    """offline/closed_pipe.report, as both previews use it: after the first write into a closed pipe every write is
    dropped, the code under it runs to its end and returns its own status, and stderr gets one line."""
    import io

    from offline import closed_pipe

    class ClosedAfterOneLine(io.StringIO):
        def write(self, text: str) -> int:
            if self.getvalue().endswith("\n"):
                raise BrokenPipeError
            return super().write(text)

        def fileno(self) -> int:
            return os.open(os.devnull, os.O_WRONLY)  # what the report points at /dev/null

    import os

    stream = ClosedAfterOneLine()
    ran_to_the_end = []
    real = sys.stdout
    sys.stdout = stream
    try:
        with closed_pipe.report("tool"):
            print("first line")
            print("second line")  # the reader is gone
            print("third line")
            ran_to_the_end.append(True)
    finally:
        sys.stdout = real
    assert stream.getvalue() == "first line\n" and ran_to_the_end == [True]
    assert capsys.readouterr().err.strip().splitlines() == [CLOSED_EARLY.format(tool="tool")]


def test_the_foundation_preview_writes_its_files_before_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """outputs.json is what app stacks read: a reader that stops early never leaves it older than the inventory."""
    import shutil

    from offline import bootstrap_preview, policy_runner

    tmp_path = ROOT / "build" / "test-bootstrap-preview"  # under the project: the report prints paths relative to it
    shutil.rmtree(tmp_path, ignore_errors=True)
    monkeypatch.setattr(bootstrap_preview, "BUILD_DIR", tmp_path)
    monkeypatch.setattr(policy_runner, "check_run", lambda run: type("Verdict", (), {"mandatory": []})())
    monkeypatch.setattr(policy_runner, "render_verdict", lambda verdict: "")
    seen: list[set[str]] = []

    def first_report_line(*args: object, **kwargs: object) -> None:
        if str(args[0] if args else "").startswith("\nResources (") and not seen:
            seen.append({path.name for path in (tmp_path / "shared").iterdir()})

    monkeypatch.setattr(bootstrap_preview, "print", first_report_line, raising=False)
    assert bootstrap_preview.main(["shared"]) == 0
    assert seen == [{"inventory.json", "outputs.json", "stack-export.json"}]
