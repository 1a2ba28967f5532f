"""Kubernetes RBAC collector (offline): one folder per cluster under `kubernetes/`.

`collect_offline(folder)` reads each `<folder>/<cluster>/` (kubectl List exports plus optional
namespaces.json, aws-auth.json, cluster.json) and returns records for the graph builder.
Secret values are never kept; see docs/collectors/kubernetes.md.
"""

from __future__ import annotations

from pathlib import Path

from collectors.kubernetes.exports import SOURCE, load_cluster
from collectors.kubernetes.transform import ClusterRecords, transform_cluster
from collectors.live import apply_collection_log
from graph.coverage import CollectResult, CoverageStatus
from graph.records import RecordError

__all__ = ["cluster_folders", "collect_offline", "transform_cluster"]


def cluster_folders(folder: Path) -> list[Path]:
    """`kubernetes/<cluster>/` sub-folders; a folder holding the JSON files itself is one cluster."""
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and any(p.glob("*.json")))
    if subfolders:
        return subfolders
    return [folder] if any(folder.glob("*.json")) else []


def collect_offline(folder: Path) -> CollectResult:
    result = CollectResult(SOURCE)
    folder = Path(folder)
    if not folder.is_dir():
        result.coverage.status = CoverageStatus.MISSING  # fail() keeps a status that is not complete
        result.fail(RecordError(SOURCE, str(folder), "", "", "export folder not found",
                                "create kubernetes/<cluster>/rbac.json as in docs/collectors/kubernetes.md"))
        return result
    clusters = cluster_folders(folder)
    if not clusters:
        result.coverage.status = CoverageStatus.MISSING
        result.coverage.notes.append(f"no cluster folders with JSON exports under {folder}")
        return result
    for cluster_folder in clusters:
        records: ClusterRecords = transform_cluster(load_cluster(cluster_folder))
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
