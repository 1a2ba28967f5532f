"""The one-screen terminal summary."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from rich.console import Console

from queries.reports import render_summary
from tests.reports.builders import make_analysis, no_mfa_cross_stack


def show(renderable) -> str:
    console = Console(record=True, width=220, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def test_summary_shows_counts_coverage_top_findings_and_files(analysis):
    outputs = {"md": Path("/tmp/out/report.md"), "sarif": Path("/tmp/out/findings.sarif")}
    text = show(render_summary(analysis, outputs))
    assert "4 open findings, 1 excepted, MFA unknown on 1" in text
    assert "gcp: not covered (no gcp/ folder in data/samples)" in text
    assert "kubernetes: partially covered" in text
    assert "dana.ruiz@lumenfreight.com" in text and "lumen-prod-invoices" in text
    assert "NO_MFA, CROSS_STACK" in text
    assert "breakglass" not in text  # excepted, not in the top table
    assert "/tmp/out/report.md" in text and "/tmp/out/findings.sarif" in text
    for label in ("NO_MFA", "LONG_LIVED_NHI_KEY", "CROSS_STACK", "critical", "high", "medium", "low", "entra"):
        assert label in text


def test_summary_lists_ten_findings_and_prints_markup_in_names_as_is():
    base = no_mfa_cross_stack()
    findings = [
        dataclasses.replace(base, id=f"CP-{i:012x}", entry={**base.entry, "name": f"[bold red]entry-{i:02d}[/]"})
        for i in range(12)
    ]
    text = show(render_summary(make_analysis(findings)))
    assert "[bold red]entry-09[/]" in text
    assert "entry-10" not in text and "entry-11" not in text


def test_summary_says_when_nothing_is_open():
    assert "No open findings." in show(render_summary(make_analysis([])))
