"""Whether a long-lived key is unused: one rule for findings (queries/analysis.py) and fixes (queries/fixes.py).

A key is unused when its source says when it was last used (or that it never was) and that is longer ago
than the policy's maximum key age. A key whose use the source does not record is of unknown use, never
"unused" (docs/owners.md, "Unused keys").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from graph.times import parse_time


def unused_days(node: dict[str, Any], as_of: datetime) -> int | None:
    """Days since the credential was last used, or since it was created when its source says it never was
    (`never_used`); None when the source does not tell."""
    last = parse_time(node.get("last_used"))
    if last is None and node.get("never_used") is True:
        last = parse_time(node.get("created"))
    return max(0, (as_of - last).days) if last is not None else None


def is_unused(days: int | None, max_age_days: int) -> bool:
    return days is not None and days > max_age_days
