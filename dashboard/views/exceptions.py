"""Exceptions: the scan's review of every exception (its states, what to do), those needing action
highlighted; add one (validated, and refused as the policy would refuse it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.context import Context
from dashboard.exceptions_edit import NewException, add_exception
from queries.exception_review import fingerprint
from queries.findings import GAP_TYPES
from queries.reports.describe import exception_counts_text, exception_states_text
from queries.yaml_files import ConfigError

FORM = "exception_form"
ADDED = "exception_added"  # the confirmation, shown after the rerun that re-analyses
FINDING = "exc_finding"  # outside the form, so the fingerprint shows before submitting


def review_rows(review: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per exception, as the analysis judged it (Analysis.exception_review): nothing recomputed."""
    return [{
        "id": item["id"], "owner": item["owner"], "states": exception_states_text(item),
        "findings hidden": ", ".join(item["hides"]), "what to do": "; ".join(item["problems"]) or "nothing: in force",
        "expires": item["expires"], "review_by": item["review_by"], "approved_by": item["approved_by"],
        "approved_at": item["approved_at"], "ticket": item["ticket"], "scope": item["scope"],
        "where": item["where"], "needs action": bool(item["problems"]),
    } for item in review]


def _highlight(row: pd.Series) -> list[str]:
    style = "background-color: #FDECEA; color: #B71C1C" if row["needs action"] else ""
    return [style] * len(row)


def _table(ctx: Context) -> None:
    if ctx.exceptions_error:
        st.error(ctx.exceptions_error)
        return
    review = ctx.analysis.exception_review
    if not review:
        st.info("No exceptions yet.")
        return
    st.markdown(f"**{exception_counts_text(ctx.analysis)}** (judged at the snapshot's collection date, "
                f"{ctx.as_of.date()})")
    issues = len(ctx.analysis.exception_issues)
    if issues:
        st.warning(f"{issues} exception(s) need action (highlighted): see *what to do*.")
    frame = pd.DataFrame(review_rows(review))
    st.dataframe(frame.style.apply(_highlight, axis=1), hide_index=True, width="stretch", key="exceptions_table",
                 column_config={"ticket": st.column_config.LinkColumn("ticket"),
                                "needs action": None})


def _fingerprint(ctx: Context, finding_id: str) -> None:
    """What approving this finding records: a later scan re-opens it when it grows beyond this."""
    finding = ctx.finding(finding_id) if finding_id else None
    if finding is None:
        return
    print_ = fingerprint(finding)
    st.markdown("**Fingerprint approved** (a later scan re-opens the finding when it grows beyond this):")
    st.dataframe(pd.DataFrame([{
        "severity": print_["severity"], "gap types": ", ".join(print_["gap_types"]), "targets": print_["targets"],
        "providers": ", ".join(print_["providers"]), "edge kinds": ", ".join(print_["edge_kinds"]),
        "path hash": print_["path"],
    }]), hide_index=True, width="stretch", key="exc_fingerprint")


def _form(ctx: Context) -> None:
    path = ctx.settings.exceptions
    rules = ctx.analysis.policy["exceptions"]
    st.subheader("Add an exception")
    st.caption(f"Written to `{path}` (validated first, appended so comments stay); findings are re-analysed. "
               f"`created` is today's date. The policy allows {rules['max_findings']} finding(s) per exception "
               f"(more needs *broad* and an approver), a lifetime of {rules['max_lifetime_days']} days"
               + (", and requires approval." if rules["require_approval"] else "."))
    findings = {f.id: f"{f.id} · {f.title}" for f in ctx.analysis.findings if f.status == "open"}
    finding = st.selectbox("Finding", [""] + list(findings)[:500], key=FINDING,
                           format_func=lambda v: findings.get(v, "— or give a match below —"))
    _fingerprint(ctx, finding)
    with st.form(FORM, clear_on_submit=False):
        exc_id = st.text_input("Id", key="exc_id", placeholder="EX-2026-006")
        cols = st.columns(3)
        entry = cols[0].text_input("Entry id pattern", key="exc_entry", placeholder="entra:a1000000-*")
        gap_type = cols[1].selectbox("Gap type", [""] + list(GAP_TYPES), key="exc_gap")
        target = cols[2].text_input("Target id pattern", key="exc_target")
        owner = st.text_input("Owner", key="exc_owner", placeholder="team or person accountable")
        justification = st.text_area("Justification", key="exc_justification")
        cols = st.columns(3)
        expires = cols[0].date_input("Expires", value=ctx.as_of.date() + timedelta(days=90), key="exc_expires")
        review_by = cols[1].date_input("Review by (optional)", value=None, key="exc_review_by")
        ticket = cols[2].text_input("Ticket (link)", key="exc_ticket", placeholder="https://jira.example.com/…")
        cols = st.columns(2)
        approved_by = cols[0].text_input("Approved by", key="exc_approved_by", placeholder="ciso@example.com")
        approved_at = cols[1].date_input("Approved at", value=None, key="exc_approved_at")
        broad = st.checkbox("Broad: may match more findings than the policy's max_findings (needs an approver)",
                            key="exc_broad")
        submitted = st.form_submit_button("Add exception")
    if not submitted:
        return
    new = NewException(exc_id, owner, justification, expires, finding, entry, gap_type, target,
                       approved_by, approved_at, ticket, review_by, broad)
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
