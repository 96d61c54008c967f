"""The offline engine itself (offline/engine.py): what a run leaves behind in the process that runs it."""

from __future__ import annotations

import gc
from pathlib import Path

from offline.engine import run_program, stack_config
from offline.foundation import app_mocks

NETWORK_ONLY = Path(__file__).parent / "programs" / "network_only.py"


def test_a_run_leaves_nothing_behind_once_it_is_collected() -> None:
    """One process runs many programs (the bench, a single-process test session): each run's objects must be freed
    by its end-of-run collection, not frozen for good. The RPCs run on executor threads that can still reach the run
    until they exit; a run that did not wait for them leaked everything it built (~15 MB a prod run)."""
    config, secret_keys, _ = stack_config("prod")

    def run() -> None:
        assert run_program("prod", config, secret_keys, program=NETWORK_ONLY, mocks=app_mocks(config)).ok

    run()  # imports and caches: what stays for the process's life
    frozen = gc.get_freeze_count()
    run()
    assert gc.get_freeze_count() - frozen < 200  # none now; a leaking run froze ~1,000 here (~60,000 for prod)
