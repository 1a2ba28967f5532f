"""`crosspath run --config crosspath.yaml`: the one command for schedules (docs/scheduling.md).

Collect the configured live sources (or read an export folder), scan into OUT, compare with the previous
snapshot, write the reports (and one set per team with --by-owner), send the notifications and exit with
the gate's code. Each step logs one line: readable on a terminal, one JSON object otherwise (--log).
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from collectors import SOURCES
from crosspath.exit_codes import EXIT_COVERAGE, EXIT_EXCEPTION_ISSUES, EXIT_FINDINGS, EXIT_NOTIFICATIONS
from crosspath.notify.redaction import redact
from crosspath.pipeline import NothingCollected, ScanError, ScanResult, previous_metadata, scan
from crosspath.run_config import RunConfig, collector_args, load_run_config
from graph.identities import load_identities
from graph.times import iso, parse_time
from queries.coverage_gate import gate_problems
from queries.exceptions import load_exceptions
from queries.findings import SEVERITY_RANK, Analysis
from queries.policy import load_policy
from queries.reports import REPORT_FORMATS, write_reports
from queries.reports.terminal_text import safe
from queries.yaml_files import ConfigError

TEAMS_DIR = "teams"
EXPORTS_DIR = "exports"  # under OUT: the last run's collected exports


class RunLog:
    """One line per step: `› step: message` on a terminal, `{"time", "step", "status", ...}` otherwise."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def __call__(self, step: str, message: str, status: str = "ok", **fields: Any) -> None:
        if self.as_json:
            record = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "step": step, "status": status,
                      "message": message, **fields}
            click.echo(json.dumps(record, default=str), err=True)
        else:
            mark = {"ok": "›", "warning": "!", "error": "✗"}.get(status, "›")
            click.echo(f"{mark} {step}: {safe(message)}", err=True)


def _collect(config: RunConfig, folder: Path, log: RunLog) -> None:
    """Each configured live source into folder/<source>/; a source that fails is logged and left out (the
    scan then reports it missing, and the coverage gate fails when it was covered last time)."""
    for name, options in config.sources.items():
        command = importlib.import_module(f"{SOURCES[name]}.live").command
        args = [*collector_args(options), "--out", str(folder), "--quiet"]
        started = time.monotonic()
        try:
            command.main(args=args, prog_name=f"crosspath collect {name}", standalone_mode=False)
        except click.UsageError as exc:
            raise ConfigError(f"{config.path}: sources.{name}: {exc.format_message()}; the options are those of "
                              f"`crosspath collect {name} --help`, with _ for -") from None
        except (click.ClickException, SystemExit, Exception) as exc:  # noqa: BLE001 - one source must not stop the others
            if isinstance(exc, SystemExit) and exc.code in (0, None):
                pass  # a collector that ends with sys.exit(0) collected
            else:
                message = exc.format_message() if isinstance(exc, click.ClickException) else \
                    f"{type(exc).__name__}: {exc}"
                log("collect", f"{name}: failed: {redact(message)}", "error", source=name)
                continue
        log("collect", f"{name}: collected in {time.monotonic() - started:.1f} s", source=name)


def team_folder(team: str) -> str:
    """A team's report folder name: its name with anything but letters, digits, . _ - replaced."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", team).strip("-.") or "team"


def write_team_reports(analysis: Analysis, out: Path, formats: tuple[str, ...] = REPORT_FORMATS) -> dict[str, Path]:
    """One report set per owning team (and `unowned`) under OUT/teams/<team>/: the same reports, only
    that team's findings."""
    folders = {}
    for team in sorted({finding.owner for finding in analysis.findings}):
        folder = out / TEAMS_DIR / team_folder(team)
        mine = replace(analysis, findings=[f for f in analysis.findings if f.owner == team])
        write_reports(mine, folder, formats)
        folders[team] = folder
    return folders


def _exit_code(config: RunConfig, analysis: Analysis, coverage: list[str], undelivered: int, log: RunLog) -> int:
    gate = config.gate
    if coverage:
        return EXIT_COVERAGE
    if gate.fail_on and any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[gate.fail_on] for f in analysis.open_findings):
        log("gate", f"open findings at severity {gate.fail_on} or higher", "error")
        return EXIT_FINDINGS
    if gate.fail_on_new and analysis.changes is not None and analysis.changes.new:
        log("gate", f"{len(analysis.changes.new)} new finding(s) since the last run", "error")
        return EXIT_FINDINGS
    if gate.fail_on_exception_issues and analysis.exception_issues:
        log("gate", f"{len(analysis.exception_issues)} exception(s) need review", "error")
        return EXIT_EXCEPTION_ISSUES
    if gate.fail_on_notification_errors and undelivered:
        log("gate", f"{undelivered} notification(s) not delivered", "error")
        return EXIT_NOTIFICATIONS
    return 0


def _scan(config: RunConfig, log: RunLog) -> ScanResult | None:
    """Collect (into a fresh folder under OUT) or read the exports, and scan. The collected exports replace
    OUT/exports only when the scan succeeded; otherwise they are removed (they may hold sensitive data)."""
    # The run's own files first: a typo there should fail before minutes of collection.
    load_policy(config.policy), load_exceptions(config.exceptions), load_identities(config.identities)
    collected = Path(tempfile.mkdtemp(prefix=".collect-", dir=config.out)) if config.exports is None else None
    try:
        if collected is not None:
            _collect(config, collected, log)
        result = scan(collected or config.exports, config.out, config.policy, config.exceptions,  # type: ignore[arg-type]
                      progress=lambda message: log("scan", message[len("warning: "):], "warning")
                      if message.startswith("warning: ") else None, identities_path=config.identities)
    except BaseException as exc:
        if collected is not None:
            shutil.rmtree(collected, ignore_errors=True)
        if isinstance(exc, NothingCollected):
            log("scan", str(exc) if collected is None else "nothing was collected: every configured source failed "
                "(the collect lines above say why); the last snapshot and exports in OUT are kept", "error")
            return None
        raise
    if collected is not None:
        kept = config.out / EXPORTS_DIR
        shutil.rmtree(kept, ignore_errors=True)
        collected.rename(kept)
    return result


def _stale(previous: dict[str, Any] | None, result: ScanResult) -> list[str]:
    """Exports not newer than the last run's: nothing new was read, so nothing may pass as re-checked."""
    before = parse_time((previous or {}).get("collected_at"))
    now = parse_time(result.analysis.metadata.get("collected_at"))
    if before is None or now is None or now > before:
        return []
    return [(f"the exports were collected at {iso(now)}, not after the last run's {iso(before)}: nothing new "
             "was read (refresh the export folder, or collect live with sources:)")]


def execute(config: RunConfig, by_owner: bool, log: RunLog) -> int:
    """The whole run; returns the exit code."""
    config.out.mkdir(parents=True, exist_ok=True)
    previous = previous_metadata(config.out, lambda message: log("scan", message, "warning"))
    result = _scan(config, log)
    if result is None:
        return EXIT_COVERAGE
    out = config.out
    summary = result.analysis.summary()
    log("scan", f"{summary['open']} open, {summary['excepted']} excepted, {summary['new']} new, "
                f"{summary['reopened']} reopened, {summary['overdue']} overdue, {summary['unowned']} unowned",
        **{key: summary[key] for key in ("open", "excepted", "new", "reopened", "overdue", "unowned")})
    coverage = _stale(previous, result) + gate_problems(previous, result.analysis.metadata,
                                                        config.gate.optional_sources)
    for problem in coverage:
        log("coverage", problem, "error")
    changes = result.analysis.changes
    if changes is not None:
        log("diff", f"{len(changes.new)} newly open, {len(changes.resolved)} resolved, {len(changes.not_rechecked)} "
                    "not re-checked since the last run", new=len(changes.new), resolved=len(changes.resolved),
            not_rechecked=len(changes.not_rechecked))
    log("reports", f"written into {out}")
    if by_owner:
        teams = write_team_reports(result.analysis, out)
        log("reports", f"{len(teams)} team report set(s) in {out / TEAMS_DIR}", teams=sorted(teams))
    undelivered = notify(config, result.analysis, coverage, log)
    return _exit_code(config, result.analysis, coverage, undelivered, log)


def notify(config: RunConfig, analysis: Analysis, coverage: list[str], log: RunLog) -> int:
    """Send the configured notifications; return how many were not delivered."""
    if not config.notifications:
        return 0
    from crosspath.run_notices import send_notices  # the notification libraries load only when used

    return send_notices(config, analysis, coverage, log)


def register(main: click.Group) -> None:
    @main.command("run")
    @click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  required=True, help="The run's config file (docs/scheduling.md).")
    @click.option("--by-owner", is_flag=True, help="Also write one report set per owning team into OUT/teams/.")
    @click.option("--log", "log_format", type=click.Choice(["auto", "text", "json"]), default="auto",
                  show_default=True, help="auto: text on a terminal, one JSON object per line otherwise.")
    def run_command(config_path: Path, by_owner: bool, log_format: str) -> None:
        """Collect (or read exports), scan, compare with the last run, report, notify and gate: one command for
        a CronJob, a CI schedule or a systemd timer. Exit codes as `crosspath scan` (0, 1, 3, 4, 5), and 6
        when a notification was not delivered and gate.fail_on_notification_errors is set."""
        as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
        log = RunLog(as_json)
        try:
            code = execute(load_run_config(config_path), by_owner, log)
        except (ConfigError, ScanError) as exc:
            log("config" if isinstance(exc, ConfigError) else "scan", str(exc), "error")
            sys.exit(1)
        log("done", f"exit {code}", exit_code=code)
        sys.exit(code)
