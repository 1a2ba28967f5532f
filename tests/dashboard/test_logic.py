"""The dashboard's plain-Python parts: exceptions editing, snapshot discovery, settings, paging."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from crosspath.pipeline import run_analysis
from dashboard.exceptions_edit import NewException, add_exception, blanket_scope
from dashboard.settings import load_settings
from dashboard.snapshots import discover, discover_uploads, save_upload
from dashboard.tables import FindingFilter, findings_frame, page_count, page_of
from graph.snapshot import SnapshotError, read_snapshot
from queries.exceptions import load_exceptions
from queries.yaml_files import ConfigError
from tests.dashboard.conftest import SampleOut

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def _new(**changes: object) -> NewException:
    values = {"id": "EX-1", "owner": "sec", "justification": "ticket 1", "expires": date(2027, 1, 31),
              "entry": "aws:*"} | changes
    return NewException(**values)  # type: ignore[arg-type]


def test_adding_to_a_missing_file_creates_it(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yaml"
    added = add_exception(path, _new(), None, AS_OF)
    assert added.id == "EX-1" and added.entry == "aws:*" and added.expires == date(2027, 1, 31)
    assert [e.id for e in load_exceptions(path)] == ["EX-1"]


def test_adding_keeps_comments_and_earlier_entries(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text("# owned by the SOC\nexceptions:\n    - id: EX-0\n      match: {gap_type: NO_MFA}\n"
                    "      owner: soc\n      justification: old\n      expires: 2027-01-01\n")
    add_exception(path, _new(), None, AS_OF)
    text = path.read_text()
    assert text.startswith("# owned by the SOC\n") and "\n    - id: EX-1\n" in text  # the file's own indent
    assert [e.id for e in load_exceptions(path)] == ["EX-0", "EX-1"]


def test_a_list_that_is_not_last_is_rewritten_whole(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text("exceptions:\n  - id: EX-0\n    finding: CP-000000000000\n    owner: soc\n"
                    "    justification: old\n    expires: 2027-01-01\nnotes: {}\n")
    add_exception(path, _new(), None, AS_OF)
    assert [e.id for e in load_exceptions(path)] == ["EX-0", "EX-1"]
    assert "notes: {}" in path.read_text()


def test_a_flow_style_empty_list_takes_the_first_exception(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text("exceptions: []\n")
    add_exception(path, _new(), None, AS_OF)
    assert [e.id for e in load_exceptions(path)] == ["EX-1"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"owner": " "}, "field 'owner' is required"),
    ({"justification": ""}, "field 'justification' is required"),
    ({"id": ""}, "field 'id'"),
    ({"entry": "", "finding": ""}, "scope"),
    ({"expires": date(2026, 10, 1)}, "field 'expires'"),
    ({"gap_type": "NO_SUCH_GAP"}, "match.gap_type"),
])
def test_invalid_exceptions_are_refused_and_the_file_is_untouched(tmp_path: Path, changes: dict,
                                                                   message: str) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text("exceptions: []\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as raised:
        add_exception(path, _new(**changes), None, AS_OF)
    assert str(tmp_path) not in str(raised.value) or str(path) in str(raised.value)
    assert path.read_text() == "exceptions: []\n"


@pytest.mark.parametrize(("changes", "covers"), [
    ({"entry": "*"}, "every finding"),
    ({"entry": "**", "gap_type": "NO_MFA"}, "every NO_MFA finding"),
    ({"entry": "", "target": "*"}, "every finding"),
])
def test_a_match_that_covers_everything_is_written_only_when_confirmed(tmp_path: Path, changes: dict,
                                                                      covers: str) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text("exceptions: []\n")
    with pytest.raises(ConfigError, match=f"covers {covers} .*narrow the pattern, or tick"):
        add_exception(path, _new(**changes), None, AS_OF)
    assert path.read_text() == "exceptions: []\n"
    add_exception(path, _new(**changes, covers_everything=True), None, AS_OF)
    assert [e.id for e in load_exceptions(path)] == ["EX-1"]


def test_a_pattern_that_every_finding_of_the_snapshot_matches_covers_everything(sample_out: SampleOut) -> None:
    findings = run_analysis(read_snapshot(sample_out.newer), None, None).findings
    assert blanket_scope(_new(entry="*:*"), findings) == "every finding"
    assert blanket_scope(_new(entry="*:*", gap_type="LONG_LIVED_NHI_KEY"), findings) == "every LONG_LIVED_NHI_KEY finding"
    assert blanket_scope(_new(entry="entra:*"), findings) is None  # some entries only
    assert blanket_scope(_new(entry="*", target="aws:*"), findings) is None  # some targets only
    assert blanket_scope(_new(entry="*", finding=findings[0].id), findings) is None  # one finding by id


def test_a_finding_pattern_or_an_id_that_is_a_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text("exceptions: []\n")
    with pytest.raises(ConfigError, match="field 'finding' is one exact finding id"):
        add_exception(path, _new(entry="", finding="*"), None, AS_OF)
    with pytest.raises(ConfigError, match="field 'id': '../evil' is not an id"):
        add_exception(path, _new(id="../evil"), None, AS_OF)
    assert path.read_text() == "exceptions: []\n" and [p.name for p in tmp_path.iterdir()] == ["exceptions.yaml"]


def test_discover_lists_history_newest_first(sample_out: SampleOut) -> None:
    found = discover(sample_out.folder)
    assert [item.path for item in found] == [sample_out.newer, sample_out.older]
    assert found[0].label == "2026-11-01 00:00:00Z (latest)"
    assert discover(sample_out.folder / "nothing-here") == []
    # What a graph store keeps beside a snapshot (the embedded Cypher store's database) is not one.
    (sample_out.folder / "history" / f"{sample_out.newer.name}.lbug").mkdir()
    (sample_out.folder / "history" / "snapshot-20991231T000000Z.json.gz.tmp").write_text("")
    assert [item.path for item in discover(sample_out.folder)] == [sample_out.newer, sample_out.older]


def test_an_upload_that_is_not_a_snapshot_is_refused(sample_out: SampleOut, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    with pytest.raises(SnapshotError, match=r"^uploaded file 'evil/../../x.json': not a Crosspath snapshot"):
        save_upload(uploads, "evil/../../x.json", b'{"format": "something else"}')
    assert discover_uploads(uploads) == [] and not (tmp_path / "x.json").exists()
    saved = save_upload(uploads, "week 44.json.gz", sample_out.older.read_bytes())
    assert saved.path == uploads / "week_44.json.gz" and saved.label == "uploaded: week_44.json.gz · collected 2026-10-25 00:00:00Z"
    assert discover_uploads(uploads) == [saved]


def test_settings_command_line_wins_over_environment() -> None:
    env = {"CROSSPATH_SNAPSHOTS": "/env/out", "CROSSPATH_EXCEPTIONS": "/env/exc.yaml"}
    settings = load_settings(["--snapshots", "/cli/out"], env)
    assert settings.snapshots == Path("/cli/out") and settings.exceptions == Path("/env/exc.yaml")
    assert settings.policy is None
    assert load_settings([], {}).snapshots == Path("crosspath-out")


def test_filters_and_pages(sample_out: SampleOut) -> None:
    from crosspath.pipeline import run_analysis
    from graph.snapshot import read_snapshot

    frame = findings_frame(run_analysis(read_snapshot(sample_out.newer), None, sample_out.exceptions))
    assert FindingFilter().apply(frame).equals(frame)
    critical = FindingFilter(severities=["critical"], entry_kinds=["password"]).apply(frame)
    assert len(critical) > 0 and set(critical["severity"]) == {"critical"} and set(critical["entry_kind"]) == {
        "password"}
    assert FindingFilter(search="NO-SUCH-THING").apply(frame).empty
    assert page_count(0) == 1 and page_count(50) == 1 and page_count(51) == 2
    assert list(page_of(frame, 2, size=5)["rank"]) == [6, 7, 8, 9, 10]


def test_customer_names_in_path_pictures_are_inert(sample_out: SampleOut) -> None:
    from dashboard.path_views import WriteAccess, blast_radius
    from queries.paths import PathEngine
    from queries.policy import load_policy
    from queries.reports.markdown import md

    graph, _ = read_snapshot(sample_out.newer)
    hostile = '<img src=x onerror="alert(1)">[click](javascript:alert(2))'
    graph.nodes["entra:a1000000-0000-4000-8000-000000000001"]["name"] = hostile
    engine = PathEngine(graph, load_policy())
    rows = WriteAccess(engine).who_can_write("aws:arn:aws:s3:::lumen-prod-invoices")
    picture = next(row["picture"] for row in rows if row["entry_id"].endswith("000000000001"))
    html = picture.html()
    assert "<img" not in html and "&lt;img src=x" in html
    sentences = [md(line) for line in picture.explanation]
    assert all("<img" not in line and not re.search(r"(?<!\\)\]\(", line) for line in sentences), sentences
    assert blast_radius(engine, "entra:a1000000-0000-4000-8000-000000000001")[0]["picture"].entry["name"] == hostile
