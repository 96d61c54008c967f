"""Every relative Markdown link in README.md and docs/ points at an existing file (and heading, with an anchor)."""

from __future__ import annotations

import re
from pathlib import Path

from offline.engine import ROOT

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _prose(text: str) -> str:
    """The text outside fenced code blocks."""
    return "\n".join(part for n, part in enumerate(re.split(r"^```.*$", text, flags=re.M)) if n % 2 == 0)


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for line in _prose(path.read_text()).splitlines():
        match = re.match(r"#{1,6} +(.*)", line)
        if match:
            found.add(re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-"))
    return found


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto: ...
        file_part, _, anchor = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no such heading)")
    return broken


def test_every_relative_link_resolves() -> None:
    problems = {str(page.relative_to(ROOT)): found for page in PAGES if (found := broken_links(page))}
    assert not problems, problems


def test_a_broken_link_and_a_missing_anchor_are_reported(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Deploying for real\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](other.md#deploying-for-real) [gone](missing.md) [bad](other.md#nowhere) "
                    "[web](https://example.com)\n```\n[in code](nothing.md)\n```\n")
    assert broken_links(page) == ["missing.md (no such file)", "other.md#nowhere (no such heading)"]
