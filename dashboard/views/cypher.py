"""Cypher console: read-only queries on the snapshot, through the embedded Cypher store."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.context import Context

EXAMPLE = ("MATCH (c:Credential)-[:AUTHENTICATES]->(i:Identity)\n"
           "RETURN c.name AS credential, c.kind AS kind, i.name AS identity LIMIT 25")
MAX_ROWS = 5000


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
    try:
        result = run_read_query(ctx.current.path, query)
    except CypherError as exc:
        st.error(str(exc))
        return
    rows = result.rows[:MAX_ROWS]
    st.caption(f"{len(result.rows)} row(s)" + (f"; the first {MAX_ROWS} are shown" if len(result.rows) > MAX_ROWS
                                                else ""))
    st.dataframe(pd.DataFrame(rows, columns=result.columns), hide_index=True, width="stretch")
