"""Semantic versioning of an outputs contract, checked against the versions already released.

Each released version's table (output name -> type) is pinned in `<directory>/<version>.json`, a file that is never
edited afterwards. The current table must equal its own version's file (a change needs a new version, and with it
a new file), and against the newest released version below it: a removed output or a changed type needs a higher
major, a new output a higher minor. Rewriting an old file to make a test pass is the one thing this cannot stop;
review catches it (the files only ever get added).
"""

from __future__ import annotations

import json
from pathlib import Path

Version = tuple[int, int, int]


def parse(version: str) -> Version:
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch


def released(directory: Path) -> dict[Version, dict[str, str]]:
    return {parse(path.stem): json.loads(path.read_text()) for path in directory.glob("*.json")}


def problems(version: str, table: dict[str, str], directory: Path) -> list[str]:
    """What is wrong with publishing `table` as `version`, given the versions released in `directory`."""
    current = parse(version)
    pinned = released(directory)
    found: list[str] = []
    own = directory / f"{version}.json"
    if current not in pinned:
        found.append(f"no {own.name} in {directory.name}/: pin the table of {version} there once it is final")
    elif pinned[current] != table:
        changed = sorted(k for k in set(table) | set(pinned[current]) if table.get(k) != pinned[current].get(k))
        found.append(f"{version} was released as {own.name} and the table now differs ({changed}): a change is a new "
                     "version with a new file, never an edit of a released one")
    older = [v for v in pinned if v < current]
    if not older:
        return found
    previous = max(older)
    before = pinned[previous]
    broken = sorted(k for k in before if table.get(k) != before[k])
    added = sorted(set(table) - set(before))
    name = ".".join(map(str, previous))
    if broken and current[0] <= previous[0]:
        found.append(f"{broken} removed or retyped since {name}: that is a breaking change, bump the major version")
    if added and current[:2] <= previous[:2]:
        found.append(f"{added} added since {name}: bump the minor version")
    return found
