"""Every format is written, parses, and says what a reader must not miss."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import jsonschema
import pytest

from queries.reports import REPORT_FORMATS, write_reports
from queries.reports.json_report import json_document
from tests.reports.builders import CI_KEY, FORMULA_NAME, SCRIPT_NAME, make_analysis, no_mfa_cross_stack

ROOT = Path(__file__).resolve().parents[2]
FINDINGS_SCHEMA = json.loads((ROOT / "docs" / "findings.schema.json").read_text(encoding="utf-8"))
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


@pytest.fixture
def written(analysis, tmp_path) -> dict[str, Path]:
    return write_reports(analysis, tmp_path / "out")


def test_every_format_is_written_under_its_file_name(written, tmp_path):
    assert REPORT_FORMATS == ("md", "html", "json", "csv", "sarif")
    names = {fmt: path.name for fmt, path in written.items()}
    assert names == {"md": "report.md", "html": "report.html", "json": "findings.json",
                     "csv": "findings.csv", "sarif": "findings.sarif"}
    assert all(path.parent == tmp_path / "out" and path.stat().st_size > 0 for path in written.values())
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]


def test_only_the_formats_asked_for_and_unknown_formats_are_refused(analysis, tmp_path):
    assert set(write_reports(analysis, tmp_path, formats=["json", "csv"])) == {"json", "csv"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.csv", "findings.json"]
    with pytest.raises(ValueError, match="unknown report format.*pdf"):
        write_reports(analysis, tmp_path, formats=["pdf"])


def test_findings_json_round_trips_and_is_byte_stable(analysis, written, tmp_path):
    text = written["json"].read_text(encoding="utf-8")
    assert json.loads(text) == analysis.to_dict()
    assert text.startswith('{\n  "as_of"')  # indent 2, sorted keys
    assert SCRIPT_NAME in text  # UTF-8 text as is, not \u-escaped
    again = write_reports(analysis, tmp_path / "again", formats=["json"])["json"].read_text(encoding="utf-8")
    assert again == text


def test_the_json_reports_are_what_the_standard_library_would_write(analysis, written):
    # orjson writes them (the standard library's indenting encoder is pure Python): the same text, byte for byte
    assert written["json"].read_text(encoding="utf-8") == json.dumps(
        analysis.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    sarif = written["sarif"].read_text(encoding="utf-8")
    assert sarif == json.dumps(json.loads(sarif), indent=2, ensure_ascii=False) + "\n"
    assert json_document({2: "int keys", "é": [1.5, None, True]}, sort_keys=False) == (json.dumps(
        {2: "int keys", "é": [1.5, None, True]}, indent=2, ensure_ascii=False) + "\n").encode()


def test_findings_json_validates_against_the_documented_schema(written):
    document = json.loads(written["json"].read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(FINDINGS_SCHEMA)
    jsonschema.validate(document, FINDINGS_SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("breakage", ["no_severity", "bad_gap", "bad_level", "unknown_field", "bad_format"])
def test_the_findings_schema_rejects_a_broken_document(written, breakage):
    document = json.loads(written["json"].read_text(encoding="utf-8"))
    broken = copy.deepcopy(document)
    finding = broken["findings"][0]
    if breakage == "no_severity":
        del finding["severity"]
    elif breakage == "bad_gap":
        finding["gap_types"] = ["NO_PASSWORD"]
    elif breakage == "bad_level":
        finding["path"][-1]["level"] = "owner"
    elif breakage == "unknown_field":
        finding["surprise"] = 1
    else:
        broken["format"] = "something-else"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, FINDINGS_SCHEMA, cls=jsonschema.Draft202012Validator)


def test_csv_has_one_row_per_finding_and_guards_formulas(analysis, written):
    with written["csv"].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == [f.id for f in analysis.findings]
    by_entry = {row["entry_id"]: row for row in rows}
    dana = next(row for row in rows if row["gap_types"] == "NO_MFA;CROSS_STACK")
    assert dana["providers"] == "entra>aws"
    assert dana["hops"] == "3" and dana["targets_count"] == "3" and dana["target_level"] == "write"
    assert dana["path"] == ("dana.ruiz@lumenfreight.com —MEMBER_OF→ AWS-Prod-Deployers —CAN_ASSUME→ "
                            "AWSReservedSSO_ProdDeployer_7a1b2c3d4e5f6a7b —HAS_PERMISSION:write→ lumen-prod-invoices")
    assert by_entry[CI_KEY]["entry_age_days"] == "600"
    formula = next(row for row in rows if FORMULA_NAME in row["entry_name"])
    assert formula["entry_name"] == "'" + FORMULA_NAME
    assert formula["exception_owner"] == "platform-team" and formula["exception_expires"] == "2026-09-30"
    assert formula["path"].startswith("'=HYPERLINK")
    dangerous = [cell for row in rows for cell in row.values() if cell[:1] in ("=", "+", "-", "@")]
    assert dangerous == []


def test_sarif_is_valid_2_1_0_and_maps_findings_to_rules(analysis, written):
    log = json.loads(written["sarif"].read_text(encoding="utf-8"))
    jsonschema.validate(log, SARIF_SCHEMA, cls=jsonschema.Draft4Validator)
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "Crosspath" and driver["version"] == "0.1.0"
    assert [rule["id"] for rule in driver["rules"]] == ["NO_MFA", "LONG_LIVED_NHI_KEY", "CROSS_STACK"]
    assert all(rule["help"]["text"] and rule["properties"]["tags"] for rule in driver["rules"])
    results = {r["partialFingerprints"]["crosspathFindingId/v1"]: r for r in run["results"]}
    assert set(results) == {f.id for f in analysis.findings}
    dana = results[no_mfa_cross_stack().id]
    assert dana["ruleId"] == "NO_MFA" and dana["level"] == "error"
    assert "CROSS_STACK" in dana["properties"]["tags"]
    assert dana["properties"]["targets_count"] == 3 and dana["properties"]["severity"] == "high"
    assert dana["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == no_mfa_cross_stack().entry["id"]
    levels = {r["properties"]["severity"]: r["level"] for r in run["results"]}
    assert levels == {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
    key = next(r for r in run["results"] if r["properties"]["gap_types"] == ["LONG_LIVED_NHI_KEY"]
               and r["properties"]["severity"] == "high")
    assert key["ruleId"] == "LONG_LIVED_NHI_KEY"


def test_sarif_suppresses_only_findings_under_an_exception_in_force(analysis, written):
    results = json.loads(written["sarif"].read_text(encoding="utf-8"))["runs"][0]["results"]
    suppressed = {r["partialFingerprints"]["crosspathFindingId/v1"]: r["suppressions"]
                  for r in results if "suppressions" in r}
    excepted = [f for f in analysis.findings if f.status == "excepted"]
    assert list(suppressed) == [f.id for f in excepted]
    (suppression,) = suppressed[excepted[0].id]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert "it-security" in suppression["justification"] and "2027-06-30" in suppression["justification"]
    lapsed = next(r for r in results if "lapsed_exception" in r["properties"])
    assert "suppressions" not in lapsed


def test_sarif_reports_incomplete_coverage_as_notifications(written):
    run = json.loads(written["sarif"].read_text(encoding="utf-8"))["runs"][0]
    texts = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert "gcp: not covered (no gcp/ folder in data/samples)" in texts
    assert any(text.startswith("kubernetes: partially covered") for text in texts)


def test_markdown_states_coverage_and_ranks_findings(analysis, written):
    text = written["md"].read_text(encoding="utf-8")
    assert "gcp: not covered (no gcp/ folder in data/samples)" in text
    assert "kubernetes: partially covered (1 error" in text
    assert "invalid JSON at line 3" in text
    assert "As of: 2026-11-01T00:00:00Z" in text
    findings_part, excepted_part = text.split("## Excepted findings")
    assert findings_part.index("dana.ruiz") < findings_part.index("AKIA5LUMENCIDEPLOY01")
    assert "and 2 more privileged targets" in findings_part
    assert ("  1. dana.ruiz@lumenfreight.com —MEMBER\\_OF \\[group membership AWS-Prod-Deployers\\] → "
            "AWS-Prod-Deployers") in findings_part
    assert "—HAS\\_PERMISSION (write) \\[permission set ProdDeployer: s3:PutObject\\] → lumen-prod-invoices" in text
    assert "no MFA" in findings_part and "🔒 MFA" in findings_part and "MFA ?" in findings_part
    assert "key 600 days old, never expires" in findings_part
    assert "Enforce MFA for dana.ruiz@lumenfreight.com" in findings_part
    assert "breakglass" not in findings_part
    assert "it-security" in excepted_part and "Emergency access account" in excepted_part
    assert "2027-06-30" in excepted_part
    assert "<script" not in text and "&lt;script&gt;" in text


def test_markdown_says_so_when_there_is_nothing_to_report(tmp_path):
    empty = make_analysis([])
    empty.metadata = {}
    text = write_reports(empty, tmp_path, formats=["md"])["md"].read_text(encoding="utf-8")
    assert "No open findings." in text
    assert "coverage: not recorded in this snapshot" in text


def test_the_docs_describe_every_schema_field_and_csv_column():
    from queries.reports.csv_report import COLUMNS

    docs = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    defs = FINDINGS_SCHEMA["$defs"]
    fields = set(FINDINGS_SCHEMA["properties"])
    for name in ("snapshot", "summary", "finding", "entry", "target", "pathEdge", "exception", "coverage"):
        fields |= set(defs[name]["properties"])
    missing = sorted(name for name in fields | set(COLUMNS) if f"`{name}`" not in docs)
    assert missing == []


def test_a_machine_key_shows_its_age_not_a_no_mfa_badge_and_a_person_keeps_it(written):
    markdown = written["md"].read_text(encoding="utf-8")
    entries = [line for line in markdown.splitlines() if line.startswith("- Entry: ")]
    key = next(line for line in entries if "AKIA5LUMENCIDEPLOY01" in line)
    assert key.endswith("— key 600 days old, never expires") and "MFA" not in key
    person = next(line for line in entries if "dana.ruiz" in line)
    assert "no MFA" in person
    html = written["html"].read_text(encoding="utf-8")
    shown = [part.split("</dd>")[0] for part in html.split("<dt>Entry</dt>")[1:]]
    key_entry = next(part for part in shown if "AKIA5LUMENCIDEPLOY01" in part)
    assert "key 600 days old, never expires" in key_entry and "no MFA" not in key_entry


def test_a_findings_dict_is_its_dataclass_fields_and_shares_nothing_with_it(analysis, written):
    import dataclasses
    import gc

    finding = next(f for f in analysis.findings if f.exception is not None and f.path)
    as_dict = finding.to_dict()
    assert as_dict == {**dataclasses.asdict(finding), "hops": len(finding.path)}
    as_dict["path"][0]["conditions"].append("changed")
    as_dict["entry"]["name"] = "changed"
    as_dict["exception"]["owner"] = "changed"
    assert finding.path[0].conditions != as_dict["path"][0]["conditions"]
    assert finding.entry["name"] != "changed" and finding.exception.owner != "changed"
    assert gc.isenabled()  # writing the reports (`written`) paused the collector, and only while it rendered


def test_markdown_and_html_share_one_working_out_of_the_findings_and_only_while_written(analysis, tmp_path,
                                                                                        monkeypatch):
    from queries.reports import describe

    made = []
    view = describe.finding_view
    monkeypatch.setattr(describe, "finding_view", lambda rank, finding: made.append(finding.id) or view(rank, finding))
    write_reports(analysis, tmp_path, formats=["md", "html"])
    assert sorted(made) == sorted(f.id for f in analysis.findings)  # once each, not once per format
    # After the writing nothing is kept: a changed analysis is worked out again
    first = analysis.findings[0]
    first.status = "excepted" if first.status == "open" else "open"
    open_views, excepted_views = describe.finding_views(analysis)
    assert first in [v.finding for v in (excepted_views if first.status == "excepted" else open_views)]
    assert not describe._HELD
    with describe.views_held(analysis):  # held twice (nested): the inner one leaves the views to the outer
        with describe.views_held(analysis):
            describe.finding_views(analysis)
        assert describe.finding_views(analysis) is describe.finding_views(analysis)
    assert not describe._HELD
