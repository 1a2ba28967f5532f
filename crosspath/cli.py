"""The `crosspath` command line. Exit codes: 0 ok, 1 input or config error, 2 usage error,
3 open findings at or above `--fail-on` (for cron, CronJobs and CI gates), 4 coverage (nothing collected, or
a source covered last time is not now), 5 exceptions needing review (`--fail-on-exception-issues`)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import time
from pathlib import Path

import click
from rich.console import Console

from collectors import SOURCES
from crosspath import __version__
from crosspath.cli_cypher import register as register_cypher_commands
from crosspath.cli_demo import register as register_demo_commands
from crosspath.cli_exceptions import exception_issues_exit
from crosspath.cli_exceptions import register as register_exception_commands
from crosspath.cli_fixes import register as register_fix_commands
from crosspath.cli_options import exceptions_option, policy_option, snapshot_option
from crosspath.cli_run import register as register_run_command
from crosspath.cli_techniques import register as register_technique_commands
from crosspath.cli_verify import register as register_verify_commands
from crosspath.exit_codes import EXIT_COVERAGE, EXIT_EXCEPTION_ISSUES, EXIT_FINDINGS
from crosspath.metrics import write_metrics
from crosspath.pipeline import (
    DEFAULT_OUT,
    NothingCollected,
    ScanError,
    analyse_snapshot,
    latest_snapshot,
    run_analysis,
    scan,
    scan_config,
    write_outputs,
)
from graph.coverage import CoverageStatus
from graph.identities import SOURCE as IDENTITIES_SOURCE
from graph.snapshot import SnapshotError, read_metadata, read_snapshot
from queries.coverage_gate import gate_problems
from queries.drift import diff
from queries.findings import SEVERITIES, SEVERITY_RANK, Analysis
from queries.fixes import DEFAULT_TOP as DEFAULT_TOP_FIXES
from queries.paths import PathEngine
from queries.people import People, blast_radius_of
from queries.policy import load_policy
from queries.reports import REPORT_FORMATS
from queries.reports.coverage_text import coverage as coverage_rows
from queries.reports.terminal_summary import render_summary
from queries.reports.terminal_text import safe, styled
from queries.yaml_files import ConfigError

stderr = Console(stderr=True)
stdout = Console()

_fail_on_option = click.option(
    "--fail-on", type=click.Choice(SEVERITIES), default=None,
    help=f"Exit with code {EXIT_FINDINGS} when an open finding has this severity or higher.",
)
_fail_on_exception_issues_option = click.option(
    "--fail-on-exception-issues", is_flag=True,
    help=f"Exit {EXIT_EXCEPTION_ISSUES} when an exception is stale, outgrown, expiring, expired, due for review or "
         "refused by the policy (after --fail-on's code, which wins).",
)
_metrics_option = click.option(
    "--metrics", "metrics_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Also write this run's numbers as OpenMetrics text to this file (docs/metrics.md).",
)
_top_fixes_option = click.option(
    "--top-fixes", type=click.IntRange(0), default=DEFAULT_TOP_FIXES, show_default=True,
    help="How many verified top fixes the reports show (0: none; each re-runs the path engine, about 4 times "
         "one analysis for 5 fixes at scale).",
)
_formats_option = click.option(
    "--format", "formats", default=",".join(REPORT_FORMATS), show_default=True,
    help="Comma-separated report formats to write.",
)


def _formats(value: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = set(chosen) - set(REPORT_FORMATS)
    if unknown:
        raise click.BadParameter(f"unknown format(s) {sorted(unknown)}; choose from {', '.join(REPORT_FORMATS)}")
    return chosen


def _gate(analysis: Analysis, fail_on: str | None) -> int:
    if fail_on is None:
        return 0
    over = [f for f in analysis.open_findings if SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on]]
    if over:
        stderr.print(f"[bold red]{len(over)} open finding(s) at severity {fail_on} or higher[/]")
        return EXIT_FINDINGS
    return 0


def _exit_code(analysis: Analysis, fail_on: str | None, fail_on_exception_issues: bool) -> int:
    """The first of: open findings at --fail-on (3), exceptions needing review with the flag (5); else 0."""
    codes = [_gate(analysis, fail_on), exception_issues_exit(analysis) if fail_on_exception_issues else 0]
    return next((code for code in codes if code), 0)


def _load(path: Path):
    try:
        return read_snapshot(path)
    except SnapshotError as exc:
        raise click.ClickException(safe(exc, multiline=True)) from exc


def _metadata(path: Path) -> dict:
    """A snapshot's metadata alone (its coverage, for the gate): the header, not the graph."""
    try:
        return read_metadata(path)
    except SnapshotError as exc:
        raise click.ClickException(safe(exc, multiline=True)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="crosspath")
def main() -> None:
    """Crosspath: privileged write paths across AWS, Entra ID, GCP, Kubernetes and databases
    that lack MFA or rely on long-lived non-human keys."""


class _CollectGroup(click.Group):
    """`crosspath collect <source>`: each source's live collector, imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in SOURCES if importlib.util.find_spec(f"{SOURCES[name]}.live") is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.list_commands(ctx):
            return None
        return importlib.import_module(f"{SOURCES[name]}.live").command


@main.group("collect", cls=_CollectGroup)
def collect_group() -> None:
    """Collect live, read-only, from a source's API into export files under OUT/<source>/;
    then `crosspath scan OUT` builds the graph (live and offline share one transform)."""


@main.command("scan")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Where the snapshot and the reports are written.")
@policy_option
@exceptions_option
@click.option("--identities", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="identities.yaml: which person an identity belongs to where its name or email cannot say "
              "(docs/identities.md).")
@click.option("--as-of", help="Measure key ages at this time (ISO 8601). Default: manifest.json's "
              "collected_at, else now.")
@_formats_option
@_fail_on_option
@_fail_on_exception_issues_option
@_metrics_option
@_top_fixes_option
@click.option("--optional-sources", default="", metavar="LIST",
              help="Comma-separated sources (aws, entra, gcp, kubernetes, databases) the coverage gate may "
                   "find missing or partial.")
@click.option("--quiet", is_flag=True, help="No progress, no summary; just the exit code.")
def scan_command(directory: Path, out_dir: Path, policy: Path | None, exceptions: Path | None,
                 identities: Path | None, as_of: str | None, formats: str, fail_on: str | None,
                 fail_on_exception_issues: bool, optional_sources: str, quiet: bool,
                 metrics_path: Path | None = None, top_fixes: int = DEFAULT_TOP_FIXES) -> None:
    """Collect every export under DIRECTORY (aws/, entra/, gcp/, kubernetes/, databases/), build one
    graph, write a snapshot and the gap reports into --out.

    Exit 4 when nothing was collected (the last snapshot is kept), and, with --fail-on, when a source the
    previous snapshot in --out covered is missing, failed or partial now (unless --optional-sources);
    else 3 when open findings reach --fail-on."""
    chosen = _formats(formats)
    optional = {part.strip() for part in optional_sources.split(",") if part.strip()}
    unknown = optional - set(SOURCES)
    if unknown:
        raise click.BadParameter(f"unknown source(s) {sorted(unknown)}; choose from {', '.join(SOURCES)}",
                                 param_hint="--optional-sources")
    gated = fail_on is not None or bool(optional)
    previous = _metadata(latest_snapshot(out_dir)) if gated and latest_snapshot(out_dir).is_file() else None

    def progress(message: str) -> None:
        if not quiet:
            stderr.print(styled(("› ", "dim"), message))

    try:
        result = scan(directory, out_dir, policy, exceptions, as_of, progress, chosen, identities, top_fixes=top_fixes)
    except ConfigError as exc:
        raise click.ClickException(safe(exc, multiline=True)) from exc
    except NothingCollected as exc:
        click.echo(f"error: {safe(exc, multiline=True)}", err=True)
        sys.exit(EXIT_COVERAGE)
    except ScanError as exc:
        raise click.ClickException(safe(exc, multiline=True)) from exc
    if metrics_path is not None:
        write_metrics(metrics_path, result.analysis, result.duration_seconds)
    for error in result.build.errors:
        stderr.print(styled(("warning:", "yellow"), f" {error}"), highlight=False)
    for row in coverage_rows(result.analysis):
        if row.status in (CoverageStatus.PARTIAL, CoverageStatus.FAILED):  # says what is missing and why
            stderr.print(styled(("warning:", "yellow"), f" {row.statement}"), highlight=False, soft_wrap=True)
    listed = result.build.coverage.get(IDENTITIES_SOURCE)
    for note in listed.notes if listed and not quiet else ():
        stderr.print(styled(f"note: {note}"), highlight=False)
    if not quiet:
        stdout.print(render_summary(result.analysis, result.outputs))
    problems = gate_problems(previous, result.analysis.metadata, optional) if gated else []
    for problem in problems:
        click.echo(f"coverage gate: {safe(problem)}", err=True)
    sys.exit(EXIT_COVERAGE if problems else _exit_code(result.analysis, fail_on, fail_on_exception_issues))


@main.command("report")
@snapshot_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True)
@policy_option
@exceptions_option
@_formats_option
@_fail_on_option
@_fail_on_exception_issues_option
@_metrics_option
@_top_fixes_option
@click.option("--quiet", is_flag=True, help="No summary; just the reports and the exit code.")
def report_command(snapshot_path: Path, out_dir: Path, policy: Path | None, exceptions: Path | None,
                   formats: str, fail_on: str | None, fail_on_exception_issues: bool, quiet: bool,
                   metrics_path: Path | None = None, top_fixes: int = DEFAULT_TOP_FIXES) -> None:
    """Analyse a snapshot and write reports; with --fail-on, exit 3 when open findings reach that severity."""
    chosen = _formats(formats)
    started = time.monotonic()
    try:
        analysis = analyse_snapshot(snapshot_path, policy, exceptions, top_fixes=top_fixes)
    except (ConfigError, SnapshotError) as exc:
        raise click.ClickException(safe(exc, multiline=True)) from exc
    outputs = write_outputs(analysis, out_dir, chosen, snapshot_path, scan_config(policy, exceptions))
    if metrics_path is not None:
        write_metrics(metrics_path, analysis, time.monotonic() - started)
    if not quiet:
        stdout.print(render_summary(analysis, outputs))
    sys.exit(_exit_code(analysis, fail_on, fail_on_exception_issues))


@main.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@policy_option
@exceptions_option
@click.option("--json", "as_json", is_flag=True, help="Print the drift as JSON.")
@click.option("--fail-on-new", is_flag=True, help=f"Exit {EXIT_FINDINGS} when there are new findings.")
@click.option("--quiet", is_flag=True, help="Print nothing; just the exit code.")
def diff_command(old: Path, new: Path, policy: Path | None, exceptions: Path | None, as_json: bool,
                 fail_on_new: bool, quiet: bool) -> None:
    """New and resolved findings (and graph changes) between two snapshots, under one policy."""
    old_loaded, new_loaded = _load(old), _load(new)
    try:
        old_analysis = run_analysis(old_loaded, policy, exceptions)
        new_analysis = run_analysis(new_loaded, policy, exceptions)
    except ConfigError as exc:
        raise click.ClickException(safe(exc, multiline=True)) from exc
    drift = diff(old_analysis, new_analysis, old_loaded[0], new_loaded[0])
    if quiet:
        pass
    elif as_json:
        click.echo(json.dumps(drift.to_dict(), indent=2))
    else:
        stdout.print(f"[bold]{len(drift.new)} new[/], [bold]{len(drift.resolved)} resolved[/], "
                     f"{len(drift.changed)} changed finding(s), {len(drift.not_rechecked)} not re-checked")
        for source, status in sorted(drift.coverage["new"].items()):
            if status != "complete":
                was = drift.coverage["old"].get(source, "absent")
                stdout.print(styled(f"  coverage: {source} {status} in the newer snapshot (was {was}): its findings "
                                  "are not re-checked, not resolved"), highlight=False)
        for label, findings in (("new", drift.new), ("resolved", drift.resolved),
                                ("not re-checked (source not covered)", drift.not_rechecked)):
            for finding in findings:
                stdout.print(styled(f"  {label:8} {finding.id}  {finding.severity:8} {finding.title}"),
                             highlight=False)
        for family, ids in drift.nodes_added.items():
            stdout.print(styled(f"  + {len(ids)} {family} node(s)"), highlight=False)
        for family, ids in drift.nodes_removed.items():
            stdout.print(styled(f"  - {len(ids)} {family} node(s)"), highlight=False)
        stdout.print(f"  edges: +{len(drift.edges_added)} -{len(drift.edges_removed)}")
    sys.exit(EXIT_FINDINGS if fail_on_new and drift.new else 0)


@main.command("blast-radius")
@click.argument("node")
@snapshot_option
@policy_option
@click.option("--json", "as_json", is_flag=True, help="Print the targets as JSON.")
def blast_radius_command(node: str, snapshot_path: Path, policy: Path | None, as_json: bool) -> None:
    """Every privileged target NODE can write or administer, each with its shortest path and whether
    every path to it requires MFA; write or admin over a scope (account, project, namespace, server ...)
    lists the privileged resources inside it, `through` that scope.

    NODE is an identity's or credential's id, a person's email (dana.ruiz@example.com) or a name
    ("Dana Ruiz"): a person's blast radius is that of every identity of theirs, each row naming the
    identity that reaches the target. A name several nodes carry lists them, with their ids, and exits 1."""
    graph, _ = _load(snapshot_path)
    people = People(graph)
    found = people.lookup(node)
    if not found:
        raise click.ClickException(f"no node id, person's email or name {node!r} in {snapshot_path}; "
                                   "give an identity or credential id, an email or a name as the graph has it")
    if len(found) > 1:
        listed = "\n".join(f"  {people.label(candidate)}" for candidate in found)
        raise click.ClickException(f"{node!r} names {len(found)} nodes in {snapshot_path}; give one of these "
                                   f"ids instead:\n{listed}")
    node_id = found[0]
    identities = people.identities_of(node_id)
    try:
        targets = blast_radius_of(PathEngine(graph, load_policy(policy)), identities)
    except ConfigError as exc:
        raise click.ClickException(safe(exc, multiline=True)) from exc
    except KeyError:
        raise click.ClickException(safe(f"no node with id {node_id!r} in {snapshot_path}")) from None
    rows = [
        {
            "target": t["target"],
            "name": graph.nodes[t["target"]]["name"],
            "provider": graph.nodes[t["target"]]["provider"],
            "level": t["level"],
            "requires_mfa": t["requires_mfa"],
            "hops": len(t["path"]),
            "through": t["through"],
            "identity": t["identity"],
            "path": [{"source": s, "target": d, "kind": e["kind"], "via": e["via"],
                      "mfa_required": e.get("mfa_required", e.get("mfa"))} for s, d, e in t["path"]],
        }
        for t in targets
    ]
    if as_json:
        click.echo(json.dumps({"node": node_id, "identities": identities, "targets": rows}, indent=2))
        return
    person = people.is_person(node_id)
    if person:
        data = graph.nodes[node_id]
        count = f"{len(identities)} identit{'y' if len(identities) == 1 else 'ies'}"
        stdout.print(styled((data["name"], "bold"), f" (person {data['email']}, {count}) reaches "
                            f"{len(rows)} privileged target(s)"), highlight=False)
        for identity in identities:
            stdout.print(styled(f"  identity {people.label(identity)}"), highlight=False)
    else:
        stdout.print(styled((node_id, "bold"), f" reaches {len(rows)} privileged target(s)"), highlight=False)
    for row in rows:
        mfa = "MFA required" if row["requires_mfa"] else "NO MFA"
        chain = " → ".join([row["path"][0]["source"]] + [step["target"] for step in row["path"]])
        through = f", through {graph.nodes[row['through']]['name']}" if row["through"] else ""
        by = f" by {graph.nodes[row['identity']]['name']} ({row['identity']})" if person else ""
        stdout.print(styled(f"  {row['level']:5} {row['name']} ({row['provider']}) [{mfa}, {row['hops']} hops{through}]"
                            f"{by}"), highlight=False)
        stdout.print(styled(f"        {chain}"), highlight=False)


# Ad-hoc Cypher, Neo4j and graph exports (issue 9) live in their own module.
register_cypher_commands(main)
register_technique_commands(main)
register_exception_commands(main)
register_demo_commands(main)  # demo, dashboard: the sample organisation packaged inside
register_run_command(main)
register_verify_commands(main)  # verify: the reports against OUT/evidence.json
register_fix_commands(main)  # fixes: the verified changes that close the most findings (issue 18)

if __name__ == "__main__":
    main()
