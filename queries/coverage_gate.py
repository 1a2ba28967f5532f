"""What a snapshot did not see, and what that means for gates and drift.

A source whose coverage is not `complete` in the newer snapshot did not re-check its findings: drift
calls them "not re-checked (source not covered)", never resolved. A gated run fails with its own exit
code when nothing was collected, or when a source that the previous snapshot covered is missing,
failed or partial now (unless the user named it optional).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graph.coverage import CoverageStatus

# A finding's providers (entry and every step) -> the source that collects them.
SOURCE_OF_PROVIDER = {"aws": "aws", "entra": "entra", "gcp": "gcp", "k8s": "kubernetes", "postgres": "databases",
                      "mysql": "databases"}
SEEN = (CoverageStatus.COMPLETE, CoverageStatus.PARTIAL)


COLLECTED = frozenset(SOURCE_OF_PROVIDER.values())


def statuses(metadata: dict[str, Any] | None) -> dict[str, str]:
    """Collector source -> coverage status, from a snapshot's metadata (empty for no snapshot); other
    coverage entries (the identities file) are not sources."""
    coverage = (metadata or {}).get("coverage") or {}
    return {source: str(entry.get("status", "")) for source, entry in coverage.items()
            if isinstance(entry, dict) and source in COLLECTED}


def not_complete(metadata: dict[str, Any] | None) -> set[str]:
    return {source for source, status in statuses(metadata).items() if status != CoverageStatus.COMPLETE}


def sources_of(providers: Iterable[str]) -> set[str]:
    return {SOURCE_OF_PROVIDER[p] for p in providers if p in SOURCE_OF_PROVIDER}


def nothing_collected(metadata: dict[str, Any]) -> bool:
    return not any(status in SEEN for status in statuses(metadata).values())


def gate_problems(previous: dict[str, Any] | None, current: dict[str, Any], optional: Iterable[str] = ()) -> list[str]:
    """Why a gated run must not pass on this snapshot's coverage (empty when it may)."""
    if nothing_collected(current):
        return ["nothing was collected: every source is missing or failed"]
    optional = set(optional)
    before, now = statuses(previous), statuses(current)
    problems = []
    for source, status in sorted(before.items()):
        if source in optional or status not in SEEN:
            continue
        if now.get(source) not in SEEN:
            problems.append(f"{source}: covered in the previous snapshot ({status}), {now.get(source, 'missing')} now")
        elif status == CoverageStatus.COMPLETE and now[source] == CoverageStatus.PARTIAL:
            problems.append(f"{source}: complete in the previous snapshot, partial now")
    return problems
