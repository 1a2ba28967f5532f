"""Kubernetes RBAC collector (offline): one folder per cluster under `kubernetes/`.

`collect_offline(folder)` reads each `<folder>/<cluster>/` (kubectl List exports plus optional
namespaces.json, aws-auth.json, cluster.json) and returns records for the graph builder.
Secret values are never kept; see docs/collectors/kubernetes.md.
"""

from __future__ import annotations

from pathlib import Path

from collectors.base import UNEXPECTED, Listing, NotRead, account_for, list_exports, unexpected
from collectors.kubernetes.exports import SOURCE, load_cluster
from collectors.kubernetes.transform import ClusterRecords, transform_cluster
from collectors.live import LOG_NAME, apply_collection_log
from graph.coverage import CollectResult, CoverageStatus
from graph.records import RecordError

__all__ = ["cluster_folders", "collect_offline", "transform_cluster"]


def cluster_folders(folder: Path, listing: Listing | None = None) -> list[Path]:
    """`kubernetes/<cluster>/` sub-folders holding JSON files; a folder holding the JSON files itself is
    one cluster."""
    listing = listing or list_exports(folder)
    holding = {path.parent for path in listing.files} | {item.path.parent for item in listing.not_read}
    subfolders = [p for p in listing.subfolders(folder) if p in holding]
    if subfolders:
        return subfolders
    return [folder] if any(p.parent == folder and p.name != LOG_NAME for p in listing.files) else []


def _stray_files(folder: Path, clusters: list[Path], listing: Listing) -> list[NotRead]:
    """JSON files outside the cluster folders (nested deeper, or beside the cluster folders)."""
    return [NotRead(path, "not in a cluster folder (kubernetes/<cluster>/*.json)") for path in listing.files
            if path.parent not in clusters and path != folder / LOG_NAME]


def collect_offline(folder: Path) -> CollectResult:
    result = CollectResult(SOURCE)
    folder = Path(folder)
    if not folder.is_dir():
        result.coverage.status = CoverageStatus.MISSING  # fail() keeps a status that is not complete
        result.fail(RecordError(SOURCE, str(folder), "", "", "export folder not found",
                                "create kubernetes/<cluster>/rbac.json as in docs/collectors/kubernetes.md"))
        return result
    listing = list_exports(folder)
    clusters = cluster_folders(folder, listing)
    listing.not_read.extend(_stray_files(folder, clusters, listing))
    account_for(result, listing, "cluster export (*.json)")
    if not clusters:
        result.coverage.status = CoverageStatus.FAILED if listing.not_read else CoverageStatus.MISSING
        result.coverage.notes.append(f"no cluster folders with JSON exports under {folder}")
        return result
    for cluster_folder in clusters:
        try:
            export = load_cluster(cluster_folder, listing.files_in(cluster_folder))
            records: ClusterRecords = transform_cluster(export)
        except UNEXPECTED as exc:  # the last line of defence: this cluster is lost, the others still load
            result.fail(unexpected(SOURCE, str(cluster_folder), f"cluster {cluster_folder.name}", exc))
            continue
        for file, (nodes, edges) in records.batches.items():
            result.add(file, nodes, edges)
        for error in records.errors:
            result.fail(error)
        if records.info.id not in result.coverage.scopes:
            result.coverage.scopes.append(records.info.id)
        result.coverage.notes.extend(records.notes)
    result.coverage.count_records(result.nodes, result.edges)
    apply_collection_log(folder, result)
    return result
