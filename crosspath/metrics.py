"""`--metrics FILE`: one scan's numbers as OpenMetrics text, for the node-exporter textfile collector or
a Pushgateway. docs/metrics.md lists every family.

Only gauges: each file describes one scan, and plain gauges read the same in OpenMetrics and in the
Prometheus text format the textfile collector and the Pushgateway parse. Every label value a family can
take is written, zeros included (severities, gap types, exception states, coverage statuses), so a
count that drops to zero reads 0 rather than vanishing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from graph.coverage import CoverageStatus
from graph.snapshot import write_atomic
from graph.times import parse_time
from queries.findings import GAP_TYPES, SEVERITIES, Analysis
from queries.lifecycle import days_open

SECONDS_PER_DAY = 86_400


class ScanCollector(Collector):
    """The metric families of one Analysis (and how long it took)."""

    def __init__(self, analysis: Analysis, duration_seconds: float) -> None:
        self.analysis = analysis
        self.duration_seconds = duration_seconds

    def collect(self) -> Iterator[Metric]:
        analysis = self.analysis
        summary = analysis.summary()

        by_status = GaugeMetricFamily("crosspath_findings", "Findings by status (open, or excepted by an "
                                      "exception in force).", labels=["status"])
        for status in ("open", "excepted"):
            by_status.add_metric([status], summary[status])
        yield by_status

        by_severity = GaugeMetricFamily("crosspath_open_findings_by_severity", "Open findings by severity.",
                                        labels=["severity"])
        for severity in SEVERITIES:
            by_severity.add_metric([severity], summary["by_severity"].get(severity, 0))
        yield by_severity

        by_gap = GaugeMetricFamily("crosspath_open_findings_by_gap_type", "Open findings by gap type; a "
                                   "finding with several gap types counts under each.", labels=["gap_type"])
        for gap in GAP_TYPES:
            by_gap.add_metric([gap], summary["by_gap_type"].get(gap, 0))
        yield by_gap

        by_provider = GaugeMetricFamily("crosspath_open_findings_by_entry_provider", "Open findings by the "
                                        "provider of their entry (the credential or sign-in).", labels=["provider"])
        providers = sorted({finding.entry.get("provider", "") for finding in analysis.findings})
        for provider in providers:
            by_provider.add_metric([provider], summary["by_entry_provider"].get(provider, 0))
        yield by_provider

        by_team = GaugeMetricFamily("crosspath_open_findings_by_team", "Open findings by owning team (docs/owners.md; "
                                    "`unowned` when nobody owns them).", labels=["team"])
        overdue = GaugeMetricFamily("crosspath_overdue_findings_by_team", "Open findings past their due date (the "
                                    "policy's sla_days) by owning team.", labels=["team"])
        for team in sorted({finding.owner for finding in analysis.findings}):
            by_team.add_metric([team], summary["by_owner"].get(team, 0))
            overdue.add_metric([team], summary["overdue_by_owner"].get(team, 0))
        yield by_team
        yield overdue

        exceptions = GaugeMetricFamily("crosspath_exceptions", "Exceptions in each state on this scan; an "
                                       "exception can be in several states (expired and stale).", labels=["state"])
        for state, count in summary["exceptions"].items():
            exceptions.add_metric([state], count)
        yield exceptions

        coverage = GaugeMetricFamily("crosspath_source_coverage", "1 for the coverage status each source had "
                                     "on this scan, 0 for the others.", labels=["source", "status"])
        statuses = [str(status) for status in CoverageStatus]
        for source, entry in sorted((analysis.metadata.get("coverage") or {}).items()):
            actual = str((entry or {}).get("status", ""))
            for status in statuses + ([actual] if actual and actual not in statuses else []):
                coverage.add_metric([source, status], 1 if status == actual else 0)
        yield coverage

        yield GaugeMetricFamily("crosspath_scan_duration_seconds", "How long the scan took (for `crosspath "
                                "report`, the analysis of the snapshot).", value=round(self.duration_seconds, 3))

        as_of = parse_time(analysis.as_of)
        oldest_days = max((days_open(finding, as_of) for finding in analysis.open_findings), default=0) \
            if as_of else 0
        yield GaugeMetricFamily("crosspath_oldest_open_finding_age_seconds", "Age of the oldest open "
                                "finding, in whole days since first seen (as the reports count them) times "
                                "86400; 0 when none is open.", value=oldest_days * SECONDS_PER_DAY)

        collected = parse_time(analysis.metadata.get("collected_at"))
        if collected is not None:
            yield GaugeMetricFamily("crosspath_snapshot_collected_timestamp_seconds", "When the snapshot's "
                                    "exports were collected, in seconds since the Unix epoch.",
                                    value=collected.timestamp())


def render_metrics(analysis: Analysis, duration_seconds: float) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ScanCollector(analysis, duration_seconds))
    return generate_latest(registry)


def write_metrics(path: Path, analysis: Analysis, duration_seconds: float) -> Path:
    """Atomically, so a textfile collector never reads half a file; readable by the collector's user."""
    write_atomic(Path(path), render_metrics(analysis, duration_seconds), mode=0o644)
    return Path(path)
