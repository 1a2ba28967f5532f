"""Graph stores: ad-hoc Cypher on a snapshot (embedded LadybugDB by default, Neo4j for teams) and exports.

    from graph.stores import run_read_query, CypherError, ReadOnlyError
    result = run_read_query(Path("crosspath-out/snapshot.json.gz"), "MATCH (i:Identity) RETURN i.id LIMIT 5")
    result.columns, result.rows
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graph.stores.errors import CypherError, ReadOnlyError
from graph.stores.results import QueryResult

__all__ = ["CypherError", "QueryResult", "ReadOnlyError", "run_read_query"]


def run_read_query(snapshot_path: Path, query: str, parameters: dict[str, Any] | None = None,
                   limit: int | None = None, timeout_s: float = 60) -> QueryResult:
    """Run read-only Cypher on the embedded store of `snapshot_path` (built on first use, then reused).
    At most `limit` rows are returned (`truncated` says when there were more); a query running longer
    than `timeout_s` is stopped. Raises ReadOnlyError for writing queries and CypherError for anything
    else that fails."""
    from graph.stores.embedded import open_store
    from graph.stores.readonly import refuse_writes

    refuse_writes(query)
    return open_store(Path(snapshot_path)).query(query, parameters, limit=limit, timeout_s=timeout_s)
