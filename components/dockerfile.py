"""What a Dockerfile promises the task that runs its image: which scratch paths it declares as VOLUME, owned by whom.

Why it matters on Fargate: a task volume with no host path (what FargateTask mounts at each scratch path) starts as an
empty directory owned by root (0755). ECS copies an image directory into it — contents *and ownership* — only when the
image declares that exact path as a VOLUME: "To expose files from a Dockerfile to a data volume when a task is run,
the Amazon ECS data plane looks for a VOLUME directive. If the absolute path that's specified in the VOLUME directive
is the same as the containerPath that's specified in the task definition, the data in the VOLUME directive path is
copied to the data volume." (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html; the
root-owned default: https://github.com/aws/containers-roadmap/issues/938). A non-root task with a read-only root
filesystem can therefore write a scratch path only if the image (1) makes it writable for the task's uid — owned by
it, or world-writable like the 1777 /tmp of every standard base image — and (2) then declares it as a VOLUME. Order
matters too: Docker discards what a build step changes under a path after that path
was declared a VOLUME (Dockerfile reference, "Notes about specifying volumes").

`scratch_problems` checks exactly that for every image this repository builds (the backup job's, and web/ai when they
are built from a build context). Pure Python: the program, the tests and stack_config use it alike.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

BIND_MOUNTS_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html"
FHS_WORLD_WRITABLE = frozenset({"/tmp", "/var/tmp"})
"""Directories every standard base image ships world-writable with the sticky bit (1777, Filesystem Hierarchy
Standard); declared as a VOLUME untouched, ECS copies that mode into the task volume, so any uid may write them."""


@dataclass(frozen=True)
class Instruction:
    keyword: str
    """Upper-case instruction (RUN, VOLUME, ...)."""
    arguments: str
    """Everything after the keyword, continuation lines joined."""
    line: int
    """1-based line where the instruction starts."""


@dataclass
class FinalStage:
    """The facts of the last build stage (the image that runs) that matter for scratch volumes."""

    volumes: dict[str, int] = field(default_factory=dict)
    """Declared VOLUME path -> line of its (first) declaration."""
    owners: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    """Path -> (owner as written: uid, uid:gid or user name, line) for each step that sets its ownership."""
    modes: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    """Path -> (mode as written, line) for each `chmod` of it."""
    changes: dict[str, list[int]] = field(default_factory=dict)
    """Path -> lines of RUN steps that change it (chown, chmod, mkdir, install -d)."""
    users: dict[str, str] = field(default_factory=dict)
    """User name -> uid, from adduser/useradd in this stage."""


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions: comments dropped, backslash continuations joined."""
    result: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        joined = " ".join(part.strip() for part in pending if part.strip())
        pending = []
        keyword, _, arguments = joined.partition(" ")
        result.append(Instruction(keyword.upper(), arguments.strip(), start))
    return result


def _volume_paths(arguments: str) -> list[str]:
    if arguments.startswith("["):
        try:
            value = json.loads(arguments)
        except ValueError:
            return []
        return [str(v) for v in value] if isinstance(value, list) else []
    return arguments.split()


def _normal(path: str) -> str:
    return path.rstrip("/") or "/"


_SEPARATORS = re.compile(r"\s*(?:&&|\|\||;)\s*")
_OPTION_WITH_VALUE = {"-u", "--uid", "-g", "--gid", "-G", "--ingroup", "-h", "--home", "-s", "--shell",
                      "-k", "-K", "-c", "--comment", "--gecos"}


def _commands(arguments: str) -> list[list[str]]:
    """The simple commands of a RUN line in shell form (`a && b; c`), each split into words."""
    if arguments.startswith("["):
        try:
            value = json.loads(arguments)
            return [[str(v) for v in value]] if isinstance(value, list) else []
        except ValueError:
            return []
    out = []
    for part in _SEPARATORS.split(arguments):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        if words:
            out.append(words)
    return out


def _user_definition(words: list[str]) -> tuple[str, str] | None:
    """(name, uid) from `adduser -u 1001 ... name`, `adduser --system --uid 1001 name` or `useradd -u 1001 name`
    (busybox and Debian adduser and useradd alike take the user as their first operand)."""
    if not words or words[0] not in ("adduser", "useradd"):
        return None
    uid, operands, index = "", [], 1
    while index < len(words):
        word = words[index]
        if word in ("-u", "--uid") and index + 1 < len(words):
            uid = words[index + 1]
            index += 1
        elif word.startswith("--uid="):
            uid = word.split("=", 1)[1]
        elif word in _OPTION_WITH_VALUE:
            index += 1
        elif not word.startswith("-"):
            operands.append(word)
        index += 1
    return (operands[0], uid) if operands and uid.isdigit() else None


def _ownership_steps(words: list[str]) -> list[tuple[str, str]]:
    """(owner, path) pairs a command sets: `chown [-R] OWNER PATH...`, `install -d -o OWNER ... PATH...`."""
    if not words:
        return []
    if words[0] == "chown":
        operands = [w for w in words[1:] if not w.startswith("-")]
        return [(operands[0], path) for path in operands[1:]] if len(operands) >= 2 else []
    if words[0] == "install" and ("-d" in words or "--directory" in words):
        owner, paths, index = "", [], 1
        while index < len(words):
            word = words[index]
            if word in ("-o", "--owner") and index + 1 < len(words):
                owner = words[index + 1]
                index += 2
                continue
            if word.startswith("--owner="):
                owner = word.split("=", 1)[1]
            elif word in ("-g", "--group", "-m", "--mode") and index + 1 < len(words):
                index += 2
                continue
            elif not word.startswith("-"):
                paths.append(word)
            index += 1
        return [(owner, path) for path in paths] if owner else []
    return []


def _mode_steps(words: list[str]) -> list[tuple[str, str]]:
    """(mode, path) pairs of `chmod [-R] MODE PATH...`."""
    if not words or words[0] != "chmod":
        return []
    operands = [w for w in words[1:] if w not in ("-R", "-f", "-v", "--recursive")]
    return [(operands[0], path) for path in operands[1:]] if len(operands) >= 2 else []


def _world_writable(mode: str) -> bool:
    """Whether a chmod mode lets every user write: octal with o+w (1777, 777, 0777) or a symbolic a+w / o+w."""
    if mode.isdigit():
        return int(mode[-1]) & 2 == 2
    return any(part.startswith(("a+", "o+", "+")) and "w" in part for part in mode.split(","))


def _changed_paths(words: list[str]) -> list[str]:
    if words and words[0] in ("chown", "chmod", "mkdir", "install", "touch", "rm", "cp", "mv", "ln"):
        return [w for w in words[1:] if w.startswith("/")]
    return []


def final_stage(text: str) -> FinalStage:
    """The VOLUME, ownership and user facts of the last stage of a Dockerfile."""
    stage = FinalStage()
    for instruction in instructions(text):
        keyword, arguments, line = instruction.keyword, instruction.arguments, instruction.line
        if keyword == "FROM":
            stage = FinalStage()  # only the last stage becomes the image
        elif keyword == "VOLUME":
            for path in _volume_paths(arguments):
                stage.volumes.setdefault(_normal(path), line)
        elif keyword == "RUN":
            for words in _commands(arguments):
                if (user := _user_definition(words)) is not None:
                    stage.users[user[0]] = user[1]
                for owner, path in _ownership_steps(words):
                    stage.owners.setdefault(_normal(path), []).append((owner, line))
                for mode, path in _mode_steps(words):
                    stage.modes.setdefault(_normal(path), []).append((mode, line))
                for path in _changed_paths(words):
                    stage.changes.setdefault(_normal(path), []).append(line)
        elif keyword in ("COPY", "ADD"):
            words = arguments.split()
            owner = next((w.split("=", 1)[1] for w in words if w.startswith("--chown=")), "")
            operands = [w for w in words if not w.startswith("--")]
            if owner and len(operands) >= 2:
                stage.owners.setdefault(_normal(operands[-1]), []).append((owner, line))
    return stage


def _uid_of(owner: str, users: dict[str, str]) -> str:
    """The uid an owner spec names: `1001`, `1001:1001`, `name`, `name:group`."""
    user = owner.split(":", 1)[0]
    return user if user.isdigit() else users.get(user, "")


def scratch_problems(dockerfile: Path, paths: tuple[str, ...], user: str, *, task: str,
                     shown_as: str | None = None) -> list[str]:
    """What keeps `task` (running as `user`, uid[:gid]) from writing each scratch path with this image; [] when the
    image declares every path as a VOLUME whose ownership it set to that uid beforehand."""
    where = shown_as or str(dockerfile)
    if not dockerfile.is_file():
        return [f"{where}: no Dockerfile (task {task!r} mounts scratch paths {list(paths)})"]
    stage = final_stage(dockerfile.read_text())
    uid = user.split(":", 1)[0]
    problems = []
    for raw_path in paths:
        path = _normal(raw_path)
        declared = stage.volumes.get(path)
        if declared is None:
            problems.append(
                f"{where}: task {task!r} mounts {path} read-write for uid {uid}, but the image declares no "
                f"VOLUME [\"{path}\"]: Fargate mounts an empty root-owned directory there and the task cannot write "
                f"it (ECS copies an image directory, ownership included, into a task volume only for a VOLUME path "
                f"equal to the containerPath: {BIND_MOUNTS_DOC})")
            continue
        owned_before = [line for owner, line in stage.owners.get(path, [])
                        if _uid_of(owner, stage.users) == uid and line < declared]
        modes_before = [mode for mode, line in stage.modes.get(path, []) if line < declared]
        world_writable = (modes_before and _world_writable(modes_before[-1])) or (
            path in FHS_WORLD_WRITABLE and not modes_before and not stage.owners.get(path))
        if not owned_before and not world_writable:
            problems.append(
                f"{where}: VOLUME {path} (line {declared}) is not owned by uid {uid} (nor world-writable): set its "
                f"ownership before the VOLUME line (e.g. `RUN mkdir -p {path} && chown {user} {path}`), or the "
                f"task's uid cannot write it ({BIND_MOUNTS_DOC})")
        late = [line for line in stage.changes.get(path, []) if line > declared]
        if late:
            problems.append(
                f"{where}: line(s) {', '.join(map(str, late))} change {path} after its VOLUME line {declared}; Docker "
                "discards build-step changes to a path once it is a volume: move them before the VOLUME line")
    return problems
