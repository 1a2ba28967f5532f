"""How long a finding has been open: `first_seen` carried from one snapshot to the next by its stable id.

The snapshot's metadata keeps `first_seen` ({finding id: collection time}) for the findings it had; a scan
reads the previous snapshot's, keeps the dates of findings still present and dates new ones at its own
collection time. A finding that disappears and comes back starts again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from graph.times import iso, parse_time
from queries.findings import Finding

FIRST_SEEN = "first_seen"  # snapshot metadata key


def carry_first_seen(findings: list[Finding], previous: dict[str, Any], as_of: datetime) -> dict[str, str]:
    """Set each finding's first_seen; return the map the next scan carries on."""
    now = iso(as_of)
    carried = {}
    for finding in findings:
        seen = previous.get(finding.id)
        finding.first_seen = seen if isinstance(seen, str) and parse_time(seen) is not None else now
        carried[finding.id] = finding.first_seen
    return carried


def days_open(finding: Finding, as_of: datetime) -> int:
    first = parse_time(finding.first_seen) if finding.first_seen else None
    return max(0, (as_of - first).days) if first else 0
