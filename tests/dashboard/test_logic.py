"""The dashboard's plain-Python parts: exceptions editing, snapshot discovery, settings, paging."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from crosspath.pipeline import run_analysis
from dashboard.exceptions_edit import NewException, add_exception
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


def test_the_new_fields_are_written_with_created_the_day_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yaml"
    added = add_exception(path, _new(approved_by="ciso@example.com", approved_at=date(2026, 11, 2),
                                     ticket="https://jira.example.com/browse/SEC-1", review_by=date(2026, 12, 1)),
                          None, AS_OF, today=date(2026, 11, 3))
    assert (added.created, added.approved_by, added.approved_at, added.ticket, added.review_by, added.broad) == (
        date(2026, 11, 3), "ciso@example.com", date(2026, 11, 2), "https://jira.example.com/browse/SEC-1",
        date(2026, 12, 1), False)
    assert "broad" not in path.read_text()


@pytest.mark.parametrize(("changes", "message"), [
    ({"approved_by": "ciso@example.com"}, "has approved_by without approved_at"),
    ({"broad": True}, "broad: true without an approver"),
    ({"ticket": "SEC-1"}, "field 'ticket' is a link"),
    ({"review_by": date(2027, 6, 1)}, "review_by 2027-06-01 is after expires"),
    ({"expires": date(2027, 12, 1)}, r"expires 393 days after created \(2026-11-03\).*exceptions.max_lifetime_days"),
])
def test_what_the_file_or_the_policy_refuses_is_not_written(tmp_path: Path, changes: dict, message: str) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text("exceptions: []\n")
    with pytest.raises(ConfigError, match=message):
        add_exception(path, _new(**changes), None, AS_OF, today=date(2026, 11, 3))
    assert path.read_text() == "exceptions: []\n"


def test_a_match_over_max_findings_needs_broad_and_an_approver(sample_out: SampleOut, tmp_path: Path) -> None:
    analysis = run_analysis(read_snapshot(sample_out.newer), None, None)
    matched = sum(f.entry["id"].startswith("aws:") for f in analysis.findings)
    path = tmp_path / "exceptions.yaml"
    with pytest.raises(ConfigError, match=rf"matches {matched} findings; the policy allows 1 .*max_findings"):
        add_exception(path, _new(), analysis, AS_OF)
    assert not path.exists()
    one = next(f for f in analysis.findings if f.entry["id"].startswith("entra:"))
    add_exception(path, _new(id="EX-2", entry=one.entry["id"]), analysis, AS_OF)  # exactly one: no approval needed
    added = add_exception(path, _new(broad=True, approved_by="ciso@example.com", approved_at=date(2026, 11, 2)),
                          analysis, AS_OF)
    assert added.broad and [e.id for e in load_exceptions(path)] == ["EX-2", "EX-1"]


def test_the_policy_that_requires_approval_refuses_an_unapproved_one(sample_out: SampleOut, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("exceptions:\n  require_approval: true\n")
    analysis = run_analysis(read_snapshot(sample_out.newer), policy, None)
    one = analysis.findings[0].id
    path = tmp_path / "exceptions.yaml"
    with pytest.raises(ConfigError, match=r"requires approval \(exceptions.require_approval\)"):
        add_exception(path, _new(entry="", finding=one), analysis, AS_OF)
    add_exception(path, _new(entry="", finding=one, approved_by="ciso@example.com", approved_at=date(2026, 11, 2)),
                  analysis, AS_OF)
    assert [e.finding for e in load_exceptions(path)] == [one]


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
    (sample_out.folder / "history" / "snapshot-20991231T000000Z.arrow.tmp").write_text("")
    assert [item.path for item in discover(sample_out.folder)] == [sample_out.newer, sample_out.older]


def test_an_upload_that_is_not_a_snapshot_is_refused(sample_out: SampleOut, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    with pytest.raises(SnapshotError, match=r"^uploaded file 'evil/../../x.json': not a Crosspath snapshot"):
        save_upload(uploads, "evil/../../x.json", b'{"format": "something else"}')
    assert discover_uploads(uploads) == [] and not (tmp_path / "x.json").exists()
    saved = save_upload(uploads, "week 44.arrow", sample_out.older.read_bytes())
    assert saved.path == uploads / "week_44.arrow" and saved.label == "uploaded: week_44.arrow · collected 2026-10-25 00:00:00Z"
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
