"""One JSON POST with the standard library (Teams, generic webhook). Errors name the status, never the URL."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

from crosspath.notify.errors import DeliveryError, PermanentDeliveryError

USER_AGENT = "crosspath-notify/1"
RETRYABLE_STATUSES = {408, 425, 429}  # plus every 5xx


def status_error(service: str, status: int, body: bytes | str = b"") -> DeliveryError:
    """An HTTP failure: 5xx and 408/425/429 are worth retrying, other 4xx are not."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())[:200]
    message = f"{service} answered HTTP {status}" + (f": {text}" if text else "")
    if status >= 500 or status in RETRYABLE_STATUSES:
        return DeliveryError(message)
    return PermanentDeliveryError(message)


def post_json(service: str, url: str, body: bytes, headers: dict[str, str] | None = None, *,
              timeout: float = 15.0, ssl_context: ssl.SSLContext | None = None) -> int:
    """POST `body` (already-encoded JSON) to `url`; return the 2xx status or raise DeliveryError."""
    request_headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    request_headers.update(headers or {})
    try:
        request = urllib.request.Request(url, data=body, headers=request_headers, method="POST")
    except ValueError:
        raise PermanentDeliveryError(f"{service}: the configured URL is not a valid http(s) URL") from None
    if request.type not in ("http", "https"):
        raise PermanentDeliveryError(f"{service}: the configured URL is not http(s)")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=ssl_context) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        raise status_error(service, error.code, error.read() if error.fp else b"") from None
    except urllib.error.URLError as error:
        raise DeliveryError(f"{service}: cannot connect: {error.reason}") from None
    except (TimeoutError, OSError) as error:
        raise DeliveryError(f"{service}: {type(error).__name__}: {error}") from None
