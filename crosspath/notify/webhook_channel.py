"""Generic JSON webhook: POST the notice's documented JSON (Notice.to_dict() plus `sent_at`).

With a secret: `X-Crosspath-Signature: sha256=<hex HMAC-SHA256(secret, exact body bytes)>` and
`X-Crosspath-Timestamp: <unix seconds>`; the same instant is inside the signed body as `sent_at`, so a
receiver can refuse replays of old bodies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from crosspath.notify.channel import UrlChannel
from crosspath.notify.http_post import post_json
from crosspath.notify.notice import Notice
from crosspath.notify.redaction import url_secrets

SIGNATURE_HEADER = "X-Crosspath-Signature"
TIMESTAMP_HEADER = "X-Crosspath-Timestamp"


def sign(secret: str, body: bytes) -> str:
    """The X-Crosspath-Signature value for `body`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """For receivers (and tests): constant-time comparison of the header with the body's signature."""
    return hmac.compare_digest(sign(secret, body), signature)


def webhook_body(notice: Notice, sent_at: int) -> bytes:
    document = notice.to_dict()
    document["sent_at"] = datetime.fromtimestamp(sent_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(repr=False)
class WebhookChannel(UrlChannel):
    secret: str | None = field(default=None, repr=False)

    kind = "webhook"

    def secrets(self) -> list[str]:
        return url_secrets(self.url) + ([self.secret] if self.secret else [])

    def send(self, notice: Notice) -> None:
        sent_at = int(time.time())
        body = webhook_body(notice, sent_at)
        headers = {TIMESTAMP_HEADER: str(sent_at)}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        post_json("webhook", self.url, body, headers, timeout=self.timeout, ssl_context=self.ssl_context)
