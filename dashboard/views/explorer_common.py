"""Picking one node out of 200k: a search box narrows a bounded pick list."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.tables import search_nodes
from dashboard.views.common import open_picture_button, show_picture


def pick_node(frame: pd.DataFrame, label: str, key: str) -> str | None:
    search = st.text_input(f"Search {label} by name or id", key=f"{key}_search")
    matches = search_nodes(frame, search)
    if matches.empty:
        st.info(f"No {label} matches {search!r}.")
        return None
    labels = {row.id: f"{row.name} · {row.provider} {row.kind}" for row in matches.itertuples()}
    note = f"showing the first {len(matches)} of the matches; type more to narrow" if len(matches) >= 200 else ""
    if st.session_state.get(key) not in labels:
        st.session_state[key] = next(iter(labels))
    return st.selectbox(label.capitalize(), list(labels), format_func=labels.get, key=key, help=note or None)


def table_with_paths(rows: list[dict], describe, prompt: str, key: str, button_key: str) -> None:
    """The rows as a table, then a selector (first 500 rows) that draws the chosen row's path.

    One selector per node (`key` includes the node id): a selector that keeps its key while its
    options change can show a stale label.
    """
    table = pd.DataFrame([{k: v for k, v in row.items() if k != "picture"} for row in rows])
    st.dataframe(table, hide_index=True, width="stretch")
    labels = {index: describe(row) for index, row in enumerate(rows[:500])}
    index = st.selectbox(prompt, list(labels), format_func=labels.get, key=key)
    picture = rows[index]["picture"]
    show_picture(picture)
    open_picture_button(picture, key=button_key)
