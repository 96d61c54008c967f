"""Shared by the moto-backed verify tests (test_verify, test_verify_cdn, test_verify_foundation): a built fixture
frozen out of the cyclic garbage collector."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def built_once() -> Iterator[None]:
    """Around the build of a module's deployment: the cyclic garbage collector pauses while it is built, and
    afterwards everything alive (what the session imported, the service models the clients and moto parsed, moto's
    backends) is frozen out of its reach (gc.freeze), as offline/engine.py does after a program run. Otherwise every
    full collection the build's allocations trigger (parsing ec2's service model alone starts several) traverses the
    whole heap again, and so does every one during the ~70 verify runs that follow: the three modules spent 3.0 s of
    CPU in the collector, 2.5 s of it in 12 full collections (0.6 s with this). Objects still die by reference
    counting; only cycles among the frozen ones are never collected, in a test process."""
    collecting = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        gc.freeze()
