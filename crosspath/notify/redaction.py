"""What a channel may say about where it sends: host (and port), never a URL's path or query, a secret or a
password. Every repr, log line and Delivery.error goes through here."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

REDACTED = "***"


def url_host(url: str) -> str:
    """`https://hooks.slack.com/services/T0/B0/xyz` -> `hooks.slack.com` (port kept when given)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(invalid url)"
    if not host:
        return "(invalid url)"
    return f"{host}:{port}" if port else host


def url_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that work as a credential: the whole URL, its path and its query."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = [url]
    if parts.path not in ("", "/"):
        found.append(parts.path)
        found.extend(segment for segment in parts.path.split("/") if _token_like(segment))
    if parts.query:
        found.append(parts.query)
        found.extend(value for pair in parts.query.split("&") for value in pair.split("=")[1:] if _token_like(value))
    if parts.password:
        found.append(parts.password)
    return found


def _token_like(part: str) -> bool:
    """A path segment or query value that may be (part of) a credential: long, or mixing letters and digits
    (`T0AB12CD`, a signature), not a plain word such as `services` or `triggers`."""
    return len(part) >= 16 or (len(part) >= 6 and not part.isalpha())


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret replaced, longest first (so a URL goes before its own path)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):[^@\s/]*@")


def redact(text: str) -> str:
    """`text` (a collector's error, say) with any password written in a URL (`postgresql://u:SECRET@h`)
    replaced: what a run logs never carries one."""
    return _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)
