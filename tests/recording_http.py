"""A local HTTP server that records every POST and answers with scripted statuses: the receiving end of
webhooks in the notification and `crosspath run` tests (no mock of the senders' HTTP clients)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Captured:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class RecordingServer:
    """Records every POST; `script[path]` is the statuses to answer in turn (the last one repeats)."""

    base: str
    requests: list[Captured] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)

    def to(self, path: str) -> list[Captured]:
        return [request for request in self.requests if request.path.split("?")[0] == path.split("?")[0]]


@contextmanager
def recording_server() -> Iterator[RecordingServer]:
    recording = RecordingServer(base="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                recording.requests.append(Captured(self.path, dict(self.headers.items()), body))
                statuses = recording.script.get(self.path.split("?")[0]) or [200]
                status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            answer = b"ok" if status == 200 else b"server trouble"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recording.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield recording
    finally:
        server.shutdown()
        server.server_close()
