"""One screen for the terminal after a scan: counts, coverage, the top 10 findings, the files written.

Every value goes in through queries/reports/terminal_text.py (`text`): a Rich Text with control
characters escaped, never a markup string, so a name like "[red]x" or one carrying ESC[2J prints as is.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from graph.coverage import CoverageStatus
from queries.findings import GAP_TYPES, SEVERITIES, Analysis
from queries.reports.coverage_text import ERRORS_ONLY, coverage
from queries.reports.describe import exception_counts_text, fix_cut_text
from queries.reports.terminal_text import text

TOP = 10
_SEVERITY_STYLE = {"critical": "bold magenta", "high": "bold red", "medium": "yellow", "low": "cyan"}
_STATUS_STYLE = {CoverageStatus.COMPLETE: "green", CoverageStatus.PARTIAL: "yellow", ERRORS_ONLY: "yellow"}


def _counts(analysis: Analysis) -> Table:
    summary = analysis.summary()
    grid = Table(title="Open findings", show_header=True, header_style="bold")
    for column in ("gap type", "", "severity", "", "entry provider", ""):
        grid.add_column(column, justify="right" if not column else "left")
    gaps = [(gap, summary["by_gap_type"].get(gap, 0)) for gap in GAP_TYPES]
    severities = [(sev, summary["by_severity"].get(sev, 0)) for sev in reversed(SEVERITIES)]
    providers = list(summary["by_entry_provider"].items())
    for i in range(max(len(gaps), len(severities), len(providers))):
        cells: list[Text] = []
        for column in (gaps, severities, providers):
            name, count = column[i] if i < len(column) else ("", "")
            cells += [text(name, _SEVERITY_STYLE.get(str(name), "")), text(count)]
        grid.add_row(*cells)
    return grid


def _coverage(analysis: Analysis) -> Table:
    table = Table(title="Coverage", header_style="bold")
    for column in ("source", "status", "scopes", "errors", "statement"):
        table.add_column(column)
    for row in coverage(analysis):
        style = _STATUS_STYLE.get(row.status, "bold red")
        table.add_row(text(row.source), text(row.status, style), text(len(row.scopes)),
                      text(len(row.errors)), text(row.statement, "" if row.complete else style))
    return table


def _top(analysis: Analysis) -> Table:
    table = Table(title=f"Top {TOP} open findings", header_style="bold")
    for column in ("#", "severity", "gaps", "entry", "nearest target", "hops", "targets"):
        table.add_column(column, justify="right" if column in ("#", "hops", "targets") else "left")
    for rank, finding in enumerate(analysis.open_findings[:TOP], 1):
        table.add_row(
            text(rank), text(finding.severity, _SEVERITY_STYLE.get(finding.severity, "")),
            text(", ".join(finding.gap_types)), text(finding.entry.get("name", "")),
            text(finding.target.get("name", "")), text(finding.hops), text(finding.targets_count),
        )
    return table


def _fixes(analysis: Analysis) -> Table:
    table = Table(title="Top fixes (each count verified by re-running the paths)", header_style="bold")
    for column in ("#", "change", "closes", "open after"):
        table.add_column(column, justify="right" if column != "change" else "left")
    for fix in analysis.top_fixes:
        cut = fix_cut_text(fix)
        table.add_row(text(fix["rank"]), text(fix["description"] + (f" ({cut})" if cut else "")),
                      text(fix["closes"]), text(fix["remaining_open"]))
    return table


def render_summary(analysis: Analysis, outputs: dict[str, Path] | None = None) -> RenderableType:
    summary = analysis.summary()
    head = Text.assemble(
        ("Crosspath ", "bold"), text(f"as of {analysis.as_of}: "),
        (f"{summary['open']} open", "bold red" if summary["open"] else "bold green"),
        f" findings, {summary['excepted']} excepted, MFA unknown on {summary['mfa_unknown']}",
    )
    parts: list[RenderableType] = [head, _counts(analysis), _coverage(analysis)]
    if analysis.exception_issues:
        parts.append(text(f"Exceptions: {exception_counts_text(analysis)} (`crosspath exceptions review`)"))
    parts.append(_top(analysis) if analysis.open_findings else Text("No open findings.", style="green"))
    if analysis.top_fixes:
        parts.append(_fixes(analysis))
    if outputs:
        files = Text("Reports written:\n", style="bold")
        for name, path in outputs.items():
            files.append(text(f"  {name:6} {path}\n", multiline=True))
        parts.append(files)
    return Group(*parts)
