"""Graph stores: ad-hoc Cypher on a snapshot (embedded LadybugDB by default, Neo4j for teams) and exports.

    from graph.stores import run_read_query, CypherError, ReadOnlyError
    result = run_read_query(Path("crosspath-out/snapshot.arrow"), "MATCH (i:Identity) RETURN i.id LIMIT 5")
    result.columns, result.rows
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graph.stores.errors import CypherError, ReadOnlyError, RefusedQueryError, StoreCrashError
from graph.stores.results import QueryResult

__all__ = ["CypherError", "QueryResult", "ReadOnlyError", "RefusedQueryError", "StoreCrashError", "run_read_query"]


def run_read_query(snapshot_path: Path, query: str, parameters: dict[str, Any] | None = None,
                   limit: int | None = None, timeout_s: float = 60,
                   memory_limit: int | str | None = None) -> QueryResult:
    """Run read-only Cypher on the embedded store of `snapshot_path` (built on first use, then reused).

    The query must pass the console's check first (graph.stores.readonly: one statement, reading clauses,
    allow-listed procedures), then runs in a child process: stopped after `timeout_s`, its address space
    capped at `memory_limit` (bytes or "4GiB"; None: $CROSSPATH_CYPHER_MEMORY_LIMIT or 4 GiB; 0: no cap).
    At most `limit` rows are returned (`truncated` says when there were more). Raises RefusedQueryError
    (ReadOnlyError for writes, file reads and settings) before anything runs, StoreCrashError when the
    store's process dies, and CypherError for anything else that fails (syntax, timeout, memory)."""
    from graph.stores.embedded import open_store
    from graph.stores.readonly import refuse_writes

    refuse_writes(query)
    return open_store(Path(snapshot_path)).query(query, parameters, limit=limit, timeout_s=timeout_s,
                                                 memory_limit=memory_limit)
