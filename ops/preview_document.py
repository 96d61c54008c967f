"""Reading a `pulumi preview --json` document: what ops.reboot_notice and ops.settled both take as input."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

RDS_INSTANCE = "aws:rds/instance:Instance"


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("preview", nargs="?", help="a `pulumi preview --json` file (default: stdin)")


def load(path: str | None, stdin: TextIO | None = None) -> dict[str, Any]:
    """The document from `path` (or stdin); OSError or ValueError when it is not a preview's JSON."""
    document = json.loads(Path(path).read_text() if path else (stdin or sys.stdin).read())
    if not isinstance(document, dict) or "steps" not in document:
        raise ValueError("no `steps`: not the output of `pulumi preview --json`")
    return document


def steps(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The document's steps (malformed entries skipped)."""
    return [step for step in document.get("steps") or [] if isinstance(step, Mapping)]


def state(step: Mapping[str, Any], which: str) -> Mapping[str, Any]:
    """A step's `oldState` or `newState` ({} when absent)."""
    found = step.get(which) or {}
    return found if isinstance(found, Mapping) else {}


def inputs(step: Mapping[str, Any], which: str) -> Mapping[str, Any]:
    found = state(step, which).get("inputs") or {}
    return found if isinstance(found, Mapping) else {}


def resource_type(step: Mapping[str, Any]) -> str:
    return str(state(step, "newState").get("type") or state(step, "oldState").get("type") or "")
