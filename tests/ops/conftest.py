"""A local moto server for the operations tools' tests (one per module, reset before and after)."""

from __future__ import annotations

import functools
import io
import logging
import os
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.awsrequest
import botocore.httpsession
import pytest

REGION = "us-east-1"
MOTO_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,  # never a developer's real account
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto import backends
    from moto.core import responses as moto_responses
    from moto.core import utils as moto_utils
    from moto.server import ThreadedMotoServer

    saved = {key: os.environ.get(key) for key in [*MOTO_ENV, "AWS_PROFILE"]}
    os.environ.update(MOTO_ENV)
    os.environ.pop("AWS_PROFILE", None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto's backends are global to the process: start from, and leave, an empty account for the other modules.
    reset(endpoint)
    send = botocore.httpsession.URLLib3Session.send
    listed = backends.list_of_moto_modules
    load_model = moto_utils._load_service_model
    method_names = moto_responses.method_names_from_class
    regions, partitions = boto3.session.Session.get_available_regions, boto3.session.Session.get_available_partitions
    try:
        botocore.httpsession.URLLib3Session.send = in_process(send, endpoint, server._server.app)  # type: ignore[method-assign]
        # moto's dispatcher lists its own package directory (listdir, then isdir per entry) on every request to find
        # the backend for a host: ~12% of a verify run. The list cannot change while the process runs.
        modules = tuple(listed())
        backends.list_of_moto_modules = lambda: iter(modules)
        # ... and lists the methods of the service's response class (inspect.getmembers over its whole MRO) on every
        # request to check the action is one: the classes' methods do not change either.
        moto_responses.method_names_from_class = functools.cache(method_names)
        moto_utils._load_service_model, boto3.session.Session.get_available_regions, \
            boto3.session.Session.get_available_partitions = shared_service_data()
        yield endpoint
    finally:
        moto_utils._load_service_model = load_model
        moto_responses.method_names_from_class = method_names
        boto3.session.Session.get_available_regions = regions  # type: ignore[method-assign]
        boto3.session.Session.get_available_partitions = partitions  # type: ignore[method-assign]
        backends.list_of_moto_modules = listed
        botocore.httpsession.URLLib3Session.send = send  # type: ignore[method-assign]
        reset(endpoint)
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def shared_service_data() -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """What moto reads of botocore's data, read through the one data loader of the tests' boto3 session
    (verify_support.boto_session): replacements for moto.core.utils._load_service_model and for
    boto3.session.Session.get_available_regions and get_available_partitions.

    moto makes a new botocore Loader for each service model it needs to answer requests (service-2, paginators-1),
    and a new boto3 Session each time it creates a service's backend or lists EC2's regions (get_available_regions):
    each new Loader lists botocore's data directory again (a stat per service, ~4,000 per listing) and parses its
    JSON again (endpoints.json, and the service's model: ec2's is 4.4 MB, parsed five times), the files the
    session's clients had already parsed. Same botocore, same search path, same files: the same answers, with each
    file read once per process. botocore's and moto's model classes only read the dicts."""
    from tests.ops.verify_support import boto_session

    session = boto_session()._session
    loader = session.get_component("data_loader")

    def load_service_model(service_name: str, model_name: str) -> dict[str, Any]:
        model: dict[str, Any] = loader.load_service_model(service_name, model_name)
        return model

    def get_available_regions(_: Any, service_name: str, partition_name: str = "aws",
                              allow_non_regional: bool = False) -> list[str]:
        found: list[str] = session.get_available_regions(service_name, partition_name, allow_non_regional)
        return found

    def get_available_partitions(_: Any) -> list[str]:
        found: list[str] = session.get_available_partitions()
        return found

    return load_service_model, get_available_regions, get_available_partitions


def reset(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()


class _Body(io.BytesIO):
    """A response body as botocore reads an urllib3 response: read(amt), or stream() in chunks."""

    def stream(self, amt: int = 65536, decode_content: bool | None = None) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk


def in_process(send: Callable[..., Any], endpoint: str, app: Any) -> Callable[..., Any]:
    """botocore's HTTP send, with requests to the moto server answered by the server's own WSGI app in this process:
    the same moto code answers the same request, without the socket, the HTTP parsing on both ends and the server
    thread (a quarter of a verify run's CPU). Subprocesses (the shell tools' tests) still reach it over HTTP.

    The request's WSGI environ is built by werkzeug's EnvironBuilder and the app run by werkzeug's run_wsgi_app, as
    werkzeug's test Client does, without what the Client adds around them that moto never uses: a request object
    made from the environ, a response object made from the answer, and a cookie jar (moto sets no cookie)."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    server_netloc = urlsplit(endpoint).netloc

    def send_in_process(self: Any, request: Any) -> Any:
        if urlsplit(request.url).netloc != server_netloc:
            return send(self, request)
        parts = urlsplit(request.url)
        body = request.body.read() if hasattr(request.body, "read") else request.body
        headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
        builder = EnvironBuilder(parts.path or "/", method=request.method, query_string=parts.query,
                                 headers=[*headers, ("Host", parts.netloc)],
                                 data=body.encode() if isinstance(body, str) else body or b"")
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        answer, status, answer_headers = run_wsgi_app(app, environ, buffered=True)
        joined: dict[str, str] = {}
        for name, value in answer_headers.items():  # a repeated header joined, as urllib3 reports it
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        return botocore.awsrequest.AWSResponse(request.url, int(status.split(None, 1)[0]), joined,
                                               _Body(b"".join(answer)))
    return send_in_process
