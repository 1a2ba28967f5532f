"""Findings: filter, search, sort and page the table; download the filtered set; show a path."""

from __future__ import annotations

import streamlit as st

from dashboard.context import Context
from dashboard.path_views import from_finding
from dashboard.tables import (
    SHOWN_COLUMNS,
    SORTS,
    FindingFilter,
    options,
    page_count,
    page_of,
    provider_options,
    sort_frame,
    subset,
)
from dashboard.views.common import open_finding_button, show_picture
from queries.findings import GAP_TYPES, SEVERITIES
from queries.reports import csv_report, json_report

SELECTED = "findings_selected"
ROW_PICK = "findings_row_pick"  # session state: the table row selection already applied


def _filters(ctx: Context) -> FindingFilter:
    frame = ctx.findings()
    search = st.text_input("Search (id, entry, target, path)", key="findings_search",
                           placeholder="e.g. prod, CP-…, alice")
    row1 = st.columns(4)
    gap_types = row1[0].multiselect("Gap type", list(GAP_TYPES), key="findings_gap")
    severities = row1[1].multiselect("Severity", list(reversed(SEVERITIES)), key="findings_severity")
    providers = row1[2].multiselect("Provider on the path", provider_options(frame), key="findings_provider")
    cross = row1[3].selectbox("Cross-stack", ["any", "yes", "no"], key="findings_cross")
    row2 = st.columns(4)
    kinds = row2[0].multiselect("Entry kind", options(frame, "entry_kind"), key="findings_entry_kind")
    envs = row2[1].multiselect("Target environment", options(frame, "target_environment"), key="findings_env")
    statuses = row2[2].multiselect("Exception", ["none", "in force", "expired", "outgrown", "refused"],
                                   key="findings_exception")
    row2[3].selectbox("Sort by", list(SORTS), key="findings_sort")
    return FindingFilter(gap_types, providers, cross, severities, kinds, envs, statuses, search)


def render(ctx: Context) -> None:
    st.header("Findings")
    if ctx.exceptions_error:
        st.warning(ctx.exceptions_error)
    chosen = _filters(ctx)
    filtered = sort_frame(chosen.apply(ctx.findings()), st.session_state.get("findings_sort", "rank"))
    total = len(ctx.findings())
    pages = page_count(len(filtered))
    top = st.columns([2, 1, 1, 1])
    top[0].markdown(f"**{len(filtered)}** of {total} findings")
    page = top[1].number_input("Page", min_value=1, max_value=pages, value=1, step=1, key="findings_page")
    ids = list(filtered["id"]) if not filtered.empty else []
    top[2].download_button("CSV", data=lambda: csv_report.render(subset(ctx.analysis, ids)),
                           file_name="findings-filtered.csv", mime="text/csv", key="findings_csv",
                           on_click="ignore", icon=":material/download:")
    top[3].download_button("JSON", data=lambda: json_report.render(subset(ctx.analysis, ids)),
                           file_name="findings-filtered.json", mime="application/json",
                           key="findings_json", on_click="ignore", icon=":material/download:")
    shown = page_of(filtered, int(page))
    if shown.empty:
        st.info("No finding matches these filters.")
        return
    st.caption(f"Page {int(page)} of {pages}; click a column header to sort this page.")
    selection = st.dataframe(
        shown[SHOWN_COLUMNS], hide_index=True, width="stretch", key="findings_table",
        on_select="rerun", selection_mode="single-row",
        column_config={"key_age_days": st.column_config.NumberColumn("key age (days)")},
    )
    labels = {row.id: f"#{row.rank} {row.severity} · {row.title}" for row in shown.itertuples()}
    picked_rows = getattr(getattr(selection, "selection", None), "rows", []) or []
    picked = shown.iloc[picked_rows[0]]["id"] if picked_rows and picked_rows[0] < len(shown) else None
    if picked is not None and picked != st.session_state.get(ROW_PICK):
        # A new click in the table wins; a row left selected does not override the selector below.
        st.session_state[SELECTED] = picked
    st.session_state[ROW_PICK] = picked
    if st.session_state.get(SELECTED) not in labels:
        st.session_state[SELECTED] = next(iter(labels))
    finding_id = st.selectbox("Show the path of", list(labels), format_func=labels.get, key=SELECTED)
    finding = ctx.finding(finding_id)
    st.markdown(f"**{finding.severity.upper()}** · {', '.join(finding.gap_types)} · `{finding.id}`")
    show_picture(from_finding(finding))
    open_finding_button(finding.id, key="findings_open_path")
