"""Drift: pick two snapshots, see new and resolved findings, new identities, credentials and edges."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cache
from dashboard.context import Context
from queries.findings import Finding

SHOWN = 200  # rows per list; the counts above each list are complete


def _findings(findings: list[Finding]) -> pd.DataFrame:
    return pd.DataFrame([{"severity": f.severity, "gaps": ", ".join(f.gap_types), "title": f.title, "id": f.id}
                         for f in findings[:SHOWN]], columns=["severity", "gaps", "title", "id"])


def render(ctx: Context) -> None:
    st.header("Drift between snapshots")
    if len(ctx.snapshots) < 2:
        st.info("Drift needs two snapshots: run `crosspath scan` again later (each run adds one to "
                "`history/`), or upload an older snapshot in the sidebar.")
        return
    labels = {s.label: s for s in ctx.snapshots}
    names = list(labels)
    left, right = st.columns(2)
    old_name = left.selectbox("Older snapshot", names, index=1, key="drift_old")
    new_name = right.selectbox("Newer snapshot", names, index=0, key="drift_new")
    if old_name == new_name:
        st.info("Pick two different snapshots.")
        return
    drift = cache.drift(labels[old_name].key, labels[new_name].key, ctx.policy_key, ctx.exceptions_key)
    added = {family: len(ids) for family, ids in drift.nodes_added.items()}
    removed = {family: len(ids) for family, ids in drift.nodes_removed.items()}
    columns = st.columns(7)
    columns[0].metric("New findings", len(drift.new))
    columns[1].metric("Resolved findings", len(drift.resolved))
    columns[2].metric("Not re-checked", len(drift.not_rechecked))
    columns[3].metric("Changed findings", len(drift.changed))
    columns[4].metric("New identities", added.get("Identity", 0))
    columns[5].metric("New credentials", added.get("Credential", 0))
    columns[6].metric("Edges", f"+{len(drift.edges_added)} / -{len(drift.edges_removed)}")
    uncovered = {source: status for source, status in drift.coverage["new"].items() if status != "complete"}
    if uncovered:
        st.warning("Not covered in the newer snapshot: " + ", ".join(f"{s} ({v})" for s, v in sorted(uncovered.items()))
                   + ". Their findings are not re-checked, not resolved.")
    st.subheader(f"New findings ({len(drift.new)})")
    st.dataframe(_findings(drift.new), hide_index=True, width="stretch")
    st.subheader(f"Resolved findings ({len(drift.resolved)})")
    st.dataframe(_findings(drift.resolved), hide_index=True, width="stretch")
    if drift.not_rechecked:
        st.subheader(f"Not re-checked: source not covered ({len(drift.not_rechecked)})")
        st.dataframe(_findings(drift.not_rechecked), hide_index=True, width="stretch")
    if drift.changed:
        st.subheader(f"Changed findings ({len(drift.changed)})")
        st.dataframe(pd.DataFrame([
            {"id": new.id, "was": f"{old.severity} {', '.join(old.gap_types)}",
             "now": f"{new.severity} {', '.join(new.gap_types)}", "title": new.title}
            for old, new in drift.changed[:SHOWN]
        ]), hide_index=True, width="stretch")
    graph = cache.load_graph(labels[new_name].key)[0]
    for family in ("Identity", "Credential", "Resource"):
        ids = drift.nodes_added.get(family, [])
        with st.expander(f"New {family.lower()} nodes: {len(ids)} (removed: {removed.get(family, 0)})"):
            st.dataframe(pd.DataFrame([{"name": graph.nodes[i].get("name"), "kind": graph.nodes[i].get("kind"),
                                        "provider": graph.nodes[i].get("provider"), "id": i}
                                       for i in ids[:SHOWN]], columns=["name", "kind", "provider", "id"]),
                         hide_index=True, width="stretch")
    for title, edges in (("New edges", drift.edges_added), ("Removed edges", drift.edges_removed)):
        with st.expander(f"{title}: {len(edges)}"):
            st.dataframe(pd.DataFrame(edges[:SHOWN], columns=["source", "kind", "target"]), hide_index=True,
                         width="stretch")
