"""Last use of Entra application secrets: the beta usage reports, live (msgraph-sdk over HTTP against the
local Graph server) and offline, through to the analysis' "delete, it is unused" advice.

The recorded responses in ``last_use/`` have the shapes Microsoft Graph documents for
``GET /beta/reports/appCredentialSignInActivities`` (two pages) and
``GET /beta/reports/servicePrincipalSignInActivities``, about the sample tenant's secrets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from collectors.entra import collect_offline
from collectors.entra.last_use import apply_last_use, parse_report_time
from crosspath.pipeline import scan
from tests.collectors.entra.graph_server import GraphServer, graph_error
from tests.collectors.entra.test_live import SAMPLE, collect

RECORDED = Path(__file__).resolve().parent / "last_use"
AS_OF = "2026-11-01T00:00:00Z"
TERRAFORM = "entra:c3000000-0000-4000-8000-000000000001/password/d4000000-0000-4000-8000-000000000001"
HR_SYNC = "entra:c3000000-0000-4000-8000-000000000003/password/d4000000-0000-4000-8000-000000000003"
DOCS_INDEXER = "entra:c3000000-0000-4000-8000-000000000004/password/d4000000-0000-4000-8000-000000000004"
REPORT = "/beta/reports/appCredentialSignInActivities"


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """The sample tenant plus the recorded usage reports, as the Graph test server's folder."""
    folder = tmp_path / "served"
    shutil.copytree(SAMPLE, folder)
    for file in RECORDED.glob("*.json"):
        shutil.copy(file, folder / file.name)
    return folder


def credentials(result) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in result.nodes if n["kind"] in ("client_secret", "certificate")}


def test_live_reads_both_reports_from_beta_following_next_link(served: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with GraphServer(served) as server:
        log = collect(server, out)
    assert log["problems"] == []
    hits = server.hits(REPORT)
    assert len(hits) == 2 and hits[1].query["$skiptoken"] == ["2"]  # @odata.nextLink followed
    assert len(server.hits("/beta/reports/servicePrincipalSignInActivities")) == 1
    assert (out / "entra" / "appCredentialSignInActivities.page2.json").is_file()
    assert log["counts"]["appCredentialSignInActivities"] == 3

    result = collect_offline(out / "entra")
    assert result.coverage.status == "complete"
    found = credentials(result)
    assert found[TERRAFORM]["last_used"] == "2026-10-22T00:00:00Z"  # latest of its two rows (two resources)
    assert found[HR_SYNC]["last_used"] == "2026-04-15T00:00:00Z"
    # No per-credential row: use unknown, never "never used"; the app-level time is kept apart.
    assert found[DOCS_INDEXER].get("last_used") is None and "never_used" not in found[DOCS_INDEXER]
    assert found[DOCS_INDEXER]["app_last_sign_in"] == "2026-10-30T11:02:45Z"
    assert found[HR_SYNC]["app_last_sign_in"] == "2026-04-15T00:00:00Z"
    assert not any(n.get("never_used") for n in found.values())
    note = next(n for n in result.coverage.notes if n.startswith("appCredentialSignInActivities:"))
    assert "3 of 5" in note and "not taken as never used" in note


def test_secret_used_10_days_ago_is_rotated_and_one_unused_200_days_is_deleted(served: Path,
                                                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    with GraphServer(served) as server:
        collect(server, out)
    findings = {f.entry["id"]: f for f in scan(out, tmp_path / "scan", as_of=AS_OF).analysis.findings}

    terraform = findings[TERRAFORM]
    assert terraform.entry["last_used"] == "2026-10-22T00:00:00Z"
    assert terraform.entry["unused_days"] == 10 and not terraform.entry["unused"]
    assert terraform.remediation[0].startswith("Rotate or remove credential")

    hr_sync = findings[HR_SYNC]
    assert hr_sync.entry["unused_days"] == 200 and hr_sync.entry["unused"]
    assert hr_sync.remediation[0].startswith(
        "Delete credential hr-sync prod (24 months): it is unused (last used 2026-04-15, 200 days")


def test_denied_report_is_partial_coverage_named_and_last_use_unknown(served: Path, tmp_path: Path) -> None:
    faults = {REPORT: [graph_error(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                                   "Neither tenant is B2C or tenant doesn't have premium license")]}
    out = tmp_path / "out"
    with GraphServer(served, faults=faults) as server:
        log = collect(server, out)
    assert [(p["kind"], p["call"]) for p in log["problems"]] == [("denied", f"GET {REPORT}")]
    assert "Authentication_RequestFromNonPremiumTenantOrB2CTenant" in log["problems"][0]["error"]
    assert not (out / "entra" / "appCredentialSignInActivities.json").exists()

    result = collect_offline(out / "entra")
    assert result.coverage.status == "partial"
    notes = result.coverage.notes
    assert any(n.startswith(f"live collection denied: GET {REPORT} on entra:tenant/") for n in notes)
    assert any(n.startswith("appCredentialSignInActivities.json missing: last use of application secrets")
               for n in notes)
    found = credentials(result)
    assert all(n.get("last_used") is None and "never_used" not in n for n in found.values())
    assert found[DOCS_INDEXER]["app_last_sign_in"] == "2026-10-30T11:02:45Z"  # the other report was read

    hr_sync = {f.entry["id"]: f for f in scan(out, tmp_path / "scan", as_of=AS_OF).analysis.findings}[HR_SYNC]
    assert hr_sync.entry["unused_days"] is None and not hr_sync.entry["unused"]
    assert hr_sync.remediation[0].startswith("Rotate or remove credential")


def test_without_the_export_last_use_is_unknown_and_a_note_says_so() -> None:
    result = collect_offline(SAMPLE)
    assert result.coverage.status == "complete"  # optional: older exports lack it
    assert any(n.startswith("appCredentialSignInActivities.json missing: last use of application secrets and "
                            "certificates unknown") for n in result.coverage.notes)
    found = credentials(result)
    assert found and all(n.get("last_used") is None and n.get("never_used") is None
                         and n.get("app_last_sign_in") is None for n in found.values())
    assert "appCredentialSignInActivities.json" not in result.coverage.files


def test_report_rows_match_by_key_id_and_app_id_and_times_are_normalised() -> None:
    nodes = [
        {"id": "entra:o/password/k1", "provider": "entra", "kind": "client_secret", "key_id": "k1", "app_id": "a1"},
        {"id": "entra:o/certificate/k2", "provider": "entra", "kind": "certificate", "key_id": "K2", "app_id": "a1"},
        {"id": "entra:p/password/k3", "provider": "entra", "kind": "client_secret", "key_id": "k3", "app_id": "a2"},
    ]
    rows = [
        # Microsoft's documented examples write offsets as "-8:00".
        {"keyId": "k1", "appId": "a1", "signInActivity": {"lastSignInDateTime": "2021-03-18T00:00:00-8:00"}},
        {"keyId": "k2", "appId": "A1", "signInActivity": {"lastSignInDateTime": None}},
        {"keyId": "k3", "appId": "another-app", "signInActivity": {"lastSignInDateTime": "2021-03-18T00:00:00Z"}},
    ]
    assert apply_last_use(nodes, rows, None) == (3, 2, 0)
    assert nodes[0]["last_used"] == "2021-03-18T08:00:00Z"
    assert "last_used" not in nodes[1]  # a row without a time: still unknown
    assert "last_used" not in nodes[2]  # same keyId under another appId is not this credential
    assert parse_report_time("not a time") is None and parse_report_time(None) is None


def test_recorded_responses_have_the_documented_fields() -> None:
    page = json.loads((RECORDED / "appCredentialSignInActivities.json").read_text())
    assert set(page["value"][0]) == {
        "id", "keyId", "keyType", "keyUsage", "appId", "appObjectId", "servicePrincipalObjectId", "resourceId",
        "credentialOrigin", "createdDateTime", "expirationDateTime", "signInActivity"}
    activity = json.loads((RECORDED / "servicePrincipalSignInActivities.json").read_text())["value"][0]
    assert {"appId", "lastSignInActivity", "delegatedClientSignInActivity", "delegatedResourceSignInActivity",
            "applicationAuthenticationClientSignInActivity",
            "applicationAuthenticationResourceSignInActivity"} <= set(activity)
