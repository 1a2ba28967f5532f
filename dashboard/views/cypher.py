"""Cypher console: read-only queries on the snapshot, through the embedded Cypher store."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.context import Context

EXAMPLE = ("MATCH (c:Credential)-[:AUTHENTICATES]->(i:Identity)\n"
           "RETURN c.name AS credential, c.kind AS kind, i.name AS identity LIMIT 25")
MAX_ROWS = 5000


def _cell(value: Any) -> Any:
    """Nodes, relationships, paths and lists as JSON text: one readable cell, whatever the store returns."""
    return value if value is None or isinstance(value, (str, bool, int, float)) else json.dumps(value, default=str)


def render(ctx: Context) -> None:
    st.header("Cypher console (read-only)")
    try:
        from graph.stores import CypherError, run_read_query
    except ImportError as exc:
        st.info(f"Cypher console not available: the embedded Cypher store is not installed in this build "
                f"({exc}). `crosspath` will offer it once the graph store lands; everything else works.")
        return
    query = st.text_area("Query", value=EXAMPLE, height=140, key="cypher_query")
    if not st.button("Run", key="cypher_run", type="primary"):
        return
    limit = {"limit": MAX_ROWS} if "limit" in inspect.signature(run_read_query).parameters else {}
    try:
        result = run_read_query(ctx.current.path, query, None, **limit)
    except CypherError as exc:
        st.error(str(exc))
        return
    rows = result.rows[:MAX_ROWS]
    truncated = getattr(result, "truncated", False) or len(result.rows) > MAX_ROWS
    st.caption(f"{len(rows)} row(s)" + (f"; stopped at {MAX_ROWS}" if truncated else ""))
    st.dataframe(pd.DataFrame([[_cell(value) for value in row] for row in rows], columns=result.columns),
                 hide_index=True, width="stretch")
