"""Each page's logic on the sample organisation, through Streamlit's AppTest (no browser)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crosspath.pipeline import run_analysis
from graph.snapshot import read_snapshot, write_snapshot
from queries.exception_review import fingerprint
from queries.exceptions import load_exceptions
from queries.paths import PathEngine
from queries.policy import load_policy
from tests.dashboard.conftest import APP, DANA, SampleOut, open_page, started_app

INVOICES = "aws:arn:aws:s3:::lumen-prod-invoices"
OUTGROWN = "CP-f4b5b39dbbee"  # svc-lambda-deployer's key: EX-2026-005 approved it a week earlier, smaller


def _analysis(sample: SampleOut, exceptions: Path | None = None):
    return run_analysis(read_snapshot(sample.newer), None, exceptions or sample.exceptions)


def _count_line(app: AppTest) -> tuple[int, int]:
    line = next(m.value for m in app.markdown if m.value.endswith(" findings") and " of " in m.value)
    shown, _, total, _ = line.replace("**", "").split()
    return int(shown), int(total)


def _findings_table(app: AppTest):
    return next(df.value for df in app.dataframe if "gaps" in df.value.columns)


def test_overview_counts_coverage_and_trend(app_env: SampleOut) -> None:
    app = started_app()
    summary = _analysis(app_env).summary()
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Open findings"] == str(summary["open"])
    assert metrics["Critical"] == str(summary["by_severity"]["critical"])
    assert metrics["Excepted"] == str(summary["excepted"]) == "2"  # EX-2026-001 and EX-2026-003 in force
    top, coverage, fixes, owners = (frame.value for frame in app.dataframe[:4])
    expected = run_analysis(read_snapshot(app_env.newer), None, app_env.exceptions, top_fixes=5).top_fixes
    assert list(fixes["closes"]) == [fix["closes"] for fix in expected] and len(expected) == 5
    assert list(fixes["change"]) == [fix["description"] for fix in expected]
    assert len(top) == 10 and set(top["severity"]) <= {"critical", "high"}
    assert dict(zip(owners["team"], owners["open"], strict=True)) == summary["by_owner"]
    assert metrics["Unowned"] == str(summary["unowned"]) and summary["unowned"] > 0
    assert any("have no owner" in caption.value for caption in app.caption)
    assert list(coverage["source"]) == ["aws", "databases", "entra", "gcp", "kubernetes"]
    assert set(coverage["status"]) == {"complete"}
    assert len(app.get("vega_lite_chart")) == 4  # three bar charts and the trend
    assert not app.info  # no "only one snapshot so far" note: the history has two


def test_the_overview_and_the_findings_read_no_graph_until_an_explorer_needs_one(
        app_env: SampleOut, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 2 snapshots are analysed on their memory-mapped tables (the trend's older snapshot too), and
    a scan's snapshot carries its verified top fixes: the networkx graph is read only for a page that walks it."""
    import dashboard.cache
    from crosspath.pipeline import record_fixes

    graph, metadata = read_snapshot(app_env.newer)  # as `crosspath scan` leaves it: with its top fixes
    fixes = run_analysis((graph, metadata), None, app_env.exceptions, top_fixes=5).top_fixes
    record_fixes(metadata, fixes, 5)
    for path in (app_env.newer, app_env.folder / "snapshot.arrow"):
        path.unlink()
        write_snapshot(path, graph, metadata)
    reads: list[str] = []

    def counted(path, *args, **kwargs):
        reads.append(str(path))
        return read_snapshot(path, *args, **kwargs)

    monkeypatch.setattr(dashboard.cache, "read_snapshot", counted)
    app = started_app()
    assert {m.label: m.value for m in app.metric}["Open findings"] == str(_analysis(app_env).summary()["open"])
    assert list(app.dataframe[2].value["closes"]) == [fix["closes"] for fix in fixes]
    assert len(app.get("vega_lite_chart")) == 4  # the trend has both snapshots
    open_page(app, "Findings")
    assert reads == []
    open_page(app, "Identity explorer")  # the explorers walk the graph
    assert reads


def test_findings_filters_change_the_table(app_env: SampleOut) -> None:
    app = open_page(started_app(), "Findings")
    shown, total = _count_line(app)
    analysis = _analysis(app_env)
    assert shown == total == len(analysis.findings)

    app.multiselect(key="findings_gap").set_value(["LONG_LIVED_NHI_KEY"]).run()
    table = _findings_table(app)
    expected = [f.id for f in analysis.findings if "LONG_LIVED_NHI_KEY" in f.gap_types]
    assert list(table["id"]) == expected and 0 < len(expected) < total

    app.multiselect(key="findings_provider").set_value(["k8s"]).run()
    table = _findings_table(app)
    expected = [f.id for f in analysis.findings if "LONG_LIVED_NHI_KEY" in f.gap_types and "k8s" in f.providers]
    assert list(table["id"]) == expected and expected

    app.multiselect(key="findings_gap").set_value([]).run()
    app.multiselect(key="findings_provider").set_value([]).run()
    app.text_input(key="findings_search").input("lumen-prod-invoices").run()
    table = _findings_table(app)
    assert set(table["target"]) == {"lumen-prod-invoices"}
    assert DANA in {f.entry["id"] for f in analysis.findings if f.id in set(table["id"])}

    app.text_input(key="findings_search").input("").run()
    app.selectbox(key="findings_sort").set_value("oldest key").run()
    ages = [int(age) for age in _findings_table(app)["key_age_days"].dropna()]
    assert ages == sorted(ages, reverse=True) and ages[0] == max(
        f.entry["age_days"] for f in analysis.findings if f.entry.get("age_days") is not None)

    app.selectbox(key="findings_cross").set_value("yes").run()
    assert all("CROSS_STACK" in gaps for gaps in _findings_table(app)["gaps"])
    app.multiselect(key="findings_exception").set_value(["in force"]).run()
    excepted = [f.id for f in analysis.findings if f.status == "excepted"]
    assert list(_findings_table(app)["id"]) == [
        f.id for f in analysis.findings if f.id in excepted and "CROSS_STACK" in f.gap_types]
    app.selectbox(key="findings_cross").set_value("no").run()
    assert list(_findings_table(app)["exception"]) == ["EX-2026-003"]  # break-glass (EX-2026-001) crosses stacks
    app.selectbox(key="findings_cross").set_value("any").run()
    assert set(_findings_table(app)["exception"]) == {"EX-2026-001", "EX-2026-003"} and len(excepted) == 2
    app.multiselect(key="findings_exception").set_value(["outgrown"]).run()
    assert list(_findings_table(app)["exception"]) == ["EX-2026-005"]
    app.multiselect(key="findings_exception").set_value(["in force", "expired", "outgrown"]).run()
    app.selectbox(key="findings_cross").set_value("yes").run()
    app.multiselect(key="findings_severity").set_value(["low"]).run()
    assert _count_line(app) == (0, total)
    assert any("No finding matches" in info.value for info in app.info)


def test_selecting_a_finding_shows_its_path_and_opens_path_view(app_env: SampleOut) -> None:
    app = open_page(started_app(), "Findings")
    dana = next(f for f in _analysis(app_env).findings if f.entry["id"] == DANA)
    app.selectbox(key="findings_selected").set_value(dana.id).run()
    pictures = [m.value for m in app.markdown if "<svg" in m.value]
    assert len(pictures) == 1
    assert "Dana Ruiz" in pictures[0] and "lumen-prod-invoices" in pictures[0] and "no MFA" in pictures[0]
    assert "AWS-Prod-Deployers" in " ".join(m.value for m in app.markdown)  # the text beside it

    app.button(key="findings_open_path").click().run()
    assert app.sidebar.radio(key="page").value == "Path view"
    assert app.selectbox(key="path_finding").value == dana.id
    assert any("<svg" in m.value and "Dana Ruiz" in m.value for m in app.markdown)
    assert any("How to fix" in m.value for m in app.markdown)


def test_identity_explorer_shows_the_blast_radius(app_env: SampleOut) -> None:
    app = open_page(started_app(), "Identity explorer")
    app.text_input(key="identity_node_search").input("dana.ruiz@").run()
    assert app.selectbox(key="identity_node").value == DANA
    graph, _ = read_snapshot(app_env.newer)
    expected = PathEngine(graph, load_policy()).blast_radius(DANA)
    table = app.dataframe[0].value
    assert list(table["target_id"]) == [item["target"] for item in expected]
    assert INVOICES in set(table["target_id"])
    assert not table.set_index("target_id").loc[INVOICES, "mfa_on_every_path"]
    assert any("<svg" in m.value for m in app.markdown)
    app.button(key="identity_open_path").click().run()
    assert app.sidebar.radio(key="page").value == "Path view"
    assert any("<svg" in m.value and "Dana Ruiz" in m.value for m in app.markdown)


@pytest.mark.parametrize("text", ["dana.ruiz@lumenfreight.com", "Dana Ruiz"])
def test_identity_explorer_finds_a_person_by_email_or_name(app_env: SampleOut, text: str) -> None:
    app = open_page(started_app(), "Identity explorer")
    app.text_input(key="identity_node_search").input(text).run()
    assert app.selectbox(key="identity_node").value == "person:dana.ruiz@lumenfreight.com"
    graph, _ = read_snapshot(app_env.newer)
    expected = PathEngine(graph, load_policy()).blast_radius(DANA)
    table = app.dataframe[0].value
    assert list(table["target_id"]) == [item["target"] for item in expected]
    assert set(table["identity_id"]) == {DANA} and set(table["identity"]) == {"Dana Ruiz"}
    assert any("Person **dana.ruiz@lumenfreight.com**: 1 identity" in m.value for m in app.markdown)


def test_identity_explorer_shows_every_identity_of_a_person(app_env: SampleOut) -> None:
    app = open_page(started_app(), "Identity explorer")
    app.text_input(key="identity_node_search").input("bob.martin@lumenfreight.com").run()
    graph, _ = read_snapshot(app_env.newer)
    engine = PathEngine(graph, load_policy())
    accounts = ["aws:arn:aws:iam::111111111111:user/bob.martin", "entra:a1000000-0000-4000-8000-000000000006"]
    table = app.dataframe[0].value
    assert sorted(zip(table["identity_id"], table["target_id"], strict=True)) == sorted(
        (account, item["target"]) for account in accounts for item in engine.blast_radius(account))
    # the user may still pick one of the accounts: the selection is not forced back to the person
    app.selectbox(key="identity_node").set_value(accounts[0]).run()
    assert app.selectbox(key="identity_node").value == accounts[0]
    assert "identity_id" not in app.dataframe[0].value.columns


def test_identity_explorer_says_when_nothing_matches(app_env: SampleOut) -> None:
    app = open_page(started_app(), "Identity explorer")
    app.text_input(key="identity_node_search").input("Nobody Here").run()
    assert any(info.value == "No identity, credential or person matches 'Nobody Here'." for info in app.info)
    assert not app.dataframe


def test_resource_explorer_lists_who_can_write(app_env: SampleOut) -> None:
    app = open_page(started_app(), "Resource explorer")
    app.text_input(key="resource_node_search").input("lumen-prod-invoices").run()
    assert app.selectbox(key="resource_node").value == INVOICES
    table = app.dataframe[0].value.set_index("entry_id")
    assert DANA in table.index
    assert table.loc[DANA, "entry_mfa"] == "no MFA" and not table.loc[DANA, "mfa_on_every_path"]
    assert table.loc[DANA, "hops"] == 3
    # Every finding whose nearest target is the bucket names an entry the explorer lists.
    for finding in _analysis(app_env).findings:
        if finding.target["id"] == INVOICES:
            assert finding.entry["id"] in table.index
    assert any("<svg" in m.value for m in app.markdown)


def test_drift_shows_the_new_finding_and_identity(app_env: SampleOut) -> None:
    app = open_page(started_app(), "Drift")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["New findings"] == "2"  # Dana's, and svc-lambda-deployer's key: re-opened, outgrown
    assert metrics["Resolved findings"] == "0"
    assert metrics["New identities"] == "1"
    new = app.dataframe[0].value
    assert list(new["title"]) == [f.title for f in _analysis(app_env).findings
                                  if f.entry["id"] == DANA or f.id == OUTGROWN]

    app.selectbox(key="drift_old").set_value(app.selectbox(key="drift_new").value).run()
    assert any("two different snapshots" in info.value for info in app.info)


def _exceptions_table(app: AppTest):
    table = app.dataframe[0].value
    return table.data if hasattr(table, "data") else table


def test_exceptions_page_lists_the_review_of_every_exception(app_env: SampleOut) -> None:
    app = open_page(started_app(), "Exceptions")
    frame = _exceptions_table(app)
    states = dict(zip(frame["id"], frame["states"], strict=True))
    assert states == {"EX-2026-001": "in force", "EX-2026-002": "expired", "EX-2026-003": "in force, expiring",
                      "EX-2025-014": "stale", "EX-2026-005": "outgrown"}
    needs_action = dict(zip(frame["id"], frame["needs action"], strict=True))
    assert [i for i, flag in needs_action.items() if not flag] == ["EX-2026-001"]  # the others are highlighted
    rows = frame.set_index("id")
    assert rows.loc["EX-2026-001", "findings hidden"] and not rows.loc["EX-2026-005", "findings hidden"]
    assert "was 1 target, now 2" in rows.loc["EX-2026-005", "what to do"]
    assert "matches no finding" in rows.loc["EX-2025-014", "what to do"]
    assert rows.loc["EX-2026-001", "ticket"] == "https://jira.lumenfreight.com/browse/SEC-311"
    assert rows.loc["EX-2026-001", "approved_by"] == "ciso@lumenfreight.com"
    assert rows.loc["EX-2026-001", "review_by"] == "2027-01-15"
    assert rows.loc["EX-2026-003", "where"].endswith(f"{app_env.exceptions}: line 30")
    count = next(m.value for m in app.markdown if "in force" in m.value)
    assert count.startswith("**2 in force · 1 expiring · 1 expired · 1 stale · 1 outgrown**"), count
    assert any("4 exception(s) need action" in w.value for w in app.warning)


def test_an_outgrown_finding_says_why_in_the_path_view(app_env: SampleOut) -> None:
    app = open_page(started_app(), "Path view")
    app.selectbox(key="path_finding").set_value(OUTGROWN).run()
    reasons = [w.value for w in app.warning if "outgrew its exception EX-2026-005" in w.value]
    assert reasons and "was 1 target, now 2" in reasons[0] and "severity was high, now critical" in reasons[0]


def _fill_exception(app: AppTest, **values: object) -> AppTest:
    for key, value in values.items():
        widget = app.selectbox(key=key) if key in ("exc_finding", "exc_gap") else None
        if widget is not None:
            widget.set_value(value)
        elif key == "exc_justification":
            app.text_area(key=key).input(value)
        elif key in ("exc_expires", "exc_review_by", "exc_approved_at"):
            app.date_input(key=key).set_value(value)
        elif key == "exc_broad":
            app.checkbox(key=key).set_value(value)
        else:
            app.text_input(key=key).input(value)
    app.button[-1].click().run()  # the form's submit button
    return app


def test_adding_an_exception_is_validated_then_written(app_env: SampleOut) -> None:
    before = app_env.exceptions.read_text()
    target = next(f for f in _analysis(app_env).findings if f.status == "open" and f.severity == "critical")
    app = open_page(started_app(), "Exceptions")

    _fill_exception(app, exc_id="EX-2026-006", exc_finding=target.id, exc_justification="Migration ticket OPS-12")
    assert any("field 'owner' is required" in e.value for e in app.error), [e.value for e in app.error]
    assert app_env.exceptions.read_text() == before

    _fill_exception(app, exc_id="EX-2026-001", exc_owner="platform-team")
    assert any("EX-2026-001 is already used" in e.value for e in app.error)
    assert app_env.exceptions.read_text() == before

    _fill_exception(app, exc_id="EX-2026-006", exc_ticket="https://jira.example.com/browse/OPS-12",
                    exc_review_by=date(2026, 12, 15))
    assert not app.error, [e.value for e in app.error]
    assert any("Added EX-2026-006" in s.value for s in app.success)
    text = app_env.exceptions.read_text()
    assert text.startswith(before.rstrip("\n")) and "# Accepted risks" in text  # comments kept
    excepted = {f.id: f.status for f in _analysis(app_env).findings}
    assert excepted[target.id] == "excepted"
    table = app.dataframe[0].value
    frame = table.data if hasattr(table, "data") else table
    assert dict(zip(frame["id"], frame["states"], strict=True))["EX-2026-006"] == "in force"
    added = next(e for e in load_exceptions(app_env.exceptions) if e.id == "EX-2026-006")
    assert added.created == datetime.now(UTC).date()  # the day it is written
    assert (added.ticket, added.review_by, added.approved_by, added.broad) == (
        "https://jira.example.com/browse/OPS-12", date(2026, 12, 15), None, False)

    open_page(app, "Overview")
    assert {m.label: m.value for m in app.metric}["Excepted"] == "3"


def _files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_match_broader_than_the_policy_allows_needs_broad_and_an_approver(app_env: SampleOut) -> None:
    before = app_env.exceptions.read_text()
    matched = [f for f in _analysis(app_env).findings if f.entry["id"].startswith("k8s:")]
    assert len(matched) > 1  # the default policy's max_findings is 1
    app = open_page(started_app(), "Exceptions")
    base = {"exc_id": "EX-2026-010", "exc_owner": "platform-team", "exc_justification": "Cluster rebuild, Q1",
            "exc_entry": "k8s:*"}
    _fill_exception(app, **base)
    errors = " ".join(e.value for e in app.error)
    assert f"matches {len(matched)} findings" in errors and "exceptions.max_findings" in errors, errors
    assert not app.success and app_env.exceptions.read_text() == before

    _fill_exception(app, exc_broad=True)  # broad without an approver: the file's own rule refuses it
    assert any("broad: true without an approver" in e.value for e in app.error), [e.value for e in app.error]
    assert app_env.exceptions.read_text() == before

    _fill_exception(app, exc_approved_by="ciso@lumenfreight.com", exc_approved_at=date(2026, 11, 2))
    assert any("Added EX-2026-010" in s.value for s in app.success), [e.value for e in app.error]
    added = next(e for e in load_exceptions(app_env.exceptions) if e.id == "EX-2026-010")
    assert (added.broad, added.approved_by, added.approved_at) == (True, "ciso@lumenfreight.com", date(2026, 11, 2))
    assert "    broad: true\n" in app_env.exceptions.read_text()
    statuses = {f.status for f in _analysis(app_env).findings if f.id in {m.id for m in matched}}
    assert statuses == {"excepted"}


def test_a_lifetime_over_the_policy_limit_is_refused(app_env: SampleOut) -> None:
    before = app_env.exceptions.read_text()
    app = open_page(started_app(), "Exceptions")
    _fill_exception(app, exc_id="EX-2026-011", exc_owner="sec", exc_justification="long", exc_entry="entra:a1*x",
                    exc_expires=datetime.now(UTC).date() + timedelta(days=400))
    errors = " ".join(e.value for e in app.error)
    assert "exceptions.max_lifetime_days" in errors and "after created" in errors, errors
    assert app_env.exceptions.read_text() == before


def test_choosing_a_finding_shows_the_fingerprint_it_approves(app_env: SampleOut) -> None:
    finding = next(f for f in _analysis(app_env).findings if f.entry["id"] == DANA)
    app = open_page(started_app(), "Exceptions")
    assert not any("Fingerprint approved" in m.value for m in app.markdown)
    app.selectbox(key="exc_finding").set_value(finding.id).run()
    assert any("Fingerprint approved" in m.value for m in app.markdown)
    shown = next(df.value for df in app.dataframe if "path hash" in df.value.columns).iloc[0]
    expected = fingerprint(finding)
    assert shown["path hash"] == expected["path"] and shown["severity"] == expected["severity"]
    assert shown["targets"] == expected["targets"] and shown["gap types"] == ", ".join(expected["gap_types"])
    assert shown["providers"] == ", ".join(expected["providers"])


def test_the_form_writes_only_the_file_fixed_when_the_session_started(app_env: SampleOut, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = _files_under(tmp_path)
    app = open_page(started_app(), "Exceptions")
    monkeypatch.setenv("CROSSPATH_EXCEPTIONS", str(elsewhere / "exceptions.yaml"))  # after start: ignored
    base = {"exc_owner": "sec", "exc_justification": "ticket 7", "exc_entry": "entra:a1000000-*"}
    _fill_exception(app, exc_id=f"../../{elsewhere.name}/exceptions", **base)
    assert any("is not an id" in e.value for e in app.error)
    _fill_exception(app, exc_id="EX-2026-012", exc_target=str(elsewhere / "x.yaml"))  # a path is only a pattern
    assert any("Added EX-2026-012" in s.value for s in app.success), [e.value for e in app.error]
    after = _files_under(tmp_path)
    changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    written = str(app_env.exceptions.relative_to(tmp_path))
    assert changed == {written}, changed
    assert not any(elsewhere.iterdir())


def test_cypher_console_answers_read_only_queries_or_says_why_not(app_env: SampleOut) -> None:
    app = open_page(started_app(), "Cypher console")
    try:
        import graph.stores  # noqa: F401
    except ImportError:  # the embedded store (issue 9) is not in this build
        assert any("Cypher console not available" in info.value for info in app.info)
        return
    app.button(key="cypher_run").click().run()  # the example: credentials and who they sign in as
    assert not app.error and not app.exception
    rows = app.dataframe[0].value
    assert list(rows.columns) == ["credential", "kind", "identity"] and len(rows) > 5
    nodes = len(read_snapshot(app_env.newer)[0])
    app.text_area(key="cypher_query").input("MATCH (n) DETACH DELETE n").run()
    app.button(key="cypher_run").click().run()
    assert any("read-only" in error.value for error in app.error)
    app.text_area(key="cypher_query").input("MATCH (n) RETURN count(*) AS nodes").run()
    app.button(key="cypher_run").click().run()
    assert not app.error and not app.exception
    assert app.dataframe[0].value["nodes"].tolist() == [nodes] and nodes > 100  # nothing was deleted
    assert len(read_snapshot(app_env.newer)[0]) == nodes


def _console_run(app: AppTest, query: str) -> AppTest:
    app.text_area(key="cypher_query").input(query).run()
    app.button(key="cypher_run").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_cypher_console_refuses_what_crashed_the_server_and_keeps_answering(
        app_env: SampleOut, monkeypatch: pytest.MonkeyPatch) -> None:
    from graph.stores import worker

    app = open_page(started_app(), "Cypher console")
    refused = {
        "RETURN 1; RETURN 2": "exactly one statement",
        "CALL `threads`=1": "changing a database setting",
        "CALL `show_loaded_extensions`() RETURN *": "CALL show_loaded_extensions",
        "CALL `read_csv_serial`('/etc/passwd') RETURN *": "CALL read_csv_serial",
        "CALL read_parquet('/etc/passwd') RETURN *": "CALL read_parquet",
        "LOAD FROM '/etc/passwd' RETURN *": "LOAD FROM",
    }
    for query, named in refused.items():
        _console_run(app, query)
        assert any(named in error.value for error in app.error), (query, [e.value for e in app.error])
        _console_run(app, "MATCH (n:Identity) RETURN count(*) AS identities")
        assert not app.error and app.dataframe[0].value["identities"].tolist()[0] > 50
    monkeypatch.setattr(worker, "TEST_FAULT", "segfault")  # the store dies under the next query
    _console_run(app, "MATCH (n) RETURN count(*) AS nodes")
    assert any("crashed while running the query (signal 11" in error.value for error in app.error)
    monkeypatch.setattr(worker, "TEST_FAULT", None)
    _console_run(app, "MATCH (n) RETURN count(*) AS nodes")
    assert not app.error and app.dataframe[0].value["nodes"].tolist()[0] > 100


def _gz(document: dict) -> bytes:
    import gzip
    import json

    return gzip.compress(json.dumps(document).encode())


def _snapshot_document(**changes) -> dict:
    document = {"format": "crosspath-snapshot", "version": 1, "metadata": {},
                "nodes": [{"id": "a", "family": "Identity", "kind": "User", "provider": "aws", "name": "a"}],
                "edges": []}
    document.update(changes)
    return {k: v for k, v in document.items() if v is not None}


def test_bad_uploads_get_a_clear_message_and_the_dashboard_goes_on(app_env: SampleOut) -> None:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 256 MiB of JSON white space in about 250 KB
    bomb = packer.compress(b'{"nodes": [') + b"".join(packer.compress(b" " * (1 << 20)) for _ in range(256))
    bomb += packer.flush()
    bad = {
        "zip.json.gz": (b"PK\x03\x04 not a snapshot", "neither gzip-compressed nor JSON"),
        "bomb.json.gz": (bomb, "gzip bomb"),
        "no-nodes.json.gz": (_gz(_snapshot_document(nodes=None)), "has a 'nodes' list; this file has none"),
        "no-id.json.gz": (_gz(_snapshot_document(nodes=[{"family": "Identity"}])), "node 1 of 1 has no 'id'"),
        "dangling.json.gz": (_gz(_snapshot_document(edges=[{"source": "a", "target": "ghost", "kind": "MEMBER_OF",
                                                            "via": "x"}])), "points to 'ghost'"),
        "v2.json.gz": (_gz(_snapshot_document(version=2)), "snapshot version 2 is not supported"),
        "cut.arrow": (app_env.older.read_bytes()[:5000], "truncated or damaged"),
    }
    app = started_app()
    for name, (payload, reason) in bad.items():
        app.file_uploader(key="snapshot_upload").set_value((name, payload, "application/gzip")).run()
        assert not app.exception, [e.value for e in app.exception]
        errors = [e.value for e in app.sidebar.error]
        assert errors and errors[0].startswith(f"uploaded file {name!r}: ") and reason in errors[0], errors
        assert "/tmp" not in errors[0] and "crosspath-upload-" not in errors[0] and "Traceback" not in errors[0]
        assert app.header[0].value != "No snapshot yet"  # the scan's snapshots are still on screen
    app.file_uploader(key="snapshot_upload").set_value(
        ("week 44.arrow", app_env.older.read_bytes(), "application/octet-stream")).run()
    assert not app.exception and not app.sidebar.error
    assert app.sidebar.selectbox(key="snapshot").value == "uploaded: week_44.arrow · collected 2026-10-25 00:00:00Z"


def test_no_snapshot_explains_how_to_make_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSPATH_SNAPSHOTS", str(tmp_path / "empty"))
    app = started_app()
    assert app.header[0].value == "No snapshot yet"
    assert "crosspath scan" in app.info[0].value


def test_a_broken_exceptions_file_still_shows_findings(app_env: SampleOut) -> None:
    app_env.exceptions.write_text("exceptions:\n  - id: EX-9\n    owner: me\n")
    app = open_page(started_app(), "Findings")
    assert any("exceptions file does not load" in w.value and "justification" in w.value for w in app.warning)
    shown, total = _count_line(app)
    assert shown == total > 0


def test_large_older_snapshots_join_the_trend_on_request(app_env: SampleOut,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.views import overview

    monkeypatch.setattr(overview, "TREND_AUTO_BYTES", 0)  # every older snapshot counts as large
    app = started_app()
    assert any("Only one snapshot in the trend" in info.value for info in app.info)
    app.button(key="trend_add").click().run()
    assert not app.info and not app.exception


def test_with_oidc_login_configured_nothing_shows_before_sign_in(app_env: SampleOut) -> None:
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x",
                           "client_id": "crosspath", "client_secret": "y",
                           "server_metadata_url": "https://login.example/.well-known/openid-configuration"}
    app.run()
    assert not app.exception
    assert [h.value for h in app.header] == ["Crosspath"]
    assert app.button(key="sign_in").label == "Sign in"
    assert not app.metric and not app.dataframe  # no finding leaks before sign-in


def test_paging_then_narrowing_the_filter_returns_to_page_one(app_env: SampleOut,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.views import findings

    monkeypatch.setattr(findings, "page_of", lambda frame, page: frame.iloc[(page - 1) * 5:page * 5])
    monkeypatch.setattr(findings, "page_count", lambda rows: max(1, -(-rows // 5)))
    app = open_page(started_app(), "Findings")
    app.number_input(key="findings_page").set_value(3).run()
    assert list(_findings_table(app)["rank"]) == [11, 12, 13, 14, 15]
    app.text_input(key="findings_search").input("lumen-prod-invoices").run()
    assert not app.exception
    assert app.number_input(key="findings_page").value == 1 and len(_findings_table(app)) == 2


def test_overview_states_what_a_partial_collection_missed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A source with a rejected file is partial and a missing one is not covered: the Overview says so."""
    import shutil

    from crosspath.pipeline import scan

    samples = tmp_path / "samples"
    shutil.copytree(Path(__file__).resolve().parents[2] / "data" / "samples", samples)
    shutil.rmtree(samples / "gcp")
    (samples / "aws" / "222222222222" / "authorization-details.json").write_text("{not json")
    scan(samples, tmp_path / "out")
    monkeypatch.setenv("CROSSPATH_SNAPSHOTS", str(tmp_path / "out"))
    monkeypatch.delenv("CROSSPATH_EXCEPTIONS", raising=False)
    app = started_app()
    table = app.dataframe[1].value.set_index("source")
    assert table.loc["aws", "status"] == "partial" and table.loc["aws", "errors"] == 1
    assert table.loc["gcp", "status"] == "missing" and table.loc["entra", "status"] == "complete"
    warnings = [w.value for w in app.warning]
    assert any(w.startswith("gcp: not covered") for w in warnings)
    assert any(w.startswith("aws: partially covered") for w in warnings)
    assert any("1 rejected file(s) or record(s)" in e.label for e in app.expander)


def test_path_view_links_each_technique_to_its_catalogue_entry(app_env: SampleOut) -> None:
    runner = next(f for f in _analysis(app_env).findings
                  if f.entry["id"] == "k8s:prod-eks/secret/ci/gitlab-runner-token")
    app = open_page(started_app(), "Path view")
    app.selectbox(key="path_finding").set_value(runner.id).run()
    text = " ".join(m.value for m in app.markdown)
    assert "Techniques on this path" in text
    assert "hop 2: [`k8s.secrets.read`](#technique-k8s-secrets-read)" in text
    assert '<a id="technique-k8s-secrets-read"></a>' in text
    assert [e.label for e in app.expander] == ["k8s.secrets.read: Read a secret holding a credential"]
    assert "resourceNames" in text  # the catalogue entry's remediation
    dana = next(f for f in _analysis(app_env).findings if f.entry["id"] == DANA)
    app.selectbox(key="path_finding").set_value(dana.id).run()
    assert "Techniques on this path" not in " ".join(m.value for m in app.markdown)  # membership and SSO only


def test_a_machine_key_shows_its_age_instead_of_a_no_mfa_badge(app_env: SampleOut) -> None:
    analysis = _analysis(app_env)
    key = next(f for f in analysis.findings
               if f.entry["human"] is False and f.entry["family"] == "Credential" and f.entry["age_days"])
    app = open_page(started_app(), "Findings")
    app.selectbox(key="findings_selected").set_value(key.id).run()
    (svg,) = [m.value for m in app.markdown if "<svg" in m.value]
    assert f"{key.entry['age_days']} days old" in svg and "no MFA" not in svg
    assert {"n/a (machine)", "no"} <= set(_findings_table(app)["entry_mfa"])  # machines, and people without MFA

    app = open_page(started_app(), "Resource explorer")
    app.text_input(key="resource_node_search").input(key.target["name"]).run()
    if app.selectbox(key="resource_node").value != key.target["id"]:
        app.selectbox(key="resource_node").set_value(key.target["id"]).run()
    table = app.dataframe[0].value.set_index("entry_id")
    assert table.loc[key.entry["id"], "entry_mfa"] == ""
    assert f"{key.entry['age_days']} days old" in table.loc[key.entry["id"], "key_age"]
