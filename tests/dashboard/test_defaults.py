"""What the dashboard shows when started as README says: the scan's exceptions and policy, coverage
warnings at the top of every page, collection times in the pickers, the Identity explorer on the top
finding's entry, the saved Cypher questions (issue 19's dashboard defaults)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crosspath.pipeline import ScanResult, scan
from dashboard.views.common import PAGES
from tests.dashboard.conftest import SAMPLES, open_page, started_app


def _metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def _first_in_main(app: AppTest):
    return app.main[0]


@pytest.fixture
def scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ScanResult, Path]:
    """`make demo`: the sample scanned with its exceptions; the dashboard then started with only `--snapshots`."""
    exceptions = tmp_path / "exceptions.yaml"
    shutil.copyfile(SAMPLES / "exceptions.yaml", exceptions)
    result = scan(SAMPLES, tmp_path / "out", exceptions_path=exceptions)
    monkeypatch.setenv("CROSSPATH_SNAPSHOTS", str(tmp_path / "out"))
    monkeypatch.delenv("CROSSPATH_EXCEPTIONS", raising=False)
    monkeypatch.delenv("CROSSPATH_POLICY", raising=False)
    return result, exceptions


def test_dashboard_shows_the_counts_the_scan_reported(scanned: tuple[ScanResult, Path]) -> None:
    result, exceptions = scanned
    summary = result.analysis.summary()
    assert summary["excepted"] == 3  # a first scan: EX-2026-001, -003 and -005 in force (nothing outgrown yet)
    app = started_app()
    metrics = _metrics(app)
    assert (metrics["Open findings"], metrics["Excepted"]) == (str(summary["open"]), "3")
    sources = " ".join(c.value for c in app.sidebar.caption)
    assert f"exceptions `{exceptions.resolve()}` (the scan's)" in sources
    assert not app.warning  # nothing changed since the scan
    open_page(app, "Exceptions")  # listed, read-only: the scan's own file is not edited from here
    assert "EX-2026-001" in list(app.dataframe[0].value["id"])
    assert not app.get("form")
    assert any("the exceptions the scan used" in c.value for c in app.caption)


def test_dashboard_says_when_the_scans_exceptions_changed_or_are_gone(scanned: tuple[ScanResult, Path]) -> None:
    _, exceptions = scanned
    exceptions.write_text(exceptions.read_text().replace("EX-2026-001", "EX-2026-009"))
    app = started_app()
    assert any("has changed since the scan" in w.value for w in app.warning)
    assert _metrics(app)["Excepted"] == "3"
    exceptions.unlink()
    app = started_app()
    assert any("which is no longer there" in w.value for w in app.warning)
    assert _metrics(app)["Excepted"] == "0"


def test_exceptions_given_on_the_command_line_win_and_a_difference_is_named(
        scanned: tuple[ScanResult, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "mine.yaml"
    other.write_text("exceptions: []\n")
    monkeypatch.setenv("CROSSPATH_EXCEPTIONS", str(other))
    app = started_app()
    assert _metrics(app)["Excepted"] == "0"
    assert any("differs from the one the scan used" in w.value for w in app.warning)
    shutil.copyfile(scanned[1], other)  # `make dashboard`'s copy, as the scan read it: no note
    app = started_app()
    assert _metrics(app)["Excepted"] == "3" and not app.warning


def test_coverage_warnings_sit_at_the_top_of_every_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    samples = tmp_path / "samples"
    shutil.copytree(SAMPLES, samples)
    shutil.rmtree(samples / "gcp")
    scan(samples, tmp_path / "out")
    monkeypatch.setenv("CROSSPATH_SNAPSHOTS", str(tmp_path / "out"))
    monkeypatch.delenv("CROSSPATH_EXCEPTIONS", raising=False)
    monkeypatch.delenv("CROSSPATH_POLICY", raising=False)
    app = started_app()
    for page in PAGES:
        open_page(app, page)
        first = _first_in_main(app)
        assert first.type == "warning", (page, first)
        assert first.value.startswith("gcp: not covered"), (page, first.value)
        assert sum(w.value.startswith("gcp: not covered") for w in app.warning) == 1, page


def test_snapshot_pickers_show_collection_time_not_scan_time(scanned: tuple[ScanResult, Path]) -> None:
    result, exceptions = scanned
    collected = "2026-11-01 00:00:00Z"  # data/samples/manifest.json; the scan ran today
    app = started_app()
    assert app.sidebar.selectbox(key="snapshot").options == [f"{collected} (latest)"]
    scan(SAMPLES, result.snapshot.parent, exceptions_path=exceptions)  # the same exports scanned again
    app = started_app()
    options = app.sidebar.selectbox(key="snapshot").options
    assert len(set(options)) == 2 and all(o.startswith(f"{collected} (scanned ") for o in options), options
    assert options[0].endswith("(latest)")
    open_page(app, "Drift")
    assert app.selectbox(key="drift_old").options == options


def test_identity_explorer_opens_on_the_top_findings_entry_and_searches_by_name_and_email(
        scanned: tuple[ScanResult, Path]) -> None:
    result, _ = scanned
    top = next(f for f in result.analysis.findings if f.status == "open")
    app = open_page(started_app(), "Identity explorer")
    assert app.selectbox(key="identity_node").value == top.entry["id"]
    assert app.text_input(key="identity_node_search").label.startswith("Search by name or email")
    assert app.selectbox(key="identity_node").options[0].startswith(top.entry["name"])
    assert len(app.dataframe[0].value) >= top.targets_count  # its blast radius, at least the finding's targets
    app.text_input(key="identity_node_search").input("ruiz").run()  # part of a name
    assert app.selectbox(key="identity_node").options == ["Dana Ruiz · entra User", "dana.ruiz@lumenfreight.com · person"]
    app.text_input(key="identity_node_search").input("dana.ruiz@lumenfreight.com").run()  # an email
    assert app.selectbox(key="identity_node").value == "person:dana.ruiz@lumenfreight.com"
    app.text_input(key="identity_node_search").input("").run()  # cleared: the analyst's pick stays
    assert app.selectbox(key="identity_node").value == "person:dana.ruiz@lumenfreight.com"


def test_cypher_console_offers_the_saved_questions_with_their_parameters(scanned: tuple[ScanResult, Path]) -> None:
    from queries.cypher_library import load_library

    library = load_library()
    app = open_page(started_app(), "Cypher console")
    try:
        import graph.stores  # noqa: F401
    except ImportError:  # the embedded store is not in this build
        pytest.skip("the embedded Cypher store is not installed")
    picker = app.selectbox(key="cypher_saved")
    assert set(picker.options) >= {"— write your own query —", *(q.title for q in library.values())}
    picker.set_value("who_can_write").run()
    assert app.text_area(key="cypher_query").value == library["who_can_write"].text("lbug")
    resource = app.text_input(key="cypher_param:who_can_write:resource")
    assert resource.label == "resource (string, required)" and "lumen-prod-invoices" in resource.help
    app.button(key="cypher_run").click().run()
    assert any("Give `resource`" in e.value for e in app.error)
    resource.input("aws:arn:aws:s3:::lumen-prod-invoices").run()
    app.button(key="cypher_run").click().run()
    assert not app.error and not app.exception, [e.value for e in app.error]
    rows = app.dataframe[0].value
    assert "entra:a1000000-0000-4000-8000-000000000001" in rows.to_string()  # Dana Ruiz, as in the report
    app.selectbox(key="cypher_saved").set_value("stale_credentials").run()
    assert app.number_input(key="cypher_param:stale_credentials:max_age_days").value == 90
    app.button(key="cypher_run").click().run()
    assert not app.error and len(app.dataframe[0].value) > 0


def test_the_scans_policy_is_used_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = tmp_path / "policy.yaml"
    shutil.copyfile(Path(__file__).resolve().parents[2] / "queries" / "default_policy.yaml", policy)
    result = scan(SAMPLES, tmp_path / "out", policy_path=policy)
    assert result.analysis.metadata["scan_config"] == {
        "policy": {"path": str(policy.resolve()), "sha256": hashlib.sha256(policy.read_bytes()).hexdigest()},
        "exceptions": None}
    monkeypatch.setenv("CROSSPATH_SNAPSHOTS", str(tmp_path / "out"))
    monkeypatch.delenv("CROSSPATH_EXCEPTIONS", raising=False)
    monkeypatch.delenv("CROSSPATH_POLICY", raising=False)
    app = started_app()
    sources = " ".join(c.value for c in app.sidebar.caption)
    assert f"policy `{policy.resolve()}` (the scan's)" in sources and "no exceptions" in sources
    assert _metrics(app)["Open findings"] == str(result.analysis.summary()["open"])
    open_page(app, "Exceptions")
    assert any("No exceptions file is configured" in i.value for i in app.info)


def test_an_uploaded_snapshot_does_not_choose_files_on_the_server(scanned: tuple[ScanResult, Path]) -> None:
    """Its metadata is the uploader's: the files it names are neither read nor applied."""
    result, _ = scanned
    app = started_app()
    app.file_uploader(key="snapshot_upload").set_value(
        ("theirs.arrow", result.snapshot.read_bytes(), "application/octet-stream")).run()
    assert not app.exception and app.sidebar.selectbox(key="snapshot").value.startswith("uploaded: theirs.arrow")
    sources = " ".join(c.value for c in app.sidebar.caption)
    assert "(the scan's)" not in sources and "no exceptions" in sources
    assert _metrics(app)["Excepted"] == "0" and not app.warning
