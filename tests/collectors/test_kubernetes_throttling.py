"""Kubernetes collection under API Priority and Fairness throttling: HTTP 429 with Retry-After.

A real kube-apiserver cannot be made to throttle on demand, so a small local HTTP server stands in
for it: it answers the collector's list calls (paged with limit / continue, secrets as a server-side
Table) like the API server does, and answers chosen requests 429 Too Many Requests first. The
collector runs through `crosspath collect kubernetes` with a kubeconfig, so the real kubernetes
client sends every request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner

from collectors.kubernetes import collect_offline
from collectors.kubernetes.live import MAX_RETRY_WAIT, THROTTLE_RETRIES, ClusterClient
from crosspath.cli import main

TOKEN = "throttle-test-token"
PODS = "/api/v1/pods"
SERVICE_ACCOUNTS = "/api/v1/serviceaccounts"
OBJECTS: dict[str, list[dict[str, Any]]] = {
    SERVICE_ACCOUNTS: [{"metadata": {"name": name, "namespace": "team-a", "uid": f"uid-{name}"}}
                       for name in ("app", "deployer", "reader")],
    "/api/v1/namespaces": [{"metadata": {"name": "team-a", "labels": {"env": "prod"}}}],
    PODS: [{"metadata": {"name": "web", "namespace": "team-a"},
            "spec": {"serviceAccountName": "app", "nodeName": "node-1", "containers": [{"name": "c"}]}}],
}


@dataclass
class Throttle:
    requests: set[int]  # which requests to this path (0 = the first) are answered 429
    retry_after: str | None = "1"


@dataclass
class FakeApiServer:
    """Lists as the API server pages them; `throttle[path]` answers chosen requests 429 first."""

    throttle: dict[str, Throttle] = field(default_factory=dict)
    hits: dict[str, list[float]] = field(default_factory=dict)  # path -> monotonic time of each request
    url: str = ""

    def answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], dict[str, Any]]:
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {}, {"kind": "Status", "code": 401}
        parsed = urlparse(handler.path)
        times = self.hits.setdefault(parsed.path, [])
        times.append(time.monotonic())
        rule = self.throttle.get(parsed.path)
        if rule and len(times) - 1 in rule.requests:
            headers = {"Retry-After": rule.retry_after} if rule.retry_after is not None else {}
            return 429, headers, {"kind": "Status", "code": 429, "reason": "TooManyRequests"}
        if parsed.path.startswith("/api/v1/namespaces/kube-system/configmaps/"):
            return 404, {}, {"kind": "Status", "code": 404}
        query = parse_qs(parsed.query)
        items = OBJECTS.get(parsed.path, [])
        start = int(query.get("continue", ["0"])[0])
        limit = int(query.get("limit", ["500"])[0])
        page, rest = items[start:start + limit], start + limit < len(items)
        metadata = {"continue": str(start + limit)} if rest else {}
        if "as=Table" in handler.headers.get("Accept", ""):
            return 200, {}, {"kind": "Table", "columnDefinitions": [{"name": "Name"}, {"name": "Type"}],
                             "rows": [{"cells": [i["metadata"]["name"], "Opaque"], "object": i} for i in page],
                             "metadata": metadata}
        return 200, {}, {"kind": "List", "items": page, "metadata": metadata}

    def kubeconfig(self, folder: Path) -> Path:
        path = folder / "kubeconfig"
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "throttled",
            "clusters": [{"name": "throttled", "cluster": {"server": self.url}}],
            "users": [{"name": "reader", "user": {"token": TOKEN}}],
            "contexts": [{"name": "throttled", "context": {"cluster": "throttled", "user": "reader"}}]}))
        return path


@pytest.fixture
def api_server() -> Iterator[FakeApiServer]:
    fake = FakeApiServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = fake.answer(self)
            payload = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def _collect(api_server: FakeApiServer, out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["collect", "kubernetes", "--kubeconfig", str(api_server.kubeconfig(out)),
                                       "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "kubernetes" / "collection.json").read_text())


def test_a_list_answered_429_is_sent_again_after_retry_after_and_read_whole(api_server, tmp_path):
    api_server.throttle[PODS] = Throttle({0, 1}, retry_after="1")
    log = _collect(api_server, tmp_path)
    assert log["problems"] == [] and log["counts"]["Pod"] == 1
    pods = api_server.hits[PODS]
    assert len(pods) == 3  # two 429s, then the list: urllib3 did not re-send on its own as well
    assert all(later - earlier >= 0.9 for earlier, later in pairwise(pods))  # waited Retry-After
    result = collect_offline(tmp_path / "kubernetes")
    assert result.coverage.status == "complete", result.coverage.notes
    assert "k8s:throttled/sa/team-a/app" in {n["id"] for n in result.nodes}


def test_a_page_throttled_mid_list_is_fetched_again_with_the_same_continue_token(api_server, tmp_path, monkeypatch):
    from kubernetes import config

    from collectors.kubernetes.live import collect_live

    waits: list[float] = []
    monkeypatch.setattr(ClusterClient, "sleep", staticmethod(waits.append))
    api_server.throttle[SERVICE_ACCOUNTS] = Throttle({1}, retry_after=None)  # page 2 of 3, no Retry-After
    client = config.new_client_from_config(config_file=str(api_server.kubeconfig(tmp_path)))
    log = collect_live(tmp_path, [("throttled", client)], quiet=True, page_size=1)
    assert log["problems"] == [] and log["counts"]["ServiceAccount"] == 3
    assert waits == [1.0] and len(api_server.hits[SERVICE_ACCOUNTS]) == 4  # 3 pages + the one 429


def test_a_list_still_throttled_after_the_retries_is_recorded_not_read_and_the_run_goes_on(
        api_server, tmp_path, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(ClusterClient, "sleep", staticmethod(waits.append))
    api_server.throttle[PODS] = Throttle(set(range(100)), retry_after="3600")  # never clears
    log = _collect(api_server, tmp_path)
    assert len(api_server.hits[PODS]) == THROTTLE_RETRIES + 1
    assert waits == [MAX_RETRY_WAIT] * THROTTLE_RETRIES  # an hour asked, the bound waited
    assert log["problems"] == [{"call": f"list {PODS}", "scope": "throttled", "kind": "throttled",
                                "error": f"HTTP 429 Too Many Requests (still, after {THROTTLE_RETRIES + 1} attempts)"}]
    assert log["counts"]["ServiceAccount"] == 3  # every other list was read
    result = collect_offline(tmp_path / "kubernetes")
    assert result.coverage.status == "partial"
    assert any(f"live collection throttled: list {PODS} on throttled" in note for note in result.coverage.notes)
