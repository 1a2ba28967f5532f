"""Overview: what must I fix first? Counts, the top 10, coverage, the top fixes, owners and overdue per team,
the trend."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cache
from dashboard.context import Context
from queries.findings import GAP_TYPES, SEVERITIES
from queries.reports.coverage_text import coverage
from queries.reports.describe import counts_text

SEVERITY_COLORS = {"low": "#9E9E9E", "medium": "#F9A825", "high": "#EF6C00", "critical": "#B71C1C"}
TREND_SNAPSHOTS = 12  # the trend reads at most this many snapshots (each is analysed once, then cached)
TREND_AUTO_BYTES = 5_000_000  # older snapshots larger than this join the trend on request (a 100k-identity
# snapshot is ~26 MB and takes tens of seconds to read and analyse)
TREND_ALL = "trend_all"  # session state: the user asked for the large snapshots too


def _counts(title: str, counts: dict[str, int], label: str) -> None:
    st.markdown(f"**{title}**")
    frame = pd.DataFrame({label: list(counts), "open findings": list(counts.values())})
    st.bar_chart(frame, x=label, y="open findings", horizontal=True, sort=False, height=200, x_label="",
                 y_label="", color="#0078D4")


def _coverage(ctx: Context) -> None:
    st.subheader("Coverage per source")
    meta = ctx.metadata
    st.caption(f"Collected at {meta.get('collected_at') or 'unknown'} · snapshot written "
               f"{meta.get('created_at') or 'unknown'} · Crosspath {meta.get('tool_version') or '?'}")
    raw = meta.get("coverage") if isinstance(meta.get("coverage"), dict) else {}
    rows = []
    for item in coverage(ctx.analysis):
        source = raw.get(item.source) or {}
        rows.append({
            "source": item.source,
            "status": str(item.status),
            "what this means": item.statement,
            "scopes": len(item.scopes),
            "files": len(source.get("files") or []),
            "errors": len(item.errors),
            "notes": "; ".join(source.get("notes") or []),  # e.g. calls a live collection was denied
            "counts": counts_text(item.counts),
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    errors = [error for item in coverage(ctx.analysis) for error in item.errors]
    if errors:
        with st.expander(f"{len(errors)} rejected file(s) or record(s)"):
            st.text("\n".join(errors))


def _fixes(ctx: Context) -> None:
    st.subheader("Top fixes: the single changes that close the most open findings")
    fixes = cache.top_fixes(ctx.key, ctx.policy_key, ctx.exceptions_key, ctx.current.uploaded)
    if not fixes:
        st.success("No change to suggest: no open findings.")
        return
    st.dataframe(pd.DataFrame([{"#": fix["rank"], "change": fix["description"], "closes": fix["closes"],
                                "open after": fix["remaining_open"], "findings": ", ".join(fix["closed"])}
                               for fix in fixes]), hide_index=True, width="stretch", key="fixes_table")
    st.caption("Each count is verified: the change applied, the paths found again. Greedy: each fix counts only "
               "what the ones above it left open (`crosspath fixes`).")


def _owners(summary: dict) -> None:
    st.subheader("Owners: open and overdue findings per team")
    rows = [{"team": team, "open": count, "overdue": summary["overdue_by_owner"].get(team, 0)}
            for team, count in summary["by_owner"].items()]
    if not rows:
        st.success("No open findings to own.")
        return
    frame = pd.DataFrame(rows).sort_values(["overdue", "open", "team"], ascending=[False, False, True])
    st.dataframe(frame, hide_index=True, width="stretch", key="owners_table")
    if summary["unowned"]:
        st.caption(f"{summary['unowned']} open finding(s) have no owner: nobody is asked to fix them. Add owner or "
                   "team tags to the identities, or owners rules to the policy (docs/owners.md).")


def _trend(ctx: Context) -> None:
    st.subheader("Trend across snapshots")
    history = ctx.snapshots[:TREND_SNAPSHOTS]
    older = [s for s in history if s.path != ctx.current.path]
    large = [s for s in older if s.path.stat().st_size > TREND_AUTO_BYTES]
    if large and not st.session_state.get(TREND_ALL):
        st.button(f"Add {len(large)} large older snapshot(s) to the trend (each is read and analysed once)",
                  key="trend_add", on_click=st.session_state.update, kwargs={TREND_ALL: True})
        older = [s for s in older if s not in large]
    summary = ctx.analysis.summary()
    points = [{"snapshot": ctx.current.label, "collected_at": ctx.metadata.get("collected_at"),
               **summary["by_severity"], "open": summary["open"]}]
    for snapshot in older:
        points.append({"snapshot": snapshot.label,
                       **cache.trend_point(snapshot.key, ctx.policy_key, ctx.exceptions_key)})
    if len(points) < 2:
        st.info("Only one snapshot in the trend: every `crosspath scan` adds one to the history, and the "
                "trend appears from the second.")
    frame = pd.DataFrame(points)
    frame["collected_at"] = pd.to_datetime(frame["collected_at"], utc=True, errors="coerce")
    frame = frame.sort_values("collected_at")
    st.line_chart(frame, x="collected_at", y=list(SEVERITIES), height=260, x_label="collected at",
                  y_label="open findings", color=[SEVERITY_COLORS[s] for s in SEVERITIES])


def render(ctx: Context) -> None:
    st.header("Overview")
    summary = ctx.analysis.summary()
    columns = st.columns(6)
    columns[0].metric("Open findings", summary["open"])
    columns[1].metric("Critical", summary["by_severity"]["critical"])
    columns[2].metric("High", summary["by_severity"]["high"])
    columns[3].metric("Excepted", summary["excepted"])
    columns[4].metric("MFA unknown", summary["mfa_unknown"])
    columns[5].metric("Privileged targets", ctx.analysis.stats.get("privileged_targets", 0))
    columns = st.columns(4)
    columns[0].metric("New since the last scan", summary["new"])
    columns[1].metric("Reopened", summary["reopened"])
    columns[2].metric("Overdue", summary["overdue"])
    columns[3].metric("Unowned", summary["unowned"])
    left, middle, right = st.columns(3)
    with left:
        _counts("By gap type", {gap: summary["by_gap_type"][gap] for gap in GAP_TYPES}, "gap type")
    with middle:
        _counts("By entry provider", summary["by_entry_provider"], "provider")
    with right:
        _counts("By severity", {sev: summary["by_severity"][sev] for sev in reversed(SEVERITIES)}, "severity")
    st.subheader("Fix these first: the top 10 open findings")
    frame = ctx.findings()
    top = frame[frame["status"] == "open"].head(10) if not frame.empty else frame
    if top.empty:
        st.success("No open findings in this snapshot.")
    else:
        st.dataframe(top[["rank", "severity", "gaps", "title", "hops", "targets", "id"]], hide_index=True,
                     width="stretch")
    _coverage(ctx)
    _fixes(ctx)
    _owners(summary)
    _trend(ctx)

