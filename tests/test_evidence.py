"""Run evidence (docs/evidence.md): every scan and `crosspath report` write OUT/evidence.json with the
sha256 of each report, the snapshot and the config files; `crosspath verify OUT` recomputes them."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspath.cli import main
from crosspath.evidence import EVIDENCE_NAME
from crosspath.pipeline import remove_reports
from queries.findings import EXCEPTION_STATES
from tests.test_sample_org import SAMPLES

EXCEPTIONS = SAMPLES / "exceptions.yaml"
REPORT_FILES = {"report.md", "report.html", "findings.json", "findings.csv", "findings.sarif"}


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scan")
    result = _invoke("scan", str(SAMPLES), "--out", str(out), "--exceptions", str(EXCEPTIONS), "--quiet")
    assert result.exit_code == 0, result.output
    return out


def _copy(scanned: Path, into: Path) -> Path:
    """A private copy of the scan folder, for a test that edits it."""
    shutil.copytree(scanned, into, symlinks=True)
    return into


def test_a_scan_writes_evidence_whose_hashes_are_the_files(scanned):
    evidence = json.loads((scanned / EVIDENCE_NAME).read_text())
    assert (evidence["format"], evidence["version"]) == ("crosspath-evidence", 1)
    assert evidence["tool_version"] and evidence["written_at"]
    assert {entry["path"] for entry in evidence["reports"]} == REPORT_FILES
    for entry in evidence["reports"]:
        path = scanned / entry["path"]
        assert (entry["sha256"], entry["bytes"]) == (_sha256(path), path.stat().st_size)
    snapshot = evidence["snapshot"]
    assert snapshot["path"] == "snapshot.arrow"
    assert snapshot["sha256"] == _sha256(scanned / "snapshot.arrow")
    findings = json.loads((scanned / "findings.json").read_text())
    assert snapshot["id"] == findings["snapshot"]["snapshot_id"]
    assert evidence["config"]["policy"] is None
    assert evidence["config"]["exceptions"] == {"path": str(EXCEPTIONS.resolve()), "sha256": _sha256(EXCEPTIONS)}
    assert evidence["config"] == findings["snapshot"]["scan_config"]
    summary = findings["summary"]
    assert evidence["findings"] == {"open": summary["open"], "excepted": summary["excepted"]}
    assert evidence["exceptions"] == summary["exceptions"] and set(evidence["exceptions"]) == set(EXCEPTION_STATES)
    assert evidence["coverage"] == {source: entry["status"] for source, entry in findings["snapshot"]["coverage"].items()}


def test_an_untouched_scan_verifies(scanned):
    result = _invoke("verify", str(scanned))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in [*REPORT_FILES, "snapshot.arrow"]:
        assert any(line.startswith("ok ") and line.endswith(name) for line in lines), (name, result.output)
    assert lines[-1].startswith("verified: 5 report(s) and the snapshot ")


def test_verify_fails_naming_an_edited_report(scanned, tmp_path):
    out = _copy(scanned, tmp_path / "out")
    with open(out / "report.md", "a") as report:
        report.write("\nNothing to see here.\n")
    result = _invoke("verify", str(out))
    assert result.exit_code == 1
    assert "CHANGED      report     report.md" in result.output
    assert "FAILED: report.md CHANGED" in result.output and "re-run `crosspath scan`" in result.output
    checks = {check["path"]: check for check in json.loads(_invoke("verify", str(out), "--json").output)["checks"]}
    assert checks["report.md"]["status"] == "changed" and checks["report.md"]["fails"]
    assert checks["findings.json"]["status"] == "ok"


def test_verify_fails_on_a_missing_report_or_snapshot(scanned, tmp_path):
    out = _copy(scanned, tmp_path / "out")
    (out / "findings.sarif").unlink()
    (out / "snapshot.arrow").unlink()
    result = _invoke("verify", str(out))
    assert result.exit_code == 1
    assert "MISSING      report     findings.sarif" in result.output
    assert "MISSING      snapshot   snapshot.arrow" in result.output


def test_a_changed_or_removed_exceptions_file_is_said_not_failed(tmp_path):
    exceptions = tmp_path / "exceptions.yaml"
    exceptions.write_bytes(EXCEPTIONS.read_bytes())
    out = tmp_path / "out"
    assert _invoke("scan", str(SAMPLES), "--out", str(out), "--exceptions", str(exceptions), "--quiet").exit_code == 0
    with open(exceptions, "a") as handle:
        handle.write("\n# edited after the scan\n")
    result = _invoke("verify", str(out))
    assert result.exit_code == 0, result.output
    assert "CHANGED      exceptions" in result.output and "changed since the scan" in result.output
    exceptions.unlink()
    result = _invoke("verify", str(out), "--json")
    assert result.exit_code == 0
    (check,) = [check for check in json.loads(result.output)["checks"] if check["role"] == "exceptions"]
    assert (check["status"], check["fails"]) == ("not_checked", False)


def test_verify_without_evidence_says_so_and_how_to_fix_it(tmp_path):
    result = CliRunner().invoke(main, ["verify", str(tmp_path)])
    assert result.exit_code == 1
    assert f"no evidence.json in {tmp_path}" in result.output and "re-run `crosspath scan`" in result.output
    (tmp_path / EVIDENCE_NAME).write_text("{not json")
    result = CliRunner().invoke(main, ["verify", str(tmp_path), "--json"])
    assert result.exit_code == 1
    assert f"{tmp_path / EVIDENCE_NAME} is unreadable" in result.output
    assert json.loads(result.stdout)["ok"] is False


def test_report_rewrites_the_evidence_for_its_snapshot_and_exceptions(scanned, tmp_path):
    out = tmp_path / "rewritten"
    result = _invoke("report", "--snapshot", str(scanned / "snapshot.arrow"), "--out", str(out), "--format",
                     "md,json", "--quiet")
    assert result.exit_code == 0, result.output
    evidence = json.loads((out / EVIDENCE_NAME).read_text())
    assert {entry["path"] for entry in evidence["reports"]} == {"report.md", "findings.json"}
    assert evidence["snapshot"]["path"] == str((scanned / "snapshot.arrow").resolve())  # outside OUT: absolute
    assert evidence["snapshot"]["id"] == json.loads((scanned / EVIDENCE_NAME).read_text())["snapshot"]["id"]
    assert evidence["config"] == {"policy": None, "exceptions": None}  # this analysis used none
    assert evidence["findings"]["excepted"] == 0
    assert _invoke("verify", str(out)).exit_code == 0


def test_a_scan_removes_the_previous_evidence_with_the_previous_reports(tmp_path):
    (tmp_path / EVIDENCE_NAME).write_text("{}")
    remove_reports(tmp_path)
    assert not (tmp_path / EVIDENCE_NAME).exists()
