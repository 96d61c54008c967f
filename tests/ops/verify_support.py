"""Shared by the moto-backed verify tests (test_verify, test_verify_cdn, test_verify_foundation): one boto3 session
for the process, and a built fixture frozen out of the cyclic garbage collector."""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Iterator
from typing import Any

import boto3

from tests.ops.conftest import REGION


@functools.cache
def boto_session() -> boto3.session.Session:
    """One boto3 session for every verify test in the process. Each session has its own data loader, which parses
    the endpoint rules and each service's model again (ec2's is 4.4 MB of JSON), and creating a client on a fresh
    session is most of its cost: test_verify_foundation made a session per verify run, each module one for its
    fixture, the Stubber tests the default one. The clients stay per fixture (their endpoint is that module's moto
    server, and the tests hook their events). Credentials are resolved at its first client without explicit keys:
    moto's (MOTO_ENV), as every such client is made inside moto_endpoint."""
    return boto3.session.Session(region_name=REGION)


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
        with kms_key_pairs_on_demand():
            yield
    finally:
        if collecting:
            gc.enable()
        gc.freeze()


@contextlib.contextmanager
def kms_key_pairs_on_demand() -> Iterator[None]:
    """moto makes an RSA-2048 key pair for every KMS key it creates, symmetric ones included (moto/kms/models.py,
    Key.__init__ -> generate_private_key): ~0.1 s of CPU each, for five keys here, that only Sign, Verify and
    GetPublicKey ever use and no verify test calls. While this is active, a new key's pair is made when moto first
    touches it instead."""
    from moto.kms import models

    make = models.generate_private_key

    class OnDemand:
        def __init__(self, key_spec: str) -> None:
            self.key_spec = key_spec
            self.made: Any = None

        def __getattr__(self, name: str) -> Any:  # only for what the instance lacks: the key pair's own attributes
            if name.startswith("__") or name in ("key_spec", "made"):  # copy/pickle probing a bare instance
                raise AttributeError(name)
            if self.made is None:
                self.made = make(self.key_spec)
            return getattr(self.made, name)

    models.generate_private_key = OnDemand  # type: ignore[assignment]
    try:
        yield
    finally:
        models.generate_private_key = make
