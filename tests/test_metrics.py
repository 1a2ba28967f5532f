"""`--metrics FILE` (docs/metrics.md): OpenMetrics text whose numbers are the scan's findings.json summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as prometheus_text_families

from crosspath.cli import main
from crosspath.metrics import render_metrics
from graph.coverage import CoverageStatus
from graph.times import parse_time
from queries.findings import EXCEPTION_STATES, GAP_TYPES, SEVERITIES, Analysis
from tests.test_sample_org import SAMPLES

EXCEPTIONS = SAMPLES / "exceptions.yaml"


def _samples(text: str) -> dict[str, dict[tuple, float]]:
    """{family name: {sorted label items: value}}, parsed by prometheus_client's OpenMetrics parser."""
    parsed: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        parsed[family.name] = {tuple(sorted(sample.labels.items())): sample.value for sample in family.samples}
    return parsed


def _by(parsed: dict[str, dict[tuple, float]], family: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: value for labels, value in parsed[family].items()}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> tuple[Path, dict, dict]:
    out = tmp_path_factory.mktemp("scan")
    metrics = out.parent / f"{out.name}.prom"
    result = CliRunner().invoke(main, ["scan", str(SAMPLES), "--out", str(out), "--exceptions", str(EXCEPTIONS),
                                       "--metrics", str(metrics), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    findings = json.loads((out / "findings.json").read_text())
    return out, _samples(metrics.read_text()), findings


def test_finding_counts_are_the_findings_json_summary(scanned):
    _, parsed, findings = scanned
    summary = findings["summary"]
    assert _by(parsed, "crosspath_findings", "status") == {"open": summary["open"], "excepted": summary["excepted"]}
    assert _by(parsed, "crosspath_open_findings_by_severity", "severity") == summary["by_severity"]
    assert set(summary["by_severity"]) == set(SEVERITIES)
    assert _by(parsed, "crosspath_open_findings_by_gap_type", "gap_type") == summary["by_gap_type"]
    assert set(summary["by_gap_type"]) == set(GAP_TYPES)
    providers = _by(parsed, "crosspath_open_findings_by_entry_provider", "provider")
    assert {name: count for name, count in providers.items() if count} == summary["by_entry_provider"]
    assert set(providers) == {finding["entry"]["provider"] for finding in findings["findings"]}
    teams = _by(parsed, "crosspath_open_findings_by_team", "team")
    assert {team: count for team, count in teams.items() if count} == summary["by_owner"]
    assert teams["unowned"] == summary["unowned"] > 0
    overdue = _by(parsed, "crosspath_overdue_findings_by_team", "team")
    assert set(overdue) == set(teams) and sum(overdue.values()) == summary["overdue"]


def test_every_exception_state_is_written_zeros_included(scanned):
    _, parsed, findings = scanned
    exceptions = _by(parsed, "crosspath_exceptions", "state")
    assert exceptions == findings["summary"]["exceptions"]
    assert set(exceptions) == set(EXCEPTION_STATES)
    assert any(exceptions.values()) and not all(exceptions.values())  # the sample's exceptions: some states, not all


def test_coverage_scan_time_and_age(scanned):
    _, parsed, findings = scanned
    coverage = parsed["crosspath_source_coverage"]
    for source, entry in findings["snapshot"]["coverage"].items():
        statuses = {dict(labels)["status"]: value for labels, value in coverage.items() if dict(labels)["source"] == source}
        assert statuses == {str(status): float(status == entry["status"]) for status in CoverageStatus}
    (duration,) = parsed["crosspath_scan_duration_seconds"].values()
    assert duration > 0
    (collected,) = parsed["crosspath_snapshot_collected_timestamp_seconds"].values()
    assert collected == parse_time(findings["snapshot"]["collected_at"]).timestamp()
    (age,) = parsed["crosspath_oldest_open_finding_age_seconds"].values()
    as_of = parse_time(findings["as_of"])
    oldest = max((as_of - parse_time(f["first_seen"])).days for f in findings["findings"] if f["status"] == "open")
    assert age == oldest * 86_400


def test_the_file_reads_as_prometheus_text_too(scanned):
    """The node-exporter textfile collector and the Pushgateway parse the Prometheus text format."""
    out, parsed, _ = scanned
    text = (out.parent / f"{out.name}.prom").read_text()
    assert text.endswith("# EOF\n")
    assert {family.name for family in prometheus_text_families(text)} == set(parsed)


def test_report_writes_metrics_of_its_analysis(scanned, tmp_path):
    out, _, _ = scanned
    metrics = tmp_path / "metrics" / "crosspath.prom"
    metrics.parent.mkdir()
    result = CliRunner().invoke(main, ["report", "--snapshot", str(out / "snapshot.arrow"), "--out",
                                       str(tmp_path / "out"), "--exceptions", str(EXCEPTIONS), "--metrics",
                                       str(metrics), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    parsed = _samples(metrics.read_text())
    summary = json.loads((tmp_path / "out" / "findings.json").read_text())["summary"]
    assert _by(parsed, "crosspath_open_findings_by_severity", "severity") == summary["by_severity"]
    assert _by(parsed, "crosspath_exceptions", "state") == summary["exceptions"]
    assert metrics.stat().st_mode & 0o777 == 0o644  # readable by the textfile collector's user
    assert [p.name for p in metrics.parent.iterdir()] == ["crosspath.prom"]  # written atomically, no temp left


def test_the_oldest_open_finding_age_counts_from_an_earlier_scan(tmp_path):
    out, metrics = tmp_path / "out", tmp_path / "crosspath.prom"
    earlier = ["scan", str(SAMPLES), "--out", str(out), "--as-of", "2026-10-22T00:00:00Z", "--quiet"]
    assert CliRunner().invoke(main, earlier).exit_code == 0
    later = ["scan", str(SAMPLES), "--out", str(out), "--metrics", str(metrics), "--quiet"]  # manifest: 2026-11-01
    assert CliRunner().invoke(main, later).exit_code == 0
    (age,) = _samples(metrics.read_text())["crosspath_oldest_open_finding_age_seconds"].values()
    assert age == 10 * 86_400


def test_no_findings_reads_zeros_not_gaps():
    analysis = Analysis(findings=[], metadata={"coverage": {"aws": {"status": "missing"}}}, policy={},
                        as_of="2026-11-01T00:00:00Z")
    parsed = _samples(render_metrics(analysis, 1.5).decode())
    assert _by(parsed, "crosspath_findings", "status") == {"open": 0, "excepted": 0}
    assert _by(parsed, "crosspath_open_findings_by_severity", "severity") == dict.fromkeys(SEVERITIES, 0)
    assert _by(parsed, "crosspath_exceptions", "state") == dict.fromkeys(EXCEPTION_STATES, 0)
    assert parsed["crosspath_open_findings_by_entry_provider"] == {}
    assert list(parsed["crosspath_oldest_open_finding_age_seconds"].values()) == [0]
    assert list(parsed["crosspath_scan_duration_seconds"].values()) == [1.5]
    assert _by(parsed, "crosspath_source_coverage", "status")["missing"] == 1
    assert "crosspath_snapshot_collected_timestamp_seconds" not in parsed  # no collection time, no guess
