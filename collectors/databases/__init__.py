"""Database grants (PostgreSQL, MySQL / MariaDB) from `crosspath-db-dump` files.

One JSON file per server (format in docs/database-dump.md). The live collector (psycopg 3 /
PyMySQL) writes the same format with the documented read-only SELECTs, so both share
`transform_postgres` / `transform_mysql`.
"""

from __future__ import annotations

from pathlib import Path

from collectors.base import checked, json_files
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
    files = [p for p in json_files(folder) if p.name != LOG_NAME] if folder.is_dir() else []
    if not files:
        result.coverage.status = CoverageStatus.MISSING
        result.coverage.notes.append(f"no database dump (*.json) found under {folder}")
        apply_collection_log(folder, result)
        return result
    loaded = 0
    for path, (dump, row_errors, removed) in checked(files, load_dump, result.fail):
        for error in row_errors:
            result.fail(error)
        try:
            transformed = transform_dump(dump)
        except (KeyError, TypeError, ValueError) as exc:  # a shape the schema let through
            result.fail(RecordError(SOURCE, str(path), "", "", f"cannot transform dump: {exc!r}",
                                    "re-export with the documented queries (docs/database-dump.md)"))
            continue
        loaded += 1
        server_id = transformed.nodes[0]["id"]
        result.add(str(path), transformed.nodes, transformed.edges)
        result.coverage.scopes.append(server_id)
        result.coverage.notes.extend(transformed.notes)
        if removed:
            result.coverage.notes.append(f"{path.name}: dropped {removed} password-hash field(s); "
                                         "dumps must never carry them")
        for skipped in dump.get("skipped") or []:
            where = f" ({skipped['database']})" if skipped.get("database") else ""
            result.coverage.notes.append(f"{server_id}: section {skipped['section']}{where} not collected: "
                                         f"{skipped['reason']}")
    result.coverage.count_records(result.nodes, result.edges)
    if loaded == 0:
        result.coverage.status = CoverageStatus.FAILED
    apply_collection_log(folder, result)
    return result
