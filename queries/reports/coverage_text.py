"""What each source covered, in one plain sentence per source that no reader can misread.

"gcp: not covered (no gcp/ folder in data/samples)": every report states a missing, failed or
partly rejected source this way, so a short report is never mistaken for a clean estate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph.coverage import CoverageStatus
from queries.findings import Analysis
from queries.reports.describe import plural, short_list

# Two rows that are not a source's own coverage status:
NOT_RECORDED = "unknown"  # the snapshot carries no coverage at all
ERRORS_ONLY = "errors"  # a source (or the build) that only reported errors, with no coverage of its own


@dataclass(frozen=True)
class SourceCoverage:
    source: str
    status: CoverageStatus | str  # a CoverageStatus, NOT_RECORDED, ERRORS_ONLY, or an unknown value shown as is
    statement: str  # one plain sentence a reader cannot misread, e.g. "gcp: not covered (no gcp/ folder)"
    scopes: list[str]
    counts: dict[str, Any]
    errors: list[str]

    @property
    def complete(self) -> bool:
        return self.status == CoverageStatus.COMPLETE


def error_text(error: dict[str, Any]) -> str:
    where = str(error.get("file") or "")
    if error.get("record"):
        where += f": record {error['record']}"
    if error.get("field"):
        where += f": field '{error['field']}'"
    text = f"{where}: {error.get('message', '')}" if where else str(error.get("message", ""))
    return f"{text} (fix: {error['fix']})" if error.get("fix") else text


def _status(item: dict[str, Any]) -> CoverageStatus | str:
    """The status a snapshot recorded; one this Crosspath does not know is kept as written."""
    raw = item.get("status")
    if raw is None:
        return ERRORS_ONLY
    try:
        return CoverageStatus(raw)
    except ValueError:
        return str(raw)


def _statement(source: str, status: CoverageStatus | str, notes: list[str], errors: int) -> str:
    if status == CoverageStatus.COMPLETE:
        return f"{source}: covered" + (f" ({plural(errors, 'error')})" if errors else "")
    if status == CoverageStatus.MISSING:
        reason = next((n.removeprefix("not covered: ") for n in notes if n), f"no {source}/ folder")
        return f"{source}: not covered ({reason})"
    if status == CoverageStatus.FAILED:
        return f"{source}: not covered (collection failed, {plural(errors, 'error')})"
    if status == CoverageStatus.PARTIAL:
        # A live run's failed or denied calls (a server that could not be reached, a denied API) say what is
        # missing better than an error count: name them (server, call, reason).
        live = [n.removeprefix("live collection ") for n in notes if n.startswith("live collection ")]
        if live and not errors:
            return f"{source}: partially covered (not collected: {short_list(live, 2)})"
        detail = f"; not collected: {short_list(live, 2)}" if live else ""
        return (f"{source}: partially covered ({plural(errors, 'error')}; paths through the rejected input are "
                f"missing{detail})")
    return f"{source}: {status}" + (f" ({plural(errors, 'error')})" if errors else "")


def coverage(analysis: Analysis) -> list[SourceCoverage]:
    """One row per source in the snapshot (sorted), plus any source that only reported errors."""
    meta = analysis.metadata or {}
    raw = meta.get("coverage") or {}
    items = raw if isinstance(raw, dict) else {item.get("source", "?"): item for item in raw}
    errors: dict[str, list[str]] = {}
    for error in meta.get("errors") or []:
        errors.setdefault(str(error.get("source") or "build"), []).append(error_text(error))
    if not items and not errors:
        return [SourceCoverage("snapshot", NOT_RECORDED, "coverage: not recorded in this snapshot; treat the "
                               "results as partial", [], {}, [])]
    rows = []
    for source in sorted(set(items) | set(errors)):
        item = items.get(source, {})
        status = _status(item)
        mine = errors.get(source, [])
        rows.append(SourceCoverage(
            source, status, _statement(source, status, list(item.get("notes") or []), len(mine)),
            list(item.get("scopes") or []), dict(item.get("counts") or {}), mine,
        ))
    return rows
