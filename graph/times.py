"""Timestamps: the one form records carry, and reading the shapes the sources send.

Records store every time as ISO 8601 UTC with seconds (`iso`); `parse_time` reads what the
sources, snapshots and manifests hold back into an aware datetime.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: Any) -> datetime | None:
    """Parse the timestamp shapes the sources use (ISO 8601 with Z, offsets, dates); None if absent."""
    if value in (None, "", "N/A", "not_supported", "no_information"):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip().replace("Z", "+00:00")
    if " " in text and "T" not in text:
        text = text.replace(" ", "T", 1)
    # Python 3.11 accepts up to 6 fractional digits; Graph and k8s may send 7.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    """The one timestamp form stored in records: ISO 8601, UTC, seconds."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
