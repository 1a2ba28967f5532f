"""Exceptions: owner, justification, expiry; expired ones highlighted; add one (validated)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard.context import Context
from dashboard.exceptions_edit import CONFIRM_LABEL, NewException, add_exception, exception_rows
from queries.exceptions import load_exceptions
from queries.findings import GAP_TYPES
from queries.yaml_files import ConfigError

FORM = "exception_form"
ADDED = "exception_added"  # the confirmation, shown after the rerun that re-analyses


def _highlight_expired(row: pd.Series) -> list[str]:
    style = "background-color: #FDECEA; color: #B71C1C" if row["expired"] else ""
    return [style] * len(row)


def _table(ctx: Context) -> None:
    path = ctx.exceptions_path
    try:
        exceptions = load_exceptions(path) if path and path.exists() else []
    except ConfigError as exc:
        st.error(f"The exceptions file does not load, so findings are shown without it: {exc}")
        return
    rows = exception_rows(exceptions, ctx.analysis, ctx.as_of)
    if not rows:
        st.info("No exceptions yet.")
        return
    expired = sum(row["expired"] for row in rows)
    if expired:
        st.warning(f"{expired} exception(s) expired at the snapshot's collection date "
                   f"({ctx.as_of.date()}): their findings are open again.")
    frame = pd.DataFrame(rows)
    st.dataframe(frame.style.apply(_highlight_expired, axis=1), hide_index=True, width="stretch",
                 key="exceptions_table")


def _form(ctx: Context) -> None:
    path = ctx.settings.exceptions
    st.subheader("Add an exception")
    st.caption(f"Written to `{path}` (validated first, appended so comments stay); findings are re-analysed.")
    findings = {f.id: f"{f.id} · {f.title}" for f in ctx.analysis.findings if f.status == "open"}
    with st.form(FORM, clear_on_submit=False):
        exc_id = st.text_input("Id", key="exc_id", placeholder="EX-2026-003")
        finding = st.selectbox("Finding", [""] + list(findings)[:500], key="exc_finding",
                               format_func=lambda v: findings.get(v, "— or give a match below —"))
        cols = st.columns(3)
        entry = cols[0].text_input("Entry id pattern", key="exc_entry", placeholder="entra:a1000000-*")
        gap_type = cols[1].selectbox("Gap type", [""] + list(GAP_TYPES), key="exc_gap")
        target = cols[2].text_input("Target id pattern", key="exc_target")
        owner = st.text_input("Owner", key="exc_owner", placeholder="team or person accountable")
        justification = st.text_area("Justification", key="exc_justification")
        expires = st.date_input("Expires", value=ctx.as_of.date() + timedelta(days=90), key="exc_expires")
        covers_everything = st.checkbox(CONFIRM_LABEL, key="exc_covers_everything",
                                        help="Needed when the entry and target patterns match every finding "
                                             "(e.g. entry '*'): such an exception silences a whole rule.")
        submitted = st.form_submit_button("Add exception")
    if not submitted:
        return
    new = NewException(exc_id, owner, justification, expires, finding, entry, gap_type, target, covers_everything)
    try:
        added = add_exception(path, new, ctx.analysis, ctx.as_of)
    except ConfigError as exc:
        st.error(f"Not added: {exc}")
        return
    st.session_state[ADDED] = f"Added {added.id} to {path}; findings are re-analysed with it."
    st.rerun()


def render(ctx: Context) -> None:
    st.header("Exceptions")
    if ctx.exceptions_path is None:
        st.info("No exceptions file is configured. Start the dashboard with "
                "`streamlit run app.py -- --exceptions exceptions.yaml` (or set `CROSSPATH_EXCEPTIONS`) to list "
                "and add exceptions.")
        return
    if ADDED in st.session_state:
        st.success(st.session_state.pop(ADDED))
    _table(ctx)
    if ctx.settings.exceptions is None:  # the scan's own file: shown, never edited from here
        st.caption(f"These are the exceptions the scan used (`{ctx.exceptions_path}`). To add one, start the "
                   "dashboard with `--exceptions FILE` (a copy you may edit; `make dashboard` makes one).")
        return
    _form(ctx)
