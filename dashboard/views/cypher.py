"""Cypher console: read-only queries on the snapshot, through the embedded Cypher store."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.context import Context
from queries.cypher_library import LibraryError, LibraryQuery, load_library

EXAMPLE = ("MATCH (c:Credential)-[:AUTHENTICATES]->(i:Identity)\n"
           "RETURN c.name AS credential, c.kind AS kind, i.name AS identity LIMIT 25")
MAX_ROWS = 5000
SAVED = "cypher_saved"  # session state: the saved question picked ("" for the user's own query)
STORE = "lbug"  # the embedded store's dialect (queries/cypher: `name.lbug.cypher` where dialects differ)


def _cell(value: Any) -> Any:
    """Nodes, relationships, paths and lists as JSON text: one readable cell, whatever the store returns."""
    return value if value is None or isinstance(value, (str, bool, int, float)) else json.dumps(value, default=str)


def _use_saved(library: dict[str, LibraryQuery]) -> None:
    """Picking a saved question puts its text in the query box (still editable)."""
    chosen = library.get(st.session_state.get(SAVED) or "")
    if chosen is not None:
        st.session_state["cypher_query"] = chosen.text(STORE)


def _parameter_inputs(saved: LibraryQuery) -> dict[str, Any]:
    """One input per parameter of the saved question, with its default and help; empty text is not given."""
    given: dict[str, Any] = {}
    columns = st.columns(len(saved.parameters)) if saved.parameters else []
    for column, parameter in zip(columns, saved.parameters, strict=True):
        key = f"cypher_param:{saved.name}:{parameter.name}"
        label = f"{parameter.name} ({parameter.type}{', required' if parameter.required else ''})"
        if parameter.type == "bool":
            given[parameter.name] = column.checkbox(label, value=bool(parameter.default), key=key, help=parameter.help)
        elif parameter.type in ("int", "float") and parameter.default is not None:
            given[parameter.name] = column.number_input(label, value=parameter.default, key=key, help=parameter.help)
        else:
            text = column.text_input(label, value="" if parameter.default is None else str(parameter.default),
                                     key=key, help=parameter.help, placeholder=parameter.help or None)
            if text.strip():
                given[parameter.name] = text.strip()
    return given


def render(ctx: Context) -> None:
    st.header("Cypher console (read-only)")
    try:
        from graph.stores import CypherError, run_read_query
    except ImportError as exc:
        st.info(f"Cypher console not available: the embedded Cypher store is not installed in this build "
                f"({exc}). `crosspath` will offer it once the graph store lands; everything else works.")
        return
    library = load_library()
    names = [""] + sorted(library, key=lambda name: library[name].title)
    st.selectbox("Saved question", names, key=SAVED, on_change=_use_saved, args=(library,),
                 format_func=lambda name: library[name].title if name else "— write your own query —",
                 help="The query library (queries/cypher/, `crosspath cypher --library NAME`).")
    saved = library.get(st.session_state.get(SAVED) or "")
    given: dict[str, Any] = {}
    if saved is not None:
        st.caption(saved.description)
        given = _parameter_inputs(saved)
    if "cypher_query" not in st.session_state:
        st.session_state["cypher_query"] = EXAMPLE
    query = st.text_area("Query", height=140, key="cypher_query")
    if not st.button("Run", key="cypher_run", type="primary"):
        return
    limit = {"limit": MAX_ROWS} if "limit" in inspect.signature(run_read_query).parameters else {}
    try:
        parameters = saved.bind(given) if saved is not None else None
    except LibraryError:
        missing = [f"`{p.name}` ({p.help})" if p.help else f"`{p.name}`"
                   for p in saved.parameters if p.required and p.name not in given]
        st.error("Give " + ", ".join(missing) + " first." if missing
                 else "A parameter does not have its declared type: " + ", ".join(
                     f"`{p.name}` is {p.type}" for p in saved.parameters))
        return
    try:
        result = run_read_query(ctx.current.path, query, parameters, **limit)
    except CypherError as exc:
        st.error(str(exc))
        return
    rows = result.rows[:MAX_ROWS]
    truncated = getattr(result, "truncated", False) or len(result.rows) > MAX_ROWS
    st.caption(f"{len(rows)} row(s)" + (f"; stopped at {MAX_ROWS}" if truncated else ""))
    st.dataframe(pd.DataFrame([[_cell(value) for value in row] for row in rows], columns=result.columns),
                 hide_index=True, width="stretch")
