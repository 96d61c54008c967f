"""ops/release.sh: migrations before the services roll on a release, after them on a first deploy, then the gate."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "ops" / "release.sh"


def run_release(tmp_path: Path, *, existing: bool, migration_exit: int = 0) -> tuple[int, list[str]]:
    """Run the script with `pulumi` and the python interpreter replaced by recorders."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(f"""#!/usr/bin/env bash
echo "pulumi $*" >> {log}
if [[ "$1 $2" == "stack output" && "$3" == "migrationTaskDefinitionArn" ]]; then exit {0 if existing else 1}; fi
if [[ "$1 $2" == "stack output" ]]; then echo '{{"environment": "prod"}}'; fi
""")
    (bin_dir / "python").write_text(f"""#!/usr/bin/env bash
echo "python $*" >> {log}
if [[ "$2" == "ops.migrate" ]]; then exit {migration_exit}; fi
""")
    for tool in ("pulumi", "python"):
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHON": str(bin_dir / "python")}
    done = subprocess.run(["bash", str(SCRIPT), "acme/prod", "policies/config/prod.json"], env=env,
                          capture_output=True, text=True, check=False)
    calls = log.read_text().splitlines() if log.exists() else []
    # the outputs file is a temp path: keep the command and what follows it
    return done.returncode, [c.split(" --stack-outputs ")[0] + (" " + c.split(" ", 5)[5] if " --only " in c else "")
                             for c in calls]


def test_a_release_migrates_with_the_new_image_before_the_services_roll(tmp_path: Path) -> None:
    code, calls = run_release(tmp_path, existing=True)
    assert code == 0
    up = [i for i, c in enumerate(calls) if c.startswith("pulumi up")]
    migrate = calls.index("python -m ops.migrate")
    assert len(up) == 2 and up[0] < migrate < up[1]
    assert "--target urn:pulumi:prod::maratron::maratron:app:FargateTask$aws:ecs/taskDefinition:TaskDefinition" \
           "::migrate" in calls[up[0]]
    assert calls[-1] == "python -m ops.verify --only ecs.*"
    assert "policies/config/prod.json" in calls[up[1]]


def test_a_failed_migration_stops_the_release_before_the_services_roll(tmp_path: Path) -> None:
    code, calls = run_release(tmp_path, existing=True, migration_exit=1)
    assert code != 0
    assert sum(c.startswith("pulumi up") for c in calls) == 1  # only the targeted one


def test_a_first_deploy_migrates_after_the_services_exist_and_gates_last(tmp_path: Path) -> None:
    code, calls = run_release(tmp_path, existing=False)
    assert code == 0
    up = calls.index(next(c for c in calls if c.startswith("pulumi up")))
    assert "--target" not in calls[up]
    assert up < calls.index("python -m ops.migrate") < len(calls) - 1
    assert calls[-1] == "python -m ops.verify --only ecs.*"


@pytest.mark.skipif(not (shutil.which("shellcheck") or (Path(sys.executable).parent / "shellcheck").exists()),
                    reason="shellcheck not installed")
def test_release_script_is_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    assert subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, check=False).returncode == 0
