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


# Time bounds: when a grant's condition limits it to a window of time that can be proven from the
# condition text alone (AWS `aws:CurrentTime` / `aws:EpochTime` comparisons, GCP `request.time`
# comparisons), the collector writes each bound on the edge as `time_bounds`, strings
# "<operator> <ISO time>" that must all hold: `< 2025-01-01T00:00:00Z` (valid before), `<=`, `>`
# (valid after), `>=`. Collectors do not know the collection time; the graph builder evaluates the
# bounds against it (graph.builder) and draws no edge whose grant is inactive then.

BOUND_OPERATORS = ("<", "<=", ">", ">=")
_BOUND_WORDS = {"<": "valid before", "<=": "valid until", ">": "valid after", ">=": "valid from"}


def time_bound(operator: str, when: datetime) -> str:
    """One bound as edges carry it: `< 2025-01-01T00:00:00Z`."""
    if operator not in BOUND_OPERATORS:
        raise ValueError(f"time bound operator must be one of {BOUND_OPERATORS}, got {operator!r}")
    return f"{operator} {when.astimezone(UTC).isoformat().replace('+00:00', 'Z')}"


def parse_bound(text: Any) -> tuple[str, datetime] | None:
    """`< 2025-01-01T00:00:00Z` -> ("<", datetime); None when the text is not a bound."""
    operator, _, rest = str(text).strip().partition(" ")
    when = parse_time(rest)
    return (operator, when) if operator in BOUND_OPERATORS and when is not None else None


def bound_holds(text: Any, as_of: datetime) -> bool | None:
    """Does the bound hold at as_of? None when the text is not a bound."""
    parsed = parse_bound(text)
    if parsed is None:
        return None
    operator, when = parsed
    return {"<": as_of < when, "<=": as_of <= when, ">": as_of > when, ">=": as_of >= when}[operator]


def describe_bound(text: Any) -> str:
    """`< 2025-01-01T00:00:00Z` -> `valid before 2025-01-01T00:00:00Z`."""
    parsed = parse_bound(text)
    if parsed is None:
        return str(text)
    operator, when = parsed
    return f"{_BOUND_WORDS[operator]} {iso(when) if when.microsecond == 0 else when.isoformat()}"
