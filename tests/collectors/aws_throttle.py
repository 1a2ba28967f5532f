"""A local HTTP proxy in front of the moto server that answers chosen AWS operations with throttling
errors first, the way AWS does: `Throttling` in the query protocol's XML (IAM, STS) and
`ThrottlingException` in the JSON protocol (Organizations, Identity Center). Everything else is passed
to moto unchanged, so botocore's own retry (adaptive mode, collectors/aws/live.py) meets real
throttled HTTP answers: botocore's Stubber answers before the retry layer and cannot show it.
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

_QUERY_ERROR = ('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
                "<Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
                "<RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>")
_JSON_ERROR = '{"__type": "ThrottlingException", "message": "Rate exceeded"}'
_HOP_BY_HOP = {"connection", "transfer-encoding", "keep-alive", "content-length"}


@dataclass
class ThrottlingProxy:
    upstream: str  # the moto server, http://host:port
    throttle: dict[str, int] = field(default_factory=dict)  # operation -> how many of its first calls to throttle
    calls: Counter = field(default_factory=Counter)  # operation -> requests seen (throttled ones included)
    throttled: Counter = field(default_factory=Counter)
    url: str = ""
    _server: Any = None

    def start(self) -> ThrottlingProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation, protocol = _operation(self.headers, body)
                proxy.calls[operation] += 1
                if operation and proxy.throttled[operation] < proxy.throttle.get(operation, 0):
                    proxy.throttled[operation] += 1
                    self._reply(400, *(({"x-amzn-ErrorType": "ThrottlingException",
                                         "Content-Type": "application/x-amz-json-1.1"}, _JSON_ERROR)
                                       if protocol == "json" else ({"Content-Type": "text/xml"}, _QUERY_ERROR)))
                    return
                target = urlparse(proxy.upstream)
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    connection.request(self.command, self.path, body, dict(self.headers))
                    answer = connection.getresponse()
                    payload = answer.read()
                    headers = {k: v for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP}
                    self._reply(answer.status, headers, payload)
                finally:
                    connection.close()

            def _reply(self, status: int, headers: dict[str, str], payload: str | bytes) -> None:
                data = payload.encode() if isinstance(payload, str) else payload
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _operation(headers: Any, body: bytes) -> tuple[str, str]:
    """(operation name, "json" | "query" | "rest") of one botocore request."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1], "json"
    if body and headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        return action, "query"
    return "", "rest"
