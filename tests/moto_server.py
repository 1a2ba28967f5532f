"""A moto server over HTTP for the live AWS tests: fake credentials in the environment, a free port, and an
empty account before and after (moto's backends are per process, shared by every server)."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

# moto implements neither App Runner nor AgentCore code interpreters (it answers HTTP 500, which botocore
# retries for long): tests that run the whole collector leave those readers out; Stubber proves them
# (tests/collectors/test_aws_live_workloads.py).
UNIMPLEMENTED_READERS = ("apprunner-service", "code-interpreter")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))


@contextmanager
def moto_server(mp: pytest.MonkeyPatch, managed_policies: bool = True,
                leave_out_unimplemented: bool = True) -> Iterator[str]:
    """The server's URL, for `endpoint_url`; `mp` holds the environment and patches until it is undone."""
    if managed_policies:
        mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_SESSION_TOKEN", "testing")):
        mp.setenv(key, value)
    mp.delenv("AWS_PROFILE", raising=False)
    if leave_out_unimplemented:
        from collectors.aws import live

        mp.setattr(live, "_WORKLOAD_READERS", [(kind, reader) for kind, reader in live._WORKLOAD_READERS
                                                if kind not in UNIMPLEMENTED_READERS])
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _reset(url)
    try:
        yield url
    finally:
        _reset(url)
        server.stop()
