"""`crosspath exceptions review`: every exception's state on a snapshot, and what to do about it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from crosspath.cli_options import snapshot_option
from crosspath.exit_codes import EXIT_EXCEPTION_ISSUES
from crosspath.pipeline import recorded_config, run_analysis
from graph.snapshot import SnapshotError, read_snapshot
from queries.findings import Analysis
from queries.reports.describe import exception_counts_text, exception_states_text
from queries.reports.terminal_text import safe
from queries.yaml_files import ConfigError


def recorded_file(metadata: dict[str, Any], name: str) -> Path | None:
    """The policy or exceptions file the scan used, if it is still there; said on stderr when it is gone or
    has changed since the scan (the review may then differ from it)."""
    record = recorded_config(metadata, name)
    if record is None:
        return None
    if record.state == "gone":
        click.echo(f"warning: the scan used the {name} file {record.path}, which is gone: reviewing without it",
                   err=True)
        return None
    if record.state == "changed":
        click.echo(f"warning: the {name} file {record.path} has changed since the scan: reviewing it as it is now",
                   err=True)
    path = record.path
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path  # shown as the user wrote it


def review_lines(analysis: Analysis) -> list[str]:
    """The review as text: a count line, then each exception with its states and what to do."""
    reviews = analysis.exception_review
    lines = [f"{len(reviews)} exception{'s' if len(reviews) != 1 else ''}: {exception_counts_text(analysis)}"]
    for review in reviews:
        lines.append(f"{review['id']} ({review['owner']}): {exception_states_text(review)}, "
                     f"hides {len(review['hides'])} finding{'s' if len(review['hides']) != 1 else ''}")
        lines += [f"  - {problem}" for problem in review["problems"]]
        lines.append(f"  at {review['where']}")
    return lines


def exception_issues_exit(analysis: Analysis) -> int:
    """`--fail-on-exception-issues`: the exit code when an exception needs someone to act, else 0."""
    issues = analysis.exception_issues
    if issues:
        click.echo(f"{len(issues)} exception(s) need review: {', '.join(r['id'] for r in issues)} "
                   "(`crosspath exceptions review`)", err=True)
        return EXIT_EXCEPTION_ISSUES
    return 0


def register(main: click.Group) -> None:
    @main.group("exceptions")
    def exceptions_group() -> None:
        """Accepted risks: review them (docs/exceptions.md)."""

    @exceptions_group.command("review")
    @snapshot_option
    @click.option("--exceptions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="Exceptions YAML. Default: the file the scan used.")
    @click.option("--policy", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="Policy YAML. Default: the file the scan used, else the default policy.")
    @click.option("--json", "as_json", is_flag=True, help="Print the review as JSON.")
    @click.option("--fail-on-issues", is_flag=True,
                  help=f"Exit {EXIT_EXCEPTION_ISSUES} when an exception is stale, outgrown, expiring, expired, due "
                       "for review or refused by the policy.")
    def review_command(snapshot_path: Path, exceptions: Path | None, policy: Path | None, as_json: bool,
                       fail_on_issues: bool) -> None:
        """Every exception's state on a snapshot: in force, expiring, due for review, expired, stale (matches
        nothing), outgrown (its finding grew since approval) or refused (over a policy limit)."""
        try:
            loaded = read_snapshot(snapshot_path)
        except SnapshotError as exc:
            raise click.ClickException(safe(exc, multiline=True)) from exc
        metadata = loaded[1]
        exceptions = exceptions or recorded_file(metadata, "exceptions")
        if exceptions is None:
            raise click.ClickException(f"no exceptions file: {snapshot_path} was scanned without one; "
                                       "pass --exceptions FILE")
        try:
            analysis = run_analysis(loaded, policy or recorded_file(metadata, "policy"), exceptions)
        except ConfigError as exc:
            raise click.ClickException(safe(exc, multiline=True)) from exc
        if as_json:
            click.echo(json.dumps({"as_of": analysis.as_of, "exceptions_file": str(exceptions),
                                   "summary": analysis.summary()["exceptions"],
                                   "exceptions": analysis.exception_review}, indent=2))
        else:
            click.echo("\n".join(safe(line) for line in review_lines(analysis)))
        sys.exit(exception_issues_exit(analysis) if fail_on_issues else 0)
