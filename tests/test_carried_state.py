"""What one scan carries to the next, when it cannot be read, and re-analysing a snapshot as its scan saw it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspath.cli import main
from graph.snapshot import SnapshotError, read_metadata
from queries.exceptions import load_exceptions
from queries.yaml_files import ConfigError

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
OUTGROWN = "CP-f4b5b39dbbee"


def _findings(out: Path) -> dict:
    return json.loads((out / "findings.json").read_text())


@pytest.fixture
def demo(tmp_path) -> Path:
    out = tmp_path / "demo"
    assert CliRunner().invoke(main, ["demo", "--out", str(out)]).exit_code == 0
    return out


def _rescan(out: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["scan", str(SAMPLES), "--out", str(out), "--exceptions",
                                       str(out / "exceptions.yaml"), "--quiet"])
    return result.exit_code, result.output


def test_an_unreadable_latest_snapshot_falls_back_to_history_and_says_so(demo):
    newest = max((demo / "history").glob("*.arrow"))
    (demo / "snapshot.arrow").unlink()  # the link, then a damaged copy in its place
    (demo / "snapshot.arrow").write_bytes(b"\x1f\x8b damaged")
    newest.unlink()  # the newest history file was the same snapshot
    result = CliRunner().invoke(main, ["scan", str(SAMPLES), "--out", str(demo), "--exceptions",
                                       str(demo / "exceptions.yaml")])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "comparing with" in result.output
    finding = next(f for f in _findings(demo)["findings"] if f["id"] == OUTGROWN)
    assert finding["status"] == "open" and finding["exception"]["state"] == "outgrown"  # approvals not lost


def test_no_readable_snapshot_stops_the_scan(demo):
    for path in [demo / "snapshot.arrow", *(demo / "history").glob("*.arrow")]:
        path.unlink()
        path.write_bytes(b"not a snapshot")
    code, output = _rescan(demo)
    assert code == 1 and "no snapshot in" in output and "can be read" in output


def test_a_report_from_a_snapshot_reads_as_its_scan_did(demo, tmp_path):
    scanned = _findings(demo)
    out = tmp_path / "again"
    result = CliRunner().invoke(main, ["report", "--snapshot", str(demo / "snapshot.arrow"), "--out", str(out),
                                       "--exceptions", str(demo / "exceptions.yaml"), "--quiet"])
    assert result.exit_code == 0, result.output
    again = _findings(out)
    assert again["since_previous"] == scanned["since_previous"] and scanned["since_previous"]["new"]
    assert again["summary"]["new"] == scanned["summary"]["new"] == 1  # Dana Ruiz, new this week
    assert [f["status"] for f in again["findings"]] == [f["status"] for f in scanned["findings"]]


def test_a_report_of_fewer_formats_leaves_no_older_report_beside_it(demo):
    result = CliRunner().invoke(main, ["report", "--snapshot", str(demo / "snapshot.arrow"), "--out", str(demo),
                                       "--format", "md", "--quiet"])
    assert result.exit_code == 0
    assert not (demo / "findings.json").exists() and (demo / "report.md").exists()
    assert CliRunner().invoke(main, ["verify", str(demo)]).exit_code == 0


def test_two_exceptions_with_one_id_are_an_error(tmp_path):
    path = tmp_path / "exceptions.yaml"
    entry = "  - id: EX-1\n    finding: CP-{n}\n    owner: a\n    justification: b\n    expires: 2027-01-01\n"
    path.write_text("exceptions:\n" + entry.format(n="000000000001") + entry.format(n="000000000002"))
    with pytest.raises(ConfigError, match=r"line 7: exception id EX-1 is used twice \(first by exception #1\)"):
        load_exceptions(path)


def test_read_metadata_finds_the_real_end_and_refuses_other_files(tmp_path):
    tricky = {"format": "crosspath-snapshot", "version": 1,
              "metadata": {"note": '},"nodes":[', "nested": {"nodes": 1}}, "nodes": [], "edges": []}
    path = tmp_path / "s.json.gz"
    path.write_bytes(gzip.compress(json.dumps(tricky, separators=(",", ":")).encode()))
    assert read_metadata(path) == tricky["metadata"]
    other = tmp_path / "other.json.gz"
    other.write_bytes(gzip.compress(b'{"nodes": []}' + b" " * 100_000))
    with pytest.raises(SnapshotError, match="not a Crosspath snapshot"):
        read_metadata(other)

