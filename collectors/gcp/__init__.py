"""GCP IAM offline collector: gcloud JSON exports -> records (docs/collectors/gcp.md).

Read-only by construction: it reads files that `gcloud ... --format=json` wrote.
"""

from __future__ import annotations

from pathlib import Path

from collectors.base import account_for
from collectors.gcp.exports import SOURCE, load_export
from collectors.gcp.transform import transform_export
from collectors.live import apply_collection_log
from graph.coverage import CollectResult, CoverageStatus
from graph.records import RecordError

__all__ = ["collect_offline"]


def collect_offline(folder: Path) -> CollectResult:
    """Load every export under `folder`; one bad file is an error, the others still load."""
    folder = Path(folder)
    result = CollectResult(SOURCE)
    if not folder.is_dir():
        result.fail(RecordError(SOURCE, str(folder), "", "", "export folder not found",
                                "run the gcloud commands in docs/collectors/gcp.md into this folder"))
        result.coverage.status = CoverageStatus.MISSING
        return result
    export = load_export(folder)
    for error in export.errors:
        result.fail(error)
    out = transform_export(export)
    for file, (nodes, edges) in out.registry.batches.items():
        result.add(file, nodes, edges)
    listed = set(result.coverage.files)
    result.coverage.files += [file for file in export.files() if file not in listed]
    for error in out.errors:
        result.fail(error)
    coverage = result.coverage
    coverage.files.sort()
    coverage.scopes = out.scopes
    coverage.counts = dict(out.counts)
    coverage.count_records(result.nodes, result.edges)
    coverage.notes = out.notes
    account_for(result, export.listing, "gcloud export (*.json)")
    apply_collection_log(folder, result)
    if not export.files():
        unread = export.errors or export.listing.not_read
        coverage.status = CoverageStatus.MISSING if not unread else CoverageStatus.FAILED
        if not unread:
            result.errors.append(RecordError(SOURCE, str(folder), "", "", "no gcloud export files found",
                                             "see docs/collectors/gcp.md for the folder layout"))
    return result
