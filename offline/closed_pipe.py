"""A report that goes on when its reader goes away (`make preview | head`).

A preview's job is its files and its verdict, not its printout: when the reader closes the pipe, the run still
writes its files, runs the policy pack and returns the status it would have returned (0, 2 on bad input, 3 on a
mandatory violation), and says once on stderr that the printout was cut. Stopping at the first failed write
instead (status 141) would lose the verdict: a mandatory violation would exit as "the reader stopped".
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO


class _Report:
    """sys.stdout while a report runs: writes go to the real stream until it fails with a closed pipe, then nowhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.closed_early = False

    def _close(self) -> None:
        if not self.closed_early:
            self.closed_early = True
            # Later flushes of the real stream (ours, Python's at exit) go to /dev/null, not to the closed pipe
            # (Python's "Note on SIGPIPE", signal module docs). A stream without a descriptor has nothing to redirect.
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.stream.fileno())
            except (OSError, ValueError):
                pass
            finally:
                os.close(devnull)

    def write(self, text: str) -> int:
        if not self.closed_early:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self._close()
        return len(text)

    def flush(self) -> None:
        if not self.closed_early:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextlib.contextmanager
def report(tool: str) -> Iterator[None]:
    """Run a report under a stdout and stderr that survive a closed pipe (`2>&1 | head` closes both); say once on
    stderr, if it is still open, that the printout was cut."""
    out, err = _Report(sys.stdout), _Report(sys.stderr)
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        out.flush()
        if out.closed_early or err.closed_early:
            print(f"{tool}: output closed early (broken pipe): the printout stops there; the run went on to its end "
                  "and the exit status is the run's", file=err)
            err.flush()
        sys.stdout, sys.stderr = out.stream, err.stream
