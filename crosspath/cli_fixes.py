"""`crosspath fixes`: the single changes that close the most open findings, each count verified by
re-running the path engine with the change applied (queries/fixes.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from crosspath.cli_options import exceptions_option, policy_option, snapshot_option
from crosspath.pipeline import run_analysis
from graph.snapshot import SnapshotError, read_snapshot
from graph.times import parse_time
from queries.fixes import DEFAULT_MAX_CANDIDATES, DEFAULT_TOP, find_fixes
from queries.policy import load_policy
from queries.reports.describe import FIXES_NOTE, fix_cut_text
from queries.reports.terminal_text import safe
from queries.yaml_files import ConfigError


def register(main: click.Group) -> None:
    @main.command("fixes")
    @snapshot_option
    @policy_option
    @exceptions_option
    @click.option("--top", type=click.IntRange(1), default=DEFAULT_TOP, show_default=True,
                  help="How many fixes to pick.")
    @click.option("--max-candidates", type=click.IntRange(1), default=DEFAULT_MAX_CANDIDATES, show_default=True,
                  help="At most this many candidate changes verified per pick; the output says when it cut any.")
    @click.option("--json", "as_json", is_flag=True, help="Print the fixes and the search's figures as JSON.")
    def fixes_command(snapshot_path: Path, policy: Path | None, exceptions: Path | None, top: int,
                      max_candidates: int, as_json: bool) -> None:
        """The single changes (remove a membership, trust or grant, enforce MFA on an entry or an assume,
        delete or rotate a key) that close the most open findings, picked greedily: each count is what
        really closes when the change is applied and the paths are found again, and each fix counts only
        what the ones above it left open."""
        try:
            graph, metadata = read_snapshot(snapshot_path)
            analysis = run_analysis((graph, metadata), policy, exceptions)
            search = find_fixes(graph, load_policy(policy), [f.id for f in analysis.open_findings], top,
                                max_candidates, parse_time(analysis.as_of))
        except (SnapshotError, ConfigError) as exc:
            raise click.ClickException(safe(exc, multiline=True)) from exc
        if as_json:
            click.echo(json.dumps({"as_of": analysis.as_of, "open": search.open_before,
                                   "candidates": search.candidates, "verified": search.verified,
                                   "cut": search.cut, "top_fixes": search.fixes},
                                  indent=2))
            return
        click.echo(f"{search.open_before} open findings; {search.candidates} candidate changes on their paths, "
                   f"{search.verified} verified by re-running the paths")
        if not search.fixes:
            click.echo("No single change closes an open finding.")
        for fix in search.fixes:
            cut = fix_cut_text(fix)
            click.echo(safe(f"{fix['rank']}. closes {fix['closes']}, {fix['remaining_open']} open after: "
                            f"{fix['description']}" + (f" ({cut})" if cut else "")))
            click.echo(f"   {' '.join(fix['closed'])}")
        for sentence in search.cut:
            click.echo(f"bound: {sentence}")
        click.echo(FIXES_NOTE)
