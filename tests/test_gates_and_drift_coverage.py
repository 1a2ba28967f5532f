"""Gates that mean it and drift that does not lie: nothing collected fails and keeps the last snapshot;
a gated scan fails when a source covered last time is not covered now; findings of a source that was
not covered are "not re-checked", never resolved; history names are unique; reports never outlive
their snapshot; one writer per OUT."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspath.cli import EXIT_COVERAGE, main
from crosspath.pipeline import LOCK_NAME, ScanError, out_lock, remove_reports, save_snapshot, scan
from graph.snapshot import read_snapshot
from tests.test_sample_org import SAMPLES


def _without(tmp_path: Path, *sources: str) -> Path:
    copy = tmp_path / "exports"
    shutil.copytree(SAMPLES, copy)
    for source in sources:
        shutil.rmtree(copy / source)
    return copy


def _scan(*args: str):
    return CliRunner().invoke(main, ["scan", *args, "--quiet"])


def test_nothing_collected_exits_4_and_keeps_the_last_snapshot(tmp_path):
    out = tmp_path / "out"
    assert _scan(str(SAMPLES), "--out", str(out)).exit_code == 0
    before = (out / "snapshot.arrow").read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _scan(str(empty), "--out", str(out), "--fail-on", "high")
    assert result.exit_code == EXIT_COVERAGE
    assert "nothing was collected" in result.output and "is kept" in result.output
    assert (out / "snapshot.arrow").read_bytes() == before
    assert len(list((out / "history").iterdir())) == 1


def test_a_gated_scan_fails_when_a_covered_source_goes_missing_unless_optional(tmp_path):
    out = tmp_path / "out"
    assert _scan(str(SAMPLES), "--out", str(out)).exit_code == 0
    no_k8s = _without(tmp_path, "kubernetes")
    gated = _scan(str(no_k8s), "--out", str(out), "--fail-on", "critical")
    assert gated.exit_code == EXIT_COVERAGE
    assert "coverage gate: kubernetes: covered in the previous snapshot (complete), missing now" in gated.output
    optional = _scan(str(no_k8s), "--out", str(out), "--fail-on", "critical", "--optional-sources", "kubernetes")
    assert optional.exit_code == 3  # the findings gate still applies: criticals remain
    ungated = _scan(str(no_k8s), "--out", str(out))
    assert ungated.exit_code == 0
    assert _scan(str(no_k8s), "--out", str(out), "--optional-sources", "kubernetes,nope").exit_code == 2


def test_findings_of_a_source_not_covered_are_not_rechecked_never_resolved(tmp_path):
    full = scan(SAMPLES, tmp_path / "a").snapshot
    partial = scan(_without(tmp_path, "kubernetes"), tmp_path / "b").snapshot
    result = CliRunner().invoke(main, ["diff", str(full), str(partial), "--json"])
    drift = json.loads(result.output)
    assert drift["resolved_findings"] == []
    assert {f["id"] for f in drift["not_rechecked_findings"]} and all(
        "k8s" in f["title"].lower() or "kubernetes" in f["title"].lower() for f in drift["not_rechecked_findings"])
    assert drift["coverage"]["old"]["kubernetes"] == "complete" and drift["coverage"]["new"]["kubernetes"] == "missing"
    text = CliRunner().invoke(main, ["diff", str(full), str(partial)]).output
    assert "0 resolved" in text and "not re-checked (source not covered)" in text
    assert "coverage: kubernetes missing in the newer snapshot (was complete)" in text
    back = json.loads(CliRunner().invoke(main, ["diff", str(partial), str(full), "--json"]).output)
    assert back["not_rechecked_findings"] == [] and back["new_findings"]  # covered again: they are back as new


def test_two_snapshots_in_the_same_second_get_two_history_files(tmp_path):
    build_and_meta = scan(SAMPLES, tmp_path / "first")
    metadata = dict(build_and_meta.analysis.metadata)
    first = read_snapshot(save_snapshot(build_and_meta.build, dict(metadata), tmp_path / "out"))[1]["snapshot_id"]
    second = read_snapshot(save_snapshot(build_and_meta.build, dict(metadata), tmp_path / "out"))[1]["snapshot_id"]
    assert first != second and second == f"{first}_2"
    assert sorted(p.name for p in (tmp_path / "out" / "history").iterdir()) == [f"{first}.arrow", f"{second}.arrow"]
    from dashboard.snapshots import discover
    assert discover(tmp_path / "out")[0].path.name == f"{second}.arrow"  # the newer is the latest


def test_reports_carry_their_snapshot_id_and_are_removed_before_the_switch(tmp_path):
    result = scan(SAMPLES, tmp_path)
    snapshot_id = read_snapshot(result.snapshot)[1]["snapshot_id"]
    assert json.loads((tmp_path / "findings.json").read_text())["snapshot"]["snapshot_id"] == snapshot_id
    assert f"- Snapshot {snapshot_id}, collected at" in (tmp_path / "report.md").read_text()
    assert f"snapshot {snapshot_id} collected at" in (tmp_path / "report.html").read_text()
    remove_reports(tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("report.", "findings."))]


def test_one_writer_per_out_folder(tmp_path):
    busy = pytest.raises(ScanError, match="another crosspath scan is writing into")
    with out_lock(tmp_path), busy, out_lock(tmp_path):
        pass
    assert (tmp_path / LOCK_NAME).exists()
    with out_lock(tmp_path):  # released: the next scan may write
        pass
