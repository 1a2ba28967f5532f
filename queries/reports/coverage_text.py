"""What each source covered, in one plain sentence per source that no reader can misread.

"gcp: not covered (no gcp/ folder in data/samples)": every report states a missing, failed or
partly rejected source this way, so a short report is never mistaken for a clean estate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from queries.findings import Analysis
from queries.reports.describe import plural


@dataclass(frozen=True)
class SourceCoverage:
    source: str
    status: str
    statement: str  # one plain sentence a reader cannot misread, e.g. "gcp: not covered (no gcp/ folder)"
    scopes: list[str]
    counts: dict[str, Any]
    errors: list[str]

    @property
    def complete(self) -> bool:
        return self.status == "complete"


def error_text(error: dict[str, Any]) -> str:
    where = str(error.get("file") or "")
    if error.get("record"):
        where += f": record {error['record']}"
    if error.get("field"):
        where += f": field '{error['field']}'"
    text = f"{where}: {error.get('message', '')}" if where else str(error.get("message", ""))
    return f"{text} (fix: {error['fix']})" if error.get("fix") else text


def _statement(source: str, status: str, notes: list[str], errors: int) -> str:
    if status == "complete":
        return f"{source}: covered" + (f" ({plural(errors, 'error')})" if errors else "")
    if status == "missing":
        reason = next((n.removeprefix("not covered: ") for n in notes if n), f"no {source}/ folder")
        return f"{source}: not covered ({reason})"
    if status == "failed":
        return f"{source}: not covered (collection failed, {plural(errors, 'error')})"
    if status == "partial":
        return f"{source}: partially covered ({plural(errors, 'error')}; paths through the rejected input are missing)"
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
        return [SourceCoverage("snapshot", "unknown", "coverage: not recorded in this snapshot; treat the "
                               "results as partial", [], {}, [])]
    rows = []
    for source in sorted(set(items) | set(errors)):
        item = items.get(source, {})
        status = item.get("status", "errors")
        mine = errors.get(source, [])
        rows.append(SourceCoverage(
            source, status, _statement(source, status, list(item.get("notes") or []), len(mine)),
            list(item.get("scopes") or []), dict(item.get("counts") or {}), mine,
        ))
    return rows
