"""How long a finding has been open, whether it is new or back, and whether it is overdue: carried from one
snapshot to the next by the finding's stable id (docs/findings.md, "Lifecycle").

The snapshot's metadata (`carried`) keeps `first_seen` ({finding id: collection time}) for the findings
it had and `closed` ({finding id: collection time}) for those that were gone. A scan reads the previous
snapshot's, keeps the dates of findings still present, dates new ones at its own collection time, and
marks a finding that was closed and is back as reopened (its days open count again from now). Without a
previous snapshot every finding is new. The policy's `sla_days` (per severity) makes a finding overdue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from graph.times import iso, parse_time
from queries.coverage_gate import sources_of
from queries.findings import Finding

FIRST_SEEN = "first_seen"  # carried: {finding id: collection time first seen (this time round)}
CLOSED = "closed"  # carried: {finding id: collection time it was first gone}
SOURCES = "sources"  # carried: {finding id: the sources its path crosses}, to tell gone from unseen
OPEN = "open"  # carried: ids of the findings that were open (not excepted), to tell what a run changed


def carry_lifecycle(findings: list[Finding], previous: dict[str, Any], as_of: datetime,
                    sla_days: dict[str, int], unread: set[str] = frozenset()) -> dict[str, dict[str, Any]]:
    """Set each finding's first_seen, last_seen, days_open, new, reopened, due and overdue; return what the
    next scan carries on. `unread`: sources not completely read this time; a finding gone now whose path
    crosses one may only be unseen, so it is carried on as open, not closed (`crosspath diff` calls it
    "not re-checked")."""
    now = iso(as_of)
    seen_before = {key: value for key, value in (previous.get(FIRST_SEEN) or {}).items() if _time(value)}
    closed = {key: value for key, value in (previous.get(CLOSED) or {}).items() if _time(value)}
    earlier_sources = previous.get(SOURCES) or {}
    first_seen, sources, unseen_open = {}, {}, []
    for finding in findings:
        sources[finding.id] = sorted(sources_of(finding.providers))
        earlier = seen_before.get(finding.id)
        finding.reopened = earlier is None and finding.id in closed
        finding.new = earlier is None
        finding.first_seen = min(earlier, now, key=_time) if earlier else now  # a scan dated before it
        finding.last_seen = now
        first_seen[finding.id] = finding.first_seen
        closed.pop(finding.id, None)
        finding.days_open = days_open(finding, as_of)
        limit = sla_days.get(finding.severity)
        if limit is not None:
            due = _time(finding.first_seen) + timedelta(days=int(limit))
            finding.due = iso(due)
            finding.overdue = finding.status == "open" and as_of > due
    for finding_id in seen_before.keys() - first_seen.keys():
        crossed = set(earlier_sources.get(finding_id) or ()) if isinstance(earlier_sources, dict) else set()
        if crossed & unread:
            first_seen[finding_id], sources[finding_id] = seen_before[finding_id], sorted(crossed)
            if finding_id in (previous.get(OPEN) or ()):
                unseen_open.append(finding_id)  # still open as far as anyone can tell
        else:
            closed[finding_id] = now
    return {FIRST_SEEN: first_seen, CLOSED: closed, SOURCES: sources,
            OPEN: sorted([finding.id for finding in findings if finding.status == "open"] + unseen_open)}


@dataclass
class Changes:
    """What changed since the previous snapshot, as the previous run reported it (its exceptions then):
    open findings that were not open before, and ones that are no longer open; a finding gone while a
    source on its path was not completely read is not resolved but not re-checked."""

    new: list[Finding] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    not_rechecked: list[str] = field(default_factory=list)


def changes_since(previous: dict[str, Any], findings: list[Finding], unread: set[str]) -> Changes | None:
    """None without a previous snapshot (or one written before it carried its open findings)."""
    if not isinstance(previous.get(OPEN), list):
        return None
    was_open = set(previous[OPEN])
    now_open = {finding.id for finding in findings if finding.status == "open"}
    crossed = previous.get(SOURCES) or {}
    gone = sorted(was_open - now_open)
    unseen = [fid for fid in gone if set(crossed.get(fid) or ()) & unread and fid not in {f.id for f in findings}]
    return Changes(new=[f for f in findings if f.id in now_open - was_open],
                   resolved=[fid for fid in gone if fid not in unseen], not_rechecked=unseen)


_parse = lru_cache(maxsize=4096)(parse_time)  # a scan's findings share a few collection times: parsed once


def _time(value: Any) -> datetime | None:
    return _parse(value) if isinstance(value, str) else None


def days_open(finding: Finding, as_of: datetime) -> int:
    value = finding.first_seen
    first = _parse(value) if isinstance(value, str) else parse_time(value)  # None for None or ""
    return max(0, (as_of - first).days) if first else 0
