"""Picking one node out of 200k: a search box narrows a bounded pick list."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard.tables import search_nodes
from dashboard.views.common import open_picture_button, show_picture


def _label(row) -> str:
    return f"{row.name} · person" if row.kind == "Person" else f"{row.name} · {row.provider} {row.kind}"


def pick_node(frame: pd.DataFrame, label: str, key: str, lookup: Callable[[str], list[str]] | None = None,
              search_label: str | None = None, default: str | None = None) -> str | None:
    """A search box and a pick list of the nodes whose id, name or email contain the text.

    With `lookup` (queries.people.People.lookup), text that names nodes exactly (an id, a person's
    email, a name) puts them first; when it names one, that one is selected as the text is entered.
    `default` is selected when nothing is yet (and the search box is empty).
    """
    search = st.text_input(search_label or f"Search {label} by name or id", key=f"{key}_search")
    named = lookup(search) if lookup and search.strip() else []
    matches = search_nodes(frame, search)
    if named:
        matches = pd.concat([frame[frame["id"].isin(named)], matches[~matches["id"].isin(named)]])
    elif default and not search.strip() and st.session_state.get(key) is None:
        matches = pd.concat([frame[frame["id"] == default], matches[matches["id"] != default]])
        st.session_state[key] = default
    if matches.empty:
        st.info(f"No {label} matches {search!r}.")
        return None
    labels = {row.id: _label(row) for row in matches.itertuples()}
    note = f"showing the first {len(matches)} of the matches; type more to narrow" if len(matches) >= 200 else ""
    if len(named) == 1 and named[0] in labels and st.session_state.get(f"{key}_named") != search:
        st.session_state[key] = named[0]  # the text names one node: select it once, then let the user choose
        st.session_state[f"{key}_named"] = search
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
