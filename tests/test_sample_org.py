"""The sample organisation end to end: the scan reports exactly what EXPECTED.md plants."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspath.cli import main
from crosspath.pipeline import scan
from graph.snapshot import read_snapshot

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
_ROW = re.compile(r"^\|\s*(?:\d+\s*\|\s*)?`(?P<id>[^`]+)`\s*\|(?P<rest>.*)\|\s*$")


def _tables() -> tuple[dict[str, tuple[list[str], str]], set[str]]:
    planted: dict[str, tuple[list[str], str]] = {}
    decoys: set[str] = set()
    section = None
    for line in (SAMPLES / "EXPECTED.md").read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip().lower()
            continue
        match = _ROW.match(line)
        if not match:
            continue
        cells = [cell.strip() for cell in match["rest"].split("|")]
        if section and section.startswith("planted"):
            planted[match["id"]] = ([gap.strip() for gap in cells[0].split(",")], cells[1])
        elif section and section.startswith("decoys"):
            decoys.add(match["id"])
    return planted, decoys


@pytest.fixture(scope="module")
def sample_scan(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return scan(SAMPLES, out, exceptions_path=SAMPLES / "exceptions.yaml"), out


def test_expected_md_lists_the_planted_gaps_and_the_decoys():
    planted, decoys = _tables()
    assert len(planted) >= 16 and len(decoys) >= 12
    assert sum("CROSS_STACK" in gaps for gaps, _ in planted.values()) >= 4


def test_scan_finds_exactly_the_planted_gaps(sample_scan):
    result, _ = sample_scan
    planted, _ = _tables()
    found = {f.entry["id"]: (f.gap_types, f.status) for f in result.analysis.findings}
    assert found == {entry: (gaps, status) for entry, (gaps, status) in planted.items()}


def test_no_decoy_is_reported(sample_scan):
    result, _ = sample_scan
    _, decoys = _tables()
    graph = result.build.graph
    assert all(decoy in graph for decoy in decoys), "every decoy must exist in the graph to prove anything"
    assert decoys.isdisjoint(f.entry["id"] for f in result.analysis.findings)


def test_every_source_is_covered_without_errors(sample_scan):
    result, _ = sample_scan
    statuses = {name: cov.status for name, cov in result.build.coverage.items()}
    assert statuses == dict.fromkeys(["aws", "databases", "entra", "gcp", "kubernetes"], "complete")
    assert result.build.errors == []


def test_findings_are_explainable_edge_by_edge(sample_scan):
    result, _ = sample_scan
    dana = next(f for f in result.analysis.findings if f.entry["id"] == "entra:a1000000-0000-4000-8000-000000000001")
    assert [step.kind for step in dana.path] == ["MEMBER_OF", "CAN_ASSUME", "HAS_PERMISSION"]
    assert dana.providers == ["entra", "aws"]
    assert all(step.via for step in dana.path)
    assert dana.target["name"] == "lumen-prod-invoices" and dana.target["level"] == "write"


def test_expired_exception_is_shown_on_the_reopened_finding(sample_scan):
    result, _ = sample_scan
    omar = next(f for f in result.analysis.findings if f.entry["id"].endswith("000000000008"))
    assert omar.status == "open" and omar.exception.id == "EX-2026-002" and omar.exception.expired


def test_scan_writes_the_snapshot_and_every_report(sample_scan):
    result, out = sample_scan
    for name in ("snapshot.arrow", "report.md", "report.html", "findings.json", "findings.csv",
                 "findings.sarif"):
        assert (out / name).is_file(), name
    graph, metadata = read_snapshot(out / "snapshot.arrow")
    assert graph.number_of_nodes() == result.build.graph.number_of_nodes()
    assert metadata["collected_at"] == "2026-11-01T00:00:00Z"
    findings = json.loads((out / "findings.json").read_text())
    first = findings["findings"][0]
    for key in ("id", "gap_types", "severity", "entry", "target", "targets_count", "providers", "path"):
        assert key in first
    assert set(first["path"][0]) >= {"source", "target", "kind", "via", "mfa_required"}


def test_cli_scan_prints_a_summary_and_gates_on_severity(tmp_path):
    runner = CliRunner()
    args = ["scan", str(SAMPLES), "--out", str(tmp_path), "--exceptions", str(SAMPLES / "exceptions.yaml")]
    ok = runner.invoke(main, args)
    assert ok.exit_code == 0, ok.output
    planted, _ = _tables()
    excepted = sum(status == "excepted" for _, status in planted.values())
    summary = f"{len(planted) - excepted} open findings, {excepted} excepted"
    assert summary in ok.output and "Sam Okafor" in ok.output
    gated = runner.invoke(main, [*args, "--fail-on", "high", "--quiet"])
    assert gated.exit_code == 3


def test_blast_radius_of_an_identity_that_is_not_an_entry(sample_scan):
    _, out = sample_scan
    runner = CliRunner()
    group = "entra:b2000000-0000-4000-8000-000000000001"  # AWS-Prod-Deployers
    shown = runner.invoke(main, ["blast-radius", group, "--snapshot", str(out / "snapshot.arrow"), "--json"])
    assert shown.exit_code == 0, shown.output
    targets = json.loads(shown.output)["targets"]
    assert [t["name"] for t in targets] == ["lumen-prod-invoices"]
    assert targets[0]["requires_mfa"] is False and targets[0]["hops"] == 2


def test_missing_source_is_reported_as_not_covered(tmp_path):
    partial = tmp_path / "org"
    partial.mkdir()
    (partial / "aws").symlink_to(SAMPLES / "aws")
    out = tmp_path / "out"
    shown = CliRunner().invoke(main, ["scan", str(partial), "--out", str(out)])
    assert shown.exit_code == 0, shown.output
    coverage = read_snapshot(out / "snapshot.arrow")[1]["coverage"]
    assert coverage["aws"]["status"] == "complete"
    assert coverage["gcp"]["status"] == "missing"
    report = (out / "report.md").read_text()
    assert "gcp" in report and "not covered" in report


def test_one_broken_source_loses_nothing_else(tmp_path):
    org = tmp_path / "org"
    org.mkdir()
    for source in ("aws", "entra", "databases"):
        (org / source).symlink_to(SAMPLES / source)
    (org / "gcp").mkdir()
    (org / "gcp" / "projects.json").write_text("{ not json")
    result = scan(org, tmp_path / "out")
    assert result.build.coverage["aws"].status == "complete"
    assert any("projects.json" in str(error) for error in result.build.errors)
    assert any(f.entry["provider"] == "aws" for f in result.analysis.findings)


def test_diff_lists_new_and_resolved_findings(tmp_path):
    runner = CliRunner()
    full, fewer = tmp_path / "full", tmp_path / "fewer"
    runner.invoke(main, ["scan", str(SAMPLES), "--out", str(full), "--quiet"])
    org = tmp_path / "org"
    org.mkdir()
    for source in ("aws", "entra"):
        (org / source).symlink_to(SAMPLES / source)
    (org / "manifest.json").symlink_to(SAMPLES / "manifest.json")
    runner.invoke(main, ["scan", str(org), "--out", str(fewer), "--quiet"])
    shown = runner.invoke(main, ["diff", str(fewer / "snapshot.arrow"), str(full / "snapshot.arrow"),
                                 "--json", "--fail-on-new"])
    assert shown.exit_code == 3
    drift = json.loads(shown.output)
    new_titles = " ".join(f["title"] for f in drift["new_findings"])
    assert "legacy-exporter" in new_titles and drift["resolved_findings"] == []
    assert drift["nodes_added"]["Identity"]


def test_each_path_step_names_its_techniques_and_the_reports_link_their_catalogue_entries(sample_scan):
    result, out = sample_scan
    finding = next(f for f in result.analysis.findings
                   if f.entry["id"] == "k8s:prod-eks/secret/ci/gitlab-runner-token")
    assert [(step.kind, step.techniques) for step in finding.path] == [
        ("AUTHENTICATES", []), ("CAN_READ_SECRET", ["k8s.secrets.read"]), ("AUTHENTICATES", []),
        ("HAS_PERMISSION", [])]
    document = json.loads((out / "findings.json").read_text())
    listed = {entry["id"]: entry for entry in document["techniques"]}
    named = {t for f in document["findings"] for step in f["path"] for t in step["techniques"]}
    assert set(listed) == named and "k8s.secrets.read" in named
    assert listed["k8s.secrets.read"]["remediation"] and listed["k8s.secrets.read"]["requires"]
    html = (out / "report.html").read_text()
    for technique_id in named:
        anchor = "technique-" + technique_id.replace(".", "-")
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html


@pytest.mark.parametrize("entry_id, mechanism", [
    ("aws:access-key/AKIA5LUMENCIDEPLOY01", "IAM Roles Anywhere, OIDC federation"),
    ("mysql:billing-prod/user/app_billing@%/password", "IAM database authentication (Amazon RDS)"),
    ("postgres:orders-prod/role/app_orders/password", "IAM database authentication (Amazon RDS)"),
    ("gcp:serviceAccount/build-bot@lumen-sandbox.iam.gserviceaccount.com/key/b0b0b0b0c1c1c1c1d2d2d2d2e3e3e3e3f4f4f4f4",
     "workload identity federation"),
    ("entra:c3000000-0000-4000-8000-000000000005/password/d4000000-0000-4000-8000-000000000005",
     "a managed identity, or a federated identity credential"),
    ("k8s:prod-eks/secret/ci/gitlab-runner-token", "projected short-lived service account tokens"),
])
def test_remediation_names_the_mechanism_for_the_credential_kind(sample_scan, entry_id, mechanism):
    result, out = sample_scan
    (finding,) = [f for f in result.analysis.findings if f.entry["id"] == entry_id]
    (advice,) = [line for line in finding.remediation if line.startswith("Rotate or remove credential")]
    assert mechanism in advice
    assert "short-lived federation" not in advice
    assert mechanism in (out / "report.md").read_text(encoding="utf-8")


def test_a_database_password_remediation_follows_what_the_server_is():
    from queries.analysis import replacement
    assert replacement("postgres", "password", {"gcp_cloudsql_instance": "p:r:i"}).startswith(
        "Cloud SQL IAM database authentication")
    plain = replacement("mysql", "password", {})
    assert "Microsoft Entra authentication" in plain and "secrets manager that rotates" in plain


def test_an_azure_subscription_is_labelled_azure_not_entra_id(sample_scan):
    from queries.reports.path_picture import render_path_svg
    result, out = sample_scan
    titles = [f.title for f in result.analysis.findings]
    assert any("can admin Azure subscription lumen-prod" in title for title in titles)
    assert not [title for title in titles if "Entra ID subscription" in title]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Entra ID subscription" not in report and "lumen-prod (azure subscription, admin" in report
    finding = next(f for f in result.analysis.findings if "Azure subscription" in f.title)
    assert "azure · subscription · admin" in render_path_svg(finding)


def test_a_scan_spares_its_graph_the_cycle_collector_and_hands_it_back_when_done(tmp_path, monkeypatch):
    """The graph a scan builds lives until the scan ends: the collector is kept off it meanwhile (frozen: at
    100,000 identities the collection after the build walked it for 0.4-0.6 s) and it is handed back at the
    end, also when the scan fails, so that a process running scan after scan (the tests, a library caller)
    still collects what each leaves behind."""
    import gc

    from crosspath import pipeline

    frozen: dict[str, int] = {}
    scan(SAMPLES, tmp_path / "out", progress=lambda message: frozen.setdefault(message, gc.get_freeze_count()))
    assert frozen["finding privileged write paths"] > 0  # after the build: the graph is frozen
    assert gc.get_freeze_count() == 0  # after the scan: nothing is

    def broken(*args, **kwargs):
        raise RuntimeError("the analysis failed")

    monkeypatch.setattr(pipeline, "analyze", broken)
    with pytest.raises(RuntimeError, match="the analysis failed"):
        scan(SAMPLES, tmp_path / "failed")
    assert gc.get_freeze_count() == 0
