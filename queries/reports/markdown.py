"""report.md: coverage first (so a partial picture is never mistaken for a clean one), then
summary counts, the open findings in rank order, and the excepted findings apart."""

from __future__ import annotations

from html import escape

from queries.findings import GAP_TYPES, SEVERITIES, Analysis
from queries.reports.coverage_text import coverage
from queries.reports.describe import (
    FIXES_NOTE,
    FindingView,
    counts_text,
    exception_counts_text,
    exception_states_text,
    finding_views,
    fix_cut_text,
    plural,
    short_list,
)

_MD_SPECIAL = "\\`*_[]|#"  # the backslash first: the escapes added after it stay single


def md(text: object) -> str:
    """Customer text as inert Markdown: no HTML (entities), no emphasis, links or table breaks."""
    text = escape(str(text), quote=False)
    for special in _MD_SPECIAL:  # str.replace per character present: half the time of str.translate
        if special in text:
            text = text.replace(special, "\\" + special)
    return text.replace("\n", " ")


def _header(analysis: Analysis) -> list[str]:
    meta = analysis.metadata or {}
    return [
        "# Crosspath report: privileged write paths without MFA or with long-lived keys",
        "",
        f"- As of: {md(analysis.as_of)}",
        (f"- Snapshot {md(meta.get('snapshot_id') or 'unknown')}, collected at "
         f"{md(meta.get('collected_at') or 'unknown')}, Crosspath {md(meta.get('tool_version') or 'unknown')}"),
        f"- Policy: {md(analysis.policy.get('name', 'unknown'))}",
        "",
    ]


def _coverage(analysis: Analysis) -> list[str]:
    rows = coverage(analysis)
    lines = ["## Coverage", ""]
    gaps = [row.statement for row in rows if not row.complete]
    if gaps:
        lines += [(f"> **Partial coverage.** {md('; '.join(gaps))}. Paths through what was not covered "
                  "are missing from this report."), ""]
    lines += ["| Source | Status | Scopes | Counts | Errors |", "|---|---|---|---|---|"]
    for row in rows:
        status = md(row.status) if row.complete else f"**{md(row.statement)}**"
        lines.append(f"| {md(row.source)} | {status} | {md(short_list(row.scopes)) or '—'} | "
                     f"{md(counts_text(row.counts)) or '—'} | "
                     f"{len(row.errors)} |")
    errors = [f"- {md(row.source)}: {md(error)}" for row in rows for error in row.errors]
    return lines + ([""] + ["Errors:", ""] + errors if errors else []) + [""]


def _summary(analysis: Analysis) -> list[str]:
    summary, stats = analysis.summary(), analysis.stats or {}
    by_gap = " · ".join(f"{gap} {summary['by_gap_type'].get(gap, 0)}" for gap in GAP_TYPES)
    by_sev = " · ".join(f"{sev} {summary['by_severity'].get(sev, 0)}" for sev in reversed(SEVERITIES))
    by_provider = " · ".join(f"{md(p)} {n}" for p, n in summary["by_entry_provider"].items()) or "none"
    return [
        "## Summary",
        "",
        (f"- Findings: {summary['findings']} ({summary['open']} open, {summary['excepted']} excepted); "
        f"MFA unknown on {summary['mfa_unknown']} open"),
        f"- Open by gap type: {by_gap}",
        f"- Open by severity: {by_sev}",
        f"- Open by entry provider: {by_provider}",
        (f"- New {summary['new']} · reopened {summary['reopened']} · overdue {summary['overdue']} · "
         f"unowned {summary['unowned']}"),
        "- Open by owner: " + (" · ".join(f"{md(team)} {n}" for team, n in summary["by_owner"].items()) or "none"),
        "- Graph: " + (", ".join(f"{md(k)} {v}" for k, v in stats.items()) or "no statistics"),
        "",
    ]


def _top_fixes(analysis: Analysis) -> list[str]:
    """The verified greedy fixes (queries/fixes.py), when the analysis computed them."""
    if not analysis.top_fixes:
        return []
    lines = ["## Top fixes", "", FIXES_NOTE, "", "| # | Change | Closes | Open after | Findings closed |",
             "|---|---|---|---|---|"]
    for fix in analysis.top_fixes:
        cut = f" ({md(fix_cut_text(fix))})" if fix_cut_text(fix) else ""
        closed = ", ".join(f"`{fid}`" for fid in fix["closed"])
        lines.append(f"| {fix['rank']} | {md(fix['description'])}{cut} | {fix['closes']} | "
                     f"{fix['remaining_open']} | {closed} |")
    return lines + [""]


def _finding(view: FindingView) -> list[str]:
    f = view.finding
    lines = [
        f"### {view.rank}. {f.severity.upper()} · {', '.join(f'`{gap}`' for gap in f.gap_types)}: {md(f.title)}",
        "",
        f"- Finding: `{f.id}` ({f.status}{', MFA unknown' if f.mfa_unknown else ''})",
        f"- Entry: {md(view.entry)}" + (f" — {md('; '.join(view.entry_marks))}" if view.entry_marks else ""),
        f"- Nearest target: {md(view.target)}" + (f" {md(view.more)}" if view.more else ""),
    ]
    if view.by_provider:
        lines.append(f"- Privileged targets by provider: {md(view.by_provider)}")
    lines.append(f"- Owner: {md(view.owner)}; {md(view.open_for)}")
    lines.append(f"- Providers: {md(view.providers)}")
    if f.rules:
        lines.append(f"- Policy rules broken: {md(', '.join(f.rules))}")
    if view.exception:
        lines.append(f"- Exception: {md(view.exception)}")
    lines += [f"- Path ({plural(len(f.path), 'hop')}):", ""]
    lines += [f"  {i}. {md(step)}" for i, step in enumerate(view.steps, 1)]
    lines += ["", "Remediation:", ""] + [f"- {md(advice)}" for advice in f.remediation]
    return lines + [""]


def _excepted(views: list[FindingView]) -> list[str]:
    lines = ["## Excepted findings", ""]
    if not views:
        return lines + ["None.", ""]
    lines += ["| Finding | Severity | Gaps | Title | Owner | Justification | Expires |", "|---|---|---|---|---|---|---|"]
    for view in views:
        f, exc = view.finding, view.finding.exception
        owner, why, expires = (exc.owner, exc.justification, exc.expires or "never") if exc else ("?", "?", "?")
        lines.append(f"| `{f.id}` | {f.severity} | {', '.join(f.gap_types)} | {md(f.title)} | {md(owner)} | "
                     f"{md(why)} | {md(expires)} |")
    return lines + [""]


def _exception_review(analysis: Analysis) -> list[str]:
    lines = ["## Exception review", ""]
    if not analysis.exception_review:
        return lines + ["No exceptions file.", ""]
    lines += [f"{md(exception_counts_text(analysis))}.", "",
              "| Exception | Owner | State | Hides | What to do | Where |", "|---|---|---|---|---|---|"]
    for review in analysis.exception_review:
        todo = "; ".join(review["problems"]) or "nothing: in force"
        lines.append(f"| {md(review['id'])} | {md(review['owner'])} | {md(exception_states_text(review))} | "
                     f"{len(review['hides'])} | {md(todo)} | {md(review['where'])} |")
    return lines + [""]


def render(analysis: Analysis) -> str:
    open_views, excepted_views = finding_views(analysis)
    lines = _header(analysis) + _coverage(analysis) + _summary(analysis) + _top_fixes(analysis)
    lines += ["## Findings (open, ranked)", ""]
    if not open_views:
        lines += ["No open findings.", ""]
    for view in open_views:
        lines += _finding(view)
    lines += _excepted(excepted_views) + _exception_review(analysis)
    return "\n".join(lines).rstrip("\n") + "\n"
