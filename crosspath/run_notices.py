"""What `crosspath run` tells the teams: the run's notice (newly open, reopened and overdue findings, the top
fixes, a link to the report) sent to every configured channel (crosspath/notify, docs/notifications.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crosspath.notify import (
    Delivery,
    Notice,
    NoticeCounts,
    NoticeFinding,
    channel_from_config,
    deliver,
    failed,
)
from crosspath.run_config import RunConfig, SecretRef
from queries.findings import Analysis, Finding
from queries.yaml_files import ConfigError

REPORT_PAGE = "report.html"


def _announced(finding: Finding) -> NoticeFinding:
    return NoticeFinding.from_finding(finding, owner=finding.owner, team=finding.owner, days_open=finding.days_open)


def build_notice(config: RunConfig, analysis: Analysis, coverage: Sequence[str] = ()) -> Notice:
    summary = analysis.summary()
    open_ = analysis.open_findings
    newly_open = analysis.changes.new if analysis.changes is not None else [f for f in open_ if f.new]
    reopened = [f for f in open_ if f.reopened]
    fixes = [{"description": fix["description"], "closes": fix["closes"]}
             for fix in analysis.top_fixes]
    report = config.report_url.rstrip("/") + "/" + REPORT_PAGE if config.report_url else None
    return Notice(
        title="Crosspath: privileged write paths without MFA or with long-lived keys",
        organisation=str(analysis.metadata.get("source_dir") or config.path.stem), as_of=analysis.as_of,
        counts=NoticeCounts(open=summary["open"], new=len([f for f in newly_open if not f.reopened]),
                            reopened=len(reopened),
                            overdue=summary["overdue"], excepted=summary["excepted"]),
        new=[_announced(f) for f in newly_open if not f.reopened], reopened=[_announced(f) for f in reopened],
        overdue=[_announced(f) for f in open_ if f.overdue], top_fixes=fixes, report_url=report,
        coverage=list(coverage),
    )


def _resolved(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value.resolve() if isinstance(value, SecretRef) else value for key, value in entry.items()}


def send_notices(config: RunConfig, analysis: Analysis, coverage: list[str], log: Any) -> int:
    """Deliver the notice (with the coverage gate's problems: a run that did not read everything says so)
    to every channel (each retried; one failing never stops the others); log each
    result without secrets; return how many were not delivered."""
    channels, unresolved = [], []
    for entry in config.notifications:
        try:
            channels.append(channel_from_config(_resolved(entry)))
        except ConfigError as exc:  # a missing variable or file: this channel fails, the others still go
            unresolved.append(Delivery(str(entry.get("kind")), ok=False, attempts=0, error=str(exc)))
    deliveries = unresolved + deliver(channels, build_notice(config, analysis, coverage))
    for delivery in deliveries:
        if delivery.skipped:
            log("notify", f"{delivery.channel}: nothing new, reopened or overdue; not sent", channel=delivery.channel)
        elif delivery.ok:
            log("notify", f"{delivery.channel}: delivered (attempt {delivery.attempts})", channel=delivery.channel)
        else:
            log("notify", f"{delivery.channel}: not delivered after {delivery.attempts} attempt(s): {delivery.error}",
                "error", channel=delivery.channel)
    return len(failed(deliveries))
