"""Database grants (PostgreSQL, MySQL / MariaDB) from `crosspath-db-dump` files.

One JSON file per server (format in docs/database-dump.md). The live collector (psycopg 3 /
PyMySQL) writes the same format with the documented read-only SELECTs, so both share
`transform_postgres` / `transform_mysql`.
"""

from __future__ import annotations

from pathlib import Path

from collectors.base import UNEXPECTED, account_for, checked, guard, json_files, unexpected
from collectors.databases.dump_format import SOURCE, load_dump
from collectors.databases.mysql import transform_mysql
from collectors.databases.output import Transformed
from collectors.databases.postgres import transform_postgres
from collectors.live import LOG_NAME, apply_collection_log
from graph.coverage import CollectResult, CoverageStatus
from graph.records import RecordError

__all__ = ["collect_offline", "transform_dump", "transform_mysql", "transform_postgres"]


def transform_dump(dump: dict) -> Transformed:
    """Records for one validated dump, whichever engine wrote it."""
    if dump["server"]["engine"] == "postgresql":
        return transform_postgres(dump)
    return transform_mysql(dump)


def collect_offline(folder: Path) -> CollectResult:
    """Read every `*.json` dump under folder; one bad file never stops the others."""
    result = CollectResult(SOURCE)
    folder = Path(folder)
    listing = json_files(folder) if folder.is_dir() else None
    files = [p for p in listing.files if p != folder / LOG_NAME] if listing else []
    if listing is not None:
        account_for(result, listing, "database dump (*.json)")
    if not files:
        unread = listing is not None and listing.not_read
        result.coverage.status = CoverageStatus.FAILED if unread else CoverageStatus.MISSING
        result.coverage.notes.append(f"no database dump (*.json) found under {folder}")
        apply_collection_log(folder, result)
        return result
    loaded = 0
    servers: dict[str, Path] = {}
    for path, (dump, row_errors, removed) in checked(files, guard(SOURCE, str, load_dump), result.fail):
        for error in row_errors:
            result.fail(error)
        try:
            transformed = transform_dump(dump)
            server_id = transformed.nodes[0]["id"]
            skipped_notes = [f"{server_id}: section {skipped['section']}"
                             + (f" ({skipped['database']})" if skipped.get("database") else "")
                             + f" not collected: {skipped['reason']}"
                             for skipped in dump.get("skipped") or []]
        except UNEXPECTED as exc:  # a shape the schema let through
            result.fail(unexpected(SOURCE, str(path), "", exc))
            continue
        loaded += 1
        if server_id in servers:
            # Both dumps' records are kept: the graph builder merges the nodes (the first file's values win,
            # the second fills gaps) and keeps every grant edge.
            result.fail(RecordError(SOURCE, str(path), f"server {server_id}", "server.name",
                                    f"a second dump of the same server (first: {servers[server_id]}); merged "
                                    "into the first (its values win, the second fills gaps, grants from both "
                                    "are kept)",
                                    "keep one dump per server, or give the servers distinct names"))
        servers.setdefault(server_id, path)
        result.add(str(path), transformed.nodes, transformed.edges)
        if server_id not in result.coverage.scopes:
            result.coverage.scopes.append(server_id)
        result.coverage.notes.extend(transformed.notes)
        if removed:
            result.coverage.notes.append(f"{path.name}: dropped {removed} password-hash field(s); "
                                         "dumps must never carry them")
        result.coverage.notes.extend(skipped_notes)
    result.coverage.count_records(result.nodes, result.edges)
    if loaded == 0:
        result.coverage.status = CoverageStatus.FAILED
    apply_collection_log(folder, result)
    return result
