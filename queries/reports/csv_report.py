"""findings.csv: one row per finding, for spreadsheets and ticket imports.

Spreadsheets run a cell that starts with = + - @ (or a tab / carriage return) as a formula, and
names come from customer data, so such cells get a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from queries.findings import Analysis, Finding
from queries.reports.describe import path_text

COLUMNS = (
    "rank", "id", "severity", "status", "gap_types", "title",
    "entry_id", "entry_name", "entry_provider", "entry_kind", "entry_mfa", "entry_age_days",
    "target_id", "target_name", "target_provider", "target_level",
    "targets_count", "hops", "providers", "path", "exception_id", "exception_state", "exception_owner",
    "exception_expires", "first_seen", "days_open", "new", "reopened", "overdue", "owner", "entry_last_used",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guard(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _mfa(value: bool | None) -> str:
    return {True: "yes", False: "no"}.get(value, "unknown")


def row(rank: int, finding: Finding) -> dict[str, Any]:
    entry, target, exc = finding.entry, finding.target, finding.exception
    values = {
        "rank": rank,
        "id": finding.id,
        "severity": finding.severity,
        "status": finding.status,
        "gap_types": ";".join(finding.gap_types),
        "title": finding.title,
        "entry_id": entry.get("id", ""),
        "entry_name": entry.get("name", ""),
        "entry_provider": entry.get("provider", ""),
        "entry_kind": entry.get("kind", ""),
        "entry_mfa": _mfa(entry.get("mfa")),
        "entry_age_days": "" if entry.get("age_days") is None else entry["age_days"],
        "target_id": target.get("id", ""),
        "target_name": target.get("name", ""),
        "target_provider": target.get("provider", ""),
        "target_level": target.get("level") or "",
        "targets_count": finding.targets_count,
        "hops": finding.hops,
        "providers": ">".join(finding.providers),
        "path": path_text(finding),
        "exception_id": exc.id if exc else "",
        "exception_state": exc.state if exc else "",
        "exception_owner": exc.owner if exc else "",
        "exception_expires": (exc.expires or "never") if exc else "",
        "first_seen": finding.first_seen or "",
        "days_open": finding.days_open,
        "new": "yes" if finding.new else "no",
        "reopened": "yes" if finding.reopened else "no",
        "overdue": "yes" if finding.overdue else "no",
        "owner": finding.owner,
        "entry_last_used": entry.get("last_used") or "",
    }
    return {key: guard(value) for key, value in values.items()}


def render(analysis: Analysis) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for rank, finding in enumerate(analysis.findings, 1):
        writer.writerow(row(rank, finding))
    return buffer.getvalue()
